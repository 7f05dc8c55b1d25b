/* [glue] The session sweep (sweep.h): run by a successful sign-in, at most
 * every PURGE_INTERVAL across all children, so the store does not keep
 * sessions nobody can use any more; and, hourly, the purge of unused users,
 * of old audit records and of expired invitations. */
#include <stdatomic.h>

#include "private.h"
#include "sweep.h"

/* The last sweep's time is shared by all children through the store's
 * cache. */
#define PURGE_INTERVAL apr_time_from_sec(900)
#define PURGE_KEY "purge:sessions"
/* One sign-in sweeps at most this many batches (orgs_store_session_purge's,
 * up to 1000 deletions each), then leaves the rest to the next sign-in
 * at least PURGE_STEP_INTERVAL later: no sign-in pays for a large backlog. */
#define PURGE_BATCHES 2
#define PURGE_STEP_INTERVAL apr_time_from_sec(1)

#define USER_PURGE_INTERVAL apr_time_from_sec(3600)
#define USER_PURGE_KEY "purge:users"

/* Users without membership unused for OrgsUserPurgeAfter, at most hourly
 * across all children: what a connection minting a new subject per login
 * leaves behind is removed, in batches of short transactions. */
static void sweep_users(request_rec *r, orgs_store_t *st, apr_time_t now)
{
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    const char *last = NULL;
    apr_time_t at = 0;
    apr_size_t removed = 0;
    orgs_err_t err = {{0}};
    apr_status_t rv;

    if (sc->user_purge_after <= 0 ||
        (orgs_store_cache_get(st, USER_PURGE_KEY, &last, &at, r->pool, &err) == APR_SUCCESS &&
         now - at < USER_PURGE_INTERVAL)) {
        return;
    }
    if ((rv = orgs_store_cache_put(st, USER_PURGE_KEY, "", now, r->pool, &err)) != APR_SUCCESS ||
        (rv = orgs_store_user_purge(st, now - sc->user_purge_after, &removed, r->pool, &err)) !=
            APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_WARNING, rv,
                        ORGSLOGNO(00523) "cannot remove unused users (OrgsUserPurgeAfter): %s",
                        err.msg);
        return;
    }
    orgs_log_rerror(r, removed ? APLOG_INFO : APLOG_DEBUG, 0,
                    ORGSLOGNO(00522) "removed %" APR_SIZE_T_FMT " users without membership "
                                     "unused for OrgsUserPurgeAfter",
                    removed);
}

#define AUDIT_PRUNE_INTERVAL apr_time_from_sec(3600)
#define AUDIT_PRUNE_KEY "purge:audit"
/* Records one sign-in prunes at most (one transaction); a backlog goes at
 * the next sign-ins, AUDIT_PRUNE_STEP apart. */
#define AUDIT_PRUNE_BATCH 1000
#define AUDIT_PRUNE_STEP apr_time_from_sec(1)

/* Audit records older than OrgsAuditMaxAge, one bounded batch per sign-in
 * at most hourly (every second while a backlog remains). */
static void sweep_audit(request_rec *r, orgs_store_t *st, apr_time_t now)
{
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    const char *last = NULL;
    apr_time_t at = 0;
    apr_size_t removed = 0;
    int more = 0;
    orgs_err_t err = {{0}};
    apr_status_t rv;

    if (sc->audit_max_age <= 0 ||
        (orgs_store_cache_get(st, AUDIT_PRUNE_KEY, &last, &at, r->pool, &err) == APR_SUCCESS &&
         now - at < (last && *last ? AUDIT_PRUNE_STEP : AUDIT_PRUNE_INTERVAL))) {
        return;
    }
    if ((rv = orgs_store_cache_put(st, AUDIT_PRUNE_KEY, "", now, r->pool, &err)) != APR_SUCCESS ||
        (rv = orgs_store_audit_prune(st, now - sc->audit_max_age, AUDIT_PRUNE_BATCH, &removed,
                                     &more, r->pool, &err)) != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_WARNING, rv,
                        ORGSLOGNO(00761) "cannot prune the audit log (OrgsAuditMaxAge): %s",
                        err.msg);
        return;
    }
    if (more) {
        orgs_store_cache_put(st, AUDIT_PRUNE_KEY, "more", now, r->pool, &err);
    }
    orgs_log_rerror(r, removed ? APLOG_INFO : APLOG_DEBUG, 0,
                    ORGSLOGNO(00762) "pruned %" APR_SIZE_T_FMT " audit records older than "
                                     "OrgsAuditMaxAge%s",
                    removed, more ? " (more at the next sign-in)" : "");
}

#define INVITE_PURGE_INTERVAL apr_time_from_sec(3600)
#define INVITE_PURGE_KEY "purge:invitations"
/* Transactions (up to 1000 invitations read each) one sign-in runs at
 * most; a longer walk goes on at the next sign-ins, a second apart. */
#define INVITE_PURGE_BATCHES 2
#define INVITE_PURGE_STEP apr_time_from_sec(1)

/* Expired invitations, hourly in bounded batches: an org at its
 * OrgsMaxInvitationsPerOrg bound frees its own at the next create, this
 * frees the others'. */
static void sweep_invites(request_rec *r, orgs_store_t *st, apr_time_t now)
{
    const char *last = NULL, *next = NULL;
    apr_time_t at = 0;
    apr_size_t removed = 0;
    orgs_err_t err = {{0}};
    apr_status_t rv;

    /* the marker's value: "" when the last walk finished, else the id it
     * stopped at */
    if (orgs_store_cache_get(st, INVITE_PURGE_KEY, &last, &at, r->pool, &err) == APR_SUCCESS &&
        now - at < (last && *last ? INVITE_PURGE_STEP : INVITE_PURGE_INTERVAL)) {
        return;
    }
    /* claimed first, so concurrent sign-ins do not walk the same range; a
     * store too full to write the marker is swept all the same */
    rv = orgs_store_cache_put(st, INVITE_PURGE_KEY, last ? last : "", now, r->pool, &err);
    if (rv == APR_SUCCESS || rv == ORGS_ESTOREFULL) {
        rv = orgs_store_invite_purge_some(st, now, INVITE_PURGE_BATCHES, last, &next, &removed,
                                          r->pool, &err);
    }
    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_WARNING, rv,
                        ORGSLOGNO(00764) "cannot remove expired invitations: %s", err.msg);
        return;
    }
    orgs_store_cache_put(st, INVITE_PURGE_KEY, next ? next : "", now, r->pool, &err);
    orgs_log_rerror(r, removed ? APLOG_INFO : APLOG_DEBUG, 0,
                    ORGSLOGNO(00765) "removed %" APR_SIZE_T_FMT " expired invitations%s", removed,
                    next ? " (more at the next sign-in)" : "");
}

void orgs_sweep_sessions(request_rec *r, orgs_store_t *st, apr_time_t now)
{
    sweep_users(r, st, now);
    sweep_audit(r, st, now);
    sweep_invites(r, st, now);
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    const char *last = NULL;
    apr_time_t at = 0;
    apr_size_t removed = 0;
    int more = 0;
    orgs_err_t err = {{0}};
    apr_status_t rv;

    /* the marker's value: "" when the last sweep finished, else the key it
     * stopped at (a sweep in progress goes on at the next sign-in) */
    if (orgs_store_cache_get(st, PURGE_KEY, &last, &at, r->pool, &err) == APR_SUCCESS &&
        now - at < (last && *last ? PURGE_STEP_INTERVAL : PURGE_INTERVAL)) {
        return;
    }
    /* claimed first, so concurrent sign-ins do not sweep the same range; a
     * store too full to write the marker is swept all the same */
    rv = orgs_store_cache_put(st, PURGE_KEY, last ? last : "", now, r->pool, &err);
    if (rv == APR_SUCCESS || rv == ORGS_ESTOREFULL) {
        rv = orgs_store_session_purge_some(st, now, sc->session_idle, PURGE_BATCHES, last, &last,
                                           &removed, &more, r->pool, &err);
    }
    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_WARNING, rv, ORGSLOGNO(00236) "cannot remove expired sessions: %s",
                        err.msg);
        return;
    }
    orgs_store_cache_put(st, PURGE_KEY, more && last ? last : "", now, r->pool, &err);
    orgs_log_rerror(r, APLOG_DEBUG, 0,
                    ORGSLOGNO(00237) "removed %" APR_SIZE_T_FMT " expired sessions%s", removed,
                    more ? " (more at the next sign-in)" : "");
}

/* When the store is full: at most once a second per child, so sign-ins
 * refused in a burst do not all sweep. */
static _Atomic(apr_int64_t) full_sweep_at;

int orgs_sweep_when_full(request_rec *r, orgs_store_t *st, apr_time_t now)
{
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    const char *last = NULL, *next = NULL;
    apr_time_t at = 0;
    apr_int64_t prev = atomic_load(&full_sweep_at);
    apr_size_t removed = 0;
    int more = 0;
    orgs_err_t err = {{0}};

    if (now - prev < PURGE_STEP_INTERVAL ||
        !atomic_compare_exchange_strong(&full_sweep_at, &prev, (apr_int64_t)now)) {
        return 0;
    }
    /* on from where the regular sweep stopped, if it did */
    if (orgs_store_cache_get(st, PURGE_KEY, &last, &at, r->pool, &err) != APR_SUCCESS ||
        (last && !*last)) {
        last = NULL;
    }
    apr_status_t rv = orgs_store_session_purge_some(st, now, sc->session_idle, PURGE_BATCHES, last,
                                                    &next, &removed, &more, r->pool, &err);
    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_WARNING, rv,
                        ORGSLOGNO(00605) "the store is full and expired sessions could "
                                         "not be removed: %s",
                        err.msg);
        return 0;
    }
    /* may fail on the full store: the next sweep starts over */
    orgs_store_cache_put(st, PURGE_KEY, more && next ? next : "", now, r->pool, &err);
    orgs_log_rerror(r, removed ? APLOG_NOTICE : APLOG_DEBUG, 0,
                    ORGSLOGNO(00604) "the store is full: removed %" APR_SIZE_T_FMT
                                     " expired sessions at once to make room%s",
                    removed, removed ? ", trying again" : "");
    return removed > 0;
}
