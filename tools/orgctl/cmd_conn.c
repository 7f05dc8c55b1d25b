/* orgctl conn ...: connections (enterprise OpenID Providers). The client
 * secret comes from a file or the environment, never from argv, and is
 * never printed. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "checks.h"
#include "orgctl.h"
#include "parse.h"
#include "text.h"

/* A secret file is read up to this size: the secret (at most
 * ORGS_CONN_SECRET_MAX bytes) and whatever whitespace it ends with. */
#define SECRET_FILE_MAX 4096

typedef struct secret_buf_t {
    char *s;
    apr_size_t size;
} secret_buf_t;

static apr_status_t cleanse_secret(void *data)
{
    secret_buf_t *b = data;
    orgs_crypto_cleanse(b->s, b->size);
    return APR_SUCCESS;
}

/* A zeroed buffer of size bytes, cleansed when the pool goes. */
static char *secret_buf(cli_t *c, apr_size_t size)
{
    secret_buf_t *b = apr_palloc(c->p, sizeof(*b));
    b->s = apr_pcalloc(c->p, size);
    b->size = size;
    apr_pool_cleanup_register(c->p, b, cleanse_secret, apr_pool_cleanup_null);
    return b->s;
}

/* The client secret, from --client-secret-file F ("-" = stdin) or
 * --client-secret-env VAR; never from argv, so it shows in no process
 * list or shell history. The trailing newline (and any whitespace) a file
 * or variable ends with is dropped; the rest must pass
 * orgs_check_conn_secret. Cleansed when the pool goes. *out is NULL when
 * neither option was given. */
static int read_secret(cli_t *c, const char **out)
{
    const char *file = cli_opt(c, "client-secret-file");
    const char *env = cli_opt(c, "client-secret-env");
    char *buf;
    apr_size_t len = 0;

    *out = NULL;
    if (file && env) {
        return cli_usage_fail(c,
                              "give either --client-secret-file or --client-secret-env, not both");
    }
    if (!file && !env) {
        return RC_OK;
    }
    if (env) {
        const char *v = getenv(env);
        if (!v || !*v) {
            return cli_fail(c, RC_ERROR, "environment variable %s is not set or empty", env);
        }
        len = strlen(v);
        buf = secret_buf(c, len + 1);
        memcpy(buf, v, len);
    } else {
        FILE *fp = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
        if (!fp) {
            return cli_fail(c, RC_ERROR, "cannot read client secret file '%s': %s", file,
                            strerror(errno));
        }
        buf = secret_buf(c, SECRET_FILE_MAX + 2);
        len = fread(buf, 1, SECRET_FILE_MAX + 1, fp);
        int bad = ferror(fp);
        if (fp != stdin) {
            fclose(fp);
        }
        if (bad) {
            return cli_fail(c, RC_ERROR, "cannot read client secret file '%s'", file);
        }
        if (len > SECRET_FILE_MAX) {
            return cli_fail(c, RC_ERROR, "client secret file '%s' is longer than %d bytes", file,
                            SECRET_FILE_MAX);
        }
    }
    len = orgs_text_trim_trailing_space((const unsigned char *)buf, len);
    buf[len] = '\0';
    if (orgs_check_conn_secret(buf, len, &c->err) != APR_SUCCESS) {
        return cli_fail_parse(c);
    }
    *out = buf;
    return RC_OK;
}

/* ---- conn ------------------------------------------------------------- */

/* --allow-endpoint-host HOST (repeatable): the hosts besides the issuer's
 * origin where this connection's token endpoint and JWKS may be; given,
 * they replace the connection's list. --clear-endpoint-hosts empties it.
 * cn->endpoint_hosts stays NULL (unchanged) when neither is given. */
static int endpoint_hosts(cli_t *c, orgs_conn_t *cn)
{
    apr_array_header_t *hosts = cli_opt_all(c, "allow-endpoint-host");
    int clear = cli_opt(c, "clear-endpoint-hosts") != NULL;
    if (clear && hosts && hosts->nelts > 0) {
        return cli_usage_fail(c, "--allow-endpoint-host and --clear-endpoint-hosts exclude each "
                                 "other (the hosts given replace the list)");
    }
    if (clear) {
        cn->endpoint_hosts = apr_array_make(c->p, 1, sizeof(const char *));
    } else if (hosts && hosts->nelts > 0 &&
               orgs_check_endpoint_hosts_normalize(hosts, &cn->endpoint_hosts, c->p, &c->err) !=
                   APR_SUCCESS) {
        return cli_fail_parse(c);
    }
    return RC_OK;
}

static int conn_fields(cli_t *c, orgs_conn_t *cn)
{
    int rc;
    cn->display_name = cli_opt(c, "display-name");
    cn->issuer = cli_opt(c, "issuer");
    cn->client_id = cli_opt(c, "client-id");
    cn->scopes = cli_opt(c, "scopes");
    cn->auth_method = cli_opt(c, "auth-method");
    if ((rc = cli_check_display_name(c, cn->display_name)) != RC_OK) {
        return rc;
    }
    if ((cn->auth_method && orgs_check_conn_auth_method(cn->auth_method, &c->err)) ||
        (cn->scopes && orgs_check_conn_scopes(cn->scopes, &c->err)) ||
        (cn->issuer && orgs_check_issuer_url(cn->issuer, &c->err)) ||
        (cn->client_id && orgs_check_conn_client_id(cn->client_id, &c->err))) {
        return cli_fail_parse(c);
    }
    if ((rc = endpoint_hosts(c, cn)) != RC_OK) {
        return rc;
    }
    return read_secret(c, &cn->client_secret);
}

int cmd_conn_create(cli_t *c)
{
    orgs_conn_t cn;
    int rc;
    memset(&cn, 0, sizeof(cn));
    cn.name = cli_arg(c, 0);
    if (orgs_check_slug(cn.name, &c->err) != APR_SUCCESS) {
        return cli_fail_parse(c);
    }
    if ((rc = conn_fields(c, &cn)) != RC_OK) {
        return rc;
    }
    if (!cn.issuer || !cn.client_id) {
        return cli_usage_fail(c, "--issuer and --client-id are required");
    }
    if (!cn.client_secret) {
        return cli_usage_fail(c, "a client secret is required (--client-secret-file F or "
                                 "--client-secret-env VAR)");
    }
    if ((rc = cli_idp_check_or_fail(c, cn.issuer, cn.endpoint_hosts)) != RC_OK) {
        return rc;
    }
    apr_status_t rv = orgs_store_conn_create(c->st, &cn, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return cli_result(c, rv, "connection '%s'", cn.name);
    }
    return out_id(c, cn.id);
}

int cmd_conn_list(cli_t *c)
{
    apr_array_header_t *conns;
    apr_status_t rv = orgs_store_conn_list(c->st, &conns, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return cli_fail_rv(c, rv, NULL);
    }
    if (c->json) {
        json_t *arr = json_array();
        for (int i = 0; i < conns->nelts; i++) {
            arr = out_push(arr, orgs_json_conn(APR_ARRAY_IDX(conns, i, orgs_conn_t *)));
        }
        return out_json_new(c, arr);
    }
    static const char *const hdr[] = {"NAME", "ID", "ISSUER", "CLIENT ID", "DISPLAY NAME"};
    out_table_t *t = out_table_make(c->p, 5, hdr);
    for (int i = 0; i < conns->nelts; i++) {
        const orgs_conn_t *cn = APR_ARRAY_IDX(conns, i, orgs_conn_t *);
        out_table_row(t, cn->name, cn->id, cn->issuer, cn->client_id, cn->display_name);
    }
    out_table_print(t);
    return RC_OK;
}

/* The orgs on which a connection is enabled (a scan of orgs: fine for an
 * admin tool, never done on the request path). */
static apr_status_t conn_orgs(cli_t *c, const char *conn_id, apr_array_header_t **names,
                              json_t *arr)
{
    apr_array_header_t *orgs, *ecs;
    apr_status_t rv = orgs_store_org_list(c->st, &orgs, c->p, &c->err);
    *names = apr_array_make(c->p, 4, sizeof(const char *));
    for (int i = 0; rv == APR_SUCCESS && i < orgs->nelts; i++) {
        const orgs_org_t *o = APR_ARRAY_IDX(orgs, i, orgs_org_t *);
        rv = orgs_store_org_conns(c->st, o->id, &ecs, c->p, &c->err);
        for (int k = 0; rv == APR_SUCCESS && k < ecs->nelts; k++) {
            const orgs_enabled_conn_t *e = APR_ARRAY_IDX(ecs, k, orgs_enabled_conn_t *);
            if (strcmp(e->conn_id, conn_id) != 0) {
                continue;
            }
            APR_ARRAY_PUSH(*names, const char *) =
                apr_pstrcat(c->p, o->name, e->auto_membership ? " (auto-membership)" : "", NULL);
            json_t *j = json_object();
            j = out_set(j, "id", out_jstr(o->id));
            j = out_set(j, "name", out_jstr(o->name));
            j = out_set(j, "auto_membership", json_boolean(e->auto_membership));
            json_array_append_new(arr, j);
        }
    }
    return rv;
}

int cmd_conn_show(cli_t *c)
{
    orgs_conn_t *cn;
    apr_array_header_t *names = NULL;
    const char *ref = cli_arg(c, 0);
    json_t *orgs = json_array();
    apr_status_t rv = orgs_store_conn_get(c->st, ref, &cn, c->p, &c->err);
    if (rv == APR_SUCCESS) {
        rv = conn_orgs(c, cn->id, &names, orgs);
    }
    if (rv != APR_SUCCESS) {
        json_decref(orgs);
        return cli_result(c, rv, "connection '%s'", ref);
    }
    if (c->json) {
        json_t *j = out_set(orgs_json_conn(cn), "organizations", orgs);
        return out_json_new(c, j);
    }
    json_decref(orgs);
    out_kv(c->p, "id", cn->id);
    out_kv(c->p, "name", cn->name);
    out_kv(c->p, "display_name", cn->display_name);
    out_kv(c->p, "issuer", cn->issuer);
    out_kv(c->p, "client_id", cn->client_id);
    out_kv(c->p, "client_secret", "(set)");
    out_kv(c->p, "scopes", cn->scopes);
    out_kv(c->p, "auth_method", cn->auth_method);
    if (cn->endpoint_hosts && cn->endpoint_hosts->nelts > 0) {
        out_kv_list(c->p, "endpoint_hosts", cn->endpoint_hosts);
    }
    out_kv_list(c->p, "organizations", names);
    out_kv(c->p, "created", out_time(c->p, cn->created));
    out_kv(c->p, "updated", out_time(c->p, cn->updated));
    return RC_OK;
}

int cmd_conn_update(cli_t *c)
{
    orgs_conn_t upd;
    const char *ref = cli_arg(c, 0);
    int rc;
    memset(&upd, 0, sizeof(upd));
    if ((rc = conn_fields(c, &upd)) != RC_OK) {
        return rc;
    }
    if (!upd.display_name && !upd.issuer && !upd.client_id && !upd.scopes && !upd.auth_method &&
        !upd.client_secret && !upd.endpoint_hosts) {
        return cli_usage_fail(c, "nothing to update");
    }
    unsigned flags = (cli_opt(c, "migrate-users") ? ORGS_CONN_MIGRATE_USERS : 0) |
                     (cli_opt(c, "drop-users") ? ORGS_CONN_DROP_USERS : 0);
    if (flags == (ORGS_CONN_MIGRATE_USERS | ORGS_CONN_DROP_USERS)) {
        return cli_usage_fail(c, "--migrate-users and --drop-users exclude each other");
    }
    if (flags && !upd.issuer) {
        return cli_usage_fail(c, "--migrate-users and --drop-users go with --issuer");
    }
    if (upd.issuer && !cli_opt(c, "no-check")) {
        /* checked with the hosts the connection will allow */
        const apr_array_header_t *hosts = upd.endpoint_hosts;
        orgs_conn_t *cur;
        if (!hosts && orgs_store_conn_get(c->st, ref, &cur, c->p, &c->err) == APR_SUCCESS) {
            hosts = cur->endpoint_hosts;
        }
        if ((rc = cli_idp_check_or_fail(c, upd.issuer, hosts)) != RC_OK) {
            return rc;
        }
    }
    apr_status_t rv = orgs_store_conn_update_flags(c->st, ref, &upd, flags, c->p, &c->err);
    return cli_result(c, rv, "connection '%s'", ref);
}

int cmd_conn_delete(cli_t *c)
{
    const char *ref = cli_arg(c, 0);
    orgs_conn_t *cn;
    int rc;
    apr_status_t rv = orgs_store_conn_get(c->st, ref, &cn, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return cli_result(c, rv, "connection '%s'", ref);
    }
    rc = cli_confirm(c, apr_psprintf(c->p,
                                     "Delete connection '%s' (%s) with its users, their "
                                     "memberships and sessions, and its enablements?",
                                     cn->name, cn->issuer));
    if (rc != RC_OK) {
        return rc;
    }
    rv = orgs_store_conn_delete(c->st, cn->id, c->p, &c->err);
    return cli_result(c, rv, "connection '%s'", ref);
}
