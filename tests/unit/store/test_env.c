/* Unit tests for src/core/store/env.c and fsid.c: the engine: opening (refusals, format version), a
 * full map, a map grown by another process, concurrent writer processes and reader threads. */
#include "fixture.h"

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

/* The reserve: once inserts are refused, deletes still commit (a member
 * removed, organizations deleted), and the room they free is usable. */
START_TEST(reserve_for_deletes)
{
    orgs_store_t *st;
    apr_status_t rv = APR_SUCCESS;
    int made = 0;
    orgs_store_stat_t s;
    ck_assert_int_eq(
        orgs_store_open(&st, dir, (apr_uint64_t)1 << 20, 0, ORGS_STORE_CREATE, keys, pool, &err),
        APR_SUCCESS);
    char dn[200];
    memset(dn, 'D', sizeof(dn) - 1);
    dn[sizeof(dn) - 1] = '\0';
    for (int i = 0; i < 100000 && rv == APR_SUCCESS; i++) {
        orgs_org_t o = {.name = apr_psprintf(pool, "org%d", i), .display_name = dn};
        if ((rv = orgs_store_org_create(st, &o, pool, &err)) == APR_SUCCESS) {
            made++;
        }
    }
    ck_assert_int_eq(rv, ORGS_ESTOREFULL);
    ck_assert_ptr_nonnull(strstr(err.msg, "kept for deletes"));
    ck_assert_int_eq(orgs_store_stat(st, &s, &err), APR_SUCCESS);
    ck_assert_uint_lt(s.used_bytes, s.map_size); /* refused before the map was full */
    for (int i = 0; i < made; i += 2) {
        ck_assert_int_eq(orgs_store_org_delete(st, apr_psprintf(pool, "org%d", i), pool, &err),
                         APR_SUCCESS);
    }
    mk_org(st, "after", NULL);
    orgs_store_close(st);
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

/* When another process grows the store beyond a handle's map, a threaded
 * user (httpd child) remaps at its next transaction (under the remap lock,
 * with none of its transactions active) and sees everything; so does a
 * single-threaded user (orgctl). */
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
    ck_assert_int_eq(orgs_store_org_get(small, "first", &got, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_org_get(small, "grown-2999", &got, pool, &err), APR_SUCCESS);
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

/* The data files must be regular files: a symbolic link planted in the
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

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, map_full);
    tcase_add_test(tc, reserve_for_deletes);
    tcase_add_test(tc, concurrent_writers);
    tcase_add_test(tc, threaded_readers);
    tcase_add_test(tc, format_version);
    tcase_add_test(tc, open_neg);
    tcase_add_test(tc, open_refuses_symlinks);
    tcase_add_test(tc, map_grown_by_another_process);
}

int main(void)
{
    return fixture_run("store_env", add_tests);
}
