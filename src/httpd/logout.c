/* [glue] /logout (here and, when the IdP offers it, RP-initiated logout
 * there) and /logged-out, where the IdP sends the browser back. */
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>

#include "private.h"
#include "crypto.h"
#include "oidc.h"
#include "checks.h"
#include "url.h"
#include "endpoints.h"
#include "crosssite.h"
#include "upstream.h"
#include "pgwrite.h"

/* ---- /logout ----------------------------------------------------------- */

/* Ends the session of the org (organization= or the current one) here and,
 * when the IdP offers it, there too (RP-initiated logout). */
int orgs_logout_route(orgs_route_t *c)
{
    request_rec *r = c->r;
    const char *org = apr_table_get(c->args, "organization");
    const char *current = orgs_endpoints_cookie_get(r, ORGS_COOKIE_ORG);
    const char *sid, *cookie, *dest = c->return_to, *hint = NULL;
    orgs_session_view_t *view = NULL;
    unsigned char hash[32];
    orgs_err_t err = {{0}};
    apr_status_t rv;
    int done = DECLINED;

    if (!org) {
        org = current;
    }
    if (!org || orgs_check_slug(org, &err) != APR_SUCCESS) {
        return orgs_endpoints_redirect(r, dest);
    }
    if (!apr_table_get(c->args, "return_to")) {
        /* nowhere asked for: the page saying so (here or after the IdP) */
        dest = c->return_to = orgs_url_append_params(orgs_endpoints_path(r, "/signed-out"), r->pool,
                                                     "organization", org, NULL);
    }
    cookie = apr_pstrcat(r->pool, ORGS_COOKIE_SESSION, org, NULL);
    sid = orgs_endpoints_cookie_get(r, cookie);
    /* a sign-out another site asked for waits for the user's confirmation */
    if (!orgs_crosssite_logout_gate(c, org, sid, &done)) {
        return done;
    }
    if (sid && (rv = orgs_crypto_sha256(sid, strlen(sid), hash)) != APR_SUCCESS) {
        /* the cookie goes anyway; the session stays until it expires */
        orgs_log_rerror(r, APLOG_ERR, rv,
                        ORGSLOGNO(00251) "cannot hash the session cookie: the session of org %s "
                                         "is not ended in the store",
                        org);
        sid = NULL;
    }
    if (sid) {
        if ((rv = orgs_store_session_view(c->st, hash, apr_time_now(),
                                          orgs_srv_cfg(r->server)->session_idle, &view, r->pool,
                                          &err)) != APR_SUCCESS ||
            (rv = orgs_store_session_hint_get(c->st, hash, &hint, r->pool, &err)) != APR_SUCCESS) {
            /* a session gone or expired has nothing to end at the IdP */
            if (rv != APR_NOTFOUND && rv != ORGS_EEXPIRED) {
                orgs_log_rerror(r, APLOG_WARNING, rv,
                                ORGSLOGNO(00252) "logout: cannot read the session of org %s, "
                                                 "so it is not ended at the IdP: %s",
                                org, err.msg);
            }
            view = NULL;
        }
        /* on every node: through the database when there is one; while it
         * is down the session and its cookie stay, so signing out again
         * later ends it everywhere */
        rv = orgs_pgwrite_on(r) ? orgs_pgwrite_session_end(r, c->st, hash, &err)
                                : orgs_store_session_delete(c->st, hash, r->pool, &err);
        if (rv == ORGS_PGWRITE_DOWN || rv == ORGS_PGWRITE_BUSY || rv == ORGS_PGWRITE_REFUSED) {
            return orgs_pgwrite_unavailable(r, "Signing out", dest);
        }
        if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
            /* the cookie goes anyway; the session stays until it expires */
            orgs_log_rerror(r, APLOG_WARNING, rv,
                            ORGSLOGNO(00244) "cannot end the session of org %s: %s", org, err.msg);
        }
    }
    orgs_endpoints_cookie_set(r, cookie, "", 0);
    /* orgs_org may point at another org that stays signed in. */
    if (current && strcmp(current, org) == 0) {
        orgs_endpoints_cookie_set(r, ORGS_COOKIE_ORG, "", 0);
    }
    if (view) {
        orgs_conn_t *conn;
        orgs_oidc_provider_t *prov;
        orgs_http_opts_t opts;
        orgs_log_rerror(r, APLOG_INFO, 0, ORGSLOGNO(00230) "user %s signed out of org %s",
                        view->user.id, org);
        if (orgs_store_conn_get(c->st, view->session.conn_id, &conn, r->pool, &err) !=
            APR_SUCCESS) {
            conn = NULL;
        }
        opts = orgs_upstream_opts(r, conn);
        if (conn &&
            orgs_oidc_provider_get(c->st, conn->issuer, apr_time_now(), &opts, &prov, r->pool,
                                   &err) == APR_SUCCESS &&
            prov->end_session_endpoint) {
            /* One fixed post-logout URI to register at the IdP; where to
             * go from there travels in state (checked again on return). */
            dest = orgs_url_append_params(
                prov->end_session_endpoint, r->pool, "id_token_hint", hint, "client_id",
                conn->client_id, "post_logout_redirect_uri",
                apr_pstrcat(r->pool, orgs_endpoints_base_url(r), orgs_srv_cfg(r->server)->endpoint,
                            "/logged-out", NULL),
                "state", c->return_to, NULL);
        }
    }
    return orgs_endpoints_redirect(r, dest);
}

/* Where the IdP sends the browser after RP-initiated logout: on to the
 * local path carried in state (validated like any return_to). */
int orgs_logout_done_route(orgs_route_t *c)
{
    const char *dest = apr_table_get(c->args, "state");
    orgs_err_t err = {{0}};

    if (!dest || orgs_url_return_to_check(dest, &err) != APR_SUCCESS) {
        dest = "/";
    }
    return orgs_endpoints_redirect(c->r, dest);
}
