/* The JSON codec: the connection, invitation and pending login records,
 * and the organization and user records of format version 1.
 * Pure: no transaction, no LMDB. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "codec.h"

/* 0 when set (or v is NULL), -1 when v is not valid UTF-8. */
int st_jset_str(json_t *o, const char *k, const char *v)
{
    if (!v) {
        return 0;
    }
    json_t *s = json_string(v);
    return s ? json_object_set_new(o, k, s) : -1;
}

int st_jset_int(json_t *o, const char *k, apr_int64_t v)
{
    return json_object_set_new(o, k, json_integer((json_int_t)v));
}

/* A copy in p, or NULL when absent, not a string or with an inner NUL. */
const char *st_jget_str(const json_t *o, const char *k, apr_pool_t *p)
{
    json_t *s = json_object_get(o, k);
    if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s)) {
        return NULL;
    }
    return apr_pstrmemdup(p, json_string_value(s), json_string_length(s));
}

apr_time_t st_jget_int(const json_t *o, const char *k)
{
    json_t *i = json_object_get(o, k);
    return json_is_integer(i) ? (apr_time_t)json_integer_value(i) : 0;
}

json_t *st_jstr_array(const apr_array_header_t *a)
{
    json_t *arr = json_array();
    for (int i = 0; arr && a && i < a->nelts; i++) {
        if (json_array_append_new(arr, json_string(APR_ARRAY_IDX(a, i, const char *)))) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* NULL when the member is neither absent nor an array of strings. */
apr_array_header_t *st_jget_str_array(const json_t *o, const char *k, apr_pool_t *p)
{
    json_t *arr = json_object_get(o, k);
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));
    if (!arr) {
        return out;
    }
    if (!json_is_array(arr)) {
        return NULL;
    }
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v)) {
            return NULL;
        }
        APR_ARRAY_PUSH(out, const char *) = apr_pstrdup(p, json_string_value(v));
    }
    return out;
}

/* The JSON object in v (a record read from the map). */
apr_status_t st_json_of(const void *d, size_t size, json_t **out, orgs_err_t *err, const char *what)
{
    *out = json_loadb(d, size, 0, NULL);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return orgs_err_set(err, ORGS_ESTORE, "%s: corrupt record", what);
    }
    return APR_SUCCESS;
}

/* ---- the records --------------------------------------------------------
 * A record's scalar members are written down once, as a shape: the names of
 * its strings and its integers (NULL-terminated, in the order they are
 * written) and the fields they go to. The encoder and the decoder work
 * from it. */

typedef struct {
    const char *const *strs;
    void *const *str_fields; /* const char ** each */
    const char *const *nums;
    void *const *num_fields; /* apr_time_t * each */
} shape_t;

/* 0 when j holds every scalar of s, -1 when one cannot be set (invalid UTF-8). */
static int jset_shape(json_t *j, const shape_t *s)
{
    int bad = !j;
    for (int i = 0; !bad && s->strs[i]; i++) {
        bad = st_jset_str(j, s->strs[i], *(const char *const *)s->str_fields[i]) != 0;
    }
    for (int i = 0; !bad && s->nums[i]; i++) {
        bad = st_jset_int(j, s->nums[i], *(const apr_time_t *)s->num_fields[i]) != 0;
    }
    return bad ? -1 : 0;
}

static void jget_shape(const json_t *j, const shape_t *s, apr_pool_t *p)
{
    for (int i = 0; s->strs[i]; i++) {
        *(const char **)s->str_fields[i] = st_jget_str(j, s->strs[i], p);
    }
    for (int i = 0; s->nums[i]; i++) {
        *(apr_time_t *)s->num_fields[i] = st_jget_int(j, s->nums[i]);
    }
}

/* A new JSON object of s's scalars, NULL when one cannot be encoded. */
static json_t *jnew_shape(const shape_t *s)
{
    json_t *j = json_object();
    if (jset_shape(j, s) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static const char *const org_strs[] = {"id", "name", "display_name", NULL};
static const char *const org_nums[] = {"created", "updated", NULL};
/* clang-format off */
#define ORG_SHAPE(o)                                                                              \
    {org_strs, (void *const[]){(void *)&(o)->id, (void *)&(o)->name, (void *)&(o)->display_name}, \
     org_nums, (void *const[]){(void *)&(o)->created, (void *)&(o)->updated}}
/* clang-format on */

/* Shape only; orgs_check_org checks the values. */
apr_status_t st_org_decode_json(const json_t *j, orgs_org_t **out, apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o = apr_pcalloc(p, sizeof(*o));
    const shape_t s = ORG_SHAPE(o);
    jget_shape(j, &s, p);
    o->domains = st_jget_str_array(j, "domains", p);
    o->meta = apr_array_make(p, 4, sizeof(orgs_kv_t));
    json_t *m = json_object_get(j, "meta"), *v;
    const char *k;
    if (!o->id || !o->name || !o->domains || (m && !json_is_object(m))) {
        return orgs_err_set(err, APR_EINVAL, "malformed organization record");
    }
    json_object_foreach(m, k, v)
    {
        if (!json_is_string(v)) {
            return orgs_err_set(err, APR_EINVAL, "malformed metadata '%s'", k);
        }
        orgs_kv_t *kv = apr_array_push(o->meta);
        kv->key = apr_pstrdup(p, k);
        kv->value = apr_pstrdup(p, json_string_value(v));
    }
    qsort(o->meta->elts, o->meta->nelts, sizeof(orgs_kv_t), st_cmp_kv);
    *out = o;
    return APR_SUCCESS;
}

static const char *const conn_strs[] = {"id",     "name",   "display_name", "issuer", "client_id",
                                        "secret", "scopes", "auth_method",  NULL};
static const char *const conn_nums[] = {"created", "updated", NULL};
/* clang-format off */
#define CONN_SHAPE(c, sealed)                                                                     \
    {conn_strs, (void *const[]){(void *)&(c)->id, (void *)&(c)->name, (void *)&(c)->display_name, \
                                (void *)&(c)->issuer, (void *)&(c)->client_id, (void *)(sealed),  \
                                (void *)&(c)->scopes, (void *)&(c)->auth_method},                 \
     conn_nums, (void *const[]){(void *)&(c)->created, (void *)&(c)->updated}}
/* clang-format on */

json_t *st_conn_encode(const orgs_conn_t *c, const char *sealed)
{
    const shape_t s = CONN_SHAPE(c, &sealed);
    json_t *j = jnew_shape(&s);
    /* appended: a record without the member (as written before it
     * existed, or with no hosts) decodes with none */
    if (j && c->endpoint_hosts && c->endpoint_hosts->nelts > 0 &&
        json_object_set_new(j, "endpoint_hosts", st_jstr_array(c->endpoint_hosts)) != 0) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

apr_status_t st_conn_decode(const json_t *j, orgs_conn_t **out, const char **sealed, apr_pool_t *p,
                            orgs_err_t *err)
{
    orgs_conn_t *c = apr_pcalloc(p, sizeof(*c));
    const shape_t s = CONN_SHAPE(c, sealed);
    jget_shape(j, &s, p);
    c->endpoint_hosts = st_jget_str_array(j, "endpoint_hosts", p);
    if (!c->id || !c->name || !c->endpoint_hosts) {
        return orgs_err_set(err, APR_EINVAL, "malformed connection record");
    }
    *out = c;
    return APR_SUCCESS;
}

static const char *const user_strs[] = {"id", "conn_id", "sub", "email", "name", NULL};
static const char *const user_nums[] = {"created", "last_login", NULL};
/* clang-format off */
#define USER_SHAPE(u)                                                                             \
    {user_strs, (void *const[]){(void *)&(u)->id, (void *)&(u)->conn_id, (void *)&(u)->sub,       \
                                (void *)&(u)->email, (void *)&(u)->name},                         \
     user_nums, (void *const[]){(void *)&(u)->created, (void *)&(u)->last_login}}
/* clang-format on */

apr_status_t st_user_decode_json(const json_t *j, orgs_user_t **out, apr_pool_t *p, orgs_err_t *err)
{
    orgs_user_t *u = apr_pcalloc(p, sizeof(*u));
    const shape_t s = USER_SHAPE(u);
    jget_shape(j, &s, p);
    if (!u->id || !u->conn_id) {
        return orgs_err_set(err, APR_EINVAL, "malformed user record");
    }
    *out = u;
    return APR_SUCCESS;
}

/* inviter, ticket_hash and any_email came later: older records lack them
 * (an invitation without a ticket hash cannot be followed). */
static const char *const invite_strs[] = {"id", "org_id", "email", "inviter", "ticket_hash", NULL};
static const char *const invite_nums[] = {"created", "expires", NULL};
/* clang-format off */
#define INVITE_SHAPE(i)                                                                           \
    {invite_strs, (void *const[]){(void *)&(i)->id, (void *)&(i)->org_id, (void *)&(i)->email,    \
                                  (void *)&(i)->inviter, (void *)&(i)->ticket_hash},              \
     invite_nums, (void *const[]){(void *)&(i)->created, (void *)&(i)->expires}}
/* clang-format on */

json_t *st_invite_encode(const orgs_invite_t *inv)
{
    const shape_t s = INVITE_SHAPE(inv);
    json_t *j = jnew_shape(&s), *r = st_jstr_array(inv->roles);
    if (!j || !r || json_object_set_new(j, "roles", r)) {
        json_decref(j);
        json_decref(r);
        return NULL;
    }
    if (inv->any_email && st_jset_int(j, "any_email", 1)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

apr_status_t st_invite_decode(const json_t *j, orgs_invite_t **out, apr_pool_t *p, orgs_err_t *err)
{
    orgs_invite_t *inv = apr_pcalloc(p, sizeof(*inv));
    const shape_t s = INVITE_SHAPE(inv);
    jget_shape(j, &s, p);
    inv->roles = st_jget_str_array(j, "roles", p);
    inv->any_email = st_jget_int(j, "any_email") != 0;
    if (!inv->id || !inv->org_id || !inv->email || !inv->roles) {
        return orgs_err_set(err, APR_EINVAL, "malformed invitation record");
    }
    *out = inv;
    return APR_SUCCESS;
}

/* The pending login's browser hash is kept in base64url. */
static const char *const pending_strs[] = {
    "state", "browser", "nonce", "code_verifier", "org_id", "conn_id", "return_to", "invite", NULL};
static const char *const pending_nums[] = {"created", NULL};
/* clang-format off */
#define PENDING_SHAPE(pl, browser)                                                                \
    {pending_strs, (void *const[]){(void *)&(pl)->state, (void *)(browser), (void *)&(pl)->nonce, \
                                   (void *)&(pl)->code_verifier, (void *)&(pl)->org_id,           \
                                   (void *)&(pl)->conn_id, (void *)&(pl)->return_to,              \
                                   (void *)&(pl)->invite},                                         \
     pending_nums, (void *const[]){(void *)&(pl)->created}}
/* clang-format on */

json_t *st_pending_encode(const orgs_pending_t *pl, apr_pool_t *p)
{
    const char *browser = orgs_crypto_b64url_encode(pl->browser, HASH_LEN, p);
    const shape_t s = PENDING_SHAPE(pl, &browser);
    return jnew_shape(&s);
}

apr_status_t st_pending_decode(const json_t *j, orgs_pending_t **out, apr_pool_t *p,
                               orgs_err_t *err)
{
    orgs_pending_t *pl = apr_pcalloc(p, sizeof(*pl));
    const char *browser;
    unsigned char *b = NULL;
    apr_size_t blen = 0;
    const shape_t s = PENDING_SHAPE(pl, &browser);
    jget_shape(j, &s, p);
    if (!browser || orgs_crypto_b64url_decode(browser, strlen(browser), &b, &blen, p) ||
        blen != HASH_LEN) {
        return orgs_err_set(err, ORGS_ESTORE, "corrupt pending login");
    }
    memcpy(pl->browser, b, HASH_LEN);
    *out = pl;
    return APR_SUCCESS;
}
