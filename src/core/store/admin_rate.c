/* The bound on admin API changes per org and minute on this node
 * (store.h, orgs_store_admin_rate_take): one tenant whose administrators
 * (or scripts) write in a loop cannot keep the store's single writer, or a
 * PostgreSQL store's change log, busy for every other tenant. A record per
 * org in the cache database, as the new-user throttle's (quota.c): the
 * window's start, 8 bytes LE, then the count as text. The cache database
 * is this node's own (never replicated), so the bound is per node. */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define RATE_PREFIX "quota:admin-writes:"
#define RATE_WINDOW apr_time_from_sec(60)

static apr_status_t rate_take(orgs_store_t *st, MDB_txn *txn, const char *org_id, apr_size_t limit,
                              apr_time_t now, apr_interval_time_t *retry, orgs_err_t *err)
{
    kbuf_t k;
    MDB_val v;
    apr_time_t start = now;
    apr_size_t count = 0;
    char buf[8 + 24];
    st_kb1(&k, RATE_PREFIX);
    st_kb_str(&k, org_id);
    apr_status_t rv = st_kv_get(txn, DB(st, CACHE), &k, &v, err, "admin rate");
    if (rv == APR_SUCCESS && v.mv_size > 8 && v.mv_size < sizeof(buf)) {
        apr_time_t at = (apr_time_t)st_get_u64le(v.mv_data);
        memcpy(buf, (const char *)v.mv_data + 8, v.mv_size - 8);
        buf[v.mv_size - 8] = '\0';
        if (now >= at && now - at < RATE_WINDOW) {
            start = at;
            count = (apr_size_t)strtoul(buf, NULL, 10);
        }
    } else if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        return rv;
    }
    if (count >= limit) {
        *retry = start + RATE_WINDOW - now;
        return orgs_err_set(err, APR_ENOSPC,
                            "the org's admin API changes per minute (%" APR_SIZE_T_FMT ") reached",
                            limit);
    }
    st_put_u64le((unsigned char *)buf, (apr_uint64_t)start);
    int n = apr_snprintf(buf + 8, sizeof(buf) - 8, "%" APR_SIZE_T_FMT, count + 1);
    return st_kv_put(txn, DB(st, CACHE), &k, buf, 8 + (size_t)n, 0, err, "admin rate");
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
