/* The binary codec: packed ids, byte order, the membership record (mrec)
 * and the session record (srec). Pure: no transaction, no LMDB; what it
 * reads may be arbitrary bytes (tests/fuzz/fuzz_store.c). */
#include <string.h>
#include <sys/uio.h>

#include <apr_strings.h>

#include "codec.h"
#include "text.h"

/* Digit value + 1 of a base62 character (orgs_text_base62_alphabet's
 * order), 0 for anything else. */
static inline unsigned b62_code(unsigned char c)
{
    return orgs_text_is_digit(c)   ? (unsigned)(c - '0') + 1
           : orgs_text_is_upper(c) ? (unsigned)(c - 'A') + 11
           : orgs_text_is_lower(c) ? (unsigned)(c - 'a') + 37
                                   : 0;
}

/* 1 and out filled if s is prefix + 16 base62 characters; else 0. */
int st_id_pack(const char *s, const char *prefix, unsigned char out[ID_BIN])
{
    if (!s || strnlen(s, ID_LEN + 1) != ID_LEN || memcmp(s, prefix, 4) != 0) {
        return 0;
    }
    const unsigned char *c = (const unsigned char *)s + 4;
    apr_uint64_t hi = 0, lo = 0;
    unsigned ok = 1;
    for (int i = 0; i < 8; i++) { /* no branch per character */
        unsigned ch = b62_code(c[i]), cl = b62_code(c[8 + i]);
        ok &= (ch != 0) & (cl != 0);
        hi = hi << 6 | ((ch - 1) & 63);
        lo = lo << 6 | ((cl - 1) & 63);
    }
    for (int b = 0; b < 6; b++) {
        out[b] = (unsigned char)(hi >> (40 - 8 * b));
        out[6 + b] = (unsigned char)(lo >> (40 - 8 * b));
    }
    return (int)ok;
}

/* The text id of a packed one; 0 if a 6-bit group is no base62 digit.
 * Without a branch per character: it runs a few times per request. */
int st_id_unpack(const unsigned char *in, const char *prefix, char out[ID_LEN + 1])
{
    unsigned bad = 0;
    memcpy(out, prefix, 4);
    for (int h = 0; h < 2; h++) {
        const unsigned char *b = in + 6 * h;
        apr_uint64_t v = (apr_uint64_t)b[0] << 40 | (apr_uint64_t)b[1] << 32 |
                         (apr_uint64_t)b[2] << 24 | (apr_uint64_t)b[3] << 16 |
                         (apr_uint64_t)b[4] << 8 | b[5];
        for (int i = 7; i >= 0; i--, v >>= 6) {
            unsigned d = (unsigned)(v & 63);
            bad |= d + 2; /* bit 6 set for 62 and 63 only */
            out[4 + 8 * h + i] = orgs_text_base62_alphabet[d > 61 ? 0 : d];
        }
    }
    out[ID_LEN] = '\0';
    return !(bad & 64);
}

void st_put_u64le(unsigned char *b, apr_uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(v >> (8 * i));
    }
}

/* Several per request: one load where the byte order allows. */
apr_uint64_t st_get_u64le(const unsigned char *b)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    apr_uint64_t v;
    memcpy(&v, b, 8);
    return v;
#else
    apr_uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | b[i];
    }
    return v;
#endif
}

void st_put_u64be(unsigned char *b, apr_uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        b[7 - i] = (unsigned char)(v >> (8 * i));
    }
}

apr_uint64_t st_get_u64be(const unsigned char *b)
{
    apr_uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | b[i];
    }
    return v;
}

int st_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int st_cmp_kv(const void *a, const void *b)
{
    return strcmp(((const orgs_kv_t *)a)->key, ((const orgs_kv_t *)b)->key);
}

int st_array_has(const apr_array_header_t *a, const char *s)
{
    for (int i = 0; a && i < a->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(a, i, const char *), s) == 0) {
            return 1;
        }
    }
    return 0;
}

/* n (4 or 8) bytes, big-endian. */
static inline apr_uint64_t load_be(const unsigned char *b, int n)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n == 8) {
        apr_uint64_t v;
        memcpy(&v, b, 8);
        return __builtin_bswap64(v);
    }
    apr_uint32_t w;
    memcpy(&w, b, 4);
    return __builtin_bswap32(w);
#else
    apr_uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        v = v << 8 | b[i];
    }
    return v;
#endif
}

const char *st_id_str(const unsigned char *in, const char *prefix, apr_pool_t *p)
{
    char *s = apr_palloc(p, ID_LEN + 1);
    return st_id_unpack(in, prefix, s) ? s : NULL;
}

static apr_uint32_t get_u32le(const unsigned char *b)
{
    return (apr_uint32_t)b[0] | (apr_uint32_t)b[1] << 8 | (apr_uint32_t)b[2] << 16 |
           (apr_uint32_t)b[3] << 24;
}

static void put_u32le(unsigned char *b, apr_uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        b[i] = (unsigned char)(v >> (8 * i));
    }
}

/* An absent record (size 0) is an empty one. 0 if the header is corrupt. */
int st_mrec_open(const void *d, size_t size, mrec_t *r)
{
    r->d = d;
    r->size = size;
    r->n = 0;
    if (size == 0) {
        return 1;
    }
    if (size < 4) {
        return 0;
    }
    r->n = get_u32le(r->d);
    return r->n > 0 && r->n <= (size - 4) / MENT;
}

/* The packed org id of entry i. */
const unsigned char *st_mrec_org(const mrec_t *r, apr_uint32_t i)
{
    return r->d + 4 + (size_t)i * ID_BIN;
}

static const unsigned char *mrec_info(const mrec_t *r, apr_uint32_t i)
{
    return r->d + 4 + (size_t)r->n * ID_BIN + (size_t)i * MINFO;
}

/* 12-byte big-endian compare: memcmp's order, without the call. */
int st_cmp_bin(const unsigned char *a, const unsigned char *b)
{
    apr_uint64_t x = load_be(a, 8), y = load_be(b, 8);
    if (x == y) {
        x = load_be(a + 8, 4);
        y = load_be(b + 8, 4);
    }
    return (x > y) - (x < y);
}

/* Binary search: 1 and *pos = its index if org is there, else 0 and *pos =
 * where it would go. */
int st_mrec_search(const mrec_t *r, const unsigned char *org, apr_uint32_t *pos)
{
    apr_uint32_t lo = 0, hi = r->n;
    while (lo < hi) {
        apr_uint32_t mid = lo + (hi - lo) / 2;
        int c = st_cmp_bin(st_mrec_org(r, mid), org);
        if (c == 0) {
            *pos = mid;
            return 1;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *pos = lo;
    return 0;
}

/* Entry i, its roles bounds checked; 0 if corrupt. */
int st_mrec_entry(const mrec_t *r, apr_uint32_t i, ment_t *e)
{
    const unsigned char *info = mrec_info(r, i);
    size_t start = get_u32le(info + 8);
    size_t end = i + 1 < r->n ? get_u32le(info + MINFO + 8) : r->size;
    if (start < 4 + (size_t)r->n * MENT || start > end || end > r->size ||
        (end > start && r->d[end - 1] != '\0')) {
        return 0;
    }
    e->org = st_mrec_org(r, i);
    e->created = (apr_time_t)st_get_u64le(info);
    e->roles = (const char *)r->d + start;
    e->rlen = end - start;
    return 1;
}

void st_roles_encode(const apr_array_header_t *roles, ment_t *e, apr_pool_t *p)
{
    size_t n = 0;
    for (int i = 0; roles && i < roles->nelts; i++) {
        n += strlen(APR_ARRAY_IDX(roles, i, const char *)) + 1;
    }
    char *b = apr_palloc(p, n + 1);
    size_t off = 0;
    for (int i = 0; roles && i < roles->nelts; i++) {
        const char *role = APR_ARRAY_IDX(roles, i, const char *);
        size_t len = strlen(role) + 1;
        memcpy(b + off, role, len);
        off += len;
    }
    e->roles = b;
    e->rlen = n;
}

apr_array_header_t *st_roles_decode(const ment_t *e, apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    const char *copy = e->rlen ? apr_pmemdup(p, e->roles, e->rlen) : ""; /* NUL-ended */
    for (size_t off = 0; off < e->rlen; off += strlen(copy + off) + 1) {
        APR_ARRAY_PUSH(a, const char *) = copy + off;
    }
    return a;
}

/* The record with entry pos removed (del) and/or ins put at pos. An empty
 * result has size 0 (the caller deletes the key). */
apr_status_t st_mrec_splice(const mrec_t *r, apr_uint32_t pos, int del, const ment_t *ins,
                            st_bytes_t *out, apr_pool_t *p, orgs_err_t *err)
{
    apr_uint32_t n = r->n - (del ? 1 : 0) + (ins ? 1 : 0);
    ment_t *e = apr_palloc(p, sizeof(ment_t) * (n + 1));
    size_t size = 4 + (size_t)n * MENT;
    apr_uint32_t j = 0;
    for (apr_uint32_t i = 0; i <= r->n; i++) {
        if (i == pos && ins) {
            e[j++] = *ins;
        }
        if (i == r->n || (i == pos && del)) {
            continue;
        }
        if (!st_mrec_entry(r, i, &e[j++])) {
            return orgs_err_set(err, ORGS_ESTORE, "corrupt membership record");
        }
    }
    for (j = 0; j < n; j++) {
        size += e[j].rlen;
    }
    if (n == 0 || size > 0xffffffffu) {
        out->size = 0;
        out->data = NULL;
        return n == 0 ? APR_SUCCESS
                      : orgs_err_set(err, APR_ENOSPC, "too many memberships for one user");
    }
    unsigned char *b = apr_palloc(p, size);
    size_t off = 4 + (size_t)n * MENT;
    put_u32le(b, n);
    for (j = 0; j < n; j++) {
        unsigned char *info = b + 4 + (size_t)n * ID_BIN + (size_t)j * MINFO;
        memcpy(b + 4 + (size_t)j * ID_BIN, e[j].org, ID_BIN);
        st_put_u64le(info, (apr_uint64_t)e[j].created);
        put_u32le(info + 8, (apr_uint32_t)off);
        memcpy(b + off, e[j].roles, e[j].rlen);
        off += e[j].rlen;
    }
    out->data = b;
    out->size = size;
    return APR_SUCCESS;
}

int st_srec_open(const void *rec, size_t size, srec_t *r)
{
    const unsigned char *d = rec;
    if (size < SREC_FIXED || (d[0] != SREC_TAG && d[0] != SREC_TAG_V2 && d[0] != SREC_TAG_V1)) {
        return 0;
    }
    size_t n = d[SREC_NAME], at = SREC_FIXED + n;
    if (size < at) {
        return 0;
    }
    if (d[0] == SREC_TAG_V1) {
        /* format version 1: the claims JSON text before the pairs, skipped */
        if (size - at < 4) {
            return 0;
        }
        apr_uint32_t len = get_u32le(d + at);
        at += 4;
        len = len == SREC_NONE ? 0 : len;
        if (len > size - at || memchr(d + at, '\0', len)) {
            return 0;
        }
        at += len;
    }
    r->org = d + 1;
    r->user = d + 1 + ID_BIN;
    r->conn = d + 1 + 2 * ID_BIN;
    r->created = (apr_time_t)st_get_u64le(d + SREC_TIMES);
    r->last_seen = (apr_time_t)st_get_u64le(d + SREC_TIMES + 8);
    r->expires = (apr_time_t)st_get_u64le(d + SREC_TIMES + 16);
    r->conn_name = (const char *)d + SREC_FIXED;
    r->conn_name_len = n;
    r->exports = (const char *)d + at;
    r->exports_len = size - at;
    if (memchr(r->conn_name, '\0', n) != NULL ||
        (r->exports_len && r->exports[r->exports_len - 1] != '\0')) {
        return 0;
    }
    r->nexports = 0;
    if (d[0] != SREC_TAG) {
        r->exports_len = 0; /* old claim pairs: not exports */
        return 1;
    }
    size_t strings = 0;
    for (const char *c = r->exports, *end = c + r->exports_len; c < end; strings++) {
        c = (const char *)memchr(c, '\0', (size_t)(end - c)) + 1; /* the block ends with a NUL */
    }
    r->nexports = strings / 3;
    return strings % 3 == 0;
}

/* The record: the fixed part (ids packed at b + 1 by the caller), the
 * connection's name and the exports. */
static void srec_fill(unsigned char *b, apr_time_t created, apr_time_t last_seen,
                      apr_time_t expires, const char *name, size_t n)
{
    b[0] = SREC_TAG;
    st_put_u64le(b + SREC_TIMES, (apr_uint64_t)created);
    st_put_u64le(b + SREC_TIMES + 8, (apr_uint64_t)last_seen);
    st_put_u64le(b + SREC_TIMES + 16, (apr_uint64_t)expires);
    b[SREC_NAME] = (unsigned char)n;
    /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): length in b[SREC_NAME], no NUL */
    memcpy(b + SREC_FIXED, name, n);
}

apr_status_t st_srec_encode(const orgs_session_t *s, const char *conn_name, st_bytes_t *out,
                            apr_pool_t *p, orgs_err_t *err)
{
    size_t n = strlen(conn_name), el = 0;
    const apr_array_header_t *ex = s->exports;
    for (int i = 0; ex && i < ex->nelts; i++) {
        const orgs_export_t *e = &APR_ARRAY_IDX(ex, i, orgs_export_t);
        if (!e->env || !e->header || !e->value || !*e->env || !*e->header) {
            return orgs_err_set(err, APR_EINVAL, "session: an export without a name or value");
        }
        el += strlen(e->env) + strlen(e->header) + strlen(e->value) + 3;
    }
    unsigned char *b = apr_palloc(p, SREC_FIXED + n + el);
    if (n > 255 || !st_id_pack(s->org_id, "org_", b + 1) ||
        !st_id_pack(s->user_id, "usr_", b + 1 + ID_BIN) ||
        !st_id_pack(s->conn_id, "con_", b + 1 + 2 * ID_BIN)) {
        return orgs_err_set(err, APR_EINVAL, "session: bad ids");
    }
    srec_fill(b, s->created, s->last_seen, s->expires, conn_name, n);
    unsigned char *at = b + SREC_FIXED + n;
    for (int i = 0; ex && i < ex->nelts; i++) {
        const orgs_export_t *e = &APR_ARRAY_IDX(ex, i, orgs_export_t);
        const char *parts[] = {e->env, e->header, e->value};
        for (int k = 0; k < 3; k++) {
            size_t l = strlen(parts[k]) + 1;
            memcpy(at, parts[k], l);
            at += l;
        }
    }
    out->data = b;
    out->size = SREC_FIXED + n + el;
    return APR_SUCCESS;
}

/* The array made to size and filled in place (st_srec_open counted the
 * triples and checked that the block ends with a NUL). */
apr_array_header_t *st_srec_exports(const srec_t *r, apr_pool_t *p)
{
    int n = (int)r->nexports;
    apr_array_header_t *a = apr_array_make(p, n ? n : 1, sizeof(orgs_export_t));
    char *c = n ? apr_pmemdup(p, r->exports, r->exports_len) : NULL;
    orgs_export_t *e = (orgs_export_t *)a->elts;
    for (int i = 0; i < n; i++, e++) {
        e->env = c;
        c += strlen(c) + 1;
        e->header = c;
        c += strlen(c) + 1;
        e->value = c;
        c += strlen(c) + 1;
    }
    a->nelts = n;
    return a;
}

/* Fills s from r (text ids in p; exports and id_token_hint stay NULL).
 * 0 if an id is corrupt. */
int st_srec_session(const srec_t *r, orgs_session_t *s, apr_pool_t *p)
{
    memset(s, 0, sizeof(*s));
    s->org_id = st_id_str(r->org, "org_", p);
    s->user_id = st_id_str(r->user, "usr_", p);
    s->conn_id = st_id_str(r->conn, "con_", p);
    s->created = r->created;
    s->last_seen = r->last_seen;
    s->expires = r->expires;
    return s->org_id && s->user_id && s->conn_id;
}

/* Decodes a session record (v points into the map). */
apr_status_t st_srec_decode(const void *d, size_t size, orgs_session_t **out, apr_pool_t *p,
                            orgs_err_t *err)
{
    srec_t r;
    orgs_session_t *s = apr_palloc(p, sizeof(*s));
    if (!st_srec_open(d, size, &r) || !st_srec_session(&r, s, p)) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt session record");
    }
    *out = s;
    return APR_SUCCESS;
}
