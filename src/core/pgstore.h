/* PostgreSQL as the shared source of truth of several nodes, each node's
 * LMDB store as its local replica (docs/scaling.md). No libpq or LMDB type
 * crosses this header.
 *
 * The database holds the store's objects as relations (orgs, org_domains,
 * conns, enabled_conns, users, members, invites), each row keeping its
 * object in the export shape (json.h) in a jsonb column beside the columns
 * SQL constrains: unique names, one org per domain, (connection, sub)
 * unique, cascades by foreign key. A change_log table numbers every write
 * (seq); a write is one SQL transaction: the rows, one change_log row and
 * a NOTIFY, taken under one advisory lock so writes of every node apply in
 * seq order.
 *
 * A change set is JSON text {"put": [line...], "del": [line...]} where a
 * line is an object in the export shape with its "type" (orgs_store_export);
 * {"reset": true} tells replicas to rebuild from the tables.
 *
 * change.c (pure): change sets and the SQL row of an export line.
 * replica.c (LMDB): a replica's position, a change applied, a rebuild.
 * pg.c pg_write.c pg_sync.c (libpq): connection, schema, snapshot and
 * writes, the replicator's loop. Without libpq at build time every
 * orgs_pg_* function returns APR_ENOTIMPL. */
#ifndef ORGS_PGSTORE_H
#define ORGS_PGSTORE_H

#include <stdio.h>

#include <jansson.h>

#include "orgs.h"
#include "store.h"

/* The schema this build creates and reads. */
#define ORGS_PG_SCHEMA_VERSION 1
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
/* Creates the schema, or upgrades an older one, in one transaction;
 * *created tells which. ORGS_EVERSION for a newer schema. */
apr_status_t orgs_pg_init(orgs_pg_t *pg, int *created, orgs_err_t *err);
/* ORGS_EVERSION unless the schema is this build's (orgctl init makes it). */
apr_status_t orgs_pg_schema_check(orgs_pg_t *pg, orgs_err_t *err);

/* Writes the database as export lines (format line first) to out, with
 * the change-log position they include (*seq) and the database's id
 * (*cluster). for_write: opens the write transaction (advisory lock
 * taken) that orgs_pg_write_commit or orgs_pg_rollback ends; else one
 * read-only snapshot. */
apr_status_t orgs_pg_snapshot(orgs_pg_t *pg, int for_write, FILE *out, apr_int64_t *seq,
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

#endif
