/* Pruning of the change log (pgstore.h): the rows no replica that is
 * close to current needs any more go; the newest of them stays as a reset
 * marker, so a replica whose position is before it (a node down for
 * longer than the retention) reads the marker next and rebuilds from a
 * snapshot instead of skipping what was pruned. Positions cannot tell a
 * pruned stretch from the gaps a sequence has anyway (a rolled-back
 * write uses a number), so the marker is what tells. */
#include "orgs_build.h"

#include <apr_strings.h>

#include "pg_int.h"

#ifdef ORGS_HAVE_LIBPQ

/* The newest row both rules allow to go (*upto, 0 when none): older than
 * age seconds (-1: any age) and not among the newest keep rows (-1: any). */
static apr_status_t prune_point(orgs_pg_t *pg, apr_int64_t age_sec, apr_int64_t keep,
                                apr_int64_t *upto, apr_pool_t *p, orgs_err_t *err)
{
    const char *vals[2] = {apr_psprintf(p, "%" APR_INT64_T_FMT, age_sec),
                           apr_psprintf(p, "%" APR_INT64_T_FMT, keep)};
    PGresult *res;
    apr_status_t rv =
        st_pg_exec(pg,
                   "SELECT coalesce(max(seq), 0) FROM change_log WHERE "
                   "($1::bigint < 0 OR at < now() - $1::bigint * interval '1 second') AND "
                   "($2::bigint < 0 OR seq <= (SELECT seq FROM change_log ORDER BY seq DESC "
                   "OFFSET $2::bigint LIMIT 1))",
                   2, vals, &res, err);
    if (rv == APR_SUCCESS) {
        *upto = apr_atoi64(PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    return rv;
}

apr_status_t orgs_pg_log_prune(orgs_pg_t *pg, apr_interval_time_t older_than, apr_int64_t keep,
                               apr_size_t *removed, apr_int64_t *upto, apr_pool_t *p,
                               orgs_err_t *err)
{
    const char *n;
    PGresult *res;
    apr_status_t rv = st_pg_exec(pg, "BEGIN", 0, NULL, NULL, err);

    *removed = 0;
    *upto = 0;
    /* under the writers' lock: no write commits between the choice and the delete */
    if (rv == APR_SUCCESS) {
        rv = st_pg_exec(pg, "SELECT pg_advisory_xact_lock(" ORGS_PG_LOCK ")", 0, NULL, NULL, err);
    }
    if (rv == APR_SUCCESS) {
        rv = prune_point(pg, older_than >= 0 ? apr_time_sec(older_than) : -1, keep, upto, p, err);
    }
    n = apr_psprintf(p, "%" APR_INT64_T_FMT, *upto);
    if (rv == APR_SUCCESS && *upto > 0) {
        rv = st_pg_exec(pg, "DELETE FROM change_log WHERE seq < $1::bigint", 1, &n, &res, err);
        if (rv == APR_SUCCESS) {
            *removed = (apr_size_t)apr_atoi64(PQcmdTuples(res));
            PQclear(res);
        }
    }
    if (rv == APR_SUCCESS && *upto > 0) {
        /* the newest pruned change becomes the marker: a replica before it rebuilds */
        rv = st_pg_exec(pg,
                        "UPDATE change_log SET payload = '{\"reset\":true,\"pruned\":true}' "
                        "WHERE seq = $1::bigint AND payload <> '{\"reset\":true,\"pruned\":true}'",
                        1, &n, &res, err);
        if (rv == APR_SUCCESS) {
            *removed += (apr_size_t)apr_atoi64(PQcmdTuples(res));
            PQclear(res);
        }
    }
    if (rv == APR_SUCCESS) {
        return st_pg_exec(pg, "COMMIT", 0, NULL, NULL, err);
    }
    orgs_pg_rollback(pg);
    *removed = 0;
    return rv;
}

apr_status_t orgs_pg_log_head(orgs_pg_t *pg, apr_int64_t *seq, orgs_err_t *err)
{
    PGresult *res;
    apr_status_t rv = orgs_pg_schema_check(pg, err);
    *seq = 0;
    if (rv == APR_SUCCESS) {
        rv = st_pg_exec(pg, "SELECT coalesce(max(seq), 0) FROM change_log", 0, NULL, &res, err);
    }
    if (rv == APR_SUCCESS) {
        *seq = apr_atoi64(PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    return rv;
}

#else

apr_status_t orgs_pg_log_prune(orgs_pg_t *pg, apr_interval_time_t older_than, apr_int64_t keep,
                               apr_size_t *removed, apr_int64_t *upto, apr_pool_t *p,
                               orgs_err_t *err)
{
    *removed = 0;
    *upto = 0;
    return orgs_pg_schema_check(pg, err);
}

apr_status_t orgs_pg_log_head(orgs_pg_t *pg, apr_int64_t *seq, orgs_err_t *err)
{
    *seq = 0;
    return orgs_pg_schema_check(pg, err);
}

#endif
