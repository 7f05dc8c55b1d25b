/* A node of a PostgreSQL store: OrgsStore postgresql://... and
 * OrgsStoreReplica, and the replicator process (replica.h).
 *
 * The replicator is one process per replica directory, forked by httpd's
 * parent in post_config like mod_cgid's daemon: it runs as the children's
 * user, is killed with the configuration pool (restart, stop), and is
 * started again when it dies (apr_proc_other_child). It applies the
 * database's change log to the replica (pg_sync.c); the children only read
 * the replica, so the request path never touches the network. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_file_info.h>
#include <apr_strings.h>
#include <apr_signal.h>
#include <apr_thread_proc.h>

#include <http_core.h>
#include <http_log.h>
#include <mpm_common.h>

#include "private.h"
#include "replica.h"

/* The longest a missed notification delays a change on this node. */
#define REPL_POLL_MS 1000

const char *orgs_replica_set_source(cmd_parms *cmd, const char *uri)
{
    orgs_srv_cfg_t *sc = orgs_srv_cfg(cmd->server);
    orgs_err_t err = {{0}};
    if (orgs_pg_uri_check(uri, cmd->temp_pool, &err) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: %s (got '%s')", cmd->cmd->name, err.msg,
                            orgs_pg_uri_display(uri, cmd->temp_pool));
    }
    sc->store_pg = uri;
    sc->store_dir = sc->store_replica;
    return NULL;
}

const char *orgs_replica_set_dir(cmd_parms *cmd, void *dummy, const char *arg)
{
    orgs_srv_cfg_t *sc = orgs_srv_cfg(cmd->server);
    const char *path = ap_server_root_relative(cmd->pool, arg);
    apr_finfo_t fi;
    if (!*arg || !path || apr_stat(&fi, path, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS ||
        fi.filetype != APR_DIR) {
        return apr_psprintf(cmd->pool,
                            "%s: not a directory, or it does not exist or is not accessible "
                            "(got '%s')",
                            cmd->cmd->name, arg);
    }
    sc->store_replica = path;
    if (sc->store_pg) {
        sc->store_dir = path;
    }
    return NULL;
}

int orgs_replica_check(server_rec *s, const orgs_srv_cfg_t *sc)
{
    if (sc->store_pg && !sc->store_replica) {
        orgs_log_error(s, APLOG_CRIT, 0,
                       ORGSLOGNO(00830) "OrgsStoreReplica: required with OrgsStore %s (the "
                                        "node's local copy that requests read)",
                       orgs_pg_uri_display(sc->store_pg, s->process->pconf));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (sc->store_replica && (!sc->store_pg || strcmp(sc->store_dir, sc->store_replica) != 0)) {
        orgs_log_error(s, APLOG_CRIT, 0,
                       ORGSLOGNO(00831) "OrgsStoreReplica: %s is a replica of a PostgreSQL "
                                        "store: give OrgsStore postgresql://... (not a "
                                        "directory)",
                       sc->store_replica);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/* ---- the replicator process -------------------------------------------- */

typedef struct {
    server_rec *s;
    const orgs_srv_cfg_t *sc;
    apr_pool_t *pconf;
    apr_proc_t proc;
} repl_t;

static volatile sig_atomic_t repl_stop;
static pid_t repl_parent;

static void repl_on_signal(int sig)
{
    (void)sig;
    repl_stop = 1;
}

/* Runs until told to stop or the parent is gone. */
static int repl_keep_going(void *ctx)
{
    (void)ctx;
    return !repl_stop && getppid() == repl_parent;
}

static void repl_report(void *ctx, orgs_repl_event_t ev, apr_status_t rv, const char *msg)
{
    const repl_t *r = ctx;
    const char *db = orgs_pg_uri_display(r->sc->store_pg, r->pconf);
    switch (ev) {
    case ORGS_REPL_CONNECTED:
        orgs_log_error(r->s, APLOG_INFO, 0, ORGSLOGNO(00836) "OrgsStoreReplica %s: replicating %s",
                       r->sc->store_replica, msg);
        break;
    case ORGS_REPL_DOWN:
        orgs_log_error(r->s, APLOG_ERR, rv,
                       ORGSLOGNO(00837) "OrgsStore %s: PostgreSQL cannot be reached (%s); "
                                        "requests are served from the replica %s as it is, "
                                        "trying again every second",
                       db, msg, r->sc->store_replica);
        break;
    case ORGS_REPL_REBUILT:
        orgs_log_error(r->s, APLOG_NOTICE, 0,
                       ORGSLOGNO(00838) "OrgsStoreReplica %s: rebuilt from %s (%s)",
                       r->sc->store_replica, db, msg);
        break;
    case ORGS_REPL_FAILED:
        orgs_log_error(r->s, APLOG_ERR, rv,
                       ORGSLOGNO(00839) "OrgsStoreReplica %s: replication from %s failed: %s",
                       r->sc->store_replica, db, msg);
        break;
    case ORGS_REPL_APPLIED:
        orgs_log_error(r->s, APLOG_DEBUG, 0, ORGSLOGNO(00840) "OrgsStoreReplica %s: %s applied",
                       r->sc->store_replica, msg);
        break;
    }
}

static void repl_child(repl_t *r)
{
    apr_pool_t *p;
    orgs_store_t *st;
    orgs_err_t err = {{0}};
    apr_signal(SIGTERM, repl_on_signal);
    apr_signal(SIGINT, repl_on_signal);
    apr_signal(SIGHUP, repl_on_signal);
    apr_signal(SIGUSR1, repl_on_signal);
    apr_signal(SIGWINCH, repl_on_signal);
    apr_signal(SIGCHLD, SIG_DFL);
    apr_signal(SIGPIPE, SIG_IGN);
    apr_pool_create(&p, r->pconf);
    if (ap_run_drop_privileges(p, r->s) != 0) {
        orgs_log_error(r->s, APLOG_ERR, 0,
                       ORGSLOGNO(00841) "OrgsStoreReplica %s: the replicator cannot take the "
                                        "children's user",
                       r->sc->store_replica);
        _exit(APEXIT_CHILDFATAL);
    }
    apr_status_t rv = orgs_store_open(&st, r->sc->store_dir, r->sc->store_max_size, 0,
                                      ORGS_STORE_CREATE, r->sc->keys, p, &err);
    if (rv != APR_SUCCESS) {
        orgs_log_error(r->s, APLOG_ERR, rv,
                       ORGSLOGNO(00835) "OrgsStoreReplica %s: the replicator cannot open it: %s",
                       r->sc->store_replica, err.msg);
        _exit(APEXIT_CHILDFATAL);
    }
    orgs_repl_t cfg = {r->sc->store_pg, st, REPL_POLL_MS, repl_keep_going, repl_report, r};
    orgs_pg_replicate(&cfg, p);
    orgs_store_close(st);
    _exit(0);
}

static apr_status_t repl_fork(repl_t *r);

/* Started again when it dies; nothing to do when httpd restarts (the
 * configuration pool's cleanup kills it and a new one starts). */
static void repl_maintenance(int reason, void *data, apr_wait_t status)
{
    repl_t *r = data;
    if (reason != APR_OC_REASON_DEATH && reason != APR_OC_REASON_LOST) {
        if (reason == APR_OC_REASON_UNREGISTER) {
            kill(r->proc.pid, SIGTERM);
        }
        return;
    }
    apr_proc_other_child_unregister(data);
    orgs_log_error(r->s, APLOG_WARNING, 0,
                   ORGSLOGNO(00834) "OrgsStoreReplica %s: the replicator (pid %ld) exited "
                                    "(status %d): starting it again",
                   r->sc->store_replica, (long)r->proc.pid, (int)status);
    repl_fork(r);
}

static apr_status_t repl_fork(repl_t *r)
{
    repl_parent = getpid();
    apr_status_t rv = apr_proc_fork(&r->proc, r->pconf);
    if (rv == APR_INCHILD) {
        repl_child(r); /* never returns */
    }
    if (rv != APR_INPARENT) {
        orgs_log_error(r->s, APLOG_CRIT, rv,
                       ORGSLOGNO(00833) "OrgsStoreReplica %s: cannot start the replicator",
                       r->sc->store_replica);
        return rv;
    }
    apr_pool_note_subprocess(r->pconf, &r->proc, APR_KILL_AFTER_TIMEOUT);
    apr_proc_other_child_register(&r->proc, repl_maintenance, r, NULL, r->pconf);
    orgs_log_error(r->s, APLOG_INFO, 0,
                   ORGSLOGNO(00832) "OrgsStoreReplica %s: replicator started (pid %ld)",
                   r->sc->store_replica, (long)r->proc.pid);
    return APR_SUCCESS;
}

int orgs_replica_start(apr_pool_t *pconf, server_rec *s)
{
    /* the first configuration pass only checks: no process yet */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    for (server_rec *vs = s; vs; vs = vs->next) {
        const orgs_srv_cfg_t *sc = orgs_srv_cfg(vs);
        int seen = 0;
        if (!sc->store_pg) {
            continue;
        }
        for (server_rec *ps = s; ps != vs && !seen; ps = ps->next) {
            const orgs_srv_cfg_t *pc = orgs_srv_cfg(ps);
            seen = pc->store_pg && strcmp(pc->store_dir, sc->store_dir) == 0;
        }
        if (seen) {
            continue;
        }
        repl_t *r = apr_pcalloc(pconf, sizeof(*r));
        r->s = vs;
        r->sc = sc;
        r->pconf = pconf;
        if (repl_fork(r) != APR_SUCCESS) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}
