/* Unit tests for src/core/oidc_idtoken.c: ID token verification with a
 * JWKS refresh on an unknown kid. */
#include "fixture.h"

/* ---- ID token verification ---------------------------------------------- */

START_TEST(id_token_ok)
{
    orgs_oidc_provider_t *prov = provider();
    json_t *claims = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_oidc_id_token_verify(st, prov, "client1",
                                               id_token(key1, "k1", "client1", "N1"), "N1", T0, 0,
                                               NULL, &claims, pool, &err),
                     APR_SUCCESS);
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
    orgs_err_t err = {""};
    ck_assert_int_eq(
        orgs_oidc_id_token_verify(st, prov, "client1", id_token(key2, "k2", "client1", "N1"), "N1",
                                  T0 + apr_time_from_sec(120), 0, NULL, &claims, pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(ts_hits(&srv, "/jwks"), 2);
}
END_TEST

START_TEST(id_token_unknown_kid_throttled)
{
    orgs_oidc_provider_t *prov = provider();
    json_t *claims = NULL;
    orgs_err_t err = {""};
    /* an unknown kid: one refresh at once, still unknown */
    ck_assert_int_eq(orgs_oidc_id_token_verify(st, prov, "client1",
                                               id_token(key2, "k2", "client1", "N1"), "N1", T0, 0,
                                               NULL, &claims, pool, &err),
                     ORGS_ENOKID);
    ck_assert_ptr_null(claims);
    ck_assert_int_eq(ts_hits(&srv, "/jwks"), 2);
    /* right after: no second fetch */
    ck_assert_int_eq(
        orgs_oidc_id_token_verify(st, prov, "client1", id_token(key2, "k2", "client1", "N1"), "N1",
                                  T0 + apr_time_from_sec(1), 0, NULL, &claims, pool, &err),
        ORGS_ENOKID);
    ck_assert_int_eq(ts_hits(&srv, "/jwks"), 2);
    /* after the interval: one fetch, still unknown */
    ck_assert_int_eq(
        orgs_oidc_id_token_verify(st, prov, "client1", id_token(key2, "k2", "client1", "N1"), "N1",
                                  T0 + apr_time_from_sec(120), 0, NULL, &claims, pool, &err),
        ORGS_ENOKID);
    ck_assert_int_eq(ts_hits(&srv, "/jwks"), 3);
}
END_TEST

START_TEST(id_token_bad_claims_and_sig)
{
    orgs_oidc_provider_t *prov = provider();
    json_t *claims = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_oidc_id_token_verify(st, prov, "client1",
                                               id_token(key1, "k1", "client1", "N1"), "N2", T0, 0,
                                               NULL, &claims, pool, &err),
                     ORGS_ECLAIM);
    ck_assert_int_eq(orgs_oidc_id_token_verify(st, prov, "client1",
                                               id_token(key1, "k1", "other", "N1"), "N1", T0, 0,
                                               NULL, &claims, pool, &err),
                     ORGS_ECLAIM);
    ck_assert_int_eq(
        orgs_oidc_id_token_verify(st, prov, "client1", id_token(key1, "k1", "client1", "N1"), "N1",
                                  T0 + apr_time_from_sec(3600), 0, NULL, &claims, pool, &err),
        ORGS_ECLAIM);
    /* signed by key2 but claiming kid k1 */
    ck_assert_int_eq(orgs_oidc_id_token_verify(st, prov, "client1",
                                               id_token(key2, "k1", "client1", "N1"), "N1", T0, 0,
                                               NULL, &claims, pool, &err),
                     ORGS_EBADSIG);
    ck_assert_ptr_null(claims);
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
    ck_assert_int_eq(orgs_oidc_id_token_verify(st, prov, "client1",
                                               id_token(key1, "k1", "client1", "N1"), "N1", T0, 0,
                                               NULL, &claims, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_jose_jwks_parsed(), before + 1);
    for (int i = 0; i < 5; i++) {
        apr_pool_t *login;
        orgs_oidc_provider_t *again = NULL;
        apr_pool_create(&login, pool);
        /* every login reads the provider back from the store's cache */
        ck_assert_int_eq(orgs_oidc_provider_get(st, iss(), T0 + i, NULL, &again, login, &err),
                         APR_SUCCESS);
        ck_assert_str_eq(again->jwks_uri, prov->jwks_uri);
        ck_assert_int_eq(orgs_oidc_id_token_verify(st, again, "client1",
                                                   id_token(key1, "k1", "client1", "N1"), "N1", T0,
                                                   0, NULL, &claims, login, &err),
                         APR_SUCCESS);
        apr_pool_destroy(login);
    }
    ck_assert_int_eq(orgs_jose_jwks_parsed(), before + 1);
    ck_assert_int_eq(ts_hits(&srv, "/jwks"), 1);
    /* a changed set is a new document: parsed once, then remembered too */
    ts_json(&srv, "/jwks", 200, apr_psprintf(pool, "{\"keys\":[%s]}", jwk(key2, "k2")));
    ck_assert_int_eq(
        orgs_oidc_id_token_verify(st, prov, "client1", id_token(key2, "k2", "client1", "N1"), "N1",
                                  T0 + apr_time_from_sec(120), 0, NULL, &claims, pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(orgs_jose_jwks_parsed(), before + 2);
    ck_assert_int_eq(
        orgs_oidc_id_token_verify(st, prov, "client1", id_token(key2, "k2", "client1", "N1"), "N1",
                                  T0 + apr_time_from_sec(120), 0, NULL, &claims, pool, &err),
        APR_SUCCESS);
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
