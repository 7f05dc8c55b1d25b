/* Unit tests for src/core/store/migrate.c: a real store of format version 1
 * (tests/fixtures/store-v1, loaded with mdb_load) opened by the current
 * code. A writable open migrates it in one transaction; a read-only open
 * reads it as it is. */
#include "fixture.h"
#include "store/codec.h"

#define ORG1 "org_9e4QraVQSnsJZ1sZ"
#define ORG2 "org_HmFsasA46kFTDctx"
#define ALICE "usr_eaLvPlpMUnjmnzVZ"
#define CAROL_SUB "usr_tTZyo64WGhJ2d4td"
#define CAROL_MAIL "usr_fiHJ5jwHnACeHlxf"

/* tests/fixtures/store-v1/NAME: from $top_srcdir (make check) or from this
 * file's path. */
static const char *fixture_file(const char *name)
{
    const char *top = getenv("top_srcdir");
    const char *path =
        top && *top ? apr_pstrcat(pool, top, "/tests/fixtures/store-v1/", name, NULL) : NULL;
    if (!path || access(path, R_OK) != 0) {
        char *here = apr_pstrdup(pool, __FILE__);
        char *slash = strrchr(here, '/');
        const char *d = slash ? (*slash = '\0', here) : ".";
        path = apr_pstrcat(pool, d, "/../../fixtures/store-v1/", name, NULL);
    }
    return path;
}

static const char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    int c;
    while ((c = fgetc(f)) != EOF) {
        fputc(c, m);
    }
    fclose(f);
    fclose(m);
    const char *out = apr_pstrmemdup(pool, buf, len);
    free(buf);
    return out;
}

/* The fixture store loaded into dir/v1 (returned), its key in v1_keys. */
static orgs_crypto_keys_t *v1_keys;

static const char *load_v1(void)
{
    const char *d = apr_pstrcat(pool, dir, "/v1", NULL);
    ck_assert_int_eq(mkdir(d, 0700), 0);
    const char *cmd =
        apr_psprintf(pool, "mdb_load -f '%s' '%s' 2>/dev/null", fixture_file("store.dump"), d);
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
    /* git keeps no file modes: the key file must not be world-readable */
    const char *key = apr_pstrcat(pool, dir, "/key", NULL);
    const char *text = read_all(fixture_file("key"));
    FILE *f = fopen(key, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(chmod(key, 0600), 0);
    ck_assert_msg(orgs_crypto_keys_load(&v1_keys, apr_pstrcat(pool, "file:", key, NULL), pool,
                                        &err) == APR_SUCCESS,
                  "%s", err.msg);
    return d;
}

/* The last committed transaction id of the environment in d. */
static size_t last_txnid(const char *d)
{
    MDB_env *env;
    MDB_envinfo info;
    ck_assert_int_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 64);
    ck_assert_int_eq(mdb_env_open(env, d, MDB_RDONLY, 0600), 0);
    ck_assert_int_eq(mdb_env_info(env, &info), 0);
    mdb_env_close(env);
    return info.me_last_txnid;
}

static const char *exported(orgs_store_t *st)
{
    char *buf = NULL;
    size_t len = 0;
    apr_size_t count;
    FILE *m = open_memstream(&buf, &len);
    ck_assert_msg(orgs_store_export(st, m, &count, pool, &err) == APR_SUCCESS, "%s", err.msg);
    fclose(m);
    const char *out = apr_pstrmemdup(pool, buf, len);
    free(buf);
    return out;
}

/* text (JSON Lines) imported into a fresh store, exported again. */
static const char *reimported(const char *text, const char *name)
{
    const char *d = apr_pstrcat(pool, dir, "/", name, NULL);
    orgs_store_t *st;
    apr_size_t count;
    ck_assert_int_eq(mkdir(d, 0700), 0);
    ck_assert_msg(orgs_store_open(&st, d, 0, 0, ORGS_STORE_CREATE, v1_keys, pool, &err) ==
                      APR_SUCCESS,
                  "%s", err.msg);
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    ck_assert_msg(orgs_store_import(st, f, &count, pool, &err) == APR_SUCCESS, "%s", err.msg);
    fclose(f);
    ck_assert_uint_eq(count, 14);
    assert_clean(st);
    const char *out = exported(st);
    orgs_store_close(st);
    return out;
}

static const char *meta_of(const orgs_org_t *o, const char *k)
{
    for (int i = 0; i < o->meta->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(o->meta, i, orgs_kv_t).key, k) == 0) {
            return APR_ARRAY_IDX(o->meta, i, orgs_kv_t).value;
        }
    }
    return NULL;
}

/* The fixture's objects, as its README lists them; its one session only
 * when not migrated (the migration to version 3 ends every session). */
static void assert_fixture(orgs_store_t *st, int migrated)
{
    orgs_org_t *o;
    orgs_user_t *u;
    orgs_conn_t *c;
    orgs_member_t *m;
    const char *v;
    apr_time_t fetched;
    ck_assert_int_eq(orgs_store_org_get(st, "org1", &o, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(o->id, ORG1);
    ck_assert_str_eq(o->display_name, "Org One");
    ck_assert_int_eq(o->created, 1796053456142314);
    ck_assert_str_eq(meta_of(o, "license"), "corporate");
    ck_assert_str_eq(meta_of(o, "tier"), "gold");
    ck_assert_int_eq(o->domains->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(o->domains, 0, const char *), "org1.example.com");
    ck_assert_int_eq(orgs_store_org_get(st, ORG2, &o, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(o->name, "org2");
    ck_assert_str_eq(o->display_name, "Org Tw\xc3\xb6");
    ck_assert_str_eq(meta_of(o, "license"), "premium");
    ck_assert_int_eq(o->domains->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(o->domains, 0, const char *), "my.example.com");
    ck_assert_str_eq(APR_ARRAY_IDX(o->domains, 1, const char *), "org2.example.com");
    ck_assert_int_eq(orgs_store_org_get(st, "org2", &o, pool, &err), APR_SUCCESS); /* name index */

    ck_assert_int_eq(orgs_store_conn_get_secret(st, "okta1", &c, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(c->client_secret, "sekrit-okta1");
    ck_assert_str_eq(c->display_name, "Okta One");
    ck_assert_int_eq(orgs_store_conn_get(st, "okta2", &c, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(c->scopes, "openid email");
    ck_assert_str_eq(c->auth_method, "client_secret_post");

    ck_assert_int_eq(orgs_store_user_get(st, ALICE, &u, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(u->sub, "alice-sub-1");
    ck_assert_str_eq(u->email, "alice@org1.example.com");
    ck_assert_str_eq(u->name, "Alice \xc3\x84ngstr\xc3\xb6m");
    ck_assert_str_eq(u->conn_id, "con_q0pzagUbMdCVpKo9");
    ck_assert_int_eq(u->created, 1796053456464593);
    ck_assert_int_eq(u->last_login, 1795000000000000);
    ck_assert_int_eq(orgs_store_user_get(st, CAROL_SUB, &u, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(u->sub, "carol-sub-2");
    ck_assert_ptr_null(u->email);
    ck_assert_ptr_null(u->name);
    ck_assert_int_eq(orgs_store_user_get(st, CAROL_MAIL, &u, pool, &err), APR_SUCCESS);
    ck_assert_ptr_null(u->sub);
    ck_assert_str_eq(u->email, "carol@org2.example.com");
    ck_assert_int_eq(u->last_login, 0);

    ck_assert_int_eq(orgs_store_member_get(st, ORG1, ALICE, &m, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(m->roles->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(m->roles, 0, const char *), "admin");
    ck_assert_str_eq(APR_ARRAY_IDX(m->roles, 1, const char *), "billing");
    ck_assert_int_eq(orgs_store_member_get(st, ORG1, CAROL_SUB, &m, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(APR_ARRAY_IDX(m->roles, 0, const char *), "viewer");
    ck_assert_int_eq(orgs_store_member_get(st, ORG2, CAROL_MAIL, &m, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(m->roles->nelts, 0);

    ck_assert_int_eq(
        orgs_store_cache_get(st, "disc:https://idp1.example.test", &v, &fetched, pool, &err),
        APR_SUCCESS);
    ck_assert_str_eq(v, "{\"issuer\":\"https://idp1.example.test\"}");

    /* the session: ended by the migration; read as it is (without
     * exports: its claims never went through the export policy) by a
     * read-only open */
    unsigned char h[32];
    orgs_session_view_t *vw;
    apr_status_t rv;
    hash_of("fixture-session-id", h);
    rv = orgs_store_session_view(st, h, apr_time_now(), 0, &vw, pool, &err);
    if (migrated) {
        ck_assert_int_eq(rv, APR_NOTFOUND);
        ck_assert_int_eq(orgs_store_session_hint_get(st, h, &v, pool, &err), APR_NOTFOUND);
        return;
    }
    ck_assert_msg(rv == APR_SUCCESS, "%s", err.msg);
    ck_assert_str_eq(vw->org.name, "org1");
    ck_assert_str_eq(vw->user.id, ALICE);
    ck_assert_str_eq(vw->conn_name, "okta1");
    ck_assert_int_eq(vw->session.exports->nelts, 0);
}

START_TEST(writable_open_migrates_once)
{
    const char *d = load_v1();
    orgs_store_t *st;
    orgs_store_stat_t s;
    apr_array_header_t *problems;
    ck_assert_msg(orgs_store_open(&st, d, 0, 0, 0, v1_keys, pool, &err) == APR_SUCCESS, "%s",
                  err.msg);
    ck_assert_int_eq(orgs_store_stat(st, &s, &err), APR_SUCCESS);
    ck_assert_uint_eq(s.version, ORGS_STORE_FORMAT_VERSION);
    ck_assert_uint_eq(s.sessions, 0);
    ck_assert_int_eq(orgs_store_check(st, &problems, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(problems->nelts, 0);
    assert_fixture(st, 1);
    /* the same objects as the version 1 export (imported: that shape still
     * reads), in the one export shape; which restores to the same again */
    const char *now = exported(st);
    ck_assert_str_eq(now, reimported(read_all(fixture_file("export.jsonl")), "old"));
    ck_assert_str_eq(now, reimported(now, "new"));
    ck_assert_ptr_nonnull(
        strstr(now, "\"metadata\":{\"license\":\"corporate\",\"tier\":\"gold\"}"));
    ck_assert_ptr_nonnull(strstr(now, "\"display_name\":\"Org Tw\xc3\xb6\""));
    ck_assert_ptr_nonnull(strstr(now, "\"last_login\":\"2026-11-18T"));
    ck_assert_ptr_nonnull(strstr(now, "\"sealed_secret\":\""));
    ck_assert_ptr_null(strstr(now, "\"meta\":"));
    ck_assert_ptr_null(strstr(now, "sekrit"));
    orgs_store_close(st);
    /* a second open finds the current version and changes nothing */
    size_t txnid = last_txnid(d);
    ck_assert_msg(orgs_store_open(&st, d, 0, 0, 0, v1_keys, pool, &err) == APR_SUCCESS, "%s",
                  err.msg);
    ck_assert_int_eq(orgs_store_stat(st, &s, &err), APR_SUCCESS);
    ck_assert_uint_eq(s.version, ORGS_STORE_FORMAT_VERSION);
    assert_fixture(st, 1);
    orgs_store_close(st);
    ck_assert_uint_eq(last_txnid(d), txnid);
}
END_TEST

/* The records are binary after the migration: their first byte says so. */
START_TEST(records_rewritten)
{
    const char *d = load_v1();
    orgs_store_t *st;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    ck_assert_msg(orgs_store_open(&st, d, 0, 0, 0, v1_keys, pool, &err) == APR_SUCCESS, "%s",
                  err.msg);
    orgs_store_close(st);
    static const struct {
        const char *db;
        unsigned char tag;
        int count;
    } want[] = {{"orgs", REC_ORG_TAG, 2}, {"users", REC_USER_TAG, 3}, {"sessions", SREC_TAG, 0}};
    ck_assert_int_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 64);
    ck_assert_int_eq(mdb_env_open(env, d, MDB_RDONLY, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        int n = 0;
        ck_assert_int_eq(mdb_dbi_open(txn, want[i].db, 0, &dbi), 0);
        ck_assert_int_eq(mdb_cursor_open(txn, dbi, &cur), 0);
        while (mdb_cursor_get(cur, &k, &v, n ? MDB_NEXT : MDB_FIRST) == 0) {
            ck_assert_uint_gt(v.mv_size, 0);
            ck_assert_int_eq(((unsigned char *)v.mv_data)[0], want[i].tag);
            n++;
        }
        mdb_cursor_close(cur);
        ck_assert_int_eq(n, want[i].count);
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
}
END_TEST

/* A read-only open reads a version 1 store as it is and leaves it so. */
START_TEST(readonly_open_reads_v1)
{
    const char *d = load_v1();
    orgs_store_t *st;
    orgs_store_stat_t s;
    size_t txnid = last_txnid(d);
    ck_assert_msg(orgs_store_open(&st, d, 0, 0, ORGS_STORE_RDONLY, v1_keys, pool, &err) ==
                      APR_SUCCESS,
                  "%s", err.msg);
    ck_assert_int_eq(orgs_store_stat(st, &s, &err), APR_SUCCESS);
    ck_assert_uint_eq(s.version, 1);
    assert_fixture(st, 0);
    ck_assert_str_eq(exported(st), reimported(read_all(fixture_file("export.jsonl")), "old"));
    orgs_store_close(st);
    ck_assert_uint_eq(last_txnid(d), txnid);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, writable_open_migrates_once);
    tcase_add_test(tc, records_rewritten);
    tcase_add_test(tc, readonly_open_reads_v1);
}

int main(void)
{
    return fixture_run("store_migrate", add_tests);
}
