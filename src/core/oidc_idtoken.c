/* OpenID Connect relying party core: ID token verification with the
 * provider's JWKS, refreshed once for an unknown kid. See oidc.h. */
#include <string.h>

#include "oidc.h"
#include "jose.h"

static apr_status_t verify_with(const orgs_oidc_provider_t *prov, const char *id_token,
                                json_t **claims, apr_pool_t *p, orgs_err_t *err)
{
    const orgs_jwks_t *jwks = NULL;
    const char *j = prov->jwks_json ? prov->jwks_json : "";
    apr_status_t rv = orgs_jose_jwks_get(&jwks, j, strlen(j), p, err);
    if (rv == APR_EINVAL) {
        /* a set without a usable key: treat like a rotation in progress */
        return orgs_err_set(err, ORGS_ENOKID, "JWKS has no usable signing key");
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return orgs_jose_jws_verify(id_token, jwks, claims, p, err);
}

apr_status_t orgs_oidc_id_token_verify(orgs_store_t *st, orgs_oidc_provider_t *prov,
                                       const char *client_id, const char *id_token,
                                       const char *nonce, apr_time_t now, apr_interval_time_t skew,
                                       const orgs_http_opts_t *opts, json_t **claims, apr_pool_t *p,
                                       orgs_err_t *err)
{
    if (prov == NULL || id_token == NULL || claims == NULL) {
        return orgs_err_set(err, APR_EINVAL, "ID token verification: missing argument");
    }
    json_t *c = NULL;
    apr_status_t rv = verify_with(prov, id_token, &c, p, err);
    if (rv == ORGS_ENOKID) {
        orgs_err_t e = {""};
        apr_status_t rr = orgs_oidc_jwks_refresh(st, prov, now, 0, opts, p, &e);
        if (rr == APR_EAGAIN || rr == APR_EBUSY) {
            return rv; /* throttled or in flight: keep the "no key" answer in err */
        }
        if (rr != APR_SUCCESS) {
            return orgs_err_set(err, rr, "%s", e.msg);
        }
        rv = verify_with(prov, id_token, &c, p, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    orgs_jose_expect_t expect = {prov->issuer, client_id, nonce,
                                 skew > 0 ? skew : ORGS_JOSE_DEFAULT_SKEW};
    rv = orgs_jose_claims_check(c, &expect, now, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *claims = c;
    return APR_SUCCESS;
}
