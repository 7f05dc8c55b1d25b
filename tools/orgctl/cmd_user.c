/* orgctl user purge: removes the users that have no membership and have
 * not signed in (never signed in: were not created) for a while, as the
 * module's hourly sweep does with OrgsUserPurgeAfter. */
#include <stdio.h>

#include <apr_strings.h>

#include "orgctl.h"
#include "parse.h"

int cmd_user_purge(cli_t *c)
{
    apr_interval_time_t age;
    apr_size_t removed = 0;
    const char *older = cli_opt(c, "older-than");

    if (!older) {
        return cli_usage_fail(c, "missing --older-than DURATION");
    }
    if (orgs_parse_duration(older, &age, &c->err) != APR_SUCCESS) {
        return cli_fail_parse(c);
    }
    apr_status_t rv = orgs_store_user_purge(c->st, apr_time_now() - age, &removed, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        /* the batches before the failure are done: say how many */
        return cli_fail_rv(c, rv,
                           apr_psprintf(c->p, "after removing %" APR_SIZE_T_FMT " users", removed));
    }
    if (c->json) {
        return out_json_new(c,
                            out_set(json_object(), "removed", json_integer((json_int_t)removed)));
    }
    printf("%" APR_SIZE_T_FMT "\n", removed);
    return RC_OK;
}
