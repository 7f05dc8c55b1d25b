/* The pages' languages: message catalogs, the choice of one by
 * Accept-Language, plurals and dates.
 *
 * A catalog is a UTF-8 text file, one message a line:
 *     # a comment
 *     plural = one-if-1            (or one-if-0-or-1, or none)
 *     prompt.heading = Sign in to continue to {brand}
 *     switch.count.one = You are signed in to {count} organization.
 *     switch.count.other = You are signed in to {count} organizations.
 * Keys are [a-z0-9_.-]; a value's {name} is filled with the page's value
 * of name, escaped. "date" is the pattern of a date ({Y} {m} {d} {H} {M}
 * {month}) and month.1 .. month.12 the month names. */
#ifndef ORGS_I18N_H
#define ORGS_I18N_H

#include <apr_hash.h>

#include "orgs.h"

/* How a language picks the .one form (else .other). */
typedef enum {
    ORGS_PLURAL_ONE_IF_1 = 0,  /* English, German, Spanish: 1 */
    ORGS_PLURAL_ONE_IF_0_OR_1, /* French: 0 and 1 */
    ORGS_PLURAL_NONE,          /* Japanese: always .other */
} orgs_plural_t;

typedef struct orgs_i18n_cat_t {
    const char *lang; /* "en", "pt-br": lowercase */
    apr_hash_t *msgs; /* key -> value */
    orgs_plural_t plural;
} orgs_i18n_cat_t;

/* Parses src (file names it in errors) into a catalog for lang; entries
 * of src override those already in *cat when *cat is not NULL (a site's
 * file over the shipped one). APR_EINVAL with err "FILE:LINE: reason". */
apr_status_t orgs_i18n_cat_parse(const char *file, const char *lang, const char *src,
                                 orgs_i18n_cat_t **cat, apr_pool_t *p, orgs_err_t *err);

/* Checks a language tag ("en", "de", "pt-BR": 2 to 8 letters, then
 * optional -subtags of letters and digits). */
apr_status_t orgs_i18n_lang_check(const char *lang, orgs_err_t *err);

/* The text of key for count (-1: no count) in cat, else in fallback,
 * else NULL. With a count, key.one / key.other by cat's plural rule. */
const char *orgs_i18n_text(const orgs_i18n_cat_t *cat, const orgs_i18n_cat_t *fallback,
                           const char *key, long count);

/* Fills the {name} placeholders of text with lookup(ctx, name) (an
 * unknown name gives ""). With escape, the result is HTML: the text and
 * every value escaped; without, plain text for a value escaped later. */
char *orgs_i18n_format(const char *text, const char *(*lookup)(const void *ctx, const char *name),
                       const void *ctx, int escape, apr_pool_t *p);

/* The best of the n languages avail for an Accept-Language header (q
 * values honoured, "de-CH" matches "de", "*" and no match give dflt). */
const char *orgs_i18n_negotiate(const char *accept, const char *const *avail, int n,
                                const char *dflt, apr_pool_t *p);

/* t (UTC) by the catalog's "date" pattern and month names. */
char *orgs_i18n_date(const orgs_i18n_cat_t *cat, const orgs_i18n_cat_t *fallback, apr_time_t t,
                     apr_pool_t *p);

#endif
