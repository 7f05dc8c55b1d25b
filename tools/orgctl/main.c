/* orgctl's entry point: global options, the one command table, dispatch,
 * and opening the store and the key for the command that runs. The
 * commands themselves are in cmd_<family>.c (see orgctl.h). */

#include "orgs_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <apr_general.h>
#include <apr_file_info.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "orgctl.h"
#include "parse.h"
#include "pgstore.h"

/* ---- the command table ------------------------------------------------ */

static int cmd_help(cli_t *c);

#define SECRET_OPTS "client-secret-file=,client-secret-env="
#define CONN_OPTS                                                                                  \
    "issuer=,client-id=,display-name=,scopes=,auth-method=,no-check,allow-endpoint-host=*,"        \
    "clear-endpoint-hosts," SECRET_OPTS

static const command_t commands[] = {
    {"org", "create", "display-name=,meta=*,domain=*", 1, 1, STORE_WRITE, KEY_NONE, cmd_org_create,
     "NAME [--display-name S] [--meta K=V]... [--domain D]..."},
    {"org", "list", "", 0, 0, STORE_READ, KEY_NONE, cmd_org_list, ""},
    {"org", "show", "", 1, 1, STORE_READ, KEY_NONE, cmd_org_show, "ORG"},
    {"org", "update",
     "display-name=,meta=*,unset-meta=*,logo-url=,color-primary=,color-background=", 1, 1,
     STORE_WRITE, KEY_NONE, cmd_org_update,
     "ORG [--display-name S] [--meta K=V]... [--unset-meta K]..."},
    {"org", "delete", "yes", 1, 1, STORE_WRITE, KEY_NONE, cmd_org_delete, "ORG [--yes]"},
    {"org", "add-domain", "", 2, 2, STORE_WRITE, KEY_NONE, cmd_org_add_domain, "ORG DOMAIN"},
    {"org", "remove-domain", "", 2, 2, STORE_WRITE, KEY_NONE, cmd_org_remove_domain, "ORG DOMAIN"},
    {"org", "enable-conn", "auto-membership,require-claim=,require-email-domain", 2, 2, STORE_WRITE,
     KEY_NONE, cmd_org_enable_conn,
     "ORG CONN [--auto-membership [--require-claim NAME=VALUE | --require-email-domain]]"},
    {"org", "disable-conn", "", 2, 2, STORE_WRITE, KEY_NONE, cmd_org_disable_conn, "ORG CONN"},
    {"conn", "create", CONN_OPTS, 1, 1, STORE_WRITE, KEY_REQUIRED, cmd_conn_create,
     "NAME --issuer URL --client-id ID (--client-secret-file F | --client-secret-env VAR) "
     "[--display-name S] [--scopes \"openid email profile\"] "
     "[--auth-method client_secret_basic|client_secret_post] [--allow-endpoint-host HOST]... "
     "[--no-check]"},
    {"conn", "list", "", 0, 0, STORE_READ, KEY_NONE, cmd_conn_list, ""},
    {"conn", "show", "", 1, 1, STORE_READ, KEY_NONE, cmd_conn_show, "CONN"},
    {"conn", "update", CONN_OPTS ",migrate-users,drop-users", 1, 1, STORE_WRITE, KEY_IF_SECRET,
     cmd_conn_update,
     "CONN [--issuer URL] [--client-id ID] [--client-secret-file F | --client-secret-env VAR] "
     "[--display-name S] [--scopes S] [--auth-method M] [--migrate-users | --drop-users] "
     "[--allow-endpoint-host HOST... | --clear-endpoint-hosts] [--no-check]"},
    {"conn", "delete", "yes", 1, 1, STORE_WRITE, KEY_NONE, cmd_conn_delete, "CONN [--yes]"},
    {"user", "list", "email=", 0, 0, STORE_READ, KEY_NONE, cmd_user_list, "[--email E]"},
    {"user", "show", "", 1, 1, STORE_READ, KEY_NONE, cmd_user_show, "USER"},
    {"user", "delete", "", 1, 1, STORE_WRITE, KEY_NONE, cmd_user_delete, "USER"},
    {"user", "purge", "older-than=", 0, 0, STORE_WRITE, KEY_NONE, cmd_user_purge,
     "--older-than DURATION"},
    {"member", "add", "connection=,email=,sub=,role=*", 1, 2, STORE_WRITE, KEY_NONE, cmd_member_add,
     "ORG (USER | --connection CONN (--email E | --sub SUB)) [--role R]..."},
    {"member", "list", "", 1, 1, STORE_READ, KEY_NONE, cmd_member_list, "ORG"},
    {"member", "remove", "connection=,email=", 1, 2, STORE_WRITE, KEY_NONE, cmd_member_remove,
     "ORG (USER | --connection CONN --email E)"},
    {"role", "add", "connection=,email=", 2, -1, STORE_WRITE, KEY_NONE, cmd_role_add,
     "ORG (USER | --connection CONN --email E) ROLE..."},
    {"role", "remove", "connection=,email=", 2, -1, STORE_WRITE, KEY_NONE, cmd_role_remove,
     "ORG (USER | --connection CONN --email E) ROLE..."},
    {"org", "stats", "days=", 1, 1, STORE_READ, KEY_NONE, cmd_org_stats, "ORG [--days N]"},
    {"invite", "create", "role=*,ttl=,inviter=,any-email,url=,max-open=", 2, 2, STORE_WRITE,
     KEY_NONE, cmd_invite_create,
     "ORG EMAIL [--role R]... [--ttl 7d] [--inviter NAME] [--any-email] [--url LOGIN-URL] "
     "[--max-open N]"},
    {"invite", "list", "", 1, 1, STORE_READ, KEY_NONE, cmd_invite_list, "ORG"},
    {"invite", "revoke", "", 1, 1, STORE_WRITE, KEY_NONE, cmd_invite_revoke, "ID"},
    {"token", "create", "scope=*,expires=,name=", 0, 0, STORE_WRITE, KEY_NONE, cmd_token_create,
     "[--scope read|write]... [--expires 90d] [--name S]"},
    {"token", "list", "", 0, 0, STORE_READ, KEY_NONE, cmd_token_list, ""},
    {"token", "revoke", "", 1, 1, STORE_WRITE, KEY_NONE, cmd_token_revoke, "ID"},
    {"audit", NULL, "org=,since=,limit=,from=", 0, 0, STORE_READ, KEY_NONE, cmd_audit,
     "[--org ORG] [--since TIME] [--limit N] [--from ID]"},
    {"prune-audit", NULL, "older-than=", 0, 0, STORE_WRITE, KEY_NONE, cmd_prune_audit,
     "--older-than DURATION"},
    {"export", NULL, "", 0, 1, STORE_READ, KEY_OPTIONAL, cmd_export, "[FILE]"},
    {"import", NULL, "", 0, 1, STORE_WRITE, KEY_OPTIONAL, cmd_import, "[FILE]"},
    {"check", NULL, "deep", 0, 0, STORE_NONE, KEY_OPTIONAL, cmd_check, "[--deep]"},
    {"doctor", NULL, "apache-dir=,no-network", 0, 0, STORE_READ, KEY_OPTIONAL, cmd_doctor,
     "[--apache-dir DIR] [--no-network]"},
    {"backup", NULL, "", 1, 1, STORE_READ, KEY_NONE, cmd_backup, "FILE"},
    {"restore", NULL, "", 1, 1, STORE_NONE, KEY_OPTIONAL, cmd_restore, "FILE"},
    {"init", NULL, "", 0, 0, STORE_NONE, KEY_NONE, cmd_init, ""},
    {"migrate", NULL, "to=", 0, 0, STORE_NONE, KEY_OPTIONAL, cmd_migrate,
     "--to (postgresql://URI | DIR)"},
    {"replicate", NULL, "", 1, 1, STORE_NONE, KEY_NONE, cmd_replicate, "DIR"},
    {"replica-status", NULL, "", 1, 1, STORE_NONE, KEY_NONE, cmd_replica_status, "DIR"},
    {"prune-log", NULL, "older-than=,keep=", 0, 0, STORE_NONE, KEY_NONE, cmd_prune_log,
     "[--older-than DURATION] [--keep N]"},
    {"help", NULL, "", 0, 2, STORE_NONE, KEY_NONE, cmd_help, "[COMMAND]"},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_usage(FILE *fp, const char *group)
{
    if (!group) {
        fputs("usage: orgctl [-s STOREDIR] [--key-file FILE] [--max-size SIZE [--force]] [--json] "
              "COMMAND ...\n\n"
              "Administers the mod_auth_orgs store, safely while httpd runs.\n\n"
              "options (before or after the command):\n"
              "  -s, --store DIR    store directory or postgresql://URI (default: $ORGS_STORE)\n"
              "  --key-file FILE    crypto key, as OrgsCryptoKey file: (default: "
              "$ORGS_KEY_FILE)\n"
              "  --max-size SIZE    LMDB map size, as OrgsStoreMaxSize (default: the size\n"
              "                     the store records, 1G for a new one); not more than\n"
              "                     running httpd's OrgsStoreMaxSize\n"
              "  --force            with --max-size: httpd is known not to run\n"
              "  --json             JSON output for reads\n"
              "  -h, --help         this help;  --version  the version\n\n"
              "commands (ORG and CONN: name or id, USER: user id):\n",
              fp);
    }
    for (apr_size_t i = 0; i < NCOMMANDS; i++) {
        const command_t *k = &commands[i];
        if (group && strcmp(group, k->group) != 0) {
            continue;
        }
        fprintf(fp, "  %s%s%s%s%s\n", k->group, k->verb ? " " : "", k->verb ? k->verb : "",
                *k->usage ? " " : "", k->usage);
    }
    if (!group) {
        fputs("\nexit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict, 5 store error\n", fp);
    }
}

static int cmd_help(cli_t *c)
{
    if (!c->args->nelts) {
        print_usage(stdout, NULL);
        return RC_OK;
    }
    const char *words = c->args->nelts > 1
                            ? apr_pstrcat(c->p, cli_arg(c, 0), " ", cli_arg(c, 1), NULL)
                            : cli_arg(c, 0);
    return cli_help_command(c, commands, NCOMMANDS, words);
}

/* ---- store and key ---------------------------------------------------- */

static int load_key(cli_t *c)
{
    const command_t *k = c->cmd;
    int need = k->key == KEY_REQUIRED ||
               (k->key == KEY_IF_SECRET &&
                (cli_opt(c, "client-secret-file") || cli_opt(c, "client-secret-env")));
    /* Every write loads a configured key and checks it against the store
     * (verify_key): a store being created records it, an older store
     * without a check value records it once the key proves itself. */
    if (!need && k->key != KEY_OPTIONAL && k->store != STORE_WRITE) {
        return RC_OK;
    }
    if (!c->key_file || !*c->key_file) {
        if (!need) {
            return RC_OK;
        }
        return cli_fail(c, RC_ERROR,
                        "client secrets are stored encrypted: give the key with --key-file FILE "
                        "or ORGS_KEY_FILE (the file OrgsCryptoKey names)");
    }
    apr_status_t rv = orgs_crypto_keys_load(&c->keys, apr_pstrcat(c->p, "file:", c->key_file, NULL),
                                            c->p, &c->err);
    if (rv != APR_SUCCESS) {
        if (c->err.msg[0] && strstr(c->err.msg, c->key_file)) {
            return cli_fail(c, RC_ERROR, "%s", c->err.msg);
        }
        return cli_fail(c, RC_ERROR, "key file '%s': %s", c->key_file,
                        c->err.msg[0] ? c->err.msg : "cannot load");
    }
    return RC_OK;
}

/* Every command that loaded the key checks it against the store's check
 * value first (a write records it when the store has none and the key
 * proves itself): a wrong key never seals a secret httpd cannot open. */
static int verify_key(cli_t *c, int write)
{
    orgs_store_key_state_t state;
    apr_status_t rv = orgs_store_key_check(c->st, write, &state, &c->err);
    if (rv != APR_SUCCESS) {
        return cli_fail_rv(c, rv, "key check");
    }
    c->key_state = (int)state;
    if (state == ORGS_STORE_KEY_WRONG) {
        return cli_fail(c, RC_STORE,
                        "wrong key for this store: '%s' is not the key its data was written "
                        "with (use the file OrgsCryptoKey names)",
                        c->key_file);
    }
    return RC_OK;
}

/* A size as OrgsStoreMaxSize would be written: 8M, 4G, or bytes. */
static const char *size_text(cli_t *c, apr_uint64_t n)
{
    static const char units[] = "GMK";
    for (int i = 0; i < 3; i++) {
        apr_uint64_t u = (apr_uint64_t)1 << (10 * (3 - i));
        if (n >= u && n % u == 0) {
            return apr_psprintf(c->p, "%" APR_UINT64_T_FMT "%c", n / u, units[i]);
        }
    }
    return apr_psprintf(c->p, "%" APR_UINT64_T_FMT, n);
}

/* How long --max-size waits for the children of httpd's previous
 * generation when only they map less: after a graceful restart, idle ones
 * exit at once, busy ones when their request ends. */
#define OLD_CHILDREN_WAIT apr_time_from_sec(5)

/* --max-size must not exceed what running httpd maps: its children would
 * follow a grown file, but its next start maps OrgsStoreMaxSize, and a
 * store holding more is full for sign-ins (ORGS00602). The size comes
 * from the records running httpd holds in the store directory, the
 * smallest of the current generation's and those of a previous one whose
 * children still run; a record nobody holds (httpd stopped) does not
 * count. */
static int check_httpd_map(cli_t *c)
{
    apr_uint64_t max = 0;
    long pid = 0;
    int older = 0;
    apr_time_t until = apr_time_now() + OLD_CHILDREN_WAIT;
    if (c->force) {
        return RC_OK;
    }
    for (;;) {
        if (orgs_store_maplimit_get(c->store_dir, &max, &pid, &older, c->p, &c->err) !=
            APR_SUCCESS) {
            return cli_fail(c, RC_STORE,
                            "cannot tell the map size running httpd accepts (%s); give --force "
                            "if httpd is not running",
                            c->err.msg);
        }
        if (max == 0 || c->map_size <= max) {
            return RC_OK;
        }
        if (!older || apr_time_now() >= until) {
            break;
        }
        apr_sleep(apr_time_from_msec(100));
    }
    if (older) {
        return cli_fail(c, RC_STORE,
                        "--max-size %s is more than children of httpd (pid %ld) started before "
                        "its last restart still map, OrgsStoreMaxSize %s: rerun once they have "
                        "finished their requests",
                        c->max_size, pid, size_text(c, max));
    }
    return cli_fail(c, RC_STORE,
                    "--max-size %s is more than running httpd (pid %ld) maps, OrgsStoreMaxSize "
                    "%s: raise OrgsStoreMaxSize to at least %s and reload httpd (apachectl "
                    "graceful), then rerun",
                    c->max_size, pid, size_text(c, max), c->max_size);
}

static int open_store(cli_t *c, int write)
{
    apr_finfo_t fi;

    if (!c->store_dir || !*c->store_dir) {
        return cli_usage_fail(c, "no store: give -s STOREDIR or set ORGS_STORE");
    }
    apr_uint64_t recorded = 0, used = 0;
    c->map_size = ORGS_STORE_DEFAULT_MAP_SIZE;
    if (c->max_size &&
        orgs_parse_size(c->max_size, ORGS_STORE_MIN_MAP_SIZE, &c->map_size, &c->err)) {
        return cli_usage_fail(c, "--max-size: %s", c->err.msg);
    }
    /* a store cannot shrink: LMDB would map the data's size anyway */
    if (c->max_size &&
        orgs_store_file_info(c->store_dir, &recorded, &used, c->p, &c->err) == APR_SUCCESS &&
        c->map_size < used) {
        return cli_fail(c, RC_STORE,
                        "--max-size %s is smaller than the data in the store (%" APR_UINT64_T_FMT
                        " bytes): a store cannot shrink",
                        c->max_size, used);
    }
    c->err.msg[0] = '\0';
    if (apr_stat(&fi, c->store_dir, APR_FINFO_TYPE, c->p) != APR_SUCCESS ||
        fi.filetype != APR_DIR) {
        return cli_fail(c, RC_STORE, "store directory '%s' does not exist%s", c->store_dir,
                        write ? " (create it first, owned by the user httpd runs as)" : "");
    }
    int rc = c->max_size && write ? check_httpd_map(c) : RC_OK;
    if (rc != RC_OK) {
        return rc;
    }
    /* Reads never create a store: an empty answer from a mistyped path
     * would look like an empty store. */
    if (!write && apr_stat(&fi, apr_pstrcat(c->p, c->store_dir, "/data.mdb", NULL), APR_FINFO_TYPE,
                           c->p) != APR_SUCCESS) {
        return cli_fail(c, RC_STORE,
                        "no store in '%s' (a write command such as 'org create' "
                        "creates it)",
                        c->store_dir);
    }
    apr_status_t rv =
        orgs_store_open(&c->st, c->store_dir, c->map_size, 0,
                        (write ? ORGS_STORE_CREATE : ORGS_STORE_RDONLY) |
                            /* the size httpd's OrgsStoreMaxSize (or the last --max-size)
                             * recorded in the store, unless told otherwise */
                            (c->max_size ? ORGS_STORE_MAP_RECORD : ORGS_STORE_MAP_RECORDED),
                        c->keys, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return cli_fail_rv(c, rv, apr_psprintf(c->p, "store '%s'", c->store_dir));
    }
    cli_actor_set(c);
    orgs_store_stat_t sst; /* the size mapped, for the "store full" message */
    if (orgs_store_stat(c->st, &sst, &c->err) == APR_SUCCESS) {
        c->map_size = sst.map_size;
    }
    c->err.msg[0] = '\0';
    return RC_OK;
}

static int store_open(cli_t *c, int write)
{
    int rc = load_key(c);
    if (rc == RC_OK) {
        rc = open_store(c, write);
    }
    return rc == RC_OK && c->keys ? verify_key(c, write) : rc;
}

static int run(cli_t *c, int argc, const char *const *argv)
{
    int rc = cli_args_parse(c, commands, NCOMMANDS, argc, argv);
    if (rc == ARGS_GROUP_HELP) {
        print_usage(stdout, c->name);
        return RC_OK;
    }
    if (rc != RC_OK) {
        return rc;
    }
    if (c->version) {
        printf("orgctl (mod_auth_orgs) %s\n", PACKAGE_VERSION);
        return RC_OK;
    }
    if (c->force && !c->max_size) {
        return cli_usage_fail(c, "--force applies only with --max-size");
    }
    if (!c->cmd || c->help) {
        if (c->cmd && c->cmd->fn != cmd_help) {
            return cli_help_command(c, commands, NCOMMANDS, c->name);
        } else {
            print_usage(stdout, c->cmd && c->args->nelts ? cli_arg(c, 0) : NULL);
        }
        return RC_OK;
    }
    if (orgs_pg_uri_is(c->store_dir) &&
        (c->cmd->store != STORE_NONE || c->cmd->fn == cmd_check || c->cmd->fn == cmd_restore)) {
        return (rc = load_key(c)) != RC_OK ? rc : cli_pg_run(c);
    }
    if (c->cmd->store != STORE_NONE) {
        if ((rc = load_key(c)) != RC_OK ||
            (rc = open_store(c, c->cmd->store == STORE_WRITE)) != RC_OK ||
            (c->keys && (rc = verify_key(c, c->cmd->store == STORE_WRITE)) != RC_OK)) {
            return rc;
        }
    }
    rc = c->cmd->fn(c);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        return rc != RC_OK ? rc : cli_fail(c, RC_ERROR, "cannot write to standard output");
    }
    return rc;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    cli_t c;
    int rc;

    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS) {
        fprintf(stderr, "orgctl: cannot initialize APR\n");
        return RC_ERROR;
    }
    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        fprintf(stderr, "orgctl: cannot create a memory pool\n");
        apr_terminate();
        return RC_ERROR;
    }
    memset(&c, 0, sizeof(c));
    c.p = p;
    c.opts = apr_table_make(p, 8);
    c.args = apr_array_make(p, 8, sizeof(const char *));
    c.store_dir = getenv("ORGS_STORE");
    c.key_file = getenv("ORGS_KEY_FILE");
    c.store_open = store_open;
    rc = run(&c, argc, argv);
    /* Closes the store and cleanses the keys and secrets (pool cleanups). */
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
