/* libFuzzer target: src/core/url.c. The input is one string, given to
 * orgs_url_return_to_check, orgs_url_absolute_check, orgs_url_decode (both
 * modes), orgs_url_query_parse and orgs_url_append_params; beyond "no crash",
 * each accepted input must satisfy what url.h promises. */
#include <strings.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "fuzz.h"
#include "url.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    return 0;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* An accepted return_to: re-checked from scratch, and its path part
 * decoded once must still be a plain local path. */
static void check_return_to(const char *rt, apr_pool_t *p)
{
    orgs_err_t err;
    if (orgs_url_return_to_check(rt, &err) != APR_SUCCESS) {
        FUZZ_CHECK(strstr(err.msg, "return_to") == err.msg);
        return;
    }
    size_t len = strlen(rt);
    FUZZ_CHECK(len >= 1 && len <= ORGS_URL_MAX);
    FUZZ_CHECK(rt[0] == '/' && rt[1] != '/' && rt[1] != '\\');
    for (const char *c = rt; *c; c++) {
        unsigned char u = (unsigned char)*c;
        FUZZ_CHECK(u > 0x20 && u < 0x7f && !strchr("\\<>\"`", u));
        if (u == '%') {
            FUZZ_CHECK(is_hex(c[1]) && is_hex(c[2]));
        }
    }
    char *path = apr_pstrmemdup(p, rt, strcspn(rt, "?#")), *dec;
    FUZZ_CHECK(orgs_url_decode(path, 0, &dec, p, NULL) == APR_SUCCESS);
    FUZZ_CHECK(dec[0] == '/' && dec[1] != '/' && dec[1] != '\\');
    FUZZ_CHECK(!strchr(dec, '\\') && !strchr(dec, '%'));
    for (const unsigned char *c = (const unsigned char *)dec; *c; c++) {
        FUZZ_CHECK(*c >= 0x20 && *c != 0x7f);
    }
    /* no "." or ".." segment after the one decoding */
    for (const char *seg = dec + 1;;) {
        size_t n = strcspn(seg, "/");
        FUZZ_CHECK(!((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')));
        if (!seg[n]) {
            break;
        }
        seg += n + 1;
    }
}

static void check_decode(const char *s, int form, apr_pool_t *p)
{
    char *out;
    if (orgs_url_decode(s, form, &out, p, NULL) != APR_SUCCESS) {
        return;
    }
    size_t n = strlen(out), pct = 0;
    for (const char *c = s; *c; c++) {
        pct += *c == '%';
    }
    /* every escape is 3 bytes in, 1 out, and no escape decodes to NUL */
    FUZZ_CHECK(n == strlen(s) - 2 * pct);
    /* encode then decode is the identity */
    char *back;
    FUZZ_CHECK(orgs_url_decode(orgs_url_encode(out, p), form, &back, p, NULL) == APR_SUCCESS);
    FUZZ_CHECK(strcmp(back, out) == 0);
}

/* The part of url between its first '?' (before any '#') and the '#'. */
static const char *query_of(const char *url, apr_pool_t *p)
{
    size_t end = strcspn(url, "#");
    const char *q = memchr(url, '?', end);
    return q ? apr_pstrmemdup(p, q + 1, end - (size_t)(q + 1 - url)) : "";
}

/* Non-empty pieces of a query, duplicates included (what the pair cap counts). */
static int query_pairs(const char *q)
{
    int n = 0;
    while (*q) {
        size_t len = strcspn(q, "&");
        n += len > 0;
        q += len + (q[len] == '&');
    }
    return n;
}

static void check_query(const char *s, apr_pool_t *p)
{
    apr_table_t *t;
    if (orgs_url_query_parse(s, &t, p) != APR_SUCCESS) {
        return;
    }
    const apr_array_header_t *a = apr_table_elts(t);
    FUZZ_CHECK(a->nelts <= ORGS_URL_QUERY_MAX_PAIRS);
    /* a parameter appended to s as a base URL comes back out of its query,
     * when the base's own query parses and leaves room for it */
    const char *v = apr_table_get(t, "fz");
    if (!v) {
        v = s;
    }
    char *url = orgs_url_append_params(s, p, "zz\xff", v, "skip", NULL, NULL);
    apr_table_t *t2;
    const char *base_q = query_of(s, p);
    if (orgs_url_query_parse(base_q, &t2, p) == APR_SUCCESS &&
        query_pairs(base_q) < ORGS_URL_QUERY_MAX_PAIRS && !apr_table_get(t2, "zz\xff")) {
        FUZZ_CHECK(orgs_url_query_parse(query_of(url, p), &t2, p) == APR_SUCCESS);
        const char *got = apr_table_get(t2, "zz\xff");
        FUZZ_CHECK(got && strcmp(got, v) == 0);
        FUZZ_CHECK(!apr_table_get(t2, "skip"));
        const char *hash = strchr(s, '#');
        FUZZ_CHECK(!hash || strcmp(strchr(url, '#'), hash) == 0);
    }
}

/* An accepted absolute URL: printable ASCII, http(s), no userinfo or
 * fragment; the flags only ever make it stricter. */
static void check_absolute(const char *s, apr_pool_t *p)
{
    orgs_err_t err;
    apr_status_t rv = orgs_url_absolute_check(s, 0, p, &err);
    if (rv != APR_SUCCESS) {
        FUZZ_CHECK(rv == APR_EINVAL && strncmp(err.msg, "URL ", 4) == 0);
        FUZZ_CHECK(orgs_url_absolute_check(s, ORGS_URL_HTTPS | ORGS_URL_NO_QUERY, p, &err) ==
                   APR_EINVAL);
        return;
    }
    size_t len = strlen(s);
    FUZZ_CHECK(len >= 1 && len <= ORGS_URL_MAX);
    for (const char *c = s; *c; c++) {
        FUZZ_CHECK((unsigned char)*c > 0x20 && (unsigned char)*c < 0x7f);
    }
    FUZZ_CHECK(strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0);
    FUZZ_CHECK(!strchr(s, '#'));
    const char *auth = strstr(s, "//") + 2;
    FUZZ_CHECK(!memchr(auth, '@', strcspn(auth, "/?")));
    if (orgs_url_absolute_check(s, ORGS_URL_NO_QUERY, p, &err) == APR_SUCCESS) {
        FUZZ_CHECK(!strchr(s, '?'));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    apr_pool_create(&p, fuzz_root);
    char *s = fuzz_cstr(data, size, p);
    if (s) {
        check_return_to(s, p);
        check_absolute(s, p);
        check_decode(s, 0, p);
        check_decode(s, 1, p);
        check_query(s, p);
    }
    apr_pool_destroy(p);
    return 0;
}
