/* Unit tests for src/core/store/member.c: memberships and roles: the packed per-user record, the
 * org index, listings and limits. */
#include "fixture.h"

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

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, members);
    tcase_add_test(tc, members_neg);
    tcase_add_test(tc, members_packed_ids);
    tcase_add_test(tc, members_many_and_large);
    tcase_add_test(tc, members_ids_neg);
}

int main(void)
{
    return fixture_run("store_member", add_tests);
}
