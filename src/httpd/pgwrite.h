/* A node of a PostgreSQL store writing through the database from its
 * children (pgstore.h, "a node's own writes"): the callback's sign-in, the
 * sign-out, and a session made on another node looked up once when this
 * node's replica does not have it yet. One small pool of connections per
 * child, opened on first use, every wait bounded; while the database
 * cannot be reached, these answer at once (503) and log once per outage
 * and process; the next attempt is at most a second later. */
#ifndef ORGS_HTTPD_PGWRITE_H
#define ORGS_HTTPD_PGWRITE_H

#include <httpd.h>

#include "orgs.h"
#include "store.h"

/* The database cannot be reached (or took too long): answer 503. */
#define ORGS_PGWRITE_DOWN (ORGS_EBASE + 90)
/* The database answered but is busy: a wait for the writers' lock (or a
 * statement) took longer than its bound, or every connection of this
 * process is in use. Answer 503 with Retry-After (set already, short);
 * the database is not taken for down (login starts go on). */
#define ORGS_PGWRITE_BUSY (ORGS_EBASE + 92)
#define ORGS_PGWRITE_BUSY_RETRY "2"
/* The database refused the write (a concurrent change on another node,
 * e.g. the membership removed meanwhile): nothing was written. */
#define ORGS_PGWRITE_REFUSED (ORGS_EBASE + 91)

/* Whether this request's server writes through PostgreSQL. */
int orgs_pgwrite_on(const request_rec *r);

/* orgs_store_signin_commit for a PostgreSQL store: the same outcomes, plus
 * ORGS_PGWRITE_DOWN, ORGS_PGWRITE_BUSY and ORGS_PGWRITE_REFUSED (each
 * logged here); the
 * pending login is consumed before the database is written. */
apr_status_t orgs_pgwrite_signin(request_rec *r, orgs_store_t *st, orgs_signin_t *in,
                                 orgs_user_t **user, int *admitted, orgs_err_t *err);

/* A node's change set (computed on its replica in capture mode, with its
 * "base") written to the database. When the replica was behind the change
 * log, nothing is written: the missing changes are applied to the replica
 * here in seq order (orgs_pg_replica_advance), `again` computes the change
 * set anew on it (*change NULL: nothing to write any more) and the write
 * is tried again, a few times within a second; beyond that
 * ORGS_PGWRITE_DOWN (ORGS00853). *change is the change set written, *seq
 * its change-log number. what names the write in the log ("sign-in"). */
typedef apr_status_t (*orgs_pgwrite_capture_t)(void *baton, char **change, orgs_err_t *err);
apr_status_t orgs_pgwrite_fresh(request_rec *r, orgs_store_t *st, const char *what,
                                orgs_pgwrite_capture_t again, void *baton, const char **change,
                                apr_int64_t *seq, orgs_err_t *err);

/* Whether the sealed pending login of state was used already by a
 * sign-in on any node (the database's pending_used): its callback is then
 * refused as an unknown state before it reaches the IdP. 0 when unknown
 * (the database down: the sign-in's write decides). */
int orgs_pgwrite_pending_used(request_rec *r, const char *state);

/* One usage counter of an org's day (kind an orgs_stats_kind_t: a sign-in
 * refused before its commit) counted by the database, then taken by the
 * replica. ORGS_PGWRITE_DOWN (logged) when the database cannot be reached:
 * nothing counted. */
apr_status_t orgs_pgwrite_count(request_rec *r, orgs_store_t *st, const char *org_id, int kind,
                                apr_time_t now, orgs_err_t *err);

/* Ends the session in the database, then in the replica; the other nodes
 * follow through the change log. ORGS_PGWRITE_DOWN when the database
 * cannot be reached: nothing was ended. */
apr_status_t orgs_pgwrite_session_end(request_rec *r, orgs_store_t *st,
                                      const unsigned char sid_hash[32], orgs_err_t *err);

/* A session this replica does not hold: looked up in the database and, when
 * live there, kept in the replica (APR_SUCCESS: read it again). APR_NOTFOUND
 * at once, with no budget spent, when sid is not shaped as a session id
 * (orgs_cookie_sid_ok); when the database does not have it, the lookup budget of this process is
 * spent (a client spraying made-up cookies: at most ORGS_PGWRITE_LOOKUPS a
 * second, misses remembered), or the database cannot be reached. */
#define ORGS_PGWRITE_LOOKUPS 10
apr_status_t orgs_pgwrite_session_find(request_rec *r, orgs_store_t *st, const char *sid,
                                       const unsigned char sid_hash[32]);

/* Whether this process's last attempt to reach the database failed less
 * than ORGS_PGWRITE_KNOWN_DOWN past its next retry: no network. A login
 * start answers 503 then rather than at its callback; later a start goes
 * on, and its callback tries the database again. */
#define ORGS_PGWRITE_KNOWN_DOWN apr_time_from_sec(4)
int orgs_pgwrite_known_down(request_rec *r);

/* One node's turn at a cluster sweep (orgs_pg_sweep: expired invitations,
 * unused users), up to `batches` change sets through the database from
 * `from`: *next where the walk goes on (NULL: done), *removed the rows
 * deleted everywhere, *busy when another node is sweeping (this one
 * skips). ORGS_PGWRITE_DOWN when the database cannot be reached: nothing
 * was removed anywhere (not even from this replica). */
apr_status_t orgs_pgwrite_sweep(request_rec *r, int kind, apr_time_t when, apr_size_t batches,
                                const char *from, const char **next, apr_size_t *removed, int *busy,
                                orgs_err_t *err);

/* The temporary page: 503, Retry-After, "try again in a moment". */
int orgs_pgwrite_unavailable(request_rec *r, const char *what, const char *return_to);

#endif
