/* [glue] OrgsAdminWritesPerMinute: the admin API's changes of one
 * organization (any path under /organizations/{org}) counted per minute on
 * this server (store.h, orgs_store_admin_rate_take); past the bound, 429
 * with Retry-After and nothing done. Every caller counts, API tokens
 * included: a token is what a script or a provisioning sync uses, the
 * likeliest writer in a loop, and its changes load the store (on a
 * PostgreSQL store the cluster's one change log) for every tenant alike.
 * Changes outside an org (organizations created, connections, users) are
 * not counted, nor requests of callers who may not change that org. */
#include <string.h>

#include <apr_strings.h>

#include "private.h"
#include "admin.h"
#include "admin_httpd.h"

#define ORG_PREFIX "/organizations/"

/* The org a path is under, as written (id or name); NULL when none. */
static const char *org_ref(const char *path, apr_pool_t *p)
{
    size_t n = strlen(ORG_PREFIX);
    if (!path || strncmp(path, ORG_PREFIX, n) != 0) {
        return NULL;
    }
    const char *ref = path + n, *end = strchr(ref, '/');
    size_t len = end ? (size_t)(end - ref) : strlen(ref);
    return len ? apr_pstrmemdup(p, ref, len) : NULL;
}

int orgs_admin_rate_refused(request_rec *r, orgs_store_t *st, const orgs_admin_req_t *rq)
{
    apr_size_t limit = orgs_srv_cfg(r->server)->admin_writes_per_min;
    const char *ref = org_ref(rq->path, r->pool);
    orgs_org_t *org;
    orgs_err_t err = {{0}};
    apr_interval_time_t retry;
    if (!limit || !ref || orgs_store_org_get(st, ref, &org, r->pool, &err) != APR_SUCCESS) {
        return 0; /* no such org: the API answers that */
    }
    /* only a caller who may change this org spends its bound: another
     * org's admin, a read-only token or nobody is refused by the API
     * without touching the count, so it cannot spend a tenant's minute */
    const orgs_admin_caller_t *c = &rq->caller;
    if (c->kind == ORGS_ADMIN_NOBODY || !c->can_write ||
        (c->kind == ORGS_ADMIN_ORG && (!c->org_id || strcmp(c->org_id, org->id) != 0))) {
        return 0;
    }
    /* counted by id: the name and the id of one org share its bound */
    apr_status_t rv = orgs_store_admin_rate_take(st, org->id, limit, apr_time_now(), &retry, &err);
    if (rv != APR_ENOSPC) {
        /* a store that cannot count (full) does not stop the change: the
         * change itself meets the store's state and answers for it */
        return 0;
    }
    int secs = (int)apr_time_sec(retry + APR_USEC_PER_SEC - 1);
    secs = secs < 1 ? 1 : secs;
    orgs_log_rerror(r, APLOG_WARNING, 0,
                    ORGSLOGNO(00872) "admin API: %s %s by %s refused (429): organization %s "
                                     "made %" APR_SIZE_T_FMT " changes in the last minute on "
                                     "this server (OrgsAdminWritesPerMinute); again in %d s",
                    r->method, r->uri, rq->caller.who ? rq->caller.who : "-", org->name, limit,
                    secs);
    return secs;
}
