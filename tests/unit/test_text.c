/* Unit tests for src/core/text.c: ASCII classes, the UTF-8 check, trimming,
 * hex, and the base62 / base64url alphabets and codecs. */
#include <locale.h>

#include "testutil.h"
#include "text.h"

TESTUTIL_POOL_FIXTURE

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- character classes */

START_TEST(ascii_classes)
{
    for (int c = 0; c < 256; c++) {
        unsigned char u = (unsigned char)c;
        int digit = c >= '0' && c <= '9';
        int lower = c >= 'a' && c <= 'z';
        int upper = c >= 'A' && c <= 'Z';
        ck_assert_int_eq(orgs_text_is_digit(u), digit);
        ck_assert_int_eq(orgs_text_is_alpha(u), lower || upper);
        ck_assert_int_eq(orgs_text_is_alnum(u), lower || upper || digit);
        ck_assert_int_eq(orgs_text_is_lower_alnum(u), lower || digit);
        ck_assert_int_eq(orgs_text_is_unreserved(u),
                         lower || upper || digit || c == '-' || c == '.' || c == '_' || c == '~');
        ck_assert_int_eq(orgs_text_is_ctl(u), c < 0x20 || c == 0x7f);
        ck_assert_int_eq(orgs_text_to_lower(u), upper ? c + 32 : c);
    }
}
END_TEST

START_TEST(classes_ignore_the_locale)
{
    /* A Latin-1 locale makes <ctype.h> call 0xe9 a letter; text.h must not,
     * whichever locale the process happens to have. */
    const char *loc = setlocale(LC_CTYPE, "en_US.ISO-8859-1");
    if (!loc) {
        loc = setlocale(LC_CTYPE, "C.UTF-8");
    }
    ck_assert_int_eq(orgs_text_is_alpha(0xe9), 0);
    ck_assert_int_eq(orgs_text_is_alnum(0xc3), 0);
    ck_assert_int_eq(orgs_text_to_lower(0xc9), 0xc9);
    if (loc) {
        setlocale(LC_CTYPE, "C");
    }
}
END_TEST

START_TEST(hex_digits)
{
    ck_assert_str_eq(orgs_text_hex_upper, "0123456789ABCDEF");
    for (int c = 0; c < 256; c++) {
        int want = (c >= '0' && c <= '9')   ? c - '0'
                   : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                   : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                            : -1;
        ck_assert_int_eq(orgs_text_hex_value((unsigned char)c), want);
    }
}
END_TEST

/* ---- UTF-8 */

START_TEST(utf8_accepts)
{
    static const char *const good[] = {
        "",
        "plain ASCII",
        "caf\xc3\xa9",             /* U+00E9 */
        "\xe2\x82\xac",            /* U+20AC */
        "\xf0\x9f\x98\x80",        /* U+1F600 */
        "\xf4\x8f\xbf\xbf",        /* U+10FFFF, the last code point */
        "\xed\x9f\xbf",            /* U+D7FF, just below the surrogates */
        "\xee\x80\x80",            /* U+E000, just above them */
        "\xc2\xa0 non-break space" /* U+00A0, first after C1 */
    };
    for (apr_size_t i = 0; i < N(good); i++) {
        ck_assert_msg(orgs_text_utf8_valid(good[i], strlen(good[i]), 0), "rejected #%d", (int)i);
        ck_assert_msg(orgs_text_utf8_valid(good[i], strlen(good[i]), ORGS_TEXT_UTF8_NO_CONTROL),
                      "rejected #%d without controls", (int)i);
    }
    ck_assert_int_eq(orgs_text_utf8_valid(NULL, 0, 0), 1);
}
END_TEST

START_TEST(utf8_rejects)
{
    static const char *const bad[] = {
        "\x80",                 /* lone continuation byte */
        "\xc3",                 /* truncated */
        "\xe2\x82",             /* truncated */
        "\xc0\xaf",             /* overlong '/' */
        "\xc1\xbf",             /* overlong */
        "\xe0\x80\xaf",         /* overlong */
        "\xf0\x80\x80\xaf",     /* overlong */
        "\xed\xa0\x80",         /* U+D800, a surrogate */
        "\xed\xbf\xbf",         /* U+DFFF */
        "\xf4\x90\x80\x80",     /* U+110000 */
        "\xf8\x88\x80\x80\x80", /* 5-byte form */
        "\xfe",
        "\xff",
        "ok\xc3(", /* bad continuation */
    };
    for (apr_size_t i = 0; i < N(bad); i++) {
        ck_assert_msg(!orgs_text_utf8_valid(bad[i], strlen(bad[i]), 0), "accepted #%d", (int)i);
    }
}
END_TEST

START_TEST(utf8_controls)
{
    static const char *const ctl[] = {"a\tb", "a\nb", "\x1f", "\x7f", "\xc2\x80", "\xc2\x9f"};
    for (apr_size_t i = 0; i < N(ctl); i++) {
        ck_assert_msg(orgs_text_utf8_valid(ctl[i], strlen(ctl[i]), 0), "rejected #%d", (int)i);
        ck_assert_msg(!orgs_text_utf8_valid(ctl[i], strlen(ctl[i]), ORGS_TEXT_UTF8_NO_CONTROL),
                      "accepted control #%d", (int)i);
    }
    /* An inner NUL is U+0000: valid UTF-8, but a control character. */
    ck_assert_int_eq(orgs_text_utf8_valid("a\0b", 3, 0), 1);
    ck_assert_int_eq(orgs_text_utf8_valid("a\0b", 3, ORGS_TEXT_UTF8_NO_CONTROL), 0);
}
END_TEST

START_TEST(utf8_char_lengths)
{
    unsigned long cp = 0;
    ck_assert_uint_eq(orgs_text_utf8_char((const unsigned char *)"A", 1, &cp), 1);
    ck_assert_uint_eq(cp, 'A');
    ck_assert_uint_eq(orgs_text_utf8_char((const unsigned char *)"\xc3\xa9", 2, &cp), 2);
    ck_assert_uint_eq(cp, 0xe9);
    ck_assert_uint_eq(orgs_text_utf8_char((const unsigned char *)"\xe2\x82\xac", 3, &cp), 3);
    ck_assert_uint_eq(cp, 0x20ac);
    ck_assert_uint_eq(orgs_text_utf8_char((const unsigned char *)"\xf0\x9f\x98\x80", 4, &cp), 4);
    ck_assert_uint_eq(cp, 0x1f600);
    /* avail limits what may be read */
    ck_assert_uint_eq(orgs_text_utf8_char((const unsigned char *)"\xf0\x9f\x98\x80", 3, &cp), 0);
}
END_TEST

/* ---- trimming */

START_TEST(trim_trailing)
{
    const unsigned char *s = (const unsigned char *)"key \t\r\n";
    ck_assert_uint_eq(orgs_text_trim_trailing_space(s, 7), 3);
    ck_assert_uint_eq(orgs_text_trim_trailing_space((const unsigned char *)" a", 2), 2);
    ck_assert_uint_eq(orgs_text_trim_trailing_space((const unsigned char *)"  ", 2), 0);
    ck_assert_uint_eq(orgs_text_trim_trailing_space((const unsigned char *)"a\v", 2), 2);
    ck_assert_uint_eq(orgs_text_trim_trailing_space(s, 0), 0);
}
END_TEST

/* ---- base62 / base64url */

START_TEST(alphabets)
{
    ck_assert_uint_eq(strlen(orgs_text_base62_alphabet), 62);
    ck_assert_uint_eq(strlen(orgs_text_b64url_alphabet), 64);
    for (int i = 1; i < 62; i++) {
        /* ascending, so ids sort like their packed form */
        ck_assert_int_lt(orgs_text_base62_alphabet[i - 1], orgs_text_base62_alphabet[i]);
    }
    for (int i = 0; i < 64; i++) {
        ck_assert_int_eq(orgs_text_b64url_value((unsigned char)orgs_text_b64url_alphabet[i]), i);
    }
    ck_assert_int_eq(orgs_text_b64url_value('='), -1);
    ck_assert_int_eq(orgs_text_b64url_value('+'), -1);
    ck_assert_int_eq(orgs_text_b64url_value('/'), -1);
    ck_assert_int_eq(orgs_text_b64url_value(0), -1);
}
END_TEST

START_TEST(b64url_vectors)
{
    /* RFC 4648 section 10, without padding */
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    orgs_err_t err = {{0}};
    for (apr_size_t i = 0; i < N(plain); i++) {
        unsigned char *out;
        apr_size_t outlen;
        ck_assert_str_eq(orgs_text_b64url_encode(plain[i], strlen(plain[i]), pool), enc[i]);
        ck_assert_int_eq(orgs_text_b64url_decode(enc[i], strlen(enc[i]), &out, &outlen, pool, &err),
                         APR_SUCCESS);
        ck_assert_uint_eq(outlen, strlen(plain[i]));
        ck_assert_str_eq((const char *)out, plain[i]);
    }
    const unsigned char bytes[] = {0xfb, 0xff, 0xbf};
    ck_assert_str_eq(orgs_text_b64url_encode(bytes, 3, pool), "-_-_");
    ck_assert_str_eq(orgs_text_b64url_encode(NULL, 0, pool), "");
}
END_TEST

START_TEST(b64url_decode_strict)
{
    static const char *const bad[] = {
        "Zg==",                        /* padding */
        "Zm9v YmFy", "Zm9v\n", "+/+/", /* standard alphabet */
        "Z",                           /* 4n+1 */
        "Zh",                          /* non-canonical: low bits set */
        "Zm9",                         /* non-canonical */
    };
    for (apr_size_t i = 0; i < N(bad); i++) {
        unsigned char *out = (unsigned char *)"x";
        apr_size_t outlen = 7;
        orgs_err_t err = {{0}};
        ck_assert_msg(orgs_text_b64url_decode(bad[i], strlen(bad[i]), &out, &outlen, pool, &err) ==
                          APR_EINVAL,
                      "accepted '%s'", bad[i]);
        ck_assert_ptr_null(out);
        ck_assert_uint_eq(outlen, 0);
        ck_assert_msg(err.msg[0] != '\0', "'%s' gave no reason", bad[i]);
    }
    unsigned char *out;
    apr_size_t outlen;
    ck_assert_int_eq(orgs_text_b64url_decode(NULL, 0, &out, &outlen, pool, NULL), APR_EINVAL);
    ck_assert_int_eq(orgs_text_b64url_decode("Zm9v\0Zg", 7, &out, &outlen, pool, NULL), APR_EINVAL);
}
END_TEST

START_TEST(b64url_round_trip)
{
    unsigned char buf[70];
    for (apr_size_t n = 0; n < sizeof(buf); n++) {
        buf[n] = (unsigned char)(n * 37 + 11);
        char *s = orgs_text_b64url_encode(buf, n, pool);
        ck_assert_uint_eq(strlen(s), (n * 4 + 2) / 3);
        unsigned char *out;
        apr_size_t outlen;
        ck_assert_int_eq(orgs_text_b64url_decode(s, strlen(s), &out, &outlen, pool, NULL),
                         APR_SUCCESS);
        ck_assert_uint_eq(outlen, n);
        ck_assert_int_eq(memcmp(out, buf, n), 0);
    }
}
END_TEST

static Suite *text_suite(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, ascii_classes);
    tcase_add_test(tc, classes_ignore_the_locale);
    tcase_add_test(tc, hex_digits);
    tcase_add_test(tc, utf8_accepts);
    tcase_add_test(tc, utf8_rejects);
    tcase_add_test(tc, utf8_controls);
    tcase_add_test(tc, utf8_char_lengths);
    tcase_add_test(tc, trim_trailing);
    tcase_add_test(tc, alphabets);
    tcase_add_test(tc, b64url_vectors);
    tcase_add_test(tc, b64url_decode_strict);
    tcase_add_test(tc, b64url_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(text_suite());
}
