/* Core definitions shared by every part of mod_auth_orgs: status codes,
 * the caller-owned error detail, and the product's limits. Core files
 * (this directory, except the [glue] ones) never call ap_* functions. */
#ifndef ORGS_ORGS_H
#define ORGS_ORGS_H

#include <apr.h>
#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>

/* Module status codes live in APR's user range so they never collide with
 * APR_NOTFOUND / APR_EEXIST / APR_EINVAL / APR_ENOSPC, which keep their
 * usual meaning (not found, conflict, bad input, limit reached). */
#define ORGS_EBASE (APR_OS_START_USERERR + 7700)
#define ORGS_ESTORE (ORGS_EBASE + 1)     /* LMDB failure other than the ones below */
#define ORGS_ESTOREFULL (ORGS_EBASE + 2) /* map full: grow OrgsStoreMaxSize */
#define ORGS_EVERSION (ORGS_EBASE + 3)   /* store format newer than this build */
#define ORGS_ECRYPTO (ORGS_EBASE + 4)    /* OpenSSL failure or authentication tag mismatch */
#define ORGS_ENOKEY (ORGS_EBASE + 5)     /* an operation needs the crypto key and none was given */
#define ORGS_EBADSIG (ORGS_EBASE + 6)    /* JWS signature invalid / key unusable */
#define ORGS_EBADALG (ORGS_EBASE + 7)    /* algorithm not allowed */
#define ORGS_ECLAIM (ORGS_EBASE + 8)     /* a JWT claim check failed */
#define ORGS_EHTTP (ORGS_EBASE + 9)      /* remote endpoint unreachable or bad answer */
#define ORGS_EEXPIRED (ORGS_EBASE + 10)  /* state, session or invitation expired */
#define ORGS_EDENIED (ORGS_EBASE + 11)   /* authenticated but not admitted */
#define ORGS_ENOKID (ORGS_EBASE + 12)    /* no JWK with the token's kid */

/* Limits (design.md, issue 3). */
#define ORGS_NAME_MAX 50          /* org / connection slug */
#define ORGS_DISPLAY_NAME_MAX 255 /* bytes */
#define ORGS_META_MAX_PAIRS 25
#define ORGS_META_KEY_MAX 64    /* [A-Za-z0-9_], starts with a letter */
#define ORGS_META_VALUE_MAX 255 /* bytes, no control characters */
#define ORGS_DOMAIN_MAX 253
#define ORGS_DOMAINS_MAX 100 /* per org */
#define ORGS_ROLE_MAX 64     /* [A-Za-z0-9_.:-] */
#define ORGS_ROLES_MAX 50    /* per membership */
#define ORGS_EMAIL_MAX 254
#define ORGS_SUB_MAX 255
#define ORGS_URL_MAX 2048
#define ORGS_ID_CHARS 16 /* base62 characters after the prefix */

/* Caller-owned error detail: no allocation on the error path, and never a
 * secret in the text. */
typedef struct orgs_err_t {
    char msg[256];
} orgs_err_t;

/* Formats into err (if not NULL) and returns rv, so call sites can write
 * `return orgs_err_set(err, APR_EINVAL, "bad name '%s'", name);` */
apr_status_t orgs_err_set(orgs_err_t *err, apr_status_t rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Short English text for an ORGS_E* or APR status. */
const char *orgs_strerror(apr_status_t rv, char *buf, apr_size_t bufsize);

#endif
