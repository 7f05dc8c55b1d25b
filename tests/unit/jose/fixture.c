/* The JOSE tests' fixture: see fixture.h. */
#include "fixture.h"

apr_pool_t *pool;
json_t *vectors;
static const char *vecdir;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
    orgs_memo_clear_all(); /* after the pool: nothing pins an entry any more */
}

static const char *find_vecdir(void)
{
    const char *top = getenv("top_srcdir");
    static char buf[1024];
    if (top && *top) {
        snprintf(buf, sizeof(buf), "%s/tests/vectors/jose", top);
        return buf;
    }
    snprintf(buf, sizeof(buf), "%s", __FILE__);
    char *cut = strstr(buf, "tests/unit/jose/fixture.c");
    if (cut) {
        *cut = '\0';
    }
    apr_cpystrn(buf + strlen(buf), "tests/vectors/jose", sizeof(buf) - strlen(buf));
    return buf;
}

char *slurp(const char *name, apr_size_t *len)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", vecdir, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *data = apr_palloc(pool, 512 * 1024);
    *len = fread(data, 1, 512 * 1024 - 1, f);
    data[*len] = '\0';
    fclose(f);
    return data;
}

orgs_jwks_t *load_jwks(const char *name)
{
    apr_size_t len;
    char *text = slurp(name, &len);
    orgs_jwks_t *jwks = NULL;
    orgs_err_t err = {{0}};
    apr_status_t rv = orgs_jose_jwks_parse(&jwks, text, len, pool, &err);
    ck_assert_msg(rv == APR_SUCCESS, "%s: %s", name, err.msg);
    return jwks;
}

orgs_jose_expect_t expect_default(void)
{
    orgs_jose_expect_t e = {
        .issuer = json_string_value(json_object_get(vectors, "iss")),
        .client_id = json_string_value(json_object_get(vectors, "client_id")),
        .nonce = json_string_value(json_object_get(vectors, "nonce")),
        .skew = ORGS_JOSE_DEFAULT_SKEW,
    };
    return e;
}

apr_time_t vec_now(void)
{
    return apr_time_from_sec(json_integer_value(json_object_get(vectors, "now")));
}

TCase *fixture_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, setup, teardown);
    return tc;
}

int fixture_run(const char *name, void (*add_cases)(Suite *s))
{
    char path[1200];
    json_error_t jerr;

    vecdir = find_vecdir();
    snprintf(path, sizeof(path), "%s/cases.json", vecdir);
    vectors = json_load_file(path, 0, &jerr);
    if (!json_is_object(vectors)) {
        fprintf(stderr, "%s: cannot load %s: %s\n", name, path, jerr.text);
        return EXIT_FAILURE;
    }
    Suite *s = suite_create(name);
    add_cases(s);
    int rc = testutil_run(s);
    json_decref(vectors);
    return rc;
}
