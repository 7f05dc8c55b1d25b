/* The module's page set: the page templates and message catalogs shipped
 * in templates/ (compiled into the module, see scripts/gen-pages.sh), each
 * replaceable by a file of the same name in a site's directory, plus the
 * site's own catalogs (messages.LANG). Everything is parsed and checked
 * once, by orgs_pages_load, at configuration time; rendering cannot fail.
 *
 * Files: NAME.html are pages (prompt, chooser, error, confirm, denied,
 * signed-out); _NAME.html and _NAME.css are partials ({{> _NAME.html}});
 * messages.LANG are catalogs (i18n.h). messages.en holds every key: a
 * template may only use keys it has, and other languages fall back to it. */
#ifndef ORGS_PAGES_H
#define ORGS_PAGES_H

#include "orgs.h"
#include "tmpl.h"

typedef struct orgs_pages_file_t {
    const char *name;
    const char *src;
} orgs_pages_file_t;

/* The shipped files, NULL-terminated (pages_builtin.c, generated). */
extern const orgs_pages_file_t orgs_pages_builtin[];

typedef struct orgs_pages_t orgs_pages_t;

/* Loads the shipped set with dir's files over it (dir NULL: the shipped
 * set alone). APR_EINVAL with err "FILE:LINE: reason" for a broken
 * template or catalog, another status when a file cannot be read. */
apr_status_t orgs_pages_load(const char *dir, orgs_pages_t **out, apr_pool_t *p, orgs_err_t *err);

/* 1 when the set has a catalog for lang ("de", case-insensitive). */
int orgs_pages_has_lang(const orgs_pages_t *ps, const char *lang);

/* The languages of the set, "en" first; *n gets their count. */
const char *const *orgs_pages_langs(const orgs_pages_t *ps, int *n);

/* The language to answer in: forced when set, else the best match of
 * the Accept-Language header, else "en". */
const char *orgs_pages_lang(const orgs_pages_t *ps, const char *accept, const char *forced,
                            apr_pool_t *p);

/* Renders page (e.g. "prompt") in lang with vars; "lang" is set for the
 * template. NULL only for a page name the set does not have. */
char *orgs_pages_render(const orgs_pages_t *ps, const char *page, const char *lang,
                        orgs_tmpl_vars_t *vars, apr_pool_t *p);

/* One message of lang's catalog (English when it lacks it), as plain
 * text with its placeholders left in; NULL for an unknown key. */
const char *orgs_pages_text(const orgs_pages_t *ps, const char *lang, const char *key);

/* The message key of lang (English when it lacks it) for count (-1:
 * none) with its placeholders filled from vars: plain text, to be set as
 * a value (escaped when rendered); NULL for an unknown key. */
const char *orgs_pages_message(const orgs_pages_t *ps, const char *lang, const char *key,
                               long count, const orgs_tmpl_vars_t *vars, apr_pool_t *p);

/* t (UTC) as lang writes dates. */
char *orgs_pages_date(const orgs_pages_t *ps, const char *lang, apr_time_t t, apr_pool_t *p);

#endif
