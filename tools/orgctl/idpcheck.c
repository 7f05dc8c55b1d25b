/* The issuer check of conn create / conn update and doctor: the discovery
 * document and the JWK set fetched as httpd will fetch them at the first
 * sign-in (the same core code, without the store's cache), so a typo in an
 * issuer shows here and not as a 502 at the first login. */

#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

#include "http.h"
#include "oidc.h"
#include "orgctl.h"

apr_status_t cli_idp_check(cli_t *c, const char *issuer, const apr_array_header_t *hosts,
                           cli_idp_report_t *r, orgs_err_t *err)
{
    static int curl_ready;
    orgs_oidc_provider_t *prov;
    orgs_http_opts_t opts;
    memset(r, 0, sizeof(*r));
    memset(&opts, 0, sizeof(opts));
    if (hosts && hosts->nelts > 0) {
        const char **v = apr_pcalloc(c->p, sizeof(*v) * ((apr_size_t)hosts->nelts + 1));
        for (int i = 0; i < hosts->nelts; i++) {
            v[i] = APR_ARRAY_IDX(hosts, i, const char *);
        }
        opts.conn_hosts = v;
    }
    if (!curl_ready) {
        apr_status_t rv = orgs_http_global_init(err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        curl_ready = 1;
    }
    /* No store: a fresh fetch, never a cached answer or a cached failure. */
    apr_status_t rv = orgs_oidc_provider_get(NULL, issuer, apr_time_now(), &opts, &prov, c->p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    r->issuer = prov->issuer;
    r->authorization_endpoint = prov->authorization_endpoint;
    r->token_endpoint = prov->token_endpoint;
    r->jwks_uri = prov->jwks_uri;
    r->end_session = prov->end_session_endpoint != NULL;
    json_t *set = json_loads(prov->jwks_json ? prov->jwks_json : "", 0, NULL);
    json_t *keys = json_object_get(set, "keys");
    apr_array_header_t *algs = apr_array_make(c->p, 4, sizeof(const char *));
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        const char *kty = json_string_value(json_object_get(k, "kty"));
        const char *alg = json_string_value(json_object_get(k, "alg"));
        const char *use = json_string_value(json_object_get(k, "use"));
        if (use && strcmp(use, "sig") != 0) {
            continue; /* an encryption key signs no ID token */
        }
        r->keys++;
        APR_ARRAY_PUSH(algs, const char *) = apr_pstrdup(c->p, alg ? alg : (kty ? kty : "?"));
    }
    json_decref(set);
    r->algs = apr_array_pstrcat(c->p, algs, ',');
    if (r->keys == 0) {
        return orgs_err_set(err, ORGS_EHTTP, "JWKS at %s has no signing key", r->jwks_uri);
    }
    return APR_SUCCESS;
}

void cli_idp_report_print(FILE *fp, const char *indent, const cli_idp_report_t *r)
{
    fprintf(fp, "%sdiscovery: issuer %s\n", indent, r->issuer);
    fprintf(fp, "%s  authorization endpoint %s\n", indent, r->authorization_endpoint);
    fprintf(fp, "%s  token endpoint %s\n", indent, r->token_endpoint);
    fprintf(fp, "%s  logout endpoint: %s\n", indent, r->end_session ? "yes" : "none");
    fprintf(fp, "%sJWKS: %s: %d signing key%s (%s)\n", indent, r->jwks_uri, r->keys,
            r->keys == 1 ? "" : "s", r->algs);
}

int cli_idp_check_or_fail(cli_t *c, const char *issuer, const apr_array_header_t *hosts)
{
    cli_idp_report_t r;
    orgs_err_t err = {{0}};
    if (cli_opt(c, "no-check")) {
        return RC_OK;
    }
    if (cli_idp_check(c, issuer, hosts, &r, &err) != APR_SUCCESS) {
        return cli_fail(c, RC_ERROR, "issuer %s: %s (fix the issuer, or --no-check to skip)",
                        issuer, err.msg);
    }
    /* stderr: stdout carries only the new id, for scripts */
    fprintf(stderr, "checked issuer %s\n", issuer);
    cli_idp_report_print(stderr, "  ", &r);
    return RC_OK;
}
