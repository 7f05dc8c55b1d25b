/* Unit tests for src/core/store/org.c: organizations: create, lookups by name, id and domain,
 * updates, metadata and domain limits, enablement of connections, and the org cascade. */
#include "fixture.h"

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

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, org_create_get_list);
    tcase_add_test(tc, org_update_and_domains);
    tcase_add_test(tc, org_bad_input);
    tcase_add_test(tc, org_conflicts);
    tcase_add_test(tc, org_meta_limits);
    tcase_add_test(tc, org_not_found);
    tcase_add_test(tc, enablement);
    tcase_add_test(tc, enablement_neg);
    tcase_add_test(tc, disable_conn_ends_sessions);
    tcase_add_test(tc, cascade_org_delete);
}

int main(void)
{
    return fixture_run("store_org", add_tests);
}
