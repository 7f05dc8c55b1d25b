/* What pg*.c share: the connection handle and libpq helpers. The only
 * header that includes libpq; nothing outside pg*.c includes it. */
#ifndef ORGS_PG_INT_H
#define ORGS_PG_INT_H

#include "orgs_build.h"
#include "pgstore.h"

/* The advisory lock every writer takes (two int4 keys: "orgs", 1). */
#define ORGS_PG_LOCK "1869768563, 1"

#ifdef ORGS_HAVE_LIBPQ
#include <libpq-fe.h>

struct orgs_pg_t {
    PGconn *conn;
    apr_pool_t *pool;
    void *slot;      /* its place in an orgs_pg_pool_t (pg_session.c), or NULL */
    int deadline_ms; /* > 0: each statement's answer awaited at most this long */
    int dead;        /* given up (no answer in time): not used again */
};

void st_pg_notice_ignore(void *arg, const char *msg);
/* Runs sql with n text parameters; *out the result when asked (PQclear
 * it), else cleared. Failures as st_pg_fail_res. */
apr_status_t st_pg_exec(orgs_pg_t *pg, const char *sql, int n, const char *const *vals,
                        PGresult **out, orgs_err_t *err);
apr_status_t st_pg_fail_res(orgs_pg_t *pg, PGresult *res, orgs_err_t *err, const char *what);
apr_status_t st_pg_fail(orgs_pg_t *pg, orgs_err_t *err, const char *what);
/* orgs_pg_write_commit, *written (when asked) the change set as the change
 * log keeps it (NULL when nothing was written). */
apr_status_t st_pg_write_commit(orgs_pg_t *pg, const char *change, const char **written,
                                apr_int64_t *seq, apr_pool_t *p, orgs_err_t *err);
/* pg_count.c: a change set's counter increments ("count": the usage of
 * an org's day; "new_user": one new user of a connection, with its
 * OrgsMaxNewUsersPerMinute) added to their rows inside the write's
 * transaction, and replaced in set by the rows' values ("counters").
 * ORGS_PG_EQUOTA when the connection's minute is at its limit. */
/* Also there, for the database only (removed from set): a sealed pending
 * login's use ("pending_used": its state's hash, its owner, the owner's
 * cap and the time its cookie expires) recorded, ORGS_PG_EUSED when it
 * was used already, ORGS_PG_EMARKS past the owner's cap; orgctl's
 * audit records ("audit": their texts) kept in audit_log. *changed: set
 * differs from the text it was read from. */
apr_status_t st_pg_counts_write(orgs_pg_t *pg, json_t *set, int *changed, orgs_err_t *err);
/* Inside a transaction that holds the writers' lock and made its rows'
 * changes: the change_log row of payload (*seq its number), the NOTIFY,
 * COMMIT (pg_write.c). */
apr_status_t st_pg_log_commit(orgs_pg_t *pg, const char *payload, apr_int64_t *seq,
                              orgs_err_t *err);
#endif

#endif
