/* The note of sessions whose delete failed (the disk full, an I/O error):
 * a sign-out or a revocation must hold even then, so they are refused on
 * the next request until they are gone from the store. Kept in the
 * process, and, when the handle was given memory shared by every process
 * (orgs_store_revoked_share: httpd's children), there too, so every child
 * refuses them. Small and fixed: the newest notes replace the oldest. */
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
    st_revoked_shared_add(st, hash);
    pthread_mutex_lock(&st->revoked_lock);
    unsigned n = atomic_load(&st->revoked_n);
    memcpy(st->revoked[n % REVOKED_SLOTS], hash, HASH_LEN);
    atomic_store(&st->revoked_n, n + 1);
    pthread_mutex_unlock(&st->revoked_lock);
}

int st_revoked_has(orgs_store_t *st, const unsigned char *hash)
{
    int found = 0;
    if (st_revoked_shared_has(st, hash)) {
        return 1;
    }
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

/* ---- the note shared by every process ---------------------------------- */

#define SHARED_MAGIC 0x52564b31u /* "RVK1": this layout */
#define SHARED_SLOTS 64

/* Lock-free: a writer takes a slot by a counter and brackets its copy with
 * the slot's sequence number (odd while writing); a reader takes a slot's
 * hash only when the number was even and the same before and after. */
typedef struct {
    apr_uint32_t magic;
    apr_uint32_t size;
    _Atomic(unsigned) n;
    _Atomic(unsigned) seq[SHARED_SLOTS];
    unsigned char slot[SHARED_SLOTS][HASH_LEN];
} shared_t;

apr_size_t orgs_store_revoked_shared_size(void)
{
    return sizeof(shared_t);
}

int orgs_store_revoked_shared_init(void *mem, apr_size_t size)
{
    shared_t *sh = mem;
    if (!mem || size < sizeof(shared_t)) {
        return 0;
    }
    if (sh->magic == SHARED_MAGIC && sh->size == sizeof(shared_t)) {
        return 1; /* already this layout (a restart): its notes still hold */
    }
    memset(sh, 0, sizeof(*sh));
    sh->magic = SHARED_MAGIC;
    sh->size = sizeof(shared_t);
    return 1;
}

void orgs_store_revoked_share(orgs_store_t *st, void *mem)
{
    const shared_t *sh = mem;
    st->revoked_shared =
        sh && sh->magic == SHARED_MAGIC && sh->size == sizeof(shared_t) ? mem : NULL;
}

void st_revoked_shared_add(orgs_store_t *st, const unsigned char *hash)
{
    shared_t *sh = st->revoked_shared;
    if (!sh) {
        return;
    }
    unsigned i = atomic_fetch_add(&sh->n, 1) % SHARED_SLOTS;
    unsigned v = atomic_load(&sh->seq[i]);
    atomic_store(&sh->seq[i], (v | 1u) + 2u); /* odd: being written */
    memcpy(sh->slot[i], hash, HASH_LEN);
    atomic_store(&sh->seq[i], (v | 1u) + 3u); /* even again */
}

int st_revoked_shared_has(orgs_store_t *st, const unsigned char *hash)
{
    shared_t *sh = st->revoked_shared;
    unsigned n = sh ? atomic_load(&sh->n) : 0;
    for (unsigned i = 0; i < n && i < SHARED_SLOTS; i++) {
        unsigned char copy[HASH_LEN];
        unsigned before = atomic_load(&sh->seq[i]);
        if (before & 1u) {
            continue; /* being written: a note of this very moment */
        }
        memcpy(copy, sh->slot[i], HASH_LEN);
        if (atomic_load(&sh->seq[i]) == before && memcmp(copy, hash, HASH_LEN) == 0) {
            return 1;
        }
    }
    return 0;
}
