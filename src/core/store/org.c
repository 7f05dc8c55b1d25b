/* Organizations: the record, its name and domain indexes, lookups
 * (home realm discovery by domain) and the enablement of connections. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "store_int.h"

static apr_status_t org_write(orgs_store_t *st, MDB_txn *txn, const orgs_org_t *o, unsigned flags,
                              apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    st_bytes_t rec;
    apr_status_t rv = st_org_encode(o, &rec, p, err);
    st_capture_note(st, "org", o->id, o->name);
    if (rv == APR_SUCCESS) {
        rv = st_kv_put(txn, DB(st, ORGS), st_kb1(&k, o->id), rec.data, rec.size, flags, err,
                       "organization");
    }
    if (rv == APR_EEXIST) {
        orgs_err_set(err, rv, "organization id '%s' already exists", o->id);
    }
    return rv;
}

static apr_status_t org_index(orgs_store_t *st, MDB_txn *txn, const orgs_org_t *o, int add,
                              orgs_err_t *err)
{
    kbuf_t k;
    apr_status_t rv;
    st_kb1(&k, o->name);
    if (add) {
        rv = st_kv_put(txn, DB(st, ORG_NAMES), &k, o->id, ID_LEN, MDB_NOOVERWRITE, err, "name");
        if (rv == APR_EEXIST) {
            return orgs_err_set(err, rv, "organization name '%s' is taken", o->name);
        }
    } else {
        rv = st_kv_del(txn, DB(st, ORG_NAMES), &k, 0, err, "name");
    }
    for (int i = 0; rv == APR_SUCCESS && o->domains && i < o->domains->nelts; i++) {
        const char *d = APR_ARRAY_IDX(o->domains, i, const char *);
        st_kb1(&k, d);
        if (add) {
            rv = st_kv_put(txn, DB(st, DOMAINS), &k, o->id, ID_LEN, MDB_NOOVERWRITE, err, "domain");
            if (rv == APR_EEXIST) {
                return orgs_err_set(err, rv, "domain '%s' belongs to another organization", d);
            }
        } else {
            rv = st_kv_del(txn, DB(st, DOMAINS), &k, 0, err, "domain");
        }
    }
    return rv;
}

apr_status_t st_org_load(orgs_store_t *st, MDB_txn *txn, const char *id, orgs_org_t **out,
                         apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    MDB_val v;
    if (!orgs_check_id(id, "org_")) {
        return orgs_err_set(err, APR_NOTFOUND, "organization not found");
    }
    apr_status_t rv = st_kv_get(txn, DB(st, ORGS), st_kb1(&k, id), &v, err, "organization");
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = st_org_read(v.mv_data, v.mv_size, out, p, err);
    return rv == APR_SUCCESS ? rv : orgs_err_set(err, ORGS_ESTORE, "corrupt organization %s", id);
}

/* Name or id -> record. */
apr_status_t st_org_find(orgs_store_t *st, MDB_txn *txn, const char *ref, orgs_org_t **out,
                         apr_pool_t *p, orgs_err_t *err)
{
    if (!ref || !*ref) {
        return orgs_err_set(err, APR_EINVAL, "no organization given");
    }
    if (strncmp(ref, "org_", 4) == 0) {
        apr_status_t rv = st_org_load(st, txn, ref, out, p, err);
        return rv == APR_NOTFOUND ? orgs_err_set(err, rv, "organization '%s' not found", ref) : rv;
    }
    kbuf_t k;
    MDB_val v;
    apr_status_t rv = st_kv_get(txn, DB(st, ORG_NAMES), st_kb1(&k, ref), &v, err, "organization");
    if (rv == APR_NOTFOUND) {
        return orgs_err_set(err, rv, "organization '%s' not found", ref);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return st_org_load(st, txn, apr_pstrmemdup(p, v.mv_data, v.mv_size), out, p, err);
}

apr_status_t st_org_insert(orgs_store_t *st, MDB_txn *txn, orgs_org_t *o, apr_pool_t *p,
                           orgs_err_t *err)
{
    apr_status_t rv = orgs_check_org(o, p, err);
    if (rv == APR_SUCCESS) {
        rv = org_write(st, txn, o, MDB_NOOVERWRITE, p, err);
    }
    if (rv == APR_SUCCESS) {
        rv = org_index(st, txn, o, 1, err);
    }
    return rv;
}

static apr_status_t org_create(orgs_store_t *st, MDB_txn *txn, orgs_org_t *o, apr_pool_t *p,
                               orgs_err_t *err)
{
    apr_status_t rv = st_org_insert(st, txn, o, p, err);
    return rv == APR_SUCCESS
               ? st_audit_add(st, txn, "org.create", o->id, o->id, NULL, orgs_json_org(o), p, err)
               : rv;
}

apr_status_t orgs_store_org_create(orgs_store_t *st, orgs_org_t *org, apr_pool_t *p,
                                   orgs_err_t *err)
{
    char *id;
    apr_status_t rv;
    if ((rv = st_id_new("org_", &id, p, err)) != APR_SUCCESS) {
        return rv;
    }
    orgs_org_t o = *org;
    o.id = id;
    o.created = o.updated = apr_time_now();
    ST_WRITE_RV(rv, st, txn, err, org_create(st, txn, &o, p, err));
    if (rv == APR_SUCCESS) {
        *org = o;
    }
    return rv;
}

apr_status_t orgs_store_org_get(orgs_store_t *st, const char *ref, orgs_org_t **out, apr_pool_t *p,
                                orgs_err_t *err)
{
    ST_READ(st, txn, err, st_org_find(st, txn, ref, out, p, err));
}

static apr_status_t org_load_any(orgs_store_t *st, MDB_txn *txn, const char *id, void *out,
                                 apr_pool_t *p, orgs_err_t *err)
{
    return st_org_load(st, txn, id, out, p, err);
}

apr_status_t orgs_store_org_list(orgs_store_t *st, apr_array_header_t **out, apr_pool_t *p,
                                 orgs_err_t *err)
{
    ST_READ(st, txn, err,
            st_load_all(st, txn, DB(st, ORG_NAMES), NULL, -1, org_load_any, out, p, err));
}

/* One branding field: NULL keeps it, "" clears it, else the new value. */
static const char *brand_field(const char *now, const char *change)
{
    return !change ? now : *change ? change : NULL;
}

static apr_status_t org_update(orgs_store_t *st, MDB_txn *txn, const char *ref,
                               const char *display_name, const apr_array_header_t *set_meta,
                               const apr_array_header_t *unset_meta, const orgs_org_t *brand,
                               apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    apr_status_t rv = st_org_find(st, txn, ref, &o, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (display_name) {
        o->display_name = display_name;
    }
    if (brand) {
        o->logo_url = brand_field(o->logo_url, brand->logo_url);
        o->color_primary = brand_field(o->color_primary, brand->color_primary);
        o->color_page_background =
            brand_field(o->color_page_background, brand->color_page_background);
    }
    for (int i = 0; unset_meta && i < unset_meta->nelts; i++) {
        const char *key = APR_ARRAY_IDX(unset_meta, i, const char *);
        int j;
        for (j = 0; j < o->meta->nelts; j++) {
            if (strcmp(APR_ARRAY_IDX(o->meta, j, orgs_kv_t).key, key) == 0) {
                break;
            }
        }
        if (j == o->meta->nelts) {
            return orgs_err_set(err, APR_NOTFOUND, "no metadata key '%s'", key);
        }
        memmove(o->meta->elts + j * sizeof(orgs_kv_t), o->meta->elts + (j + 1) * sizeof(orgs_kv_t),
                (o->meta->nelts - j - 1) * sizeof(orgs_kv_t));
        o->meta->nelts--;
    }
    if (set_meta) {
        if (set_meta->elt_size != sizeof(orgs_kv_t)) {
            return orgs_err_set(err, APR_EINVAL, "metadata must be key/value pairs");
        }
        apr_array_cat(o->meta,
                      set_meta); /* in place; later pairs win in orgs_check_meta_normalize */
    }
    o->updated = apr_time_now();
    if ((rv = orgs_check_org(o, p, err)) == APR_SUCCESS) {
        rv = org_write(st, txn, o, 0, p, err);
    }
    return rv;
}

/* The update, with its audit record (what the API's patch calls too). */
apr_status_t st_org_update(orgs_store_t *st, MDB_txn *txn, const char *ref,
                           const char *display_name, const apr_array_header_t *set_meta,
                           const apr_array_header_t *unset_meta, const orgs_org_t *brand,
                           apr_pool_t *p, orgs_err_t *err)
{
    st_audit_snap_t a;
    st_audit_begin(st, txn, ST_AUDIT_ORG, ref, NULL, &a, p);
    return st_audit_end(st, txn, "org.update", &a,
                        org_update(st, txn, ref, display_name, set_meta, unset_meta, brand, p, err),
                        p, err);
}

apr_status_t orgs_store_org_update(orgs_store_t *st, const char *ref, const char *display_name,
                                   const apr_array_header_t *set_meta,
                                   const apr_array_header_t *unset_meta, apr_pool_t *p,
                                   orgs_err_t *err)
{
    ST_WRITE(st, txn, err,
             st_org_update(st, txn, ref, display_name, set_meta, unset_meta, NULL, p, err));
}

apr_status_t orgs_store_org_update_brand(orgs_store_t *st, const char *ref,
                                         const char *display_name,
                                         const apr_array_header_t *set_meta,
                                         const apr_array_header_t *unset_meta,
                                         const orgs_org_t *brand, apr_pool_t *p, orgs_err_t *err)
{
    ST_WRITE(st, txn, err,
             st_org_update(st, txn, ref, display_name, set_meta, unset_meta, brand, p, err));
}

static apr_status_t org_drop(orgs_store_t *st, MDB_txn *txn, const char *ref, apr_pool_t *p,
                             orgs_err_t *err)
{
    orgs_org_t *o;
    kbuf_t k;
    apr_array_header_t *list;
    apr_status_t rv = st_org_find(st, txn, ref, &o, p, err);
    if (rv == APR_SUCCESS) {
        st_capture_note(st, "org", o->id, o->name);
        rv = st_org_member_ids(st, txn, o->id, &list, p, err);
    }
    for (int i = 0; rv == APR_SUCCESS && i < list->nelts; i++) {
        const char *user_id = st_id_str(APR_ARRAY_IDX(list, i, const unsigned char *), "usr_", p);
        rv = user_id ? st_member_drop(st, txn, o->id, user_id, 0, p, err)
                     : orgs_err_set(err, ORGS_ESTORE, "corrupt membership index");
    }
    if (rv == APR_SUCCESS) {
        rv = st_sessions_drop(st, txn, st_kb1(&k, o->id), p, err);
    }
    if (rv == APR_SUCCESS) {
        rv = st_collect(txn, DB(st, ENABLE), st_kb1(&k, o->id), &list, p, err);
    }
    for (int i = 0; rv == APR_SUCCESS && i < list->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(list, i, blob_t);
        st_capture_note_enable(st, b->k, b->klen);
        rv = st_kv_del(txn, DB(st, ENABLE), st_kbraw(&k, b->k, b->klen), 0, err, "enablement");
    }
    if (rv == APR_SUCCESS) {
        rv = st_invites_drop_org(st, txn, o->id, p, err);
    }
    if (rv == APR_SUCCESS) {
        rv = st_stats_drop_org(st, txn, o->id, err);
    }
    if (rv == APR_SUCCESS) {
        rv = org_index(st, txn, o, 0, err);
    }
    if (rv == APR_SUCCESS) {
        rv = st_kv_del(txn, DB(st, ORGS), st_kb1(&k, o->id), 1, err, "organization");
    }
    return rv;
}

static apr_status_t org_drop_logged(orgs_store_t *st, MDB_txn *txn, const char *ref, apr_pool_t *p,
                                    orgs_err_t *err)
{
    st_audit_snap_t a;
    st_audit_begin(st, txn, ST_AUDIT_ORG, ref, NULL, &a, p);
    return st_audit_end(st, txn, "org.delete", &a, org_drop(st, txn, ref, p, err), p, err);
}

apr_status_t orgs_store_org_delete(orgs_store_t *st, const char *ref, apr_pool_t *p,
                                   orgs_err_t *err)
{
    ST_RELEASE(st, txn, err, org_drop_logged(st, txn, ref, p, err));
}

static apr_status_t org_domain(orgs_store_t *st, MDB_txn *txn, const char *ref, const char *domain,
                               int add, apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    char *dom;
    kbuf_t k;
    apr_status_t rv = orgs_parse_domain(domain, &dom, p, err);
    if (rv == APR_SUCCESS) {
        rv = st_org_find(st, txn, ref, &o, p, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    int has = st_array_has(o->domains, dom);
    if (add && has) {
        return orgs_err_set(err, APR_EEXIST, "'%s' already has domain '%s'", o->name, dom);
    }
    if (!add && !has) {
        return orgs_err_set(err, APR_NOTFOUND, "'%s' has no domain '%s'", o->name, dom);
    }
    if (add) {
        APR_ARRAY_PUSH(o->domains, const char *) = dom;
        rv = st_kv_put(txn, DB(st, DOMAINS), st_kb1(&k, dom), o->id, ID_LEN, MDB_NOOVERWRITE, err,
                       "domain");
        if (rv == APR_EEXIST) {
            return orgs_err_set(err, rv, "domain '%s' belongs to another organization", dom);
        }
    } else {
        apr_array_header_t *d = apr_array_make(p, o->domains->nelts, sizeof(const char *));
        for (int i = 0; i < o->domains->nelts; i++) {
            if (strcmp(APR_ARRAY_IDX(o->domains, i, const char *), dom) != 0) {
                APR_ARRAY_PUSH(d, const char *) = APR_ARRAY_IDX(o->domains, i, const char *);
            }
        }
        o->domains = d;
        rv = st_kv_del(txn, DB(st, DOMAINS), st_kb1(&k, dom), 0, err, "domain");
    }
    o->updated = apr_time_now();
    if (rv == APR_SUCCESS) {
        rv = orgs_check_org(o, p, err);
    }
    if (rv == APR_SUCCESS) {
        rv = org_write(st, txn, o, 0, p, err);
    }
    return rv;
}

static apr_status_t org_domain_logged(orgs_store_t *st, MDB_txn *txn, const char *ref,
                                      const char *domain, int add, apr_pool_t *p, orgs_err_t *err)
{
    st_audit_snap_t a;
    st_audit_begin(st, txn, ST_AUDIT_ORG, ref, NULL, &a, p);
    return st_audit_end(st, txn, add ? "org.domain.add" : "org.domain.remove", &a,
                        org_domain(st, txn, ref, domain, add, p, err), p, err);
}

apr_status_t orgs_store_org_add_domain(orgs_store_t *st, const char *ref, const char *domain,
                                       apr_pool_t *p, orgs_err_t *err)
{
    ST_WRITE(st, txn, err, org_domain_logged(st, txn, ref, domain, 1, p, err));
}

apr_status_t orgs_store_org_remove_domain(orgs_store_t *st, const char *ref, const char *domain,
                                          apr_pool_t *p, orgs_err_t *err)
{
    ST_RELEASE(st, txn, err, org_domain_logged(st, txn, ref, domain, 0, p, err));
}

static apr_status_t org_find_by_domain(orgs_store_t *st, MDB_txn *txn, const char *dom,
                                       orgs_org_t **out, apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    MDB_val v;
    apr_status_t rv = st_kv_get(txn, DB(st, DOMAINS), st_kb1(&k, dom), &v, err, "domain");
    if (rv == APR_NOTFOUND) {
        return orgs_err_set(err, rv, "no organization has domain '%s'", dom);
    }
    return rv == APR_SUCCESS
               ? st_org_load(st, txn, apr_pstrmemdup(p, v.mv_data, v.mv_size), out, p, err)
               : rv;
}

apr_status_t orgs_store_org_by_domain(orgs_store_t *st, const char *domain, orgs_org_t **out,
                                      apr_pool_t *p, orgs_err_t *err)
{
    char *dom;
    apr_status_t rv = orgs_parse_domain(domain, &dom, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    ST_READ(st, txn, err, org_find_by_domain(st, txn, dom, out, p, err));
}

apr_status_t st_enable_set(orgs_store_t *st, MDB_txn *txn, const char *org_ref,
                           const char *conn_ref, int enable, int auto_membership, apr_pool_t *p,
                           orgs_err_t *err)
{
    orgs_org_t *o;
    orgs_conn_t *c;
    kbuf_t k;
    apr_status_t rv = st_org_find(st, txn, org_ref, &o, p, err);
    if (rv == APR_SUCCESS) {
        rv = st_conn_find(st, txn, conn_ref, &c, NULL, p, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    st_kb2(&k, o->id, c->id);
    st_capture_note(st, "enable", o->id, c->id);
    if (enable) {
        return st_enable_set_cond(st, txn, o->id, c->id, auto_membership, NULL, p, err);
    }
    rv = st_kv_del(txn, DB(st, ENABLE), &k, 1, err, "enablement");
    if (rv == APR_NOTFOUND) {
        return orgs_err_set(err, rv, "'%s' is not enabled on '%s'", c->name, o->name);
    }
    return rv == APR_SUCCESS ? st_sessions_drop_conn(st, txn, o->id, c->id, p, err) : rv;
}

/* The record: the auto-membership flag (one byte), then the condition's
 * text when there is one. A build that knows only the one-byte record
 * reads a longer one as not enabled: it fails closed. */
apr_status_t st_enable_set_cond(orgs_store_t *st, MDB_txn *txn, const char *org_ref,
                                const char *conn_ref, int auto_membership, const char *require,
                                apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    orgs_conn_t *c;
    kbuf_t k;
    apr_size_t n = require ? strlen(require) : 0;
    char *rec;
    apr_status_t rv = require ? orgs_check_auto_condition(require, err) : APR_SUCCESS;
    if (rv == APR_SUCCESS && require && !auto_membership) {
        rv = orgs_err_set(err, APR_EINVAL, "a condition needs auto-membership");
    }
    if (rv == APR_SUCCESS) {
        rv = st_org_find(st, txn, org_ref, &o, p, err);
    }
    if (rv == APR_SUCCESS) {
        rv = st_conn_find(st, txn, conn_ref, &c, NULL, p, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    st_capture_note(st, "enable", o->id, c->id);
    rec = apr_palloc(p, n + 1);
    rec[0] = auto_membership ? 1 : 0;
    if (n) {
        memcpy(rec + 1, require, n);
    }
    return st_kv_put(txn, DB(st, ENABLE), st_kb2(&k, o->id, c->id), rec, n + 1, 0, err,
                     "enablement");
}

apr_status_t orgs_store_org_enable_conn_require(orgs_store_t *st, const char *org_ref,
                                                const char *conn_ref, int auto_membership,
                                                const char *require, apr_pool_t *p, orgs_err_t *err)
{
    st_audit_snap_t a;
    ST_WRITE(st, txn, err,
             (st_audit_begin(st, txn, ST_AUDIT_ENABLE, org_ref, conn_ref, &a, p),
              st_audit_end(
                  st, txn, "connection.enable", &a,
                  st_enable_set_cond(st, txn, org_ref, conn_ref, auto_membership, require, p, err),
                  p, err)));
}

apr_status_t orgs_store_org_enable_conn(orgs_store_t *st, const char *org_ref, const char *conn_ref,
                                        int auto_membership, apr_pool_t *p, orgs_err_t *err)
{
    st_audit_snap_t a;
    ST_WRITE(st, txn, err,
             (st_audit_begin(st, txn, ST_AUDIT_ENABLE, org_ref, conn_ref, &a, p),
              st_audit_end(st, txn, "connection.enable", &a,
                           st_enable_set(st, txn, org_ref, conn_ref, 1, auto_membership, p, err), p,
                           err)));
}

apr_status_t orgs_store_org_disable_conn(orgs_store_t *st, const char *org_ref,
                                         const char *conn_ref, apr_pool_t *p, orgs_err_t *err)
{
    st_audit_snap_t a;
    ST_RELEASE(st, txn, err,
               (st_audit_begin(st, txn, ST_AUDIT_ENABLE, org_ref, conn_ref, &a, p),
                st_audit_end(st, txn, "connection.disable", &a,
                             st_enable_set(st, txn, org_ref, conn_ref, 0, 0, p, err), p, err)));
}

static int cmp_enabled(const void *a, const void *b)
{
    return strcmp((*(orgs_enabled_conn_t *const *)a)->conn_name,
                  (*(orgs_enabled_conn_t *const *)b)->conn_name);
}

/* What a listing of an org's connections shows of one of them. */
static orgs_enabled_conn_t *enabled_new(const orgs_conn_t *c, int auto_membership,
                                        const char *require, apr_pool_t *p)
{
    orgs_enabled_conn_t *e = apr_pcalloc(p, sizeof(*e));
    e->conn_id = c->id;
    e->conn_name = c->name;
    e->conn_display_name = c->display_name;
    e->auto_membership = auto_membership;
    e->require = require;
    return e;
}

static apr_status_t org_conns_list(orgs_store_t *st, MDB_txn *txn, const char *org_ref,
                                   apr_array_header_t **out, apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    kbuf_t k;
    apr_array_header_t *list;
    apr_status_t rv = st_org_find(st, txn, org_ref, &o, p, err);
    if (rv == APR_SUCCESS) {
        rv = st_collect(txn, DB(st, ENABLE), st_kb1(&k, o->id), &list, p, err);
    }
    if (rv == APR_SUCCESS) {
        *out = apr_array_make(p, list->nelts + 1, sizeof(orgs_enabled_conn_t *));
    }
    for (int i = 0; rv == APR_SUCCESS && i < list->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(list, i, blob_t);
        orgs_conn_t *c;
        if (b->klen != 2 * ID_LEN || b->vlen < 1) {
            continue;
        }
        /* an org's few connections (its login page) through the memo;
         * a long list would only churn it */
        rv = list->nelts <= ORGS_CONN_MEMO_LIST_MAX
                 ? st_conn_read(st, txn, b->k + ID_LEN, &c, NULL, p, err)
                 : st_conn_load(st, txn, b->k + ID_LEN, &c, NULL, p, err);
        if (rv == APR_SUCCESS) {
            APR_ARRAY_PUSH(*out, orgs_enabled_conn_t *) = enabled_new(
                c, b->v[0] != 0, b->vlen > 1 ? apr_pstrmemdup(p, b->v + 1, b->vlen - 1) : NULL, p);
        }
    }
    if (rv == APR_SUCCESS) {
        qsort((*out)->elts, (*out)->nelts, sizeof(orgs_enabled_conn_t *), cmp_enabled);
    }
    return rv;
}

apr_status_t orgs_store_org_conns(orgs_store_t *st, const char *org_ref, apr_array_header_t **out,
                                  apr_pool_t *p, orgs_err_t *err)
{
    ST_READ(st, txn, err, org_conns_list(st, txn, org_ref, out, p, err));
}

apr_status_t st_enable_load_cond(orgs_store_t *st, MDB_txn *txn, const char *org_id,
                                 const char *conn_id, int *auto_membership, const char **require,
                                 apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    MDB_val v;
    apr_status_t rv =
        st_kv_get(txn, DB(st, ENABLE), st_kb2(&k, org_id, conn_id), &v, err, "enablement");
    if (require) {
        *require = NULL;
    }
    if (rv == APR_NOTFOUND) {
        return orgs_err_set(err, rv, "connection not enabled on the organization");
    }
    *auto_membership = rv == APR_SUCCESS && v.mv_size >= 1 && ((const char *)v.mv_data)[0] != 0;
    if (rv == APR_SUCCESS && v.mv_size > 1) {
        if (!require) {
            /* a caller that cannot honour a condition must not auto-admit */
            *auto_membership = 0;
        } else {
            *require = apr_pstrmemdup(p, (const char *)v.mv_data + 1, v.mv_size - 1);
        }
    }
    return rv;
}

apr_status_t st_enable_load(orgs_store_t *st, MDB_txn *txn, const char *org_id, const char *conn_id,
                            int *auto_membership, orgs_err_t *err)
{
    return st_enable_load_cond(st, txn, org_id, conn_id, auto_membership, NULL, NULL, err);
}

static apr_status_t org_conn_load(orgs_store_t *st, MDB_txn *txn, const char *org_id,
                                  const char *conn_id, orgs_enabled_conn_t **out, apr_pool_t *p,
                                  orgs_err_t *err)
{
    orgs_conn_t *c;
    int flag;
    const char *require;
    apr_status_t rv = st_enable_load_cond(st, txn, org_id, conn_id, &flag, &require, p, err);
    if (rv == APR_SUCCESS) {
        rv = st_conn_read(st, txn, conn_id, &c, NULL, p, err);
    }
    if (rv == APR_SUCCESS) {
        *out = enabled_new(c, flag, require, p);
    }
    return rv;
}

apr_status_t orgs_store_org_conn_get(orgs_store_t *st, const char *org_id, const char *conn_id,
                                     orgs_enabled_conn_t **out, apr_pool_t *p, orgs_err_t *err)
{
    if (!orgs_check_id(org_id, "org_") || !orgs_check_id(conn_id, "con_")) {
        return orgs_err_set(err, APR_NOTFOUND, "connection not enabled");
    }
    ST_READ(st, txn, err, org_conn_load(st, txn, org_id, conn_id, out, p, err));
}

/* For the replica (replica.c): an org rewritten as another copy has it,
 * its name and domain indexes moved with it; and its drop with cascade. */
apr_status_t st_org_rewrite(orgs_store_t *st, MDB_txn *txn, const orgs_org_t *old,
                            const orgs_org_t *o, apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv = org_index(st, txn, old, 0, err);
    if (rv == APR_SUCCESS) {
        rv = org_write(st, txn, o, 0, p, err);
    }
    return rv == APR_SUCCESS ? org_index(st, txn, o, 1, err) : rv;
}

apr_status_t st_org_drop(orgs_store_t *st, MDB_txn *txn, const char *id, apr_pool_t *p,
                         orgs_err_t *err)
{
    return org_drop(st, txn, id, p, err);
}
