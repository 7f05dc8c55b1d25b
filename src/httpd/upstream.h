/* [glue] The back channel to tenants' IdPs as the endpoints use it: the
 * HTTP options from the Orgs Backchannel* directives, the HTTP status of a
 * failed step, and the per-issuer log gate (backchan.h). */
#ifndef ORGS_UPSTREAM_H
#define ORGS_UPSTREAM_H

#include <httpd.h>

#include "http.h"
#include "store.h"

/* Options for calls made for connection conn: its id is the bucket of
 * OrgsBackchannelMaxConcurrent, its endpoint hosts are allowed besides
 * the issuer's origin and OrgsBackchannelAllowHost. */
orgs_http_opts_t orgs_upstream_opts(request_rec *r, const orgs_conn_t *conn);

/* The status a login answers when a back-channel step failed with rv:
 * 503 (with Retry-After) for what passes by itself (APR_EBUSY: fetched by
 * another request; APR_EAGAIN: backing off, at the cap; ORGS_ENOKID: a key
 * not yet in the JWKS), 502 otherwise. */
int orgs_upstream_status(request_rec *r, apr_status_t rv);

/* 1 when a line about issuer's back channel at step ("login", "callback",
 * "token") may be logged now: the first, then one per
 * ORGS_BACKCHAN_LOG_INTERVAL in the whole server (per child without the
 * shared gate). *note is then "" or " (N similar lines held back since the
 * previous one)", to end the line with. 0: skip it. */
int orgs_upstream_log_gate(request_rec *r, const char *issuer, const char *step, const char **note);

#endif
