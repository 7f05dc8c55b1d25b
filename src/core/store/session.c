/* Sessions: put, view, touch, logout hint, delete, the per-member trim
 * and the batched purge. */
#include <stdio.h>
#include <string.h>

#include "store_int.h"
#include "text.h"

#define SESSION_PURGE_BATCH 1000 /* sessions deleted per purge transaction, at most */
#define SESSION_PURGE_SCAN 4000  /* session records read per purge transaction, at most */

/* Deletes one session: its record (must_exist: APR_NOTFOUND when absent),
 * its logout hint and its index entry idx (org id + user id + hash). Every
 * session deletion goes through here, so no hint outlives its session. */
static apr_status_t session_erase(orgs_store_t *st, MDB_txn *txn, const unsigned char *hash,
                                  const kbuf_t *idx, int must_exist, orgs_err_t *err)
{
    kbuf_t k;
    st_kbraw(&k, hash, HASH_LEN);
    st_capture_note_session(st, hash);
    apr_status_t rv = st_kv_del(txn, DB(st, SESSIONS), &k, must_exist, err, "session");
    if (rv == APR_SUCCESS && st->has_session_hints) {
        rv = st_kv_del(txn, DB(st, SESSION_HINTS), &k, 0, err, "session");
    }
    if (rv == APR_SUCCESS) {
        rv = st_kv_del(txn, DB(st, SESSION_IDX), idx, 0, err, "session");
    }
    return rv;
}

/* Deletes the sessions indexed under pfx (org id [+ user id]). */
apr_status_t st_sessions_drop(orgs_store_t *st, MDB_txn *txn, const kbuf_t *pfx, apr_pool_t *p,
                              orgs_err_t *err)
{
    apr_array_header_t *hits;
    kbuf_t k;
    apr_status_t rv = st_collect(txn, DB(st, SESSION_IDX), pfx, &hits, p, err);
    for (int i = 0; rv == APR_SUCCESS && i < hits->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(hits, i, blob_t);
        if (b->klen != 2 * ID_LEN + HASH_LEN) {
            continue;
        }
        rv = session_erase(st, txn, (const unsigned char *)b->k + 2 * ID_LEN,
                           st_kbraw(&k, b->k, b->klen), 0, err);
    }
    return rv;
}

/* Deletes the org's sessions signed in through conn_id: a walk of the
 * org's range of the session index, not of all sessions. A session whose
 * record is unreadable goes too (fail closed). */
apr_status_t st_sessions_drop_conn(orgs_store_t *st, MDB_txn *txn, const char *org_id,
                                   const char *conn_id, apr_pool_t *p, orgs_err_t *err)
{
    apr_array_header_t *hits;
    kbuf_t k;
    apr_status_t rv = st_collect(txn, DB(st, SESSION_IDX), st_kb1(&k, org_id), &hits, p, err);
    for (int i = 0; rv == APR_SUCCESS && i < hits->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(hits, i, blob_t);
        const unsigned char *hash = (const unsigned char *)b->k + 2 * ID_LEN;
        orgs_session_t *s;
        if (b->klen != 2 * ID_LEN + HASH_LEN) {
            continue;
        }
        rv = st_session_load(st, txn, hash, &s, p, err);
        if (rv == APR_SUCCESS && (!s->conn_id || strcmp(s->conn_id, conn_id) != 0)) {
            continue; /* another connection's session */
        }
        if (rv == APR_SUCCESS || rv == ORGS_ESTORE || rv == APR_NOTFOUND) {
            rv = session_erase(st, txn, hash, st_kbraw(&k, b->k, b->klen), 0, err);
        }
    }
    return rv;
}

apr_status_t st_session_load(orgs_store_t *st, MDB_txn *txn, const unsigned char *hash,
                             orgs_session_t **out, apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    MDB_val v;
    apr_status_t rv =
        st_kv_get(txn, DB(st, SESSIONS), st_kbraw(&k, hash, HASH_LEN), &v, err, "session");
    return rv == APR_SUCCESS ? st_srec_decode(v.mv_data, v.mv_size, out, p, err) : rv;
}

kbuf_t *st_kb_session_idx(kbuf_t *k, const orgs_session_t *s, const unsigned char *hash)
{
    st_kb2(k, s->org_id, s->user_id);
    st_kb_add(k, hash, HASH_LEN);
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
        st_collect(txn, DB(st, SESSION_IDX), st_kb2(&k, s->org_id, s->user_id), &hits, p, err);
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
            st_session_load(st, txn, hash, &o, p, NULL) == APR_SUCCESS ? o->created : 0;
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
                           st_kbraw(&k, b->k, b->klen), 0, err);
    }
    return rv;
}

/* The exports a session may keep: names and values UTF-8, together at
 * most ORGS_STORE_SESSION_EXPORTS_MAX bytes (the encoder checks the rest). */
static apr_status_t exports_check(const apr_array_header_t *ex, orgs_err_t *err)
{
    apr_size_t total = 0;
    for (int i = 0; ex && i < ex->nelts; i++) {
        const orgs_export_t *e = &APR_ARRAY_IDX(ex, i, orgs_export_t);
        const char *parts[] = {e->env, e->header, e->value};
        for (int k = 0; k < 3; k++) {
            apr_size_t n = parts[k] ? strlen(parts[k]) : 0;
            if (parts[k] && !orgs_text_utf8_valid(parts[k], n, 0)) {
                return orgs_err_set(err, APR_EINVAL,
                                    "session: cannot encode record (invalid UTF-8?)");
            }
            total += n + 1;
        }
    }
    return total > ORGS_STORE_SESSION_EXPORTS_MAX
               ? orgs_err_set(err, APR_EINVAL, "session data too large")
               : APR_SUCCESS;
}

apr_status_t st_session_put(orgs_store_t *st, MDB_txn *txn, const unsigned char *hash,
                            const orgs_session_t *s, apr_pool_t *p, orgs_err_t *err)
{
    orgs_member_t *m;
    orgs_conn_t *c;
    orgs_session_t *old;
    kbuf_t k;
    st_bytes_t rec = {0, NULL};
    apr_status_t rv;
    if (!s->expires || s->expires < s->created || s->last_seen < s->created) {
        return orgs_err_set(err, APR_EINVAL, "session times are inconsistent");
    }
    if (s->id_token_hint &&
        strnlen(s->id_token_hint, ORGS_STORE_SESSION_HINT_MAX + 1) > ORGS_STORE_SESSION_HINT_MAX) {
        return orgs_err_set(err, APR_EINVAL, "session data too large");
    }
    if ((rv = exports_check(s->exports, err)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = st_member_load(st, txn, s->org_id, s->user_id, &m, p, err)) != APR_SUCCESS ||
        (rv = st_conn_read(st, txn, s->conn_id, &c, NULL, p, err)) != APR_SUCCESS) {
        return rv;
    }
    if (s->id_token_hint && !orgs_text_utf8_valid(s->id_token_hint, strlen(s->id_token_hint), 0)) {
        return orgs_err_set(err, APR_EINVAL, "session: cannot encode record (invalid UTF-8?)");
    }
    if ((rv = st_srec_encode(s, c->name, &rec, p, err)) != APR_SUCCESS) {
        return rv;
    }
    st_capture_note_session(st, hash);
    rv = st_session_load(st, txn, hash, &old, p, err);
    if (rv == APR_SUCCESS) {
        rv = st_kv_del(txn, DB(st, SESSION_IDX), st_kb_session_idx(&k, old, hash), 0, err,
                       "session");
    } else if (rv == APR_NOTFOUND) {
        rv = APR_SUCCESS;
    }
    if (rv == APR_SUCCESS) {
        rv = st_kv_put(txn, DB(st, SESSIONS), st_kbraw(&k, hash, HASH_LEN), rec.data, rec.size, 0,
                       err, "session");
    }
    if (rv == APR_SUCCESS) {
        rv = s->id_token_hint ? st_kv_put(txn, DB(st, SESSION_HINTS), &k, s->id_token_hint,
                                          strlen(s->id_token_hint), 0, err, "session")
                              : st_kv_del(txn, DB(st, SESSION_HINTS), &k, 0, err, "session");
    }
    if (rv == APR_SUCCESS) {
        rv = st_kv_put(txn, DB(st, SESSION_IDX), st_kb_session_idx(&k, s, hash), "", 0, 0, err,
                       "session");
    }
    return rv == APR_SUCCESS ? sessions_trim(st, txn, s, hash, p, err) : rv;
}

apr_status_t orgs_store_session_put(orgs_store_t *st, const unsigned char sid_hash[32],
                                    const orgs_session_t *s, apr_pool_t *p, orgs_err_t *err)
{
    ST_WRITE(st, txn, err, st_session_put(st, txn, sid_hash, s, p, err));
}

int st_session_expired(const orgs_session_t *s, apr_time_t now, apr_interval_time_t idle)
{
    return now > s->expires || (idle > 0 && now - s->last_seen > idle);
}

/* The record of hash opened in place (*v points into the map, *k is its
 * key); ORGS_ESTORE when it is not a well-formed session record. */
static apr_status_t session_open(orgs_store_t *st, MDB_txn *txn, const unsigned char *hash,
                                 kbuf_t *k, MDB_val *v, srec_t *r, orgs_err_t *err)
{
    apr_status_t rv =
        st_kv_get(txn, DB(st, SESSIONS), st_kbraw(k, hash, HASH_LEN), v, err, "session");
    if (rv == APR_SUCCESS && !st_srec_open(v->mv_data, v->mv_size, r)) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt session record");
    }
    return rv;
}

/* The hot path: one record decoded without a parser, the membership found
 * inside the user's packed record, the org and the user decoded as records
 * the store wrote (st_org_view: bounds checked, strings not re-validated;
 * the ids the session already has are not unpacked again). The connection
 * (its name is in the session record) is only looked up when the user is
 * bound to another one: deleting a connection deletes its users in the
 * same transaction (conn.c), so the user's record standing for the
 * session's connection says the connection stands too. */
apr_status_t st_session_view(orgs_store_t *st, MDB_txn *txn, const unsigned char *hash,
                             apr_time_t now, apr_interval_time_t idle, orgs_session_view_t **out,
                             apr_pool_t *p, orgs_err_t *err)
{
    srec_t r;
    ment_t e;
    kbuf_t k;
    MDB_val v;
    apr_status_t rv = session_open(st, txn, hash, &k, &v, &r, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    orgs_session_view_t *vw = apr_palloc(p, sizeof(*vw));
    orgs_session_t *s = &vw->session;
    if (!st_srec_session(&r, s, p)) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt session record");
    }
    if (st_session_expired(s, now, idle)) {
        return orgs_err_set(err, ORGS_EEXPIRED, "session expired");
    }
    const st_id_known_t known[] = {{r.org, s->org_id}, {r.user, s->user_id}, {r.conn, s->conn_id}};
    if ((rv = st_member_load_packed(st, txn, r.org, r.user, &e, err)) != APR_SUCCESS ||
        (rv = st_kv_get(txn, DB(st, ORGS), st_kb1(&k, s->org_id), &v, err, "organization")) !=
            APR_SUCCESS) {
        return rv;
    }
    if (st_org_view(v.mv_data, v.mv_size, known, 1, &vw->org, p, err) != APR_SUCCESS) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt organization %s", s->org_id);
    }
    if ((rv = st_kv_get(txn, DB(st, USERS), st_kb1(&k, s->user_id), &v, err, "user")) !=
        APR_SUCCESS) {
        return rv == APR_NOTFOUND ? orgs_err_set(err, rv, "user '%s' not found", s->user_id) : rv;
    }
    if (st_user_view(v.mv_data, v.mv_size, known + 1, 2, &vw->user, p, err) != APR_SUCCESS) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt user %s", s->user_id);
    }
    if (vw->user.conn_id != s->conn_id && /* known[2]: the same packed id */
        (rv = st_kv_get(txn, DB(st, CONNS), st_kb1(&k, s->conn_id), &v, err, "connection")) !=
            APR_SUCCESS) {
        return rv;
    }
    vw->member.org_id = s->org_id;
    vw->member.user_id = s->user_id;
    vw->member.created = e.created;
    vw->member.roles = st_roles_decode(&e, p);
    vw->conn_name = apr_pstrmemdup(p, r.conn_name, r.conn_name_len);
    s->exports = st_srec_exports(&r, p);
    *out = vw;
    return APR_SUCCESS;
}

apr_status_t orgs_store_session_view(orgs_store_t *st, const unsigned char sid_hash[32],
                                     apr_time_t now, apr_interval_time_t idle,
                                     orgs_session_view_t **out, apr_pool_t *p, orgs_err_t *err)
{
    if (st_revoked_has(st, sid_hash)) { /* its delete failed: ended all the same */
        return orgs_err_set(err, APR_NOTFOUND, "session ended");
    }
    ST_READ(st, txn, err, st_session_view(st, txn, sid_hash, now, idle, out, p, err));
}

static apr_status_t session_touch(orgs_store_t *st, MDB_txn *txn, const unsigned char *hash,
                                  apr_time_t now, apr_pool_t *p, orgs_err_t *err)
{
    srec_t r;
    kbuf_t k;
    MDB_val v;
    apr_status_t rv = session_open(st, txn, hash, &k, &v, &r, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* v points into the map: change a copy */
    unsigned char *b = apr_pmemdup(p, v.mv_data, v.mv_size);
    st_put_u64le(b + SREC_TIMES + 8, (apr_uint64_t)now);
    return st_kv_put(txn, DB(st, SESSIONS), &k, b, v.mv_size, 0, err, "session");
}

apr_status_t orgs_store_session_touch(orgs_store_t *st, const unsigned char sid_hash[32],
                                      apr_time_t now, apr_pool_t *p, orgs_err_t *err)
{
    ST_RELEASE(st, txn, err, session_touch(st, txn, sid_hash, now, p, err));
}

apr_status_t st_session_erase_hash(orgs_store_t *st, MDB_txn *txn, const unsigned char *hash,
                                   apr_pool_t *p, orgs_err_t *err)
{
    orgs_session_t *s;
    kbuf_t k;
    apr_status_t rv = st_session_load(st, txn, hash, &s, p, err);
    return rv == APR_SUCCESS ? session_erase(st, txn, hash, st_kb_session_idx(&k, s, hash), 1, err)
                             : rv;
}

static apr_status_t session_hint_load(orgs_store_t *st, MDB_txn *txn, const unsigned char *hash,
                                      const char **hint, apr_pool_t *p, orgs_err_t *err)
{
    MDB_val v;
    kbuf_t k;
    st_kbraw(&k, hash, HASH_LEN);
    apr_status_t rv = st_kv_get(txn, DB(st, SESSIONS), &k, &v, err, "session");
    if (rv == APR_SUCCESS && st->has_session_hints) {
        rv = st_kv_get(txn, DB(st, SESSION_HINTS), &k, &v, err, "session");
        if (rv == APR_SUCCESS) {
            *hint = apr_pstrmemdup(p, v.mv_data, v.mv_size);
        } else if (rv == APR_NOTFOUND) {
            rv = APR_SUCCESS; /* a session without a hint */
        }
    }
    return rv;
}

apr_status_t orgs_store_session_hint_get(orgs_store_t *st, const unsigned char sid_hash[32],
                                         const char **hint, apr_pool_t *p, orgs_err_t *err)
{
    *hint = NULL;
    ST_READ(st, txn, err, session_hint_load(st, txn, sid_hash, hint, p, err));
}

apr_status_t orgs_store_session_delete(orgs_store_t *st, const unsigned char sid_hash[32],
                                       apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv;
    ST_RELEASE_RV(rv, st, txn, err, st_session_erase_hash(st, txn, sid_hash, p, err));
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        st_revoked_add(st, sid_hash); /* refused by this process anyway */
    }
    return rv;
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
    MDB_val key = {0, NULL}, val;
    kbuf_t k;
    apr_size_t n = 0, seen = 0;
    int rc = mdb_cursor_open(txn, DB(st, SESSIONS), &cur);
    apr_status_t rv = APR_SUCCESS;
    *more = 0;
    *removed = 0;
    if (rc != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "cursor");
    }
    rc = st_cursor_resume(cur, from, &key, &val);
    for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        orgs_session_t *s = apr_palloc(p, sizeof(*s));
        srec_t r;
        if (seen == st->purge_scan || n == st->purge_batch) {
            *more = 1;
            break;
        }
        seen++;
        st_kbraw(from, key.mv_data, key.mv_size);
        if (key.mv_size == HASH_LEN && st_srec_open(val.mv_data, val.mv_size, &r) &&
            st_srec_session(&r, s, p) && st_session_expired(s, now, idle)) {
            memcpy(gone[n].hash, key.mv_data, HASH_LEN);
            gone[n++].s = s;
        }
    }
    mdb_cursor_close(cur);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        return st_mdb_fail(rc, err, "cursor");
    }
    for (apr_size_t i = 0; rv == APR_SUCCESS && i < n; i++) {
        rv = session_erase(st, txn, gone[i].hash, st_kb_session_idx(&k, gone[i].s, gone[i].hash), 1,
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
apr_status_t orgs_store_session_purge_some(orgs_store_t *st, apr_time_t now,
                                           apr_interval_time_t idle, apr_size_t max_batches,
                                           const char *resume, const char **next,
                                           apr_size_t *removed, int *more, apr_pool_t *p,
                                           orgs_err_t *err)
{
    kbuf_t from = {.len = 0};
    apr_status_t rv = APR_SUCCESS;
    *removed = 0;
    *more = 1;
    *next = NULL;
    for (size_t i = 0; resume && resume[2 * i] && resume[2 * i + 1] && i < HASH_LEN; i++) {
        unsigned b;
        if (sscanf(resume + 2 * i, "%2x", &b) != 1) {
            from.len = 0; /* not one of ours: from the start */
            break;
        }
        from.buf[from.len++] = (char)b;
    }
    for (apr_size_t i = 0; rv == APR_SUCCESS && *more && (!max_batches || i < max_batches); i++) {
        apr_pool_t *bp;
        apr_size_t n = 0;
        if ((rv = st_pool_new(&bp, p, err)) != APR_SUCCESS) {
            return rv;
        }
        ST_RELEASE_RV(rv, st, txn, err,
                      session_purge_batch(st, txn, now, idle, &from, &n, more, bp, err));
        if (rv == APR_SUCCESS) {
            *removed += n;
        }
        apr_pool_destroy(bp);
    }
    if (rv == APR_SUCCESS && *more) {
        char *hex = apr_palloc(p, 2 * from.len + 1);
        for (size_t i = 0; i < from.len; i++) {
            apr_snprintf(hex + 2 * i, 3, "%02x", (unsigned char)from.buf[i]);
        }
        hex[2 * from.len] = '\0';
        *next = hex;
    }
    return rv;
}

apr_status_t orgs_store_session_purge(orgs_store_t *st, apr_time_t now, apr_interval_time_t idle,
                                      apr_size_t *removed, apr_pool_t *p, orgs_err_t *err)
{
    int more;
    const char *next;
    return orgs_store_session_purge_some(st, now, idle, 0, NULL, &next, removed, &more, p, err);
}
