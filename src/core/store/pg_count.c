/* PostgreSQL: the counters a sign-in keeps, counted by the database in the
 * sign-in's own SQL transaction (pgstore.h): an org's usage of the day and
 * a connection's new users of the minute. A node's change set carries its
 * increments ("count", "new_user"); the database adds them to its rows and
 * the change log carries the rows' values ("counters"), which replicas
 * take as they are. An increment in the log would be counted twice on the
 * node that wrote it (applied at once, then again by its replicator); a
 * value taken twice is the same value. */
#include "orgs_build.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "pg_int.h"

#ifdef ORGS_HAVE_LIBPQ

/* The counters' window of usage, as the store keeps it: older days of the
 * org are dropped when a new day's row is made. */
#define USAGE_DAYS ORGS_STORE_STATS_DAYS
/* The new-user throttle's window (quota.c), in microseconds. */
#define NEW_USERS_WINDOW "60000000"

static apr_int64_t jint(const json_t *j, const char *name)
{
    const json_t *v = json_object_get(j, name);
    return json_is_integer(v) ? (apr_int64_t)json_integer_value(v) : 0;
}

/* Counts only grow: a change set whose increment is negative is refused
 * rather than allowed to lower the cluster's count (a rebuild would take
 * the lowered row). */
static int inc_ok(const json_t *inc, const char *name)
{
    return jint(inc, name) >= 0;
}

static apr_status_t usage_add(orgs_pg_t *pg, const json_t *inc, json_t *lines, orgs_err_t *err)
{
    PGresult *res;
    char day[24], s[24], d[24], j[24];
    const char *org = json_string_value(json_object_get(inc, "org_id"));
    apr_int64_t dn = jint(inc, "day");
    if (!org || dn <= 0 || !inc_ok(inc, "signins") || !inc_ok(inc, "denials") ||
        !inc_ok(inc, "joins")) {
        return orgs_err_set(err, APR_EINVAL, "bad usage count");
    }
    apr_snprintf(day, sizeof(day), "%" APR_INT64_T_FMT, dn);
    apr_snprintf(s, sizeof(s), "%" APR_INT64_T_FMT, jint(inc, "signins"));
    apr_snprintf(d, sizeof(d), "%" APR_INT64_T_FMT, jint(inc, "denials"));
    apr_snprintf(j, sizeof(j), "%" APR_INT64_T_FMT, jint(inc, "joins"));
    const char *v[5] = {org, day, s, d, j};
    apr_status_t rv = st_pg_exec(
        pg,
        "INSERT INTO usage_days AS u (org_id, day, signins, denials, joins) "
        "VALUES ($1, $2::integer, $3::bigint, $4::bigint, $5::bigint) "
        "ON CONFLICT (org_id, day) DO UPDATE SET signins = u.signins + EXCLUDED.signins, "
        "denials = u.denials + EXCLUDED.denials, joins = u.joins + EXCLUDED.joins "
        "RETURNING signins, denials, joins, (xmax = 0)",
        5, v, &res, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    json_t *line =
        json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "type", "usage", "org_id", org, "day",
                  (json_int_t)dn, "signins", (json_int_t)apr_atoi64(PQgetvalue(res, 0, 0)),
                  "denials", (json_int_t)apr_atoi64(PQgetvalue(res, 0, 1)), "joins",
                  (json_int_t)apr_atoi64(PQgetvalue(res, 0, 2)));
    int inserted = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
    PQclear(res);
    if (!line) {
        return orgs_err_set(err, APR_ENOMEM, "cannot encode a usage row");
    }
    json_array_append_new(lines, line);
    if (!inserted || dn <= USAGE_DAYS) {
        return APR_SUCCESS;
    }
    /* a new day: the org's days past the window go (the replicas drop
     * theirs when they count a new day) */
    apr_snprintf(day, sizeof(day), "%" APR_INT64_T_FMT, dn - USAGE_DAYS + 1);
    const char *dv[2] = {org, day};
    return st_pg_exec(pg, "DELETE FROM usage_days WHERE org_id = $1 AND day < $2::integer", 2, dv,
                      NULL, err);
}

/* The new user counted in its connection's minute, unless the minute's
 * count is at the limit: then nothing is counted and the write fails
 * (ORGS_PG_EQUOTA). Writers hold the advisory lock, so two nodes' checks
 * never interleave. The minute starts at the first new user's time, as
 * quota.c counts it, with the time the node gave. */
static apr_status_t new_user_add(orgs_pg_t *pg, const json_t *nu, json_t *lines, orgs_err_t *err)
{
    PGresult *res;
    char at[24], limit[24];
    const char *conn = json_string_value(json_object_get(nu, "connection_id"));
    apr_int64_t lim = jint(nu, "limit");
    if (!conn || lim <= 0) {
        return orgs_err_set(err, APR_EINVAL, "bad new-user count");
    }
    apr_snprintf(at, sizeof(at), "%" APR_INT64_T_FMT, jint(nu, "at"));
    apr_snprintf(limit, sizeof(limit), "%" APR_INT64_T_FMT, lim);
    const char *v[3] = {conn, at, limit};
/* a time before the window's start (a node whose clock is behind the one
 * that opened it) is inside it: a slow clock must not open a new minute */
#define IN_WINDOW "($2::bigint - n.window_start < " NEW_USERS_WINDOW ")"
    apr_status_t rv = st_pg_exec(pg,
                                 "INSERT INTO new_users AS n (conn_id, window_start, count) "
                                 "VALUES ($1, $2::bigint, 1) ON CONFLICT (conn_id) DO UPDATE SET "
                                 "window_start = CASE WHEN " IN_WINDOW
                                 " THEN n.window_start ELSE $2::bigint END, "
                                 "count = CASE WHEN " IN_WINDOW " THEN n.count + 1 ELSE 1 END "
                                 "WHERE NOT " IN_WINDOW " OR n.count < $3::integer "
                                 "RETURNING window_start, count",
                                 3, v, &res, err);
#undef IN_WINDOW
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return orgs_err_set(err, ORGS_PG_EQUOTA,
                            "the connection's new users per minute (%" APR_INT64_T_FMT
                            ") reached in the cluster",
                            lim);
    }
    json_t *line = json_pack("{s:s, s:s, s:I, s:I}", "type", "new_users", "connection_id", conn,
                             "window", (json_int_t)apr_atoi64(PQgetvalue(res, 0, 0)), "count",
                             (json_int_t)apr_atoi64(PQgetvalue(res, 0, 1)));
    PQclear(res);
    if (!line) {
        return orgs_err_set(err, APR_ENOMEM, "cannot encode a new-user row");
    }
    json_array_append_new(lines, line);
    return APR_SUCCESS;
}

/* Expired pending_used rows, at most max (of owner's only, when given),
 * deleted with their owners' counts. An owner left with no rows goes too,
 * in a second statement (one statement cannot both update and delete a
 * row), so the table holds the owners with live rows rather than every
 * org, and every pair of org and connection, that ever signed in. */
static apr_status_t used_prune(orgs_pg_t *pg, const char *owner, const char *max, orgs_err_t *err)
{
    PGresult *res;
    const char *v[2] = {max, owner};
/* the rows the select names, deleted, their owners' counts lowered, and
 * the owners left at zero named */
#define PRUNE(select)                                                                              \
    "WITH gone AS (DELETE FROM pending_used WHERE state_hash IN (" select ") RETURNING "           \
    "owner_id), n AS (SELECT owner_id, count(*) AS c FROM gone GROUP BY owner_id), u AS (UPDATE "  \
    "pending_used_owners o SET live = o.live - n.c FROM n WHERE o.owner_id = n.owner_id "          \
    "RETURNING o.owner_id, o.live) SELECT owner_id FROM u WHERE live <= 0"
    apr_status_t rv =
        st_pg_exec(pg,
                   owner ? PRUNE("SELECT state_hash FROM pending_used WHERE owner_id = $2 AND "
                                 "expires < now() LIMIT $1::integer")
                         : PRUNE("SELECT state_hash FROM pending_used WHERE expires < now() "
                                 "LIMIT $1::integer"),
                   owner ? 2 : 1, v, &res, err);
#undef PRUNE
    if (rv != APR_SUCCESS) {
        return rv;
    }
    json_t *ids = json_array();
    for (int i = 0; ids && i < PQntuples(res); i++) {
        json_array_append_new(ids, json_string(PQgetvalue(res, i, 0)));
    }
    PQclear(res);
    char *list = ids && json_array_size(ids) ? json_dumps(ids, JSON_COMPACT) : NULL;
    if (ids && json_array_size(ids) && !list) {
        rv = orgs_err_set(err, APR_ENOMEM, "out of memory");
    } else if (list) {
        const char *dv[1] = {list};
        rv = st_pg_exec(pg,
                        "DELETE FROM pending_used_owners WHERE live <= 0 AND owner_id IN "
                        "(SELECT json_array_elements_text($1::json))",
                        1, dv, NULL, err);
    }
    free(list);
    json_decref(ids);
    return rv;
}

/* The owner's count of rows after adding one, or (n 0) as it is, read
 * without making a row (the prune may just have dropped it). */
static apr_status_t owner_add(orgs_pg_t *pg, const char *owner, int n, apr_int64_t *live,
                              orgs_err_t *err)
{
    PGresult *res;
    const char *v[1] = {owner};
    apr_status_t rv = st_pg_exec(pg,
                                 n ? "INSERT INTO pending_used_owners AS o (owner_id, live) VALUES "
                                     "($1, 1) ON CONFLICT (owner_id) DO UPDATE SET live = o.live "
                                     "+ 1 RETURNING live"
                                   : "SELECT live FROM pending_used_owners WHERE owner_id = $1",
                                 1, v, &res, err);
    if (rv == APR_SUCCESS) {
        *live = PQntuples(res) == 1 ? apr_atoi64(PQgetvalue(res, 0, 0)) : 0;
        PQclear(res);
    }
    return rv;
}

/* A sealed pending login used: its state's hash recorded until the sealed
 * cookie would expire, in the sign-in's transaction, and counted against
 * its owner (orgs_store_used_owner: the org of a sign-in that got in, the
 * org and connection of one refused; pending_used.c counts an LMDB
 * store's the same way, as how many sign-ins come is up to the IdPs).
 * Already there: the same callback on another node (or twice at once)
 * took it first, and nothing is written (ORGS_PG_EUSED). Past the owner's
 * cap, its expired rows not yet pruned go first; still past it,
 * ORGS_PG_EMARKS, and the rollback takes all of it back. Writers hold the
 * advisory lock, so two nodes' counts never interleave; each step is one
 * row by key, or a bounded prune by index. A few expired rows go each
 * time, so the table holds about a login timeout's worth of callbacks. */
static apr_status_t pending_use(orgs_pg_t *pg, const json_t *pu, orgs_err_t *err)
{
    PGresult *res;
    char exp[24];
    apr_int64_t live = 0;
    const char *hash = json_string_value(json_object_get(pu, "state_hash"));
    const char *owner = json_string_value(json_object_get(pu, "owner_id"));
    apr_int64_t cap = jint(pu, "cap");
    if (!hash || !owner || !*owner || jint(pu, "expires") <= 0 || cap < 0) {
        return orgs_err_set(err, APR_EINVAL, "bad used pending login");
    }
    apr_snprintf(exp, sizeof(exp), "%" APR_INT64_T_FMT, jint(pu, "expires"));
    const char *v[3] = {hash, exp, owner};
    apr_status_t rv = used_prune(pg, NULL, "100", err);
    if (rv == APR_SUCCESS) {
        rv = st_pg_exec(pg,
                        "INSERT INTO pending_used (state_hash, expires, owner_id) VALUES "
                        "($1, to_timestamp($2::bigint / 1000000.0), $3) ON CONFLICT DO NOTHING "
                        "RETURNING 1",
                        3, v, &res, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    int taken = PQntuples(res) == 1;
    PQclear(res);
    if (!taken) {
        return orgs_err_set(err, ORGS_PG_EUSED, "the sign-in was completed already");
    }
    rv = owner_add(pg, owner, 1, &live, err);
    if (rv == APR_SUCCESS && cap && live > cap) {
        rv = used_prune(pg, owner, "1000", err);
        if (rv == APR_SUCCESS) {
            rv = owner_add(pg, owner, 0, &live, err);
        }
        if (rv == APR_SUCCESS && live > cap) {
            return orgs_err_set(err, ORGS_PG_EMARKS,
                                "%" APR_INT64_T_FMT " sign-ins within the login timeout (at most "
                                "%" APR_INT64_T_FMT ") in the cluster",
                                live - 1, cap);
        }
    }
    return rv;
}

apr_status_t orgs_pg_pending_used(orgs_pg_t *pg, const char *state_hash, int *used, orgs_err_t *err)
{
    PGresult *res;
    const char *v[1] = {state_hash};
    apr_status_t rv = st_pg_exec(
        pg, "SELECT EXISTS (SELECT 1 FROM pending_used WHERE state_hash = $1 AND expires > now())",
        1, v, &res, err);
    *used = 0;
    if (rv == APR_SUCCESS) {
        *used = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
    }
    return rv;
}

/* orgctl's audit records of the change, kept with it. */
static apr_status_t audit_keep(orgs_pg_t *pg, const json_t *list, orgs_err_t *err)
{
    apr_status_t rv = APR_SUCCESS;
    for (size_t i = 0; rv == APR_SUCCESS && i < json_array_size(list); i++) {
        const char *v[1] = {json_string_value(json_array_get(list, i))};
        rv = v[0]
                 ? st_pg_exec(pg, "INSERT INTO audit_log (doc) VALUES ($1::jsonb)", 1, v, NULL, err)
                 : orgs_err_set(err, APR_EINVAL, "bad audit record");
    }
    return rv;
}

apr_status_t orgs_pg_audit_read(orgs_pg_t *pg, apr_size_t max, apr_array_header_t **texts,
                                apr_pool_t *p, orgs_err_t *err)
{
    PGresult *res;
    char n[24];
    apr_snprintf(n, sizeof(n), "%" APR_SIZE_T_FMT, max);
    const char *v[1] = {n};
    apr_status_t rv = st_pg_exec(pg,
                                 "SELECT doc::text FROM (SELECT seq, doc FROM audit_log ORDER BY "
                                 "seq DESC LIMIT $1::bigint) a ORDER BY seq",
                                 1, v, &res, err);
    *texts = apr_array_make(p, 4, sizeof(const char *));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        APR_ARRAY_PUSH(*texts, const char *) = apr_pstrdup(p, PQgetvalue(res, r, 0));
    }
    PQclear(res);
    return APR_SUCCESS;
}

apr_status_t st_pg_counts_write(orgs_pg_t *pg, json_t *set, int *changed, orgs_err_t *err)
{
    const json_t *count = json_object_get(set, "count");
    const json_t *nu = json_object_get(set, "new_user");
    const json_t *pu = json_object_get(set, "pending_used");
    const json_t *audit = json_object_get(set, "audit");
    apr_status_t rv = pu ? pending_use(pg, pu, err) : APR_SUCCESS;
    if (rv == APR_SUCCESS && audit) {
        rv = audit_keep(pg, audit, err);
    }
    /* for the database only: the replicas need neither */
    *changed = pu || audit;
    json_object_del(set, "pending_used");
    json_object_del(set, "audit");
    if (rv != APR_SUCCESS || (!count && !nu)) {
        return rv;
    }
    *changed = 1;
    json_t *lines = json_array();
    /* the quota first: a refused new user counts nothing else */
    if (nu) {
        rv = new_user_add(pg, nu, lines, err);
    }
    for (size_t i = 0; rv == APR_SUCCESS && i < json_array_size(count); i++) {
        rv = usage_add(pg, json_array_get(count, i), lines, err);
    }
    if (rv == APR_SUCCESS) {
        json_object_del(set, "count");
        json_object_del(set, "new_user");
        json_object_set(set, "counters", lines);
    }
    json_decref(lines);
    return rv;
}

#else

apr_status_t orgs_pg_audit_read(orgs_pg_t *pg, apr_size_t max, apr_array_header_t **texts,
                                apr_pool_t *p, orgs_err_t *err)
{
    *texts = apr_array_make(p, 1, sizeof(const char *));
    return orgs_pg_uri_check(NULL, NULL, err);
}

apr_status_t orgs_pg_pending_used(orgs_pg_t *pg, const char *state_hash, int *used, orgs_err_t *err)
{
    *used = 0;
    return orgs_pg_uri_check(NULL, NULL, err);
}

#endif
