/* Byte and text primitives: see text.h. */
#include <string.h>

#include <apr_encode.h>
#include <apr_strings.h>

#include "text.h"

const char orgs_text_hex_upper[17] = "0123456789ABCDEF";
const char orgs_text_base62_alphabet[63] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const char orgs_text_b64url_alphabet[65] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

apr_size_t orgs_text_utf8_char(const unsigned char *s, apr_size_t avail, unsigned long *cp)
{
    unsigned long c = s[0], min;
    apr_size_t n;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xe0) == 0xc0) {
        n = 2, c &= 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, c &= 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, c &= 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (avail < n) {
        return 0;
    }
    for (apr_size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }
    *cp = c;
    return n;
}

int orgs_text_utf8_valid(const char *s, apr_size_t len, int flags)
{
    const unsigned char *u = (const unsigned char *)s;
    int no_control = (flags & ORGS_TEXT_UTF8_NO_CONTROL) != 0;

    for (apr_size_t i = 0; i < len;) {
        unsigned long cp;
        apr_size_t n = orgs_text_utf8_char(u + i, len - i, &cp);
        if (n == 0 || (no_control && (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)))) {
            return 0;
        }
        i += n;
    }
    return 1;
}

apr_size_t orgs_text_trim_trailing_space(const unsigned char *buf, apr_size_t len)
{
    while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t' || buf[len - 1] == '\n' ||
                       buf[len - 1] == '\r')) {
        len--;
    }
    return len;
}

int orgs_text_b64url_value(unsigned char c)
{
    if (orgs_text_is_upper(c)) {
        return c - 'A';
    }
    if (orgs_text_is_lower(c)) {
        return c - 'a' + 26;
    }
    if (orgs_text_is_digit(c)) {
        return c - '0' + 52;
    }
    if (c == '-') {
        return 62;
    }
    if (c == '_') {
        return 63;
    }
    return -1;
}

char *orgs_text_b64url_encode(const void *data, apr_size_t len, apr_pool_t *p)
{
    static const char none[1] = "";
    const char *s = apr_pencode_base64(p, data && len ? data : none, (apr_ssize_t)(data ? len : 0),
                                       APR_ENCODE_BASE64URL, NULL);
    /* APR fails only on a NULL source or a size overflow; neither can
     * happen for a buffer that exists, but never hand back NULL. */
    return (char *)(s ? s : apr_pstrdup(p, ""));
}

apr_status_t orgs_text_b64url_decode(const char *s, apr_size_t slen, unsigned char **out,
                                     apr_size_t *outlen, apr_pool_t *p, orgs_err_t *err)
{
    unsigned char *buf, *d;
    unsigned long v = 0;
    int bits = 0;

    *out = NULL;
    *outlen = 0;
    if (!s) {
        return orgs_err_set(err, APR_EINVAL, "base64url: no input");
    }
    if (slen % 4 == 1) {
        return orgs_err_set(err, APR_EINVAL, "base64url: impossible length");
    }
    buf = apr_palloc(p, slen / 4 * 3 + 3);
    d = buf;
    for (apr_size_t i = 0; i < slen; i++) {
        int c = orgs_text_b64url_value((unsigned char)s[i]);
        if (c < 0) {
            return orgs_err_set(err, APR_EINVAL, "base64url: character outside the alphabet");
        }
        v = (v << 6) | (unsigned long)c;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *d++ = (unsigned char)(v >> bits);
            v &= (1ul << bits) - 1;
        }
    }
    /* Canonical form only: the unused low bits of the last char are zero. */
    if (v != 0) {
        return orgs_err_set(err, APR_EINVAL, "base64url: non-canonical last character");
    }
    *d = '\0';
    *out = buf;
    *outlen = (apr_size_t)(d - buf);
    return APR_SUCCESS;
}
