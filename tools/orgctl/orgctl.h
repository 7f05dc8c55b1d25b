/* orgctl: command-line administration of the mod_auth_orgs store, built on
 * the same core library as the module (design.md, Administration).
 *
 * Safe while httpd runs: every command is one (or a few) LMDB transactions
 * and LMDB serializes writers. Read commands open the store read-only and
 * never create anything.
 *
 * Output contract: plain aligned tables for humans, --json for scripts,
 * ids alone on stdout from the commands that create objects, and on any
 * failure exactly one line `orgctl: <command>: <reason>` on stderr with a
 * documented exit code (see docs/orgctl.md). Secrets are never printed.
 *
 * The files: main.c (main, global options, the command table, dispatch,
 * store and key), args.c (the option-spec parser and shared value checks),
 * out.c (the error line, tables, key/value blocks, JSON), and one
 * cmd_<family>.c per command family. */
#ifndef ORGCTL_H
#define ORGCTL_H

#include <stdio.h>

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <jansson.h>

#include "orgs.h"
#include "crypto.h"
#include "store.h"
#include "json.h"

/* Exit codes scripts can rely on (design.md). */
enum {
    RC_OK = 0,
    RC_ERROR = 1,
    RC_USAGE = 2,
    RC_NOTFOUND = 3,
    RC_CONFLICT = 4,
    RC_STORE = 5,
};

/* What cli_args_parse returns, besides an RC_*, when only the help of a
 * command group was asked for (`orgctl org --help`): c->name is the group. */
#define ARGS_GROUP_HELP (-1)

enum { STORE_NONE, STORE_READ, STORE_WRITE };

/* When the crypto key is loaded: never, when configured, always (error if
 * missing), or only when the command writes a client secret. */
enum { KEY_NONE, KEY_OPTIONAL, KEY_REQUIRED, KEY_IF_SECRET };

typedef struct cli_t cli_t;
typedef int (*cmd_fn_t)(cli_t *c);

typedef struct command_t {
    const char *group;
    const char *verb;       /* NULL for one-word commands */
    const char *opts;       /* "name=" takes a value, "name=*" repeatable, "name" a flag */
    int min_args, max_args; /* positional arguments; -1 = no maximum */
    int store;
    int key;
    cmd_fn_t fn;
    const char *usage; /* what follows the command words */
} command_t;

struct cli_t {
    apr_pool_t *p;
    const command_t *cmd;
    const char *name; /* "org create": prefix of every error line */
    const char *store_dir;
    const char *key_file;
    const char *max_size;
    int force; /* --force: --max-size beyond what running httpd maps */
    int json;
    int help;
    int version;
    apr_table_t *opts;        /* command options by name (without "--") */
    apr_array_header_t *args; /* positional arguments, const char * */
    orgs_store_t *st;
    orgs_crypto_keys_t *keys;
    int key_state; /* orgs_store_key_state_t, when keys were checked */
    apr_uint64_t map_size;
    orgs_err_t err;
    /* Loads the key (as the command asks) and opens the store (main.c's),
     * for a command whose row says STORE_NONE because it opens the store
     * itself (check, in a child process). */
    int (*store_open)(cli_t *c, int write);
};

/* ---- args.c: the command line ------------------------------------------ */

/* Parses argv (argv[0] is the program) against the command table into c:
 * global options anywhere, then the command words, then the command's
 * options (from its spec) and positional arguments in any order; "--" ends
 * the options. Returns RC_OK, ARGS_GROUP_HELP, or an RC_* after printing
 * the one error line. c->p, c->opts and c->args must be set. */
int cli_args_parse(cli_t *c, const command_t *table, apr_size_t n, int argc,
                   const char *const *argv);

/* The i-th positional argument, or NULL. */
const char *cli_arg(cli_t *c, int i);
/* An option's value ("1" for a flag), or NULL when not given. */
const char *cli_opt(cli_t *c, const char *name);
/* Every value of a repeatable option, in command-line order. */
apr_array_header_t *cli_opt_all(cli_t *c, const char *name);

/* Role names, each checked; fails (RC_ERROR, after printing) on a bad one. */
int cli_parse_roles(cli_t *c, const apr_array_header_t *in, apr_array_header_t **out);
/* A display name when given (s may be NULL). */
int cli_check_display_name(cli_t *c, const char *s);
/* An email address as the store keeps it; in may be NULL (then *norm is
 * NULL). Fails (RC_ERROR, after printing) on a bad one. */
int cli_parse_email(cli_t *c, const char *in, char **norm);
/* A domain name as the store keeps it; fails like cli_parse_email. */
int cli_parse_domain(cli_t *c, const char *in, char **out);
/* Domain names, each parsed; *out stays NULL when in is empty. */
int cli_parse_domains(cli_t *c, const apr_array_header_t *in, apr_array_header_t **out);

/* The org that ref (an org_ id or a name) names; fails (after printing
 * "org '<ref>': ...") with the exit code of the store's answer. */
int cli_org_get(cli_t *c, const char *ref, orgs_org_t **o);

/* ---- out.c: errors ----------------------------------------------------- */

/* Prints the one error line `orgctl: <command>: <reason>` and returns code. */
int cli_fail(cli_t *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The error line for a wrong call, with the command's usage; RC_USAGE. */
int cli_usage_fail(cli_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The error line for a failed core call, its exit code from rv. */
int cli_fail_rv(cli_t *c, apr_status_t rv, const char *what);
/* A core call's outcome: RC_OK on APR_SUCCESS, else cli_fail_rv with what
 * formatted from fmt (formatted only then). */
int cli_result(cli_t *c, apr_status_t rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The error line for a value a core parser rejected (c->err). */
int cli_fail_parse(cli_t *c);
/* Names orgctl and its user as the actor of c->st's audit records (args.c;
 * also the private copy a PostgreSQL store's command runs on). */
void cli_actor_set(cli_t *c);

/* ---- out.c: text for humans -------------------------------------------- */

/* RFC 3339 UTC, "-" for 0. */
const char *out_time(apr_pool_t *p, apr_time_t t);
/* s with control characters replaced, "-" for NULL or empty. */
const char *out_safe(apr_pool_t *p, const char *s);
/* The strings of a joined by sep, "" for NULL. */
const char *out_join(apr_pool_t *p, const apr_array_header_t *a, const char *sep);

typedef struct out_table_t out_table_t;
out_table_t *out_table_make(apr_pool_t *p, int ncols, const char *const *header);
/* One row: exactly ncols const char * (NULL prints "-"). */
void out_table_row(out_table_t *t, ...);
void out_table_print(const out_table_t *t);

/* "key:   value" lines; several values continue under the first. */
void out_kv(apr_pool_t *p, const char *key, const char *value);
void out_kv_list(apr_pool_t *p, const char *key, const apr_array_header_t *values);

/* ---- out.c: JSON ------------------------------------------------------- */

/* The objects themselves have one shape, json.h's; these build what
 * orgctl joins to them. */

/* A string, or null for NULL. */
json_t *out_jstr(const char *s);
json_t *out_jstrings(const apr_array_header_t *a);
/* Appends (or sets) v, stolen; on failure the container is released and
 * NULL returned, which out_json_new reports: never a list with a hole. */
json_t *out_push(json_t *arr, json_t *v);
json_t *out_set(json_t *obj, const char *key, json_t *v);

/* Prints and releases j (steals the reference). */
int out_json_new(cli_t *c, json_t *j);
/* Prints a new object's id: alone on a line, or {"id": ...} with --json. */
int out_id(cli_t *c, const char *id);

/* ---- idpcheck.c: an issuer's discovery document and JWKS ---------------- */

typedef struct cli_idp_report_t {
    const char *issuer;
    const char *authorization_endpoint;
    const char *token_endpoint;
    const char *jwks_uri;
    int end_session; /* an end_session_endpoint is advertised */
    int keys;        /* signing keys in the JWK set */
    const char *algs;
} cli_idp_report_t;

/* Fetches issuer's discovery document and JWK set as httpd will (no cache),
 * with the connection's endpoint hosts (const char *, may be NULL) allowed
 * besides the issuer's origin (httpd's OrgsBackchannelAllowHost is not
 * known here); err says what is wrong with them. */
apr_status_t cli_idp_check(cli_t *c, const char *issuer, const apr_array_header_t *hosts,
                           cli_idp_report_t *r, orgs_err_t *err);
void cli_idp_report_print(FILE *fp, const char *indent, const cli_idp_report_t *r);
/* Unless --no-check: checks issuer and reports on stderr, or fails (RC_ERROR). */
int cli_idp_check_or_fail(cli_t *c, const char *issuer, const apr_array_header_t *hosts);

/* ---- confirm.c: questions before destructive commands ------------------ */

/* RC_OK when the command may go on: --yes was given, or the operator
 * answered y/yes to question on a terminal. Without a terminal and without
 * --yes it fails (RC_USAGE) rather than wait or guess. */
int cli_confirm(cli_t *c, const char *question);

/* ---- help.c: per-command help ------------------------------------------ */

/* The long help of the command named by words ("org create", "org", ...):
 * RC_OK after printing it, RC_USAGE (one error line) for an unknown one. */
int cli_help_command(cli_t *c, const command_t *table, apr_size_t n, const char *words);

/* ---- the commands, one file per family ---------------------------------- */

int cmd_org_create(cli_t *c);
int cmd_org_list(cli_t *c);
int cmd_org_show(cli_t *c);
int cmd_org_update(cli_t *c);
int cmd_org_delete(cli_t *c);
int cmd_org_add_domain(cli_t *c);
int cmd_org_remove_domain(cli_t *c);
int cmd_org_enable_conn(cli_t *c);
int cmd_org_disable_conn(cli_t *c);

int cmd_conn_create(cli_t *c);
int cmd_conn_list(cli_t *c);
int cmd_conn_show(cli_t *c);
int cmd_conn_update(cli_t *c);
int cmd_conn_delete(cli_t *c);

int cmd_user_list(cli_t *c);
int cmd_user_show(cli_t *c);
int cmd_user_delete(cli_t *c);
/* cmd_user.c */
int cmd_user_purge(cli_t *c);
int cmd_member_add(cli_t *c);
int cmd_member_list(cli_t *c);
int cmd_member_remove(cli_t *c);
int cmd_role_add(cli_t *c);
int cmd_role_remove(cli_t *c);

int cmd_invite_create(cli_t *c);
int cmd_invite_list(cli_t *c);
int cmd_invite_revoke(cli_t *c);
int cmd_token_create(cli_t *c);
int cmd_token_list(cli_t *c);
int cmd_token_revoke(cli_t *c);

/* cmd_usage.c */
int cmd_audit(cli_t *c);
int cmd_prune_audit(cli_t *c);
int cmd_org_stats(cli_t *c);

int cmd_export(cli_t *c);
int cmd_import(cli_t *c);
int cmd_check(cli_t *c);
int cmd_doctor(cli_t *c);
int cmd_backup(cli_t *c);
int cmd_restore(cli_t *c);

/* ---- cmd_pg.c: a PostgreSQL store -------------------------------------- */

/* Runs c->cmd on a private copy of the database's snapshot and writes
 * what it changed back in one transaction (the key is loaded). */
int cli_pg_run(cli_t *c);
int cmd_init(cli_t *c);
int cmd_migrate(cli_t *c);
int cmd_replicate(cli_t *c);
int cmd_prune_log(cli_t *c);
int cmd_replica_status(cli_t *c);

#endif
