/* Unit tests for src/core/store/store.c: every operation on a fresh temporary store,
 * uniqueness, name-or-id lookups, cascades (each followed by a clean
 * orgs_store_check), limits, map full, several writer processes, sessions,
 * pending logins, export/import and the format version. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/fsuid.h>
#endif

#include <lmdb.h>

#include "testutil.h"
#include "store.h"

static apr_pool_t *pool;
static char *dir;
static orgs_crypto_keys_t *keys;
static orgs_err_t err;

static void setup(void)
{
    static const unsigned char ikm[32] = "0123456789abcdef0123456789abcdef";
    apr_pool_create(&pool, NULL);
    dir = testutil_tempdir(pool);
    ck_assert_ptr_nonnull(dir);
    ck_assert_int_eq(orgs_crypto_keys_derive(&keys, ikm, sizeof(ikm), pool, &err), APR_SUCCESS);
}

static void teardown(void)
{
    apr_pool_destroy(pool); /* closes stores opened in pool */
    testutil_rmtree(dir);
}

static orgs_store_t *open_in(const char *d, const orgs_crypto_keys_t *k)
{
    orgs_store_t *st;
    apr_status_t rv = orgs_store_open(&st, d, 0, 0, ORGS_STORE_CREATE, k, pool, &err);
    ck_assert_msg(rv == APR_SUCCESS, "open: %s", err.msg);
    return st;
}

static orgs_store_t *open_store(void)
{
    return open_in(dir, keys);
}

static apr_array_header_t *strs(int n, ...)
{
    va_list ap;
    apr_array_header_t *a = apr_array_make(pool, n + 1, sizeof(const char *));
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        APR_ARRAY_PUSH(a, const char *) = va_arg(ap, const char *);
    }
    va_end(ap);
    return a;
}

static apr_array_header_t *meta1(const char *k, const char *v)
{
    apr_array_header_t *a = apr_array_make(pool, 1, sizeof(orgs_kv_t));
    orgs_kv_t *kv = apr_array_push(a);
    kv->key = k;
    kv->value = v;
    return a;
}

static const char *mk_org(orgs_store_t *st, const char *name, apr_array_header_t *domains)
{
    orgs_org_t o = {0};
    o.name = name;
    o.domains = domains;
    apr_status_t rv = orgs_store_org_create(st, &o, pool, &err);
    ck_assert_msg(rv == APR_SUCCESS, "org create %s: %s", name, err.msg);
    return o.id;
}

static const char *mk_conn(orgs_store_t *st, const char *name, const char *secret)
{
    orgs_conn_t c = {0};
    c.name = name;
    c.issuer = "https://idp.example.com";
    c.client_id = "client-1";
    c.client_secret = secret;
    apr_status_t rv = orgs_store_conn_create(st, &c, pool, &err);
    ck_assert_msg(rv == APR_SUCCESS, "conn create %s: %s", name, err.msg);
    return c.id;
}

static const char *mk_user(orgs_store_t *st, const char *conn, const char *sub, const char *email)
{
    orgs_user_t *u;
    int created;
    apr_status_t rv = orgs_store_user_login(st, conn, sub, email, "A User", apr_time_now(), &u,
                                            &created, pool, &err);
    ck_assert_msg(rv == APR_SUCCESS, "login: %s", err.msg);
    return u->id;
}

static void assert_clean(orgs_store_t *st)
{
    apr_array_header_t *problems;
    ck_assert_int_eq(orgs_store_check(st, &problems, pool, &err), APR_SUCCESS);
    for (int i = 0; i < problems->nelts; i++) {
        fprintf(stderr, "check: %s\n", APR_ARRAY_IDX(problems, i, const char *));
    }
    ck_assert_int_eq(problems->nelts, 0);
}

static void hash_of(const char *sid, unsigned char h[32])
{
    orgs_crypto_sha256(sid, strlen(sid), h);
}

static void put_session(orgs_store_t *st, const char *sid, const char *org, const char *user,
                        const char *conn, apr_time_t now)
{
    unsigned char h[32];
    orgs_session_t s = {0};
    s.org_id = org;
    s.user_id = user;
    s.conn_id = conn;
    s.claims_json = "{\"email\":\"a@x.com\"}";
    s.created = s.last_seen = now;
    s.expires = now + apr_time_from_sec(3600);
    hash_of(sid, h);
    ck_assert_msg(orgs_store_session_put(st, h, &s, pool, &err) == APR_SUCCESS, "%s", err.msg);
}

/* ---- organizations ---------------------------------------------------- */

START_TEST(org_create_get_list)
{
    orgs_store_t *st = open_store();
    orgs_org_t o = {0}, *got;
    apr_array_header_t *list;
    o.name = "org1";
    o.display_name = "Org One";
    o.meta = meta1("license", "premium");
    o.domains = strs(2, "Example.COM", "b.example.org");
    ck_assert_int_eq(orgs_store_org_create(st, &o, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(strncmp(o.id, "org_", 4), 0);
    ck_assert_uint_eq(strlen(o.id), 20);
    ck_assert(o.created > 0 && o.updated == o.created);
    mk_org(st, "alpha", NULL);

    ck_assert_int_eq(orgs_store_org_get(st, "org1", &got, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(got->id, o.id);
    ck_assert_str_eq(got->display_name, "Org One");
    ck_assert_int_eq(got->meta->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(got->meta, 0, orgs_kv_t).value, "premium");
    ck_assert_int_eq(got->domains->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(got->domains, 0, const char *), "b.example.org");
    ck_assert_str_eq(APR_ARRAY_IDX(got->domains, 1, const char *), "example.com");
    ck_assert_int_eq(orgs_store_org_get(st, o.id, &got, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(got->name, "org1");

    ck_assert_int_eq(orgs_store_org_list(st, &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(list, 0, orgs_org_t *)->name, "alpha");
    ck_assert_str_eq(APR_ARRAY_IDX(list, 0, orgs_org_t *)->display_name, "alpha");
    ck_assert_str_eq(APR_ARRAY_IDX(list, 1, orgs_org_t *)->name, "org1");

    ck_assert_int_eq(orgs_store_org_by_domain(st, "EXAMPLE.com", &got, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(got->id, o.id);
    assert_clean(st);
}
END_TEST

START_TEST(org_update_and_domains)
{
    orgs_store_t *st = open_store();
    orgs_org_t *got;
    mk_org(st, "org1", NULL);
    ck_assert_int_eq(
        orgs_store_org_update(st, "org1", "New Name", meta1("tier", "gold"), NULL, pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(
        orgs_store_org_update(st, "org1", NULL, meta1("tier", "platinum"), NULL, pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_get(st, "org1", &got, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(got->display_name, "New Name");
    ck_assert_int_eq(got->meta->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(got->meta, 0, orgs_kv_t).value, "platinum");
    ck_assert_int_eq(orgs_store_org_update(st, "org1", NULL, NULL, strs(1, "tier"), pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_get(st, "org1", &got, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(got->meta->nelts, 0);

    ck_assert_int_eq(orgs_store_org_add_domain(st, "org1", "Acme.com", pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_by_domain(st, "acme.com", &got, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(got->name, "org1");
    ck_assert_int_eq(orgs_store_org_remove_domain(st, "org1", "acme.com", pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_by_domain(st, "acme.com", &got, pool, &err), APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

START_TEST(org_bad_input)
{
    orgs_store_t *st = open_store();
    const char *bad[] = {"Bad Name", "org_abcdefghijklmnop",
                         "",         "-lead",
                         "a/b",      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    apr_array_header_t *list;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        orgs_org_t o = {0};
        o.name = bad[i];
        ck_assert_msg(orgs_store_org_create(st, &o, pool, &err) == APR_EINVAL, "%s", bad[i]);
    }
    orgs_org_t o = {0};
    o.name = "ok";
    o.domains = strs(1, "not a domain");
    ck_assert_int_eq(orgs_store_org_create(st, &o, pool, &err), APR_EINVAL);
    o.domains = NULL;
    o.display_name = "bad\x01name";
    ck_assert_int_eq(orgs_store_org_create(st, &o, pool, &err), APR_EINVAL);
    o.display_name = NULL;
    o.meta = meta1("1bad", "v");
    ck_assert_int_eq(orgs_store_org_create(st, &o, pool, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_store_org_list(st, &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 0);
    assert_clean(st);
}
END_TEST

START_TEST(org_conflicts)
{
    orgs_store_t *st = open_store();
    orgs_org_t o = {0}, *got;
    mk_org(st, "org1", strs(1, "acme.com"));
    o.name = "org1";
    ck_assert_int_eq(orgs_store_org_create(st, &o, pool, &err), APR_EEXIST);
    o.name = "org2";
    o.domains = strs(2, "fresh.com", "ACME.com");
    ck_assert_int_eq(orgs_store_org_create(st, &o, pool, &err), APR_EEXIST);
    ck_assert_ptr_nonnull(strstr(err.msg, "acme.com"));
    /* nothing of the failed create remains */
    ck_assert_int_eq(orgs_store_org_get(st, "org2", &got, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_org_by_domain(st, "fresh.com", &got, pool, &err), APR_NOTFOUND);
    mk_org(st, "org2", NULL);
    ck_assert_int_eq(orgs_store_org_add_domain(st, "org2", "acme.com", pool, &err), APR_EEXIST);
    ck_assert_int_eq(orgs_store_org_add_domain(st, "org1", "acme.com", pool, &err), APR_EEXIST);
    assert_clean(st);
}
END_TEST

START_TEST(org_meta_limits)
{
    orgs_store_t *st = open_store();
    orgs_org_t o = {0};
    apr_array_header_t *m = apr_array_make(pool, 26, sizeof(orgs_kv_t));
    for (int i = 0; i < 26; i++) {
        orgs_kv_t *kv = apr_array_push(m);
        kv->key = apr_psprintf(pool, "k%02d", i);
        kv->value = "v";
    }
    o.name = "org1";
    o.meta = m;
    ck_assert_int_eq(orgs_store_org_create(st, &o, pool, &err), APR_ENOSPC);
    m->nelts = 25;
    ck_assert_int_eq(orgs_store_org_create(st, &o, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_update(st, "org1", NULL, meta1("k99", "v"), NULL, pool, &err),
                     APR_ENOSPC);
    /* replacing an existing key stays within the limit */
    ck_assert_int_eq(orgs_store_org_update(st, "org1", NULL, meta1("k00", "w"), NULL, pool, &err),
                     APR_SUCCESS);
    char big[ORGS_META_VALUE_MAX + 2];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(orgs_store_org_update(st, "org1", NULL, meta1("k00", big), NULL, pool, &err),
                     APR_EINVAL);
    char dn[ORGS_DISPLAY_NAME_MAX + 2];
    memset(dn, 'd', sizeof(dn) - 1);
    dn[sizeof(dn) - 1] = '\0';
    ck_assert_int_eq(orgs_store_org_update(st, "org1", dn, NULL, NULL, pool, &err), APR_EINVAL);
    assert_clean(st);
}
END_TEST

START_TEST(org_not_found)
{
    orgs_store_t *st = open_store();
    orgs_org_t *got;
    mk_org(st, "org1", NULL);
    ck_assert_int_eq(orgs_store_org_get(st, "nope", &got, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_org_get(st, "org_AAAAAAAAAAAAAAAA", &got, pool, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_org_get(st, "org_short", &got, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_org_update(st, "org1", NULL, NULL, strs(1, "absent"), pool, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_org_remove_domain(st, "org1", "acme.com", pool, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_org_by_domain(st, "acme.com", &got, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_org_delete(st, "nope", pool, &err), APR_NOTFOUND);
}
END_TEST

/* ---- connections ------------------------------------------------------- */

START_TEST(conn_crud)
{
    orgs_store_t *st = open_store();
    orgs_conn_t *c, upd = {0};
    apr_array_header_t *list;
    const char *id = mk_conn(st, "okta2", "s3cret");
    mk_conn(st, "azure", NULL);
    ck_assert_int_eq(orgs_store_conn_get(st, "okta2", &c, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(c->id, id);
    ck_assert_ptr_null(c->client_secret);
    ck_assert_str_eq(c->scopes, "openid email profile");
    ck_assert_str_eq(c->auth_method, "client_secret_basic");
    ck_assert_int_eq(orgs_store_conn_get_secret(st, id, &c, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(c->client_secret, "s3cret");
    ck_assert_int_eq(orgs_store_conn_list(st, &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(list, 0, orgs_conn_t *)->name, "azure");
    ck_assert_ptr_null(APR_ARRAY_IDX(list, 1, orgs_conn_t *)->client_secret);

    upd.client_secret = "n3w";
    upd.display_name = "Okta Two";
    ck_assert_int_eq(orgs_store_conn_update(st, "okta2", &upd, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_conn_get_secret(st, "okta2", &c, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(c->client_secret, "n3w");
    ck_assert_str_eq(c->display_name, "Okta Two");
    ck_assert_str_eq(c->client_id, "client-1");
    assert_clean(st);
}
END_TEST

START_TEST(conn_bad_input)
{
    orgs_store_t *st = open_store();
    orgs_conn_t c = {0}, upd = {0}, *got;
    mk_conn(st, "okta", NULL);
    c.name = "okta";
    c.issuer = "https://idp.example.com";
    c.client_id = "x";
    ck_assert_int_eq(orgs_store_conn_create(st, &c, pool, &err), APR_EEXIST);
    c.name = "other";
    c.issuer = "http://idp.example.com"; /* plain http off loopback */
    ck_assert_int_eq(orgs_store_conn_create(st, &c, pool, &err), APR_EINVAL);
    c.issuer = "https://idp.example.com";
    c.auth_method = "private_key_jwt";
    ck_assert_int_eq(orgs_store_conn_create(st, &c, pool, &err), APR_EINVAL);
    c.auth_method = NULL;
    c.scopes = "email profile";
    ck_assert_int_eq(orgs_store_conn_create(st, &c, pool, &err), APR_EINVAL);
    c.scopes = NULL;
    c.client_id = NULL;
    ck_assert_int_eq(orgs_store_conn_create(st, &c, pool, &err), APR_EINVAL);
    upd.name = "renamed";
    ck_assert_int_eq(orgs_store_conn_update(st, "okta", &upd, pool, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_store_conn_get(st, "other", &got, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_conn_get(st, "con_AAAAAAAAAAAAAAAA", &got, pool, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_conn_delete(st, "other", pool, &err), APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

START_TEST(conn_secret_needs_key)
{
    orgs_store_t *st = open_in(dir, NULL);
    orgs_conn_t c = {0}, *got;
    c.name = "okta";
    c.issuer = "https://idp.example.com";
    c.client_id = "x";
    c.client_secret = "s";
    ck_assert_int_eq(orgs_store_conn_create(st, &c, pool, &err), ORGS_ENOKEY);
    ck_assert_int_eq(orgs_store_conn_get(st, "okta", &got, pool, &err), APR_NOTFOUND);
    c.client_secret = NULL;
    ck_assert_int_eq(orgs_store_conn_create(st, &c, pool, &err), APR_SUCCESS);
    orgs_store_close(st);

    st = open_store();
    mk_conn(st, "sealed", "topsecret");
    orgs_store_close(st);
    st = open_in(dir, NULL);
    ck_assert_int_eq(orgs_store_conn_get(st, "sealed", &got, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_conn_get_secret(st, "sealed", &got, pool, &err), ORGS_ENOKEY);
    orgs_store_close(st);

    static const unsigned char other[32] = "ffffffffffffffffffffffffffffffff";
    orgs_crypto_keys_t *k2;
    ck_assert_int_eq(orgs_crypto_keys_derive(&k2, other, sizeof(other), pool, &err), APR_SUCCESS);
    st = open_in(dir, k2);
    ck_assert_int_eq(orgs_store_conn_get_secret(st, "sealed", &got, pool, &err), ORGS_ECRYPTO);
}
END_TEST

START_TEST(enablement)
{
    orgs_store_t *st = open_store();
    apr_array_header_t *list;
    orgs_enabled_conn_t *e;
    const char *org = mk_org(st, "org1", NULL);
    const char *c1 = mk_conn(st, "zeta", NULL), *c2 = mk_conn(st, "alpha", NULL);
    ck_assert_int_eq(orgs_store_org_enable_conn(st, "org1", "zeta", 1, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_enable_conn(st, org, c2, 0, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_conns(st, "org1", &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(list, 0, orgs_enabled_conn_t *)->conn_name, "alpha");
    ck_assert_int_eq(APR_ARRAY_IDX(list, 0, orgs_enabled_conn_t *)->auto_membership, 0);
    ck_assert_int_eq(APR_ARRAY_IDX(list, 1, orgs_enabled_conn_t *)->auto_membership, 1);
    ck_assert_int_eq(orgs_store_org_conn_get(st, org, c1, &e, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(e->auto_membership, 1);
    ck_assert_int_eq(orgs_store_org_enable_conn(st, "org1", "zeta", 0, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_conn_get(st, org, c1, &e, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(e->auto_membership, 0);
    ck_assert_int_eq(orgs_store_org_disable_conn(st, "org1", "zeta", pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_conn_get(st, org, c1, &e, pool, &err), APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

START_TEST(enablement_neg)
{
    orgs_store_t *st = open_store();
    orgs_enabled_conn_t *e;
    apr_array_header_t *list;
    const char *org = mk_org(st, "org1", NULL);
    const char *c = mk_conn(st, "okta", NULL);
    ck_assert_int_eq(orgs_store_org_disable_conn(st, "org1", "okta", pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_org_enable_conn(st, "nope", "okta", 1, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_org_enable_conn(st, "org1", "nope", 1, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_org_conn_get(st, org, c, &e, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_org_conn_get(st, "org1", "okta", &e, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_org_conns(st, "nope", &list, pool, &err), APR_NOTFOUND);
}
END_TEST

/* L2: disabling a connection ends the org's sessions made through it, and
 * only those. */
START_TEST(disable_conn_ends_sessions)
{
    orgs_store_t *st = open_store();
    orgs_session_view_t *v;
    unsigned char h[32];
    apr_time_t now = apr_time_now();
    const char *o1 = mk_org(st, "org1", NULL), *o2 = mk_org(st, "org2", NULL);
    const char *okta = mk_conn(st, "okta", NULL), *azure = mk_conn(st, "azure", NULL);
    const char *u1 = mk_user(st, okta, "s1", NULL), *u2 = mk_user(st, azure, "s2", NULL);
    ck_assert_int_eq(orgs_store_org_enable_conn(st, o1, okta, 0, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_enable_conn(st, o1, azure, 0, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_enable_conn(st, o2, okta, 0, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(st, o1, u1, NULL, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(st, o1, u2, NULL, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(st, o2, u1, NULL, pool, &err), APR_SUCCESS);
    put_session(st, "sid-o1-okta-a", o1, u1, okta, now);
    put_session(st, "sid-o1-okta-b", o1, u1, okta, now);
    put_session(st, "sid-o1-azure", o1, u2, azure, now);
    put_session(st, "sid-o2-okta", o2, u1, okta, now);
    ck_assert_int_eq(orgs_store_org_disable_conn(st, "org1", "okta", pool, &err), APR_SUCCESS);
    hash_of("sid-o1-okta-a", h);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_NOTFOUND);
    hash_of("sid-o1-okta-b", h);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_NOTFOUND);
    hash_of("sid-o1-azure", h);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_SUCCESS);
    hash_of("sid-o2-okta", h);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_SUCCESS);
    /* a failed disable changes nothing */
    ck_assert_int_eq(orgs_store_org_disable_conn(st, "org2", "azure", pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_SUCCESS);
    assert_clean(st);
}
END_TEST

/* ---- users ------------------------------------------------------------- */

START_TEST(user_login_flow)
{
    orgs_store_t *st = open_store();
    orgs_user_t *u, *again, *p1;
    apr_array_header_t *list;
    int created;
    const char *c = mk_conn(st, "okta", NULL);
    mk_conn(st, "other", NULL);
    ck_assert_int_eq(orgs_store_user_login(st, "okta", "sub-1", "Ann@Example.COM", "Ann", 1000, &u,
                                           &created, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(created, 1);
    ck_assert_str_eq(u->email, "Ann@example.com");
    ck_assert_str_eq(u->conn_id, c);
    ck_assert_int_eq(orgs_store_user_login(st, c, "sub-1", "ann2@example.com", NULL, 2000, &again,
                                           &created, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(created, 0);
    ck_assert_str_eq(again->id, u->id);
    ck_assert_str_eq(again->email, "ann2@example.com");
    ck_assert_str_eq(again->name, "Ann");
    ck_assert_int_eq(again->last_login, 2000);

    /* provisioned by email, then adopted by the first sign-in */
    ck_assert_int_eq(
        orgs_store_user_provision(st, "okta", "bob@example.com", NULL, &p1, pool, &err),
        APR_SUCCESS);
    ck_assert_ptr_null(p1->sub);
    ck_assert_int_eq(p1->last_login, 0);
    ck_assert_int_eq(orgs_store_user_provision(st, "okta", "bob@EXAMPLE.com", NULL, &u, pool, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(u->id, p1->id);
    ck_assert_int_eq(orgs_store_user_login(st, "okta", "sub-bob", "bob@example.com", "Bob", 3000,
                                           &u, &created, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(created, 0);
    ck_assert_str_eq(u->id, p1->id);
    ck_assert_int_eq(orgs_store_user_by_sub(st, "okta", "sub-bob", &u, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(u->id, p1->id);
    ck_assert_int_eq(orgs_store_user_by_email(st, "okta", "bob@Example.Com", &u, pool, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(u->id, p1->id);
    ck_assert_int_eq(orgs_store_user_get(st, p1->id, &u, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(u->sub, "sub-bob");

    /* same email on another connection is another user */
    mk_user(st, "other", "x", "bob@example.com");
    ck_assert_int_eq(orgs_store_user_list(st, "bob@example.com", &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 2);
    ck_assert_int_eq(orgs_store_user_list(st, NULL, &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 3);
    assert_clean(st);
}
END_TEST

START_TEST(user_neg)
{
    orgs_store_t *st = open_store();
    orgs_user_t *u;
    int created;
    mk_conn(st, "okta", NULL);
    ck_assert_int_eq(
        orgs_store_user_login(st, "okta", NULL, "a@example.com", NULL, 1, &u, &created, pool, &err),
        APR_EINVAL);
    ck_assert_int_eq(
        orgs_store_user_login(st, "okta", "s", "not-an-email", NULL, 1, &u, &created, pool, &err),
        APR_EINVAL);
    ck_assert_int_eq(
        orgs_store_user_login(st, "okta", "bad\nsub", NULL, NULL, 1, &u, &created, pool, &err),
        APR_EINVAL);
    ck_assert_int_eq(
        orgs_store_user_login(st, "nope", "s", NULL, NULL, 1, &u, &created, pool, &err),
        APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_user_provision(st, "okta", NULL, NULL, &u, pool, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_store_user_get(st, "usr_AAAAAAAAAAAAAAAA", &u, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_user_get(st, "junk", &u, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_user_by_sub(st, "okta", "none", &u, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_user_by_email(st, "okta", "x@example.com", &u, pool, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_user_delete(st, "usr_AAAAAAAAAAAAAAAA", pool, &err), APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

/* ---- members ------------------------------------------------------------ */

START_TEST(members)
{
    orgs_store_t *st = open_store();
    orgs_member_t *m;
    apr_array_header_t *list;
    const char *o1 = mk_org(st, "org1", NULL), *o2 = mk_org(st, "org2", NULL);
    mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", "a@example.com");
    ck_assert_int_eq(
        orgs_store_member_add(st, "org1", u, strs(3, "admin", "billing", "admin"), pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(st, o2, u, NULL, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_get(st, o1, u, &m, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(m->roles->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(m->roles, 0, const char *), "admin");
    ck_assert_str_eq(APR_ARRAY_IDX(m->roles, 1, const char *), "billing");
    ck_assert(m->created > 0);
    ck_assert_int_eq(orgs_store_member_get(st, o2, u, &m, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(m->roles->nelts, 0);

    ck_assert_int_eq(orgs_store_member_list(st, "org1", &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(list, 0, orgs_member_t *)->user_id, u);
    ck_assert_int_eq(orgs_store_user_orgs(st, u, &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 2);

    ck_assert_int_eq(orgs_store_role_add(st, "org2", u, strs(1, "viewer"), pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_role_remove(st, "org1", u, strs(1, "admin"), pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_get(st, o1, u, &m, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(m->roles->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(m->roles, 0, const char *), "billing");
    ck_assert_int_eq(orgs_store_member_get(st, o2, u, &m, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(APR_ARRAY_IDX(m->roles, 0, const char *), "viewer");

    ck_assert_int_eq(orgs_store_member_remove(st, "org1", u, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_get(st, o1, u, &m, pool, &err), APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

START_TEST(members_neg)
{
    orgs_store_t *st = open_store();
    orgs_member_t *m;
    const char *o = mk_org(st, "org1", NULL);
    mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", NULL);
    ck_assert_int_eq(orgs_store_member_add(st, "org1", u, strs(1, "bad role"), pool, &err),
                     APR_EINVAL);
    apr_array_header_t *many = apr_array_make(pool, 51, sizeof(const char *));
    for (int i = 0; i < ORGS_ROLES_MAX + 1; i++) {
        APR_ARRAY_PUSH(many, const char *) = apr_psprintf(pool, "r%d", i);
    }
    ck_assert_int_eq(orgs_store_member_add(st, "org1", u, many, pool, &err), APR_ENOSPC);
    ck_assert_int_eq(orgs_store_member_get(st, o, u, &m, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_member_add(st, "nope", u, NULL, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_member_add(st, "org1", "usr_AAAAAAAAAAAAAAAA", NULL, pool, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_member_add(st, "org1", u, NULL, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(st, "org1", u, NULL, pool, &err), APR_EEXIST);
    ck_assert_int_eq(orgs_store_role_remove(st, "org1", u, strs(1, "absent"), pool, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_member_get(st, "org1", u, &m, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_member_get(st, o, "junk", &m, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_member_get(st, NULL, u, &m, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_member_remove(st, "org1", u, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_remove(st, "org1", u, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_role_add(st, "org1", u, strs(1, "x"), pool, &err), APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

static void import_text(orgs_store_t *st, const char *text)
{
    apr_size_t n;
    FILE *fp = tmpfile();
    fputs(text, fp);
    rewind(fp);
    apr_status_t rv = orgs_store_import(st, fp, &n, pool, &err);
    fclose(fp);
    ck_assert_msg(rv == APR_SUCCESS, "import: %s", err.msg);
}

static const char *role_of(const orgs_member_t *m, int i)
{
    return i < m->roles->nelts ? APR_ARRAY_IDX(m->roles, i, const char *) : "(none)";
}

/* Ids are packed 6 bits per character in membership keys: the extremes of
 * every character class must come back unchanged and in strcmp order. */
START_TEST(members_packed_ids)
{
    static const char *ids[] = {"org_0000000000000000", "org_0000000000000001",
                                "org_000000000000000A", "org_000000000000000a",
                                "org_Z000000000000000", "org_zzzzzzzzzzzzzzzz"};
    const int n = (int)(sizeof(ids) / sizeof(ids[0]));
    const char *u = "usr_zA0zA0zA0zA0zA09";
    orgs_store_t *st = open_store();
    orgs_member_t *m;
    apr_array_header_t *list;
    char *text = apr_pstrcat(pool,
                             "{\"type\":\"conn\",\"id\":\"con_AAAAAAAAAAAAAAAA\",\"name\":\"okta\","
                             "\"issuer\":\"https://i.example.com\",\"client_id\":\"x\"}\n",
                             "{\"type\":\"user\",\"id\":\"", u,
                             "\",\"conn_id\":\"con_AAAAAAAAAAAAAAAA\",\"sub\":\"s1\"}\n", NULL);
    for (int i = 0; i < n; i++) {
        text = apr_psprintf(pool, "%s{\"type\":\"org\",\"id\":\"%s\",\"name\":\"org%d\"}\n", text,
                            ids[i], i);
    }
    for (int i = n - 1; i >= 0; i--) { /* reverse order: every insert goes first */
        text = apr_psprintf(pool,
                            "%s{\"type\":\"member\",\"org_id\":\"%s\",\"user_id\":\"%s\","
                            "\"roles\":[\"r%d\"],\"created\":%d}\n",
                            text, ids[i], u, i, 100 + i);
    }
    import_text(st, text);
    ck_assert_int_eq(orgs_store_user_orgs(st, u, &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, n);
    for (int i = 0; i < n; i++) {
        m = APR_ARRAY_IDX(list, i, orgs_member_t *);
        ck_assert_str_eq(m->org_id, ids[i]);
        ck_assert_str_eq(m->user_id, u);
        ck_assert_str_eq(role_of(m, 0), apr_psprintf(pool, "r%d", i));
        ck_assert_int_eq(m->created, 100 + i);
        ck_assert_int_eq(orgs_store_member_get(st, ids[i], u, &m, pool, &err), APR_SUCCESS);
        ck_assert_str_eq(role_of(m, 0), apr_psprintf(pool, "r%d", i));
        ck_assert_int_eq(orgs_store_member_list(st, ids[i], &list, pool, &err), APR_SUCCESS);
        ck_assert_int_eq(list->nelts, 1);
        ck_assert_str_eq(APR_ARRAY_IDX(list, 0, orgs_member_t *)->user_id, u);
        ck_assert_int_eq(orgs_store_user_orgs(st, u, &list, pool, &err), APR_SUCCESS);
    }
    /* remove the middle, the first and the last entry; the rest stays intact */
    ck_assert_int_eq(orgs_store_member_remove(st, ids[2], u, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_remove(st, ids[0], u, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_remove(st, ids[n - 1], u, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_role_add(st, ids[3], u, strs(1, "a"), pool, &err), APR_SUCCESS);
    for (int i = 0; i < n; i++) {
        int gone = i == 0 || i == 2 || i == n - 1;
        ck_assert_int_eq(orgs_store_member_get(st, ids[i], u, &m, pool, &err),
                         gone ? APR_NOTFOUND : APR_SUCCESS);
        if (!gone) {
            ck_assert_str_eq(role_of(m, i == 3 ? 1 : 0), apr_psprintf(pool, "r%d", i));
            ck_assert_int_eq(m->created, 100 + i);
        }
    }
    ck_assert_int_eq(orgs_store_user_orgs(st, u, &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, n - 3);
    assert_clean(st);
}
END_TEST

/* Many memberships of one user (inserts all over the record) and a record
 * too large for a B-tree node (50 roles of 64 characters). */
START_TEST(members_many_and_large)
{
    enum { N = 60 };
    orgs_store_t *st = open_store(), *st2;
    orgs_member_t *m;
    apr_array_header_t *list, *big = apr_array_make(pool, ORGS_ROLES_MAX, sizeof(char *));
    const char *orgs[N];
    apr_size_t cnt;
    char *dir2 = testutil_tempdir(pool);
    mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", NULL), *u2 = mk_user(st, "okta", "s2", NULL);
    for (int i = 0; i < ORGS_ROLES_MAX; i++) {
        char *r = apr_psprintf(pool, "%02d%062d", i, 0);
        ck_assert_uint_eq(strlen(r), ORGS_ROLE_MAX);
        APR_ARRAY_PUSH(big, char *) = r;
    }
    for (int i = 0; i < N; i++) {
        orgs[i] = mk_org(st, apr_psprintf(pool, "org%d", i), NULL);
        ck_assert_int_eq(orgs_store_member_add(st, orgs[i], u,
                                               i == 7 ? big : strs(1, apr_psprintf(pool, "r%d", i)),
                                               pool, &err),
                         APR_SUCCESS);
        ck_assert_int_eq(orgs_store_member_add(st, orgs[i], u2, NULL, pool, &err), APR_SUCCESS);
    }
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(orgs_store_member_get(st, orgs[i], u, &m, pool, &err), APR_SUCCESS);
        if (i == 7) {
            ck_assert_int_eq(m->roles->nelts, ORGS_ROLES_MAX);
            ck_assert_str_eq(role_of(m, 49), APR_ARRAY_IDX(big, 49, const char *));
        } else {
            ck_assert_int_eq(m->roles->nelts, 1);
            ck_assert_str_eq(role_of(m, 0), apr_psprintf(pool, "r%d", i));
        }
    }
    ck_assert_int_eq(orgs_store_user_orgs(st, u, &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, N);
    for (int i = 1; i < N; i++) {
        ck_assert_int_lt(strcmp(APR_ARRAY_IDX(list, i - 1, orgs_member_t *)->org_id,
                                APR_ARRAY_IDX(list, i, orgs_member_t *)->org_id),
                         0);
    }
    /* export / import keeps every membership and the large one */
    FILE *fp = tmpfile();
    ck_assert_int_eq(orgs_store_export(st, fp, &cnt, pool, &err), APR_SUCCESS);
    ck_assert_uint_eq(cnt, N + 1 + 2 + 2 * N);
    rewind(fp);
    st2 = open_in(dir2, keys);
    ck_assert_int_eq(orgs_store_import(st2, fp, &cnt, pool, &err), APR_SUCCESS);
    fclose(fp);
    ck_assert_int_eq(orgs_store_member_get(st2, orgs[7], u, &m, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(m->roles->nelts, ORGS_ROLES_MAX);
    ck_assert_int_eq(orgs_store_member_list(st2, orgs[7], &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 2);
    assert_clean(st2);
    orgs_store_close(st2);
    testutil_rmtree(dir2);
    /* cascades across the record: every fifth org, then a user */
    for (int i = 0; i < N; i += 5) {
        ck_assert_int_eq(orgs_store_org_delete(st, orgs[i], pool, &err), APR_SUCCESS);
    }
    ck_assert_int_eq(orgs_store_user_orgs(st, u, &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, N - N / 5);
    ck_assert_int_eq(orgs_store_member_get(st, orgs[7], u, &m, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_user_delete(st, u, pool, &err), APR_SUCCESS);
    for (int i = 1; i < N; i += 5) {
        ck_assert_int_eq(orgs_store_member_list(st, orgs[i], &list, pool, &err), APR_SUCCESS);
        ck_assert_int_eq(list->nelts, 1);
        ck_assert_str_eq(APR_ARRAY_IDX(list, 0, orgs_member_t *)->user_id, u2);
    }
    assert_clean(st);
}
END_TEST

START_TEST(members_ids_neg)
{
    orgs_store_t *st = open_store();
    orgs_member_t *m;
    apr_array_header_t *list;
    const char *o = mk_org(st, "org1", NULL);
    mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", NULL);
    ck_assert_int_eq(orgs_store_member_add(st, o, u, NULL, pool, &err), APR_SUCCESS);
    const char *bad[] = {"org_AAAAAAAAAAAAAAA",
                         "org_AAAAAAAAAAAAAAAAA",
                         "org_AAAAAAAAAAAAAAA-",
                         "org_AAAAAAAAAAAAAAA\xff",
                         "usr_AAAAAAAAAAAAAAAA",
                         "",
                         "org_",
                         "org"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(orgs_store_member_get(st, bad[i], u, &m, pool, &err), APR_NOTFOUND);
        ck_assert_int_eq(orgs_store_member_get(st, o, bad[i], &m, pool, &err), APR_NOTFOUND);
        ck_assert_int_eq(orgs_store_member_remove(st, o, bad[i], pool, &err), APR_NOTFOUND);
    }
    /* the prefixes are part of the id: a user id is no org id and back */
    ck_assert_int_eq(orgs_store_member_get(st, u, o, &m, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_user_orgs(st, "usr_AAAAAAAAAAAAAAAA", &list, pool, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_member_remove(st, o, "usr_AAAAAAAAAAAAAAAA", pool, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_member_get(st, o, u, &m, pool, &err), APR_SUCCESS);
    assert_clean(st);
}
END_TEST

/* ---- cascades ----------------------------------------------------------- */

START_TEST(cascade_org_delete)
{
    orgs_store_t *st = open_store();
    orgs_invite_t inv = {0};
    apr_array_header_t *list;
    orgs_session_view_t *v;
    unsigned char h[32];
    apr_time_t now = apr_time_now();
    const char *o = mk_org(st, "org1", strs(1, "acme.com"));
    const char *o2 = mk_org(st, "org2", NULL);
    const char *c = mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", "a@acme.com");
    ck_assert_int_eq(orgs_store_org_enable_conn(st, "org1", "okta", 1, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(st, "org1", u, strs(1, "admin"), pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(st, "org2", u, NULL, pool, &err), APR_SUCCESS);
    put_session(st, "sid-1", o, u, c, now);
    put_session(st, "sid-2", o2, u, c, now);
    inv.org_id = "org1";
    inv.email = "b@acme.com";
    inv.expires = now + apr_time_from_sec(60);
    ck_assert_int_eq(orgs_store_invite_create(st, &inv, pool, &err), APR_SUCCESS);

    ck_assert_int_eq(orgs_store_org_delete(st, "org1", pool, &err), APR_SUCCESS);
    orgs_org_t *gone;
    ck_assert_int_eq(orgs_store_org_get(st, o, &gone, pool, &err), APR_NOTFOUND);
    hash_of("sid-1", h);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_NOTFOUND);
    hash_of("sid-2", h);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_user_orgs(st, u, &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 1);
    ck_assert_int_eq(orgs_store_invite_revoke(st, inv.id, pool, &err), APR_NOTFOUND);
    /* the name and domain are free again */
    mk_org(st, "org1", strs(1, "acme.com"));
    ck_assert_int_eq(orgs_store_org_conns(st, "org1", &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 0);
    assert_clean(st);
}
END_TEST

START_TEST(cascade_conn_delete)
{
    orgs_store_t *st = open_store();
    orgs_user_t *user;
    orgs_store_stat_t stat;
    apr_array_header_t *list;
    const char *o = mk_org(st, "org1", NULL);
    const char *c = mk_conn(st, "okta", NULL);
    const char *c2 = mk_conn(st, "keep", NULL);
    const char *u1 = mk_user(st, "okta", "s1", "a@example.com");
    const char *u2 = mk_user(st, "okta", "s2", NULL);
    const char *u3 = mk_user(st, "keep", "s3", "c@example.com");
    ck_assert_int_eq(
        orgs_store_user_provision(st, "okta", "p@example.com", NULL, &user, pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_enable_conn(st, "org1", "okta", 1, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_enable_conn(st, "org1", "keep", 1, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(st, "org1", u1, NULL, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(st, "org1", u2, NULL, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(st, "org1", u3, NULL, pool, &err), APR_SUCCESS);
    put_session(st, "sid-1", o, u1, c, apr_time_now());
    put_session(st, "sid-3", o, u3, c2, apr_time_now());

    ck_assert_int_eq(orgs_store_conn_delete(st, "okta", pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_user_get(st, u1, &user, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_user_get(st, u2, &user, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_member_list(st, "org1", &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(list, 0, orgs_member_t *)->user_id, u3);
    ck_assert_int_eq(orgs_store_org_conns(st, "org1", &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 1);
    ck_assert_int_eq(orgs_store_stat(st, &stat, &err), APR_SUCCESS);
    ck_assert_uint_eq(stat.users, 1);
    ck_assert_uint_eq(stat.sessions, 1);
    ck_assert_uint_eq(stat.conns, 1);
    /* the name is free again */
    mk_conn(st, "okta", NULL);
    assert_clean(st);
}
END_TEST

START_TEST(cascade_user_delete)
{
    orgs_store_t *st = open_store();
    apr_array_header_t *list;
    orgs_user_t *user;
    const char *o = mk_org(st, "org1", NULL);
    const char *c = mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", "a@example.com");
    ck_assert_int_eq(orgs_store_member_add(st, "org1", u, NULL, pool, &err), APR_SUCCESS);
    put_session(st, "sid-1", o, u, c, apr_time_now());
    ck_assert_int_eq(orgs_store_user_delete(st, u, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_list(st, "org1", &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 0);
    ck_assert_int_eq(orgs_store_user_by_email(st, "okta", "a@example.com", &user, pool, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_user_by_sub(st, "okta", "s1", &user, pool, &err), APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

START_TEST(check_finds_damage)
{
    orgs_store_t *st = open_store();
    apr_array_header_t *problems;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    mk_org(st, "org1", NULL);
    mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", NULL);
    ck_assert_int_eq(orgs_store_member_add(st, "org1", u, NULL, pool, &err), APR_SUCCESS);
    orgs_store_close(st);
    /* damage: drop the org -> members index and a name */
    ck_assert_int_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 64);
    ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "org_members", 0, &dbi), 0);
    ck_assert_int_eq(mdb_drop(txn, dbi, 0), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "org_names", 0, &dbi), 0);
    ck_assert_int_eq(mdb_drop(txn, dbi, 0), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    st = open_store();
    ck_assert_int_eq(orgs_store_check(st, &problems, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(problems->nelts, 2);
}
END_TEST

/* A corrupt membership record: lookups fail closed (ORGS_ESTORE, not "not
 * a member" and never a member), check names it and the index entries it
 * orphans. */
START_TEST(check_finds_record_damage)
{
    orgs_store_t *st = open_store();
    apr_array_header_t *problems;
    orgs_member_t *m;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    mk_org(st, "org1", NULL);
    mk_org(st, "org2", NULL);
    mk_conn(st, "okta", NULL);
    const char *users[2] = {mk_user(st, "okta", "s1", NULL), mk_user(st, "okta", "s2", NULL)};
    const char *orgs[2] = {"org1", "org2"};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(orgs_store_member_add(st, orgs[i % 2], users[i / 2], NULL, pool, &err),
                         APR_SUCCESS);
    }
    orgs_org_t *o1;
    ck_assert_int_eq(orgs_store_org_get(st, "org1", &o1, pool, &err), APR_SUCCESS);
    orgs_store_close(st);
    /* damage: a count larger than the record holds */
    ck_assert_int_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 64);
    ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "members", 0, &dbi), 0);
    ck_assert_int_eq(mdb_cursor_open(txn, dbi, &cur), 0);
    ck_assert_int_eq(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
    v.mv_data = "\x09\x00\x00\x00junk";
    v.mv_size = 8;
    ck_assert_int_eq(mdb_cursor_put(cur, &k, &v, MDB_CURRENT), 0);
    mdb_cursor_close(cur);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    st = open_store();
    int corrupt = 0, fine = 0;
    for (int i = 0; i < 2; i++) {
        apr_status_t rv = orgs_store_member_get(st, o1->id, users[i], &m, pool, &err);
        corrupt += rv == ORGS_ESTORE;
        fine += rv == APR_SUCCESS;
    }
    ck_assert_int_eq(corrupt, 1);
    ck_assert_int_eq(fine, 1);
    ck_assert_int_eq(orgs_store_check(st, &problems, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(problems->nelts, 3); /* the record, two orphaned index entries */
}
END_TEST

/* ---- sessions ----------------------------------------------------------- */

START_TEST(sessions)
{
    orgs_store_t *st = open_store();
    orgs_session_view_t *v;
    unsigned char h[32];
    apr_size_t removed;
    apr_time_t now = apr_time_now();
    apr_interval_time_t idle = apr_time_from_sec(600);
    const char *o = mk_org(st, "org1", NULL);
    const char *c = mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", "a@example.com");
    ck_assert_int_eq(orgs_store_member_add(st, "org1", u, strs(1, "admin"), pool, &err),
                     APR_SUCCESS);
    put_session(st, "sid-1", o, u, c, now);
    hash_of("sid-1", h);
    ck_assert_int_eq(orgs_store_session_view(st, h, now + 1, idle, &v, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(v->org.name, "org1");
    ck_assert_str_eq(v->user.email, "a@example.com");
    ck_assert_str_eq(v->conn_name, "okta");
    ck_assert_str_eq(APR_ARRAY_IDX(v->member.roles, 0, const char *), "admin");
    ck_assert_str_eq(v->session.claims_json, "{\"email\":\"a@x.com\"}");
    /* idle: expired after 11 minutes, unless touched */
    ck_assert_int_eq(
        orgs_store_session_view(st, h, now + apr_time_from_sec(660), idle, &v, pool, &err),
        ORGS_EEXPIRED);
    ck_assert_int_eq(orgs_store_session_touch(st, h, now + apr_time_from_sec(300), pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(
        orgs_store_session_view(st, h, now + apr_time_from_sec(660), idle, &v, pool, &err),
        APR_SUCCESS);
    /* absolute */
    ck_assert_int_eq(
        orgs_store_session_view(st, h, now + apr_time_from_sec(3601), 0, &v, pool, &err),
        ORGS_EEXPIRED);
    ck_assert_int_eq(
        orgs_store_session_purge(st, now + apr_time_from_sec(3601), 0, &removed, pool, &err),
        APR_SUCCESS);
    ck_assert_uint_eq(removed, 1);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_NOTFOUND);
    /* membership removal ends the session at once */
    put_session(st, "sid-2", o, u, c, now);
    hash_of("sid-2", h);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_remove(st, "org1", u, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_member_add(st, "org1", u, NULL, pool, &err), APR_SUCCESS);
    put_session(st, "sid-3", o, u, c, now);
    hash_of("sid-3", h);
    ck_assert_int_eq(orgs_store_session_delete(st, h, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

START_TEST(sessions_neg)
{
    orgs_store_t *st = open_store();
    orgs_session_view_t *v;
    orgs_session_t s = {0};
    unsigned char h[32];
    apr_time_t now = apr_time_now();
    const char *o = mk_org(st, "org1", NULL);
    const char *c = mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", NULL);
    hash_of("sid", h);
    s.org_id = o;
    s.user_id = u;
    s.conn_id = c;
    s.created = s.last_seen = now;
    s.expires = now + 1000;
    /* not a member */
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_member_add(st, o, u, NULL, pool, &err), APR_SUCCESS);
    s.expires = 0;
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_EINVAL);
    s.expires = now + 1000;
    s.conn_id = "con_AAAAAAAAAAAAAAAA";
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_session_touch(st, h, now, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_session_delete(st, h, pool, &err), APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

/* The logout hint is kept apart from the per-request record: the view
 * leaves it NULL, orgs_store_session_hint_get reads it, and every way a
 * session ends takes its hint along (orgs_store_check finds none left).
 * The claims come back as the stored text and, decoded once at sign-in,
 * as text pairs of the scalar claims, in order. */
START_TEST(sessions_hint_and_claims)
{
    orgs_store_t *st = open_store();
    orgs_session_view_t *v;
    orgs_session_t s = {0};
    unsigned char h[32];
    const char *hint;
    apr_time_t now = apr_time_now();
    const char *o = mk_org(st, "org1", NULL);
    const char *c = mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", NULL);
    static const char *const want[][2] = {
        {"sub", "s1"},
        {"n", "-42"},
        {"ok", "true"},
        {"no", "false"},
        {"r", "1.5"},
        {"", "empty"},
        {"name", "Jos\xc3\xa9 \"Q\" \\ \t"},
    };
    ck_assert_int_eq(orgs_store_member_add(st, o, u, NULL, pool, &err), APR_SUCCESS);
    s.org_id = o;
    s.user_id = u;
    s.conn_id = c;
    s.created = s.last_seen = now;
    s.expires = now + apr_time_from_sec(60);
    s.id_token_hint = "eyJhbGciOi.eyJzdWIiOi.c2ln";
    s.claims_json = "{\"sub\":\"s1\",\"n\":-42,\"ok\":true,\"no\":false,\"r\":1.5,\"z\":null,"
                    "\"a\":[1],\"o\":{\"x\":1},\"\":\"empty\",\"name\":\"Jos\xc3\xa9 \\\"Q\\\" "
                    "\\\\ \\t\"}";
    hash_of("sid", h);
    ck_assert_msg(orgs_store_session_put(st, h, &s, pool, &err) == APR_SUCCESS, "%s", err.msg);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_SUCCESS);
    ck_assert_ptr_null(v->session.id_token_hint);
    ck_assert_str_eq(v->session.claims_json, s.claims_json);
    ck_assert_str_eq(v->conn_name, "okta");
    ck_assert_str_eq(v->session.conn_id, c);
    ck_assert_int_eq(v->claims->nelts, 7);
    for (int i = 0; i < 7; i++) {
        ck_assert_str_eq(APR_ARRAY_IDX(v->claims, i, orgs_kv_t).key, want[i][0]);
        ck_assert_str_eq(APR_ARRAY_IDX(v->claims, i, orgs_kv_t).value, want[i][1]);
    }
    ck_assert_int_eq(orgs_store_session_hint_get(st, h, &hint, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(hint, s.id_token_hint);
    /* touch keeps hint and claims */
    ck_assert_int_eq(orgs_store_session_touch(st, h, now + 5, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_session_view(st, h, now + 5, 0, &v, pool, &err), APR_SUCCESS);
    ck_assert(v->session.last_seen == now + 5);
    ck_assert_int_eq(v->claims->nelts, 7);
    ck_assert_int_eq(orgs_store_session_hint_get(st, h, &hint, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(hint, s.id_token_hint);
    /* re-put without a hint and with claims that are no object */
    s.id_token_hint = NULL;
    s.claims_json = "[1,2]";
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_session_hint_get(st, h, &hint, pool, &err), APR_SUCCESS);
    ck_assert_ptr_null(hint);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(v->claims->nelts, 0);
    ck_assert_str_eq(v->session.claims_json, "[1,2]");
    /* no claims at all */
    s.claims_json = NULL;
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_SUCCESS);
    ck_assert_ptr_null(v->session.claims_json);
    ck_assert_int_eq(v->claims->nelts, 0);
    /* invalid UTF-8 is refused, as by the JSON record before */
    s.claims_json = "{\"a\":\"\xff\"}";
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_EINVAL);
    s.claims_json = NULL;
    s.id_token_hint = "\xc3";
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_EINVAL);
    /* every end of a session takes its hint along */
    s.id_token_hint = "hint";
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_session_delete(st, h, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_session_hint_get(st, h, &hint, pool, &err), APR_NOTFOUND);
    assert_clean(st);
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_remove(st, o, u, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_session_hint_get(st, h, &hint, pool, &err), APR_NOTFOUND);
    assert_clean(st);
    ck_assert_int_eq(orgs_store_member_add(st, o, u, NULL, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_SUCCESS);
    apr_size_t removed;
    ck_assert_int_eq(
        orgs_store_session_purge(st, now + apr_time_from_sec(61), 0, &removed, pool, &err),
        APR_SUCCESS);
    ck_assert_uint_eq(removed, 1);
    ck_assert_int_eq(orgs_store_session_hint_get(st, h, &hint, pool, &err), APR_NOTFOUND);
    assert_clean(st);
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_disable_conn(st, o, c, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_org_enable_conn(st, o, c, 0, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_disable_conn(st, o, c, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_session_hint_get(st, h, &hint, pool, &err), APR_NOTFOUND);
    assert_clean(st);
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_delete(st, o, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_session_hint_get(st, h, &hint, pool, &err), APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

/* Rewrites the JSON record of key in db (raw LMDB, store closed). */
static void raw_put(const char *db, const char *key, const char *json)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {strlen(key), (void *)key}, v = {strlen(json), (void *)json};
    ck_assert_int_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 64);
    ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
    ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* The organization and user records are read without jansson when they
 * have the usual shape; any other shape goes through jansson, and both
 * give the same values (or the same refusal). */
START_TEST(records_fast_and_full_decoding)
{
    orgs_store_t *st = open_store();
    orgs_org_t o = {0}, *got;
    orgs_user_t *u;
    int created;
    o.name = "org1";
    o.display_name = "\xc3\x89quipe \"A\" / \\ \xf0\x9f\x98\x80";
    o.meta = meta1("tier", "gold \"x\"");
    o.domains = strs(2, "b.example.com", "a.example.com");
    ck_assert_int_eq(orgs_store_org_create(st, &o, pool, &err), APR_SUCCESS);
    mk_conn(st, "okta", NULL);
    ck_assert_int_eq(orgs_store_user_login(st, "okta", "s\\1", "a@example.com", "Jos\xc3\xa9 \"Q\"",
                                           apr_time_now(), &u, &created, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_get(st, "org1", &got, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(got->display_name, o.display_name);
    ck_assert_int_eq(got->meta->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(got->meta, 0, orgs_kv_t).value, "gold \"x\"");
    ck_assert_int_eq(got->domains->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(got->domains, 0, const char *), "a.example.com");
    orgs_user_t *u2;
    ck_assert_int_eq(orgs_store_user_get(st, u->id, &u2, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(u2->sub, "s\\1");
    ck_assert_str_eq(u2->name, "Jos\xc3\xa9 \"Q\"");
    ck_assert(u2->created == u->created && u2->last_login == u->last_login);
    const char *org_id = apr_pstrdup(pool, got->id), *user_id = apr_pstrdup(pool, u->id);
    orgs_store_close(st);
    /* shapes the fast reader leaves to jansson: whitespace, \u escapes,
     * reals, null, repeated names */
    raw_put("orgs", org_id,
            apr_psprintf(pool,
                         "{ \"id\": \"%s\", \"name\": \"org1\", \"display_name\": \"\\u00c9q\","
                         " \"created\": 1.5, \"updated\": 7, \"x\": null, \"meta\": {\"k\":"
                         " \"v\"}, \"domains\": []}",
                         org_id));
    raw_put("users", user_id,
            apr_psprintf(pool,
                         "{\"id\":\"%s\",\"conn_id\":\"%s\",\"sub\":\"s\",\"name\":\"a\","
                         "\"name\":\"b\",\"created\":3}",
                         user_id, u->conn_id));
    st = open_store();
    ck_assert_int_eq(orgs_store_org_get(st, org_id, &got, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(got->display_name, "\xc3\x89q");
    ck_assert(got->created == 0 && got->updated == 7);
    ck_assert_str_eq(APR_ARRAY_IDX(got->meta, 0, orgs_kv_t).key, "k");
    ck_assert_int_eq(orgs_store_user_get(st, user_id, &u2, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(u2->name, "b");
    ck_assert(u2->created == 3 && u2->last_login == 0);
    orgs_store_close(st);
    /* the usual shape with odd values: the fast reader and jansson agree */
    raw_put("users", user_id,
            apr_psprintf(pool,
                         "{\"id\":\"%s\",\"conn_id\":\"%s\",\"sub\":\"s\\/\\b\\f\\n\\r\\t\","
                         "\"created\":-0,\"last_login\":123456789012345678,\"extra\":[\"z\"]}",
                         user_id, u->conn_id));
    st = open_store();
    ck_assert_int_eq(orgs_store_user_get(st, user_id, &u2, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(u2->sub, "s/\b\f\n\r\t");
    ck_assert_ptr_null(u2->name);
    ck_assert(u2->created == 0 && u2->last_login == 123456789012345678);
    orgs_store_close(st);
    /* refused alike: invalid UTF-8, an overlong form, a surrogate, a
     * control character, trailing bytes, a missing id */
    static const char *const bad[][2] = {
        {"id", ",\"sub\":\"\xff\"}"},         {"id", ",\"sub\":\"\xc0\xaf\"}"},
        {"id", ",\"sub\":\"\xed\xa0\x80\"}"}, {"id", ",\"sub\":\"\x01\"}"},
        {"id", ",\"sub\":\"s\"}x"},           {"idx", ",\"sub\":\"s\"}"},
        {"id", ",\"created\":01}"},           {"id", ",\"created\":99999999999999999999}"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        raw_put("users", user_id,
                apr_pstrcat(pool, "{\"", bad[i][0], "\":\"", user_id, "\",\"conn_id\":\"",
                            u->conn_id, "\"", bad[i][1], NULL));
        st = open_store();
        ck_assert_msg(orgs_store_user_get(st, user_id, &u2, pool, &err) == ORGS_ESTORE,
                      "bad record %zu accepted", i);
        orgs_store_close(st);
    }
}
END_TEST

/* A session created at `created`, expiring at `expires`. */
static apr_status_t put_session_at(orgs_store_t *st, const char *sid, const char *org,
                                   const char *user, const char *conn, apr_time_t created,
                                   apr_time_t expires)
{
    unsigned char h[32];
    orgs_session_t s = {0};
    s.org_id = org;
    s.user_id = user;
    s.conn_id = conn;
    s.created = s.last_seen = created;
    s.expires = expires;
    hash_of(sid, h);
    return orgs_store_session_put(st, h, &s, pool, &err);
}

static apr_status_t view_sid(orgs_store_t *st, const char *sid, apr_time_t now)
{
    orgs_session_view_t *v;
    unsigned char h[32];
    hash_of(sid, h);
    return orgs_store_session_view(st, h, now, 0, &v, pool, &err);
}

static apr_size_t session_count(orgs_store_t *st)
{
    orgs_store_stat_t stat;
    ck_assert_int_eq(orgs_store_stat(st, &stat, &err), APR_SUCCESS);
    return stat.sessions;
}

/* M5a: a member's cookie-less logins cannot grow the table: the 11th
 * session drops the oldest by created, whatever the key order, and only
 * that member's. */
START_TEST(sessions_per_member_cap)
{
    enum { CAP = ORGS_STORE_SESSIONS_PER_MEMBER };
    orgs_store_t *st = open_store();
    apr_time_t now = apr_time_now(), exp = now + apr_time_from_sec(3600);
    const char *o1 = mk_org(st, "org1", NULL), *o2 = mk_org(st, "org2", NULL);
    const char *c = mk_conn(st, "okta", NULL);
    const char *u1 = mk_user(st, "okta", "s1", NULL), *u2 = mk_user(st, "okta", "s2", NULL);
    ck_assert_int_eq(orgs_store_member_add(st, o1, u1, NULL, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(st, o2, u1, NULL, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(st, o1, u2, NULL, pool, &err), APR_SUCCESS);
    /* other members' sessions, older than all of u1's in org1 */
    for (int i = 0; i < CAP; i++) {
        ck_assert_int_eq(
            put_session_at(st, apr_psprintf(pool, "u2-%d", i), o1, u2, c, now - 100, exp),
            APR_SUCCESS);
        ck_assert_int_eq(
            put_session_at(st, apr_psprintf(pool, "o2-%d", i), o2, u1, c, now - 100, exp),
            APR_SUCCESS);
    }
    /* created in reverse of insertion order for half of them: age decides */
    for (int i = 0; i < CAP; i++) {
        apr_time_t created = now + (i % 2 ? i : CAP - i);
        ck_assert_int_eq(
            put_session_at(st, apr_psprintf(pool, "sid-%d", i), o1, u1, c, created, exp),
            APR_SUCCESS);
    }
    ck_assert_uint_eq(session_count(st), 3 * CAP);
    /* re-putting an existing session at the cap drops nothing */
    ck_assert_int_eq(put_session_at(st, "sid-3", o1, u1, c, now + 3, exp), APR_SUCCESS);
    ck_assert_uint_eq(session_count(st), 3 * CAP);
    /* sid-0 was created at now + CAP; sid-1 at now + 1 is the oldest */
    ck_assert_int_eq(put_session_at(st, "sid-new", o1, u1, c, now + 100, exp), APR_SUCCESS);
    ck_assert_int_eq(view_sid(st, "sid-1", now), APR_NOTFOUND);
    ck_assert_int_eq(view_sid(st, "sid-new", now), APR_SUCCESS);
    for (int i = 0; i < CAP; i++) {
        if (i != 1) {
            ck_assert_int_eq(view_sid(st, apr_psprintf(pool, "sid-%d", i), now), APR_SUCCESS);
        }
        ck_assert_int_eq(view_sid(st, apr_psprintf(pool, "u2-%d", i), now), APR_SUCCESS);
        ck_assert_int_eq(view_sid(st, apr_psprintf(pool, "o2-%d", i), now), APR_SUCCESS);
    }
    ck_assert_uint_eq(session_count(st), 3 * CAP);
    /* a new session is kept even when older than the others: they pay */
    ck_assert_int_eq(put_session_at(st, "sid-old", o1, u1, c, now - 1000, exp), APR_SUCCESS);
    ck_assert_int_eq(view_sid(st, "sid-old", now), APR_SUCCESS);
    ck_assert_int_eq(view_sid(st, "sid-8", now), APR_NOTFOUND); /* now + 2: next oldest */
    ck_assert_int_eq(view_sid(st, "sid-3", now), APR_SUCCESS);
    /* many more logins: still CAP, the newest ones */
    for (int i = 0; i < 3 * CAP; i++) {
        ck_assert_int_eq(
            put_session_at(st, apr_psprintf(pool, "more-%d", i), o1, u1, c, now + 1000 + i, exp),
            APR_SUCCESS);
    }
    ck_assert_uint_eq(session_count(st), 3 * CAP);
    for (int i = 0; i < 3 * CAP; i++) {
        ck_assert_int_eq(view_sid(st, apr_psprintf(pool, "more-%d", i), now),
                         i < 2 * CAP ? APR_NOTFOUND : APR_SUCCESS);
    }
    ck_assert_int_eq(view_sid(st, "sid-new", now), APR_NOTFOUND);
    ck_assert_int_eq(view_sid(st, "u2-0", now), APR_SUCCESS);
    ck_assert_int_eq(view_sid(st, "o2-0", now), APR_SUCCESS);
    assert_clean(st);
}
END_TEST

/* Per-session size caps: the logout hint up to a maximal ID token, the
 * claims up to 16 KiB; one byte more is refused and nothing is written. */
START_TEST(sessions_size_caps)
{
    orgs_store_t *st = open_store();
    unsigned char h[32];
    orgs_session_t s = {0};
    apr_time_t now = apr_time_now();
    char *hint = apr_palloc(pool, ORGS_STORE_SESSION_HINT_MAX + 2);
    char *claims = apr_palloc(pool, ORGS_STORE_SESSION_CLAIMS_MAX + 2);
    const char *o = mk_org(st, "org1", NULL);
    const char *c = mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", NULL);
    ck_assert_int_eq(orgs_store_member_add(st, o, u, NULL, pool, &err), APR_SUCCESS);
    memset(hint, 'a', ORGS_STORE_SESSION_HINT_MAX + 1);
    hint[ORGS_STORE_SESSION_HINT_MAX + 1] = '\0';
    /* {"x":"aaa...a"}: exactly the cap, then one byte more */
    memset(claims, 'a', ORGS_STORE_SESSION_CLAIMS_MAX + 1);
    memcpy(claims, "{\"x\":\"", 6);
    memcpy(claims + ORGS_STORE_SESSION_CLAIMS_MAX - 2, "\"}", 3);
    s.org_id = o;
    s.user_id = u;
    s.conn_id = c;
    s.created = s.last_seen = now;
    s.expires = now + apr_time_from_sec(60);
    hash_of("sid", h);
    s.id_token_hint = hint; /* cap + 1 */
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_EINVAL);
    s.id_token_hint = NULL;
    claims[ORGS_STORE_SESSION_CLAIMS_MAX - 1] = 'a'; /* cap + 1: {"x":"aa...a"} */
    memcpy(claims + ORGS_STORE_SESSION_CLAIMS_MAX - 1, "\"}", 3);
    s.claims_json = claims;
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_EINVAL);
    ck_assert_int_eq(view_sid(st, "sid", now), APR_NOTFOUND);
    ck_assert_uint_eq(session_count(st), 0);
    hint[ORGS_STORE_SESSION_HINT_MAX] = '\0';
    memcpy(claims + ORGS_STORE_SESSION_CLAIMS_MAX - 2, "\"}", 3);
    ck_assert_uint_eq(strlen(hint), ORGS_STORE_SESSION_HINT_MAX);
    ck_assert_uint_eq(strlen(claims), ORGS_STORE_SESSION_CLAIMS_MAX);
    s.id_token_hint = hint;
    ck_assert_msg(orgs_store_session_put(st, h, &s, pool, &err) == APR_SUCCESS, "%s", err.msg);
    ck_assert_int_eq(view_sid(st, "sid", now), APR_SUCCESS);
    assert_clean(st);
}
END_TEST

/* M5b: the purge works in batches of its own transactions. More than one
 * batch (at the real sizes) of expired sessions among live ones: all the
 * expired ones go, every live one stays, *removed counts them. */
START_TEST(sessions_purge_batches)
{
    enum { ORGS = 125, EXPIRED = 9 }; /* 1125 expired, 125 live */
    orgs_store_t *st = open_store();
    apr_time_t now = apr_time_now();
    apr_size_t removed = 0;
    const char *c = mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", NULL);
    for (int i = 0; i < ORGS; i++) {
        const char *o = mk_org(st, apr_psprintf(pool, "org%d", i), NULL);
        ck_assert_int_eq(orgs_store_member_add(st, o, u, NULL, pool, &err), APR_SUCCESS);
        for (int j = 0; j <= EXPIRED; j++) {
            apr_time_t created = now - apr_time_from_sec(7200) + j;
            ck_assert_int_eq(put_session_at(st, apr_psprintf(pool, "s-%d-%d", i, j), o, u, c,
                                            created,
                                            j < EXPIRED ? now - 1 : now + apr_time_from_sec(60)),
                             APR_SUCCESS);
        }
    }
    ck_assert_uint_eq(session_count(st), ORGS * (EXPIRED + 1));
    ck_assert_int_eq(orgs_store_session_purge(st, now, 0, &removed, pool, &err), APR_SUCCESS);
    ck_assert_uint_eq(removed, ORGS * EXPIRED);
    ck_assert_uint_gt(removed, 1000);
    ck_assert_uint_eq(session_count(st), ORGS);
    for (int i = 0; i < ORGS; i++) {
        ck_assert_int_eq(view_sid(st, apr_psprintf(pool, "s-%d-%d", i, EXPIRED), now), APR_SUCCESS);
        ck_assert_int_eq(view_sid(st, apr_psprintf(pool, "s-%d-0", i), now), APR_NOTFOUND);
    }
    /* nothing left to do */
    ck_assert_int_eq(orgs_store_session_purge(st, now, 0, &removed, pool, &err), APR_SUCCESS);
    ck_assert_uint_eq(removed, 0);
    assert_clean(st);
}
END_TEST

/* Small batches hit both bounds (deletions and records read), including a
 * batch ending on a live session, and idle expiry. */
START_TEST(sessions_purge_small_batches)
{
    enum { N = 60 };
    orgs_store_t *st = open_store();
    apr_time_t now = apr_time_now();
    apr_interval_time_t idle = apr_time_from_sec(600);
    apr_size_t removed = 0, want = 0;
    const char *c = mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", NULL);
    const char *orgs[N / 5];
    for (int i = 0; i < N / 5; i++) {
        orgs[i] = mk_org(st, apr_psprintf(pool, "org%d", i), NULL);
        ck_assert_int_eq(orgs_store_member_add(st, orgs[i], u, NULL, pool, &err), APR_SUCCESS);
    }
    /* i % 3 == 0: expired; i % 3 == 1: idle for 20 minutes; else live */
    for (int i = 0; i < N; i++) {
        apr_time_t created = now - apr_time_from_sec(i % 3 == 1 ? 1200 : 60);
        ck_assert_int_eq(put_session_at(st, apr_psprintf(pool, "s-%d", i), orgs[i / 5], u, c,
                                        created,
                                        i % 3 == 0 ? now - 1 : now + apr_time_from_sec(3600)),
                         APR_SUCCESS);
        want += i % 3 != 2;
    }
    orgs_store_session_purge_set_batch(st, 3, 7);
    ck_assert_int_eq(orgs_store_session_purge(st, now, idle, &removed, pool, &err), APR_SUCCESS);
    ck_assert_uint_eq(removed, want);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(view_sid(st, apr_psprintf(pool, "s-%d", i), now),
                         i % 3 == 2 ? APR_SUCCESS : APR_NOTFOUND);
    }
    ck_assert_uint_eq(session_count(st), N - want);
    /* read-only bound: only live ones, batch after batch */
    orgs_store_session_purge_set_batch(st, 1, 1);
    ck_assert_int_eq(orgs_store_session_purge(st, now, idle, &removed, pool, &err), APR_SUCCESS);
    ck_assert_uint_eq(removed, 0);
    ck_assert_uint_eq(session_count(st), N - want);
    /* a read-only store: the error is reported and nothing counted */
    orgs_store_t *ro;
    ck_assert_int_eq(orgs_store_open(&ro, dir, 0, 0, ORGS_STORE_RDONLY, keys, pool, &err),
                     APR_SUCCESS);
    removed = 99;
    ck_assert_int_ne(
        orgs_store_session_purge(ro, now + apr_time_from_sec(7200), 0, &removed, pool, &err),
        APR_SUCCESS);
    ck_assert_uint_eq(removed, 0);
    ck_assert_uint_eq(session_count(st), N - want);
    assert_clean(st);
}
END_TEST

/* ---- pending logins ----------------------------------------------------- */

static void pending(orgs_store_t *st, const char *state, unsigned char b, apr_time_t created,
                    apr_status_t want)
{
    orgs_pending_t pl = {0};
    pl.state = state;
    memset(pl.browser, b, sizeof(pl.browser));
    pl.nonce = "nonce-1";
    pl.code_verifier = "verifier-1";
    pl.org_id = "org_AAAAAAAAAAAAAAAA";
    pl.return_to = "/app/";
    pl.created = created;
    ck_assert_int_eq(orgs_store_pending_put(st, &pl, 2, apr_time_from_sec(600), pool, &err), want);
}

/* b: the byte the browser hash is made of; 0 = no browser cookie */
static apr_status_t take(orgs_store_t *st, const char *state, unsigned char b, apr_time_t now,
                         orgs_pending_t **pl)
{
    unsigned char mac[32];
    memset(mac, b, sizeof(mac));
    return orgs_store_pending_take(st, state, b ? mac : NULL, now, apr_time_from_sec(600), pl, pool,
                                   &err);
}

START_TEST(pending_logins)
{
    orgs_store_t *st = open_store();
    orgs_pending_t *pl;
    apr_time_t now = apr_time_now();
    pending(st, "state-aaaaaaaaaaaaaaa", 1, now, APR_SUCCESS);
    ck_assert_int_eq(take(st, "state-aaaaaaaaaaaaaaa", 1, now + 5, &pl), APR_SUCCESS);
    ck_assert_str_eq(pl->nonce, "nonce-1");
    ck_assert_str_eq(pl->code_verifier, "verifier-1");
    ck_assert_str_eq(pl->return_to, "/app/");
    ck_assert_int_eq(pl->browser[31], 1);
    ck_assert_int_eq(pl->created, now);
    ck_assert_int_eq(take(st, "state-aaaaaaaaaaaaaaa", 1, now + 5, &pl), APR_NOTFOUND);
    /* at most 2 per browser: the oldest goes */
    pending(st, "state-1111111111111111", 2, now + 1, APR_SUCCESS);
    pending(st, "state-2222222222222222", 2, now + 2, APR_SUCCESS);
    pending(st, "state-3333333333333333", 2, now + 3, APR_SUCCESS);
    pending(st, "state-4444444444444444", 3, now + 3, APR_SUCCESS);
    ck_assert_int_eq(take(st, "state-1111111111111111", 2, now + 5, &pl), APR_NOTFOUND);
    ck_assert_int_eq(take(st, "state-2222222222222222", 2, now + 5, &pl), APR_SUCCESS);
    ck_assert_int_eq(take(st, "state-3333333333333333", 2, now + 5, &pl), APR_SUCCESS);
    ck_assert_int_eq(take(st, "state-4444444444444444", 3, now + 5, &pl), APR_SUCCESS);
    assert_clean(st);
}
END_TEST

START_TEST(pending_neg)
{
    orgs_store_t *st = open_store();
    orgs_pending_t *pl;
    unsigned char mac[32];
    apr_time_t now = apr_time_now();
    apr_interval_time_t ttl = apr_time_from_sec(600);
    pending(st, "short", 1, now, APR_EINVAL);
    pending(st, "state with spaces in it", 1, now, APR_EINVAL);
    pending(st, "state-aaaaaaaaaaaaaaa", 1, now, APR_SUCCESS);
    pending(st, "state-aaaaaaaaaaaaaaa", 4, now, APR_EEXIST);
    /* expired: refused and gone */
    ck_assert_int_eq(take(st, "state-aaaaaaaaaaaaaaa", 1, now + apr_time_from_sec(601), &pl),
                     ORGS_EEXPIRED);
    ck_assert_int_eq(take(st, "state-aaaaaaaaaaaaaaa", 1, now, &pl), APR_NOTFOUND);
    ck_assert_int_eq(take(st, "nope", 1, now, &pl), APR_NOTFOUND);
    ck_assert_int_eq(take(st, "nope", 0, now, &pl), APR_NOTFOUND);
    /* an expired entry of the same browser is dropped by the next put */
    pending(st, "state-old-xxxxxxxxxxxx", 5, now - apr_time_from_sec(700), APR_SUCCESS);
    pending(st, "state-new-xxxxxxxxxxxx", 5, now, APR_SUCCESS);
    memset(mac, 5, sizeof(mac));
    ck_assert_int_eq(
        orgs_store_pending_take(st, "state-old-xxxxxxxxxxxx", mac, now, ttl * 10, &pl, pool, &err),
        APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

/* L1: the browser is compared before the entry is consumed, so a leaked
 * state used from another browser (or without the cookie) is refused and
 * the rightful browser can still finish. */
START_TEST(pending_other_browser_keeps_entry)
{
    orgs_store_t *st = open_store();
    orgs_pending_t *pl = NULL;
    apr_time_t now = apr_time_now();
    pending(st, "state-victim-xxxxxxxxx", 1, now, APR_SUCCESS);
    ck_assert_int_eq(take(st, "state-victim-xxxxxxxxx", 2, now + 5, &pl), ORGS_EDENIED);
    ck_assert_ptr_null(pl);
    ck_assert_int_eq(take(st, "state-victim-xxxxxxxxx", 0, now + 5, &pl), ORGS_EDENIED);
    ck_assert_int_eq(take(st, "state-victim-xxxxxxxxx", 2, now + 5, &pl), ORGS_EDENIED);
    assert_clean(st);
    ck_assert_int_eq(take(st, "state-victim-xxxxxxxxx", 1, now + 5, &pl), APR_SUCCESS);
    ck_assert_str_eq(pl->nonce, "nonce-1");
    ck_assert_int_eq(take(st, "state-victim-xxxxxxxxx", 1, now + 5, &pl), APR_NOTFOUND);
    /* expired and the wrong browser: still denied, not consumed */
    pending(st, "state-late-xxxxxxxxxxx", 3, now, APR_SUCCESS);
    ck_assert_int_eq(take(st, "state-late-xxxxxxxxxxx", 4, now + apr_time_from_sec(601), &pl),
                     ORGS_EDENIED);
    ck_assert_int_eq(take(st, "state-late-xxxxxxxxxxx", 3, now + apr_time_from_sec(601), &pl),
                     ORGS_EEXPIRED);
    ck_assert_int_eq(take(st, "state-late-xxxxxxxxxxx", 3, now, &pl), APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

/* n pending logins, each from its own "browser" (a client that never
 * sends the cookie). */
static apr_status_t pending_n(orgs_store_t *st, int from, int n, apr_time_t created)
{
    apr_status_t rv = APR_SUCCESS;
    for (int i = from; rv == APR_SUCCESS && i < from + n; i++) {
        orgs_pending_t pl = {0};
        pl.state = apr_psprintf(pool, "state-flood-%010d", i);
        memcpy(pl.browser, &i, sizeof(i));
        pl.nonce = "nonce-1";
        pl.code_verifier = "verifier-1";
        pl.created = created;
        rv = orgs_store_pending_put(st, &pl, 2, apr_time_from_sec(600), pool, &err);
    }
    return rv;
}

static apr_status_t take_n(orgs_store_t *st, int i, apr_time_t now)
{
    orgs_pending_t *pl;
    unsigned char mac[32] = {0};
    memcpy(mac, &i, sizeof(i));
    return orgs_store_pending_take(st, apr_psprintf(pool, "state-flood-%010d", i), mac, now,
                                   apr_time_from_sec(600), &pl, pool, &err);
}

/* H1: the table has a global bound whatever the browsers; expired entries
 * make room (oldest first), live ones are never evicted by strangers. */
START_TEST(pending_global_bound)
{
    orgs_store_t *st = open_store();
    apr_time_t now = apr_time_now(), later = now + apr_time_from_sec(601);
    orgs_store_pending_set_max(st, 40);
    ck_assert_int_eq(pending_n(st, 0, 40, now), APR_SUCCESS);
    ck_assert_int_eq(pending_n(st, 40, 1, now + 1), APR_ENOSPC);
    ck_assert_ptr_nonnull(strstr(err.msg, "too many sign-ins"));
    ck_assert_int_eq(take_n(st, 40, now + 1), APR_NOTFOUND); /* nothing written */
    ck_assert_int_eq(take_n(st, 0, now + 1), APR_SUCCESS);   /* the live ones stay */
    ck_assert_int_eq(pending_n(st, 40, 1, now + 1), APR_SUCCESS);
    ck_assert_int_eq(pending_n(st, 41, 1, now + 1), APR_ENOSPC);
    assert_clean(st);
    /* every put drops a few expired ones; a table over its (lowered) bound
     * drops all expired ones to make room */
    orgs_store_pending_set_max(st, 20);
    ck_assert_int_eq(pending_n(st, 100, 1, later + 2), APR_SUCCESS);
    for (int i = 1; i <= 40; i++) {
        ck_assert_int_eq(take_n(st, i, later + 2), APR_NOTFOUND);
    }
    ck_assert_int_eq(take_n(st, 100, later + 2), APR_SUCCESS);
    assert_clean(st);
    /* 0 restores the default bound */
    orgs_store_pending_set_max(st, 0);
    ck_assert_int_eq(pending_n(st, 200, 41, later + 3), APR_SUCCESS);
    assert_clean(st);
}
END_TEST

/* H1: every put drops a few expired entries of any browser, oldest first,
 * even when the table is far from full. */
START_TEST(pending_sweep_on_put)
{
    orgs_store_t *st = open_store();
    apr_time_t now = apr_time_now(), later = now + apr_time_from_sec(601);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(pending_n(st, i, 1, now + apr_time_from_sec(i)), APR_SUCCESS);
    }
    ck_assert_int_eq(pending_n(st, 50, 1, later), APR_SUCCESS); /* only 0 has expired */
    ck_assert_int_eq(take_n(st, 0, now + 20), APR_NOTFOUND);
    ck_assert_int_eq(take_n(st, 1, now + 20), APR_SUCCESS);
    ck_assert_int_eq(pending_n(st, 51, 1, later + apr_time_from_sec(100)),
                     APR_SUCCESS); /* 2..9 expired */
    for (int i = 2; i < 6; i++) {
        ck_assert_int_eq(take_n(st, i, now + 20), APR_NOTFOUND); /* the 4 oldest went */
    }
    ck_assert_int_eq(take_n(st, 6, now + 20), APR_SUCCESS); /* the others wait their turn */
    assert_clean(st);
}
END_TEST

/* Stores written before the time index: a read-only open works without
 * it, a write open indexes their pending logins. */
START_TEST(pending_time_index_rebuilt)
{
    orgs_store_t *st = open_store();
    apr_array_header_t *problems;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    apr_time_t now = apr_time_now();
    ck_assert_int_eq(pending_n(st, 0, 3, now), APR_SUCCESS);
    orgs_store_close(st);
    ck_assert_int_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 64);
    ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "pending_time", 0, &dbi), 0);
    ck_assert_int_eq(mdb_drop(txn, dbi, 1), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    ck_assert_int_eq(orgs_store_open(&st, dir, 0, 0, ORGS_STORE_RDONLY, keys, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_check(st, &problems, pool, &err), APR_SUCCESS);
    orgs_store_close(st);
    st = open_store();
    assert_clean(st);
    ck_assert_int_eq(pending_n(st, 10, 1, now + apr_time_from_sec(601)), APR_SUCCESS);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(take_n(st, i, now), APR_NOTFOUND); /* swept through the index */
    }
    assert_clean(st);
}
END_TEST

/* ---- cache and invitations ---------------------------------------------- */

START_TEST(cache)
{
    orgs_store_t *st = open_store();
    const char *v;
    apr_time_t fetched;
    char *longkey = apr_pstrcat(pool, "https://idp.example.com/", NULL);
    while (strlen(longkey) < 1000) {
        longkey = apr_pstrcat(pool, longkey, "segment/", NULL);
    }
    ck_assert_int_eq(orgs_store_cache_put(st, "jwks:x", "{\"keys\":[]}", 42, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_cache_put(st, longkey, "long", 43, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_cache_get(st, "jwks:x", &v, &fetched, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(v, "{\"keys\":[]}");
    ck_assert_int_eq(fetched, 42);
    ck_assert_int_eq(orgs_store_cache_get(st, longkey, &v, &fetched, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(v, "long");
    ck_assert_int_eq(orgs_store_cache_get(st, "absent", &v, &fetched, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_cache_put(st, "", "x", 1, pool, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_store_cache_put(st, "k", NULL, 1, pool, &err), APR_EINVAL);
}
END_TEST

START_TEST(invites)
{
    orgs_store_t *st = open_store();
    orgs_invite_t inv = {0};
    apr_array_header_t *list;
    apr_time_t now = apr_time_now();
    const char *o = mk_org(st, "org1", NULL);
    inv.org_id = "org1";
    inv.email = "new@Example.com";
    inv.roles = strs(1, "admin");
    inv.expires = now + apr_time_from_sec(86400);
    ck_assert_int_eq(orgs_store_invite_create(st, &inv, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(strncmp(inv.id, "inv_", 4), 0);
    ck_assert_int_eq(orgs_store_invite_list(st, o, &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(list, 0, orgs_invite_t *)->email, "new@example.com");
    ck_assert_str_eq(APR_ARRAY_IDX(list, 0, orgs_invite_t *)->org_id, o);
    assert_clean(st);
    ck_assert_int_eq(orgs_store_invite_revoke(st, inv.id, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_invite_revoke(st, inv.id, pool, &err), APR_NOTFOUND);
    inv.email = "bad";
    ck_assert_int_eq(orgs_store_invite_create(st, &inv, pool, &err), APR_EINVAL);
    inv.email = "a@example.com";
    inv.expires = 1;
    inv.created = 0;
    ck_assert_int_eq(orgs_store_invite_create(st, &inv, pool, &err), APR_EINVAL);
    inv.org_id = "nope";
    inv.expires = now + 100000000;
    ck_assert_int_eq(orgs_store_invite_create(st, &inv, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_invite_list(st, "org1", &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 0);
    assert_clean(st);
}
END_TEST

/* ---- whole store --------------------------------------------------------- */

static void populate(orgs_store_t *st)
{
    orgs_invite_t inv = {0};
    orgs_org_t o = {0};
    o.name = "org1";
    o.meta = meta1("license", "premium");
    o.domains = strs(1, "acme.com");
    ck_assert_int_eq(orgs_store_org_create(st, &o, pool, &err), APR_SUCCESS);
    mk_org(st, "org2", NULL);
    mk_conn(st, "okta", "s3cret");
    const char *u = mk_user(st, "okta", "s1", "a@acme.com");
    ck_assert_int_eq(orgs_store_org_enable_conn(st, "org1", "okta", 1, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(st, "org1", u, strs(2, "admin", "x"), pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(st, "org2", u, NULL, pool, &err), APR_SUCCESS);
    inv.org_id = "org2";
    inv.email = "z@acme.com";
    inv.expires = apr_time_now() + apr_time_from_sec(60);
    ck_assert_int_eq(orgs_store_invite_create(st, &inv, pool, &err), APR_SUCCESS);
}

START_TEST(export_import)
{
    orgs_store_t *st = open_store(), *st2;
    orgs_store_stat_t s1, s2;
    orgs_conn_t *c;
    orgs_org_t *o;
    apr_size_t n, m;
    FILE *fp = tmpfile();
    char *dir2 = testutil_tempdir(pool);
    populate(st);
    ck_assert_int_eq(orgs_store_export(st, fp, &n, pool, &err), APR_SUCCESS);
    ck_assert_uint_eq(n, 8);
    rewind(fp);
    st2 = open_in(dir2, keys);
    ck_assert_int_eq(orgs_store_import(st2, fp, &m, pool, &err), APR_SUCCESS);
    ck_assert_uint_eq(m, n);
    ck_assert_int_eq(orgs_store_stat(st, &s1, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_stat(st2, &s2, &err), APR_SUCCESS);
    ck_assert_uint_eq(s1.orgs, s2.orgs);
    ck_assert_uint_eq(s1.users, s2.users);
    ck_assert_uint_eq(s1.members, s2.members);
    ck_assert_int_eq(orgs_store_conn_get_secret(st2, "okta", &c, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(c->client_secret, "s3cret");
    ck_assert_int_eq(orgs_store_org_by_domain(st2, "acme.com", &o, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(APR_ARRAY_IDX(o->meta, 0, orgs_kv_t).value, "premium");
    assert_clean(st2);
    /* again into the same store: conflicts, all or nothing */
    rewind(fp);
    ck_assert_int_eq(orgs_store_import(st2, fp, &m, pool, &err), APR_EEXIST);
    ck_assert_ptr_nonnull(strstr(err.msg, "line 1"));
    ck_assert_int_eq(orgs_store_stat(st2, &s2, &err), APR_SUCCESS);
    ck_assert_uint_eq(s1.orgs, s2.orgs);
    fclose(fp);
    testutil_rmtree(dir2);
}
END_TEST

START_TEST(import_bad)
{
    orgs_store_t *st = open_store();
    orgs_store_stat_t s;
    apr_size_t n;
    const char *cases[] = {
        "{\"type\":\"org\",\"id\":\"org_AAAAAAAAAAAAAAAA\",\"name\":\"a\"}\nnot json\n",
        "{\"type\":\"org\",\"id\":\"org_AAAAAAAAAAAAAAAA\",\"name\":\"Bad Name\"}\n",
        "{\"type\":\"org\",\"id\":\"bad\",\"name\":\"a\"}\n",
        "{\"type\":\"member\",\"org_id\":\"org_AAAAAAAAAAAAAAAA\",\"user_id\":"
        "\"usr_AAAAAAAAAAAAAAAA\",\"roles\":[]}\n",
        "{\"type\":\"spaceship\"}\n",
        "{\"type\":\"conn\",\"id\":\"con_AAAAAAAAAAAAAAAA\",\"name\":\"c\",\"issuer\":"
        "\"https://i.example.com\",\"client_id\":\"x\",\"secret\":\"AAAA\"}\n",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        FILE *fp = tmpfile();
        fputs(cases[i], fp);
        rewind(fp);
        ck_assert_msg(orgs_store_import(st, fp, &n, pool, &err) != APR_SUCCESS, "case %zu", i);
        ck_assert_uint_eq(n, 0);
        fclose(fp);
    }
    ck_assert_int_eq(orgs_store_stat(st, &s, &err), APR_SUCCESS);
    ck_assert_uint_eq(s.orgs, 0);
    ck_assert_uint_eq(s.conns, 0);
}
END_TEST

START_TEST(map_full)
{
    orgs_store_t *st;
    apr_array_header_t *list;
    apr_status_t rv = APR_SUCCESS;
    int made = 0;
    ck_assert_int_eq(orgs_store_open(&st, dir, 256 * 1024, 0, ORGS_STORE_CREATE, keys, pool, &err),
                     APR_SUCCESS);
    char dn[200];
    memset(dn, 'D', sizeof(dn) - 1);
    dn[sizeof(dn) - 1] = '\0';
    for (int i = 0; i < 100000; i++) {
        orgs_org_t o = {0};
        o.name = apr_psprintf(pool, "org%d", i);
        o.display_name = dn;
        rv = orgs_store_org_create(st, &o, pool, &err);
        if (rv != APR_SUCCESS) {
            break;
        }
        made++;
    }
    ck_assert_int_eq(rv, ORGS_ESTOREFULL);
    ck_assert_ptr_nonnull(strstr(err.msg, "OrgsStoreMaxSize"));
    ck_assert_int_gt(made, 10);
    orgs_store_close(st);
    st = open_store(); /* default (larger) size */
    ck_assert_int_eq(orgs_store_org_list(st, &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, made);
    assert_clean(st);
    mk_org(st, "after", NULL);
}
END_TEST

#define WRITERS 4
#define PER_WRITER 25

static void writer(int w)
{
    apr_pool_t *p;
    orgs_store_t *st;
    orgs_err_t e;
    orgs_user_t *u;
    int created;
    apr_pool_create(&p, NULL);
    if (orgs_store_open(&st, dir, 0, 0, ORGS_STORE_CREATE, keys, p, &e) != APR_SUCCESS) {
        _exit(10);
    }
    orgs_conn_t c = {0};
    c.name = apr_psprintf(p, "conn%d", w);
    c.issuer = "https://idp.example.com";
    c.client_id = "x";
    if (orgs_store_conn_create(st, &c, p, &e) != APR_SUCCESS) {
        _exit(11);
    }
    for (int i = 0; i < PER_WRITER; i++) {
        orgs_org_t o = {0};
        o.name = apr_psprintf(p, "w%d-org%d", w, i);
        if (orgs_store_org_create(st, &o, p, &e) != APR_SUCCESS ||
            orgs_store_user_login(st, c.id, apr_psprintf(p, "sub%d", i), NULL, NULL, 1, &u,
                                  &created, p, &e) != APR_SUCCESS ||
            orgs_store_member_add(st, o.id, u->id, NULL, p, &e) != APR_SUCCESS) {
            _exit(12);
        }
    }
    orgs_store_close(st);
    apr_pool_destroy(p);
    _exit(0);
}

/* A threaded user (httpd child) never remaps under its readers: when
 * another process grows the store beyond its map, it gets a clear error;
 * a single-threaded user (orgctl) adopts the new size. */
START_TEST(map_grown_by_another_process)
{
    orgs_store_t *small, *single;
    orgs_org_t *got;
    int go[2];
    char byte = 0;
    pid_t pid;
    int status;
    {
        orgs_store_t *st = open_in(dir, keys);
        orgs_org_t o = {.name = "first"};
        ck_assert_int_eq(orgs_store_org_create(st, &o, pool, &err), APR_SUCCESS);
        orgs_store_close(st);
    }
    /* fork while nothing is open; the child waits until this process has
     * its (small) map, then grows the store in a 64 MiB one */
    ck_assert_int_eq(pipe(go), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        apr_pool_t *p;
        orgs_store_t *big;
        orgs_err_t e;
        close(go[1]);
        if (read(go[0], &byte, 1) != 1) {
            _exit(9);
        }
        apr_pool_create(&p, NULL);
        if (orgs_store_open(&big, dir, (apr_uint64_t)64 << 20, 0, ORGS_STORE_CREATE, keys, p, &e) !=
            APR_SUCCESS) {
            _exit(10);
        }
        for (int i = 0; i < 3000; i++) {
            orgs_org_t o = {.name = apr_psprintf(p, "grown-%d", i),
                            .display_name = apr_psprintf(p, "%0200d", i)};
            if (orgs_store_org_create(big, &o, p, &e) != APR_SUCCESS) {
                _exit(11);
            }
        }
        orgs_store_close(big);
        _exit(0);
    }
    close(go[0]);
    ck_assert_int_eq(orgs_store_open(&small, dir, (apr_uint64_t)1 << 20, 0,
                                     ORGS_STORE_CREATE | ORGS_STORE_THREADED, keys, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_get(small, "first", &got, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(write(go[1], &byte, 1), 1);
    close(go[1]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "grower: %d", status);
    ck_assert_int_eq(orgs_store_org_get(small, "first", &got, pool, &err), ORGS_ESTORE);
    ck_assert_ptr_nonnull(strstr(err.msg, "OrgsStoreMaxSize"));
    orgs_store_close(small);
    /* single-threaded: adopts the size and sees everything */
    ck_assert_int_eq(orgs_store_open(&single, dir, (apr_uint64_t)1 << 20, 0, ORGS_STORE_CREATE,
                                     keys, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_get(single, "grown-2999", &got, pool, &err), APR_SUCCESS);
}
END_TEST

START_TEST(concurrent_writers)
{
    pid_t pids[WRITERS];
    orgs_store_stat_t s;
    /* nothing is open in this process before the fork */
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        ck_assert_int_ge(pids[w], 0);
        if (pids[w] == 0) {
            writer(w);
        }
    }
    for (int w = 0; w < WRITERS; w++) {
        int status;
        ck_assert_int_eq(waitpid(pids[w], &status, 0), pids[w]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %d: %d", w, status);
    }
    orgs_store_t *st = open_store();
    ck_assert_int_eq(orgs_store_stat(st, &s, &err), APR_SUCCESS);
    ck_assert_uint_eq(s.orgs, WRITERS * PER_WRITER);
    ck_assert_uint_eq(s.members, WRITERS * PER_WRITER);
    ck_assert_uint_eq(s.users, WRITERS * PER_WRITER);
    ck_assert_uint_eq(s.conns, WRITERS);
    assert_clean(st);
}
END_TEST

typedef struct {
    orgs_store_t *st;
    const char *org, *user;
    int hits;
} reader_arg_t;

static void *reader(void *data)
{
    reader_arg_t *a = data;
    apr_pool_t *p;
    orgs_err_t e;
    orgs_member_t *m;
    apr_pool_create(&p, NULL);
    for (int i = 0; i < 2000; i++) {
        a->hits += orgs_store_member_get(a->st, a->org, a->user, &m, p, &e) == APR_SUCCESS &&
                   m->roles->nelts == 1;
        if (i % 100 == 0) {
            apr_pool_clear(p);
        }
    }
    apr_pool_destroy(p);
    return NULL;
}

/* Threads share one environment (event MPM) while a writer commits. */
START_TEST(threaded_readers)
{
    orgs_store_t *st = open_store();
    pthread_t th[8];
    reader_arg_t args[8];
    const char *o = mk_org(st, "org1", NULL);
    mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", NULL);
    ck_assert_int_eq(orgs_store_member_add(st, o, u, strs(1, "admin"), pool, &err), APR_SUCCESS);
    for (int i = 0; i < 8; i++) {
        args[i] = (reader_arg_t){st, o, u, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, reader, &args[i]), 0);
    }
    for (int i = 0; i < 50; i++) {
        mk_org(st, apr_psprintf(pool, "busy%d", i), NULL);
    }
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        ck_assert_int_eq(args[i].hits, 2000);
    }
    assert_clean(st);
}
END_TEST

START_TEST(format_version)
{
    orgs_store_t *st = open_store();
    orgs_store_stat_t s;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    ck_assert_int_eq(orgs_store_stat(st, &s, &err), APR_SUCCESS);
    ck_assert_uint_eq(s.version, ORGS_STORE_FORMAT_VERSION);
    ck_assert_uint_eq(s.map_size, ORGS_STORE_DEFAULT_MAP_SIZE);
    orgs_store_close(st);
    ck_assert_int_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 64);
    ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    char ver[8];
    snprintf(ver, sizeof(ver), "%d", ORGS_STORE_FORMAT_VERSION + 1);
    MDB_val k = {7, "version"}, v = {strlen(ver), ver};
    ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    ck_assert_int_eq(orgs_store_open(&st, dir, 0, 0, ORGS_STORE_CREATE, keys, pool, &err),
                     ORGS_EVERSION);
    ck_assert_int_eq(orgs_store_open(&st, dir, 0, 0, ORGS_STORE_RDONLY, keys, pool, &err),
                     ORGS_EVERSION);
}
END_TEST

START_TEST(open_neg)
{
    orgs_store_t *st;
    char *missing = apr_pstrcat(pool, dir, "/missing", NULL);
    ck_assert_int_eq(orgs_store_open(&st, missing, 0, 0, ORGS_STORE_CREATE, keys, pool, &err),
                     ORGS_ESTORE);
    /* without CREATE an empty directory is not a store */
    ck_assert_int_eq(orgs_store_open(&st, dir, 0, 0, 0, keys, pool, &err), ORGS_ESTORE);
    ck_assert_int_eq(orgs_store_open(&st, dir, 0, 0, ORGS_STORE_RDONLY, keys, pool, &err),
                     ORGS_ESTORE);
    st = open_store();
    mk_org(st, "org1", NULL);
    orgs_store_close(st);
    ck_assert_int_eq(orgs_store_open(&st, dir, 0, 0, ORGS_STORE_RDONLY, keys, pool, &err),
                     APR_SUCCESS);
    orgs_org_t o = {0}, *got;
    o.name = "org2";
    ck_assert_int_eq(orgs_store_org_get(st, "org1", &got, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_create(st, &o, pool, &err), ORGS_ESTORE);
}
END_TEST

/* H2: the data files must be regular files: a symbolic link planted in the
 * store directory (which LMDB would follow, as root) is refused and its
 * target left untouched. Works as any user. */
static void assert_refused(const char *name, const char *want)
{
    const int modes[] = {ORGS_STORE_CREATE, 0, ORGS_STORE_RDONLY};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        orgs_store_t *st = NULL;
        ck_assert_int_eq(orgs_store_open(&st, dir, 0, 0, modes[i], keys, pool, &err), ORGS_ESTORE);
        ck_assert_msg(strstr(err.msg, name) && strstr(err.msg, want), "%s", err.msg);
        ck_assert_ptr_null(st);
    }
}

static void assert_victim(const char *victim)
{
    struct stat sb;
    char buf[64] = "";
    FILE *f = fopen(victim, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(buf, 1, sizeof(buf) - 1, f), 15);
    fclose(f);
    ck_assert_str_eq(buf, "do not touch!\n\n");
    ck_assert_int_eq(stat(victim, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 07777, 0640);
    ck_assert_uint_eq(sb.st_uid, geteuid());
}

START_TEST(open_refuses_symlinks)
{
    char *other = testutil_tempdir(pool);
    char *victim = apr_pstrcat(pool, other, "/victim", NULL);
    char *absent = apr_pstrcat(pool, other, "/absent", NULL);
    char *lock = apr_pstrcat(pool, dir, "/lock.mdb", NULL);
    char *data = apr_pstrcat(pool, dir, "/data.mdb", NULL);
    struct stat sb;
    FILE *f = fopen(victim, "w");
    ck_assert_ptr_nonnull(f);
    fputs("do not touch!\n\n", f);
    fclose(f);
    ck_assert_int_eq(chmod(victim, 0640), 0);

    ck_assert_int_eq(symlink(victim, lock), 0);
    assert_refused("lock.mdb", "symbolic link");
    assert_victim(victim);
    ck_assert_int_eq(lstat(data, &sb), -1); /* nothing created either */
    ck_assert_int_eq(unlink(lock), 0);

    ck_assert_int_eq(symlink(victim, data), 0);
    assert_refused("data.mdb", "symbolic link");
    assert_victim(victim);
    ck_assert_int_eq(lstat(lock, &sb), -1);
    ck_assert_int_eq(unlink(data), 0);

    /* a dangling link: LMDB would create its target */
    ck_assert_int_eq(symlink(absent, lock), 0);
    assert_refused("lock.mdb", "symbolic link");
    ck_assert_int_eq(lstat(absent, &sb), -1);
    ck_assert_int_eq(unlink(lock), 0);

    /* a hard link to another file, a directory */
    ck_assert_int_eq(link(victim, lock), 0);
    assert_refused("lock.mdb", "not a regular file");
    assert_victim(victim);
    ck_assert_int_eq(unlink(lock), 0);
    ck_assert_int_eq(mkdir(data, 0700), 0);
    assert_refused("data.mdb", "not a regular file");
    ck_assert_int_eq(rmdir(data), 0);

    /* the clean directory still opens */
    orgs_store_t *st = open_store();
    mk_org(st, "org1", NULL);
    testutil_rmtree(other);
}
END_TEST

/* H2, as root only: on a directory owned by another user the files are
 * created as that user and opened with that user's rights; root's own
 * filesystem identity is back afterwards. */
START_TEST(open_as_root_uses_dir_owner)
{
    const uid_t uid = 65534;
    const gid_t gid = 65534;
    struct stat sb;
    orgs_store_t *st;
    char *lock = apr_pstrcat(pool, dir, "/lock.mdb", NULL);
    if (geteuid() != 0) {
        return; /* needs root: nothing to check otherwise */
    }
    ck_assert_int_eq(chown(dir, uid, gid), 0);
    st = open_store();
    mk_org(st, "org1", NULL);
    orgs_store_close(st);
    ck_assert_int_eq(stat(apr_pstrcat(pool, dir, "/data.mdb", NULL), &sb), 0);
    ck_assert_uint_eq(sb.st_uid, uid);
    ck_assert_uint_eq(sb.st_gid, gid);
    ck_assert_int_eq(stat(lock, &sb), 0);
    ck_assert_uint_eq(sb.st_uid, uid);
#ifdef __linux__
    ck_assert_uint_eq((uid_t)setfsuid((uid_t)-1), 0);
    ck_assert_uint_eq((gid_t)setfsgid((gid_t)-1), getegid());
#endif
    /* a root-only file there is opened with the owner's rights: refused */
    ck_assert_int_eq(chown(lock, 0, 0), 0);
    ck_assert_int_eq(chmod(lock, 0600), 0);
    ck_assert_int_eq(orgs_store_open(&st, dir, 0, 0, ORGS_STORE_CREATE, keys, pool, &err),
                     ORGS_ESTORE);
    ck_assert_msg(strstr(err.msg, "ermission denied"), "%s", err.msg);
    ck_assert_int_eq(stat(lock, &sb), 0);
    ck_assert_uint_eq(sb.st_uid, 0); /* and not given away either */
#ifdef __linux__
    ck_assert_uint_eq((uid_t)setfsuid((uid_t)-1), 0);
#endif
    ck_assert_int_eq(chown(lock, uid, gid), 0);
    st = open_store();
    mk_org(st, "org2", NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, org_create_get_list);
    tcase_add_test(tc, org_update_and_domains);
    tcase_add_test(tc, org_bad_input);
    tcase_add_test(tc, org_conflicts);
    tcase_add_test(tc, org_meta_limits);
    tcase_add_test(tc, org_not_found);
    tcase_add_test(tc, conn_crud);
    tcase_add_test(tc, conn_bad_input);
    tcase_add_test(tc, conn_secret_needs_key);
    tcase_add_test(tc, enablement);
    tcase_add_test(tc, enablement_neg);
    tcase_add_test(tc, disable_conn_ends_sessions);
    tcase_add_test(tc, user_login_flow);
    tcase_add_test(tc, user_neg);
    tcase_add_test(tc, members);
    tcase_add_test(tc, members_neg);
    tcase_add_test(tc, members_packed_ids);
    tcase_add_test(tc, members_many_and_large);
    tcase_add_test(tc, members_ids_neg);
    tcase_add_test(tc, cascade_org_delete);
    tcase_add_test(tc, cascade_conn_delete);
    tcase_add_test(tc, cascade_user_delete);
    tcase_add_test(tc, check_finds_damage);
    tcase_add_test(tc, check_finds_record_damage);
    tcase_add_test(tc, sessions);
    tcase_add_test(tc, sessions_neg);
    tcase_add_test(tc, sessions_hint_and_claims);
    tcase_add_test(tc, records_fast_and_full_decoding);
    tcase_add_test(tc, sessions_per_member_cap);
    tcase_add_test(tc, sessions_size_caps);
    tcase_add_test(tc, sessions_purge_batches);
    tcase_add_test(tc, sessions_purge_small_batches);
    tcase_add_test(tc, pending_logins);
    tcase_add_test(tc, pending_neg);
    tcase_add_test(tc, pending_other_browser_keeps_entry);
    tcase_add_test(tc, pending_global_bound);
    tcase_add_test(tc, pending_sweep_on_put);
    tcase_add_test(tc, pending_time_index_rebuilt);
    tcase_add_test(tc, cache);
    tcase_add_test(tc, invites);
    tcase_add_test(tc, export_import);
    tcase_add_test(tc, import_bad);
    tcase_add_test(tc, map_full);
    tcase_add_test(tc, concurrent_writers);
    tcase_add_test(tc, threaded_readers);
    tcase_add_test(tc, format_version);
    tcase_add_test(tc, open_neg);
    tcase_add_test(tc, open_refuses_symlinks);
    tcase_add_test(tc, map_grown_by_another_process);
    tcase_add_test(tc, open_as_root_uses_dir_owner);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
