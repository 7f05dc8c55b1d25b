/* The org store on LMDB: one environment, one named database per relation
 * or index, every public operation one transaction (a write op commits only
 * when everything succeeded, so nothing is ever half written).
 *
 * Layout (keys -> values; ids are fixed length "xxx_" + 16 base62):
 *   meta             "version" -> decimal text
 *   orgs             org id -> JSON record
 *   org_names        name -> org id
 *   domains          domain -> org id
 *   conns            conn id -> JSON record (secret sealed, base64url)
 *   conn_names       name -> conn id
 *   enable           org id + conn id -> 1 byte auto-membership flag
 *   users            user id -> JSON record
 *   user_sub         conn id \0 sub -> user id
 *   user_email       email \0 user id -> ""
 *   user_conn_email  conn id \0 email \0 user id -> ""
 *   conn_users       conn id + user id -> ""
 *   members          packed user id (12) -> the user's memberships, one record
 *                    sorted by org id (format at mrec_t below)
 *   org_members      packed org id (12) -> packed user ids (DUPSORT, DUPFIXED)
 *   sessions         sid hash (32) -> binary record (format at session_encode)
 *   session_idx      org id + user id + sid hash -> ""
 *   session_hints    sid hash (32) -> the ID token kept for logout (read only there)
 *   pending          state -> JSON record
 *   pending_browser  browser hash (32) + created (8 bytes BE) + state -> ""
 *   pending_time     created (8 bytes BE) + state -> "" (oldest first: expiry)
 *   cache            key (or "#" + SHA-256 of a long key) -> fetched (8 LE) + value
 *   invites          invite id -> JSON record
 *   invite_org       org id + invite id -> ""
 *   audit            reserved
 *
 * Invariant: a session exists only while its membership does (session_put
 * requires the membership, member removal deletes the sessions), so every
 * cascade can reach sessions through session_idx. */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/fsuid.h>
#endif

#include <apr_hash.h>
#include <apr_strings.h>
#include <jansson.h>
#include <lmdb.h>

#include "parse.h"
#include "store.h"

#ifdef __clang_analyzer__
/* orgs_err_set (orgs.c) returns its rv; the analyzer cannot see that from
 * here and would follow every error path as if it had succeeded. */
#define orgs_err_set(err, rv, ...) (orgs_err_set((err), (rv), __VA_ARGS__), (rv))
#endif

#define ID_LEN (4 + ORGS_ID_CHARS)
#define HASH_LEN 32
#define KEY_MAX 511 /* LMDB's default maximum key size */
#define TEXT_MAX 1024
#define STATE_MIN 16
#define STATE_MAX 128
#define CACHE_KEY_RAW_MAX 400
#define RTXN_CACHE 8 /* reset read transactions kept per environment */
#define FULL_TEXT "store full: grow OrgsStoreMaxSize / orgctl --max-size"
#define PENDING_SWEEP 4          /* expired pending logins dropped by every put */
#define PENDING_SWEEP_FULL 256   /* per batch when the table is at its bound */
#define SESSION_PURGE_BATCH 1000 /* sessions deleted per purge transaction, at most */
#define SESSION_PURGE_SCAN 4000  /* session records read per purge transaction, at most */

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
    DB_COUNT
};

static const char *const db_names[DB_COUNT] = {
    "meta",    "orgs",        "org_names",  "domains",     "conns",           "conn_names",
    "enable",  "users",       "user_sub",   "user_email",  "user_conn_email", "conn_users",
    "members", "org_members", "sessions",   "session_idx", "pending",         "pending_browser",
    "cache",   "invites",     "invite_org", "audit",       "pending_time",    "session_hints",
};

struct orgs_store_t {
    MDB_env *env;
    MDB_dbi db[DB_COUNT];
    const orgs_crypto_keys_t *keys;
    apr_pool_t *pool;
    const char *dir;
    unsigned version;
    apr_size_t pending_max; /* global bound on pending logins */
    apr_size_t purge_batch; /* sessions deleted per purge transaction */
    apr_size_t purge_scan;  /* session records read per purge transaction */
    int has_pending_time;   /* 0: an older read-only store without that index */
    int has_session_hints;  /* 0: an older read-only store without that database */
    int threaded;           /* ORGS_STORE_THREADED: never remap in-process */
    /* Reset read transactions ready for mdb_txn_renew: with MDB_NOTLS any
     * thread may use one, so threads take and return them with atomic
     * exchanges. Each holds a reader slot, hence only a few. */
    _Atomic(MDB_txn *) rtxn[RTXN_CACHE];
};

#define DB(st, n) ((st)->db[DB_##n])

/* ---- errors and transactions ---------------------------------------- */

static apr_status_t mdb_fail(int rc, orgs_err_t *err, const char *what)
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

static apr_status_t txn_begin(orgs_store_t *st, unsigned flags, MDB_txn **txn, orgs_err_t *err)
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
        return mdb_fail(rc, err, "transaction");
    }
    return APR_SUCCESS;
}

/* Commits when rv is APR_SUCCESS, aborts otherwise; returns the final status. */
static apr_status_t txn_end(MDB_txn *txn, apr_status_t rv, orgs_err_t *err)
{
    if (rv != APR_SUCCESS) {
        mdb_txn_abort(txn);
        return rv;
    }
    int rc = mdb_txn_commit(txn);
    return rc == MDB_SUCCESS ? APR_SUCCESS : mdb_fail(rc, err, "commit");
}

/* A read transaction, renewed from the cache when one is free (the
 * per-request lookups then skip the reader table lock and the malloc). */
static apr_status_t rd_begin(orgs_store_t *st, MDB_txn **txn, orgs_err_t *err)
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
    return txn_begin(st, MDB_RDONLY, txn, err);
}

static void rd_end(orgs_store_t *st, MDB_txn *txn)
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

/* ---- keys ------------------------------------------------------------ */

typedef struct {
    char buf[KEY_MAX];
    size_t len;
    int over;
} kbuf_t;

static void kb_add(kbuf_t *kb, const void *d, size_t n)
{
    if (kb->over || n > sizeof(kb->buf) - kb->len) {
        kb->over = 1;
        return;
    }
    memcpy(kb->buf + kb->len, d, n);
    kb->len += n;
}

static void kb_str(kbuf_t *kb, const char *s)
{
    kb_add(kb, s, strlen(s));
}

static void kb_nul(kbuf_t *kb)
{
    kb_add(kb, "", 1);
}

static kbuf_t *kb1(kbuf_t *kb, const char *a)
{
    kb->len = 0;
    kb->over = 0;
    kb_str(kb, a);
    return kb;
}

static kbuf_t *kb2(kbuf_t *kb, const char *a, const char *b)
{
    kb1(kb, a);
    kb_str(kb, b);
    return kb;
}

static kbuf_t *kbraw(kbuf_t *kb, const void *d, size_t n)
{
    kb->len = 0;
    kb->over = 0;
    kb_add(kb, d, n);
    return kb;
}

static apr_status_t kv_get(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, MDB_val *v, orgs_err_t *err,
                           const char *what)
{
    if (k->over || k->len == 0) {
        return orgs_err_set(err, APR_NOTFOUND, "%s not found", what);
    }
    MDB_val key = {k->len, (void *)k->buf};
    int rc = mdb_get(txn, dbi, &key, v);
    return rc == MDB_SUCCESS ? APR_SUCCESS : mdb_fail(rc, err, what);
}

static apr_status_t kv_put(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, const void *d, size_t n,
                           unsigned flags, orgs_err_t *err, const char *what)
{
    if (k->over || k->len == 0) {
        return orgs_err_set(err, APR_EINVAL, "%s: key too long", what);
    }
    MDB_val key = {k->len, (void *)k->buf};
    MDB_val val = {n, (void *)d};
    int rc = mdb_put(txn, dbi, &key, &val, flags);
    return rc == MDB_SUCCESS ? APR_SUCCESS : mdb_fail(rc, err, what);
}

/* must_exist: APR_NOTFOUND when absent; otherwise absence is fine. */
static apr_status_t kv_del(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, int must_exist,
                           orgs_err_t *err, const char *what)
{
    if (k->over || k->len == 0) {
        return must_exist ? orgs_err_set(err, APR_NOTFOUND, "%s not found", what) : APR_SUCCESS;
    }
    MDB_val key = {k->len, (void *)k->buf};
    int rc = mdb_del(txn, dbi, &key, NULL);
    if (rc == MDB_NOTFOUND && !must_exist) {
        return APR_SUCCESS;
    }
    return rc == MDB_SUCCESS ? APR_SUCCESS : mdb_fail(rc, err, what);
}

/* ---- prefix iteration ------------------------------------------------ */

typedef struct {
    MDB_cursor *cur;
    MDB_val k, v;
    const char *pfx;
    size_t plen;
    int started;
    int rc;
} iter_t;

static apr_status_t iter_open(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *pfx, iter_t *it,
                              orgs_err_t *err)
{
    memset(it, 0, sizeof(*it));
    int rc = mdb_cursor_open(txn, dbi, &it->cur);
    if (rc != MDB_SUCCESS) {
        it->cur = NULL;
        return mdb_fail(rc, err, "cursor");
    }
    if (pfx) {
        it->pfx = pfx->buf;
        it->plen = pfx->len;
    }
    return APR_SUCCESS;
}

static int iter_next(iter_t *it)
{
    int rc;
    if (!it->started) {
        it->started = 1;
        if (it->plen) {
            it->k.mv_data = (void *)it->pfx;
            it->k.mv_size = it->plen;
            rc = mdb_cursor_get(it->cur, &it->k, &it->v, MDB_SET_RANGE);
        } else {
            rc = mdb_cursor_get(it->cur, &it->k, &it->v, MDB_FIRST);
        }
    } else {
        rc = mdb_cursor_get(it->cur, &it->k, &it->v, MDB_NEXT);
    }
    if (rc != MDB_SUCCESS) {
        if (rc != MDB_NOTFOUND) {
            it->rc = rc;
        }
        return 0;
    }
    if (it->plen && (it->k.mv_size < it->plen || memcmp(it->k.mv_data, it->pfx, it->plen) != 0)) {
        return 0;
    }
    return 1;
}

static apr_status_t iter_close(iter_t *it, orgs_err_t *err)
{
    if (it->cur) {
        mdb_cursor_close(it->cur);
        it->cur = NULL;
    }
    return it->rc ? mdb_fail(it->rc, err, "cursor") : APR_SUCCESS;
}

typedef struct {
    char *k; /* NUL-terminated copies */
    size_t klen;
    char *v;
    size_t vlen;
} blob_t;

/* Copies the entries under pfx (all when NULL) into p, so the caller may
 * delete while walking them. */
static apr_status_t collect(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *pfx, apr_array_header_t **out,
                            apr_pool_t *p, orgs_err_t *err)
{
    iter_t it;
    apr_status_t rv = iter_open(txn, dbi, pfx, &it, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = apr_array_make(p, 8, sizeof(blob_t));
    while (iter_next(&it)) {
        blob_t *b = apr_array_push(*out);
        b->klen = it.k.mv_size;
        b->k = apr_pstrmemdup(p, it.k.mv_data, it.k.mv_size);
        b->vlen = it.v.mv_size;
        b->v = apr_pstrmemdup(p, it.v.mv_data, it.v.mv_size);
    }
    return iter_close(&it, err);
}

/* ---- small helpers --------------------------------------------------- */

/* Ids in membership keys and records are packed: each of the 16 base62
 * characters after the prefix becomes its digit value (0..61) in 6 bits,
 * most significant first, so 16 * 6 = 96 bits = 12 bytes instead of 20 and
 * binary order is the text order (listings keep their order). No
 * arithmetic: the hot lookup packs two ids per call. */
#define ID_BIN 12

static const char b62_digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* digit value + 1 of a base62 character, 0 for anything else */
static const unsigned char b62_code[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9,  ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
    ['G'] = 17, ['H'] = 18, ['I'] = 19, ['J'] = 20, ['K'] = 21, ['L'] = 22, ['M'] = 23, ['N'] = 24,
    ['O'] = 25, ['P'] = 26, ['Q'] = 27, ['R'] = 28, ['S'] = 29, ['T'] = 30, ['U'] = 31, ['V'] = 32,
    ['W'] = 33, ['X'] = 34, ['Y'] = 35, ['Z'] = 36, ['a'] = 37, ['b'] = 38, ['c'] = 39, ['d'] = 40,
    ['e'] = 41, ['f'] = 42, ['g'] = 43, ['h'] = 44, ['i'] = 45, ['j'] = 46, ['k'] = 47, ['l'] = 48,
    ['m'] = 49, ['n'] = 50, ['o'] = 51, ['p'] = 52, ['q'] = 53, ['r'] = 54, ['s'] = 55, ['t'] = 56,
    ['u'] = 57, ['v'] = 58, ['w'] = 59, ['x'] = 60, ['y'] = 61, ['z'] = 62,
};

/* 1 and out filled if s is prefix + 16 base62 characters; else 0. */
static int id_pack(const char *s, const char *prefix, unsigned char out[ID_BIN])
{
    if (!s || strnlen(s, ID_LEN + 1) != ID_LEN || memcmp(s, prefix, 4) != 0) {
        return 0;
    }
    const unsigned char *c = (const unsigned char *)s + 4;
    apr_uint64_t hi = 0, lo = 0;
    unsigned ok = 1;
    for (int i = 0; i < 8; i++) { /* no branch per character */
        unsigned ch = b62_code[c[i]], cl = b62_code[c[8 + i]];
        ok &= (ch != 0) & (cl != 0);
        hi = hi << 6 | ((ch - 1) & 63);
        lo = lo << 6 | ((cl - 1) & 63);
    }
    for (int b = 0; b < 6; b++) {
        out[b] = (unsigned char)(hi >> (40 - 8 * b));
        out[6 + b] = (unsigned char)(lo >> (40 - 8 * b));
    }
    return (int)ok;
}

/* The text id of a packed one; 0 if a 6-bit group is no base62 digit. */
static int id_unpack(const unsigned char *in, const char *prefix, char out[ID_LEN + 1])
{
    memcpy(out, prefix, 4);
    for (int h = 0; h < 2; h++) {
        apr_uint64_t v = 0;
        for (int b = 0; b < 6; b++) {
            v = v << 8 | in[6 * h + b];
        }
        for (int i = 7; i >= 0; i--, v >>= 6) {
            if ((v & 63) >= 62) {
                return 0;
            }
            out[4 + 8 * h + i] = b62_digits[v & 63];
        }
    }
    out[ID_LEN] = '\0';
    return 1;
}

static int is_id(const char *s, const char *prefix)
{
    unsigned char bin[ID_BIN];
    return id_pack(s, prefix, bin);
}

/* Printable ASCII text of 1..max bytes; spaces allowed when spaces != 0. */
static apr_status_t check_text(const char *s, size_t max, int spaces, const char *what,
                               orgs_err_t *err)
{
    if (!s || !*s) {
        return orgs_err_set(err, APR_EINVAL, "%s is empty", what);
    }
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++, n++) {
        if (*c > 0x7e || *c < 0x20 || (*c == ' ' && !spaces)) {
            return orgs_err_set(err, APR_EINVAL, "%s has a forbidden character", what);
        }
    }
    if (n > max) {
        return orgs_err_set(err, APR_EINVAL, "%s is longer than %zu bytes", what, max);
    }
    return APR_SUCCESS;
}

static void put_u64le(unsigned char *b, apr_uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(v >> (8 * i));
    }
}

static apr_uint64_t get_u64le(const unsigned char *b)
{
    apr_uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | b[i];
    }
    return v;
}

static void put_u64be(unsigned char *b, apr_uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        b[7 - i] = (unsigned char)(v >> (8 * i));
    }
}

static apr_uint64_t get_u64be(const unsigned char *b)
{
    apr_uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | b[i];
    }
    return v;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(((const orgs_kv_t *)a)->key, ((const orgs_kv_t *)b)->key);
}

static int array_has(const apr_array_header_t *a, const char *s)
{
    for (int i = 0; a && i < a->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(a, i, const char *), s) == 0) {
            return 1;
        }
    }
    return 0;
}

/* ---- JSON records ---------------------------------------------------- */

/* 0 when set (or v is NULL), -1 when v is not valid UTF-8. */
static int jset_str(json_t *o, const char *k, const char *v)
{
    if (!v) {
        return 0;
    }
    json_t *s = json_string(v);
    return s ? json_object_set_new(o, k, s) : -1;
}

static int jset_int(json_t *o, const char *k, apr_int64_t v)
{
    return json_object_set_new(o, k, json_integer((json_int_t)v));
}

/* A copy in p, or NULL when absent, not a string or with an inner NUL. */
static const char *jget_str(const json_t *o, const char *k, apr_pool_t *p)
{
    json_t *s = json_object_get(o, k);
    if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s)) {
        return NULL;
    }
    return apr_pstrmemdup(p, json_string_value(s), json_string_length(s));
}

static apr_time_t jget_int(const json_t *o, const char *k)
{
    json_t *i = json_object_get(o, k);
    return json_is_integer(i) ? (apr_time_t)json_integer_value(i) : 0;
}

static json_t *jstr_array(const apr_array_header_t *a)
{
    json_t *arr = json_array();
    for (int i = 0; arr && a && i < a->nelts; i++) {
        if (json_array_append_new(arr, json_string(APR_ARRAY_IDX(a, i, const char *)))) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* NULL when the member is neither absent nor an array of strings. */
static apr_array_header_t *jget_str_array(const json_t *o, const char *k, apr_pool_t *p)
{
    json_t *arr = json_object_get(o, k);
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));
    if (!arr) {
        return out;
    }
    if (!json_is_array(arr)) {
        return NULL;
    }
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v)) {
            return NULL;
        }
        APR_ARRAY_PUSH(out, const char *) = apr_pstrdup(p, json_string_value(v));
    }
    return out;
}

/* Steals j (may be NULL: encoding failed). */
static apr_status_t put_json(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, json_t *j, unsigned flags,
                             orgs_err_t *err, const char *what)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) {
        return orgs_err_set(err, APR_EINVAL, "%s: cannot encode record (invalid UTF-8?)", what);
    }
    apr_status_t rv = kv_put(txn, dbi, k, s, strlen(s), flags, err, what);
    free(s);
    return rv;
}

/* The JSON object in v (a record read from the map). */
static apr_status_t json_of(const MDB_val *v, json_t **out, orgs_err_t *err, const char *what)
{
    *out = json_loadb(v->mv_data, v->mv_size, 0, NULL);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return orgs_err_set(err, ORGS_ESTORE, "%s: corrupt record", what);
    }
    return APR_SUCCESS;
}

static apr_status_t get_json(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, json_t **out,
                             orgs_err_t *err, const char *what)
{
    MDB_val v;
    apr_status_t rv = kv_get(txn, dbi, k, &v, err, what);
    return rv == APR_SUCCESS ? json_of(&v, out, err, what) : rv;
}

/* ---- a fast reader for the usual record ------------------------------
 * The organization and user records are read on every request, and
 * jansson spends most of that request's time on them. Records are written
 * by json_dumps(JSON_COMPACT): a flat object whose values are strings,
 * integers, arrays of strings or objects of strings. This reader accepts
 * only that much (no whitespace, no \u escapes, no reals, true, false or
 * null, no repeated names; UTF-8 checked as strictly as jansson does) and
 * answers 0 for anything else, and the caller then decodes with jansson:
 * both give the same result, the reader only faster. */

typedef enum { FJ_STR, FJ_INT, FJ_STRS, FJ_OBJ } fj_kind_t;

typedef struct {
    const char *key;
    fj_kind_t kind;
    const char *str;           /* FJ_STR */
    apr_int64_t num;           /* FJ_INT */
    apr_array_header_t *items; /* FJ_STRS: const char *; FJ_OBJ: orgs_kv_t */
} fj_member_t;

typedef struct {
    const unsigned char *c, *end;
    apr_pool_t *p;
} fj_t;

/* Bytes of the valid UTF-8 sequence at c (not ASCII), 0 if invalid. */
static size_t fj_utf8(const unsigned char *c, const unsigned char *end)
{
    size_t n = *c >= 0xc2 && *c <= 0xdf   ? 2
               : *c >= 0xe0 && *c <= 0xef ? 3
               : *c >= 0xf0 && *c <= 0xf4 ? 4
                                          : 0;
    if (n == 0 || (size_t)(end - c) < n) {
        return 0;
    }
    apr_uint32_t u = *c & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((c[i] & 0xc0) != 0x80) {
            return 0;
        }
        u = u << 6 | (c[i] & 0x3f);
    }
    if ((n == 3 && (u < 0x800 || (u >= 0xd800 && u <= 0xdfff))) ||
        (n == 4 && (u < 0x10000 || u > 0x10ffff))) {
        return 0;
    }
    return n;
}

/* A string (at its opening quote) copied into p; NULL if not accepted. */
static const char *fj_str(fj_t *f)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (f->c >= f->end || *f->c != '"') {
        return NULL;
    }
    const unsigned char *s = ++f->c, *q = s;
    size_t esc = 0;
    while (q < f->end && *q != '"') {
        if (*q == '\\') {
            if (q + 1 >= f->end || !q[1] || !strchr(from, q[1])) {
                return NULL;
            }
            esc++;
            q += 2;
        } else if (*q < 0x20) {
            return NULL;
        } else if (*q >= 0x80) {
            size_t n = fj_utf8(q, f->end);
            if (!n) {
                return NULL;
            }
            q += n;
        } else {
            q++;
        }
    }
    if (q >= f->end) {
        return NULL;
    }
    size_t len = (size_t)(q - s) - esc;
    char *out = apr_palloc(f->p, len + 1);
    if (!esc) {
        memcpy(out, s, len);
    } else {
        char *o = out;
        for (const unsigned char *i = s; i < q; i++) {
            *o++ = *i == '\\' ? to[strchr(from, *++i) - from] : (char)*i;
        }
    }
    out[len] = '\0';
    f->c = q + 1;
    return out;
}

/* An integer jansson would take as such (no real, no overflow). */
static int fj_int(fj_t *f, apr_int64_t *out)
{
    int neg = f->c < f->end && *f->c == '-';
    const unsigned char *d = f->c + neg, *q = d;
    apr_int64_t v = 0;
    while (q < f->end && *q >= '0' && *q <= '9' && q - d < 18) {
        v = v * 10 + (*q++ - '0');
    }
    if (q == d || (*d == '0' && q - d > 1) ||
        (q < f->end && ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E'))) {
        return 0;
    }
    *out = neg ? -v : v;
    f->c = q;
    return 1;
}

static int fj_eat(fj_t *f, unsigned char ch)
{
    if (f->c < f->end && *f->c == ch) {
        f->c++;
        return 1;
    }
    return 0;
}

/* [ "a", "b" ] or { "k": "v" } (obj), at the opening bracket. */
static apr_array_header_t *fj_list(fj_t *f, int obj)
{
    apr_array_header_t *a = apr_array_make(f->p, 4, obj ? sizeof(orgs_kv_t) : sizeof(char *));
    f->c++;
    if (fj_eat(f, obj ? '}' : ']')) {
        return a;
    }
    do {
        const char *k = fj_str(f), *v = k;
        if (k && obj) {
            v = fj_eat(f, ':') ? fj_str(f) : NULL;
            for (int i = 0; v && i < a->nelts; i++) {
                v = strcmp(APR_ARRAY_IDX(a, i, orgs_kv_t).key, k) ? v : NULL;
            }
        }
        if (!v) {
            return NULL;
        }
        if (obj) {
            orgs_kv_t *kv = apr_array_push(a);
            kv->key = k;
            kv->value = v;
        } else {
            APR_ARRAY_PUSH(a, const char *) = v;
        }
    } while (fj_eat(f, ','));
    return fj_eat(f, obj ? '}' : ']') ? a : NULL;
}

/* The members of the record in v; 0 if it is not of the accepted shape. */
static int fj_record(const MDB_val *v, fj_member_t *m, int max, int *n, apr_pool_t *p)
{
    fj_t f = {v->mv_data, (const unsigned char *)v->mv_data + v->mv_size, p};
    *n = 0;
    if (!fj_eat(&f, '{')) {
        return 0;
    }
    if (fj_eat(&f, '}')) {
        return f.c == f.end;
    }
    do {
        fj_member_t *e = &m[*n];
        if (*n == max || !(e->key = fj_str(&f)) || !fj_eat(&f, ':') || f.c == f.end) {
            return 0;
        }
        for (int i = 0; i < *n; i++) {
            if (strcmp(m[i].key, e->key) == 0) {
                return 0;
            }
        }
        if (*f.c == '"') {
            e->kind = FJ_STR;
            e->str = fj_str(&f);
        } else if (*f.c == '[' || *f.c == '{') {
            e->kind = *f.c == '[' ? FJ_STRS : FJ_OBJ;
            e->items = fj_list(&f, *f.c == '{');
            e->str = e->items ? "" : NULL;
        } else {
            e->kind = FJ_INT;
            e->str = fj_int(&f, &e->num) ? "" : NULL;
        }
        if (!e->str) {
            return 0;
        }
        (*n)++;
    } while (fj_eat(&f, ','));
    return fj_eat(&f, '}') && f.c == f.end;
}

#define FJ_MAX 16 /* members of a record the reader takes */

/* The field of key among names, NULL if none. */
static void *fj_field(const char *key, const char *const *names, void *const *fields)
{
    for (int i = 0; names[i]; i++) {
        if (strcmp(key, names[i]) == 0) {
            return fields[i];
        }
    }
    return NULL;
}

/* ---- validation and normalization ------------------------------------ */

static apr_status_t meta_normalize(const apr_array_header_t *in, apr_array_header_t **out,
                                   apr_pool_t *p, orgs_err_t *err)
{
    apr_array_header_t *m = apr_array_make(p, in ? in->nelts : 1, sizeof(orgs_kv_t));
    for (int i = 0; in && i < in->nelts; i++) {
        const orgs_kv_t *kv = &APR_ARRAY_IDX(in, i, orgs_kv_t);
        apr_status_t rv = orgs_parse_meta_key(kv->key, err);
        if (rv == APR_SUCCESS) {
            rv = orgs_parse_meta_value(kv->value, err);
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        int j;
        for (j = 0; j < m->nelts; j++) {
            if (strcmp(APR_ARRAY_IDX(m, j, orgs_kv_t).key, kv->key) == 0) {
                break; /* later pairs win */
            }
        }
        orgs_kv_t *dst = j < m->nelts ? &APR_ARRAY_IDX(m, j, orgs_kv_t) : apr_array_push(m);
        dst->key = apr_pstrdup(p, kv->key);
        dst->value = apr_pstrdup(p, kv->value);
    }
    if (m->nelts > ORGS_META_MAX_PAIRS) {
        return orgs_err_set(err, APR_ENOSPC, "more than %d metadata pairs", ORGS_META_MAX_PAIRS);
    }
    qsort(m->elts, m->nelts, sizeof(orgs_kv_t), cmp_kv);
    *out = m;
    return APR_SUCCESS;
}

static apr_status_t domains_normalize(const apr_array_header_t *in, apr_array_header_t **out,
                                      apr_pool_t *p, orgs_err_t *err)
{
    apr_array_header_t *d = apr_array_make(p, in ? in->nelts : 1, sizeof(const char *));
    for (int i = 0; in && i < in->nelts; i++) {
        char *dom;
        apr_status_t rv = orgs_parse_domain(APR_ARRAY_IDX(in, i, const char *), &dom, p, err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (!array_has(d, dom)) {
            APR_ARRAY_PUSH(d, const char *) = dom;
        }
    }
    if (d->nelts > ORGS_DOMAINS_MAX) {
        return orgs_err_set(err, APR_ENOSPC, "more than %d domains", ORGS_DOMAINS_MAX);
    }
    qsort(d->elts, d->nelts, sizeof(const char *), cmp_str);
    *out = d;
    return APR_SUCCESS;
}

static apr_status_t roles_normalize(const apr_array_header_t *in, apr_array_header_t **out,
                                    apr_pool_t *p, orgs_err_t *err)
{
    apr_array_header_t *r = apr_array_make(p, in ? in->nelts : 1, sizeof(const char *));
    for (int i = 0; in && i < in->nelts; i++) {
        const char *role = APR_ARRAY_IDX(in, i, const char *);
        apr_status_t rv = orgs_parse_role(role, err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (!array_has(r, role)) {
            APR_ARRAY_PUSH(r, const char *) = apr_pstrdup(p, role);
        }
    }
    if (r->nelts > ORGS_ROLES_MAX) {
        return orgs_err_set(err, APR_ENOSPC, "more than %d roles", ORGS_ROLES_MAX);
    }
    qsort(r->elts, r->nelts, sizeof(const char *), cmp_str);
    *out = r;
    return APR_SUCCESS;
}

static apr_status_t email_normalize(const char *email, const char **out, apr_pool_t *p,
                                    orgs_err_t *err)
{
    char *e;
    const char *dom;
    if (!email) {
        *out = NULL;
        return APR_SUCCESS;
    }
    apr_status_t rv = orgs_parse_email(email, &e, &dom, p, err);
    if (rv == APR_SUCCESS && strlen(e) > ORGS_EMAIL_MAX) {
        rv = orgs_err_set(err, APR_EINVAL, "email longer than %d bytes", ORGS_EMAIL_MAX);
    }
    *out = e;
    return rv;
}

/* ---- organizations: records and indexes ------------------------------ */

static json_t *org_json(const orgs_org_t *o)
{
    json_t *j = json_object(), *m = json_object(), *d = jstr_array(o->domains);
    int bad = !j || !m || !d;
    bad = bad || jset_str(j, "id", o->id) || jset_str(j, "name", o->name) ||
          jset_str(j, "display_name", o->display_name) || jset_int(j, "created", o->created) ||
          jset_int(j, "updated", o->updated);
    for (int i = 0; !bad && o->meta && i < o->meta->nelts; i++) {
        const orgs_kv_t *kv = &APR_ARRAY_IDX(o->meta, i, orgs_kv_t);
        bad = json_object_set_new(m, kv->key, json_string(kv->value)) != 0;
    }
    if (bad) {
        json_decref(j);
        json_decref(m);
        json_decref(d);
        return NULL;
    }
    int r1 = json_object_set_new(j, "meta", m);
    int r2 = json_object_set_new(j, "domains", d);
    if (r1 || r2) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* Shape only; org_validate checks the values. */
static apr_status_t org_parse(const json_t *j, orgs_org_t **out, apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o = apr_pcalloc(p, sizeof(*o));
    o->id = jget_str(j, "id", p);
    o->name = jget_str(j, "name", p);
    o->display_name = jget_str(j, "display_name", p);
    o->created = jget_int(j, "created");
    o->updated = jget_int(j, "updated");
    o->domains = jget_str_array(j, "domains", p);
    o->meta = apr_array_make(p, 4, sizeof(orgs_kv_t));
    json_t *m = json_object_get(j, "meta"), *v;
    const char *k;
    if (!o->id || !o->name || !o->domains || (m && !json_is_object(m))) {
        return orgs_err_set(err, APR_EINVAL, "malformed organization record");
    }
    json_object_foreach(m, k, v)
    {
        if (!json_is_string(v)) {
            return orgs_err_set(err, APR_EINVAL, "malformed metadata '%s'", k);
        }
        orgs_kv_t *kv = apr_array_push(o->meta);
        kv->key = apr_pstrdup(p, k);
        kv->value = apr_pstrdup(p, json_string_value(v));
    }
    qsort(o->meta->elts, o->meta->nelts, sizeof(orgs_kv_t), cmp_kv);
    *out = o;
    return APR_SUCCESS;
}

/* Validates and normalizes o in place (meta and domains become sorted copies). */
static apr_status_t org_validate(orgs_org_t *o, apr_pool_t *p, orgs_err_t *err)
{
    if (!is_id(o->id, "org_")) {
        return orgs_err_set(err, APR_EINVAL, "bad organization id");
    }
    apr_status_t rv = orgs_parse_slug(o->name, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!o->display_name) {
        o->display_name = o->name;
    }
    if ((rv = orgs_parse_display_name(o->display_name, err)) != APR_SUCCESS ||
        (rv = meta_normalize(o->meta, &o->meta, p, err)) != APR_SUCCESS ||
        (rv = domains_normalize(o->domains, &o->domains, p, err)) != APR_SUCCESS) {
        return rv;
    }
    return APR_SUCCESS;
}

static apr_status_t org_write(orgs_store_t *st, MDB_txn *txn, const orgs_org_t *o, unsigned flags,
                              orgs_err_t *err)
{
    kbuf_t k;
    apr_status_t rv =
        put_json(txn, DB(st, ORGS), kb1(&k, o->id), org_json(o), flags, err, "organization");
    if (rv == APR_EEXIST) {
        orgs_err_set(err, rv, "organization id '%s' already exists", o->id);
    }
    return rv;
}

static apr_status_t org_index(orgs_store_t *st, MDB_txn *txn, const orgs_org_t *o, int add,
                              orgs_err_t *err)
{
    kbuf_t k;
    apr_status_t rv;
    kb1(&k, o->name);
    if (add) {
        rv = kv_put(txn, DB(st, ORG_NAMES), &k, o->id, ID_LEN, MDB_NOOVERWRITE, err, "name");
        if (rv == APR_EEXIST) {
            return orgs_err_set(err, rv, "organization name '%s' is taken", o->name);
        }
    } else {
        rv = kv_del(txn, DB(st, ORG_NAMES), &k, 0, err, "name");
    }
    for (int i = 0; rv == APR_SUCCESS && o->domains && i < o->domains->nelts; i++) {
        const char *d = APR_ARRAY_IDX(o->domains, i, const char *);
        kb1(&k, d);
        if (add) {
            rv = kv_put(txn, DB(st, DOMAINS), &k, o->id, ID_LEN, MDB_NOOVERWRITE, err, "domain");
            if (rv == APR_EEXIST) {
                return orgs_err_set(err, rv, "domain '%s' belongs to another organization", d);
            }
        } else {
            rv = kv_del(txn, DB(st, DOMAINS), &k, 0, err, "domain");
        }
    }
    return rv;
}

/* org_parse without jansson for a record of the usual shape: 1 and *out
 * then, else 0 (and the caller uses org_parse). */
static int org_fast(const MDB_val *v, orgs_org_t **out, apr_pool_t *p)
{
    static const char *const strs[] = {"id", "name", "display_name", NULL};
    static const char *const nums[] = {"created", "updated", NULL};
    fj_member_t m[FJ_MAX];
    int n;
    if (!fj_record(v, m, FJ_MAX, &n, p)) {
        return 0;
    }
    orgs_org_t *o = apr_pcalloc(p, sizeof(*o));
    void *const str_fields[] = {&o->id, &o->name, &o->display_name};
    void *const num_fields[] = {&o->created, &o->updated};
    for (int i = 0; i < n; i++) {
        const char **str = fj_field(m[i].key, strs, str_fields);
        apr_time_t *num = fj_field(m[i].key, nums, num_fields);
        int is_domains = strcmp(m[i].key, "domains") == 0, is_meta = strcmp(m[i].key, "meta") == 0;
        if ((str && m[i].kind != FJ_STR) || (num && m[i].kind != FJ_INT) ||
            (is_domains && m[i].kind != FJ_STRS) || (is_meta && m[i].kind != FJ_OBJ)) {
            return 0; /* org_parse decides */
        }
        if (str) {
            *str = m[i].str;
        } else if (num) {
            *num = (apr_time_t)m[i].num;
        } else if (is_domains) {
            o->domains = m[i].items;
        } else if (is_meta) {
            o->meta = m[i].items;
        }
    }
    if (!o->id || !o->name) {
        return 0;
    }
    o->domains = o->domains ? o->domains : apr_array_make(p, 4, sizeof(const char *));
    o->meta = o->meta ? o->meta : apr_array_make(p, 4, sizeof(orgs_kv_t));
    qsort(o->meta->elts, o->meta->nelts, sizeof(orgs_kv_t), cmp_kv);
    *out = o;
    return 1;
}

static apr_status_t org_load(orgs_store_t *st, MDB_txn *txn, const char *id, orgs_org_t **out,
                             apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    json_t *j;
    MDB_val v;
    if (!is_id(id, "org_")) {
        return orgs_err_set(err, APR_NOTFOUND, "organization not found");
    }
    apr_status_t rv = kv_get(txn, DB(st, ORGS), kb1(&k, id), &v, err, "organization");
    if (rv != APR_SUCCESS || org_fast(&v, out, p)) {
        return rv;
    }
    if ((rv = json_of(&v, &j, err, "organization")) != APR_SUCCESS) {
        return rv;
    }
    rv = org_parse(j, out, p, err);
    json_decref(j);
    return rv == APR_SUCCESS ? rv : orgs_err_set(err, ORGS_ESTORE, "corrupt organization %s", id);
}

/* Name or id -> record. */
static apr_status_t org_find(orgs_store_t *st, MDB_txn *txn, const char *ref, orgs_org_t **out,
                             apr_pool_t *p, orgs_err_t *err)
{
    if (!ref || !*ref) {
        return orgs_err_set(err, APR_EINVAL, "no organization given");
    }
    if (strncmp(ref, "org_", 4) == 0) {
        apr_status_t rv = org_load(st, txn, ref, out, p, err);
        return rv == APR_NOTFOUND ? orgs_err_set(err, rv, "organization '%s' not found", ref) : rv;
    }
    kbuf_t k;
    MDB_val v;
    apr_status_t rv = kv_get(txn, DB(st, ORG_NAMES), kb1(&k, ref), &v, err, "organization");
    if (rv == APR_NOTFOUND) {
        return orgs_err_set(err, rv, "organization '%s' not found", ref);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return org_load(st, txn, apr_pstrmemdup(p, v.mv_data, v.mv_size), out, p, err);
}

/* ---- connections: records and indexes -------------------------------- */

static json_t *conn_json(const orgs_conn_t *c, const char *sealed)
{
    json_t *j = json_object();
    if (!j || jset_str(j, "id", c->id) || jset_str(j, "name", c->name) ||
        jset_str(j, "display_name", c->display_name) || jset_str(j, "issuer", c->issuer) ||
        jset_str(j, "client_id", c->client_id) || jset_str(j, "secret", sealed) ||
        jset_str(j, "scopes", c->scopes) || jset_str(j, "auth_method", c->auth_method) ||
        jset_int(j, "created", c->created) || jset_int(j, "updated", c->updated)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static apr_status_t conn_parse(const json_t *j, orgs_conn_t **out, const char **sealed,
                               apr_pool_t *p, orgs_err_t *err)
{
    orgs_conn_t *c = apr_pcalloc(p, sizeof(*c));
    c->id = jget_str(j, "id", p);
    c->name = jget_str(j, "name", p);
    c->display_name = jget_str(j, "display_name", p);
    c->issuer = jget_str(j, "issuer", p);
    c->client_id = jget_str(j, "client_id", p);
    c->scopes = jget_str(j, "scopes", p);
    c->auth_method = jget_str(j, "auth_method", p);
    c->created = jget_int(j, "created");
    c->updated = jget_int(j, "updated");
    *sealed = jget_str(j, "secret", p);
    if (!c->id || !c->name) {
        return orgs_err_set(err, APR_EINVAL, "malformed connection record");
    }
    *out = c;
    return APR_SUCCESS;
}

static apr_status_t conn_validate(orgs_conn_t *c, orgs_err_t *err)
{
    apr_status_t rv;
    if (!is_id(c->id, "con_")) {
        return orgs_err_set(err, APR_EINVAL, "bad connection id");
    }
    if ((rv = orgs_parse_slug(c->name, err)) != APR_SUCCESS) {
        return rv;
    }
    if (!c->display_name) {
        c->display_name = c->name;
    }
    if (!c->scopes) {
        c->scopes = "openid email profile";
    }
    if (!c->auth_method) {
        c->auth_method = "client_secret_basic";
    }
    if (!c->issuer) {
        return orgs_err_set(err, APR_EINVAL, "connection needs an issuer");
    }
    if ((rv = orgs_parse_display_name(c->display_name, err)) != APR_SUCCESS ||
        (rv = orgs_parse_issuer_url(c->issuer, err)) != APR_SUCCESS ||
        (rv = check_text(c->client_id, 255, 0, "client id", err)) != APR_SUCCESS ||
        (rv = check_text(c->scopes, TEXT_MAX, 1, "scopes", err)) != APR_SUCCESS) {
        return rv;
    }
    const char *sc = c->scopes;
    size_t n = strlen("openid");
    int has_openid = 0;
    while (*sc) {
        size_t len = strcspn(sc, " ");
        has_openid |= (len == n && strncmp(sc, "openid", n) == 0);
        sc += len + (sc[len] == ' ');
    }
    if (!has_openid) {
        return orgs_err_set(err, APR_EINVAL, "scopes must include 'openid'");
    }
    if (strcmp(c->auth_method, "client_secret_basic") != 0 &&
        strcmp(c->auth_method, "client_secret_post") != 0) {
        return orgs_err_set(err, APR_EINVAL,
                            "auth method must be client_secret_basic or "
                            "client_secret_post");
    }
    if (c->client_secret &&
        (rv = check_text(c->client_secret, TEXT_MAX, 1, "client secret", err)) != APR_SUCCESS) {
        return rv;
    }
    return APR_SUCCESS;
}

static apr_status_t conn_seal(orgs_store_t *st, const orgs_conn_t *c, const char **sealed,
                              apr_pool_t *p, orgs_err_t *err)
{
    unsigned char *ct;
    apr_size_t ctlen;
    *sealed = NULL;
    if (!c->client_secret) {
        return APR_SUCCESS;
    }
    if (!st->keys) {
        return orgs_err_set(err, ORGS_ENOKEY, "a connection secret needs the crypto key");
    }
    apr_status_t rv =
        orgs_crypto_seal(st->keys->secrets, c->client_secret, strlen(c->client_secret), c->id,
                         strlen(c->id), &ct, &ctlen, p, err);
    if (rv == APR_SUCCESS) {
        *sealed = orgs_crypto_b64url_encode(ct, ctlen, p);
    }
    return rv;
}

static apr_status_t conn_unseal(orgs_store_t *st, orgs_conn_t *c, const char *sealed, apr_pool_t *p,
                                orgs_err_t *err)
{
    unsigned char *ct, *pt;
    apr_size_t ctlen, ptlen;
    if (!sealed) {
        return APR_SUCCESS;
    }
    if (!st->keys) {
        return orgs_err_set(err, ORGS_ENOKEY, "a connection secret needs the crypto key");
    }
    if (orgs_crypto_b64url_decode(sealed, strlen(sealed), &ct, &ctlen, p) != APR_SUCCESS) {
        return orgs_err_set(err, ORGS_ECRYPTO, "connection secret is not sealed data");
    }
    apr_status_t rv =
        orgs_crypto_open(st->keys->secrets, ct, ctlen, c->id, strlen(c->id), &pt, &ptlen, p, err);
    if (rv == APR_SUCCESS) {
        c->client_secret = (const char *)pt;
    }
    return rv;
}

static apr_status_t conn_write(orgs_store_t *st, MDB_txn *txn, const orgs_conn_t *c,
                               const char *sealed, unsigned flags, orgs_err_t *err)
{
    kbuf_t k;
    apr_status_t rv = put_json(txn, DB(st, CONNS), kb1(&k, c->id), conn_json(c, sealed), flags, err,
                               "connection");
    if (rv == APR_EEXIST) {
        orgs_err_set(err, rv, "connection id '%s' already exists", c->id);
    }
    return rv;
}

static apr_status_t conn_load(orgs_store_t *st, MDB_txn *txn, const char *id, orgs_conn_t **out,
                              const char **sealed, apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    json_t *j;
    const char *dummy;
    if (!is_id(id, "con_")) {
        return orgs_err_set(err, APR_NOTFOUND, "connection not found");
    }
    apr_status_t rv = get_json(txn, DB(st, CONNS), kb1(&k, id), &j, err, "connection");
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = conn_parse(j, out, sealed ? sealed : &dummy, p, err);
    json_decref(j);
    return rv == APR_SUCCESS ? rv : orgs_err_set(err, ORGS_ESTORE, "corrupt connection %s", id);
}

static apr_status_t conn_find(orgs_store_t *st, MDB_txn *txn, const char *ref, orgs_conn_t **out,
                              const char **sealed, apr_pool_t *p, orgs_err_t *err)
{
    if (!ref || !*ref) {
        return orgs_err_set(err, APR_EINVAL, "no connection given");
    }
    const char *id = ref;
    if (strncmp(ref, "con_", 4) != 0) {
        kbuf_t k;
        MDB_val v;
        apr_status_t rv = kv_get(txn, DB(st, CONN_NAMES), kb1(&k, ref), &v, err, "connection");
        if (rv != APR_SUCCESS) {
            return rv == APR_NOTFOUND ? orgs_err_set(err, rv, "connection '%s' not found", ref)
                                      : rv;
        }
        id = apr_pstrmemdup(p, v.mv_data, v.mv_size);
    }
    apr_status_t rv = conn_load(st, txn, id, out, sealed, p, err);
    return rv == APR_NOTFOUND ? orgs_err_set(err, rv, "connection '%s' not found", ref) : rv;
}

/* ---- users: records and indexes -------------------------------------- */

static json_t *user_json(const orgs_user_t *u)
{
    json_t *j = json_object();
    if (!j || jset_str(j, "id", u->id) || jset_str(j, "conn_id", u->conn_id) ||
        jset_str(j, "sub", u->sub) || jset_str(j, "email", u->email) ||
        jset_str(j, "name", u->name) || jset_int(j, "created", u->created) ||
        jset_int(j, "last_login", u->last_login)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static apr_status_t user_parse(const json_t *j, orgs_user_t **out, apr_pool_t *p, orgs_err_t *err)
{
    orgs_user_t *u = apr_pcalloc(p, sizeof(*u));
    u->id = jget_str(j, "id", p);
    u->conn_id = jget_str(j, "conn_id", p);
    u->sub = jget_str(j, "sub", p);
    u->email = jget_str(j, "email", p);
    u->name = jget_str(j, "name", p);
    u->created = jget_int(j, "created");
    u->last_login = jget_int(j, "last_login");
    if (!u->id || !u->conn_id) {
        return orgs_err_set(err, APR_EINVAL, "malformed user record");
    }
    *out = u;
    return APR_SUCCESS;
}

static apr_status_t user_validate(orgs_user_t *u, apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv;
    if (!is_id(u->id, "usr_") || !is_id(u->conn_id, "con_")) {
        return orgs_err_set(err, APR_EINVAL, "bad user or connection id");
    }
    if (!u->sub && !u->email) {
        return orgs_err_set(err, APR_EINVAL, "a user needs a sub or an email");
    }
    if (u->sub && (rv = check_text(u->sub, ORGS_SUB_MAX, 1, "sub", err)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = email_normalize(u->email, &u->email, p, err)) != APR_SUCCESS) {
        return rv;
    }
    if (u->name && (rv = orgs_parse_display_name(u->name, err)) != APR_SUCCESS) {
        return rv;
    }
    return APR_SUCCESS;
}

static kbuf_t *kb_conn_email(kbuf_t *k, const char *conn_id, const char *email)
{
    kb1(k, conn_id);
    kb_nul(k);
    kb_str(k, email);
    kb_nul(k);
    return k;
}

static apr_status_t user_index(orgs_store_t *st, MDB_txn *txn, const orgs_user_t *u, int add,
                               orgs_err_t *err)
{
    kbuf_t k[4];
    int n = 0;
    MDB_dbi dbis[4];
    dbis[n] = DB(st, CONN_USERS);
    kb2(&k[n++], u->conn_id, u->id);
    if (u->email) {
        dbis[n] = DB(st, USER_EMAIL);
        kb1(&k[n], u->email);
        kb_nul(&k[n]);
        kb_str(&k[n++], u->id);
        dbis[n] = DB(st, USER_CONN_EMAIL);
        kb_str(kb_conn_email(&k[n++], u->conn_id, u->email), u->id);
    }
    apr_status_t rv = APR_SUCCESS;
    if (u->sub) {
        kbuf_t ks;
        kb1(&ks, u->conn_id);
        kb_nul(&ks);
        kb_str(&ks, u->sub);
        if (add) {
            rv = kv_put(txn, DB(st, USER_SUB), &ks, u->id, ID_LEN, MDB_NOOVERWRITE, err, "sub");
            if (rv == APR_EEXIST) {
                return orgs_err_set(err, rv, "a user with this sub exists on the connection");
            }
        } else {
            rv = kv_del(txn, DB(st, USER_SUB), &ks, 0, err, "sub");
        }
    }
    for (int i = 0; rv == APR_SUCCESS && i < n; i++) {
        rv = add ? kv_put(txn, dbis[i], &k[i], "", 0, 0, err, "user index")
                 : kv_del(txn, dbis[i], &k[i], 0, err, "user index");
    }
    return rv;
}

static apr_status_t user_write(orgs_store_t *st, MDB_txn *txn, const orgs_user_t *u, unsigned flags,
                               orgs_err_t *err)
{
    kbuf_t k;
    apr_status_t rv =
        put_json(txn, DB(st, USERS), kb1(&k, u->id), user_json(u), flags, err, "user");
    if (rv == APR_EEXIST) {
        orgs_err_set(err, rv, "user id '%s' already exists", u->id);
    }
    return rv;
}

/* user_parse without jansson for a record of the usual shape: 1 and *out
 * then, else 0 (and the caller uses user_parse). */
static int user_fast(const MDB_val *v, orgs_user_t **out, apr_pool_t *p)
{
    static const char *const strs[] = {"id", "conn_id", "sub", "email", "name", NULL};
    static const char *const nums[] = {"created", "last_login", NULL};
    fj_member_t m[FJ_MAX];
    int n;
    if (!fj_record(v, m, FJ_MAX, &n, p)) {
        return 0;
    }
    orgs_user_t *u = apr_pcalloc(p, sizeof(*u));
    void *const str_fields[] = {&u->id, &u->conn_id, &u->sub, &u->email, &u->name};
    void *const num_fields[] = {&u->created, &u->last_login};
    for (int i = 0; i < n; i++) {
        const char **str = fj_field(m[i].key, strs, str_fields);
        apr_time_t *num = fj_field(m[i].key, nums, num_fields);
        if ((str && m[i].kind != FJ_STR) || (num && m[i].kind != FJ_INT)) {
            return 0; /* user_parse decides */
        }
        if (str) {
            *str = m[i].str;
        } else if (num) {
            *num = (apr_time_t)m[i].num;
        }
    }
    if (!u->id || !u->conn_id) {
        return 0;
    }
    *out = u;
    return 1;
}

static apr_status_t user_load(orgs_store_t *st, MDB_txn *txn, const char *id, orgs_user_t **out,
                              apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    json_t *j;
    MDB_val v;
    if (!is_id(id, "usr_")) {
        return orgs_err_set(err, APR_NOTFOUND, "user '%s' not found", id ? id : "");
    }
    apr_status_t rv = kv_get(txn, DB(st, USERS), kb1(&k, id), &v, err, "user");
    if (rv != APR_SUCCESS) {
        return rv == APR_NOTFOUND ? orgs_err_set(err, rv, "user '%s' not found", id) : rv;
    }
    if (user_fast(&v, out, p)) {
        return APR_SUCCESS;
    }
    if ((rv = json_of(&v, &j, err, "user")) != APR_SUCCESS) {
        return rv;
    }
    rv = user_parse(j, out, p, err);
    json_decref(j);
    return rv == APR_SUCCESS ? rv : orgs_err_set(err, ORGS_ESTORE, "corrupt user %s", id);
}

/* First user of conn with that (normalized) email; with unbound_only, only
 * one that has no sub yet. */
static apr_status_t user_find_email(orgs_store_t *st, MDB_txn *txn, const char *conn_id,
                                    const char *email, int unbound_only, orgs_user_t **out,
                                    apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    apr_array_header_t *hits;
    apr_status_t rv =
        collect(txn, DB(st, USER_CONN_EMAIL), kb_conn_email(&k, conn_id, email), &hits, p, err);
    for (int i = 0; rv == APR_SUCCESS && i < hits->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(hits, i, blob_t);
        if (b->klen != k.len + ID_LEN) {
            continue;
        }
        rv = user_load(st, txn, b->k + k.len, out, p, err);
        if (rv == APR_SUCCESS && (!unbound_only || !(*out)->sub)) {
            return APR_SUCCESS;
        }
    }
    return rv == APR_SUCCESS ? orgs_err_set(err, APR_NOTFOUND, "no user with that email") : rv;
}

static apr_status_t user_find_sub(orgs_store_t *st, MDB_txn *txn, const char *conn_id,
                                  const char *sub, orgs_user_t **out, apr_pool_t *p,
                                  orgs_err_t *err)
{
    kbuf_t k;
    MDB_val v;
    kb1(&k, conn_id);
    kb_nul(&k);
    kb_str(&k, sub);
    apr_status_t rv = kv_get(txn, DB(st, USER_SUB), &k, &v, err, "user");
    if (rv != APR_SUCCESS) {
        return rv == APR_NOTFOUND ? orgs_err_set(err, rv, "no user with that sub") : rv;
    }
    return user_load(st, txn, apr_pstrmemdup(p, v.mv_data, v.mv_size), out, p, err);
}

/* ---- members --------------------------------------------------------- */

/* n (4 or 8) bytes, big-endian. */
static inline apr_uint64_t load_be(const unsigned char *b, int n)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n == 8) {
        apr_uint64_t v;
        memcpy(&v, b, 8);
        return __builtin_bswap64(v);
    }
    apr_uint32_t w;
    memcpy(&w, b, 4);
    return __builtin_bswap32(w);
#else
    apr_uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        v = v << 8 | b[i];
    }
    return v;
#endif
}

static const char *id_str(const unsigned char *in, const char *prefix, apr_pool_t *p)
{
    char *s = apr_palloc(p, ID_LEN + 1);
    return id_unpack(in, prefix, s) ? s : NULL;
}

static apr_uint32_t get_u32le(const unsigned char *b)
{
    return (apr_uint32_t)b[0] | (apr_uint32_t)b[1] << 8 | (apr_uint32_t)b[2] << 16 |
           (apr_uint32_t)b[3] << 24;
}

static void put_u32le(unsigned char *b, apr_uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        b[i] = (unsigned char)(v >> (8 * i));
    }
}

/* A user's memberships are one record in "members" (key: packed user id),
 * so the hot lookup is one mdb_get on a tree with one key per user plus a
 * binary search inside one small value:
 *   count n (4, LE)
 *   n packed org ids (12 each), sorted: contiguous, so the search touches
 *     few cache lines
 *   n infos (MINFO each): created (8, LE) | roles offset (4, LE)
 *   roles: for entry i, the bytes from its offset to the next entry's (or
 *     the record's end): "role\0" repeated, empty when there are none.
 * The org -> members index "org_members" (DUPSORT|DUPFIXED: packed org id ->
 * packed user ids) serves listings and cascades. Invariant: a membership is
 * in the record exactly when it is in the index. */
#define MINFO 12
#define MENT (ID_BIN + MINFO) /* fixed bytes per membership */

typedef struct {
    const unsigned char *d;
    size_t size;
    apr_uint32_t n;
} mrec_t;

/* One membership while a record is rebuilt. */
typedef struct {
    const unsigned char *org;
    apr_time_t created;
    const char *roles;
    size_t rlen;
} ment_t;

/* An absent record (size 0) is an empty one. 0 if the header is corrupt. */
static int mrec_open(const void *d, size_t size, mrec_t *r)
{
    r->d = d;
    r->size = size;
    r->n = 0;
    if (size == 0) {
        return 1;
    }
    if (size < 4) {
        return 0;
    }
    r->n = get_u32le(r->d);
    return r->n > 0 && r->n <= (size - 4) / MENT;
}

/* The packed org id of entry i. */
static const unsigned char *mrec_ent(const mrec_t *r, apr_uint32_t i)
{
    return r->d + 4 + (size_t)i * ID_BIN;
}

static const unsigned char *mrec_info(const mrec_t *r, apr_uint32_t i)
{
    return r->d + 4 + (size_t)r->n * ID_BIN + (size_t)i * MINFO;
}

/* 12-byte big-endian compare: memcmp's order, without the call. */
static int cmp_bin(const unsigned char *a, const unsigned char *b)
{
    apr_uint64_t x = load_be(a, 8), y = load_be(b, 8);
    if (x == y) {
        x = load_be(a + 8, 4);
        y = load_be(b + 8, 4);
    }
    return (x > y) - (x < y);
}

/* LMDB key order for the packed-id databases: the same as LMDB's default
 * (memcmp, then shorter first), so mdb_dump / mdb_load stay compatible;
 * only faster for the 12-byte keys. */
static int mdb_cmp_bin(const MDB_val *a, const MDB_val *b)
{
    if (a->mv_size == ID_BIN && b->mv_size == ID_BIN) {
        return cmp_bin(a->mv_data, b->mv_data);
    }
    size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size;
    int c = n ? memcmp(a->mv_data, b->mv_data, n) : 0;
    return c ? c : (a->mv_size > b->mv_size) - (a->mv_size < b->mv_size);
}

/* Binary search: 1 and *pos = its index if org is there, else 0 and *pos =
 * where it would go. */
static int mrec_find(const mrec_t *r, const unsigned char *org, apr_uint32_t *pos)
{
    apr_uint32_t lo = 0, hi = r->n;
    while (lo < hi) {
        apr_uint32_t mid = lo + (hi - lo) / 2;
        int c = cmp_bin(mrec_ent(r, mid), org);
        if (c == 0) {
            *pos = mid;
            return 1;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *pos = lo;
    return 0;
}

/* Entry i, its roles bounds checked; 0 if corrupt. */
static int mrec_get(const mrec_t *r, apr_uint32_t i, ment_t *e)
{
    const unsigned char *info = mrec_info(r, i);
    size_t start = get_u32le(info + 8);
    size_t end = i + 1 < r->n ? get_u32le(info + MINFO + 8) : r->size;
    if (start < 4 + (size_t)r->n * MENT || start > end || end > r->size ||
        (end > start && r->d[end - 1] != '\0')) {
        return 0;
    }
    e->org = mrec_ent(r, i);
    e->created = (apr_time_t)get_u64le(info);
    e->roles = (const char *)r->d + start;
    e->rlen = end - start;
    return 1;
}

static void roles_encode(const apr_array_header_t *roles, ment_t *e, apr_pool_t *p)
{
    size_t n = 0;
    for (int i = 0; roles && i < roles->nelts; i++) {
        n += strlen(APR_ARRAY_IDX(roles, i, const char *)) + 1;
    }
    char *b = apr_palloc(p, n + 1);
    size_t off = 0;
    for (int i = 0; roles && i < roles->nelts; i++) {
        const char *role = APR_ARRAY_IDX(roles, i, const char *);
        size_t len = strlen(role) + 1;
        memcpy(b + off, role, len);
        off += len;
    }
    e->roles = b;
    e->rlen = n;
}

static apr_array_header_t *roles_decode(const ment_t *e, apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    const char *copy = e->rlen ? apr_pmemdup(p, e->roles, e->rlen) : ""; /* NUL-ended */
    for (size_t off = 0; off < e->rlen; off += strlen(copy + off) + 1) {
        APR_ARRAY_PUSH(a, const char *) = copy + off;
    }
    return a;
}

/* The record with entry pos removed (del) and/or ins put at pos. An empty
 * result has size 0 (the caller deletes the key). */
static apr_status_t mrec_splice(const mrec_t *r, apr_uint32_t pos, int del, const ment_t *ins,
                                MDB_val *out, apr_pool_t *p, orgs_err_t *err)
{
    apr_uint32_t n = r->n - (del ? 1 : 0) + (ins ? 1 : 0);
    ment_t *e = apr_palloc(p, sizeof(ment_t) * (n + 1));
    size_t size = 4 + (size_t)n * MENT;
    apr_uint32_t j = 0;
    for (apr_uint32_t i = 0; i <= r->n; i++) {
        if (i == pos && ins) {
            e[j++] = *ins;
        }
        if (i == r->n || (i == pos && del)) {
            continue;
        }
        if (!mrec_get(r, i, &e[j++])) {
            return orgs_err_set(err, ORGS_ESTORE, "corrupt membership record");
        }
    }
    for (j = 0; j < n; j++) {
        size += e[j].rlen;
    }
    if (n == 0 || size > 0xffffffffu) {
        out->mv_size = 0;
        out->mv_data = NULL;
        return n == 0 ? APR_SUCCESS
                      : orgs_err_set(err, APR_ENOSPC, "too many memberships for one user");
    }
    unsigned char *b = apr_palloc(p, size);
    size_t off = 4 + (size_t)n * MENT;
    put_u32le(b, n);
    for (j = 0; j < n; j++) {
        unsigned char *info = b + 4 + (size_t)n * ID_BIN + (size_t)j * MINFO;
        memcpy(b + 4 + (size_t)j * ID_BIN, e[j].org, ID_BIN);
        put_u64le(info, (apr_uint64_t)e[j].created);
        put_u32le(info + 8, (apr_uint32_t)off);
        memcpy(b + off, e[j].roles, e[j].rlen);
        off += e[j].rlen;
    }
    out->mv_data = b;
    out->mv_size = size;
    return APR_SUCCESS;
}

/* The record of a packed user id; an absent one is empty. */
static apr_status_t mrec_load(orgs_store_t *st, MDB_txn *txn, const unsigned char *user, mrec_t *r,
                              orgs_err_t *err)
{
    MDB_val key = {ID_BIN, (void *)user}, v = {0, NULL};
    *r = (mrec_t){NULL, 0, 0}; /* empty on every error path too */
    int rc = mdb_get(txn, DB(st, MEMBERS), &key, &v);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        return mdb_fail(rc, err, "member");
    }
    if (!mrec_open(v.mv_data, v.mv_size, r)) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt membership record");
    }
    return APR_SUCCESS;
}

static apr_status_t mrec_store(orgs_store_t *st, MDB_txn *txn, const unsigned char *user,
                               const MDB_val *v, orgs_err_t *err)
{
    MDB_val key = {ID_BIN, (void *)user}, val = *v;
    int rc = v->mv_size ? mdb_put(txn, DB(st, MEMBERS), &key, &val, 0)
                        : mdb_del(txn, DB(st, MEMBERS), &key, NULL);
    return rc == MDB_SUCCESS || (rc == MDB_NOTFOUND && !v->mv_size) ? APR_SUCCESS
                                                                    : mdb_fail(rc, err, "member");
}

static orgs_member_t *member_make(const ment_t *e, const char *org_id, const char *user_id,
                                  apr_pool_t *p)
{
    orgs_member_t *m = apr_palloc(p, sizeof(*m));
    m->org_id = org_id;
    m->user_id = user_id;
    m->created = e->created;
    m->roles = roles_decode(e, p);
    return m;
}

/* The hot lookup: packed ids -> the entry (pointing into the map). */
static apr_status_t member_find(orgs_store_t *st, MDB_txn *txn, const unsigned char *org,
                                const unsigned char *user, ment_t *e, orgs_err_t *err)
{
    mrec_t r;
    apr_uint32_t pos;
    apr_status_t rv = mrec_load(st, txn, user, &r, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!mrec_find(&r, org, &pos)) {
        return orgs_err_set(err, APR_NOTFOUND, "not a member");
    }
    return mrec_get(&r, pos, e) ? APR_SUCCESS
                                : orgs_err_set(err, ORGS_ESTORE, "corrupt membership record");
}

static apr_status_t member_read(orgs_store_t *st, MDB_txn *txn, const char *org_id,
                                const char *user_id, orgs_member_t **out, apr_pool_t *p,
                                orgs_err_t *err)
{
    unsigned char org[ID_BIN], user[ID_BIN];
    ment_t e;
    if (!id_pack(org_id, "org_", org) || !id_pack(user_id, "usr_", user)) {
        return orgs_err_set(err, APR_NOTFOUND, "not a member");
    }
    apr_status_t rv = member_find(st, txn, org, user, &e, err);
    if (rv == APR_SUCCESS) {
        *out = member_make(&e, apr_pstrmemdup(p, org_id, ID_LEN),
                           apr_pstrmemdup(p, user_id, ID_LEN), p);
    }
    return rv;
}

/* Adds (flags MDB_NOOVERWRITE: APR_EEXIST if present) or replaces the
 * membership, in the record and the org index. Ids are checked ids. */
static apr_status_t member_write(orgs_store_t *st, MDB_txn *txn, const char *org_id,
                                 const char *user_id, const apr_array_header_t *roles,
                                 apr_time_t created, unsigned flags, apr_pool_t *p, orgs_err_t *err)
{
    unsigned char org[ID_BIN], user[ID_BIN];
    mrec_t r;
    ment_t e = {org, created, NULL, 0};
    apr_uint32_t pos;
    MDB_val v;
    if (!id_pack(org_id, "org_", org) || !id_pack(user_id, "usr_", user)) {
        return orgs_err_set(err, APR_NOTFOUND, "not a member");
    }
    roles_encode(roles, &e, p);
    apr_status_t rv = mrec_load(st, txn, user, &r, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    int found = mrec_find(&r, org, &pos);
    if (found && (flags & MDB_NOOVERWRITE)) {
        return orgs_err_set(err, APR_EEXIST, "user %s is already a member of %s", user_id, org_id);
    }
    if ((rv = mrec_splice(&r, pos, found, &e, &v, p, err)) != APR_SUCCESS ||
        (rv = mrec_store(st, txn, user, &v, err)) != APR_SUCCESS || found) {
        return rv;
    }
    MDB_val key = {ID_BIN, org}, dup = {ID_BIN, user};
    int rc = mdb_put(txn, DB(st, ORG_MEMBERS), &key, &dup, 0);
    return rc == MDB_SUCCESS ? APR_SUCCESS : mdb_fail(rc, err, "member");
}

/* Deletes one session: its record (must_exist: APR_NOTFOUND when absent),
 * its logout hint and its index entry idx (org id + user id + hash). Every
 * session deletion goes through here, so no hint outlives its session. */
static apr_status_t session_erase(orgs_store_t *st, MDB_txn *txn, const unsigned char *hash,
                                  const kbuf_t *idx, int must_exist, orgs_err_t *err)
{
    kbuf_t k;
    kbraw(&k, hash, HASH_LEN);
    apr_status_t rv = kv_del(txn, DB(st, SESSIONS), &k, must_exist, err, "session");
    if (rv == APR_SUCCESS && st->has_session_hints) {
        rv = kv_del(txn, DB(st, SESSION_HINTS), &k, 0, err, "session");
    }
    if (rv == APR_SUCCESS) {
        rv = kv_del(txn, DB(st, SESSION_IDX), idx, 0, err, "session");
    }
    return rv;
}

/* Deletes the sessions indexed under pfx (org id [+ user id]). */
static apr_status_t sessions_drop(orgs_store_t *st, MDB_txn *txn, const kbuf_t *pfx, apr_pool_t *p,
                                  orgs_err_t *err)
{
    apr_array_header_t *hits;
    kbuf_t k;
    apr_status_t rv = collect(txn, DB(st, SESSION_IDX), pfx, &hits, p, err);
    for (int i = 0; rv == APR_SUCCESS && i < hits->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(hits, i, blob_t);
        if (b->klen != 2 * ID_LEN + HASH_LEN) {
            continue;
        }
        rv = session_erase(st, txn, (const unsigned char *)b->k + 2 * ID_LEN,
                           kbraw(&k, b->k, b->klen), 0, err);
    }
    return rv;
}

/* Removes the membership from the record and the index, and its sessions.
 * Ids are checked ids. must_exist: APR_NOTFOUND when not a member;
 * otherwise whatever is left of it is cleaned up. */
static apr_status_t member_drop(orgs_store_t *st, MDB_txn *txn, const char *org_id,
                                const char *user_id, int must_exist, apr_pool_t *p, orgs_err_t *err)
{
    unsigned char org[ID_BIN], user[ID_BIN];
    mrec_t r;
    apr_uint32_t pos;
    MDB_val v;
    kbuf_t k;
    if (!id_pack(org_id, "org_", org) || !id_pack(user_id, "usr_", user)) {
        return orgs_err_set(err, APR_NOTFOUND, "user %s is not a member of %s", user_id, org_id);
    }
    apr_status_t rv = mrec_load(st, txn, user, &r, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (mrec_find(&r, org, &pos)) {
        if ((rv = mrec_splice(&r, pos, 1, NULL, &v, p, err)) != APR_SUCCESS ||
            (rv = mrec_store(st, txn, user, &v, err)) != APR_SUCCESS) {
            return rv;
        }
    } else if (must_exist) {
        return orgs_err_set(err, APR_NOTFOUND, "user %s is not a member of %s", user_id, org_id);
    }
    MDB_val key = {ID_BIN, org}, dup = {ID_BIN, user};
    int rc = mdb_del(txn, DB(st, ORG_MEMBERS), &key, &dup);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        return mdb_fail(rc, err, "member");
    }
    return sessions_drop(st, txn, kb2(&k, org_id, user_id), p, err);
}

/* The packed user ids of an org's members, copied into p (the caller may
 * delete while walking them). */
static apr_status_t org_member_ids(orgs_store_t *st, MDB_txn *txn, const char *org_id,
                                   apr_array_header_t **out, apr_pool_t *p, orgs_err_t *err)
{
    MDB_cursor *cur;
    unsigned char org[ID_BIN];
    *out = apr_array_make(p, 16, sizeof(const unsigned char *));
    if (!id_pack(org_id, "org_", org)) {
        return APR_SUCCESS; /* no such org, no members */
    }
    int rc = mdb_cursor_open(txn, DB(st, ORG_MEMBERS), &cur);
    if (rc != MDB_SUCCESS) {
        return mdb_fail(rc, err, "cursor");
    }
    MDB_val key = {ID_BIN, org}, dup;
    for (rc = mdb_cursor_get(cur, &key, &dup, MDB_SET_KEY); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &key, &dup, MDB_NEXT_DUP)) {
        if (dup.mv_size == ID_BIN) {
            APR_ARRAY_PUSH(*out, const unsigned char *) = apr_pmemdup(p, dup.mv_data, ID_BIN);
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? APR_SUCCESS : mdb_fail(rc, err, "cursor");
}

static apr_status_t user_drop(orgs_store_t *st, MDB_txn *txn, const char *user_id, apr_pool_t *p,
                              orgs_err_t *err)
{
    orgs_user_t *u;
    unsigned char user[ID_BIN];
    mrec_t r;
    kbuf_t k;
    apr_status_t rv = user_load(st, txn, user_id, &u, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!id_pack(u->id, "usr_", user)) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt user record");
    }
    if ((rv = mrec_load(st, txn, user, &r, err)) != APR_SUCCESS) {
        return rv;
    }
    /* r points into the map: copy the org ids before the record changes */
    apr_uint32_t n = r.n;
    unsigned char *orgs = apr_pmemdup(p, r.d + 4, (size_t)n * ID_BIN);
    for (apr_uint32_t i = 0; rv == APR_SUCCESS && i < n; i++) {
        const char *org_id = id_str(orgs + (size_t)i * ID_BIN, "org_", p);
        rv = org_id ? member_drop(st, txn, org_id, u->id, 0, p, err)
                    : orgs_err_set(err, ORGS_ESTORE, "corrupt membership record");
    }
    if (rv == APR_SUCCESS) {
        rv = user_index(st, txn, u, 0, err);
    }
    if (rv == APR_SUCCESS) {
        rv = kv_del(txn, DB(st, USERS), kb1(&k, user_id), 1, err, "user");
    }
    return rv;
}

/* ---- environment ----------------------------------------------------- */

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

/* data.mdb and lock.mdb, where they exist, must be plain files reachable
 * only through this directory: refuses a symbolic link (LMDB would follow
 * it), a hard link, a directory, a FIFO... *exists tells whether it is there. */
static apr_status_t check_file(const char *dir, const char *name, int *exists, apr_pool_t *p,
                               orgs_err_t *err)
{
    struct stat sb;
    const char *path = apr_pstrcat(p, dir, "/", name, NULL);
    *exists = 0;
    if (lstat(path, &sb) != 0) {
        return errno == ENOENT
                   ? APR_SUCCESS
                   : orgs_err_set(err, ORGS_ESTORE, "cannot inspect %s: %s", path, strerror(errno));
    }
    if (S_ISLNK(sb.st_mode)) {
        return orgs_err_set(err, ORGS_ESTORE, "%s is a symbolic link: refusing to open the store",
                            path);
    }
    if (!S_ISREG(sb.st_mode) || sb.st_nlink != 1) {
        return orgs_err_set(err, ORGS_ESTORE,
                            "%s is not a regular file with one link: refusing to open the store",
                            path);
    }
    *exists = 1;
    return APR_SUCCESS;
}

/* The filesystem identity the store is opened with. httpd's children run as
 * an unprivileged user who owns the store directory; when root opens (and
 * maybe creates) the store there, it takes that user's filesystem identity
 * for mdb_env_open: the files are created with the right owner, and a file
 * that user planted (e.g. lock.mdb -> /etc/passwd, swapped in after
 * check_file) is opened only with that user's rights. On Linux
 * setfsuid/setfsgid change the calling thread only; elsewhere
 * seteuid/setegid change the process. Either is safe because the callers
 * that run as root (httpd's parent in post_config, orgctl) are
 * single-threaded then. Each change is verified: a call that did not take
 * effect is an error, never ignored. */
typedef struct {
    int active;
    uid_t uid; /* the identity to restore */
    gid_t gid;
} fs_ident_t;

#ifdef __linux__
static int fs_ident_is(uid_t uid, gid_t gid)
{
    /* an invalid id changes nothing and returns the current one */
    return (uid_t)setfsuid((uid_t)-1) == uid && (gid_t)setfsgid((gid_t)-1) == gid;
}
#endif

static apr_status_t fs_ident_leave(fs_ident_t *saved, orgs_err_t *err)
{
    if (!saved->active) {
        return APR_SUCCESS;
    }
    saved->active = 0;
#ifdef __linux__
    setfsuid(saved->uid); /* fsuid 0 again also restores the filesystem capabilities */
    setfsgid(saved->gid);
    int ok = fs_ident_is(saved->uid, saved->gid);
#else
    int ok = seteuid(saved->uid) == 0 && setegid(saved->gid) == 0;
#endif
    return ok ? APR_SUCCESS
              : orgs_err_set(err, ORGS_ESTORE, "cannot restore the filesystem identity %lu:%lu",
                             (unsigned long)saved->uid, (unsigned long)saved->gid);
}

static apr_status_t fs_ident_enter(const struct stat *dir_sb, fs_ident_t *saved, orgs_err_t *err)
{
    saved->active = 0;
    if (geteuid() != 0 || dir_sb->st_uid == 0) {
        return APR_SUCCESS;
    }
    saved->active = 1;
#ifdef __linux__
    saved->gid = (gid_t)setfsgid(dir_sb->st_gid);
    saved->uid = (uid_t)setfsuid(dir_sb->st_uid);
    int ok = fs_ident_is(dir_sb->st_uid, dir_sb->st_gid);
#else
    saved->uid = geteuid();
    saved->gid = getegid();
    int ok = setegid(dir_sb->st_gid) == 0 && seteuid(dir_sb->st_uid) == 0;
#endif
    if (!ok) {
        fs_ident_leave(saved, err);
        return orgs_err_set(err, ORGS_ESTORE,
                            "cannot take the store directory owner's identity %lu:%lu",
                            (unsigned long)dir_sb->st_uid, (unsigned long)dir_sb->st_gid);
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
        return mdb_fail(rc, err, "pending logins");
    }
    if (ps.ms_entries == 0 || ts.ms_entries != 0) {
        return APR_SUCCESS;
    }
    if ((rc = mdb_cursor_open(txn, DB(st, PENDING), &cur)) != MDB_SUCCESS) {
        return mdb_fail(rc, err, "cursor");
    }
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        unsigned char key[8 + STATE_MAX];
        json_t *j = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        apr_time_t created = jget_int(j, "created"); /* 0 when unreadable: swept first */
        json_decref(j);
        if (k.mv_size > STATE_MAX) {
            continue;
        }
        put_u64be(key, (apr_uint64_t)created);
        memcpy(key + 8, k.mv_data, k.mv_size);
        MDB_val tk = {8 + k.mv_size, key}, tv = {0, ""};
        if ((rc = mdb_put(txn, DB(st, PENDING_TIME), &tk, &tv, 0)) != MDB_SUCCESS) {
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? APR_SUCCESS : mdb_fail(rc, err, "pending logins");
}

static apr_status_t open_dbs(orgs_store_t *st, int rdonly, orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, rdonly ? MDB_RDONLY : 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (int i = 0; rv == APR_SUCCESS && i < DB_COUNT; i++) {
        unsigned flags = i == DB_ORG_MEMBERS ? MDB_DUPSORT | MDB_DUPFIXED : 0;
        int rc = mdb_dbi_open(txn, db_names[i], flags | (rdonly ? 0 : MDB_CREATE), &st->db[i]);
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
            rv = mdb_fail(rc, err, "open database");
        } else if (i == DB_MEMBERS || i == DB_ORG_MEMBERS) {
            /* set in every process before any access, as LMDB requires */
            rc = mdb_set_compare(txn, st->db[i], mdb_cmp_bin);
            if (rc == MDB_SUCCESS && i == DB_ORG_MEMBERS) {
                rc = mdb_set_dupsort(txn, st->db[i], mdb_cmp_bin);
            }
            rv = rc == MDB_SUCCESS ? APR_SUCCESS : mdb_fail(rc, err, "open database");
        }
    }
    kbuf_t k;
    MDB_val v;
    if (rv == APR_SUCCESS) {
        rv = kv_get(txn, DB(st, META), kb1(&k, "version"), &v, err, "format version");
        if (rv == APR_NOTFOUND && !rdonly) {
            char buf[16];
            int n = snprintf(buf, sizeof(buf), "%d", ORGS_STORE_FORMAT_VERSION);
            rv = kv_put(txn, DB(st, META), &k, buf, (size_t)n, 0, err, "format version");
            st->version = ORGS_STORE_FORMAT_VERSION;
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
            /* no older format exists yet: nothing to migrate */
            st->version = (unsigned)ver;
        }
    }
    if (rv == APR_SUCCESS && !rdonly) {
        rv = pending_time_rebuild(st, txn, err);
    }
    return txn_end(txn, rv, err);
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
    apr_status_t rv = check_file(dir, "data.mdb", &has_data, p, err);
    if (rv == APR_SUCCESS) {
        rv = check_file(dir, "lock.mdb", &has_lock, p, err);
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
        return mdb_fail(rc, err, "create environment");
    }
    apr_pool_cleanup_register(p, st, store_cleanup, apr_pool_cleanup_null);
    if ((rc = mdb_env_set_maxreaders(st->env, max_readers ? max_readers : 512)) ||
        (rc = mdb_env_set_maxdbs(st->env, DB_COUNT + 4)) ||
        (rc = mdb_env_set_mapsize(st->env, map_size ? map_size : ORGS_STORE_DEFAULT_MAP_SIZE))) {
        rv = orgs_err_set(err, ORGS_ESTORE, "cannot open store %s: %s", dir, mdb_strerror(rc));
    }
    /* the only path-based LMDB call: every later access goes through its fds */
    if (rv == APR_SUCCESS && (rv = fs_ident_enter(&sb, &ident, err)) == APR_SUCCESS) {
        rc = mdb_env_open(st->env, dir, MDB_NOTLS | (rdonly ? MDB_RDONLY : 0), 0660);
        rv = fs_ident_leave(&ident, err);
        if (rv == APR_SUCCESS && rc != MDB_SUCCESS) {
            rv = orgs_err_set(err, ORGS_ESTORE, "cannot open store %s: %s", dir, mdb_strerror(rc));
        }
    }
    int dead;
    if (rv == APR_SUCCESS && (rc = mdb_reader_check(st->env, &dead)) != MDB_SUCCESS) {
        rv = mdb_fail(rc, err, "reader check");
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

apr_status_t orgs_store_stat(orgs_store_t *st, orgs_store_stat_t *out, orgs_err_t *err)
{
    MDB_txn *txn;
    MDB_envinfo info;
    MDB_stat ms;
    memset(out, 0, sizeof(*out));
    apr_status_t rv = rd_begin(st, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    mdb_env_info(st->env, &info);
    mdb_env_stat(st->env, &ms);
    out->map_size = info.me_mapsize;
    out->used_bytes = ((apr_uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
    out->version = st->version;
    const struct {
        int db;
        apr_size_t *n;
    } counts[] = {{DB_ORGS, &out->orgs},
                  {DB_CONNS, &out->conns},
                  {DB_USERS, &out->users},
                  {DB_ORG_MEMBERS, &out->members}, /* one entry per membership */
                  {DB_SESSIONS, &out->sessions}};
    for (size_t i = 0; rv == APR_SUCCESS && i < sizeof(counts) / sizeof(counts[0]); i++) {
        int rc = mdb_stat(txn, st->db[counts[i].db], &ms);
        if (rc != MDB_SUCCESS) {
            rv = mdb_fail(rc, err, "stat");
        } else {
            *counts[i].n = ms.ms_entries;
        }
    }
    rd_end(st, txn);
    return rv;
}

/* ---- organizations --------------------------------------------------- */

static apr_status_t org_insert(orgs_store_t *st, MDB_txn *txn, orgs_org_t *o, apr_pool_t *p,
                               orgs_err_t *err)
{
    apr_status_t rv = org_validate(o, p, err);
    if (rv == APR_SUCCESS) {
        rv = org_write(st, txn, o, MDB_NOOVERWRITE, err);
    }
    if (rv == APR_SUCCESS) {
        rv = org_index(st, txn, o, 1, err);
    }
    return rv;
}

apr_status_t orgs_store_org_create(orgs_store_t *st, orgs_org_t *org, apr_pool_t *p,
                                   orgs_err_t *err)
{
    MDB_txn *txn;
    char *id;
    if (orgs_crypto_random_id("org_", ORGS_ID_CHARS, &id, p) != APR_SUCCESS) {
        return orgs_err_set(err, ORGS_ECRYPTO, "cannot generate an id");
    }
    orgs_org_t o = *org;
    o.id = id;
    o.created = o.updated = apr_time_now();
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = txn_end(txn, org_insert(st, txn, &o, p, err), err);
    if (rv == APR_SUCCESS) {
        *org = o;
    }
    return rv;
}

apr_status_t orgs_store_org_get(orgs_store_t *st, const char *ref, orgs_org_t **out, apr_pool_t *p,
                                orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = rd_begin(st, &txn, err);
    if (rv == APR_SUCCESS) {
        rv = org_find(st, txn, ref, out, p, err);
        rd_end(st, txn);
    }
    return rv;
}

apr_status_t orgs_store_org_list(orgs_store_t *st, apr_array_header_t **out, apr_pool_t *p,
                                 orgs_err_t *err)
{
    MDB_txn *txn;
    iter_t it;
    apr_status_t rv = rd_begin(st, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = apr_array_make(p, 16, sizeof(orgs_org_t *));
    rv = iter_open(txn, DB(st, ORG_NAMES), NULL, &it, err);
    while (rv == APR_SUCCESS && iter_next(&it)) {
        orgs_org_t *o;
        rv = org_load(st, txn, apr_pstrmemdup(p, it.v.mv_data, it.v.mv_size), &o, p, err);
        if (rv == APR_SUCCESS) {
            APR_ARRAY_PUSH(*out, orgs_org_t *) = o;
        }
    }
    apr_status_t rv2 = iter_close(&it, err);
    rd_end(st, txn);
    return rv != APR_SUCCESS ? rv : rv2;
}

static apr_status_t org_modify(orgs_store_t *st, MDB_txn *txn, const char *ref,
                               const char *display_name, const apr_array_header_t *set_meta,
                               const apr_array_header_t *unset_meta, apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    apr_status_t rv = org_find(st, txn, ref, &o, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (display_name) {
        o->display_name = display_name;
    }
    for (int i = 0; unset_meta && i < unset_meta->nelts; i++) {
        const char *key = APR_ARRAY_IDX(unset_meta, i, const char *);
        int j;
        for (j = 0; j < o->meta->nelts; j++) {
            if (strcmp(APR_ARRAY_IDX(o->meta, j, orgs_kv_t).key, key) == 0) {
                break;
            }
        }
        if (j == o->meta->nelts) {
            return orgs_err_set(err, APR_NOTFOUND, "no metadata key '%s'", key);
        }
        memmove(o->meta->elts + j * sizeof(orgs_kv_t), o->meta->elts + (j + 1) * sizeof(orgs_kv_t),
                (o->meta->nelts - j - 1) * sizeof(orgs_kv_t));
        o->meta->nelts--;
    }
    if (set_meta) {
        if (set_meta->elt_size != sizeof(orgs_kv_t)) {
            return orgs_err_set(err, APR_EINVAL, "metadata must be key/value pairs");
        }
        apr_array_cat(o->meta, set_meta); /* in place; later pairs win in meta_normalize */
    }
    o->updated = apr_time_now();
    if ((rv = org_validate(o, p, err)) == APR_SUCCESS) {
        rv = org_write(st, txn, o, 0, err);
    }
    return rv;
}

apr_status_t orgs_store_org_update(orgs_store_t *st, const char *ref, const char *display_name,
                                   const apr_array_header_t *set_meta,
                                   const apr_array_header_t *unset_meta, apr_pool_t *p,
                                   orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, org_modify(st, txn, ref, display_name, set_meta, unset_meta, p, err), err);
}

static apr_status_t org_drop(orgs_store_t *st, MDB_txn *txn, const char *ref, apr_pool_t *p,
                             orgs_err_t *err)
{
    orgs_org_t *o;
    kbuf_t k;
    apr_array_header_t *list;
    apr_status_t rv = org_find(st, txn, ref, &o, p, err);
    if (rv == APR_SUCCESS) {
        rv = org_member_ids(st, txn, o->id, &list, p, err);
    }
    for (int i = 0; rv == APR_SUCCESS && i < list->nelts; i++) {
        const char *user_id = id_str(APR_ARRAY_IDX(list, i, const unsigned char *), "usr_", p);
        rv = user_id ? member_drop(st, txn, o->id, user_id, 0, p, err)
                     : orgs_err_set(err, ORGS_ESTORE, "corrupt membership index");
    }
    if (rv == APR_SUCCESS) {
        rv = sessions_drop(st, txn, kb1(&k, o->id), p, err);
    }
    if (rv == APR_SUCCESS) {
        rv = collect(txn, DB(st, ENABLE), kb1(&k, o->id), &list, p, err);
    }
    for (int i = 0; rv == APR_SUCCESS && i < list->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(list, i, blob_t);
        rv = kv_del(txn, DB(st, ENABLE), kbraw(&k, b->k, b->klen), 0, err, "enablement");
    }
    if (rv == APR_SUCCESS) {
        rv = collect(txn, DB(st, INVITE_ORG), kb1(&k, o->id), &list, p, err);
    }
    for (int i = 0; rv == APR_SUCCESS && i < list->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(list, i, blob_t);
        rv = kv_del(txn, DB(st, INVITE_ORG), kbraw(&k, b->k, b->klen), 0, err, "invitation");
        if (rv == APR_SUCCESS && b->klen == 2 * ID_LEN) {
            rv = kv_del(txn, DB(st, INVITES), kb1(&k, b->k + ID_LEN), 0, err, "invitation");
        }
    }
    if (rv == APR_SUCCESS) {
        rv = org_index(st, txn, o, 0, err);
    }
    if (rv == APR_SUCCESS) {
        rv = kv_del(txn, DB(st, ORGS), kb1(&k, o->id), 1, err, "organization");
    }
    return rv;
}

apr_status_t orgs_store_org_delete(orgs_store_t *st, const char *ref, apr_pool_t *p,
                                   orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, org_drop(st, txn, ref, p, err), err);
}

static apr_status_t org_domain(orgs_store_t *st, MDB_txn *txn, const char *ref, const char *domain,
                               int add, apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    char *dom;
    kbuf_t k;
    apr_status_t rv = orgs_parse_domain(domain, &dom, p, err);
    if (rv == APR_SUCCESS) {
        rv = org_find(st, txn, ref, &o, p, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    int has = array_has(o->domains, dom);
    if (add && has) {
        return orgs_err_set(err, APR_EEXIST, "'%s' already has domain '%s'", o->name, dom);
    }
    if (!add && !has) {
        return orgs_err_set(err, APR_NOTFOUND, "'%s' has no domain '%s'", o->name, dom);
    }
    if (add) {
        APR_ARRAY_PUSH(o->domains, const char *) = dom;
        rv = kv_put(txn, DB(st, DOMAINS), kb1(&k, dom), o->id, ID_LEN, MDB_NOOVERWRITE, err,
                    "domain");
        if (rv == APR_EEXIST) {
            return orgs_err_set(err, rv, "domain '%s' belongs to another organization", dom);
        }
    } else {
        apr_array_header_t *d = apr_array_make(p, o->domains->nelts, sizeof(const char *));
        for (int i = 0; i < o->domains->nelts; i++) {
            if (strcmp(APR_ARRAY_IDX(o->domains, i, const char *), dom) != 0) {
                APR_ARRAY_PUSH(d, const char *) = APR_ARRAY_IDX(o->domains, i, const char *);
            }
        }
        o->domains = d;
        rv = kv_del(txn, DB(st, DOMAINS), kb1(&k, dom), 0, err, "domain");
    }
    o->updated = apr_time_now();
    if (rv == APR_SUCCESS) {
        rv = org_validate(o, p, err);
    }
    if (rv == APR_SUCCESS) {
        rv = org_write(st, txn, o, 0, err);
    }
    return rv;
}

apr_status_t orgs_store_org_add_domain(orgs_store_t *st, const char *ref, const char *domain,
                                       apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, org_domain(st, txn, ref, domain, 1, p, err), err);
}

apr_status_t orgs_store_org_remove_domain(orgs_store_t *st, const char *ref, const char *domain,
                                          apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, org_domain(st, txn, ref, domain, 0, p, err), err);
}

apr_status_t orgs_store_org_by_domain(orgs_store_t *st, const char *domain, orgs_org_t **out,
                                      apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    char *dom;
    kbuf_t k;
    MDB_val v;
    apr_status_t rv = orgs_parse_domain(domain, &dom, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((rv = rd_begin(st, &txn, err)) != APR_SUCCESS) {
        return rv;
    }
    rv = kv_get(txn, DB(st, DOMAINS), kb1(&k, dom), &v, err, "domain");
    if (rv == APR_SUCCESS) {
        rv = org_load(st, txn, apr_pstrmemdup(p, v.mv_data, v.mv_size), out, p, err);
    } else if (rv == APR_NOTFOUND) {
        orgs_err_set(err, rv, "no organization has domain '%s'", dom);
    }
    rd_end(st, txn);
    return rv;
}

/* ---- connections ----------------------------------------------------- */

static apr_status_t conn_insert(orgs_store_t *st, MDB_txn *txn, orgs_conn_t *c, const char *sealed,
                                orgs_err_t *err)
{
    kbuf_t k;
    apr_status_t rv = conn_validate(c, err);
    if (rv == APR_SUCCESS) {
        rv = conn_write(st, txn, c, sealed, MDB_NOOVERWRITE, err);
    }
    if (rv == APR_SUCCESS) {
        rv = kv_put(txn, DB(st, CONN_NAMES), kb1(&k, c->name), c->id, ID_LEN, MDB_NOOVERWRITE, err,
                    "connection name");
        if (rv == APR_EEXIST) {
            orgs_err_set(err, rv, "connection name '%s' is taken", c->name);
        }
    }
    return rv;
}

apr_status_t orgs_store_conn_create(orgs_store_t *st, orgs_conn_t *conn, apr_pool_t *p,
                                    orgs_err_t *err)
{
    MDB_txn *txn;
    char *id;
    const char *sealed;
    if (orgs_crypto_random_id("con_", ORGS_ID_CHARS, &id, p) != APR_SUCCESS) {
        return orgs_err_set(err, ORGS_ECRYPTO, "cannot generate an id");
    }
    orgs_conn_t c = *conn;
    c.id = id;
    c.created = c.updated = apr_time_now();
    apr_status_t rv = conn_validate(&c, err);
    if (rv == APR_SUCCESS) {
        rv = conn_seal(st, &c, &sealed, p, err);
    }
    if (rv == APR_SUCCESS) {
        rv = txn_begin(st, 0, &txn, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = txn_end(txn, conn_insert(st, txn, &c, sealed, err), err);
    if (rv == APR_SUCCESS) {
        c.client_secret = NULL;
        *conn = c;
    }
    return rv;
}

static apr_status_t conn_read(orgs_store_t *st, const char *ref, int secret, orgs_conn_t **out,
                              apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    const char *sealed = NULL;
    apr_status_t rv = rd_begin(st, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = conn_find(st, txn, ref, out, &sealed, p, err);
    rd_end(st, txn);
    if (rv == APR_SUCCESS && secret) {
        rv = conn_unseal(st, *out, sealed, p, err);
    }
    return rv;
}

apr_status_t orgs_store_conn_get(orgs_store_t *st, const char *ref, orgs_conn_t **out,
                                 apr_pool_t *p, orgs_err_t *err)
{
    return conn_read(st, ref, 0, out, p, err);
}

apr_status_t orgs_store_conn_get_secret(orgs_store_t *st, const char *ref, orgs_conn_t **out,
                                        apr_pool_t *p, orgs_err_t *err)
{
    return conn_read(st, ref, 1, out, p, err);
}

apr_status_t orgs_store_conn_list(orgs_store_t *st, apr_array_header_t **out, apr_pool_t *p,
                                  orgs_err_t *err)
{
    MDB_txn *txn;
    iter_t it;
    apr_status_t rv = rd_begin(st, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = apr_array_make(p, 8, sizeof(orgs_conn_t *));
    rv = iter_open(txn, DB(st, CONN_NAMES), NULL, &it, err);
    while (rv == APR_SUCCESS && iter_next(&it)) {
        orgs_conn_t *c;
        rv = conn_load(st, txn, apr_pstrmemdup(p, it.v.mv_data, it.v.mv_size), &c, NULL, p, err);
        if (rv == APR_SUCCESS) {
            APR_ARRAY_PUSH(*out, orgs_conn_t *) = c;
        }
    }
    apr_status_t rv2 = iter_close(&it, err);
    rd_end(st, txn);
    return rv != APR_SUCCESS ? rv : rv2;
}

static apr_status_t conn_modify(orgs_store_t *st, MDB_txn *txn, const char *ref,
                                const orgs_conn_t *upd, apr_pool_t *p, orgs_err_t *err)
{
    orgs_conn_t *c;
    const char *sealed;
    apr_status_t rv = conn_find(st, txn, ref, &c, &sealed, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (upd->name && strcmp(upd->name, c->name) != 0) {
        return orgs_err_set(err, APR_EINVAL, "a connection's name cannot change");
    }
    c->display_name = upd->display_name ? upd->display_name : c->display_name;
    c->issuer = upd->issuer ? upd->issuer : c->issuer;
    c->client_id = upd->client_id ? upd->client_id : c->client_id;
    c->scopes = upd->scopes ? upd->scopes : c->scopes;
    c->auth_method = upd->auth_method ? upd->auth_method : c->auth_method;
    c->client_secret = upd->client_secret;
    c->updated = apr_time_now();
    rv = conn_validate(c, err);
    if (rv == APR_SUCCESS && upd->client_secret) {
        rv = conn_seal(st, c, &sealed, p, err);
    }
    if (rv == APR_SUCCESS) {
        rv = conn_write(st, txn, c, sealed, 0, err);
    }
    return rv;
}

apr_status_t orgs_store_conn_update(orgs_store_t *st, const char *ref, const orgs_conn_t *upd,
                                    apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, conn_modify(st, txn, ref, upd, p, err), err);
}

static apr_status_t conn_drop(orgs_store_t *st, MDB_txn *txn, const char *ref, apr_pool_t *p,
                              orgs_err_t *err)
{
    orgs_conn_t *c;
    kbuf_t k;
    apr_array_header_t *list;
    apr_status_t rv = conn_find(st, txn, ref, &c, NULL, p, err);
    if (rv == APR_SUCCESS) {
        rv = collect(txn, DB(st, CONN_USERS), kb1(&k, c->id), &list, p, err);
    }
    for (int i = 0; rv == APR_SUCCESS && i < list->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(list, i, blob_t);
        if (b->klen == 2 * ID_LEN) {
            rv = user_drop(st, txn, b->k + ID_LEN, p, err);
        }
    }
    /* enablements are keyed by org first: few enough to scan */
    if (rv == APR_SUCCESS) {
        rv = collect(txn, DB(st, ENABLE), NULL, &list, p, err);
    }
    for (int i = 0; rv == APR_SUCCESS && i < list->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(list, i, blob_t);
        if (b->klen == 2 * ID_LEN && memcmp(b->k + ID_LEN, c->id, ID_LEN) == 0) {
            rv = kv_del(txn, DB(st, ENABLE), kbraw(&k, b->k, b->klen), 0, err, "enablement");
        }
    }
    if (rv == APR_SUCCESS) {
        rv = kv_del(txn, DB(st, CONN_NAMES), kb1(&k, c->name), 0, err, "connection name");
    }
    if (rv == APR_SUCCESS) {
        rv = kv_del(txn, DB(st, CONNS), kb1(&k, c->id), 1, err, "connection");
    }
    return rv;
}

apr_status_t orgs_store_conn_delete(orgs_store_t *st, const char *ref, apr_pool_t *p,
                                    orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, conn_drop(st, txn, ref, p, err), err);
}

/* ---- enablement ------------------------------------------------------ */

static apr_status_t session_load(orgs_store_t *st, MDB_txn *txn, const unsigned char *hash,
                                 orgs_session_t **out, apr_pool_t *p, orgs_err_t *err);

/* Deletes the org's sessions signed in through conn_id: a walk of the
 * org's range of the session index, not of all sessions. A session whose
 * record is unreadable goes too (fail closed). */
static apr_status_t sessions_drop_conn(orgs_store_t *st, MDB_txn *txn, const char *org_id,
                                       const char *conn_id, apr_pool_t *p, orgs_err_t *err)
{
    apr_array_header_t *hits;
    kbuf_t k;
    apr_status_t rv = collect(txn, DB(st, SESSION_IDX), kb1(&k, org_id), &hits, p, err);
    for (int i = 0; rv == APR_SUCCESS && i < hits->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(hits, i, blob_t);
        const unsigned char *hash = (const unsigned char *)b->k + 2 * ID_LEN;
        orgs_session_t *s;
        if (b->klen != 2 * ID_LEN + HASH_LEN) {
            continue;
        }
        rv = session_load(st, txn, hash, &s, p, err);
        if (rv == APR_SUCCESS && (!s->conn_id || strcmp(s->conn_id, conn_id) != 0)) {
            continue; /* another connection's session */
        }
        if (rv == APR_SUCCESS || rv == ORGS_ESTORE || rv == APR_NOTFOUND) {
            rv = session_erase(st, txn, hash, kbraw(&k, b->k, b->klen), 0, err);
        }
    }
    return rv;
}

static apr_status_t enable_set(orgs_store_t *st, MDB_txn *txn, const char *org_ref,
                               const char *conn_ref, int enable, int auto_membership, apr_pool_t *p,
                               orgs_err_t *err)
{
    orgs_org_t *o;
    orgs_conn_t *c;
    kbuf_t k;
    apr_status_t rv = org_find(st, txn, org_ref, &o, p, err);
    if (rv == APR_SUCCESS) {
        rv = conn_find(st, txn, conn_ref, &c, NULL, p, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    kb2(&k, o->id, c->id);
    if (enable) {
        char flag = auto_membership ? 1 : 0;
        return kv_put(txn, DB(st, ENABLE), &k, &flag, 1, 0, err, "enablement");
    }
    rv = kv_del(txn, DB(st, ENABLE), &k, 1, err, "enablement");
    if (rv == APR_NOTFOUND) {
        return orgs_err_set(err, rv, "'%s' is not enabled on '%s'", c->name, o->name);
    }
    return rv == APR_SUCCESS ? sessions_drop_conn(st, txn, o->id, c->id, p, err) : rv;
}

apr_status_t orgs_store_org_enable_conn(orgs_store_t *st, const char *org_ref, const char *conn_ref,
                                        int auto_membership, apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, enable_set(st, txn, org_ref, conn_ref, 1, auto_membership, p, err), err);
}

apr_status_t orgs_store_org_disable_conn(orgs_store_t *st, const char *org_ref,
                                         const char *conn_ref, apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, enable_set(st, txn, org_ref, conn_ref, 0, 0, p, err), err);
}

static int cmp_enabled(const void *a, const void *b)
{
    return strcmp((*(orgs_enabled_conn_t *const *)a)->conn_name,
                  (*(orgs_enabled_conn_t *const *)b)->conn_name);
}

apr_status_t orgs_store_org_conns(orgs_store_t *st, const char *org_ref, apr_array_header_t **out,
                                  apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    orgs_org_t *o;
    kbuf_t k;
    apr_array_header_t *list;
    apr_status_t rv = rd_begin(st, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = org_find(st, txn, org_ref, &o, p, err);
    if (rv == APR_SUCCESS) {
        rv = collect(txn, DB(st, ENABLE), kb1(&k, o->id), &list, p, err);
    }
    if (rv == APR_SUCCESS) {
        *out = apr_array_make(p, list->nelts + 1, sizeof(orgs_enabled_conn_t *));
    }
    for (int i = 0; rv == APR_SUCCESS && i < list->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(list, i, blob_t);
        orgs_conn_t *c;
        if (b->klen != 2 * ID_LEN || b->vlen != 1) {
            continue;
        }
        rv = conn_load(st, txn, b->k + ID_LEN, &c, NULL, p, err);
        if (rv == APR_SUCCESS) {
            orgs_enabled_conn_t *e = apr_pcalloc(p, sizeof(*e));
            e->conn_id = c->id;
            e->conn_name = c->name;
            e->conn_display_name = c->display_name;
            e->auto_membership = b->v[0] != 0;
            APR_ARRAY_PUSH(*out, orgs_enabled_conn_t *) = e;
        }
    }
    rd_end(st, txn);
    if (rv == APR_SUCCESS) {
        qsort((*out)->elts, (*out)->nelts, sizeof(orgs_enabled_conn_t *), cmp_enabled);
    }
    return rv;
}

apr_status_t orgs_store_org_conn_get(orgs_store_t *st, const char *org_id, const char *conn_id,
                                     orgs_enabled_conn_t **out, apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    orgs_conn_t *c;
    kbuf_t k;
    MDB_val v;
    if (!is_id(org_id, "org_") || !is_id(conn_id, "con_")) {
        return orgs_err_set(err, APR_NOTFOUND, "connection not enabled");
    }
    apr_status_t rv = rd_begin(st, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = kv_get(txn, DB(st, ENABLE), kb2(&k, org_id, conn_id), &v, err, "enablement");
    if (rv == APR_NOTFOUND) {
        orgs_err_set(err, rv, "connection not enabled on the organization");
    }
    int flag = rv == APR_SUCCESS && v.mv_size == 1 && ((const char *)v.mv_data)[0] != 0;
    if (rv == APR_SUCCESS) {
        rv = conn_load(st, txn, conn_id, &c, NULL, p, err);
    }
    rd_end(st, txn);
    if (rv == APR_SUCCESS) {
        orgs_enabled_conn_t *e = apr_pcalloc(p, sizeof(*e));
        e->conn_id = c->id;
        e->conn_name = c->name;
        e->conn_display_name = c->display_name;
        e->auto_membership = flag;
        *out = e;
    }
    return rv;
}

/* ---- users ----------------------------------------------------------- */

static apr_status_t user_insert(orgs_store_t *st, MDB_txn *txn, orgs_user_t *u, apr_pool_t *p,
                                orgs_err_t *err)
{
    apr_status_t rv = user_validate(u, p, err);
    if (rv == APR_SUCCESS) {
        rv = user_write(st, txn, u, MDB_NOOVERWRITE, err);
    }
    if (rv == APR_SUCCESS) {
        rv = user_index(st, txn, u, 1, err);
    }
    return rv;
}

/* Replaces old by upd (same id) with all indexes. */
static apr_status_t user_replace(orgs_store_t *st, MDB_txn *txn, const orgs_user_t *old,
                                 orgs_user_t *upd, apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv = user_validate(upd, p, err);
    if (rv == APR_SUCCESS) {
        rv = user_index(st, txn, old, 0, err);
    }
    if (rv == APR_SUCCESS) {
        rv = user_index(st, txn, upd, 1, err);
    }
    if (rv == APR_SUCCESS) {
        rv = user_write(st, txn, upd, 0, err);
    }
    return rv;
}

static apr_status_t new_user(const char *conn_id, orgs_user_t **out, apr_pool_t *p, orgs_err_t *err)
{
    char *id;
    if (orgs_crypto_random_id("usr_", ORGS_ID_CHARS, &id, p) != APR_SUCCESS) {
        return orgs_err_set(err, ORGS_ECRYPTO, "cannot generate an id");
    }
    *out = apr_pcalloc(p, sizeof(orgs_user_t));
    (*out)->id = id;
    (*out)->conn_id = conn_id;
    (*out)->created = apr_time_now();
    return APR_SUCCESS;
}

static apr_status_t user_login(orgs_store_t *st, MDB_txn *txn, const char *conn_ref,
                               const char *sub, const char *email, const char *name, apr_time_t now,
                               orgs_user_t **out, int *created, apr_pool_t *p, orgs_err_t *err)
{
    orgs_conn_t *c;
    orgs_user_t *old = NULL;
    apr_status_t rv;
    *created = 0;
    if (!sub) {
        return orgs_err_set(err, APR_EINVAL, "sign-in without a sub");
    }
    if ((rv = check_text(sub, ORGS_SUB_MAX, 1, "sub", err)) != APR_SUCCESS ||
        (rv = email_normalize(email, &email, p, err)) != APR_SUCCESS ||
        (name && (rv = orgs_parse_display_name(name, err)) != APR_SUCCESS) ||
        (rv = conn_find(st, txn, conn_ref, &c, NULL, p, err)) != APR_SUCCESS) {
        return rv;
    }
    rv = user_find_sub(st, txn, c->id, sub, &old, p, err);
    if (rv == APR_NOTFOUND && email) {
        rv = user_find_email(st, txn, c->id, email, 1, &old, p, err);
    }
    if (rv == APR_NOTFOUND) {
        orgs_user_t *u;
        if ((rv = new_user(c->id, &u, p, err)) != APR_SUCCESS) {
            return rv;
        }
        u->sub = sub;
        u->email = email;
        u->name = name;
        u->created = u->last_login = now;
        *created = 1;
        *out = u;
        return user_insert(st, txn, u, p, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    orgs_user_t *u = apr_pmemdup(p, old, sizeof(*old));
    u->sub = sub;
    u->email = email ? email : old->email;
    u->name = name ? name : old->name;
    u->last_login = now;
    *out = u;
    return user_replace(st, txn, old, u, p, err);
}

apr_status_t orgs_store_user_login(orgs_store_t *st, const char *conn_id, const char *sub,
                                   const char *email, const char *name, apr_time_t now,
                                   orgs_user_t **out, int *created, apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, user_login(st, txn, conn_id, sub, email, name, now, out, created, p, err),
                   err);
}

apr_status_t orgs_store_user_get(orgs_store_t *st, const char *user_id, orgs_user_t **out,
                                 apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = rd_begin(st, &txn, err);
    if (rv == APR_SUCCESS) {
        rv = user_load(st, txn, user_id, out, p, err);
        rd_end(st, txn);
    }
    return rv;
}

apr_status_t orgs_store_user_by_sub(orgs_store_t *st, const char *conn_ref, const char *sub,
                                    orgs_user_t **out, apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    orgs_conn_t *c;
    if (!sub || !*sub) {
        return orgs_err_set(err, APR_EINVAL, "no sub given");
    }
    apr_status_t rv = rd_begin(st, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = conn_find(st, txn, conn_ref, &c, NULL, p, err);
    if (rv == APR_SUCCESS) {
        rv = user_find_sub(st, txn, c->id, sub, out, p, err);
    }
    rd_end(st, txn);
    return rv;
}

apr_status_t orgs_store_user_by_email(orgs_store_t *st, const char *conn_ref, const char *email,
                                      orgs_user_t **out, apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    orgs_conn_t *c;
    apr_status_t rv;
    if (!email) {
        return orgs_err_set(err, APR_EINVAL, "no email given");
    }
    if ((rv = email_normalize(email, &email, p, err)) != APR_SUCCESS ||
        (rv = rd_begin(st, &txn, err)) != APR_SUCCESS) {
        return rv;
    }
    rv = conn_find(st, txn, conn_ref, &c, NULL, p, err);
    if (rv == APR_SUCCESS) {
        rv = user_find_email(st, txn, c->id, email, 0, out, p, err);
    }
    rd_end(st, txn);
    return rv;
}

apr_status_t orgs_store_user_list(orgs_store_t *st, const char *email, apr_array_header_t **out,
                                  apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    iter_t it;
    kbuf_t k;
    apr_status_t rv;
    if (email && (rv = email_normalize(email, &email, p, err)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = rd_begin(st, &txn, err)) != APR_SUCCESS) {
        return rv;
    }
    *out = apr_array_make(p, 16, sizeof(orgs_user_t *));
    if (email) {
        kb1(&k, email);
        kb_nul(&k);
    }
    rv = iter_open(txn, email ? DB(st, USER_EMAIL) : DB(st, USERS), email ? &k : NULL, &it, err);
    while (rv == APR_SUCCESS && iter_next(&it)) {
        orgs_user_t *u;
        const char *id = email
                             ? apr_pstrmemdup(p, (char *)it.k.mv_data + k.len, it.k.mv_size - k.len)
                             : apr_pstrmemdup(p, it.k.mv_data, it.k.mv_size);
        rv = user_load(st, txn, id, &u, p, err);
        if (rv == APR_SUCCESS) {
            APR_ARRAY_PUSH(*out, orgs_user_t *) = u;
        }
    }
    apr_status_t rv2 = iter_close(&it, err);
    rd_end(st, txn);
    return rv != APR_SUCCESS ? rv : rv2;
}

static apr_status_t user_provision(orgs_store_t *st, MDB_txn *txn, const char *conn_ref,
                                   const char *email, const char *sub, orgs_user_t **out,
                                   apr_pool_t *p, orgs_err_t *err)
{
    orgs_conn_t *c;
    apr_status_t rv;
    if (!email && !sub) {
        return orgs_err_set(err, APR_EINVAL, "an email or a sub is needed");
    }
    if ((sub && (rv = check_text(sub, ORGS_SUB_MAX, 1, "sub", err)) != APR_SUCCESS) ||
        (rv = email_normalize(email, &email, p, err)) != APR_SUCCESS ||
        (rv = conn_find(st, txn, conn_ref, &c, NULL, p, err)) != APR_SUCCESS) {
        return rv;
    }
    rv = sub ? user_find_sub(st, txn, c->id, sub, out, p, err) : APR_NOTFOUND;
    if (rv == APR_NOTFOUND && email) {
        rv = user_find_email(st, txn, c->id, email, 0, out, p, err);
    }
    if (rv != APR_NOTFOUND) {
        return rv;
    }
    if ((rv = new_user(c->id, out, p, err)) != APR_SUCCESS) {
        return rv;
    }
    (*out)->sub = sub;
    (*out)->email = email;
    return user_insert(st, txn, *out, p, err);
}

apr_status_t orgs_store_user_provision(orgs_store_t *st, const char *conn_ref, const char *email,
                                       const char *sub, orgs_user_t **out, apr_pool_t *p,
                                       orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, user_provision(st, txn, conn_ref, email, sub, out, p, err), err);
}

apr_status_t orgs_store_user_delete(orgs_store_t *st, const char *user_id, apr_pool_t *p,
                                    orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, user_drop(st, txn, user_id, p, err), err);
}

/* ---- members and roles ----------------------------------------------- */

static apr_status_t member_insert(orgs_store_t *st, MDB_txn *txn, const char *org_ref,
                                  const char *user_id, const apr_array_header_t *roles,
                                  apr_time_t created, apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    apr_array_header_t *r;
    kbuf_t k;
    MDB_val v;
    const char *org_id = org_ref;
    apr_status_t rv = roles_normalize(roles, &r, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* existence is enough here: no need to decode the records (bulk import) */
    if (is_id(org_ref, "org_")) {
        rv = kv_get(txn, DB(st, ORGS), kb1(&k, org_ref), &v, err, "organization");
    } else if ((rv = org_find(st, txn, org_ref, &o, p, err)) == APR_SUCCESS) {
        org_id = o->id;
    }
    if (rv == APR_NOTFOUND) {
        return orgs_err_set(err, rv, "organization '%s' not found", org_ref ? org_ref : "");
    }
    if (rv == APR_SUCCESS) {
        rv = is_id(user_id, "usr_") ? kv_get(txn, DB(st, USERS), kb1(&k, user_id), &v, err, "user")
                                    : APR_NOTFOUND;
        if (rv == APR_NOTFOUND) {
            return orgs_err_set(err, rv, "user '%s' not found", user_id ? user_id : "");
        }
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return member_write(st, txn, org_id, user_id, r, created, MDB_NOOVERWRITE, p, err);
}

apr_status_t orgs_store_member_add(orgs_store_t *st, const char *org_ref, const char *user_id,
                                   const apr_array_header_t *roles, apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, member_insert(st, txn, org_ref, user_id, roles, apr_time_now(), p, err),
                   err);
}

apr_status_t orgs_store_member_get(orgs_store_t *st, const char *org_id, const char *user_id,
                                   orgs_member_t **out, apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    unsigned char org[ID_BIN], user[ID_BIN];
    ment_t e;
    if (!id_pack(org_id, "org_", org) || !id_pack(user_id, "usr_", user)) {
        return orgs_err_set(err, APR_NOTFOUND, "not a member");
    }
    apr_status_t rv = rd_begin(st, &txn, err);
    if (rv == APR_SUCCESS) {
        rv = member_find(st, txn, org, user, &e, err);
        if (rv == APR_SUCCESS) { /* copied before the transaction ends */
            *out = member_make(&e, apr_pstrmemdup(p, org_id, ID_LEN),
                               apr_pstrmemdup(p, user_id, ID_LEN), p);
        }
        rd_end(st, txn);
    }
    return rv;
}

static apr_status_t member_remove(orgs_store_t *st, MDB_txn *txn, const char *org_ref,
                                  const char *user_id, apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    apr_status_t rv = org_find(st, txn, org_ref, &o, p, err);
    if (rv == APR_SUCCESS && !is_id(user_id, "usr_")) {
        rv = orgs_err_set(err, APR_NOTFOUND, "user '%s' not found", user_id ? user_id : "");
    }
    return rv == APR_SUCCESS ? member_drop(st, txn, o->id, user_id, 1, p, err) : rv;
}

apr_status_t orgs_store_member_remove(orgs_store_t *st, const char *org_ref, const char *user_id,
                                      apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, member_remove(st, txn, org_ref, user_id, p, err), err);
}

/* An org's members (by user id, through the index) or a user's memberships
 * (by org id, from the record); ids are checked ids. */
static apr_status_t members_under(orgs_store_t *st, MDB_txn *txn, int of_user, const char *id,
                                  apr_array_header_t **out, apr_pool_t *p, orgs_err_t *err)
{
    apr_array_header_t *users;
    unsigned char bin[ID_BIN];
    mrec_t r;
    ment_t e;
    apr_status_t rv;
    *out = apr_array_make(p, 16, sizeof(orgs_member_t *));
    if (of_user) {
        if (!id_pack(id, "usr_", bin)) {
            return orgs_err_set(err, ORGS_ESTORE, "corrupt user record");
        }
        if ((rv = mrec_load(st, txn, bin, &r, err)) != APR_SUCCESS) {
            return rv;
        }
        const char *user_id = apr_pstrdup(p, id);
        for (apr_uint32_t i = 0; i < r.n; i++) {
            const char *org_id = id_str(mrec_ent(&r, i), "org_", p);
            if (!org_id || !mrec_get(&r, i, &e)) {
                return orgs_err_set(err, ORGS_ESTORE, "corrupt membership record");
            }
            APR_ARRAY_PUSH(*out, orgs_member_t *) = member_make(&e, org_id, user_id, p);
        }
        return APR_SUCCESS;
    }
    rv = org_member_ids(st, txn, id, &users, p, err);
    for (int i = 0; rv == APR_SUCCESS && i < users->nelts; i++) {
        const char *user_id = id_str(APR_ARRAY_IDX(users, i, const unsigned char *), "usr_", p);
        orgs_member_t *m;
        rv = user_id ? member_read(st, txn, id, user_id, &m, p, err)
                     : orgs_err_set(err, ORGS_ESTORE, "corrupt membership index");
        if (rv == APR_SUCCESS) {
            APR_ARRAY_PUSH(*out, orgs_member_t *) = m;
        }
    }
    return rv;
}

apr_status_t orgs_store_member_list(orgs_store_t *st, const char *org_ref, apr_array_header_t **out,
                                    apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    orgs_org_t *o;
    apr_status_t rv = rd_begin(st, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = org_find(st, txn, org_ref, &o, p, err);
    if (rv == APR_SUCCESS) {
        rv = members_under(st, txn, 0, o->id, out, p, err);
    }
    rd_end(st, txn);
    return rv;
}

apr_status_t orgs_store_user_orgs(orgs_store_t *st, const char *user_id, apr_array_header_t **out,
                                  apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    orgs_user_t *u;
    apr_status_t rv = rd_begin(st, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = user_load(st, txn, user_id, &u, p, err);
    if (rv == APR_SUCCESS) {
        rv = members_under(st, txn, 1, u->id, out, p, err);
    }
    rd_end(st, txn);
    return rv;
}

static apr_status_t role_change(orgs_store_t *st, MDB_txn *txn, const char *org_ref,
                                const char *user_id, const apr_array_header_t *roles, int add,
                                apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    orgs_member_t *m;
    apr_array_header_t *r;
    apr_status_t rv;
    if ((rv = roles_normalize(roles, &r, p, err)) != APR_SUCCESS ||
        (rv = org_find(st, txn, org_ref, &o, p, err)) != APR_SUCCESS ||
        (rv = member_read(st, txn, o->id, user_id, &m, p, err)) != APR_SUCCESS) {
        return rv;
    }
    apr_array_header_t *next = apr_array_make(p, m->roles->nelts + r->nelts, sizeof(char *));
    for (int i = 0; i < m->roles->nelts; i++) {
        const char *role = APR_ARRAY_IDX(m->roles, i, const char *);
        if (add || !array_has(r, role)) {
            APR_ARRAY_PUSH(next, const char *) = role;
        }
    }
    for (int i = 0; i < r->nelts; i++) {
        const char *role = APR_ARRAY_IDX(r, i, const char *);
        if (add) {
            APR_ARRAY_PUSH(next, const char *) = role;
        } else if (!array_has(m->roles, role)) {
            return orgs_err_set(err, APR_NOTFOUND, "member has no role '%s'", role);
        }
    }
    if ((rv = roles_normalize(next, &next, p, err)) != APR_SUCCESS) {
        return rv;
    }
    return member_write(st, txn, o->id, m->user_id, next, m->created, 0, p, err);
}

apr_status_t orgs_store_role_add(orgs_store_t *st, const char *org_ref, const char *user_id,
                                 const apr_array_header_t *roles, apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, role_change(st, txn, org_ref, user_id, roles, 1, p, err), err);
}

apr_status_t orgs_store_role_remove(orgs_store_t *st, const char *org_ref, const char *user_id,
                                    const apr_array_header_t *roles, apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, role_change(st, txn, org_ref, user_id, roles, 0, p, err), err);
}

/* ---- sessions -------------------------------------------------------- */

/* A session record is binary, so the per-request read decodes it with a
 * few loads and no parser:
 *   [0]          SREC_TAG
 *   [1, 37)      packed org id, user id, connection id (ID_BIN each)
 *   [37, 61)     created, last_seen, expires (8 bytes LE each)
 *   [61]         length n of the connection's name
 *   [62, 62 + n) the connection's name (it never changes, so the view need
 *                not decode the connection record)
 *   4 bytes LE   length L of the claims JSON text, SREC_NONE when none
 *   L bytes      the claims JSON text, as it came (no NUL)
 *   the rest     the claims decoded once, at sign-in (session_pairs):
 *                "name\0value\0" for each claim with a scalar value
 * The ID token kept for logout is not in it: it lives in session_hints and
 * is read at logout only. */
#define SREC_TAG 0x53 /* 'S'; not '{', the start of a JSON record */
#define SREC_TIMES (1 + 3 * ID_BIN)
#define SREC_NAME (SREC_TIMES + 24)
#define SREC_FIXED (SREC_NAME + 1)
#define SREC_NONE 0xffffffffu

typedef struct {
    const unsigned char *org, *user, *conn; /* packed ids, into the record */
    apr_time_t created, last_seen, expires;
    const char *conn_name;
    size_t conn_name_len;
    const char *claims; /* NULL: none */
    size_t claims_len;
    const char *pairs; /* "name\0value\0"... */
    size_t pairs_len;
} srec_t;

/* 1 and r filled (pointing into v) if v is a well-formed record; else 0. */
static int srec_open(const MDB_val *v, srec_t *r)
{
    const unsigned char *d = v->mv_data;
    if (v->mv_size < SREC_FIXED || d[0] != SREC_TAG) {
        return 0;
    }
    size_t n = d[SREC_NAME], at = SREC_FIXED + n;
    if (v->mv_size < at + 4) {
        return 0;
    }
    apr_uint32_t len = get_u32le(d + at);
    at += 4;
    if (len != SREC_NONE && len > v->mv_size - at) {
        return 0;
    }
    r->org = d + 1;
    r->user = d + 1 + ID_BIN;
    r->conn = d + 1 + 2 * ID_BIN;
    r->created = (apr_time_t)get_u64le(d + SREC_TIMES);
    r->last_seen = (apr_time_t)get_u64le(d + SREC_TIMES + 8);
    r->expires = (apr_time_t)get_u64le(d + SREC_TIMES + 16);
    r->conn_name = (const char *)d + SREC_FIXED;
    r->conn_name_len = n;
    r->claims = len == SREC_NONE ? NULL : (const char *)d + at;
    r->claims_len = len == SREC_NONE ? 0 : len;
    r->pairs = (const char *)d + at + r->claims_len;
    r->pairs_len = v->mv_size - at - r->claims_len;
    return memchr(r->conn_name, '\0', n) == NULL &&
           (!r->claims || memchr(r->claims, '\0', r->claims_len) == NULL) &&
           (r->pairs_len == 0 || r->pairs[r->pairs_len - 1] == '\0');
}

/* The claims with a scalar value, as text ("name\0value\0"... in p): what
 * the per-request export needs, decoded here once. Strings as they are,
 * integers in decimal, booleans "true"/"false", reals "%.17g"; other
 * values, and claims that are not a JSON object, give nothing. */
static const char *session_pairs(const char *claims_json, size_t *len, apr_pool_t *p)
{
    json_t *claims = claims_json ? json_loads(claims_json, 0, NULL) : NULL;
    const char *key, *out = "";
    json_t *val;
    *len = 0;
    if (json_is_object(claims)) {
        apr_array_header_t *parts = apr_array_make(p, 16, sizeof(struct iovec));
        json_object_foreach(claims, key, val)
        {
            const char *text = NULL;
            if (json_is_string(val)) {
                text = json_string_value(val);
            } else if (json_is_integer(val)) {
                text = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(val));
            } else if (json_is_boolean(val)) {
                text = json_is_true(val) ? "true" : "false";
            } else if (json_is_real(val)) {
                text = apr_psprintf(p, "%.17g", json_real_value(val));
            }
            if (text) {
                struct iovec *io = apr_array_push(parts);
                io->iov_base = (void *)key;
                io->iov_len = strlen(key) + 1;
                io = apr_array_push(parts);
                io->iov_base = (void *)text;
                io->iov_len = strlen(text) + 1;
            }
        }
        out = apr_pstrcatv(p, (const struct iovec *)parts->elts, (apr_size_t)parts->nelts, len);
    }
    json_decref(claims);
    return out;
}

/* The record of s (ids already checked by the caller). */
static apr_status_t srec_make(const orgs_session_t *s, const char *conn_name, MDB_val *out,
                              apr_pool_t *p, orgs_err_t *err)
{
    size_t n = strlen(conn_name), cl = s->claims_json ? strlen(s->claims_json) : 0, pl;
    const char *pairs = session_pairs(s->claims_json, &pl, p);
    size_t size = SREC_FIXED + n + 4 + cl + pl;
    unsigned char *b = apr_palloc(p, size);
    if (n > 255 || !id_pack(s->org_id, "org_", b + 1) ||
        !id_pack(s->user_id, "usr_", b + 1 + ID_BIN) ||
        !id_pack(s->conn_id, "con_", b + 1 + 2 * ID_BIN)) {
        return orgs_err_set(err, APR_EINVAL, "session: bad ids");
    }
    b[0] = SREC_TAG;
    put_u64le(b + SREC_TIMES, (apr_uint64_t)s->created);
    put_u64le(b + SREC_TIMES + 8, (apr_uint64_t)s->last_seen);
    put_u64le(b + SREC_TIMES + 16, (apr_uint64_t)s->expires);
    b[SREC_NAME] = (unsigned char)n;
    /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): length in b[SREC_NAME], no NUL */
    memcpy(b + SREC_FIXED, conn_name, n);
    put_u32le(b + SREC_FIXED + n, s->claims_json ? (apr_uint32_t)cl : SREC_NONE);
    memcpy(b + SREC_FIXED + n + 4, s->claims_json ? s->claims_json : "", cl);
    memcpy(b + SREC_FIXED + n + 4 + cl, pairs, pl);
    out->mv_data = b;
    out->mv_size = size;
    return APR_SUCCESS;
}

/* The decoded claims of r as orgs_kv_t (one copy of the block into p). */
static apr_array_header_t *srec_claims(const srec_t *r, apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, 8, sizeof(orgs_kv_t));
    char *copy = apr_pmemdup(p, r->pairs, r->pairs_len);
    for (size_t off = 0; off < r->pairs_len;) {
        orgs_kv_t *kv = apr_array_push(a);
        kv->key = copy + off;
        off += strlen(copy + off) + 1;
        kv->value = off < r->pairs_len ? copy + off : "";
        off += off < r->pairs_len ? strlen(copy + off) + 1 : 0;
    }
    return a;
}

/* Fills s from r (text ids in p; claims copied only when with_claims;
 * id_token_hint stays NULL). 0 if an id is corrupt. */
static int srec_session(const srec_t *r, orgs_session_t *s, int with_claims, apr_pool_t *p)
{
    memset(s, 0, sizeof(*s));
    s->org_id = id_str(r->org, "org_", p);
    s->user_id = id_str(r->user, "usr_", p);
    s->conn_id = id_str(r->conn, "con_", p);
    s->created = r->created;
    s->last_seen = r->last_seen;
    s->expires = r->expires;
    if (with_claims && r->claims) {
        s->claims_json = apr_pstrmemdup(p, r->claims, r->claims_len);
    }
    return s->org_id && s->user_id && s->conn_id;
}

/* Decodes a session record (v points into the map), claims included. */
static apr_status_t session_parse(const MDB_val *v, orgs_session_t **out, apr_pool_t *p,
                                  orgs_err_t *err)
{
    srec_t r;
    orgs_session_t *s = apr_palloc(p, sizeof(*s));
    if (!srec_open(v, &r) || !srec_session(&r, s, 1, p)) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt session record");
    }
    *out = s;
    return APR_SUCCESS;
}

static apr_status_t session_load(orgs_store_t *st, MDB_txn *txn, const unsigned char *hash,
                                 orgs_session_t **out, apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    MDB_val v;
    apr_status_t rv = kv_get(txn, DB(st, SESSIONS), kbraw(&k, hash, HASH_LEN), &v, err, "session");
    return rv == APR_SUCCESS ? session_parse(&v, out, p, err) : rv;
}

/* 0 when text is valid UTF-8 (what the JSON records required); else -1. */
static int utf8_check(const char *text)
{
    json_t *j = text ? json_string(text) : NULL;
    json_decref(j);
    return text && !j ? -1 : 0;
}

static kbuf_t *kb_session_idx(kbuf_t *k, const orgs_session_t *s, const unsigned char *hash)
{
    kb2(k, s->org_id, s->user_id);
    kb_add(k, hash, HASH_LEN);
    return k;
}

/* One of a member's sessions, when choosing which to drop. */
typedef struct {
    const blob_t *idx;  /* its session_idx entry: org id + user id + hash */
    apr_time_t created; /* 0 if its record is unreadable or gone: dropped first */
} session_age_t;

static int session_age_cmp(const void *a, const void *b)
{
    const session_age_t *x = a, *y = b;
    if (x->created != y->created) {
        return x->created < y->created ? -1 : 1;
    }
    return memcmp(x->idx->k, y->idx->k, x->idx->klen); /* all keys have the same length */
}

/* Keeps at most ORGS_STORE_SESSIONS_PER_MEMBER sessions of s's member,
 * keep (the one just written) among them; the others go oldest first,
 * record and index entry. A walk of the member's range of the index: a
 * few entries, since every put trims it. */
static apr_status_t sessions_trim(orgs_store_t *st, MDB_txn *txn, const orgs_session_t *s,
                                  const unsigned char *keep, apr_pool_t *p, orgs_err_t *err)
{
    apr_array_header_t *hits;
    kbuf_t k;
    int n = 0;
    apr_status_t rv =
        collect(txn, DB(st, SESSION_IDX), kb2(&k, s->org_id, s->user_id), &hits, p, err);
    if (rv != APR_SUCCESS || hits->nelts <= ORGS_STORE_SESSIONS_PER_MEMBER) {
        return rv;
    }
    session_age_t *others = apr_pcalloc(p, sizeof(*others) * (apr_size_t)hits->nelts);
    for (int i = 0; i < hits->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(hits, i, blob_t);
        const unsigned char *hash = (const unsigned char *)b->k + 2 * ID_LEN;
        orgs_session_t *o;
        if (b->klen != 2 * ID_LEN + HASH_LEN || memcmp(hash, keep, HASH_LEN) == 0) {
            continue;
        }
        others[n].idx = b;
        others[n].created =
            session_load(st, txn, hash, &o, p, NULL) == APR_SUCCESS ? o->created : 0;
        n++;
    }
    if (n < ORGS_STORE_SESSIONS_PER_MEMBER) {
        return APR_SUCCESS;
    }
    qsort(others, (size_t)n, sizeof(*others), session_age_cmp);
    /* keep + the newest ORGS_STORE_SESSIONS_PER_MEMBER - 1 others stay */
    for (int i = 0; rv == APR_SUCCESS && i <= n - ORGS_STORE_SESSIONS_PER_MEMBER; i++) {
        const blob_t *b = others[i].idx;
        rv = session_erase(st, txn, (const unsigned char *)b->k + 2 * ID_LEN,
                           kbraw(&k, b->k, b->klen), 0, err);
    }
    return rv;
}

static apr_status_t session_put(orgs_store_t *st, MDB_txn *txn, const unsigned char *hash,
                                const orgs_session_t *s, apr_pool_t *p, orgs_err_t *err)
{
    orgs_member_t *m;
    orgs_conn_t *c;
    orgs_session_t *old;
    kbuf_t k;
    MDB_val rec = {0, NULL};
    apr_status_t rv;
    if (!s->expires || s->expires < s->created || s->last_seen < s->created) {
        return orgs_err_set(err, APR_EINVAL, "session times are inconsistent");
    }
    if ((s->id_token_hint && strnlen(s->id_token_hint, ORGS_STORE_SESSION_HINT_MAX + 1) >
                                 ORGS_STORE_SESSION_HINT_MAX) ||
        (s->claims_json && strnlen(s->claims_json, ORGS_STORE_SESSION_CLAIMS_MAX + 1) >
                               ORGS_STORE_SESSION_CLAIMS_MAX)) {
        return orgs_err_set(err, APR_EINVAL, "session data too large");
    }
    if ((rv = member_read(st, txn, s->org_id, s->user_id, &m, p, err)) != APR_SUCCESS ||
        (rv = conn_load(st, txn, s->conn_id, &c, NULL, p, err)) != APR_SUCCESS) {
        return rv;
    }
    if (utf8_check(s->claims_json) || utf8_check(s->id_token_hint)) {
        return orgs_err_set(err, APR_EINVAL, "session: cannot encode record (invalid UTF-8?)");
    }
    if ((rv = srec_make(s, c->name, &rec, p, err)) != APR_SUCCESS) {
        return rv;
    }
    rv = session_load(st, txn, hash, &old, p, err);
    if (rv == APR_SUCCESS) {
        rv = kv_del(txn, DB(st, SESSION_IDX), kb_session_idx(&k, old, hash), 0, err, "session");
    } else if (rv == APR_NOTFOUND) {
        rv = APR_SUCCESS;
    }
    if (rv == APR_SUCCESS) {
        rv = kv_put(txn, DB(st, SESSIONS), kbraw(&k, hash, HASH_LEN), rec.mv_data, rec.mv_size, 0,
                    err, "session");
    }
    if (rv == APR_SUCCESS) {
        rv = s->id_token_hint ? kv_put(txn, DB(st, SESSION_HINTS), &k, s->id_token_hint,
                                       strlen(s->id_token_hint), 0, err, "session")
                              : kv_del(txn, DB(st, SESSION_HINTS), &k, 0, err, "session");
    }
    if (rv == APR_SUCCESS) {
        rv =
            kv_put(txn, DB(st, SESSION_IDX), kb_session_idx(&k, s, hash), "", 0, 0, err, "session");
    }
    return rv == APR_SUCCESS ? sessions_trim(st, txn, s, hash, p, err) : rv;
}

apr_status_t orgs_store_session_put(orgs_store_t *st, const unsigned char sid_hash[32],
                                    const orgs_session_t *s, apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, session_put(st, txn, sid_hash, s, p, err), err);
}

static int session_expired(const orgs_session_t *s, apr_time_t now, apr_interval_time_t idle)
{
    return now > s->expires || (idle > 0 && now - s->last_seen > idle);
}

/* The hot path: one record decoded without a parser, the membership found
 * inside the user's packed record, the org and the user decoded, the
 * connection only looked up (its name is in the session record). */
static apr_status_t session_view(orgs_store_t *st, MDB_txn *txn, const unsigned char *hash,
                                 apr_time_t now, apr_interval_time_t idle,
                                 orgs_session_view_t **out, apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    orgs_user_t *u;
    srec_t r;
    ment_t e;
    kbuf_t k;
    MDB_val v;
    apr_status_t rv = kv_get(txn, DB(st, SESSIONS), kbraw(&k, hash, HASH_LEN), &v, err, "session");
    if (rv != APR_SUCCESS) {
        return rv;
    }
    orgs_session_view_t *vw = apr_palloc(p, sizeof(*vw));
    orgs_session_t *s = &vw->session;
    if (!srec_open(&v, &r) || !srec_session(&r, s, 1, p)) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt session record");
    }
    if (session_expired(s, now, idle)) {
        return orgs_err_set(err, ORGS_EEXPIRED, "session expired");
    }
    if ((rv = member_find(st, txn, r.org, r.user, &e, err)) != APR_SUCCESS ||
        (rv = org_load(st, txn, s->org_id, &o, p, err)) != APR_SUCCESS ||
        (rv = user_load(st, txn, s->user_id, &u, p, err)) != APR_SUCCESS ||
        (rv = kv_get(txn, DB(st, CONNS), kb1(&k, s->conn_id), &v, err, "connection")) !=
            APR_SUCCESS) {
        return rv;
    }
    vw->member.org_id = s->org_id;
    vw->member.user_id = s->user_id;
    vw->member.created = e.created;
    vw->member.roles = roles_decode(&e, p);
    vw->org = *o;
    vw->user = *u;
    vw->conn_name = apr_pstrmemdup(p, r.conn_name, r.conn_name_len);
    vw->claims = srec_claims(&r, p);
    *out = vw;
    return APR_SUCCESS;
}

apr_status_t orgs_store_session_view(orgs_store_t *st, const unsigned char sid_hash[32],
                                     apr_time_t now, apr_interval_time_t idle,
                                     orgs_session_view_t **out, apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = rd_begin(st, &txn, err);
    if (rv == APR_SUCCESS) {
        rv = session_view(st, txn, sid_hash, now, idle, out, p, err);
        rd_end(st, txn);
    }
    return rv;
}

static apr_status_t session_touch(orgs_store_t *st, MDB_txn *txn, const unsigned char *hash,
                                  apr_time_t now, apr_pool_t *p, orgs_err_t *err)
{
    srec_t r;
    kbuf_t k;
    MDB_val v;
    apr_status_t rv = kv_get(txn, DB(st, SESSIONS), kbraw(&k, hash, HASH_LEN), &v, err, "session");
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!srec_open(&v, &r)) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt session record");
    }
    /* v points into the map: change a copy */
    unsigned char *b = apr_pmemdup(p, v.mv_data, v.mv_size);
    put_u64le(b + SREC_TIMES + 8, (apr_uint64_t)now);
    return kv_put(txn, DB(st, SESSIONS), &k, b, v.mv_size, 0, err, "session");
}

apr_status_t orgs_store_session_touch(orgs_store_t *st, const unsigned char sid_hash[32],
                                      apr_time_t now, apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, session_touch(st, txn, sid_hash, now, p, err), err);
}

static apr_status_t session_drop(orgs_store_t *st, MDB_txn *txn, const unsigned char *hash,
                                 apr_pool_t *p, orgs_err_t *err)
{
    orgs_session_t *s;
    kbuf_t k;
    apr_status_t rv = session_load(st, txn, hash, &s, p, err);
    return rv == APR_SUCCESS ? session_erase(st, txn, hash, kb_session_idx(&k, s, hash), 1, err)
                             : rv;
}

apr_status_t orgs_store_session_hint_get(orgs_store_t *st, const unsigned char sid_hash[32],
                                         const char **hint, apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    MDB_val v;
    kbuf_t k;
    *hint = NULL;
    apr_status_t rv = rd_begin(st, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    kbraw(&k, sid_hash, HASH_LEN);
    rv = kv_get(txn, DB(st, SESSIONS), &k, &v, err, "session");
    if (rv == APR_SUCCESS && st->has_session_hints) {
        rv = kv_get(txn, DB(st, SESSION_HINTS), &k, &v, err, "session");
        if (rv == APR_SUCCESS) {
            *hint = apr_pstrmemdup(p, v.mv_data, v.mv_size);
        } else if (rv == APR_NOTFOUND) {
            rv = APR_SUCCESS; /* a session without a hint */
        }
    }
    rd_end(st, txn);
    return rv;
}

apr_status_t orgs_store_session_delete(orgs_store_t *st, const unsigned char sid_hash[32],
                                       apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, session_drop(st, txn, sid_hash, p, err), err);
}

/* A session the purge found expired: its key and what its index entry needs. */
typedef struct {
    unsigned char hash[HASH_LEN];
    orgs_session_t *s;
} session_gone_t;

/* One purge batch: reads at most st->purge_scan sessions in key order,
 * from the first key after *from (from->len 0: the first of all), and
 * deletes those expired, at most st->purge_batch. *from becomes the
 * last key read; *more says whether sessions are left to read. */
static apr_status_t session_purge_batch(orgs_store_t *st, MDB_txn *txn, apr_time_t now,
                                        apr_interval_time_t idle, kbuf_t *from, apr_size_t *removed,
                                        int *more, apr_pool_t *p, orgs_err_t *err)
{
    session_gone_t *gone = apr_palloc(p, sizeof(*gone) * st->purge_batch);
    MDB_cursor *cur;
    MDB_val key = {from->len, from->buf}, val;
    kbuf_t k;
    apr_size_t n = 0, seen = 0;
    int rc = mdb_cursor_open(txn, DB(st, SESSIONS), &cur);
    apr_status_t rv = APR_SUCCESS;
    *more = 0;
    *removed = 0;
    if (rc != MDB_SUCCESS) {
        return mdb_fail(rc, err, "cursor");
    }
    if (from->len == 0) {
        rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
    } else {
        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
        if (rc == MDB_SUCCESS && key.mv_size == from->len &&
            memcmp(key.mv_data, from->buf, from->len) == 0) {
            rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT); /* read (and kept) last time */
        }
    }
    for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        orgs_session_t *s = apr_palloc(p, sizeof(*s));
        srec_t r;
        if (seen == st->purge_scan || n == st->purge_batch) {
            *more = 1;
            break;
        }
        seen++;
        kbraw(from, key.mv_data, key.mv_size);
        if (key.mv_size == HASH_LEN && srec_open(&val, &r) && srec_session(&r, s, 0, p) &&
            session_expired(s, now, idle)) {
            memcpy(gone[n].hash, key.mv_data, HASH_LEN);
            gone[n++].s = s;
        }
    }
    mdb_cursor_close(cur);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        return mdb_fail(rc, err, "cursor");
    }
    for (apr_size_t i = 0; rv == APR_SUCCESS && i < n; i++) {
        rv = session_erase(st, txn, gone[i].hash, kb_session_idx(&k, gone[i].s, gone[i].hash), 1,
                           err);
    }
    if (rv == APR_SUCCESS) {
        *removed = n;
    }
    return rv;
}

void orgs_store_session_purge_set_batch(orgs_store_t *st, apr_size_t batch, apr_size_t scan)
{
    st->purge_batch = batch ? batch : SESSION_PURGE_BATCH;
    st->purge_scan = scan ? scan : SESSION_PURGE_SCAN;
}

/* Batch after batch, each its own short write transaction (the purge runs
 * on a request thread, and the store has one writer at a time); the
 * memory of a batch is freed before the next. */
apr_status_t orgs_store_session_purge(orgs_store_t *st, apr_time_t now, apr_interval_time_t idle,
                                      apr_size_t *removed, apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t from = {.len = 0};
    int more = 1;
    apr_status_t rv = APR_SUCCESS;
    *removed = 0;
    while (rv == APR_SUCCESS && more) {
        apr_pool_t *bp;
        MDB_txn *txn;
        apr_size_t n = 0;
        if (apr_pool_create(&bp, p) != APR_SUCCESS) {
            return orgs_err_set(err, APR_ENOMEM, "out of memory");
        }
        rv = txn_begin(st, 0, &txn, err);
        if (rv == APR_SUCCESS) {
            rv = txn_end(txn, session_purge_batch(st, txn, now, idle, &from, &n, &more, bp, err),
                         err);
        }
        if (rv == APR_SUCCESS) {
            *removed += n;
        }
        apr_pool_destroy(bp);
    }
    return rv;
}

/* ---- pending logins -------------------------------------------------- */

static apr_status_t check_state(const char *state, orgs_err_t *err)
{
    size_t n = state ? strlen(state) : 0;
    if (n < STATE_MIN || n > STATE_MAX ||
        strspn(state, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
                      "nopqrstuvwxyz0123456789-_") != n) {
        return orgs_err_set(err, APR_EINVAL, "bad state");
    }
    return APR_SUCCESS;
}

static kbuf_t *kb_pending_idx(kbuf_t *k, const unsigned char *browser, apr_time_t created,
                              const char *state)
{
    unsigned char t[8];
    put_u64be(t, (apr_uint64_t)created);
    kbraw(k, browser, HASH_LEN);
    kb_add(k, t, 8);
    kb_str(k, state);
    return k;
}

static kbuf_t *kb_pending_time(kbuf_t *k, apr_time_t created, const char *state)
{
    unsigned char t[8];
    put_u64be(t, (apr_uint64_t)created);
    kbraw(k, t, 8);
    kb_str(k, state);
    return k;
}

/* Deletes the record and its index entries; browser NULL when unknown
 * (corrupt record): its browser index entry then stays, for check to see. */
static apr_status_t pending_drop(orgs_store_t *st, MDB_txn *txn, const unsigned char *browser,
                                 apr_time_t created, const char *state, orgs_err_t *err)
{
    kbuf_t k;
    apr_status_t rv = kv_del(txn, DB(st, PENDING), kb1(&k, state), 0, err, "pending login");
    if (rv == APR_SUCCESS) {
        rv = kv_del(txn, DB(st, PENDING_TIME), kb_pending_time(&k, created, state), 0, err,
                    "pending login");
    }
    if (rv == APR_SUCCESS && browser) {
        rv = kv_del(txn, DB(st, PENDING_BROWSER), kb_pending_idx(&k, browser, created, state), 0,
                    err, "pending login");
    }
    return rv;
}

/* ORGS_ESTORE when the record is unreadable. */
static apr_status_t pending_load(orgs_store_t *st, MDB_txn *txn, const char *state,
                                 orgs_pending_t **out, apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    json_t *j;
    unsigned char *b = NULL;
    apr_size_t blen = 0;
    apr_status_t rv = get_json(txn, DB(st, PENDING), kb1(&k, state), &j, err, "pending login");
    if (rv != APR_SUCCESS) {
        return rv;
    }
    orgs_pending_t *pl = apr_pcalloc(p, sizeof(*pl));
    const char *browser = jget_str(j, "browser", p);
    pl->state = apr_pstrdup(p, state);
    pl->nonce = jget_str(j, "nonce", p);
    pl->code_verifier = jget_str(j, "code_verifier", p);
    pl->org_id = jget_str(j, "org_id", p);
    pl->conn_id = jget_str(j, "conn_id", p);
    pl->return_to = jget_str(j, "return_to", p);
    pl->created = jget_int(j, "created");
    json_decref(j);
    if (!browser || orgs_crypto_b64url_decode(browser, strlen(browser), &b, &blen, p) ||
        blen != HASH_LEN) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt pending login");
    }
    memcpy(pl->browser, b, HASH_LEN);
    *out = pl;
    return APR_SUCCESS;
}

/* Drops up to max expired pending logins (now - created > ttl) of any
 * browser, oldest first: a walk of the time index that stops at the first
 * live entry, so it costs O(max), never a scan. *more: the batch was
 * filled, so expired entries may remain. */
static apr_status_t pending_sweep(orgs_store_t *st, MDB_txn *txn, apr_time_t now,
                                  apr_interval_time_t ttl, int max, int *more, apr_pool_t *p,
                                  orgs_err_t *err)
{
    iter_t it;
    apr_array_header_t *old = apr_array_make(p, max, sizeof(blob_t));
    apr_status_t rv = iter_open(txn, DB(st, PENDING_TIME), NULL, &it, err);
    *more = 0;
    while (rv == APR_SUCCESS && iter_next(&it)) {
        if (it.k.mv_size > 8 &&
            now - (apr_time_t)get_u64be((const unsigned char *)it.k.mv_data) <= ttl) {
            break; /* oldest first: the rest is live */
        }
        if (old->nelts == max) {
            *more = 1;
            break;
        }
        blob_t *b = apr_array_push(old);
        b->klen = it.k.mv_size;
        b->k = apr_pstrmemdup(p, it.k.mv_data, it.k.mv_size);
    }
    apr_status_t rv2 = iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    for (int i = 0; rv == APR_SUCCESS && i < old->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(old, i, blob_t);
        orgs_pending_t *pl;
        kbuf_t k;
        if (b->klen <= 8) { /* malformed entry: only the entry itself can go */
            rv = kv_del(txn, DB(st, PENDING_TIME), kbraw(&k, b->k, b->klen), 0, err,
                        "pending login");
            continue;
        }
        const char *state = b->k + 8;
        apr_time_t created = (apr_time_t)get_u64be((const unsigned char *)b->k);
        rv = pending_load(st, txn, state, &pl, p, err);
        if (rv == APR_SUCCESS && pl->created != created) { /* stale entry: not this record's */
            rv = kv_del(txn, DB(st, PENDING_TIME), kb_pending_time(&k, created, state), 0, err,
                        "pending login");
        } else if (rv == APR_SUCCESS || rv == APR_NOTFOUND || rv == ORGS_ESTORE) {
            rv = pending_drop(st, txn, rv == APR_SUCCESS ? pl->browser : NULL, created, state, err);
        }
    }
    return rv;
}

/* Keeps the table within st->pending_max: at the bound, drops expired
 * entries (in batches, oldest first) until there is room; APR_ENOSPC when
 * all are live. */
static apr_status_t pending_room(orgs_store_t *st, MDB_txn *txn, apr_time_t now,
                                 apr_interval_time_t ttl, apr_pool_t *p, orgs_err_t *err)
{
    MDB_stat ms;
    apr_pool_t *batch;
    apr_status_t rv = APR_SUCCESS;
    int rc, more = 1;
    if (apr_pool_create(&batch, p) != APR_SUCCESS) {
        return orgs_err_set(err, APR_ENOMEM, "out of memory");
    }
    while ((rc = mdb_stat(txn, DB(st, PENDING), &ms)) == MDB_SUCCESS &&
           ms.ms_entries >= st->pending_max && more && rv == APR_SUCCESS) {
        rv = pending_sweep(st, txn, now, ttl, PENDING_SWEEP_FULL, &more, batch, err);
        apr_pool_clear(batch);
    }
    apr_pool_destroy(batch);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (rc != MDB_SUCCESS) {
        return mdb_fail(rc, err, "pending logins");
    }
    if (ms.ms_entries >= st->pending_max) {
        return orgs_err_set(err, APR_ENOSPC,
                            "too many sign-ins in progress (%zu, all recent): try again later",
                            (size_t)ms.ms_entries);
    }
    return APR_SUCCESS;
}

static apr_status_t pending_put(orgs_store_t *st, MDB_txn *txn, const orgs_pending_t *pl,
                                unsigned max_per_browser, apr_interval_time_t ttl, apr_pool_t *p,
                                orgs_err_t *err)
{
    apr_array_header_t *mine;
    kbuf_t k;
    apr_status_t rv;
    int more;
    apr_time_t now = pl->created ? pl->created : apr_time_now();
    if ((rv = check_state(pl->state, err)) != APR_SUCCESS) {
        return rv;
    }
    if (!pl->nonce || !pl->code_verifier || strlen(pl->nonce) > STATE_MAX ||
        strlen(pl->code_verifier) > STATE_MAX ||
        (pl->return_to && strlen(pl->return_to) > ORGS_URL_MAX)) {
        return orgs_err_set(err, APR_EINVAL, "bad pending login");
    }
    /* a few old ones of any browser on every put: garbage never piles up */
    rv = pending_sweep(st, txn, now, ttl, PENDING_SWEEP, &more, p, err);
    if (rv == APR_SUCCESS) {
        rv = collect(txn, DB(st, PENDING_BROWSER), kbraw(&k, pl->browser, HASH_LEN), &mine, p, err);
    }
    int left = 0;
    for (int i = 0; rv == APR_SUCCESS && i < mine->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(mine, i, blob_t);
        apr_time_t created = (apr_time_t)get_u64be((const unsigned char *)b->k + HASH_LEN);
        if (now - created > ttl) {
            rv = pending_drop(st, txn, pl->browser, created, b->k + HASH_LEN + 8, err);
        } else {
            left++;
        }
    }
    /* entries are oldest first (big-endian time in the key) */
    for (int i = 0;
         rv == APR_SUCCESS && i < mine->nelts && max_per_browser && left >= (int)max_per_browser;
         i++) {
        const blob_t *b = &APR_ARRAY_IDX(mine, i, blob_t);
        apr_time_t created = (apr_time_t)get_u64be((const unsigned char *)b->k + HASH_LEN);
        if (now - created <= ttl) {
            rv = pending_drop(st, txn, pl->browser, created, b->k + HASH_LEN + 8, err);
            left--;
        }
    }
    /* a client without the browser cookie is a new browser each time: only
     * the global bound limits those */
    if (rv == APR_SUCCESS) {
        rv = pending_room(st, txn, now, ttl, p, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    json_t *j = json_object();
    if (!j || jset_str(j, "state", pl->state) ||
        jset_str(j, "browser", orgs_crypto_b64url_encode(pl->browser, HASH_LEN, p)) ||
        jset_str(j, "nonce", pl->nonce) || jset_str(j, "code_verifier", pl->code_verifier) ||
        jset_str(j, "org_id", pl->org_id) || jset_str(j, "conn_id", pl->conn_id) ||
        jset_str(j, "return_to", pl->return_to) || jset_int(j, "created", now)) {
        json_decref(j);
        j = NULL;
    }
    rv = put_json(txn, DB(st, PENDING), kb1(&k, pl->state), j, MDB_NOOVERWRITE, err,
                  "pending login");
    if (rv == APR_SUCCESS) {
        rv = kv_put(txn, DB(st, PENDING_BROWSER), kb_pending_idx(&k, pl->browser, now, pl->state),
                    "", 0, 0, err, "pending login");
    }
    if (rv == APR_SUCCESS) {
        rv = kv_put(txn, DB(st, PENDING_TIME), kb_pending_time(&k, now, pl->state), "", 0, 0, err,
                    "pending login");
    }
    return rv;
}

apr_status_t orgs_store_pending_put(orgs_store_t *st, const orgs_pending_t *pl,
                                    unsigned max_per_browser, apr_interval_time_t ttl,
                                    apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, pending_put(st, txn, pl, max_per_browser, ttl, p, err), err);
}

void orgs_store_pending_set_max(orgs_store_t *st, apr_size_t max)
{
    st->pending_max = max ? max : ORGS_STORE_PENDING_MAX;
}

/* The browser check comes before the delete: a state that leaked (logs,
 * Referer) cannot be used by another browser to burn this login. */
static apr_status_t pending_take(orgs_store_t *st, MDB_txn *txn, const char *state,
                                 const unsigned char *browser, orgs_pending_t **out, apr_pool_t *p,
                                 orgs_err_t *err)
{
    orgs_pending_t *pl;
    apr_status_t rv = check_state(state, err);
    if (rv == APR_SUCCESS) {
        rv = pending_load(st, txn, state, &pl, p, err);
    }
    if (rv != APR_SUCCESS) {
        return rv == APR_EINVAL ? orgs_err_set(err, APR_NOTFOUND, "unknown state") : rv;
    }
    if (!browser || !orgs_crypto_ct_equal(browser, pl->browser, HASH_LEN)) {
        return orgs_err_set(err, ORGS_EDENIED, "state was issued to another browser");
    }
    *out = pl;
    return pending_drop(st, txn, pl->browser, pl->created, state, err);
}

apr_status_t orgs_store_pending_take(orgs_store_t *st, const char *state,
                                     const unsigned char browser[32], apr_time_t now,
                                     apr_interval_time_t ttl, orgs_pending_t **out, apr_pool_t *p,
                                     orgs_err_t *err)
{
    MDB_txn *txn;
    orgs_pending_t *pl = NULL;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* aborted (nothing deleted) unless the browser matched */
    rv = txn_end(txn, pending_take(st, txn, state, browser, &pl, p, err), err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (now - pl->created > ttl) {
        return orgs_err_set(err, ORGS_EEXPIRED, "login took too long, please start again");
    }
    *out = pl;
    return APR_SUCCESS;
}

/* ---- cache ----------------------------------------------------------- */

static kbuf_t *kb_cache(kbuf_t *k, const char *key)
{
    size_t n = strlen(key);
    if (n <= CACHE_KEY_RAW_MAX && key[0] != '#') {
        return kbraw(k, key, n);
    }
    unsigned char h[32];
    orgs_crypto_sha256(key, n, h);
    kbraw(k, "#", 1);
    kb_add(k, h, sizeof(h));
    return k;
}

apr_status_t orgs_store_cache_put(orgs_store_t *st, const char *key, const char *value,
                                  apr_time_t fetched, apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    kbuf_t k;
    if (!key || !*key || !value) {
        return orgs_err_set(err, APR_EINVAL, "cache entry needs a key and a value");
    }
    size_t n = strlen(value);
    unsigned char *buf = apr_palloc(p, n + 8);
    put_u64le(buf, (apr_uint64_t)fetched);
    /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): the record's size is n + 8, no NUL */
    memcpy(buf + 8, value, n);
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, kv_put(txn, DB(st, CACHE), kb_cache(&k, key), buf, n + 8, 0, err, "cache"),
                   err);
}

apr_status_t orgs_store_cache_get(orgs_store_t *st, const char *key, const char **value,
                                  apr_time_t *fetched, apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    kbuf_t k;
    MDB_val v;
    if (!key || !*key) {
        return orgs_err_set(err, APR_EINVAL, "no cache key");
    }
    apr_status_t rv = rd_begin(st, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = kv_get(txn, DB(st, CACHE), kb_cache(&k, key), &v, err, "cache entry");
    if (rv == APR_SUCCESS && v.mv_size < 8) {
        rv = orgs_err_set(err, ORGS_ESTORE, "corrupt cache entry");
    }
    if (rv == APR_SUCCESS) {
        *fetched = (apr_time_t)get_u64le(v.mv_data);
        *value = apr_pstrmemdup(p, (char *)v.mv_data + 8, v.mv_size - 8);
    }
    rd_end(st, txn);
    return rv;
}

/* ---- invitations ----------------------------------------------------- */

static json_t *invite_json(const orgs_invite_t *inv)
{
    json_t *j = json_object(), *r = jstr_array(inv->roles);
    if (!j || !r || jset_str(j, "id", inv->id) || jset_str(j, "org_id", inv->org_id) ||
        jset_str(j, "email", inv->email) || jset_int(j, "created", inv->created) ||
        jset_int(j, "expires", inv->expires)) {
        json_decref(j);
        json_decref(r);
        return NULL;
    }
    if (json_object_set_new(j, "roles", r)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static apr_status_t invite_parse(const json_t *j, orgs_invite_t **out, apr_pool_t *p,
                                 orgs_err_t *err)
{
    orgs_invite_t *inv = apr_pcalloc(p, sizeof(*inv));
    inv->id = jget_str(j, "id", p);
    inv->org_id = jget_str(j, "org_id", p);
    inv->email = jget_str(j, "email", p);
    inv->roles = jget_str_array(j, "roles", p);
    inv->created = jget_int(j, "created");
    inv->expires = jget_int(j, "expires");
    if (!inv->id || !inv->org_id || !inv->email || !inv->roles) {
        return orgs_err_set(err, APR_EINVAL, "malformed invitation record");
    }
    *out = inv;
    return APR_SUCCESS;
}

/* inv->org_id may be a name or an id; it becomes the id. */
static apr_status_t invite_insert(orgs_store_t *st, MDB_txn *txn, orgs_invite_t *inv, apr_pool_t *p,
                                  orgs_err_t *err)
{
    orgs_org_t *o;
    kbuf_t k;
    apr_status_t rv;
    if (!is_id(inv->id, "inv_")) {
        return orgs_err_set(err, APR_EINVAL, "bad invitation id");
    }
    if (!inv->email) {
        return orgs_err_set(err, APR_EINVAL, "an invitation needs an email");
    }
    if (inv->expires <= inv->created) {
        return orgs_err_set(err, APR_EINVAL, "invitation expires before it is created");
    }
    if ((rv = email_normalize(inv->email, &inv->email, p, err)) != APR_SUCCESS ||
        (rv = roles_normalize(inv->roles, &inv->roles, p, err)) != APR_SUCCESS ||
        (rv = org_find(st, txn, inv->org_id, &o, p, err)) != APR_SUCCESS) {
        return rv;
    }
    inv->org_id = o->id;
    rv = put_json(txn, DB(st, INVITES), kb1(&k, inv->id), invite_json(inv), MDB_NOOVERWRITE, err,
                  "invitation");
    if (rv == APR_SUCCESS) {
        rv = kv_put(txn, DB(st, INVITE_ORG), kb2(&k, o->id, inv->id), "", 0, 0, err, "invitation");
    }
    return rv;
}

apr_status_t orgs_store_invite_create(orgs_store_t *st, orgs_invite_t *inv, apr_pool_t *p,
                                      orgs_err_t *err)
{
    MDB_txn *txn;
    char *id;
    if (orgs_crypto_random_id("inv_", ORGS_ID_CHARS, &id, p) != APR_SUCCESS) {
        return orgs_err_set(err, ORGS_ECRYPTO, "cannot generate an id");
    }
    orgs_invite_t i = *inv;
    i.id = id;
    i.created = i.created ? i.created : apr_time_now();
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = txn_end(txn, invite_insert(st, txn, &i, p, err), err);
    if (rv == APR_SUCCESS) {
        *inv = i;
    }
    return rv;
}

static apr_status_t invite_load(orgs_store_t *st, MDB_txn *txn, const char *id, orgs_invite_t **out,
                                apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    json_t *j;
    if (!is_id(id, "inv_")) {
        return orgs_err_set(err, APR_NOTFOUND, "invitation not found");
    }
    apr_status_t rv = get_json(txn, DB(st, INVITES), kb1(&k, id), &j, err, "invitation");
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = invite_parse(j, out, p, err);
    json_decref(j);
    return rv == APR_SUCCESS ? rv : orgs_err_set(err, ORGS_ESTORE, "corrupt invitation %s", id);
}

apr_status_t orgs_store_invite_list(orgs_store_t *st, const char *org_ref, apr_array_header_t **out,
                                    apr_pool_t *p, orgs_err_t *err)
{
    MDB_txn *txn;
    orgs_org_t *o;
    iter_t it;
    kbuf_t k;
    apr_status_t rv = rd_begin(st, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = apr_array_make(p, 8, sizeof(orgs_invite_t *));
    rv = org_find(st, txn, org_ref, &o, p, err);
    if (rv == APR_SUCCESS) {
        rv = iter_open(txn, DB(st, INVITE_ORG), kb1(&k, o->id), &it, err);
        while (rv == APR_SUCCESS && iter_next(&it)) {
            orgs_invite_t *inv;
            rv = invite_load(
                st, txn, apr_pstrmemdup(p, (char *)it.k.mv_data + ID_LEN, it.k.mv_size - ID_LEN),
                &inv, p, err);
            if (rv == APR_SUCCESS) {
                APR_ARRAY_PUSH(*out, orgs_invite_t *) = inv;
            }
        }
        apr_status_t rv2 = iter_close(&it, err);
        rv = rv != APR_SUCCESS ? rv : rv2;
    }
    rd_end(st, txn);
    return rv;
}

static apr_status_t invite_revoke(orgs_store_t *st, MDB_txn *txn, const char *id, apr_pool_t *p,
                                  orgs_err_t *err)
{
    orgs_invite_t *inv;
    kbuf_t k;
    apr_status_t rv = invite_load(st, txn, id, &inv, p, err);
    if (rv == APR_SUCCESS) {
        rv = kv_del(txn, DB(st, INVITE_ORG), kb2(&k, inv->org_id, id), 0, err, "invitation");
    }
    if (rv == APR_SUCCESS) {
        rv = kv_del(txn, DB(st, INVITES), kb1(&k, id), 1, err, "invitation");
    }
    return rv;
}

apr_status_t orgs_store_invite_revoke(orgs_store_t *st, const char *id, apr_pool_t *p,
                                      orgs_err_t *err)
{
    MDB_txn *txn;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return txn_end(txn, invite_revoke(st, txn, id, p, err), err);
}

/* ---- export / import ------------------------------------------------- */

/* Writes one line; steals j. */
static apr_status_t emit(FILE *fp, const char *type, json_t *j, apr_size_t *count, orgs_err_t *err)
{
    if (!j || json_object_set_new(j, "type", json_string(type))) {
        json_decref(j);
        return orgs_err_set(err, ORGS_ESTORE, "cannot encode a %s record", type);
    }
    int rc = json_dumpf(j, fp, JSON_COMPACT);
    json_decref(j);
    if (rc != 0 || fputc('\n', fp) == EOF) {
        return orgs_err_set(err, APR_EGENERAL, "write failed: %s", strerror(errno));
    }
    (*count)++;
    return APR_SUCCESS;
}

/* One line per membership of the user whose record the iterator is on. */
static apr_status_t export_members(const iter_t *it, FILE *fp, apr_size_t *count, apr_pool_t *p,
                                   orgs_err_t *err)
{
    mrec_t r;
    ment_t e;
    char user_id[ID_LEN + 1], org_id[ID_LEN + 1];
    if (it->k.mv_size != ID_BIN || !id_unpack(it->k.mv_data, "usr_", user_id) ||
        !mrec_open(it->v.mv_data, it->v.mv_size, &r)) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt membership record");
    }
    apr_status_t rv = APR_SUCCESS;
    for (apr_uint32_t i = 0; rv == APR_SUCCESS && i < r.n; i++) {
        if (!mrec_get(&r, i, &e) || !id_unpack(e.org, "org_", org_id)) {
            return orgs_err_set(err, ORGS_ESTORE, "corrupt membership record");
        }
        json_t *j = json_pack("{s:s, s:s, s:o, s:I}", "org_id", org_id, "user_id", user_id, "roles",
                              jstr_array(roles_decode(&e, p)), "created", (json_int_t)e.created);
        rv = emit(fp, "member", j, count, err);
    }
    return rv;
}

static apr_status_t export_db(orgs_store_t *st, MDB_txn *txn, int db, FILE *fp, apr_size_t *count,
                              apr_pool_t *p, orgs_err_t *err)
{
    iter_t it;
    apr_status_t rv = iter_open(txn, st->db[db], NULL, &it, err);
    while (rv == APR_SUCCESS && iter_next(&it)) {
        apr_pool_clear(p);
        json_t *j = NULL;
        const char *type = "";
        if (db == DB_ENABLE && it.k.mv_size == 2 * ID_LEN && it.v.mv_size == 1) {
            const char *k = it.k.mv_data;
            type = "enable";
            j = json_pack("{s:s%, s:s%, s:b}", "org_id", k, (size_t)ID_LEN, "conn_id", k + ID_LEN,
                          (size_t)ID_LEN, "auto_membership", ((const char *)it.v.mv_data)[0]);
        } else if (db == DB_MEMBERS) {
            rv = export_members(&it, fp, count, p, err);
            continue;
        } else if (db == DB_ORGS || db == DB_CONNS || db == DB_USERS || db == DB_INVITES) {
            type = db == DB_ORGS    ? "org"
                   : db == DB_CONNS ? "conn"
                   : db == DB_USERS ? "user"
                                    : "invite";
            j = json_loadb(it.v.mv_data, it.v.mv_size, 0, NULL);
        } else {
            continue;
        }
        if (rv == APR_SUCCESS) {
            rv = emit(fp, type, j, count, err);
        }
    }
    apr_status_t rv2 = iter_close(&it, err);
    return rv != APR_SUCCESS ? rv : rv2;
}

apr_status_t orgs_store_export(orgs_store_t *st, FILE *fp, apr_size_t *count, apr_pool_t *p,
                               orgs_err_t *err)
{
    MDB_txn *txn;
    apr_pool_t *tmp;
    static const int order[] = {DB_ORGS, DB_CONNS, DB_ENABLE, DB_USERS, DB_MEMBERS, DB_INVITES};
    *count = 0;
    apr_status_t rv = rd_begin(st, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_pool_create(&tmp, p);
    for (size_t i = 0; rv == APR_SUCCESS && i < sizeof(order) / sizeof(order[0]); i++) {
        rv = export_db(st, txn, order[i], fp, count, tmp, err);
    }
    apr_pool_destroy(tmp);
    rd_end(st, txn);
    if (rv == APR_SUCCESS && fflush(fp) != 0) {
        rv = orgs_err_set(err, APR_EGENERAL, "write failed: %s", strerror(errno));
    }
    return rv;
}

static apr_status_t import_line(orgs_store_t *st, MDB_txn *txn, const json_t *j, apr_pool_t *p,
                                orgs_err_t *err)
{
    const char *type = json_string_value(json_object_get(j, "type"));
    apr_status_t rv;
    if (!type) {
        return orgs_err_set(err, APR_EINVAL, "no type");
    }
    if (strcmp(type, "org") == 0) {
        orgs_org_t *o;
        rv = org_parse(j, &o, p, err);
        return rv == APR_SUCCESS ? org_insert(st, txn, o, p, err) : rv;
    }
    if (strcmp(type, "conn") == 0) {
        orgs_conn_t *c;
        const char *sealed;
        rv = conn_parse(j, &c, &sealed, p, err);
        if (rv == APR_SUCCESS && sealed) {
            /* the sealed secret must open with this store's key */
            rv = conn_unseal(st, c, sealed, p, err);
            c->client_secret = NULL;
        }
        return rv == APR_SUCCESS ? conn_insert(st, txn, c, sealed, err) : rv;
    }
    if (strcmp(type, "enable") == 0) {
        const char *org_id = jget_str(j, "org_id", p), *conn_id = jget_str(j, "conn_id", p);
        if (!is_id(org_id, "org_") || !is_id(conn_id, "con_")) {
            return orgs_err_set(err, APR_EINVAL, "bad enable record");
        }
        return enable_set(st, txn, org_id, conn_id, 1,
                          json_is_true(json_object_get(j, "auto_membership")), p, err);
    }
    if (strcmp(type, "user") == 0) {
        orgs_user_t *u;
        orgs_conn_t *c;
        rv = user_parse(j, &u, p, err);
        if (rv == APR_SUCCESS) {
            rv = conn_load(st, txn, u->conn_id, &c, NULL, p, err);
        }
        return rv == APR_SUCCESS ? user_insert(st, txn, u, p, err) : rv;
    }
    if (strcmp(type, "member") == 0) {
        const char *org_id = jget_str(j, "org_id", p), *user_id = jget_str(j, "user_id", p);
        apr_array_header_t *roles = jget_str_array(j, "roles", p);
        if (!is_id(org_id, "org_") || !is_id(user_id, "usr_") || !roles) {
            return orgs_err_set(err, APR_EINVAL, "bad member record");
        }
        return member_insert(st, txn, org_id, user_id, roles, jget_int(j, "created"), p, err);
    }
    if (strcmp(type, "invite") == 0) {
        orgs_invite_t *inv;
        rv = invite_parse(j, &inv, p, err);
        if (rv == APR_SUCCESS && !is_id(inv->org_id, "org_")) {
            rv = orgs_err_set(err, APR_EINVAL, "bad invitation org id");
        }
        return rv == APR_SUCCESS ? invite_insert(st, txn, inv, p, err) : rv;
    }
    return orgs_err_set(err, APR_EINVAL, "unknown type '%s'", type);
}

apr_status_t orgs_store_import(orgs_store_t *st, FILE *fp, apr_size_t *count, apr_pool_t *p,
                               orgs_err_t *err)
{
    MDB_txn *txn;
    apr_pool_t *tmp;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    apr_size_t lineno = 0;
    *count = 0;
    apr_status_t rv = txn_begin(st, 0, &txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_pool_create(&tmp, p);
    while (rv == APR_SUCCESS && (n = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
            line[--n] = '\0';
        }
        if (n == 0) {
            continue;
        }
        apr_pool_clear(tmp);
        json_error_t jerr;
        json_t *j = json_loadb(line, (size_t)n, 0, &jerr);
        if (!json_is_object(j)) {
            rv = orgs_err_set(err, APR_EINVAL, "line %" APR_SIZE_T_FMT ": not a JSON object",
                              lineno);
        } else {
            rv = import_line(st, txn, j, tmp, err);
            if (rv != APR_SUCCESS) {
                char reason[sizeof(err->msg)] = "";
                if (err) {
                    apr_cpystrn(reason, err->msg, sizeof(reason));
                }
                orgs_err_set(err, rv, "line %" APR_SIZE_T_FMT ": %s", lineno, reason);
            } else {
                (*count)++;
            }
        }
        json_decref(j);
    }
    free(line);
    if (rv == APR_SUCCESS && ferror(fp)) {
        rv = orgs_err_set(err, APR_EGENERAL, "read failed");
    }
    apr_pool_destroy(tmp);
    rv = txn_end(txn, rv, err);
    if (rv != APR_SUCCESS) {
        *count = 0;
    }
    return rv;
}

/* ---- consistency check ----------------------------------------------- */

typedef struct {
    orgs_store_t *st;
    MDB_txn *txn;
    apr_array_header_t *problems;
    apr_pool_t *p;
} check_t;

static void problem(check_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(check_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    APR_ARRAY_PUSH(c->problems, const char *) = apr_pvsprintf(c->p, fmt, ap);
    va_end(ap);
}

static int has_key(check_t *c, int db, const kbuf_t *k)
{
    MDB_val v;
    return kv_get(c->txn, c->st->db[db], k, &v, NULL, "") == APR_SUCCESS;
}

/* key maps to the id value */
static int maps_to(check_t *c, int db, const kbuf_t *k, const char *id)
{
    MDB_val v;
    return kv_get(c->txn, c->st->db[db], k, &v, NULL, "") == APR_SUCCESS &&
           v.mv_size == strlen(id) && memcmp(v.mv_data, id, v.mv_size) == 0;
}

static char *printable(check_t *c, const void *d, size_t n)
{
    char *s = apr_pstrmemdup(c->p, d, n);
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) {
            s[i] = '.';
        }
    }
    return s;
}

static apr_status_t check_orgs(check_t *c, orgs_err_t *err)
{
    iter_t it;
    kbuf_t k;
    apr_status_t rv = iter_open(c->txn, DB(c->st, ORGS), NULL, &it, err);
    while (rv == APR_SUCCESS && iter_next(&it)) {
        orgs_org_t *o;
        const char *id = apr_pstrmemdup(c->p, it.k.mv_data, it.k.mv_size);
        if (org_load(c->st, c->txn, id, &o, c->p, NULL) != APR_SUCCESS) {
            problem(c, "organization %s: unreadable record", printable(c, id, strlen(id)));
            continue;
        }
        if (!maps_to(c, DB_ORG_NAMES, kb1(&k, o->name), o->id)) {
            problem(c, "organization %s: name '%s' not indexed", o->id, o->name);
        }
        for (int i = 0; i < o->domains->nelts; i++) {
            const char *d = APR_ARRAY_IDX(o->domains, i, const char *);
            if (!maps_to(c, DB_DOMAINS, kb1(&k, d), o->id)) {
                problem(c, "organization %s: domain '%s' not indexed", o->id, d);
            }
        }
    }
    apr_status_t rv2 = iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    /* names and domains must point back to an org that claims them */
    for (int pass = 0; rv == APR_SUCCESS && pass < 2; pass++) {
        rv = iter_open(c->txn, pass ? DB(c->st, DOMAINS) : DB(c->st, ORG_NAMES), NULL, &it, err);
        while (rv == APR_SUCCESS && iter_next(&it)) {
            orgs_org_t *o;
            const char *key = printable(c, it.k.mv_data, it.k.mv_size);
            const char *id = apr_pstrmemdup(c->p, it.v.mv_data, it.v.mv_size);
            if (org_load(c->st, c->txn, id, &o, c->p, NULL) != APR_SUCCESS) {
                problem(c, "%s '%s': dangling organization %s", pass ? "domain" : "name", key,
                        printable(c, id, strlen(id)));
            } else if (pass ? !array_has(o->domains, key) : strcmp(o->name, key) != 0) {
                problem(c, "%s '%s': organization %s does not claim it", pass ? "domain" : "name",
                        key, id);
            }
        }
        rv2 = iter_close(&it, err);
        rv = rv != APR_SUCCESS ? rv : rv2;
    }
    return rv;
}

static apr_status_t check_conns(check_t *c, orgs_err_t *err)
{
    iter_t it;
    kbuf_t k;
    apr_status_t rv = iter_open(c->txn, DB(c->st, CONNS), NULL, &it, err);
    while (rv == APR_SUCCESS && iter_next(&it)) {
        orgs_conn_t *cn;
        const char *id = apr_pstrmemdup(c->p, it.k.mv_data, it.k.mv_size);
        if (conn_load(c->st, c->txn, id, &cn, NULL, c->p, NULL) != APR_SUCCESS) {
            problem(c, "connection %s: unreadable record", printable(c, id, strlen(id)));
        } else if (!maps_to(c, DB_CONN_NAMES, kb1(&k, cn->name), cn->id)) {
            problem(c, "connection %s: name '%s' not indexed", cn->id, cn->name);
        }
    }
    apr_status_t rv2 = iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    if (rv == APR_SUCCESS) {
        rv = iter_open(c->txn, DB(c->st, CONN_NAMES), NULL, &it, err);
    }
    while (rv == APR_SUCCESS && iter_next(&it)) {
        orgs_conn_t *cn;
        const char *key = printable(c, it.k.mv_data, it.k.mv_size);
        const char *id = apr_pstrmemdup(c->p, it.v.mv_data, it.v.mv_size);
        if (conn_load(c->st, c->txn, id, &cn, NULL, c->p, NULL) != APR_SUCCESS ||
            strcmp(cn->name, key) != 0) {
            problem(c, "connection name '%s': dangling connection %s", key,
                    printable(c, id, strlen(id)));
        }
    }
    rv2 = iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    if (rv == APR_SUCCESS) {
        rv = iter_open(c->txn, DB(c->st, ENABLE), NULL, &it, err);
    }
    while (rv == APR_SUCCESS && iter_next(&it)) {
        const char *key = it.k.mv_data;
        if (it.k.mv_size != 2 * ID_LEN || !has_key(c, DB_ORGS, kbraw(&k, key, ID_LEN)) ||
            !has_key(c, DB_CONNS, kbraw(&k, key + ID_LEN, ID_LEN))) {
            problem(c, "enablement %s: dangling", printable(c, key, it.k.mv_size));
        }
    }
    rv2 = iter_close(&it, err);
    return rv != APR_SUCCESS ? rv : rv2;
}

static void check_user(check_t *c, const orgs_user_t *u)
{
    kbuf_t k;
    if (!has_key(c, DB_CONNS, kb1(&k, u->conn_id))) {
        problem(c, "user %s: dangling connection %s", u->id, u->conn_id);
    }
    if (!has_key(c, DB_CONN_USERS, kb2(&k, u->conn_id, u->id))) {
        problem(c, "user %s: not indexed by connection", u->id);
    }
    if (u->sub) {
        kb1(&k, u->conn_id);
        kb_nul(&k);
        kb_str(&k, u->sub);
        if (!maps_to(c, DB_USER_SUB, &k, u->id)) {
            problem(c, "user %s: sub not indexed", u->id);
        }
    }
    if (u->email) {
        kb1(&k, u->email);
        kb_nul(&k);
        kb_str(&k, u->id);
        if (!has_key(c, DB_USER_EMAIL, &k)) {
            problem(c, "user %s: email not indexed", u->id);
        }
        kb_str(kb_conn_email(&k, u->conn_id, u->email), u->id);
        if (!has_key(c, DB_USER_CONN_EMAIL, &k)) {
            problem(c, "user %s: email not indexed by connection", u->id);
        }
    }
}

/* The user id at the end of an index key, and the user it names. */
static orgs_user_t *tail_user(check_t *c, const MDB_val *key, size_t min_prefix)
{
    orgs_user_t *u;
    if (key->mv_size < min_prefix + ID_LEN) {
        return NULL;
    }
    const char *id = apr_pstrmemdup(c->p, (char *)key->mv_data + key->mv_size - ID_LEN, ID_LEN);
    return user_load(c->st, c->txn, id, &u, c->p, NULL) == APR_SUCCESS ? u : NULL;
}

static apr_status_t check_users(check_t *c, orgs_err_t *err)
{
    iter_t it;
    apr_status_t rv = iter_open(c->txn, DB(c->st, USERS), NULL, &it, err);
    while (rv == APR_SUCCESS && iter_next(&it)) {
        orgs_user_t *u;
        const char *id = apr_pstrmemdup(c->p, it.k.mv_data, it.k.mv_size);
        if (user_load(c->st, c->txn, id, &u, c->p, NULL) != APR_SUCCESS) {
            problem(c, "user %s: unreadable record", printable(c, id, strlen(id)));
        } else {
            check_user(c, u);
        }
    }
    apr_status_t rv2 = iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    /* every index entry names a user that has the indexed values */
    static const int idx[] = {DB_USER_SUB, DB_USER_EMAIL, DB_USER_CONN_EMAIL, DB_CONN_USERS};
    for (size_t i = 0; rv == APR_SUCCESS && i < sizeof(idx) / sizeof(idx[0]); i++) {
        rv = iter_open(c->txn, c->st->db[idx[i]], NULL, &it, err);
        while (rv == APR_SUCCESS && iter_next(&it)) {
            const char *key = it.k.mv_data;
            size_t n = it.k.mv_size;
            orgs_user_t *u = NULL;
            int ok = 0;
            if (idx[i] == DB_USER_SUB) {
                const char *id = apr_pstrmemdup(c->p, it.v.mv_data, it.v.mv_size);
                if (user_load(c->st, c->txn, id, &u, c->p, NULL) == APR_SUCCESS && u->sub) {
                    const char *want = apr_pstrcat(c->p, u->conn_id, "|", u->sub, NULL);
                    char *got = apr_pstrmemdup(c->p, key, n);
                    if (n > ID_LEN) {
                        got[ID_LEN] = '|';
                    }
                    ok = strcmp(want, got) == 0;
                }
            } else if (idx[i] == DB_USER_EMAIL) {
                u = tail_user(c, &it.k, 2);
                ok = u && u->email && strlen(u->email) + 1 + ID_LEN == n &&
                     memcmp(u->email, key, strlen(u->email)) == 0;
            } else if (idx[i] == DB_USER_CONN_EMAIL) {
                u = tail_user(c, &it.k, ID_LEN + 3);
                ok = u && u->email && ID_LEN + strlen(u->email) + 2 + ID_LEN == n &&
                     memcmp(u->conn_id, key, ID_LEN) == 0 &&
                     memcmp(u->email, key + ID_LEN + 1, strlen(u->email)) == 0;
            } else {
                u = tail_user(c, &it.k, ID_LEN);
                ok = u && n == 2 * ID_LEN && memcmp(u->conn_id, key, ID_LEN) == 0;
            }
            if (!ok) {
                problem(c, "%s entry '%s': dangling", db_names[idx[i]], printable(c, key, n));
            }
        }
        rv2 = iter_close(&it, err);
        rv = rv != APR_SUCCESS ? rv : rv2;
    }
    return rv;
}

static int org_has_member(check_t *c, const unsigned char *org, const unsigned char *user)
{
    MDB_cursor *cur;
    MDB_val key = {ID_BIN, (void *)org}, dup = {ID_BIN, (void *)user};
    if (mdb_cursor_open(c->txn, DB(c->st, ORG_MEMBERS), &cur) != MDB_SUCCESS) {
        return 0;
    }
    int rc = mdb_cursor_get(cur, &key, &dup, MDB_GET_BOTH);
    mdb_cursor_close(cur);
    return rc == MDB_SUCCESS;
}

/* One user's record: well formed, sorted, every entry naming an org and
 * present in the org index. */
static void check_member_record(check_t *c, const iter_t *it)
{
    kbuf_t k;
    mrec_t r;
    ment_t e;
    char user[ID_LEN + 1], org[ID_LEN + 1];
    if (it->k.mv_size != ID_BIN || !id_unpack(it->k.mv_data, "usr_", user) ||
        !mrec_open(it->v.mv_data, it->v.mv_size, &r) || r.n == 0) {
        problem(c, "member record %s: malformed",
                it->k.mv_size == ID_BIN && id_unpack(it->k.mv_data, "usr_", user) ? user : "?");
        return;
    }
    if (!has_key(c, DB_USERS, kb1(&k, user))) {
        problem(c, "member record %s: dangling user", user);
    }
    for (apr_uint32_t i = 0; i < r.n; i++) {
        if (!mrec_get(&r, i, &e) || !id_unpack(e.org, "org_", org) ||
            (i > 0 && cmp_bin(mrec_ent(&r, i - 1), e.org) >= 0)) {
            problem(c, "member record %s: malformed entry %u", user, (unsigned)i);
            continue;
        }
        if (!has_key(c, DB_ORGS, kb1(&k, org))) {
            problem(c, "member %s of %s: dangling organization", user, org);
        }
        if (!org_has_member(c, e.org, it->k.mv_data)) {
            problem(c, "member %s of %s: org index missing", user, org);
        }
    }
}

static apr_status_t check_members(check_t *c, orgs_err_t *err)
{
    iter_t it;
    apr_status_t rv = iter_open(c->txn, DB(c->st, MEMBERS), NULL, &it, err);
    while (rv == APR_SUCCESS && iter_next(&it)) {
        check_member_record(c, &it);
    }
    apr_status_t rv2 = iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    /* every index pair (MDB_NEXT walks the duplicates) has its record entry */
    if (rv == APR_SUCCESS) {
        rv = iter_open(c->txn, DB(c->st, ORG_MEMBERS), NULL, &it, err);
    }
    while (rv == APR_SUCCESS && iter_next(&it)) {
        char org[ID_LEN + 1], user[ID_LEN + 1];
        mrec_t r;
        apr_uint32_t pos;
        if (it.k.mv_size != ID_BIN || it.v.mv_size != ID_BIN ||
            !id_unpack(it.k.mv_data, "org_", org) || !id_unpack(it.v.mv_data, "usr_", user)) {
            problem(c, "org_members entry: malformed");
            continue;
        }
        if (mrec_load(c->st, c->txn, it.v.mv_data, &r, NULL) != APR_SUCCESS ||
            !mrec_find(&r, it.k.mv_data, &pos)) {
            problem(c, "org_members %s in %s: dangling", user, org);
        }
    }
    rv2 = iter_close(&it, err);
    return rv != APR_SUCCESS ? rv : rv2;
}

static apr_status_t check_sessions(check_t *c, orgs_err_t *err)
{
    iter_t it;
    kbuf_t k;
    apr_status_t rv = iter_open(c->txn, DB(c->st, SESSIONS), NULL, &it, err);
    while (rv == APR_SUCCESS && iter_next(&it)) {
        orgs_session_t *s;
        if (it.k.mv_size != HASH_LEN ||
            session_load(c->st, c->txn, it.k.mv_data, &s, c->p, NULL) != APR_SUCCESS) {
            problem(c, "session: unreadable record");
            continue;
        }
        if (!has_key(c, DB_SESSION_IDX, kb_session_idx(&k, s, it.k.mv_data))) {
            problem(c, "session of %s in %s: not indexed", s->user_id, s->org_id);
        }
        orgs_member_t *m;
        if (member_read(c->st, c->txn, s->org_id, s->user_id, &m, c->p, NULL) != APR_SUCCESS) {
            problem(c, "session of %s in %s: no such membership", s->user_id, s->org_id);
        }
        if (!has_key(c, DB_CONNS, kb1(&k, s->conn_id ? s->conn_id : ""))) {
            problem(c, "session of %s in %s: dangling connection", s->user_id, s->org_id);
        }
    }
    apr_status_t rv2 = iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    if (rv == APR_SUCCESS) {
        rv = iter_open(c->txn, DB(c->st, SESSION_IDX), NULL, &it, err);
    }
    while (rv == APR_SUCCESS && iter_next(&it)) {
        const char *key = it.k.mv_data;
        orgs_session_t *s;
        if (it.k.mv_size != 2 * ID_LEN + HASH_LEN ||
            session_load(c->st, c->txn, (const unsigned char *)key + 2 * ID_LEN, &s, c->p, NULL) !=
                APR_SUCCESS ||
            memcmp(s->org_id, key, ID_LEN) != 0 || memcmp(s->user_id, key + ID_LEN, ID_LEN) != 0) {
            problem(c, "session_idx entry for %s: dangling", printable(c, key, 2 * ID_LEN));
        }
    }
    rv2 = iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    /* every logout hint belongs to a session */
    if (rv == APR_SUCCESS && c->st->has_session_hints) {
        rv = iter_open(c->txn, DB(c->st, SESSION_HINTS), NULL, &it, err);
        while (rv == APR_SUCCESS && iter_next(&it)) {
            if (it.k.mv_size != HASH_LEN ||
                !has_key(c, DB_SESSIONS, kbraw(&k, it.k.mv_data, HASH_LEN))) {
                problem(c, "session hint: dangling");
            }
        }
        rv2 = iter_close(&it, err);
        rv = rv != APR_SUCCESS ? rv : rv2;
    }
    return rv;
}

/* Every pending login is in the time index (else it would never expire
 * globally) and every time entry names a pending login of that time. */
static apr_status_t check_pending_time(check_t *c, orgs_err_t *err)
{
    iter_t it;
    kbuf_t k;
    apr_status_t rv = iter_open(c->txn, DB(c->st, PENDING_TIME), NULL, &it, err);
    while (rv == APR_SUCCESS && iter_next(&it)) {
        orgs_pending_t *pl;
        const char *state = it.k.mv_size > 8
                                ? apr_pstrmemdup(c->p, (char *)it.k.mv_data + 8, it.k.mv_size - 8)
                                : "";
        if (!*state || pending_load(c->st, c->txn, state, &pl, c->p, NULL) != APR_SUCCESS ||
            pl->created != (apr_time_t)get_u64be(it.k.mv_data)) {
            problem(c, "pending_time entry: dangling");
        }
    }
    apr_status_t rv2 = iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    if (rv == APR_SUCCESS) {
        rv = iter_open(c->txn, DB(c->st, PENDING), NULL, &it, err);
    }
    while (rv == APR_SUCCESS && iter_next(&it)) {
        orgs_pending_t *pl;
        const char *state = apr_pstrmemdup(c->p, it.k.mv_data, it.k.mv_size);
        if (pending_load(c->st, c->txn, state, &pl, c->p, NULL) != APR_SUCCESS) {
            problem(c, "pending login: unreadable record");
        } else if (!has_key(c, DB_PENDING_TIME, kb_pending_time(&k, pl->created, state)) ||
                   !has_key(c, DB_PENDING_BROWSER,
                            kb_pending_idx(&k, pl->browser, pl->created, state))) {
            problem(c, "pending login: not indexed");
        }
    }
    rv2 = iter_close(&it, err);
    return rv != APR_SUCCESS ? rv : rv2;
}

static apr_status_t check_rest(check_t *c, orgs_err_t *err)
{
    iter_t it;
    kbuf_t k;
    apr_status_t rv = iter_open(c->txn, DB(c->st, PENDING_BROWSER), NULL, &it, err);
    while (rv == APR_SUCCESS && iter_next(&it)) {
        if (it.k.mv_size <= HASH_LEN + 8 ||
            !has_key(c, DB_PENDING,
                     kbraw(&k, (char *)it.k.mv_data + HASH_LEN + 8, it.k.mv_size - HASH_LEN - 8))) {
            problem(c, "pending_browser entry: dangling");
        }
    }
    apr_status_t rv2 = iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    if (rv == APR_SUCCESS && c->st->has_pending_time) {
        rv = check_pending_time(c, err);
    }
    if (rv == APR_SUCCESS) {
        rv = iter_open(c->txn, DB(c->st, INVITES), NULL, &it, err);
    }
    while (rv == APR_SUCCESS && iter_next(&it)) {
        orgs_invite_t *inv;
        const char *id = apr_pstrmemdup(c->p, it.k.mv_data, it.k.mv_size);
        if (invite_load(c->st, c->txn, id, &inv, c->p, NULL) != APR_SUCCESS) {
            problem(c, "invitation %s: unreadable record", printable(c, id, strlen(id)));
            continue;
        }
        if (!has_key(c, DB_ORGS, kb1(&k, inv->org_id))) {
            problem(c, "invitation %s: dangling organization %s", id, inv->org_id);
        }
        if (!has_key(c, DB_INVITE_ORG, kb2(&k, inv->org_id, id))) {
            problem(c, "invitation %s: not indexed", id);
        }
    }
    rv2 = iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    if (rv == APR_SUCCESS) {
        rv = iter_open(c->txn, DB(c->st, INVITE_ORG), NULL, &it, err);
    }
    while (rv == APR_SUCCESS && iter_next(&it)) {
        const char *key = it.k.mv_data;
        if (it.k.mv_size != 2 * ID_LEN ||
            !has_key(c, DB_INVITES, kbraw(&k, key + ID_LEN, ID_LEN))) {
            problem(c, "invite_org entry '%s': dangling", printable(c, key, it.k.mv_size));
        }
    }
    rv2 = iter_close(&it, err);
    return rv != APR_SUCCESS ? rv : rv2;
}

apr_status_t orgs_store_check(orgs_store_t *st, apr_array_header_t **problems, apr_pool_t *p,
                              orgs_err_t *err)
{
    check_t c = {st, NULL, apr_array_make(p, 8, sizeof(const char *)), p};
    apr_status_t rv = rd_begin(st, &c.txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((rv = check_orgs(&c, err)) == APR_SUCCESS && (rv = check_conns(&c, err)) == APR_SUCCESS &&
        (rv = check_users(&c, err)) == APR_SUCCESS &&
        (rv = check_members(&c, err)) == APR_SUCCESS &&
        (rv = check_sessions(&c, err)) == APR_SUCCESS) {
        rv = check_rest(&c, err);
    }
    rd_end(st, c.txn);
    *problems = c.problems;
    return rv;
}
