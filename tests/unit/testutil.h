/* Shared fixture helpers for the Check suites: a pool per test and a
 * fresh temporary directory for stores. */
#ifndef ORGS_TESTUTIL_H
#define ORGS_TESTUTIL_H

#include <check.h>
#include <stdarg.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

/* Creates a fresh directory under $TMPDIR (or /tmp); caller removes it. */
static inline char *testutil_tempdir(apr_pool_t *p)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = apr_psprintf(p, "%s/orgs-test-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpl);
}

static inline int testutil_remove_one(const char *path, const struct stat *sb, int flag,
                                      struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

/* Removes a directory made by testutil_tempdir, wherever $TMPDIR points;
 * links are removed, never followed. A leftover is reported, not failed. */
static inline void testutil_rmtree(const char *dir)
{
    if (dir && nftw(dir, testutil_remove_one, 8, FTW_DEPTH | FTW_PHYS) != 0) {
        fprintf(stderr, "cannot remove %s: %s\n", dir, strerror(errno));
    }
}

/* A string of n times c, in p. */
static inline char *testutil_repeat(apr_pool_t *p, char c, apr_size_t n)
{
    char *s = apr_palloc(p, n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* An array of the n strings that follow, in p. */
static inline apr_array_header_t *testutil_vstrs(apr_pool_t *p, int n, va_list ap)
{
    apr_array_header_t *a = apr_array_make(p, n + 1, sizeof(const char *));
    for (int i = 0; i < n; i++) {
        APR_ARRAY_PUSH(a, const char *) = va_arg(ap, const char *);
    }
    return a;
}

static inline apr_array_header_t *testutil_strs(apr_pool_t *p, int n, ...)
{
    va_list ap;
    apr_array_header_t *a;
    va_start(ap, n);
    a = testutil_vstrs(p, n, ap);
    va_end(ap);
    return a;
}

/* The usual fixture of a suite that needs only a pool: defines `pool` and
 * the setup/teardown that make and destroy it around each test (add them
 * with tcase_add_checked_fixture). */
#define TESTUTIL_POOL_FIXTURE                                                                      \
    static apr_pool_t *pool;                                                                       \
    static void setup(void)                                                                        \
    {                                                                                              \
        apr_initialize();                                                                          \
        apr_pool_create(&pool, NULL);                                                              \
    }                                                                                              \
    static void teardown(void)                                                                     \
    {                                                                                              \
        apr_pool_destroy(pool);                                                                    \
        apr_terminate();                                                                           \
    }

/* Runs a suite and returns the process exit status automake expects. */
static inline int testutil_run(Suite *s)
{
    apr_initialize();
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
