/* JWK sets: parsing a JWKS document into public keys, and the
 * per-process memo of parsed sets (see jose.h). */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "jose_int.h"
#include "crypto.h"
#include "memo.h"
#include "text.h"

static const struct {
    const char *crv;
    const char *group; /* OpenSSL group name */
    apr_size_t size;
} curves[] = {
    {"P-256", "prime256v1", 32},
    {"P-384", "secp384r1", 48},
};

static apr_status_t jwks_cleanup(void *data)
{
    orgs_jwks_t *jwks = data;
    for (apr_size_t i = 0; i < jwks->nkeys; i++) {
        EVP_PKEY_free(jwks->keys[i].pkey);
        jwks->keys[i].pkey = NULL;
    }
    jwks->nkeys = 0;
    return APR_SUCCESS;
}

/* A JWK member that must be a base64url string; NULL-safe. */
static apr_status_t member_b64(const json_t *jwk, const char *name, unsigned char **out,
                               apr_size_t *outlen, apr_pool_t *p)
{
    const json_t *v = json_object_get(jwk, name);
    if (!json_is_string(v) || json_string_length(v) == 0) {
        return APR_EINVAL;
    }
    return orgs_text_b64url_decode(json_string_value(v), json_string_length(v), out, outlen, p,
                                   NULL);
}

/* Public keys only: fromdata, then OpenSSL's own public-key validation
 * (point on the curve, sane RSA exponent). NULL on bad material. */
static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM *params)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY_CTX *check = NULL;

    if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        goto leave;
    }
    check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (!check || EVP_PKEY_public_check(check) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
leave:
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return pkey;
}

static EVP_PKEY *rsa_from_jwk(const json_t *jwk, apr_pool_t *p)
{
    unsigned char *n = NULL, *e = NULL;
    apr_size_t nlen = 0, elen = 0;
    BIGNUM *bn_n = NULL, *bn_e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pkey = NULL;

    if (member_b64(jwk, "n", &n, &nlen, p) != APR_SUCCESS ||
        member_b64(jwk, "e", &e, &elen, p) != APR_SUCCESS || elen > 8) {
        return NULL;
    }
    bn_n = BN_bin2bn(n, (int)nlen, NULL);
    bn_e = BN_bin2bn(e, (int)elen, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (!bn_n || !bn_e || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) ||
        !(params = OSSL_PARAM_BLD_to_param(bld))) {
        goto leave;
    }
    pkey = pkey_fromdata("RSA", params);
    if (pkey && EVP_PKEY_get_bits(pkey) < ORGS_JOSE_RSA_MIN_BITS) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
leave:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    ERR_clear_error();
    return pkey;
}

static EVP_PKEY *ec_from_jwk(const json_t *jwk, const char **crv_out, apr_pool_t *p)
{
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    unsigned char *x = NULL, *y = NULL, point[1 + 2 * 48];
    apr_size_t xlen = 0, ylen = 0, i;
    char group[32];

    for (i = 0; crv && i < sizeof(curves) / sizeof(curves[0]); i++) {
        if (strcmp(crv, curves[i].crv) == 0) {
            break;
        }
    }
    if (!crv || i == sizeof(curves) / sizeof(curves[0])) {
        return NULL;
    }
    /* RFC 7518 6.2.1.2: coordinates are exactly the curve's size. */
    if (member_b64(jwk, "x", &x, &xlen, p) != APR_SUCCESS ||
        member_b64(jwk, "y", &y, &ylen, p) != APR_SUCCESS || xlen != curves[i].size ||
        ylen != curves[i].size) {
        return NULL;
    }
    point[0] = 0x04; /* uncompressed */
    memcpy(point + 1, x, xlen);
    memcpy(point + 1 + xlen, y, ylen);
    apr_cpystrn(group, curves[i].group, sizeof(group));
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, 1 + xlen + ylen),
        OSSL_PARAM_construct_end(),
    };
    *crv_out = curves[i].crv;
    return pkey_fromdata("EC", params);
}

/* 1 when the JWK is meant for signature verification. */
static int jwk_for_sig(const json_t *jwk)
{
    const json_t *use = json_object_get(jwk, "use");
    const json_t *ops = json_object_get(jwk, "key_ops");
    if (use && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0)) {
        return 0;
    }
    if (ops) {
        size_t i;
        const json_t *op;
        if (!json_is_array(ops)) {
            return 0;
        }
        json_array_foreach(ops, i, op)
        {
            if (json_is_string(op) && strcmp(json_string_value(op), "verify") == 0) {
                return 1;
            }
        }
        return 0;
    }
    return 1;
}

apr_status_t orgs_jose_jwks_parse(orgs_jwks_t **jwks, const char *json, apr_size_t len,
                                  apr_pool_t *p, orgs_err_t *err)
{
    json_error_t jerr;
    json_t *doc = NULL;
    const json_t *keys, *jwk;
    orgs_jwks_t *set;
    apr_status_t rv = APR_SUCCESS;
    size_t i;

    *jwks = NULL;
    if (!json || len == 0) {
        return orgs_err_set(err, APR_EINVAL, "jwks: empty");
    }
    if (len > ORGS_JOSE_JWKS_MAX) {
        return orgs_err_set(err, APR_EINVAL, "jwks: larger than %d bytes", ORGS_JOSE_JWKS_MAX);
    }
    doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        return orgs_err_set(err, APR_EINVAL, "jwks: not JSON (line %d column %d)", jerr.line,
                            jerr.column);
    }
    keys = json_object_get(doc, "keys");
    if (!json_is_object(doc) || !json_is_array(keys)) {
        rv = orgs_err_set(err, APR_EINVAL, "jwks: no \"keys\" array");
        goto leave;
    }

    set = apr_pcalloc(p, sizeof(*set));
    set->keys = apr_pcalloc(p, sizeof(jwk_t) * ORGS_JOSE_JWKS_KEYS_MAX);
    apr_pool_cleanup_register(p, set, jwks_cleanup, apr_pool_cleanup_null);

    json_array_foreach(keys, i, jwk)
    {
        const char *kty = json_string_value(json_object_get(jwk, "kty"));
        jwk_t k = {0};

        if (set->nkeys == ORGS_JOSE_JWKS_KEYS_MAX) {
            break;
        }
        if (!json_is_object(jwk) || !kty || !jwk_for_sig(jwk) ||
            orgs_jose_opt_str(jwk, "kid", &k.kid) || orgs_jose_opt_str(jwk, "alg", &k.alg)) {
            continue;
        }
        if (k.alg && !orgs_jose_alg_lookup(k.alg)) {
            continue; /* a key reserved for an algorithm we never accept */
        }
        if (strcmp(kty, "RSA") == 0) {
            k.kty = KTY_RSA;
            k.pkey = rsa_from_jwk(jwk, p);
        } else if (strcmp(kty, "EC") == 0) {
            k.kty = KTY_EC;
            k.pkey = ec_from_jwk(jwk, &k.crv, p);
        }
        if (!k.pkey) {
            continue; /* unknown kty or unusable material */
        }
        k.kid = k.kid ? apr_pstrdup(p, k.kid) : NULL;
        k.alg = k.alg ? apr_pstrdup(p, k.alg) : NULL;
        set->keys[set->nkeys++] = k;
    }
    if (set->nkeys == 0) {
        rv = orgs_err_set(err, APR_EINVAL, "jwks: no usable signing key");
        goto leave;
    }
    *jwks = set;
leave:
    json_decref(doc);
    return rv;
}

/* ---- the per-process JWKS memo ---------------------------------------- */

/* Parsed sets by their document's bytes: the keys are built and
 * checked (EVP_PKEY_public_check, the costly part) once per document and
 * process, never per login. */
static orgs_memo_t jwks_memo = ORGS_MEMO_INITIALIZER;

typedef struct {
    const char *json;
    apr_size_t len;
} jwks_doc_t;

static apr_status_t jwks_build(void *baton, void **val, apr_pool_t *pool, orgs_err_t *err)
{
    const jwks_doc_t *d = baton;
    orgs_jwks_t *set = NULL;
    apr_status_t rv = orgs_jose_jwks_parse(&set, d->json, d->len, pool, err);
    *val = set;
    return rv;
}

apr_status_t orgs_jose_jwks_get(const orgs_jwks_t **jwks, const char *json, apr_size_t len,
                                apr_pool_t *p, orgs_err_t *err)
{
    jwks_doc_t d = {json, len};
    void *val = NULL;
    apr_status_t rv;

    *jwks = NULL;
    if (!json || len == 0) {
        return orgs_err_set(err, APR_EINVAL, "jwks: empty");
    }
    if (len > ORGS_JOSE_JWKS_MAX) {
        return orgs_err_set(err, APR_EINVAL, "jwks: larger than %d bytes", ORGS_JOSE_JWKS_MAX);
    }
    rv = orgs_memo_get(&jwks_memo, json, len, jwks_build, &d, &val, p, err);
    *jwks = val;
    return rv;
}

apr_uint64_t orgs_jose_jwks_parsed(void)
{
    return orgs_memo_builds(&jwks_memo);
}

void orgs_jose_jwks_forget(void)
{
    orgs_memo_clear(&jwks_memo);
}

apr_size_t orgs_jose_jwks_count(const orgs_jwks_t *jwks)
{
    return jwks ? jwks->nkeys : 0;
}
