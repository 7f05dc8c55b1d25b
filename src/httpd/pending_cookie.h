/* [glue] Pending logins in the browser's cookie (pending_cookie.c): the
 * login a browser starts is sealed in a cookie (pending_seal.h) rather
 * than written to the store, so a login start writes nothing (no disk
 * sync, no shared table an anonymous client could fill) and, with a
 * PostgreSQL store, its callback completes on whichever node it lands on.
 * OrgsLoginState store keeps them in an LMDB store as before. */
#ifndef ORGS_PENDING_COOKIE_H
#define ORGS_PENDING_COOKIE_H

#include <httpd.h>

#include "store.h"
#include "endpoints.h"

/* Whether this server keeps pending logins in the browser's cookie (the
 * default; always with a PostgreSQL store). */
int orgs_pending_cookie_on(request_rec *r);

/* Seals pl into one of the browser's pending-login cookies (at most a few
 * per browser: the oldest is replaced). A return_to too long for a cookie
 * is replaced by "/" (logged). APR_SUCCESS, or why not with err set. */
apr_status_t orgs_pending_cookie_put(request_rec *r, orgs_pending_t *pl, orgs_err_t *err);

/* The callback's first step with cookies on: the browser's sealed login
 * for state, when it shows one, is cleared from the browser (every answer
 * clears it) and, when it opens, has not expired and was not signed in
 * already, is *out: the callback goes on with it, and its sign-in marks
 * it used (orgs_signin_t.sealed_created). DECLINED to go on, *out NULL
 * when no usable sealed login names state (the store answers: a state it
 * does not know is refused there); else the refusal already sent (400
 * for a tampered or expired one). */
int orgs_pending_cookie_take(orgs_route_t *c, const char *state, orgs_pending_t **out);

#endif
