/* orgctl prune-log: the change log of a PostgreSQL store pruned
 * (pgstore.h, orgs_pg_log_prune). Replicas at or past the pruned point are
 * untouched; one before it rebuilds from a snapshot when it next reads the
 * log, so a retention longer than the longest a node stays down avoids
 * rebuilds, and a shorter one costs a rebuild, never a wrong replica. */
#include <apr_strings.h>

#include "orgctl.h"
#include "parse.h"
#include "pgstore.h"

int cmd_prune_log(cli_t *c)
{
    const char *age = cli_opt(c, "older-than"), *keep = cli_opt(c, "keep");
    apr_interval_time_t older_than = -1;
    apr_int64_t nkeep = -1, upto;
    apr_size_t removed;
    orgs_pg_t *pg;
    char *end;

    if (!c->store_dir || !orgs_pg_uri_is(c->store_dir)) {
        return cli_usage_fail(c, "prune-log needs a PostgreSQL store: ORGS_STORE=postgresql://...");
    }
    if (!age && !keep) {
        return cli_usage_fail(c, "--older-than DURATION or --keep N (or both) is needed");
    }
    if (age && orgs_parse_duration(age, &older_than, &c->err) != APR_SUCCESS) {
        return cli_fail_parse(c);
    }
    if (keep) {
        nkeep = apr_strtoi64(keep, &end, 10);
        if (*end || end == keep || nkeep < 0 || nkeep > APR_INT64_C(1000000000000)) {
            return cli_fail(c, RC_ERROR, "--keep: a number of changes from 0");
        }
    }
    apr_status_t rv = orgs_pg_connect(&pg, c->store_dir, c->p, &c->err);
    if (rv == APR_SUCCESS) {
        rv = orgs_pg_schema_check(pg, &c->err);
    }
    if (rv == APR_SUCCESS) {
        rv = orgs_pg_log_prune(pg, older_than, nkeep, &removed, &upto, c->p, &c->err);
    }
    if (rv != APR_SUCCESS) {
        return cli_fail_rv(c, rv, "change log");
    }
    if (c->json) {
        return out_json_new(
            c, out_set(out_set(json_object(), "removed", json_integer((json_int_t)removed)),
                       "pruned_to", json_integer((json_int_t)upto)));
    }
    if (upto > 0) {
        printf("%" APR_SIZE_T_FMT " changes pruned, up to %" APR_INT64_T_FMT "\n", removed, upto);
    } else {
        printf("0 changes pruned\n");
    }
    return RC_OK;
}

/* orgctl replica-status DIR: how far the LMDB replica in DIR is behind the
 * change log (read only; safe while httpd runs). A replica at the log's
 * head holds every change committed before the command: what a script (or
 * a test) waits for after a write before it reads a node. */
int cmd_replica_status(cli_t *c)
{
    const char *dir = cli_arg(c, 0), *cluster;
    apr_int64_t head = 0, seq = -1;
    orgs_pg_t *pg;
    orgs_store_t *st;

    if (!c->store_dir || !orgs_pg_uri_is(c->store_dir)) {
        return cli_usage_fail(
            c, "replica-status needs a PostgreSQL store: ORGS_STORE=postgresql://...");
    }
    apr_status_t rv =
        orgs_store_open(&st, dir, ORGS_STORE_DEFAULT_MAP_SIZE, 0,
                        ORGS_STORE_RDONLY | ORGS_STORE_MAP_RECORDED, NULL, c->p, &c->err);
    if (rv == APR_SUCCESS) {
        rv = orgs_store_replica_state(st, &seq, &cluster, c->p, &c->err);
        orgs_store_close(st);
    }
    if (rv == APR_SUCCESS) {
        rv = orgs_pg_connect(&pg, c->store_dir, c->p, &c->err);
    }
    if (rv == APR_SUCCESS) {
        rv = orgs_pg_log_head(pg, &head, &c->err);
    }
    if (rv != APR_SUCCESS) {
        return cli_fail_rv(c, rv, NULL);
    }
    apr_int64_t behind = seq < head ? head - (seq < 0 ? 0 : seq) : 0;
    if (c->json) {
        return out_json_new(
            c, out_set(out_set(out_set(json_object(), "replica", json_integer((json_int_t)seq)),
                               "log", json_integer((json_int_t)head)),
                       "behind", json_integer((json_int_t)behind)));
    }
    printf("replica at %" APR_INT64_T_FMT ", log at %" APR_INT64_T_FMT ", %" APR_INT64_T_FMT
           " behind\n",
           seq, head, behind);
    return RC_OK;
}
