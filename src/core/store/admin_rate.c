/* The bound on admin API changes per org and minute on this node
 * (store.h, orgs_store_admin_rate_take): one tenant whose administrators
 * (or scripts) write in a loop cannot keep the store's single writer, or a
 * PostgreSQL store's change log, busy for every other tenant. A record per
 * org in the cache database, a count in a minute's window (window.c), as
 * the new-user throttle's (quota.c). The cache database
 * is this node's own (never replicated), so the bound is per node. */
#include "store_int.h"

#define RATE_PREFIX "quota:admin-writes:"
#define RATE_WINDOW apr_time_from_sec(60)

static apr_status_t rate_take(orgs_store_t *st, MDB_txn *txn, const char *org_id, apr_size_t limit,
                              apr_time_t now, apr_interval_time_t *retry, orgs_err_t *err)
{
    kbuf_t k;
    apr_time_t ends;
    st_kb1(&k, RATE_PREFIX);
    st_kb_str(&k, org_id);
    apr_status_t rv =
        st_window_take(txn, DB(st, CACHE), &k, RATE_WINDOW, limit, now, &ends, err, "admin rate");
    if (rv == APR_ENOSPC) {
        *retry = ends - now;
        return orgs_err_set(err, APR_ENOSPC,
                            "the org's admin API changes per minute (%" APR_SIZE_T_FMT ") reached",
                            limit);
    }
    return rv;
}

apr_status_t orgs_store_admin_rate_take(orgs_store_t *st, const char *org_id, apr_size_t limit,
                                        apr_time_t now, apr_interval_time_t *retry, orgs_err_t *err)
{
    *retry = 0;
    if (!org_id || !*org_id) {
        return orgs_err_set(err, APR_EINVAL, "no org");
    }
    if (!limit) {
        return APR_SUCCESS;
    }
    ST_WRITE(st, txn, err, rate_take(st, txn, org_id, limit, now, retry, err));
}
