/* Key derivation, AES-256-GCM, random ids, base64url, SHA-256 and
 * constant-time compare. Besides jose_jwk.c and jose_jws.c this is the only OpenSSL user. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "crypto.h"
#include "text.h"

/* Largest secret accepted from a key file or variable: a key is a few dozen
 * bytes; anything bigger is a wrong file. */
#define IKM_MAX 4096

void orgs_crypto_cleanse(void *buf, apr_size_t len)
{
    if (buf && len) {
        OPENSSL_cleanse(buf, len);
    }
}

static apr_status_t keys_cleanup(void *data)
{
    orgs_crypto_cleanse(data, sizeof(orgs_crypto_keys_t));
    return APR_SUCCESS;
}

/* Algorithms fetched from the default provider once per process: an
 * EVP_sha256() / EVP_aes_256_gcm() / HMAC() per call makes OpenSSL 3 look
 * the algorithm up again each time (a lock and a hash lookup on every
 * authenticated request, several per login). The HMAC context is a
 * template with its digest set, duplicated per call. Never freed: they
 * live as long as the process. A member is NULL when its fetch failed,
 * and every user then fails closed. */
static CRYPTO_ONCE algs_once = CRYPTO_ONCE_STATIC_INIT;
static struct {
    EVP_MD *sha256;
    EVP_CIPHER *aes_gcm;
    EVP_KDF *hkdf;
    EVP_MAC *hmac;
    EVP_MAC_CTX *hmac_sha256; /* template: digest set, no key */
} algs;

static void algs_fetch(void)
{
    OSSL_PARAM params[2];
    algs.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    algs.aes_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    algs.hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    algs.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (algs.hmac && (algs.hmac_sha256 = EVP_MAC_CTX_new(algs.hmac)) != NULL) {
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
        params[1] = OSSL_PARAM_construct_end();
        if (EVP_MAC_CTX_set_params(algs.hmac_sha256, params) != 1) {
            EVP_MAC_CTX_free(algs.hmac_sha256);
            algs.hmac_sha256 = NULL;
        }
    }
}

static int algs_ready(void)
{
    return CRYPTO_THREAD_run_once(&algs_once, algs_fetch);
}

static const EVP_MD *sha256_get(void)
{
    return algs_ready() ? algs.sha256 : NULL;
}

static const EVP_CIPHER *aes_gcm_get(void)
{
    return algs_ready() ? algs.aes_gcm : NULL;
}

/* HKDF-SHA256(ikm, salt = none, info) -> 32 bytes. */
static apr_status_t hkdf(const unsigned char *ikm, apr_size_t len, const char *info,
                         unsigned char out[ORGS_CRYPTO_KEY_LEN])
{
    apr_status_t rv = ORGS_ECRYPTO;
    EVP_KDF *kdf = algs_ready() ? algs.hkdf : NULL;
    EVP_KDF_CTX *kctx = NULL;
    OSSL_PARAM params[4];

    if (!kdf) {
        goto leave;
    }
    kctx = EVP_KDF_CTX_new(kdf);
    if (!kctx) {
        goto leave;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, len);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
    params[3] = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(kctx, out, ORGS_CRYPTO_KEY_LEN, params) != 1) {
        goto leave;
    }
    rv = APR_SUCCESS;
leave:
    EVP_KDF_CTX_free(kctx);
    return rv;
}

apr_status_t orgs_crypto_keys_derive(orgs_crypto_keys_t **keys, const unsigned char *ikm,
                                     apr_size_t len, apr_pool_t *p, orgs_err_t *err)
{
    orgs_crypto_keys_t *k;

    *keys = NULL;
    if (!ikm || len < ORGS_CRYPTO_IKM_MIN) {
        return orgs_err_set(err, APR_EINVAL, "crypto key too short: need at least %d bytes",
                            ORGS_CRYPTO_IKM_MIN);
    }
    k = apr_pcalloc(p, sizeof(*k));
    apr_pool_cleanup_register(p, k, keys_cleanup, apr_pool_cleanup_null);
    if (hkdf(ikm, len, "orgs secrets v1", k->secrets) != APR_SUCCESS ||
        hkdf(ikm, len, "orgs state v1", k->state) != APR_SUCCESS ||
        hkdf(ikm, len, "orgs cookie v1", k->cookie) != APR_SUCCESS) {
        orgs_crypto_cleanse(k, sizeof(*k));
        return orgs_err_set(err, ORGS_ECRYPTO, "key derivation failed");
    }
    *keys = k;
    return APR_SUCCESS;
}

/* Reads a key file into buf (IKM_MAX + 1 bytes), refusing anything but a
 * regular file that others cannot read. fstat on the open descriptor, so
 * the checked file is the read one. */
static apr_status_t read_key_file(const char *path, unsigned char *buf, apr_size_t *len,
                                  orgs_err_t *err)
{
    apr_status_t rv = APR_SUCCESS;
    struct stat st;
    apr_size_t total = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        int e = errno;
        return orgs_err_set(err, e == ENOENT ? APR_NOTFOUND : APR_FROM_OS_ERROR(e),
                            "cannot open key file '%s': %s", path, strerror(e));
    }
    if (fstat(fd, &st) != 0) {
        rv = orgs_err_set(err, APR_FROM_OS_ERROR(errno), "cannot stat key file '%s'", path);
        goto leave;
    }
    if (!S_ISREG(st.st_mode)) {
        rv = orgs_err_set(err, APR_EINVAL, "key file '%s' is not a regular file", path);
        goto leave;
    }
    if (st.st_mode & S_IROTH) {
        rv = orgs_err_set(err, APR_EINVAL,
                          "key file '%s' is world-readable: chmod o-rwx (e.g. 0600 or 0640)", path);
        goto leave;
    }
    for (;;) {
        ssize_t n = read(fd, buf + total, IKM_MAX + 1 - total);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            rv = orgs_err_set(err, APR_FROM_OS_ERROR(errno), "cannot read key file '%s'", path);
            goto leave;
        }
        if (n == 0) {
            break;
        }
        total += (apr_size_t)n;
        if (total > IKM_MAX) {
            rv = orgs_err_set(err, APR_EINVAL, "key file '%s' is larger than %d bytes", path,
                              IKM_MAX);
            goto leave;
        }
    }
    *len = total;
leave:
    close(fd);
    return rv;
}

apr_status_t orgs_crypto_keys_load(orgs_crypto_keys_t **keys, const char *source, apr_pool_t *p,
                                   orgs_err_t *err)
{
    apr_status_t rv;
    unsigned char buf[IKM_MAX + 1];
    apr_size_t len = 0;
    const char *what;

    *keys = NULL;
    if (!source) {
        return orgs_err_set(err, ORGS_ENOKEY, "no crypto key configured");
    }
    if (strncmp(source, "file:", 5) == 0 && source[5]) {
        what = "key file";
        rv = read_key_file(source + 5, buf, &len, err);
        if (rv != APR_SUCCESS) {
            goto leave;
        }
    } else if (strncmp(source, "env:", 4) == 0 && source[4]) {
        const char *val = getenv(source + 4);
        what = "key variable";
        if (!val) {
            rv =
                orgs_err_set(err, APR_NOTFOUND, "environment variable '%s' is not set", source + 4);
            goto leave;
        }
        len = strlen(val);
        if (len > IKM_MAX) {
            rv = orgs_err_set(err, APR_EINVAL, "environment variable '%s' is longer than %d bytes",
                              source + 4, IKM_MAX);
            goto leave;
        }
        memcpy(buf, val, len);
    } else {
        rv = orgs_err_set(err, APR_EINVAL, "key source must be file:PATH or env:VAR (got '%s')",
                          source);
        goto leave;
    }
    len = orgs_text_trim_trailing_space(buf, len);
    if (len < ORGS_CRYPTO_IKM_MIN) {
        rv = orgs_err_set(err, APR_EINVAL, "%s '%s' holds %lu bytes: need at least %d", what,
                          strchr(source, ':') + 1, (unsigned long)len, ORGS_CRYPTO_IKM_MIN);
        goto leave;
    }
    rv = orgs_crypto_keys_derive(keys, buf, len, p, err);
leave:
    orgs_crypto_cleanse(buf, sizeof(buf));
    return rv;
}

apr_status_t orgs_crypto_seal(const unsigned char key[ORGS_CRYPTO_KEY_LEN], const void *pt,
                              apr_size_t ptlen, const void *aad, apr_size_t aadlen,
                              unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                              orgs_err_t *err)
{
    apr_status_t rv = ORGS_ECRYPTO;
    EVP_CIPHER_CTX *ctx = NULL;
    unsigned char *buf, *ct;
    int n = 0, fin = 0;

    *out = NULL;
    *outlen = 0;
    if (!key) {
        return orgs_err_set(err, ORGS_ENOKEY, "no crypto key");
    }
    if (ptlen > INT_MAX - 64 || aadlen > INT_MAX || (!pt && ptlen) || (!aad && aadlen)) {
        return orgs_err_set(err, APR_EINVAL, "bad seal input");
    }
    buf = apr_palloc(p, ORGS_CRYPTO_NONCE_LEN + ptlen + ORGS_CRYPTO_TAG_LEN);
    ct = buf + ORGS_CRYPTO_NONCE_LEN;
    if (RAND_bytes(buf, ORGS_CRYPTO_NONCE_LEN) != 1) {
        goto leave;
    }
    ctx = EVP_CIPHER_CTX_new();
    if (!ctx || !aes_gcm_get() || EVP_EncryptInit_ex(ctx, aes_gcm_get(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, ORGS_CRYPTO_NONCE_LEN, NULL) != 1 ||
        EVP_EncryptInit_ex(ctx, NULL, NULL, key, buf) != 1) {
        goto leave;
    }
    if (aadlen && EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1) {
        goto leave;
    }
    n = 0;
    if (ptlen && EVP_EncryptUpdate(ctx, ct, &n, pt, (int)ptlen) != 1) {
        goto leave;
    }
    /* n and fin are non-negative and bounded by ptlen < INT_MAX - 64; widen each before adding. */
    if (EVP_EncryptFinal_ex(ctx, ct + n, &fin) != 1 || (apr_size_t)n + (apr_size_t)fin != ptlen) {
        goto leave;
    }
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, ORGS_CRYPTO_TAG_LEN, ct + ptlen) != 1) {
        goto leave;
    }
    *out = buf;
    *outlen = ORGS_CRYPTO_NONCE_LEN + ptlen + ORGS_CRYPTO_TAG_LEN;
    rv = APR_SUCCESS;
leave:
    EVP_CIPHER_CTX_free(ctx);
    if (rv != APR_SUCCESS) {
        orgs_err_set(err, rv, "encryption failed");
    }
    return rv;
}

apr_status_t orgs_crypto_open(const unsigned char key[ORGS_CRYPTO_KEY_LEN], const void *in,
                              apr_size_t inlen, const void *aad, apr_size_t aadlen,
                              unsigned char **out, apr_size_t *outlen, apr_pool_t *p,
                              orgs_err_t *err)
{
    apr_status_t rv = ORGS_ECRYPTO;
    EVP_CIPHER_CTX *ctx = NULL;
    const unsigned char *nonce = in, *ct, *tag;
    unsigned char *pt = NULL;
    apr_size_t ctlen;
    int n = 0, fin = 0;

    *out = NULL;
    *outlen = 0;
    if (!key) {
        return orgs_err_set(err, ORGS_ENOKEY, "no crypto key");
    }
    if (!in || inlen < ORGS_CRYPTO_NONCE_LEN + ORGS_CRYPTO_TAG_LEN || inlen > INT_MAX ||
        aadlen > INT_MAX || (!aad && aadlen)) {
        return orgs_err_set(err, ORGS_ECRYPTO, "sealed data malformed");
    }
    ctlen = inlen - ORGS_CRYPTO_NONCE_LEN - ORGS_CRYPTO_TAG_LEN;
    ct = nonce + ORGS_CRYPTO_NONCE_LEN;
    tag = ct + ctlen;
    pt = apr_palloc(p, ctlen + 1);
    ctx = EVP_CIPHER_CTX_new();
    if (!ctx || !aes_gcm_get() || EVP_DecryptInit_ex(ctx, aes_gcm_get(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, ORGS_CRYPTO_NONCE_LEN, NULL) != 1 ||
        EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) != 1) {
        goto leave;
    }
    if (aadlen && EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1) {
        goto leave;
    }
    n = 0;
    if (ctlen && EVP_DecryptUpdate(ctx, pt, &n, ct, (int)ctlen) != 1) {
        goto leave;
    }
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, ORGS_CRYPTO_TAG_LEN, (void *)tag) != 1) {
        goto leave;
    }
    /* The tag is checked here; nothing decrypted leaves before it passes. */
    if (EVP_DecryptFinal_ex(ctx, pt + n, &fin) != 1 || (apr_size_t)n + (apr_size_t)fin != ctlen) {
        goto leave;
    }
    pt[ctlen] = '\0';
    *out = pt;
    *outlen = ctlen;
    rv = APR_SUCCESS;
leave:
    EVP_CIPHER_CTX_free(ctx);
    if (rv != APR_SUCCESS) {
        orgs_crypto_cleanse(pt, ctlen + 1);
        orgs_err_set(err, rv, "decryption failed: wrong key or tampered data");
    }
    return rv;
}

/* After a failure out is zeroed (no partial digest is left behind);
 * callers check the result and never use it then. */
static apr_status_t digest_failed(unsigned char out[32])
{
    memset(out, 0, 32);
    return ORGS_ECRYPTO;
}

apr_status_t orgs_crypto_hmac(const unsigned char key[ORGS_CRYPTO_KEY_LEN], const void *data,
                              apr_size_t len, unsigned char out[32])
{
    static const unsigned char empty[1] = {0};
    size_t outlen = 0;
    EVP_MAC_CTX *ctx = algs_ready() && algs.hmac_sha256 ? EVP_MAC_CTX_dup(algs.hmac_sha256) : NULL;
    int ok = ctx && EVP_MAC_init(ctx, key, ORGS_CRYPTO_KEY_LEN, NULL) == 1 &&
             EVP_MAC_update(ctx, data ? data : empty, data ? len : 0) == 1 &&
             EVP_MAC_final(ctx, out, &outlen, 32) == 1 && outlen == 32;
    EVP_MAC_CTX_free(ctx);
    return ok ? APR_SUCCESS : digest_failed(out);
}

apr_status_t orgs_crypto_random(void *buf, apr_size_t len)
{
    unsigned char *b = buf;

    while (len > 0) {
        int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
        if (RAND_bytes(b, chunk) != 1) {
            return ORGS_ECRYPTO;
        }
        b += chunk;
        len -= (apr_size_t)chunk;
    }
    return APR_SUCCESS;
}

apr_status_t orgs_crypto_random_id(const char *prefix, apr_size_t nchars, char **out, apr_pool_t *p)
{
    apr_size_t plen = prefix ? strlen(prefix) : 0;
    char *s = apr_palloc(p, plen + nchars + 1);
    char *d = s + plen;
    unsigned char rnd[64];

    if (plen) {
        memcpy(s, prefix, plen + 1); /* with its NUL; *d = '\0' ends the id */
    }
    while (nchars > 0) {
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            *out = NULL;
            return ORGS_ECRYPTO;
        }
        /* Rejection sampling: 248 = 4 * 62, so accepted bytes map uniformly. */
        for (apr_size_t i = 0; i < sizeof(rnd) && nchars > 0; i++) {
            if (rnd[i] < 248) {
                *d++ = orgs_text_base62_alphabet[rnd[i] % 62];
                nchars--;
            }
        }
    }
    *d = '\0';
    orgs_crypto_cleanse(rnd, sizeof(rnd));
    *out = s;
    return APR_SUCCESS;
}

apr_status_t orgs_crypto_random_token(apr_size_t nbytes, char **out, apr_pool_t *p)
{
    unsigned char *buf = apr_palloc(p, nbytes ? nbytes : 1);
    apr_status_t rv = orgs_crypto_random(buf, nbytes);

    if (rv != APR_SUCCESS) {
        *out = NULL;
        return rv;
    }
    *out = orgs_text_b64url_encode(buf, nbytes, p);
    orgs_crypto_cleanse(buf, nbytes);
    return APR_SUCCESS;
}

apr_status_t orgs_crypto_random_tokens(apr_size_t nbytes, char **const *outs, int n, apr_pool_t *p)
{
    apr_size_t total = nbytes * (apr_size_t)(n > 0 ? n : 0);
    unsigned char *buf = apr_palloc(p, total ? total : 1);
    apr_status_t rv = orgs_crypto_random(buf, total);

    for (int i = 0; i < n; i++) {
        *outs[i] = rv == APR_SUCCESS ? orgs_text_b64url_encode(buf + i * nbytes, nbytes, p) : NULL;
    }
    orgs_crypto_cleanse(buf, total);
    return rv;
}

char *orgs_crypto_b64url_encode(const void *data, apr_size_t len, apr_pool_t *p)
{
    return orgs_text_b64url_encode(data, len, p);
}

apr_status_t orgs_crypto_b64url_decode(const char *s, apr_size_t slen, unsigned char **out,
                                       apr_size_t *outlen, apr_pool_t *p)
{
    return orgs_text_b64url_decode(s, slen, out, outlen, p, NULL);
}

apr_status_t orgs_crypto_sha256(const void *data, apr_size_t len, unsigned char out[32])
{
    static const unsigned char empty[1] = {0};
    unsigned int outlen = 32;
    const EVP_MD *md = sha256_get();

    if (!md || EVP_Digest(data ? data : empty, data ? len : 0, out, &outlen, md, NULL) != 1) {
        return digest_failed(out);
    }
    return APR_SUCCESS;
}

char *orgs_crypto_sha256_b64url(const char *s, apr_pool_t *p)
{
    unsigned char md[32];

    if (orgs_crypto_sha256(s, s ? strlen(s) : 0, md) != APR_SUCCESS) {
        return NULL;
    }
    return orgs_text_b64url_encode(md, sizeof(md), p);
}

int orgs_crypto_ct_equal(const void *a, const void *b, apr_size_t len)
{
    const unsigned char *x = a, *y = b;
    apr_uint64_t wa, wb;
    /* volatile: every word is read and folded in, whatever the bytes (no
     * early exit a compiler could add); eight bytes at a time, as the view
     * cache compares a whole session id on every request */
    volatile apr_uint64_t d = 0;
    apr_size_t i = 0;

    if (!a || !b) {
        return 0;
    }
    for (; i + 8 <= len; i += 8) {
        memcpy(&wa, x + i, 8);
        memcpy(&wb, y + i, 8);
        d |= wa ^ wb;
    }
    for (; i < len; i++) {
        d |= (apr_uint64_t)(x[i] ^ y[i]);
    }
    return d == 0;
}

int orgs_crypto_ct_streq(const char *a, const char *b)
{
    apr_size_t la, lb;

    if (!a || !b) {
        return 0;
    }
    la = strlen(a);
    lb = strlen(b);
    /* The length is not secret (tokens have fixed lengths); the content is. */
    if (la != lb) {
        return 0;
    }
    return CRYPTO_memcmp(a, b, la) == 0;
}
