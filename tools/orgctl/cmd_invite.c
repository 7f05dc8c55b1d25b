/* orgctl invite ...: invitations of an email address into an org. */

#include <string.h>

#include <apr_strings.h>

#include "orgctl.h"
#include "parse.h"

#define INVITE_TTL_DEFAULT "7d"

/* --max-open N: the org's bound on open invitations, as httpd's
 * OrgsMaxInvitationsPerOrg (the same default; 0 = no bound). */
static int max_open(cli_t *c)
{
    const char *s = cli_opt(c, "max-open");
    char *end;
    apr_int64_t v = s ? apr_strtoi64(s, &end, 10) : ORGS_STORE_INVITES_PER_ORG_DEFAULT;
    if (s && (*end || end == s || v < 0 || v > 999999999)) {
        return cli_fail(c, RC_ERROR, "--max-open: a number from 0 (no limit) to 999999999");
    }
    orgs_store_invite_set_max_per_org(c->st, (apr_size_t)v);
    return RC_OK;
}

int cmd_invite_create(cli_t *c)
{
    orgs_invite_t inv;
    orgs_org_t *o;
    char *email;
    const char *dom, *ttl_s = cli_opt(c, "ttl"), *url;
    apr_interval_time_t ttl;
    int rc;

    memset(&inv, 0, sizeof(inv));
    if (orgs_parse_email(cli_arg(c, 1), &email, &dom, c->p, &c->err) != APR_SUCCESS ||
        orgs_parse_duration(ttl_s ? ttl_s : INVITE_TTL_DEFAULT, &ttl, &c->err) != APR_SUCCESS) {
        return cli_fail_parse(c);
    }
    if (ttl > ORGS_INVITE_TTL_MAX) {
        return cli_fail(c, RC_ERROR, "--ttl: an invitation lives at most 30 days");
    }
    if ((rc = cli_parse_roles(c, cli_opt_all(c, "role"), &inv.roles)) != RC_OK) {
        return rc;
    }
    if (cli_opt(c, "inviter") && (rc = cli_check_display_name(c, cli_opt(c, "inviter"))) != RC_OK) {
        return rc;
    }
    inv.inviter = cli_opt(c, "inviter"); /* NULL: the actor, orgctl:USER */
    inv.any_email = cli_opt(c, "any-email") != NULL;
    if ((rc = max_open(c)) != RC_OK) {
        return rc;
    }
    apr_status_t rv = orgs_store_org_get(c->st, cli_arg(c, 0), &o, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return cli_result(c, rv, "org '%s'", cli_arg(c, 0));
    }
    inv.org_id = o->id;
    inv.email = email;
    inv.created = apr_time_now();
    inv.expires = inv.created + ttl;
    rv = orgs_store_invite_create(c->st, &inv, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return cli_result(c, rv, "invitation for '%s'", email);
    }
    /* the ticket exists only now: shown once, in the URL */
    url = orgs_store_invite_url(cli_opt(c, "url"), inv.ticket, o->name, c->p);
    if (c->json) {
        json_t *j = orgs_json_invite(&inv);
        j = out_set(j, "ticket", out_jstr(inv.ticket));
        return out_json_new(c, out_set(j, "url", out_jstr(url)));
    }
    printf("%s\n%s\n", inv.id, url);
    return RC_OK;
}

int cmd_invite_list(cli_t *c)
{
    apr_array_header_t *invs;
    const char *org = cli_arg(c, 0);
    apr_status_t rv = orgs_store_invite_list(c->st, org, &invs, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return cli_result(c, rv, "org '%s'", org);
    }
    if (c->json) {
        json_t *arr = json_array();
        for (int i = 0; i < invs->nelts; i++) {
            arr = out_push(arr, orgs_json_invite(APR_ARRAY_IDX(invs, i, orgs_invite_t *)));
        }
        return out_json_new(c, arr);
    }
    static const char *const hdr[] = {"ID", "EMAIL", "ROLES", "EXPIRES"};
    out_table_t *t = out_table_make(c->p, 4, hdr);
    apr_time_t now = apr_time_now();
    for (int i = 0; i < invs->nelts; i++) {
        const orgs_invite_t *inv = APR_ARRAY_IDX(invs, i, orgs_invite_t *);
        out_table_row(t, inv->id, inv->email, out_join(c->p, inv->roles, ","),
                      apr_pstrcat(c->p, out_time(c->p, inv->expires),
                                  inv->expires < now ? " (expired)" : "", NULL));
    }
    out_table_print(t);
    return RC_OK;
}

int cmd_invite_revoke(cli_t *c)
{
    const char *id = cli_arg(c, 0);
    apr_status_t rv = orgs_store_invite_revoke(c->st, id, c->p, &c->err);
    return cli_result(c, rv, "invitation '%s'", id);
}
