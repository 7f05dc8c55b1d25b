/* The back channel's fetch policy: when the module may call a tenant's
 * identity provider (discovery, JWKS, token endpoint), so that a slow,
 * dead or hostile IdP costs its own org at most a few worker threads and
 * never the others.
 *
 * - Single flight per issuer and document kind: inside a process one
 *   thread fetches while the others wait at most ORGS_BACKCHAN_WAIT (then
 *   use a stale copy or fail fast); across processes a lease in the store
 *   (orgs_store_cache_claim, key "bclease:<kind>:<issuer>", held for the
 *   fetch's total timeout at most) keeps other children from fetching too.
 * - Exponential backoff per issuer after failed fetches, from
 *   ORGS_BACKCHAN_BACKOFF_MIN doubling to ORGS_BACKCHAN_BACKOFF_MAX; the
 *   failure count and the next allowed time are shared through the store
 *   ("bcfail:<issuer>"), mirrored in the process.
 * - A cap on calls in flight per connection and process (slot_take/give).
 * - A gate that lets one log line per issuer and interval through and
 *   counts the others.
 *
 * Process state lives in the pool given to orgs_backchan_init (httpd:
 * pchild); without it (orgctl, tests that do not call it) only the store's
 * shared records apply and the log gate lets everything through. Thread
 * safe once initialised. */
#ifndef ORGS_BACKCHAN_H
#define ORGS_BACKCHAN_H

#include "orgs.h"
#include "store.h"

#define ORGS_BACKCHAN_BACKOFF_MIN apr_time_from_sec(2)
#define ORGS_BACKCHAN_BACKOFF_MAX apr_time_from_sec(64)
/* How long a request waits for another thread's fetch of the same document
 * (a quick IdP answers within it; a hanging one holds the waiter no longer). */
#define ORGS_BACKCHAN_WAIT apr_time_from_msec(500)
/* After finding another process's lease, how long a process answers "busy"
 * without asking the store again (no write transaction per request). */
#define ORGS_BACKCHAN_REMOTE_MEMO apr_time_from_msec(500)
/* One log line per issuer and interval while its IdP keeps failing. */
#define ORGS_BACKCHAN_LOG_INTERVAL apr_time_from_sec(30)

typedef enum { ORGS_BACKCHAN_DISCOVERY = 0, ORGS_BACKCHAN_JWKS = 1 } orgs_backchan_kind_t;

typedef struct orgs_backchan_ticket_t orgs_backchan_ticket_t;

/* Creates the process state in p (its cleanup removes it). APR_SUCCESS or
 * the APR error of the mutex / condition variable. */
apr_status_t orgs_backchan_init(apr_pool_t *p, orgs_err_t *err);

/* Asks to fetch document kind of issuer now. APR_SUCCESS: the caller
 * fetches and then calls orgs_backchan_end with the outcome (*t in p).
 * APR_EBUSY: do not fetch, a fetch is in flight in this or another
 * process. APR_EAGAIN: do not fetch, the issuer backs off after failures
 * (err quotes the last one). *waited is set to 1
 * when this call waited for another thread's fetch to finish, so that a
 * fresh copy may now be in the cache. lease: how long a cross-process
 * lease may be held (the fetch's total timeout plus a margin). st may be
 * NULL (no sharing). */
apr_status_t orgs_backchan_begin(orgs_store_t *st, const char *issuer, orgs_backchan_kind_t kind,
                                 apr_time_t now, apr_interval_time_t lease, int *waited,
                                 orgs_backchan_ticket_t **t, apr_pool_t *p, orgs_err_t *err);

/* Ends a fetch begun by orgs_backchan_begin: releases the flight and the
 * lease; outcome APR_SUCCESS resets the issuer's backoff, anything else
 * counts a failure (why->msg is remembered as the reason). */
void orgs_backchan_end(orgs_store_t *st, orgs_backchan_ticket_t *t, apr_status_t outcome,
                       const orgs_err_t *why, apr_time_t now, apr_pool_t *p);

/* The backoff after n consecutive failures (n >= 1). */
apr_interval_time_t orgs_backchan_backoff(unsigned n);

/* Takes one of max slots of key (a connection id) for a call in flight;
 * APR_EAGAIN when all are taken. max <= 0 or no process state: always
 * APR_SUCCESS. Every APR_SUCCESS is paired with orgs_backchan_slot_give. */
apr_status_t orgs_backchan_slot_take(const char *key, int max, orgs_err_t *err);
void orgs_backchan_slot_give(const char *key, int max);

/* 1 when a log line about issuer's back channel should be written now (the
 * first one, then one per interval); *suppressed is the number of lines
 * held back since the last one that passed. 0: hold this one back. Shared
 * by every process when a region was given to orgs_backchan_log_share
 * (one line per issuer and interval in the whole server), else per
 * process; without process state either, every line passes. */
int orgs_backchan_log_gate(const char *issuer, apr_time_t now, apr_interval_time_t interval,
                           unsigned *suppressed);

/* The log gate's shared region: memory every process maps (httpd: made by
 * the parent before it forks) of orgs_backchan_log_shared_size() bytes,
 * prepared by orgs_backchan_log_shared_init (1: ready; a region already of
 * this layout, after a graceful restart, is kept as it is) and handed to
 * each process with orgs_backchan_log_share (NULL, or a region of another
 * layout: the per-process gate). ORGS_BACKCHAN_LOG_SLOTS issuers fit; an
 * issuer that finds no slot is gated per process. Lock-free. */
#define ORGS_BACKCHAN_LOG_SLOTS 256
apr_size_t orgs_backchan_log_shared_size(void);
int orgs_backchan_log_shared_init(void *mem, apr_size_t size);
void orgs_backchan_log_share(void *mem);

/* Back-channel endpoint rule: url (token endpoint, JWKS, userinfo) must be
 * on issuer's origin (same scheme, host and port), or its host must be in
 * conn_hosts (the connection's own list: what one tenant's IdP needs is
 * allowed for that tenant only) or in server_hosts (the operator's
 * server-wide list, for every connection). Both NULL-terminated, compared
 * without case, may be NULL. APR_SUCCESS or APR_EACCES with err naming
 * what (e.g. "jwks_uri"). */
apr_status_t orgs_backchan_endpoint_check(const char *what, const char *url, const char *issuer,
                                          const char *const *conn_hosts,
                                          const char *const *server_hosts, apr_pool_t *p,
                                          orgs_err_t *err);

/* The host of an absolute URL without brackets or port, in p; NULL when
 * it has none. */
const char *orgs_backchan_url_host(const char *url, apr_pool_t *p);

#endif
