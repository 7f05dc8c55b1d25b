/* [glue] Sign-ins and sign-outs another site asks for: a login started by
 * a cross-site link (login CSRF: the victim signed into an attacker's
 * account, the browser's current org switched) and a logout by a
 * cross-site GET (logout CSRF) are not carried out at once; the user gets
 * a page with one button that posts a token only this site could have put
 * there. */
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_script.h>

#include "private.h"
#include "crypto.h"
#include "html.h"
#include "text.h"
#include "endpoints.h"
#include "admit.h"
#include "crosssite.h"
#include "render.h"

/* What a confirmation form may post: a few short fields. */
#define FORM_MAX_FIELDS 16
#define FORM_MAX_BYTES 8192

/* The origin this site answers on, as a browser writes it in Origin:
 * scheme://host[:port] of OrgsPublicURL or of the request. */
static const char *own_origin(request_rec *r)
{
    const char *base = orgs_endpoints_base_url(r);
    const char *host = strstr(base, "://");
    const char *end = host ? strchr(host + 3, '/') : NULL;
    return end ? apr_pstrmemdup(r->pool, base, (apr_size_t)(end - base)) : base;
}

/* scheme://host[:port] of an absolute URL (a Referer), or NULL. */
static const char *url_origin(request_rec *r, const char *url)
{
    const char *host = strstr(url, "://");
    const char *end;

    if (!host || host == url) {
        return NULL;
    }
    end = host + 3 + strcspn(host + 3, "/?#");
    return apr_pstrmemdup(r->pool, url, (apr_size_t)(end - url));
}

int orgs_crosssite_foreign(request_rec *r)
{
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *referer = apr_table_get(r->headers_in, "Referer");
    const char *from;

    /* same-site is another origin on this registrable domain (a sibling
     * host): the module's cookies are host-only, so it counts as foreign */
    if (site && (strcasecmp(site, "cross-site") == 0 || strcasecmp(site, "same-site") == 0)) {
        return 1;
    }
    if (origin) {
        return strcasecmp(origin, own_origin(r)) != 0;
    }
    if (site) {
        return 0; /* same-origin, or none (typed, a bookmark): set by the browser itself */
    }
    if (referer) {
        /* a browser without Fetch Metadata still names the page it came
         * from: it must be this origin */
        from = url_origin(r, referer);
        return !from || strcasecmp(from, own_origin(r)) != 0;
    }
    /* No signal at all. Every current browser sends Sec-Fetch-Site on a
     * navigation, and another site can suppress Referer (Referrer-Policy:
     * no-referrer) but cannot add Sec-Fetch-Site: a request with none of
     * the three is an older browser (perhaps on an attacker's page) or a
     * client that is no browser. Counted as foreign: the cost is one
     * click on the confirmation; counting it as this site's would let a
     * login or logout CSRF through on exactly those browsers. */
    return 1;
}

/* HMAC(state key, purpose NUL binding), base64url: bound to a secret of
 * this browser (its browser cookie or session id) that another site cannot
 * read. */
static const char *token_make(request_rec *r, const char *purpose, const char *binding)
{
    const orgs_crypto_keys_t *keys = orgs_req_keys(r);
    unsigned char mac[32];
    apr_size_t plen = strlen(purpose), blen = strlen(binding);
    char *buf;

    if (!keys) {
        return NULL;
    }
    buf = apr_palloc(r->pool, plen + 1 + blen);
    memcpy(buf, purpose, plen);
    buf[plen] = '\0';
    memcpy(buf + plen + 1, binding, blen);
    if (orgs_crypto_hmac(keys->state, buf, plen + 1 + blen, mac) != APR_SUCCESS) {
        return NULL;
    }
    return orgs_text_b64url_encode(mac, sizeof(mac), r->pool);
}

static int token_ok(request_rec *r, const char *purpose, const char *binding, const char *token)
{
    const char *want = binding ? token_make(r, purpose, binding) : NULL;
    return want && token && strlen(token) == strlen(want) &&
           orgs_crypto_ct_equal(want, token, strlen(want));
}

apr_status_t orgs_crosssite_form_read(request_rec *r, apr_table_t **args)
{
    apr_array_header_t *pairs = NULL;
    int st = ap_parse_form_data(r, NULL, &pairs, FORM_MAX_FIELDS, FORM_MAX_BYTES);

    *args = apr_table_make(r->pool, 8);
    if (st != OK || !pairs) {
        return APR_EINVAL;
    }
    for (int i = 0; i < pairs->nelts; i++) {
        ap_form_pair_t *pair = &APR_ARRAY_IDX(pairs, i, ap_form_pair_t);
        apr_off_t len;
        apr_size_t size;
        char *val;
        if (apr_brigade_length(pair->value, 1, &len) != APR_SUCCESS || len < 0 ||
            len > FORM_MAX_BYTES) {
            return APR_EINVAL;
        }
        size = (apr_size_t)len;
        val = apr_palloc(r->pool, size + 1);
        if (apr_brigade_flatten(pair->value, val, &size) != APR_SUCCESS ||
            memchr(val, '\0', size)) {
            return APR_EINVAL;
        }
        val[size] = '\0';
        if (apr_table_get(*args, pair->name)) {
            return APR_EINVAL; /* a field twice: ambiguous, as in a query */
        }
        apr_table_setn(*args, pair->name, val);
    }
    return APR_SUCCESS;
}

/* The context of the confirmation page, naming org_label. */
static const orgs_html_ctx_t *page_ctx(request_rec *r, const char *org_label)
{
    const orgs_html_ctx_t *h = orgs_req_get(r)->page;
    if (!h) {
        h = orgs_render_ctx(r, NULL);
    }
    orgs_tmpl_vars_set(h->vars, "org_label", org_label);
    return h;
}

/* ---- the confirmation both endpoints share ---------------------------- */

/* A posted confirmation: whether its token is the one for purpose and
 * binding (NULL binding: nothing to check against, refused). */
static int confirm_posted(orgs_route_t *c, const char *purpose, const char *binding)
{
    return token_ok(c->r, purpose, binding, apr_table_get(c->args, "csrf"));
}

static int confirm_refused(orgs_route_t *c, const char *text)
{
    return orgs_endpoints_error_send(c->r, HTTP_FORBIDDEN, "access_denied", text, c->return_to);
}

/* The page h with one button that posts fields (NULL-terminated name/value
 * pairs, a value may be NULL) and the token for purpose and binding; title,
 * text and button are message keys. */
static int confirm_page(orgs_route_t *c, const orgs_html_ctx_t *h, const char *form_id,
                        const char *title, const char *text, const char *action,
                        const char *const *fields, const char *button, const char *purpose,
                        const char *binding)
{
    request_rec *r = c->r;
    const char *token = token_make(r, purpose, binding);
    apr_size_t n = 0;
    const char **all;

    if (!token) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    while (fields[n]) {
        n += 2;
    }
    all = apr_pcalloc(r->pool, (n + 3) * sizeof(*all));
    memcpy(all, fields, n * sizeof(*all));
    all[n] = "csrf";
    all[n + 1] = token;
    return orgs_endpoints_page_send(r, HTTP_OK,
                                    orgs_html_confirm_page(h, form_id, title, text,
                                                           orgs_endpoints_path(r, action), all,
                                                           button));
}

/* ---- login ------------------------------------------------------------ */

int orgs_crosssite_login_gate(orgs_route_t *c, const char *org_name, const char *org_label,
                              const char *conn_name, const char *hint, int *done)
{
    request_rec *r = c->r;
    const char *browser = orgs_endpoints_cookie_get(r, ORGS_COOKIE_BROWSER);
    const char *current = orgs_endpoints_cookie_get(r, ORGS_COOKIE_ORG);

    if (r->method_number == M_POST) {
        if (confirm_posted(c, "login", browser)) {
            /* single use: the token is bound to this browser cookie, and
             * the login goes on with a fresh one (orgs_admit_browser
             * takes it), so the same form posted again is refused */
            if (!orgs_admit_browser_new(r)) {
                *done = HTTP_INTERNAL_SERVER_ERROR;
                return 0;
            }
            return 1;
        }
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00552) "login to org %s posted without this browser's "
                                         "confirmation token: refused (login CSRF?)",
                        org_name);
        *done = confirm_refused(c, "This sign-in was not started on this site.");
        return 0;
    }
    if (!orgs_crosssite_foreign(r)) {
        return 1;
    }
    /* the cookie the token is bound to; one the admission vouches for, so
     * the confirmed login needs no cookie round trip of its own */
    if (!(browser = orgs_admit_browser_new(r))) {
        *done = HTTP_INTERNAL_SERVER_ERROR;
        return 0;
    }
    orgs_log_rerror(r, APLOG_INFO, 0,
                    ORGSLOGNO(00553) "login to org %s asked for by another site: the user is "
                                     "asked to confirm",
                    org_name);
    {
        const char *fields[] = {"organization",
                                org_name,
                                "connection",
                                conn_name,
                                "login_hint",
                                hint,
                                "return_to",
                                c->return_to,
                                "invitation",
                                apr_table_get(c->args, "invitation"),
                                NULL};
        /* the org's page when the login made it known (login.c), else the site's */
        const orgs_html_ctx_t *h = page_ctx(r, org_label);
        int other = current && strcmp(current, org_name) != 0;
        orgs_tmpl_vars_set(h->vars, "current", other ? current : NULL);
        *done = confirm_page(c, h, "login-confirm", "confirm.login.title",
                             other ? "confirm.login.text_switch" : "confirm.login.text", "/login",
                             fields, "confirm.login.button", "login", browser);
    }
    return 0;
}

/* ---- logout ----------------------------------------------------------- */

int orgs_crosssite_logout_gate(orgs_route_t *c, const char *org, const char *sid, int *done)
{
    request_rec *r = c->r;

    if (r->method_number == M_POST) {
        /* single use by nature: the session it is bound to ends */
        if (!sid || confirm_posted(c, "logout", sid)) {
            return 1;
        }
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00554) "logout of org %s posted without the session's "
                                         "confirmation token: the session is kept (logout CSRF?)",
                        org);
        *done = confirm_refused(c, "This sign-out was not started on this site.");
        return 0;
    }
    if (!sid || !orgs_crosssite_foreign(r)) {
        return 1;
    }
    orgs_log_rerror(r, APLOG_INFO, 0,
                    ORGSLOGNO(00555) "logout of org %s asked for by another site: the session is "
                                     "kept until the user confirms",
                    org);
    {
        const char *fields[] = {"organization", org, "return_to", c->return_to, NULL};
        *done = confirm_page(c, page_ctx(r, org), "logout-confirm", "confirm.logout.title",
                             "confirm.logout.text", "/logout", fields, "confirm.logout.button",
                             "logout", sid);
    }
    return 0;
}
