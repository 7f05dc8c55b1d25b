/* The engine's OS glue: the files LMDB may open and the filesystem
 * identity the store is opened with. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/fsuid.h>
#endif

#include "store_int.h"

/* data.mdb and lock.mdb, where they exist, must be plain files reachable
 * only through this directory: refuses a symbolic link (LMDB would follow
 * it), a hard link, a directory, a FIFO... *exists tells whether it is there. */
apr_status_t st_check_file(const char *dir, const char *name, int *exists, apr_pool_t *p,
                           orgs_err_t *err)
{
    struct stat sb;
    const char *path = apr_pstrcat(p, dir, "/", name, NULL);
    *exists = 0;
    if (lstat(path, &sb) != 0) {
        return errno == ENOENT
                   ? APR_SUCCESS
                   : orgs_err_set(err, ORGS_ESTORE, "cannot inspect %s: %s", path, strerror(errno));
    }
    if (S_ISLNK(sb.st_mode)) {
        return orgs_err_set(err, ORGS_ESTORE, "%s is a symbolic link: refusing to open the store",
                            path);
    }
    if (!S_ISREG(sb.st_mode) || sb.st_nlink != 1) {
        return orgs_err_set(err, ORGS_ESTORE,
                            "%s is not a regular file with one link: refusing to open the store",
                            path);
    }
    *exists = 1;
    return APR_SUCCESS;
}

#ifdef __linux__

static int fs_ident_is(uid_t uid, gid_t gid)
{
    /* an invalid id changes nothing and returns the current one */
    return (uid_t)setfsuid((uid_t)-1) == uid && (gid_t)setfsgid((gid_t)-1) == gid;
}

#endif

apr_status_t st_fs_ident_leave(fs_ident_t *saved, orgs_err_t *err)
{
    if (!saved->active) {
        return APR_SUCCESS;
    }
    saved->active = 0;
#ifdef __linux__
    setfsuid(saved->uid); /* fsuid 0 again also restores the filesystem capabilities */
    setfsgid(saved->gid);
    int ok = fs_ident_is(saved->uid, saved->gid);
#else
    int ok = seteuid(saved->uid) == 0 && setegid(saved->gid) == 0;
#endif
    return ok ? APR_SUCCESS
              : orgs_err_set(err, ORGS_ESTORE, "cannot restore the filesystem identity %lu:%lu",
                             (unsigned long)saved->uid, (unsigned long)saved->gid);
}

apr_status_t st_fs_ident_enter(const struct stat *dir_sb, fs_ident_t *saved, orgs_err_t *err)
{
    saved->active = 0;
    if (geteuid() != 0 || dir_sb->st_uid == 0) {
        return APR_SUCCESS;
    }
    saved->active = 1;
#ifdef __linux__
    saved->gid = (gid_t)setfsgid(dir_sb->st_gid);
    saved->uid = (uid_t)setfsuid(dir_sb->st_uid);
    int ok = fs_ident_is(dir_sb->st_uid, dir_sb->st_gid);
#else
    saved->uid = geteuid();
    saved->gid = getegid();
    int ok = setegid(dir_sb->st_gid) == 0 && seteuid(dir_sb->st_uid) == 0;
#endif
    if (!ok) {
        st_fs_ident_leave(saved, err);
        return orgs_err_set(err, ORGS_ESTORE,
                            "cannot take the store directory owner's identity %lu:%lu",
                            (unsigned long)dir_sb->st_uid, (unsigned long)dir_sb->st_gid);
    }
    return APR_SUCCESS;
}

/* LMDB's meta page (lmdb's mdb.c, MDB_meta after the 16-byte page
 * header), as far as needed here; both meta pages are read. */
#define META_OFF 16
#define META_MAGIC 0xBEEFC0DEu
#define META_DB_SIZE 48 /* MDB_db: pad (page size for the free db), flags, depth, 5 counts */

typedef struct {
    apr_uint32_t magic, version, psize;
    apr_uint64_t map_size, last_pg, txnid;
} meta_t;

static int meta_read(const unsigned char *b, meta_t *m)
{
    const unsigned char *q = b + META_OFF;
    memcpy(&m->magic, q, 4);
    memcpy(&m->version, q + 4, 4);
    memcpy(&m->map_size, q + 16, 8);
    memcpy(&m->psize, q + 24, 4); /* the free db's md_pad */
    memcpy(&m->last_pg, q + 24 + 2 * META_DB_SIZE, 8);
    memcpy(&m->txnid, q + 32 + 2 * META_DB_SIZE, 8);
    return m->magic == META_MAGIC && m->version == 1 && m->psize >= 512 && m->psize <= 65536 &&
           (m->psize & (m->psize - 1)) == 0;
}

static apr_status_t header_read(const char *dir, meta_t *out, apr_off_t *size, apr_pool_t *p,
                                orgs_err_t *err)
{
    const char *path = apr_pstrcat(p, dir, "/data.mdb", NULL);
    unsigned char b[META_OFF + 40 + 2 * META_DB_SIZE];
    meta_t m0, m1;
    struct stat sb;
    int fd = open(path, O_RDONLY | O_NOFOLLOW);
    if (fd < 0) {
        return errno == ENOENT
                   ? APR_NOTFOUND
                   : orgs_err_set(err, ORGS_ESTORE, "cannot read %s: %s", path, strerror(errno));
    }
    int ok = fstat(fd, &sb) == 0;
    *size = ok ? sb.st_size : 0;
    if (ok && sb.st_size == 0) {
        close(fd);
        return APR_NOTFOUND;
    }
    ok = ok && pread(fd, b, sizeof(b), 0) == (ssize_t)sizeof(b) && meta_read(b, &m0);
    ok = ok && pread(fd, b, sizeof(b), (off_t)m0.psize) == (ssize_t)sizeof(b) && meta_read(b, &m1);
    /* the size after the header: a meta page is written after the pages it
     * counts and the file only grows, so a writer committing meanwhile is
     * not taken for a truncated file */
    ok = ok && fstat(fd, &sb) == 0;
    *size = ok ? sb.st_size : 0;
    close(fd);
    if (!ok) {
        return orgs_err_set(err, ORGS_ESTORE,
                            "%s is damaged or not an LMDB file (its header is unreadable): restore "
                            "it from a backup",
                            path);
    }
    *out = m1.txnid > m0.txnid ? m1 : m0; /* LMDB uses the newer meta page */
    return APR_SUCCESS;
}

apr_status_t st_check_header(const char *dir, apr_pool_t *p, orgs_err_t *err)
{
    meta_t m;
    apr_off_t size;
    apr_status_t rv = header_read(dir, &m, &size, p, err);
    if (rv == APR_NOTFOUND) {
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_uint64_t need = (m.last_pg + 1) * (apr_uint64_t)m.psize;
    if ((apr_uint64_t)size < need) {
        return orgs_err_set(err, ORGS_ESTORE,
                            "%s/data.mdb is truncated (%" APR_UINT64_T_FMT
                            " bytes, its header counts %" APR_UINT64_T_FMT
                            "): restore it from a backup",
                            dir, (apr_uint64_t)size, need);
    }
    return APR_SUCCESS;
}

apr_status_t orgs_store_file_info(const char *dir, apr_uint64_t *map_size, apr_uint64_t *used,
                                  apr_pool_t *p, orgs_err_t *err)
{
    meta_t m;
    apr_off_t size;
    apr_status_t rv = header_read(dir, &m, &size, p, err);
    if (rv == APR_SUCCESS) {
        *map_size = m.map_size;
        *used = (m.last_pg + 1) * (apr_uint64_t)m.psize;
    }
    return rv;
}

/* Opens path as uid:gid would (read-write, or creates and removes a probe
 * file when it is the directory): 0 or the errno. */
static int try_as(const char *path, int is_dir, uid_t uid, gid_t gid, apr_pool_t *p)
{
    struct stat sb = {0};
    fs_ident_t saved;
    int e = 0;
    sb.st_uid = uid;
    sb.st_gid = gid;
    if (st_fs_ident_enter(&sb, &saved, NULL) != APR_SUCCESS) {
        return EPERM;
    }
    const char *probe = is_dir ? apr_psprintf(p, "%s/.orgs-probe.%ld", path, (long)getpid()) : path;
    int fd =
        open(probe, is_dir ? O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW : O_RDWR | O_NOFOLLOW, 0600);
    if (fd < 0) {
        e = errno;
    } else {
        close(fd);
        if (is_dir) {
            unlink(probe);
        }
    }
    if (st_fs_ident_leave(&saved, NULL) != APR_SUCCESS) {
        return EPERM;
    }
    return e;
}

apr_status_t orgs_store_check_access(const char *dir, uid_t uid, gid_t gid, apr_pool_t *p,
                                     orgs_err_t *err)
{
    struct stat sb;
    if (geteuid() != 0 || uid == 0 || stat(dir, &sb) != 0 || sb.st_uid == uid) {
        return APR_SUCCESS; /* nothing to switch to, or the open reports it */
    }
    const char *names[] = {NULL, "data.mdb", "lock.mdb"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *path = names[i] ? apr_pstrcat(p, dir, "/", names[i], NULL) : dir;
        int e;
        if (names[i] && access(path, F_OK) != 0) {
            continue;
        }
        if ((e = try_as(path, !names[i], uid, gid, p)) != 0) {
            return orgs_err_set(err, ORGS_ESTORE,
                                "%s is not writable by user %lu group %lu, whom httpd's children "
                                "run as (%s): give it to that user (chown)",
                                path, (unsigned long)uid, (unsigned long)gid, strerror(e));
        }
    }
    return APR_SUCCESS;
}
