/* The module's cookies on the wire: finding one in the Cookie request
 * headers (with the rule for a name sent twice) and writing Set-Cookie.
 * Pure and httpd-free, so the unit tests and a fuzzer reach them; the glue
 * (src/httpd/endpoints.c) feeds the request's headers and logs. */
#ifndef ORGS_COOKIE_H
#define ORGS_COOKIE_H

#include "orgs.h"

/* The prefix that pins a cookie to this host and path "/" on https, so a
 * sibling subdomain cannot plant or overwrite it. */
#define ORGS_COOKIE_HOST_PREFIX "__Host-"

/* The search for one cookie across all Cookie headers of a request. The
 * header is scanned in place (it is read on every request), and value
 * points into the header fed last that held the name. */
typedef struct orgs_cookie_scan_t {
    const char *name; /* the cookie's name on the wire */
    apr_size_t len;
    const char *value; /* first value seen, not NUL-terminated; NULL when not seen */
    apr_size_t vlen;
    int conflict; /* the name came again with another value */
} orgs_cookie_scan_t;

/* Starts a search for name (the name on the wire: see orgs_cookie_name). */
void orgs_cookie_scan_init(orgs_cookie_scan_t *scan, const char *name);

/* Feeds one Cookie header ("a=1; b=2"). Returns 0 once the name was seen
 * twice with different values (no need to read further headers), 1 to go
 * on. Pairs are split on ';' with blanks and tabs around them dropped; a
 * pair without '=' or with another name is skipped. */
int orgs_cookie_scan_feed(orgs_cookie_scan_t *scan, const char *header);

/* The outcome: APR_SUCCESS with *value a copy in p of the value, or NULL
 * when the cookie is absent or empty; APR_EEXIST when it came twice with
 * different values (*value NULL): one of them may have been planted by a
 * sibling host or for a narrower path, so neither is trusted, as httpd's
 * own reader does. */
apr_status_t orgs_cookie_scan_value(const orgs_cookie_scan_t *scan, const char **value,
                                    apr_pool_t *p);

/* Two searches in one pass, for the request path: a cookie by name
 * (first, as orgs_cookie_scan_t) and the cookies whose name starts with
 * prefix (kept, up to ORGS_COOKIE_PREFIXED_MAX of them), so that a cookie
 * whose name depends on the first's value (the session cookie of the org
 * the org cookie names) needs no second scan. */
#define ORGS_COOKIE_PREFIXED_MAX 4
typedef struct orgs_cookie_pair_scan_t {
    orgs_cookie_scan_t first;
    const char *prefix;
    apr_size_t plen;
    int n;        /* prefixed pairs kept */
    int overflow; /* more came than are kept */
    struct {
        const char *name, *value; /* in the header, not NUL-terminated */
        apr_size_t nlen, vlen;
    } kept[ORGS_COOKIE_PREFIXED_MAX];
} orgs_cookie_pair_scan_t;

void orgs_cookie_pair_scan_init(orgs_cookie_pair_scan_t *scan, const char *name,
                                const char *prefix);
/* Feeds one Cookie header (pairs split as orgs_cookie_scan_feed does). */
void orgs_cookie_pair_scan_feed(orgs_cookie_pair_scan_t *scan, const char *header);
/* The cookie named prefix + suffix, by the rule of orgs_cookie_scan_value
 * (APR_SUCCESS with a copy or NULL, APR_EEXIST when it came with two
 * values); APR_INCOMPLETE when more prefixed cookies came than were kept
 * (scan again for that name alone). */
apr_status_t orgs_cookie_pair_scan_value(const orgs_cookie_pair_scan_t *scan, const char *suffix,
                                         const char **value, apr_pool_t *p);

/* The cookie's name on the wire: ORGS_COOKIE_HOST_PREFIX + name on https,
 * name otherwise (p is used on https only). */
const char *orgs_cookie_name(const char *name, int https, apr_pool_t *p);

/* A Set-Cookie header value for name (without prefix) and value:
 * "NAME=VALUE; Path=/; HttpOnly; SameSite=Lax", then "; Secure" and the
 * __Host- prefix on https, then "; Max-Age=N" unless max_age < 0 (a
 * browser-session cookie); max_age 0 removes the cookie. The value is
 * written as given: callers pass tokens and org names, which need no
 * quoting. */
const char *orgs_cookie_header_make(const char *name, const char *value, int https, long max_age,
                                    apr_pool_t *p);

/* The Cookie header without the pairs named in names (NULL-terminated; an
 * entry ending in '_' is a prefix, e.g. "orgs_sess_"; the __Host- form of
 * each name goes too), so the app behind never sees the module's session
 * tokens. The kept pairs are joined by "; " in p; NULL when none is left.
 * *removed is incremented once per pair dropped. */
const char *orgs_cookie_strip(const char *header, const char *const *names, int *removed,
                              apr_pool_t *p);

/* Whether a session cookie's value has the shape of a session id this
 * module draws: 32 random bytes in unpadded base64url, 43 characters of
 * [A-Za-z0-9_-], the last one carrying no bits past the 256th. Anything
 * else is no session, decided without a lookup anywhere. */
#define ORGS_COOKIE_SID_LEN 43
int orgs_cookie_sid_ok(const char *sid);

#endif
