/* Unit tests for src/core/store/page.c and batch.c: pages of orgs,
 * members and users; several changes in one transaction. */
#include "fixture.h"

START_TEST(member_pages)
{
    orgs_store_t *st = open_store();
    const char *o = mk_org(st, "org1", NULL);
    const char *c = mk_conn(st, "okta", "s3cret");
    apr_array_header_t *ids = apr_array_make(pool, 8, sizeof(const char *)), *page;
    orgs_page_t pg = {0};
    const char *next;
    apr_size_t total, added, removed, seen = 0;

    for (int i = 0; i < 25; i++) {
        APR_ARRAY_PUSH(ids, const char *) =
            mk_user(st, c, apr_psprintf(pool, "sub%d", i), apr_psprintf(pool, "u%d@x.com", i));
    }
    ck_assert_int_eq(orgs_store_member_add_many(st, o, ids, strs(1, "viewer"), &added, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(added, 25);
    /* again: nobody new, nothing changed */
    ck_assert_int_eq(orgs_store_member_add_many(st, "org1", ids, NULL, &added, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(added, 0);

    /* checkpoints: 10 + 10 + 5, every member once */
    pg.take = 10;
    do {
        ck_assert_int_eq(orgs_store_member_page(st, o, &pg, &page, &next, &total, pool, &err),
                         APR_SUCCESS);
        ck_assert_int_eq(total, 25);
        seen += (apr_size_t)page->nelts;
        pg.from = next;
    } while (next);
    ck_assert_int_eq(seen, 25);

    /* offsets */
    orgs_page_t off = {NULL, 20, 10};
    ck_assert_int_eq(orgs_store_member_page(st, o, &off, &page, &next, NULL, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(page->nelts, 5);
    ck_assert_ptr_null(next);
    orgs_page_t bad = {"nonsense", 0, 10};
    ck_assert_int_eq(orgs_store_member_page(st, o, &bad, &page, &next, NULL, pool, &err),
                     APR_EINVAL);

    /* one unknown user: nothing added */
    APR_ARRAY_PUSH(ids, const char *) = "usr_0000000000000000";
    orgs_store_t *st2 = st;
    const char *o2 = mk_org(st2, "org2", NULL);
    ck_assert_int_eq(orgs_store_member_add_many(st, o2, ids, NULL, &added, pool, &err),
                     APR_NOTFOUND);
    orgs_page_t all = {NULL, 0, 100};
    ck_assert_int_eq(orgs_store_member_page(st, o2, &all, &page, &next, &total, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(total, 0);

    ck_assert_int_eq(orgs_store_member_remove_many(st, o, ids, &removed, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(removed, 25);
    assert_clean(st);
}
END_TEST

START_TEST(org_and_user_pages)
{
    orgs_store_t *st = open_store();
    apr_array_header_t *page;
    const char *next, *c = mk_conn(st, "okta", "s3cret");
    apr_size_t total;
    for (int i = 0; i < 7; i++) {
        mk_org(st, apr_psprintf(pool, "org%d", i), NULL);
        mk_user(st, c, apr_psprintf(pool, "s%d", i), NULL);
    }
    orgs_page_t pg = {NULL, 0, 3};
    ck_assert_int_eq(orgs_store_org_page(st, &pg, &page, &next, &total, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(total, 7);
    ck_assert_int_eq(page->nelts, 3);
    ck_assert_str_eq(next, "org2");
    pg.from = next;
    ck_assert_int_eq(orgs_store_org_page(st, &pg, &page, &next, NULL, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(APR_ARRAY_IDX(page, 0, orgs_org_t *)->name, "org3");
    orgs_page_t tail = {NULL, 6, 3};
    ck_assert_int_eq(orgs_store_org_page(st, &tail, &page, &next, NULL, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(page->nelts, 1);
    ck_assert_ptr_null(next);
    orgs_page_t users = {NULL, 0, 5};
    ck_assert_int_eq(orgs_store_user_page(st, &users, &page, &next, &total, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(total, 7);
    ck_assert_int_eq(page->nelts, 5);
    ck_assert_ptr_nonnull(next);
}
END_TEST

START_TEST(patches)
{
    orgs_store_t *st = open_store();
    orgs_org_t *o;
    orgs_enabled_conn_t *e;
    const char *org = mk_org(st, "org1", NULL);
    const char *c = mk_conn(st, "okta", "s3cret");
    ck_assert_int_eq(orgs_store_org_update(st, org, NULL, meta1("a", "1"), NULL, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_patch(st, org, "Org One", meta1("b", "2"), NULL, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_get(st, org, &o, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(o->display_name, "Org One");
    ck_assert_int_eq(o->meta->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(o->meta, 0, orgs_kv_t).key, "b");
    /* a bad value: nothing changes */
    ck_assert_int_eq(orgs_store_org_patch(st, org, "", NULL, NULL, pool, &err), APR_EINVAL);

    ck_assert_int_eq(orgs_store_org_conn_patch(st, org, c, 1, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_org_conn_add(st, org, c, 0, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_conn_add(st, org, c, 1, pool, &err), APR_EEXIST);
    ck_assert_int_eq(orgs_store_org_conn_patch(st, org, "okta", 1, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_conn_get(st, org, c, &e, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(e->auto_membership, 1);

    orgs_invite_t inv = {0};
    inv.org_id = org;
    inv.email = "a@x.com";
    inv.expires = apr_time_now() + apr_time_from_sec(600);
    ck_assert_int_eq(orgs_store_invite_create(st, &inv, pool, &err), APR_SUCCESS);
    mk_org(st, "org2", NULL);
    ck_assert_int_eq(orgs_store_invite_revoke_in(st, "org2", inv.id, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_invite_revoke_in(st, org, inv.id, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_invite_revoke_in(st, org, inv.id, pool, &err), APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, member_pages);
    tcase_add_test(tc, org_and_user_pages);
    tcase_add_test(tc, patches);
}

int main(void)
{
    return fixture_run("store_page", add_tests);
}
