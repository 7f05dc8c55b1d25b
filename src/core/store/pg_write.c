/* PostgreSQL: the snapshot as export lines, a change set written as one
 * SQL transaction (rows, change-log row, NOTIFY), the load of an empty
 * database (pgstore.h). */
#include "orgs_build.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "pg_int.h"

#ifdef ORGS_HAVE_LIBPQ

/* Parents first, as import reads them. */
static const char *const snapshot_sql[] = {
    "SELECT doc::text FROM orgs ORDER BY id",
    "SELECT doc::text FROM conns ORDER BY id",
    "SELECT doc::text FROM enabled_conns ORDER BY org_id, conn_id",
    "SELECT doc::text FROM users ORDER BY id",
    "SELECT doc::text FROM members ORDER BY org_id, "
    "user_id",
    "SELECT doc::text FROM invites ORDER BY id",
    NULL};

/* With ORGS_PG_SNAP_SESSIONS (a replica's rebuild): a session whose
 * connection the org no longer enables is over (the replicas dropped it
 * with the enablement), and so is an expired one. */
static const char *const snapshot_sessions_sql[] = {
    "SELECT s.doc::text FROM sessions s JOIN enabled_conns e ON e.org_id = s.org_id "
    "AND e.conn_id = s.doc->>'connection_id' WHERE s.expires > now() ORDER BY s.sid_hash",
    NULL};

/* With ORGS_PG_SNAP_COUNTERS (a replica's rebuild, orgctl's reads): the
 * cluster's counters as counter lines (counters.c). */
static const char *const snapshot_counters_sql[] = {
    "SELECT json_build_object('type', 'usage', 'org_id', org_id, 'day', day, 'signins', "
    "signins, 'denials', denials, 'joins', joins)::text FROM usage_days ORDER BY org_id, day",
    "SELECT json_build_object('type', 'new_users', 'connection_id', conn_id, 'window', "
    "window_start, 'count', count)::text FROM new_users ORDER BY conn_id",
    NULL};

static apr_status_t snapshot_lines(orgs_pg_t *pg, const char *const *sql, FILE *out,
                                   orgs_err_t *err)
{
    PGresult *res;
    apr_status_t rv = APR_SUCCESS;
    for (int i = 0; rv == APR_SUCCESS && sql[i]; i++) {
        if ((rv = st_pg_exec(pg, sql[i], 0, NULL, &res, err)) != APR_SUCCESS) {
            break;
        }
        for (int r = 0; r < PQntuples(res); r++) {
            if (fputs(PQgetvalue(res, r, 0), out) == EOF || fputc('\n', out) == EOF) {
                rv = orgs_err_set(err, APR_EGENERAL, "write failed: %s", strerror(errno));
                break;
            }
        }
        PQclear(res);
    }
    return rv;
}

static apr_status_t snapshot_body(orgs_pg_t *pg, int flags, FILE *out, apr_int64_t *seq,
                                  const char **cluster, apr_pool_t *p, orgs_err_t *err)
{
    PGresult *res;
    apr_status_t rv = orgs_pg_schema_check(pg, err);
    if (rv == APR_SUCCESS) {
        rv = st_pg_exec(pg,
                        "SELECT coalesce((SELECT max(seq) FROM change_log), 0), "
                        "(SELECT cluster FROM orgs_schema LIMIT 1)",
                        0, NULL, &res, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *seq = apr_atoi64(PQgetvalue(res, 0, 0));
    *cluster = apr_pstrdup(p, PQgetvalue(res, 0, 1));
    PQclear(res);
    if (fprintf(out, "{\"type\":\"format\",\"version\":%d}\n", ORGS_STORE_FORMAT_VERSION) < 0) {
        return orgs_err_set(err, APR_EGENERAL, "write failed: %s", strerror(errno));
    }
    const char *const *sql = snapshot_sql;
    for (int i = 0; rv == APR_SUCCESS && sql[i]; i++) {
        if ((rv = st_pg_exec(pg, sql[i], 0, NULL, &res, err)) != APR_SUCCESS) {
            break;
        }
        for (int r = 0; r < PQntuples(res); r++) {
            if (fputs(PQgetvalue(res, r, 0), out) == EOF || fputc('\n', out) == EOF) {
                rv = orgs_err_set(err, APR_EGENERAL, "write failed: %s", strerror(errno));
                break;
            }
        }
        PQclear(res);
        if (!sql[i + 1] && sql == snapshot_sql && (flags & ORGS_PG_SNAP_SESSIONS)) {
            sql = snapshot_sessions_sql;
            i = -1;
        }
    }
    if (rv == APR_SUCCESS && (flags & ORGS_PG_SNAP_COUNTERS)) {
        rv = snapshot_lines(pg, snapshot_counters_sql, out, err);
    }
    if (rv == APR_SUCCESS && fflush(out) != 0) {
        rv = orgs_err_set(err, APR_EGENERAL, "write failed: %s", strerror(errno));
    }
    return rv;
}

apr_status_t orgs_pg_snapshot(orgs_pg_t *pg, int flags, FILE *out, apr_int64_t *seq,
                              const char **cluster, apr_pool_t *p, orgs_err_t *err)
{
    int for_write = flags & ORGS_PG_SNAP_WRITE;
    /* a write serializes on the lock, so what it reads is what it changes;
     * a read sees one consistent snapshot, change-log position included */
    apr_status_t rv =
        st_pg_exec(pg, for_write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0,
                   NULL, NULL, err);
    if (rv == APR_SUCCESS && for_write) {
        rv = st_pg_exec(pg, "SELECT pg_advisory_xact_lock(" ORGS_PG_LOCK ")", 0, NULL, NULL, err);
    }
    if (rv == APR_SUCCESS) {
        rv = snapshot_body(pg, flags, out, seq, cluster, p, err);
    }
    if (rv == APR_SUCCESS && !for_write) {
        rv = st_pg_exec(pg, "COMMIT", 0, NULL, NULL, err);
    }
    if (rv != APR_SUCCESS) {
        orgs_pg_rollback(pg);
    }
    return rv;
}

/* An org's domains, replaced by the row's (one org per domain: the
 * primary key refuses a domain another org holds). */
static apr_status_t put_domains(orgs_pg_t *pg, const orgs_pg_row_t *row, orgs_err_t *err)
{
    const char *id[1] = {row->vals[0]};
    apr_status_t rv = st_pg_exec(pg, "DELETE FROM org_domains WHERE org_id = $1", 1, id, NULL, err);
    for (int i = 0; rv == APR_SUCCESS && i < row->domains->nelts; i++) {
        const char *v[2] = {APR_ARRAY_IDX(row->domains, i, const char *), row->vals[0]};
        rv = st_pg_exec(pg, "INSERT INTO org_domains (domain, org_id) VALUES ($1, $2)", 2, v, NULL,
                        err);
    }
    return rv;
}

/* A connection that names another issuer or client ends every session
 * through it, as the store does (conn.c): the replicas drop theirs when
 * they apply the row (st_conn_rewrite), and the database's go here, before
 * the row changes, or a node would fetch such a session back. */
static apr_status_t conn_sessions_end(orgs_pg_t *pg, const orgs_pg_row_t *row, orgs_err_t *err)
{
    const char *v[2] = {row->vals[0], row->vals[row->ncols - 1]};
    return st_pg_exec(pg,
                      "DELETE FROM sessions WHERE doc->>'connection_id' = $1 AND EXISTS "
                      "(SELECT 1 FROM conns c WHERE c.id = $1 AND "
                      "(c.doc->>'issuer' IS DISTINCT FROM ($2::jsonb)->>'issuer' OR "
                      "c.doc->>'client_id' IS DISTINCT FROM ($2::jsonb)->>'client_id'))",
                      2, v, NULL, err);
}

static apr_status_t apply_list(orgs_pg_t *pg, const json_t *list, int del, apr_pool_t *p,
                               orgs_err_t *err)
{
    apr_status_t rv = APR_SUCCESS;
    size_t n = json_array_size(list);
    for (size_t i = 0; rv == APR_SUCCESS && i < n; i++) {
        orgs_pg_row_t row;
        const json_t *j = json_array_get(list, del ? n - 1 - i : i);
        if ((rv = orgs_pg_row_of(j, &row, p, err)) != APR_SUCCESS) {
            break;
        }
        if (!del && strcmp(row.type, "conn") == 0) {
            rv = conn_sessions_end(pg, &row, err);
        }
        if (rv == APR_SUCCESS) {
            rv = del ? st_pg_exec(pg, orgs_pg_sql_delete(&row, p), row.nkeys, row.vals, NULL, err)
                     : st_pg_exec(pg, orgs_pg_sql_upsert(&row, p), row.ncols, row.vals, NULL, err);
        }
        if (rv == APR_SUCCESS && !del && row.domains) {
            rv = put_domains(pg, &row, err);
        }
    }
    return rv;
}

static apr_status_t log_and_commit(orgs_pg_t *pg, const char *payload, apr_int64_t *seq,
                                   orgs_err_t *err)
{
    PGresult *res;
    const char *v[1] = {payload};
    apr_status_t rv = st_pg_exec(pg, "INSERT INTO change_log (payload) VALUES ($1) RETURNING seq",
                                 1, v, &res, err);
    if (rv == APR_SUCCESS) {
        *seq = apr_atoi64(PQgetvalue(res, 0, 0));
        PQclear(res);
        /* not in pg->pool: a pooled connection lives as long as the child */
        char buf[32];
        apr_snprintf(buf, sizeof(buf), "%" APR_INT64_T_FMT, *seq);
        rv = st_pg_exec(pg, "SELECT pg_notify('" ORGS_PG_CHANNEL "', $1)", 1, (const char *[]){buf},
                        NULL, err);
    }
    if (rv == APR_SUCCESS) {
        rv = st_pg_exec(pg, "COMMIT", 0, NULL, NULL, err);
    }
    return rv;
}

/* The change set as the change log keeps it: counter increments turned
 * into the rows' values (pg_count.c); else the text as it came. */
static apr_status_t logged_form(json_t *set, int changed, const char *change, const char **logged,
                                apr_pool_t *p, orgs_err_t *err)
{
    if (!changed) {
        *logged = change;
        return APR_SUCCESS;
    }
    char *s = json_dumps(set, JSON_COMPACT);
    *logged = s ? apr_pstrdup(p, s) : NULL;
    free(s);
    return *logged ? APR_SUCCESS : orgs_err_set(err, APR_ENOMEM, "cannot encode the change set");
}

apr_status_t st_pg_write_commit(orgs_pg_t *pg, const char *change, const char **written,
                                apr_int64_t *seq, apr_pool_t *p, orgs_err_t *err)
{
    json_error_t jerr;
    const char *logged = change;
    int changed = 0;
    json_t *set = json_loads(change, 0, &jerr);
    apr_status_t rv = json_is_object(set)
                          ? APR_SUCCESS
                          : orgs_err_set(err, APR_EINVAL, "bad change set: %s", jerr.text);
    if (rv == APR_SUCCESS) {
        rv = apply_list(pg, json_object_get(set, "del"), 1, p, err);
    }
    if (rv == APR_SUCCESS) {
        rv = apply_list(pg, json_object_get(set, "put"), 0, p, err);
    }
    if (rv == APR_SUCCESS) {
        rv = st_pg_counts_write(pg, set, &changed, err);
    }
    if (rv == APR_SUCCESS) {
        rv = logged_form(set, changed, change, &logged, p, err);
    }
    json_decref(set);
    if (rv == APR_SUCCESS) {
        rv = log_and_commit(pg, logged, seq, err);
    }
    if (rv != APR_SUCCESS) {
        orgs_pg_rollback(pg);
        logged = NULL;
    }
    if (written) {
        *written = logged;
    }
    return rv;
}

apr_status_t orgs_pg_write_commit(orgs_pg_t *pg, const char *change, apr_int64_t *seq,
                                  apr_pool_t *p, orgs_err_t *err)
{
    return st_pg_write_commit(pg, change, NULL, seq, p, err);
}

static apr_status_t load_body(orgs_pg_t *pg, FILE *fp, apr_size_t *count, apr_pool_t *p,
                              orgs_err_t *err)
{
    PGresult *res;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    apr_status_t rv =
        st_pg_exec(pg, "SELECT EXISTS (SELECT 1 FROM orgs) OR EXISTS (SELECT 1 FROM conns)", 0,
                   NULL, &res, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    int used = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (used) {
        return orgs_err_set(err, APR_EEXIST, "the database is not empty");
    }
    json_t *puts = json_array();
    while (rv == APR_SUCCESS && (n = getline(&buf, &cap, fp)) >= 0) {
        json_t *j = n > 1 ? json_loadb(buf, (size_t)n, 0, NULL) : NULL;
        const char *type = json_string_value(json_object_get(j, "type"));
        if (n > 1 && !j) {
            rv = orgs_err_set(err, APR_EINVAL, "a line is not JSON");
        } else if (j && !(type && strcmp(type, "format") == 0)) {
            json_array_append(puts, j);
            (*count)++;
        }
        json_decref(j);
    }
    free(buf);
    if (rv == APR_SUCCESS) {
        rv = apply_list(pg, puts, 0, p, err);
    }
    json_decref(puts);
    return rv;
}

apr_status_t orgs_pg_load(orgs_pg_t *pg, FILE *fp, apr_size_t *count, apr_pool_t *p,
                          orgs_err_t *err)
{
    apr_int64_t seq;
    apr_status_t rv = orgs_pg_schema_check(pg, err);
    *count = 0;
    if (rv == APR_SUCCESS) {
        rv = st_pg_exec(pg, "BEGIN", 0, NULL, NULL, err);
    }
    if (rv == APR_SUCCESS) {
        rv = st_pg_exec(pg, "SELECT pg_advisory_xact_lock(" ORGS_PG_LOCK ")", 0, NULL, NULL, err);
    }
    if (rv == APR_SUCCESS) {
        rv = load_body(pg, fp, count, p, err);
    }
    /* replicas that followed an earlier content rebuild from this one */
    if (rv == APR_SUCCESS) {
        rv = log_and_commit(pg, "{\"reset\":true}", &seq, err);
    }
    if (rv != APR_SUCCESS) {
        orgs_pg_rollback(pg);
        *count = 0;
    }
    return rv;
}

apr_status_t st_pg_log_commit(orgs_pg_t *pg, const char *payload, apr_int64_t *seq, orgs_err_t *err)
{
    return log_and_commit(pg, payload, seq, err);
}

#else

apr_status_t orgs_pg_snapshot(orgs_pg_t *pg, int flags, FILE *out, apr_int64_t *seq,
                              const char **cluster, apr_pool_t *p, orgs_err_t *err)
{
    return orgs_pg_schema_check(pg, err);
}

apr_status_t orgs_pg_write_commit(orgs_pg_t *pg, const char *change, apr_int64_t *seq,
                                  apr_pool_t *p, orgs_err_t *err)
{
    return orgs_pg_schema_check(pg, err);
}

apr_status_t orgs_pg_load(orgs_pg_t *pg, FILE *fp, apr_size_t *count, apr_pool_t *p,
                          orgs_err_t *err)
{
    *count = 0;
    return orgs_pg_schema_check(pg, err);
}

#endif
