/* orgctl org ...: organizations, their domains and enabled connections. */

#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

#include "orgctl.h"
#include "brand.h"
#include "checks.h"
#include "parse.h"

/* --meta K=V options into orgs_kv_t, in command-line order (the store
 * keeps the last value of a repeated key); *out stays NULL when none were
 * given. */
static int parse_meta_opts(cli_t *c, apr_array_header_t **out)
{
    apr_array_header_t *vals = cli_opt_all(c, "meta");
    *out = NULL;
    if (vals->nelts == 0) {
        return RC_OK;
    }
    *out = apr_array_make(c->p, vals->nelts, sizeof(orgs_kv_t));
    for (int i = 0; i < vals->nelts; i++) {
        char *k, *v;
        if (orgs_parse_meta_pair(APR_ARRAY_IDX(vals, i, const char *), &k, &v, c->p, &c->err) !=
            APR_SUCCESS) {
            return cli_fail_parse(c);
        }
        orgs_kv_t *kv = apr_array_push(*out);
        kv->key = k;
        kv->value = v;
    }
    return RC_OK;
}

/* ---- org -------------------------------------------------------------- */

int cmd_org_create(cli_t *c)
{
    orgs_org_t org;
    apr_array_header_t *domains = cli_opt_all(c, "domain");
    int rc;

    memset(&org, 0, sizeof(org));
    org.name = cli_arg(c, 0);
    org.display_name = cli_opt(c, "display-name");
    if (orgs_check_slug(org.name, &c->err) != APR_SUCCESS) {
        return cli_fail_parse(c);
    }
    if ((rc = cli_check_display_name(c, org.display_name)) != RC_OK ||
        (rc = parse_meta_opts(c, &org.meta)) != RC_OK ||
        (rc = cli_parse_domains(c, domains, &org.domains)) != RC_OK ||
        (rc = cli_result(c, orgs_store_org_create(c->st, &org, c->p, &c->err), "org '%s'",
                         org.name)) != RC_OK) {
        return rc;
    }
    return out_id(c, org.id);
}

int cmd_org_list(cli_t *c)
{
    apr_array_header_t *orgs;
    apr_status_t rv = orgs_store_org_list(c->st, &orgs, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return cli_fail_rv(c, rv, NULL);
    }
    if (c->json) {
        json_t *arr = json_array();
        for (int i = 0; i < orgs->nelts; i++) {
            arr = out_push(arr, orgs_json_org(APR_ARRAY_IDX(orgs, i, orgs_org_t *)));
        }
        return out_json_new(c, arr);
    }
    static const char *const hdr[] = {"NAME", "ID", "DISPLAY NAME", "DOMAINS"};
    out_table_t *t = out_table_make(c->p, 4, hdr);
    for (int i = 0; i < orgs->nelts; i++) {
        const orgs_org_t *o = APR_ARRAY_IDX(orgs, i, orgs_org_t *);
        out_table_row(t, o->name, o->id, o->display_name, out_join(c->p, o->domains, ","));
    }
    out_table_print(t);
    return RC_OK;
}

int cmd_org_show(cli_t *c)
{
    orgs_org_t *o;
    apr_array_header_t *conns;
    const char *ref = cli_arg(c, 0);
    int rc;
    if ((rc = cli_org_get(c, ref, &o)) != RC_OK ||
        (rc = cli_result(c, orgs_store_org_conns(c->st, o->id, &conns, c->p, &c->err), "org '%s'",
                         ref)) != RC_OK) {
        return rc;
    }
    if (c->json) {
        json_t *arr = json_array();
        for (int i = 0; i < conns->nelts; i++) {
            arr = out_push(arr,
                           orgs_json_enabled_conn(APR_ARRAY_IDX(conns, i, orgs_enabled_conn_t *)));
        }
        json_t *j = out_set(orgs_json_org(o), "enabled_connections", arr);
        return out_json_new(c, j);
    }
    apr_array_header_t *meta = apr_array_make(c->p, 4, sizeof(const char *));
    for (int i = 0; o->meta && i < o->meta->nelts; i++) {
        const orgs_kv_t *kv = &APR_ARRAY_IDX(o->meta, i, orgs_kv_t);
        APR_ARRAY_PUSH(meta, const char *) = apr_pstrcat(c->p, kv->key, "=", kv->value, NULL);
    }
    apr_array_header_t *cl = apr_array_make(c->p, 4, sizeof(const char *));
    for (int i = 0; i < conns->nelts; i++) {
        const orgs_enabled_conn_t *e = APR_ARRAY_IDX(conns, i, orgs_enabled_conn_t *);
        APR_ARRAY_PUSH(cl, const char *) = apr_pstrcat(
            c->p, e->conn_name, e->auto_membership ? " (auto-membership" : "",
            e->auto_membership && e->require ? apr_pstrcat(c->p, " if ", e->require, NULL) : "",
            e->auto_membership ? ")" : "", NULL);
    }
    out_kv(c->p, "id", o->id);
    out_kv(c->p, "name", o->name);
    out_kv(c->p, "display_name", o->display_name);
    out_kv_list(c->p, "metadata", meta);
    out_kv_list(c->p, "domains", o->domains);
    out_kv_list(c->p, "connections", cl);
    if (o->logo_url) {
        out_kv(c->p, "logo_url", o->logo_url);
    }
    if (o->color_primary) {
        out_kv(c->p, "color_primary", o->color_primary);
    }
    if (o->color_page_background) {
        out_kv(c->p, "color_background", o->color_page_background);
    }
    out_kv(c->p, "created", out_time(c->p, o->created));
    out_kv(c->p, "updated", out_time(c->p, o->updated));
    return RC_OK;
}

int cmd_org_update(cli_t *c)
{
    const char *ref = cli_arg(c, 0);
    const char *dn = cli_opt(c, "display-name");
    apr_array_header_t *set_meta, *unset = cli_opt_all(c, "unset-meta");
    orgs_org_t brand;
    int rc;

    /* "" clears a branding value; any other value must follow its rule */
    memset(&brand, 0, sizeof(brand));
    brand.logo_url = cli_opt(c, "logo-url");
    brand.color_primary = cli_opt(c, "color-primary");
    brand.color_page_background = cli_opt(c, "color-background");
    if ((brand.logo_url && *brand.logo_url &&
         orgs_brand_logo_check(brand.logo_url, &c->err) != APR_SUCCESS) ||
        (brand.color_primary && *brand.color_primary &&
         orgs_brand_color_check(brand.color_primary, &c->err) != APR_SUCCESS) ||
        (brand.color_page_background && *brand.color_page_background &&
         orgs_brand_color_check(brand.color_page_background, &c->err) != APR_SUCCESS)) {
        return cli_fail_parse(c);
    }
    int branded = brand.logo_url || brand.color_primary || brand.color_page_background;

    if ((rc = cli_check_display_name(c, dn)) != RC_OK ||
        (rc = parse_meta_opts(c, &set_meta)) != RC_OK) {
        return rc;
    }
    if (!dn && !set_meta && unset->nelts == 0 && !branded) {
        return cli_usage_fail(c, "nothing to update");
    }
    for (int i = 0; i < unset->nelts; i++) {
        if (orgs_check_meta_key(APR_ARRAY_IDX(unset, i, const char *), &c->err) != APR_SUCCESS) {
            return cli_fail_parse(c);
        }
    }
    return cli_result(c,
                      orgs_store_org_update_brand(c->st, ref, dn, set_meta,
                                                  unset->nelts ? unset : NULL,
                                                  branded ? &brand : NULL, c->p, &c->err),
                      "org '%s'", ref);
}

int cmd_org_delete(cli_t *c)
{
    const char *ref = cli_arg(c, 0);
    orgs_org_t *o;
    apr_array_header_t *ms = NULL;
    int rc;
    if ((rc = cli_org_get(c, ref, &o)) != RC_OK ||
        (rc = cli_result(c, orgs_store_member_list(c->st, o->id, &ms, c->p, &c->err), "org '%s'",
                         ref)) != RC_OK) {
        return rc;
    }
    rc = cli_confirm(c, apr_psprintf(c->p,
                                     "Delete org '%s' with its %d member%s, domains, "
                                     "invitations and sessions?",
                                     o->name, ms->nelts, ms->nelts == 1 ? "" : "s"));
    if (rc != RC_OK) {
        return rc;
    }
    return cli_result(c, orgs_store_org_delete(c->st, o->id, c->p, &c->err), "org '%s'", ref);
}

static int org_domain(cli_t *c, int add)
{
    const char *ref = cli_arg(c, 0);
    char *d;
    int rc = cli_parse_domain(c, cli_arg(c, 1), &d);
    if (rc != RC_OK) {
        return rc;
    }
    return cli_result(c,
                      add ? orgs_store_org_add_domain(c->st, ref, d, c->p, &c->err)
                          : orgs_store_org_remove_domain(c->st, ref, d, c->p, &c->err),
                      "org '%s', domain '%s'", ref, d);
}

int cmd_org_add_domain(cli_t *c)
{
    return org_domain(c, 1);
}

int cmd_org_remove_domain(cli_t *c)
{
    return org_domain(c, 0);
}

int cmd_org_enable_conn(cli_t *c)
{
    const char *org = cli_arg(c, 0), *conn = cli_arg(c, 1);
    int auto_membership = cli_opt(c, "auto-membership") != NULL;
    const char *claim = cli_opt(c, "require-claim"), *require = NULL;
    orgs_conn_t *cn;
    int rc;
    if (claim && cli_opt(c, "require-email-domain")) {
        return cli_usage_fail(c, "--require-claim and --require-email-domain exclude each other");
    }
    if ((claim || cli_opt(c, "require-email-domain")) && !auto_membership) {
        return cli_usage_fail(c,
                              "--require-claim and --require-email-domain need --auto-membership");
    }
    if (claim) {
        require = apr_pstrcat(c->p, "claim:", claim, NULL);
    } else if (cli_opt(c, "require-email-domain")) {
        require = "email-domain";
    }
    if (require && orgs_check_auto_condition(require, &c->err) != APR_SUCCESS) {
        return cli_fail_parse(c);
    }
    if ((rc = cli_result(c,
                         orgs_store_org_enable_conn_require(c->st, org, conn, auto_membership,
                                                            require, c->p, &c->err),
                         "org '%s', connection '%s'", org, conn)) != RC_OK) {
        return rc;
    }
    /* done, but say what it means on an issuer every company's users sign in at */
    if (auto_membership && !require &&
        orgs_store_conn_get(c->st, conn, &cn, c->p, &c->err) == APR_SUCCESS &&
        orgs_check_issuer_shared(cn->issuer)) {
        fprintf(stderr,
                "orgctl: warning: %s: connection '%s' uses %s, an issuer shared by many "
                "companies: auto-membership admits every account there into '%s' (add "
                "--require-claim or --require-email-domain)\n",
                c->name ? c->name : "org enable-conn", cn->name, cn->issuer, org);
    }
    return RC_OK;
}

int cmd_org_disable_conn(cli_t *c)
{
    const char *org = cli_arg(c, 0), *conn = cli_arg(c, 1);
    return cli_result(c, orgs_store_org_disable_conn(c->st, org, conn, c->p, &c->err),
                      "org '%s', connection '%s'", org, conn);
}
