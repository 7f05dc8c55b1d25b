/* [glue] Health and counters: SetHandler orgs-status answers a JSON health
 * document, or with ?format=prometheus the counters in Prometheus text
 * format. The counters live in one shared-memory segment made by the
 * parent before the children fork; each is bumped with an atomic add (no
 * lock, no store write on the request path). */
#ifndef ORGS_HTTPD_STATUS_H
#define ORGS_HTTPD_STATUS_H

#include <httpd.h>

typedef enum {
    ORGS_CTR_SIGNINS,          /* sign-ins completed (a session issued) */
    ORGS_CTR_DENY_NOT_MEMBER,  /* callback: authenticated, not admitted to the org */
    ORGS_CTR_DENY_AUTHZ,       /* a Require org-* line refused a signed-in user */
    ORGS_CTR_DENY_IDP_REFUSED, /* the IdP answered with an error (access_denied, ...) */
    ORGS_CTR_DENY_BAD_TOKEN,   /* the ID token did not verify */
    ORGS_CTR_DENY_BAD_STATE,   /* callback without a valid, unexpired login state */
    ORGS_CTR_VIEW_CACHED,      /* a request's session served from the child's view cache */
    ORGS_CTR_VIEW_READ,        /* a request's session read from the store (a cache miss) */
    ORGS_CTR_COUNT
} orgs_status_ctr_t;

/* Adds one to a counter (nothing before post_config made the segment). */
void orgs_status_count(orgs_status_ctr_t which);
/* Adds one to the IdP errors of a connection (unreachable metadata, a
 * failed code exchange); counted under "other" once the table is full. */
void orgs_status_idp_error(const char *conn_name);
/* post_config: makes the segment once per parent lifetime (kept across
 * graceful restarts, so counters survive them). */
int orgs_status_post_config(apr_pool_t *pconf, server_rec *s);
/* Called from register_hooks in mod_auth_orgs.c: the handler. */
void orgs_status_register_hooks(apr_pool_t *p);

#endif
