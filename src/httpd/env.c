#include <apr_strings.h>
#include <apr_lib.h>
#include <http_request.h>
#include <http_protocol.h>

#include "private.h"
#include "env.h"
#include "export.h"
#include "text.h"

/* Name as CGI would see it, minus the HTTP_ prefix: upper case, '-' -> '_'. */
static int poses_as_org(const char *name)
{
    static const char *const prefixes[] = {"ORG_", "X_ORG_"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        const char *pre = prefixes[i];
        const char *n = name;
        while (*pre && *n) {
            char c = *n == '-' ? '_' : (char)apr_toupper((unsigned char)*n);
            if (c != *pre) {
                break;
            }
            pre++;
            n++;
        }
        if (!*pre) {
            return 1;
        }
    }
    return 0;
}

void orgs_env_scrub(request_rec *r)
{
    const apr_array_header_t *a = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)a->elts;
    apr_array_header_t *names = NULL;

    /* the names first, then the removals: unset reshapes the table */
    for (int i = 0; i < a->nelts; i++) {
        if (e[i].key && poses_as_org(e[i].key)) {
            if (!names) {
                names = apr_array_make(r->pool, 2, sizeof(const char *));
            }
            APR_ARRAY_PUSH(names, const char *) = e[i].key;
        }
    }
    for (int i = 0; names && i < names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        orgs_log_rerror(r, APLOG_INFO, 0,
                        ORGSLOGNO(00301) "removed incoming header '%s' that could pose as the "
                                         "module's own",
                        name);
        apr_table_unset(r->headers_in, name);
    }
}

/* Values go into environment variables and header fields: no control
 * characters (no header splitting), bounded length. The store already
 * refuses such values in what it keeps, so this finds nothing to change
 * and copies nothing, unless a record was written around its checks. */
static const char *safe_value(const char *v, apr_pool_t *p)
{
    apr_size_t n = 0;
    while (v[n] && !orgs_text_is_ctl((unsigned char)v[n])) {
        n++;
    }
    if (n <= ORGS_ENV_VALUE_MAX && v[n] == '\0') {
        return v;
    }
    return orgs_export_value(v, ORGS_ENV_VALUE_MAX, p);
}

/* Whether t holds a name starting with prefix (n bytes). */
static int has_prefixed(const apr_table_t *t, const char *prefix, apr_size_t n)
{
    const apr_array_header_t *a = apr_table_elts(t);
    const apr_table_entry_t *e = (const apr_table_entry_t *)a->elts;
    for (int i = 0; i < a->nelts; i++) {
        if (e[i].key && strncasecmp(e[i].key, prefix, n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* All of src into t: appended, or, when t already holds one of the
 * module's names (an internal redirect or subrequest copies the headers
 * of the request it came from, a SetEnvIf may have set ORG_* before),
 * each replacing it. Appended one by one with apr_table_addn rather than
 * apr_table_setn: all the module's names share their first four bytes,
 * which is all apr_table's index looks at, so setn would compare each new
 * name with every one set before. */
static void add_all(apr_table_t *t, const char *prefix, apr_size_t n, const apr_table_t *src,
                    const request_rec *r)
{
    const apr_array_header_t *a = apr_table_elts(src);
    const apr_table_entry_t *e = (const apr_table_entry_t *)a->elts;
    void (*set)(apr_table_t *, const char *, const char *) =
        has_prefixed(t, prefix, n) ? apr_table_setn : apr_table_addn;

    for (int i = 0; i < a->nelts; i++) {
        set(t, e[i].key, e[i].val);
        /* X-Org-User after the org's and the user's own (X-Org-Roles ends them) */
        if (r && strcmp(e[i].key, "X-Org-Roles") == 0) {
            set(t, "X-Org-User", safe_value(r->user, r->pool));
        }
    }
}

void orgs_env_export(request_rec *r, const orgs_session_view_t *v, int pass_headers)
{
    orgs_session_view_t made;

    /* names and values made when the view was cached
     * (orgs_export_view_prepare): here they are only added */
    if (!v->ready_env || !v->ready_headers) {
        made = *v;
        orgs_export_view_prepare(&made, r->pool);
        v = &made;
    }
    if (has_prefixed(r->subprocess_env, "ORG_", 4)) {
        add_all(r->subprocess_env, "ORG_", 4, v->ready_env, NULL);
    } else {
        /* the common case: none there yet, all appended in one copy (as
         * httpd itself merges err_headers_out into headers_out) */
        r->subprocess_env = apr_table_overlay(r->pool, r->subprocess_env, v->ready_env);
    }
    if (pass_headers) {
        add_all(r->headers_in, "X-Org-", 6, v->ready_headers, r->user ? r : NULL);
    }
}

static int orgs_hook_post_read_request(request_rec *r)
{
    orgs_env_scrub(r);
    return DECLINED;
}

void orgs_env_register_hooks(apr_pool_t *p)
{
    /* First of all, so no other module sees a spoofed header. */
    ap_hook_post_read_request(orgs_hook_post_read_request, NULL, NULL, APR_HOOK_REALLY_FIRST);
}
