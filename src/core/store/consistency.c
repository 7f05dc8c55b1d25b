/* The consistency checker: every record readable, every index entry
 * naming a record that has the indexed value, and the reverse. */
#include <stdarg.h>
#include <string.h>

#include "store_int.h"

typedef struct {
    orgs_store_t *st;
    MDB_txn *txn;
    apr_array_header_t *problems;
    apr_pool_t *p;
} check_t;

static void problem(check_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(check_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    APR_ARRAY_PUSH(c->problems, const char *) = apr_pvsprintf(c->p, fmt, ap);
    va_end(ap);
}

static int has_key(check_t *c, int db, const kbuf_t *k)
{
    MDB_val v;
    return st_kv_get(c->txn, c->st->db[db], k, &v, NULL, "") == APR_SUCCESS;
}

/* key maps to the id value */
static int maps_to(check_t *c, int db, const kbuf_t *k, const char *id)
{
    MDB_val v;
    return st_kv_get(c->txn, c->st->db[db], k, &v, NULL, "") == APR_SUCCESS &&
           v.mv_size == strlen(id) && memcmp(v.mv_data, id, v.mv_size) == 0;
}

static char *printable(check_t *c, const void *d, size_t n)
{
    char *s = apr_pstrmemdup(c->p, d, n);
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) {
            s[i] = '.';
        }
    }
    return s;
}

static apr_status_t check_orgs(check_t *c, orgs_err_t *err)
{
    iter_t it;
    kbuf_t k;
    apr_status_t rv = st_iter_open(c->txn, DB(c->st, ORGS), NULL, &it, err);
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        orgs_org_t *o;
        const char *id = apr_pstrmemdup(c->p, it.k.mv_data, it.k.mv_size);
        if (st_org_load(c->st, c->txn, id, &o, c->p, NULL) != APR_SUCCESS) {
            problem(c, "organization %s: unreadable record", printable(c, id, strlen(id)));
            continue;
        }
        if (!maps_to(c, DB_ORG_NAMES, st_kb1(&k, o->name), o->id)) {
            problem(c, "organization %s: name '%s' not indexed", o->id, o->name);
        }
        for (int i = 0; i < o->domains->nelts; i++) {
            const char *d = APR_ARRAY_IDX(o->domains, i, const char *);
            if (!maps_to(c, DB_DOMAINS, st_kb1(&k, d), o->id)) {
                problem(c, "organization %s: domain '%s' not indexed", o->id, d);
            }
        }
    }
    apr_status_t rv2 = st_iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    /* names and domains must point back to an org that claims them */
    for (int pass = 0; rv == APR_SUCCESS && pass < 2; pass++) {
        rv = st_iter_open(c->txn, pass ? DB(c->st, DOMAINS) : DB(c->st, ORG_NAMES), NULL, &it, err);
        while (rv == APR_SUCCESS && st_iter_next(&it)) {
            orgs_org_t *o;
            const char *key = printable(c, it.k.mv_data, it.k.mv_size);
            const char *id = apr_pstrmemdup(c->p, it.v.mv_data, it.v.mv_size);
            if (st_org_load(c->st, c->txn, id, &o, c->p, NULL) != APR_SUCCESS) {
                problem(c, "%s '%s': dangling organization %s", pass ? "domain" : "name", key,
                        printable(c, id, strlen(id)));
            } else if (pass ? !st_array_has(o->domains, key) : strcmp(o->name, key) != 0) {
                problem(c, "%s '%s': organization %s does not claim it", pass ? "domain" : "name",
                        key, id);
            }
        }
        rv2 = st_iter_close(&it, err);
        rv = rv != APR_SUCCESS ? rv : rv2;
    }
    return rv;
}

static apr_status_t check_conns(check_t *c, orgs_err_t *err)
{
    iter_t it;
    kbuf_t k;
    apr_status_t rv = st_iter_open(c->txn, DB(c->st, CONNS), NULL, &it, err);
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        orgs_conn_t *cn;
        const char *id = apr_pstrmemdup(c->p, it.k.mv_data, it.k.mv_size);
        if (st_conn_load(c->st, c->txn, id, &cn, NULL, c->p, NULL) != APR_SUCCESS) {
            problem(c, "connection %s: unreadable record", printable(c, id, strlen(id)));
        } else if (!maps_to(c, DB_CONN_NAMES, st_kb1(&k, cn->name), cn->id)) {
            problem(c, "connection %s: name '%s' not indexed", cn->id, cn->name);
        }
    }
    apr_status_t rv2 = st_iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    if (rv == APR_SUCCESS) {
        rv = st_iter_open(c->txn, DB(c->st, CONN_NAMES), NULL, &it, err);
    }
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        orgs_conn_t *cn;
        const char *key = printable(c, it.k.mv_data, it.k.mv_size);
        const char *id = apr_pstrmemdup(c->p, it.v.mv_data, it.v.mv_size);
        if (st_conn_load(c->st, c->txn, id, &cn, NULL, c->p, NULL) != APR_SUCCESS ||
            strcmp(cn->name, key) != 0) {
            problem(c, "connection name '%s': dangling connection %s", key,
                    printable(c, id, strlen(id)));
        }
    }
    rv2 = st_iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    if (rv == APR_SUCCESS) {
        rv = st_iter_open(c->txn, DB(c->st, ENABLE), NULL, &it, err);
    }
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        const char *key = it.k.mv_data;
        if (it.k.mv_size != 2 * ID_LEN || !has_key(c, DB_ORGS, st_kbraw(&k, key, ID_LEN)) ||
            !has_key(c, DB_CONNS, st_kbraw(&k, key + ID_LEN, ID_LEN))) {
            problem(c, "enablement %s: dangling", printable(c, key, it.k.mv_size));
        }
    }
    rv2 = st_iter_close(&it, err);
    return rv != APR_SUCCESS ? rv : rv2;
}

static void check_user(check_t *c, const orgs_user_t *u)
{
    kbuf_t k;
    if (!has_key(c, DB_CONNS, st_kb1(&k, u->conn_id))) {
        problem(c, "user %s: dangling connection %s", u->id, u->conn_id);
    }
    if (!has_key(c, DB_CONN_USERS, st_kb2(&k, u->conn_id, u->id))) {
        problem(c, "user %s: not indexed by connection", u->id);
    }
    if (u->sub) {
        st_kb1(&k, u->conn_id);
        st_kb_nul(&k);
        st_kb_str(&k, u->sub);
        if (!maps_to(c, DB_USER_SUB, &k, u->id)) {
            problem(c, "user %s: sub not indexed", u->id);
        }
    }
    if (u->email) {
        st_kb1(&k, u->email);
        st_kb_nul(&k);
        st_kb_str(&k, u->id);
        if (!has_key(c, DB_USER_EMAIL, &k)) {
            problem(c, "user %s: email not indexed", u->id);
        }
        st_kb_str(st_kb_conn_email(&k, u->conn_id, u->email), u->id);
        if (!has_key(c, DB_USER_CONN_EMAIL, &k)) {
            problem(c, "user %s: email not indexed by connection", u->id);
        }
    }
}

/* The user id at the end of an index key, and the user it names. */
static orgs_user_t *tail_user(check_t *c, const MDB_val *key, size_t min_prefix)
{
    orgs_user_t *u;
    if (key->mv_size < min_prefix + ID_LEN) {
        return NULL;
    }
    const char *id = apr_pstrmemdup(c->p, (char *)key->mv_data + key->mv_size - ID_LEN, ID_LEN);
    return st_user_load(c->st, c->txn, id, &u, c->p, NULL) == APR_SUCCESS ? u : NULL;
}

static apr_status_t check_users(check_t *c, orgs_err_t *err)
{
    iter_t it;
    apr_status_t rv = st_iter_open(c->txn, DB(c->st, USERS), NULL, &it, err);
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        orgs_user_t *u;
        const char *id = apr_pstrmemdup(c->p, it.k.mv_data, it.k.mv_size);
        if (st_user_load(c->st, c->txn, id, &u, c->p, NULL) != APR_SUCCESS) {
            problem(c, "user %s: unreadable record", printable(c, id, strlen(id)));
        } else {
            check_user(c, u);
        }
    }
    apr_status_t rv2 = st_iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    /* every index entry names a user that has the indexed values */
    static const int idx[] = {DB_USER_SUB, DB_USER_EMAIL, DB_USER_CONN_EMAIL, DB_CONN_USERS};
    for (size_t i = 0; rv == APR_SUCCESS && i < sizeof(idx) / sizeof(idx[0]); i++) {
        rv = st_iter_open(c->txn, c->st->db[idx[i]], NULL, &it, err);
        while (rv == APR_SUCCESS && st_iter_next(&it)) {
            const char *key = it.k.mv_data;
            size_t n = it.k.mv_size;
            orgs_user_t *u = NULL;
            int ok = 0;
            if (idx[i] == DB_USER_SUB) {
                const char *id = apr_pstrmemdup(c->p, it.v.mv_data, it.v.mv_size);
                if (st_user_load(c->st, c->txn, id, &u, c->p, NULL) == APR_SUCCESS && u->sub) {
                    const char *want = apr_pstrcat(c->p, u->conn_id, "|", u->sub, NULL);
                    char *got = apr_pstrmemdup(c->p, key, n);
                    if (n > ID_LEN) {
                        got[ID_LEN] = '|';
                    }
                    ok = strcmp(want, got) == 0;
                }
            } else if (idx[i] == DB_USER_EMAIL) {
                u = tail_user(c, &it.k, 2);
                ok = u && u->email && strlen(u->email) + 1 + ID_LEN == n &&
                     memcmp(u->email, key, strlen(u->email)) == 0;
            } else if (idx[i] == DB_USER_CONN_EMAIL) {
                u = tail_user(c, &it.k, ID_LEN + 3);
                ok = u && u->email && ID_LEN + strlen(u->email) + 2 + ID_LEN == n &&
                     memcmp(u->conn_id, key, ID_LEN) == 0 &&
                     memcmp(u->email, key + ID_LEN + 1, strlen(u->email)) == 0;
            } else {
                u = tail_user(c, &it.k, ID_LEN);
                ok = u && n == 2 * ID_LEN && memcmp(u->conn_id, key, ID_LEN) == 0;
            }
            if (!ok) {
                problem(c, "%s entry '%s': dangling", st_db_names[idx[i]], printable(c, key, n));
            }
        }
        rv2 = st_iter_close(&it, err);
        rv = rv != APR_SUCCESS ? rv : rv2;
    }
    return rv;
}

static int org_has_member(check_t *c, const unsigned char *org, const unsigned char *user)
{
    MDB_cursor *cur;
    MDB_val key = {ID_BIN, (void *)org}, dup = {ID_BIN, (void *)user};
    if (mdb_cursor_open(c->txn, DB(c->st, ORG_MEMBERS), &cur) != MDB_SUCCESS) {
        return 0;
    }
    int rc = mdb_cursor_get(cur, &key, &dup, MDB_GET_BOTH);
    mdb_cursor_close(cur);
    return rc == MDB_SUCCESS;
}

/* One user's record: well formed, sorted, every entry naming an org and
 * present in the org index. */
static void check_member_record(check_t *c, const iter_t *it)
{
    kbuf_t k;
    mrec_t r;
    ment_t e;
    char user[ID_LEN + 1], org[ID_LEN + 1];
    if (it->k.mv_size != ID_BIN || !st_id_unpack(it->k.mv_data, "usr_", user) ||
        !st_mrec_open(it->v.mv_data, it->v.mv_size, &r) || r.n == 0) {
        problem(c, "member record %s: malformed",
                it->k.mv_size == ID_BIN && st_id_unpack(it->k.mv_data, "usr_", user) ? user : "?");
        return;
    }
    if (!has_key(c, DB_USERS, st_kb1(&k, user))) {
        problem(c, "member record %s: dangling user", user);
    }
    for (apr_uint32_t i = 0; i < r.n; i++) {
        if (!st_mrec_entry(&r, i, &e) || !st_id_unpack(e.org, "org_", org) ||
            (i > 0 && st_cmp_bin(st_mrec_org(&r, i - 1), e.org) >= 0)) {
            problem(c, "member record %s: malformed entry %u", user, (unsigned)i);
            continue;
        }
        if (!has_key(c, DB_ORGS, st_kb1(&k, org))) {
            problem(c, "member %s of %s: dangling organization", user, org);
        }
        if (!org_has_member(c, e.org, it->k.mv_data)) {
            problem(c, "member %s of %s: org index missing", user, org);
        }
    }
}

static apr_status_t check_members(check_t *c, orgs_err_t *err)
{
    iter_t it;
    apr_status_t rv = st_iter_open(c->txn, DB(c->st, MEMBERS), NULL, &it, err);
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        check_member_record(c, &it);
    }
    apr_status_t rv2 = st_iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    /* every index pair (MDB_NEXT walks the duplicates) has its record entry */
    if (rv == APR_SUCCESS) {
        rv = st_iter_open(c->txn, DB(c->st, ORG_MEMBERS), NULL, &it, err);
    }
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        char org[ID_LEN + 1], user[ID_LEN + 1];
        mrec_t r;
        apr_uint32_t pos;
        if (it.k.mv_size != ID_BIN || it.v.mv_size != ID_BIN ||
            !st_id_unpack(it.k.mv_data, "org_", org) || !st_id_unpack(it.v.mv_data, "usr_", user)) {
            problem(c, "org_members entry: malformed");
            continue;
        }
        if (st_mrec_load(c->st, c->txn, it.v.mv_data, &r, NULL) != APR_SUCCESS ||
            !st_mrec_search(&r, it.k.mv_data, &pos)) {
            problem(c, "org_members %s in %s: dangling", user, org);
        }
    }
    rv2 = st_iter_close(&it, err);
    return rv != APR_SUCCESS ? rv : rv2;
}

static apr_status_t check_sessions(check_t *c, orgs_err_t *err)
{
    iter_t it;
    kbuf_t k;
    apr_status_t rv = st_iter_open(c->txn, DB(c->st, SESSIONS), NULL, &it, err);
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        orgs_session_t *s;
        if (it.k.mv_size != HASH_LEN ||
            st_session_load(c->st, c->txn, it.k.mv_data, &s, c->p, NULL) != APR_SUCCESS) {
            problem(c, "session: unreadable record");
            continue;
        }
        if (!has_key(c, DB_SESSION_IDX, st_kb_session_idx(&k, s, it.k.mv_data))) {
            problem(c, "session of %s in %s: not indexed", s->user_id, s->org_id);
        }
        orgs_member_t *m;
        if (st_member_load(c->st, c->txn, s->org_id, s->user_id, &m, c->p, NULL) != APR_SUCCESS) {
            problem(c, "session of %s in %s: no such membership", s->user_id, s->org_id);
        }
        if (!has_key(c, DB_CONNS, st_kb1(&k, s->conn_id ? s->conn_id : ""))) {
            problem(c, "session of %s in %s: dangling connection", s->user_id, s->org_id);
        }
    }
    apr_status_t rv2 = st_iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    if (rv == APR_SUCCESS) {
        rv = st_iter_open(c->txn, DB(c->st, SESSION_IDX), NULL, &it, err);
    }
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        const char *key = it.k.mv_data;
        orgs_session_t *s;
        if (it.k.mv_size != 2 * ID_LEN + HASH_LEN ||
            st_session_load(c->st, c->txn, (const unsigned char *)key + 2 * ID_LEN, &s, c->p,
                            NULL) != APR_SUCCESS ||
            memcmp(s->org_id, key, ID_LEN) != 0 || memcmp(s->user_id, key + ID_LEN, ID_LEN) != 0) {
            problem(c, "session_idx entry for %s: dangling", printable(c, key, 2 * ID_LEN));
        }
    }
    rv2 = st_iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    /* every logout hint belongs to a session */
    if (rv == APR_SUCCESS && c->st->has_session_hints) {
        rv = st_iter_open(c->txn, DB(c->st, SESSION_HINTS), NULL, &it, err);
        while (rv == APR_SUCCESS && st_iter_next(&it)) {
            if (it.k.mv_size != HASH_LEN ||
                !has_key(c, DB_SESSIONS, st_kbraw(&k, it.k.mv_data, HASH_LEN))) {
                problem(c, "session hint: dangling");
            }
        }
        rv2 = st_iter_close(&it, err);
        rv = rv != APR_SUCCESS ? rv : rv2;
    }
    return rv;
}

/* Every pending login is in the time index (else it would never expire
 * globally) and every time entry names a pending login of that time. */
static apr_status_t check_pending_time(check_t *c, orgs_err_t *err)
{
    iter_t it;
    kbuf_t k;
    apr_status_t rv = st_iter_open(c->txn, DB(c->st, PENDING_TIME), NULL, &it, err);
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        orgs_pending_t *pl;
        const char *state = it.k.mv_size > 8
                                ? apr_pstrmemdup(c->p, (char *)it.k.mv_data + 8, it.k.mv_size - 8)
                                : "";
        if (!*state || st_pending_load(c->st, c->txn, state, &pl, c->p, NULL) != APR_SUCCESS ||
            pl->created != (apr_time_t)st_get_u64be(it.k.mv_data)) {
            problem(c, "pending_time entry: dangling");
        }
    }
    apr_status_t rv2 = st_iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    if (rv == APR_SUCCESS) {
        rv = st_iter_open(c->txn, DB(c->st, PENDING), NULL, &it, err);
    }
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        orgs_pending_t *pl;
        const char *state = apr_pstrmemdup(c->p, it.k.mv_data, it.k.mv_size);
        if (st_pending_load(c->st, c->txn, state, &pl, c->p, NULL) != APR_SUCCESS) {
            problem(c, "pending login: unreadable record");
        } else if (!has_key(c, DB_PENDING_TIME, st_kb_pending_time(&k, pl->created, state)) ||
                   !has_key(c, DB_PENDING_BROWSER,
                            st_kb_pending_idx(&k, pl->browser, pl->created, state))) {
            problem(c, "pending login: not indexed");
        }
    }
    rv2 = st_iter_close(&it, err);
    return rv != APR_SUCCESS ? rv : rv2;
}

static apr_status_t check_rest(check_t *c, orgs_err_t *err)
{
    iter_t it;
    kbuf_t k;
    apr_status_t rv = st_iter_open(c->txn, DB(c->st, PENDING_BROWSER), NULL, &it, err);
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        if (it.k.mv_size <= HASH_LEN + 8 ||
            !has_key(
                c, DB_PENDING,
                st_kbraw(&k, (char *)it.k.mv_data + HASH_LEN + 8, it.k.mv_size - HASH_LEN - 8))) {
            problem(c, "pending_browser entry: dangling");
        }
    }
    apr_status_t rv2 = st_iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    if (rv == APR_SUCCESS && c->st->has_pending_time) {
        rv = check_pending_time(c, err);
    }
    if (rv == APR_SUCCESS) {
        rv = st_iter_open(c->txn, DB(c->st, INVITES), NULL, &it, err);
    }
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        orgs_invite_t *inv;
        const char *id = apr_pstrmemdup(c->p, it.k.mv_data, it.k.mv_size);
        if (st_invite_load(c->st, c->txn, id, &inv, c->p, NULL) != APR_SUCCESS) {
            problem(c, "invitation %s: unreadable record", printable(c, id, strlen(id)));
            continue;
        }
        if (!has_key(c, DB_ORGS, st_kb1(&k, inv->org_id))) {
            problem(c, "invitation %s: dangling organization %s", id, inv->org_id);
        }
        if (!has_key(c, DB_INVITE_ORG, st_kb2(&k, inv->org_id, id))) {
            problem(c, "invitation %s: not indexed", id);
        }
    }
    rv2 = st_iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    if (rv == APR_SUCCESS) {
        rv = st_iter_open(c->txn, DB(c->st, INVITE_ORG), NULL, &it, err);
    }
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        const char *key = it.k.mv_data;
        if (it.k.mv_size != 2 * ID_LEN ||
            !has_key(c, DB_INVITES, st_kbraw(&k, key + ID_LEN, ID_LEN))) {
            problem(c, "invite_org entry '%s': dangling", printable(c, key, it.k.mv_size));
        }
    }
    rv2 = st_iter_close(&it, err);
    return rv != APR_SUCCESS ? rv : rv2;
}

apr_status_t orgs_store_check(orgs_store_t *st, apr_array_header_t **problems, apr_pool_t *p,
                              orgs_err_t *err)
{
    check_t c = {st, NULL, apr_array_make(p, 8, sizeof(const char *)), p};
    apr_status_t rv = st_rd_begin(st, &c.txn, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((rv = check_orgs(&c, err)) == APR_SUCCESS && (rv = check_conns(&c, err)) == APR_SUCCESS &&
        (rv = check_users(&c, err)) == APR_SUCCESS &&
        (rv = check_members(&c, err)) == APR_SUCCESS &&
        (rv = check_sessions(&c, err)) == APR_SUCCESS) {
        rv = check_rest(&c, err);
    }
    st_rd_end(st, c.txn);
    *problems = c.problems;
    return rv;
}
