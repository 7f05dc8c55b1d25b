/* The module's cookies on the wire (see cookie.h). */
#include <string.h>

#include <apr_strings.h>

#include "cookie.h"

void orgs_cookie_scan_init(orgs_cookie_scan_t *scan, const char *name)
{
    memset(scan, 0, sizeof(*scan));
    scan->name = name;
    scan->len = strlen(name);
}

int orgs_cookie_scan_feed(orgs_cookie_scan_t *scan, const char *header)
{
    const char *s = header;

    if (scan->conflict) {
        return 0;
    }
    while (*s) {
        const char *end;
        while (*s == ' ' || *s == '\t' || *s == ';') {
            s++;
        }
        end = s + strcspn(s, ";");
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
