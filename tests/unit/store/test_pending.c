/* Unit tests for src/core/store/pending.c: pending logins: single use, browser binding, expiry,
 * per-browser and global bounds, the time index. */
#include "fixture.h"

static void pending(orgs_store_t *st, const char *state, unsigned char b, apr_time_t created,
                    apr_status_t want)
{
    orgs_pending_t pl = {0};
    pl.state = state;
    memset(pl.browser, b, sizeof(pl.browser));
    pl.nonce = "nonce-1";
    pl.code_verifier = "verifier-1";
    pl.org_id = "org_AAAAAAAAAAAAAAAA";
    pl.return_to = "/app/";
    pl.created = created;
    ck_assert_int_eq(orgs_store_pending_put(st, &pl, 2, apr_time_from_sec(600), pool, &err), want);
}

/* b: the byte the browser hash is made of; 0 = no browser cookie */
static apr_status_t take(orgs_store_t *st, const char *state, unsigned char b, apr_time_t now,
                         orgs_pending_t **pl)
{
    unsigned char mac[32];
    memset(mac, b, sizeof(mac));
    return orgs_store_pending_take(st, state, b ? mac : NULL, now, apr_time_from_sec(600), pl, pool,
                                   &err);
}

START_TEST(pending_logins)
{
    orgs_store_t *st = open_store();
    orgs_pending_t *pl;
    apr_time_t now = apr_time_now();
    pending(st, "state-aaaaaaaaaaaaaaa", 1, now, APR_SUCCESS);
    ck_assert_int_eq(take(st, "state-aaaaaaaaaaaaaaa", 1, now + 5, &pl), APR_SUCCESS);
    ck_assert_str_eq(pl->nonce, "nonce-1");
    ck_assert_str_eq(pl->code_verifier, "verifier-1");
    ck_assert_str_eq(pl->return_to, "/app/");
    ck_assert_int_eq(pl->browser[31], 1);
    ck_assert_int_eq(pl->created, now);
    ck_assert_int_eq(take(st, "state-aaaaaaaaaaaaaaa", 1, now + 5, &pl), APR_NOTFOUND);
    /* at most 2 per browser: the oldest goes */
    pending(st, "state-1111111111111111", 2, now + 1, APR_SUCCESS);
    pending(st, "state-2222222222222222", 2, now + 2, APR_SUCCESS);
    pending(st, "state-3333333333333333", 2, now + 3, APR_SUCCESS);
    pending(st, "state-4444444444444444", 3, now + 3, APR_SUCCESS);
    ck_assert_int_eq(take(st, "state-1111111111111111", 2, now + 5, &pl), APR_NOTFOUND);
    ck_assert_int_eq(take(st, "state-2222222222222222", 2, now + 5, &pl), APR_SUCCESS);
    ck_assert_int_eq(take(st, "state-3333333333333333", 2, now + 5, &pl), APR_SUCCESS);
    ck_assert_int_eq(take(st, "state-4444444444444444", 3, now + 5, &pl), APR_SUCCESS);
    assert_clean(st);
}
END_TEST

START_TEST(pending_neg)
{
    orgs_store_t *st = open_store();
    orgs_pending_t *pl;
    unsigned char mac[32];
    apr_time_t now = apr_time_now();
    apr_interval_time_t ttl = apr_time_from_sec(600);
    pending(st, "short", 1, now, APR_EINVAL);
    pending(st, "state with spaces in it", 1, now, APR_EINVAL);
    pending(st, "state-aaaaaaaaaaaaaaa", 1, now, APR_SUCCESS);
    pending(st, "state-aaaaaaaaaaaaaaa", 4, now, APR_EEXIST);
    /* expired: refused and gone */
    ck_assert_int_eq(take(st, "state-aaaaaaaaaaaaaaa", 1, now + apr_time_from_sec(601), &pl),
                     ORGS_EEXPIRED);
    ck_assert_int_eq(take(st, "state-aaaaaaaaaaaaaaa", 1, now, &pl), APR_NOTFOUND);
    ck_assert_int_eq(take(st, "nope", 1, now, &pl), APR_NOTFOUND);
    ck_assert_int_eq(take(st, "nope", 0, now, &pl), APR_NOTFOUND);
    /* an expired entry of the same browser is dropped by the next put */
    pending(st, "state-old-xxxxxxxxxxxx", 5, now - apr_time_from_sec(700), APR_SUCCESS);
    pending(st, "state-new-xxxxxxxxxxxx", 5, now, APR_SUCCESS);
    memset(mac, 5, sizeof(mac));
    ck_assert_int_eq(
        orgs_store_pending_take(st, "state-old-xxxxxxxxxxxx", mac, now, ttl * 10, &pl, pool, &err),
        APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

/* L1: the browser is compared before the entry is consumed, so a leaked
 * state used from another browser (or without the cookie) is refused and
 * the rightful browser can still finish. */
START_TEST(pending_other_browser_keeps_entry)
{
    orgs_store_t *st = open_store();
    orgs_pending_t *pl = NULL;
    apr_time_t now = apr_time_now();
    pending(st, "state-victim-xxxxxxxxx", 1, now, APR_SUCCESS);
    ck_assert_int_eq(take(st, "state-victim-xxxxxxxxx", 2, now + 5, &pl), ORGS_EDENIED);
    ck_assert_ptr_null(pl);
    ck_assert_int_eq(take(st, "state-victim-xxxxxxxxx", 0, now + 5, &pl), ORGS_EDENIED);
    ck_assert_int_eq(take(st, "state-victim-xxxxxxxxx", 2, now + 5, &pl), ORGS_EDENIED);
    assert_clean(st);
    ck_assert_int_eq(take(st, "state-victim-xxxxxxxxx", 1, now + 5, &pl), APR_SUCCESS);
    ck_assert_str_eq(pl->nonce, "nonce-1");
    ck_assert_int_eq(take(st, "state-victim-xxxxxxxxx", 1, now + 5, &pl), APR_NOTFOUND);
    /* expired and the wrong browser: still denied, not consumed */
    pending(st, "state-late-xxxxxxxxxxx", 3, now, APR_SUCCESS);
    ck_assert_int_eq(take(st, "state-late-xxxxxxxxxxx", 4, now + apr_time_from_sec(601), &pl),
                     ORGS_EDENIED);
    ck_assert_int_eq(take(st, "state-late-xxxxxxxxxxx", 3, now + apr_time_from_sec(601), &pl),
                     ORGS_EEXPIRED);
    ck_assert_int_eq(take(st, "state-late-xxxxxxxxxxx", 3, now, &pl), APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

/* n pending logins, each from its own "browser" (a client that never
 * sends the cookie). */
static apr_status_t pending_n(orgs_store_t *st, int from, int n, apr_time_t created)
{
    apr_status_t rv = APR_SUCCESS;
    for (int i = from; rv == APR_SUCCESS && i < from + n; i++) {
        orgs_pending_t pl = {0};
        pl.state = apr_psprintf(pool, "state-flood-%010d", i);
        memcpy(pl.browser, &i, sizeof(i));
        pl.nonce = "nonce-1";
        pl.code_verifier = "verifier-1";
        pl.created = created;
        rv = orgs_store_pending_put(st, &pl, 2, apr_time_from_sec(600), pool, &err);
    }
    return rv;
}

static apr_status_t take_n(orgs_store_t *st, int i, apr_time_t now)
{
    orgs_pending_t *pl;
    unsigned char mac[32] = {0};
    memcpy(mac, &i, sizeof(i));
    return orgs_store_pending_take(st, apr_psprintf(pool, "state-flood-%010d", i), mac, now,
                                   apr_time_from_sec(600), &pl, pool, &err);
}

/* H1: the table has a global bound whatever the browsers; expired entries
 * make room (oldest first), live ones are never evicted by strangers. */
START_TEST(pending_global_bound)
{
    orgs_store_t *st = open_store();
    apr_time_t now = apr_time_now(), later = now + apr_time_from_sec(601);
    orgs_store_pending_set_max(st, 40);
    ck_assert_int_eq(pending_n(st, 0, 40, now), APR_SUCCESS);
    ck_assert_int_eq(pending_n(st, 40, 1, now + 1), APR_ENOSPC);
    ck_assert_ptr_nonnull(strstr(err.msg, "too many sign-ins"));
    ck_assert_int_eq(take_n(st, 40, now + 1), APR_NOTFOUND); /* nothing written */
    ck_assert_int_eq(take_n(st, 0, now + 1), APR_SUCCESS);   /* the live ones stay */
    ck_assert_int_eq(pending_n(st, 40, 1, now + 1), APR_SUCCESS);
    ck_assert_int_eq(pending_n(st, 41, 1, now + 1), APR_ENOSPC);
    assert_clean(st);
    /* every put drops a few expired ones; a table over its (lowered) bound
     * drops all expired ones to make room */
    orgs_store_pending_set_max(st, 20);
    ck_assert_int_eq(pending_n(st, 100, 1, later + 2), APR_SUCCESS);
    for (int i = 1; i <= 40; i++) {
        ck_assert_int_eq(take_n(st, i, later + 2), APR_NOTFOUND);
    }
    ck_assert_int_eq(take_n(st, 100, later + 2), APR_SUCCESS);
    assert_clean(st);
    /* 0 restores the default bound */
    orgs_store_pending_set_max(st, 0);
    ck_assert_int_eq(pending_n(st, 200, 41, later + 3), APR_SUCCESS);
    assert_clean(st);
}
END_TEST

/* H1: every put drops a few expired entries of any browser, oldest first,
 * even when the table is far from full. */
START_TEST(pending_sweep_on_put)
{
    orgs_store_t *st = open_store();
    apr_time_t now = apr_time_now(), later = now + apr_time_from_sec(601);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(pending_n(st, i, 1, now + apr_time_from_sec(i)), APR_SUCCESS);
    }
    ck_assert_int_eq(pending_n(st, 50, 1, later), APR_SUCCESS); /* only 0 has expired */
    ck_assert_int_eq(take_n(st, 0, now + 20), APR_NOTFOUND);
    ck_assert_int_eq(take_n(st, 1, now + 20), APR_SUCCESS);
    ck_assert_int_eq(pending_n(st, 51, 1, later + apr_time_from_sec(100)),
                     APR_SUCCESS); /* 2..9 expired */
    for (int i = 2; i < 6; i++) {
        ck_assert_int_eq(take_n(st, i, now + 20), APR_NOTFOUND); /* the 4 oldest went */
    }
    ck_assert_int_eq(take_n(st, 6, now + 20), APR_SUCCESS); /* the others wait their turn */
    assert_clean(st);
}
END_TEST

/* A store full for inserts, with the pending table at its bound and every
 * entry expired: the put's sweep commits in its own transaction (which may
 * use the reserve) even though the insert after it is refused, so the
 * expired entries are gone after the first attempt. */
START_TEST(pending_sweep_on_full_store)
{
    orgs_store_t *st;
    orgs_pending_t *pl;
    apr_status_t rv = APR_SUCCESS;
    apr_time_t now = apr_time_now(), later = now + apr_time_from_sec(601);
    char dn[200];
    memset(dn, 'D', sizeof(dn) - 1);
    dn[sizeof(dn) - 1] = '\0';
    ck_assert_int_eq(
        orgs_store_open(&st, dir, (apr_uint64_t)1 << 20, 0, ORGS_STORE_CREATE, keys, pool, &err),
        APR_SUCCESS);
    orgs_store_pending_set_max(st, 40);
    for (int i = 0; i < 40; i++) {
        pending(st, apr_psprintf(pool, "state-full-%08d", i), (unsigned char)(i + 1), now,
                APR_SUCCESS);
    }
    for (int i = 0; i < 100000 && rv == APR_SUCCESS; i++) {
        orgs_org_t o = {.name = apr_psprintf(pool, "org%d", i), .display_name = dn};
        rv = orgs_store_org_create(st, &o, pool, &err);
    }
    ck_assert_int_eq(rv, ORGS_ESTOREFULL);
    orgs_pending_t in = {.state = "state-new-0000000000",
                         .nonce = "n",
                         .code_verifier = "v",
                         .org_id = "org_AAAAAAAAAAAAAAAA",
                         .return_to = "/",
                         .created = later};
    rv = orgs_store_pending_put(st, &in, 2, apr_time_from_sec(600), pool, &err);
    ck_assert_msg(rv == APR_SUCCESS || rv == ORGS_ESTOREFULL, "put: %d %s", rv, err.msg);
    for (int i = 0; i < 40; i++) {
        unsigned char mac[32];
        memset(mac, i + 1, sizeof(mac));
        ck_assert_int_eq(orgs_store_pending_get(st, apr_psprintf(pool, "state-full-%08d", i), mac,
                                                now, apr_time_from_sec(600), &pl, pool, &err),
                         APR_NOTFOUND);
    }
    orgs_store_close(st);
}
END_TEST

/* Stores written before the time index: a read-only open works without
 * it, a write open indexes their pending logins. */
START_TEST(pending_time_index_rebuilt)
{
    orgs_store_t *st = open_store();
    apr_array_header_t *problems;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    apr_time_t now = apr_time_now();
    ck_assert_int_eq(pending_n(st, 0, 3, now), APR_SUCCESS);
    orgs_store_close(st);
    ck_assert_int_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 64);
    ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "pending_time", 0, &dbi), 0);
    ck_assert_int_eq(mdb_drop(txn, dbi, 1), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    ck_assert_int_eq(orgs_store_open(&st, dir, 0, 0, ORGS_STORE_RDONLY, keys, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_check(st, &problems, pool, &err), APR_SUCCESS);
    orgs_store_close(st);
    st = open_store();
    assert_clean(st);
    ck_assert_int_eq(pending_n(st, 10, 1, now + apr_time_from_sec(601)), APR_SUCCESS);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(take_n(st, i, now), APR_NOTFOUND); /* swept through the index */
    }
    assert_clean(st);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, pending_logins);
    tcase_add_test(tc, pending_neg);
    tcase_add_test(tc, pending_other_browser_keeps_entry);
    tcase_add_test(tc, pending_global_bound);
    tcase_add_test(tc, pending_sweep_on_put);
    tcase_add_test(tc, pending_sweep_on_full_store);
    tcase_add_test(tc, pending_time_index_rebuilt);
}

int main(void)
{
    return fixture_run("store_pending", add_tests);
}
