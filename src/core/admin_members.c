/* The admin API's members, their roles and invitations: the part an org's
 * own admin may use, on its own org. */
#include <string.h>

#include "admin_int.h"

#define INVITE_TTL_DEFAULT (7 * 24 * 3600)
#define INVITE_TTL_MAX (30 * 24 * 3600)

/* The member with what the user record adds (email, name). */
static json_t *member_json(adm_t *a, const orgs_member_t *m)
{
    orgs_user_t *u;
    orgs_err_t e;
    json_t *j = orgs_json_member(m);
    if (j && orgs_store_user_get(a->st, m->user_id, &u, a->p, &e) == APR_SUCCESS) {
        json_object_set_new(j, "email", u->email ? json_string(u->email) : json_null());
        json_object_set_new(j, "name", u->name ? json_string(u->name) : json_null());
        json_object_set_new(j, "connection_id", json_string(u->conn_id));
    }
    return j;
}

void adm_members_list(adm_t *a)
{
    adm_page_t pg;
    orgs_org_t *o;
    apr_array_header_t *list;
    const char *next;
    apr_size_t total = 0;
    if (!adm_page(a, &pg) || !adm_org(a, a->arg[0], &o)) {
        return;
    }
    apr_status_t rv = orgs_store_member_page(a->st, o->id, &pg.pg, &list, &next,
                                             pg.totals ? &total : NULL, a->p, &a->err);
    if (rv != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; items && i < list->nelts; i++) {
        json_array_append_new(items, member_json(a, APR_ARRAY_IDX(list, i, orgs_member_t *)));
    }
    adm_page_send(a, &pg, "members", items, total, next);
}

/* The "members" array of the body: user ids, at least one. */
static int member_ids(adm_t *a, apr_array_header_t **ids, apr_array_header_t **roles)
{
    static const char *const allowed[] = {"members", "roles", NULL};
    static const char *const allowed_del[] = {"members", NULL};
    if (!adm_body_object(a, roles ? allowed : allowed_del) ||
        !adm_strs(a, a->rq->body, "members", ORGS_ADMIN_MEMBERS_MAX, ids) ||
        (roles && !adm_strs(a, a->rq->body, "roles", ORGS_ROLES_MAX, roles))) {
        return 0;
    }
    if (!*ids || (*ids)->nelts == 0) {
        adm_error(a, 400, "'members' must list at least one user id");
        return 0;
    }
    for (int i = 0; i < (*ids)->nelts; i++) {
        const char *id = APR_ARRAY_IDX(*ids, i, const char *);
        if (!orgs_check_id(id, "usr_")) {
            adm_error(a, 400, "'%.60s' is not a user id", id);
            return 0;
        }
    }
    return 1;
}

/* An org admin adds only users who sign in through a connection enabled
 * on its org; any other user (of another customer) is "not found", the
 * same as one that does not exist. */
static int users_reachable(adm_t *a, const orgs_org_t *o, const apr_array_header_t *ids)
{
    for (int i = 0; a->rq->caller.kind == ORGS_ADMIN_ORG && i < ids->nelts; i++) {
        const char *id = APR_ARRAY_IDX(ids, i, const char *);
        orgs_user_t *u;
        orgs_enabled_conn_t *e;
        if (orgs_store_user_get(a->st, id, &u, a->p, &a->err) != APR_SUCCESS ||
            orgs_store_org_conn_get(a->st, o->id, u->conn_id, &e, a->p, &a->err) != APR_SUCCESS) {
            adm_error(a, 404, "user '%s' not found", id);
            return 0;
        }
    }
    return 1;
}

void adm_members_add(adm_t *a)
{
    apr_array_header_t *ids, *roles;
    orgs_org_t *o;
    apr_size_t added;
    if (!member_ids(a, &ids, &roles) || !adm_org(a, a->arg[0], &o) || !users_reachable(a, o, ids)) {
        return;
    }
    adm_done(a, orgs_store_member_add_many(a->st, o->id, ids, roles, &added, a->p, &a->err), 204);
}

void adm_members_remove(adm_t *a)
{
    apr_array_header_t *ids;
    orgs_org_t *o;
    apr_size_t removed;
    if (!member_ids(a, &ids, NULL) || !adm_org(a, a->arg[0], &o)) {
        return;
    }
    adm_done(a, orgs_store_member_remove_many(a->st, o->id, ids, &removed, a->p, &a->err), 204);
}

/* ---- roles ------------------------------------------------------------- */

void adm_roles_list(adm_t *a)
{
    orgs_org_t *o;
    orgs_member_t *m;
    apr_status_t rv;
    if (!adm_org(a, a->arg[0], &o)) {
        return;
    }
    if ((rv = orgs_store_member_get(a->st, o->id, a->arg[1], &m, a->p, &a->err)) != APR_SUCCESS) {
        adm_fail(a, rv == APR_NOTFOUND ? orgs_err_set(&a->err, rv, "no such member") : rv);
        return;
    }
    json_t *all = json_array();
    for (int i = 0; all && m->roles && i < m->roles->nelts; i++) {
        const char *r = APR_ARRAY_IDX(m->roles, i, const char *);
        json_array_append_new(all, json_pack("{s:s, s:s}", "id", r, "name", r));
    }
    adm_list_send(a, "roles", all);
}

static void roles_change(adm_t *a, int add)
{
    static const char *const allowed[] = {"roles", NULL};
    apr_array_header_t *roles;
    orgs_org_t *o;
    if (!adm_body_object(a, allowed) ||
        !adm_strs(a, a->rq->body, "roles", ORGS_ROLES_MAX, &roles) || !adm_org(a, a->arg[0], &o)) {
        return;
    }
    if (!roles || roles->nelts == 0) {
        adm_error(a, 400, "'roles' must list at least one role");
        return;
    }
    adm_done(a,
             add ? orgs_store_role_add(a->st, o->id, a->arg[1], roles, a->p, &a->err)
                 : orgs_store_role_remove(a->st, o->id, a->arg[1], roles, a->p, &a->err),
             204);
}

void adm_roles_add(adm_t *a)
{
    roles_change(a, 1);
}

void adm_roles_remove(adm_t *a)
{
    roles_change(a, 0);
}

/* ---- invitations ------------------------------------------------------- */

static json_t *invite_json(const orgs_invite_t *inv)
{
    json_t *j = orgs_json_invite(inv);
    if (j) {
        /* the Auth0 names of the same values */
        json_object_set_new(j, "organization_id", json_string(inv->org_id));
        json_object_set_new(j, "invitee", json_pack("{s:s}", "email", inv->email));
    }
    return j;
}

void adm_invites_list(adm_t *a)
{
    orgs_org_t *o;
    apr_array_header_t *list;
    apr_status_t rv;
    if (!adm_org(a, a->arg[0], &o)) {
        return;
    }
    if ((rv = orgs_store_invite_list(a->st, o->id, &list, a->p, &a->err)) != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    json_t *all = json_array();
    for (int i = 0; all && i < list->nelts; i++) {
        json_array_append_new(all, invite_json(APR_ARRAY_IDX(list, i, orgs_invite_t *)));
    }
    adm_list_send(a, "invitations", all);
}

void adm_invite_create(adm_t *a)
{
    static const char *const allowed[] = {"invitee", "roles", "ttl_sec", NULL};
    const json_t *invitee, *ttl;
    const char *email;
    apr_array_header_t *roles;
    orgs_invite_t inv = {0};
    orgs_org_t *o;
    json_int_t secs = INVITE_TTL_DEFAULT;
    apr_status_t rv;
    if (!adm_body_object(a, allowed) ||
        !adm_strs(a, a->rq->body, "roles", ORGS_ROLES_MAX, &roles) || !adm_org(a, a->arg[0], &o)) {
        return;
    }
    invitee = json_object_get(a->rq->body, "invitee");
    if (!json_is_object(invitee) || json_object_size(invitee) != 1 ||
        !adm_str(a, invitee, "email", &email) || !email) {
        if (a->rs->status == 0) {
            adm_error(a, 400, "'invitee' must be {\"email\": …}");
        }
        return;
    }
    if ((ttl = json_object_get(a->rq->body, "ttl_sec")) != NULL) {
        if (!json_is_integer(ttl) || json_integer_value(ttl) < 0 ||
            json_integer_value(ttl) > INVITE_TTL_MAX) {
            adm_error(a, 400, "'ttl_sec' must be a number of seconds from 0 to %d", INVITE_TTL_MAX);
            return;
        }
        secs = json_integer_value(ttl) ? json_integer_value(ttl) : INVITE_TTL_DEFAULT;
    }
    inv.org_id = o->id;
    inv.email = email;
    inv.roles = roles;
    inv.created = apr_time_now();
    inv.expires = inv.created + apr_time_from_sec(secs);
    if ((rv = orgs_store_invite_create(a->st, &inv, a->p, &a->err)) == APR_ENOSPC) {
        /* not 429: the bound is no rate, and clients retry a 429 by
         * themselves; it takes a revocation or an expiry to go on */
        a->rs->capped = apr_pstrdup(a->p, a->err.msg);
        adm_error(a, 409, "%s", a->err.msg);
        return;
    }
    if (rv != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    json_t *j = invite_json(&inv);
    if (j && a->rq->login_url && inv.ticket) {
        /* shown once, as the ticket: the store keeps only its hash */
        json_object_set_new(
            j, "invitation_url",
            json_string(orgs_store_invite_url(a->rq->login_url, inv.ticket, o->name, a->p)));
    }
    adm_send(a, 201, j);
}

void adm_invite_get(adm_t *a)
{
    orgs_org_t *o;
    orgs_invite_t *inv;
    apr_status_t rv;
    if (!adm_org(a, a->arg[0], &o)) {
        return;
    }
    rv = orgs_store_invite_get(a->st, a->arg[1], &inv, a->p, &a->err);
    if (rv == APR_NOTFOUND || (rv == APR_SUCCESS && strcmp(inv->org_id, o->id) != 0)) {
        /* another org's invitation is not found, as one that does not exist */
        adm_error(a, 404, "invitation not found");
        return;
    }
    if (rv != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    adm_send(a, 200, invite_json(inv));
}

void adm_invite_delete(adm_t *a)
{
    orgs_org_t *o;
    if (!adm_org(a, a->arg[0], &o)) {
        return;
    }
    adm_done(a, orgs_store_invite_revoke_in(a->st, o->id, a->arg[1], a->p, &a->err), 204);
}
