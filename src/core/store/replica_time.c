/* The time a replica was last confirmed current (pgstore.h): written by
 * the replicator each time it has read the change log to its end, read
 * by the requests that would start a session, so a node cut off from the
 * database can tell how stale its revocations may be. */
#include <string.h>

#include "pgstore.h"
#include "store_int.h"

#define META_CONFIRMED "pg_confirmed"

static apr_status_t confirmed_write(orgs_store_t *st, MDB_txn *txn, apr_time_t now, orgs_err_t *err)
{
    kbuf_t k;
    unsigned char buf[8];
    st_put_u64be(buf, (apr_uint64_t)now);
    return st_kv_put(txn, DB(st, META), st_kb1(&k, META_CONFIRMED), buf, sizeof(buf), 0, err,
                     "replica confirmation time");
}

apr_status_t orgs_store_replica_confirm(orgs_store_t *st, apr_time_t now, orgs_err_t *err)
{
    /* a rewrite in place: allowed on a full map, where a node most needs
     * to say it is still current */
    ST_RELEASE(st, txn, err, confirmed_write(st, txn, now, err));
}

static apr_status_t confirmed_read(orgs_store_t *st, MDB_txn *txn, apr_time_t *at, orgs_err_t *err)
{
    kbuf_t k;
    MDB_val v;
    apr_status_t rv = st_kv_get(txn, DB(st, META), st_kb1(&k, META_CONFIRMED), &v, err,
                                "replica confirmation time");
    *at = 0;
    if (rv == APR_SUCCESS && v.mv_size == 8) {
        *at = (apr_time_t)st_get_u64be(v.mv_data);
    }
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

apr_status_t orgs_store_replica_confirmed(orgs_store_t *st, apr_time_t *at, orgs_err_t *err)
{
    ST_READ(st, txn, err, confirmed_read(st, txn, at, err));
}
