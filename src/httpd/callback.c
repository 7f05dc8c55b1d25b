/* [glue] /callback: a thin sequence over the core's sign-in decisions
 * (signin.h): read the pending login, verify the IdP's answer, decide,
 * commit; every refusal answers with a logged tag. */
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>

#include "private.h"
#include "checks.h"
#include "crypto.h"
#include "export.h"
#include "jose.h"
#include "oidc.h"
#include "signin.h"
#include "endpoints.h"
#include "upstream.h"
#include "sweep.h"
#include "render.h"
#include "invite.h"
#include "status.h"
#include "pending_cookie.h"
#include "replica_lag.h"
#include "pgwrite.h"

/* Callback steps return this to go on; anything else is the response
 * already decided (an error page returns OK, so OK cannot mean "go on"). */
#define STEP_CONTINUE DECLINED

/* Everything the callback learned; filled step by step. */
typedef struct {
    orgs_route_t *c;
    orgs_pending_t *pl;
    int sealed; /* pl came from the browser's cookie, not the store */
    orgs_org_t *org;
    orgs_conn_t *conn;
    orgs_oidc_provider_t *prov;
    const char *id_token;
    json_t *claims;
    const char *sid;            /* the new session's id, for the cookie */
    unsigned char sid_hash[32]; /* its key in the store */
    unsigned char old_hash[32]; /* this browser's previous session of the org */
    orgs_signin_t in;           /* what the commit writes */
    orgs_user_t *user;          /* set by the commit */
} callback_t;

/* ---- read the pending login, verify the answer ------------------------ */

/* The one answer for a state that is not (or no longer) a pending login:
 * unknown, forged, expired, or used already, by this callback's replay or
 * by a concurrent one that committed first. */
static int refuse_state(request_rec *r, apr_status_t rv)
{
    orgs_log_rerror(r, APLOG_WARNING, 0, ORGSLOGNO(00215) "callback: state %s",
                    rv == ORGS_EEXPIRED ? "expired" : "unknown, forged or already used");
    orgs_status_count(ORGS_CTR_DENY_BAD_STATE);
    return orgs_endpoints_error_send(
        r, HTTP_BAD_REQUEST, "invalid_request",
        "This sign-in attempt is unknown or has expired. Please sign in again.", "/");
}

/* The pending login named by state, bound to this browser. It is only
 * read here: the commit consumes it, or discard_pending when the callback
 * stops before. Returns STEP_CONTINUE or the response already decided. */
static int read_pending(orgs_route_t *c, callback_t *cb)
{
    request_rec *r = c->r;
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    const char *state = apr_table_get(c->args, "state");
    const char *browser = orgs_endpoints_cookie_get(r, ORGS_COOKIE_BROWSER);
    unsigned char mac[32];
    orgs_err_t err = {{0}};
    apr_status_t rv;

    if (!state || !*state) {
        orgs_log_rerror(r, APLOG_WARNING, 0, ORGSLOGNO(00214) "callback: no state parameter");
        return orgs_endpoints_error_send(r, HTTP_BAD_REQUEST, "invalid_request",
                                         "The sign-in response is incomplete.", "/");
    }
    /* the login sealed in the browser's cookie (OrgsLoginState cookie) */
    int done = orgs_pending_cookie_take(c, state, &cb->pl);
    if (done != STEP_CONTINUE) {
        return done;
    }
    /* the store compares before anything else: another browser cannot burn it */
    if (browser &&
        (rv = orgs_crypto_hmac(sc->keys->state, browser, strlen(browser), mac)) != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_ERR, rv,
                        ORGSLOGNO(00248) "callback: cannot compute the browser binding");
        return orgs_endpoints_error_send(r, orgs_status_for(rv), "server_error",
                                         "The sign-in failed.", "/");
    }
    if (cb->pl) {
        /* bound to the browser cookie it was started with, as a stored one */
        if (!browser || !orgs_crypto_ct_equal(mac, cb->pl->browser, sizeof(mac))) {
            cb->pl = NULL; /* nothing to discard: the browser's copy is cleared */
            orgs_log_rerror(r, APLOG_WARNING, ORGS_EDENIED,
                            ORGSLOGNO(00258) "callback: the sign-in kept in the browser's cookie "
                                             "was started with another browser cookie");
            return orgs_endpoints_error_send(r, HTTP_BAD_REQUEST, "invalid_request",
                                             "This sign-in attempt was started in another browser.",
                                             "/");
        }
        cb->sealed = 1;
        c->return_to = cb->pl->return_to;
        return STEP_CONTINUE;
    }
    rv = orgs_store_pending_get(c->st, state, browser ? mac : NULL, apr_time_now(),
                                sc->login_timeout, &cb->pl, r->pool, &err);
    if (rv == APR_NOTFOUND || rv == ORGS_EEXPIRED) {
        return refuse_state(r, rv);
    }
    if (rv == ORGS_EDENIED) {
        orgs_log_rerror(r, APLOG_WARNING, rv,
                        ORGSLOGNO(00217) "callback: state was issued to another browser");
        return orgs_endpoints_error_send(r, HTTP_BAD_REQUEST, "invalid_request",
                                         "This sign-in attempt was started in another browser.",
                                         "/");
    }
    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_ERR, rv, ORGSLOGNO(00216) "callback: store error: %s", err.msg);
        return orgs_endpoints_error_send(r, orgs_status_for(rv), "server_error",
                                         "The sign-in failed.", "/");
    }
    c->return_to = cb->pl->return_to;
    return STEP_CONTINUE;
}

/* A callback refused after its pending login was read deletes it, so a
 * state is single use whatever the answer. Gone already is fine (a
 * concurrent callback consumed it). A login sealed in the browser's
 * cookie is cleared from the browser by the answer itself. */
static void discard_pending(orgs_route_t *c, const callback_t *cb)
{
    orgs_err_t err = {{0}};
    apr_status_t rv;

    if (cb->sealed) {
        return; /* in the browser's cookie, cleared by this answer: nothing stored */
    }
    rv = orgs_store_pending_delete(c->st, cb->pl->state, c->r->pool, &err);

    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        orgs_log_rerror(c->r, APLOG_ERR, rv,
                        ORGSLOGNO(00247) "callback: the refused login's state could not be "
                                         "deleted, it stays usable until it expires: %s",
                        err.msg);
    }
}

/* A refusal once the pending login is known: the error page, whose link
 * goes back to where the login began. */
static int refuse(orgs_route_t *c, int status, const char *error, const char *desc)
{
    return orgs_endpoints_error_send(c->r, status, error, desc, c->return_to);
}

/* The IdP's answer: RFC 9207 iss, error responses, then the code
 * exchange and the complete ID token verification. */
static int verify_response(orgs_route_t *c, callback_t *cb)
{
    request_rec *r = c->r;
    const char *iss = apr_table_get(c->args, "iss");
    const char *error = apr_table_get(c->args, "error");
    const char *code = apr_table_get(c->args, "code");
    orgs_http_opts_t opts;
    orgs_err_t err = {{0}};
    apr_uint64_t parsed;
    apr_status_t rv;

    if ((rv = orgs_store_org_get(c->st, cb->pl->org_id, &cb->org, r->pool, &err)) != APR_SUCCESS ||
        (rv = orgs_store_conn_get_secret(c->st, cb->pl->conn_id, &cb->conn, r->pool, &err)) !=
            APR_SUCCESS) {
        orgs_log_rerror(r, rv == APR_NOTFOUND ? APLOG_WARNING : APLOG_ERR, rv,
                        ORGSLOGNO(00218) "callback: org or connection of the login is gone: %s",
                        err.msg);
        return refuse(c, rv == APR_NOTFOUND ? HTTP_FORBIDDEN : HTTP_INTERNAL_SERVER_ERROR,
                      "access_denied", "The organization or its sign-in method was removed.");
    }
    orgs_render_ctx(r, cb->org); /* a refusal from here on is the org's page */
    opts = orgs_upstream_opts(r, cb->conn);
    rv = orgs_oidc_provider_get(c->st, cb->conn->issuer, apr_time_now(), &opts, &cb->prov, r->pool,
                                &err);
    if (rv != APR_SUCCESS) {
        const char *note;
        /* a request that only waited for another's fetch leaves the line to it */
        if (rv == APR_EACCES && orgs_upstream_log_gate(r, cb->conn->issuer, "callback", &note)) {
            /* the endpoints or the hosts the connection allows changed
             * since the login started: nothing is sent there */
            orgs_log_rerror(r, APLOG_ERR, rv,
                            ORGSLOGNO(00586) "callback: connection %s: back-channel endpoint "
                                             "refused: %s%s",
                            cb->conn->name, err.msg, note);
        } else if (rv != APR_EBUSY && rv != APR_EACCES &&
                   orgs_upstream_log_gate(r, cb->conn->issuer, "callback", &note)) {
            orgs_log_rerror(
                r, APLOG_ERR, rv,
                ORGSLOGNO(00219) "callback: connection %s: provider metadata unavailable: %s%s",
                cb->conn->name, err.msg, note);
        }
        orgs_status_idp_error(cb->conn->name);
        return refuse(c, orgs_upstream_status(r, rv), "temporarily_unavailable",
                      "The organization's identity provider cannot be reached right now. Please "
                      "sign in again in a few seconds.");
    }
    if (iss ? strcmp(iss, cb->prov->issuer) != 0 : cb->prov->iss_param_supported) {
        if (iss) {
            orgs_log_rerror(r, APLOG_WARNING, 0,
                            ORGSLOGNO(00220) "callback: iss parameter does not match connection "
                                             "%s's issuer (mix-up attack?)",
                            cb->conn->name);
        } else {
            orgs_log_rerror(r, APLOG_WARNING, 0,
                            ORGSLOGNO(00235) "callback: connection %s's IdP announces the iss "
                                             "parameter but the response has none (mix-up "
                                             "attack?)",
                            cb->conn->name);
        }
        return refuse(c, HTTP_BAD_REQUEST, "invalid_request",
                      "The sign-in response came from the wrong identity provider.");
    }
    if (error) {
        /* the IdP's description goes to the log only: the page says a fixed text */
        const char *desc = apr_table_get(c->args, "error_description"), *text;
        const char *shown = orgs_signin_idp_error(error, &text);
        orgs_log_rerror(r, APLOG_INFO, 0,
                        ORGSLOGNO(00221) "callback: connection %s answered error '%s' (%.200s)",
                        cb->conn->name, ap_escape_logitem(r->pool, error),
                        desc ? ap_escape_logitem(r->pool, desc) : "no description");
        orgs_status_count(ORGS_CTR_DENY_IDP_REFUSED);
        orgs_invite_count_denial(r, c->st, cb->org->id);
        return refuse(c, strcmp(shown, "access_denied") == 0 ? HTTP_FORBIDDEN : HTTP_BAD_REQUEST,
                      shown, text);
    }
    if (!code || !*code) {
        orgs_log_rerror(r, APLOG_WARNING, 0, ORGSLOGNO(00222) "callback: no code parameter");
        return refuse(c, HTTP_BAD_REQUEST, "invalid_request",
                      "The sign-in response is incomplete.");
    }
    rv = orgs_oidc_token_exchange(cb->prov, cb->conn->client_id, cb->conn->client_secret,
                                  cb->conn->auth_method, code, cb->pl->code_verifier,
                                  orgs_endpoints_redirect_uri(r), &opts, &cb->id_token, NULL,
                                  r->pool, &err);
    if (rv == APR_EAGAIN || rv == APR_EACCES) {
        const char *note;
        if (orgs_upstream_log_gate(r, cb->conn->issuer, "token", &note)) {
            orgs_log_rerror(r, APLOG_WARNING, rv,
                            ORGSLOGNO(00583) "callback: connection %s: token endpoint not "
                                             "called: %s%s",
                            cb->conn->name, err.msg, note);
        }
        return refuse(c, orgs_upstream_status(r, rv), "temporarily_unavailable",
                      "The identity provider did not complete the sign-in.");
    }
    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_WARNING, rv,
                        ORGSLOGNO(00223) "callback: connection %s: code exchange failed: %s",
                        cb->conn->name, err.msg);
        orgs_status_idp_error(cb->conn->name);
        return refuse(c, HTTP_BAD_GATEWAY, "server_error",
                      "The identity provider did not complete the sign-in.");
    }
    parsed = orgs_jose_jwks_parsed();
    rv = orgs_oidc_id_token_verify(c->st, cb->prov, cb->conn->client_id, cb->id_token,
                                   cb->pl->nonce, apr_time_now(), ORGS_JOSE_DEFAULT_SKEW, &opts,
                                   &cb->claims, r->pool, &err);
    if (orgs_jose_jwks_parsed() != parsed) {
        /* once per JWKS document and child: more means a cache that does not hold */
        orgs_log_rerror(r, APLOG_INFO, 0,
                        ORGSLOGNO(00500) "connection %s: JWKS parsed and its keys checked "
                                         "(%" APR_UINT64_T_FMT " JWKS parses in this process)",
                        cb->conn->name, orgs_jose_jwks_parsed());
    }
    if (rv == ORGS_ENOKID || rv == APR_EAGAIN || rv == APR_EBUSY || rv == ORGS_EHTTP) {
        /* the IdP switched keys and the new set is not here (yet): temporary */
        int status = orgs_upstream_status(r, rv);
        orgs_log_rerror(r, APLOG_WARNING, rv,
                        ORGSLOGNO(00582) "callback: connection %s: ID token signed with a key "
                                         "not in the JWKS (yet): %s; answered %d",
                        cb->conn->name, err.msg, status);
        return refuse(c, status, "temporarily_unavailable",
                      "The identity provider's signing keys are changing. Please sign in again "
                      "in a few seconds.");
    }
    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_WARNING, rv,
                        ORGSLOGNO(00224) "callback: connection %s: ID token rejected: %s",
                        cb->conn->name, err.msg);
        orgs_status_count(ORGS_CTR_DENY_BAD_TOKEN);
        orgs_invite_count_denial(r, c->st, cb->org->id);
        return refuse(c, HTTP_FORBIDDEN, "access_denied",
                      "The identity provider's answer could not be verified.");
    }
    return STEP_CONTINUE;
}

/* ---- decide --------------------------------------------------------- */

/* What the store knows about an asserted email's domain, for the core's
 * trusted-email rule. */
static void lookup_domain(void *baton, const char *domain, orgs_signin_domain_t *out)
{
    const callback_t *cb = baton;
    orgs_org_t *owner;
    orgs_enabled_conn_t *ec;
    orgs_err_t err = {{0}};

    out->rv = orgs_store_org_by_domain(cb->c->st, domain, &owner, cb->c->r->pool, &err);
    if (out->rv != APR_SUCCESS) {
        return;
    }
    out->owner = owner->name;
    if (orgs_store_org_conn_get(cb->c->st, owner->id, cb->conn->id, &ec, cb->c->r->pool, &err) ==
        APR_SUCCESS) {
        out->conn_enabled = 1;
        out->auto_membership = ec->auto_membership;
    }
}

/* The email claim, when the core's rule trusts it (signin.h); each refusal
 * is logged. */
static const char *trusted_email(request_rec *r, callback_t *cb)
{
    orgs_signin_domain_t dom;
    const char *email;
    orgs_err_t err = {{0}};

    switch (orgs_signin_email_trust(cb->claims, lookup_domain, cb, &dom, &email, r->pool, &err)) {
    case ORGS_EMAIL_TRUSTED:
    case ORGS_EMAIL_ABSENT:
        break;
    case ORGS_EMAIL_UNVERIFIED:
        orgs_log_rerror(r, APLOG_INFO, 0,
                        ORGSLOGNO(00241) "connection %s asserted an email marked unverified "
                                         "(%s): the email is not used",
                        cb->conn->name, err.msg);
        break;
    case ORGS_EMAIL_MALFORMED:
        orgs_log_rerror(r, APLOG_INFO, 0,
                        ORGSLOGNO(00242) "connection %s asserted a malformed email (%s): the email "
                                         "is not used",
                        cb->conn->name, err.msg);
        break;
    case ORGS_EMAIL_FOREIGN:
        orgs_log_rerror(r, APLOG_WARNING, dom.rv == APR_SUCCESS ? ORGS_EDENIED : dom.rv,
                        ORGSLOGNO(00238) "connection %s asserted an email in a domain of org %s, "
                                         "which it does not serve: the email is not used",
                        cb->conn->name, dom.rv == APR_SUCCESS && dom.owner ? dom.owner : "?");
        break;
    }
    return email;
}

/* Everything the commit writes, decided before any write: the trusted
 * email, the display name, a new session id on every login (no fixation)
 * and the claims it keeps, and the org's previous session in this browser,
 * which the commit ends. */
static int decide(orgs_route_t *c, callback_t *cb)
{
    request_rec *r = c->r;
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    const char *old = orgs_endpoints_cookie_get(
        r, apr_pstrcat(r->pool, ORGS_COOKIE_SESSION, cb->org->name, NULL));
    char *sid;
    orgs_signin_t *in = &cb->in;
    orgs_err_t err = {{0}};
    apr_status_t rv = orgs_crypto_random_token(32, &sid, r->pool);

    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_ERR, rv, ORGSLOGNO(00245) "cannot draw a session id");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    cb->sid = sid;
    if ((rv = orgs_crypto_sha256(sid, strlen(sid), cb->sid_hash)) != APR_SUCCESS ||
        (old && (rv = orgs_crypto_sha256(old, strlen(old), cb->old_hash)) != APR_SUCCESS)) {
        orgs_log_rerror(r, APLOG_ERR, rv, ORGSLOGNO(00249) "callback: cannot hash the session ids");
        return refuse(c, orgs_status_for(rv), "server_error", "The sign-in failed.");
    }
    memset(in, 0, sizeof(*in));
    in->state = cb->pl->state;
    in->org_id = cb->org->id;
    in->conn_id = cb->conn->id;
    in->sub = orgs_jose_claim_str(cb->claims, "sub");
    in->now = apr_time_now();
    in->ttl = sc->login_timeout;
    in->sealed_created = cb->sealed ? cb->pl->created : 0;
    in->quota = &sc->quota;
    /* The IdP's sub must be one the store keeps: refused here, where the
     * state is discarded, not in the commit. */
    if ((rv = orgs_check_user_sub(in->sub, &err)) != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_WARNING, rv,
                        ORGSLOGNO(00253) "callback: connection %s: the ID token's sub is "
                                         "refused: %s",
                        cb->conn->name, err.msg);
        return refuse(c, HTTP_BAD_GATEWAY, "server_error",
                      "The identity provider's answer could not be used.");
    }
    in->email = trusted_email(r, cb);
    in->name = orgs_signin_display_name(cb->claims);
    in->claims = cb->claims; /* for an auto-membership condition */
    in->invite = cb->pl->invite;
    in->email_verified = json_is_true(json_object_get(cb->claims, "email_verified"));
    in->old_sid_hash = old ? cb->old_hash : NULL;
    in->sid_hash = cb->sid_hash;
    in->session.exports = orgs_export_claims(cb->claims, in->email, r->pool);
    in->session.id_token_hint = orgs_signin_logout_hint(cb->id_token);
    in->session.created = in->session.last_seen = in->now;
    in->session.expires = in->now + sc->session_max_age;
    return STEP_CONTINUE;
}

/* ---- commit ----------------------------------------------------------- */

/* A refusal that passes: 503 with Retry-After (the next minute admits
 * again), the page saying so. */
static int refuse_for_a_minute(orgs_route_t *c, const char *why)
{
    apr_table_setn(c->r->err_headers_out, "Retry-After", "60");
    return refuse(c, HTTP_SERVICE_UNAVAILABLE, "temporarily_unavailable",
                  apr_pstrcat(c->r->pool, why, " Please try again in a minute.", NULL));
}

/* A sign-in over a tenant quota (nothing was written): 503 with
 * Retry-After while a rate or a share within the login timeout is spent
 * (the connection's new users, the org's sign-ins, the connection's
 * refused ones), 403 over a count (retrying does not help: the org's
 * admin or the server's must act). The log names connection and org. */
static int refuse_quota(orgs_route_t *c, const callback_t *cb, const orgs_err_t *err)
{
    request_rec *r = c->r;

    if (cb->in.over_quota == ORGS_QUOTA_NEW_USERS_PER_MIN) {
        orgs_log_rerror(
            r, APLOG_WARNING, APR_ENOSPC,
            ORGSLOGNO(00521) "callback: connection %s creates new users too fast "
                             "(OrgsMaxNewUsersPerMinute): sign-in to org %s refused: %s",
            cb->conn->name, cb->org->name, err->msg);
        return refuse_for_a_minute(c, "Too many new accounts are signing in through your "
                                      "organization's identity provider.");
    }
    if (cb->in.over_quota == ORGS_QUOTA_SIGNINS_PER_ORG) {
        /* the org's sign-ins within OrgsLoginTimeout: the oldest expire */
        orgs_log_rerror(r, APLOG_WARNING, APR_ENOSPC,
                        ORGSLOGNO(00259) "callback: org %s signs in too often "
                                         "(OrgsMaxSessionsPerOrg within OrgsLoginTimeout): "
                                         "sign-in via connection %s refused: %s",
                        cb->org->name, cb->conn->name, err->msg);
        return refuse_for_a_minute(
            c, "Too many people are signing in to your organization right now.");
    }
    if (cb->in.over_quota == ORGS_QUOTA_DENIALS_PER_CONN) {
        /* refused anyway: their marks fill the share of this org and
         * connection only, never the org's members' */
        orgs_log_rerror(r, APLOG_WARNING, APR_ENOSPC,
                        ORGSLOGNO(00260) "callback: org %s refuses too many sign-ins through "
                                         "connection %s (OrgsMaxSessionsPerOrg within "
                                         "OrgsLoginTimeout): this refused one not recorded: %s",
                        cb->org->name, cb->conn->name, err->msg);
        return refuse_for_a_minute(
            c,
            "Too many sign-ins through your identity provider are being refused here right now.");
    }
    orgs_log_rerror(r, APLOG_WARNING, APR_ENOSPC,
                    ORGSLOGNO(00520) "callback: quota reached, sign-in to org %s via connection "
                                     "%s refused: %s",
                    cb->org->name, cb->conn->name, err->msg);
    return refuse(c, HTTP_FORBIDDEN, "access_denied",
                  "Your organization has reached its limit of accounts or sessions here. "
                  "Please contact its administrator.");
}

/* Commits what was decided in one store transaction and answers: signed
 * in (the cookies, back to return_to), access_denied, a replay, or the
 * store's failure (nothing written). */
static int commit_and_answer(orgs_route_t *c, callback_t *cb)
{
    request_rec *r = c->r;
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    const long max_age = (long)apr_time_sec(sc->session_max_age);
    int admitted = ORGS_ADMIT_DENIED;
    orgs_err_t err = {{0}};
    apr_status_t rv;

    /* the audit records of this commit (a join, an invitation accepted) */
    orgs_store_actor_set(
        c->st, apr_pstrcat(r->pool, cb->in.invite ? "invitation:" : "login:", cb->conn->name, NULL),
        r->useragent_ip);
    /* a node of a PostgreSQL store writes through the database */
    if (orgs_pgwrite_on(r)) {
        rv = orgs_pgwrite_signin(r, c->st, &cb->in, &cb->user, &admitted, &err);
    } else {
        rv = orgs_store_signin_commit(c->st, &cb->in, &cb->user, &admitted, r->pool, &err);
        if (rv == ORGS_ESTOREFULL && orgs_sweep_when_full(r, c->st, cb->in.now)) {
            /* expired sessions made room; the refused commit wrote nothing */
            rv = orgs_store_signin_commit(c->st, &cb->in, &cb->user, &admitted, r->pool, &err);
        }
    }
    orgs_store_actor_clear(c->st);
    if (rv == ORGS_PGWRITE_DOWN || rv == ORGS_PGWRITE_BUSY || rv == ORGS_PGWRITE_REFUSED) {
        discard_pending(c, cb); /* logged; nothing was written */
        return orgs_pgwrite_unavailable(r, "Signing in", c->return_to);
    }

    if (rv == APR_NOTFOUND) { /* a concurrent callback consumed the state first */
        return refuse_state(r, rv);
    }
    if (rv != APR_SUCCESS) {
        /* the failed transaction wrote nothing: the state goes all the same */
        discard_pending(c, cb);
        if (rv == ORGS_EEXPIRED) {
            return refuse_state(r, rv);
        }
        if (rv == APR_ENOSPC && cb->in.over_quota != ORGS_QUOTA_NONE) {
            orgs_invite_count_denial(r, c->st, cb->org->id);
            return refuse_quota(c, cb, &err);
        }
        orgs_log_rerror(r, APLOG_ERR, rv, ORGSLOGNO(00227) "callback: store error: %s", err.msg);
        return refuse(c, orgs_status_for(rv), "server_error", "The sign-in failed.");
    }
    if (admitted == ORGS_ADMIT_INVITE_REFUSED) {
        orgs_status_count(ORGS_CTR_DENY_NOT_MEMBER);
        return orgs_invite_refused(c, cb->in.invite_refused, cb->in.invite_id, cb->org->name,
                                   cb->conn->name);
    }
    if (admitted == ORGS_ADMIT_INVITED) {
        orgs_log_rerror(
            r, APLOG_INFO, 0, ORGSLOGNO(00759) "user %s accepted invitation %s to org %s via %s",
            cb->user->id, cb->in.invite_id ? cb->in.invite_id : "-", cb->org->name, cb->conn->name);
    }
    if (!orgs_signin_admitted(admitted)) {
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00226) "access_denied: user %s of connection %s is not a member "
                                         "of org %s (%s)",
                        cb->user ? cb->user->id : "-", cb->conn->name, cb->org->name,
                        orgs_signin_admit_str((orgs_admit_t)admitted));
        orgs_status_count(ORGS_CTR_DENY_NOT_MEMBER);
        return refuse(c, HTTP_FORBIDDEN, "access_denied",
                      "You are not a member of this organization.");
    }
    if (admitted == ORGS_ADMIT_JOINED) {
        orgs_log_rerror(r, APLOG_INFO, 0,
                        ORGSLOGNO(00225) "user %s joined org %s by auto-membership of %s",
                        cb->user->id, cb->org->name, cb->conn->name);
    }
    orgs_sweep_sessions(r, c->st, cb->in.now);
    orgs_endpoints_cookie_set(r, apr_pstrcat(r->pool, ORGS_COOKIE_SESSION, cb->org->name, NULL),
                              cb->sid, max_age);
    orgs_endpoints_cookie_set(r, ORGS_COOKIE_ORG, cb->org->name, max_age);
    orgs_log_rerror(r, APLOG_INFO, 0,
                    ORGSLOGNO(00229) "user %s signed in to org %s via connection %s", cb->user->id,
                    cb->org->name, cb->conn->name);
    orgs_status_count(ORGS_CTR_SIGNINS);
    return orgs_endpoints_redirect(r, c->return_to);
}

/* read the pending login -> verify the IdP's answer -> decide -> commit;
 * a refusal between the read and the commit deletes the pending login */
int orgs_callback_route(orgs_route_t *c)
{
    const char *repeated = orgs_signin_param_repeated(c->r->args);
    callback_t cb;
    int status;

    if (repeated) {
        orgs_log_rerror(c->r, APLOG_WARNING, 0,
                        ORGSLOGNO(00239) "callback: parameter '%s' given more than once", repeated);
        return orgs_endpoints_error_send(c->r, HTTP_BAD_REQUEST, "invalid_request",
                                         "The sign-in response is malformed.", "/");
    }
    /* a stale replica starts no session (the pending login stays for a retry) */
    if ((status = orgs_replica_lag_gate(c->r, c->st, "/")) != DECLINED) {
        return status;
    }
    memset(&cb, 0, sizeof(cb));
    cb.c = c;
    if ((status = read_pending(c, &cb)) != STEP_CONTINUE ||
        (status = verify_response(c, &cb)) != STEP_CONTINUE ||
        (status = decide(c, &cb)) != STEP_CONTINUE) {
        if (cb.pl) {
            discard_pending(c, &cb);
        }
        return status;
    }
    return commit_and_answer(c, &cb);
}
