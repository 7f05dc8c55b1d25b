/* [glue] What the app behind and the caches in front are shown: the
 * module's own cookies are taken out of the request before the handler (a
 * CGI's HTTP_COOKIE, a proxied backend's Cookie), and every response the
 * module authenticated is marked as not for shared caches. */
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>

#include "private.h"
#include "cookie.h"
#include "endpoints.h"
#include "fixups.h"

#define PRIVATE_FILTER "ORGS_PRIVATE"

/* the filter, as registered: added by handle, not looked up by name per request */
static ap_filter_rec_t *private_filter_rec;

/* Every cookie the module sets lives in the "orgs_" namespace
 * (orgs_sess_<org>, orgs_org, orgs_browser, and any later one), plain or
 * with the __Host- prefix: one prefix keeps the list complete. */
static const char *const module_cookies[] = {ORGS_COOKIE_NAMESPACE, NULL};

/* The request holding the Cookie headers as the browser sent them: this
 * one, or the main request of a subrequest, or the request an internal
 * redirect came from. */
static const orgs_req_t *original_cookies_of(const request_rec *r)
{
    for (const request_rec *rr = r; rr; rr = rr->main ? rr->main : rr->prev) {
        const orgs_req_t *rq = ap_get_module_config(rr->request_config, &auth_orgs_module);
        if (rq && rq->cookies_in) {
            return rq;
        }
    }
    return NULL;
}

apr_table_t *orgs_fixups_cookie_headers(const request_rec *r)
{
    const orgs_req_t *rq = original_cookies_of(r);
    return rq ? rq->cookies_in : r->headers_in;
}

static int is_cookie(const apr_table_entry_t *e)
{
    /* the first letter first: most headers are not Cookie */
    return e->key && e->val && (e->key[0] == 'C' || e->key[0] == 'c') &&
           strcasecmp(e->key, "Cookie") == 0;
}

/* Takes the module's cookies out of r's Cookie headers, keeping the
 * headers as sent for the module itself (an internal redirect or a
 * subrequest to a protected location still finds its session). A request
 * none of whose Cookie headers names the namespace (an app's own cookies,
 * no cookie at all) is only looked at: no copy, no rewrite. */
static void strip_cookies(request_rec *r)
{
    const apr_array_header_t *a = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)a->elts;
    const char **kept;
    apr_table_t *orig = NULL;
    int n = 0, named = 0, k = 0, removed = 0;

    for (int i = 0; i < a->nelts; i++) {
        if (is_cookie(&e[i])) {
            n++;
            named |= strstr(e[i].val, ORGS_COOKIE_NAMESPACE) != NULL;
        }
    }
    if (!named) {
        return;
    }
    kept = apr_palloc(r->pool, sizeof(*kept) * (apr_size_t)n);
    if (!original_cookies_of(r)) {
        orig = apr_table_make(r->pool, n);
    }
    for (int i = 0; i < a->nelts; i++) {
        if (is_cookie(&e[i])) {
            const char *v = orgs_cookie_strip(e[i].val, module_cookies, &removed, r->pool);
            if (orig) {
                apr_table_addn(orig, "Cookie", e[i].val);
            }
            if (v) {
                kept[k++] = v;
            }
        }
    }
    if (removed == 0) {
        return;
    }
    if (orig) {
        orgs_req_get(r)->cookies_in = orig;
    }
    apr_table_unset(r->headers_in, "Cookie");
    for (int i = 0; i < k; i++) {
        apr_table_addn(r->headers_in, "Cookie", kept[i]);
    }
    orgs_log_rerror(r, APLOG_DEBUG, 0,
                    ORGSLOGNO(00550) "removed %d of the module's cookies from the request "
                                     "before the handler",
                    removed);
}

/* Runs first in the handler phase: whatever serves the request (a CGI, a
 * proxy, a script engine) reads a Cookie header without the module's
 * cookies. */
static int orgs_hook_strip_cookies(request_rec *r)
{
    if (orgs_dir_strip_cookies(orgs_dir_cfg(r))) {
        strip_cookies(r);
    }
    return DECLINED;
}

/* TRACE is answered by httpd's core in map_to_storage, long before the
 * handler phase, and echoes the request's headers: a page that can make a
 * browser send it would read the session cookie in the echo. The module's
 * cookies are stripped first there, whatever OrgsStripCookies says: no app
 * answers a TRACE, so nothing needs them in the echo, and no location's
 * setting can turn the echo of a path=/ session cookie back on.
 * `TraceEnable Off` refuses TRACE altogether. */
static int orgs_hook_trace_strip(request_rec *r)
{
    if (r->method_number == M_TRACE) {
        strip_cookies(r);
    }
    return DECLINED;
}

/* ---- responses of an authenticated request --------------------------- */

/* Whether the app's Cache-Control already says something about shared
 * caches: then it is the app's choice, else "private" is added. */
static int says_shared(const char *cc)
{
    return cc && (ap_strcasestr(cc, "private") || ap_strcasestr(cc, "no-store") ||
                  ap_strcasestr(cc, "public") || ap_strcasestr(cc, "s-maxage"));
}

static int has_token(const char *list, const char *token)
{
    return list && ap_find_token(NULL, list, token);
}

/* Once, on the first brigade (the headers are final then, whatever the
 * handler: static file, CGI, proxy): Cache-Control private unless the app
 * spoke about shared caches, and Vary: Cookie. */
static apr_status_t private_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const char *cc = apr_table_get(r->headers_out, "Cache-Control");
    const char *ecc = apr_table_get(r->err_headers_out, "Cache-Control");

    if (!says_shared(cc) && !says_shared(ecc)) {
        apr_table_setn(r->headers_out, "Cache-Control",
                       cc ? apr_pstrcat(r->pool, cc, ", private", NULL) : "private");
    }
    if (!has_token(apr_table_get(r->headers_out, "Vary"), "Cookie") &&
        !has_token(apr_table_get(r->err_headers_out, "Vary"), "Cookie")) {
        apr_table_mergen(r->headers_out, "Vary", "Cookie");
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* A request this module authenticated: mod_cache must not store its
 * answer (r->no_cache, so CacheQuickHandler can never hand it to
 * someone else) and caches in front are told the same. */
static int orgs_hook_fixups(request_rec *r)
{
    const orgs_req_t *rq = ap_get_module_config(r->request_config, &auth_orgs_module);

    if (!rq || !rq->view || !orgs_dir_private_responses(orgs_dir_cfg(r))) {
        return DECLINED;
    }
    r->no_cache = 1;
    ap_add_output_filter_handle(private_filter_rec, NULL, r, r->connection);
    orgs_log_rerror(r, APLOG_TRACE1, 0,
                    ORGSLOGNO(00551) "authenticated response: marked private, not cached");
    return DECLINED;
}

void orgs_fixups_register_hooks(apr_pool_t *p)
{
    ap_hook_fixups(orgs_hook_fixups, NULL, NULL, APR_HOOK_LAST);
    ap_hook_handler(orgs_hook_strip_cookies, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_map_to_storage(orgs_hook_trace_strip, NULL, NULL, APR_HOOK_REALLY_FIRST);
    /* after the content filters (mod_headers may set Cache-Control there), before
     * the headers are written; mod_cache itself is stopped by r->no_cache */
    private_filter_rec =
        ap_register_output_filter(PRIVATE_FILTER, private_filter, NULL, AP_FTYPE_PROTOCOL - 1);
}
