/* Unit tests for src/core/store/audit.c, audit_read.c and audit_snap.c:
 * records written in the change's transaction, attributed, paged by key,
 * bounded per org, pruned by age. */
#include "fixture.h"

static apr_array_header_t *list(orgs_store_t *st, const char *org, const char *from,
                                apr_size_t limit, const char **next)
{
    orgs_audit_query_t q = {0};
    apr_array_header_t *out;
    const char *nx;
    q.org = org;
    q.from = from;
    q.limit = limit;
    ck_assert_int_eq(orgs_store_audit_list(st, &q, &out, next ? next : &nx, pool, &err),
                     APR_SUCCESS);
    return out;
}

static const orgs_audit_t *rec(const apr_array_header_t *a, int i)
{
    return APR_ARRAY_IDX(a, i < 0 ? a->nelts + i : i, const orgs_audit_t *);
}

START_TEST(writers_record)
{
    orgs_store_t *st = open_store();
    orgs_store_actor_set(st, "orgctl:tester", "shell");
    const char *o = mk_org(st, "acme", NULL);
    const char *c = mk_conn(st, "idp", "s3cret-value");
    const char *u = mk_user(st, "idp", "sub-1", "a@x.com");
    ck_assert_int_eq(orgs_store_org_update(st, "acme", "Acme Corp", NULL, NULL, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_add_domain(st, "acme", "acme.example", pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_enable_conn(st, "acme", "idp", 1, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(st, "acme", u, strs(1, "admin"), pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_role_remove(st, "acme", u, strs(1, "admin"), pool, &err),
                     APR_SUCCESS);
    /* a failed write records nothing */
    ck_assert_int_eq(orgs_store_member_add(st, "acme", u, NULL, pool, &err), APR_EEXIST);
    ck_assert_int_eq(orgs_store_member_remove(st, "acme", u, pool, &err), APR_SUCCESS);
    orgs_store_actor_clear(st);
    ck_assert_int_eq(orgs_store_org_disable_conn(st, "acme", "idp", pool, &err), APR_SUCCESS);

    apr_array_header_t *all = list(st, NULL, NULL, 0, NULL);
    static const char *const want[] = {
        "org.create",          "connection.create", "org.update",
        "org.domain.add",      "connection.enable", "member.add",
        "member.roles.remove", "member.remove",     "connection.disable"};
    ck_assert_int_eq(all->nelts, 9); /* a sign-in's user upsert is not a change recorded */
    for (int i = 0; i < all->nelts; i++) {
        ck_assert_str_eq(rec(all, i)->action, want[i]);
        if (i > 0) {
            ck_assert(strcmp(rec(all, i - 1)->id, rec(all, i)->id) < 0); /* time-ordered */
        }
    }
    ck_assert_str_eq(rec(all, 0)->actor, "orgctl:tester");
    ck_assert_str_eq(rec(all, 0)->from, "shell");
    ck_assert_str_eq(rec(all, -1)->actor, "unknown"); /* cleared */
    ck_assert_ptr_null(rec(all, -1)->from);
    /* before and after */
    ck_assert_ptr_nonnull(strstr(rec(all, 2)->before, "\"display_name\":\"acme\""));
    ck_assert_ptr_nonnull(strstr(rec(all, 2)->after, "\"display_name\":\"Acme Corp\""));
    ck_assert_ptr_null(strstr(rec(all, 2)->before, "acme.example"));
    ck_assert_ptr_nonnull(strstr(rec(all, 3)->after, "acme.example"));
    ck_assert_ptr_nonnull(rec(all, 7)->before);
    ck_assert_ptr_null(rec(all, 7)->after);
    ck_assert_str_eq(rec(all, 5)->target, u);
    ck_assert_str_eq(rec(all, 5)->org_id, o);
    ck_assert_str_eq(rec(all, 1)->target, c);
    ck_assert_ptr_null(rec(all, 1)->org_id);
    /* no secret in any record */
    for (int i = 0; i < all->nelts; i++) {
        ck_assert_ptr_null(rec(all, i)->after ? strstr(rec(all, i)->after, "s3cret") : NULL);
    }
    /* by org: that org's only */
    apr_array_header_t *mine = list(st, "acme", NULL, 0, NULL);
    ck_assert_int_eq(mine->nelts, 8);
    for (int i = 0; i < mine->nelts; i++) {
        ck_assert_str_eq(rec(mine, i)->org_id, o);
    }
    /* the records of an org deleted since stay readable by its id */
    ck_assert_int_eq(orgs_store_org_delete(st, "acme", pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list(st, o, NULL, 0, NULL)->nelts, 9);
    assert_clean(st);
}
END_TEST

/* A user's deletion is recorded globally and in each org it was a member
 * of, so each org's admin sees it in the org's own audit. */
START_TEST(user_delete_per_org)
{
    orgs_store_t *st = open_store();
    const char *a = mk_org(st, "a", NULL), *b = mk_org(st, "b", NULL);
    mk_org(st, "c", NULL);
    mk_conn(st, "idp", NULL);
    const char *u = mk_user(st, "idp", "sub-1", "a@x.com");
    ck_assert_int_eq(orgs_store_member_add(st, "a", u, strs(1, "admin"), pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(st, "b", u, NULL, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_user_delete(st, u, pool, &err), APR_SUCCESS);
    const char *orgs[] = {a, b};
    for (int i = 0; i < 2; i++) {
        apr_array_header_t *l = list(st, orgs[i], NULL, 0, NULL);
        const orgs_audit_t *r = rec(l, -1);
        ck_assert_str_eq(r->action, "user.delete");
        ck_assert_str_eq(r->org_id, orgs[i]);
        ck_assert_str_eq(r->target, u);
        ck_assert_ptr_nonnull(strstr(r->before, "a@x.com"));
    }
    ck_assert_ptr_nonnull(strstr(rec(list(st, a, NULL, 0, NULL), -1)->before, "admin"));
    /* not in an org it was no member of */
    apr_array_header_t *lc = list(st, "c", NULL, 0, NULL);
    ck_assert_str_ne(rec(lc, -1)->action, "user.delete");
    /* and once globally, without an org */
    apr_array_header_t *all = list(st, NULL, NULL, 0, NULL);
    int global = 0;
    for (int i = 0; i < all->nelts; i++) {
        global += strcmp(rec(all, i)->action, "user.delete") == 0 && !rec(all, i)->org_id;
    }
    ck_assert_int_eq(global, 1);
    /* a user that is gone: not found, nothing recorded */
    ck_assert_int_eq(orgs_store_user_delete(st, u, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(list(st, NULL, NULL, 0, NULL)->nelts, all->nelts);
    assert_clean(st);
}
END_TEST

START_TEST(paging)
{
    orgs_store_t *st = open_store();
    const char *next = NULL, *from = NULL;
    for (int i = 0; i < 25; i++) {
        mk_org(st, apr_psprintf(pool, "org%d", i), NULL);
    }
    int seen = 0, pages = 0;
    do {
        apr_array_header_t *page = list(st, NULL, from, 10, &next);
        seen += page->nelts;
        pages++;
        if (next) {
            ck_assert_str_eq(next, rec(page, -1)->id);
        }
        from = next;
    } while (next);
    ck_assert_int_eq(seen, 25);
    ck_assert_int_eq(pages, 3);
    /* since: none in the future */
    orgs_audit_query_t q = {0};
    apr_array_header_t *out;
    q.since = apr_time_now() + apr_time_from_sec(60);
    ck_assert_int_eq(orgs_store_audit_list(st, &q, &out, &next, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(out->nelts, 0);
    q.since = 0;
    q.from = "zz";
    ck_assert_int_eq(orgs_store_audit_list(st, &q, &out, &next, pool, &err), APR_EINVAL);
    q.from = NULL;
    q.org = "nosuch";
    ck_assert_int_eq(orgs_store_audit_list(st, &q, &out, &next, pool, &err), APR_NOTFOUND);
}
END_TEST

START_TEST(bounded_per_org)
{
    orgs_store_t *st = open_store();
    orgs_store_audit_set_max_per_org(st, 5);
    mk_org(st, "acme", NULL);
    mk_org(st, "quiet", NULL);
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(orgs_store_org_update(st, "acme", apr_psprintf(pool, "Acme %d", i), NULL,
                                               NULL, pool, &err),
                         APR_SUCCESS);
    }
    apr_array_header_t *mine = list(st, "acme", NULL, 0, NULL);
    ck_assert_int_eq(mine->nelts, 5);
    ck_assert_ptr_nonnull(strstr(rec(mine, -1)->after, "Acme 19"));
    ck_assert_ptr_nonnull(strstr(rec(mine, 0)->after, "Acme 15"));
    /* the other org's record is untouched, and the log holds 5 + 1 */
    ck_assert_int_eq(list(st, "quiet", NULL, 0, NULL)->nelts, 1);
    ck_assert_int_eq(list(st, NULL, NULL, 0, NULL)->nelts, 6);
}
END_TEST

START_TEST(prune_and_append)
{
    orgs_store_t *st = open_store();
    apr_size_t removed;
    int more;
    mk_org(st, "a", NULL);
    mk_org(st, "b", NULL);
    mk_org(st, "c", NULL);
    ck_assert_int_eq(orgs_store_audit_append(st, "token.create", NULL, "tok_1", NULL,
                                             "{\"scopes\":[\"read\"]}", pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_audit_append(st, "", NULL, NULL, NULL, NULL, pool, &err),
                     APR_EINVAL);
    ck_assert_int_eq(orgs_store_audit_append(st, "x.y", NULL, NULL, "{bad", NULL, pool, &err),
                     APR_EINVAL);
    apr_array_header_t *all = list(st, NULL, NULL, 0, NULL);
    ck_assert_int_eq(all->nelts, 4);
    ck_assert_str_eq(rec(all, -1)->action, "token.create");
    /* nothing older than an hour ago */
    ck_assert_int_eq(orgs_store_audit_prune(st, apr_time_now() - apr_time_from_sec(3600), 0,
                                            &removed, &more, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(removed, 0);
    /* everything, two at a time */
    apr_time_t later = apr_time_now() + 1;
    ck_assert_int_eq(orgs_store_audit_prune(st, later, 2, &removed, &more, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(removed, 2);
    ck_assert_int_eq(more, 1);
    ck_assert_int_eq(orgs_store_audit_prune(st, later, 2, &removed, &more, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(removed, 2);
    ck_assert_int_eq(orgs_store_audit_prune(st, later, 2, &removed, &more, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(removed, 0);
    ck_assert_int_eq(more, 0);
    ck_assert_int_eq(list(st, NULL, NULL, 0, NULL)->nelts, 0);
    ck_assert_int_eq(list(st, "a", NULL, 0, NULL)->nelts, 0);
    /* the per-org count went with them: a new record of a is indexed again */
    ck_assert_int_eq(orgs_store_org_add_domain(st, "a", "a.example", pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list(st, "a", NULL, 0, NULL)->nelts, 1);
    assert_clean(st);
}
END_TEST

START_TEST(actor_is_per_handle_and_cut)
{
    orgs_store_t *st = open_store();
    char longer[400];
    memset(longer, 'x', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    orgs_store_actor_set(st, longer, "ctl\001char");
    mk_org(st, "a", NULL);
    apr_array_header_t *all = list(st, NULL, NULL, 0, NULL);
    ck_assert_int_eq(strlen(rec(all, 0)->actor), ORGS_STORE_ACTOR_MAX);
    ck_assert_str_eq(rec(all, 0)->from, "ctl?char");
    /* another handle's actor does not apply */
    int other;
    orgs_store_actor_clear((orgs_store_t *)&other); /* not its actor: nothing changes */
    mk_org(st, "b", NULL);
    all = list(st, NULL, NULL, 0, NULL);
    ck_assert_int_eq(strlen(rec(all, 1)->actor), ORGS_STORE_ACTOR_MAX);
    orgs_store_actor_clear(st);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, writers_record);
    tcase_add_test(tc, user_delete_per_org);
    tcase_add_test(tc, paging);
    tcase_add_test(tc, bounded_per_org);
    tcase_add_test(tc, prune_and_append);
    tcase_add_test(tc, actor_is_per_handle_and_cut);
}

int main(void)
{
    return fixture_run("store_audit", add_tests);
}
