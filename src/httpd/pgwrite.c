/* [glue] A node's own writes through PostgreSQL from the children
 * (pgwrite.h): the sign-in, the sign-out, and the lookup of a session
 * another node made. Per process: one small connection pool per database,
 * the outage state (logged once, retried at most once a second), and the
 * lookup budget with the misses remembered, against clients that send
 * made-up session cookies to reach the database. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <apr_strings.h>
#include <http_protocol.h>

#include "private.h"
#include "cookie.h"
#include "endpoints.h"
#include "pgstore.h"
#include "pgwrite.h"
#include "signin.h"

/* Connections per process: a sign-in holds one for a few milliseconds. */
#define PG_CONNS 4
/* Every wait on the database: connect, statement, lock, a free connection. */
#define PG_TIMEOUT_MS 2000
/* While down: the next attempt, and the one log line per outage. */
#define PG_RETRY apr_time_from_sec(1)
/* Session hashes the database did not have, remembered per process. */
#define NEG_SLOTS 256
/* Expired sessions are pruned from the database every this many sign-ins
 * of a process. */
#define PRUNE_EVERY 100
/* A write computed on a replica behind the change log: caught up and
 * computed again at most this many times, within this long, optimistically
 * (without the writers' lock). Writers of one node at once each move the
 * log on for the others: each attempt after the first waits a random few
 * milliseconds (up to FRESH_JITTER per attempt) so that they stop meeting.
 * Then one last attempt holds the writers' lock from before the replica is
 * brought up to the log, so another tenant's stream of writes cannot keep
 * it out (fresh_locked). */
#define FRESH_TRIES 3
#define FRESH_WITHIN apr_time_from_sec(1)
#define FRESH_JITTER 1000 /* microseconds */
/* The last attempt holds the writers' lock while it catches the replica up
 * (at most LOCKED_BATCHES batches of the log) and computes the write again
 * in memory and LMDB: past LOCKED_HOLD of that it gives up (503) rather
 * than keep every writer of the cluster waiting. */
#define LOCKED_BATCHES 4
#define LOCKED_HOLD apr_time_from_msec(1000)

typedef struct node_t {
    const char *uri;
    orgs_pg_pool_t *pool;
    _Atomic int down;
    _Atomic(apr_time_t) next_try;
    _Atomic unsigned signins;
    pthread_mutex_t lock; /* the lookup budget and the misses */
    double tokens;
    apr_time_t refilled, budget_logged;
    unsigned neg_next, neg_used;
    unsigned char neg[NEG_SLOTS][32];
    struct node_t *next;
} node_t;

static pthread_mutex_t nodes_lock = PTHREAD_MUTEX_INITIALIZER;
static node_t *nodes;
static apr_pool_t *nodes_pool;

int orgs_pgwrite_on(const request_rec *r)
{
    return orgs_srv_cfg(r->server)->store_pg != NULL;
}

/* This process's state for the request's database, made on first use. */
static node_t *node_of(request_rec *r)
{
    const char *uri = orgs_srv_cfg(r->server)->store_pg;
    node_t *n;
    pthread_mutex_lock(&nodes_lock);
    for (n = nodes; n && strcmp(n->uri, uri) != 0; n = n->next) {
    }
    if (!n && (nodes_pool || apr_pool_create(&nodes_pool, NULL) == APR_SUCCESS)) {
        n = apr_pcalloc(nodes_pool, sizeof(*n));
        n->uri = apr_pstrdup(nodes_pool, uri);
        n->tokens = ORGS_PGWRITE_LOOKUPS;
        n->refilled = apr_time_now();
        if (pthread_mutex_init(&n->lock, NULL) != 0 ||
            orgs_pg_pool_create(&n->pool, uri, PG_CONNS, PG_TIMEOUT_MS, nodes_pool) !=
                APR_SUCCESS) {
            n = NULL;
        } else {
            n->next = nodes;
            nodes = n;
        }
    }
    pthread_mutex_unlock(&nodes_lock);
    return n;
}

static void mark_down(request_rec *r, node_t *n, const char *msg)
{
    atomic_store(&n->next_try, apr_time_now() + PG_RETRY);
    if (atomic_exchange(&n->down, 1) == 0) {
        orgs_log_rerror(r, APLOG_ERR, 0,
                        ORGSLOGNO(00842) "OrgsStore %s: PostgreSQL cannot be reached from this "
                                         "process (%s): sign-ins and sign-outs answer 503 until "
                                         "it is back, signed-in users keep working from the "
                                         "replica",
                        orgs_pg_uri_display(n->uri, r->pool), msg);
    }
}

static void mark_up(request_rec *r, node_t *n)
{
    if (atomic_exchange(&n->down, 0) == 1) {
        orgs_log_rerror(r, APLOG_NOTICE, 0,
                        ORGSLOGNO(00843) "OrgsStore %s: PostgreSQL reachable again from this "
                                         "process: sign-ins are written again",
                        orgs_pg_uri_display(n->uri, r->pool));
    }
}

/* A connection, or ORGS_PGWRITE_DOWN at once while the database is down
 * and its next attempt (one thread's, once a second) is not due. */
static apr_status_t conn_get(request_rec *r, node_t *n, orgs_pg_t **pg, orgs_err_t *err)
{
    apr_time_t now = apr_time_now(), due = atomic_load(&n->next_try);
    *pg = NULL;
    if (atomic_load(&n->down) &&
        (now < due || !atomic_compare_exchange_strong(&n->next_try, &due, now + PG_RETRY))) {
        return orgs_err_set(err, ORGS_PGWRITE_DOWN, "PostgreSQL is down");
    }
    apr_status_t rv = orgs_pg_pool_get(n->pool, pg, err);
    if (rv == APR_TIMEUP) {
        orgs_log_rerror(r, APLOG_WARNING, rv, ORGSLOGNO(00846) "OrgsStore %s: %s",
                        orgs_pg_uri_display(n->uri, r->pool), err->msg);
        apr_table_setn(r->err_headers_out, "Retry-After", ORGS_PGWRITE_BUSY_RETRY);
        return orgs_err_set(err, ORGS_PGWRITE_BUSY, "PostgreSQL is busy");
    }
    if (rv != APR_SUCCESS) {
        mark_down(r, n, err->msg);
        return orgs_err_set(err, ORGS_PGWRITE_DOWN, "PostgreSQL is down");
    }
    return APR_SUCCESS;
}

typedef apr_status_t (*pg_op_t)(orgs_pg_t *pg, void *baton, apr_pool_t *p, orgs_err_t *err);

/* Runs op on a connection; a connection found broken (the database
 * restarted since it was opened) is replaced and op sent again, which is
 * safe: a change set's puts and deletes are by key. A lost database is
 * ORGS_PGWRITE_DOWN; a write the database refused keeps its status
 * (APR_EEXIST, APR_NOTFOUND). */
static apr_status_t pg_run(request_rec *r, node_t *n, pg_op_t op, void *baton, orgs_err_t *err)
{
    apr_status_t rv = ORGS_PGWRITE_DOWN;
    for (int attempt = 0; attempt < 2; attempt++) {
        orgs_pg_t *pg;
        if ((rv = conn_get(r, n, &pg, err)) != APR_SUCCESS) {
            return rv;
        }
        rv = op(pg, baton, r->pool, err);
        int lost = rv != APR_SUCCESS && orgs_pg_is_down(pg);
        orgs_pg_pool_put(n->pool, pg);
        if (!lost) {
            mark_up(r, n);
            return rv;
        }
    }
    mark_down(r, n, err->msg);
    return orgs_err_set(err, ORGS_PGWRITE_DOWN, "PostgreSQL is down");
}

typedef struct {
    const char *change;
    apr_int64_t seq;
    int prune;           /* expired sessions pruned after the write */
    const char *written; /* the change set as the change log keeps it */
} write_t;

static apr_status_t op_write(orgs_pg_t *pg, void *baton, apr_pool_t *p, orgs_err_t *err)
{
    write_t *w = baton;
    apr_status_t rv = orgs_pg_change_write_counted(pg, w->change, &w->written, &w->seq, p, err);
    if (rv == APR_SUCCESS && w->prune) {
        orgs_err_t perr = {{0}};
        (void)orgs_pg_sessions_prune(pg, &perr); /* the next one tries again */
    }
    return rv;
}

/* A write's outcome as the callers know it: ORGS_PGWRITE_REFUSED (a
 * constraint), ORGS_PGWRITE_BUSY or ORGS_PGWRITE_DOWN, each logged; the
 * others as they are. */
static apr_status_t write_outcome(request_rec *r, apr_status_t rv, const char *what,
                                  orgs_err_t *err)
{
    if (rv == APR_SUCCESS || rv == ORGS_PGWRITE_DOWN || rv == ORGS_PGWRITE_BUSY ||
        rv == ORGS_PG_ESTALE || rv == ORGS_PG_EQUOTA || rv == ORGS_PG_EUSED ||
        rv == ORGS_PG_EMARKS) {
        return rv;
    }
    if (rv == ORGS_PG_EBUSY) {
        /* the server answered: up, its writers' lock held long elsewhere */
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00871) "%s: PostgreSQL is busy (%s): nothing written, "
                                         "answered 503 with Retry-After; the database is "
                                         "not taken for down",
                        what, err->msg);
        apr_table_setn(r->err_headers_out, "Retry-After", ORGS_PGWRITE_BUSY_RETRY);
        return orgs_err_set(err, ORGS_PGWRITE_BUSY, "PostgreSQL is busy");
    }
    if (rv == APR_EEXIST || rv == APR_NOTFOUND) {
        orgs_log_rerror(r, APLOG_WARNING, rv,
                        ORGSLOGNO(00844) "%s: PostgreSQL refused the write (a concurrent change "
                                         "on another node?): %s",
                        what, err->msg);
        return orgs_err_set(err, ORGS_PGWRITE_REFUSED, "%s", err->msg);
    }
    orgs_log_rerror(r, APLOG_ERR, rv, ORGSLOGNO(00845) "%s: the PostgreSQL write failed: %s", what,
                    err->msg);
    return orgs_err_set(err, ORGS_PGWRITE_DOWN, "%s", err->msg);
}

/* The change set into the database; ORGS_PGWRITE_DOWN or
 * ORGS_PGWRITE_REFUSED, each logged, when it is not written;
 * ORGS_PG_ESTALE (not logged, w->seq the log's end) when it was computed
 * on a replica behind the change log. */
static apr_status_t write_change(request_rec *r, node_t *n, write_t *w, const char *what,
                                 orgs_err_t *err)
{
    return write_outcome(r, pg_run(r, n, op_write, w, err), what, err);
}

typedef struct {
    orgs_store_t *st;
    apr_int64_t upto;
    apr_size_t applied;
} advance_t;

static apr_status_t op_advance(orgs_pg_t *pg, void *baton, apr_pool_t *p, orgs_err_t *err)
{
    advance_t *a = baton;
    return orgs_pg_replica_advance(pg, a->st, a->upto, &a->applied, p, err);
}

/* A write given up because the replica could not be brought up to the
 * change log (never filled, a change that does not apply, far behind, or
 * too long under the lock): 503. */
static apr_status_t behind(request_rec *r, apr_status_t rv, const char *what, const char *why,
                           orgs_err_t *err)
{
    orgs_log_rerror(r, APLOG_ERR, rv,
                    ORGSLOGNO(00853) "%s: this node's replica is behind the PostgreSQL change "
                                     "log (%s) and could not be brought up to it (%s): nothing "
                                     "written, answered 503",
                    what, why, err->msg);
    return orgs_err_set(err, ORGS_PGWRITE_DOWN, "the replica is behind");
}

/* The last attempt, holding the writers' lock (orgs_pg_write_lock). */
enum { LOCKED_LOCK, LOCKED_AGAIN, LOCKED_WRITE };

typedef struct {
    orgs_store_t *st;
    orgs_pgwrite_capture_t again;
    void *baton;
    int phase;          /* where it stopped */
    const char *change; /* what was written (NULL: nothing to write) */
    apr_int64_t seq;
    apr_size_t applied;
    apr_time_t held;
} locked_t;

static apr_status_t op_locked(orgs_pg_t *pg, void *baton, apr_pool_t *p, orgs_err_t *err)
{
    locked_t *l = baton;
    apr_int64_t end;
    char *next = NULL;
    apr_time_t t0;
    apr_status_t rv;
    l->phase = LOCKED_LOCK;
    l->change = NULL;
    l->applied = 0;
    if ((rv = orgs_pg_write_lock(pg, &end, err)) != APR_SUCCESS) {
        return rv;
    }
    t0 = apr_time_now();
    /* no other writer until the commit: the replica brought to the log's
     * end is current, and so is what is computed on it */
    for (int i = 0; i < LOCKED_BATCHES; i++) {
        apr_size_t n = 0;
        rv = orgs_pg_replica_advance(pg, l->st, end, &n, p, err);
        l->applied += n;
        if (rv != APR_EINCOMPLETE) {
            break;
        }
    }
    if (rv == APR_SUCCESS) {
        l->phase = LOCKED_AGAIN;
        rv = l->again(l->baton, &next, err);
    }
    if (rv == APR_SUCCESS && next && apr_time_now() - t0 > LOCKED_HOLD) {
        l->phase = LOCKED_LOCK;
        rv = orgs_err_set(err, APR_TIMEUP,
                          "bringing the replica up to the change log and computing the write "
                          "took %" APR_TIME_T_FMT " ms holding the writers' lock",
                          apr_time_as_msec(apr_time_now() - t0));
    }
    if (rv != APR_SUCCESS || !next) {
        orgs_pg_rollback(pg);
        l->held = apr_time_now() - t0;
        return rv;
    }
    l->phase = LOCKED_WRITE;
    rv = orgs_pg_write_locked(pg, next, end, &l->change, &l->seq, p, err);
    l->held = apr_time_now() - t0;
    return rv;
}

/* The write computed again and written holding the writers' lock: it
 * cannot find the log moved on, so a write never starves however busy the
 * other tenants keep the log. */
static apr_status_t fresh_locked(request_rec *r, node_t *n, orgs_store_t *st, const char *what,
                                 orgs_pgwrite_capture_t again, void *baton, int tries,
                                 const char *why, const char **change, apr_int64_t *seq,
                                 orgs_err_t *err)
{
    locked_t l = {st, again, baton, LOCKED_LOCK, NULL, 0, 0, 0};
    apr_status_t rv = pg_run(r, n, op_locked, &l, err);
    *seq = 0;
    if (rv == APR_SUCCESS || l.phase == LOCKED_AGAIN) {
        /* written, nothing to write any more, or the write's own answer */
        orgs_log_rerror(r, APLOG_INFO, 0,
                        ORGSLOGNO(00870) "%s: computed again holding the writers' lock after "
                                         "%d attempts found the change log moved on (%s): "
                                         "%" APR_SIZE_T_FMT " changes applied to the replica, "
                                         "lock held %" APR_TIME_T_FMT " us",
                        what, tries, why, l.applied, l.held);
        *change = rv == APR_SUCCESS ? l.change : NULL;
        *seq = l.seq;
        return rv;
    }
    if (rv == ORGS_PGWRITE_DOWN || rv == ORGS_PGWRITE_BUSY || rv == ORGS_PG_EBUSY ||
        l.phase == LOCKED_WRITE) {
        return write_outcome(r, rv, what, err);
    }
    return behind(r, rv, what, why, err);
}

apr_status_t orgs_pgwrite_fresh(request_rec *r, orgs_store_t *st, const char *what,
                                orgs_pgwrite_capture_t again, void *baton, const char **change,
                                apr_int64_t *seq, orgs_err_t *err)
{
    node_t *n = node_of(r);
    write_t w = {*change, 0, 0, NULL};
    apr_status_t rv;
    apr_time_t t0 = apr_time_now();
    if (!n) {
        return orgs_err_set(err, ORGS_PGWRITE_DOWN, "out of memory");
    }
    w.prune = strcmp(what, "sign-in") == 0 &&
              atomic_fetch_add(&n->signins, 1) % PRUNE_EVERY == PRUNE_EVERY - 1;
    for (int tries = 1;; tries++) {
        if ((rv = write_change(r, n, &w, what, err)) != ORGS_PG_ESTALE) {
            *seq = w.seq;
            if (rv == APR_SUCCESS && w.written) {
                *change = w.written; /* with the database's counters */
            }
            return rv;
        }
        /* the replica has not applied every change yet: apply the missing
         * ones here, in order, and compute the write again on it */
        const char *why = apr_pstrdup(r->pool, err->msg);
        advance_t a = {st, w.seq, 0};
        if (tries >= FRESH_TRIES || apr_time_now() - t0 >= FRESH_WITHIN) {
            return fresh_locked(r, n, st, what, again, baton, tries, why, change, seq, err);
        }
        if (tries > 1) {
            apr_uint64_t spread = (apr_uint64_t)FRESH_JITTER * tries;
            apr_sleep(
                (apr_interval_time_t)(((apr_uint64_t)apr_time_now() ^ (apr_uint64_t)(uintptr_t)r) %
                                      spread));
        }
        rv = pg_run(r, n, op_advance, &a, err);
        if (rv == ORGS_PGWRITE_DOWN || rv == ORGS_PGWRITE_BUSY || rv == ORGS_PG_EBUSY) {
            return write_outcome(r, rv, what, err);
        }
        if (rv != APR_SUCCESS) {
            return behind(r, rv, what, why, err);
        }
        orgs_log_rerror(r, APLOG_INFO, 0,
                        ORGSLOGNO(00854) "%s: computed on this node's replica while it was "
                                         "behind the PostgreSQL change log (%s): %" APR_SIZE_T_FMT
                                         " changes applied to the replica here, computed again",
                        what, why, a.applied);
        char *next = NULL;
        if ((rv = again(baton, &next, err)) != APR_SUCCESS || !next) {
            *change = next;
            *seq = 0;
            return rv;
        }
        w.change = *change = next;
    }
}

typedef struct {
    orgs_store_t *st;
    orgs_signin_t *in;
    orgs_user_t **user;
    int *admitted;
    request_rec *r;
} signin_again_t;

/* The sign-in's change set with its sealed pending login marked used
 * until the sealed cookie would have expired: the database refuses the
 * same login's second sign-in on any node (ORGS_PG_EUSED). NULL when the
 * mark cannot be added to a sealed login's change set: that sign-in is
 * refused rather than written without its single-use check. */
static char *with_used(request_rec *r, const orgs_signin_t *in, int admitted, char *change)
{
    /* counted against the org when the user got in, the org and the
     * connection when not: refused sign-ins never fill the share an org's
     * members need (orgs_store_used_owner) */
    const char *s = orgs_store_change_pending_used(
        change, in->state, orgs_store_used_owner(in, admitted, r->pool),
        in->quota ? in->quota->sessions_per_org : 0,
        in->now + orgs_srv_cfg(r->server)->login_timeout + ORGS_PENDING_USED_MARGIN, r->pool);
    if (!s) {
        return in->sealed_created ? NULL : change;
    }
    return apr_pstrdup(r->pool, s);
}

static apr_status_t signin_again(void *baton, char **change, orgs_err_t *err)
{
    signin_again_t *b = baton;
    apr_status_t rv =
        orgs_store_signin_recapture(b->st, b->in, b->user, b->admitted, change, b->r->pool, err);
    if (rv == APR_SUCCESS) {
        *change = with_used(b->r, b->in, *b->admitted, *change);
        if (!*change && b->in->sealed_created) {
            return orgs_err_set(err, ORGS_ESTORE, "cannot record the sign-in's single use");
        }
    }
    return rv;
}

typedef struct {
    const char *hex;
    int used;
} used_t;

static apr_status_t op_pending_used(orgs_pg_t *pg, void *baton, apr_pool_t *p, orgs_err_t *err)
{
    used_t *u = baton;
    (void)p;
    return orgs_pg_pending_used(pg, u->hex, &u->used, err);
}

int orgs_pgwrite_pending_used(request_rec *r, const char *state)
{
    node_t *n = node_of(r);
    orgs_err_t err = {{0}};
    used_t u = {orgs_store_pending_state_hex(state, r->pool), 0};
    /* through pg_run: a pooled connection the database's restart broke is
     * replaced and the read sent again, rather than taken for the database
     * down (which would refuse the sign-in that follows). Down or busy: the
     * sign-in's write decides (or fails). */
    if (!n || !u.hex) {
        return 0;
    }
    return pg_run(r, n, op_pending_used, &u, &err) == APR_SUCCESS && u.used;
}

apr_status_t orgs_pgwrite_signin(request_rec *r, orgs_store_t *st, orgs_signin_t *in,
                                 orgs_user_t **user, int *admitted, orgs_err_t *err)
{
    node_t *n = node_of(r);
    char *change = NULL;
    const char *written;
    apr_int64_t seq = 0;
    signin_again_t again = {st, in, user, admitted, r};
    orgs_err_t lerr = {{0}};
    apr_status_t rv;
    *user = NULL;
    if (!n) {
        return orgs_err_set(err, ORGS_PGWRITE_DOWN, "out of memory");
    }
    /* fail fast while the database is known to be down: nothing consumed */
    if (atomic_load(&n->down) && apr_time_now() < atomic_load(&n->next_try)) {
        return orgs_err_set(err, ORGS_PGWRITE_DOWN, "PostgreSQL is down");
    }
    rv = orgs_store_signin_capture(st, in, user, admitted, &change, r->pool, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    written = with_used(r, in, *admitted, change);
    if (!written && in->sealed_created) {
        *user = NULL;
        return orgs_err_set(err, ORGS_ESTORE, "cannot record the sign-in's single use");
    }
    /* single use before anything is written: a concurrent callback with
     * the same state finds it gone (APR_NOTFOUND). A login sealed in the
     * browser's cookie is in no store: the database's pending_used row
     * settles it (ORGS_PG_EUSED below). */
    if (!in->sealed_created &&
        (rv = orgs_store_pending_delete(st, in->state, r->pool, err)) != APR_SUCCESS) {
        *user = NULL;
        return rv;
    }
    if (written) {
        apr_time_t t0 = apr_time_now();
        rv = orgs_pgwrite_fresh(r, st, "sign-in", signin_again, &again, &written, &seq, err);
        if (rv == ORGS_PG_EUSED) {
            /* another node completed this login first: a replay */
            *user = NULL;
            return orgs_err_set(err, APR_NOTFOUND, "%s", err->msg);
        }
        if (rv == ORGS_PG_EQUOTA || rv == ORGS_PG_EMARKS) {
            /* the cluster's minute is spent, or the org's sign-ins within
             * the login timeout: refused as the store refuses */
            in->over_quota = rv == ORGS_PG_EQUOTA ? ORGS_QUOTA_NEW_USERS_PER_MIN
                                                  : orgs_store_used_full(*admitted);
            *user = NULL;
            return orgs_err_set(err, APR_ENOSPC, "%s", err->msg);
        }
        if (rv != APR_SUCCESS) {
            *user = NULL;
            return rv;
        }
        if (written) {
            orgs_log_rerror(r, APLOG_INFO, 0,
                            ORGSLOGNO(00848) "sign-in of user %s written to PostgreSQL as "
                                             "change %" APR_INT64_T_FMT " in %" APR_TIME_T_FMT
                                             " us",
                            *user ? (*user)->id : "-", seq, apr_time_now() - t0);
        }
    }
    /* the node reads its own write now, not after the replicator's round */
    if (orgs_store_signin_local_at(st, in, *admitted, written, seq, r->pool, &lerr) !=
        APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00847) "sign-in written to PostgreSQL but not yet to this "
                                         "node's replica (the replicator brings it): %s",
                        lerr.msg);
    }
    return APR_SUCCESS;
}

apr_status_t orgs_pgwrite_count(request_rec *r, orgs_store_t *st, const char *org_id, int kind,
                                apr_time_t now, orgs_err_t *err)
{
    node_t *n = node_of(r);
    write_t w = {orgs_store_count_change(org_id, kind, now, r->pool), 0, 0, NULL};
    apr_status_t rv = !n          ? orgs_err_set(err, ORGS_PGWRITE_DOWN, "out of memory")
                      : !w.change ? orgs_err_set(err, APR_EINVAL, "bad usage counter")
                                  : write_change(r, n, &w, "usage count", err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return orgs_store_change_apply_local(st, w.written ? w.written : w.change, r->pool, err);
}

static void neg_add(node_t *n, const unsigned char *hash)
{
    pthread_mutex_lock(&n->lock);
    memcpy(n->neg[n->neg_next], hash, 32);
    n->neg_next = (n->neg_next + 1) % NEG_SLOTS;
    if (n->neg_used < NEG_SLOTS) {
        n->neg_used++;
    }
    pthread_mutex_unlock(&n->lock);
}

apr_status_t orgs_pgwrite_session_end(request_rec *r, orgs_store_t *st,
                                      const unsigned char sid_hash[32], orgs_err_t *err)
{
    node_t *n = node_of(r);
    write_t w = {orgs_store_session_change_del(sid_hash, r->pool), 0, 0, NULL};
    apr_status_t rv = n ? write_change(r, n, &w, "sign-out", err)
                        : orgs_err_set(err, ORGS_PGWRITE_DOWN, "out of memory");
    if (rv != APR_SUCCESS) {
        return rv;
    }
    neg_add(n, sid_hash);
    return orgs_store_session_end_at(st, sid_hash, w.seq, r->pool, err);
}

/* Whether a lookup may go to the database: not a known miss, and within
 * this process's budget (a token bucket of ORGS_PGWRITE_LOOKUPS a second). */
static int lookup_allowed(request_rec *r, node_t *n, const unsigned char *hash)
{
    apr_time_t now = apr_time_now();
    int ok = 1, log = 0;
    pthread_mutex_lock(&n->lock);
    for (unsigned i = 0; ok && i < n->neg_used; i++) {
        ok = memcmp(n->neg[i], hash, 32) != 0;
    }
    if (ok) {
        n->tokens += (double)(now - n->refilled) * ORGS_PGWRITE_LOOKUPS / APR_USEC_PER_SEC;
        n->tokens = n->tokens > ORGS_PGWRITE_LOOKUPS ? ORGS_PGWRITE_LOOKUPS : n->tokens;
        n->refilled = now;
        ok = n->tokens >= 1;
        n->tokens -= ok ? 1 : 0;
        if (!ok && now - n->budget_logged >= PG_RETRY) {
            n->budget_logged = now;
            log = 1;
        }
    }
    pthread_mutex_unlock(&n->lock);
    if (log) {
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00849) "unknown session cookies arrive faster than %d a "
                                         "second in this process: the ones over that are not "
                                         "looked up in PostgreSQL (they count as signed out)",
                        ORGS_PGWRITE_LOOKUPS);
    }
    return ok;
}

typedef struct {
    const char *hex;
    char *change;
    apr_int64_t seq;
} fetch_t;

static apr_status_t op_fetch(orgs_pg_t *pg, void *baton, apr_pool_t *p, orgs_err_t *err)
{
    fetch_t *f = baton;
    return orgs_pg_session_fetch(pg, f->hex, &f->change, &f->seq, p, err);
}

apr_status_t orgs_pgwrite_session_find(request_rec *r, orgs_store_t *st, const char *sid,
                                       const unsigned char sid_hash[32])
{
    node_t *n;
    fetch_t f = {NULL, NULL, 0};
    orgs_err_t err = {{0}};
    /* not an id this module draws: no session anywhere, and no budget spent */
    if (!orgs_cookie_sid_ok(sid)) {
        return APR_NOTFOUND;
    }
    n = node_of(r);
    f.hex = orgs_store_session_hex(sid_hash, r->pool);
    if (!n || !lookup_allowed(r, n, sid_hash)) {
        return APR_NOTFOUND;
    }
    apr_status_t rv = pg_run(r, n, op_fetch, &f, &err);
    if (rv == APR_NOTFOUND) {
        neg_add(n, sid_hash); /* a session id is never reused: a miss is final */
        return rv;
    }
    if (rv != APR_SUCCESS) {
        if (rv != ORGS_PGWRITE_DOWN) {
            orgs_log_rerror(r, APLOG_ERR, rv,
                            ORGSLOGNO(00851) "session lookup: the PostgreSQL read failed: %s",
                            err.msg);
        }
        return APR_NOTFOUND;
    }
    rv = orgs_store_fetch_apply(st, f.change, f.seq, r->pool, &err);
    if (rv == APR_EAGAIN) {
        /* the replicator applied changes after the lookup's snapshot (the
         * session, or what ended it): the replica is the newer answer */
        orgs_log_rerror(r, APLOG_INFO, 0,
                        ORGSLOGNO(00855) "a session found in PostgreSQL was not kept: %s; "
                                         "this node's replica answers",
                        err.msg);
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_WARNING, rv,
                        ORGSLOGNO(00852) "a session found in PostgreSQL could not be kept in "
                                         "this node's replica: %s",
                        err.msg);
        return APR_NOTFOUND;
    }
    orgs_log_rerror(r, APLOG_INFO, 0,
                    ORGSLOGNO(00850) "a session made on another node was found in PostgreSQL "
                                     "and kept in this node's replica");
    return APR_SUCCESS;
}

int orgs_pgwrite_known_down(request_rec *r)
{
    node_t *n = orgs_pgwrite_on(r) ? node_of(r) : NULL;
    return n && atomic_load(&n->down) &&
           apr_time_now() < atomic_load(&n->next_try) + ORGS_PGWRITE_KNOWN_DOWN;
}

int orgs_pgwrite_unavailable(request_rec *r, const char *what, const char *return_to)
{
    if (!apr_table_get(r->err_headers_out, "Retry-After")) {
        apr_table_setn(r->err_headers_out, "Retry-After", "5"); /* not busy: down */
    }
    return orgs_endpoints_error_send(
        r, HTTP_SERVICE_UNAVAILABLE, "temporarily_unavailable",
        apr_pstrcat(r->pool, what, " is temporarily unavailable. Please try again in a moment.",
                    NULL),
        return_to);
}

typedef struct {
    int kind;
    apr_time_t when;
    apr_size_t batches;
    const char *from, *next;
    apr_size_t removed, sets;
    int busy;
} sweep_t;

static apr_status_t op_sweep(orgs_pg_t *pg, void *baton, apr_pool_t *p, orgs_err_t *err)
{
    sweep_t *s = baton;
    return orgs_pg_sweep(pg, s->kind, s->when, s->batches, s->from, &s->next, &s->removed, &s->sets,
                         &s->busy, p, err);
}

apr_status_t orgs_pgwrite_sweep(request_rec *r, int kind, apr_time_t when, apr_size_t batches,
                                const char *from, const char **next, apr_size_t *removed, int *busy,
                                orgs_err_t *err)
{
    node_t *n = node_of(r);
    sweep_t s = {kind, when, batches, from, NULL, 0, 0, 0};
    apr_status_t rv =
        n ? pg_run(r, n, op_sweep, &s, err) : orgs_err_set(err, ORGS_PGWRITE_DOWN, "out of memory");
    /* batches committed before a failure stay written */
    *removed = s.removed;
    *busy = s.busy;
    *next = rv == APR_SUCCESS ? s.next : from;
    return rv;
}
