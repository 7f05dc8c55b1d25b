/* [glue] Who calls the admin API: bearer tokens (orgctl token create)
 * read from Authorization under AuthType orgs, and the provider
 * `Require org-api-token [SCOPE…]` that admits them. */
#include <apr_strings.h>
#include <ap_provider.h>
#include <http_core.h>
#include <http_request.h>
#include <mod_auth.h>

#include "private.h"
#include "checks.h"
#include "admin_httpd.h"

int orgs_admin_location(request_rec *r)
{
    const core_dir_config *cd = ap_get_core_module_config(r->per_dir_config);
    const char *h = cd ? cd->handler : NULL;
    if (!h && cd && cd->expr_handler) {
        const char *experr = NULL;
        h = ap_expr_str_exec(r, cd->expr_handler, &experr);
        h = experr ? NULL : h;
    }
    return h && strcmp(h, ORGS_ADMIN_HANDLER) == 0;
}

static int refuse(request_rec *r, const char *error)
{
    apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                   apr_psprintf(r->pool, "Bearer error=\"%s\"", error));
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return HTTP_UNAUTHORIZED;
}

int orgs_admin_authn(request_rec *r)
{
    const char *h = apr_table_get(r->headers_in, "Authorization");
    orgs_store_t *st = orgs_req_store(r);
    orgs_token_t *tok;
    orgs_err_t err = {{0}};
    apr_status_t rv;

    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !orgs_admin_location(r)) {
        return DECLINED;
    }
    if (!st) {
        orgs_log_rerror(r, APLOG_ERR, 0,
                        ORGSLOGNO(00708) "admin API: the store is not open in this child "
                                         "(see OrgsStore)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    h += 7;
    while (*h == ' ') {
        h++;
    }
    rv = orgs_store_token_verify(st, h, apr_time_now(), &tok, r->pool, &err);
    if (rv == APR_NOTFOUND) {
        orgs_log_rerror(r, APLOG_INFO, 0,
                        ORGSLOGNO(00709) "admin API: bearer token refused: %s (unknown, revoked "
                                         "or malformed)",
                        err.msg);
        return refuse(r, "invalid_token");
    }
    if (rv == ORGS_EEXPIRED) {
        orgs_log_rerror(r, APLOG_INFO, 0, ORGSLOGNO(00710) "admin API: bearer token refused: %s",
                        err.msg);
        return refuse(r, "invalid_token");
    }
    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_ERR, rv,
                        ORGSLOGNO(00711) "admin API: cannot check the bearer token: %s", err.msg);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    orgs_req_get(r)->token = tok;
    r->user = (char *)tok->id;
    r->ap_auth_type = (char *)"Bearer";
    return OK;
}

/* ---- Require org-api-token [SCOPE…] ----------------------------------- */

static const char *parse_token(cmd_parms *cmd, const char *line, const void **parsed)
{
    apr_array_header_t *scopes = apr_array_make(cmd->pool, 2, sizeof(const char *));
    const char *w;
    orgs_err_t e;
    while (*(w = ap_getword_conf(cmd->pool, &line)) != '\0') {
        if (orgs_check_token_scope(w, &e) != APR_SUCCESS) {
            return apr_psprintf(cmd->pool, "Require org-api-token: %s", e.msg);
        }
        APR_ARRAY_PUSH(scopes, const char *) = w;
    }
    *parsed = scopes;
    return NULL;
}

static authz_status check_token(request_rec *r, const char *line, const void *parsed)
{
    const apr_array_header_t *want = parsed;
    const request_rec *top = r;
    const orgs_req_t *rq;
    while (top->main) {
        top = top->main;
    }
    rq = ap_get_module_config(top->request_config, &auth_orgs_module);
    if (!r->user) {
        return AUTHZ_DENIED_NO_USER;
    }
    if (!rq || !rq->token) {
        orgs_log_rerror(r, APLOG_INFO, 0,
                        ORGSLOGNO(00712) "Require org-api-token: '%s' did not present an API "
                                         "token",
                        r->user);
        return AUTHZ_DENIED;
    }
    for (int i = 0; want && i < want->nelts; i++) {
        const char *s = APR_ARRAY_IDX(want, i, const char *);
        int has = 0;
        for (int j = 0; !has && rq->token->scopes && j < rq->token->scopes->nelts; j++) {
            has = strcmp(APR_ARRAY_IDX(rq->token->scopes, j, const char *), s) == 0;
        }
        if (!has) {
            orgs_log_rerror(r, APLOG_INFO, 0,
                            ORGSLOGNO(00713) "Require org-api-token: token %s lacks the scope "
                                             "'%s'",
                            rq->token->id, s);
            return AUTHZ_DENIED;
        }
    }
    return AUTHZ_GRANTED;
}

static const authz_provider token_provider = {check_token, parse_token};

void orgs_admin_auth_register(apr_pool_t *p)
{
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "org-api-token", AUTHZ_PROVIDER_VERSION,
                              &token_provider, AP_AUTH_INTERNAL_PER_CONF);
}
