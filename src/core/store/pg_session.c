/* PostgreSQL from inside httpd's children (pgstore.h): a small pool of
 * connections per child, opened on first use with short connect and
 * statement timeouts, a node's change set written as one SQL transaction,
 * and one session looked up by its hash (a session another node made that
 * this node's replica has not received yet). */
#include "orgs_build.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include <apr_strings.h>

#include "pg_int.h"

#ifdef ORGS_HAVE_LIBPQ

typedef struct pool_conn_t {
    orgs_pg_t *pg;
    apr_pool_t *p;
    struct pool_conn_t *next;
} pool_conn_t;

struct orgs_pg_pool_t {
    const char *uri;
    int max, timeout_ms;
    pthread_mutex_t lock;
    pthread_cond_t freed;
    pool_conn_t *idle;
    int open; /* connections open or being opened */
};

static apr_status_t pool_cleanup(void *data)
{
    orgs_pg_pool_t *pool = data;
    for (pool_conn_t *c = pool->idle, *next; c; c = next) {
        next = c->next;
        orgs_pg_close(c->pg);
        apr_pool_destroy(c->p);
    }
    pool->idle = NULL;
    pthread_cond_destroy(&pool->freed);
    pthread_mutex_destroy(&pool->lock);
    return APR_SUCCESS;
}

apr_status_t orgs_pg_pool_create(orgs_pg_pool_t **out, const char *uri, int max, int timeout_ms,
                                 apr_pool_t *p)
{
    orgs_pg_pool_t *pool = apr_pcalloc(p, sizeof(*pool));
    pool->uri = apr_pstrdup(p, uri);
    pool->max = max > 0 ? max : 1;
    pool->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
    if (pthread_mutex_init(&pool->lock, NULL) != 0) {
        return APR_ENOMEM;
    }
    if (pthread_cond_init(&pool->freed, NULL) != 0) {
        pthread_mutex_destroy(&pool->lock);
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(p, pool, pool_cleanup, apr_pool_cleanup_null);
    *out = pool;
    return APR_SUCCESS;
}

/* A connection with the pool's bounds: connect_timeout (libpq's least is
 * 2 s), a TCP user timeout so a peer that vanished does not hold a worker
 * for minutes, and statement and lock timeouts on the server. */
static apr_status_t pool_connect(orgs_pg_pool_t *pool, pool_conn_t *c, orgs_err_t *err)
{
    int secs = (pool->timeout_ms + 999) / 1000;
    char ct[16], tu[16], st_set[64], lock_set[64];
    apr_snprintf(ct, sizeof(ct), "%d", secs < 2 ? 2 : secs);
    apr_snprintf(tu, sizeof(tu), "%d", pool->timeout_ms);
    apr_snprintf(st_set, sizeof(st_set), "SET statement_timeout = %d", pool->timeout_ms);
    apr_snprintf(lock_set, sizeof(lock_set), "SET lock_timeout = %d", pool->timeout_ms);
    /* keepalives: a peer that vanished while the connection idles in the
     * pool is found within idle + interval x count seconds */
    const char *const keys[] = {
        "dbname",          "connect_timeout",     "tcp_user_timeout", "keepalives",
        "keepalives_idle", "keepalives_interval", "keepalives_count", NULL};
    const char *const vals[] = {pool->uri, ct, tu, "1", "5", "2", "3", NULL};
    orgs_pg_t *pg = apr_pcalloc(c->p, sizeof(*pg));
    pg->pool = c->p;
    /* above the server's timeouts: a lock or statement that takes too long
     * is answered by the server (busy) before the client gives the
     * connection up (down) */
    pg->deadline_ms = pool->timeout_ms + ORGS_PG_DEADLINE_MARGIN_MS;
    pg->conn = PQconnectdbParams(keys, vals, 1);
    if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
        apr_status_t rv = st_pg_fail(
            pg, err,
            apr_pstrcat(c->p, "cannot connect to ", orgs_pg_uri_display(pool->uri, c->p), NULL));
        if (pg->conn) {
            PQfinish(pg->conn);
        }
        return rv;
    }
    PQsetNoticeProcessor(pg->conn, st_pg_notice_ignore, NULL);
    apr_status_t rv = st_pg_exec(pg, st_set, 0, NULL, NULL, err);
    if (rv == APR_SUCCESS) {
        rv = st_pg_exec(pg, lock_set, 0, NULL, NULL, err);
    }
    if (rv != APR_SUCCESS) {
        PQfinish(pg->conn);
        return rv;
    }
    c->pg = pg;
    return APR_SUCCESS;
}

apr_status_t orgs_pg_pool_get(orgs_pg_pool_t *pool, orgs_pg_t **out, orgs_err_t *err)
{
    struct timespec until;
    pool_conn_t *c = NULL;
    *out = NULL;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += pool->timeout_ms / 1000;
    until.tv_nsec += (long)(pool->timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&pool->lock);
    /* every connection busy: wait for one, never longer than the timeout */
    while (!pool->idle && pool->open >= pool->max) {
        if (pthread_cond_timedwait(&pool->freed, &pool->lock, &until) != 0) {
            pthread_mutex_unlock(&pool->lock);
            return orgs_err_set(err, APR_TIMEUP,
                                "all %d PostgreSQL connections of this process "
                                "are busy",
                                pool->max);
        }
    }
    if (pool->idle) {
        c = pool->idle;
        pool->idle = c->next;
    } else {
        apr_pool_t *cp;
        /* its own allocator: threads use their connections' pools at once */
        if (apr_pool_create_unmanaged_ex(&cp, NULL, NULL) != APR_SUCCESS) {
            pthread_mutex_unlock(&pool->lock);
            return orgs_err_set(err, APR_ENOMEM, "out of memory");
        }
        c = apr_pcalloc(cp, sizeof(*c));
        c->p = cp;
        pool->open++;
    }
    pthread_mutex_unlock(&pool->lock);
    if (c->pg && !c->pg->dead && PQstatus(c->pg->conn) == CONNECTION_OK) {
        *out = c->pg;
        c->pg->slot = c;
        return APR_SUCCESS;
    }
    if (c->pg) {
        PQfinish(c->pg->conn);
        c->pg = NULL;
    }
    apr_status_t rv = pool_connect(pool, c, err);
    if (rv != APR_SUCCESS) {
        pthread_mutex_lock(&pool->lock);
        pool->open--;
        apr_pool_destroy(c->p);
        pthread_cond_signal(&pool->freed);
        pthread_mutex_unlock(&pool->lock);
        return rv;
    }
    c->pg->slot = c;
    *out = c->pg;
    return APR_SUCCESS;
}

void orgs_pg_pool_put(orgs_pg_pool_t *pool, orgs_pg_t *pg)
{
    if (!pg) {
        return;
    }
    pool_conn_t *c = pg->slot;
    orgs_pg_rollback(pg); /* never idle inside a transaction */
    int broken = pg->dead || PQstatus(pg->conn) != CONNECTION_OK;
    if (broken) {
        PQfinish(pg->conn);
        c->pg = NULL;
    }
    pthread_mutex_lock(&pool->lock);
    if (broken) {
        pool->open--;
        apr_pool_destroy(c->p);
    } else {
        c->next = pool->idle;
        pool->idle = c;
    }
    pthread_cond_signal(&pool->freed);
    pthread_mutex_unlock(&pool->lock);
}

int orgs_pg_is_down(const orgs_pg_t *pg)
{
    return !pg || !pg->conn || pg->dead || PQstatus(pg->conn) != CONNECTION_OK;
}

/* The replica position a change set was computed on ("base"), or -2 when
 * it carries none (a delete by key, a session fetched from the database:
 * nothing in it depends on what the replica held). */
static apr_int64_t change_base(const char *change)
{
    json_t *set = json_loads(change, 0, NULL);
    const json_t *b = json_object_get(set, "base");
    apr_int64_t base = json_is_integer(b) ? (apr_int64_t)json_integer_value(b) : -2;
    json_decref(set);
    return base;
}

apr_status_t orgs_pg_change_write(orgs_pg_t *pg, const char *change, apr_int64_t *seq,
                                  apr_pool_t *p, orgs_err_t *err)
{
    return orgs_pg_change_write_counted(pg, change, NULL, seq, p, err);
}

apr_status_t orgs_pg_change_write_counted(orgs_pg_t *pg, const char *change, const char **written,
                                          apr_int64_t *seq, apr_pool_t *p, orgs_err_t *err)
{
    PGresult *res;
    apr_int64_t base = change_base(change);
    apr_status_t rv = st_pg_exec(pg, "BEGIN", 0, NULL, NULL, err);
    if (rv == APR_SUCCESS) {
        rv = st_pg_exec(pg, "SELECT pg_advisory_xact_lock(" ORGS_PG_LOCK ")", 0, NULL, NULL, err);
    }
    /* under the lock the log's end is final: every writer holds it */
    if (rv == APR_SUCCESS && base != -2) {
        rv = st_pg_exec(pg, "SELECT coalesce(max(seq), 0) FROM change_log", 0, NULL, &res, err);
        if (rv == APR_SUCCESS) {
            apr_int64_t last = apr_atoi64(PQgetvalue(res, 0, 0));
            PQclear(res);
            if (last > base) {
                *seq = last;
                rv = orgs_err_set(err, ORGS_PG_ESTALE,
                                  "computed on a replica at change %" APR_INT64_T_FMT
                                  ", the change log is at %" APR_INT64_T_FMT,
                                  base, last);
            }
        }
    }
    if (rv != APR_SUCCESS) {
        orgs_pg_rollback(pg);
        return rv;
    }
    return st_pg_write_commit(pg, change, written, seq, p, err);
}

apr_status_t orgs_pg_sessions_prune(orgs_pg_t *pg, orgs_err_t *err)
{
    /* no change-log row: every replica drops expired sessions by itself */
    return st_pg_exec(pg,
                      "DELETE FROM sessions WHERE sid_hash IN (SELECT sid_hash FROM sessions "
                      "WHERE expires < now() LIMIT 1000)",
                      0, NULL, NULL, err);
}

apr_status_t orgs_pg_session_fetch(orgs_pg_t *pg, const char *sid_hash_hex, char **change,
                                   apr_int64_t *seq, apr_pool_t *p, orgs_err_t *err)
{
    PGresult *res;
    const char *v[1] = {sid_hash_hex};
    /* live only as every node would see it: its membership, its user and
     * the org's enablement of its connection still there, not expired;
     * with the change log's end in the same statement, so the same
     * snapshot (writers commit in seq order under their lock) */
    apr_status_t rv = st_pg_exec(
        pg,
        "SELECT u.doc::text, m.doc::text, s.doc::text, "
        "(SELECT coalesce(max(seq), 0) FROM change_log) FROM sessions s "
        "JOIN members m ON m.org_id = s.org_id AND m.user_id = s.user_id "
        "JOIN users u ON u.id = s.user_id "
        "JOIN enabled_conns e ON e.org_id = s.org_id AND e.conn_id = s.doc->>'connection_id' "
        "WHERE s.sid_hash = $1 AND s.expires > now()",
        1, v, &res, err);
    *change = NULL;
    *seq = 0;
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return orgs_err_set(err, APR_NOTFOUND, "no such session");
    }
    *change = apr_pstrcat(p, "{\"put\":[", PQgetvalue(res, 0, 0), ",", PQgetvalue(res, 0, 1), ",",
                          PQgetvalue(res, 0, 2), "]}", NULL);
    *seq = apr_atoi64(PQgetvalue(res, 0, 3));
    PQclear(res);
    return APR_SUCCESS;
}

#else

apr_status_t orgs_pg_pool_create(orgs_pg_pool_t **out, const char *uri, int max, int timeout_ms,
                                 apr_pool_t *p)
{
    *out = NULL;
    return APR_ENOTIMPL;
}

apr_status_t orgs_pg_pool_get(orgs_pg_pool_t *pool, orgs_pg_t **out, orgs_err_t *err)
{
    *out = NULL;
    return orgs_pg_uri_check(NULL, NULL, err);
}

void orgs_pg_pool_put(orgs_pg_pool_t *pool, orgs_pg_t *pg)
{
}

int orgs_pg_is_down(const orgs_pg_t *pg)
{
    return 1;
}

apr_status_t orgs_pg_change_write(orgs_pg_t *pg, const char *change, apr_int64_t *seq,
                                  apr_pool_t *p, orgs_err_t *err)
{
    return orgs_pg_uri_check(NULL, NULL, err);
}

apr_status_t orgs_pg_change_write_counted(orgs_pg_t *pg, const char *change, const char **written,
                                          apr_int64_t *seq, apr_pool_t *p, orgs_err_t *err)
{
    return orgs_pg_uri_check(NULL, NULL, err);
}

apr_status_t orgs_pg_sessions_prune(orgs_pg_t *pg, orgs_err_t *err)
{
    return orgs_pg_uri_check(NULL, NULL, err);
}

apr_status_t orgs_pg_session_fetch(orgs_pg_t *pg, const char *sid_hash_hex, char **change,
                                   apr_int64_t *seq, apr_pool_t *p, orgs_err_t *err)
{
    *change = NULL;
    *seq = 0;
    return orgs_pg_uri_check(NULL, NULL, err);
}

#endif
