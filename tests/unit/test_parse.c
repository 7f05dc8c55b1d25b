/* Unit tests for src/core/parse.c and for the name, role, display name,
 * metadata and issuer rules of src/core/checks.c: table-driven accept /
 * reject vectors, with the normalised output where there is one. */
#include "testutil.h"
#include "checks.h"
#include "parse.h"

#include <apr_time.h>

static apr_pool_t *pool;
static orgs_err_t err;

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    memset(&err, 0, sizeof(err));
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* ---- sizes */

START_TEST(size_ok)
{
    static const struct {
        const char *in;
        apr_uint64_t out;
    } v[] = {
        {"1G", 1ull << 30},
        {"1g", 1ull << 30},
        {"512M", 512ull << 20},
        {"10k", 10240},
        {"10K", 10240},
        {"65536", 65536},
        {"2T", 2ull << 40},
        {"1", 1},
        {"16777215T", 16777215ull << 40},
        {"18446744073709551615", APR_UINT64_MAX},
    };
    for (apr_size_t i = 0; i < N(v); i++) {
        apr_uint64_t out = 0;
        ck_assert_msg(orgs_parse_size(v[i].in, 0, &out, &err) == APR_SUCCESS, "rejected %s: %s",
                      v[i].in, err.msg);
        ck_assert_msg(out == v[i].out, "%s parsed wrong", v[i].in);
    }
}
END_TEST

START_TEST(size_rejects)
{
    static const char *const bad[] = {
        "0",
        "0G",
        "-1",
        "-1G",
        "1X",
        "99999999999T",
        "16777216T",
        "",
        "G",
        " 1G",
        "1G ",
        "1GB",
        "1.5G",
        "+1",
        "0x10",
        "1 G",
        "k10",
        "1Gk",
        "18446744073709551616",
    };
    for (apr_size_t i = 0; i < N(bad); i++) {
        apr_uint64_t out = 42;
        err.msg[0] = '\0';
        ck_assert_msg(orgs_parse_size(bad[i], 0, &out, &err) == APR_EINVAL, "accepted '%s'",
                      bad[i]);
        ck_assert_msg(out == 42, "'%s' wrote the output", bad[i]);
        ck_assert_msg(err.msg[0] != '\0', "'%s' gave no reason", bad[i]);
    }
    ck_assert_int_eq(orgs_parse_size(NULL, 0, &(apr_uint64_t){0}, &err), APR_EINVAL);
}
END_TEST

START_TEST(size_min)
{
    apr_uint64_t out = 0;
    ck_assert_int_eq(orgs_parse_size("1M", 1 << 20, &out, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_parse_size("1023k", 1 << 20, &out, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "at least"));
}
END_TEST

/* ---- durations */

START_TEST(duration_ok)
{
    static const struct {
        const char *in;
        apr_int64_t secs;
    } v[] = {
        {"30s", 30}, {"15m", 900}, {"8h", 28800}, {"7d", 604800}, {"3600", 3600}, {"1", 1},
    };
    for (apr_size_t i = 0; i < N(v); i++) {
        apr_interval_time_t out = 0;
        ck_assert_msg(orgs_parse_duration(v[i].in, &out, &err) == APR_SUCCESS, "rejected %s",
                      v[i].in);
        ck_assert_msg(out == apr_time_from_sec(v[i].secs), "%s parsed wrong", v[i].in);
    }
}
END_TEST

START_TEST(duration_rejects)
{
    static const char *const bad[] = {
        "0",
        "0s",
        "-1",
        "-5m",
        "",
        "s",
        "1x",
        "1w",
        "1.5h",
        " 1h",
        "1h ",
        "1hs",
        "1D",
        "1H",
        "99999999999999d",
        "18446744073709551616",
        "+3",
    };
    for (apr_size_t i = 0; i < N(bad); i++) {
        apr_interval_time_t out = 42;
        ck_assert_msg(orgs_parse_duration(bad[i], &out, &err) == APR_EINVAL, "accepted '%s'",
                      bad[i]);
        ck_assert_msg(out == 42, "'%s' wrote the output", bad[i]);
    }
    ck_assert_int_eq(orgs_parse_duration(NULL, &(apr_interval_time_t){0}, &err), APR_EINVAL);
}
END_TEST

/* ---- slugs */

START_TEST(slug_ok)
{
    static const char *const good[] = {"org1",      "a",       "1",     "acme-corp",
                                       "acme_corp", "a-b_c-d", "okta2", "organization",
                                       "orgs_x",    "con-1"};
    for (apr_size_t i = 0; i < N(good); i++) {
        ck_assert_msg(orgs_check_slug(good[i], &err) == APR_SUCCESS, "rejected %s: %s", good[i],
                      err.msg);
    }
    ck_assert_int_eq(orgs_check_slug(testutil_repeat(pool, 'a', ORGS_NAME_MAX), &err), APR_SUCCESS);
}
END_TEST

START_TEST(slug_rejects)
{
    static const char *const bad[] = {
        "Org1", "",     "org_abc", "con_abc", "usr_abc", "a b", "-x",          "x-",   "_x",
        "x_",   "a--b", "a_-b",    "a.b",     "a/b",     "ORG", "caf\xc3\xa9", "a\nb", "inv_x",
    };
    for (apr_size_t i = 0; i < N(bad); i++) {
        err.msg[0] = '\0';
        ck_assert_msg(orgs_check_slug(bad[i], &err) == APR_EINVAL, "accepted '%s'", bad[i]);
        ck_assert_msg(err.msg[0] != '\0', "'%s' gave no reason", bad[i]);
    }
    ck_assert_int_eq(orgs_check_slug(testutil_repeat(pool, 'a', ORGS_NAME_MAX + 1), &err),
                     APR_EINVAL);
    ck_assert_int_eq(orgs_check_slug(NULL, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "empty"));
    ck_assert_int_eq(orgs_check_slug("org_abc", &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "org_"));
}
END_TEST

/* ---- domains */

START_TEST(domain_ok)
{
    static const struct {
        const char *in, *out;
    } v[] = {
        {"Example.COM", "example.com"},
        {"example.com", "example.com"},
        {"xn--bcher-kva.example", "xn--bcher-kva.example"},
        {"a.b.c.d.e", "a.b.c.d.e"},
        {"my-corp.co.uk", "my-corp.co.uk"},
        {"1.2", "1.2"},
    };
    for (apr_size_t i = 0; i < N(v); i++) {
        char *out = NULL;
        ck_assert_msg(orgs_parse_domain(v[i].in, &out, pool, &err) == APR_SUCCESS,
                      "rejected %s: %s", v[i].in, err.msg);
        ck_assert_str_eq(out, v[i].out);
    }
}
END_TEST

START_TEST(domain_lengths)
{
    char *out = NULL;
    char *l63 = testutil_repeat(pool, 'a', 63);
    char *l64 = testutil_repeat(pool, 'a', 64);
    /* 4 labels of 63 + 3 dots = 255; trim to 253 / 254 */
    char *d253 =
        apr_pstrcat(pool, l63, ".", l63, ".", l63, ".", testutil_repeat(pool, 'b', 61), NULL);
    char *d254 =
        apr_pstrcat(pool, l63, ".", l63, ".", l63, ".", testutil_repeat(pool, 'b', 62), NULL);

    ck_assert_uint_eq(strlen(d253), 253);
    ck_assert_uint_eq(strlen(d254), 254);
    ck_assert_int_eq(orgs_parse_domain(apr_pstrcat(pool, l63, ".com", NULL), &out, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_parse_domain(d253, &out, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_parse_domain(d254, &out, pool, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_parse_domain(apr_pstrcat(pool, l64, ".com", NULL), &out, pool, &err),
                     APR_EINVAL);
    ck_assert_int_eq(orgs_parse_domain(testutil_repeat(pool, 'x', 5000), &out, pool, &err),
                     APR_EINVAL);
}
END_TEST

START_TEST(domain_rejects)
{
    static const char *const bad[] = {
        "ex..com",      "-a.com", "a-.com",       "a.-com",
        "a.com-",       "a",      "\xc3\xa9.com", "example.com.",
        ".example.com", "",       "exa mple.com", "exa_mple.com",
        "a@b.com",      "a.com/", "a.com:80",     "*.example.com",
        "a.com\n",      ".",
    };
    for (apr_size_t i = 0; i < N(bad); i++) {
        char *out = NULL;
        err.msg[0] = '\0';
        ck_assert_msg(orgs_parse_domain(bad[i], &out, pool, &err) == APR_EINVAL, "accepted '%s'",
                      bad[i]);
        ck_assert_ptr_null(out);
        ck_assert_msg(err.msg[0] != '\0', "'%s' gave no reason", bad[i]);
    }
    ck_assert_int_eq(orgs_parse_domain(NULL, &(char *){NULL}, pool, &err), APR_EINVAL);
}
END_TEST

/* ---- emails */

START_TEST(email_ok)
{
    static const struct {
        const char *in, *out, *domain;
    } v[] = {
        {"alice@Example.COM", "alice@example.com", "example.com"},
        {"Bob.Smith+tag@corp.example", "Bob.Smith+tag@corp.example", "corp.example"},
        {"x@xn--bcher-kva.example", "x@xn--bcher-kva.example", "xn--bcher-kva.example"},
    };
    for (apr_size_t i = 0; i < N(v); i++) {
        char *out = NULL;
        const char *dom = NULL;
        ck_assert_msg(orgs_parse_email(v[i].in, &out, &dom, pool, &err) == APR_SUCCESS,
                      "rejected %s: %s", v[i].in, err.msg);
        ck_assert_str_eq(out, v[i].out);
        ck_assert_str_eq(dom, v[i].domain);
        ck_assert_ptr_eq(dom, strchr(out, '@') + 1);
    }
}
END_TEST

START_TEST(email_rejects)
{
    static const char *const bad[] = {
        "",
        "alice",
        "@example.com",
        "alice@",
        "alice@example",
        "al ice@example.com",
        "alice@@example.com",
        "a@b@example.com",
        "alice@ex..com",
        "al\x01ice@example.com",
        "\xc3\xa9@example.com",
        "alice@example.com.",
        "alice@-example.com",
    };
    for (apr_size_t i = 0; i < N(bad); i++) {
        char *out = NULL;
        const char *dom = NULL;
        ck_assert_msg(orgs_parse_email(bad[i], &out, &dom, pool, &err) == APR_EINVAL,
                      "accepted '%s'", bad[i]);
        ck_assert_ptr_null(out);
    }
    {
        char *out = NULL;
        const char *dom = NULL;
        char *longlocal = apr_pstrcat(pool, testutil_repeat(pool, 'a', 65), "@example.com", NULL);
        /* 64 + 1 + 190 = 255: every part valid, the whole too long */
        char *toolong = apr_pstrcat(
            pool, testutil_repeat(pool, 'a', 64), "@", testutil_repeat(pool, 'b', 63), ".",
            testutil_repeat(pool, 'c', 63), ".", testutil_repeat(pool, 'd', 62), NULL);
        char *justfits = apr_pstrcat(
            pool, testutil_repeat(pool, 'a', 63), "@", testutil_repeat(pool, 'b', 63), ".",
            testutil_repeat(pool, 'c', 63), ".", testutil_repeat(pool, 'd', 62), NULL);
        ck_assert_int_eq(orgs_parse_email(longlocal, &out, &dom, pool, &err), APR_EINVAL);
        ck_assert_uint_gt(strlen(toolong), ORGS_EMAIL_MAX);
        ck_assert_int_eq(orgs_parse_email(toolong, &out, &dom, pool, &err), APR_EINVAL);
        ck_assert_int_eq(orgs_parse_email(justfits, &out, &dom, pool, &err), APR_SUCCESS);
        out = NULL;
        ck_assert_int_eq(orgs_parse_email(NULL, &out, &dom, pool, &err), APR_EINVAL);
    }
}
END_TEST

/* ---- metadata */

START_TEST(meta_pair_ok)
{
    static const struct {
        const char *in, *key, *value;
    } v[] = {
        {"license=premium", "license", "premium"},
        {"Tier_2=gold", "Tier_2", "gold"},
        {"note=", "note", ""},
        {"expr=a=b", "expr", "a=b"},
        {"city=Z\xc3\xbcrich", "city", "Z\xc3\xbcrich"},
        {"sp=with space", "sp", "with space"},
    };
    for (apr_size_t i = 0; i < N(v); i++) {
        char *k = NULL, *val = NULL;
        ck_assert_msg(orgs_parse_meta_pair(v[i].in, &k, &val, pool, &err) == APR_SUCCESS,
                      "rejected %s: %s", v[i].in, err.msg);
        ck_assert_str_eq(k, v[i].key);
        ck_assert_str_eq(val, v[i].value);
    }
    ck_assert_int_eq(orgs_check_meta_key(testutil_repeat(pool, 'k', ORGS_META_KEY_MAX), &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_check_meta_value(testutil_repeat(pool, 'v', ORGS_META_VALUE_MAX), &err),
                     APR_SUCCESS);
}
END_TEST

START_TEST(meta_pair_rejects)
{
    static const char *const bad[] = {
        "license", "=premium", "1abc=x",     "_a=x",           "a-b=x",      "a.b=x",
        "a b=x",   "k=a\tb",   "k=a\nb",     "k=\x7f",         "k=\xc2\x85", "k=\xff",
        "k=\xc3",  "",         "\xc3\xa9=x", "k=\xed\xa0\x80",
    };
    for (apr_size_t i = 0; i < N(bad); i++) {
        char *k = NULL, *val = NULL;
        err.msg[0] = '\0';
        ck_assert_msg(orgs_parse_meta_pair(bad[i], &k, &val, pool, &err) == APR_EINVAL,
                      "accepted '%s'", bad[i]);
        ck_assert_ptr_null(k);
        ck_assert_ptr_null(val);
        ck_assert_msg(err.msg[0] != '\0', "'%s' gave no reason", bad[i]);
    }
    {
        char *k = NULL, *val = NULL;
        char *longkey =
            apr_pstrcat(pool, testutil_repeat(pool, 'k', ORGS_META_KEY_MAX + 1), "=v", NULL);
        char *longval =
            apr_pstrcat(pool, "k=", testutil_repeat(pool, 'v', ORGS_META_VALUE_MAX + 1), NULL);
        ck_assert_int_eq(orgs_parse_meta_pair(longkey, &k, &val, pool, &err), APR_EINVAL);
        ck_assert_int_eq(orgs_parse_meta_pair(longval, &k, &val, pool, &err), APR_EINVAL);
        ck_assert_int_eq(orgs_parse_meta_pair(NULL, &k, &val, pool, &err), APR_EINVAL);
    }
    ck_assert_int_eq(orgs_check_meta_key(NULL, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_check_meta_key("", &err), APR_EINVAL);
    ck_assert_int_eq(orgs_check_meta_value(NULL, &err), APR_EINVAL);
}
END_TEST

/* ---- roles */

START_TEST(role_ok)
{
    static const char *const good[] = {"admin", "Billing", "org:admin", "read.write", "a-b_c", "1"};
    for (apr_size_t i = 0; i < N(good); i++) {
        ck_assert_msg(orgs_check_role(good[i], &err) == APR_SUCCESS, "rejected %s", good[i]);
    }
    ck_assert_int_eq(orgs_check_role(testutil_repeat(pool, 'r', ORGS_ROLE_MAX), &err), APR_SUCCESS);
}
END_TEST

START_TEST(role_rejects)
{
    static const char *const bad[] = {"", "a b", "a,b", "a/b", "r\xc3\xb4le", "a\n", "a=b", "a*"};
    for (apr_size_t i = 0; i < N(bad); i++) {
        ck_assert_msg(orgs_check_role(bad[i], &err) == APR_EINVAL, "accepted '%s'", bad[i]);
    }
    ck_assert_int_eq(orgs_check_role(testutil_repeat(pool, 'r', ORGS_ROLE_MAX + 1), &err),
                     APR_EINVAL);
    ck_assert_int_eq(orgs_check_role(NULL, &err), APR_EINVAL);
}
END_TEST

/* ---- display names */

START_TEST(display_name_ok)
{
    static const char *const good[] = {"Org One", "Z\xc3\xbcrich AG", "\xe6\x97\xa5\xe6\x9c\xac",
                                       "\xf0\x9f\x9a\x80 Rocket", "A & B <c>"};
    for (apr_size_t i = 0; i < N(good); i++) {
        ck_assert_msg(orgs_check_display_name(good[i], &err) == APR_SUCCESS, "rejected %s",
                      good[i]);
    }
    ck_assert_int_eq(
        orgs_check_display_name(testutil_repeat(pool, 'd', ORGS_DISPLAY_NAME_MAX), &err),
        APR_SUCCESS);
}
END_TEST

START_TEST(display_name_rejects)
{
    static const char *const bad[] = {
        "",                 /* empty */
        "\xff",             /* invalid byte */
        "abc\xc3",          /* truncated sequence */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong */
        "\xed\xa0\x80",     /* surrogate */
        "\xf4\x90\x80\x80", /* > U+10FFFF */
        "\x80",             /* lone continuation */
        "a\tb",             /* C0 control */
        "a\x7f",            /* DEL */
        "a\xc2\x9b",        /* C1 control */
        "line\nbreak",
    };
    for (apr_size_t i = 0; i < N(bad); i++) {
        ck_assert_msg(orgs_check_display_name(bad[i], &err) == APR_EINVAL, "accepted #%d", (int)i);
    }
    ck_assert_int_eq(
        orgs_check_display_name(testutil_repeat(pool, 'd', ORGS_DISPLAY_NAME_MAX + 1), &err),
        APR_EINVAL);
    ck_assert_int_eq(orgs_check_display_name(NULL, &err), APR_EINVAL);
}
END_TEST

/* ---- key sources */

START_TEST(key_source_ok)
{
    char kind = 0;
    const char *ref = NULL;

    ck_assert_int_eq(orgs_parse_key_source("file:/etc/orgs/key", &kind, &ref, &err), APR_SUCCESS);
    ck_assert_int_eq(kind, 'f');
    ck_assert_str_eq(ref, "/etc/orgs/key");
    ck_assert_int_eq(orgs_parse_key_source("env:ORGS_KEY", &kind, &ref, &err), APR_SUCCESS);
    ck_assert_int_eq(kind, 'e');
    ck_assert_str_eq(ref, "ORGS_KEY");
    ck_assert_int_eq(orgs_parse_key_source("env:_k1", &kind, &ref, &err), APR_SUCCESS);
    ck_assert_str_eq(ref, "_k1");
}
END_TEST

START_TEST(key_source_rejects)
{
    static const char *const bad[] = {
        "/etc/orgs/key", "file:",   "file:relative/key", "env:", "env:1ABC", "env:A-B",
        "ENV:ORGS_KEY",  "FILE:/k", "secret:abc",        "",     NULL,       "file:/a\nb",
        "env:A B",
    };
    for (apr_size_t i = 0; i < N(bad); i++) {
        char kind = 0;
        const char *ref = NULL;
        ck_assert_msg(orgs_parse_key_source(bad[i], &kind, &ref, &err) == APR_EINVAL,
                      "accepted #%d", (int)i);
        ck_assert_int_eq(kind, 0);
        ck_assert_ptr_null(ref);
    }
}
END_TEST

/* ---- issuer URLs */

START_TEST(issuer_ok)
{
    static const char *const good[] = {
        "https://idp.example.com",
        "https://idp.example.com/",
        "https://dev-123.okta.com/oauth2/default",
        "https://login.example.com:8443/realms/acme",
        "HTTPS://IDP.EXAMPLE.COM",
        "http://127.0.0.1:8080",
        "http://127.0.0.1:8080/realms/x",
        "http://127.1.2.3",
        "http://localhost:9000/",
        "http://[::1]:8080",
        "https://[2001:db8::1]/",
        "https://idp.example.com/.well-known/openid-configuration",
    };
    for (apr_size_t i = 0; i < N(good); i++) {
        ck_assert_msg(orgs_check_issuer_url(good[i], &err) == APR_SUCCESS, "rejected %s: %s",
                      good[i], err.msg);
    }
}
END_TEST

START_TEST(issuer_rejects)
{
    static const char *const bad[] = {
        "http://example.com",
        "http://example.com:8080/",
        "http://127.0.0.1.example.com/",
        "http://128.0.0.1/",
        "http://127.0.0.256/",
        "http://127.0.0/",
        "http://localhost.evil.com/",
        "http://[::2]/",
        "https://user:pass@idp.example.com/",
        "https://user@idp.example.com/",
        "http://evil.com@127.0.0.1/",
        "https://idp.example.com/#frag",
        "https://idp.example.com#",
        "ftp://idp.example.com/",
        "idp.example.com",
        "https://",
        "https:///path",
        "https://:443/",
        "https://idp.example.com:0/",
        "https://idp.example.com:65536/",
        "https://idp.example.com:/",
        "https://idp.example.com:8a/",
        "https://idp.exa mple.com/",
        "https://idp.example.com/\n",
        "https://idp_x.example.com/",
        "https://[::1/",
        "javascript:alert(1)",
        "",
    };
    for (apr_size_t i = 0; i < N(bad); i++) {
        err.msg[0] = '\0';
        ck_assert_msg(orgs_check_issuer_url(bad[i], &err) == APR_EINVAL, "accepted '%s'", bad[i]);
        ck_assert_msg(err.msg[0] != '\0', "'%s' gave no reason", bad[i]);
    }
    ck_assert_int_eq(orgs_check_issuer_url(NULL, &err), APR_EINVAL);
    ck_assert_int_eq(
        orgs_check_issuer_url(apr_pstrcat(pool, "https://idp.example.com/",
                                          testutil_repeat(pool, 'a', ORGS_URL_MAX), NULL),
                              &err),
        APR_EINVAL);
    ck_assert_int_eq(orgs_check_issuer_url("http://example.com", &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "https"));
    ck_assert_int_eq(orgs_check_issuer_url("https://u@idp.example.com", &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "user information"));
}
END_TEST

static Suite *parse_suite(void)
{
    Suite *s = suite_create("parse");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, size_ok);
    tcase_add_test(tc, size_rejects);
    tcase_add_test(tc, size_min);
    tcase_add_test(tc, duration_ok);
    tcase_add_test(tc, duration_rejects);
    tcase_add_test(tc, slug_ok);
    tcase_add_test(tc, slug_rejects);
    tcase_add_test(tc, domain_ok);
    tcase_add_test(tc, domain_lengths);
    tcase_add_test(tc, domain_rejects);
    tcase_add_test(tc, email_ok);
    tcase_add_test(tc, email_rejects);
    tcase_add_test(tc, meta_pair_ok);
    tcase_add_test(tc, meta_pair_rejects);
    tcase_add_test(tc, role_ok);
    tcase_add_test(tc, role_rejects);
    tcase_add_test(tc, display_name_ok);
    tcase_add_test(tc, display_name_rejects);
    tcase_add_test(tc, key_source_ok);
    tcase_add_test(tc, key_source_rejects);
    tcase_add_test(tc, issuer_ok);
    tcase_add_test(tc, issuer_rejects);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(parse_suite());
}
