#include <apr_strings.h>
#include <apr_lib.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>

#include "private.h"
#include "cookie.h"
#include "crypto.h"
#include "html.h"
#include "http.h"
#include "jose.h"
#include "oidc.h"
#include "parse.h"
#include "signin.h"
#include "url.h"
#include "login.h"

/* ---- cookies ---------------------------------------------------------- */

static int is_https(request_rec *r)
{
    const char *pub = orgs_srv_cfg(r->server)->public_url;
    if (pub) {
        return strncasecmp(pub, "https:", 6) == 0;
    }
    return strcmp(ap_http_scheme(r), "https") == 0;
}

/* The cookie of this request named name (without the __Host- prefix):
 * scanned in place by the core, which applies the rule for a cookie sent
 * twice. */
static int feed_cookie_header(void *rec, const char *key, const char *header)
{
    return orgs_cookie_scan_feed(rec, header);
}

const char *orgs_login_cookie_get(request_rec *r, const char *name)
{
    orgs_cookie_scan_t scan;
    const char *value;

    orgs_cookie_scan_init(&scan, orgs_cookie_name(name, is_https(r), r->pool));
    apr_table_do(feed_cookie_header, &scan, r->headers_in, "Cookie", NULL);
    if (orgs_cookie_scan_value(&scan, &value, r->pool) == APR_EEXIST) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      ORGSLOGNO(00240) "cookie %s sent twice with different values: ignored",
                      scan.name);
        return NULL;
    }
    return value;
}

/* max_age < 0: a browser-session cookie; 0 removes it. */
static void cookie_set(request_rec *r, const char *name, const char *value, long max_age)
{
    apr_table_addn(r->err_headers_out, "Set-Cookie",
                   orgs_cookie_header_make(name, value, is_https(r), max_age, r->pool));
}

/* ---- responses -------------------------------------------------------- */

static void no_store(request_rec *r)
{
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "Pragma", "no-cache");
}

static int send_page(request_rec *r, int status, const char *html)
{
    no_store(r);
    apr_table_setn(r->err_headers_out, "Content-Security-Policy",
                   "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    apr_table_setn(r->err_headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->err_headers_out, "Referrer-Policy", "no-referrer");
    r->status = status;
    ap_set_content_type(r, "text/html; charset=utf-8");
    if (!r->header_only) {
        ap_rputs(html, r);
    }
    return OK;
}

static int redirect(request_rec *r, const char *url)
{
    no_store(r);
    apr_table_setn(r->headers_out, "Location", url);
    return HTTP_MOVED_TEMPORARILY;
}

static const char *login_path(request_rec *r)
{
    return apr_pstrcat(r->pool, orgs_srv_cfg(r->server)->endpoint, "/login", NULL);
}

/* OrgsErrorURL of the location the login returns to (the endpoints
 * themselves only see the server's defaults). Looked up on the error path
 * only, with a subrequest that check_authn answers without any work. */
static const char *error_url_for(request_rec *r, const char *return_to)
{
    const char *url = orgs_dir_error_url(orgs_dir_cfg(r));
    if (return_to && return_to[0] == '/') {
        const char *path = apr_pstrmemdup(r->pool, return_to, strcspn(return_to, "?#"));
        request_rec *rr;
        apr_table_setn(r->notes, ORGS_NOTE_LOOKUP, "1");
        rr = ap_sub_req_lookup_uri(path, r, NULL);
        apr_table_unset(r->notes, ORGS_NOTE_LOOKUP);
        if (rr) {
            const char *loc = rr->per_dir_config ? orgs_dir_error_url(ap_get_module_config(
                                                       rr->per_dir_config, &auth_orgs_module))
                                                 : NULL;
            url = loc ? loc : url;
            ap_destroy_sub_req(rr);
        }
    }
    return url;
}

/* Login errors: the module's page, or OrgsErrorURL with error and
 * error_description parameters when set. The code is one of OAuth's
 * (access_denied, invalid_request, server_error, temporarily_unavailable). */
static int login_error(request_rec *r, int status, const char *code, const char *desc,
                       const char *return_to)
{
    const char *error_url = error_url_for(r, return_to);
    if (error_url) {
        return redirect(r, orgs_url_append_params(error_url, r->pool, "error", code,
                                                  "error_description", desc, NULL));
    }
    const char *retry = orgs_url_append_params(login_path(r), r->pool, "return_to",
                                               return_to ? return_to : "/", NULL);
    return send_page(r, status, orgs_html_error_page(NULL, code, desc, retry, r->pool));
}

static const char *base_url(request_rec *r)
{
    const char *pub = orgs_srv_cfg(r->server)->public_url;
    return pub ? pub : ap_construct_url(r->pool, "", r);
}

static const char *redirect_uri(request_rec *r)
{
    return apr_pstrcat(r->pool, base_url(r), orgs_srv_cfg(r->server)->endpoint, "/callback", NULL);
}

static orgs_http_opts_t http_opts(void)
{
    orgs_http_opts_t opts = {0, 0, 0, NULL};
    return opts;
}

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
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      ORGSLOGNO(00201) "no valid session: answering 401");
        no_store(r);
        apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                       apr_psprintf(r->pool, "Orgs login=\"%s\"", login_path(r)));
        return HTTP_UNAUTHORIZED;
    }
    if (!return_to || orgs_url_return_to_check(return_to, &err) != APR_SUCCESS) {
        return_to = "/";
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  ORGSLOGNO(00202) "no valid session: redirecting to the login endpoint");
    return redirect(r, orgs_url_append_params(login_path(r), r->pool, "return_to", return_to,
                                              "organization", org, NULL));
}

/* ---- /login ------------------------------------------------------------ */

typedef struct {
    request_rec *r;
    orgs_store_t *st;
    apr_table_t *args;
    const char *return_to;
} route_ctx_t;

static int prompt(route_ctx_t *c, int status, const char *error, const char *value)
{
    return send_page(
        c->r, status,
        orgs_html_prompt_page(login_path(c->r), c->return_to, error, value, c->r->pool));
}

/* Sends the browser to the IdP with a fresh state, nonce and PKCE
 * verifier, remembered server-side as a pending login bound to this
 * browser. */
static int start_login(route_ctx_t *c, const orgs_org_t *org, const orgs_enabled_conn_t *ec,
                       const char *login_hint)
{
    request_rec *r = c->r;
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    orgs_http_opts_t opts = http_opts();
    orgs_conn_t *conn;
    orgs_oidc_provider_t *prov;
    orgs_pending_t pl;
    const char *browser, *verifier;
    orgs_err_t err = {{0}};
    apr_status_t rv;

    rv = orgs_store_conn_get(c->st, ec->conn_id, &conn, r->pool, &err);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      ORGSLOGNO(00203) "connection %s: cannot read it: %s", ec->conn_id, err.msg);
        return login_error(r, HTTP_INTERNAL_SERVER_ERROR, "server_error",
                           "The sign-in could not be started.", c->return_to);
    }
    rv = orgs_oidc_provider_get(c->st, conn->issuer, apr_time_now(), &opts, &prov, r->pool, &err);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      ORGSLOGNO(00204) "connection %s: identity provider metadata unavailable: %s",
                      conn->name, err.msg);
        return login_error(r, HTTP_BAD_GATEWAY, "temporarily_unavailable",
                           "The organization's identity provider cannot be reached.", c->return_to);
    }

    browser = orgs_login_cookie_get(r, ORGS_COOKIE_BROWSER);
    if (!browser || strlen(browser) != 43) {
        if (orgs_crypto_random_token(32, (char **)&browser, r->pool) != APR_SUCCESS) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        cookie_set(r, ORGS_COOKIE_BROWSER, browser, -1);
    }
    memset(&pl, 0, sizeof(pl));
    if (orgs_crypto_random_token(32, (char **)&pl.state, r->pool) != APR_SUCCESS ||
        orgs_crypto_random_token(32, (char **)&pl.nonce, r->pool) != APR_SUCCESS ||
        orgs_crypto_random_token(32, (char **)&verifier, r->pool) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    orgs_crypto_hmac(sc->keys->state, browser, strlen(browser), pl.browser);
    pl.code_verifier = verifier;
    pl.org_id = org->id;
    pl.conn_id = conn->id;
    pl.return_to = c->return_to;
    pl.created = apr_time_now();
    rv = orgs_store_pending_put(c->st, &pl, ORGS_PENDING_PER_BROWSER, sc->login_timeout, r->pool,
                                &err);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      ORGSLOGNO(00205) "cannot record the pending login: %s", err.msg);
        return login_error(r,
                           (rv == ORGS_ESTOREFULL || rv == APR_ENOSPC) ? HTTP_SERVICE_UNAVAILABLE
                                                                       : HTTP_INTERNAL_SERVER_ERROR,
                           "server_error", "The sign-in could not be started.", c->return_to);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  ORGSLOGNO(00206) "login to org %s via connection %s: redirecting to the IdP",
                  org->name, conn->name);
    return redirect(r, orgs_oidc_auth_url(
                           prov, conn->client_id, redirect_uri(r), conn->scopes, pl.state, pl.nonce,
                           orgs_crypto_sha256_b64url(verifier, r->pool), login_hint, r->pool));
}

/* The org named by organization= (a name or an id) or, for an email
 * (typed into the prompt or given as login_hint), the org owning its
 * domain: home-realm discovery. Answers the page itself when it cannot
 * tell (returns non-NULL status in *done). */
static const orgs_org_t *resolve_org(route_ctx_t *c, const char **hint, int *done)
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
        rv = orgs_store_org_get(c->st, name, &org, r->pool, &err);
        if (rv == APR_NOTFOUND) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          ORGSLOGNO(00207) "login: unknown organization requested");
            *done = prompt(c, HTTP_NOT_FOUND, "No organization by that name.", name);
            return NULL;
        }
    } else if (*hint && **hint) {
        char *email;
        const char *domain;
        if (orgs_parse_email(*hint, &email, &domain, r->pool, &err) != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          ORGSLOGNO(00208) "login: malformed email: %s", err.msg);
            *done = prompt(c, HTTP_BAD_REQUEST, "That is not a valid email address.", *hint);
            return NULL;
        }
        *hint = email;
        rv = orgs_store_org_by_domain(c->st, domain, &org, r->pool, &err);
        if (rv == APR_NOTFOUND) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          ORGSLOGNO(00209) "login: no organization owns the domain %s", domain);
            *done = prompt(c, HTTP_NOT_FOUND,
                           "No organization uses that email domain. Enter your organization's "
                           "name instead.",
                           email);
            return NULL;
        }
    } else {
        *done = prompt(c, HTTP_OK, NULL, NULL);
        return NULL;
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, ORGSLOGNO(00210) "login: store error: %s",
                      err.msg);
        *done = login_error(r, HTTP_INTERNAL_SERVER_ERROR, "server_error",
                            "The sign-in could not be started.", c->return_to);
        return NULL;
    }
    return org;
}

static int route_login(route_ctx_t *c)
{
    request_rec *r = c->r;
    const char *hint = apr_table_get(c->args, "login_hint");
    const char *want = apr_table_get(c->args, "connection");
    const orgs_enabled_conn_t *chosen = NULL;
    const orgs_org_t *org;
    apr_array_header_t *conns;
    orgs_err_t err = {{0}};
    apr_status_t rv;
    int done = DECLINED;

    if (!(org = resolve_org(c, &hint, &done))) {
        return done;
    }
    rv = orgs_store_org_conns(c->st, org->id, &conns, r->pool, &err);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      ORGSLOGNO(00211) "login: cannot list connections of org %s: %s", org->name,
                      err.msg);
        return login_error(r, HTTP_INTERNAL_SERVER_ERROR, "server_error",
                           "The sign-in could not be started.", c->return_to);
    }
    for (int i = 0; i < conns->nelts; i++) {
        const orgs_enabled_conn_t *ec = APR_ARRAY_IDX(conns, i, orgs_enabled_conn_t *);
        if (want && (strcmp(ec->conn_name, want) == 0 || strcmp(ec->conn_id, want) == 0)) {
            chosen = ec;
        }
    }
    if (want && !chosen) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      ORGSLOGNO(00212) "login: connection not enabled on org %s; refused before "
                                       "contacting any IdP",
                      org->name);
        return login_error(r, HTTP_FORBIDDEN, "access_denied",
                           "This sign-in method is not available for your organization.",
                           c->return_to);
    }
    if (!chosen && conns->nelts == 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      ORGSLOGNO(00213) "login: org %s has no enabled connection", org->name);
        return login_error(r, HTTP_FORBIDDEN, "access_denied",
                           "Your organization has no sign-in method configured.", c->return_to);
    }
    if (!chosen && conns->nelts > 1) {
        orgs_html_conn_t *list = apr_pcalloc(r->pool, sizeof(*list) * (apr_size_t)conns->nelts);
        for (int i = 0; i < conns->nelts; i++) {
            const orgs_enabled_conn_t *ec = APR_ARRAY_IDX(conns, i, orgs_enabled_conn_t *);
            list[i].name = ec->conn_name;
            list[i].display_name = ec->conn_display_name;
        }
        return send_page(r, HTTP_OK,
                         orgs_html_chooser_page(login_path(r), org->name, org->display_name, list,
                                                (apr_size_t)conns->nelts, c->return_to, r->pool));
    }
    if (!chosen) {
        chosen = APR_ARRAY_IDX(conns, 0, orgs_enabled_conn_t *);
    }
    return start_login(c, org, chosen, hint);
}

/* ---- /callback --------------------------------------------------------- */

/* Callback steps return this to go on; anything else is the response
 * already decided (an error page returns OK, so OK cannot mean "go on"). */
#define STEP_CONTINUE DECLINED

/* Everything the callback learned; filled step by step. */
typedef struct {
    orgs_pending_t *pl;
    orgs_org_t *org;
    orgs_conn_t *conn;
    orgs_oidc_provider_t *prov;
    const char *id_token;
    json_t *claims;
    orgs_user_t *user;
} callback_t;

/* The pending login named by state, single use, and bound to this
 * browser. Returns OK or the response already decided. */
static int take_pending(route_ctx_t *c, callback_t *cb)
{
    request_rec *r = c->r;
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    const char *state = apr_table_get(c->args, "state");
    const char *browser = orgs_login_cookie_get(r, ORGS_COOKIE_BROWSER);
    unsigned char mac[32];
    orgs_err_t err = {{0}};
    apr_status_t rv;

    if (!state || !*state) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      ORGSLOGNO(00214) "callback: no state parameter");
        return login_error(r, HTTP_BAD_REQUEST, "invalid_request",
                           "The sign-in response is incomplete.", "/");
    }
    /* the store compares before it deletes: another browser cannot burn it */
    if (browser) {
        orgs_crypto_hmac(sc->keys->state, browser, strlen(browser), mac);
    }
    rv = orgs_store_pending_take(c->st, state, browser ? mac : NULL, apr_time_now(),
                                 sc->login_timeout, &cb->pl, r->pool, &err);
    if (rv == APR_NOTFOUND || rv == ORGS_EEXPIRED) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, ORGSLOGNO(00215) "callback: state %s",
                      rv == ORGS_EEXPIRED ? "expired" : "unknown, forged or already used");
        return login_error(r, HTTP_BAD_REQUEST, "invalid_request",
                           "This sign-in attempt is unknown or has expired. Please sign in again.",
                           "/");
    }
    if (rv == ORGS_EDENIED) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      ORGSLOGNO(00217) "callback: state was issued to another browser");
        return login_error(r, HTTP_BAD_REQUEST, "invalid_request",
                           "This sign-in attempt was started in another browser.", "/");
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, ORGSLOGNO(00216) "callback: store error: %s",
                      err.msg);
        return login_error(r, HTTP_INTERNAL_SERVER_ERROR, "server_error", "The sign-in failed.",
                           "/");
    }
    c->return_to = cb->pl->return_to;
    return STEP_CONTINUE;
}

/* The IdP's answer: RFC 9207 iss, error responses, then the code
 * exchange and the complete ID token verification. */
static int verify_response(route_ctx_t *c, callback_t *cb)
{
    request_rec *r = c->r;
    const char *iss = apr_table_get(c->args, "iss");
    const char *error = apr_table_get(c->args, "error");
    const char *code = apr_table_get(c->args, "code");
    orgs_http_opts_t opts = http_opts();
    orgs_err_t err = {{0}};
    apr_status_t rv;

    if ((rv = orgs_store_org_get(c->st, cb->pl->org_id, &cb->org, r->pool, &err)) != APR_SUCCESS ||
        (rv = orgs_store_conn_get_secret(c->st, cb->pl->conn_id, &cb->conn, r->pool, &err)) !=
            APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, rv == APR_NOTFOUND ? APLOG_WARNING : APLOG_ERR, 0, r,
                      ORGSLOGNO(00218) "callback: org or connection of the login is gone: %s",
                      err.msg);
        return login_error(r, rv == APR_NOTFOUND ? HTTP_FORBIDDEN : HTTP_INTERNAL_SERVER_ERROR,
                           "access_denied", "The organization or its sign-in method was removed.",
                           c->return_to);
    }
    rv = orgs_oidc_provider_get(c->st, cb->conn->issuer, apr_time_now(), &opts, &cb->prov, r->pool,
                                &err);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      ORGSLOGNO(00219) "callback: connection %s: provider metadata unavailable: %s",
                      cb->conn->name, err.msg);
        return login_error(r, HTTP_BAD_GATEWAY, "temporarily_unavailable",
                           "The organization's identity provider cannot be reached.", c->return_to);
    }
    if (iss && strcmp(iss, cb->prov->issuer) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      ORGSLOGNO(00220) "callback: iss parameter does not match connection %s's "
                                       "issuer (mix-up attack?)",
                      cb->conn->name);
        return login_error(r, HTTP_BAD_REQUEST, "invalid_request",
                           "The sign-in response came from the wrong identity provider.",
                           c->return_to);
    }
    if (!iss && cb->prov->iss_param_supported) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      ORGSLOGNO(00235) "callback: connection %s's IdP announces the iss "
                                       "parameter but the response has none (mix-up attack?)",
                      cb->conn->name);
        return login_error(r, HTTP_BAD_REQUEST, "invalid_request",
                           "The sign-in response came from the wrong identity provider.",
                           c->return_to);
    }
    if (error) {
        const char *desc = apr_table_get(c->args, "error_description");
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      ORGSLOGNO(00221) "callback: connection %s answered error '%s'",
                      cb->conn->name, ap_escape_logitem(r->pool, error));
        return login_error(
            r, strcmp(error, "access_denied") == 0 ? HTTP_FORBIDDEN : HTTP_BAD_REQUEST, error,
            desc ? desc : "The identity provider refused the sign-in.", c->return_to);
    }
    if (!code || !*code) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      ORGSLOGNO(00222) "callback: no code parameter");
        return login_error(r, HTTP_BAD_REQUEST, "invalid_request",
                           "The sign-in response is incomplete.", c->return_to);
    }
    rv = orgs_oidc_token_exchange(cb->prov, cb->conn->client_id, cb->conn->client_secret,
                                  cb->conn->auth_method, code, cb->pl->code_verifier,
                                  redirect_uri(r), &opts, &cb->id_token, NULL, r->pool, &err);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      ORGSLOGNO(00223) "callback: connection %s: code exchange failed: %s",
                      cb->conn->name, err.msg);
        return login_error(r, HTTP_BAD_GATEWAY, "server_error",
                           "The identity provider did not complete the sign-in.", c->return_to);
    }
    rv = orgs_oidc_id_token_verify(c->st, cb->prov, cb->conn->client_id, cb->id_token,
                                   cb->pl->nonce, apr_time_now(), ORGS_JOSE_DEFAULT_SKEW, &opts,
                                   &cb->claims, r->pool, &err);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      ORGSLOGNO(00224) "callback: connection %s: ID token rejected: %s",
                      cb->conn->name, err.msg);
        return login_error(r, HTTP_FORBIDDEN, "access_denied",
                           "The identity provider's answer could not be verified.", c->return_to);
    }
    return STEP_CONTINUE;
}

/* What the store knows about an asserted email's domain, for the core's
 * trusted-email rule. */
static void lookup_domain(void *baton, const char *domain, orgs_signin_domain_t *out)
{
    route_ctx_t *c = ((void **)baton)[0];
    const callback_t *cb = ((void **)baton)[1];
    orgs_org_t *owner;
    orgs_enabled_conn_t *ec;
    orgs_err_t err = {{0}};

    out->rv = orgs_store_org_by_domain(c->st, domain, &owner, c->r->pool, &err);
    if (out->rv != APR_SUCCESS) {
        return;
    }
    out->owner = owner->name;
    if (orgs_store_org_conn_get(c->st, owner->id, cb->conn->id, &ec, c->r->pool, &err) ==
        APR_SUCCESS) {
        out->conn_enabled = 1;
        out->auto_membership = ec->auto_membership;
    }
}

/* The email claim, when the core's rule trusts it (signin.h); each refusal
 * is logged. */
static const char *trusted_email(route_ctx_t *c, callback_t *cb)
{
    request_rec *r = c->r;
    void *baton[2] = {c, cb};
    orgs_signin_domain_t dom;
    const char *email;
    orgs_err_t err = {{0}};

    switch (
        orgs_signin_email_trust(cb->claims, lookup_domain, baton, &dom, &email, r->pool, &err)) {
    case ORGS_EMAIL_TRUSTED:
    case ORGS_EMAIL_ABSENT:
        break;
    case ORGS_EMAIL_UNVERIFIED:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      ORGSLOGNO(00241) "connection %s asserted an email marked unverified "
                                       "(%s): the email is not used",
                      cb->conn->name, err.msg);
        break;
    case ORGS_EMAIL_MALFORMED:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      ORGSLOGNO(00242) "connection %s asserted a malformed email (%s): the email "
                                       "is not used",
                      cb->conn->name, err.msg);
        break;
    case ORGS_EMAIL_FOREIGN:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      ORGSLOGNO(00238) "connection %s asserted an email in a domain of org %s, "
                                       "which it does not serve: the email is not used",
                      cb->conn->name, dom.rv == APR_SUCCESS && dom.owner ? dom.owner : "?");
        break;
    }
    return email;
}

static int admit(route_ctx_t *c, callback_t *cb)
{
    request_rec *r = c->r;
    const char *sub = orgs_jose_claim_str(cb->claims, "sub");
    const char *email = trusted_email(c, cb);
    const char *name = orgs_signin_display_name(cb->claims);
    orgs_enabled_conn_t *ec = NULL;
    orgs_member_t *member;
    orgs_err_t err = {{0}};
    apr_status_t rv;
    int created = 0;

    rv = orgs_store_org_conn_get(c->st, cb->org->id, cb->conn->id, &ec, r->pool, &err);
    if (rv == APR_SUCCESS) {
        rv = orgs_store_user_login(c->st, cb->conn->id, sub, email, name, apr_time_now(), &cb->user,
                                   &created, r->pool, &err);
    }
    if (rv == APR_SUCCESS) {
        rv = orgs_store_member_get(c->st, cb->org->id, cb->user->id, &member, r->pool, &err);
        if (rv == APR_NOTFOUND && ec->auto_membership) {
            rv = orgs_store_member_add(c->st, cb->org->id, cb->user->id, NULL, r->pool, &err);
            if (rv == APR_SUCCESS) {
                ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                              ORGSLOGNO(00225) "user %s joined org %s by auto-membership of %s",
                              cb->user->id, cb->org->name, cb->conn->name);
            }
            rv = rv == APR_EEXIST ? APR_SUCCESS : rv;
        }
    }
    if (rv == APR_NOTFOUND) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      ORGSLOGNO(00226) "access_denied: user %s of connection %s is not a member "
                                       "of org %s%s",
                      cb->user ? cb->user->id : "-", cb->conn->name, cb->org->name,
                      ec ? "" : " (connection no longer enabled on the org)");
        return login_error(r, HTTP_FORBIDDEN, "access_denied",
                           "You are not a member of this organization.", c->return_to);
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, ORGSLOGNO(00227) "callback: store error: %s",
                      err.msg);
        return login_error(r,
                           (rv == ORGS_ESTOREFULL || rv == APR_ENOSPC) ? HTTP_SERVICE_UNAVAILABLE
                                                                       : HTTP_INTERNAL_SERVER_ERROR,
                           "server_error", "The sign-in failed.", c->return_to);
    }
    return STEP_CONTINUE;
}

/* Sessions that expired or went idle are removed from time to time on the
 * login path (never per request); the last sweep's time is shared by all
 * children through the store. */
#define PURGE_INTERVAL apr_time_from_sec(900)
#define PURGE_KEY "purge:sessions"

static void purge_sessions(request_rec *r, orgs_store_t *st, apr_time_t now)
{
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    const char *last = NULL;
    apr_time_t at = 0;
    apr_size_t removed = 0;
    orgs_err_t err = {{0}};

    if (orgs_store_cache_get(st, PURGE_KEY, &last, &at, r->pool, &err) == APR_SUCCESS &&
        now - at < PURGE_INTERVAL) {
        return;
    }
    if (orgs_store_cache_put(st, PURGE_KEY, "", now, r->pool, &err) != APR_SUCCESS ||
        orgs_store_session_purge(st, now, sc->session_idle, &removed, r->pool, &err) !=
            APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      ORGSLOGNO(00236) "cannot remove expired sessions: %s", err.msg);
        return;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  ORGSLOGNO(00237) "removed %" APR_SIZE_T_FMT " expired sessions", removed);
}

/* A new session id on every login (no fixation); the org's previous
 * session in this browser is ended. */
static int open_session(route_ctx_t *c, callback_t *cb)
{
    request_rec *r = c->r;
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    const char *cookie = apr_pstrcat(r->pool, ORGS_COOKIE_SESSION, cb->org->name, NULL);
    const char *old = orgs_login_cookie_get(r, cookie);
    unsigned char hash[32];
    orgs_session_t s;
    char *sid;
    orgs_err_t err = {{0}};
    apr_status_t rv;
    apr_time_t now = apr_time_now();

    if (old) {
        orgs_crypto_sha256(old, strlen(old), hash);
        orgs_store_session_delete(c->st, hash, r->pool, &err);
    }
    if (orgs_crypto_random_token(32, &sid, r->pool) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    memset(&s, 0, sizeof(s));
    s.org_id = cb->org->id;
    s.user_id = cb->user->id;
    s.conn_id = cb->conn->id;
    s.claims_json = orgs_signin_session_claims(cb->claims, r->pool);
    s.id_token_hint = cb->id_token;
    s.created = s.last_seen = now;
    s.expires = now + sc->session_max_age;
    orgs_crypto_sha256(sid, strlen(sid), hash);
    rv = orgs_store_session_put(c->st, hash, &s, r->pool, &err);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, ORGSLOGNO(00228) "cannot store the session: %s",
                      err.msg);
        return login_error(r,
                           (rv == ORGS_ESTOREFULL || rv == APR_ENOSPC) ? HTTP_SERVICE_UNAVAILABLE
                                                                       : HTTP_INTERNAL_SERVER_ERROR,
                           "server_error", "The sign-in failed.", c->return_to);
    }
    purge_sessions(r, c->st, now);
    cookie_set(r, cookie, sid, (long)apr_time_sec(sc->session_max_age));
    cookie_set(r, ORGS_COOKIE_ORG, cb->org->name, (long)apr_time_sec(sc->session_max_age));
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  ORGSLOGNO(00229) "user %s signed in to org %s via connection %s", cb->user->id,
                  cb->org->name, cb->conn->name);
    return redirect(r, c->return_to);
}

static int route_callback(route_ctx_t *c)
{
    const char *repeated = orgs_signin_param_repeated(c->r->args);
    callback_t cb;
    int status;

    if (repeated) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, c->r,
                      ORGSLOGNO(00239) "callback: parameter '%s' given more than once", repeated);
        return login_error(c->r, HTTP_BAD_REQUEST, "invalid_request",
                           "The sign-in response is malformed.", "/");
    }
    memset(&cb, 0, sizeof(cb));
    if ((status = take_pending(c, &cb)) != STEP_CONTINUE ||
        (status = verify_response(c, &cb)) != STEP_CONTINUE ||
        (status = admit(c, &cb)) != STEP_CONTINUE) {
        return status;
    }
    return open_session(c, &cb);
}

/* ---- /logout ----------------------------------------------------------- */

/* Ends the session of the org (organization= or the current one) here and,
 * when the IdP offers it, there too (RP-initiated logout). */
static int route_logout(route_ctx_t *c)
{
    request_rec *r = c->r;
    const char *org = apr_table_get(c->args, "organization");
    const char *current = orgs_login_cookie_get(r, ORGS_COOKIE_ORG);
    const char *sid, *cookie, *dest = c->return_to, *hint = NULL;
    orgs_session_view_t *view = NULL;
    unsigned char hash[32];
    orgs_err_t err = {{0}};

    if (!org) {
        org = current;
    }
    if (!org || orgs_parse_slug(org, &err) != APR_SUCCESS) {
        return redirect(r, dest);
    }
    cookie = apr_pstrcat(r->pool, ORGS_COOKIE_SESSION, org, NULL);
    if ((sid = orgs_login_cookie_get(r, cookie))) {
        orgs_crypto_sha256(sid, strlen(sid), hash);
        if (orgs_store_session_view(c->st, hash, apr_time_now(),
                                    orgs_srv_cfg(r->server)->session_idle, &view, r->pool,
                                    &err) != APR_SUCCESS ||
            orgs_store_session_hint_get(c->st, hash, &hint, r->pool, &err) != APR_SUCCESS) {
            view = NULL;
        }
        orgs_store_session_delete(c->st, hash, r->pool, &err);
    }
    cookie_set(r, cookie, "", 0);
    /* orgs_org may point at another org that stays signed in. */
    if (current && strcmp(current, org) == 0) {
        cookie_set(r, ORGS_COOKIE_ORG, "", 0);
    }
    if (view) {
        orgs_conn_t *conn;
        orgs_oidc_provider_t *prov;
        orgs_http_opts_t opts = http_opts();
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, ORGSLOGNO(00230) "user %s signed out of org %s",
                      view->user.id, org);
        if (orgs_store_conn_get(c->st, view->session.conn_id, &conn, r->pool, &err) ==
                APR_SUCCESS &&
            orgs_oidc_provider_get(c->st, conn->issuer, apr_time_now(), &opts, &prov, r->pool,
                                   &err) == APR_SUCCESS &&
            prov->end_session_endpoint) {
            /* One fixed post-logout URI to register at the IdP; where to
             * go from there travels in state (checked again on return). */
            dest = orgs_url_append_params(
                prov->end_session_endpoint, r->pool, "id_token_hint", hint, "client_id",
                conn->client_id, "post_logout_redirect_uri",
                apr_pstrcat(r->pool, base_url(r), orgs_srv_cfg(r->server)->endpoint, "/logged-out",
                            NULL),
                "state", c->return_to, NULL);
        }
    }
    return redirect(r, dest);
}

/* Where the IdP sends the browser after RP-initiated logout: on to the
 * local path carried in state (validated like any return_to). */
static int route_logged_out(route_ctx_t *c)
{
    const char *dest = apr_table_get(c->args, "state");
    orgs_err_t err = {{0}};

    if (!dest || orgs_url_return_to_check(dest, &err) != APR_SUCCESS) {
        dest = "/";
    }
    return redirect(c->r, dest);
}

/* ---- dispatch ---------------------------------------------------------- */

static const struct {
    const char *path;
    int (*handler)(route_ctx_t *c);
} routes[] = {
    {"/login", route_login},
    {"/callback", route_callback},
    {"/logout", route_logout},
    {"/logged-out", route_logged_out},
};

/* The endpoints are served before httpd's access checks, so a site-wide
 * `AuthType orgs` cannot lock users out of the login pages themselves. */
static int orgs_hook_quick_handler(request_rec *r, int lookup_uri)
{
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    const char *path = r->parsed_uri.path;
    apr_size_t n;
    route_ctx_t c;
    orgs_err_t err = {{0}};

    if (lookup_uri || !sc->store_dir || !sc->endpoint || !path) {
        return DECLINED;
    }
    n = strlen(sc->endpoint);
    if (strncmp(path, sc->endpoint, n) != 0 || path[n] != '/') {
        return DECLINED;
    }
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(path + n, routes[i].path) != 0) {
            continue;
        }
        if (r->method_number != M_GET) {
            apr_table_setn(r->err_headers_out, "Allow", "GET, HEAD");
            return HTTP_METHOD_NOT_ALLOWED;
        }
        memset(&c, 0, sizeof(c));
        c.r = r;
        c.st = orgs_req_store(r);
        if (!c.st || !sc->keys) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          ORGSLOGNO(00231) "%s: the store is not open or OrgsCryptoKey is unset",
                          path);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (orgs_url_query_parse(r->args, &c.args, r->pool) != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          ORGSLOGNO(00232) "%s: malformed query string", path);
            return login_error(r, HTTP_BAD_REQUEST, "invalid_request", "Malformed request.", "/");
        }
        c.return_to = apr_table_get(c.args, "return_to");
        if (!c.return_to || !*c.return_to) {
            c.return_to = "/";
        } else if (orgs_url_return_to_check(c.return_to, &err) != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          ORGSLOGNO(00233) "%s: return_to refused: %s", path, err.msg);
            return login_error(r, HTTP_BAD_REQUEST, "invalid_request",
                               "The address to return to is not on this site.", "/");
        }
        return routes[i].handler(&c);
    }
    return HTTP_NOT_FOUND;
}

static int orgs_hook_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                 server_rec *s)
{
    orgs_err_t err = {{0}};
    if (orgs_http_global_init(&err) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     ORGSLOGNO(00234) "cannot initialise the HTTP client: %s", err.msg);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

void orgs_login_register_hooks(apr_pool_t *p)
{
    ap_hook_post_config(orgs_hook_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_quick_handler(orgs_hook_quick_handler, NULL, NULL, APR_HOOK_FIRST);
}
