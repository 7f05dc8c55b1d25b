/* The key check value: meta "keycheck" holds an HMAC of a fixed label
 * under the secrets key, so the store knows its key without holding it.
 * A store older than the check gets the value only from a key that proved
 * itself (store.h). */
#include <string.h>

#include "store_int.h"

#define KEYCHECK_META "keycheck"
#define KEYCHECK_LABEL "mod_auth_orgs store key check v1"
#define KEYCHECK_LEN 32

static apr_status_t keycheck_value(const orgs_store_t *st, unsigned char out[KEYCHECK_LEN],
                                   orgs_err_t *err)
{
    if (orgs_crypto_hmac(st->keys->secrets, KEYCHECK_LABEL, strlen(KEYCHECK_LABEL), out) !=
        APR_SUCCESS) {
        return orgs_err_set(err, ORGS_ECRYPTO, "cannot compute the key check value");
    }
    return APR_SUCCESS;
}

/* *found: whether a value is recorded; *match: whether it is mac. */
static apr_status_t keycheck_read(orgs_store_t *st, MDB_txn *txn, const unsigned char *mac,
                                  int *found, int *match, orgs_err_t *err)
{
    kbuf_t k;
    MDB_val v;
    apr_status_t rv = st_kv_get(txn, DB(st, META), st_kb1(&k, KEYCHECK_META), &v, err, "key check");
    *found = rv == APR_SUCCESS;
    *match =
        *found && v.mv_size == KEYCHECK_LEN && orgs_crypto_ct_equal(v.mv_data, mac, KEYCHECK_LEN);
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

/* Records mac unless a value appeared meanwhile (another process recorded
 * its key first): then *match says whether it is the same. */
static apr_status_t keycheck_write(orgs_store_t *st, MDB_txn *txn, const unsigned char *mac,
                                   int *match, orgs_err_t *err)
{
    kbuf_t k;
    int found;
    apr_status_t rv = keycheck_read(st, txn, mac, &found, match, err);
    if (rv == APR_SUCCESS && !found) {
        *match = 1;
        rv = st_kv_put(txn, DB(st, META), st_kb1(&k, KEYCHECK_META), mac, KEYCHECK_LEN, 0, err,
                       "key check");
    }
    return rv;
}

/* The sealed secrets, copied out of the read transaction: no crypto in it. */
typedef struct {
    orgs_conn_t *conn;
    const char *sealed;
} sealed_t;

static apr_status_t collect_sealed(orgs_store_t *st, MDB_txn *txn, apr_array_header_t **out,
                                   apr_pool_t *p, orgs_err_t *err)
{
    apr_array_header_t *all;
    apr_status_t rv = st_collect(txn, DB(st, CONNS), NULL, &all, p, err);
    *out = apr_array_make(p, 4, sizeof(sealed_t));
    for (int i = 0; rv == APR_SUCCESS && i < all->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(all, i, blob_t);
        json_t *j = json_loadb(b->v, b->vlen, 0, NULL);
        sealed_t s = {NULL, NULL};
        if (j && st_conn_decode(j, &s.conn, &s.sealed, p, NULL) == APR_SUCCESS && s.sealed) {
            s.sealed = apr_pstrdup(p, s.sealed);
            APR_ARRAY_PUSH(*out, sealed_t) = s;
        }
        json_decref(j); /* an unreadable record is orgctl check's to report */
    }
    return rv;
}

apr_status_t orgs_store_secrets_check(orgs_store_t *st, apr_size_t *total, apr_size_t *opened,
                                      apr_pool_t *p, orgs_err_t *err)
{
    apr_array_header_t *sealed;
    apr_pool_t *tmp;
    apr_status_t rv = st_pool_new(&tmp, p, err);
    *total = *opened = 0;
    if (rv != APR_SUCCESS) {
        return rv;
    }
    ST_READ_RV(rv, st, txn, err, collect_sealed(st, txn, &sealed, tmp, err));
    if (rv == APR_SUCCESS) {
        *total = (apr_size_t)sealed->nelts;
        for (int i = 0; st->keys && i < sealed->nelts; i++) {
            sealed_t *s = &APR_ARRAY_IDX(sealed, i, sealed_t);
            if (st_conn_unseal(st, s->conn, s->sealed, tmp, NULL) == APR_SUCCESS) {
                (*opened)++;
                orgs_crypto_cleanse((void *)s->conn->client_secret, strlen(s->conn->client_secret));
            }
        }
    }
    apr_pool_destroy(tmp);
    return rv;
}

apr_status_t st_keycheck_init(orgs_store_t *st, MDB_txn *txn, orgs_err_t *err)
{
    unsigned char mac[KEYCHECK_LEN];
    int match;
    if (!st->keys) {
        return APR_SUCCESS;
    }
    apr_status_t rv = keycheck_value(st, mac, err);
    return rv == APR_SUCCESS ? keycheck_write(st, txn, mac, &match, err) : rv;
}

apr_status_t orgs_store_key_check(orgs_store_t *st, int record, orgs_store_key_state_t *state,
                                  orgs_err_t *err)
{
    unsigned char mac[KEYCHECK_LEN];
    int found = 0, match = 0;
    apr_size_t total, opened;
    apr_status_t rv;
    *state = ORGS_STORE_KEY_WRONG;
    if (!st->keys) {
        return orgs_err_set(err, ORGS_ENOKEY, "checking the store's key needs the key");
    }
    if ((rv = keycheck_value(st, mac, err)) != APR_SUCCESS) {
        return rv;
    }
    ST_READ_RV(rv, st, txn, err, keycheck_read(st, txn, mac, &found, &match, err));
    if (rv != APR_SUCCESS || found) {
        *state = match ? ORGS_STORE_KEY_MATCH : ORGS_STORE_KEY_WRONG;
        return rv;
    }
    /* No value yet: the key must open a stored secret, if there is one. */
    if ((rv = orgs_store_secrets_check(st, &total, &opened, st->pool, err)) != APR_SUCCESS) {
        return rv;
    }
    if (total > 0 && opened == 0) {
        return APR_SUCCESS; /* WRONG */
    }
    if (!record) {
        *state = ORGS_STORE_KEY_UNPROVEN;
        return APR_SUCCESS;
    }
    ST_WRITE_RV(rv, st, txn, err, keycheck_write(st, txn, mac, &match, err));
    *state = match ? ORGS_STORE_KEY_RECORDED : ORGS_STORE_KEY_WRONG;
    return rv;
}
