/* The provider cache: fetched documents (discovery, JWKS) by key. */
#include <string.h>

#include "store_int.h"

#define CACHE_KEY_RAW_MAX 400 /* longer keys are hashed */

static apr_status_t kb_cache(kbuf_t *k, const char *key, orgs_err_t *err)
{
    size_t n = strlen(key);
    if (n <= CACHE_KEY_RAW_MAX && key[0] != '#') {
        st_kbraw(k, key, n);
        return APR_SUCCESS;
    }
    unsigned char h[32];
    if (orgs_crypto_sha256(key, n, h) != APR_SUCCESS) {
        return orgs_err_set(err, ORGS_ECRYPTO, "cannot hash the cache key");
    }
    st_kbraw(k, "#", 1);
    st_kb_add(k, h, sizeof(h));
    return APR_SUCCESS;
}

apr_status_t orgs_store_cache_put(orgs_store_t *st, const char *key, const char *value,
                                  apr_time_t fetched, apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    apr_status_t rv;
    if (!key || !*key || !value) {
        return orgs_err_set(err, APR_EINVAL, "cache entry needs a key and a value");
    }
    if ((rv = kb_cache(&k, key, err)) != APR_SUCCESS) {
        return rv;
    }
    size_t n = strlen(value);
    unsigned char *buf = apr_palloc(p, n + 8);
    st_put_u64le(buf, (apr_uint64_t)fetched);
    /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): the record's size is n + 8, no NUL */
    memcpy(buf + 8, value, n);
    ST_WRITE(st, txn, err, st_kv_put(txn, DB(st, CACHE), &k, buf, n + 8, 0, err, "cache"));
}

static apr_status_t cache_load(orgs_store_t *st, MDB_txn *txn, const char *key, const char **value,
                               apr_time_t *fetched, apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    MDB_val v;
    apr_status_t rv = kb_cache(&k, key, err);
    if (rv == APR_SUCCESS) {
        rv = st_kv_get(txn, DB(st, CACHE), &k, &v, err, "cache entry");
    }
    if (rv == APR_SUCCESS && v.mv_size < 8) {
        rv = orgs_err_set(err, ORGS_ESTORE, "corrupt cache entry");
    }
    if (rv == APR_SUCCESS) {
        *fetched = (apr_time_t)st_get_u64le(v.mv_data);
        *value = apr_pstrmemdup(p, (char *)v.mv_data + 8, v.mv_size - 8);
    }
    return rv;
}

apr_status_t orgs_store_cache_get(orgs_store_t *st, const char *key, const char **value,
                                  apr_time_t *fetched, apr_pool_t *p, orgs_err_t *err)
{
    if (!key || !*key) {
        return orgs_err_set(err, APR_EINVAL, "no cache key");
    }
    ST_READ(st, txn, err, cache_load(st, txn, key, value, fetched, p, err));
}

static apr_status_t cache_claim(orgs_store_t *st, MDB_txn *txn, const char *key, apr_time_t now,
                                apr_interval_time_t ttl, apr_pool_t *p, orgs_err_t *err)
{
    const char *old = NULL;
    apr_time_t at = 0;
    kbuf_t k;
    unsigned char buf[8];
    apr_status_t rv = cache_load(st, txn, key, &old, &at, p, err);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        return rv;
    }
    if (rv == APR_SUCCESS && at <= now && now - at < ttl) {
        return orgs_err_set(err, APR_EBUSY, "held since %" APR_TIME_T_FMT " ms",
                            apr_time_as_msec(now - at));
    }
    if ((rv = kb_cache(&k, key, err)) != APR_SUCCESS) {
        return rv;
    }
    st_put_u64le(buf, (apr_uint64_t)now);
    return st_kv_put(txn, DB(st, CACHE), &k, buf, sizeof(buf), 0, err, "cache");
}

apr_status_t orgs_store_cache_claim(orgs_store_t *st, const char *key, apr_time_t now,
                                    apr_interval_time_t ttl, apr_pool_t *p, orgs_err_t *err)
{
    if (!key || !*key) {
        return orgs_err_set(err, APR_EINVAL, "no cache key");
    }
    ST_WRITE(st, txn, err, cache_claim(st, txn, key, now, ttl, p, err));
}
