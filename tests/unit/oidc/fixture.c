/* The OpenID Connect tests' fixture: see fixture.h. */
#include "fixture.h"

apr_pool_t *pool;
testserver_t srv;
char *dir;
orgs_store_t *st;
char req[TS_REQ_MAX + 1];
EVP_PKEY *key1, *key2;

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

const char *iss(void)
{
    return srv.base;
}

const char *disc_doc(const char *issuer)
{
    return apr_psprintf(pool,
                        "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/authorize\","
                        "\"token_endpoint\":\"%s/token\",\"jwks_uri\":\"%s/jwks\","
                        "\"end_session_endpoint\":\"%s/logout\","
                        "\"response_types_supported\":[\"code\"]}",
                        issuer, srv.base, srv.base, srv.base, srv.base);
}

const char *jwk(EVP_PKEY *k, const char *kid)
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

const char *jwks1(void)
{
    return apr_psprintf(pool, "{\"keys\":[%s]}", jwk(key1, "k1"));
}

/* RS256 compact JWS of payload with key k and kid. */
const char *sign(EVP_PKEY *k, const char *kid, const char *payload)
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

const char *id_token(EVP_PKEY *k, const char *kid, const char *aud, const char *nonce)
{
    long now = (long)apr_time_sec(T0);
    return sign(k, kid,
                apr_psprintf(pool,
                             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"u1\",\"nonce\":\"%s\","
                             "\"iat\":%ld,\"exp\":%ld,\"email\":\"a@example.com\"}",
                             iss(), aud, nonce, now, now + 300));
}

void serve_ok(void)
{
    ts_json(&srv, WK, 200, disc_doc(iss()));
    ts_json(&srv, "/jwks", 200, jwks1());
}

orgs_oidc_provider_t *provider(void)
{
    serve_ok();
    orgs_oidc_provider_t *prov = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_oidc_provider_get(st, iss(), T0, NULL, &prov, pool, &err), APR_SUCCESS);
    return prov;
}

/* Each case below changes the server's answers for the same issuer: the
 * memory of the previous failure (see failure_remembered) is wiped first. */
void forget_failure(const char *issuer)
{
    orgs_err_t ignored;
    if (issuer) {
        orgs_store_cache_put(st, apr_pstrcat(pool, "bcfail:", issuer, NULL), "0 0 ", 0, pool,
                             &ignored);
    }
}

apr_status_t get(const char *issuer, const orgs_http_opts_t *o, orgs_err_t *err)
{
    orgs_oidc_provider_t *prov = NULL;
    forget_failure(issuer);
    apr_status_t rv = orgs_oidc_provider_get(st, issuer, T0, o, &prov, pool, err);
    if (rv != APR_SUCCESS) {
        ck_assert_ptr_null(prov);
    }
    return rv;
}

int fixture_run(const char *name, void (*add_tests)(TCase *tc))
{
    if (orgs_http_global_init(NULL) != APR_SUCCESS) {
        return EXIT_FAILURE;
    }
    key1 = EVP_RSA_gen(2048);
    key2 = EVP_RSA_gen(2048);
    if (key1 == NULL || key2 == NULL) {
        return EXIT_FAILURE;
    }
    Suite *s = suite_create(name);
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, setup, teardown);
    add_tests(tc);
    suite_add_tcase(s, tc);
    int rc = testutil_run(s);
    EVP_PKEY_free(key1);
    EVP_PKEY_free(key2);
    orgs_http_global_cleanup();
    return rc;
}
