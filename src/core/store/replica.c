/* The store as a replica of a PostgreSQL store (pgstore.h): change sets
 * applied with the objects' own inserts, rewrites and drops (so indexes
 * and cascades are the store's), the change-log position in meta, written
 * in the same transaction as the change, and a rebuild from scratch. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "pgstore.h"
#include "store_int.h"

#define META_SEQ "pg_seq"
#define META_CLUSTER "pg_cluster"

static apr_status_t meta_get(orgs_store_t *st, MDB_txn *txn, const char *key, const char **out,
                             apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    MDB_val v;
    apr_status_t rv = st_kv_get(txn, DB(st, META), st_kb1(&k, key), &v, err, key);
    *out = rv == APR_SUCCESS ? apr_pstrmemdup(p, v.mv_data, v.mv_size) : NULL;
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

static apr_status_t state_read(orgs_store_t *st, MDB_txn *txn, apr_int64_t *seq,
                               const char **cluster, apr_pool_t *p, orgs_err_t *err)
{
    const char *s;
    apr_status_t rv = meta_get(st, txn, META_SEQ, &s, p, err);
    *seq = -1;
    if (rv == APR_SUCCESS && s) {
        *seq = apr_atoi64(s);
    }
    return rv == APR_SUCCESS ? meta_get(st, txn, META_CLUSTER, cluster, p, err) : rv;
}

apr_status_t st_replica_seq(orgs_store_t *st, MDB_txn *txn, apr_int64_t *seq, apr_pool_t *p,
                            orgs_err_t *err)
{
    const char *s;
    apr_status_t rv = meta_get(st, txn, META_SEQ, &s, p, err);
    *seq = rv == APR_SUCCESS && s ? apr_atoi64(s) : -1;
    return rv;
}

apr_status_t orgs_store_replica_state(orgs_store_t *st, apr_int64_t *seq, const char **cluster,
                                      apr_pool_t *p, orgs_err_t *err)
{
    ST_READ(st, txn, err, state_read(st, txn, seq, cluster, p, err));
}

static apr_status_t seq_write(orgs_store_t *st, MDB_txn *txn, apr_int64_t seq, orgs_err_t *err)
{
    kbuf_t k;
    char buf[32];
    int n = apr_snprintf(buf, sizeof(buf), "%" APR_INT64_T_FMT, seq);
    return st_kv_put(txn, DB(st, META), st_kb1(&k, META_SEQ), buf, (size_t)n, 0, err,
                     "replica position");
}

apr_status_t st_replica_follow(orgs_store_t *st, MDB_txn *txn, apr_int64_t seq, apr_pool_t *p,
                               orgs_err_t *err)
{
    apr_int64_t at;
    apr_status_t rv = seq > 0 ? st_replica_seq(st, txn, &at, p, err) : APR_SUCCESS;
    /* the next change of the log: every one before it is in the replica */
    if (rv == APR_SUCCESS && seq > 0 && at >= 0 && seq == at + 1) {
        rv = seq_write(st, txn, seq, err);
    }
    return rv;
}

static apr_status_t not_found_ok(apr_status_t rv)
{
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

/* ---- one line ---------------------------------------------------------- */

static const char *const env_type[] = {"type", NULL};

static apr_status_t put_org(orgs_store_t *st, MDB_txn *txn, const json_t *j, apr_pool_t *p,
                            orgs_err_t *err)
{
    orgs_org_t *o, *old;
    apr_status_t rv = orgs_json_org_from(j, env_type, &o, p, err);
    if (rv == APR_SUCCESS && (rv = st_org_load(st, txn, o->id, &old, p, err)) == APR_NOTFOUND) {
        return st_org_insert(st, txn, o, p, err);
    }
    return rv == APR_SUCCESS ? st_org_rewrite(st, txn, old, o, p, err) : rv;
}

static apr_status_t put_conn(orgs_store_t *st, MDB_txn *txn, const json_t *j, apr_pool_t *p,
                             orgs_err_t *err)
{
    static const char *const env[] = {"type", "sealed_secret", NULL};
    orgs_conn_t *c, *old;
    const char *sealed = st_jget_str(j, "sealed_secret", p);
    apr_status_t rv = orgs_json_conn_from(j, env, &c, p, err);
    if (rv == APR_SUCCESS &&
        (rv = st_conn_load(st, txn, c->id, &old, NULL, p, err)) == APR_NOTFOUND) {
        return st_conn_insert(st, txn, c, sealed, p, err);
    }
    return rv == APR_SUCCESS ? st_conn_rewrite(st, txn, old, c, sealed, p, err) : rv;
}

static apr_status_t put_user(orgs_store_t *st, MDB_txn *txn, const json_t *j, apr_pool_t *p,
                             orgs_err_t *err)
{
    orgs_user_t *u, *old;
    apr_status_t rv = orgs_json_user_from(j, env_type, &u, p, err);
    if (rv == APR_SUCCESS && (rv = st_user_load(st, txn, u->id, &old, p, err)) == APR_NOTFOUND) {
        return st_user_insert(st, txn, u, p, err);
    }
    return rv == APR_SUCCESS ? st_user_rewrite(st, txn, old, u, p, err) : rv;
}

static apr_status_t put_member(orgs_store_t *st, MDB_txn *txn, const json_t *j, apr_pool_t *p,
                               orgs_err_t *err)
{
    orgs_member_t *m, *old;
    apr_status_t rv = orgs_json_member_from(j, env_type, &m, p, err);
    if (rv == APR_SUCCESS &&
        (!orgs_check_id(m->org_id, "org_") || !orgs_check_id(m->user_id, "usr_"))) {
        rv = orgs_err_set(err, APR_EINVAL, "bad member record");
    }
    if (rv == APR_SUCCESS &&
        (rv = st_member_load(st, txn, m->org_id, m->user_id, &old, p, err)) == APR_NOTFOUND) {
        return st_member_insert(st, txn, m->org_id, m->user_id, m->roles, m->created, p, err);
    }
    return rv == APR_SUCCESS ? st_member_rewrite(st, txn, m, p, err) : rv;
}

static apr_status_t put_invite(orgs_store_t *st, MDB_txn *txn, const json_t *j, apr_pool_t *p,
                               orgs_err_t *err)
{
    orgs_invite_t *inv;
    apr_status_t rv = orgs_json_invite_from(j, env_type, &inv, p, err);
    if (rv == APR_SUCCESS && !orgs_check_id(inv->org_id, "org_")) {
        rv = orgs_err_set(err, APR_EINVAL, "bad invitation org id");
    }
    if (rv == APR_SUCCESS) {
        rv = not_found_ok(st_invite_erase(st, txn, inv->id, p, err));
    }
    return rv == APR_SUCCESS ? st_invite_insert(st, txn, inv, 0, p, err) : rv;
}

static apr_status_t put_line(orgs_store_t *st, MDB_txn *txn, const json_t *j, apr_pool_t *p,
                             orgs_err_t *err)
{
    static const char *const enable_env[] = {"type", "org_id", NULL};
    switch (orgs_change_type_rank(json_string_value(json_object_get(j, "type")))) {
    case 0:
        return put_org(st, txn, j, p, err);
    case 1:
        return put_conn(st, txn, j, p, err);
    case 2: {
        orgs_enabled_conn_t *e;
        const char *org_id = st_jget_str(j, "org_id", p);
        apr_status_t rv = orgs_json_enabled_conn_from(j, enable_env, &e, p, err);
        if (rv == APR_SUCCESS && !orgs_check_id(org_id, "org_")) {
            rv = orgs_err_set(err, APR_EINVAL, "bad enable record");
        }
        return rv == APR_SUCCESS ? st_enable_set_cond(st, txn, org_id, e->conn_id,
                                                      e->auto_membership, e->require, p, err)
                                 : rv;
    }
    case 3:
        return put_user(st, txn, j, p, err);
    case 4:
        return put_member(st, txn, j, p, err);
    case 5:
        return put_invite(st, txn, j, p, err);
    case 6:
        return st_session_line_put(st, txn, j, p, err);
    default:
        return orgs_err_set(err, APR_EINVAL, "unknown type");
    }
}

/* A delete of what is already gone (taken by an earlier cascade) is fine. */
static apr_status_t del_line(orgs_store_t *st, MDB_txn *txn, const json_t *j, apr_pool_t *p,
                             orgs_err_t *err)
{
    orgs_pg_row_t row;
    apr_status_t rv = orgs_pg_row_of(j, &row, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    const char *a = row.vals[0], *b = row.vals[1];
    switch (orgs_change_type_rank(row.type)) {
    case 0:
        rv = orgs_check_id(a, "org_") ? st_org_drop(st, txn, a, p, err) : APR_NOTFOUND;
        break;
    case 1:
        rv = orgs_check_id(a, "con_") ? st_conn_drop(st, txn, a, p, err) : APR_NOTFOUND;
        break;
    case 2:
        rv = orgs_check_id(a, "org_") && orgs_check_id(b, "con_")
                 ? st_enable_set(st, txn, a, b, 0, 0, p, err)
                 : APR_NOTFOUND;
        break;
    case 3:
        rv = orgs_check_id(a, "usr_") ? st_user_drop(st, txn, a, p, err) : APR_NOTFOUND;
        break;
    case 4:
        rv = orgs_check_id(a, "org_") && orgs_check_id(b, "usr_")
                 ? st_member_drop(st, txn, a, b, 0, p, err)
                 : APR_NOTFOUND;
        break;
    case 5:
        rv = st_invite_erase(st, txn, a, p, err);
        break;
    default:
        rv = st_session_line_del(st, txn, j, p, err);
        break;
    }
    return not_found_ok(rv);
}

/* ---- change sets ------------------------------------------------------- */

static apr_status_t each(orgs_store_t *st, MDB_txn *txn, const json_t *list, int del, apr_pool_t *p,
                         orgs_err_t *err)
{
    apr_pool_t *tmp;
    apr_status_t rv = st_pool_new(&tmp, p, err);
    size_t n = json_array_size(list);
    for (size_t i = 0; rv == APR_SUCCESS && i < n; i++) {
        /* children first for deletes: walk the parents-first list backwards */
        const json_t *j = json_array_get(list, del ? n - 1 - i : i);
        apr_pool_clear(tmp);
        rv = del ? del_line(st, txn, j, tmp, err) : put_line(st, txn, j, tmp, err);
    }
    if (tmp) {
        apr_pool_destroy(tmp);
    }
    return rv;
}

static apr_status_t apply_set(orgs_store_t *st, MDB_txn *txn, const char *change, apr_int64_t seq,
                              apr_pool_t *p, orgs_err_t *err)
{
    json_error_t jerr;
    json_t *set = json_loads(change, 0, &jerr);
    apr_status_t rv = APR_SUCCESS;
    if (!json_is_object(set) || json_is_true(json_object_get(set, "reset"))) {
        rv = orgs_err_set(err, APR_EINVAL, "change %" APR_INT64_T_FMT ": %s", seq,
                          set ? "a reset: rebuild" : jerr.text);
    }
    if (rv == APR_SUCCESS) {
        rv = each(st, txn, json_object_get(set, "del"), 1, p, err);
    }
    if (rv == APR_SUCCESS) {
        rv = each(st, txn, json_object_get(set, "put"), 0, p, err);
    }
    /* the cluster's counters as the database counted them (pg_count.c) */
    const json_t *counters = json_object_get(set, "counters");
    for (size_t i = 0; rv == APR_SUCCESS && i < json_array_size(counters); i++) {
        rv = st_counter_line_put(st, txn, json_array_get(counters, i), err);
    }
    json_decref(set);
    return rv;
}

apr_status_t st_change_apply(orgs_store_t *st, MDB_txn *txn, const char *change, apr_pool_t *p,
                             orgs_err_t *err)
{
    return apply_set(st, txn, change, 0, p, err);
}

/* A change at or below the position is already in the replica: skipped.
 * The replicator and a child catching its replica up before a write
 * (orgs_pg_replica_advance) both apply in seq order, one LMDB writer at a
 * time; whichever comes second must not take the replica back to an older
 * state and position. */
static apr_status_t apply(orgs_store_t *st, MDB_txn *txn, const char *change, apr_int64_t seq,
                          apr_pool_t *p, orgs_err_t *err)
{
    apr_int64_t at;
    apr_status_t rv = st_replica_seq(st, txn, &at, p, err);
    if (rv != APR_SUCCESS || at >= seq) {
        return rv;
    }
    rv = apply_set(st, txn, change, seq, p, err);
    return rv == APR_SUCCESS ? seq_write(st, txn, seq, err) : rv;
}

apr_status_t orgs_store_replica_apply(orgs_store_t *st, const char *change, apr_int64_t seq,
                                      apr_pool_t *p, orgs_err_t *err)
{
    ST_WRITE(st, txn, err, apply(st, txn, change, seq, p, err));
}

static apr_status_t apply_all(orgs_store_t *st, MDB_txn *txn, const char *const *changes,
                              const apr_int64_t *seqs, apr_size_t n, apr_pool_t *p, orgs_err_t *err)
{
    apr_pool_t *tmp = NULL;
    apr_status_t rv = st_pool_new(&tmp, p, err);
    for (apr_size_t i = 0; rv == APR_SUCCESS && i < n; i++) {
        apr_pool_clear(tmp);
        rv = apply(st, txn, changes[i], seqs[i], tmp, err);
    }
    if (tmp) {
        apr_pool_destroy(tmp);
    }
    return rv;
}

apr_status_t orgs_store_replica_apply_batch(orgs_store_t *st, const char *const *changes,
                                            const apr_int64_t *seqs, apr_size_t n, apr_pool_t *p,
                                            orgs_err_t *err)
{
    ST_WRITE(st, txn, err, apply_all(st, txn, changes, seqs, n, p, err));
}

/* ---- rebuild ----------------------------------------------------------- */

/* What a rebuild empties: every object, its indexes and the sessions. */
static const int rebuilt_dbs[] = {
    DB_ORGS,        DB_ORG_NAMES, DB_DOMAINS,     DB_CONNS,           DB_CONN_NAMES, DB_ENABLE,
    DB_USERS,       DB_USER_SUB,  DB_USER_EMAIL,  DB_USER_CONN_EMAIL, DB_CONN_USERS, DB_MEMBERS,
    DB_ORG_MEMBERS, DB_SESSIONS,  DB_SESSION_IDX, DB_SESSION_HINTS,   DB_INVITES,    DB_INVITE_ORG,
};

static apr_status_t rebuild(orgs_store_t *st, MDB_txn *txn, FILE *fp, apr_int64_t seq,
                            const char *cluster, apr_size_t *count, apr_pool_t *p, orgs_err_t *err)
{
    apr_pool_t *tmp;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    kbuf_t k;
    apr_status_t rv = APR_SUCCESS;
    for (size_t i = 0; i < sizeof(rebuilt_dbs) / sizeof(rebuilt_dbs[0]); i++) {
        if (!st->has_session_hints && rebuilt_dbs[i] == DB_SESSION_HINTS) {
            continue;
        }
        int rc = mdb_drop(txn, st->db[rebuilt_dbs[i]], 0);
        if (rc != MDB_SUCCESS) {
            return st_mdb_fail(rc, err, "replica rebuild");
        }
    }
    if ((rv = st_pool_new(&tmp, p, err)) != APR_SUCCESS) {
        return rv;
    }
    while (rv == APR_SUCCESS && (n = getline(&buf, &cap, fp)) >= 0) {
        apr_pool_clear(tmp);
        json_t *j = n > 1 ? json_loadb(buf, (size_t)n, 0, NULL) : NULL;
        const char *type = json_string_value(json_object_get(j, "type"));
        if (n <= 1 || (type && strcmp(type, "format") == 0)) {
            json_decref(j);
            continue;
        }
        rv = !j                      ? orgs_err_set(err, APR_EINVAL, "a snapshot line is not JSON")
             : st_counter_line_is(j) ? st_counter_line_put(st, txn, j, err)
                                     : put_line(st, txn, j, tmp, err);
        json_decref(j);
        (*count)++;
    }
    free(buf);
    apr_pool_destroy(tmp);
    if (rv == APR_SUCCESS) {
        rv = seq_write(st, txn, seq, err);
    }
    if (rv == APR_SUCCESS && cluster) {
        rv = st_kv_put(txn, DB(st, META), st_kb1(&k, META_CLUSTER), cluster, strlen(cluster), 0,
                       err, "replica source");
    }
    return rv;
}

apr_status_t orgs_store_replica_rebuild(orgs_store_t *st, FILE *fp, apr_int64_t seq,
                                        const char *cluster, apr_size_t *count, apr_pool_t *p,
                                        orgs_err_t *err)
{
    *count = 0;
    ST_WRITE(st, txn, err, rebuild(st, txn, fp, seq, cluster, count, p, err));
}
