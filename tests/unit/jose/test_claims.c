/* Unit tests for src/core/jose_claims.c: the claim checks of an ID token
 * and the claim accessors. */
#include "fixture.h"

static json_t *valid_claims(void)
{
    const json_t *c = json_array_get(json_object_get(vectors, "cases"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(c, "name")), "rs256_valid");
    json_t *claims = NULL;
    orgs_err_t err = {{0}};
    ck_assert_int_eq(orgs_jose_jws_verify(json_string_value(json_object_get(c, "token")),
                                          load_jwks("jwks.json"), &claims, pool, &err),
                     APR_SUCCESS);
    return claims;
}

/* ---- claims */

START_TEST(test_claims_accessors)
{
    json_t *claims = valid_claims();
    ck_assert_str_eq(orgs_jose_claim_str(claims, "sub"), "00u1abcd");
    ck_assert_str_eq(orgs_jose_claim_str(claims, "email"), "alice@example.com");
    ck_assert_str_eq(orgs_jose_claim_str(claims, "name"), "Alice Example");

    apr_table_t *t = orgs_jose_claims_table(claims, pool);
    ck_assert_str_eq(apr_table_get(t, "email"), "alice@example.com");
    ck_assert_str_eq(apr_table_get(t, "email_verified"), "true");
    ck_assert_str_eq(apr_table_get(t, "auth_time"), "1700000000");
    ck_assert_str_eq(apr_table_get(t, "exp"), "4102444800");
    ck_assert_str_eq(apr_table_get(t, "score"), "1.5");
}
END_TEST

START_TEST(test_claims_accessors_negative)
{
    json_t *claims = valid_claims();
    ck_assert_ptr_null(orgs_jose_claim_str(claims, "exp"));    /* number */
    ck_assert_ptr_null(orgs_jose_claim_str(claims, "amr"));    /* array */
    ck_assert_ptr_null(orgs_jose_claim_str(claims, "absent")); /* absent */
    ck_assert_ptr_null(orgs_jose_claim_str(NULL, "sub"));

    apr_table_t *t = orgs_jose_claims_table(claims, pool);
    ck_assert_ptr_null(apr_table_get(t, "amr"));    /* array left out */
    ck_assert_ptr_null(apr_table_get(t, "groups")); /* object left out */
    ck_assert_ptr_null(apr_table_get(t, "acr"));    /* null left out */
    ck_assert_int_eq(apr_is_empty_table(orgs_jose_claims_table(NULL, pool)), 1);

    /* A string with an embedded NUL is never handed out truncated. */
    json_t *nul = json_pack("{s:s%}", "sub", "ab\0cd", (size_t)5);
    ck_assert_ptr_null(orgs_jose_claim_str(nul, "sub"));
    ck_assert_ptr_null(apr_table_get(orgs_jose_claims_table(nul, pool), "sub"));
    json_decref(nul);
}
END_TEST

START_TEST(test_claims_fail_closed_on_missing_expectation)
{
    json_t *claims = valid_claims();
    orgs_jose_expect_t e = expect_default();
    orgs_err_t err = {{0}};
    apr_time_t now = vec_now();

    ck_assert_int_eq(orgs_jose_claims_check(claims, &e, now, &err), APR_SUCCESS);
    e.nonce = NULL;
    ck_assert_int_eq(orgs_jose_claims_check(claims, &e, now, &err), ORGS_ECLAIM);
    e = expect_default();
    e.issuer = NULL;
    ck_assert_int_eq(orgs_jose_claims_check(claims, &e, now, &err), ORGS_ECLAIM);
    e = expect_default();
    e.client_id = NULL;
    ck_assert_int_eq(orgs_jose_claims_check(claims, &e, now, &err), ORGS_ECLAIM);
    ck_assert_int_eq(orgs_jose_claims_check(claims, NULL, now, &err), ORGS_ECLAIM);
    ck_assert_int_eq(orgs_jose_claims_check(NULL, &e, now, &err), ORGS_ECLAIM);
}
END_TEST

START_TEST(test_claims_skew_boundaries)
{
    json_t *claims = valid_claims(); /* iat 1700000000, exp 4102444800 */
    orgs_jose_expect_t e = expect_default();
    orgs_err_t err = {{0}};

    e.skew = 0;
    /* iat == now is fine, iat one second ahead of now is not (no skew) */
    ck_assert_int_eq(orgs_jose_claims_check(claims, &e, apr_time_from_sec(1700000000), &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_jose_claims_check(claims, &e, apr_time_from_sec(1699999999), &err),
                     ORGS_ECLAIM);
    ck_assert_str_eq(err.msg, "iat: issued in the future");
    /* exp must be strictly after now */
    ck_assert_int_eq(orgs_jose_claims_check(claims, &e, apr_time_from_sec(4102444799), &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_jose_claims_check(claims, &e, apr_time_from_sec(4102444800), &err),
                     ORGS_ECLAIM);
    ck_assert_str_eq(err.msg, "exp: token expired");
    /* with 60 s skew, 59 s past exp still passes, 60 s does not */
    e.skew = apr_time_from_sec(60);
    ck_assert_int_eq(orgs_jose_claims_check(claims, &e, apr_time_from_sec(4102444859), &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_jose_claims_check(claims, &e, apr_time_from_sec(4102444860), &err),
                     ORGS_ECLAIM);
}
END_TEST

START_TEST(test_claims_are_pool_owned)
{
    /* The claims object lives and dies with its pool (ASan reports a leak or
     * a double free otherwise). */
    apr_pool_t *sub;
    apr_pool_create(&sub, pool);
    const json_t *c = json_array_get(json_object_get(vectors, "cases"), 0);
    json_t *claims = NULL;
    orgs_err_t err = {{0}};
    ck_assert_int_eq(orgs_jose_jws_verify(json_string_value(json_object_get(c, "token")),
                                          load_jwks("jwks.json"), &claims, sub, &err),
                     APR_SUCCESS);
    json_incref(claims);
    apr_pool_destroy(sub);
    ck_assert_int_eq((int)claims->refcount, 1);
    ck_assert_str_eq(orgs_jose_claim_str(claims, "sub"), "00u1abcd");
    json_decref(claims);
}
END_TEST

static void add_cases(Suite *s)
{
    TCase *tc = fixture_tcase("claims");
    tcase_add_test(tc, test_claims_accessors);
    tcase_add_test(tc, test_claims_accessors_negative);
    tcase_add_test(tc, test_claims_fail_closed_on_missing_expectation);
    tcase_add_test(tc, test_claims_skew_boundaries);
    tcase_add_test(tc, test_claims_are_pool_owned);
    suite_add_tcase(s, tc);
}

int main(void)
{
    return fixture_run("jose_claims", add_cases);
}
