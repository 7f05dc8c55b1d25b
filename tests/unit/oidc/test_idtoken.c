/* Unit tests for src/core/oidc_idtoken.c: ID token verification with a
 * JWKS refresh on an unknown kid. */
#include "fixture.h"

/* ---- ID token verification ---------------------------------------------- */

/* orgs_oidc_id_token_verify of a token for aud signed by k under kid, with
 * nonce N1, checked against nonce at T0 + after_s. */
static apr_status_t verify(orgs_oidc_provider_t *prov, EVP_PKEY *k, const char *kid,
                           const char *aud, const char *nonce, int after_s, json_t **claims,
                           apr_pool_t *p)
{
    orgs_err_t err = {""};
    return orgs_oidc_id_token_verify(st, prov, "client1", id_token(k, kid, aud, "N1"), nonce,
                                     T0 + apr_time_from_sec(after_s), 0, NULL, claims, p, &err);
}

START_TEST(id_token_ok)
{
    orgs_oidc_provider_t *prov = provider();
    json_t *claims = NULL;
    ck_assert_int_eq(verify(prov, key1, "k1", "client1", "N1", 0, &claims, pool), APR_SUCCESS);
    ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")), "u1");
    ck_assert_int_eq(ts_hits(&srv, "/jwks"), 1);
}
END_TEST

START_TEST(id_token_rotated_key)
{
    orgs_oidc_provider_t *prov = provider();
    /* the IdP rotated to k2 a while after our fetch */
    ts_json(&srv, "/jwks", 200, apr_psprintf(pool, "{\"keys\":[%s]}", jwk(key2, "k2")));
    json_t *claims = NULL;
    ck_assert_int_eq(verify(prov, key2, "k2", "client1", "N1", 120, &claims, pool), APR_SUCCESS);
    ck_assert_int_eq(ts_hits(&srv, "/jwks"), 2);
}
END_TEST

START_TEST(id_token_unknown_kid_throttled)
{
    /* a token under the unknown kid k2, at each time: what it gives, and
     * the JWKS fetches so far */
    static const struct {
        const char *when;
        int after_s, fetches;
    } steps[] = {
        {"at once: one refresh, still unknown", 0, 2},
        {"right after: no second fetch", 1, 2},
        {"after the interval: one fetch, still unknown", 120, 3},
    };
    orgs_oidc_provider_t *prov = provider();
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        json_t *claims = NULL;
        ck_assert_msg(verify(prov, key2, "k2", "client1", "N1", steps[i].after_s, &claims, pool) ==
                          ORGS_ENOKID,
                      "%s: not ORGS_ENOKID", steps[i].when);
        ck_assert_ptr_null(claims);
        ck_assert_msg(ts_hits(&srv, "/jwks") == steps[i].fetches, "%s: %d fetches", steps[i].when,
                      ts_hits(&srv, "/jwks"));
    }
}
END_TEST

START_TEST(id_token_bad_claims_and_sig)
{
    static const struct {
        const char *what;
        int by_key2;
        const char *kid, *aud, *nonce;
        int after_s;
        apr_status_t want;
    } bad[] = {
        {"another nonce", 0, "k1", "client1", "N2", 0, ORGS_ECLAIM},
        {"another audience", 0, "k1", "other", "N1", 0, ORGS_ECLAIM},
        {"expired", 0, "k1", "client1", "N1", 3600, ORGS_ECLAIM},
        {"signed by key2 but claiming kid k1", 1, "k1", "client1", "N1", 0, ORGS_EBADSIG},
    };
    orgs_oidc_provider_t *prov = provider();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *claims = NULL;
        apr_status_t rv = verify(prov, bad[i].by_key2 ? key2 : key1, bad[i].kid, bad[i].aud,
                                 bad[i].nonce, bad[i].after_s, &claims, pool);
        ck_assert_msg(rv == bad[i].want, "%s: %d", bad[i].what, rv);
        ck_assert_ptr_null(claims);
    }
    /* all checked against the one JWKS fetched */
    ck_assert_int_eq(ts_hits(&srv, "/jwks"), 1);
}
END_TEST

/* A login with the JWKS cached parses neither the JWKS nor the discovery
 * document again, and checks no key again: the sets are kept per process
 * by the document's bytes. */
START_TEST(id_token_cached_jwks_parsed_once)
{
    orgs_oidc_provider_t *prov = provider();
    json_t *claims = NULL;
    orgs_err_t err = {""};
    apr_uint64_t before = orgs_jose_jwks_parsed();
    ck_assert_int_eq(verify(prov, key1, "k1", "client1", "N1", 0, &claims, pool), APR_SUCCESS);
    ck_assert_int_eq(orgs_jose_jwks_parsed(), before + 1);
    for (int i = 0; i < 5; i++) {
        apr_pool_t *login;
        orgs_oidc_provider_t *again = NULL;
        apr_pool_create(&login, pool);
        /* every login reads the provider back from the store's cache */
        ck_assert_int_eq(orgs_oidc_provider_get(st, iss(), T0 + i, NULL, &again, login, &err),
                         APR_SUCCESS);
        ck_assert_str_eq(again->jwks_uri, prov->jwks_uri);
        ck_assert_int_eq(verify(again, key1, "k1", "client1", "N1", 0, &claims, login),
                         APR_SUCCESS);
        apr_pool_destroy(login);
    }
    ck_assert_int_eq(orgs_jose_jwks_parsed(), before + 1);
    ck_assert_int_eq(ts_hits(&srv, "/jwks"), 1);
    /* a changed set is a new document: parsed once, then remembered too */
    ts_json(&srv, "/jwks", 200, apr_psprintf(pool, "{\"keys\":[%s]}", jwk(key2, "k2")));
    ck_assert_int_eq(verify(prov, key2, "k2", "client1", "N1", 120, &claims, pool), APR_SUCCESS);
    ck_assert_int_eq(orgs_jose_jwks_parsed(), before + 2);
    ck_assert_int_eq(verify(prov, key2, "k2", "client1", "N1", 120, &claims, pool), APR_SUCCESS);
    ck_assert_int_eq(orgs_jose_jwks_parsed(), before + 2);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, id_token_cached_jwks_parsed_once);
    tcase_add_test(tc, id_token_ok);
    tcase_add_test(tc, id_token_rotated_key);
    tcase_add_test(tc, id_token_unknown_kid_throttled);
    tcase_add_test(tc, id_token_bad_claims_and_sig);
}

int main(void)
{
    return fixture_run("oidc_idtoken", add_tests);
}
