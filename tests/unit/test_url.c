/* Unit tests for src/core/url.c: return_to validation against the vector corpus,
 * percent-decoding, query parsing, encoding and URL building. */
#include <stdio.h>

#include "testutil.h"
#include "url.h"

TESTUTIL_POOL_FIXTURE

/* ---- vector files */

/* tests/vectors/NAME: from $top_srcdir (make check) or next to this source. */
static FILE *open_vectors(const char *name)
{
    const char *top = getenv("top_srcdir");
    if (top && *top) {
        FILE *f = fopen(apr_pstrcat(pool, top, "/tests/vectors/", name, NULL), "r");
        if (f) {
            return f;
        }
    }
    char *here = apr_pstrdup(pool, __FILE__);
    char *slash = strrchr(here, '/');
    const char *dir = slash ? (*slash = '\0', here) : ".";
    return fopen(apr_pstrcat(pool, dir, "/../vectors/", name, NULL), "r");
}

/* Runs every vector in the file through the check; returns the number of
 * vectors, failing the test on the first one that is not judged `want_ok`. */
static int run_vectors(const char *name, int want_ok)
{
    FILE *f = open_vectors(name);
    ck_assert_msg(f != NULL, "cannot open tests/vectors/%s", name);
    static char line[8192];
    int n = 0, lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        size_t len = strlen(line);
        ck_assert_msg(len > 0 && line[len - 1] == '\n', "%s:%d: line too long", name, lineno);
        line[--len] = '\0';
        if (len == 0 || line[0] == '#') {
            continue;
        }
        ck_assert_msg((line[0] == 'D' || line[0] == 'R') && (line[1] == '\0' || line[1] == ' '),
                      "%s:%d: bad vector line", name, lineno);
        const char *value = line[1] ? line + 2 : "";
        apr_status_t rv = APR_SUCCESS;
        if (line[0] == 'R') {
            char *decoded;
            rv = orgs_url_decode(value, 1, &decoded, pool, NULL);
            value = decoded;
        }
        orgs_err_t err = {{0}};
        if (rv == APR_SUCCESS) {
            rv = orgs_url_return_to_check(value, &err);
        }
        if (want_ok) {
            ck_assert_msg(rv == APR_SUCCESS, "%s:%d: rejected a good return_to: %s", name, lineno,
                          err.msg);
        } else {
            ck_assert_msg(rv == APR_EINVAL, "%s:%d: accepted an open redirect", name, lineno);
        }
        n++;
    }
    fclose(f);
    return n;
}

START_TEST(test_open_redirect_corpus)
{
    int n = run_vectors("open_redirect.txt", 0);
    ck_assert_int_ge(n, 40);
}
END_TEST

START_TEST(test_return_to_ok_corpus)
{
    int n = run_vectors("return_to_ok.txt", 1);
    ck_assert_int_ge(n, 20);
}
END_TEST

/* ---- return_to: direct cases */

START_TEST(test_return_to_null_and_reason)
{
    orgs_err_t err = {{0}};
    ck_assert_int_eq(orgs_url_return_to_check(NULL, &err), APR_EINVAL);
    ck_assert_str_eq(err.msg, "return_to is empty");
    ck_assert_int_eq(orgs_url_return_to_check("//evil.example", &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "'//'"));
    /* the reason never echoes the (attacker-controlled) input */
    ck_assert_ptr_null(strstr(err.msg, "evil"));
    ck_assert_int_eq(orgs_url_return_to_check("http://evil.example", &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "local path"));
    /* err may be NULL */
    ck_assert_int_eq(orgs_url_return_to_check("\\\\evil", NULL), APR_EINVAL);
}
END_TEST

START_TEST(test_return_to_length_limit)
{
    char *s = apr_palloc(pool, ORGS_URL_MAX + 2);
    memset(s, 'a', ORGS_URL_MAX + 1);
    s[0] = '/';
    s[ORGS_URL_MAX + 1] = '\0';
    ck_assert_int_eq(orgs_url_return_to_check(s, NULL), APR_EINVAL);
    s[ORGS_URL_MAX] = '\0';
    ck_assert_int_eq(orgs_url_return_to_check(s, NULL), APR_SUCCESS);
}
END_TEST

START_TEST(test_return_to_control_bytes)
{
    /* every control byte and DEL, placed after a valid start */
    for (int c = 1; c < 0x20; c++) {
        char s[8] = {'/', 'a', (char)c, '/', 'b', '\0'};
        ck_assert_msg(orgs_url_return_to_check(s, NULL) == APR_EINVAL, "byte 0x%02x", c);
        char enc[16];
        snprintf(enc, sizeof(enc), "/a%%%02x/b", c);
        ck_assert_msg(orgs_url_return_to_check(enc, NULL) == APR_EINVAL, "escape %s", enc);
    }
    ck_assert_int_eq(orgs_url_return_to_check("/a\x7f", NULL), APR_EINVAL);
    ck_assert_int_eq(orgs_url_return_to_check("/a\x80", NULL), APR_EINVAL);
    ck_assert_int_eq(orgs_url_return_to_check("/a\xff", NULL), APR_EINVAL);
}
END_TEST

START_TEST(test_return_to_dot_segments)
{
    ck_assert_int_eq(orgs_url_return_to_check("/.", NULL), APR_EINVAL);
    ck_assert_int_eq(orgs_url_return_to_check("/..", NULL), APR_EINVAL);
    ck_assert_int_eq(orgs_url_return_to_check("/a/./b", NULL), APR_EINVAL);
    ck_assert_int_eq(orgs_url_return_to_check("/a/%2E%2e/b", NULL), APR_EINVAL);
    ck_assert_int_eq(orgs_url_return_to_check("/a/..?x=1", NULL), APR_EINVAL);
    ck_assert_int_eq(orgs_url_return_to_check("/a/.#f", NULL), APR_EINVAL);
    /* dots that are not whole segments, or only in the query, are fine */
    ck_assert_int_eq(orgs_url_return_to_check("/a/.../b", NULL), APR_SUCCESS);
    ck_assert_int_eq(orgs_url_return_to_check("/a/b.c", NULL), APR_SUCCESS);
    ck_assert_int_eq(orgs_url_return_to_check("/a?x=/../..//y", NULL), APR_SUCCESS);
}
END_TEST

START_TEST(test_return_to_query_may_carry_escapes)
{
    ck_assert_int_eq(orgs_url_return_to_check("/a?n=%2F%2Fx%5C%25", NULL), APR_SUCCESS);
    ck_assert_int_eq(orgs_url_return_to_check("/a%2F?n=1", NULL), APR_EINVAL);
    ck_assert_int_eq(orgs_url_return_to_check("/a?n=%0A", NULL), APR_EINVAL);
    ck_assert_int_eq(orgs_url_return_to_check("/a#%0d", NULL), APR_EINVAL);
    ck_assert_int_eq(orgs_url_return_to_check("/a?n=\\", NULL), APR_EINVAL);
}
END_TEST

/* ---- decode */

START_TEST(test_decode_ok)
{
    char *out;
    ck_assert_int_eq(orgs_url_decode("a%20b+c%2Fd%2fe", 1, &out, pool, NULL), APR_SUCCESS);
    ck_assert_str_eq(out, "a b c/d/e");
    ck_assert_int_eq(orgs_url_decode("a+b%2B", 0, &out, pool, NULL), APR_SUCCESS);
    ck_assert_str_eq(out, "a+b+");
    ck_assert_int_eq(orgs_url_decode("%E2%9C%93", 0, &out, pool, NULL), APR_SUCCESS);
    ck_assert_str_eq(out, "\xe2\x9c\x93");
    ck_assert_int_eq(orgs_url_decode("", 1, &out, pool, NULL), APR_SUCCESS);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_decode_bad)
{
    char *out = NULL;
    ck_assert_int_eq(orgs_url_decode("%", 1, &out, pool, NULL), APR_EINVAL);
    ck_assert_int_eq(orgs_url_decode("a%2", 1, &out, pool, NULL), APR_EINVAL);
    ck_assert_int_eq(orgs_url_decode("a%zz", 1, &out, pool, NULL), APR_EINVAL);
    ck_assert_int_eq(orgs_url_decode("a%g1", 1, &out, pool, NULL), APR_EINVAL);
    ck_assert_int_eq(orgs_url_decode("a%00b", 1, &out, pool, NULL), APR_EINVAL);
    ck_assert_int_eq(orgs_url_decode("%%41", 0, &out, pool, NULL), APR_EINVAL);
    orgs_err_t err = {{0}};
    ck_assert_int_eq(orgs_url_decode("a%zz", 1, &out, pool, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "malformed"));
    ck_assert_int_eq(orgs_url_decode("a%00b", 1, &out, pool, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "%00"));
    ck_assert_ptr_null(out);
}
END_TEST

/* ---- query parse */

START_TEST(test_query_parse_ok)
{
    apr_table_t *t = NULL;
    ck_assert_int_eq(orgs_url_query_parse("organization=org1&return_to=%2Fapp%2F%3Fa%3D1&"
                                          "login_hint=a+b%40x.example&flag&&x=a=b",
                                          &t, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(apr_table_get(t, "organization"), "org1");
    ck_assert_str_eq(apr_table_get(t, "return_to"), "/app/?a=1");
    ck_assert_str_eq(apr_table_get(t, "login_hint"), "a b@x.example");
    ck_assert_str_eq(apr_table_get(t, "flag"), "");
    ck_assert_str_eq(apr_table_get(t, "x"), "a=b");
    ck_assert_int_eq(apr_table_elts(t)->nelts, 5);

    ck_assert_int_eq(orgs_url_query_parse(NULL, &t, pool), APR_SUCCESS);
    ck_assert_int_eq(apr_table_elts(t)->nelts, 0);
    ck_assert_int_eq(orgs_url_query_parse("", &t, pool), APR_SUCCESS);
    ck_assert_int_eq(apr_table_elts(t)->nelts, 0);
}
END_TEST

START_TEST(test_query_parse_first_wins)
{
    apr_table_t *t = NULL;
    ck_assert_int_eq(orgs_url_query_parse("state=good&state=evil&st%61te=evil2", &t, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(apr_table_get(t, "state"), "good");
    ck_assert_int_eq(apr_table_elts(t)->nelts, 1);
    /* an empty first value still wins */
    ck_assert_int_eq(orgs_url_query_parse("code=&code=x", &t, pool), APR_SUCCESS);
    ck_assert_str_eq(apr_table_get(t, "code"), "");
}
END_TEST

START_TEST(test_query_parse_bad)
{
    apr_table_t *t = NULL;
    ck_assert_int_eq(orgs_url_query_parse("a=%zz", &t, pool), APR_EINVAL);
    ck_assert_int_eq(orgs_url_query_parse("a%=1", &t, pool), APR_EINVAL);
    ck_assert_int_eq(orgs_url_query_parse("a=1&b=%00", &t, pool), APR_EINVAL);
    ck_assert_int_eq(orgs_url_query_parse("a=1&b=%4", &t, pool), APR_EINVAL);
    ck_assert_ptr_null(t);

    /* ORGS_URL_QUERY_MAX_PAIRS pairs pass, one more does not */
    char *q = "";
    for (int i = 0; i < ORGS_URL_QUERY_MAX_PAIRS; i++) {
        q = apr_psprintf(pool, "%s%sk%d=v", q, i ? "&" : "", i);
    }
    ck_assert_int_eq(orgs_url_query_parse(q, &t, pool), APR_SUCCESS);
    ck_assert_int_eq(apr_table_elts(t)->nelts, ORGS_URL_QUERY_MAX_PAIRS);
    ck_assert_int_eq(orgs_url_query_parse(apr_pstrcat(pool, q, "&one=more", NULL), &t, pool),
                     APR_EINVAL);
}
END_TEST

/* ---- encode / build */

START_TEST(test_encode)
{
    ck_assert_str_eq(orgs_url_encode("AZaz09-._~", pool), "AZaz09-._~");
    ck_assert_str_eq(orgs_url_encode("/a b?c=d&e#f+%", pool), "%2Fa%20b%3Fc%3Dd%26e%23f%2B%25");
    ck_assert_str_eq(orgs_url_encode("\xe2\x9c\x93<'\">", pool), "%E2%9C%93%3C%27%22%3E");
    ck_assert_str_eq(orgs_url_encode("", pool), "");
    ck_assert_str_eq(orgs_url_encode(NULL, pool), "");
}
END_TEST

START_TEST(test_append_params)
{
    ck_assert_str_eq(orgs_url_append_params("/orgs/login", pool, "organization", "org 1",
                                            "connection", NULL, "return_to", "/app/?a=1&b=2", NULL),
                     "/orgs/login?organization=org%201&return_to=%2Fapp%2F%3Fa%3D1%26b%3D2");
    ck_assert_str_eq(orgs_url_append_params("https://idp.example/auth?x=1", pool, "a", "", NULL),
                     "https://idp.example/auth?x=1&a=");
    ck_assert_str_eq(orgs_url_append_params("/e?", pool, "a", "1", "b", "2", NULL), "/e?a=1&b=2");
    ck_assert_str_eq(orgs_url_append_params("/e?x=1&", pool, "a", "1", NULL), "/e?x=1&a=1");
    ck_assert_str_eq(orgs_url_append_params("/e#frag", pool, "a", "1", NULL), "/e?a=1#frag");
    ck_assert_str_eq(orgs_url_append_params("/e?k=v#f?g", pool, "a", "1", NULL), "/e?k=v&a=1#f?g");
}
END_TEST

/* Found by fuzz_url: a base whose query ends with a literal '?' got no
 * separator, so the first pair merged into the last value ("x=?a=1"). */
START_TEST(test_append_params_question_mark_in_query)
{
    ck_assert_str_eq(orgs_url_append_params("/e?x=?", pool, "a", "1", NULL), "/e?x=?&a=1");
    ck_assert_str_eq(orgs_url_append_params("/e??", pool, "a", "1", NULL), "/e??&a=1");
    ck_assert_str_eq(orgs_url_append_params("/e?#f?", pool, "a", "1", NULL), "/e?a=1#f?");
    apr_table_t *t;
    char *url =
        orgs_url_append_params("https://idp.example/logout?x=?", pool, "id_token_hint", "h", NULL);
    ck_assert_int_eq(orgs_url_query_parse(strchr(url, '?') + 1, &t, pool), APR_SUCCESS);
    ck_assert_str_eq(apr_table_get(t, "x"), "?");
    ck_assert_str_eq(apr_table_get(t, "id_token_hint"), "h");
}
END_TEST

START_TEST(test_append_params_nothing_added)
{
    /* all values NULL: base unchanged, no stray '?' */
    ck_assert_str_eq(orgs_url_append_params("/e", pool, "a", NULL, "b", NULL, NULL), "/e");
    ck_assert_str_eq(orgs_url_append_params("/e", pool, NULL), "/e");
    ck_assert_str_eq(orgs_url_append_params(NULL, pool, "a", "1", NULL), "?a=1");
}
END_TEST

START_TEST(test_append_then_parse_roundtrip)
{
    const char *evil = "&organization=evil&x=%00+#";
    char *url = orgs_url_append_params("/l", pool, "organization", "org1", "return_to", evil, NULL);
    /* the injected '&' / '=' / '#' stay inside the value */
    ck_assert_ptr_null(strchr(url, '#'));
    apr_table_t *t;
    ck_assert_int_eq(orgs_url_query_parse(strchr(url, '?') + 1, &t, pool), APR_SUCCESS);
    ck_assert_str_eq(apr_table_get(t, "organization"), "org1");
    ck_assert_str_eq(apr_table_get(t, "return_to"), evil);
    ck_assert_int_eq(apr_table_elts(t)->nelts, 2);
}
END_TEST

/* ---- absolute URLs */

START_TEST(test_absolute_ok)
{
    static const char *const good[] = {
        "https://idp.example.com",
        "https://idp.example.com/",
        "HTTPS://IDP.EXAMPLE.COM/a?b=c",
        "http://example.com/token", /* http to any host without ORGS_URL_HTTPS */
        "https://login.example.com:8443/realms/acme",
        "http://127.0.0.1:65535/x",
        "https://[2001:db8::1]:443/",
        "https://h/a%20b?c=%2F&d",
    };
    orgs_err_t err = {{0}};
    for (apr_size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ck_assert_msg(orgs_url_absolute_check(good[i], 0, pool, &err) == APR_SUCCESS,
                      "rejected %s: %s", good[i], err.msg);
    }
    ck_assert_int_eq(orgs_url_absolute_check("http://localhost:9000/", ORGS_URL_HTTPS, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_url_absolute_check("http://[::1]/", ORGS_URL_HTTPS, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_url_absolute_check("https://h/p", ORGS_URL_NO_QUERY, pool, &err),
                     APR_SUCCESS);
}
END_TEST

START_TEST(test_absolute_rejects)
{
    static const char *const bad[] = {
        "",
        "/relative",
        "//host/path",
        "idp.example.com",
        "javascript:alert(1)",
        "ftp://idp.example.com/",
        "file:///etc/passwd",
        "https://",
        "https:///path",
        "https://:443/",
        "https://user@idp.example.com/",
        "https://user:pass@idp.example.com/",
        "http://evil.com@127.0.0.1/",
        "https://idp.example.com/#frag",
        "https://idp.example.com#",
        "https://idp.example.com:0/",
        "https://idp.example.com:65536/",
        "https://idp.example.com:123456/",
        "https://idp.example.com:/",
        "https://idp.example.com:8a/",
        "https://idp.exa mple.com/",
        "https://idp.example.com/\n",
        "https://idp.example.com/\x7f",
        "https://idp.example.com/caf\xc3\xa9",
        "https://idp_x.example.com/",
        "https://.example.com/",
        "https://-x.example.com/",
        "https://good.example\\@evil.example/",
        "https://[::1/",
        "https://[]/",
        "https://[::g]/",
    };
    for (apr_size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        orgs_err_t err = {{0}};
        ck_assert_msg(orgs_url_absolute_check(bad[i], 0, pool, &err) == APR_EINVAL, "accepted '%s'",
                      bad[i]);
        ck_assert_msg(strncmp(err.msg, "URL ", 4) == 0, "'%s' gave '%s'", bad[i], err.msg);
    }
    orgs_err_t err = {{0}};
    ck_assert_int_eq(orgs_url_absolute_check(NULL, 0, pool, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_url_absolute_check("http://example.com/", ORGS_URL_HTTPS, pool, &err),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "https"));
    ck_assert_int_eq(
        orgs_url_absolute_check("http://127.0.0.1.example.com/", ORGS_URL_HTTPS, pool, &err),
        APR_EINVAL);
    ck_assert_int_eq(orgs_url_absolute_check("https://h/p?q", ORGS_URL_NO_QUERY, pool, &err),
                     APR_EINVAL);
    ck_assert_int_eq(orgs_url_absolute_check("https://h/p?", ORGS_URL_NO_QUERY, pool, &err),
                     APR_EINVAL);
    char *longurl = apr_pstrdup(pool, "https://h/");
    while (strlen(longurl) <= ORGS_URL_MAX) {
        longurl = apr_pstrcat(pool, longurl, "aaaaaaaaaaaaaaaa", NULL);
    }
    ck_assert_int_eq(orgs_url_absolute_check(longurl, 0, pool, &err), APR_EINVAL);
}
END_TEST

static Suite *url_suite(void)
{
    Suite *s = suite_create("url");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_open_redirect_corpus);
    tcase_add_test(tc, test_return_to_ok_corpus);
    tcase_add_test(tc, test_return_to_null_and_reason);
    tcase_add_test(tc, test_return_to_length_limit);
    tcase_add_test(tc, test_return_to_control_bytes);
    tcase_add_test(tc, test_return_to_dot_segments);
    tcase_add_test(tc, test_return_to_query_may_carry_escapes);
    tcase_add_test(tc, test_decode_ok);
    tcase_add_test(tc, test_decode_bad);
    tcase_add_test(tc, test_query_parse_ok);
    tcase_add_test(tc, test_query_parse_first_wins);
    tcase_add_test(tc, test_query_parse_bad);
    tcase_add_test(tc, test_encode);
    tcase_add_test(tc, test_append_params);
    tcase_add_test(tc, test_append_params_question_mark_in_query);
    tcase_add_test(tc, test_append_params_nothing_added);
    tcase_add_test(tc, test_append_then_parse_roundtrip);
    tcase_add_test(tc, test_absolute_ok);
    tcase_add_test(tc, test_absolute_rejects);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(url_suite());
}
