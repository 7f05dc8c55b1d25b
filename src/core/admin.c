/* The admin API's dispatcher: the one route table, who may call each
 * route, the answers and errors, request-body readers and pages. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "admin_int.h"

enum {
    R_ORG = 1, /* an org's own admin may call it (on its org only) */
};

typedef struct {
    const char *method;
    const char *pattern; /* literal segments and {…} parameters */
    adm_fn *fn;
    int flags;
} route_t;

/* Literal rows before parameter rows of the same shape:
 * /organizations/name/{name} wins over /organizations/{id}/domains. */
static const route_t routes[] = {
    {"GET", "/organizations", adm_orgs_list, 0},
    {"POST", "/organizations", adm_org_create, 0},
    {"GET", "/organizations/name/{name}", adm_org_by_name, R_ORG},
    {"GET", "/organizations/{id}", adm_org_get, R_ORG},
    {"PATCH", "/organizations/{id}", adm_org_patch, 0},
    {"DELETE", "/organizations/{id}", adm_org_delete, 0},
    {"GET", "/organizations/{id}/domains", adm_domains_list, R_ORG},
    {"POST", "/organizations/{id}/domains", adm_domain_add, 0},
    {"DELETE", "/organizations/{id}/domains/{domain}", adm_domain_delete, 0},
    {"GET", "/organizations/{id}/enabled_connections", adm_econns_list, 0},
    {"POST", "/organizations/{id}/enabled_connections", adm_econn_add, 0},
    {"GET", "/organizations/{id}/enabled_connections/{connection_id}", adm_econn_get, 0},
    {"PATCH", "/organizations/{id}/enabled_connections/{connection_id}", adm_econn_patch, 0},
    {"DELETE", "/organizations/{id}/enabled_connections/{connection_id}", adm_econn_delete, 0},
    {"GET", "/organizations/{id}/members", adm_members_list, R_ORG},
    {"POST", "/organizations/{id}/members", adm_members_add, R_ORG},
    {"DELETE", "/organizations/{id}/members", adm_members_remove, R_ORG},
    {"GET", "/organizations/{id}/members/{user_id}/roles", adm_roles_list, R_ORG},
    {"POST", "/organizations/{id}/members/{user_id}/roles", adm_roles_add, R_ORG},
    {"DELETE", "/organizations/{id}/members/{user_id}/roles", adm_roles_remove, R_ORG},
    {"GET", "/organizations/{id}/invitations", adm_invites_list, R_ORG},
    {"POST", "/organizations/{id}/invitations", adm_invite_create, R_ORG},
    {"GET", "/organizations/{id}/invitations/{invitation_id}", adm_invite_get, R_ORG},
    {"DELETE", "/organizations/{id}/invitations/{invitation_id}", adm_invite_delete, R_ORG},
    {"GET", "/organizations/{id}/stats", adm_org_stats, R_ORG},
    {"GET", "/audit", adm_audit_list, 0},
    {"GET", "/connections", adm_conns_list, 0},
    {"POST", "/connections", adm_conn_create, 0},
    {"GET", "/connections/{id}", adm_conn_get, 0},
    {"PATCH", "/connections/{id}", adm_conn_patch, 0},
    {"DELETE", "/connections/{id}", adm_conn_delete, 0},
    {"GET", "/users", adm_users_list, 0},
    {"GET", "/users/{id}", adm_user_get, 0},
    {"GET", "/users/{id}/organizations", adm_user_orgs, 0},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

int orgs_admin_route(apr_size_t i, const char **method, const char **pattern, int *org_admin)
{
    if (i >= NROUTES) {
        return 0;
    }
    *method = routes[i].method;
    *pattern = routes[i].pattern;
    *org_admin = (routes[i].flags & R_ORG) != 0;
    return 1;
}

/* ---- answers ----------------------------------------------------------- */

const char *orgs_admin_reason(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

json_t *orgs_admin_error(int status, const char *message)
{
    return json_pack("{s:i, s:s, s:s}", "statusCode", status, "error", orgs_admin_reason(status),
                     "message", message ? message : "");
}

void adm_send(adm_t *a, int status, json_t *body)
{
    if (a->rs->body) {
        json_decref(a->rs->body);
    }
    a->rs->status = status;
    a->rs->body = body;
    if (!body && status != 204) {
        a->rs->status = 500;
        a->rs->failed = "out of memory building the answer";
        a->rs->body = orgs_admin_error(500, "out of memory");
    }
}

void adm_error(adm_t *a, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *msg = apr_pvsprintf(a->p, fmt, ap);
    va_end(ap);
    adm_send(a, status, orgs_admin_error(status, msg));
}

void adm_fail(adm_t *a, apr_status_t rv)
{
    int status;
    switch (rv) {
    case APR_EINVAL:
    case APR_ENOSPC:
        status = 400;
        break;
    case APR_NOTFOUND:
        status = 404;
        break;
    case APR_EEXIST:
        status = 409;
        break;
    case ORGS_ESTOREFULL:
        status = 503;
        break;
    default:
        status = 500;
    }
    if (status >= 500) {
        a->rs->failed = apr_pstrdup(a->p, a->err.msg);
        adm_error(a, status, "%s",
                  status == 503 ? "the store is full: try again later" : "internal error");
        return;
    }
    adm_error(a, status, "%s", a->err.msg[0] ? a->err.msg : "failed");
}

void adm_done(adm_t *a, apr_status_t rv, int status)
{
    if (rv != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    adm_send(a, status, NULL);
}

void adm_deny(adm_t *a, const char *why)
{
    a->rs->denied = why;
    adm_error(a, 403, "%s", why);
}

int adm_org(adm_t *a, const char *ref, orgs_org_t **out)
{
    apr_status_t rv = orgs_store_org_get(a->st, ref, out, a->p, &a->err);
    if (a->rq->caller.kind == ORGS_ADMIN_ORG &&
        (rv == APR_NOTFOUND ||
         (rv == APR_SUCCESS && strcmp((*out)->id, a->rq->caller.org_id) != 0))) {
        /* the same answer whether the other org exists or not */
        adm_deny(a, apr_psprintf(a->p, "organization '%.60s' is not the caller's", ref));
        return 0;
    }
    if (rv != APR_SUCCESS) {
        adm_fail(a, rv);
        return 0;
    }
    return 1;
}

json_t *adm_json_org(const orgs_org_t *o)
{
    json_t *j = orgs_json_org(o);
    /* the Ory name of display_name */
    if (j && json_object_set_new(j, "label", json_string(o->display_name)) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ---- bodies ------------------------------------------------------------ */

int adm_known(adm_t *a, const json_t *obj, const char *const *allowed, const char *what)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        int known = 0;
        for (const char *const *k = allowed; *k && !known; k++) {
            known = strcmp(*k, key) == 0;
        }
        if (!known) {
            if (what) {
                adm_error(a, 400, "unknown member '%s.%.40s'", what, key);
            } else {
                adm_error(a, 400, "unknown member '%.60s'", key);
            }
            return 0;
        }
    }
    return 1;
}

int adm_body_object(adm_t *a, const char *const *allowed)
{
    if (!json_is_object(a->rq->body)) {
        adm_error(a, 400, "the body must be a JSON object");
        return 0;
    }
    return adm_known(a, a->rq->body, allowed, NULL);
}

int adm_str(adm_t *a, const json_t *obj, const char *key, const char **out)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v) {
        return 1;
    }
    if (!json_is_string(v)) {
        adm_error(a, 400, "'%s' must be a string", key);
        return 0;
    }
    *out = apr_pstrdup(a->p, json_string_value(v));
    if (strlen(*out) != json_string_length(v)) {
        adm_error(a, 400, "'%s' must not contain a NUL character", key);
        return 0;
    }
    return 1;
}

int adm_strs(adm_t *a, const json_t *obj, const char *key, int max, apr_array_header_t **out)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v) {
        return 1;
    }
    if (!json_is_array(v) || json_array_size(v) > (size_t)max) {
        adm_error(a, 400, "'%s' must be an array of at most %d strings", key, max);
        return 0;
    }
    *out = apr_array_make(a->p, (int)json_array_size(v) + 1, sizeof(const char *));
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *s = json_array_get(v, i);
        if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s)) {
            adm_error(a, 400, "'%s' must be an array of strings", key);
            return 0;
        }
        APR_ARRAY_PUSH(*out, const char *) = apr_pstrdup(a->p, json_string_value(s));
    }
    return 1;
}

int adm_bool(adm_t *a, const json_t *obj, const char *key, int *out, int *set)
{
    const json_t *v = json_object_get(obj, key);
    *set = 0;
    if (!v) {
        return 1;
    }
    if (!json_is_boolean(v)) {
        adm_error(a, 400, "'%s' must be true or false", key);
        return 0;
    }
    *out = json_is_true(v);
    *set = 1;
    return 1;
}

int adm_meta(adm_t *a, const json_t *obj, apr_array_header_t **out)
{
    const json_t *m = json_object_get(obj, "metadata");
    const char *key;
    json_t *v;
    *out = NULL;
    if (!m) {
        return 1;
    }
    if (!json_is_object(m)) {
        adm_error(a, 400, "'metadata' must be an object of strings");
        return 0;
    }
    *out = apr_array_make(a->p, (int)json_object_size(m) + 1, sizeof(orgs_kv_t));
    json_object_foreach((json_t *)m, key, v)
    {
        if (!json_is_string(v)) {
            adm_error(a, 400, "metadata '%.60s' must be a string", key);
            return 0;
        }
        orgs_kv_t *kv = apr_array_push(*out);
        kv->key = apr_pstrdup(a->p, key);
        kv->value = apr_pstrdup(a->p, json_string_value(v));
    }
    return 1;
}

/* ---- pages ------------------------------------------------------------- */

/* A decimal number within [0, max]; absent leaves *out. */
static int num_param(adm_t *a, const char *name, apr_size_t max, apr_size_t *out, int *given)
{
    const char *s = a->rq->query ? apr_table_get(a->rq->query, name) : NULL;
    apr_size_t n = 0;
    if (given) {
        *given = s != NULL;
    }
    if (!s) {
        return 1;
    }
    if (!*s || strlen(s) > 9) {
        adm_error(a, 400, "'%s' must be a number from 0 to %zu", name, max);
        return 0;
    }
    for (const char *c = s; *c; c++) {
        if (*c < '0' || *c > '9') {
            adm_error(a, 400, "'%s' must be a number from 0 to %zu", name, max);
            return 0;
        }
        n = n * 10 + (apr_size_t)(*c - '0');
    }
    if (n > max) {
        adm_error(a, 400, "'%s' must be a number from 0 to %zu", name, max);
        return 0;
    }
    *out = n;
    return 1;
}

int adm_page(adm_t *a, adm_page_t *pg)
{
    const char *totals = a->rq->query ? apr_table_get(a->rq->query, "include_totals") : NULL;
    const char *from = a->rq->query ? apr_table_get(a->rq->query, "from") : NULL;
    apr_size_t take = ORGS_ADMIN_PER_PAGE;
    int take_given, page_given, pp_given;
    memset(pg, 0, sizeof(*pg));
    pg->per_page = ORGS_ADMIN_PER_PAGE;
    if (!num_param(a, "page", 10000000, &pg->page, &page_given) ||
        !num_param(a, "per_page", ORGS_ADMIN_PER_PAGE_MAX, &pg->per_page, &pp_given) ||
        !num_param(a, "take", ORGS_ADMIN_PER_PAGE_MAX, &take, &take_given)) {
        return 0;
    }
    if (totals && strcmp(totals, "true") != 0 && strcmp(totals, "false") != 0) {
        adm_error(a, 400, "'include_totals' must be true or false");
        return 0;
    }
    pg->totals = totals && strcmp(totals, "true") == 0;
    pg->checkpoint = from != NULL || take_given;
    if (pg->checkpoint && (page_given || pp_given || pg->totals)) {
        adm_error(a, 400, "from/take cannot be combined with page, per_page or include_totals");
        return 0;
    }
    if (pg->checkpoint) {
        pg->pg.from = from;
        pg->pg.take = take;
    } else {
        pg->pg.skip = pg->page * pg->per_page;
        pg->pg.take = pg->per_page;
    }
    return 1;
}

void adm_page_send(adm_t *a, const adm_page_t *pg, const char *key, json_t *items, apr_size_t total,
                   const char *next)
{
    if (!items) {
        adm_send(a, 200, NULL);
        return;
    }
    if (pg->checkpoint) {
        json_t *j = json_pack("{s:o}", key, items);
        if (j && next) {
            json_object_set_new(j, "next", json_string(next));
        }
        adm_send(a, 200, j);
    } else if (pg->totals) {
        adm_send(a, 200,
                 json_pack("{s:o, s:I, s:I, s:I}", key, items, "start", (json_int_t)pg->pg.skip,
                           "limit", (json_int_t)pg->per_page, "total", (json_int_t)total));
    } else {
        adm_send(a, 200, items);
    }
}

void adm_list_send(adm_t *a, const char *key, json_t *all)
{
    adm_page_t pg;
    if (!all || !adm_page(a, &pg)) {
        json_decref(all);
        if (!all) {
            adm_send(a, 200, NULL);
        }
        return;
    }
    if (pg.checkpoint) {
        json_decref(all);
        adm_error(a, 400, "this list has no checkpoint form: use page and per_page");
        return;
    }
    json_t *items = json_array();
    size_t n = json_array_size(all);
    for (size_t i = pg.pg.skip; items && i < n && i < pg.pg.skip + pg.pg.take; i++) {
        json_array_append(items, json_array_get(all, i));
    }
    json_decref(all);
    adm_page_send(a, &pg, key, items, n, NULL);
}

/* ---- dispatch ---------------------------------------------------------- */

/* Matches path against pattern; the {…} segments go to arg. */
static int match(const char *pattern, const char *path, const char **arg, apr_pool_t *p)
{
    int n = 0;
    while (*pattern && *path) {
        if (*pattern != '/' || *path != '/') {
            return 0;
        }
        pattern++;
        path++;
        size_t plen = strcspn(pattern, "/"), slen = strcspn(path, "/");
        if (slen == 0) {
            return 0;
        }
        if (pattern[0] == '{') {
            if (n == 2) {
                return 0;
            }
            arg[n++] = apr_pstrmemdup(p, path, slen);
        } else if (plen != slen || strncmp(pattern, path, plen) != 0) {
            return 0;
        }
        pattern += plen;
        path += slen;
    }
    return *pattern == '\0' && *path == '\0';
}

const char *orgs_admin_path_in(const char *uri, apr_pool_t *p)
{
    const char *arg[2];
    for (const char *s = uri; s && *s; s = strchr(s + 1, '/')) {
        if (*s != '/') {
            continue;
        }
        for (size_t i = 0; i < NROUTES; i++) {
            if (match(routes[i].pattern, s, arg, p)) {
                return s;
            }
        }
    }
    return uri;
}

static int is_read(const char *method)
{
    return strcmp(method, "GET") == 0;
}

void orgs_admin_handle(orgs_store_t *st, const orgs_admin_req_t *rq, orgs_admin_resp_t *rs,
                       apr_pool_t *p)
{
    adm_t a = {st, rq, rs, p, {NULL, NULL}, {{0}}};
    const route_t *hit = NULL;
    const char *allow = NULL;
    size_t len;

    memset(rs, 0, sizeof(*rs));
    rs->write = !is_read(rq->method);
    /* a trailing slash names the same resource */
    const char *path = rq->path && *rq->path ? rq->path : "/";
    len = strlen(path);
    if (len > 1 && path[len - 1] == '/') {
        path = apr_pstrmemdup(p, path, len - 1);
    }
    /* the first pattern the path matches; its rows give the methods */
    const char *pat = NULL;
    for (size_t i = 0; i < NROUTES; i++) {
        if (pat ? strcmp(routes[i].pattern, pat) != 0 : !match(routes[i].pattern, path, a.arg, p)) {
            continue;
        }
        pat = routes[i].pattern;
        allow = allow ? apr_pstrcat(p, allow, ", ", routes[i].method, NULL) : routes[i].method;
        if (strcmp(routes[i].method, rq->method) == 0) {
            hit = &routes[i];
        }
    }
    if (!allow) {
        adm_error(&a, 404, "no such resource: %.200s", path);
        return;
    }
    if (!hit) {
        rs->allow = allow;
        adm_error(&a, 405, "method not allowed here (allowed: %s)", allow);
        return;
    }
    switch (rq->caller.kind) {
    case ORGS_ADMIN_TOKEN:
        if (rs->write ? !rq->caller.can_write : !rq->caller.can_read) {
            adm_deny(&a, rs->write ? "the token lacks the scope 'write'"
                                   : "the token lacks the scope 'read'");
            return;
        }
        break;
    case ORGS_ADMIN_ORG:
        if (!(hit->flags & R_ORG) || !rq->caller.org_id) {
            adm_deny(&a, apr_psprintf(p, "%s %s is not open to an organization admin", hit->method,
                                      hit->pattern));
            return;
        }
        break;
    case ORGS_ADMIN_OPERATOR:
        break;
    default:
        adm_deny(&a, "no authenticated caller");
        return;
    }
    if (rs->write && rq->body && !json_is_object(rq->body)) {
        adm_error(&a, 400, "the body must be a JSON object");
        return;
    }
    /* The one place every change passes: the caller (rq->caller) is the
     * actor of whatever the route writes (the audit log names it). */
    static const char *const kinds[] = {"", "operator:", "token:", "user:"};
    orgs_store_actor_set(
        st, apr_pstrcat(p, kinds[rq->caller.kind], rq->caller.who ? rq->caller.who : "-", NULL),
        rq->from ? rq->from : "api");
    hit->fn(&a);
    orgs_store_actor_clear(st);
    if (rs->status == 0) {
        adm_error(&a, 500, "no answer");
    }
}
