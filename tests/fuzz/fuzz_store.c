/* libFuzzer target: the store's record codec (src/core/store/codec.h), the
 * readers on the request path fed arbitrary bytes as if read from the map.
 * The codec is pure (no LMDB, no transaction), so the target links it with
 * the other core files. The first byte picks the record:
 *   0  a session record (any format): st_srec_open / st_srec_session /
 *      st_srec_exports; an accepted record in the current format whose
 *      exports all have names encodes (st_srec_encode) to the same bytes;
 *   1  an organization record: st_org_decode; an accepted record must
 *      re-encode (st_org_encode) to the same bytes; the request path's
 *      st_org_view (no UTF-8 checks) must stay inside the record and
 *      accept what st_org_decode accepts, with the same fields;
 *   2  a user record: st_user_decode and st_user_view, the same;
 *   3  a membership record: st_mrec_open / st_mrec_search / st_mrec_entry /
 *      st_roles_decode. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "../../src/core/store/codec.h"

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    return 0;
}

static void do_session(const unsigned char *d, size_t n, apr_pool_t *p)
{
    srec_t r;
    orgs_session_t s;
    if (!st_srec_open(d, n, &r)) {
        return;
    }
    const unsigned char *lo = d, *hi = lo + n;
    FUZZ_CHECK((const unsigned char *)r.conn_name + r.conn_name_len <= hi);
    FUZZ_CHECK(r.exports_len == 0 || ((const unsigned char *)r.exports >= lo &&
                                      (const unsigned char *)r.exports + r.exports_len == hi));
    FUZZ_CHECK(d[0] == SREC_TAG || r.exports_len == 0);
    apr_array_header_t *ex = st_srec_exports(&r, p);
    size_t total = 0;
    int named = 1;
    for (int i = 0; i < ex->nelts; i++) {
        const orgs_export_t *e = &APR_ARRAY_IDX(ex, i, orgs_export_t);
        total += strlen(e->env) + strlen(e->header) + strlen(e->value) + 3;
        named = named && *e->env && *e->header;
    }
    FUZZ_CHECK(total == r.exports_len);
    if (!st_srec_session(&r, &s, p)) {
        return;
    }
    FUZZ_CHECK(orgs_check_id(s.org_id, "org_") && orgs_check_id(s.user_id, "usr_") &&
               orgs_check_id(s.conn_id, "con_"));
    FUZZ_CHECK(!s.exports);
    if (d[0] == SREC_TAG && named) {
        st_bytes_t back;
        s.exports = ex;
        FUZZ_CHECK(st_srec_encode(&s, apr_pstrmemdup(p, r.conn_name, r.conn_name_len), &back, p,
                                  NULL) == APR_SUCCESS);
        FUZZ_CHECK(back.size == n && memcmp(back.data, d, n) == 0);
    }
}

static size_t str_room(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static int str_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The trusted reader: its strings fit in the record (each took its length
 * and bytes there); when the strict decoder accepted the record (o), the
 * same fields. */
static void do_org_view(const unsigned char *d, size_t n, const orgs_org_t *o, apr_pool_t *p)
{
    orgs_org_t v;
    orgs_err_t err;
    if (n == 0 || d[0] != REC_ORG_TAG) {
        return;
    }
    int ok = st_org_view(d, n, NULL, 0, &v, p, &err) == APR_SUCCESS;
    FUZZ_CHECK(ok || !o);
    if (!ok) {
        return;
    }
    size_t room = str_room(v.name) + str_room(v.display_name);
    for (int i = 0; i < v.meta->nelts; i++) {
        const orgs_kv_t *kv = &APR_ARRAY_IDX(v.meta, i, orgs_kv_t);
        room += str_room(kv->key) + str_room(kv->value);
    }
    for (int i = 0; i < v.domains->nelts; i++) {
        room += str_room(APR_ARRAY_IDX(v.domains, i, const char *));
    }
    FUZZ_CHECK(room <= n && orgs_check_id(v.id, "org_") && v.name);
    if (o) {
        FUZZ_CHECK(strcmp(v.id, o->id) == 0 && strcmp(v.name, o->name) == 0 &&
                   str_same(v.display_name, o->display_name) && v.created == o->created &&
                   v.updated == o->updated && v.meta->nelts == o->meta->nelts &&
                   v.domains->nelts == o->domains->nelts);
        for (int i = 0; i < v.meta->nelts; i++) {
            const orgs_kv_t *a = &APR_ARRAY_IDX(v.meta, i, orgs_kv_t);
            const orgs_kv_t *b = &APR_ARRAY_IDX(o->meta, i, orgs_kv_t);
            FUZZ_CHECK(strcmp(a->key, b->key) == 0 && strcmp(a->value, b->value) == 0);
        }
        for (int i = 0; i < v.domains->nelts; i++) {
            FUZZ_CHECK(strcmp(APR_ARRAY_IDX(v.domains, i, const char *),
                              APR_ARRAY_IDX(o->domains, i, const char *)) == 0);
        }
    }
}

static void do_user_view(const unsigned char *d, size_t n, const orgs_user_t *u, apr_pool_t *p)
{
    orgs_user_t v;
    orgs_err_t err;
    if (n == 0 || d[0] != REC_USER_TAG) {
        return;
    }
    int ok = st_user_view(d, n, NULL, 0, &v, p, &err) == APR_SUCCESS;
    FUZZ_CHECK(ok || !u);
    if (!ok) {
        return;
    }
    FUZZ_CHECK(str_room(v.sub) + str_room(v.email) + str_room(v.name) <= n &&
               orgs_check_id(v.id, "usr_") && orgs_check_id(v.conn_id, "con_"));
    if (u) {
        FUZZ_CHECK(strcmp(v.id, u->id) == 0 && strcmp(v.conn_id, u->conn_id) == 0 &&
                   str_same(v.sub, u->sub) && str_same(v.email, u->email) &&
                   str_same(v.name, u->name) && v.created == u->created &&
                   v.last_login == u->last_login);
    }
}

/* An accepted record is one the encoder writes: the same bytes back. */
static void do_org(const unsigned char *d, size_t n, apr_pool_t *p)
{
    orgs_org_t *o;
    st_bytes_t back;
    orgs_err_t err;
    if (st_org_decode(d, n, &o, p, &err) != APR_SUCCESS) {
        do_org_view(d, n, NULL, p);
        return;
    }
    do_org_view(d, n, o, p);
    FUZZ_CHECK(orgs_check_id(o->id, "org_") && o->name && o->meta && o->domains);
    FUZZ_CHECK(st_org_encode(o, &back, p, &err) == APR_SUCCESS);
    FUZZ_CHECK(back.size == n && memcmp(back.data, d, n) == 0);
}

static void do_user(const unsigned char *d, size_t n, apr_pool_t *p)
{
    orgs_user_t *u;
    st_bytes_t back;
    orgs_err_t err;
    if (st_user_decode(d, n, &u, p, &err) != APR_SUCCESS) {
        do_user_view(d, n, NULL, p);
        return;
    }
    do_user_view(d, n, u, p);
    FUZZ_CHECK(orgs_check_id(u->id, "usr_") && orgs_check_id(u->conn_id, "con_"));
    FUZZ_CHECK(st_user_encode(u, &back, p, &err) == APR_SUCCESS);
    FUZZ_CHECK(back.size == n && memcmp(back.data, d, n) == 0);
}

static void do_members(const unsigned char *d, size_t n, apr_pool_t *p)
{
    mrec_t r;
    ment_t e;
    apr_uint32_t pos;
    if (!st_mrec_open(d, n, &r)) {
        return;
    }
    FUZZ_CHECK(4 + (size_t)r.n * MENT <= n || r.n == 0);
    /* look up the first entry's org (the hot path's question) and a miss */
    static const unsigned char none[ID_BIN] = {0};
    (void)st_mrec_search(&r, none, &pos);
    FUZZ_CHECK(pos <= r.n);
    if (r.n > 0 && st_mrec_search(&r, st_mrec_org(&r, 0), &pos)) {
        FUZZ_CHECK(pos < r.n);
    }
    for (apr_uint32_t i = 0; i < r.n; i++) {
        if (!st_mrec_entry(&r, i, &e)) {
            continue;
        }
        FUZZ_CHECK((const unsigned char *)e.roles + e.rlen <= r.d + r.size);
        apr_array_header_t *roles = st_roles_decode(&e, p);
        size_t total = 0;
        for (int k = 0; k < roles->nelts; k++) {
            total += strlen(APR_ARRAY_IDX(roles, k, const char *)) + 1;
        }
        FUZZ_CHECK(total == e.rlen);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    if (size < 1) {
        return 0;
    }
    apr_pool_create(&p, fuzz_root);
    /* a copy of exactly the record's bytes, so ASan sees any overread */
    unsigned char *rec = malloc(size - 1 ? size - 1 : 1);
    memcpy(rec, data + 1, size - 1);
    switch (data[0] % 4) {
    case 0:
        do_session(rec, size - 1, p);
        break;
    case 1:
        do_org(rec, size - 1, p);
        break;
    case 2:
        do_user(rec, size - 1, p);
        break;
    default:
        do_members(rec, size - 1, p);
        break;
    }
    free(rec);
    apr_pool_destroy(p);
    return 0;
}
