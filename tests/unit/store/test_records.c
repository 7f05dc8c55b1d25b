/* Unit tests for src/core/store/codec_json.c: the org and user records as stored: the fast reader
 * and jansson give the same record. */
#include "fixture.h"

/* Rewrites the JSON record of key in db (raw LMDB, store closed). */
static void raw_put(const char *db, const char *key, const char *json)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {strlen(key), (void *)key}, v = {strlen(json), (void *)json};
    ck_assert_int_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 64);
    ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
    ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* The organization and user records are read without jansson when they
 * have the usual shape; any other shape goes through jansson, and both
 * give the same values (or the same refusal). */
START_TEST(records_fast_and_full_decoding)
{
    orgs_store_t *st = open_store();
    orgs_org_t o = {0}, *got;
    orgs_user_t *u;
    int created;
    o.name = "org1";
    o.display_name = "\xc3\x89quipe \"A\" / \\ \xf0\x9f\x98\x80";
    o.meta = meta1("tier", "gold \"x\"");
    o.domains = strs(2, "b.example.com", "a.example.com");
    ck_assert_int_eq(orgs_store_org_create(st, &o, pool, &err), APR_SUCCESS);
    mk_conn(st, "okta", NULL);
    ck_assert_int_eq(orgs_store_user_login(st, "okta", "s\\1", "a@example.com", "Jos\xc3\xa9 \"Q\"",
                                           apr_time_now(), &u, &created, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_get(st, "org1", &got, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(got->display_name, o.display_name);
    ck_assert_int_eq(got->meta->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(got->meta, 0, orgs_kv_t).value, "gold \"x\"");
    ck_assert_int_eq(got->domains->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(got->domains, 0, const char *), "a.example.com");
    orgs_user_t *u2;
    ck_assert_int_eq(orgs_store_user_get(st, u->id, &u2, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(u2->sub, "s\\1");
    ck_assert_str_eq(u2->name, "Jos\xc3\xa9 \"Q\"");
    ck_assert(u2->created == u->created && u2->last_login == u->last_login);
    const char *org_id = apr_pstrdup(pool, got->id), *user_id = apr_pstrdup(pool, u->id);
    orgs_store_close(st);
    /* shapes the fast reader leaves to jansson: whitespace, \u escapes,
     * reals, null, repeated names */
    raw_put("orgs", org_id,
            apr_psprintf(pool,
                         "{ \"id\": \"%s\", \"name\": \"org1\", \"display_name\": \"\\u00c9q\","
                         " \"created\": 1.5, \"updated\": 7, \"x\": null, \"meta\": {\"k\":"
                         " \"v\"}, \"domains\": []}",
                         org_id));
    raw_put("users", user_id,
            apr_psprintf(pool,
                         "{\"id\":\"%s\",\"conn_id\":\"%s\",\"sub\":\"s\",\"name\":\"a\","
                         "\"name\":\"b\",\"created\":3}",
                         user_id, u->conn_id));
    st = open_store();
    ck_assert_int_eq(orgs_store_org_get(st, org_id, &got, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(got->display_name, "\xc3\x89q");
    ck_assert(got->created == 0 && got->updated == 7);
    ck_assert_str_eq(APR_ARRAY_IDX(got->meta, 0, orgs_kv_t).key, "k");
    ck_assert_int_eq(orgs_store_user_get(st, user_id, &u2, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(u2->name, "b");
    ck_assert(u2->created == 3 && u2->last_login == 0);
    orgs_store_close(st);
    /* the usual shape with odd values: the fast reader and jansson agree */
    raw_put("users", user_id,
            apr_psprintf(pool,
                         "{\"id\":\"%s\",\"conn_id\":\"%s\",\"sub\":\"s\\/\\b\\f\\n\\r\\t\","
                         "\"created\":-0,\"last_login\":123456789012345678,\"extra\":[\"z\"]}",
                         user_id, u->conn_id));
    st = open_store();
    ck_assert_int_eq(orgs_store_user_get(st, user_id, &u2, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(u2->sub, "s/\b\f\n\r\t");
    ck_assert_ptr_null(u2->name);
    ck_assert(u2->created == 0 && u2->last_login == 123456789012345678);
    orgs_store_close(st);
    /* refused alike: invalid UTF-8, an overlong form, a surrogate, a
     * control character, trailing bytes, a missing id */
    static const char *const bad[][2] = {
        {"id", ",\"sub\":\"\xff\"}"},         {"id", ",\"sub\":\"\xc0\xaf\"}"},
        {"id", ",\"sub\":\"\xed\xa0\x80\"}"}, {"id", ",\"sub\":\"\x01\"}"},
        {"id", ",\"sub\":\"s\"}x"},           {"idx", ",\"sub\":\"s\"}"},
        {"id", ",\"created\":01}"},           {"id", ",\"created\":99999999999999999999}"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        raw_put("users", user_id,
                apr_pstrcat(pool, "{\"", bad[i][0], "\":\"", user_id, "\",\"conn_id\":\"",
                            u->conn_id, "\"", bad[i][1], NULL));
        st = open_store();
        ck_assert_msg(orgs_store_user_get(st, user_id, &u2, pool, &err) == ORGS_ESTORE,
                      "bad record %zu accepted", i);
        orgs_store_close(st);
    }
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, records_fast_and_full_decoding);
}

int main(void)
{
    return fixture_run("store_records", add_tests);
}
