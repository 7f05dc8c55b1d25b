/* The engine's OS glue: the files LMDB may open and the filesystem
 * identity the store is opened with. */
#include <errno.h>
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
