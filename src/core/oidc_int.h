/* What the files of the OpenID Connect unit share: the back-channel
 * policy's pieces that the code exchange (oidc_token.c) applies like the
 * provider fetches (oidc_provider.c, where they live), and two small
 * helpers. Private to src/core/oidc_*.c; the API is oidc.h. */
#ifndef ORGS_OIDC_INT_H
#define ORGS_OIDC_INT_H

#include "oidc.h"

/* The string member key of o, or NULL when absent or not a string. */
const char *orgs_oidc_json_str(const json_t *o, const char *key);

/* Prefixes err's text with what (err may be NULL) and returns rv. */
apr_status_t orgs_oidc_err_prefix(orgs_err_t *err, apr_status_t rv, const char *what);

/* The bucket of the per-connection cap, and the cap (0: none). */
const char *orgs_oidc_cap_key(const orgs_http_opts_t *opts, const char *issuer);
int orgs_oidc_cap_max(const orgs_http_opts_t *opts);

/* One endpoint against the issuer's origin and the hosts opts allows (the
 * connection's and the server's). */
apr_status_t orgs_oidc_endpoint_allowed(const char *what, const char *url, const char *issuer,
                                        const orgs_http_opts_t *opts, apr_pool_t *p,
                                        orgs_err_t *err);

#endif
