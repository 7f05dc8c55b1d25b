/* Unit tests for src/core/oidc_authz.c: the authorization request URL. */
#include "fixture.h"

/* ---- authorization URL -------------------------------------------------- */

START_TEST(auth_url_params)
{
    orgs_oidc_provider_t prov = {.authorization_endpoint = "https://idp.example/authorize"};
    char *u = orgs_oidc_auth_url(&prov, "client 1&x", "https://app.example/orgs/callback",
                                 "email profile", "st+/=", "n\xc3\xa9", "CH_al-lenge~",
                                 "bob@example.com", pool);
    ck_assert_str_eq(u, "https://idp.example/authorize?response_type=code"
                        "&client_id=client%201%26x"
                        "&redirect_uri=https%3A%2F%2Fapp.example%2Forgs%2Fcallback"
                        "&scope=openid%20email%20profile"
                        "&state=st%2B%2F%3D&nonce=n%C3%A9"
                        "&code_challenge=CH_al-lenge~&code_challenge_method=S256"
                        "&login_hint=bob%40example.com");
}
END_TEST

START_TEST(scopes_have_openid)
{
    ck_assert_int_eq(orgs_oidc_scopes_have_openid("openid"), 1);
    ck_assert_int_eq(orgs_oidc_scopes_have_openid("email openid profile"), 1);
    ck_assert_int_eq(orgs_oidc_scopes_have_openid("  openid  "), 1);
    ck_assert_int_eq(orgs_oidc_scopes_have_openid("openidx email"), 0);
    ck_assert_int_eq(orgs_oidc_scopes_have_openid("xopenid"), 0);
    ck_assert_int_eq(orgs_oidc_scopes_have_openid(""), 0);
    ck_assert_int_eq(orgs_oidc_scopes_have_openid(NULL), 0);
    ck_assert_int_eq(orgs_oidc_scopes_have_openid(ORGS_OIDC_DEFAULT_SCOPES), 1);
}
END_TEST

START_TEST(auth_url_existing_query_no_hint)
{
    orgs_oidc_provider_t prov = {.authorization_endpoint = "https://idp.example/auth?p=B2C_1"};
    char *u = orgs_oidc_auth_url(&prov, "c", "https://a/cb", "openid", "s", "n", "c", "", pool);
    ck_assert_str_eq(u, "https://idp.example/auth?p=B2C_1&response_type=code&client_id=c"
                        "&redirect_uri=https%3A%2F%2Fa%2Fcb&scope=openid&state=s&nonce=n"
                        "&code_challenge=c&code_challenge_method=S256");
    ck_assert_ptr_null(strstr(u, "login_hint"));
    u = orgs_oidc_auth_url(&prov, "c", "https://a/cb", NULL, "s", "n", "c", NULL, pool);
    ck_assert_ptr_nonnull(strstr(u, "&scope=openid%20email%20profile&"));
    ck_assert_ptr_null(strstr(u, "login_hint"));
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, auth_url_params);
    tcase_add_test(tc, auth_url_existing_query_no_hint);
    tcase_add_test(tc, scopes_have_openid);
}

int main(void)
{
    return fixture_run("oidc_authz", add_tests);
}
