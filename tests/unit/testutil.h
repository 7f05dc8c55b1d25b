/* Shared fixture helpers for the Check suites: a pool per test and a
 * fresh temporary directory for stores. */
#ifndef ORGS_TESTUTIL_H
#define ORGS_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

/* Creates a fresh directory under $TMPDIR (or /tmp); caller removes it. */
static inline char *testutil_tempdir(apr_pool_t *p)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = apr_psprintf(p, "%s/orgs-test-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpl);
}

static inline void testutil_rmtree(const char *dir)
{
    if (dir && strncmp(dir, "/tmp/", 5) == 0) {
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0) {
            /* best effort: a leftover temp dir does not fail a test */
        }
    }
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
