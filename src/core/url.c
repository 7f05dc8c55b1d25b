#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_uri.h>

#include "url.h"
#include "text.h"

/* Byte value of the escape at s ("%XY"), or -1 when malformed. */
static int escape_at(const char *s)
{
    if (s[0] != '%') {
        return -1;
    }
    int hi = orgs_text_hex_value((unsigned char)s[1]);
    int lo = hi < 0 ? -1 : orgs_text_hex_value((unsigned char)s[2]);
    return lo < 0 ? -1 : hi * 16 + lo;
}

/* ---- absolute URLs ------------------------------------------------------ */

/* 127.0.0.0/8 in strict dotted-quad form (no leading zeros, four parts). */
static int is_loopback_v4(const char *h)
{
    int parts = 0, first = -1;
    const char *q = h;

    while (*q) {
        int v = 0;
        const char *start = q;
        while (orgs_text_is_digit((unsigned char)*q) && q - start < 3) {
            v = v * 10 + (*q - '0');
            q++;
        }
        if (q == start || v > 255 || (q - start > 1 && *start == '0')) {
            return 0;
        }
        if (first < 0) {
            first = v;
        }
        parts++;
        if (*q) {
            if (*q != '.' || parts == 4 || q[1] == '\0') {
                return 0;
            }
            q++;
        }
    }
    return parts == 4 && first == 127;
}

/* host is apr_uri_parse's hostname: an IPv6 literal comes without brackets. */
static int is_loopback_host(const char *host, int ipv6)
{
    if (ipv6) {
        return strcmp(host, "::1") == 0;
    }
    return strcasecmp(host, "localhost") == 0 || is_loopback_v4(host);
}

/* A reg-name of letters, digits, '-', '.' (not starting with '.' or '-'),
 * or the inside of a bracketed IPv6 literal. */
static int host_ok(const char *host, int ipv6)
{
    apr_size_t len = strlen(host);

    if (ipv6) {
        if (len < 2) {
            return 0;
        }
        for (const char *q = host; *q; q++) {
            if (orgs_text_hex_value((unsigned char)*q) < 0 && *q != ':' && *q != '.') {
                return 0;
            }
        }
        return 1;
    }
    if (len == 0 || host[0] == '.' || host[0] == '-') {
        return 0;
    }
    for (const char *q = host; *q; q++) {
        unsigned char c = (unsigned char)*q;
        if (!orgs_text_is_alnum(c) && c != '-' && c != '.') {
            return 0;
        }
    }
    return 1;
}

/* 1..65535 in one to five digits. */
static int port_ok(const char *port)
{
    apr_size_t len = strlen(port);
    unsigned long v = 0;

    if (len == 0 || len > 5) {
        return 0;
    }
    for (const char *q = port; *q; q++) {
        if (!orgs_text_is_digit((unsigned char)*q)) {
            return 0;
        }
        v = v * 10 + (unsigned long)(*q - '0');
    }
    return v >= 1 && v <= 65535;
}

apr_status_t orgs_url_absolute_check(const char *url, int flags, apr_pool_t *p, orgs_err_t *err)
{
    apr_uri_t uri;
    apr_size_t len;
    int https, ipv6;

    if (url == NULL || *url == '\0') {
        return orgs_err_set(err, APR_EINVAL, "URL is empty");
    }
    len = strlen(url);
    if (len > ORGS_URL_MAX) {
        return orgs_err_set(err, APR_EINVAL, "URL longer than %d characters", ORGS_URL_MAX);
    }
    for (apr_size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c >= 0x7f) {
            return orgs_err_set(err, APR_EINVAL, "URL has a space, control or non-ASCII character");
        }
    }
    if (strchr(url, '#')) {
        return orgs_err_set(err, APR_EINVAL, "URL must not have a fragment");
    }
    memset(&uri, 0, sizeof(uri));
    if (apr_uri_parse(p, url, &uri) != APR_SUCCESS) {
        return orgs_err_set(err, APR_EINVAL, "URL is malformed (bad host or port)");
    }
    if (uri.scheme == NULL || uri.hostinfo == NULL) {
        return orgs_err_set(err, APR_EINVAL, "URL is not absolute (scheme://host...)");
    }
    if (strcasecmp(uri.scheme, "https") == 0) {
        https = 1;
    } else if (strcasecmp(uri.scheme, "http") == 0) {
        https = 0;
    } else {
        return orgs_err_set(err, APR_EINVAL, "URL scheme must be http or https");
    }
    if (uri.user || uri.password) {
        return orgs_err_set(err, APR_EINVAL, "URL must not contain user information");
    }
    /* No user information, so hostinfo starts with the host itself. */
    ipv6 = uri.hostinfo[0] == '[';
    if (uri.hostname == NULL || !host_ok(uri.hostname, ipv6)) {
        return orgs_err_set(err, APR_EINVAL, "URL has a missing or bad host");
    }
    if (uri.port_str && !port_ok(uri.port_str)) {
        return orgs_err_set(err, APR_EINVAL, "URL has a bad port");
    }
    if ((flags & ORGS_URL_HTTPS) && !https && !is_loopback_host(uri.hostname, ipv6)) {
        return orgs_err_set(err, APR_EINVAL,
                            "URL must use https:// (http:// only for loopback hosts)");
    }
    if ((flags & ORGS_URL_NO_QUERY) && uri.query) {
        return orgs_err_set(err, APR_EINVAL, "URL must not have a query");
    }
    return APR_SUCCESS;
}

/* ---- return_to ---------------------------------------------------------- */

/* Literal byte allowed anywhere in a return_to. */
static int plain_ok(unsigned char c)
{
    if (c <= 0x20 || c >= 0x7f) {
        return 0; /* controls, space, DEL, non-ASCII */
    }
    return strchr("\\<>\"`", c) == NULL;
}

/* Is the segment [s, e) "." or "..", with dots possibly encoded as %2e? */
static int dot_segment(const char *s, const char *e)
{
    int dots = 0;
    while (s < e) {
        if (*s == '.') {
            s++;
        } else if (e - s >= 3 && escape_at(s) == '.') {
            s += 3;
        } else {
            return 0;
        }
        dots++;
    }
    return dots == 1 || dots == 2;
}

apr_status_t orgs_url_return_to_check(const char *return_to, orgs_err_t *err)
{
    if (return_to == NULL || *return_to == '\0') {
        return orgs_err_set(err, APR_EINVAL, "return_to is empty");
    }
    apr_size_t len = strlen(return_to);
    if (len > ORGS_URL_MAX) {
        return orgs_err_set(err, APR_EINVAL, "return_to longer than %d bytes", ORGS_URL_MAX);
    }
    if (return_to[0] != '/') {
        return orgs_err_set(err, APR_EINVAL, "return_to must be a local path starting with '/'");
    }
    if (return_to[1] == '/' || return_to[1] == '\\') {
        return orgs_err_set(err, APR_EINVAL, "return_to must not start with '//' or '/\\'");
    }

    const char *path_end = return_to + strcspn(return_to, "?#");
    const char *seg = return_to + 1;
    for (const char *s = return_to; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int in_path = s < path_end;
        if (!plain_ok(c)) {
            return orgs_err_set(err, APR_EINVAL,
                                "return_to contains a forbidden character (0x%02x) at %ld", c,
                                (long)(s - return_to));
        }
        if (c == '%') {
            int v = escape_at(s);
            if (v < 0) {
                return orgs_err_set(err, APR_EINVAL, "return_to has a malformed %%-escape at %ld",
                                    (long)(s - return_to));
            }
            if (v < 0x20 || v == 0x7f || (in_path && (v == '/' || v == '\\' || v == '%'))) {
                return orgs_err_set(err, APR_EINVAL,
                                    "return_to has a forbidden encoded byte (%%%02X) at %ld", v,
                                    (long)(s - return_to));
            }
        }
        /* A path segment ends at '/' or at the end of the path part. */
        if (in_path && s > return_to && (c == '/' || s + 1 == path_end)) {
            const char *e = c == '/' ? s : s + 1;
            if (dot_segment(seg, e)) {
                return orgs_err_set(err, APR_EINVAL, "return_to has a '.' or '..' path segment");
            }
            seg = s + 1;
        }
    }
    return APR_SUCCESS;
}

apr_status_t orgs_url_decode(const char *s, int form, char **out, apr_pool_t *p, orgs_err_t *err)
{
    apr_size_t len = s ? strlen(s) : 0;
    char *buf = apr_palloc(p, len + 1);
    char *d = buf;
    for (apr_size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            int v = escape_at(s + i);
            if (v < 0) {
                return orgs_err_set(err, APR_EINVAL, "malformed %%-escape at %ld", (long)i);
            }
            if (v == 0) {
                return orgs_err_set(err, APR_EINVAL, "%%00 at %ld", (long)i);
            }
            *d++ = (char)v;
            i += 2;
        } else if (form && s[i] == '+') {
            *d++ = ' ';
        } else {
            *d++ = s[i];
        }
    }
    *d = '\0';
    *out = buf;
    return APR_SUCCESS;
}

apr_status_t orgs_url_query_parse(const char *query, apr_table_t **out, apr_pool_t *p)
{
    apr_table_t *t = apr_table_make(p, 8);
    int pairs = 0;
    const char *s = query ? query : "";
    while (*s) {
        apr_size_t n = strcspn(s, "&");
        if (n > 0) {
            if (++pairs > ORGS_URL_QUERY_MAX_PAIRS) {
                return APR_EINVAL;
            }
            const char *eq = memchr(s, '=', n);
            apr_size_t klen = eq ? (apr_size_t)(eq - s) : n;
            char *key, *value;
            apr_status_t rv = orgs_url_decode(apr_pstrmemdup(p, s, klen), 1, &key, p, NULL);
            if (rv == APR_SUCCESS) {
                rv = orgs_url_decode(eq ? apr_pstrmemdup(p, eq + 1, n - klen - 1) : "", 1, &value,
                                     p, NULL);
            }
            if (rv != APR_SUCCESS) {
                return rv;
            }
            /* First value wins: later duplicates are ignored. */
            if (apr_table_get(t, key) == NULL) {
                apr_table_setn(t, key, value);
            }
        }
        s += n;
        if (*s == '&') {
            s++;
        }
    }
    *out = t;
    return APR_SUCCESS;
}

/* RFC 3986 unreserved characters stay, everything else becomes %XX; with
 * form, a space becomes '+' (application/x-www-form-urlencoded). */
static char *encode(const char *s, int form, apr_pool_t *p)
{
    if (s == NULL) {
        return apr_pstrdup(p, "");
    }
    apr_size_t len = strlen(s);
    char *buf = apr_palloc(p, len * 3 + 1);
    char *d = buf;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (orgs_text_is_unreserved(*c)) {
            *d++ = (char)*c;
        } else if (form && *c == ' ') {
            *d++ = '+';
        } else {
            *d++ = '%';
            *d++ = orgs_text_hex_upper[*c >> 4];
            *d++ = orgs_text_hex_upper[*c & 0x0f];
        }
    }
    *d = '\0';
    return buf;
}

char *orgs_url_encode(const char *s, apr_pool_t *p)
{
    return encode(s, 0, p);
}

char *orgs_url_form_encode(const char *s, apr_pool_t *p)
{
    return encode(s, 1, p);
}

char *orgs_url_append_params(const char *base, apr_pool_t *p, ...)
{
    if (base == NULL) {
        base = "";
    }
    const char *hash = strchr(base, '#');
    apr_size_t blen = hash ? (apr_size_t)(hash - base) : strlen(base);
    char *url = apr_pstrmemdup(p, base, blen);
    /* No separator only when the query is empty ("/e?") or already ends
     * with '&': a '?' inside the query ("/e?x=?") is data, not its start. */
    const char *q = memchr(url, '?', blen);
    char sep;
    if (q == NULL) {
        sep = '?';
    } else {
        sep = (q == url + blen - 1 || url[blen - 1] == '&') ? '\0' : '&';
    }

    va_list ap;
    va_start(ap, p);
    const char *key;
    while ((key = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);
        if (value == NULL) {
            continue;
        }
        char sepstr[2] = {sep, '\0'};
        url = apr_pstrcat(p, url, sepstr, orgs_url_encode(key, p), "=", orgs_url_encode(value, p),
                          NULL);
        sep = '&';
    }
    va_end(ap);
    return hash ? apr_pstrcat(p, url, hash, NULL) : url;
}
