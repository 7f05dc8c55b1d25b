/* Unit tests for src/core/jose_jwk.c: JWKS parsing edge cases and the
 * per-process memo of parsed sets. */
#include "fixture.h"

/* ---- JWKS parsing */

START_TEST(test_jwks_counts_usable_keys)
{
    /* rsa1 rsa2 rsa-ps ec1 ec384; skipped: use=enc, key_ops=[encrypt],
     * RSA-1024, oct, OKP */
    ck_assert_uint_eq(orgs_jose_jwks_count(load_jwks("jwks.json")), 5);
    ck_assert_uint_eq(orgs_jose_jwks_count(load_jwks("jwks-single.json")), 1);
    ck_assert_uint_eq(orgs_jose_jwks_count(NULL), 0);
}
END_TEST

/* Parses text and expects APR_EINVAL with a "jwks:" reason. */
static void jwks_bad(const char *text)
{
    orgs_jwks_t *jwks = (orgs_jwks_t *)1;
    orgs_err_t err = {{0}};
    apr_status_t rv = orgs_jose_jwks_parse(&jwks, text, strlen(text), pool, &err);
    ck_assert_msg(rv == APR_EINVAL, "accepted: %.80s", text);
    ck_assert_ptr_null(jwks);
    ck_assert_msg(strncmp(err.msg, "jwks:", 5) == 0, "msg %s", err.msg);
}

/* The EC key ec1 from jwks.json with one member replaced. */
static const char *ec1_with(const char *member, const char *value)
{
    apr_size_t len;
    char *text = slurp("jwks.json", &len);
    json_t *doc = json_loads(text, 0, NULL);
    json_t *keys = json_object_get(doc, "keys"), *k, *found = NULL;
    size_t i;
    json_array_foreach(keys, i, k)
    {
        const char *kid = json_string_value(json_object_get(k, "kid"));
        if (kid && strcmp(kid, "ec1") == 0) {
            found = k;
        }
    }
    ck_assert_ptr_nonnull(found);
    json_t *out = json_pack("{s:[O]}", "keys", found);
    json_object_set_new(json_array_get(json_object_get(out, "keys"), 0), member,
                        json_string(value));
    char *s = json_dumps(out, 0);
    char *copy = apr_pstrdup(pool, s);
    free(s);
    json_decref(out);
    json_decref(doc);
    return copy;
}

START_TEST(test_jwks_rejects_malformed)
{
    jwks_bad("not json");
    jwks_bad("[]");
    jwks_bad("{}");
    jwks_bad("{\"keys\":{}}");
    jwks_bad("{\"keys\":[]}");
    jwks_bad("{\"keys\":[1,\"x\",null]}");
    jwks_bad("{\"keys\":[]} trailing");
    jwks_bad("{\"keys\":[],\"keys\":[]}");
    jwks_bad("{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0c2VjcmV0c2VjcmV0\"}]}");
    jwks_bad("{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\"}]}");
    jwks_bad("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}");
    jwks_bad("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}");
}
END_TEST

START_TEST(test_jwks_rejects_bad_ec_material)
{
    /* y of another point: not on the curve */
    jwks_bad(ec1_with("y", "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"));
    /* x one byte short */
    jwks_bad(ec1_with("x", "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ"));
    jwks_bad(ec1_with("crv", "P-521"));
    jwks_bad(ec1_with("crv", "secp256k1"));
    jwks_bad(ec1_with("alg", "HS256"));
    jwks_bad(ec1_with("use", "enc"));
}
END_TEST

START_TEST(test_jwks_accepts_ec_rebuilt)
{
    /* Control for the test above: the unmodified key parses. */
    const char *text = ec1_with("use", "sig");
    orgs_jwks_t *jwks = NULL;
    orgs_err_t err = {{0}};
    ck_assert_int_eq(orgs_jose_jwks_parse(&jwks, text, strlen(text), pool, &err), APR_SUCCESS);
    ck_assert_uint_eq(orgs_jose_jwks_count(jwks), 1);
}
END_TEST

START_TEST(test_jwks_size_cap)
{
    apr_size_t n = ORGS_JOSE_JWKS_MAX + 1;
    char *big = apr_palloc(pool, n + 1);
    memset(big, ' ', n);
    memcpy(big, "{\"keys\":[]}", 11);
    big[n] = '\0';
    jwks_bad(big);
    jwks_bad("");
}
END_TEST

/* The memo: the same bytes give the same set without a new parse; other
 * bytes are a new set; a set stays usable while a pool holds it, even
 * after the memo forgets it. */
START_TEST(test_jwks_memo)
{
    apr_size_t len;
    char *text = slurp("jwks.json", &len);
    const orgs_jwks_t *a = NULL, *b = NULL, *c = NULL;
    orgs_err_t err = {{0}};
    apr_pool_t *p1, *p2;
    apr_pool_create(&p1, pool);
    apr_pool_create(&p2, pool);
    apr_uint64_t n = orgs_jose_jwks_parsed();

    ck_assert_int_eq(orgs_jose_jwks_get(&a, text, len, p1, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_jose_jwks_parsed(), n + 1);
    ck_assert_int_eq(orgs_jose_jwks_get(&b, apr_pstrmemdup(pool, text, len), len, p2, &err),
                     APR_SUCCESS);
    ck_assert_ptr_eq(a, b);
    ck_assert_int_eq(orgs_jose_jwks_parsed(), n + 1);
    ck_assert_uint_eq(orgs_jose_jwks_count(a), orgs_jose_jwks_count(load_jwks("jwks.json")));
    /* pinned by p1 and p2: forgetting keeps it */
    orgs_jose_jwks_forget();
    ck_assert_int_eq(orgs_jose_jwks_get(&c, text, len, pool, &err), APR_SUCCESS);
    ck_assert_ptr_eq(a, c);
    ck_assert_int_eq(orgs_jose_jwks_parsed(), n + 1);
    apr_pool_destroy(p1);
    apr_pool_destroy(p2);
    /* the same length with one byte changed: another document, parsed */
    char *changed = apr_pstrmemdup(pool, text, len);
    char *kid = strstr(changed, "\"rsa1\"");
    ck_assert_ptr_nonnull(kid);
    kid[4] = 'X';
    ck_assert_int_eq(orgs_jose_jwks_get(&b, changed, len, pool, &err), APR_SUCCESS);
    ck_assert_ptr_ne(a, b);
    ck_assert_int_eq(orgs_jose_jwks_parsed(), n + 2);
    ck_assert_int_eq(orgs_jose_jwks_get(&c, text, len, pool, &err), APR_SUCCESS);
    ck_assert_ptr_eq(a, c);
    ck_assert_int_eq(orgs_jose_jwks_parsed(), n + 2);
    /* another document */
    char *other = slurp("jwks-single.json", &len);
    ck_assert_int_eq(orgs_jose_jwks_get(&b, other, len, pool, &err), APR_SUCCESS);
    ck_assert_ptr_ne(a, b);
    ck_assert_int_eq(orgs_jose_jwks_parsed(), n + 3);
    /* failures are not remembered, and the caps hold before any parse */
    ck_assert_int_eq(orgs_jose_jwks_get(&b, "{\"keys\":[]}", 11, pool, &err), APR_EINVAL);
    ck_assert_ptr_null(b);
    ck_assert_int_eq(orgs_jose_jwks_get(&b, "", 0, pool, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_jose_jwks_get(&b, text, ORGS_JOSE_JWKS_MAX + 1, pool, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_jose_jwks_parsed(), n + 3);
}
END_TEST

/* More documents than the memo has slots: the oldest unpinned go, and
 * every set handed out stays usable. */
START_TEST(test_jwks_memo_eviction)
{
    apr_size_t len;
    char *text = slurp("jwks.json", &len);
    const orgs_jwks_t *sets[ORGS_MEMO_SLOTS + 4];
    orgs_err_t err = {{0}};
    apr_uint64_t n = orgs_jose_jwks_parsed();
    for (int i = 0; i < ORGS_MEMO_SLOTS + 4; i++) {
        /* the same keys with trailing spaces: another document */
        char *doc = apr_pstrcat(pool, text, apr_psprintf(pool, "%*s", i + 1, ""), NULL);
        ck_assert_int_eq(orgs_jose_jwks_get(&sets[i], doc, strlen(doc), pool, &err), APR_SUCCESS);
    }
    ck_assert_int_eq(orgs_jose_jwks_parsed(), n + ORGS_MEMO_SLOTS + 4);
    for (int i = 0; i < ORGS_MEMO_SLOTS + 4; i++) {
        ck_assert_uint_gt(orgs_jose_jwks_count(sets[i]), 0);
    }
}
END_TEST

/* Unpinned entries: the least recently used one goes first, the recent
 * ones stay. */
START_TEST(test_jwks_memo_lru)
{
    apr_size_t len;
    char *text = slurp("jwks.json", &len);
    const orgs_jwks_t *set;
    orgs_err_t err = {{0}};
    char *docs[ORGS_MEMO_SLOTS + 1];
    apr_uint64_t n = orgs_jose_jwks_parsed();
    for (int i = 0; i <= ORGS_MEMO_SLOTS; i++) {
        apr_pool_t *login;
        apr_pool_create(&login, pool);
        docs[i] = apr_pstrcat(pool, text, apr_psprintf(pool, "%*s", i + 1, ""), NULL);
        ck_assert_int_eq(orgs_jose_jwks_get(&set, docs[i], strlen(docs[i]), login, &err),
                         APR_SUCCESS);
        apr_pool_destroy(login); /* unpinned */
    }
    ck_assert_int_eq(orgs_jose_jwks_parsed(), n + ORGS_MEMO_SLOTS + 1);
    /* the last ORGS_MEMO_SLOTS are remembered; the first was evicted */
    for (int i = 1; i <= ORGS_MEMO_SLOTS; i++) {
        ck_assert_int_eq(orgs_jose_jwks_get(&set, docs[i], strlen(docs[i]), pool, &err),
                         APR_SUCCESS);
    }
    ck_assert_int_eq(orgs_jose_jwks_parsed(), n + ORGS_MEMO_SLOTS + 1);
    orgs_jose_jwks_forget(); /* all pinned by pool: nothing goes */
    ck_assert_int_eq(orgs_jose_jwks_get(&set, docs[0], strlen(docs[0]), pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_jose_jwks_parsed(), n + ORGS_MEMO_SLOTS + 2);
}
END_TEST

static void add_cases(Suite *s)
{
    TCase *tc = fixture_tcase("jwks");
    tcase_add_test(tc, test_jwks_counts_usable_keys);
    tcase_add_test(tc, test_jwks_memo);
    tcase_add_test(tc, test_jwks_memo_eviction);
    tcase_add_test(tc, test_jwks_memo_lru);
    tcase_add_test(tc, test_jwks_rejects_malformed);
    tcase_add_test(tc, test_jwks_rejects_bad_ec_material);
    tcase_add_test(tc, test_jwks_accepts_ec_rebuilt);
    tcase_add_test(tc, test_jwks_size_cap);
    suite_add_tcase(s, tc);
}

int main(void)
{
    return fixture_run("jose_jwk", add_cases);
}
