/* The per-process note of sessions whose delete failed (the disk full, an
 * I/O error): a sign-out or a revocation must hold even then, so this
 * process refuses them on the next request until they are gone from the
 * store. Small and fixed: the newest notes replace the oldest. */
#include "store_int.h"

#define REVOKED_SLOTS                                                                              \
    (sizeof(((orgs_store_t *)0)->revoked) / sizeof(((orgs_store_t *)0)->revoked[0]))

apr_status_t st_revoked_init(orgs_store_t *st, orgs_err_t *err)
{
    if (pthread_mutex_init(&st->revoked_lock, NULL) != 0) {
        return orgs_err_set(err, APR_ENOMEM, "cannot create the revocation lock");
    }
    st->revoked_lock_init = 1;
    atomic_store(&st->revoked_n, 0);
    return APR_SUCCESS;
}

void st_revoked_fini(orgs_store_t *st)
{
    if (st->revoked_lock_init) {
        pthread_mutex_destroy(&st->revoked_lock);
        st->revoked_lock_init = 0;
    }
}

void st_revoked_add(orgs_store_t *st, const unsigned char *hash)
{
    pthread_mutex_lock(&st->revoked_lock);
    unsigned n = atomic_load(&st->revoked_n);
    memcpy(st->revoked[n % REVOKED_SLOTS], hash, HASH_LEN);
    atomic_store(&st->revoked_n, n + 1);
    pthread_mutex_unlock(&st->revoked_lock);
}

int st_revoked_has(orgs_store_t *st, const unsigned char *hash)
{
    int found = 0;
    if (atomic_load(&st->revoked_n) == 0) { /* the common case: no lock taken */
        return 0;
    }
    pthread_mutex_lock(&st->revoked_lock);
    unsigned n = atomic_load(&st->revoked_n);
    for (unsigned i = 0; i < n && i < REVOKED_SLOTS && !found; i++) {
        found = memcmp(st->revoked[i], hash, HASH_LEN) == 0;
    }
    pthread_mutex_unlock(&st->revoked_lock);
    return found;
}
