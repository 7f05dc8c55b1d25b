/* The audit log read back: pages in time order (all, or one org's through
 * its index), and pruned by age in bounded batches. */
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "store_int.h"

#define AUDIT_KEY_LEN 8
#define AUDIT_LIST_DEFAULT 100
#define AUDIT_LIST_MAX 10000
#define AUDIT_PRUNE_DEFAULT 1000

static apr_uint64_t key_get(const unsigned char *k)
{
    apr_uint64_t t = 0;
    for (int i = 0; i < AUDIT_KEY_LEN; i++) {
        t = (t << 8) | k[i];
    }
    return t;
}

static void key_put(unsigned char *k, apr_uint64_t t)
{
    for (int i = AUDIT_KEY_LEN - 1; i >= 0; i--, t >>= 8) {
        k[i] = (unsigned char)(t & 0xff);
    }
}

/* 1 when s is a record id (16 hex digits). */
static int key_parse(const char *s, unsigned char *k)
{
    apr_uint64_t t = 0;
    if (!s || strlen(s) != 16) {
        return 0;
    }
    for (const char *c = s; *c; c++) {
        int d = orgs_text_hex_value((unsigned char)*c);
        if (d < 0) {
            return 0;
        }
        t = (t << 4) | (apr_uint64_t)d;
    }
    key_put(k, t);
    return 1;
}

static const char *dump_member(const json_t *j, const char *name, apr_pool_t *p)
{
    json_t *v = json_object_get(j, name);
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    const char *out = s ? apr_pstrdup(p, s) : NULL;
    free(s);
    return out;
}

static apr_status_t record_decode(const unsigned char *key, const MDB_val *v, orgs_audit_t **out,
                                  apr_pool_t *p, orgs_err_t *err)
{
    json_t *j;
    apr_status_t rv = st_json_of(v->mv_data, v->mv_size, &j, err, "audit record");
    if (rv != APR_SUCCESS) {
        return rv;
    }
    orgs_audit_t *a = apr_pcalloc(p, sizeof(*a));
    a->id = apr_psprintf(p, "%016" APR_UINT64_T_HEX_FMT, key_get(key));
    a->time = (apr_time_t)key_get(key);
    a->actor = st_jget_str(j, "actor", p);
    a->from = st_jget_str(j, "from", p);
    a->action = st_jget_str(j, "action", p);
    a->org_id = st_jget_str(j, "org_id", p);
    a->target = st_jget_str(j, "target", p);
    a->before = dump_member(j, "before", p);
    a->after = dump_member(j, "after", p);
    a->truncated = json_is_true(json_object_get(j, "truncated"));
    json_decref(j);
    if (!a->action) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt audit record %s", a->id);
    }
    *out = a;
    return APR_SUCCESS;
}

typedef struct {
    const orgs_audit_query_t *q;
    apr_size_t limit;
    apr_array_header_t *out;
    const char **next;
} list_t;

/* Takes the record of key when it is in the query's window; 0 when the page is full. */
static apr_status_t take(orgs_store_t *st, MDB_txn *txn, list_t *l, const unsigned char *key,
                         int *full, apr_pool_t *p, orgs_err_t *err)
{
    MDB_val v;
    kbuf_t k;
    orgs_audit_t *a = NULL;
    if ((apr_size_t)l->out->nelts >= l->limit) {
        /* one more exists: the page has a next */
        *l->next = ((orgs_audit_t *)APR_ARRAY_IDX(l->out, l->out->nelts - 1, orgs_audit_t *))->id;
        *full = 1;
        return APR_SUCCESS;
    }
    apr_status_t rv =
        st_kv_get(txn, DB(st, AUDIT), st_kbraw(&k, key, AUDIT_KEY_LEN), &v, err, "audit record");
    if (rv == APR_NOTFOUND) {
        return APR_SUCCESS; /* pruned meanwhile: the index entry goes with the next prune */
    }
    if (rv == APR_SUCCESS && (rv = record_decode(key, &v, &a, p, err)) == APR_SUCCESS) {
        APR_ARRAY_PUSH(l->out, orgs_audit_t *) = a;
    }
    return rv;
}

static apr_status_t audit_list(orgs_store_t *st, MDB_txn *txn, list_t *l, apr_pool_t *p,
                               orgs_err_t *err)
{
    unsigned char start[AUDIT_KEY_LEN] = {0}, from[AUDIT_KEY_LEN];
    const char *org_id = NULL;
    kbuf_t k;
    MDB_cursor *cur;
    MDB_val key, val;
    int rc, full = 0, has_from = 0;
    apr_status_t rv = APR_SUCCESS;
    if (l->q->from && !(has_from = key_parse(l->q->from, from))) {
        return orgs_err_set(err, APR_EINVAL, "bad audit cursor '%.40s'", l->q->from);
    }
    if (l->q->org) {
        orgs_org_t *o;
        rv = st_org_find(st, txn, l->q->org, &o, p, err);
        if (rv == APR_NOTFOUND && orgs_check_id(l->q->org, "org_")) {
            rv = APR_SUCCESS; /* an org deleted since: its records stay */
            org_id = l->q->org;
        } else if (rv == APR_SUCCESS) {
            org_id = o->id;
        } else {
            return rv;
        }
    }
    key_put(start, l->q->since > 0 ? (apr_uint64_t)l->q->since : 0);
    if (has_from && key_get(from) + 1 > key_get(start)) {
        key_put(start, key_get(from) + 1);
    }
    if (org_id && !ST_HAS_DB(st, DB_AUDIT_ORG)) {
        return APR_SUCCESS;
    }
    rc = mdb_cursor_open(txn, org_id ? DB(st, AUDIT_ORG) : DB(st, AUDIT), &cur);
    if (rc != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "audit log");
    }
    if (org_id) {
        st_kb1(&k, org_id);
        st_kb_add(&k, start, AUDIT_KEY_LEN);
    } else {
        st_kbraw(&k, start, AUDIT_KEY_LEN);
    }
    key.mv_data = k.buf;
    key.mv_size = k.len;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == MDB_SUCCESS && rv == APR_SUCCESS && !full;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        const unsigned char *kd = key.mv_data;
        if (org_id && (key.mv_size != ID_LEN + AUDIT_KEY_LEN || memcmp(kd, org_id, ID_LEN))) {
            break;
        }
        if (!org_id && key.mv_size != AUDIT_KEY_LEN) {
            continue;
        }
        rv = take(st, txn, l, org_id ? kd + ID_LEN : kd, &full, p, err);
    }
    mdb_cursor_close(cur);
    if (rv == APR_SUCCESS && rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        rv = st_mdb_fail(rc, err, "audit log");
    }
    return rv;
}

apr_status_t orgs_store_audit_list(orgs_store_t *st, const orgs_audit_query_t *q,
                                   apr_array_header_t **out, const char **next, apr_pool_t *p,
                                   orgs_err_t *err)
{
    list_t l = {q, q->limit ? q->limit : AUDIT_LIST_DEFAULT, NULL, next};
    if (l.limit > AUDIT_LIST_MAX) {
        l.limit = AUDIT_LIST_MAX;
    }
    *out = l.out = apr_array_make(p, 16, sizeof(orgs_audit_t *));
    *next = NULL;
    ST_READ(st, txn, err, audit_list(st, txn, &l, p, err));
}

/* The org index entry of a record being pruned, and the org's count. */
static apr_status_t unindex(orgs_store_t *st, MDB_txn *txn, const unsigned char *rec,
                            const MDB_val *v, apr_pool_t *p, orgs_err_t *err)
{
    json_t *j;
    kbuf_t k;
    MDB_val cv;
    const char *org_id;
    apr_uint64_t n = 0;
    if (st_json_of(v->mv_data, v->mv_size, &j, NULL, "audit record") != APR_SUCCESS) {
        return APR_SUCCESS; /* unreadable: orgs_store_check reports it */
    }
    org_id = st_jget_str(j, "org_id", p);
    json_decref(j);
    if (!org_id || strlen(org_id) != ID_LEN) {
        return APR_SUCCESS;
    }
    st_kb1(&k, org_id);
    st_kb_add(&k, rec, AUDIT_KEY_LEN);
    apr_status_t rv = st_kv_del(txn, DB(st, AUDIT_ORG), &k, 1, err, "audit log");
    if (rv == APR_NOTFOUND) {
        return APR_SUCCESS; /* dropped by the per-org bound already */
    }
    if (rv == APR_SUCCESS) {
        rv = st_kv_get(txn, DB(st, AUDIT_ORG), st_kb1(&k, org_id), &cv, err, "audit log");
        if (rv == APR_SUCCESS && cv.mv_size == 8) {
            memcpy(&n, cv.mv_data, 8);
        }
        rv = rv == APR_NOTFOUND ? APR_SUCCESS : rv;
    }
    if (rv == APR_SUCCESS && n > 1) {
        n--;
        rv = st_kv_put(txn, DB(st, AUDIT_ORG), st_kb1(&k, org_id), &n, 8, 0, err, "audit log");
    } else if (rv == APR_SUCCESS) {
        rv = st_kv_del(txn, DB(st, AUDIT_ORG), st_kb1(&k, org_id), 0, err, "audit log");
    }
    return rv;
}

static apr_status_t audit_prune(orgs_store_t *st, MDB_txn *txn, apr_time_t before, apr_size_t max,
                                apr_size_t *removed, int *more, apr_pool_t *p, orgs_err_t *err)
{
    MDB_cursor *cur;
    MDB_val key, val;
    unsigned char rec[AUDIT_KEY_LEN];
    apr_status_t rv = APR_SUCCESS;
    int rc = mdb_cursor_open(txn, DB(st, AUDIT), &cur);
    if (rc != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "audit log");
    }
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == MDB_SUCCESS && rv == APR_SUCCESS;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size != AUDIT_KEY_LEN) {
            continue;
        }
        if ((apr_time_t)key_get(key.mv_data) >= before) {
            break;
        }
        if (*removed >= max) {
            *more = 1;
            break;
        }
        memcpy(rec, key.mv_data, AUDIT_KEY_LEN);
        rv = unindex(st, txn, rec, &val, p, err);
        if (rv == APR_SUCCESS) {
            rc = mdb_cursor_del(cur, 0);
            rv = rc == MDB_SUCCESS ? APR_SUCCESS : st_mdb_fail(rc, err, "audit log");
            ++*removed;
        }
    }
    mdb_cursor_close(cur);
    if (rv == APR_SUCCESS && rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        rv = st_mdb_fail(rc, err, "audit log");
    }
    return rv;
}

apr_status_t st_audit_drop_oldest(orgs_store_t *st, MDB_txn *txn, apr_size_t n, apr_pool_t *p,
                                  orgs_err_t *err)
{
    apr_size_t removed = 0;
    int more = 0;
    return audit_prune(st, txn, APR_INT64_MAX, n, &removed, &more, p, err);
}

apr_status_t orgs_store_audit_prune(orgs_store_t *st, apr_time_t before, apr_size_t max,
                                    apr_size_t *removed, int *more, apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv;
    *removed = 0;
    *more = 0;
    ST_RELEASE_RV(
        rv, st, txn, err,
        audit_prune(st, txn, before, max ? max : AUDIT_PRUNE_DEFAULT, removed, more, p, err));
    if (rv != APR_SUCCESS) {
        *removed = 0;
        *more = 0;
    }
    return rv;
}
