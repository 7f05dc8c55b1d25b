/* What an audit record says about the object a write changes: its JSON
 * shape (json.h) read before and after the change, in the change's
 * transaction. The writers wrap their body between st_audit_begin and
 * st_audit_end. */
#include <string.h>

#include "json.h"
#include "store_int.h"

/* The object's JSON now, or NULL when it does not exist; fills the ids
 * the record names when they are still unknown. */
static json_t *snap(orgs_store_t *st, MDB_txn *txn, st_audit_snap_t *a, apr_pool_t *p)
{
    orgs_org_t *o = NULL;
    orgs_conn_t *c = NULL;
    if ((a->kind == ST_AUDIT_ORG || a->kind == ST_AUDIT_MEMBER || a->kind == ST_AUDIT_ENABLE) &&
        st_org_find(st, txn, a->org_id ? a->org_id : a->ref1, &o, p, NULL) == APR_SUCCESS) {
        a->org_id = o->id;
    }
    if (a->kind == ST_AUDIT_CONN || a->kind == ST_AUDIT_ENABLE) {
        const char *ref = a->kind == ST_AUDIT_CONN ? a->ref1 : a->ref2;
        if (st_conn_find(st, txn, a->target ? a->target : ref, &c, NULL, p, NULL) == APR_SUCCESS) {
            a->target = c->id;
        }
    }
    switch (a->kind) {
    case ST_AUDIT_ORG:
        a->target = a->org_id;
        return o ? orgs_json_org(o) : NULL;
    case ST_AUDIT_CONN:
        return c ? orgs_json_conn(c) : NULL;
    case ST_AUDIT_ENABLE: {
        int am = 0;
        const char *req = NULL;
        if (!o || !c || st_enable_load_cond(st, txn, o->id, c->id, &am, &req, p, NULL)) {
            return NULL;
        }
        orgs_enabled_conn_t e = {c->id, c->name, c->display_name, am, req};
        return orgs_json_enabled_conn(&e);
    }
    case ST_AUDIT_MEMBER: {
        orgs_member_t *m;
        a->target = a->ref2;
        return o && a->ref2 && st_member_load(st, txn, o->id, a->ref2, &m, p, NULL) == APR_SUCCESS
                   ? orgs_json_member(m)
                   : NULL;
    }
    case ST_AUDIT_USER: {
        orgs_user_t *u;
        a->target = a->ref1;
        return a->ref1 && st_user_load(st, txn, a->ref1, &u, p, NULL) == APR_SUCCESS
                   ? orgs_json_user(u)
                   : NULL;
    }
    }
    return NULL;
}

void st_audit_begin(orgs_store_t *st, MDB_txn *txn, int kind, const char *ref1, const char *ref2,
                    st_audit_snap_t *a, apr_pool_t *p)
{
    memset(a, 0, sizeof(*a));
    a->kind = kind;
    a->ref1 = ref1;
    a->ref2 = ref2;
    a->before = snap(st, txn, a, p);
}

apr_status_t st_audit_end(orgs_store_t *st, MDB_txn *txn, const char *action, st_audit_snap_t *a,
                          apr_status_t rv, apr_pool_t *p, orgs_err_t *err)
{
    if (rv != APR_SUCCESS) {
        json_decref(a->before);
        return rv;
    }
    json_t *after = snap(st, txn, a, p);
    return st_audit_add(st, txn, action, a->org_id, a->target, a->before, after, p, err);
}
