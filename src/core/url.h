/* URL helpers: the absolute-URL check every configured or discovered URL
 * passes, return_to validation (the open-redirect guard), query / form
 * parsing, the one percent-encoder and URL building.
 * Pure APR / apr-util code, no ap_* calls. */
#ifndef ORGS_URL_H
#define ORGS_URL_H

#include "orgs.h"

/* Most pairs orgs_url_query_parse accepts; more is APR_EINVAL (a login URL
 * or form has a handful). */
#define ORGS_URL_QUERY_MAX_PAIRS 64

/* orgs_url_absolute_check flags */
#define ORGS_URL_HTTPS 0x01    /* https://, or http:// to a loopback host only */
#define ORGS_URL_NO_QUERY 0x02 /* no '?' part */

/* Checks an absolute http(s) URL (issuers, OrgsPublicURL, OrgsErrorURL,
 * discovered endpoints, every URL fetched): parsed by apr_uri_parse, then
 * strict rules on its parts, the same for every caller:
 *   - 1..ORGS_URL_MAX bytes of printable ASCII (no space, no control
 *     character, no byte >= 0x7f: hosts use their xn-- form and paths
 *     their %-escapes);
 *   - scheme http or https (any case);
 *   - a host: letters, digits, '-' and '.', not starting with '.' or '-',
 *     or a bracketed IPv6 literal of hex digits, ':' and '.';
 *   - a port, when given, of 1..65535 in at most 5 digits ("host:" alone is
 *     refused);
 *   - no user information ("user@", "user:pass@") and no fragment ('#'),
 *     which a URL we fetch or send a browser to has no use for and which
 *     hide the real host from a human reader;
 *   - with ORGS_URL_HTTPS: https, or http to a loopback host (localhost,
 *     127.0.0.0/8 in dotted-quad form, [::1]);
 *   - with ORGS_URL_NO_QUERY: no query.
 * p holds apr_uri_parse's scratch copies. Returns APR_SUCCESS, or
 * APR_EINVAL with the reason in err (a text starting with "URL ", which a
 * caller may prefix with what the URL is: "issuer URL ..."). NULL is
 * APR_EINVAL. */
apr_status_t orgs_url_absolute_check(const char *url, int flags, apr_pool_t *p, orgs_err_t *err);

/* Checks that return_to (the value after the one percent-decoding the query
 * parser does) is a path on this server and nothing else, so redirecting the
 * browser to it can never leave the origin. Accepted:
 *   - 1..ORGS_URL_MAX bytes, starting with exactly one '/' (not "//", "/\");
 *   - printable ASCII only: no control characters (0x00-0x1f, 0x7f), no space,
 *     no byte >= 0x80 (browsers send non-ASCII percent-encoded), no '\' and
 *     none of < > " ` anywhere;
 *   - every '%' followed by two hex digits; no encoded control character
 *     (%00-%1f, %7f) anywhere;
 *   - in the path part (before '?' or '#'): no encoded '/' or '\' (%2f, %5c,
 *     any case), no %25 (double encoding), no "." / ".." segment, literal or
 *     encoded (%2e), so no decoding or normalisation can turn it into
 *     "//host". The query and fragment may carry %2f / %5c / %25: they cannot
 *     change where the browser goes, and apps legitimately use them
 *     ("/app?next=%2Fhome").
 * A scheme ("javascript:", "http:") cannot precede the first '/' because the
 * first byte must be '/'. '@', ';', '\'' and a "#fragment" are allowed: they are
 * harmless in a path-only URL. Returns APR_SUCCESS, or APR_EINVAL with the
 * reason in err (the text never repeats the input). NULL is APR_EINVAL. */
apr_status_t orgs_url_return_to_check(const char *return_to, orgs_err_t *err);

/* Percent-decodes s into *out (pool p). With form != 0, '+' decodes to a
 * space (application/x-www-form-urlencoded). APR_EINVAL on a malformed
 * escape ('%' not followed by two hex digits) and on %00 (which would
 * truncate the C string), with the reason in err (may be NULL). */
apr_status_t orgs_url_decode(const char *s, int form, char **out, apr_pool_t *p, orgs_err_t *err);

/* Parses "k1=v1&k2=v2" (a query string without the '?', or a form body):
 * keys and values are percent-decoded with '+' as space; "k" alone gives an
 * empty value; empty pieces ("&&") are skipped. When a key occurs more than
 * once the FIRST value wins and later ones are ignored: callers that must
 * refuse duplicates of a security-relevant key (state, code) check the raw
 * query themselves. *out is a fresh table in p (empty for NULL or "").
 * APR_EINVAL on a malformed escape, %00, or more than ORGS_URL_QUERY_MAX_PAIRS
 * pairs; *out is untouched on error. */
apr_status_t orgs_url_query_parse(const char *query, apr_table_t **out, apr_pool_t *p);

/* Percent-encodes every byte except RFC 3986 unreserved characters
 * (A-Z a-z 0-9 - . _ ~), with upper-case hex. NULL gives "". The one
 * encoder of the core: apr_pescape_urlencoded keeps '*' and escapes '~', so
 * its output is not RFC 3986's. */
char *orgs_url_encode(const char *s, apr_pool_t *p);
/* The same for form bodies (application/x-www-form-urlencoded, also used
 * for HTTP Basic credentials per RFC 6749 2.3.1): a space becomes '+'. */
char *orgs_url_form_encode(const char *s, apr_pool_t *p);

/* Appends "key=value" pairs to base, both encoded with orgs_url_encode, with
 * '?' before the first one unless base already has a query ('&' then, or
 * nothing when that query is empty, "/e?", or ends with '&'; a '?' inside
 * the query, "/e?x=?", is data and gets a '&'). The variadic arguments are
 * const char * key/value pairs terminated by a NULL key; a pair whose value
 * is NULL is skipped (an empty string is kept). A fragment in base is kept at
 * the end. Example:
 *   orgs_url_append_params("/orgs/login", p, "organization", "org1",
 *                          "return_to", rt, NULL)
 */
char *orgs_url_append_params(const char *base, apr_pool_t *p, ...) __attribute__((sentinel));

#endif
