/* Unit tests for src/core/oidc.c: discovery and JWKS through a loopback server,
 * the store cache, the authorization URL, the code exchange and ID token
 * verification with a JWKS refresh on an unknown kid. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <apr_time.h>

#include "testutil.h"
#include "testserver.h"
#include "crypto.h"
#include "jose.h"
#include "memo.h"
#include "oidc.h"
#include "backchan.h"
#include "store.h"

static apr_pool_t *pool;
static testserver_t srv;
static char *dir;
static orgs_store_t *st;
static char req[TS_REQ_MAX + 1];
static EVP_PKEY *key1, *key2; /* made once in main, shared by the forked tests */

#define T0 apr_time_from_sec(1700000000)
#define WK ORGS_OIDC_WELL_KNOWN

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    ck_assert_int_eq(ts_start(&srv), 0);
    dir = testutil_tempdir(pool);
    ck_assert_ptr_nonnull(dir);
    orgs_err_t err = {""};
    ck_assert_int_eq(
        orgs_store_open(&st, dir, (apr_uint64_t)32 << 20, 0, ORGS_STORE_CREATE, NULL, pool, &err),
        APR_SUCCESS);
}

static void teardown(void)
{
    ts_stop(&srv);
    apr_pool_destroy(pool); /* closes the store */
    testutil_rmtree(dir);
    orgs_memo_clear_all(); /* after the pool: nothing pins an entry any more */
}

/* ---- helpers ------------------------------------------------------------ */

static const char *iss(void)
{
    return srv.base;
}

static const char *disc_doc(const char *issuer)
{
    return apr_psprintf(pool,
                        "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/authorize\","
                        "\"token_endpoint\":\"%s/token\",\"jwks_uri\":\"%s/jwks\","
                        "\"end_session_endpoint\":\"%s/logout\","
                        "\"response_types_supported\":[\"code\"]}",
                        issuer, srv.base, srv.base, srv.base, srv.base);
}

static const char *jwk(EVP_PKEY *k, const char *kid)
{
    BIGNUM *n = NULL, *e = NULL;
    ck_assert_int_eq(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n), 1);
    ck_assert_int_eq(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e), 1);
    unsigned char nb[512], eb[16];
    int nl = BN_bn2bin(n, nb), el = BN_bn2bin(e, eb);
    BN_free(n);
    BN_free(e);
    return apr_psprintf(pool,
                        "{\"kty\":\"RSA\",\"kid\":\"%s\",\"use\":\"sig\",\"alg\":\"RS256\","
                        "\"n\":\"%s\",\"e\":\"%s\"}",
                        kid, orgs_crypto_b64url_encode(nb, (apr_size_t)nl, pool),
                        orgs_crypto_b64url_encode(eb, (apr_size_t)el, pool));
}

static const char *jwks1(void)
{
    return apr_psprintf(pool, "{\"keys\":[%s]}", jwk(key1, "k1"));
}

/* RS256 compact JWS of payload with key k and kid. */
static const char *sign(EVP_PKEY *k, const char *kid, const char *payload)
{
    const char *h = apr_psprintf(pool, "{\"alg\":\"RS256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", kid);
    const char *input =
        apr_pstrcat(pool, orgs_crypto_b64url_encode(h, strlen(h), pool), ".",
                    orgs_crypto_b64url_encode(payload, strlen(payload), pool), NULL);
    unsigned char sig[512];
    size_t sl = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ck_assert_int_eq(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k), 1);
    ck_assert_int_eq(EVP_DigestSign(md, sig, &sl, (const unsigned char *)input, strlen(input)), 1);
    EVP_MD_CTX_free(md);
    return apr_pstrcat(pool, input, ".", orgs_crypto_b64url_encode(sig, sl, pool), NULL);
}

static const char *id_token(EVP_PKEY *k, const char *kid, const char *aud, const char *nonce)
{
    long now = (long)apr_time_sec(T0);
    return sign(k, kid,
                apr_psprintf(pool,
                             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"u1\",\"nonce\":\"%s\","
                             "\"iat\":%ld,\"exp\":%ld,\"email\":\"a@example.com\"}",
                             iss(), aud, nonce, now, now + 300));
}

static void serve_ok(void)
{
    ts_json(&srv, WK, 200, disc_doc(iss()));
    ts_json(&srv, "/jwks", 200, jwks1());
}

static orgs_oidc_provider_t *provider(void)
{
    serve_ok();
    orgs_oidc_provider_t *prov = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_oidc_provider_get(st, iss(), T0, NULL, &prov, pool, &err), APR_SUCCESS);
    return prov;
}

/* Each case below changes the server's answers for the same issuer: the
 * memory of the previous failure (see failure_remembered) is wiped first. */
static void forget_failure(const char *issuer)
{
    orgs_err_t ignored;
    if (issuer) {
        orgs_store_cache_put(st, apr_pstrcat(pool, "bcfail:", issuer, NULL), "0 0 ", 0, pool,
                             &ignored);
    }
}

static apr_status_t get(const char *issuer, const orgs_http_opts_t *o, orgs_err_t *err)
{
    orgs_oidc_provider_t *prov = NULL;
    forget_failure(issuer);
    apr_status_t rv = orgs_oidc_provider_get(st, issuer, T0, o, &prov, pool, err);
    if (rv != APR_SUCCESS) {
        ck_assert_ptr_null(prov);
    }
    return rv;
}

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
    ck_assert_int_eq(orgs_oidc_token_exchange(&prov, "c", "SECRET", NULL, "code", "v",
                                              "https://a/cb", NULL, &idt, NULL, pool, &err),
                     ORGS_EHTTP);
    ck_assert_ptr_null(strstr(err.msg, "SECRET"));
    ck_assert_ptr_null(idt);
}
END_TEST

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
 * by the document's hash. */
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
    ck_assert_int_eq(orgs_oidc_token_exchange(prov, "c", "SECRET", NULL, "code", "v",
                                              "https://a/cb", NULL, &idt, NULL, pool, &err),
                     APR_EACCES);
    ck_assert_ptr_nonnull(strstr(err.msg, "token_endpoint"));
    ck_assert_ptr_null(strstr(err.msg, "SECRET"));
    ck_assert_int_eq(ts_hits(&srv, "/token"), 0);
    orgs_http_opts_t b = {.conn_hosts = b_hosts};
    ck_assert_int_eq(orgs_oidc_token_exchange(prov, "c", "SECRET", NULL, "code", "v",
                                              "https://a/cb", &b, &idt, NULL, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(ts_hits(&srv, "/token"), 1);
}
END_TEST

START_TEST(token_endpoint_internal_address)
{
    ts_json(&srv, "/token", 200, TOKEN_OK);
    const char *idt = NULL;
    orgs_err_t err = {""};
    const char *const loopback_net[] = {"127.0.0.0/8", NULL};
    const char *const other_net[] = {"10.0.0.0/8", "idp.corp.example", NULL};
    const char *const by_name[] = {"127.0.0.1", NULL};
    orgs_http_opts_t guard = {.refuse_internal = 1};
    orgs_oidc_provider_t *prov = token_provider();

    /* an issuer on a public address whose token endpoint (allowed as an
     * endpoint host) resolves to loopback: refused at connect time, nothing
     * sent */
    guard.allow_hosts = by_name;
    prov->issuer = prov->config_issuer = "https://93.184.216.34";
    ck_assert_int_eq(orgs_oidc_token_exchange(prov, "c", "SECRET", NULL, "code", "v",
                                              "https://a/cb", &guard, &idt, NULL, pool, &err),
                     APR_EACCES);
    ck_assert_ptr_nonnull(strstr(err.msg, "loopback"));
    ck_assert_ptr_nonnull(strstr(err.msg, "OrgsBackchannelAllowInternal"));
    ck_assert_int_eq(ts_hits(&srv, "/token"), 0);
    /* the issuer on loopback itself widens nothing: internal targets are
     * the operator's list, never what the issuer's name resolves to */
    prov->issuer = prov->config_issuer = iss();
    ck_assert_int_eq(orgs_oidc_token_exchange(prov, "c", "SECRET", NULL, "code", "v",
                                              "https://a/cb", &guard, &idt, NULL, pool, &err),
                     APR_EACCES);
    ck_assert_int_eq(ts_hits(&srv, "/token"), 0);
    guard.allow_internal = other_net;
    ck_assert_int_eq(orgs_oidc_token_exchange(prov, "c", "SECRET", NULL, "code", "v",
                                              "https://a/cb", &guard, &idt, NULL, pool, &err),
                     APR_EACCES);
    ck_assert_int_eq(ts_hits(&srv, "/token"), 0);
    /* listed by the operator (a CIDR, or the URL's host as written) */
    guard.allow_internal = loopback_net;
    ck_assert_int_eq(orgs_oidc_token_exchange(prov, "c", "SECRET", NULL, "code", "v",
                                              "https://a/cb", &guard, &idt, NULL, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(ts_hits(&srv, "/token"), 1);
    guard.allow_internal = by_name;
    ck_assert_int_eq(orgs_oidc_token_exchange(prov, "c", "SECRET", NULL, "code", "v",
                                              "https://a/cb", &guard, &idt, NULL, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(ts_hits(&srv, "/token"), 2);
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

static Suite *oidc_suite(void)
{
    Suite *s = suite_create("oidc");
    TCase *tc = tcase_create("oidc");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
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
    tcase_add_test(tc, id_token_cached_jwks_parsed_once);
    tcase_add_test(tc, jwks_refresh_throttled);
    tcase_add_test(tc, jwks_refresh_failed_attempt_throttles);
    tcase_add_test(tc, jwks_refresh_takes_newer_cache);
    tcase_add_test(tc, auth_url_params);
    tcase_add_test(tc, auth_url_existing_query_no_hint);
    tcase_add_test(tc, scopes_have_openid);
    tcase_add_test(tc, token_basic);
    tcase_add_test(tc, token_post);
    tcase_add_test(tc, token_error_json);
    tcase_add_test(tc, token_bad_answers);
    tcase_add_test(tc, token_bad_arguments);
    tcase_add_test(tc, token_endpoint_internal_address);
    tcase_add_test(tc, token_endpoint_other_host_refused_at_the_call);
    tcase_add_test(tc, discovery_internal_issuer_refused);
    tcase_add_test(tc, id_token_ok);
    tcase_add_test(tc, id_token_rotated_key);
    tcase_add_test(tc, id_token_unknown_kid_throttled);
    tcase_add_test(tc, id_token_bad_claims_and_sig);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (orgs_http_global_init(NULL) != APR_SUCCESS) {
        return EXIT_FAILURE;
    }
    key1 = EVP_RSA_gen(2048);
    key2 = EVP_RSA_gen(2048);
    if (key1 == NULL || key2 == NULL) {
        return EXIT_FAILURE;
    }
    int rc = testutil_run(oidc_suite());
    EVP_PKEY_free(key1);
    EVP_PKEY_free(key2);
    orgs_http_global_cleanup();
    return rc;
}
