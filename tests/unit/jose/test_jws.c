/* Unit tests for src/core/jose_jws.c: data-driven token vectors from
 * tests/vectors/jose (verification, then the claim checks), and the inputs
 * the vectors cannot express. */
#include "fixture.h"

static apr_status_t code_of(const char *name)
{
    static const struct {
        const char *name;
        apr_status_t rv;
    } codes[] = {
        {"ok", APR_SUCCESS},       {"EINVAL", APR_EINVAL},  {"EBADALG", ORGS_EBADALG},
        {"EBADSIG", ORGS_EBADSIG}, {"ENOKID", ORGS_ENOKID}, {"ECLAIM", ORGS_ECLAIM},
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (strncmp(name, codes[i].name, strlen(codes[i].name)) == 0) {
            return codes[i].rv;
        }
    }
    ck_abort_msg("unknown expected code %s", name);
    return APR_EGENERAL;
}

/* One vector: verify, then (if it verified) the claim checks; the status
 * and, for claim failures, the check named first in err->msg must match.
 * No message may echo any part of the token. */
START_TEST(test_vector)
{
    const json_t *c = json_array_get(json_object_get(vectors, "cases"), (size_t)_i);
    const char *name = json_string_value(json_object_get(c, "name"));
    const char *token = json_string_value(json_object_get(c, "token"));
    const char *want_verify = json_string_value(json_object_get(c, "verify"));
    const char *want_claims = json_string_value(json_object_get(c, "claims"));
    orgs_jwks_t *jwks = load_jwks(json_string_value(json_object_get(c, "jwks")));
    orgs_jose_expect_t e = expect_default();
    orgs_err_t err = {{0}};
    json_t *claims = NULL;

    apr_status_t rv = orgs_jose_jws_verify(token, jwks, &claims, pool, &err);
    ck_assert_msg(rv == code_of(want_verify), "%s: verify got %d (%s), want %s", name, rv, err.msg,
                  want_verify);
    if (rv != APR_SUCCESS) {
        ck_assert_msg(claims == NULL, "%s: claims set on failure", name);
        ck_assert_msg(err.msg[0] != '\0', "%s: no error text", name);
        ck_assert_msg(strlen(token) < 12 || !strstr(err.msg, apr_pstrndup(pool, token, 12)),
                      "%s: message echoes the token", name);
        ck_assert_ptr_null(want_claims);
        return;
    }
    ck_assert_msg(json_is_object(claims), "%s: no claims", name);
    ck_assert_ptr_nonnull(want_claims);

    memset(&err, 0, sizeof(err));
    rv = orgs_jose_claims_check(claims, &e, vec_now(), &err);
    ck_assert_msg(rv == code_of(want_claims), "%s: claims got %d (%s), want %s", name, rv, err.msg,
                  want_claims);
    const char *colon = strchr(want_claims, ':');
    if (colon) {
        apr_size_t n = strlen(colon + 1);
        ck_assert_msg(strncmp(err.msg, colon + 1, n) == 0 && err.msg[n] == ':',
                      "%s: message '%s' does not name check '%s'", name, err.msg, colon + 1);
    }
}
END_TEST

/* ---- verify: inputs the vectors cannot express */

START_TEST(test_verify_size_cap_and_nulls)
{
    orgs_jwks_t *jwks = load_jwks("jwks.json");
    orgs_err_t err = {{0}};
    json_t *claims = (json_t *)1;
    char *big = apr_palloc(pool, ORGS_JOSE_TOKEN_MAX + 2);
    memset(big, 'A', ORGS_JOSE_TOKEN_MAX + 1);
    big[10] = '.';
    big[20] = '.';
    big[ORGS_JOSE_TOKEN_MAX + 1] = '\0';

    ck_assert_int_eq(orgs_jose_jws_verify(big, jwks, &claims, pool, &err), APR_EINVAL);
    ck_assert_ptr_null(claims);
    ck_assert_ptr_nonnull(strstr(err.msg, "larger"));
    ck_assert_int_eq(orgs_jose_jws_verify(NULL, jwks, &claims, pool, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_jose_jws_verify("a.b.c", NULL, &claims, pool, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_jose_jws_verify("", jwks, &claims, pool, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_jose_jws_verify("..", jwks, &claims, pool, &err), APR_EINVAL);
}
END_TEST

static void add_cases(Suite *s)
{
    TCase *tc = fixture_tcase("vectors");
    tcase_add_loop_test(tc, test_vector, 0,
                        (int)json_array_size(json_object_get(vectors, "cases")));
    suite_add_tcase(s, tc);

    tc = fixture_tcase("verify");
    tcase_add_test(tc, test_verify_size_cap_and_nulls);
    suite_add_tcase(s, tc);
}

int main(void)
{
    return fixture_run("jose_jws", add_cases);
}
