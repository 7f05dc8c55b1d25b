/* [glue] The admin API on a node of a PostgreSQL store: a change is made
 * through the database (pgstore.h, "a node's own writes"). The request is
 * answered by the core in capture mode on the replica (one LMDB write
 * transaction, rolled back), its change set written to the database in one
 * SQL transaction with its change-log row, then applied to the replica so
 * the caller reads its own write; the other nodes follow through the
 * change log. Nothing is half written: the database takes the whole change
 * or none of it, and the replica is changed only after it did. */
#include <string.h>

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

static int deleting(const orgs_admin_req_t *rq)
{
    return strcmp(rq->method, "DELETE") == 0;
}

/* One answer of the core in capture mode: its change set and audit texts,
 * none when the answer is not a success (only rolled back). */
typedef struct {
    request_rec *r;
    orgs_store_t *st;
    const orgs_admin_req_t *rq;
    orgs_admin_resp_t *rs;
    apr_array_header_t *audit;
    int failed; /* logged and answered */
} admin_run_t;

static apr_status_t admin_capture(void *baton, char **change, orgs_err_t *err)
{
    admin_run_t *a = baton;
    request_rec *r = a->r;
    orgs_store_capture_t *cap;
    /* a deletion runs as the store's own do: through its reserve when full */
    apr_status_t rv = deleting(a->rq) ? orgs_store_capture_begin_release(a->st, &cap, r->pool, err)
                                      : orgs_store_capture_begin(a->st, &cap, r->pool, err);

    *change = NULL;
    a->audit = NULL;
    if (a->rs->body) {
        json_decref(a->rs->body); /* the answer of a capture on an older replica */
    }
    memset(a->rs, 0, sizeof(*a->rs));
    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_ERR, rv,
                        ORGSLOGNO(00862) "admin API: %s %s by %s: the replica cannot run the "
                                         "change: %s",
                        r->method, r->uri, who(a->rq), err->msg);
        answer(a->rs, rv == ORGS_ESTOREFULL ? 503 : 500, "the store is not available");
        a->failed = 1;
        return APR_SUCCESS;
    }
    orgs_admin_handle(a->st, a->rq, a->rs, r->pool);
    rv = orgs_store_capture_end(a->st, cap, a->rs->status < 300, change, &a->audit, r->pool, err);
    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_ERR, rv,
                        ORGSLOGNO(00868) "admin API: %s %s by %s: its change set cannot be "
                                         "read from the replica: %s",
                        r->method, r->uri, who(a->rq), err->msg);
        answer(a->rs, 500, "the change could not be prepared; nothing was written");
        a->failed = 1;
        *change = NULL;
    }
    return APR_SUCCESS;
}

void orgs_pgwrite_admin(request_rec *r, orgs_store_t *st, const orgs_admin_req_t *rq,
                        orgs_admin_resp_t *rs)
{
    admin_run_t a = {r, st, rq, rs, NULL, 0};
    orgs_err_t err = {{0}}, lerr = {{0}};
    char *first = NULL;
    const char *change;
    apr_int64_t seq = 0;
    apr_time_t t0;
    apr_status_t rv;

    memset(rs, 0, sizeof(*rs));
    (void)admin_capture(&a, &first, &err);
    if (a.failed || rs->status >= 300) {
        return;
    }
    change = first;
    if (change) {
        /* computed again on the replica brought up to the change log when
         * another node wrote meanwhile: never written from an older state */
        t0 = apr_time_now();
        rv = orgs_pgwrite_fresh(r, st, "admin API", admin_capture, &a, &change, &seq, &err);
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
        if (rv == ORGS_PGWRITE_BUSY) {
            /* logged (ORGS00871 or ORGS00846), Retry-After set */
            answer(rs, 503, "the database is busy; nothing was changed, try again");
            rs->failed = "PostgreSQL is busy";
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
        if (a.failed || rs->status >= 300) {
            return; /* computed again, it is an error now (e.g. the name taken meanwhile) */
        }
        if (change) {
            orgs_log_rerror(r, APLOG_INFO, 0,
                            ORGSLOGNO(00865) "admin API: %s %s written to PostgreSQL as change "
                                             "%" APR_INT64_T_FMT " in %" APR_TIME_T_FMT " us",
                            r->method, r->uri, seq, apr_time_now() - t0);
        }
    }
    /* the caller reads its own write now, not after the replicator's round */
    if ((change || a.audit) && orgs_store_capture_apply_at(st, change, a.audit, seq, deleting(rq),
                                                           r->pool, &lerr) != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00866) "admin API: %s %s written to PostgreSQL but not yet to "
                                         "this node's replica (the replicator brings it): %s",
                        r->method, r->uri, lerr.msg);
    }
}
