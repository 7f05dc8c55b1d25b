/* The used marks of pending logins kept in the browser's cookie
 * (OrgsLoginState cookie, the default): such a login is nowhere in the
 * store until its sign-in, which marks its state used in the same write
 * transaction, so a second callback of the same login (a replay, or the
 * same one twice at once) is refused. A mark lives as long as the cookie
 * could have been used (the login's creation + OrgsLoginTimeout, plus a
 * margin for a clock stepped back); the next marks sweep the expired
 * ones, oldest first.
 *
 * Every callback that reaches the commit writes a mark, denied ones too,
 * and how many of those come is up to the IdPs: the live marks are
 * counted per owner and bounded (the caller's cap), the owner being the
 * org of a sign-in that got in and the pair of org and connection of one
 * refused (orgs_store_used_owner). So an org signing in without end fills
 * its own share, and refused sign-ins (anyone with an account at an IdP
 * an org enables can make those) that pair's, never the table all orgs
 * share, the share an org's members need, nor another org's.
 *
 *   pending_used       state -> expires (8 bytes BE, microseconds) + owner id
 *   pending_used_time  expires (8 bytes BE) + state -> owner id
 *   pending_used_org   owner id -> live marks (8 bytes BE)
 */
#include <string.h>

#include <apr_strings.h>

#include "signin.h"
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

static apr_status_t org_count(orgs_store_t *st, MDB_txn *txn, const char *org_id, apr_uint64_t *n,
                              orgs_err_t *err)
{
    MDB_val v;
    kbuf_t k;
    apr_status_t rv =
        st_kv_get(txn, DB(st, PENDING_USED_ORG), st_kb1(&k, org_id), &v, err, "used sign-in count");
    *n = rv == APR_SUCCESS && v.mv_size == 8 ? st_get_u64be(v.mv_data) : 0;
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

/* The org's live marks moved by delta (+1 or -1); the row goes at 0. */
static apr_status_t org_count_add(orgs_store_t *st, MDB_txn *txn, const char *org_id, int delta,
                                  orgs_err_t *err)
{
    unsigned char b[8];
    apr_uint64_t n;
    kbuf_t k;
    apr_status_t rv = org_count(st, txn, org_id, &n, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    n = delta > 0 ? n + 1 : n > 0 ? n - 1 : 0;
    if (n == 0) {
        rv = st_kv_del(txn, DB(st, PENDING_USED_ORG), st_kb1(&k, org_id), 0, err,
                       "used sign-in count");
        return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
    }
    st_put_u64be(b, n);
    return st_kv_put(txn, DB(st, PENDING_USED_ORG), st_kb1(&k, org_id), b, sizeof(b), 0, err,
                     "used sign-in count");
}

/* Drops up to max marks expired at now, oldest first; *removed counts
 * them. */
static apr_status_t used_sweep(orgs_store_t *st, MDB_txn *txn, apr_time_t now, apr_size_t max,
                               apr_size_t *removed, apr_pool_t *p, orgs_err_t *err)
{
    iter_t it;
    apr_array_header_t *old = apr_array_make(p, (int)(max < 64 ? max : 64), sizeof(blob_t));
    apr_status_t rv = st_iter_open(txn, DB(st, PENDING_USED_TIME), NULL, &it, err);
    while (rv == APR_SUCCESS && (apr_size_t)old->nelts < max && st_iter_next(&it)) {
        if (it.k.mv_size > 8 &&
            (apr_time_t)st_get_u64be((const unsigned char *)it.k.mv_data) > now) {
            break; /* oldest first: the rest is live */
        }
        blob_t *b = apr_array_push(old);
        b->klen = it.k.mv_size;
        b->k = apr_pstrmemdup(p, it.k.mv_data, it.k.mv_size);
        b->vlen = it.v.mv_size;
        b->v = apr_pstrmemdup(p, it.v.mv_data, it.v.mv_size);
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
            rv = rv == APR_NOTFOUND ? APR_SUCCESS : rv;
        }
        if (rv == APR_SUCCESS && b->vlen > 0) {
            rv = org_count_add(st, txn, b->v, -1, err);
        }
    }
    if (removed) {
        *removed = rv == APR_SUCCESS ? (apr_size_t)old->nelts : 0;
    }
    return rv;
}

/* A state a sealed login can have (the key of its mark). */
static int state_ok(const char *state)
{
    return state && *state && strlen(state) <= 255;
}

static apr_status_t used_get(orgs_store_t *st, MDB_txn *txn, const char *state, int *used,
                             orgs_err_t *err)
{
    MDB_val v;
    kbuf_t k;
    apr_status_t rv;

    *used = 0;
    if (!ST_HAS_DB(st, DB_PENDING_USED) || !state_ok(state)) {
        return APR_SUCCESS;
    }
    rv = st_kv_get(txn, DB(st, PENDING_USED), st_kb1(&k, state), &v, err, "used sign-in mark");
    *used = rv == APR_SUCCESS;
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

apr_status_t st_pending_used_check(orgs_store_t *st, MDB_txn *txn, const char *state,
                                   orgs_err_t *err)
{
    int used = 0;
    apr_status_t rv;
    if (!state_ok(state)) {
        return orgs_err_set(err, APR_NOTFOUND, "bad state");
    }
    rv = used_get(st, txn, state, &used, err);
    if (rv == APR_SUCCESS && used) {
        return orgs_err_set(err, APR_NOTFOUND, "pending login used already");
    }
    return rv;
}

apr_status_t st_pending_used_mark(orgs_store_t *st, MDB_txn *txn, const char *state,
                                  const char *owner_id, apr_time_t expires, apr_time_t now,
                                  apr_size_t cap, apr_pool_t *p, orgs_err_t *err)
{
    unsigned char t[8];
    apr_uint64_t n = 0;
    kbuf_t k;
    apr_status_t rv;

    if (!ST_HAS_DB(st, DB_PENDING_USED) || !ST_HAS_DB(st, DB_PENDING_USED_ORG)) {
        return orgs_err_set(err, ORGS_ESTORE, "store without the table of used sign-ins");
    }
    if (!state_ok(state)) {
        return orgs_err_set(err, APR_NOTFOUND, "bad state");
    }
    if (!owner_id || !*owner_id) {
        return orgs_err_set(err, APR_EINVAL, "sign-in without an org or a connection");
    }
    /* a used state is refused by the write itself (the sign-in read it
     * first, st_pending_used_check, before deciding anything) */
    rv = used_sweep(st, txn, now, USED_SWEEP, NULL, p, err);
    if (rv == APR_SUCCESS && cap) {
        rv = org_count(st, txn, owner_id, &n, err);
        if (rv == APR_SUCCESS && n >= cap) {
            /* full of live marks, or of expired ones the sweeps have not
             * reached yet: the caller sweeps more in a transaction of its
             * own (one here would be rolled back with this refusal) */
            return orgs_err_set(err, APR_ENOSPC,
                                "%" APR_UINT64_T_FMT " sign-ins within the login timeout "
                                "(at most %" APR_SIZE_T_FMT ")",
                                n, cap);
        }
    }
    st_put_u64be(t, (apr_uint64_t)expires);
    if (rv == APR_SUCCESS) {
        kbuf_t kv;
        st_kbraw(&kv, t, sizeof(t));
        st_kb_str(&kv, owner_id);
        rv = st_kv_put(txn, DB(st, PENDING_USED), st_kb1(&k, state), kv.buf, kv.len,
                       MDB_NOOVERWRITE, err, "used sign-in mark");
        if (rv == APR_EEXIST) {
            return orgs_err_set(err, APR_NOTFOUND, "pending login used already");
        }
    }
    if (rv == APR_SUCCESS) {
        rv = st_kv_put(txn, DB(st, PENDING_USED_TIME), kb_used_time(&k, expires, state), owner_id,
                       strlen(owner_id), 0, err, "used sign-in mark");
    }
    if (rv == APR_SUCCESS) {
        rv = org_count_add(st, txn, owner_id, +1, err);
    }
    return rv;
}

const char *orgs_store_used_owner(const orgs_signin_t *in, int admitted, apr_pool_t *p)
{
    return orgs_signin_admitted(admitted) ? in->org_id
                                          : apr_pstrcat(p, in->org_id, "/", in->conn_id, NULL);
}

orgs_quota_kind_t orgs_store_used_full(int admitted)
{
    return orgs_signin_admitted(admitted) ? ORGS_QUOTA_SIGNINS_PER_ORG
                                          : ORGS_QUOTA_DENIALS_PER_CONN;
}

apr_status_t orgs_store_pending_used(orgs_store_t *st, const char *state, int *used,
                                     orgs_err_t *err)
{
    ST_READ(st, txn, err, used_get(st, txn, state, used, err));
}

static apr_status_t sweep_body(orgs_store_t *st, MDB_txn *txn, apr_time_t now, apr_size_t max,
                               apr_size_t *removed, apr_pool_t *p, orgs_err_t *err)
{
    *removed = 0;
    if (!ST_HAS_DB(st, DB_PENDING_USED) || !ST_HAS_DB(st, DB_PENDING_USED_ORG)) {
        return APR_SUCCESS;
    }
    return used_sweep(st, txn, now, max, removed, p, err);
}

apr_status_t orgs_store_pending_used_sweep(orgs_store_t *st, apr_time_t now, apr_size_t max,
                                           apr_size_t *removed, apr_pool_t *p, orgs_err_t *err)
{
    /* deletes only: runs on a full store too (the store-full sweep) */
    ST_RELEASE(st, txn, err, sweep_body(st, txn, now, max, removed, p, err));
}

apr_status_t orgs_store_pending_used_count(orgs_store_t *st, const char *owner_id,
                                           apr_size_t *count, orgs_err_t *err)
{
    apr_uint64_t n = 0;
    apr_status_t rv;
    ST_READ_RV(rv, st, txn, err,
               ST_HAS_DB(st, DB_PENDING_USED_ORG) ? org_count(st, txn, owner_id, &n, err)
                                                  : APR_SUCCESS);
    *count = (apr_size_t)n;
    return rv;
}
