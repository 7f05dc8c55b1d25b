/* Tenant quotas: the bounds a sign-in must stay within so that one
 * connection (one customer's IdP) or one org cannot fill the store that
 * every org shares. Each check runs inside the sign-in's write
 * transaction, so a refusal writes nothing, and costs at most the bound
 * it checks (a range walk stopped at the bound, or one count). */
#include "store_int.h"

/* The new-user throttle's record, in the cache database (a count in a
 * minute's window, window.c): one per connection, rewritten in the
 * transaction that inserts the user. */
#define THROTTLE_PREFIX "quota:new-users:"
#define THROTTLE_WINDOW apr_time_from_sec(60)

/* Entries under pfx, counted up to limit (the walk stops there). */
static apr_status_t count_upto(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *pfx, apr_size_t limit,
                               apr_size_t *n, orgs_err_t *err)
{
    iter_t it;
    apr_status_t rv = st_iter_open(txn, dbi, pfx, &it, err);
    *n = 0;
    while (rv == APR_SUCCESS && *n < limit && st_iter_next(&it)) {
        (*n)++;
    }
    return st_iter_end(&it, rv, err);
}

static apr_status_t over(orgs_signin_t *in, orgs_quota_kind_t kind, orgs_err_t *err,
                         const char *what, apr_size_t bound)
{
    in->over_quota = kind;
    return orgs_err_set(err, APR_ENOSPC, "%s (%" APR_SIZE_T_FMT ") reached", what, bound);
}

/* Counts this new user in its connection's minute; APR_ENOSPC past the
 * rate (nothing counted). */
static apr_status_t throttle_new_user(orgs_store_t *st, MDB_txn *txn, const orgs_signin_t *in,
                                      const char *conn_id, orgs_err_t *err)
{
    kbuf_t k;
    apr_time_t ends;
    st_kb1(&k, THROTTLE_PREFIX);
    st_kb_str(&k, conn_id);
    apr_status_t rv = st_window_take(txn, DB(st, CACHE), &k, THROTTLE_WINDOW,
                                     in->quota->new_users_per_min, in->now, &ends, err, "quota");
    if (rv == APR_ENOSPC) {
        return orgs_err_set(err, APR_ENOSPC,
                            "the connection's new users per minute (%" APR_SIZE_T_FMT ") reached",
                            in->quota->new_users_per_min);
    }
    return rv;
}

apr_status_t st_quota_new_user(orgs_store_t *st, MDB_txn *txn, orgs_signin_t *in,
                               const char *conn_id, orgs_err_t *err)
{
    const orgs_store_quota_t *q = in->quota;
    apr_status_t rv = APR_SUCCESS;
    if (!q) {
        return APR_SUCCESS;
    }
    if (q->users_per_conn) {
        kbuf_t k;
        apr_size_t n;
        /* the new user is in the index already: more than the bound is over */
        rv = count_upto(txn, DB(st, CONN_USERS), st_kb1(&k, conn_id), q->users_per_conn + 1, &n,
                        err);
        if (rv == APR_SUCCESS && n > q->users_per_conn) {
            return over(in, ORGS_QUOTA_USERS_PER_CONN, err, "the connection's users",
                        q->users_per_conn);
        }
    }
    if (rv == APR_SUCCESS && q->new_users_per_min) {
        rv = throttle_new_user(st, txn, in, conn_id, err);
        if (rv == APR_ENOSPC) {
            in->over_quota = ORGS_QUOTA_NEW_USERS_PER_MIN;
        }
    }
    /* a node of a PostgreSQL store: the replica's count is the cluster's
     * as last replicated; the database decides against its own row, under
     * the writers' lock (pg_count.c), so nodes together keep the rate */
    if (rv == APR_SUCCESS && q->new_users_per_min) {
        st_capture_new_user(st, conn_id, in->now, q->new_users_per_min);
    }
    return rv;
}

apr_status_t st_quota_throttle_merge(orgs_store_t *st, MDB_txn *txn, const char *conn_id,
                                     apr_time_t start, apr_uint64_t count, orgs_err_t *err)
{
    kbuf_t k;
    apr_time_t at;
    apr_uint64_t n;
    st_kb1(&k, THROTTLE_PREFIX);
    st_kb_str(&k, conn_id);
    apr_status_t rv = st_window_get(txn, DB(st, CACHE), &k, &at, &n, err, "quota");
    /* a later minute's row, or a lower count of the same minute, is older
     * than what the replica holds (applied late): kept */
    if (rv == APR_SUCCESS && (at > start || (at == start && n >= count))) {
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        return rv;
    }
    return st_window_put(txn, DB(st, CACHE), &k, start, count, err, "quota");
}

apr_status_t st_quota_join(orgs_store_t *st, MDB_txn *txn, orgs_signin_t *in, orgs_err_t *err)
{
    unsigned char org[ID_BIN];
    MDB_cursor *cur;
    size_t n = 0;
    if (!in->quota || !in->quota->users_per_org || !st_id_pack(in->org_id, "org_", org)) {
        return APR_SUCCESS;
    }
    int rc = mdb_cursor_open(txn, DB(st, ORG_MEMBERS), &cur);
    if (rc != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "cursor");
    }
    /* a DUPSORT key's count is kept by LMDB: O(1), whatever the org's size */
    MDB_val key = {ID_BIN, org}, dup;
    rc = mdb_cursor_get(cur, &key, &dup, MDB_SET_KEY);
    if (rc == MDB_SUCCESS) {
        rc = mdb_cursor_count(cur, &n);
    }
    mdb_cursor_close(cur);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        return st_mdb_fail(rc, err, "member");
    }
    if (n >= in->quota->users_per_org) {
        return over(in, ORGS_QUOTA_USERS_PER_ORG, err, "the org's users", in->quota->users_per_org);
    }
    return APR_SUCCESS;
}

apr_status_t st_quota_session(orgs_store_t *st, MDB_txn *txn, orgs_signin_t *in, orgs_err_t *err)
{
    kbuf_t k;
    apr_size_t n;
    if (!in->quota || !in->quota->sessions_per_org) {
        return APR_SUCCESS;
    }
    apr_status_t rv = count_upto(txn, DB(st, SESSION_IDX), st_kb1(&k, in->org_id),
                                 in->quota->sessions_per_org, &n, err);
    if (rv == APR_SUCCESS && n >= in->quota->sessions_per_org) {
        return over(in, ORGS_QUOTA_SESSIONS_PER_ORG, err, "the org's sessions",
                    in->quota->sessions_per_org);
    }
    return rv;
}
