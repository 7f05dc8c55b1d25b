/* The map size running httpd accepts, in one place orgctl reads: the file
 * DIR/httpd-map-size. httpd's parent writes it at each start and restart
 * and holds a shared flock(2) lock on it for as long as it, or any child
 * it forked, lives (the lock belongs to the open file, which fork shares;
 * the descriptor is closed on exec, so CGI scripts and piped loggers do
 * not keep it). orgctl tries an exclusive lock without waiting: when it
 * cannot have it, httpd runs and the size recorded is what it maps; when
 * it can, nobody holds the record, and what it says is stale (httpd
 * stopped or crashed) and ignored. A process id can be reused; a lock
 * cannot outlive the processes holding it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

#define LIMIT_FILE "httpd-map-size"
/* "%020" PRIu64 " %010lu\n": always this length, so a rewrite in place
 * never leaves a tail of an older, longer record */
#define LIMIT_LEN 32

static apr_status_t hold_cleanup(void *data)
{
    close(*(int *)data);
    return APR_SUCCESS;
}

/* Opens the record (created as the directory's owner when root runs
 * this, like the data files: httpd's parent); it must be a plain file
 * with one link. */
static apr_status_t limit_open(const char *dir, int create, int *fd, apr_pool_t *p, orgs_err_t *err)
{
    struct stat sb;
    fs_ident_t ident;
    const char *path = apr_pstrcat(p, dir, "/" LIMIT_FILE, NULL);
    int e;
    *fd = -1;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        return orgs_err_set(err, ORGS_ESTORE, "store directory %s does not exist", dir);
    }
    apr_status_t rv = st_fs_ident_enter(&sb, &ident, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *fd = open(path, (create ? O_RDWR | O_CREAT : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC, 0644);
    e = errno;
    rv = st_fs_ident_leave(&ident, err);
    if (*fd < 0) {
        return e == ENOENT && !create
                   ? APR_NOTFOUND
                   : orgs_err_set(err, ORGS_ESTORE, "cannot open %s: %s", path, strerror(e));
    }
    if (rv == APR_SUCCESS && (fstat(*fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_nlink != 1)) {
        rv = orgs_err_set(err, ORGS_ESTORE, "%s is not a regular file with one link", path);
    }
    if (rv != APR_SUCCESS) {
        close(*fd);
        *fd = -1;
    }
    return rv;
}

apr_status_t orgs_store_maplimit_hold(const char *dir, apr_uint64_t max, apr_pool_t *p,
                                      orgs_err_t *err)
{
    char buf[LIMIT_LEN + 1];
    int fd, tries = 0;
    apr_status_t rv = limit_open(dir, 1, &fd, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* written before the lock is taken: whoever finds it held reads a whole
     * record */
    snprintf(buf, sizeof(buf), "%020" PRIu64 " %010lu\n", (uint64_t)max, (unsigned long)getpid());
    if (pwrite(fd, buf, LIMIT_LEN, 0) != LIMIT_LEN || ftruncate(fd, LIMIT_LEN) != 0) {
        int e = errno;
        close(fd);
        return orgs_err_set(err, ORGS_ESTORE, "cannot write %s/" LIMIT_FILE ": %s", dir,
                            strerror(e));
    }
    /* shared: each generation's parent and children hold it at once; an
     * orgctl testing it holds it exclusively for an instant: try again */
    while (flock(fd, LOCK_SH | LOCK_NB) != 0) {
        if ((errno != EWOULDBLOCK && errno != EINTR) || ++tries > 100) {
            int e = errno;
            close(fd);
            return orgs_err_set(err, ORGS_ESTORE, "cannot lock %s/" LIMIT_FILE ": %s", dir,
                                strerror(e));
        }
        usleep(10000);
    }
    int *keep = apr_palloc(p, sizeof(*keep));
    *keep = fd;
    apr_pool_cleanup_register(p, keep, hold_cleanup, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

apr_status_t orgs_store_maplimit_get(const char *dir, apr_uint64_t *max, long *pid, apr_pool_t *p,
                                     orgs_err_t *err)
{
    char buf[LIMIT_LEN + 1];
    int fd, held = 0;
    *max = 0;
    *pid = 0;
    apr_status_t rv = limit_open(dir, 0, &fd, p, err);
    if (rv != APR_SUCCESS) {
        return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
    }
    /* three tries: another orgctl may be testing it at this very moment */
    for (int i = 0; i < 3; i++) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            flock(fd, LOCK_UN);
            held = 0;
            break;
        }
        if (errno != EWOULDBLOCK && errno != EINTR) {
            int e = errno;
            close(fd);
            return orgs_err_set(err, ORGS_ESTORE, "cannot test the lock of %s/" LIMIT_FILE ": %s",
                                dir, strerror(e));
        }
        held = 1;
        usleep(5000);
    }
    ssize_t n = held ? pread(fd, buf, LIMIT_LEN, 0) : 0;
    close(fd);
    if (!held) {
        return APR_SUCCESS;
    }
    uint64_t size;
    unsigned long id;
    buf[n > 0 ? n : 0] = '\0';
    if (n != LIMIT_LEN || sscanf(buf, "%" SCNu64 " %lu", &size, &id) != 2) {
        return orgs_err_set(err, ORGS_ESTORE, "%s/" LIMIT_FILE " is held but unreadable", dir);
    }
    *max = size;
    *pid = (long)id;
    return APR_SUCCESS;
}
