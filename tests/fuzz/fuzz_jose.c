/* libFuzzer target: src/core/jose_*.c. The first byte picks what the rest is:
 *   0  a JWKS document for orgs_jose_jwks_parse;
 *   1  a compact JWS for orgs_jose_jws_verify against the fixed set
 *      tests/vectors/jose/jwks.json (then its claims are checked);
 *   2  a claims object for orgs_jose_claims_check and the claim readers.
 * The fixed set is read once, from $ORGS_FUZZ_JWKS or the source tree. */
#include <apr_strings.h>
#include <apr_tables.h>
#include <jansson.h>

#include "fuzz.h"
#include "jose.h"

#ifndef ORGS_FUZZ_SRCDIR
#define ORGS_FUZZ_SRCDIR "."
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static orgs_jwks_t *fixed_jwks;

/* What tests/vectors/jose/cases.json signs for. */
static const orgs_jose_expect_t expect = {"https://idp.example.com", "client-123", "n-0S6_WzA2Mj",
                                          ORGS_JOSE_DEFAULT_SKEW};
#define FUZZ_NOW apr_time_from_sec(1700000100)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    const char *path = getenv("ORGS_FUZZ_JWKS");
    if (!path) {
        path = ORGS_FUZZ_SRCDIR "/tests/vectors/jose/jwks.json";
    }
    char *text;
    apr_size_t len;
    orgs_err_t err;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "fuzz_jose: cannot open %s (set ORGS_FUZZ_JWKS)\n", path);
        abort();
    }
    text = apr_palloc(fuzz_root, ORGS_JOSE_JWKS_MAX);
    len = fread(text, 1, ORGS_JOSE_JWKS_MAX, fp);
    fclose(fp);
    if (orgs_jose_jwks_parse(&fixed_jwks, text, len, fuzz_root, &err) != APR_SUCCESS) {
        fprintf(stderr, "fuzz_jose: %s: %s\n", path, err.msg);
        abort();
    }
    return 0;
}

/* The claim readers, on any object. */
static void read_claims(const json_t *claims, apr_pool_t *p)
{
    orgs_err_t err;
    apr_status_t rv = orgs_jose_claims_check(claims, &expect, FUZZ_NOW, &err);
    FUZZ_CHECK(rv == APR_SUCCESS || rv == ORGS_ECLAIM);
    if (rv == APR_SUCCESS) {
        const char *sub = orgs_jose_claim_str(claims, "sub");
        FUZZ_CHECK(sub && *sub && strlen(sub) <= ORGS_SUB_MAX);
        FUZZ_CHECK(strcmp(orgs_jose_claim_str(claims, "iss"), expect.issuer) == 0);
        FUZZ_CHECK(strcmp(orgs_jose_claim_str(claims, "nonce"), expect.nonce) == 0);
    }
    apr_table_t *t = orgs_jose_claims_table(claims, p);
    const apr_array_header_t *a = apr_table_elts(t);
    for (int i = 0; i < a->nelts; i++) {
        const apr_table_entry_t *e = &APR_ARRAY_IDX(a, i, apr_table_entry_t);
        FUZZ_CHECK(e->key && e->val);
    }
    /* a NULL expectation fails closed */
    FUZZ_CHECK(orgs_jose_claims_check(claims, NULL, FUZZ_NOW, &err) == ORGS_ECLAIM);
}

static void do_jwks(const uint8_t *data, size_t size, apr_pool_t *p)
{
    orgs_jwks_t *jwks = NULL;
    orgs_err_t err;
    apr_status_t rv = orgs_jose_jwks_parse(&jwks, (const char *)data, size, p, &err);
    FUZZ_CHECK(rv == APR_SUCCESS || rv == APR_EINVAL || rv == ORGS_ECRYPTO);
    if (rv == APR_SUCCESS) {
        apr_size_t n = orgs_jose_jwks_count(jwks);
        FUZZ_CHECK(n >= 1 && n <= ORGS_JOSE_JWKS_KEYS_MAX);
    }
}

static void do_jws(const uint8_t *data, size_t size, apr_pool_t *p)
{
    char *token = fuzz_cstr(data, size, p);
    json_t *claims = (json_t *)1;
    orgs_err_t err;
    if (!token) {
        return;
    }
    apr_status_t rv = orgs_jose_jws_verify(token, fixed_jwks, &claims, p, &err);
    FUZZ_CHECK(rv == APR_SUCCESS || rv == APR_EINVAL || rv == ORGS_EBADALG || rv == ORGS_ENOKID ||
               rv == ORGS_EBADSIG || rv == ORGS_ECRYPTO);
    if (rv != APR_SUCCESS) {
        FUZZ_CHECK(claims == NULL);
        /* err->msg never contains the token */
        FUZZ_CHECK(size < 8 || !strstr(err.msg, token));
        return;
    }
    FUZZ_CHECK(json_is_object(claims));
    read_claims(claims, p);
}

static void do_claims(const uint8_t *data, size_t size, apr_pool_t *p)
{
    json_t *claims = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (claims) {
        read_claims(claims, p);
        json_decref(claims);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    if (size < 1) {
        return 0;
    }
    apr_pool_create(&p, fuzz_root);
    switch (data[0] % 3) {
    case 0:
        do_jwks(data + 1, size - 1, p);
        break;
    case 1:
        do_jws(data + 1, size - 1, p);
        break;
    default:
        do_claims(data + 1, size - 1, p);
        break;
    }
    apr_pool_destroy(p);
    return 0;
}
