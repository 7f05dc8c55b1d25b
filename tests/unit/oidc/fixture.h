/* The OpenID Connect tests' fixture (fixture.c), shared by every
 * tests/unit/oidc binary: per test a pool, a loopback server (srv) playing
 * the IdP and a fresh store; two RSA keys made once per binary; helpers
 * that serve, sign and fetch the usual documents and fail the test on any
 * error. */
#ifndef ORGS_TEST_OIDC_FIXTURE_H
#define ORGS_TEST_OIDC_FIXTURE_H

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <apr_time.h>

#include "../testutil.h"
#include "../testserver.h"
#include "crypto.h"
#include "jose.h"
#include "memo.h"
#include "oidc.h"
#include "backchan.h"
#include "store.h"

extern apr_pool_t *pool;
extern testserver_t srv;
extern char *dir;
extern orgs_store_t *st;
extern char req[TS_REQ_MAX + 1];
extern EVP_PKEY *key1, *key2; /* made once in main, shared by the forked tests */

#define T0 apr_time_from_sec(1700000000)
#define WK ORGS_OIDC_WELL_KNOWN

/* The issuer: the loopback server's base URL. */
const char *iss(void);
/* A discovery document announcing issuer, with srv's endpoints. */
const char *disc_doc(const char *issuer);
/* The public JWK of RSA key k, and the set of key1 as "k1". */
const char *jwk(EVP_PKEY *k, const char *kid);
const char *jwks1(void);
/* RS256 compact JWS of payload with key k and kid. */
const char *sign(EVP_PKEY *k, const char *kid, const char *payload);
/* An ID token of iss() for aud with nonce, issued at T0. */
const char *id_token(EVP_PKEY *k, const char *kid, const char *aud, const char *nonce);
/* Serves the discovery document and jwks1(). */
void serve_ok(void);
/* serve_ok, then the provider loaded at T0. */
orgs_oidc_provider_t *provider(void);
/* Wipes the memory of a previous failure for issuer (NULL: none). */
void forget_failure(const char *issuer);
/* orgs_oidc_provider_get at T0 after forget_failure; no provider on failure. */
apr_status_t get(const char *issuer, const orgs_http_opts_t *o, orgs_err_t *err);

/* Runs the suite name with the tests add_tests adds to one test case,
 * each with the fixture; the exit status. */
int fixture_run(const char *name, void (*add_tests)(TCase *tc));

#endif
