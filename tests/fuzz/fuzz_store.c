/* libFuzzer target: the store's record codec (src/core/store/codec.h), the
 * readers on the request path fed arbitrary bytes as if read from the map.
 * The codec is pure (no LMDB, no transaction), so the target links it with
 * the other core files. The first byte picks the record:
 *   0  a session record: st_srec_open / st_srec_session / st_srec_claims;
 *      an accepted record must re-encode (st_srec_encode) to the same bytes;
 *   1  an organization record: st_org_decode_fast against jansson +
 *      st_org_decode;
 *   2  a user record: st_user_decode_fast against jansson + st_user_decode;
 *   3  a membership record: st_mrec_open / st_mrec_search / st_mrec_entry /
 *      st_roles_decode.
 * For 1 and 2 the check is differential: when the fast reader accepts,
 * jansson must accept too and give the same record field by field. */
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

static int str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int strs_eq(const apr_array_header_t *a, const apr_array_header_t *b)
{
    if (!a || !b || a->nelts != b->nelts) {
        return 0;
    }
    for (int i = 0; i < a->nelts; i++) {
        if (!str_eq(APR_ARRAY_IDX(a, i, const char *), APR_ARRAY_IDX(b, i, const char *))) {
            return 0;
        }
    }
    return 1;
}

static int kvs_eq(const apr_array_header_t *a, const apr_array_header_t *b)
{
    if (!a || !b || a->nelts != b->nelts) {
        return 0;
    }
    for (int i = 0; i < a->nelts; i++) {
        const orgs_kv_t *x = &APR_ARRAY_IDX(a, i, orgs_kv_t), *y = &APR_ARRAY_IDX(b, i, orgs_kv_t);
        if (!str_eq(x->key, y->key) || !str_eq(x->value, y->value)) {
            return 0;
        }
    }
    return 1;
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
    FUZZ_CHECK(!r.claims || (const unsigned char *)r.claims + r.claims_len <= hi);
    FUZZ_CHECK((const unsigned char *)r.pairs >= lo &&
               (const unsigned char *)r.pairs + r.pairs_len == hi);
    apr_array_header_t *claims = st_srec_claims(&r, p);
    size_t total = 0;
    for (int i = 0; i < claims->nelts; i++) {
        const orgs_kv_t *kv = &APR_ARRAY_IDX(claims, i, orgs_kv_t);
        total += strlen(kv->key) + 1 + (*kv->value ? strlen(kv->value) + 1 : 0);
    }
    FUZZ_CHECK(total <= r.pairs_len);
    if (!st_srec_session(&r, &s, 1, p)) {
        return;
    }
    FUZZ_CHECK(orgs_check_id(s.org_id, "org_") && orgs_check_id(s.user_id, "usr_") &&
               orgs_check_id(s.conn_id, "con_"));
    FUZZ_CHECK(!r.claims || strlen(s.claims_json) == r.claims_len);
    /* what was read is what st_srec_encode writes, up to the derived pairs */
    st_bytes_t back;
    orgs_err_t err;
    const char *name = apr_pstrmemdup(p, r.conn_name, r.conn_name_len);
    FUZZ_CHECK(st_srec_encode(&s, name, &back, p, &err) == APR_SUCCESS);
    size_t fixed = (size_t)((const unsigned char *)r.pairs - lo);
    FUZZ_CHECK(back.size >= fixed && memcmp(back.data, lo, fixed) == 0);
}

static void do_org(const unsigned char *d, size_t n, apr_pool_t *p)
{
    orgs_org_t *f = NULL, *j = NULL;
    json_t *json;
    orgs_err_t err;
    if (!st_org_decode_fast(d, n, &f, p)) {
        return;
    }
    FUZZ_CHECK(st_json_of(d, n, &json, &err, "organization") == APR_SUCCESS);
    apr_status_t rv = st_org_decode(json, &j, p, &err);
    json_decref(json);
    FUZZ_CHECK(rv == APR_SUCCESS);
    FUZZ_CHECK(str_eq(f->id, j->id) && str_eq(f->name, j->name));
    FUZZ_CHECK(str_eq(f->display_name, j->display_name));
    FUZZ_CHECK(f->created == j->created && f->updated == j->updated);
    FUZZ_CHECK(strs_eq(f->domains, j->domains));
    FUZZ_CHECK(kvs_eq(f->meta, j->meta));
}

static void do_user(const unsigned char *d, size_t n, apr_pool_t *p)
{
    orgs_user_t *f = NULL, *j = NULL;
    json_t *json;
    orgs_err_t err;
    if (!st_user_decode_fast(d, n, &f, p)) {
        return;
    }
    FUZZ_CHECK(st_json_of(d, n, &json, &err, "user") == APR_SUCCESS);
    apr_status_t rv = st_user_decode(json, &j, p, &err);
    json_decref(json);
    FUZZ_CHECK(rv == APR_SUCCESS);
    FUZZ_CHECK(str_eq(f->id, j->id) && str_eq(f->conn_id, j->conn_id));
    FUZZ_CHECK(str_eq(f->sub, j->sub) && str_eq(f->email, j->email) && str_eq(f->name, j->name));
    FUZZ_CHECK(f->created == j->created && f->last_login == j->last_login);
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
