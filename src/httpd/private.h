/* [glue] Shared by the module's glue files only (never by core files):
 * the log module declaration, the log tag macro, config and per-request
 * state accessors. */
#ifndef ORGS_PRIVATE_H
#define ORGS_PRIVATE_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "config.h"
#include "store.h"

/* Declares `extern module auth_orgs_module` and tags every ap_log_* call
 * of these files with the module, so `LogLevel auth_orgs:debug` works. */
APLOG_USE_MODULE(auth_orgs);

/* Log tag: one five-digit number per call site, never reused, each listed in
 * docs/log-messages.md (tests/drift.sh checks both).
 * orgs_log_rerror(r, APLOG_ERR, rv, ORGSLOGNO(00042) "...") */
#define ORGSLOGNO(n) "ORGS" #n ": "

/* The module's log calls (log.c): like ap_log_rerror / ap_log_error, with
 * the status rv handed to httpd (0 when there is none) and, for the
 * module's ORGS_E* codes, orgs_strerror's text appended, so ORGS_ESTOREFULL
 * and ORGS_ESTORE differ in the log and not only in the free text.
 *   orgs_log_rerror(r, APLOG_ERR, rv, ORGSLOGNO(00205) "...: %s", err.msg); */
#define orgs_log_rerror(r, level, rv, ...)                                                         \
    do {                                                                                           \
        if (APLOG_R_IS_LEVEL(r, level)) {                                                          \
            orgs_log_rerror_(APLOG_MARK, level, rv, r, __VA_ARGS__);                               \
        }                                                                                          \
    } while (0)
#define orgs_log_error(s, level, rv, ...)                                                          \
    do {                                                                                           \
        if (APLOG_IS_LEVEL(s, level)) {                                                            \
            orgs_log_error_(APLOG_MARK, level, rv, s, __VA_ARGS__);                                \
        }                                                                                          \
    } while (0)
void orgs_log_rerror_(const char *file, int line, int module_index, int level, apr_status_t rv,
                      const request_rec *r, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
void orgs_log_error_(const char *file, int line, int module_index, int level, apr_status_t rv,
                     const server_rec *s, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static APR_INLINE orgs_srv_cfg_t *orgs_srv_cfg(const server_rec *s)
{
    return (orgs_srv_cfg_t *)ap_get_module_config(s->module_config, &auth_orgs_module);
}

static APR_INLINE orgs_dir_cfg_t *orgs_dir_cfg(const request_rec *r)
{
    return (orgs_dir_cfg_t *)ap_get_module_config(r->per_dir_config, &auth_orgs_module);
}

/* The store of this request's server, opened in this child; NULL when not
 * configured or when the open failed: callers fail closed (500). */
static APR_INLINE orgs_store_t *orgs_req_store(const request_rec *r)
{
    return orgs_srv_cfg(r->server)->store;
}

/* Derived keys of this request's server; NULL when OrgsCryptoKey is unset. */
static APR_INLINE const orgs_crypto_keys_t *orgs_req_keys(const request_rec *r)
{
    return orgs_srv_cfg(r->server)->keys;
}

/* Per-request state, kept in r->request_config (created on first use in
 * r->pool). The authn/login/env owners add the fields they need here. */
typedef struct orgs_req_t {
    const orgs_session_view_t *view; /* the signed-in session, set by authn; NULL otherwise */
    apr_table_t *cookies_in;         /* the Cookie headers as sent, kept when fixups.c stripped the
                                        module's cookies before the handler; NULL otherwise */
    const orgs_token_t *token; /* the admin API bearer token, set by admin_auth.c; NULL otherwise */
    const struct orgs_html_ctx_t *page; /* the page being answered (render.c): its CSP
                                           nonce and logo; NULL otherwise */
} orgs_req_t;

static APR_INLINE orgs_req_t *orgs_req_get(request_rec *r)
{
    orgs_req_t *rq = ap_get_module_config(r->request_config, &auth_orgs_module);
    if (!rq) {
        rq = apr_pcalloc(r->pool, sizeof(*rq));
        ap_set_module_config(r->request_config, &auth_orgs_module, rq);
    }
    return rq;
}

#endif
