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

static int collect_spoofed(void *rec, const char *key, const char *value)
{
    apr_array_header_t *names = rec;
    if (poses_as_org(key)) {
        APR_ARRAY_PUSH(names, const char *) = key;
    }
    return 1;
}

void orgs_env_scrub(request_rec *r)
{
    apr_array_header_t *names = apr_array_make(r->pool, 2, sizeof(const char *));
    apr_table_do(collect_spoofed, names, r->headers_in, NULL);
    for (int i = 0; i < names->nelts; i++) {
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

/* prefix (plen bytes) + suffix in p, with '_' in the suffix as '-' when
 * dashes is set (X-Org-Meta-license from a metadata key). */
static const char *prefixed(const char *prefix, apr_size_t plen, const char *suffix, int dashes,
                            apr_pool_t *p)
{
    apr_size_t n = strlen(suffix);
    char *h = apr_palloc(p, plen + n + 1);
    memcpy(h, prefix, plen);
    memcpy(h + plen, suffix, n + 1);
    for (char *c = h + plen; dashes && *c; c++) {
        if (*c == '_') {
            *c = '-';
        }
    }
    return h;
}

typedef struct {
    request_rec *r;
    int headers;
    /* how to set: apr_table_setn (replaces a value already there: a scan
     * of the table per name) or apr_table_addn (appends), chosen per table */
    void (*env_set)(apr_table_t *, const char *, const char *);
    void (*hdr_set)(apr_table_t *, const char *, const char *);
} export_ctx_t;

static int has_org_name(void *rec, const char *key, const char *value)
{
    const char *prefix = rec;
    (void)value;
    if (strncasecmp(key, prefix, strlen(prefix)) == 0) {
        return 0; /* found: stop */
    }
    return 1;
}

/* apr_table_addn when the table holds no name starting with prefix (the
 * common case: a request's first export), so each set is an append; else
 * apr_table_setn, which replaces (an internal redirect or subrequest
 * copies the headers of the request it came from, a SetEnvIf may have set
 * ORG_* before). All the module's names share their first four bytes,
 * which is all apr_table's index looks at: setn would compare each new name
 * with every one set before. */
static void (*choose_set(apr_table_t *t, const char *prefix))(apr_table_t *, const char *,
                                                              const char *)
{
    return apr_table_do(has_org_name, (void *)prefix, t, NULL) ? apr_table_addn : apr_table_setn;
}

/* value as is: an id, text the store made from its packed form (base62) */
static void put_id(export_ctx_t *x, const char *env, const char *header, const char *value)
{
    x->env_set(x->r->subprocess_env, env, value);
    if (x->headers) {
        x->hdr_set(x->r->headers_in, header, value);
    }
}

static void put(export_ctx_t *x, const char *env, const char *header, const char *value)
{
    if (value) {
        put_id(x, env, header, safe_value(value, x->r->pool));
    }
}

void orgs_env_export(request_rec *r, const orgs_session_view_t *v, int pass_headers)
{
    export_ctx_t x = {r, pass_headers, choose_set(r->subprocess_env, "ORG_"),
                      pass_headers ? choose_set(r->headers_in, "X-Org-") : apr_table_setn};
    const apr_array_header_t *roles = v->member.roles;
    const apr_array_header_t *ex = v->session.exports;

    put_id(&x, "ORG_ID", "X-Org-Id", v->org.id);
    put(&x, "ORG_NAME", "X-Org-Name", v->org.name);
    put(&x, "ORG_DISPLAY_NAME", "X-Org-Display-Name", v->org.display_name);
    put(&x, "ORG_CONNECTION", "X-Org-Connection", v->conn_name);
    put_id(&x, "ORG_USER_ID", "X-Org-User-Id", v->user.id);
    put(&x, "ORG_ROLES", "X-Org-Roles",
        roles && roles->nelts ? apr_array_pstrcat(r->pool, roles, ',') : "");
    if (pass_headers && r->user) {
        x.hdr_set(r->headers_in, "X-Org-User", safe_value(r->user, r->pool));
    }
    for (int i = 0; v->org.meta && i < v->org.meta->nelts; i++) {
        const orgs_kv_t *kv = &APR_ARRAY_IDX(v->org.meta, i, orgs_kv_t);
        put(&x, prefixed("ORG_META_", 9, kv->key, 0, r->pool),
            pass_headers ? prefixed("X-Org-Meta-", 11, kv->key, 1, r->pool) : NULL, kv->value);
    }
    /* ORG_EMAIL and ORG_CLAIM_*: names, values and the email policy were
     * decided at sign-in (export.h); here they are only set */
    for (int i = 0; ex && i < ex->nelts; i++) {
        const orgs_export_t *e = &APR_ARRAY_IDX(ex, i, orgs_export_t);
        x.env_set(r->subprocess_env, e->env, e->value);
        if (pass_headers) {
            x.hdr_set(r->headers_in, e->header, e->value);
        }
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
