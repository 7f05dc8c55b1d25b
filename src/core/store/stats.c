/* Usage per org and day: sign-ins, denials and joins, counted at sign-in
 * (never on the request path), kept ORGS_STORE_STATS_DAYS days; read with
 * the org's members and how many of them were seen in a window. */
#include <string.h>

#include <apr_hash.h>

#include "store_int.h"

#define DAY_LEN 4
#define DAY_USEC (APR_USEC_PER_SEC * 86400)
#define STATS_DAYS_DEFAULT 30
/* Days of an org dropped past the window per count: a few, so a count
 * stays cheap and the table shrinks as days pass. */
#define STATS_DROP_PER_COUNT 4

static apr_uint32_t day_of(apr_time_t t)
{
    return t > 0 ? (apr_uint32_t)(t / DAY_USEC) : 0;
}

static kbuf_t *kb_day(kbuf_t *k, const char *org_id, apr_uint32_t day)
{
    unsigned char d[DAY_LEN] = {(unsigned char)(day >> 24), (unsigned char)(day >> 16),
                                (unsigned char)(day >> 8), (unsigned char)day};
    st_kb1(k, org_id);
    st_kb_add(k, d, DAY_LEN);
    return k;
}

static apr_uint32_t day_get(const unsigned char *d)
{
    return ((apr_uint32_t)d[0] << 24) | ((apr_uint32_t)d[1] << 16) | ((apr_uint32_t)d[2] << 8) |
           d[3];
}

/* The counters of one value (little-endian u64 each; older, shorter
 * values read the missing ones as 0). */
static void counters_get(const MDB_val *v, apr_uint64_t c[ORGS_STATS_KINDS])
{
    memset(c, 0, sizeof(apr_uint64_t) * ORGS_STATS_KINDS);
    memcpy(c, v->mv_data,
           v->mv_size < sizeof(apr_uint64_t) * ORGS_STATS_KINDS
               ? v->mv_size - v->mv_size % 8
               : sizeof(apr_uint64_t) * ORGS_STATS_KINDS);
}

/* Drops a few of the org's days before first. */
static apr_status_t drop_old(orgs_store_t *st, MDB_txn *txn, const char *org_id, apr_uint32_t first,
                             apr_size_t max, orgs_err_t *err)
{
    MDB_cursor *cur;
    MDB_val key, val;
    kbuf_t k;
    apr_size_t n = 0;
    int rc = mdb_cursor_open(txn, DB(st, STATS), &cur);
    if (rc != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "usage statistics");
    }
    kb_day(&k, org_id, 0);
    key.mv_data = k.buf;
    key.mv_size = k.len;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == MDB_SUCCESS && n < max;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size != ID_LEN + DAY_LEN || memcmp(key.mv_data, org_id, ID_LEN) != 0 ||
            (first && day_get((const unsigned char *)key.mv_data + ID_LEN) >= first)) {
            break;
        }
        if ((rc = mdb_cursor_del(cur, 0)) != MDB_SUCCESS) {
            break;
        }
        n++;
    }
    mdb_cursor_close(cur);
    return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? APR_SUCCESS
                                                   : st_mdb_fail(rc, err, "usage statistics");
}

/* The org's counters of that day, all 0 when it has none yet; a new day
 * drops a few of the org's days past the window. */
static apr_status_t day_get_counters(orgs_store_t *st, MDB_txn *txn, const char *org_id,
                                     apr_uint32_t day, apr_uint64_t c[ORGS_STATS_KINDS],
                                     orgs_err_t *err)
{
    kbuf_t k;
    MDB_val v;
    apr_status_t rv = st_kv_get(txn, DB(st, STATS), kb_day(&k, org_id, day), &v, err, "usage");
    if (rv == APR_SUCCESS) {
        counters_get(&v, c);
        return APR_SUCCESS;
    }
    if (rv != APR_NOTFOUND) {
        return rv;
    }
    memset(c, 0, sizeof(apr_uint64_t) * ORGS_STATS_KINDS);
    return day > ORGS_STORE_STATS_DAYS ? drop_old(st, txn, org_id, day - ORGS_STORE_STATS_DAYS + 1,
                                                  STATS_DROP_PER_COUNT, err)
                                       : APR_SUCCESS;
}

apr_status_t st_stats_add(orgs_store_t *st, MDB_txn *txn, const char *org_id, int kind,
                          apr_time_t now, orgs_err_t *err)
{
    apr_uint64_t c[ORGS_STATS_KINDS];
    apr_uint32_t day = day_of(now);
    kbuf_t k;
    if (kind < 0 || kind >= ORGS_STATS_KINDS || !org_id || strlen(org_id) != ID_LEN) {
        return orgs_err_set(err, APR_EINVAL, "bad usage counter");
    }
    /* a node of a PostgreSQL store: the database counts it (pg_count.c) */
    st_capture_count(st, org_id, (apr_int64_t)day, kind);
    apr_status_t rv = day_get_counters(st, txn, org_id, day, c, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    c[kind]++;
    return st_kv_put(txn, DB(st, STATS), kb_day(&k, org_id, day), c, sizeof(c), 0, err, "usage");
}

apr_status_t st_stats_merge(orgs_store_t *st, MDB_txn *txn, const char *org_id, apr_uint32_t day,
                            const apr_uint64_t counts[ORGS_STATS_KINDS], orgs_err_t *err)
{
    apr_uint64_t c[ORGS_STATS_KINDS];
    kbuf_t k;
    if (!org_id || strlen(org_id) != ID_LEN || !day) {
        return orgs_err_set(err, APR_EINVAL, "bad usage counter");
    }
    apr_status_t rv = day_get_counters(st, txn, org_id, day, c, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* the database's count only grows: a value older than the replica's
     * (applied late) changes nothing */
    for (int i = 0; i < ORGS_STATS_KINDS; i++) {
        c[i] = counts[i] > c[i] ? counts[i] : c[i];
    }
    return st_kv_put(txn, DB(st, STATS), kb_day(&k, org_id, day), c, sizeof(c), 0, err, "usage");
}

apr_status_t st_stats_drop_org(orgs_store_t *st, MDB_txn *txn, const char *org_id, orgs_err_t *err)
{
    return drop_old(st, txn, org_id, 0, (apr_size_t)-1, err);
}

static apr_status_t stats_count(orgs_store_t *st, MDB_txn *txn, const char *org_id, int kind,
                                apr_time_t now, apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    apr_status_t rv = st_org_load(st, txn, org_id, &o, p, err);
    return rv == APR_SUCCESS ? st_stats_add(st, txn, o->id, kind, now, err) : rv;
}

apr_status_t orgs_store_stats_count(orgs_store_t *st, const char *org_id, int kind, apr_time_t now,
                                    apr_pool_t *p, orgs_err_t *err)
{
    ST_WRITE(st, txn, err, stats_count(st, txn, org_id, kind, now, p, err));
}

/* Members seen since cutoff: signed in since (the user's last sign-in),
 * or with a session of the org used since. */
static apr_status_t count_active(orgs_store_t *st, MDB_txn *txn, orgs_org_stats_t *s,
                                 apr_time_t cutoff, apr_pool_t *p, orgs_err_t *err)
{
    apr_array_header_t *ids;
    apr_hash_t *seen = apr_hash_make(p);
    iter_t it;
    kbuf_t k;
    apr_status_t rv = st_org_member_ids(st, txn, s->org_id, &ids, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    s->members = (apr_size_t)ids->nelts;
    for (int i = 0; rv == APR_SUCCESS && i < ids->nelts; i++) {
        const char *uid = st_id_str(APR_ARRAY_IDX(ids, i, const unsigned char *), "usr_", p);
        orgs_user_t *u;
        if (uid && st_user_load(st, txn, uid, &u, p, NULL) == APR_SUCCESS &&
            u->last_login >= cutoff) {
            apr_hash_set(seen, uid, APR_HASH_KEY_STRING, "");
        }
    }
    rv = st_iter_open(txn, DB(st, SESSION_IDX), st_kb1(&k, s->org_id), &it, err);
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        orgs_session_t *sess;
        if (it.k.mv_size != 2 * ID_LEN + HASH_LEN) {
            continue;
        }
        const unsigned char *hash = (const unsigned char *)it.k.mv_data + 2 * ID_LEN;
        if (st_session_load(st, txn, hash, &sess, p, NULL) == APR_SUCCESS &&
            sess->last_seen >= cutoff) {
            apr_hash_set(seen, apr_pstrmemdup(p, (const char *)it.k.mv_data + ID_LEN, ID_LEN),
                         APR_HASH_KEY_STRING, "");
        }
    }
    rv = st_iter_end(&it, rv, err);
    s->active_members = apr_hash_count(seen);
    return rv;
}

static apr_status_t org_stats(orgs_store_t *st, MDB_txn *txn, const char *ref, unsigned days,
                              apr_time_t now, orgs_org_stats_t **out, apr_pool_t *p,
                              orgs_err_t *err)
{
    orgs_org_t *o;
    orgs_org_stats_t *s = apr_pcalloc(p, sizeof(*s));
    apr_uint32_t today = day_of(now), first = today + 1 > days ? today + 1 - days : 0;
    kbuf_t k;
    MDB_val v;
    apr_status_t rv = st_org_find(st, txn, ref, &o, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    s->org_id = o->id;
    s->days = apr_array_make(p, (int)days, sizeof(orgs_stats_day_t));
    for (apr_uint32_t d = first; d <= today; d++) {
        orgs_stats_day_t *day = apr_array_push(s->days);
        apr_uint64_t c[ORGS_STATS_KINDS] = {0};
        memset(day, 0, sizeof(*day));
        day->day = (apr_time_t)d * DAY_USEC;
        if (ST_HAS_DB(st, DB_STATS)) {
            rv = st_kv_get(txn, DB(st, STATS), kb_day(&k, o->id, d), &v, err, "usage");
            if (rv == APR_SUCCESS) {
                counters_get(&v, c);
            } else if (rv != APR_NOTFOUND) {
                return rv;
            }
        }
        day->signins = c[ORGS_STATS_SIGNIN];
        day->denials = c[ORGS_STATS_DENIAL];
        day->joins = c[ORGS_STATS_JOIN];
        s->signins += day->signins;
        s->denials += day->denials;
        s->joins += day->joins;
    }
    rv = count_active(st, txn, s, (apr_time_t)first * DAY_USEC, p, err);
    *out = rv == APR_SUCCESS ? s : NULL;
    return rv;
}

apr_status_t orgs_store_org_stats(orgs_store_t *st, const char *org_ref, unsigned days,
                                  apr_time_t now, orgs_org_stats_t **out, apr_pool_t *p,
                                  orgs_err_t *err)
{
    days = days ? days : STATS_DAYS_DEFAULT;
    if (days > ORGS_STORE_STATS_DAYS) {
        return orgs_err_set(err, APR_EINVAL, "at most %d days of usage are kept",
                            ORGS_STORE_STATS_DAYS);
    }
    ST_READ(st, txn, err, org_stats(st, txn, org_ref, days, now, out, p, err));
}
