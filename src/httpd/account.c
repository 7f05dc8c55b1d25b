/* [glue] The denial page, /signed-out and /switch. */
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_core.h>

#include "private.h"
#include "checks.h"
#include "crypto.h"
#include "url.h"
#include "account.h"
#include "endpoints.h"
#include "render.h"
#include "crosssite.h"

void orgs_account_denied(request_rec *r, const orgs_session_view_t *v, const char *reason_key,
                         long count, const char *needed)
{
    const orgs_html_ctx_t *h;
    const char *html, *here = r->unparsed_uri;
    orgs_err_t err;

    /* a subrequest's answer is not shown */
    if (r->main) {
        return;
    }
    if (!here || orgs_url_return_to_check(here, &err) != APR_SUCCESS) {
        here = "/";
    }
    h = orgs_render_ctx(r, &v->org);
    orgs_render_switcher(r, h, v->org.name, here);
    html = orgs_html_denied_page(
        h, reason_key, count, r->user, needed,
        v->session.created ? orgs_pages_date(h->ps, h->lang, v->session.created, r->pool) : NULL,
        orgs_url_append_params(orgs_endpoints_path(r, "/login"), r->pool, "return_to", here, NULL),
        orgs_url_append_params(orgs_endpoints_path(r, "/logout"), r->pool, "organization",
                               v->org.name, NULL));
    orgs_endpoints_no_store(r);
    apr_table_setn(r->err_headers_out, "Content-Security-Policy", orgs_render_csp(r, h));
    apr_table_setn(r->err_headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->err_headers_out, "Referrer-Policy", "no-referrer");
    /* httpd would label its error text ISO-8859-1; the page says UTF-8 itself */
    apr_table_setn(r->subprocess_env, "suppress-error-charset", "1");
    /* httpd answers a signed-in user's denial 401, or 403 with
     * AuthzSendForbiddenOnFailure On: the page is the body of either,
     * unless the location has an ErrorDocument of its own for it */
    if (!ap_response_code_string(r, ap_index_of_response(HTTP_FORBIDDEN))) {
        ap_custom_response(r, HTTP_FORBIDDEN, html);
    }
    if (!ap_response_code_string(r, ap_index_of_response(HTTP_UNAUTHORIZED))) {
        ap_custom_response(r, HTTP_UNAUTHORIZED, html);
    }
}

/* ---- the org a user typed ------------------------------------------------ */

apr_status_t orgs_account_org_find(orgs_store_t *st, const char *typed, orgs_org_t **out,
                                   apr_pool_t *p, orgs_err_t *err)
{
    char *name = apr_pstrdup(p, typed), *end;
    apr_array_header_t *all;
    orgs_org_t *found = NULL;
    apr_status_t rv;

    while (*name == ' ' || *name == '\t') {
        name++;
    }
    for (end = name + strlen(name); end > name && (end[-1] == ' ' || end[-1] == '\t'); end--) {
    }
    *end = '\0';
    if (!*name) {
        return APR_NOTFOUND;
    }
    /* an id stays as it is; a name is lowercase: " ORG1 " is org1 */
    if (strncmp(name, "org_", 4) != 0) {
        ap_str_tolower(name);
    }
    rv = orgs_store_org_get(st, name, out, p, err);
    if (rv != APR_NOTFOUND) {
        return rv;
    }
    /* the display name, when one org alone has it */
    if ((rv = orgs_store_org_list(st, &all, p, err)) != APR_SUCCESS) {
        return rv;
    }
    for (int i = 0; i < all->nelts; i++) {
        orgs_org_t *o = APR_ARRAY_IDX(all, i, orgs_org_t *);
        if (o->display_name && strcasecmp(o->display_name, name) == 0) {
            if (found) {
                return APR_EEXIST;
            }
            found = o;
        }
    }
    if (!found) {
        return APR_NOTFOUND;
    }
    *out = found;
    return APR_SUCCESS;
}

/* ---- /signed-out -------------------------------------------------------- */

int orgs_signed_out_route(orgs_route_t *c)
{
    request_rec *r = c->r;
    const char *name = apr_table_get(c->args, "organization");
    orgs_org_t *org = NULL;
    orgs_err_t err = {{0}};
    const orgs_html_ctx_t *h;

    if (name && (orgs_check_slug(name, &err) != APR_SUCCESS ||
                 orgs_store_org_get(c->st, name, &org, r->pool, &err) != APR_SUCCESS)) {
        org = NULL; /* an org gone since: the site's page, without its name */
    }
    h = orgs_render_ctx(r, org);
    orgs_render_switcher(r, h, NULL, c->return_to);
    return orgs_endpoints_page_send(
        r, HTTP_OK,
        orgs_html_signed_out_page(
            h, orgs_url_append_params(orgs_endpoints_path(r, "/login"), r->pool, "organization",
                                      org ? org->name : NULL, "return_to", c->return_to, NULL)));
}

/* ---- /switch ------------------------------------------------------------ */

/* Makes organization= the browser's current org when the browser holds a
 * valid session of it; otherwise on to a sign-in to that org. */
int orgs_switch_route(orgs_route_t *c)
{
    request_rec *r = c->r;
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    const char *org = apr_table_get(c->args, "organization"), *sid = NULL;
    orgs_session_view_t *view = NULL;
    unsigned char hash[32];
    orgs_err_t err = {{0}};

    if (!org || orgs_check_slug(org, &err) != APR_SUCCESS) {
        return orgs_endpoints_redirect(r, orgs_url_append_params(orgs_endpoints_path(r, "/login"),
                                                                 r->pool, "return_to", c->return_to,
                                                                 NULL));
    }
    sid = orgs_endpoints_cookie_get(r, apr_pstrcat(r->pool, ORGS_COOKIE_SESSION, org, NULL));
    /* another site may not switch this browser: it goes the way of a
     * sign-in, whose cross-site start asks the user first */
    if (sid && !orgs_crosssite_foreign(r) &&
        orgs_crypto_sha256(sid, strlen(sid), hash) == APR_SUCCESS &&
        orgs_store_session_view(c->st, hash, apr_time_now(), sc->session_idle, &view, r->pool,
                                &err) == APR_SUCCESS &&
        strcmp(view->org.name, org) == 0) {
        orgs_log_rerror(r, APLOG_INFO, 0,
                        ORGSLOGNO(00802) "switched this browser to org %s (its session is valid)",
                        org);
        orgs_endpoints_cookie_set(r, ORGS_COOKIE_ORG, org, (long)apr_time_sec(sc->session_max_age));
        return orgs_endpoints_redirect(r, c->return_to);
    }
    orgs_log_rerror(r, APLOG_INFO, 0,
                    ORGSLOGNO(00803) "switch to org %s: no valid session of it here, signing in",
                    org);
    return orgs_endpoints_redirect(r, orgs_url_append_params(orgs_endpoints_path(r, "/login"),
                                                             r->pool, "organization", org,
                                                             "return_to", c->return_to, NULL));
}
