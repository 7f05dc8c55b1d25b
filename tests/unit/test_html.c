/* Unit tests for src/core/html.c: escaping, the pages rendered from the
 * shipped templates, their stable ids, and that no caller-supplied markup
 * ever reaches a page raw. */
#include "html.h"
#include "testutil.h"

static apr_pool_t *pool;
static orgs_html_ctx_t ctx;
static const orgs_html_ctx_t *hc = &ctx;

static const char xss[] = "<img src=x onerror=alert(1)>";
static const char xss_esc[] = "&lt;img src=x onerror=alert(1)&gt;";
static const char quote_break[] = "\"><script>alert('x')</script>&amp;";

static void setup(void)
{
    orgs_pages_t *ps;
    orgs_err_t err = {{0}};
    apr_initialize();
    apr_pool_create(&pool, NULL);
    ck_assert_int_eq(orgs_pages_load(NULL, &ps, pool, &err), APR_SUCCESS);
    ctx.ps = ps;
    ctx.lang = "en";
    ctx.vars = orgs_tmpl_vars_make(NULL, pool);
    orgs_tmpl_vars_set(ctx.vars, "nonce", "N0nce");
    ctx.p = pool;
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
    ck_assert(contains(html, "<style nonce=\"N0nce\">"));
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
    char *h = orgs_html_prompt_page(hc, "/orgs/login", "/app/?a=1&b=2", NULL, NULL);
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
    char *h = orgs_html_prompt_page(hc, "/orgs/login", NULL, "Unknown organization", "acme");
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
    char *h = orgs_html_prompt_page(hc, xss, xss, xss, xss);
    assert_document(h);
    assert_no_raw(h);
    ck_assert(contains(h, apr_pstrcat(pool, "action=\"", xss_esc, "\"", NULL)));
    ck_assert(contains(h, apr_pstrcat(pool, "value=\"", xss_esc, "\"", NULL)));
    ck_assert(contains(h, apr_pstrcat(pool, "role=\"alert\">", xss_esc, "</p>", NULL)));

    h = orgs_html_prompt_page(hc, quote_break, quote_break, quote_break, quote_break);
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
        orgs_html_chooser_page(hc, "/orgs/login", "org1", "Org One", conns, 3, "/app/?a=1&b=2");
    assert_document(h);
    ck_assert(contains(h, "<p class=\"org\" id=\"org-name\">Org One</p>"));
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
    char *h = orgs_html_chooser_page(hc, "/orgs/login", "org1", NULL, conns, 1, NULL);
    assert_document(h);
    ck_assert(contains(h, "<p class=\"org\" id=\"org-name\">org1</p>"));
    ck_assert(contains(h, "href=\"/orgs/login?organization=org1&amp;connection=okta1\""));
    ck_assert(!contains(h, "return_to"));
}
END_TEST

START_TEST(test_chooser_page_empty)
{
    char *h = orgs_html_chooser_page(hc, "/orgs/login", "org1", "Org One", NULL, 0, "/");
    assert_document(h);
    ck_assert(contains(h, "id=\"no-connections\""));
    ck_assert(!contains(h, "class=\"conn\""));
}
END_TEST

START_TEST(test_chooser_page_escapes_every_field)
{
    orgs_html_conn_t conns[] = {{xss, xss}, {quote_break, quote_break}};
    char *h = orgs_html_chooser_page(hc, xss, xss, xss, conns, 2, xss);
    assert_document(h);
    assert_no_raw(h);
    ck_assert(contains(h, apr_pstrcat(pool, "data-conn=\"", xss_esc, "\"", NULL)));
    ck_assert(contains(h, apr_pstrcat(pool, "<p class=\"org\" id=\"org-name\">", xss_esc, NULL)));
    /* query values are percent-encoded inside the escaped href */
    ck_assert(contains(h, "organization=%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E"));
    ck_assert(contains(h, "return_to=%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E"));

    /* display name with quotes, org name empty display */
    h = orgs_html_chooser_page(hc, "/orgs/login", quote_break, "", conns + 1, 1, quote_break);
    assert_document(h);
    assert_no_raw(h);
    ck_assert(
        contains(h, "connection=%22%3E%3Cscript%3Ealert%28%27x%27%29%3C%2Fscript%3E%26amp%3B"));
}
END_TEST

/* ---- error page */

START_TEST(test_error_page)
{
    char *h = orgs_html_error_page(hc, "Access denied", "access_denied",
                                   "You are not a member of Org One.",
                                   "/orgs/login?organization=org1&return_to=%2Fapp");
    assert_document(h);
    ck_assert(contains(h, "<title>Access denied</title>"));
    ck_assert(contains(h, "<h1>Access denied</h1>"));
    ck_assert(contains(h, "<code id=\"error-code\">access_denied</code>"));
    ck_assert(contains(h, "<p id=\"error-description\">You are not a member of Org One.</p>"));
    ck_assert(contains(h, "<a id=\"try-again\" class=\"button\" href=\"/orgs/login?"
                          "organization=org1&amp;return_to=%2Fapp\">Try again</a>"));
    ck_assert(contains(h, "<p id=\"error-sentence\" role=\"alert\">You do not have access, "
                          "or the sign-in was cancelled.</p>"));
}
END_TEST

START_TEST(test_error_page_defaults)
{
    char *h = orgs_html_error_page(hc, NULL, NULL, NULL, NULL);
    assert_document(h);
    ck_assert(contains(h, "<h1>Sign-in failed</h1>"));
    ck_assert(contains(h, "<code id=\"error-code\"></code>"));
    ck_assert(!contains(h, "id=\"error-description\""));
    ck_assert(contains(h, "<p id=\"error-sentence\" role=\"alert\">The sign-in could not be "
                          "completed.</p>"));
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
        char *h = orgs_html_error_page(hc, "t", "c", "d", bad[i]);
        assert_document(h);
        ck_assert_msg(!contains(h, "id=\"try-again\""), "retry link for bad url #%zu", i);
        ck_assert(!contains(h, "evil.example"));
        ck_assert(!contains(h, "javascript:"));
    }
}
END_TEST

START_TEST(test_error_page_escapes_every_field)
{
    char *h = orgs_html_error_page(hc, xss, xss, xss, "/x?a=<b>&c='d'");
    assert_document(h);
    assert_no_raw(h);
    ck_assert(contains(h, apr_pstrcat(pool, "<title>", xss_esc, "</title>", NULL)));
    ck_assert(contains(h, apr_pstrcat(pool, "<code id=\"error-code\">", xss_esc, NULL)));
    ck_assert(contains(h, apr_pstrcat(pool, "<p id=\"error-description\">", xss_esc, NULL)));
    /* '<' is not a valid return_to, so that link is dropped rather than escaped */
    ck_assert(!contains(h, "id=\"try-again\""));

    h = orgs_html_error_page(hc, quote_break, quote_break, quote_break, "/x?a='d'&b=1");
    assert_document(h);
    assert_no_raw(h);
    ck_assert(contains(h, "href=\"/x?a=&#39;d&#39;&amp;b=1\""));
}
END_TEST

/* ---- the other pages */

START_TEST(test_denied_page_plural_and_escaping)
{
    orgs_tmpl_vars_t *saved = ctx.vars;
    ctx.vars = orgs_tmpl_vars_make(saved, pool);
    orgs_tmpl_vars_set(ctx.vars, "org_label", "Org <One>");
    char *h = orgs_html_denied_page(hc, "denied.role", 1, "alice@org1.example.com", "admin",
                                    "November 30, 2026, 20:50 UTC", "/orgs/login?return_to=%2Fa",
                                    "/orgs/logout?organization=org1");
    assert_document(h);
    ck_assert(contains(h, "<p id=\"denied-text\">You are signed in to Org &lt;One&gt; as "
                          "alice@org1.example.com, but this page needs the admin role.</p>"));
    ck_assert(contains(h, "Signed in since November 30, 2026, 20:50 UTC."));
    ck_assert(
        contains(h, "id=\"switch-org\" class=\"button\" href=\"/orgs/login?return_to=%2Fa\""));
    ck_assert(contains(h, "id=\"sign-out\""));
    h = orgs_html_denied_page(hc, "denied.role", 2, xss, "admin, owner", NULL, "/", "/");
    assert_no_raw(h);
    ck_assert(contains(h, "needs one of these roles: admin, owner."));
    ck_assert(!contains(h, "denied-since"));
    /* an unknown reason still says something true */
    h = orgs_html_denied_page(hc, "denied.nope", -1, "bob", NULL, NULL, "/", "/");
    ck_assert(contains(h, "but you have no access to this page."));
    ctx.vars = saved;
}
END_TEST

START_TEST(test_signed_out_and_confirm_pages)
{
    const char *fields[] = {"organization", "org1", "csrf", xss, "skipped", NULL, NULL};
    char *h = orgs_html_signed_out_page(hc, "/orgs/login?organization=org1");
    assert_document(h);
    ck_assert(contains(h, "<h1>You are signed out</h1>"));
    ck_assert(contains(h, "<p id=\"signed-out-text\" role=\"status\">You have signed out.</p>"));
    ck_assert(contains(h, "href=\"/orgs/login?organization=org1\""));

    orgs_tmpl_vars_set(ctx.vars, "org_label", "Org One");
    h = orgs_html_confirm_page(hc, "logout-confirm", "confirm.logout.title", "confirm.logout.text",
                               "/orgs/logout", fields, "confirm.logout.button");
    assert_document(h);
    assert_no_raw(h);
    ck_assert(contains(h, "<form id=\"logout-confirm\" method=\"post\" action=\"/orgs/logout\">"));
    ck_assert(contains(h, "Another site asked to sign you out of Org One."));
    ck_assert(contains(h, "<input type=\"hidden\" name=\"organization\" value=\"org1\">"));
    ck_assert(!contains(h, "skipped"));
    ck_assert(contains(h, "<button id=\"confirm\" type=\"submit\">Sign out</button>"));
}
END_TEST

START_TEST(test_switcher_and_branding)
{
    orgs_tmpl_vars_t *saved = ctx.vars;
    ctx.vars = orgs_tmpl_vars_make(saved, pool);
    orgs_tmpl_vars_set(ctx.vars, "brand_name", "Acme <Portal>");
    orgs_tmpl_vars_set(ctx.vars, "logo_url", "data:image/png;base64,iVBORw0KGgo=");
    orgs_tmpl_vars_set(ctx.vars, "logo_alt", "Acme");
    orgs_tmpl_vars_set(ctx.vars, "color_primary", "#0b5cad");
    orgs_tmpl_vars_set(ctx.vars, "color_on_primary", "#ffffff");
    orgs_tmpl_vars_set(ctx.vars, "color_background", "#f2f6fb");
    orgs_html_switch_add(hc, "org2", "/orgs/switch?organization=org2");
    char *h = orgs_html_prompt_page(hc, "/orgs/login", "/", NULL, NULL);
    ck_assert(contains(h, "<h1>Sign in to continue to Acme &lt;Portal&gt;</h1>"));
    ck_assert(contains(h, "<img id=\"logo\" class=\"logo\" src=\"data:image/png;base64,"
                          "iVBORw0KGgo=\" alt=\"Acme\">"));
    ck_assert(contains(h, ":root{--primary:#0b5cad;--on-primary:#ffffff}"));
    ck_assert(contains(h, "body{background:#f2f6fb}"));
    ck_assert(contains(h, "<h2 id=\"switcher-heading\">Your other organization</h2>"));
    ck_assert(contains(h, "<a class=\"switch\" data-org=\"org2\" "
                          "href=\"/orgs/switch?organization=org2\">org2</a>"));
    orgs_html_switch_add(hc, "org3", "/orgs/switch?organization=org3");
    h = orgs_html_prompt_page(hc, "/orgs/login", "/", NULL, NULL);
    ck_assert(contains(h, "Your 2 other organizations"));
    ctx.vars = saved;
}
END_TEST

START_TEST(test_pages_in_every_language)
{
    int n;
    const char *const *langs = orgs_pages_langs(ctx.ps, &n);
    ck_assert_int_ge(n, 5);
    ck_assert_str_eq(langs[0], "en");
    for (int i = 0; i < n; i++) {
        orgs_html_ctx_t c = ctx;
        c.lang = langs[i];
        char *h = orgs_html_prompt_page(&c, "/orgs/login", "/", "prompt.unknown", "x");
        ck_assert(contains(h, apr_pstrcat(pool, "<html lang=\"", langs[i], "\">", NULL)));
        ck_assert(!contains(h, "prompt.unknown"));
    }
    orgs_html_ctx_t de = ctx;
    de.lang = "de";
    ck_assert(contains(orgs_html_prompt_page(&de, "/orgs/login", "/", "prompt.unknown", "x"),
                       "Es gibt keine Organisation mit diesem Namen."));
    ck_assert(contains(orgs_html_error_page(&de, NULL, "access_denied", "d", "/"),
                       "<a id=\"try-again\" class=\"button\" href=\"/\">Erneut versuchen</a>"));
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
    tcase_add_test(tc, test_denied_page_plural_and_escaping);
    tcase_add_test(tc, test_signed_out_and_confirm_pages);
    tcase_add_test(tc, test_switcher_and_branding);
    tcase_add_test(tc, test_pages_in_every_language);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(html_suite());
}
