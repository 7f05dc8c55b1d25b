/* Unit tests for src/core/store/fsid.c: opening as root: the store directory owner's filesystem
 * identity. Root only: the binary reports SKIP (exit 77) otherwise. */
#include "fixture.h"

/* As root only: on a directory owned by another user the files are
 * created as that user and opened with that user's rights; root's own
 * filesystem identity is back afterwards. */
START_TEST(open_as_root_uses_dir_owner)
{
    const uid_t uid = 65534;
    const gid_t gid = 65534;
    struct stat sb;
    orgs_store_t *st;
    char *lock = apr_pstrcat(pool, dir, "/lock.mdb", NULL);
    ck_assert_int_eq(chown(dir, uid, gid), 0);
    st = open_store();
    mk_org(st, "org1", NULL);
    orgs_store_close(st);
    ck_assert_int_eq(stat(apr_pstrcat(pool, dir, "/data.mdb", NULL), &sb), 0);
    ck_assert_uint_eq(sb.st_uid, uid);
    ck_assert_uint_eq(sb.st_gid, gid);
    ck_assert_int_eq(stat(lock, &sb), 0);
    ck_assert_uint_eq(sb.st_uid, uid);
#ifdef __linux__
    ck_assert_uint_eq((uid_t)setfsuid((uid_t)-1), 0);
    ck_assert_uint_eq((gid_t)setfsgid((gid_t)-1), getegid());
#endif
    /* a root-only file there is opened with the owner's rights: refused */
    ck_assert_int_eq(chown(lock, 0, 0), 0);
    ck_assert_int_eq(chmod(lock, 0600), 0);
    ck_assert_int_eq(orgs_store_open(&st, dir, 0, 0, ORGS_STORE_CREATE, keys, pool, &err),
                     ORGS_ESTORE);
    ck_assert_msg(strstr(err.msg, "ermission denied"), "%s", err.msg);
    ck_assert_int_eq(stat(lock, &sb), 0);
    ck_assert_uint_eq(sb.st_uid, 0); /* and not given away either */
#ifdef __linux__
    ck_assert_uint_eq((uid_t)setfsuid((uid_t)-1), 0);
#endif
    ck_assert_int_eq(chown(lock, uid, gid), 0);
    st = open_store();
    mk_org(st, "org2", NULL);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, open_as_root_uses_dir_owner);
}

int main(void)
{
    if (geteuid() != 0) {
        return 77; /* automake's SKIP: these checks need root */
    }
    return fixture_run("store_root", add_tests);
}
