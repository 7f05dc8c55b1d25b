/* The admin API's organizations, their domains and enabled connections. */
#include <string.h>

#include "admin_int.h"
#include "parse.h"

/* ---- organizations ----------------------------------------------------- */

void adm_orgs_list(adm_t *a)
{
    adm_page_t pg;
    apr_array_header_t *orgs;
    const char *next;
    apr_size_t total = 0;
    if (!adm_page(a, &pg)) {
        return;
    }
    apr_status_t rv =
        orgs_store_org_page(a->st, &pg.pg, &orgs, &next, pg.totals ? &total : NULL, a->p, &a->err);
    if (rv != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; items && i < orgs->nelts; i++) {
        json_array_append_new(items, adm_json_org(APR_ARRAY_IDX(orgs, i, orgs_org_t *)));
    }
    adm_page_send(a, &pg, "organizations", items, total, next);
}

/* One branding value of obj: absent leaves *out as it is, null or "" clears
 * it (""), a string sets it; the rules are the store's (orgs_check_org). */
static int brand_str(adm_t *a, const json_t *obj, const char *key, const char **out)
{
    const json_t *v = json_object_get(obj, key);
    if (!v) {
        return 1;
    }
    if (!json_is_null(v) && !json_is_string(v)) {
        adm_error(a, 400, "'branding' member '%s' must be a string or null", key);
        return 0;
    }
    *out = json_is_null(v) ? "" : apr_pstrdup(a->p, json_string_value(v));
    return 1;
}

/* The Auth0 "branding": {logo_url, colors: {primary, page_background}}
 * into b (fields as brand_str); *given says whether the body had it. */
static int adm_branding(adm_t *a, orgs_org_t *b, int *given)
{
    static const char *const outer[] = {"logo_url", "colors", NULL};
    static const char *const inner[] = {"primary", "page_background", NULL};
    const json_t *j = json_object_get(a->rq->body, "branding"), *colors;
    *given = j != NULL;
    if (!j) {
        return 1;
    }
    if (!json_is_object(j) || !adm_known(a, j, outer, "branding") ||
        !brand_str(a, j, "logo_url", &b->logo_url)) {
        if (a->rs->status == 0) {
            adm_error(a, 400, "'branding' must be an object");
        }
        return 0;
    }
    colors = json_object_get(j, "colors");
    if (!colors || json_is_null(colors)) {
        return 1;
    }
    if (!json_is_object(colors)) {
        adm_error(a, 400, "'branding.colors' must be an object");
        return 0;
    }
    return adm_known(a, colors, inner, "branding.colors") &&
           brand_str(a, colors, "primary", &b->color_primary) &&
           brand_str(a, colors, "page_background", &b->color_page_background);
}

void adm_org_create(adm_t *a)
{
    static const char *const allowed[] = {"name",    "display_name", "label", "metadata",
                                          "domains", "branding",     NULL};
    const char *name, *display, *label;
    apr_array_header_t *meta, *domains;
    orgs_org_t o = {0}, b = {0};
    int branded;
    apr_status_t rv;
    if (!adm_body_object(a, allowed) || !adm_branding(a, &b, &branded) ||
        !adm_str(a, a->rq->body, "name", &name) ||
        !adm_str(a, a->rq->body, "display_name", &display) ||
        !adm_str(a, a->rq->body, "label", &label) || !adm_meta(a, a->rq->body, &meta) ||
        !adm_strs(a, a->rq->body, "domains", ORGS_DOMAINS_MAX, &domains)) {
        return;
    }
    if (!name && !label) {
        adm_error(a, 400, "'name' (or an Ory 'label') is required");
        return;
    }
    if (!name && orgs_check_slug_from_label(label, &name, a->p, &a->err) != APR_SUCCESS) {
        adm_fail(a, APR_EINVAL);
        return;
    }
    if ((rv = orgs_check_slug(name, &a->err)) != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    o.name = name;
    o.display_name = display ? display : label;
    o.meta = meta;
    o.domains = domains;
    if (branded) { /* "" (null) on a new org: none */
        o.logo_url = b.logo_url && *b.logo_url ? b.logo_url : NULL;
        o.color_primary = b.color_primary && *b.color_primary ? b.color_primary : NULL;
        o.color_page_background =
            b.color_page_background && *b.color_page_background ? b.color_page_background : NULL;
    }
    if ((rv = orgs_store_org_create(a->st, &o, a->p, &a->err)) != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    orgs_org_t *made;
    if ((rv = orgs_store_org_get(a->st, o.id, &made, a->p, &a->err)) != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    adm_send(a, 201, adm_json_org(made));
}

void adm_org_by_name(adm_t *a)
{
    orgs_org_t *o;
    orgs_err_t e;
    if (orgs_check_slug(a->arg[0], &e) != APR_SUCCESS) {
        /* an id is not a name here */
        adm_error(a, a->rq->caller.kind == ORGS_ADMIN_ORG ? 403 : 404,
                  "no organization named '%.60s'", a->arg[0]);
        if (a->rq->caller.kind == ORGS_ADMIN_ORG) {
            a->rs->denied = "not the caller's organization";
        }
        return;
    }
    if (adm_org(a, a->arg[0], &o)) {
        adm_send(a, 200, adm_json_org(o));
    }
}

void adm_org_get(adm_t *a)
{
    orgs_org_t *o;
    if (adm_org(a, a->arg[0], &o)) {
        adm_send(a, 200, adm_json_org(o));
    }
}

void adm_org_patch(adm_t *a)
{
    static const char *const allowed[] = {"name",     "display_name", "label",
                                          "metadata", "branding",     NULL};
    const char *name, *display, *label;
    apr_array_header_t *meta;
    orgs_org_t *o, b = {0};
    int branded;
    apr_status_t rv;
    if (!adm_body_object(a, allowed) || !adm_branding(a, &b, &branded) ||
        !adm_str(a, a->rq->body, "name", &name) ||
        !adm_str(a, a->rq->body, "display_name", &display) ||
        !adm_str(a, a->rq->body, "label", &label) || !adm_meta(a, a->rq->body, &meta) ||
        !adm_org(a, a->arg[0], &o)) {
        return;
    }
    if (name && strcmp(name, o->name) != 0) {
        adm_error(a, 400, "an organization's name cannot be changed");
        return;
    }
    if (display && (rv = orgs_check_display_name(display, &a->err)) != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    rv = orgs_store_org_patch(a->st, o->id, display ? display : label, meta, branded ? &b : NULL,
                              a->p, &a->err);
    if (rv == APR_SUCCESS) {
        rv = orgs_store_org_get(a->st, o->id, &o, a->p, &a->err);
    }
    if (rv != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    adm_send(a, 200, adm_json_org(o));
}

void adm_org_delete(adm_t *a)
{
    orgs_org_t *o;
    if (!adm_org(a, a->arg[0], &o)) {
        return;
    }
    adm_done(a, orgs_store_org_delete(a->st, o->id, a->p, &a->err), 204);
}

/* ---- domains ----------------------------------------------------------- */

static json_t *domain_json(const char *d)
{
    return json_pack("{s:s}", "domain", d);
}

void adm_domains_list(adm_t *a)
{
    orgs_org_t *o;
    if (!adm_org(a, a->arg[0], &o)) {
        return;
    }
    json_t *all = json_array();
    for (int i = 0; all && o->domains && i < o->domains->nelts; i++) {
        json_array_append_new(all, domain_json(APR_ARRAY_IDX(o->domains, i, const char *)));
    }
    adm_list_send(a, "domains", all);
}

void adm_domain_add(adm_t *a)
{
    static const char *const allowed[] = {"domain", NULL};
    const char *domain;
    char *norm;
    orgs_org_t *o;
    apr_status_t rv;
    if (!adm_body_object(a, allowed) || !adm_str(a, a->rq->body, "domain", &domain) ||
        !adm_org(a, a->arg[0], &o)) {
        return;
    }
    if (!domain) {
        adm_error(a, 400, "'domain' is required");
        return;
    }
    if ((rv = orgs_parse_domain(domain, &norm, a->p, &a->err)) != APR_SUCCESS ||
        (rv = orgs_store_org_add_domain(a->st, o->id, norm, a->p, &a->err)) != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    adm_send(a, 201, domain_json(norm));
}

void adm_domain_delete(adm_t *a)
{
    orgs_org_t *o;
    char *norm;
    apr_status_t rv;
    if (!adm_org(a, a->arg[0], &o)) {
        return;
    }
    if ((rv = orgs_parse_domain(a->arg[1], &norm, a->p, &a->err)) != APR_SUCCESS) {
        adm_fail(a, APR_NOTFOUND);
        return;
    }
    adm_done(a, orgs_store_org_remove_domain(a->st, o->id, norm, a->p, &a->err), 204);
}

/* ---- enabled connections ----------------------------------------------- */

static json_t *econn_json(const orgs_enabled_conn_t *e)
{
    return json_pack(
        "{s:s, s:b, s:{s:s, s:s, s:s}}", "connection_id", e->conn_id, "assign_membership_on_login",
        e->auto_membership, "connection", "name", e->conn_name, "display_name",
        e->conn_display_name ? e->conn_display_name : e->conn_name, "strategy", "oidc");
}

void adm_econns_list(adm_t *a)
{
    orgs_org_t *o;
    apr_array_header_t *list;
    apr_status_t rv;
    if (!adm_org(a, a->arg[0], &o)) {
        return;
    }
    if ((rv = orgs_store_org_conns(a->st, o->id, &list, a->p, &a->err)) != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    json_t *all = json_array();
    for (int i = 0; all && i < list->nelts; i++) {
        json_array_append_new(all, econn_json(APR_ARRAY_IDX(list, i, orgs_enabled_conn_t *)));
    }
    adm_list_send(a, "enabled_connections", all);
}

/* The enablement of conn_ref on o, answered with status. */
static void econn_send(adm_t *a, const orgs_org_t *o, const char *conn_ref, int status)
{
    orgs_conn_t *c;
    orgs_enabled_conn_t *e;
    apr_status_t rv = orgs_store_conn_get(a->st, conn_ref, &c, a->p, &a->err);
    if (rv == APR_SUCCESS) {
        rv = orgs_store_org_conn_get(a->st, o->id, c->id, &e, a->p, &a->err);
    }
    if (rv != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    adm_send(a, status, econn_json(e));
}

void adm_econn_add(adm_t *a)
{
    static const char *const allowed[] = {"connection_id", "assign_membership_on_login", NULL};
    const char *conn;
    int auto_m = 0, set;
    orgs_org_t *o;
    apr_status_t rv;
    if (!adm_body_object(a, allowed) || !adm_str(a, a->rq->body, "connection_id", &conn) ||
        !adm_bool(a, a->rq->body, "assign_membership_on_login", &auto_m, &set) ||
        !adm_org(a, a->arg[0], &o)) {
        return;
    }
    if (!conn) {
        adm_error(a, 400, "'connection_id' is required");
        return;
    }
    rv = orgs_store_org_conn_add(a->st, o->id, conn, auto_m, a->p, &a->err);
    if (rv != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    econn_send(a, o, conn, 201);
}

void adm_econn_get(adm_t *a)
{
    orgs_org_t *o;
    if (adm_org(a, a->arg[0], &o)) {
        econn_send(a, o, a->arg[1], 200);
    }
}

void adm_econn_patch(adm_t *a)
{
    static const char *const allowed[] = {"assign_membership_on_login", NULL};
    int auto_m = 0, set;
    orgs_org_t *o;
    apr_status_t rv;
    if (!adm_body_object(a, allowed) ||
        !adm_bool(a, a->rq->body, "assign_membership_on_login", &auto_m, &set) ||
        !adm_org(a, a->arg[0], &o)) {
        return;
    }
    if (!set) {
        adm_error(a, 400, "'assign_membership_on_login' is required");
        return;
    }
    rv = orgs_store_org_conn_patch(a->st, o->id, a->arg[1], auto_m, a->p, &a->err);
    if (rv != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    econn_send(a, o, a->arg[1], 200);
}

void adm_econn_delete(adm_t *a)
{
    orgs_org_t *o;
    if (!adm_org(a, a->arg[0], &o)) {
        return;
    }
    adm_done(a, orgs_store_org_disable_conn(a->st, o->id, a->arg[1], a->p, &a->err), 204);
}
