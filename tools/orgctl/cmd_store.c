/* orgctl export, import, check, backup, restore: the whole store at once. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_strings.h>

#include "orgctl.h"

int cmd_export(cli_t *c)
{
    const char *file = cli_arg(c, 0);
    apr_size_t count = 0;
    FILE *fp = stdout;
    char *tmp = NULL;

    if (file && strcmp(file, "-") != 0) {
        /* Written beside the target and renamed, so a failed export never
         * leaves a truncated backup under the final name; 0600 because the
         * export holds emails and sealed secrets. */
        tmp = apr_psprintf(c->p, "%s.tmp.%ld", file, (long)getpid());
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0 || !(fp = fdopen(fd, "w"))) {
            if (fd >= 0) {
                close(fd);
                unlink(tmp);
            }
            return cli_fail(c, RC_ERROR, "cannot create '%s': %s", tmp, strerror(errno));
        }
    }
    apr_status_t rv = orgs_store_export(c->st, fp, &count, c->p, &c->err);
    int werr = fflush(fp) != 0 || ferror(fp);
    if (tmp) {
        werr |= fsync(fileno(fp)) != 0;
        werr |= fclose(fp) != 0;
        if (rv == APR_SUCCESS && !werr && rename(tmp, file) != 0) {
            werr = 1;
        }
        if (rv != APR_SUCCESS || werr) {
            unlink(tmp);
        }
    }
    if (rv != APR_SUCCESS) {
        return cli_fail_rv(c, rv, NULL);
    }
    if (werr) {
        return cli_fail(c, RC_ERROR, "cannot write '%s': %s", tmp ? file : "standard output",
                        strerror(errno));
    }
    if (tmp) {
        if (c->json) {
            json_t *j = json_object();
            json_object_set_new(j, "exported", json_integer((json_int_t)count));
            return out_json_new(c, j);
        }
        printf("%" APR_SIZE_T_FMT " objects exported to %s\n", count, file);
    }
    return RC_OK;
}

int cmd_import(cli_t *c)
{
    const char *file = cli_arg(c, 0);
    apr_size_t count = 0;
    FILE *fp = stdin;
    if (file && strcmp(file, "-") != 0 && !(fp = fopen(file, "r"))) {
        return cli_fail(c, RC_ERROR, "cannot open '%s': %s", file, strerror(errno));
    }
    apr_status_t rv = orgs_store_import(c->st, fp, &count, c->p, &c->err);
    if (fp != stdin) {
        fclose(fp);
    }
    if (rv != APR_SUCCESS) {
        return cli_fail_rv(c, rv, NULL);
    }
    if (c->json) {
        json_t *j = json_object();
        json_object_set_new(j, "imported", json_integer((json_int_t)count));
        return out_json_new(c, j);
    }
    printf("%" APR_SIZE_T_FMT " objects imported\n", count);
    return RC_OK;
}

/* What check says of the key (store_open checked it already when given). */
static const char *key_text(cli_t *c)
{
    if (!c->keys) {
        return "not given: client secrets not checked (--key-file or ORGS_KEY_FILE)";
    }
    return c->key_state == ORGS_STORE_KEY_MATCH
               ? "matches the store's key check value"
               : "opens the stored secrets (no key check value recorded yet: the next "
                 "write command records it)";
}

static int check_run(cli_t *c)
{
    apr_array_header_t *problems;
    apr_size_t total = 0, opened = 0;
    int rc = c->store_open(c, 0);
    if (rc != RC_OK) {
        return rc;
    }
    apr_status_t rv = cli_opt(c, "deep") ? orgs_store_check_deep(c->st, &problems, c->p, &c->err)
                                         : orgs_store_check(c->st, &problems, c->p, &c->err);
    if (rv == APR_SUCCESS) {
        rv = orgs_store_secrets_check(c->st, &total, &opened, c->p, &c->err);
    }
    if (rv != APR_SUCCESS) {
        return cli_fail_rv(c, rv, NULL);
    }
    if (c->keys && opened < total) {
        APR_ARRAY_PUSH(problems, const char *) = apr_psprintf(
            c->p, "%" APR_SIZE_T_FMT " client secret%s do%s not decrypt with this key",
            total - opened, total - opened == 1 ? "" : "s", total - opened == 1 ? "es" : "");
    }
    if (c->json) {
        json_t *j = json_object();
        json_object_set_new(j, "consistent", json_boolean(problems->nelts == 0));
        json_object_set_new(j, "problems", out_jstrings(problems));
        json_object_set_new(j, "key_checked", json_boolean(c->keys != NULL));
        json_object_set_new(j, "secrets", json_integer((json_int_t)total));
        if (c->keys) {
            json_object_set_new(j, "secrets_decrypted", json_integer((json_int_t)opened));
        }
        out_json_new(c, j);
    } else if (problems->nelts == 0) {
        printf("key: %s\n", key_text(c));
        if (c->keys) {
            printf("secrets: %" APR_SIZE_T_FMT " of %" APR_SIZE_T_FMT " decrypt\n", opened, total);
        }
        printf("store consistent\n");
    } else {
        for (int i = 0; i < problems->nelts; i++) {
            printf("%s\n", out_safe(c->p, APR_ARRAY_IDX(problems, i, const char *)));
        }
    }
    if (problems->nelts) {
        return cli_fail(c, RC_ERROR, "%d problem%s found", problems->nelts,
                        problems->nelts == 1 ? "" : "s");
    }
    return RC_OK;
}

/* The check runs in a child process: LMDB may abort (an assertion) or
 * fault on a damaged page it does not detect, and that must end as a
 * report of damage, not as orgctl dying. */
int cmd_check(cli_t *c)
{
    int status;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        return cli_fail(c, RC_ERROR, "cannot fork: %s", strerror(errno));
    }
    if (pid == 0) {
        int rc = check_run(c);
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return cli_fail(c, RC_ERROR, "cannot wait for the check: %s", strerror(errno));
        }
    }
    if (WIFSIGNALED(status)) {
        return cli_fail(c, RC_STORE,
                        "the store is damaged: reading it stopped the check (signal %d, %s); "
                        "restore it from a backup (see orgctl restore)",
                        WTERMSIG(status), strsignal(WTERMSIG(status)));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : RC_ERROR;
}

int cmd_backup(cli_t *c)
{
    const char *file = cli_arg(c, 0);
    /* beside the target and renamed: a failed backup never leaves a
     * truncated file under the final name; 0600, as the store */
    const char *tmp = apr_psprintf(c->p, "%s.tmp.%ld", file, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        return cli_fail(c, RC_ERROR, "cannot create '%s': %s", tmp, strerror(errno));
    }
    apr_status_t rv = orgs_store_backup(c->st, fd, &c->err);
    int werr = rv == APR_SUCCESS && fsync(fd) != 0;
    werr |= close(fd) != 0;
    if (rv == APR_SUCCESS && !werr && rename(tmp, file) != 0) {
        werr = 1;
    }
    if (rv != APR_SUCCESS || werr) {
        int e = errno;
        unlink(tmp);
        return rv != APR_SUCCESS
                   ? cli_fail_rv(c, rv, NULL)
                   : cli_fail(c, RC_ERROR, "cannot write '%s': %s", file, strerror(e));
    }
    if (c->json) {
        json_t *j = json_object();
        json_object_set_new(j, "backup", json_string(file));
        return out_json_new(c, j);
    }
    printf("store copied to %s\n", file);
    return RC_OK;
}

int cmd_restore(cli_t *c)
{
    const char *file = cli_arg(c, 0);
    if (!c->store_dir || !*c->store_dir) {
        return cli_usage_fail(c, "no store: give -s STOREDIR or set ORGS_STORE");
    }
    apr_status_t rv = orgs_store_restore(c->store_dir, file, NULL, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return cli_fail_rv(c, rv, NULL);
    }
    printf("store in %s restored from %s\n", c->store_dir, file);
    return RC_OK;
}
