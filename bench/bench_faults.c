/* The store under faults, two figures for docs/operations.md:
 *
 * 1. The expired-session sweep: 100,000 expired sessions (10,000 members,
 *    10 each); what one sign-in pays now (orgs_store_session_purge_some,
 *    2 batches, what the sweep at a sign-in runs), how many such sign-ins
 *    clear them, and what clearing all in one call costs (what the
 *    triggering sign-in paid before the sweep was bounded).
 * 2. The remap lock on the request path: orgs_store_session_view on a
 *    threaded handle (httpd's children: a shared read lock taken and
 *    released around each transaction, so a grown map can be remapped)
 *    against the same store opened unthreaded (no lock), alternating,
 *    median ns per call over several rounds.
 * Times are CPU time (the machine may be busy with other work). The lock's
 * own cost is below this noise: count it under callgrind
 * (BENCH_FAULTS_PARTS=views BENCH_FAULTS_VIEWS=2000 BENCH_FAULTS_MEMBERS=200, then the calls of
 * pthread_rwlock_rdlock and _unlock; see docs/operations.md).
 *
 * usage: bench_faults DIR   (DIR must exist and be empty; bench/faults gives
 * a new directory under /dev/shm, where commits cost no disk flush, and
 * removes it) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "crypto.h"
#include "store.h"

#define N_MEMBERS 10000
#define PER_MEMBER 10 /* ORGS_STORE_SESSIONS_PER_MEMBER: 100,000 sessions */
#define N_VIEWS 200000

/* BENCH_FAULTS_PARTS: "sweep", "views" or both (default); BENCH_FAULTS_VIEWS:
 * views per round (fewer under callgrind) */
static unsigned n_views = N_VIEWS;
static unsigned n_members = N_MEMBERS; /* BENCH_FAULTS_MEMBERS, for the views */
#define ROUNDS 5

/* CPU time of this (single-threaded) process: on a loaded machine, wall
 * time would measure the other processes too */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, apr_status_t rv, const orgs_err_t *err)
{
    fprintf(stderr, "bench_faults: %s: %d %s\n", what, rv, err->msg);
    exit(1);
}

static void sid_hash(unsigned n, unsigned char h[32])
{
    char sid[32];
    snprintf(sid, sizeof(sid), "sid-%u", n);
    orgs_crypto_sha256(sid, strlen(sid), h);
}

/* 10,000 members of one org with 10 sessions each, all expired an hour
 * ago (alive: expiring in an hour). */
static void fill(orgs_store_t *st, int alive, apr_pool_t *p)
{
    orgs_err_t err = {{0}};
    orgs_org_t o = {.name = "acme"};
    orgs_conn_t c = {.name = "idp", .issuer = "https://idp.example.com", .client_id = "client-1"};
    apr_status_t rv;
    if ((rv = orgs_store_org_create(st, &o, p, &err)) != APR_SUCCESS ||
        (rv = orgs_store_conn_create(st, &c, p, &err)) != APR_SUCCESS ||
        (rv = orgs_store_org_enable_conn(st, "acme", "idp", 0, p, &err)) != APR_SUCCESS) {
        die("setup", rv, &err);
    }
    apr_time_t now = apr_time_now();
    for (unsigned m = 0; m < n_members; m++) {
        apr_pool_t *sp;
        orgs_user_t *u;
        int created;
        apr_pool_create(&sp, p);
        const char *sub = apr_psprintf(sp, "sub-%u", m);
        const char *email = apr_psprintf(sp, "u%u@acme.example", m);
        if ((rv = orgs_store_user_login(st, c.id, sub, email, "U", now, &u, &created, sp, &err)) !=
                APR_SUCCESS ||
            (rv = orgs_store_member_add(st, o.id, u->id, NULL, sp, &err)) != APR_SUCCESS) {
            die("member", rv, &err);
        }
        for (unsigned i = 0; i < PER_MEMBER; i++) {
            unsigned char h[32];
            orgs_session_t s = {.org_id = o.id, .user_id = u->id, .conn_id = c.id};
            s.created = s.last_seen = now - apr_time_from_sec(7200);
            s.expires = alive ? now + apr_time_from_sec(3600) : now - apr_time_from_sec(3600);
            sid_hash(m * PER_MEMBER + i, h);
            if ((rv = orgs_store_session_put(st, h, &s, sp, &err)) != APR_SUCCESS) {
                die("session", rv, &err);
            }
        }
        apr_pool_destroy(sp);
    }
}

static orgs_store_t *open_at(const char *dir, int flags, apr_pool_t *p)
{
    orgs_store_t *st;
    orgs_err_t err = {{0}};
    apr_status_t rv = orgs_store_open(&st, dir, (apr_uint64_t)1 << 30, 0, ORGS_STORE_CREATE | flags,
                                      NULL, p, &err);
    if (rv != APR_SUCCESS) {
        die("open", rv, &err);
    }
    return st;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void sweep(const char *base, apr_pool_t *p)
{
    orgs_err_t err = {{0}};
    apr_size_t removed = 0, total = 0;
    apr_status_t rv;
    apr_interval_time_t idle = apr_time_from_sec(8 * 3600);

    /* before: the whole backlog in one call, as one sign-in paid it */
    const char *d1 = apr_pstrcat(p, base, "/all", NULL);
    mkdir(d1, 0700);
    orgs_store_t *st = open_at(d1, 0, p);
    fill(st, 0, p);
    double t = now_s();
    if ((rv = orgs_store_session_purge(st, apr_time_now(), idle, &removed, p, &err)) !=
        APR_SUCCESS) {
        die("purge", rv, &err);
    }
    printf("sweep, all at once:     %zu sessions in %.3f s\n", (size_t)removed, now_s() - t);
    orgs_store_close(st);

    /* now: 2 batches per sign-in, going on where the last one stopped */
    const char *d2 = apr_pstrcat(p, base, "/some", NULL);
    mkdir(d2, 0700);
    st = open_at(d2, 0, p);
    fill(st, 0, p);
    const char *resume = NULL;
    double per[N_MEMBERS * PER_MEMBER / 1000 + 2], sum = 0;
    int calls = 0, more = 1;
    while (more && calls < (int)(sizeof(per) / sizeof(per[0]))) {
        apr_pool_t *sp;
        apr_pool_create(&sp, p);
        t = now_s();
        rv = orgs_store_session_purge_some(st, apr_time_now(), idle, 2, resume, &resume, &removed,
                                           &more, sp, &err);
        double d = now_s() - t;
        if (rv != APR_SUCCESS) {
            die("purge_some", rv, &err);
        }
        resume = resume ? apr_pstrdup(p, resume) : NULL;
        apr_pool_destroy(sp);
        per[calls++] = d;
        sum += d;
        total += removed;
    }
    qsort(per, (size_t)calls, sizeof(double), cmp_double);
    printf("sweep, per sign-in:     median %.1f ms, worst %.1f ms (2 batches); %zu sessions in "
           "%d sign-ins, %.3f s of sweeping in all\n",
           per[calls / 2] * 1e3, per[calls - 1] * 1e3, (size_t)total, calls, sum);
    orgs_store_close(st);
}

static double views(orgs_store_t *st, apr_pool_t *p)
{
    orgs_err_t err = {{0}};
    apr_pool_t *sp;
    apr_pool_create(&sp, p);
    double t = now_s();
    for (unsigned i = 0; i < n_views; i++) {
        unsigned char h[32];
        orgs_session_view_t *v;
        sid_hash((i * 7919u) % (n_members * PER_MEMBER), h);
        apr_status_t rv = orgs_store_session_view(st, h, apr_time_now(),
                                                  apr_time_from_sec(8 * 3600), &v, sp, &err);
        if (rv != APR_SUCCESS) {
            die("view", rv, &err);
        }
        if (i % 64 == 63) {
            apr_pool_clear(sp);
        }
    }
    double ns = (now_s() - t) * 1e9 / n_views;
    apr_pool_destroy(sp);
    return ns;
}

static void remap_lock(const char *base, apr_pool_t *p)
{
    double plain[ROUNDS], threaded[ROUNDS];
    const char *d = apr_pstrcat(p, base, "/views", NULL);
    mkdir(d, 0700);
    orgs_store_t *st = open_at(d, 0, p);
    fill(st, 1, p);
    orgs_store_close(st);
    for (int r = 0; r < ROUNDS; r++) {
        apr_pool_t *sp;
        apr_pool_create(&sp, p);
        st = open_at(d, 0, sp);
        plain[r] = views(st, sp);
        orgs_store_close(st);
        st = open_at(d, ORGS_STORE_THREADED, sp);
        threaded[r] = views(st, sp);
        orgs_store_close(st);
        apr_pool_destroy(sp);
    }
    qsort(plain, ROUNDS, sizeof(double), cmp_double);
    qsort(threaded, ROUNDS, sizeof(double), cmp_double);
    printf("session view, no lock:  %.0f ns (median of %d rounds of %d)\n", plain[ROUNDS / 2],
           ROUNDS, n_views);
    printf("session view, threaded: %.0f ns (the remap lock: %+.0f ns)\n", threaded[ROUNDS / 2],
           threaded[ROUNDS / 2] - plain[ROUNDS / 2]);
}

int main(int argc, char **argv)
{
    apr_pool_t *p;
    if (argc != 2) {
        fprintf(stderr, "usage: bench_faults DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    apr_initialize();
    apr_pool_create(&p, NULL);
    const char *parts = getenv("BENCH_FAULTS_PARTS");
    const char *views_env = getenv("BENCH_FAULTS_VIEWS");
    if (views_env && atoi(views_env) > 0) {
        n_views = (unsigned)atoi(views_env);
    }
    if (!parts || strstr(parts, "sweep")) {
        sweep(dir, p);
    }
    if (!parts || strstr(parts, "views")) {
        const char *members_env = getenv("BENCH_FAULTS_MEMBERS");
        if (members_env && atoi(members_env) > 0) {
            n_members = (unsigned)atoi(members_env);
        }
        remap_lock(dir, p);
    }
    apr_pool_destroy(p);
    apr_terminate();
    return 0;
}
