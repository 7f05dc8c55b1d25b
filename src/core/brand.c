#include <string.h>

#include <apr_strings.h>
#include <apr_uri.h>

#include "text.h"
#include "url.h"
#include "brand.h"

static const char *const image_types[] = {"png", "gif", "jpeg", "webp", "svg+xml"};

static int is_b64(unsigned char c)
{
    return orgs_text_is_alnum(c) || c == '+' || c == '/' || c == '=';
}

static apr_status_t data_check(const char *url, orgs_err_t *err)
{
    const char *s = url + 11; /* after "data:image/" */
    size_t i;

    for (i = 0; i < sizeof(image_types) / sizeof(image_types[0]); i++) {
        size_t n = strlen(image_types[i]);
        if (strncmp(s, image_types[i], n) == 0 && strncmp(s + n, ";base64,", 8) == 0) {
            s += n + 8;
            break;
        }
    }
    if (i == sizeof(image_types) / sizeof(image_types[0])) {
        return orgs_err_set(err, APR_EINVAL,
                            "logo: a data: URL must be data:image/png (gif, jpeg, webp, svg+xml)"
                            ";base64,...");
    }
    if (!*s) {
        return orgs_err_set(err, APR_EINVAL, "logo: empty data: URL");
    }
    for (; *s; s++) {
        if (!is_b64((unsigned char)*s)) {
            return orgs_err_set(err, APR_EINVAL, "logo: a data: URL holds base64 only");
        }
    }
    return APR_SUCCESS;
}

apr_status_t orgs_brand_logo_check(const char *url, orgs_err_t *err)
{
    apr_pool_t *tmp = NULL;
    orgs_err_t e = {{0}};
    apr_status_t rv;
    size_t len = url ? strlen(url) : 0;

    if (!url || !*url) {
        return orgs_err_set(err, APR_EINVAL, "logo: empty URL");
    }
    if (strncmp(url, "data:image/", 11) == 0) {
        if (len > ORGS_BRAND_LOGO_DATA_MAX) {
            return orgs_err_set(err, APR_EINVAL, "logo: data: URL longer than %d bytes",
                                ORGS_BRAND_LOGO_DATA_MAX);
        }
        return data_check(url, err);
    }
    if (strncmp(url, "https://", 8) != 0) {
        return orgs_err_set(err, APR_EINVAL, "logo: an https:// or data:image/ URL is needed");
    }
    if (len > ORGS_BRAND_LOGO_URL_MAX) {
        return orgs_err_set(err, APR_EINVAL, "logo: URL longer than %d bytes",
                            ORGS_BRAND_LOGO_URL_MAX);
    }
    for (const char *s = url; *s; s++) {
        /* what would end a CSP source or an attribute: never in a URL anyway */
        if (*s <= ' ' || *s >= 0x7f || *s == ';' || *s == ',' || *s == '"' || *s == '\'' ||
            *s == '<' || *s == '>' || *s == '\\') {
            return orgs_err_set(err, APR_EINVAL, "logo: URL has a character it may not have");
        }
    }
    if (apr_pool_create(&tmp, NULL) != APR_SUCCESS) {
        return orgs_err_set(err, APR_ENOMEM, "logo: out of memory");
    }
    rv = orgs_url_absolute_check(url, ORGS_URL_HTTPS, tmp, &e);
    apr_pool_destroy(tmp);
    if (rv != APR_SUCCESS) {
        return orgs_err_set(err, APR_EINVAL, "logo: %s", e.msg);
    }
    return APR_SUCCESS;
}

apr_status_t orgs_brand_color_check(const char *color, orgs_err_t *err)
{
    if (!color || color[0] != '#' || strlen(color) != 7) {
        return orgs_err_set(err, APR_EINVAL, "colour: #rrggbb expected (got '%.16s')",
                            color ? color : "");
    }
    for (int i = 1; i < 7; i++) {
        if (orgs_text_hex_value((unsigned char)color[i]) < 0) {
            return orgs_err_set(err, APR_EINVAL, "colour: #rrggbb expected (got '%.16s')", color);
        }
    }
    return APR_SUCCESS;
}

const char *orgs_brand_csp_source(const char *url, apr_pool_t *p)
{
    apr_uri_t u;
    if (!url || strncmp(url, "data:", 5) == 0) {
        return "data:";
    }
    if (apr_uri_parse(p, url, &u) != APR_SUCCESS || !u.hostname) {
        return "'none'";
    }
    return u.port_str ? apr_pstrcat(p, "https://", u.hostname, ":", u.port_str, NULL)
                      : apr_pstrcat(p, "https://", u.hostname, NULL);
}

/* sRGB to linear light at 0, 17, 34 .. 255: interpolated in between
 * (off by less than 0.003, far below what moves the choice). */
static const double srgb_linear[16] = {0.00000, 0.00561, 0.01600, 0.03310, 0.05781, 0.09084,
                                       0.13287, 0.18447, 0.24620, 0.31855, 0.40198, 0.49693,
                                       0.60383, 0.72306, 0.85499, 1.00000};

static double channel(const char *hex)
{
    int c = orgs_text_hex_value((unsigned char)hex[0]) * 16 +
            orgs_text_hex_value((unsigned char)hex[1]);
    int i = c / 17;
    double f = (double)(c % 17) / 17.0;
    return i >= 15 ? srgb_linear[15] : srgb_linear[i] + f * (srgb_linear[i + 1] - srgb_linear[i]);
}

const char *orgs_brand_text_color(const char *color)
{
    double l;
    if (!color || strlen(color) != 7) {
        return "#ffffff";
    }
    l = 0.2126 * channel(color + 1) + 0.7152 * channel(color + 3) + 0.0722 * channel(color + 5);
    /* contrast with white (1.05 / (l + .05)) against black ((l + .05) / .05) */
    return (1.05 / (l + 0.05)) >= ((l + 0.05) / 0.05) ? "#ffffff" : "#000000";
}
