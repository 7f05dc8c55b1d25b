/* Unit tests for the per-request readers of codec_rec.c (st_org_view,
 * st_user_view): the same fields as the strict decoders for every record
 * the encoder writes, the session's ids reused as text, every length and
 * bound still checked (a damaged file is refused, never read past), the
 * JSON records of format version 1 still read. */
#include "codec_fixture.h"
#include "store/codec.h"

START_TEST(views_read_what_the_decoders_read)
{
    orgs_org_t o = org_of(), *d, v;
    orgs_user_t u = user_of(), *ud, uv;
    st_bytes_t rec;
    ck_assert_int_eq(st_org_encode(&o, &rec, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(st_org_decode(rec.data, rec.size, &d, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(st_org_view(rec.data, rec.size, NULL, 0, &v, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(v.id, d->id);
    ck_assert_str_eq(v.name, d->name);
    ck_assert_str_eq(v.display_name, d->display_name);
    ck_assert_int_eq(v.created, 1);
    ck_assert_int_eq(v.updated, 2);
    ck_assert_int_eq(v.meta->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(v.meta, 0, orgs_kv_t).key, "license");
    ck_assert_str_eq(APR_ARRAY_IDX(v.meta, 0, orgs_kv_t).value, "premium");
    ck_assert_str_eq(APR_ARRAY_IDX(v.meta, 1, orgs_kv_t).key, "tier");
    ck_assert_str_eq(APR_ARRAY_IDX(v.meta, 1, orgs_kv_t).value, "");
    ck_assert_int_eq(v.domains->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(v.domains, 0, const char *), "a.example");
    ck_assert_str_eq(APR_ARRAY_IDX(v.domains, 1, const char *), "b.example");
    o.display_name = NULL;
    ck_assert_int_eq(st_org_encode(&o, &rec, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(st_org_view(rec.data, rec.size, NULL, 0, &v, pool, &err), APR_SUCCESS);
    ck_assert_ptr_null(v.display_name);

    ck_assert_int_eq(st_user_encode(&u, &rec, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(st_user_decode(rec.data, rec.size, &ud, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(st_user_view(rec.data, rec.size, NULL, 0, &uv, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(uv.id, USR_A);
    ck_assert_str_eq(uv.conn_id, CON_A);
    ck_assert_str_eq(uv.sub, "sub-1");
    ck_assert_str_eq(uv.email, "a@x.com");
    ck_assert_ptr_null(uv.name);
    ck_assert_int_eq(uv.created, 5);
    ck_assert_int_eq(uv.last_login, 6);
}
END_TEST

/* An id the caller knows is its very string; another id is unpacked. */
START_TEST(views_reuse_known_ids)
{
    orgs_org_t o = org_of(), v;
    orgs_user_t u = user_of(), uv;
    st_bytes_t rec;
    unsigned char org_a[ID_BIN], org_b[ID_BIN], usr_a[ID_BIN], con_a[ID_BIN], con_b[ID_BIN];
    ck_assert(st_id_pack(ORG_A, "org_", org_a) && st_id_pack(ORG_B, "org_", org_b));
    ck_assert(st_id_pack(USR_A, "usr_", usr_a) && st_id_pack(CON_A, "con_", con_a));
    ck_assert(st_id_pack(CON_B, "con_", con_b));
    const char *org_text = apr_pstrdup(pool, ORG_A), *usr_text = apr_pstrdup(pool, USR_A);
    const char *con_text = apr_pstrdup(pool, CON_A);

    ck_assert_int_eq(st_org_encode(&o, &rec, pool, &err), APR_SUCCESS);
    st_id_known_t k1[] = {{org_a, org_text}};
    ck_assert_int_eq(st_org_view(rec.data, rec.size, k1, 1, &v, pool, &err), APR_SUCCESS);
    ck_assert_ptr_eq(v.id, org_text);
    st_id_known_t k2[] = {{org_b, "org_0000000000000001"}};
    ck_assert_int_eq(st_org_view(rec.data, rec.size, k2, 1, &v, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(v.id, ORG_A);
    /* the same bytes under another prefix are not the same id */
    st_id_known_t k3[] = {{org_a, "usr_0000000000000000"}};
    ck_assert_int_eq(st_org_view(rec.data, rec.size, k3, 1, &v, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(v.id, ORG_A);

    ck_assert_int_eq(st_user_encode(&u, &rec, pool, &err), APR_SUCCESS);
    st_id_known_t k4[] = {{usr_a, usr_text}, {con_a, con_text}};
    ck_assert_int_eq(st_user_view(rec.data, rec.size, k4, 2, &uv, pool, &err), APR_SUCCESS);
    ck_assert_ptr_eq(uv.id, usr_text);
    ck_assert_ptr_eq(uv.conn_id, con_text);
    /* a user bound to another connection: its own id, not the known one
     * (session.c then looks the session's connection up) */
    st_id_known_t k5[] = {{usr_a, usr_text}, {con_b, CON_B}};
    ck_assert_int_eq(st_user_view(rec.data, rec.size, k5, 2, &uv, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(uv.conn_id, CON_A);
}
END_TEST

static unsigned char *patched(const st_bytes_t *rec, size_t at, unsigned char v)
{
    unsigned char *b = apr_pmemdup(pool, rec->data, rec->size);
    b[at] = v;
    return b;
}

/* What the strict decoders refuse for its bytes' sake, the views refuse
 * too; only the UTF-8 and order checks of strings are left out. */
START_TEST(views_check_every_bound)
{
    orgs_org_t o = org_of(), v;
    orgs_user_t u = user_of(), uv;
    st_bytes_t rec;
    ck_assert_int_eq(st_org_encode(&o, &rec, pool, &err), APR_SUCCESS);
    for (size_t n = 0; n < rec.size; n++) { /* every truncation */
        unsigned char *b = apr_pmemdup(pool, rec.data, n ? n : 1);
        ck_assert_int_eq(st_org_view(b, n, NULL, 0, &v, pool, &err), ORGS_ESTORE);
    }
    unsigned char *b = apr_palloc(pool, rec.size + 1);
    memcpy(b, rec.data, rec.size);
    b[rec.size] = 0; /* trailing byte */
    ck_assert_int_eq(st_org_view(b, rec.size + 1, NULL, 0, &v, pool, &err), ORGS_ESTORE);
    ck_assert_int_eq(
        st_org_view(patched(&rec, 1, REC_VERSION + 1), rec.size, NULL, 0, &v, pool, &err),
        ORGS_ESTORE);
    ck_assert_int_eq(st_org_view(patched(&rec, 2, 0xff), rec.size, NULL, 0, &v, pool, &err),
                     ORGS_ESTORE); /* a 6-bit group past 61 */
    size_t name = 2 + ID_BIN + 16;
    ck_assert_int_eq(st_org_view(patched(&rec, name + 3, 0x7f), rec.size, NULL, 0, &v, pool, &err),
                     ORGS_ESTORE); /* a length past the end */
    /* a meta count no record of this size can hold */
    size_t meta = name + 4 + strlen(o.name) + 4 + strlen(o.display_name);
    ck_assert_int_eq(st_org_view(patched(&rec, meta + 3, 0x10), rec.size, NULL, 0, &v, pool, &err),
                     ORGS_ESTORE);
    /* a byte that is not UTF-8: the strict decoder refuses, the view reads it */
    unsigned char *bad = patched(&rec, name + 4, 0xc3);
    orgs_org_t *d;
    ck_assert_int_eq(st_org_decode(bad, rec.size, &d, pool, &err), ORGS_ESTORE);
    ck_assert_int_eq(st_org_view(bad, rec.size, NULL, 0, &v, pool, &err), APR_SUCCESS);
    ck_assert_uint_eq(strlen(v.name), strlen(o.name));

    ck_assert_int_eq(st_user_encode(&u, &rec, pool, &err), APR_SUCCESS);
    for (size_t n = 0; n < rec.size; n++) {
        unsigned char *t = apr_pmemdup(pool, rec.data, n ? n : 1);
        ck_assert_int_eq(st_user_view(t, n, NULL, 0, &uv, pool, &err), ORGS_ESTORE);
    }
    ck_assert_int_eq(
        st_user_view(patched(&rec, 0, REC_ORG_TAG), rec.size, NULL, 0, &uv, pool, &err),
        ORGS_ESTORE);
    ck_assert_int_eq(
        st_user_view(patched(&rec, 2 + ID_BIN, 0xff), rec.size, NULL, 0, &uv, pool, &err),
        ORGS_ESTORE);
    ck_assert_int_eq(st_user_view("x", 1, NULL, 0, &uv, pool, &err), ORGS_ESTORE);
    ck_assert_int_eq(st_org_view("", 0, NULL, 0, &v, pool, &err), ORGS_ESTORE);
}
END_TEST

/* Format version 1 (a read-only open of an old store): the JSON records,
 * their ids checked, since the exports set them without a check. */
START_TEST(views_read_json_records)
{
    orgs_org_t v;
    orgs_user_t uv;
    const char *js = "{\"id\":\"" ORG_A "\",\"name\":\"acme\",\"created\":1,\"updated\":2,"
                     "\"meta\":{\"tier\":\"gold\"},\"domains\":[]}";
    ck_assert_int_eq(st_org_view(js, strlen(js), NULL, 0, &v, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(v.id, ORG_A);
    ck_assert_str_eq(APR_ARRAY_IDX(v.meta, 0, orgs_kv_t).value, "gold");
    js = "{\"id\":\"org_bad\\nid\",\"name\":\"acme\",\"created\":1,\"updated\":2}";
    ck_assert_int_eq(st_org_view(js, strlen(js), NULL, 0, &v, pool, &err), ORGS_ESTORE);
    js = "{\"id\":\"" USR_A "\",\"conn_id\":\"" CON_A "\",\"sub\":\"sub-1\",\"created\":5}";
    ck_assert_int_eq(st_user_view(js, strlen(js), NULL, 0, &uv, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(uv.sub, "sub-1");
    js = "{\"id\":\"" USR_A "\",\"conn_id\":\"con_x\",\"sub\":\"sub-1\",\"created\":5}";
    ck_assert_int_eq(st_user_view(js, strlen(js), NULL, 0, &uv, pool, &err), ORGS_ESTORE);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, views_read_what_the_decoders_read);
    tcase_add_test(tc, views_reuse_known_ids);
    tcase_add_test(tc, views_check_every_bound);
    tcase_add_test(tc, views_read_json_records);
}

int main(void)
{
    return fixture_run("store_codec_view", add_tests);
}
