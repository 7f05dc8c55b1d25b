/* Unit tests for src/core/oidc_token.c: the code exchange at the token
 * endpoint, and the endpoint rules applied at the call. */
#include "fixture.h"

/* ---- code exchange ------------------------------------------------------ */

#define TOKEN_OK "{\"access_token\":\"AT\",\"token_type\":\"Bearer\",\"id_token\":\"a.b.c\"}"

static orgs_oidc_provider_t *token_provider(void)
{
    orgs_oidc_provider_t *prov = apr_pcalloc(pool, sizeof(*prov));
    prov->token_endpoint = apr_pstrcat(pool, iss(), "/token", NULL);
    prov->issuer = prov->config_issuer = iss();
    return prov;
}

static apr_status_t exchange(const char *method, const char **idt, const char **at, orgs_err_t *err)
{
    return orgs_oidc_token_exchange(token_provider(), "client:1", "SECRET&1", method, "CODE/1",
                                    "VERIFIER", "https://app.example/orgs/callback", NULL, idt, at,
                                    pool, err);
}

/* The exchange of client c's code with secret SECRET at prov's endpoint,
 * under the back channel's rules opts. */
static apr_status_t exchange_at(orgs_oidc_provider_t *prov, const orgs_http_opts_t *opts,
                                const char **idt, orgs_err_t *err)
{
    return orgs_oidc_token_exchange(prov, "c", "SECRET", NULL, "code", "v", "https://a/cb", opts,
                                    idt, NULL, pool, err);
}

START_TEST(token_basic)
{
    ts_json(&srv, "/token", 200, TOKEN_OK);
    const char *idt = NULL, *at = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(exchange("client_secret_basic", &idt, &at, &err), APR_SUCCESS);
    ck_assert_str_eq(idt, "a.b.c");
    ck_assert_str_eq(at, "AT");
    ts_last(&srv, req, sizeof(req));
    /* base64("client%3A1:SECRET%261") */
    ck_assert_ptr_nonnull(strstr(req, "\r\nAuthorization: Basic Y2xpZW50JTNBMTpTRUNSRVQlMjYx\r\n"));
    ck_assert_str_eq(strstr(req, "\r\n\r\n") + 4,
                     "grant_type=authorization_code&code=CODE%2F1"
                     "&redirect_uri=https%3A%2F%2Fapp.example%2Forgs%2Fcallback"
                     "&code_verifier=VERIFIER");
    /* NULL method is basic too; access token optional */
    ck_assert_int_eq(exchange(NULL, &idt, NULL, &err), APR_SUCCESS);
    ts_last(&srv, req, sizeof(req));
    ck_assert_ptr_nonnull(strstr(req, "\r\nAuthorization: Basic "));
}
END_TEST

START_TEST(token_post)
{
    ts_json(&srv, "/token", 200,
            "{\"token_type\":\"bearer\",\"id_token\":\"x.y.z\",\"expires_in\":3600}");
    const char *idt = NULL, *at = "unset";
    orgs_err_t err = {""};
    ck_assert_int_eq(exchange("client_secret_post", &idt, &at, &err), APR_SUCCESS);
    ck_assert_str_eq(idt, "x.y.z");
    ck_assert_ptr_null(at);
    ts_last(&srv, req, sizeof(req));
    ck_assert_ptr_null(strcasestr(req, "\r\nAuthorization:"));
    ck_assert_str_eq(strstr(req, "\r\n\r\n") + 4,
                     "grant_type=authorization_code&code=CODE%2F1"
                     "&redirect_uri=https%3A%2F%2Fapp.example%2Forgs%2Fcallback"
                     "&code_verifier=VERIFIER&client_id=client%3A1&client_secret=SECRET%261");
}
END_TEST

START_TEST(token_error_json)
{
    ts_json(&srv, "/token", 400,
            "{\"error\":\"invalid_grant\",\"error_description\":\"code CODE/1 SECRET&1 bad\"}");
    const char *idt = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(exchange("client_secret_post", &idt, NULL, &err), ORGS_EHTTP);
    ck_assert_ptr_null(idt);
    ck_assert_ptr_nonnull(strstr(err.msg, "invalid_grant"));
    ck_assert_ptr_nonnull(strstr(err.msg, "400"));
    ck_assert_ptr_null(strstr(err.msg, "SECRET"));
    ck_assert_ptr_null(strstr(err.msg, "CODE"));
    ck_assert_ptr_null(strstr(err.msg, "error_description"));
    /* an error code that is not a clean token is not quoted */
    ts_json(&srv, "/token", 400, "{\"error\":\"bad\\ncode <script>\\\"\"}");
    ck_assert_int_eq(exchange("client_secret_basic", &idt, NULL, &err), ORGS_EHTTP);
    ck_assert_ptr_nonnull(strstr(err.msg, "(unprintable)"));
    /* an error even with status 200 */
    ts_json(&srv, "/token", 200, "{\"error\":\"access_denied\"}");
    ck_assert_int_eq(exchange("client_secret_basic", &idt, NULL, &err), ORGS_EHTTP);
    ck_assert_ptr_nonnull(strstr(err.msg, "access_denied"));
}
END_TEST

START_TEST(token_bad_answers)
{
    static const char *const bad[] = {
        "{\"token_type\":\"MAC\",\"id_token\":\"a.b.c\"}",
        "{\"id_token\":\"a.b.c\"}",
        "{\"token_type\":\"Bearer\",\"access_token\":\"AT\"}",
        "{\"token_type\":\"Bearer\",\"id_token\":\"\"}",
        "{\"token_type\":\"Bearer\",\"id_token\":42}",
        "not json",
        "[]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ts_json(&srv, "/token", 200, bad[i]);
        const char *idt = NULL;
        orgs_err_t err = {""};
        ck_assert_int_eq(exchange("client_secret_basic", &idt, NULL, &err), ORGS_EHTTP);
        ck_assert_ptr_null(idt);
    }
    ts_route_t r = {.path = "/token", .status = 502, .ctype = "text/html", .body = "<h1>x</h1>"};
    ts_route(&srv, &r);
    const char *idt = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(exchange("client_secret_basic", &idt, NULL, &err), ORGS_EHTTP);
    ck_assert_ptr_nonnull(strstr(err.msg, "502"));
}
END_TEST

START_TEST(token_bad_arguments)
{
    const char *idt = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(exchange("private_key_jwt", &idt, NULL, &err), APR_EINVAL);
    ck_assert_int_eq(exchange("", &idt, NULL, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_oidc_token_exchange(token_provider(), "c", "s", NULL, NULL, "v",
                                              "https://a/cb", NULL, &idt, NULL, pool, &err),
                     APR_EINVAL);
    ck_assert_int_eq(ts_hits(&srv, "/token"), 0);
    /* token endpoint unreachable */
    orgs_oidc_provider_t prov = {.token_endpoint = "http://127.0.0.1:1/token",
                                 .issuer = "http://127.0.0.1:1"};
    ck_assert_int_eq(exchange_at(&prov, NULL, &idt, &err), ORGS_EHTTP);
    ck_assert_ptr_null(strstr(err.msg, "SECRET"));
    ck_assert_ptr_null(idt);
}
END_TEST

START_TEST(token_endpoint_other_host_refused_at_the_call)
{
    /* a provider whose token endpoint is on a host the caller's connection
     * does not allow: the secret is not sent, whoever built the provider */
    ts_json(&srv, "/token", 200, TOKEN_OK);
    const char *idt = NULL;
    orgs_err_t err = {""};
    const char *const b_hosts[] = {"127.0.0.1", NULL};
    orgs_oidc_provider_t *prov = token_provider();
    prov->issuer = prov->config_issuer = "https://idp-a.example";
    ck_assert_int_eq(exchange_at(prov, NULL, &idt, &err), APR_EACCES);
    ck_assert_ptr_nonnull(strstr(err.msg, "token_endpoint"));
    ck_assert_ptr_null(strstr(err.msg, "SECRET"));
    ck_assert_int_eq(ts_hits(&srv, "/token"), 0);
    orgs_http_opts_t b = {.conn_hosts = b_hosts};
    ck_assert_int_eq(exchange_at(prov, &b, &idt, &err), APR_SUCCESS);
    ck_assert_int_eq(ts_hits(&srv, "/token"), 1);
}
END_TEST

START_TEST(token_endpoint_internal_address)
{
    ts_json(&srv, "/token", 200, TOKEN_OK);
    const char *const loopback_net[] = {"127.0.0.0/8", NULL};
    const char *const other_net[] = {"10.0.0.0/8", "idp.corp.example", NULL};
    const char *const by_name[] = {"127.0.0.1", NULL};
    const char *public_ip = "https://93.184.216.34";
    /* the token endpoint on loopback, allowed as an endpoint host, with
     * internal addresses refused unless the operator lists them: each
     * step's issuer and list, what the exchange gives, the requests the
     * endpoint has had so far, what the error names */
    const struct {
        const char *issuer;
        const char *const *internal;
        apr_status_t want;
        int hits;
        const char *names[2];
    } steps[] = {
        /* an issuer on a public address whose endpoint resolves to
         * loopback: refused at connect time, nothing sent */
        {public_ip, NULL, APR_EACCES, 0, {"loopback", "OrgsBackchannelAllowInternal"}},
        /* the issuer on loopback itself widens nothing: internal targets
         * are the operator's list, never what the issuer's name resolves to */
        {iss(), NULL, APR_EACCES, 0, {NULL, NULL}},
        {iss(), other_net, APR_EACCES, 0, {NULL, NULL}},
        /* listed by the operator (a CIDR, or the URL's host as written) */
        {iss(), loopback_net, APR_SUCCESS, 1, {NULL, NULL}},
        {iss(), by_name, APR_SUCCESS, 2, {NULL, NULL}},
    };
    orgs_oidc_provider_t *prov = token_provider();
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        const char *idt = NULL;
        orgs_err_t err = {""};
        orgs_http_opts_t guard = {
            .refuse_internal = 1, .allow_hosts = by_name, .allow_internal = steps[i].internal};
        prov->issuer = prov->config_issuer = steps[i].issuer;
        apr_status_t rv = exchange_at(prov, &guard, &idt, &err);
        ck_assert_msg(rv == steps[i].want, "step %zu: %d (%s)", i, rv, err.msg);
        ck_assert_msg(ts_hits(&srv, "/token") == steps[i].hits, "step %zu: %d requests", i,
                      ts_hits(&srv, "/token"));
        for (int k = 0; k < 2 && steps[i].names[k]; k++) {
            ck_assert_msg(strstr(err.msg, steps[i].names[k]), "step %zu: %s", i, err.msg);
        }
    }
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, token_basic);
    tcase_add_test(tc, token_post);
    tcase_add_test(tc, token_error_json);
    tcase_add_test(tc, token_bad_answers);
    tcase_add_test(tc, token_bad_arguments);
    tcase_add_test(tc, token_endpoint_internal_address);
    tcase_add_test(tc, token_endpoint_other_host_refused_at_the_call);
}

int main(void)
{
    return fixture_run("oidc_token", add_tests);
}
