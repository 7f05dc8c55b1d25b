/* orgctl: command-line administration of the mod_auth_orgs store, built on
 * the same core library as the module (design.md, Administration).
 *
 * Safe while httpd runs: every command is one (or a few) LMDB transactions
 * and LMDB serializes writers. Read commands open the store read-only and
 * never create anything.
 *
 * Output contract: plain aligned tables for humans, --json for scripts,
 * ids alone on stdout from the commands that create objects, and on any
 * failure exactly one line `orgctl: <command>: <reason>` on stderr with a
 * documented exit code (see docs/orgctl.md). Secrets are never printed. */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_file_info.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <jansson.h>

#include "orgs.h"
#include "crypto.h"
#include "parse.h"
#include "store.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

/* Exit codes scripts can rely on (design.md). */
enum {
    RC_OK = 0,
    RC_ERROR = 1,
    RC_USAGE = 2,
    RC_NOTFOUND = 3,
    RC_CONFLICT = 4,
    RC_STORE = 5,
};

enum { STORE_NONE, STORE_READ, STORE_WRITE };

/* When the crypto key is loaded: never, when configured, always (error if
 * missing), or only when the command writes a client secret. */
enum { KEY_NONE, KEY_OPTIONAL, KEY_REQUIRED, KEY_IF_SECRET };

#define SECRET_MAX 4096
#define MAP_SIZE_MIN ((apr_uint64_t)1 << 20)
#define INVITE_TTL_DEFAULT "7d"

typedef struct cli_t cli_t;
typedef int (*cmd_fn_t)(cli_t *c);

typedef struct command_t {
    const char *group;
    const char *verb;       /* NULL for one-word commands */
    const char *opts;       /* "name=" takes a value, "name=*" repeatable, "name" a flag */
    int min_args, max_args; /* positional arguments; -1 = no maximum */
    int store;
    int key;
    cmd_fn_t fn;
    const char *usage; /* what follows the command words */
} command_t;

struct cli_t {
    apr_pool_t *p;
    const command_t *cmd;
    const char *name; /* "org create": prefix of every error line */
    const char *store_dir;
    const char *key_file;
    const char *max_size;
    int json;
    int help;
    int version;
    apr_table_t *opts;        /* command options by name (without "--") */
    apr_array_header_t *args; /* positional arguments, const char * */
    orgs_store_t *st;
    orgs_crypto_keys_t *keys;
    apr_uint64_t map_size;
    orgs_err_t err;
};

/* ---- errors ----------------------------------------------------------- */

/* Prints the one error line. Control characters (a newline in a value
 * echoed back, say) are replaced so it stays exactly one line. */
static int fail(cli_t *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(cli_t *c, int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    apr_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    for (char *s = msg; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            *s = ' ';
        }
    }
    fprintf(stderr, "orgctl: %s: %s\n", c->name ? c->name : "usage", msg);
    return code;
}

static int usage_fail(cli_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_fail(cli_t *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    apr_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->cmd) {
        return fail(c, RC_USAGE, "%s (usage: orgctl %s%s%s)", msg, c->name,
                    *c->cmd->usage ? " " : "", c->cmd->usage);
    }
    return fail(c, RC_USAGE, "%s (see orgctl %s%s--help)", msg, c->name ? c->name : "",
                c->name ? " " : "");
}

static int rc_for(apr_status_t rv)
{
    switch (rv) {
    case APR_SUCCESS:
        return RC_OK;
    case APR_NOTFOUND:
        return RC_NOTFOUND;
    case APR_EEXIST:
        return RC_CONFLICT;
    case ORGS_ESTORE:
    case ORGS_ESTOREFULL:
    case ORGS_EVERSION:
        return RC_STORE;
    default:
        return RC_ERROR;
    }
}

/* Whether msg already names one of the 'quoted' values of what, so the
 * context would only repeat it. */
static int names_any(const char *what, const char *msg)
{
    char ref[256];
    const char *q = what;
    while (q && (q = strchr(q, '\'')) != NULL) {
        const char *end = strchr(q + 1, '\'');
        if (!end) {
            break;
        }
        apr_size_t n = (apr_size_t)(end - q - 1);
        if (n > 0 && n < sizeof(ref)) {
            memcpy(ref, q + 1, n);
            ref[n] = '\0';
            if (strstr(msg, ref)) {
                return 1;
            }
        }
        q = end + 1;
    }
    return 0;
}

/* Reports a failed core call: the detail in c->err if any, else the
 * status text, prefixed with what was being done unless the detail
 * already names it. */
static int fail_rv(cli_t *c, apr_status_t rv, const char *what)
{
    char buf[256];
    if (what && c->err.msg[0] && rv != ORGS_ESTOREFULL && names_any(what, c->err.msg)) {
        what = NULL;
    }
    const char *reason = c->err.msg[0] ? c->err.msg : orgs_strerror(rv, buf, sizeof(buf));
    if (rv == APR_NOTFOUND && !c->err.msg[0]) {
        reason = "not found";
    } else if (rv == APR_EEXIST && !c->err.msg[0]) {
        reason = "already exists";
    }
    if (rv == ORGS_ESTOREFULL) {
        return fail(c, RC_STORE,
                    "%s%sthe store is full: rerun with a bigger --max-size (now %" APR_UINT64_T_FMT
                    " bytes) and raise OrgsStoreMaxSize in httpd.conf to the same size",
                    what ? what : "", what ? ": " : "", c->map_size);
    }
    return fail(c, rc_for(rv), "%s%s%s", what ? what : "", what ? ": " : "", reason);
}

static int fail_parse(cli_t *c)
{
    return fail(c, RC_ERROR, "%s", c->err.msg[0] ? c->err.msg : "invalid value");
}

/* ---- small helpers ---------------------------------------------------- */

static const char *arg(cli_t *c, int i)
{
    return i < c->args->nelts ? APR_ARRAY_IDX(c->args, i, const char *) : NULL;
}

static const char *opt(cli_t *c, const char *name)
{
    return apr_table_get(c->opts, name);
}

static int collect_value(void *rec, const char *key, const char *value)
{
    APR_ARRAY_PUSH((apr_array_header_t *)rec, const char *) = value;
    return 1;
}

/* Every value of a repeatable option, in command-line order. */
static apr_array_header_t *opt_all(cli_t *c, const char *name)
{
    apr_array_header_t *a = apr_array_make(c->p, 4, sizeof(const char *));
    apr_table_do(collect_value, a, c->opts, name, NULL);
    return a;
}

static const char *fmt_time(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;
    if (t == 0) {
        return "-";
    }
    apr_time_exp_gmt(&tm, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Values that reach the terminal may come from an IdP (user names):
 * control characters are replaced so they cannot drive the terminal. */
static const char *safe(apr_pool_t *p, const char *s)
{
    char *out;
    if (!s || !*s) {
        return "-";
    }
    out = apr_pstrdup(p, s);
    for (char *q = out; *q; q++) {
        if ((unsigned char)*q < 0x20 || *q == 0x7f) {
            *q = '?';
        }
    }
    return out;
}

static const char *join(apr_pool_t *p, const apr_array_header_t *a, const char *sep)
{
    const char *s = NULL;
    if (!a) {
        return "";
    }
    for (int i = 0; i < a->nelts; i++) {
        const char *v = APR_ARRAY_IDX(a, i, const char *);
        s = s ? apr_pstrcat(p, s, sep, v, NULL) : v;
    }
    return s ? s : "";
}

/* ---- tables and key/value blocks for humans ---------------------------- */

typedef struct table_t {
    apr_pool_t *p;
    int ncols;
    apr_array_header_t *cells; /* const char *, row-major, header first */
} table_t;

static table_t *table_make(apr_pool_t *p, int ncols, const char *const *header)
{
    table_t *t = apr_pcalloc(p, sizeof(*t));
    t->p = p;
    t->ncols = ncols;
    t->cells = apr_array_make(p, 8 * ncols, sizeof(const char *));
    for (int i = 0; i < ncols; i++) {
        APR_ARRAY_PUSH(t->cells, const char *) = header[i];
    }
    return t;
}

static void table_row(table_t *t, ...)
{
    va_list ap;
    va_start(ap, t);
    for (int i = 0; i < t->ncols; i++) {
        APR_ARRAY_PUSH(t->cells, const char *) = safe(t->p, va_arg(ap, const char *));
    }
    va_end(ap);
}

/* Display width: UTF-8 continuation bytes take no column. */
static apr_size_t width(const char *s)
{
    apr_size_t w = 0;
    for (; *s; s++) {
        w += ((unsigned char)*s & 0xC0) != 0x80;
    }
    return w;
}

static void table_print(const table_t *t)
{
    apr_size_t *w = apr_pcalloc(t->p, t->ncols * sizeof(*w));
    int n = t->cells->nelts;
    for (int i = 0; i < n; i++) {
        apr_size_t cw = width(APR_ARRAY_IDX(t->cells, i, const char *));
        if (cw > w[i % t->ncols]) {
            w[i % t->ncols] = cw;
        }
    }
    for (int i = 0; i < n; i++) {
        const char *s = APR_ARRAY_IDX(t->cells, i, const char *);
        int col = i % t->ncols;
        fputs(s, stdout);
        if (col == t->ncols - 1) {
            fputc('\n', stdout);
        } else {
            for (apr_size_t k = width(s); k < w[col] + 2; k++) {
                fputc(' ', stdout);
            }
        }
    }
}

/* "key:   value" lines; several values continue under the first. */
static void kv_print(apr_pool_t *p, const char *key, const char *value)
{
    char label[64];
    apr_snprintf(label, sizeof(label), "%s:", key);
    printf("%-16s%s\n", label, safe(p, value));
}

static void kv_print_list(apr_pool_t *p, const char *key, const apr_array_header_t *values)
{
    if (!values || values->nelts == 0) {
        kv_print(p, key, NULL);
        return;
    }
    for (int i = 0; i < values->nelts; i++) {
        const char *v = safe(p, APR_ARRAY_IDX(values, i, const char *));
        if (i == 0) {
            kv_print(p, key, v);
        } else {
            printf("%-16s%s\n", "", v);
        }
    }
}

/* ---- JSON ------------------------------------------------------------- */

static json_t *jstr(const char *s)
{
    json_t *j = s ? json_string(s) : NULL;
    return j ? j : json_null();
}

static json_t *jtime(apr_pool_t *p, apr_time_t t)
{
    return t ? json_string(fmt_time(p, t)) : json_null();
}

static json_t *jstrings(const apr_array_header_t *a)
{
    json_t *arr = json_array();
    for (int i = 0; a && i < a->nelts; i++) {
        json_array_append_new(arr, jstr(APR_ARRAY_IDX(a, i, const char *)));
    }
    return arr;
}

/* Prints and releases j (steals the reference). */
static int emit_json(cli_t *c, json_t *j)
{
    int rv = j ? json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : -1;
    json_decref(j);
    if (rv != 0) {
        return fail(c, RC_ERROR, "cannot write JSON output");
    }
    fputc('\n', stdout);
    return RC_OK;
}

static json_t *org_json(apr_pool_t *p, const orgs_org_t *o)
{
    json_t *meta = json_object();
    for (int i = 0; o->meta && i < o->meta->nelts; i++) {
        const orgs_kv_t *kv = &APR_ARRAY_IDX(o->meta, i, orgs_kv_t);
        json_object_set_new(meta, kv->key, jstr(kv->value));
    }
    json_t *j = json_object();
    json_object_set_new(j, "id", jstr(o->id));
    json_object_set_new(j, "name", jstr(o->name));
    json_object_set_new(j, "display_name", jstr(o->display_name));
    json_object_set_new(j, "metadata", meta);
    json_object_set_new(j, "domains", jstrings(o->domains));
    json_object_set_new(j, "created", jtime(p, o->created));
    json_object_set_new(j, "updated", jtime(p, o->updated));
    return j;
}

/* Never includes the secret: only whether one is stored. */
static json_t *conn_json(apr_pool_t *p, const orgs_conn_t *cn)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", jstr(cn->id));
    json_object_set_new(j, "name", jstr(cn->name));
    json_object_set_new(j, "display_name", jstr(cn->display_name));
    json_object_set_new(j, "issuer", jstr(cn->issuer));
    json_object_set_new(j, "client_id", jstr(cn->client_id));
    json_object_set_new(j, "client_secret_set", json_true());
    json_object_set_new(j, "scopes", jstr(cn->scopes));
    json_object_set_new(j, "auth_method", jstr(cn->auth_method));
    json_object_set_new(j, "created", jtime(p, cn->created));
    json_object_set_new(j, "updated", jtime(p, cn->updated));
    return j;
}

static json_t *user_json(apr_pool_t *p, const orgs_user_t *u, const char *conn_name)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", jstr(u->id));
    json_object_set_new(j, "connection_id", jstr(u->conn_id));
    json_object_set_new(j, "connection", jstr(conn_name));
    json_object_set_new(j, "sub", jstr(u->sub));
    json_object_set_new(j, "email", jstr(u->email));
    json_object_set_new(j, "name", jstr(u->name));
    json_object_set_new(j, "created", jtime(p, u->created));
    json_object_set_new(j, "last_login", jtime(p, u->last_login));
    return j;
}

static json_t *invite_json(apr_pool_t *p, const orgs_invite_t *inv)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", jstr(inv->id));
    json_object_set_new(j, "org_id", jstr(inv->org_id));
    json_object_set_new(j, "email", jstr(inv->email));
    json_object_set_new(j, "roles", jstrings(inv->roles));
    json_object_set_new(j, "created", jtime(p, inv->created));
    json_object_set_new(j, "expires", jtime(p, inv->expires));
    return j;
}

/* Prints a new object's id: alone on a line, or {"id": ...} with --json. */
static int print_id(cli_t *c, const char *id)
{
    if (c->json) {
        json_t *j = json_object();
        json_object_set_new(j, "id", jstr(id));
        return emit_json(c, j);
    }
    printf("%s\n", id);
    return RC_OK;
}

/* conn id -> name, for listings that show users. */
static apr_hash_t *conn_names(cli_t *c)
{
    apr_hash_t *h = apr_hash_make(c->p);
    apr_array_header_t *conns = NULL;
    orgs_err_t err = {{0}};
    if (orgs_store_conn_list(c->st, &conns, c->p, &err) == APR_SUCCESS) {
        for (int i = 0; i < conns->nelts; i++) {
            const orgs_conn_t *cn = APR_ARRAY_IDX(conns, i, const orgs_conn_t *);
            apr_hash_set(h, cn->id, APR_HASH_KEY_STRING, cn->name);
        }
    }
    return h;
}

/* ---- value parsing ---------------------------------------------------- */

/* --meta K=V options into orgs_kv_t (a later K replaces an earlier one);
 * *out stays NULL when none were given. */
static int parse_meta_opts(cli_t *c, apr_array_header_t **out)
{
    apr_array_header_t *vals = opt_all(c, "meta");
    *out = NULL;
    if (vals->nelts == 0) {
        return RC_OK;
    }
    *out = apr_array_make(c->p, vals->nelts, sizeof(orgs_kv_t));
    for (int i = 0; i < vals->nelts; i++) {
        char *k, *v;
        int j;
        if (orgs_parse_meta_pair(APR_ARRAY_IDX(vals, i, const char *), &k, &v, c->p, &c->err) !=
            APR_SUCCESS) {
            return fail_parse(c);
        }
        for (j = 0; j < (*out)->nelts; j++) {
            if (strcmp(APR_ARRAY_IDX(*out, j, orgs_kv_t).key, k) == 0) {
                APR_ARRAY_IDX(*out, j, orgs_kv_t).value = v;
                break;
            }
        }
        if (j == (*out)->nelts) {
            orgs_kv_t *kv = apr_array_push(*out);
            kv->key = k;
            kv->value = v;
        }
    }
    return RC_OK;
}

static int parse_roles(cli_t *c, const apr_array_header_t *in, apr_array_header_t **out)
{
    *out = apr_array_make(c->p, in->nelts ? in->nelts : 1, sizeof(const char *));
    for (int i = 0; i < in->nelts; i++) {
        const char *r = APR_ARRAY_IDX(in, i, const char *);
        if (orgs_parse_role(r, &c->err) != APR_SUCCESS) {
            return fail_parse(c);
        }
        APR_ARRAY_PUSH(*out, const char *) = r;
    }
    return RC_OK;
}

static int check_display_name(cli_t *c, const char *s)
{
    if (s && orgs_parse_display_name(s, &c->err) != APR_SUCCESS) {
        return fail_parse(c);
    }
    return RC_OK;
}

static apr_status_t cleanse_secret(void *data)
{
    char *s = data;
    orgs_crypto_cleanse(s, strlen(s));
    return APR_SUCCESS;
}

/* The client secret, from --client-secret-file F ("-" = stdin) or
 * --client-secret-env VAR; never from argv, so it shows in no process
 * list or shell history. Cleansed when the pool goes. *out is NULL when
 * neither option was given. */
static int read_secret(cli_t *c, const char **out)
{
    const char *file = opt(c, "client-secret-file");
    const char *env = opt(c, "client-secret-env");
    char *buf;
    apr_size_t len = 0;

    *out = NULL;
    if (file && env) {
        return usage_fail(c, "give either --client-secret-file or --client-secret-env, not both");
    }
    if (!file && !env) {
        return RC_OK;
    }
    buf = apr_pcalloc(c->p, SECRET_MAX + 2);
    apr_pool_cleanup_register(c->p, buf, cleanse_secret, apr_pool_cleanup_null);
    if (env) {
        const char *v = getenv(env);
        if (!v || !*v) {
            return fail(c, RC_ERROR, "environment variable %s is not set or empty", env);
        }
        len = strlen(v);
        if (len > SECRET_MAX) {
            return fail(c, RC_ERROR, "client secret longer than %d bytes", SECRET_MAX);
        }
        memcpy(buf, v, len);
    } else {
        FILE *fp = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
        if (!fp) {
            return fail(c, RC_ERROR, "cannot read client secret file '%s': %s", file,
                        strerror(errno));
        }
        len = fread(buf, 1, SECRET_MAX + 1, fp);
        int bad = ferror(fp);
        if (fp != stdin) {
            fclose(fp);
        }
        if (bad) {
            return fail(c, RC_ERROR, "cannot read client secret file '%s'", file);
        }
        if (len > SECRET_MAX) {
            return fail(c, RC_ERROR, "client secret longer than %d bytes", SECRET_MAX);
        }
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                       buf[len - 1] == '\t')) {
        buf[--len] = '\0';
    }
    if (len == 0) {
        return fail(c, RC_ERROR, "the client secret is empty");
    }
    if (memchr(buf, '\0', len)) {
        return fail(c, RC_ERROR, "the client secret contains a NUL byte");
    }
    *out = buf;
    return RC_OK;
}

static int check_auth_method(cli_t *c, const char *m)
{
    if (m && strcmp(m, "client_secret_basic") != 0 && strcmp(m, "client_secret_post") != 0) {
        return fail(c, RC_ERROR, "--auth-method must be client_secret_basic or client_secret_post");
    }
    return RC_OK;
}

static int check_scopes(cli_t *c, const char *s)
{
    if (!s) {
        return RC_OK;
    }
    if (!*s || strlen(s) > 1024) {
        return fail(c, RC_ERROR, "--scopes must be 1..1024 characters");
    }
    for (const char *q = s; *q; q++) {
        if ((unsigned char)*q <= 0x20 && *q != ' ') {
            return fail(c, RC_ERROR, "--scopes contains a control character");
        }
        if ((unsigned char)*q > 0x7e || *q == '"' || *q == '\\') {
            return fail(c, RC_ERROR, "--scopes contains a character not allowed in a scope");
        }
    }
    /* "openid" must be one of the space-separated scopes. */
    for (const char *q = s; (q = strstr(q, "openid")) != NULL; q += 6) {
        if ((q == s || q[-1] == ' ') && (q[6] == '\0' || q[6] == ' ')) {
            return RC_OK;
        }
    }
    return fail(c, RC_ERROR, "--scopes must include openid");
}

/* ---- org -------------------------------------------------------------- */

static int cmd_org_create(cli_t *c)
{
    orgs_org_t org;
    apr_array_header_t *domains = opt_all(c, "domain");
    int rc;

    memset(&org, 0, sizeof(org));
    org.name = arg(c, 0);
    org.display_name = opt(c, "display-name");
    if (orgs_parse_slug(org.name, &c->err) != APR_SUCCESS) {
        return fail_parse(c);
    }
    if ((rc = check_display_name(c, org.display_name)) != RC_OK ||
        (rc = parse_meta_opts(c, &org.meta)) != RC_OK) {
        return rc;
    }
    if (domains->nelts > 0) {
        org.domains = apr_array_make(c->p, domains->nelts, sizeof(const char *));
        for (int i = 0; i < domains->nelts; i++) {
            char *d;
            if (orgs_parse_domain(APR_ARRAY_IDX(domains, i, const char *), &d, c->p, &c->err) !=
                APR_SUCCESS) {
                return fail_parse(c);
            }
            APR_ARRAY_PUSH(org.domains, const char *) = d;
        }
    }
    apr_status_t rv = orgs_store_org_create(c->st, &org, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return fail_rv(c, rv, apr_psprintf(c->p, "org '%s'", org.name));
    }
    return print_id(c, org.id);
}

static int cmd_org_list(cli_t *c)
{
    apr_array_header_t *orgs;
    apr_status_t rv = orgs_store_org_list(c->st, &orgs, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return fail_rv(c, rv, NULL);
    }
    if (c->json) {
        json_t *arr = json_array();
        for (int i = 0; i < orgs->nelts; i++) {
            json_array_append_new(arr, org_json(c->p, APR_ARRAY_IDX(orgs, i, orgs_org_t *)));
        }
        return emit_json(c, arr);
    }
    static const char *const hdr[] = {"NAME", "ID", "DISPLAY NAME", "DOMAINS"};
    table_t *t = table_make(c->p, 4, hdr);
    for (int i = 0; i < orgs->nelts; i++) {
        const orgs_org_t *o = APR_ARRAY_IDX(orgs, i, orgs_org_t *);
        table_row(t, o->name, o->id, o->display_name, join(c->p, o->domains, ","));
    }
    table_print(t);
    return RC_OK;
}

static int cmd_org_show(cli_t *c)
{
    orgs_org_t *o;
    apr_array_header_t *conns;
    const char *ref = arg(c, 0);
    apr_status_t rv = orgs_store_org_get(c->st, ref, &o, c->p, &c->err);
    if (rv == APR_SUCCESS) {
        rv = orgs_store_org_conns(c->st, o->id, &conns, c->p, &c->err);
    }
    if (rv != APR_SUCCESS) {
        return fail_rv(c, rv, apr_psprintf(c->p, "org '%s'", ref));
    }
    if (c->json) {
        json_t *j = org_json(c->p, o);
        json_t *arr = json_array();
        for (int i = 0; i < conns->nelts; i++) {
            const orgs_enabled_conn_t *e = APR_ARRAY_IDX(conns, i, orgs_enabled_conn_t *);
            json_t *ej = json_object();
            json_object_set_new(ej, "id", jstr(e->conn_id));
            json_object_set_new(ej, "name", jstr(e->conn_name));
            json_object_set_new(ej, "display_name", jstr(e->conn_display_name));
            json_object_set_new(ej, "auto_membership", json_boolean(e->auto_membership));
            json_array_append_new(arr, ej);
        }
        json_object_set_new(j, "enabled_connections", arr);
        return emit_json(c, j);
    }
    apr_array_header_t *meta = apr_array_make(c->p, 4, sizeof(const char *));
    for (int i = 0; o->meta && i < o->meta->nelts; i++) {
        const orgs_kv_t *kv = &APR_ARRAY_IDX(o->meta, i, orgs_kv_t);
        APR_ARRAY_PUSH(meta, const char *) = apr_pstrcat(c->p, kv->key, "=", kv->value, NULL);
    }
    apr_array_header_t *cl = apr_array_make(c->p, 4, sizeof(const char *));
    for (int i = 0; i < conns->nelts; i++) {
        const orgs_enabled_conn_t *e = APR_ARRAY_IDX(conns, i, orgs_enabled_conn_t *);
        APR_ARRAY_PUSH(cl, const char *) =
            apr_pstrcat(c->p, e->conn_name, e->auto_membership ? " (auto-membership)" : "", NULL);
    }
    kv_print(c->p, "id", o->id);
    kv_print(c->p, "name", o->name);
    kv_print(c->p, "display_name", o->display_name);
    kv_print_list(c->p, "metadata", meta);
    kv_print_list(c->p, "domains", o->domains);
    kv_print_list(c->p, "connections", cl);
    kv_print(c->p, "created", fmt_time(c->p, o->created));
    kv_print(c->p, "updated", fmt_time(c->p, o->updated));
    return RC_OK;
}

static int cmd_org_update(cli_t *c)
{
    const char *ref = arg(c, 0);
    const char *dn = opt(c, "display-name");
    apr_array_header_t *set_meta, *unset = opt_all(c, "unset-meta");
    int rc;

    if ((rc = check_display_name(c, dn)) != RC_OK ||
        (rc = parse_meta_opts(c, &set_meta)) != RC_OK) {
        return rc;
    }
    if (!dn && !set_meta && unset->nelts == 0) {
        return usage_fail(c, "nothing to update");
    }
    for (int i = 0; i < unset->nelts; i++) {
        if (orgs_parse_meta_key(APR_ARRAY_IDX(unset, i, const char *), &c->err) != APR_SUCCESS) {
            return fail_parse(c);
        }
    }
    apr_status_t rv =
        orgs_store_org_update(c->st, ref, dn, set_meta, unset->nelts ? unset : NULL, c->p, &c->err);
    return rv == APR_SUCCESS ? RC_OK : fail_rv(c, rv, apr_psprintf(c->p, "org '%s'", ref));
}

static int cmd_org_delete(cli_t *c)
{
    const char *ref = arg(c, 0);
    apr_status_t rv = orgs_store_org_delete(c->st, ref, c->p, &c->err);
    return rv == APR_SUCCESS ? RC_OK : fail_rv(c, rv, apr_psprintf(c->p, "org '%s'", ref));
}

static int org_domain(cli_t *c, int add)
{
    const char *ref = arg(c, 0);
    char *d;
    apr_status_t rv;
    if (orgs_parse_domain(arg(c, 1), &d, c->p, &c->err) != APR_SUCCESS) {
        return fail_parse(c);
    }
    rv = add ? orgs_store_org_add_domain(c->st, ref, d, c->p, &c->err)
             : orgs_store_org_remove_domain(c->st, ref, d, c->p, &c->err);
    return rv == APR_SUCCESS ? RC_OK
                             : fail_rv(c, rv, apr_psprintf(c->p, "org '%s', domain '%s'", ref, d));
}

static int cmd_org_add_domain(cli_t *c)
{
    return org_domain(c, 1);
}

static int cmd_org_remove_domain(cli_t *c)
{
    return org_domain(c, 0);
}

static int cmd_org_enable_conn(cli_t *c)
{
    const char *org = arg(c, 0), *conn = arg(c, 1);
    apr_status_t rv = orgs_store_org_enable_conn(c->st, org, conn,
                                                 opt(c, "auto-membership") != NULL, c->p, &c->err);
    return rv == APR_SUCCESS
               ? RC_OK
               : fail_rv(c, rv, apr_psprintf(c->p, "org '%s', connection '%s'", org, conn));
}

static int cmd_org_disable_conn(cli_t *c)
{
    const char *org = arg(c, 0), *conn = arg(c, 1);
    apr_status_t rv = orgs_store_org_disable_conn(c->st, org, conn, c->p, &c->err);
    return rv == APR_SUCCESS
               ? RC_OK
               : fail_rv(c, rv, apr_psprintf(c->p, "org '%s', connection '%s'", org, conn));
}

/* ---- conn ------------------------------------------------------------- */

static int conn_fields(cli_t *c, orgs_conn_t *cn)
{
    int rc;
    cn->display_name = opt(c, "display-name");
    cn->issuer = opt(c, "issuer");
    cn->client_id = opt(c, "client-id");
    cn->scopes = opt(c, "scopes");
    cn->auth_method = opt(c, "auth-method");
    if ((rc = check_display_name(c, cn->display_name)) != RC_OK ||
        (rc = check_auth_method(c, cn->auth_method)) != RC_OK ||
        (rc = check_scopes(c, cn->scopes)) != RC_OK) {
        return rc;
    }
    if (cn->issuer && orgs_parse_issuer_url(cn->issuer, &c->err) != APR_SUCCESS) {
        return fail_parse(c);
    }
    if (cn->client_id && (!*cn->client_id || strlen(cn->client_id) > 255)) {
        return fail(c, RC_ERROR, "--client-id must be 1..255 characters");
    }
    return read_secret(c, &cn->client_secret);
}

static int cmd_conn_create(cli_t *c)
{
    orgs_conn_t cn;
    int rc;
    memset(&cn, 0, sizeof(cn));
    cn.name = arg(c, 0);
    if (orgs_parse_slug(cn.name, &c->err) != APR_SUCCESS) {
        return fail_parse(c);
    }
    if ((rc = conn_fields(c, &cn)) != RC_OK) {
        return rc;
    }
    if (!cn.issuer || !cn.client_id) {
        return usage_fail(c, "--issuer and --client-id are required");
    }
    if (!cn.client_secret) {
        return usage_fail(c, "a client secret is required (--client-secret-file F or "
                             "--client-secret-env VAR)");
    }
    apr_status_t rv = orgs_store_conn_create(c->st, &cn, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return fail_rv(c, rv, apr_psprintf(c->p, "connection '%s'", cn.name));
    }
    return print_id(c, cn.id);
}

static int cmd_conn_list(cli_t *c)
{
    apr_array_header_t *conns;
    apr_status_t rv = orgs_store_conn_list(c->st, &conns, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return fail_rv(c, rv, NULL);
    }
    if (c->json) {
        json_t *arr = json_array();
        for (int i = 0; i < conns->nelts; i++) {
            json_array_append_new(arr, conn_json(c->p, APR_ARRAY_IDX(conns, i, orgs_conn_t *)));
        }
        return emit_json(c, arr);
    }
    static const char *const hdr[] = {"NAME", "ID", "ISSUER", "CLIENT ID", "DISPLAY NAME"};
    table_t *t = table_make(c->p, 5, hdr);
    for (int i = 0; i < conns->nelts; i++) {
        const orgs_conn_t *cn = APR_ARRAY_IDX(conns, i, orgs_conn_t *);
        table_row(t, cn->name, cn->id, cn->issuer, cn->client_id, cn->display_name);
    }
    table_print(t);
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
            json_object_set_new(j, "id", jstr(o->id));
            json_object_set_new(j, "name", jstr(o->name));
            json_object_set_new(j, "auto_membership", json_boolean(e->auto_membership));
            json_array_append_new(arr, j);
        }
    }
    return rv;
}

static int cmd_conn_show(cli_t *c)
{
    orgs_conn_t *cn;
    apr_array_header_t *names = NULL;
    const char *ref = arg(c, 0);
    json_t *orgs = json_array();
    apr_status_t rv = orgs_store_conn_get(c->st, ref, &cn, c->p, &c->err);
    if (rv == APR_SUCCESS) {
        rv = conn_orgs(c, cn->id, &names, orgs);
    }
    if (rv != APR_SUCCESS) {
        json_decref(orgs);
        return fail_rv(c, rv, apr_psprintf(c->p, "connection '%s'", ref));
    }
    if (c->json) {
        json_t *j = conn_json(c->p, cn);
        json_object_set_new(j, "organizations", orgs);
        return emit_json(c, j);
    }
    json_decref(orgs);
    kv_print(c->p, "id", cn->id);
    kv_print(c->p, "name", cn->name);
    kv_print(c->p, "display_name", cn->display_name);
    kv_print(c->p, "issuer", cn->issuer);
    kv_print(c->p, "client_id", cn->client_id);
    kv_print(c->p, "client_secret", "(set)");
    kv_print(c->p, "scopes", cn->scopes);
    kv_print(c->p, "auth_method", cn->auth_method);
    kv_print_list(c->p, "organizations", names);
    kv_print(c->p, "created", fmt_time(c->p, cn->created));
    kv_print(c->p, "updated", fmt_time(c->p, cn->updated));
    return RC_OK;
}

static int cmd_conn_update(cli_t *c)
{
    orgs_conn_t upd;
    const char *ref = arg(c, 0);
    int rc;
    memset(&upd, 0, sizeof(upd));
    if ((rc = conn_fields(c, &upd)) != RC_OK) {
        return rc;
    }
    if (!upd.display_name && !upd.issuer && !upd.client_id && !upd.scopes && !upd.auth_method &&
        !upd.client_secret) {
        return usage_fail(c, "nothing to update");
    }
    apr_status_t rv = orgs_store_conn_update(c->st, ref, &upd, c->p, &c->err);
    return rv == APR_SUCCESS ? RC_OK : fail_rv(c, rv, apr_psprintf(c->p, "connection '%s'", ref));
}

static int cmd_conn_delete(cli_t *c)
{
    const char *ref = arg(c, 0);
    apr_status_t rv = orgs_store_conn_delete(c->st, ref, c->p, &c->err);
    return rv == APR_SUCCESS ? RC_OK : fail_rv(c, rv, apr_psprintf(c->p, "connection '%s'", ref));
}

/* ---- user ------------------------------------------------------------- */

static int cmd_user_list(cli_t *c)
{
    apr_array_header_t *users;
    const char *email = opt(c, "email");
    char *norm = NULL;
    const char *dom;
    if (email && orgs_parse_email(email, &norm, &dom, c->p, &c->err) != APR_SUCCESS) {
        return fail_parse(c);
    }
    apr_status_t rv = orgs_store_user_list(c->st, norm, &users, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return fail_rv(c, rv, NULL);
    }
    apr_hash_t *cnames = conn_names(c);
    if (c->json) {
        json_t *arr = json_array();
        for (int i = 0; i < users->nelts; i++) {
            const orgs_user_t *u = APR_ARRAY_IDX(users, i, orgs_user_t *);
            json_array_append_new(
                arr, user_json(c->p, u, apr_hash_get(cnames, u->conn_id, APR_HASH_KEY_STRING)));
        }
        return emit_json(c, arr);
    }
    static const char *const hdr[] = {"ID", "CONNECTION", "EMAIL", "NAME", "SUB", "LAST LOGIN"};
    table_t *t = table_make(c->p, 6, hdr);
    for (int i = 0; i < users->nelts; i++) {
        const orgs_user_t *u = APR_ARRAY_IDX(users, i, orgs_user_t *);
        table_row(t, u->id, apr_hash_get(cnames, u->conn_id, APR_HASH_KEY_STRING), u->email,
                  u->name, u->sub, fmt_time(c->p, u->last_login));
    }
    table_print(t);
    return RC_OK;
}

static int cmd_user_show(cli_t *c)
{
    orgs_user_t *u;
    apr_array_header_t *ms;
    const char *id = arg(c, 0);
    apr_status_t rv = orgs_store_user_get(c->st, id, &u, c->p, &c->err);
    if (rv == APR_SUCCESS) {
        rv = orgs_store_user_orgs(c->st, u->id, &ms, c->p, &c->err);
    }
    if (rv != APR_SUCCESS) {
        return fail_rv(c, rv, apr_psprintf(c->p, "user '%s'", id));
    }
    apr_hash_t *cnames = conn_names(c);
    const char *cname = apr_hash_get(cnames, u->conn_id, APR_HASH_KEY_STRING);
    json_t *jorgs = json_array();
    apr_array_header_t *lines = apr_array_make(c->p, 4, sizeof(const char *));
    for (int i = 0; i < ms->nelts; i++) {
        const orgs_member_t *m = APR_ARRAY_IDX(ms, i, orgs_member_t *);
        orgs_org_t *o = NULL;
        orgs_err_t err = {{0}};
        const char *oname =
            orgs_store_org_get(c->st, m->org_id, &o, c->p, &err) == APR_SUCCESS ? o->name : NULL;
        json_t *j = json_object();
        json_object_set_new(j, "org_id", jstr(m->org_id));
        json_object_set_new(j, "org_name", jstr(oname));
        json_object_set_new(j, "roles", jstrings(m->roles));
        json_object_set_new(j, "created", jtime(c->p, m->created));
        json_array_append_new(jorgs, j);
        APR_ARRAY_PUSH(lines, const char *) = apr_psprintf(
            c->p, "%s%s%s%s", oname ? oname : m->org_id, m->roles && m->roles->nelts ? " [" : "",
            join(c->p, m->roles, ","), m->roles && m->roles->nelts ? "]" : "");
    }
    if (c->json) {
        json_t *j = user_json(c->p, u, cname);
        json_object_set_new(j, "organizations", jorgs);
        return emit_json(c, j);
    }
    json_decref(jorgs);
    kv_print(c->p, "id", u->id);
    kv_print(c->p, "connection", cname ? cname : u->conn_id);
    kv_print(c->p, "sub", u->sub);
    kv_print(c->p, "email", u->email);
    kv_print(c->p, "name", u->name);
    kv_print_list(c->p, "organizations", lines);
    kv_print(c->p, "created", fmt_time(c->p, u->created));
    kv_print(c->p, "last_login", u->last_login ? fmt_time(c->p, u->last_login) : "never");
    return RC_OK;
}

static int cmd_user_delete(cli_t *c)
{
    const char *id = arg(c, 0);
    apr_status_t rv = orgs_store_user_delete(c->st, id, c->p, &c->err);
    return rv == APR_SUCCESS ? RC_OK : fail_rv(c, rv, apr_psprintf(c->p, "user '%s'", id));
}

/* ---- member and role -------------------------------------------------- */

static int cmd_member_add(cli_t *c)
{
    const char *org = arg(c, 0), *user = arg(c, 1);
    const char *conn = opt(c, "connection"), *email = opt(c, "email"), *sub = opt(c, "sub");
    apr_array_header_t *roles;
    char *norm = NULL;
    const char *dom;
    int rc;
    apr_status_t rv;

    if (user && (conn || email || sub)) {
        return usage_fail(c, "give USER or --connection with --email/--sub, not both");
    }
    if (!user && !conn) {
        return usage_fail(c, "missing USER (or --connection CONN --email E)");
    }
    if (conn && (!email == !sub)) {
        return usage_fail(c, "--connection needs exactly one of --email or --sub");
    }
    if ((rc = parse_roles(c, opt_all(c, "role"), &roles)) != RC_OK) {
        return rc;
    }
    if (email && orgs_parse_email(email, &norm, &dom, c->p, &c->err) != APR_SUCCESS) {
        return fail_parse(c);
    }
    if (sub && (!*sub || strlen(sub) > ORGS_SUB_MAX)) {
        return fail(c, RC_ERROR, "--sub must be 1..%d characters", ORGS_SUB_MAX);
    }
    if (conn) {
        orgs_org_t *o;
        orgs_user_t *u;
        /* Check the org first so a typo does not leave a provisioned user. */
        rv = orgs_store_org_get(c->st, org, &o, c->p, &c->err);
        if (rv != APR_SUCCESS) {
            return fail_rv(c, rv, apr_psprintf(c->p, "org '%s'", org));
        }
        rv = orgs_store_user_provision(c->st, conn, norm, sub, &u, c->p, &c->err);
        if (rv != APR_SUCCESS) {
            return fail_rv(c, rv, apr_psprintf(c->p, "connection '%s'", conn));
        }
        user = u->id;
    }
    rv = orgs_store_member_add(c->st, org, user, roles->nelts ? roles : NULL, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return fail_rv(c, rv, apr_psprintf(c->p, "org '%s', user '%s'", org, user));
    }
    return print_id(c, user);
}

static int cmd_member_list(cli_t *c)
{
    apr_array_header_t *ms;
    const char *org = arg(c, 0);
    apr_status_t rv = orgs_store_member_list(c->st, org, &ms, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return fail_rv(c, rv, apr_psprintf(c->p, "org '%s'", org));
    }
    apr_hash_t *cnames = conn_names(c);
    json_t *arr = c->json ? json_array() : NULL;
    static const char *const hdr[] = {"USER", "EMAIL", "NAME", "CONNECTION", "ROLES"};
    table_t *t = table_make(c->p, 5, hdr);
    for (int i = 0; i < ms->nelts; i++) {
        const orgs_member_t *m = APR_ARRAY_IDX(ms, i, orgs_member_t *);
        orgs_user_t *u = NULL;
        orgs_err_t err = {{0}};
        if (orgs_store_user_get(c->st, m->user_id, &u, c->p, &err) != APR_SUCCESS) {
            u = NULL; /* reported by `orgctl check` */
        }
        const char *cname =
            u ? apr_hash_get(cnames, u->conn_id, APR_HASH_KEY_STRING) : (const char *)NULL;
        if (arr) {
            json_t *j = json_object();
            json_object_set_new(j, "user_id", jstr(m->user_id));
            json_object_set_new(j, "email", jstr(u ? u->email : NULL));
            json_object_set_new(j, "name", jstr(u ? u->name : NULL));
            json_object_set_new(j, "sub", jstr(u ? u->sub : NULL));
            json_object_set_new(j, "connection", jstr(cname));
            json_object_set_new(j, "roles", jstrings(m->roles));
            json_object_set_new(j, "created", jtime(c->p, m->created));
            json_array_append_new(arr, j);
        } else {
            table_row(t, m->user_id, u ? u->email : NULL, u ? u->name : NULL, cname,
                      join(c->p, m->roles, ","));
        }
    }
    if (arr) {
        return emit_json(c, arr);
    }
    table_print(t);
    return RC_OK;
}

static int cmd_member_remove(cli_t *c)
{
    const char *org = arg(c, 0), *user = arg(c, 1);
    const char *conn = opt(c, "connection"), *email = opt(c, "email");
    apr_status_t rv;

    if (user && (conn || email)) {
        return usage_fail(c, "give USER or --connection with --email, not both");
    }
    if (!user && (!conn || !email)) {
        return usage_fail(c, "missing USER (or --connection CONN --email E)");
    }
    if (!user) {
        char *norm;
        const char *dom;
        orgs_user_t *u;
        if (orgs_parse_email(email, &norm, &dom, c->p, &c->err) != APR_SUCCESS) {
            return fail_parse(c);
        }
        rv = orgs_store_user_by_email(c->st, conn, norm, &u, c->p, &c->err);
        if (rv != APR_SUCCESS) {
            return fail_rv(c, rv, apr_psprintf(c->p, "user '%s' of connection '%s'", norm, conn));
        }
        user = u->id;
    }
    rv = orgs_store_member_remove(c->st, org, user, c->p, &c->err);
    return rv == APR_SUCCESS ? RC_OK
                             : fail_rv(c, rv, apr_psprintf(c->p, "org '%s', user '%s'", org, user));
}

static int role_change(cli_t *c, int add)
{
    const char *org = arg(c, 0), *user = arg(c, 1);
    apr_array_header_t *in = apr_array_make(c->p, c->args->nelts, sizeof(const char *));
    apr_array_header_t *roles;
    int rc;
    for (int i = 2; i < c->args->nelts; i++) {
        APR_ARRAY_PUSH(in, const char *) = arg(c, i);
    }
    if ((rc = parse_roles(c, in, &roles)) != RC_OK) {
        return rc;
    }
    apr_status_t rv = add ? orgs_store_role_add(c->st, org, user, roles, c->p, &c->err)
                          : orgs_store_role_remove(c->st, org, user, roles, c->p, &c->err);
    return rv == APR_SUCCESS ? RC_OK
                             : fail_rv(c, rv, apr_psprintf(c->p, "org '%s', user '%s'", org, user));
}

static int cmd_role_add(cli_t *c)
{
    return role_change(c, 1);
}

static int cmd_role_remove(cli_t *c)
{
    return role_change(c, 0);
}

/* ---- invite ----------------------------------------------------------- */

static int cmd_invite_create(cli_t *c)
{
    orgs_invite_t inv;
    orgs_org_t *o;
    char *email;
    const char *dom, *ttl_s = opt(c, "ttl");
    apr_interval_time_t ttl;
    int rc;

    memset(&inv, 0, sizeof(inv));
    if (orgs_parse_email(arg(c, 1), &email, &dom, c->p, &c->err) != APR_SUCCESS ||
        orgs_parse_duration(ttl_s ? ttl_s : INVITE_TTL_DEFAULT, &ttl, &c->err) != APR_SUCCESS) {
        return fail_parse(c);
    }
    if ((rc = parse_roles(c, opt_all(c, "role"), &inv.roles)) != RC_OK) {
        return rc;
    }
    apr_status_t rv = orgs_store_org_get(c->st, arg(c, 0), &o, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return fail_rv(c, rv, apr_psprintf(c->p, "org '%s'", arg(c, 0)));
    }
    inv.org_id = o->id;
    inv.email = email;
    inv.created = apr_time_now();
    inv.expires = inv.created + ttl;
    rv = orgs_store_invite_create(c->st, &inv, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return fail_rv(c, rv, apr_psprintf(c->p, "invitation for '%s'", email));
    }
    return print_id(c, inv.id);
}

static int cmd_invite_list(cli_t *c)
{
    apr_array_header_t *invs;
    const char *org = arg(c, 0);
    apr_status_t rv = orgs_store_invite_list(c->st, org, &invs, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return fail_rv(c, rv, apr_psprintf(c->p, "org '%s'", org));
    }
    if (c->json) {
        json_t *arr = json_array();
        for (int i = 0; i < invs->nelts; i++) {
            json_array_append_new(arr, invite_json(c->p, APR_ARRAY_IDX(invs, i, orgs_invite_t *)));
        }
        return emit_json(c, arr);
    }
    static const char *const hdr[] = {"ID", "EMAIL", "ROLES", "EXPIRES"};
    table_t *t = table_make(c->p, 4, hdr);
    apr_time_t now = apr_time_now();
    for (int i = 0; i < invs->nelts; i++) {
        const orgs_invite_t *inv = APR_ARRAY_IDX(invs, i, orgs_invite_t *);
        table_row(t, inv->id, inv->email, join(c->p, inv->roles, ","),
                  apr_pstrcat(c->p, fmt_time(c->p, inv->expires),
                              inv->expires < now ? " (expired)" : "", NULL));
    }
    table_print(t);
    return RC_OK;
}

static int cmd_invite_revoke(cli_t *c)
{
    const char *id = arg(c, 0);
    apr_status_t rv = orgs_store_invite_revoke(c->st, id, c->p, &c->err);
    return rv == APR_SUCCESS ? RC_OK : fail_rv(c, rv, apr_psprintf(c->p, "invitation '%s'", id));
}

/* ---- whole store ------------------------------------------------------ */

static int cmd_export(cli_t *c)
{
    const char *file = arg(c, 0);
    apr_size_t count = 0;
    FILE *fp = stdout;
    char *tmp = NULL;

    if (file && strcmp(file, "-") != 0) {
        /* Written beside the target and renamed, so a failed export never
         * leaves a truncated backup under the final name; 0600 because the
         * export holds emails and sealed secrets. */
        tmp = apr_psprintf(c->p, "%s.tmp.%ld", file, (long)getpid());
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0 || !(fp = fdopen(fd, "w"))) {
            if (fd >= 0) {
                close(fd);
                unlink(tmp);
            }
            return fail(c, RC_ERROR, "cannot create '%s': %s", tmp, strerror(errno));
        }
    }
    apr_status_t rv = orgs_store_export(c->st, fp, &count, c->p, &c->err);
    int werr = fflush(fp) != 0 || ferror(fp);
    if (tmp) {
        werr |= fsync(fileno(fp)) != 0;
        werr |= fclose(fp) != 0;
        if (rv == APR_SUCCESS && !werr && rename(tmp, file) != 0) {
            werr = 1;
        }
        if (rv != APR_SUCCESS || werr) {
            unlink(tmp);
        }
    }
    if (rv != APR_SUCCESS) {
        return fail_rv(c, rv, NULL);
    }
    if (werr) {
        return fail(c, RC_ERROR, "cannot write '%s': %s", tmp ? file : "standard output",
                    strerror(errno));
    }
    if (tmp) {
        if (c->json) {
            json_t *j = json_object();
            json_object_set_new(j, "exported", json_integer((json_int_t)count));
            return emit_json(c, j);
        }
        printf("%" APR_SIZE_T_FMT " objects exported to %s\n", count, file);
    }
    return RC_OK;
}

static int cmd_import(cli_t *c)
{
    const char *file = arg(c, 0);
    apr_size_t count = 0;
    FILE *fp = stdin;
    if (file && strcmp(file, "-") != 0 && !(fp = fopen(file, "r"))) {
        return fail(c, RC_ERROR, "cannot open '%s': %s", file, strerror(errno));
    }
    apr_status_t rv = orgs_store_import(c->st, fp, &count, c->p, &c->err);
    if (fp != stdin) {
        fclose(fp);
    }
    if (rv != APR_SUCCESS) {
        return fail_rv(c, rv, NULL);
    }
    if (c->json) {
        json_t *j = json_object();
        json_object_set_new(j, "imported", json_integer((json_int_t)count));
        return emit_json(c, j);
    }
    printf("%" APR_SIZE_T_FMT " objects imported\n", count);
    return RC_OK;
}

static int cmd_check(cli_t *c)
{
    apr_array_header_t *problems;
    apr_status_t rv = orgs_store_check(c->st, &problems, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return fail_rv(c, rv, NULL);
    }
    if (c->json) {
        json_t *j = json_object();
        json_object_set_new(j, "consistent", json_boolean(problems->nelts == 0));
        json_object_set_new(j, "problems", jstrings(problems));
        emit_json(c, j);
    } else if (problems->nelts == 0) {
        printf("store consistent\n");
    } else {
        for (int i = 0; i < problems->nelts; i++) {
            printf("%s\n", safe(c->p, APR_ARRAY_IDX(problems, i, const char *)));
        }
    }
    if (problems->nelts) {
        return fail(c, RC_ERROR, "%d problem%s found", problems->nelts,
                    problems->nelts == 1 ? "" : "s");
    }
    return RC_OK;
}

/* ---- the command table ------------------------------------------------ */

static int cmd_help(cli_t *c);

#define SECRET_OPTS "client-secret-file=,client-secret-env="
#define CONN_OPTS "issuer=,client-id=,display-name=,scopes=,auth-method=," SECRET_OPTS

static const command_t commands[] = {
    {"org", "create", "display-name=,meta=*,domain=*", 1, 1, STORE_WRITE, KEY_NONE, cmd_org_create,
     "NAME [--display-name S] [--meta K=V]... [--domain D]..."},
    {"org", "list", "", 0, 0, STORE_READ, KEY_NONE, cmd_org_list, ""},
    {"org", "show", "", 1, 1, STORE_READ, KEY_NONE, cmd_org_show, "ORG"},
    {"org", "update", "display-name=,meta=*,unset-meta=*", 1, 1, STORE_WRITE, KEY_NONE,
     cmd_org_update, "ORG [--display-name S] [--meta K=V]... [--unset-meta K]..."},
    {"org", "delete", "", 1, 1, STORE_WRITE, KEY_NONE, cmd_org_delete, "ORG"},
    {"org", "add-domain", "", 2, 2, STORE_WRITE, KEY_NONE, cmd_org_add_domain, "ORG DOMAIN"},
    {"org", "remove-domain", "", 2, 2, STORE_WRITE, KEY_NONE, cmd_org_remove_domain, "ORG DOMAIN"},
    {"org", "enable-conn", "auto-membership", 2, 2, STORE_WRITE, KEY_NONE, cmd_org_enable_conn,
     "ORG CONN [--auto-membership]"},
    {"org", "disable-conn", "", 2, 2, STORE_WRITE, KEY_NONE, cmd_org_disable_conn, "ORG CONN"},
    {"conn", "create", CONN_OPTS, 1, 1, STORE_WRITE, KEY_REQUIRED, cmd_conn_create,
     "NAME --issuer URL --client-id ID (--client-secret-file F | --client-secret-env VAR) "
     "[--display-name S] [--scopes \"openid email profile\"] "
     "[--auth-method client_secret_basic|client_secret_post]"},
    {"conn", "list", "", 0, 0, STORE_READ, KEY_NONE, cmd_conn_list, ""},
    {"conn", "show", "", 1, 1, STORE_READ, KEY_NONE, cmd_conn_show, "CONN"},
    {"conn", "update", CONN_OPTS, 1, 1, STORE_WRITE, KEY_IF_SECRET, cmd_conn_update,
     "CONN [--issuer URL] [--client-id ID] [--client-secret-file F | --client-secret-env VAR] "
     "[--display-name S] [--scopes S] [--auth-method M]"},
    {"conn", "delete", "", 1, 1, STORE_WRITE, KEY_NONE, cmd_conn_delete, "CONN"},
    {"user", "list", "email=", 0, 0, STORE_READ, KEY_NONE, cmd_user_list, "[--email E]"},
    {"user", "show", "", 1, 1, STORE_READ, KEY_NONE, cmd_user_show, "USER"},
    {"user", "delete", "", 1, 1, STORE_WRITE, KEY_NONE, cmd_user_delete, "USER"},
    {"member", "add", "connection=,email=,sub=,role=*", 1, 2, STORE_WRITE, KEY_NONE, cmd_member_add,
     "ORG (USER | --connection CONN (--email E | --sub SUB)) [--role R]..."},
    {"member", "list", "", 1, 1, STORE_READ, KEY_NONE, cmd_member_list, "ORG"},
    {"member", "remove", "connection=,email=", 1, 2, STORE_WRITE, KEY_NONE, cmd_member_remove,
     "ORG (USER | --connection CONN --email E)"},
    {"role", "add", "", 3, -1, STORE_WRITE, KEY_NONE, cmd_role_add, "ORG USER ROLE..."},
    {"role", "remove", "", 3, -1, STORE_WRITE, KEY_NONE, cmd_role_remove, "ORG USER ROLE..."},
    {"invite", "create", "role=*,ttl=", 2, 2, STORE_WRITE, KEY_NONE, cmd_invite_create,
     "ORG EMAIL [--role R]... [--ttl 7d]"},
    {"invite", "list", "", 1, 1, STORE_READ, KEY_NONE, cmd_invite_list, "ORG"},
    {"invite", "revoke", "", 1, 1, STORE_WRITE, KEY_NONE, cmd_invite_revoke, "ID"},
    {"export", NULL, "", 0, 1, STORE_READ, KEY_OPTIONAL, cmd_export, "[FILE]"},
    {"import", NULL, "", 0, 1, STORE_WRITE, KEY_OPTIONAL, cmd_import, "[FILE]"},
    {"check", NULL, "", 0, 0, STORE_READ, KEY_OPTIONAL, cmd_check, ""},
    {"help", NULL, "", 0, 2, STORE_NONE, KEY_NONE, cmd_help, "[COMMAND]"},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_usage(FILE *fp, const char *group)
{
    if (!group) {
        fputs("usage: orgctl [-s STOREDIR] [--key-file FILE] [--max-size SIZE] [--json] "
              "COMMAND ...\n\n"
              "Administers the mod_auth_orgs store, safely while httpd runs.\n\n"
              "options (before or after the command):\n"
              "  -s, --store DIR    store directory (default: $ORGS_STORE)\n"
              "  --key-file FILE    crypto key, as OrgsCryptoKey file: (default: "
              "$ORGS_KEY_FILE)\n"
              "  --max-size SIZE    LMDB map size, as OrgsStoreMaxSize (default: 1G)\n"
              "  --json             JSON output for reads\n"
              "  -h, --help         this help;  --version  the version\n\n"
              "commands (ORG and CONN: name or id, USER: user id):\n",
              fp);
    }
    for (apr_size_t i = 0; i < NCOMMANDS; i++) {
        const command_t *k = &commands[i];
        if (group && strcmp(group, k->group) != 0) {
            continue;
        }
        fprintf(fp, "  %s%s%s%s%s\n", k->group, k->verb ? " " : "", k->verb ? k->verb : "",
                *k->usage ? " " : "", k->usage);
    }
    if (!group) {
        fputs("\nexit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict, 5 store error\n", fp);
    }
}

static int cmd_help(cli_t *c)
{
    print_usage(stdout, c->args->nelts ? arg(c, 0) : NULL);
    return RC_OK;
}

static int group_known(const char *g)
{
    for (apr_size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].group, g) == 0) {
            return 1;
        }
    }
    return 0;
}

static const command_t *find_command(const char *group, const char *verb)
{
    for (apr_size_t i = 0; i < NCOMMANDS; i++) {
        const command_t *k = &commands[i];
        if (strcmp(k->group, group) == 0 &&
            (k->verb == NULL || (verb && strcmp(k->verb, verb) == 0))) {
            return k;
        }
    }
    return NULL;
}

/* ---- argument parsing ------------------------------------------------- */

/* Looks name (nlen bytes) up in a spec "a=,b=*,c": 0 unknown, 1 flag,
 * 2 takes a value, 3 takes a value and may repeat. */
static int spec_kind(const char *spec, const char *name, apr_size_t nlen)
{
    const char *s = spec;
    while (s && *s) {
        const char *end = strchr(s, ',');
        apr_size_t len = end ? (apr_size_t)(end - s) : strlen(s);
        apr_size_t base = strcspn(s, "=,");
        if (base == nlen && strncmp(s, name, nlen) == 0) {
            if (base == len) {
                return 1;
            }
            return (len > base + 1 && s[base + 1] == '*') ? 3 : 2;
        }
        s = end ? end + 1 : NULL;
    }
    return 0;
}

/* A global option at argv[*i]: 1 consumed (with its value), 0 not a
 * global option, RC_USAGE (after printing) when its value is missing. */
static int take_global(cli_t *c, int argc, const char *const *argv, int *i)
{
    const char *a = argv[*i];
    const char *eq = strchr(a, '=');
    apr_size_t nlen = eq ? (apr_size_t)(eq - a) : strlen(a);
    const char **slot = NULL;

    if (strcmp(a, "--json") == 0) {
        c->json = 1;
        return 1;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
        c->help = 1;
        return 1;
    }
    if (strcmp(a, "--version") == 0) {
        c->version = 1;
        return 1;
    }
    if (strcmp(a, "-s") == 0 || (nlen == 7 && strncmp(a, "--store", 7) == 0)) {
        slot = &c->store_dir;
    } else if (nlen == 10 && strncmp(a, "--key-file", 10) == 0) {
        slot = &c->key_file;
    } else if (nlen == 10 && strncmp(a, "--max-size", 10) == 0) {
        slot = &c->max_size;
    } else {
        return 0;
    }
    if (eq && a[1] == '-') {
        *slot = eq + 1;
    } else if (*i + 1 < argc) {
        *slot = argv[++*i];
    } else {
        usage_fail(c, "option %.*s needs a value", (int)nlen, a);
        return -1;
    }
    return 1;
}

static int parse_args(cli_t *c, int argc, const char *const *argv)
{
    int i = 1, g, only_args = 0;
    const char *group, *verb = NULL;

    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if ((g = take_global(c, argc, argv, &i)) < 0) {
            return RC_USAGE;
        }
        if (g == 0) {
            return usage_fail(c, "unknown option '%s'", argv[i]);
        }
    }
    if (i >= argc) {
        if (c->help || c->version) {
            return RC_OK;
        }
        return usage_fail(c, "missing command");
    }
    group = argv[i++];
    if (!group_known(group)) {
        c->name = group;
        return fail(c, RC_USAGE, "unknown command (see orgctl --help)");
    }
    c->name = group;
    if (!find_command(group, NULL) || find_command(group, NULL)->verb) {
        /* a group with subcommands */
        while (i < argc && argv[i][0] == '-') {
            if ((g = take_global(c, argc, argv, &i)) < 0) {
                return RC_USAGE;
            }
            if (g == 0) {
                return usage_fail(c, "unknown option '%s'", argv[i]);
            }
            i++;
        }
        if (i >= argc) {
            if (c->help) {
                print_usage(stdout, group);
                c->cmd = NULL;
                return -1;
            }
            return usage_fail(c, "missing subcommand");
        }
        verb = argv[i++];
        c->cmd = find_command(group, verb);
        if (!c->cmd) {
            return usage_fail(c, "unknown subcommand '%s'", verb);
        }
        c->name = apr_pstrcat(c->p, group, " ", verb, NULL);
    } else {
        c->cmd = find_command(group, NULL);
    }
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (only_args || a[0] != '-' || a[1] == '\0') {
            APR_ARRAY_PUSH(c->args, const char *) = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_args = 1;
            continue;
        }
        if ((g = take_global(c, argc, argv, &i)) < 0) {
            return RC_USAGE;
        }
        if (g) {
            continue;
        }
        const char *eq = strchr(a, '=');
        apr_size_t nlen = eq ? (apr_size_t)(eq - a - 2) : strlen(a) - 2;
        int kind = a[1] == '-' ? spec_kind(c->cmd->opts, a + 2, nlen) : 0;
        if (kind == 0) {
            return usage_fail(c, "unknown option '%s'", a);
        }
        const char *name = apr_pstrndup(c->p, a + 2, nlen);
        const char *value = "1";
        if (kind == 1 && eq) {
            return usage_fail(c, "option --%s takes no value", name);
        }
        if (kind >= 2) {
            if (eq) {
                value = eq + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                return usage_fail(c, "option --%s needs a value", name);
            }
        }
        if (kind != 3 && apr_table_get(c->opts, name)) {
            return usage_fail(c, "option --%s given twice", name);
        }
        apr_table_add(c->opts, name, value);
    }
    if (c->help) {
        return RC_OK;
    }
    if (c->args->nelts < c->cmd->min_args) {
        return usage_fail(c, "missing argument");
    }
    if (c->cmd->max_args >= 0 && c->args->nelts > c->cmd->max_args) {
        return usage_fail(c, "unexpected argument '%s'", arg(c, c->cmd->max_args));
    }
    return RC_OK;
}

/* ---- store and key ---------------------------------------------------- */

static int load_key(cli_t *c)
{
    const command_t *k = c->cmd;
    int need =
        k->key == KEY_REQUIRED ||
        (k->key == KEY_IF_SECRET && (opt(c, "client-secret-file") || opt(c, "client-secret-env")));
    if (k->key == KEY_NONE || (!need && k->key != KEY_OPTIONAL)) {
        return RC_OK;
    }
    if (!c->key_file || !*c->key_file) {
        if (!need) {
            return RC_OK;
        }
        return fail(c, RC_ERROR,
                    "client secrets are stored encrypted: give the key with --key-file FILE "
                    "or ORGS_KEY_FILE (the file OrgsCryptoKey names)");
    }
    apr_status_t rv = orgs_crypto_keys_load(&c->keys, apr_pstrcat(c->p, "file:", c->key_file, NULL),
                                            c->p, &c->err);
    if (rv != APR_SUCCESS) {
        if (c->err.msg[0] && strstr(c->err.msg, c->key_file)) {
            return fail(c, RC_ERROR, "%s", c->err.msg);
        }
        return fail(c, RC_ERROR, "key file '%s': %s", c->key_file,
                    c->err.msg[0] ? c->err.msg : "cannot load");
    }
    return RC_OK;
}

static int open_store(cli_t *c)
{
    int write = c->cmd->store == STORE_WRITE;
    apr_finfo_t fi;

    if (!c->store_dir || !*c->store_dir) {
        return usage_fail(c, "no store: give -s STOREDIR or set ORGS_STORE");
    }
    c->map_size = ORGS_STORE_DEFAULT_MAP_SIZE;
    if (c->max_size && orgs_parse_size(c->max_size, MAP_SIZE_MIN, &c->map_size, &c->err)) {
        return usage_fail(c, "--max-size: %s", c->err.msg);
    }
    if (apr_stat(&fi, c->store_dir, APR_FINFO_TYPE, c->p) != APR_SUCCESS ||
        fi.filetype != APR_DIR) {
        return fail(c, RC_STORE, "store directory '%s' does not exist%s", c->store_dir,
                    write ? " (create it first, owned by the user httpd runs as)" : "");
    }
    /* Reads never create a store: an empty answer from a mistyped path
     * would look like an empty store. */
    if (!write && apr_stat(&fi, apr_pstrcat(c->p, c->store_dir, "/data.mdb", NULL), APR_FINFO_TYPE,
                           c->p) != APR_SUCCESS) {
        return fail(c, RC_STORE,
                    "no store in '%s' (a write command such as 'org create' "
                    "creates it)",
                    c->store_dir);
    }
    apr_status_t rv =
        orgs_store_open(&c->st, c->store_dir, c->map_size, 0,
                        write ? ORGS_STORE_CREATE : ORGS_STORE_RDONLY, c->keys, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return fail_rv(c, rv, apr_psprintf(c->p, "store '%s'", c->store_dir));
    }
    return RC_OK;
}

static int run(cli_t *c, int argc, const char *const *argv)
{
    int rc = parse_args(c, argc, argv);
    if (rc == -1) {
        return RC_OK; /* group help printed */
    }
    if (rc != RC_OK) {
        return rc;
    }
    if (c->version) {
        printf("orgctl (mod_auth_orgs) %s\n", PACKAGE_VERSION);
        return RC_OK;
    }
    if (!c->cmd || c->help) {
        if (c->cmd && c->cmd->fn != cmd_help) {
            printf("usage: orgctl %s%s%s\n", c->name, *c->cmd->usage ? " " : "", c->cmd->usage);
        } else {
            print_usage(stdout, c->cmd && c->args->nelts ? arg(c, 0) : NULL);
        }
        return RC_OK;
    }
    if (c->cmd->store != STORE_NONE) {
        if ((rc = load_key(c)) != RC_OK || (rc = open_store(c)) != RC_OK) {
            return rc;
        }
    }
    rc = c->cmd->fn(c);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        return rc != RC_OK ? rc : fail(c, RC_ERROR, "cannot write to standard output");
    }
    return rc;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    cli_t c;
    int rc;

    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS) {
        fprintf(stderr, "orgctl: cannot initialize APR\n");
        return RC_ERROR;
    }
    apr_pool_create(&p, NULL);
    memset(&c, 0, sizeof(c));
    c.p = p;
    c.opts = apr_table_make(p, 8);
    c.args = apr_array_make(p, 8, sizeof(const char *));
    c.store_dir = getenv("ORGS_STORE");
    c.key_file = getenv("ORGS_KEY_FILE");
    rc = run(&c, argc, argv);
    /* Closes the store and cleanses the keys and secrets (pool cleanups). */
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
