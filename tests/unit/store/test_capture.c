/* Unit tests for src/core/store/capture.c: a sign-in run in capture mode
 * changes nothing and yields the change set (user, membership, sessions),
 * which another replica applies to the same session; the node's own
 * apply; a sign-out's change set; the session line as an SQL row. */
#include "orgs_build.h"

#include "fixture.h"
#include "json.h"
#include "pgstore.h"
#include "signin.h"

#define STATE "state-capture-0123456789"
#define TTL apr_time_from_sec(600)

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

static orgs_signin_t signin_of(const char *org, const char *conn, apr_time_t now,
                               const unsigned char *sid, const unsigned char *old)
{
    orgs_signin_t in = {0};
    in.state = STATE;
    in.org_id = org;
    in.conn_id = conn;
    in.sub = "sub-1";
    in.email = "a@x.com";
    in.sid_hash = sid;
    in.old_sid_hash = old;
    in.session.exports = one_export("ORG_EMAIL", "X-Org-Email", "a@x.com");
    in.session.id_token_hint = "hint.token.x";
    in.session.created = in.session.last_seen = now;
    in.session.expires = now + apr_time_from_sec(3600);
    in.now = now;
    return in;
}

static apr_status_t view_of(orgs_store_t *st, const unsigned char *h, orgs_session_view_t **v)
{
    return orgs_store_session_view(st, h, apr_time_now(), 0, v, pool, &err);
}

/* Whether the change set puts (del 0) or deletes (1) a line of type. */
static int has_line(const char *change, int del, const char *type)
{
    json_t *set = json_loads(change, 0, NULL), *list;
    size_t i;
    int found = 0;
    ck_assert_ptr_nonnull(set);
    json_array_foreach(json_object_get(set, del ? "del" : "put"), i, list)
    {
        found |= strcmp(json_string_value(json_object_get(list, "type")), type) == 0;
    }
    json_decref(set);
    return found;
}

/* The change set's "base" (-2: none). */
static long long base_of(const char *change)
{
    json_t *set = json_loads(change, 0, NULL);
    const json_t *b = json_object_get(set, "base");
    long long base = json_is_integer(b) ? (long long)json_integer_value(b) : -2;
    json_decref(set);
    return base;
}

START_TEST(signin_capture)
{
    orgs_store_t *a = open_store(), *b = open_in(testutil_tempdir(pool), keys);
    orgs_session_view_t *v;
    orgs_user_t *u;
    orgs_pending_t *pl;
    unsigned char sid[32], old[32], mac[32];
    apr_size_t objects;
    int admitted;
    char *change;
    apr_time_t now = apr_time_now();
    const char *org = mk_org(a, "acme", NULL), *conn = mk_conn(a, "idp", NULL);
    ck_assert_int_eq(orgs_store_org_enable_conn(a, org, conn, 1, pool, &err), APR_SUCCESS);
    /* b: a replica of a before the sign-in */
    FILE *fp = tmpfile();
    ck_assert_int_eq(orgs_store_export(a, fp, &objects, pool, &err), APR_SUCCESS);
    rewind(fp);
    ck_assert_int_eq(orgs_store_replica_rebuild(b, fp, 1, "db", &objects, pool, &err), APR_SUCCESS);
    fclose(fp);
    put_pending(a, org, conn, now);
    hash_of("new-sid", sid);
    hash_of("old-sid", old);

    orgs_signin_t in = signin_of(org, conn, now, sid, old);
    ck_assert_int_eq(orgs_store_signin_capture(a, &in, &u, &admitted, &change, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(admitted, ORGS_ADMIT_JOINED);
    ck_assert_ptr_nonnull(u);
    ck_assert_ptr_nonnull(change);
    ck_assert(has_line(change, 0, "user"));
    ck_assert(has_line(change, 0, "member"));
    ck_assert(has_line(change, 0, "session"));
    ck_assert(!has_line(change, 1, "session")); /* the old session was not there */
    /* rolled back: no user, no session, the pending login still there */
    ck_assert_int_eq(view_of(a, sid, &v), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_user_get(a, u->id, &u, pool, &err), APR_NOTFOUND);
    memset(mac, 1, sizeof(mac));
    ck_assert_int_eq(orgs_store_pending_get(a, STATE, mac, now, TTL, &pl, pool, &err), APR_SUCCESS);

    /* another replica takes the change set as the replicator would */
    ck_assert_int_eq(orgs_store_replica_apply(b, change, 2, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(view_of(b, sid, &v), APR_SUCCESS);
    ck_assert_str_eq(v->org.name, "acme");
    ck_assert_int_eq(v->session.exports->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(v->session.exports, 0, orgs_export_t).value, "a@x.com");
    const char *hint;
    ck_assert_int_eq(orgs_store_session_hint_get(b, sid, &hint, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(hint, "hint.token.x");

    /* the node's own apply; again is harmless (the replicator's turn) */
    ck_assert_int_eq(orgs_store_pending_delete(a, STATE, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_signin_local(a, &in, admitted, change, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_change_apply_local(a, change, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(view_of(a, sid, &v), APR_SUCCESS);
    ck_assert_str_eq(v->user.id, in.session.user_id);

    /* a sign-out's change set ends it on b; applied twice, still fine */
    const char *end = orgs_store_session_change_del(sid, pool);
    ck_assert_int_eq(orgs_store_replica_apply(b, end, 3, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_change_apply_local(b, end, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(view_of(b, sid, &v), APR_NOTFOUND);

    /* a session fetched from the database as of change 2 (its user,
     * membership and itself): b has applied change 3 (which ended it), so
     * the fetch is older than b and is not kept; as of change 3 it is */
    ck_assert_int_eq(orgs_store_fetch_apply(b, change, 2, pool, &err), APR_EAGAIN);
    ck_assert_int_eq(view_of(b, sid, &v), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_fetch_apply(b, change, 3, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(view_of(b, sid, &v), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_change_apply_local(b, end, pool, &err), APR_SUCCESS);

    /* a change set carries the position it was computed on: -1 on a store
     * that is no replica; on b the position the replicator reached, which
     * a local apply (the node's own write) does not move */
    ck_assert_int_eq(base_of(change), -1);
    {
        apr_int64_t seq;
        const char *cluster;
        char *onb;
        ck_assert_int_eq(orgs_store_change_apply_local(b, change, pool, &err), APR_SUCCESS);
        ck_assert_int_eq(orgs_store_replica_state(b, &seq, &cluster, pool, &err), APR_SUCCESS);
        ck_assert_int_eq(seq, 3);
        put_pending(b, org, conn, now);
        orgs_signin_t inb = signin_of(org, conn, now, old, NULL);
        ck_assert_int_eq(orgs_store_signin_capture(b, &inb, &u, &admitted, &onb, pool, &err),
                         APR_SUCCESS);
        ck_assert_ptr_nonnull(onb);
        ck_assert_int_eq(base_of(onb), 3);
        /* computed again once the pending login is consumed (before the
         * first write): the capture would find it gone, the recapture
         * does not look for it */
        ck_assert_int_eq(orgs_store_pending_delete(b, STATE, pool, &err), APR_SUCCESS);
        ck_assert_int_eq(orgs_store_signin_capture(b, &inb, &u, &admitted, &onb, pool, &err),
                         APR_NOTFOUND);
        ck_assert_int_eq(orgs_store_signin_recapture(b, &inb, &u, &admitted, &onb, pool, &err),
                         APR_SUCCESS);
        ck_assert_ptr_nonnull(onb);
        ck_assert(has_line(onb, 0, "session"));
    }

    /* a second sign-in of the same browser ends the first session */
    put_pending(a, org, conn, now);
    unsigned char sid2[32];
    hash_of("sid-2", sid2);
    orgs_signin_t in2 = signin_of(org, conn, now, sid2, sid);
    ck_assert_int_eq(orgs_store_signin_capture(a, &in2, &u, &admitted, &change, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(admitted, ORGS_ADMIT_MEMBER);
    ck_assert(has_line(change, 1, "session"));
    ck_assert(has_line(change, 0, "session"));
    ck_assert(!has_line(change, 0, "member")); /* untouched */
    assert_clean(a);
    assert_clean(b);
    orgs_store_close(a);
    orgs_store_close(b);
}
END_TEST

/* A refused sign-in captures no session; a capture that fails (the
 * pending login gone) yields nothing. */
START_TEST(signin_refused)
{
    orgs_store_t *a = open_store();
    orgs_user_t *u;
    unsigned char sid[32];
    int admitted;
    char *change;
    apr_time_t now = apr_time_now();
    const char *org = mk_org(a, "acme", NULL), *conn = mk_conn(a, "idp", NULL);
    ck_assert_int_eq(orgs_store_org_enable_conn(a, org, conn, 0, pool, &err), APR_SUCCESS);
    hash_of("sid", sid);
    orgs_signin_t in = signin_of(org, conn, now, sid, NULL);
    ck_assert_int_eq(orgs_store_signin_capture(a, &in, &u, &admitted, &change, pool, &err),
                     APR_NOTFOUND);
    ck_assert_ptr_null(change);
    put_pending(a, org, conn, now);
    ck_assert_int_eq(orgs_store_signin_capture(a, &in, &u, &admitted, &change, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(admitted, ORGS_ADMIT_DENIED);
    ck_assert(has_line(change, 0, "user"));
    ck_assert(!has_line(change, 0, "session"));
    orgs_store_close(a);
}
END_TEST

START_TEST(session_row)
{
    orgs_pg_row_t row;
    unsigned char h[32];
    hash_of("x", h);
    json_t *j = json_loads(orgs_store_session_change_del(h, pool), 0, NULL);
    json_t *del = json_array_get(json_object_get(j, "del"), 0);
    ck_assert_int_eq(orgs_pg_row_of(del, &row, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(row.table, "sessions");
    ck_assert_str_eq(row.vals[0], orgs_store_session_hex(h, pool));
    ck_assert_str_eq(orgs_pg_sql_delete(&row, pool), "DELETE FROM sessions WHERE sid_hash = $1");
    ck_assert_int_gt(orgs_change_type_rank("session"), orgs_change_type_rank("member"));
    json_decref(j);
    /* a line that is not one: refused by the replica */
    orgs_store_t *a = open_store();
    ck_assert_int_eq(orgs_store_change_apply_local(
                         a, "{\"del\":[{\"type\":\"session\",\"sid_hash\":\"zz\"}]}", pool, &err),
                     APR_EINVAL);
    orgs_store_close(a);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, signin_capture);
    tcase_add_test(tc, signin_refused);
    tcase_add_test(tc, session_row);
}

int main(void)
{
    return fixture_run("capture", add_tests);
}
