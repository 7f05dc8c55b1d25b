/* [glue] The directives of the pages (OrgsTemplateDir, OrgsLanguage,
 * OrgsBrandName, OrgsBrandLogo) and their check at check_config; the
 * directive table itself is config.c's. */
#include <apr_file_info.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "brand.h"
#include "checks.h"
#include "i18n.h"
#include "pages.h"
#include "config.h"
#include "private.h"

static const char *bad(cmd_parms *cmd, const char *reason, const char *arg)
{
    return apr_psprintf(cmd->pool, "%s: %s (got '%s')", cmd->cmd->name, reason, arg);
}

/* The site's templates and catalogs, over the shipped ones: compiled now,
 * so a broken file stops httpd here, with its file and line. */
const char *orgs_config_set_template_dir(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    orgs_srv_cfg_t *sc = orgs_srv_cfg(cmd->server);
    orgs_pages_t *ps;
    orgs_err_t err = {{0}};
    apr_finfo_t fi;

    if (!*arg || !path) {
        return bad(cmd, "invalid path", arg);
    }
    if (apr_stat(&fi, path, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS ||
        fi.filetype != APR_DIR) {
        return bad(cmd, "not a directory (or not accessible)", arg);
    }
    if (orgs_pages_load(path, &ps, cmd->pool, &err) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err.msg);
    }
    sc->template_dir = path;
    sc->pages = ps;
    return NULL;
}

const char *orgs_config_set_language(cmd_parms *cmd, void *dummy, const char *arg)
{
    orgs_err_t err = {{0}};
    if (orgs_i18n_lang_check(arg, &err) != APR_SUCCESS) {
        return bad(cmd, err.msg, arg);
    }
    orgs_srv_cfg(cmd->server)->language = arg;
    return NULL;
}

const char *orgs_config_set_brand_name(cmd_parms *cmd, void *dummy, const char *arg)
{
    orgs_err_t err = {{0}};
    if (orgs_check_display_name(arg, &err) != APR_SUCCESS) {
        return bad(cmd, err.msg, arg);
    }
    orgs_srv_cfg(cmd->server)->brand_name = arg;
    return NULL;
}

const char *orgs_config_set_brand_logo(cmd_parms *cmd, void *dummy, const char *arg)
{
    orgs_err_t err = {{0}};
    if (orgs_brand_logo_check(arg, &err) != APR_SUCCESS) {
        return bad(cmd, err.msg, arg);
    }
    orgs_srv_cfg(cmd->server)->brand_logo = arg;
    return NULL;
}

/* Every server gets its page set (the shipped one, parsed once, unless
 * OrgsTemplateDir gave its own) and OrgsLanguage must name one of its
 * catalogs. */
int orgs_config_pages_check(apr_pool_t *pconf, server_rec *s)
{
    const orgs_pages_t *shipped = NULL;
    orgs_err_t err = {{0}};

    for (server_rec *vs = s; vs; vs = vs->next) {
        orgs_srv_cfg_t *sc = orgs_srv_cfg(vs);
        if (!sc->pages) {
            if (!shipped) {
                orgs_pages_t *ps;
                if (orgs_pages_load(NULL, &ps, pconf, &err) != APR_SUCCESS) {
                    orgs_log_error(vs, APLOG_CRIT, 0,
                                   ORGSLOGNO(00800) "the shipped page templates are broken: %s",
                                   err.msg);
                    return HTTP_INTERNAL_SERVER_ERROR;
                }
                shipped = ps;
            }
            sc->pages = shipped;
        }
        if (sc->language && !orgs_pages_has_lang(sc->pages, sc->language)) {
            orgs_log_error(vs, APLOG_CRIT, 0,
                           ORGSLOGNO(00801) "OrgsLanguage: no catalog for '%s' (add "
                                            "messages.%s to OrgsTemplateDir)",
                           sc->language, sc->language);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}
