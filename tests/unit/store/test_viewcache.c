/* Unit tests for src/core/store/viewcache.c: the per-process cache of
 * prepared session views: served again only while the store is
 * unchanged (a commit by another process, a failed delete's note, expiry
 * and idle time all end it), bounded, keyed by the whole session id, and
 * safe for threads and for views still in use when replaced. */
#include <sys/mman.h>

#include "fixture.h"

#define SID "sid-0123456789abcdefghijklmnopqrstuvwxyzABCDE"

static apr_status_t view(orgs_store_t *st, const char *sid, apr_time_t now,
                         apr_interval_time_t idle, const orgs_session_view_t **v, int *cached,
                         apr_pool_t *p)
{
    unsigned char h[32];
    return orgs_store_session_view_sid(st, sid, strlen(sid), now, idle, h, v, cached, p, &err);
}

/* Runs fn in a child process with its own handle on dir's store, as orgctl
 * or another httpd child would; fails the test unless it exits 0. */
static void in_other_process(void (*fn)(orgs_store_t *st, apr_pool_t *p), int flags)
{
    pid_t pid = fork();
    int status;
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        apr_pool_t *p;
        orgs_store_t *other;
        orgs_err_t e;
        apr_pool_create(&p, NULL);
        if (orgs_store_open(&other, dir, 0, 0, flags, keys, p, &e) != APR_SUCCESS) {
            _exit(10);
        }
        fn(other, p);
        orgs_store_close(other);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: %d", status);
}

static const char *member_id; /* the user cached_store made */
static apr_pool_t *req;       /* a request's pool: made after the cache, so cleared before it */

static void remove_member(orgs_store_t *st, apr_pool_t *p)
{
    orgs_err_t e;
    if (orgs_store_member_remove(st, "org1", member_id, p, &e) != APR_SUCCESS) {
        _exit(11);
    }
}

static void unrelated_write(orgs_store_t *st, apr_pool_t *p)
{
    orgs_err_t e;
    orgs_org_t o = {.name = "other"};
    if (orgs_store_org_create(st, &o, p, &e) != APR_SUCCESS) {
        _exit(12);
    }
}

static void *shared_note;

static void delete_fails(orgs_store_t *st, apr_pool_t *p)
{
    orgs_err_t e;
    unsigned char h[32];
    orgs_store_revoked_share(st, shared_note);
    if (orgs_crypto_sha256(SID, strlen(SID), h) != APR_SUCCESS ||
        orgs_store_session_delete(st, h, p, &e) == APR_SUCCESS) { /* read-only: must fail */
        _exit(13);
    }
}

static orgs_store_t *cached_store(apr_size_t slots, const char **o, const char **c, const char **u)
{
    orgs_store_t *st = open_store();
    ck_assert_int_eq(orgs_store_view_cache_enable(st, slots, &err), APR_SUCCESS);
    *o = mk_org(st, "org1", NULL);
    *c = mk_conn(st, "okta", NULL);
    *u = mk_user(st, "okta", "s1", "a@example.com");
    ck_assert_int_eq(orgs_store_member_add(st, "org1", *u, NULL, pool, &err), APR_SUCCESS);
    member_id = *u;
    ck_assert_int_eq(apr_pool_create(&req, pool), APR_SUCCESS);
    return st;
}

/* A second read is the same view, with the digest it was keyed under; a
 * member removed by another process ends it at the next read; a commit
 * that changed nothing of it makes it a miss once, then a hit again. */
START_TEST(view_cache_exact)
{
    const char *o, *c, *u;
    const orgs_session_view_t *v1, *v2;
    unsigned char h[32], want[32];
    int cached = -1;
    apr_time_t now = apr_time_now();
    orgs_store_t *st = cached_store(8, &o, &c, &u);
    put_session(st, SID, o, u, c, now);
    hash_of(SID, want);

    ck_assert_int_eq(view(st, SID, now, 0, &v1, &cached, req), APR_SUCCESS);
    ck_assert_int_eq(cached, 0);
    ck_assert_int_eq(
        orgs_store_session_view_sid(st, SID, strlen(SID), now, 0, h, &v2, &cached, req, &err),
        APR_SUCCESS);
    ck_assert_int_eq(cached, 1);
    ck_assert_ptr_eq(v1, v2);
    ck_assert_mem_eq(h, want, 32);
    ck_assert_str_eq(v2->org.name, "org1");
    ck_assert_str_eq(v2->user.email, "a@example.com");
    ck_assert_uint_eq(orgs_store_view_cache_used(st), 1);
    /* a hit comes with its exports made: a request only adds them */
    ck_assert_ptr_nonnull(v2->ready_env);
    ck_assert_ptr_nonnull(v2->ready_headers);
    ck_assert_ptr_eq(apr_table_get(v2->ready_env, "ORG_NAME"), v2->org.name);
    ck_assert_ptr_eq(apr_table_get(v2->ready_env, "ORG_USER_ID"), v2->user.id);

    /* a write elsewhere: one miss, then served again */
    in_other_process(unrelated_write, 0);
    ck_assert_int_eq(view(st, SID, now, 0, &v1, &cached, req), APR_SUCCESS);
    ck_assert_int_eq(cached, 0);
    ck_assert_int_eq(view(st, SID, now, 0, &v1, &cached, req), APR_SUCCESS);
    ck_assert_int_eq(cached, 1);

    /* the member removed by another process (orgctl): refused at once */
    in_other_process(remove_member, 0);
    ck_assert_int_eq(view(st, SID, now, 0, &v1, &cached, req), APR_NOTFOUND);
    ck_assert_int_eq(cached, 0);
    ck_assert_uint_eq(orgs_store_view_cache_used(st), 0);
    ck_assert_int_eq(view(st, SID, now, 0, &v1, &cached, req), APR_NOTFOUND);
    orgs_store_close(st);
}
END_TEST

/* Expiry and idle time are checked on every hit, against the time of the
 * request, as the store read does. */
START_TEST(view_cache_times)
{
    const char *o, *c, *u;
    const orgs_session_view_t *v;
    int cached;
    apr_time_t now = apr_time_now();
    apr_interval_time_t idle = apr_time_from_sec(600);
    orgs_store_t *st = cached_store(8, &o, &c, &u);
    put_session(st, SID, o, u, c, now);
    ck_assert_int_eq(view(st, SID, now, idle, &v, &cached, req), APR_SUCCESS);
    ck_assert_int_eq(view(st, SID, now + apr_time_from_sec(300), idle, &v, &cached, req),
                     APR_SUCCESS);
    ck_assert_int_eq(cached, 1);
    ck_assert_int_eq(view(st, SID, now + apr_time_from_sec(660), idle, &v, &cached, req),
                     ORGS_EEXPIRED);
    ck_assert_int_eq(view(st, SID, now, idle, &v, &cached, req), APR_SUCCESS);
    ck_assert_int_eq(view(st, SID, now, idle, &v, &cached, req), APR_SUCCESS);
    ck_assert_int_eq(cached, 1);
    ck_assert_int_eq(view(st, SID, now + apr_time_from_sec(3601), 0, &v, &cached, req),
                     ORGS_EEXPIRED);
    orgs_store_close(st);
}
END_TEST

/* A delete that failed in another process (no commit: the store is
 * unchanged) is in the shared note, and the warm entry is refused. */
START_TEST(view_cache_failed_delete_note)
{
    const char *o, *c, *u;
    const orgs_session_view_t *v;
    int cached;
    apr_time_t now = apr_time_now();
    orgs_store_t *st = cached_store(8, &o, &c, &u);
    apr_size_t size = orgs_store_revoked_shared_size();
    shared_note = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(shared_note, MAP_FAILED);
    ck_assert(orgs_store_revoked_shared_init(shared_note, size));
    orgs_store_revoked_share(st, shared_note);
    put_session(st, SID, o, u, c, now);
    ck_assert_int_eq(view(st, SID, now, 0, &v, &cached, req), APR_SUCCESS);
    ck_assert_int_eq(view(st, SID, now, 0, &v, &cached, req), APR_SUCCESS);
    ck_assert_int_eq(cached, 1);
    in_other_process(delete_fails, ORGS_STORE_RDONLY);
    ck_assert_int_eq(view(st, SID, now, 0, &v, &cached, req), APR_NOTFOUND);
    ck_assert_int_eq(cached, 0);
    orgs_store_close(st);
    munmap(shared_note, size);
}
END_TEST

/* Only valid sessions take a slot; the table never grows; a key is the
 * whole id (a prefix or an extension of a cached id is another key); a
 * view in use stays readable after its slot was taken by another. */
START_TEST(view_cache_bounded_and_keyed)
{
    const char *o, *c, *u;
    const orgs_session_view_t *v, *held;
    int cached;
    apr_pool_t *held_pool;
    apr_time_t now = apr_time_now();
    orgs_store_t *st = cached_store(4, &o, &c, &u);
    for (int i = 0; i < 200; i++) {
        const char *sid = apr_psprintf(pool, "random-cookie-%d-xxxxxxxxxxxxxxxxxxxxxxxxxxx", i);
        ck_assert_int_eq(view(st, sid, now, 0, &v, &cached, req), APR_NOTFOUND);
    }
    ck_assert_uint_eq(orgs_store_view_cache_used(st), 0);
    put_session(st, SID, o, u, c, now);
    ck_assert_int_eq(apr_pool_create(&held_pool, req), APR_SUCCESS);
    ck_assert_int_eq(view(st, SID, now, 0, &held, &cached, held_pool), APR_SUCCESS);
    char shorter[sizeof(SID) - 1], longer[sizeof(SID) + 1];
    memcpy(shorter, SID, sizeof(shorter) - 1);
    shorter[sizeof(shorter) - 1] = '\0';
    memcpy(longer, SID, sizeof(SID) - 1);
    memcpy(longer + sizeof(SID) - 1, "x", 2);
    ck_assert_int_eq(view(st, shorter, now, 0, &v, &cached, req), APR_NOTFOUND);
    ck_assert_int_eq(view(st, longer, now, 0, &v, &cached, req), APR_NOTFOUND);
    /* many valid sessions (up to the per-member cap, then another user's) */
    for (int i = 0; i < 40; i++) {
        const char *sid = apr_psprintf(pool, "valid-%02d-yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", i);
        const char *who = u;
        if (i % 2) {
            who = mk_user(st, "okta", apr_psprintf(pool, "s-%d", i), NULL);
            ck_assert_int_eq(orgs_store_member_add(st, "org1", who, NULL, pool, &err), APR_SUCCESS);
        }
        put_session(st, sid, o, who, c, now);
        ck_assert_int_eq(view(st, sid, now, 0, &v, &cached, req), APR_SUCCESS);
        ck_assert_int_eq(view(st, sid, now, 0, &v, &cached, req), APR_SUCCESS);
        ck_assert_int_eq(cached, 1);
        ck_assert_uint_le(orgs_store_view_cache_used(st), 4);
    }
    /* the first view, its slot long taken, is still whole (ASan) */
    ck_assert_str_eq(held->org.name, "org1");
    ck_assert_str_eq(held->conn_name, "okta");
    apr_pool_destroy(held_pool);
    orgs_store_close(st);
}
END_TEST

typedef struct {
    orgs_store_t *st;
    apr_time_t now;
    int ok;
} reader_t;

static void *reader(void *arg)
{
    reader_t *r = arg;
    apr_pool_t *p;
    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    for (int i = 0; i < 400; i++) {
        const orgs_session_view_t *v;
        unsigned char h[32];
        orgs_err_t e;
        const char *sid = apr_psprintf(p, "thread-%d-zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", i % 8);
        if (orgs_store_session_view_sid(r->st, sid, strlen(sid), r->now, 0, h, &v, NULL, p, &e) ==
                APR_SUCCESS &&
            strcmp(v->org.name, "org1") == 0) {
            r->ok++;
        }
        if (i % 16 == 15) {
            apr_pool_clear(p);
        }
    }
    apr_pool_destroy(p);
    return NULL;
}

/* Threads of one process share the cache (slots fewer than sessions, so
 * entries are replaced while others read them). */
START_TEST(view_cache_threads)
{
    const char *o, *c, *u;
    pthread_t t[4];
    reader_t r[4];
    apr_time_t now = apr_time_now();
    orgs_store_t *st = cached_store(3, &o, &c, &u);
    orgs_store_close(st);
    ck_assert_int_eq(orgs_store_open(&st, dir, 0, 0, ORGS_STORE_THREADED, keys, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_view_cache_enable(st, 3, &err), APR_SUCCESS);
    for (int i = 0; i < 8; i++) {
        const char *who = mk_user(st, "okta", apr_psprintf(pool, "t-%d", i), NULL);
        ck_assert_int_eq(orgs_store_member_add(st, "org1", who, NULL, pool, &err), APR_SUCCESS);
        put_session(st, apr_psprintf(pool, "thread-%d-zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", i), o,
                    who, c, now);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = (reader_t){st, now, 0};
        ck_assert_int_eq(pthread_create(&t[i], NULL, reader, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_int_eq(r[i].ok, 400);
    }
    orgs_store_close(st);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, view_cache_exact);
    tcase_add_test(tc, view_cache_times);
    tcase_add_test(tc, view_cache_failed_delete_note);
    tcase_add_test(tc, view_cache_bounded_and_keyed);
    tcase_add_test(tc, view_cache_threads);
}

int main(void)
{
    return fixture_run("store_viewcache", add_tests);
}
