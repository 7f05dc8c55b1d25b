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
