/* The admin API's connections (client secrets go in, never out) and
 * users. Machine clients only: an org's admin reaches none of these. */
#include <string.h>

#include "admin_int.h"

/* Auth0's shape of an OpenID Connect connection; the secret is never
 * part of it, only whether one is set. */
static json_t *conn_json(const orgs_conn_t *c)
{
    json_t *hosts = json_array();
    for (int i = 0; hosts && c->endpoint_hosts && i < c->endpoint_hosts->nelts; i++) {
        json_array_append_new(hosts,
                              json_string(APR_ARRAY_IDX(c->endpoint_hosts, i, const char *)));
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:o}, s:o, s:o}", "id", c->id,
                     "name", c->name, "display_name", c->display_name ? c->display_name : c->name,
                     "strategy", "oidc", "options", "issuer", c->issuer, "client_id", c->client_id,
                     "scope", c->scopes ? c->scopes : "", "auth_method",
                     c->auth_method ? c->auth_method : "client_secret_basic",
                     "allowed_endpoint_hosts", hosts, "created_at", orgs_json_time(c->created),
                     "updated_at", orgs_json_time(c->updated));
}

void adm_conns_list(adm_t *a)
{
    apr_array_header_t *list;
    apr_status_t rv = orgs_store_conn_list(a->st, &list, a->p, &a->err);
    if (rv != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    json_t *all = json_array();
    for (int i = 0; all && i < list->nelts; i++) {
        json_array_append_new(all, conn_json(APR_ARRAY_IDX(list, i, orgs_conn_t *)));
    }
    adm_list_send(a, "connections", all);
}

/* The "options" of a connection body into c (absent members stay NULL). */
static int conn_options(adm_t *a, orgs_conn_t *c)
{
    static const char *const allowed[] = {"issuer", "client_id",   "client_secret",
                                          "scope",  "auth_method", "allowed_endpoint_hosts",
                                          NULL};
    const json_t *opt = json_object_get(a->rq->body, "options");
    const char *key;
    json_t *v;
    if (!opt) {
        return 1;
    }
    if (!json_is_object(opt)) {
        adm_error(a, 400, "'options' must be an object");
        return 0;
    }
    json_object_foreach((json_t *)opt, key, v)
    {
        int known = 0;
        for (const char *const *k = allowed; *k && !known; k++) {
            known = strcmp(*k, key) == 0;
        }
        if (!known) {
            adm_error(a, 400, "unknown option '%.60s'", key);
            return 0;
        }
    }
    return adm_str(a, opt, "issuer", &c->issuer) && adm_str(a, opt, "client_id", &c->client_id) &&
           adm_str(a, opt, "client_secret", &c->client_secret) &&
           adm_str(a, opt, "scope", &c->scopes) &&
           adm_str(a, opt, "auth_method", &c->auth_method) &&
           /* given, the list replaces the connection's ([] clears it) */
           adm_strs(a, opt, "allowed_endpoint_hosts", ORGS_CONN_ENDPOINT_HOSTS_MAX,
                    &c->endpoint_hosts);
}

static int strategy_ok(adm_t *a)
{
    const char *s;
    if (!adm_str(a, a->rq->body, "strategy", &s)) {
        return 0;
    }
    if (s && strcmp(s, "oidc") != 0) {
        adm_error(a, 400, "'strategy' must be \"oidc\"");
        return 0;
    }
    return 1;
}

void adm_conn_create(adm_t *a)
{
    static const char *const allowed[] = {"name", "display_name", "strategy", "options", NULL};
    orgs_conn_t c = {0};
    apr_status_t rv;
    if (!adm_body_object(a, allowed) || !strategy_ok(a) ||
        !adm_str(a, a->rq->body, "name", &c.name) ||
        !adm_str(a, a->rq->body, "display_name", &c.display_name) || !conn_options(a, &c)) {
        return;
    }
    if (!c.name || !c.issuer || !c.client_id || !c.client_secret) {
        adm_error(a, 400,
                  "'name' and options 'issuer', 'client_id' and 'client_secret' are "
                  "required");
        return;
    }
    if ((rv = orgs_check_slug(c.name, &a->err)) != APR_SUCCESS ||
        (rv = orgs_store_conn_create(a->st, &c, a->p, &a->err)) != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    orgs_conn_t *made;
    if ((rv = orgs_store_conn_get(a->st, c.id, &made, a->p, &a->err)) != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    adm_send(a, 201, conn_json(made));
}

void adm_conn_get(adm_t *a)
{
    orgs_conn_t *c;
    apr_status_t rv = orgs_store_conn_get(a->st, a->arg[0], &c, a->p, &a->err);
    if (rv != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    adm_send(a, 200, conn_json(c));
}

void adm_conn_patch(adm_t *a)
{
    static const char *const allowed[] = {"name", "display_name", "strategy", "options", NULL};
    orgs_conn_t upd = {0}, *c;
    const char *name;
    apr_status_t rv;
    if (!adm_body_object(a, allowed) || !strategy_ok(a) ||
        !adm_str(a, a->rq->body, "name", &name) ||
        !adm_str(a, a->rq->body, "display_name", &upd.display_name) || !conn_options(a, &upd)) {
        return;
    }
    if ((rv = orgs_store_conn_get(a->st, a->arg[0], &c, a->p, &a->err)) != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    if (name && strcmp(name, c->name) != 0) {
        adm_error(a, 400, "a connection's name cannot be changed");
        return;
    }
    if ((rv = orgs_store_conn_update(a->st, c->id, &upd, a->p, &a->err)) != APR_SUCCESS ||
        (rv = orgs_store_conn_get(a->st, c->id, &c, a->p, &a->err)) != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    adm_send(a, 200, conn_json(c));
}

void adm_conn_delete(adm_t *a)
{
    adm_done(a, orgs_store_conn_delete(a->st, a->arg[0], a->p, &a->err), 204);
}

/* ---- users ------------------------------------------------------------- */

static json_t *user_json(const orgs_user_t *u)
{
    json_t *j = orgs_json_user(u);
    if (j) {
        json_object_set_new(j, "user_id", json_string(u->id)); /* Auth0's name */
    }
    return j;
}

void adm_users_list(adm_t *a)
{
    const char *email = a->rq->query ? apr_table_get(a->rq->query, "email") : NULL;
    apr_array_header_t *list;
    apr_status_t rv;
    if (email) {
        const char *norm;
        if ((rv = orgs_check_email_normalize(email, &norm, a->p, &a->err)) != APR_SUCCESS ||
            (rv = orgs_store_user_list(a->st, norm, &list, a->p, &a->err)) != APR_SUCCESS) {
            adm_fail(a, rv);
            return;
        }
        json_t *all = json_array();
        for (int i = 0; all && i < list->nelts; i++) {
            json_array_append_new(all, user_json(APR_ARRAY_IDX(list, i, orgs_user_t *)));
        }
        adm_list_send(a, "users", all);
        return;
    }
    adm_page_t pg;
    const char *next;
    apr_size_t total = 0;
    if (!adm_page(a, &pg)) {
        return;
    }
    rv =
        orgs_store_user_page(a->st, &pg.pg, &list, &next, pg.totals ? &total : NULL, a->p, &a->err);
    if (rv != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; items && i < list->nelts; i++) {
        json_array_append_new(items, user_json(APR_ARRAY_IDX(list, i, orgs_user_t *)));
    }
    adm_page_send(a, &pg, "users", items, total, next);
}

void adm_user_get(adm_t *a)
{
    orgs_user_t *u;
    apr_status_t rv = orgs_store_user_get(a->st, a->arg[0], &u, a->p, &a->err);
    if (rv != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    adm_send(a, 200, user_json(u));
}

void adm_user_orgs(adm_t *a)
{
    apr_array_header_t *list;
    apr_status_t rv = orgs_store_user_orgs(a->st, a->arg[0], &list, a->p, &a->err);
    if (rv != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    json_t *all = json_array();
    for (int i = 0; all && i < list->nelts; i++) {
        const orgs_member_t *m = APR_ARRAY_IDX(list, i, orgs_member_t *);
        orgs_org_t *o;
        if ((rv = orgs_store_org_get(a->st, m->org_id, &o, a->p, &a->err)) == APR_SUCCESS) {
            json_t *j = adm_json_org(o);
            json_object_set_new(j, "roles", json_array());
            for (int r = 0; m->roles && r < m->roles->nelts; r++) {
                json_array_append_new(json_object_get(j, "roles"),
                                      json_string(APR_ARRAY_IDX(m->roles, r, const char *)));
            }
            json_array_append_new(all, j);
        }
    }
    adm_list_send(a, "organizations", all);
}
