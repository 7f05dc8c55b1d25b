/* The one authority on what a record may hold. The store calls these on
 * every write, so a record that breaks a rule is never stored; orgctl and
 * the admin API may call them first to fail early with the same message.
 *
 * Every apr_status_t function returns APR_SUCCESS, or sets err and returns
 * APR_EINVAL (a value breaks a rule) or APR_ENOSPC (too many values). */
#ifndef ORGS_CHECKS_H
#define ORGS_CHECKS_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "orgs.h"
#include "store.h"

#define ORGS_ID_LEN (4 + ORGS_ID_CHARS) /* "xxx_" + 16 base62 */
#define ORGS_CONN_CLIENT_ID_MAX 255     /* bytes */
#define ORGS_CONN_SCOPES_MAX 1024       /* bytes */
#define ORGS_CONN_SECRET_MAX 1024       /* bytes */
#define ORGS_CONN_ENDPOINT_HOSTS_MAX 16 /* hosts per connection */

/* 1 if s is prefix ("org_", "con_", "usr_", "inv_") + 16 base62 characters. */
int orgs_check_id(const char *s, const char *prefix);

/* Printable ASCII text of 1..max bytes; spaces allowed when spaces != 0.
 * what names the value in the message. */
apr_status_t orgs_check_text(const char *s, size_t max, int spaces, const char *what,
                             orgs_err_t *err);

/* The normalizers: *out is a new sorted array in p without repeats.
 * Metadata (orgs_kv_t): each pair valid (orgs_check_meta_key/value), later
 * pairs win, at most ORGS_META_MAX_PAIRS. Domains (const char *): each
 * orgs_parse_domain'd (lowercased), at most ORGS_DOMAINS_MAX. Roles (const
 * char *): each orgs_check_role, at most ORGS_ROLES_MAX. in may be NULL. */
apr_status_t orgs_check_meta_normalize(const apr_array_header_t *in, apr_array_header_t **out,
                                       apr_pool_t *p, orgs_err_t *err);
apr_status_t orgs_check_domains_normalize(const apr_array_header_t *in, apr_array_header_t **out,
                                          apr_pool_t *p, orgs_err_t *err);
/* A host a connection's back-channel endpoints may be on besides its
 * issuer's origin: a host name or an IP address, no scheme, port, path or
 * CIDR (the rule of OrgsBackchannelAllowHost). */
apr_status_t orgs_check_endpoint_host(const char *s, orgs_err_t *err);
/* Each orgs_check_endpoint_host, lowercased, sorted, without repeats, at
 * most ORGS_CONN_ENDPOINT_HOSTS_MAX (APR_ENOSPC). in may be NULL. */
apr_status_t orgs_check_endpoint_hosts_normalize(const apr_array_header_t *in,
                                                 apr_array_header_t **out, apr_pool_t *p,
                                                 orgs_err_t *err);
apr_status_t orgs_check_roles_normalize(const apr_array_header_t *in, apr_array_header_t **out,
                                        apr_pool_t *p, orgs_err_t *err);
/* The stored form of an email (orgs_parse_email, at most ORGS_EMAIL_MAX
 * bytes); NULL stays NULL. */
apr_status_t orgs_check_email_normalize(const char *email, const char **out, apr_pool_t *p,
                                        orgs_err_t *err);

/* ---- field rules: one per value, called by the record checks below and
 * by every front end (orgctl, the admin API) before it builds a record. */

/* Org / connection name: lowercase slug [a-z0-9] with inner '-' or '_',
 * 1..ORGS_NAME_MAX chars, starts with a letter or digit, no "--" rules. Must
 * not look like an id (org_/con_/usr_ prefix) so name-or-id lookups stay unambiguous. */
apr_status_t orgs_check_slug(const char *s, orgs_err_t *err);
/* A name derived from a label (an Ory-style "label" without a "name"):
 * lowercase letters and digits kept, every other run of characters one
 * '-', trimmed, cut at ORGS_NAME_MAX. APR_EINVAL (in err) when nothing of
 * it is left or the result is not a valid slug. */
apr_status_t orgs_check_slug_from_label(const char *label, const char **out, apr_pool_t *p,
                                        orgs_err_t *err);
/* A scope of an admin API token: "read" (GET) or "write" (every change). */
apr_status_t orgs_check_token_scope(const char *s, orgs_err_t *err);

/* Metadata key [A-Za-z][A-Za-z0-9_]* <= ORGS_META_KEY_MAX; value <=
 * ORGS_META_VALUE_MAX bytes of UTF-8 without control characters. */
apr_status_t orgs_check_meta_key(const char *key, orgs_err_t *err);
apr_status_t orgs_check_meta_value(const char *value, orgs_err_t *err);

/* Role name [A-Za-z0-9_.:-], 1..ORGS_ROLE_MAX. */
apr_status_t orgs_check_role(const char *s, orgs_err_t *err);

/* Display name: 1..ORGS_DISPLAY_NAME_MAX bytes, valid UTF-8, no control chars. */
apr_status_t orgs_check_display_name(const char *s, orgs_err_t *err);

/* An issuer URL: orgs_url_absolute_check with ORGS_URL_HTTPS (https, or
 * http only for loopback hosts: 127.0.0.0/8, ::1, localhost; no userinfo,
 * no query, no fragment, <= ORGS_URL_MAX), its reason prefixed with "issuer ".
 * APR_ENOMEM only when no scratch pool can be made. */
apr_status_t orgs_check_issuer_url(const char *s, orgs_err_t *err);

/* Whether the issuer is a known multi-tenant one, serving accounts of many
 * companies (Google, Microsoft Entra's common/organizations/consumers
 * endpoints, Apple): auto-membership through it admits every account
 * there. 1 or 0; NULL is 0. */
int orgs_check_issuer_shared(const char *issuer);

/* An auto-membership condition (orgs_signin_condition_met): "email-domain",
 * or "claim:NAME=VALUE" with NAME 1..ORGS_AUTO_CLAIM_MAX bytes of
 * [A-Za-z0-9_.:-] and VALUE 1..255 bytes of printable ASCII. APR_EINVAL
 * otherwise. */
#define ORGS_AUTO_CLAIM_MAX 64
apr_status_t orgs_check_auto_condition(const char *cond, orgs_err_t *err);

/* Scopes: 1..ORGS_CONN_SCOPES_MAX bytes of space-separated scope tokens
 * (RFC 6749 section 3.3: printable ASCII without '"' and '\'), one of
 * them "openid" (orgs_oidc_scopes_have_openid). */
apr_status_t orgs_check_conn_scopes(const char *s, orgs_err_t *err);
/* "client_secret_basic" or "client_secret_post". */
apr_status_t orgs_check_conn_auth_method(const char *s, orgs_err_t *err);
/* 1..ORGS_CONN_CLIENT_ID_MAX bytes of printable ASCII without spaces. */
apr_status_t orgs_check_conn_client_id(const char *s, orgs_err_t *err);
/* A client secret s[0..len): 1..ORGS_CONN_SECRET_MAX bytes of printable
 * ASCII (spaces allowed), no NUL byte. len is given because a secret read
 * from a file may hold a NUL that strlen would hide. The message never
 * contains the secret. Trimming what a file or variable ends with is the
 * caller's input handling (orgs_text_trim_trailing_space). */
apr_status_t orgs_check_conn_secret(const char *s, apr_size_t len, orgs_err_t *err);
/* An IdP subject: 1..ORGS_SUB_MAX bytes of printable ASCII (spaces allowed). */
apr_status_t orgs_check_user_sub(const char *s, orgs_err_t *err);

/* ---- whole records */

/* A record as the store keeps it, normalized in place: the id of its kind,
 * a slug name, a display name (the name when none), and per kind:
 *   org:  metadata and domains normalized (new sorted arrays);
 *   conn: an issuer URL, orgs_check_conn_client_id, orgs_check_conn_scopes
 *         (default ORGS_OIDC_DEFAULT_SCOPES), orgs_check_conn_auth_method
 *         (default client_secret_basic), orgs_check_conn_secret when a
 *         client secret is given, its endpoint hosts normalized;
 *   user: a connection id, a sub or an email (or both), the sub
 *         orgs_check_user_sub, the email normalized. */
apr_status_t orgs_check_org(orgs_org_t *o, apr_pool_t *p, orgs_err_t *err);
apr_status_t orgs_check_conn(orgs_conn_t *c, apr_pool_t *p, orgs_err_t *err);
apr_status_t orgs_check_user(orgs_user_t *u, apr_pool_t *p, orgs_err_t *err);

#endif
