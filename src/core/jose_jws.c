/* Compact JWS verification against a parsed JWK set, with the algorithm
 * allow-list (see jose.h). */
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
#include "text.h"

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

/* The allow-list. Anything not in it, "none" and HS* above all, is refused. */
static const alg_info algs[] = {
    {"RS256", "SHA256", KTY_RSA, 0, NULL, 0},    {"RS384", "SHA384", KTY_RSA, 0, NULL, 0},
    {"RS512", "SHA512", KTY_RSA, 0, NULL, 0},    {"PS256", "SHA256", KTY_RSA, 1, NULL, 0},
    {"PS384", "SHA384", KTY_RSA, 1, NULL, 0},    {"PS512", "SHA512", KTY_RSA, 1, NULL, 0},
    {"ES256", "SHA256", KTY_EC, 0, "P-256", 32}, {"ES384", "SHA384", KTY_EC, 0, "P-384", 48},
};

static apr_status_t json_cleanup(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

const alg_info *orgs_jose_alg_lookup(const char *name)
{
    for (apr_size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (strcmp(name, algs[i].name) == 0) {
            return &algs[i];
        }
    }
    return NULL;
}

/* Optional string member: absent -> NULL, present but not a string -> -1. */
int orgs_jose_opt_str(const json_t *obj, const char *name, const char **out)
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
    } else if ((*out = orgs_jose_alg_lookup(alg)) == NULL) {
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
    if (orgs_jose_opt_str(header, "kid", &kid) != 0) {
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
