/* orgctl's output: the one error line, aligned tables and key/value
 * blocks for humans, JSON for scripts. Everything that reaches the
 * terminal passes out_safe() or JSON escaping, so a value from an IdP
 * cannot drive the terminal. */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

#include "orgctl.h"

/* ---- errors ----------------------------------------------------------- */

/* Prints the one error line. Control characters (a newline in a value
 * echoed back, say) are replaced so it stays exactly one line. */
int cli_fail(cli_t *c, int code, const char *fmt, ...)
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

int cli_usage_fail(cli_t *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    apr_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->cmd) {
        return cli_fail(c, RC_USAGE, "%s (usage: orgctl %s%s%s)", msg, c->name,
                        *c->cmd->usage ? " " : "", c->cmd->usage);
    }
    return cli_fail(c, RC_USAGE, "%s (see orgctl %s%s--help)", msg, c->name ? c->name : "",
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
int cli_fail_rv(cli_t *c, apr_status_t rv, const char *what)
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
    if (rv == ORGS_ESTOREFULL && strstr(c->err.msg, "the disk holding the store is full")) {
        return cli_fail(c, RC_STORE, "%s%s%s: free space on it, then rerun", what ? what : "",
                        what ? ": " : "", c->err.msg);
    }
    if (rv == ORGS_ESTOREFULL) {
        return cli_fail(
            c, RC_STORE,
            "%s%sthe store is full (map %" APR_UINT64_T_FMT
            " bytes): raise OrgsStoreMaxSize and reload httpd (apachectl graceful), then rerun; "
            "with httpd stopped, rerun with a bigger --max-size",
            what ? what : "", what ? ": " : "", c->map_size);
    }
    return cli_fail(c, rc_for(rv), "%s%s%s", what ? what : "", what ? ": " : "", reason);
}

int cli_result(cli_t *c, apr_status_t rv, const char *fmt, ...)
{
    if (rv == APR_SUCCESS) {
        return RC_OK;
    }
    va_list ap;
    va_start(ap, fmt);
    const char *what = apr_pvsprintf(c->p, fmt, ap);
    va_end(ap);
    return cli_fail_rv(c, rv, what);
}

int cli_fail_parse(cli_t *c)
{
    return cli_fail(c, RC_ERROR, "%s", c->err.msg[0] ? c->err.msg : "invalid value");
}

const char *out_time(apr_pool_t *p, apr_time_t t)
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
const char *out_safe(apr_pool_t *p, const char *s)
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

const char *out_join(apr_pool_t *p, const apr_array_header_t *a, const char *sep)
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

struct out_table_t {
    apr_pool_t *p;
    int ncols;
    apr_array_header_t *cells; /* const char *, row-major, header first */
};

out_table_t *out_table_make(apr_pool_t *p, int ncols, const char *const *header)
{
    out_table_t *t = apr_pcalloc(p, sizeof(*t));
    t->p = p;
    t->ncols = ncols;
    t->cells = apr_array_make(p, 8 * ncols, sizeof(const char *));
    for (int i = 0; i < ncols; i++) {
        APR_ARRAY_PUSH(t->cells, const char *) = header[i];
    }
    return t;
}

void out_table_row(out_table_t *t, ...)
{
    va_list ap;
    va_start(ap, t);
    for (int i = 0; i < t->ncols; i++) {
        APR_ARRAY_PUSH(t->cells, const char *) = out_safe(t->p, va_arg(ap, const char *));
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

void out_table_print(const out_table_t *t)
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
void out_kv(apr_pool_t *p, const char *key, const char *value)
{
    char label[64];
    apr_snprintf(label, sizeof(label), "%s:", key);
    printf("%-16s%s\n", label, out_safe(p, value));
}

void out_kv_list(apr_pool_t *p, const char *key, const apr_array_header_t *values)
{
    if (!values || values->nelts == 0) {
        out_kv(p, key, NULL);
        return;
    }
    for (int i = 0; i < values->nelts; i++) {
        const char *v = out_safe(p, APR_ARRAY_IDX(values, i, const char *));
        if (i == 0) {
            out_kv(p, key, v);
        } else {
            printf("%-16s%s\n", "", v);
        }
    }
}

/* ---- JSON ------------------------------------------------------------- */

json_t *out_jstr(const char *s)
{
    json_t *j = s ? json_string(s) : NULL;
    return j ? j : json_null();
}

json_t *out_jstrings(const apr_array_header_t *a)
{
    json_t *arr = json_array();
    for (int i = 0; a && i < a->nelts; i++) {
        json_array_append_new(arr, out_jstr(APR_ARRAY_IDX(a, i, const char *)));
    }
    return arr;
}

json_t *out_push(json_t *arr, json_t *v)
{
    if (json_array_append_new(arr, v) != 0) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

json_t *out_set(json_t *obj, const char *key, json_t *v)
{
    if (json_object_set_new(obj, key, v) != 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/* Prints and releases j (steals the reference). */
int out_json_new(cli_t *c, json_t *j)
{
    int rv = j ? json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : -1;
    json_decref(j);
    if (rv != 0) {
        return cli_fail(c, RC_ERROR, "cannot write JSON output");
    }
    fputc('\n', stdout);
    return RC_OK;
}

/* Prints a new object's id: alone on a line, or {"id": ...} with --json. */
int out_id(cli_t *c, const char *id)
{
    if (c->json) {
        json_t *j = json_object();
        json_object_set_new(j, "id", out_jstr(id));
        return out_json_new(c, j);
    }
    printf("%s\n", id);
    return RC_OK;
}
