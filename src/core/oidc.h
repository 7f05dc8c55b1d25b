/* OpenID Connect relying party, core part: provider discovery and JWKS
 * (fetched through http.c, cached in the store so every httpd child shares
 * them), the authorization URL (code flow with PKCE S256), the code
 * exchange, and ID token verification on top of jose.h with one JWKS
 * refresh for an unknown kid.
 *
 * Every call to the IdP follows backchan.h's policy: single flight per
 * issuer, backoff after failures, stale-while-revalidate, the per-connection
 * cap of opts->max_concurrent; the token endpoint and jwks_uri must be on the
 * issuer's origin or in opts->allow_hosts. Every call (discovery, JWKS,
 * token) is made with the caller's SSRF guard (http.h: opts->refuse_internal
 * and the operator's opts->allow_internal); the issuer's own address never
 * widens it.
 *
 * Cache entries (orgs_store_cache_put/get, keyed by the configured issuer):
 *   "disc:<issuer>"     the discovery document as fetched
 *   "jwks:<issuer>"     {"uri": jwks_uri, "jwks": <JWK set>}
 *   "jwkstry:<issuer>"  time of the last JWKS refresh for an unknown kid
 *   "bclease:..." "bcfail:<issuer>"  backchan.c's lease and failure record
 * The store may be NULL: then nothing is cached. */
#ifndef ORGS_OIDC_H
#define ORGS_OIDC_H

#include <jansson.h>

#include "orgs.h"
#include "http.h"
#include "store.h"

#define ORGS_OIDC_WELL_KNOWN "/.well-known/openid-configuration"
/* How long discovery documents and JWK sets are reused. */
#define ORGS_OIDC_CACHE_TTL apr_time_from_sec(3600)
/* Minimum time between two JWKS refreshes for one issuer caused by an
 * unknown kid (the first one after a key switch is immediate). */
#define ORGS_OIDC_JWKS_MIN_INTERVAL apr_time_from_sec(5)
/* How long past ORGS_OIDC_CACHE_TTL a cached document is still served
 * while a refresh fails or runs in another request (stale-while-revalidate). */
#define ORGS_OIDC_STALE_MAX apr_time_from_sec(24 * 3600)
/* Requests per issuer and child that wait for another process's fetch when
 * opts->max_concurrent is 0. */
#define ORGS_OIDC_WAITERS_DEFAULT 8
/* The scopes asked for when a connection names none: the one default. */
#define ORGS_OIDC_DEFAULT_SCOPES "openid email profile"

typedef struct orgs_oidc_provider_t {
    const char *config_issuer;          /* as configured (the cache key) */
    const char *issuer;                 /* from the document; "iss" must equal it */
    const char *authorization_endpoint; /* http(s); https when the issuer is https */
    const char *token_endpoint;
    const char *jwks_uri;
    const char *end_session_endpoint; /* NULL when absent (or not a usable URL) */
    const char *userinfo_endpoint;    /* NULL when absent (or not a usable URL) */
    const char *jwks_json;            /* the JWK set, {"keys":[...]} */
    int iss_param_supported;          /* RFC 9207: the callback must then carry "iss" */
    apr_time_t discovery_fetched;
    apr_time_t jwks_fetched;
} orgs_oidc_provider_t;

/* Loads the provider for issuer: from the store cache when younger than
 * ORGS_OIDC_CACHE_TTL, otherwise GET <issuer without trailing '/'>
 * ORGS_OIDC_WELL_KNOWN and its jwks_uri, and caches both. A copy older than
 * the TTL (up to ORGS_OIDC_STALE_MAX more) is served while another request
 * refreshes it, while the issuer backs off, or when the refresh fails.
 * issuer may also be given as the full discovery URL (ending in
 * ORGS_OIDC_WELL_KNOWN); then the document's issuer must equal the part
 * before it, with or without one trailing '/'. Otherwise the document's
 * "issuer" must equal issuer exactly.
 * Returns APR_SUCCESS (*out in p), APR_EINVAL (issuer not an http(s) URL),
 * ORGS_EHTTP (unreachable, non-200 answer, redirect, not JSON, issuer
 * mismatch, a required endpoint missing or not http(s), JWKS without a
 * "keys" array), APR_EBUSY (no usable copy, and another request or process
 * is fetching it), APR_EAGAIN (no usable copy, and the issuer backs off
 * after failures or the cap of opts->max_concurrent is reached), APR_EACCES (token_endpoint or
 * jwks_uri off the issuer's origin and not in opts->allow_hosts, or the issuer or an
 * endpoint resolving to an internal address opts->allow_internal does not list). */
apr_status_t orgs_oidc_provider_get(orgs_store_t *st, const char *issuer, apr_time_t now,
                                    const orgs_http_opts_t *opts, orgs_oidc_provider_t **out,
                                    apr_pool_t *p, orgs_err_t *err);

/* Refreshes prov's JWK set after an unknown kid. When another process has
 * cached a newer set than prov's, that one is taken without a fetch.
 * Otherwise fetches jwks_uri unless the last refresh for an unknown kid for
 * this issuer is younger than min_interval (0 = ORGS_OIDC_JWKS_MIN_INTERVAL),
 * another request is refreshing it (APR_EBUSY), or the issuer backs off:
 * then APR_EAGAIN / APR_EBUSY and prov unchanged (or the other request's
 * new set taken). On success prov->jwks_json and
 * prov->jwks_fetched are updated (allocated in p) and the cache rewritten.
 * ORGS_EHTTP when the fetch fails. */
apr_status_t orgs_oidc_jwks_refresh(orgs_store_t *st, orgs_oidc_provider_t *prov, apr_time_t now,
                                    apr_interval_time_t min_interval, const orgs_http_opts_t *opts,
                                    apr_pool_t *p, orgs_err_t *err);

/* 1 when the space-separated scope list has the word "openid" (NULL: 0):
 * the one rule for whether a scope list needs "openid" added. */
int orgs_oidc_scopes_have_openid(const char *scopes);

/* The authorization request URL: authorization_endpoint (keeping any query
 * it already has) + response_type=code, client_id, redirect_uri, scope
 * ("openid" added when missing; NULL = ORGS_OIDC_DEFAULT_SCOPES), state,
 * nonce, code_challenge, code_challenge_method=S256 and, when not NULL or
 * empty, login_hint; every value percent-encoded (orgs_url_append_params). code_challenge is
 * base64url(SHA-256(code_verifier)) (orgs_crypto_sha256_b64url). */
char *orgs_oidc_auth_url(const orgs_oidc_provider_t *prov, const char *client_id,
                         const char *redirect_uri, const char *scopes, const char *state,
                         const char *nonce, const char *code_challenge, const char *login_hint,
                         apr_pool_t *p);

/* Exchanges an authorization code at the token endpoint (POST
 * grant_type=authorization_code, code, redirect_uri, code_verifier; client
 * authentication by auth_method "client_secret_basic" (NULL = this) or
 * "client_secret_post"). Requires a JSON object answer with token_type
 * "Bearer" (any case) and a non-empty id_token. *id_token is set;
 * *access_token too when access_token is not NULL (NULL if none).
 * Returns APR_SUCCESS, APR_EINVAL (unknown auth_method, missing argument),
 * APR_EAGAIN (opts->max_concurrent calls in flight), APR_EACCES (the
 * endpoint resolves to an internal address opts->allow_internal does not list),
 * ORGS_EHTTP (transport failure; an OAuth "error" answer, whose error code,
 * and only that, is quoted in err; non-200; not JSON; bad token_type; no
 * id_token). err never contains the secret, the code or a token. */
apr_status_t orgs_oidc_token_exchange(const orgs_oidc_provider_t *prov, const char *client_id,
                                      const char *client_secret, const char *auth_method,
                                      const char *code, const char *code_verifier,
                                      const char *redirect_uri, const orgs_http_opts_t *opts,
                                      const char **id_token, const char **access_token,
                                      apr_pool_t *p, orgs_err_t *err);

/* Verifies an ID token with prov's JWKS (orgs_jose_jws_verify) and checks
 * its claims (orgs_jose_claims_check: iss == prov->issuer, aud/azp ==
 * client_id, nonce, exp/iat/nbf with skew, 0 = ORGS_JOSE_DEFAULT_SKEW).
 * On ORGS_ENOKID (or a JWKS without a usable key) the JWKS is refreshed
 * once (orgs_oidc_jwks_refresh, throttled) and verification retried; when
 * the refresh is throttled the result stays ORGS_ENOKID.
 * *claims belongs to p (do not json_decref). Returns the jose codes
 * (APR_EINVAL, ORGS_EBADALG, ORGS_ENOKID, ORGS_EBADSIG, ORGS_ECLAIM,
 * ORGS_ECRYPTO) or ORGS_EHTTP / store errors from the refresh. */
apr_status_t orgs_oidc_id_token_verify(orgs_store_t *st, orgs_oidc_provider_t *prov,
                                       const char *client_id, const char *id_token,
                                       const char *nonce, apr_time_t now, apr_interval_time_t skew,
                                       const orgs_http_opts_t *opts, json_t **claims, apr_pool_t *p,
                                       orgs_err_t *err);

#endif
