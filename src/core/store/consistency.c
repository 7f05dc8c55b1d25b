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

/* The visitors, one per database: each looks at one entry (it->k, it->v)
 * and notes what is wrong with it. db says which database, for visitors
 * that serve more than one. */
typedef void visit_fn(check_t *c, int db, const iter_t *it);

static void visit_org(check_t *c, int db, const iter_t *it)
{
    orgs_org_t *o;
    kbuf_t k;
    const char *id = apr_pstrmemdup(c->p, it->k.mv_data, it->k.mv_size);
    (void)db;
    if (st_org_load(c->st, c->txn, id, &o, c->p, NULL) != APR_SUCCESS) {
        problem(c, "organization %s: unreadable record", printable(c, id, strlen(id)));
        return;
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

/* names and domains must point back to an org that claims them */
static void visit_org_index(check_t *c, int db, const iter_t *it)
{
    orgs_org_t *o;
    int domain = db == DB_DOMAINS;
    const char *key = printable(c, it->k.mv_data, it->k.mv_size);
    const char *id = apr_pstrmemdup(c->p, it->v.mv_data, it->v.mv_size);
    if (st_org_load(c->st, c->txn, id, &o, c->p, NULL) != APR_SUCCESS) {
        problem(c, "%s '%s': dangling organization %s", domain ? "domain" : "name", key,
                printable(c, id, strlen(id)));
    } else if (domain ? !st_array_has(o->domains, key) : strcmp(o->name, key) != 0) {
        problem(c, "%s '%s': organization %s does not claim it", domain ? "domain" : "name", key,
                id);
    }
}

static void visit_conn(check_t *c, int db, const iter_t *it)
{
    orgs_conn_t *cn;
    kbuf_t k;
    const char *id = apr_pstrmemdup(c->p, it->k.mv_data, it->k.mv_size);
    (void)db;
    if (st_conn_load(c->st, c->txn, id, &cn, NULL, c->p, NULL) != APR_SUCCESS) {
        problem(c, "connection %s: unreadable record", printable(c, id, strlen(id)));
    } else if (!maps_to(c, DB_CONN_NAMES, st_kb1(&k, cn->name), cn->id)) {
        problem(c, "connection %s: name '%s' not indexed", cn->id, cn->name);
    }
}

static void visit_conn_name(check_t *c, int db, const iter_t *it)
{
    orgs_conn_t *cn;
    const char *key = printable(c, it->k.mv_data, it->k.mv_size);
    const char *id = apr_pstrmemdup(c->p, it->v.mv_data, it->v.mv_size);
    (void)db;
    if (st_conn_load(c->st, c->txn, id, &cn, NULL, c->p, NULL) != APR_SUCCESS ||
        strcmp(cn->name, key) != 0) {
        problem(c, "connection name '%s': dangling connection %s", key,
                printable(c, id, strlen(id)));
    }
}

static void visit_enable(check_t *c, int db, const iter_t *it)
{
    kbuf_t k;
    const char *key = it->k.mv_data;
    (void)db;
    if (it->k.mv_size != 2 * ID_LEN || !has_key(c, DB_ORGS, st_kbraw(&k, key, ID_LEN)) ||
        !has_key(c, DB_CONNS, st_kbraw(&k, key + ID_LEN, ID_LEN))) {
        problem(c, "enablement %s: dangling", printable(c, key, it->k.mv_size));
    }
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

static void visit_user(check_t *c, int db, const iter_t *it)
{
    orgs_user_t *u;
    const char *id = apr_pstrmemdup(c->p, it->k.mv_data, it->k.mv_size);
    (void)db;
    if (st_user_load(c->st, c->txn, id, &u, c->p, NULL) != APR_SUCCESS) {
        problem(c, "user %s: unreadable record", printable(c, id, strlen(id)));
    } else {
        check_user(c, u);
    }
}

/* every index entry names a user that has the indexed values */
static void visit_user_index(check_t *c, int db, const iter_t *it)
{
    const char *key = it->k.mv_data;
    size_t n = it->k.mv_size;
    orgs_user_t *u = NULL;
    int ok = 0;
    if (db == DB_USER_SUB) {
        const char *id = apr_pstrmemdup(c->p, it->v.mv_data, it->v.mv_size);
        if (st_user_load(c->st, c->txn, id, &u, c->p, NULL) == APR_SUCCESS && u->sub) {
            const char *want = apr_pstrcat(c->p, u->conn_id, "|", u->sub, NULL);
            char *got = apr_pstrmemdup(c->p, key, n);
            if (n > ID_LEN) {
                got[ID_LEN] = '|';
            }
            ok = strcmp(want, got) == 0;
        }
    } else if (db == DB_USER_EMAIL) {
        u = tail_user(c, &it->k, 2);
        ok = u && u->email && strlen(u->email) + 1 + ID_LEN == n &&
             memcmp(u->email, key, strlen(u->email)) == 0;
    } else if (db == DB_USER_CONN_EMAIL) {
        u = tail_user(c, &it->k, ID_LEN + 3);
        ok = u && u->email && ID_LEN + strlen(u->email) + 2 + ID_LEN == n &&
             memcmp(u->conn_id, key, ID_LEN) == 0 &&
             memcmp(u->email, key + ID_LEN + 1, strlen(u->email)) == 0;
    } else {
        u = tail_user(c, &it->k, ID_LEN);
        ok = u && n == 2 * ID_LEN && memcmp(u->conn_id, key, ID_LEN) == 0;
    }
    if (!ok) {
        problem(c, "%s entry '%s': dangling", st_db_names[db], printable(c, key, n));
    }
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
static void visit_member_record(check_t *c, int db, const iter_t *it)
{
    kbuf_t k;
    mrec_t r;
    ment_t e;
    char user[ID_LEN + 1], org[ID_LEN + 1];
    (void)db;
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

/* every index pair (MDB_NEXT walks the duplicates) has its record entry */
static void visit_org_member(check_t *c, int db, const iter_t *it)
{
    char org[ID_LEN + 1], user[ID_LEN + 1];
    mrec_t r;
    apr_uint32_t pos;
    (void)db;
    if (it->k.mv_size != ID_BIN || it->v.mv_size != ID_BIN ||
        !st_id_unpack(it->k.mv_data, "org_", org) || !st_id_unpack(it->v.mv_data, "usr_", user)) {
        problem(c, "org_members entry: malformed");
        return;
    }
    if (st_mrec_load(c->st, c->txn, it->v.mv_data, &r, NULL) != APR_SUCCESS ||
        !st_mrec_search(&r, it->k.mv_data, &pos)) {
        problem(c, "org_members %s in %s: dangling", user, org);
    }
}

static void visit_session(check_t *c, int db, const iter_t *it)
{
    orgs_session_t *s;
    orgs_member_t *m;
    kbuf_t k;
    (void)db;
    if (it->k.mv_size != HASH_LEN ||
        st_session_load(c->st, c->txn, it->k.mv_data, &s, c->p, NULL) != APR_SUCCESS) {
        problem(c, "session: unreadable record");
        return;
    }
    if (!has_key(c, DB_SESSION_IDX, st_kb_session_idx(&k, s, it->k.mv_data))) {
        problem(c, "session of %s in %s: not indexed", s->user_id, s->org_id);
    }
    if (st_member_load(c->st, c->txn, s->org_id, s->user_id, &m, c->p, NULL) != APR_SUCCESS) {
        problem(c, "session of %s in %s: no such membership", s->user_id, s->org_id);
    }
    if (!has_key(c, DB_CONNS, st_kb1(&k, s->conn_id ? s->conn_id : ""))) {
        problem(c, "session of %s in %s: dangling connection", s->user_id, s->org_id);
    }
}

static void visit_session_idx(check_t *c, int db, const iter_t *it)
{
    const char *key = it->k.mv_data;
    orgs_session_t *s;
    (void)db;
    if (it->k.mv_size != 2 * ID_LEN + HASH_LEN ||
        st_session_load(c->st, c->txn, (const unsigned char *)key + 2 * ID_LEN, &s, c->p, NULL) !=
            APR_SUCCESS ||
        memcmp(s->org_id, key, ID_LEN) != 0 || memcmp(s->user_id, key + ID_LEN, ID_LEN) != 0) {
        problem(c, "session_idx entry for %s: dangling", printable(c, key, 2 * ID_LEN));
    }
}

/* every logout hint belongs to a session */
static void visit_session_hint(check_t *c, int db, const iter_t *it)
{
    kbuf_t k;
    (void)db;
    if (it->k.mv_size != HASH_LEN ||
        !has_key(c, DB_SESSIONS, st_kbraw(&k, it->k.mv_data, HASH_LEN))) {
        problem(c, "session hint: dangling");
    }
}

static void visit_pending_browser(check_t *c, int db, const iter_t *it)
{
    kbuf_t k;
    (void)db;
    if (it->k.mv_size <= HASH_LEN + 8 || !has_key(c, DB_PENDING,
                                                  st_kbraw(&k, (char *)it->k.mv_data + HASH_LEN + 8,
                                                           it->k.mv_size - HASH_LEN - 8))) {
        problem(c, "pending_browser entry: dangling");
    }
}

/* Every time entry names a pending login of that time, and every pending
 * login is in the time index (else it would never expire globally). */
static void visit_pending_time(check_t *c, int db, const iter_t *it)
{
    orgs_pending_t *pl;
    const char *state =
        it->k.mv_size > 8 ? apr_pstrmemdup(c->p, (char *)it->k.mv_data + 8, it->k.mv_size - 8) : "";
    (void)db;
    if (!*state || st_pending_load(c->st, c->txn, state, &pl, c->p, NULL) != APR_SUCCESS ||
        pl->created != (apr_time_t)st_get_u64be(it->k.mv_data)) {
        problem(c, "pending_time entry: dangling");
    }
}

static void visit_pending(check_t *c, int db, const iter_t *it)
{
    orgs_pending_t *pl;
    kbuf_t k;
    const char *state = apr_pstrmemdup(c->p, it->k.mv_data, it->k.mv_size);
    (void)db;
    if (st_pending_load(c->st, c->txn, state, &pl, c->p, NULL) != APR_SUCCESS) {
        problem(c, "pending login: unreadable record");
    } else if (!has_key(c, DB_PENDING_TIME, st_kb_pending_time(&k, pl->created, state)) ||
               !has_key(c, DB_PENDING_BROWSER,
                        st_kb_pending_idx(&k, pl->browser, pl->created, state))) {
        problem(c, "pending login: not indexed");
    }
}

static void visit_invite(check_t *c, int db, const iter_t *it)
{
    orgs_invite_t *inv;
    kbuf_t k;
    const char *id = apr_pstrmemdup(c->p, it->k.mv_data, it->k.mv_size);
    (void)db;
    if (st_invite_load(c->st, c->txn, id, &inv, c->p, NULL) != APR_SUCCESS) {
        problem(c, "invitation %s: unreadable record", printable(c, id, strlen(id)));
        return;
    }
    if (!has_key(c, DB_ORGS, st_kb1(&k, inv->org_id))) {
        problem(c, "invitation %s: dangling organization %s", id, inv->org_id);
    }
    if (!has_key(c, DB_INVITE_ORG, st_kb2(&k, inv->org_id, id))) {
        problem(c, "invitation %s: not indexed", id);
    }
    if (inv->ticket_hash && ST_HAS_DB(c->st, DB_INVITE_TICKET) &&
        !has_key(c, DB_INVITE_TICKET, st_kb1(&k, inv->ticket_hash))) {
        problem(c, "invitation %s: ticket not indexed", id);
    }
}

static void visit_invite_ticket(check_t *c, int db, const iter_t *it)
{
    orgs_invite_t *inv;
    const char *hash = apr_pstrmemdup(c->p, it->k.mv_data, it->k.mv_size);
    const char *id = apr_pstrmemdup(c->p, it->v.mv_data, it->v.mv_size);
    (void)db;
    if (st_invite_load(c->st, c->txn, id, &inv, c->p, NULL) != APR_SUCCESS || !inv->ticket_hash ||
        strcmp(inv->ticket_hash, hash) != 0) {
        problem(c, "invite_ticket entry for %s: dangling", printable(c, id, strlen(id)));
    }
}

static void visit_invite_org(check_t *c, int db, const iter_t *it)
{
    kbuf_t k;
    const char *key = it->k.mv_data;
    (void)db;
    if (it->k.mv_size != 2 * ID_LEN ||
        !has_key(c, DB_INVITES, st_kbraw(&k, key + ID_LEN, ID_LEN))) {
        problem(c, "invite_org entry '%s': dangling", printable(c, key, it->k.mv_size));
    }
}

/* The walk: every database in this order, each entry to its visitor.
 * Databases an older read-only store lacks are skipped. */
static const struct {
    int db;
    visit_fn *visit;
} walk[] = {
    {DB_ORGS, visit_org},
    {DB_ORG_NAMES, visit_org_index},
    {DB_DOMAINS, visit_org_index},
    {DB_CONNS, visit_conn},
    {DB_CONN_NAMES, visit_conn_name},
    {DB_ENABLE, visit_enable},
    {DB_USERS, visit_user},
    {DB_USER_SUB, visit_user_index},
    {DB_USER_EMAIL, visit_user_index},
    {DB_USER_CONN_EMAIL, visit_user_index},
    {DB_CONN_USERS, visit_user_index},
    {DB_MEMBERS, visit_member_record},
    {DB_ORG_MEMBERS, visit_org_member},
    {DB_SESSIONS, visit_session},
    {DB_SESSION_IDX, visit_session_idx},
    {DB_SESSION_HINTS, visit_session_hint},
    {DB_PENDING_BROWSER, visit_pending_browser},
    {DB_PENDING_TIME, visit_pending_time},
    {DB_PENDING, visit_pending},
    {DB_INVITES, visit_invite},
    {DB_INVITE_ORG, visit_invite_org},
    {DB_INVITE_TICKET, visit_invite_ticket},
};

static apr_status_t check_all(check_t *c, MDB_txn *txn, orgs_err_t *err)
{
    apr_status_t rv = APR_SUCCESS;
    c->txn = txn;
    for (size_t i = 0; rv == APR_SUCCESS && i < sizeof(walk) / sizeof(walk[0]); i++) {
        iter_t it;
        int db = walk[i].db;
        if ((db == DB_SESSION_HINTS && !c->st->has_session_hints) ||
            ((db == DB_PENDING_TIME || db == DB_PENDING) && !c->st->has_pending_time) ||
            !ST_HAS_DB(c->st, db)) {
            continue;
        }
        rv = st_iter_open(txn, c->st->db[db], NULL, &it, err);
        while (rv == APR_SUCCESS && st_iter_next(&it)) {
            walk[i].visit(c, db, &it);
        }
        rv = st_iter_end(&it, rv, err);
    }
    return rv;
}

apr_status_t orgs_store_check(orgs_store_t *st, apr_array_header_t **problems, apr_pool_t *p,
                              orgs_err_t *err)
{
    check_t c = {st, NULL, apr_array_make(p, 8, sizeof(const char *)), p};
    *problems = c.problems;
    ST_READ(st, txn, err, check_all(&c, txn, err));
}

/* Every byte of every entry of one database (dbi), so each page is read;
 * LMDB's own errors (a damaged page it detects) become problems. */
static void read_all(check_t *c, MDB_txn *txn, MDB_dbi dbi, const char *name)
{
    MDB_cursor *cur;
    MDB_val k, v;
    unsigned sum = 0;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc == MDB_SUCCESS) {
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            for (size_t i = 0; i < v.mv_size; i++) {
                sum += ((const unsigned char *)v.mv_data)[i];
            }
        }
        mdb_cursor_close(cur);
    }
    if (rc != MDB_NOTFOUND) {
        problem(c, "database %s: unreadable (%s)", name, mdb_strerror(rc));
    }
    (void)sum;
}

static apr_status_t check_deep(check_t *c, MDB_txn *txn, orgs_err_t *err)
{
    apr_status_t rv = check_all(c, txn, err);
    read_all(c, txn, 0, "(free list)");
    for (int i = 0; rv == APR_SUCCESS && i < DB_COUNT; i++) {
        if ((i == DB_SESSION_HINTS && !c->st->has_session_hints) ||
            (i == DB_PENDING_TIME && !c->st->has_pending_time) || !ST_HAS_DB(c->st, i)) {
            continue;
        }
        read_all(c, txn, c->st->db[i], st_db_names[i]);
    }
    return rv;
}

apr_status_t orgs_store_check_deep(orgs_store_t *st, apr_array_header_t **problems, apr_pool_t *p,
                                   orgs_err_t *err)
{
    check_t c = {st, NULL, apr_array_make(p, 8, sizeof(const char *)), p};
    *problems = c.problems;
    ST_READ(st, txn, err, check_deep(&c, txn, err));
}
