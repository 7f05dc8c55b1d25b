/* Unit tests for src/core/backchan.c: single flight inside a process,
 * backoff, the per-connection cap, the log gate and the endpoint origin
 * rule. The store-shared parts are covered through oidc_provider.c in oidc/test_provider.c. */
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_thread_proc.h>

#include "testutil.h"
#include "backchan.h"

TESTUTIL_POOL_FIXTURE

#define ISS "https://idp.example.com"
#define T0 apr_time_from_sec(1700000000)

START_TEST(without_init_everything_passes)
{
    unsigned held = 99;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_backchan_log_gate(ISS, T0, apr_time_from_sec(30), &held), 1);
    ck_assert_int_eq(orgs_backchan_log_gate(ISS, T0, apr_time_from_sec(30), &held), 1);
    ck_assert_uint_eq(held, 0);
    ck_assert_int_eq(orgs_backchan_slot_take("con_1", 1, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_backchan_slot_take("con_1", 1, &err), APR_SUCCESS);
}
END_TEST

typedef struct racer_t {
    apr_status_t rv;
    int waited;
    apr_interval_time_t took;
} racer_t;

static void *APR_THREAD_FUNC race(apr_thread_t *th, void *data)
{
    racer_t *r = data;
    apr_pool_t *p = NULL;
    orgs_backchan_ticket_t *t = NULL;
    orgs_err_t err = {""};
    apr_pool_create(&p, NULL);
    apr_time_t start = apr_time_now();
    r->rv = orgs_backchan_begin(NULL, ISS, ORGS_BACKCHAN_DISCOVERY, T0, apr_time_from_sec(12),
                                &r->waited, &t, p, &err);
    r->took = apr_time_now() - start;
    if (r->rv == APR_SUCCESS) {
        orgs_backchan_end(NULL, t, APR_SUCCESS, NULL, T0, p);
    }
    apr_pool_destroy(p);
    apr_thread_exit(th, APR_SUCCESS);
    return NULL;
}

static racer_t run_racer(apr_interval_time_t end_after, orgs_backchan_ticket_t *t)
{
    racer_t r = {0, 0, 0};
    apr_thread_t *th = NULL;
    apr_status_t trv;
    ck_assert_int_eq(apr_thread_create(&th, NULL, race, &r, pool), APR_SUCCESS);
    if (end_after >= 0) {
        apr_sleep(end_after);
        orgs_backchan_end(NULL, t, APR_SUCCESS, NULL, T0, pool);
    }
    apr_thread_join(&trv, th);
    return r;
}

START_TEST(single_flight_in_process)
{
    orgs_err_t err = {""};
    orgs_backchan_ticket_t *t = NULL;
    int waited = 0;
    ck_assert_int_eq(orgs_backchan_init(pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_backchan_begin(NULL, ISS, ORGS_BACKCHAN_DISCOVERY, T0,
                                         apr_time_from_sec(12), &waited, &t, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(waited, 0);
    /* the other kind of document is a separate flight */
    orgs_backchan_ticket_t *tj = NULL;
    ck_assert_int_eq(orgs_backchan_begin(NULL, ISS, ORGS_BACKCHAN_JWKS, T0, apr_time_from_sec(12),
                                         &waited, &tj, pool, &err),
                     APR_SUCCESS);
    orgs_backchan_end(NULL, tj, APR_SUCCESS, NULL, T0, pool);
    /* a second thread waits at most ORGS_BACKCHAN_WAIT, then gives up */
    racer_t r = run_racer(-1, NULL);
    ck_assert_int_eq(r.rv, APR_EBUSY);
    ck_assert_int_eq(r.waited, 1);
    ck_assert_int_ge(r.took, ORGS_BACKCHAN_WAIT - apr_time_from_msec(50));
    ck_assert_int_lt(r.took, ORGS_BACKCHAN_WAIT + apr_time_from_sec(2));
    /* ... and is woken as soon as the fetch ends */
    r = run_racer(apr_time_from_msec(200), t);
    ck_assert_int_eq(r.rv, APR_EBUSY);
    ck_assert_int_eq(r.waited, 1);
    ck_assert_int_lt(r.took, ORGS_BACKCHAN_WAIT);
    /* once it ended, the next one may fetch */
    r = run_racer(-1, NULL);
    ck_assert_int_eq(r.rv, APR_SUCCESS);
}
END_TEST

START_TEST(backoff_in_process)
{
    orgs_err_t err = {""}, why = {"connection refused"};
    orgs_backchan_ticket_t *t = NULL;
    int waited = 0;
    ck_assert_int_eq(orgs_backchan_init(pool, &err), APR_SUCCESS);
    apr_time_t now = T0;
    for (unsigned n = 1; n <= 8; n++) {
        ck_assert_int_eq(orgs_backchan_begin(NULL, ISS, ORGS_BACKCHAN_DISCOVERY, now,
                                             apr_time_from_sec(12), &waited, &t, pool, &err),
                         APR_SUCCESS);
        orgs_backchan_end(NULL, t, ORGS_EHTTP, &why, now, pool);
        apr_interval_time_t b = orgs_backchan_backoff(n);
        ck_assert_int_le(b, ORGS_BACKCHAN_BACKOFF_MAX);
        /* both kinds of document back off: it is the issuer that fails */
        ck_assert_int_eq(orgs_backchan_begin(NULL, ISS, ORGS_BACKCHAN_JWKS, now + b - 1,
                                             apr_time_from_sec(12), &waited, &t, pool, &err),
                         APR_EAGAIN);
        ck_assert_ptr_nonnull(strstr(err.msg, "connection refused"));
        ck_assert_int_eq(waited, 0);
        now += b;
    }
    ck_assert_int_eq(orgs_backchan_backoff(1), ORGS_BACKCHAN_BACKOFF_MIN);
    ck_assert_int_eq(orgs_backchan_backoff(2), 2 * ORGS_BACKCHAN_BACKOFF_MIN);
    ck_assert_int_eq(orgs_backchan_backoff(1000), ORGS_BACKCHAN_BACKOFF_MAX);
    /* another issuer is not affected */
    ck_assert_int_eq(orgs_backchan_begin(NULL, "https://other.example", ORGS_BACKCHAN_DISCOVERY, T0,
                                         apr_time_from_sec(12), &waited, &t, pool, &err),
                     APR_SUCCESS);
    orgs_backchan_end(NULL, t, APR_SUCCESS, NULL, T0, pool);
    /* a success resets the issuer */
    ck_assert_int_eq(orgs_backchan_begin(NULL, ISS, ORGS_BACKCHAN_DISCOVERY, now,
                                         apr_time_from_sec(12), &waited, &t, pool, &err),
                     APR_SUCCESS);
    orgs_backchan_end(NULL, t, APR_SUCCESS, NULL, now, pool);
    ck_assert_int_eq(orgs_backchan_begin(NULL, ISS, ORGS_BACKCHAN_DISCOVERY, now,
                                         apr_time_from_sec(12), &waited, &t, pool, &err),
                     APR_SUCCESS);
    orgs_backchan_end(NULL, t, ORGS_EHTTP, &why, now, pool);
    ck_assert_int_eq(orgs_backchan_begin(NULL, ISS, ORGS_BACKCHAN_DISCOVERY,
                                         now + ORGS_BACKCHAN_BACKOFF_MIN, apr_time_from_sec(12),
                                         &waited, &t, pool, &err),
                     APR_SUCCESS);
    orgs_backchan_end(NULL, t, APR_SUCCESS, NULL, now, pool);
}
END_TEST

START_TEST(concurrency_cap)
{
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_backchan_init(pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_backchan_slot_take("con_a", 2, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_backchan_slot_take("con_a", 2, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_backchan_slot_take("con_a", 2, &err), APR_EAGAIN);
    ck_assert_ptr_nonnull(strstr(err.msg, "OrgsBackchannelMaxConcurrent"));
    /* another connection has its own slots */
    ck_assert_int_eq(orgs_backchan_slot_take("con_b", 2, &err), APR_SUCCESS);
    orgs_backchan_slot_give("con_a", 2);
    ck_assert_int_eq(orgs_backchan_slot_take("con_a", 2, &err), APR_SUCCESS);
    /* no cap */
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(orgs_backchan_slot_take("con_c", 0, &err), APR_SUCCESS);
    }
    /* a give without a take does not go below zero */
    orgs_backchan_slot_give("con_d", 1);
    orgs_backchan_slot_give("con_d", 1);
    ck_assert_int_eq(orgs_backchan_slot_take("con_d", 1, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_backchan_slot_take("con_d", 1, &err), APR_EAGAIN);
}
END_TEST

START_TEST(log_gate)
{
    orgs_err_t err = {""};
    unsigned held = 0;
    apr_interval_time_t iv = apr_time_from_sec(30);
    ck_assert_int_eq(orgs_backchan_init(pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_backchan_log_gate(ISS, T0, iv, &held), 1);
    ck_assert_uint_eq(held, 0);
    for (int i = 1; i <= 500; i++) {
        ck_assert_int_eq(orgs_backchan_log_gate(ISS, T0 + i * apr_time_from_msec(10), iv, &held),
                         0);
    }
    /* another issuer has its own gate */
    ck_assert_int_eq(orgs_backchan_log_gate("https://b.example", T0, iv, &held), 1);
    /* the next interval: one line with the count */
    ck_assert_int_eq(orgs_backchan_log_gate(ISS, T0 + iv, iv, &held), 1);
    ck_assert_uint_eq(held, 500);
    ck_assert_int_eq(orgs_backchan_log_gate(ISS, T0 + iv + 1, iv, &held), 0);
    ck_assert_int_eq(orgs_backchan_log_gate(ISS, T0 + 2 * iv, iv, &held), 1);
    ck_assert_uint_eq(held, 1);
}
END_TEST

/* The gate in memory several processes share: a line held back in one
 * process is held back in the others (a forked child here). */
START_TEST(log_gate_shared)
{
    orgs_err_t err = {""};
    unsigned held = 0;
    apr_interval_time_t iv = apr_time_from_sec(30);
    apr_size_t size = orgs_backchan_log_shared_size();
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(mem, MAP_FAILED);
    ck_assert_int_eq(orgs_backchan_log_shared_init(mem, size - 1), 0);
    ck_assert_int_eq(orgs_backchan_log_shared_init(mem, size), 1);
    ck_assert_int_eq(orgs_backchan_init(pool, &err), APR_SUCCESS);
    orgs_backchan_log_share(mem);

    ck_assert_int_eq(orgs_backchan_log_gate(ISS, T0, iv, &held), 1);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* another child of the server: its first line of the interval is
         * held back, another issuer's passes */
        unsigned h = 0;
        int a = orgs_backchan_log_gate(ISS, T0 + apr_time_from_sec(1), iv, &h);
        int b = orgs_backchan_log_gate("https://b.example", T0, iv, &h);
        _exit(a == 0 && b == 1 ? 0 : 1);
    }
    int status = -1;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the other process logged");
    ck_assert_int_eq(orgs_backchan_log_gate("https://b.example", T0, iv, &held), 0);
    /* the next interval: one line, counting the other process's too */
    ck_assert_int_eq(orgs_backchan_log_gate(ISS, T0 + iv, iv, &held), 1);
    ck_assert_uint_eq(held, 1);
    /* a start a moment after now (another process's) holds; a clock gone
     * back by an interval starts anew */
    ck_assert_int_eq(orgs_backchan_log_gate(ISS, T0 + iv - 5, iv, &held), 0);
    ck_assert_int_eq(orgs_backchan_log_gate(ISS, T0 - iv, iv, &held), 1);
    /* a region kept across a restart keeps its intervals */
    ck_assert_int_eq(orgs_backchan_log_shared_init(mem, size), 1);
    ck_assert_int_eq(orgs_backchan_log_gate(ISS, T0 - iv + 1, iv, &held), 0);
    /* a full table: issuers without a slot are gated per process */
    for (int i = 0; i < ORGS_BACKCHAN_LOG_SLOTS + 50; i++) {
        const char *is = apr_psprintf(pool, "https://idp%d.example", i);
        ck_assert_int_eq(orgs_backchan_log_gate(is, T0, iv, &held), 1);
        ck_assert_int_eq(orgs_backchan_log_gate(is, T0 + 1, iv, &held), 0);
    }
    orgs_backchan_log_share(NULL);
    munmap(mem, size);
}
END_TEST

START_TEST(endpoint_origin)
{
    orgs_err_t err = {""};
    const char *const allow[] = {"keys.example.net", NULL};
    static const char *const same[] = {
        "https://idp.example.com/token", "https://IDP.example.com:443/x?y=1",
        "https://idp.example.com/realms/a/protocol/openid-connect/certs", NULL};
    for (const char *const *u = same; *u; u++) {
        ck_assert_int_eq(orgs_backchan_endpoint_check("jwks_uri", *u, ISS, NULL, NULL, pool, &err),
                         APR_SUCCESS);
    }
    static const char *const other[] = {"http://idp.example.com/token",       /* scheme */
                                        "https://idp.example.com:8443/token", /* port */
                                        "https://evil.example.com/token",
                                        "https://idp.example.com.evil.net/",
                                        "https://169.254.169.254/latest/meta-data/",
                                        "https://keys.example.net.evil/",
                                        "not a url",
                                        NULL};
    for (const char *const *u = other; *u; u++) {
        ck_assert_msg(orgs_backchan_endpoint_check("jwks_uri", *u, ISS, allow, allow, pool, &err) ==
                          APR_EACCES,
                      "%s accepted", *u);
    }
    ck_assert_ptr_nonnull(strstr(err.msg, "jwks_uri"));
    ck_assert_int_eq(orgs_backchan_endpoint_check("token_endpoint", "https://KEYS.example.net/t",
                                                  ISS, NULL, allow, pool, &err),
                     APR_SUCCESS);
    /* the connection's own list admits its hosts, as the server's does */
    ck_assert_int_eq(orgs_backchan_endpoint_check("token_endpoint", "https://keys.example.net/t",
                                                  ISS, allow, NULL, pool, &err),
                     APR_SUCCESS);
    const char *const other_conn[] = {"keys.other.example", NULL};
    ck_assert_int_eq(orgs_backchan_endpoint_check("token_endpoint", "https://keys.example.net/t",
                                                  ISS, other_conn, NULL, pool, &err),
                     APR_EACCES);
    ck_assert_ptr_nonnull(strstr(err.msg, "allowed_endpoint_hosts"));
    ck_assert_int_eq(orgs_backchan_endpoint_check("jwks_uri", "http://127.0.0.1:8080/jwks",
                                                  "http://127.0.0.1:8080", NULL, NULL, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_backchan_endpoint_check("jwks_uri", "http://127.0.0.1:8081/jwks",
                                                  "http://127.0.0.1:8080", NULL, NULL, pool, &err),
                     APR_EACCES);
    ck_assert_str_eq(orgs_backchan_url_host("http://[::1]:80/x", pool), "::1");
    ck_assert_ptr_null(orgs_backchan_url_host("/relative", pool));
}
END_TEST

static Suite *backchan_suite(void)
{
    Suite *s = suite_create("backchan");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, without_init_everything_passes);
    tcase_add_test(tc, single_flight_in_process);
    tcase_add_test(tc, backoff_in_process);
    tcase_add_test(tc, concurrency_cap);
    tcase_add_test(tc, log_gate);
    tcase_add_test(tc, log_gate_shared);
    tcase_add_test(tc, endpoint_origin);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(backchan_suite());
}
