/* The per-process memo (see memo.h). */
#include <string.h>

#include <apr_strings.h>

#include "memo.h"

/* Every memo that ever held an entry, for orgs_memo_clear_all. */
static pthread_mutex_t memos_lock = PTHREAD_MUTEX_INITIALIZER;
static orgs_memo_t *memos;

/* Called with m's lock held. */
static void memo_list(orgs_memo_t *m)
{
    if (!m->listed) {
        pthread_mutex_lock(&memos_lock);
        m->next = memos;
        memos = m;
        m->listed = 1;
        pthread_mutex_unlock(&memos_lock);
    }
}

/* What a caller's pool holds: released by its cleanup. */
typedef struct {
    orgs_memo_t *m;
    orgs_memo_entry_t *e;
} memo_pin_t;

static apr_status_t memo_unpin(void *data)
{
    memo_pin_t *pin = data;
    pthread_mutex_lock(&pin->m->lock);
    pin->e->refs--;
    pthread_mutex_unlock(&pin->m->lock);
    return APR_SUCCESS;
}

/* Called with the lock held. The lengths first: documents of other
 * lengths cost one compare each. */
static orgs_memo_entry_t *memo_find(orgs_memo_t *m, const void *key, apr_size_t klen)
{
    for (int i = 0; i < ORGS_MEMO_SLOTS; i++) {
        if (m->slot[i].pool && m->slot[i].klen == klen && memcmp(m->slot[i].key, key, klen) == 0) {
            return &m->slot[i];
        }
    }
    return NULL;
}

/* A free slot, else the least recently used unpinned one (its old value
 * destroyed), else NULL: every slot is in use right now. Lock held. */
static orgs_memo_entry_t *memo_victim(orgs_memo_t *m)
{
    orgs_memo_entry_t *best = NULL;
    for (int i = 0; i < ORGS_MEMO_SLOTS; i++) {
        orgs_memo_entry_t *e = &m->slot[i];
        if (!e->pool) {
            return e;
        }
        if (e->refs == 0 && (!best || e->used < best->used)) {
            best = e;
        }
    }
    if (best) {
        apr_pool_destroy(best->pool);
        best->pool = NULL;
        best->val = NULL;
        best->key = NULL;
    }
    return best;
}

static void memo_pin(orgs_memo_t *m, orgs_memo_entry_t *e, apr_pool_t *p)
{
    memo_pin_t *pin = apr_palloc(p, sizeof(*pin));
    pin->m = m;
    pin->e = e;
    e->refs++;
    e->used = ++m->clock;
    apr_pool_cleanup_register(p, pin, memo_unpin, apr_pool_cleanup_null);
}

static apr_status_t pool_destroy_cleanup(void *data)
{
    apr_pool_destroy(data);
    return APR_SUCCESS;
}

apr_status_t orgs_memo_get(orgs_memo_t *m, const void *key, apr_size_t klen,
                           orgs_memo_build_fn *build, void *baton, void **val, apr_pool_t *p,
                           orgs_err_t *err)
{
    orgs_memo_entry_t *e;
    apr_pool_t *pool;
    void *v = NULL, *kcopy;
    apr_status_t rv;

    *val = NULL;
    pthread_mutex_lock(&m->lock);
    if ((e = memo_find(m, key, klen)) != NULL) {
        memo_pin(m, e, p);
        *val = e->val;
        pthread_mutex_unlock(&m->lock);
        return APR_SUCCESS;
    }
    pthread_mutex_unlock(&m->lock);

    /* Built outside the lock: two threads missing the same key at once
     * both build, and the second keeps the first one's entry. The pool
     * is unmanaged (no parent): nothing destroys it at exit, when
     * OpenSSL may already be cleaned up (its atexit handler runs before
     * apr_terminate), so no EVP_PKEY is freed after OpenSSL is gone.
     * Entries are freed by eviction and orgs_memo_clear only. */
    if (apr_pool_create_unmanaged_ex(&pool, NULL, NULL) != APR_SUCCESS) {
        return orgs_err_set(err, APR_ENOMEM, "out of memory");
    }
    if ((rv = build(baton, &v, pool, err)) != APR_SUCCESS) {
        apr_pool_destroy(pool);
        return rv;
    }
    kcopy = apr_pmemdup(pool, key, klen ? klen : 1);
    pthread_mutex_lock(&m->lock);
    m->builds++;
    if ((e = memo_find(m, key, klen)) != NULL) {
        memo_pin(m, e, p);
        *val = e->val;
        pthread_mutex_unlock(&m->lock);
        apr_pool_destroy(pool);
        return APR_SUCCESS;
    }
    if ((e = memo_victim(m)) != NULL) {
        memo_list(m);
        e->key = kcopy;
        e->klen = klen;
        e->pool = pool;
        e->val = v;
        e->refs = 0;
        memo_pin(m, e, p);
        pthread_mutex_unlock(&m->lock);
    } else {
        /* every slot pinned: this value lives as long as the caller's pool */
        pthread_mutex_unlock(&m->lock);
        apr_pool_cleanup_register(p, pool, pool_destroy_cleanup, apr_pool_cleanup_null);
    }
    *val = v;
    return APR_SUCCESS;
}

apr_uint64_t orgs_memo_builds(orgs_memo_t *m)
{
    pthread_mutex_lock(&m->lock);
    apr_uint64_t n = m->builds;
    pthread_mutex_unlock(&m->lock);
    return n;
}

void orgs_memo_clear(orgs_memo_t *m)
{
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < ORGS_MEMO_SLOTS; i++) {
        orgs_memo_entry_t *e = &m->slot[i];
        if (e->pool && e->refs == 0) {
            apr_pool_destroy(e->pool);
            e->pool = NULL;
            e->val = NULL;
            e->key = NULL;
        }
    }
    pthread_mutex_unlock(&m->lock);
}

void orgs_memo_clear_all(void)
{
    pthread_mutex_lock(&memos_lock);
    orgs_memo_t *m = memos;
    pthread_mutex_unlock(&memos_lock);
    for (; m; m = m->next) {
        orgs_memo_clear(m);
    }
}
