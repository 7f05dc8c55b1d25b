/* JWK / JWS / JWT for OpenID Connect ID tokens (see jose.h). */
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

#include "jose.h"
#include "crypto.h"
#include "memo.h"
#include "text.h"

enum { KTY_RSA = 1, KTY_EC = 2 };

/* The allow-list. Anything not in it, "none" and HS* above all, is refused. */
typedef struct alg_info {
    const char *name;
    const char *md;
    int kty;
    int pss;
    const char *crv;    /* EC only: JWK curve name */
    apr_size_t ec_size; /* EC only: bytes per coordinate / per r and s */
} alg_info;

/* The digests of the allow-list, fetched once per process (index by
 * alg_info.md_idx): looking one up by name on every verification costs a
 * provider search each time. Never freed: they live as long as the
 * process. */
static const char *const md_names[] = {"SHA256", "SHA384", "SHA512"};
static EVP_MD *md_fetched[3];
static CRYPTO_ONCE md_once = CRYPTO_ONCE_STATIC_INIT;

static void md_fetch_all(void)
{
    for (int i = 0; i < 3; i++) {
        md_fetched[i] = EVP_MD_fetch(NULL, md_names[i], NULL);
    }
}

/* The fetched digest named name, or NULL (fetch failed). */
static const EVP_MD *md_get(const char *name)
{
    if (!CRYPTO_THREAD_run_once(&md_once, md_fetch_all)) {
        return NULL;
    }
    for (int i = 0; i < 3; i++) {
        if (strcmp(name, md_names[i]) == 0) {
            return md_fetched[i];
        }
    }
    return NULL;
}

static const alg_info algs[] = {
    {"RS256", "SHA256", KTY_RSA, 0, NULL, 0},    {"RS384", "SHA384", KTY_RSA, 0, NULL, 0},
    {"RS512", "SHA512", KTY_RSA, 0, NULL, 0},    {"PS256", "SHA256", KTY_RSA, 1, NULL, 0},
    {"PS384", "SHA384", KTY_RSA, 1, NULL, 0},    {"PS512", "SHA512", KTY_RSA, 1, NULL, 0},
    {"ES256", "SHA256", KTY_EC, 0, "P-256", 32}, {"ES384", "SHA384", KTY_EC, 0, "P-384", 48},
};

static const struct {
    const char *crv;
    const char *group; /* OpenSSL group name */
    apr_size_t size;
} curves[] = {
    {"P-256", "prime256v1", 32},
    {"P-384", "secp384r1", 48},
};

typedef struct jwk_t {
    const char *kid; /* NULL when the JWK has none */
    const char *alg; /* NULL when the JWK has none */
    const char *crv; /* EC only */
    int kty;
    EVP_PKEY *pkey;
} jwk_t;

struct orgs_jwks_t {
    jwk_t *keys;
    apr_size_t nkeys;
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

static apr_status_t json_cleanup(void *data)
{
    json_decref(data);
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

static const alg_info *alg_lookup(const char *name)
{
    for (apr_size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (strcmp(name, algs[i].name) == 0) {
            return &algs[i];
        }
    }
    return NULL;
}

/* Optional string member: absent -> NULL, present but not a string -> -1. */
static int opt_str(const json_t *obj, const char *name, const char **out)
{
    const json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v) {
        return 0;
    }
    if (!json_is_string(v)) {
        return -1;
    }
    *out = json_string_value(v);
    return 0;
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
        if (!json_is_object(jwk) || !kty || !jwk_for_sig(jwk) || opt_str(jwk, "kid", &k.kid) ||
            opt_str(jwk, "alg", &k.alg)) {
            continue;
        }
        if (k.alg && !alg_lookup(k.alg)) {
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

/* Parsed sets by the SHA-256 of their document: the keys are built and
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
    unsigned char key[32];
    void *val = NULL;
    apr_status_t rv;

    *jwks = NULL;
    if (!json || len == 0) {
        return orgs_err_set(err, APR_EINVAL, "jwks: empty");
    }
    if (len > ORGS_JOSE_JWKS_MAX) {
        return orgs_err_set(err, APR_EINVAL, "jwks: larger than %d bytes", ORGS_JOSE_JWKS_MAX);
    }
    if ((rv = orgs_crypto_sha256(json, len, key)) != APR_SUCCESS) {
        return orgs_err_set(err, rv, "jwks: cannot hash the document");
    }
    rv = orgs_memo_get(&jwks_memo, key, jwks_build, &d, &val, p, err);
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

static int key_fits(const jwk_t *k, const alg_info *a)
{
    if (k->kty != a->kty) {
        return 0;
    }
    if (a->kty == KTY_EC && strcmp(k->crv, a->crv) != 0) {
        return 0;
    }
    return !k->alg || strcmp(k->alg, a->name) == 0;
}

/* APR_SUCCESS if and only if *out is set. Failures return their code as a
 * literal, not via orgs_err_set(), so that contract is visible here. */
static apr_status_t key_find(const orgs_jwks_t *jwks, const char *kid, const alg_info *a,
                             const jwk_t **out, orgs_err_t *err)
{
    const jwk_t *found = NULL;
    apr_size_t nfit = 0;
    int kid_seen = 0;

    *out = NULL;
    for (apr_size_t i = 0; i < jwks->nkeys; i++) {
        const jwk_t *k = &jwks->keys[i];
        if (kid) {
            if (!k->kid || strcmp(k->kid, kid) != 0) {
                continue;
            }
            kid_seen = 1;
        }
        if (key_fits(k, a)) {
            nfit++;
            found = found ? found : k;
        }
    }
    if (kid && found) {
        *out = found;
        return APR_SUCCESS;
    }
    if (kid && kid_seen) {
        orgs_err_set(err, ORGS_EBADSIG, "kid: key does not fit alg %s", a->name);
        return ORGS_EBADSIG;
    }
    if (kid) {
        orgs_err_set(err, ORGS_ENOKID, "kid: no such key in the JWKS");
        return ORGS_ENOKID;
    }
    if (nfit != 1) {
        orgs_err_set(err, ORGS_ENOKID,
                     "kid: none in the token and %" APR_SIZE_T_FMT " keys fit alg %s", nfit,
                     a->name);
        return ORGS_ENOKID;
    }
    *out = found;
    return APR_SUCCESS;
}

/* ES*: JWS carries raw r||s; OpenSSL wants DER. */
static apr_status_t ecdsa_to_der(const unsigned char *sig, apr_size_t siglen, apr_size_t size,
                                 unsigned char **der, int *derlen)
{
    ECDSA_SIG *es;
    BIGNUM *r, *s;

    if (siglen != 2 * size) {
        return ORGS_EBADSIG;
    }
    es = ECDSA_SIG_new();
    r = BN_bin2bn(sig, (int)size, NULL);
    s = BN_bin2bn(sig + size, (int)size, NULL);
    if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        return ORGS_ECRYPTO;
    }
    *der = NULL;
    *derlen = i2d_ECDSA_SIG(es, der);
    ECDSA_SIG_free(es);
    return *derlen > 0 ? APR_SUCCESS : ORGS_ECRYPTO;
}

static apr_status_t sig_verify(const alg_info *a, EVP_PKEY *pkey, const char *data,
                               apr_size_t datalen, const unsigned char *sig, apr_size_t siglen,
                               orgs_err_t *err)
{
    EVP_MD_CTX *md = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *der = NULL;
    int derlen = 0;
    apr_status_t rv;

    if (a->kty == KTY_EC) {
        rv = ecdsa_to_der(sig, siglen, a->ec_size, &der, &derlen);
        if (rv != APR_SUCCESS) {
            return orgs_err_set(err, rv, "signature: %s",
                                rv == ORGS_EBADSIG ? "wrong length for alg" : "conversion failed");
        }
        sig = der;
        siglen = (apr_size_t)derlen;
    }
    md = EVP_MD_CTX_new();
    if (!md || !md_get(a->md) || EVP_DigestVerifyInit(md, &pctx, md_get(a->md), NULL, pkey) != 1) {
        rv = orgs_err_set(err, ORGS_ECRYPTO, "signature: verifier setup failed");
        goto leave;
    }
    /* RFC 7518 3.5: PSS with MGF1 on the same hash, salt = hash length. */
    if (a->pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                   EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
        rv = orgs_err_set(err, ORGS_ECRYPTO, "signature: PSS setup failed");
        goto leave;
    }
    if (EVP_DigestVerify(md, sig, siglen, (const unsigned char *)data, datalen) != 1) {
        rv = orgs_err_set(err, ORGS_EBADSIG, "signature: verification failed");
        goto leave;
    }
    rv = APR_SUCCESS;
leave:
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ERR_clear_error();
    return rv;
}

/* Decodes one base64url part and parses it as a JSON object. */
static apr_status_t part_json(const char *s, apr_size_t len, const char *what, json_t **out,
                              apr_pool_t *p, orgs_err_t *err)
{
    unsigned char *raw = NULL;
    apr_size_t rawlen = 0;
    json_error_t jerr;

    *out = NULL;
    if (len == 0 || orgs_text_b64url_decode(s, len, &raw, &rawlen, p, NULL) != APR_SUCCESS) {
        return orgs_err_set(err, APR_EINVAL, "%s: bad base64url", what);
    }
    *out = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return orgs_err_set(err, APR_EINVAL, "%s: not a JSON object", what);
    }
    return APR_SUCCESS;
}

/* APR_SUCCESS if and only if *out is set; every refusal is ORGS_EBADALG. */
static apr_status_t alg_check(const json_t *header, const alg_info **out, orgs_err_t *err)
{
    const json_t *v = json_object_get(header, "alg");
    const char *alg = json_string_value(v);
    const char *why = NULL;

    *out = NULL;
    if (!alg) {
        why = "missing or not a string";
    } else if (strcasecmp(alg, "none") == 0) {
        why = "unsigned tokens are refused";
    } else if ((alg[0] == 'H' || alg[0] == 'h') && (alg[1] == 'S' || alg[1] == 's')) {
        why = "HMAC is refused";
    } else if ((*out = alg_lookup(alg)) == NULL) {
        why = "not in the allow-list";
    }
    if (why) {
        orgs_err_set(err, ORGS_EBADALG, "alg: %s", why);
        return ORGS_EBADALG;
    }
    return APR_SUCCESS;
}

apr_status_t orgs_jose_jws_verify(const char *token, const orgs_jwks_t *jwks, json_t **claims,
                                  apr_pool_t *p, orgs_err_t *err)
{
    json_t *header = NULL, *payload = NULL;
    const char *dot1, *dot2, *kid = NULL;
    const alg_info *a = NULL;
    const jwk_t *key = NULL;
    unsigned char *sig = NULL;
    apr_size_t len, siglen = 0;
    apr_status_t rv;

    if (claims) {
        *claims = NULL;
    }
    if (!token || !jwks || !claims) {
        return orgs_err_set(err, APR_EINVAL, "token: missing");
    }
    len = strnlen(token, ORGS_JOSE_TOKEN_MAX + 1);
    if (len > ORGS_JOSE_TOKEN_MAX) {
        return orgs_err_set(err, APR_EINVAL, "token: larger than %d bytes", ORGS_JOSE_TOKEN_MAX);
    }
    /* Strict compact form: only base64url characters and exactly two dots. */
    dot1 = strchr(token, '.');
    dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot1 || !dot2 || strchr(dot2 + 1, '.')) {
        return orgs_err_set(err, APR_EINVAL, "token: not three dot-separated parts");
    }
    for (const char *c = token; *c; c++) {
        if (*c != '.' && orgs_text_b64url_value((unsigned char)*c) < 0) {
            return orgs_err_set(err, APR_EINVAL, "token: character outside base64url");
        }
    }

    rv = part_json(token, (apr_size_t)(dot1 - token), "header", &header, p, err);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    if ((rv = alg_check(header, &a, err)) != APR_SUCCESS) {
        goto leave;
    }
    /* RFC 7515 4.1.11: extensions we do not understand must be refused. */
    if (json_object_get(header, "crit")) {
        rv = orgs_err_set(err, APR_EINVAL, "crit: unsupported critical header");
        goto leave;
    }
    if (opt_str(header, "kid", &kid) != 0) {
        rv = orgs_err_set(err, APR_EINVAL, "kid: not a string");
        goto leave;
    }
    if ((rv = key_find(jwks, kid, a, &key, err)) != APR_SUCCESS) {
        goto leave;
    }
    if (dot2[1] == '\0' ||
        orgs_text_b64url_decode(dot2 + 1, strlen(dot2 + 1), &sig, &siglen, p, NULL) !=
            APR_SUCCESS ||
        siglen == 0) {
        rv = orgs_err_set(err, ORGS_EBADSIG, "signature: missing or bad base64url");
        goto leave;
    }
    rv = sig_verify(a, key->pkey, token, (apr_size_t)(dot2 - token), sig, siglen, err);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    rv = part_json(dot1 + 1, (apr_size_t)(dot2 - dot1 - 1), "payload", &payload, p, err);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    apr_pool_cleanup_register(p, payload, json_cleanup, apr_pool_cleanup_null);
    *claims = payload;
leave:
    json_decref(header);
    return rv;
}

/* NumericDate claim: 1 and *out when present, 0 when absent, -1 when not a
 * number. Fractions are truncated. */
static int numeric_date(const json_t *claims, const char *name, apr_int64_t *out)
{
    const json_t *v = json_object_get(claims, name);
    if (!v) {
        return 0;
    }
    if (json_is_integer(v)) {
        *out = (apr_int64_t)json_integer_value(v);
        return 1;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d > -1e15 && d < 1e15)) {
            return -1;
        }
        *out = (apr_int64_t)d;
        return 1;
    }
    return -1;
}

static apr_status_t check_aud(const json_t *claims, const char *client_id, orgs_err_t *err)
{
    const json_t *aud = json_object_get(claims, "aud");
    const json_t *azp = json_object_get(claims, "azp");
    int found = 0;
    size_t n = 1;

    if (json_is_string(aud)) {
        found = strcmp(json_string_value(aud), client_id) == 0;
    } else if (json_is_array(aud) && json_array_size(aud) > 0) {
        size_t i;
        const json_t *v;
        n = json_array_size(aud);
        json_array_foreach(aud, i, v)
        {
            if (!json_is_string(v)) {
                return orgs_err_set(err, ORGS_ECLAIM, "aud: array member not a string");
            }
            found |= strcmp(json_string_value(v), client_id) == 0;
        }
    } else {
        return orgs_err_set(err, ORGS_ECLAIM, "aud: missing or not a string / array");
    }
    if (!found) {
        return orgs_err_set(err, ORGS_ECLAIM, "aud: client_id not in audience");
    }
    if (n > 1 && !azp) {
        return orgs_err_set(err, ORGS_ECLAIM, "azp: required with several audiences");
    }
    if (azp && (!json_is_string(azp) || strcmp(json_string_value(azp), client_id) != 0)) {
        return orgs_err_set(err, ORGS_ECLAIM, "azp: not the client_id");
    }
    return APR_SUCCESS;
}

static apr_status_t check_times(const json_t *claims, apr_time_t now, apr_interval_time_t skew,
                                orgs_err_t *err)
{
    apr_int64_t t_now = (apr_int64_t)apr_time_sec(now);
    apr_int64_t t_skew = (apr_int64_t)apr_time_sec(skew < 0 ? 0 : skew);
    apr_int64_t exp = 0, iat = 0, nbf = 0;
    int has;

    has = numeric_date(claims, "exp", &exp);
    if (has != 1) {
        return orgs_err_set(err, ORGS_ECLAIM, "exp: %s", has ? "not a number" : "missing");
    }
    if (!(exp > t_now - t_skew)) {
        return orgs_err_set(err, ORGS_ECLAIM, "exp: token expired");
    }
    has = numeric_date(claims, "iat", &iat);
    if (has != 1) {
        return orgs_err_set(err, ORGS_ECLAIM, "iat: %s", has ? "not a number" : "missing");
    }
    if (iat > t_now + t_skew) {
        return orgs_err_set(err, ORGS_ECLAIM, "iat: issued in the future");
    }
    has = numeric_date(claims, "nbf", &nbf);
    if (has < 0) {
        return orgs_err_set(err, ORGS_ECLAIM, "nbf: not a number");
    }
    if (has && nbf > t_now + t_skew) {
        return orgs_err_set(err, ORGS_ECLAIM, "nbf: token not yet valid");
    }
    return APR_SUCCESS;
}

apr_status_t orgs_jose_claims_check(const json_t *claims, const orgs_jose_expect_t *expect,
                                    apr_time_t now, orgs_err_t *err)
{
    const char *iss, *sub, *nonce;
    apr_status_t rv;

    if (!json_is_object(claims) || !expect || !expect->issuer || !expect->client_id ||
        !expect->nonce) {
        return orgs_err_set(err, ORGS_ECLAIM, "claims: missing token or expectation");
    }
    iss = orgs_jose_claim_str(claims, "iss");
    if (!iss || strcmp(iss, expect->issuer) != 0) {
        return orgs_err_set(err, ORGS_ECLAIM, "iss: %s",
                            iss ? "not the connection's issuer" : "missing");
    }
    if ((rv = check_aud(claims, expect->client_id, err)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = check_times(claims, now, expect->skew, err)) != APR_SUCCESS) {
        return rv;
    }
    nonce = orgs_jose_claim_str(claims, "nonce");
    if (!nonce) {
        return orgs_err_set(err, ORGS_ECLAIM, "nonce: missing");
    }
    if (!orgs_crypto_ct_streq(nonce, expect->nonce)) {
        return orgs_err_set(err, ORGS_ECLAIM, "nonce: does not match the login request");
    }
    sub = orgs_jose_claim_str(claims, "sub");
    if (!sub || !*sub || strlen(sub) > ORGS_SUB_MAX) {
        return orgs_err_set(err, ORGS_ECLAIM, "sub: missing, empty or longer than %d bytes",
                            ORGS_SUB_MAX);
    }
    return APR_SUCCESS;
}

const char *orgs_jose_claim_str(const json_t *claims, const char *name)
{
    const json_t *v = claims && name ? json_object_get(claims, name) : NULL;
    /* A string with an embedded NUL would be silently truncated: refuse it. */
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        return NULL;
    }
    return json_string_value(v);
}

apr_table_t *orgs_jose_claims_table(const json_t *claims, apr_pool_t *p)
{
    apr_table_t *t = apr_table_make(p, 16);
    const char *key;
    json_t *v;

    if (!json_is_object(claims)) {
        return t;
    }
    /* jansson iterates non-const objects only; nothing is modified here. */
    json_object_foreach((json_t *)claims, key, v)
    {
        const char *text = NULL;
        switch (json_typeof(v)) {
        case JSON_STRING:
            if (strlen(json_string_value(v)) == json_string_length(v)) {
                text = json_string_value(v);
            }
            break;
        case JSON_INTEGER:
            text = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(v));
            break;
        case JSON_REAL:
            text = apr_psprintf(p, "%.17g", json_real_value(v));
            break;
        case JSON_TRUE:
            text = "true";
            break;
        case JSON_FALSE:
            text = "false";
            break;
        default:
            break;
        }
        if (text) {
            apr_table_set(t, key, text);
        }
    }
    return t;
}
