/* The JWT claim checks of an ID token (OpenID Connect Core 3.1.3.7) and
 * the claim accessors (see jose.h). */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

#include "jose.h"
#include "crypto.h"

/* NumericDate claim: 1 and *out when present, 0 when absent, -1 when not a
 * number. Fractions are truncated. */
static int numeric_date(const json_t *claims, const char *name, apr_int64_t *out)
{
    const json_t *v = json_object_get(claims, name);
    if (!v) {
        return 0;
    }
    if (json_is_integer(v)) {
        *out = (apr_int64_t)json_integer_value(v);
        return 1;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d > -1e15 && d < 1e15)) {
            return -1;
        }
        *out = (apr_int64_t)d;
        return 1;
    }
    return -1;
}

static apr_status_t check_aud(const json_t *claims, const char *client_id, orgs_err_t *err)
{
    const json_t *aud = json_object_get(claims, "aud");
    const json_t *azp = json_object_get(claims, "azp");
    int found = 0;
    size_t n = 1;

    if (json_is_string(aud)) {
        found = strcmp(json_string_value(aud), client_id) == 0;
    } else if (json_is_array(aud) && json_array_size(aud) > 0) {
        size_t i;
        const json_t *v;
        n = json_array_size(aud);
        json_array_foreach(aud, i, v)
        {
            if (!json_is_string(v)) {
                return orgs_err_set(err, ORGS_ECLAIM, "aud: array member not a string");
            }
            found |= strcmp(json_string_value(v), client_id) == 0;
        }
    } else {
        return orgs_err_set(err, ORGS_ECLAIM, "aud: missing or not a string / array");
    }
    if (!found) {
        return orgs_err_set(err, ORGS_ECLAIM, "aud: client_id not in audience");
    }
    if (n > 1 && !azp) {
        return orgs_err_set(err, ORGS_ECLAIM, "azp: required with several audiences");
    }
    if (azp && (!json_is_string(azp) || strcmp(json_string_value(azp), client_id) != 0)) {
        return orgs_err_set(err, ORGS_ECLAIM, "azp: not the client_id");
    }
    return APR_SUCCESS;
}

static apr_status_t check_times(const json_t *claims, apr_time_t now, apr_interval_time_t skew,
                                orgs_err_t *err)
{
    apr_int64_t t_now = (apr_int64_t)apr_time_sec(now);
    apr_int64_t t_skew = (apr_int64_t)apr_time_sec(skew < 0 ? 0 : skew);
    apr_int64_t exp = 0, iat = 0, nbf = 0;
    int has;

    has = numeric_date(claims, "exp", &exp);
    if (has != 1) {
        return orgs_err_set(err, ORGS_ECLAIM, "exp: %s", has ? "not a number" : "missing");
    }
    if (!(exp > t_now - t_skew)) {
        return orgs_err_set(err, ORGS_ECLAIM, "exp: token expired");
    }
    has = numeric_date(claims, "iat", &iat);
    if (has != 1) {
        return orgs_err_set(err, ORGS_ECLAIM, "iat: %s", has ? "not a number" : "missing");
    }
    if (iat > t_now + t_skew) {
        return orgs_err_set(err, ORGS_ECLAIM, "iat: issued in the future");
    }
    has = numeric_date(claims, "nbf", &nbf);
    if (has < 0) {
        return orgs_err_set(err, ORGS_ECLAIM, "nbf: not a number");
    }
    if (has && nbf > t_now + t_skew) {
        return orgs_err_set(err, ORGS_ECLAIM, "nbf: token not yet valid");
    }
    return APR_SUCCESS;
}

apr_status_t orgs_jose_claims_check(const json_t *claims, const orgs_jose_expect_t *expect,
                                    apr_time_t now, orgs_err_t *err)
{
    const char *iss, *sub, *nonce;
    apr_status_t rv;

    if (!json_is_object(claims) || !expect || !expect->issuer || !expect->client_id ||
        !expect->nonce) {
        return orgs_err_set(err, ORGS_ECLAIM, "claims: missing token or expectation");
    }
    iss = orgs_jose_claim_str(claims, "iss");
    if (!iss || strcmp(iss, expect->issuer) != 0) {
        return orgs_err_set(err, ORGS_ECLAIM, "iss: %s",
                            iss ? "not the connection's issuer" : "missing");
    }
    if ((rv = check_aud(claims, expect->client_id, err)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = check_times(claims, now, expect->skew, err)) != APR_SUCCESS) {
        return rv;
    }
    nonce = orgs_jose_claim_str(claims, "nonce");
    if (!nonce) {
        return orgs_err_set(err, ORGS_ECLAIM, "nonce: missing");
    }
    if (!orgs_crypto_ct_streq(nonce, expect->nonce)) {
        return orgs_err_set(err, ORGS_ECLAIM, "nonce: does not match the login request");
    }
    sub = orgs_jose_claim_str(claims, "sub");
    if (!sub || !*sub || strlen(sub) > ORGS_SUB_MAX) {
        return orgs_err_set(err, ORGS_ECLAIM, "sub: missing, empty or longer than %d bytes",
                            ORGS_SUB_MAX);
    }
    return APR_SUCCESS;
}

const char *orgs_jose_claim_str(const json_t *claims, const char *name)
{
    const json_t *v = claims && name ? json_object_get(claims, name) : NULL;
    /* A string with an embedded NUL would be silently truncated: refuse it. */
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        return NULL;
    }
    return json_string_value(v);
}

apr_table_t *orgs_jose_claims_table(const json_t *claims, apr_pool_t *p)
{
    apr_table_t *t = apr_table_make(p, 16);
    const char *key;
    json_t *v;

    if (!json_is_object(claims)) {
        return t;
    }
    /* jansson iterates non-const objects only; nothing is modified here. */
    json_object_foreach((json_t *)claims, key, v)
    {
        const char *text = NULL;
        switch (json_typeof(v)) {
        case JSON_STRING:
            if (strlen(json_string_value(v)) == json_string_length(v)) {
                text = json_string_value(v);
            }
            break;
        case JSON_INTEGER:
            text = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(v));
            break;
        case JSON_REAL:
            text = apr_psprintf(p, "%.17g", json_real_value(v));
            break;
        case JSON_TRUE:
            text = "true";
            break;
        case JSON_FALSE:
            text = "false";
            break;
        default:
            break;
        }
        if (text) {
            apr_table_set(t, key, text);
        }
    }
    return t;
}
