/* [glue] The back channel's options, statuses and log gate. See upstream.h. */
#include <apr_strings.h>
#include <http_protocol.h>

#include "private.h"
#include "backchan.h"
#include "upstream.h"

/* The connection's own endpoint hosts, NULL-terminated, in r's pool. */
static const char *const *conn_hosts(request_rec *r, const orgs_conn_t *conn)
{
    if (!conn || !conn->endpoint_hosts || conn->endpoint_hosts->nelts == 0) {
        return NULL;
    }
    const char **v =
        apr_pcalloc(r->pool, sizeof(*v) * ((apr_size_t)conn->endpoint_hosts->nelts + 1));
    for (int i = 0; i < conn->endpoint_hosts->nelts; i++) {
        v[i] = APR_ARRAY_IDX(conn->endpoint_hosts, i, const char *);
    }
    return v;
}

orgs_http_opts_t orgs_upstream_opts(request_rec *r, const orgs_conn_t *conn)
{
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    orgs_http_opts_t o;

    memset(&o, 0, sizeof(o));
    o.connect_timeout = sc->bc_connect_timeout;
    o.timeout = sc->bc_timeout;
    /* kept NULL-terminated by the directive */
    o.allow_hosts = sc->bc_allow_hosts ? (const char *const *)sc->bc_allow_hosts->elts : NULL;
    o.conn_hosts = conn_hosts(r, conn);
    /* the SSRF guard on every call; internal targets only as listed */
    o.refuse_internal = 1;
    o.allow_internal =
        sc->bc_allow_internal ? (const char *const *)sc->bc_allow_internal->elts : NULL;
    o.limit_key = conn ? conn->id : NULL;
    o.max_concurrent = sc->bc_max_concurrent;
    return o;
}

int orgs_upstream_status(request_rec *r, apr_status_t rv)
{
    if (rv == APR_EAGAIN || rv == APR_EBUSY || rv == ORGS_ENOKID) {
        apr_table_setn(r->err_headers_out, "Retry-After", "5");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    return HTTP_BAD_GATEWAY;
}

int orgs_upstream_log_gate(request_rec *r, const char *issuer, const char *step, const char **note)
{
    unsigned held = 0;
    *note = "";
    /* one gate per issuer and step: a failing token endpoint is still told
     * while discovery failures of the same IdP are being held back */
    const char *key = issuer ? apr_pstrcat(r->pool, step, " ", issuer, NULL) : NULL;
    if (!orgs_backchan_log_gate(key, apr_time_now(), ORGS_BACKCHAN_LOG_INTERVAL, &held)) {
        return 0;
    }
    if (held) {
        *note = apr_psprintf(r->pool, " (%u similar line%s held back since the previous one)", held,
                             held == 1 ? "" : "s");
    }
    return 1;
}
