/* [glue] Configuration: the directive table, create/merge of the server and
 * per-directory records, and the cross-directive checks run at check_config
 * (so `apache2 -t` rejects what a start would reject).
 *
 * Server record lifecycle:
 *   parse time   -> fields set by directives, UNSET elsewhere;
 *   merge        -> vhosts inherit unset fields from the main server;
 *   check_config -> orgs_config_check() validates and fills defaults, so
 *                   from post_config on every field has its final value;
 *   post_config  -> keys derived (pconf);
 *   child_init   -> store opened (pchild), per child.
 * Per-directory records keep UNSET after merge; read them through the
 * orgs_dir_* accessors below, which apply the defaults. */
#ifndef ORGS_CONFIG_H
#define ORGS_CONFIG_H

#include <httpd.h>
#include <http_config.h>
#include <ap_expr.h>

#include "orgs.h"
#include "crypto.h"
#include "pages.h"
#include "store.h"

#define ORGS_UNSET (-1)
#define ORGS_UNSET_COUNT ((apr_size_t)-1) /* an apr_size_t directive not set */

#define ORGS_DEFAULT_ENDPOINT "/orgs"
#define ORGS_DEFAULT_SESSION_IDLE apr_time_from_sec(8 * 3600)
#define ORGS_DEFAULT_SESSION_MAX_AGE apr_time_from_sec(24 * 3600)
#define ORGS_DEFAULT_LOGIN_TIMEOUT apr_time_from_sec(10 * 60)
#define ORGS_DEFAULT_USERS_PER_CONN 10000
#define ORGS_DEFAULT_NEW_USERS_PER_MIN 120
#define ORGS_DEFAULT_ADMIN_WRITES_PER_MIN 600
#define ORGS_DEFAULT_USERS_PER_ORG 10000
#define ORGS_DEFAULT_SESSIONS_PER_ORG 10000
#define ORGS_DEFAULT_USER_PURGE_AFTER apr_time_from_sec(90 * 24 * 3600)
#define ORGS_DEFAULT_AUDIT_MAX_AGE apr_time_from_sec(365 * 24 * 3600)
#define ORGS_DEFAULT_SWEEP_INTERVAL apr_time_from_sec(3600)
#define ORGS_DEFAULT_PENDING_PER_CLIENT 100
#define ORGS_DEFAULT_PENDING_PER_NETWORK 400
#define ORGS_DEFAULT_BC_CONNECT_TIMEOUT apr_time_from_sec(5)
#define ORGS_DEFAULT_BC_TIMEOUT apr_time_from_sec(10)
#define ORGS_DEFAULT_BC_MAX_CONCURRENT 10
#define ORGS_MAX_BC_TIMEOUT apr_time_from_sec(120)

/* OrgsUnauthenticated */
#define ORGS_UNAUTH_LOGIN 1 /* redirect to the login endpoint (default) */
#define ORGS_UNAUTH_401 2   /* answer 401 (APIs) */

typedef struct orgs_srv_cfg_t {
    /* ---- directives (UNSET: NULL / 0 / ORGS_UNSET until orgs_config_check) */
    const char *store_dir;               /* OrgsStore, absolute path (OrgsStoreReplica's with
                                            a PostgreSQL store) */
    const char *store_pg;                /* OrgsStore postgresql://...: the source of the replica */
    const char *store_replica;           /* OrgsStoreReplica, absolute path */
    apr_interval_time_t replica_max_lag; /* OrgsReplicaMaxLag; 0 = off */
    apr_uint64_t store_max_size;         /* OrgsStoreMaxSize, bytes; 0 = unset */
    const char *key_source;              /* OrgsCryptoKey "file:/abs" | "env:VAR" */
    const char *endpoint;             /* OrgsEndpoint, "/orgs": starts with '/', no trailing '/' */
    const char *public_url;           /* OrgsPublicURL without trailing '/'; NULL = from request */
    apr_interval_time_t session_idle; /* OrgsSessionIdleTimeout */
    apr_interval_time_t session_max_age; /* OrgsSessionMaxAge */
    apr_interval_time_t login_timeout;   /* OrgsLoginTimeout: pending login ttl */
    int login_in_store; /* OrgsLoginState store: pending logins in the LMDB store (1), or
                           sealed in the browser's cookie (0, the default); ORGS_UNSET */
    /* OrgsMaxUsersPerConnection, OrgsMaxNewUsersPerMinute, OrgsMaxUsersPerOrg,
     * OrgsMaxSessionsPerOrg: ORGS_UNSET fields until orgs_config_check; 0 = no bound */
    orgs_store_quota_t quota;
    apr_interval_time_t user_purge_after;   /* OrgsUserPurgeAfter; 0 = off */
    apr_interval_time_t audit_max_age;      /* OrgsAuditMaxAge; 0 = off */
    apr_interval_time_t sweep_interval;     /* OrgsSweepInterval; > 0 */
    apr_size_t audit_per_org;               /* OrgsAuditMaxPerOrg; 0 = no limit */
    apr_size_t invites_per_org;             /* OrgsMaxInvitationsPerOrg; 0 = no limit */
    apr_size_t pending_per_client;          /* OrgsMaxPendingPerClient; 0 = no bound */
    apr_size_t pending_per_network;         /* OrgsMaxPendingPerNetwork; 0 = no bound */
    apr_size_t admin_writes_per_min;        /* OrgsAdminWritesPerMinute, per org; 0 = none */
    apr_interval_time_t bc_connect_timeout; /* OrgsBackchannelConnectTimeout */
    apr_interval_time_t bc_timeout;         /* OrgsBackchannelTimeout (whole call) */
    int bc_max_concurrent;                  /* OrgsBackchannelMaxConcurrent, per conn and child */
    int status_conn_names;                  /* OrgsStatusConnectionNames */
    apr_array_header_t *bc_allow_hosts;     /* OrgsBackchannelAllowHost: const char *, NULL-ended */
    apr_array_header_t *bc_allow_internal;  /* OrgsBackchannelAllowInternal: likewise */
    /* ---- the pages (docs/pages.md) */
    const char *template_dir;  /* OrgsTemplateDir; NULL = the shipped pages only */
    const orgs_pages_t *pages; /* compiled when OrgsTemplateDir is read, else in check_config */
    const char *language;      /* OrgsLanguage: answer in this one; NULL = Accept-Language */
    const char *brand_name;    /* OrgsBrandName: "Sign in to continue to NAME"; NULL = none */
    const char *brand_logo;    /* OrgsBrandLogo: https:// or data:image/ URL; NULL = none */
    /* ---- derived in post_config (pconf); NULL when no OrgsCryptoKey */
    const orgs_crypto_keys_t *keys;
    /* ---- per child, set in child_init; NULL when not configured or the
     * open failed (the request path must then fail closed with 500) */
    orgs_store_t *store;
} orgs_srv_cfg_t;

typedef struct orgs_dir_cfg_t {
    ap_expr_info_t *organization; /* OrgsOrganization (string expression); NULL = unset */
    int unauthenticated;          /* OrgsUnauthenticated: ORGS_UNAUTH_*; ORGS_UNSET */
    int pass_headers;             /* OrgsPassHeaders: 0/1; ORGS_UNSET */
    const char *error_url;        /* OrgsErrorURL; NULL = unset */
    int strip_cookies;            /* OrgsStripCookies: 0/1; ORGS_UNSET */
    int private_responses;        /* OrgsPrivateResponses: 0/1; ORGS_UNSET */
    const char *location;         /* the <Location> path (SetHandler orgs-admin routes under it) */
} orgs_dir_cfg_t;

/* The module record's slots. */
extern const command_rec orgs_config_cmds[];
void *orgs_config_create_srv(apr_pool_t *p, server_rec *s);
void *orgs_config_merge_srv(apr_pool_t *p, void *basev, void *addv);
void *orgs_config_create_dir(apr_pool_t *p, char *dir);
void *orgs_config_merge_dir(apr_pool_t *p, void *basev, void *addv);

/* check_config: cross-directive checks for every server (OrgsStore and
 * OrgsCryptoKey are required where AuthType orgs is used) and defaults.
 * Logs each problem with a number; returns OK or HTTP_INTERNAL_SERVER_ERROR. */
int orgs_config_check(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);

/* The pages' directives and checks (config_pages.c). */
const char *orgs_config_set_template_dir(cmd_parms *cmd, void *dummy, const char *arg);
const char *orgs_config_set_language(cmd_parms *cmd, void *dummy, const char *arg);
const char *orgs_config_set_brand_name(cmd_parms *cmd, void *dummy, const char *arg);
const char *orgs_config_set_brand_logo(cmd_parms *cmd, void *dummy, const char *arg);
/* Gives every server its page set and checks OrgsLanguage against it. */
int orgs_config_pages_check(apr_pool_t *pconf, server_rec *s);

/* ---- per-directory accessors (defaults applied) --------------------- */

/* The organization this location is fixed to: the evaluated
 * OrgsOrganization expression, or NULL when unset, empty, or when the
 * expression fails (logged). */
const char *orgs_dir_organization(request_rec *r, const orgs_dir_cfg_t *dc);
int orgs_dir_unauthenticated(const orgs_dir_cfg_t *dc);   /* ORGS_UNAUTH_LOGIN by default */
int orgs_dir_pass_headers(const orgs_dir_cfg_t *dc);      /* 0 by default */
const char *orgs_dir_error_url(const orgs_dir_cfg_t *dc); /* NULL by default */
int orgs_dir_strip_cookies(const orgs_dir_cfg_t *dc);     /* 1 by default */
int orgs_dir_private_responses(const orgs_dir_cfg_t *dc); /* 1 by default */

#endif
