/* Unit tests for src/core/i18n.c and src/core/pages.c: catalogs, plurals,
 * dates, Accept-Language, and a site's directory over the shipped pages
 * (an override, a new language, broken files named with their line). */
#include <apr_hash.h>

#include "i18n.h"
#include "pages.h"
#include "testutil.h"

static apr_pool_t *pool;
static char *dir;

static void setup(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    dir = testutil_tempdir(pool);
}

static void teardown(void)
{
    testutil_rmtree(dir);
    apr_pool_destroy(pool);
    apr_terminate();
}

static void put_file(const char *name, const char *text)
{
    FILE *f = fopen(apr_pstrcat(pool, dir, "/", name, NULL), "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static const char *lookup(const void *ctx, const char *name)
{
    return strcmp(name, "org") == 0 ? "<Acme>" : NULL;
}

START_TEST(test_catalog_parse_and_plurals)
{
    orgs_i18n_cat_t *c = NULL, *en = NULL;
    orgs_err_t err = {{0}};
    ck_assert_int_eq(orgs_i18n_cat_parse("m.fr", "FR",
                                         "# c\n\nplural = one-if-0-or-1\n"
                                         "a = Bonjour {org} !\r\n"
                                         "n.one = {count} organisation\n"
                                         "n.other = {count} organisations\n",
                                         &c, pool, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(c->lang, "fr");
    ck_assert_str_eq(orgs_i18n_text(c, NULL, "a", -1), "Bonjour {org} !");
    ck_assert_str_eq(orgs_i18n_text(c, NULL, "n", 0), "{count} organisation");
    ck_assert_str_eq(orgs_i18n_text(c, NULL, "n", 1), "{count} organisation");
    ck_assert_str_eq(orgs_i18n_text(c, NULL, "n", 2), "{count} organisations");
    ck_assert_int_eq(
        orgs_i18n_cat_parse("m.en", "en", "n.one = one\nn.other = many\nb = B\n", &en, pool, &err),
        APR_SUCCESS);
    ck_assert_str_eq(orgs_i18n_text(en, NULL, "n", 0), "many");
    ck_assert_str_eq(orgs_i18n_text(en, NULL, "n", 1), "one");
    ck_assert_str_eq(orgs_i18n_text(c, en, "b", -1), "B"); /* the fallback */
    ck_assert_ptr_null(orgs_i18n_text(c, en, "zz", -1));
    /* a second file overrides some keys of the first */
    ck_assert_int_eq(orgs_i18n_cat_parse("site.fr", "fr", "a = Salut\n", &c, pool, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(orgs_i18n_text(c, NULL, "a", -1), "Salut");
    ck_assert_str_eq(orgs_i18n_text(c, NULL, "n", 5), "{count} organisations");
    /* values are escaped, placeholders filled (escaped), or left plain */
    ck_assert_str_eq(orgs_i18n_format("Hi {org} & {nobody}<", lookup, NULL, 1, pool),
                     "Hi &lt;Acme&gt; &amp; &lt;");
    ck_assert_str_eq(orgs_i18n_format("Hi {org}", lookup, NULL, 0, pool), "Hi <Acme>");
}
END_TEST

START_TEST(test_catalog_errors)
{
    static const struct {
        const char *src, *msg;
    } bad[] = {
        {"a = x\nno equals sign\n", "m.xx:2: expected key = text"},
        {"\n\nA = x\n", "m.xx:3: bad character in key 'A'"},
        {"a = {unclosed\n", "m.xx:1: malformed {placeholder}"},
        {"a = }\n", "m.xx:1: '}' without '{'"},
        {"plural = sometimes\n", "m.xx:1: plural is one-if-1, one-if-0-or-1 or none"},
        {" = x\n", "m.xx:1: empty key"},
        {"a = \xff\n", "m.xx:1: not UTF-8 text"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        orgs_i18n_cat_t *c = NULL;
        orgs_err_t err = {{0}};
        ck_assert_int_eq(orgs_i18n_cat_parse("m.xx", "xx", bad[i].src, &c, pool, &err), APR_EINVAL);
        ck_assert_str_eq(err.msg, bad[i].msg);
    }
    orgs_err_t err = {{0}};
    ck_assert_int_eq(orgs_i18n_lang_check("pt-BR", &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_i18n_lang_check("e", &err), APR_EINVAL);
    ck_assert_int_eq(orgs_i18n_lang_check("en_US", &err), APR_EINVAL);
    ck_assert_int_eq(orgs_i18n_lang_check("en-", &err), APR_EINVAL);
    ck_assert_int_eq(orgs_i18n_lang_check("../x", &err), APR_EINVAL);
}
END_TEST

START_TEST(test_accept_language)
{
    static const char *const avail[] = {"en", "de", "fr", "es", "ja", "pt-br"};
    static const struct {
        const char *header, *want;
    } cases[] = {
        {NULL, "en"},
        {"", "en"},
        {"de", "de"},
        {"de-CH, fr;q=0.9", "de"},
        {"fr;q=0.5, de;q=0.8", "de"},
        {"it, fr;q=0.4", "fr"},
        {"it", "en"},
        {"*", "en"},
        {"ja;q=0, fr;q=0.1", "fr"},
        {"JA-jp", "ja"},
        {"pt", "pt-br"},
        {"pt-BR;q=1.0", "pt-br"},
        {"es;q=1.5, de;q=0.2", "de"}, /* a malformed q drops its range */
        {"es;q=0.123, de;q=0.12", "es"},
        {" , ;q=1, de", "de"},
        {"en-US,en;q=0.9,ja;q=0.8", "en"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_msg(
            strcmp(orgs_i18n_negotiate(cases[i].header, avail, 6, "en", pool), cases[i].want) == 0,
            "%s", cases[i].header ? cases[i].header : "(null)");
    }
}
END_TEST

START_TEST(test_dates)
{
    orgs_pages_t *ps;
    orgs_err_t err = {{0}};
    apr_time_t t = apr_time_from_sec(1796067000); /* 2026-11-30 19:30 UTC */
    ck_assert_int_eq(orgs_pages_load(NULL, &ps, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(orgs_pages_date(ps, "en", t, pool), "November 30, 2026, 19:30 UTC");
    ck_assert_str_eq(orgs_pages_date(ps, "de", t, pool), "30. November 2026, 19:30 UTC");
    ck_assert_str_eq(orgs_pages_date(ps, "fr", t, pool), "30 novembre 2026, 19:30 UTC");
    ck_assert_str_eq(orgs_pages_date(ps, "ja", t, pool), "2026年11月30日 19:30 UTC");
}
END_TEST

/* Every shipped catalog has every English key (no page falls back to
 * English in another language), and no key English lacks. */
START_TEST(test_shipped_catalogs_complete)
{
    int n;
    orgs_pages_t *ps;
    orgs_err_t err = {{0}};
    orgs_i18n_cat_t *en = NULL;
    ck_assert_int_eq(orgs_pages_load(NULL, &ps, pool, &err), APR_SUCCESS);
    const char *const *langs = orgs_pages_langs(ps, &n);
    ck_assert_int_eq(n, 5);
    for (const orgs_pages_file_t *f = orgs_pages_builtin; f->name; f++) {
        if (strcmp(f->name, "messages.en") == 0) {
            ck_assert_int_eq(orgs_i18n_cat_parse(f->name, "en", f->src, &en, pool, &err),
                             APR_SUCCESS);
        }
    }
    ck_assert_ptr_nonnull(en);
    for (int i = 1; i < n; i++) {
        orgs_i18n_cat_t *c = NULL;
        for (const orgs_pages_file_t *f = orgs_pages_builtin; f->name; f++) {
            if (strcmp(f->name + 9, langs[i]) == 0 && strncmp(f->name, "messages.", 9) == 0) {
                ck_assert_int_eq(orgs_i18n_cat_parse(f->name, langs[i], f->src, &c, pool, &err),
                                 APR_SUCCESS);
            }
        }
        ck_assert_ptr_nonnull(c);
        for (apr_hash_index_t *hi = apr_hash_first(pool, en->msgs); hi; hi = apr_hash_next(hi)) {
            const char *key = apr_hash_this_key(hi);
            size_t kl = strlen(key);
            /* .one forms are optional in a language without them */
            if (kl > 4 && strcmp(key + kl - 4, ".one") == 0 && c->plural == ORGS_PLURAL_NONE) {
                continue;
            }
            ck_assert_msg(apr_hash_get(c->msgs, key, APR_HASH_KEY_STRING) != NULL,
                          "messages.%s lacks %s", langs[i], key);
        }
        for (apr_hash_index_t *hi = apr_hash_first(pool, c->msgs); hi; hi = apr_hash_next(hi)) {
            ck_assert_msg(apr_hash_get(en->msgs, apr_hash_this_key(hi), APR_HASH_KEY_STRING),
                          "messages.%s has %s, English has not", langs[i],
                          (const char *)apr_hash_this_key(hi));
        }
    }
}
END_TEST

START_TEST(test_site_dir_overrides_and_adds)
{
    orgs_pages_t *ps;
    orgs_err_t err = {{0}};
    orgs_tmpl_vars_t *v = orgs_tmpl_vars_make(NULL, pool);
    put_file("signed-out.html", "<p>{{t signed_out.title}} / {{t site.extra}}</p>\n");
    put_file("messages.en", "site.extra = Come back soon\n");
    put_file("messages.it", "plural = one-if-1\nsigned_out.title = Sei uscito\n");
    put_file("README", "not a template {{ at all");
    ck_assert_msg(orgs_pages_load(dir, &ps, pool, &err) == APR_SUCCESS, "%s", err.msg);
    ck_assert(orgs_pages_has_lang(ps, "it"));
    ck_assert(orgs_pages_has_lang(ps, "IT"));
    ck_assert_str_eq(orgs_pages_render(ps, "signed-out", "en", v, pool),
                     "<p>You are signed out / Come back soon</p>\n");
    /* a language with only some keys: the rest in English */
    ck_assert_str_eq(orgs_pages_render(ps, "signed-out", "it", v, pool),
                     "<p>Sei uscito / Come back soon</p>\n");
    ck_assert_str_eq(orgs_pages_lang(ps, "it-IT,de;q=0.5", NULL, pool), "it");
    ck_assert_str_eq(orgs_pages_lang(ps, "it-IT", "de", pool), "de");
    ck_assert_str_eq(orgs_pages_lang(ps, "it-IT", "xx", pool), "it");
    /* the other pages are still the shipped ones */
    ck_assert(strstr(orgs_pages_render(ps, "prompt", "it", v, pool), "id=\"org-form\"") != NULL);
    ck_assert_ptr_null(orgs_pages_render(ps, "nope", "en", v, pool));
}
END_TEST

START_TEST(test_site_dir_errors)
{
    orgs_pages_t *ps;
    orgs_err_t err = {{0}};
    const char *p;

    put_file("prompt.html", "<h1>\n{{#if error}}\n<p>{{error}}</p>\n");
    ck_assert_int_eq(orgs_pages_load(dir, &ps, pool, &err), APR_EINVAL);
    p = apr_pstrcat(pool, dir, "/prompt.html:2: {{#if}} not closed: error", NULL);
    ck_assert_str_eq(err.msg, p);

    put_file("prompt.html", "{{t no.such.key}}");
    ck_assert_int_eq(orgs_pages_load(dir, &ps, pool, &err), APR_EINVAL);
    ck_assert(strstr(err.msg, "/prompt.html:1: unknown message key: no.such.key") != NULL);

    put_file("prompt.html", "ok");
    put_file("_style.css", "x{{");
    ck_assert_int_eq(orgs_pages_load(dir, &ps, pool, &err), APR_EINVAL);
    ck_assert(strstr(err.msg, "/_style.css:1: unclosed {{") != NULL);

    remove(apr_pstrcat(pool, dir, "/_style.css", NULL));
    put_file("messages.de", "ok = fine\nbroken\n");
    ck_assert_int_eq(orgs_pages_load(dir, &ps, pool, &err), APR_EINVAL);
    ck_assert(strstr(err.msg, "/messages.de:2: expected key = text") != NULL);

    remove(apr_pstrcat(pool, dir, "/messages.de", NULL));
    put_file("messages.x_y", "a = b\n");
    ck_assert_int_eq(orgs_pages_load(dir, &ps, pool, &err), APR_EINVAL);
    ck_assert(strstr(err.msg, "/messages.x_y: a language tag") != NULL);

    ck_assert_int_ne(orgs_pages_load(apr_pstrcat(pool, dir, "/none", NULL), &ps, pool, &err),
                     APR_SUCCESS);
    ck_assert(strstr(err.msg, "cannot open the directory") != NULL);
}
END_TEST

static Suite *i18n_suite(void)
{
    Suite *s = suite_create("i18n");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_catalog_parse_and_plurals);
    tcase_add_test(tc, test_catalog_errors);
    tcase_add_test(tc, test_accept_language);
    tcase_add_test(tc, test_dates);
    tcase_add_test(tc, test_shipped_catalogs_complete);
    tcase_add_test(tc, test_site_dir_overrides_and_adds);
    tcase_add_test(tc, test_site_dir_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(i18n_suite());
}
