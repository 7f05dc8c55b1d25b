/* Unit tests for src/core/store/window.c: counts in fixed windows, the
 * records behind the per-tenant rates (a connection's new users, an org's
 * admin API changes) and the database's counts merged into them. */
#include "fixture.h"
#include "store/store_int.h"

#define LEN apr_time_from_sec(60)

typedef struct {
    const char *key;
    apr_uint64_t limit;
    apr_time_t now, ends;
} take_t;

static apr_status_t take_in(orgs_store_t *st, MDB_txn *txn, take_t *t)
{
    kbuf_t k;
    return st_window_take(txn, DB(st, CACHE), st_kb1(&k, t->key), LEN, t->limit, t->now, &t->ends,
                          &err, "test");
}

/* One take in its own transaction (committed unless refused). */
static apr_status_t take(orgs_store_t *st, const char *key, apr_uint64_t limit, apr_time_t now,
                         apr_time_t *ends)
{
    take_t t = {key, limit, now, 0};
    apr_status_t rv;
    ST_WRITE_RV(rv, st, txn, &err, take_in(st, txn, &t));
    *ends = t.ends;
    return rv;
}

typedef struct {
    const char *key;
    apr_time_t start;
    apr_uint64_t count;
} rec_t;

static apr_status_t get_in(orgs_store_t *st, MDB_txn *txn, rec_t *r)
{
    kbuf_t k;
    return st_window_get(txn, DB(st, CACHE), st_kb1(&k, r->key), &r->start, &r->count, &err,
                         "test");
}

static apr_status_t get(orgs_store_t *st, const char *key, apr_time_t *start, apr_uint64_t *count)
{
    rec_t r = {key, 0, 0};
    apr_status_t rv;
    ST_READ_RV(rv, st, txn, &err, get_in(st, txn, &r));
    *start = r.start;
    *count = r.count;
    return rv;
}

static apr_status_t put_in(orgs_store_t *st, MDB_txn *txn, const rec_t *r)
{
    kbuf_t k;
    return st_window_put(txn, DB(st, CACHE), st_kb1(&k, r->key), r->start, r->count, &err, "test");
}

static apr_status_t put(orgs_store_t *st, const char *key, apr_time_t start, apr_uint64_t count)
{
    rec_t r = {key, start, count};
    apr_status_t rv;
    ST_WRITE_RV(rv, st, txn, &err, put_in(st, txn, &r));
    return rv;
}

/* A raw value of n bytes at key: what an older or damaged record looks like. */
static apr_status_t put_raw_in(orgs_store_t *st, MDB_txn *txn, const char *key, size_t n)
{
    kbuf_t k;
    char junk[64];
    memset(junk, '7', sizeof(junk));
    return st_kv_put(txn, DB(st, CACHE), st_kb1(&k, key), junk, n, 0, &err, "test");
}

static apr_status_t put_raw(orgs_store_t *st, const char *key, size_t n)
{
    apr_status_t rv;
    ST_WRITE_RV(rv, st, txn, &err, put_raw_in(st, txn, key, n));
    return rv;
}

START_TEST(take_counts_to_the_limit_then_refuses)
{
    orgs_store_t *st = open_store();
    apr_time_t now = apr_time_from_sec(1000000), ends = 0, start;
    apr_uint64_t count;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(take(st, "w:a", 3, now + apr_time_from_sec(i), &ends), APR_SUCCESS);
        ck_assert_int_eq(ends, now + LEN);
    }
    /* the fourth within the minute: refused, and not counted */
    ck_assert_int_eq(take(st, "w:a", 3, now + apr_time_from_sec(59), &ends), APR_ENOSPC);
    ck_assert_int_eq(ends, now + LEN);
    ck_assert_int_eq(get(st, "w:a", &start, &count), APR_SUCCESS);
    ck_assert_int_eq(start, now);
    ck_assert_uint_eq(count, 3);
    /* a higher limit goes on counting in the same window */
    ck_assert_int_eq(take(st, "w:a", 4, now + apr_time_from_sec(59), &ends), APR_SUCCESS);
    ck_assert_int_eq(get(st, "w:a", &start, &count), APR_SUCCESS);
    ck_assert_uint_eq(count, 4);
    /* another key has its own window */
    ck_assert_int_eq(take(st, "w:b", 1, now, &ends), APR_SUCCESS);
    ck_assert_int_eq(take(st, "w:b", 1, now, &ends), APR_ENOSPC);
    /* no limit: never refused */
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(take(st, "w:b", 0, now, &ends), APR_SUCCESS);
    }
    ck_assert_int_eq(get(st, "w:b", &start, &count), APR_SUCCESS);
    ck_assert_uint_eq(count, 11);
    orgs_store_close(st);
}
END_TEST

START_TEST(a_new_window_starts_at_now)
{
    orgs_store_t *st = open_store();
    apr_time_t now = apr_time_from_sec(1000000), ends = 0, start;
    apr_uint64_t count;
    ck_assert_int_eq(take(st, "w:a", 1, now, &ends), APR_SUCCESS);
    ck_assert_int_eq(take(st, "w:a", 1, now + LEN - 1, &ends), APR_ENOSPC);
    /* the window's end: a new one, from now, not from the old end */
    ck_assert_int_eq(take(st, "w:a", 1, now + LEN + 5, &ends), APR_SUCCESS);
    ck_assert_int_eq(ends, now + 2 * LEN + 5);
    ck_assert_int_eq(get(st, "w:a", &start, &count), APR_SUCCESS);
    ck_assert_int_eq(start, now + LEN + 5);
    ck_assert_uint_eq(count, 1);
    /* a window that starts later than now (a clock stepped back): a new
     * one at now, so a wrong clock cannot hold a tenant out */
    ck_assert_int_eq(take(st, "w:a", 1, now, &ends), APR_SUCCESS);
    ck_assert_int_eq(get(st, "w:a", &start, &count), APR_SUCCESS);
    ck_assert_int_eq(start, now);
    ck_assert_uint_eq(count, 1);
    orgs_store_close(st);
}
END_TEST

START_TEST(put_and_get_round_trip)
{
    orgs_store_t *st = open_store();
    apr_time_t start;
    apr_uint64_t count;
    ck_assert_int_eq(get(st, "w:none", &start, &count), APR_NOTFOUND);
    ck_assert_int_eq(put(st, "w:a", apr_time_from_sec(42), APR_UINT64_MAX), APR_SUCCESS);
    ck_assert_int_eq(get(st, "w:a", &start, &count), APR_SUCCESS);
    ck_assert_int_eq(start, apr_time_from_sec(42));
    ck_assert_uint_eq(count, APR_UINT64_MAX);
    ck_assert_int_eq(put(st, "w:a", 7, 0), APR_SUCCESS);
    ck_assert_int_eq(get(st, "w:a", &start, &count), APR_SUCCESS);
    ck_assert_int_eq(start, 7);
    ck_assert_uint_eq(count, 0);
    orgs_store_close(st);
}
END_TEST

START_TEST(a_record_of_another_shape_is_none)
{
    orgs_store_t *st = open_store();
    apr_time_t now = apr_time_from_sec(1000000), ends, start;
    apr_uint64_t count;
    /* too short to hold a count, or longer than any count */
    ck_assert_int_eq(put_raw(st, "w:short", 8), APR_SUCCESS);
    ck_assert_int_eq(put_raw(st, "w:long", 40), APR_SUCCESS);
    ck_assert_int_eq(get(st, "w:short", &start, &count), APR_NOTFOUND);
    ck_assert_int_eq(get(st, "w:long", &start, &count), APR_NOTFOUND);
    /* a take replaces it with a window of its own */
    ck_assert_int_eq(take(st, "w:long", 1, now, &ends), APR_SUCCESS);
    ck_assert_int_eq(get(st, "w:long", &start, &count), APR_SUCCESS);
    ck_assert_int_eq(start, now);
    ck_assert_uint_eq(count, 1);
    orgs_store_close(st);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, take_counts_to_the_limit_then_refuses);
    tcase_add_test(tc, a_new_window_starts_at_now);
    tcase_add_test(tc, put_and_get_round_trip);
    tcase_add_test(tc, a_record_of_another_shape_is_none);
}

int main(void)
{
    return fixture_run("store_window", add_tests);
}
