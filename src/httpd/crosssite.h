/* [glue] Sign-ins and sign-outs another site asks for (crosssite.c): the
 * check, the one-button confirmation pages and their tokens, and the form
 * body those pages post. */
#ifndef ORGS_CROSSSITE_H
#define ORGS_CROSSSITE_H

#include <httpd.h>

#include "endpoints.h"

/* Whether another site started this request: Sec-Fetch-Site cross-site or
 * same-site (a sibling host), an Origin that is not this site's, or (no
 * Sec-Fetch-Site, no Origin) a Referer of another origin. A request with
 * none of the three counts as foreign (see crosssite.c for why). */
int orgs_crosssite_foreign(request_rec *r);

/* The fields of an application/x-www-form-urlencoded POST body (at most
 * 16 fields, 8 KB) in *args. APR_EINVAL for another body, a field twice or
 * a NUL byte. */
apr_status_t orgs_crosssite_form_read(request_rec *r, apr_table_t **args);

/* Before a login goes to the IdP. Returns 1 when it may: a GET this site
 * started, or a POST carrying this browser's confirmation token. Else 0
 * with *done the answer sent: for a GET another site started, the page
 * asking the user to confirm (its button posts the login with the token);
 * for a POST without a valid token, 403. */
int orgs_crosssite_login_gate(orgs_route_t *c, const char *org_name, const char *org_label,
                              const char *conn_name, const char *hint, int *done);

/* Before a logout ends the session sid of org (NULL: there is none, and
 * nothing to protect). Returns 1 when it may: a GET this site started, or
 * a POST carrying the session's confirmation token. Else 0 with *done the
 * answer sent: the confirmation page, or 403 for a POST without a valid
 * token (the session is kept). */
int orgs_crosssite_logout_gate(orgs_route_t *c, const char *org, const char *sid, int *done);

#endif
