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

START_TEST(cache_claim)
{
    orgs_store_t *st = open_store();
    apr_time_t t = apr_time_from_sec(1000), fetched = 0;
    apr_interval_time_t ttl = apr_time_from_sec(12);
    const char *v = NULL;
    ck_assert_int_eq(orgs_store_cache_claim(st, "bclease:disc:x", t, ttl, pool, &err), APR_SUCCESS);
    /* held: a second claim inside the ttl is refused, whoever asks */
    ck_assert_int_eq(orgs_store_cache_claim(st, "bclease:disc:x", t + ttl - 1, ttl, pool, &err),
                     APR_EBUSY);
    /* other keys are independent */
    ck_assert_int_eq(orgs_store_cache_claim(st, "bclease:jwks:x", t, ttl, pool, &err), APR_SUCCESS);
    /* expired: taken over, with the new time */
    ck_assert_int_eq(orgs_store_cache_claim(st, "bclease:disc:x", t + ttl, ttl, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_cache_get(st, "bclease:disc:x", &v, &fetched, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(fetched, t + ttl);
    ck_assert_str_eq(v, "");
    /* released (time 0): free at once */
    ck_assert_int_eq(orgs_store_cache_put(st, "bclease:disc:x", "", 0, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_cache_claim(st, "bclease:disc:x", t + ttl + 1, ttl, pool, &err),
                     APR_SUCCESS);
    /* a time in the future (clock stepped back) does not hold it forever */
    ck_assert_int_eq(orgs_store_cache_claim(st, "bclease:disc:x", t, ttl, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_cache_claim(st, "", t, ttl, pool, &err), APR_EINVAL);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, cache);
    tcase_add_test(tc, cache_claim);
}

int main(void)
{
    return fixture_run("store_cache", add_tests);
}
