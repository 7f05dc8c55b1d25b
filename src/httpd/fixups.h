/* [glue] What the app and the caches are shown (fixups.c): the module's
 * cookies stripped before the handler, authenticated responses marked
 * private. */
#ifndef ORGS_FIXUPS_H
#define ORGS_FIXUPS_H

#include <httpd.h>

/* Called from register_hooks in mod_auth_orgs.c. */
void orgs_fixups_register_hooks(apr_pool_t *p);

/* The request headers holding the Cookie headers as the browser sent
 * them: r->headers_in, unless the module's cookies were already stripped
 * from this request (or the main request, or the one an internal redirect
 * came from), then the copy kept before the strip. */
apr_table_t *orgs_fixups_cookie_headers(const request_rec *r);

#endif
