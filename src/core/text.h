/* Byte and text primitives every core file shares: ASCII character
 * classes, the UTF-8 check, trimming, hex digits and the base62 and
 * base64url alphabets with their codecs. One implementation of each, so
 * every validator agrees on what a letter, a valid string or a canonical
 * encoding is.
 *
 * The character classes are deliberately not <ctype.h> (nor apr_isalpha &
 * co., which wrap it): those follow the process locale, and a module loaded
 * into httpd does not own the locale (another module or a library may call
 * setlocale). A validator must give the same answer in every process, so
 * these test ASCII ranges only. */
#ifndef ORGS_TEXT_H
#define ORGS_TEXT_H

#include "orgs.h"

/* ---- ASCII character classes (locale-independent, see above) ---------- */

static inline int orgs_text_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline int orgs_text_is_lower(unsigned char c)
{
    return c >= 'a' && c <= 'z';
}

static inline int orgs_text_is_upper(unsigned char c)
{
    return c >= 'A' && c <= 'Z';
}

static inline int orgs_text_is_alpha(unsigned char c)
{
    return orgs_text_is_lower(c) || orgs_text_is_upper(c);
}

static inline int orgs_text_is_alnum(unsigned char c)
{
    return orgs_text_is_alpha(c) || orgs_text_is_digit(c);
}

/* a-z or 0-9: the alphabet of names (slugs) and domain labels. */
static inline int orgs_text_is_lower_alnum(unsigned char c)
{
    return orgs_text_is_lower(c) || orgs_text_is_digit(c);
}

/* RFC 3986 "unreserved": A-Z a-z 0-9 - . _ ~ */
static inline int orgs_text_is_unreserved(unsigned char c)
{
    return orgs_text_is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* C0 controls (0x00-0x1f) and DEL (0x7f). */
static inline int orgs_text_is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static inline unsigned char orgs_text_to_lower(unsigned char c)
{
    return orgs_text_is_upper(c) ? (unsigned char)(c - 'A' + 'a') : c;
}

/* ---- hex -------------------------------------------------------------- */

/* Upper-case hex digits, indexed by a nibble ("%2F", not "%2f"). */
extern const char orgs_text_hex_upper[17];

/* Value 0..15 of a hex digit (either case), -1 for anything else. */
static inline int orgs_text_hex_value(unsigned char c)
{
    if (orgs_text_is_digit(c)) {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* ---- UTF-8 -------------------------------------------------------------- */

/* orgs_text_utf8_valid flags */
#define ORGS_TEXT_UTF8_NO_CONTROL 0x01 /* also refuse C0, DEL and C1 (U+0080-U+009F) */

/* Length (1..4) of the valid UTF-8 sequence at s, of which avail bytes may
 * be read, or 0 when invalid: shortest form only, no surrogates (U+D800-
 * U+DFFF), nothing above U+10FFFF (RFC 3629). *cp receives the code point.
 * avail must be >= 1. */
apr_size_t orgs_text_utf8_char(const unsigned char *s, apr_size_t avail, unsigned long *cp);

/* 1 when s[0..len) is valid UTF-8 (NUL bytes count as U+0000, so a C
 * string is checked with len = strlen(s)), 0 otherwise. With
 * ORGS_TEXT_UTF8_NO_CONTROL, control characters also make it invalid.
 * s may be NULL only when len is 0. */
int orgs_text_utf8_valid(const char *s, apr_size_t len, int flags);

/* ---- trimming ----------------------------------------------------------- */

/* Length of buf[0..len) without trailing ASCII whitespace (space, tab, CR,
 * LF): what a key file or variable ends with by accident. */
apr_size_t orgs_text_trim_trailing_space(const unsigned char *buf, apr_size_t len);

/* ---- base62 and base64url ----------------------------------------------- */

/* The base62 digits in ascending order: "0-9A-Za-z" (ids: "org_" + 16 of them). */
extern const char orgs_text_base62_alphabet[63];
/* The base64url alphabet of RFC 4648 section 5: "A-Za-z0-9-_". */
extern const char orgs_text_b64url_alphabet[65];

/* Value 0..63 of a base64url character, -1 for anything else ('=' too). */
int orgs_text_b64url_value(unsigned char c);

/* base64url without padding (RFC 7515 section 2) of data[0..len), in p.
 * Encoded by APR (apr_pencode_base64). Never NULL; "" for len 0. */
char *orgs_text_b64url_encode(const void *data, apr_size_t len, apr_pool_t *p);

/* Strict base64url decoder: unpadded input of the base64url alphabet only
 * (no '=', no whitespace, no "+/"), and canonical only: a length of 4n+1 is
 * refused, and so is a last character whose unused low bits are not zero
 * ("AB" and "AA" would otherwise decode to the same byte). That makes every
 * byte string have exactly one accepted encoding, which JOSE relies on (a
 * signature or a token cannot be altered into a second valid spelling).
 * APR's apr_pdecode_base64 accepts non-canonical input, hence this one.
 * *out is NUL-terminated (not counted in *outlen), in p. Returns
 * APR_SUCCESS or APR_EINVAL with the reason in err (may be NULL); *out is
 * NULL and *outlen 0 on error. */
apr_status_t orgs_text_b64url_decode(const char *s, apr_size_t slen, unsigned char **out,
                                     apr_size_t *outlen, apr_pool_t *p, orgs_err_t *err);

#endif
