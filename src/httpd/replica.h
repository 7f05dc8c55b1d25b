/* A node of a PostgreSQL store (OrgsStore postgresql://... with
 * OrgsStoreReplica DIR): the directives, their checks, and the one
 * replicator process per node that keeps DIR's LMDB store a replica of the
 * database. Requests read the replica only (store_dir is DIR). */
#ifndef ORGS_HTTPD_REPLICA_H
#define ORGS_HTTPD_REPLICA_H

#include <httpd.h>
#include <http_config.h>

#include "config.h"
#include "pgstore.h"

/* OrgsStore postgresql://...: the URI checked (no password in it). */
const char *orgs_replica_set_source(cmd_parms *cmd, const char *uri);
/* OrgsStoreReplica DIR. */
const char *orgs_replica_set_dir(cmd_parms *cmd, void *dummy, const char *arg);
/* One needs the other (check_config); logs and returns non-OK when not. */
int orgs_replica_check(server_rec *s, const orgs_srv_cfg_t *sc);
/* post_config: starts (and supervises) one replicator per replica
 * directory, except in the configuration pass before the real start. */
int orgs_replica_start(apr_pool_t *pconf, server_rec *s);

#endif
