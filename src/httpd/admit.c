/* [glue] Admission of a login start (admit.h). A login start stores a
 * pending login, and anybody can ask for one: a client is bounded by its
 * address (OrgsMaxPendingPerClient) and its network
 * (OrgsMaxPendingPerNetwork), and a browser that has not shown the cookie
 * it was given gets nothing stored at all. The browser cookie
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
#define BROWSER_CHARS 43                /* base64url of 32 bytes, as before the proof */
#define BROWSER_NOTE "orgs-browser-set" /* r->notes: a cookie set by this request */

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
    /* the rest of this request binds to the new cookie, not the old one */
    apr_table_setn(r->notes, BROWSER_NOTE, value);
    return value;
}

const char *orgs_admit_browser(request_rec *r, int *proven, int *issued)
{
    const char *browser = orgs_endpoints_cookie_get(r, ORGS_COOKIE_BROWSER);
    const char *set = apr_table_get(r->notes, BROWSER_NOTE);
    unsigned char *raw = NULL, mac[32];
    apr_size_t n = 0;
    *proven = *issued = 0;
    if (set) {
        *proven = 1; /* issued by this very request: ours, and what the browser keeps next */
        return set;
    }
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

/* HMAC(state key, label NUL family bytes), first ORGS_STORE_CLIENT_TAG_LEN
 * bytes: the address's first len bytes, keyed so the store holds no
 * address. */
static apr_status_t addr_tag(request_rec *r, const char *label, int family,
                             const unsigned char *bytes, apr_size_t len,
                             unsigned char tag[ORGS_STORE_CLIENT_TAG_LEN])
{
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    unsigned char in[16 + 1 + 16], mac[32];
    apr_size_t l = strlen(label) + 1;

    memcpy(in, label, l);
    in[l] = (unsigned char)family; /* 0: no address, all such requests share one tag */
    if (len) {
        memcpy(in + l + 1, bytes, len);
    }
    apr_status_t rv = orgs_crypto_hmac(sc->keys->state, in, l + 1 + len, mac);
    if (rv == APR_SUCCESS) {
        memcpy(tag, mac, ORGS_STORE_CLIENT_TAG_LEN);
    }
    return rv;
}

apr_status_t orgs_admit_client(request_rec *r, unsigned char tag[ORGS_STORE_CLIENT_TAG_LEN],
                               unsigned char net[ORGS_STORE_CLIENT_TAG_LEN])
{
    const apr_sockaddr_t *a = r->useragent_addr;
    const unsigned char *ip = a ? (const unsigned char *)a->ipaddr_ptr : NULL;
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    /* the client: an IPv4 address or an IPv6 /64 (what one host or one
     * subscriber line is given); its network: an IPv4 /24 or an IPv6 /48
     * (what one site or one provider's customer is given) */
    int family = 0;
    apr_size_t host = 0, site = 0;
    apr_status_t rv;

    if (ip && a->family == APR_INET6 && memcmp(ip, v4mapped, sizeof(v4mapped)) == 0) {
        ip += 12;
        family = 4, host = 4, site = 3;
    } else if (ip && a->family == APR_INET6) {
        family = 6, host = 8, site = 6;
    } else if (ip && a->family == APR_INET) {
        family = 4, host = 4, site = 3;
    }
    rv = addr_tag(r, "orgs-client", family, ip, host, tag);
    if (rv == APR_SUCCESS) {
        rv = addr_tag(r, "orgs-net", family, ip, site, net);
    }
    return rv;
}

int orgs_admit_ask_cookie(orgs_route_t *c, int issued, const char *organization,
                          const char *connection, const char *login_hint)
{
    request_rec *r = c->r;

    if (apr_table_get(c->args, ORGS_ADMIT_COOKIE_CHECK)) {
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00530) "login: the browser of client %s came back without "
                                         "the cookie it was given: refused",
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
    orgs_log_rerror(r, APLOG_DEBUG, 0,
                    ORGSLOGNO(00529) "login: client %s has not shown the browser cookie: given "
                                     "one and sent back to the same login, nothing stored",
                    r->useragent_ip);
    return orgs_endpoints_redirect(
        r, orgs_url_append_params(orgs_endpoints_path(r, "/login"), r->pool, "organization",
                                  organization, "connection", connection, "login_hint", login_hint,
                                  "return_to", c->return_to, "invitation",
                                  apr_table_get(c->args, "invitation"), ORGS_ADMIT_COOKIE_CHECK,
                                  "1", NULL));
}
