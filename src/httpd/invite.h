/* [glue] Invitations at sign-in: the ticket read at /login (the
 * invitation page, the refusals), the refusal at the callback, and the
 * actor and usage counts the sign-in path records. */
#ifndef ORGS_HTTPD_INVITE_H
#define ORGS_HTTPD_INVITE_H

#include "endpoints.h"

/* /login?invitation=TICKET: the invitation, unexpired. Returns DECLINED
 * with *inv and *hash set (and organization= set to its org when the
 * query has none), or the refusal page already sent. */
int orgs_invite_login(orgs_route_t *c, orgs_invite_t **inv, const char **hash);
/* The org resolved from the query is not the invitation's: refused. */
int orgs_invite_other_org(orgs_route_t *c, const orgs_org_t *org, const orgs_invite_t *inv);
/* The invitation page: who invites whom to which org, and the org's
 * connections to accept it with. */
int orgs_invite_page(orgs_route_t *c, const orgs_org_t *org, const orgs_invite_t *inv,
                     const apr_array_header_t *conns /* orgs_enabled_conn_t* */);
/* The callback's answer to an invitation the commit refused (reason:
 * orgs_invite_refusal_t), logged with the org and connection. */
int orgs_invite_refused(orgs_route_t *c, int reason, const char *invite_id, const char *org_name,
                        const char *conn_name);
/* Counts a sign-in refused before the commit for org_id (a failure to
 * count is logged at debug level only: counting never fails a request). */
void orgs_invite_count_denial(request_rec *r, orgs_store_t *st, const char *org_id);

#endif
