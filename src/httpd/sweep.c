/* [glue] The session sweep (sweep.h): run by a successful sign-in, at most
 * every PURGE_INTERVAL across all children, so the store does not keep
 * sessions nobody can use any more; and, hourly (OrgsSweepInterval), the
 * purge of unused users, of old audit records and of expired invitations.
 * On a PostgreSQL store unused users and expired invitations are removed
 * through the database for the whole cluster (sweep_pg); sessions (the
 * database prunes its own expired ones) and the audit log (per node) stay
 * this replica's. */
#include <stdatomic.h>

#include "private.h"
#include "pgstore.h"
#include "pgwrite.h"
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

#define USER_PURGE_KEY "purge:users"
/* A walk through the database's users goes on at the next sign-in at
 * least this much later; one sign-in writes at most this many change sets
 * of it. */
#define USER_PURGE_STEP apr_time_from_sec(1)
#define USER_PURGE_BATCHES 2

/* The period of the hourly sweeps (OrgsSweepInterval). */
static apr_interval_time_t sweep_every(const request_rec *r)
{
    apr_interval_time_t t = orgs_srv_cfg(r->server)->sweep_interval;
    return t > 0 ? t : ORGS_DEFAULT_SWEEP_INTERVAL;
}

/* A cluster sweep the database could not take is tried again after at
 * most this long, not a whole period later. */
#define SWEEP_RETRY apr_time_from_sec(60)

/* The marker's time that makes the next attempt due SWEEP_RETRY from now
 * (or at the next period, when that is sooner). */
static apr_time_t retry_at(const request_rec *r, apr_time_t now)
{
    apr_interval_time_t every = sweep_every(r);
    return every > SWEEP_RETRY ? now - every + SWEEP_RETRY : now;
}

/* Whether the job under marker key is due at now, and when it is, claims
 * it. The marker holds "" when the job's last walk finished (due again
 * every period) or where an unfinished one stopped (due again step later;
 * *last is that value). Claimed before the work, so concurrent sign-ins
 * do not walk the same range: the marker keeps where the walk stopped
 * when resume is set, else "" (a job that fails then waits a period, not
 * a step); its write status is returned in *claim (with err),
 * ORGS_ESTOREFULL on a store too full to write it. */
static int sweep_claim(request_rec *r, orgs_store_t *st, const char *key, apr_interval_time_t every,
                       apr_interval_time_t step, int resume, apr_time_t now, const char **last,
                       apr_status_t *claim, orgs_err_t *err)
{
    apr_time_t at = 0;
    *last = NULL;
    if (orgs_store_cache_get(st, key, last, &at, r->pool, err) == APR_SUCCESS &&
        now - at < (*last && **last ? step : every)) {
        return 0;
    }
    *claim = orgs_store_cache_put(st, key, resume && *last ? *last : "", now, r->pool, err);
    return 1;
}

/* On a PostgreSQL store: one node's turn at the cluster's sweep of kind,
 * written through the database, never to this replica alone (the
 * replicator brings the deletions here in the log's order, as to every
 * node). APR_SUCCESS with *removed when it ran; otherwise logged here, and
 * the marker key set so that the next attempt is SWEEP_RETRY away (the
 * database down) or at the next period (another node was sweeping). */
static apr_status_t sweep_pg(request_rec *r, orgs_store_t *st, int kind, const char *key,
                             const char *what, const char *last, apr_time_t when, apr_time_t now,
                             apr_size_t batches, const char **next, apr_size_t *removed)
{
    orgs_err_t err = {{0}};
    int busy = 0;
    apr_status_t rv = orgs_pgwrite_sweep(r, kind, when, batches, last && *last ? last : NULL, next,
                                         removed, &busy, &err);
    if (rv == APR_SUCCESS && !busy) {
        return APR_SUCCESS;
    }
    if (rv == APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_DEBUG, 0,
                        ORGSLOGNO(00892) "%s: another node of the PostgreSQL store is sweeping; "
                                         "this node skips its turn",
                        what);
    } else if (rv == ORGS_PGWRITE_DOWN) {
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00890) "%s: skipped, PostgreSQL cannot be reached (%s); "
                                         "nothing removed on any node, tried again later",
                        what, err.msg);
    } else {
        orgs_log_rerror(r, APLOG_WARNING, rv,
                        ORGSLOGNO(00891) "%s: the PostgreSQL sweep failed (%s); nothing more "
                                         "removed, tried again later",
                        what, err.msg);
    }
    if (*removed) {
        orgs_log_rerror(r, APLOG_INFO, 0,
                        ORGSLOGNO(00893) "%s: %" APR_SIZE_T_FMT " removed through PostgreSQL "
                                         "before it stopped",
                        what, *removed);
    }
    orgs_store_cache_put(st, key, *next ? *next : "", busy ? now : retry_at(r, now), r->pool, &err);
    return rv == APR_SUCCESS ? APR_EBUSY : rv;
}

/* Users without membership unused for OrgsUserPurgeAfter, at most once a
 * period across all children: what a connection minting a new subject per
 * login leaves behind is removed, in batches of short transactions. On a
 * PostgreSQL store, by one node for the cluster, judged on the database's
 * rows: a user who signed in on any node is not idle. */
static void sweep_users(request_rec *r, orgs_store_t *st, apr_time_t now)
{
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    const char *last = NULL, *next = NULL;
    apr_size_t removed = 0;
    orgs_err_t err = {{0}};
    apr_status_t rv = APR_SUCCESS;

    /* where it stopped: the key a walk through the database stopped at */
    if (sc->user_purge_after <= 0 || !sweep_claim(r, st, USER_PURGE_KEY, sweep_every(r),
                                                  USER_PURGE_STEP, 1, now, &last, &rv, &err)) {
        return;
    }
    if (rv == APR_SUCCESS && orgs_pgwrite_on(r)) {
        if (sweep_pg(r, st, ORGS_PG_SWEEP_USERS, USER_PURGE_KEY,
                     "unused users (OrgsUserPurgeAfter)", last, now - sc->user_purge_after, now,
                     USER_PURGE_BATCHES, &next, &removed) != APR_SUCCESS) {
            return;
        }
        orgs_store_cache_put(st, USER_PURGE_KEY, next ? next : "", now, r->pool, &err);
    } else if (rv == APR_SUCCESS) {
        rv = orgs_store_user_purge(st, now - sc->user_purge_after, &removed, r->pool, &err);
    }
    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_WARNING, rv,
                        ORGSLOGNO(00523) "cannot remove unused users (OrgsUserPurgeAfter): %s",
                        err.msg);
        return;
    }
    orgs_log_rerror(r, removed ? APLOG_INFO : APLOG_DEBUG, 0,
                    ORGSLOGNO(00522) "removed %" APR_SIZE_T_FMT " users without membership "
                                     "unused for OrgsUserPurgeAfter%s",
                    removed, next ? " (more at the next sign-in)" : "");
}

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
    apr_size_t removed = 0;
    int more = 0;
    orgs_err_t err = {{0}};
    apr_status_t rv = APR_SUCCESS;

    /* "more" while a backlog remains, written once a batch is pruned (the
     * oldest records go first, so there is no place to resume from) */
    if (sc->audit_max_age <= 0 || !sweep_claim(r, st, AUDIT_PRUNE_KEY, sweep_every(r),
                                               AUDIT_PRUNE_STEP, 0, now, &last, &rv, &err)) {
        return;
    }
    if (rv != APR_SUCCESS ||
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
    apr_size_t removed = 0;
    orgs_err_t err = {{0}};
    apr_status_t rv = APR_SUCCESS;

    /* where it stopped: the id of the invitation; a store too full to
     * write the marker is swept all the same */
    if (!sweep_claim(r, st, INVITE_PURGE_KEY, sweep_every(r), INVITE_PURGE_STEP, 1, now, &last, &rv,
                     &err)) {
        return;
    }
    if ((rv == APR_SUCCESS || rv == ORGS_ESTOREFULL) && orgs_pgwrite_on(r)) {
        /* for the cluster, through the database */
        if (sweep_pg(r, st, ORGS_PG_SWEEP_INVITES, INVITE_PURGE_KEY, "expired invitations", last,
                     now, now, INVITE_PURGE_BATCHES, &next, &removed) != APR_SUCCESS) {
            return;
        }
        rv = APR_SUCCESS;
    } else if (rv == APR_SUCCESS || rv == ORGS_ESTOREFULL) {
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

/* The session sweep's period: PURGE_INTERVAL, or OrgsSweepInterval when
 * that is shorter. */
static apr_interval_time_t session_every(const request_rec *r)
{
    apr_interval_time_t every = sweep_every(r);
    return every < PURGE_INTERVAL ? every : PURGE_INTERVAL;
}

void orgs_sweep_sessions(request_rec *r, orgs_store_t *st, apr_time_t now)
{
    sweep_users(r, st, now);
    sweep_audit(r, st, now);
    sweep_invites(r, st, now);
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    const char *last = NULL;
    apr_size_t removed = 0;
    int more = 0;
    orgs_err_t err = {{0}};
    apr_status_t rv = APR_SUCCESS;

    /* where it stopped: the key of the session index (a sweep in progress
     * goes on at the next sign-in); a store too full to write the marker
     * is swept all the same */
    if (!sweep_claim(r, st, PURGE_KEY, session_every(r), PURGE_STEP_INTERVAL, 1, now, &last, &rv,
                     &err)) {
        return;
    }
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

/* Expired used marks of sign-ins one store-full sweep drops. */
#define USED_MARKS_WHEN_FULL 1000

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
    /* and the expired used marks of sign-ins (pending_used.c) */
    apr_size_t marks = 0;
    if (orgs_store_pending_used_sweep(st, now, USED_MARKS_WHEN_FULL, &marks, r->pool, &err) !=
        APR_SUCCESS) {
        marks = 0;
    }
    /* may fail on the full store: the next sweep starts over */
    orgs_store_cache_put(st, PURGE_KEY, more && next ? next : "", now, r->pool, &err);
    orgs_log_rerror(r, removed || marks ? APLOG_NOTICE : APLOG_DEBUG, 0,
                    ORGSLOGNO(00604) "the store is full: removed %" APR_SIZE_T_FMT
                                     " expired sessions at once to make room (and %" APR_SIZE_T_FMT
                                     " expired sign-in marks)%s",
                    removed, marks, removed || marks ? ", trying again" : "");
    return removed > 0 || marks > 0;
}
