/* The binary organization and user records: what the per-request read
 * decodes with a few loads and no parser. Pure: no transaction, no LMDB;
 * what it reads may be arbitrary bytes (tests/fuzz/fuzz_store.c). */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "codec.h"
#include "text.h"

/* ---- a bounds-checked writer and reader ------------------------------ */

typedef struct {
    unsigned char *b; /* NULL while sizing */
    size_t at;
} rw_t;

static void w_bytes(rw_t *w, const void *d, size_t n)
{
    if (w->b && n) {
        memcpy(w->b + w->at, d, n);
    }
    w->at += n;
}

static void w_u32(rw_t *w, apr_uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    w_bytes(w, b, 4);
}

static void w_time(rw_t *w, apr_time_t t)
{
    unsigned char b[8];
    st_put_u64le(b, (apr_uint64_t)t);
    w_bytes(w, b, 8);
}

/* A string: its length (4, LE; REC_NULL for NULL) and its bytes. */
static void w_str(rw_t *w, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    w_u32(w, s ? (apr_uint32_t)n : REC_NULL);
    w_bytes(w, s, n);
}

typedef struct {
    const unsigned char *d;
    size_t size, at;
    apr_pool_t *p;
    int ok;
    int trusted;                /* a record the store wrote: no UTF-8/NUL/order checks */
    char *arena;                /* the strings' copies, NUL-ended: at most size bytes */
    size_t used;                /* of arena */
    const st_id_known_t *known; /* ids the caller has as text already */
    int nknown;
} rd_t;

static const unsigned char *r_bytes(rd_t *r, size_t n)
{
    if (!r->ok || n > r->size - r->at) {
        r->ok = 0;
        return NULL;
    }
    r->at += n;
    return r->d + r->at - n;
}

static apr_uint32_t r_u32(rd_t *r)
{
    const unsigned char *b = r_bytes(r, 4);
    return b ? (apr_uint32_t)b[0] | (apr_uint32_t)b[1] << 8 | (apr_uint32_t)b[2] << 16 |
                   (apr_uint32_t)b[3] << 24
             : 0;
}

static apr_time_t r_time(rd_t *r)
{
    const unsigned char *b = r_bytes(r, 8);
    return b ? (apr_time_t)st_get_u64le(b) : 0;
}

/* A string copied into the record's arena: no NUL inside, valid UTF-8
 * (what the JSON records required; not checked again for a trusted
 * record); NULL for REC_NULL when optional, else corrupt. Every string
 * takes its 4-byte length plus its bytes in the record and its bytes plus
 * a NUL in the arena, so an arena of the record's size always has room. */
static const char *r_str(rd_t *r, int optional)
{
    apr_uint32_t n = r_u32(r);
    if (r->ok && n == REC_NULL) {
        r->ok = optional;
        return NULL;
    }
    const unsigned char *b = r_bytes(r, n);
    if (!b ||
        (!r->trusted && (memchr(b, '\0', n) || !orgs_text_utf8_valid((const char *)b, n, 0)))) {
        r->ok = 0;
        return NULL;
    }
    char *c = r->arena + r->used;
    memcpy(c, b, n);
    c[n] = '\0';
    r->used += (size_t)n + 1;
    return c;
}

/* A packed id as text: the caller's own copy when it has the same id. */
static const char *r_id(rd_t *r, const char *prefix)
{
    const unsigned char *b = r_bytes(r, ID_BIN);
    for (int i = 0; b && i < r->nknown; i++) {
        if (memcmp(b, r->known[i].bin, ID_BIN) == 0 && memcmp(r->known[i].text, prefix, 4) == 0) {
            return r->known[i].text;
        }
    }
    const char *id = b ? st_id_str(b, prefix, r->p) : NULL;
    r->ok = r->ok && id;
    return id;
}

/* The tag and version of a record of kind tag; 0 for another. */
static int r_head(rd_t *r, const void *d, size_t size, unsigned char tag, apr_pool_t *p)
{
    r->d = d;
    r->size = size;
    r->at = 0;
    r->p = p;
    r->ok = 1;
    r->trusted = 0;
    r->arena = apr_palloc(p, size ? size : 1);
    r->used = 0;
    r->known = NULL;
    r->nknown = 0;
    const unsigned char *h = r_bytes(r, 2);
    return h && h[0] == tag && h[1] == REC_VERSION;
}

/* A copy of the array a (elements of sz bytes) sorted by cmp, in p. */
static apr_array_header_t *sorted(const apr_array_header_t *a, int sz,
                                  int (*cmp)(const void *, const void *), apr_pool_t *p)
{
    apr_array_header_t *c = apr_array_make(p, a && a->nelts ? a->nelts : 1, sz);
    if (a && a->nelts) {
        apr_array_cat(c, a);
        qsort(c->elts, (size_t)c->nelts, (size_t)sz, cmp);
    }
    return c;
}

static int str_ok(const char *s)
{
    return !s || orgs_text_utf8_valid(s, strlen(s), 0);
}

/* The record in w: sized when w->b is NULL, written otherwise. */
static int org_write(rw_t *w, const orgs_org_t *o, const apr_array_header_t *meta,
                     const apr_array_header_t *domains)
{
    unsigned char head[2 + ID_BIN] = {REC_ORG_TAG, REC_VERSION};
    if (!st_id_pack(o->id, "org_", head + 2) || !o->name) {
        return 0;
    }
    w_bytes(w, head, sizeof(head));
    w_time(w, o->created);
    w_time(w, o->updated);
    w_str(w, o->name);
    w_str(w, o->display_name);
    w_u32(w, (apr_uint32_t)meta->nelts);
    for (int i = 0; i < meta->nelts; i++) {
        const orgs_kv_t *kv = &APR_ARRAY_IDX(meta, i, orgs_kv_t);
        w_str(w, kv->key);
        w_str(w, kv->value);
    }
    w_u32(w, (apr_uint32_t)domains->nelts);
    for (int i = 0; i < domains->nelts; i++) {
        w_str(w, APR_ARRAY_IDX(domains, i, const char *));
    }
    /* the branding, appended: a record without it ends here, as records
     * written before it existed do, and decodes with it absent */
    if (o->logo_url || o->color_primary || o->color_page_background) {
        w_str(w, o->logo_url);
        w_str(w, o->color_primary);
        w_str(w, o->color_page_background);
    }
    return 1;
}

apr_status_t st_org_encode(const orgs_org_t *o, st_bytes_t *out, apr_pool_t *p, orgs_err_t *err)
{
    apr_array_header_t *meta = sorted(o->meta, sizeof(orgs_kv_t), st_cmp_kv, p);
    apr_array_header_t *domains = sorted(o->domains, sizeof(const char *), st_cmp_str, p);
    int ok = str_ok(o->name) && str_ok(o->display_name) && str_ok(o->logo_url) &&
             str_ok(o->color_primary) && str_ok(o->color_page_background);
    for (int i = 0; ok && i < meta->nelts; i++) {
        const orgs_kv_t *kv = &APR_ARRAY_IDX(meta, i, orgs_kv_t);
        ok = kv->key && kv->value && str_ok(kv->key) && str_ok(kv->value) &&
             (i == 0 || strcmp(APR_ARRAY_IDX(meta, i - 1, orgs_kv_t).key, kv->key) < 0);
    }
    for (int i = 0; ok && i < domains->nelts; i++) {
        const char *d = APR_ARRAY_IDX(domains, i, const char *);
        ok = d && str_ok(d) &&
             (i == 0 || strcmp(APR_ARRAY_IDX(domains, i - 1, const char *), d) < 0);
    }
    rw_t w = {NULL, 0};
    if (!ok || !org_write(&w, o, meta, domains)) {
        return orgs_err_set(err, APR_EINVAL, "organization: cannot encode record (invalid UTF-8?)");
    }
    out->size = w.at;
    out->data = w.b = apr_palloc(p, w.at);
    w.at = 0;
    org_write(&w, o, meta, domains);
    return APR_SUCCESS;
}

/* Into o (zeroed by the caller); trusted, known: as in st_org_view. */
static int org_decode(const void *d, size_t size, orgs_org_t *o, int trusted,
                      const st_id_known_t *known, int nknown, apr_pool_t *p)
{
    rd_t r;
    int ok = r_head(&r, d, size, REC_ORG_TAG, p);
    r.trusted = trusted;
    r.known = known;
    r.nknown = nknown;
    o->id = r_id(&r, "org_");
    o->created = r_time(&r);
    o->updated = r_time(&r);
    o->name = r_str(&r, 0);
    o->display_name = r_str(&r, 1);
    apr_uint32_t n = r_u32(&r);
    /* each entry takes at least 8 bytes: a count cannot outrun the record */
    ok = ok && r.ok && n <= (size - r.at) / 8;
    o->meta = apr_array_make(p, ok && n ? (int)n : 1, sizeof(orgs_kv_t));
    for (apr_uint32_t i = 0; ok && i < n; i++) {
        orgs_kv_t *kv = apr_array_push(o->meta);
        kv->key = r_str(&r, 0);
        kv->value = r_str(&r, 0);
        ok = r.ok && (trusted || i == 0 || strcmp((kv - 1)->key, kv->key) < 0);
    }
    n = r_u32(&r);
    ok = ok && r.ok && n <= (size - r.at) / 4;
    o->domains = apr_array_make(p, ok && n ? (int)n : 1, sizeof(const char *));
    for (apr_uint32_t i = 0; ok && i < n; i++) {
        const char *dom = r_str(&r, 0);
        ok = r.ok &&
             (trusted || i == 0 || strcmp(APR_ARRAY_IDX(o->domains, i - 1, const char *), dom) < 0);
        APR_ARRAY_PUSH(o->domains, const char *) = dom;
    }
    if (ok && r.ok && r.at < size) {
        o->logo_url = r_str(&r, 1);
        o->color_primary = r_str(&r, 1);
        o->color_page_background = r_str(&r, 1);
    }
    return ok && r.ok && r.at == size;
}

apr_status_t st_org_decode(const void *d, size_t size, orgs_org_t **out, apr_pool_t *p,
                           orgs_err_t *err)
{
    orgs_org_t *o = apr_pcalloc(p, sizeof(*o));
    if (!org_decode(d, size, o, 0, NULL, 0, p)) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt organization record");
    }
    *out = o;
    return APR_SUCCESS;
}

static int user_write(rw_t *w, const orgs_user_t *u)
{
    unsigned char head[2 + 2 * ID_BIN] = {REC_USER_TAG, REC_VERSION};
    if (!st_id_pack(u->id, "usr_", head + 2) ||
        !st_id_pack(u->conn_id, "con_", head + 2 + ID_BIN)) {
        return 0;
    }
    w_bytes(w, head, sizeof(head));
    w_time(w, u->created);
    w_time(w, u->last_login);
    w_str(w, u->sub);
    w_str(w, u->email);
    w_str(w, u->name);
    return 1;
}

apr_status_t st_user_encode(const orgs_user_t *u, st_bytes_t *out, apr_pool_t *p, orgs_err_t *err)
{
    rw_t w = {NULL, 0};
    if (!str_ok(u->sub) || !str_ok(u->email) || !str_ok(u->name) || !user_write(&w, u)) {
        return orgs_err_set(err, APR_EINVAL, "user: cannot encode record (invalid UTF-8?)");
    }
    out->size = w.at;
    out->data = w.b = apr_palloc(p, w.at);
    w.at = 0;
    user_write(&w, u);
    return APR_SUCCESS;
}

static int user_decode(const void *d, size_t size, orgs_user_t *u, int trusted,
                       const st_id_known_t *known, int nknown, apr_pool_t *p)
{
    rd_t r;
    int ok = r_head(&r, d, size, REC_USER_TAG, p);
    r.trusted = trusted;
    r.known = known;
    r.nknown = nknown;
    u->id = r_id(&r, "usr_");
    u->conn_id = r_id(&r, "con_");
    u->created = r_time(&r);
    u->last_login = r_time(&r);
    u->sub = r_str(&r, 1);
    u->email = r_str(&r, 1);
    u->name = r_str(&r, 1);
    return ok && r.ok && r.at == size;
}

apr_status_t st_user_decode(const void *d, size_t size, orgs_user_t **out, apr_pool_t *p,
                            orgs_err_t *err)
{
    orgs_user_t *u = apr_pcalloc(p, sizeof(*u));
    if (!user_decode(d, size, u, 0, NULL, 0, p)) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt user record");
    }
    *out = u;
    return APR_SUCCESS;
}

/* A record of either format: binary by its tag, else the JSON of format
 * version 1 (read by the migration and by a read-only open of such a
 * store). */
apr_status_t st_org_read(const void *d, size_t size, orgs_org_t **out, apr_pool_t *p,
                         orgs_err_t *err)
{
    if (size > 0 && *(const unsigned char *)d == REC_ORG_TAG) {
        return st_org_decode(d, size, out, p, err);
    }
    json_t *j;
    apr_status_t rv = st_json_of(d, size, &j, err, "organization");
    if (rv == APR_SUCCESS) {
        rv = st_org_decode_json(j, out, p, err);
        json_decref(j);
    }
    return rv == APR_SUCCESS ? rv : orgs_err_set(err, ORGS_ESTORE, "corrupt organization record");
}

apr_status_t st_user_read(const void *d, size_t size, orgs_user_t **out, apr_pool_t *p,
                          orgs_err_t *err)
{
    if (size > 0 && *(const unsigned char *)d == REC_USER_TAG) {
        return st_user_decode(d, size, out, p, err);
    }
    json_t *j;
    apr_status_t rv = st_json_of(d, size, &j, err, "user");
    if (rv == APR_SUCCESS) {
        rv = st_user_decode_json(j, out, p, err);
        json_decref(j);
    }
    return rv == APR_SUCCESS ? rv : orgs_err_set(err, ORGS_ESTORE, "corrupt user record");
}

/* The request path's readers: a binary record decoded trusted, one of
 * format version 1 through the JSON reader. */
apr_status_t st_org_view(const void *d, size_t size, const st_id_known_t *known, int nknown,
                         orgs_org_t *out, apr_pool_t *p, orgs_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (size > 0 && *(const unsigned char *)d == REC_ORG_TAG) {
        return org_decode(d, size, out, 1, known, nknown, p)
                   ? APR_SUCCESS
                   : orgs_err_set(err, ORGS_ESTORE, "corrupt organization record");
    }
    orgs_org_t *o;
    apr_status_t rv = st_org_read(d, size, &o, p, err);
    if (rv == APR_SUCCESS && !orgs_check_id(o->id, "org_")) {
        rv = orgs_err_set(err, ORGS_ESTORE, "corrupt organization record");
    }
    if (rv == APR_SUCCESS) {
        *out = *o; /* the ids are base62 text in either format */
    }
    return rv;
}

apr_status_t st_user_view(const void *d, size_t size, const st_id_known_t *known, int nknown,
                          orgs_user_t *out, apr_pool_t *p, orgs_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (size > 0 && *(const unsigned char *)d == REC_USER_TAG) {
        return user_decode(d, size, out, 1, known, nknown, p)
                   ? APR_SUCCESS
                   : orgs_err_set(err, ORGS_ESTORE, "corrupt user record");
    }
    orgs_user_t *u;
    apr_status_t rv = st_user_read(d, size, &u, p, err);
    if (rv == APR_SUCCESS &&
        (!orgs_check_id(u->id, "usr_") || !orgs_check_id(u->conn_id, "con_"))) {
        rv = orgs_err_set(err, ORGS_ESTORE, "corrupt user record");
    }
    if (rv == APR_SUCCESS) {
        *out = *u;
    }
    return rv;
}
