/* Invitations bounded: an org holds at most a set number of open
 * invitations (its admin may create them through the admin API, and every
 * org shares the store), and expired ones are removed, by the insert that
 * finds its org at the bound and by the sweep in bounded batches. */
#include <string.h>

#include "store_int.h"

/* Invitation records the sweep reads per transaction. */
#define PURGE_SCAN 1000

void orgs_store_invite_set_max_per_org(orgs_store_t *st, apr_size_t max)
{
    st->invites_per_org = max ? max : (apr_size_t)-1;
}

apr_size_t st_invite_max(const orgs_store_t *st)
{
    if (st->invites_per_org == (apr_size_t)-1) {
        return 0;
    }
    return st->invites_per_org ? st->invites_per_org : ORGS_STORE_INVITES_PER_ORG_DEFAULT;
}

/* The org's invitation index entries, counted up to limit. */
static apr_status_t count_upto(orgs_store_t *st, MDB_txn *txn, const char *org_id, apr_size_t limit,
                               apr_size_t *n, orgs_err_t *err)
{
    iter_t it;
    kbuf_t k;
    apr_status_t rv = st_iter_open(txn, DB(st, INVITE_ORG), st_kb1(&k, org_id), &it, err);
    *n = 0;
    while (rv == APR_SUCCESS && *n < limit && st_iter_next(&it)) {
        (*n)++;
    }
    return st_iter_end(&it, rv, err);
}

/* The org's invitations expired at now, deleted; *removed counts them. */
static apr_status_t purge_org(orgs_store_t *st, MDB_txn *txn, const char *org_id, apr_time_t now,
                              apr_size_t *removed, apr_pool_t *p, orgs_err_t *err)
{
    apr_array_header_t *list;
    kbuf_t k;
    apr_status_t rv = st_collect(txn, DB(st, INVITE_ORG), st_kb1(&k, org_id), &list, p, err);
    *removed = 0;
    for (int i = 0; rv == APR_SUCCESS && i < list->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(list, i, blob_t);
        orgs_invite_t *inv;
        if (b->klen != 2 * ID_LEN ||
            st_invite_load(st, txn, b->k + ID_LEN, &inv, p, NULL) != APR_SUCCESS) {
            continue; /* unreadable: orgs_store_check reports it */
        }
        if (now > inv->expires) {
            rv = st_invite_erase_loaded(st, txn, inv, err);
            *removed += rv == APR_SUCCESS;
        }
    }
    return rv;
}

apr_status_t st_invite_room(orgs_store_t *st, MDB_txn *txn, const char *org_id, apr_size_t max,
                            apr_time_t now, apr_pool_t *p, orgs_err_t *err)
{
    apr_size_t n, removed;
    apr_status_t rv;
    if (!max) {
        return APR_SUCCESS;
    }
    /* keys only while under the bound: the records are read only at it */
    if ((rv = count_upto(st, txn, org_id, max, &n, err)) != APR_SUCCESS || n < max) {
        return rv;
    }
    if ((rv = purge_org(st, txn, org_id, now, &removed, p, err)) != APR_SUCCESS) {
        return rv;
    }
    if (n - removed >= max) {
        return orgs_err_set(err, APR_ENOSPC,
                            "the organization has %" APR_SIZE_T_FMT
                            " open invitations, the most allowed (OrgsMaxInvitationsPerOrg): "
                            "revoke some or let them expire",
                            max);
    }
    return APR_SUCCESS;
}

/* One batch: at most PURGE_SCAN records after from, the expired ones
 * deleted (collected first: no delete under the open cursor). */
static apr_status_t purge_batch(orgs_store_t *st, MDB_txn *txn, apr_time_t now, const char *from,
                                const char **next, apr_size_t *removed, apr_pool_t *p,
                                orgs_err_t *err)
{
    MDB_cursor *cur;
    MDB_val key, val;
    kbuf_t k;
    apr_size_t seen = 0;
    apr_array_header_t *gone = apr_array_make(p, 16, sizeof(orgs_invite_t *));
    apr_status_t rv = APR_SUCCESS;
    *next = NULL;
    int rc = mdb_cursor_open(txn, DB(st, INVITES), &cur);
    if (rc != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "cursor");
    }
    for (rc = st_cursor_resume(cur, st_kb1(&k, from ? from : ""), &key, &val);
         rc == MDB_SUCCESS && seen < PURGE_SCAN; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        const char *id = apr_pstrmemdup(p, key.mv_data, key.mv_size);
        orgs_invite_t *inv;
        seen++;
        *next = id;
        if (st_invite_load(st, txn, id, &inv, p, NULL) == APR_SUCCESS && now > inv->expires) {
            APR_ARRAY_PUSH(gone, orgs_invite_t *) = inv;
        }
    }
    mdb_cursor_close(cur);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        return st_mdb_fail(rc, err, "invitation");
    }
    if (rc == MDB_NOTFOUND) {
        *next = NULL; /* the walk reached the end */
    }
    for (int i = 0; rv == APR_SUCCESS && i < gone->nelts; i++) {
        rv = st_invite_erase_loaded(st, txn, APR_ARRAY_IDX(gone, i, orgs_invite_t *), err);
        *removed += rv == APR_SUCCESS;
    }
    return rv;
}

apr_status_t orgs_store_invite_purge_some(orgs_store_t *st, apr_time_t now, apr_size_t max_batches,
                                          const char *resume, const char **next,
                                          apr_size_t *removed, apr_pool_t *p, orgs_err_t *err)
{
    const char *from = resume && *resume ? resume : NULL;
    apr_status_t rv = APR_SUCCESS;
    *removed = 0;
    *next = NULL;
    for (apr_size_t b = 0; rv == APR_SUCCESS && (max_batches == 0 || b < max_batches); b++) {
        apr_size_t n = 0;
        const char *after = NULL;
        ST_RELEASE_RV(rv, st, txn, err, purge_batch(st, txn, now, from, &after, &n, p, err));
        if (rv != APR_SUCCESS) {
            break;
        }
        *removed += n;
        *next = from = after;
        if (!after) {
            break;
        }
    }
    return rv;
}
