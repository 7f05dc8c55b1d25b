/* [glue] The request's page context: language, nonce, branding. */
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>

#include "private.h"
#include "brand.h"
#include "checks.h"
#include "cookie.h"
#include "crypto.h"
#include "url.h"
#include "endpoints.h"
#include "fixups.h"
#include "render.h"

orgs_html_ctx_t *orgs_render_ctx(request_rec *r, const orgs_org_t *org)
{
    const orgs_srv_cfg_t *sc = orgs_srv_cfg(r->server);
    orgs_html_ctx_t *h = apr_pcalloc(r->pool, sizeof(*h));
    char *nonce = NULL;
    const char *logo = sc->brand_logo, *alt = sc->brand_name;

    h->ps = sc->pages;
    h->p = r->pool;
    h->lang = orgs_pages_lang(h->ps, apr_table_get(r->headers_in, "Accept-Language"), sc->language,
                              r->pool);
    h->vars = orgs_tmpl_vars_make(NULL, r->pool);
    if (orgs_crypto_random_token(16, &nonce, r->pool) != APR_SUCCESS) {
        nonce = NULL; /* the page then goes out with no style allowed: plain, still usable */
    }
    orgs_tmpl_vars_set(h->vars, "nonce", nonce);
    orgs_tmpl_vars_set(h->vars, "brand_name", sc->brand_name);
    if (org) {
        /* the org's own look, on its own pages only */
        const char *label = org->display_name && *org->display_name ? org->display_name : org->name;
        orgs_tmpl_vars_set(h->vars, "org_label", label);
        orgs_tmpl_vars_set(h->vars, "org_name", org->name);
        if (org->logo_url) {
            logo = org->logo_url;
            alt = label;
        }
        if (org->color_primary) {
            orgs_tmpl_vars_set(h->vars, "color_primary", org->color_primary);
            orgs_tmpl_vars_set(h->vars, "color_on_primary",
                               orgs_brand_text_color(org->color_primary));
        }
        orgs_tmpl_vars_set(h->vars, "color_background", org->color_page_background);
    }
    if (logo) {
        orgs_tmpl_vars_set(h->vars, "logo_url", logo);
        orgs_tmpl_vars_set(h->vars, "logo_alt", alt ? alt : "");
    }
    orgs_req_get(r)->page = h;
    return h;
}

const char *orgs_render_csp(request_rec *r, const orgs_html_ctx_t *h)
{
    const char *nonce = h ? orgs_tmpl_vars_get(h->vars, "nonce") : NULL;
    const char *logo = h ? orgs_tmpl_vars_get(h->vars, "logo_url") : NULL;

    if (!h) {
        return "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";
    }
    return apr_pstrcat(r->pool, "default-src 'none'; style-src ",
                       nonce ? apr_pstrcat(r->pool, "'nonce-", nonce, "'", NULL) : "'none'",
                       logo ? "; img-src " : "", logo ? orgs_brand_csp_source(logo, r->pool) : "",
                       "; frame-ancestors 'none'", NULL);
}

typedef struct {
    request_rec *r;
    const orgs_html_ctx_t *h;
    const char *prefix; /* the session cookie's name on the wire, without the org */
    const char *except, *return_to;
    apr_hash_t *seen;
} switch_t;

static int switch_feed(void *rec, const char *key, const char *header)
{
    switch_t *sw = rec;
    apr_size_t n = strlen(sw->prefix);
    char *copy = apr_pstrdup(sw->r->pool, header), *last = NULL;

    for (char *item = apr_strtok(copy, ";", &last); item; item = apr_strtok(NULL, ";", &last)) {
        orgs_err_t err;
        char *org, *eq;
        while (*item == ' ') {
            item++;
        }
        if (strncmp(item, sw->prefix, n) != 0 || !(eq = strchr(item, '=')) || eq[1] == '\0') {
            continue;
        }
        org = apr_pstrmemdup(sw->r->pool, item + n, (apr_size_t)(eq - item) - n);
        if (orgs_check_slug(org, &err) != APR_SUCCESS || (sw->except && !strcmp(org, sw->except)) ||
            apr_hash_get(sw->seen, org, APR_HASH_KEY_STRING)) {
            continue;
        }
        apr_hash_set(sw->seen, org, APR_HASH_KEY_STRING, org);
        orgs_html_switch_add(sw->h, org,
                             orgs_url_append_params(orgs_endpoints_path(sw->r, "/switch"),
                                                    sw->r->pool, "organization", org, "return_to",
                                                    sw->return_to, NULL));
    }
    return 1;
}

void orgs_render_switcher(request_rec *r, const orgs_html_ctx_t *h, const char *except,
                          const char *return_to)
{
    const char *pub = orgs_srv_cfg(r->server)->public_url;
    int https = pub ? strncasecmp(pub, "https:", 6) == 0 : strcmp(ap_http_scheme(r), "https") == 0;
    switch_t sw = {r,      h,         orgs_cookie_name(ORGS_COOKIE_SESSION, https, r->pool),
                   except, return_to, apr_hash_make(r->pool)};
    apr_table_do(switch_feed, &sw, orgs_fixups_cookie_headers(r), "Cookie", NULL);
}

int orgs_render_prompt(orgs_route_t *c, int status, const char *error_key, const char *value)
{
    request_rec *r = c->r;
    const orgs_html_ctx_t *h = orgs_req_get(r)->page;

    if (!h) {
        h = orgs_render_ctx(r, NULL);
    }
    orgs_render_switcher(r, h, NULL, c->return_to);
    return orgs_endpoints_page_send(
        r, status,
        orgs_html_prompt_page(h, orgs_endpoints_path(r, "/login"), c->return_to, error_key, value));
}
