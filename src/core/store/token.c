/* Admin API tokens: a record per token (its secret's hash, scopes,
 * expiry), keyed by the token's id. The secret is never stored. */
#include <string.h>

#include "store_int.h"

#define TOKEN_SECRET_BYTES 32 /* 43 base64url characters */
#define TOKEN_NAME_MAX 128

static apr_status_t token_hash(const char *secret, char **out, apr_pool_t *p, orgs_err_t *err)
{
    unsigned char h[32];
    if (orgs_crypto_sha256(secret, strlen(secret), h) != APR_SUCCESS) {
        return orgs_err_set(err, ORGS_ECRYPTO, "cannot hash the token");
    }
    *out = orgs_crypto_b64url_encode(h, sizeof(h), p);
    return APR_SUCCESS;
}

static json_t *token_encode(const orgs_token_t *t, const char *hash)
{
    json_t *scopes = json_array();
    for (int i = 0; t->scopes && i < t->scopes->nelts; i++) {
        json_array_append_new(scopes, json_string(APR_ARRAY_IDX(t->scopes, i, const char *)));
    }
    return json_pack("{s:s, s:s?, s:o, s:s, s:I, s:I}", "id", t->id, "name", t->name, "scopes",
                     scopes, "hash", hash, "created", (json_int_t)t->created, "expires",
                     (json_int_t)t->expires);
}

static apr_status_t token_decode(const json_t *j, orgs_token_t **out, const char **hash,
                                 apr_pool_t *p, orgs_err_t *err)
{
    const char *id, *h;
    json_t *scopes, *name = NULL;
    json_int_t created, expires;
    if (json_unpack((json_t *)j, "{s:s, s?o, s:o, s:s, s:I, s:I}", "id", &id, "name", &name,
                    "scopes", &scopes, "hash", &h, "created", &created, "expires", &expires) != 0 ||
        !json_is_array(scopes) || (name && !json_is_null(name) && !json_is_string(name))) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt token record");
    }
    orgs_token_t *t = apr_pcalloc(p, sizeof(*t));
    t->id = apr_pstrdup(p, id);
    t->name = json_is_string(name) ? apr_pstrdup(p, json_string_value(name)) : NULL;
    t->created = (apr_time_t)created;
    t->expires = (apr_time_t)expires;
    t->scopes = apr_array_make(p, 2, sizeof(const char *));
    for (size_t i = 0; i < json_array_size(scopes); i++) {
        const char *s = json_string_value(json_array_get(scopes, i));
        if (!s) {
            return orgs_err_set(err, ORGS_ESTORE, "corrupt token record");
        }
        APR_ARRAY_PUSH(t->scopes, const char *) = apr_pstrdup(p, s);
    }
    if (hash) {
        *hash = apr_pstrdup(p, h);
    }
    *out = t;
    return APR_SUCCESS;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Scopes checked, sorted, unique; none given means all of them. */
static apr_status_t scopes_normalize(const apr_array_header_t *in, apr_array_header_t **out,
                                     apr_pool_t *p, orgs_err_t *err)
{
    apr_array_header_t *s = apr_array_make(p, 2, sizeof(const char *));
    if (!in || in->nelts == 0) {
        APR_ARRAY_PUSH(s, const char *) = "read";
        APR_ARRAY_PUSH(s, const char *) = "write";
        *out = s;
        return APR_SUCCESS;
    }
    for (int i = 0; i < in->nelts; i++) {
        const char *v = APR_ARRAY_IDX(in, i, const char *);
        apr_status_t rv = orgs_check_token_scope(v, err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        APR_ARRAY_PUSH(s, const char *) = v;
    }
    qsort(s->elts, (size_t)s->nelts, sizeof(const char *), cmp_str);
    int n = 0;
    for (int i = 0; i < s->nelts; i++) {
        if (n == 0 ||
            strcmp(APR_ARRAY_IDX(s, n - 1, const char *), APR_ARRAY_IDX(s, i, const char *)) != 0) {
            APR_ARRAY_IDX(s, n++, const char *) = APR_ARRAY_IDX(s, i, const char *);
        }
    }
    s->nelts = n;
    *out = s;
    return APR_SUCCESS;
}

static apr_status_t token_insert(orgs_store_t *st, MDB_txn *txn, const orgs_token_t *t,
                                 const char *hash, apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    if (!ST_HAS_DB(st, DB_API_TOKENS)) {
        return orgs_err_set(err, ORGS_ESTORE, "the store has no token database");
    }
    apr_status_t rv = st_put_json_new(txn, DB(st, API_TOKENS), st_kb1(&k, t->id),
                                      token_encode(t, hash), MDB_NOOVERWRITE, err, "token");
    /* the record names the token, never its secret or hash */
    return rv == APR_SUCCESS
               ? st_audit_add(st, txn, "token.create", NULL, t->id, NULL,
                              json_pack("{s:s,s:s?}", "id", t->id, "name", t->name), p, err)
               : rv;
}

apr_status_t orgs_store_token_create(orgs_store_t *st, orgs_token_t *tok, const char **secret,
                                     apr_pool_t *p, orgs_err_t *err)
{
    orgs_token_t t = *tok;
    char *id, *rnd, *hash;
    apr_status_t rv;
    t.created = apr_time_now();
    if (t.expires && t.expires <= t.created) {
        return orgs_err_set(err, APR_EINVAL, "the token would expire before it is created");
    }
    if (t.name &&
        (rv = orgs_check_text(t.name, TOKEN_NAME_MAX, 1, "token name", err)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = scopes_normalize(tok->scopes, &t.scopes, p, err)) != APR_SUCCESS ||
        (rv = st_id_new("tok_", &id, p, err)) != APR_SUCCESS) {
        return rv;
    }
    if (orgs_crypto_random_token(TOKEN_SECRET_BYTES, &rnd, p) != APR_SUCCESS) {
        return orgs_err_set(err, ORGS_ECRYPTO, "cannot generate a token");
    }
    t.id = id;
    const char *whole = apr_pstrcat(p, id, ".", rnd, NULL);
    if ((rv = token_hash(whole, &hash, p, err)) != APR_SUCCESS) {
        return rv;
    }
    ST_WRITE_RV(rv, st, txn, err, token_insert(st, txn, &t, hash, p, err));
    if (rv == APR_SUCCESS) {
        *tok = t;
        *secret = whole;
    }
    return rv;
}

static apr_status_t token_load(orgs_store_t *st, MDB_txn *txn, const char *id, orgs_token_t **out,
                               const char **hash, apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    json_t *j;
    if (!ST_HAS_DB(st, DB_API_TOKENS) || !orgs_check_id(id, "tok_")) {
        return orgs_err_set(err, APR_NOTFOUND, "token not found");
    }
    apr_status_t rv = st_get_json(txn, DB(st, API_TOKENS), st_kb1(&k, id), &j, err, "token");
    if (rv == APR_SUCCESS) {
        rv = token_decode(j, out, hash, p, err);
        json_decref(j);
    }
    return rv;
}

/* Equal strings, in a time that does not depend on where they differ. */
static int same(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    for (size_t i = 0; i < la && i < lb; i++) {
        d |= (unsigned char)(a[i] ^ b[i]);
    }
    return d == 0;
}

static apr_status_t token_check(orgs_store_t *st, MDB_txn *txn, const char *id, const char *hash,
                                apr_time_t now, orgs_token_t **out, apr_pool_t *p, orgs_err_t *err)
{
    const char *stored;
    apr_status_t rv = token_load(st, txn, id, out, &stored, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!same(stored, hash)) {
        return orgs_err_set(err, APR_NOTFOUND, "token not found");
    }
    if ((*out)->expires && now >= (*out)->expires) {
        return orgs_err_set(err, ORGS_EEXPIRED, "token %s expired", id);
    }
    return APR_SUCCESS;
}

apr_status_t orgs_store_token_verify(orgs_store_t *st, const char *presented, apr_time_t now,
                                     orgs_token_t **out, apr_pool_t *p, orgs_err_t *err)
{
    char *hash;
    apr_status_t rv;
    /* "tok_" + 16 characters, '.', the secret */
    if (!presented || strlen(presented) != ID_LEN + 1 + 43 || presented[ID_LEN] != '.') {
        return orgs_err_set(err, APR_NOTFOUND, "malformed token");
    }
    const char *id = apr_pstrmemdup(p, presented, ID_LEN);
    if ((rv = token_hash(presented, &hash, p, err)) != APR_SUCCESS) {
        return rv;
    }
    ST_READ(st, txn, err, token_check(st, txn, id, hash, now, out, p, err));
}

static apr_status_t token_load_any(orgs_store_t *st, MDB_txn *txn, const char *id, void *out,
                                   apr_pool_t *p, orgs_err_t *err)
{
    return token_load(st, txn, id, out, NULL, p, err);
}

static apr_status_t token_list(orgs_store_t *st, MDB_txn *txn, apr_array_header_t **out,
                               apr_pool_t *p, orgs_err_t *err)
{
    if (!ST_HAS_DB(st, DB_API_TOKENS)) {
        *out = apr_array_make(p, 1, sizeof(orgs_token_t *));
        return APR_SUCCESS;
    }
    return st_load_all(st, txn, DB(st, API_TOKENS), NULL, 0, token_load_any, out, p, err);
}

apr_status_t orgs_store_token_list(orgs_store_t *st, apr_array_header_t **out, apr_pool_t *p,
                                   orgs_err_t *err)
{
    ST_READ(st, txn, err, token_list(st, txn, out, p, err));
}

static apr_status_t token_erase(orgs_store_t *st, MDB_txn *txn, const char *id, apr_pool_t *p,
                                orgs_err_t *err)
{
    kbuf_t k;
    if (!ST_HAS_DB(st, DB_API_TOKENS) || !orgs_check_id(id, "tok_")) {
        return orgs_err_set(err, APR_NOTFOUND, "token '%.40s' not found", id ? id : "");
    }
    apr_status_t rv = st_kv_del(txn, DB(st, API_TOKENS), st_kb1(&k, id), 1, err, "token");
    if (rv == APR_NOTFOUND) {
        return orgs_err_set(err, rv, "token '%s' not found", id);
    }
    return rv == APR_SUCCESS ? st_audit_add(st, txn, "token.revoke", NULL, id,
                                            json_pack("{s:s}", "id", id), NULL, p, err)
                             : rv;
}

apr_status_t orgs_store_token_revoke(orgs_store_t *st, const char *id, apr_pool_t *p,
                                     orgs_err_t *err)
{
    ST_RELEASE(st, txn, err, token_erase(st, txn, id, p, err));
}
