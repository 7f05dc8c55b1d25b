/* Unit tests for src/core/admin*.c: the admin API's routes, callers,
 * bodies, pages and errors, against a real store. */
#include "testutil.h"
#include "admin.h"
#include "crypto.h"
#include "memo.h"

static apr_pool_t *pool;
static char *dir;
static orgs_store_t *st;
static orgs_err_t err;

static void setup(void)
{
    static const unsigned char ikm[32] = "0123456789abcdef0123456789abcdef";
    orgs_crypto_keys_t *keys;
    apr_pool_create(&pool, NULL);
    dir = testutil_tempdir(pool);
    ck_assert_ptr_nonnull(dir);
    ck_assert_int_eq(orgs_crypto_keys_derive(&keys, ikm, sizeof(ikm), pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_open(&st, dir, 0, 0, ORGS_STORE_CREATE, keys, pool, &err),
                     APR_SUCCESS);
}

static void teardown(void)
{
    char *d = strdup(dir);
    apr_pool_destroy(pool);
    testutil_rmtree(d);
    free(d);
    orgs_memo_clear_all(); /* decoded connections: nothing pins an entry any more */
}

static const orgs_admin_caller_t OPERATOR = {ORGS_ADMIN_OPERATOR, "ops", NULL, 1, 1};

/* One call; the answer's body is kept in *out (caller decrefs), status returned. */
static int call(const orgs_admin_caller_t *who, const char *method, const char *path,
                const char *query, const char *body, json_t **out)
{
    orgs_admin_req_t rq = {0};
    orgs_admin_resp_t rs;
    json_t *b = body ? json_loads(body, 0, NULL) : NULL;
    rq.method = method;
    rq.path = path;
    rq.query = apr_table_make(pool, 4);
    if (query) {
        char *q = apr_pstrdup(pool, query), *last, *kv;
        for (kv = apr_strtok(q, "&", &last); kv; kv = apr_strtok(NULL, "&", &last)) {
            char *eq = strchr(kv, '=');
            *eq = '\0';
            apr_table_set(rq.query, kv, eq + 1);
        }
    }
    rq.body = b;
    rq.caller = *who;
    orgs_admin_handle(st, &rq, &rs, pool);
    json_decref(b);
    if (out) {
        *out = rs.body;
    } else {
        json_decref(rs.body);
    }
    if (rs.status == 405) {
        ck_assert_ptr_nonnull(rs.allow);
    }
    return rs.status;
}

static const char *str_of(json_t *j, const char *k)
{
    return json_string_value(json_object_get(j, k));
}

START_TEST(org_crud_and_errors)
{
    json_t *j;
    ck_assert_int_eq(call(&OPERATOR, "POST", "/organizations", NULL,
                          "{\"name\":\"acme\",\"domains\":[\"acme.example\"]}", &j),
                     201);
    const char *id = apr_pstrdup(pool, str_of(j, "id"));
    ck_assert_str_eq(str_of(j, "label"), "acme");
    json_decref(j);
    ck_assert_int_eq(
        call(&OPERATOR, "GET", apr_pstrcat(pool, "/organizations/", id, NULL), NULL, NULL, NULL),
        200);
    ck_assert_int_eq(call(&OPERATOR, "GET", "/organizations/name/acme/", NULL, NULL, NULL), 200);
    ck_assert_int_eq(call(&OPERATOR, "POST", "/organizations", NULL, "{\"name\":\"acme\"}", &j),
                     409);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "statusCode")), 409);
    ck_assert_str_eq(str_of(j, "error"), "Conflict");
    json_decref(j);
    ck_assert_int_eq(call(&OPERATOR, "POST", "/organizations", NULL,
                          "{\"name\":\"other\",\"domains\":[\"acme.example\"]}", NULL),
                     409);
    ck_assert_int_eq(call(&OPERATOR, "GET", "/organizations/name/other", NULL, NULL, NULL), 404);
    ck_assert_int_eq(call(&OPERATOR, "POST", "/organizations", NULL, "{\"nam\":\"x\"}", NULL), 400);
    ck_assert_int_eq(call(&OPERATOR, "POST", "/organizations", NULL, "[1]", NULL), 400);
    ck_assert_int_eq(call(&OPERATOR, "POST", "/organizations", NULL, NULL, NULL), 400);
    ck_assert_int_eq(call(&OPERATOR, "PUT", "/organizations", NULL, "{}", NULL), 405);
    ck_assert_int_eq(call(&OPERATOR, "GET", "/nothing", NULL, NULL, NULL), 404);
    ck_assert_int_eq(
        call(&OPERATOR, "POST", "/organizations", NULL, "{\"label\":\"My Organization!\"}", &j),
        201);
    ck_assert_str_eq(str_of(j, "name"), "my-organization");
    json_decref(j);
    ck_assert_int_eq(call(&OPERATOR, "PATCH", apr_pstrcat(pool, "/organizations/", id, NULL), NULL,
                          "{\"name\":\"renamed\"}", NULL),
                     400);
    /* branding, as in Auth0's organization object: set, shown, checked, cleared */
    const char *path = apr_pstrcat(pool, "/organizations/", id, NULL);
    ck_assert_int_eq(call(&OPERATOR, "PATCH", path, NULL,
                          "{\"branding\":{\"logo_url\":\"https://cdn.acme.example/l.png\","
                          "\"colors\":{\"primary\":\"#0055aa\"}}}",
                          &j),
                     200);
    json_t *b = json_object_get(j, "branding");
    ck_assert_str_eq(str_of(b, "logo_url"), "https://cdn.acme.example/l.png");
    ck_assert_str_eq(str_of(json_object_get(b, "colors"), "primary"), "#0055aa");
    json_decref(j);
    ck_assert_int_eq(call(&OPERATOR, "PATCH", path, NULL,
                          "{\"branding\":{\"colors\":{\"primary\":\"red;}\"}}}", NULL),
                     400);
    ck_assert_int_eq(call(&OPERATOR, "PATCH", path, NULL,
                          "{\"branding\":{\"logo_url\":\"javascript:alert(1)\"}}", NULL),
                     400);
    ck_assert_int_eq(call(&OPERATOR, "PATCH", path, NULL, "{\"branding\":{\"font\":\"x\"}}", NULL),
                     400);
    ck_assert_int_eq(call(&OPERATOR, "GET", path, NULL, NULL, &j), 200);
    ck_assert_str_eq(str_of(json_object_get(json_object_get(j, "branding"), "colors"), "primary"),
                     "#0055aa");
    json_decref(j);
    ck_assert_int_eq(call(&OPERATOR, "PATCH", path, NULL,
                          "{\"branding\":{\"logo_url\":null,\"colors\":{\"primary\":null}}}", &j),
                     200);
    ck_assert_ptr_null(json_object_get(j, "branding"));
    json_decref(j);
    ck_assert_int_eq(
        call(&OPERATOR, "DELETE", apr_pstrcat(pool, "/organizations/", id, NULL), NULL, NULL, &j),
        204);
    ck_assert_ptr_null(j);
}
END_TEST

START_TEST(pages)
{
    json_t *j;
    for (int i = 0; i < 12; i++) {
        ck_assert_int_eq(call(&OPERATOR, "POST", "/organizations", NULL,
                              apr_psprintf(pool, "{\"name\":\"o%02d\"}", i), NULL),
                         201);
    }
    ck_assert_int_eq(call(&OPERATOR, "GET", "/organizations", "per_page=5&page=2", NULL, &j), 200);
    ck_assert_int_eq(json_array_size(j), 2);
    json_decref(j);
    ck_assert_int_eq(
        call(&OPERATOR, "GET", "/organizations", "per_page=5&include_totals=true", NULL, &j), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "total")), 12);
    ck_assert_int_eq(json_array_size(json_object_get(j, "organizations")), 5);
    json_decref(j);
    ck_assert_int_eq(call(&OPERATOR, "GET", "/organizations", "take=5", NULL, &j), 200);
    ck_assert_str_eq(str_of(j, "next"), "o04");
    json_decref(j);
    ck_assert_int_eq(call(&OPERATOR, "GET", "/organizations", "take=5&from=o09", NULL, &j), 200);
    ck_assert_int_eq(json_array_size(json_object_get(j, "organizations")), 2);
    ck_assert_ptr_null(json_object_get(j, "next"));
    json_decref(j);
    ck_assert_int_eq(call(&OPERATOR, "GET", "/organizations", "take=5&page=1", NULL, NULL), 400);
    ck_assert_int_eq(call(&OPERATOR, "GET", "/organizations", "per_page=101", NULL, NULL), 400);
    ck_assert_int_eq(call(&OPERATOR, "GET", "/organizations", "page=x", NULL, NULL), 400);
    ck_assert_int_eq(call(&OPERATOR, "GET", "/organizations", "include_totals=yes", NULL, NULL),
                     400);
}
END_TEST

START_TEST(usage_and_audit)
{
    json_t *j;
    orgs_admin_caller_t admin = {ORGS_ADMIN_ORG, "usr_x", NULL, 1, 1};
    ck_assert_int_eq(call(&OPERATOR, "POST", "/organizations", NULL, "{\"name\":\"used\"}", &j),
                     201);
    admin.org_id = apr_pstrdup(pool, str_of(j, "id"));
    json_decref(j);
    ck_assert_int_eq(call(&OPERATOR, "POST", "/organizations", NULL, "{\"name\":\"other\"}", NULL),
                     201);

    ck_assert_int_eq(call(&OPERATOR, "GET", "/organizations/used/stats", "days=7", NULL, &j), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "days")), 7);
    ck_assert_int_eq(json_array_size(json_object_get(j, "per_day")), 7);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "signins")), 0);
    json_decref(j);
    ck_assert_int_eq(call(&OPERATOR, "GET", "/organizations/used/stats", "days=0", NULL, NULL),
                     400);
    ck_assert_int_eq(call(&OPERATOR, "GET", "/organizations/used/stats", "days=401", NULL, NULL),
                     400);
    ck_assert_int_eq(call(&OPERATOR, "GET", "/organizations/none/stats", NULL, NULL, NULL), 404);
    /* an org admin: its own org's usage, not another's, not the log */
    ck_assert_int_eq(call(&admin, "GET", "/organizations/used/stats", NULL, NULL, NULL), 200);
    ck_assert_int_eq(call(&admin, "GET", "/organizations/other/stats", NULL, NULL, NULL), 403);
    ck_assert_int_eq(call(&admin, "GET", "/audit", NULL, NULL, NULL), 403);

    /* the log, one record at a time by cursor: both creations, in order */
    ck_assert_int_eq(call(&OPERATOR, "GET", "/audit", "take=1", NULL, &j), 200);
    json_t *recs = json_object_get(j, "records");
    ck_assert_int_eq(json_array_size(recs), 1);
    ck_assert_str_eq(str_of(json_array_get(recs, 0), "action"), "org.create");
    const char *next = apr_pstrdup(pool, str_of(j, "next"));
    json_decref(j);
    ck_assert_int_eq(
        call(&OPERATOR, "GET", "/audit", apr_pstrcat(pool, "take=1&from=", next, NULL), NULL, &j),
        200);
    recs = json_object_get(j, "records");
    ck_assert_int_eq(json_array_size(recs), 1);
    ck_assert_str_eq(str_of(json_object_get(json_array_get(recs, 0), "after"), "name"), "other");
    json_decref(j);
    ck_assert_int_eq(call(&OPERATOR, "GET", "/audit", "org=used", NULL, &j), 200);
    ck_assert_int_eq(json_array_size(json_object_get(j, "records")), 1);
    ck_assert(json_is_null(json_object_get(j, "next")));
    json_decref(j);
    ck_assert_int_eq(call(&OPERATOR, "GET", "/audit", "take=0", NULL, NULL), 400);
    ck_assert_int_eq(call(&OPERATOR, "POST", "/audit", NULL, "{}", NULL), 405);
}
END_TEST

START_TEST(org_admin_scope)
{
    json_t *j;
    orgs_admin_caller_t admin = {ORGS_ADMIN_ORG, "usr_x", NULL, 1, 1};
    ck_assert_int_eq(call(&OPERATOR, "POST", "/organizations", NULL, "{\"name\":\"mine\"}", &j),
                     201);
    admin.org_id = apr_pstrdup(pool, str_of(j, "id"));
    json_decref(j);
    ck_assert_int_eq(call(&OPERATOR, "POST", "/organizations", NULL, "{\"name\":\"theirs\"}", &j),
                     201);
    const char *theirs = apr_pstrdup(pool, str_of(j, "id"));
    json_decref(j);

    ck_assert_int_eq(call(&admin, "GET", apr_pstrcat(pool, "/organizations/", admin.org_id, NULL),
                          NULL, NULL, NULL),
                     200);
    ck_assert_int_eq(call(&admin, "GET", "/organizations/mine/members", NULL, NULL, NULL), 200);
    /* another org, existing or not, and routes not open to org admins */
    ck_assert_int_eq(
        call(&admin, "GET", apr_pstrcat(pool, "/organizations/", theirs, NULL), NULL, NULL, NULL),
        403);
    ck_assert_int_eq(call(&admin, "GET", "/organizations/theirs/members", NULL, NULL, NULL), 403);
    ck_assert_int_eq(call(&admin, "GET", "/organizations/ghost/members", NULL, NULL, NULL), 403);
    ck_assert_int_eq(call(&admin, "GET", "/organizations/name/theirs", NULL, NULL, NULL), 403);
    ck_assert_int_eq(call(&admin, "GET", "/organizations", NULL, NULL, NULL), 403);
    ck_assert_int_eq(call(&admin, "GET", "/connections", NULL, NULL, NULL), 403);
    ck_assert_int_eq(call(&admin, "GET", "/users", NULL, NULL, NULL), 403);
    ck_assert_int_eq(call(&admin, "DELETE", "/organizations/mine", NULL, NULL, NULL), 403);
    ck_assert_int_eq(
        call(&admin, "GET", "/organizations/mine/enabled_connections", NULL, NULL, NULL), 403);

    /* a read-only token cannot write; a write-only one cannot read */
    orgs_admin_caller_t ro = {ORGS_ADMIN_TOKEN, "tok_x", NULL, 1, 0};
    orgs_admin_caller_t wo = {ORGS_ADMIN_TOKEN, "tok_y", NULL, 0, 1};
    ck_assert_int_eq(call(&ro, "GET", "/organizations", NULL, NULL, NULL), 200);
    ck_assert_int_eq(call(&ro, "POST", "/organizations", NULL, "{\"name\":\"z\"}", NULL), 403);
    ck_assert_int_eq(call(&wo, "GET", "/organizations", NULL, NULL, NULL), 403);
    orgs_admin_caller_t nobody = {0};
    ck_assert_int_eq(call(&nobody, "GET", "/organizations", NULL, NULL, NULL), 403);
}
END_TEST

START_TEST(route_table)
{
    const char *m, *pat;
    int org_admin;
    apr_size_t n = 0;
    while (orgs_admin_route(n, &m, &pat, &org_admin)) {
        ck_assert_int_eq(pat[0], '/');
        n++;
    }
    ck_assert_int_gt(n, 30);
    ck_assert_str_eq(orgs_admin_path_in("/orgs/api/v1/organizations/org_x/members", pool),
                     "/organizations/org_x/members");
    ck_assert_str_eq(orgs_admin_path_in("/nothing/here", pool), "/nothing/here");
    ck_assert_str_eq(orgs_admin_reason(413), "Payload Too Large");
}
END_TEST

static Suite *admin_suite(void)
{
    Suite *s = suite_create("admin");
    TCase *tc = tcase_create("admin");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, org_crud_and_errors);
    tcase_add_test(tc, pages);
    tcase_add_test(tc, org_admin_scope);
    tcase_add_test(tc, usage_and_audit);
    tcase_add_test(tc, route_table);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(admin_suite());
}
