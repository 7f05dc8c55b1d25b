/* Unit tests for src/core/store/invite.c: invitations. */
#include "fixture.h"

START_TEST(invites)
{
    orgs_store_t *st = open_store();
    orgs_invite_t inv = {0};
    apr_array_header_t *list;
    apr_time_t now = apr_time_now();
    const char *o = mk_org(st, "org1", NULL);
    inv.org_id = "org1";
    inv.email = "new@Example.com";
    inv.roles = strs(1, "admin");
    inv.expires = now + apr_time_from_sec(86400);
    ck_assert_int_eq(orgs_store_invite_create(st, &inv, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(strncmp(inv.id, "inv_", 4), 0);
    ck_assert_int_eq(orgs_store_invite_list(st, o, &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(list, 0, orgs_invite_t *)->email, "new@example.com");
    ck_assert_str_eq(APR_ARRAY_IDX(list, 0, orgs_invite_t *)->org_id, o);
    assert_clean(st);
    ck_assert_int_eq(orgs_store_invite_revoke(st, inv.id, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_invite_revoke(st, inv.id, pool, &err), APR_NOTFOUND);
    inv.email = "bad";
    ck_assert_int_eq(orgs_store_invite_create(st, &inv, pool, &err), APR_EINVAL);
    inv.email = "a@example.com";
    inv.expires = 1;
    inv.created = 0;
    ck_assert_int_eq(orgs_store_invite_create(st, &inv, pool, &err), APR_EINVAL);
    inv.org_id = "nope";
    inv.expires = now + 100000000;
    ck_assert_int_eq(orgs_store_invite_create(st, &inv, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_invite_list(st, "org1", &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 0);
    assert_clean(st);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, invites);
}

int main(void)
{
    return fixture_run("store_invite", add_tests);
}
