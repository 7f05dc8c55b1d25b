/* [glue] Authorization providers: Require org-member [ORG...],
 * org-role ROLE..., org-meta KEY VALUE..., org-connection CONN...
 * Require lines are parsed once at configuration time. */
#ifndef ORGS_AUTHZ_H
#define ORGS_AUTHZ_H

#include <apr_pools.h>

/* Called from register_hooks in mod_auth_orgs.c. */
void orgs_authz_register_hooks(apr_pool_t *p);

#endif
