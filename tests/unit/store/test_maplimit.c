/* Unit tests for src/core/store/maplimit.c: the map size running httpd
 * accepts, recorded and held in the store directory; a record nobody
 * holds is stale and reads as none. */
#include <sys/file.h>
#include <unistd.h>

#include "fixture.h"

static apr_uint64_t limit_of(long *pid)
{
    apr_uint64_t max = 1;
    ck_assert_int_eq(orgs_store_maplimit_get(dir, &max, pid, pool, &err), APR_SUCCESS);
    return max;
}

START_TEST(none_then_held_then_stale)
{
    long pid = 1;
    apr_pool_t *gen;
    ck_assert_uint_eq(limit_of(&pid), 0); /* no record */
    ck_assert_int_eq(pid, 0);
    apr_pool_create(&gen, pool);
    ck_assert_int_eq(orgs_store_maplimit_hold(dir, (apr_uint64_t)8 << 20, gen, &err), APR_SUCCESS);
    ck_assert_uint_eq(limit_of(&pid), (apr_uint64_t)8 << 20);
    ck_assert_int_eq(pid, (long)getpid());
    apr_pool_destroy(gen); /* httpd stopped: the record stays, unheld */
    ck_assert_int_eq(access(apr_pstrcat(pool, dir, "/httpd-map-size", NULL), F_OK), 0);
    ck_assert_uint_eq(limit_of(&pid), 0);
    ck_assert_int_eq(pid, 0);
}
END_TEST

/* A restart records again while the children of the last generation still
 * hold the record: the newest size counts, and the record is held as long
 * as any holder lives. */
START_TEST(restart_records_again)
{
    long pid;
    apr_pool_t *old, *gen;
    apr_pool_create(&old, pool);
    apr_pool_create(&gen, pool);
    ck_assert_int_eq(orgs_store_maplimit_hold(dir, (apr_uint64_t)1 << 30, old, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_maplimit_hold(dir, (apr_uint64_t)64 << 20, gen, &err), APR_SUCCESS);
    ck_assert_uint_eq(limit_of(&pid), (apr_uint64_t)64 << 20);
    apr_pool_destroy(gen);
    ck_assert_uint_eq(limit_of(&pid), (apr_uint64_t)64 << 20); /* still held */
    apr_pool_destroy(old);
    ck_assert_uint_eq(limit_of(&pid), 0);
}
END_TEST

/* The lock is inherited: a child forked by the holder keeps the record
 * held after the holder let go (httpd's children after its parent). */
START_TEST(held_by_a_forked_child)
{
    long pid;
    int ready[2], done[2];
    char b;
    apr_pool_t *gen;
    apr_pool_create(&gen, pool);
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(done), 0);
    ck_assert_int_eq(orgs_store_maplimit_hold(dir, (apr_uint64_t)32 << 20, gen, &err), APR_SUCCESS);
    pid_t child = fork();
    if (child == 0) {
        ssize_t r = write(ready[1], "r", 1);
        r = read(done[0], &b, 1);
        _exit(r == 1 ? 0 : 1);
    }
    ck_assert_int_eq(read(ready[0], &b, 1), 1);
    apr_pool_destroy(gen);
    ck_assert_uint_eq(limit_of(&pid), (apr_uint64_t)32 << 20);
    ck_assert_int_eq(write(done[1], "d", 1), 1);
    int status;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_uint_eq(limit_of(&pid), 0);
    close(ready[0]);
    close(ready[1]);
    close(done[0]);
    close(done[1]);
}
END_TEST

START_TEST(not_a_plain_file)
{
    long pid;
    apr_uint64_t max;
    apr_pool_t *gen;
    const char *path = apr_pstrcat(pool, dir, "/httpd-map-size", NULL);
    ck_assert_int_eq(symlink("/etc/passwd", path), 0);
    apr_pool_create(&gen, pool);
    ck_assert_int_eq(orgs_store_maplimit_hold(dir, 1 << 20, gen, &err), ORGS_ESTORE);
    ck_assert_int_eq(orgs_store_maplimit_get(dir, &max, &pid, pool, &err), ORGS_ESTORE);
    ck_assert_uint_eq(max, 0);
    /* held but not a record of this module */
    ck_assert_int_eq(unlink(path), 0);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("garbage\n", f);
    fclose(f);
    int fd = open(path, O_RDONLY);
    ck_assert_int_eq(flock(fd, LOCK_SH), 0);
    ck_assert_int_eq(orgs_store_maplimit_get(dir, &max, &pid, pool, &err), ORGS_ESTORE);
    ck_assert_ptr_nonnull(strstr(err.msg, "unreadable"));
    close(fd);
    ck_assert_uint_eq(limit_of(&pid), 0); /* nobody holds it: ignored */
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, none_then_held_then_stale);
    tcase_add_test(tc, restart_records_again);
    tcase_add_test(tc, held_by_a_forked_child);
    tcase_add_test(tc, not_a_plain_file);
}

int main(void)
{
    return fixture_run("store_maplimit", add_tests);
}
