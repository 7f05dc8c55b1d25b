/* [glue] The route table of the module's endpoints and what they share:
 * cookies, responses, the rv -> HTTP status table (see endpoints.h). */
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>

#include "private.h"
#include "cookie.h"
#include "html.h"
#include "url.h"
#include "endpoints.h"
#include "fixups.h"
#include "crosssite.h"
#include "render.h"

/* ---- status ----------------------------------------------------------- */

int orgs_status_for(apr_status_t rv)
{
    switch (rv) {
    case APR_EINVAL:
        return HTTP_BAD_REQUEST;
    case ORGS_EDENIED:
        return HTTP_FORBIDDEN;
    case ORGS_EHTTP:
        return HTTP_BAD_GATEWAY;
    case ORGS_ESTOREFULL:
    case APR_ENOSPC:
        return HTTP_SERVICE_UNAVAILABLE;
    default:
        return HTTP_INTERNAL_SERVER_ERROR;
    }
}

/* ---- cookies ---------------------------------------------------------- */

static int is_https(request_rec *r)
{
    const char *pub = orgs_srv_cfg(r->server)->public_url;
    if (pub) {
        return strncasecmp(pub, "https:", 6) == 0;
    }
    return strcmp(ap_http_scheme(r), "https") == 0;
}

static int feed_cookie_header(void *rec, const char *key, const char *header)
{
    return orgs_cookie_scan_feed(rec, header);
}

static void cookie_conflict(request_rec *r, const char *name, const char *suffix)
{
    orgs_log_rerror(r, APLOG_WARNING, 0,
                    ORGSLOGNO(00240) "cookie %s%s sent twice with different values: ignored", name,
                    suffix);
}

const char *orgs_endpoints_cookie_get(request_rec *r, const char *name)
{
    orgs_cookie_scan_t scan;
    const char *value;

    orgs_cookie_scan_init(&scan, orgs_cookie_name(name, is_https(r), r->pool));
    apr_table_do(feed_cookie_header, &scan, orgs_fixups_cookie_headers(r), "Cookie", NULL);
    if (orgs_cookie_scan_value(&scan, &value, r->pool) == APR_EEXIST) {
        cookie_conflict(r, scan.name, "");
        return NULL;
    }
    return value;
}

static int feed_pair_scan(void *rec, const char *key, const char *header)
{
    orgs_cookie_pair_scan_feed(rec, header);
    return 1;
}

const char *orgs_endpoints_session_cookie_get(request_rec *r, const char *fixed, const char **org)
{
    orgs_cookie_pair_scan_t scan;
    const char *sid = NULL;
    int https = is_https(r);
    apr_status_t rv;

    orgs_cookie_pair_scan_init(
        &scan, https ? ORGS_COOKIE_HOST_PREFIX ORGS_COOKIE_ORG : ORGS_COOKIE_ORG,
        https ? ORGS_COOKIE_HOST_PREFIX ORGS_COOKIE_SESSION : ORGS_COOKIE_SESSION);
    apr_table_do(feed_pair_scan, &scan, orgs_fixups_cookie_headers(r), "Cookie", NULL);
    *org = fixed;
    if (!fixed && orgs_cookie_scan_value(&scan.first, org, r->pool) == APR_EEXIST) {
        cookie_conflict(r, scan.first.name, "");
    }
    if (!*org) {
        return NULL;
    }
    rv = orgs_cookie_pair_scan_value(&scan, *org, &sid, r->pool);
    if (rv == APR_INCOMPLETE) { /* many session cookies: this org's alone */
        return orgs_endpoints_cookie_get(r, apr_pstrcat(r->pool, ORGS_COOKIE_SESSION, *org, NULL));
    }
    if (rv == APR_EEXIST) {
        cookie_conflict(r, scan.prefix, *org);
    }
    return sid;
}

void orgs_endpoints_cookie_set(request_rec *r, const char *name, const char *value, long max_age)
{
    apr_table_addn(r->err_headers_out, "Set-Cookie",
                   orgs_cookie_header_make(name, value, is_https(r), max_age, r->pool));
}

/* ---- responses -------------------------------------------------------- */

void orgs_endpoints_no_store(request_rec *r)
{
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "Pragma", "no-cache");
}

int orgs_endpoints_page_send(request_rec *r, int status, const char *html)
{
    orgs_endpoints_no_store(r);
    apr_table_setn(r->err_headers_out, "Content-Security-Policy",
                   orgs_render_csp(r, orgs_req_get(r)->page));
    apr_table_setn(r->err_headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->err_headers_out, "Referrer-Policy", "no-referrer");
    r->status = status;
    ap_set_content_type(r, "text/html; charset=utf-8");
    if (!r->header_only) {
        ap_rputs(html, r);
    }
    return OK;
}

int orgs_endpoints_redirect(request_rec *r, const char *url)
{
    orgs_endpoints_no_store(r);
    apr_table_setn(r->headers_out, "Location", url);
    return HTTP_MOVED_TEMPORARILY;
}

const char *orgs_endpoints_path(request_rec *r, const char *route)
{
    return apr_pstrcat(r->pool, orgs_srv_cfg(r->server)->endpoint, route, NULL);
}

const char *orgs_endpoints_base_url(request_rec *r)
{
    const char *pub = orgs_srv_cfg(r->server)->public_url;
    return pub ? pub : ap_construct_url(r->pool, "", r);
}

const char *orgs_endpoints_redirect_uri(request_rec *r)
{
    return apr_pstrcat(r->pool, orgs_endpoints_base_url(r), orgs_srv_cfg(r->server)->endpoint,
                       "/callback", NULL);
}

/* OrgsErrorURL of the location the login returns to (the endpoints
 * themselves only see the server's defaults). Looked up on the error path
 * only, with a subrequest that check_authn answers without any work. */
static const char *error_url_for(request_rec *r, const char *return_to)
{
    const char *url = orgs_dir_error_url(orgs_dir_cfg(r));
    if (return_to && return_to[0] == '/') {
        const char *path = apr_pstrmemdup(r->pool, return_to, strcspn(return_to, "?#"));
        request_rec *rr;
        apr_table_setn(r->notes, ORGS_NOTE_LOOKUP, "1");
        rr = ap_sub_req_lookup_uri(path, r, NULL);
        apr_table_unset(r->notes, ORGS_NOTE_LOOKUP);
        if (rr) {
            const char *loc = rr->per_dir_config ? orgs_dir_error_url(ap_get_module_config(
                                                       rr->per_dir_config, &auth_orgs_module))
                                                 : NULL;
            url = loc ? loc : url;
            ap_destroy_sub_req(rr);
        }
    }
    return url;
}

int orgs_endpoints_error_send(request_rec *r, int status, const char *code, const char *desc,
                              const char *return_to)
{
    if (status == HTTP_SERVICE_UNAVAILABLE) {
        /* a full store, a full disk, too many sign-ins at once: it passes */
        code = "temporarily_unavailable";
        if (!apr_table_get(r->err_headers_out, "Retry-After")) {
            /* a caller that set its own Retry-After said when, in its own text */
            desc = apr_pstrcat(r->pool, desc,
                               " This is temporary: please try again in a few minutes.", NULL);
            apr_table_setn(r->err_headers_out, "Retry-After", "60");
        }
    }
    const char *error_url = error_url_for(r, return_to);
    if (error_url) {
        return orgs_endpoints_redirect(r, orgs_url_append_params(error_url, r->pool, "error", code,
                                                                 "error_description", desc, NULL));
    }
    /* the page of the org when it is known (its look, and a retry that
     * keeps it), else the site's */
    const orgs_html_ctx_t *h = orgs_req_get(r)->page;
    if (!h) {
        h = orgs_render_ctx(r, NULL);
    }
    const char *retry = orgs_url_append_params(
        orgs_endpoints_path(r, "/login"), r->pool, "return_to", return_to ? return_to : "/",
        "organization", orgs_tmpl_vars_get(h->vars, "org_name"), NULL);
    return orgs_endpoints_page_send(r, status, orgs_html_error_page(h, NULL, code, desc, retry));
}

/* ---- the route table -------------------------------------------------- */

static const struct {
    const char *path;
    int (*handler)(orgs_route_t *c);
    int post; /* also takes the POST of its confirmation page (crosssite.c) */
} routes[] = {
    {"/login", orgs_login_route, 1},           {"/callback", orgs_callback_route, 0},
    {"/logout", orgs_logout_route, 1},         {"/logged-out", orgs_logout_done_route, 0},
    {"/signed-out", orgs_signed_out_route, 0}, {"/switch", orgs_switch_route, 0},
};

/* The endpoints are served before httpd's access checks, so a site-wide
 * `AuthType orgs` cannot lock users out of the login pages themselves. */
static int orgs_hook_quick_handler(request_rec *r, int lookup_uri)
{
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    const char *path = r->parsed_uri.path;
    apr_size_t n;
    orgs_route_t c;
    orgs_err_t err = {{0}};
    apr_status_t rv;

    if (lookup_uri || !sc->store_dir || !sc->endpoint || !path) {
        return DECLINED;
    }
    n = strlen(sc->endpoint);
    if (strncmp(path, sc->endpoint, n) != 0 || path[n] != '/') {
        return DECLINED;
    }
    if (strncmp(path + n, "/api/", 5) == 0) {
        return DECLINED; /* left to a location under it (SetHandler orgs-admin) */
    }
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(path + n, routes[i].path) != 0) {
            continue;
        }
        if (r->method_number != M_GET && !(routes[i].post && r->method_number == M_POST)) {
            apr_table_setn(r->err_headers_out, "Allow",
                           routes[i].post ? "GET, HEAD, POST" : "GET, HEAD");
            return HTTP_METHOD_NOT_ALLOWED;
        }
        memset(&c, 0, sizeof(c));
        c.r = r;
        c.st = orgs_req_store(r);
        if (!c.st || !sc->keys) {
            orgs_log_rerror(r, APLOG_ERR, 0,
                            ORGSLOGNO(00231) "%s: the store is not open or OrgsCryptoKey is unset",
                            path);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        rv = r->method_number == M_POST ? orgs_crosssite_form_read(r, &c.args)
                                        : orgs_url_query_parse(r->args, &c.args, r->pool);
        if (rv != APR_SUCCESS) {
            orgs_log_rerror(r, APLOG_INFO, rv, ORGSLOGNO(00232) "%s: malformed query string", path);
            return orgs_endpoints_error_send(r, HTTP_BAD_REQUEST, "invalid_request",
                                             "Malformed request.", "/");
        }
        c.return_to = apr_table_get(c.args, "return_to");
        if (!c.return_to || !*c.return_to) {
            c.return_to = "/";
        } else if ((rv = orgs_url_return_to_check(c.return_to, &err)) != APR_SUCCESS) {
            orgs_log_rerror(r, APLOG_WARNING, rv, ORGSLOGNO(00233) "%s: return_to refused: %s",
                            path, err.msg);
            return orgs_endpoints_error_send(r, HTTP_BAD_REQUEST, "invalid_request",
                                             "The address to return to is not on this site.", "/");
        }
        return routes[i].handler(&c);
    }
    return HTTP_NOT_FOUND;
}

static int orgs_hook_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                 server_rec *s)
{
    orgs_err_t err = {{0}};
    apr_status_t rv = orgs_http_global_init(&err);
    if (rv != APR_SUCCESS) {
        orgs_log_error(s, APLOG_CRIT, rv, ORGSLOGNO(00234) "cannot initialise the HTTP client: %s",
                       err.msg);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

void orgs_endpoints_register_hooks(apr_pool_t *p)
{
    ap_hook_post_config(orgs_hook_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_quick_handler(orgs_hook_quick_handler, NULL, NULL, APR_HOOK_FIRST);
}
