/* The cluster's counters on a replica of a PostgreSQL store: a "usage"
 * line (an org's day: sign-ins, denials, joins) or a "new_users" line (a
 * connection's minute of new users), as the change log carries them after
 * the database counted a sign-in (pg_count.c) and as a rebuild's snapshot
 * lists them. Each holds the row's values, never an increment, so a line
 * applied twice (a node's own write, then its replicator) counts once. */
#include <string.h>

#include "store_int.h"

static apr_uint64_t juint(const json_t *j, const char *name)
{
    const json_t *v = json_object_get(j, name);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (apr_uint64_t)json_integer_value(v)
                                                           : 0;
}

int st_counter_line_is(const json_t *j)
{
    const char *type = json_string_value(json_object_get(j, "type"));
    return type && (strcmp(type, "usage") == 0 || strcmp(type, "new_users") == 0);
}

apr_status_t st_counter_line_put(orgs_store_t *st, MDB_txn *txn, const json_t *j, orgs_err_t *err)
{
    const char *type = json_string_value(json_object_get(j, "type"));
    if (type && strcmp(type, "usage") == 0) {
        const char *org_id = json_string_value(json_object_get(j, "org_id"));
        apr_uint64_t c[ORGS_STATS_KINDS];
        apr_uint64_t day = juint(j, "day");
        c[ORGS_STATS_SIGNIN] = juint(j, "signins");
        c[ORGS_STATS_DENIAL] = juint(j, "denials");
        c[ORGS_STATS_JOIN] = juint(j, "joins");
        if (!orgs_check_id(org_id, "org_") || !day || day > 0xffffffffu) {
            return orgs_err_set(err, APR_EINVAL, "bad usage line");
        }
        return st_stats_merge(st, txn, org_id, (apr_uint32_t)day, c, err);
    }
    if (type && strcmp(type, "new_users") == 0) {
        const char *conn_id = json_string_value(json_object_get(j, "connection_id"));
        if (!orgs_check_id(conn_id, "con_")) {
            return orgs_err_set(err, APR_EINVAL, "bad new-users line");
        }
        return st_quota_throttle_merge(st, txn, conn_id, (apr_time_t)juint(j, "window"),
                                       juint(j, "count"), err);
    }
    return orgs_err_set(err, APR_EINVAL, "unknown counter '%s'", type ? type : "(none)");
}
