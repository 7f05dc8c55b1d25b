/* The module's cookies on the wire (see cookie.h). */
#include <string.h>

#include <apr_strings.h>

#include "cookie.h"

/* The end of the pair starting at s: its ';' or the header's end (stop). */
static const char *pair_end(const char *s, const char *stop)
{
    const char *e = memchr(s, ';', (apr_size_t)(stop - s));
    return e ? e : stop;
}

void orgs_cookie_scan_init(orgs_cookie_scan_t *scan, const char *name)
{
    memset(scan, 0, sizeof(*scan));
    scan->name = name;
    scan->len = strlen(name);
}

int orgs_cookie_scan_feed(orgs_cookie_scan_t *scan, const char *header)
{
    const char *s = header, *stop = header + strlen(header);

    if (scan->conflict) {
        return 0;
    }
    while (*s) {
        const char *end;
        while (*s == ' ' || *s == '\t' || *s == ';') {
            s++;
        }
        end = pair_end(s, stop);
        if ((apr_size_t)(end - s) > scan->len && strncmp(s, scan->name, scan->len) == 0 &&
            s[scan->len] == '=') {
            const char *v = s + scan->len + 1, *e = end;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t')) {
                e--;
            }
            if (!scan->value) {
                scan->value = v;
                scan->vlen = (apr_size_t)(e - v);
            } else if (scan->vlen != (apr_size_t)(e - v) ||
                       memcmp(scan->value, v, scan->vlen) != 0) {
                scan->conflict = 1;
                return 0;
            }
        }
        s = end;
    }
    return 1;
}

apr_status_t orgs_cookie_scan_value(const orgs_cookie_scan_t *scan, const char **value,
                                    apr_pool_t *p)
{
    *value = NULL;
    if (scan->conflict) {
        return APR_EEXIST;
    }
    if (scan->value && scan->vlen) {
        *value = apr_pstrmemdup(p, scan->value, scan->vlen);
    }
    return APR_SUCCESS;
}

void orgs_cookie_pair_scan_init(orgs_cookie_pair_scan_t *scan, const char *name, const char *prefix)
{
    orgs_cookie_scan_init(&scan->first, name);
    scan->prefix = prefix;
    scan->plen = strlen(prefix);
    scan->n = 0;
    scan->overflow = 0;
}

/* The value of the pair s..end after its '=' at eq, blanks at its end
 * dropped. */
static apr_size_t pair_value(const char *eq, const char *end, const char **v)
{
    const char *e = end;
    *v = eq + 1;
    while (e > *v && (e[-1] == ' ' || e[-1] == '\t')) {
        e--;
    }
    return (apr_size_t)(e - *v);
}

void orgs_cookie_pair_scan_feed(orgs_cookie_pair_scan_t *scan, const char *header)
{
    orgs_cookie_scan_t *f = &scan->first;
    const char *s = header, *stop = header + strlen(header);

    while (*s) {
        const char *end, *v, *eq;
        apr_size_t vlen;
        while (*s == ' ' || *s == '\t' || *s == ';') {
            s++;
        }
        end = pair_end(s, stop);
        if ((apr_size_t)(end - s) > f->len && s[f->len] == '=' && memcmp(s, f->name, f->len) == 0) {
            vlen = pair_value(s + f->len, end, &v);
            if (!f->value) {
                f->value = v;
                f->vlen = vlen;
            } else if (f->vlen != vlen || memcmp(f->value, v, vlen) != 0) {
                f->conflict = 1;
            }
        } else if ((apr_size_t)(end - s) > scan->plen && memcmp(s, scan->prefix, scan->plen) == 0 &&
                   (eq = memchr(s + scan->plen, '=', (apr_size_t)(end - s) - scan->plen))) {
            if (scan->n == ORGS_COOKIE_PREFIXED_MAX) {
                scan->overflow = 1;
            } else {
                scan->kept[scan->n].name = s;
                scan->kept[scan->n].nlen = (apr_size_t)(eq - s);
                scan->kept[scan->n].vlen = pair_value(eq, end, &scan->kept[scan->n].value);
                scan->n++;
            }
        }
        s = end;
    }
}

apr_status_t orgs_cookie_pair_scan_value(const orgs_cookie_pair_scan_t *scan, const char *suffix,
                                         const char **value, apr_pool_t *p)
{
    apr_size_t slen = strlen(suffix);
    const char *v = NULL;
    apr_size_t vlen = 0;
    *value = NULL;
    if (scan->overflow) {
        return APR_INCOMPLETE;
    }
    for (int i = 0; i < scan->n; i++) {
        if (scan->kept[i].nlen != scan->plen + slen ||
            memcmp(scan->kept[i].name + scan->plen, suffix, slen) != 0) {
            continue;
        }
        if (!v) {
            v = scan->kept[i].value;
            vlen = scan->kept[i].vlen;
        } else if (vlen != scan->kept[i].vlen || memcmp(v, scan->kept[i].value, vlen) != 0) {
            return APR_EEXIST;
        }
    }
    if (v && vlen) {
        *value = apr_pstrmemdup(p, v, vlen);
    }
    return APR_SUCCESS;
}

const char *orgs_cookie_name(const char *name, int https, apr_pool_t *p)
{
    return https ? apr_pstrcat(p, ORGS_COOKIE_HOST_PREFIX, name, NULL) : name;
}

const char *orgs_cookie_header_make(const char *name, const char *value, int https, long max_age,
                                    apr_pool_t *p)
{
    const char *hdr =
        apr_psprintf(p, "%s=%s; Path=/; HttpOnly; SameSite=Lax%s", orgs_cookie_name(name, https, p),
                     value, https ? "; Secure" : "");
    if (max_age >= 0) {
        hdr = apr_psprintf(p, "%s; Max-Age=%ld", hdr, max_age);
    }
    return hdr;
}

/* Whether the pair's name (s, n bytes) is one of names: an entry ending in
 * '_' matches every name it starts (orgs_sess_<org>); both the plain and
 * the __Host- form count, whatever the scheme of this request. */
static int cookie_is_listed(const char *s, apr_size_t n, const char *const *names)
{
    apr_size_t plen = sizeof(ORGS_COOKIE_HOST_PREFIX) - 1;

    if (n > plen && memcmp(s, ORGS_COOKIE_HOST_PREFIX, plen) == 0) {
        s += plen;
        n -= plen;
    }
    for (; *names; names++) {
        apr_size_t len = strlen(*names);
        int prefix = len > 0 && (*names)[len - 1] == '_';
        if ((prefix ? n > len : n == len) && memcmp(s, *names, len) == 0) {
            return 1;
        }
    }
    return 0;
}

const char *orgs_cookie_strip(const char *header, const char *const *names, int *removed,
                              apr_pool_t *p)
{
    apr_size_t len = strlen(header);
    const char *s = header, *stop = header + len;
    /* each kept pair grows by at most the "; " put before it */
    char *out = apr_palloc(p, 2 * len + 1), *o = out;

    while (s < stop) {
        const char *end, *eq, *n;
        while (*s == ' ' || *s == '\t' || *s == ';') {
            s++;
        }
        if (s == stop) {
            break;
        }
        end = pair_end(s, stop);
        eq = memchr(s, '=', (apr_size_t)(end - s));
        n = eq ? eq : end;
        while (n > s && (n[-1] == ' ' || n[-1] == '\t')) {
            n--;
        }
        if (cookie_is_listed(s, (apr_size_t)(n - s), names)) {
            (*removed)++;
        } else {
            const char *e = end;
            while (e > s && (e[-1] == ' ' || e[-1] == '\t')) {
                e--;
            }
            if (o != out) {
                *o++ = ';';
                *o++ = ' ';
            }
            memcpy(o, s, (apr_size_t)(e - s));
            o += e - s;
        }
        s = end;
    }
    *o = '\0';
    return o == out ? NULL : out;
}

int orgs_cookie_sid_ok(const char *sid)
{
    /* 43 x 6 = 258 bits: the last character's two low bits are zero */
    static const char last[] = "AEIMQUYcgkosw048";
    size_t n = 0;
    if (!sid) {
        return 0;
    }
    for (; sid[n]; n++) {
        char c = sid[n];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_';
        if (!ok || n >= ORGS_COOKIE_SID_LEN) {
            return 0;
        }
    }
    return n == ORGS_COOKIE_SID_LEN && strchr(last, sid[n - 1]) != NULL;
}
