/* PostgreSQL: the connection, its URI and the schema (pgstore.h). One of
 * the few files that use libpq (pg*.c). */
#include "orgs_build.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

#include <apr_strings.h>

#include "pgstore.h"
#include "pg_int.h"

int orgs_pg_uri_is(const char *s)
{
    return s && (strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0);
}

const char *orgs_pg_uri_display(const char *uri, apr_pool_t *p)
{
    const char *q = strchr(uri, '?');
    char *s = q ? apr_pstrmemdup(p, uri, (apr_size_t)(q - uri)) : apr_pstrdup(p, uri);
    /* never a password, even one the check refused: user:PASSWORD@ */
    char *auth = strstr(s, "://");
    char *at = auth ? strchr(auth + 3, '@') : NULL;
    char *colon = auth ? strchr(auth + 3, ':') : NULL;
    if (at && colon && colon < at) {
        memmove(colon, at, strlen(at) + 1);
    }
    return s;
}

#ifdef ORGS_HAVE_LIBPQ

apr_status_t orgs_pg_uri_check(const char *uri, apr_pool_t *p, orgs_err_t *err)
{
    char *msg = NULL;
    if (!orgs_pg_uri_is(uri)) {
        return orgs_err_set(err, APR_EINVAL, "not a postgresql:// URI");
    }
    PQconninfoOption *opts = PQconninfoParse(uri, &msg);
    if (!opts) {
        apr_status_t rv = orgs_err_set(err, APR_EINVAL, "%s", msg ? msg : "cannot parse the URI");
        if (msg) {
            char *nl = strchr(err ? err->msg : "", '\n');
            if (nl) {
                *nl = '\0';
            }
            PQfreemem(msg);
        }
        return rv;
    }
    apr_status_t rv = APR_SUCCESS;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val) {
            rv = orgs_err_set(err, APR_EINVAL,
                              "a password in the URI (give it in a passfile=FILE, PGPASSFILE or "
                              "PGPASSWORD instead)");
        }
    }
    PQconninfoFree(opts);
    return rv;
}

static apr_status_t pg_cleanup(void *data)
{
    orgs_pg_t *pg = data;
    if (pg->conn) {
        PQfinish(pg->conn);
        pg->conn = NULL;
    }
    return APR_SUCCESS;
}

void orgs_pg_close(orgs_pg_t *pg)
{
    if (pg) {
        apr_pool_cleanup_run(pg->pool, pg, pg_cleanup);
    }
}

apr_status_t orgs_pg_connect(orgs_pg_t **out, const char *uri, apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv = orgs_pg_uri_check(uri, p, err);
    *out = NULL;
    if (rv != APR_SUCCESS) {
        return rv;
    }
    orgs_pg_t *pg = apr_pcalloc(p, sizeof(*pg));
    pg->pool = p;
    pg->conn = PQconnectdb(uri);
    apr_pool_cleanup_register(p, pg, pg_cleanup, apr_pool_cleanup_null);
    if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
        rv = st_pg_fail(pg, err,
                        apr_pstrcat(p, "cannot connect to ", orgs_pg_uri_display(uri, p), NULL));
        orgs_pg_close(pg);
        return rv;
    }
    /* quiet: NOTICEs ("relation exists, skipping") are not for the user */
    PQsetNoticeProcessor(pg->conn, st_pg_notice_ignore, NULL);
    *out = pg;
    return APR_SUCCESS;
}

void st_pg_notice_ignore(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* libpq's last error, first line, with what failed; the status from the
 * SQLSTATE when there is a result: unique violation APR_EEXIST, foreign
 * key APR_NOTFOUND, serialization failure APR_EAGAIN, on a connection with
 * a deadline (a child's) a lock or statement timeout ORGS_PG_EBUSY, else
 * ORGS_ESTORE. */
apr_status_t st_pg_fail_res(orgs_pg_t *pg, PGresult *res, orgs_err_t *err, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    apr_status_t rv = ORGS_ESTORE;
    if (!msg || !*msg) {
        msg = pg->conn ? PQerrorMessage(pg->conn) : "no connection";
    }
    if (state && strcmp(state, "23505") == 0) {
        rv = APR_EEXIST;
    } else if (state && strcmp(state, "23503") == 0) {
        rv = APR_NOTFOUND;
    } else if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)) {
        rv = APR_EAGAIN;
    } else if (state && pg->deadline_ms > 0 &&
               (strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0)) {
        /* a child's lock_timeout or statement_timeout: the server answered,
         * so it is up and busy (the writers' lock held long) */
        rv = ORGS_PG_EBUSY;
    }
    orgs_err_set(err, rv, "%s: %s", what, msg);
    char *nl = err ? strchr(err->msg, '\n') : NULL;
    if (nl) {
        *nl = '\0';
    }
    return rv;
}

apr_status_t st_pg_fail(orgs_pg_t *pg, orgs_err_t *err, const char *what)
{
    return st_pg_fail_res(pg, NULL, err, what);
}

/* The statement sent, its answer awaited at most pg->deadline_ms: the
 * server's statement_timeout cannot end a wait on a database (or a path to
 * it) that stopped answering after taking the query. Past the deadline the
 * connection is given up (pg->dead): never used again, closed by its pool.
 * The first error result is kept, else the last result. */
static PGresult *exec_bounded(orgs_pg_t *pg, const char *sql, int n, const char *const *vals,
                              int *timed_out)
{
    PGresult *keep = NULL, *r;
    apr_time_t until = apr_time_now() + apr_time_from_msec(pg->deadline_ms);
    *timed_out = 0;
    if (!PQsendQueryParams(pg->conn, sql, n, NULL, vals, NULL, NULL, 0)) {
        return NULL;
    }
    for (;;) {
        while (!PQisBusy(pg->conn)) {
            if (!(r = PQgetResult(pg->conn))) {
                return keep;
            }
            if (keep && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
                PQclear(r);
            } else {
                PQclear(keep);
                keep = r;
            }
        }
        apr_interval_time_t left = until - apr_time_now();
        struct pollfd pfd = {PQsocket(pg->conn), POLLIN, 0};
        int rc = left > 0 ? poll(&pfd, 1, (int)((left + 999) / 1000)) : 0;
        if (rc == 0 && apr_time_now() >= until) {
            *timed_out = 1;
        }
        if (*timed_out || (rc < 0 && errno != EINTR) || !PQconsumeInput(pg->conn)) {
            pg->dead = 1;
            PQclear(keep);
            return NULL;
        }
    }
}

apr_status_t st_pg_exec(orgs_pg_t *pg, const char *sql, int n, const char *const *vals,
                        PGresult **out, orgs_err_t *err)
{
    int timed_out = 0;
    PGresult *res;
    if (pg->dead) {
        return orgs_err_set(err, ORGS_ESTORE, "PostgreSQL: the connection was given up");
    }
    res = pg->deadline_ms > 0 ? exec_bounded(pg, sql, n, vals, &timed_out)
                              : PQexecParams(pg->conn, sql, n, NULL, vals, NULL, NULL, 0);
    if (timed_out) {
        if (out) {
            *out = NULL;
        }
        return orgs_err_set(err, ORGS_ESTORE, "PostgreSQL: no answer within %d ms",
                            pg->deadline_ms);
    }
    ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        apr_status_t rv = st_pg_fail_res(pg, res, err, "PostgreSQL");
        PQclear(res);
        if (out) {
            *out = NULL;
        }
        return rv;
    }
    if (out) {
        *out = res;
    } else {
        PQclear(res);
    }
    return APR_SUCCESS;
}

/* The schema, version 1. The jsonb doc of each row is the object in the
 * export shape; the columns beside it are what SQL constrains. */
static const char *const schema_v1[] = {
    "CREATE TABLE orgs_schema (version integer NOT NULL, cluster text NOT NULL)",
    "CREATE TABLE orgs (id text PRIMARY KEY, name text NOT NULL UNIQUE, doc jsonb NOT NULL)",
    "CREATE TABLE org_domains (domain text PRIMARY KEY, "
    "org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE)",
    "CREATE TABLE conns (id text PRIMARY KEY, name text NOT NULL UNIQUE, doc jsonb NOT NULL)",
    "CREATE TABLE enabled_conns (org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE, "
    "conn_id text NOT NULL REFERENCES conns(id) ON DELETE CASCADE, doc jsonb NOT NULL, "
    "PRIMARY KEY (org_id, conn_id))",
    "CREATE TABLE users (id text PRIMARY KEY, "
    "conn_id text NOT NULL REFERENCES conns(id) ON DELETE CASCADE, sub text, email text, "
    "doc jsonb NOT NULL, UNIQUE (conn_id, sub))",
    "CREATE INDEX users_email ON users (email)",
    "CREATE TABLE members (org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE, "
    "user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE, doc jsonb NOT NULL, "
    "PRIMARY KEY (org_id, user_id))",
    "CREATE INDEX members_user ON members (user_id)",
    "CREATE TABLE invites (id text PRIMARY KEY, "
    "org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE, doc jsonb NOT NULL)",
    "CREATE TABLE change_log (seq bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), "
    "payload text NOT NULL)",
    "INSERT INTO orgs_schema (version, cluster) VALUES (1, gen_random_uuid()::text)",
    NULL};

/* Version 2: sessions, so a sign-in on one node holds on every node. A
 * session goes with its membership (the cascade of members, users, conns
 * and orgs); the row keeps the session line (capture.c) in doc. */
static const char *const schema_v2[] = {
    "CREATE TABLE sessions (sid_hash text PRIMARY KEY, org_id text NOT NULL, "
    "user_id text NOT NULL, expires timestamptz NOT NULL, doc jsonb NOT NULL, "
    "FOREIGN KEY (org_id, user_id) REFERENCES members (org_id, user_id) ON DELETE CASCADE)",
    "CREATE INDEX sessions_member ON sessions (org_id, user_id)",
    "CREATE INDEX sessions_expires ON sessions (expires)", "UPDATE orgs_schema SET version = 2",
    NULL};

/* Version 3: what a sign-in counted per node is counted by the cluster.
 * usage_days: the day's sign-ins, denials and joins of an org (day: days
 * since the epoch), incremented in the sign-in's transaction; new_users:
 * the new-user throttle of a connection (the minute's start in
 * microseconds, and its count), decided against this row; pending_used:
 * the sealed pending logins already used (SHA-256 of the state, hex), so
 * a callback is single use on every node; audit_log: the audit records of
 * orgctl's writes, each committed with its change. */
static const char *const schema_v3[] = {
    "CREATE TABLE usage_days (org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE, "
    "day integer NOT NULL, signins bigint NOT NULL DEFAULT 0, denials bigint NOT NULL DEFAULT 0, "
    "joins bigint NOT NULL DEFAULT 0, PRIMARY KEY (org_id, day))",
    "CREATE TABLE new_users (conn_id text PRIMARY KEY REFERENCES conns(id) ON DELETE CASCADE, "
    "window_start bigint NOT NULL, count integer NOT NULL)",
    "CREATE TABLE pending_used (state_hash text PRIMARY KEY, expires timestamptz NOT NULL)",
    "CREATE INDEX pending_used_expires ON pending_used (expires)",
    "CREATE TABLE audit_log (seq bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), "
    "doc jsonb NOT NULL)",
    "UPDATE orgs_schema SET version = 3",
    NULL};

/* Version 4: the owner of each used sealed login (the org of a sign-in
 * that got in, "org/connection" of one refused) and each owner's count of
 * rows, so they are bounded (OrgsMaxSessionsPerOrg) as on LMDB: neither one
 * org's IdP nor the refused sign-ins to an org can grow the table for
 * every other, or fill the share of the org's members. Rows of version 3 have no owner (''): they
 * expire within a login timeout and ten minutes. The column keeps no default, so a node of an older
 * build fails its sign-in rather than write a row nobody counts. */
static const char *const schema_v4[] = {
    "ALTER TABLE pending_used ADD COLUMN owner_id text NOT NULL DEFAULT ''",
    "ALTER TABLE pending_used ALTER COLUMN owner_id DROP DEFAULT",
    "CREATE INDEX pending_used_owner ON pending_used (owner_id, expires)",
    "CREATE TABLE pending_used_owners (owner_id text PRIMARY KEY, live bigint NOT NULL)",
    "UPDATE orgs_schema SET version = 4",
    NULL};

static apr_status_t schema_version(orgs_pg_t *pg, int *version, orgs_err_t *err)
{
    PGresult *res;
    apr_status_t rv =
        st_pg_exec(pg, "SELECT to_regclass('orgs_schema') IS NOT NULL", 0, NULL, &res, err);
    *version = 0;
    if (rv != APR_SUCCESS) {
        return rv;
    }
    int exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!exists) {
        return APR_SUCCESS;
    }
    if ((rv = st_pg_exec(pg, "SELECT max(version) FROM orgs_schema", 0, NULL, &res, err)) ==
        APR_SUCCESS) {
        *version = PQntuples(res) ? (int)apr_atoi64(PQgetvalue(res, 0, 0)) : 0;
        PQclear(res);
    }
    return rv;
}

apr_status_t orgs_pg_init(orgs_pg_t *pg, int *created, orgs_err_t *err)
{
    int version = 0;
    apr_status_t rv = st_pg_exec(pg, "BEGIN", 0, NULL, NULL, err);
    *created = 0;
    /* two inits at once: the second waits, then finds the schema */
    if (rv == APR_SUCCESS) {
        rv = st_pg_exec(pg, "SELECT pg_advisory_xact_lock(" ORGS_PG_LOCK ")", 0, NULL, NULL, err);
    }
    if (rv == APR_SUCCESS) {
        rv = schema_version(pg, &version, err);
    }
    if (rv == APR_SUCCESS && version > ORGS_PG_SCHEMA_VERSION) {
        rv = orgs_err_set(err, ORGS_EVERSION,
                          "the database has schema version %d, this build knows up to %d", version,
                          ORGS_PG_SCHEMA_VERSION);
    }
    /* each version's list upgrades from the one before */
    static const char *const *const steps[] = {schema_v1, schema_v2, schema_v3, schema_v4};
    _Static_assert(sizeof(steps) / sizeof(steps[0]) == ORGS_PG_SCHEMA_VERSION,
                   "one list of steps per schema version");
    for (int v = version; rv == APR_SUCCESS && v >= 0 && v < ORGS_PG_SCHEMA_VERSION; v++) {
        for (int i = 0; rv == APR_SUCCESS && steps[v][i]; i++) {
            rv = st_pg_exec(pg, steps[v][i], 0, NULL, NULL, err);
        }
        *created = version == 0 ? 1 : 2;
    }
    if (rv == APR_SUCCESS) {
        return st_pg_exec(pg, "COMMIT", 0, NULL, NULL, err);
    }
    orgs_pg_rollback(pg);
    *created = 0;
    return rv;
}

apr_status_t orgs_pg_schema_check(orgs_pg_t *pg, orgs_err_t *err)
{
    int version = 0;
    apr_status_t rv = schema_version(pg, &version, err);
    if (rv == APR_SUCCESS && version != ORGS_PG_SCHEMA_VERSION) {
        rv = orgs_err_set(err, ORGS_EVERSION,
                          version ? "the database has schema version %d, this build knows %d"
                                  : "the database has no schema (%d): run orgctl init (%d)",
                          version, ORGS_PG_SCHEMA_VERSION);
    }
    return rv;
}

void orgs_pg_rollback(orgs_pg_t *pg)
{
    if (pg && pg->conn && !pg->dead && PQtransactionStatus(pg->conn) != PQTRANS_IDLE) {
        (void)st_pg_exec(pg, "ROLLBACK", 0, NULL, NULL, NULL);
    }
}

#else /* built without libpq */

apr_status_t orgs_pg_uri_check(const char *uri, apr_pool_t *p, orgs_err_t *err)
{
    return orgs_err_set(err, APR_ENOTIMPL, "built without PostgreSQL support (libpq)");
}

apr_status_t orgs_pg_connect(orgs_pg_t **out, const char *uri, apr_pool_t *p, orgs_err_t *err)
{
    *out = NULL;
    return orgs_pg_uri_check(uri, p, err);
}

void orgs_pg_close(orgs_pg_t *pg)
{
}

apr_status_t orgs_pg_init(orgs_pg_t *pg, int *created, orgs_err_t *err)
{
    *created = 0;
    return orgs_pg_uri_check(NULL, NULL, err);
}

apr_status_t orgs_pg_schema_check(orgs_pg_t *pg, orgs_err_t *err)
{
    return orgs_pg_uri_check(NULL, NULL, err);
}

void orgs_pg_rollback(orgs_pg_t *pg)
{
}

#endif
