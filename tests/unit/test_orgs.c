/* Unit tests for src/core/orgs.c: the caller-owned error detail and the
 * status texts that logs and orgctl print. */
#include "orgs.h"
#include "testutil.h"

START_TEST(err_set_returns_rv_and_formats)
{
    orgs_err_t err = {{0}};
    ck_assert_int_eq(orgs_err_set(&err, APR_EINVAL, "bad %s (%d)", "name", 7), APR_EINVAL);
    ck_assert_str_eq(err.msg, "bad name (7)");
    ck_assert_int_eq(orgs_err_set(&err, APR_SUCCESS, "%s", "ok"), APR_SUCCESS);
    ck_assert_str_eq(err.msg, "ok");
}
END_TEST

START_TEST(err_set_without_err_only_returns)
{
    ck_assert_int_eq(orgs_err_set(NULL, ORGS_ESTORE, "ignored %s", "x"), ORGS_ESTORE);
}
END_TEST

START_TEST(err_set_truncates_without_overflow)
{
    orgs_err_t err;
    char big[1024];
    memset(&err, 'X', sizeof(err));
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    orgs_err_set(&err, APR_EINVAL, "%s", big);
    ck_assert_uint_eq(strlen(err.msg), sizeof(err.msg) - 1);
}
END_TEST

START_TEST(err_set_formats_sizes_the_apr_way)
{
    /* APR's formatter prints %zu literally: sizes go through APR_SIZE_T_FMT */
    orgs_err_t err;
    orgs_err_set(&err, APR_EINVAL, "%" APR_SIZE_T_FMT, (apr_size_t)42);
    ck_assert_str_eq(err.msg, "42");
}
END_TEST

START_TEST(strerror_names_every_module_code)
{
    const apr_status_t codes[] = {ORGS_ESTORE, ORGS_ESTOREFULL, ORGS_EVERSION, ORGS_ECRYPTO,
                                  ORGS_ENOKEY, ORGS_EBADSIG,    ORGS_EBADALG,  ORGS_ECLAIM,
                                  ORGS_EHTTP,  ORGS_EEXPIRED,   ORGS_EDENIED,  ORGS_ENOKID};
    char buf[128], other[128];
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const char *t = orgs_strerror(codes[i], buf, sizeof(buf));
        ck_assert_ptr_eq(t, buf);
        ck_assert_uint_gt(strlen(t), 0);
        /* not APR's "does not understand this error code" */
        ck_assert_ptr_null(strstr(t, "understand"));
        for (size_t j = 0; j < i; j++) {
            ck_assert_str_ne(t, orgs_strerror(codes[j], other, sizeof(other)));
        }
    }
    ck_assert_str_eq(orgs_strerror(ORGS_ESTOREFULL, buf, sizeof(buf)),
                     "store full (grow OrgsStoreMaxSize / orgctl --max-size)");
}
END_TEST

START_TEST(strerror_falls_back_to_apr)
{
    char buf[128], apr[128];
    ck_assert_str_eq(orgs_strerror(APR_ENOENT, buf, sizeof(buf)),
                     apr_strerror(APR_ENOENT, apr, sizeof(apr)));
    ck_assert_str_eq(orgs_strerror(APR_NOTFOUND, buf, sizeof(buf)),
                     apr_strerror(APR_NOTFOUND, apr, sizeof(apr)));
}
END_TEST

START_TEST(strerror_truncates_to_the_buffer)
{
    char small[6];
    orgs_strerror(ORGS_ESTOREFULL, small, sizeof(small));
    ck_assert_str_eq(small, "store");
}
END_TEST

static Suite *orgs_suite(void)
{
    Suite *s = suite_create("orgs");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, err_set_returns_rv_and_formats);
    tcase_add_test(tc, err_set_without_err_only_returns);
    tcase_add_test(tc, err_set_truncates_without_overflow);
    tcase_add_test(tc, err_set_formats_sizes_the_apr_way);
    tcase_add_test(tc, strerror_names_every_module_code);
    tcase_add_test(tc, strerror_falls_back_to_apr);
    tcase_add_test(tc, strerror_truncates_to_the_buffer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(orgs_suite());
}
