/* Export and import: the store as JSON Lines, one object a line, each in
 * the one JSON shape of its kind (json.h) plus a "type" member; a
 * connection's secret travels sealed (EXPORT_SEALED), never in plaintext.
 * Import also reads the shape exports of format version 1 had (the
 * records as stored: "meta", "conn_id", times as integer microseconds),
 * so older backups restore (import_line_v1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "store_int.h"

/* The export member that carries a connection's sealed secret (base64url
 * of the store's sealed bytes: it opens only with the store's key). */
#define EXPORT_SEALED "sealed_secret"
/* The type of an export's first line: {"type":"format","version":N}. */
#define EXPORT_FORMAT "format"

/* Writes one line; steals j. */
static apr_status_t emit_new(FILE *fp, const char *type, json_t *j, apr_size_t *count,
                             orgs_err_t *err)
{
    if (!j || json_object_set_new(j, "type", json_string(type))) {
        json_decref(j);
        return orgs_err_set(err, ORGS_ESTORE, "cannot encode a %s record", type);
    }
    int rc = json_dumpf(j, fp, JSON_COMPACT);
    json_decref(j);
    if (rc != 0 || fputc('\n', fp) == EOF) {
        return orgs_err_set(err, APR_EGENERAL, "write failed: %s", strerror(errno));
    }
    (*count)++;
    return APR_SUCCESS;
}

/* One line per membership of the user whose record the iterator is on. */
static apr_status_t export_members(const iter_t *it, FILE *fp, apr_size_t *count, apr_pool_t *p,
                                   orgs_err_t *err)
{
    mrec_t r;
    ment_t e;
    char user_id[ID_LEN + 1], org_id[ID_LEN + 1];
    if (it->k.mv_size != ID_BIN || !st_id_unpack(it->k.mv_data, "usr_", user_id) ||
        !st_mrec_open(it->v.mv_data, it->v.mv_size, &r)) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt membership record");
    }
    apr_status_t rv = APR_SUCCESS;
    for (apr_uint32_t i = 0; rv == APR_SUCCESS && i < r.n; i++) {
        if (!st_mrec_entry(&r, i, &e) || !st_id_unpack(e.org, "org_", org_id)) {
            return orgs_err_set(err, ORGS_ESTORE, "corrupt membership record");
        }
        orgs_member_t m = {org_id, user_id, st_roles_decode(&e, p), e.created};
        rv = emit_new(fp, "member", orgs_json_member(&m), count, err);
    }
    return rv;
}

/* An enablement as the connection enabled on an org, plus the org's id. */
static apr_status_t export_enable(orgs_store_t *st, MDB_txn *txn, const iter_t *it, json_t **out,
                                  apr_pool_t *p, orgs_err_t *err)
{
    const char *k = it->k.mv_data;
    orgs_conn_t *c;
    *out = NULL;
    if (it->k.mv_size != 2 * ID_LEN || it->v.mv_size < 1) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt enablement");
    }
    const char *org_id = apr_pstrmemdup(p, k, ID_LEN);
    apr_status_t rv =
        st_conn_load(st, txn, apr_pstrmemdup(p, k + ID_LEN, ID_LEN), &c, NULL, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    orgs_enabled_conn_t e = {
        c->id, c->name, c->display_name, ((const char *)it->v.mv_data)[0],
        it->v.mv_size > 1 ? apr_pstrmemdup(p, (const char *)it->v.mv_data + 1, it->v.mv_size - 1)
                          : NULL};
    *out = orgs_json_enabled_conn(&e);
    if (*out && json_object_set_new(*out, "org_id", json_string(org_id))) {
        json_decref(*out);
        *out = NULL;
    }
    return APR_SUCCESS;
}

/* A record of conns or invites (JSON) in the export shape (json.h); the
 * connection's secret stays sealed, under EXPORT_SEALED. */
static apr_status_t export_json_record(int db, const iter_t *it, json_t **out, apr_pool_t *p,
                                       orgs_err_t *err)
{
    json_t *rec;
    apr_status_t rv = st_json_of(it->v.mv_data, it->v.mv_size, &rec, err,
                                 db == DB_CONNS ? "connection" : "invitation");
    *out = NULL;
    if (rv == APR_SUCCESS && db == DB_CONNS) {
        orgs_conn_t *c;
        const char *sealed = NULL;
        if ((rv = st_conn_decode(rec, &c, &sealed, p, err)) == APR_SUCCESS) {
            *out = orgs_json_conn(c);
            if (*out && sealed && json_object_set_new(*out, EXPORT_SEALED, json_string(sealed))) {
                json_decref(*out);
                *out = NULL;
            }
        }
    } else if (rv == APR_SUCCESS) {
        orgs_invite_t *inv;
        if ((rv = st_invite_decode(rec, &inv, p, err)) == APR_SUCCESS) {
            /* the ticket's hash travels with it, so the URL keeps working */
            *out = orgs_json_invite(inv);
            if (*out && inv->ticket_hash &&
                json_object_set_new(*out, "ticket_hash", json_string(inv->ticket_hash))) {
                json_decref(*out);
                *out = NULL;
            }
        }
    }
    json_decref(rec);
    return rv;
}

static apr_status_t export_db(orgs_store_t *st, MDB_txn *txn, int db, FILE *fp, apr_size_t *count,
                              apr_pool_t *p, orgs_err_t *err)
{
    iter_t it;
    apr_status_t rv = st_iter_open(txn, st->db[db], NULL, &it, err);
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        apr_pool_clear(p);
        json_t *j = NULL;
        const char *type = "";
        if (db == DB_MEMBERS) {
            rv = export_members(&it, fp, count, p, err);
            continue;
        }
        if (db == DB_ENABLE) {
            type = "enable";
            rv = export_enable(st, txn, &it, &j, p, err);
        } else if (db == DB_ORGS) {
            orgs_org_t *o;
            type = "org";
            rv = st_org_read(it.v.mv_data, it.v.mv_size, &o, p, err);
            j = rv == APR_SUCCESS ? orgs_json_org(o) : NULL;
        } else if (db == DB_USERS) {
            orgs_user_t *u;
            type = "user";
            rv = st_user_read(it.v.mv_data, it.v.mv_size, &u, p, err);
            j = rv == APR_SUCCESS ? orgs_json_user(u) : NULL;
        } else {
            type = db == DB_CONNS ? "conn" : "invite";
            rv = export_json_record(db, &it, &j, p, err);
        }
        if (rv == APR_SUCCESS) {
            rv = emit_new(fp, type, j, count, err);
        }
    }
    apr_status_t rv2 = st_iter_close(&it, err);
    return rv != APR_SUCCESS ? rv : rv2;
}

static apr_status_t export_all(orgs_store_t *st, MDB_txn *txn, FILE *fp, apr_size_t *count,
                               apr_pool_t *p, orgs_err_t *err)
{
    static const int order[] = {DB_ORGS, DB_CONNS, DB_ENABLE, DB_USERS, DB_MEMBERS, DB_INVITES};
    apr_pool_t *tmp;
    apr_status_t rv = APR_SUCCESS;
    if ((rv = st_pool_new(&tmp, p, err)) != APR_SUCCESS) {
        return rv;
    }
    /* First line: the format the export is written in (not counted), so
     * an import can refuse an export newer than itself. */
    if (fprintf(fp, "{\"type\":\"" EXPORT_FORMAT "\",\"version\":%d}\n",
                ORGS_STORE_FORMAT_VERSION) < 0) {
        rv = orgs_err_set(err, APR_EGENERAL, "write failed: %s", strerror(errno));
    }
    for (size_t i = 0; rv == APR_SUCCESS && i < sizeof(order) / sizeof(order[0]); i++) {
        rv = export_db(st, txn, order[i], fp, count, tmp, err);
    }
    apr_pool_destroy(tmp);
    return rv;
}

apr_status_t orgs_store_export(orgs_store_t *st, FILE *fp, apr_size_t *count, apr_pool_t *p,
                               orgs_err_t *err)
{
    apr_status_t rv;
    *count = 0;
    ST_READ_RV(rv, st, txn, err, export_all(st, txn, fp, count, p, err));
    if (rv == APR_SUCCESS && fflush(fp) != 0) {
        rv = orgs_err_set(err, APR_EGENERAL, "write failed: %s", strerror(errno));
    }
    return rv;
}

static apr_status_t import_conn(orgs_store_t *st, MDB_txn *txn, orgs_conn_t *c, const char *sealed,
                                apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv = APR_SUCCESS;
    if (sealed) { /* the sealed secret must open with this store's key */
        rv = st_conn_unseal(st, c, sealed, p, err);
        c->client_secret = NULL;
    }
    return rv == APR_SUCCESS ? st_conn_insert(st, txn, c, sealed, p, err) : rv;
}

/* A line in the shape of format version 1's export. */
static apr_status_t import_line_v1(orgs_store_t *st, MDB_txn *txn, const json_t *j, apr_pool_t *p,
                                   orgs_err_t *err)
{
    const char *type = json_string_value(json_object_get(j, "type"));
    apr_status_t rv;
    if (!type) {
        return orgs_err_set(err, APR_EINVAL, "no type");
    }
    if (strcmp(type, "org") == 0) {
        orgs_org_t *o;
        rv = st_org_decode_json(j, &o, p, err);
        return rv == APR_SUCCESS ? st_org_insert(st, txn, o, p, err) : rv;
    }
    if (strcmp(type, "conn") == 0) {
        orgs_conn_t *c;
        const char *sealed;
        rv = st_conn_decode(j, &c, &sealed, p, err);
        return rv == APR_SUCCESS ? import_conn(st, txn, c, sealed, p, err) : rv;
    }
    if (strcmp(type, "enable") == 0) {
        const char *org_id = st_jget_str(j, "org_id", p), *conn_id = st_jget_str(j, "conn_id", p);
        if (!orgs_check_id(org_id, "org_") || !orgs_check_id(conn_id, "con_")) {
            return orgs_err_set(err, APR_EINVAL, "bad enable record");
        }
        return st_enable_set(st, txn, org_id, conn_id, 1,
                             json_is_true(json_object_get(j, "auto_membership")), p, err);
    }
    if (strcmp(type, "user") == 0) {
        orgs_user_t *u;
        orgs_conn_t *c;
        rv = st_user_decode_json(j, &u, p, err);
        if (rv == APR_SUCCESS) {
            rv = st_conn_load(st, txn, u->conn_id, &c, NULL, p, err);
        }
        return rv == APR_SUCCESS ? st_user_insert(st, txn, u, p, err) : rv;
    }
    if (strcmp(type, "member") == 0) {
        const char *org_id = st_jget_str(j, "org_id", p), *user_id = st_jget_str(j, "user_id", p);
        apr_array_header_t *roles = st_jget_str_array(j, "roles", p);
        if (!orgs_check_id(org_id, "org_") || !orgs_check_id(user_id, "usr_") || !roles) {
            return orgs_err_set(err, APR_EINVAL, "bad member record");
        }
        return st_member_insert(st, txn, org_id, user_id, roles, st_jget_int(j, "created"), p, err);
    }
    if (strcmp(type, "invite") == 0) {
        orgs_invite_t *inv;
        rv = st_invite_decode(j, &inv, p, err);
        if (rv == APR_SUCCESS && !orgs_check_id(inv->org_id, "org_")) {
            rv = orgs_err_set(err, APR_EINVAL, "bad invitation org id");
        }
        return rv == APR_SUCCESS ? st_invite_insert(st, txn, inv, 0, p, err) : rv;
    }
    return orgs_err_set(err, APR_EINVAL, "unknown type '%s'", type);
}

/* A line in the export shape (json.h); a line without its times in that
 * shape ("created_at"; an enablement without "connection_id") is one of
 * format version 1. */
static apr_status_t import_line(orgs_store_t *st, MDB_txn *txn, const json_t *j, apr_pool_t *p,
                                orgs_err_t *err)
{
    static const char *const env[] = {"type", NULL},
                             *const conn_env[] = {"type", EXPORT_SEALED, NULL},
                             *const enable_env[] = {"type", "org_id", NULL};
    const char *type = json_string_value(json_object_get(j, "type"));
    apr_status_t rv;
    if (!type) {
        return orgs_err_set(err, APR_EINVAL, "no type");
    }
    int is_enable = strcmp(type, "enable") == 0;
    if (!json_object_get(j, is_enable ? "connection_id" : "created_at")) {
        return import_line_v1(st, txn, j, p, err);
    }
    if (strcmp(type, "org") == 0) {
        orgs_org_t *o;
        rv = orgs_json_org_from(j, env, &o, p, err);
        return rv == APR_SUCCESS ? st_org_insert(st, txn, o, p, err) : rv;
    }
    if (strcmp(type, "conn") == 0) {
        orgs_conn_t *c;
        json_t *sealed = json_object_get(j, EXPORT_SEALED);
        rv = orgs_json_conn_from(j, conn_env, &c, p, err);
        if (rv == APR_SUCCESS && sealed && !json_is_string(sealed)) {
            rv = orgs_err_set(err, APR_EINVAL, "connection: %s is not a string", EXPORT_SEALED);
        }
        return rv == APR_SUCCESS ? import_conn(st, txn, c, st_jget_str(j, EXPORT_SEALED, p), p, err)
                                 : rv;
    }
    if (is_enable) {
        orgs_enabled_conn_t *e;
        const char *org_id = st_jget_str(j, "org_id", p);
        rv = orgs_json_enabled_conn_from(j, enable_env, &e, p, err);
        if (rv == APR_SUCCESS &&
            (!orgs_check_id(org_id, "org_") || !orgs_check_id(e->conn_id, "con_"))) {
            rv = orgs_err_set(err, APR_EINVAL, "bad enable record");
        }
        return rv == APR_SUCCESS ? st_enable_set_cond(st, txn, org_id, e->conn_id,
                                                      e->auto_membership, e->require, p, err)
                                 : rv;
    }
    if (strcmp(type, "user") == 0) {
        orgs_user_t *u;
        orgs_conn_t *c;
        rv = orgs_json_user_from(j, env, &u, p, err);
        if (rv == APR_SUCCESS) {
            rv = st_conn_load(st, txn, u->conn_id, &c, NULL, p, err);
        }
        return rv == APR_SUCCESS ? st_user_insert(st, txn, u, p, err) : rv;
    }
    if (strcmp(type, "member") == 0) {
        orgs_member_t *m;
        rv = orgs_json_member_from(j, env, &m, p, err);
        if (rv == APR_SUCCESS &&
            (!orgs_check_id(m->org_id, "org_") || !orgs_check_id(m->user_id, "usr_"))) {
            rv = orgs_err_set(err, APR_EINVAL, "bad member record");
        }
        return rv == APR_SUCCESS
                   ? st_member_insert(st, txn, m->org_id, m->user_id, m->roles, m->created, p, err)
                   : rv;
    }
    if (strcmp(type, "invite") == 0) {
        orgs_invite_t *inv;
        rv = orgs_json_invite_from(j, env, &inv, p, err);
        if (rv == APR_SUCCESS && !orgs_check_id(inv->org_id, "org_")) {
            rv = orgs_err_set(err, APR_EINVAL, "bad invitation org id");
        }
        return rv == APR_SUCCESS ? st_invite_insert(st, txn, inv, 0, p, err) : rv;
    }
    return orgs_err_set(err, APR_EINVAL, "unknown type '%s'", type);
}

static int is_format_line(const json_t *j)
{
    const char *type = json_string_value(json_object_get(j, "type"));
    return type && strcmp(type, EXPORT_FORMAT) == 0;
}

/* Every line of fp, in one transaction: all or nothing. */
static apr_status_t import_all(orgs_store_t *st, MDB_txn *txn, FILE *fp, apr_size_t *count,
                               apr_pool_t *p, orgs_err_t *err)
{
    apr_pool_t *tmp;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    apr_size_t lineno = 0;
    apr_status_t rv = APR_SUCCESS;
    if ((rv = st_pool_new(&tmp, p, err)) != APR_SUCCESS) {
        return rv;
    }
    while (rv == APR_SUCCESS && (n = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
            line[--n] = '\0';
        }
        if (n == 0) {
            continue;
        }
        apr_pool_clear(tmp);
        json_error_t jerr;
        json_t *j = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
        if (!j && strstr(jerr.text, "duplicate")) { /* two values for one field: which one? */
            rv = orgs_err_set(err, APR_EINVAL, "line %" APR_SIZE_T_FMT ": %s", lineno, jerr.text);
        } else if (!json_is_object(j)) {
            rv = orgs_err_set(err, APR_EINVAL, "line %" APR_SIZE_T_FMT ": not a JSON object",
                              lineno);
        } else if (is_format_line(j)) {
            json_int_t ver = json_integer_value(json_object_get(j, "version"));
            if (ver < 1 || ver > ORGS_STORE_FORMAT_VERSION) {
                rv = orgs_err_set(err, ORGS_EVERSION,
                                  "line %" APR_SIZE_T_FMT ": an export of format %" APR_INT64_T_FMT
                                  ", this build reads up to %d",
                                  lineno, (apr_int64_t)ver, ORGS_STORE_FORMAT_VERSION);
            }
        } else {
            rv = import_line(st, txn, j, tmp, err);
            if (rv != APR_SUCCESS) {
                char reason[sizeof(err->msg)] = "";
                if (err) {
                    apr_cpystrn(reason, err->msg, sizeof(reason));
                }
                orgs_err_set(err, rv, "line %" APR_SIZE_T_FMT ": %s", lineno, reason);
            } else {
                (*count)++;
            }
        }
        json_decref(j);
    }
    free(line);
    if (rv == APR_SUCCESS && ferror(fp)) {
        rv = orgs_err_set(err, APR_EGENERAL, "read failed");
    }
    apr_pool_destroy(tmp);
    return rv;
}

/* One audit record for the whole import (its objects are not listed). */
static apr_status_t import_logged(orgs_store_t *st, MDB_txn *txn, FILE *fp, apr_size_t *count,
                                  apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv = import_all(st, txn, fp, count, p, err);
    return rv == APR_SUCCESS
               ? st_audit_add(st, txn, "store.import", NULL, NULL, NULL,
                              json_pack("{s:I}", "objects", (json_int_t)*count), p, err)
               : rv;
}

apr_status_t orgs_store_import(orgs_store_t *st, FILE *fp, apr_size_t *count, apr_pool_t *p,
                               orgs_err_t *err)
{
    apr_status_t rv;
    *count = 0;
    ST_WRITE_RV(rv, st, txn, err, import_logged(st, txn, fp, count, p, err));
    if (rv != APR_SUCCESS) {
        *count = 0;
    }
    return rv;
}
