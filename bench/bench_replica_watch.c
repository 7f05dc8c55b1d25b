/* Watches a replica directory for bench/replica: prints "SEQ MICROS" (the
 * replica's change-log position and the wall-clock time, in microseconds
 * since the epoch, at which it was first seen) each time the position
 * moves, polling every 500 microseconds for the given seconds (or until
 * killed). A reader of
 * the LMDB store like the requests of the node are, in its own process. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_time.h>

#include "pgstore.h"
#include "store.h"

int main(int argc, char **argv)
{
    apr_pool_t *p, *tmp;
    orgs_store_t *st;
    orgs_err_t err = {{0}};
    apr_int64_t seq, last = -2;
    const char *cluster;
    apr_time_t end;

    if (argc != 3) {
        fprintf(stderr, "usage: %s REPLICA-DIR SECONDS\n", argv[0]);
        return 2;
    }
    apr_initialize();
    apr_pool_create(&p, NULL);
    apr_pool_create(&tmp, p);
    if (orgs_store_open(&st, argv[1], ORGS_STORE_DEFAULT_MAP_SIZE, 0, ORGS_STORE_MAP_RECORDED, NULL,
                        p, &err) != APR_SUCCESS) {
        fprintf(stderr, "cannot open %s: %s\n", argv[1], err.msg);
        return 1;
    }
    end = apr_time_now() + apr_time_from_sec(atoi(argv[2]));
    while (apr_time_now() < end) {
        apr_pool_clear(tmp);
        if (orgs_store_replica_state(st, &seq, &cluster, tmp, &err) == APR_SUCCESS && seq != last) {
            printf("%" APR_INT64_T_FMT " %" APR_TIME_T_FMT "\n", seq, apr_time_now());
            fflush(stdout); /* the caller reads it while it runs */
            last = seq;
        }
        usleep(500);
    }
    fflush(stdout);
    orgs_store_close(st);
    apr_pool_destroy(p);
    apr_terminate();
    return 0;
}
