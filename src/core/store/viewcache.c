/* The per-process cache of prepared session views: the request path's
 * read served again while the store has not changed.
 *
 * Why it is exact: an entry records the id of the read transaction it was
 * built in, and is served only while that is still the store's last
 * committed transaction (st_last_txnid: LMDB's newer meta page, written
 * by every commit of any process before the commit returns). A
 * revocation, a role change, a sign-out, a session's last-seen update, a
 * replica's applied change: every one is a commit, so every entry misses
 * after it. What is not a commit is checked on each use: the note of
 * sessions whose delete failed (revoke.c) and the session's expiry and
 * idle time against now.
 *
 * Why it is safe to share: the key is the whole session id, compared in
 * constant time after its length; only a view the store read as valid
 * enters (a random cookie costs a digest and a miss, never a slot); the
 * table is fixed (a new view replaces its slot's). Entries are counted
 * references: each request using one holds it until its pool goes, so a
 * replaced entry lives on until the last request reading it ends, on
 * whatever thread that ends. */
#include <string.h>

#include <apr_allocator.h>
#include <apr_thread_mutex.h>

#include "store_int.h"
#include "crypto.h"
#include "export.h"

/* Session ids are 43 characters (32 random bytes, base64url); anything
 * much longer is not one the module issued and is not cached. */
#define VC_KEY_MAX 64
/* Memory an idle cache keeps of freed entries, at most. */
#define VC_MAX_FREE (256 * 1024)

typedef struct vc_entry_t {
    apr_pool_t *pool;   /* holds the entry and its view */
    unsigned refs;      /* the slot's and each request's; under the cache's lock */
    apr_uint64_t txnid; /* the read transaction the view was built in */
    unsigned char hash[HASH_LEN];
    apr_size_t klen;
    unsigned char key[VC_KEY_MAX];
    const orgs_session_view_t *view;
} vc_entry_t;

struct st_vcache_t {
    pthread_mutex_t lock; /* the slots and every entry's refs */
    apr_pool_t *pool;     /* the entries' parent: its own allocator, with a mutex */
    apr_uint64_t seed;    /* per process: which slot a key takes is not predictable */
    apr_size_t n;
    vc_entry_t **slot;
};

typedef struct {
    struct st_vcache_t *vc;
    vc_entry_t *e;
} vc_pin_t;

static apr_status_t vc_fini(void *data)
{
    pthread_mutex_destroy(&((struct st_vcache_t *)data)->lock);
    return APR_SUCCESS;
}

apr_status_t orgs_store_view_cache_enable(orgs_store_t *st, apr_size_t slots, orgs_err_t *err)
{
    apr_allocator_t *alloc = NULL;
    apr_thread_mutex_t *amutex = NULL;
    apr_pool_t *pool = NULL;
    if (slots == 0 || st->vcache) {
        return APR_SUCCESS;
    }
    if (apr_allocator_create(&alloc) != APR_SUCCESS) {
        return orgs_err_set(err, APR_ENOMEM, "view cache: out of memory");
    }
    /* its own allocator, locked: entries are made and freed by any thread */
    if (apr_pool_create_ex(&pool, st->pool, NULL, alloc) != APR_SUCCESS) {
        apr_allocator_destroy(alloc);
        return orgs_err_set(err, APR_ENOMEM, "view cache: out of memory");
    }
    apr_allocator_owner_set(alloc, pool);
    apr_allocator_max_free_set(alloc, VC_MAX_FREE);
    if (apr_thread_mutex_create(&amutex, APR_THREAD_MUTEX_DEFAULT, pool) != APR_SUCCESS) {
        apr_pool_destroy(pool);
        return orgs_err_set(err, APR_ENOMEM, "view cache: cannot create its lock");
    }
    apr_allocator_mutex_set(alloc, amutex);
    struct st_vcache_t *vc = apr_pcalloc(pool, sizeof(*vc));
    vc->pool = pool;
    vc->n = slots;
    vc->slot = apr_pcalloc(pool, sizeof(*vc->slot) * slots);
    if (orgs_crypto_random(&vc->seed, sizeof(vc->seed)) != APR_SUCCESS ||
        pthread_mutex_init(&vc->lock, NULL) != 0) {
        apr_pool_destroy(pool);
        return orgs_err_set(err, APR_ENOMEM, "view cache: cannot create its lock");
    }
    apr_pool_cleanup_register(pool, vc, vc_fini, apr_pool_cleanup_null);
    st->vcache = vc;
    return APR_SUCCESS;
}

apr_size_t orgs_store_view_cache_used(orgs_store_t *st)
{
    struct st_vcache_t *vc = st->vcache;
    apr_size_t used = 0;
    if (!vc) {
        return 0;
    }
    pthread_mutex_lock(&vc->lock);
    for (apr_size_t i = 0; i < vc->n; i++) {
        used += vc->slot[i] != NULL;
    }
    pthread_mutex_unlock(&vc->lock);
    return used;
}

/* The key's slot: a few multiply-xor rounds over 8-byte words, seeded. */
static apr_size_t vc_slot_of(const struct st_vcache_t *vc, const char *key, apr_size_t len)
{
    apr_uint64_t h = vc->seed ^ (apr_uint64_t)len, w;
    apr_size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        memcpy(&w, key + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
    }
    w = 0;
    memcpy(&w, key + i, len - i);
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 32;
    return (apr_size_t)(h % vc->n);
}

/* Drops one reference; the caller holds the lock. 1 when it was the last:
 * the caller then destroys e->pool, outside the lock. */
static int vc_unref_locked(vc_entry_t *e)
{
    return --e->refs == 0;
}

static void vc_release(struct st_vcache_t *vc, vc_entry_t *e)
{
    pthread_mutex_lock(&vc->lock);
    int last = vc_unref_locked(e);
    pthread_mutex_unlock(&vc->lock);
    if (last) {
        apr_pool_destroy(e->pool);
    }
}

static apr_status_t vc_unpin(void *data)
{
    vc_pin_t *pin = data;
    vc_release(pin->vc, pin->e);
    return APR_SUCCESS;
}

/* e is used by a request of pool p: released when p is cleared. */
static void vc_pin(struct st_vcache_t *vc, vc_entry_t *e, apr_pool_t *p)
{
    vc_pin_t *pin = apr_palloc(p, sizeof(*pin));
    pin->vc = vc;
    pin->e = e;
    apr_pool_cleanup_register(p, pin, vc_unpin, apr_pool_cleanup_null);
}

/* The entry of key in slot i, with a reference taken, or NULL. */
static vc_entry_t *vc_find(struct st_vcache_t *vc, apr_size_t i, const char *key, apr_size_t len)
{
    pthread_mutex_lock(&vc->lock);
    vc_entry_t *e = vc->slot[i];
    if (e && e->klen == len && orgs_crypto_ct_equal(e->key, key, len)) {
        e->refs++;
    } else {
        e = NULL;
    }
    pthread_mutex_unlock(&vc->lock);
    return e;
}

/* Puts e (one reference held by the caller, which it keeps) into slot i,
 * or, with e NULL, empties slot i if it still holds old. */
static void vc_replace(struct st_vcache_t *vc, apr_size_t i, vc_entry_t *old, vc_entry_t *e)
{
    vc_entry_t *gone = NULL;
    pthread_mutex_lock(&vc->lock);
    if (e) {
        e->refs++; /* the slot's */
        gone = vc->slot[i];
        vc->slot[i] = e;
    } else if (old && vc->slot[i] == old) {
        gone = old;
        vc->slot[i] = NULL;
    }
    if (gone && !vc_unref_locked(gone)) {
        gone = NULL;
    }
    pthread_mutex_unlock(&vc->lock);
    if (gone) {
        apr_pool_destroy(gone->pool);
    }
}

typedef struct {
    apr_uint64_t txnid;
    orgs_session_view_t *view;
} vc_read_t;

static apr_status_t vc_read(orgs_store_t *st, MDB_txn *txn, const unsigned char *hash,
                            apr_time_t now, apr_interval_time_t idle, vc_read_t *out, apr_pool_t *p,
                            orgs_err_t *err)
{
    out->txnid = (apr_uint64_t)mdb_txn_id(txn);
    return st_session_view(st, txn, hash, now, idle, &out->view, p, err);
}

/* The miss: the store read into a new entry's pool, and the entry put
 * into its slot when the session is valid (replacing whatever was there:
 * a stale entry of the same key, or another key's). */
static apr_status_t vc_fill(orgs_store_t *st, apr_size_t i, const char *sid, apr_size_t len,
                            apr_time_t now, apr_interval_time_t idle, const unsigned char *hash,
                            const orgs_session_view_t **out, apr_pool_t *p, orgs_err_t *err)
{
    struct st_vcache_t *vc = st->vcache;
    apr_pool_t *ep = NULL;
    vc_read_t rd;
    apr_status_t rv;
    if (apr_pool_create(&ep, vc->pool) != APR_SUCCESS) {
        return orgs_err_set(err, APR_ENOMEM, "out of memory");
    }
    ST_READ_RV(rv, st, txn, err, vc_read(st, txn, hash, now, idle, &rd, ep, err));
    if (rv != APR_SUCCESS) {
        apr_pool_destroy(ep);
        return rv;
    }
    vc_entry_t *e = apr_pcalloc(ep, sizeof(*e));
    e->pool = ep;
    e->refs = 1; /* this request's */
    e->txnid = rd.txnid;
    memcpy(e->hash, hash, HASH_LEN);
    e->klen = len;
    memcpy(e->key, sid, len);
    orgs_export_view_prepare(rd.view, ep); /* its requests only add them */
    e->view = rd.view;
    vc_replace(vc, i, NULL, e);
    vc_pin(vc, e, p);
    *out = e->view;
    return APR_SUCCESS;
}

apr_status_t orgs_store_session_view_sid(orgs_store_t *st, const char *sid, apr_size_t sid_len,
                                         apr_time_t now, apr_interval_time_t idle,
                                         unsigned char sid_hash[32],
                                         const orgs_session_view_t **out, int *cached,
                                         apr_pool_t *p, orgs_err_t *err)
{
    struct st_vcache_t *vc = st->vcache;
    vc_entry_t *e = NULL;
    apr_size_t i = 0;
    apr_uint64_t last;
    if (cached) {
        *cached = 0;
    }
    if (vc && sid_len > 0 && sid_len <= VC_KEY_MAX) {
        i = vc_slot_of(vc, sid, sid_len);
        e = vc_find(vc, i, sid, sid_len);
    }
    if (e && st_last_txnid(st, &last) && last == e->txnid && !st_revoked_has(st, e->hash)) {
        memcpy(sid_hash, e->hash, HASH_LEN);
        if (st_session_expired(&e->view->session, now, idle)) {
            vc_replace(vc, i, e, NULL); /* ended for good: its slot is free */
            vc_release(vc, e);
            return orgs_err_set(err, ORGS_EEXPIRED, "session expired");
        }
        vc_pin(vc, e, p); /* the reference vc_find took, now the request's */
        *out = e->view;
        if (cached) {
            *cached = 1;
        }
        return APR_SUCCESS;
    }
    /* a miss, or a stale entry (the store changed since): e, if any, is
     * held until its slot is settled, so that no new entry at its address
     * can be taken for it */
    apr_status_t rv;
    if (orgs_crypto_sha256(sid, sid_len, sid_hash) != APR_SUCCESS) {
        rv = orgs_err_set(err, ORGS_ECRYPTO, "cannot hash the session id");
    } else if (st_revoked_has(st, sid_hash)) { /* its delete failed: ended all the same */
        rv = orgs_err_set(err, APR_NOTFOUND, "session ended");
    } else if (vc && sid_len > 0 && sid_len <= VC_KEY_MAX) {
        rv = vc_fill(st, i, sid, sid_len, now, idle, sid_hash, out, p, err);
    } else {
        orgs_session_view_t *v = NULL;
        ST_READ_RV(rv, st, txn, err, st_session_view(st, txn, sid_hash, now, idle, &v, p, err));
        *out = v;
    }
    if (e) {
        if (rv != APR_SUCCESS) {
            vc_replace(vc, i, e, NULL);
        }
        vc_release(vc, e);
    }
    return rv;
}
