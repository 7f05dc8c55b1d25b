/* Invitations: the record and its org index. */
#include <string.h>

#include "store_int.h"

/* inv->org_id may be a name or an id; it becomes the id. */
apr_status_t st_invite_insert(orgs_store_t *st, MDB_txn *txn, orgs_invite_t *inv, apr_pool_t *p,
                              orgs_err_t *err)
{
    orgs_org_t *o;
    kbuf_t k;
    apr_status_t rv;
    if (!orgs_check_id(inv->id, "inv_")) {
        return orgs_err_set(err, APR_EINVAL, "bad invitation id");
    }
    if (!inv->email) {
        return orgs_err_set(err, APR_EINVAL, "an invitation needs an email");
    }
    if (inv->expires <= inv->created) {
        return orgs_err_set(err, APR_EINVAL, "invitation expires before it is created");
    }
    if ((rv = orgs_check_email_normalize(inv->email, &inv->email, p, err)) != APR_SUCCESS ||
        (rv = orgs_check_roles_normalize(inv->roles, &inv->roles, p, err)) != APR_SUCCESS ||
        (rv = st_org_find(st, txn, inv->org_id, &o, p, err)) != APR_SUCCESS) {
        return rv;
    }
    inv->org_id = o->id;
    rv = st_put_json_new(txn, DB(st, INVITES), st_kb1(&k, inv->id), st_invite_encode(inv),
                         MDB_NOOVERWRITE, err, "invitation");
    if (rv == APR_SUCCESS) {
        rv = st_kv_put(txn, DB(st, INVITE_ORG), st_kb2(&k, o->id, inv->id), "", 0, 0, err,
                       "invitation");
    }
    return rv;
}

apr_status_t orgs_store_invite_create(orgs_store_t *st, orgs_invite_t *inv, apr_pool_t *p,
                                      orgs_err_t *err)
{
    char *id;
    apr_status_t rv;
    if ((rv = st_id_new("inv_", &id, p, err)) != APR_SUCCESS) {
        return rv;
    }
    orgs_invite_t i = *inv;
    i.id = id;
    i.created = i.created ? i.created : apr_time_now();
    ST_WRITE_RV(rv, st, txn, err, st_invite_insert(st, txn, &i, p, err));
    if (rv == APR_SUCCESS) {
        *inv = i;
    }
    return rv;
}

apr_status_t st_invite_load(orgs_store_t *st, MDB_txn *txn, const char *id, orgs_invite_t **out,
                            apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    json_t *j;
    if (!orgs_check_id(id, "inv_")) {
        return orgs_err_set(err, APR_NOTFOUND, "invitation not found");
    }
    apr_status_t rv = st_get_json(txn, DB(st, INVITES), st_kb1(&k, id), &j, err, "invitation");
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = st_invite_decode(j, out, p, err);
    json_decref(j);
    return rv == APR_SUCCESS ? rv : orgs_err_set(err, ORGS_ESTORE, "corrupt invitation %s", id);
}

static apr_status_t invite_load_any(orgs_store_t *st, MDB_txn *txn, const char *id, void *out,
                                    apr_pool_t *p, orgs_err_t *err)
{
    return st_invite_load(st, txn, id, out, p, err);
}

static apr_status_t invite_list(orgs_store_t *st, MDB_txn *txn, const char *org_ref,
                                apr_array_header_t **out, apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    kbuf_t k;
    *out = apr_array_make(p, 8, sizeof(orgs_invite_t *));
    apr_status_t rv = st_org_find(st, txn, org_ref, &o, p, err);
    return rv == APR_SUCCESS ? st_load_all(st, txn, DB(st, INVITE_ORG), st_kb1(&k, o->id), ID_LEN,
                                           invite_load_any, out, p, err)
                             : rv;
}

apr_status_t orgs_store_invite_list(orgs_store_t *st, const char *org_ref, apr_array_header_t **out,
                                    apr_pool_t *p, orgs_err_t *err)
{
    ST_READ(st, txn, err, invite_list(st, txn, org_ref, out, p, err));
}

static apr_status_t invite_erase(orgs_store_t *st, MDB_txn *txn, const char *id, apr_pool_t *p,
                                 orgs_err_t *err)
{
    orgs_invite_t *inv;
    kbuf_t k;
    apr_status_t rv = st_invite_load(st, txn, id, &inv, p, err);
    if (rv == APR_SUCCESS) {
        rv = st_kv_del(txn, DB(st, INVITE_ORG), st_kb2(&k, inv->org_id, id), 0, err, "invitation");
    }
    if (rv == APR_SUCCESS) {
        rv = st_kv_del(txn, DB(st, INVITES), st_kb1(&k, id), 1, err, "invitation");
    }
    return rv;
}

apr_status_t orgs_store_invite_revoke(orgs_store_t *st, const char *id, apr_pool_t *p,
                                      orgs_err_t *err)
{
    ST_RELEASE(st, txn, err, invite_erase(st, txn, id, p, err));
}

/* For the replica (replica.c). */
apr_status_t st_invite_erase(orgs_store_t *st, MDB_txn *txn, const char *id, apr_pool_t *p,
                             orgs_err_t *err)
{
    return invite_erase(st, txn, id, p, err);
}
