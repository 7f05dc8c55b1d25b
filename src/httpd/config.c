/* [glue] Directive table, create/merge, cross-directive checks. Every value
 * is validated when its directive is read, so `apache2 -t` rejects it; the
 * checks that need the whole configuration run in orgs_config_check(). */
#include <string.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <util_cfgtree.h>

#include "orgs.h"
#include "checks.h"
#include "parse.h"
#include "url.h"
#include "crypto.h"
#include "netaddr.h"
#include "config.h"
#include "private.h"
#include "replica.h"
#include "replica_lag.h"

/* ---- helpers --------------------------------------------------------- */

static const char *bad(cmd_parms *cmd, const char *reason, const char *arg)
{
    return apr_psprintf(cmd->pool, "%s: %s (got '%s')", cmd->cmd->name, reason, arg);
}

static const char *bad_err(cmd_parms *cmd, apr_status_t rv, const orgs_err_t *err, const char *arg)
{
    char buf[128];
    return bad(cmd, err->msg[0] ? err->msg : orgs_strerror(rv, buf, sizeof(buf)), arg);
}

static orgs_srv_cfg_t *cmd_srv(cmd_parms *cmd)
{
    return orgs_srv_cfg(cmd->server);
}

/* No control characters or spaces: values end up in headers and URLs. */
static int has_ctl_or_space(const char *s)
{
    for (; *s; s++) {
        if (apr_iscntrl((unsigned char)*s) || *s == ' ') {
            return 1;
        }
    }
    return 0;
}

/* Absolute http(s) URL by the core's one rule (url.h); NULL when fine,
 * else the reason, in p. */
static const char *check_abs_url(apr_pool_t *p, const char *arg, int flags)
{
    orgs_err_t err = {{0}};
    if (orgs_url_absolute_check(arg, flags, p, &err) != APR_SUCCESS) {
        return apr_pstrdup(p, err.msg);
    }
    return NULL;
}

/* ---- server directives ----------------------------------------------- */

static const char *set_store(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    apr_finfo_t fi;

    if (orgs_pg_uri_is(arg)) {
        return orgs_replica_set_source(cmd, arg);
    }
    if (!*arg || !path) {
        return bad(cmd, "invalid path", arg);
    }
    if (apr_stat(&fi, path, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS) {
        return bad(cmd, "directory does not exist or is not accessible", arg);
    }
    if (fi.filetype != APR_DIR) {
        return bad(cmd, "not a directory", arg);
    }
    cmd_srv(cmd)->store_dir = path;
    return NULL;
}

static const char *set_store_max_size(cmd_parms *cmd, void *dummy, const char *arg)
{
    orgs_err_t err = {{0}};
    apr_uint64_t size;
    apr_status_t rv = orgs_parse_size(arg, ORGS_STORE_MIN_MAP_SIZE, &size, &err);

    if (rv != APR_SUCCESS) {
        return bad_err(cmd, rv, &err, arg);
    }
    cmd_srv(cmd)->store_max_size = size;
    return NULL;
}

/* The secret is loaded and the keys derived once here, in temp_pool (whose
 * cleanup cleanses them), only to reject a bad key at `apache2 -t`; the keys
 * the module uses are derived again into pconf in post_config. */
static const char *set_crypto_key(cmd_parms *cmd, void *dummy, const char *arg)
{
    orgs_err_t err = {{0}};
    const char *source = arg, *ref;
    char kind;
    apr_status_t rv;
    orgs_crypto_keys_t *keys;

    /* file: paths are relative to ServerRoot, like every httpd path */
    if (strncmp(arg, "file:", 5) == 0 && arg[5] && arg[5] != '/') {
        const char *abs = ap_server_root_relative(cmd->temp_pool, arg + 5);
        if (!abs) {
            return bad(cmd, "invalid path", arg);
        }
        source = apr_pstrcat(cmd->pool, "file:", abs, NULL);
    }
    rv = orgs_parse_key_source(source, &kind, &ref, &err);
    if (rv != APR_SUCCESS) {
        return bad_err(cmd, rv, &err, arg);
    }
    if (kind == 'f') {
        apr_finfo_t fi;
        apr_file_t *f;
        if (apr_stat(&fi, ref, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS) {
            return bad(cmd, "key file does not exist or is not accessible", arg);
        }
        if (fi.filetype != APR_REG) {
            return bad(cmd, "key file is not a regular file", arg);
        }
        if (apr_file_open(&f, ref, APR_FOPEN_READ, APR_OS_DEFAULT, cmd->temp_pool) != APR_SUCCESS) {
            return bad(cmd, "key file is not readable", arg);
        }
        apr_file_close(f);
    } else if (!getenv(ref)) {
        return bad(cmd, "environment variable is not set", arg);
    }
    rv = orgs_crypto_keys_load(&keys, source, cmd->temp_pool, &err);
    if (rv != APR_SUCCESS) {
        return bad_err(cmd, rv, &err, arg);
    }
    cmd_srv(cmd)->key_source = source;
    return NULL;
}

static const char *set_endpoint(cmd_parms *cmd, void *dummy, const char *arg)
{
    apr_size_t len = strlen(arg);

    if (arg[0] != '/') {
        return bad(cmd, "must start with '/'", arg);
    }
    if (len < 2 || arg[len - 1] == '/') {
        return bad(cmd, "must not end with '/'", arg);
    }
    if (strstr(arg, "//") || strchr(arg, '?') || strchr(arg, '#') || strchr(arg, '%') ||
        has_ctl_or_space(arg)) {
        return bad(cmd, "must be a plain URL path", arg);
    }
    cmd_srv(cmd)->endpoint = arg;
    return NULL;
}

static const char *set_public_url(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *reason = check_abs_url(cmd->temp_pool, arg, ORGS_URL_NO_QUERY);
    char *url;
    apr_size_t len;

    if (reason) {
        return bad(cmd, reason, arg);
    }
    url = apr_pstrdup(cmd->pool, arg);
    len = strlen(url);
    while (len > 0 && url[len - 1] == '/') {
        url[--len] = '\0';
    }
    cmd_srv(cmd)->public_url = url;
    return NULL;
}

/* cmd->info: offset of the apr_interval_time_t field in orgs_srv_cfg_t */
static const char *set_srv_duration(cmd_parms *cmd, void *dummy, const char *arg)
{
    orgs_err_t err = {{0}};
    apr_interval_time_t t;
    apr_status_t rv = orgs_parse_duration(arg, &t, &err);

    if (rv != APR_SUCCESS) {
        return bad_err(cmd, rv, &err, arg);
    }
    *(apr_interval_time_t *)((char *)cmd_srv(cmd) + (apr_size_t)cmd->info) = t;
    return NULL;
}

/* cmd->info: offset of an apr_size_t field in orgs_srv_cfg_t. A decimal
 * count; 0 means no bound. */
static const char *set_srv_count(cmd_parms *cmd, void *dummy, const char *arg)
{
    apr_uint64_t n = 0;

    if (!*arg || strspn(arg, "0123456789") != strlen(arg) || strlen(arg) > 9) {
        return bad(cmd, "must be a whole number from 0 (no limit) to 999999999", arg);
    }
    for (const char *c = arg; *c; c++) {
        n = n * 10 + (apr_uint64_t)(*c - '0');
    }
    *(apr_size_t *)((char *)cmd_srv(cmd) + (apr_size_t)cmd->info) = (apr_size_t)n;
    return NULL;
}

/* A duration, or "off". */
static const char *set_user_purge_after(cmd_parms *cmd, void *dummy, const char *arg)
{
    if (strcasecmp(arg, "off") == 0) {
        cmd_srv(cmd)->user_purge_after = 0;
        return NULL;
    }
    return set_srv_duration(cmd, dummy, arg);
}

/* OrgsLoginState cookie|store. */
static const char *set_login_state(cmd_parms *cmd, void *dummy, const char *arg)
{
    (void)dummy;
    if (strcasecmp(arg, "cookie") == 0 || strcasecmp(arg, "store") == 0) {
        cmd_srv(cmd)->login_in_store = strcasecmp(arg, "store") == 0;
        return NULL;
    }
    return bad(cmd, "must be 'cookie' or 'store'", arg);
}

/* OrgsSweepInterval: a duration of at least a second. */
static const char *set_sweep_interval(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *bad_value = set_srv_duration(cmd, dummy, arg);
    if (bad_value) {
        return bad_value;
    }
    if (cmd_srv(cmd)->sweep_interval < apr_time_from_sec(1)) {
        return bad(cmd, "must be at least 1s", arg);
    }
    return NULL;
}

/* OrgsAuditMaxAge: a duration, or "off". */
static const char *set_audit_max_age(cmd_parms *cmd, void *dummy, const char *arg)
{
    if (strcasecmp(arg, "off") == 0) {
        cmd_srv(cmd)->audit_max_age = 0;
        return NULL;
    }
    return set_srv_duration(cmd, dummy, arg);
}

/* OrgsBackchannelConnectTimeout / OrgsBackchannelTimeout: a duration up to
 * ORGS_MAX_BC_TIMEOUT (a worker waits that long at most for an IdP). */
static const char *set_bc_timeout(cmd_parms *cmd, void *dummy, const char *arg)
{
    orgs_err_t err = {{0}};
    apr_interval_time_t t;
    apr_status_t rv = orgs_parse_duration(arg, &t, &err);

    if (rv != APR_SUCCESS) {
        return bad_err(cmd, rv, &err, arg);
    }
    if (t > ORGS_MAX_BC_TIMEOUT) {
        return bad(cmd, "must be at most 120s", arg);
    }
    *(apr_interval_time_t *)((char *)cmd_srv(cmd) + (apr_size_t)cmd->info) = t;
    return NULL;
}

static const char *set_bc_max_concurrent(cmd_parms *cmd, void *dummy, const char *arg)
{
    char *end = NULL;
    apr_int64_t n = apr_strtoi64(arg, &end, 10);

    if (!*arg || *end || n < 1 || n > 10000) {
        return bad(cmd, "must be a number from 1 to 10000", arg);
    }
    cmd_srv(cmd)->bc_max_concurrent = (int)n;
    return NULL;
}

/* A host name or IP address (no scheme, port or path), compared without
 * case with the host of a discovery document's endpoints. */
static const char *add_bc_allow_host(cmd_parms *cmd, void *dummy, const char *arg)
{
    orgs_srv_cfg_t *sc = cmd_srv(cmd);

    if (!*arg || strlen(arg) > 253 ||
        strspn(arg, "abcdefghijklmnopqrstuvwxyz"
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") != strlen(arg)) {
        return bad(cmd, "must be a host name or an IP address, without scheme, port or path", arg);
    }
    if (!sc->bc_allow_hosts) {
        sc->bc_allow_hosts = apr_array_make(cmd->pool, 4, sizeof(const char *));
    } else {
        apr_array_pop(sc->bc_allow_hosts); /* the NULL at the end */
    }
    APR_ARRAY_PUSH(sc->bc_allow_hosts, const char *) = apr_pstrdup(cmd->pool, arg);
    APR_ARRAY_PUSH(sc->bc_allow_hosts, const char *) = NULL;
    return NULL;
}

/* A host name, an IP address or a CIDR the back channel may reach although
 * it is internal (netaddr.h). */
static const char *add_bc_allow_internal(cmd_parms *cmd, void *dummy, const char *arg)
{
    orgs_srv_cfg_t *sc = cmd_srv(cmd);
    orgs_err_t err = {{0}};
    apr_status_t rv = orgs_netaddr_allow_check(arg, &err);

    if (rv != APR_SUCCESS) {
        return bad_err(cmd, rv, &err, arg);
    }
    if (!sc->bc_allow_internal) {
        sc->bc_allow_internal = apr_array_make(cmd->pool, 4, sizeof(const char *));
    } else {
        apr_array_pop(sc->bc_allow_internal); /* the NULL at the end */
    }
    APR_ARRAY_PUSH(sc->bc_allow_internal, const char *) = apr_pstrdup(cmd->pool, arg);
    APR_ARRAY_PUSH(sc->bc_allow_internal, const char *) = NULL;
    return NULL;
}

/* OrgsStatusConnectionNames: the status page's per-connection series. */
static const char *set_status_conn_names(cmd_parms *cmd, void *dummy, int on)
{
    cmd_srv(cmd)->status_conn_names = on ? 1 : 0;
    return NULL;
}

/* ---- per-directory directives ---------------------------------------- */

static const char *set_organization(cmd_parms *cmd, void *dcv, const char *arg)
{
    orgs_dir_cfg_t *dc = dcv;
    const char *experr = NULL;
    orgs_err_t err = {{0}};

    dc->organization = ap_expr_parse_cmd(cmd, arg, AP_EXPR_FLAG_STRING_RESULT, &experr, NULL);
    if (experr) {
        return bad(cmd, apr_pstrcat(cmd->temp_pool, "cannot parse expression: ", experr, NULL),
                   arg);
    }
    /* A value without %{...} is a constant: check it now. */
    if (!strchr(arg, '%')) {
        /* Names only: sessions are kept per org name. */
        apr_status_t rv = orgs_check_slug(arg, &err);
        if (rv != APR_SUCCESS) {
            return bad_err(cmd, rv, &err, arg);
        }
    }
    return NULL;
}

static const char *set_unauthenticated(cmd_parms *cmd, void *dcv, const char *arg)
{
    orgs_dir_cfg_t *dc = dcv;

    if (strcasecmp(arg, "login") == 0) {
        dc->unauthenticated = ORGS_UNAUTH_LOGIN;
    } else if (strcmp(arg, "401") == 0) {
        dc->unauthenticated = ORGS_UNAUTH_401;
    } else {
        return bad(cmd, "must be 'login' or '401'", arg);
    }
    return NULL;
}

static const char *set_pass_headers(cmd_parms *cmd, void *dcv, int flag)
{
    ((orgs_dir_cfg_t *)dcv)->pass_headers = flag ? 1 : 0;
    return NULL;
}

/* An absolute http(s) URL, or a local path ("/error"); never "//host". */
static const char *set_error_url(cmd_parms *cmd, void *dcv, const char *arg)
{
    orgs_dir_cfg_t *dc = dcv;

    if (arg[0] == '/') {
        if (arg[1] == '/' || arg[1] == '\\' || strchr(arg, '#') || has_ctl_or_space(arg) ||
            strlen(arg) > ORGS_URL_MAX) {
            return bad(cmd, "must be a local path or an absolute http(s) URL", arg);
        }
    } else {
        const char *reason = check_abs_url(cmd->temp_pool, arg, 0);
        if (reason) {
            return bad(cmd, reason, arg);
        }
    }
    dc->error_url = arg;
    return NULL;
}

static const char *set_dir_flag(cmd_parms *cmd, void *dcv, int flag)
{
    *(int *)((char *)dcv + (apr_size_t)cmd->info) = flag ? 1 : 0;
    return NULL;
}

const command_rec orgs_config_cmds[] = {
    AP_INIT_TAKE1("OrgsStore", set_store, NULL, RSRC_CONF,
                  "LMDB environment directory of the organization store"),
    AP_INIT_TAKE1("OrgsStoreReplica", orgs_replica_set_dir, NULL, RSRC_CONF,
                  "this node's LMDB replica of an OrgsStore postgresql://... store"),
    AP_INIT_TAKE1("OrgsReplicaMaxLag", orgs_replica_lag_set, NULL, RSRC_CONF,
                  "new sign-ins refused when the replica was last current longer ago (default "
                  "30s; 'off')"),
    AP_INIT_TAKE1("OrgsStoreMaxSize", set_store_max_size, NULL, RSRC_CONF,
                  "maximum size of the store (LMDB map size), e.g. 1G"),
    AP_INIT_TAKE1("OrgsCryptoKey", set_crypto_key, NULL, RSRC_CONF,
                  "secret for cookies, login state and secrets at rest: file:PATH or env:VAR"),
    AP_INIT_TAKE1("OrgsEndpoint", set_endpoint, NULL, RSRC_CONF,
                  "URL path of the module's login, callback and logout pages (default /orgs)"),
    AP_INIT_TAKE1("OrgsPublicURL", set_public_url, NULL, RSRC_CONF,
                  "external base URL of this server when behind a proxy"),
    AP_INIT_TAKE1("OrgsSessionIdleTimeout", set_srv_duration,
                  (void *)APR_OFFSETOF(orgs_srv_cfg_t, session_idle), RSRC_CONF,
                  "session idle timeout (default 8h)"),
    AP_INIT_TAKE1("OrgsSessionMaxAge", set_srv_duration,
                  (void *)APR_OFFSETOF(orgs_srv_cfg_t, session_max_age), RSRC_CONF,
                  "maximum session lifetime (default 24h)"),
    AP_INIT_TAKE1("OrgsLoginTimeout", set_srv_duration,
                  (void *)APR_OFFSETOF(orgs_srv_cfg_t, login_timeout), RSRC_CONF,
                  "time allowed to complete a login at the identity provider (default 10m)"),
    AP_INIT_TAKE1("OrgsLoginState", set_login_state, NULL, RSRC_CONF,
                  "where a sign-in in progress is kept: 'cookie' (sealed in the browser's "
                  "cookie, the default) or 'store' (in the LMDB store)"),
    AP_INIT_TAKE1("OrgsMaxUsersPerConnection", set_srv_count,
                  (void *)APR_OFFSETOF(orgs_srv_cfg_t, quota.users_per_conn), RSRC_CONF,
                  "users one connection may create at sign-in (default 10000; 0 = no limit)"),
    AP_INIT_TAKE1("OrgsMaxNewUsersPerMinute", set_srv_count,
                  (void *)APR_OFFSETOF(orgs_srv_cfg_t, quota.new_users_per_min), RSRC_CONF,
                  "new users one connection may create per minute (default 120; 0 = no limit)"),
    AP_INIT_TAKE1("OrgsMaxUsersPerOrg", set_srv_count,
                  (void *)APR_OFFSETOF(orgs_srv_cfg_t, quota.users_per_org), RSRC_CONF,
                  "members an org may have for auto-membership to add one (default 10000; 0 = "
                  "no limit)"),
    AP_INIT_TAKE1("OrgsMaxSessionsPerOrg", set_srv_count,
                  (void *)APR_OFFSETOF(orgs_srv_cfg_t, quota.sessions_per_org), RSRC_CONF,
                  "sessions one org may have (default 10000; 0 = no limit)"),
    AP_INIT_TAKE1("OrgsUserPurgeAfter", set_user_purge_after,
                  (void *)APR_OFFSETOF(orgs_srv_cfg_t, user_purge_after), RSRC_CONF,
                  "remove users without membership unused this long (default 90d; 'off')"),
    AP_INIT_TAKE1("OrgsSweepInterval", set_sweep_interval,
                  (void *)APR_OFFSETOF(orgs_srv_cfg_t, sweep_interval), RSRC_CONF,
                  "how often the login path sweeps unused users, old audit records and "
                  "expired invitations (default 1h)"),
    AP_INIT_TAKE1("OrgsAuditMaxAge", set_audit_max_age,
                  (void *)APR_OFFSETOF(orgs_srv_cfg_t, audit_max_age), RSRC_CONF,
                  "remove audit records older than this (default 365d; 'off')"),
    AP_INIT_TAKE1("OrgsAuditMaxPerOrg", set_srv_count,
                  (void *)APR_OFFSETOF(orgs_srv_cfg_t, audit_per_org), RSRC_CONF,
                  "audit records kept per org, oldest dropped first (default 10000; 0 = no "
                  "limit)"),
    AP_INIT_TAKE1("OrgsMaxInvitationsPerOrg", set_srv_count,
                  (void *)APR_OFFSETOF(orgs_srv_cfg_t, invites_per_org), RSRC_CONF,
                  "open invitations one org may hold (default 1000; 0 = no limit)"),
    AP_INIT_TAKE1("OrgsMaxPendingPerClient", set_srv_count,
                  (void *)APR_OFFSETOF(orgs_srv_cfg_t, pending_per_client), RSRC_CONF,
                  "logins in progress per client address (default 100; 0 = no limit)"),
    AP_INIT_TAKE1("OrgsMaxPendingPerNetwork", set_srv_count,
                  (void *)APR_OFFSETOF(orgs_srv_cfg_t, pending_per_network), RSRC_CONF,
                  "logins in progress per client network, IPv4 /24 or IPv6 /48 (default 400; "
                  "0 = no limit)"),
    AP_INIT_TAKE1("OrgsAdminWritesPerMinute", set_srv_count,
                  (void *)APR_OFFSETOF(orgs_srv_cfg_t, admin_writes_per_min), RSRC_CONF,
                  "admin API changes of one org per minute on this server (default 600; 0 = no "
                  "limit)"),
    AP_INIT_TAKE1("OrgsBackchannelConnectTimeout", set_bc_timeout,
                  (void *)APR_OFFSETOF(orgs_srv_cfg_t, bc_connect_timeout), RSRC_CONF,
                  "time allowed to connect to an identity provider (default 5s)"),
    AP_INIT_TAKE1("OrgsBackchannelTimeout", set_bc_timeout,
                  (void *)APR_OFFSETOF(orgs_srv_cfg_t, bc_timeout), RSRC_CONF,
                  "time allowed for a whole call to an identity provider (default 10s)"),
    AP_INIT_TAKE1("OrgsBackchannelMaxConcurrent", set_bc_max_concurrent, NULL, RSRC_CONF,
                  "calls in flight to one connection's IdP per child process (default 10)"),
    AP_INIT_ITERATE("OrgsBackchannelAllowHost", add_bc_allow_host, NULL, RSRC_CONF,
                    "hosts an IdP's token endpoint and JWKS may be on besides the issuer's"),
    AP_INIT_FLAG("OrgsStatusConnectionNames", set_status_conn_names, NULL, RSRC_CONF,
                 "orgs-status breaks identity provider errors down by connection name "
                 "(default Off)"),
    AP_INIT_ITERATE("OrgsBackchannelAllowInternal", add_bc_allow_internal, NULL, RSRC_CONF,
                    "internal hosts, addresses or CIDRs the back channel may reach"),
    AP_INIT_TAKE1("OrgsTemplateDir", orgs_config_set_template_dir, NULL, RSRC_CONF,
                  "directory of page templates and message catalogs replacing the shipped ones"),
    AP_INIT_TAKE1("OrgsLanguage", orgs_config_set_language, NULL, RSRC_CONF,
                  "answer every page in this language (default: the browser's Accept-Language)"),
    AP_INIT_TAKE1("OrgsBrandName", orgs_config_set_brand_name, NULL, RSRC_CONF,
                  "the application's name on the sign-in prompt"),
    AP_INIT_TAKE1("OrgsBrandLogo", orgs_config_set_brand_logo, NULL, RSRC_CONF,
                  "the application's logo on the sign-in prompt (https:// or data:image/ URL)"),
    AP_INIT_TAKE1("OrgsOrganization", set_organization, NULL, OR_AUTHCFG,
                  "organization of this location: a name or a string expression"),
    AP_INIT_TAKE1("OrgsUnauthenticated", set_unauthenticated, NULL, OR_AUTHCFG,
                  "without a session: 'login' (redirect, default) or '401'"),
    AP_INIT_FLAG("OrgsPassHeaders", set_pass_headers, NULL, OR_AUTHCFG,
                 "also pass the organization and claims as X-Org-* request headers"),
    AP_INIT_TAKE1("OrgsErrorURL", set_error_url, NULL, RSRC_CONF | OR_AUTHCFG,
                  "where login errors are sent instead of the module's error page"),
    AP_INIT_FLAG("OrgsStripCookies", set_dir_flag,
                 (void *)APR_OFFSETOF(orgs_dir_cfg_t, strip_cookies), RSRC_CONF | ACCESS_CONF,
                 "remove the module's cookies from the request before the handler (default On)"),
    AP_INIT_FLAG("OrgsPrivateResponses", set_dir_flag,
                 (void *)APR_OFFSETOF(orgs_dir_cfg_t, private_responses), RSRC_CONF | ACCESS_CONF,
                 "mark authenticated responses as not cacheable by shared caches (default On)"),
    {NULL},
};

/* ---- create / merge -------------------------------------------------- */

void *orgs_config_create_srv(apr_pool_t *p, server_rec *s)
{
    orgs_srv_cfg_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->session_idle = ORGS_UNSET;
    sc->session_max_age = ORGS_UNSET;
    sc->login_timeout = ORGS_UNSET;
    sc->login_in_store = ORGS_UNSET;
    sc->replica_max_lag = ORGS_UNSET;
    sc->quota.users_per_conn = ORGS_UNSET_COUNT;
    sc->quota.new_users_per_min = ORGS_UNSET_COUNT;
    sc->quota.users_per_org = ORGS_UNSET_COUNT;
    sc->quota.sessions_per_org = ORGS_UNSET_COUNT;
    sc->user_purge_after = ORGS_UNSET;
    sc->audit_max_age = ORGS_UNSET;
    sc->sweep_interval = ORGS_UNSET;
    sc->audit_per_org = ORGS_UNSET_COUNT;
    sc->invites_per_org = ORGS_UNSET_COUNT;
    sc->pending_per_client = ORGS_UNSET_COUNT;
    sc->pending_per_network = ORGS_UNSET_COUNT;
    sc->admin_writes_per_min = ORGS_UNSET_COUNT;
    sc->bc_connect_timeout = ORGS_UNSET;
    sc->bc_timeout = ORGS_UNSET;
    sc->bc_max_concurrent = ORGS_UNSET;
    sc->status_conn_names = ORGS_UNSET;
    return sc;
}

/* The tenant quotas, the user purge and the pending bound: a virtual host
 * inherits each one it does not set. */
static void merge_exhaustion(orgs_srv_cfg_t *sc, const orgs_srv_cfg_t *base,
                             const orgs_srv_cfg_t *add)
{
#define MERGE_COUNT(f) sc->f = add->f != ORGS_UNSET_COUNT ? add->f : base->f
    MERGE_COUNT(quota.users_per_conn);
    MERGE_COUNT(quota.new_users_per_min);
    MERGE_COUNT(quota.users_per_org);
    MERGE_COUNT(quota.sessions_per_org);
    MERGE_COUNT(pending_per_client);
    MERGE_COUNT(pending_per_network);
    MERGE_COUNT(admin_writes_per_min);
    MERGE_COUNT(audit_per_org);
    MERGE_COUNT(invites_per_org);
#undef MERGE_COUNT
    sc->audit_max_age = add->audit_max_age != ORGS_UNSET ? add->audit_max_age : base->audit_max_age;
    sc->user_purge_after =
        add->user_purge_after != ORGS_UNSET ? add->user_purge_after : base->user_purge_after;
    sc->sweep_interval =
        add->sweep_interval != ORGS_UNSET ? add->sweep_interval : base->sweep_interval;
}

static void default_count(apr_size_t *f, apr_size_t value)
{
    if (*f == ORGS_UNSET_COUNT) {
        *f = value;
    }
}

void *orgs_config_merge_srv(apr_pool_t *p, void *basev, void *addv)
{
    const orgs_srv_cfg_t *base = basev, *add = addv;
    orgs_srv_cfg_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->store_dir = add->store_dir != NULL ? add->store_dir : base->store_dir;
    sc->store_pg = add->store_dir != NULL ? add->store_pg : base->store_pg;
    sc->store_replica = add->store_dir != NULL ? add->store_replica : base->store_replica;
    sc->store_max_size = add->store_max_size != 0 ? add->store_max_size : base->store_max_size;
    sc->key_source = add->key_source != NULL ? add->key_source : base->key_source;
    sc->endpoint = add->endpoint != NULL ? add->endpoint : base->endpoint;
    sc->public_url = add->public_url != NULL ? add->public_url : base->public_url;
    sc->session_idle = add->session_idle != ORGS_UNSET ? add->session_idle : base->session_idle;
    sc->session_max_age =
        add->session_max_age != ORGS_UNSET ? add->session_max_age : base->session_max_age;
    sc->login_timeout = add->login_timeout != ORGS_UNSET ? add->login_timeout : base->login_timeout;
    sc->login_in_store =
        add->login_in_store != ORGS_UNSET ? add->login_in_store : base->login_in_store;
    sc->replica_max_lag =
        add->replica_max_lag != ORGS_UNSET ? add->replica_max_lag : base->replica_max_lag;
    merge_exhaustion(sc, base, add);
    sc->bc_connect_timeout =
        add->bc_connect_timeout != ORGS_UNSET ? add->bc_connect_timeout : base->bc_connect_timeout;
    sc->bc_timeout = add->bc_timeout != ORGS_UNSET ? add->bc_timeout : base->bc_timeout;
    sc->bc_max_concurrent =
        add->bc_max_concurrent != ORGS_UNSET ? add->bc_max_concurrent : base->bc_max_concurrent;
    sc->status_conn_names =
        add->status_conn_names != ORGS_UNSET ? add->status_conn_names : base->status_conn_names;
    sc->bc_allow_hosts = add->bc_allow_hosts != NULL ? add->bc_allow_hosts : base->bc_allow_hosts;
    sc->bc_allow_internal =
        add->bc_allow_internal != NULL ? add->bc_allow_internal : base->bc_allow_internal;
    sc->template_dir = add->template_dir != NULL ? add->template_dir : base->template_dir;
    sc->pages = add->pages != NULL ? add->pages : base->pages;
    sc->language = add->language != NULL ? add->language : base->language;
    sc->brand_name = add->brand_name != NULL ? add->brand_name : base->brand_name;
    sc->brand_logo = add->brand_logo != NULL ? add->brand_logo : base->brand_logo;
    /* keys and store are runtime state, set later for every server */
    return sc;
}

void *orgs_config_create_dir(apr_pool_t *p, char *dir)
{
    orgs_dir_cfg_t *dc = apr_pcalloc(p, sizeof(*dc));

    dc->unauthenticated = ORGS_UNSET;
    dc->pass_headers = ORGS_UNSET;
    dc->strip_cookies = ORGS_UNSET;
    dc->private_responses = ORGS_UNSET;
    dc->location = dir;
    return dc;
}

void *orgs_config_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    const orgs_dir_cfg_t *base = basev, *add = addv;
    orgs_dir_cfg_t *dc = apr_pcalloc(p, sizeof(*dc));

    dc->organization = add->organization != NULL ? add->organization : base->organization;
    dc->unauthenticated =
        add->unauthenticated != ORGS_UNSET ? add->unauthenticated : base->unauthenticated;
    dc->pass_headers = add->pass_headers != ORGS_UNSET ? add->pass_headers : base->pass_headers;
    dc->error_url = add->error_url != NULL ? add->error_url : base->error_url;
    dc->strip_cookies = add->strip_cookies != ORGS_UNSET ? add->strip_cookies : base->strip_cookies;
    dc->private_responses =
        add->private_responses != ORGS_UNSET ? add->private_responses : base->private_responses;
    dc->location = add->location != NULL ? add->location : base->location;
    return dc;
}

/* ---- per-directory accessors ----------------------------------------- */

const char *orgs_dir_organization(request_rec *r, const orgs_dir_cfg_t *dc)
{
    const char *experr = NULL, *name;

    if (!dc || !dc->organization) {
        return NULL;
    }
    name = ap_expr_str_exec(r, dc->organization, &experr);
    if (experr) {
        orgs_log_rerror(r, APLOG_ERR, 0,
                        ORGSLOGNO(00020) "OrgsOrganization: cannot evaluate expression: %s",
                        experr);
        return NULL;
    }
    return (name && *name) ? name : NULL;
}

int orgs_dir_unauthenticated(const orgs_dir_cfg_t *dc)
{
    return (dc && dc->unauthenticated != ORGS_UNSET) ? dc->unauthenticated : ORGS_UNAUTH_LOGIN;
}

int orgs_dir_pass_headers(const orgs_dir_cfg_t *dc)
{
    return (dc && dc->pass_headers != ORGS_UNSET) ? dc->pass_headers : 0;
}

const char *orgs_dir_error_url(const orgs_dir_cfg_t *dc)
{
    return dc ? dc->error_url : NULL;
}

int orgs_dir_strip_cookies(const orgs_dir_cfg_t *dc)
{
    return (dc && dc->strip_cookies != ORGS_UNSET) ? dc->strip_cookies : 1;
}

int orgs_dir_private_responses(const orgs_dir_cfg_t *dc)
{
    return (dc && dc->private_responses != ORGS_UNSET) ? dc->private_responses : 1;
}

/* ---- cross-directive checks ------------------------------------------ */

/* The server a configuration node belongs to: the <VirtualHost> enclosing
 * it (matched through the file and line httpd records for each vhost), or
 * the main server. */
static server_rec *node_server(const ap_directive_t *node, server_rec *main_s)
{
    for (; node; node = node->parent) {
        if (strcasecmp(node->directive, "<VirtualHost") == 0) {
            for (server_rec *s = main_s->next; s; s = s->next) {
                if (s->defn_name && node->filename && strcmp(s->defn_name, node->filename) == 0 &&
                    s->defn_line_number == (unsigned)node->line_num) {
                    return s;
                }
            }
            return NULL;
        }
    }
    return main_s;
}

/* Every AuthType orgs in the configuration needs its server's store and key. */
static int check_auth_type_uses(const ap_directive_t *node, server_rec *main_s, apr_pool_t *ptemp)
{
    for (; node; node = node->next) {
        if (strcasecmp(node->directive, "AuthType") == 0 && node->args) {
            const char *args = node->args;
            const char *type = ap_getword_conf(ptemp, &args);
            if (strcasecmp(type, "orgs") == 0) {
                server_rec *s = node_server(node, main_s);
                const orgs_srv_cfg_t *sc = s ? orgs_srv_cfg(s) : NULL;
                if (sc && !sc->store_dir) {
                    orgs_log_error(s, APLOG_CRIT, 0,
                                   ORGSLOGNO(00001) "OrgsStore: required because AuthType orgs "
                                                    "is used (%s:%d)",
                                   node->filename, node->line_num);
                    return HTTP_INTERNAL_SERVER_ERROR;
                }
                if (sc && !sc->key_source) {
                    orgs_log_error(s, APLOG_CRIT, 0,
                                   ORGSLOGNO(00002) "OrgsCryptoKey: required because AuthType "
                                                    "orgs is used (%s:%d)",
                                   node->filename, node->line_num);
                    return HTTP_INTERNAL_SERVER_ERROR;
                }
            }
        }
        if (node->first_child && check_auth_type_uses(node->first_child, main_s, ptemp) != OK) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

static void apply_defaults(orgs_srv_cfg_t *sc)
{
    if (sc->store_max_size == 0) {
        sc->store_max_size = ORGS_STORE_DEFAULT_MAP_SIZE;
    }
    if (!sc->endpoint) {
        sc->endpoint = ORGS_DEFAULT_ENDPOINT;
    }
    if (sc->session_idle == ORGS_UNSET) {
        sc->session_idle = ORGS_DEFAULT_SESSION_IDLE;
    }
    if (sc->session_max_age == ORGS_UNSET) {
        sc->session_max_age = ORGS_DEFAULT_SESSION_MAX_AGE;
    }
    if (sc->login_timeout == ORGS_UNSET) {
        sc->login_timeout = ORGS_DEFAULT_LOGIN_TIMEOUT;
    }
    if (sc->login_in_store == ORGS_UNSET) {
        sc->login_in_store = 0;
    }
    if (sc->replica_max_lag == ORGS_UNSET) {
        sc->replica_max_lag = ORGS_DEFAULT_REPLICA_MAX_LAG;
    }
    default_count(&sc->quota.users_per_conn, ORGS_DEFAULT_USERS_PER_CONN);
    default_count(&sc->quota.new_users_per_min, ORGS_DEFAULT_NEW_USERS_PER_MIN);
    default_count(&sc->quota.users_per_org, ORGS_DEFAULT_USERS_PER_ORG);
    default_count(&sc->quota.sessions_per_org, ORGS_DEFAULT_SESSIONS_PER_ORG);
    default_count(&sc->pending_per_client, ORGS_DEFAULT_PENDING_PER_CLIENT);
    default_count(&sc->pending_per_network, ORGS_DEFAULT_PENDING_PER_NETWORK);
    default_count(&sc->admin_writes_per_min, ORGS_DEFAULT_ADMIN_WRITES_PER_MIN);
    if (sc->user_purge_after == ORGS_UNSET) {
        sc->user_purge_after = ORGS_DEFAULT_USER_PURGE_AFTER;
    }
    if (sc->audit_max_age == ORGS_UNSET) {
        sc->audit_max_age = ORGS_DEFAULT_AUDIT_MAX_AGE;
    }
    if (sc->sweep_interval == ORGS_UNSET) {
        sc->sweep_interval = ORGS_DEFAULT_SWEEP_INTERVAL;
    }
    default_count(&sc->audit_per_org, ORGS_STORE_AUDIT_PER_ORG_DEFAULT);
    default_count(&sc->invites_per_org, ORGS_STORE_INVITES_PER_ORG_DEFAULT);
    if (sc->bc_connect_timeout == ORGS_UNSET) {
        sc->bc_connect_timeout = ORGS_DEFAULT_BC_CONNECT_TIMEOUT;
    }
    if (sc->bc_timeout == ORGS_UNSET) {
        sc->bc_timeout = ORGS_DEFAULT_BC_TIMEOUT;
    }
    if (sc->status_conn_names == ORGS_UNSET) {
        sc->status_conn_names = 0;
    }
    if (sc->bc_max_concurrent == ORGS_UNSET) {
        sc->bc_max_concurrent = ORGS_DEFAULT_BC_MAX_CONCURRENT;
    }
}

int orgs_config_check(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    /* first: without its replica, a PostgreSQL store has no directory */
    for (server_rec *vs = s; vs; vs = vs->next) {
        if (orgs_replica_check(vs, orgs_srv_cfg(vs)) != OK) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    if (check_auth_type_uses(ap_conftree, s, ptemp) != OK ||
        orgs_config_pages_check(pconf, s) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (server_rec *vs = s; vs; vs = vs->next) {
        orgs_srv_cfg_t *sc = orgs_srv_cfg(vs);
        apply_defaults(sc);
        /* one LMDB environment per directory per process, and its sealed
         * secrets open with one key only */
        for (server_rec *ps = s; ps != vs; ps = ps->next) {
            const orgs_srv_cfg_t *pc = orgs_srv_cfg(ps);
            if (sc->store_dir && pc->store_dir && strcmp(sc->store_dir, pc->store_dir) == 0 &&
                ((sc->key_source == NULL) != (pc->key_source == NULL) ||
                 (sc->key_source && strcmp(sc->key_source, pc->key_source) != 0))) {
                orgs_log_error(vs, APLOG_CRIT, 0,
                               ORGSLOGNO(00003) "OrgsCryptoKey: servers sharing OrgsStore %s "
                                                "must use the same key",
                               sc->store_dir);
                return HTTP_INTERNAL_SERVER_ERROR;
            }
            if (sc->store_dir && pc->store_dir && strcmp(sc->store_dir, pc->store_dir) == 0 &&
                sc->store_max_size != pc->store_max_size) {
                orgs_log_error(vs, APLOG_CRIT, 0,
                               ORGSLOGNO(00004) "OrgsStoreMaxSize: servers sharing OrgsStore %s "
                                                "must use the same size",
                               sc->store_dir);
                return HTTP_INTERNAL_SERVER_ERROR;
            }
        }
        /* pending logins may take a quarter of the map (the store bounds
         * them so): that must be room for a useful number of them */
        if (sc->store_dir &&
            orgs_store_pending_max_for(sc->store_max_size) < ORGS_STORE_PENDING_MIN) {
            orgs_log_error(
                vs, APLOG_CRIT, 0,
                ORGSLOGNO(00600) "OrgsStoreMaxSize: %" APR_UINT64_T_FMT
                                 " bytes hold only %" APR_SIZE_T_FMT
                                 " sign-ins in progress (a quarter of the map, %d "
                                 "bytes each); at least %d are needed: set it to %dM "
                                 "or more",
                sc->store_max_size, orgs_store_pending_max_for(sc->store_max_size),
                ORGS_STORE_PENDING_BYTES, ORGS_STORE_PENDING_MIN,
                (int)(((apr_uint64_t)ORGS_STORE_PENDING_MIN * ORGS_STORE_PENDING_BYTES * 4 +
                       (1 << 20) - 1) >>
                      20));
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (sc->store_pg && sc->login_in_store) {
            orgs_log_error(vs, APLOG_CRIT, 0,
                           ORGSLOGNO(00006) "OrgsLoginState store: a PostgreSQL store's nodes "
                                            "keep sign-ins in progress in the browser's cookie, "
                                            "so that any node takes the callback; remove the "
                                            "directive or set it to cookie");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (sc->session_idle > sc->session_max_age) {
            orgs_log_error(vs, APLOG_WARNING, 0,
                           ORGSLOGNO(00005) "OrgsSessionIdleTimeout is longer than "
                                            "OrgsSessionMaxAge: sessions end at OrgsSessionMaxAge");
        }
    }
    return OK;
}
