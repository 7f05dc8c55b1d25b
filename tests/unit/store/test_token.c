/* Unit tests for src/core/store/token.c: admin API tokens. */
#include "fixture.h"

START_TEST(create_verify_revoke)
{
    orgs_store_t *st = open_store();
    orgs_token_t t = {0}, *got;
    const char *secret;
    apr_array_header_t *list;
    apr_time_t now = apr_time_now();

    t.name = "ci";
    ck_assert_int_eq(orgs_store_token_create(st, &t, &secret, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(strncmp(t.id, "tok_", 4), 0);
    ck_assert_int_eq(t.scopes->nelts, 2); /* none given: all */
    ck_assert_int_eq(strncmp(secret, t.id, strlen(t.id)), 0);
    ck_assert_int_eq(orgs_store_token_verify(st, secret, now, &got, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(got->id, t.id);
    ck_assert_str_eq(got->name, "ci");

    /* the right id with a wrong secret, a truncated one, garbage */
    char *forged = apr_pstrdup(pool, secret);
    forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(orgs_store_token_verify(st, forged, now, &got, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_token_verify(st, t.id, now, &got, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_token_verify(st, "x", now, &got, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_token_verify(st, NULL, now, &got, pool, &err), APR_NOTFOUND);

    ck_assert_int_eq(orgs_store_token_list(st, &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 1);
    ck_assert_int_eq(orgs_store_token_revoke(st, t.id, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_token_verify(st, secret, now, &got, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_token_revoke(st, t.id, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_token_revoke(st, "nope", pool, &err), APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

START_TEST(scopes_and_expiry)
{
    orgs_store_t *st = open_store();
    orgs_token_t t = {0}, *got;
    const char *secret;
    apr_time_t now = apr_time_now();

    t.scopes = strs(3, "write", "read", "write");
    t.expires = now + apr_time_from_sec(60);
    ck_assert_int_eq(orgs_store_token_create(st, &t, &secret, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(t.scopes->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(t.scopes, 0, const char *), "read");
    ck_assert_int_eq(orgs_store_token_verify(st, secret, now, &got, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(
        orgs_store_token_verify(st, secret, now + apr_time_from_sec(61), &got, pool, &err),
        ORGS_EEXPIRED);

    orgs_token_t bad = {0};
    bad.scopes = strs(1, "admin");
    ck_assert_int_eq(orgs_store_token_create(st, &bad, &secret, pool, &err), APR_EINVAL);
    orgs_token_t past = {0};
    past.expires = now - 1;
    ck_assert_int_eq(orgs_store_token_create(st, &past, &secret, pool, &err), APR_EINVAL);
    assert_clean(st);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, create_verify_revoke);
    tcase_add_test(tc, scopes_and_expiry);
}

int main(void)
{
    return fixture_run("store_token", add_tests);
}
