/* [glue] check_authn for `AuthType orgs`: session cookie -> session in the
 * store -> membership re-checked -> r->user and the app's environment. */
#ifndef ORGS_AUTHN_H
#define ORGS_AUTHN_H

#include <apr_pools.h>

/* The AuthType this module answers to. */
#define ORGS_AUTH_TYPE "orgs"

/* Sessions seen again within this interval are not re-written: the only
 * write on the per-request path is this throttled "last seen" update. */
#define ORGS_TOUCH_INTERVAL apr_time_from_sec(60)

/* Called from register_hooks in mod_auth_orgs.c. */
void orgs_authn_register_hooks(apr_pool_t *p);

#endif
