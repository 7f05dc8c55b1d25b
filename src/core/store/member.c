/* Memberships and roles: the per-user membership record, the org ->
 * members index, and the member and user cascades. */
#include <string.h>

#include "json.h"
#include "store_int.h"

/* The record of a packed user id; an absent one is empty. */
apr_status_t st_mrec_load(orgs_store_t *st, MDB_txn *txn, const unsigned char *user, mrec_t *r,
                          orgs_err_t *err)
{
    MDB_val key = {ID_BIN, (void *)user}, v = {0, NULL};
    *r = (mrec_t){NULL, 0, 0}; /* empty on every error path too */
    int rc = mdb_get(txn, DB(st, MEMBERS), &key, &v);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        return st_mdb_fail(rc, err, "member");
    }
    if (!st_mrec_open(v.mv_data, v.mv_size, r)) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt membership record");
    }
    return APR_SUCCESS;
}

static apr_status_t mrec_write(orgs_store_t *st, MDB_txn *txn, const unsigned char *user,
                               const st_bytes_t *v, orgs_err_t *err)
{
    MDB_val key = {ID_BIN, (void *)user}, val = {v->size, v->data};
    int rc = v->size ? mdb_put(txn, DB(st, MEMBERS), &key, &val, 0)
                     : mdb_del(txn, DB(st, MEMBERS), &key, NULL);
    return rc == MDB_SUCCESS || (rc == MDB_NOTFOUND && !v->size) ? APR_SUCCESS
                                                                 : st_mdb_fail(rc, err, "member");
}

static orgs_member_t *member_make(const ment_t *e, const char *org_id, const char *user_id,
                                  apr_pool_t *p)
{
    orgs_member_t *m = apr_palloc(p, sizeof(*m));
    m->org_id = org_id;
    m->user_id = user_id;
    m->created = e->created;
    m->roles = st_roles_decode(e, p);
    return m;
}

/* The hot lookup: packed ids -> the entry (pointing into the map). */
apr_status_t st_member_load_packed(orgs_store_t *st, MDB_txn *txn, const unsigned char *org,
                                   const unsigned char *user, ment_t *e, orgs_err_t *err)
{
    mrec_t r;
    apr_uint32_t pos;
    apr_status_t rv = st_mrec_load(st, txn, user, &r, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!st_mrec_search(&r, org, &pos)) {
        return orgs_err_set(err, APR_NOTFOUND, "not a member");
    }
    return st_mrec_entry(&r, pos, e) ? APR_SUCCESS
                                     : orgs_err_set(err, ORGS_ESTORE, "corrupt membership record");
}

apr_status_t st_member_load(orgs_store_t *st, MDB_txn *txn, const char *org_id, const char *user_id,
                            orgs_member_t **out, apr_pool_t *p, orgs_err_t *err)
{
    unsigned char org[ID_BIN], user[ID_BIN];
    ment_t e;
    if (!st_id_pack(org_id, "org_", org) || !st_id_pack(user_id, "usr_", user)) {
        return orgs_err_set(err, APR_NOTFOUND, "not a member");
    }
    apr_status_t rv = st_member_load_packed(st, txn, org, user, &e, err);
    if (rv == APR_SUCCESS) {
        *out = member_make(&e, apr_pstrmemdup(p, org_id, ID_LEN),
                           apr_pstrmemdup(p, user_id, ID_LEN), p);
    }
    return rv;
}

/* Adds (flags MDB_NOOVERWRITE: APR_EEXIST if present) or replaces the
 * membership, in the record and the org index. Ids are checked ids. */
static apr_status_t member_write(orgs_store_t *st, MDB_txn *txn, const char *org_id,
                                 const char *user_id, const apr_array_header_t *roles,
                                 apr_time_t created, unsigned flags, apr_pool_t *p, orgs_err_t *err)
{
    unsigned char org[ID_BIN], user[ID_BIN];
    mrec_t r;
    ment_t e = {org, created, NULL, 0};
    apr_uint32_t pos;
    st_bytes_t v;
    if (!st_id_pack(org_id, "org_", org) || !st_id_pack(user_id, "usr_", user)) {
        return orgs_err_set(err, APR_NOTFOUND, "not a member");
    }
    st_roles_encode(roles, &e, p);
    st_capture_note(st, "member", org_id, user_id);
    apr_status_t rv = st_mrec_load(st, txn, user, &r, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    int found = st_mrec_search(&r, org, &pos);
    if (found && (flags & MDB_NOOVERWRITE)) {
        return orgs_err_set(err, APR_EEXIST, "user %s is already a member of %s", user_id, org_id);
    }
    if ((rv = st_mrec_splice(&r, pos, found, &e, &v, p, err)) != APR_SUCCESS ||
        (rv = mrec_write(st, txn, user, &v, err)) != APR_SUCCESS || found) {
        return rv;
    }
    MDB_val key = {ID_BIN, org}, dup = {ID_BIN, user};
    int rc = mdb_put(txn, DB(st, ORG_MEMBERS), &key, &dup, 0);
    return rc == MDB_SUCCESS ? APR_SUCCESS : st_mdb_fail(rc, err, "member");
}

/* Removes the membership from the record and the index, and its sessions.
 * Ids are checked ids. must_exist: APR_NOTFOUND when not a member;
 * otherwise whatever is left of it is cleaned up. */
apr_status_t st_member_drop(orgs_store_t *st, MDB_txn *txn, const char *org_id, const char *user_id,
                            int must_exist, apr_pool_t *p, orgs_err_t *err)
{
    unsigned char org[ID_BIN], user[ID_BIN];
    mrec_t r;
    apr_uint32_t pos;
    st_bytes_t v;
    kbuf_t k;
    if (!st_id_pack(org_id, "org_", org) || !st_id_pack(user_id, "usr_", user)) {
        return orgs_err_set(err, APR_NOTFOUND, "user %s is not a member of %s", user_id, org_id);
    }
    st_capture_note(st, "member", org_id, user_id);
    apr_status_t rv = st_mrec_load(st, txn, user, &r, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (st_mrec_search(&r, org, &pos)) {
        if ((rv = st_mrec_splice(&r, pos, 1, NULL, &v, p, err)) != APR_SUCCESS ||
            (rv = mrec_write(st, txn, user, &v, err)) != APR_SUCCESS) {
            return rv;
        }
    } else if (must_exist) {
        return orgs_err_set(err, APR_NOTFOUND, "user %s is not a member of %s", user_id, org_id);
    }
    MDB_val key = {ID_BIN, org}, dup = {ID_BIN, user};
    int rc = mdb_del(txn, DB(st, ORG_MEMBERS), &key, &dup);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        return st_mdb_fail(rc, err, "member");
    }
    return st_sessions_drop(st, txn, st_kb2(&k, org_id, user_id), p, err);
}

/* The packed user ids of an org's members, copied into p (the caller may
 * delete while walking them). */
apr_status_t st_org_member_ids(orgs_store_t *st, MDB_txn *txn, const char *org_id,
                               apr_array_header_t **out, apr_pool_t *p, orgs_err_t *err)
{
    MDB_cursor *cur;
    unsigned char org[ID_BIN];
    *out = apr_array_make(p, 16, sizeof(const unsigned char *));
    if (!st_id_pack(org_id, "org_", org)) {
        return APR_SUCCESS; /* no such org, no members */
    }
    int rc = mdb_cursor_open(txn, DB(st, ORG_MEMBERS), &cur);
    if (rc != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "cursor");
    }
    MDB_val key = {ID_BIN, org}, dup;
    for (rc = mdb_cursor_get(cur, &key, &dup, MDB_SET_KEY); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &key, &dup, MDB_NEXT_DUP)) {
        if (dup.mv_size == ID_BIN) {
            APR_ARRAY_PUSH(*out, const unsigned char *) = apr_pmemdup(p, dup.mv_data, ID_BIN);
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? APR_SUCCESS : st_mdb_fail(rc, err, "cursor");
}

apr_status_t st_user_org_ids(orgs_store_t *st, MDB_txn *txn, const char *user_id,
                             apr_array_header_t **out, apr_pool_t *p, orgs_err_t *err)
{
    unsigned char user[ID_BIN];
    mrec_t r;
    apr_status_t rv;
    *out = apr_array_make(p, 4, sizeof(const char *));
    if (!st_id_pack(user_id, "usr_", user)) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt user record");
    }
    if ((rv = st_mrec_load(st, txn, user, &r, err)) != APR_SUCCESS) {
        return rv;
    }
    /* r points into the map: the ids are copied before any record changes */
    for (apr_uint32_t i = 0; i < r.n; i++) {
        const char *org_id = st_id_str(r.d + 4 + (size_t)i * ID_BIN, "org_", p);
        if (!org_id) {
            return orgs_err_set(err, ORGS_ESTORE, "corrupt membership record");
        }
        APR_ARRAY_PUSH(*out, const char *) = org_id;
    }
    return APR_SUCCESS;
}

apr_status_t st_user_drop(orgs_store_t *st, MDB_txn *txn, const char *user_id, apr_pool_t *p,
                          orgs_err_t *err)
{
    orgs_user_t *u;
    apr_array_header_t *orgs;
    kbuf_t k;
    apr_status_t rv = st_user_load(st, txn, user_id, &u, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    st_capture_note(st, "user", u->id, u->conn_id);
    if ((rv = st_user_org_ids(st, txn, u->id, &orgs, p, err)) != APR_SUCCESS) {
        return rv;
    }
    for (int i = 0; rv == APR_SUCCESS && i < orgs->nelts; i++) {
        rv = st_member_drop(st, txn, APR_ARRAY_IDX(orgs, i, const char *), u->id, 0, p, err);
    }
    if (rv == APR_SUCCESS) {
        rv = st_user_index(st, txn, u, 0, err);
    }
    if (rv == APR_SUCCESS) {
        rv = st_kv_del(txn, DB(st, USERS), st_kb1(&k, user_id), 1, err, "user");
    }
    return rv;
}

apr_status_t st_member_insert(orgs_store_t *st, MDB_txn *txn, const char *org_ref,
                              const char *user_id, const apr_array_header_t *roles,
                              apr_time_t created, apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    apr_array_header_t *r;
    kbuf_t k;
    MDB_val v;
    const char *org_id = org_ref;
    apr_status_t rv = orgs_check_roles_normalize(roles, &r, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* existence is enough here: no need to decode the records (bulk import) */
    if (orgs_check_id(org_ref, "org_")) {
        rv = st_kv_get(txn, DB(st, ORGS), st_kb1(&k, org_ref), &v, err, "organization");
    } else if ((rv = st_org_find(st, txn, org_ref, &o, p, err)) == APR_SUCCESS) {
        org_id = o->id;
    }
    if (rv == APR_NOTFOUND) {
        return orgs_err_set(err, rv, "organization '%s' not found", org_ref ? org_ref : "");
    }
    if (rv == APR_SUCCESS) {
        rv = orgs_check_id(user_id, "usr_")
                 ? st_kv_get(txn, DB(st, USERS), st_kb1(&k, user_id), &v, err, "user")
                 : APR_NOTFOUND;
        if (rv == APR_NOTFOUND) {
            return orgs_err_set(err, rv, "user '%s' not found", user_id ? user_id : "");
        }
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return member_write(st, txn, org_id, user_id, r, created, MDB_NOOVERWRITE, p, err);
}

apr_status_t orgs_store_member_add(orgs_store_t *st, const char *org_ref, const char *user_id,
                                   const apr_array_header_t *roles, apr_pool_t *p, orgs_err_t *err)
{
    st_audit_snap_t a;
    ST_WRITE(
        st, txn, err,
        (st_audit_begin(st, txn, ST_AUDIT_MEMBER, org_ref, user_id, &a, p),
         st_audit_end(st, txn, "member.add", &a,
                      st_member_insert(st, txn, org_ref, user_id, roles, apr_time_now(), p, err), p,
                      err)));
}

apr_status_t orgs_store_member_get(orgs_store_t *st, const char *org_id, const char *user_id,
                                   orgs_member_t **out, apr_pool_t *p, orgs_err_t *err)
{
    ST_READ(st, txn, err, st_member_load(st, txn, org_id, user_id, out, p, err));
}

static apr_status_t member_remove(orgs_store_t *st, MDB_txn *txn, const char *org_ref,
                                  const char *user_id, apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    apr_status_t rv = st_org_find(st, txn, org_ref, &o, p, err);
    if (rv == APR_SUCCESS && !orgs_check_id(user_id, "usr_")) {
        rv = orgs_err_set(err, APR_NOTFOUND, "user '%s' not found", user_id ? user_id : "");
    }
    return rv == APR_SUCCESS ? st_member_drop(st, txn, o->id, user_id, 1, p, err) : rv;
}

apr_status_t orgs_store_member_remove(orgs_store_t *st, const char *org_ref, const char *user_id,
                                      apr_pool_t *p, orgs_err_t *err)
{
    st_audit_snap_t a;
    ST_RELEASE(st, txn, err,
               (st_audit_begin(st, txn, ST_AUDIT_MEMBER, org_ref, user_id, &a, p),
                st_audit_end(st, txn, "member.remove", &a,
                             member_remove(st, txn, org_ref, user_id, p, err), p, err)));
}

/* An org's members (by user id, through the index) or a user's memberships
 * (by org id, from the record); ref names the org (name or id) or the user. */
static apr_status_t members_list(orgs_store_t *st, MDB_txn *txn, int of_user, const char *ref,
                                 apr_array_header_t **out, apr_pool_t *p, orgs_err_t *err)
{
    apr_array_header_t *users;
    unsigned char bin[ID_BIN];
    orgs_org_t *o;
    orgs_user_t *u;
    mrec_t r;
    ment_t e;
    apr_status_t rv =
        of_user ? st_user_load(st, txn, ref, &u, p, err) : st_org_find(st, txn, ref, &o, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    const char *id = of_user ? u->id : o->id;
    *out = apr_array_make(p, 16, sizeof(orgs_member_t *));
    if (of_user) {
        if (!st_id_pack(id, "usr_", bin)) {
            return orgs_err_set(err, ORGS_ESTORE, "corrupt user record");
        }
        if ((rv = st_mrec_load(st, txn, bin, &r, err)) != APR_SUCCESS) {
            return rv;
        }
        const char *user_id = apr_pstrdup(p, id);
        for (apr_uint32_t i = 0; i < r.n; i++) {
            const char *org_id = st_id_str(st_mrec_org(&r, i), "org_", p);
            if (!org_id || !st_mrec_entry(&r, i, &e)) {
                return orgs_err_set(err, ORGS_ESTORE, "corrupt membership record");
            }
            APR_ARRAY_PUSH(*out, orgs_member_t *) = member_make(&e, org_id, user_id, p);
        }
        return APR_SUCCESS;
    }
    rv = st_org_member_ids(st, txn, id, &users, p, err);
    for (int i = 0; rv == APR_SUCCESS && i < users->nelts; i++) {
        const char *user_id = st_id_str(APR_ARRAY_IDX(users, i, const unsigned char *), "usr_", p);
        orgs_member_t *m;
        rv = user_id ? st_member_load(st, txn, id, user_id, &m, p, err)
                     : orgs_err_set(err, ORGS_ESTORE, "corrupt membership index");
        if (rv == APR_SUCCESS) {
            APR_ARRAY_PUSH(*out, orgs_member_t *) = m;
        }
    }
    return rv;
}

apr_status_t orgs_store_member_list(orgs_store_t *st, const char *org_ref, apr_array_header_t **out,
                                    apr_pool_t *p, orgs_err_t *err)
{
    ST_READ(st, txn, err, members_list(st, txn, 0, org_ref, out, p, err));
}

apr_status_t orgs_store_user_orgs(orgs_store_t *st, const char *user_id, apr_array_header_t **out,
                                  apr_pool_t *p, orgs_err_t *err)
{
    ST_READ(st, txn, err, members_list(st, txn, 1, user_id, out, p, err));
}

static apr_status_t role_change(orgs_store_t *st, MDB_txn *txn, const char *org_ref,
                                const char *user_id, const apr_array_header_t *roles, int add,
                                apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    orgs_member_t *m;
    apr_array_header_t *r;
    apr_status_t rv;
    if ((rv = orgs_check_roles_normalize(roles, &r, p, err)) != APR_SUCCESS ||
        (rv = st_org_find(st, txn, org_ref, &o, p, err)) != APR_SUCCESS ||
        (rv = st_member_load(st, txn, o->id, user_id, &m, p, err)) != APR_SUCCESS) {
        return rv;
    }
    apr_array_header_t *next = apr_array_make(p, m->roles->nelts + r->nelts, sizeof(char *));
    for (int i = 0; i < m->roles->nelts; i++) {
        const char *role = APR_ARRAY_IDX(m->roles, i, const char *);
        if (add || !st_array_has(r, role)) {
            APR_ARRAY_PUSH(next, const char *) = role;
        }
    }
    for (int i = 0; i < r->nelts; i++) {
        const char *role = APR_ARRAY_IDX(r, i, const char *);
        if (add) {
            APR_ARRAY_PUSH(next, const char *) = role;
        } else if (!st_array_has(m->roles, role)) {
            return orgs_err_set(err, APR_NOTFOUND, "member has no role '%s'", role);
        }
    }
    if ((rv = orgs_check_roles_normalize(next, &next, p, err)) != APR_SUCCESS) {
        return rv;
    }
    return member_write(st, txn, o->id, m->user_id, next, m->created, 0, p, err);
}

apr_status_t orgs_store_role_add(orgs_store_t *st, const char *org_ref, const char *user_id,
                                 const apr_array_header_t *roles, apr_pool_t *p, orgs_err_t *err)
{
    st_audit_snap_t a;
    ST_WRITE(st, txn, err,
             (st_audit_begin(st, txn, ST_AUDIT_MEMBER, org_ref, user_id, &a, p),
              st_audit_end(st, txn, "member.roles.add", &a,
                           role_change(st, txn, org_ref, user_id, roles, 1, p, err), p, err)));
}

apr_status_t orgs_store_role_remove(orgs_store_t *st, const char *org_ref, const char *user_id,
                                    const apr_array_header_t *roles, apr_pool_t *p, orgs_err_t *err)
{
    st_audit_snap_t a;
    ST_RELEASE(st, txn, err,
               (st_audit_begin(st, txn, ST_AUDIT_MEMBER, org_ref, user_id, &a, p),
                st_audit_end(st, txn, "member.roles.remove", &a,
                             role_change(st, txn, org_ref, user_id, roles, 0, p, err), p, err)));
}

/* Adds roles to an existing membership inside txn (an invitation accepted
 * by a member). */
apr_status_t st_role_add(orgs_store_t *st, MDB_txn *txn, const char *org_id, const char *user_id,
                         const apr_array_header_t *roles, apr_pool_t *p, orgs_err_t *err)
{
    return role_change(st, txn, org_id, user_id, roles, 1, p, err);
}

/* For the replica (replica.c): a membership's roles as another copy has
 * them (its sessions stay). */
apr_status_t st_member_rewrite(orgs_store_t *st, MDB_txn *txn, const orgs_member_t *m,
                               apr_pool_t *p, orgs_err_t *err)
{
    return member_write(st, txn, m->org_id, m->user_id, m->roles, m->created, 0, p, err);
}
