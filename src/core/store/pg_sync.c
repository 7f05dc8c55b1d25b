/* The replicator: the change log applied to a node's LMDB replica in seq
 * order, woken by LISTEN/NOTIFY, caught up by seq after any gap, rebuilt
 * from a snapshot when the replica is new, follows another database, or a
 * change does not apply (pgstore.h). */
#include "orgs_build.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

#include "pg_int.h"

#define BATCH 500

#ifdef ORGS_HAVE_LIBPQ

/* The replica's confirmation time is one more write transaction: under a
 * stream of changes (a pass per notification) it is written at most this
 * often, a small part of OrgsReplicaMaxLag. */
#define CONFIRM_EVERY apr_time_from_msec(200)

/* When this process last wrote it (one replicator, one thread). */
static apr_time_t last_confirm;

static apr_status_t rebuild(orgs_pg_t *pg, orgs_store_t *st, apr_size_t *objects, apr_int64_t *seq,
                            apr_pool_t *p, orgs_err_t *err)
{
    const char *cluster;
    FILE *fp = tmpfile();
    if (!fp) {
        return orgs_err_set(err, APR_FROM_OS_ERROR(errno), "temporary file: %s", strerror(errno));
    }
    apr_status_t rv = orgs_pg_snapshot(pg, ORGS_PG_SNAP_SESSIONS | ORGS_PG_SNAP_COUNTERS, fp, seq,
                                       &cluster, p, err);
    if (rv == APR_SUCCESS) {
        rewind(fp);
        rv = orgs_store_replica_rebuild(st, fp, *seq, cluster, objects, p, err);
    }
    fclose(fp);
    return rv;
}

/* Whether the replica must be rebuilt: never filled, or filled from
 * another database. */
static apr_status_t needs_rebuild(orgs_pg_t *pg, orgs_store_t *st, apr_int64_t *seq, int *yes,
                                  apr_pool_t *p, orgs_err_t *err)
{
    const char *mine;
    PGresult *res;
    apr_status_t rv = orgs_store_replica_state(st, seq, &mine, p, err);
    if (rv == APR_SUCCESS) {
        rv = st_pg_exec(pg, "SELECT cluster FROM orgs_schema LIMIT 1", 0, NULL, &res, err);
    }
    if (rv == APR_SUCCESS) {
        *yes = *seq < 0 || !mine || PQntuples(res) != 1 || strcmp(mine, PQgetvalue(res, 0, 0)) != 0;
        PQclear(res);
    }
    return rv;
}

/* One batch of changes after *seq; *n how many were applied. A change
 * that does not apply (or a reset) is ORGS_ESTORE with *failed set: the
 * caller rebuilds. */
static apr_status_t batch(orgs_pg_t *pg, orgs_store_t *st, apr_int64_t *seq, apr_size_t *n,
                          int *failed, apr_pool_t *p, orgs_err_t *err)
{
    PGresult *res;
    const char *after = apr_psprintf(p, "%" APR_INT64_T_FMT, *seq);
    apr_status_t rv = st_pg_exec(pg,
                                 "SELECT seq, payload FROM change_log WHERE seq > $1::bigint "
                                 "ORDER BY seq LIMIT " APR_STRINGIFY(BATCH),
                                 1, &after, &res, err);
    *n = 0;
    *failed = 0;
    if (rv == APR_SUCCESS && PQntuples(res) > 1) {
        /* the whole batch in one replica transaction: one commit, not one
         * per change (a stream of writes); when any of it fails, one by
         * one below, to apply what applies and find the one that fails */
        apr_size_t rows = (apr_size_t)PQntuples(res);
        const char **changes = apr_palloc(p, rows * sizeof(*changes));
        apr_int64_t *seqs = apr_palloc(p, rows * sizeof(*seqs));
        orgs_err_t berr = {{0}};
        for (apr_size_t i = 0; i < rows; i++) {
            seqs[i] = apr_atoi64(PQgetvalue(res, (int)i, 0));
            changes[i] = PQgetvalue(res, (int)i, 1);
        }
        if (orgs_store_replica_apply_batch(st, changes, seqs, rows, p, &berr) == APR_SUCCESS) {
            *seq = seqs[rows - 1];
            *n = rows;
            PQclear(res);
            return APR_SUCCESS;
        }
    }
    for (int i = 0; rv == APR_SUCCESS && i < PQntuples(res); i++) {
        apr_int64_t s = apr_atoi64(PQgetvalue(res, i, 0));
        rv = orgs_store_replica_apply(st, PQgetvalue(res, i, 1), s, p, err);
        if (rv == APR_SUCCESS) {
            *seq = s;
            (*n)++;
        } else {
            *failed = 1;
        }
    }
    if (res) {
        PQclear(res);
    }
    return rv;
}

apr_status_t orgs_pg_catch_up(orgs_pg_t *pg, orgs_store_t *st, apr_size_t *applied, int *rebuilt,
                              apr_pool_t *p, orgs_err_t *err)
{
    apr_int64_t seq;
    apr_size_t n = 0, objects;
    apr_time_t now;
    int yes, failed = 0;
    apr_status_t rv = needs_rebuild(pg, st, &seq, &yes, p, err);
    *applied = 0;
    *rebuilt = 0;
    if (rv == APR_SUCCESS && yes) {
        rv = rebuild(pg, st, &objects, &seq, p, err);
        *rebuilt = rv == APR_SUCCESS;
    }
    do {
        now = apr_time_now(); /* the last batch read to here: current as of now */
        if (rv == APR_SUCCESS) {
            rv = batch(pg, st, &seq, &n, &failed, p, err);
            *applied += n;
        }
        if (rv != APR_SUCCESS && failed && !*rebuilt) {
            /* a change this replica cannot take (a reset, a local
             * conflict): start again from the tables */
            rv = rebuild(pg, st, &objects, &seq, p, err);
            *rebuilt = rv == APR_SUCCESS;
            n = rv == APR_SUCCESS ? BATCH : 0;
        }
    } while (rv == APR_SUCCESS && n == BATCH);
    if (rv != APR_SUCCESS || now - last_confirm < CONFIRM_EVERY) {
        return rv;
    }
    last_confirm = now;
    return orgs_store_replica_confirm(st, now, err);
}

apr_status_t orgs_pg_replica_advance(orgs_pg_t *pg, orgs_store_t *st, apr_int64_t upto,
                                     apr_size_t *applied, apr_pool_t *p, orgs_err_t *err)
{
    apr_int64_t seq;
    int yes;
    PGresult *res = NULL;
    apr_status_t rv = needs_rebuild(pg, st, &seq, &yes, p, err);
    *applied = 0;
    if (rv == APR_SUCCESS && yes) {
        rv = orgs_err_set(err, ORGS_ESTORE, "the replica is not filled from this database yet");
    }
    if (rv != APR_SUCCESS || seq >= upto) {
        return rv;
    }
    const char *v[2] = {apr_psprintf(p, "%" APR_INT64_T_FMT, seq),
                        apr_psprintf(p, "%" APR_INT64_T_FMT, upto)};
    rv = st_pg_exec(pg,
                    "SELECT seq, payload FROM change_log WHERE seq > $1::bigint AND "
                    "seq <= $2::bigint ORDER BY seq LIMIT " APR_STRINGIFY(BATCH),
                    2, v, &res, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_size_t rows = (apr_size_t)PQntuples(res);
    const char **changes = apr_palloc(p, (rows + 1) * sizeof(*changes));
    apr_int64_t *seqs = apr_palloc(p, (rows + 1) * sizeof(*seqs));
    for (apr_size_t i = 0; i < rows; i++) {
        seqs[i] = apr_atoi64(PQgetvalue(res, (int)i, 0));
        changes[i] = PQgetvalue(res, (int)i, 1);
    }
    if (rows) {
        rv = orgs_store_replica_apply_batch(st, changes, seqs, rows, p, err);
    }
    if (rv != APR_SUCCESS) {
        rv = orgs_err_set(err, ORGS_ESTORE, "a change does not apply here: %s", err->msg);
    } else if (!rows || seqs[rows - 1] < upto) {
        rv = orgs_err_set(err, APR_EINCOMPLETE, "more than %d changes behind", BATCH);
    }
    *applied = rows;
    PQclear(res);
    return rv;
}

/* Waits for a notification (or ms); ORGS_ESTORE when the connection broke. */
static apr_status_t wait_notify(orgs_pg_t *pg, int ms, orgs_err_t *err)
{
    struct pollfd pfd = {PQsocket(pg->conn), POLLIN, 0};
    if (pfd.fd < 0) {
        return st_pg_fail(pg, err, "connection lost");
    }
    if (poll(&pfd, 1, ms) < 0 && errno != EINTR) {
        return orgs_err_set(err, ORGS_ESTORE, "poll: %s", strerror(errno));
    }
    if (!PQconsumeInput(pg->conn) || PQstatus(pg->conn) != CONNECTION_OK) {
        return st_pg_fail(pg, err, "connection lost");
    }
    PGnotify *nt;
    while ((nt = PQnotifies(pg->conn)) != NULL) {
        PQfreemem(nt);
    }
    return APR_SUCCESS;
}

void orgs_pg_replicate(const orgs_repl_t *r, apr_pool_t *p)
{
    apr_pool_t *cp = NULL, *tmp = NULL;
    orgs_pg_t *pg = NULL;
    int down = 0;
    apr_pool_create(&tmp, p);
    while (r->keep_going(r->ctx)) {
        orgs_err_t err = {{0}};
        apr_status_t rv = APR_SUCCESS;
        apr_size_t applied;
        int rebuilt;
        apr_pool_clear(tmp);
        if (!pg) {
            if (cp) {
                apr_pool_destroy(cp);
            }
            apr_pool_create(&cp, p);
            rv = orgs_pg_connect(&pg, r->uri, cp, &err);
            if (rv == APR_SUCCESS) {
                rv = st_pg_exec(pg, "LISTEN " ORGS_PG_CHANNEL, 0, NULL, NULL, &err);
            }
            if (rv == APR_SUCCESS) {
                down = 0;
                r->report(r->ctx, ORGS_REPL_CONNECTED, 0, orgs_pg_uri_display(r->uri, tmp));
            }
        }
        /* listening before catching up: no change falls between the two */
        if (rv == APR_SUCCESS) {
            rv = orgs_pg_catch_up(pg, r->st, &applied, &rebuilt, tmp, &err);
            if (rv == APR_SUCCESS && rebuilt) {
                r->report(r->ctx, ORGS_REPL_REBUILT, 0, "from a snapshot");
            }
            if (rv == APR_SUCCESS && applied) {
                r->report(r->ctx, ORGS_REPL_APPLIED, 0,
                          apr_psprintf(tmp, "%" APR_SIZE_T_FMT " changes", applied));
            }
        }
        if (rv == APR_SUCCESS) {
            rv = wait_notify(pg, r->poll_ms, &err);
        }
        if (rv != APR_SUCCESS) {
            int lost = !pg || PQstatus(pg->conn) != CONNECTION_OK;
            if (!lost || !down) {
                r->report(r->ctx, lost ? ORGS_REPL_DOWN : ORGS_REPL_FAILED, rv, err.msg);
            }
            down = down || lost;
            orgs_pg_close(pg);
            pg = NULL;
            /* again in a second: at most one attempt a second while down */
            for (int i = 0; i < 10 && r->keep_going(r->ctx); i++) {
                usleep(100 * 1000);
            }
        }
    }
    orgs_pg_close(pg);
    if (cp) {
        apr_pool_destroy(cp);
    }
    apr_pool_destroy(tmp);
}

#else

apr_status_t orgs_pg_catch_up(orgs_pg_t *pg, orgs_store_t *st, apr_size_t *applied, int *rebuilt,
                              apr_pool_t *p, orgs_err_t *err)
{
    *applied = 0;
    *rebuilt = 0;
    return orgs_pg_schema_check(pg, err);
}

apr_status_t orgs_pg_replica_advance(orgs_pg_t *pg, orgs_store_t *st, apr_int64_t upto,
                                     apr_size_t *applied, apr_pool_t *p, orgs_err_t *err)
{
    *applied = 0;
    return orgs_pg_schema_check(pg, err);
}

void orgs_pg_replicate(const orgs_repl_t *r, apr_pool_t *p)
{
    orgs_err_t err = {{0}};
    r->report(r->ctx, ORGS_REPL_DOWN, orgs_pg_schema_check(NULL, &err), err.msg);
}

#endif
