/* libFuzzer target: src/core/parse.c. The first byte picks the parser, the rest
 * is its input string; an accepted value must satisfy what parse.h says
 * (and parse again to the same result). */
#include <apr_strings.h>

#include "fuzz.h"
#include "checks.h"
#include "parse.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    return 0;
}

static int lower_domain_ok(const char *d)
{
    size_t len = strlen(d);
    if (len < 3 || len > ORGS_DOMAIN_MAX || !strchr(d, '.')) {
        return 0;
    }
    for (const char *c = d; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '.')) {
            return 0;
        }
    }
    return d[0] != '.' && d[0] != '-' && d[len - 1] != '.' && d[len - 1] != '-' &&
           !strstr(d, "..") && !strstr(d, ".-") && !strstr(d, "-.");
}

static void do_size(const char *s)
{
    apr_uint64_t v = 0, min = (apr_uint64_t)strlen(s) << 8;
    orgs_err_t err;
    if (orgs_parse_size(s, min, &v, &err) == APR_SUCCESS) {
        FUZZ_CHECK(v > 0 && v >= min);
        FUZZ_CHECK(s[0] >= '0' && s[0] <= '9');
    }
}

static void do_duration(const char *s)
{
    apr_interval_time_t v = 0;
    orgs_err_t err;
    if (orgs_parse_duration(s, &v, &err) == APR_SUCCESS) {
        FUZZ_CHECK(v > 0 && v % APR_USEC_PER_SEC == 0);
    }
}

static void do_slug(const char *s)
{
    orgs_err_t err;
    if (orgs_check_slug(s, &err) == APR_SUCCESS) {
        size_t len = strlen(s);
        FUZZ_CHECK(len >= 1 && len <= ORGS_NAME_MAX);
        FUZZ_CHECK(strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-_") == len);
        FUZZ_CHECK(!strstr(s, "--") && !strstr(s, "__") && !strstr(s, "-_") && !strstr(s, "_-"));
        FUZZ_CHECK(strncmp(s, "org_", 4) && strncmp(s, "con_", 4) && strncmp(s, "usr_", 4));
    }
}

static void do_domain(const char *s, apr_pool_t *p)
{
    char *out = NULL, *again = NULL;
    orgs_err_t err;
    if (orgs_parse_domain(s, &out, p, &err) == APR_SUCCESS) {
        FUZZ_CHECK(strlen(out) == strlen(s) && strcasecmp(out, s) == 0);
        FUZZ_CHECK(lower_domain_ok(out));
        FUZZ_CHECK(orgs_parse_domain(out, &again, p, &err) == APR_SUCCESS);
        FUZZ_CHECK(strcmp(again, out) == 0);
    }
}

static void do_email(const char *s, apr_pool_t *p)
{
    char *out = NULL, *dom = NULL;
    const char *d = NULL;
    orgs_err_t err;
    if (orgs_parse_email(s, &out, &d, p, &err) == APR_SUCCESS) {
        size_t local = (size_t)(d - out) - 1;
        FUZZ_CHECK(strlen(out) == strlen(s) && d > out && d[-1] == '@');
        FUZZ_CHECK(local >= 1 && local <= 64 && memcmp(out, s, local) == 0);
        FUZZ_CHECK(strcasecmp(d, s + local + 1) == 0 && !strchr(d, '@'));
        FUZZ_CHECK(orgs_parse_domain(d, &dom, p, &err) == APR_SUCCESS && strcmp(dom, d) == 0);
        FUZZ_CHECK(orgs_parse_email(out, &dom, NULL, p, &err) == APR_SUCCESS);
        FUZZ_CHECK(strcmp(dom, out) == 0);
    }
}

static void do_meta(const char *s, apr_pool_t *p)
{
    char *k = NULL, *v = NULL;
    orgs_err_t err;
    if (orgs_parse_meta_pair(s, &k, &v, p, &err) == APR_SUCCESS) {
        FUZZ_CHECK(strcmp(apr_pstrcat(p, k, "=", v, NULL), s) == 0);
        FUZZ_CHECK(orgs_check_meta_key(k, &err) == APR_SUCCESS);
        FUZZ_CHECK(orgs_check_meta_value(v, &err) == APR_SUCCESS);
        FUZZ_CHECK(strlen(k) <= ORGS_META_KEY_MAX && strlen(v) <= ORGS_META_VALUE_MAX);
    }
    /* the value rules alone, on the whole input */
    if (orgs_check_meta_value(s, &err) == APR_SUCCESS) {
        for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
            FUZZ_CHECK(*c >= 0x20 && *c != 0x7f && *c != 0xc0 && *c != 0xc1 && *c < 0xf5);
        }
    }
}

static void do_text(const char *s)
{
    orgs_err_t err;
    if (orgs_check_role(s, &err) == APR_SUCCESS) {
        FUZZ_CHECK(strlen(s) <= ORGS_ROLE_MAX);
        FUZZ_CHECK(
            strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-") ==
            strlen(s));
    }
    if (orgs_check_display_name(s, &err) == APR_SUCCESS) {
        FUZZ_CHECK(*s && strlen(s) <= ORGS_DISPLAY_NAME_MAX);
    }
}

static void do_source_url(const char *s)
{
    char kind = 0;
    const char *ref = NULL;
    orgs_err_t err;
    if (orgs_parse_key_source(s, &kind, &ref, &err) == APR_SUCCESS) {
        FUZZ_CHECK((kind == 'f' && ref == s + 5 && ref[0] == '/') ||
                   (kind == 'e' && ref == s + 4 && ref[0]));
    }
    if (orgs_check_issuer_url(s, &err) == APR_SUCCESS) {
        FUZZ_CHECK(strncasecmp(s, "http", 4) == 0 && !strchr(s, '#'));
        FUZZ_CHECK(strlen(s) <= ORGS_URL_MAX);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    if (size < 1) {
        return 0;
    }
    apr_pool_create(&p, fuzz_root);
    const char *s = fuzz_cstr(data + 1, size - 1, p);
    if (s) {
        switch (data[0] % 8) {
        case 0:
            do_size(s);
            break;
        case 1:
            do_duration(s);
            break;
        case 2:
            do_slug(s);
            break;
        case 3:
            do_domain(s, p);
            break;
        case 4:
            do_email(s, p);
            break;
        case 5:
            do_meta(s, p);
            break;
        case 6:
            do_text(s);
            break;
        default:
            do_source_url(s);
            break;
        }
    }
    apr_pool_destroy(p);
    return 0;
}
