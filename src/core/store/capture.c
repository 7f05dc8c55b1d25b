/* Capture mode: a write run on the node's replica to learn what it would
 * change, as a change set (pgstore.h), then rolled back. The writers of
 * users, memberships, invitations and sessions note what they touch
 * (st_capture_note); the change set holds each touched object as the
 * transaction leaves it (put) or its keys when it is gone (del). The node
 * then commits the change set to the database and applies it to its
 * replica (orgs_store_change_apply_local), so a writer with the store's
 * rules and indexes needs no second implementation in SQL. Also the
 * session's change-set line, which replica.c and pg_session.c share. */
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>

#include "crypto.h"
#include "json.h"
#include "pgstore.h"
#include "signin.h"
#include "store_int.h"

typedef struct {
    int rank; /* orgs_change_type_rank */
    int order;
    const char *type, *a, *b;
} cap_key_t;

struct st_capture_t {
    apr_pool_t *p;
    apr_hash_t *seen;
    apr_array_header_t *keys;  /* cap_key_t */
    apr_array_header_t *audit; /* const char *: the audit records' texts */
    int pending_taken;         /* a sign-in computed again: its login consumed already */
    json_t *count;             /* the usage counted meanwhile ("count"), or NULL */
    json_t *new_user;          /* a new user in its connection's minute ("new_user"), or NULL */
};

int st_capture_pending_taken(const orgs_store_t *st)
{
    return st->capture && st->capture->pending_taken;
}

void st_capture_note(orgs_store_t *st, const char *type, const char *a, const char *b)
{
    st_capture_t *c = st->capture;
    if (!c || !a) {
        return;
    }
    /* an org or a connection is one object whatever name it is noted with */
    int by_id = strcmp(type, "org") == 0 || strcmp(type, "conn") == 0;
    const char *key = apr_pstrcat(c->p, type, ":", a, ":", b && !by_id ? b : "", NULL);
    if (apr_hash_get(c->seen, key, APR_HASH_KEY_STRING)) {
        return;
    }
    apr_hash_set(c->seen, key, APR_HASH_KEY_STRING, key);
    cap_key_t *k = apr_array_push(c->keys);
    k->rank = orgs_change_type_rank(type);
    k->order = c->keys->nelts;
    k->type = type;
    k->a = apr_pstrdup(c->p, a);
    k->b = b ? apr_pstrdup(c->p, b) : NULL;
}

/* A counter is not an object: the capture keeps the increment, which the
 * database adds to its row (pg_count.c). One entry per org and day. */
void st_capture_count(orgs_store_t *st, const char *org_id, apr_int64_t day, int kind)
{
    static const char *const names[ORGS_STATS_KINDS] = {"signins", "denials", "joins"};
    st_capture_t *c = st->capture;
    json_t *e = NULL;
    if (!c || kind < 0 || kind >= ORGS_STATS_KINDS) {
        return;
    }
    if (!c->count) {
        c->count = json_array();
    }
    for (size_t i = 0; !e && i < json_array_size(c->count); i++) {
        json_t *x = json_array_get(c->count, i);
        if (json_integer_value(json_object_get(x, "day")) == day &&
            strcmp(json_string_value(json_object_get(x, "org_id")), org_id) == 0) {
            e = x;
        }
    }
    if (!e) {
        e = json_pack("{s:s, s:I}", "org_id", org_id, "day", (json_int_t)day);
        json_array_append_new(c->count, e);
    }
    json_int_t n = json_integer_value(json_object_get(e, names[kind]));
    json_object_set_new(e, names[kind], json_integer(n + 1));
}

void st_capture_new_user(orgs_store_t *st, const char *conn_id, apr_time_t at, apr_size_t limit)
{
    st_capture_t *c = st->capture;
    if (c) {
        json_decref(c->new_user);
        c->new_user = json_pack("{s:s, s:I, s:I}", "connection_id", conn_id, "at", (json_int_t)at,
                                "limit", (json_int_t)limit);
    }
}

static void capture_counts_free(st_capture_t *c)
{
    json_decref(c->count);
    json_decref(c->new_user);
    c->count = c->new_user = NULL;
}

static const char *hex_of(const unsigned char *h, apr_pool_t *p)
{
    static const char digits[] = "0123456789abcdef";
    char *s = apr_palloc(p, 2 * HASH_LEN + 1);
    for (int i = 0; i < HASH_LEN; i++) {
        s[2 * i] = digits[h[i] >> 4];
        s[2 * i + 1] = digits[h[i] & 15];
    }
    s[2 * HASH_LEN] = '\0';
    return s;
}

static int unhex(const char *s, unsigned char *h)
{
    if (!s || strlen(s) != 2 * HASH_LEN) {
        return 0;
    }
    for (int i = 0; i < 2 * HASH_LEN; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0) {
            return 0;
        }
        h[i / 2] = (unsigned char)(i % 2 ? (h[i / 2] << 4) | v : v);
    }
    return 1;
}

void st_capture_note_enable(orgs_store_t *st, const char *key, apr_size_t len)
{
    st_capture_t *c = st->capture;
    if (c && len == 2 * ID_LEN) {
        st_capture_note(st, "enable", apr_pstrmemdup(c->p, key, ID_LEN),
                        apr_pstrmemdup(c->p, key + ID_LEN, ID_LEN));
    }
}

void st_capture_audit(orgs_store_t *st, const char *text)
{
    st_capture_t *c = st->capture;
    if (c && c->audit) {
        APR_ARRAY_PUSH(c->audit, const char *) = apr_pstrdup(c->p, text);
    }
}

void st_capture_note_session(orgs_store_t *st, const unsigned char *hash)
{
    if (st->capture) {
        st_capture_note(st, "session", hex_of(hash, st->capture->p), NULL);
    }
}

/* ---- the session line --------------------------------------------------- */

json_t *st_session_line(const unsigned char *hash, const orgs_session_t *s, const char *hint)
{
    apr_pool_t *p;
    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return NULL;
    }
    json_t *j = json_pack("{s:s, s:s}", "type", "session", "sid_hash", hex_of(hash, p));
    apr_pool_destroy(p);
    if (!j || !s) {
        return j;
    }
    json_t *ex = json_array();
    for (int i = 0; ex && s->exports && i < s->exports->nelts; i++) {
        const orgs_export_t *e = &APR_ARRAY_IDX(s->exports, i, orgs_export_t);
        json_t *o = json_object();
        json_object_set_new(o, "env", e->env ? json_string(e->env) : json_null());
        json_object_set_new(o, "header", e->header ? json_string(e->header) : json_null());
        json_object_set_new(o, "value", e->value ? json_string(e->value) : json_null());
        json_array_append_new(ex, o);
    }
    int bad = json_object_set_new(j, "org_id", json_string(s->org_id)) ||
              json_object_set_new(j, "user_id", json_string(s->user_id)) ||
              json_object_set_new(j, "connection_id", json_string(s->conn_id)) ||
              json_object_set_new(j, "created", orgs_json_time(s->created)) ||
              json_object_set_new(j, "last_seen", orgs_json_time(s->last_seen)) ||
              json_object_set_new(j, "expires", orgs_json_time(s->expires)) ||
              json_object_set_new(j, "exports", ex) ||
              (hint && json_object_set_new(j, "id_token_hint", json_string(hint)));
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static apr_status_t session_from_line(const json_t *j, unsigned char *hash, orgs_session_t *s,
                                      apr_pool_t *p, orgs_err_t *err)
{
    const json_t *ex = json_object_get(j, "exports");
    memset(s, 0, sizeof(*s));
    s->org_id = st_jget_str(j, "org_id", p);
    s->user_id = st_jget_str(j, "user_id", p);
    s->conn_id = st_jget_str(j, "connection_id", p);
    s->id_token_hint = st_jget_str(j, "id_token_hint", p);
    if (!unhex(json_string_value(json_object_get(j, "sid_hash")), hash) ||
        !orgs_check_id(s->org_id, "org_") || !orgs_check_id(s->user_id, "usr_") ||
        !orgs_check_id(s->conn_id, "con_") ||
        orgs_json_time_from(json_object_get(j, "created"), &s->created) != APR_SUCCESS ||
        orgs_json_time_from(json_object_get(j, "last_seen"), &s->last_seen) != APR_SUCCESS ||
        orgs_json_time_from(json_object_get(j, "expires"), &s->expires) != APR_SUCCESS ||
        (ex && !json_is_array(ex))) {
        return orgs_err_set(err, APR_EINVAL, "bad session line");
    }
    apr_array_header_t *list =
        apr_array_make(p, (int)json_array_size(ex) + 1, sizeof(orgs_export_t));
    for (size_t i = 0; i < json_array_size(ex); i++) {
        const json_t *o = json_array_get(ex, i);
        orgs_export_t *e = apr_array_push(list);
        e->env = st_jget_str(o, "env", p);
        e->header = st_jget_str(o, "header", p);
        e->value = st_jget_str(o, "value", p);
        if (!json_is_object(o) || !e->value) {
            return orgs_err_set(err, APR_EINVAL, "bad session line");
        }
    }
    s->exports = list->nelts ? list : NULL;
    return APR_SUCCESS;
}

apr_status_t st_session_line_put(orgs_store_t *st, MDB_txn *txn, const json_t *j, apr_pool_t *p,
                                 orgs_err_t *err)
{
    unsigned char hash[HASH_LEN];
    orgs_session_t s;
    apr_status_t rv = session_from_line(j, hash, &s, p, err);
    if (rv == APR_SUCCESS) {
        rv = st_session_put(st, txn, hash, &s, p, err);
    }
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

apr_status_t st_session_line_del(orgs_store_t *st, MDB_txn *txn, const json_t *j, apr_pool_t *p,
                                 orgs_err_t *err)
{
    unsigned char hash[HASH_LEN];
    if (!unhex(json_string_value(json_object_get(j, "sid_hash")), hash)) {
        return orgs_err_set(err, APR_EINVAL, "bad session line");
    }
    apr_status_t rv = st_session_erase_hash(st, txn, hash, p, err);
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

/* ---- the change set of a capture -------------------------------------- */

static json_t *with_type(json_t *j, const char *type)
{
    if (j && json_object_set_new(j, "type", json_string(type))) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* An org, a connection or an enablement as now (put, in the export's
 * shape: the connection's secret sealed) or its keys (del). */
static apr_status_t admin_line(orgs_store_t *st, MDB_txn *txn, const cap_key_t *k, json_t **j,
                               apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv;
    *j = NULL;
    if (strcmp(k->type, "org") == 0) {
        orgs_org_t *o;
        if ((rv = st_org_load(st, txn, k->a, &o, p, err)) == APR_SUCCESS) {
            *j = orgs_json_org(o);
        } else if (rv == APR_NOTFOUND) {
            *j = json_pack("{s:s, s:s}", "id", k->a, "name", k->b ? k->b : "");
        }
        return rv;
    }
    if (strcmp(k->type, "conn") == 0) {
        orgs_conn_t *c;
        const char *sealed = NULL;
        if ((rv = st_conn_load(st, txn, k->a, &c, &sealed, p, err)) == APR_SUCCESS) {
            *j = orgs_json_conn(c);
            if (*j && sealed && json_object_set_new(*j, "sealed_secret", json_string(sealed))) {
                json_decref(*j);
                *j = NULL;
            }
        } else if (rv == APR_NOTFOUND) {
            *j = json_pack("{s:s, s:s}", "id", k->a, "name", k->b ? k->b : "");
        }
        return rv;
    }
    int autom = 0;
    const char *require = NULL;
    orgs_conn_t *c = NULL;
    rv = st_enable_load_cond(st, txn, k->a, k->b, &autom, &require, p, err);
    if (rv == APR_SUCCESS) {
        rv = st_conn_load(st, txn, k->b, &c, NULL, p, err);
    }
    if (rv == APR_SUCCESS) {
        orgs_enabled_conn_t e = {c->id, c->name, c->display_name, autom, require};
        *j = orgs_json_enabled_conn(&e);
        if (*j && json_object_set_new(*j, "org_id", json_string(k->a))) {
            json_decref(*j);
            *j = NULL;
        }
    } else if (rv == APR_NOTFOUND) {
        *j = json_pack("{s:s, s:s}", "org_id", k->a, "connection_id", k->b);
    }
    return rv;
}

/* The line of one touched object: put (as it is now) or del (its keys). */
static apr_status_t capture_line(orgs_store_t *st, MDB_txn *txn, const cap_key_t *k, json_t **line,
                                 int *del, apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv;
    json_t *j = NULL;
    *del = 0;
    if (orgs_change_type_rank(k->type) <= orgs_change_type_rank("enable")) {
        rv = admin_line(st, txn, k, &j, p, err);
    } else if (strcmp(k->type, "user") == 0) {
        orgs_user_t *u;
        if ((rv = st_user_load(st, txn, k->a, &u, p, err)) == APR_SUCCESS) {
            j = orgs_json_user(u);
        } else if (rv == APR_NOTFOUND) {
            j = json_pack("{s:s, s:s?}", "id", k->a, "connection_id", k->b);
        }
    } else if (strcmp(k->type, "member") == 0) {
        orgs_member_t *m;
        if ((rv = st_member_load(st, txn, k->a, k->b, &m, p, err)) == APR_SUCCESS) {
            j = orgs_json_member(m);
        } else if (rv == APR_NOTFOUND) {
            j = json_pack("{s:s, s:s}", "org_id", k->a, "user_id", k->b);
        }
    } else if (strcmp(k->type, "invite") == 0) {
        orgs_invite_t *inv;
        if ((rv = st_invite_load(st, txn, k->a, &inv, p, err)) == APR_SUCCESS) {
            j = orgs_json_invite(inv);
            if (j && inv->ticket_hash) {
                json_object_set_new(j, "ticket_hash", json_string(inv->ticket_hash));
            }
        } else if (rv == APR_NOTFOUND) {
            j = json_pack("{s:s, s:s?}", "id", k->a, "org_id", k->b);
        }
    } else {
        unsigned char hash[HASH_LEN];
        orgs_session_t *s = NULL;
        const char *hint = NULL;
        MDB_val v;
        kbuf_t kb;
        if (!unhex(k->a, hash)) {
            return orgs_err_set(err, APR_EINVAL, "bad session key");
        }
        srec_t r;
        rv = st_kv_get(txn, DB(st, SESSIONS), st_kbraw(&kb, hash, HASH_LEN), &v, err, "session");
        if (rv == APR_SUCCESS) {
            s = apr_palloc(p, sizeof(*s));
            if (!st_srec_open(v.mv_data, v.mv_size, &r) || !st_srec_session(&r, s, p)) {
                return orgs_err_set(err, ORGS_ESTORE, "corrupt session record");
            }
            s->exports = st_srec_exports(&r, p); /* not in the plain decode */
        }
        if (rv == APR_SUCCESS && st->has_session_hints &&
            st_kv_get(txn, DB(st, SESSION_HINTS), st_kbraw(&kb, hash, HASH_LEN), &v, NULL, "") ==
                APR_SUCCESS) {
            hint = apr_pstrmemdup(p, v.mv_data, v.mv_size);
        }
        if (rv == APR_SUCCESS || rv == APR_NOTFOUND) {
            j = st_session_line(hash, rv == APR_SUCCESS ? s : NULL, hint);
            *line = j;
            *del = rv == APR_NOTFOUND;
            return j ? APR_SUCCESS : orgs_err_set(err, APR_ENOMEM, "cannot encode a session");
        }
    }
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        return rv;
    }
    *del = rv == APR_NOTFOUND;
    *line = with_type(j, k->type);
    return *line ? APR_SUCCESS : orgs_err_set(err, APR_ENOMEM, "cannot encode a %s", k->type);
}

static int cmp_key(const void *x, const void *y)
{
    const cap_key_t *a = x, *b = y;
    return a->rank != b->rank ? a->rank - b->rank : a->order - b->order;
}

/* The change set of what the capture noted, read inside txn; NULL when
 * nothing was touched. Its "base" is the replica's position the capture
 * ran on (st_replica_seq): the database takes the change set only when no
 * change after that position was written meanwhile (orgs_pg_change_write),
 * so nothing computed on a replica that is behind overwrites a newer row. */
static apr_status_t capture_build(orgs_store_t *st, MDB_txn *txn, st_capture_t *c, char **change,
                                  apr_pool_t *p, orgs_err_t *err)
{
    apr_int64_t base;
    apr_status_t rv = st_replica_seq(st, txn, &base, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    json_t *put = json_array(), *del = json_array();
    *change = NULL;
    qsort(c->keys->elts, (size_t)c->keys->nelts, sizeof(cap_key_t), cmp_key);
    for (int i = 0; rv == APR_SUCCESS && i < c->keys->nelts; i++) {
        json_t *line = NULL;
        int gone;
        rv = capture_line(st, txn, &APR_ARRAY_IDX(c->keys, i, cap_key_t), &line, &gone, p, err);
        if (rv == APR_SUCCESS) {
            json_array_append_new(gone ? del : put, line);
        }
    }
    if (rv == APR_SUCCESS &&
        (json_array_size(put) + json_array_size(del) > 0 || c->count || c->new_user)) {
        json_t *set =
            json_pack("{s:O, s:O, s:I}", "put", put, "del", del, "base", (json_int_t)base);
        if (set && c->count) {
            json_object_set(set, "count", c->count);
        }
        if (set && c->new_user) {
            json_object_set(set, "new_user", c->new_user);
        }
        char *s = set ? json_dumps(set, JSON_COMPACT) : NULL;
        *change = s ? apr_pstrdup(p, s) : NULL;
        free(s);
        json_decref(set);
        rv = *change ? APR_SUCCESS : orgs_err_set(err, APR_ENOMEM, "cannot build the change set");
    }
    json_decref(put);
    json_decref(del);
    return rv;
}

/* ---- the sign-in in capture mode ---------------------------------------- */

static apr_status_t signin_capture(orgs_store_t *st, orgs_signin_t *in, orgs_user_t **user,
                                   int *admitted, char **change, int again, apr_pool_t *p,
                                   orgs_err_t *err)
{
    MDB_txn *txn;
    st_capture_t cap = {p,
                        apr_hash_make(p),
                        apr_array_make(p, 8, sizeof(cap_key_t)),
                        apr_array_make(p, 2, sizeof(const char *)),
                        again,
                        NULL,
                        NULL};
    apr_status_t rv = st_run_begin(st, ST_MODE_WRITE, &txn, err);
    *user = NULL;
    *change = NULL;
    in->over_quota = ORGS_QUOTA_NONE;
    in->invite_refused = ORGS_INVITE_OK;
    in->invite_id = NULL;
    in->audit = NULL;
    if (rv != APR_SUCCESS) {
        return rv;
    }
    st->capture = &cap;
    rv = st_signin_body(st, txn, in, user, admitted, p, err);
    st->capture = NULL;
    if (rv == APR_SUCCESS) {
        rv = capture_build(st, txn, &cap, change, p, err);
        in->audit = cap.audit->nelts ? cap.audit : NULL;
    }
    /* never committed here: the database first, then the replica */
    apr_status_t end =
        st_run_end(st, ST_MODE_WRITE, txn, rv == APR_SUCCESS ? APR_EINCOMPLETE : rv, NULL);
    (void)end;
    capture_counts_free(&cap);
    if (rv != APR_SUCCESS) {
        *user = NULL;
        *change = NULL;
    }
    return rv;
}

apr_status_t orgs_store_signin_capture(orgs_store_t *st, orgs_signin_t *in, orgs_user_t **user,
                                       int *admitted, char **change, apr_pool_t *p, orgs_err_t *err)
{
    return signin_capture(st, in, user, admitted, change, 0, p, err);
}

apr_status_t orgs_store_signin_recapture(orgs_store_t *st, orgs_signin_t *in, orgs_user_t **user,
                                         int *admitted, char **change, apr_pool_t *p,
                                         orgs_err_t *err)
{
    return signin_capture(st, in, user, admitted, change, 1, p, err);
}

/* ---- a whole request in capture mode ------------------------------------- */

struct orgs_store_capture_t {
    st_capture_t c;
    MDB_txn *txn;
};

static apr_status_t capture_begin(orgs_store_t *st, int mode, orgs_store_capture_t **cap,
                                  apr_pool_t *p, orgs_err_t *err)
{
    orgs_store_capture_t *c = apr_pcalloc(p, sizeof(*c));
    apr_status_t rv = st_run_begin(st, mode, &c->txn, err);
    *cap = NULL;
    if (rv != APR_SUCCESS) {
        return rv;
    }
    c->c.p = p;
    c->c.seen = apr_hash_make(p);
    c->c.keys = apr_array_make(p, 8, sizeof(cap_key_t));
    c->c.audit = apr_array_make(p, 2, sizeof(const char *));
    st->capture = &c->c;
    st_ambient_set(st, c->txn);
    *cap = c;
    return APR_SUCCESS;
}

apr_status_t orgs_store_capture_begin(orgs_store_t *st, orgs_store_capture_t **cap, apr_pool_t *p,
                                      orgs_err_t *err)
{
    return capture_begin(st, ST_MODE_WRITE, cap, p, err);
}

apr_status_t orgs_store_capture_begin_release(orgs_store_t *st, orgs_store_capture_t **cap,
                                              apr_pool_t *p, orgs_err_t *err)
{
    return capture_begin(st, ST_MODE_RELEASE, cap, p, err);
}

apr_status_t orgs_store_capture_end(orgs_store_t *st, orgs_store_capture_t *cap, int build,
                                    char **change, apr_array_header_t **audit, apr_pool_t *p,
                                    orgs_err_t *err)
{
    apr_status_t rv = APR_SUCCESS;
    st_ambient_set(st, NULL);
    st->capture = NULL;
    *change = NULL;
    *audit = NULL;
    if (build) {
        rv = capture_build(st, cap->txn, &cap->c, change, p, err);
        *audit = rv == APR_SUCCESS && cap->c.audit->nelts ? cap->c.audit : NULL;
    }
    /* never committed here: the database first, then the replica */
    (void)st_run_end(st, ST_MODE_WRITE, cap->txn, APR_EINCOMPLETE, NULL);
    capture_counts_free(&cap->c);
    return rv;
}

static apr_status_t apply_local(orgs_store_t *st, MDB_txn *txn, const char *change,
                                const apr_array_header_t *audit, apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv = change ? st_change_apply(st, txn, change, p, err) : APR_SUCCESS;
    for (int i = 0; rv == APR_SUCCESS && audit && i < audit->nelts; i++) {
        rv = st_audit_replay(st, txn, APR_ARRAY_IDX(audit, i, const char *), p, err);
    }
    return rv;
}

apr_status_t orgs_store_capture_apply_local(orgs_store_t *st, const char *change,
                                            const apr_array_header_t *audit, apr_pool_t *p,
                                            orgs_err_t *err)
{
    ST_WRITE(st, txn, err, apply_local(st, txn, change, audit, p, err));
}

static apr_status_t apply_at(orgs_store_t *st, MDB_txn *txn, const char *change,
                             const apr_array_header_t *audit, apr_int64_t seq, apr_pool_t *p,
                             orgs_err_t *err)
{
    apr_status_t rv = apply_local(st, txn, change, audit, p, err);
    return rv == APR_SUCCESS && change ? st_replica_follow(st, txn, seq, p, err) : rv;
}

apr_status_t orgs_store_capture_apply_at(orgs_store_t *st, const char *change,
                                         const apr_array_header_t *audit, apr_int64_t seq,
                                         int release, apr_pool_t *p, orgs_err_t *err)
{
    ST_RUN(st, txn, err, release ? ST_MODE_RELEASE : ST_MODE_WRITE,
           apply_at(st, txn, change, audit, seq, p, err));
}

/* The sign-in's own writes on this node after the database took its change
 * set: the change applied as the change log keeps it, with the cluster's
 * counters (the day's usage, the connection's new users of the minute) as
 * the database counted them, and the audit records the capture made. */
static apr_status_t signin_local(orgs_store_t *st, MDB_txn *txn, const orgs_signin_t *in,
                                 int admitted, const char *change, apr_int64_t seq, apr_pool_t *p,
                                 orgs_err_t *err)
{
    apr_status_t rv = APR_SUCCESS;
    (void)admitted;
    if (change) {
        rv = st_change_apply(st, txn, change, p, err);
    }
    if (rv == APR_SUCCESS && change) {
        rv = st_replica_follow(st, txn, seq, p, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* what the sign-in recorded (a join, an invitation accepted), as the
     * capture left it: this node's audit, as for the admin API */
    for (int i = 0; rv == APR_SUCCESS && in->audit && i < in->audit->nelts; i++) {
        rv = st_audit_replay(st, txn, APR_ARRAY_IDX(in->audit, i, const char *), p, err);
    }
    return rv;
}

apr_status_t orgs_store_signin_local(orgs_store_t *st, const orgs_signin_t *in, int admitted,
                                     const char *change, apr_pool_t *p, orgs_err_t *err)
{
    ST_WRITE(st, txn, err, signin_local(st, txn, in, admitted, change, 0, p, err));
}

apr_status_t orgs_store_signin_local_at(orgs_store_t *st, const orgs_signin_t *in, int admitted,
                                        const char *change, apr_int64_t seq, apr_pool_t *p,
                                        orgs_err_t *err)
{
    ST_WRITE(st, txn, err, signin_local(st, txn, in, admitted, change, seq, p, err));
}

/* *gone: the session was not there (the transaction commits all the same,
 * so the position follows). */
static apr_status_t session_end_at(orgs_store_t *st, MDB_txn *txn, const unsigned char *sid_hash,
                                   apr_int64_t seq, int *gone, apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv = st_session_erase_hash(st, txn, sid_hash, p, err);
    *gone = rv == APR_NOTFOUND;
    return rv == APR_SUCCESS || rv == APR_NOTFOUND ? st_replica_follow(st, txn, seq, p, err) : rv;
}

apr_status_t orgs_store_session_end_at(orgs_store_t *st, const unsigned char sid_hash[32],
                                       apr_int64_t seq, apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv;
    int gone = 0;
    /* a delete: through the store's reserve when the map is full */
    ST_RELEASE_RV(rv, st, txn, err, session_end_at(st, txn, sid_hash, seq, &gone, p, err));
    if (rv != APR_SUCCESS) {
        st_revoked_add(st, sid_hash); /* refused by this process anyway */
        return rv;
    }
    return gone ? orgs_err_set(err, APR_NOTFOUND, "no such session") : APR_SUCCESS;
}

apr_status_t orgs_store_change_apply_local(orgs_store_t *st, const char *change, apr_pool_t *p,
                                           orgs_err_t *err)
{
    ST_WRITE(st, txn, err, st_change_apply(st, txn, change, p, err));
}

static apr_status_t fetch_apply(orgs_store_t *st, MDB_txn *txn, const char *change, apr_int64_t seq,
                                apr_pool_t *p, orgs_err_t *err)
{
    apr_int64_t at;
    /* the position read in the transaction that applies: the replicator
     * cannot move it in between */
    apr_status_t rv = st_replica_seq(st, txn, &at, p, err);
    if (rv == APR_SUCCESS && at > seq) {
        return orgs_err_set(err, APR_EAGAIN,
                            "the replica is at change %" APR_INT64_T_FMT
                            ", past the lookup's %" APR_INT64_T_FMT,
                            at, seq);
    }
    return rv == APR_SUCCESS ? st_change_apply(st, txn, change, p, err) : rv;
}

apr_status_t orgs_store_fetch_apply(orgs_store_t *st, const char *change, apr_int64_t seq,
                                    apr_pool_t *p, orgs_err_t *err)
{
    ST_WRITE(st, txn, err, fetch_apply(st, txn, change, seq, p, err));
}

const char *orgs_store_session_change_del(const unsigned char sid_hash[32], apr_pool_t *p)
{
    return apr_pstrcat(p, "{\"del\":[{\"type\":\"session\",\"sid_hash\":\"", hex_of(sid_hash, p),
                       "\"}]}", NULL);
}

const char *orgs_store_count_change(const char *org_id, int kind, apr_time_t now, apr_pool_t *p)
{
    static const char *const names[ORGS_STATS_KINDS] = {"signins", "denials", "joins"};
    if (!orgs_check_id(org_id, "org_") || kind < 0 || kind >= ORGS_STATS_KINDS || now <= 0) {
        return NULL;
    }
    /* the day as stats.c numbers it */
    return apr_psprintf(
        p,
        "{\"put\":[],\"del\":[],\"count\":[{\"org_id\":\"%s\",\"day\":%" APR_INT64_T_FMT
        ",\"%s\":1}]}",
        org_id, (apr_int64_t)(now / (APR_USEC_PER_SEC * 86400)), names[kind]);
}

const char *orgs_store_change_pending_used(const char *change, const char *state,
                                           const char *owner_id, apr_size_t cap, apr_time_t expires,
                                           apr_pool_t *p)
{
    unsigned char h[HASH_LEN];
    json_t *set = change ? json_loads(change, 0, NULL) : json_pack("{s:[], s:[]}", "put", "del");
    const char *out = NULL;
    if (json_is_object(set) && state && owner_id &&
        orgs_crypto_sha256(state, strlen(state), h) == APR_SUCCESS) {
        json_object_set_new(set, "pending_used",
                            json_pack("{s:s, s:s, s:I, s:I}", "state_hash", hex_of(h, p),
                                      "owner_id", owner_id, "cap", (json_int_t)cap, "expires",
                                      (json_int_t)expires));
        char *s = json_dumps(set, JSON_COMPACT);
        out = s ? apr_pstrdup(p, s) : NULL;
        free(s);
    }
    json_decref(set);
    return out;
}

const char *orgs_store_pending_state_hex(const char *state, apr_pool_t *p)
{
    unsigned char h[HASH_LEN];
    return state && orgs_crypto_sha256(state, strlen(state), h) == APR_SUCCESS ? hex_of(h, p)
                                                                               : NULL;
}

const char *orgs_store_session_hex(const unsigned char sid_hash[32], apr_pool_t *p)
{
    return hex_of(sid_hash, p);
}
