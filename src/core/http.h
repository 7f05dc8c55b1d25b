/* The only libcurl user: outbound HTTP(S) to identity providers, with the
 * safety rules applied to every request:
 * - only http and https, redirects never followed (a 3xx is returned as is);
 * - TLS peer and host name verification always on (optional CA file);
 * - connect and total timeouts, a cap on the response body (aborted when
 *   exceeded, whether announced by Content-Length or not);
 * - CURLOPT_NOSIGNAL (safe on threaded MPMs);
 * - optionally (refuse_internal) the SSRF guard: the address libcurl is about
 *   to connect to, after resolution, must be public unless the operator
 *   allowed it (allow_internal: the URL's host name as written, or an
 *   address or CIDR holding it; netaddr.h). What a name resolves to never
 *   widens what is allowed;
 * - "Accept: application/json" and "User-Agent: mod_auth_orgs/VERSION".
 *
 * orgs_http_global_init() must be called once per process before any thread
 * makes a request (httpd: post_config / child_init; orgctl and tests: main).
 *
 * Error texts never contain secrets (no Authorization header, no form body).
 */
#ifndef ORGS_HTTP_H
#define ORGS_HTTP_H

#include "orgs.h"

#define ORGS_HTTP_CONNECT_TIMEOUT_DEFAULT apr_time_from_sec(5)
#define ORGS_HTTP_TIMEOUT_DEFAULT apr_time_from_sec(10)
#define ORGS_HTTP_MAX_BODY_DEFAULT ((apr_size_t)512 * 1024)

/* Zero / NULL fields take the defaults; opts itself may be NULL. */
typedef struct orgs_http_opts_t {
    apr_interval_time_t connect_timeout; /* 0 = 5 s */
    apr_interval_time_t timeout;         /* whole transfer, 0 = 10 s */
    apr_size_t max_body;                 /* bytes, 0 = 512 KiB */
    const char *ca_file;                 /* PEM bundle, NULL = system store */
    /* Back-channel policy (oidc_provider.c, backchan.h); zero = off. */
    int refuse_internal;               /* refuse non-public resolved addresses (APR_EACCES) ... */
    const char *const *allow_internal; /* ... but these (NULL-terminated names/addresses/CIDRs) */
    const char *const *allow_hosts;    /* NULL-terminated: hosts besides the issuer's origin,
                                          for every connection (OrgsBackchannelAllowHost) */
    const char *const *conn_hosts;     /* NULL-terminated: the same for this connection only */
    const char *limit_key;             /* concurrency bucket (a connection id); NULL = issuer */
    int max_concurrent;                /* calls in flight per bucket and process; 0 = no cap */
} orgs_http_opts_t;

typedef struct orgs_http_resp_t {
    int status;               /* HTTP status, e.g. 200, 302, 400 */
    const char *content_type; /* as sent, NULL when absent */
    char *body;               /* NUL-terminated (never NULL; "" when empty) */
    apr_size_t body_len;      /* without the NUL */
} orgs_http_resp_t;

/* curl_global_init(CURL_GLOBAL_DEFAULT); call once at process start, before
 * threads. ORGS_EHTTP if libcurl cannot initialise. */
apr_status_t orgs_http_global_init(orgs_err_t *err);
/* curl_global_cleanup(); call once at process exit (optional). */
void orgs_http_global_cleanup(void);
/* Each thread keeps one libcurl handle, and its connection to the last
 * server it called, for the next call under the same policy (the same
 * connection bucket, CA file and back-channel policy; another policy
 * closes it first): no handshake per login. This closes the calling
 * thread's now (a thread's own is closed at its exit). */
void orgs_http_thread_release(void);

/* GET url. APR_SUCCESS whenever an HTTP answer arrived, whatever its status
 * (the caller decides what a 3xx/4xx/5xx means); *resp is allocated in p.
 * APR_EINVAL: url is not an absolute http(s) URL (orgs_url_absolute_check).
 * APR_EACCES: refused by the SSRF guard (opts->refuse_internal).
 * ORGS_EHTTP: connection / TLS failure, timeout, body over the cap. */
apr_status_t orgs_http_get(const char *url, const orgs_http_opts_t *opts, orgs_http_resp_t **resp,
                           apr_pool_t *p, orgs_err_t *err);

/* POST form (already application/x-www-form-urlencoded) to url. When
 * basic_user is not NULL, sends "Authorization: Basic" with user and pass
 * each form-urlencoded first (RFC 6749 section 2.3.1); basic_pass NULL = "".
 * Same return codes as orgs_http_get. */
apr_status_t orgs_http_post_form(const char *url, const char *form, const char *basic_user,
                                 const char *basic_pass, const orgs_http_opts_t *opts,
                                 orgs_http_resp_t **resp, apr_pool_t *p, orgs_err_t *err);

/* Appends "&name=value" (or "name=value" when *form is empty / NULL) to a
 * form being built, both form-encoded. value NULL: nothing is appended. */
void orgs_http_form_add(const char **form, const char *name, const char *value, apr_pool_t *p);

#endif
