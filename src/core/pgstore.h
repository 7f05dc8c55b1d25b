/* PostgreSQL as the shared source of truth of several nodes, each node's
 * LMDB store as its local replica (docs/scaling.md). No libpq or LMDB type
 * crosses this header.
 *
 * The database holds the store's objects as relations (orgs, org_domains,
 * conns, enabled_conns, users, members, invites, sessions; since version 3
 * also usage_days, new_users, pending_used, audit_log; since version 4
 * pending_used names its owner, counted in pending_used_owners), each row keeping its
 * object in the export shape (json.h) in a jsonb column beside the columns
 * SQL constrains: unique names, one org per domain, (connection, sub)
 * unique, cascades by foreign key. A change_log table numbers every write
 * (seq); a write is one SQL transaction: the rows, one change_log row and
 * a NOTIFY, taken under one advisory lock so writes of every node apply in
 * seq order.
 *
 * A change set is JSON text {"put": [line...], "del": [line...]} where a
 * line is an object in the export shape with its "type" (orgs_store_export),
 * or a session (type "session": sid_hash in hex, org_id, user_id,
 * connection_id, created, last_seen, expires, exports, id_token_hint; a
 * delete carries sid_hash alone); {"reset": true} tells replicas to
 * rebuild from the tables. A node's own change set also carries "base", the
 * replica position it was computed on (orgs_pg_change_write); replicas
 * ignore it. Counters travel as values, never increments: a capture's
 * "count" (usage increments of an org's day) and "new_user" (a new user of
 * a connection, with its per-minute limit) are added to their rows by the
 * database, which logs "counters" instead (type "usage": org_id, day,
 * signins, denials, joins; type "new_users": connection_id, window,
 * count), each replica keeping the larger of its value and the line's.
 * "pending_used" (a sealed pending login's state hash, owner, the owner's
 * cap and expiry) and
 * "audit" (orgctl's audit records) are for the database alone and are not
 * logged.
 *
 * change.c (pure): change sets and the SQL row of an export line.
 * replica.c (LMDB): a replica's position, a change applied, a rebuild.
 * capture.c (LMDB): a node's own write in capture mode, its change set.
 * pg.c pg_write.c pg_sync.c pg_session.c (libpq): connection, schema,
 * snapshot and writes, the replicator's loop, the children's connection
 * pool and session lookup. Without libpq at build time every
 * orgs_pg_* function returns APR_ENOTIMPL. */
#ifndef ORGS_PGSTORE_H
#define ORGS_PGSTORE_H

#include <stdio.h>

#include <jansson.h>

#include "orgs.h"
#include "store.h"

/* The schema this build creates and reads. */
#define ORGS_PG_SCHEMA_VERSION 4
/* The channel writers notify and replicators listen on. */
#define ORGS_PG_CHANNEL "orgs_changes"

/* ---- change sets and SQL rows (change.c, pure) ------------------------- */

/* The change set that turns the store exported as `before` into the one
 * exported as `after` (both JSON lines from orgs_store_export): lines new
 * or different in `after` are put, lines whose object is gone are deleted.
 * *change is NULL (and *n 0) when nothing differs; *n counts lines. */
apr_status_t orgs_change_diff(FILE *before, FILE *after, char **change, apr_size_t *n,
                              apr_pool_t *p, orgs_err_t *err);

/* An export line as a row: its table, its columns (the key columns first,
 * then the constrained ones, then "doc", the line as text) with their
 * values (NULL for SQL NULL), and for an org its domains. */
#define ORGS_PG_ROW_MAX 6
typedef struct orgs_pg_row_t {
    const char *type; /* "org", "conn", "enable", "user", "member", "invite" */
    const char *table;
    int nkeys;
    int ncols;
    const char *cols[ORGS_PG_ROW_MAX];
    const char *vals[ORGS_PG_ROW_MAX];
    apr_array_header_t *domains; /* const char *, orgs only */
} orgs_pg_row_t;

/* APR_EINVAL for a line without a known type or without its keys. */
apr_status_t orgs_pg_row_of(const json_t *line, orgs_pg_row_t *row, apr_pool_t *p, orgs_err_t *err);
/* The upsert of a row's table ($1.. its values) and the delete by its keys. */
const char *orgs_pg_sql_upsert(const orgs_pg_row_t *row, apr_pool_t *p);
const char *orgs_pg_sql_delete(const orgs_pg_row_t *row, apr_pool_t *p);
/* The order changes apply in: parents first for puts, children first for
 * deletes (index into the type list; -1 for an unknown type). */
int orgs_change_type_rank(const char *type);

/* ---- the replica (replica.c) ------------------------------------------- */

/* The change-log position the replica has applied (*seq; -1: never
 * filled) and the database it follows (*cluster, NULL when none). */
apr_status_t orgs_store_replica_state(orgs_store_t *st, apr_int64_t *seq, const char **cluster,
                                      apr_pool_t *p, orgs_err_t *err);
/* Applies one change set and records seq, in one transaction. Deletes take
 * their cascades (a membership its sessions); a delete of what is already
 * gone is fine. */
apr_status_t orgs_store_replica_apply(orgs_store_t *st, const char *change, apr_int64_t seq,
                                      apr_pool_t *p, orgs_err_t *err);
/* Applies n change sets in seq order and records the last seq, in one
 * transaction (one commit for a batch the replicator read at once): any
 * failure applies none of them; the caller then applies them one by one
 * to find the one that fails. */
apr_status_t orgs_store_replica_apply_batch(orgs_store_t *st, const char *const *changes,
                                            const apr_int64_t *seqs, apr_size_t n, apr_pool_t *p,
                                            orgs_err_t *err);
/* Replaces every object (and every session) with the export lines of fp
 * and records seq and cluster, in one transaction. Pending logins and the
 * fetch cache stay. */
apr_status_t orgs_store_replica_rebuild(orgs_store_t *st, FILE *fp, apr_int64_t seq,
                                        const char *cluster, apr_size_t *count, apr_pool_t *p,
                                        orgs_err_t *err);

/* The time the replicator last read the change log to its end
 * (replica_time.c): *at 0 when never. Requests that would start a session
 * compare it with OrgsReplicaMaxLag. The write rewrites one meta record
 * (allowed on a full map). */
apr_status_t orgs_store_replica_confirm(orgs_store_t *st, apr_time_t now, orgs_err_t *err);
apr_status_t orgs_store_replica_confirmed(orgs_store_t *st, apr_time_t *at, orgs_err_t *err);

/* ---- PostgreSQL (pg.c, pg_write.c) ------------------------------------- */

typedef struct orgs_pg_t orgs_pg_t;

/* Whether s names a PostgreSQL store (postgresql:// or postgres://). */
int orgs_pg_uri_is(const char *s);
/* A connection URI libpq parses, without a password in it (the password
 * comes from a passfile= file, PGPASSFILE or ~/.pgpass, or PGPASSWORD):
 * APR_EINVAL saying why not. */
apr_status_t orgs_pg_uri_check(const char *uri, apr_pool_t *p, orgs_err_t *err);
/* The URI without its query, for messages. */
const char *orgs_pg_uri_display(const char *uri, apr_pool_t *p);

/* Connects (a pool cleanup closes it); ORGS_ESTORE with libpq's reason. */
apr_status_t orgs_pg_connect(orgs_pg_t **pg, const char *uri, apr_pool_t *p, orgs_err_t *err);
void orgs_pg_close(orgs_pg_t *pg);
/* Creates the schema (*created 1), or upgrades an older one (2), in one
 * transaction; 0: it was there. ORGS_EVERSION for a newer schema. */
apr_status_t orgs_pg_init(orgs_pg_t *pg, int *created, orgs_err_t *err);
/* ORGS_EVERSION unless the schema is this build's (orgctl init makes it). */
apr_status_t orgs_pg_schema_check(orgs_pg_t *pg, orgs_err_t *err);

/* Writes the database as export lines (format line first) to out, with
 * the change-log position they include (*seq) and the database's id
 * (*cluster). flags ORGS_PG_SNAP_WRITE: opens the write transaction
 * (advisory lock taken) that orgs_pg_write_commit or orgs_pg_rollback
 * ends; else one read-only snapshot. ORGS_PG_SNAP_SESSIONS: the live
 * sessions too (session lines, last: a replica's rebuild); without it,
 * what orgctl export would write. */
#define ORGS_PG_SNAP_WRITE 1
#define ORGS_PG_SNAP_SESSIONS 2
/* ORGS_PG_SNAP_COUNTERS: the cluster's counters too, as "usage" and
 * "new_users" lines (a rebuild and orgctl's reads merge them). */
#define ORGS_PG_SNAP_COUNTERS 4
apr_status_t orgs_pg_snapshot(orgs_pg_t *pg, int flags, FILE *out, apr_int64_t *seq,
                              const char **cluster, apr_pool_t *p, orgs_err_t *err);
/* Applies a change set to the tables, appends it to the change log and
 * notifies, then commits (*seq its number). APR_EEXIST for a unique
 * constraint, APR_NOTFOUND for a foreign key (nothing written). */
apr_status_t orgs_pg_write_commit(orgs_pg_t *pg, const char *change, apr_int64_t *seq,
                                  apr_pool_t *p, orgs_err_t *err);
void orgs_pg_rollback(orgs_pg_t *pg);
/* Loads export lines into an empty database (APR_EEXIST when it holds an
 * organization or a connection), with a reset in the change log, in one
 * transaction. */
apr_status_t orgs_pg_load(orgs_pg_t *pg, FILE *fp, apr_size_t *count, apr_pool_t *p,
                          orgs_err_t *err);

/* Prunes the change log (pg_prune.c), in one transaction under the
 * writers' lock: the changes older than older_than (-1: any age) and not
 * among the newest keep (-1: any) go, except the newest of them, which
 * becomes a reset marker ({"reset": true, "pruned": true}): a replica
 * whose position is before it rebuilds, one at or past it is untouched.
 * *removed counts the rows deleted or turned into the marker, *upto the
 * marker's seq (0: nothing to prune). */
apr_status_t orgs_pg_log_prune(orgs_pg_t *pg, apr_interval_time_t older_than, apr_int64_t keep,
                               apr_size_t *removed, apr_int64_t *upto, apr_pool_t *p,
                               orgs_err_t *err);

/* The newest change-log position (*seq; 0 when the log is empty): a
 * replica at or past it holds every change committed before the call. */
apr_status_t orgs_pg_log_head(orgs_pg_t *pg, apr_int64_t *seq, orgs_err_t *err);

/* ---- the replicator (pg_sync.c) ---------------------------------------- */

/* What the replicator reports (the module logs each with its number). */
typedef enum {
    ORGS_REPL_CONNECTED, /* msg: the database */
    ORGS_REPL_DOWN,      /* the database cannot be reached (once per outage) */
    ORGS_REPL_REBUILT,   /* msg: objects and position */
    ORGS_REPL_FAILED,    /* a change or a rebuild failed: rebuilding */
    ORGS_REPL_APPLIED    /* msg: a batch applied (debug) */
} orgs_repl_event_t;

typedef struct orgs_repl_t {
    const char *uri;
    orgs_store_t *st;
    int poll_ms; /* the longest wait for a notification (a missed one costs this) */
    /* 0 stops the loop; checked at least every poll_ms */
    int (*keep_going)(void *ctx);
    void (*report)(void *ctx, orgs_repl_event_t ev, apr_status_t rv, const char *msg);
    void *ctx;
} orgs_repl_t;

/* Runs until keep_going says stop: connects (again after any failure,
 * every second), LISTENs, rebuilds the replica when it has never been
 * filled or follows another database or a change fails, applies the
 * change log in seq order in batches (each change with its seq in one
 * replica transaction), then waits for a notification. */
void orgs_pg_replicate(const orgs_repl_t *r, apr_pool_t *p);
/* One pass of the same: catch up to the end of the change log (used by
 * orgctl and the tests). *applied counts changes. */
apr_status_t orgs_pg_catch_up(orgs_pg_t *pg, orgs_store_t *st, apr_size_t *applied, int *rebuilt,
                              apr_pool_t *p, orgs_err_t *err);

/* ---- a node's own writes (capture.c, pg_session.c) -------------------- */

/* The write path of a node (a sign-in, a sign-out; the admin API can take
 * the same one): no write is made twice, once in SQL and once in LMDB.
 *  1. The store's own operation runs in an LMDB write transaction on the
 *     node's replica in capture mode: its record writers note each object
 *     they touch, and the change set is read from inside that transaction
 *     (each touched object as it is now: put; or its keys: del). The
 *     transaction is then rolled back: the replica is unchanged.
 *  2. The change set is written to the database as one SQL transaction
 *     under the writers' advisory lock, with its change_log row and a
 *     NOTIFY (orgs_pg_change_write). The database's constraints judge it
 *     against every node's writes: a membership removed meanwhile on
 *     another node fails the session's foreign key, nothing is written.
 *  3. The node applies the same change set to its replica at once
 *     (orgs_store_change_apply_local, or orgs_store_signin_local with the
 *     sign-in's local counters), so it reads its own write; its position
 *     stays where it is, and the replicator applies the change again in
 *     seq order later, which changes nothing (puts and deletes by key are
 *     idempotent). A write that failed at step 2 for a lost connection may
 *     be sent again for the same reason.
 * A new writer needs only its store body run in capture mode (a public
 * wrapper like orgs_store_signin_capture) and the record writers it uses
 * noting what they touch (st_capture_note; organizations, connections,
 * enablements, users, memberships, invitations and sessions do). */

/* Step 1 of a sign-in: orgs_store_signin_commit's checks and writes run and
 * rolled back; *change is the change set (NULL when nothing would change),
 * *user and *admitted as orgs_store_signin_commit says. The pending login
 * is not consumed (the caller deletes it before step 2, so a state stays
 * single use). */
apr_status_t orgs_store_signin_capture(orgs_store_t *st, orgs_signin_t *in, orgs_user_t **user,
                                       int *admitted, char **change, apr_pool_t *p,
                                       orgs_err_t *err);
/* The same computed again after the replica was brought up to the change
 * log (orgs_pg_change_write said ORGS_PG_ESTALE): the pending login was
 * consumed before the first write, so it is not looked for. */
apr_status_t orgs_store_signin_recapture(orgs_store_t *st, orgs_signin_t *in, orgs_user_t **user,
                                         int *admitted, char **change, apr_pool_t *p,
                                         orgs_err_t *err);
/* Step 3 of a sign-in: change applied as the change log keeps it
 * (orgs_pg_change_write_counted: the day's counters and the connection's
 * new users as the database counted them), and a join's audit record,
 * which stays on the node. */
apr_status_t orgs_store_signin_local(orgs_store_t *st, const orgs_signin_t *in, int admitted,
                                     const char *change, apr_pool_t *p, orgs_err_t *err);
/* The same for a change the database took as change seq: when seq is the
 * replica's position + 1, the position moves to seq in the same
 * transaction (the replicator has nothing older of it to apply again). */
apr_status_t orgs_store_signin_local_at(orgs_store_t *st, const orgs_signin_t *in, int admitted,
                                        const char *change, apr_int64_t seq, apr_pool_t *p,
                                        orgs_err_t *err);
/* Step 1 of any write of the store's public API (the admin API's): from
 * begin to end, every operation on st from this thread runs in one LMDB
 * write transaction (reads see its writes; each write is a nested
 * transaction, so one that fails leaves nothing), other writers wait as
 * for any write. end (build 1) gives the change set of what was touched
 * (NULL: nothing) and the audit records written meanwhile (NULL: none),
 * then rolls everything back; build 0 only rolls back. Call end on the
 * thread that called begin, always. */
typedef struct orgs_store_capture_t orgs_store_capture_t;
apr_status_t orgs_store_capture_begin(orgs_store_t *st, orgs_store_capture_t **cap, apr_pool_t *p,
                                      orgs_err_t *err);
/* begin for a deletion (an admin API DELETE): like the store's own
 * deletions, it is not refused past the soft limit (it may use the
 * reserve), so a full replica still lets an operator delete. */
apr_status_t orgs_store_capture_begin_release(orgs_store_t *st, orgs_store_capture_t **cap,
                                              apr_pool_t *p, orgs_err_t *err);
apr_status_t orgs_store_capture_end(orgs_store_t *st, orgs_store_capture_t *cap, int build,
                                    char **change, apr_array_header_t **audit, apr_pool_t *p,
                                    orgs_err_t *err);
/* Step 3 of such a write: the change set (may be NULL) and the audit
 * records (this node's log: may be NULL) in one replica transaction. */
apr_status_t orgs_store_capture_apply_local(orgs_store_t *st, const char *change,
                                            const apr_array_header_t *audit, apr_pool_t *p,
                                            orgs_err_t *err);
/* The same for a change the database took as change seq, the position
 * moved as orgs_store_signin_local_at says; release: a deletion's, which
 * may use the store's reserve (orgs_store_capture_begin_release). */
apr_status_t orgs_store_capture_apply_at(orgs_store_t *st, const char *change,
                                         const apr_array_header_t *audit, apr_int64_t seq,
                                         int release, apr_pool_t *p, orgs_err_t *err);
/* A node's own sign-out, taken by the database as change seq: the session
 * deleted from the replica (orgs_store_session_delete's outcomes) and,
 * when seq is the position + 1, the position moved to seq in the same
 * transaction. Otherwise the replicator, whose next batch may end before
 * seq, would first apply older changes that put the session back, and
 * the session would be served again until it reached seq. */
apr_status_t orgs_store_session_end_at(orgs_store_t *st, const unsigned char sid_hash[32],
                                       apr_int64_t seq, apr_pool_t *p, orgs_err_t *err);
/* Step 3 of any other write, and a session fetched from the database
 * (orgs_pg_session_fetch) kept in the replica. */
apr_status_t orgs_store_change_apply_local(orgs_store_t *st, const char *change, apr_pool_t *p,
                                           orgs_err_t *err);
/* A session fetched from the database (orgs_pg_session_fetch: the change
 * set as of change `seq`) kept in the replica, only when the replica's
 * position is not past seq: rows from an older snapshot applied on a
 * replica that has applied later changes (a membership removed after the
 * fetch's snapshot) would undo them. APR_EAGAIN when it is past (nothing
 * applied: the replica knows better; read it again). */
apr_status_t orgs_store_fetch_apply(orgs_store_t *st, const char *change, apr_int64_t seq,
                                    apr_pool_t *p, orgs_err_t *err);
/* The change set that ends one session (a sign-out); its key in hex. */
const char *orgs_store_session_change_del(const unsigned char sid_hash[32], apr_pool_t *p);
/* The change set that counts one usage counter (kind an orgs_stats_kind_t)
 * of the org's day of now, for the database to count (NULL: a bad org id
 * or kind). */
const char *orgs_store_count_change(const char *org_id, int kind, apr_time_t now, apr_pool_t *p);
const char *orgs_store_session_hex(const unsigned char sid_hash[32], apr_pool_t *p);

/* A few connections shared by the threads of one process, each opened on
 * first use with short bounds (timeout_ms: the connect, each statement,
 * each lock, and the wait for a free connection when max are busy,
 * APR_TIMEUP): a worker thread never waits unbounded on the database.
 * The server's lock and statement timeouts are timeout_ms; the client's own
 * deadline on an answer is ORGS_PG_DEADLINE_MARGIN_MS longer, so a long
 * lock wait ends with the server's answer (ORGS_PG_EBUSY) and only a
 * database that stopped answering with the connection given up. */
#define ORGS_PG_DEADLINE_MARGIN_MS 1000
typedef struct orgs_pg_pool_t orgs_pg_pool_t;
apr_status_t orgs_pg_pool_create(orgs_pg_pool_t **pool, const char *uri, int max, int timeout_ms,
                                 apr_pool_t *p);
/* A connection (ORGS_ESTORE with libpq's reason when it cannot connect). */
apr_status_t orgs_pg_pool_get(orgs_pg_pool_t *pool, orgs_pg_t **pg, orgs_err_t *err);
/* Back to the pool (rolled back if a transaction was left open); a broken
 * connection is closed instead. */
void orgs_pg_pool_put(orgs_pg_pool_t *pool, orgs_pg_t *pg);
/* Whether the connection is lost (after a failure: the database is down,
 * not the write refused). */
int orgs_pg_is_down(const orgs_pg_t *pg);
/* Step 2: BEGIN, the advisory lock, orgs_pg_write_commit. A change set
 * with a "base" (a capture's: the replica position it was computed on,
 * st_replica_seq) is written only when the change log ends at that
 * position: when another write came after it, nothing is written and the
 * answer is ORGS_PG_ESTALE with *seq the log's end. The caller brings its
 * replica there (orgs_pg_replica_advance) and captures again. */
#define ORGS_PG_ESTALE (ORGS_EBASE + 93)
/* On a connection of a pool (a child's): the server gave up waiting for a
 * lock (lock_timeout, SQLSTATE 55P03) or a statement (statement_timeout,
 * 57014). The database answered: it is busy, not down. */
#define ORGS_PG_EBUSY (ORGS_EBASE + 94)
apr_status_t orgs_pg_change_write(orgs_pg_t *pg, const char *change, apr_int64_t *seq,
                                  apr_pool_t *p, orgs_err_t *err);
/* The last attempt of a write that kept finding the change log moved on
 * (pg_locked.c): BEGIN and the writers' lock first, *end the log's end,
 * final while the lock is held (every writer takes it). The caller brings
 * its replica to *end (orgs_pg_replica_advance), computes the change set
 * again, and ends the transaction with orgs_pg_write_locked, or
 * orgs_pg_rollback when there is nothing to write; it holds the lock, so
 * it keeps that short (no network but this connection's). On failure
 * nothing is held. */
apr_status_t orgs_pg_write_lock(orgs_pg_t *pg, apr_int64_t *end, orgs_err_t *err);
/* Writes the change set (computed on the replica at `end`) and commits,
 * releasing the lock, *written the change set as the change log keeps it
 * (as orgs_pg_change_write_counted); ORGS_PG_ESTALE (rolled back) when its
 * base is not `end`. */
apr_status_t orgs_pg_write_locked(orgs_pg_t *pg, const char *change, apr_int64_t end,
                                  const char **written, apr_int64_t *seq, apr_pool_t *p,
                                  orgs_err_t *err);
/* The same, *written the change set as the change log keeps it (what the
 * node applies to its replica: the capture's counter increments, "count"
 * and "new_user", replaced by the database rows' values, "counters").
 * ORGS_PG_EQUOTA (nothing written) when the new user's connection has had
 * its OrgsMaxNewUsersPerMinute in the cluster's current minute. */
#define ORGS_PG_EQUOTA (ORGS_EBASE + 97)
/* A change set with "pending_used" (a sign-in's sealed pending login,
 * orgs_store_change_pending_used) whose state another callback recorded
 * first: nothing written. */
#define ORGS_PG_EUSED (ORGS_EBASE + 98)
/* A change set with "pending_used" whose owner has its cap of rows (an
 * org's sign-ins, or its refused ones through a connection, within their logins'
 * lifetime): nothing written. */
#define ORGS_PG_EMARKS (ORGS_EBASE + 99)
/* Whether the sealed pending login of that state hash (hex SHA-256) was
 * used already in the cluster (*used 1), read before its callback goes to
 * the IdP; the sign-in's write decides (ORGS_PG_EUSED). */
apr_status_t orgs_pg_pending_used(orgs_pg_t *pg, const char *state_hash, int *used,
                                  orgs_err_t *err);
/* The change set (may be NULL: a set with nothing else) with the use of
 * the sealed pending login of state recorded until expires, counted
 * against owner_id (orgs_store_used_owner); refused (ORGS_PG_EMARKS) past cap such rows of the
 * owner (0: no cap). */
const char *orgs_store_change_pending_used(const char *change, const char *state,
                                           const char *owner_id, apr_size_t cap, apr_time_t expires,
                                           apr_pool_t *p);
/* orgctl on a PostgreSQL store (audit.c): the audit records of a store
 * (the private copy a command ran on) as text, oldest first; and records
 * (the database's audit_log) written into a store with their own times,
 * for `orgctl audit` to read. */
apr_status_t orgs_store_audit_texts(orgs_store_t *st, apr_array_header_t **texts, apr_pool_t *p,
                                    orgs_err_t *err);
apr_status_t orgs_store_audit_import(orgs_store_t *st, const apr_array_header_t *texts,
                                     apr_pool_t *p, orgs_err_t *err);
/* The database's audit records (orgctl's writes), oldest first: at most
 * max (the newest of them). */
apr_status_t orgs_pg_audit_read(orgs_pg_t *pg, apr_size_t max, apr_array_header_t **texts,
                                apr_pool_t *p, orgs_err_t *err);
/* The hex SHA-256 of a state, as pending_used keys it. */
const char *orgs_store_pending_state_hex(const char *state, apr_pool_t *p);
apr_status_t orgs_pg_change_write_counted(orgs_pg_t *pg, const char *change, const char **written,
                                          apr_int64_t *seq, apr_pool_t *p, orgs_err_t *err);
/* The replica brought from its position to `upto` from inside a child:
 * the change log's rows after its position applied in seq order in one
 * replica transaction (each change at or below the position skipped, so
 * the replicator doing the same meanwhile is harmless). *applied counts
 * the rows read. ORGS_ESTORE when the replica was never filled or follows
 * another database, or a change does not apply (the replicator rebuilds);
 * APR_EINCOMPLETE when more than a batch is missing (the replicator is far
 * behind: the caller gives up rather than hold the request). */
apr_status_t orgs_pg_replica_advance(orgs_pg_t *pg, orgs_store_t *st, apr_int64_t upto,
                                     apr_size_t *applied, apr_pool_t *p, orgs_err_t *err);
/* Deletes up to 1000 expired sessions from the database (sign-ins call it
 * now and then). */
apr_status_t orgs_pg_sessions_prune(orgs_pg_t *pg, orgs_err_t *err);
/* The cluster's sweeps, written through the database by one node at a
 * time (pg_sweep.c): kind ORGS_PG_SWEEP_INVITES deletes the invitations
 * expired at `when`, ORGS_PG_SWEEP_USERS the users without membership
 * that neither signed in nor (never signed in) were created since `when`,
 * judged on the database's rows. Each batch is one SQL transaction: the
 * sweep's own advisory lock tried (*busy when another node holds it:
 * nothing done, the caller skips), the writers' lock, at most
 * ORGS_PG_SWEEP_SCAN rows read in key order after `from` (NULL: the
 * first), the due ones deleted and logged as one change set
 * {"del": [rows...]} (none when nothing was due). At most max_batches
 * batches; *next is where the walk goes on (NULL: it reached the end),
 * *removed counts rows, *sets the change sets written. */
#define ORGS_PG_SWEEP_INVITES 0
#define ORGS_PG_SWEEP_USERS 1
#define ORGS_PG_SWEEP_SCAN 1000
apr_status_t orgs_pg_sweep(orgs_pg_t *pg, int kind, apr_time_t when, apr_size_t max_batches,
                           const char *from, const char **next, apr_size_t *removed,
                           apr_size_t *sets, int *busy, apr_pool_t *p, orgs_err_t *err);
/* The session of that hash (hex) when it is live in the database (its
 * membership, its user and its connection's enablement there, not
 * expired), as a change set putting its user, its membership and itself,
 * and *seq the change log's end in the same snapshot: APR_NOTFOUND
 * otherwise. Keep it with orgs_store_fetch_apply. */
apr_status_t orgs_pg_session_fetch(orgs_pg_t *pg, const char *sid_hash_hex, char **change,
                                   apr_int64_t *seq, apr_pool_t *p, orgs_err_t *err);

#endif
