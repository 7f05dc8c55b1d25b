/* orgctl user ..., member ..., role ...: users, their memberships of orgs
 * and the roles they hold there. */

#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "checks.h"
#include "orgctl.h"

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

/* ---- user ------------------------------------------------------------- */

int cmd_user_list(cli_t *c)
{
    apr_array_header_t *users;
    char *norm;
    int rc = cli_parse_email(c, cli_opt(c, "email"), &norm);
    if (rc != RC_OK) {
        return rc;
    }
    apr_status_t rv = orgs_store_user_list(c->st, norm, &users, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return cli_fail_rv(c, rv, NULL);
    }
    apr_hash_t *cnames = conn_names(c);
    if (c->json) {
        json_t *arr = json_array();
        for (int i = 0; i < users->nelts; i++) {
            const orgs_user_t *u = APR_ARRAY_IDX(users, i, orgs_user_t *);
            arr = out_push(
                arr, out_set(orgs_json_user(u), "connection",
                             out_jstr(apr_hash_get(cnames, u->conn_id, APR_HASH_KEY_STRING))));
        }
        return out_json_new(c, arr);
    }
    static const char *const hdr[] = {"ID", "CONNECTION", "EMAIL", "NAME", "SUB", "LAST LOGIN"};
    out_table_t *t = out_table_make(c->p, 6, hdr);
    for (int i = 0; i < users->nelts; i++) {
        const orgs_user_t *u = APR_ARRAY_IDX(users, i, orgs_user_t *);
        out_table_row(t, u->id, apr_hash_get(cnames, u->conn_id, APR_HASH_KEY_STRING), u->email,
                      u->name, u->sub, out_time(c->p, u->last_login));
    }
    out_table_print(t);
    return RC_OK;
}

int cmd_user_show(cli_t *c)
{
    orgs_user_t *u;
    apr_array_header_t *ms;
    const char *id = cli_arg(c, 0);
    apr_status_t rv = orgs_store_user_get(c->st, id, &u, c->p, &c->err);
    if (rv == APR_SUCCESS) {
        rv = orgs_store_user_orgs(c->st, u->id, &ms, c->p, &c->err);
    }
    if (rv != APR_SUCCESS) {
        return cli_result(c, rv, "user '%s'", id);
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
        jorgs = out_push(jorgs, out_set(orgs_json_member(m), "org_name", out_jstr(oname)));
        APR_ARRAY_PUSH(lines, const char *) = apr_psprintf(
            c->p, "%s%s%s%s", oname ? oname : m->org_id, m->roles && m->roles->nelts ? " [" : "",
            out_join(c->p, m->roles, ","), m->roles && m->roles->nelts ? "]" : "");
    }
    if (c->json) {
        json_t *j = out_set(orgs_json_user(u), "connection", out_jstr(cname));
        j = out_set(j, "organizations", jorgs);
        return out_json_new(c, j);
    }
    json_decref(jorgs);
    out_kv(c->p, "id", u->id);
    out_kv(c->p, "connection", cname ? cname : u->conn_id);
    out_kv(c->p, "sub", u->sub);
    out_kv(c->p, "email", u->email);
    out_kv(c->p, "name", u->name);
    out_kv_list(c->p, "organizations", lines);
    out_kv(c->p, "created", out_time(c->p, u->created));
    out_kv(c->p, "last_login", u->last_login ? out_time(c->p, u->last_login) : "never");
    return RC_OK;
}

int cmd_user_delete(cli_t *c)
{
    const char *id = cli_arg(c, 0);
    return cli_result(c, orgs_store_user_delete(c->st, id, c->p, &c->err), "user '%s'", id);
}

/* ---- member and role -------------------------------------------------- */

int cmd_member_add(cli_t *c)
{
    const char *org = cli_arg(c, 0), *user = cli_arg(c, 1);
    const char *conn = cli_opt(c, "connection"), *email = cli_opt(c, "email"),
               *sub = cli_opt(c, "sub");
    apr_array_header_t *roles;
    char *norm;
    int rc;

    if (user && (conn || email || sub)) {
        return cli_usage_fail(c, "give USER or --connection with --email/--sub, not both");
    }
    if (!user && !conn) {
        return cli_usage_fail(c, "missing USER (or --connection CONN --email E)");
    }
    if (conn && (!email == !sub)) {
        return cli_usage_fail(c, "--connection needs exactly one of --email or --sub");
    }
    if ((rc = cli_parse_roles(c, cli_opt_all(c, "role"), &roles)) != RC_OK ||
        (rc = cli_parse_email(c, email, &norm)) != RC_OK) {
        return rc;
    }
    if (sub && orgs_check_user_sub(sub, &c->err) != APR_SUCCESS) {
        return cli_fail_parse(c);
    }
    if (conn) {
        orgs_org_t *o;
        orgs_user_t *u = NULL;
        /* Check the org first so a typo does not leave a provisioned user. */
        if ((rc = cli_org_get(c, org, &o)) != RC_OK ||
            (rc =
                 cli_result(c, orgs_store_user_provision(c->st, conn, norm, sub, &u, c->p, &c->err),
                            "connection '%s'", conn)) != RC_OK) {
            return rc;
        }
        user = u->id;
    }
    if ((rc = cli_result(
             c, orgs_store_member_add(c->st, org, user, roles->nelts ? roles : NULL, c->p, &c->err),
             "org '%s', user '%s'", org, user)) != RC_OK) {
        return rc;
    }
    return out_id(c, user);
}

int cmd_member_list(cli_t *c)
{
    apr_array_header_t *ms;
    const char *org = cli_arg(c, 0);
    int rc = cli_result(c, orgs_store_member_list(c->st, org, &ms, c->p, &c->err), "org '%s'", org);
    if (rc != RC_OK) {
        return rc;
    }
    apr_hash_t *cnames = conn_names(c);
    json_t *arr = c->json ? json_array() : NULL;
    static const char *const hdr[] = {"USER", "EMAIL", "NAME", "CONNECTION", "ROLES"};
    out_table_t *t = out_table_make(c->p, 5, hdr);
    for (int i = 0; i < ms->nelts; i++) {
        const orgs_member_t *m = APR_ARRAY_IDX(ms, i, orgs_member_t *);
        orgs_user_t *u = NULL;
        orgs_err_t err = {{0}};
        if (orgs_store_user_get(c->st, m->user_id, &u, c->p, &err) != APR_SUCCESS) {
            u = NULL; /* reported by `orgctl check` */
        }
        const char *cname =
            u ? apr_hash_get(cnames, u->conn_id, APR_HASH_KEY_STRING) : (const char *)NULL;
        if (c->json) {
            /* the membership, with who the member is */
            json_t *j = orgs_json_member(m);
            j = out_set(j, "email", out_jstr(u ? u->email : NULL));
            j = out_set(j, "name", out_jstr(u ? u->name : NULL));
            j = out_set(j, "sub", out_jstr(u ? u->sub : NULL));
            j = out_set(j, "connection", out_jstr(cname));
            arr = out_push(arr, j);
        } else {
            out_table_row(t, m->user_id, u ? u->email : NULL, u ? u->name : NULL, cname,
                          out_join(c->p, m->roles, ","));
        }
    }
    if (c->json) {
        return out_json_new(c, arr);
    }
    out_table_print(t);
    return RC_OK;
}

/* The user a command names: USER (a usr_ id) when by_email is 0, else the
 * user --connection CONN --email E (both required) names. */
static int user_ref(cli_t *c, const char *user, int by_email, const char **out)
{
    const char *conn = cli_opt(c, "connection"), *email = cli_opt(c, "email");
    char *norm;
    orgs_user_t *u = NULL;
    int rc;
    if (!by_email) {
        if (!user) {
            return cli_usage_fail(c, "missing USER (or --connection CONN --email E)");
        }
        *out = user;
        return RC_OK;
    }
    if (!conn || !email) {
        return cli_usage_fail(c, "--connection and --email go together");
    }
    if ((rc = cli_parse_email(c, email, &norm)) != RC_OK ||
        (rc = cli_result(c, orgs_store_user_by_email(c->st, conn, norm, &u, c->p, &c->err),
                         "user '%s' of connection '%s'", norm, conn)) != RC_OK) {
        return rc;
    }
    *out = u->id;
    return RC_OK;
}

int cmd_member_remove(cli_t *c)
{
    const char *org = cli_arg(c, 0), *user = cli_arg(c, 1);
    int by_email = cli_opt(c, "connection") || cli_opt(c, "email");
    int rc;

    if (user && by_email) {
        return cli_usage_fail(c, "give USER or --connection with --email, not both");
    }
    if ((rc = user_ref(c, user, by_email, &user)) != RC_OK) {
        return rc;
    }
    return cli_result(c, orgs_store_member_remove(c->st, org, user, c->p, &c->err),
                      "org '%s', user '%s'", org, user);
}

/* role add|remove ORG (USER | --connection CONN --email E) ROLE... */
static int role_change(cli_t *c, int add)
{
    int by_email = cli_opt(c, "connection") || cli_opt(c, "email");
    const char *org = cli_arg(c, 0), *user = by_email ? NULL : cli_arg(c, 1);
    int first = by_email ? 1 : 2; /* the first role's position */
    apr_array_header_t *in = apr_array_make(c->p, c->args->nelts, sizeof(const char *));
    apr_array_header_t *roles;
    int rc;
    if (c->args->nelts <= first) {
        return cli_usage_fail(c, "missing ROLE");
    }
    for (int i = first; i < c->args->nelts; i++) {
        APR_ARRAY_PUSH(in, const char *) = cli_arg(c, i);
    }
    if ((rc = cli_parse_roles(c, in, &roles)) != RC_OK ||
        (rc = user_ref(c, user, by_email, &user)) != RC_OK) {
        return rc;
    }
    return cli_result(c,
                      add ? orgs_store_role_add(c->st, org, user, roles, c->p, &c->err)
                          : orgs_store_role_remove(c->st, org, user, roles, c->p, &c->err),
                      "org '%s', user '%s'", org, user);
}

int cmd_role_add(cli_t *c)
{
    return role_change(c, 1);
}

int cmd_role_remove(cli_t *c)
{
    return role_change(c, 0);
}
