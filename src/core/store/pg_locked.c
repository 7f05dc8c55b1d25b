/* PostgreSQL: a node's write made holding the writers' lock from before
 * its replica is brought up to the change log (pgstore.h). The last
 * attempt of a write that kept finding the log moved on: under the lock
 * the log's end is final, so the change set computed on the replica
 * brought there cannot be stale, whatever the other writers do. */
#include "orgs_build.h"

#include <apr_strings.h>

#include "pg_int.h"

#ifdef ORGS_HAVE_LIBPQ

apr_status_t orgs_pg_write_lock(orgs_pg_t *pg, apr_int64_t *end, orgs_err_t *err)
{
    PGresult *res;
    apr_status_t rv = st_pg_exec(pg, "BEGIN", 0, NULL, NULL, err);
    *end = 0;
    if (rv == APR_SUCCESS) {
        rv = st_pg_exec(pg, "SELECT pg_advisory_xact_lock(" ORGS_PG_LOCK ")", 0, NULL, NULL, err);
    }
    if (rv == APR_SUCCESS) {
        rv = st_pg_exec(pg, "SELECT coalesce(max(seq), 0) FROM change_log", 0, NULL, &res, err);
    }
    if (rv != APR_SUCCESS) {
        orgs_pg_rollback(pg);
        return rv;
    }
    *end = apr_atoi64(PQgetvalue(res, 0, 0));
    PQclear(res);
    return APR_SUCCESS;
}

apr_status_t orgs_pg_write_locked(orgs_pg_t *pg, const char *change, apr_int64_t end,
                                  const char **written, apr_int64_t *seq, apr_pool_t *p,
                                  orgs_err_t *err)
{
    json_t *set = json_loads(change, 0, NULL);
    const json_t *b = json_object_get(set, "base");
    apr_int64_t base = json_is_integer(b) ? (apr_int64_t)json_integer_value(b) : end;
    json_decref(set);
    /* the replica the change set was computed on must have every change
     * of the log: one that is not there yet would be overwritten */
    if (base != end) {
        orgs_pg_rollback(pg);
        *seq = end;
        return orgs_err_set(err, ORGS_PG_ESTALE,
                            "computed on a replica at change %" APR_INT64_T_FMT
                            " under the lock, the change log is at %" APR_INT64_T_FMT,
                            base, end);
    }
    return st_pg_write_commit(pg, change, written, seq, p, err);
}

#else

apr_status_t orgs_pg_write_lock(orgs_pg_t *pg, apr_int64_t *end, orgs_err_t *err)
{
    *end = 0;
    return orgs_pg_schema_check(pg, err);
}

apr_status_t orgs_pg_write_locked(orgs_pg_t *pg, const char *change, apr_int64_t end,
                                  const char **written, apr_int64_t *seq, apr_pool_t *p,
                                  orgs_err_t *err)
{
    *written = NULL;
    *seq = 0;
    return orgs_pg_schema_check(pg, err);
}

#endif
