/* [glue] The module's own endpoints under OrgsEndpoint (default /orgs):
 * /login, /callback, /logout — one route table — plus the cookies they
 * share with check_authn. */
#ifndef ORGS_LOGIN_H
#define ORGS_LOGIN_H

#include <httpd.h>

/* Cookie names (without the __Host- prefix used on https). */
#define ORGS_COOKIE_SESSION "orgs_sess_"   /* + org name: the session id of that org */
#define ORGS_COOKIE_ORG "orgs_org"         /* the org chosen last, for locations not fixing one */
#define ORGS_COOKIE_BROWSER "orgs_browser" /* binds pending logins to this browser */

/* Set in r->notes while the endpoints look up the configuration of the
 * location a login returns to; check_authn then answers that lookup at once. */
#define ORGS_NOTE_LOOKUP "orgs-config-lookup"

/* Pending logins kept per browser; older ones are dropped. */
#define ORGS_PENDING_PER_BROWSER 5

/* Called from register_hooks in mod_auth_orgs.c. */
void orgs_login_register_hooks(apr_pool_t *p);

/* The value of one of our cookies, NULL when absent. */
const char *orgs_login_cookie_get(request_rec *r, const char *name);

/* The answer to a request without a valid session: a redirect to the
 * login endpoint for browsers, 401 for API-style requests. org is the
 * organization the location is fixed to (may be NULL). */
int orgs_login_challenge(request_rec *r, const char *org);

#endif
