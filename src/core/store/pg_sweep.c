/* The cluster's sweeps written through the database (pgstore.h): expired
 * invitations and users without membership unused since a cutoff are
 * chosen and deleted in SQL, on the database's rows (a sign-in on any node
 * has moved its user's last_login there), and logged as one change set
 * per batch, so every replica drops the same rows in the log's order. One
 * node sweeps at a time: a second one finds the sweep's advisory lock
 * taken and skips. */
#include "orgs_build.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "pg_int.h"

/* The sweep's own advisory lock (two int4 keys: "orgs", 2), taken before
 * the writers' lock, never waited for. */
#define ORGS_PG_SWEEP_LOCK "1869768563, 2"

#ifdef ORGS_HAVE_LIBPQ

/* One statement per kind: the scan (at most $2 rows after the key $1, in
 * key order), the rows of it that are due deleted, and what the next batch
 * needs: the scan's last key, how many rows it read, the deleted rows as a
 * JSON array (NULL: none) and their count. $3 is the time the rows are judged against, in
 * seconds since the epoch. */
static const char *const sweep_sql[] = {
    /* ORGS_PG_SWEEP_INVITES: expired (the store's rule: now > expires) */
    "WITH scan AS (SELECT id FROM invites WHERE id > $1 ORDER BY id LIMIT $2::int), "
    "gone AS (DELETE FROM invites i USING scan WHERE i.id = scan.id "
    "AND (i.doc->>'expires_at')::timestamptz < to_timestamp($3::double precision) "
    "RETURNING i.doc) "
    "SELECT (SELECT max(id) FROM scan), (SELECT count(*) FROM scan), "
    "(SELECT json_agg(doc)::text FROM gone), (SELECT count(*) FROM gone)",
    /* ORGS_PG_SWEEP_USERS: no membership, and neither signed in nor
     * (never signed in) created since the cutoff */
    "WITH scan AS (SELECT id FROM users WHERE id > $1 ORDER BY id LIMIT $2::int), "
    "gone AS (DELETE FROM users u USING scan WHERE u.id = scan.id "
    "AND greatest((u.doc->>'created_at')::timestamptz, (u.doc->>'last_login')::timestamptz) "
    "< to_timestamp($3::double precision) "
    "AND NOT EXISTS (SELECT 1 FROM members m WHERE m.user_id = u.id) "
    "RETURNING u.doc) "
    "SELECT (SELECT max(id) FROM scan), (SELECT count(*) FROM scan), "
    "(SELECT json_agg(doc)::text FROM gone), (SELECT count(*) FROM gone)",
};

/* One batch in one transaction: the sweep's lock tried, the writers'
 * lock, the statement, the change-log row. */
static apr_status_t sweep_batch(orgs_pg_t *pg, int kind, apr_time_t when, const char **from,
                                apr_size_t *removed, int *more, int *busy, apr_int64_t *seq,
                                apr_pool_t *p, orgs_err_t *err)
{
    PGresult *res;
    const char *v[3] = {*from ? *from : "", apr_psprintf(p, "%d", ORGS_PG_SWEEP_SCAN),
                        apr_psprintf(p, "%" APR_TIME_T_FMT ".%06" APR_TIME_T_FMT,
                                     apr_time_sec(when), when % APR_USEC_PER_SEC)};
    apr_status_t rv = st_pg_exec(pg, "BEGIN", 0, NULL, NULL, err);
    if (rv == APR_SUCCESS) {
        rv = st_pg_exec(pg, "SELECT pg_try_advisory_xact_lock(" ORGS_PG_SWEEP_LOCK ")", 0, NULL,
                        &res, err);
    }
    if (rv == APR_SUCCESS) {
        *busy = strcmp(PQgetvalue(res, 0, 0), "t") != 0;
        PQclear(res);
        if (*busy) {
            orgs_pg_rollback(pg);
            return APR_SUCCESS;
        }
        /* the writers' lock: the rows judged are every node's last word,
         * and the change set takes its place in the log's order */
        rv = st_pg_exec(pg, "SELECT pg_advisory_xact_lock(" ORGS_PG_LOCK ")", 0, NULL, NULL, err);
    }
    if (rv == APR_SUCCESS) {
        rv = st_pg_exec(pg, sweep_sql[kind], 3, v, &res, err);
    }
    if (rv != APR_SUCCESS) {
        orgs_pg_rollback(pg);
        return rv;
    }
    int read = atoi(PQgetvalue(res, 0, 1));
    const char *gone = PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2);
    *more = read == ORGS_PG_SWEEP_SCAN;
    *from = *more ? apr_pstrdup(p, PQgetvalue(res, 0, 0)) : NULL;
    char *change = gone ? apr_pstrcat(p, "{\"del\":", gone, "}", NULL) : NULL;
    *removed = gone ? (apr_size_t)apr_atoi64(PQgetvalue(res, 0, 3)) : 0;
    PQclear(res);
    if (!change) {
        orgs_pg_rollback(pg); /* nothing deleted: no change set */
        return APR_SUCCESS;
    }
    rv = st_pg_log_commit(pg, change, seq, err);
    if (rv != APR_SUCCESS) {
        orgs_pg_rollback(pg);
        *removed = 0;
    }
    return rv;
}

apr_status_t orgs_pg_sweep(orgs_pg_t *pg, int kind, apr_time_t when, apr_size_t max_batches,
                           const char *from, const char **next, apr_size_t *removed,
                           apr_size_t *sets, int *busy, apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv = APR_SUCCESS;
    int more = 1;
    *removed = 0;
    *sets = 0;
    *busy = 0;
    *next = NULL;
    if (kind != ORGS_PG_SWEEP_INVITES && kind != ORGS_PG_SWEEP_USERS) {
        return orgs_err_set(err, APR_EINVAL, "no such sweep");
    }
    for (apr_size_t b = 0; rv == APR_SUCCESS && more && !*busy && b < max_batches; b++) {
        apr_size_t n = 0;
        apr_int64_t seq = 0;
        rv = sweep_batch(pg, kind, when, &from, &n, &more, busy, &seq, p, err);
        *removed += n;
        *sets += n ? 1 : 0;
    }
    /* a walk that stopped for its bound, or met another node's sweep,
     * goes on from there next time */
    *next = rv == APR_SUCCESS && (more || *busy) ? from : NULL;
    return rv;
}

#else

apr_status_t orgs_pg_sweep(orgs_pg_t *pg, int kind, apr_time_t when, apr_size_t max_batches,
                           const char *from, const char **next, apr_size_t *removed,
                           apr_size_t *sets, int *busy, apr_pool_t *p, orgs_err_t *err)
{
    *removed = 0;
    *sets = 0;
    *busy = 0;
    *next = NULL;
    return orgs_pg_schema_check(pg, err);
}

#endif
