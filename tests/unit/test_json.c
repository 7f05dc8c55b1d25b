/* Unit tests for src/core/json.c: each object's shape, round trips through
 * the reader, and what the reader refuses (wrong types, missing members,
 * unknown members, malformed times). */
#include "testutil.h"
#include "json.h"

#include <stdarg.h>

static apr_pool_t *pool;
static orgs_err_t err;

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* 2025-01-10T09:12:44Z, and the same with microseconds */
#define T0 ((apr_time_t)1736500364 * APR_USEC_PER_SEC)
#define T1 (T0 + 120)

static void setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    memset(&err, 0, sizeof(err));
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static void strs_eq(const apr_array_header_t *a, const apr_array_header_t *b)
{
    ck_assert_int_eq(a->nelts, b->nelts);
    for (int i = 0; i < a->nelts; i++) {
        ck_assert_str_eq(APR_ARRAY_IDX(a, i, const char *), APR_ARRAY_IDX(b, i, const char *));
    }
}

static orgs_org_t *sample_org(void)
{
    orgs_org_t *o = apr_pcalloc(pool, sizeof(*o));
    o->id = "org_AAAAAAAAAAAAAAAA";
    o->name = "acme";
    o->display_name = "Acme Corp";
    o->meta = apr_array_make(pool, 2, sizeof(orgs_kv_t));
    orgs_kv_t *kv = apr_array_push(o->meta);
    kv->key = "license";
    kv->value = "premium";
    kv = apr_array_push(o->meta);
    kv->key = "tier";
    kv->value = "gold";
    o->domains = testutil_strs(pool, 2, "acme.com", "acme.org");
    o->created = T0;
    o->updated = T1;
    return o;
}

static orgs_conn_t *sample_conn(void)
{
    orgs_conn_t *cn = apr_pcalloc(pool, sizeof(*cn));
    cn->id = "con_BBBBBBBBBBBBBBBB";
    cn->name = "okta";
    cn->display_name = "Okta";
    cn->issuer = "https://idp.example.com";
    cn->client_id = "client-1";
    cn->client_secret = "s3cr3t-never-shown";
    cn->scopes = "openid email profile";
    cn->auth_method = "client_secret_basic";
    cn->created = T0;
    cn->updated = T0;
    return cn;
}

static orgs_user_t *sample_user(void)
{
    orgs_user_t *u = apr_pcalloc(pool, sizeof(*u));
    u->id = "usr_CCCCCCCCCCCCCCCC";
    u->conn_id = "con_BBBBBBBBBBBBBBBB";
    u->sub = "sub-1";
    u->email = "Alice@example.com";
    u->name = "Alice";
    u->created = T0;
    u->last_login = T1;
    return u;
}

static orgs_member_t *sample_member(void)
{
    orgs_member_t *m = apr_pcalloc(pool, sizeof(*m));
    m->org_id = "org_AAAAAAAAAAAAAAAA";
    m->user_id = "usr_CCCCCCCCCCCCCCCC";
    m->roles = testutil_strs(pool, 2, "admin", "billing");
    m->created = T1;
    return m;
}

static orgs_invite_t *sample_invite(void)
{
    orgs_invite_t *inv = apr_pcalloc(pool, sizeof(*inv));
    inv->id = "inv_DDDDDDDDDDDDDDDD";
    inv->org_id = "org_AAAAAAAAAAAAAAAA";
    inv->email = "bob@example.com";
    inv->roles = testutil_strs(pool, 0);
    inv->created = T0;
    inv->expires = T0 + 7 * 86400 * APR_USEC_PER_SEC;
    return inv;
}

static orgs_enabled_conn_t *sample_enabled(void)
{
    orgs_enabled_conn_t *e = apr_pcalloc(pool, sizeof(*e));
    e->conn_id = "con_BBBBBBBBBBBBBBBB";
    e->conn_name = "okta";
    e->conn_display_name = "Okta";
    e->auto_membership = 1;
    e->require = "claim:hd=acme.com";
    return e;
}

/* The members of j, in order, comma-separated. */
static const char *keys(const json_t *j)
{
    const char *k, *s = "";
    json_t *v;
    json_object_foreach((json_t *)j, k, v)
    {
        s = *s ? apr_pstrcat(pool, s, ",", k, NULL) : k;
    }
    return apr_pstrdup(pool, s);
}

static const char *sval(const json_t *j, const char *k)
{
    return json_string_value(json_object_get(j, k));
}

/* ---- shapes */

START_TEST(org_shape)
{
    json_t *j = orgs_json_org(sample_org());
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(keys(j), "id,name,display_name,metadata,domains,created_at,updated_at");
    ck_assert_str_eq(sval(j, "display_name"), "Acme Corp");
    ck_assert_str_eq(sval(json_object_get(j, "metadata"), "tier"), "gold");
    ck_assert_str_eq(sval(j, "created_at"), "2025-01-10T09:12:44Z");
    ck_assert_str_eq(sval(j, "updated_at"), "2025-01-10T09:12:44.000120Z");
    ck_assert_int_eq(json_array_size(json_object_get(j, "domains")), 2);
    json_decref(j);
}
END_TEST

START_TEST(conn_shape_has_no_secret)
{
    json_t *j = orgs_json_conn(sample_conn());
    ck_assert_str_eq(keys(j), "id,name,display_name,issuer,client_id,client_secret_set,scopes,"
                              "auth_method,created_at,updated_at");
    ck_assert(json_is_true(json_object_get(j, "client_secret_set")));
    char *dump = json_dumps(j, 0);
    ck_assert_ptr_null(strstr(dump, "s3cr3t"));
    free(dump);
    json_decref(j);
}
END_TEST

START_TEST(other_shapes)
{
    orgs_user_t *u = sample_user();
    u->sub = NULL;
    u->last_login = 0;
    json_t *j = orgs_json_user(u);
    ck_assert_str_eq(keys(j), "id,connection_id,sub,email,name,created_at,last_login");
    ck_assert(json_is_null(json_object_get(j, "sub")));
    ck_assert(json_is_null(json_object_get(j, "last_login")));
    json_decref(j);
    j = orgs_json_member(sample_member());
    ck_assert_str_eq(keys(j), "org_id,user_id,roles,created_at");
    json_decref(j);
    j = orgs_json_invite(sample_invite());
    ck_assert_str_eq(keys(j), "id,org_id,email,roles,created_at,expires_at,inviter,any_email");
    ck_assert_int_eq(json_array_size(json_object_get(j, "roles")), 0);
    json_decref(j);
    j = orgs_json_enabled_conn(sample_enabled());
    ck_assert_str_eq(keys(j),
                     "connection_id,name,display_name,auto_membership,auto_membership_condition");
    ck_assert(json_is_true(json_object_get(j, "auto_membership")));
    json_decref(j);
}
END_TEST

/* ---- round trips */

START_TEST(org_round_trip)
{
    orgs_org_t *a = sample_org(), *b = NULL;
    json_t *j = orgs_json_org(a);
    ck_assert_int_eq(orgs_json_org_from(j, NULL, &b, pool, &err), APR_SUCCESS);
    json_decref(j);
    ck_assert_str_eq(b->id, a->id);
    ck_assert_str_eq(b->name, a->name);
    ck_assert_str_eq(b->display_name, a->display_name);
    ck_assert_int_eq(b->meta->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(b->meta, 0, orgs_kv_t).key, "license");
    ck_assert_str_eq(APR_ARRAY_IDX(b->meta, 1, orgs_kv_t).value, "gold");
    strs_eq(b->domains, a->domains);
    ck_assert(b->created == a->created);
    ck_assert(b->updated == a->updated); /* microseconds kept */
    ck_assert_ptr_null(b->logo_url);
}
END_TEST

START_TEST(org_branding_round_trip)
{
    orgs_org_t *a = sample_org(), *b = NULL;
    a->logo_url = "https://cdn.example.com/l.png";
    a->color_page_background = "#f2f6fb";
    json_t *j = orgs_json_org(a);
    char *text = json_dumps(json_object_get(j, "branding"), JSON_COMPACT);
    ck_assert_str_eq(text, "{\"logo_url\":\"https://cdn.example.com/l.png\",\"colors\":"
                           "{\"primary\":null,\"page_background\":\"#f2f6fb\"}}");
    free(text);
    ck_assert_int_eq(orgs_json_org_from(j, NULL, &b, pool, &err), APR_SUCCESS);
    json_decref(j);
    ck_assert_str_eq(b->logo_url, a->logo_url);
    ck_assert_ptr_null(b->color_primary);
    ck_assert_str_eq(b->color_page_background, "#f2f6fb");
    /* an unknown member of the branding is refused, as anywhere else */
    j = orgs_json_org(a);
    json_object_set_new(json_object_get(j, "branding"), "font", json_string("x"));
    ck_assert_int_eq(orgs_json_org_from(j, NULL, &b, pool, &err), APR_EINVAL);
    json_decref(j);
}
END_TEST

START_TEST(conn_round_trip)
{
    orgs_conn_t *a = sample_conn(), *b = NULL;
    json_t *j = orgs_json_conn(a);
    ck_assert_int_eq(orgs_json_conn_from(j, NULL, &b, pool, &err), APR_SUCCESS);
    json_decref(j);
    ck_assert_str_eq(b->issuer, a->issuer);
    ck_assert_str_eq(b->client_id, a->client_id);
    ck_assert_str_eq(b->scopes, a->scopes);
    ck_assert_str_eq(b->auth_method, a->auth_method);
    ck_assert_ptr_null(b->client_secret);
    ck_assert(b->created == a->created);
}
END_TEST

START_TEST(user_member_invite_round_trips)
{
    orgs_user_t *u = sample_user(), *u2 = NULL;
    u->email = NULL;
    u->name = NULL;
    json_t *j = orgs_json_user(u);
    ck_assert_int_eq(orgs_json_user_from(j, NULL, &u2, pool, &err), APR_SUCCESS);
    json_decref(j);
    ck_assert_str_eq(u2->sub, "sub-1");
    ck_assert_ptr_null(u2->email);
    ck_assert_ptr_null(u2->name);
    ck_assert(u2->last_login == T1);

    orgs_member_t *m = sample_member(), *m2 = NULL;
    j = orgs_json_member(m);
    ck_assert_int_eq(orgs_json_member_from(j, NULL, &m2, pool, &err), APR_SUCCESS);
    json_decref(j);
    ck_assert_str_eq(m2->user_id, m->user_id);
    strs_eq(m2->roles, m->roles);

    orgs_invite_t *inv = sample_invite(), *inv2 = NULL;
    j = orgs_json_invite(inv);
    ck_assert_int_eq(orgs_json_invite_from(j, NULL, &inv2, pool, &err), APR_SUCCESS);
    json_decref(j);
    ck_assert_str_eq(inv2->email, inv->email);
    ck_assert_int_eq(inv2->roles->nelts, 0);
    ck_assert(inv2->expires == inv->expires);

    orgs_enabled_conn_t *e = sample_enabled(), *e2 = NULL;
    j = orgs_json_enabled_conn(e);
    ck_assert_int_eq(orgs_json_enabled_conn_from(j, NULL, &e2, pool, &err), APR_SUCCESS);
    json_decref(j);
    ck_assert_str_eq(e2->conn_id, e->conn_id);
    ck_assert_int_eq(e2->auto_membership, 1);
    ck_assert_str_eq(e2->require, "claim:hd=acme.com");
    e->require = NULL; /* none: null, read back as NULL */
    j = orgs_json_enabled_conn(e);
    ck_assert(json_is_null(json_object_get(j, "auto_membership_condition")));
    ck_assert_int_eq(orgs_json_enabled_conn_from(j, NULL, &e2, pool, &err), APR_SUCCESS);
    json_decref(j);
    ck_assert_ptr_null(e2->require);
}
END_TEST

START_TEST(extra_members_named_by_the_caller)
{
    static const char *const extra[] = {"type", NULL};
    orgs_org_t *o = NULL;
    json_t *j = orgs_json_org(sample_org());
    json_object_set_new(j, "type", json_string("org"));
    ck_assert_int_eq(orgs_json_org_from(j, extra, &o, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(o->name, "acme");
    json_decref(j);
}
END_TEST

START_TEST(metadata_sorted_by_key)
{
    orgs_org_t *o = NULL;
    json_t *j = orgs_json_org(sample_org());
    json_t *meta = json_pack("{s:s, s:s, s:s}", "zeta", "1", "alpha", "2", "mid", "3");
    json_object_set_new(j, "metadata", meta);
    ck_assert_int_eq(orgs_json_org_from(j, NULL, &o, pool, &err), APR_SUCCESS);
    json_decref(j);
    ck_assert_int_eq(o->meta->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(o->meta, 0, orgs_kv_t).key, "alpha");
    ck_assert_str_eq(APR_ARRAY_IDX(o->meta, 2, orgs_kv_t).key, "zeta");
}
END_TEST

START_TEST(times_ok)
{
    static const struct {
        const char *in;
        apr_time_t out;
    } v[] = {
        {"2025-01-10T09:12:44Z", T0},
        {"2025-01-10T09:12:44.000120Z", T1},
        {"2025-01-10T09:12:44.5Z", T0 + 500000},
        {"2025-01-10T09:12:44.000000Z", T0},
        {"1970-01-01T00:00:01Z", APR_USEC_PER_SEC},
        {"2024-02-29T00:00:00Z", (apr_time_t)1709164800 * APR_USEC_PER_SEC},
        {"9999-12-31T23:59:59Z", (apr_time_t)253402300799 * APR_USEC_PER_SEC},
    };
    for (apr_size_t i = 0; i < N(v); i++) {
        apr_time_t t = -1;
        json_t *s = json_string(v[i].in);
        ck_assert_msg(orgs_json_time_from(s, &t) == APR_SUCCESS, "rejected %s", v[i].in);
        ck_assert_msg(t == v[i].out, "%s read as %" APR_TIME_T_FMT, v[i].in, t);
        json_decref(s);
    }
    apr_time_t t = -1;
    ck_assert_int_eq(orgs_json_time_from(json_null(), &t), APR_SUCCESS);
    ck_assert(t == 0);
    json_t *s = orgs_json_time(0);
    ck_assert(json_is_null(s));
    s = orgs_json_time(T1);
    ck_assert_int_eq(orgs_json_time_from(s, &t), APR_SUCCESS);
    ck_assert(t == T1);
    json_decref(s);
}
END_TEST

/* ---- rejections */

START_TEST(times_rejected)
{
    static const char *const bad[] = {
        "2025-02-30T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2025-01-10 09:12:44Z",
        "2025-01-10T09:12:44",
        "2025-01-10T09:12:44+01:00",
        "2025-01-10t09:12:44Z",
        "2025-01-10T09:12:44z",
        "2025-01-10T24:00:00Z",
        "2025-01-10T09:60:00Z",
        "2025-01-10T09:12:60Z",
        "2025-13-10T09:12:44Z",
        "2025-00-10T09:12:44Z",
        "2025-01-00T09:12:44Z",
        "2025-01-32T09:12:44Z",
        "1969-12-31T23:59:59Z",
        "1970-01-01T00:00:00Z",
        "2025-01-10T09:12:44.Z",
        "2025-01-10T09:12:44.1234567Z",
        "2025-1-10T09:12:44Z",
        "+025-01-10T09:12:44Z",
        "2025-01-10T09:12:44ZZ",
        "",
        "yesterday",
        "2025-01-10T09:1x:44Z",
        "2025-01-10T-9:12:44Z",
    };
    for (apr_size_t i = 0; i < N(bad); i++) {
        apr_time_t t = 1;
        json_t *s = json_string(bad[i]);
        ck_assert_msg(orgs_json_time_from(s, &t) == APR_EINVAL, "accepted %s", bad[i]);
        ck_assert(t == 0);
        json_decref(s);
    }
    json_t *n = json_integer(1736500364);
    apr_time_t t;
    ck_assert_int_eq(orgs_json_time_from(n, &t), APR_EINVAL); /* not µs integers any more */
    json_decref(n);
    ck_assert_int_eq(orgs_json_time_from(json_true(), &t), APR_EINVAL);
}
END_TEST

/* Reads j as object kind k (the order of objs below); whether an object
 * came out goes to *got. */
static apr_status_t read_kind(int k, const json_t *j, int *got)
{
    orgs_org_t *o = NULL;
    orgs_conn_t *cn = NULL;
    orgs_user_t *u = NULL;
    orgs_member_t *m = NULL;
    orgs_invite_t *inv = NULL;
    orgs_enabled_conn_t *e = NULL;
    apr_status_t rv;
    switch (k) {
    case 0:
        rv = orgs_json_org_from(j, NULL, &o, pool, &err);
        break;
    case 1:
        rv = orgs_json_conn_from(j, NULL, &cn, pool, &err);
        break;
    case 2:
        rv = orgs_json_user_from(j, NULL, &u, pool, &err);
        break;
    case 3:
        rv = orgs_json_member_from(j, NULL, &m, pool, &err);
        break;
    case 4:
        rv = orgs_json_invite_from(j, NULL, &inv, pool, &err);
        break;
    default:
        rv = orgs_json_enabled_conn_from(j, NULL, &e, pool, &err);
        break;
    }
    *got = o || cn || u || m || inv || e;
    return rv;
}

/* Removes each member of the shape in turn: every one is required. */
START_TEST(missing_members)
{
    json_t *objs[] = {
        orgs_json_org(sample_org()),       orgs_json_conn(sample_conn()),
        orgs_json_user(sample_user()),     orgs_json_member(sample_member()),
        orgs_json_invite(sample_invite()), orgs_json_enabled_conn(sample_enabled()),
    };
    for (apr_size_t o = 0; o < N(objs); o++) {
        const char *k;
        json_t *v;
        int got = 0;
        ck_assert_int_eq(read_kind((int)o, objs[o], &got), APR_SUCCESS);
        ck_assert(got);
        json_object_foreach(objs[o], k, v)
        {
            json_t *j = json_deep_copy(objs[o]);
            json_object_del(j, k);
            memset(&err, 0, sizeof(err));
            if (strcmp(k, "auto_membership_condition") == 0 || strcmp(k, "inviter") == 0 ||
                strcmp(k, "any_email") == 0) {
                /* optional members: exports made before conditions, inviters and
                 * the email option lack them */
                ck_assert_int_eq(read_kind((int)o, j, &got), APR_SUCCESS);
                ck_assert(got);
                json_decref(j);
                continue;
            }
            ck_assert_msg(read_kind((int)o, j, &got) == APR_EINVAL,
                          "object %d without '%s' accepted", (int)o, k);
            ck_assert(!got);
            ck_assert_msg(strstr(err.msg, "missing") && strstr(err.msg, k), "got '%s'", err.msg);
            json_decref(j);
        }
        json_decref(objs[o]);
    }
}
END_TEST

/* One member replaced by a value of the wrong type. */
static void org_rejects(const char *key, json_t *value, const char *what)
{
    orgs_org_t *o = NULL;
    json_t *j = orgs_json_org(sample_org());
    json_object_set_new(j, key, value);
    memset(&err, 0, sizeof(err));
    ck_assert_msg(orgs_json_org_from(j, NULL, &o, pool, &err) == APR_EINVAL, "%s accepted", what);
    ck_assert_ptr_null(o);
    ck_assert_msg(strstr(err.msg, key) != NULL, "%s: '%s' does not name %s", what, err.msg, key);
    json_decref(j);
}

START_TEST(wrong_types)
{
    org_rejects("id", json_integer(1), "a numeric id");
    org_rejects("name", json_null(), "a null name");
    org_rejects("display_name", json_true(), "a boolean display name");
    org_rejects("metadata", json_pack("[s]", "a=b"), "metadata as an array");
    org_rejects("metadata", json_pack("{s:i}", "tier", 1), "a numeric metadata value");
    org_rejects("metadata", json_pack("{s:n}", "tier"), "a null metadata value");
    org_rejects("domains", json_string("acme.com"), "domains as a string");
    org_rejects("domains", json_pack("[s, i]", "acme.com", 2), "a numeric domain");
    org_rejects("created_at", json_null(), "a null creation time");
    org_rejects("updated_at", json_integer(1736500364000000), "a time in microseconds");
    org_rejects("name", json_stringn("ac\0me", 5), "a name with a NUL byte");
    org_rejects("domains", json_pack("[o]", json_stringn("a\0b", 3)), "a domain with a NUL");

    orgs_user_t *u = NULL;
    json_t *j = orgs_json_user(sample_user());
    json_object_set_new(j, "sub", json_integer(5));
    ck_assert_int_eq(orgs_json_user_from(j, NULL, &u, pool, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "string or null"));
    json_decref(j);

    orgs_enabled_conn_t *e = NULL;
    j = orgs_json_enabled_conn(sample_enabled());
    json_object_set_new(j, "auto_membership", json_string("yes"));
    ck_assert_int_eq(orgs_json_enabled_conn_from(j, NULL, &e, pool, &err), APR_EINVAL);
    json_decref(j);

    orgs_conn_t *cn = NULL;
    j = orgs_json_conn(sample_conn());
    json_object_set_new(j, "client_secret_set", json_integer(1));
    ck_assert_int_eq(orgs_json_conn_from(j, NULL, &cn, pool, &err), APR_EINVAL);
    json_decref(j);

    orgs_member_t *m = NULL;
    j = orgs_json_member(sample_member());
    json_object_set_new(j, "roles", json_string("admin"));
    ck_assert_int_eq(orgs_json_member_from(j, NULL, &m, pool, &err), APR_EINVAL);
    json_decref(j);

    orgs_invite_t *inv = NULL;
    j = orgs_json_invite(sample_invite());
    json_object_set_new(j, "expires_at", json_null());
    ck_assert_int_eq(orgs_json_invite_from(j, NULL, &inv, pool, &err), APR_EINVAL);
    json_decref(j);
}
END_TEST

START_TEST(not_objects)
{
    orgs_org_t *o = NULL;
    orgs_user_t *u = NULL;
    json_t *arr = json_array();
    ck_assert_int_eq(orgs_json_org_from(arr, NULL, &o, pool, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "not a JSON object"));
    ck_assert_int_eq(orgs_json_org_from(NULL, NULL, &o, pool, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_json_user_from(json_null(), NULL, &u, pool, &err), APR_EINVAL);
    json_decref(arr);
}
END_TEST

START_TEST(unknown_members)
{
    static const char *const extra[] = {"type", NULL};
    orgs_org_t *o = NULL;
    orgs_conn_t *cn = NULL;

    /* the store's old names are not this shape */
    json_t *j = orgs_json_org(sample_org());
    json_object_set_new(j, "meta", json_object());
    ck_assert_int_eq(orgs_json_org_from(j, extra, &o, pool, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "unknown member 'meta'"));
    json_decref(j);

    /* an envelope member is refused unless the caller names it */
    j = orgs_json_org(sample_org());
    json_object_set_new(j, "type", json_string("org"));
    ck_assert_int_eq(orgs_json_org_from(j, NULL, &o, pool, &err), APR_EINVAL);
    json_decref(j);

    /* a secret never comes in through this shape */
    j = orgs_json_conn(sample_conn());
    json_object_set_new(j, "client_secret", json_string("plain"));
    ck_assert_int_eq(orgs_json_conn_from(j, extra, &cn, pool, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "client_secret"));
    ck_assert_ptr_null(cn);
    json_decref(j);

    /* orgctl's joins are not part of the object */
    orgs_user_t *u = NULL;
    j = orgs_json_user(sample_user());
    json_object_set_new(j, "connection", json_string("okta"));
    ck_assert_int_eq(orgs_json_user_from(j, NULL, &u, pool, &err), APR_EINVAL);
    json_decref(j);
}
END_TEST

static Suite *json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("json");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, org_shape);
    tcase_add_test(tc, conn_shape_has_no_secret);
    tcase_add_test(tc, other_shapes);
    tcase_add_test(tc, org_round_trip);
    tcase_add_test(tc, org_branding_round_trip);
    tcase_add_test(tc, conn_round_trip);
    tcase_add_test(tc, user_member_invite_round_trips);
    tcase_add_test(tc, extra_members_named_by_the_caller);
    tcase_add_test(tc, metadata_sorted_by_key);
    tcase_add_test(tc, times_ok);
    tcase_add_test(tc, times_rejected);
    tcase_add_test(tc, missing_members);
    tcase_add_test(tc, wrong_types);
    tcase_add_test(tc, not_objects);
    tcase_add_test(tc, unknown_members);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(json_suite());
}
