/* Outbound HTTP with libcurl: see http.h for the rules every request follows. */
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <unistd.h>

#include <curl/curl.h>

#include <apr_base64.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "http.h"
#include "url.h"
#include "crypto.h"
#include "netaddr.h"

/* The product, never its exact version: a tenant's IdP (or whatever a
 * discovery document points at) learns nothing to match against known bugs. */
#define ORGS_HTTP_USER_AGENT "mod_auth_orgs"

/* Response body being received; malloc'ed so a large aborted transfer does
 * not bloat the request pool, copied into the pool once complete. */
static void kept_free(void *v);
static int kept_ok;
static pthread_key_t kept_key;

typedef struct body_buf_t {
    char *data;
    apr_size_t len;
    apr_size_t cap;
    apr_size_t max;
    int too_big;
} body_buf_t;

apr_status_t orgs_http_global_init(orgs_err_t *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return orgs_err_set(err, ORGS_EHTTP, "libcurl initialisation failed");
    }
    return APR_SUCCESS;
}

void orgs_http_thread_release(void)
{
    if (kept_ok) {
        kept_free(pthread_getspecific(kept_key));
        (void)pthread_setspecific(kept_key, NULL);
    }
}

void orgs_http_global_cleanup(void)
{
    orgs_http_thread_release(); /* the calling thread's; others' went at their exit */
    curl_global_cleanup();
}

void orgs_http_form_add(const char **form, const char *name, const char *value, apr_pool_t *p)
{
    if (value == NULL) {
        return;
    }
    const char *pair =
        apr_pstrcat(p, orgs_url_form_encode(name, p), "=", orgs_url_form_encode(value, p), NULL);
    *form = (*form && **form) ? apr_pstrcat(p, *form, "&", pair, NULL) : pair;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    body_buf_t *b = userdata;
    size_t n = size * nmemb;
    if (n > b->max - b->len) {
        b->too_big = 1;
        return 0; /* makes libcurl abort with CURLE_WRITE_ERROR */
    }
    if (b->len + n + 1 > b->cap) {
        apr_size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        char *d = realloc(b->data, cap);
        if (d == NULL) {
            return 0;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    return n;
}

/* ---- one libcurl handle kept per thread -------------------------------
 *
 * A login's code exchange (and a fetch of discovery or JWKS) reuses the
 * thread's handle, so its connection to the IdP stays open for the next
 * call: no TCP (or TLS) handshake per login. A connection is only ever
 * reused under the policy it was opened and checked under: the handle is
 * kept with a key made of everything that decides which addresses and
 * certificates a call accepts (the connection's concurrency bucket, which
 * is its id, the CA file, the back-channel policy); a call with another
 * key closes the kept handle, and its connections, and starts a new one.
 * So one org's connection never rides on a socket another's opened. At
 * most one idle connection per thread (CURLOPT_MAXCONNECTS 1). */
typedef struct kept_t {
    CURL *h;
    char *key;   /* malloc'd */
    pid_t owner; /* a child forked from a thread holding one must not share its socket */
} kept_t;

static pthread_once_t kept_once = PTHREAD_ONCE_INIT;

static void kept_free(void *v)
{
    kept_t *k = v;
    if (k) {
        if (k->owner == getpid()) {
            /* closing its connections sends a TLS alert: no SIGPIPE for
             * a peer gone meanwhile (reset cleared the option) */
            curl_easy_setopt(k->h, CURLOPT_NOSIGNAL, 1L);
            curl_easy_cleanup(k->h);
        }
        /* else a forked child's copy: cleaning it up would shut down the
         * parent's TLS session on the shared socket; its memory stays
         * with this child, which starts its own handle */
        free(k->key);
        free(k);
    }
}

static void kept_init(void)
{
    kept_ok = pthread_key_create(&kept_key, kept_free) == 0;
}

static void key_add(char **buf, apr_size_t *len, const char *part)
{
    apr_size_t n = part ? strlen(part) + 1 : 1;
    char *b = realloc(*buf, *len + n + 1);
    if (b == NULL) {
        free(*buf);
        *buf = NULL;
        return;
    }
    /* each part ends with a byte no part holds, so parts cannot run together */
    memcpy(b + *len, part ? part : "", n - 1);
    b[*len + n - 1] = '\x1f';
    b[*len + n] = '\0';
    *buf = b;
    *len += n;
}

static void key_list(char **buf, apr_size_t *len, const char *const *list)
{
    for (; *buf && list && *list; list++) {
        key_add(buf, len, *list);
    }
    if (*buf) {
        key_add(buf, len, "\x1e"); /* end of list */
    }
}

/* The key a kept handle's connections were opened under (malloc'd; NULL
 * when out of memory: no reuse). */
static char *policy_key(const orgs_http_opts_t *o)
{
    char *k = NULL;
    apr_size_t n = 0;
    key_add(&k, &n, o->limit_key);
    if (k) {
        key_add(&k, &n, o->ca_file);
    }
    if (k) {
        key_add(&k, &n, o->refuse_internal ? "refuse" : "any");
    }
    key_list(&k, &n, o->allow_internal);
    key_list(&k, &n, o->allow_hosts);
    key_list(&k, &n, o->conn_hosts);
    return k;
}

/* The thread's handle for a call under opts, reset to no options; a new
 * one when the kept handle's key differs. NULL when none can be made.
 * *kept: whether it is the thread's (not to be cleaned up by the call). */
static CURL *handle_get(const orgs_http_opts_t *opts, int *kept)
{
    kept_t *k;
    char *key;

    *kept = 0;
    (void)pthread_once(&kept_once, kept_init);
    key = kept_ok ? policy_key(opts) : NULL;
    if (key == NULL) {
        return curl_easy_init();
    }
    k = pthread_getspecific(kept_key);
    if (k && strcmp(k->key, key) == 0 && k->owner == getpid()) {
        free(key);
        curl_easy_reset(k->h);
        *kept = 1;
        return k->h;
    }
    if (k) { /* another policy: its connections go with it */
        (void)pthread_setspecific(kept_key, NULL);
        kept_free(k);
    }
    k = calloc(1, sizeof(*k));
    if (k == NULL || (k->h = curl_easy_init()) == NULL || pthread_setspecific(kept_key, k) != 0) {
        if (k && k->h) {
            curl_easy_cleanup(k->h);
        }
        free(k);
        free(key);
        return curl_easy_init();
    }
    k->key = key;
    k->owner = getpid();
    *kept = 1;
    return k->h;
}

/* The SSRF guard's state for one request (CURLOPT_OPENSOCKETFUNCTION). */
typedef struct sock_guard_t {
    const orgs_http_opts_t *opts;
    const char *url_host;         /* the host as written in the URL */
    orgs_netaddr_class_t refused; /* the class of a refused address */
    int was_refused;
} sock_guard_t;

/* Called by libcurl with each resolved address it is about to connect to:
 * checking here, after resolution, leaves no window for a DNS answer that
 * changes between a check and the connection. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    sock_guard_t *g = clientp;
    if (purpose == CURLSOCKTYPE_IPCXN && g->opts->refuse_internal) {
        orgs_netaddr_class_t c = orgs_netaddr_sockaddr_class(&a->addr, a->addrlen);
        if (c != ORGS_NETADDR_PUBLIC &&
            !orgs_netaddr_allowed(g->opts->allow_internal, g->url_host, &a->addr, a->addrlen)) {
            g->refused = c;
            g->was_refused = 1;
            return CURL_SOCKET_BAD;
        }
    }
#ifdef SOCK_CLOEXEC
    /* not inherited by programs a child may start */
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
#else
    return socket(a->family, a->socktype, a->protocol);
#endif
}

static long to_ms(apr_interval_time_t t, apr_interval_time_t dflt)
{
    apr_interval_time_t v = t > 0 ? t : dflt;
    long ms = (long)apr_time_as_msec(v);
    return ms > 0 ? ms : 1;
}

#define SETOPT(h, opt, val)                                                                        \
    do {                                                                                           \
        if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK) {                                     \
            rv = orgs_err_set(err, ORGS_EHTTP, "libcurl option %s not supported", #opt);           \
            goto leave;                                                                            \
        }                                                                                          \
    } while (0)

/* One request. form NULL: GET; otherwise POST with that body. auth_header
 * (may be NULL) is a complete "Authorization: ..." line. */
static apr_status_t perform(const char *url, const char *form, const char *auth_header,
                            const orgs_http_opts_t *opts, orgs_http_resp_t **resp, apr_pool_t *p,
                            orgs_err_t *err)
{
    /* A URL that is not absolute http(s) by the core's rule (url.h) never
     * reaches libcurl, and the error names the problem; libcurl enforces
     * the protocol list anyway. */
    apr_status_t rv = orgs_url_absolute_check(url, 0, p, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    static const orgs_http_opts_t defaults = {0};
    if (opts == NULL) {
        opts = &defaults;
    }

    int kept;
    CURL *h = handle_get(opts, &kept);
    struct curl_slist *hdrs = NULL;
    body_buf_t body = {NULL, 0, 0, opts->max_body ? opts->max_body : ORGS_HTTP_MAX_BODY_DEFAULT, 0};
    char errbuf[CURL_ERROR_SIZE] = "";
    apr_uri_t uri;
    sock_guard_t guard = {opts, NULL, ORGS_NETADDR_PUBLIC, 0};
    if (apr_uri_parse(p, url, &uri) == APR_SUCCESS) {
        guard.url_host = uri.hostname; /* IPv6 brackets stripped */
    }
    if (h == NULL) {
        return orgs_err_set(err, ORGS_EHTTP, "libcurl handle allocation failed");
    }

    struct curl_slist *n = curl_slist_append(hdrs, "Accept: application/json");
    if (n) {
        hdrs = n;
        n = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    }
    if (n && form) {
        hdrs = n;
        n = curl_slist_append(hdrs, "Content-Type: application/x-www-form-urlencoded");
    }
    if (n && auth_header) {
        hdrs = n;
        n = curl_slist_append(hdrs, auth_header);
    }
    if (n == NULL) {
        rv = orgs_err_set(err, ORGS_EHTTP, "out of memory building request headers");
        goto leave;
    }
    hdrs = n;

    SETOPT(h, CURLOPT_URL, url);
    SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(h, CURLOPT_MAXREDIRS, 0L);
    SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
    SETOPT(h, CURLOPT_NOSIGNAL, 1L);
    SETOPT(h, CURLOPT_MAXCONNECTS, 1L);
    SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS,
           to_ms(opts->connect_timeout, ORGS_HTTP_CONNECT_TIMEOUT_DEFAULT));
    SETOPT(h, CURLOPT_TIMEOUT_MS, to_ms(opts->timeout, ORGS_HTTP_TIMEOUT_DEFAULT));
    SETOPT(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)body.max);
    SETOPT(h, CURLOPT_USERAGENT, ORGS_HTTP_USER_AGENT);
    SETOPT(h, CURLOPT_HTTPHEADER, hdrs);
    SETOPT(h, CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(h, CURLOPT_WRITEDATA, &body);
    SETOPT(h, CURLOPT_ERRORBUFFER, errbuf);
    SETOPT(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    SETOPT(h, CURLOPT_OPENSOCKETDATA, &guard);
    if (opts->ca_file) {
        SETOPT(h, CURLOPT_CAINFO, opts->ca_file);
    }
    if (form) {
        SETOPT(h, CURLOPT_POST, 1L);
        SETOPT(h, CURLOPT_POSTFIELDS, form);
        SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(form));
    }

    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        if (guard.was_refused) {
            rv = orgs_err_set(err, APR_EACCES,
                              "refused: the host resolves to a %s address that "
                              "OrgsBackchannelAllowInternal does not list",
                              orgs_netaddr_class_name(guard.refused));
        } else if (body.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
            rv = orgs_err_set(err, ORGS_EHTTP,
                              "response body larger than %" APR_SIZE_T_FMT " bytes", body.max);
        } else if (cc == CURLE_OPERATION_TIMEDOUT) {
            rv = orgs_err_set(err, ORGS_EHTTP, "timeout: %s", errbuf[0] ? errbuf : "");
        } else {
            /* libcurl's text names host and port at most, never our headers
             * or body, so it is safe to pass on. */
            rv = orgs_err_set(err, ORGS_EHTTP, "request failed: %s",
                              errbuf[0] ? errbuf : curl_easy_strerror(cc));
        }
        goto leave;
    }

    long status = 0;
    char *ctype = NULL;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);

    orgs_http_resp_t *r = apr_pcalloc(p, sizeof(*r));
    r->status = (int)status;
    r->content_type = ctype ? apr_pstrdup(p, ctype) : NULL;
    r->body = apr_palloc(p, body.len + 1);
    if (body.len) {
        memcpy(r->body, body.data, body.len);
    }
    r->body[body.len] = '\0';
    r->body_len = body.len;
    *resp = r;
    rv = APR_SUCCESS;

leave:
    if (kept) {
        curl_easy_reset(h); /* no pointer into this call stays in the kept handle */
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* for a cleanup at the thread's exit */
    } else {
        curl_easy_cleanup(h);
    }
    curl_slist_free_all(hdrs);
    free(body.data);
    return rv;
}

apr_status_t orgs_http_get(const char *url, const orgs_http_opts_t *opts, orgs_http_resp_t **resp,
                           apr_pool_t *p, orgs_err_t *err)
{
    return perform(url, NULL, NULL, opts, resp, p, err);
}

apr_status_t orgs_http_post_form(const char *url, const char *form, const char *basic_user,
                                 const char *basic_pass, const orgs_http_opts_t *opts,
                                 orgs_http_resp_t **resp, apr_pool_t *p, orgs_err_t *err)
{
    char *auth = NULL;
    char *cred = NULL;
    apr_size_t cred_len = 0;
    if (basic_user) {
        /* RFC 6749 2.3.1: client id and secret are form-urlencoded before
         * being joined with ':' and base64-encoded. */
        cred = apr_pstrcat(p, orgs_url_form_encode(basic_user, p), ":",
                           orgs_url_form_encode(basic_pass, p), NULL);
        cred_len = strlen(cred);
        char *b64 = apr_palloc(p, apr_base64_encode_len((int)cred_len));
        apr_base64_encode(b64, cred, (int)cred_len);
        auth = apr_pstrcat(p, "Authorization: Basic ", b64, NULL);
        orgs_crypto_cleanse(b64, strlen(b64));
    }
    apr_status_t rv = perform(url, form ? form : "", auth, opts, resp, p, err);
    if (cred) {
        /* the secret should not linger in the pool longer than needed */
        orgs_crypto_cleanse(cred, cred_len);
        orgs_crypto_cleanse(auth, strlen(auth));
    }
    return rv;
}
