/* The store's private header: what the files of src/core/store/ share and
 * nothing outside it sees. The only place LMDB is known is this folder;
 * store.h, the public API, stays LMDB-free.
 *
 * Layers (a file uses only the layers above it):
 *   codec.h codec.c codec_json.c  records as bytes: pure, no LMDB
 *   env.c fsid.c kv.c             the engine: environment, transactions,
 *                                 keys, iteration (the only LMDB calls,
 *                                 with the few cursors of the objects)
 *   org.c conn.c user.c member.c session.c pending.c cache.c invite.c
 *                                 the objects: a record, its indexes, its
 *                                 cascades and its public operations
 *   quota.c user_purge.c          tenant bounds of a sign-in; unused users
 *   dump.c consistency.c          the tools: export/import and the checker
 *
 * Verbs of the internal functions (st_<object>_<verb>):
 *   _load     one record by its id (APR_NOTFOUND when absent)
 *   _find     one record by name or id (a "ref" as the CLI takes it)
 *   _write    the record only, no index
 *   _index    the record's index entries (add or remove)
 *   _insert   validate + write + index: a new record
 *   _update   validate + rewrite an existing record (and re-index)
 *   _erase    one record and its own index entries, no cascade
 *   _drop     a record with its cascade (the order below)
 * The body of a public operation is a static named after it, run by
 * ST_WRITE / ST_READ (one transaction per public operation).
 *
 * Cascade order (what deleting each takes with it), written once here:
 *   conn   -> its users (user cascade), its enablements, its name
 *   org    -> its memberships (member cascade), its sessions, its
 *             enablements, its invitations, its name and domains
 *   user   -> its memberships (member cascade), its indexes
 *   member -> its sessions (through session_idx)
 *   session-> its record, its logout hint, its index entry
 * Disabling a connection on an org drops the org's sessions signed in
 * through it.
 *
 * Layout (keys -> values; ids are fixed length "xxx_" + 16 base62):
 *   meta             "version" -> decimal text; "keycheck" -> HMAC of a label (keycheck.c)
 *   orgs             org id -> binary record (format at REC_ORG_TAG in codec.h)
 *   org_names        name -> org id
 *   domains          domain -> org id
 *   conns            conn id -> JSON record (secret sealed, base64url)
 *   conn_names       name -> conn id
 *   enable           org id + conn id -> 1 byte auto-membership flag [+ its condition]
 *   users            user id -> binary record (format at REC_USER_TAG in codec.h)
 *   user_sub         conn id \0 sub -> user id
 *   user_email       email \0 user id -> ""
 *   user_conn_email  conn id \0 email \0 user id -> ""
 *   conn_users       conn id + user id -> ""
 *   members          packed user id (12) -> the user's memberships, one record
 *                    sorted by org id (format at mrec_t in codec.h)
 *   org_members      packed org id (12) -> packed user ids (DUPSORT, DUPFIXED)
 *   sessions         sid hash (32) -> binary record (format at srec_t in codec.h)
 *   session_idx      org id + user id + sid hash -> ""
 *   session_hints    sid hash (32) -> the ID token kept for logout (read only there)
 *   pending          state -> JSON record (a state from orgs_store_pending_admit
 *                    starts with the client's tag, 11 chars, and its creation
 *                    time, 16 hex: a client's entries are one range, by age)
 *   pending_browser  browser hash (32) + created (8 bytes BE) + state -> ""
 *   pending_time     created (8 bytes BE) + state -> "" (oldest first: expiry)
 *   cache            key (or "#" + SHA-256 of a long key) -> fetched (8 LE) + value;
 *                    also "quota:new-users:" + conn id -> window start + count
 *   invites          invite id -> JSON record
 *   invite_org       org id + invite id -> ""
 *   invite_ticket    ticket hash (base64url, 43) -> invite id
 *   audit            time key (8 bytes BE, microseconds, strictly increasing) -> JSON
 *                    record (audit.c)
 *   audit_org        org id + time key -> ""; org id alone -> the org's count (8 LE)
 *   stats            org id + day (8 bytes BE, days since the epoch) -> counters
 *                    (stats.c)
 *   api_tokens       token id -> JSON record (its secret's SHA-256, scopes, expiry)
 *   pending_used     state -> expires (8 bytes BE) + owner id: a sealed login's sign-in
 *                    done
 *   pending_used_time expires (8 bytes BE) + state -> owner id (pending_used.c)
 *   pending_used_org owner id (the org of a sign-in that got in, org/connection of
 *                    one refused) -> its live marks (8 bytes BE), bounded per owner
 *
 * Invariant: a session exists only while its membership does (session_put
 * requires the membership, member removal deletes the sessions), so every
 * cascade can reach sessions through session_idx.
 */
#ifndef ORGS_STORE_INT_H
#define ORGS_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <apr_strings.h>
#include <jansson.h>
#include <lmdb.h>

#include "checks.h"
#include "codec.h"
#include "parse.h"
#include "store.h"

#define KEY_MAX 511 /* LMDB's default maximum key size */
#define STATE_MIN 16
#define STATE_MAX 128
#define RTXN_CACHE 8 /* reset read transactions kept per environment */

enum {
    DB_META,
    DB_ORGS,
    DB_ORG_NAMES,
    DB_DOMAINS,
    DB_CONNS,
    DB_CONN_NAMES,
    DB_ENABLE,
    DB_USERS,
    DB_USER_SUB,
    DB_USER_EMAIL,
    DB_USER_CONN_EMAIL,
    DB_CONN_USERS,
    DB_MEMBERS,
    DB_ORG_MEMBERS,
    DB_SESSIONS,
    DB_SESSION_IDX,
    DB_PENDING,
    DB_PENDING_BROWSER,
    DB_CACHE,
    DB_INVITES,
    DB_INVITE_ORG,
    DB_AUDIT,
    DB_PENDING_TIME,
    DB_SESSION_HINTS,
    DB_INVITE_TICKET, /* from here on: added later, absent from older read-only stores */
    DB_AUDIT_ORG,
    DB_STATS,
    DB_API_TOKENS,
    DB_PENDING_USED,
    DB_PENDING_USED_TIME,
    DB_PENDING_USED_ORG,
    DB_COUNT
};
#define DB_FIRST_LATE DB_INVITE_TICKET

extern const char *const st_db_names[DB_COUNT];

struct orgs_store_t {
    MDB_env *env;
    MDB_dbi db[DB_COUNT];
    const orgs_crypto_keys_t *keys;
    apr_pool_t *pool;
    const char *dir;
    unsigned version;
    apr_size_t pending_max;       /* global bound on pending logins */
    apr_size_t purge_batch;       /* sessions deleted per purge transaction */
    apr_size_t purge_scan;        /* session records read per purge transaction */
    int has_pending_time;         /* 0: an older read-only store without that index */
    int has_session_hints;        /* 0: an older read-only store without that database */
    apr_size_t audit_max_per_org; /* audit records kept per org (audit.c) */
    apr_size_t invites_per_org;   /* open invitations per org (invite_bound.c); 0 = the
                                     default, (apr_size_t)-1 = no bound */
    unsigned late_absent;         /* bit (i - DB_FIRST_LATE): database i is absent (an older
                                     store opened read-only): reads find nothing there */
    int threaded;                 /* ORGS_STORE_THREADED: remap only under remap_lock */
    /* Threaded handles: every transaction holds it shared, a remap (the
     * map grown by another process) holds it exclusive, so LMDB's
     * "no transaction active in this process" rule holds while it remaps. */
    pthread_rwlock_t remap_lock;
    int remap_lock_init;
    /* The free-page count of the last room check and the transaction it
     * was taken at: counted again only when a write committed since. */
    _Atomic(apr_uint64_t) free_txnid;
    _Atomic(apr_uint64_t) free_pages;
    /* Sessions whose delete failed (disk full, I/O error): refused by this
     * process's session reads until they are gone (revoke.c). */
    pthread_mutex_t revoked_lock;
    int revoked_lock_init;
    _Atomic(unsigned) revoked_n;
    unsigned char revoked[16][32];
    void *revoked_shared; /* the note every process shares (revoke.c), or NULL */
    /* Reset read transactions ready for mdb_txn_renew: with MDB_NOTLS any
     * thread may use one, so threads take and return them with atomic
     * exchanges. Each holds a reader slot, hence only a few. */
    _Atomic(MDB_txn *) rtxn[RTXN_CACHE];
    /* Capture mode (capture.c): set only inside a write transaction, so
     * at most one thread of the process sees it (LMDB has one writer). */
    struct st_capture_t *capture;
    /* The per-process cache of prepared session views (viewcache.c), or
     * NULL: not enabled (orgs_store_view_cache_enable). */
    struct st_vcache_t *vcache;
};

#define DB(st, n) ((st)->db[DB_##n])
/* Whether database i exists in this store (see late_absent). */
#define ST_HAS_DB(st, i) ((i) < DB_FIRST_LATE || !((st)->late_absent & (1u << ((i)-DB_FIRST_LATE))))

/* ---- engine: transactions (env.c) -------------------------------------- */

/* LMDB's rc as an APR code: APR_NOTFOUND, APR_EEXIST, ORGS_ESTOREFULL
 * (the map is full), else ORGS_ESTORE; err says what failed. */
apr_status_t st_mdb_fail(int rc, orgs_err_t *err, const char *what);
apr_status_t st_txn_begin(orgs_store_t *st, unsigned flags, MDB_txn **txn, orgs_err_t *err);
/* Commits when rv is APR_SUCCESS, aborts otherwise; returns the final status. */
apr_status_t st_txn_end(MDB_txn *txn, apr_status_t rv, orgs_err_t *err);
/* A read transaction from the cache of reset ones; st_rd_end gives it back. */
apr_status_t st_rd_begin(orgs_store_t *st, MDB_txn **txn, orgs_err_t *err);
void st_rd_end(orgs_store_t *st, MDB_txn *txn);
/* The id of the store's last committed write transaction, by any process
 * (LMDB's newer meta page: no transaction, no lock file access): 1 with
 * *txnid, 0 when it cannot be read. A commit that has returned is seen. */
int st_last_txnid(orgs_store_t *st, apr_uint64_t *txnid);

/* The transaction runner, written once: every public operation is one
 * transaction around one body, an expression of txn (declared here for it)
 * that returns an apr_status_t. A write commits only when the body returned
 * APR_SUCCESS and aborts otherwise, so it is never half done; a read runs
 * in a cached read transaction. rv becomes the body's status, or the
 * begin's or the commit's failure. ST_WRITE and ST_READ are the whole of a
 * public operation: they return that status from the calling function. */
/* The modes of the runner: a write that may grow the store (refused with
 * ORGS_ESTOREFULL past the soft limit, keeping the reserve), a read, and a
 * write that only deletes or rewrites in place (revocations, logouts,
 * sweeps, session touches), which may use the reserve. */
enum { ST_MODE_WRITE = 0, ST_MODE_READ = 1, ST_MODE_RELEASE = 2 };
apr_status_t st_run_begin(orgs_store_t *st, int mode, MDB_txn **txn, orgs_err_t *err);
/* 1 when the pages in use leave less than the reserve (the store is full
 * for everything but deletes), by the figures of the last commit; no I/O,
 * safe inside a write transaction. */
int st_room_tight(orgs_store_t *st);
apr_status_t st_run_end(orgs_store_t *st, int mode, MDB_txn *txn, apr_status_t rv, orgs_err_t *err);
#define ST_RUN_RV(rv, st, txn, err, mode, body)                                                    \
    do {                                                                                           \
        MDB_txn *txn;                                                                              \
        if (((rv) = st_run_begin((st), (mode), &txn, (err))) == APR_SUCCESS) {                     \
            (rv) = st_run_end((st), (mode), txn, (body), (err));                                   \
        }                                                                                          \
    } while (0)
#define ST_RUN(st, txn, err, mode, body)                                                           \
    do {                                                                                           \
        apr_status_t st_rv_;                                                                       \
        ST_RUN_RV(st_rv_, st, txn, err, mode, body);                                               \
        return st_rv_;                                                                             \
    } while (0)
#define ST_WRITE_RV(rv, st, txn, err, body) ST_RUN_RV(rv, st, txn, err, ST_MODE_WRITE, body)
#define ST_READ_RV(rv, st, txn, err, body) ST_RUN_RV(rv, st, txn, err, ST_MODE_READ, body)
#define ST_RELEASE_RV(rv, st, txn, err, body) ST_RUN_RV(rv, st, txn, err, ST_MODE_RELEASE, body)
#define ST_WRITE(st, txn, err, body) ST_RUN(st, txn, err, ST_MODE_WRITE, body)
#define ST_READ(st, txn, err, body) ST_RUN(st, txn, err, ST_MODE_READ, body)
#define ST_RELEASE(st, txn, err, body) ST_RUN(st, txn, err, ST_MODE_RELEASE, body)

/* A subpool of parent; APR_ENOMEM when it cannot be made. */
apr_status_t st_pool_new(apr_pool_t **pool, apr_pool_t *parent, orgs_err_t *err);
/* A new random id with that prefix ("org_", "con_", ...); ORGS_ECRYPTO if
 * the system's random source fails. */
apr_status_t st_id_new(const char *prefix, char **id, apr_pool_t *p, orgs_err_t *err);

/* ---- engine: filesystem identity (fsid.c) ----------------------------- */

typedef struct {
    int active;
    uid_t uid; /* the identity to restore */
    gid_t gid;
} fs_ident_t;

/* data.mdb and lock.mdb, where they exist, must be plain files reachable
 * only through this directory; *exists tells whether it is there. */
apr_status_t st_check_file(const char *dir, const char *name, int *exists, apr_pool_t *p,
                           orgs_err_t *err);
/* An existing data.mdb, read before LMDB maps it: both meta pages must be
 * LMDB's, and the file must hold every page the newer one counts (a
 * truncated file would be mapped, and touching a missing page kills the
 * process with SIGBUS). ORGS_ESTORE naming the damage; APR_SUCCESS for an
 * empty file (LMDB initializes it). */
apr_status_t st_check_header(const char *dir, apr_pool_t *p, orgs_err_t *err);
/* Takes the directory owner's filesystem identity when root opens a store
 * owned by another user; st_fs_ident_leave restores it (both verified). */
apr_status_t st_fs_ident_enter(const struct stat *dir_sb, fs_ident_t *saved, orgs_err_t *err);
apr_status_t st_fs_ident_leave(fs_ident_t *saved, orgs_err_t *err);

/* ---- engine: keys and values (kv.c) ----------------------------------- */

typedef struct {
    char buf[KEY_MAX];
    size_t len;
    int over; /* too long: every operation on it fails cleanly */
} kbuf_t;

typedef struct {
    MDB_cursor *cur;
    MDB_val k, v;
    const char *pfx;
    size_t plen;
    int started;
    int rc;
} iter_t;

typedef struct {
    char *k; /* NUL-terminated copies */
    size_t klen;
    char *v;
    size_t vlen;
} blob_t;

void st_kb_add(kbuf_t *kb, const void *d, size_t n);
void st_kb_str(kbuf_t *kb, const char *s);
void st_kb_nul(kbuf_t *kb);
kbuf_t *st_kb1(kbuf_t *kb, const char *a);
kbuf_t *st_kb2(kbuf_t *kb, const char *a, const char *b);
kbuf_t *st_kbraw(kbuf_t *kb, const void *d, size_t n);
apr_status_t st_kv_get(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, MDB_val *v, orgs_err_t *err,
                       const char *what);
apr_status_t st_kv_put(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, const void *d, size_t n,
                       unsigned flags, orgs_err_t *err, const char *what);
/* must_exist: APR_NOTFOUND when absent; otherwise absence is fine. */
apr_status_t st_kv_del(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, int must_exist, orgs_err_t *err,
                       const char *what);
/* The entries under pfx (all when NULL), in key order. */
/* Positions cur for a batch that resumes a walk: the first key of all
 * when from is empty, else the first key after from (the last one the
 * previous batch read). Returns LMDB's code (MDB_NOTFOUND at the end). */
int st_cursor_resume(MDB_cursor *cur, const kbuf_t *from, MDB_val *key, MDB_val *val);

apr_status_t st_iter_open(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *pfx, iter_t *it,
                          orgs_err_t *err);
int st_iter_next(iter_t *it);
apr_status_t st_iter_close(iter_t *it, orgs_err_t *err);
/* Closes it; returns rv, or the cursor's failure when rv is APR_SUCCESS. */
apr_status_t st_iter_end(iter_t *it, apr_status_t rv, orgs_err_t *err);
/* Copies the entries under pfx (all when NULL) into p, so the caller may
 * delete while walking them. */
apr_status_t st_collect(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *pfx, apr_array_header_t **out,
                        apr_pool_t *p, orgs_err_t *err);
/* A loader of one record by its id, for st_load_all (out: a T **). */
typedef apr_status_t st_load_fn(orgs_store_t *st, MDB_txn *txn, const char *id, void *out,
                                apr_pool_t *p, orgs_err_t *err);
/* The records named by the entries under pfx (all when NULL), in key order,
 * as a new array of pointers: the id is the entry's value (key_skip < 0)
 * or its key from byte key_skip on. */
apr_status_t st_load_all(orgs_store_t *st, MDB_txn *txn, MDB_dbi dbi, const kbuf_t *pfx,
                         int key_skip, st_load_fn *load, apr_array_header_t **out, apr_pool_t *p,
                         orgs_err_t *err);
/* Writes the JSON record j; steals j (NULL: encoding failed, APR_EINVAL). */
apr_status_t st_put_json_new(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, json_t *j, unsigned flags,
                             orgs_err_t *err, const char *what);
apr_status_t st_get_json(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, json_t **out, orgs_err_t *err,
                         const char *what);

/* ---- counts in fixed windows (window.c) -------------------------------- */

/* One record per key: the window's start, 8 bytes LE, then its count as
 * text. The per-tenant rates (a connection's new users, an org's admin API
 * changes, each a minute) keep theirs in the cache database. */
/* The record at k; APR_NOTFOUND when there is none, or what is there is
 * not one (the next put replaces it). */
apr_status_t st_window_get(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, apr_time_t *start,
                           apr_uint64_t *count, orgs_err_t *err, const char *what);
apr_status_t st_window_put(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, apr_time_t start,
                           apr_uint64_t count, orgs_err_t *err, const char *what);
/* Counts one in the window of length len that holds now (a record of an
 * earlier window, or of a later one, starts a new window at now). With a
 * limit (0: none) the window already holds, APR_ENOSPC: nothing counted,
 * err left for the caller to word. *ends: when the window ends. */
apr_status_t st_window_take(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, apr_interval_time_t len,
                            apr_uint64_t limit, apr_time_t now, apr_time_t *ends, orgs_err_t *err,
                            const char *what);

/* ---- objects ----------------------------------------------------------- */

/* org.c */
/* migrate.c: brings a store of format version `from` to
 * ORGS_STORE_FORMAT_VERSION inside txn (the open's write transaction),
 * writing the new version last. ORGS_ESTORE when a record cannot be read. */
apr_status_t st_migrate(orgs_store_t *st, MDB_txn *txn, unsigned from, orgs_err_t *err);

apr_status_t st_org_load(orgs_store_t *st, MDB_txn *txn, const char *id, orgs_org_t **out,
                         apr_pool_t *p, orgs_err_t *err);
apr_status_t st_org_find(orgs_store_t *st, MDB_txn *txn, const char *ref, orgs_org_t **out,
                         apr_pool_t *p, orgs_err_t *err);
/* Changes display_name (NULL: unchanged) and metadata (unset_meta keys
 * removed, then set_meta pairs added or replaced) and branding (brand: NULL keeps
 * all; a NULL field keeps it, "" clears it) of the org ref. */
apr_status_t st_org_update(orgs_store_t *st, MDB_txn *txn, const char *ref,
                           const char *display_name, const apr_array_header_t *set_meta,
                           const apr_array_header_t *unset_meta, const orgs_org_t *brand,
                           apr_pool_t *p, orgs_err_t *err);
apr_status_t st_org_insert(orgs_store_t *st, MDB_txn *txn, orgs_org_t *o, apr_pool_t *p,
                           orgs_err_t *err);
apr_status_t st_enable_set(orgs_store_t *st, MDB_txn *txn, const char *org_ref,
                           const char *conn_ref, int enable, int auto_membership, apr_pool_t *p,
                           orgs_err_t *err);

/* APR_NOTFOUND unless conn_id is enabled on org_id; *auto_membership its
 * flag. */
apr_status_t st_enable_load(orgs_store_t *st, MDB_txn *txn, const char *org_id, const char *conn_id,
                            int *auto_membership, orgs_err_t *err);
/* The same with the auto-membership condition (*require, in p; NULL when
 * none). */
apr_status_t st_enable_load_cond(orgs_store_t *st, MDB_txn *txn, const char *org_id,
                                 const char *conn_id, int *auto_membership, const char **require,
                                 apr_pool_t *p, orgs_err_t *err);
/* Enables conn on org with the flag and the condition (NULL: none). */
apr_status_t st_enable_set_cond(orgs_store_t *st, MDB_txn *txn, const char *org_ref,
                                const char *conn_ref, int auto_membership, const char *require,
                                apr_pool_t *p, orgs_err_t *err);

/* keycheck.c: records the key check value of st->keys, when given, in a
 * store being created (inside the open's write transaction). */
apr_status_t st_keycheck_init(orgs_store_t *st, MDB_txn *txn, orgs_err_t *err);

/* conn.c */
apr_status_t st_conn_unseal(orgs_store_t *st, orgs_conn_t *c, const char *sealed, apr_pool_t *p,
                            orgs_err_t *err);
apr_status_t st_conn_load(orgs_store_t *st, MDB_txn *txn, const char *id, orgs_conn_t **out,
                          const char **sealed, apr_pool_t *p, orgs_err_t *err);
/* st_conn_load through the per-process memo of decoded records, for the
 * single-record reads of the request paths (a login reads its connection
 * several times); not for listings, which would only churn it. *out is the
 * caller's copy; its strings live as long as p. */
apr_status_t st_conn_read(orgs_store_t *st, MDB_txn *txn, const char *id, orgs_conn_t **out,
                          const char **sealed, apr_pool_t *p, orgs_err_t *err);
/* Lists of at most this many connections are read through st_conn_read. */
#define ORGS_CONN_MEMO_LIST_MAX 4
apr_status_t st_conn_find(orgs_store_t *st, MDB_txn *txn, const char *ref, orgs_conn_t **out,
                          const char **sealed, apr_pool_t *p, orgs_err_t *err);
apr_status_t st_conn_insert(orgs_store_t *st, MDB_txn *txn, orgs_conn_t *c, const char *sealed,
                            apr_pool_t *p, orgs_err_t *err);

/* user.c */
kbuf_t *st_kb_conn_email(kbuf_t *k, const char *conn_id, const char *email);
apr_status_t st_user_index(orgs_store_t *st, MDB_txn *txn, const orgs_user_t *u, int add,
                           orgs_err_t *err);
apr_status_t st_user_load(orgs_store_t *st, MDB_txn *txn, const char *id, orgs_user_t **out,
                          apr_pool_t *p, orgs_err_t *err);
apr_status_t st_user_login(orgs_store_t *st, MDB_txn *txn, const char *conn_ref, const char *sub,
                           const char *email, const char *name, apr_time_t now, orgs_user_t **out,
                           int *created, apr_pool_t *p, orgs_err_t *err);
apr_status_t st_user_insert(orgs_store_t *st, MDB_txn *txn, orgs_user_t *u, apr_pool_t *p,
                            orgs_err_t *err);

/* member.c */
apr_status_t st_mrec_load(orgs_store_t *st, MDB_txn *txn, const unsigned char *user, mrec_t *r,
                          orgs_err_t *err);
apr_status_t st_member_load_packed(orgs_store_t *st, MDB_txn *txn, const unsigned char *org,
                                   const unsigned char *user, ment_t *e, orgs_err_t *err);
apr_status_t st_member_load(orgs_store_t *st, MDB_txn *txn, const char *org_id, const char *user_id,
                            orgs_member_t **out, apr_pool_t *p, orgs_err_t *err);
apr_status_t st_member_drop(orgs_store_t *st, MDB_txn *txn, const char *org_id, const char *user_id,
                            int must_exist, apr_pool_t *p, orgs_err_t *err);
apr_status_t st_org_member_ids(orgs_store_t *st, MDB_txn *txn, const char *org_id,
                               apr_array_header_t **out, apr_pool_t *p, orgs_err_t *err);
/* The ids of the orgs user_id is a member of (copies, in p). */
apr_status_t st_user_org_ids(orgs_store_t *st, MDB_txn *txn, const char *user_id,
                             apr_array_header_t **out, apr_pool_t *p, orgs_err_t *err);
apr_status_t st_user_drop(orgs_store_t *st, MDB_txn *txn, const char *user_id, apr_pool_t *p,
                          orgs_err_t *err);
apr_status_t st_member_insert(orgs_store_t *st, MDB_txn *txn, const char *org_ref,
                              const char *user_id, const apr_array_header_t *roles,
                              apr_time_t created, apr_pool_t *p, orgs_err_t *err);

/* session.c */
apr_status_t st_sessions_drop(orgs_store_t *st, MDB_txn *txn, const kbuf_t *pfx, apr_pool_t *p,
                              orgs_err_t *err);
apr_status_t st_sessions_drop_conn(orgs_store_t *st, MDB_txn *txn, const char *org_id,
                                   const char *conn_id, apr_pool_t *p, orgs_err_t *err);
apr_status_t st_session_load(orgs_store_t *st, MDB_txn *txn, const unsigned char *hash,
                             orgs_session_t **out, apr_pool_t *p, orgs_err_t *err);
apr_status_t st_session_put(orgs_store_t *st, MDB_txn *txn, const unsigned char *hash,
                            const orgs_session_t *s, apr_pool_t *p, orgs_err_t *err);
apr_status_t st_session_erase_hash(orgs_store_t *st, MDB_txn *txn, const unsigned char *hash,
                                   apr_pool_t *p, orgs_err_t *err);
kbuf_t *st_kb_session_idx(kbuf_t *k, const orgs_session_t *s, const unsigned char *hash);
/* The body of orgs_store_session_view (without the revocation note), in txn. */
apr_status_t st_session_view(orgs_store_t *st, MDB_txn *txn, const unsigned char *hash,
                             apr_time_t now, apr_interval_time_t idle, orgs_session_view_t **out,
                             apr_pool_t *p, orgs_err_t *err);
/* Past its absolute lifetime, or idle (idle > 0) for longer than idle. */
int st_session_expired(const orgs_session_t *s, apr_time_t now, apr_interval_time_t idle);

/* revoke.c: the per-process note of sessions whose delete failed */
apr_status_t st_revoked_init(orgs_store_t *st, orgs_err_t *err);
void st_revoked_fini(orgs_store_t *st);
void st_revoked_add(orgs_store_t *st, const unsigned char *hash);
int st_revoked_has(orgs_store_t *st, const unsigned char *hash);
void st_revoked_shared_add(orgs_store_t *st, const unsigned char *hash);
int st_revoked_shared_has(orgs_store_t *st, const unsigned char *hash);

/* Expired used marks a sign-in refused at a full share sweeps, in a
 * transaction of its own, before it tries once more (signin.c). */
#define ST_USED_SWEEP_FULL 1000
/* pending_used.c: APR_NOTFOUND when the sealed login of state was used
 * already (or state is not one). */
apr_status_t st_pending_used_check(orgs_store_t *st, MDB_txn *txn, const char *state,
                                   orgs_err_t *err);
/* Marks it used until expires, in the sign-in's transaction, counted
 * against owner_id (orgs_store_used_owner); APR_NOTFOUND when it was used
 * already, APR_ENOSPC (nothing written) when the owner has cap marks not
 * yet swept (0: no bound). */
apr_status_t st_pending_used_mark(orgs_store_t *st, MDB_txn *txn, const char *state,
                                  const char *owner_id, apr_time_t expires, apr_time_t now,
                                  apr_size_t cap, apr_pool_t *p, orgs_err_t *err);
/* pending.c */
kbuf_t *st_kb_pending_idx(kbuf_t *k, const unsigned char *browser, apr_time_t created,
                          const char *state);
kbuf_t *st_kb_pending_time(kbuf_t *k, apr_time_t created, const char *state);
/* Deletes the pending login of state; APR_NOTFOUND when it is gone. With
 * expect (a sign-in), only the login started for expect->org_id and
 * expect->conn_id (ORGS_EDENIED otherwise) and, when expect->ttl is set,
 * no older than that at expect->now (ORGS_EEXPIRED); without, whatever it
 * is and whatever its age. */
apr_status_t st_pending_consume(orgs_store_t *st, MDB_txn *txn, const char *state,
                                const orgs_signin_t *expect, apr_pool_t *p, orgs_err_t *err);
apr_status_t st_pending_load(orgs_store_t *st, MDB_txn *txn, const char *state,
                             orgs_pending_t **out, apr_pool_t *p, orgs_err_t *err);

/* quota.c: the tenant bounds of a sign-in (in->quota; none when NULL),
 * each APR_ENOSPC with in->over_quota set when exceeded. */
/* A user just inserted for conn_id: the connection's users and its new
 * users this minute (counted here). */
apr_status_t st_quota_new_user(orgs_store_t *st, MDB_txn *txn, orgs_signin_t *in,
                               const char *conn_id, orgs_err_t *err);
/* The connection's minute as the database counted it (a "new_users"
 * counter line of a PostgreSQL store): taken unless the replica holds a
 * later minute or a higher count of the same one. */
apr_status_t st_quota_throttle_merge(orgs_store_t *st, MDB_txn *txn, const char *conn_id,
                                     apr_time_t start, apr_uint64_t count, orgs_err_t *err);
/* An auto-membership join to in->org_id: the org's members. */
apr_status_t st_quota_join(orgs_store_t *st, MDB_txn *txn, orgs_signin_t *in, orgs_err_t *err);
/* A new session of in->org_id: the org's sessions. */
apr_status_t st_quota_session(orgs_store_t *st, MDB_txn *txn, orgs_signin_t *in, orgs_err_t *err);

/* invite.c */
/* max: the org's bound on open invitations (st_invite_room); 0 for none
 * (a replayed or imported record was bounded where it was made). */
apr_status_t st_invite_insert(orgs_store_t *st, MDB_txn *txn, orgs_invite_t *inv, apr_size_t max,
                              apr_pool_t *p, orgs_err_t *err);
/* The loaded invitation gone with its two indexes, without an audit record. */
apr_status_t st_invite_erase_loaded(orgs_store_t *st, MDB_txn *txn, const orgs_invite_t *inv,
                                    orgs_err_t *err);
/* invite_bound.c */
/* The bound in force (orgs_store_invite_set_max_per_org): 0 = none. */
apr_size_t st_invite_max(const orgs_store_t *st);
/* Room for one more invitation of org_id under max (0 = no bound): when the
 * org holds max, its invitations expired at now are deleted first (in txn);
 * APR_ENOSPC when it still holds max. */
apr_status_t st_invite_room(orgs_store_t *st, MDB_txn *txn, const char *org_id, apr_size_t max,
                            apr_time_t now, apr_pool_t *p, orgs_err_t *err);
apr_status_t st_invite_load(orgs_store_t *st, MDB_txn *txn, const char *id, orgs_invite_t **out,
                            apr_pool_t *p, orgs_err_t *err);
/* The loaded invitation inv gone, with its indexes and an audit record. */
apr_status_t st_invite_revoke(orgs_store_t *st, MDB_txn *txn, const orgs_invite_t *inv,
                              apr_pool_t *p, orgs_err_t *err);
/* The org's invitations with their indexes (the org cascade). */
apr_status_t st_invites_drop_org(orgs_store_t *st, MDB_txn *txn, const char *org_id, apr_pool_t *p,
                                 orgs_err_t *err);
/* The invitation in->invite followed by the sign-in of u to in->org_id:
 * accepted (*admitted ORGS_ADMIT_INVITED: the membership made or given the
 * roles, the invitation consumed) or refused (ORGS_ADMIT_INVITE_REFUSED,
 * in->invite_refused says why; nothing written). */
apr_status_t st_invite_accept(orgs_store_t *st, MDB_txn *txn, orgs_signin_t *in,
                              const orgs_user_t *u, int *admitted, apr_pool_t *p, orgs_err_t *err);

/* member.c */
apr_status_t st_role_add(orgs_store_t *st, MDB_txn *txn, const char *org_id, const char *user_id,
                         const apr_array_header_t *roles, apr_pool_t *p, orgs_err_t *err);

/* audit.c: appends a record of action (on org_id and target, each may be
 * NULL) by the thread's actor inside txn; steals before and after (JSON,
 * may be NULL). */
apr_status_t st_audit_add(orgs_store_t *st, MDB_txn *txn, const char *action, const char *org_id,
                          const char *target, json_t *before, json_t *after, apr_pool_t *p,
                          orgs_err_t *err);
/* audit_snap.c: the object a write changes, read before and after it. */
enum { ST_AUDIT_ORG, ST_AUDIT_CONN, ST_AUDIT_ENABLE, ST_AUDIT_MEMBER, ST_AUDIT_USER };
typedef struct {
    int kind;
    const char *ref1, *ref2;     /* ORG: org; CONN: conn; ENABLE: org, conn; MEMBER: org,
                                    user id; USER: user id */
    const char *org_id, *target; /* resolved */
    json_t *before;
} st_audit_snap_t;
void st_audit_begin(orgs_store_t *st, MDB_txn *txn, int kind, const char *ref1, const char *ref2,
                    st_audit_snap_t *a, apr_pool_t *p);
/* rv is the body's status: on success the record of action is added with
 * the object after it; otherwise nothing (rv returned). */
apr_status_t st_audit_end(orgs_store_t *st, MDB_txn *txn, const char *action, st_audit_snap_t *a,
                          apr_status_t rv, apr_pool_t *p, orgs_err_t *err);
/* audit_read.c: deletes the n oldest records (with their org index
 * entries) inside txn. */
apr_status_t st_audit_drop_oldest(orgs_store_t *st, MDB_txn *txn, apr_size_t n, apr_pool_t *p,
                                  orgs_err_t *err);
/* The thread's actor for this handle ("unknown" when none), in p. */
const char *st_actor_who(orgs_store_t *st, apr_pool_t *p);

/* stats.c: adds one to kind for org_id on now's day inside txn, dropping
 * a few of the org's days past ORGS_STORE_STATS_DAYS. */
apr_status_t st_stats_add(orgs_store_t *st, MDB_txn *txn, const char *org_id, int kind,
                          apr_time_t now, orgs_err_t *err);
/* An org's day as the database counted it (a "usage" counter line of a
 * PostgreSQL store): each counter the larger of the two, since the
 * database's only grows and a line may be applied late or twice. */
apr_status_t st_stats_merge(orgs_store_t *st, MDB_txn *txn, const char *org_id, apr_uint32_t day,
                            const apr_uint64_t counts[ORGS_STATS_KINDS], orgs_err_t *err);
/* The org's counters (the org cascade). */
apr_status_t st_stats_drop_org(orgs_store_t *st, MDB_txn *txn, const char *org_id, orgs_err_t *err);

/* The replica's seams (replica.c applies another copy's changes with
 * them): a record rewritten as the other copy has it, indexes moved; a
 * drop with its cascade. Defined beside their objects. */
apr_status_t st_org_rewrite(orgs_store_t *st, MDB_txn *txn, const orgs_org_t *old,
                            const orgs_org_t *o, apr_pool_t *p, orgs_err_t *err);
apr_status_t st_org_drop(orgs_store_t *st, MDB_txn *txn, const char *id, apr_pool_t *p,
                         orgs_err_t *err);
apr_status_t st_conn_rewrite(orgs_store_t *st, MDB_txn *txn, const orgs_conn_t *old,
                             const orgs_conn_t *c, const char *sealed, apr_pool_t *p,
                             orgs_err_t *err);
apr_status_t st_conn_drop(orgs_store_t *st, MDB_txn *txn, const char *id, apr_pool_t *p,
                          orgs_err_t *err);
apr_status_t st_user_rewrite(orgs_store_t *st, MDB_txn *txn, const orgs_user_t *old, orgs_user_t *u,
                             apr_pool_t *p, orgs_err_t *err);
apr_status_t st_member_rewrite(orgs_store_t *st, MDB_txn *txn, const orgs_member_t *m,
                               apr_pool_t *p, orgs_err_t *err);
apr_status_t st_invite_erase(orgs_store_t *st, MDB_txn *txn, const char *id, apr_pool_t *p,
                             orgs_err_t *err);

/* ---- capture mode (capture.c) ----------------------------------------- */

/* While a write runs in capture mode, the record writers note each object
 * they touch (user: id and connection id; member: org and user ids;
 * invite: id and org id; session: its hash); the change set is then read
 * from the same transaction: the object as it is now (put) or, when it is
 * gone, those (del: what the SQL row of the line needs). No-ops outside
 * capture mode. */
typedef struct st_capture_t st_capture_t;
/* Notes are by type and keys: user (id, connection id), member (org id,
 * user id), invite (id, org id), org (id, name), conn (id, name), enable
 * (org id, connection id), session (st_capture_note_session). */
void st_capture_note(orgs_store_t *st, const char *type, const char *a, const char *b);
/* An audit record (its final text) written while capturing: kept with
 * the capture, written on this node when the change is applied here. */
void st_capture_audit(orgs_store_t *st, const char *text);
/* A counter increment made while capturing (the usage of an org's day,
 * kind an orgs_stats_kind_t; a new user in its connection's minute, with
 * its limit): the change set carries it, the database counts it
 * (pg_count.c). */
void st_capture_count(orgs_store_t *st, const char *org_id, apr_int64_t day, int kind);
void st_capture_new_user(orgs_store_t *st, const char *conn_id, apr_time_t at, apr_size_t limit);
/* replica.c: a counter line ("usage", "new_users"), as the change log and
 * a rebuild's snapshot carry them, merged into the replica. */
apr_status_t st_counter_line_put(orgs_store_t *st, MDB_txn *txn, const json_t *j, orgs_err_t *err);
int st_counter_line_is(const json_t *j);
/* env.c: makes txn the transaction of every operation on st from this
 * thread (NULL ends it): a whole request captured in one transaction. */
void st_ambient_set(const orgs_store_t *st, MDB_txn *txn);
/* audit.c: an audit record captured elsewhere (st_capture_audit) written
 * here, under a new key (its time becomes the key's). */
apr_status_t st_audit_replay(orgs_store_t *st, MDB_txn *txn, const char *text, apr_pool_t *p,
                             orgs_err_t *err);
void st_capture_note_session(orgs_store_t *st, const unsigned char *hash);
/* An enablement by its key (org id, then connection id). */
void st_capture_note_enable(orgs_store_t *st, const char *key, apr_size_t len);
/* A session as a change-set line (type "session", sid_hash in hex) and
 * back; the line of a gone session keeps only its sid_hash. */
json_t *st_session_line(const unsigned char *hash, const orgs_session_t *s, const char *hint);
/* A session line written into the replica (st_session_put's rules); a
 * session whose membership or connection this replica does not hold (yet,
 * or any more) is skipped: the database accepted it, the replica will
 * follow. */
apr_status_t st_session_line_put(orgs_store_t *st, MDB_txn *txn, const json_t *j, apr_pool_t *p,
                                 orgs_err_t *err);
apr_status_t st_session_line_del(orgs_store_t *st, MDB_txn *txn, const json_t *j, apr_pool_t *p,
                                 orgs_err_t *err);
/* replica.c: a change set's lines applied inside txn, the position left
 * as it is (a node's own write, applied before the replicator reaches it:
 * the replicator applies it again in order, which changes nothing). */
apr_status_t st_change_apply(orgs_store_t *st, MDB_txn *txn, const char *change, apr_pool_t *p,
                             orgs_err_t *err);
/* replica.c: the position inside txn: every change of the log up to *seq
 * is in the replica, applied in order (-1: never filled). A node's own
 * writes applied ahead of the replicator (st_change_apply) do not move it. */
apr_status_t st_replica_seq(orgs_store_t *st, MDB_txn *txn, apr_int64_t *seq, apr_pool_t *p,
                            orgs_err_t *err);
/* replica.c: after a node's own change, written to the database as change
 * seq, was applied inside txn: when it is the next change of the log
 * (seq == the position + 1) the position moves to it, so the replicator
 * does not apply it (nor an older change of the same rows) again later.
 * Further ahead, the position stays (seq <= 0: nothing to do). */
apr_status_t st_replica_follow(orgs_store_t *st, MDB_txn *txn, apr_int64_t seq, apr_pool_t *p,
                               orgs_err_t *err);
/* capture.c: whether a capture computes a sign-in again, its pending
 * login consumed already (orgs_store_signin_recapture): the body does not
 * look for it. */
int st_capture_pending_taken(const orgs_store_t *st);
/* signin.c: the sign-in's body (orgs_store_signin_commit's transaction). */
apr_status_t st_signin_body(orgs_store_t *st, MDB_txn *txn, orgs_signin_t *in, orgs_user_t **user,
                            int *admitted, apr_pool_t *p, orgs_err_t *err);

#endif
