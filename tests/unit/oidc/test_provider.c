/* Unit tests for src/core/oidc_provider.c: discovery and JWKS through a
 * loopback server, the store cache, the back-channel policy and the JWKS
 * refresh. */
#include "fixture.h"

/* ---- discovery: positive ------------------------------------------------ */

START_TEST(discovery_ok)
{
    orgs_oidc_provider_t *prov = provider();
    ck_assert_str_eq(prov->issuer, iss());
    ck_assert_str_eq(prov->authorization_endpoint, apr_pstrcat(pool, iss(), "/authorize", NULL));
    ck_assert_str_eq(prov->token_endpoint, apr_pstrcat(pool, iss(), "/token", NULL));
    ck_assert_str_eq(prov->jwks_uri, apr_pstrcat(pool, iss(), "/jwks", NULL));
    ck_assert_str_eq(prov->end_session_endpoint, apr_pstrcat(pool, iss(), "/logout", NULL));
    ck_assert_ptr_null(prov->userinfo_endpoint);
    ck_assert_ptr_nonnull(strstr(prov->jwks_json, "\"kid\":\"k1\""));
    ck_assert_int_eq(prov->discovery_fetched, T0);
    ck_assert_int_eq(prov->jwks_fetched, T0);
    ck_assert_int_eq(ts_hits(&srv, WK), 1);
    ck_assert_int_eq(ts_hits(&srv, "/jwks"), 1);
}
END_TEST

START_TEST(discovery_cached_until_ttl)
{
    provider();
    orgs_oidc_provider_t *prov = NULL;
    orgs_err_t err = {""};
    apr_time_t later = T0 + ORGS_OIDC_CACHE_TTL - apr_time_from_sec(1);
    ck_assert_int_eq(orgs_oidc_provider_get(st, iss(), later, NULL, &prov, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(ts_hits(&srv, WK), 1);
    ck_assert_int_eq(ts_hits(&srv, "/jwks"), 1);
    ck_assert_int_eq(prov->discovery_fetched, T0);
    ck_assert_str_eq(prov->token_endpoint, apr_pstrcat(pool, iss(), "/token", NULL));
    ck_assert_ptr_nonnull(strstr(prov->jwks_json, "\"kid\":\"k1\""));

    /* a second handle on the same store (another httpd child) shares it */
    orgs_store_t *st2 = NULL;
    ck_assert_int_eq(orgs_store_open(&st2, dir, (apr_uint64_t)32 << 20, 0, 0, NULL, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_oidc_provider_get(st2, iss(), later, NULL, &prov, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(ts_hits(&srv, WK), 1);

    /* past the TTL: fetched again */
    ck_assert_int_eq(
        orgs_oidc_provider_get(st, iss(), T0 + ORGS_OIDC_CACHE_TTL, NULL, &prov, pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(ts_hits(&srv, WK), 2);
    ck_assert_int_eq(ts_hits(&srv, "/jwks"), 2);
    ck_assert_int_eq(prov->discovery_fetched, T0 + ORGS_OIDC_CACHE_TTL);
}
END_TEST

START_TEST(discovery_without_store)
{
    serve_ok();
    orgs_oidc_provider_t *prov = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_oidc_provider_get(NULL, iss(), T0, NULL, &prov, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_oidc_provider_get(NULL, iss(), T0, NULL, &prov, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(ts_hits(&srv, WK), 2);
}
END_TEST

START_TEST(discovery_issuer_forms)
{
    /* issuer with a trailing slash: same well-known URL, exact match */
    const char *slash = apr_pstrcat(pool, iss(), "/", NULL);
    ts_json(&srv, WK, 200, disc_doc(slash));
    ts_json(&srv, "/jwks", 200, jwks1());
    orgs_oidc_provider_t *prov = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_oidc_provider_get(st, slash, T0, NULL, &prov, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(prov->issuer, slash);
    /* the full discovery URL configured: issuer is the part before it */
    const char *full = apr_pstrcat(pool, iss(), WK, NULL);
    ts_json(&srv, WK, 200, disc_doc(iss()));
    ck_assert_int_eq(orgs_oidc_provider_get(st, full, T0, NULL, &prov, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(prov->issuer, iss());
    ck_assert_str_eq(prov->config_issuer, full);
}
END_TEST

/* ---- discovery: negative ------------------------------------------------ */

START_TEST(discovery_issuer_mismatch)
{
    ts_json(&srv, WK, 200, disc_doc("https://evil.example"));
    ts_json(&srv, "/jwks", 200, jwks1());
    orgs_err_t err = {""};
    ck_assert_int_eq(get(iss(), NULL, &err), ORGS_EHTTP);
    ck_assert_ptr_nonnull(strstr(err.msg, "issuer"));
    ck_assert_int_eq(ts_hits(&srv, "/jwks"), 0);
    /* a trailing slash is a different issuer */
    ts_json(&srv, WK, 200, disc_doc(apr_pstrcat(pool, iss(), "/", NULL)));
    ck_assert_int_eq(get(iss(), NULL, &err), ORGS_EHTTP);
    /* and nothing was cached by the failures */
    const char *v = NULL;
    apr_time_t f = 0;
    ck_assert_int_eq(
        orgs_store_cache_get(st, apr_pstrcat(pool, "disc:", iss(), NULL), &v, &f, pool, &err),
        APR_NOTFOUND);
}
END_TEST

START_TEST(discovery_missing_endpoints)
{
    static const char *const fields[] = {"authorization_endpoint", "token_endpoint", "jwks_uri"};
    for (int i = 0; i < 3; i++) {
        const char *doc = apr_psprintf(pool, "{\"issuer\":\"%s\"", iss());
        for (int j = 0; j < 3; j++) {
            if (j != i) {
                doc = apr_psprintf(pool, "%s,\"%s\":\"%s/x\"", doc, fields[j], iss());
            }
        }
        ts_json(&srv, WK, 200, apr_pstrcat(pool, doc, "}", NULL));
        orgs_err_t err = {""};
        ck_assert_int_eq(get(iss(), NULL, &err), ORGS_EHTTP);
        ck_assert_ptr_nonnull(strstr(err.msg, fields[i]));
    }
}
END_TEST

START_TEST(discovery_bad_endpoint_urls)
{
    static const char *const bad[] = {"javascript:alert(1)", "/relative/token", "ftp://h/t",
                                      "http:///nohost", "http://h/a b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ts_json(&srv, WK, 200,
                apr_psprintf(pool,
                             "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/a\","
                             "\"token_endpoint\":\"%s\",\"jwks_uri\":\"%s/jwks\"}",
                             iss(), iss(), bad[i], iss()));
        orgs_err_t err = {""};
        ck_assert_int_eq(get(iss(), NULL, &err), ORGS_EHTTP);
        ck_assert_ptr_nonnull(strstr(err.msg, "token_endpoint"));
    }
    /* a number where a string belongs */
    ts_json(&srv, WK, 200,
            apr_psprintf(pool,
                         "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/a\","
                         "\"token_endpoint\":\"%s/t\",\"jwks_uri\":42}",
                         iss(), iss(), iss()));
    orgs_err_t err = {""};
    ck_assert_int_eq(get(iss(), NULL, &err), ORGS_EHTTP);
}
END_TEST

START_TEST(discovery_not_json)
{
    ts_route_t r = {.path = WK, .status = 200, .ctype = "text/html", .body = "<html>hi</html>"};
    ts_route(&srv, &r);
    orgs_err_t err = {""};
    ck_assert_int_eq(get(iss(), NULL, &err), ORGS_EHTTP);
    ts_json(&srv, WK, 200, "[1,2]");
    ck_assert_int_eq(get(iss(), NULL, &err), ORGS_EHTTP);
    ck_assert_ptr_nonnull(strstr(err.msg, "JSON"));
}
END_TEST

START_TEST(discovery_http_errors)
{
    orgs_err_t err = {""};
    ck_assert_int_eq(get(iss(), NULL, &err), ORGS_EHTTP); /* 404 */
    ck_assert_ptr_nonnull(strstr(err.msg, "404"));
    ts_route_t r = {.path = WK,
                    .status = 302,
                    .headers = apr_psprintf(pool, "Location: %s/elsewhere\r\n", iss())};
    ts_route(&srv, &r);
    ts_json(&srv, "/elsewhere", 200, disc_doc(iss()));
    ck_assert_int_eq(get(iss(), NULL, &err), ORGS_EHTTP);
    ck_assert_ptr_nonnull(strstr(err.msg, "302"));
    ck_assert_int_eq(ts_hits(&srv, "/elsewhere"), 0);
}
END_TEST

START_TEST(failure_remembered)
{
    orgs_oidc_provider_t *prov = NULL;
    orgs_err_t err = {""};
    ts_json(&srv, WK, 500, "{}");
    ck_assert_int_eq(orgs_oidc_provider_get(st, iss(), T0, NULL, &prov, pool, &err), ORGS_EHTTP);
    ck_assert_int_eq(ts_hits(&srv, WK), 1);
    serve_ok();
    /* within the first backoff the provider is not asked again */
    ck_assert_int_eq(
        orgs_oidc_provider_get(st, iss(), T0 + apr_time_from_sec(1), NULL, &prov, pool, &err),
        APR_EAGAIN);
    ck_assert_ptr_nonnull(strstr(err.msg, "not asked again"));
    ck_assert_int_eq(ts_hits(&srv, WK), 1);
    /* after it, it is */
    ck_assert_int_eq(
        orgs_oidc_provider_get(st, iss(), T0 + ORGS_BACKCHAN_BACKOFF_MIN, NULL, &prov, pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(ts_hits(&srv, WK), 2);
}
END_TEST

START_TEST(backoff_doubles_and_resets)
{
    orgs_oidc_provider_t *prov = NULL;
    orgs_err_t err = {""};
    ts_json(&srv, WK, 500, "{}");
    apr_time_t t = T0;
    for (unsigned n = 1; n <= 3; n++) {
        ck_assert_int_eq(orgs_oidc_provider_get(st, iss(), t, NULL, &prov, pool, &err), ORGS_EHTTP);
        ck_assert_int_eq(ts_hits(&srv, WK), (int)n);
        /* one second before the backoff ends: refused without a call */
        ck_assert_int_eq(orgs_oidc_provider_get(st, iss(),
                                                t + orgs_backchan_backoff(n) - apr_time_from_sec(1),
                                                NULL, &prov, pool, &err),
                         APR_EAGAIN);
        ck_assert_int_eq(ts_hits(&srv, WK), (int)n);
        t += orgs_backchan_backoff(n);
    }
    ck_assert_int_eq(orgs_backchan_backoff(3), 4 * ORGS_BACKCHAN_BACKOFF_MIN);
    ck_assert_int_eq(orgs_backchan_backoff(60), ORGS_BACKCHAN_BACKOFF_MAX);
    /* a success resets the count: the next failure backs off the minimum */
    serve_ok();
    ck_assert_int_eq(orgs_oidc_provider_get(st, iss(), t, NULL, &prov, pool, &err), APR_SUCCESS);
    ts_json(&srv, WK, 500, "{}");
    t += ORGS_OIDC_CACHE_TTL + ORGS_OIDC_STALE_MAX;
    ck_assert_int_eq(orgs_oidc_provider_get(st, iss(), t, NULL, &prov, pool, &err), ORGS_EHTTP);
    ck_assert_int_eq(
        orgs_oidc_provider_get(st, iss(), t + ORGS_BACKCHAN_BACKOFF_MIN, NULL, &prov, pool, &err),
        ORGS_EHTTP);
}
END_TEST

START_TEST(stale_while_revalidate)
{
    provider();
    orgs_oidc_provider_t *prov = NULL;
    orgs_err_t err = {""};
    /* past the TTL the IdP fails: the stale copy is served */
    ts_json(&srv, WK, 500, "{}");
    apr_time_t t = T0 + ORGS_OIDC_CACHE_TTL + apr_time_from_sec(1);
    ck_assert_int_eq(orgs_oidc_provider_get(st, iss(), t, NULL, &prov, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(ts_hits(&srv, WK), 2);
    ck_assert_int_eq(prov->discovery_fetched, T0);
    /* while backing off, no call, still the stale copy */
    ck_assert_int_eq(
        orgs_oidc_provider_get(st, iss(), t + apr_time_from_sec(1), NULL, &prov, pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(ts_hits(&srv, WK), 2);
    /* another process holds the fetch lease: stale copy, no call */
    ck_assert_int_eq(orgs_store_cache_claim(st, apr_pstrcat(pool, "bclease:disc:", iss(), NULL),
                                            t + apr_time_from_sec(10), apr_time_from_sec(12), pool,
                                            &err),
                     APR_SUCCESS);
    serve_ok();
    ck_assert_int_eq(
        orgs_oidc_provider_get(st, iss(), t + apr_time_from_sec(11), NULL, &prov, pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(ts_hits(&srv, WK), 2);
    ck_assert_int_eq(prov->discovery_fetched, T0);
    /* once the lease ran out, one fetch refreshes it */
    ck_assert_int_eq(
        orgs_oidc_provider_get(st, iss(), t + apr_time_from_sec(30), NULL, &prov, pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(ts_hits(&srv, WK), 3);
    ck_assert_int_eq(prov->discovery_fetched, t + apr_time_from_sec(30));
    /* without any copy, a held lease means a quick APR_EBUSY */
    ck_assert_int_eq(orgs_store_cache_claim(st, apr_pstrcat(pool, "bclease:disc:", iss(), NULL),
                                            t + apr_time_from_sec(40), apr_time_from_sec(12), pool,
                                            &err),
                     APR_SUCCESS);
    const char *other = apr_pstrcat(pool, iss(), "/", NULL);
    ck_assert_int_eq(orgs_store_cache_claim(st, apr_pstrcat(pool, "bclease:disc:", other, NULL),
                                            t + apr_time_from_sec(40), apr_time_from_sec(12), pool,
                                            &err),
                     APR_SUCCESS);
    ck_assert_int_eq(
        orgs_oidc_provider_get(st, other, t + apr_time_from_sec(41), NULL, &prov, pool, &err),
        APR_EBUSY);
    ck_assert_ptr_nonnull(strstr(err.msg, "another process"));
}
END_TEST

START_TEST(endpoints_on_issuer_origin)
{
    /* jwks_uri on another loopback port: refused before any call to it */
    ts_json(&srv, WK, 200,
            apr_psprintf(pool,
                         "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/authorize\","
                         "\"token_endpoint\":\"%s/token\",\"jwks_uri\":"
                         "\"http://127.0.0.1:1/jwks\"}",
                         iss(), iss(), iss()));
    orgs_err_t err = {""};
    ck_assert_int_eq(get(iss(), NULL, &err), APR_EACCES);
    ck_assert_ptr_nonnull(strstr(err.msg, "jwks_uri"));
    ck_assert_ptr_nonnull(strstr(err.msg, "origin"));
    /* the allow-list admits its host (here: the same host, another port) */
    const char *const allow[] = {"127.0.0.1", NULL};
    orgs_http_opts_t o = {.allow_hosts = allow};
    ck_assert_int_ne(get(iss(), &o, &err), APR_EACCES);
    /* token endpoint elsewhere, by host name (the cached copy forgotten) */
    orgs_store_cache_put(st, apr_pstrcat(pool, "disc:", iss(), NULL), "", 0, pool, &err);
    ts_json(&srv, WK, 200,
            apr_psprintf(pool,
                         "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/authorize\","
                         "\"token_endpoint\":\"http://metadata.internal/token\",\"jwks_uri\":"
                         "\"%s/jwks\"}",
                         iss(), iss(), iss()));
    ck_assert_int_eq(get(iss(), NULL, &err), APR_EACCES);
    ck_assert_ptr_nonnull(strstr(err.msg, "token_endpoint"));
    /* the same cached document for a connection that allows that host, and
     * again for one that does not: checked per use, not per document */
    const char *const conn_allow[] = {"metadata.internal", NULL};
    orgs_http_opts_t oc = {.conn_hosts = conn_allow};
    ck_assert_int_ne(get(iss(), &oc, &err), APR_EACCES);
    ck_assert_int_eq(get(iss(), NULL, &err), APR_EACCES);
    ck_assert_ptr_nonnull(strstr(err.msg, "token_endpoint"));
}
END_TEST

START_TEST(discovery_size_cap_and_timeout)
{
    serve_ok();
    orgs_http_opts_t small = {.max_body = 64};
    orgs_err_t err = {""};
    ck_assert_int_eq(get(iss(), &small, &err), ORGS_EHTTP);
    ck_assert_ptr_nonnull(strstr(err.msg, "larger than"));
    ts_route_t r = {.path = WK, .hang = 1};
    ts_route(&srv, &r);
    orgs_http_opts_t quick = {.timeout = apr_time_from_msec(300)};
    ck_assert_int_eq(get(iss(), &quick, &err), ORGS_EHTTP);
}
END_TEST

START_TEST(discovery_bad_issuer_config)
{
    static const char *const bad[] = {"", "issuer.example", "ftp://h", "https://h/?q=1",
                                      "https://h/#f"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        orgs_err_t err = {""};
        ck_assert_int_eq(get(bad[i], NULL, &err), APR_EINVAL);
    }
    orgs_err_t err = {""};
    ck_assert_int_eq(get(NULL, NULL, &err), APR_EINVAL);
}
END_TEST

START_TEST(jwks_bad)
{
    ts_json(&srv, WK, 200, disc_doc(iss()));
    ts_json(&srv, "/jwks", 200, "{\"nokeys\":[]}");
    orgs_err_t err = {""};
    ck_assert_int_eq(get(iss(), NULL, &err), ORGS_EHTTP);
    ck_assert_ptr_nonnull(strstr(err.msg, "keys"));
    ts_json(&srv, "/jwks", 500, "{\"keys\":[]}");
    ck_assert_int_eq(get(iss(), NULL, &err), ORGS_EHTTP);
    ck_assert_ptr_nonnull(strstr(err.msg, "500"));
    ts_json(&srv, "/jwks", 200, "not json");
    ck_assert_int_eq(get(iss(), NULL, &err), ORGS_EHTTP);
}
END_TEST

/* ---- JWKS refresh ------------------------------------------------------- */

START_TEST(jwks_refresh_throttled)
{
    orgs_oidc_provider_t *prov = provider();
    orgs_err_t err = {""};
    /* the first unknown kid after the fetch refreshes at once: a rotated
     * set is picked up */
    ts_json(&srv, "/jwks", 200,
            apr_psprintf(pool, "{\"keys\":[%s,%s]}", jwk(key1, "k1"), jwk(key2, "k2")));
    apr_time_t t1 = T0 + apr_time_from_sec(1);
    ck_assert_int_eq(orgs_oidc_jwks_refresh(st, prov, t1, 0, NULL, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(ts_hits(&srv, "/jwks"), 2);
    ck_assert_ptr_nonnull(strstr(prov->jwks_json, "\"kid\":\"k2\""));
    ck_assert_int_eq(prov->jwks_fetched, t1);
    /* and within the interval after it: throttled */
    ck_assert_int_eq(
        orgs_oidc_jwks_refresh(st, prov, t1 + ORGS_OIDC_JWKS_MIN_INTERVAL - 1, 0, NULL, pool, &err),
        APR_EAGAIN);
    ck_assert_int_eq(ts_hits(&srv, "/jwks"), 2);
    ck_assert_int_eq(
        orgs_oidc_jwks_refresh(st, prov, t1 + ORGS_OIDC_JWKS_MIN_INTERVAL, 0, NULL, pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(ts_hits(&srv, "/jwks"), 3);
}
END_TEST

START_TEST(jwks_refresh_failed_attempt_throttles)
{
    orgs_oidc_provider_t *prov = provider();
    ts_json(&srv, "/jwks", 503, "{}");
    orgs_err_t err = {""};
    apr_time_t t1 = T0 + apr_time_from_sec(120);
    ck_assert_int_eq(orgs_oidc_jwks_refresh(st, prov, t1, 0, NULL, pool, &err), ORGS_EHTTP);
    ck_assert_int_eq(ts_hits(&srv, "/jwks"), 2);
    /* the IdP is down: the next unknown kid does not hammer it */
    ck_assert_int_eq(
        orgs_oidc_jwks_refresh(st, prov, t1 + apr_time_from_sec(1), 0, NULL, pool, &err),
        APR_EAGAIN);
    ck_assert_int_eq(ts_hits(&srv, "/jwks"), 2);
    ck_assert_ptr_nonnull(strstr(prov->jwks_json, "\"kid\":\"k1\""));
}
END_TEST

START_TEST(jwks_refresh_takes_newer_cache)
{
    orgs_oidc_provider_t *a = provider();
    orgs_oidc_provider_t *b = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_oidc_provider_get(st, iss(), T0, NULL, &b, pool, &err), APR_SUCCESS);
    ts_json(&srv, "/jwks", 200, apr_psprintf(pool, "{\"keys\":[%s]}", jwk(key2, "k2")));
    ck_assert_int_eq(
        orgs_oidc_jwks_refresh(st, a, T0 + apr_time_from_sec(100), 0, NULL, pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(ts_hits(&srv, "/jwks"), 2);
    /* b (another child) sees the newer set without fetching */
    ck_assert_int_eq(
        orgs_oidc_jwks_refresh(st, b, T0 + apr_time_from_sec(101), 0, NULL, pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(ts_hits(&srv, "/jwks"), 2);
    ck_assert_ptr_nonnull(strstr(b->jwks_json, "\"kid\":\"k2\""));
}
END_TEST

START_TEST(discovery_internal_issuer_refused)
{
    /* a tenant's issuer whose name resolves to an internal address: the
     * discovery document itself is not fetched unless the operator lists it */
    const char *const listed[] = {"127.0.0.0/8", NULL};
    orgs_http_opts_t guard = {.refuse_internal = 1};
    orgs_err_t err = {""};
    serve_ok();
    ck_assert_int_eq(get(iss(), &guard, &err), APR_EACCES);
    ck_assert_int_eq(ts_hits(&srv, WK), 0);
    guard.allow_internal = listed;
    ck_assert_int_eq(get(iss(), &guard, &err), APR_SUCCESS);
    ck_assert_int_eq(ts_hits(&srv, WK), 1);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, discovery_ok);
    tcase_add_test(tc, discovery_cached_until_ttl);
    tcase_add_test(tc, discovery_without_store);
    tcase_add_test(tc, discovery_issuer_forms);
    tcase_add_test(tc, discovery_issuer_mismatch);
    tcase_add_test(tc, discovery_missing_endpoints);
    tcase_add_test(tc, discovery_bad_endpoint_urls);
    tcase_add_test(tc, discovery_not_json);
    tcase_add_test(tc, discovery_http_errors);
    tcase_add_test(tc, failure_remembered);
    tcase_add_test(tc, backoff_doubles_and_resets);
    tcase_add_test(tc, stale_while_revalidate);
    tcase_add_test(tc, endpoints_on_issuer_origin);
    tcase_add_test(tc, discovery_size_cap_and_timeout);
    tcase_add_test(tc, discovery_bad_issuer_config);
    tcase_add_test(tc, jwks_bad);
    tcase_add_test(tc, jwks_refresh_throttled);
    tcase_add_test(tc, jwks_refresh_failed_attempt_throttles);
    tcase_add_test(tc, jwks_refresh_takes_newer_cache);
    tcase_add_test(tc, discovery_internal_issuer_refused);
}

int main(void)
{
    return fixture_run("oidc_provider", add_tests);
}
