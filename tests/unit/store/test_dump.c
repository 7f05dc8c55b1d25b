/* Unit tests for src/core/store/dump.c: export and import (JSON Lines, all or nothing). */
#include "fixture.h"

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
    /* the first line names the format, and is not an object */
    char first[64] = "";
    rewind(fp);
    ck_assert_ptr_nonnull(fgets(first, sizeof(first), fp));
    ck_assert_str_eq(
        first, "{\"type\":\"format\",\"version\":" APR_STRINGIFY(ORGS_STORE_FORMAT_VERSION) "}\n");
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
    ck_assert_ptr_nonnull(strstr(err.msg, "line 2")); /* line 1: the format */
    ck_assert_int_eq(orgs_store_stat(st2, &s2, &err), APR_SUCCESS);
    ck_assert_uint_eq(s1.orgs, s2.orgs);
    fclose(fp);
    testutil_rmtree(dir2);
}
END_TEST

START_TEST(import_newer_format)
{
    orgs_store_t *st = open_store();
    apr_size_t n;
    FILE *fp = tmpfile();
    fputs("{\"type\":\"format\",\"version\":999}\n"
          "{\"type\":\"org\",\"id\":\"org_AAAAAAAAAAAAAAAA\",\"name\":\"a\"}\n",
          fp);
    rewind(fp);
    ck_assert_int_eq(orgs_store_import(st, fp, &n, pool, &err), ORGS_EVERSION);
    ck_assert_ptr_nonnull(strstr(err.msg, "format 999"));
    ck_assert_uint_eq(n, 0);
    fclose(fp);
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

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, export_import);
    tcase_add_test(tc, import_newer_format);
    tcase_add_test(tc, import_bad);
}

int main(void)
{
    return fixture_run("store_dump", add_tests);
}
