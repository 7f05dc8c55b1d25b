/* Unit tests for src/core/store/invite_bound.c: an org's bound on open
 * invitations (its expired ones removed first) and the sweep of expired
 * invitations in batches. */
#include "fixture.h"

/* An invitation into org that expires at expires (created an hour before). */
static apr_status_t try_invite(orgs_store_t *st, const char *org, int n, apr_time_t expires)
{
    orgs_invite_t inv = {0};
    inv.org_id = org;
    inv.email = apr_psprintf(pool, "u%d@example.com", n);
    inv.created = expires - apr_time_from_sec(3600);
    inv.expires = expires;
    return orgs_store_invite_create(st, &inv, pool, &err);
}

static int count(orgs_store_t *st, const char *org)
{
    apr_array_header_t *list;
    ck_assert_int_eq(orgs_store_invite_list(st, org, &list, pool, &err), APR_SUCCESS);
    return list->nelts;
}

START_TEST(bounded_per_org)
{
    orgs_store_t *st = open_store();
    const char *a = mk_org(st, "a", NULL), *b = mk_org(st, "b", NULL);
    apr_time_t t = apr_time_now();
    apr_time_t live = t + apr_time_from_sec(86400), dead = t - apr_time_from_sec(60);
    orgs_store_invite_set_max_per_org(st, 3);
    ck_assert_int_eq(try_invite(st, a, 1, dead), APR_SUCCESS);
    ck_assert_int_eq(try_invite(st, a, 2, dead), APR_SUCCESS);
    ck_assert_int_eq(try_invite(st, a, 3, live), APR_SUCCESS);
    /* at the bound: the two expired ones go, in the same transaction */
    ck_assert_int_eq(try_invite(st, a, 4, live), APR_SUCCESS);
    ck_assert_int_eq(count(st, a), 2);
    ck_assert_int_eq(try_invite(st, a, 5, live), APR_SUCCESS);
    /* three open: refused, nothing written, the message names the directive */
    ck_assert_int_eq(try_invite(st, a, 6, live), APR_ENOSPC);
    ck_assert_ptr_nonnull(strstr(err.msg, "OrgsMaxInvitationsPerOrg"));
    ck_assert_int_eq(count(st, a), 3);
    /* another org is not held by it */
    ck_assert_int_eq(try_invite(st, b, 7, live), APR_SUCCESS);
    ck_assert_int_eq(count(st, b), 1);
    assert_clean(st);
    /* 0: no bound */
    orgs_store_invite_set_max_per_org(st, 0);
    ck_assert_int_eq(try_invite(st, a, 8, live), APR_SUCCESS);
    ck_assert_int_eq(count(st, a), 4);
    assert_clean(st);
}
END_TEST

START_TEST(default_bound)
{
    orgs_store_t *st = open_store();
    const char *a = mk_org(st, "a", NULL);
    apr_time_t live = apr_time_now() + apr_time_from_sec(86400);
    for (int i = 0; i < ORGS_STORE_INVITES_PER_ORG_DEFAULT; i++) {
        ck_assert_int_eq(try_invite(st, a, i, live), APR_SUCCESS);
    }
    ck_assert_int_eq(try_invite(st, a, -1, live), APR_ENOSPC);
    ck_assert_int_eq(count(st, a), ORGS_STORE_INVITES_PER_ORG_DEFAULT);
}
END_TEST

START_TEST(sweep_in_batches)
{
    orgs_store_t *st = open_store();
    const char *a = mk_org(st, "a", NULL), *b = mk_org(st, "b", NULL);
    apr_time_t t = apr_time_now();
    apr_time_t live = t + apr_time_from_sec(86400), dead = t - apr_time_from_sec(60);
    const char *next = NULL;
    apr_size_t removed = 0, total = 0;
    orgs_store_invite_set_max_per_org(st, 0);
    for (int i = 0; i < 1500; i++) {
        ck_assert_int_eq(try_invite(st, i % 2 ? a : b, i, i % 3 ? dead : live), APR_SUCCESS);
    }
    /* one batch reads at most 1000: the walk is not over */
    ck_assert_int_eq(orgs_store_invite_purge_some(st, t, 1, NULL, &next, &removed, pool, &err),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(next);
    ck_assert_uint_gt(removed, 0);
    ck_assert_uint_lt(removed, 1000);
    total = removed;
    ck_assert_int_eq(orgs_store_invite_purge_some(st, t, 0, next, &next, &removed, pool, &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(next);
    total += removed;
    ck_assert_uint_eq(total, 1000); /* i % 3 != 0 of 0..1499 */
    ck_assert_int_eq(count(st, a) + count(st, b), 500);
    /* a second walk finds nothing more */
    ck_assert_int_eq(orgs_store_invite_purge_some(st, t, 0, "", &next, &removed, pool, &err),
                     APR_SUCCESS);
    ck_assert_uint_eq(removed, 0);
    assert_clean(st);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, bounded_per_org);
    tcase_add_test(tc, default_bound);
    tcase_add_test(tc, sweep_in_batches);
}

int main(void)
{
    return fixture_run("store_invite_bound", add_tests);
}
