/* [glue] Invitations at sign-in: /login?invitation=TICKET&organization=ORG
 * reads the invitation (unknown, used, revoked, expired or another org's
 * ticket: refused with its page), shows who invites whom, and starts the
 * login through a connection the org enabled, carrying the ticket's hash
 * in the pending login; the callback's commit accepts or refuses it. */
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>

#include "private.h"
#include "html.h"
#include "signin.h"
#include "endpoints.h"
#include "render.h"
#include "invite.h"
#include "pgwrite.h"

int orgs_invite_login(orgs_route_t *c, orgs_invite_t **inv, const char **hash)
{
    request_rec *r = c->r;
    const char *ticket = apr_table_get(c->args, "invitation");
    orgs_err_t err = {{0}};
    apr_status_t rv;

    *hash = orgs_store_invite_ticket_hash(ticket, r->pool);
    rv = *hash ? orgs_store_invite_by_ticket(c->st, *hash, apr_time_now(), inv, r->pool, &err)
               : APR_NOTFOUND;
    if (rv == APR_NOTFOUND) {
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00750) "login: invitation ticket unknown, already used or "
                                         "revoked: refused");
        return orgs_endpoints_error_send(r, HTTP_NOT_FOUND, "invitation_invalid",
                                         "This invitation is not valid: it was already used, "
                                         "revoked, or never existed. Ask for a new one.",
                                         NULL);
    }
    if (rv == ORGS_EEXPIRED) {
        orgs_log_rerror(r, APLOG_INFO, 0, ORGSLOGNO(00751) "login: invitation %s expired: refused",
                        (*inv)->id);
        return orgs_endpoints_error_send(r, HTTP_GONE, "invitation_expired",
                                         "This invitation has expired. Ask for a new one.", NULL);
    }
    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_ERR, rv, ORGSLOGNO(00753) "login: cannot read the invitation: %s",
                        err.msg);
        return orgs_endpoints_error_send(r, orgs_status_for(rv), "server_error",
                                         "The sign-in could not be started.", NULL);
    }
    if (!apr_table_get(c->args, "organization")) {
        /* the URL names it; a copy without it goes to the invitation's org */
        apr_table_setn(c->args, "organization", (*inv)->org_id);
    }
    return DECLINED;
}

int orgs_invite_other_org(orgs_route_t *c, const orgs_org_t *org, const orgs_invite_t *inv)
{
    orgs_log_rerror(c->r, APLOG_WARNING, 0,
                    ORGSLOGNO(00752) "login: invitation %s of another organization followed "
                                     "to org %s: refused",
                    inv->id, org->name);
    return orgs_endpoints_error_send(c->r, HTTP_FORBIDDEN, "invitation_invalid",
                                     "This invitation is for another organization.", NULL);
}

int orgs_invite_page(orgs_route_t *c, const orgs_org_t *org, const orgs_invite_t *inv,
                     const apr_array_header_t *conns)
{
    request_rec *r = c->r;
    orgs_html_conn_t *list = apr_pcalloc(r->pool, sizeof(*list) * (apr_size_t)(conns->nelts + 1));
    orgs_html_invite_t page = {
        org->name, org->display_name, inv->inviter ? inv->inviter : "An administrator",
        inv->any_email ? NULL : inv->email, apr_table_get(c->args, "invitation")};

    for (int i = 0; i < conns->nelts; i++) {
        const orgs_enabled_conn_t *ec = APR_ARRAY_IDX(conns, i, orgs_enabled_conn_t *);
        list[i].name = ec->conn_name;
        list[i].display_name = ec->conn_display_name;
    }
    orgs_log_rerror(r, APLOG_INFO, 0, ORGSLOGNO(00754) "login: invitation %s to org %s shown",
                    inv->id, org->name);
    return orgs_endpoints_page_send(
        r, HTTP_OK,
        orgs_html_invite_page(orgs_render_ctx(r, org), orgs_endpoints_path(r, "/login"), &page,
                              list, (apr_size_t)conns->nelts, c->return_to));
}

int orgs_invite_refused(orgs_route_t *c, int reason, const char *invite_id, const char *org_name,
                        const char *conn_name)
{
    request_rec *r = c->r;
    const char *id = invite_id ? invite_id : "-";

    switch (reason) {
    case ORGS_INVITE_EXPIRED:
        orgs_log_rerror(r, APLOG_INFO, 0,
                        ORGSLOGNO(00756) "callback: invitation %s to org %s expired during the "
                                         "sign-in via %s: refused",
                        id, org_name, conn_name);
        return orgs_endpoints_error_send(r, HTTP_GONE, "invitation_expired",
                                         "This invitation has expired. Ask for a new one.", NULL);
    case ORGS_INVITE_OTHER_ORG:
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00757) "callback: invitation %s is not for org %s: refused", id,
                        org_name);
        return orgs_endpoints_error_send(r, HTTP_FORBIDDEN, "invitation_invalid",
                                         "This invitation is for another organization.", NULL);
    case ORGS_INVITE_EMAIL:
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00758) "callback: invitation %s to org %s: the email signed in "
                                         "via %s is not the invited one, or not verified: "
                                         "refused",
                        id, org_name, conn_name);
        return orgs_endpoints_error_send(r, HTTP_FORBIDDEN, "invitation_wrong_email",
                                         "This invitation was sent to another email address. "
                                         "Sign in with the invited account.",
                                         NULL);
    default:
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00755) "callback: invitation to org %s unknown, already used "
                                         "or revoked: refused",
                        org_name);
        return orgs_endpoints_error_send(r, HTTP_NOT_FOUND, "invitation_invalid",
                                         "This invitation is not valid: it was already used, "
                                         "revoked, or never existed. Ask for a new one.",
                                         NULL);
    }
}

void orgs_invite_count_denial(request_rec *r, orgs_store_t *st, const char *org_id)
{
    orgs_err_t err = {{0}};
    /* a node of a PostgreSQL store: the cluster's count, in the database */
    apr_status_t rv =
        orgs_pgwrite_on(r)
            ? orgs_pgwrite_count(r, st, org_id, ORGS_STATS_DENIAL, apr_time_now(), &err)
            : orgs_store_stats_count(st, org_id, ORGS_STATS_DENIAL, apr_time_now(), r->pool, &err);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND && rv != ORGS_PGWRITE_DOWN) {
        orgs_log_rerror(r, APLOG_DEBUG, rv,
                        ORGSLOGNO(00760) "callback: the refusal was not counted: %s", err.msg);
    }
}
