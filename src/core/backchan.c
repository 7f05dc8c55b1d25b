/* The back channel's fetch policy: single flight, backoff, concurrency cap,
 * log gate, endpoint origin rule. See backchan.h. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_uri.h>

#include "backchan.h"
#include "crypto.h"

#define KEY_LEASE "bclease:"
#define KEY_FAIL "bcfail:"
#define REASON_MAX 200

typedef struct issuer_state_t {
    int busy[2];         /* a thread of this process fetches this kind */
    unsigned failures;   /* consecutive failed fetches (shared view) */
    apr_time_t retry_at; /* no fetch before this time */
    char reason[REASON_MAX];
    apr_time_t remote_until[2]; /* another process holds the lease: no store write till then */
    apr_time_t log_at;          /* start of the current log interval, 0 = none */
    unsigned log_held;          /* lines held back in it */
} issuer_state_t;

typedef struct state_t {
    apr_pool_t *pool; /* issuer and connection keys live here: bounded by the configuration */
    apr_hash_t *issuers;
    apr_hash_t *slots; /* connection id -> int in flight */
#if APR_HAS_THREADS
    apr_thread_mutex_t *mu;
    apr_thread_cond_t *cv;
#endif
} state_t;

struct orgs_backchan_ticket_t {
    const char *issuer;
    orgs_backchan_kind_t kind;
    int leased; /* a store lease is to be released */
    int local;  /* the process flight is to be released */
};

static state_t *G;

static void lock(void)
{
#if APR_HAS_THREADS
    apr_thread_mutex_lock(G->mu);
#endif
}

static void unlock(void)
{
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(G->mu);
#endif
}

static apr_status_t state_gone(void *data)
{
    if (G == data) {
        G = NULL;
    }
    return APR_SUCCESS;
}

apr_status_t orgs_backchan_init(apr_pool_t *p, orgs_err_t *err)
{
    state_t *s = apr_pcalloc(p, sizeof(*s));
    s->pool = p;
    s->issuers = apr_hash_make(p);
    s->slots = apr_hash_make(p);
#if APR_HAS_THREADS
    apr_status_t rv = apr_thread_mutex_create(&s->mu, APR_THREAD_MUTEX_DEFAULT, p);
    if (rv == APR_SUCCESS) {
        rv = apr_thread_cond_create(&s->cv, p);
    }
    if (rv != APR_SUCCESS) {
        return orgs_err_set(err, rv, "cannot create the back-channel lock");
    }
#endif
    G = s;
    apr_pool_cleanup_register(p, s, state_gone, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

/* Under the lock. */
static issuer_state_t *issuer_state(const char *issuer)
{
    issuer_state_t *e = apr_hash_get(G->issuers, issuer, APR_HASH_KEY_STRING);
    if (e == NULL) {
        e = apr_pcalloc(G->pool, sizeof(*e));
        apr_hash_set(G->issuers, apr_pstrdup(G->pool, issuer), APR_HASH_KEY_STRING, e);
    }
    return e;
}

apr_interval_time_t orgs_backchan_backoff(unsigned n)
{
    apr_interval_time_t t = ORGS_BACKCHAN_BACKOFF_MIN;
    for (unsigned i = 1; i < n && t < ORGS_BACKCHAN_BACKOFF_MAX; i++) {
        t *= 2;
    }
    return t < ORGS_BACKCHAN_BACKOFF_MAX ? t : ORGS_BACKCHAN_BACKOFF_MAX;
}

static apr_status_t backing_off(unsigned failures, apr_time_t retry_at, const char *reason,
                                apr_time_t now, orgs_err_t *err)
{
    return orgs_err_set(
        err, APR_EAGAIN, "not asked again for %" APR_TIME_T_FMT " s after %u failure%s: %s",
        apr_time_sec(retry_at - now) + 1, failures, failures == 1 ? "" : "s", reason);
}

/* The store's shared failure record: "<failures> <retry_at> <reason>". */
static int shared_failure(orgs_store_t *st, const char *issuer, unsigned *failures,
                          apr_time_t *retry_at, const char **reason, apr_pool_t *p)
{
    const char *v = NULL;
    apr_time_t at = 0;
    orgs_err_t ignored;
    if (!st || orgs_store_cache_get(st, apr_pstrcat(p, KEY_FAIL, issuer, NULL), &v, &at, p,
                                    &ignored) != APR_SUCCESS) {
        return 0;
    }
    char *end = NULL;
    unsigned long f = strtoul(v, &end, 10);
    if (end == v || *end != ' ') {
        return 0;
    }
    const char *r = end + 1;
    apr_int64_t ra = apr_strtoi64(r, &end, 10);
    if (end == r) {
        return 0;
    }
    *failures = (unsigned)f;
    *retry_at = (apr_time_t)ra;
    *reason = *end == ' ' ? end + 1 : "";
    return 1;
}

static const char *lease_key(const orgs_backchan_ticket_t *t, apr_pool_t *p)
{
    return apr_pstrcat(p, KEY_LEASE, t->kind == ORGS_BACKCHAN_JWKS ? "jwks:" : "disc:", t->issuer,
                       NULL);
}

/* Releases the process flight of t (under no lock). */
static void flight_release(orgs_backchan_ticket_t *t)
{
    if (G && t->local) {
        lock();
        issuer_state(t->issuer)->busy[t->kind] = 0;
#if APR_HAS_THREADS
        apr_thread_cond_broadcast(G->cv);
#endif
        unlock();
        t->local = 0;
    }
}

apr_status_t orgs_backchan_begin(orgs_store_t *st, const char *issuer, orgs_backchan_kind_t kind,
                                 apr_time_t now, apr_interval_time_t lease, int *waited,
                                 orgs_backchan_ticket_t **out, apr_pool_t *p, orgs_err_t *err)
{
    orgs_backchan_ticket_t *t = apr_pcalloc(p, sizeof(*t));
    t->issuer = apr_pstrdup(p, issuer);
    t->kind = kind;
    *waited = 0;

    if (G) {
        lock();
        issuer_state_t *e = issuer_state(issuer);
        if (now < e->retry_at) {
            apr_status_t rv = backing_off(e->failures, e->retry_at, e->reason, now, err);
            unlock();
            return rv;
        }
        if (now < e->remote_until[kind]) {
            unlock();
            return orgs_err_set(err, APR_EBUSY, "another process is fetching it");
        }
        if (e->busy[kind]) {
#if APR_HAS_THREADS
            /* another thread is fetching it: wait a little for its result */
            apr_time_t deadline = apr_time_now() + ORGS_BACKCHAN_WAIT;
            while (e->busy[kind]) {
                apr_time_t left = deadline - apr_time_now();
                if (left <= 0) {
                    break;
                }
                apr_thread_cond_timedwait(G->cv, G->mu, left);
            }
#endif
            *waited = 1;
            unlock();
            return orgs_err_set(err, APR_EBUSY, "another request is fetching it");
        }
        e->busy[kind] = 1;
        t->local = 1;
        unlock();
    }

    unsigned failures = 0;
    apr_time_t retry_at = 0;
    const char *reason = NULL;
    if (shared_failure(st, issuer, &failures, &retry_at, &reason, p) && now < retry_at) {
        /* another process failed recently: adopt its backoff */
        if (G) {
            lock();
            issuer_state_t *e = issuer_state(issuer);
            e->failures = failures;
            e->retry_at = retry_at;
            apr_cpystrn(e->reason, reason, sizeof(e->reason));
            unlock();
        }
        flight_release(t);
        return backing_off(failures, retry_at, reason, now, err);
    }
    if (st) {
        orgs_err_t e2 = {{0}};
        apr_status_t rv = orgs_store_cache_claim(st, lease_key(t, p), now, lease, p, &e2);
        if (rv == APR_EBUSY) {
            if (G) {
                /* the requests after this one skip the store's write lock */
                lock();
                issuer_state(issuer)->remote_until[kind] = now + ORGS_BACKCHAN_REMOTE_MEMO;
                unlock();
            }
            flight_release(t);
            return orgs_err_set(err, APR_EBUSY, "another process is fetching it (%s)", e2.msg);
        }
        /* a store error only loses the cross-process coordination */
        t->leased = rv == APR_SUCCESS;
    }
    *out = t;
    return APR_SUCCESS;
}

void orgs_backchan_end(orgs_store_t *st, orgs_backchan_ticket_t *t, apr_status_t outcome,
                       const orgs_err_t *why, apr_time_t now, apr_pool_t *p)
{
    orgs_err_t ignored;
    unsigned failures = 0, shared = 0;
    apr_time_t retry_at = 0, sra = 0;
    const char *sreason = NULL;
    int had_shared = shared_failure(st, t->issuer, &shared, &sra, &sreason, p);

    if (outcome != APR_SUCCESS) {
        failures = shared + 1;
    }
    if (G) {
        lock();
        issuer_state_t *e = issuer_state(t->issuer);
        if (outcome == APR_SUCCESS) {
            e->failures = 0;
            e->retry_at = 0;
            e->reason[0] = '\0';
        } else {
            if (e->failures + 1 > failures) {
                failures = e->failures + 1;
            }
            e->failures = failures;
            e->retry_at = now + orgs_backchan_backoff(failures);
            apr_cpystrn(e->reason, why && why->msg[0] ? why->msg : "failed", sizeof(e->reason));
        }
        unlock();
    }
    if (outcome != APR_SUCCESS) {
        retry_at = now + orgs_backchan_backoff(failures);
    }
    if (st && (outcome != APR_SUCCESS || (had_shared && shared > 0))) {
        char reason[REASON_MAX];
        apr_cpystrn(reason, outcome != APR_SUCCESS && why && why->msg[0] ? why->msg : "failed",
                    sizeof(reason));
        orgs_store_cache_put(st, apr_pstrcat(p, KEY_FAIL, t->issuer, NULL),
                             apr_psprintf(p, "%u %" APR_TIME_T_FMT " %s", failures, retry_at,
                                          outcome == APR_SUCCESS ? "" : reason),
                             now, p, &ignored);
    }
    if (st && t->leased) {
        orgs_store_cache_put(st, lease_key(t, p), "", 0, p, &ignored);
        t->leased = 0;
    }
    flight_release(t);
}

apr_status_t orgs_backchan_slot_take(const char *key, int max, orgs_err_t *err)
{
    if (!G || max <= 0 || !key) {
        return APR_SUCCESS;
    }
    apr_status_t rv = APR_SUCCESS;
    lock();
    int *n = apr_hash_get(G->slots, key, APR_HASH_KEY_STRING);
    if (n == NULL) {
        n = apr_pcalloc(G->pool, sizeof(*n));
        apr_hash_set(G->slots, apr_pstrdup(G->pool, key), APR_HASH_KEY_STRING, n);
    }
    if (*n >= max) {
        rv = orgs_err_set(err, APR_EAGAIN,
                          "%d calls to this identity provider already in flight "
                          "(OrgsBackchannelMaxConcurrent)",
                          *n);
    } else {
        (*n)++;
    }
    unlock();
    return rv;
}

void orgs_backchan_slot_give(const char *key, int max)
{
    if (!G || max <= 0 || !key) {
        return;
    }
    lock();
    int *n = apr_hash_get(G->slots, key, APR_HASH_KEY_STRING);
    if (n && *n > 0) {
        (*n)--;
    }
    unlock();
}

/* ---- the log gate shared by every process ---------------------------- */

#define LOG_MAGIC 0x42434c31u /* "BCL1": this layout */
#define LOG_PROBE 16          /* slots tried from an issuer's home slot */

/* A slot belongs to an issuer by the first 16 bytes of its SHA-256 (an
 * issuer is the tenant's to choose: a short hash could be made to collide
 * with another tenant's and hold its lines back). key[0] is claimed by a
 * compare-and-swap from 0; the rest is written once, before ready is set. */
typedef struct {
    _Atomic(apr_uint64_t) key0;
    apr_uint64_t key1;
    _Atomic(int) ready;
    _Atomic(apr_int64_t) log_at; /* start of the current interval, 0 = none */
    _Atomic(unsigned) held;      /* lines held back in it */
} log_slot_t;

typedef struct {
    apr_uint32_t magic;
    apr_uint32_t size;
    log_slot_t slot[ORGS_BACKCHAN_LOG_SLOTS];
} log_shared_t;

static log_shared_t *LOG_SHARED;

apr_size_t orgs_backchan_log_shared_size(void)
{
    return sizeof(log_shared_t);
}

int orgs_backchan_log_shared_init(void *mem, apr_size_t size)
{
    log_shared_t *sh = mem;
    if (!mem || size < sizeof(log_shared_t)) {
        return 0;
    }
    if (sh->magic == LOG_MAGIC && sh->size == sizeof(log_shared_t)) {
        return 1; /* this layout already (a restart): its intervals still run */
    }
    memset(sh, 0, sizeof(*sh));
    sh->magic = LOG_MAGIC;
    sh->size = sizeof(log_shared_t);
    return 1;
}

void orgs_backchan_log_share(void *mem)
{
    const log_shared_t *sh = mem;
    LOG_SHARED = sh && sh->magic == LOG_MAGIC && sh->size == sizeof(log_shared_t) ? mem : NULL;
}

/* The issuer's slot: its own, or a free one claimed now; NULL when the
 * LOG_PROBE slots from its home are taken by others. */
static log_slot_t *log_slot(const char *issuer)
{
    unsigned char h[32];
    apr_uint64_t k0 = 0, k1 = 0;
    if (orgs_crypto_sha256(issuer, strlen(issuer), h) != APR_SUCCESS) {
        return NULL;
    }
    for (int i = 0; i < 8; i++) {
        k0 = k0 << 8 | h[i];
        k1 = k1 << 8 | h[8 + i];
    }
    k0 |= 1; /* 0 marks a free slot */
    for (unsigned i = 0; i < LOG_PROBE; i++) {
        log_slot_t *sl = &LOG_SHARED->slot[(k1 + i) % ORGS_BACKCHAN_LOG_SLOTS];
        apr_uint64_t cur = atomic_load(&sl->key0);
        if (cur == 0) {
            apr_uint64_t expected = 0;
            if (atomic_compare_exchange_strong(&sl->key0, &expected, k0)) {
                sl->key1 = k1;
                atomic_store(&sl->ready, 1);
                return sl;
            }
            cur = expected; /* another process claimed it just now */
        }
        if (cur == k0) {
            /* claimed by another process: its key1 is written before ready */
            for (int spin = 0; spin < 1000 && !atomic_load(&sl->ready); spin++) {
            }
            if (atomic_load(&sl->ready) && sl->key1 == k1) {
                return sl;
            }
        }
    }
    return NULL;
}

/* One interval per issuer for every process: the process whose
 * compare-and-swap starts the interval writes the line. */
static int log_gate_shared(log_slot_t *sl, apr_time_t now, apr_interval_time_t interval,
                           unsigned *suppressed)
{
    apr_int64_t at = atomic_load(&sl->log_at);
    /* a start a little after now is another process's of this very
     * moment; only one far ahead (the clock went back) starts anew */
    while (at == 0 || now - at >= interval || at - now >= interval) {
        if (atomic_compare_exchange_weak(&sl->log_at, &at, (apr_int64_t)now)) {
            *suppressed = atomic_exchange(&sl->held, 0u);
            return 1;
        }
    }
    atomic_fetch_add(&sl->held, 1u);
    return 0;
}

int orgs_backchan_log_gate(const char *issuer, apr_time_t now, apr_interval_time_t interval,
                           unsigned *suppressed)
{
    int pass = 0;
    *suppressed = 0;
    if (!G || !issuer) {
        return 1;
    }
    log_slot_t *sl = LOG_SHARED ? log_slot(issuer) : NULL;
    if (sl) {
        return log_gate_shared(sl, now, interval, suppressed);
    }
    lock();
    issuer_state_t *e = issuer_state(issuer);
    if (e->log_at == 0 || now < e->log_at || now - e->log_at >= interval) {
        *suppressed = e->log_held;
        e->log_held = 0;
        e->log_at = now;
        pass = 1;
    } else {
        e->log_held++;
    }
    unlock();
    return pass;
}

/* ---- the endpoint origin rule ---------------------------------------- */

static int default_port(const char *scheme)
{
    return scheme && strcasecmp(scheme, "https") == 0 ? 443 : 80;
}

const char *orgs_backchan_url_host(const char *url, apr_pool_t *p)
{
    apr_uri_t u;
    if (!url || apr_uri_parse(p, url, &u) != APR_SUCCESS || !u.hostname || !*u.hostname) {
        return NULL;
    }
    return u.hostname; /* apr_uri_parse strips the IPv6 brackets */
}

static int host_listed(const char *const *list, const char *host)
{
    for (const char *const *h = list; h && *h; h++) {
        if (strcasecmp(*h, host) == 0) {
            return 1;
        }
    }
    return 0;
}

apr_status_t orgs_backchan_endpoint_check(const char *what, const char *url, const char *issuer,
                                          const char *const *conn_hosts,
                                          const char *const *server_hosts, apr_pool_t *p,
                                          orgs_err_t *err)
{
    apr_uri_t u, i;
    if (!url || !issuer || apr_uri_parse(p, url, &u) != APR_SUCCESS ||
        apr_uri_parse(p, issuer, &i) != APR_SUCCESS || !u.hostname || !i.hostname || !u.scheme ||
        !i.scheme) {
        return orgs_err_set(err, APR_EACCES, "%s: not an absolute URL", what);
    }
    int up = u.port_str ? (int)u.port : default_port(u.scheme);
    int ip = i.port_str ? (int)i.port : default_port(i.scheme);
    if (strcasecmp(u.scheme, i.scheme) == 0 && strcasecmp(u.hostname, i.hostname) == 0 &&
        up == ip) {
        return APR_SUCCESS;
    }
    if (host_listed(conn_hosts, u.hostname) || host_listed(server_hosts, u.hostname)) {
        return APR_SUCCESS;
    }
    return orgs_err_set(err, APR_EACCES,
                        "%s %s://%s:%d is not on the issuer's origin %s://%s:%d nor a host the "
                        "connection allows (allowed_endpoint_hosts) or OrgsBackchannelAllowHost "
                        "lists",
                        what, u.scheme, u.hostname, up, i.scheme, i.hostname, ip);
}
