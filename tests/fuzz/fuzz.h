/* Shared scaffolding of the libFuzzer targets (make fuzz): APR set up once,
 * one pool per input, and a check that aborts so libFuzzer keeps the input. */
#ifndef ORGS_FUZZ_H
#define ORGS_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

/* An invariant of the code under test: a failure is a finding. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static apr_pool_t *fuzz_root;

/* Frees what the targets keep for the whole run (the fixed JWKS), before
 * LeakSanitizer's own exit check, which was registered earlier. */
static inline void fuzz_fini(void)
{
    apr_pool_destroy(fuzz_root);
    fuzz_root = NULL;
    apr_terminate();
}

/* Called by each target's LLVMFuzzerInitialize. */
static inline void fuzz_init(void)
{
    if (!fuzz_root) {
        apr_initialize();
        if (apr_pool_create(&fuzz_root, NULL) != APR_SUCCESS) {
            abort();
        }
        atexit(fuzz_fini);
    }
}

/* data as a C string in p, or NULL when it holds a NUL (the APIs take C
 * strings, so an inner NUL is no input they can ever see). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size, apr_pool_t *p)
{
    if (memchr(data, '\0', size)) {
        return NULL;
    }
    char *s = apr_palloc(p, size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
