/* [glue] /login: resolve the org (by name, id or email domain), show the
 * connection chooser when the org has several, and send the browser to the
 * IdP with a pending login; plus the challenge check_authn answers with. */
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>

#include "private.h"
#include "crypto.h"
#include "html.h"
#include "oidc.h"
#include "parse.h"
#include "url.h"
#include "endpoints.h"
#include "sweep.h"
#include "admit.h"
#include "crosssite.h"
#include "render.h"
#include "account.h"
#include "invite.h"
#include "status.h"
#include "upstream.h"
#include "pending_cookie.h"
#include "replica_lag.h"
#include "pgwrite.h"

/* Pending logins kept per browser; older ones are dropped. */
#define ORGS_PENDING_PER_BROWSER 5

/* ---- the challenge (from check_authn) ------------------------------- */

/* Requests that cannot follow a login page (XHR, fetch, APIs, non-GET)
 * get 401 so they never pile up pending logins. */
static int is_api_request(request_rec *r)
{
    const char *xrw = apr_table_get(r->headers_in, "X-Requested-With");
    const char *mode = apr_table_get(r->headers_in, "Sec-Fetch-Mode");
    const char *accept = apr_table_get(r->headers_in, "Accept");

    if (r->method_number != M_GET) {
        return 1;
    }
    if (xrw && strcasecmp(xrw, "XMLHttpRequest") == 0) {
        return 1;
    }
    if (mode && strcasecmp(mode, "navigate") != 0) {
        return 1;
    }
    return accept && !ap_strcasestr(accept, "html");
}

int orgs_login_challenge(request_rec *r, const char *org)
{
    const char *return_to = r->unparsed_uri;
    orgs_err_t err;

    if (orgs_dir_unauthenticated(orgs_dir_cfg(r)) == ORGS_UNAUTH_401 || is_api_request(r)) {
        orgs_log_rerror(r, APLOG_DEBUG, 0, ORGSLOGNO(00201) "no valid session: answering 401");
        orgs_endpoints_no_store(r);
        apr_table_setn(
            r->err_headers_out, "WWW-Authenticate",
            apr_psprintf(r->pool, "Orgs login=\"%s\"", orgs_endpoints_path(r, "/login")));
        return HTTP_UNAUTHORIZED;
    }
    if (!return_to || orgs_url_return_to_check(return_to, &err) != APR_SUCCESS) {
        return_to = "/";
    }
    /* the browser cookie now, so a browser arriving from a page shows it
     * at the login start and is never asked for it there (admit.h) */
    if (orgs_srv_cfg(r->server)->keys) {
        int proven, issued;
        orgs_admit_browser(r, &proven, &issued);
    }
    orgs_log_rerror(r, APLOG_DEBUG, 0,
                    ORGSLOGNO(00202) "no valid session: redirecting to the login endpoint");
    return orgs_endpoints_redirect(r, orgs_url_append_params(orgs_endpoints_path(r, "/login"),
                                                             r->pool, "return_to", return_to,
                                                             "organization", org, NULL));
}

/* ---- /login ------------------------------------------------------------ */

static int prompt(orgs_route_t *c, int status, const char *error, const char *value)
{
    return orgs_render_prompt(c, status, error, value);
}

/* Stores the pending login (of a browser that showed our cookie) within
 * the per-client and per-network bounds: pl->state becomes the stored
 * state. */
static apr_status_t admit_pending(orgs_route_t *c, orgs_pending_t *pl, orgs_err_t *err)
{
    request_rec *r = c->r;
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    unsigned char client[ORGS_STORE_CLIENT_TAG_LEN], net[ORGS_STORE_CLIENT_TAG_LEN];
    orgs_pending_admit_t lim;
    apr_size_t evicted = 0;
    apr_status_t rv = orgs_admit_client(r, client, net);

    if (rv != APR_SUCCESS) {
        return orgs_err_set(err, rv, "cannot hash the client's address");
    }
    memset(&lim, 0, sizeof(lim));
    lim.client = sc->pending_per_client ? client : NULL;
    lim.max_per_browser = ORGS_PENDING_PER_BROWSER;
    lim.max_per_client = sc->pending_per_client;
    lim.net = net;
    lim.max_per_net = sc->pending_per_network;
    lim.proven = 1;
    lim.ttl = sc->login_timeout;
    rv = orgs_store_pending_admit(c->st, pl, &lim, &evicted, r->pool, err);
    if (rv == APR_SUCCESS && evicted) {
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00524) "login: %" APR_SIZE_T_FMT " sign-ins in progress were "
                                         "dropped to admit this one from client %s "
                                         "(OrgsMaxPendingPerClient, OrgsMaxPendingPerNetwork, "
                                         "or the table is full: its fullest network's went)",
                        evicted, r->useragent_ip);
    }
    return rv;
}

/* One line per issuer and interval while its IdP fails (the log gate):
 * retrying clients must not flood the error log. */
static void log_metadata_failure(request_rec *r, const orgs_conn_t *conn, apr_status_t rv,
                                 const orgs_err_t *err)
{
    const char *note;
    if (rv == APR_EBUSY) {
        /* the fetching request logs the outcome; this one only waited */
        orgs_log_rerror(r, APLOG_DEBUG, rv,
                        ORGSLOGNO(00585) "connection %s: identity provider metadata being "
                                         "fetched by another request: %s; answered 503",
                        conn->name, err->msg);
        return;
    }
    if (!orgs_upstream_log_gate(r, conn->issuer, "login", &note)) {
        return;
    }
    if (rv == APR_EAGAIN) {
        orgs_log_rerror(r, APLOG_WARNING, rv,
                        ORGSLOGNO(00580) "connection %s: identity provider not asked now: %s; "
                                         "answered 503%s",
                        conn->name, err->msg, note);
    } else if (rv == APR_EACCES) {
        orgs_log_rerror(r, APLOG_ERR, rv,
                        ORGSLOGNO(00581) "connection %s: back-channel endpoint refused: %s%s",
                        conn->name, err->msg, note);
    } else {
        orgs_log_rerror(
            r, APLOG_ERR, rv,
            ORGSLOGNO(00204) "connection %s: identity provider metadata unavailable: %s%s",
            conn->name, err->msg, note);
    }
}

/* Sends the browser to the IdP with a fresh state, nonce and PKCE
 * verifier, remembered server-side as a pending login bound to this
 * browser. */
static int start_login(orgs_route_t *c, const orgs_org_t *org, const orgs_enabled_conn_t *ec,
                       const char *login_hint, const char *invite)
{
    request_rec *r = c->r;
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    orgs_conn_t *conn;
    orgs_oidc_provider_t *prov;
    orgs_pending_t pl;
    const char *browser, *challenge;
    char *state, *nonce, *verifier;
    int proven, issued;
    orgs_err_t err = {{0}};
    apr_status_t rv;
    int lagging = orgs_replica_lag_gate(r, c->st, c->return_to);

    if (lagging != DECLINED) { /* a stale replica starts no session */
        return lagging;
    }
    if (orgs_pgwrite_known_down(r)) { /* its callback could not be written */
        orgs_log_rerror(r, APLOG_INFO, 0,
                        ORGSLOGNO(00867) "login start refused: this process found PostgreSQL "
                                         "down moments ago (503 at once, not at the callback)");
        return orgs_pgwrite_unavailable(r, "Signing in", c->return_to);
    }
    rv = orgs_store_conn_get(c->st, ec->conn_id, &conn, r->pool, &err);
    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_ERR, rv, ORGSLOGNO(00203) "connection %s: cannot read it: %s",
                        ec->conn_id, err.msg);
        return orgs_endpoints_error_send(r, HTTP_INTERNAL_SERVER_ERROR, "server_error",
                                         "The sign-in could not be started.", c->return_to);
    }
    orgs_http_opts_t opts = orgs_upstream_opts(r, conn);
    rv = orgs_oidc_provider_get(c->st, conn->issuer, apr_time_now(), &opts, &prov, r->pool, &err);
    if (rv != APR_SUCCESS) {
        log_metadata_failure(r, conn, rv, &err);
        orgs_status_idp_error(conn->name);
        return orgs_endpoints_error_send(r, orgs_upstream_status(r, rv), "temporarily_unavailable",
                                         "The organization's identity provider cannot be reached "
                                         "right now. Please try again in a few seconds.",
                                         c->return_to);
    }

    /* Nothing is stored for a browser that has not shown the cookie of
     * ours it keeps: it is given one and sent back here once (a cookieless
     * flood stores nothing). After the provider's metadata, which is
     * shared, cached and single-flight: an unreachable IdP answers 502/503
     * at once, cookie or not. A login kept in the browser's cookie stores
     * nothing at all: it is bound to the browser cookie given with it, and
     * goes to the IdP at once. */
    browser = orgs_admit_browser(r, &proven, &issued);
    if (browser && !proven && !orgs_pending_cookie_on(r)) {
        return orgs_admit_ask_cookie(c, issued, org->name, ec->conn_name, login_hint);
    }
    rv = browser ? APR_SUCCESS : ORGS_ECRYPTO;
    char **const tokens[] = {&state, &nonce, &verifier};
    if (rv != APR_SUCCESS ||
        (rv = orgs_crypto_random_tokens(32, tokens, 3, r->pool)) != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_ERR, rv, ORGSLOGNO(00246) "cannot draw the login's random tokens");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    memset(&pl, 0, sizeof(pl));
    pl.state = state;
    pl.nonce = nonce;
    rv = orgs_crypto_hmac(sc->keys->state, browser, strlen(browser), pl.browser);
    challenge = rv == APR_SUCCESS ? orgs_crypto_sha256_b64url(verifier, r->pool) : NULL;
    if (!challenge) {
        rv = rv != APR_SUCCESS ? rv : ORGS_ECRYPTO;
        orgs_log_rerror(r, APLOG_ERR, rv,
                        ORGSLOGNO(00250) "login: cannot hash the browser binding or the PKCE "
                                         "verifier");
        return orgs_endpoints_error_send(r, orgs_status_for(rv), "server_error",
                                         "The sign-in could not be started.", c->return_to);
    }
    pl.code_verifier = verifier;
    pl.org_id = org->id;
    pl.conn_id = conn->id;
    pl.return_to = c->return_to;
    pl.created = apr_time_now();
    pl.invite = invite; /* the invitation followed: its ticket's hash */
    /* in the browser's cookie (the default): nothing written, and with
     * several nodes any of them takes the callback */
    if (orgs_pending_cookie_on(r)) {
        rv = orgs_pending_cookie_put(r, &pl, &err);
    } else {
        rv = admit_pending(c, &pl, &err);
        if (rv == ORGS_ESTOREFULL && orgs_sweep_when_full(r, c->st, pl.created)) {
            rv = admit_pending(c, &pl, &err); /* expired sessions made room */
        }
    }
    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_ERR, rv, ORGSLOGNO(00205) "cannot record the pending login: %s",
                        err.msg);
        return orgs_endpoints_error_send(r, orgs_status_for(rv), "server_error",
                                         "The sign-in could not be started.", c->return_to);
    }
    orgs_log_rerror(r, APLOG_INFO, 0,
                    ORGSLOGNO(00206) "login to org %s via connection %s: redirecting to the IdP",
                    org->name, conn->name);
    return orgs_endpoints_redirect(
        r, orgs_oidc_auth_url(prov, conn->client_id, orgs_endpoints_redirect_uri(r), conn->scopes,
                              pl.state, pl.nonce, challenge, login_hint, r->pool));
}

/* The org named by organization= (a name or an id) or, for an email
 * (typed into the prompt or given as login_hint), the org owning its
 * domain: home-realm discovery. Answers the page itself when it cannot
 * tell (returns non-NULL status in *done). */
static const orgs_org_t *resolve_org(orgs_route_t *c, const char **hint, int *done)
{
    request_rec *r = c->r;
    const char *name = apr_table_get(c->args, "organization");
    orgs_org_t *org = NULL;
    orgs_err_t err = {{0}};
    apr_status_t rv;

    if (name && strchr(name, '@')) {
        *hint = name;
        name = NULL;
    }
    if (name && *name) {
        rv = orgs_account_org_find(c->st, name, &org, r->pool, &err);
        if (rv == APR_EEXIST) {
            *done = prompt(c, HTTP_NOT_FOUND, "prompt.ambiguous", name);
            return NULL;
        }
        if (rv == APR_NOTFOUND) {
            orgs_log_rerror(r, APLOG_INFO, 0,
                            ORGSLOGNO(00207) "login: unknown organization requested");
            *done = prompt(c, HTTP_NOT_FOUND, "prompt.unknown", name);
            return NULL;
        }
    } else if (*hint && **hint) {
        char *email;
        const char *domain;
        if ((rv = orgs_parse_email(*hint, &email, &domain, r->pool, &err)) != APR_SUCCESS) {
            orgs_log_rerror(r, APLOG_INFO, rv, ORGSLOGNO(00208) "login: malformed email: %s",
                            err.msg);
            *done = prompt(c, HTTP_BAD_REQUEST, "prompt.bad_email", *hint);
            return NULL;
        }
        *hint = email;
        rv = orgs_store_org_by_domain(c->st, domain, &org, r->pool, &err);
        if (rv == APR_NOTFOUND) {
            orgs_log_rerror(r, APLOG_INFO, 0,
                            ORGSLOGNO(00209) "login: no organization owns the domain %s", domain);
            *done = prompt(c, HTTP_NOT_FOUND, "prompt.no_domain", email);
            return NULL;
        }
    } else {
        *done = prompt(c, HTTP_OK, NULL, NULL);
        return NULL;
    }
    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_ERR, rv, ORGSLOGNO(00210) "login: store error: %s", err.msg);
        *done = orgs_endpoints_error_send(r, HTTP_INTERNAL_SERVER_ERROR, "server_error",
                                          "The sign-in could not be started.", c->return_to);
        return NULL;
    }
    return org;
}

int orgs_login_route(orgs_route_t *c)
{
    request_rec *r = c->r;
    const char *hint = apr_table_get(c->args, "login_hint");
    const char *want = apr_table_get(c->args, "connection");
    const orgs_enabled_conn_t *chosen = NULL;
    const orgs_org_t *org;
    apr_array_header_t *conns;
    orgs_invite_t *inv = NULL;
    const char *invite = NULL;
    orgs_err_t err = {{0}};
    apr_status_t rv;
    int done = DECLINED;

    if (apr_table_get(c->args, "invitation") &&
        (done = orgs_invite_login(c, &inv, &invite)) != DECLINED) {
        return done;
    }
    if (inv && (!hint || !*hint) && !inv->any_email) {
        hint = inv->email; /* the IdP may pre-fill it */
    }
    if (!(org = resolve_org(c, &hint, &done))) {
        return done;
    }
    if (inv && strcmp(inv->org_id, org->id) != 0) {
        return orgs_invite_other_org(c, org, inv);
    }
    orgs_render_ctx(r, org); /* from here on the org's own pages */
    rv = orgs_store_org_conns(c->st, org->id, &conns, r->pool, &err);
    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_ERR, rv,
                        ORGSLOGNO(00211) "login: cannot list connections of org %s: %s", org->name,
                        err.msg);
        return orgs_endpoints_error_send(r, HTTP_INTERNAL_SERVER_ERROR, "server_error",
                                         "The sign-in could not be started.", c->return_to);
    }
    for (int i = 0; i < conns->nelts; i++) {
        const orgs_enabled_conn_t *ec = APR_ARRAY_IDX(conns, i, orgs_enabled_conn_t *);
        if (want && (strcmp(ec->conn_name, want) == 0 || strcmp(ec->conn_id, want) == 0)) {
            chosen = ec;
        }
    }
    if (want && !chosen) {
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00212) "login: connection not enabled on org %s; refused before "
                                         "contacting any IdP",
                        org->name);
        return orgs_endpoints_error_send(
            r, HTTP_FORBIDDEN, "access_denied",
            "This sign-in method is not available for your organization.", c->return_to);
    }
    if (!chosen && conns->nelts == 0) {
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00213) "login: org %s has no enabled connection", org->name);
        return orgs_endpoints_error_send(r, HTTP_FORBIDDEN, "access_denied",
                                         "Your organization has no sign-in method configured.",
                                         c->return_to);
    }
    if (inv && !chosen && conns->nelts > 0) {
        return orgs_invite_page(c, org, inv, conns);
    }
    if (!chosen && conns->nelts > 1) {
        orgs_html_conn_t *list = apr_pcalloc(r->pool, sizeof(*list) * (apr_size_t)conns->nelts);
        for (int i = 0; i < conns->nelts; i++) {
            const orgs_enabled_conn_t *ec = APR_ARRAY_IDX(conns, i, orgs_enabled_conn_t *);
            list[i].name = ec->conn_name;
            list[i].display_name = ec->conn_display_name;
        }
        return orgs_endpoints_page_send(
            r, HTTP_OK,
            orgs_html_chooser_page(orgs_req_get(r)->page, orgs_endpoints_path(r, "/login"),
                                   org->name, org->display_name, list, (apr_size_t)conns->nelts,
                                   c->return_to));
    }
    if (!chosen) {
        chosen = APR_ARRAY_IDX(conns, 0, orgs_enabled_conn_t *);
    }
    if (!orgs_crosssite_login_gate(c, org->name, org->display_name ? org->display_name : org->name,
                                   chosen->conn_name, hint, &done)) {
        return done;
    }
    return start_login(c, org, chosen, hint, invite);
}
