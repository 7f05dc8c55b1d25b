/* [glue] The module's own endpoints under OrgsEndpoint (default /orgs):
 * one route table (endpoints.c) over /login (login.c), /callback
 * (callback.c), /logout and /logged-out (logout.c); the responses, cookies
 * and rv -> HTTP status table they share; and the cookies check_authn
 * reads. */
#ifndef ORGS_ENDPOINTS_H
#define ORGS_ENDPOINTS_H

#include <httpd.h>

#include "http.h"
#include "store.h"

/* Cookie names (without the __Host- prefix used on https). */
#define ORGS_COOKIE_SESSION "orgs_sess_"   /* + org name: the session id of that org */
#define ORGS_COOKIE_ORG "orgs_org"         /* the org chosen last, for locations not fixing one */
#define ORGS_COOKIE_BROWSER "orgs_browser" /* binds pending logins to this browser */
/* The prefix of every cookie the module sets: stripped from the request
 * before the app sees it (fixups.c). */
#define ORGS_COOKIE_NAMESPACE "orgs_"

/* Set in r->notes while the endpoints look up the configuration of the
 * location a login returns to; check_authn then answers that lookup at once. */
#define ORGS_NOTE_LOOKUP "orgs-config-lookup"

/* One request to an endpoint, as the route table hands it over: the store
 * is open, the query parsed, return_to checked (or "/"). */
typedef struct orgs_route_t {
    request_rec *r;
    orgs_store_t *st;
    apr_table_t *args;
    const char *return_to;
} orgs_route_t;

/* Called from register_hooks in mod_auth_orgs.c. */
void orgs_endpoints_register_hooks(apr_pool_t *p);

/* ---- the handlers of the route table -------------------------------- */

int orgs_login_route(orgs_route_t *c);       /* /login (login.c) */
int orgs_callback_route(orgs_route_t *c);    /* /callback (callback.c) */
int orgs_logout_route(orgs_route_t *c);      /* /logout (logout.c) */
int orgs_logout_done_route(orgs_route_t *c); /* /logged-out (logout.c) */
int orgs_signed_out_route(orgs_route_t *c);  /* /signed-out (pages.c) */
int orgs_switch_route(orgs_route_t *c);      /* /switch (pages.c) */

/* The answer to a request without a valid session (login.c): a redirect
 * to the login endpoint for browsers, 401 for API-style requests. org is
 * the organization the location is fixed to (may be NULL). */
int orgs_login_challenge(request_rec *r, const char *org);

/* ---- shared by the endpoints ---------------------------------------- */

/* The HTTP status for a failure rv (style.md): bad input 400, denied 403,
 * IdP unreachable or bad answer 502, store full 503 (ORGS_ESTOREFULL,
 * APR_ENOSPC: temporary), any other store or crypto failure 500. */
int orgs_status_for(apr_status_t rv);

/* The value of one of our cookies (name without prefix), NULL when absent
 * or sent twice with different values (logged). */
const char *orgs_endpoints_cookie_get(request_rec *r, const char *name);
/* The session id of the request's org, found in one pass over the Cookie
 * headers: the org is fixed (a location's OrgsOrganization) or, when
 * fixed is NULL, the org cookie's; *org is set to it (NULL: none). NULL
 * when there is no session cookie of that org, or it came twice with
 * different values (logged as orgs_endpoints_cookie_get does). */
const char *orgs_endpoints_session_cookie_get(request_rec *r, const char *fixed, const char **org);
/* Adds a Set-Cookie; max_age < 0: a browser-session cookie; 0 removes it. */
void orgs_endpoints_cookie_set(request_rec *r, const char *name, const char *value, long max_age);

/* Responses: never cached. */
void orgs_endpoints_no_store(request_rec *r);
int orgs_endpoints_page_send(request_rec *r, int status, const char *html);
int orgs_endpoints_redirect(request_rec *r, const char *url);
/* Login errors: the module's page, or OrgsErrorURL (of the location
 * return_to names) with error and error_description parameters. The code
 * is one of OAuth's (access_denied, invalid_request, server_error,
 * temporarily_unavailable). */
int orgs_endpoints_error_send(request_rec *r, int status, const char *code, const char *desc,
                              const char *return_to);

/* URLs: OrgsEndpoint + route (a local path), the public base URL of this
 * server, the callback's absolute URL. */
const char *orgs_endpoints_path(request_rec *r, const char *route);
const char *orgs_endpoints_base_url(request_rec *r);
const char *orgs_endpoints_redirect_uri(request_rec *r);

#endif
