/* OpenID Connect relying party core: the authorization request URL (code
 * flow with PKCE S256). See oidc.h. */
#include <string.h>

#include <apr_strings.h>

#include "oidc.h"
#include "url.h"

int orgs_oidc_scopes_have_openid(const char *scopes)
{
    for (const char *s = scopes ? scopes : ""; *s;) {
        while (*s == ' ') {
            s++;
        }
        apr_size_t n = strcspn(s, " ");
        if (n == 6 && strncmp(s, "openid", 6) == 0) {
            return 1;
        }
        s += n;
    }
    return 0;
}

/* NULL as "": a required parameter is always sent, if empty. */
static const char *nz(const char *s)
{
    return s ? s : "";
}

char *orgs_oidc_auth_url(const orgs_oidc_provider_t *prov, const char *client_id,
                         const char *redirect_uri, const char *scopes, const char *state,
                         const char *nonce, const char *code_challenge, const char *login_hint,
                         apr_pool_t *p)
{
    if (scopes == NULL || *scopes == '\0') {
        scopes = ORGS_OIDC_DEFAULT_SCOPES;
    }
    if (!orgs_oidc_scopes_have_openid(scopes)) {
        scopes = apr_pstrcat(p, "openid ", scopes, NULL);
    }
    return orgs_url_append_params(
        prov->authorization_endpoint, p, "response_type", "code", "client_id", nz(client_id),
        "redirect_uri", nz(redirect_uri), "scope", scopes, "state", nz(state), "nonce", nz(nonce),
        "code_challenge", nz(code_challenge), "code_challenge_method", "S256", "login_hint",
        login_hint && *login_hint ? login_hint : NULL, NULL);
}
