/* The sign-in decisions of the callback, pure and httpd-free so unit tests
 * and fuzzers reach them: which callback queries are refused, which email
 * is trusted, who is admitted to an org, what the session keeps for logout.
 * The glue (src/httpd/callback.c) only sequences them and logs; the store
 * applies them in one write transaction (orgs_store_signin_commit). */
#ifndef ORGS_SIGNIN_H
#define ORGS_SIGNIN_H

#include <jansson.h>

#include "orgs.h"

/* ---- the callback's query ------------------------------------------- */

/* How many times the parameter name appears in the raw query, its key
 * compared after percent-decoding as the query parser decodes it
 * ("name", "name=", "name=v" and "n%61me=v" all count). */
int orgs_signin_param_count(const char *query, const char *name);

/* The first of the parameters a response must carry at most once (state,
 * code, iss, error) that query holds more than once, or NULL. A response
 * with two states, codes or issuers is ambiguous and refused whole, rather
 * than letting "first value wins" pick one. */
const char *orgs_signin_param_repeated(const char *query);

/* The error code and the text the page shows for an IdP's error answer:
 * the codes of OAuth 2.0 and OpenID Connect Core are kept, anything else
 * becomes access_denied; the text is fixed per code. The IdP's own
 * error_description is never shown (a tenant's IdP would write on this
 * site's pages: phishing text, a support number): the glue logs it. */
const char *orgs_signin_idp_error(const char *error, const char **text);

/* ---- the trusted email ---------------------------------------------- */

/* What the store knows about the domain of an asserted email, filled by
 * the caller's lookup. */
typedef struct orgs_signin_domain_t {
    apr_status_t rv;     /* APR_SUCCESS: an org owns the domain; APR_NOTFOUND: none
                            does; anything else: the store could not tell */
    const char *owner;   /* the owning org's name (for logs), or NULL */
    int conn_enabled;    /* the signing-in connection is enabled on the owner */
    int auto_membership; /* ... with auto-membership */
} orgs_signin_domain_t;

/* Fills *out for domain (lowercase); out arrives zeroed with rv
 * APR_NOTFOUND. */
typedef void (*orgs_signin_domain_fn)(void *baton, const char *domain, orgs_signin_domain_t *out);

/* Why the email claim is, or is not, the user's email. */
typedef enum orgs_email_trust_t {
    ORGS_EMAIL_TRUSTED = 0,    /* use it */
    ORGS_EMAIL_ABSENT = 1,     /* no email claim, or not a string */
    ORGS_EMAIL_UNVERIFIED = 2, /* email_verified is present and not true */
    ORGS_EMAIL_MALFORMED = 3,  /* not an address the product accepts */
    ORGS_EMAIL_FOREIGN = 4,    /* its domain belongs to an org that does not use this
                                  connection with auto-membership, or the store could
                                  not tell */
} orgs_email_trust_t;

/* The email claim becomes the user's email (REMOTE_USER, binding to a
 * member added by email) only when it can be trusted: not marked
 * unverified, well formed, and, when its domain belongs to an org, asserted
 * by a connection that org enabled with auto-membership (its own IdP).
 * Otherwise one customer's IdP could claim another customer's addresses.
 * lookup is asked about the domain only after the first three checks pass;
 * *dom keeps its answer for the caller's logs. *email is the normalised
 * address (in p) when ORGS_EMAIL_TRUSTED, NULL otherwise; err says why for
 * every other outcome but ORGS_EMAIL_ABSENT. */
orgs_email_trust_t orgs_signin_email_trust(const json_t *claims, orgs_signin_domain_fn lookup,
                                           void *baton, orgs_signin_domain_t *dom,
                                           const char **email, apr_pool_t *p, orgs_err_t *err);

/* The name claim when the store would take it as a display name, NULL
 * otherwise (a name the store would refuse is dropped, not fatal). Points
 * into claims. */
const char *orgs_signin_display_name(const json_t *claims);

/* ---- admission ------------------------------------------------------ */

/* The outcome of admission for one user, one org, one connection. */
typedef enum orgs_admit_t {
    ORGS_ADMIT_MEMBER = 0,         /* already a member */
    ORGS_ADMIT_JOINED = 1,         /* made a member by the connection's auto-membership */
    ORGS_ADMIT_DENIED = 2,         /* not a member, and the connection does not add members */
    ORGS_ADMIT_NOT_ENABLED = 3,    /* the connection is no longer enabled on the org */
    ORGS_ADMIT_UNMET = 4,          /* not a member, and the sign-in does not meet the condition
                                      of the connection's auto-membership */
    ORGS_ADMIT_INVITED = 5,        /* made a member (or given roles) by an invitation */
    ORGS_ADMIT_INVITE_REFUSED = 6, /* the invitation followed is not valid for this sign-in */
} orgs_admit_t;

/* The admission rule (design.md): a member gets in; a non-member gets in
 * (and becomes a member) only through a connection the org enabled with
 * auto-membership; a connection the org no longer enables admits nobody,
 * not even its members. */
orgs_admit_t orgs_signin_admit(int is_member, int conn_enabled, int auto_membership);

/* 1 when the outcome lets the user in (a member, joined or invited). */
int orgs_signin_admitted(orgs_admit_t a);

/* Short text for logs. */
const char *orgs_signin_admit_str(orgs_admit_t a);

/* Why an invitation followed at sign-in was not accepted. */
typedef enum {
    ORGS_INVITE_OK = 0,
    ORGS_INVITE_UNKNOWN = 1,   /* no such ticket: never issued, used or revoked */
    ORGS_INVITE_EXPIRED = 2,   /* past its expiry */
    ORGS_INVITE_OTHER_ORG = 3, /* issued for another org than the login's */
    ORGS_INVITE_EMAIL = 4,     /* the signed-in email is not the invited one (or is not
                                  verified and trusted) */
} orgs_invite_refusal_t;

/* Whether an invitation (issued for inv_org, valid until inv_expires, for
 * inv_email unless any_email) may be accepted by a sign-in to org_id at
 * now whose trusted email (orgs_signin_email_trust; NULL when not trusted)
 * is email: a ticket never crosses orgs, and the email must be the invited
 * one and marked verified by the IdP (email_verified). */
orgs_invite_refusal_t orgs_signin_invite_check(const char *inv_org, apr_time_t inv_expires,
                                               const char *inv_email, int any_email,
                                               const char *org_id, apr_time_t now,
                                               const char *email, int email_verified);

/* Short text for logs. */
const char *orgs_signin_invite_str(orgs_invite_refusal_t r);

/* Whether a sign-in meets the auto-membership condition cond of an
 * enabled connection (orgs_check_auto_condition's syntax): NULL admits;
 * "claim:NAME=VALUE" wants the ID token's claim NAME to be the string
 * VALUE (or an array holding it), e.g. Google's hd or Entra's tid, so an
 * issuer serving many companies admits one of them; "email-domain" wants
 * the trusted email (signin.h: NULL when not trusted) to have one of the
 * org's domains (sorted, lowercase). Anything else, or a claim that is
 * absent or of another type, does not meet it (fail closed). */
int orgs_signin_condition_met(const char *cond, const json_t *claims, const char *email,
                              const apr_array_header_t *domains);

/* ---- the session ---------------------------------------------------- */

/* What the session keeps for RP-initiated logout: the ID token itself
 * when it is at most ORGS_STORE_SESSION_HINT_MAX bytes, else NULL (not
 * kept: logout then names the client only). A hash would not do: the
 * IdP's end_session_endpoint needs the token. The claims the app sees are
 * decided by orgs_export_claims (export.h). */
const char *orgs_signin_logout_hint(const char *id_token);

#endif
