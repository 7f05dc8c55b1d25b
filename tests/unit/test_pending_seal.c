/* Unit tests for src/core/pending_seal.c: a pending login sealed for the
 * browser's cookie opens for its state only, under its key only, untampered
 * and unexpired, and stays within its size bound. */
#include "testutil.h"
#include "pending_seal.h"

TESTUTIL_POOL_FIXTURE

#define STATE "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde"
#define T0 APR_TIME_C(1700000000000000)
#define TTL apr_time_from_sec(600)

static unsigned char key[ORGS_CRYPTO_KEY_LEN];

static orgs_pending_t login(void)
{
    orgs_pending_t pl;
    memset(&pl, 0, sizeof(pl));
    pl.state = STATE;
    pl.nonce = "nonce-nonce-nonce";
    pl.code_verifier = "verifier-verifier-verifier";
    pl.org_id = "org_0123456789abcdef";
    pl.conn_id = "conn_0123456789abcdef";
    pl.return_to = "/app/?x=1";
    pl.created = T0;
    pl.invite = "ticket-hash";
    memset(pl.browser, 0xa5, sizeof(pl.browser));
    return pl;
}

static char *sealed(const orgs_pending_t *pl)
{
    char *out = NULL;
    orgs_err_t err = {{0}};
    ck_assert_int_eq(orgs_pending_seal(key, pl, &out, pool, &err), APR_SUCCESS);
    return out;
}

static void key_setup(void)
{
    unsigned char state_key[ORGS_CRYPTO_KEY_LEN];
    memset(state_key, 7, sizeof(state_key));
    ck_assert_int_eq(orgs_pending_seal_key(state_key, key), APR_SUCCESS);
    /* its own label: not the login-state key itself */
    ck_assert(memcmp(key, state_key, sizeof(key)) != 0);
}

START_TEST(test_roundtrip)
{
    orgs_pending_t pl = login(), *got;
    orgs_err_t err = {{0}};
    char *v;

    key_setup();
    v = sealed(&pl);
    ck_assert(strncmp(v, STATE, ORGS_PENDING_SEAL_TAG) == 0);
    ck_assert_int_eq(v[ORGS_PENDING_SEAL_TAG], '.');
    ck_assert(orgs_pending_seal_names(v, STATE));
    ck_assert(orgs_pending_seal_created(v) == apr_time_from_sec(apr_time_sec(T0)));
    ck_assert(orgs_pending_seal_created("AbCdEfGhIj.x.y") == 0);
    /* no field travels in the clear */
    ck_assert_ptr_null(strstr(v, "org_0123"));
    ck_assert_int_eq(orgs_pending_unseal(key, v, STATE, T0 + 1, TTL, &got, pool, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(got->state, STATE);
    ck_assert_str_eq(got->nonce, pl.nonce);
    ck_assert_str_eq(got->code_verifier, pl.code_verifier);
    ck_assert_str_eq(got->org_id, pl.org_id);
    ck_assert_str_eq(got->conn_id, pl.conn_id);
    ck_assert_str_eq(got->return_to, pl.return_to);
    ck_assert_str_eq(got->invite, pl.invite);
    ck_assert(got->created == T0);
    ck_assert(memcmp(got->browser, pl.browser, sizeof(pl.browser)) == 0);
    /* without an invitation */
    pl.invite = NULL;
    v = sealed(&pl);
    ck_assert_int_eq(orgs_pending_unseal(key, v, STATE, T0, TTL, &got, pool, &err), APR_SUCCESS);
    ck_assert_ptr_null(got->invite);
    /* two seals of the same login differ (fresh nonce) */
    ck_assert_str_ne(sealed(&pl), sealed(&pl));
}
END_TEST

START_TEST(test_tampered)
{
    orgs_pending_t pl = login(), *got = NULL;
    orgs_err_t err = {{0}};
    unsigned char other[ORGS_CRYPTO_KEY_LEN];
    char *v;
    size_t n;

    key_setup();
    v = sealed(&pl);
    n = strlen(v);
    /* every character of the sealed part flipped once */
    for (size_t i = ORGS_PENDING_SEAL_TAG + 1; i < n; i++) {
        char *t = apr_pstrdup(pool, v);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        apr_status_t rv = orgs_pending_unseal(key, t, STATE, T0, TTL, &got, pool, &err);
        ck_assert_msg(rv == ORGS_ECRYPTO, "flip at %zu: %d", i, rv);
        ck_assert_ptr_null(got);
    }
    /* truncated, empty, garbage */
    ck_assert_int_eq(
        orgs_pending_unseal(key, apr_pstrndup(pool, v, n - 4), STATE, T0, TTL, &got, pool, &err),
        ORGS_ECRYPTO);
    ck_assert_int_eq(
        orgs_pending_unseal(key, apr_pstrcat(pool, STATE, NULL), STATE, T0, TTL, &got, pool, &err),
        APR_NOTFOUND);
    ck_assert_int_eq(orgs_pending_unseal(key, "AbCdEfGhIj.!!!", STATE, T0, TTL, &got, pool, &err),
                     ORGS_ECRYPTO);
    /* another key (another deployment's OrgsCryptoKey) */
    memset(other, 8, sizeof(other));
    ck_assert_int_eq(orgs_pending_unseal(other, v, STATE, T0, TTL, &got, pool, &err), ORGS_ECRYPTO);
    /* another state with the same tag: the state is associated data */
    ck_assert_int_eq(orgs_pending_unseal(key, v, "AbCdEfGhIjXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", T0,
                                         TTL, &got, pool, &err),
                     ORGS_ECRYPTO);
    /* another state altogether: not this login's value */
    ck_assert_int_eq(orgs_pending_unseal(key, v, "ZZCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde", T0,
                                         TTL, &got, pool, &err),
                     APR_NOTFOUND);
    ck_assert(!orgs_pending_seal_names(v, "short"));
    ck_assert(!orgs_pending_seal_names(NULL, STATE));
}
END_TEST

START_TEST(test_expiry)
{
    orgs_pending_t pl = login(), *got;
    orgs_err_t err = {{0}};
    char *v;

    key_setup();
    v = sealed(&pl);
    ck_assert_int_eq(orgs_pending_unseal(key, v, STATE, T0 + TTL, TTL, &got, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_pending_unseal(key, v, STATE, T0 + TTL + 1, TTL, &got, pool, &err),
                     ORGS_EEXPIRED);
    ck_assert_ptr_null(got);
    /* created far in the future: not ours */
    ck_assert_int_eq(
        orgs_pending_unseal(key, v, STATE, T0 - apr_time_from_sec(120), TTL, &got, pool, &err),
        ORGS_EEXPIRED);
    /* a little clock difference between nodes is fine */
    ck_assert_int_eq(
        orgs_pending_unseal(key, v, STATE, T0 - apr_time_from_sec(5), TTL, &got, pool, &err),
        APR_SUCCESS);
}
END_TEST

START_TEST(test_bounds)
{
    orgs_pending_t pl = login();
    orgs_err_t err = {{0}};
    char *v = NULL;

    key_setup();
    /* a return_to that would not fit in a cookie is refused, nothing sealed */
    pl.return_to = apr_pstrcat(pool, "/", testutil_repeat(pool, 'x', ORGS_URL_MAX - 1), NULL);
    ck_assert_int_eq(orgs_pending_seal(key, &pl, &v, pool, &err), APR_ENOSPC);
    ck_assert_ptr_null(v);
    /* a typical one fits several times over */
    pl.return_to = apr_pstrcat(pool, "/", testutil_repeat(pool, 'x', 300), NULL);
    v = sealed(&pl);
    ck_assert_uint_le(strlen(v), ORGS_PENDING_SEAL_MAX);
    /* what the store would refuse is not sealed either */
    pl = login();
    pl.nonce = NULL;
    ck_assert_int_eq(orgs_pending_seal(key, &pl, &v, pool, &err), APR_EINVAL);
    pl = login();
    pl.state = "short";
    ck_assert_int_eq(orgs_pending_seal(key, &pl, &v, pool, &err), APR_EINVAL);
    pl.state = "has a space in it, which no state has";
    ck_assert_int_eq(orgs_pending_seal(key, &pl, &v, pool, &err), APR_EINVAL);
}
END_TEST

static Suite *pending_seal_suite(void)
{
    Suite *s = suite_create("pending_seal");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_tampered);
    tcase_add_test(tc, test_expiry);
    tcase_add_test(tc, test_bounds);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(pending_seal_suite());
}
