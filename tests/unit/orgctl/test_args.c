/* Unit tests for tools/orgctl/args.c: the option-spec parser (global
 * options anywhere, command options after positionals, repeats, values,
 * "--") and the value checks the commands share. Every rejection is
 * checked for its exit code and for the one error line it prints. */
#include "../testutil.h"
#include "orgctl.h"

#include <fcntl.h>

static apr_pool_t *pool;
static cli_t cli;
static char errline[1024]; /* what the last parse printed on stderr */

static int nop(cli_t *c)
{
    return RC_OK;
}

/* A table in the shape of main.c's: groups with verbs, a one-word command,
 * value, repeatable and flag options, an open maximum. */
static const command_t table[] = {
    {"org", "create", "display-name=,meta=*,domain=*", 1, 1, STORE_WRITE, KEY_NONE, nop,
     "NAME [--display-name S] [--meta K=V]... [--domain D]..."},
    {"org", "list", "", 0, 0, STORE_READ, KEY_NONE, nop, ""},
    {"org", "enable-conn", "auto-membership", 2, 2, STORE_WRITE, KEY_NONE, nop,
     "ORG CONN [--auto-membership]"},
    {"member", "add", "connection=,email=,sub=,role=*", 1, 2, STORE_WRITE, KEY_NONE, nop,
     "ORG (USER | --connection CONN (--email E | --sub SUB)) [--role R]..."},
    {"role", "add", "", 3, -1, STORE_WRITE, KEY_NONE, nop, "ORG USER ROLE..."},
    {"export", NULL, "", 0, 1, STORE_READ, KEY_OPTIONAL, nop, "[FILE]"},
};
#define NTABLE (sizeof(table) / sizeof(table[0]))

static void setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    memset(&cli, 0, sizeof(cli));
    cli.p = pool;
    cli.opts = apr_table_make(pool, 8);
    cli.args = apr_array_make(pool, 8, sizeof(const char *));
    errline[0] = '\0';
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* A fresh cli_t for the next line within one test. */
static void reset(void)
{
    teardown();
    setup();
}

static FILE *captured;
static int saved_fd = -1;

/* Sends stderr to a temporary file until stderr_release(). */
static void stderr_capture(void)
{
    captured = tmpfile();
    ck_assert_ptr_nonnull(captured);
    fflush(stderr);
    saved_fd = dup(2);
    ck_assert_int_ge(saved_fd, 0);
    ck_assert_int_ge(dup2(fileno(captured), 2), 0);
}

/* Restores stderr; the first line printed goes to errline. Returns the
 * number of lines printed. */
static int stderr_release(void)
{
    char buf[1024];
    int lines = 0;
    fflush(stderr);
    dup2(saved_fd, 2);
    close(saved_fd);
    rewind(captured);
    errline[0] = '\0';
    while (fgets(buf, sizeof(buf), captured)) {
        if (lines++ == 0) {
            apr_cpystrn(errline, buf, sizeof(errline));
        }
    }
    fclose(captured);
    return lines;
}

/* Parses a command line of space-separated words (no quoting: the words
 * under test have no spaces), keeping what goes to stderr in errline. */
static int parse(const char *line)
{
    const char *argv[32];
    int argc = 0;
    char *copy = apr_pstrdup(pool, line), *last = NULL;
    argv[argc++] = "orgctl";
    for (char *w = apr_strtok(copy, " ", &last); w && argc < 31; w = apr_strtok(NULL, " ", &last)) {
        argv[argc++] = w;
    }
    argv[argc] = NULL;

    stderr_capture();
    int rc = cli_args_parse(&cli, table, NTABLE, argc, argv);
    ck_assert_msg(stderr_release() <= 1, "more than one error line for '%s'", line);
    return rc;
}

static const char *arg(int i)
{
    return cli_arg(&cli, i);
}

static const char *opt(const char *name)
{
    return cli_opt(&cli, name);
}

/* Checks a rejected line: its exit code and the one error line. */
#define REJECT(line, code, text)                                                                   \
    do {                                                                                           \
        reset();                                                                                   \
        ck_assert_int_eq(parse(line), (code));                                                     \
        ck_assert_msg(strstr(errline, (text)) != NULL, "'%s': got '%s', want '%s'", (line),        \
                      errline, (text));                                                            \
        ck_assert_msg(strncmp(errline, "orgctl: ", 8) == 0, "'%s': no orgctl: prefix", (line));    \
    } while (0)

/* ---- accepted lines */

START_TEST(globals_before_command)
{
    ck_assert_int_eq(parse("-s /st --key-file k --max-size 2G --json org create acme"), RC_OK);
    ck_assert_str_eq(cli.store_dir, "/st");
    ck_assert_str_eq(cli.key_file, "k");
    ck_assert_str_eq(cli.max_size, "2G");
    ck_assert_int_eq(cli.json, 1);
    ck_assert_ptr_eq(cli.cmd, &table[0]);
    ck_assert_str_eq(cli.name, "org create");
    ck_assert_int_eq(cli.args->nelts, 1);
    ck_assert_str_eq(arg(0), "acme");
    ck_assert_ptr_null(arg(1));
    ck_assert_str_eq(errline, "");
}
END_TEST

START_TEST(globals_after_command_and_equals_form)
{
    ck_assert_int_eq(parse("org --json create acme --store=/st --key-file=k --max-size=1G"), RC_OK);
    ck_assert_str_eq(cli.store_dir, "/st");
    ck_assert_str_eq(cli.key_file, "k");
    ck_assert_str_eq(cli.max_size, "1G");
    ck_assert_int_eq(cli.json, 1);
    ck_assert_str_eq(arg(0), "acme");
}
END_TEST

START_TEST(options_after_positionals)
{
    ck_assert_int_eq(parse("org create acme --display-name Acme --domain a.example"), RC_OK);
    ck_assert_str_eq(arg(0), "acme");
    ck_assert_str_eq(opt("display-name"), "Acme");
    ck_assert_str_eq(opt("domain"), "a.example");
    ck_assert_ptr_null(opt("meta"));
}
END_TEST

START_TEST(options_before_positionals)
{
    ck_assert_int_eq(parse("member add --role admin org1 --connection okta usr_1"), RC_OK);
    ck_assert_int_eq(cli.args->nelts, 2);
    ck_assert_str_eq(arg(0), "org1");
    ck_assert_str_eq(arg(1), "usr_1");
    ck_assert_str_eq(opt("connection"), "okta");
}
END_TEST

START_TEST(repeated_options_keep_order)
{
    ck_assert_int_eq(parse("org create acme --meta b=2 --domain x.example --meta=a=1 --meta b=3"),
                     RC_OK);
    apr_array_header_t *m = cli_opt_all(&cli, "meta");
    ck_assert_int_eq(m->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(m, 0, const char *), "b=2");
    ck_assert_str_eq(APR_ARRAY_IDX(m, 1, const char *), "a=1"); /* value after the first '=' */
    ck_assert_str_eq(APR_ARRAY_IDX(m, 2, const char *), "b=3");
    ck_assert_int_eq(cli_opt_all(&cli, "domain")->nelts, 1);
    ck_assert_int_eq(cli_opt_all(&cli, "display-name")->nelts, 0);
}
END_TEST

START_TEST(flag_option)
{
    ck_assert_int_eq(parse("org enable-conn org1 okta --auto-membership"), RC_OK);
    ck_assert_str_eq(opt("auto-membership"), "1");
    ck_assert_int_eq(cli.args->nelts, 2);
}
END_TEST

START_TEST(double_dash_ends_options)
{
    ck_assert_int_eq(parse("org create -- --json"), RC_OK);
    ck_assert_int_eq(cli.json, 0); /* after "--" even a global option is an argument */
    ck_assert_str_eq(arg(0), "--json");
    reset();
    ck_assert_int_eq(parse("role add org1 -- usr_1 -x --role"), RC_OK);
    ck_assert_int_eq(cli.args->nelts, 4);
    ck_assert_str_eq(arg(2), "-x");
    ck_assert_str_eq(arg(3), "--role");
}
END_TEST

START_TEST(dash_alone_is_an_argument)
{
    ck_assert_int_eq(parse("export -"), RC_OK);
    ck_assert_ptr_eq(cli.cmd, &table[5]);
    ck_assert_str_eq(cli.name, "export");
    ck_assert_str_eq(arg(0), "-");
}
END_TEST

START_TEST(open_maximum)
{
    ck_assert_int_eq(parse("role add org1 usr_1 a b c d e f"), RC_OK);
    ck_assert_int_eq(cli.args->nelts, 8);
}
END_TEST

START_TEST(help_and_version)
{
    ck_assert_int_eq(parse("--help"), RC_OK);
    ck_assert_int_eq(cli.help, 1);
    ck_assert_ptr_null(cli.cmd);
    reset();
    ck_assert_int_eq(parse("--version"), RC_OK);
    ck_assert_int_eq(cli.version, 1);
    reset();
    ck_assert_int_eq(parse("org --help"), ARGS_GROUP_HELP);
    ck_assert_str_eq(cli.name, "org");
    ck_assert_ptr_null(cli.cmd);
    ck_assert_str_eq(errline, "");
    reset();
    /* a command's help does not need its arguments */
    ck_assert_int_eq(parse("org create -h"), RC_OK);
    ck_assert_int_eq(cli.help, 1);
    ck_assert_ptr_eq(cli.cmd, &table[0]);
}
END_TEST

START_TEST(shared_value_checks_ok)
{
    apr_array_header_t *in = apr_array_make(pool, 2, sizeof(const char *)), *out = NULL;
    APR_ARRAY_PUSH(in, const char *) = "admin";
    APR_ARRAY_PUSH(in, const char *) = "billing";
    ck_assert_int_eq(cli_parse_roles(&cli, in, &out), RC_OK);
    ck_assert_int_eq(out->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(out, 1, const char *), "billing");
    apr_array_clear(in);
    ck_assert_int_eq(cli_parse_roles(&cli, in, &out), RC_OK);
    ck_assert_int_eq(out->nelts, 0);
    ck_assert_int_eq(cli_check_display_name(&cli, "Acme Corp"), RC_OK);
    ck_assert_int_eq(cli_check_display_name(&cli, NULL), RC_OK);
}
END_TEST

/* ---- rejected lines */

START_TEST(rejects_missing_or_unknown_command)
{
    REJECT("", RC_USAGE, "missing command");
    REJECT("--json", RC_USAGE, "missing command");
    REJECT("nosuch", RC_USAGE, "orgctl: nosuch: unknown command");
    REJECT("org", RC_USAGE, "orgctl: org: missing subcommand");
    REJECT("org nosuch", RC_USAGE, "unknown subcommand 'nosuch'");
    REJECT("--json org", RC_USAGE, "missing subcommand");
}
END_TEST

START_TEST(rejects_unknown_options)
{
    REJECT("--bogus org list", RC_USAGE, "unknown option '--bogus'");
    REJECT("-x org list", RC_USAGE, "unknown option '-x'");
    REJECT("org --bogus list", RC_USAGE, "orgctl: org: unknown option '--bogus'");
    REJECT("org list --domain x", RC_USAGE, "unknown option '--domain'");
    REJECT("org create acme --display x", RC_USAGE, "unknown option '--display'");
    REJECT("org create acme -d x", RC_USAGE, "unknown option '-d'");
    REJECT("org create acme --=x", RC_USAGE, "unknown option '--=x'");
    REJECT("org create acme --client-secret s", RC_USAGE, "unknown option '--client-secret'");
}
END_TEST

START_TEST(rejects_missing_values)
{
    REJECT("-s", RC_USAGE, "option -s needs a value");
    REJECT("--key-file", RC_USAGE, "option --key-file needs a value");
    REJECT("org list --store", RC_USAGE, "option --store needs a value");
    REJECT("org create acme --display-name", RC_USAGE, "option --display-name needs a value");
    REJECT("org create acme --meta", RC_USAGE, "option --meta needs a value");
    REJECT("org --max-size", RC_USAGE, "option --max-size needs a value");
}
END_TEST

START_TEST(rejects_repeats_and_flag_values)
{
    REJECT("org create acme --display-name a --display-name b", RC_USAGE,
           "option --display-name given twice");
    REJECT("member add org1 --connection a --connection=b", RC_USAGE,
           "option --connection given twice");
    REJECT("org enable-conn org1 okta --auto-membership --auto-membership", RC_USAGE,
           "option --auto-membership given twice");
    REJECT("org enable-conn org1 okta --auto-membership=1", RC_USAGE,
           "option --auto-membership takes no value");
}
END_TEST

START_TEST(rejects_argument_counts)
{
    REJECT("org create", RC_USAGE, "missing argument (usage: orgctl org create NAME");
    REJECT("org create a b", RC_USAGE, "unexpected argument 'b'");
    REJECT("org list x", RC_USAGE,
           "orgctl: org list: unexpected argument 'x' (usage: orgctl org list)");
    REJECT("role add org1 usr_1", RC_USAGE, "missing argument");
    REJECT("export a b", RC_USAGE, "unexpected argument 'b'");
    REJECT("org create -- a b", RC_USAGE, "unexpected argument 'b'");
}
END_TEST

START_TEST(shared_value_checks_reject)
{
    static const char *const bad_roles[] = {"bad role", "", "a\nb"};
    cli.name = "role add";
    for (apr_size_t i = 0; i < sizeof(bad_roles) / sizeof(bad_roles[0]); i++) {
        apr_array_header_t *in = apr_array_make(pool, 2, sizeof(const char *)), *out = NULL;
        APR_ARRAY_PUSH(in, const char *) = "admin";
        APR_ARRAY_PUSH(in, const char *) = bad_roles[i];
        memset(&cli.err, 0, sizeof(cli.err));
        stderr_capture();
        int rc = cli_parse_roles(&cli, in, &out);
        stderr_release();
        ck_assert_msg(rc == RC_ERROR, "role '%s' accepted", bad_roles[i]);
        ck_assert_msg(strncmp(errline, "orgctl: role add: ", 18) == 0, "got '%s'", errline);
    }
    stderr_capture();
    int rc = cli_check_display_name(&cli, "bad\x01name");
    stderr_release();
    ck_assert_int_eq(rc, RC_ERROR);
    ck_assert_msg(strncmp(errline, "orgctl: role add: ", 18) == 0, "got '%s'", errline);
}
END_TEST

static Suite *args_suite(void)
{
    Suite *s = suite_create("orgctl_args");
    TCase *tc = tcase_create("args");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, globals_before_command);
    tcase_add_test(tc, globals_after_command_and_equals_form);
    tcase_add_test(tc, options_after_positionals);
    tcase_add_test(tc, options_before_positionals);
    tcase_add_test(tc, repeated_options_keep_order);
    tcase_add_test(tc, flag_option);
    tcase_add_test(tc, double_dash_ends_options);
    tcase_add_test(tc, dash_alone_is_an_argument);
    tcase_add_test(tc, open_maximum);
    tcase_add_test(tc, help_and_version);
    tcase_add_test(tc, shared_value_checks_ok);
    tcase_add_test(tc, rejects_missing_or_unknown_command);
    tcase_add_test(tc, rejects_unknown_options);
    tcase_add_test(tc, rejects_missing_values);
    tcase_add_test(tc, rejects_repeats_and_flag_values);
    tcase_add_test(tc, rejects_argument_counts);
    tcase_add_test(tc, shared_value_checks_reject);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(args_suite());
}
