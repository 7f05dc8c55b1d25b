/* [glue] SetHandler orgs-admin: reads the request (path under the
 * location, query, a bounded JSON body), says who calls (a bearer token,
 * an org's signed-in admin, or whoever else httpd's Require admitted),
 * refuses cross-site browser writes, and writes the core's answer. */
#include <stdlib.h>

#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>

#include "private.h"
#include "url.h"
#include "admin.h"
#include "admin_httpd.h"
#include "endpoints.h"
#include "pgwrite.h"

/* Writes a JSON answer; the body is released here. */
static int send_json(request_rec *r, int status, json_t *body, const char *allow)
{
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "X-Content-Type-Options", "nosniff");
    if (allow) {
        apr_table_setn(r->err_headers_out, "Allow", allow);
    }
    r->status = status;
    if (!body) {
        return OK;
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    ap_set_content_type(r, "application/json");
    if (text) {
        if (!r->header_only) {
            ap_rputs(text, r);
        }
        free(text);
    }
    return OK;
}

static int send_error(request_rec *r, int status, const char *msg)
{
    return send_json(r, status, orgs_admin_error(status, msg), NULL);
}

/* The body, at most ORGS_ADMIN_BODY_MAX bytes: *out NULL when there is
 * none; 413 when longer (read no further). */
static int read_body(request_rec *r, char **out, apr_size_t *len)
{
    apr_size_t n = 0, cap = 8192;
    char *buf;
    int rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK);
    *out = NULL;
    *len = 0;
    if (rc != OK) {
        return rc;
    }
    if (!ap_should_client_block(r)) {
        return OK;
    }
    if (r->remaining > ORGS_ADMIN_BODY_MAX) {
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    buf = apr_palloc(r->pool, cap);
    for (;;) {
        if (n == cap) {
            char *bigger = apr_palloc(r->pool, cap * 2);
            memcpy(bigger, buf, n);
            buf = bigger;
            cap *= 2;
        }
        long got = ap_get_client_block(r, buf + n, cap - n);
        if (got < 0) {
            return HTTP_BAD_REQUEST;
        }
        if (got == 0) {
            break;
        }
        n += (apr_size_t)got;
        if (n > ORGS_ADMIN_BODY_MAX) {
            return HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
    }
    *out = buf;
    *len = n;
    return OK;
}

static int is_json_type(const char *ct)
{
    size_t n = strlen("application/json");
    return ct && strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Who calls: 0 after an answer was sent. */
static int caller_of(request_rec *r, orgs_admin_caller_t *c)
{
    const orgs_req_t *rq = ap_get_module_config(r->request_config, &auth_orgs_module);
    memset(c, 0, sizeof(*c));
    c->can_read = c->can_write = 1;
    if (rq && rq->token) {
        c->kind = ORGS_ADMIN_TOKEN;
        c->who = rq->token->id;
        c->can_read = c->can_write = 0;
        for (int i = 0; rq->token->scopes && i < rq->token->scopes->nelts; i++) {
            const char *s = APR_ARRAY_IDX(rq->token->scopes, i, const char *);
            c->can_read |= strcmp(s, "read") == 0;
            c->can_write |= strcmp(s, "write") == 0;
        }
        return 1;
    }
    if (rq && rq->view) {
        const apr_array_header_t *roles = rq->view->member.roles;
        int admin = 0;
        for (int i = 0; roles && i < roles->nelts; i++) {
            admin |= strcmp(APR_ARRAY_IDX(roles, i, const char *), ORGS_ADMIN_ROLE) == 0;
        }
        c->who = rq->view->user.id;
        if (!admin) {
            orgs_log_rerror(r, APLOG_WARNING, 0,
                            ORGSLOGNO(00715) "admin API: %s %s refused for %s: %s", r->method,
                            r->uri, c->who, "signed in without the role " ORGS_ADMIN_ROLE);
            send_error(r, 403, "the role " ORGS_ADMIN_ROLE " is needed");
            return 0;
        }
        c->kind = ORGS_ADMIN_ORG;
        c->org_id = rq->view->org.id;
        return 1;
    }
    if (r->user) {
        c->kind = ORGS_ADMIN_OPERATOR;
        c->who = r->user;
        return 1;
    }
    orgs_log_rerror(r, APLOG_INFO, 0,
                    ORGSLOGNO(00703) "admin API: %s %s without an authenticated caller (protect "
                                     "the location with Require)",
                    r->method, r->uri);
    send_error(r, 401, "authentication required");
    return 0;
}

/* A browser session's change must carry a header a cross-site form
 * cannot send (X-Requested-With) and must not come from another site. */
static int csrf_ok(request_rec *r)
{
    const char *xrw = apr_table_get(r->headers_in, "X-Requested-With");
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");
    if (!xrw || !*xrw || (site && strcasecmp(site, "cross-site") == 0)) {
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00707) "admin API: %s %s with a session cookie refused: no "
                                         "X-Requested-With header, or sent from another site",
                        r->method, r->uri);
        return 0;
    }
    return 1;
}

/* The path under the location the handler is set on: the section's path
 * when an Orgs directive in it recorded one, then the routes' own start
 * (a section without Orgs directives records none). */
static const char *route_path(request_rec *r)
{
    const char *loc = orgs_dir_cfg(r)->location;
    const char *uri = r->uri;
    size_t n = loc ? strlen(loc) : 0;
    while (n > 0 && loc[n - 1] == '/') {
        n--;
    }
    if (n && strncmp(uri, loc, n) == 0 && (uri[n] == '/' || uri[n] == '\0')) {
        uri += n;
    }
    return orgs_admin_path_in(uri, r->pool);
}

static int admin_handler(request_rec *r)
{
    orgs_store_t *st = orgs_req_store(r);
    orgs_admin_req_t rq = {0};
    orgs_admin_resp_t rs;
    char *body;
    apr_size_t len;
    json_error_t jerr;
    json_t *parsed = NULL;
    int rc;

    if (!r->handler || strcmp(r->handler, ORGS_ADMIN_HANDLER) != 0) {
        return DECLINED;
    }
    if (!st) {
        orgs_log_rerror(r, APLOG_ERR, 0,
                        ORGSLOGNO(00714) "admin API: the store is not open in this child "
                                         "(see OrgsStore)");
        return send_error(r, 500, "the store is not available");
    }
    if (!caller_of(r, &rq.caller)) {
        return OK;
    }
    rq.method = r->header_only ? "GET" : r->method;
    if (rq.caller.kind == ORGS_ADMIN_ORG && strcmp(rq.method, "GET") != 0 && !csrf_ok(r)) {
        return send_error(r, 403,
                          "a change from a browser session needs the header "
                          "X-Requested-With");
    }
    if ((rc = read_body(r, &body, &len)) != OK) {
        r->connection->keepalive = AP_CONN_CLOSE; /* the rest of the body is not read */
        orgs_log_rerror(r, APLOG_INFO, 0,
                        ORGSLOGNO(00704) "admin API: %s %s: request body refused (%d)", r->method,
                        r->uri, rc);
        return rc == HTTP_REQUEST_ENTITY_TOO_LARGE
                   ? send_error(r, 413,
                                apr_psprintf(r->pool, "the body is larger than %d bytes",
                                             ORGS_ADMIN_BODY_MAX))
                   : send_error(r, 400, "cannot read the body");
    }
    if (body && len > 0) {
        if (!is_json_type(apr_table_get(r->headers_in, "Content-Type"))) {
            orgs_log_rerror(r, APLOG_INFO, 0,
                            ORGSLOGNO(00705) "admin API: %s %s: body of type '%s' refused",
                            r->method, r->uri,
                            apr_table_get(r->headers_in, "Content-Type")
                                ? apr_table_get(r->headers_in, "Content-Type")
                                : "(none)");
            return send_error(r, 415, "the body must be application/json");
        }
        parsed = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!parsed) {
            orgs_log_rerror(r, APLOG_INFO, 0,
                            ORGSLOGNO(00706) "admin API: %s %s: body is not JSON: %s", r->method,
                            r->uri, jerr.text);
            return send_error(
                r, 400,
                apr_psprintf(r->pool, "the body is not JSON: %s (line %d)", jerr.text, jerr.line));
        }
    }
    if (orgs_url_query_parse(r->args, &rq.query, r->pool) != APR_SUCCESS) {
        json_decref(parsed);
        return send_error(r, 400, "malformed query string");
    }
    rq.path = route_path(r);
    rq.body = parsed;
    rq.from = r->useragent_ip;
    /* as the callback URL: OrgsPublicURL when set (a proxy in front) */
    rq.login_url =
        apr_pstrcat(r->pool, orgs_endpoints_base_url(r), orgs_endpoints_path(r, "/login"), NULL);
    if (strcmp(rq.method, "GET") != 0 && (rc = orgs_admin_rate_refused(r, st, &rq)) > 0) {
        json_decref(parsed); /* logged */
        apr_table_setn(r->err_headers_out, "Retry-After", apr_itoa(r->pool, rc));
        return send_error(r, 429, "too many changes to this organization in the last minute");
    }
    if (orgs_pgwrite_on(r) && strcmp(rq.method, "GET") != 0) {
        orgs_pgwrite_admin(r, st, &rq, &rs); /* through the database */
    } else {
        orgs_admin_handle(st, &rq, &rs, r->pool);
    }
    json_decref(parsed);
    if (rs.status == 403) {
        orgs_log_rerror(r, APLOG_WARNING, 0, ORGSLOGNO(00701) "admin API: %s %s refused for %s: %s",
                        r->method, r->uri, rq.caller.who ? rq.caller.who : "-",
                        rs.denied ? rs.denied : "");
    } else if (rs.status == 409 && rs.capped) {
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00763) "admin API: %s %s by %s refused at a bound: %s", r->method,
                        r->uri, rq.caller.who ? rq.caller.who : "-", rs.capped);
    } else if (rs.status >= 500) {
        orgs_log_rerror(r, APLOG_ERR, 0, ORGSLOGNO(00702) "admin API: %s %s failed: %s", r->method,
                        r->uri, rs.failed ? rs.failed : "");
    } else if (rs.write && rs.status < 300) {
        orgs_log_rerror(r, APLOG_INFO, 0, ORGSLOGNO(00700) "admin API: %s %s by %s: %d", r->method,
                        r->uri, rq.caller.who ? rq.caller.who : "-", rs.status);
    }
    return send_json(r, rs.status, rs.body, rs.allow);
}

void orgs_admin_register_hooks(apr_pool_t *p)
{
    orgs_admin_auth_register(p);
    ap_hook_handler(admin_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
