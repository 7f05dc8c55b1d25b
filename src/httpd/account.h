/* [glue] The pages about the signed-in account: the module's own answer
 * to an authorization denial on an AuthType orgs location, "you are
 * signed out", and the switch between the orgs this browser is signed in
 * to (the routes are in endpoints.h). */
#ifndef ORGS_ACCOUNT_H
#define ORGS_ACCOUNT_H

#include <httpd.h>

#include "store.h"

/* Makes the module's denial page the body of r's 403 (or of the 401 httpd
 * answers without AuthzSendForbiddenOnFailure On): v's org and user, and
 * the message reason_key ("denied.role", ...; plural by count) about
 * needed. A location's own ErrorDocument for the status answers instead. */
void orgs_account_denied(request_rec *r, const orgs_session_view_t *v, const char *reason_key,
                         long count, const char *needed);

/* The org a user typed into the prompt: its name (trimmed, any case) or
 * id, else its display name (any case) when no other org has it.
 * APR_NOTFOUND: none; APR_EEXIST: several orgs have that display name. */
apr_status_t orgs_account_org_find(orgs_store_t *st, const char *typed, orgs_org_t **out,
                                   apr_pool_t *p, orgs_err_t *err);

#endif
