/* Unit tests for src/core/cookie.c: finding one cookie in the Cookie
 * headers (the conflict rule included) and the Set-Cookie builder. */
#include "testutil.h"
#include "cookie.h"
#include "crypto.h"

TESTUTIL_POOL_FIXTURE

/* One vector: up to two Cookie headers, the name looked for, and what the
 * scan must answer (want NULL: absent or empty). */
typedef struct {
    const char *h1, *h2;
    const char *name;
    apr_status_t rv;
    const char *want;
} scan_vector_t;

static const scan_vector_t scan_vectors[] = {
    /* found */
    {"orgs_org=acme", NULL, "orgs_org", APR_SUCCESS, "acme"},
    {"a=1; orgs_org=acme; b=2", NULL, "orgs_org", APR_SUCCESS, "acme"},
    {"a=1;orgs_org=acme;b=2", NULL, "orgs_org", APR_SUCCESS, "acme"},
    {" \t;; orgs_org=acme \t ;", NULL, "orgs_org", APR_SUCCESS, "acme"},
    {"orgs_org=a=b", NULL, "orgs_org", APR_SUCCESS, "a=b"},
    {"orgs_org= acme", NULL, "orgs_org", APR_SUCCESS, " acme"}, /* leading blank kept */
    {"orgs_org=acme; orgs_org=acme", NULL, "orgs_org", APR_SUCCESS, "acme"},
    {"orgs_org=acme", "orgs_org=acme ", "orgs_org", APR_SUCCESS, "acme"},
    {"x=1", "orgs_org=acme", "orgs_org", APR_SUCCESS, "acme"},
    {"__Host-orgs_org=acme; orgs_org=evil", NULL, "__Host-orgs_org", APR_SUCCESS, "acme"},
    /* absent or empty */
    {"", NULL, "orgs_org", APR_SUCCESS, NULL},
    {"orgs_org", NULL, "orgs_org", APR_SUCCESS, NULL},
    {"orgs_org=", NULL, "orgs_org", APR_SUCCESS, NULL},
    {"orgs_org=  ", NULL, "orgs_org", APR_SUCCESS, NULL},
    {"orgs_orgx=acme", NULL, "orgs_org", APR_SUCCESS, NULL},
    {"xorgs_org=acme", NULL, "orgs_org", APR_SUCCESS, NULL},
    {"orgs_or=acme", NULL, "orgs_org", APR_SUCCESS, NULL},
    {"ORGS_ORG=acme", NULL, "orgs_org", APR_SUCCESS, NULL}, /* names are case-sensitive */
    {"orgs_org =acme", NULL, "orgs_org", APR_SUCCESS, NULL},
    {"__Host-orgs_org=acme", NULL, "orgs_org", APR_SUCCESS, NULL},
    {"orgs_org=acme", NULL, "__Host-orgs_org", APR_SUCCESS, NULL},
    {"a=orgs_org=acme", NULL, "orgs_org", APR_SUCCESS, NULL},
    /* sent twice with different values: neither is trusted */
    {"orgs_org=acme; orgs_org=evil", NULL, "orgs_org", APR_EEXIST, NULL},
    {"orgs_org=acme", "orgs_org=evil", "orgs_org", APR_EEXIST, NULL},
    {"orgs_org=acme; orgs_org=", NULL, "orgs_org", APR_EEXIST, NULL},
    {"orgs_org=; orgs_org=acme", NULL, "orgs_org", APR_EEXIST, NULL},
    {"orgs_org=acme; orgs_org=acm", NULL, "orgs_org", APR_EEXIST, NULL},
    {"orgs_org=acme; orgs_org=acme2", NULL, "orgs_org", APR_EEXIST, NULL},
};

START_TEST(test_scan_vectors)
{
    for (size_t i = 0; i < sizeof(scan_vectors) / sizeof(scan_vectors[0]); i++) {
        const scan_vector_t *v = &scan_vectors[i];
        orgs_cookie_scan_t scan;
        const char *value = "unset";
        orgs_cookie_scan_init(&scan, v->name);
        if (orgs_cookie_scan_feed(&scan, v->h1) && v->h2) {
            orgs_cookie_scan_feed(&scan, v->h2);
        }
        apr_status_t rv = orgs_cookie_scan_value(&scan, &value, pool);
        ck_assert_msg(rv == v->rv, "vector %zu (%s | %s): rv %d", i, v->h1, v->h2 ? v->h2 : "-",
                      rv);
        if (v->want) {
            ck_assert_msg(value && strcmp(value, v->want) == 0, "vector %zu: got '%s', want '%s'",
                          i, value ? value : "(null)", v->want);
        } else {
            ck_assert_msg(value == NULL, "vector %zu: got '%s', want none", i, value);
        }
    }
}
END_TEST

/* The one-pass search of a name and a prefix answers every vector as the
 * plain search does: the name as the first cookie, and as a prefixed one
 * (its last two characters the suffix asked for). */
START_TEST(test_pair_scan_vectors)
{
    for (size_t i = 0; i < sizeof(scan_vectors) / sizeof(scan_vectors[0]); i++) {
        const scan_vector_t *v = &scan_vectors[i];
        apr_size_t n = strlen(v->name);
        const char *prefix = apr_pstrndup(pool, v->name, n - 2);
        for (int as_prefixed = 0; as_prefixed < 2; as_prefixed++) {
            orgs_cookie_pair_scan_t scan;
            const char *value = "unset";
            apr_status_t rv;
            orgs_cookie_pair_scan_init(&scan, as_prefixed ? "unrelated" : v->name,
                                       as_prefixed ? prefix : "zz_");
            orgs_cookie_pair_scan_feed(&scan, v->h1);
            if (v->h2) {
                orgs_cookie_pair_scan_feed(&scan, v->h2);
            }
            rv = as_prefixed ? orgs_cookie_pair_scan_value(&scan, v->name + n - 2, &value, pool)
                             : orgs_cookie_scan_value(&scan.first, &value, pool);
            ck_assert_msg(rv == v->rv, "vector %zu/%d (%s | %s): rv %d", i, as_prefixed, v->h1,
                          v->h2 ? v->h2 : "-", rv);
            if (v->want) {
                ck_assert_msg(value && strcmp(value, v->want) == 0,
                              "vector %zu/%d: got '%s', want '%s'", i, as_prefixed,
                              value ? value : "(null)", v->want);
            } else {
                ck_assert_msg(value == NULL, "vector %zu/%d: got '%s', want none", i, as_prefixed,
                              value);
            }
        }
    }
}
END_TEST

/* Both in one header, in either order; more prefixed cookies than are
 * kept asks for a scan of the one name. */
START_TEST(test_pair_scan_both_and_overflow)
{
    orgs_cookie_pair_scan_t scan;
    const char *value;
    orgs_cookie_pair_scan_init(&scan, "orgs_org", "orgs_sess_");
    orgs_cookie_pair_scan_feed(&scan, "orgs_sess_b=2; x=1; orgs_org=b; orgs_sess_a=1");
    ck_assert_int_eq(orgs_cookie_scan_value(&scan.first, &value, pool), APR_SUCCESS);
    ck_assert_str_eq(value, "b");
    ck_assert_int_eq(orgs_cookie_pair_scan_value(&scan, "b", &value, pool), APR_SUCCESS);
    ck_assert_str_eq(value, "2");
    ck_assert_int_eq(orgs_cookie_pair_scan_value(&scan, "a", &value, pool), APR_SUCCESS);
    ck_assert_str_eq(value, "1");
    ck_assert_int_eq(orgs_cookie_pair_scan_value(&scan, "c", &value, pool), APR_SUCCESS);
    ck_assert_ptr_null(value);
    orgs_cookie_pair_scan_feed(&scan, "orgs_sess_c=3; orgs_sess_d=4; orgs_sess_e=5");
    ck_assert_int_eq(orgs_cookie_pair_scan_value(&scan, "b", &value, pool), APR_INCOMPLETE);
    ck_assert_ptr_null(value);
}
END_TEST

/* Once a conflict is seen the caller may stop reading headers, and a later
 * header cannot undo it. */
START_TEST(test_scan_conflict_stops_and_sticks)
{
    orgs_cookie_scan_t scan;
    const char *value;
    orgs_cookie_scan_init(&scan, "n");
    ck_assert_int_eq(orgs_cookie_scan_feed(&scan, "n=1"), 1);
    ck_assert_int_eq(orgs_cookie_scan_feed(&scan, "n=2"), 0);
    ck_assert_int_eq(orgs_cookie_scan_feed(&scan, "n=1"), 0);
    ck_assert_int_eq(orgs_cookie_scan_value(&scan, &value, pool), APR_EEXIST);
    ck_assert_ptr_null(value);
}
END_TEST

START_TEST(test_scan_value_is_a_copy)
{
    char header[] = "n=abc";
    orgs_cookie_scan_t scan;
    const char *value;
    orgs_cookie_scan_init(&scan, "n");
    orgs_cookie_scan_feed(&scan, header);
    ck_assert_int_eq(orgs_cookie_scan_value(&scan, &value, pool), APR_SUCCESS);
    header[2] = 'X';
    ck_assert_str_eq(value, "abc");
}
END_TEST

/* ---- strip: the module's cookies never reach the app ------------------ */

static const char *const strip_names[] = {"orgs_sess_", "orgs_org", "orgs_browser", NULL};

typedef struct {
    const char *in;
    const char *want; /* NULL: nothing left */
    int removed;
} strip_vector_t;

static const strip_vector_t strip_vectors[] = {
    {"a=1; b=2", "a=1; b=2", 0},
    {"a=1;b=2", "a=1; b=2", 0},
    {"orgs_sess_org1=tok", NULL, 1},
    {"a=1; orgs_sess_org1=tok; b=2", "a=1; b=2", 1},
    {"orgs_org=org1; orgs_browser=xyz; app=keep", "app=keep", 2},
    {"__Host-orgs_sess_org1=tok; __Host-orgs_browser=x; app=1", "app=1", 2},
    {" \t;; orgs_org=acme \t ; x=1 ;", "x=1", 1},
    {"orgs_org =acme; y=2", "y=2", 1},             /* a lenient reader would see orgs_org */
    {"orgs_sess_=x; z=3", "orgs_sess_=x; z=3", 0}, /* the prefix alone is no org */
    {"orgs_orgx=1; xorgs_org=2; ORGS_ORG=3", "orgs_orgx=1; xorgs_org=2; ORGS_ORG=3", 0},
    {"orgs_browser", NULL, 1},
    {"a=orgs_org=acme", "a=orgs_org=acme", 0},
    {"", NULL, 0},
    {";;", NULL, 0},
};

START_TEST(test_strip_vectors)
{
    const strip_vector_t *v = &strip_vectors[_i];
    int removed = 0;
    const char *got = orgs_cookie_strip(v->in, strip_names, &removed, pool);
    ck_assert_int_eq(removed, v->removed);
    if (v->want) {
        ck_assert_ptr_nonnull(got);
        ck_assert_str_eq(got, v->want);
    } else {
        ck_assert_ptr_null(got);
    }
}
END_TEST

START_TEST(test_name)
{
    ck_assert_str_eq(orgs_cookie_name("orgs_org", 0, pool), "orgs_org");
    ck_assert_str_eq(orgs_cookie_name("orgs_org", 1, pool), "__Host-orgs_org");
}
END_TEST

/* The exact headers the module has always sent. */
START_TEST(test_header_make)
{
    ck_assert_str_eq(orgs_cookie_header_make("orgs_browser", "tok", 0, -1, pool),
                     "orgs_browser=tok; Path=/; HttpOnly; SameSite=Lax");
    ck_assert_str_eq(orgs_cookie_header_make("orgs_browser", "tok", 1, -1, pool),
                     "__Host-orgs_browser=tok; Path=/; HttpOnly; SameSite=Lax; Secure");
    ck_assert_str_eq(orgs_cookie_header_make("orgs_sess_acme", "sid", 0, 28800, pool),
                     "orgs_sess_acme=sid; Path=/; HttpOnly; SameSite=Lax; Max-Age=28800");
    ck_assert_str_eq(orgs_cookie_header_make("orgs_sess_acme", "sid", 1, 28800, pool),
                     "__Host-orgs_sess_acme=sid; Path=/; HttpOnly; SameSite=Lax; Secure; "
                     "Max-Age=28800");
}
END_TEST

START_TEST(test_header_make_removal)
{
    ck_assert_str_eq(orgs_cookie_header_make("orgs_org", "", 0, 0, pool),
                     "orgs_org=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    ck_assert_str_eq(orgs_cookie_header_make("orgs_org", "", 1, 0, pool),
                     "__Host-orgs_org=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0");
}
END_TEST

/* What the builder writes, the scanner reads back (as a browser would send it). */
START_TEST(test_header_roundtrip)
{
    for (int https = 0; https <= 1; https++) {
        const char *hdr = orgs_cookie_header_make("orgs_sess_acme", "AbC-_09", https, 60, pool);
        const char *sent = apr_pstrmemdup(pool, hdr, strcspn(hdr, ";"));
        orgs_cookie_scan_t scan;
        const char *value;
        orgs_cookie_scan_init(&scan, orgs_cookie_name("orgs_sess_acme", https, pool));
        orgs_cookie_scan_feed(&scan, apr_pstrcat(pool, "other=1; ", sent, NULL));
        ck_assert_int_eq(orgs_cookie_scan_value(&scan, &value, pool), APR_SUCCESS);
        ck_assert_str_eq(value, "AbC-_09");
    }
}
END_TEST

/* Only the shape of a drawn session id reaches a lookup. */
START_TEST(test_sid_ok)
{
    for (int i = 0; i < 50; i++) {
        char *sid;
        ck_assert_int_eq(orgs_crypto_random_token(32, &sid, pool), APR_SUCCESS);
        ck_assert(orgs_cookie_sid_ok(sid));
    }
    ck_assert(orgs_cookie_sid_ok("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    ck_assert(orgs_cookie_sid_ok("_-9zZ_-9zZ_-9zZ_-9zZ_-9zZ_-9zZ_-9zZ_-9zZ_-8"));
    ck_assert(!orgs_cookie_sid_ok(NULL));
    ck_assert(!orgs_cookie_sid_ok(""));
    ck_assert(!orgs_cookie_sid_ok("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));   /* 42 */
    ck_assert(!orgs_cookie_sid_ok("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")); /* 44 */
    ck_assert(
        !orgs_cookie_sid_ok("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB")); /* bits past 256 */
    ck_assert(
        !orgs_cookie_sid_ok("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+A")); /* base64, not url */
    ck_assert(!orgs_cookie_sid_ok("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
    ck_assert(!orgs_cookie_sid_ok("' OR 1=1 --"));
}
END_TEST

static Suite *cookie_suite(void)
{
    Suite *s = suite_create("cookie");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_scan_vectors);
    tcase_add_test(tc, test_scan_conflict_stops_and_sticks);
    tcase_add_test(tc, test_scan_value_is_a_copy);
    tcase_add_test(tc, test_pair_scan_vectors);
    tcase_add_test(tc, test_pair_scan_both_and_overflow);
    tcase_add_test(tc, test_name);
    tcase_add_test(tc, test_header_make);
    tcase_add_test(tc, test_header_make_removal);
    tcase_add_test(tc, test_header_roundtrip);
    tcase_add_test(tc, test_sid_ok);
    tcase_add_loop_test(tc, test_strip_vectors, 0,
                        (int)(sizeof(strip_vectors) / sizeof(strip_vectors[0])));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(cookie_suite());
}
