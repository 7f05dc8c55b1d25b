/* The map size running httpd accepts, in one place orgctl reads: the file
 * DIR/httpd-map-size. httpd's parent writes it at each start and restart
 * and holds a shared flock(2) lock on it for as long as it, or any child
 * it forked, lives (the lock belongs to the open file, which fork shares;
 * the descriptor is closed on exec, so CGI scripts and piped loggers do
 * not keep it). orgctl tries an exclusive lock without waiting: when it
 * cannot have it, httpd runs and the size recorded is what it maps; when
 * it can, nobody holds the record, and what it says is stale (httpd
 * stopped or crashed) and ignored. A process id can be reused; a lock
 * cannot outlive the processes holding it.
 *
 * A graceful restart leaves the previous generation's children running
 * until their requests end, with the map of their OrgsStoreMaxSize. So a
 * restart that finds the record still held does not overwrite it: it
 * renames it to DIR/httpd-map-size.<inode> (the old children's lock goes
 * with the file) and records its own size in a new httpd-map-size. orgctl
 * reads every record still held and takes the smallest size: a store is
 * never grown past what a live child maps. A set-aside record nobody holds
 * is never held again; the next restart removes it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

#define LIMIT_FILE "httpd-map-size"
/* a previous generation's record, set aside while its children live */
#define ASIDE_PREFIX LIMIT_FILE "."
/* "%020" PRIu64 " %010lu\n": always this length, so a rewrite in place
 * never leaves a tail of an older, longer record */
#define LIMIT_LEN 32

static apr_status_t hold_cleanup(void *data)
{
    close(*(int *)data);
    return APR_SUCCESS;
}

/* Opens the record name in dir (created as the directory's owner when
 * root runs this, like the data files: httpd's parent); it must be a
 * plain file with one link. */
static apr_status_t limit_open(const char *dir, const char *name, int create, int *fd,
                               apr_pool_t *p, orgs_err_t *err)
{
    struct stat sb;
    fs_ident_t ident;
    const char *path = apr_pstrcat(p, dir, "/", name, NULL);
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

/* Renames or removes name in dir as the directory's owner (see
 * limit_open). */
static apr_status_t limit_move(const char *dir, const char *name, const char *to, apr_pool_t *p,
                               orgs_err_t *err)
{
    struct stat sb;
    fs_ident_t ident;
    const char *path = apr_pstrcat(p, dir, "/", name, NULL);
    if (stat(dir, &sb) != 0) {
        return orgs_err_set(err, ORGS_ESTORE, "store directory %s does not exist", dir);
    }
    apr_status_t rv = st_fs_ident_enter(&sb, &ident, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    int r = to ? rename(path, apr_pstrcat(p, dir, "/", to, NULL)) : unlink(path);
    int e = errno;
    rv = st_fs_ident_leave(&ident, err);
    if (r != 0) {
        return orgs_err_set(err, ORGS_ESTORE, "cannot %s %s: %s", to ? "rename" : "remove", path,
                            strerror(e));
    }
    return rv;
}

/* Whether a process holds the record open as fd: 1 held, 0 not (the lock
 * left as it was), -1 when it cannot be told (errno set). Three tries:
 * an orgctl may be testing it at this very moment. */
static int limit_held(int fd)
{
    int held = 0;
    for (int i = 0; i < 3; i++) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            flock(fd, LOCK_UN);
            return 0;
        }
        if (errno != EWOULDBLOCK && errno != EINTR) {
            return -1;
        }
        held = 1;
        usleep(5000);
    }
    return held;
}

/* Calls fn for each set-aside record of dir (best effort: a directory
 * that cannot be read has none to offer). */
static void aside_each(const char *dir, void (*fn)(const char *dir, const char *name, void *baton),
                       void *baton)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    if (d == NULL) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, ASIDE_PREFIX, sizeof(ASIDE_PREFIX) - 1) == 0) {
            fn(dir, de->d_name, baton);
        }
    }
    closedir(d);
}

/* Removes a set-aside record nobody holds: its children are gone, and
 * nothing takes the lock of a set-aside record again. Held exclusively
 * while it is removed, so an orgctl testing it at that instant keeps it. */
static void aside_sweep(const char *dir, const char *name, void *baton)
{
    apr_pool_t *p = baton;
    orgs_err_t ignored;
    int fd;
    if (limit_open(dir, name, 0, &fd, p, &ignored) != APR_SUCCESS) {
        return;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        limit_move(dir, name, NULL, p, &ignored);
    }
    close(fd);
}

/* The record of the previous generation when its children still hold it:
 * renamed aside (their lock goes with it), so that a new one can be
 * written. fd is the record, opened; closed here in any case. */
static apr_status_t limit_set_aside(const char *dir, int fd, apr_pool_t *p, orgs_err_t *err)
{
    struct stat sb;
    int held = limit_held(fd), e = errno;
    apr_status_t rv = APR_SUCCESS;
    if (held < 0) {
        rv = orgs_err_set(err, ORGS_ESTORE, "cannot test the lock of %s/" LIMIT_FILE ": %s", dir,
                          strerror(e));
    } else if (held && fstat(fd, &sb) != 0) {
        rv = orgs_err_set(err, ORGS_ESTORE, "cannot stat %s/" LIMIT_FILE ": %s", dir,
                          strerror(errno));
    } else if (held) {
        rv = limit_move(dir, LIMIT_FILE,
                        apr_psprintf(p, ASIDE_PREFIX "%" APR_UINT64_T_FMT, (apr_uint64_t)sb.st_ino),
                        p, err);
    }
    close(fd);
    return rv;
}

apr_status_t orgs_store_maplimit_hold(const char *dir, apr_uint64_t max, apr_pool_t *p,
                                      orgs_err_t *err)
{
    char buf[LIMIT_LEN + 1];
    int fd, tries = 0;
    apr_status_t rv = limit_open(dir, LIMIT_FILE, 0, &fd, p, err);
    if (rv == APR_SUCCESS) {
        rv = limit_set_aside(dir, fd, p, err);
    } else if (rv == APR_NOTFOUND) {
        rv = APR_SUCCESS;
    }
    if (rv == APR_SUCCESS) {
        rv = limit_open(dir, LIMIT_FILE, 1, &fd, p, err);
    }
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
    aside_each(dir, aside_sweep, p);
    return APR_SUCCESS;
}

typedef struct {
    apr_uint64_t max; /* the smallest size held so far, 0 = none */
    long pid;
    int older;
    apr_pool_t *p;
    orgs_err_t *err;
    apr_status_t rv;
} limit_read_t;

/* Takes the record name of dir into r when a process holds it and its size
 * is the smallest yet. */
static void limit_read(const char *dir, const char *name, void *baton)
{
    limit_read_t *r = baton;
    char buf[LIMIT_LEN + 1];
    int fd;
    if (r->rv != APR_SUCCESS) {
        return;
    }
    apr_status_t rv = limit_open(dir, name, 0, &fd, r->p, r->err);
    if (rv != APR_SUCCESS) {
        /* a set-aside record removed meanwhile: nobody held it */
        r->rv = rv == APR_NOTFOUND ? APR_SUCCESS : rv;
        return;
    }
    int held = limit_held(fd), e = errno;
    ssize_t n = held > 0 ? pread(fd, buf, LIMIT_LEN, 0) : 0;
    close(fd);
    if (held < 0) {
        r->rv = orgs_err_set(r->err, ORGS_ESTORE, "cannot test the lock of %s/%s: %s", dir, name,
                             strerror(e));
        return;
    }
    if (!held) {
        return;
    }
    uint64_t size;
    unsigned long id;
    buf[n > 0 ? n : 0] = '\0';
    if (n != LIMIT_LEN || sscanf(buf, "%" SCNu64 " %lu", &size, &id) != 2) {
        r->rv = orgs_err_set(r->err, ORGS_ESTORE, "%s/%s is held but unreadable", dir, name);
        return;
    }
    if (r->max == 0 || size < r->max) {
        r->max = size;
        r->pid = (long)id;
        r->older = strcmp(name, LIMIT_FILE) != 0;
    }
}

apr_status_t orgs_store_maplimit_get(const char *dir, apr_uint64_t *max, long *pid, int *older,
                                     apr_pool_t *p, orgs_err_t *err)
{
    limit_read_t r = {0, 0, 0, p, err, APR_SUCCESS};
    /* the newest record first, then those set aside: a restart renaming
     * the newest meanwhile is then found among the latter */
    limit_read(dir, LIMIT_FILE, &r);
    aside_each(dir, limit_read, &r);
    *max = r.rv == APR_SUCCESS ? r.max : 0;
    *pid = r.rv == APR_SUCCESS ? r.pid : 0;
    *older = r.rv == APR_SUCCESS ? r.older : 0;
    return r.rv;
}
