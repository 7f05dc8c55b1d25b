/* Pages of the listings the admin API serves: a cursor set at the key the
 * previous page ended on (the checkpoint form), or walked from the start
 * past `skip` entries (the page/per_page form). The checkpoint costs the
 * same at any depth: one cursor positioning, then `take` reads. */
#include <string.h>

#include "store_int.h"

/* One entry of a walk to its record: the key and value as LMDB gave them. */
typedef apr_status_t page_load_fn(orgs_store_t *st, MDB_txn *txn, const MDB_val *k,
                                  const MDB_val *v, void **rec, apr_pool_t *p, orgs_err_t *err);

static apr_status_t entries(MDB_txn *txn, MDB_dbi dbi, apr_size_t *total, orgs_err_t *err)
{
    MDB_stat ms;
    int rc = mdb_stat(txn, dbi, &ms);
    if (rc != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "count");
    }
    *total = ms.ms_entries;
    return APR_SUCCESS;
}

/* A page of a plain table (one entry per record, in key order). */
static apr_status_t walk_page(orgs_store_t *st, MDB_txn *txn, MDB_dbi dbi, const orgs_page_t *pg,
                              page_load_fn *load, apr_array_header_t **out, const char **next,
                              apr_size_t *total, apr_pool_t *p, orgs_err_t *err)
{
    MDB_cursor *cur;
    MDB_val k, v;
    kbuf_t from;
    apr_size_t skip = pg->from && *pg->from ? 0 : pg->skip;
    apr_status_t rv = APR_SUCCESS;
    *out =
        apr_array_make(p, pg->take ? (int)(pg->take < 1000 ? pg->take : 1000) : 1, sizeof(void *));
    *next = NULL;
    if (total && (rv = entries(txn, dbi, total, err)) != APR_SUCCESS) {
        return rv;
    }
    if (pg->take == 0) {
        return APR_SUCCESS;
    }
    st_kb1(&from, pg->from ? pg->from : "");
    if (from.over) {
        return orgs_err_set(err, APR_EINVAL, "bad checkpoint");
    }
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "cursor");
    }
    for (rc = st_cursor_resume(cur, &from, &k, &v); rc == MDB_SUCCESS && skip > 0; skip--) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    while (rc == MDB_SUCCESS && rv == APR_SUCCESS) {
        if ((apr_size_t)(*out)->nelts == pg->take) {
            /* one more exists: the last one returned is the checkpoint */
            *next = apr_pstrmemdup(p, from.buf, from.len);
            break;
        }
        void *rec;
        if ((rv = load(st, txn, &k, &v, &rec, p, err)) == APR_SUCCESS) {
            APR_ARRAY_PUSH(*out, void *) = rec;
            st_kbraw(&from, k.mv_data, k.mv_size);
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
    }
    mdb_cursor_close(cur);
    if (rv == APR_SUCCESS && rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        rv = st_mdb_fail(rc, err, "cursor");
    }
    return rv;
}

static apr_status_t org_entry(orgs_store_t *st, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                              void **rec, apr_pool_t *p, orgs_err_t *err)
{
    (void)k;
    return st_org_load(st, txn, apr_pstrmemdup(p, v->mv_data, v->mv_size), (orgs_org_t **)rec, p,
                       err);
}

static apr_status_t user_entry(orgs_store_t *st, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                               void **rec, apr_pool_t *p, orgs_err_t *err)
{
    (void)v;
    return st_user_load(st, txn, apr_pstrmemdup(p, k->mv_data, k->mv_size), (orgs_user_t **)rec, p,
                        err);
}

apr_status_t orgs_store_org_page(orgs_store_t *st, const orgs_page_t *pg, apr_array_header_t **out,
                                 const char **next, apr_size_t *total, apr_pool_t *p,
                                 orgs_err_t *err)
{
    ST_READ(st, txn, err,
            walk_page(st, txn, DB(st, ORG_NAMES), pg, org_entry, out, next, total, p, err));
}

apr_status_t orgs_store_user_page(orgs_store_t *st, const orgs_page_t *pg, apr_array_header_t **out,
                                  const char **next, apr_size_t *total, apr_pool_t *p,
                                  orgs_err_t *err)
{
    ST_READ(st, txn, err,
            walk_page(st, txn, DB(st, USERS), pg, user_entry, out, next, total, p, err));
}

/* Positions cur on the first member of org after the checkpoint user
 * (packed; NULL = the org's first member). */
static int member_resume(MDB_cursor *cur, unsigned char *org, const unsigned char *after,
                         MDB_val *key, MDB_val *dup)
{
    *key = (MDB_val){ID_BIN, org};
    if (!after) {
        return mdb_cursor_get(cur, key, dup, MDB_SET_KEY);
    }
    *dup = (MDB_val){ID_BIN, (void *)after};
    int rc = mdb_cursor_get(cur, key, dup, MDB_GET_BOTH_RANGE);
    if (rc == MDB_SUCCESS && dup->mv_size == ID_BIN && memcmp(dup->mv_data, after, ID_BIN) == 0) {
        rc = mdb_cursor_get(cur, key, dup, MDB_NEXT_DUP);
    }
    return rc;
}

static apr_status_t member_page(orgs_store_t *st, MDB_txn *txn, const char *org_ref,
                                const orgs_page_t *pg, apr_array_header_t **out, const char **next,
                                apr_size_t *total, apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    MDB_cursor *cur;
    MDB_val key, dup;
    unsigned char org[ID_BIN], after[ID_BIN];
    int from = pg->from && *pg->from;
    apr_size_t skip = from ? 0 : pg->skip;
    apr_status_t rv = st_org_find(st, txn, org_ref, &o, p, err);
    *next = NULL;
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = apr_array_make(p, pg->take ? (int)(pg->take < 1000 ? pg->take : 1000) : 1,
                          sizeof(orgs_member_t *));
    if (from && !st_id_pack(pg->from, "usr_", after)) {
        return orgs_err_set(err, APR_EINVAL, "bad checkpoint '%.40s'", pg->from);
    }
    if (!st_id_pack(o->id, "org_", org)) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt organization record");
    }
    int rc = mdb_cursor_open(txn, DB(st, ORG_MEMBERS), &cur);
    if (rc != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "cursor");
    }
    if (total) {
        size_t n = 0;
        key = (MDB_val){ID_BIN, org};
        rc = mdb_cursor_get(cur, &key, &dup, MDB_SET_KEY);
        if (rc == MDB_SUCCESS) {
            rc = mdb_cursor_count(cur, &n);
        }
        *total = (apr_size_t)n;
        rc = rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
    }
    if (rc == MDB_SUCCESS && pg->take > 0) {
        rc = member_resume(cur, org, from ? after : NULL, &key, &dup);
        for (; rc == MDB_SUCCESS && skip > 0; skip--) {
            rc = mdb_cursor_get(cur, &key, &dup, MDB_NEXT_DUP);
        }
        while (rc == MDB_SUCCESS && rv == APR_SUCCESS) {
            const char *user_id = dup.mv_size == ID_BIN ? st_id_str(dup.mv_data, "usr_", p) : NULL;
            orgs_member_t *m;
            if ((apr_size_t)(*out)->nelts == pg->take) {
                *next = APR_ARRAY_IDX(*out, (*out)->nelts - 1, orgs_member_t *)->user_id;
                break;
            }
            rv = user_id ? st_member_load(st, txn, o->id, user_id, &m, p, err)
                         : orgs_err_set(err, ORGS_ESTORE, "corrupt membership index");
            if (rv == APR_SUCCESS) {
                APR_ARRAY_PUSH(*out, orgs_member_t *) = m;
                rc = mdb_cursor_get(cur, &key, &dup, MDB_NEXT_DUP);
            }
        }
    }
    mdb_cursor_close(cur);
    if (rv == APR_SUCCESS && rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        rv = st_mdb_fail(rc, err, "cursor");
    }
    return rv;
}

apr_status_t orgs_store_member_page(orgs_store_t *st, const char *org_ref, const orgs_page_t *pg,
                                    apr_array_header_t **out, const char **next, apr_size_t *total,
                                    apr_pool_t *p, orgs_err_t *err)
{
    ST_READ(st, txn, err, member_page(st, txn, org_ref, pg, out, next, total, p, err));
}
