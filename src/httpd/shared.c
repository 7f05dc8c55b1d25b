/* [glue] Memory every child shares, made by httpd's parent before it
 * forks: the note of sessions whose delete failed (store.h,
 * orgs_store_revoked_share), so that a sign-out or a revocation whose
 * delete failed is refused by every child, not only the one that served
 * it; and the back channel's log gate (backchan.h,
 * orgs_backchan_log_share), so that a failing IdP writes one line per
 * interval in the whole server, not one per child. Kept across graceful
 * restarts like the status counters. */
#include <string.h>

#include <apr_shm.h>

#include <httpd.h>
#include <http_config.h>

#include "backchan.h"
#include "store.h"
#include "private.h"
#include "shared.h"

#define SHM_KEY "auth_orgs_revoked_shm"
#define SHM_KEY_LOG "auth_orgs_bclog_shm"

static void *revoked;
static void *bclog;

/* What the process pool keeps across restarts: the region and its size
 * (a new build may need another size: never reuse a smaller region). */
typedef struct {
    void *mem;
    apr_size_t size;
} region_t;

/* The region kept under key in the process pool pproc when it has this
 * size and init accepts it, else a new one (NULL when none can be made). */
static void *region(apr_pool_t *pproc, const char *key, apr_size_t size,
                    int (*init)(void *, apr_size_t), apr_status_t *rv)
{
    apr_shm_t *shm = NULL;
    void *data = NULL;
    region_t *reg;

    *rv = APR_SUCCESS;
    apr_pool_userdata_get(&data, key, pproc);
    reg = data;
    if (reg && reg->size == size && init(reg->mem, size)) {
        return reg->mem; /* a restart: what it holds still holds */
    }
    if ((*rv = apr_shm_create(&shm, size, NULL, pproc)) != APR_SUCCESS) {
        return NULL;
    }
    data = apr_shm_baseaddr_get(shm);
    memset(data, 0, size); /* fresh memory: whatever it holds is not ours */
    if (!init(data, size)) {
        return NULL;
    }
    reg = apr_palloc(pproc, sizeof(*reg));
    reg->mem = data;
    reg->size = size;
    apr_pool_userdata_set(reg, key, apr_pool_cleanup_null, pproc);
    return data;
}

void orgs_shared_post_config(server_rec *s)
{
    apr_pool_t *pproc = s->process->pool;
    apr_status_t rv;

    revoked = region(pproc, SHM_KEY, orgs_store_revoked_shared_size(),
                     orgs_store_revoked_shared_init, &rv);
    if (!revoked) {
        orgs_log_error(s, APLOG_WARNING, rv,
                       ORGSLOGNO(00635) "no shared memory for the note of sessions whose "
                                        "delete failed: each child refuses only those it "
                                        "failed to delete itself");
    }
    bclog = region(pproc, SHM_KEY_LOG, orgs_backchan_log_shared_size(),
                   orgs_backchan_log_shared_init, &rv);
    if (!bclog) {
        orgs_log_error(s, APLOG_WARNING, rv,
                       ORGSLOGNO(00587) "no shared memory for the back channel's log gate: "
                                        "each child writes its own line per identity "
                                        "provider and interval");
    }
}

void orgs_shared_child_init(orgs_store_t *st)
{
    if (st && revoked) {
        orgs_store_revoked_share(st, revoked);
    }
}

void orgs_shared_backchan_child_init(void)
{
    orgs_backchan_log_share(bclog);
}
