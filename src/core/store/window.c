/* Counts in fixed windows: how many times something happened in the
 * current minute, say, kept as one small record per key. The rates that
 * bound one tenant use it (quota.c: a connection's new users; admin_rate.c:
 * an org's admin API changes), and a node of a PostgreSQL store merges the
 * database's counts into the same records (quota.c). The count is text so
 * that the record reads the same in a dump. */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* 8 bytes of start, then up to 23 digits */
#define WINDOW_MAX (8 + 24)

apr_status_t st_window_get(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, apr_time_t *start,
                           apr_uint64_t *count, orgs_err_t *err, const char *what)
{
    MDB_val v;
    char digits[WINDOW_MAX];
    apr_status_t rv = st_kv_get(txn, dbi, k, &v, err, what);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (v.mv_size <= 8 || v.mv_size >= WINDOW_MAX) {
        return APR_NOTFOUND;
    }
    memcpy(digits, (const char *)v.mv_data + 8, v.mv_size - 8);
    digits[v.mv_size - 8] = '\0';
    *start = (apr_time_t)st_get_u64le(v.mv_data);
    *count = (apr_uint64_t)strtoull(digits, NULL, 10);
    return APR_SUCCESS;
}

apr_status_t st_window_put(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, apr_time_t start,
                           apr_uint64_t count, orgs_err_t *err, const char *what)
{
    char buf[WINDOW_MAX];
    st_put_u64le((unsigned char *)buf, (apr_uint64_t)start);
    int n = apr_snprintf(buf + 8, sizeof(buf) - 8, "%" APR_UINT64_T_FMT, count);
    return st_kv_put(txn, dbi, k, buf, 8 + (size_t)n, 0, err, what);
}

apr_status_t st_window_take(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, apr_interval_time_t len,
                            apr_uint64_t limit, apr_time_t now, apr_time_t *ends, orgs_err_t *err,
                            const char *what)
{
    apr_time_t start = now, at = 0;
    apr_uint64_t count = 0, n = 0;
    apr_status_t rv = st_window_get(txn, dbi, k, &at, &n, err, what);
    if (rv == APR_SUCCESS && now >= at && now - at < len) {
        start = at;
        count = n;
    } else if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        return rv;
    }
    *ends = start + len;
    if (limit && count >= limit) {
        return APR_ENOSPC;
    }
    return st_window_put(txn, dbi, k, start, count + 1, err, what);
}
