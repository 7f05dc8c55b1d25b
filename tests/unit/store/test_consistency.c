/* Unit tests for src/core/store/consistency.c: the consistency checker: damage done behind the
 * store's back is found. */
#include "fixture.h"

START_TEST(check_finds_damage)
{
    orgs_store_t *st = open_store();
    apr_array_header_t *problems;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    mk_org(st, "org1", NULL);
    mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", NULL);
    ck_assert_int_eq(orgs_store_member_add(st, "org1", u, NULL, pool, &err), APR_SUCCESS);
    orgs_store_close(st);
    /* damage: drop the org -> members index and a name */
    ck_assert_int_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 64);
    ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "org_members", 0, &dbi), 0);
    ck_assert_int_eq(mdb_drop(txn, dbi, 0), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "org_names", 0, &dbi), 0);
    ck_assert_int_eq(mdb_drop(txn, dbi, 0), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    st = open_store();
    ck_assert_int_eq(orgs_store_check(st, &problems, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(problems->nelts, 2);
}
END_TEST

/* A corrupt membership record: lookups fail closed (ORGS_ESTORE, not "not
 * a member" and never a member), check names it and the index entries it
 * orphans. */
START_TEST(check_finds_record_damage)
{
    orgs_store_t *st = open_store();
    apr_array_header_t *problems;
    orgs_member_t *m;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    mk_org(st, "org1", NULL);
    mk_org(st, "org2", NULL);
    mk_conn(st, "okta", NULL);
    const char *users[2] = {mk_user(st, "okta", "s1", NULL), mk_user(st, "okta", "s2", NULL)};
    const char *orgs[2] = {"org1", "org2"};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(orgs_store_member_add(st, orgs[i % 2], users[i / 2], NULL, pool, &err),
                         APR_SUCCESS);
    }
    orgs_org_t *o1;
    ck_assert_int_eq(orgs_store_org_get(st, "org1", &o1, pool, &err), APR_SUCCESS);
    orgs_store_close(st);
    /* damage: a count larger than the record holds */
    ck_assert_int_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 64);
    ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "members", 0, &dbi), 0);
    ck_assert_int_eq(mdb_cursor_open(txn, dbi, &cur), 0);
    ck_assert_int_eq(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
    v.mv_data = "\x09\x00\x00\x00junk";
    v.mv_size = 8;
    ck_assert_int_eq(mdb_cursor_put(cur, &k, &v, MDB_CURRENT), 0);
    mdb_cursor_close(cur);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    st = open_store();
    int corrupt = 0, fine = 0;
    for (int i = 0; i < 2; i++) {
        apr_status_t rv = orgs_store_member_get(st, o1->id, users[i], &m, pool, &err);
        corrupt += rv == ORGS_ESTORE;
        fine += rv == APR_SUCCESS;
    }
    ck_assert_int_eq(corrupt, 1);
    ck_assert_int_eq(fine, 1);
    ck_assert_int_eq(orgs_store_check(st, &problems, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(problems->nelts, 3); /* the record, two orphaned index entries */
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, check_finds_damage);
    tcase_add_test(tc, check_finds_record_damage);
}

int main(void)
{
    return fixture_run("store_consistency", add_tests);
}
