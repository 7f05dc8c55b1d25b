/* Unit tests for src/core/store/quota.c (the tenant bounds of a sign-in),
 * user_purge.c (unused users) and the admission path of pending.c
 * (orgs_store_pending_admit: per-client bound, cookie proof, eviction). */
#include "fixture.h"
#include "signin.h"

#define TTL apr_time_from_sec(600)

typedef struct {
    orgs_store_t *st;
    const char *org, *conn;
    apr_time_t now;
    orgs_store_quota_t q;
} world_t;

static world_t world(int auto_membership)
{
    world_t w = {open_store(), NULL, NULL, apr_time_now(), {0, 0, 0, 0}};
    w.org = mk_org(w.st, "acme", NULL);
    w.conn = mk_conn(w.st, "idp", NULL);
    ck_assert_int_eq(orgs_store_org_enable_conn(w.st, w.org, w.conn, auto_membership, pool, &err),
                     APR_SUCCESS);
    return w;
}

/* One sign-in of sub through w's connection to w's org at now (its own
 * pending login and session); *over: what refused it. */
static apr_status_t sign_in(world_t *w, const char *sub, apr_time_t now, int *over)
{
    orgs_pending_t pl = {0};
    orgs_signin_t in = {0};
    orgs_user_t *u;
    unsigned char sid[32];
    int admitted;
    pl.state = apr_psprintf(pool, "state-%s-0123456789", sub);
    memset(pl.browser, 1, sizeof(pl.browser));
    pl.nonce = "n";
    pl.code_verifier = "v";
    pl.org_id = w->org;
    pl.conn_id = w->conn;
    pl.created = now;
    ck_assert_int_eq(orgs_store_pending_put(w->st, &pl, 0, TTL, pool, &err), APR_SUCCESS);
    in.state = pl.state;
    in.org_id = w->org;
    in.conn_id = w->conn;
    in.sub = sub;
    hash_of(apr_psprintf(pool, "sid-%s-%" APR_TIME_T_FMT, sub, now), sid);
    in.sid_hash = sid;
    in.session.created = in.session.last_seen = now;
    in.session.expires = now + apr_time_from_sec(3600);
    in.now = now;
    in.quota = &w->q;
    apr_status_t rv = orgs_store_signin_commit(w->st, &in, &u, &admitted, pool, &err);
    *over = in.over_quota;
    if (rv != APR_SUCCESS) {
        /* nothing written: the pending login is still there */
        ck_assert_int_eq(orgs_store_pending_delete(w->st, pl.state, pool, &err), APR_SUCCESS);
    }
    return rv;
}

static int users(const world_t *w)
{
    apr_array_header_t *all;
    ck_assert_int_eq(orgs_store_user_list(w->st, NULL, &all, pool, &err), APR_SUCCESS);
    return all->nelts;
}

START_TEST(quota_users_per_connection)
{
    world_t w = world(0); /* not a member: users are created all the same */
    int over;
    w.q.users_per_conn = 2;
    ck_assert_int_eq(sign_in(&w, "s1", w.now, &over), APR_SUCCESS);
    ck_assert_int_eq(sign_in(&w, "s2", w.now, &over), APR_SUCCESS);
    ck_assert_int_eq(sign_in(&w, "s3", w.now, &over), APR_ENOSPC);
    ck_assert_int_eq(over, ORGS_QUOTA_USERS_PER_CONN);
    ck_assert_int_eq(users(&w), 2);
    /* a known user still signs in */
    ck_assert_int_eq(sign_in(&w, "s1", w.now, &over), APR_SUCCESS);
    ck_assert_int_eq(over, ORGS_QUOTA_NONE);
    assert_clean(w.st);
}
END_TEST

START_TEST(quota_new_users_per_minute)
{
    world_t w = world(0);
    int over;
    w.q.new_users_per_min = 2;
    ck_assert_int_eq(sign_in(&w, "s1", w.now, &over), APR_SUCCESS);
    ck_assert_int_eq(sign_in(&w, "s2", w.now + 1, &over), APR_SUCCESS);
    ck_assert_int_eq(sign_in(&w, "s3", w.now + 2, &over), APR_ENOSPC);
    ck_assert_int_eq(over, ORGS_QUOTA_NEW_USERS_PER_MIN);
    ck_assert_int_eq(sign_in(&w, "s2", w.now + 3, &over), APR_SUCCESS); /* not new */
    /* the next minute admits again */
    ck_assert_int_eq(sign_in(&w, "s3", w.now + apr_time_from_sec(61), &over), APR_SUCCESS);
    ck_assert_int_eq(users(&w), 3);
    assert_clean(w.st);
}
END_TEST

START_TEST(quota_users_per_org)
{
    world_t w = world(1);
    int over;
    w.q.users_per_org = 2;
    ck_assert_int_eq(sign_in(&w, "s1", w.now, &over), APR_SUCCESS);
    ck_assert_int_eq(sign_in(&w, "s2", w.now, &over), APR_SUCCESS);
    ck_assert_int_eq(sign_in(&w, "s3", w.now, &over), APR_ENOSPC);
    ck_assert_int_eq(over, ORGS_QUOTA_USERS_PER_ORG);
    ck_assert_int_eq(users(&w), 2); /* the refused one was not kept either */
    ck_assert_int_eq(sign_in(&w, "s2", w.now, &over), APR_SUCCESS); /* a member */
    assert_clean(w.st);
}
END_TEST

START_TEST(quota_sessions_per_org)
{
    world_t w = world(1);
    int over;
    w.q.sessions_per_org = 3;
    ck_assert_int_eq(sign_in(&w, "s1", w.now, &over), APR_SUCCESS);
    ck_assert_int_eq(sign_in(&w, "s1", w.now + 1, &over), APR_SUCCESS);
    ck_assert_int_eq(sign_in(&w, "s2", w.now + 2, &over), APR_SUCCESS);
    ck_assert_int_eq(sign_in(&w, "s2", w.now + 3, &over), APR_ENOSPC);
    ck_assert_int_eq(over, ORGS_QUOTA_SESSIONS_PER_ORG);
    /* another org is not concerned */
    world_t o = w;
    o.org = mk_org(w.st, "other", NULL);
    ck_assert_int_eq(orgs_store_org_enable_conn(w.st, o.org, w.conn, 1, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(sign_in(&o, "s2", w.now + 4, &over), APR_SUCCESS);
    assert_clean(w.st);
}
END_TEST

START_TEST(user_purge_unused)
{
    world_t w = world(0);
    apr_time_t day = apr_time_from_sec(86400);
    apr_size_t removed = 99;
    int over;
    ck_assert_int_eq(sign_in(&w, "old", w.now - 40 * day, &over), APR_SUCCESS);
    ck_assert_int_eq(sign_in(&w, "recent", w.now - day, &over), APR_SUCCESS);
    ck_assert_int_eq(sign_in(&w, "member", w.now - 40 * day, &over), APR_SUCCESS);
    orgs_user_t *m;
    ck_assert_int_eq(orgs_store_user_by_sub(w.st, w.conn, "member", &m, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(w.st, w.org, m->id, NULL, pool, &err), APR_SUCCESS);
    /* provisioned by email, never signed in, created now: kept */
    orgs_user_t *fresh;
    ck_assert_int_eq(orgs_store_user_provision(w.st, w.conn, "new@x.com", NULL, &fresh, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(users(&w), 4);
    ck_assert_int_eq(orgs_store_user_purge(w.st, w.now - 30 * day, &removed, pool, &err),
                     APR_SUCCESS);
    ck_assert_uint_eq(removed, 1);
    ck_assert_int_eq(users(&w), 3);
    orgs_user_t *u;
    ck_assert_int_eq(orgs_store_user_by_sub(w.st, w.conn, "old", &u, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_user_purge(w.st, w.now - 30 * day, &removed, pool, &err),
                     APR_SUCCESS);
    ck_assert_uint_eq(removed, 0);
    assert_clean(w.st);
}
END_TEST

START_TEST(user_purge_batches)
{
    world_t w = world(0);
    apr_size_t removed = 0;
    int over;
    for (int i = 0; i < 600; i++) { /* more than one batch of 500 */
        ck_assert_int_eq(
            sign_in(&w, apr_psprintf(pool, "u%d", i), w.now - apr_time_from_sec(100), &over),
            APR_SUCCESS);
    }
    ck_assert_int_eq(orgs_store_user_purge(w.st, w.now, &removed, pool, &err), APR_SUCCESS);
    ck_assert_uint_eq(removed, 600);
    ck_assert_int_eq(users(&w), 0);
    assert_clean(w.st);
}
END_TEST

/* ---- pending admission ------------------------------------------------- */

/* net 0: no network given (all clients in one) */
static apr_status_t admit_net(orgs_store_t *st, unsigned char net, apr_size_t per_net,
                              unsigned char client, int proven, apr_size_t per_client,
                              apr_time_t now, const char **state, apr_size_t *evicted)
{
    orgs_pending_t pl = {0};
    unsigned char tag[ORGS_STORE_CLIENT_TAG_LEN], ntag[ORGS_STORE_CLIENT_TAG_LEN];
    orgs_pending_admit_t lim = {0};
    static int n;
    memset(tag, client, sizeof(tag));
    memset(ntag, net, sizeof(ntag));
    lim.net = net ? ntag : NULL;
    lim.max_per_net = per_net;
    pl.state = apr_psprintf(pool, "random-state-%06d", n++);
    memset(pl.browser, n & 0xff, sizeof(pl.browser));
    pl.nonce = "n";
    pl.code_verifier = "v";
    pl.org_id = "org_0123456789abcdef";
    pl.conn_id = "con_0123456789abcdef";
    pl.created = now;
    lim.client = tag;
    lim.max_per_client = per_client;
    lim.unproven_max = per_client / 2;
    lim.proven = proven;
    lim.ttl = TTL;
    apr_status_t rv = orgs_store_pending_admit(st, &pl, &lim, evicted, pool, &err);
    *state = pl.state;
    return rv;
}

static apr_status_t admit(orgs_store_t *st, unsigned char client, int proven, apr_size_t per_client,
                          apr_time_t now, const char **state, apr_size_t *evicted)
{
    return admit_net(st, 0, 0, client, proven, per_client, now, state, evicted);
}

static apr_status_t pending_there(orgs_store_t *st, const char *state)
{
    orgs_pending_t *pl;
    unsigned char b[32] = {0};
    apr_status_t rv = orgs_store_pending_get(st, state, b, apr_time_now(), TTL, &pl, pool, &err);
    return rv == ORGS_EDENIED ? APR_SUCCESS : rv; /* there, for another browser */
}

START_TEST(pending_admit_per_client)
{
    orgs_store_t *st = open_store();
    const char *first, *s;
    apr_size_t ev;
    apr_time_t now = apr_time_now();
    ck_assert_int_eq(admit(st, 1, 1, 4, now, &first, &ev), APR_SUCCESS);
    /* the network's range (none given: all zero), then the client's */
    ck_assert_int_eq(strncmp(first, "AAAAAAAAAAAAQEBAQEBAQE", 22), 0);
    for (int i = 1; i < 4; i++) {
        ck_assert_int_eq(admit(st, 1, 1, 4, now + i, &s, &ev), APR_SUCCESS);
        ck_assert_uint_eq(ev, 0);
    }
    /* at the bound: the client's oldest goes, not somebody else's */
    const char *other;
    ck_assert_int_eq(admit(st, 2, 1, 4, now, &other, &ev), APR_SUCCESS);
    ck_assert_int_eq(admit(st, 1, 1, 4, now + 10, &s, &ev), APR_SUCCESS);
    ck_assert_uint_eq(ev, 1);
    ck_assert_int_eq(pending_there(st, first), APR_NOTFOUND);
    ck_assert_int_eq(pending_there(st, other), APR_SUCCESS);
    ck_assert_int_eq(pending_there(st, s), APR_SUCCESS);
    assert_clean(st);
}
END_TEST

START_TEST(pending_admit_unproven)
{
    orgs_store_t *st = open_store();
    const char *s;
    apr_size_t ev;
    apr_time_t now = apr_time_now();
    ck_assert_int_eq(admit(st, 1, 0, 4, now, &s, &ev), APR_SUCCESS);
    ck_assert_int_eq(admit(st, 1, 0, 4, now + 1, &s, &ev), APR_SUCCESS);
    /* half the share without a cookie: refused, nothing written */
    ck_assert_int_eq(admit(st, 1, 0, 4, now + 2, &s, &ev), ORGS_EDENIED);
    ck_assert_int_eq(strncmp(s, "random-state-", 13), 0); /* the caller's state, unchanged */
    /* a browser with our cookie still gets in, another client too */
    ck_assert_int_eq(admit(st, 1, 1, 4, now + 3, &s, &ev), APR_SUCCESS);
    ck_assert_int_eq(admit(st, 2, 0, 4, now + 3, &s, &ev), APR_SUCCESS);
    /* expired entries do not count */
    ck_assert_int_eq(admit(st, 1, 0, 4, now + TTL + 10, &s, &ev), APR_SUCCESS);
    assert_clean(st);
}
END_TEST

START_TEST(pending_admit_full_table_evicts_oldest)
{
    orgs_store_t *st = open_store();
    const char *first, *s;
    apr_size_t ev;
    apr_time_t now = apr_time_now();
    orgs_store_pending_set_max(st, 5);
    ck_assert_int_eq(admit(st, 1, 1, 0, now, &first, &ev), APR_SUCCESS);
    for (int i = 1; i < 5; i++) {
        ck_assert_int_eq(admit(st, (unsigned char)(i + 1), 1, 0, now + i, &s, &ev), APR_SUCCESS);
    }
    /* full, nothing expired: the oldest of all goes instead of a refusal */
    ck_assert_int_eq(admit(st, 9, 1, 0, now + 10, &s, &ev), APR_SUCCESS);
    ck_assert_uint_eq(ev, 1);
    ck_assert_int_eq(pending_there(st, first), APR_NOTFOUND);
    ck_assert_int_eq(pending_there(st, s), APR_SUCCESS);
    assert_clean(st);
}
END_TEST

START_TEST(pending_admit_per_network)
{
    orgs_store_t *st = open_store();
    const char *first, *s, *elsewhere;
    apr_size_t ev;
    apr_time_t now = apr_time_now();
    /* many clients of one network (many IPv6 /64s of one /48): together
     * they hold at most the network's bound */
    ck_assert_int_eq(admit_net(st, 7, 4, 1, 1, 100, now, &first, &ev), APR_SUCCESS);
    ck_assert_int_eq(strncmp(first, "BwcHBwcHBwc", 11), 0); /* the network's range first */
    ck_assert_int_eq(admit_net(st, 8, 4, 1, 1, 100, now, &elsewhere, &ev), APR_SUCCESS);
    for (int i = 1; i < 4; i++) {
        ck_assert_int_eq(admit_net(st, 7, 4, (unsigned char)(i + 1), 1, 100, now + i, &s, &ev),
                         APR_SUCCESS);
        ck_assert_uint_eq(ev, 0);
    }
    /* a fifth client of the network: the network's oldest goes (another
     * client's), never another network's */
    ck_assert_int_eq(admit_net(st, 7, 4, 9, 1, 100, now + 10, &s, &ev), APR_SUCCESS);
    ck_assert_uint_eq(ev, 1);
    ck_assert_int_eq(pending_there(st, first), APR_NOTFOUND);
    ck_assert_int_eq(pending_there(st, elsewhere), APR_SUCCESS);
    ck_assert_int_eq(pending_there(st, s), APR_SUCCESS);
    assert_clean(st);
}
END_TEST

START_TEST(pending_admit_full_table_evicts_fullest_network)
{
    orgs_store_t *st = open_store();
    const char *victim1, *victim2, *s, *latest = NULL;
    apr_size_t ev;
    apr_time_t now = apr_time_now();
    orgs_store_pending_set_max(st, 10);
    /* two other networks' logins, the oldest of the table */
    ck_assert_int_eq(admit_net(st, 1, 0, 1, 1, 0, now, &victim1, &ev), APR_SUCCESS);
    ck_assert_int_eq(admit_net(st, 2, 0, 2, 1, 0, now + 1, &victim2, &ev), APR_SUCCESS);
    /* one network's many clients fill the table and go on */
    for (int i = 0; i < 30; i++) {
        ck_assert_int_eq(admit_net(st, 3, 0, (unsigned char)(10 + i), 1, 0, now + 10 + i, &s, &ev),
                         APR_SUCCESS);
        latest = s;
    }
    /* it only displaced its own: the other networks' older logins stay */
    ck_assert_int_eq(pending_there(st, victim1), APR_SUCCESS);
    ck_assert_int_eq(pending_there(st, victim2), APR_SUCCESS);
    ck_assert_int_eq(pending_there(st, latest), APR_SUCCESS);
    /* another network starting a login on the full table displaces the
     * flooding network's oldest too */
    ck_assert_int_eq(admit_net(st, 4, 0, 50, 1, 0, now + 100, &s, &ev), APR_SUCCESS);
    ck_assert_uint_eq(ev, 1);
    ck_assert_int_eq(pending_there(st, victim1), APR_SUCCESS);
    ck_assert_int_eq(pending_there(st, victim2), APR_SUCCESS);
    ck_assert_int_eq(pending_there(st, s), APR_SUCCESS);
    assert_clean(st);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, quota_users_per_connection);
    tcase_add_test(tc, quota_new_users_per_minute);
    tcase_add_test(tc, quota_users_per_org);
    tcase_add_test(tc, quota_sessions_per_org);
    tcase_add_test(tc, user_purge_unused);
    tcase_add_test(tc, user_purge_batches);
    tcase_add_test(tc, pending_admit_per_client);
    tcase_add_test(tc, pending_admit_unproven);
    tcase_add_test(tc, pending_admit_full_table_evicts_oldest);
    tcase_add_test(tc, pending_admit_per_network);
    tcase_add_test(tc, pending_admit_full_table_evicts_fullest_network);
}

int main(void)
{
    return fixture_run("store_quota", add_tests);
}
