/* Change sets between two exports, and the SQL row of an export line
 * (pgstore.h). Pure: no LMDB, no libpq, so it is unit-tested alone. */
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "pgstore.h"

/* Parents first: the order puts apply in (deletes the other way). */
static const char *const types[] = {"org", "conn", "enable", "user", "member", "invite", "session"};
#define NTYPES ((int)(sizeof(types) / sizeof(types[0])))

int orgs_change_type_rank(const char *type)
{
    for (int i = 0; type && i < NTYPES; i++) {
        if (strcmp(types[i], type) == 0) {
            return i;
        }
    }
    return -1;
}

static const char *jstr(const json_t *j, const char *name, apr_pool_t *p)
{
    const char *s = json_string_value(json_object_get(j, name));
    return s ? apr_pstrdup(p, s) : NULL;
}

apr_status_t orgs_pg_row_of(const json_t *line, orgs_pg_row_t *row, apr_pool_t *p, orgs_err_t *err)
{
    const char *type = json_string_value(json_object_get(line, "type"));
    memset(row, 0, sizeof(*row));
    int rank = orgs_change_type_rank(type);
    if (rank < 0) {
        return orgs_err_set(err, APR_EINVAL, "unknown type '%s'", type ? type : "(none)");
    }
    row->type = types[rank];
    static const struct {
        const char *table;
        int nkeys;
        const char *cols[ORGS_PG_ROW_MAX - 1];
    } map[] = {
        {"orgs", 1, {"id", "name"}},
        {"conns", 1, {"id", "name"}},
        {"enabled_conns", 2, {"org_id", "connection_id"}},
        {"users", 1, {"id", "connection_id", "sub", "email"}},
        {"members", 2, {"org_id", "user_id"}},
        {"invites", 1, {"id", "org_id"}},
        {"sessions", 1, {"sid_hash", "org_id", "user_id", "expires"}},
    };
    row->table = map[rank].table;
    row->nkeys = map[rank].nkeys;
    for (int i = 0; i < ORGS_PG_ROW_MAX - 1 && map[rank].cols[i]; i++) {
        const char *col = map[rank].cols[i];
        row->cols[row->ncols] = strcmp(col, "connection_id") == 0 ? "conn_id" : col;
        row->vals[row->ncols] = jstr(line, col, p);
        if (!row->vals[row->ncols] &&
            (i < row->nkeys ||
             (rank != 6 && (strcmp(col, "name") == 0 || strcmp(col, "connection_id") == 0 ||
                            strcmp(col, "org_id") == 0)))) {
            /* a session's other columns are NOT NULL in SQL; its delete
             * line carries its key alone */
            return orgs_err_set(err, APR_EINVAL, "%s: no %s", row->type, col);
        }
        row->ncols++;
    }
    char *doc = json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS);
    if (!doc) {
        return orgs_err_set(err, APR_ENOMEM, "%s: cannot encode", row->type);
    }
    row->cols[row->ncols] = "doc";
    row->vals[row->ncols++] = apr_pstrdup(p, doc);
    free(doc);
    if (rank == 0) {
        const json_t *d = json_object_get(line, "domains");
        row->domains = apr_array_make(p, 4, sizeof(const char *));
        for (size_t i = 0; json_is_array(d) && i < json_array_size(d); i++) {
            const char *s = json_string_value(json_array_get(d, i));
            if (!s) {
                return orgs_err_set(err, APR_EINVAL, "org: a domain is not a string");
            }
            APR_ARRAY_PUSH(row->domains, const char *) = apr_pstrdup(p, s);
        }
    }
    return APR_SUCCESS;
}

const char *orgs_pg_sql_upsert(const orgs_pg_row_t *row, apr_pool_t *p)
{
    const char *cols = "", *params = "", *keys = "", *set = "";
    for (int i = 0; i < row->ncols; i++) {
        const char *sep = i ? ", " : "";
        cols = apr_pstrcat(p, cols, sep, row->cols[i], NULL);
        params = apr_psprintf(p, "%s%s$%d", params, sep, i + 1);
        if (i < row->nkeys) {
            keys = apr_pstrcat(p, keys, sep, row->cols[i], NULL);
        } else {
            set = apr_pstrcat(p, set, *set ? ", " : "", row->cols[i], " = EXCLUDED.", row->cols[i],
                              NULL);
        }
    }
    /* doc is a value column: set is never empty */
    return apr_psprintf(p, "INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO UPDATE SET %s",
                        row->table, cols, params, keys, set);
}

const char *orgs_pg_sql_delete(const orgs_pg_row_t *row, apr_pool_t *p)
{
    const char *where = "";
    for (int i = 0; i < row->nkeys; i++) {
        where = apr_psprintf(p, "%s%s%s = $%d", where, i ? " AND " : "", row->cols[i], i + 1);
    }
    return apr_psprintf(p, "DELETE FROM %s WHERE %s", row->table, where);
}

/* ---- the diff ---------------------------------------------------------- */

typedef struct {
    const char *key;  /* type + its keys */
    const char *text; /* the line, canonical (sorted keys) */
    int rank;
} line_t;

/* Every line of fp but the format line, by key. */
static apr_status_t read_lines(FILE *fp, apr_hash_t *h, apr_pool_t *p, orgs_err_t *err)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    apr_status_t rv = APR_SUCCESS;
    while (rv == APR_SUCCESS && (n = getline(&buf, &cap, fp)) >= 0) {
        json_t *j = n > 1 ? json_loadb(buf, (size_t)n, 0, NULL) : NULL;
        const char *type = json_string_value(json_object_get(j, "type"));
        orgs_pg_row_t row;
        if (n <= 1) {
            continue;
        }
        if (type && strcmp(type, "format") == 0) {
            json_decref(j);
            continue;
        }
        if (!j || (rv = orgs_pg_row_of(j, &row, p, err)) != APR_SUCCESS) {
            json_decref(j);
            rv = j ? rv : orgs_err_set(err, APR_EINVAL, "an export line is not JSON");
            break;
        }
        line_t *l = apr_pcalloc(p, sizeof(*l));
        l->rank = orgs_change_type_rank(row.type);
        l->key = apr_pstrcat(p, row.type, ":", row.vals[0], row.nkeys > 1 ? ":" : "",
                             row.nkeys > 1 ? row.vals[1] : "", NULL);
        l->text = row.vals[row.ncols - 1]; /* doc: the canonical line */
        apr_hash_set(h, l->key, APR_HASH_KEY_STRING, l);
        json_decref(j);
    }
    free(buf);
    return rv;
}

static int cmp_line(const void *a, const void *b)
{
    const line_t *x = *(line_t *const *)a, *y = *(line_t *const *)b;
    return x->rank != y->rank ? x->rank - y->rank : strcmp(x->key, y->key);
}

/* The lines of h the other hash lacks (or has different when diff). */
static apr_status_t collect(apr_hash_t *h, apr_hash_t *other, int diff, json_t *out, apr_pool_t *p,
                            orgs_err_t *err)
{
    apr_array_header_t *list = apr_array_make(p, 16, sizeof(line_t *));
    for (apr_hash_index_t *hi = apr_hash_first(p, h); hi; hi = apr_hash_next(hi)) {
        line_t *l = apr_hash_this_val(hi);
        const line_t *o = apr_hash_get(other, l->key, APR_HASH_KEY_STRING);
        if (!o || (diff && strcmp(o->text, l->text) != 0)) {
            APR_ARRAY_PUSH(list, line_t *) = l;
        }
    }
    qsort(list->elts, (size_t)list->nelts, sizeof(line_t *), cmp_line);
    for (int i = 0; i < list->nelts; i++) {
        json_t *j = json_loads(APR_ARRAY_IDX(list, i, line_t *)->text, 0, NULL);
        if (!j || json_array_append_new(out, j)) {
            return orgs_err_set(err, APR_ENOMEM, "cannot build the change set");
        }
    }
    return APR_SUCCESS;
}

apr_status_t orgs_change_diff(FILE *before, FILE *after, char **change, apr_size_t *n,
                              apr_pool_t *p, orgs_err_t *err)
{
    apr_hash_t *b = apr_hash_make(p), *a = apr_hash_make(p);
    json_t *put = json_array(), *del = json_array(), *set = json_object();
    apr_status_t rv = put && del && set ? APR_SUCCESS : orgs_err_set(err, APR_ENOMEM, "no memory");
    *change = NULL;
    *n = 0;
    if (rv == APR_SUCCESS && (rv = read_lines(before, b, p, err)) == APR_SUCCESS &&
        (rv = read_lines(after, a, p, err)) == APR_SUCCESS &&
        (rv = collect(a, b, 1, put, p, err)) == APR_SUCCESS) {
        rv = collect(b, a, 0, del, p, err);
    }
    *n = rv == APR_SUCCESS ? json_array_size(put) + json_array_size(del) : 0;
    if (*n > 0) {
        json_object_set(set, "put", put);
        json_object_set(set, "del", del);
        char *s = json_dumps(set, JSON_COMPACT);
        *change = s ? apr_pstrdup(p, s) : NULL;
        free(s);
        rv = *change ? APR_SUCCESS : orgs_err_set(err, APR_ENOMEM, "no memory");
    }
    json_decref(put);
    json_decref(del);
    json_decref(set);
    return rv;
}
