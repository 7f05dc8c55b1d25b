/* Pending logins: the state of a sign-in between /login and /callback,
 * with the per-browser and global bounds and the expiry sweeps. */
#include <string.h>

#include "store_int.h"
#include "text.h"

#define PENDING_SWEEP 4         /* expired pending logins dropped by every put */
#define PENDING_SWEEP_FULL 256  /* per batch when the table is at its bound */
#define PENDING_SWEEP_BATCHES 8 /* batches one put may run before its insert */

static apr_status_t check_state(const char *state, orgs_err_t *err)
{
    size_t n = state ? strlen(state) : 0;
    if (n < STATE_MIN || n > STATE_MAX ||
        strspn(state, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
                      "nopqrstuvwxyz0123456789-_") != n) {
        return orgs_err_set(err, APR_EINVAL, "bad state");
    }
    return APR_SUCCESS;
}

kbuf_t *st_kb_pending_idx(kbuf_t *k, const unsigned char *browser, apr_time_t created,
                          const char *state)
{
    unsigned char t[8];
    st_put_u64be(t, (apr_uint64_t)created);
    st_kbraw(k, browser, HASH_LEN);
    st_kb_add(k, t, 8);
    st_kb_str(k, state);
    return k;
}

kbuf_t *st_kb_pending_time(kbuf_t *k, apr_time_t created, const char *state)
{
    unsigned char t[8];
    st_put_u64be(t, (apr_uint64_t)created);
    st_kbraw(k, t, 8);
    st_kb_str(k, state);
    return k;
}

/* Deletes the record and its index entries; browser NULL when unknown
 * (corrupt record): its browser index entry then stays, for check to see. */
static apr_status_t pending_erase(orgs_store_t *st, MDB_txn *txn, const unsigned char *browser,
                                  apr_time_t created, const char *state, orgs_err_t *err)
{
    kbuf_t k;
    apr_status_t rv = st_kv_del(txn, DB(st, PENDING), st_kb1(&k, state), 0, err, "pending login");
    if (rv == APR_SUCCESS) {
        rv = st_kv_del(txn, DB(st, PENDING_TIME), st_kb_pending_time(&k, created, state), 0, err,
                       "pending login");
    }
    if (rv == APR_SUCCESS && browser) {
        rv = st_kv_del(txn, DB(st, PENDING_BROWSER), st_kb_pending_idx(&k, browser, created, state),
                       0, err, "pending login");
    }
    return rv;
}

/* ORGS_ESTORE when the record is unreadable. */
apr_status_t st_pending_load(orgs_store_t *st, MDB_txn *txn, const char *state,
                             orgs_pending_t **out, apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    json_t *j;
    apr_status_t rv =
        st_get_json(txn, DB(st, PENDING), st_kb1(&k, state), &j, err, "pending login");
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = st_pending_decode(j, out, p, err);
    json_decref(j);
    if (rv == APR_SUCCESS) {
        (*out)->state = apr_pstrdup(p, state);
    }
    return rv;
}

/* Drops up to max expired pending logins (now - created > ttl) of any
 * browser, oldest first: a walk of the time index that stops at the first
 * live entry, so it costs O(max), never a scan. *more: the batch was
 * filled, so expired entries may remain. */
static apr_status_t pending_sweep(orgs_store_t *st, MDB_txn *txn, apr_time_t now,
                                  apr_interval_time_t ttl, int max, int *more, apr_pool_t *p,
                                  orgs_err_t *err)
{
    iter_t it;
    apr_array_header_t *old = apr_array_make(p, max, sizeof(blob_t));
    apr_status_t rv = st_iter_open(txn, DB(st, PENDING_TIME), NULL, &it, err);
    *more = 0;
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        if (it.k.mv_size > 8 &&
            now - (apr_time_t)st_get_u64be((const unsigned char *)it.k.mv_data) <= ttl) {
            break; /* oldest first: the rest is live */
        }
        if (old->nelts == max) {
            *more = 1;
            break;
        }
        blob_t *b = apr_array_push(old);
        b->klen = it.k.mv_size;
        b->k = apr_pstrmemdup(p, it.k.mv_data, it.k.mv_size);
    }
    apr_status_t rv2 = st_iter_close(&it, err);
    rv = rv != APR_SUCCESS ? rv : rv2;
    for (int i = 0; rv == APR_SUCCESS && i < old->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(old, i, blob_t);
        orgs_pending_t *pl;
        kbuf_t k;
        if (b->klen <= 8) { /* malformed entry: only the entry itself can go */
            rv = st_kv_del(txn, DB(st, PENDING_TIME), st_kbraw(&k, b->k, b->klen), 0, err,
                           "pending login");
            continue;
        }
        const char *state = b->k + 8;
        apr_time_t created = (apr_time_t)st_get_u64be((const unsigned char *)b->k);
        rv = st_pending_load(st, txn, state, &pl, p, err);
        if (rv == APR_SUCCESS && pl->created != created) { /* stale entry: not this record's */
            rv = st_kv_del(txn, DB(st, PENDING_TIME), st_kb_pending_time(&k, created, state), 0,
                           err, "pending login");
        } else if (rv == APR_SUCCESS || rv == APR_NOTFOUND || rv == ORGS_ESTORE) {
            rv =
                pending_erase(st, txn, rv == APR_SUCCESS ? pl->browser : NULL, created, state, err);
        }
    }
    return rv;
}

/* Keeps the table within st->pending_max: at the bound, drops expired
 * entries (in batches, oldest first) until there is room; APR_ENOSPC when
 * all are live. */
static apr_status_t pending_room(orgs_store_t *st, MDB_txn *txn, apr_time_t now,
                                 apr_interval_time_t ttl, apr_pool_t *p, orgs_err_t *err)
{
    MDB_stat ms;
    apr_pool_t *batch;
    apr_status_t rv = APR_SUCCESS;
    int rc, more = 1;
    if ((rv = st_pool_new(&batch, p, err)) != APR_SUCCESS) {
        return rv;
    }
    while ((rc = mdb_stat(txn, DB(st, PENDING), &ms)) == MDB_SUCCESS &&
           ms.ms_entries >= st->pending_max && more && rv == APR_SUCCESS) {
        rv = pending_sweep(st, txn, now, ttl, PENDING_SWEEP_FULL, &more, batch, err);
        apr_pool_clear(batch);
    }
    apr_pool_destroy(batch);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (rc != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "pending logins");
    }
    if (ms.ms_entries >= st->pending_max) {
        return orgs_err_set(err, APR_ENOSPC,
                            "too many sign-ins in progress (%" APR_SIZE_T_FMT
                            ", all recent): try again later",
                            (apr_size_t)ms.ms_entries);
    }
    return APR_SUCCESS;
}

static apr_status_t pending_put(orgs_store_t *st, MDB_txn *txn, const orgs_pending_t *pl,
                                unsigned max_per_browser, apr_interval_time_t ttl, apr_pool_t *p,
                                orgs_err_t *err)
{
    apr_array_header_t *mine;
    kbuf_t k;
    apr_status_t rv;
    apr_time_t now = pl->created ? pl->created : apr_time_now();
    if ((rv = check_state(pl->state, err)) != APR_SUCCESS) {
        return rv;
    }
    if (!pl->nonce || !pl->code_verifier || strlen(pl->nonce) > STATE_MAX ||
        strlen(pl->code_verifier) > STATE_MAX ||
        (pl->return_to && strlen(pl->return_to) > ORGS_URL_MAX) ||
        (pl->invite && strlen(pl->invite) > STATE_MAX)) {
        return orgs_err_set(err, APR_EINVAL, "bad pending login");
    }
    /* (a few old ones of any browser went in pending_sweep_own, before
     * this transaction) */
    rv = st_collect(txn, DB(st, PENDING_BROWSER), st_kbraw(&k, pl->browser, HASH_LEN), &mine, p,
                    err);
    int left = 0;
    for (int i = 0; rv == APR_SUCCESS && i < mine->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(mine, i, blob_t);
        apr_time_t created = (apr_time_t)st_get_u64be((const unsigned char *)b->k + HASH_LEN);
        if (now - created > ttl) {
            rv = pending_erase(st, txn, pl->browser, created, b->k + HASH_LEN + 8, err);
        } else {
            left++;
        }
    }
    /* entries are oldest first (big-endian time in the key) */
    for (int i = 0;
         rv == APR_SUCCESS && i < mine->nelts && max_per_browser && left >= (int)max_per_browser;
         i++) {
        const blob_t *b = &APR_ARRAY_IDX(mine, i, blob_t);
        apr_time_t created = (apr_time_t)st_get_u64be((const unsigned char *)b->k + HASH_LEN);
        if (now - created <= ttl) {
            rv = pending_erase(st, txn, pl->browser, created, b->k + HASH_LEN + 8, err);
            left--;
        }
    }
    /* a client without the browser cookie is a new browser each time: only
     * the global bound limits those */
    if (rv == APR_SUCCESS) {
        rv = pending_room(st, txn, now, ttl, p, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    orgs_pending_t rec = *pl;
    rec.created = now;
    rv = st_put_json_new(txn, DB(st, PENDING), st_kb1(&k, pl->state), st_pending_encode(&rec, p),
                         MDB_NOOVERWRITE, err, "pending login");
    if (rv == APR_SUCCESS) {
        rv = st_kv_put(txn, DB(st, PENDING_BROWSER),
                       st_kb_pending_idx(&k, pl->browser, now, pl->state), "", 0, 0, err,
                       "pending login");
    }
    if (rv == APR_SUCCESS) {
        rv = st_kv_put(txn, DB(st, PENDING_TIME), st_kb_pending_time(&k, now, pl->state), "", 0, 0,
                       err, "pending login");
    }
    return rv;
}

/* One sweep transaction ahead of an insert: a few expired entries, or a
 * full batch when the table is at its bound (*more then says whether
 * expired ones remain). */
static apr_status_t pending_sweep_ahead(orgs_store_t *st, MDB_txn *txn, apr_time_t now,
                                        apr_interval_time_t ttl, int *more, apr_pool_t *p,
                                        orgs_err_t *err)
{
    MDB_stat ms;
    int rc = mdb_stat(txn, DB(st, PENDING), &ms);
    if (rc != MDB_SUCCESS) {
        return st_mdb_fail(rc, err, "pending logins");
    }
    int full = ms.ms_entries >= st->pending_max;
    apr_status_t rv =
        pending_sweep(st, txn, now, ttl, full ? PENDING_SWEEP_FULL : PENDING_SWEEP, more, p, err);
    *more = *more && full;
    return rv;
}

/* The sweep runs in transactions of its own, before the insert's, and may
 * use the reserve: on a full store the expired entries still go, so the
 * next sign-in finds room even when this insert is refused. Bounded: the
 * sign-in that triggers it pays for PENDING_SWEEP_BATCHES at most. */
static apr_status_t pending_sweep_own(orgs_store_t *st, apr_time_t now, apr_interval_time_t ttl,
                                      apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv = APR_SUCCESS;
    int more = 1;
    for (int i = 0; rv == APR_SUCCESS && more && i < PENDING_SWEEP_BATCHES; i++) {
        apr_pool_t *bp;
        if ((rv = st_pool_new(&bp, p, err)) != APR_SUCCESS) {
            return rv;
        }
        ST_RELEASE_RV(rv, st, txn, err, pending_sweep_ahead(st, txn, now, ttl, &more, bp, err));
        apr_pool_destroy(bp);
    }
    return rv;
}

apr_status_t orgs_store_pending_put(orgs_store_t *st, const orgs_pending_t *pl,
                                    unsigned max_per_browser, apr_interval_time_t ttl,
                                    apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv =
        pending_sweep_own(st, pl->created ? pl->created : apr_time_now(), ttl, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    ST_WRITE(st, txn, err, pending_put(st, txn, pl, max_per_browser, ttl, p, err));
}

/* ---- admission: per-client and per-network bounds, eviction ------------ */

#define TAG_CHARS 11         /* base64url of ORGS_STORE_CLIENT_TAG_LEN bytes */
#define CLIENT_TIME_CHARS 16 /* created, hex, big-endian: a client's keys sort by age */
#define NET_PFX TAG_CHARS    /* the network's tag */
#define CLIENT_TAG_END (2 * TAG_CHARS)
#define CLIENT_PFX (CLIENT_TAG_END + CLIENT_TIME_CHARS)

/* Drops the pending login whose time index entry is (created, state), as
 * the sweep does: a stale index entry (no record, or another record's
 * time) goes alone. *live: it was not expired yet. */
static apr_status_t pending_evict(orgs_store_t *st, MDB_txn *txn, apr_time_t created,
                                  const char *state, apr_time_t now, apr_interval_time_t ttl,
                                  int *live, apr_pool_t *p, orgs_err_t *err)
{
    orgs_pending_t *pl;
    kbuf_t k;
    apr_status_t rv = st_pending_load(st, txn, state, &pl, p, err);
    *live = 0;
    if (rv == APR_SUCCESS && pl->created != created) {
        return st_kv_del(txn, DB(st, PENDING_TIME), st_kb_pending_time(&k, created, state), 0, err,
                         "pending login");
    }
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND && rv != ORGS_ESTORE) {
        return rv;
    }
    *live = rv == APR_SUCCESS && now - created <= ttl;
    return pending_erase(st, txn, rv == APR_SUCCESS ? pl->browser : NULL, created, state, err);
}

/* Drops the pending login stored under state, whatever its layout (its
 * time read from the record); an unreadable record goes alone, its time
 * index entry is left to the sweep's walk, which drops stale ones. */
static apr_status_t pending_evict_state(orgs_store_t *st, MDB_txn *txn, const char *state,
                                        apr_time_t now, apr_interval_time_t ttl, int *live,
                                        apr_pool_t *p, orgs_err_t *err)
{
    orgs_pending_t *pl;
    kbuf_t k;
    apr_status_t rv = st_pending_load(st, txn, state, &pl, p, err);
    *live = 0;
    if (rv == ORGS_ESTORE) {
        return st_kv_del(txn, DB(st, PENDING), st_kb1(&k, state), 0, err, "pending login");
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *live = now - pl->created <= ttl;
    return pending_erase(st, txn, pl->browser, pl->created, state, err);
}

/* A key's first len bytes, zero-padded when shorter. */
static void key_prefix(char *dst, const char *key, apr_size_t n, apr_size_t len)
{
    memcpy(dst, key, n < len ? n : len);
    if (n < len) {
        memset(dst + n, 0, len - n);
    }
}

#define KEY_BUF 512 /* LMDB's largest key is 511 bytes */

/* Between two client-layout keys, whether a was created before b (the
 * fixed-width hex time after the tags); other keys: never. */
static int older(const char *a, const char *b)
{
    return strlen(a) > CLIENT_PFX && strlen(b) > CLIENT_PFX &&
           memcmp(a + CLIENT_TAG_END, b + CLIENT_TAG_END, CLIENT_TIME_CHARS) < 0;
}

/* The table at its bound with no expired entry: the fullest network (by
 * the first NET_PFX bytes of the keys: a network's entries are one range)
 * gives up the oldest entry of its fullest client (a client's first key
 * is its oldest: the time follows the tag; between clients as full, the
 * older entry). One walk of the table, only
 * while it is full. *state NULL when the table is empty. */
static apr_status_t fullest_network_oldest(orgs_store_t *st, MDB_txn *txn, const char **state,
                                           apr_pool_t *p, orgs_err_t *err)
{
    iter_t it;
    apr_status_t rv = st_iter_open(txn, DB(st, PENDING), NULL, &it, err);
    char net[NET_PFX], client[CLIENT_TAG_END];
    char client_first[KEY_BUF], net_top[KEY_BUF], best[KEY_BUF];
    apr_size_t net_n = 0, client_n = 0, net_top_n = 0, best_net_n = 0, best_client_n = 0;
    int have = 0;

    *state = NULL;
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        const char *key = it.k.mv_data;
        apr_size_t n = it.k.mv_size < KEY_BUF ? it.k.mv_size : KEY_BUF - 1;
        int in_net = have && memcmp(key, net, n < NET_PFX ? n : NET_PFX) == 0 && n >= NET_PFX;
        int in_client = in_net && n >= CLIENT_TAG_END && memcmp(key, client, CLIENT_TAG_END) == 0;
        if (!in_net) {
            key_prefix(net, key, n, NET_PFX);
            net_n = net_top_n = 0;
            have = 1;
        }
        if (!in_client) {
            key_prefix(client, key, n, CLIENT_TAG_END);
            memcpy(client_first, key, n);
            client_first[n] = '\0';
            client_n = 0;
        }
        client_n++;
        net_n++;
        if (client_n > net_top_n || (client_n == net_top_n && older(client_first, net_top))) {
            net_top_n = client_n;
            memcpy(net_top, client_first, sizeof(net_top));
        }
        if (net_n > best_net_n || (net_n == best_net_n && net_top_n > best_client_n)) {
            best_net_n = net_n;
            best_client_n = net_top_n;
            memcpy(best, net_top, sizeof(best));
        }
    }
    rv = st_iter_end(&it, rv, err);
    if (rv == APR_SUCCESS && best_net_n) {
        *state = apr_pstrdup(p, best);
    }
    return rv;
}

/* The whole table at its global bound: expired entries go first (the
 * oldest, through the time index), then live ones of the fullest network,
 * one by one, until there is room. */
static apr_status_t admit_room(orgs_store_t *st, MDB_txn *txn, apr_time_t now,
                               apr_interval_time_t ttl, apr_size_t *evicted, apr_pool_t *p,
                               orgs_err_t *err)
{
    MDB_stat ms;
    apr_status_t rv = APR_SUCCESS;
    int rc;
    while (rv == APR_SUCCESS && (rc = mdb_stat(txn, DB(st, PENDING), &ms)) == MDB_SUCCESS &&
           ms.ms_entries >= st->pending_max) {
        iter_t it;
        char *key = NULL;
        size_t klen = 0;
        int live;
        rv = st_iter_open(txn, DB(st, PENDING_TIME), NULL, &it, err);
        if (rv == APR_SUCCESS && st_iter_next(&it)) {
            klen = it.k.mv_size;
            key = apr_pstrmemdup(p, it.k.mv_data, klen);
        }
        rv = st_iter_end(&it, rv, err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (key && klen <= 8) {
            kbuf_t k;
            rv = st_kv_del(txn, DB(st, PENDING_TIME), st_kbraw(&k, key, klen), 0, err,
                           "pending login");
            continue;
        }
        if (key && now - (apr_time_t)st_get_u64be((const unsigned char *)key) > ttl) {
            rv = pending_evict(st, txn, (apr_time_t)st_get_u64be((const unsigned char *)key),
                               key + 8, now, ttl, &live, p, err);
            continue;
        }
        const char *victim = NULL;
        rv = fullest_network_oldest(st, txn, &victim, p, err);
        if (rv != APR_SUCCESS || !victim) {
            return rv;
        }
        rv = pending_evict_state(st, txn, victim, now, ttl, &live, p, err);
        *evicted += live ? 1 : 0;
    }
    return rv == APR_SUCCESS && rc != MDB_SUCCESS ? st_mdb_fail(rc, err, "pending logins") : rv;
}

/* A live entry of a range: its key (the stored state) and its time. */
typedef struct live_t {
    const char *state;
    apr_time_t created;
} live_t;

static int live_older(const void *a, const void *b)
{
    const live_t *x = a, *y = b;
    return x->created < y->created ? -1 : x->created > y->created;
}

/* The live entries whose key starts with pfx (a network's tag, or a
 * network's and a client's), oldest first. */
static apr_status_t range_live(orgs_store_t *st, MDB_txn *txn, const char *pfx, apr_size_t plen,
                               apr_time_t now, apr_interval_time_t ttl, apr_array_header_t **live,
                               apr_pool_t *p, orgs_err_t *err)
{
    iter_t it;
    kbuf_t k;
    apr_status_t rv = st_iter_open(txn, DB(st, PENDING), st_kbraw(&k, pfx, plen), &it, err);
    *live = apr_array_make(p, 8, sizeof(live_t));
    while (rv == APR_SUCCESS && st_iter_next(&it)) {
        const char *key = it.k.mv_data;
        char hex[CLIENT_TIME_CHARS + 1];
        if (it.k.mv_size <= CLIENT_PFX) {
            continue;
        }
        memcpy(hex, key + CLIENT_TAG_END, CLIENT_TIME_CHARS);
        hex[CLIENT_TIME_CHARS] = '\0';
        apr_time_t created = (apr_time_t)apr_strtoi64(hex, NULL, 16);
        if (now - created <= ttl) {
            live_t *l = apr_array_push(*live);
            l->state = apr_pstrmemdup(p, key, it.k.mv_size);
            l->created = created;
        }
    }
    rv = st_iter_end(&it, rv, err);
    if (rv == APR_SUCCESS && (*live)->nelts > 1) {
        qsort((*live)->elts, (size_t)(*live)->nelts, sizeof(live_t), live_older);
    }
    return rv;
}

/* Keeps at most max - 1 live entries of a range (oldest dropped), so that
 * one more fits. */
static apr_status_t range_trim(orgs_store_t *st, MDB_txn *txn, apr_array_header_t *live,
                               apr_size_t max, apr_time_t now, apr_interval_time_t ttl,
                               apr_size_t *evicted, apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv = APR_SUCCESS;
    for (int i = 0; rv == APR_SUCCESS && max && (apr_size_t)(live->nelts - i) >= max; i++) {
        const live_t *l = &APR_ARRAY_IDX(live, i, live_t);
        int was_live;
        rv = pending_evict(st, txn, l->created, l->state, now, ttl, &was_live, p, err);
        *evicted += was_live ? 1 : 0;
    }
    return rv;
}

static apr_status_t pending_admit(orgs_store_t *st, MDB_txn *txn, orgs_pending_t *pl,
                                  const orgs_pending_admit_t *lim, apr_size_t *evicted,
                                  apr_pool_t *p, orgs_err_t *err)
{
    static const unsigned char no_net[ORGS_STORE_CLIENT_TAG_LEN] = {0};
    apr_time_t now = pl->created ? pl->created : apr_time_now();
    apr_status_t rv = check_state(pl->state, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (lim->client) {
        const char *net =
            orgs_text_b64url_encode(lim->net ? lim->net : no_net, ORGS_STORE_CLIENT_TAG_LEN, p);
        const char *tag = apr_pstrcat(
            p, net, orgs_text_b64url_encode(lim->client, ORGS_STORE_CLIENT_TAG_LEN, p), NULL);
        apr_array_header_t *live, *net_live;
        if (strlen(tag) != CLIENT_TAG_END || strlen(pl->state) > STATE_MAX - CLIENT_PFX) {
            return orgs_err_set(err, APR_EINVAL, "bad pending login");
        }
        if ((rv = range_live(st, txn, tag, CLIENT_TAG_END, now, lim->ttl, &live, p, err)) !=
            APR_SUCCESS) {
            return rv;
        }
        if (!lim->proven && lim->unproven_max && (apr_size_t)live->nelts >= lim->unproven_max) {
            return orgs_err_set(err, ORGS_EDENIED,
                                "this client has %d sign-ins in progress: it must show a cookie",
                                live->nelts);
        }
        rv = range_trim(st, txn, live, lim->max_per_client, now, lim->ttl, evicted, p, err);
        if (rv == APR_SUCCESS && lim->max_per_net) {
            rv = range_live(st, txn, tag, NET_PFX, now, lim->ttl, &net_live, p, err);
            if (rv == APR_SUCCESS) {
                rv =
                    range_trim(st, txn, net_live, lim->max_per_net, now, lim->ttl, evicted, p, err);
            }
        }
        pl->state =
            apr_psprintf(p, "%s%016" APR_UINT64_T_HEX_FMT "%s", tag, (apr_uint64_t)now, pl->state);
    }
    if (rv == APR_SUCCESS) {
        rv = admit_room(st, txn, now, lim->ttl, evicted, p, err);
    }
    if (rv == APR_SUCCESS) {
        pl->created = now;
        rv = pending_put(st, txn, pl, lim->max_per_browser, lim->ttl, p, err);
    }
    return rv;
}

apr_status_t orgs_store_pending_admit(orgs_store_t *st, orgs_pending_t *pl,
                                      const orgs_pending_admit_t *lim, apr_size_t *evicted,
                                      apr_pool_t *p, orgs_err_t *err)
{
    const char *state = pl->state;
    apr_status_t rv;
    *evicted = 0;
    /* expired entries go first, in transactions of their own (as for
     * orgs_store_pending_put): a full store still frees them */
    rv = pending_sweep_own(st, pl->created ? pl->created : apr_time_now(), lim->ttl, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    ST_WRITE_RV(rv, st, txn, err, pending_admit(st, txn, pl, lim, evicted, p, err));
    if (rv != APR_SUCCESS) {
        pl->state = state; /* nothing was written */
        *evicted = 0;
    }
    return rv;
}

apr_size_t orgs_store_pending_max_for(apr_uint64_t map_size)
{
    apr_uint64_t n = map_size / 4 / ORGS_STORE_PENDING_BYTES;
    return n > ORGS_STORE_PENDING_MAX ? ORGS_STORE_PENDING_MAX : (apr_size_t)n;
}

void orgs_store_pending_set_max(orgs_store_t *st, apr_size_t max)
{
    st->pending_max = max ? max : ORGS_STORE_PENDING_MAX;
}

/* The pending login of state if browser is the one it was issued to:
 * APR_NOTFOUND when unknown (or a bad state), ORGS_EDENIED otherwise. The
 * browser check comes before any delete: a state that leaked (logs,
 * Referer) cannot be used by another browser to burn this login. */
static apr_status_t pending_check(orgs_store_t *st, MDB_txn *txn, const char *state,
                                  const unsigned char *browser, orgs_pending_t **out, apr_pool_t *p,
                                  orgs_err_t *err)
{
    apr_status_t rv = check_state(state, err);
    if (rv == APR_SUCCESS) {
        rv = st_pending_load(st, txn, state, out, p, err);
    }
    if (rv != APR_SUCCESS) {
        return rv == APR_EINVAL ? orgs_err_set(err, APR_NOTFOUND, "unknown state") : rv;
    }
    if (!browser || !orgs_crypto_ct_equal(browser, (*out)->browser, HASH_LEN)) {
        return orgs_err_set(err, ORGS_EDENIED, "state was issued to another browser");
    }
    return APR_SUCCESS;
}

/* take: checked, then deleted whatever its age; get: checked, deleted only
 * when expired (*expired then). */
static apr_status_t pending_take(orgs_store_t *st, MDB_txn *txn, const char *state,
                                 const unsigned char *browser, int consume, apr_time_t now,
                                 apr_interval_time_t ttl, orgs_pending_t **out, int *expired,
                                 apr_pool_t *p, orgs_err_t *err)
{
    orgs_pending_t *pl;
    apr_status_t rv = pending_check(st, txn, state, browser, &pl, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = pl;
    *expired = now - pl->created > ttl;
    return consume || *expired ? pending_erase(st, txn, pl->browser, pl->created, state, err)
                               : APR_SUCCESS;
}

/* orgs_store_pending_take and _get: aborted (nothing deleted) unless the
 * browser matched. */
static apr_status_t pending_read(orgs_store_t *st, const char *state, const unsigned char *browser,
                                 int consume, apr_time_t now, apr_interval_time_t ttl,
                                 orgs_pending_t **out, apr_pool_t *p, orgs_err_t *err)
{
    orgs_pending_t *pl = NULL;
    int expired = 0;
    apr_status_t rv;
    ST_RELEASE_RV(rv, st, txn, err,
                  pending_take(st, txn, state, browser, consume, now, ttl, &pl, &expired, p, err));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (expired) {
        return orgs_err_set(err, ORGS_EEXPIRED, "login took too long, please start again");
    }
    *out = pl;
    return APR_SUCCESS;
}

apr_status_t orgs_store_pending_take(orgs_store_t *st, const char *state,
                                     const unsigned char browser[32], apr_time_t now,
                                     apr_interval_time_t ttl, orgs_pending_t **out, apr_pool_t *p,
                                     orgs_err_t *err)
{
    return pending_read(st, state, browser, 1, now, ttl, out, p, err);
}

apr_status_t orgs_store_pending_get(orgs_store_t *st, const char *state,
                                    const unsigned char browser[32], apr_time_t now,
                                    apr_interval_time_t ttl, orgs_pending_t **out, apr_pool_t *p,
                                    orgs_err_t *err)
{
    return pending_read(st, state, browser, 0, now, ttl, out, p, err);
}

apr_status_t st_pending_consume(orgs_store_t *st, MDB_txn *txn, const char *state,
                                const orgs_signin_t *expect, apr_pool_t *p, orgs_err_t *err)
{
    orgs_pending_t *pl;
    apr_status_t rv = check_state(state, err);
    if (rv == APR_SUCCESS) {
        rv = st_pending_load(st, txn, state, &pl, p, err);
    }
    if (rv == APR_EINVAL || rv == APR_NOTFOUND) {
        return orgs_err_set(err, APR_NOTFOUND, "pending login gone (used already?)");
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* A sign-in consumes only the login it was started for, and only
     * while it is fresh: the IdP round trip since the read may have been
     * long. */
    if (expect && (!expect->org_id || !expect->conn_id || strcmp(pl->org_id, expect->org_id) != 0 ||
                   strcmp(pl->conn_id, expect->conn_id) != 0)) {
        return orgs_err_set(err, ORGS_EDENIED, "pending login is for another org or connection");
    }
    if (expect && expect->ttl > 0 && expect->now - pl->created > expect->ttl) {
        return orgs_err_set(err, ORGS_EEXPIRED, "pending login expired");
    }
    return pending_erase(st, txn, pl->browser, pl->created, state, err);
}

apr_status_t orgs_store_pending_delete(orgs_store_t *st, const char *state, apr_pool_t *p,
                                       orgs_err_t *err)
{
    ST_RELEASE(st, txn, err, st_pending_consume(st, txn, state, NULL, p, err));
}
