/* JOSE for OpenID Connect ID tokens: JWK sets -> EVP_PKEY, compact JWS
 * verification with a fixed algorithm allow-list, and the JWT claim checks
 * of OpenID Connect Core 3.1.3.7. OpenSSL 3 and jansson only.
 *
 * Verification is two steps so the caller can refresh the JWKS once on
 * ORGS_ENOKID between them:
 *
 *     rv = orgs_jose_jws_verify(token, jwks, &claims, p, &err);
 *     if (rv == ORGS_ENOKID) { refetch jwks; rv = orgs_jose_jws_verify(...); }
 *     if (rv == APR_SUCCESS) rv = orgs_jose_claims_check(claims, &expect, now, &err);
 *
 * Allowed algorithms: RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384.
 * "none" and every HS* are always refused (an RSA public key is never used
 * as an HMAC secret); the key's kty (and curve) must match the algorithm,
 * and the key's own "alg", when present, must equal the token's. */
#ifndef ORGS_JOSE_H
#define ORGS_JOSE_H

#include <jansson.h>

#include "orgs.h"

/* Input caps: larger inputs are refused with APR_EINVAL before parsing. */
#define ORGS_JOSE_TOKEN_MAX (16 * 1024) /* compact JWS, bytes */
#define ORGS_JOSE_JWKS_MAX (256 * 1024) /* JWKS document, bytes */
#define ORGS_JOSE_JWKS_KEYS_MAX 64      /* usable keys kept from one set */
#define ORGS_JOSE_RSA_MIN_BITS 2048     /* smaller RSA keys are skipped */

/* Clock skew allowed by default on exp / iat / nbf. */
#define ORGS_JOSE_DEFAULT_SKEW apr_time_from_sec(60)

/* A parsed JWK set. Opaque; owned by the pool it was parsed in (its keys
 * are freed by a cleanup of that pool). Read-only after parsing, so one set
 * can be shared by threads. */
typedef struct orgs_jwks_t orgs_jwks_t;

/* Parses a JWKS document ({"keys":[...]}) of len bytes (need not be
 * NUL-terminated). Keeps RSA keys (n, e; >= ORGS_JOSE_RSA_MIN_BITS) and EC
 * keys on P-256 / P-384 (crv, x, y; point checked on the curve). Skips,
 * without failing, keys with "use" other than "sig", "key_ops" without
 * "verify", an unknown kty (oct, OKP, ...), an unknown curve or malformed
 * members; keys beyond ORGS_JOSE_JWKS_KEYS_MAX are ignored.
 * Returns APR_SUCCESS, or APR_EINVAL (not JSON, no "keys" array, too
 * large, or no usable signing key at all; reason in err), or ORGS_ECRYPTO
 * when OpenSSL fails for a reason other than bad key material. */
apr_status_t orgs_jose_jwks_parse(orgs_jwks_t **jwks, const char *json, apr_size_t len,
                                  apr_pool_t *p, orgs_err_t *err);

/* The parsed set of a JWKS document, parsed (and its keys checked) only
 * the first time this process sees the document: later calls with the
 * same bytes get the same set, shared, from a per-process memo keyed by
 * the document's SHA-256 (memo.h). *jwks stays valid as long as p. Same
 * returns as orgs_jose_jwks_parse; a failed parse is not remembered. */
apr_status_t orgs_jose_jwks_get(const orgs_jwks_t **jwks, const char *json, apr_size_t len,
                                apr_pool_t *p, orgs_err_t *err);

/* How many JWKS documents this process has parsed through
 * orgs_jose_jwks_get: a login with a cached JWKS must not move it. */
apr_uint64_t orgs_jose_jwks_parsed(void);

/* Forgets the memo's sets that no pool holds (tests). */
void orgs_jose_jwks_forget(void);

/* Number of usable keys kept by orgs_jose_jwks_parse. */
apr_size_t orgs_jose_jwks_count(const orgs_jwks_t *jwks);

/* Verifies a compact JWS (header.payload.signature, exactly three
 * non-empty-header parts of strict unpadded base64url) against jwks and,
 * on success, sets *claims to the payload JSON object. The object belongs
 * to pool p (released by a cleanup): the caller must not json_decref it,
 * and must json_incref it to keep it beyond p.
 * Key selection: the key whose kid equals the header's kid and whose type
 * fits the alg; without a kid in the header, the only key of the set that
 * fits the alg (none or several: ORGS_ENOKID).
 * Returns:
 *   APR_SUCCESS
 *   APR_EINVAL    malformed: size cap, not three parts, bad base64url,
 *                 header or payload not a JSON object, duplicate members,
 *                 "crit" header present, "kid" not a string
 *   ORGS_EBADALG  alg missing, not a string, "none", HS*, or not allowed
 *   ORGS_ENOKID   no key with the token's kid (refresh the JWKS once)
 *   ORGS_EBADSIG  signature missing or invalid (an ES signature must be
 *                 raw r||s of the curve's size), or the kid names a key of
 *                 another type / curve / "alg" than the token's alg
 *   ORGS_ECRYPTO  OpenSSL failure unrelated to the input
 * err->msg never contains the token. Claims are NOT checked here. */
apr_status_t orgs_jose_jws_verify(const char *token, const orgs_jwks_t *jwks, json_t **claims,
                                  apr_pool_t *p, orgs_err_t *err);

/* What orgs_jose_claims_check expects of an ID token. */
typedef struct orgs_jose_expect_t {
    const char *issuer;       /* "iss" must equal it exactly */
    const char *client_id;    /* must be in "aud"; equals "azp" when present */
    const char *nonce;        /* "nonce" must equal it (constant time) */
    apr_interval_time_t skew; /* allowed clock skew, e.g. ORGS_JOSE_DEFAULT_SKEW */
} orgs_jose_expect_t;

/* Checks the claims of a verified ID token at time now (apr_time_t):
 *   iss   string, equal to expect->issuer
 *   aud   string or non-empty array of strings containing client_id
 *   azp   required when aud has several values; when present, == client_id
 *   exp   number, exp > now - skew
 *   iat   number, iat <= now + skew
 *   nbf   when present, number, nbf <= now + skew
 *   nonce string, equal to expect->nonce
 *   sub   non-empty string of at most ORGS_SUB_MAX bytes
 * A NULL expectation fails closed. Returns APR_SUCCESS or ORGS_ECLAIM with
 * err->msg naming the failed check first ("exp: token expired",
 * "aud: client_id not in audience", ...); no claim value is quoted. */
apr_status_t orgs_jose_claims_check(const json_t *claims, const orgs_jose_expect_t *expect,
                                    apr_time_t now, orgs_err_t *err);

/* The string value of a top-level claim, or NULL when absent or not a
 * string. Points into claims (lives as long as claims' pool). */
const char *orgs_jose_claim_str(const json_t *claims, const char *name);

/* Every top-level claim with a string, number or boolean value, as a
 * table name -> text allocated in p: strings as they are, integers in
 * decimal, reals with %.17g, booleans "true" / "false". Objects, arrays
 * and null are left out, as are strings containing a NUL byte. For
 * ORG_CLAIM_* export; the caller sanitizes names for its own use. */
apr_table_t *orgs_jose_claims_table(const json_t *claims, apr_pool_t *p);

#endif
