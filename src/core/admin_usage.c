/* The admin API's usage and audit routes: an organization's sign-ins,
 * denials and active members per day, and the audit log read by cursor. */

#include <stdlib.h>

#include "admin_int.h"

#define AUDIT_TAKE_DEFAULT 100
#define AUDIT_TAKE_MAX 1000

/* Query parameter name as a number from 1 to max; absent leaves *out. */
static int count_param(adm_t *a, const char *name, long max, long *out)
{
    const char *s = a->rq->query ? apr_table_get(a->rq->query, name) : NULL;
    char *end;
    long n;
    if (!s) {
        return 1;
    }
    n = strtol(s, &end, 10);
    if (!*s || *end || n < 1 || n > max) {
        adm_error(a, 400, "'%s' must be a number from 1 to %ld", name, max);
        return 0;
    }
    *out = n;
    return 1;
}

void adm_org_stats(adm_t *a)
{
    long days = 30;
    orgs_org_t *o;
    orgs_org_stats_t *s;
    apr_status_t rv;
    if (!count_param(a, "days", ORGS_STORE_STATS_DAYS, &days) || !adm_org(a, a->arg[0], &o)) {
        return;
    }
    rv = orgs_store_org_stats(a->st, o->id, (unsigned)days, apr_time_now(), &s, a->p, &a->err);
    if (rv != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    adm_send(a, 200, orgs_json_org_stats(s, (unsigned)days));
}

/* GET /audit?org=&from=&take=: oldest first from the record after `from`
 * (the previous answer's `next`), an LMDB cursor, never an offset. */
void adm_audit_list(adm_t *a)
{
    orgs_audit_query_t q = {0};
    apr_array_header_t *recs;
    const char *next;
    long take = AUDIT_TAKE_DEFAULT;
    json_t *arr, *j;
    apr_status_t rv;
    if (!count_param(a, "take", AUDIT_TAKE_MAX, &take)) {
        return;
    }
    q.org = a->rq->query ? apr_table_get(a->rq->query, "org") : NULL;
    q.from = a->rq->query ? apr_table_get(a->rq->query, "from") : NULL;
    q.limit = (apr_size_t)take;
    if ((rv = orgs_store_audit_list(a->st, &q, &recs, &next, a->p, &a->err)) != APR_SUCCESS) {
        adm_fail(a, rv);
        return;
    }
    arr = json_array();
    for (int i = 0; arr && i < recs->nelts; i++) {
        if (json_array_append_new(arr, orgs_json_audit(APR_ARRAY_IDX(recs, i, orgs_audit_t *))) !=
            0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    /* next: null on the last page */
    j = arr ? json_pack("{s:o,s:s?}", "records", arr, "next", next) : NULL;
    adm_send(a, 200, j);
}
