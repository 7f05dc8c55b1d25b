/* What the app is told about the signed-in user's ID token, decided once
 * at sign-in: the claim exports (ORG_CLAIM_<name> for CGI/SSI and
 * X-Org-Claim-<name> for a proxied app) and ORG_EMAIL, each with its
 * final names and a value ready to set, so that a request only copies
 * them into httpd's tables. The session record keeps them
 * (orgs_session_t.exports); nothing else of the ID token is kept.
 *
 * The policy:
 * - the protocol claims nonce, at_hash, c_hash, sid and auth_time mean
 *   nothing to the app and are left out; so are claims whose value is an
 *   object, an array or null, and strings holding a NUL byte;
 * - a claim's name becomes [A-Za-z0-9_] (any other byte '_', so '-' and
 *   '.' map to '_' like HTTP header names do in CGI), cut at
 *   ORGS_EXPORT_NAME_MAX bytes; an empty name is left out;
 * - two claims whose names are equal after that mapping and case-folding
 *   ("email" and "EMAIL", "given-name" and "given.name") are both left
 *   out: httpd's tables and header names ignore case, so one would
 *   silently overwrite the other, and neither can be trusted to be the one
 *   the app means;
 * - the email claims (email, email_verified, in any case) are exported
 *   only when the sign-in trusted the email (signin.h,
 *   orgs_signin_email_trust): an unverified address, or one in a domain of
 *   another org, never reaches the app under the names an app reads;
 * - ORG_EMAIL / X-Org-Email is the trusted, normalised email, set only
 *   then;
 * - values: control characters become spaces (no header splitting), cut
 *   at ORGS_EXPORT_VALUE_MAX bytes on a UTF-8 boundary;
 * - when all exports together exceed ORGS_EXPORT_TOTAL_MAX bytes, only
 *   those of sub, iss, name, email and email_verified are kept. */
#ifndef ORGS_EXPORT_H
#define ORGS_EXPORT_H

#include <jansson.h>

#include "store.h"

/* Longest exported claim name (after ORG_CLAIM_) and value, in bytes. */
#define ORGS_EXPORT_NAME_MAX 64
#define ORGS_EXPORT_VALUE_MAX 1024
/* All of a session's exports (names and values), in bytes. */
#define ORGS_EXPORT_TOTAL_MAX ORGS_STORE_SESSION_EXPORTS_MAX

#define ORGS_EXPORT_EMAIL_ENV "ORG_EMAIL"
#define ORGS_EXPORT_EMAIL_HEADER "X-Org-Email"

/* The exports of claims (an ID token's payload; NULL: none) for a sign-in
 * whose trusted email is trusted_email (NULL: none trusted), as
 * orgs_export_t in p, ORG_EMAIL first when set, then the claims in their
 * order. Never NULL. */
apr_array_header_t *orgs_export_claims(const json_t *claims, const char *trusted_email,
                                       apr_pool_t *p);

/* A value as exported: control characters to spaces, at most max bytes,
 * cut on a UTF-8 boundary; in p. */
const char *orgs_export_value(const char *v, apr_size_t max, apr_pool_t *p);

/* Every variable a request of the session's view v exports, names and
 * values final, in p, as v->ready_env (environment names) and
 * v->ready_headers (request header names): ORG_ID, ORG_NAME,
 * ORG_DISPLAY_NAME, ORG_CONNECTION, ORG_USER_ID, ORG_ROLES (comma-joined,
 * empty when none), ORG_META_<key> (header X-Org-Meta-<key> with '_' as
 * '-'), then the session's exports (ORG_EMAIL, ORG_CLAIM_*). Values with
 * a control character or longer than ORGS_EXPORT_VALUE_MAX are exported
 * as orgs_export_value makes them; the others are not copied (they live
 * as long as v). Made once per cached view (the view cache), so a request
 * only adds them to its tables. */
void orgs_export_view_prepare(orgs_session_view_t *v, apr_pool_t *p);

#endif
