/* Store benchmark: fills a store with 10,000 orgs, 100,000 users and
 * 1,000,000 memberships through the import path (one transaction), then
 * times 1,000,000 random orgs_store_member_get calls one by one (each with
 * its own read transaction) and prints median and p99 next to the cost of
 * the clock itself.
 *
 * usage: bench_store [DIR]   (DIR must exist and be empty; default: a temp dir) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "store.h"
#include "text.h"

#define N_ORGS 10000
#define N_USERS 100000
#define PER_USER 10 /* memberships per user: 1,000,000 in all */
#define N_LOOKUPS 1000000

static apr_uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static apr_uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Deterministic distinct ids: prefix + 16 base62 digits of n mixed. */
static void make_id(char *out, const char *prefix, apr_uint64_t n)
{
    const char *b62 = orgs_text_base62_alphabet;
    apr_uint64_t x = n * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
    memcpy(out, prefix, 4);
    for (int i = 0; i < 16; i++) {
        out[4 + i] = b62[i < 8 ? x % 62 : n % 62];
        if (i < 8) {
            x /= 62;
        } else {
            n /= 62;
        }
    }
    out[20] = '\0';
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long ns_between(const struct timespec *a, const struct timespec *b)
{
    return (b->tv_sec - a->tv_sec) * 1000000000L + (b->tv_nsec - a->tv_nsec);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, long *v, size_t n)
{
    qsort(v, n, sizeof(long), cmp_long);
    printf("%-28s median %6ld ns   p99 %6ld ns   p99.9 %6ld ns   max %8ld ns\n", what, v[n / 2],
           v[n * 99 / 100], v[n * 999 / 1000], v[n - 1]);
}

static void die(const char *what, apr_status_t rv, const orgs_err_t *err)
{
    char buf[128];
    fprintf(stderr, "bench_store: %s: %s (%s)\n", what, err->msg,
            orgs_strerror(rv, buf, sizeof(buf)));
    exit(1);
}

int main(int argc, char **argv)
{
    apr_pool_t *p, *tmp;
    orgs_store_t *st;
    orgs_err_t err = {""};
    apr_status_t rv;
    char dirbuf[] = "/tmp/orgs-bench-XXXXXX";
    const char *dir = argc > 1 ? argv[1] : mkdtemp(dirbuf);
    char org[21], usr[21], con[21];

    apr_initialize();
    apr_pool_create(&p, NULL);
    apr_pool_create(&tmp, p);
    if (!dir) {
        perror("bench_store: mkdtemp");
        return 1;
    }
    rv = orgs_store_open(&st, dir, (apr_uint64_t)8 << 30, 0, ORGS_STORE_CREATE, NULL, p, &err);
    if (rv != APR_SUCCESS) {
        die("open", rv, &err);
    }

    /* the data set as JSON Lines, exactly what `orgctl export` writes */
    double t0 = now_s();
    FILE *fp = tmpfile();
    make_id(con, "con_", 1);
    fprintf(fp,
            "{\"type\":\"conn\",\"id\":\"%s\",\"name\":\"okta\",\"issuer\":"
            "\"https://idp.example.com\",\"client_id\":\"bench\",\"created\":1,\"updated\":1}\n",
            con);
    for (int i = 0; i < N_ORGS; i++) {
        make_id(org, "org_", (apr_uint64_t)i);
        fprintf(fp,
                "{\"type\":\"org\",\"id\":\"%s\",\"name\":\"org%d\",\"display_name\":\"Org %d\","
                "\"meta\":{\"license\":\"premium\"},\"domains\":[\"org%d.example.com\"],"
                "\"created\":1,\"updated\":1}\n",
                org, i, i, i);
    }
    for (int u = 0; u < N_USERS; u++) {
        make_id(usr, "usr_", (apr_uint64_t)u);
        fprintf(fp,
                "{\"type\":\"user\",\"id\":\"%s\",\"conn_id\":\"%s\",\"sub\":\"sub-%d\","
                "\"email\":\"user%d@example.com\",\"name\":\"User %d\",\"created\":1,"
                "\"last_login\":0}\n",
                usr, con, u, u, u);
    }
    /* user u is a member of orgs (u*7 + k*1009) mod N_ORGS, k < PER_USER: distinct */
    for (int u = 0; u < N_USERS; u++) {
        make_id(usr, "usr_", (apr_uint64_t)u);
        for (int k = 0; k < PER_USER; k++) {
            make_id(org, "org_", (apr_uint64_t)((u * 7 + k * 1009) % N_ORGS));
            fprintf(fp,
                    "{\"type\":\"member\",\"org_id\":\"%s\",\"user_id\":\"%s\",\"roles\":"
                    "[\"%s\"],\"created\":1}\n",
                    org, usr, k == 0 ? "admin" : "member");
        }
    }
    rewind(fp);
    double t1 = now_s();
    apr_size_t count;
    rv = orgs_store_import(st, fp, &count, p, &err);
    double t2 = now_s();
    fclose(fp);
    if (rv != APR_SUCCESS) {
        die("import", rv, &err);
    }
    orgs_store_stat_t s;
    struct stat sb;
    if ((rv = orgs_store_stat(st, &s, &err)) != APR_SUCCESS) {
        die("stat", rv, &err);
    }
    char *data = apr_pstrcat(p, dir, "/data.mdb", NULL);
    printf("data set: %zu orgs, %zu users, %zu memberships (%zu lines)\n", s.orgs, s.users,
           s.members, count);
    printf("generate JSONL: %.2f s   import (one transaction): %.2f s\n", t1 - t0, t2 - t1);
    printf("data.mdb: %.1f MiB on disk (%.1f MiB used of a %.0f MiB map)\n",
           stat(data, &sb) == 0 ? sb.st_size / 1048576.0 : -1.0, s.used_bytes / 1048576.0,
           s.map_size / 1048576.0);

    /* the clock alone */
    long *lat = malloc(sizeof(long) * N_LOOKUPS);
    struct timespec a, b;
    for (int i = 0; i < N_LOOKUPS; i++) {
        clock_gettime(CLOCK_MONOTONIC, &a);
        clock_gettime(CLOCK_MONOTONIC, &b);
        lat[i] = ns_between(&a, &b);
    }
    qsort(lat, N_LOOKUPS, sizeof(long), cmp_long);
    long base = lat[N_LOOKUPS / 2];
    report("baseline (clock pair)", lat, N_LOOKUPS);

    /* random member lookups, each its own read transaction */
    long found = 0;
    for (int i = 0; i < N_LOOKUPS; i++) {
        int u = (int)(rng() % N_USERS), k = (int)(rng() % PER_USER);
        orgs_member_t *m;
        make_id(usr, "usr_", (apr_uint64_t)u);
        make_id(org, "org_", (apr_uint64_t)((u * 7 + k * 1009) % N_ORGS));
        clock_gettime(CLOCK_MONOTONIC, &a);
        rv = orgs_store_member_get(st, org, usr, &m, tmp, &err);
        clock_gettime(CLOCK_MONOTONIC, &b);
        lat[i] = ns_between(&a, &b);
        found += rv == APR_SUCCESS && m->roles->nelts == 1;
        if ((i & 1023) == 0) {
            apr_pool_clear(tmp);
        }
    }
    long median_hit = (qsort(lat, N_LOOKUPS, sizeof(long), cmp_long), lat[N_LOOKUPS / 2]);
    report("member_get (member)", lat, N_LOOKUPS);

    /* misses: same user, an org it is not in */
    long missed = 0;
    for (int i = 0; i < N_LOOKUPS / 10; i++) {
        int u = (int)(rng() % N_USERS);
        orgs_member_t *m;
        make_id(usr, "usr_", (apr_uint64_t)u);
        make_id(org, "org_", (apr_uint64_t)((u * 7 + 1) % N_ORGS));
        clock_gettime(CLOCK_MONOTONIC, &a);
        rv = orgs_store_member_get(st, org, usr, &m, tmp, &err);
        clock_gettime(CLOCK_MONOTONIC, &b);
        lat[i] = ns_between(&a, &b);
        missed += rv == APR_NOTFOUND;
    }
    report("member_get (not a member)", lat, N_LOOKUPS / 10);
    printf("lookups: %ld/%d found, %ld/%d misses; median member_get / clock pair = %.1fx\n", found,
           N_LOOKUPS, missed, N_LOOKUPS / 10, base > 0 ? (double)median_hit / base : 0.0);
    free(lat);
    orgs_store_close(st);
    if (argc <= 1) { /* our own temp dir: remove it */
        unlink(data);
        unlink(apr_pstrcat(p, dir, "/lock.mdb", NULL));
        rmdir(dir);
    }
    apr_pool_destroy(p);
    apr_terminate();
    return found == N_LOOKUPS && missed == N_LOOKUPS / 10 ? 0 : 1;
}
