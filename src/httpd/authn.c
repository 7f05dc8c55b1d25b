#include <apr_strings.h>
#include <mod_auth.h>
#include <http_request.h>
#include <http_core.h>

#include "private.h"
#include "crypto.h"
#include "checks.h"
#include "env.h"
#include "endpoints.h"
#include "authn.h"
#include "admin_httpd.h"
#include "pgwrite.h"
#include "status.h"

/* Subrequests (DirectoryIndex, SSI includes) reuse the main request's
 * answer rather than reading the store again, unless they reach a location
 * fixed to another org. */
static int inherit_from_main(request_rec *r, const char *fixed)
{
    const orgs_req_t *main_rq = ap_get_module_config(r->main->request_config, &auth_orgs_module);
    if (!r->main->user || !main_rq || !main_rq->view ||
        (fixed && strcmp(fixed, main_rq->view->org.name) != 0)) {
        return DECLINED;
    }
    orgs_req_get(r)->view = main_rq->view;
    r->user = r->main->user;
    orgs_env_export(r, main_rq->view, orgs_dir_pass_headers(orgs_dir_cfg(r)));
    return OK;
}

/* The session of org in this browser, re-checked against the store:
 * APR_SUCCESS with *out, APR_NOTFOUND when there is none (or no longer a
 * valid one), another status on store failure. */
static apr_status_t find_session(request_rec *r, orgs_store_t *st, const char *org, const char *sid,
                                 const orgs_session_view_t **out)
{
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    unsigned char hash[32];
    orgs_err_t err = {{0}};
    apr_status_t rv;
    apr_time_t now = apr_time_now();
    int cached = 0;

    if (!org || !sid || orgs_check_slug(org, &err) != APR_SUCCESS) {
        return APR_NOTFOUND;
    }
    /* served from this child's view cache while the store is unchanged */
    rv = orgs_store_session_view_sid(st, sid, strlen(sid), now, sc->session_idle, hash, out,
                                     &cached, r->pool, &err);
    orgs_status_count(cached ? ORGS_CTR_VIEW_CACHED : ORGS_CTR_VIEW_READ);
    if (rv == ORGS_ECRYPTO) {
        orgs_log_rerror(r, APLOG_ERR, rv,
                        ORGSLOGNO(00107) "cannot hash the session cookie of org %s: the request "
                                         "counts as signed out",
                        org);
        return APR_NOTFOUND;
    }
    /* made on another node and not replicated here yet: asked once */
    if (rv == APR_NOTFOUND && sc->store_pg &&
        orgs_pgwrite_session_find(r, st, sid, hash) == APR_SUCCESS) {
        rv = orgs_store_session_view_sid(st, sid, strlen(sid), now, sc->session_idle, hash, out,
                                         &cached, r->pool, &err);
    }
    if (rv == APR_NOTFOUND || rv == ORGS_EEXPIRED) {
        orgs_log_rerror(r, APLOG_INFO, 0, ORGSLOGNO(00101) "session for org %s no longer valid: %s",
                        org,
                        rv == ORGS_EEXPIRED ? "expired" : "ended, or membership or org removed");
        return APR_NOTFOUND;
    }
    if (rv != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_ERR, rv, ORGSLOGNO(00102) "cannot read the session: %s", err.msg);
        return rv;
    }
    if (strcmp((*out)->org.name, org) != 0) {
        orgs_log_rerror(r, APLOG_WARNING, 0,
                        ORGSLOGNO(00103) "session cookie for org %s holds another org's session",
                        org);
        return APR_NOTFOUND;
    }
    if (now - (*out)->session.last_seen > ORGS_TOUCH_INTERVAL &&
        (rv = orgs_store_session_touch(st, hash, now, r->pool, &err)) != APR_SUCCESS) {
        orgs_log_rerror(r, APLOG_WARNING, rv,
                        ORGSLOGNO(00104) "cannot update the session's last-seen time: %s", err.msg);
    }
    return APR_SUCCESS;
}

static int orgs_hook_check_authn(request_rec *r)
{
    const char *type = ap_auth_type(r);
    const orgs_dir_cfg_t *dc = orgs_dir_cfg(r);
    orgs_store_t *st = orgs_req_store(r);
    const orgs_session_view_t *view = NULL;
    const char *fixed, *org, *sid;
    orgs_err_t err;
    apr_status_t rv;

    if (!type || strcasecmp(type, ORGS_AUTH_TYPE) != 0) {
        return DECLINED;
    }
    if (r->main && apr_table_get(r->main->notes, ORGS_NOTE_LOOKUP)) {
        return HTTP_UNAUTHORIZED; /* a configuration lookup, not a request */
    }
    if ((rv = orgs_admin_authn(r)) != DECLINED) {
        return rv; /* an admin API bearer token, valid or not */
    }
    /* A location fixed to one org only ever accepts that org's session; if
     * its OrgsOrganization does not evaluate to an org name, nobody gets in
     * (falling back to the browser's current org would open it to all). */
    fixed = orgs_dir_organization(r, dc);
    if (dc->organization && (!fixed || orgs_check_slug(fixed, &err) != APR_SUCCESS)) {
        orgs_log_rerror(r, APLOG_ERR, 0,
                        ORGSLOGNO(00106) "OrgsOrganization did not evaluate to an organization "
                                         "name for this request: access refused");
        return HTTP_FORBIDDEN;
    }
    if (r->main && inherit_from_main(r, fixed) == OK) {
        return OK;
    }
    if (!st) {
        orgs_log_rerror(r, APLOG_ERR, 0,
                        ORGSLOGNO(00105) "AuthType orgs: the store is not open in this child "
                                         "(see OrgsStore)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    sid = orgs_endpoints_session_cookie_get(r, fixed, &org);
    rv = find_session(r, st, org, sid, &view);
    if (rv == APR_NOTFOUND) {
        return orgs_login_challenge(r, fixed);
    }
    if (rv != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    r->user = (char *)(view->user.email ? view->user.email : view->user.id);
    r->ap_auth_type = (char *)ORGS_AUTH_TYPE;
    orgs_req_get(r)->view = view;
    orgs_env_export(r, view, orgs_dir_pass_headers(dc));
    return OK;
}

void orgs_authn_register_hooks(apr_pool_t *p)
{
    ap_hook_check_authn(orgs_hook_check_authn, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
}
