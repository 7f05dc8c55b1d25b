/* Per-process memo of values derived from documents the store holds
 * (discovery documents, JWK sets, connection records): a login finds the
 * value built when the document was first seen in this process instead of
 * parsing and checking the document again. Keyed by the document's bytes
 * themselves (and whatever else the value depends on), compared whole
 * with memcmp against a copy kept in the entry: no digest is computed per
 * lookup (hashing a JWKS at every login cost more than the lookup saves),
 * and a changed document, even one of the same length, is a new entry
 * while the old one ages out.
 *
 * Each memo holds at most ORGS_MEMO_SLOTS entries, each in its own pool.
 * An entry handed out is pinned until the caller's pool is cleared or
 * destroyed: eviction (least recently used first) only takes unpinned
 * entries, so a value never disappears under a thread using it. Values
 * are read-only once built and shared by the threads of the process.
 * A failed build is not remembered. */
#ifndef ORGS_MEMO_H
#define ORGS_MEMO_H

#include <pthread.h>

#include "orgs.h"

#define ORGS_MEMO_SLOTS 16

/* Builds the value for one document into pool (the entry's own pool,
 * destroyed at eviction). APR_SUCCESS with *val, or a status with err
 * set (nothing is remembered then). */
typedef apr_status_t orgs_memo_build_fn(void *baton, void **val, apr_pool_t *pool, orgs_err_t *err);

typedef struct orgs_memo_entry_t {
    const void *key; /* a copy of the key's bytes, in pool */
    apr_size_t klen;
    apr_pool_t *pool; /* NULL: the slot is free */
    void *val;
    unsigned refs;     /* callers' pools holding it */
    apr_uint64_t used; /* the memo's clock at the last hit */
} orgs_memo_entry_t;

/* A memo: define one per kind of value, statically, with
 * ORGS_MEMO_INITIALIZER; it needs no set-up and lives as long as the
 * process. */
typedef struct orgs_memo_t {
    pthread_mutex_t lock;
    apr_uint64_t clock;
    apr_uint64_t builds; /* values built (misses that succeeded), for tests and logs */
    orgs_memo_entry_t slot[ORGS_MEMO_SLOTS];
    struct orgs_memo_t *next; /* the process's memos that hold entries (orgs_memo_clear_all) */
    int listed;
} orgs_memo_t;

#define ORGS_MEMO_INITIALIZER                                                                      \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, 0, 0, {{NULL, 0, NULL, NULL, 0, 0}}, NULL, 0                    \
    }

/* The value for the klen bytes at key: the remembered one, or
 * build(baton) run now (outside the memo's lock) and remembered with a
 * copy of the key. *val stays valid as long as p. On a build failure, its
 * status and err. APR_ENOMEM when a pool cannot be made. */
apr_status_t orgs_memo_get(orgs_memo_t *m, const void *key, apr_size_t klen,
                           orgs_memo_build_fn *build, void *baton, void **val, apr_pool_t *p,
                           orgs_err_t *err);

/* How many values m has built since the process started. */
apr_uint64_t orgs_memo_builds(orgs_memo_t *m);

/* Forgets every unpinned entry (tests; a pinned one stays). */
void orgs_memo_clear(orgs_memo_t *m);

/* orgs_memo_clear on every memo of the process (tests: a test process
 * that exits without apr_terminate leaves no value behind). */
void orgs_memo_clear_all(void);

#endif
