/* OpenID Connect relying party core: the provider (discovery document and
 * JWKS, cached and refreshed) and the back-channel policy every call to the
 * IdP follows. See oidc.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "oidc_int.h"
#include "jose.h"
#include "crypto.h"
#include "memo.h"
#include "url.h"
#include "backchan.h"

#define KEY_DISC "disc:"
#define KEY_JWKS "jwks:"
#define KEY_JWKS_TRY "jwkstry:"

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

const char *orgs_oidc_json_str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int fresh(apr_time_t fetched, apr_time_t now, apr_interval_time_t ttl)
{
    return fetched <= now && now - fetched < ttl;
}

/* Prefixes err's text with what (err may be NULL) and returns rv. */
apr_status_t orgs_oidc_err_prefix(orgs_err_t *err, apr_status_t rv, const char *what)
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
    const char *iss = orgs_oidc_json_str(doc, "issuer");
    if (iss == NULL ||
        (strcmp(iss, expect) != 0 && (!expect_alt || strcmp(iss, expect_alt) != 0))) {
        orgs_err_set(err, rv, "discovery document's issuer does not equal the configured '%s'",
                     expect);
        goto leave;
    }
    static const char *const required[] = {"authorization_endpoint", "token_endpoint", "jwks_uri"};
    const char *vals[3];
    for (int i = 0; i < 3; i++) {
        vals[i] = orgs_oidc_json_str(doc, required[i]);
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
    const char *es = orgs_oidc_json_str(doc, "end_session_endpoint");
    const char *ui = orgs_oidc_json_str(doc, "userinfo_endpoint");
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
 * unwrapped, by the bytes of what they depend on (memo.h): a login
 * reads the cached text from the store and finds it already parsed. */
static orgs_memo_t disc_memo = ORGS_MEMO_INITIALIZER;
static orgs_memo_t jwks_entry_memo = ORGS_MEMO_INITIALIZER;

/* The strings (NULL counts as empty) one after the other, each ended by
 * a NUL so that ("ab", "c") and ("a", "bc") differ: the memo's key. */
static const char *memo_key(apr_size_t *klen, const char *const *parts, int n, apr_pool_t *p)
{
    apr_size_t len = 0, l[3];
    for (int i = 0; i < n; i++) {
        l[i] = parts[i] ? strlen(parts[i]) : 0;
        len += l[i] + 1;
    }
    char *buf = apr_palloc(p, len), *b = buf;
    for (int i = 0; i < n; i++) {
        memcpy(b, parts[i] ? parts[i] : "", l[i]);
        b[l[i]] = '\0';
        b += l[i] + 1;
    }
    *klen = len;
    return buf;
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
    apr_size_t klen;
    const char *key = memo_key(&klen, parts, 3, p);
    void *val;
    apr_status_t rv;
    if ((rv = orgs_memo_get(&disc_memo, key, klen, disc_build, &d, &val, p, err)) == APR_SUCCESS) {
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
    const char *uri = orgs_oidc_json_str(w, "uri");
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
    apr_size_t klen;
    const char *key = memo_key(&klen, parts, 2, p);
    void *val = NULL;
    if (orgs_memo_get(&jwks_entry_memo, key, klen, jwks_entry_build, &d, &val, p, NULL) !=
        APR_SUCCESS) {
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
        return orgs_oidc_err_prefix(err, rv, what); /* keep http.c's detail */
    }
    if ((*resp)->status != 200) {
        return orgs_err_set(err, ORGS_EHTTP, "%s: HTTP status %d", what, (*resp)->status);
    }
    return APR_SUCCESS;
}

/* ---- back-channel policy ----------------------------------------------- */

/* How long a cross-process fetch lease may be held: the whole transfer's
 * timeout and a margin, after which a crashed holder no longer blocks. */
static apr_interval_time_t lease_for(const orgs_http_opts_t *opts)
{
    apr_interval_time_t t = opts && opts->timeout > 0 ? opts->timeout : ORGS_HTTP_TIMEOUT_DEFAULT;
    return t + apr_time_from_sec(2);
}

/* The bucket of the per-connection cap. */
const char *orgs_oidc_cap_key(const orgs_http_opts_t *opts, const char *issuer)
{
    return opts && opts->limit_key ? opts->limit_key : issuer;
}

int orgs_oidc_cap_max(const orgs_http_opts_t *opts)
{
    return opts ? opts->max_concurrent : 0;
}

/* fetch_ok within the cap of opts' connection. */
static apr_status_t capped_fetch(const char *url, const char *what, const char *issuer,
                                 const orgs_http_opts_t *opts, orgs_http_resp_t **resp,
                                 apr_pool_t *p, orgs_err_t *err)
{
    const char *key = orgs_oidc_cap_key(opts, issuer);
    apr_status_t rv = orgs_backchan_slot_take(key, orgs_oidc_cap_max(opts), err);
    if (rv != APR_SUCCESS) {
        return orgs_oidc_err_prefix(err, rv, what);
    }
    rv = fetch_ok(url, what, opts, resp, p, err);
    orgs_backchan_slot_give(key, orgs_oidc_cap_max(opts));
    return rv;
}

/* One endpoint against the issuer's origin and the hosts opts allows (the
 * connection's and the server's). */
apr_status_t orgs_oidc_endpoint_allowed(const char *what, const char *url, const char *issuer,
                                        const orgs_http_opts_t *opts, apr_pool_t *p,
                                        orgs_err_t *err)
{
    return orgs_backchan_endpoint_check(what, url, issuer, opts ? opts->conn_hosts : NULL,
                                        opts ? opts->allow_hosts : NULL, p, err);
}

/* The endpoints the module calls itself must be on the issuer's origin or
 * an allowed host; userinfo, which it does not call, is dropped instead.
 * Checked on every use with the caller's opts, never once per cached
 * document: the cache is per issuer, the allowed hosts per connection. */
static apr_status_t endpoints_check(orgs_oidc_provider_t *prov, const orgs_http_opts_t *opts,
                                    apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv = orgs_oidc_endpoint_allowed("token_endpoint", prov->token_endpoint,
                                                 prov->issuer, opts, p, err);
    if (rv == APR_SUCCESS) {
        rv = orgs_oidc_endpoint_allowed("jwks_uri", prov->jwks_uri, prov->issuer, opts, p, err);
    }
    if (rv != APR_SUCCESS) {
        return orgs_oidc_err_prefix(err, rv, "discovery document refused");
    }
    if (prov->userinfo_endpoint &&
        orgs_oidc_endpoint_allowed("userinfo_endpoint", prov->userinfo_endpoint, prov->issuer, opts,
                                   p, NULL) != APR_SUCCESS) {
        prov->userinfo_endpoint = NULL;
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
    /* again at the call: a provider may come from a caller with other opts */
    apr_status_t rv =
        orgs_oidc_endpoint_allowed("jwks_uri", prov->jwks_uri, prov->issuer, opts, p, err);
    if (rv == APR_SUCCESS) {
        rv = capped_fetch(prov->jwks_uri, "JWKS", prov->config_issuer, opts, &resp, p, err);
    }
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
        /* a full store: used uncached, so the sign-in meets the store's own
         * answer (503, or room made by the expired-session sweep) */
        if (rv != APR_SUCCESS && rv != ORGS_ESTOREFULL) {
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

/* How usable a cached copy fetched at `fetched` is now. */
enum { COPY_NONE = 0, COPY_STALE = 1, COPY_FRESH = 2 };

static int copy_age(apr_time_t fetched, apr_time_t now)
{
    if (fresh(fetched, now, ORGS_OIDC_CACHE_TTL)) {
        return COPY_FRESH;
    }
    return fresh(fetched, now, ORGS_OIDC_CACHE_TTL + ORGS_OIDC_STALE_MAX) ? COPY_STALE : COPY_NONE;
}

/* prov's JWK set from the cache: COPY_* (prov set unless COPY_NONE). */
static int jwks_cached(orgs_store_t *st, orgs_oidc_provider_t *prov, apr_time_t now, apr_pool_t *p)
{
    const char *json = NULL;
    apr_time_t fetched = 0;
    orgs_err_t ignored;
    if (!st || jwks_cache_load(st, prov, &json, &fetched, p, &ignored) != APR_SUCCESS) {
        return COPY_NONE;
    }
    int age = copy_age(fetched, now);
    if (age != COPY_NONE) {
        prov->jwks_json = json;
        prov->jwks_fetched = fetched;
    }
    return age;
}

/* The discovery document from the cache: COPY_* (prov filled unless
 * COPY_NONE). */
static int discovery_cached(orgs_store_t *st, const char *key, const char *expect,
                            const char *expect_alt, orgs_oidc_provider_t *prov, apr_time_t now,
                            apr_pool_t *p)
{
    const char *cached = NULL;
    apr_time_t fetched = 0;
    orgs_err_t ignored;
    if (!st || orgs_store_cache_get(st, key, &cached, &fetched, p, &ignored) != APR_SUCCESS) {
        return COPY_NONE;
    }
    int age = copy_age(fetched, now);
    if (age == COPY_NONE ||
        discovery_parse(cached, expect, expect_alt, prov, p, &ignored) != APR_SUCCESS) {
        return COPY_NONE;
    }
    prov->discovery_fetched = fetched;
    return age;
}

static apr_status_t discovery_fetch(orgs_store_t *st, const char *url, const char *key,
                                    const char *expect, const char *expect_alt,
                                    orgs_oidc_provider_t *prov, apr_time_t now,
                                    const orgs_http_opts_t *opts, apr_pool_t *p, orgs_err_t *err)
{
    orgs_http_resp_t *resp = NULL;
    /* guarded like every call: the issuer's name is the operator's
     * choice, but what it resolves to is whoever runs its DNS */
    apr_status_t rv = capped_fetch(url, "discovery", prov->config_issuer, opts, &resp, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    orgs_oidc_provider_t fresh_prov = *prov;
    rv = discovery_parse(resp->body, expect, expect_alt, &fresh_prov, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (st && (rv = orgs_store_cache_put(st, key, resp->body, now, p, err)) != APR_SUCCESS &&
        rv != ORGS_ESTOREFULL) { /* a full store: used uncached, as the JWKS */
        return rv;
    }
    *prov = fresh_prov;
    prov->discovery_fetched = now;
    return APR_SUCCESS;
}

/* Stale-while-revalidate for one document: have is what the cache gave
 * (COPY_*). When not fresh, one request (single flight, not while backing
 * off) fetches; the others keep the stale copy, or, without one, wait
 * briefly for the fetching request and read the cache again (reread), or
 * fail with begin's APR_EBUSY / APR_EAGAIN. A failed fetch with a stale
 * copy keeps the copy. */
typedef apr_status_t (*fetch_fn)(void *baton, orgs_err_t *err);
typedef int (*reread_fn)(void *baton);

/* Another process fetches a document this request has no copy of: read the
 * cache again every 25 ms for up to ORGS_BACKCHAN_WAIT, so that the first
 * logins of an org at once all succeed when the IdP answers quickly. At
 * most twice max_concurrent requests per issuer and child wait (the others
 * fail at once), so a hanging IdP holds few worker threads. */
static int wait_other_process(const char *issuer, const orgs_http_opts_t *opts, reread_fn reread,
                              void *baton, apr_pool_t *p)
{
    int max = orgs_oidc_cap_max(opts) > 0 ? 2 * orgs_oidc_cap_max(opts) : ORGS_OIDC_WAITERS_DEFAULT;
    const char *key = apr_pstrcat(p, "wait:", issuer, NULL);
    int have = COPY_NONE;
    if (orgs_backchan_slot_take(key, max, NULL) != APR_SUCCESS) {
        return COPY_NONE;
    }
    for (apr_time_t end = apr_time_now() + ORGS_BACKCHAN_WAIT;
         have == COPY_NONE && apr_time_now() < end;) {
        apr_sleep(apr_time_from_msec(25));
        have = reread(baton);
    }
    orgs_backchan_slot_give(key, max);
    return have;
}

static apr_status_t revalidate(orgs_store_t *st, const char *issuer, orgs_backchan_kind_t kind,
                               int have, apr_time_t now, const orgs_http_opts_t *opts,
                               fetch_fn fetch, reread_fn reread, void *baton, apr_pool_t *p,
                               orgs_err_t *err)
{
    const char *what = kind == ORGS_BACKCHAN_JWKS ? "JWKS" : "discovery";
    orgs_backchan_ticket_t *t = NULL;
    orgs_err_t berr = {{0}};
    int waited = 0;

    if (have == COPY_FRESH) {
        return APR_SUCCESS;
    }
    apr_status_t rv =
        orgs_backchan_begin(st, issuer, kind, now, lease_for(opts), &waited, &t, p, &berr);
    if (rv == APR_SUCCESS) {
        rv = fetch(baton, err);
        orgs_backchan_end(st, t, rv, err, now, p);
        return rv == APR_SUCCESS || have == COPY_STALE ? APR_SUCCESS : rv;
    }
    if (have == COPY_NONE && waited) {
        have = reread(baton);
    } else if (have == COPY_NONE && rv == APR_EBUSY) {
        have = wait_other_process(issuer, opts, reread, baton, p);
    }
    if (have != COPY_NONE) {
        return APR_SUCCESS;
    }
    return orgs_err_set(err, rv, "%s: %s", what, berr.msg);
}

typedef struct disc_baton_t {
    orgs_store_t *st;
    const char *url, *key, *expect, *expect_alt;
    orgs_oidc_provider_t *prov;
    apr_time_t now;
    const orgs_http_opts_t *opts;
    apr_pool_t *p;
} disc_baton_t;

static apr_status_t disc_fetch_cb(void *baton, orgs_err_t *err)
{
    disc_baton_t *b = baton;
    return discovery_fetch(b->st, b->url, b->key, b->expect, b->expect_alt, b->prov, b->now,
                           b->opts, b->p, err);
}

/* The request's time, or the clock when later: a copy another request
 * just fetched must count as fresh. */
static apr_time_t reread_now(const disc_baton_t *b)
{
    apr_time_t t = apr_time_now();
    return t > b->now ? t : b->now;
}

static int disc_reread_cb(void *baton)
{
    disc_baton_t *b = baton;
    return discovery_cached(b->st, b->key, b->expect, b->expect_alt, b->prov, reread_now(b), b->p);
}

static apr_status_t jwks_fetch_cb(void *baton, orgs_err_t *err)
{
    disc_baton_t *b = baton;
    return jwks_fetch(b->st, b->prov, b->now, b->opts, b->p, err);
}

static int jwks_reread_cb(void *baton)
{
    disc_baton_t *b = baton;
    return jwks_cached(b->st, b->prov, reread_now(b), b->p);
}

apr_status_t orgs_oidc_provider_get(orgs_store_t *st, const char *issuer, apr_time_t now,
                                    const orgs_http_opts_t *opts, orgs_oidc_provider_t **out,
                                    apr_pool_t *p, orgs_err_t *err)
{
    orgs_err_t local = {{0}};
    disc_baton_t b = {st, NULL, NULL, NULL, NULL, NULL, now, opts, p};

    if (!err) {
        err = &local;
    }
    apr_status_t rv = discovery_target(issuer, &b.url, &b.expect, &b.expect_alt, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    b.prov = apr_pcalloc(p, sizeof(*b.prov));
    b.prov->config_issuer = apr_pstrdup(p, issuer);
    b.key = apr_pstrcat(p, KEY_DISC, issuer, NULL);

    int have = discovery_cached(st, b.key, b.expect, b.expect_alt, b.prov, now, p);
    rv = revalidate(st, issuer, ORGS_BACKCHAN_DISCOVERY, have, now, opts, disc_fetch_cb,
                    disc_reread_cb, &b, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((rv = endpoints_check(b.prov, opts, p, err)) != APR_SUCCESS) {
        return rv;
    }
    have = jwks_cached(st, b.prov, now, p);
    rv = revalidate(st, issuer, ORGS_BACKCHAN_JWKS, have, now, opts, jwks_fetch_cb, jwks_reread_cb,
                    &b, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = b.prov;
    return APR_SUCCESS;
}

apr_status_t orgs_oidc_jwks_refresh(orgs_store_t *st, orgs_oidc_provider_t *prov, apr_time_t now,
                                    apr_interval_time_t min_interval, const orgs_http_opts_t *opts,
                                    apr_pool_t *p, orgs_err_t *err)
{
    if (min_interval <= 0) {
        min_interval = ORGS_OIDC_JWKS_MIN_INTERVAL;
    }
    apr_time_t last = 0;
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
        rv = orgs_store_cache_get(st, try_key, &v, &last, p, err);
        if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
            return rv;
        }
    }
    /* Only refreshes caused by an unknown kid count: the first one after a
     * key switch goes out at once, a stream of forged kids at most once per
     * min_interval. */
    if (last <= now && now - last < min_interval) {
        return orgs_err_set(err, APR_EAGAIN,
                            "JWKS refreshed less than %" APR_TIME_T_FMT
                            " s ago for an unknown kid; not fetching again yet",
                            apr_time_sec(min_interval));
    }
    orgs_backchan_ticket_t *t = NULL;
    int waited = 0;
    apr_time_t before = prov->jwks_fetched;
    apr_status_t rv = orgs_backchan_begin(st, prov->config_issuer, ORGS_BACKCHAN_JWKS, now,
                                          lease_for(opts), &waited, &t, p, err);
    if (rv != APR_SUCCESS) {
        /* another request was refreshing it: take its result */
        if (waited && jwks_cached(st, prov, now, p) != COPY_NONE && prov->jwks_fetched > before) {
            return APR_SUCCESS;
        }
        return rv;
    }
    if (st) {
        /* record the attempt first, so a failing IdP is throttled too */
        rv = orgs_store_cache_put(st, try_key, "{}", now, p, err);
    }
    if (rv == APR_SUCCESS) {
        rv = jwks_fetch(st, prov, now, opts, p, err);
    }
    orgs_backchan_end(st, t, rv, err, now, p);
    return rv;
}
