/* OpenID Connect relying party core: the authorization code exchange at
 * the token endpoint. See oidc.h. */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "oidc_int.h"
#include "crypto.h"
#include "backchan.h"

/* An OAuth error code is %x20-21 / %x23-5B / %x5D-7E (RFC 6749 5.2); anything
 * else, or too long, is not quoted. */
static const char *error_code_text(const char *code)
{
    apr_size_t n = strlen(code);
    if (n == 0 || n > 64) {
        return "(unprintable)";
    }
    for (const unsigned char *c = (const unsigned char *)code; *c; c++) {
        if (*c < 0x20 || *c > 0x7e || *c == '"' || *c == '\\') {
            return "(unprintable)";
        }
    }
    return code;
}

apr_status_t orgs_oidc_token_exchange(const orgs_oidc_provider_t *prov, const char *client_id,
                                      const char *client_secret, const char *auth_method,
                                      const char *code, const char *code_verifier,
                                      const char *redirect_uri, const orgs_http_opts_t *opts,
                                      const char **id_token, const char **access_token,
                                      apr_pool_t *p, orgs_err_t *err)
{
    int post;
    if (auth_method == NULL || strcmp(auth_method, "client_secret_basic") == 0) {
        post = 0;
    } else if (strcmp(auth_method, "client_secret_post") == 0) {
        post = 1;
    } else {
        return orgs_err_set(err, APR_EINVAL, "unknown token endpoint auth method");
    }
    if (prov == NULL || client_id == NULL || client_secret == NULL || code == NULL ||
        code_verifier == NULL || redirect_uri == NULL || id_token == NULL) {
        return orgs_err_set(err, APR_EINVAL, "token exchange: missing argument");
    }

    const char *form = NULL;
    orgs_http_form_add(&form, "grant_type", "authorization_code", p);
    orgs_http_form_add(&form, "code", code, p);
    orgs_http_form_add(&form, "redirect_uri", redirect_uri, p);
    orgs_http_form_add(&form, "code_verifier", code_verifier, p);
    if (post) {
        orgs_http_form_add(&form, "client_id", client_id, p);
        orgs_http_form_add(&form, "client_secret", client_secret, p);
    }

    orgs_http_resp_t *resp = NULL;
    const char *key = orgs_oidc_cap_key(opts, prov->config_issuer);
    /* the client secret goes there: the rule once more at the call itself */
    apr_status_t rv = orgs_oidc_endpoint_allowed("token_endpoint", prov->token_endpoint,
                                                 prov->issuer, opts, p, err);
    if (rv == APR_SUCCESS &&
        (rv = orgs_backchan_slot_take(key, orgs_oidc_cap_max(opts), err)) == APR_SUCCESS) {
        rv = orgs_http_post_form(prov->token_endpoint, form, post ? NULL : client_id,
                                 post ? NULL : client_secret, opts, &resp, p, err);
        orgs_backchan_slot_give(key, orgs_oidc_cap_max(opts));
    }
    if (post) {
        orgs_crypto_cleanse((char *)form, strlen(form)); /* holds the client secret */
    }
    if (rv != APR_SUCCESS) {
        return orgs_oidc_err_prefix(err, rv == APR_EINVAL ? ORGS_EHTTP : rv, "token endpoint");
    }

    json_t *doc = json_loads(resp->body, JSON_REJECT_DUPLICATES, NULL);
    rv = ORGS_EHTTP;
    const char *ecode = json_is_object(doc) ? orgs_oidc_json_str(doc, "error") : NULL;
    if (ecode) {
        orgs_err_set(err, rv, "token endpoint error %s (HTTP %d)", error_code_text(ecode),
                     resp->status);
        goto leave;
    }
    if (resp->status != 200) {
        orgs_err_set(err, rv, "token endpoint: HTTP status %d", resp->status);
        goto leave;
    }
    if (!json_is_object(doc)) {
        orgs_err_set(err, rv, "token endpoint: answer is not a JSON object");
        goto leave;
    }
    const char *tt = orgs_oidc_json_str(doc, "token_type");
    if (tt == NULL || strcasecmp(tt, "Bearer") != 0) {
        orgs_err_set(err, rv, "token endpoint: token_type is not Bearer");
        goto leave;
    }
    const char *idt = orgs_oidc_json_str(doc, "id_token");
    if (idt == NULL || *idt == '\0') {
        orgs_err_set(err, rv, "token endpoint: no id_token in the answer");
        goto leave;
    }
    *id_token = apr_pstrdup(p, idt);
    if (access_token) {
        const char *at = orgs_oidc_json_str(doc, "access_token");
        *access_token = at ? apr_pstrdup(p, at) : NULL;
    }
    rv = APR_SUCCESS;

leave:
    json_decref(doc);
    return rv;
}
