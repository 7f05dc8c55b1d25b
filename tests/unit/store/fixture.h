/* The store tests' fixture (fixture.c), shared by every tests/unit/store
 * binary: each test gets a pool, a fresh temporary directory (dir) and the
 * crypto keys; the helpers make the usual objects and fail the test on
 * any error. */
#ifndef ORGS_TEST_STORE_FIXTURE_H
#define ORGS_TEST_STORE_FIXTURE_H

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/fsuid.h>
#endif

#include <lmdb.h>

#include "../testutil.h"
#include "store.h"

extern apr_pool_t *pool;         /* per test */
extern char *dir;                /* a fresh temporary directory, removed after the test */
extern orgs_crypto_keys_t *keys; /* derived from a fixed key */
extern orgs_err_t err;

void fixture_setup(void);
void fixture_teardown(void);
/* Runs the tests add_tests adds, each with the fixture; the exit status. */
int fixture_run(const char *name, void (*add_tests)(TCase *tc));

/* A store created in d (open_store: in dir with keys). */
orgs_store_t *open_in(const char *d, const orgs_crypto_keys_t *k);
orgs_store_t *open_store(void);
/* An array of n strings (const char *), or one metadata pair, in pool. */
apr_array_header_t *strs(int n, ...);
apr_array_header_t *meta1(const char *k, const char *v);
/* New objects; their ids. */
const char *mk_org(orgs_store_t *st, const char *name, apr_array_header_t *domains);
const char *mk_conn(orgs_store_t *st, const char *name, const char *secret);
const char *mk_user(orgs_store_t *st, const char *conn, const char *sub, const char *email);
/* Fails the test when orgs_store_check reports a problem (and prints them). */
void assert_clean(orgs_store_t *st);
/* One prepared export (orgs_export_t), in pool. */
const apr_array_header_t *one_export(const char *env, const char *header, const char *value);
/* The session key of sid, and a session of one hour for it (exporting
 * ORG_EMAIL=a@x.com). */
void hash_of(const char *sid, unsigned char h[32]);
void put_session(orgs_store_t *st, const char *sid, const char *org, const char *user,
                 const char *conn, apr_time_t now);

#endif
