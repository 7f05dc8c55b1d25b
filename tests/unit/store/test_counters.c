/* Unit tests for the cluster's counters on a node of a PostgreSQL store
 * (capture.c, counters.c, stats.c, quota.c): a sign-in captured carries
 * its usage and new-user increments for the database to count, not rows;
 * the counter lines the change log carries back are values, so applying
 * one twice (the node's own apply, then its replicator's) counts once and
 * an older one applied late lowers nothing; the replica's new-user count
 * is what its own check refuses against. */
#include "orgs_build.h"

#include "fixture.h"
#include "json.h"
#include "pgstore.h"
#include "signin.h"

#define STATE "state-counters-0123456789"
#define TTL apr_time_from_sec(600)
#define DAY_USEC (APR_USEC_PER_SEC * 86400)
/* A "new_users" counter line: connection, window start, count. */
#define LINE                                                                                       \
    "{\"counters\":[{\"type\":\"new_users\",\"connection_id\":\"%s\",\"window\":%" APR_INT64_T_FMT \
    ",\"count\":%d}]}"

static void put_pending(orgs_store_t *st, const char *org, const char *conn, apr_time_t now)
{
    orgs_pending_t pl = {0};
    pl.state = STATE;
    memset(pl.browser, 1, sizeof(pl.browser));
    pl.nonce = "nonce-1";
    pl.code_verifier = "verifier-1";
    pl.org_id = org;
    pl.conn_id = conn;
    pl.created = now;
    ck_assert_int_eq(orgs_store_pending_put(st, &pl, 0, TTL, pool, &err), APR_SUCCESS);
}

static orgs_signin_t signin_of(const char *org, const char *conn, const char *sub, apr_time_t now,
                               const unsigned char *sid, const orgs_store_quota_t *q)
{
    orgs_signin_t in = {0};
    in.state = STATE;
    in.org_id = org;
    in.conn_id = conn;
    in.sub = sub;
    in.email = "a@x.com";
    in.sid_hash = sid;
    in.session.exports = one_export("ORG_EMAIL", "X-Org-Email", "a@x.com");
    in.session.created = in.session.last_seen = now;
    in.session.expires = now + apr_time_from_sec(3600);
    in.now = now;
    in.quota = q;
    return in;
}

static apr_uint64_t signins_today(orgs_store_t *st, const char *org, apr_time_t now)
{
    orgs_org_stats_t *s;
    ck_assert_int_eq(orgs_store_org_stats(st, org, 1, now, &s, pool, &err), APR_SUCCESS);
    return s->signins;
}

START_TEST(capture_carries_increments)
{
    orgs_store_t *a = open_store();
    orgs_store_quota_t q = {0, 5, 0, 0};
    orgs_user_t *u;
    unsigned char sid[32];
    int admitted;
    char *change;
    apr_time_t now = apr_time_now();
    const char *org = mk_org(a, "acme", NULL), *conn = mk_conn(a, "idp", NULL);
    ck_assert_int_eq(orgs_store_org_enable_conn(a, org, conn, 1, pool, &err), APR_SUCCESS);
    put_pending(a, org, conn, now);
    hash_of("sid-1", sid);
    orgs_signin_t in = signin_of(org, conn, "sub-1", now, sid, &q);
    ck_assert_int_eq(orgs_store_signin_capture(a, &in, &u, &admitted, &change, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(admitted, ORGS_ADMIT_JOINED);
    json_t *set = json_loads(change, 0, NULL);
    const json_t *c = json_array_get(json_object_get(set, "count"), 0);
    ck_assert_int_eq(json_array_size(json_object_get(set, "count")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(c, "org_id")), org);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "day")), now / DAY_USEC);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "signins")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "joins")), 1);
    ck_assert_ptr_null(json_object_get(c, "denials"));
    const json_t *nu = json_object_get(set, "new_user");
    ck_assert_str_eq(json_string_value(json_object_get(nu, "connection_id")), conn);
    ck_assert_int_eq(json_integer_value(json_object_get(nu, "limit")), 5);
    ck_assert_int_eq(json_integer_value(json_object_get(nu, "at")), now);
    json_decref(set);
    /* rolled back: nothing counted on the node until the database counts */
    ck_assert_int_eq(signins_today(a, org, now), 0);
    /* an increment is not a counter line: a replica applying the captured
     * set as it is counts nothing */
    ck_assert_int_eq(orgs_store_change_apply_local(a, change, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(signins_today(a, org, now), 0);
    orgs_store_close(a);
}
END_TEST

START_TEST(counter_lines_are_values)
{
    orgs_store_t *a = open_store();
    apr_time_t now = apr_time_now();
    const char *org = mk_org(a, "acme", NULL);
    apr_int64_t day = now / DAY_USEC;
    const char *five = apr_psprintf(pool,
                                    "{\"put\":[],\"del\":[],\"counters\":[{\"type\":\"usage\","
                                    "\"org_id\":\"%s\",\"day\":%" APR_INT64_T_FMT
                                    ",\"signins\":5,\"denials\":1,\"joins\":2}]}",
                                    org, day);
    const char *three = apr_psprintf(pool,
                                     "{\"counters\":[{\"type\":\"usage\",\"org_id\":\"%s\","
                                     "\"day\":%" APR_INT64_T_FMT ",\"signins\":3}]}",
                                     org, day);
    /* the node's own apply, then its replicator's: 5, not 10 */
    ck_assert_int_eq(orgs_store_change_apply_local(a, five, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_replica_apply(a, five, 7, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(signins_today(a, org, now), 5);
    /* an older value applied late lowers nothing */
    ck_assert_int_eq(orgs_store_change_apply_local(a, three, pool, &err), APR_SUCCESS);
    orgs_org_stats_t *s;
    ck_assert_int_eq(orgs_store_org_stats(a, org, 1, now, &s, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(s->signins, 5);
    ck_assert_int_eq(s->denials, 1);
    ck_assert_int_eq(s->joins, 2);
    /* a bad line is refused (the replicator rebuilds) */
    ck_assert_int_eq(
        orgs_store_change_apply_local(
            a, "{\"counters\":[{\"type\":\"usage\",\"org_id\":\"x\",\"day\":1}]}", pool, &err),
        APR_EINVAL);
    /* the change set of one refusal counted alone: the day stats.c uses */
    const char *one = orgs_store_count_change(org, ORGS_STATS_DENIAL, now, pool);
    json_t *set = json_loads(one, 0, NULL);
    const json_t *c = json_array_get(json_object_get(set, "count"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "day")), day);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "denials")), 1);
    json_decref(set);
    ck_assert_ptr_null(orgs_store_count_change("nope", ORGS_STATS_DENIAL, now, pool));
    orgs_store_close(a);
}
END_TEST

START_TEST(new_users_line_is_the_check)
{
    orgs_store_t *a = open_store();
    orgs_store_quota_t q = {0, 3, 0, 0};
    orgs_user_t *u;
    unsigned char sid[32];
    int admitted;
    char *change;
    apr_time_t now = apr_time_now();
    const char *org = mk_org(a, "acme", NULL), *conn = mk_conn(a, "idp", NULL);
    ck_assert_int_eq(orgs_store_org_enable_conn(a, org, conn, 1, pool, &err), APR_SUCCESS);
    /* the cluster counted 2 in this minute: one more passes the node's check */
    ck_assert_int_eq(orgs_store_change_apply_local(
                         a, apr_psprintf(pool, LINE, conn, (apr_int64_t)now - 1000, 2), pool, &err),
                     APR_SUCCESS);
    put_pending(a, org, conn, now);
    hash_of("sid-1", sid);
    orgs_signin_t in = signin_of(org, conn, "sub-1", now, sid, &q);
    ck_assert_int_eq(orgs_store_signin_capture(a, &in, &u, &admitted, &change, pool, &err),
                     APR_SUCCESS);
    /* 3 now (a lower count of the same minute, applied late, is ignored) */
    ck_assert_int_eq(orgs_store_change_apply_local(
                         a, apr_psprintf(pool, LINE, conn, (apr_int64_t)now - 1000, 3), pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_change_apply_local(
                         a, apr_psprintf(pool, LINE, conn, (apr_int64_t)now - 1000, 1), pool, &err),
                     APR_SUCCESS);
    in = signin_of(org, conn, "sub-2", now, sid, &q);
    ck_assert_int_eq(orgs_store_signin_capture(a, &in, &u, &admitted, &change, pool, &err),
                     APR_ENOSPC);
    ck_assert_int_eq(in.over_quota, ORGS_QUOTA_NEW_USERS_PER_MIN);
    /* the next minute (a later window) admits again */
    ck_assert_int_eq(
        orgs_store_change_apply_local(
            a, apr_psprintf(pool, LINE, conn, (apr_int64_t)now + apr_time_from_sec(61), 1), pool,
            &err),
        APR_SUCCESS);
    in = signin_of(org, conn, "sub-2", now + apr_time_from_sec(62), sid, &q);
    ck_assert_int_eq(orgs_store_signin_capture(a, &in, &u, &admitted, &change, pool, &err),
                     APR_SUCCESS);
    orgs_store_close(a);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, capture_carries_increments);
    tcase_add_test(tc, counter_lines_are_values);
    tcase_add_test(tc, new_users_line_is_the_check);
}

int main(void)
{
    return fixture_run("counters", add_tests);
}
