/* The only OpenSSL user besides jose_jwk.c and jose_jws.c: key derivation, AES-256-GCM,
 * random ids, base64url, SHA-256, constant-time compare. */
#ifndef ORGS_CRYPTO_H
#define ORGS_CRYPTO_H

#include "orgs.h"

#define ORGS_CRYPTO_KEY_LEN 32
#define ORGS_CRYPTO_NONCE_LEN 12
#define ORGS_CRYPTO_TAG_LEN 16
/* Minimum secret material accepted from OrgsCryptoKey / --key-file. */
#define ORGS_CRYPTO_IKM_MIN 32

/* Sub-keys derived with HKDF-SHA256 from the configured secret, one per
 * purpose (info strings "orgs secrets v1", "orgs state v1", "orgs cookie v1")
 * so a key can never be used for two jobs. Cleansed by a pool cleanup. */
typedef struct orgs_crypto_keys_t {
    unsigned char secrets[ORGS_CRYPTO_KEY_LEN]; /* connection secrets at rest */
    unsigned char state[ORGS_CRYPTO_KEY_LEN];   /* login state / browser binding */
    unsigned char cookie[ORGS_CRYPTO_KEY_LEN];  /* cookie MACs */
} orgs_crypto_keys_t;

/* Derives keys from raw secret bytes (>= ORGS_CRYPTO_IKM_MIN). */
apr_status_t orgs_crypto_keys_derive(orgs_crypto_keys_t **keys, const unsigned char *ikm,
                                     apr_size_t len, apr_pool_t *p, orgs_err_t *err);

/* Loads the secret from "file:PATH" (file contents, trailing whitespace
 * trimmed; file must not be world-readable) or "env:VAR" and derives keys. */
apr_status_t orgs_crypto_keys_load(orgs_crypto_keys_t **keys, const char *source, apr_pool_t *p,
                                   orgs_err_t *err);

/* AES-256-GCM with a fresh random nonce: out = nonce || ciphertext || tag,
 * allocated in p. aad binds the ciphertext to its context (e.g. the conn id). */
apr_status_t orgs_crypto_seal(const unsigned char key[ORGS_CRYPTO_KEY_LEN], const void *pt,
                              apr_size_t ptlen, const void *aad, apr_size_t aadlen,
                              unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                              orgs_err_t *err);
/* Inverse of seal; ORGS_ECRYPTO on any tampering. *out is NUL-terminated
 * (not counted in *outlen) for convenience with text secrets. */
apr_status_t orgs_crypto_open(const unsigned char key[ORGS_CRYPTO_KEY_LEN], const void *in,
                              apr_size_t inlen, const void *aad, apr_size_t aadlen,
                              unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                              orgs_err_t *err);

/* HMAC-SHA256 of data[0..len) into out. APR_SUCCESS, or ORGS_ECRYPTO when
 * OpenSSL fails: out is then zeroed, which is no MAC, and must not be used
 * (two failures give equal outputs): every caller checks the result and
 * fails closed. */
apr_status_t orgs_crypto_hmac(const unsigned char key[ORGS_CRYPTO_KEY_LEN], const void *data,
                              apr_size_t len, unsigned char out[32]);

apr_status_t orgs_crypto_random(void *buf, apr_size_t len);
/* prefix + nchars random base62 characters (unbiased), e.g. ("org_", 16). */
apr_status_t orgs_crypto_random_id(const char *prefix, apr_size_t nchars, char **out,
                                   apr_pool_t *p);
/* nbytes random bytes, base64url without padding (e.g. 32 -> 43 chars). */
apr_status_t orgs_crypto_random_token(apr_size_t nbytes, char **out, apr_pool_t *p);
/* n such tokens of nbytes each from one draw of the generator (each call
 * to it costs about as much as the bytes of three tokens): *outs[i] is the
 * i-th. On failure every *outs[i] is NULL. */
apr_status_t orgs_crypto_random_tokens(apr_size_t nbytes, char **const *outs, int n, apr_pool_t *p);

/* orgs_text_b64url_encode / orgs_text_b64url_decode (text.h: unpadded,
 * canonical only) under the names the store uses; new code calls text.h. */
char *orgs_crypto_b64url_encode(const void *data, apr_size_t len, apr_pool_t *p);
apr_status_t orgs_crypto_b64url_decode(const char *s, apr_size_t slen, unsigned char **out,
                                       apr_size_t *outlen, apr_pool_t *p);

/* SHA-256 of data[0..len) into out. APR_SUCCESS, or ORGS_ECRYPTO when
 * OpenSSL fails: out is then zeroed and must not be used, as for
 * orgs_crypto_hmac. */
apr_status_t orgs_crypto_sha256(const void *data, apr_size_t len, unsigned char out[32]);
/* PKCE S256 / hashed ids: base64url(SHA-256(s)) in p; NULL when OpenSSL
 * fails. */
char *orgs_crypto_sha256_b64url(const char *s, apr_pool_t *p);

/* Constant-time comparison; returns 1 when equal. NULL compares unequal. */
int orgs_crypto_ct_equal(const void *a, const void *b, apr_size_t len);
int orgs_crypto_ct_streq(const char *a, const char *b);

void orgs_crypto_cleanse(void *buf, apr_size_t len);

#endif
