/* What a durable commit costs on this machine's disk, alone: the CPU and
 * wall time of writing N pages of a file and flushing them, as LMDB
 * commits a write transaction (its dirty pages with pwrite, fdatasync,
 * then, unless the transaction defers it, the meta page through a
 * descriptor opened O_DSYNC). docs/benchmarks.md quotes it.
 *
 *   cc -O2 -o /tmp/flush bench/flush.c
 *   /tmp/flush DIR PAGES ITERATIONS [scattered|contiguous] [meta]
 *
 * It writes a 100 MB file in DIR (on the disk to measure) and removes it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define FILE_PAGES 25600

static double cpu_seconds(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static double wall_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int write_page(int fd, const char *buf, long page)
{
    return pwrite(fd, buf, PAGE, (off_t)page * PAGE) == PAGE ? 0 : -1;
}

int main(int argc, char **argv)
{
    char path[4096], buf[PAGE];
    long pages = argc > 3 ? atol(argv[2]) : 0, iterations = argc > 3 ? atol(argv[3]) : 0;
    int contiguous = argc > 4 && strcmp(argv[4], "contiguous") == 0;
    int meta = argc > 5 && strcmp(argv[5], "meta") == 0;
    int fd, mfd, failed = 0;

    if (argc < 4 || pages < 1 || pages > 1000 || iterations < 1) {
        fprintf(stderr, "usage: %s DIR PAGES(1-1000) ITERATIONS [scattered|contiguous] [meta]\n",
                argv[0]);
        return 2;
    }
    snprintf(path, sizeof path, "%s/flush-bench.%ld", argv[1], (long)getpid());
    if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600)) < 0 ||
        (mfd = open(path, O_RDWR | O_DSYNC)) < 0) {
        perror(path);
        return 1;
    }
    memset(buf, 1, sizeof buf);
    /* written and flushed first: the loop overwrites blocks already on
     * disk, as LMDB does once its file has grown */
    for (long i = 0; i < FILE_PAGES && !failed; i++) {
        failed = write_page(fd, buf, i);
    }
    failed = failed || fdatasync(fd);
    srand(1);
    double c0 = cpu_seconds(), w0 = wall_seconds();
    for (long it = 0; it < iterations && !failed; it++) {
        long base = 2 + rand() % (FILE_PAGES - 2 - pages);
        buf[0] = (char)it;
        for (long p = 0; p < pages && !failed; p++) {
            failed = write_page(fd, buf, contiguous ? base + p : 2 + rand() % (FILE_PAGES - 2));
        }
        failed = failed || fdatasync(fd) || (meta && write_page(mfd, buf, 0));
    }
    double c1 = cpu_seconds(), w1 = wall_seconds();
    close(mfd);
    close(fd);
    unlink(path);
    if (failed) {
        perror("write");
        return 1;
    }
    printf("%ld %s pages, fdatasync%s: CPU %.3f ms, wall %.3f ms per commit\n", pages,
           contiguous ? "contiguous" : "scattered", meta ? ", meta page O_DSYNC" : "",
           (c1 - c0) * 1000 / (double)iterations, (w1 - w0) * 1000 / (double)iterations);
    return 0;
}
