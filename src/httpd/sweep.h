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

#endif
