/* [glue] The lag bound of a replica (replica_lag.h). The replicator
 * records in the replica the time it last read the database's change log
 * to its end (about every second while it is connected); the login start
 * and the callback compare it with OrgsReplicaMaxLag. One LMDB read. */
#include <apr_strings.h>
#include <http_protocol.h>

#include "private.h"
#include "parse.h"
#include "pgstore.h"
#include "endpoints.h"
#include "replica_lag.h"

/* The fewest seconds between two log lines of one process about it: a
 * lagging node refuses every sign-in, and must not flood the log. */
#define LAG_LOG_EVERY apr_time_from_sec(10)

const char *orgs_replica_lag_set(cmd_parms *cmd, void *dummy, const char *arg)
{
    orgs_srv_cfg_t *sc = orgs_srv_cfg(cmd->server);
    orgs_err_t err = {{0}};
    apr_interval_time_t t;

    (void)dummy;
    if (strcasecmp(arg, "off") == 0) {
        sc->replica_max_lag = 0;
        return NULL;
    }
    if (orgs_parse_duration(arg, &t, &err) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: %s, or 'off' (got '%s')", cmd->cmd->name, err.msg, arg);
    }
    if (t < apr_time_from_sec(2)) {
        /* the replicator confirms about every second */
        return apr_psprintf(cmd->pool, "%s: at least 2s, or 'off' (got '%s')", cmd->cmd->name, arg);
    }
    sc->replica_max_lag = t;
    return NULL;
}

/* One line per LAG_LOG_EVERY and process (a benign race between threads
 * costs at most one more line). */
static int log_due(apr_time_t now)
{
    static volatile apr_time_t last;
    if (last && now - last < LAG_LOG_EVERY) {
        return 0;
    }
    last = now;
    return 1;
}

int orgs_replica_lag_gate(request_rec *r, orgs_store_t *st, const char *return_to)
{
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    apr_time_t at = 0, now = apr_time_now();
    orgs_err_t err = {{0}};
    apr_status_t rv;

    if (!sc->store_pg || sc->replica_max_lag <= 0) {
        return DECLINED;
    }
    rv = orgs_store_replica_confirmed(st, &at, &err);
    if (rv == APR_SUCCESS && at > 0 && now - at <= sc->replica_max_lag) {
        return DECLINED;
    }
    if (log_due(now)) {
        if (rv != APR_SUCCESS) {
            orgs_log_rerror(r, APLOG_ERR, rv,
                            ORGSLOGNO(00861) "OrgsReplicaMaxLag: cannot read when the replica %s "
                                             "was last current (%s): new sign-ins answered 503",
                            sc->store_replica, err.msg);
        } else {
            orgs_log_rerror(
                r, APLOG_WARNING, 0,
                ORGSLOGNO(00860) "OrgsReplicaMaxLag: the replica %s was last confirmed current "
                                 "%s (bound %" APR_TIME_T_FMT "s): new sign-ins answered 503, "
                                 "signed-in users keep being served",
                sc->store_replica,
                at > 0 ? apr_psprintf(r->pool, "%" APR_TIME_T_FMT "s ago", apr_time_sec(now - at))
                       : "never",
                apr_time_sec(sc->replica_max_lag));
        }
    }
    apr_table_setn(r->err_headers_out, "Retry-After", "5");
    return orgs_endpoints_error_send(r, HTTP_SERVICE_UNAVAILABLE, "temporarily_unavailable",
                                     "Signing in is paused on this server while it catches up "
                                     "with the others. Please try again in a few seconds.",
                                     return_to ? return_to : "/");
}
