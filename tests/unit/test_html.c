/* Unit tests for src/core/html.c: escaping, the three page templates, their
 * stable ids, and that no caller-supplied markup ever reaches a page raw. */
#include "html.h"
#include "testutil.h"

static apr_pool_t *pool;

static const char xss[] = "<img src=x onerror=alert(1)>";
static const char xss_esc[] = "&lt;img src=x onerror=alert(1)&gt;";
static const char quote_break[] = "\"><script>alert('x')</script>&amp;";

static void setup(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
    apr_terminate();
}

static int contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

/* A complete, self-contained HTML5 document with no script or external resource. */
static void assert_document(const char *html)
{
    ck_assert_ptr_nonnull(html);
    ck_assert_int_eq(strncmp(html, "<!DOCTYPE html>\n<html lang=\"en\">", 32), 0);
    ck_assert(contains(html, "<meta charset=\"utf-8\">"));
    ck_assert(contains(html, "<style>"));
    ck_assert(contains(html, "</html>\n"));
    ck_assert(!contains(html, "<script"));
    ck_assert(!contains(html, "<img"));
    ck_assert(!contains(html, "<iframe"));
    ck_assert(!contains(html, "<link"));
    ck_assert(!contains(html, "http://"));
    ck_assert(!contains(html, "https://"));
}

/* None of the raw payloads got through. */
static void assert_no_raw(const char *html)
{
    ck_assert(!contains(html, xss));
    ck_assert(!contains(html, "<img"));
    ck_assert(!contains(html, "\"><"));
    ck_assert(!contains(html, "alert('x')"));
}

/* ---- escape */

START_TEST(test_escape_all_specials)
{
    ck_assert_str_eq(orgs_html_escape("a&b<c>d\"e'f", pool), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
    ck_assert_str_eq(orgs_html_escape(xss, pool), xss_esc);
    ck_assert_str_eq(orgs_html_escape("&amp;", pool), "&amp;amp;");
    ck_assert_str_eq(orgs_html_escape("<<>>", pool), "&lt;&lt;&gt;&gt;");
}
END_TEST

START_TEST(test_escape_passthrough)
{
    const char *plain = "Org One \xe2\x9c\x93 (premium) / 100%";
    ck_assert_ptr_eq(orgs_html_escape(plain, pool), plain);
    ck_assert_str_eq(orgs_html_escape("", pool), "");
    ck_assert_str_eq(orgs_html_escape(NULL, pool), "");
}
END_TEST

/* ---- prompt */

START_TEST(test_prompt_page)
{
    char *h = orgs_html_prompt_page("/orgs/login", "/app/?a=1&b=2", NULL, NULL, pool);
    assert_document(h);
    ck_assert(contains(h, "<form id=\"org-form\" method=\"get\" action=\"/orgs/login\">"));
    ck_assert(contains(h, "id=\"org-input\" name=\"organization\""));
    ck_assert(contains(h, "Organization name or work email"));
    ck_assert(contains(h, "<button id=\"continue\" type=\"submit\">"));
    ck_assert(contains(h, "name=\"return_to\" value=\"/app/?a=1&amp;b=2\""));
    ck_assert(!contains(h, "id=\"error\""));
}
END_TEST

START_TEST(test_prompt_page_error_and_no_return_to)
{
    char *h = orgs_html_prompt_page("/orgs/login", NULL, "Unknown organization", "acme", pool);
    assert_document(h);
    ck_assert(contains(h, "<p id=\"error\" class=\"error\" role=\"alert\">Unknown "
                          "organization</p>"));
    /* the error comes before the field */
    ck_assert(strstr(h, "id=\"error\"") < strstr(h, "id=\"org-input\""));
    ck_assert(contains(h, "value=\"acme\""));
    ck_assert(!contains(h, "return_to"));
}
END_TEST

START_TEST(test_prompt_page_escapes_every_field)
{
    char *h = orgs_html_prompt_page(xss, xss, xss, xss, pool);
    assert_document(h);
    assert_no_raw(h);
    ck_assert(contains(h, apr_pstrcat(pool, "action=\"", xss_esc, "\"", NULL)));
    ck_assert(contains(h, apr_pstrcat(pool, "value=\"", xss_esc, "\"", NULL)));
    ck_assert(contains(h, apr_pstrcat(pool, "role=\"alert\">", xss_esc, "</p>", NULL)));

    h = orgs_html_prompt_page(quote_break, quote_break, quote_break, quote_break, pool);
    assert_document(h);
    assert_no_raw(h);
    ck_assert(contains(h, "value=\"&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/"
                          "script&gt;&amp;amp;\""));
}
END_TEST

/* ---- chooser */

START_TEST(test_chooser_page)
{
    orgs_html_conn_t conns[] = {{"okta1", "Okta (staff)"}, {"azure", NULL}, {"g", ""}};
    char *h =
        orgs_html_chooser_page("/orgs/login", "org1", "Org One", conns, 3, "/app/?a=1&b=2", pool);
    assert_document(h);
    ck_assert(contains(h, "<span id=\"org-name\">Org One</span>"));
    ck_assert(contains(h, "<a class=\"conn\" data-conn=\"okta1\" href=\"/orgs/login?"
                          "organization=org1&amp;connection=okta1&amp;return_to="
                          "%2Fapp%2F%3Fa%3D1%26b%3D2\">Okta (staff)</a>"));
    ck_assert(contains(h, "data-conn=\"azure\""));
    ck_assert(contains(h, ">azure</a>")); /* display name falls back to the name */
    ck_assert(contains(h, ">g</a>"));
    ck_assert(!contains(h, "no-connections"));
}
END_TEST

START_TEST(test_chooser_page_no_return_to_no_display_name)
{
    orgs_html_conn_t conns[] = {{"okta1", "Okta"}};
    char *h = orgs_html_chooser_page("/orgs/login", "org1", NULL, conns, 1, NULL, pool);
    assert_document(h);
    ck_assert(contains(h, "<span id=\"org-name\">org1</span>"));
    ck_assert(contains(h, "href=\"/orgs/login?organization=org1&amp;connection=okta1\""));
    ck_assert(!contains(h, "return_to"));
}
END_TEST

START_TEST(test_chooser_page_empty)
{
    char *h = orgs_html_chooser_page("/orgs/login", "org1", "Org One", NULL, 0, "/", pool);
    assert_document(h);
    ck_assert(contains(h, "id=\"no-connections\""));
    ck_assert(!contains(h, "class=\"conn\""));
}
END_TEST

START_TEST(test_chooser_page_escapes_every_field)
{
    orgs_html_conn_t conns[] = {{xss, xss}, {quote_break, quote_break}};
    char *h = orgs_html_chooser_page(xss, xss, xss, conns, 2, xss, pool);
    assert_document(h);
    assert_no_raw(h);
    ck_assert(contains(h, apr_pstrcat(pool, "data-conn=\"", xss_esc, "\"", NULL)));
    ck_assert(contains(h, apr_pstrcat(pool, "<span id=\"org-name\">", xss_esc, NULL)));
    /* query values are percent-encoded inside the escaped href */
    ck_assert(contains(h, "organization=%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E"));
    ck_assert(contains(h, "return_to=%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E"));

    /* display name with quotes, org name empty display */
    h = orgs_html_chooser_page("/orgs/login", quote_break, "", conns + 1, 1, quote_break, pool);
    assert_document(h);
    assert_no_raw(h);
    ck_assert(
        contains(h, "connection=%22%3E%3Cscript%3Ealert%28%27x%27%29%3C%2Fscript%3E%26amp%3B"));
}
END_TEST

/* ---- error page */

START_TEST(test_error_page)
{
    char *h =
        orgs_html_error_page("Access denied", "access_denied", "You are not a member of Org One.",
                             "/orgs/login?organization=org1&return_to=%2Fapp", pool);
    assert_document(h);
    ck_assert(contains(h, "<title>Access denied</title>"));
    ck_assert(contains(h, "<h1>Access denied</h1>"));
    ck_assert(contains(h, "<code id=\"error-code\">access_denied</code>"));
    ck_assert(contains(h, "<p id=\"error-description\">You are not a member of Org One.</p>"));
    ck_assert(contains(h, "<a id=\"try-again\" href=\"/orgs/login?organization=org1&amp;"
                          "return_to=%2Fapp\">Try again</a>"));
}
END_TEST

START_TEST(test_error_page_defaults)
{
    char *h = orgs_html_error_page(NULL, NULL, NULL, NULL, pool);
    assert_document(h);
    ck_assert(contains(h, "<h1>Sign-in failed</h1>"));
    ck_assert(contains(h, "<code id=\"error-code\"></code>"));
    ck_assert(contains(h, "<p id=\"error-description\"></p>"));
    ck_assert(!contains(h, "id=\"try-again\""));
}
END_TEST

START_TEST(test_error_page_refuses_foreign_retry_url)
{
    static const char *bad[] = {"//evil.example/",
                                "https://evil.example/",
                                "javascript:alert(1)",
                                "/\\evil.example",
                                "",
                                xss};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *h = orgs_html_error_page("t", "c", "d", bad[i], pool);
        assert_document(h);
        ck_assert_msg(!contains(h, "id=\"try-again\""), "retry link for bad url #%zu", i);
        ck_assert(!contains(h, "evil.example"));
        ck_assert(!contains(h, "javascript:"));
    }
}
END_TEST

START_TEST(test_error_page_escapes_every_field)
{
    char *h = orgs_html_error_page(xss, xss, xss, "/x?a=<b>&c='d'", pool);
    assert_document(h);
    assert_no_raw(h);
    ck_assert(contains(h, apr_pstrcat(pool, "<title>", xss_esc, "</title>", NULL)));
    ck_assert(contains(h, apr_pstrcat(pool, "<code id=\"error-code\">", xss_esc, NULL)));
    ck_assert(contains(h, apr_pstrcat(pool, "<p id=\"error-description\">", xss_esc, NULL)));
    /* '<' is not a valid return_to, so that link is dropped rather than escaped */
    ck_assert(!contains(h, "id=\"try-again\""));

    h = orgs_html_error_page(quote_break, quote_break, quote_break, "/x?a='d'&b=1", pool);
    assert_document(h);
    assert_no_raw(h);
    ck_assert(contains(h, "href=\"/x?a=&#39;d&#39;&amp;b=1\""));
}
END_TEST

static Suite *html_suite(void)
{
    Suite *s = suite_create("html");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_escape_all_specials);
    tcase_add_test(tc, test_escape_passthrough);
    tcase_add_test(tc, test_prompt_page);
    tcase_add_test(tc, test_prompt_page_error_and_no_return_to);
    tcase_add_test(tc, test_prompt_page_escapes_every_field);
    tcase_add_test(tc, test_chooser_page);
    tcase_add_test(tc, test_chooser_page_no_return_to_no_display_name);
    tcase_add_test(tc, test_chooser_page_empty);
    tcase_add_test(tc, test_chooser_page_escapes_every_field);
    tcase_add_test(tc, test_error_page);
    tcase_add_test(tc, test_error_page_defaults);
    tcase_add_test(tc, test_error_page_refuses_foreign_retry_url);
    tcase_add_test(tc, test_error_page_escapes_every_field);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(html_suite());
}
