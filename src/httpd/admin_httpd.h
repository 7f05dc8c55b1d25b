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

/* A change through the API on a node of a PostgreSQL store
 * (pgwrite_admin.c): the core's answer in rs as orgs_admin_handle gives
 * it, the change made through the database first; 503 when the database
 * cannot be reached, 409 when it refuses the change (each logged):
 * nothing was written then. */
struct orgs_store_t;
struct orgs_admin_req_t;
struct orgs_admin_resp_t;
void orgs_pgwrite_admin(request_rec *r, struct orgs_store_t *st, const struct orgs_admin_req_t *rq,
                        struct orgs_admin_resp_t *rs);

/* OrgsAdminWritesPerMinute (admin_rate.c): a change under
 * /organizations/{org} counted in the org's minute on this server; the
 * seconds until it may be tried again (> 0, logged) when the org is past
 * its bound, else 0. */
int orgs_admin_rate_refused(request_rec *r, struct orgs_store_t *st,
                            const struct orgs_admin_req_t *rq);

/* Registers `Require org-api-token` (admin_auth.c). */
void orgs_admin_auth_register(apr_pool_t *p);
/* The handler and the provider. */
void orgs_admin_register_hooks(apr_pool_t *p);

#endif
