/* [glue] Admission of a login start (admit.c): which client it is (its
 * address, keyed-hashed) and whether its browser has shown that it keeps
 * our cookie, so the store can bound what one client holds. */
#ifndef ORGS_ADMIT_H
#define ORGS_ADMIT_H

#include <httpd.h>

#include "store.h"
#include "endpoints.h"

/* The query parameter of the one self-redirect that asks a browser to
 * show the cookie it was just given. */
#define ORGS_ADMIT_COOKIE_CHECK "cookie_check"

/* The browser-binding cookie of this request when it is one this server
 * issued (*proven 1), else a fresh one set on the response (*proven 0,
 * *issued 1) — or, for a well-formed cookie we cannot vouch for (an older
 * format), that one kept so a login in progress still completes (*proven
 * 0, *issued 0). NULL when no random value could be drawn. */
const char *orgs_admit_browser(request_rec *r, int *proven, int *issued);

/* Sets a fresh browser cookie on the response (the self-redirect's, the
 * cross-site confirmation's); orgs_admit_browser then returns it, proven,
 * for the rest of the request. */
const char *orgs_admit_browser_new(request_rec *r);

/* The client tag of the request's address: the whole IPv4 address, an
 * IPv6 address's /64 (one client's network), keyed-hashed; and the tag of
 * its network: the IPv4 /24, the IPv6 /48. APR_SUCCESS or the hash's
 * failure. */
apr_status_t orgs_admit_client(request_rec *r, unsigned char tag[ORGS_STORE_CLIENT_TAG_LEN],
                               unsigned char net[ORGS_STORE_CLIENT_TAG_LEN]);

/* The start of a login from a browser that has shown no cookie of ours:
 * the first time, a fresh cookie and a redirect to the same login (with
 * ORGS_ADMIT_COOKIE_CHECK; issued: orgs_admit_browser set it already);
 * when the browser comes back without it, a 403
 * page saying cookies are needed. Nothing is stored either way. */
int orgs_admit_ask_cookie(orgs_route_t *c, int issued, const char *organization,
                          const char *connection, const char *login_hint);

#endif
