/* The engine's key/value layer: bounded key buffers, get/put/delete
 * with LMDB errors mapped, prefix iteration and JSON records. */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

void st_kb_add(kbuf_t *kb, const void *d, size_t n)
{
    if (kb->over || n > sizeof(kb->buf) - kb->len) {
        kb->over = 1;
        return;
    }
    memcpy(kb->buf + kb->len, d, n);
    kb->len += n;
}

void st_kb_str(kbuf_t *kb, const char *s)
{
    st_kb_add(kb, s, strlen(s));
}

void st_kb_nul(kbuf_t *kb)
{
    st_kb_add(kb, "", 1);
}

kbuf_t *st_kb1(kbuf_t *kb, const char *a)
{
    kb->len = 0;
    kb->over = 0;
    st_kb_str(kb, a);
    return kb;
}

kbuf_t *st_kb2(kbuf_t *kb, const char *a, const char *b)
{
    st_kb1(kb, a);
    st_kb_str(kb, b);
    return kb;
}

kbuf_t *st_kbraw(kbuf_t *kb, const void *d, size_t n)
{
    kb->len = 0;
    kb->over = 0;
    st_kb_add(kb, d, n);
    return kb;
}

apr_status_t st_kv_get(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, MDB_val *v, orgs_err_t *err,
                       const char *what)
{
    if (k->over || k->len == 0) {
        return orgs_err_set(err, APR_NOTFOUND, "%s not found", what);
    }
    MDB_val key = {k->len, (void *)k->buf};
    int rc = mdb_get(txn, dbi, &key, v);
    return rc == MDB_SUCCESS ? APR_SUCCESS : st_mdb_fail(rc, err, what);
}

apr_status_t st_kv_put(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, const void *d, size_t n,
                       unsigned flags, orgs_err_t *err, const char *what)
{
    if (k->over || k->len == 0) {
        return orgs_err_set(err, APR_EINVAL, "%s: key too long", what);
    }
    MDB_val key = {k->len, (void *)k->buf};
    MDB_val val = {n, (void *)d};
    int rc = mdb_put(txn, dbi, &key, &val, flags);
    return rc == MDB_SUCCESS ? APR_SUCCESS : st_mdb_fail(rc, err, what);
}

/* must_exist: APR_NOTFOUND when absent; otherwise absence is fine. */
apr_status_t st_kv_del(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, int must_exist, orgs_err_t *err,
                       const char *what)
{
    if (k->over || k->len == 0) {
        return must_exist ? orgs_err_set(err, APR_NOTFOUND, "%s not found", what) : APR_SUCCESS;
    }
    MDB_val key = {k->len, (void *)k->buf};
    int rc = mdb_del(txn, dbi, &key, NULL);
    if (rc == MDB_NOTFOUND && !must_exist) {
        return APR_SUCCESS;
    }
    return rc == MDB_SUCCESS ? APR_SUCCESS : st_mdb_fail(rc, err, what);
}

apr_status_t st_iter_open(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *pfx, iter_t *it, orgs_err_t *err)
{
    memset(it, 0, sizeof(*it));
    int rc = mdb_cursor_open(txn, dbi, &it->cur);
    if (rc != MDB_SUCCESS) {
        it->cur = NULL;
        return st_mdb_fail(rc, err, "cursor");
    }
    if (pfx) {
        it->pfx = pfx->buf;
        it->plen = pfx->len;
    }
    return APR_SUCCESS;
}

int st_iter_next(iter_t *it)
{
    int rc;
    if (!it->started) {
        it->started = 1;
        if (it->plen) {
            it->k.mv_data = (void *)it->pfx;
            it->k.mv_size = it->plen;
            rc = mdb_cursor_get(it->cur, &it->k, &it->v, MDB_SET_RANGE);
        } else {
            rc = mdb_cursor_get(it->cur, &it->k, &it->v, MDB_FIRST);
        }
    } else {
        rc = mdb_cursor_get(it->cur, &it->k, &it->v, MDB_NEXT);
    }
    if (rc != MDB_SUCCESS) {
        if (rc != MDB_NOTFOUND) {
            it->rc = rc;
        }
        return 0;
    }
    if (it->plen && (it->k.mv_size < it->plen || memcmp(it->k.mv_data, it->pfx, it->plen) != 0)) {
        return 0;
    }
    return 1;
}

apr_status_t st_iter_close(iter_t *it, orgs_err_t *err)
{
    if (it->cur) {
        mdb_cursor_close(it->cur);
        it->cur = NULL;
    }
    return it->rc ? st_mdb_fail(it->rc, err, "cursor") : APR_SUCCESS;
}

apr_status_t st_iter_end(iter_t *it, apr_status_t rv, orgs_err_t *err)
{
    apr_status_t rv2 = st_iter_close(it, err);
    return rv != APR_SUCCESS ? rv : rv2;
}

/* Copies the entries under pfx (all when NULL) into p, so the caller may
 * delete while walking them. */
apr_status_t st_collect(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *pfx, apr_array_header_t **out,
                        apr_pool_t *p, orgs_err_t *err)
{
    iter_t it;
    apr_status_t rv = st_iter_open(txn, dbi, pfx, &it, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = apr_array_make(p, 8, sizeof(blob_t));
    while (st_iter_next(&it)) {
        blob_t *b = apr_array_push(*out);
        b->klen = it.k.mv_size;
        b->k = apr_pstrmemdup(p, it.k.mv_data, it.k.mv_size);
        b->vlen = it.v.mv_size;
        b->v = apr_pstrmemdup(p, it.v.mv_data, it.v.mv_size);
    }
    return st_iter_close(&it, err);
}

/* Steals j (may be NULL: encoding failed). */
apr_status_t st_put_json_new(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, json_t *j, unsigned flags,
                             orgs_err_t *err, const char *what)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) {
        return orgs_err_set(err, APR_EINVAL, "%s: cannot encode record (invalid UTF-8?)", what);
    }
    apr_status_t rv = st_kv_put(txn, dbi, k, s, strlen(s), flags, err, what);
    free(s);
    return rv;
}

apr_status_t st_get_json(MDB_txn *txn, MDB_dbi dbi, const kbuf_t *k, json_t **out, orgs_err_t *err,
                         const char *what)
{
    MDB_val v;
    apr_status_t rv = st_kv_get(txn, dbi, k, &v, err, what);
    return rv == APR_SUCCESS ? st_json_of(v.mv_data, v.mv_size, out, err, what) : rv;
}

apr_status_t st_load_all(orgs_store_t *st, MDB_txn *txn, MDB_dbi dbi, const kbuf_t *pfx,
                         int key_skip, st_load_fn *load, apr_array_header_t **out, apr_pool_t *p,
                         orgs_err_t *err)
{
    iter_t it;
    *out = apr_array_make(p, 16, sizeof(void *));
    apr_status_t rv = st_iter_open(txn, dbi, pfx, &it, err);
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        void *rec;
        const char *id = key_skip < 0 ? apr_pstrmemdup(p, it.v.mv_data, it.v.mv_size)
                         : it.k.mv_size < (size_t)key_skip
                             ? ""
                             : apr_pstrmemdup(p, (const char *)it.k.mv_data + key_skip,
                                              it.k.mv_size - (size_t)key_skip);
        rv = load(st, txn, id, &rec, p, err);
        if (rv == APR_SUCCESS) {
            APR_ARRAY_PUSH(*out, void *) = rec;
        }
    }
    return st_iter_end(&it, rv, err);
}

int st_cursor_resume(MDB_cursor *cur, const kbuf_t *from, MDB_val *key, MDB_val *val)
{
    if (from->len == 0) {
        return mdb_cursor_get(cur, key, val, MDB_FIRST);
    }
    *key = (MDB_val){from->len, (void *)from->buf};
    int rc = mdb_cursor_get(cur, key, val, MDB_SET_RANGE);
    if (rc == MDB_SUCCESS && key->mv_size == from->len &&
        memcmp(key->mv_data, from->buf, from->len) == 0) {
        rc = mdb_cursor_get(cur, key, val, MDB_NEXT); /* read (and kept) last time */
    }
    return rc;
}
