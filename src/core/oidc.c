/* OpenID Connect relying party core: discovery, JWKS cache and refresh,
 * authorization URL, code exchange, ID token verification. See oidc.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "oidc.h"
#include "jose.h"
#include "crypto.h"
#include "memo.h"
#include "url.h"

#define KEY_DISC "disc:"
#define KEY_JWKS "jwks:"
#define KEY_JWKS_TRY "jwkstry:"
#define KEY_FAIL "discfail:"

/* ---- small helpers ---------------------------------------------------- */

static int is_https(const char *u)
{
    return u && strncasecmp(u, "https://", 8) == 0;
}

/* An absolute http(s) URL by the core's one rule (url.h). */
static int url_ok(const char *u, apr_pool_t *p)
{
    return orgs_url_absolute_check(u, 0, p, NULL) == APR_SUCCESS;
}

static const char *jstr(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int fresh(apr_time_t fetched, apr_time_t now, apr_interval_time_t ttl)
{
    return fetched <= now && now - fetched < ttl;
}

/* Prefixes err's text with what (err may be NULL) and returns rv. */
static apr_status_t err_prefix(orgs_err_t *err, apr_status_t rv, const char *what)
{
    if (err) {
        orgs_err_t e = *err;
        orgs_err_set(err, rv, "%s: %s", what, e.msg);
    }
    return rv;
}

/* json_dumps into the pool (jansson allocates with malloc). */
static const char *dump(const json_t *j, apr_pool_t *p)
{
    char *s = json_dumps(j, JSON_COMPACT);
    if (s == NULL) {
        return NULL;
    }
    char *r = apr_pstrdup(p, s);
    free(s);
    return r;
}

/* ---- discovery -------------------------------------------------------- */

/* Works out the discovery URL and which issuer values the document may
 * announce (expect_alt may stay NULL). On APR_SUCCESS *url and *expect are
 * set; on APR_EINVAL all three are NULL. */
static apr_status_t discovery_target(const char *issuer, const char **url, const char **expect,
                                     const char **expect_alt, apr_pool_t *p, orgs_err_t *err)
{
    *url = *expect = *expect_alt = NULL;
    if (orgs_url_absolute_check(issuer, ORGS_URL_NO_QUERY, p, NULL) != APR_SUCCESS) {
        orgs_err_set(err, APR_EINVAL, "issuer is not an http(s) URL without query");
        return APR_EINVAL;
    }
    apr_size_t len = strlen(issuer);
    apr_size_t wk = sizeof(ORGS_OIDC_WELL_KNOWN) - 1;
    if (len > wk && strcmp(issuer + len - wk, ORGS_OIDC_WELL_KNOWN) == 0) {
        *url = issuer;
        *expect = apr_pstrmemdup(p, issuer, len - wk);
        *expect_alt = apr_pstrcat(p, *expect, "/", NULL);
        return APR_SUCCESS;
    }
    *expect = issuer;
    if (issuer[len - 1] == '/') {
        len--;
    }
    *url = apr_pstrcat(p, apr_pstrmemdup(p, issuer, len), ORGS_OIDC_WELL_KNOWN, NULL);
    return APR_SUCCESS;
}

/* Validates a discovery document and fills prov from it. */
static apr_status_t discovery_read(const char *body, const char *expect, const char *expect_alt,
                                   orgs_oidc_provider_t *prov, apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv = ORGS_EHTTP;
    json_error_t jerr;
    json_t *doc = json_loads(body, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        orgs_err_set(err, rv, "discovery document is not a JSON object");
        goto leave;
    }
    const char *iss = jstr(doc, "issuer");
    if (iss == NULL ||
        (strcmp(iss, expect) != 0 && (!expect_alt || strcmp(iss, expect_alt) != 0))) {
        orgs_err_set(err, rv, "discovery document's issuer does not equal the configured '%s'",
                     expect);
        goto leave;
    }
    static const char *const required[] = {"authorization_endpoint", "token_endpoint", "jwks_uri"};
    const char *vals[3];
    for (int i = 0; i < 3; i++) {
        vals[i] = jstr(doc, required[i]);
        if (!url_ok(vals[i], p) || (is_https(iss) && !is_https(vals[i]))) {
            orgs_err_set(err, rv, "discovery document: %s missing or not a%s URL", required[i],
                         is_https(iss) ? "n https" : "n http(s)");
            goto leave;
        }
    }
    prov->issuer = apr_pstrdup(p, iss);
    prov->authorization_endpoint = apr_pstrdup(p, vals[0]);
    prov->token_endpoint = apr_pstrdup(p, vals[1]);
    prov->jwks_uri = apr_pstrdup(p, vals[2]);
    /* Optional endpoints we would send a browser or a token to: a value
     * that is not a usable URL is treated as absent. */
    const char *es = jstr(doc, "end_session_endpoint");
    const char *ui = jstr(doc, "userinfo_endpoint");
    prov->end_session_endpoint =
        url_ok(es, p) && (!is_https(iss) || is_https(es)) ? apr_pstrdup(p, es) : NULL;
    prov->userinfo_endpoint =
        url_ok(ui, p) && (!is_https(iss) || is_https(ui)) ? apr_pstrdup(p, ui) : NULL;
    prov->iss_param_supported =
        json_is_true(json_object_get(doc, "authorization_response_iss_parameter_supported"));
    rv = APR_SUCCESS;

leave:
    json_decref(doc);
    return rv;
}

/* ---- parsed documents, once per process ------------------------------ */

/* Discovery documents as read by discovery_read, and cached JWKS entries
 * unwrapped, by the SHA-256 of what they depend on (memo.h): a login
 * reads the cached text from the store and finds it already parsed. */
static orgs_memo_t disc_memo = ORGS_MEMO_INITIALIZER;
static orgs_memo_t jwks_entry_memo = ORGS_MEMO_INITIALIZER;

/* SHA-256 of the strings (NULL counts as empty), each ended by a NUL so
 * that ("ab", "c") and ("a", "bc") differ. */
static apr_status_t memo_key(unsigned char key[32], const char *const *parts, int n, apr_pool_t *p)
{
    apr_size_t len = 0;
    for (int i = 0; i < n; i++) {
        len += (parts[i] ? strlen(parts[i]) : 0) + 1;
    }
    char *buf = apr_palloc(p, len), *b = buf;
    for (int i = 0; i < n; i++) {
        apr_size_t l = parts[i] ? strlen(parts[i]) : 0;
        memcpy(b, parts[i] ? parts[i] : "", l);
        b[l] = '\0';
        b += l + 1;
    }
    return orgs_crypto_sha256(buf, len, key);
}

typedef struct {
    const char *body, *expect, *expect_alt;
} disc_doc_t;

static apr_status_t disc_build(void *baton, void **val, apr_pool_t *pool, orgs_err_t *err)
{
    const disc_doc_t *d = baton;
    orgs_oidc_provider_t *prov = apr_pcalloc(pool, sizeof(*prov));
    apr_status_t rv = discovery_read(d->body, d->expect, d->expect_alt, prov, pool, err);
    *val = prov;
    return rv;
}

/* discovery_read, once per document and expectation in this process; the
 * strings filled in prov live as long as p. */
static apr_status_t discovery_parse(const char *body, const char *expect, const char *expect_alt,
                                    orgs_oidc_provider_t *prov, apr_pool_t *p, orgs_err_t *err)
{
    const char *parts[] = {body, expect, expect_alt};
    disc_doc_t d = {body, expect, expect_alt};
    unsigned char key[32];
    void *val;
    apr_status_t rv = memo_key(key, parts, 3, p);
    if (rv != APR_SUCCESS) {
        return discovery_read(body, expect, expect_alt, prov, p, err);
    }
    if ((rv = orgs_memo_get(&disc_memo, key, disc_build, &d, &val, p, err)) == APR_SUCCESS) {
        const orgs_oidc_provider_t *m = val;
        prov->issuer = m->issuer;
        prov->authorization_endpoint = m->authorization_endpoint;
        prov->token_endpoint = m->token_endpoint;
        prov->jwks_uri = m->jwks_uri;
        prov->end_session_endpoint = m->end_session_endpoint;
        prov->userinfo_endpoint = m->userinfo_endpoint;
        prov->iss_param_supported = m->iss_param_supported;
    }
    return rv;
}

/* A cached JWKS entry {"uri": ..., "jwks": {...}} unwrapped: its set as
 * compact JSON when it belongs to uri, else NULL. */
typedef struct {
    const char *entry, *uri;
} jwks_entry_t;

static apr_status_t jwks_entry_build(void *baton, void **val, apr_pool_t *pool, orgs_err_t *err)
{
    const jwks_entry_t *d = baton;
    json_t *w = json_loads(d->entry, 0, NULL);
    const char *uri = jstr(w, "uri");
    json_t *set = json_object_get(w, "jwks");
    const char **out = apr_pcalloc(pool, sizeof(*out));
    (void)err;
    if (uri && strcmp(uri, d->uri) == 0 && json_is_array(json_object_get(set, "keys"))) {
        *out = dump(set, pool);
    }
    json_decref(w);
    *val = out;
    return APR_SUCCESS;
}

static const char *jwks_entry_unwrap(const char *entry, const char *uri, apr_pool_t *p)
{
    const char *parts[] = {entry, uri};
    jwks_entry_t d = {entry, uri};
    unsigned char key[32];
    void *val = NULL;
    if (memo_key(key, parts, 2, p) != APR_SUCCESS ||
        orgs_memo_get(&jwks_entry_memo, key, jwks_entry_build, &d, &val, p, NULL) != APR_SUCCESS) {
        const char **out = NULL;
        return jwks_entry_build(&d, (void **)&out, p, NULL) == APR_SUCCESS ? *out : NULL;
    }
    return *(const char **)val;
}

/* GET url expecting 200 with a body; what names the document in errors. */
static apr_status_t fetch_ok(const char *url, const char *what, const orgs_http_opts_t *opts,
                             orgs_http_resp_t **resp, apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv = orgs_http_get(url, opts, resp, p, err);
    if (rv == APR_EINVAL) {
        return orgs_err_set(err, ORGS_EHTTP, "%s URL is not http(s)", what);
    }
    if (rv != APR_SUCCESS) {
        return err_prefix(err, rv, what); /* keep http.c's detail */
    }
    if ((*resp)->status != 200) {
        return orgs_err_set(err, ORGS_EHTTP, "%s: HTTP status %d", what, (*resp)->status);
    }
    return APR_SUCCESS;
}

/* ---- JWKS ------------------------------------------------------------- */

/* Reads the cached JWKS for prov's issuer when it belongs to prov's
 * jwks_uri. APR_NOTFOUND when absent, unusable or for another URI. */
static apr_status_t jwks_cache_load(orgs_store_t *st, orgs_oidc_provider_t *prov, const char **json,
                                    apr_time_t *fetched, apr_pool_t *p, orgs_err_t *err)
{
    const char *val = NULL;
    apr_status_t rv = orgs_store_cache_get(st, apr_pstrcat(p, KEY_JWKS, prov->config_issuer, NULL),
                                           &val, fetched, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *json = jwks_entry_unwrap(val, prov->jwks_uri, p);
    return *json ? APR_SUCCESS : APR_NOTFOUND;
}

/* Fetches prov->jwks_uri and caches it. */
static apr_status_t jwks_fetch(orgs_store_t *st, orgs_oidc_provider_t *prov, apr_time_t now,
                               const orgs_http_opts_t *opts, apr_pool_t *p, orgs_err_t *err)
{
    orgs_http_resp_t *resp = NULL;
    apr_status_t rv = fetch_ok(prov->jwks_uri, "JWKS", opts, &resp, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    json_t *set = json_loads(resp->body, JSON_REJECT_DUPLICATES, NULL);
    json_t *w = NULL;
    if (!json_is_object(set) || !json_is_array(json_object_get(set, "keys"))) {
        rv = orgs_err_set(err, ORGS_EHTTP, "JWKS: not a JSON object with a \"keys\" array");
        goto leave;
    }
    w = json_pack("{s:s, s:O}", "uri", prov->jwks_uri, "jwks", set);
    const char *wj = w ? dump(w, p) : NULL;
    const char *sj = dump(set, p);
    if (wj == NULL || sj == NULL) {
        rv = orgs_err_set(err, APR_ENOMEM, "JWKS: out of memory");
        goto leave;
    }
    if (st) {
        rv = orgs_store_cache_put(st, apr_pstrcat(p, KEY_JWKS, prov->config_issuer, NULL), wj, now,
                                  p, err);
        if (rv != APR_SUCCESS) {
            goto leave;
        }
    }
    prov->jwks_json = sj;
    prov->jwks_fetched = now;
    rv = APR_SUCCESS;

leave:
    json_decref(w);
    json_decref(set);
    return rv;
}

/* A provider whose metadata could not be fetched is not asked again for
 * ORGS_OIDC_FAIL_TTL: unauthenticated logins naming its org would otherwise
 * each hold a worker thread for the whole HTTP timeout. Shared by all
 * children through the store. */
static apr_status_t failed_recently(orgs_store_t *st, const char *issuer, apr_time_t now,
                                    apr_pool_t *p, orgs_err_t *err)
{
    const char *reason = NULL;
    apr_time_t at = 0;
    orgs_err_t ignored;
    if (st &&
        orgs_store_cache_get(st, apr_pstrcat(p, KEY_FAIL, issuer, NULL), &reason, &at, p,
                             &ignored) == APR_SUCCESS &&
        now >= at && now - at < ORGS_OIDC_FAIL_TTL) {
        return orgs_err_set(err, ORGS_EHTTP, "not retried for %" APR_TIME_T_FMT " s: %s",
                            apr_time_sec(ORGS_OIDC_FAIL_TTL - (now - at)), reason);
    }
    return APR_SUCCESS;
}

static void remember_failure(orgs_store_t *st, const char *issuer, apr_time_t now,
                             const orgs_err_t *why, apr_pool_t *p)
{
    orgs_err_t ignored;
    if (st) {
        orgs_store_cache_put(st, apr_pstrcat(p, KEY_FAIL, issuer, NULL), why->msg, now, p,
                             &ignored);
    }
}

static apr_status_t provider_load(orgs_store_t *st, const char *issuer, apr_time_t now,
                                  const orgs_http_opts_t *opts, orgs_oidc_provider_t **out,
                                  apr_pool_t *p, orgs_err_t *err, int *fetching);

apr_status_t orgs_oidc_provider_get(orgs_store_t *st, const char *issuer, apr_time_t now,
                                    const orgs_http_opts_t *opts, orgs_oidc_provider_t **out,
                                    apr_pool_t *p, orgs_err_t *err)
{
    orgs_err_t local = {{0}};
    int fetching = 0;
    apr_status_t rv;

    if (!err) {
        err = &local;
    }
    rv = provider_load(st, issuer, now, opts, out, p, err, &fetching);
    if (rv != APR_SUCCESS && fetching) {
        remember_failure(st, issuer, now, err, p);
    }
    return rv;
}

/* Cached metadata when fresh, else fetched (after failed_recently);
 * *fetching tells whether the network was involved in a failure. */
static apr_status_t provider_load(orgs_store_t *st, const char *issuer, apr_time_t now,
                                  const orgs_http_opts_t *opts, orgs_oidc_provider_t **out,
                                  apr_pool_t *p, orgs_err_t *err, int *fetching)
{
    const char *url = NULL, *expect = NULL, *expect_alt = NULL;
    apr_status_t rv = discovery_target(issuer, &url, &expect, &expect_alt, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    orgs_oidc_provider_t *prov = apr_pcalloc(p, sizeof(*prov));
    prov->config_issuer = apr_pstrdup(p, issuer);
    const char *key = apr_pstrcat(p, KEY_DISC, issuer, NULL);

    /* discovery: cache, else fetch */
    const char *cached = NULL;
    apr_time_t fetched = 0;
    int have = 0;
    if (st) {
        rv = orgs_store_cache_get(st, key, &cached, &fetched, p, err);
        if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
            return rv;
        }
        if (rv == APR_SUCCESS && fresh(fetched, now, ORGS_OIDC_CACHE_TTL) &&
            discovery_parse(cached, expect, expect_alt, prov, p, err) == APR_SUCCESS) {
            prov->discovery_fetched = fetched;
            have = 1;
        }
    }
    if (!have) {
        orgs_http_resp_t *resp = NULL;
        if ((rv = failed_recently(st, issuer, now, p, err)) != APR_SUCCESS) {
            return rv;
        }
        *fetching = 1;
        rv = fetch_ok(url, "discovery", opts, &resp, p, err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        rv = discovery_parse(resp->body, expect, expect_alt, prov, p, err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (st) {
            rv = orgs_store_cache_put(st, key, resp->body, now, p, err);
            if (rv != APR_SUCCESS) {
                return rv;
            }
        }
        prov->discovery_fetched = now;
    }

    /* JWKS: cache (same jwks_uri, fresh), else fetch */
    if (st) {
        const char *json = NULL;
        rv = jwks_cache_load(st, prov, &json, &fetched, p, err);
        if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
            return rv;
        }
        if (rv == APR_SUCCESS && fresh(fetched, now, ORGS_OIDC_CACHE_TTL)) {
            prov->jwks_json = json;
            prov->jwks_fetched = fetched;
        }
    }
    if (prov->jwks_json == NULL) {
        if ((rv = failed_recently(st, issuer, now, p, err)) != APR_SUCCESS) {
            return rv;
        }
        *fetching = 1;
        rv = jwks_fetch(st, prov, now, opts, p, err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    *out = prov;
    return APR_SUCCESS;
}

apr_status_t orgs_oidc_jwks_refresh(orgs_store_t *st, orgs_oidc_provider_t *prov, apr_time_t now,
                                    apr_interval_time_t min_interval, const orgs_http_opts_t *opts,
                                    apr_pool_t *p, orgs_err_t *err)
{
    if (min_interval <= 0) {
        min_interval = ORGS_OIDC_JWKS_MIN_INTERVAL;
    }
    apr_time_t last = prov->jwks_fetched;
    const char *try_key = apr_pstrcat(p, KEY_JWKS_TRY, prov->config_issuer, NULL);
    if (st) {
        /* another child may already have fetched a newer set */
        const char *json = NULL;
        apr_time_t fetched = 0;
        apr_status_t rv = jwks_cache_load(st, prov, &json, &fetched, p, err);
        if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
            return rv;
        }
        if (rv == APR_SUCCESS && fetched > prov->jwks_fetched && fetched <= now) {
            prov->jwks_json = json;
            prov->jwks_fetched = fetched;
            return APR_SUCCESS;
        }
        const char *v = NULL;
        apr_time_t tried = 0;
        rv = orgs_store_cache_get(st, try_key, &v, &tried, p, err);
        if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
            return rv;
        }
        if (rv == APR_SUCCESS && tried > last) {
            last = tried;
        }
    }
    if (last <= now && now - last < min_interval) {
        return orgs_err_set(err, APR_EAGAIN,
                            "JWKS fetched less than %" APR_TIME_T_FMT
                            " s ago; not fetching again yet",
                            apr_time_sec(min_interval));
    }
    if (st) {
        /* record the attempt first, so a failing IdP is throttled too */
        apr_status_t rv = orgs_store_cache_put(st, try_key, "{}", now, p, err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return jwks_fetch(st, prov, now, opts, p, err);
}

/* ---- authorization URL ------------------------------------------------ */

int orgs_oidc_scopes_have_openid(const char *scopes)
{
    for (const char *s = scopes ? scopes : ""; *s;) {
        while (*s == ' ') {
            s++;
        }
        apr_size_t n = strcspn(s, " ");
        if (n == 6 && strncmp(s, "openid", 6) == 0) {
            return 1;
        }
        s += n;
    }
    return 0;
}

/* NULL as "": a required parameter is always sent, if empty. */
static const char *nz(const char *s)
{
    return s ? s : "";
}

char *orgs_oidc_auth_url(const orgs_oidc_provider_t *prov, const char *client_id,
                         const char *redirect_uri, const char *scopes, const char *state,
                         const char *nonce, const char *code_challenge, const char *login_hint,
                         apr_pool_t *p)
{
    if (scopes == NULL || *scopes == '\0') {
        scopes = ORGS_OIDC_DEFAULT_SCOPES;
    }
    if (!orgs_oidc_scopes_have_openid(scopes)) {
        scopes = apr_pstrcat(p, "openid ", scopes, NULL);
    }
    return orgs_url_append_params(
        prov->authorization_endpoint, p, "response_type", "code", "client_id", nz(client_id),
        "redirect_uri", nz(redirect_uri), "scope", scopes, "state", nz(state), "nonce", nz(nonce),
        "code_challenge", nz(code_challenge), "code_challenge_method", "S256", "login_hint",
        login_hint && *login_hint ? login_hint : NULL, NULL);
}

/* ---- code exchange ---------------------------------------------------- */

/* An OAuth error code is %x20-21 / %x23-5B / %x5D-7E (RFC 6749 5.2); anything
 * else, or too long, is not quoted. */
static const char *error_code_text(const char *code)
{
    apr_size_t n = strlen(code);
    if (n == 0 || n > 64) {
        return "(unprintable)";
    }
    for (const unsigned char *c = (const unsigned char *)code; *c; c++) {
        if (*c < 0x20 || *c > 0x7e || *c == '"' || *c == '\\') {
            return "(unprintable)";
        }
    }
    return code;
}

apr_status_t orgs_oidc_token_exchange(const orgs_oidc_provider_t *prov, const char *client_id,
                                      const char *client_secret, const char *auth_method,
                                      const char *code, const char *code_verifier,
                                      const char *redirect_uri, const orgs_http_opts_t *opts,
                                      const char **id_token, const char **access_token,
                                      apr_pool_t *p, orgs_err_t *err)
{
    int post;
    if (auth_method == NULL || strcmp(auth_method, "client_secret_basic") == 0) {
        post = 0;
    } else if (strcmp(auth_method, "client_secret_post") == 0) {
        post = 1;
    } else {
        return orgs_err_set(err, APR_EINVAL, "unknown token endpoint auth method");
    }
    if (prov == NULL || client_id == NULL || client_secret == NULL || code == NULL ||
        code_verifier == NULL || redirect_uri == NULL || id_token == NULL) {
        return orgs_err_set(err, APR_EINVAL, "token exchange: missing argument");
    }

    const char *form = NULL;
    orgs_http_form_add(&form, "grant_type", "authorization_code", p);
    orgs_http_form_add(&form, "code", code, p);
    orgs_http_form_add(&form, "redirect_uri", redirect_uri, p);
    orgs_http_form_add(&form, "code_verifier", code_verifier, p);
    if (post) {
        orgs_http_form_add(&form, "client_id", client_id, p);
        orgs_http_form_add(&form, "client_secret", client_secret, p);
    }

    orgs_http_resp_t *resp = NULL;
    apr_status_t rv = orgs_http_post_form(prov->token_endpoint, form, post ? NULL : client_id,
                                          post ? NULL : client_secret, opts, &resp, p, err);
    if (post) {
        orgs_crypto_cleanse((char *)form, strlen(form)); /* holds the client secret */
    }
    if (rv != APR_SUCCESS) {
        return err_prefix(err, rv == APR_EINVAL ? ORGS_EHTTP : rv, "token endpoint");
    }

    json_t *doc = json_loads(resp->body, JSON_REJECT_DUPLICATES, NULL);
    rv = ORGS_EHTTP;
    const char *ecode = json_is_object(doc) ? jstr(doc, "error") : NULL;
    if (ecode) {
        orgs_err_set(err, rv, "token endpoint error %s (HTTP %d)", error_code_text(ecode),
                     resp->status);
        goto leave;
    }
    if (resp->status != 200) {
        orgs_err_set(err, rv, "token endpoint: HTTP status %d", resp->status);
        goto leave;
    }
    if (!json_is_object(doc)) {
        orgs_err_set(err, rv, "token endpoint: answer is not a JSON object");
        goto leave;
    }
    const char *tt = jstr(doc, "token_type");
    if (tt == NULL || strcasecmp(tt, "Bearer") != 0) {
        orgs_err_set(err, rv, "token endpoint: token_type is not Bearer");
        goto leave;
    }
    const char *idt = jstr(doc, "id_token");
    if (idt == NULL || *idt == '\0') {
        orgs_err_set(err, rv, "token endpoint: no id_token in the answer");
        goto leave;
    }
    *id_token = apr_pstrdup(p, idt);
    if (access_token) {
        const char *at = jstr(doc, "access_token");
        *access_token = at ? apr_pstrdup(p, at) : NULL;
    }
    rv = APR_SUCCESS;

leave:
    json_decref(doc);
    return rv;
}

/* ---- ID token --------------------------------------------------------- */

static apr_status_t verify_with(const orgs_oidc_provider_t *prov, const char *id_token,
                                json_t **claims, apr_pool_t *p, orgs_err_t *err)
{
    const orgs_jwks_t *jwks = NULL;
    const char *j = prov->jwks_json ? prov->jwks_json : "";
    apr_status_t rv = orgs_jose_jwks_get(&jwks, j, strlen(j), p, err);
    if (rv == APR_EINVAL) {
        /* a set without a usable key: treat like a rotation in progress */
        return orgs_err_set(err, ORGS_ENOKID, "JWKS has no usable signing key");
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return orgs_jose_jws_verify(id_token, jwks, claims, p, err);
}

apr_status_t orgs_oidc_id_token_verify(orgs_store_t *st, orgs_oidc_provider_t *prov,
                                       const char *client_id, const char *id_token,
                                       const char *nonce, apr_time_t now, apr_interval_time_t skew,
                                       const orgs_http_opts_t *opts, json_t **claims, apr_pool_t *p,
                                       orgs_err_t *err)
{
    if (prov == NULL || id_token == NULL || claims == NULL) {
        return orgs_err_set(err, APR_EINVAL, "ID token verification: missing argument");
    }
    json_t *c = NULL;
    apr_status_t rv = verify_with(prov, id_token, &c, p, err);
    if (rv == ORGS_ENOKID) {
        orgs_err_t e = {""};
        apr_status_t rr = orgs_oidc_jwks_refresh(st, prov, now, 0, opts, p, &e);
        if (rr == APR_EAGAIN) {
            return rv; /* throttled: keep the "no key" answer in err */
        }
        if (rr != APR_SUCCESS) {
            return orgs_err_set(err, rr, "%s", e.msg);
        }
        rv = verify_with(prov, id_token, &c, p, err);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    orgs_jose_expect_t expect = {prov->issuer, client_id, nonce,
                                 skew > 0 ? skew : ORGS_JOSE_DEFAULT_SKEW};
    rv = orgs_jose_claims_check(c, &expect, now, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *claims = c;
    return APR_SUCCESS;
}
