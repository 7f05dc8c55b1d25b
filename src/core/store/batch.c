/* Changes the admin API makes in one request that take several steps:
 * each is one write transaction, so a request that fails halfway leaves
 * the store as it was. */
#include <string.h>

#include "store_int.h"

static apr_status_t add_many(orgs_store_t *st, MDB_txn *txn, const char *org_ref,
                             const apr_array_header_t *users, const apr_array_header_t *roles,
                             apr_size_t *added, apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    orgs_member_t *m;
    apr_time_t now = apr_time_now();
    apr_status_t rv = st_org_find(st, txn, org_ref, &o, p, err);
    *added = 0;
    for (int i = 0; rv == APR_SUCCESS && i < users->nelts; i++) {
        const char *user_id = APR_ARRAY_IDX(users, i, const char *);
        rv = st_member_load(st, txn, o->id, user_id, &m, p, err);
        if (rv == APR_SUCCESS) {
            continue; /* already a member: left as it is */
        }
        if (rv == APR_NOTFOUND) {
            st_audit_snap_t a;
            st_audit_begin(st, txn, ST_AUDIT_MEMBER, o->id, user_id, &a, p);
            rv =
                st_audit_end(st, txn, "member.add", &a,
                             st_member_insert(st, txn, o->id, user_id, roles, now, p, err), p, err);
            *added += rv == APR_SUCCESS;
        }
    }
    return rv;
}

apr_status_t orgs_store_member_add_many(orgs_store_t *st, const char *org_ref,
                                        const apr_array_header_t *user_ids,
                                        const apr_array_header_t *roles, apr_size_t *added,
                                        apr_pool_t *p, orgs_err_t *err)
{
    ST_WRITE(st, txn, err, add_many(st, txn, org_ref, user_ids, roles, added, p, err));
}

static apr_status_t remove_many(orgs_store_t *st, MDB_txn *txn, const char *org_ref,
                                const apr_array_header_t *users, apr_size_t *removed, apr_pool_t *p,
                                orgs_err_t *err)
{
    orgs_org_t *o;
    orgs_member_t *m;
    apr_status_t rv = st_org_find(st, txn, org_ref, &o, p, err);
    *removed = 0;
    for (int i = 0; rv == APR_SUCCESS && i < users->nelts; i++) {
        const char *user_id = APR_ARRAY_IDX(users, i, const char *);
        rv = st_member_load(st, txn, o->id, user_id, &m, p, err);
        if (rv == APR_NOTFOUND) {
            rv = APR_SUCCESS; /* not a member: nothing to remove */
            continue;
        }
        if (rv == APR_SUCCESS) {
            st_audit_snap_t a;
            st_audit_begin(st, txn, ST_AUDIT_MEMBER, o->id, user_id, &a, p);
            rv = st_audit_end(st, txn, "member.remove", &a,
                              st_member_drop(st, txn, o->id, user_id, 1, p, err), p, err);
            *removed += rv == APR_SUCCESS;
        }
    }
    return rv;
}

apr_status_t orgs_store_member_remove_many(orgs_store_t *st, const char *org_ref,
                                           const apr_array_header_t *user_ids, apr_size_t *removed,
                                           apr_pool_t *p, orgs_err_t *err)
{
    ST_RELEASE(st, txn, err, remove_many(st, txn, org_ref, user_ids, removed, p, err));
}

static apr_status_t org_patch(orgs_store_t *st, MDB_txn *txn, const char *ref,
                              const char *display_name, const apr_array_header_t *meta,
                              const orgs_org_t *brand, apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    apr_array_header_t *unset = NULL;
    apr_status_t rv = st_org_find(st, txn, ref, &o, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (meta) {
        /* replace: every key present goes, then the new pairs come */
        unset = apr_array_make(p, o->meta->nelts + 1, sizeof(const char *));
        for (int i = 0; i < o->meta->nelts; i++) {
            APR_ARRAY_PUSH(unset, const char *) = APR_ARRAY_IDX(o->meta, i, orgs_kv_t).key;
        }
    }
    return st_org_update(st, txn, o->id, display_name, meta, unset, brand, p, err);
}

apr_status_t orgs_store_org_patch(orgs_store_t *st, const char *ref, const char *display_name,
                                  const apr_array_header_t *meta, const orgs_org_t *brand,
                                  apr_pool_t *p, orgs_err_t *err)
{
    ST_WRITE(st, txn, err, org_patch(st, txn, ref, display_name, meta, brand, p, err));
}

static apr_status_t conn_set(orgs_store_t *st, MDB_txn *txn, const char *org_ref,
                             const char *conn_ref, int auto_membership, int must_exist,
                             apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    orgs_conn_t *c;
    int flag;
    const char *require;
    apr_status_t rv = st_org_find(st, txn, org_ref, &o, p, err);
    if (rv == APR_SUCCESS) {
        rv = st_conn_find(st, txn, conn_ref, &c, NULL, p, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = st_enable_load_cond(st, txn, o->id, c->id, &flag, &require, p, err);
    if (rv == APR_SUCCESS && !must_exist) {
        return orgs_err_set(err, APR_EEXIST, "connection '%s' is already enabled on '%s'", c->name,
                            o->name);
    }
    if (rv == APR_NOTFOUND && !must_exist) {
        require = NULL;
    } else if (rv != APR_SUCCESS) {
        return rv;
    }
    st_audit_snap_t a;
    st_audit_begin(st, txn, ST_AUDIT_ENABLE, o->id, c->id, &a, p);
    return st_audit_end(st, txn, "connection.enable", &a,
                        st_enable_set_cond(st, txn, o->id, c->id, auto_membership,
                                           auto_membership ? require : NULL, p, err),
                        p, err);
}

apr_status_t orgs_store_org_conn_patch(orgs_store_t *st, const char *org_ref, const char *conn_ref,
                                       int auto_membership, apr_pool_t *p, orgs_err_t *err)
{
    ST_WRITE(st, txn, err, conn_set(st, txn, org_ref, conn_ref, auto_membership, 1, p, err));
}

apr_status_t orgs_store_org_conn_add(orgs_store_t *st, const char *org_ref, const char *conn_ref,
                                     int auto_membership, apr_pool_t *p, orgs_err_t *err)
{
    ST_WRITE(st, txn, err, conn_set(st, txn, org_ref, conn_ref, auto_membership, 0, p, err));
}

static apr_status_t revoke_in(orgs_store_t *st, MDB_txn *txn, const char *org_ref, const char *id,
                              apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    orgs_invite_t *inv = NULL;
    apr_status_t rv = st_org_find(st, txn, org_ref, &o, p, err);
    if (rv == APR_SUCCESS) {
        rv = st_invite_load(st, txn, id, &inv, p, err);
    }
    if (rv == APR_SUCCESS && strcmp(inv->org_id, o->id) != 0) {
        rv = orgs_err_set(err, APR_NOTFOUND, "invitation not found");
    }
    return rv == APR_SUCCESS ? st_invite_revoke(st, txn, inv, p, err) : rv;
}

apr_status_t orgs_store_invite_revoke_in(orgs_store_t *st, const char *org_ref, const char *id,
                                         apr_pool_t *p, orgs_err_t *err)
{
    ST_RELEASE(st, txn, err, revoke_in(st, txn, org_ref, id, p, err));
}
