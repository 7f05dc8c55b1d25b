/* Backup and restore of the whole store file: a compacted copy taken in
 * one read transaction (consistent while httpd writes), and its
 * installation in place of data.mdb while no process has the store open. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "store_int.h"

apr_status_t orgs_store_backup(orgs_store_t *st, int fd, orgs_err_t *err)
{
    int rc = mdb_env_copyfd2(st->env, fd, MDB_CP_COMPACT);
    return rc == MDB_SUCCESS ? APR_SUCCESS : st_mdb_fail(rc, err, "backup");
}

/* Every process with the environment open holds a shared fcntl lock on
 * lock.mdb's first byte (LMDB's "excl lock"): a write lock on it is
 * refused while any does. */
static apr_status_t in_use(const char *dir, int *used, apr_pool_t *p, orgs_err_t *err)
{
    const char *path = apr_pstrcat(p, dir, "/lock.mdb", NULL);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    int fd = open(path, O_RDWR | O_NOFOLLOW);
    *used = 0;
    if (fd < 0) {
        return errno == ENOENT
                   ? APR_SUCCESS
                   : orgs_err_set(err, ORGS_ESTORE, "cannot open %s: %s", path, strerror(errno));
    }
    if (fcntl(fd, F_GETLK, &fl) != 0) {
        int e = errno;
        close(fd);
        return orgs_err_set(err, ORGS_ESTORE, "cannot test the lock of %s: %s", path, strerror(e));
    }
    close(fd);
    *used = fl.l_type != F_UNLCK;
    return APR_SUCCESS;
}

static apr_status_t copy_file(int in, int out, const char *what, orgs_err_t *err)
{
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) > 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0) {
                return orgs_err_set(err, ORGS_ESTORE, "cannot write %s: %s", what, strerror(errno));
            }
            off += w;
        }
    }
    if (n < 0 || fsync(out) != 0) {
        return orgs_err_set(err, ORGS_ESTORE, "cannot copy %s: %s", what, strerror(errno));
    }
    return APR_SUCCESS;
}

apr_status_t orgs_store_restore(const char *dir, const char *file, const orgs_crypto_keys_t *keys,
                                apr_pool_t *p, orgs_err_t *err)
{
    struct stat dsb;
    int used;
    orgs_store_t *probe;
    apr_status_t rv = in_use(dir, &used, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (used) {
        return orgs_err_set(err, ORGS_ESTORE,
                            "the store in %s is open in another process (httpd?): stop it first",
                            dir);
    }
    if (stat(dir, &dsb) != 0 || !S_ISDIR(dsb.st_mode)) {
        return orgs_err_set(err, ORGS_ESTORE, "store directory %s does not exist", dir);
    }
    /* the copy is checked as a store of its own, in a directory beside */
    const char *tmpdir = apr_psprintf(p, "%s/.restore.%ld", dir, (long)getpid());
    const char *tmp = apr_pstrcat(p, tmpdir, "/data.mdb", NULL);
    if (mkdir(tmpdir, 0700) != 0) {
        return orgs_err_set(err, ORGS_ESTORE, "cannot create %s: %s", tmpdir, strerror(errno));
    }
    int in = open(file, O_RDONLY);
    int out = in < 0 ? -1 : open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    if (in < 0 || out < 0) {
        rv = orgs_err_set(err, ORGS_ESTORE, "cannot %s: %s", in < 0 ? "read the backup" : "copy it",
                          strerror(errno));
    } else {
        rv = copy_file(in, out, tmp, err);
    }
    if (in >= 0) {
        close(in);
    }
    if (out >= 0) {
        close(out);
    }
    if (rv == APR_SUCCESS) {
        rv = orgs_store_open(&probe, tmpdir, 0, 0, ORGS_STORE_RDONLY, keys, p, err);
        if (rv == APR_SUCCESS) {
            orgs_store_close(probe);
        }
    }
    if (rv == APR_SUCCESS && geteuid() == 0 &&
        (chown(tmp, dsb.st_uid, dsb.st_gid) != 0 || chmod(tmp, 0660) != 0)) {
        rv = orgs_err_set(err, ORGS_ESTORE, "cannot give %s to the store's owner: %s", tmp,
                          strerror(errno));
    }
    if (rv == APR_SUCCESS && rename(tmp, apr_pstrcat(p, dir, "/data.mdb", NULL)) != 0) {
        rv = orgs_err_set(err, ORGS_ESTORE, "cannot install the backup: %s", strerror(errno));
    }
    if (rv == APR_SUCCESS) { /* its reader table belongs to the old file */
        unlink(apr_pstrcat(p, dir, "/lock.mdb", NULL));
    }
    unlink(tmp);
    unlink(apr_pstrcat(p, tmpdir, "/lock.mdb", NULL));
    rmdir(tmpdir);
    return rv;
}
