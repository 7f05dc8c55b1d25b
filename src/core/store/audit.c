/* The audit log: one record per change, appended by the store's writers
 * in the transaction of the change, attributed to the thread's actor.
 * Keyed by time (8 bytes big-endian microseconds, strictly increasing), so
 * a range read is a cursor; an org index (org id + key) serves reads by org
 * and bounds each org's records. */
#include <stdlib.h>
#include <string.h>

#include "pgstore.h"
#include "text.h"
#include "store_int.h"

#define AUDIT_KEY_LEN 8

/* ---- the actor -------------------------------------------------------- */

static _Thread_local struct {
    const orgs_store_t *st;
    char who[ORGS_STORE_ACTOR_MAX + 1];
    char from[ORGS_STORE_ACTOR_MAX + 1];
} actor;

/* Copies s cut to the buffer at a UTF-8 boundary, control characters
 * replaced, so a record stays valid JSON text whatever the caller gave. */
static void actor_copy(char *dst, const char *s)
{
    apr_size_t n = 0;
    for (; s && *s && n < ORGS_STORE_ACTOR_MAX; s++, n++) {
        unsigned char c = (unsigned char)*s;
        dst[n] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    while (n > 0 && !orgs_text_utf8_valid(dst, n, 0)) {
        n--; /* a sequence cut in the middle */
    }
    dst[n] = '\0';
}

void orgs_store_actor_set(orgs_store_t *st, const char *who, const char *from)
{
    actor.st = st;
    actor_copy(actor.who, who);
    actor_copy(actor.from, from);
}

void orgs_store_actor_clear(orgs_store_t *st)
{
    if (actor.st == st) {
        actor.st = NULL;
        actor.who[0] = actor.from[0] = '\0';
    }
}

const char *st_actor_who(orgs_store_t *st, apr_pool_t *p)
{
    return actor.st == st && actor.who[0] ? apr_pstrdup(p, actor.who) : "unknown";
}

static const char *actor_from(orgs_store_t *st)
{
    return actor.st == st && actor.from[0] ? actor.from : NULL;
}

void orgs_store_audit_set_max_per_org(orgs_store_t *st, apr_size_t max)
{
    st->audit_max_per_org = max;
}

/* ---- keys ------------------------------------------------------------- */

static void key_put(unsigned char *k, apr_uint64_t t)
{
    for (int i = AUDIT_KEY_LEN - 1; i >= 0; i--, t >>= 8) {
        k[i] = (unsigned char)(t & 0xff);
    }
}

static apr_uint64_t key_get(const unsigned char *k)
{
    apr_uint64_t t = 0;
    for (int i = 0; i < AUDIT_KEY_LEN; i++) {
        t = (t << 8) | k[i];
    }
    return t;
}

/* The next key: now, or one past the last key when the clock is behind
 * it (two records in one microsecond, a clock stepped back). */
static apr_status_t key_at(orgs_store_t *st, MDB_txn *txn, apr_uint64_t t, unsigned char *k,
                           orgs_err_t *err)
{
    MDB_cursor *cur;
    MDB_val key, val;
    int rc = mdb_cursor_open(txn, DB(st, AUDIT), &cur);
    if (rc != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "audit log");
    }
    rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
    if (rc == MDB_SUCCESS && key.mv_size == AUDIT_KEY_LEN && key_get(key.mv_data) >= t) {
        t = key_get(key.mv_data) + 1;
    }
    mdb_cursor_close(cur);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        return st_mdb_fail(rc, err, "audit log");
    }
    key_put(k, t);
    return APR_SUCCESS;
}

static apr_status_t key_next(orgs_store_t *st, MDB_txn *txn, unsigned char *k, orgs_err_t *err)
{
    return key_at(st, txn, (apr_uint64_t)apr_time_now(), k, err);
}

/* ---- the per-org bound ------------------------------------------------- */

static apr_uint64_t count_get(const MDB_val *v)
{
    apr_uint64_t n = 0;
    if (v->mv_size == 8) {
        memcpy(&n, v->mv_data, 8);
    }
    return n;
}

/* Deletes the org's oldest record and its index entry. */
static apr_status_t drop_oldest(orgs_store_t *st, MDB_txn *txn, const char *org_id, orgs_err_t *err)
{
    MDB_cursor *cur;
    MDB_val key, val;
    kbuf_t k;
    unsigned char rec[AUDIT_KEY_LEN];
    int rc = mdb_cursor_open(txn, DB(st, AUDIT_ORG), &cur);
    if (rc != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "audit log");
    }
    st_kb1(&k, org_id);
    key.mv_data = k.buf;
    key.mv_size = k.len;
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    /* the count entry (the org id alone) sorts first: the next is the oldest */
    if (rc == MDB_SUCCESS && key.mv_size == ID_LEN) {
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }
    if (rc == MDB_SUCCESS &&
        (key.mv_size != ID_LEN + AUDIT_KEY_LEN || memcmp(key.mv_data, org_id, ID_LEN) != 0)) {
        rc = MDB_NOTFOUND;
    }
    if (rc == MDB_SUCCESS) {
        memcpy(rec, (const char *)key.mv_data + ID_LEN, AUDIT_KEY_LEN);
        rc = mdb_cursor_del(cur, 0);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND) {
        return APR_SUCCESS; /* the count was off: nothing to drop */
    }
    if (rc != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "audit log");
    }
    return st_kv_del(txn, DB(st, AUDIT), st_kbraw(&k, rec, AUDIT_KEY_LEN), 0, err, "audit record");
}

/* Indexes the record under its org, keeping the org within its bound. */
static apr_status_t org_index_add(orgs_store_t *st, MDB_txn *txn, const char *org_id,
                                  const unsigned char *rec, orgs_err_t *err)
{
    kbuf_t k;
    MDB_val v;
    apr_uint64_t n = 0, max = st->audit_max_per_org ? st->audit_max_per_org
                                                    : ORGS_STORE_AUDIT_PER_ORG_DEFAULT;
    apr_status_t rv = st_kv_get(txn, DB(st, AUDIT_ORG), st_kb1(&k, org_id), &v, err, "audit log");
    if (rv == APR_SUCCESS) {
        n = count_get(&v);
    } else if (rv != APR_NOTFOUND) {
        return rv;
    }
    for (; n >= max && rv != ORGS_ESTORE; n--) {
        if ((rv = drop_oldest(st, txn, org_id, err)) != APR_SUCCESS) {
            return rv;
        }
    }
    n++;
    rv = st_kv_put(txn, DB(st, AUDIT_ORG), st_kb1(&k, org_id), &n, 8, 0, err, "audit log");
    if (rv == APR_SUCCESS) {
        st_kb1(&k, org_id);
        st_kb_add(&k, rec, AUDIT_KEY_LEN);
        rv = st_kv_put(txn, DB(st, AUDIT_ORG), &k, "", 0, 0, err, "audit log");
    }
    return rv;
}

/* ---- writing ------------------------------------------------------------ */

static json_t *record_make(orgs_store_t *st, apr_time_t t, const char *action, const char *org_id,
                           const char *target, json_t *before, json_t *after, apr_pool_t *p)
{
    json_t *j = json_object();
    if (!j) {
        json_decref(before);
        json_decref(after);
        return NULL;
    }
    st_jset_int(j, "time", t);
    st_jset_str(j, "actor", st_actor_who(st, p));
    st_jset_str(j, "from", actor_from(st));
    st_jset_str(j, "action", action);
    st_jset_str(j, "org_id", org_id);
    st_jset_str(j, "target", target);
    if (before) {
        json_object_set_new(j, "before", before);
    }
    if (after) {
        json_object_set_new(j, "after", after);
    }
    return j;
}

apr_status_t st_audit_add(orgs_store_t *st, MDB_txn *txn, const char *action, const char *org_id,
                          const char *target, json_t *before, json_t *after, apr_pool_t *p,
                          orgs_err_t *err)
{
    unsigned char rec[AUDIT_KEY_LEN];
    kbuf_t k;
    char *text;
    apr_status_t rv = key_next(st, txn, rec, err);
    if (rv != APR_SUCCESS) {
        json_decref(before);
        json_decref(after);
        return rv;
    }
    if (org_id && strlen(org_id) != ID_LEN) {
        org_id = NULL;
    }
    /* A store full for everything but deletes (a delete runs on the
     * reserve): the log must not eat the reserve, so the record is kept
     * short and the two oldest records make room for it. */
    int tight = st_room_tight(st);
    if (tight && (rv = st_audit_drop_oldest(st, txn, 2, p, err)) != APR_SUCCESS) {
        json_decref(before);
        json_decref(after);
        return rv;
    }
    json_t *j = record_make(st, (apr_time_t)key_get(rec), action, org_id, target, before, after, p);
    text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (text && (tight || strlen(text) > ORGS_STORE_AUDIT_RECORD_MAX)) {
        free(text);
        json_object_del(j, "before");
        json_object_del(j, "after");
        json_object_set_new(j, "truncated", json_true());
        text = json_dumps(j, JSON_COMPACT);
    }
    json_decref(j);
    if (!text) {
        return orgs_err_set(err, APR_ENOMEM, "cannot encode an audit record");
    }
    st_capture_audit(st, text);
    rv = st_kv_put(txn, DB(st, AUDIT), st_kbraw(&k, rec, AUDIT_KEY_LEN), text, strlen(text),
                   MDB_APPEND, err, "audit record");
    free(text);
    if (rv == APR_SUCCESS && org_id) {
        rv = org_index_add(st, txn, org_id, rec, err);
    }
    return rv;
}

static apr_status_t audit_append(orgs_store_t *st, MDB_txn *txn, const char *action,
                                 const char *org_id, const char *target, const char *before,
                                 const char *after, apr_pool_t *p, orgs_err_t *err)
{
    json_t *b = before ? json_loads(before, 0, NULL) : NULL;
    json_t *a = after ? json_loads(after, 0, NULL) : NULL;
    if ((before && !b) || (after && !a) || !action || !*action) {
        json_decref(b);
        json_decref(a);
        return orgs_err_set(err, APR_EINVAL, "bad audit record");
    }
    return st_audit_add(st, txn, action, org_id, target, b, a, p, err);
}

apr_status_t orgs_store_audit_append(orgs_store_t *st, const char *action, const char *org_id,
                                     const char *target, const char *before, const char *after,
                                     apr_pool_t *p, orgs_err_t *err)
{
    ST_WRITE(st, txn, err, audit_append(st, txn, action, org_id, target, before, after, p, err));
}

apr_status_t st_audit_replay(orgs_store_t *st, MDB_txn *txn, const char *text, apr_pool_t *p,
                             orgs_err_t *err)
{
    unsigned char rec[AUDIT_KEY_LEN];
    kbuf_t k;
    json_t *j = json_loads(text, 0, NULL);
    apr_status_t rv = j ? key_next(st, txn, rec, err)
                        : orgs_err_set(err, APR_EINVAL, "bad captured audit record");
    const char *org_id = rv == APR_SUCCESS ? st_jget_str(j, "org_id", p) : NULL;
    char *out = NULL;
    if (rv == APR_SUCCESS) {
        st_jset_int(j, "time", (apr_time_t)key_get(rec));
        out = json_dumps(j, JSON_COMPACT);
        rv = out ? APR_SUCCESS : orgs_err_set(err, APR_ENOMEM, "cannot encode an audit record");
    }
    json_decref(j);
    if (rv == APR_SUCCESS) {
        rv = st_kv_put(txn, DB(st, AUDIT), st_kbraw(&k, rec, AUDIT_KEY_LEN), out, strlen(out),
                       MDB_APPEND, err, "audit record");
    }
    free(out);
    if (rv == APR_SUCCESS && org_id && strlen(org_id) == ID_LEN) {
        rv = org_index_add(st, txn, org_id, rec, err);
    }
    return rv;
}

/* ---- a PostgreSQL store's audit (pgstore.h) ------------------------------ */

static apr_status_t import_one(orgs_store_t *st, MDB_txn *txn, const char *text, apr_pool_t *p,
                               orgs_err_t *err)
{
    unsigned char rec[AUDIT_KEY_LEN];
    kbuf_t k;
    json_t *j = json_loads(text, 0, NULL);
    const json_t *t = json_object_get(j, "time");
    apr_status_t rv = json_is_integer(t) && json_integer_value(t) > 0
                          ? key_at(st, txn, (apr_uint64_t)json_integer_value(t), rec, err)
                          : orgs_err_set(err, APR_EINVAL, "bad audit record");
    const char *org_id = rv == APR_SUCCESS ? st_jget_str(j, "org_id", p) : NULL;
    json_decref(j);
    if (rv == APR_SUCCESS) {
        /* its time kept (a later key only for two records of one microsecond) */
        rv = st_kv_put(txn, DB(st, AUDIT), st_kbraw(&k, rec, AUDIT_KEY_LEN), text, strlen(text),
                       MDB_APPEND, err, "audit record");
    }
    if (rv == APR_SUCCESS && org_id && strlen(org_id) == ID_LEN) {
        rv = org_index_add(st, txn, org_id, rec, err);
    }
    return rv;
}

static apr_status_t import_all(orgs_store_t *st, MDB_txn *txn, const apr_array_header_t *texts,
                               apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv = APR_SUCCESS;
    for (int i = 0; rv == APR_SUCCESS && i < texts->nelts; i++) {
        rv = import_one(st, txn, APR_ARRAY_IDX(texts, i, const char *), p, err);
    }
    return rv;
}

apr_status_t orgs_store_audit_import(orgs_store_t *st, const apr_array_header_t *texts,
                                     apr_pool_t *p, orgs_err_t *err)
{
    ST_WRITE(st, txn, err, import_all(st, txn, texts, p, err));
}

static apr_status_t texts_read(orgs_store_t *st, MDB_txn *txn, apr_array_header_t *out,
                               apr_pool_t *p, orgs_err_t *err)
{
    iter_t it;
    apr_status_t rv = st_iter_open(txn, DB(st, AUDIT), NULL, &it, err);
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        APR_ARRAY_PUSH(out, const char *) = apr_pstrmemdup(p, it.v.mv_data, it.v.mv_size);
    }
    return st_iter_end(&it, rv, err);
}

apr_status_t orgs_store_audit_texts(orgs_store_t *st, apr_array_header_t **texts, apr_pool_t *p,
                                    orgs_err_t *err)
{
    *texts = apr_array_make(p, 4, sizeof(const char *));
    ST_READ(st, txn, err, texts_read(st, txn, *texts, p, err));
}
