#include <apr_strings.h>
#include <mod_auth.h>
#include <http_request.h>
#include <ap_provider.h>

#include "private.h"
#include "checks.h"
#include "authz.h"
#include "account.h"
#include "status.h"

/* A Require line split into words at config time. */
typedef struct {
    apr_array_header_t *words; /* const char * */
} require_t;

static const char *parse_words(cmd_parms *cmd, const char *line, const void **parsed, int min,
                               const char *provider, const char *what)
{
    require_t *req = apr_pcalloc(cmd->pool, sizeof(*req));
    const char *orig = line;
    const char *w;

    req->words = apr_array_make(cmd->pool, 4, sizeof(const char *));
    while (*(w = ap_getword_conf(cmd->pool, &line)) != '\0') {
        APR_ARRAY_PUSH(req->words, const char *) = w;
    }
    if (req->words->nelts < min) {
        return apr_psprintf(cmd->pool, "Require %s: %s (got '%s')", provider, what, orig);
    }
    *parsed = req;
    return NULL;
}

static const char *parse_member(cmd_parms *cmd, const char *line, const void **parsed)
{
    const char *err = parse_words(cmd, line, parsed, 0, "org-member", "");
    const require_t *req = *parsed;
    for (int i = 0; !err && i < req->words->nelts; i++) {
        const char *name = APR_ARRAY_IDX(req->words, i, const char *);
        orgs_err_t e;
        if (strncmp(name, "org_", 4) != 0 && orgs_check_slug(name, &e) != APR_SUCCESS) {
            err = apr_psprintf(cmd->pool, "Require org-member: %s (got '%s')", e.msg, name);
        }
    }
    return err;
}

static const char *parse_role(cmd_parms *cmd, const char *line, const void **parsed)
{
    return parse_words(cmd, line, parsed, 1, "org-role", "at least one role is needed");
}

static const char *parse_meta(cmd_parms *cmd, const char *line, const void **parsed)
{
    const char *err =
        parse_words(cmd, line, parsed, 2, "org-meta", "a key and at least one value are needed");
    orgs_err_t e;
    if (!err) {
        const char *key = APR_ARRAY_IDX(((const require_t *)*parsed)->words, 0, const char *);
        if (orgs_check_meta_key(key, &e) != APR_SUCCESS) {
            err = apr_psprintf(cmd->pool, "Require org-meta: %s (got '%s')", e.msg, key);
        }
    }
    return err;
}

static const char *parse_conn(cmd_parms *cmd, const char *line, const void **parsed)
{
    return parse_words(cmd, line, parsed, 1, "org-connection", "at least one connection is needed");
}

/* The session view set by check_authn; NULL means this module did not
 * authenticate the request, which every provider treats as a denial. */
static const orgs_session_view_t *view_of(request_rec *r)
{
    const request_rec *top = r;
    while (top->main) {
        top = top->main;
    }
    const orgs_req_t *rq = ap_get_module_config(r->request_config, &auth_orgs_module);
    if (!rq || !rq->view) {
        rq = ap_get_module_config(top->request_config, &auth_orgs_module);
    }
    return rq ? rq->view : NULL;
}

static authz_status decide(request_rec *r, int ok, const char *what)
{
    if (!ok) {
        orgs_log_rerror(r, APLOG_INFO, 0, ORGSLOGNO(00401) "authorization denied for '%s': %s",
                        r->user, what);
        orgs_status_count(ORGS_CTR_DENY_AUTHZ);
        return AUTHZ_DENIED;
    }
    return AUTHZ_GRANTED;
}

/* The words of a Require line from from on, as one list for a page. */
static const char *joined(request_rec *r, const require_t *req, int from)
{
    const char *out = NULL;
    for (int i = from; i < req->words->nelts; i++) {
        const char *w = APR_ARRAY_IDX(req->words, i, const char *);
        out = out ? apr_pstrcat(r->pool, out, ", ", w, NULL) : w;
    }
    return out ? out : "";
}

/* A denial of a signed-in user: logged as decide does, and answered with
 * the module's page saying what the location needs (account.c). */
static authz_status deny(request_rec *r, const orgs_session_view_t *v, const char *what,
                         const char *key, const require_t *req, int from)
{
    orgs_account_denied(r, v, key, req ? (long)(req->words->nelts - from) : -1,
                        req ? joined(r, req, from) : NULL);
    return decide(r, 0, what);
}

static int in_words(const require_t *req, int from, const char *a, const char *b)
{
    for (int i = from; i < req->words->nelts; i++) {
        const char *w = APR_ARRAY_IDX(req->words, i, const char *);
        if ((a && strcmp(w, a) == 0) || (b && strcmp(w, b) == 0)) {
            return 1;
        }
    }
    return 0;
}

/* One rule's judgement on a request this module authenticated. */
typedef authz_status (*judge_fn)(request_rec *r, const require_t *req,
                                 const orgs_session_view_t *v);

/* What every provider does first: no user yet means "authenticate first";
 * a user this module did not sign in is denied. */
static authz_status check(request_rec *r, const void *parsed, judge_fn judge)
{
    const orgs_session_view_t *v;

    if (!r->user) {
        return AUTHZ_DENIED_NO_USER;
    }
    if (!(v = view_of(r))) {
        return decide(r, 0, "not signed in through an organization");
    }
    return judge(r, parsed, v);
}

static authz_status judge_member(request_rec *r, const require_t *req, const orgs_session_view_t *v)
{
    if (req->words->nelts == 0) {
        return AUTHZ_GRANTED; /* check_authn already proved the membership */
    }
    if (in_words(req, 0, v->org.name, v->org.id)) {
        return AUTHZ_GRANTED;
    }
    return deny(r, v, "not a member of these orgs", "denied.member", NULL, 0);
}

static authz_status judge_role(request_rec *r, const require_t *req, const orgs_session_view_t *v)
{
    for (int i = 0; v->member.roles && i < v->member.roles->nelts; i++) {
        if (in_words(req, 0, APR_ARRAY_IDX(v->member.roles, i, const char *), NULL)) {
            return AUTHZ_GRANTED;
        }
    }
    return deny(r, v, "none of the required roles", "denied.role", req, 0);
}

static authz_status judge_meta(request_rec *r, const require_t *req, const orgs_session_view_t *v)
{
    const char *key = APR_ARRAY_IDX(req->words, 0, const char *);
    for (int i = 0; v->org.meta && i < v->org.meta->nelts; i++) {
        const orgs_kv_t *kv = &APR_ARRAY_IDX(v->org.meta, i, orgs_kv_t);
        if (strcmp(kv->key, key) == 0) {
            return in_words(req, 1, kv->value, NULL)
                       ? AUTHZ_GRANTED
                       : deny(r, v, "metadata value not allowed", "denied.meta", NULL, 0);
        }
    }
    return deny(r, v, "metadata key not set on the org", "denied.meta", NULL, 0);
}

static authz_status judge_conn(request_rec *r, const require_t *req, const orgs_session_view_t *v)
{
    if (in_words(req, 0, v->conn_name, v->session.conn_id)) {
        return AUTHZ_GRANTED;
    }
    return deny(r, v, "signed in through another connection", "denied.connection", req, 0);
}

static authz_status check_member(request_rec *r, const char *line, const void *parsed)
{
    return check(r, parsed, judge_member);
}

static authz_status check_role(request_rec *r, const char *line, const void *parsed)
{
    return check(r, parsed, judge_role);
}

static authz_status check_meta(request_rec *r, const char *line, const void *parsed)
{
    return check(r, parsed, judge_meta);
}

static authz_status check_conn(request_rec *r, const char *line, const void *parsed)
{
    return check(r, parsed, judge_conn);
}

static const authz_provider member_provider = {check_member, parse_member};
static const authz_provider role_provider = {check_role, parse_role};
static const authz_provider meta_provider = {check_meta, parse_meta};
static const authz_provider conn_provider = {check_conn, parse_conn};

void orgs_authz_register_hooks(apr_pool_t *p)
{
    static const struct {
        const char *name;
        const authz_provider *provider;
    } providers[] = {
        {"org-member", &member_provider},
        {"org-role", &role_provider},
        {"org-meta", &meta_provider},
        {"org-connection", &conn_provider},
    };
    for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
        ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, providers[i].name,
                                  AUTHZ_PROVIDER_VERSION, providers[i].provider,
                                  AP_AUTH_INTERNAL_PER_CONF);
    }
}
