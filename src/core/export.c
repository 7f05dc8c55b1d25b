/* The claim exports decided at sign-in (see export.h). */
#include <string.h>

#include <apr_strings.h>

#include "export.h"
#include "text.h"

#define ENV_PREFIX "ORG_CLAIM_"
#define HEADER_PREFIX "X-Org-Claim-"

/* One claim on its way to an export. */
typedef struct {
    const char *key;   /* the claim's name, as in the token */
    char *name;        /* mapped: [A-Za-z0-9_] */
    char *folded;      /* name upper-cased: the collision key */
    const char *value; /* as text */
    int dropped;
} cand_t;

const char *orgs_export_value(const char *v, apr_size_t max, apr_pool_t *p)
{
    apr_size_t n = strlen(v);
    if (n > max) {
        n = max;
        /* back to the start of a UTF-8 sequence: no half character */
        while (n > 0 && ((unsigned char)v[n] & 0xc0) == 0x80) {
            n--;
        }
    }
    char *out = apr_pstrmemdup(p, v, n);
    for (char *c = out; *c; c++) {
        if (orgs_text_is_ctl((unsigned char)*c)) {
            *c = ' ';
        }
    }
    return out;
}

/* v as exported: itself when it needs no change (the store refuses
 * control characters in what it keeps), else a fixed copy. */
static const char *view_value(const char *v, apr_pool_t *p)
{
    apr_size_t n = 0;
    while (v[n] && !orgs_text_is_ctl((unsigned char)v[n])) {
        n++;
    }
    return (n <= ORGS_EXPORT_VALUE_MAX && v[n] == '\0')
               ? v
               : orgs_export_value(v, ORGS_EXPORT_VALUE_MAX, p);
}

/* prefix + suffix in p, '_' in the suffix as '-' when dashes is set. */
static const char *view_name(const char *prefix, const char *suffix, int dashes, apr_pool_t *p)
{
    char *s = apr_pstrcat(p, prefix, suffix, NULL);
    for (char *c = s + strlen(prefix); dashes && *c; c++) {
        *c = *c == '_' ? '-' : *c;
    }
    return s;
}

static void view_push(apr_table_t *env, apr_table_t *hdr, const char *ename, const char *hname,
                      const char *value, apr_pool_t *p)
{
    if (value) {
        value = view_value(value, p);
        apr_table_addn(env, ename, value);
        apr_table_addn(hdr, hname, value);
    }
}

void orgs_export_view_prepare(orgs_session_view_t *v, apr_pool_t *p)
{
    const apr_array_header_t *roles = v->member.roles, *meta = v->org.meta;
    const apr_array_header_t *ex = v->session.exports;
    int n = 6 + (meta ? meta->nelts : 0) + (ex ? ex->nelts : 0);
    apr_table_t *env = apr_table_make(p, n), *hdr = apr_table_make(p, n);

    view_push(env, hdr, "ORG_ID", "X-Org-Id", v->org.id, p);
    view_push(env, hdr, "ORG_NAME", "X-Org-Name", v->org.name, p);
    view_push(env, hdr, "ORG_DISPLAY_NAME", "X-Org-Display-Name", v->org.display_name, p);
    view_push(env, hdr, "ORG_CONNECTION", "X-Org-Connection", v->conn_name, p);
    view_push(env, hdr, "ORG_USER_ID", "X-Org-User-Id", v->user.id, p);
    view_push(env, hdr, "ORG_ROLES", "X-Org-Roles",
              roles && roles->nelts ? apr_array_pstrcat(p, roles, ',') : "", p);
    for (int i = 0; meta && i < meta->nelts; i++) {
        const orgs_kv_t *kv = &APR_ARRAY_IDX(meta, i, orgs_kv_t);
        view_push(env, hdr, view_name("ORG_META_", kv->key, 0, p),
                  view_name("X-Org-Meta-", kv->key, 1, p), kv->value, p);
    }
    /* prepared at sign-in (orgs_export_claims): as they are */
    for (int i = 0; ex && i < ex->nelts; i++) {
        const orgs_export_t *e = &APR_ARRAY_IDX(ex, i, orgs_export_t);
        apr_table_addn(env, e->env, e->value);
        apr_table_addn(hdr, e->header, e->value);
    }
    v->ready_env = env;
    v->ready_headers = hdr;
}

/* The claim's value as text, or NULL when it has none the app can use. */
static const char *claim_text(const json_t *val, apr_pool_t *p)
{
    if (json_is_string(val)) {
        const char *s = json_string_value(val);
        return strlen(s) == json_string_length(val) ? s : NULL; /* no NUL inside */
    }
    if (json_is_integer(val)) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(val));
    }
    if (json_is_boolean(val)) {
        return json_is_true(val) ? "true" : "false";
    }
    if (json_is_real(val)) {
        return apr_psprintf(p, "%.17g", json_real_value(val));
    }
    return NULL;
}

static int is_one_of(const char *s, const char *const *list, apr_size_t n)
{
    for (apr_size_t i = 0; i < n; i++) {
        if (strcmp(s, list[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static void push(apr_array_header_t *out, const char *env, const char *header, const char *value)
{
    orgs_export_t *e = apr_array_push(out);
    e->env = env;
    e->header = header;
    e->value = value;
}

static apr_size_t export_size(const orgs_export_t *e)
{
    return strlen(e->env) + strlen(e->header) + strlen(e->value) + 3;
}

/* The candidates of claims: mapped, with the protocol claims, the
 * unusable values and the untrusted email claims left out. */
static apr_array_header_t *candidates(const json_t *claims, int email_trusted, apr_pool_t *p)
{
    static const char *const protocol[] = {"nonce", "at_hash", "c_hash", "sid", "auth_time"};
    static const char *const email[] = {"EMAIL", "EMAIL_VERIFIED"};
    apr_array_header_t *c = apr_array_make(p, 16, sizeof(cand_t));
    const char *key;
    json_t *val;

    json_object_foreach((json_t *)claims, key, val)
    {
        cand_t k = {key, NULL, NULL, NULL, 0};
        apr_size_t n = strlen(key);
        if (n == 0 || is_one_of(key, protocol, 5) || !(k.value = claim_text(val, p))) {
            continue;
        }
        n = n > ORGS_EXPORT_NAME_MAX ? ORGS_EXPORT_NAME_MAX : n;
        k.name = apr_pstrmemdup(p, key, n);
        k.folded = apr_pstrmemdup(p, key, n);
        for (apr_size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)k.name[i];
            if (!orgs_text_is_alnum(ch)) {
                k.name[i] = k.folded[i] = '_';
            } else if (orgs_text_is_lower(ch)) {
                k.folded[i] = (char)(ch - 'a' + 'A');
            }
        }
        if (!email_trusted && is_one_of(k.folded, email, 2)) {
            continue;
        }
        *(cand_t *)apr_array_push(c) = k;
    }
    /* names equal after mapping and case-folding: none of them goes */
    for (int i = 0; i < c->nelts; i++) {
        cand_t *a = &APR_ARRAY_IDX(c, i, cand_t);
        for (int j = i + 1; j < c->nelts; j++) {
            cand_t *b = &APR_ARRAY_IDX(c, j, cand_t);
            if (strcmp(a->folded, b->folded) == 0) {
                a->dropped = b->dropped = 1;
            }
        }
    }
    return c;
}

apr_array_header_t *orgs_export_claims(const json_t *claims, const char *trusted_email,
                                       apr_pool_t *p)
{
    static const char *const identity[] = {"sub", "iss", "name", "email", "email_verified"};
    apr_array_header_t *out = apr_array_make(p, 16, sizeof(orgs_export_t));
    apr_array_header_t *c;
    apr_size_t total = 0;

    if (trusted_email) {
        push(out, ORGS_EXPORT_EMAIL_ENV, ORGS_EXPORT_EMAIL_HEADER,
             orgs_export_value(trusted_email, ORGS_EXPORT_VALUE_MAX, p));
        total += export_size(&APR_ARRAY_IDX(out, 0, orgs_export_t));
    }
    if (!json_is_object(claims)) {
        return out;
    }
    c = candidates(claims, trusted_email != NULL, p);
    for (int pass = 0; pass < 2; pass++) {
        int first = out->nelts;
        apr_size_t sum = total;
        for (int i = 0; i < c->nelts; i++) {
            const cand_t *k = &APR_ARRAY_IDX(c, i, cand_t);
            if (k->dropped || (pass == 1 && !is_one_of(k->key, identity, 5))) {
                continue;
            }
            char *header = apr_pstrcat(p, HEADER_PREFIX, k->name, NULL);
            for (char *h = header + sizeof(HEADER_PREFIX) - 1; *h; h++) {
                *h = *h == '_' ? '-' : *h;
            }
            push(out, apr_pstrcat(p, ENV_PREFIX, k->name, NULL), header,
                 orgs_export_value(k->value, ORGS_EXPORT_VALUE_MAX, p));
            sum += export_size(&APR_ARRAY_IDX(out, out->nelts - 1, orgs_export_t));
        }
        if (sum <= ORGS_EXPORT_TOTAL_MAX) {
            break;
        }
        /* too much: start again with what identifies the user only */
        out->nelts = first;
    }
    return out;
}
