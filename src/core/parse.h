/* Pure value parsers shared by config.c and orgctl: every user-supplied
 * value is validated here once, with the same rules everywhere. Each returns
 * APR_SUCCESS or APR_EINVAL with a reason in err. */
#ifndef ORGS_PARSE_H
#define ORGS_PARSE_H

#include "orgs.h"

/* "1G", "512M", "65536", "10k" (binary units K/M/G/T, case-insensitive).
 * Rejects 0, negatives, overflow, trailing garbage; result >= min. */
apr_status_t orgs_parse_size(const char *s, apr_uint64_t min, apr_uint64_t *out, orgs_err_t *err);

/* "30s", "15m", "8h", "7d", "3600" (seconds). Rejects 0, overflow, garbage.
 * *out is in microseconds, like every apr_interval_time_t. */
apr_status_t orgs_parse_duration(const char *s, apr_interval_time_t *out, orgs_err_t *err);

/* Org / connection name: lowercase slug [a-z0-9] with inner '-' or '_',
 * 1..ORGS_NAME_MAX chars, starts with a letter or digit, no "--" rules. Must
 * not look like an id (org_/con_/usr_ prefix) so name-or-id lookups stay unambiguous. */
apr_status_t orgs_parse_slug(const char *s, orgs_err_t *err);

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
apr_status_t orgs_parse_meta_key(const char *key, orgs_err_t *err);
apr_status_t orgs_parse_meta_value(const char *value, orgs_err_t *err);

/* Role name [A-Za-z0-9_.:-], 1..ORGS_ROLE_MAX. */
apr_status_t orgs_parse_role(const char *s, orgs_err_t *err);

/* Display name: 1..ORGS_DISPLAY_NAME_MAX bytes, valid UTF-8, no control chars. */
apr_status_t orgs_parse_display_name(const char *s, orgs_err_t *err);

/* Key source "file:/abs/path" or "env:VAR": sets *kind ('f' or 'e') and *ref. */
apr_status_t orgs_parse_key_source(const char *s, char *kind, const char **ref, orgs_err_t *err);

/* An issuer URL: orgs_url_absolute_check with ORGS_URL_HTTPS (https, or
 * http only for loopback hosts: 127.0.0.0/8, ::1, localhost; no userinfo,
 * no fragment, <= ORGS_URL_MAX), its reason prefixed with "issuer ".
 * APR_ENOMEM only when no scratch pool can be made. */
apr_status_t orgs_parse_issuer_url(const char *s, orgs_err_t *err);

#endif
