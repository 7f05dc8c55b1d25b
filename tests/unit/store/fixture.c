/* The store tests' fixture: a pool and a fresh temporary directory per
 * test, the crypto keys, and helpers that make the usual objects. */
#include "fixture.h"
#include "memo.h"

apr_pool_t *pool;
char *dir;
orgs_crypto_keys_t *keys;
orgs_err_t err;

void fixture_setup(void)
{
    static const unsigned char ikm[32] = "0123456789abcdef0123456789abcdef";
    apr_pool_create(&pool, NULL);
    dir = testutil_tempdir(pool);
    ck_assert_ptr_nonnull(dir);
    ck_assert_int_eq(orgs_crypto_keys_derive(&keys, ikm, sizeof(ikm), pool, &err), APR_SUCCESS);
}

void fixture_teardown(void)
{
    char *d = dir ? strdup(dir) : NULL; /* dir lives in pool */
    apr_pool_destroy(pool);             /* closes stores opened in pool */
    testutil_rmtree(d);
    free(d);
    orgs_memo_clear_all(); /* decoded connections: nothing pins an entry any more */
}

orgs_store_t *open_in(const char *d, const orgs_crypto_keys_t *k)
{
    orgs_store_t *st;
    apr_status_t rv = orgs_store_open(&st, d, 0, 0, ORGS_STORE_CREATE, k, pool, &err);
    ck_assert_msg(rv == APR_SUCCESS, "open: %s", err.msg);
    return st;
}

orgs_store_t *open_store(void)
{
    return open_in(dir, keys);
}

apr_array_header_t *strs(int n, ...)
{
    va_list ap;
    apr_array_header_t *a;
    va_start(ap, n);
    a = testutil_vstrs(pool, n, ap);
    va_end(ap);
    return a;
}

apr_array_header_t *meta1(const char *k, const char *v)
{
    apr_array_header_t *a = apr_array_make(pool, 1, sizeof(orgs_kv_t));
    orgs_kv_t *kv = apr_array_push(a);
    kv->key = k;
    kv->value = v;
    return a;
}

const char *mk_org(orgs_store_t *st, const char *name, apr_array_header_t *domains)
{
    orgs_org_t o = {0};
    o.name = name;
    o.domains = domains;
    apr_status_t rv = orgs_store_org_create(st, &o, pool, &err);
    ck_assert_msg(rv == APR_SUCCESS, "org create %s: %s", name, err.msg);
    return o.id;
}

const char *mk_conn(orgs_store_t *st, const char *name, const char *secret)
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

const char *mk_user(orgs_store_t *st, const char *conn, const char *sub, const char *email)
{
    orgs_user_t *u;
    int created;
    apr_status_t rv = orgs_store_user_login(st, conn, sub, email, "A User", apr_time_now(), &u,
                                            &created, pool, &err);
    ck_assert_msg(rv == APR_SUCCESS, "login: %s", err.msg);
    return u->id;
}

void assert_clean(orgs_store_t *st)
{
    apr_array_header_t *problems;
    ck_assert_int_eq(orgs_store_check(st, &problems, pool, &err), APR_SUCCESS);
    for (int i = 0; i < problems->nelts; i++) {
        fprintf(stderr, "check: %s\n", APR_ARRAY_IDX(problems, i, const char *));
    }
    ck_assert_int_eq(problems->nelts, 0);
}

void hash_of(const char *sid, unsigned char h[32])
{
    ck_assert_int_eq(orgs_crypto_sha256(sid, strlen(sid), h), APR_SUCCESS);
}

const apr_array_header_t *one_export(const char *env, const char *header, const char *value)
{
    apr_array_header_t *a = apr_array_make(pool, 1, sizeof(orgs_export_t));
    orgs_export_t *e = apr_array_push(a);
    e->env = env;
    e->header = header;
    e->value = value;
    return a;
}

void put_session(orgs_store_t *st, const char *sid, const char *org, const char *user,
                 const char *conn, apr_time_t now)
{
    unsigned char h[32];
    orgs_session_t s = {0};
    s.org_id = org;
    s.user_id = user;
    s.conn_id = conn;
    s.exports = one_export("ORG_EMAIL", "X-Org-Email", "a@x.com");
    s.created = s.last_seen = now;
    s.expires = now + apr_time_from_sec(3600);
    hash_of(sid, h);
    ck_assert_msg(orgs_store_session_put(st, h, &s, pool, &err) == APR_SUCCESS, "%s", err.msg);
}

/* ---- organizations ---------------------------------------------------- */

int fixture_run(const char *name, void (*add_tests)(TCase *tc))
{
    Suite *s = suite_create(name);
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
    tcase_set_timeout(tc, 120);
    add_tests(tc);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
