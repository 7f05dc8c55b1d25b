/* Unit tests for src/core/store/change.c (change sets, the SQL row of an
 * export line) and src/core/store/replica.c (a change set applied to a
 * replica, its position, a rebuild), with no database server. */
#include "orgs_build.h"

#include "fixture.h"
#include "json.h"
#include "pgstore.h"

static json_t *line(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(j);
    return j;
}

START_TEST(row_org)
{
    orgs_pg_row_t row;
    json_t *j = line("{\"type\":\"org\",\"id\":\"org_a\",\"name\":\"acme\",\"domains\":[\"a.com\","
                     "\"b.com\"]}");
    ck_assert_int_eq(orgs_pg_row_of(j, &row, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(row.table, "orgs");
    ck_assert_int_eq(row.nkeys, 1);
    ck_assert_int_eq(row.ncols, 3);
    ck_assert_str_eq(row.vals[0], "org_a");
    ck_assert_str_eq(row.vals[1], "acme");
    /* doc: the line itself, keys sorted */
    ck_assert_str_eq(row.vals[2], "{\"domains\":[\"a.com\",\"b.com\"],\"id\":\"org_a\",\"name\":"
                                  "\"acme\",\"type\":\"org\"}");
    ck_assert_int_eq(row.domains->nelts, 2);
    ck_assert_str_eq(orgs_pg_sql_upsert(&row, pool),
                     "INSERT INTO orgs (id, name, doc) VALUES ($1, $2, $3) ON CONFLICT (id) DO "
                     "UPDATE SET name = EXCLUDED.name, doc = EXCLUDED.doc");
    ck_assert_str_eq(orgs_pg_sql_delete(&row, pool), "DELETE FROM orgs WHERE id = $1");
    json_decref(j);
}
END_TEST

START_TEST(row_keys)
{
    orgs_pg_row_t row;
    json_t *j = line("{\"type\":\"enable\",\"org_id\":\"org_a\",\"connection_id\":\"con_b\"}");
    ck_assert_int_eq(orgs_pg_row_of(j, &row, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(row.table, "enabled_conns");
    ck_assert_str_eq(orgs_pg_sql_delete(&row, pool),
                     "DELETE FROM enabled_conns WHERE org_id = $1 AND conn_id = $2");
    json_decref(j);
    /* a user's sub and email may be null: SQL NULL */
    j = line("{\"type\":\"user\",\"id\":\"usr_a\",\"connection_id\":\"con_b\",\"sub\":null,"
             "\"email\":\"x@y.z\"}");
    ck_assert_int_eq(orgs_pg_row_of(j, &row, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(row.cols[1], "conn_id");
    ck_assert_ptr_null(row.vals[2]);
    ck_assert_str_eq(row.vals[3], "x@y.z");
    ck_assert_str_eq(orgs_pg_sql_upsert(&row, pool),
                     "INSERT INTO users (id, conn_id, sub, email, doc) VALUES ($1, $2, $3, $4, $5) "
                     "ON CONFLICT (id) DO UPDATE SET conn_id = EXCLUDED.conn_id, sub = "
                     "EXCLUDED.sub, email = EXCLUDED.email, doc = EXCLUDED.doc");
    json_decref(j);
}
END_TEST

START_TEST(row_rejects)
{
    orgs_pg_row_t row;
    static const char *const bad[] = {
        "{\"type\":\"session\",\"id\":\"x\"}",  "{\"id\":\"org_a\",\"name\":\"a\"}",
        "{\"type\":\"org\",\"name\":\"a\"}",    "{\"type\":\"member\",\"org_id\":\"org_a\"}",
        "{\"type\":\"user\",\"id\":\"usr_a\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = line(bad[i]);
        ck_assert_msg(orgs_pg_row_of(j, &row, pool, &err) == APR_EINVAL, "accepted %s", bad[i]);
        json_decref(j);
    }
    ck_assert_int_eq(orgs_change_type_rank("org"), 0);
    ck_assert_int_lt(orgs_change_type_rank("conn"), orgs_change_type_rank("user"));
    ck_assert_int_lt(orgs_change_type_rank("user"), orgs_change_type_rank("member"));
    ck_assert_int_eq(orgs_change_type_rank("nope"), -1);
}
END_TEST

START_TEST(uri_checks)
{
    ck_assert(orgs_pg_uri_is("postgresql://u@h/db"));
    ck_assert(orgs_pg_uri_is("postgres://h"));
    ck_assert(!orgs_pg_uri_is("/var/lib/orgs"));
    ck_assert(!orgs_pg_uri_is(NULL));
    ck_assert_str_eq(orgs_pg_uri_display("postgresql://u@h/db?passfile=/x", pool),
                     "postgresql://u@h/db");
    ck_assert_str_eq(orgs_pg_uri_display("postgresql://u:pw@h:5/db", pool),
                     "postgresql://u@h:5/db");
    ck_assert_str_eq(orgs_pg_uri_display("postgres://h:5/db", pool), "postgres://h:5/db");
#ifdef ORGS_HAVE_LIBPQ
    ck_assert_int_eq(orgs_pg_uri_check("postgresql://u@h:5432/db?passfile=/etc/x", pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_pg_uri_check("postgresql://u:secret@h/db", pool, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "password"));
    ck_assert_int_eq(orgs_pg_uri_check("postgresql://u@h/db?password=x", pool, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_pg_uri_check("postgresql://h/db?nosuchoption=1", pool, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_pg_uri_check("/var/lib/orgs", pool, &err), APR_EINVAL);
#else
    ck_assert_int_eq(orgs_pg_uri_check("postgresql://u@h/db", pool, &err), APR_ENOTIMPL);
#endif
}
END_TEST

static FILE *export_of(orgs_store_t *st)
{
    apr_size_t n;
    FILE *fp = tmpfile();
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(orgs_store_export(st, fp, &n, pool, &err), APR_SUCCESS);
    rewind(fp);
    return fp;
}

/* The change set between two stores' exports (NULL: none). */
static char *diff_of(orgs_store_t *a, orgs_store_t *b, apr_size_t *n)
{
    char *change;
    FILE *fa = export_of(a), *fb = export_of(b);
    ck_assert_int_eq(orgs_change_diff(fa, fb, &change, n, pool, &err), APR_SUCCESS);
    fclose(fa);
    fclose(fb);
    return change;
}

START_TEST(diff_apply)
{
    orgs_store_t *src = open_store(), *rep = open_in(testutil_tempdir(pool), keys);
    orgs_session_view_t *view;
    orgs_member_t *m;
    orgs_org_t *o;
    apr_int64_t seq;
    const char *cluster;
    apr_size_t n, objects;
    unsigned char h1[32], h2[32];

    const char *acme = mk_org(src, "acme", strs(1, "acme.com"));
    mk_org(src, "beta", NULL);
    const char *conn = mk_conn(src, "okta", "s3cret");
    const char *u1 = mk_user(src, "okta", "s1", "a@acme.com");
    const char *u2 = mk_user(src, "okta", "s2", "b@acme.com");
    ck_assert_int_eq(orgs_store_member_add(src, "acme", u1, strs(1, "admin"), pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(src, "acme", u2, NULL, pool, &err), APR_SUCCESS);

    /* a new replica: never filled */
    ck_assert_int_eq(orgs_store_replica_state(rep, &seq, &cluster, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(seq, -1);
    ck_assert_ptr_null(cluster);
    FILE *fp = export_of(src);
    ck_assert_int_eq(orgs_store_replica_rebuild(rep, fp, 7, "db-1", &objects, pool, &err),
                     APR_SUCCESS);
    fclose(fp);
    ck_assert_uint_eq(objects, 7); /* 2 orgs, 1 connection, 2 users, 2 memberships */
    ck_assert_ptr_null(diff_of(src, rep, &n));
    ck_assert_int_eq(orgs_store_replica_state(rep, &seq, &cluster, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(seq, 7);
    ck_assert_str_eq(cluster, "db-1");

    /* sessions on the replica (signed in there) */
    hash_of("sid-1", h1);
    hash_of("sid-2", h2);
    put_session(rep, "sid-1", acme, u1, conn, apr_time_now());
    put_session(rep, "sid-2", acme, u2, conn, apr_time_now());

    /* the source changes: a member removed, a role added, metadata and a
     * domain, a new org, an org deleted */
    FILE *before = export_of(src);
    ck_assert_int_eq(orgs_store_member_remove(src, "acme", u2, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_role_add(src, "acme", u1, strs(1, "billing"), pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(
        orgs_store_org_update(src, "acme", "ACME", meta1("tier", "gold"), NULL, pool, &err),
        APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_add_domain(src, "acme", "acme.org", pool, &err), APR_SUCCESS);
    mk_org(src, "gamma", strs(1, "gamma.io"));
    ck_assert_int_eq(orgs_store_org_delete(src, "beta", pool, &err), APR_SUCCESS);
    FILE *after = export_of(src);
    char *change;
    ck_assert_int_eq(orgs_change_diff(before, after, &change, &n, pool, &err), APR_SUCCESS);
    fclose(before);
    fclose(after);
    ck_assert_ptr_nonnull(change);
    ck_assert_uint_eq(n, 5); /* acme, gamma, u1's membership put; beta, u2's membership del */

    ck_assert_int_eq(orgs_store_replica_apply(rep, change, 8, pool, &err), APR_SUCCESS);
    ck_assert_ptr_null(diff_of(src, rep, &n));
    ck_assert_int_eq(orgs_store_replica_state(rep, &seq, &cluster, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(seq, 8);
    /* the removed member's session went with the membership; the other
     * member's stays, with the new role */
    ck_assert_int_eq(orgs_store_session_view(rep, h2, apr_time_now(), 0, &view, pool, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_session_view(rep, h1, apr_time_now(), 0, &view, pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_get(rep, acme, u1, &m, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(m->roles->nelts, 2);
    ck_assert_int_eq(orgs_store_org_by_domain(rep, "acme.org", &o, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(o->display_name, "ACME");
    ck_assert_int_eq(orgs_store_org_get(rep, "beta", &o, pool, &err), APR_NOTFOUND);
    assert_clean(rep);

    /* applied twice (a replay after a crash between apply and position):
     * the deletes find nothing, the puts rewrite the same */
    ck_assert_int_eq(orgs_store_replica_apply(rep, change, 8, pool, &err), APR_SUCCESS);
    ck_assert_ptr_null(diff_of(src, rep, &n));
    assert_clean(rep);

    /* a batch: all in one transaction, or nothing (a reset in it) */
    {
        const char *two[] = {change, "{\"reset\":true}"};
        const apr_int64_t seqs[] = {10, 11};
        ck_assert_int_eq(orgs_store_replica_apply_batch(rep, two, seqs, 2, pool, &err), APR_EINVAL);
        ck_assert_int_eq(orgs_store_replica_state(rep, &seq, &cluster, pool, &err), APR_SUCCESS);
        ck_assert_int_eq(seq, 8);
        two[1] = change;
        ck_assert_int_eq(orgs_store_replica_apply_batch(rep, two, seqs, 2, pool, &err),
                         APR_SUCCESS);
        ck_assert_int_eq(orgs_store_replica_state(rep, &seq, &cluster, pool, &err), APR_SUCCESS);
        ck_assert_int_eq(seq, 11);
        ck_assert_ptr_null(diff_of(src, rep, &n));
    }

    /* a change at or below the position is already there: skipped, so a
     * replicator that read it before a child applied it does not take the
     * replica back (here: the org it would delete stays) */
    {
        ck_assert_int_eq(orgs_store_org_get(rep, "acme", &o, pool, &err), APR_SUCCESS);
        const char *old =
            apr_pstrcat(pool, "{\"del\":[{\"type\":\"org\",\"id\":\"", o->id, "\"}]}", NULL);
        ck_assert_int_eq(orgs_store_replica_apply(rep, old, 10, pool, &err), APR_SUCCESS);
        ck_assert_int_eq(orgs_store_org_get(rep, "acme", &o, pool, &err), APR_SUCCESS);
        ck_assert_int_eq(orgs_store_replica_state(rep, &seq, &cluster, pool, &err), APR_SUCCESS);
        ck_assert_int_eq(seq, 11);
    }

    /* a reset is refused (the replicator rebuilds), position unchanged */
    ck_assert_int_eq(orgs_store_replica_apply(rep, "{\"reset\":true}", 12, pool, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_store_replica_apply(rep, "not json", 12, pool, &err), APR_EINVAL);
    /* the marker a pruned log leaves: a replica before it rebuilds too */
    ck_assert_int_eq(
        orgs_store_replica_apply(rep, "{\"reset\":true,\"pruned\":true}", 12, pool, &err),
        APR_EINVAL);
    ck_assert_int_eq(orgs_store_replica_state(rep, &seq, &cluster, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(seq, 11);

    /* a rebuild replaces everything, sessions included */
    fp = export_of(src);
    ck_assert_int_eq(orgs_store_replica_rebuild(rep, fp, 20, "db-2", &objects, pool, &err),
                     APR_SUCCESS);
    fclose(fp);
    ck_assert_ptr_null(diff_of(src, rep, &n));
    ck_assert_int_eq(orgs_store_session_view(rep, h1, apr_time_now(), 0, &view, pool, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_replica_state(rep, &seq, &cluster, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(seq, 20);
    ck_assert_str_eq(cluster, "db-2");
    assert_clean(rep);
    orgs_store_close(src);
    orgs_store_close(rep);
}
END_TEST

/* A connection's issuer changed at the source ends the sessions through
 * it on the replica; a user deleted takes their memberships. */
/* The time the replicator last found the replica current: none on a new
 * replica, then what was written last, untouched by changes and rebuilds'
 * own transactions. */
START_TEST(confirmed_time)
{
    orgs_store_t *src = open_store(), *rep = open_in(testutil_tempdir(pool), keys);
    apr_time_t at = -1;
    apr_size_t objects;
    FILE *fp;

    mk_org(src, "acme", NULL);
    ck_assert_int_eq(orgs_store_replica_confirmed(rep, &at, &err), APR_SUCCESS);
    ck_assert(at == 0);
    ck_assert_int_eq(orgs_store_replica_confirm(rep, APR_TIME_C(1000000), &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_replica_confirm(rep, APR_TIME_C(2000000), &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_replica_confirmed(rep, &at, &err), APR_SUCCESS);
    ck_assert(at == APR_TIME_C(2000000));
    fp = export_of(src);
    ck_assert_int_eq(orgs_store_replica_rebuild(rep, fp, 3, "db-1", &objects, pool, &err),
                     APR_SUCCESS);
    fclose(fp);
    ck_assert_int_eq(orgs_store_replica_confirmed(rep, &at, &err), APR_SUCCESS);
    ck_assert(at == APR_TIME_C(2000000));
    orgs_store_close(src);
    orgs_store_close(rep);
}
END_TEST

START_TEST(conn_and_user)
{
    orgs_store_t *src = open_store(), *rep = open_in(testutil_tempdir(pool), keys);
    orgs_session_view_t *view;
    apr_size_t n, objects;
    unsigned char h[32];
    const char *acme = mk_org(src, "acme", NULL);
    const char *conn = mk_conn(src, "okta", "s3cret");
    const char *u1 = mk_user(src, "okta", "s1", "a@acme.com");
    ck_assert_int_eq(orgs_store_member_add(src, "acme", u1, NULL, pool, &err), APR_SUCCESS);
    FILE *fp = export_of(src);
    ck_assert_int_eq(orgs_store_replica_rebuild(rep, fp, 1, "db", &objects, pool, &err),
                     APR_SUCCESS);
    fclose(fp);
    hash_of("sid", h);
    put_session(rep, "sid", acme, u1, conn, apr_time_now());

    FILE *before = export_of(src);
    orgs_conn_t upd = {0};
    upd.issuer = "https://other.example.com";
    ck_assert_int_eq(
        orgs_store_conn_update_flags(src, "okta", &upd, ORGS_CONN_MIGRATE_USERS, pool, &err),
        APR_SUCCESS);
    FILE *after = export_of(src);
    char *change;
    ck_assert_int_eq(orgs_change_diff(before, after, &change, &n, pool, &err), APR_SUCCESS);
    fclose(before);
    fclose(after);
    ck_assert_int_eq(orgs_store_replica_apply(rep, change, 2, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_session_view(rep, h, apr_time_now(), 0, &view, pool, &err),
                     APR_NOTFOUND);
    ck_assert_ptr_null(diff_of(src, rep, &n));

    before = export_of(src);
    ck_assert_int_eq(orgs_store_user_delete(src, u1, pool, &err), APR_SUCCESS);
    after = export_of(src);
    ck_assert_int_eq(orgs_change_diff(before, after, &change, &n, pool, &err), APR_SUCCESS);
    fclose(before);
    fclose(after);
    ck_assert_uint_eq(n, 2); /* the user and the membership */
    ck_assert_int_eq(orgs_store_replica_apply(rep, change, 3, pool, &err), APR_SUCCESS);
    ck_assert_ptr_null(diff_of(src, rep, &n));
    assert_clean(rep);
    orgs_store_close(src);
    orgs_store_close(rep);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, row_org);
    tcase_add_test(tc, row_keys);
    tcase_add_test(tc, row_rejects);
    tcase_add_test(tc, uri_checks);
    tcase_add_test(tc, diff_apply);
    tcase_add_test(tc, conn_and_user);
    tcase_add_test(tc, confirmed_time);
}

int main(void)
{
    return fixture_run("replica", add_tests);
}
