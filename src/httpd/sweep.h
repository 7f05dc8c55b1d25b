/* [glue] The session sweep: sessions that expired or went idle are
 * removed from the store from time to time, on the login path (never per
 * request). */
#ifndef ORGS_SWEEP_H
#define ORGS_SWEEP_H

#include <httpd.h>

#include "store.h"

/* Removes expired and idle sessions when the last sweep (by any child,
 * its time kept in the store) is older than 15 minutes, and users without
 * membership unused for OrgsUserPurgeAfter when that purge is older than
 * an hour; failures are logged, never the caller's concern. */
void orgs_sweep_sessions(request_rec *r, orgs_store_t *st, apr_time_t now);

/* After a write of the login path was refused for space (ORGS_ESTOREFULL):
 * the regular sweep runs only after a sign-in that succeeded, so a store
 * filled by expired sessions would refuse every sign-in for good. Removes
 * up to two batches of expired and idle sessions at once (deletes may use
 * the reserve), at most once a second per child; 1 when it removed any
 * (the caller tries its write once more), else 0. */
int orgs_sweep_when_full(request_rec *r, orgs_store_t *st, apr_time_t now);

#endif
