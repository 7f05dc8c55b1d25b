/* Unit tests for src/core/store/signin.c and the pending-login reads it
 * pairs with (orgs_store_pending_get / _delete): the callback's store
 * changes in one transaction, all or nothing. */
#include "fixture.h"
#include "signin.h"

#define STATE "state-signin-0123456789"
#define TTL apr_time_from_sec(600)

typedef struct {
    orgs_store_t *st;
    const char *org, *conn;
    apr_time_t now;
} world_t;

/* The pending login STATE from browser 1, for org and conn. */
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

/* An org, a connection (enabled when enable >= 0, with auto-membership
 * when enable > 0) and a pending login STATE from browser 1. */
static world_t world(orgs_store_t *st, int enable)
{
    world_t w = {st, NULL, NULL, apr_time_now()};
    w.org = mk_org(st, "acme", NULL);
    w.conn = mk_conn(st, "idp", NULL);
    if (enable >= 0) {
        ck_assert_int_eq(orgs_store_org_enable_conn(st, w.org, w.conn, enable, pool, &err),
                         APR_SUCCESS);
    }
    put_pending(st, w.org, w.conn, w.now);
    return w;
}

/* The callback's input for sub, with the new session "new-sid". */
static orgs_signin_t signin_of(const world_t *w, const char *sub, unsigned char sid[32])
{
    orgs_signin_t in = {0};
    in.state = STATE;
    in.org_id = w->org;
    in.conn_id = w->conn;
    in.sub = sub;
    in.email = "a@x.com";
    in.name = "A User";
    hash_of("new-sid", sid);
    in.sid_hash = sid;
    in.session.exports = one_export("ORG_EMAIL", "X-Org-Email", "a@x.com");
    in.session.created = in.session.last_seen = w->now;
    in.session.expires = w->now + apr_time_from_sec(3600);
    in.now = w->now;
    return in;
}

static apr_status_t view(const world_t *w, const char *sid)
{
    unsigned char h[32];
    orgs_session_view_t *v;
    hash_of(sid, h);
    return orgs_store_session_view(w->st, h, w->now, 0, &v, pool, &err);
}

static apr_status_t get(const world_t *w, unsigned char b, apr_time_t now)
{
    unsigned char mac[32];
    orgs_pending_t *pl;
    memset(mac, b, sizeof(mac));
    return orgs_store_pending_get(w->st, STATE, b ? mac : NULL, now, TTL, &pl, pool, &err);
}

static int is_member(const world_t *w, const char *user)
{
    orgs_member_t *m;
    return orgs_store_member_get(w->st, w->org, user, &m, pool, &err) == APR_SUCCESS;
}

START_TEST(signin_member)
{
    world_t w = world(open_store(), 0);
    const char *user = mk_user(w.st, w.conn, "sub-1", NULL);
    unsigned char sid[32];
    orgs_user_t *u;
    int admitted = -1;
    ck_assert_int_eq(orgs_store_member_add(w.st, w.org, user, NULL, pool, &err), APR_SUCCESS);
    orgs_signin_t in = signin_of(&w, "sub-1", sid);
    ck_assert_int_eq(orgs_store_signin_commit(w.st, &in, &u, &admitted, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(admitted, ORGS_ADMIT_MEMBER);
    ck_assert_str_eq(u->id, user);
    ck_assert_str_eq(u->email, "a@x.com"); /* upserted */
    ck_assert_int_eq(view(&w, "new-sid"), APR_SUCCESS);
    ck_assert_int_eq(get(&w, 1, w.now), APR_NOTFOUND); /* consumed */
    assert_clean(w.st);
}
END_TEST

START_TEST(signin_joined_by_auto_membership)
{
    world_t w = world(open_store(), 1);
    unsigned char sid[32];
    orgs_user_t *u;
    int admitted = -1;
    orgs_signin_t in = signin_of(&w, "sub-new", sid);
    ck_assert_int_eq(orgs_store_signin_commit(w.st, &in, &u, &admitted, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(admitted, ORGS_ADMIT_JOINED);
    ck_assert_ptr_nonnull(u);
    ck_assert(is_member(&w, u->id));
    ck_assert_int_eq(view(&w, "new-sid"), APR_SUCCESS);
    ck_assert_str_eq(in.session.user_id, u->id);
    assert_clean(w.st);
}
END_TEST

/* Auto-membership with a condition: a non-member whose ID token does not
 * meet it is not admitted (no membership, no session); one who meets it
 * joins; an existing member gets in whatever the claims. */
START_TEST(signin_auto_membership_condition)
{
    world_t w = world(open_store(), 1);
    unsigned char sid[32];
    orgs_user_t *u;
    orgs_enabled_conn_t *e;
    int admitted = -1;
    json_t *other = json_pack("{s:s}", "hd", "other.example");
    json_t *acme = json_pack("{s:s}", "hd", "acme.example");
    ck_assert_int_eq(orgs_store_org_enable_conn_require(w.st, w.org, w.conn, 1,
                                                        "claim:hd=acme.example", pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_conn_get(w.st, w.org, w.conn, &e, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(e->require, "claim:hd=acme.example");

    orgs_signin_t in = signin_of(&w, "sub-other", sid);
    in.claims = other;
    ck_assert_int_eq(orgs_store_signin_commit(w.st, &in, &u, &admitted, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(admitted, ORGS_ADMIT_UNMET);
    ck_assert(!is_member(&w, u->id));
    ck_assert_int_eq(view(&w, "new-sid"), APR_NOTFOUND);

    /* no claims at all: fails closed */
    put_pending(w.st, w.org, w.conn, w.now);
    in = signin_of(&w, "sub-none", sid);
    ck_assert_int_eq(orgs_store_signin_commit(w.st, &in, &u, &admitted, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(admitted, ORGS_ADMIT_UNMET);

    put_pending(w.st, w.org, w.conn, w.now);
    in = signin_of(&w, "sub-acme", sid);
    in.claims = acme;
    ck_assert_int_eq(orgs_store_signin_commit(w.st, &in, &u, &admitted, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(admitted, ORGS_ADMIT_JOINED);
    ck_assert(is_member(&w, u->id));

    /* a member made by hand gets in without meeting it */
    const char *user = mk_user(w.st, w.conn, "sub-hand", NULL);
    ck_assert_int_eq(orgs_store_member_add(w.st, w.org, user, NULL, pool, &err), APR_SUCCESS);
    put_pending(w.st, w.org, w.conn, w.now);
    in = signin_of(&w, "sub-hand", sid);
    in.claims = other;
    hash_of("sid-hand", sid);
    ck_assert_int_eq(orgs_store_signin_commit(w.st, &in, &u, &admitted, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(admitted, ORGS_ADMIT_MEMBER);

    /* a condition without auto-membership, or a malformed one, is refused */
    ck_assert_int_eq(
        orgs_store_org_enable_conn_require(w.st, w.org, w.conn, 0, "email-domain", pool, &err),
        APR_EINVAL);
    ck_assert_int_eq(
        orgs_store_org_enable_conn_require(w.st, w.org, w.conn, 1, "claim:=x", pool, &err),
        APR_EINVAL);
    /* enabling again without one clears it */
    ck_assert_int_eq(orgs_store_org_enable_conn(w.st, w.org, w.conn, 1, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_conn_get(w.st, w.org, w.conn, &e, pool, &err), APR_SUCCESS);
    ck_assert_ptr_null(e->require);
    json_decref(other);
    json_decref(acme);
    assert_clean(w.st);
}
END_TEST

START_TEST(signin_denied)
{
    world_t w = world(open_store(), 0);
    unsigned char sid[32];
    orgs_user_t *u, *found;
    int admitted = -1;
    orgs_signin_t in = signin_of(&w, "sub-2", sid);
    ck_assert_int_eq(orgs_store_signin_commit(w.st, &in, &u, &admitted, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(admitted, ORGS_ADMIT_DENIED);
    ck_assert_int_eq(get(&w, 1, w.now), APR_NOTFOUND); /* consumed all the same */
    ck_assert_ptr_nonnull(u);                          /* upserted */
    ck_assert_int_eq(orgs_store_user_by_sub(w.st, w.conn, "sub-2", &found, pool, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(found->id, u->id);
    ck_assert(!is_member(&w, u->id));
    ck_assert_int_eq(view(&w, "new-sid"), APR_NOTFOUND);
    assert_clean(w.st);
}
END_TEST

START_TEST(signin_not_enabled)
{
    world_t w = world(open_store(), -1);
    unsigned char sid[32];
    orgs_user_t *u, *found;
    int admitted = -1;
    orgs_signin_t in = signin_of(&w, "sub-3", sid);
    ck_assert_int_eq(orgs_store_signin_commit(w.st, &in, &u, &admitted, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(admitted, ORGS_ADMIT_NOT_ENABLED);
    ck_assert_ptr_null(u);
    ck_assert_int_eq(get(&w, 1, w.now), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_user_by_sub(w.st, w.conn, "sub-3", &found, pool, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(view(&w, "new-sid"), APR_NOTFOUND);
    assert_clean(w.st);
}
END_TEST

START_TEST(signin_pending_gone)
{
    world_t w = world(open_store(), 1);
    unsigned char sid[32];
    orgs_user_t *u, *found;
    apr_array_header_t *users;
    int admitted = -1;
    orgs_signin_t in = signin_of(&w, "sub-4", sid);
    ck_assert_int_eq(orgs_store_pending_delete(w.st, STATE, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_signin_commit(w.st, &in, &u, &admitted, pool, &err), APR_NOTFOUND);
    ck_assert_ptr_null(u);
    ck_assert_int_eq(orgs_store_user_by_sub(w.st, w.conn, "sub-4", &found, pool, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_user_list(w.st, NULL, &users, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(users->nelts, 0);
    ck_assert_int_eq(view(&w, "new-sid"), APR_NOTFOUND);
    in.state = "bad state";
    ck_assert_int_eq(orgs_store_signin_commit(w.st, &in, &u, &admitted, pool, &err), APR_NOTFOUND);
    assert_clean(w.st);
}
END_TEST

START_TEST(signin_ends_old_session)
{
    world_t w = world(open_store(), 0);
    const char *user = mk_user(w.st, w.conn, "sub-5", NULL);
    unsigned char sid[32], old[32];
    orgs_user_t *u;
    int admitted = -1;
    ck_assert_int_eq(orgs_store_member_add(w.st, w.org, user, NULL, pool, &err), APR_SUCCESS);
    put_session(w.st, "old-sid", w.org, user, w.conn, w.now);
    put_session(w.st, "other-sid", w.org, user, w.conn, w.now);
    hash_of("old-sid", old);
    orgs_signin_t in = signin_of(&w, "sub-5", sid);
    in.old_sid_hash = old;
    ck_assert_int_eq(orgs_store_signin_commit(w.st, &in, &u, &admitted, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(admitted, ORGS_ADMIT_MEMBER);
    ck_assert_int_eq(view(&w, "old-sid"), APR_NOTFOUND);
    ck_assert_int_eq(view(&w, "other-sid"), APR_SUCCESS);
    ck_assert_int_eq(view(&w, "new-sid"), APR_SUCCESS);
    assert_clean(w.st);
}
END_TEST

START_TEST(signin_map_full_writes_nothing)
{
    orgs_store_t *st;
    unsigned char sid[32];
    orgs_user_t *u, *found;
    int admitted = -1;
    apr_status_t rv = APR_SUCCESS;
    char dn[200];
    ck_assert_int_eq(orgs_store_open(&st, dir, 256 * 1024, 0, ORGS_STORE_CREATE, keys, pool, &err),
                     APR_SUCCESS);
    world_t w = world(st, 1);
    memset(dn, 'D', sizeof(dn) - 1);
    dn[sizeof(dn) - 1] = '\0';
    for (int i = 0; rv == APR_SUCCESS && i < 100000; i++) {
        orgs_org_t o = {0};
        o.name = apr_psprintf(pool, "org%d", i);
        o.display_name = dn;
        rv = orgs_store_org_create(st, &o, pool, &err);
    }
    ck_assert_int_eq(rv, ORGS_ESTOREFULL);
    rv = APR_SUCCESS;
    for (int i = 0; rv == APR_SUCCESS && i < 100000; i++) { /* the last pages too */
        rv = orgs_store_cache_put(st, apr_psprintf(pool, "k%d", i), "v", w.now, pool, &err);
    }
    ck_assert_int_eq(rv, ORGS_ESTOREFULL);
    orgs_signin_t in = signin_of(&w, "sub-6", sid);
    ck_assert_int_eq(orgs_store_signin_commit(st, &in, &u, &admitted, pool, &err), ORGS_ESTOREFULL);
    ck_assert_ptr_null(u);
    ck_assert_int_eq(get(&w, 1, w.now), APR_SUCCESS); /* still pending */
    ck_assert_int_eq(orgs_store_user_by_sub(st, w.conn, "sub-6", &found, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(view(&w, "new-sid"), APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

START_TEST(pending_get_leaves_entry)
{
    world_t w = world(open_store(), 0);
    orgs_pending_t *pl;
    unsigned char mac[32];
    memset(mac, 1, sizeof(mac));
    ck_assert_int_eq(orgs_store_pending_get(w.st, STATE, mac, w.now + 5, TTL, &pl, pool, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(pl->nonce, "nonce-1");
    ck_assert_str_eq(pl->conn_id, w.conn);
    ck_assert_int_eq(pl->created, w.now);
    ck_assert_int_eq(get(&w, 1, w.now + 5), APR_SUCCESS); /* still there */
    ck_assert_int_eq(orgs_store_pending_take(w.st, STATE, mac, w.now + 5, TTL, &pl, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(get(&w, 1, w.now + 5), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_pending_delete(w.st, STATE, pool, &err), APR_NOTFOUND);
    assert_clean(w.st);
}
END_TEST

START_TEST(pending_get_other_browser_and_expiry)
{
    world_t w = world(open_store(), 0);
    orgs_pending_t *pl = NULL;
    ck_assert_int_eq(get(&w, 2, w.now + 5), ORGS_EDENIED);
    ck_assert_int_eq(get(&w, 0, w.now + 5), ORGS_EDENIED);
    ck_assert_int_eq(get(&w, 1, w.now + 5), APR_SUCCESS); /* left in place */
    /* expired and the wrong browser: still denied, not deleted */
    ck_assert_int_eq(get(&w, 2, w.now + apr_time_from_sec(601)), ORGS_EDENIED);
    ck_assert_int_eq(get(&w, 1, w.now + apr_time_from_sec(601)), ORGS_EEXPIRED);
    ck_assert_int_eq(get(&w, 1, w.now), APR_NOTFOUND); /* the expired one was deleted */
    ck_assert_int_eq(orgs_store_pending_get(w.st, "short", NULL, w.now, TTL, &pl, pool, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(
        orgs_store_pending_get(w.st, "state-unknown-xxxxxxxx", NULL, w.now, TTL, &pl, pool, &err),
        APR_NOTFOUND);
    ck_assert_ptr_null(pl);
    ck_assert_int_eq(orgs_store_pending_delete(w.st, "bad state", pool, &err), APR_NOTFOUND);
    assert_clean(w.st);
}
END_TEST

/* The commit consumes only the login it was started for, and only while it
 * is fresh: otherwise nothing is written and the entry stays for the
 * caller to delete. */
START_TEST(signin_other_org_or_conn_refused)
{
    world_t w = world(open_store(), 1);
    const char *other = mk_org(w.st, "other", NULL);
    const char *other_conn = mk_conn(w.st, "idp2", NULL);
    unsigned char sid[32];
    orgs_user_t *u;
    int admitted = -1;
    orgs_signin_t in = signin_of(&w, "sub-7", sid);
    ck_assert_int_eq(orgs_store_org_enable_conn(w.st, other, w.conn, 1, pool, &err), APR_SUCCESS);
    in.org_id = other;
    ck_assert_int_eq(orgs_store_signin_commit(w.st, &in, &u, &admitted, pool, &err), ORGS_EDENIED);
    ck_assert_ptr_null(u);
    in.org_id = w.org;
    in.conn_id = other_conn;
    ck_assert_int_eq(orgs_store_signin_commit(w.st, &in, &u, &admitted, pool, &err), ORGS_EDENIED);
    in.conn_id = NULL;
    ck_assert_int_eq(orgs_store_signin_commit(w.st, &in, &u, &admitted, pool, &err), ORGS_EDENIED);
    ck_assert_int_eq(view(&w, "new-sid"), APR_NOTFOUND);
    ck_assert_int_eq(get(&w, 1, w.now), APR_SUCCESS); /* still pending */
    in.conn_id = w.conn;
    ck_assert_int_eq(orgs_store_signin_commit(w.st, &in, &u, &admitted, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(view(&w, "new-sid"), APR_SUCCESS);
    assert_clean(w.st);
}
END_TEST

START_TEST(signin_expired_at_commit_refused)
{
    world_t w = world(open_store(), 1);
    unsigned char sid[32];
    orgs_user_t *u, *found;
    int admitted = -1;
    orgs_signin_t in = signin_of(&w, "sub-8", sid);
    in.ttl = TTL;
    in.now = w.now + TTL + 1;
    ck_assert_int_eq(orgs_store_signin_commit(w.st, &in, &u, &admitted, pool, &err), ORGS_EEXPIRED);
    ck_assert_ptr_null(u);
    ck_assert_int_eq(orgs_store_user_by_sub(w.st, w.conn, "sub-8", &found, pool, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(view(&w, "new-sid"), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_pending_delete(w.st, STATE, pool, &err), APR_SUCCESS);
    /* at the edge of its lifetime it is still good */
    put_pending(w.st, w.org, w.conn, w.now);
    in.now = w.now + TTL;
    ck_assert_int_eq(orgs_store_signin_commit(w.st, &in, &u, &admitted, pool, &err), APR_SUCCESS);
    assert_clean(w.st);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, signin_member);
    tcase_add_test(tc, signin_joined_by_auto_membership);
    tcase_add_test(tc, signin_auto_membership_condition);
    tcase_add_test(tc, signin_denied);
    tcase_add_test(tc, signin_not_enabled);
    tcase_add_test(tc, signin_pending_gone);
    tcase_add_test(tc, signin_ends_old_session);
    tcase_add_test(tc, signin_map_full_writes_nothing);
    tcase_add_test(tc, pending_get_leaves_entry);
    tcase_add_test(tc, pending_get_other_browser_and_expiry);
    tcase_add_test(tc, signin_other_org_or_conn_refused);
    tcase_add_test(tc, signin_expired_at_commit_refused);
}

int main(void)
{
    return fixture_run("store_signin", add_tests);
}
