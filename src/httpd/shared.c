/* [glue] Memory every child shares, made by httpd's parent before it
 * forks: the note of sessions whose delete failed (store.h,
 * orgs_store_revoked_share), so that a sign-out or a revocation whose
 * delete failed is refused by every child, not only the one that served
 * it. Kept across graceful restarts like the status counters. */
#include <string.h>

#include <apr_shm.h>

#include <httpd.h>
#include <http_config.h>

#include "store.h"
#include "private.h"
#include "shared.h"

#define SHM_KEY "auth_orgs_revoked_shm"

static void *revoked;

/* What the process pool keeps across restarts: the region and its size
 * (a new build may need another size: never reuse a smaller region). */
typedef struct {
    void *mem;
    apr_size_t size;
} region_t;

void orgs_shared_post_config(server_rec *s)
{
    apr_pool_t *pproc = s->process->pool;
    apr_size_t size = orgs_store_revoked_shared_size();
    apr_shm_t *shm = NULL;
    void *data = NULL;
    region_t *reg;

    apr_pool_userdata_get(&data, SHM_KEY, pproc);
    reg = data;
    if (reg && reg->size == size && orgs_store_revoked_shared_init(reg->mem, size)) {
        revoked = reg->mem; /* a restart: the notes still hold */
        return;
    }
    apr_status_t rv = apr_shm_create(&shm, size, NULL, pproc);
    if (rv != APR_SUCCESS) {
        revoked = NULL;
        orgs_log_error(s, APLOG_WARNING, rv,
                       ORGSLOGNO(00635) "no shared memory for the note of sessions whose "
                                        "delete failed: each child refuses only those it "
                                        "failed to delete itself");
        return;
    }
    data = apr_shm_baseaddr_get(shm);
    memset(data, 0, size); /* fresh memory: whatever it holds is not a note */
    revoked = orgs_store_revoked_shared_init(data, size) ? data : NULL;
    reg = apr_palloc(pproc, sizeof(*reg));
    reg->mem = revoked;
    reg->size = size;
    apr_pool_userdata_set(reg, SHM_KEY, apr_pool_cleanup_null, pproc);
}

void orgs_shared_child_init(orgs_store_t *st)
{
    if (st && revoked) {
        orgs_store_revoked_share(st, revoked);
    }
}
