/* orgctl audit, prune-audit and org stats: the audit log read and pruned,
 * and an organization's usage. */

#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

#include "orgctl.h"
#include "parse.h"

#define AUDIT_LIMIT_MAX 10000
#define PRUNE_BATCH 1000

/* --since: a duration back from now ("24h", "7d") or an RFC 3339 UTC time
 * ("2026-11-30T08:00:00Z", or a date alone). */
static int parse_since(cli_t *c, const char *s, apr_time_t *out)
{
    apr_interval_time_t ago;
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    apr_time_exp_t tm;
    if (orgs_parse_duration(s, &ago, &c->err) == APR_SUCCESS) {
        *out = apr_time_now() - ago;
        return RC_OK;
    }
    if ((sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &sec, &n) == 6 ||
         (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3)) &&
        s[n] == '\0' && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && sec < 61) {
        memset(&tm, 0, sizeof(tm));
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = sec;
        if (apr_time_exp_gmt_get(out, &tm) == APR_SUCCESS) {
            return RC_OK;
        }
    }
    return cli_fail(c, RC_ERROR,
                    "--since: '%s' is neither a duration (24h, 7d) nor a time "
                    "(2026-11-30T08:00:00Z)",
                    s);
}

static int parse_count(cli_t *c, const char *opt, const char *s, apr_uint64_t max,
                       apr_uint64_t *out)
{
    char *end;
    apr_int64_t v = s ? apr_strtoi64(s, &end, 10) : 0;
    if (!s || *end || end == s || v < 1 || (apr_uint64_t)v > max) {
        return cli_fail(c, RC_ERROR, "--%s: a number from 1 to %" APR_UINT64_T_FMT, opt, max);
    }
    *out = (apr_uint64_t)v;
    return RC_OK;
}

int cmd_audit(cli_t *c)
{
    orgs_audit_query_t q;
    apr_array_header_t *recs;
    const char *next;
    apr_uint64_t limit = 100;
    int rc;

    memset(&q, 0, sizeof(q));
    q.org = cli_opt(c, "org");
    q.from = cli_opt(c, "from");
    if (cli_opt(c, "since") && (rc = parse_since(c, cli_opt(c, "since"), &q.since)) != RC_OK) {
        return rc;
    }
    if (cli_opt(c, "limit") &&
        (rc = parse_count(c, "limit", cli_opt(c, "limit"), AUDIT_LIMIT_MAX, &limit)) != RC_OK) {
        return rc;
    }
    q.limit = (apr_size_t)limit;
    apr_status_t rv = orgs_store_audit_list(c->st, &q, &recs, &next, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return cli_fail_rv(c, rv, q.org ? apr_psprintf(c->p, "org '%s'", q.org) : "audit log");
    }
    if (c->json) {
        json_t *arr = json_array();
        for (int i = 0; i < recs->nelts; i++) {
            arr = out_push(arr, orgs_json_audit(APR_ARRAY_IDX(recs, i, orgs_audit_t *)));
        }
        json_t *j = out_set(json_object(), "records", arr);
        return out_json_new(c, out_set(j, "next", out_jstr(next)));
    }
    static const char *const hdr[] = {"ID", "TIME", "ACTOR", "FROM", "ACTION", "ORG", "TARGET"};
    out_table_t *t = out_table_make(c->p, 7, hdr);
    for (int i = 0; i < recs->nelts; i++) {
        const orgs_audit_t *a = APR_ARRAY_IDX(recs, i, orgs_audit_t *);
        out_table_row(t, a->id, out_time(c->p, a->time), out_safe(c->p, a->actor),
                      out_safe(c->p, a->from ? a->from : "-"), a->action,
                      a->org_id ? a->org_id : "-", out_safe(c->p, a->target ? a->target : "-"));
    }
    out_table_print(t);
    if (next) {
        printf("more: orgctl audit --from %s\n", next);
    }
    return RC_OK;
}

int cmd_prune_audit(cli_t *c)
{
    apr_interval_time_t age;
    apr_size_t removed = 0, n;
    int more = 1;
    if (!cli_opt(c, "older-than")) {
        return cli_usage_fail(c, "--older-than DURATION is needed");
    }
    if (orgs_parse_duration(cli_opt(c, "older-than"), &age, &c->err) != APR_SUCCESS) {
        return cli_fail_parse(c);
    }
    apr_time_t before = apr_time_now() - age;
    while (more) {
        apr_status_t rv =
            orgs_store_audit_prune(c->st, before, PRUNE_BATCH, &n, &more, c->p, &c->err);
        if (rv != APR_SUCCESS) {
            return cli_fail_rv(c, rv, "audit log");
        }
        removed += n;
    }
    if (c->json) {
        return out_json_new(c,
                            out_set(json_object(), "removed", json_integer((json_int_t)removed)));
    }
    printf("%" APR_SIZE_T_FMT " audit records removed\n", removed);
    return RC_OK;
}

int cmd_org_stats(cli_t *c)
{
    orgs_org_stats_t *s;
    apr_uint64_t days = 30;
    int rc;
    if (cli_opt(c, "days") &&
        (rc = parse_count(c, "days", cli_opt(c, "days"), ORGS_STORE_STATS_DAYS, &days)) != RC_OK) {
        return rc;
    }
    apr_status_t rv = orgs_store_org_stats(c->st, cli_arg(c, 0), (unsigned)days, apr_time_now(), &s,
                                           c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return cli_result(c, rv, "org '%s'", cli_arg(c, 0));
    }
    if (c->json) {
        return out_json_new(c, orgs_json_org_stats(s, (unsigned)days));
    }
    printf("org %s, last %" APR_UINT64_T_FMT " days: %" APR_SIZE_T_FMT " members, %" APR_SIZE_T_FMT
           " active; %" APR_UINT64_T_FMT " sign-ins, %" APR_UINT64_T_FMT
           " denials, %" APR_UINT64_T_FMT " joins\n",
           s->org_id, days, s->members, s->active_members, s->signins, s->denials, s->joins);
    static const char *const hdr[] = {"DAY", "SIGN-INS", "DENIALS", "JOINS"};
    out_table_t *t = out_table_make(c->p, 4, hdr);
    for (int i = 0; i < s->days->nelts; i++) {
        const orgs_stats_day_t *d = &APR_ARRAY_IDX(s->days, i, orgs_stats_day_t);
        if (d->signins || d->denials || d->joins) {
            out_table_row(t, apr_pstrndup(c->p, out_time(c->p, d->day), 10),
                          apr_psprintf(c->p, "%" APR_UINT64_T_FMT, d->signins),
                          apr_psprintf(c->p, "%" APR_UINT64_T_FMT, d->denials),
                          apr_psprintf(c->p, "%" APR_UINT64_T_FMT, d->joins));
        }
    }
    out_table_print(t);
    return RC_OK;
}
