/* Unit tests for src/core/store/conn.c: connections: create, update, sealed secrets, limits, and
 * the connection cascade. */
#include "fixture.h"

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

/* A connection read again is not decoded again (a login reads it several
 * times); each read is the caller's own copy; a changed record, even of the
 * same length, is decoded afresh. */
START_TEST(conn_read_decoded_once)
{
    orgs_store_t *st = open_store();
    orgs_conn_t *c, *d, upd = {0};
    apr_pool_t *p1;
    apr_pool_create(&p1, pool);
    mk_conn(st, "okta", "s3cret");
    upd.display_name = "Name A";
    ck_assert_int_eq(orgs_store_conn_update(st, "okta", &upd, pool, &err), APR_SUCCESS);

    ck_assert_int_eq(orgs_store_conn_get_secret(st, "okta", &c, p1, &err), APR_SUCCESS);
    apr_uint64_t n = orgs_store_conn_decoded();
    ck_assert_str_eq(c->client_secret, "s3cret");
    APR_ARRAY_PUSH(c->endpoint_hosts, const char *) = "idp2.example.com";
    c->display_name = "changed by the caller";
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(orgs_store_conn_get(st, "okta", &d, pool, &err), APR_SUCCESS);
        ck_assert_ptr_ne(c, d);
        ck_assert_ptr_null(d->client_secret);
        ck_assert_str_eq(d->display_name, "Name A");
        ck_assert_int_eq(d->endpoint_hosts->nelts, 0);
    }
    ck_assert_int_eq(orgs_store_conn_decoded(), n);
    apr_pool_destroy(p1);

    upd.display_name = "Name B"; /* the same length: other bytes all the same */
    ck_assert_int_eq(orgs_store_conn_update(st, "okta", &upd, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_conn_get(st, "okta", &d, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(d->display_name, "Name B");
    ck_assert_int_eq(orgs_store_conn_decoded(), n + 1);
    ck_assert_int_eq(orgs_store_conn_get_secret(st, "okta", &d, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(d->client_secret, "s3cret");
    ck_assert_int_eq(orgs_store_conn_decoded(), n + 1);
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

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, conn_crud);
    tcase_add_test(tc, conn_bad_input);
    tcase_add_test(tc, conn_secret_needs_key);
    tcase_add_test(tc, conn_read_decoded_once);
    tcase_add_test(tc, cascade_conn_delete);
}

int main(void)
{
    return fixture_run("store_conn", add_tests);
}
