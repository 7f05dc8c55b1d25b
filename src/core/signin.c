/* The sign-in decisions (see signin.h). */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "jose.h"
#include "checks.h"
#include "parse.h"
#include "store.h"
#include "signin.h"
#include "text.h"

/* ---- the callback's query ------------------------------------------- */

/* Whether the key at q (up to '=', '&' or the end) decodes to name: the
 * query parser decodes keys, so "st%61te" is a state too. */
static int key_is(const char *q, const char *name)
{
    while (*name) {
        int c = (unsigned char)*q;
        if (c == '%') {
            int hi = orgs_text_hex_value((unsigned char)q[1]);
            int lo = hi < 0 ? -1 : orgs_text_hex_value((unsigned char)q[2]);
            if (lo < 0) {
                return 0;
            }
            c = hi * 16 + lo;
            q += 3;
        } else {
            q++;
        }
        if (c != (unsigned char)*name++) {
            return 0;
        }
    }
    return *q == '=' || *q == '&' || *q == '\0';
}

int orgs_signin_param_count(const char *query, const char *name)
{
    int count = 0;
    for (const char *q = query; q && *q;) {
        count += key_is(q, name);
        q = strchr(q, '&');
        q = q ? q + 1 : NULL;
    }
    return count;
}

const char *orgs_signin_param_repeated(const char *query)
{
    static const char *const single[] = {"state", "code", "iss", "error"};
    for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++) {
        if (orgs_signin_param_count(query, single[i]) > 1) {
            return single[i];
        }
    }
    return NULL;
}

/* ---- the trusted email ---------------------------------------------- */

orgs_email_trust_t orgs_signin_email_trust(const json_t *claims, orgs_signin_domain_fn lookup,
                                           void *baton, orgs_signin_domain_t *dom,
                                           const char **email, apr_pool_t *p, orgs_err_t *err)
{
    const char *claim = orgs_jose_claim_str(claims, "email");
    const json_t *verified = json_object_get(claims, "email_verified");
    const char *domain;
    char *normal;

    *email = NULL;
    memset(dom, 0, sizeof(*dom));
    dom->rv = APR_NOTFOUND;
    if (!claim) {
        return ORGS_EMAIL_ABSENT;
    }
    if (verified && !json_is_true(verified)) {
        orgs_err_set(err, APR_EINVAL, "email_verified is not true");
        return ORGS_EMAIL_UNVERIFIED;
    }
    if (orgs_parse_email(claim, &normal, &domain, p, err) != APR_SUCCESS) {
        return ORGS_EMAIL_MALFORMED;
    }
    lookup(baton, domain, dom);
    if (dom->rv == APR_NOTFOUND) {
        *email = normal;
        return ORGS_EMAIL_TRUSTED;
    }
    if (dom->rv == APR_SUCCESS && dom->conn_enabled && dom->auto_membership) {
        *email = normal;
        return ORGS_EMAIL_TRUSTED;
    }
    if (dom->rv != APR_SUCCESS) {
        /* fail closed: an address the store cannot place is not used */
        orgs_err_set(err, dom->rv, "the owner of domain %s could not be read", domain);
    } else {
        orgs_err_set(err, ORGS_EDENIED,
                     "domain %s belongs to org %s, which does not use this connection with "
                     "auto-membership",
                     domain, dom->owner ? dom->owner : "?");
    }
    return ORGS_EMAIL_FOREIGN;
}

const char *orgs_signin_display_name(const json_t *claims)
{
    const char *name = orgs_jose_claim_str(claims, "name");
    orgs_err_t err;
    return name && orgs_check_display_name(name, &err) == APR_SUCCESS ? name : NULL;
}

/* ---- the IdP's error answer ------------------------------------------ */

static const struct {
    const char *code;
    const char *text;
} idp_errors[] = {
    {"access_denied", "The identity provider refused the sign-in."},
    {"login_required", "The identity provider needs you to sign in there first."},
    {"interaction_required", "The identity provider needs you to sign in there first."},
    {"account_selection_required", "The identity provider needs you to choose an account."},
    {"consent_required", "The identity provider needs your consent for this application."},
    {"temporarily_unavailable",
     "The identity provider is temporarily unavailable. Try again later."},
    {"server_error", "The identity provider could not complete the sign-in."},
    {"invalid_request", "The identity provider refused the sign-in request."},
    {"unauthorized_client", "The identity provider refused the sign-in request."},
    {"unsupported_response_type", "The identity provider refused the sign-in request."},
    {"invalid_scope", "The identity provider refused the sign-in request."},
    {"request_not_supported", "The identity provider refused the sign-in request."},
    {"request_uri_not_supported", "The identity provider refused the sign-in request."},
    {"registration_not_supported", "The identity provider refused the sign-in request."},
    {"invalid_request_uri", "The identity provider refused the sign-in request."},
    {"invalid_request_object", "The identity provider refused the sign-in request."},
};

const char *orgs_signin_idp_error(const char *error, const char **text)
{
    for (size_t i = 0; error && i < sizeof(idp_errors) / sizeof(idp_errors[0]); i++) {
        if (strcmp(error, idp_errors[i].code) == 0) {
            *text = idp_errors[i].text;
            return idp_errors[i].code;
        }
    }
    *text = idp_errors[0].text;
    return idp_errors[0].code;
}

/* ---- admission ------------------------------------------------------ */

orgs_admit_t orgs_signin_admit(int is_member, int conn_enabled, int auto_membership)
{
    if (!conn_enabled) {
        return ORGS_ADMIT_NOT_ENABLED;
    }
    if (is_member) {
        return ORGS_ADMIT_MEMBER;
    }
    return auto_membership ? ORGS_ADMIT_JOINED : ORGS_ADMIT_DENIED;
}

int orgs_signin_admitted(orgs_admit_t a)
{
    return a == ORGS_ADMIT_MEMBER || a == ORGS_ADMIT_JOINED || a == ORGS_ADMIT_INVITED;
}

const char *orgs_signin_admit_str(orgs_admit_t a)
{
    switch (a) {
    case ORGS_ADMIT_MEMBER:
        return "member";
    case ORGS_ADMIT_JOINED:
        return "joined by auto-membership";
    case ORGS_ADMIT_DENIED:
        return "not a member";
    case ORGS_ADMIT_NOT_ENABLED:
        return "connection no longer enabled on the org";
    case ORGS_ADMIT_UNMET:
        return "auto-membership condition not met";
    case ORGS_ADMIT_INVITED:
        return "joined by invitation";
    case ORGS_ADMIT_INVITE_REFUSED:
        return "invitation refused";
    }
    return "?";
}

orgs_invite_refusal_t orgs_signin_invite_check(const char *inv_org, apr_time_t inv_expires,
                                               const char *inv_email, int any_email,
                                               const char *org_id, apr_time_t now,
                                               const char *email, int email_verified)
{
    if (!inv_org || !org_id || strcmp(inv_org, org_id) != 0) {
        return ORGS_INVITE_OTHER_ORG;
    }
    if (now > inv_expires) {
        return ORGS_INVITE_EXPIRED;
    }
    if (any_email) {
        return ORGS_INVITE_OK;
    }
    /* both are normalised (lowercase domain); the local part is compared
     * as the store keeps it, exactly */
    if (!email || !email_verified || !inv_email || strcmp(email, inv_email) != 0) {
        return ORGS_INVITE_EMAIL;
    }
    return ORGS_INVITE_OK;
}

const char *orgs_signin_invite_str(orgs_invite_refusal_t r)
{
    switch (r) {
    case ORGS_INVITE_OK:
        return "accepted";
    case ORGS_INVITE_UNKNOWN:
        return "unknown, already used or revoked";
    case ORGS_INVITE_EXPIRED:
        return "expired";
    case ORGS_INVITE_OTHER_ORG:
        return "issued for another organization";
    case ORGS_INVITE_EMAIL:
        return "the signed-in email is not the invited one, or not verified";
    }
    return "?";
}

static int claim_holds(const json_t *v, const char *want)
{
    size_t i;
    const json_t *e;
    if (json_is_string(v)) {
        return strcmp(json_string_value(v), want) == 0;
    }
    json_array_foreach((json_t *)v, i, e)
    {
        if (json_is_string(e) && strcmp(json_string_value(e), want) == 0) {
            return 1;
        }
    }
    return 0;
}

int orgs_signin_condition_met(const char *cond, const json_t *claims, const char *email,
                              const apr_array_header_t *domains)
{
    if (!cond) {
        return 1;
    }
    if (strncmp(cond, "claim:", 6) == 0) {
        const char *name = cond + 6, *eq = strchr(name, '=');
        char key[ORGS_AUTO_CLAIM_MAX + 1];
        size_t n = eq ? (size_t)(eq - name) : 0;
        if (!eq || n == 0 || n > ORGS_AUTO_CLAIM_MAX || !claims) {
            return 0;
        }
        memcpy(key, name, n);
        key[n] = '\0';
        return claim_holds(json_object_get(claims, key), eq + 1);
    }
    if (strcmp(cond, "email-domain") == 0) {
        const char *at = email ? strrchr(email, '@') : NULL;
        for (int i = 0; at && domains && i < domains->nelts; i++) {
            if (strcmp(at + 1, APR_ARRAY_IDX(domains, i, const char *)) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

/* ---- the session ---------------------------------------------------- */

const char *orgs_signin_logout_hint(const char *id_token)
{
    return id_token &&
                   strnlen(id_token, ORGS_STORE_SESSION_HINT_MAX + 1) <= ORGS_STORE_SESSION_HINT_MAX
               ? id_token
               : NULL;
}
