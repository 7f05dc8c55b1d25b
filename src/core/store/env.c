/* The engine: the LMDB environment (open, close, stat), its named
 * databases and format version, the reader-slot and read-transaction cache,
 * transactions and the one mapping of LMDB errors to APR codes. */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/statfs.h> /* not statvfs.h: its ST_WRITE is the store's macro */
#endif

#include "store_int.h"

#define FULL_TEXT "store full: grow OrgsStoreMaxSize / orgctl --max-size"

const char *const st_db_names[DB_COUNT] = {
    "meta",
    "orgs",
    "org_names",
    "domains",
    "conns",
    "conn_names",
    "enable",
    "users",
    "user_sub",
    "user_email",
    "user_conn_email",
    "conn_users",
    "members",
    "org_members",
    "sessions",
    "session_idx",
    "pending",
    "pending_browser",
    "cache",
    "invites",
    "invite_org",
    "audit",
    "pending_time",
    "session_hints",
    "invite_ticket",
    "audit_org",
    "stats",
    "api_tokens",
    "pending_used",
    "pending_used_time",
    "pending_used_org",
};

apr_status_t st_mdb_fail(int rc, orgs_err_t *err, const char *what)
{
    switch (rc) {
    case MDB_NOTFOUND:
        return orgs_err_set(err, APR_NOTFOUND, "%s not found", what);
    case MDB_KEYEXIST:
        return orgs_err_set(err, APR_EEXIST, "%s already exists", what);
    case MDB_MAP_FULL:
        return orgs_err_set(err, ORGS_ESTOREFULL, "%s: " FULL_TEXT, what);
    case ENOSPC:
    case EDQUOT:
        /* the same answer as a full map: temporary, nothing written */
        return orgs_err_set(err, ORGS_ESTOREFULL, "%s: the disk holding the store is full (%s)",
                            what, mdb_strerror(rc));
    default:
        return orgs_err_set(err, ORGS_ESTORE, "%s: %s", what, mdb_strerror(rc));
    }
}

apr_status_t st_txn_begin(orgs_store_t *st, unsigned flags, MDB_txn **txn, orgs_err_t *err)
{
    int rc = mdb_txn_begin(st->env, NULL, flags, txn);
    if (rc == MDB_MAP_RESIZED && st->threaded) {
        /* st_run_begin remaps under the exclusive remap lock and retries */
        *txn = NULL;
        return orgs_err_set(err, APR_EAGAIN,
                            "another process grew the store beyond this process's map size");
    }
    if (rc == MDB_MAP_RESIZED) {
        /* another process grew the map: adopt its size, retry once (only
         * single-threaded users get here: no other transaction is active) */
        rc = mdb_env_set_mapsize(st->env, 0);
        if (rc == MDB_SUCCESS) {
            rc = mdb_txn_begin(st->env, NULL, flags, txn);
        }
    }
    if (rc != MDB_SUCCESS) {
        *txn = NULL;
        return st_mdb_fail(rc, err, "transaction");
    }
    return APR_SUCCESS;
}

/* LMDB reports a write cut short as EIO, and on a full file system a
 * write is cut short rather than refused: EIO while the disk holding the
 * store has (almost) no room left is a full disk. */
static int disk_full(MDB_env *env)
{
#ifdef __linux__
    const char *path = NULL;
    struct statfs fs;
    return mdb_env_get_path(env, &path) == MDB_SUCCESS && path && statfs(path, &fs) == 0 &&
           (apr_uint64_t)fs.f_bavail * (apr_uint64_t)fs.f_bsize < ((apr_uint64_t)1 << 20);
#else
    (void)env;
    return 0;
#endif
}

/* Commits when rv is APR_SUCCESS, aborts otherwise; returns the final status. */
apr_status_t st_txn_end(MDB_txn *txn, apr_status_t rv, orgs_err_t *err)
{
    if (rv != APR_SUCCESS) {
        mdb_txn_abort(txn);
        return rv;
    }
    MDB_env *env = mdb_txn_env(txn);
    int rc = mdb_txn_commit(txn);
    if (rc == EIO && disk_full(env)) {
        rc = ENOSPC;
    }
    return rc == MDB_SUCCESS ? APR_SUCCESS : st_mdb_fail(rc, err, "commit");
}

/* The reserve kept for deletes: an eighth of the map, at most 64 MiB. */
static apr_uint64_t reserve_pages(apr_uint64_t map_size, apr_uint64_t psize)
{
    apr_uint64_t r = map_size / 8;
    return (r > ((apr_uint64_t)64 << 20) ? ((apr_uint64_t)64 << 20) : r) / psize;
}

/* Pages on LMDB's free list (reusable by the next writer), counted in a
 * read transaction: the free list may not be opened in a write one. */
static apr_status_t free_pages(orgs_store_t *st, apr_uint64_t txnid, apr_uint64_t *out,
                               orgs_err_t *err)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;
    apr_uint64_t n = 0;
    if (atomic_load(&st->free_txnid) == txnid + 1) {
        *out = atomic_load(&st->free_pages);
        return APR_SUCCESS;
    }
    apr_status_t rv = st_rd_begin(st, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((rc = mdb_cursor_open(txn, 0, &cur)) == MDB_SUCCESS) {
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            if (v.mv_size >= sizeof(size_t)) {
                size_t count;
                memcpy(&count, v.mv_data, sizeof(count)); /* an IDL: its length first */
                n += count;
            }
        }
        mdb_cursor_close(cur);
    }
    st_rd_end(st, txn);
    if (rc != MDB_NOTFOUND) {
        return st_mdb_fail(rc, err, "free list");
    }
    atomic_store(&st->free_pages, n);
    atomic_store(&st->free_txnid, txnid + 1);
    *out = n;
    return APR_SUCCESS;
}

/* Refuses a write that may grow the store once the pages in use (the
 * file's high-water mark less the free list) leave less than the reserve:
 * the reserve stays for deletes, so revocations and sign-outs work on a
 * store that is full for everything else. */
static apr_status_t room_check(orgs_store_t *st, orgs_err_t *err)
{
    MDB_envinfo info;
    MDB_stat ms;
    apr_uint64_t nfree = 0;
    mdb_env_info(st->env, &info);
    mdb_env_stat(st->env, &ms);
    apr_uint64_t pages = (apr_uint64_t)info.me_mapsize / ms.ms_psize;
    apr_uint64_t limit = pages - reserve_pages(info.me_mapsize, ms.ms_psize);
    apr_uint64_t used = (apr_uint64_t)info.me_last_pgno + 1;
    if (used <= limit) {
        return APR_SUCCESS;
    }
    apr_status_t rv = free_pages(st, (apr_uint64_t)info.me_last_txnid, &nfree, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    used -= nfree < used ? nfree : used;
    if (used <= limit) {
        return APR_SUCCESS;
    }
    return orgs_err_set(err, ORGS_ESTOREFULL,
                        "store full: %" APR_UINT64_T_FMT " of %" APR_UINT64_T_FMT
                        " pages in use, the rest is kept for deletes and sign-outs; "
                        "grow OrgsStoreMaxSize / orgctl --max-size",
                        used, pages);
}

int st_room_tight(orgs_store_t *st)
{
    MDB_envinfo info;
    MDB_stat ms;
    mdb_env_info(st->env, &info);
    mdb_env_stat(st->env, &ms);
    apr_uint64_t pages = (apr_uint64_t)info.me_mapsize / ms.ms_psize;
    apr_uint64_t limit = pages - reserve_pages(info.me_mapsize, ms.ms_psize);
    apr_uint64_t used = (apr_uint64_t)info.me_last_pgno + 1;
    if (used > limit && atomic_load(&st->free_txnid) == (apr_uint64_t)info.me_last_txnid + 1) {
        apr_uint64_t nfree = atomic_load(&st->free_pages); /* counted by the last room check */
        used -= nfree < used ? nfree : used;
    }
    return used > limit;
}

/* The map was grown by another process beyond this one's (threaded
 * handles): remap while no transaction of this process is active, i.e.
 * holding the remap lock exclusively. The caller holds it shared. */
static apr_status_t remap(orgs_store_t *st, orgs_err_t *err)
{
    pthread_rwlock_unlock(&st->remap_lock);
    pthread_rwlock_wrlock(&st->remap_lock);
    for (unsigned i = 0; i < RTXN_CACHE; i++) {
        MDB_txn *t = atomic_exchange(&st->rtxn[i], NULL);
        if (t) {
            mdb_txn_abort(t);
        }
    }
    int rc = mdb_env_set_mapsize(st->env, 0); /* the size recorded in the file */
    pthread_rwlock_unlock(&st->remap_lock);
    pthread_rwlock_rdlock(&st->remap_lock);
    return rc == MDB_SUCCESS ? APR_SUCCESS : st_mdb_fail(rc, err, "remap");
}

static apr_status_t run_begin(orgs_store_t *st, int mode, MDB_txn **txn, orgs_err_t *err)
{
    apr_status_t rv = APR_SUCCESS;
    if (mode == ST_MODE_WRITE) {
        rv = room_check(st, err);
    }
    if (rv == APR_SUCCESS) {
        rv = mode == ST_MODE_READ ? st_rd_begin(st, txn, err) : st_txn_begin(st, 0, txn, err);
    }
    return rv;
}

/* The capture of a whole request (capture.c) on this thread: every
 * operation on that store runs inside its write transaction, a read in it
 * (it sees the request's own writes), a write as a nested transaction of
 * it (committed into it, or aborted alone: an operation that fails leaves
 * nothing, as on its own). Other threads never see it. The capture holds
 * the remap lock for the whole, so the nested ones take none. */
static _Thread_local struct {
    const orgs_store_t *st;
    MDB_txn *txn;
} ambient;

void st_ambient_set(const orgs_store_t *st, MDB_txn *txn)
{
    ambient.st = txn ? st : NULL;
    ambient.txn = txn;
}

static int in_ambient(const orgs_store_t *st)
{
    return ambient.txn && ambient.st == st;
}

apr_status_t st_run_begin(orgs_store_t *st, int mode, MDB_txn **txn, orgs_err_t *err)
{
    if (in_ambient(st)) {
        int rc = MDB_SUCCESS;
        if (mode == ST_MODE_READ) {
            *txn = ambient.txn;
        } else if ((rc = mdb_txn_begin(st->env, ambient.txn, 0, txn)) != MDB_SUCCESS) {
            *txn = NULL;
        }
        return rc == MDB_SUCCESS ? APR_SUCCESS : st_mdb_fail(rc, err, "nested transaction");
    }
    if (!st->threaded) {
        return run_begin(st, mode, txn, err);
    }
    pthread_rwlock_rdlock(&st->remap_lock);
    apr_status_t rv = run_begin(st, mode, txn, err);
    if (rv == APR_EAGAIN && (rv = remap(st, err)) == APR_SUCCESS) {
        rv = run_begin(st, mode, txn, err);
    }
    if (rv == APR_EAGAIN) {
        rv = orgs_err_set(err, ORGS_ESTORE, "cannot adopt the store's grown map size");
    }
    if (rv != APR_SUCCESS) {
        pthread_rwlock_unlock(&st->remap_lock);
    }
    return rv;
}

apr_status_t st_run_end(orgs_store_t *st, int mode, MDB_txn *txn, apr_status_t rv, orgs_err_t *err)
{
    if (in_ambient(st)) {
        return mode == ST_MODE_READ ? rv : st_txn_end(txn, rv, err);
    }
    if (mode == ST_MODE_READ) {
        st_rd_end(st, txn);
    } else {
        rv = st_txn_end(txn, rv, err);
    }
    if (st->threaded) {
        pthread_rwlock_unlock(&st->remap_lock);
    }
    return rv;
}

apr_status_t st_pool_new(apr_pool_t **pool, apr_pool_t *parent, orgs_err_t *err)
{
    return apr_pool_create(pool, parent) == APR_SUCCESS
               ? APR_SUCCESS
               : orgs_err_set(err, APR_ENOMEM, "out of memory");
}

apr_status_t st_id_new(const char *prefix, char **id, apr_pool_t *p, orgs_err_t *err)
{
    return orgs_crypto_random_id(prefix, ORGS_ID_CHARS, id, p) == APR_SUCCESS
               ? APR_SUCCESS
               : orgs_err_set(err, ORGS_ECRYPTO, "cannot generate an id");
}

/* A read transaction, renewed from the cache when one is free (the
 * per-request lookups then skip the reader table lock and the malloc). */
apr_status_t st_rd_begin(orgs_store_t *st, MDB_txn **txn, orgs_err_t *err)
{
    unsigned start = (unsigned)(((uintptr_t)&txn) >> 12); /* differs per thread stack */
    for (unsigned i = 0; i < RTXN_CACHE; i++) {
        MDB_txn *t = atomic_exchange(&st->rtxn[(start + i) % RTXN_CACHE], NULL);
        if (t) {
            if (mdb_txn_renew(t) == MDB_SUCCESS) {
                *txn = t;
                return APR_SUCCESS;
            }
            mdb_txn_abort(t); /* e.g. the map was resized: start afresh */
            break;
        }
    }
    return st_txn_begin(st, MDB_RDONLY, txn, err);
}

void st_rd_end(orgs_store_t *st, MDB_txn *txn)
{
    unsigned start = (unsigned)(((uintptr_t)&txn) >> 12);
    mdb_txn_reset(txn);
    for (unsigned i = 0; i < RTXN_CACHE; i++) {
        MDB_txn *expected = NULL;
        if (atomic_compare_exchange_strong(&st->rtxn[(start + i) % RTXN_CACHE], &expected, txn)) {
            return;
        }
    }
    mdb_txn_abort(txn);
}

int st_last_txnid(orgs_store_t *st, apr_uint64_t *txnid)
{
    MDB_envinfo info;
    /* the meta pages are read through the map: not while another thread
     * remaps it */
    if (st->threaded) {
        pthread_rwlock_rdlock(&st->remap_lock);
    }
    int rc = mdb_env_info(st->env, &info);
    if (st->threaded) {
        pthread_rwlock_unlock(&st->remap_lock);
    }
    *txnid = (apr_uint64_t)info.me_last_txnid;
    return rc == MDB_SUCCESS;
}

/* LMDB key order for the packed-id databases and the sessions: the same
 * as LMDB's default (memcmp, then shorter first), so mdb_dump / mdb_load
 * and a process without it stay compatible; only faster for the 12-byte
 * ids and the 32-byte session digests (a miss searches orgs, users and
 * sessions: with LMDB's default, a call to memcmp per key compared). */
static int mdb_cmp_bin(const MDB_val *a, const MDB_val *b)
{
    if (a->mv_size == ID_BIN && b->mv_size == ID_BIN) {
        return st_cmp_bin(a->mv_data, b->mv_data);
    }
    if (a->mv_size == HASH_LEN && b->mv_size == HASH_LEN) { /* sessions: a digest */
        const unsigned char *x = a->mv_data, *y = b->mv_data;
        for (int i = 0; i < HASH_LEN; i += 8) {
            apr_uint64_t u, v;
            memcpy(&u, x + i, 8);
            memcpy(&v, y + i, 8);
            if (u != v) {
                return memcmp(x + i, y + i, 8) < 0 ? -1 : 1;
            }
        }
        return 0;
    }
    size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size;
    int c = n ? memcmp(a->mv_data, b->mv_data, n) : 0;
    return c ? c : (a->mv_size > b->mv_size) - (a->mv_size < b->mv_size);
}

static apr_status_t store_cleanup(void *data)
{
    orgs_store_t *st = data;
    for (unsigned i = 0; i < RTXN_CACHE; i++) {
        MDB_txn *t = atomic_exchange(&st->rtxn[i], NULL);
        if (t) {
            mdb_txn_abort(t);
        }
    }
    if (st->env) {
        mdb_env_close(st->env);
        st->env = NULL;
    }
    if (st->remap_lock_init) {
        pthread_rwlock_destroy(&st->remap_lock);
        st->remap_lock_init = 0;
    }
    st_revoked_fini(st);
    return APR_SUCCESS;
}

/* Stores written before the time index existed: index their pending
 * logins once (a write open finds the index empty but logins pending). */
static apr_status_t pending_time_rebuild(orgs_store_t *st, MDB_txn *txn, orgs_err_t *err)
{
    MDB_stat ps, ts;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;
    if ((rc = mdb_stat(txn, DB(st, PENDING), &ps)) != MDB_SUCCESS ||
        (rc = mdb_stat(txn, DB(st, PENDING_TIME), &ts)) != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "pending logins");
    }
    if (ps.ms_entries == 0 || ts.ms_entries != 0) {
        return APR_SUCCESS;
    }
    if ((rc = mdb_cursor_open(txn, DB(st, PENDING), &cur)) != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "cursor");
    }
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        unsigned char key[8 + STATE_MAX];
        json_t *j = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        apr_time_t created = st_jget_int(j, "created"); /* 0 when unreadable: swept first */
        json_decref(j);
        if (k.mv_size > STATE_MAX) {
            continue;
        }
        st_put_u64be(key, (apr_uint64_t)created);
        memcpy(key + 8, k.mv_data, k.mv_size);
        MDB_val tk = {8 + k.mv_size, key}, tv = {0, ""};
        if ((rc = mdb_put(txn, DB(st, PENDING_TIME), &tk, &tv, 0)) != MDB_SUCCESS) {
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? APR_SUCCESS : st_mdb_fail(rc, err, "pending logins");
}

#define FORMAT_MARKER "mod_auth_orgs"

/* A writable open may create this module's databases only in an empty
 * environment or in one of this module's stores: one with the format
 * marker, or an older one with a format version but no marker yet (the
 * marker is added). Anything else is another application's LMDB. */
static apr_status_t check_owner(orgs_store_t *st, MDB_txn *txn, int *mark, orgs_err_t *err)
{
    MDB_dbi main_db, meta;
    MDB_stat ms;
    MDB_val k = {6, "format"}, v;
    int rc = mdb_dbi_open(txn, NULL, 0, &main_db);
    *mark = 1;
    if (rc == MDB_SUCCESS) {
        rc = mdb_stat(txn, main_db, &ms);
    }
    if (rc != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "open database");
    }
    if (ms.ms_entries == 0) {
        return APR_SUCCESS;
    }
    rc = mdb_dbi_open(txn, "meta", 0, &meta);
    if (rc == MDB_SUCCESS && mdb_get(txn, meta, &k, &v) == MDB_SUCCESS) {
        *mark = 0;
        return v.mv_size == strlen(FORMAT_MARKER) &&
                       memcmp(v.mv_data, FORMAT_MARKER, v.mv_size) == 0
                   ? APR_SUCCESS
                   : orgs_err_set(err, ORGS_ESTORE,
                                  "%s holds a store of another format: refusing to use it",
                                  st->dir);
    }
    k.mv_size = 7;
    k.mv_data = "version";
    if (rc == MDB_SUCCESS && mdb_get(txn, meta, &k, &v) == MDB_SUCCESS) {
        return APR_SUCCESS; /* a store of this module from before the marker */
    }
    return orgs_err_set(err, ORGS_ESTORE,
                        "%s holds another application's LMDB database (no mod_auth_orgs format "
                        "marker): refusing to write into it; give OrgsStore an empty directory",
                        st->dir);
}

/* The map size the store records (meta "map_size"): the one httpd's
 * OrgsStoreMaxSize or orgctl --max-size last set, which orgctl maps when
 * not told otherwise. LMDB's own record in the file only ever grows (it
 * keeps the largest map any process used), so it cannot serve. With
 * record, map_size becomes the recorded size (when it differs); else
 * *recorded is the recorded size, 0 when none. */
static apr_status_t map_size_meta(orgs_store_t *st, MDB_txn *txn, int record, apr_uint64_t map_size,
                                  apr_uint64_t *recorded, orgs_err_t *err)
{
    kbuf_t k;
    MDB_val v;
    char buf[32] = "";
    *recorded = 0;
    apr_status_t rv = st_kv_get(txn, DB(st, META), st_kb1(&k, "map_size"), &v, err, "map size");
    if (rv == APR_SUCCESS && v.mv_size < sizeof(buf)) {
        memcpy(buf, v.mv_data, v.mv_size);
        *recorded = (apr_uint64_t)strtoull(buf, NULL, 10);
    }
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        return rv;
    }
    if (!record || *recorded == map_size) {
        return APR_SUCCESS;
    }
    int n = snprintf(buf, sizeof(buf), "%" APR_UINT64_T_FMT, map_size);
    return st_kv_put(txn, DB(st, META), &k, buf, (size_t)n, 0, err, "map size");
}

static apr_status_t open_dbs(orgs_store_t *st, int rdonly, int open_flags, apr_uint64_t map_size,
                             apr_uint64_t *recorded, orgs_err_t *err)
{
    MDB_txn *txn;
    int mark = 0;
    apr_status_t rv = st_txn_begin(st, rdonly ? MDB_RDONLY : 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!rdonly && (rv = check_owner(st, txn, &mark, err)) != APR_SUCCESS) {
        return st_txn_end(txn, rv, err);
    }
    for (int i = 0; rv == APR_SUCCESS && i < DB_COUNT; i++) {
        unsigned flags = i == DB_ORG_MEMBERS ? MDB_DUPSORT | MDB_DUPFIXED : 0;
        int rc = mdb_dbi_open(txn, st_db_names[i], flags | (rdonly ? 0 : MDB_CREATE), &st->db[i]);
        if (rc == MDB_NOTFOUND && (i == DB_PENDING_TIME || i == DB_SESSION_HINTS)) {
            continue; /* added later; read-only handles check the flags below */
        }
        if (rc == MDB_NOTFOUND && i >= DB_FIRST_LATE) {
            st->late_absent |= 1u << (i - DB_FIRST_LATE); /* added later: read as empty */
            continue;
        }
        if (rc == MDB_SUCCESS && i == DB_PENDING_TIME) {
            st->has_pending_time = 1;
        }
        if (rc == MDB_SUCCESS && i == DB_SESSION_HINTS) {
            st->has_session_hints = 1;
        }
        if (rc == MDB_NOTFOUND) {
            rv = orgs_err_set(err, ORGS_ESTORE, "store in %s is not initialized", st->dir);
        } else if (rc != MDB_SUCCESS) {
            rv = st_mdb_fail(rc, err, "open database");
        } else if (i == DB_MEMBERS || i == DB_ORG_MEMBERS || i == DB_ORGS || i == DB_USERS ||
                   i == DB_SESSIONS) {
            /* set in every process before any access, as LMDB requires */
            rc = mdb_set_compare(txn, st->db[i], mdb_cmp_bin);
            if (rc == MDB_SUCCESS && i == DB_ORG_MEMBERS) {
                rc = mdb_set_dupsort(txn, st->db[i], mdb_cmp_bin);
            }
            rv = rc == MDB_SUCCESS ? APR_SUCCESS : st_mdb_fail(rc, err, "open database");
        }
    }
    kbuf_t k;
    MDB_val v;
    if (rv == APR_SUCCESS) {
        rv = st_kv_get(txn, DB(st, META), st_kb1(&k, "version"), &v, err, "format version");
        if (rv == APR_NOTFOUND && rdonly) {
            rv = orgs_err_set(err, ORGS_ESTORE, "%s is not a mod_auth_orgs store", st->dir);
        } else if (rv == APR_NOTFOUND && !rdonly) {
            char buf[16];
            int n = snprintf(buf, sizeof(buf), "%d", ORGS_STORE_FORMAT_VERSION);
            rv = st_kv_put(txn, DB(st, META), &k, buf, (size_t)n, 0, err, "format version");
            st->version = ORGS_STORE_FORMAT_VERSION;
            if (rv == APR_SUCCESS) { /* a new store: its key from the start */
                rv = st_keycheck_init(st, txn, err);
            }
        } else if (rv == APR_SUCCESS) {
            char buf[16] = "";
            memcpy(buf, v.mv_data, v.mv_size < sizeof(buf) - 1 ? v.mv_size : sizeof(buf) - 1);
            char *end;
            unsigned long ver = strtoul(buf, &end, 10);
            if (end == buf || *end || ver == 0) {
                rv = orgs_err_set(err, ORGS_ESTORE, "corrupt format version");
            } else if (ver > ORGS_STORE_FORMAT_VERSION) {
                rv = orgs_err_set(err, ORGS_EVERSION,
                                  "store format %lu is newer than this build's %d", ver,
                                  ORGS_STORE_FORMAT_VERSION);
            }
            st->version = (unsigned)ver;
            if (rv == APR_SUCCESS && !rdonly && ver < ORGS_STORE_FORMAT_VERSION) {
                rv = st_migrate(st, txn, st->version, err);
                st->version = ORGS_STORE_FORMAT_VERSION;
            }
        }
    }
    if (rv == APR_SUCCESS && !rdonly) {
        rv = pending_time_rebuild(st, txn, err);
    }
    if (rv == APR_SUCCESS && (open_flags & (ORGS_STORE_MAP_RECORD | ORGS_STORE_MAP_RECORDED))) {
        rv = map_size_meta(st, txn, !rdonly && (open_flags & ORGS_STORE_MAP_RECORD), map_size,
                           recorded, err);
        if (rv == APR_NOTFOUND) {
            rv = APR_SUCCESS;
        }
    }
    if (rv == APR_SUCCESS && mark) { /* new, or a store from before the marker */
        rv = st_kv_put(txn, DB(st, META), st_kb1(&k, "format"), FORMAT_MARKER,
                       strlen(FORMAT_MARKER), 0, err, "format marker");
    }
    return st_txn_end(txn, rv, err);
}

apr_status_t orgs_store_open(orgs_store_t **out, const char *dir, apr_uint64_t map_size,
                             unsigned max_readers, int flags, const orgs_crypto_keys_t *keys,
                             apr_pool_t *p, orgs_err_t *err)
{
    int rdonly = (flags & ORGS_STORE_RDONLY) != 0;
    int has_data, has_lock;
    struct stat sb;
    fs_ident_t ident;
    *out = NULL;
    if (!dir || stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        return orgs_err_set(err, ORGS_ESTORE, "store directory %s does not exist",
                            dir ? dir : "(none)");
    }
    apr_status_t rv = st_check_file(dir, "data.mdb", &has_data, p, err);
    if (rv == APR_SUCCESS) {
        rv = st_check_file(dir, "lock.mdb", &has_lock, p, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!(flags & ORGS_STORE_CREATE) && !has_data) {
        return orgs_err_set(err, ORGS_ESTORE, "no store in %s", dir);
    }
    if (has_data && (rv = st_check_header(dir, p, err)) != APR_SUCCESS) {
        return rv;
    }
    orgs_store_t *st = apr_pcalloc(p, sizeof(*st));
    st->pool = p;
    st->dir = apr_pstrdup(p, dir);
    st->keys = keys;
    st->threaded = (flags & ORGS_STORE_THREADED) != 0;
    st->pending_max = orgs_store_pending_max_for(map_size ? map_size : ORGS_STORE_DEFAULT_MAP_SIZE);
    orgs_store_session_purge_set_batch(st, 0, 0);
    int rc = mdb_env_create(&st->env);
    if (rc != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "create environment");
    }
    apr_pool_cleanup_register(p, st, store_cleanup, apr_pool_cleanup_null);
    if (pthread_rwlock_init(&st->remap_lock, NULL) != 0) {
        apr_pool_cleanup_run(p, st, store_cleanup);
        return orgs_err_set(err, APR_ENOMEM, "cannot create the remap lock");
    }
    st->remap_lock_init = 1;
    if ((rv = st_revoked_init(st, err)) != APR_SUCCESS) {
        apr_pool_cleanup_run(p, st, store_cleanup);
        return rv;
    }
    if ((rc = mdb_env_set_maxreaders(st->env, max_readers ? max_readers : 512)) ||
        (rc = mdb_env_set_maxdbs(st->env, DB_COUNT + 4)) ||
        (rc = mdb_env_set_mapsize(st->env, map_size ? map_size : ORGS_STORE_DEFAULT_MAP_SIZE))) {
        rv = orgs_err_set(err, ORGS_ESTORE, "cannot open store %s: %s", dir, mdb_strerror(rc));
    }
    /* the only path-based LMDB call: every later access goes through its fds */
    if (rv == APR_SUCCESS && (rv = st_fs_ident_enter(&sb, &ident, err)) == APR_SUCCESS) {
        rc = mdb_env_open(st->env, dir, MDB_NOTLS | (rdonly ? MDB_RDONLY : 0), 0660);
        rv = st_fs_ident_leave(&ident, err);
        if (rv == APR_SUCCESS && rc != MDB_SUCCESS) {
            rv = orgs_err_set(err, ORGS_ESTORE, "cannot open store %s: %s", dir, mdb_strerror(rc));
        }
    }
    int dead;
    if (rv == APR_SUCCESS && (rc = mdb_reader_check(st->env, &dead)) != MDB_SUCCESS) {
        rv = st_mdb_fail(rc, err, "reader check");
    }
    if (rv == APR_SUCCESS) {
        apr_uint64_t recorded = 0;
        rv = open_dbs(st, rdonly, flags, map_size, &recorded, err);
        /* no transaction is active: the map may change */
        if (rv == APR_SUCCESS && (flags & ORGS_STORE_MAP_RECORDED) &&
            !(flags & ORGS_STORE_MAP_RECORD) && recorded &&
            (rc = mdb_env_set_mapsize(st->env, recorded)) != MDB_SUCCESS) {
            rv = st_mdb_fail(rc, err, "map size");
        }
        if (rv == APR_SUCCESS && recorded && !(flags & ORGS_STORE_MAP_RECORD)) {
            st->pending_max = orgs_store_pending_max_for(recorded);
        }
    }
    if (rv != APR_SUCCESS) {
        apr_pool_cleanup_run(p, st, store_cleanup);
        return rv;
    }
    *out = st;
    return APR_SUCCESS;
}

void orgs_store_close(orgs_store_t *st)
{
    if (st) {
        apr_pool_cleanup_run(st->pool, st, store_cleanup);
    }
}

static apr_status_t store_stat(orgs_store_t *st, MDB_txn *txn, orgs_store_stat_t *out,
                               orgs_err_t *err)
{
    MDB_envinfo info;
    MDB_stat ms;
    apr_status_t rv = APR_SUCCESS;
    mdb_env_info(st->env, &info);
    mdb_env_stat(st->env, &ms);
    out->map_size = info.me_mapsize;
    out->used_bytes = ((apr_uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
    out->version = st->version;
    const struct {
        int db;
        apr_size_t *n;
    } counts[] = {
        {DB_ORGS, &out->orgs},           {DB_CONNS, &out->conns},    {DB_USERS, &out->users},
        {DB_ORG_MEMBERS, &out->members}, /* one entry per membership */
        {DB_SESSIONS, &out->sessions},   {DB_PENDING, &out->pending}};
    for (size_t i = 0; rv == APR_SUCCESS && i < sizeof(counts) / sizeof(counts[0]); i++) {
        int rc = mdb_stat(txn, st->db[counts[i].db], &ms);
        if (rc != MDB_SUCCESS) {
            rv = st_mdb_fail(rc, err, "stat");
        } else {
            *counts[i].n = ms.ms_entries;
        }
    }
    return rv;
}

apr_status_t orgs_store_stat(orgs_store_t *st, orgs_store_stat_t *out, orgs_err_t *err)
{
    memset(out, 0, sizeof(*out));
    ST_READ(st, txn, err, store_stat(st, txn, out, err));
}
