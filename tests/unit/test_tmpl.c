/* Unit tests for src/core/tmpl.c: the template engine's syntax, escaping,
 * blocks, partials, messages, and its errors with file and line. */
#include "tmpl.h"
#include "testutil.h"

static apr_pool_t *pool;

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

static const char *partial(void *ctx, const char *name, const char **file)
{
    if (strcmp(name, "_p.html") == 0) {
        *file = "dir/_p.html";
        return "[{{x}}]";
    }
    if (strcmp(name, "_loop.html") == 0) {
        *file = "dir/_loop.html";
        return "{{> _loop.html}}";
    }
    if (strcmp(name, "_bad.html") == 0) {
        *file = "dir/_bad.html";
        return "ok\nok\n{{#if a}}";
    }
    return NULL;
}

static int has_msg(void *ctx, const char *key)
{
    return strcmp(key, "hello") == 0 || strcmp(key, "n") == 0;
}

static const orgs_tmpl_env_t env = {partial, has_msg, NULL};

static const char *msg(void *ctx, const char *key, long count, const orgs_tmpl_vars_t *v,
                       apr_pool_t *p)
{
    return apr_psprintf(p, "<%s:%ld:%s>", key, count, orgs_tmpl_vars_get(v, "x"));
}

static char *render(const char *src, const orgs_tmpl_vars_t *v)
{
    orgs_tmpl_t *t;
    orgs_err_t err = {{0}};
    ck_assert_msg(orgs_tmpl_compile("t.html", src, &env, &t, pool, &err) == APR_SUCCESS, "%s",
                  err.msg);
    return orgs_tmpl_render(t, v, msg, NULL, pool);
}

static const char *compile_error(const char *src)
{
    orgs_tmpl_t *t;
    static orgs_err_t err;
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(orgs_tmpl_compile("t.html", src, &env, &t, pool, &err), APR_EINVAL);
    return err.msg;
}

START_TEST(test_values_are_escaped)
{
    orgs_tmpl_vars_t *v = orgs_tmpl_vars_make(NULL, pool);
    orgs_tmpl_vars_set(v, "x", "<b>\"a\" & 'b'</b>");
    ck_assert_str_eq(render("A{{x}}B{{ x }}{{unset}}C", v),
                     "A&lt;b&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/b&gt;B"
                     "&lt;b&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/b&gt;C");
    ck_assert_str_eq(render("", v), "");
    ck_assert_str_eq(render("no tags } { at all", v), "no tags } { at all");
    ck_assert_str_eq(render("{{! a comment\nover lines }}x", v), "x");
}
END_TEST

START_TEST(test_if_else_each)
{
    orgs_tmpl_vars_t *v = orgs_tmpl_vars_make(NULL, pool);
    orgs_tmpl_vars_set(v, "yes", "1");
    orgs_tmpl_vars_set(v, "empty", "");
    orgs_tmpl_vars_set(v, "x", "outer");
    ck_assert_str_eq(render("{{#if yes}}Y{{else}}N{{/if}}{{#if empty}}Y{{else}}N{{/if}}"
                            "{{#if !nope}}!{{/if}}{{#if !yes}}bad{{/if}}",
                            v),
                     "YN!");
    ck_assert_str_eq(render("{{#each items}}x{{/each}}{{#if items}}bad{{/if}}", v), "");
    orgs_tmpl_vars_t *a = orgs_tmpl_vars_add(v, "items");
    orgs_tmpl_vars_set(a, "x", "<1>");
    orgs_tmpl_vars_add(v, "items"); /* no x of its own: the outer one shows */
    ck_assert_str_eq(render("{{#if items}}<ul>{{#each items}}<li>{{x}}{{yes}}</li>{{/each}}</ul>"
                            "{{/if}}",
                            v),
                     "<ul><li>&lt;1&gt;1</li><li>outer1</li></ul>");
}
END_TEST

START_TEST(test_partials_and_messages)
{
    orgs_tmpl_vars_t *v = orgs_tmpl_vars_make(NULL, pool);
    orgs_tmpl_vars_set(v, "x", "v");
    orgs_tmpl_vars_set(v, "count", "3");
    ck_assert_str_eq(render("a{{> _p.html}}b", v), "a[v]b");
    ck_assert_str_eq(render("{{t hello}}|{{t n count}}|{{t n nocount}}", v),
                     "<hello:-1:v>|<n:3:v>|<n:-1:v>");
    /* without a message function, the key itself, escaped */
    orgs_tmpl_t *t;
    orgs_err_t err = {{0}};
    ck_assert_int_eq(orgs_tmpl_compile("t", "{{t hello}}", NULL, &t, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(orgs_tmpl_render(t, v, NULL, NULL, pool), "hello");
}
END_TEST

START_TEST(test_errors_name_file_and_line)
{
    ck_assert_str_eq(compile_error("a\nb\n{{#if x}}\n"), "t.html:3: {{#if}} not closed: x");
    ck_assert_str_eq(compile_error("{{#each x}}{{/if}}"), "t.html:1: expected {{/each}}: if");
    ck_assert_str_eq(compile_error("\n{{/if}}"), "t.html:2: closing a block that is not open: if");
    ck_assert_str_eq(compile_error("x\n\n{{name"), "t.html:3: unclosed {{");
    ck_assert_str_eq(compile_error("{{name\n}}"), "t.html:1: unclosed {{");
    ck_assert_str_eq(compile_error("{{}}"), "t.html:1: malformed tag: empty");
    ck_assert_str_eq(compile_error("{{a<b}}"), "t.html:1: malformed tag");
    ck_assert_str_eq(compile_error("{{a b}}"), "t.html:1: one name expected: b");
    ck_assert_str_eq(compile_error("\n{{t nokey}}"), "t.html:2: unknown message key: nokey");
    ck_assert_str_eq(compile_error("{{#while x}}"),
                     "t.html:1: unknown block (#if NAME or #each NAME): while");
    ck_assert_str_eq(compile_error("{{else}}"), "t.html:1: {{else}} outside an {{#if}}");
    ck_assert_str_eq(compile_error("{{#if a}}{{else}}{{else}}{{/if}}"),
                     "t.html:1: {{else}} outside an {{#if}}");
    ck_assert_str_eq(compile_error("{{> _none.html}}"), "t.html:1: unknown partial: _none.html");
    /* an error inside a partial names the partial's file and line */
    ck_assert_str_eq(compile_error("x\n{{> _bad.html}}"), "dir/_bad.html:3: {{#if}} not closed: a");
    ck_assert(strstr(compile_error("{{> _loop.html}}"), "nested too deep") != NULL);
}
END_TEST

static Suite *tmpl_suite(void)
{
    Suite *s = suite_create("tmpl");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_values_are_escaped);
    tcase_add_test(tc, test_if_else_each);
    tcase_add_test(tc, test_partials_and_messages);
    tcase_add_test(tc, test_errors_name_file_and_line);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(tmpl_suite());
}
