/* [glue] Admission of a login start (admit.h). A login start stores a
 * pending login, and anybody can ask for one: a client is bounded by its
 * address (OrgsMaxPendingPerClient), and a browser that has not shown the
 * cookie it was given only gets a small share of that. The browser cookie
 * carries its own proof: 16 random bytes and 16 bytes of their HMAC, so
 * a made-up value is told from one this server issued without any state. */
#include <apr_strings.h>
#include <http_protocol.h>

#include "private.h"
#include "crypto.h"
#include "text.h"
#include "url.h"
#include "admit.h"

#define BROWSER_RAND 16
#define BROWSER_MAC 16
#define BROWSER_CHARS 43 /* base64url of 32 bytes, as before the proof */

/* The tag of rand: HMAC under the login-state key, with a label so it
 * matches no other use of that key. */
static apr_status_t browser_mac(request_rec *r, const unsigned char *rand, unsigned char mac[32])
{
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    unsigned char in[sizeof("orgs-browser") + BROWSER_RAND];
    memcpy(in, "orgs-browser", sizeof("orgs-browser"));
    memcpy(in + sizeof("orgs-browser"), rand, BROWSER_RAND);
    return orgs_crypto_hmac(sc->keys->state, in, sizeof(in), mac);
}

const char *orgs_admit_browser_new(request_rec *r)
{
    unsigned char raw[BROWSER_RAND + BROWSER_MAC], mac[32];
    if (orgs_crypto_random(raw, BROWSER_RAND) != APR_SUCCESS ||
        browser_mac(r, raw, mac) != APR_SUCCESS) {
        return NULL;
    }
    memcpy(raw + BROWSER_RAND, mac, BROWSER_MAC);
    const char *value = orgs_text_b64url_encode(raw, sizeof(raw), r->pool);
    orgs_endpoints_cookie_set(r, ORGS_COOKIE_BROWSER, value, -1);
    return value;
}

const char *orgs_admit_browser(request_rec *r, int *proven, int *issued)
{
    const char *browser = orgs_endpoints_cookie_get(r, ORGS_COOKIE_BROWSER);
    unsigned char *raw = NULL, mac[32];
    apr_size_t n = 0;
    *proven = *issued = 0;
    if (!browser || strlen(browser) != BROWSER_CHARS) {
        *issued = 1;
        return orgs_admit_browser_new(r);
    }
    if (orgs_text_b64url_decode(browser, BROWSER_CHARS, &raw, &n, r->pool, NULL) == APR_SUCCESS &&
        n == BROWSER_RAND + BROWSER_MAC && browser_mac(r, raw, mac) == APR_SUCCESS &&
        orgs_crypto_ct_equal(mac, raw + BROWSER_RAND, BROWSER_MAC)) {
        *proven = 1;
    }
    return browser;
}

apr_status_t orgs_admit_client(request_rec *r, unsigned char tag[ORGS_STORE_CLIENT_TAG_LEN])
{
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    const apr_sockaddr_t *a = r->useragent_addr;
    unsigned char in[sizeof("orgs-client") + 1 + 8], mac[32];
    const unsigned char *ip = a ? (const unsigned char *)a->ipaddr_ptr : NULL;
    apr_size_t n = 0;
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    memcpy(in, "orgs-client", sizeof("orgs-client"));
    in[sizeof("orgs-client")] = 0; /* no address: all such requests share one tag */
    if (ip && a->family == APR_INET6 && memcmp(ip, v4mapped, sizeof(v4mapped)) == 0) {
        in[sizeof("orgs-client")] = 4;
        memcpy(in + sizeof("orgs-client") + 1, ip + 12, 4);
        n = 4;
    } else if (ip && a->family == APR_INET6) {
        in[sizeof("orgs-client")] = 6;
        memcpy(in + sizeof("orgs-client") + 1, ip, 8); /* the /64 */
        n = 8;
    } else if (ip && a->family == APR_INET) {
        in[sizeof("orgs-client")] = 4;
        memcpy(in + sizeof("orgs-client") + 1, ip, 4);
        n = 4;
    }
    apr_status_t rv = orgs_crypto_hmac(sc->keys->state, in, sizeof("orgs-client") + 1 + n, mac);
    if (rv == APR_SUCCESS) {
        memcpy(tag, mac, ORGS_STORE_CLIENT_TAG_LEN);
    }
    return rv;
}

int orgs_admit_ask_cookie(orgs_route_t *c, int issued, const char *organization,
                          const char *connection, const char *login_hint)
{
    request_rec *r = c->r;

    if (apr_table_get(c->args, ORGS_ADMIT_COOKIE_CHECK)) {
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00527) "login: client %s holds many sign-ins in progress and "
                                         "its browser does not keep cookies: refused",
                        r->useragent_ip);
        return orgs_endpoints_error_send(r, HTTP_FORBIDDEN, "access_denied",
                                         "Signing in needs cookies: please enable them for "
                                         "this site and try again.",
                                         c->return_to);
    }
    if (!issued && !orgs_admit_browser_new(r)) {
        orgs_log_rerror(r, APLOG_ERR, ORGS_ECRYPTO,
                        ORGSLOGNO(00528) "login: cannot draw a browser cookie");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    orgs_log_rerror(r, APLOG_INFO, 0,
                    ORGSLOGNO(00526) "login: client %s holds many sign-ins in progress: its "
                                     "browser is asked to show a cookie first",
                    r->useragent_ip);
    return orgs_endpoints_redirect(
        r, orgs_url_append_params(orgs_endpoints_path(r, "/login"), r->pool, "organization",
                                  organization, "connection", connection, "login_hint", login_hint,
                                  "return_to", c->return_to, ORGS_ADMIT_COOKIE_CHECK, "1", NULL));
}
