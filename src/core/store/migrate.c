/* Format migrations, run by a writable open (env.c) inside its one write
 * transaction: all or nothing, and the new version is written last, so a
 * store is either wholly in the old format or wholly in the new one.
 *
 * 1 -> 2: organization and user records from JSON to the binary records
 * of codec_rec.c.
 * 2 -> 3: session records hold the exports prepared at sign-in, which an
 * old record cannot give (its claims never went through the export
 * policy): every session ends (records, logout hints, index), and users
 * sign in again. Sessions are short-lived; nothing else is lost.
 * A read-only open of an older store needs none of this: the readers
 * choose the format by a record's first byte. */
#include <stdio.h>

#include "store_int.h"

typedef apr_status_t rewrite_fn(const blob_t *b, st_bytes_t *out, apr_pool_t *p, orgs_err_t *err);

static apr_status_t rewrite_org(const blob_t *b, st_bytes_t *out, apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    apr_status_t rv = st_org_read(b->v, b->vlen, &o, p, err);
    return rv == APR_SUCCESS ? st_org_encode(o, out, p, err) : rv;
}

static apr_status_t rewrite_user(const blob_t *b, st_bytes_t *out, apr_pool_t *p, orgs_err_t *err)
{
    orgs_user_t *u;
    apr_status_t rv = st_user_read(b->v, b->vlen, &u, p, err);
    return rv == APR_SUCCESS ? st_user_encode(u, out, p, err) : rv;
}

/* Empties db (its handle stays open). */
static apr_status_t empty_db(orgs_store_t *st, MDB_txn *txn, int db, orgs_err_t *err)
{
    int rc = mdb_drop(txn, st->db[db], 0);
    return rc == MDB_SUCCESS ? APR_SUCCESS : st_mdb_fail(rc, err, "format migration");
}

/* Every record of db rewritten by fn (a copy of the table first: no put
 * while a cursor walks it). */
static apr_status_t rewrite_db(orgs_store_t *st, MDB_txn *txn, int db, rewrite_fn *fn,
                               const char *what, apr_pool_t *p, orgs_err_t *err)
{
    apr_array_header_t *all;
    kbuf_t k;
    st_bytes_t rec;
    apr_status_t rv = st_collect(txn, st->db[db], NULL, &all, p, err);
    for (int i = 0; rv == APR_SUCCESS && i < all->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(all, i, blob_t);
        rv = fn(b, &rec, p, err);
        if (rv == APR_SUCCESS) {
            rv = st_kv_put(txn, st->db[db], st_kbraw(&k, b->k, b->klen), rec.data, rec.size, 0, err,
                           what);
        } else {
            char reason[sizeof(err->msg)] = "";
            if (err) {
                apr_cpystrn(reason, err->msg, sizeof(reason));
            }
            rv = orgs_err_set(err, ORGS_ESTORE,
                              "format migration: %s record %" APR_SIZE_T_FMT ": %s", what,
                              (apr_size_t)i + 1, reason);
        }
    }
    return rv;
}

apr_status_t st_migrate(orgs_store_t *st, MDB_txn *txn, unsigned from, orgs_err_t *err)
{
    apr_pool_t *p;
    kbuf_t k;
    char buf[16];
    apr_status_t rv = st_pool_new(&p, st->pool, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (from < 2) {
        rv = rewrite_db(st, txn, DB_ORGS, rewrite_org, "organization", p, err);
        if (rv == APR_SUCCESS) {
            rv = rewrite_db(st, txn, DB_USERS, rewrite_user, "user", p, err);
        }
    }
    if (from < 3 && rv == APR_SUCCESS) {
        rv = empty_db(st, txn, DB_SESSIONS, err);
        if (rv == APR_SUCCESS) {
            rv = empty_db(st, txn, DB_SESSION_IDX, err);
        }
        if (rv == APR_SUCCESS && st->has_session_hints) {
            rv = empty_db(st, txn, DB_SESSION_HINTS, err);
        }
    }
    if (rv == APR_SUCCESS) { /* last: the records are in the new format now */
        int n = snprintf(buf, sizeof(buf), "%d", ORGS_STORE_FORMAT_VERSION);
        rv = st_kv_put(txn, DB(st, META), st_kb1(&k, "version"), buf, (size_t)n, 0, err,
                       "format version");
    }
    apr_pool_destroy(p);
    return rv;
}
