/* One JSON shape per stored object (json.h): the writers build it, the
 * readers check it member by member and copy it into the store's structs. */

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "json.h"

/* ---- writing ----------------------------------------------------------- */

/* A string, or null for NULL (and for a value jansson refuses, which the
 * store's UTF-8 checks keep from happening). */
static json_t *str(const char *s)
{
    json_t *j = s ? json_string(s) : NULL;
    return j ? j : json_null();
}

static json_t *strings(const apr_array_header_t *a)
{
    json_t *arr = json_array();
    for (int i = 0; arr && a && i < a->nelts; i++) {
        if (json_array_append_new(arr, str(APR_ARRAY_IDX(a, i, const char *))) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* Sets k to v, which is taken in every case (json_object_set_new releases
 * it on failure, even with a NULL j); *ok records any failure so the
 * caller returns NULL, never a partial object. */
static void put(json_t *j, const char *k, json_t *v, int *ok)
{
    if (json_object_set_new(j, k, v) != 0) {
        *ok = 0;
    }
}

static json_t *done(json_t *j, int ok)
{
    if (!ok || !j) {
        json_decref(j);
        return NULL;
    }
    return j;
}

json_t *orgs_json_time(apr_time_t t)
{
    apr_time_exp_t tm;
    char buf[40];
    if (t == 0) {
        return json_null();
    }
    apr_time_exp_gmt(&tm, t);
    int n = apr_snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    apr_snprintf(buf + n, sizeof(buf) - (apr_size_t)n, tm.tm_usec ? ".%06dZ" : "Z", tm.tm_usec);
    return json_string(buf);
}

json_t *orgs_json_org(const orgs_org_t *o)
{
    json_t *j = json_object(), *meta = json_object();
    int ok = 1;
    for (int i = 0; o->meta && i < o->meta->nelts; i++) {
        const orgs_kv_t *kv = &APR_ARRAY_IDX(o->meta, i, orgs_kv_t);
        put(meta, kv->key, str(kv->value), &ok);
    }
    put(j, "id", str(o->id), &ok);
    put(j, "name", str(o->name), &ok);
    put(j, "display_name", str(o->display_name), &ok);
    put(j, "metadata", done(meta, ok), &ok);
    put(j, "domains", strings(o->domains), &ok);
    put(j, "created_at", orgs_json_time(o->created), &ok);
    put(j, "updated_at", orgs_json_time(o->updated), &ok);
    if (o->logo_url || o->color_primary || o->color_page_background) {
        json_t *b = json_object(), *colors = json_object();
        int bok = 1;
        put(colors, "primary", str(o->color_primary), &bok);
        put(colors, "page_background", str(o->color_page_background), &bok);
        put(b, "logo_url", str(o->logo_url), &bok);
        put(b, "colors", done(colors, bok), &bok);
        put(j, "branding", done(b, bok), &ok);
    }
    return done(j, ok);
}

json_t *orgs_json_conn(const orgs_conn_t *cn)
{
    json_t *j = json_object();
    int ok = 1;
    put(j, "id", str(cn->id), &ok);
    put(j, "name", str(cn->name), &ok);
    put(j, "display_name", str(cn->display_name), &ok);
    put(j, "issuer", str(cn->issuer), &ok);
    put(j, "client_id", str(cn->client_id), &ok);
    /* a connection cannot be created without one */
    put(j, "client_secret_set", json_true(), &ok);
    put(j, "scopes", str(cn->scopes), &ok);
    put(j, "auth_method", str(cn->auth_method), &ok);
    put(j, "created_at", orgs_json_time(cn->created), &ok);
    put(j, "updated_at", orgs_json_time(cn->updated), &ok);
    /* only when set, as records without it read */
    if (cn->endpoint_hosts && cn->endpoint_hosts->nelts > 0) {
        put(j, "allowed_endpoint_hosts", strings(cn->endpoint_hosts), &ok);
    }
    return done(j, ok);
}

json_t *orgs_json_enabled_conn(const orgs_enabled_conn_t *e)
{
    json_t *j = json_object();
    int ok = 1;
    put(j, "connection_id", str(e->conn_id), &ok);
    put(j, "name", str(e->conn_name), &ok);
    put(j, "display_name", str(e->conn_display_name), &ok);
    put(j, "auto_membership", json_boolean(e->auto_membership), &ok);
    put(j, "auto_membership_condition", e->require ? str(e->require) : json_null(), &ok);
    return done(j, ok);
}

json_t *orgs_json_user(const orgs_user_t *u)
{
    json_t *j = json_object();
    int ok = 1;
    put(j, "id", str(u->id), &ok);
    put(j, "connection_id", str(u->conn_id), &ok);
    put(j, "sub", str(u->sub), &ok);
    put(j, "email", str(u->email), &ok);
    put(j, "name", str(u->name), &ok);
    put(j, "created_at", orgs_json_time(u->created), &ok);
    put(j, "last_login", orgs_json_time(u->last_login), &ok);
    return done(j, ok);
}

json_t *orgs_json_member(const orgs_member_t *m)
{
    json_t *j = json_object();
    int ok = 1;
    put(j, "org_id", str(m->org_id), &ok);
    put(j, "user_id", str(m->user_id), &ok);
    put(j, "roles", strings(m->roles), &ok);
    put(j, "created_at", orgs_json_time(m->created), &ok);
    return done(j, ok);
}

json_t *orgs_json_invite(const orgs_invite_t *inv)
{
    json_t *j = json_object();
    int ok = 1;
    put(j, "id", str(inv->id), &ok);
    put(j, "org_id", str(inv->org_id), &ok);
    put(j, "email", str(inv->email), &ok);
    put(j, "roles", strings(inv->roles), &ok);
    put(j, "created_at", orgs_json_time(inv->created), &ok);
    put(j, "expires_at", orgs_json_time(inv->expires), &ok);
    put(j, "inviter", str(inv->inviter), &ok);
    put(j, "any_email", json_boolean(inv->any_email), &ok);
    return done(j, ok);
}

/* JSON text kept in a record, parsed back (null when absent or broken). */
static json_t *text_json(const char *s)
{
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    return j ? j : json_null();
}

json_t *orgs_json_audit(const orgs_audit_t *a)
{
    json_t *j = json_object();
    int ok = 1;
    put(j, "id", str(a->id), &ok);
    put(j, "time", orgs_json_time(a->time), &ok);
    put(j, "actor", str(a->actor), &ok);
    put(j, "from", str(a->from), &ok);
    put(j, "action", str(a->action), &ok);
    put(j, "org_id", str(a->org_id), &ok);
    put(j, "target", str(a->target), &ok);
    put(j, "before", text_json(a->before), &ok);
    put(j, "after", text_json(a->after), &ok);
    if (a->truncated) {
        put(j, "truncated", json_true(), &ok);
    }
    return done(j, ok);
}

json_t *orgs_json_org_stats(const orgs_org_stats_t *s, unsigned days)
{
    json_t *j = json_object(), *arr = json_array();
    int ok = 1;
    for (int i = 0; arr && s->days && i < s->days->nelts; i++) {
        const orgs_stats_day_t *d = &APR_ARRAY_IDX(s->days, i, orgs_stats_day_t);
        apr_time_exp_t tm;
        char day[16];
        json_t *o = json_object();
        int dok = 1;
        apr_time_exp_gmt(&tm, d->day);
        apr_snprintf(day, sizeof(day), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday);
        put(o, "day", str(day), &dok);
        put(o, "signins", json_integer((json_int_t)d->signins), &dok);
        put(o, "denials", json_integer((json_int_t)d->denials), &dok);
        put(o, "joins", json_integer((json_int_t)d->joins), &dok);
        if (json_array_append_new(arr, done(o, dok)) != 0) {
            ok = 0;
        }
    }
    put(j, "org_id", str(s->org_id), &ok);
    put(j, "days", json_integer((json_int_t)days), &ok);
    put(j, "members", json_integer((json_int_t)s->members), &ok);
    put(j, "active_members", json_integer((json_int_t)s->active_members), &ok);
    put(j, "signins", json_integer((json_int_t)s->signins), &ok);
    put(j, "denials", json_integer((json_int_t)s->denials), &ok);
    put(j, "joins", json_integer((json_int_t)s->joins), &ok);
    put(j, "per_day", arr, &ok);
    return done(j, ok);
}

/* ---- reading ----------------------------------------------------------- */

/* What a reader needs at hand: the object, its kind for the messages. */
typedef struct {
    const json_t *j;
    const char *kind;
    apr_pool_t *p;
    orgs_err_t *err;
} rd_t;

static int listed(const char *key, const char *const *names)
{
    for (; names && *names; names++) {
        if (strcmp(key, *names) == 0) {
            return 1;
        }
    }
    return 0;
}

/* j is an object whose every member is in names (the shape) or extra. */
static apr_status_t rd_open(rd_t *r, const json_t *j, const char *kind, const char *const *names,
                            const char *const *extra, apr_pool_t *p, orgs_err_t *err)
{
    const char *key;
    json_t *v;
    r->j = j;
    r->kind = kind;
    r->p = p;
    r->err = err;
    if (!json_is_object(j)) {
        return orgs_err_set(err, APR_EINVAL, "%s: not a JSON object", kind);
    }
    json_object_foreach((json_t *)j, key, v)
    {
        if (!listed(key, names) && !listed(key, extra)) {
            return orgs_err_set(err, APR_EINVAL, "%s: unknown member '%.64s'", kind, key);
        }
    }
    return APR_SUCCESS;
}

static apr_status_t rd_member(const rd_t *r, const char *key, json_t **v)
{
    *v = json_object_get(r->j, key);
    if (!*v) {
        return orgs_err_set(r->err, APR_EINVAL, "%s: missing '%s'", r->kind, key);
    }
    return APR_SUCCESS;
}

static apr_status_t rd_bad(const rd_t *r, const char *key, const char *what)
{
    return orgs_err_set(r->err, APR_EINVAL, "%s: '%s' must be %s", r->kind, key, what);
}

/* A string without NUL bytes, copied into the pool. */
static apr_status_t copy_str(const rd_t *r, const char *key, const json_t *v, const char **out)
{
    apr_size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (!s || memchr(s, '\0', len)) {
        return rd_bad(r, key, "a string without NUL bytes");
    }
    *out = apr_pstrmemdup(r->p, s, len);
    return APR_SUCCESS;
}

/* A required string; with nullable, null gives NULL. */
static apr_status_t rd_str(const rd_t *r, const char *key, int nullable, const char **out)
{
    json_t *v;
    apr_status_t rv = rd_member(r, key, &v);
    *out = NULL;
    if (rv != APR_SUCCESS || (nullable && json_is_null(v))) {
        return rv;
    }
    if (!json_is_string(v)) {
        return rd_bad(r, key, nullable ? "a string or null" : "a string");
    }
    return copy_str(r, key, v, out);
}

/* An array of strings (possibly empty). */
static apr_status_t rd_strings(const rd_t *r, const char *key, apr_array_header_t **out)
{
    json_t *v, *e;
    apr_size_t i;
    apr_status_t rv = rd_member(r, key, &v);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!json_is_array(v)) {
        return rd_bad(r, key, "an array of strings");
    }
    *out = apr_array_make(r->p, (int)json_array_size(v) + 1, sizeof(const char *));
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e)) {
            return rd_bad(r, key, "an array of strings");
        }
        if ((rv = copy_str(r, key, e, apr_array_push(*out))) != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t rd_bool(const rd_t *r, const char *key, int *out)
{
    json_t *v;
    apr_status_t rv = rd_member(r, key, &v);
    if (rv == APR_SUCCESS && !json_is_boolean(v)) {
        return rd_bad(r, key, "true or false");
    }
    *out = rv == APR_SUCCESS && json_is_true(v);
    return rv;
}

/* A time; with nullable, null gives 0 ("never"). */
static apr_status_t rd_time(const rd_t *r, const char *key, int nullable, apr_time_t *out)
{
    json_t *v;
    apr_status_t rv = rd_member(r, key, &v);
    *out = 0;
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((!nullable && json_is_null(v)) || orgs_json_time_from(v, out) != APR_SUCCESS) {
        return rd_bad(r, key, nullable ? "an RFC 3339 UTC time or null" : "an RFC 3339 UTC time");
    }
    return APR_SUCCESS;
}

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const orgs_kv_t *)a)->key, ((const orgs_kv_t *)b)->key);
}

/* An object of strings, as orgs_kv_t sorted by key (the store's order). */
static apr_status_t rd_meta(const rd_t *r, const char *key, apr_array_header_t **out)
{
    json_t *v, *e;
    const char *k;
    apr_status_t rv = rd_member(r, key, &v);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!json_is_object(v)) {
        return rd_bad(r, key, "an object of strings");
    }
    *out = apr_array_make(r->p, (int)json_object_size(v) + 1, sizeof(orgs_kv_t));
    json_object_foreach(v, k, e)
    {
        orgs_kv_t *kv = apr_array_push(*out);
        if (!json_is_string(e)) {
            return rd_bad(r, key, "an object of strings");
        }
        kv->key = apr_pstrdup(r->p, k);
        if ((rv = copy_str(r, key, e, &kv->value)) != APR_SUCCESS) {
            return rv;
        }
    }
    qsort((*out)->elts, (size_t)(*out)->nelts, sizeof(orgs_kv_t), kv_cmp);
    return APR_SUCCESS;
}

/* n decimal digits at s, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

apr_status_t orgs_json_time_from(const json_t *j, apr_time_t *out)
{
    apr_time_exp_t tm, back;
    apr_time_t t;
    const char *s = json_string_value(j);
    *out = 0;
    if (json_is_null(j)) {
        return APR_SUCCESS;
    }
    /* YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z, exactly */
    if (!s || strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':') {
        return APR_EINVAL;
    }
    memset(&tm, 0, sizeof(tm));
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    tm.tm_hour = digits(s + 11, 2);
    tm.tm_min = digits(s + 14, 2);
    tm.tm_sec = digits(s + 17, 2);
    const char *q = s + 19;
    if (*q == '.') {
        int n = 0;
        for (q++; n < 6 && *q >= '0' && *q <= '9'; q++, n++) {
            tm.tm_usec = tm.tm_usec * 10 + (*q - '0');
        }
        if (n == 0) {
            return APR_EINVAL;
        }
        for (; n < 6; n++) {
            tm.tm_usec *= 10;
        }
    }
    if (strcmp(q, "Z") != 0 || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || tm.tm_hour < 0 ||
        tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 59) {
        return APR_EINVAL;
    }
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    if (apr_time_exp_gmt_get(&t, &tm) != APR_SUCCESS || t <= 0) {
        return APR_EINVAL;
    }
    /* a day that does not exist (Feb 30) comes back as another one */
    apr_time_exp_gmt(&back, t);
    if (back.tm_mday != d || back.tm_mon != mo - 1 || back.tm_year != y - 1900) {
        return APR_EINVAL;
    }
    *out = t;
    return APR_SUCCESS;
}

/* The optional "branding": {"logo_url", "colors": {"primary",
 * "page_background"}}, each member optional or null. */
static apr_status_t rd_branding(const rd_t *r, const json_t *b, orgs_org_t *o)
{
    static const char *const bshape[] = {"logo_url", "colors", NULL};
    static const char *const cshape[] = {"primary", "page_background", NULL};
    const json_t *colors = json_object_get(b, "colors");
    rd_t rb, rc;
    apr_status_t rv = rd_open(&rb, b, "org branding", bshape, NULL, r->p, r->err);
    if (rv == APR_SUCCESS && json_object_get(b, "logo_url")) {
        rv = rd_str(&rb, "logo_url", 1, &o->logo_url);
    }
    if (rv == APR_SUCCESS && colors && !json_is_null(colors)) {
        rv = rd_open(&rc, colors, "org branding colors", cshape, NULL, r->p, r->err);
        if (rv == APR_SUCCESS && json_object_get(colors, "primary")) {
            rv = rd_str(&rc, "primary", 1, &o->color_primary);
        }
        if (rv == APR_SUCCESS && json_object_get(colors, "page_background")) {
            rv = rd_str(&rc, "page_background", 1, &o->color_page_background);
        }
    }
    return rv;
}

apr_status_t orgs_json_org_from(const json_t *j, const char *const *extra, orgs_org_t **out,
                                apr_pool_t *p, orgs_err_t *err)
{
    static const char *const shape[] = {"id",         "name",     "display_name",
                                        "metadata",   "domains",  "created_at",
                                        "updated_at", "branding", NULL};
    orgs_org_t *o = apr_pcalloc(p, sizeof(*o));
    rd_t r;
    apr_status_t rv = rd_open(&r, j, "org", shape, extra, p, err);
    if (rv == APR_SUCCESS && (rv = rd_str(&r, "id", 0, &o->id)) == APR_SUCCESS &&
        (rv = rd_str(&r, "name", 0, &o->name)) == APR_SUCCESS &&
        (rv = rd_str(&r, "display_name", 0, &o->display_name)) == APR_SUCCESS &&
        (rv = rd_meta(&r, "metadata", &o->meta)) == APR_SUCCESS &&
        (rv = rd_strings(&r, "domains", &o->domains)) == APR_SUCCESS &&
        (rv = rd_time(&r, "created_at", 0, &o->created)) == APR_SUCCESS &&
        (rv = rd_time(&r, "updated_at", 0, &o->updated)) == APR_SUCCESS &&
        json_object_get(j, "branding")) {
        rv = rd_branding(&r, json_object_get(j, "branding"), o);
    }
    *out = rv == APR_SUCCESS ? o : NULL;
    return rv;
}

apr_status_t orgs_json_conn_from(const json_t *j, const char *const *extra, orgs_conn_t **out,
                                 apr_pool_t *p, orgs_err_t *err)
{
    static const char *const shape[] = {"id",
                                        "name",
                                        "display_name",
                                        "issuer",
                                        "client_id",
                                        "client_secret_set",
                                        "scopes",
                                        "auth_method",
                                        "created_at",
                                        "updated_at",
                                        "allowed_endpoint_hosts",
                                        NULL};
    orgs_conn_t *cn = apr_pcalloc(p, sizeof(*cn));
    int secret_set;
    rd_t r;
    apr_status_t rv = rd_open(&r, j, "connection", shape, extra, p, err);
    if (rv == APR_SUCCESS && (rv = rd_str(&r, "id", 0, &cn->id)) == APR_SUCCESS &&
        (rv = rd_str(&r, "name", 0, &cn->name)) == APR_SUCCESS &&
        (rv = rd_str(&r, "display_name", 0, &cn->display_name)) == APR_SUCCESS &&
        (rv = rd_str(&r, "issuer", 0, &cn->issuer)) == APR_SUCCESS &&
        (rv = rd_str(&r, "client_id", 0, &cn->client_id)) == APR_SUCCESS &&
        (rv = rd_bool(&r, "client_secret_set", &secret_set)) == APR_SUCCESS &&
        (rv = rd_str(&r, "scopes", 0, &cn->scopes)) == APR_SUCCESS &&
        (rv = rd_str(&r, "auth_method", 0, &cn->auth_method)) == APR_SUCCESS &&
        (rv = rd_time(&r, "created_at", 0, &cn->created)) == APR_SUCCESS) {
        rv = rd_time(&r, "updated_at", 0, &cn->updated);
    }
    /* absent in exports made before it existed, and when empty */
    if (rv == APR_SUCCESS && json_object_get(j, "allowed_endpoint_hosts")) {
        rv = rd_strings(&r, "allowed_endpoint_hosts", &cn->endpoint_hosts);
    }
    *out = rv == APR_SUCCESS ? cn : NULL;
    return rv;
}

apr_status_t orgs_json_enabled_conn_from(const json_t *j, const char *const *extra,
                                         orgs_enabled_conn_t **out, apr_pool_t *p, orgs_err_t *err)
{
    static const char *const shape[] = {"connection_id",
                                        "name",
                                        "display_name",
                                        "auto_membership",
                                        "auto_membership_condition",
                                        NULL};
    orgs_enabled_conn_t *e = apr_pcalloc(p, sizeof(*e));
    rd_t r;
    apr_status_t rv = rd_open(&r, j, "enabled connection", shape, extra, p, err);
    if (rv == APR_SUCCESS && (rv = rd_str(&r, "connection_id", 0, &e->conn_id)) == APR_SUCCESS &&
        (rv = rd_str(&r, "name", 0, &e->conn_name)) == APR_SUCCESS &&
        (rv = rd_str(&r, "display_name", 0, &e->conn_display_name)) == APR_SUCCESS) {
        rv = rd_bool(&r, "auto_membership", &e->auto_membership);
    }
    /* absent in exports made before conditions existed */
    if (rv == APR_SUCCESS && json_object_get(j, "auto_membership_condition")) {
        rv = rd_str(&r, "auto_membership_condition", 1, &e->require);
    }
    *out = rv == APR_SUCCESS ? e : NULL;
    return rv;
}

apr_status_t orgs_json_user_from(const json_t *j, const char *const *extra, orgs_user_t **out,
                                 apr_pool_t *p, orgs_err_t *err)
{
    static const char *const shape[] = {"id",   "connection_id", "sub",        "email",
                                        "name", "created_at",    "last_login", NULL};
    orgs_user_t *u = apr_pcalloc(p, sizeof(*u));
    rd_t r;
    apr_status_t rv = rd_open(&r, j, "user", shape, extra, p, err);
    if (rv == APR_SUCCESS && (rv = rd_str(&r, "id", 0, &u->id)) == APR_SUCCESS &&
        (rv = rd_str(&r, "connection_id", 0, &u->conn_id)) == APR_SUCCESS &&
        (rv = rd_str(&r, "sub", 1, &u->sub)) == APR_SUCCESS &&
        (rv = rd_str(&r, "email", 1, &u->email)) == APR_SUCCESS &&
        (rv = rd_str(&r, "name", 1, &u->name)) == APR_SUCCESS &&
        (rv = rd_time(&r, "created_at", 0, &u->created)) == APR_SUCCESS) {
        rv = rd_time(&r, "last_login", 1, &u->last_login);
    }
    *out = rv == APR_SUCCESS ? u : NULL;
    return rv;
}

apr_status_t orgs_json_member_from(const json_t *j, const char *const *extra, orgs_member_t **out,
                                   apr_pool_t *p, orgs_err_t *err)
{
    static const char *const shape[] = {"org_id", "user_id", "roles", "created_at", NULL};
    orgs_member_t *m = apr_pcalloc(p, sizeof(*m));
    rd_t r;
    apr_status_t rv = rd_open(&r, j, "member", shape, extra, p, err);
    if (rv == APR_SUCCESS && (rv = rd_str(&r, "org_id", 0, &m->org_id)) == APR_SUCCESS &&
        (rv = rd_str(&r, "user_id", 0, &m->user_id)) == APR_SUCCESS &&
        (rv = rd_strings(&r, "roles", &m->roles)) == APR_SUCCESS) {
        rv = rd_time(&r, "created_at", 0, &m->created);
    }
    *out = rv == APR_SUCCESS ? m : NULL;
    return rv;
}

apr_status_t orgs_json_invite_from(const json_t *j, const char *const *extra, orgs_invite_t **out,
                                   apr_pool_t *p, orgs_err_t *err)
{
    /* inviter, any_email and ticket_hash (export only) came later: optional */
    static const char *const shape[] = {"id",          "org_id",     "email",   "roles",
                                        "created_at",  "expires_at", "inviter", "any_email",
                                        "ticket_hash", NULL};
    orgs_invite_t *inv = apr_pcalloc(p, sizeof(*inv));
    rd_t r;
    apr_status_t rv = rd_open(&r, j, "invitation", shape, extra, p, err);
    if (rv == APR_SUCCESS && (rv = rd_str(&r, "id", 0, &inv->id)) == APR_SUCCESS &&
        (rv = rd_str(&r, "org_id", 0, &inv->org_id)) == APR_SUCCESS &&
        (rv = rd_str(&r, "email", 0, &inv->email)) == APR_SUCCESS &&
        (rv = rd_strings(&r, "roles", &inv->roles)) == APR_SUCCESS &&
        (rv = rd_time(&r, "created_at", 0, &inv->created)) == APR_SUCCESS) {
        rv = rd_time(&r, "expires_at", 0, &inv->expires);
    }
    if (rv == APR_SUCCESS && json_object_get(j, "inviter")) {
        rv = rd_str(&r, "inviter", 1, &inv->inviter);
    }
    if (rv == APR_SUCCESS && json_object_get(j, "any_email")) {
        rv = rd_bool(&r, "any_email", &inv->any_email);
    }
    if (rv == APR_SUCCESS && json_object_get(j, "ticket_hash")) {
        rv = rd_str(&r, "ticket_hash", 1, &inv->ticket_hash);
    }
    *out = rv == APR_SUCCESS ? inv : NULL;
    return rv;
}
