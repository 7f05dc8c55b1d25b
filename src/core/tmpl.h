/* The pages' template engine: a template is parsed once (at configuration
 * time) into a compiled tree and rendered per request with every value
 * HTML-escaped. There is no way to output a value unescaped.
 *
 * Syntax (everything else is copied as is):
 *   {{name}}                  the value of name, escaped ("" when unset)
 *   {{t key}}                 the message key of the page's catalog, its
 *   {{t key count}}           {placeholders} filled with escaped values; with
 *                             a count variable, key.one / key.other by the
 *                             catalog's plural rule
 *   {{#if name}}..{{else}}..{{/if}}   name set and not empty (a list: not empty)
 *   {{#if !name}}..{{/if}}            the contrary
 *   {{#each list}}..{{/each}}         once per item; an item's values hide the outer ones
 *   {{> partial}}             another file of the set, inlined when compiled
 *   {{! comment }}            nothing
 * A syntax error, an unknown message key or partial is reported by
 * orgs_tmpl_compile as "FILE:LINE: reason". */
#ifndef ORGS_TMPL_H
#define ORGS_TMPL_H

#include "orgs.h"

typedef struct orgs_tmpl_t orgs_tmpl_t;
typedef struct orgs_tmpl_vars_t orgs_tmpl_vars_t;

/* What a template may refer to, asked while it is compiled. partial
 * returns the source of a partial (and its file name in *file) or NULL;
 * has_msg says whether a message key exists (NULL: every key does). */
typedef struct orgs_tmpl_env_t {
    const char *(*partial)(void *ctx, const char *name, const char **file);
    int (*has_msg)(void *ctx, const char *key);
    void *ctx;
} orgs_tmpl_env_t;

/* Compiles src (file names it in errors). APR_EINVAL with err
 * "FILE:LINE: reason" when the template is broken. */
apr_status_t orgs_tmpl_compile(const char *file, const char *src, const orgs_tmpl_env_t *env,
                               orgs_tmpl_t **out, apr_pool_t *p, orgs_err_t *err);

/* A message for {{t key [count]}}: returns its HTML (placeholders already
 * filled and escaped) for count (-1 when none was given). */
typedef const char *(*orgs_tmpl_msg_fn)(void *ctx, const char *key, long count,
                                        const orgs_tmpl_vars_t *vars, apr_pool_t *p);

/* Renders t with vars; msg answers {{t}} (NULL: the key itself, escaped). */
char *orgs_tmpl_render(const orgs_tmpl_t *t, const orgs_tmpl_vars_t *vars, orgs_tmpl_msg_fn msg,
                       void *msg_ctx, apr_pool_t *p);

/* ---- values --------------------------------------------------------- */

/* A scope of values; lookups go on to parent when a name is not set here. */
orgs_tmpl_vars_t *orgs_tmpl_vars_make(const orgs_tmpl_vars_t *parent, apr_pool_t *p);
/* Sets name to value (NULL unsets it here); both are kept, not copied. */
void orgs_tmpl_vars_set(orgs_tmpl_vars_t *v, const char *name, const char *value);
/* Appends a new item scope to the list name and returns it. */
orgs_tmpl_vars_t *orgs_tmpl_vars_add(orgs_tmpl_vars_t *v, const char *list);
/* The value of name (this scope, then its parents) or NULL. */
const char *orgs_tmpl_vars_get(const orgs_tmpl_vars_t *v, const char *name);

#endif
