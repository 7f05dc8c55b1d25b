/* Unit tests for src/core/store/stats.c: per-org, per-day counters, the
 * window kept, active members. */
#include "fixture.h"

#define DAY apr_time_from_sec(86400)

START_TEST(counts_per_day)
{
    orgs_store_t *st = open_store();
    orgs_org_stats_t *s;
    apr_time_t now = apr_time_now();
    const char *o = mk_org(st, "acme", NULL);
    const char *other = mk_org(st, "other", NULL);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(orgs_store_stats_count(st, o, ORGS_STATS_SIGNIN, now, pool, &err),
                         APR_SUCCESS);
    }
    ck_assert_int_eq(orgs_store_stats_count(st, o, ORGS_STATS_DENIAL, now, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_stats_count(st, o, ORGS_STATS_SIGNIN, now - 2 * DAY, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_stats_count(st, other, ORGS_STATS_DENIAL, now, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(
        orgs_store_stats_count(st, "org_AAAAAAAAAAAAAAAA", ORGS_STATS_SIGNIN, now, pool, &err),
        APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_stats_count(st, o, 7, now, pool, &err), APR_EINVAL);

    ck_assert_int_eq(orgs_store_org_stats(st, "acme", 7, now, &s, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(s->days->nelts, 7);
    ck_assert_int_eq(s->signins, 4);
    ck_assert_int_eq(s->denials, 1);
    const orgs_stats_day_t *today = &APR_ARRAY_IDX(s->days, 6, orgs_stats_day_t);
    ck_assert_int_eq(today->signins, 3);
    ck_assert_int_eq(today->denials, 1);
    ck_assert_int_eq(APR_ARRAY_IDX(s->days, 4, orgs_stats_day_t).signins, 1);
    ck_assert(today->day <= now && now - today->day < DAY);
    /* a one-day window leaves the older day out */
    ck_assert_int_eq(orgs_store_org_stats(st, "acme", 1, now, &s, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(s->signins, 3);
    ck_assert_int_eq(
        orgs_store_org_stats(st, "acme", ORGS_STORE_STATS_DAYS + 1, now, &s, pool, &err),
        APR_EINVAL);
    ck_assert_int_eq(orgs_store_org_stats(st, "nosuch", 7, now, &s, pool, &err), APR_NOTFOUND);
    /* the org's deletion takes its counters */
    ck_assert_int_eq(orgs_store_org_delete(st, "acme", pool, &err), APR_SUCCESS);
    assert_clean(st);
}
END_TEST

START_TEST(window_is_bounded)
{
    orgs_store_t *st = open_store();
    orgs_org_stats_t *s;
    apr_time_t now = apr_time_now();
    const char *o = mk_org(st, "acme", NULL);
    /* one count a day over more days than are kept */
    for (int d = ORGS_STORE_STATS_DAYS + 20; d >= 0; d--) {
        ck_assert_int_eq(
            orgs_store_stats_count(st, o, ORGS_STATS_SIGNIN, now - d * DAY, pool, &err),
            APR_SUCCESS);
    }
    ck_assert_int_eq(orgs_store_org_stats(st, "acme", ORGS_STORE_STATS_DAYS, now, &s, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(s->signins, ORGS_STORE_STATS_DAYS);
    /* tomorrow has nothing yet */
    ck_assert_int_eq(orgs_store_org_stats(st, "acme", 1, now + DAY, &s, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(s->signins, 0);
}
END_TEST

START_TEST(active_members)
{
    orgs_store_t *st = open_store();
    orgs_org_stats_t *s;
    apr_time_t now = apr_time_now();
    const char *o = mk_org(st, "acme", NULL);
    const char *c = mk_conn(st, "idp", NULL);
    const char *u1 = mk_user(st, "idp", "sub-1", "a@x.com"); /* signed in now */
    orgs_user_t *u2;
    ck_assert_int_eq(orgs_store_user_provision(st, "idp", "b@x.com", NULL, &u2, pool, &err),
                     APR_SUCCESS); /* never signed in */
    ck_assert_int_eq(orgs_store_member_add(st, o, u1, NULL, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(st, o, u2->id, NULL, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_stats(st, "acme", 30, now, &s, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(s->members, 2);
    ck_assert_int_eq(s->active_members, 1);
    /* a session used in the window counts too */
    put_session(st, "sid-2", o, u2->id, c, now);
    ck_assert_int_eq(orgs_store_org_stats(st, "acme", 30, now, &s, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(s->active_members, 2);
    assert_clean(st);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, counts_per_day);
    tcase_add_test(tc, window_is_bounded);
    tcase_add_test(tc, active_members);
}

int main(void)
{
    return fixture_run("store_stats", add_tests);
}
