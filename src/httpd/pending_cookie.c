/* [glue] Pending logins in the browser's cookie (pending_cookie.h).
 *
 * A browser holds at most PENDING_SLOTS sealed logins at once (tabs that
 * start logins in parallel), each in its own cookie, so that they stay
 * well within what browsers and httpd's LimitRequestFieldSize accept in
 * one Cookie header: ORGS_PENDING_SEAL_MAX characters each. A cookie
 * lives as long as the login may (OrgsLoginTimeout); the callback that
 * uses it clears it. */
#include <apr_strings.h>
#include <http_protocol.h>

#include "private.h"
#include "crypto.h"
#include "pending_seal.h"
#include "pending_cookie.h"
#include "pgwrite.h"
#include "status.h"

#define PENDING_SLOTS 3

static const char *const slot_names[PENDING_SLOTS] = {"orgs_pl1", "orgs_pl2", "orgs_pl3"};

int orgs_pending_cookie_on(request_rec *r)
{
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    return sc->store_pg != NULL || sc->login_in_store != 1;
}

static apr_status_t seal_key(request_rec *r, unsigned char key[ORGS_CRYPTO_KEY_LEN])
{
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    return sc->keys ? orgs_pending_seal_key(sc->keys->state, key) : ORGS_ENOKEY;
}

/* The slot a new login takes: a free one, else the one holding the
 * oldest login (a value of another shape counts as oldest). */
static int slot_pick(request_rec *r)
{
    int pick = 0;
    apr_time_t oldest = 0;

    for (int i = 0; i < PENDING_SLOTS; i++) {
        const char *v = orgs_endpoints_cookie_get(r, slot_names[i]);
        apr_time_t t = v ? orgs_pending_seal_created(v) : 0;
        if (!v || !*v) {
            return i;
        }
        if (i == 0 || t < oldest) {
            pick = i;
            oldest = t;
        }
    }
    return pick;
}

apr_status_t orgs_pending_cookie_put(request_rec *r, orgs_pending_t *pl, orgs_err_t *err)
{
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    unsigned char key[ORGS_CRYPTO_KEY_LEN];
    char *value = NULL;
    apr_status_t rv = seal_key(r, key);

    if (rv != APR_SUCCESS) {
        return orgs_err_set(err, rv, "cannot derive the key that seals sign-ins in progress");
    }
    rv = orgs_pending_seal(key, pl, &value, r->pool, err);
    if (rv == APR_ENOSPC) {
        /* the login still works; only the way back is lost */
        orgs_log_rerror(r, APLOG_INFO, 0,
                        ORGSLOGNO(00257) "login: the address to return to is too long to keep "
                                         "in the browser's cookie: the sign-in returns to /");
        pl->return_to = "/";
        rv = orgs_pending_seal(key, pl, &value, r->pool, err);
    }
    orgs_crypto_cleanse(key, sizeof(key));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    orgs_endpoints_cookie_set(r, slot_names[slot_pick(r)], value,
                              (long)apr_time_sec(sc->login_timeout));
    return APR_SUCCESS;
}

/* The one answer for a sealed login that cannot be used: as for a state
 * the store does not know, the browser is asked to sign in again. */
static int refuse(request_rec *r)
{
    orgs_status_count(ORGS_CTR_DENY_BAD_STATE);
    return orgs_endpoints_error_send(
        r, HTTP_BAD_REQUEST, "invalid_request",
        "This sign-in attempt is unknown or has expired. Please sign in again.", "/");
}

/* Whether the sealed login of state was signed in already: by the
 * database of a PostgreSQL store (any node), else by this store. A store
 * that cannot tell lets the sign-in's write decide (it marks the state in
 * the same transaction, and refuses a state marked already). */
static int used_already(orgs_route_t *c, const char *state)
{
    orgs_err_t err = {{0}};
    int used = 0;

    if (orgs_pgwrite_on(c->r)) {
        return orgs_pgwrite_pending_used(c->r, state);
    }
    return orgs_store_pending_used(c->st, state, &used, &err) == APR_SUCCESS && used;
}

int orgs_pending_cookie_take(orgs_route_t *c, const char *state, orgs_pending_t **out)
{
    request_rec *r = c->r;
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    unsigned char key[ORGS_CRYPTO_KEY_LEN];
    const char *value = NULL;
    orgs_pending_t *pl = NULL;
    orgs_err_t err = {{0}};
    apr_status_t rv;
    int slot = -1;

    *out = NULL;
    if (!orgs_pending_cookie_on(r)) {
        return DECLINED;
    }
    for (int i = 0; i < PENDING_SLOTS && slot < 0; i++) {
        value = orgs_endpoints_cookie_get(r, slot_names[i]);
        if (orgs_pending_seal_names(value, state)) {
            slot = i;
        }
    }
    if (slot < 0) {
        return DECLINED; /* the store answers (a state it does not know: refused there) */
    }
    /* used once by this browser, whatever the answer */
    orgs_endpoints_cookie_set(r, slot_names[slot], "", 0);
    rv = seal_key(r, key);
    if (rv == APR_SUCCESS) {
        rv = orgs_pending_unseal(key, value, state, apr_time_now(), sc->login_timeout, &pl, r->pool,
                                 &err);
        orgs_crypto_cleanse(key, sizeof(key));
    }
    if (rv == ORGS_EEXPIRED) {
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00255) "callback: the sign-in kept in the browser's cookie "
                                         "has expired (OrgsLoginTimeout): refused");
        return refuse(r);
    }
    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_WARNING, rv,
                        ORGSLOGNO(00254) "callback: the sign-in kept in the browser's cookie "
                                         "does not open (%s): refused",
                        err.msg);
        return refuse(r);
    }
    /* Signed in already (a replay, here or on another node): not taken,
     * so the store answers as for a state it does not know (ORGS00215),
     * before the IdP is asked again. */
    if (!used_already(c, state)) {
        *out = pl;
    }
    return DECLINED;
}
