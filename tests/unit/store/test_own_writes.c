/* Unit tests for a node's own writes on its replica (capture.c,
 * replica.c): a sign-out, an admin change or a sign-in the database took
 * as the next change of the log moves the replica's position with it, in
 * the same transaction; further ahead it does not. And the admin API's
 * bound per org and minute (admin_rate.c). */
#include "orgs_build.h"

#include "fixture.h"
#include "pgstore.h"

static apr_int64_t position(orgs_store_t *st)
{
    apr_int64_t seq;
    const char *cluster;
    ck_assert_int_eq(orgs_store_replica_state(st, &seq, &cluster, pool, &err), APR_SUCCESS);
    return seq;
}

START_TEST(own_writes_follow)
{
    orgs_store_t *a = open_store(), *b = open_in(testutil_tempdir(pool), keys);
    orgs_session_view_t *v;
    apr_size_t objects;
    unsigned char sid[32];
    apr_time_t now = apr_time_now();
    const char *org = mk_org(a, "acme", NULL), *conn = mk_conn(a, "idp", NULL);
    const char *user = mk_user(a, conn, "sub-1", "a@x.com");
    ck_assert_int_eq(orgs_store_member_add(a, org, user, NULL, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_enable_conn(a, org, conn, 0, pool, &err), APR_SUCCESS);
    hash_of("sid-1", sid);
    /* b: a replica of a at change 1, with a session signed in there */
    FILE *fp = tmpfile();
    ck_assert_int_eq(orgs_store_export(a, fp, &objects, pool, &err), APR_SUCCESS);
    rewind(fp);
    ck_assert_int_eq(orgs_store_replica_rebuild(b, fp, 1, "db", &objects, pool, &err), APR_SUCCESS);
    fclose(fp);
    put_session(b, "sid-1", org, user, conn, now);
    ck_assert_int_eq(orgs_store_session_view(b, sid, now, 0, &v, pool, &err), APR_SUCCESS);

    /* the sign-out the database took as change 2: the next one */
    ck_assert_int_eq(orgs_store_session_end_at(b, sid, 2, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_session_view(b, sid, now, 0, &v, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(position(b), 2);
    /* ended again (gone already): the position still follows the next */
    ck_assert_int_eq(orgs_store_session_end_at(b, sid, 3, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(position(b), 3);
    /* change 5 while the replica is at 3: change 4 is not here yet */
    ck_assert_int_eq(orgs_store_session_end_at(b, sid, 5, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(position(b), 3);
    /* the replicator's change 4, then an admin change as change 5 */
    ck_assert_int_eq(orgs_store_replica_apply(b, "{\"put\":[],\"del\":[]}", 4, pool, &err),
                     APR_SUCCESS);
    /* a change set by key: ending the session again changes nothing */
    const char *put = orgs_store_session_change_del(sid, pool);
    ck_assert_int_eq(orgs_store_capture_apply_at(b, put, NULL, 5, 0, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(position(b), 5);
    /* a deletion's apply may use the reserve; still follows */
    ck_assert_int_eq(orgs_store_capture_apply_at(b, put, NULL, 6, 1, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(position(b), 6);
    /* the replicator's turn for those: skipped, the position kept */
    ck_assert_int_eq(orgs_store_replica_apply(b, put, 6, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(position(b), 6);
    /* no change (nothing written): nothing to follow */
    ck_assert_int_eq(orgs_store_capture_apply_at(b, NULL, NULL, 7, 0, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(position(b), 6);
    /* a store that is no replica (position -1) never gets one */
    ck_assert_int_eq(orgs_store_capture_apply_at(a, put, NULL, 1, 0, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(position(a), -1);
    assert_clean(b);
    orgs_store_close(a);
    orgs_store_close(b);
}
END_TEST

START_TEST(admin_rate)
{
    orgs_store_t *st = open_store();
    apr_interval_time_t retry;
    apr_time_t now = apr_time_now();
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(orgs_store_admin_rate_take(st, "org_x", 3, now + i, &retry, &err),
                         APR_SUCCESS);
        ck_assert_int_eq(retry, 0);
    }
    ck_assert_int_eq(
        orgs_store_admin_rate_take(st, "org_x", 3, now + apr_time_from_sec(10), &retry, &err),
        APR_ENOSPC);
    ck_assert_int_eq(retry, apr_time_from_sec(50));
    /* another org has its own minute; no bound counts nothing */
    ck_assert_int_eq(orgs_store_admin_rate_take(st, "org_y", 3, now, &retry, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_admin_rate_take(st, "org_x", 0, now, &retry, &err), APR_SUCCESS);
    /* the next minute starts again */
    ck_assert_int_eq(
        orgs_store_admin_rate_take(st, "org_x", 3, now + apr_time_from_sec(60), &retry, &err),
        APR_SUCCESS);
    ck_assert_int_eq(orgs_store_admin_rate_take(st, NULL, 3, now, &retry, &err), APR_EINVAL);
    orgs_store_close(st);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, own_writes_follow);
    tcase_add_test(tc, admin_rate);
}

int main(void)
{
    return fixture_run("own_writes", add_tests);
}
