/* What the files of the JOSE unit share (jose_jwk.c parses key sets,
 * jose_jws.c verifies signatures with them): the algorithm allow-list and
 * the parsed key set. Private to src/core/jose_*.c; the API is jose.h.
 * OpenSSL's key type is named by its struct so that no header includes
 * OpenSSL. */
#ifndef ORGS_JOSE_INT_H
#define ORGS_JOSE_INT_H

#include "jose.h"

enum { KTY_RSA = 1, KTY_EC = 2 };

/* One algorithm of the allow-list (jose_jws.c). */
typedef struct alg_info {
    const char *name;
    const char *md;
    int kty;
    int pss;
    const char *crv;    /* EC only: JWK curve name */
    apr_size_t ec_size; /* EC only: bytes per coordinate / per r and s */
} alg_info;

/* The entry of the allow-list named name, or NULL (not allowed). */
const alg_info *orgs_jose_alg_lookup(const char *name);

/* Optional string member: absent -> NULL, present but not a string -> -1. */
int orgs_jose_opt_str(const json_t *obj, const char *name, const char **out);

typedef struct jwk_t {
    const char *kid; /* NULL when the JWK has none */
    const char *alg; /* NULL when the JWK has none */
    const char *crv; /* EC only */
    int kty;
    struct evp_pkey_st *pkey; /* EVP_PKEY */
} jwk_t;

struct orgs_jwks_t {
    jwk_t *keys;
    apr_size_t nkeys;
};

#endif
