/* libFuzzer target: the record readers of src/core/store/store.c on the request path,
 * fed arbitrary bytes as if read from the map. store.c is compiled into
 * this file (so its static readers are reachable without a test-only API);
 * the target is built without liborgs. The first byte picks the record:
 *   0  a session record: srec_open / srec_session / srec_claims; an
 *      accepted record must re-encode (srec_make) to the same bytes;
 *   1  an organization record: org_fast against jansson + org_parse;
 *   2  a user record: user_fast against jansson + user_parse;
 *   3  a membership record: mrec_open / mrec_find / mrec_get /
 *      roles_decode.
 * For 1 and 2 the check is differential: when the fast reader accepts,
 * jansson must accept too and give the same record field by field. */
#include "../../src/core/store/store.c"

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

static void do_session(const MDB_val *v, apr_pool_t *p)
{
    srec_t r;
    orgs_session_t s;
    if (!srec_open(v, &r)) {
        return;
    }
    const unsigned char *lo = v->mv_data, *hi = lo + v->mv_size;
    FUZZ_CHECK((const unsigned char *)r.conn_name + r.conn_name_len <= hi);
    FUZZ_CHECK(!r.claims || (const unsigned char *)r.claims + r.claims_len <= hi);
    FUZZ_CHECK((const unsigned char *)r.pairs >= lo &&
               (const unsigned char *)r.pairs + r.pairs_len == hi);
    apr_array_header_t *claims = srec_claims(&r, p);
    size_t total = 0;
    for (int i = 0; i < claims->nelts; i++) {
        const orgs_kv_t *kv = &APR_ARRAY_IDX(claims, i, orgs_kv_t);
        total += strlen(kv->key) + 1 + (*kv->value ? strlen(kv->value) + 1 : 0);
    }
    FUZZ_CHECK(total <= r.pairs_len);
    if (!srec_session(&r, &s, 1, p)) {
        return;
    }
    FUZZ_CHECK(is_id(s.org_id, "org_") && is_id(s.user_id, "usr_") && is_id(s.conn_id, "con_"));
    FUZZ_CHECK(!r.claims || strlen(s.claims_json) == r.claims_len);
    /* what was read is what srec_make writes, up to the derived pairs */
    MDB_val back;
    orgs_err_t err;
    const char *name = apr_pstrmemdup(p, r.conn_name, r.conn_name_len);
    FUZZ_CHECK(srec_make(&s, name, &back, p, &err) == APR_SUCCESS);
    size_t fixed = (size_t)((const unsigned char *)r.pairs - lo);
    FUZZ_CHECK(back.mv_size >= fixed && memcmp(back.mv_data, lo, fixed) == 0);
}

static void do_org(const MDB_val *v, apr_pool_t *p)
{
    orgs_org_t *f = NULL, *j = NULL;
    json_t *json;
    orgs_err_t err;
    if (!org_fast(v, &f, p)) {
        return;
    }
    FUZZ_CHECK(json_of(v, &json, &err, "organization") == APR_SUCCESS);
    apr_status_t rv = org_parse(json, &j, p, &err);
    json_decref(json);
    FUZZ_CHECK(rv == APR_SUCCESS);
    FUZZ_CHECK(str_eq(f->id, j->id) && str_eq(f->name, j->name));
    FUZZ_CHECK(str_eq(f->display_name, j->display_name));
    FUZZ_CHECK(f->created == j->created && f->updated == j->updated);
    FUZZ_CHECK(strs_eq(f->domains, j->domains));
    FUZZ_CHECK(kvs_eq(f->meta, j->meta));
}

static void do_user(const MDB_val *v, apr_pool_t *p)
{
    orgs_user_t *f = NULL, *j = NULL;
    json_t *json;
    orgs_err_t err;
    if (!user_fast(v, &f, p)) {
        return;
    }
    FUZZ_CHECK(json_of(v, &json, &err, "user") == APR_SUCCESS);
    apr_status_t rv = user_parse(json, &j, p, &err);
    json_decref(json);
    FUZZ_CHECK(rv == APR_SUCCESS);
    FUZZ_CHECK(str_eq(f->id, j->id) && str_eq(f->conn_id, j->conn_id));
    FUZZ_CHECK(str_eq(f->sub, j->sub) && str_eq(f->email, j->email) && str_eq(f->name, j->name));
    FUZZ_CHECK(f->created == j->created && f->last_login == j->last_login);
}

static void do_members(const MDB_val *v, apr_pool_t *p)
{
    mrec_t r;
    ment_t e;
    apr_uint32_t pos;
    if (!mrec_open(v->mv_data, v->mv_size, &r)) {
        return;
    }
    FUZZ_CHECK(4 + (size_t)r.n * MENT <= v->mv_size || r.n == 0);
    /* look up the first entry's org (the hot path's question) and a miss */
    static const unsigned char none[ID_BIN] = {0};
    (void)mrec_find(&r, none, &pos);
    FUZZ_CHECK(pos <= r.n);
    if (r.n > 0 && mrec_find(&r, mrec_ent(&r, 0), &pos)) {
        FUZZ_CHECK(pos < r.n);
    }
    for (apr_uint32_t i = 0; i < r.n; i++) {
        if (!mrec_get(&r, i, &e)) {
            continue;
        }
        FUZZ_CHECK((const unsigned char *)e.roles + e.rlen <= r.d + r.size);
        apr_array_header_t *roles = roles_decode(&e, p);
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
    MDB_val v = {size - 1, rec};
    switch (data[0] % 4) {
    case 0:
        do_session(&v, p);
        break;
    case 1:
        do_org(&v, p);
        break;
    case 2:
        do_user(&v, p);
        break;
    default:
        do_members(&v, p);
        break;
    }
    free(rec);
    apr_pool_destroy(p);
    return 0;
}
