/* Unit tests for src/core/http.c against a loopback server in the test process. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <pthread.h>
#include <unistd.h>

#include <apr_time.h>

#include "testutil.h"
#include "testserver.h"
#include "http.h"
#include "url.h"

static apr_pool_t *pool;
static testserver_t srv;
static char req[TS_REQ_MAX + 1];

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    ck_assert_int_eq(ts_start(&srv), 0);
}

static void teardown(void)
{
    ts_stop(&srv);
    apr_pool_destroy(pool);
}

static const char *url(const char *path)
{
    return apr_pstrcat(pool, srv.base, path, NULL);
}

/* ---- positive ---------------------------------------------------------- */

START_TEST(get_ok)
{
    ts_json(&srv, "/doc", 200, "{\"a\":1}");
    orgs_http_resp_t *resp = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_http_get(url("/doc?x=1"), NULL, &resp, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(resp->status, 200);
    ck_assert_str_eq(resp->content_type, "application/json");
    ck_assert_str_eq(resp->body, "{\"a\":1}");
    ck_assert_uint_eq(resp->body_len, 7);
    ts_last(&srv, req, sizeof(req));
    ck_assert_ptr_nonnull(strstr(req, "GET /doc?x=1 HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strstr(req, "\r\nAccept: application/json\r\n"));
    ck_assert_ptr_nonnull(strstr(req, "\r\nUser-Agent: mod_auth_orgs\r\n"));
    ck_assert_int_eq(ts_hits(&srv, "/doc"), 1);
}
END_TEST

START_TEST(get_error_status_is_returned)
{
    ts_json(&srv, "/err", 503, "{}");
    orgs_http_resp_t *resp = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_http_get(url("/err"), NULL, &resp, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(resp->status, 503);
}
END_TEST

START_TEST(get_empty_body_no_ctype)
{
    ts_route_t r = {.path = "/empty", .status = 204};
    ts_route(&srv, &r);
    orgs_http_resp_t *resp = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_http_get(url("/empty"), NULL, &resp, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(resp->status, 204);
    ck_assert_ptr_null(resp->content_type);
    ck_assert_str_eq(resp->body, "");
    ck_assert_uint_eq(resp->body_len, 0);
}
END_TEST

START_TEST(post_basic_auth_encoded)
{
    ts_json(&srv, "/token", 200, "{}");
    orgs_http_resp_t *resp = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_http_post_form(url("/token"), "a=b&c=d", "client:id", "s&cr t/\xc3\xa9+",
                                         NULL, &resp, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(resp->status, 200);
    ts_last(&srv, req, sizeof(req));
    ck_assert_ptr_nonnull(strstr(req, "POST /token HTTP/1.1\r\n"));
    /* base64("client%3Aid:s%26cr+t%2F%C3%A9%2B") */
    ck_assert_ptr_nonnull(
        strstr(req, "\r\nAuthorization: Basic Y2xpZW50JTNBaWQ6cyUyNmNyK3QlMkYlQzMlQTklMkI=\r\n"));
    ck_assert_ptr_nonnull(strstr(req, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
    ck_assert_ptr_nonnull(strstr(req, "\r\nContent-Length: 7\r\n"));
    ck_assert_str_eq(strstr(req, "\r\n\r\n") + 4, "a=b&c=d");
}
END_TEST

START_TEST(post_without_auth_has_no_header)
{
    ts_json(&srv, "/token", 200, "{}");
    orgs_http_resp_t *resp = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_http_post_form(url("/token"), "x=1", NULL, NULL, NULL, &resp, pool, &err),
                     APR_SUCCESS);
    ts_last(&srv, req, sizeof(req));
    ck_assert_ptr_null(strcasestr(req, "\r\nAuthorization:"));
    ck_assert_str_eq(strstr(req, "\r\n\r\n") + 4, "x=1");
}
END_TEST

START_TEST(form_encode)
{
    ck_assert_str_eq(orgs_url_form_encode("aZ09-._~", pool), "aZ09-._~");
    ck_assert_str_eq(orgs_url_form_encode("a b&c=d/+%", pool), "a+b%26c%3Dd%2F%2B%25");
    ck_assert_str_eq(orgs_url_form_encode("\xc3\xa9\n", pool), "%C3%A9%0A");
    ck_assert_str_eq(orgs_url_form_encode(NULL, pool), "");
    const char *form = NULL;
    orgs_http_form_add(&form, "a b", "1&2", pool);
    orgs_http_form_add(&form, "skip", NULL, pool);
    orgs_http_form_add(&form, "c", "", pool);
    ck_assert_str_eq(form, "a+b=1%262&c=");
}
END_TEST

/* ---- negative ---------------------------------------------------------- */

START_TEST(redirect_not_followed)
{
    ts_route_t r = {.path = "/r", .status = 302, .headers = "Location: /target\r\n"};
    ts_route(&srv, &r);
    ts_json(&srv, "/target", 200, "{}");
    orgs_http_resp_t *resp = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_http_get(url("/r"), NULL, &resp, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(resp->status, 302);
    ck_assert_int_eq(ts_hits(&srv, "/target"), 0);
}
END_TEST

START_TEST(body_over_cap_with_length)
{
    char *big = apr_palloc(pool, 2001);
    memset(big, 'x', 2000);
    big[2000] = '\0';
    ts_json(&srv, "/big", 200, big);
    orgs_http_opts_t o = {.max_body = 1000};
    orgs_http_resp_t *resp = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_http_get(url("/big"), &o, &resp, pool, &err), ORGS_EHTTP);
    ck_assert_ptr_null(resp);
    ck_assert_ptr_nonnull(strstr(err.msg, "larger than 1000"));
}
END_TEST

START_TEST(body_over_default_cap_without_length)
{
    apr_size_t n = ORGS_HTTP_MAX_BODY_DEFAULT + 10;
    char *big = apr_palloc(pool, n + 1);
    memset(big, 'y', n);
    big[n] = '\0';
    ts_route_t r = {.path = "/big", .status = 200, .body = big, .no_length = 1};
    ts_route(&srv, &r);
    orgs_http_resp_t *resp = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_http_get(url("/big"), NULL, &resp, pool, &err), ORGS_EHTTP);
    ck_assert_ptr_null(resp);
    ck_assert_ptr_nonnull(strstr(err.msg, "larger than"));
}
END_TEST

START_TEST(body_at_cap_is_accepted)
{
    ts_route_t r = {.path = "/b", .status = 200, .body = "0123456789", .no_length = 1};
    ts_route(&srv, &r);
    orgs_http_opts_t o = {.max_body = 10};
    orgs_http_resp_t *resp = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_http_get(url("/b"), &o, &resp, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(resp->body, "0123456789");
}
END_TEST

START_TEST(timeout)
{
    ts_route_t r = {.path = "/hang", .hang = 1};
    ts_route(&srv, &r);
    orgs_http_opts_t o = {.timeout = apr_time_from_msec(300)};
    orgs_http_resp_t *resp = NULL;
    orgs_err_t err = {""};
    apr_time_t t0 = apr_time_now();
    ck_assert_int_eq(orgs_http_get(url("/hang"), &o, &resp, pool, &err), ORGS_EHTTP);
    ck_assert_int_lt(apr_time_now() - t0, apr_time_from_sec(3));
    ck_assert_ptr_nonnull(strstr(err.msg, "timeout"));
    ck_assert_ptr_null(resp);
}
END_TEST

START_TEST(connection_refused)
{
    /* a port nobody listens on: bind one, note it, close it */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    const char *u = apr_psprintf(pool, "http://127.0.0.1:%d/token", ntohs(a.sin_port));
    orgs_http_resp_t *resp = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_http_post_form(u, "client_secret=TOPSECRET", "id", "TOPSECRET", NULL,
                                         &resp, pool, &err),
                     ORGS_EHTTP);
    ck_assert_ptr_null(strstr(err.msg, "TOPSECRET"));
    ck_assert_ptr_null(resp);
}
END_TEST

START_TEST(scheme_refused)
{
    static const char *const bad[] = {"file:///etc/passwd",
                                      "ftp://127.0.0.1/x",
                                      "gopher://127.0.0.1/",
                                      "dict://127.0.0.1:11211/",
                                      "/relative",
                                      "",
                                      "http://127.0.0.1/a b",
                                      "http://127.0.0.1/\r\nX-Evil: 1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        orgs_http_resp_t *resp = NULL;
        orgs_err_t err = {""};
        ck_assert_int_eq(orgs_http_get(bad[i], NULL, &resp, pool, &err), APR_EINVAL);
        ck_assert_ptr_null(resp);
    }
    orgs_err_t err = {""};
    orgs_http_resp_t *resp = NULL;
    ck_assert_int_eq(orgs_http_get(NULL, NULL, &resp, pool, &err), APR_EINVAL);
}
END_TEST

START_TEST(tls_to_plain_server_fails)
{
    ts_json(&srv, "/doc", 200, "{}");
    const char *u = apr_psprintf(pool, "https://127.0.0.1:%d/doc", srv.port);
    orgs_http_opts_t o = {.timeout = apr_time_from_sec(3)};
    orgs_http_resp_t *resp = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_http_get(u, &o, &resp, pool, &err), ORGS_EHTTP);
    ck_assert_ptr_null(resp);
}
END_TEST

START_TEST(missing_ca_file_fails)
{
    ts_json(&srv, "/doc", 200, "{}");
    const char *u = apr_psprintf(pool, "https://127.0.0.1:%d/doc", srv.port);
    orgs_http_opts_t o = {.ca_file = "/nonexistent/ca.pem", .timeout = apr_time_from_sec(3)};
    orgs_http_resp_t *resp = NULL;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_http_get(u, &o, &resp, pool, &err), ORGS_EHTTP);
    ck_assert_ptr_null(resp);
}
END_TEST

/* ---- the thread's kept handle ------------------------------------------ */

/* A keep-alive server: one connection at a time, each served until the
 * client closes it; counts the connections it accepted. */
typedef struct {
    int fd, port, accepted, stop;
    pthread_t thread;
} ka_server_t;

static void *ka_run(void *arg)
{
    ka_server_t *k = arg;
    static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 "Content-Length: 2\r\n\r\n{}";
    while (!k->stop) {
        int c = accept(k->fd, NULL, NULL);
        if (c < 0) {
            break;
        }
        __atomic_add_fetch(&k->accepted, 1, __ATOMIC_SEQ_CST);
        char buf[8192];
        size_t have = 0;
        ssize_t n;
        while ((n = read(c, buf + have, sizeof(buf) - 1 - have)) > 0) {
            have += (size_t)n;
            buf[have] = '\0';
            char *end;
            while ((end = strstr(buf, "\r\n\r\n")) != NULL) { /* GETs: no body */
                size_t used = (size_t)(end + 4 - buf);
                if (write(c, answer, sizeof(answer) - 1) < 0) {
                    break;
                }
                memmove(buf, buf + used, have - used + 1);
                have -= used;
            }
        }
        close(c);
    }
    return NULL;
}

static void ka_start(ka_server_t *k)
{
    struct sockaddr_in a = {0};
    socklen_t al = sizeof(a);
    memset(k, 0, sizeof(*k));
    k->fd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(k->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(k->fd, 8), 0);
    ck_assert_int_eq(getsockname(k->fd, (struct sockaddr *)&a, &al), 0);
    k->port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&k->thread, NULL, ka_run, k), 0);
}

static void ka_stop(ka_server_t *k)
{
    orgs_http_thread_release(); /* the kept connection, or the server waits on it */
    k->stop = 1;
    shutdown(k->fd, SHUT_RDWR);
    pthread_join(k->thread, NULL);
    close(k->fd);
}

static int ka_get(ka_server_t *k, const orgs_http_opts_t *o)
{
    orgs_http_resp_t *resp = NULL;
    orgs_err_t err = {""};
    const char *u = apr_psprintf(pool, "http://127.0.0.1:%d/jwks", k->port);
    ck_assert_int_eq(orgs_http_get(u, o, &resp, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(resp->status, 200);
    return __atomic_load_n(&k->accepted, __ATOMIC_SEQ_CST);
}

START_TEST(kept_connection_reused_under_the_same_policy_only)
{
    ka_server_t k;
    static const char *const lo[] = {"127.0.0.1", NULL};
    static const char *const other[] = {"127.0.0.0/8", NULL};
    orgs_http_opts_t a = {0}, b = {0}, c = {0};
    a.limit_key = "con_a";
    b.limit_key = "con_b";
    c.limit_key = "con_b";
    a.refuse_internal = b.refuse_internal = c.refuse_internal = 1;
    a.allow_internal = b.allow_internal = lo;
    c.allow_internal = other;
    ka_start(&k);
    ck_assert_int_eq(ka_get(&k, &a), 1);
    ck_assert_int_eq(ka_get(&k, &a), 1); /* the same connection */
    ck_assert_int_eq(ka_get(&k, &a), 1);
    ck_assert_int_eq(ka_get(&k, &b), 2); /* another connection's bucket: a new one */
    ck_assert_int_eq(ka_get(&k, &b), 2);
    ck_assert_int_eq(ka_get(&k, &c), 3); /* another back-channel policy: a new one */
    ck_assert_int_eq(ka_get(&k, &a), 4); /* back to the first: it was closed */
    ka_stop(&k);
}
END_TEST

START_TEST(kept_connection_not_used_past_a_refusal)
{
    /* a policy that refuses loopback never gets a connection another one opened */
    ka_server_t k;
    static const char *const lo[] = {"127.0.0.1", NULL};
    orgs_http_opts_t open = {0}, strict = {0};
    orgs_http_resp_t *resp = NULL;
    orgs_err_t err = {""};
    open.limit_key = strict.limit_key = "con_a";
    open.refuse_internal = strict.refuse_internal = 1;
    open.allow_internal = lo;
    ka_start(&k);
    ck_assert_int_eq(ka_get(&k, &open), 1);
    const char *u = apr_psprintf(pool, "http://127.0.0.1:%d/jwks", k.port);
    ck_assert_int_eq(orgs_http_get(u, &strict, &resp, pool, &err), APR_EACCES);
    ck_assert_int_eq(__atomic_load_n(&k.accepted, __ATOMIC_SEQ_CST), 1);
    ka_stop(&k);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("http");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, get_ok);
    tcase_add_test(tc, get_error_status_is_returned);
    tcase_add_test(tc, get_empty_body_no_ctype);
    tcase_add_test(tc, post_basic_auth_encoded);
    tcase_add_test(tc, post_without_auth_has_no_header);
    tcase_add_test(tc, form_encode);
    tcase_add_test(tc, redirect_not_followed);
    tcase_add_test(tc, body_over_cap_with_length);
    tcase_add_test(tc, body_over_default_cap_without_length);
    tcase_add_test(tc, body_at_cap_is_accepted);
    tcase_add_test(tc, timeout);
    tcase_add_test(tc, connection_refused);
    tcase_add_test(tc, scheme_refused);
    tcase_add_test(tc, tls_to_plain_server_fails);
    tcase_add_test(tc, missing_ca_file_fails);
    tcase_add_test(tc, kept_connection_reused_under_the_same_policy_only);
    tcase_add_test(tc, kept_connection_not_used_past_a_refusal);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (orgs_http_global_init(NULL) != APR_SUCCESS) {
        return EXIT_FAILURE;
    }
    int rc = testutil_run(http_suite());
    orgs_http_global_cleanup();
    return rc;
}
