/* Unit tests for a whole admin API request in capture mode (capture.c's
 * orgs_store_capture_*, env.c's transaction of the request): for each
 * write of the API, the capture leaves the store as it was, and its change
 * set, applied to a replica of the store before the write, gives the very
 * store the direct write gives (read inside the capture, before the roll
 * back); the node's own apply gives it too, with the audit records. */
#include "orgs_build.h"

#include "fixture.h"
#include "admin.h"
#include "json.h"
#include "pgstore.h"

static const orgs_admin_caller_t OPERATOR = {ORGS_ADMIN_OPERATOR, "ops", NULL, 1, 1};
static apr_int64_t seq;

/* The store's export as text, the format line left out. */
static char *export_text(orgs_store_t *st)
{
    FILE *fp = tmpfile();
    apr_size_t n;
    char line[8192], *all = "";
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(orgs_store_export(st, fp, &n, pool, &err), APR_SUCCESS);
    rewind(fp);
    while (fgets(line, sizeof(line), fp)) {
        if (!strstr(line, "\"type\":\"format\"") && !strstr(line, "\"type\": \"format\"")) {
            all = apr_pstrcat(pool, all, line, NULL);
        }
    }
    fclose(fp);
    return all;
}

/* A replica of st as it is now, in a fresh directory. */
static orgs_store_t *replica_of(orgs_store_t *st)
{
    orgs_store_t *b = open_in(testutil_tempdir(pool), keys);
    apr_size_t n;
    FILE *fp = tmpfile();
    ck_assert_int_eq(orgs_store_export(st, fp, &n, pool, &err), APR_SUCCESS);
    rewind(fp);
    ck_assert_int_eq(orgs_store_replica_rebuild(b, fp, ++seq, "db", &n, pool, &err), APR_SUCCESS);
    fclose(fp);
    return b;
}

static apr_size_t audit_count(orgs_store_t *st)
{
    apr_array_header_t *list;
    const char *next;
    orgs_audit_query_t q = {NULL, NULL, 0, 1000};
    ck_assert_int_eq(orgs_store_audit_list(st, &q, &list, &next, pool, &err), APR_SUCCESS);
    return (apr_size_t)list->nelts;
}

/* One request through the capture: its status; *body kept when asked. */
static int round_trip(orgs_store_t *a, const char *method, const char *path, const char *body,
                      char **change_out, json_t **body_out)
{
    orgs_store_t *b = replica_of(a);
    char *before = export_text(a), *direct, *change;
    apr_array_header_t *audit;
    apr_size_t audits = audit_count(a);
    orgs_store_capture_t *cap;
    orgs_admin_req_t rq = {0};
    orgs_admin_resp_t rs;
    json_t *jb = body ? json_loads(body, 0, NULL) : NULL;
    rq.method = method;
    rq.path = path;
    rq.query = apr_table_make(pool, 1);
    rq.body = jb;
    rq.caller = OPERATOR;
    rq.login_url = "https://sso.example/orgs/login";

    ck_assert_int_eq(orgs_store_capture_begin(a, &cap, pool, &err), APR_SUCCESS);
    orgs_admin_handle(a, &rq, &rs, pool);
    direct = export_text(a); /* the direct write, read inside the capture */
    ck_assert_int_eq(orgs_store_capture_end(a, cap, rs.status < 300, &change, &audit, pool, &err),
                     APR_SUCCESS);
    json_decref(jb);
    /* rolled back: the store is as it was, no audit record yet */
    ck_assert_str_eq(export_text(a), before);
    ck_assert_uint_eq(audit_count(a), audits);
    if (rs.status < 300) {
        ck_assert_ptr_nonnull(change);
        ck_assert_ptr_nonnull(audit);
        /* another node, as its replicator applies the change */
        ck_assert_int_eq(orgs_store_replica_apply(b, change, ++seq, pool, &err), APR_SUCCESS);
        ck_assert_str_eq(export_text(b), direct);
        assert_clean(b);
        /* this node, with its audit records */
        ck_assert_int_eq(orgs_store_capture_apply_local(a, change, audit, pool, &err), APR_SUCCESS);
        ck_assert_str_eq(export_text(a), direct);
        ck_assert_uint_eq(audit_count(a), audits + (apr_size_t)audit->nelts);
        assert_clean(a);
    } else {
        ck_assert_ptr_null(change);
        ck_assert_str_eq(direct, before); /* a refused write left nothing either */
    }
    orgs_store_close(b);
    if (change_out) {
        *change_out = change;
    }
    if (body_out) {
        *body_out = rs.body;
    } else {
        json_decref(rs.body);
    }
    return rs.status;
}

/* Whether the change set puts (del 0) or deletes (1) a line of type. */
static int has_line(const char *change, int del, const char *type)
{
    json_t *set = json_loads(change, 0, NULL), *line;
    size_t i;
    int found = 0;
    ck_assert_ptr_nonnull(set);
    json_array_foreach(json_object_get(set, del ? "del" : "put"), i, line)
    {
        found |= strcmp(json_string_value(json_object_get(line, "type")), type) == 0;
    }
    json_decref(set);
    return found;
}

static const char *at(const char *a, const char *b, const char *c)
{
    return apr_pstrcat(pool, a, b, c, NULL);
}

/* One request of a table: its status, and the types of line (separated
 * by spaces) its change set must put and delete. */
typedef struct {
    int status;
    const char *method, *path, *body, *put, *del;
} step_t;

/* Whether the change set puts (del 0) or deletes (1) a line of each of types. */
static int has_lines(const char *change, int del, const char *types)
{
    char *last, *list = apr_pstrdup(pool, types ? types : "");
    int all = 1;
    for (char *t = apr_strtok(list, " ", &last); t; t = apr_strtok(NULL, " ", &last)) {
        all &= has_line(change, del, t);
    }
    return all;
}

static void run_steps(orgs_store_t *a, const step_t *steps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const step_t *s = &steps[i];
        char *change = NULL;
        int status = round_trip(a, s->method, s->path, s->body, &change, NULL);
        ck_assert_msg(status == s->status, "%s %s: %d, not %d", s->method, s->path, status,
                      s->status);
        ck_assert_msg(has_lines(change, 0, s->put), "%s %s: not put: %s", s->method, s->path,
                      s->put);
        ck_assert_msg(has_lines(change, 1, s->del), "%s %s: not deleted: %s", s->method, s->path,
                      s->del);
    }
}
#define RUN_STEPS(a, steps) run_steps(a, steps, sizeof(steps) / sizeof(steps[0]))

/* A POST answered 201 whose change set puts a line of type: the id in
 * its body. */
static const char *created_id(orgs_store_t *a, const char *path, const char *body, const char *type)
{
    char *change;
    json_t *j;
    ck_assert_int_eq(round_trip(a, "POST", path, body, &change, &j), 201);
    ck_assert(has_line(change, 0, type));
    const char *id = apr_pstrdup(pool, json_string_value(json_object_get(j, "id")));
    json_decref(j);
    return id;
}

START_TEST(org_writes)
{
    orgs_store_t *a = open_store();
    const char *id = created_id(a, "/organizations",
                                "{\"name\":\"acme\",\"display_name\":\"Acme\",\"metadata\":"
                                "{\"tier\":\"gold\"},\"domains\":[\"acme.example\"]}",
                                "org");
    const char *patch = "{\"display_name\":\"ACME\",\"metadata\":{\"plan\":\"pro\"},"
                        "\"branding\":{\"logo_url\":\"https://cdn.acme.example/l.png\","
                        "\"colors\":{\"primary\":\"#0055aa\"}}}";
    const step_t steps[] = {
        {200, "PATCH", "/organizations/acme", patch, "org", NULL},
        {201, "POST", "/organizations/acme/domains", "{\"domain\":\"acme.io\"}", NULL, NULL},
        {204, "DELETE", "/organizations/acme/domains/acme.example", NULL, NULL, NULL},
        /* refused by the store's own rules: nothing to write anywhere */
        {409, "POST", "/organizations", "{\"name\":\"acme\"}", NULL, NULL},
        {409, "POST", "/organizations", "{\"name\":\"other\",\"domains\":[\"acme.io\"]}", NULL,
         NULL},
        {204, "DELETE", at("/organizations/", id, ""), NULL, NULL, "org"},
    };
    RUN_STEPS(a, steps);
    orgs_store_close(a);
}
END_TEST

START_TEST(conn_and_enable_writes)
{
    orgs_store_t *a = open_store();
    char *change;
    mk_org(a, "acme", NULL);
    ck_assert_int_eq(round_trip(a, "POST", "/connections",
                                "{\"name\":\"okta\",\"strategy\":\"oidc\",\"options\":{"
                                "\"issuer\":\"https://idp.example\",\"client_id\":\"c1\","
                                "\"client_secret\":\"s1\"}}",
                                &change, NULL),
                     201);
    ck_assert(has_line(change, 0, "conn"));
    ck_assert_ptr_nonnull(strstr(change, "sealed_secret"));
    ck_assert_ptr_null(strstr(change, "\"s1\"")); /* the secret travels sealed */
    const char *enabled = "/organizations/acme/enabled_connections";
    const step_t steps[] = {
        {200, "PATCH", "/connections/okta",
         "{\"display_name\":\"Okta\",\"options\":{\"client_secret\":\"s2\"}}", NULL, NULL},
        {201, "POST", enabled, "{\"connection_id\":\"okta\",\"assign_membership_on_login\":true}",
         "enable", NULL},
        {200, "PATCH", at(enabled, "/okta", ""), "{\"assign_membership_on_login\":false}", NULL,
         NULL},
        {204, "DELETE", at(enabled, "/okta", ""), NULL, NULL, "enable"},
    };
    RUN_STEPS(a, steps);
    /* a connection's delete takes its users, memberships and enablements */
    const char *org = mk_org(a, "beta", NULL);
    const char *conn = mk_conn(a, "gone", "x");
    const char *user = mk_user(a, conn, "sub-1", "u@beta.example");
    ck_assert_int_eq(orgs_store_org_enable_conn(a, org, conn, 1, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(a, org, user, NULL, pool, &err), APR_SUCCESS);
    const step_t gone[] = {
        {204, "DELETE", "/connections/gone", NULL, NULL, "conn user member enable"},
    };
    RUN_STEPS(a, gone);
    orgs_store_close(a);
}
END_TEST

START_TEST(member_role_invite_writes)
{
    orgs_store_t *a = open_store();
    const char *org = mk_org(a, "acme", NULL), *conn = mk_conn(a, "idp", NULL);
    const char *u1 = mk_user(a, conn, "s1", "one@acme.example");
    const char *u2 = mk_user(a, conn, "s2", "two@acme.example");
    const char *roles = at("/organizations/acme/members/", u1, "/roles");
    ck_assert_int_eq(orgs_store_org_enable_conn(a, org, conn, 0, pool, &err), APR_SUCCESS);
    const step_t members[] = {
        {204, "POST", "/organizations/acme/members",
         apr_psprintf(pool, "{\"members\":[\"%s\",\"%s\"],\"roles\":[\"viewer\"]}", u1, u2),
         "member", NULL},
        {204, "POST", roles, "{\"roles\":[\"admin\"]}", NULL, NULL},
        {204, "DELETE", roles, "{\"roles\":[\"viewer\"]}", NULL, NULL},
        {204, "DELETE", "/organizations/acme/members",
         apr_psprintf(pool, "{\"members\":[\"%s\"]}", u2), NULL, "member"},
    };
    RUN_STEPS(a, members);
    const char *inv = created_id(a, "/organizations/acme/invitations",
                                 "{\"invitee\":{\"email\":\"new@partner.example\"},"
                                 "\"roles\":[\"viewer\"]}",
                                 "invite");
    const step_t invites[] = {
        {204, "DELETE", at("/organizations/acme/invitations/", inv, ""), NULL, NULL, "invite"},
        /* an org's delete takes its memberships, enablements and invitations */
        {201, "POST", "/organizations/acme/invitations",
         "{\"invitee\":{\"email\":\"late@partner.example\"}}", NULL, NULL},
        {204, "DELETE", "/organizations/acme", NULL, NULL, "member invite enable"},
    };
    RUN_STEPS(a, invites);
    orgs_store_close(a);
}
END_TEST

/* Inside a capture, an operation that fails leaves nothing of itself
 * (its nested transaction aborted) while the ones before it stay; and a
 * capture ended without building only rolls back. */
START_TEST(nested_failure)
{
    orgs_store_t *a = open_store();
    orgs_store_capture_t *cap;
    char *change;
    apr_array_header_t *audit;
    orgs_org_t *o;
    ck_assert_int_eq(orgs_store_capture_begin(a, &cap, pool, &err), APR_SUCCESS);
    mk_org(a, "one", strs(1, "one.example"));
    o = apr_pcalloc(pool, sizeof(*o));
    o->name = "two";
    o->domains = strs(1, "one.example"); /* taken: the whole create fails */
    ck_assert_int_eq(orgs_store_org_create(a, o, pool, &err), APR_EEXIST);
    ck_assert_int_eq(orgs_store_org_get(a, "two", &o, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_org_get(a, "one", &o, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_capture_end(a, cap, 1, &change, &audit, pool, &err), APR_SUCCESS);
    /* the failed create's org noted, but gone: at most a delete of its id */
    json_t *set = json_loads(change, 0, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(set, "put")), 1);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(json_object_get(set, "put"), 0), "name")),
        "one");
    json_decref(set);
    ck_assert_int_eq(orgs_store_org_get(a, "one", &o, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_capture_begin(a, &cap, pool, &err), APR_SUCCESS);
    mk_org(a, "three", NULL);
    ck_assert_int_eq(orgs_store_capture_end(a, cap, 0, &change, &audit, pool, &err), APR_SUCCESS);
    ck_assert_ptr_null(change);
    ck_assert_int_eq(orgs_store_org_get(a, "three", &o, pool, &err), APR_NOTFOUND);
    /* writes outside a capture are plain again */
    mk_org(a, "four", NULL);
    ck_assert_int_eq(orgs_store_org_get(a, "four", &o, pool, &err), APR_SUCCESS);
    orgs_store_close(a);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, org_writes);
    tcase_add_test(tc, conn_and_enable_writes);
    tcase_add_test(tc, member_role_invite_writes);
    tcase_add_test(tc, nested_failure);
}

int main(void)
{
    return fixture_run("capture_admin", add_tests);
}
