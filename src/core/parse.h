/* Pure value parsers shared by the store, config.c and orgctl: a value with
 * an out result (a size, a duration, a lowercased domain or email, a
 * metadata pair, a key source). The rules that only accept or refuse a
 * value are checks.h's. Each returns APR_SUCCESS or APR_EINVAL with a
 * reason in err. */
#ifndef ORGS_PARSE_H
#define ORGS_PARSE_H

#include "orgs.h"

/* "1G", "512M", "65536", "10k" (binary units K/M/G/T, case-insensitive).
 * Rejects 0, negatives, overflow, trailing garbage; result >= min. */
apr_status_t orgs_parse_size(const char *s, apr_uint64_t min, apr_uint64_t *out, orgs_err_t *err);

/* "30s", "15m", "8h", "7d", "3600" (seconds). Rejects 0, overflow, garbage.
 * *out is in microseconds, like every apr_interval_time_t. */
apr_status_t orgs_parse_duration(const char *s, apr_interval_time_t *out, orgs_err_t *err);

/* Email domain: lowercased into *out (pool p). ASCII only (IDNA A-labels
 * "xn--" are fine), labels 1..63 of [a-z0-9-] not starting/ending with '-',
 * at least two labels, total <= ORGS_DOMAIN_MAX, no trailing dot. */
apr_status_t orgs_parse_domain(const char *s, char **out, apr_pool_t *p, orgs_err_t *err);

/* Email: local@domain, domain checked as above, lowercased domain into
 * *out; local part printable ASCII without spaces. *domain_out points into *out. */
apr_status_t orgs_parse_email(const char *s, char **out, const char **domain_out, apr_pool_t *p,
                              orgs_err_t *err);

/* Metadata "K=V" split; key [A-Za-z][A-Za-z0-9_]* <= ORGS_META_KEY_MAX,
 * value <= ORGS_META_VALUE_MAX bytes, no control characters. */
apr_status_t orgs_parse_meta_pair(const char *s, char **key, char **value, apr_pool_t *p,
                                  orgs_err_t *err);

/* Key source "file:/abs/path" or "env:VAR": sets *kind ('f' or 'e') and *ref. */
apr_status_t orgs_parse_key_source(const char *s, char *kind, const char **ref, orgs_err_t *err);

#endif
