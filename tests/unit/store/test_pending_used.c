/* Unit tests for src/core/store/pending_used.c: a login kept in the
 * browser's cookie is marked used by its sign-in, in the same transaction,
 * so the same login cannot sign in twice; marks expire with the login and
 * are swept by later ones. */
#include <apr_strings.h>

#include "fixture.h"
#include "signin.h"

#define TTL apr_time_from_sec(600)

typedef struct {
    orgs_store_t *st;
    const char *org, *conn;
} world_t;

static world_t world(void)
{
    world_t w = {open_store(), NULL, NULL};
    w.org = mk_org(w.st, "acme", NULL);
    w.conn = mk_conn(w.st, "idp", NULL);
    ck_assert_int_eq(orgs_store_org_enable_conn(w.st, w.org, w.conn, 1, pool, &err), APR_SUCCESS);
    return w;
}

/* The sign-in of a sealed login (state, created) to org at now, with
 * session sid replacing this browser's old one (NULL: none), under quota
 * (NULL: none); *over the quota that refused it. */
static apr_status_t signin_q(const world_t *w, const char *org, const char *state,
                             apr_time_t created, apr_time_t now, const char *sid, const char *old,
                             const orgs_store_quota_t *quota, int *admitted, int *over)
{
    static unsigned char h[32], oh[32];
    orgs_signin_t in = {0};
    orgs_user_t *u;
    if (old) {
        hash_of(old, oh);
        in.old_sid_hash = oh;
    }
    in.state = state;
    in.org_id = org;
    in.quota = quota;
    in.conn_id = w->conn;
    in.sub = "sub-1";
    hash_of(sid, h);
    in.sid_hash = h;
    in.session.exports = one_export("ORG_EMAIL", "X-Org-Email", "a@x.com");
    in.session.created = in.session.last_seen = now;
    in.session.expires = now + apr_time_from_sec(3600);
    in.now = now;
    in.ttl = TTL;
    in.sealed_created = created;
    apr_status_t rv = orgs_store_signin_commit(w->st, &in, &u, admitted, pool, &err);
    if (over) {
        *over = in.over_quota;
    }
    return rv;
}

static apr_status_t signin(const world_t *w, const char *state, apr_time_t created, apr_time_t now,
                           const char *sid, int *admitted)
{
    return signin_q(w, w->org, state, created, now, sid, NULL, NULL, admitted, NULL);
}

static apr_size_t marks_of(const world_t *w, const char *org)
{
    apr_size_t n = 99;
    ck_assert_int_eq(orgs_store_pending_used_count(w->st, org, &n, &err), APR_SUCCESS);
    return n;
}

static int used(const world_t *w, const char *state)
{
    int u = -1;
    ck_assert_int_eq(orgs_store_pending_used(w->st, state, &u, &err), APR_SUCCESS);
    return u;
}

static apr_status_t view(const world_t *w, const char *sid, apr_time_t now)
{
    unsigned char h[32];
    orgs_session_view_t *v;
    hash_of(sid, h);
    return orgs_store_session_view(w->st, h, now, 0, &v, pool, &err);
}

START_TEST(sealed_signin_marks_the_login_used)
{
    world_t w = world();
    apr_time_t now = apr_time_now();
    int admitted = -1;
    ck_assert_int_eq(used(&w, "state-A"), 0);
    ck_assert_int_eq(signin(&w, "state-A", now - apr_time_from_sec(5), now, "sid-1", &admitted),
                     APR_SUCCESS);
    ck_assert_int_eq(admitted, ORGS_ADMIT_JOINED);
    ck_assert_int_eq(used(&w, "state-A"), 1);
    ck_assert_int_eq(used(&w, "state-B"), 0);
    /* the same login again (a replay, or a concurrent callback): nothing written */
    ck_assert_int_eq(signin(&w, "state-A", now - apr_time_from_sec(5), now, "sid-2", &admitted),
                     APR_NOTFOUND);
    ck_assert_int_eq(view(&w, "sid-1", now), APR_SUCCESS);
    ck_assert_int_eq(view(&w, "sid-2", now), APR_NOTFOUND);
    /* another login of the same user signs in */
    ck_assert_int_eq(signin(&w, "state-B", now, now, "sid-3", &admitted), APR_SUCCESS);
    ck_assert_int_eq(view(&w, "sid-3", now), APR_SUCCESS);
    assert_clean(w.st);
}
END_TEST

START_TEST(sealed_signin_expired_writes_nothing)
{
    world_t w = world();
    apr_time_t now = apr_time_now();
    int admitted = -1;
    ck_assert_int_eq(
        signin(&w, "state-A", now - TTL - apr_time_from_sec(1), now, "sid-1", &admitted),
        ORGS_EEXPIRED);
    ck_assert_int_eq(used(&w, "state-A"), 0);
    ck_assert_int_eq(view(&w, "sid-1", now), APR_NOTFOUND);
    assert_clean(w.st);
}
END_TEST

START_TEST(marks_expire_and_are_swept)
{
    world_t w = world();
    apr_time_t now = apr_time_now();
    int admitted = -1;
    char state[32], sid[32];
    /* 20 sign-ins now: 20 marks, each until its login's creation + TTL */
    for (int i = 0; i < 20; i++) {
        snprintf(state, sizeof(state), "state-%02d", i);
        snprintf(sid, sizeof(sid), "sid-%02d", i);
        ck_assert_int_eq(signin(&w, state, now, now, sid, &admitted), APR_SUCCESS);
    }
    /* still live within the margin past the cookie's expiry */
    apr_time_t within = now + TTL + ORGS_PENDING_USED_MARGIN - apr_time_from_sec(1);
    ck_assert_int_eq(signin(&w, "margin", within, within, "sid-margin", &admitted), APR_SUCCESS);
    ck_assert_int_eq(used(&w, "state-00"), 1);
    /* past their expiry, each new sign-in sweeps up to 8 of them, oldest first */
    apr_time_t later = now + TTL + ORGS_PENDING_USED_MARGIN + apr_time_from_sec(1);
    for (int i = 0; i < 3; i++) {
        snprintf(state, sizeof(state), "later-%d", i);
        snprintf(sid, sizeof(sid), "sid-later-%d", i);
        ck_assert_int_eq(signin(&w, state, later, later, sid, &admitted), APR_SUCCESS);
    }
    for (int i = 0; i < 20; i++) {
        snprintf(state, sizeof(state), "state-%02d", i);
        ck_assert_int_eq(used(&w, state), 0);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(state, sizeof(state), "later-%d", i);
        ck_assert_int_eq(used(&w, state), 1); /* live marks stay */
    }
    assert_clean(w.st);
}
END_TEST

START_TEST(marks_bounded_per_org)
{
    world_t w = world();
    const char *other = mk_org(w.st, "globex", NULL);
    ck_assert_int_eq(orgs_store_org_enable_conn(w.st, other, w.conn, 1, pool, &err), APR_SUCCESS);
    /* at most 3 sign-ins per org within the login timeout (the bound of
     * its sessions); one browser signing in again and again keeps one
     * session, so only the marks can refuse it */
    orgs_store_quota_t q = {0};
    q.sessions_per_org = 3;
    apr_time_t now = apr_time_now();
    int admitted = -1, over = -1;
    char state[32], sid[32], old[32] = "";
    for (int i = 0; i < 3; i++) {
        snprintf(state, sizeof(state), "acme-%d", i);
        snprintf(sid, sizeof(sid), "sid-acme-%d", i);
        ck_assert_int_eq(
            signin_q(&w, w.org, state, now, now, sid, *old ? old : NULL, &q, &admitted, &over),
            APR_SUCCESS);
        snprintf(old, sizeof(old), "%s", sid);
    }
    ck_assert_int_eq(view(&w, "sid-acme-0", now), APR_NOTFOUND); /* replaced */
    ck_assert_uint_eq(marks_of(&w, w.org), 3);
    /* the fourth is refused, writing nothing, as a temporary quota */
    ck_assert_int_eq(
        signin_q(&w, w.org, "acme-3", now, now, "sid-acme-3", old, &q, &admitted, &over),
        APR_ENOSPC);
    ck_assert_int_eq(over, ORGS_QUOTA_SIGNINS_PER_ORG);
    ck_assert_int_eq(used(&w, "acme-3"), 0);
    ck_assert_int_eq(view(&w, "sid-acme-3", now), APR_NOTFOUND);
    ck_assert_int_eq(view(&w, "sid-acme-2", now), APR_SUCCESS);
    ck_assert_uint_eq(marks_of(&w, w.org), 3);
    /* another org is not held by acme's marks */
    ck_assert_int_eq(
        signin_q(&w, other, "globex-0", now, now, "sid-globex", NULL, &q, &admitted, &over),
        APR_SUCCESS);
    ck_assert_uint_eq(marks_of(&w, other), 1);
    /* once acme's marks expire, the refused sign-in sweeps them and passes */
    apr_time_t later = now + TTL + ORGS_PENDING_USED_MARGIN + apr_time_from_sec(1);
    ck_assert_int_eq(
        signin_q(&w, w.org, "acme-3", later, later, "sid-acme-3", old, &q, &admitted, &over),
        APR_SUCCESS);
    ck_assert_uint_eq(marks_of(&w, w.org), 1);
    ck_assert_uint_eq(marks_of(&w, other), 0); /* swept with acme's, oldest first */
    assert_clean(w.st);
}
END_TEST

START_TEST(refused_signins_fill_their_own_share)
{
    world_t w = world();
    /* closed and shut enable the same connection and admit nobody through
     * it: anyone with an account at the IdP can make refused sign-ins */
    const char *closed = mk_org(w.st, "closed", NULL);
    const char *shut = mk_org(w.st, "shut", NULL);
    ck_assert_int_eq(orgs_store_org_enable_conn(w.st, closed, w.conn, 0, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_enable_conn(w.st, shut, w.conn, 0, pool, &err), APR_SUCCESS);
    const char *closed_conn = apr_pstrcat(pool, closed, "/", w.conn, NULL);
    orgs_store_quota_t q = {0};
    q.sessions_per_org = 3;
    apr_time_t now = apr_time_now();
    int admitted = -1, over = -1;
    char state[32];
    for (int i = 0; i < 3; i++) {
        snprintf(state, sizeof(state), "closed-%d", i);
        ck_assert_int_eq(signin_q(&w, closed, state, now, now, "sid-x", NULL, &q, &admitted, &over),
                         APR_SUCCESS);
        ck_assert_int_eq(admitted, ORGS_ADMIT_DENIED);
        ck_assert_int_eq(used(&w, state), 1);
    }
    /* counted against the org and connection, not the org's own share */
    ck_assert_uint_eq(marks_of(&w, closed_conn), 3);
    ck_assert_uint_eq(marks_of(&w, closed), 0);
    ck_assert_uint_eq(marks_of(&w, w.conn), 0);
    /* the fourth refused one finds that share full: nothing written */
    ck_assert_int_eq(
        signin_q(&w, closed, "closed-3", now, now, "sid-x", NULL, &q, &admitted, &over),
        APR_ENOSPC);
    ck_assert_int_eq(over, ORGS_QUOTA_DENIALS_PER_CONN);
    ck_assert_int_eq(used(&w, "closed-3"), 0);
    /* a replay of a refused one is still refused as used */
    ck_assert_int_eq(
        signin_q(&w, closed, "closed-0", now, now, "sid-x", NULL, &q, &admitted, &over),
        APR_NOTFOUND);
    /* another org refusing through the same connection has its own share */
    ck_assert_int_eq(signin_q(&w, shut, "shut-0", now, now, "sid-x", NULL, &q, &admitted, &over),
                     APR_SUCCESS);
    ck_assert_int_eq(admitted, ORGS_ADMIT_DENIED);
    /* acme's members, through the same connection, still sign in */
    ck_assert_int_eq(
        signin_q(&w, w.org, "acme-0", now, now, "sid-acme", NULL, &q, &admitted, &over),
        APR_SUCCESS);
    ck_assert_int_eq(admitted, ORGS_ADMIT_JOINED);
    ck_assert_uint_eq(marks_of(&w, w.org), 1);
    ck_assert_uint_eq(marks_of(&w, closed_conn), 3);
    assert_clean(w.st);
}
END_TEST

/* A share full of expired marks that the sign-ins' small sweeps have not
 * reached (more than that many older ones of others) frees itself: the
 * refused sign-in sweeps in a transaction of its own and tries again. */
START_TEST(full_share_of_expired_marks_frees_itself)
{
    world_t w = world();
    const char *other = mk_org(w.st, "globex", NULL);
    ck_assert_int_eq(orgs_store_org_enable_conn(w.st, other, w.conn, 1, pool, &err), APR_SUCCESS);
    orgs_store_quota_t q = {0};
    q.sessions_per_org = 2;
    apr_time_t t0 = apr_time_now();
    int admitted = -1, over = -1;
    char state[32], sid[32];
    /* 20 of globex's marks, older than acme's (no bound for them) */
    for (int i = 0; i < 20; i++) {
        snprintf(state, sizeof(state), "globex-%02d", i);
        snprintf(sid, sizeof(sid), "sid-globex-%02d", i);
        ck_assert_int_eq(signin_q(&w, other, state, t0, t0, sid, NULL, NULL, &admitted, &over),
                         APR_SUCCESS);
    }
    apr_time_t t1 = t0 + apr_time_from_sec(1);
    ck_assert_int_eq(signin_q(&w, w.org, "acme-0", t1, t1, "sid-a0", NULL, &q, &admitted, &over),
                     APR_SUCCESS);
    ck_assert_int_eq(
        signin_q(&w, w.org, "acme-1", t1, t1, "sid-a1", "sid-a0", &q, &admitted, &over),
        APR_SUCCESS);
    ck_assert_uint_eq(marks_of(&w, w.org), 2);
    /* all expired: a sign-in's own sweep (8) reaches only globex's */
    apr_time_t later = t1 + TTL + ORGS_PENDING_USED_MARGIN + apr_time_from_sec(1);
    ck_assert_int_eq(
        signin_q(&w, w.org, "acme-2", later, later, "sid-a2", "sid-a1", &q, &admitted, &over),
        APR_SUCCESS);
    ck_assert_uint_eq(marks_of(&w, w.org), 1);
    ck_assert_uint_eq(marks_of(&w, other), 0);
    assert_clean(w.st);
}
END_TEST

START_TEST(store_full_sweep_drops_expired_marks)
{
    world_t w = world();
    apr_time_t now = apr_time_now();
    int admitted = -1;
    apr_size_t removed = 99;
    char state[32], sid[32];
    for (int i = 0; i < 5; i++) {
        snprintf(state, sizeof(state), "state-%d", i);
        snprintf(sid, sizeof(sid), "sid-%d", i);
        ck_assert_int_eq(signin(&w, state, now, now, sid, &admitted), APR_SUCCESS);
    }
    /* nothing expired yet: nothing dropped */
    ck_assert_int_eq(orgs_store_pending_used_sweep(w.st, now, 1000, &removed, pool, &err),
                     APR_SUCCESS);
    ck_assert_uint_eq(removed, 0);
    ck_assert_uint_eq(marks_of(&w, w.org), 5);
    apr_time_t later = now + TTL + ORGS_PENDING_USED_MARGIN + apr_time_from_sec(1);
    ck_assert_int_eq(orgs_store_pending_used_sweep(w.st, later, 3, &removed, pool, &err),
                     APR_SUCCESS);
    ck_assert_uint_eq(removed, 3);
    ck_assert_uint_eq(marks_of(&w, w.org), 2);
    ck_assert_int_eq(orgs_store_pending_used_sweep(w.st, later, 1000, &removed, pool, &err),
                     APR_SUCCESS);
    ck_assert_uint_eq(removed, 2);
    ck_assert_uint_eq(marks_of(&w, w.org), 0);
    ck_assert_int_eq(used(&w, "state-4"), 0);
    assert_clean(w.st);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, marks_bounded_per_org);
    tcase_add_test(tc, refused_signins_fill_their_own_share);
    tcase_add_test(tc, full_share_of_expired_marks_frees_itself);
    tcase_add_test(tc, store_full_sweep_drops_expired_marks);
    tcase_add_test(tc, sealed_signin_marks_the_login_used);
    tcase_add_test(tc, sealed_signin_expired_writes_nothing);
    tcase_add_test(tc, marks_expire_and_are_swept);
}

int main(void)
{
    return fixture_run("store_pending_used", add_tests);
}
