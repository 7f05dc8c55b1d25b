/* Unit tests for src/core/crypto.c: AEAD roundtrip and tampering, key derivation
 * and loading, known-answer vectors, base64url strictness, random ids. */
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>

#include "testutil.h"
#include "crypto.h"

static apr_pool_t *pool;
static char *tmpdir;
static orgs_err_t err;

static const unsigned char ikm[40] = "0123456789abcdefghijklmnopqrstuvwxyzABCD";

static void setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    tmpdir = testutil_tempdir(pool);
    ck_assert_ptr_nonnull(tmpdir);
    memset(&err, 0, sizeof(err));
}

static void teardown(void)
{
    testutil_rmtree(tmpdir);
    apr_pool_destroy(pool);
}

static orgs_crypto_keys_t *test_keys(void)
{
    orgs_crypto_keys_t *k = NULL;
    ck_assert_int_eq(orgs_crypto_keys_derive(&k, ikm, sizeof(ikm), pool, &err), APR_SUCCESS);
    ck_assert_ptr_nonnull(k);
    return k;
}

static char *write_file(const char *name, const char *content, mode_t mode)
{
    char *path = apr_pstrcat(pool, tmpdir, "/", name, NULL);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(content, f);
    fclose(f);
    ck_assert_int_eq(chmod(path, mode), 0);
    return path;
}

static char *hex(const unsigned char *b, apr_size_t n)
{
    char *s = apr_palloc(pool, n * 2 + 1);
    for (apr_size_t i = 0; i < n; i++) {
        snprintf(s + 2 * i, 3, "%02x", b[i]);
    }
    return s;
}

/* ---- seal / open */

START_TEST(seal_open_roundtrip)
{
    orgs_crypto_keys_t *k = test_keys();
    const char *msg = "client-secret-value";
    unsigned char *sealed, *plain;
    apr_size_t slen, plen;

    ck_assert_int_eq(
        orgs_crypto_seal(k->secrets, msg, strlen(msg), "con_1", 5, &sealed, &slen, pool, &err),
        APR_SUCCESS);
    ck_assert_uint_eq(slen, ORGS_CRYPTO_NONCE_LEN + strlen(msg) + ORGS_CRYPTO_TAG_LEN);
    ck_assert_int_ne(memcmp(sealed + ORGS_CRYPTO_NONCE_LEN, msg, strlen(msg)), 0);
    ck_assert_int_eq(
        orgs_crypto_open(k->secrets, sealed, slen, "con_1", 5, &plain, &plen, pool, &err),
        APR_SUCCESS);
    ck_assert_uint_eq(plen, strlen(msg));
    ck_assert_str_eq((char *)plain, msg);
}
END_TEST

START_TEST(seal_open_empty_plaintext_no_aad)
{
    orgs_crypto_keys_t *k = test_keys();
    unsigned char *sealed, *plain;
    apr_size_t slen, plen;

    ck_assert_int_eq(orgs_crypto_seal(k->state, NULL, 0, NULL, 0, &sealed, &slen, pool, &err),
                     APR_SUCCESS);
    ck_assert_uint_eq(slen, ORGS_CRYPTO_NONCE_LEN + ORGS_CRYPTO_TAG_LEN);
    ck_assert_int_eq(orgs_crypto_open(k->state, sealed, slen, NULL, 0, &plain, &plen, pool, &err),
                     APR_SUCCESS);
    ck_assert_uint_eq(plen, 0);
    ck_assert_str_eq((char *)plain, "");
}
END_TEST

START_TEST(seal_fresh_nonce)
{
    orgs_crypto_keys_t *k = test_keys();
    unsigned char *a, *b;
    apr_size_t alen, blen;

    ck_assert_int_eq(orgs_crypto_seal(k->secrets, "same", 4, NULL, 0, &a, &alen, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_crypto_seal(k->secrets, "same", 4, NULL, 0, &b, &blen, pool, &err),
                     APR_SUCCESS);
    ck_assert_uint_eq(alen, blen);
    ck_assert_int_ne(memcmp(a, b, ORGS_CRYPTO_NONCE_LEN), 0);
    ck_assert_int_ne(memcmp(a, b, alen), 0);
}
END_TEST

/* Flips one bit at every position: nonce, ciphertext and tag. */
START_TEST(open_tampered_fails)
{
    orgs_crypto_keys_t *k = test_keys();
    unsigned char *sealed, *plain;
    apr_size_t slen, plen;

    ck_assert_int_eq(
        orgs_crypto_seal(k->secrets, "secret", 6, "aad", 3, &sealed, &slen, pool, &err),
        APR_SUCCESS);
    for (apr_size_t i = 0; i < slen; i++) {
        sealed[i] ^= 0x01;
        ck_assert_int_eq(
            orgs_crypto_open(k->secrets, sealed, slen, "aad", 3, &plain, &plen, pool, &err),
            ORGS_ECRYPTO);
        ck_assert_ptr_null(plain);
        sealed[i] ^= 0x01;
    }
    ck_assert_int_eq(
        orgs_crypto_open(k->secrets, sealed, slen, "aad", 3, &plain, &plen, pool, &err),
        APR_SUCCESS);
}
END_TEST

START_TEST(open_wrong_aad_fails)
{
    orgs_crypto_keys_t *k = test_keys();
    unsigned char *sealed, *plain;
    apr_size_t slen, plen;

    ck_assert_int_eq(
        orgs_crypto_seal(k->secrets, "secret", 6, "con_A", 5, &sealed, &slen, pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(
        orgs_crypto_open(k->secrets, sealed, slen, "con_B", 5, &plain, &plen, pool, &err),
        ORGS_ECRYPTO);
    ck_assert_int_eq(orgs_crypto_open(k->secrets, sealed, slen, NULL, 0, &plain, &plen, pool, &err),
                     ORGS_ECRYPTO);
    ck_assert_ptr_nonnull(strstr(err.msg, "decryption failed"));
}
END_TEST

START_TEST(open_wrong_key_fails)
{
    orgs_crypto_keys_t *k = test_keys();
    unsigned char *sealed, *plain;
    apr_size_t slen, plen;

    ck_assert_int_eq(orgs_crypto_seal(k->secrets, "secret", 6, NULL, 0, &sealed, &slen, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_crypto_open(k->state, sealed, slen, NULL, 0, &plain, &plen, pool, &err),
                     ORGS_ECRYPTO);
}
END_TEST

START_TEST(open_truncated_fails)
{
    orgs_crypto_keys_t *k = test_keys();
    unsigned char *sealed, *plain;
    apr_size_t slen, plen;

    ck_assert_int_eq(orgs_crypto_seal(k->secrets, "secret", 6, NULL, 0, &sealed, &slen, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(
        orgs_crypto_open(k->secrets, sealed, slen - 1, NULL, 0, &plain, &plen, pool, &err),
        ORGS_ECRYPTO);
    ck_assert_int_eq(orgs_crypto_open(k->secrets, sealed, ORGS_CRYPTO_NONCE_LEN, NULL, 0, &plain,
                                      &plen, pool, &err),
                     ORGS_ECRYPTO);
    ck_assert_int_eq(orgs_crypto_open(k->secrets, NULL, 0, NULL, 0, &plain, &plen, pool, &err),
                     ORGS_ECRYPTO);
}
END_TEST

START_TEST(seal_open_no_key)
{
    unsigned char *out;
    apr_size_t outlen;

    ck_assert_int_eq(orgs_crypto_seal(NULL, "x", 1, NULL, 0, &out, &outlen, pool, &err),
                     ORGS_ENOKEY);
    ck_assert_int_eq(orgs_crypto_open(NULL, "x", 1, NULL, 0, &out, &outlen, pool, &err),
                     ORGS_ENOKEY);
}
END_TEST

/* ---- key derivation */

START_TEST(derive_subkeys_differ)
{
    orgs_crypto_keys_t *k = test_keys(), *k2 = NULL, *k3 = NULL;
    unsigned char other[40];

    ck_assert_int_ne(memcmp(k->secrets, k->state, ORGS_CRYPTO_KEY_LEN), 0);
    ck_assert_int_ne(memcmp(k->secrets, k->cookie, ORGS_CRYPTO_KEY_LEN), 0);
    ck_assert_int_ne(memcmp(k->state, k->cookie, ORGS_CRYPTO_KEY_LEN), 0);
    ck_assert_int_ne(memcmp(k->secrets, ikm, ORGS_CRYPTO_KEY_LEN), 0);
    /* deterministic */
    ck_assert_int_eq(orgs_crypto_keys_derive(&k2, ikm, sizeof(ikm), pool, &err), APR_SUCCESS);
    ck_assert_int_eq(memcmp(k, k2, sizeof(*k)), 0);
    /* another secret, other keys */
    memcpy(other, ikm, sizeof(other));
    other[0] ^= 1;
    ck_assert_int_eq(orgs_crypto_keys_derive(&k3, other, sizeof(other), pool, &err), APR_SUCCESS);
    ck_assert_int_ne(memcmp(k->secrets, k3->secrets, ORGS_CRYPTO_KEY_LEN), 0);
}
END_TEST

/* HKDF-SHA256 with empty salt, checked against an independent computation
 * (python: hmac-based HKDF, salt = 32 zero bytes). */
START_TEST(derive_known_answer)
{
    orgs_crypto_keys_t *k = test_keys();
    ck_assert_str_eq(hex(k->secrets, 32),
                     "f7264b408a2252163045f4d2834d4c87e6376ba7a1bd5fa2da8f44a5198cc5a5");
}
END_TEST

START_TEST(derive_too_short)
{
    orgs_crypto_keys_t *k = (orgs_crypto_keys_t *)1;
    ck_assert_int_eq(orgs_crypto_keys_derive(&k, ikm, ORGS_CRYPTO_IKM_MIN - 1, pool, &err),
                     APR_EINVAL);
    ck_assert_ptr_null(k);
    ck_assert_ptr_nonnull(strstr(err.msg, "too short"));
    ck_assert_int_eq(orgs_crypto_keys_derive(&k, NULL, 64, pool, &err), APR_EINVAL);
}
END_TEST

START_TEST(derive_cleansed_on_pool_clear)
{
    apr_pool_t *sub;
    orgs_crypto_keys_t *k = NULL;
    unsigned char zero[sizeof(*k)];

    /* apr_pool_clear runs the cleanups but keeps the pool's first block,
     * so the memory can be inspected afterwards. */
    ck_assert_int_eq(apr_pool_create(&sub, pool), APR_SUCCESS);
    ck_assert_int_eq(orgs_crypto_keys_derive(&k, ikm, sizeof(ikm), sub, &err), APR_SUCCESS);
    memset(zero, 0, sizeof(zero));
    ck_assert_int_ne(memcmp(k, zero, sizeof(zero)), 0);
    apr_pool_clear(sub);
    ck_assert_int_eq(memcmp(k, zero, sizeof(zero)), 0);
    apr_pool_destroy(sub);
}
END_TEST

/* ---- key loading */

START_TEST(load_file_ok_trims_newline)
{
    orgs_crypto_keys_t *k = NULL, *ref = test_keys();
    char *path = write_file("key", "0123456789abcdefghijklmnopqrstuvwxyzABCD\n\r\n  ", 0600);

    ck_assert_int_eq(orgs_crypto_keys_load(&k, apr_pstrcat(pool, "file:", path, NULL), pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(memcmp(k, ref, sizeof(*k)), 0);
}
END_TEST

START_TEST(load_file_group_readable_ok)
{
    orgs_crypto_keys_t *k = NULL;
    char *path = write_file("key", "0123456789abcdefghijklmnopqrstuvwxyzABCD", 0640);

    ck_assert_int_eq(orgs_crypto_keys_load(&k, apr_pstrcat(pool, "file:", path, NULL), pool, &err),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(k);
}
END_TEST

START_TEST(load_file_too_short)
{
    orgs_crypto_keys_t *k = NULL;
    /* 31 bytes plus whitespace that must not count */
    char *path = write_file("key", "0123456789012345678901234567890   \n\n", 0600);

    ck_assert_int_eq(orgs_crypto_keys_load(&k, apr_pstrcat(pool, "file:", path, NULL), pool, &err),
                     APR_EINVAL);
    ck_assert_ptr_null(k);
    ck_assert_ptr_nonnull(strstr(err.msg, "at least 32"));
    ck_assert_ptr_null(strstr(err.msg, "0123456789"));
}
END_TEST

START_TEST(load_file_world_readable)
{
    orgs_crypto_keys_t *k = NULL;
    char *path = write_file("key", "0123456789abcdefghijklmnopqrstuvwxyzABCD", 0644);

    ck_assert_int_eq(orgs_crypto_keys_load(&k, apr_pstrcat(pool, "file:", path, NULL), pool, &err),
                     APR_EINVAL);
    ck_assert_ptr_null(k);
    ck_assert_ptr_nonnull(strstr(err.msg, "world-readable"));
}
END_TEST

START_TEST(load_file_missing)
{
    orgs_crypto_keys_t *k = NULL;
    ck_assert_int_eq(
        orgs_crypto_keys_load(&k, apr_pstrcat(pool, "file:", tmpdir, "/nope", NULL), pool, &err),
        APR_NOTFOUND);
    ck_assert_ptr_null(k);
    ck_assert_ptr_nonnull(strstr(err.msg, "cannot open"));
}
END_TEST

START_TEST(load_file_directory)
{
    orgs_crypto_keys_t *k = NULL;
    ck_assert_int_eq(chmod(tmpdir, 0700), 0);
    ck_assert_int_eq(
        orgs_crypto_keys_load(&k, apr_pstrcat(pool, "file:", tmpdir, NULL), pool, &err),
        APR_EINVAL);
    ck_assert_ptr_null(k);
}
END_TEST

START_TEST(load_env_ok)
{
    orgs_crypto_keys_t *k = NULL, *ref = test_keys();
    setenv("ORGS_TEST_KEY", "0123456789abcdefghijklmnopqrstuvwxyzABCD\n", 1);
    ck_assert_int_eq(orgs_crypto_keys_load(&k, "env:ORGS_TEST_KEY", pool, &err), APR_SUCCESS);
    ck_assert_int_eq(memcmp(k, ref, sizeof(*k)), 0);
    unsetenv("ORGS_TEST_KEY");
}
END_TEST

START_TEST(load_env_bad)
{
    orgs_crypto_keys_t *k = NULL;
    unsetenv("ORGS_TEST_KEY_UNSET");
    ck_assert_int_eq(orgs_crypto_keys_load(&k, "env:ORGS_TEST_KEY_UNSET", pool, &err),
                     APR_NOTFOUND);
    setenv("ORGS_TEST_KEY", "short", 1);
    ck_assert_int_eq(orgs_crypto_keys_load(&k, "env:ORGS_TEST_KEY", pool, &err), APR_EINVAL);
    unsetenv("ORGS_TEST_KEY");
    ck_assert_ptr_null(k);
}
END_TEST

START_TEST(load_bad_source)
{
    orgs_crypto_keys_t *k = NULL;
    ck_assert_int_eq(orgs_crypto_keys_load(&k, "/etc/key", pool, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_crypto_keys_load(&k, "file:", pool, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_crypto_keys_load(&k, "env:", pool, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_crypto_keys_load(&k, NULL, pool, &err), ORGS_ENOKEY);
    ck_assert_ptr_null(k);
}
END_TEST

/* ---- known answers */

START_TEST(hmac_rfc4231_case2)
{
    /* HMAC pads short keys with zeros, so "Jefe" + 28 zero bytes is the RFC key. */
    unsigned char key[ORGS_CRYPTO_KEY_LEN] = {'J', 'e', 'f', 'e'};
    unsigned char mac[32];
    const char *data = "what do ya want for nothing?";

    ck_assert_int_eq(orgs_crypto_hmac(key, data, strlen(data), mac), APR_SUCCESS);
    ck_assert_str_eq(hex(mac, 32),
                     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    key[4] = 1;
    ck_assert_int_eq(orgs_crypto_hmac(key, data, strlen(data), mac), APR_SUCCESS);
    ck_assert_str_ne(hex(mac, 32),
                     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
END_TEST

START_TEST(sha256_vectors)
{
    unsigned char md[32];

    ck_assert_int_eq(orgs_crypto_sha256("abc", 3, md), APR_SUCCESS);
    ck_assert_str_eq(hex(md, 32),
                     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_int_eq(orgs_crypto_sha256("", 0, md), APR_SUCCESS);
    ck_assert_str_eq(hex(md, 32),
                     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* RFC 7636 appendix B: PKCE S256 */
    ck_assert_str_eq(orgs_crypto_sha256_b64url("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", pool),
                     "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}
END_TEST

/* Threads hashing at once get the right digests (the algorithm is
 * fetched once per process and shared). */
static void *sha256_thread(void *arg)
{
    static const unsigned char abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                          0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                          0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                          0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    unsigned char md[32];
    int *ok = arg; /* no pool here: pools are not shared between threads */
    *ok = 1;
    for (int i = 0; i < 200; i++) {
        *ok &= orgs_crypto_sha256("abc", 3, md) == APR_SUCCESS && memcmp(md, abc, 32) == 0;
        *ok &= orgs_crypto_sha256(NULL, 0, md) == APR_SUCCESS && md[0] == 0xe3 && md[31] == 0x55;
    }
    return NULL;
}

START_TEST(sha256_per_thread)
{
    pthread_t t[4];
    int ok[4];
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_create(&t[i], NULL, sha256_thread, &ok[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_int_eq(ok[i], 1);
    }
}
END_TEST

/* ---- base64 */

static const char *const b64_plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const b64_url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};

START_TEST(b64url_rfc4648_vectors)
{
    unsigned char *out;
    apr_size_t outlen;

    for (int i = 0; i < 7; i++) {
        ck_assert_str_eq(orgs_crypto_b64url_encode(b64_plain[i], strlen(b64_plain[i]), pool),
                         b64_url[i]);
        ck_assert_int_eq(
            orgs_crypto_b64url_decode(b64_url[i], strlen(b64_url[i]), &out, &outlen, pool),
            APR_SUCCESS);
        ck_assert_uint_eq(outlen, strlen(b64_plain[i]));
        ck_assert_int_eq(memcmp(out, b64_plain[i], outlen), 0);
    }
}
END_TEST

START_TEST(b64url_alphabet)
{
    const unsigned char bytes[] = {0xfb, 0xff, 0xbf};
    unsigned char *out;
    apr_size_t outlen;

    ck_assert_str_eq(orgs_crypto_b64url_encode(bytes, 3, pool), "-_-_");
    ck_assert_int_eq(orgs_crypto_b64url_decode("-_-_", 4, &out, &outlen, pool), APR_SUCCESS);
    ck_assert_uint_eq(outlen, 3);
    ck_assert_int_eq(memcmp(out, bytes, 3), 0);
}
END_TEST

START_TEST(b64url_rejects)
{
    static const char *const bad[] = {
        "+/+/",     /* standard alphabet */
        "Zm9vYg==", /* padding */
        "Zg=",      /* padding */
        "Zm9vY",    /* length 5: 4n+1 impossible */
        "Z",        /* length 1 */
        "Zm9v Zg",  /* space */
        "Zm9v\nZg", /* newline */
        "Zh",       /* non-canonical: low bits set */
        "Zm9",      /* non-canonical */
        "Zm9vYm\x80",
    };
    unsigned char *out = (unsigned char *)1;
    apr_size_t outlen = 99;

    for (apr_size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(orgs_crypto_b64url_decode(bad[i], strlen(bad[i]), &out, &outlen, pool) ==
                          APR_EINVAL,
                      "accepted '%s'", bad[i]);
        ck_assert_ptr_null(out);
        ck_assert_uint_eq(outlen, 0);
    }
    ck_assert_int_eq(orgs_crypto_b64url_decode(NULL, 0, &out, &outlen, pool), APR_EINVAL);
    /* an embedded NUL inside slen is not a terminator */
    ck_assert_int_eq(orgs_crypto_b64url_decode("Zm9v\0Zg", 7, &out, &outlen, pool), APR_EINVAL);
}
END_TEST

START_TEST(b64url_roundtrip_binary)
{
    unsigned char buf[257], *out;
    apr_size_t outlen;

    for (int i = 0; i < 257; i++) {
        buf[i] = (unsigned char)(i * 7 + 3);
    }
    for (apr_size_t n = 0; n <= sizeof(buf); n += 1) {
        char *s = orgs_crypto_b64url_encode(buf, n, pool);
        ck_assert_int_eq(orgs_crypto_b64url_decode(s, strlen(s), &out, &outlen, pool), APR_SUCCESS);
        ck_assert_uint_eq(outlen, n);
        ck_assert_int_eq(memcmp(out, buf, n), 0);
    }
}
END_TEST

/* ---- random */

START_TEST(random_id_format)
{
    char *a, *b;

    ck_assert_int_eq(orgs_crypto_random_id("org_", ORGS_ID_CHARS, &a, pool), APR_SUCCESS);
    ck_assert_int_eq(orgs_crypto_random_id("org_", ORGS_ID_CHARS, &b, pool), APR_SUCCESS);
    ck_assert_uint_eq(strlen(a), 4 + ORGS_ID_CHARS);
    ck_assert_int_eq(strncmp(a, "org_", 4), 0);
    ck_assert_uint_eq(
        strspn(a + 4, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
        ORGS_ID_CHARS);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(orgs_crypto_random_id(NULL, 200, &a, pool), APR_SUCCESS);
    ck_assert_uint_eq(strlen(a), 200);
    ck_assert_int_eq(orgs_crypto_random_id("con_", 0, &a, pool), APR_SUCCESS);
    ck_assert_str_eq(a, "con_");
}
END_TEST

/* Every base62 character shows up and none dominates: a biased or
 * truncated alphabet would fail this. */
START_TEST(random_id_distribution)
{
    int counts[256] = {0};
    char *s;

    ck_assert_int_eq(orgs_crypto_random_id("", 62000, &s, pool), APR_SUCCESS);
    for (const char *q = s; *q; q++) {
        counts[(unsigned char)*q]++;
    }
    for (const char *a = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"; *a;
         a++) {
        ck_assert_int_gt(counts[(unsigned char)*a], 800);
        ck_assert_int_lt(counts[(unsigned char)*a], 1200);
    }
}
END_TEST

START_TEST(random_token_format)
{
    char *t, *u;
    unsigned char *raw;
    apr_size_t rawlen;

    ck_assert_int_eq(orgs_crypto_random_token(32, &t, pool), APR_SUCCESS);
    ck_assert_int_eq(orgs_crypto_random_token(32, &u, pool), APR_SUCCESS);
    ck_assert_uint_eq(strlen(t), 43);
    ck_assert_str_ne(t, u);
    ck_assert_int_eq(orgs_crypto_b64url_decode(t, strlen(t), &raw, &rawlen, pool), APR_SUCCESS);
    ck_assert_uint_eq(rawlen, 32);
}
END_TEST

/* Several tokens from one draw: each the size of one token, all distinct. */
START_TEST(random_tokens_one_draw)
{
    char *a = NULL, *b = NULL, *c = NULL;
    char **const outs[] = {&a, &b, &c};
    unsigned char *raw;
    apr_size_t rawlen;

    ck_assert_int_eq(orgs_crypto_random_tokens(32, outs, 3, pool), APR_SUCCESS);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(strlen(a), 43);
    ck_assert_uint_eq(strlen(c), 43);
    ck_assert_str_ne(a, b);
    ck_assert_str_ne(b, c);
    ck_assert_str_ne(a, c);
    ck_assert_int_eq(orgs_crypto_b64url_decode(b, strlen(b), &raw, &rawlen, pool), APR_SUCCESS);
    ck_assert_uint_eq(rawlen, 32);
}
END_TEST

/* ---- compare */

START_TEST(ct_compare)
{
    ck_assert_int_eq(orgs_crypto_ct_equal("abcd", "abcd", 4), 1);
    ck_assert_int_eq(orgs_crypto_ct_equal("abcd", "abce", 4), 0);
    ck_assert_int_eq(orgs_crypto_ct_equal(NULL, "abcd", 4), 0);
    ck_assert_int_eq(orgs_crypto_ct_equal("abcd", NULL, 4), 0);
    ck_assert_int_eq(orgs_crypto_ct_equal(NULL, NULL, 0), 0);
    ck_assert_int_eq(orgs_crypto_ct_streq("token", "token"), 1);
    ck_assert_int_eq(orgs_crypto_ct_streq("token", "tokem"), 0);
    ck_assert_int_eq(orgs_crypto_ct_streq("token", "token2"), 0);
    ck_assert_int_eq(orgs_crypto_ct_streq("", "x"), 0);
    ck_assert_int_eq(orgs_crypto_ct_streq(NULL, NULL), 0);
    ck_assert_int_eq(orgs_crypto_ct_streq("a", NULL), 0);
}
END_TEST

START_TEST(cleanse_zeroes)
{
    char buf[8] = "secret!";
    orgs_crypto_cleanse(buf, sizeof(buf));
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(buf[i], 0);
    }
    orgs_crypto_cleanse(NULL, 8); /* no crash */
}
END_TEST

static Suite *crypto_suite(void)
{
    Suite *s = suite_create("crypto");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, seal_open_roundtrip);
    tcase_add_test(tc, seal_open_empty_plaintext_no_aad);
    tcase_add_test(tc, seal_fresh_nonce);
    tcase_add_test(tc, open_tampered_fails);
    tcase_add_test(tc, open_wrong_aad_fails);
    tcase_add_test(tc, open_wrong_key_fails);
    tcase_add_test(tc, open_truncated_fails);
    tcase_add_test(tc, seal_open_no_key);
    tcase_add_test(tc, derive_subkeys_differ);
    tcase_add_test(tc, derive_known_answer);
    tcase_add_test(tc, derive_too_short);
    tcase_add_test(tc, derive_cleansed_on_pool_clear);
    tcase_add_test(tc, load_file_ok_trims_newline);
    tcase_add_test(tc, load_file_group_readable_ok);
    tcase_add_test(tc, load_file_too_short);
    tcase_add_test(tc, load_file_world_readable);
    tcase_add_test(tc, load_file_missing);
    tcase_add_test(tc, load_file_directory);
    tcase_add_test(tc, load_env_ok);
    tcase_add_test(tc, load_env_bad);
    tcase_add_test(tc, load_bad_source);
    tcase_add_test(tc, hmac_rfc4231_case2);
    tcase_add_test(tc, sha256_vectors);
    tcase_add_test(tc, sha256_per_thread);
    tcase_add_test(tc, b64url_rfc4648_vectors);
    tcase_add_test(tc, b64url_alphabet);
    tcase_add_test(tc, b64url_rejects);
    tcase_add_test(tc, b64url_roundtrip_binary);
    tcase_add_test(tc, random_id_format);
    tcase_add_test(tc, random_id_distribution);
    tcase_add_test(tc, random_token_format);
    tcase_add_test(tc, random_tokens_one_draw);
    tcase_add_test(tc, ct_compare);
    tcase_add_test(tc, cleanse_zeroes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(crypto_suite());
}
