/* Unit tests for src/core/store/user.c: users: sign-in upsert, lookups by sub and email,
 * provisioning, and the user cascade. */
#include "fixture.h"

START_TEST(user_login_flow)
{
    orgs_store_t *st = open_store();
    orgs_user_t *u, *again, *p1;
    apr_array_header_t *list;
    int created;
    const char *c = mk_conn(st, "okta", NULL);
    mk_conn(st, "other", NULL);
    ck_assert_int_eq(orgs_store_user_login(st, "okta", "sub-1", "Ann@Example.COM", "Ann", 1000, &u,
                                           &created, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(created, 1);
    ck_assert_str_eq(u->email, "Ann@example.com");
    ck_assert_str_eq(u->conn_id, c);
    ck_assert_int_eq(orgs_store_user_login(st, c, "sub-1", "ann2@example.com", NULL, 2000, &again,
                                           &created, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(created, 0);
    ck_assert_str_eq(again->id, u->id);
    ck_assert_str_eq(again->email, "ann2@example.com");
    ck_assert_str_eq(again->name, "Ann");
    ck_assert_int_eq(again->last_login, 2000);

    /* provisioned by email, then adopted by the first sign-in */
    ck_assert_int_eq(
        orgs_store_user_provision(st, "okta", "bob@example.com", NULL, &p1, pool, &err),
        APR_SUCCESS);
    ck_assert_ptr_null(p1->sub);
    ck_assert_int_eq(p1->last_login, 0);
    ck_assert_int_eq(orgs_store_user_provision(st, "okta", "bob@EXAMPLE.com", NULL, &u, pool, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(u->id, p1->id);
    ck_assert_int_eq(orgs_store_user_login(st, "okta", "sub-bob", "bob@example.com", "Bob", 3000,
                                           &u, &created, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(created, 0);
    ck_assert_str_eq(u->id, p1->id);
    ck_assert_int_eq(orgs_store_user_by_sub(st, "okta", "sub-bob", &u, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(u->id, p1->id);
    ck_assert_int_eq(orgs_store_user_by_email(st, "okta", "bob@Example.Com", &u, pool, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(u->id, p1->id);
    ck_assert_int_eq(orgs_store_user_get(st, p1->id, &u, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(u->sub, "sub-bob");

    /* same email on another connection is another user */
    mk_user(st, "other", "x", "bob@example.com");
    ck_assert_int_eq(orgs_store_user_list(st, "bob@example.com", &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 2);
    ck_assert_int_eq(orgs_store_user_list(st, NULL, &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 3);
    assert_clean(st);
}
END_TEST

START_TEST(user_neg)
{
    orgs_store_t *st = open_store();
    orgs_user_t *u;
    int created;
    mk_conn(st, "okta", NULL);
    ck_assert_int_eq(
        orgs_store_user_login(st, "okta", NULL, "a@example.com", NULL, 1, &u, &created, pool, &err),
        APR_EINVAL);
    ck_assert_int_eq(
        orgs_store_user_login(st, "okta", "s", "not-an-email", NULL, 1, &u, &created, pool, &err),
        APR_EINVAL);
    ck_assert_int_eq(
        orgs_store_user_login(st, "okta", "bad\nsub", NULL, NULL, 1, &u, &created, pool, &err),
        APR_EINVAL);
    ck_assert_int_eq(
        orgs_store_user_login(st, "nope", "s", NULL, NULL, 1, &u, &created, pool, &err),
        APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_user_provision(st, "okta", NULL, NULL, &u, pool, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_store_user_get(st, "usr_AAAAAAAAAAAAAAAA", &u, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_user_get(st, "junk", &u, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_user_by_sub(st, "okta", "none", &u, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_user_by_email(st, "okta", "x@example.com", &u, pool, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_user_delete(st, "usr_AAAAAAAAAAAAAAAA", pool, &err), APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

START_TEST(cascade_user_delete)
{
    orgs_store_t *st = open_store();
    apr_array_header_t *list;
    orgs_user_t *user;
    const char *o = mk_org(st, "org1", NULL);
    const char *c = mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", "a@example.com");
    ck_assert_int_eq(orgs_store_member_add(st, "org1", u, NULL, pool, &err), APR_SUCCESS);
    put_session(st, "sid-1", o, u, c, apr_time_now());
    ck_assert_int_eq(orgs_store_user_delete(st, u, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_list(st, "org1", &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 0);
    ck_assert_int_eq(orgs_store_user_by_email(st, "okta", "a@example.com", &user, pool, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_user_by_sub(st, "okta", "s1", &user, pool, &err), APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, user_login_flow);
    tcase_add_test(tc, user_neg);
    tcase_add_test(tc, cascade_user_delete);
}

int main(void)
{
    return fixture_run("store_user", add_tests);
}
