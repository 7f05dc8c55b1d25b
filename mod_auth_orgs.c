/* [glue] mod_auth_orgs: the module record and the process-level hooks.
 * It delegates only: directives live in src/httpd/config.c, the request path in
 * src/httpd/{authn,authz,endpoints,env}.c, each registering its
 * own hooks and providers from register_hooks below. */
#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <ap_mpm.h>
#include <unixd.h>

#include "orgs.h"
#include "crypto.h"
#include "store.h"
#include "config.h"
#include "private.h"
#include "authn.h"
#include "authz.h"
#include "endpoints.h"
#include "env.h"
#include "fixups.h"
#include "status.h"
#include "shared.h"
#include "admin_httpd.h"
#include "replica.h"
#include "backchan.h"

/* Reader slots beyond httpd's own threads: orgctl runs and old children
 * still draining after a graceful restart. */
#define ORGS_READERS_SPARE 64
#define ORGS_READERS_MIN 512
#define ORGS_READERS_MAX 65536

/* LMDB's reader table is shared by every process using the environment and
 * sized by whoever creates the lock file: room for one read transaction per
 * possible httpd thread (MDB_NOTLS: slots belong to transactions). */
static unsigned max_readers(void)
{
    int threads = 0, daemons = 0;
    apr_uint64_t n;

    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS || threads < 1) {
        threads = 1;
    }
    if (ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &daemons) != APR_SUCCESS || daemons < 1) {
        daemons = 1;
    }
    n = (apr_uint64_t)threads * (apr_uint64_t)daemons + ORGS_READERS_SPARE;
    if (n < ORGS_READERS_MIN) {
        n = ORGS_READERS_MIN;
    }
    return n > ORGS_READERS_MAX ? ORGS_READERS_MAX : (unsigned)n;
}

static int orgs_hook_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                  server_rec *s)
{
    return orgs_config_check(pconf, ptemp, s);
}

/* Keys are derived once per distinct OrgsCryptoKey into pconf (cleansed
 * when pconf goes at restart), shared by the servers naming the same one. */
static int derive_keys(apr_pool_t *pconf, server_rec *s)
{
    for (server_rec *vs = s; vs; vs = vs->next) {
        orgs_srv_cfg_t *sc = orgs_srv_cfg(vs);
        orgs_crypto_keys_t *keys;
        orgs_err_t err = {{0}};
        apr_status_t rv;

        /* vhosts without Orgs directives may share the main server's record */
        if (sc->keys || !sc->key_source) {
            continue;
        }
        for (server_rec *ps = s; ps != vs && !sc->keys; ps = ps->next) {
            const orgs_srv_cfg_t *pc = orgs_srv_cfg(ps);
            if (pc->key_source && strcmp(pc->key_source, sc->key_source) == 0) {
                sc->keys = pc->keys;
            }
        }
        if (sc->keys) {
            continue;
        }
        rv = orgs_crypto_keys_load(&keys, sc->key_source, pconf, &err);
        if (rv != APR_SUCCESS) {
            orgs_log_error(vs, APLOG_CRIT, rv,
                           ORGSLOGNO(00010) "OrgsCryptoKey: cannot load the key: %s", err.msg);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        sc->keys = keys;
    }
    return OK;
}

/* A wrong OrgsCryptoKey stops the start: it would fail every sign-in with
 * the store's connection secrets and mint cookies another key checks. A
 * store without a check value gets this key's when the key proves itself
 * (store.h). */
static apr_status_t check_store_key(orgs_store_t *st, server_rec *s, const char *dir)
{
    orgs_store_key_state_t state;
    orgs_err_t err = {{0}};
    apr_status_t rv = orgs_store_key_check(st, 1, &state, &err);
    if (rv == ORGS_ENOKEY) {
        return APR_SUCCESS; /* no OrgsCryptoKey here: orgs_config_check's to report */
    }
    if (rv != APR_SUCCESS) {
        orgs_log_error(s, APLOG_CRIT, rv,
                       ORGSLOGNO(00632) "OrgsStore %s: cannot check OrgsCryptoKey: %s", dir,
                       err.msg);
        return rv;
    }
    if (state == ORGS_STORE_KEY_WRONG) {
        orgs_log_error(s, APLOG_CRIT, 0,
                       ORGSLOGNO(00630) "OrgsStore %s: OrgsCryptoKey is not this store's key "
                                        "(its key check value differs, or none of its client "
                                        "secrets decrypts): give the key the store was "
                                        "created with; httpd does not start",
                       dir);
        return ORGS_ECRYPTO;
    }
    if (state == ORGS_STORE_KEY_RECORDED) {
        orgs_log_error(s, APLOG_NOTICE, 0,
                       ORGSLOGNO(00631) "OrgsStore %s: recorded the key check value of "
                                        "OrgsCryptoKey (the store had none)",
                       dir);
    }
    return APR_SUCCESS;
}

/* Opens and closes each store once in the parent, so a store that cannot
 * be opened (permissions, newer format, corrupt) stops the start with a
 * clear message instead of failing in every child. Nothing stays open
 * across fork. */
static int probe_stores(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    for (server_rec *vs = s; vs; vs = vs->next) {
        orgs_srv_cfg_t *sc = orgs_srv_cfg(vs);
        orgs_store_t *st;
        orgs_err_t err = {{0}};
        apr_status_t rv;
        apr_uint64_t recorded, used;
        int seen = 0;

        if (!sc->store_dir) {
            continue;
        }
        for (server_rec *ps = s; ps != vs && !seen; ps = ps->next) {
            const char *dir = orgs_srv_cfg(ps)->store_dir;
            seen = dir && strcmp(dir, sc->store_dir) == 0;
        }
        if (seen) {
            continue;
        }
        /* as the children will open it, before root creates anything */
        rv = orgs_store_check_access(sc->store_dir, ap_unixd_config.user_id,
                                     ap_unixd_config.group_id, ptemp, &err);
        if (rv != APR_SUCCESS) {
            orgs_log_error(vs, APLOG_CRIT, rv,
                           ORGSLOGNO(00601) "OrgsStore %s: the children could not use the store: "
                                            "%s",
                           sc->store_dir, err.msg);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        /* more data than OrgsStoreMaxSize maps (grown by orgctl
         * --max-size): LMDB maps the data's size, with no room for inserts */
        if (orgs_store_file_info(sc->store_dir, &recorded, &used, ptemp, &err) == APR_SUCCESS &&
            used > sc->store_max_size) {
            orgs_log_error(vs, APLOG_WARNING, 0,
                           ORGSLOGNO(00602) "OrgsStore %s: the store holds %" APR_UINT64_T_FMT
                                            " bytes, more than OrgsStoreMaxSize (%" APR_UINT64_T_FMT
                                            "): it is full until OrgsStoreMaxSize is raised to "
                                            "the size given to orgctl --max-size",
                           sc->store_dir, used, sc->store_max_size);
        }
        rv = orgs_store_open(&st, sc->store_dir, sc->store_max_size, max_readers(),
                             ORGS_STORE_CREATE | ORGS_STORE_MAP_RECORD, sc->keys, ptemp, &err);
        if (rv != APR_SUCCESS) {
            orgs_log_error(vs, APLOG_CRIT, rv,
                           ORGSLOGNO(00011) "OrgsStore %s: cannot open the store: %s",
                           sc->store_dir, err.msg);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        rv = check_store_key(st, vs, sc->store_dir);
        orgs_store_close(st);
        if (rv != APR_SUCCESS) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        /* what the children map, for orgctl --max-size to check against,
         * held until the next restart records it again */
        if (orgs_store_maplimit_hold(sc->store_dir, sc->store_max_size, pconf, &err) !=
            APR_SUCCESS) {
            orgs_log_error(vs, APLOG_WARNING, 0,
                           ORGSLOGNO(00603) "OrgsStore %s: cannot record the map size the "
                                            "children accept, so orgctl --max-size cannot "
                                            "check it against OrgsStoreMaxSize: %s",
                           sc->store_dir, err.msg);
        }
        orgs_log_error(vs, APLOG_DEBUG, 0, ORGSLOGNO(00012) "OrgsStore %s: usable", sc->store_dir);
    }
    return OK;
}

static int orgs_hook_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                 server_rec *s)
{
    if (derive_keys(pconf, s) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    orgs_status_post_config(pconf, s);
    orgs_shared_post_config(s);
    int rc = probe_stores(pconf, ptemp, s);
    /* a PostgreSQL store: one replicator per node keeps the replica */
    return rc == OK ? orgs_replica_start(pconf, s) : rc;
}

/* Slots of the per-child session view cache: a few per thread (the
 * sessions a child serves again soon), at most 256; each holds one view
 * (an 8 KiB pool), so a prefork child keeps 16 and an event child 256. */
static apr_size_t view_cache_slots(void)
{
    int threads = 1;
    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS || threads < 1) {
        threads = 1;
    }
    return threads >= 16 ? 256 : (apr_size_t)threads * 16;
}

/* The LMDB environment is opened here, in each child, after httpd dropped
 * privileges: never inherited across fork. Servers naming the same
 * directory share one handle (LMDB allows one per process). On failure the
 * store stays NULL and requests needing it fail closed. */
static void orgs_hook_child_init(apr_pool_t *pchild, server_rec *s)
{
    unsigned readers = max_readers();
    orgs_err_t bc_err = {{0}};

    /* the back channel's single flight, backoff and caps, per child */
    if (orgs_backchan_init(pchild, &bc_err) != APR_SUCCESS) {
        orgs_log_error(s, APLOG_ERR, 0, ORGSLOGNO(00584) "%s", bc_err.msg);
    }
    orgs_shared_backchan_child_init(); /* its log gate: one for all children */

    for (server_rec *vs = s; vs; vs = vs->next) {
        orgs_srv_cfg_t *sc = orgs_srv_cfg(vs);
        orgs_err_t err = {{0}};
        apr_status_t rv;

        /* vhosts without Orgs directives may share the main server's record */
        if (sc->store || !sc->store_dir) {
            continue;
        }
        for (server_rec *ps = s; ps != vs && !sc->store; ps = ps->next) {
            const orgs_srv_cfg_t *pc = orgs_srv_cfg(ps);
            if (pc->store && strcmp(pc->store_dir, sc->store_dir) == 0) {
                sc->store = pc->store;
            }
        }
        if (sc->store) {
            continue;
        }
        rv = orgs_store_open(&sc->store, sc->store_dir, sc->store_max_size, readers,
                             ORGS_STORE_CREATE | ORGS_STORE_THREADED, sc->keys, pchild, &err);
        if (rv != APR_SUCCESS) {
            sc->store = NULL;
            orgs_log_error(vs, APLOG_ERR, rv,
                           ORGSLOGNO(00013) "OrgsStore %s: cannot open the store in this "
                                            "child: %s",
                           sc->store_dir, err.msg);
            continue;
        }
        orgs_shared_child_init(sc->store);
        /* the per-child cache of prepared session views */
        if (orgs_store_view_cache_enable(sc->store, view_cache_slots(), &err) != APR_SUCCESS) {
            orgs_log_error(vs, APLOG_WARNING, 0,
                           ORGSLOGNO(00108) "OrgsStore %s: no session view cache in this child: "
                                            "%s",
                           sc->store_dir, err.msg);
        }
        /* OrgsAuditMaxPerOrg (0: no limit) */
        orgs_store_audit_set_max_per_org(sc->store,
                                         sc->audit_per_org ? sc->audit_per_org : (apr_size_t)-1);
        orgs_store_invite_set_max_per_org(sc->store, sc->invites_per_org); /* 0: no limit */
        orgs_log_error(vs, APLOG_DEBUG, 0,
                       ORGSLOGNO(00014) "OrgsStore %s: opened (%u reader slots)", sc->store_dir,
                       readers);
    }
}

static void register_hooks(apr_pool_t *p)
{
    ap_hook_check_config(orgs_hook_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(orgs_hook_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(orgs_hook_child_init, NULL, NULL, APR_HOOK_MIDDLE);

    /* The request path: one registration point per glue file. */
    orgs_authn_register_hooks(p); /* check_authn, endpoint dispatch, header scrub */
    orgs_authz_register_hooks(p); /* Require org-member / org-role / org-meta / org-connection */
    orgs_endpoints_register_hooks(p); /* /login, /callback, /logout */
    orgs_env_register_hooks(p);       /* ORG_* environment, X-Org-* headers */
    orgs_fixups_register_hooks(p);    /* module cookies stripped, responses marked private */
    orgs_status_register_hooks(p);    /* SetHandler orgs-status: health and counters */
    orgs_admin_register_hooks(p);     /* SetHandler orgs-admin, Require org-api-token */
}

/* private.h already declared it (APLOG_USE_MODULE), so no AP_DECLARE_MODULE. */
module AP_MODULE_DECLARE_DATA auth_orgs_module = {
    STANDARD20_MODULE_STUFF, orgs_config_create_dir, orgs_config_merge_dir, orgs_config_create_srv,
    orgs_config_merge_srv,   orgs_config_cmds,       register_hooks,        AP_MODULE_FLAG_NONE,
};
