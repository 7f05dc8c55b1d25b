/* [glue] Sign-ins and sign-outs another site asks for: a login started by
 * a cross-site link (login CSRF: the victim signed into an attacker's
 * account, the browser's current org switched) and a logout by a
 * cross-site GET (logout CSRF) are not carried out at once; the user gets
 * a page with one button that posts a token only this site could have put
 * there. */
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_script.h>

#include "private.h"
#include "crypto.h"
#include "html.h"
#include "text.h"
#include "endpoints.h"
#include "crosssite.h"

/* What a confirmation form may post: a few short fields. */
#define FORM_MAX_FIELDS 16
#define FORM_MAX_BYTES 8192

/* The origin this site answers on, as a browser writes it in Origin:
 * scheme://host[:port] of OrgsPublicURL or of the request. */
static const char *own_origin(request_rec *r)
{
    const char *base = orgs_endpoints_base_url(r);
    const char *host = strstr(base, "://");
    const char *end = host ? strchr(host + 3, '/') : NULL;
    return end ? apr_pstrmemdup(r->pool, base, (apr_size_t)(end - base)) : base;
}

int orgs_crosssite_foreign(request_rec *r)
{
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");
    const char *origin = apr_table_get(r->headers_in, "Origin");

    /* same-site is another origin on this registrable domain (a sibling
     * host): the module's cookies are host-only, so it counts as foreign */
    if (site && (strcasecmp(site, "cross-site") == 0 || strcasecmp(site, "same-site") == 0)) {
        return 1;
    }
    return origin && strcasecmp(origin, own_origin(r)) != 0;
}

/* HMAC(state key, purpose NUL binding), base64url: bound to a secret of
 * this browser (its browser cookie or session id) that another site cannot
 * read. */
static const char *token_make(request_rec *r, const char *purpose, const char *binding)
{
    const orgs_crypto_keys_t *keys = orgs_req_keys(r);
    unsigned char mac[32];
    apr_size_t plen = strlen(purpose), blen = strlen(binding);
    char *buf;

    if (!keys) {
        return NULL;
    }
    buf = apr_palloc(r->pool, plen + 1 + blen);
    memcpy(buf, purpose, plen);
    buf[plen] = '\0';
    memcpy(buf + plen + 1, binding, blen);
    if (orgs_crypto_hmac(keys->state, buf, plen + 1 + blen, mac) != APR_SUCCESS) {
        return NULL;
    }
    return orgs_text_b64url_encode(mac, sizeof(mac), r->pool);
}

static int token_ok(request_rec *r, const char *purpose, const char *binding, const char *token)
{
    const char *want = binding ? token_make(r, purpose, binding) : NULL;
    return want && token && strlen(token) == strlen(want) &&
           orgs_crypto_ct_equal(want, token, strlen(want));
}

apr_status_t orgs_crosssite_form_read(request_rec *r, apr_table_t **args)
{
    apr_array_header_t *pairs = NULL;
    int st = ap_parse_form_data(r, NULL, &pairs, FORM_MAX_FIELDS, FORM_MAX_BYTES);

    *args = apr_table_make(r->pool, 8);
    if (st != OK || !pairs) {
        return APR_EINVAL;
    }
    for (int i = 0; i < pairs->nelts; i++) {
        ap_form_pair_t *pair = &APR_ARRAY_IDX(pairs, i, ap_form_pair_t);
        apr_off_t len;
        apr_size_t size;
        char *val;
        if (apr_brigade_length(pair->value, 1, &len) != APR_SUCCESS || len < 0 ||
            len > FORM_MAX_BYTES) {
            return APR_EINVAL;
        }
        size = (apr_size_t)len;
        val = apr_palloc(r->pool, size + 1);
        if (apr_brigade_flatten(pair->value, val, &size) != APR_SUCCESS ||
            memchr(val, '\0', size)) {
            return APR_EINVAL;
        }
        val[size] = '\0';
        if (apr_table_get(*args, pair->name)) {
            return APR_EINVAL; /* a field twice: ambiguous, as in a query */
        }
        apr_table_setn(*args, pair->name, val);
    }
    return APR_SUCCESS;
}

/* ---- login ------------------------------------------------------------ */

int orgs_crosssite_login_gate(orgs_route_t *c, const char *org_name, const char *org_label,
                              const char *conn_name, const char *hint, int *done)
{
    request_rec *r = c->r;
    const char *browser = orgs_endpoints_cookie_get(r, ORGS_COOKIE_BROWSER);
    const char *current = orgs_endpoints_cookie_get(r, ORGS_COOKIE_ORG), *token, *text;
    char *fresh;

    if (r->method_number == M_POST) {
        if (token_ok(r, "login", browser, apr_table_get(c->args, "csrf"))) {
            return 1;
        }
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00552) "login to org %s posted without this browser's "
                                         "confirmation token: refused (login CSRF?)",
                        org_name);
        *done =
            orgs_endpoints_error_send(r, HTTP_FORBIDDEN, "access_denied",
                                      "This sign-in was not started on this site.", c->return_to);
        return 0;
    }
    if (!orgs_crosssite_foreign(r)) {
        return 1;
    }
    if (!browser || strlen(browser) != 43) {
        if (orgs_crypto_random_token(32, &fresh, r->pool) != APR_SUCCESS) {
            *done = HTTP_INTERNAL_SERVER_ERROR;
            return 0;
        }
        browser = fresh;
        orgs_endpoints_cookie_set(r, ORGS_COOKIE_BROWSER, browser, -1);
    }
    if (!(token = token_make(r, "login", browser))) {
        *done = HTTP_INTERNAL_SERVER_ERROR;
        return 0;
    }
    orgs_log_rerror(r, APLOG_INFO, 0,
                    ORGSLOGNO(00553) "login to org %s asked for by another site: the user is "
                                     "asked to confirm",
                    org_name);
    text = apr_pstrcat(r->pool, "Another site sent you here to sign in to ", org_label, ".",
                       current && strcmp(current, org_name) != 0
                           ? apr_pstrcat(r->pool, " You are using ", current,
                                         " here; signing in would switch this browser to ",
                                         org_label, ".", NULL)
                           : "",
                       " Continue only if you meant to.", NULL);
    {
        const char *fields[] = {"organization",
                                org_name,
                                "connection",
                                conn_name,
                                "login_hint",
                                hint,
                                "return_to",
                                c->return_to,
                                "csrf",
                                token,
                                "invitation",
                                apr_table_get(c->args, "invitation"),
                                NULL};
        *done = orgs_endpoints_page_send(
            r, HTTP_OK,
            orgs_html_confirm_page(
                "login-confirm", apr_pstrcat(r->pool, "Sign in to ", org_label, "?", NULL), text,
                orgs_endpoints_path(r, "/login"), fields, "Continue to sign in", r->pool));
    }
    return 0;
}

/* ---- logout ----------------------------------------------------------- */

int orgs_crosssite_logout_gate(orgs_route_t *c, const char *org, const char *sid, int *done)
{
    request_rec *r = c->r;
    const char *token;

    if (r->method_number == M_POST) {
        if (!sid || token_ok(r, "logout", sid, apr_table_get(c->args, "csrf"))) {
            return 1;
        }
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00554) "logout of org %s posted without the session's "
                                         "confirmation token: the session is kept (logout CSRF?)",
                        org);
        *done =
            orgs_endpoints_error_send(r, HTTP_FORBIDDEN, "access_denied",
                                      "This sign-out was not started on this site.", c->return_to);
        return 0;
    }
    if (!sid || !orgs_crosssite_foreign(r)) {
        return 1;
    }
    if (!(token = token_make(r, "logout", sid))) {
        *done = HTTP_INTERNAL_SERVER_ERROR;
        return 0;
    }
    orgs_log_rerror(r, APLOG_INFO, 0,
                    ORGSLOGNO(00555) "logout of org %s asked for by another site: the session is "
                                     "kept until the user confirms",
                    org);
    {
        const char *fields[] = {"organization", org,   "return_to", c->return_to,
                                "csrf",         token, NULL};
        *done = orgs_endpoints_page_send(
            r, HTTP_OK,
            orgs_html_confirm_page("logout-confirm", "Sign out?",
                                   apr_pstrcat(r->pool, "Another site asked to sign you out of ",
                                               org, ". Sign out only if you meant to.", NULL),
                                   orgs_endpoints_path(r, "/logout"), fields, "Sign out", r->pool));
    }
    return 0;
}
