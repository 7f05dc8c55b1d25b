/* orgctl's command line: the option-spec parser and the checks of values
 * that several commands share.
 *
 * Global options may stand anywhere; a command's own options come from its
 * spec ("name=" takes a value, "name=*" may repeat, "name" is a flag) and
 * may follow the positional arguments (apr_getopt does not permute, hence
 * this parser); "--" ends the options. */

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "orgctl.h"
#include "checks.h"
#include "parse.h"

/* ---- parsed arguments ------------------------------------------------ */

const char *cli_arg(cli_t *c, int i)
{
    return i < c->args->nelts ? APR_ARRAY_IDX(c->args, i, const char *) : NULL;
}

const char *cli_opt(cli_t *c, const char *name)
{
    return apr_table_get(c->opts, name);
}

static int collect_value(void *rec, const char *key, const char *value)
{
    APR_ARRAY_PUSH((apr_array_header_t *)rec, const char *) = value;
    return 1;
}

apr_array_header_t *cli_opt_all(cli_t *c, const char *name)
{
    apr_array_header_t *a = apr_array_make(c->p, 4, sizeof(const char *));
    apr_table_do(collect_value, a, c->opts, name, NULL);
    return a;
}

/* ---- value parsing ---------------------------------------------------- */

int cli_parse_roles(cli_t *c, const apr_array_header_t *in, apr_array_header_t **out)
{
    *out = apr_array_make(c->p, in->nelts ? in->nelts : 1, sizeof(const char *));
    for (int i = 0; i < in->nelts; i++) {
        const char *r = APR_ARRAY_IDX(in, i, const char *);
        if (orgs_check_role(r, &c->err) != APR_SUCCESS) {
            return cli_fail_parse(c);
        }
        APR_ARRAY_PUSH(*out, const char *) = r;
    }
    return RC_OK;
}

int cli_check_display_name(cli_t *c, const char *s)
{
    if (s && orgs_check_display_name(s, &c->err) != APR_SUCCESS) {
        return cli_fail_parse(c);
    }
    return RC_OK;
}

int cli_parse_email(cli_t *c, const char *in, char **norm)
{
    const char *dom;
    *norm = NULL;
    if (in && orgs_parse_email(in, norm, &dom, c->p, &c->err) != APR_SUCCESS) {
        return cli_fail_parse(c);
    }
    return RC_OK;
}

int cli_parse_domain(cli_t *c, const char *in, char **out)
{
    if (orgs_parse_domain(in, out, c->p, &c->err) != APR_SUCCESS) {
        return cli_fail_parse(c);
    }
    return RC_OK;
}

int cli_parse_domains(cli_t *c, const apr_array_header_t *in, apr_array_header_t **out)
{
    *out = NULL;
    if (in->nelts == 0) {
        return RC_OK;
    }
    *out = apr_array_make(c->p, in->nelts, sizeof(const char *));
    for (int i = 0; i < in->nelts; i++) {
        char *d;
        int rc = cli_parse_domain(c, APR_ARRAY_IDX(in, i, const char *), &d);
        if (rc != RC_OK) {
            return rc;
        }
        APR_ARRAY_PUSH(*out, const char *) = d;
    }
    return RC_OK;
}

/* ---- the objects arguments name ---------------------------------------- */

int cli_org_get(cli_t *c, const char *ref, orgs_org_t **o)
{
    return cli_result(c, orgs_store_org_get(c->st, ref, o, c->p, &c->err), "org '%s'", ref);
}

/* ---- argument parsing ------------------------------------------------- */

static int group_known(const command_t *table, apr_size_t n, const char *g)
{
    for (apr_size_t i = 0; i < n; i++) {
        if (strcmp(table[i].group, g) == 0) {
            return 1;
        }
    }
    return 0;
}

static const command_t *find_command(const command_t *table, apr_size_t n, const char *group,
                                     const char *verb)
{
    for (apr_size_t i = 0; i < n; i++) {
        const command_t *k = &table[i];
        if (strcmp(k->group, group) == 0 &&
            (k->verb == NULL || (verb && strcmp(k->verb, verb) == 0))) {
            return k;
        }
    }
    return NULL;
}

/* Looks name (nlen bytes) up in a spec "a=,b=*,c": 0 unknown, 1 flag,
 * 2 takes a value, 3 takes a value and may repeat. */
static int spec_kind(const char *spec, const char *name, apr_size_t nlen)
{
    const char *s = spec;
    while (s && *s) {
        const char *end = strchr(s, ',');
        apr_size_t len = end ? (apr_size_t)(end - s) : strlen(s);
        apr_size_t base = strcspn(s, "=,");
        if (base == nlen && strncmp(s, name, nlen) == 0) {
            if (base == len) {
                return 1;
            }
            return (len > base + 1 && s[base + 1] == '*') ? 3 : 2;
        }
        s = end ? end + 1 : NULL;
    }
    return 0;
}

/* A global option at argv[*i]: 1 consumed (with its value), 0 not a
 * global option, RC_USAGE (after printing) when its value is missing. */
static int take_global(cli_t *c, int argc, const char *const *argv, int *i)
{
    const char *a = argv[*i];
    const char *eq = strchr(a, '=');
    apr_size_t nlen = eq ? (apr_size_t)(eq - a) : strlen(a);
    const char **slot = NULL;

    if (strcmp(a, "--json") == 0) {
        c->json = 1;
        return 1;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
        c->help = 1;
        return 1;
    }
    if (strcmp(a, "--version") == 0) {
        c->version = 1;
        return 1;
    }
    if (strcmp(a, "--force") == 0) {
        c->force = 1;
        return 1;
    }
    if (strcmp(a, "-s") == 0 || (nlen == 7 && strncmp(a, "--store", 7) == 0)) {
        slot = &c->store_dir;
    } else if (nlen == 10 && strncmp(a, "--key-file", 10) == 0) {
        slot = &c->key_file;
    } else if (nlen == 10 && strncmp(a, "--max-size", 10) == 0) {
        slot = &c->max_size;
    } else {
        return 0;
    }
    if (eq && a[1] == '-') {
        *slot = eq + 1;
    } else if (*i + 1 < argc) {
        *slot = argv[++*i];
    } else {
        cli_usage_fail(c, "option %.*s needs a value", (int)nlen, a);
        return -1;
    }
    return 1;
}

int cli_args_parse(cli_t *c, const command_t *table, apr_size_t n, int argc,
                   const char *const *argv)
{
    int i = 1, g, only_args = 0;
    const char *group, *verb = NULL;

    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if ((g = take_global(c, argc, argv, &i)) < 0) {
            return RC_USAGE;
        }
        if (g == 0) {
            return cli_usage_fail(c, "unknown option '%s'", argv[i]);
        }
    }
    if (i >= argc) {
        if (c->help || c->version) {
            return RC_OK;
        }
        return cli_usage_fail(c, "missing command");
    }
    group = argv[i++];
    if (!group_known(table, n, group)) {
        c->name = group;
        return cli_fail(c, RC_USAGE, "unknown command (see orgctl --help)");
    }
    c->name = group;
    if (!find_command(table, n, group, NULL) || find_command(table, n, group, NULL)->verb) {
        /* a group with subcommands */
        while (i < argc && argv[i][0] == '-') {
            if ((g = take_global(c, argc, argv, &i)) < 0) {
                return RC_USAGE;
            }
            if (g == 0) {
                return cli_usage_fail(c, "unknown option '%s'", argv[i]);
            }
            i++;
        }
        if (i >= argc) {
            if (c->help) {
                c->cmd = NULL;
                return ARGS_GROUP_HELP;
            }
            return cli_usage_fail(c, "missing subcommand");
        }
        verb = argv[i++];
        c->cmd = find_command(table, n, group, verb);
        if (!c->cmd) {
            return cli_usage_fail(c, "unknown subcommand '%s'", verb);
        }
        c->name = apr_pstrcat(c->p, group, " ", verb, NULL);
    } else {
        c->cmd = find_command(table, n, group, NULL);
    }
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (only_args || a[0] != '-' || a[1] == '\0') {
            APR_ARRAY_PUSH(c->args, const char *) = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_args = 1;
            continue;
        }
        if ((g = take_global(c, argc, argv, &i)) < 0) {
            return RC_USAGE;
        }
        if (g) {
            continue;
        }
        const char *eq = strchr(a, '=');
        apr_size_t nlen = eq ? (apr_size_t)(eq - a - 2) : strlen(a) - 2;
        int kind = a[1] == '-' ? spec_kind(c->cmd->opts, a + 2, nlen) : 0;
        if (kind == 0) {
            return cli_usage_fail(c, "unknown option '%s'", a);
        }
        const char *name = apr_pstrndup(c->p, a + 2, nlen);
        const char *value = "1";
        if (kind == 1 && eq) {
            return cli_usage_fail(c, "option --%s takes no value", name);
        }
        if (kind >= 2) {
            if (eq) {
                value = eq + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                return cli_usage_fail(c, "option --%s needs a value", name);
            }
        }
        if (kind != 3 && apr_table_get(c->opts, name)) {
            return cli_usage_fail(c, "option --%s given twice", name);
        }
        apr_table_add(c->opts, name, value);
    }
    if (c->help) {
        return RC_OK;
    }
    if (c->args->nelts < c->cmd->min_args) {
        return cli_usage_fail(c, "missing argument");
    }
    if (c->cmd->max_args >= 0 && c->args->nelts > c->cmd->max_args) {
        return cli_usage_fail(c, "unexpected argument '%s'", cli_arg(c, c->cmd->max_args));
    }
    return RC_OK;
}

/* Whom the audit records name: orgctl and the user who runs it (the one
 * behind sudo when there is one), from an SSH client's address or the shell. */
void cli_actor_set(cli_t *c)
{
    const char *user = getuid() == 0 ? getenv("SUDO_USER") : NULL;
    const struct passwd *pw = user ? NULL : getpwuid(getuid());
    const char *ssh = getenv("SSH_CONNECTION");
    const char *sp = ssh ? strchr(ssh, ' ') : NULL;
    if (!user) {
        user = pw ? pw->pw_name : apr_psprintf(c->p, "uid%lu", (unsigned long)getuid());
    }
    orgs_store_actor_set(
        c->st, apr_pstrcat(c->p, "orgctl:", user, NULL),
        sp ? apr_pstrcat(c->p, "ssh:", apr_pstrmemdup(c->p, ssh, (apr_size_t)(sp - ssh)), NULL)
           : "shell");
}
