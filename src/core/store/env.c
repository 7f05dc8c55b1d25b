/* The engine: the LMDB environment (open, close, stat), its named
 * databases and format version, the reader-slot and read-transaction cache,
 * transactions and the one mapping of LMDB errors to APR codes. */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "store_int.h"

#define FULL_TEXT "store full: grow OrgsStoreMaxSize / orgctl --max-size"

const char *const st_db_names[DB_COUNT] = {
    "meta",    "orgs",        "org_names",  "domains",     "conns",           "conn_names",
    "enable",  "users",       "user_sub",   "user_email",  "user_conn_email", "conn_users",
    "members", "org_members", "sessions",   "session_idx", "pending",         "pending_browser",
    "cache",   "invites",     "invite_org", "audit",       "pending_time",    "session_hints",
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
    default:
        return orgs_err_set(err, ORGS_ESTORE, "%s: %s", what, mdb_strerror(rc));
    }
}

apr_status_t st_txn_begin(orgs_store_t *st, unsigned flags, MDB_txn **txn, orgs_err_t *err)
{
    int rc = mdb_txn_begin(st->env, NULL, flags, txn);
    if (rc == MDB_MAP_RESIZED && st->threaded) {
        *txn = NULL;
        return orgs_err_set(err, ORGS_ESTORE,
                            "another process grew the store beyond this process's map size: "
                            "raise OrgsStoreMaxSize to match and restart httpd gracefully");
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

/* Commits when rv is APR_SUCCESS, aborts otherwise; returns the final status. */
apr_status_t st_txn_end(MDB_txn *txn, apr_status_t rv, orgs_err_t *err)
{
    if (rv != APR_SUCCESS) {
        mdb_txn_abort(txn);
        return rv;
    }
    int rc = mdb_txn_commit(txn);
    return rc == MDB_SUCCESS ? APR_SUCCESS : st_mdb_fail(rc, err, "commit");
}

apr_status_t st_run_begin(orgs_store_t *st, int rdonly, MDB_txn **txn, orgs_err_t *err)
{
    return rdonly ? st_rd_begin(st, txn, err) : st_txn_begin(st, 0, txn, err);
}

apr_status_t st_run_end(orgs_store_t *st, int rdonly, MDB_txn *txn, apr_status_t rv,
                        orgs_err_t *err)
{
    if (rdonly) {
        st_rd_end(st, txn);
        return rv;
    }
    return st_txn_end(txn, rv, err);
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

/* LMDB key order for the packed-id databases: the same as LMDB's default
 * (memcmp, then shorter first), so mdb_dump / mdb_load stay compatible;
 * only faster for the 12-byte keys. */
static int mdb_cmp_bin(const MDB_val *a, const MDB_val *b)
{
    if (a->mv_size == ID_BIN && b->mv_size == ID_BIN) {
        return st_cmp_bin(a->mv_data, b->mv_data);
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

static apr_status_t open_dbs(orgs_store_t *st, int rdonly, orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = st_txn_begin(st, rdonly ? MDB_RDONLY : 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (int i = 0; rv == APR_SUCCESS && i < DB_COUNT; i++) {
        unsigned flags = i == DB_ORG_MEMBERS ? MDB_DUPSORT | MDB_DUPFIXED : 0;
        int rc = mdb_dbi_open(txn, st_db_names[i], flags | (rdonly ? 0 : MDB_CREATE), &st->db[i]);
        if (rc == MDB_NOTFOUND && (i == DB_PENDING_TIME || i == DB_SESSION_HINTS)) {
            continue; /* added later; read-only handles check the flags below */
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
        } else if (i == DB_MEMBERS || i == DB_ORG_MEMBERS) {
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
        if (rv == APR_NOTFOUND && !rdonly) {
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
    orgs_store_t *st = apr_pcalloc(p, sizeof(*st));
    st->pool = p;
    st->dir = apr_pstrdup(p, dir);
    st->keys = keys;
    st->threaded = (flags & ORGS_STORE_THREADED) != 0;
    st->pending_max = ORGS_STORE_PENDING_MAX;
    orgs_store_session_purge_set_batch(st, 0, 0);
    int rc = mdb_env_create(&st->env);
    if (rc != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "create environment");
    }
    apr_pool_cleanup_register(p, st, store_cleanup, apr_pool_cleanup_null);
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
        rv = open_dbs(st, rdonly, err);
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
