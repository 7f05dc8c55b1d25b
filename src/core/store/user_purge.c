/* The purge of unused users: those with no membership that have not signed
 * in (or, never signed in, were not created) since a cutoff. A connection
 * that mints a new subject per login leaves such users behind when its
 * sign-ins are refused; nothing else ever removes them. Batched like the
 * session purge: each batch is its own short write transaction. */
#include <string.h>

#include "store_int.h"

#define USER_PURGE_BATCH 500 /* users deleted per transaction, at most */
#define USER_PURGE_SCAN 4000 /* user records read per transaction, at most */

/* Whether the user of packed id has no membership. */
static apr_status_t user_unattached(orgs_store_t *st, MDB_txn *txn, const char *id, int *none,
                                    orgs_err_t *err)
{
    unsigned char user[ID_BIN];
    mrec_t r;
    *none = 0;
    if (!st_id_pack(id, "usr_", user)) {
        return APR_SUCCESS; /* not a user id: left for orgs_store_check */
    }
    apr_status_t rv = st_mrec_load(st, txn, user, &r, err);
    if (rv == APR_SUCCESS) {
        *none = r.n == 0;
    }
    return rv == ORGS_ESTORE ? APR_SUCCESS : rv; /* unreadable: kept, check reports it */
}

/* One batch: reads at most USER_PURGE_SCAN users in key order after *from
 * (from->len 0: from the first), deletes the unused ones (at most
 * USER_PURGE_BATCH); *from becomes the last key read, *more whether users
 * are left to read. */
static apr_status_t user_purge_batch(orgs_store_t *st, MDB_txn *txn, apr_time_t cutoff,
                                     kbuf_t *from, apr_size_t *removed, int *more, apr_pool_t *p,
                                     orgs_err_t *err)
{
    apr_array_header_t *gone = apr_array_make(p, 16, sizeof(const char *));
    MDB_cursor *cur;
    MDB_val key = {0, NULL}, val;
    apr_size_t seen = 0;
    apr_status_t rv = APR_SUCCESS;
    int none, rc = mdb_cursor_open(txn, DB(st, USERS), &cur);
    *more = 0;
    *removed = 0;
    if (rc != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "cursor");
    }
    rc = st_cursor_resume(cur, from, &key, &val);
    for (; rc == MDB_SUCCESS && rv == APR_SUCCESS; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        orgs_user_t *u;
        if (seen == USER_PURGE_SCAN || gone->nelts == USER_PURGE_BATCH) {
            *more = 1;
            break;
        }
        seen++;
        st_kbraw(from, key.mv_data, key.mv_size);
        if (st_user_read(val.mv_data, val.mv_size, &u, p, NULL) != APR_SUCCESS) {
            continue; /* unreadable: orgs_store_check reports it */
        }
        apr_time_t last = u->last_login > u->created ? u->last_login : u->created;
        if (last >= cutoff) {
            continue;
        }
        const char *id = apr_pstrmemdup(p, key.mv_data, key.mv_size);
        rv = user_unattached(st, txn, id, &none, err);
        if (rv == APR_SUCCESS && none) {
            APR_ARRAY_PUSH(gone, const char *) = id;
        }
    }
    mdb_cursor_close(cur);
    if (rv == APR_SUCCESS && rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        return st_mdb_fail(rc, err, "cursor");
    }
    for (int i = 0; rv == APR_SUCCESS && i < gone->nelts; i++) {
        rv = st_user_drop(st, txn, APR_ARRAY_IDX(gone, i, const char *), p, err);
    }
    if (rv == APR_SUCCESS) {
        *removed = (apr_size_t)gone->nelts;
    }
    return rv;
}

apr_status_t orgs_store_user_purge(orgs_store_t *st, apr_time_t cutoff, apr_size_t *removed,
                                   apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t from = {.len = 0};
    int more = 1;
    apr_status_t rv = APR_SUCCESS;
    *removed = 0;
    while (rv == APR_SUCCESS && more) {
        apr_pool_t *bp;
        apr_size_t n = 0;
        if ((rv = st_pool_new(&bp, p, err)) != APR_SUCCESS) {
            return rv;
        }
        ST_WRITE_RV(rv, st, txn, err, user_purge_batch(st, txn, cutoff, &from, &n, &more, bp, err));
        if (rv == APR_SUCCESS) {
            *removed += n;
        }
        apr_pool_destroy(bp);
    }
    return rv;
}
