/* A pending login sealed for the browser's cookie (pending_seal.c): with a
 * PostgreSQL store the nodes behind one load balancer share no local
 * store, so the login a browser starts on one node travels to the
 * callback, which may land on another, in a cookie. AES-256-GCM under a
 * key of its own derived from the login-state key (which every node
 * derives from the same OrgsCryptoKey), the state as associated data (a
 * value sealed for one state opens for no other), the creation time
 * inside (it expires like a stored one) and a size bound (a cookie
 * travels on every request). Pure: no httpd, no store. */
#ifndef ORGS_PENDING_SEAL_H
#define ORGS_PENDING_SEAL_H

#include "crypto.h"
#include "orgs.h"
#include "store.h"

/* The longest sealed value (characters): a few of them must fit in a
 * browser's Cookie header with everything else the site sets. */
#define ORGS_PENDING_SEAL_MAX 1400
/* The characters of the state that start the value: tell which of a
 * browser's sealed logins a callback's state names without opening any. */
#define ORGS_PENDING_SEAL_TAG 10

/* The sealing key: HKDF-Expand of the login-state key with its own label,
 * so a sealed login can be mistaken for nothing else sealed or MACed
 * under that key. */
apr_status_t orgs_pending_seal_key(const unsigned char state_key[ORGS_CRYPTO_KEY_LEN],
                                   unsigned char out[ORGS_CRYPTO_KEY_LEN]);

/* The pending login as a cookie value: the state's first
 * ORGS_PENDING_SEAL_TAG characters, '.', the creation time in seconds,
 * '.', base64url(sealed JSON).
 * APR_EINVAL for a login the store would refuse too (bad state, missing
 * nonce or verifier), APR_ENOSPC when the value would be longer than
 * ORGS_PENDING_SEAL_MAX (a long return_to: the caller may seal it again
 * with a shorter one), ORGS_ECRYPTO. */
apr_status_t orgs_pending_seal(const unsigned char key[ORGS_CRYPTO_KEY_LEN],
                               const orgs_pending_t *pl, char **out, apr_pool_t *p,
                               orgs_err_t *err);

/* The creation time a value shows in the clear (seconds), to pick the
 * oldest of a browser's sealed logins without opening them; 0 for a value
 * of another shape. Not authenticated: only ever a hint. */
apr_time_t orgs_pending_seal_created(const char *value);

/* Whether value was sealed for state, by its tag only (no key needed). */
int orgs_pending_seal_names(const char *value, const char *state);

/* The pending login sealed in value for state: APR_NOTFOUND when value
 * is not one sealed for this state (its tag differs); ORGS_ECRYPTO when
 * it does not open (tampered, another key, or sealed for another state
 * with the same tag) or opens to something malformed; ORGS_EEXPIRED when
 * now - created > ttl (ttl 0: not checked) or it was created in the
 * future by more than a minute of clock difference between nodes. */
apr_status_t orgs_pending_unseal(const unsigned char key[ORGS_CRYPTO_KEY_LEN], const char *value,
                                 const char *state, apr_time_t now, apr_interval_time_t ttl,
                                 orgs_pending_t **out, apr_pool_t *p, orgs_err_t *err);

#endif
