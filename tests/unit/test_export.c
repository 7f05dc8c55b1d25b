/* Unit tests for src/core/export.c: what the app is told, decided at
 * sign-in. Each rule that keeps a claim out has its own case: the
 * protocol claims, the untrusted email, names that collide after mapping
 * and case-folding, and the size caps. */
#include "testutil.h"
#include "export.h"

TESTUTIL_POOL_FIXTURE

static json_t *claims_of(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    ck_assert_msg(j != NULL, "bad test JSON: %s", jerr.text);
    return j;
}

/* The export named env, or NULL; fails when it is there twice (any case). */
static const orgs_export_t *find(const apr_array_header_t *ex, const char *env)
{
    const orgs_export_t *hit = NULL;
    for (int i = 0; i < ex->nelts; i++) {
        const orgs_export_t *e = &APR_ARRAY_IDX(ex, i, orgs_export_t);
        if (strcasecmp(e->env, env) == 0) {
            ck_assert_msg(hit == NULL, "%s exported twice", env);
            hit = e;
        }
    }
    return hit;
}

static apr_array_header_t *exports_of(const char *json, const char *trusted)
{
    json_t *c = claims_of(json);
    apr_array_header_t *ex = orgs_export_claims(c, trusted, pool);
    json_decref(c);
    return ex;
}

START_TEST(test_names_and_values)
{
    apr_array_header_t *ex =
        exports_of("{\"sub\":\"u1\",\"dept\":\"ops\",\"n\":-42,\"ok\":true,\"no\":false,"
                   "\"r\":1.5,\"z\":null,\"a\":[1],\"o\":{\"x\":1},\"\":\"empty\","
                   "\"given-name\":\"Ann\",\"x.y\":\"dot\",\"caf\\u00e9\":\"c\"}",
                   NULL);
    const orgs_export_t *e;
    ck_assert_int_eq(ex->nelts, 9);
    e = &APR_ARRAY_IDX(ex, 0, orgs_export_t); /* in the claims' order */
    ck_assert_str_eq(e->env, "ORG_CLAIM_sub");
    ck_assert_str_eq(e->header, "X-Org-Claim-sub");
    ck_assert_str_eq(e->value, "u1");
    ck_assert_str_eq(find(ex, "ORG_CLAIM_n")->value, "-42");
    ck_assert_str_eq(find(ex, "ORG_CLAIM_ok")->value, "true");
    ck_assert_str_eq(find(ex, "ORG_CLAIM_no")->value, "false");
    ck_assert_str_eq(find(ex, "ORG_CLAIM_r")->value, "1.5");
    ck_assert_ptr_null(find(ex, "ORG_CLAIM_z")); /* null, arrays, objects, empty names: out */
    ck_assert_ptr_null(find(ex, "ORG_CLAIM_a"));
    ck_assert_ptr_null(find(ex, "ORG_CLAIM_o"));
    ck_assert_ptr_null(find(ex, "ORG_CLAIM_"));
    e = find(ex, "ORG_CLAIM_given_name");
    ck_assert_str_eq(e->header, "X-Org-Claim-given-name");
    ck_assert_str_eq(e->value, "Ann");
    ck_assert_str_eq(find(ex, "ORG_CLAIM_x_y")->header, "X-Org-Claim-x-y");
    ck_assert_str_eq(find(ex, "ORG_CLAIM_caf__")->value, "c"); /* each byte of a non-ASCII name */
    ck_assert_ptr_null(find(ex, "ORG_EMAIL"));
    ck_assert_int_eq(orgs_export_claims(NULL, NULL, pool)->nelts, 0);
    ck_assert_int_eq(orgs_export_claims(NULL, "a@x.com", pool)->nelts, 1);
}
END_TEST

START_TEST(test_protocol_claims_left_out)
{
    apr_array_header_t *ex = exports_of("{\"sub\":\"1\",\"nonce\":\"n\",\"at_hash\":\"h\","
                                        "\"c_hash\":\"h\",\"sid\":\"s\",\"auth_time\":1}",
                                        NULL);
    ck_assert_int_eq(ex->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(ex, 0, orgs_export_t).env, "ORG_CLAIM_sub");
}
END_TEST

/* An email the sign-in did not trust never reaches the app under the
 * names it reads, in any case; ORG_EMAIL is not set. */
START_TEST(test_untrusted_email_not_exported)
{
    apr_array_header_t *ex = exports_of(
        "{\"sub\":\"1\",\"email\":\"boss@victim.example\",\"email_verified\":true}", NULL);
    ck_assert_int_eq(ex->nelts, 1);
    ck_assert_ptr_null(find(ex, "ORG_CLAIM_email"));
    ck_assert_ptr_null(find(ex, "ORG_CLAIM_email_verified"));
    ck_assert_ptr_null(find(ex, "ORG_EMAIL"));
    /* the same under other spellings */
    ex = exports_of("{\"EMAIL\":\"boss@victim.example\",\"Email_Verified\":\"true\","
                    "\"email-verified\":1}",
                    NULL);
    ck_assert_int_eq(ex->nelts, 0);
}
END_TEST

START_TEST(test_trusted_email_exported)
{
    apr_array_header_t *ex = exports_of(
        "{\"sub\":\"1\",\"email\":\"Ann@Example.COM\",\"email_verified\":true}", "ann@example.com");
    const orgs_export_t *e = &APR_ARRAY_IDX(ex, 0, orgs_export_t);
    ck_assert_int_eq(ex->nelts, 4);
    ck_assert_str_eq(e->env, "ORG_EMAIL"); /* first, the normalised address */
    ck_assert_str_eq(e->header, "X-Org-Email");
    ck_assert_str_eq(e->value, "ann@example.com");
    ck_assert_str_eq(find(ex, "ORG_CLAIM_email")->value, "Ann@Example.COM");
    ck_assert_str_eq(find(ex, "ORG_CLAIM_email_verified")->value, "true");
}
END_TEST

/* Names equal after mapping and case-folding: neither goes, whatever the
 * order; the other claims stay. */
START_TEST(test_colliding_names_left_out)
{
    apr_array_header_t *ex = exports_of(
        "{\"sub\":\"1\",\"email\":\"a@x.com\",\"EMAIL\":\"evil@y.com\",\"role\":\"user\","
        "\"Role\":\"admin\",\"given-name\":\"A\",\"given.name\":\"B\",\"given_name\":\"C\","
        "\"team\":\"t\"}",
        "a@x.com");
    ck_assert_ptr_null(find(ex, "ORG_CLAIM_email"));
    ck_assert_ptr_null(find(ex, "ORG_CLAIM_role"));
    ck_assert_ptr_null(find(ex, "ORG_CLAIM_given_name"));
    ck_assert_str_eq(find(ex, "ORG_CLAIM_team")->value, "t");
    ck_assert_str_eq(find(ex, "ORG_CLAIM_sub")->value, "1");
    ck_assert_str_eq(find(ex, "ORG_EMAIL")->value, "a@x.com"); /* the trusted one, from sign-in */
    ck_assert_int_eq(ex->nelts, 3);
    /* names cut at the maximum collide too */
    char *a = testutil_repeat(pool, 'a', ORGS_EXPORT_NAME_MAX);
    ex = exports_of(apr_psprintf(pool, "{\"%sX\":\"1\",\"%sY\":\"2\",\"b\":\"3\"}", a, a), NULL);
    ck_assert_int_eq(ex->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(ex, 0, orgs_export_t).env, "ORG_CLAIM_b");
    ex = exports_of(apr_psprintf(pool, "{\"%sX\":\"1\"}", a), NULL);
    ck_assert_str_eq(APR_ARRAY_IDX(ex, 0, orgs_export_t).env,
                     apr_pstrcat(pool, "ORG_CLAIM_", a, NULL));
}
END_TEST

START_TEST(test_values_made_safe)
{
    apr_array_header_t *ex = exports_of("{\"x\":\"a\\r\\nX-Org-Roles: admin\\u007f\\t\"}", NULL);
    ck_assert_str_eq(APR_ARRAY_IDX(ex, 0, orgs_export_t).value, "a  X-Org-Roles: admin  ");
    /* a string with a NUL is left out */
    json_t *c = json_pack("{s:s%,s:s}", "x", "a\0b", (size_t)3, "y", "ok");
    ex = orgs_export_claims(c, NULL, pool);
    json_decref(c);
    ck_assert_int_eq(ex->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(ex, 0, orgs_export_t).env, "ORG_CLAIM_y");
    /* cut at the maximum, never inside a UTF-8 character */
    char *v = testutil_repeat(pool, 'v', ORGS_EXPORT_VALUE_MAX - 1);
    ex = exports_of(apr_psprintf(pool, "{\"x\":\"%s\\u00e9\\u00e9\"}", v), NULL);
    ck_assert_uint_eq(strlen(APR_ARRAY_IDX(ex, 0, orgs_export_t).value), ORGS_EXPORT_VALUE_MAX - 1);
    ex = exports_of(apr_psprintf(pool, "{\"x\":\"v%s\\u00e9\"}", v), NULL);
    ck_assert_uint_eq(strlen(APR_ARRAY_IDX(ex, 0, orgs_export_t).value), ORGS_EXPORT_VALUE_MAX);
    ck_assert_str_eq(orgs_export_value("ab\x01", 10, pool), "ab ");
    ck_assert_str_eq(orgs_export_value("abcdef", 3, pool), "abc");
}
END_TEST

/* Over the total cap, only what identifies the user is kept. */
START_TEST(test_oversized_keeps_identity)
{
    json_t *c = json_object();
    char *big = testutil_repeat(pool, 'x', 1000);
    for (int i = 0; i < 40; i++) {
        json_object_set_new(c, apr_psprintf(pool, "blob%d", i), json_string(big));
    }
    json_object_set_new(c, "sub", json_string("1"));
    json_object_set_new(c, "iss", json_string("https://idp.example"));
    json_object_set_new(c, "name", json_string("Ann"));
    json_object_set_new(c, "email", json_string("a@x.com"));
    apr_array_header_t *ex = orgs_export_claims(c, "a@x.com", pool);
    apr_size_t total = 0;
    for (int i = 0; i < ex->nelts; i++) {
        const orgs_export_t *e = &APR_ARRAY_IDX(ex, i, orgs_export_t);
        total += strlen(e->env) + strlen(e->header) + strlen(e->value) + 3;
    }
    ck_assert_int_eq(ex->nelts, 5);
    ck_assert_ptr_nonnull(find(ex, "ORG_EMAIL"));
    ck_assert_ptr_nonnull(find(ex, "ORG_CLAIM_sub"));
    ck_assert_ptr_nonnull(find(ex, "ORG_CLAIM_iss"));
    ck_assert_ptr_nonnull(find(ex, "ORG_CLAIM_name"));
    ck_assert_ptr_nonnull(find(ex, "ORG_CLAIM_email"));
    ck_assert_ptr_null(find(ex, "ORG_CLAIM_blob0"));
    ck_assert_uint_le(total, ORGS_EXPORT_TOTAL_MAX);
    json_decref(c);
}
END_TEST

/* A view's exports as a request sets them: the org's and the user's
 * fields, roles joined, metadata under both name forms, then the
 * session's own; clean values are the view's own strings (a request
 * copies nothing), a value with a control character is made safe. */
START_TEST(test_view_prepared)
{
    orgs_session_view_t v = {0};
    apr_array_header_t *roles = apr_array_make(pool, 2, sizeof(const char *));
    apr_array_header_t *meta = apr_array_make(pool, 2, sizeof(orgs_kv_t));
    orgs_kv_t *kv = apr_array_push(meta);
    const char *name = apr_pstrdup(pool, "acme");

    APR_ARRAY_PUSH(roles, const char *) = "admin";
    APR_ARRAY_PUSH(roles, const char *) = "dev";
    kv->key = "cost_center";
    kv->value = "42";
    v.org.id = "org_0000000000000001";
    v.org.name = name;
    v.org.display_name = "Acme\r\nX-Evil: 1";
    v.org.meta = meta;
    v.user.id = "usr_0000000000000001";
    v.member.roles = roles;
    v.conn_name = NULL; /* not exported */
    v.session.exports = exports_of("{\"sub\":\"s1\"}", NULL);
    orgs_export_view_prepare(&v, pool);

    ck_assert_ptr_eq(apr_table_get(v.ready_env, "ORG_NAME"), name);
    ck_assert_ptr_eq(apr_table_get(v.ready_headers, "X-Org-Name"), name);
    ck_assert_str_eq(apr_table_get(v.ready_env, "ORG_DISPLAY_NAME"), "Acme  X-Evil: 1");
    ck_assert_ptr_null(apr_table_get(v.ready_env, "ORG_CONNECTION"));
    ck_assert_str_eq(apr_table_get(v.ready_env, "ORG_ROLES"), "admin,dev");
    ck_assert_str_eq(apr_table_get(v.ready_env, "ORG_META_cost_center"), "42");
    ck_assert_str_eq(apr_table_get(v.ready_headers, "X-Org-Meta-cost-center"), "42");
    ck_assert_str_eq(apr_table_get(v.ready_env, "ORG_CLAIM_sub"), "s1");
    ck_assert_str_eq(apr_table_get(v.ready_headers, "X-Org-Claim-sub"), "s1");
    ck_assert_int_eq(apr_table_elts(v.ready_env)->nelts, 7);
    ck_assert_int_eq(apr_table_elts(v.ready_headers)->nelts, 7);
    /* no roles: set, empty */
    v.member.roles = NULL;
    orgs_export_view_prepare(&v, pool);
    ck_assert_str_eq(apr_table_get(v.ready_env, "ORG_ROLES"), "");
}
END_TEST

static Suite *export_suite(void)
{
    Suite *s = suite_create("export");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_names_and_values);
    tcase_add_test(tc, test_view_prepared);
    tcase_add_test(tc, test_protocol_claims_left_out);
    tcase_add_test(tc, test_untrusted_email_not_exported);
    tcase_add_test(tc, test_trusted_email_exported);
    tcase_add_test(tc, test_colliding_names_left_out);
    tcase_add_test(tc, test_values_made_safe);
    tcase_add_test(tc, test_oversized_keeps_identity);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(export_suite());
}
