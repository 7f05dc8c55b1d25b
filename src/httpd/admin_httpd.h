/* [glue] SetHandler orgs-admin: the admin REST API (the core's admin.h),
 * its bearer tokens and `Require org-api-token [SCOPE…]`. */
#ifndef ORGS_ADMIN_HTTPD_H
#define ORGS_ADMIN_HTTPD_H

#include <httpd.h>

#define ORGS_ADMIN_HANDLER "orgs-admin"

/* check_authn's first step under AuthType orgs (authn.c): on a location
 * served by orgs-admin, an `Authorization: Bearer` token is checked
 * against the store; OK when valid (r->user is the token id), 401 when
 * not, DECLINED when there is none or the location is not the API (a
 * token never opens anything else). */
int orgs_admin_authn(request_rec *r);
/* Whether SetHandler of this request's location is orgs-admin. */
int orgs_admin_location(request_rec *r);

/* Registers `Require org-api-token` (admin_auth.c). */
void orgs_admin_auth_register(apr_pool_t *p);
/* The handler and the provider. */
void orgs_admin_register_hooks(apr_pool_t *p);

#endif
