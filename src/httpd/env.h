/* [glue] What the app sees: ORG_* environment variables for CGI/SSI,
 * X-Org-* request headers for proxied apps, and the scrub that removes
 * every incoming header able to pose as one of them. */
#ifndef ORGS_ENV_H
#define ORGS_ENV_H

#include <httpd.h>

#include "store.h"

/* Longest exported value, in bytes (claims: ORGS_EXPORT_VALUE_MAX). */
#define ORGS_ENV_VALUE_MAX 1024

/* Called from register_hooks in mod_auth_orgs.c: the scrub runs on every
 * request, authenticated or not. */
void orgs_env_register_hooks(apr_pool_t *p);

/* Removes incoming headers whose name, upper-cased with '-' turned into
 * '_', starts with ORG_ or X_ORG_. */
void orgs_env_scrub(request_rec *r);

/* Exports the session's org, user and the exports prepared at sign-in
 * (ORG_EMAIL, ORG_CLAIM_*; export.h) to r->subprocess_env and, when
 * pass_headers, as X-Org-* request headers. */
void orgs_env_export(request_rec *r, const orgs_session_view_t *v, int pass_headers);

#endif
