/* [glue] Pending logins in the browser's cookie (pending_cookie.c), with
 * a PostgreSQL store: the login a browser starts on one node is sealed in
 * a cookie (pending_seal.h), so that its callback completes on whichever
 * node it lands on. An LMDB-only store keeps its pending logins in the
 * store as before. */
#ifndef ORGS_PENDING_COOKIE_H
#define ORGS_PENDING_COOKIE_H

#include <httpd.h>

#include "store.h"
#include "endpoints.h"

/* Whether this server keeps pending logins in the browser's cookie (its
 * store is a PostgreSQL one, shared by several nodes). */
int orgs_pending_cookie_on(request_rec *r);

/* Seals pl into one of the browser's pending-login cookies (at most a few
 * per browser: the oldest is replaced). A return_to too long for a cookie
 * is replaced by "/" (logged). APR_SUCCESS, or why not with err set. */
apr_status_t orgs_pending_cookie_put(request_rec *r, orgs_pending_t *pl, orgs_err_t *err);

/* The callback's first step with cookies on: the browser's sealed login
 * for state, when it shows one, is cleared from the browser (every answer
 * clears it) and, when it opens and has not expired, put in this node's
 * store, where the callback reads and consumes it as any pending login
 * (the store's single use and browser binding hold on this node).
 * DECLINED to go on (also when no sealed login names state: the store
 * answers); else the refusal already sent (400 for a tampered or expired
 * one, 503/500 when the store cannot take it). */
int orgs_pending_cookie_take(orgs_route_t *c, const char *state);

#endif
