/* Users: the record, the sub and email indexes, sign-in upsert and
 * provisioning. */
#include <string.h>

#include "json.h"
#include "store_int.h"

kbuf_t *st_kb_conn_email(kbuf_t *k, const char *conn_id, const char *email)
{
    st_kb1(k, conn_id);
    st_kb_nul(k);
    st_kb_str(k, email);
    st_kb_nul(k);
    return k;
}

apr_status_t st_user_index(orgs_store_t *st, MDB_txn *txn, const orgs_user_t *u, int add,
                           orgs_err_t *err)
{
    kbuf_t k[4];
    int n = 0;
    MDB_dbi dbis[4];
    dbis[n] = DB(st, CONN_USERS);
    st_kb2(&k[n++], u->conn_id, u->id);
    if (u->email) {
        dbis[n] = DB(st, USER_EMAIL);
        st_kb1(&k[n], u->email);
        st_kb_nul(&k[n]);
        st_kb_str(&k[n++], u->id);
        dbis[n] = DB(st, USER_CONN_EMAIL);
        st_kb_str(st_kb_conn_email(&k[n++], u->conn_id, u->email), u->id);
    }
    apr_status_t rv = APR_SUCCESS;
    if (u->sub) {
        kbuf_t ks;
        st_kb1(&ks, u->conn_id);
        st_kb_nul(&ks);
        st_kb_str(&ks, u->sub);
        if (add) {
            rv = st_kv_put(txn, DB(st, USER_SUB), &ks, u->id, ID_LEN, MDB_NOOVERWRITE, err, "sub");
            if (rv == APR_EEXIST) {
                return orgs_err_set(err, rv, "a user with this sub exists on the connection");
            }
        } else {
            rv = st_kv_del(txn, DB(st, USER_SUB), &ks, 0, err, "sub");
        }
    }
    for (int i = 0; rv == APR_SUCCESS && i < n; i++) {
        rv = add ? st_kv_put(txn, dbis[i], &k[i], "", 0, 0, err, "user index")
                 : st_kv_del(txn, dbis[i], &k[i], 0, err, "user index");
    }
    return rv;
}

static apr_status_t user_write(orgs_store_t *st, MDB_txn *txn, const orgs_user_t *u, unsigned flags,
                               apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    st_bytes_t rec;
    apr_status_t rv = st_user_encode(u, &rec, p, err);
    st_capture_note(st, "user", u->id, u->conn_id);
    if (rv == APR_SUCCESS) {
        rv = st_kv_put(txn, DB(st, USERS), st_kb1(&k, u->id), rec.data, rec.size, flags, err,
                       "user");
    }
    if (rv == APR_EEXIST) {
        orgs_err_set(err, rv, "user id '%s' already exists", u->id);
    }
    return rv;
}

apr_status_t st_user_load(orgs_store_t *st, MDB_txn *txn, const char *id, orgs_user_t **out,
                          apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    MDB_val v;
    if (!orgs_check_id(id, "usr_")) {
        return orgs_err_set(err, APR_NOTFOUND, "user '%s' not found", id ? id : "");
    }
    apr_status_t rv = st_kv_get(txn, DB(st, USERS), st_kb1(&k, id), &v, err, "user");
    if (rv != APR_SUCCESS) {
        return rv == APR_NOTFOUND ? orgs_err_set(err, rv, "user '%s' not found", id) : rv;
    }
    rv = st_user_read(v.mv_data, v.mv_size, out, p, err);
    return rv == APR_SUCCESS ? rv : orgs_err_set(err, ORGS_ESTORE, "corrupt user %s", id);
}

/* First user of conn with that (normalized) email; with unbound_only, only
 * one that has no sub yet. */
static apr_status_t user_find_email(orgs_store_t *st, MDB_txn *txn, const char *conn_id,
                                    const char *email, int unbound_only, orgs_user_t **out,
                                    apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    apr_array_header_t *hits;
    apr_status_t rv = st_collect(txn, DB(st, USER_CONN_EMAIL), st_kb_conn_email(&k, conn_id, email),
                                 &hits, p, err);
    for (int i = 0; rv == APR_SUCCESS && i < hits->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(hits, i, blob_t);
        if (b->klen != k.len + ID_LEN) {
            continue;
        }
        rv = st_user_load(st, txn, b->k + k.len, out, p, err);
        if (rv == APR_SUCCESS && (!unbound_only || !(*out)->sub)) {
            return APR_SUCCESS;
        }
    }
    return rv == APR_SUCCESS ? orgs_err_set(err, APR_NOTFOUND, "no user with that email") : rv;
}

static apr_status_t user_find_sub(orgs_store_t *st, MDB_txn *txn, const char *conn_id,
                                  const char *sub, orgs_user_t **out, apr_pool_t *p,
                                  orgs_err_t *err)
{
    kbuf_t k;
    MDB_val v;
    st_kb1(&k, conn_id);
    st_kb_nul(&k);
    st_kb_str(&k, sub);
    apr_status_t rv = st_kv_get(txn, DB(st, USER_SUB), &k, &v, err, "user");
    if (rv != APR_SUCCESS) {
        return rv == APR_NOTFOUND ? orgs_err_set(err, rv, "no user with that sub") : rv;
    }
    return st_user_load(st, txn, apr_pstrmemdup(p, v.mv_data, v.mv_size), out, p, err);
}

apr_status_t st_user_insert(orgs_store_t *st, MDB_txn *txn, orgs_user_t *u, apr_pool_t *p,
                            orgs_err_t *err)
{
    apr_status_t rv = orgs_check_user(u, p, err);
    if (rv == APR_SUCCESS) {
        rv = user_write(st, txn, u, MDB_NOOVERWRITE, p, err);
    }
    if (rv == APR_SUCCESS) {
        rv = st_user_index(st, txn, u, 1, err);
    }
    return rv;
}

/* Replaces old by upd (same id) with all indexes. */
static apr_status_t user_update(orgs_store_t *st, MDB_txn *txn, const orgs_user_t *old,
                                orgs_user_t *upd, apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv = orgs_check_user(upd, p, err);
    if (rv == APR_SUCCESS) {
        rv = st_user_index(st, txn, old, 0, err);
    }
    if (rv == APR_SUCCESS) {
        rv = st_user_index(st, txn, upd, 1, err);
    }
    if (rv == APR_SUCCESS) {
        rv = user_write(st, txn, upd, 0, p, err);
    }
    return rv;
}

static apr_status_t user_new(const char *conn_id, orgs_user_t **out, apr_pool_t *p, orgs_err_t *err)
{
    char *id;
    apr_status_t rv = st_id_new("usr_", &id, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = apr_pcalloc(p, sizeof(orgs_user_t));
    (*out)->id = id;
    (*out)->conn_id = conn_id;
    (*out)->created = apr_time_now();
    return APR_SUCCESS;
}

apr_status_t st_user_login(orgs_store_t *st, MDB_txn *txn, const char *conn_ref, const char *sub,
                           const char *email, const char *name, apr_time_t now, orgs_user_t **out,
                           int *created, apr_pool_t *p, orgs_err_t *err)
{
    orgs_conn_t *c;
    orgs_user_t *old = NULL;
    apr_status_t rv;
    *created = 0;
    if (!sub) {
        return orgs_err_set(err, APR_EINVAL, "sign-in without a sub");
    }
    if ((rv = orgs_check_user_sub(sub, err)) != APR_SUCCESS ||
        (rv = orgs_check_email_normalize(email, &email, p, err)) != APR_SUCCESS ||
        (name && (rv = orgs_check_display_name(name, err)) != APR_SUCCESS) ||
        (rv = st_conn_find(st, txn, conn_ref, &c, NULL, p, err)) != APR_SUCCESS) {
        return rv;
    }
    rv = user_find_sub(st, txn, c->id, sub, &old, p, err);
    if (rv == APR_NOTFOUND && email) {
        rv = user_find_email(st, txn, c->id, email, 1, &old, p, err);
    }
    if (rv == APR_NOTFOUND) {
        orgs_user_t *u;
        if ((rv = user_new(c->id, &u, p, err)) != APR_SUCCESS) {
            return rv;
        }
        u->sub = sub;
        u->email = email;
        u->name = name;
        u->created = u->last_login = now;
        *created = 1;
        *out = u;
        return st_user_insert(st, txn, u, p, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    orgs_user_t *u = apr_pmemdup(p, old, sizeof(*old));
    u->sub = sub;
    u->email = email ? email : old->email;
    u->name = name ? name : old->name;
    u->last_login = now;
    *out = u;
    return user_update(st, txn, old, u, p, err);
}

apr_status_t orgs_store_user_login(orgs_store_t *st, const char *conn_id, const char *sub,
                                   const char *email, const char *name, apr_time_t now,
                                   orgs_user_t **out, int *created, apr_pool_t *p, orgs_err_t *err)
{
    ST_WRITE(st, txn, err,
             st_user_login(st, txn, conn_id, sub, email, name, now, out, created, p, err));
}

apr_status_t orgs_store_user_get(orgs_store_t *st, const char *user_id, orgs_user_t **out,
                                 apr_pool_t *p, orgs_err_t *err)
{
    ST_READ(st, txn, err, st_user_load(st, txn, user_id, out, p, err));
}

/* The user of the connection with that sub (when sub) or else that email. */
static apr_status_t user_find_on_conn(orgs_store_t *st, MDB_txn *txn, const char *conn_ref,
                                      const char *sub, const char *email, orgs_user_t **out,
                                      apr_pool_t *p, orgs_err_t *err)
{
    orgs_conn_t *c;
    apr_status_t rv = st_conn_find(st, txn, conn_ref, &c, NULL, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return sub ? user_find_sub(st, txn, c->id, sub, out, p, err)
               : user_find_email(st, txn, c->id, email, 0, out, p, err);
}

apr_status_t orgs_store_user_by_sub(orgs_store_t *st, const char *conn_ref, const char *sub,
                                    orgs_user_t **out, apr_pool_t *p, orgs_err_t *err)
{
    if (!sub || !*sub) {
        return orgs_err_set(err, APR_EINVAL, "no sub given");
    }
    ST_READ(st, txn, err, user_find_on_conn(st, txn, conn_ref, sub, NULL, out, p, err));
}

apr_status_t orgs_store_user_by_email(orgs_store_t *st, const char *conn_ref, const char *email,
                                      orgs_user_t **out, apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv;
    if (!email) {
        return orgs_err_set(err, APR_EINVAL, "no email given");
    }
    if ((rv = orgs_check_email_normalize(email, &email, p, err)) != APR_SUCCESS) {
        return rv;
    }
    ST_READ(st, txn, err, user_find_on_conn(st, txn, conn_ref, NULL, email, out, p, err));
}

/* All users, or those with that (normalized) email. */
static apr_status_t user_load_any(orgs_store_t *st, MDB_txn *txn, const char *id, void *out,
                                  apr_pool_t *p, orgs_err_t *err)
{
    return st_user_load(st, txn, id, out, p, err);
}

/* All users, or those with that (normalized) email. */
static apr_status_t user_list(orgs_store_t *st, MDB_txn *txn, const char *email,
                              apr_array_header_t **out, apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    if (!email) {
        return st_load_all(st, txn, DB(st, USERS), NULL, 0, user_load_any, out, p, err);
    }
    st_kb1(&k, email);
    st_kb_nul(&k);
    return st_load_all(st, txn, DB(st, USER_EMAIL), &k, (int)k.len, user_load_any, out, p, err);
}

apr_status_t orgs_store_user_list(orgs_store_t *st, const char *email, apr_array_header_t **out,
                                  apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv;
    if (email && (rv = orgs_check_email_normalize(email, &email, p, err)) != APR_SUCCESS) {
        return rv;
    }
    ST_READ(st, txn, err, user_list(st, txn, email, out, p, err));
}

static apr_status_t user_provision(orgs_store_t *st, MDB_txn *txn, const char *conn_ref,
                                   const char *email, const char *sub, orgs_user_t **out,
                                   apr_pool_t *p, orgs_err_t *err)
{
    orgs_conn_t *c;
    apr_status_t rv;
    if (!email && !sub) {
        return orgs_err_set(err, APR_EINVAL, "an email or a sub is needed");
    }
    if ((sub && (rv = orgs_check_user_sub(sub, err)) != APR_SUCCESS) ||
        (rv = orgs_check_email_normalize(email, &email, p, err)) != APR_SUCCESS ||
        (rv = st_conn_find(st, txn, conn_ref, &c, NULL, p, err)) != APR_SUCCESS) {
        return rv;
    }
    rv = sub ? user_find_sub(st, txn, c->id, sub, out, p, err) : APR_NOTFOUND;
    if (rv == APR_NOTFOUND && email) {
        rv = user_find_email(st, txn, c->id, email, 0, out, p, err);
    }
    if (rv != APR_NOTFOUND) {
        return rv;
    }
    if ((rv = user_new(c->id, out, p, err)) != APR_SUCCESS) {
        return rv;
    }
    (*out)->sub = sub;
    (*out)->email = email;
    return st_user_insert(st, txn, *out, p, err);
}

/* Audited only when it creates the user (the table grew). */
static apr_status_t user_provision_logged(orgs_store_t *st, MDB_txn *txn, const char *conn_ref,
                                          const char *email, const char *sub, orgs_user_t **out,
                                          apr_pool_t *p, orgs_err_t *err)
{
    MDB_stat before, after;
    int rc = mdb_stat(txn, DB(st, USERS), &before);
    apr_status_t rv = rc == MDB_SUCCESS ? user_provision(st, txn, conn_ref, email, sub, out, p, err)
                                        : st_mdb_fail(rc, err, "users");
    if (rv == APR_SUCCESS && mdb_stat(txn, DB(st, USERS), &after) == MDB_SUCCESS &&
        after.ms_entries > before.ms_entries) {
        rv = st_audit_add(st, txn, "user.create", NULL, (*out)->id, NULL, orgs_json_user(*out), p,
                          err);
    }
    return rv;
}

apr_status_t orgs_store_user_provision(orgs_store_t *st, const char *conn_ref, const char *email,
                                       const char *sub, orgs_user_t **out, apr_pool_t *p,
                                       orgs_err_t *err)
{
    ST_WRITE(st, txn, err, user_provision_logged(st, txn, conn_ref, email, sub, out, p, err));
}

/* The global record, and one per org the user was a member of (its
 * membership before), so each org's admin sees the deletion in the org's
 * own audit. */
static apr_status_t user_delete(orgs_store_t *st, MDB_txn *txn, const char *user_id, apr_pool_t *p,
                                orgs_err_t *err)
{
    st_audit_snap_t a;
    apr_array_header_t *orgs = NULL, *before;
    orgs_user_t *u;
    apr_status_t rv = st_user_load(st, txn, user_id, &u, p, err);
    if (rv == APR_SUCCESS) {
        rv = st_user_org_ids(st, txn, u->id, &orgs, p, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    before = apr_array_make(p, orgs->nelts, sizeof(json_t *));
    for (int i = 0; i < orgs->nelts; i++) {
        orgs_member_t *m;
        json_t *j = NULL;
        if (st_member_load(st, txn, APR_ARRAY_IDX(orgs, i, const char *), u->id, &m, p, NULL) ==
                APR_SUCCESS &&
            (j = orgs_json_member(m)) != NULL) {
            json_object_set_new(j, "email", u->email ? json_string(u->email) : json_null());
        }
        APR_ARRAY_PUSH(before, json_t *) = j;
    }
    st_audit_begin(st, txn, ST_AUDIT_USER, u->id, NULL, &a, p);
    rv = st_audit_end(st, txn, "user.delete", &a, st_user_drop(st, txn, u->id, p, err), p, err);
    for (int i = 0; i < orgs->nelts; i++) {
        json_t *j = APR_ARRAY_IDX(before, i, json_t *);
        if (rv == APR_SUCCESS) {
            rv = st_audit_add(st, txn, "user.delete", APR_ARRAY_IDX(orgs, i, const char *), u->id,
                              j, NULL, p, err); /* takes j */
        } else {
            json_decref(j);
        }
    }
    return rv;
}

apr_status_t orgs_store_user_delete(orgs_store_t *st, const char *user_id, apr_pool_t *p,
                                    orgs_err_t *err)
{
    ST_RELEASE(st, txn, err, user_delete(st, txn, user_id, p, err));
}

/* For the replica (replica.c): a user rewritten as another copy has it. */
apr_status_t st_user_rewrite(orgs_store_t *st, MDB_txn *txn, const orgs_user_t *old, orgs_user_t *u,
                             apr_pool_t *p, orgs_err_t *err)
{
    return user_update(st, txn, old, u, p, err);
}
