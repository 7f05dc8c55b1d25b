/* orgctl doctor: one report an operator reads before asking for help: the
 * store, the key, every connection's provider, and whether httpd's
 * configuration names this store and this key. One line per finding,
 * "ok", "note" or "PROBLEM"; exit 1 when there is a problem. */

#include <dirent.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "orgctl.h"

#define DEFAULT_APACHE_DIR "/etc/apache2"

typedef struct {
    cli_t *c;
    int problems;
    const char *store_seen; /* the OrgsStore naming this store, if any */
    const char *key_seen;   /* its OrgsCryptoKey */
    int stores;             /* OrgsStore lines found */
} doctor_t;

static void say(doctor_t *d, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(doctor_t *d, int level, const char *fmt, ...)
{
    static const char *const tags[] = {"ok     ", "note   ", "PROBLEM"};
    va_list ap;
    va_start(ap, fmt);
    char *msg = apr_pvsprintf(d->c->p, fmt, ap);
    va_end(ap);
    printf("%s %s\n", tags[level], out_safe(d->c->p, msg));
    d->problems += level == 2;
}

static const char *canon(apr_pool_t *p, const char *path)
{
    char buf[PATH_MAX];
    return realpath(path, buf) ? apr_pstrdup(p, buf) : path;
}

static void store_report(doctor_t *d)
{
    cli_t *c = d->c;
    orgs_store_stat_t s;
    apr_array_header_t *problems;
    if (orgs_store_stat(c->st, &s, &c->err) != APR_SUCCESS) {
        say(d, 2, "store %s: %s", c->store_dir, c->err.msg);
        return;
    }
    say(d, s.version == ORGS_STORE_FORMAT_VERSION ? 0 : 1,
        "store %s: format %u (this build: %d%s), %" APR_UINT64_T_FMT
        " KiB used of %" APR_UINT64_T_FMT " KiB (%u%%)",
        c->store_dir, s.version, ORGS_STORE_FORMAT_VERSION,
        s.version < ORGS_STORE_FORMAT_VERSION ? ", migrated by the next write or httpd start" : "",
        s.used_bytes / 1024, s.map_size / 1024,
        s.map_size ? (unsigned)(s.used_bytes * 100 / s.map_size) : 0);
    if (s.map_size && s.used_bytes * 100 / s.map_size >= 90) {
        say(d, 2, "store is over 90%% full: raise OrgsStoreMaxSize and --max-size");
    }
    say(d, 0,
        "store holds %" APR_SIZE_T_FMT " orgs, %" APR_SIZE_T_FMT " connections, %" APR_SIZE_T_FMT
        " users, %" APR_SIZE_T_FMT " memberships, %" APR_SIZE_T_FMT " sessions",
        s.orgs, s.conns, s.users, s.members, s.sessions);
    if (orgs_store_check(c->st, &problems, c->p, &c->err) != APR_SUCCESS) {
        say(d, 2, "consistency: %s", c->err.msg);
    } else if (problems->nelts) {
        say(d, 2, "consistency: %d problem%s (orgctl check lists them)", problems->nelts,
            problems->nelts == 1 ? "" : "s");
    } else {
        say(d, 0, "consistency: every index matches its records");
    }
}

static void key_report(doctor_t *d)
{
    cli_t *c = d->c;
    apr_size_t total = 0, opened = 0;
    if (!c->keys) {
        say(d, 1, "key: not given (--key-file or ORGS_KEY_FILE): not checked");
        return;
    }
    if (orgs_store_secrets_check(c->st, &total, &opened, c->p, &c->err) != APR_SUCCESS) {
        say(d, 2, "key: %s", c->err.msg);
        return;
    }
    say(d, 0, "key %s: %s; %" APR_SIZE_T_FMT " of %" APR_SIZE_T_FMT " client secrets decrypt",
        c->key_file,
        c->key_state == ORGS_STORE_KEY_MATCH ? "matches the store's key check value"
                                             : "opens the store's secrets (no check value yet)",
        opened, total);
    if (opened < total) {
        say(d, 2,
            "%" APR_SIZE_T_FMT " client secrets do not decrypt: give them again with "
            "conn update --client-secret-file",
            total - opened);
    }
}

static void conns_report(doctor_t *d)
{
    cli_t *c = d->c;
    apr_array_header_t *conns;
    if (orgs_store_conn_list(c->st, &conns, c->p, &c->err) != APR_SUCCESS) {
        say(d, 2, "connections: %s", c->err.msg);
        return;
    }
    if (!conns->nelts) {
        say(d, 1, "no connection yet (orgctl conn create)");
    }
    for (int i = 0; i < conns->nelts; i++) {
        const orgs_conn_t *cn = APR_ARRAY_IDX(conns, i, orgs_conn_t *);
        cli_idp_report_t r;
        orgs_err_t err = {{0}};
        if (cli_opt(c, "no-network")) {
            say(d, 1, "connection %s (%s): not checked (--no-network)", cn->name, cn->issuer);
        } else if (cli_idp_check(c, cn->issuer, cn->endpoint_hosts, &r, &err) != APR_SUCCESS) {
            say(d, 2, "connection %s (%s): %s", cn->name, cn->issuer, err.msg);
        } else {
            say(d, 0, "connection %s (%s): discovery and JWKS ok, %d signing key%s (%s)", cn->name,
                cn->issuer, r.keys, r.keys == 1 ? "" : "s", r.algs);
        }
    }
}

/* Reads the Orgs directives of one configuration file: enough for the
 * common layouts, not a full httpd parser (Include, Define are not
 * followed). */
static void scan_file(doctor_t *d, const char *path, const char *store)
{
    char line[4096];
    FILE *fp = fopen(path, "r");
    const char *file_store = NULL;
    if (!fp) {
        return;
    }
    while (fgets(line, sizeof(line), fp)) {
        char name[64], value[PATH_MAX + 16];
        if (sscanf(line, " %63s %4111s", name, value) != 2 || name[0] == '#') {
            continue;
        }
        if (strcasecmp(name, "OrgsStore") == 0) {
            d->stores++;
            file_store = NULL;
            if (strcmp(canon(d->c->p, value), store) == 0) {
                d->store_seen = apr_psprintf(d->c->p, "%s", path);
                file_store = value;
            }
        } else if (strcasecmp(name, "OrgsCryptoKey") == 0 && (file_store || !d->key_seen)) {
            d->key_seen = apr_pstrdup(d->c->p, value);
        }
    }
    fclose(fp);
}

static void scan_dir(doctor_t *d, const char *dir, const char *store)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    if (!dp) {
        return;
    }
    while ((e = readdir(dp))) {
        if (e->d_name[0] != '.') {
            scan_file(d, apr_pstrcat(d->c->p, dir, "/", e->d_name, NULL), store);
        }
    }
    closedir(dp);
}

static void httpd_report(doctor_t *d)
{
    cli_t *c = d->c;
    const char *dir = cli_opt(c, "apache-dir") ? cli_opt(c, "apache-dir") : DEFAULT_APACHE_DIR;
    const char *store = canon(c->p, c->store_dir);
    static const char *const subdirs[] = {"mods-enabled", "conf-enabled", "sites-enabled"};
    DIR *dp = opendir(dir);
    if (!dp) {
        say(d, 1, "httpd configuration: no directory %s (--apache-dir DIR)", dir);
        return;
    }
    closedir(dp);
    scan_file(d, apr_pstrcat(c->p, dir, "/apache2.conf", NULL), store);
    scan_file(d, apr_pstrcat(c->p, dir, "/httpd.conf", NULL), store);
    for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
        scan_dir(d, apr_pstrcat(c->p, dir, "/", subdirs[i], NULL), store);
    }
    if (!d->stores) {
        say(d, 1, "httpd configuration in %s: no OrgsStore enabled yet", dir);
        return;
    }
    if (!d->store_seen) {
        say(d, 2, "httpd configuration in %s: no OrgsStore names %s: httpd uses another store", dir,
            store);
        return;
    }
    say(d, 0, "httpd: OrgsStore %s in %s", store, d->store_seen);
    if (!d->key_seen) {
        say(d, 2, "httpd: no OrgsCryptoKey found beside that OrgsStore");
    } else if (strncmp(d->key_seen, "file:", 5) != 0 || !c->key_file) {
        say(d, 1, "httpd: OrgsCryptoKey %s (not compared with this key)", d->key_seen);
    } else if (strcmp(canon(c->p, d->key_seen + 5), canon(c->p, c->key_file)) != 0) {
        say(d, 2, "httpd: OrgsCryptoKey %s is not the key file given here (%s)", d->key_seen,
            c->key_file);
    } else {
        say(d, 0, "httpd: OrgsCryptoKey %s: the same file", d->key_seen);
    }
}

int cmd_doctor(cli_t *c)
{
    doctor_t d;
    memset(&d, 0, sizeof(d));
    d.c = c;
    store_report(&d);
    key_report(&d);
    conns_report(&d);
    httpd_report(&d);
    if (fflush(stdout) != 0) {
        return cli_fail(c, RC_ERROR, "cannot write to standard output");
    }
    if (d.problems) {
        return cli_fail(c, RC_ERROR, "%d problem%s found", d.problems, d.problems == 1 ? "" : "s");
    }
    return RC_OK;
}
