/* Pure value parsers: sizes, durations, domains, emails, metadata pairs and
 * key sources, each turned into its value. The rules that only accept or
 * refuse a value are checks.c's. No allocation on error. */
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "checks.h"
#include "parse.h"
#include "text.h"

/* Decimal digits into *v; returns the first non-digit. NULL on no digits or
 * overflow. */
static const char *parse_uint(const char *s, apr_uint64_t *v)
{
    apr_uint64_t n = 0;
    const char *q = s;

    for (; orgs_text_is_digit((unsigned char)*q); q++) {
        unsigned d = (unsigned)(*q - '0');
        if (n > (APR_UINT64_MAX - d) / 10) {
            return NULL;
        }
        n = n * 10 + d;
    }
    if (q == s) {
        return NULL;
    }
    *v = n;
    return q;
}

apr_status_t orgs_parse_size(const char *s, apr_uint64_t min, apr_uint64_t *out, orgs_err_t *err)
{
    apr_uint64_t n, mult = 1;
    const char *q;

    if (!s || !*s) {
        return orgs_err_set(err, APR_EINVAL, "empty size");
    }
    q = parse_uint(s, &n);
    if (!q) {
        return orgs_err_set(err, APR_EINVAL,
                            "size must be a positive number with an optional K, M, G or T unit");
    }
    switch (orgs_text_to_lower((unsigned char)*q)) {
    case '\0':
        break;
    case 'k':
        mult = 1ull << 10;
        break;
    case 'm':
        mult = 1ull << 20;
        break;
    case 'g':
        mult = 1ull << 30;
        break;
    case 't':
        mult = 1ull << 40;
        break;
    default:
        return orgs_err_set(err, APR_EINVAL, "unknown size unit: use K, M, G or T");
    }
    if (*q && q[1]) {
        return orgs_err_set(err, APR_EINVAL, "trailing characters after the size unit");
    }
    if (n == 0) {
        return orgs_err_set(err, APR_EINVAL, "size must be greater than 0");
    }
    if (n > APR_UINT64_MAX / mult) {
        return orgs_err_set(err, APR_EINVAL, "size too large");
    }
    n *= mult;
    if (n < min) {
        return orgs_err_set(err, APR_EINVAL, "size must be at least %" APR_UINT64_T_FMT " bytes",
                            min);
    }
    *out = n;
    return APR_SUCCESS;
}

apr_status_t orgs_parse_duration(const char *s, apr_interval_time_t *out, orgs_err_t *err)
{
    apr_uint64_t n, mult = 1;
    const char *q;

    if (!s || !*s) {
        return orgs_err_set(err, APR_EINVAL, "empty duration");
    }
    q = parse_uint(s, &n);
    if (!q) {
        return orgs_err_set(err, APR_EINVAL,
                            "duration must be a positive number with an optional s, m, h or d "
                            "unit");
    }
    switch (*q) {
    case '\0':
    case 's':
        break;
    case 'm':
        mult = 60;
        break;
    case 'h':
        mult = 3600;
        break;
    case 'd':
        mult = 86400;
        break;
    default:
        return orgs_err_set(err, APR_EINVAL, "unknown duration unit: use s, m, h or d");
    }
    if (*q && q[1]) {
        return orgs_err_set(err, APR_EINVAL, "trailing characters after the duration unit");
    }
    if (n == 0) {
        return orgs_err_set(err, APR_EINVAL, "duration must be greater than 0");
    }
    /* In microseconds, like every apr_interval_time_t: must fit a signed
     * 64-bit value. */
    if (n > (apr_uint64_t)APR_INT64_MAX / APR_USEC_PER_SEC / mult) {
        return orgs_err_set(err, APR_EINVAL, "duration too large");
    }
    *out = (apr_interval_time_t)(n * mult) * APR_USEC_PER_SEC;
    return APR_SUCCESS;
}

/* Checks an already-lowercased domain of length len. */
static apr_status_t check_domain(const char *d, apr_size_t len, orgs_err_t *err)
{
    apr_size_t label = 0;
    int labels = 1;

    if (len == 0) {
        return orgs_err_set(err, APR_EINVAL, "empty domain");
    }
    if (len > ORGS_DOMAIN_MAX) {
        return orgs_err_set(err, APR_EINVAL, "domain longer than %d characters", ORGS_DOMAIN_MAX);
    }
    for (apr_size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)d[i];
        if (c == '.') {
            if (label == 0) {
                return orgs_err_set(err, APR_EINVAL, "domain has an empty label");
            }
            if (d[i - 1] == '-') {
                return orgs_err_set(err, APR_EINVAL, "domain label must not end with '-'");
            }
            label = 0;
            labels++;
            continue;
        }
        if (!orgs_text_is_lower_alnum(c) && c != '-') {
            return orgs_err_set(err, APR_EINVAL,
                                "domain may contain only ASCII letters, digits, '-' and '.' "
                                "(use the xn-- form for international names)");
        }
        if (c == '-' && label == 0) {
            return orgs_err_set(err, APR_EINVAL, "domain label must not start with '-'");
        }
        if (++label > 63) {
            return orgs_err_set(err, APR_EINVAL, "domain label longer than 63 characters");
        }
    }
    if (label == 0) {
        return orgs_err_set(err, APR_EINVAL, "domain must not end with '.'");
    }
    if (d[len - 1] == '-') {
        return orgs_err_set(err, APR_EINVAL, "domain label must not end with '-'");
    }
    if (labels < 2) {
        return orgs_err_set(err, APR_EINVAL, "domain needs at least two labels (e.g. example.com)");
    }
    return APR_SUCCESS;
}

apr_status_t orgs_parse_domain(const char *s, char **out, apr_pool_t *p, orgs_err_t *err)
{
    char buf[ORGS_DOMAIN_MAX + 1];
    apr_size_t len;
    apr_status_t rv;

    if (!s || !*s) {
        return orgs_err_set(err, APR_EINVAL, "empty domain");
    }
    len = strlen(s);
    if (len > ORGS_DOMAIN_MAX) {
        return orgs_err_set(err, APR_EINVAL, "domain longer than %d characters", ORGS_DOMAIN_MAX);
    }
    for (apr_size_t i = 0; i < len; i++) {
        buf[i] = (char)orgs_text_to_lower((unsigned char)s[i]);
    }
    buf[len] = '\0';
    rv = check_domain(buf, len, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = apr_pstrmemdup(p, buf, len);
    return APR_SUCCESS;
}

apr_status_t orgs_parse_email(const char *s, char **out, const char **domain_out, apr_pool_t *p,
                              orgs_err_t *err)
{
    char buf[ORGS_EMAIL_MAX + 1];
    const char *at;
    apr_size_t len, local;
    apr_status_t rv;

    if (!s || !*s) {
        return orgs_err_set(err, APR_EINVAL, "empty email");
    }
    len = strlen(s);
    if (len > ORGS_EMAIL_MAX) {
        return orgs_err_set(err, APR_EINVAL, "email longer than %d characters", ORGS_EMAIL_MAX);
    }
    at = strrchr(s, '@');
    if (!at) {
        return orgs_err_set(err, APR_EINVAL, "email needs a '@'");
    }
    local = (apr_size_t)(at - s);
    if (local == 0 || local > 64) {
        return orgs_err_set(err, APR_EINVAL, "email local part must be 1..64 characters");
    }
    for (apr_size_t i = 0; i < local; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == '@') {
            return orgs_err_set(err, APR_EINVAL,
                                "email local part must be printable ASCII without spaces");
        }
    }
    memcpy(buf, s, local + 1);
    for (apr_size_t i = local + 1; i < len; i++) {
        buf[i] = (char)orgs_text_to_lower((unsigned char)s[i]);
    }
    buf[len] = '\0';
    rv = check_domain(buf + local + 1, len - local - 1, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = apr_pstrmemdup(p, buf, len);
    if (domain_out) {
        *domain_out = *out + local + 1;
    }
    return APR_SUCCESS;
}

apr_status_t orgs_parse_meta_pair(const char *s, char **key, char **value, apr_pool_t *p,
                                  orgs_err_t *err)
{
    const char *eq;
    char kbuf[ORGS_META_KEY_MAX + 1];
    apr_size_t klen;
    apr_status_t rv;

    if (!s || !*s) {
        return orgs_err_set(err, APR_EINVAL, "empty metadata pair");
    }
    eq = strchr(s, '=');
    if (!eq) {
        return orgs_err_set(err, APR_EINVAL, "metadata must be KEY=VALUE");
    }
    klen = (apr_size_t)(eq - s);
    if (klen == 0) {
        return orgs_err_set(err, APR_EINVAL, "empty metadata key");
    }
    if (klen > ORGS_META_KEY_MAX) {
        return orgs_err_set(err, APR_EINVAL, "metadata key longer than %d characters",
                            ORGS_META_KEY_MAX);
    }
    memcpy(kbuf, s, klen);
    kbuf[klen] = '\0';
    rv = orgs_check_meta_key(kbuf, err);
    if (rv == APR_SUCCESS) {
        rv = orgs_check_meta_value(eq + 1, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *key = apr_pstrmemdup(p, kbuf, klen);
    *value = apr_pstrdup(p, eq + 1);
    return APR_SUCCESS;
}

apr_status_t orgs_parse_key_source(const char *s, char *kind, const char **ref, orgs_err_t *err)
{
    if (s && strncmp(s, "file:", 5) == 0) {
        const char *path = s + 5;
        if (path[0] != '/') {
            return orgs_err_set(err, APR_EINVAL, "key file path must be absolute");
        }
        for (const char *q = path; *q; q++) {
            if ((unsigned char)*q < 0x20 || *q == 0x7f) {
                return orgs_err_set(err, APR_EINVAL, "key file path has a control character");
            }
        }
        *kind = 'f';
        *ref = path;
        return APR_SUCCESS;
    }
    if (s && strncmp(s, "env:", 4) == 0) {
        const char *var = s + 4;
        if (!orgs_text_is_alpha((unsigned char)var[0]) && var[0] != '_') {
            return orgs_err_set(err, APR_EINVAL,
                                "environment variable name must start with a letter or '_'");
        }
        for (const char *q = var; *q; q++) {
            if (!orgs_text_is_alpha((unsigned char)*q) && !orgs_text_is_digit((unsigned char)*q) &&
                *q != '_') {
                return orgs_err_set(err, APR_EINVAL,
                                    "environment variable name may contain only letters, digits "
                                    "and '_'");
            }
        }
        *kind = 'e';
        *ref = var;
        return APR_SUCCESS;
    }
    return orgs_err_set(err, APR_EINVAL, "key source must be file:/PATH or env:VAR");
}
