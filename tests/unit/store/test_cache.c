/* Unit tests for src/core/store/cache.c: the provider cache. */
#include "fixture.h"

START_TEST(cache)
{
    orgs_store_t *st = open_store();
    const char *v;
    apr_time_t fetched;
    char *longkey = apr_pstrcat(pool, "https://idp.example.com/", NULL);
    while (strlen(longkey) < 1000) {
        longkey = apr_pstrcat(pool, longkey, "segment/", NULL);
    }
    ck_assert_int_eq(orgs_store_cache_put(st, "jwks:x", "{\"keys\":[]}", 42, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_cache_put(st, longkey, "long", 43, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_cache_get(st, "jwks:x", &v, &fetched, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(v, "{\"keys\":[]}");
    ck_assert_int_eq(fetched, 42);
    ck_assert_int_eq(orgs_store_cache_get(st, longkey, &v, &fetched, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(v, "long");
    ck_assert_int_eq(orgs_store_cache_get(st, "absent", &v, &fetched, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_cache_put(st, "", "x", 1, pool, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_store_cache_put(st, "k", NULL, 1, pool, &err), APR_EINVAL);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, cache);
}

int main(void)
{
    return fixture_run("store_cache", add_tests);
}
