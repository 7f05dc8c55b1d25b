/* [glue] The admin API on a node of a PostgreSQL store: a change is made
 * through the database (pgstore.h, "a node's own writes"). The request is
 * answered by the core in capture mode on the replica (one LMDB write
 * transaction, rolled back), its change set written to the database in one
 * SQL transaction with its change-log row, then applied to the replica so
 * the caller reads its own write; the other nodes follow through the
 * change log. Nothing is half written: the database takes the whole change
 * or none of it, and the replica is changed only after it did. */
#include <apr_strings.h>
#include <http_protocol.h>

#include "private.h"
#include "admin.h"
#include "admin_httpd.h"
#include "pgstore.h"
#include "pgwrite.h"

/* Replaces the answer with an error of the API's shape. */
static void answer(orgs_admin_resp_t *rs, int status, const char *msg)
{
    json_decref(rs->body);
    rs->body = orgs_admin_error(status, msg);
    rs->status = status;
    rs->allow = NULL;
    rs->failed = NULL;
    rs->capped = NULL;
}

static const char *who(const orgs_admin_req_t *rq)
{
    return rq->caller.who ? rq->caller.who : "-";
}

void orgs_pgwrite_admin(request_rec *r, orgs_store_t *st, const orgs_admin_req_t *rq,
                        orgs_admin_resp_t *rs)
{
    orgs_store_capture_t *cap;
    orgs_err_t err = {{0}}, lerr = {{0}};
    char *change = NULL;
    apr_array_header_t *audit = NULL;
    apr_int64_t seq = 0;
    apr_status_t rv = orgs_store_capture_begin(st, &cap, r->pool, &err);

    memset(rs, 0, sizeof(*rs));
    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_ERR, rv,
                        ORGSLOGNO(00862) "admin API: %s %s by %s: the replica cannot run the "
                                         "change: %s",
                        r->method, r->uri, who(rq), err.msg);
        answer(rs, rv == ORGS_ESTOREFULL ? 503 : 500, "the store is not available");
        return;
    }
    orgs_admin_handle(st, rq, rs, r->pool);
    /* an answer that is not a success changed nothing: only rolled back */
    rv = orgs_store_capture_end(st, cap, rs->status < 300, &change, &audit, r->pool, &err);
    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_ERR, rv,
                        ORGSLOGNO(00868) "admin API: %s %s by %s: its change set cannot be "
                                         "read from the replica: %s",
                        r->method, r->uri, who(rq), err.msg);
        answer(rs, 500, "the change could not be prepared; nothing was written");
        return;
    }
    if (rs->status >= 300) {
        return;
    }
    if (change) {
        apr_time_t t0 = apr_time_now();
        rv = orgs_pgwrite_change(r, change, "admin API", &seq, &err);
        if (rv == ORGS_PGWRITE_DOWN) {
            orgs_log_rerror(r, APLOG_ERR, 0,
                            ORGSLOGNO(00863) "admin API: %s %s by %s not made: PostgreSQL "
                                             "cannot be reached (%s); nothing was written",
                            r->method, r->uri, who(rq), err.msg);
            apr_table_setn(r->err_headers_out, "Retry-After", "5");
            answer(rs, 503, "the database is temporarily unavailable; nothing was changed");
            rs->failed = "PostgreSQL cannot be reached";
            return;
        }
        if (rv != APR_SUCCESS) {
            orgs_log_rerror(r, APLOG_WARNING, 0,
                            ORGSLOGNO(00864) "admin API: %s %s by %s refused by PostgreSQL (a "
                                             "concurrent change on another node): %s",
                            r->method, r->uri, who(rq), err.msg);
            answer(rs, 409,
                   apr_pstrcat(r->pool,
                               "a concurrent change conflicts with this one; nothing was "
                               "changed: ",
                               err.msg, NULL));
            return;
        }
        orgs_log_rerror(r, APLOG_INFO, 0,
                        ORGSLOGNO(00865) "admin API: %s %s written to PostgreSQL as change "
                                         "%" APR_INT64_T_FMT " in %" APR_TIME_T_FMT " us",
                        r->method, r->uri, seq, apr_time_now() - t0);
    }
    /* the caller reads its own write now, not after the replicator's round */
    if ((change || audit) &&
        orgs_store_capture_apply_local(st, change, audit, r->pool, &lerr) != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00866) "admin API: %s %s written to PostgreSQL but not yet to "
                                         "this node's replica (the replicator brings it): %s",
                        r->method, r->uri, lerr.msg);
    }
}
