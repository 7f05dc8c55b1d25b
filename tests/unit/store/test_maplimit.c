/* Unit tests for src/core/store/maplimit.c: the map size running httpd
 * accepts, recorded and held in the store directory; a record nobody
 * holds is stale and reads as none; after a restart, the smallest size
 * still held by a generation counts. */
#include <dirent.h>
#include <sys/file.h>
#include <unistd.h>

#include "fixture.h"

static int older; /* of the last limit_of */

static apr_uint64_t limit_of(long *pid)
{
    apr_uint64_t max = 1;
    ck_assert_int_eq(orgs_store_maplimit_get(dir, &max, pid, &older, pool, &err), APR_SUCCESS);
    return max;
}

/* How many records of a previous generation are set aside in dir. */
static int asides(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)) != NULL) {
        n += strncmp(de->d_name, "httpd-map-size.", 15) == 0;
    }
    closedir(d);
    return n;
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
 * hold the record: each generation's size is held as long as a holder of
 * it lives, and the smallest of those held counts. */
START_TEST(restart_records_again)
{
    long pid;
    apr_pool_t *old, *gen;
    apr_pool_create(&old, pool);
    apr_pool_create(&gen, pool);
    ck_assert_int_eq(orgs_store_maplimit_hold(dir, (apr_uint64_t)1 << 30, old, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_maplimit_hold(dir, (apr_uint64_t)64 << 20, gen, &err), APR_SUCCESS);
    ck_assert_uint_eq(limit_of(&pid), (apr_uint64_t)64 << 20);
    ck_assert_int_eq(older, 0); /* the newest binds */
    apr_pool_destroy(gen);
    ck_assert_uint_eq(limit_of(&pid), (apr_uint64_t)1 << 30); /* the old one, still held */
    ck_assert_int_eq(older, 1);
    apr_pool_destroy(old);
    ck_assert_uint_eq(limit_of(&pid), 0);
}
END_TEST

/* A graceful restart to a larger size while a child of the previous
 * generation (forked while it held the record) still serves a request:
 * the record the new generation writes says the larger size, but the
 * child's smaller map binds until it exits; then the larger one does, and
 * the next restart removes the record set aside. */
START_TEST(graceful_restart_to_a_larger_size)
{
    long pid;
    int ready[2], done[2];
    char b;
    apr_pool_t *gen1, *gen2, *gen3;
    apr_pool_create(&gen1, pool);
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(done), 0);
    ck_assert_int_eq(orgs_store_maplimit_hold(dir, (apr_uint64_t)8 << 20, gen1, &err), APR_SUCCESS);
    pid_t child = fork();
    if (child == 0) { /* a child of the first generation, in a long request */
        ssize_t r = write(ready[1], "r", 1);
        r = read(done[0], &b, 1);
        _exit(r == 1 ? 0 : 1);
    }
    ck_assert_int_eq(read(ready[0], &b, 1), 1);
    apr_pool_destroy(gen1); /* the restart: the parent lets go of its record */
    apr_pool_create(&gen2, pool);
    ck_assert_int_eq(orgs_store_maplimit_hold(dir, (apr_uint64_t)32 << 20, gen2, &err),
                     APR_SUCCESS);
    FILE *f = fopen(apr_pstrcat(pool, dir, "/httpd-map-size", NULL), "r");
    unsigned long long size = 0;
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%llu", &size), 1);
    fclose(f);
    ck_assert_uint_eq(size, (apr_uint64_t)32 << 20);          /* what the new generation maps */
    ck_assert_uint_eq(limit_of(&pid), (apr_uint64_t)8 << 20); /* but the old child binds */
    ck_assert_int_eq(older, 1);
    ck_assert_int_eq(pid, (long)getpid());
    ck_assert_int_eq(asides(), 1);

    ck_assert_int_eq(write(done[1], "d", 1), 1); /* its request ends, it exits */
    int status;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_uint_eq(limit_of(&pid), (apr_uint64_t)32 << 20);
    ck_assert_int_eq(older, 0);

    /* the next restart: nobody holds the old record any more, it goes */
    apr_pool_destroy(gen2);
    apr_pool_create(&gen3, pool);
    ck_assert_int_eq(orgs_store_maplimit_hold(dir, (apr_uint64_t)64 << 20, gen3, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(asides(), 0);
    ck_assert_uint_eq(limit_of(&pid), (apr_uint64_t)64 << 20);
    apr_pool_destroy(gen3);
    ck_assert_uint_eq(limit_of(&pid), 0);
    close(ready[0]);
    close(ready[1]);
    close(done[0]);
    close(done[1]);
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
    ck_assert_int_eq(orgs_store_maplimit_get(dir, &max, &pid, &older, pool, &err), ORGS_ESTORE);
    ck_assert_uint_eq(max, 0);
    /* held but not a record of this module */
    ck_assert_int_eq(unlink(path), 0);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("garbage\n", f);
    fclose(f);
    int fd = open(path, O_RDONLY);
    ck_assert_int_eq(flock(fd, LOCK_SH), 0);
    ck_assert_int_eq(orgs_store_maplimit_get(dir, &max, &pid, &older, pool, &err), ORGS_ESTORE);
    ck_assert_ptr_nonnull(strstr(err.msg, "unreadable"));
    close(fd);
    ck_assert_uint_eq(limit_of(&pid), 0); /* nobody holds it: ignored */
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, none_then_held_then_stale);
    tcase_add_test(tc, restart_records_again);
    tcase_add_test(tc, graceful_restart_to_a_larger_size);
    tcase_add_test(tc, held_by_a_forked_child);
    tcase_add_test(tc, not_a_plain_file);
}

int main(void)
{
    return fixture_run("store_maplimit", add_tests);
}
