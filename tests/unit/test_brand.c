/* Unit tests for src/core/brand.c: the logo and colour rules, the CSP
 * source of a logo, the readable text colour on a brand colour. */
#include "brand.h"
#include "testutil.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
    apr_terminate();
}

START_TEST(test_logo_rules)
{
    static const char *const good[] = {
        "https://cdn.example.com/logo.png",   "https://cdn.example.com:8443/a/b.svg?v=2",
        "data:image/png;base64,iVBORw0KGgo=", "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
        "data:image/webp;base64,UklGRg==",
    };
    static const char *const bad[] = {
        "",
        "http://cdn.example.com/logo.png",
        "http://localhost/logo.png",
        "javascript:alert(1)",
        "//cdn.example.com/logo.png",
        "/logo.png",
        "https://cdn.example.com/a b.png",
        "https://cdn.example.com/x;script-src *",
        "https://cdn.example.com/x\"onerror=\"y",
        "https://user@cdn.example.com/x.png",
        "https://cdn.example.com/x.png#frag",
        "data:text/html;base64,PGI+",
        "data:image/png,raw",
        "data:image/png;base64,",
        "data:image/png;base64,<script>",
        "data:image/svg+xml;utf8,<svg/onload=alert(1)>",
    };
    orgs_err_t err = {{0}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ck_assert_msg(orgs_brand_logo_check(good[i], &err) == APR_SUCCESS, "%s: %s", good[i],
                      err.msg);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(orgs_brand_logo_check(bad[i], &err) == APR_EINVAL, "accepted %s", bad[i]);
        ck_assert(strncmp(err.msg, "logo: ", 6) == 0);
    }
    ck_assert_int_eq(orgs_brand_logo_check(NULL, &err), APR_EINVAL);
    /* the size bounds */
    char *big = apr_pstrcat(pool, "data:image/png;base64,",
                            testutil_repeat(pool, 'A', ORGS_BRAND_LOGO_DATA_MAX), NULL);
    ck_assert_int_eq(orgs_brand_logo_check(big, &err), APR_EINVAL);
    big = apr_pstrcat(pool, "https://cdn.example.com/",
                      testutil_repeat(pool, 'a', ORGS_BRAND_LOGO_URL_MAX), NULL);
    ck_assert_int_eq(orgs_brand_logo_check(big, &err), APR_EINVAL);
}
END_TEST

START_TEST(test_colors)
{
    orgs_err_t err = {{0}};
    ck_assert_int_eq(orgs_brand_color_check("#0b5cad", &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_brand_color_check("#FFFFFF", &err), APR_SUCCESS);
    static const char *const bad[] = {"",        "red",     "#fff",     "#0b5cad0", "0b5cad",
                                      "#0b5cag", "#0b5;}x", "#0b5cad;", " #0b5cad"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(orgs_brand_color_check(bad[i], &err) == APR_EINVAL, "accepted %s", bad[i]);
    }
    ck_assert_int_eq(orgs_brand_color_check(NULL, &err), APR_EINVAL);
    ck_assert_str_eq(orgs_brand_text_color("#ffffff"), "#000000");
    ck_assert_str_eq(orgs_brand_text_color("#000000"), "#ffffff");
    ck_assert_str_eq(orgs_brand_text_color("#2851c8"), "#ffffff");
    ck_assert_str_eq(orgs_brand_text_color("#ffcc00"), "#000000");
    ck_assert_str_eq(orgs_brand_text_color("#0b5cad"), "#ffffff");
    ck_assert_str_eq(orgs_brand_text_color("#77aa77"), "#000000");
}
END_TEST

START_TEST(test_csp_source)
{
    ck_assert_str_eq(orgs_brand_csp_source("data:image/png;base64,AA==", pool), "data:");
    ck_assert_str_eq(orgs_brand_csp_source("https://cdn.example.com/a/b.png?x=1", pool),
                     "https://cdn.example.com");
    ck_assert_str_eq(orgs_brand_csp_source("https://cdn.example.com:8443/l.png", pool),
                     "https://cdn.example.com:8443");
}
END_TEST

static Suite *brand_suite(void)
{
    Suite *s = suite_create("brand");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_logo_rules);
    tcase_add_test(tc, test_colors);
    tcase_add_test(tc, test_csp_source);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(brand_suite());
}
