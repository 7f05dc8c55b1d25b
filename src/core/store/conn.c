/* Connections: the record (its client secret sealed) and the name index. */
#include <string.h>

#include "json.h"
#include "memo.h"
#include "store_int.h"

static apr_status_t conn_seal(orgs_store_t *st, const orgs_conn_t *c, const char **sealed,
                              apr_pool_t *p, orgs_err_t *err)
{
    unsigned char *ct;
    apr_size_t ctlen;
    *sealed = NULL;
    if (!c->client_secret) {
        return APR_SUCCESS;
    }
    if (!st->keys) {
        return orgs_err_set(err, ORGS_ENOKEY, "a connection secret needs the crypto key");
    }
    apr_status_t rv =
        orgs_crypto_seal(st->keys->secrets, c->client_secret, strlen(c->client_secret), c->id,
                         strlen(c->id), &ct, &ctlen, p, err);
    if (rv == APR_SUCCESS) {
        *sealed = orgs_crypto_b64url_encode(ct, ctlen, p);
    }
    return rv;
}

apr_status_t st_conn_unseal(orgs_store_t *st, orgs_conn_t *c, const char *sealed, apr_pool_t *p,
                            orgs_err_t *err)
{
    unsigned char *ct, *pt;
    apr_size_t ctlen, ptlen;
    if (!sealed) {
        return APR_SUCCESS;
    }
    if (!st->keys) {
        return orgs_err_set(err, ORGS_ENOKEY, "a connection secret needs the crypto key");
    }
    if (orgs_crypto_b64url_decode(sealed, strlen(sealed), &ct, &ctlen, p) != APR_SUCCESS) {
        return orgs_err_set(err, ORGS_ECRYPTO, "connection secret is not sealed data");
    }
    apr_status_t rv =
        orgs_crypto_open(st->keys->secrets, ct, ctlen, c->id, strlen(c->id), &pt, &ptlen, p, err);
    if (rv == APR_SUCCESS) {
        c->client_secret = (const char *)pt;
    }
    return rv;
}

static apr_status_t conn_write(orgs_store_t *st, MDB_txn *txn, const orgs_conn_t *c,
                               const char *sealed, unsigned flags, orgs_err_t *err)
{
    kbuf_t k;
    st_capture_note(st, "conn", c->id, c->name);
    apr_status_t rv = st_put_json_new(txn, DB(st, CONNS), st_kb1(&k, c->id),
                                      st_conn_encode(c, sealed), flags, err, "connection");
    if (rv == APR_EEXIST) {
        orgs_err_set(err, rv, "connection id '%s' already exists", c->id);
    }
    return rv;
}

apr_status_t st_conn_load(orgs_store_t *st, MDB_txn *txn, const char *id, orgs_conn_t **out,
                          const char **sealed, apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    json_t *j;
    const char *dummy;
    if (!orgs_check_id(id, "con_")) {
        return orgs_err_set(err, APR_NOTFOUND, "connection not found");
    }
    apr_status_t rv = st_get_json(txn, DB(st, CONNS), st_kb1(&k, id), &j, err, "connection");
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = st_conn_decode(j, out, sealed ? sealed : &dummy, p, err);
    json_decref(j);
    return rv == APR_SUCCESS ? rv : orgs_err_set(err, ORGS_ESTORE, "corrupt connection %s", id);
}

/* Connection records decoded once per process, by their bytes (memo.h): a
 * login reads its connection several times (the login start, the
 * callback, the enablement, the session's write), each a JSON parse of the
 * whole record, while the record changes only when an admin edits it.
 * Other bytes (an edit, another store's record) are another entry; the
 * memo never answers for a record it has not compared whole. */
static orgs_memo_t conn_memo = ORGS_MEMO_INITIALIZER;

typedef struct {
    orgs_conn_t conn;
    const char *sealed;
} conn_decoded_t;

typedef struct {
    const MDB_val *v;
    const char *id;
} conn_bytes_t;

static apr_status_t conn_decode_build(void *baton, void **val, apr_pool_t *pool, orgs_err_t *err)
{
    const conn_bytes_t *b = baton;
    conn_decoded_t *d = apr_pcalloc(pool, sizeof(*d));
    orgs_conn_t *c;
    json_t *j;
    apr_status_t rv = st_json_of(b->v->mv_data, b->v->mv_size, &j, err, "connection");
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = st_conn_decode(j, &c, &d->sealed, pool, err);
    json_decref(j);
    if (rv != APR_SUCCESS) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt connection %s", b->id);
    }
    d->conn = *c;
    *val = d;
    return APR_SUCCESS;
}

apr_status_t st_conn_read(orgs_store_t *st, MDB_txn *txn, const char *id, orgs_conn_t **out,
                          const char **sealed, apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    MDB_val v;
    void *val;
    if (!orgs_check_id(id, "con_")) {
        return orgs_err_set(err, APR_NOTFOUND, "connection not found");
    }
    apr_status_t rv = st_kv_get(txn, DB(st, CONNS), st_kb1(&k, id), &v, err, "connection");
    if (rv != APR_SUCCESS) {
        return rv;
    }
    conn_bytes_t b = {&v, id};
    if ((rv = orgs_memo_get(&conn_memo, v.mv_data, v.mv_size, conn_decode_build, &b, &val, p,
                            err)) != APR_SUCCESS) {
        return rv;
    }
    /* the caller's own copy of the struct (callers fill client_secret);
     * the strings stay the memo's, pinned as long as p */
    const conn_decoded_t *d = val;
    orgs_conn_t *c = apr_pmemdup(p, &d->conn, sizeof(*c));
    if (c->endpoint_hosts) {
        c->endpoint_hosts = apr_array_copy(p, c->endpoint_hosts);
    }
    if (sealed) {
        *sealed = d->sealed;
    }
    *out = c;
    return APR_SUCCESS;
}

apr_uint64_t orgs_store_conn_decoded(void)
{
    return orgs_memo_builds(&conn_memo);
}

apr_status_t st_conn_find(orgs_store_t *st, MDB_txn *txn, const char *ref, orgs_conn_t **out,
                          const char **sealed, apr_pool_t *p, orgs_err_t *err)
{
    if (!ref || !*ref) {
        return orgs_err_set(err, APR_EINVAL, "no connection given");
    }
    const char *id = ref;
    if (strncmp(ref, "con_", 4) != 0) {
        kbuf_t k;
        MDB_val v;
        apr_status_t rv =
            st_kv_get(txn, DB(st, CONN_NAMES), st_kb1(&k, ref), &v, err, "connection");
        if (rv != APR_SUCCESS) {
            return rv == APR_NOTFOUND ? orgs_err_set(err, rv, "connection '%s' not found", ref)
                                      : rv;
        }
        id = apr_pstrmemdup(p, v.mv_data, v.mv_size);
    }
    apr_status_t rv = st_conn_read(st, txn, id, out, sealed, p, err);
    return rv == APR_NOTFOUND ? orgs_err_set(err, rv, "connection '%s' not found", ref) : rv;
}

apr_status_t st_conn_insert(orgs_store_t *st, MDB_txn *txn, orgs_conn_t *c, const char *sealed,
                            apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    apr_status_t rv = orgs_check_conn(c, p, err);
    if (rv == APR_SUCCESS) {
        rv = conn_write(st, txn, c, sealed, MDB_NOOVERWRITE, err);
    }
    if (rv == APR_SUCCESS) {
        rv = st_kv_put(txn, DB(st, CONN_NAMES), st_kb1(&k, c->name), c->id, ID_LEN, MDB_NOOVERWRITE,
                       err, "connection name");
        if (rv == APR_EEXIST) {
            orgs_err_set(err, rv, "connection name '%s' is taken", c->name);
        }
    }
    return rv;
}

static apr_status_t conn_create(orgs_store_t *st, MDB_txn *txn, orgs_conn_t *c, const char *sealed,
                                apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv = st_conn_insert(st, txn, c, sealed, p, err);
    if (rv == APR_SUCCESS) {
        orgs_conn_t shown = *c;
        shown.client_secret = NULL; /* never in a record */
        rv = st_audit_add(st, txn, "connection.create", NULL, c->id, NULL, orgs_json_conn(&shown),
                          p, err);
    }
    return rv;
}

apr_status_t orgs_store_conn_create(orgs_store_t *st, orgs_conn_t *conn, apr_pool_t *p,
                                    orgs_err_t *err)
{
    char *id;
    const char *sealed;
    apr_status_t rv = st_id_new("con_", &id, p, err);
    orgs_conn_t c = *conn;
    c.id = id;
    c.created = c.updated = apr_time_now();
    if (rv == APR_SUCCESS) {
        rv = orgs_check_conn(&c, p, err);
    }
    if (rv == APR_SUCCESS) {
        rv = conn_seal(st, &c, &sealed, p, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    ST_WRITE_RV(rv, st, txn, err, conn_create(st, txn, &c, sealed, p, err));
    if (rv == APR_SUCCESS) {
        c.client_secret = NULL;
        *conn = c;
    }
    return rv;
}

/* The secret is unsealed after the read transaction: no crypto inside it. */
static apr_status_t conn_get(orgs_store_t *st, const char *ref, int secret, orgs_conn_t **out,
                             apr_pool_t *p, orgs_err_t *err)
{
    const char *sealed = NULL;
    apr_status_t rv;
    ST_READ_RV(rv, st, txn, err, st_conn_find(st, txn, ref, out, &sealed, p, err));
    if (rv == APR_SUCCESS && secret) {
        rv = st_conn_unseal(st, *out, sealed, p, err);
    }
    return rv;
}

apr_status_t orgs_store_conn_get(orgs_store_t *st, const char *ref, orgs_conn_t **out,
                                 apr_pool_t *p, orgs_err_t *err)
{
    return conn_get(st, ref, 0, out, p, err);
}

apr_status_t orgs_store_conn_get_secret(orgs_store_t *st, const char *ref, orgs_conn_t **out,
                                        apr_pool_t *p, orgs_err_t *err)
{
    return conn_get(st, ref, 1, out, p, err);
}

static apr_status_t conn_load_any(orgs_store_t *st, MDB_txn *txn, const char *id, void *out,
                                  apr_pool_t *p, orgs_err_t *err)
{
    return st_conn_load(st, txn, id, out, NULL, p, err);
}

apr_status_t orgs_store_conn_list(orgs_store_t *st, apr_array_header_t **out, apr_pool_t *p,
                                  orgs_err_t *err)
{
    ST_READ(st, txn, err,
            st_load_all(st, txn, DB(st, CONN_NAMES), NULL, -1, conn_load_any, out, p, err));
}

/* Ends every session signed in through the connection, in every org. */
static apr_status_t conn_sessions_drop(orgs_store_t *st, MDB_txn *txn, const orgs_conn_t *c,
                                       apr_pool_t *p, orgs_err_t *err)
{
    apr_array_header_t *orgs;
    apr_status_t rv = st_collect(txn, DB(st, ORGS), NULL, &orgs, p, err);
    for (int i = 0; rv == APR_SUCCESS && i < orgs->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(orgs, i, blob_t);
        if (b->klen == ID_LEN) {
            rv = st_sessions_drop_conn(st, txn, apr_pstrmemdup(p, b->k, ID_LEN), c->id, p, err);
        }
    }
    return rv;
}

/* Users are bound to (connection, sub) under the connection's issuer: a
 * new issuer is another namespace of subs, where the same sub may be
 * somebody else. With users on the connection the change needs a decision:
 * migrate (the new issuer vouches for the same accounts) or drop them;
 * either way every session through the connection ends with it. */
static apr_status_t conn_issuer_change(orgs_store_t *st, MDB_txn *txn, const orgs_conn_t *c,
                                       const char *issuer, unsigned flags, apr_pool_t *p,
                                       orgs_err_t *err)
{
    kbuf_t k;
    apr_array_header_t *users;
    apr_status_t rv;

    if (!issuer || strcmp(issuer, c->issuer) == 0) {
        return APR_SUCCESS;
    }
    rv = st_collect(txn, DB(st, CONN_USERS), st_kb1(&k, c->id), &users, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (users->nelts > 0 && !(flags & (ORGS_CONN_MIGRATE_USERS | ORGS_CONN_DROP_USERS))) {
        return orgs_err_set(err, APR_EEXIST,
                            "connection '%s' has %d user(s) bound to issuer %s: a new issuer "
                            "could sign in as them with the same sub; say whether the new "
                            "issuer keeps these accounts (--migrate-users) or not "
                            "(--drop-users)",
                            c->name, users->nelts, c->issuer);
    }
    for (int i = 0; (flags & ORGS_CONN_DROP_USERS) && rv == APR_SUCCESS && i < users->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(users, i, blob_t);
        if (b->klen == 2 * ID_LEN) {
            rv = st_user_drop(st, txn, apr_pstrmemdup(p, b->k + ID_LEN, ID_LEN), p, err);
        }
    }
    return rv == APR_SUCCESS ? conn_sessions_drop(st, txn, c, p, err) : rv;
}

static apr_status_t conn_update(orgs_store_t *st, MDB_txn *txn, const char *ref,
                                const orgs_conn_t *upd, unsigned flags, apr_pool_t *p,
                                orgs_err_t *err)
{
    orgs_conn_t *c;
    const char *sealed;
    apr_status_t rv = st_conn_find(st, txn, ref, &c, &sealed, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (upd->name && strcmp(upd->name, c->name) != 0) {
        return orgs_err_set(err, APR_EINVAL, "a connection's name cannot change");
    }
    if ((rv = conn_issuer_change(st, txn, c, upd->issuer, flags, p, err)) != APR_SUCCESS) {
        return rv;
    }
    c->display_name = upd->display_name ? upd->display_name : c->display_name;
    c->issuer = upd->issuer ? upd->issuer : c->issuer;
    c->client_id = upd->client_id ? upd->client_id : c->client_id;
    c->scopes = upd->scopes ? upd->scopes : c->scopes;
    c->auth_method = upd->auth_method ? upd->auth_method : c->auth_method;
    c->endpoint_hosts = upd->endpoint_hosts ? upd->endpoint_hosts : c->endpoint_hosts;
    c->client_secret = upd->client_secret;
    c->updated = apr_time_now();
    rv = orgs_check_conn(c, p, err);
    if (rv == APR_SUCCESS && upd->client_secret) {
        rv = conn_seal(st, c, &sealed, p, err);
    }
    if (rv == APR_SUCCESS) {
        rv = conn_write(st, txn, c, sealed, 0, err);
    }
    return rv;
}

static apr_status_t conn_update_logged(orgs_store_t *st, MDB_txn *txn, const char *ref,
                                       const orgs_conn_t *upd, unsigned flags, apr_pool_t *p,
                                       orgs_err_t *err)
{
    st_audit_snap_t a;
    st_audit_begin(st, txn, ST_AUDIT_CONN, ref, NULL, &a, p);
    return st_audit_end(st, txn, "connection.update", &a,
                        conn_update(st, txn, ref, upd, flags, p, err), p, err);
}

apr_status_t orgs_store_conn_update(orgs_store_t *st, const char *ref, const orgs_conn_t *upd,
                                    apr_pool_t *p, orgs_err_t *err)
{
    ST_WRITE(st, txn, err, conn_update_logged(st, txn, ref, upd, 0, p, err));
}

apr_status_t orgs_store_conn_update_flags(orgs_store_t *st, const char *ref, const orgs_conn_t *upd,
                                          unsigned flags, apr_pool_t *p, orgs_err_t *err)
{
    ST_WRITE(st, txn, err, conn_update_logged(st, txn, ref, upd, flags, p, err));
}

static apr_status_t conn_drop(orgs_store_t *st, MDB_txn *txn, const char *ref, apr_pool_t *p,
                              orgs_err_t *err)
{
    orgs_conn_t *c;
    kbuf_t k;
    apr_array_header_t *list;
    apr_status_t rv = st_conn_find(st, txn, ref, &c, NULL, p, err);
    if (rv == APR_SUCCESS) {
        st_capture_note(st, "conn", c->id, c->name);
        rv = st_collect(txn, DB(st, CONN_USERS), st_kb1(&k, c->id), &list, p, err);
    }
    for (int i = 0; rv == APR_SUCCESS && i < list->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(list, i, blob_t);
        if (b->klen == 2 * ID_LEN) {
            rv = st_user_drop(st, txn, b->k + ID_LEN, p, err);
        }
    }
    /* enablements are keyed by org first: few enough to scan */
    if (rv == APR_SUCCESS) {
        rv = st_collect(txn, DB(st, ENABLE), NULL, &list, p, err);
    }
    for (int i = 0; rv == APR_SUCCESS && i < list->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(list, i, blob_t);
        if (b->klen == 2 * ID_LEN && memcmp(b->k + ID_LEN, c->id, ID_LEN) == 0) {
            st_capture_note_enable(st, b->k, b->klen);
            rv = st_kv_del(txn, DB(st, ENABLE), st_kbraw(&k, b->k, b->klen), 0, err, "enablement");
        }
    }
    if (rv == APR_SUCCESS) {
        rv = st_kv_del(txn, DB(st, CONN_NAMES), st_kb1(&k, c->name), 0, err, "connection name");
    }
    if (rv == APR_SUCCESS) {
        rv = st_kv_del(txn, DB(st, CONNS), st_kb1(&k, c->id), 1, err, "connection");
    }
    return rv;
}

apr_status_t orgs_store_conn_delete(orgs_store_t *st, const char *ref, apr_pool_t *p,
                                    orgs_err_t *err)
{
    st_audit_snap_t a;
    ST_RELEASE(
        st, txn, err,
        (st_audit_begin(st, txn, ST_AUDIT_CONN, ref, NULL, &a, p),
         st_audit_end(st, txn, "connection.delete", &a, conn_drop(st, txn, ref, p, err), p, err)));
}

/* For the replica (replica.c): a connection rewritten as another copy has
 * it (secret sealed as it is), every session through it ended when it
 * names another issuer or client; and its drop with cascade. */
apr_status_t st_conn_rewrite(orgs_store_t *st, MDB_txn *txn, const orgs_conn_t *old,
                             const orgs_conn_t *c, const char *sealed, apr_pool_t *p,
                             orgs_err_t *err)
{
    apr_status_t rv = APR_SUCCESS;
    if (strcmp(old->issuer, c->issuer) != 0 || strcmp(old->client_id, c->client_id) != 0) {
        rv = conn_sessions_drop(st, txn, c, p, err);
    }
    return rv == APR_SUCCESS ? conn_write(st, txn, c, sealed, 0, err) : rv;
}

apr_status_t st_conn_drop(orgs_store_t *st, MDB_txn *txn, const char *id, apr_pool_t *p,
                          orgs_err_t *err)
{
    return conn_drop(st, txn, id, p, err);
}
