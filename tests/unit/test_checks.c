/* Unit tests for src/core/checks.c: every field rule and every record
 * check, with more values refused than accepted, and the normalizers'
 * stored forms. */
#include <stdarg.h>

#include "testutil.h"
#include "checks.h"
#include "oidc.h"

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

/* A refused value: APR_EINVAL with a reason. */
#define REFUSED(call, what)                                                                        \
    do {                                                                                           \
        err.msg[0] = '\0';                                                                         \
        ck_assert_msg((call) == APR_EINVAL, "accepted %s", what);                                  \
        ck_assert_msg(err.msg[0] != '\0', "%s gave no reason", what);                              \
    } while (0)

/* ---- ids and text */

START_TEST(id_rules)
{
    ck_assert_int_eq(orgs_check_id("org_0123456789abcdEF", "org_"), 1);
    ck_assert_int_eq(orgs_check_id("con_AAAAAAAAAAAAAAAA", "con_"), 1);
    static const char *const bad[] = {
        "",
        "org_",
        "org_0123456789abcde",   /* 15 characters */
        "org_0123456789abcdef0", /* 17 */
        "org_0123456789abcd-f",  /* not base62 */
        "org_0123456789abcd_f",
        "org_0123456789abcd f",
        "con_0123456789abcdef", /* another kind */
        "ORG_0123456789abcdef",
        "org-0123456789abcdef",
    };
    for (apr_size_t i = 0; i < N(bad); i++) {
        ck_assert_msg(orgs_check_id(bad[i], "org_") == 0, "accepted id '%s'", bad[i]);
    }
    ck_assert_int_eq(orgs_check_id(NULL, "org_"), 0);
}
END_TEST

START_TEST(text_rules)
{
    ck_assert_int_eq(orgs_check_text("abc", 3, 0, "v", &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_check_text("a b~!", 10, 1, "v", &err), APR_SUCCESS);
    REFUSED(orgs_check_text(NULL, 10, 1, "v", &err), "NULL");
    REFUSED(orgs_check_text("", 10, 1, "v", &err), "empty text");
    REFUSED(orgs_check_text("abcd", 3, 0, "v", &err), "text over max");
    REFUSED(orgs_check_text("a b", 10, 0, "v", &err), "a space when spaces are off");
    REFUSED(orgs_check_text("a\tb", 10, 1, "v", &err), "a tab");
    REFUSED(orgs_check_text("a\x7f", 10, 1, "v", &err), "DEL");
    REFUSED(orgs_check_text("caf\xc3\xa9", 10, 1, "v", &err), "non-ASCII");
    ck_assert_int_eq(orgs_check_text("", 10, 1, "the thing", &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "the thing"));
}
END_TEST

/* ---- connection fields */

START_TEST(scopes_ok)
{
    static const char *const good[] = {
        "openid",
        ORGS_OIDC_DEFAULT_SCOPES,
        "email openid",
        "openid offline_access api://default/read urn:x:y!#$%&'()*+,-./:;<=>?@[]^_`{|}~",
    };
    for (apr_size_t i = 0; i < N(good); i++) {
        ck_assert_msg(orgs_check_conn_scopes(good[i], &err) == APR_SUCCESS, "'%s': %s", good[i],
                      err.msg);
    }
    char *longest =
        apr_pstrcat(pool, "openid ", testutil_repeat(pool, 'a', ORGS_CONN_SCOPES_MAX - 7), NULL);
    ck_assert_int_eq(orgs_check_conn_scopes(longest, &err), APR_SUCCESS);
}
END_TEST

START_TEST(scopes_rejects)
{
    static const char *const bad[] = {
        "",
        "email profile", /* no openid */
        "openidx email", /* openid only as a whole word */
        "xopenid",
        "open id",
        "OPENID",
        "openid\temail", /* control characters */
        "openid\nemail",
        "openid\x7f",
        "openid \"email\"", /* not in a scope token (RFC 6749 3.3) */
        "openid a\\b",
        "openid caf\xc3\xa9", /* non-ASCII */
        "openid \x80",
    };
    for (apr_size_t i = 0; i < N(bad); i++) {
        REFUSED(orgs_check_conn_scopes(bad[i], &err), bad[i]);
    }
    REFUSED(orgs_check_conn_scopes(NULL, &err), "NULL scopes");
    char *over =
        apr_pstrcat(pool, "openid ", testutil_repeat(pool, 'a', ORGS_CONN_SCOPES_MAX - 6), NULL);
    REFUSED(orgs_check_conn_scopes(over, &err), "scopes over the maximum");
    ck_assert_int_eq(orgs_check_conn_scopes("email profile", &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "openid"));
}
END_TEST

START_TEST(auth_method_rules)
{
    ck_assert_int_eq(orgs_check_conn_auth_method("client_secret_basic", &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_check_conn_auth_method("client_secret_post", &err), APR_SUCCESS);
    static const char *const bad[] = {
        "",
        "none",
        "private_key_jwt",
        "client_secret_jwt",
        "CLIENT_SECRET_BASIC",
        "client_secret_basic ",
        " client_secret_post",
        "client_secret",
    };
    for (apr_size_t i = 0; i < N(bad); i++) {
        REFUSED(orgs_check_conn_auth_method(bad[i], &err), bad[i]);
    }
    REFUSED(orgs_check_conn_auth_method(NULL, &err), "NULL auth method");
}
END_TEST

START_TEST(client_id_rules)
{
    ck_assert_int_eq(orgs_check_conn_client_id("0oa1b2c3", &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_check_conn_client_id("api://my-app/id~x", &err), APR_SUCCESS);
    ck_assert_int_eq(
        orgs_check_conn_client_id(testutil_repeat(pool, 'c', ORGS_CONN_CLIENT_ID_MAX), &err),
        APR_SUCCESS);
    static const char *const bad[] = {
        "", "client id", "client\tid", "client\n", "caf\xc3\xa9", "x\x7f",
    };
    for (apr_size_t i = 0; i < N(bad); i++) {
        REFUSED(orgs_check_conn_client_id(bad[i], &err), bad[i]);
    }
    REFUSED(orgs_check_conn_client_id(NULL, &err), "NULL client id");
    REFUSED(
        orgs_check_conn_client_id(testutil_repeat(pool, 'c', ORGS_CONN_CLIENT_ID_MAX + 1), &err),
        "a client id over the maximum");
}
END_TEST

START_TEST(secret_rules)
{
    ck_assert_int_eq(orgs_check_conn_secret("s3cr3t", 6, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_check_conn_secret("a b ~!\"\\", 8, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_check_conn_secret(testutil_repeat(pool, 's', ORGS_CONN_SECRET_MAX),
                                            ORGS_CONN_SECRET_MAX, &err),
                     APR_SUCCESS);
    /* only s[0..len) counts */
    ck_assert_int_eq(orgs_check_conn_secret("abc\n", 3, &err), APR_SUCCESS);

    REFUSED(orgs_check_conn_secret(NULL, 0, &err), "NULL secret");
    REFUSED(orgs_check_conn_secret("", 0, &err), "empty secret");
    REFUSED(orgs_check_conn_secret("abc", 0, &err), "zero length");
    REFUSED(orgs_check_conn_secret("ab\0cd", 5, &err), "a NUL byte");
    ck_assert_ptr_nonnull(strstr(err.msg, "NUL"));
    REFUSED(orgs_check_conn_secret("ab\ncd", 5, &err), "a newline inside");
    REFUSED(orgs_check_conn_secret("ab\tcd", 5, &err), "a tab");
    REFUSED(orgs_check_conn_secret("caf\xc3\xa9", 5, &err), "non-ASCII");
    REFUSED(orgs_check_conn_secret("ab\x7f", 3, &err), "DEL");
    REFUSED(orgs_check_conn_secret(testutil_repeat(pool, 's', ORGS_CONN_SECRET_MAX + 1),
                                   ORGS_CONN_SECRET_MAX + 1, &err),
            "a secret over the maximum");
    /* the reason never shows the secret */
    ck_assert_int_eq(orgs_check_conn_secret("hunter2\x01", 8, &err), APR_EINVAL);
    ck_assert_ptr_null(strstr(err.msg, "hunter2"));
}
END_TEST

/* ---- user fields */

START_TEST(sub_rules)
{
    ck_assert_int_eq(orgs_check_user_sub("00u1a2b3c4", &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_check_user_sub("auth0|5f7c8ec7 x", &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_check_user_sub(testutil_repeat(pool, 's', ORGS_SUB_MAX), &err),
                     APR_SUCCESS);
    REFUSED(orgs_check_user_sub(NULL, &err), "NULL sub");
    REFUSED(orgs_check_user_sub("", &err), "empty sub");
    REFUSED(orgs_check_user_sub(testutil_repeat(pool, 's', ORGS_SUB_MAX + 1), &err),
            "a sub over the maximum");
    REFUSED(orgs_check_user_sub("a\tb", &err), "a tab");
    REFUSED(orgs_check_user_sub("a\nb", &err), "a newline");
    REFUSED(orgs_check_user_sub("caf\xc3\xa9", &err), "non-ASCII");
}
END_TEST

/* ---- normalizers */

static apr_array_header_t *strings(int n, ...)
{
    va_list ap;
    apr_array_header_t *a = apr_array_make(pool, n ? n : 1, sizeof(const char *));
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        APR_ARRAY_PUSH(a, const char *) = va_arg(ap, const char *);
    }
    va_end(ap);
    return a;
}

static apr_array_header_t *pairs(int n, ...)
{
    va_list ap;
    apr_array_header_t *a = apr_array_make(pool, n ? n : 1, sizeof(orgs_kv_t));
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        orgs_kv_t *kv = apr_array_push(a);
        kv->key = va_arg(ap, const char *);
        kv->value = va_arg(ap, const char *);
    }
    va_end(ap);
    return a;
}

START_TEST(meta_normalize)
{
    apr_array_header_t *out;
    ck_assert_int_eq(orgs_check_meta_normalize(pairs(3, "tier", "gold", "a", "1", "tier", "silver"),
                                               &out, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(out->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(out, 0, orgs_kv_t).key, "a");
    ck_assert_str_eq(APR_ARRAY_IDX(out, 1, orgs_kv_t).key, "tier");
    ck_assert_str_eq(APR_ARRAY_IDX(out, 1, orgs_kv_t).value, "silver"); /* later pairs win */
    ck_assert_int_eq(orgs_check_meta_normalize(NULL, &out, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(out->nelts, 0);

    REFUSED(orgs_check_meta_normalize(pairs(1, "1bad", "v"), &out, pool, &err), "a bad key");
    REFUSED(orgs_check_meta_normalize(pairs(1, "k", "a\nb"), &out, pool, &err), "a bad value");
    REFUSED(orgs_check_meta_normalize(pairs(1, "k", NULL), &out, pool, &err), "a NULL value");
    apr_array_header_t *many = pairs(0);
    for (int i = 0; i <= ORGS_META_MAX_PAIRS; i++) {
        orgs_kv_t *kv = apr_array_push(many);
        kv->key = apr_psprintf(pool, "k%d", i);
        kv->value = "v";
    }
    ck_assert_int_eq(orgs_check_meta_normalize(many, &out, pool, &err), APR_ENOSPC);
    /* repeats of one key count once */
    apr_array_header_t *same = pairs(0);
    for (int i = 0; i <= ORGS_META_MAX_PAIRS; i++) {
        orgs_kv_t *kv = apr_array_push(same);
        kv->key = "k";
        kv->value = "v";
    }
    ck_assert_int_eq(orgs_check_meta_normalize(same, &out, pool, &err), APR_SUCCESS);
}
END_TEST

START_TEST(domains_normalize)
{
    apr_array_header_t *out;
    ck_assert_int_eq(orgs_check_domains_normalize(strings(3, "B.example", "a.example", "b.EXAMPLE"),
                                                  &out, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(out->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(out, 0, const char *), "a.example");
    ck_assert_str_eq(APR_ARRAY_IDX(out, 1, const char *), "b.example");
    REFUSED(orgs_check_domains_normalize(strings(1, "localhost"), &out, pool, &err),
            "a one-label domain");
    REFUSED(orgs_check_domains_normalize(strings(1, "-a.example"), &out, pool, &err),
            "a label starting with '-'");
    apr_array_header_t *many = strings(0);
    for (int i = 0; i <= ORGS_DOMAINS_MAX; i++) {
        APR_ARRAY_PUSH(many, const char *) = apr_psprintf(pool, "d%d.example", i);
    }
    ck_assert_int_eq(orgs_check_domains_normalize(many, &out, pool, &err), APR_ENOSPC);
}
END_TEST

START_TEST(roles_normalize)
{
    apr_array_header_t *out;
    ck_assert_int_eq(orgs_check_roles_normalize(strings(3, "b", "a:x", "b"), &out, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(out->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(out, 0, const char *), "a:x");
    ck_assert_str_eq(APR_ARRAY_IDX(out, 1, const char *), "b");
    REFUSED(orgs_check_roles_normalize(strings(1, "a b"), &out, pool, &err), "a role with a space");
    REFUSED(orgs_check_roles_normalize(strings(1, ""), &out, pool, &err), "an empty role");
    apr_array_header_t *many = strings(0);
    for (int i = 0; i <= ORGS_ROLES_MAX; i++) {
        APR_ARRAY_PUSH(many, const char *) = apr_psprintf(pool, "r%d", i);
    }
    ck_assert_int_eq(orgs_check_roles_normalize(many, &out, pool, &err), APR_ENOSPC);
}
END_TEST

START_TEST(email_normalize)
{
    const char *out = "x";
    ck_assert_int_eq(orgs_check_email_normalize("Jane@ACME.com", &out, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(out, "Jane@acme.com");
    ck_assert_int_eq(orgs_check_email_normalize(NULL, &out, pool, &err), APR_SUCCESS);
    ck_assert_ptr_null(out);
    REFUSED(orgs_check_email_normalize("jane", &out, pool, &err), "an email without '@'");
    REFUSED(orgs_check_email_normalize("jane@localhost", &out, pool, &err),
            "an email with a one-label domain");
    REFUSED(orgs_check_email_normalize("ja ne@acme.com", &out, pool, &err), "a space");
}
END_TEST

/* ---- whole records */

static orgs_org_t *good_org(void)
{
    orgs_org_t *o = apr_pcalloc(pool, sizeof(*o));
    o->id = "org_AAAAAAAAAAAAAAAA";
    o->name = "acme";
    return o;
}

static orgs_conn_t *good_conn(void)
{
    orgs_conn_t *c = apr_pcalloc(pool, sizeof(*c));
    c->id = "con_AAAAAAAAAAAAAAAA";
    c->name = "okta";
    c->issuer = "https://idp.example.com";
    c->client_id = "client-1";
    return c;
}

static orgs_user_t *good_user(void)
{
    orgs_user_t *u = apr_pcalloc(pool, sizeof(*u));
    u->id = "usr_AAAAAAAAAAAAAAAA";
    u->conn_id = "con_AAAAAAAAAAAAAAAA";
    u->sub = "sub-1";
    return u;
}

START_TEST(org_check)
{
    orgs_org_t *o = good_org();
    o->meta = pairs(2, "z", "1", "a", "2");
    o->domains = strings(1, "ACME.com");
    ck_assert_int_eq(orgs_check_org(o, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(o->display_name, "acme"); /* the name when none */
    ck_assert_str_eq(APR_ARRAY_IDX(o->meta, 0, orgs_kv_t).key, "a");
    ck_assert_str_eq(APR_ARRAY_IDX(o->domains, 0, const char *), "acme.com");

    o = good_org();
    o->id = "con_AAAAAAAAAAAAAAAA";
    REFUSED(orgs_check_org(o, pool, &err), "an org with a connection id");
    o = good_org();
    o->name = "Acme";
    REFUSED(orgs_check_org(o, pool, &err), "an upper-case name");
    o = good_org();
    o->name = NULL;
    REFUSED(orgs_check_org(o, pool, &err), "no name");
    o = good_org();
    o->display_name = "a\x01";
    REFUSED(orgs_check_org(o, pool, &err), "a control character in the display name");
    o = good_org();
    o->meta = pairs(1, "", "v");
    REFUSED(orgs_check_org(o, pool, &err), "an empty metadata key");
    o = good_org();
    o->domains = strings(1, "acme");
    REFUSED(orgs_check_org(o, pool, &err), "a one-label domain");
}
END_TEST

START_TEST(conn_check)
{
    orgs_conn_t *c = good_conn();
    ck_assert_int_eq(orgs_check_conn(c, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(c->display_name, "okta");
    ck_assert_str_eq(c->scopes, ORGS_OIDC_DEFAULT_SCOPES);
    ck_assert_str_eq(c->auth_method, "client_secret_basic");
    c = good_conn();
    c->scopes = "openid email";
    c->auth_method = "client_secret_post";
    c->client_secret = "s3cr3t";
    c->issuer = "http://127.0.0.1:9/";
    ck_assert_int_eq(orgs_check_conn(c, pool, &err), APR_SUCCESS);

    c = good_conn();
    c->id = "org_AAAAAAAAAAAAAAAA";
    REFUSED(orgs_check_conn(c, pool, &err), "a connection with an org id");
    c = good_conn();
    c->name = "con_x";
    REFUSED(orgs_check_conn(c, pool, &err), "a name that looks like an id");
    c = good_conn();
    c->issuer = NULL;
    REFUSED(orgs_check_conn(c, pool, &err), "no issuer");
    c = good_conn();
    c->issuer = "http://idp.example.com";
    REFUSED(orgs_check_conn(c, pool, &err), "plain http off loopback");
    c = good_conn();
    c->issuer = "https://idp.example.com/tenant?x=1";
    REFUSED(orgs_check_conn(c, pool, &err), "an issuer with a query");
    c = good_conn();
    c->issuer = "https://idp.example.com/tenant#x";
    REFUSED(orgs_check_conn(c, pool, &err), "an issuer with a fragment");
    c = good_conn();
    c->client_id = NULL;
    REFUSED(orgs_check_conn(c, pool, &err), "no client id");
    c = good_conn();
    c->client_id = "a b";
    REFUSED(orgs_check_conn(c, pool, &err), "a client id with a space");
    c = good_conn();
    c->scopes = "email profile";
    REFUSED(orgs_check_conn(c, pool, &err), "scopes without openid");
    c = good_conn();
    c->scopes = "openid \"email\"";
    REFUSED(orgs_check_conn(c, pool, &err), "a quote in the scopes");
    c = good_conn();
    c->scopes = "openid a\\b";
    REFUSED(orgs_check_conn(c, pool, &err), "a backslash in the scopes");
    c = good_conn();
    c->auth_method = "private_key_jwt";
    REFUSED(orgs_check_conn(c, pool, &err), "an unknown auth method");
    c = good_conn();
    c->client_secret = "";
    REFUSED(orgs_check_conn(c, pool, &err), "an empty secret");
    c = good_conn();
    c->client_secret = testutil_repeat(pool, 's', ORGS_CONN_SECRET_MAX + 1);
    REFUSED(orgs_check_conn(c, pool, &err), "a secret over the maximum");
    c = good_conn();
    c->display_name = "";
    REFUSED(orgs_check_conn(c, pool, &err), "an empty display name");

    /* endpoint hosts: normalized in place, bad ones refused */
    c = good_conn();
    c->endpoint_hosts = strings(4, "Keys.Example.NET", "192.0.2.7", "keys.example.net", "::1");
    ck_assert_int_eq(orgs_check_conn(c, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(c->endpoint_hosts->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(c->endpoint_hosts, 0, const char *), "192.0.2.7");
    ck_assert_str_eq(APR_ARRAY_IDX(c->endpoint_hosts, 1, const char *), "::1");
    ck_assert_str_eq(APR_ARRAY_IDX(c->endpoint_hosts, 2, const char *), "keys.example.net");
    static const char *const bad_hosts[] = {"",
                                            "https://keys.example.net",
                                            "keys.example.net:443",
                                            "keys.example.net/jwks",
                                            "10.0.0.0/8",
                                            "a b",
                                            "k\xc3\xa9ys.example",
                                            NULL};
    for (const char *const *h = bad_hosts; *h; h++) {
        c = good_conn();
        c->endpoint_hosts = strings(1, *h);
        REFUSED(orgs_check_conn(c, pool, &err), *h);
        ck_assert_ptr_nonnull(strstr(err.msg, "endpoint host"));
    }
    apr_array_header_t *many = apr_array_make(pool, 20, sizeof(const char *));
    for (int i = 0; i <= ORGS_CONN_ENDPOINT_HOSTS_MAX; i++) {
        APR_ARRAY_PUSH(many, const char *) = apr_psprintf(pool, "h%d.example", i);
    }
    c = good_conn();
    c->endpoint_hosts = many;
    ck_assert_int_eq(orgs_check_conn(c, pool, &err), APR_ENOSPC);
}
END_TEST

START_TEST(user_check)
{
    orgs_user_t *u = good_user();
    ck_assert_int_eq(orgs_check_user(u, pool, &err), APR_SUCCESS);
    u = good_user();
    u->sub = NULL;
    u->email = "Jane@ACME.com";
    u->name = "Jane Doe";
    ck_assert_int_eq(orgs_check_user(u, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(u->email, "Jane@acme.com");

    u = good_user();
    u->id = "org_AAAAAAAAAAAAAAAA";
    REFUSED(orgs_check_user(u, pool, &err), "a user with an org id");
    u = good_user();
    u->conn_id = "usr_AAAAAAAAAAAAAAAA";
    REFUSED(orgs_check_user(u, pool, &err), "a user of a user id");
    u = good_user();
    u->sub = NULL;
    REFUSED(orgs_check_user(u, pool, &err), "neither sub nor email");
    u = good_user();
    u->sub = testutil_repeat(pool, 's', ORGS_SUB_MAX + 1);
    REFUSED(orgs_check_user(u, pool, &err), "a sub over the maximum");
    u = good_user();
    u->sub = "a\nb";
    REFUSED(orgs_check_user(u, pool, &err), "a newline in the sub");
    u = good_user();
    u->email = "not-an-email";
    REFUSED(orgs_check_user(u, pool, &err), "a bad email");
    u = good_user();
    u->name = "a\x1b[31m";
    REFUSED(orgs_check_user(u, pool, &err), "a control character in the name");
}
END_TEST

START_TEST(test_auto_condition)
{
    ck_assert_int_eq(orgs_check_auto_condition("email-domain", &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_check_auto_condition("claim:hd=acme.com", &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_check_auto_condition("claim:tid=9188040d-6c67", &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_check_auto_condition("claim:x=a=b c", &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_check_auto_condition(NULL, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_check_auto_condition("", &err), APR_EINVAL);
    ck_assert_int_eq(orgs_check_auto_condition("email-domains", &err), APR_EINVAL);
    ck_assert_int_eq(orgs_check_auto_condition("claim:hd", &err), APR_EINVAL);
    ck_assert_int_eq(orgs_check_auto_condition("claim:=x", &err), APR_EINVAL);
    ck_assert_int_eq(orgs_check_auto_condition("claim:hd=", &err), APR_EINVAL);
    ck_assert_int_eq(orgs_check_auto_condition("claim:h d=x", &err), APR_EINVAL);
    ck_assert_int_eq(orgs_check_auto_condition("claim:hd=a\tb", &err), APR_EINVAL);
    ck_assert_int_eq(orgs_check_auto_condition("claim:hd=caf\xc3\xa9", &err), APR_EINVAL);
    ck_assert_int_eq(orgs_check_auto_condition("hd=acme.com", &err), APR_EINVAL);
}
END_TEST

START_TEST(test_issuer_shared)
{
    ck_assert_int_eq(orgs_check_issuer_shared("https://accounts.google.com"), 1);
    ck_assert_int_eq(orgs_check_issuer_shared("https://login.microsoftonline.com/common/v2.0"), 1);
    ck_assert_int_eq(orgs_check_issuer_shared("https://login.microsoftonline.com/organizations"),
                     1);
    ck_assert_int_eq(orgs_check_issuer_shared("https://LOGIN.microsoftonline.com/consumers/"), 1);
    ck_assert_int_eq(orgs_check_issuer_shared("https://appleid.apple.com"), 1);
    /* one tenant's own issuer, or a look-alike, is not shared */
    ck_assert_int_eq(
        orgs_check_issuer_shared(
            "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"),
        0);
    ck_assert_int_eq(orgs_check_issuer_shared("https://accounts.google.com.evil.example"), 0);
    ck_assert_int_eq(orgs_check_issuer_shared("https://login.microsoftonline.com/commonx"), 0);
    ck_assert_int_eq(orgs_check_issuer_shared("https://acme.okta.com"), 0);
    ck_assert_int_eq(orgs_check_issuer_shared(""), 0);
    ck_assert_int_eq(orgs_check_issuer_shared(NULL), 0);
}
END_TEST

static Suite *checks_suite(void)
{
    Suite *s = suite_create("checks");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, id_rules);
    tcase_add_test(tc, text_rules);
    tcase_add_test(tc, scopes_ok);
    tcase_add_test(tc, scopes_rejects);
    tcase_add_test(tc, auth_method_rules);
    tcase_add_test(tc, client_id_rules);
    tcase_add_test(tc, secret_rules);
    tcase_add_test(tc, sub_rules);
    tcase_add_test(tc, meta_normalize);
    tcase_add_test(tc, domains_normalize);
    tcase_add_test(tc, roles_normalize);
    tcase_add_test(tc, email_normalize);
    tcase_add_test(tc, org_check);
    tcase_add_test(tc, conn_check);
    tcase_add_test(tc, user_check);
    tcase_add_test(tc, test_issuer_shared);
    tcase_add_test(tc, test_auto_condition);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(checks_suite());
}
