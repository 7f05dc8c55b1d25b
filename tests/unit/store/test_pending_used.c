/* Unit tests for src/core/store/pending_used.c: a login kept in the
 * browser's cookie is marked used by its sign-in, in the same transaction,
 * so the same login cannot sign in twice; marks expire with the login and
 * are swept by later ones. */
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

/* The sign-in of a sealed login (state, created) at now, with session sid. */
static apr_status_t signin(const world_t *w, const char *state, apr_time_t created, apr_time_t now,
                           const char *sid, int *admitted)
{
    static unsigned char h[32];
    orgs_signin_t in = {0};
    orgs_user_t *u;
    in.state = state;
    in.org_id = w->org;
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
    return orgs_store_signin_commit(w->st, &in, &u, admitted, pool, &err);
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
    /* past their expiry, each new sign-in sweeps up to 8 of them, oldest first */
    apr_time_t later = now + TTL + apr_time_from_sec(1);
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

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, sealed_signin_marks_the_login_used);
    tcase_add_test(tc, sealed_signin_expired_writes_nothing);
    tcase_add_test(tc, marks_expire_and_are_swept);
}

int main(void)
{
    return fixture_run("store_pending_used", add_tests);
}
