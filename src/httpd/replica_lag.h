/* [glue] The lag bound of a replica (replica_lag.c): OrgsReplicaMaxLag. A
 * node whose replicator has not confirmed for longer than the bound that
 * its replica holds every change of the database (the database cannot be
 * reached, or the node cannot keep up) refuses to start sessions, which
 * would rest on revocations it may not have seen. Sessions already
 * started keep being served from the replica as it is. */
#ifndef ORGS_HTTPD_REPLICA_LAG_H
#define ORGS_HTTPD_REPLICA_LAG_H

#include <httpd.h>
#include <http_config.h>

#include "store.h"

/* The default bound. */
#define ORGS_DEFAULT_REPLICA_MAX_LAG apr_time_from_sec(30)

/* OrgsReplicaMaxLag DURATION | off. */
const char *orgs_replica_lag_set(cmd_parms *cmd, void *dummy, const char *arg);

/* DECLINED when this server may start a session now (an LMDB-only store,
 * the bound off, or the replica confirmed current within the bound); else
 * the 503 page already sent (Retry-After, logged at most every few
 * seconds per process). */
int orgs_replica_lag_gate(request_rec *r, orgs_store_t *st, const char *return_to);

#endif
