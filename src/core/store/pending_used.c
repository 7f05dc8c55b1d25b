/* The used marks of pending logins kept in the browser's cookie
 * (OrgsLoginState cookie, the default): such a login is nowhere in the
 * store until its sign-in, which marks its state used in the same write
 * transaction, so a second callback of the same login (a replay, or the
 * same one twice at once) is refused. A mark lives as long as the cookie
 * could have been used (the login's creation + OrgsLoginTimeout); the
 * next marks sweep the expired ones, oldest first. Only sign-ins write
 * marks, so the table holds at most a login timeout's worth of sign-ins.
 *
 *   pending_used       state -> expires (8 bytes BE, microseconds)
 *   pending_used_time  expires (8 bytes BE) + state -> ""
 */
#include <string.h>

#include "store_int.h"

#define USED_SWEEP 8 /* expired marks dropped by every new one */

static kbuf_t *kb_used_time(kbuf_t *k, apr_time_t expires, const char *state)
{
    unsigned char t[8];
    st_put_u64be(t, (apr_uint64_t)expires);
    st_kbraw(k, t, 8);
    st_kb_str(k, state);
    return k;
}

static apr_status_t used_sweep(orgs_store_t *st, MDB_txn *txn, apr_time_t now, apr_pool_t *p,
                               orgs_err_t *err)
{
    iter_t it;
    apr_array_header_t *old = apr_array_make(p, USED_SWEEP, sizeof(blob_t));
    apr_status_t rv = st_iter_open(txn, DB(st, PENDING_USED_TIME), NULL, &it, err);
    while (rv == APR_SUCCESS && old->nelts < USED_SWEEP && st_iter_next(&it)) {
        if (it.k.mv_size > 8 &&
            (apr_time_t)st_get_u64be((const unsigned char *)it.k.mv_data) > now) {
            break; /* oldest first: the rest is live */
        }
        blob_t *b = apr_array_push(old);
        b->klen = it.k.mv_size;
        b->k = apr_pstrmemdup(p, it.k.mv_data, it.k.mv_size);
    }
    rv = st_iter_end(&it, rv, err);
    for (int i = 0; rv == APR_SUCCESS && i < old->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(old, i, blob_t);
        kbuf_t k;
        rv = st_kv_del(txn, DB(st, PENDING_USED_TIME), st_kbraw(&k, b->k, b->klen), 0, err,
                       "used sign-in mark");
        if (rv == APR_SUCCESS && b->klen > 8) {
            rv = st_kv_del(txn, DB(st, PENDING_USED), st_kb1(&k, b->k + 8), 0, err,
                           "used sign-in mark");
        }
    }
    return rv;
}

apr_status_t st_pending_used_mark(orgs_store_t *st, MDB_txn *txn, const char *state,
                                  apr_time_t expires, apr_time_t now, apr_pool_t *p,
                                  orgs_err_t *err)
{
    unsigned char t[8];
    MDB_val v;
    kbuf_t k;
    apr_status_t rv;

    if (!ST_HAS_DB(st, DB_PENDING_USED)) {
        return orgs_err_set(err, ORGS_ESTORE, "store without the table of used sign-ins");
    }
    if (!state || !*state || strlen(state) > 255) {
        return orgs_err_set(err, APR_NOTFOUND, "bad state");
    }
    rv = st_kv_get(txn, DB(st, PENDING_USED), st_kb1(&k, state), &v, err, "used sign-in mark");
    if (rv == APR_SUCCESS) {
        return orgs_err_set(err, APR_NOTFOUND, "pending login used already");
    }
    if (rv != APR_NOTFOUND) {
        return rv;
    }
    rv = used_sweep(st, txn, now, p, err);
    st_put_u64be(t, (apr_uint64_t)expires);
    if (rv == APR_SUCCESS) {
        rv = st_kv_put(txn, DB(st, PENDING_USED), st_kb1(&k, state), t, sizeof(t), 0, err,
                       "used sign-in mark");
    }
    if (rv == APR_SUCCESS) {
        rv = st_kv_put(txn, DB(st, PENDING_USED_TIME), kb_used_time(&k, expires, state), "", 0, 0,
                       err, "used sign-in mark");
    }
    return rv;
}

static apr_status_t used_get(orgs_store_t *st, MDB_txn *txn, const char *state, int *used,
                             orgs_err_t *err)
{
    MDB_val v;
    kbuf_t k;
    apr_status_t rv;

    *used = 0;
    if (!ST_HAS_DB(st, DB_PENDING_USED) || !state || !*state || strlen(state) > 255) {
        return APR_SUCCESS;
    }
    rv = st_kv_get(txn, DB(st, PENDING_USED), st_kb1(&k, state), &v, err, "used sign-in mark");
    *used = rv == APR_SUCCESS;
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

apr_status_t orgs_store_pending_used(orgs_store_t *st, const char *state, int *used,
                                     orgs_err_t *err)
{
    ST_READ(st, txn, err, used_get(st, txn, state, used, err));
}
