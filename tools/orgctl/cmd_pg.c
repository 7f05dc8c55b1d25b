/* orgctl against a PostgreSQL store (ORGS_STORE=postgresql://...): every
 * store command runs unchanged on a private copy made from one snapshot of
 * the database, and what it changed is written back as one SQL
 * transaction (pgstore.h), so the rules, ids and errors are the store's.
 * Writers take the database's advisory lock before the snapshot: two
 * writers on two machines run one after the other, and the second sees
 * what the first wrote (a conflicting create fails with exit 4). Also
 * `init` (schema) and `migrate` (LMDB to PostgreSQL and back). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_file_info.h>
#include <apr_strings.h>

#include "orgctl.h"
#include "pgstore.h"

/* Commands that work on the files of an LMDB store only. */
static const char *const lmdb_only[] = {"check", "backup", "restore", "doctor", NULL};

typedef struct {
    const char *dir;
} scratch_t;

static apr_status_t scratch_remove(void *data)
{
    const scratch_t *s = data;
    char path[4096];
    static const char *const files[] = {"data.mdb", "lock.mdb", NULL};
    for (int i = 0; files[i]; i++) {
        apr_snprintf(path, sizeof(path), "%s/%s", s->dir, files[i]);
        unlink(path);
    }
    rmdir(s->dir);
    return APR_SUCCESS;
}

/* A new directory for the private copy, removed with the pool (registered
 * before the store's own cleanup, so it runs after the store is closed). */
static int scratch_dir(cli_t *c, const char **dir)
{
    const char *tmp = getenv("TMPDIR");
    char *d = apr_pstrcat(c->p, tmp && *tmp ? tmp : "/tmp", "/orgctl-XXXXXX", NULL);
    if (!mkdtemp(d)) {
        return cli_fail(c, RC_ERROR, "cannot create a temporary directory: %s", strerror(errno));
    }
    scratch_t *s = apr_palloc(c->p, sizeof(*s));
    s->dir = d;
    apr_pool_cleanup_register(c->p, s, scratch_remove, apr_pool_cleanup_null);
    *dir = d;
    return RC_OK;
}

static FILE *tmp_file(cli_t *c)
{
    FILE *fp = tmpfile();
    if (!fp) {
        cli_fail(c, RC_ERROR, "cannot create a temporary file: %s", strerror(errno));
    }
    return fp;
}

/* The command's standard output, held until the change is committed: an
 * id printed for a write that then failed would be a lie. */
typedef struct {
    int saved;
    FILE *held;
} hold_t;

static int hold_begin(cli_t *c, hold_t *h)
{
    fflush(stdout);
    h->held = tmp_file(c);
    h->saved = h->held ? dup(STDOUT_FILENO) : -1;
    if (h->saved < 0 || dup2(fileno(h->held), STDOUT_FILENO) < 0) {
        return h->held ? cli_fail(c, RC_ERROR, "cannot hold the output: %s", strerror(errno))
                       : RC_ERROR;
    }
    return RC_OK;
}

static void hold_end(hold_t *h, int release)
{
    char buf[8192];
    size_t n;
    fflush(stdout);
    dup2(h->saved, STDOUT_FILENO);
    close(h->saved);
    rewind(h->held);
    while (release && (n = fread(buf, 1, sizeof(buf), h->held)) > 0) {
        fwrite(buf, 1, n, stdout);
    }
    fclose(h->held);
}

/* The audit records the command wrote in the copy, carried in the change
 * set ("audit"): the database keeps them in its audit_log in the change's
 * own transaction. */
static apr_status_t with_audit(cli_t *c, char **change)
{
    apr_array_header_t *texts;
    apr_status_t rv = orgs_store_audit_texts(c->st, &texts, c->p, &c->err);
    if (rv != APR_SUCCESS || !texts->nelts) {
        return rv;
    }
    json_t *set = json_loads(*change, 0, NULL), *list = json_array();
    for (int i = 0; i < texts->nelts; i++) {
        json_array_append_new(list, json_string(APR_ARRAY_IDX(texts, i, const char *)));
    }
    char *s = NULL;
    if (json_is_object(set) && json_object_set_new(set, "audit", list) == 0) {
        s = json_dumps(set, JSON_COMPACT);
    } else if (!json_is_object(set)) {
        json_decref(list);
    }
    json_decref(set);
    if (!s) {
        return orgs_err_set(&c->err, APR_ENOMEM, "cannot add the audit records");
    }
    *change = apr_pstrdup(c->p, s);
    free(s);
    return APR_SUCCESS;
}

/* The audit records of orgctl's writes kept in the database, into the
 * copy, so that `orgctl audit` reads them with its own filters. */
#define AUDIT_READ_MAX 100000
static apr_status_t audit_in(cli_t *c, orgs_pg_t *pg)
{
    apr_array_header_t *texts;
    apr_status_t rv = orgs_pg_audit_read(pg, AUDIT_READ_MAX, &texts, c->p, &c->err);
    return rv == APR_SUCCESS ? orgs_store_audit_import(c->st, texts, c->p, &c->err) : rv;
}

/* The change the command made to the copy, written to the database. */
static int write_back(cli_t *c, orgs_pg_t *pg, FILE *before)
{
    FILE *after = tmp_file(c);
    apr_size_t count, n;
    char *change;
    apr_int64_t seq;
    if (!after) {
        return RC_ERROR;
    }
    apr_status_t rv = orgs_store_export(c->st, after, &count, c->p, &c->err);
    if (rv == APR_SUCCESS) {
        rewind(before);
        rewind(after);
        rv = orgs_change_diff(before, after, &change, &n, c->p, &c->err);
    }
    fclose(after);
    if (rv == APR_SUCCESS && change) {
        rv = with_audit(c, &change);
    }
    if (rv == APR_SUCCESS && change) {
        return (rv = orgs_pg_write_commit(pg, change, &seq, c->p, &c->err)) == APR_SUCCESS
                   ? RC_OK
                   : cli_fail_rv(c, rv, "PostgreSQL");
    }
    orgs_pg_rollback(pg);
    return rv == APR_SUCCESS ? RC_OK : cli_fail_rv(c, rv, "PostgreSQL");
}

int cli_pg_run(cli_t *c)
{
    const char *dir = NULL, *cluster;
    orgs_pg_t *pg;
    apr_int64_t seq;
    apr_size_t objects;
    hold_t hold;
    int write = c->cmd->store == STORE_WRITE, rc;

    for (int i = 0; lmdb_only[i]; i++) {
        if (strcmp(c->cmd->group, lmdb_only[i]) == 0) {
            return cli_fail(c, RC_USAGE,
                            "works on an LMDB store: run it on a node's replica "
                            "(-s OrgsStoreReplica's directory)");
        }
    }
    apr_status_t rv = orgs_pg_connect(&pg, c->store_dir, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return cli_fail_rv(c, rv, NULL);
    }
    FILE *before = tmp_file(c);
    if (!before || (rc = scratch_dir(c, &dir)) != RC_OK) {
        return RC_ERROR;
    }
    /* a read sees the cluster's counters (orgctl usage); a write's
     * snapshot is also what its change is diffed against: objects only */
    rv = orgs_pg_snapshot(pg, write ? ORGS_PG_SNAP_WRITE : ORGS_PG_SNAP_COUNTERS, before, &seq,
                          &cluster, c->p, &c->err);
    if (rv == APR_SUCCESS) {
        c->map_size = ORGS_STORE_DEFAULT_MAP_SIZE;
        rv =
            orgs_store_open(&c->st, dir, c->map_size, 0, ORGS_STORE_CREATE, c->keys, c->p, &c->err);
    }
    if (rv == APR_SUCCESS) {
        rewind(before);
        rv = orgs_store_replica_rebuild(c->st, before, seq, cluster, &objects, c->p, &c->err);
    }
    if (rv == APR_SUCCESS) {
        cli_actor_set(c); /* the copy's audit records name orgctl's user */
    }
    if (rv == APR_SUCCESS && strcmp(c->cmd->group, "audit") == 0) {
        rv = audit_in(c, pg);
    }
    if (rv != APR_SUCCESS) {
        orgs_pg_rollback(pg);
        fclose(before);
        return cli_fail_rv(c, rv, "PostgreSQL");
    }
    c->err.msg[0] = '\0';
    if ((rc = hold_begin(c, &hold)) != RC_OK) {
        orgs_pg_rollback(pg);
        fclose(before);
        return rc;
    }
    rc = c->cmd->fn(c);
    if (write && rc == RC_OK) {
        rc = write_back(c, pg, before);
    } else if (write) {
        orgs_pg_rollback(pg);
    }
    hold_end(&hold, rc == RC_OK);
    fclose(before);
    return rc;
}

int cmd_init(cli_t *c)
{
    orgs_pg_t *pg;
    int created;
    if (!c->store_dir || !orgs_pg_uri_is(c->store_dir)) {
        return cli_usage_fail(c, "init needs a PostgreSQL store: ORGS_STORE=postgresql://... "
                                 "(an LMDB store is created by its first write)");
    }
    apr_status_t rv = orgs_pg_connect(&pg, c->store_dir, c->p, &c->err);
    if (rv == APR_SUCCESS) {
        rv = orgs_pg_init(pg, &created, &c->err);
    }
    if (rv != APR_SUCCESS) {
        return cli_fail_rv(c, rv, NULL);
    }
    if (c->json) {
        json_t *j = json_object();
        json_object_set_new(j, "schema_version", json_integer(ORGS_PG_SCHEMA_VERSION));
        json_object_set_new(j, "created", json_boolean(created == 1));
        return out_json_new(c, j);
    }
    printf("schema version %d %s\n", ORGS_PG_SCHEMA_VERSION,
           created == 2   ? "upgraded"
           : created == 1 ? "created"
                          : "already there");
    return RC_OK;
}

/* LMDB (the store of -s/ORGS_STORE) into an empty database. */
static int migrate_to_pg(cli_t *c, const char *uri)
{
    orgs_pg_t *pg;
    apr_size_t count;
    int created, rc = c->store_open(c, 0);
    FILE *fp = rc == RC_OK ? tmp_file(c) : NULL;
    if (!fp) {
        return rc == RC_OK ? RC_ERROR : rc;
    }
    apr_status_t rv = orgs_store_export(c->st, fp, &count, c->p, &c->err);
    if (rv == APR_SUCCESS) {
        rv = orgs_pg_connect(&pg, uri, c->p, &c->err);
    }
    if (rv == APR_SUCCESS) {
        rv = orgs_pg_init(pg, &created, &c->err);
    }
    if (rv == APR_SUCCESS) {
        rewind(fp);
        rv = orgs_pg_load(pg, fp, &count, c->p, &c->err);
    }
    fclose(fp);
    if (rv != APR_SUCCESS) {
        return cli_fail_rv(c, rv, orgs_pg_uri_display(uri, c->p));
    }
    printf("%" APR_SIZE_T_FMT " objects copied to %s\n", count, orgs_pg_uri_display(uri, c->p));
    return RC_OK;
}

/* The database (ORGS_STORE) into a new LMDB store in an existing directory. */
static int migrate_to_lmdb(cli_t *c, const char *dir)
{
    orgs_pg_t *pg;
    orgs_store_t *st;
    apr_finfo_t fi;
    apr_size_t count;
    apr_int64_t seq;
    const char *cluster;
    if (apr_stat(&fi, dir, APR_FINFO_TYPE, c->p) != APR_SUCCESS || fi.filetype != APR_DIR) {
        return cli_fail(c, RC_STORE, "'%s' is not a directory", dir);
    }
    if (apr_stat(&fi, apr_pstrcat(c->p, dir, "/data.mdb", NULL), APR_FINFO_TYPE, c->p) ==
        APR_SUCCESS) {
        return cli_fail(c, RC_CONFLICT, "'%s' already holds a store", dir);
    }
    /* the new store unseals each connection's secret: it needs the key */
    if (c->key_file && *c->key_file &&
        orgs_crypto_keys_load(&c->keys, apr_pstrcat(c->p, "file:", c->key_file, NULL), c->p,
                              &c->err) != APR_SUCCESS) {
        return cli_fail(c, RC_ERROR, "key file '%s': %s", c->key_file, c->err.msg);
    }
    FILE *fp = tmp_file(c);
    if (!fp) {
        return RC_ERROR;
    }
    apr_status_t rv = orgs_pg_connect(&pg, c->store_dir, c->p, &c->err);
    if (rv == APR_SUCCESS) {
        rv = orgs_pg_snapshot(pg, 0, fp, &seq, &cluster, c->p, &c->err);
    }
    if (rv == APR_SUCCESS) {
        rv = orgs_store_open(&st, dir, ORGS_STORE_DEFAULT_MAP_SIZE, 0, ORGS_STORE_CREATE, c->keys,
                             c->p, &c->err);
    }
    if (rv == APR_SUCCESS) {
        rewind(fp);
        rv = orgs_store_import(st, fp, &count, c->p, &c->err);
        orgs_store_close(st);
    }
    fclose(fp);
    if (rv != APR_SUCCESS) {
        return cli_fail_rv(c, rv, NULL);
    }
    printf("%" APR_SIZE_T_FMT " objects copied to %s\n", count, dir);
    return RC_OK;
}

int cmd_migrate(cli_t *c)
{
    const char *to = cli_opt(c, "to");
    orgs_err_t err = {{0}};
    if (!c->store_dir || !*c->store_dir) {
        return cli_usage_fail(c, "no store: give -s STOREDIR or set ORGS_STORE");
    }
    if (orgs_pg_uri_is(to) == orgs_pg_uri_is(c->store_dir)) {
        return cli_usage_fail(c, "--to names the other kind of store: postgresql://... for an "
                                 "LMDB store, a directory for a PostgreSQL one");
    }
    if (orgs_pg_uri_is(to)) {
        if (orgs_pg_uri_check(to, c->p, &err) != APR_SUCCESS) {
            return cli_usage_fail(c, "--to: %s", err.msg);
        }
        return migrate_to_pg(c, to);
    }
    return migrate_to_lmdb(c, to);
}

int cmd_replicate(cli_t *c)
{
    orgs_pg_t *pg;
    orgs_store_t *st;
    apr_size_t applied;
    int rebuilt;
    const char *dir = cli_arg(c, 0);
    apr_finfo_t fi;
    if (!c->store_dir || !orgs_pg_uri_is(c->store_dir)) {
        return cli_usage_fail(c, "replicate needs a PostgreSQL store: ORGS_STORE=postgresql://...");
    }
    if (apr_stat(&fi, dir, APR_FINFO_TYPE, c->p) != APR_SUCCESS || fi.filetype != APR_DIR) {
        return cli_fail(c, RC_STORE, "'%s' is not a directory", dir);
    }
    apr_status_t rv = orgs_pg_connect(&pg, c->store_dir, c->p, &c->err);
    if (rv == APR_SUCCESS) {
        rv = orgs_store_open(&st, dir, ORGS_STORE_DEFAULT_MAP_SIZE, 0,
                             ORGS_STORE_CREATE | ORGS_STORE_MAP_RECORDED, NULL, c->p, &c->err);
    }
    if (rv == APR_SUCCESS) {
        rv = orgs_pg_catch_up(pg, st, &applied, &rebuilt, c->p, &c->err);
        orgs_store_close(st);
    }
    if (rv != APR_SUCCESS) {
        return cli_fail_rv(c, rv, NULL);
    }
    printf("%s%" APR_SIZE_T_FMT " changes applied\n", rebuilt ? "rebuilt, " : "", applied);
    return RC_OK;
}
