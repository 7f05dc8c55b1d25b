#include <string.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "i18n.h"
#include "pages.h"

/* A template or catalog file larger than this is refused. */
#define PAGES_FILE_MAX (256 * 1024)
/* Catalogs a set may hold. */
#define PAGES_MAX_LANGS 64

typedef struct {
    const char *path; /* for errors: the site's file, or "shipped:NAME" */
    const char *src;
} file_t;

struct orgs_pages_t {
    apr_hash_t *files; /* name -> file_t */
    apr_hash_t *pages; /* "prompt" -> orgs_tmpl_t */
    apr_hash_t *cats;  /* "de" -> orgs_i18n_cat_t */
    const orgs_i18n_cat_t *en;
    const char *langs[PAGES_MAX_LANGS];
    int nlangs;
};

static apr_status_t read_file(const char *path, const char **out, apr_pool_t *p, orgs_err_t *err)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t n;
    char *buf;
    apr_status_t rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, p);

    if (rv == APR_SUCCESS && (rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f)) == APR_SUCCESS) {
        if (fi.size > PAGES_FILE_MAX) {
            apr_file_close(f);
            return orgs_err_set(err, APR_EINVAL, "%s: larger than %d bytes", path, PAGES_FILE_MAX);
        }
        n = (apr_size_t)fi.size;
        buf = apr_palloc(p, n + 1);
        rv = n ? apr_file_read_full(f, buf, n, &n) : APR_SUCCESS;
        buf[n] = '\0';
        if (memchr(buf, '\0', n)) {
            apr_file_close(f);
            return orgs_err_set(err, APR_EINVAL, "%s:1: not a text file", path);
        }
        *out = buf;
    }
    if (rv != APR_SUCCESS) {
        return orgs_err_set(err, rv, "%s: cannot read it", path);
    }
    apr_file_close(f);
    return APR_SUCCESS;
}

/* The site's files over the shipped ones: a file of the same name
 * replaces it; messages.LANG of a language not shipped is added. */
static apr_status_t read_site(orgs_pages_t *ps, const char *dir, apr_pool_t *p, orgs_err_t *err)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_status_t rv = apr_dir_open(&d, dir, p);

    if (rv != APR_SUCCESS) {
        return orgs_err_set(err, rv, "%s: cannot open the directory", dir);
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS) {
        const char *name = fi.name;
        file_t *f;
        if (fi.filetype != APR_REG && fi.filetype != APR_LNK) {
            continue;
        }
        if (!apr_hash_get(ps->files, name, APR_HASH_KEY_STRING) &&
            strncmp(name, "messages.", 9) != 0) {
            continue; /* not a name the set knows: an editor's backup, a README */
        }
        f = apr_pcalloc(p, sizeof(*f));
        f->path = apr_pstrcat(p, dir, "/", name, NULL);
        if ((rv = read_file(f->path, &f->src, p, err)) != APR_SUCCESS) {
            apr_dir_close(d);
            return rv;
        }
        apr_hash_set(ps->files, apr_pstrdup(p, name), APR_HASH_KEY_STRING, f);
    }
    apr_dir_close(d);
    return APR_SUCCESS;
}

static const char *partial(void *ctx, const char *name, const char **file)
{
    const orgs_pages_t *ps = ctx;
    const file_t *f;
    if (name[0] != '_' || !(f = apr_hash_get(ps->files, name, APR_HASH_KEY_STRING))) {
        return NULL;
    }
    *file = f->path;
    return f->src;
}

static int has_msg(void *ctx, const char *key)
{
    const orgs_pages_t *ps = ctx;
    return orgs_i18n_text(ps->en, NULL, key, -1) != NULL ||
           orgs_i18n_text(ps->en, NULL, key, 2) != NULL;
}

/* Every shipped catalog first, a site's file for the same language then
 * overriding their keys. */
static apr_status_t load_cats(orgs_pages_t *ps, apr_pool_t *p, orgs_err_t *err)
{
    const char *lang;
    apr_status_t rv;

    for (apr_hash_index_t *hi = apr_hash_first(p, ps->files); hi; hi = apr_hash_next(hi)) {
        const char *name = apr_hash_this_key(hi);
        const file_t *f = apr_hash_this_val(hi);
        orgs_i18n_cat_t *cat;
        if (strncmp(name, "messages.", 9) != 0) {
            continue;
        }
        lang = name + 9;
        orgs_err_t lerr = {{0}};
        if (orgs_i18n_lang_check(lang, &lerr) != APR_SUCCESS) {
            return orgs_err_set(err, APR_EINVAL, "%s: %s", f->path, lerr.msg);
        }
        cat = apr_hash_get(ps->cats, lang, APR_HASH_KEY_STRING);
        /* the shipped catalog of a language a site replaced: its base */
        if (!cat && strncmp(f->path, "shipped:", 8) != 0) {
            for (const orgs_pages_file_t *b = orgs_pages_builtin; b->name; b++) {
                if (strcmp(b->name, name) == 0 &&
                    (rv = orgs_i18n_cat_parse(apr_pstrcat(p, "shipped:", name, NULL), lang, b->src,
                                              &cat, p, err)) != APR_SUCCESS) {
                    return rv;
                }
            }
        }
        if ((rv = orgs_i18n_cat_parse(f->path, lang, f->src, &cat, p, err)) != APR_SUCCESS) {
            return rv;
        }
        if (!apr_hash_get(ps->cats, cat->lang, APR_HASH_KEY_STRING)) {
            if (ps->nlangs == PAGES_MAX_LANGS) {
                return orgs_err_set(err, APR_EINVAL, "%s: more than %d languages", f->path,
                                    PAGES_MAX_LANGS);
            }
            ps->langs[ps->nlangs++] = cat->lang;
        }
        apr_hash_set(ps->cats, cat->lang, APR_HASH_KEY_STRING, cat);
    }
    ps->en = apr_hash_get(ps->cats, "en", APR_HASH_KEY_STRING);
    if (!ps->en) {
        return orgs_err_set(err, APR_EINVAL, "no English catalog (messages.en)");
    }
    /* "en" first: the default, and the first a list shows */
    for (int i = 0; i < ps->nlangs; i++) {
        if (strcmp(ps->langs[i], "en") == 0) {
            ps->langs[i] = ps->langs[0];
            ps->langs[0] = "en";
        }
    }
    return APR_SUCCESS;
}

apr_status_t orgs_pages_load(const char *dir, orgs_pages_t **out, apr_pool_t *p, orgs_err_t *err)
{
    orgs_pages_t *ps = apr_pcalloc(p, sizeof(*ps));
    apr_status_t rv;
    orgs_tmpl_env_t env = {partial, has_msg, ps};

    ps->files = apr_hash_make(p);
    ps->pages = apr_hash_make(p);
    ps->cats = apr_hash_make(p);
    for (const orgs_pages_file_t *b = orgs_pages_builtin; b->name; b++) {
        file_t *f = apr_pcalloc(p, sizeof(*f));
        f->path = apr_pstrcat(p, "shipped:", b->name, NULL);
        f->src = b->src;
        apr_hash_set(ps->files, b->name, APR_HASH_KEY_STRING, f);
    }
    if (dir && (rv = read_site(ps, dir, p, err)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = load_cats(ps, p, err)) != APR_SUCCESS) {
        return rv;
    }
    for (apr_hash_index_t *hi = apr_hash_first(p, ps->files); hi; hi = apr_hash_next(hi)) {
        const char *name = apr_hash_this_key(hi);
        const file_t *f = apr_hash_this_val(hi);
        apr_size_t len = strlen(name);
        orgs_tmpl_t *t;
        if (name[0] == '_' || len < 6 || strcmp(name + len - 5, ".html") != 0) {
            continue;
        }
        if ((rv = orgs_tmpl_compile(f->path, f->src, &env, &t, p, err)) != APR_SUCCESS) {
            return rv;
        }
        apr_hash_set(ps->pages, apr_pstrmemdup(p, name, len - 5), APR_HASH_KEY_STRING, t);
    }
    /* partials are compiled into each page; one never used is still checked */
    for (apr_hash_index_t *hi = apr_hash_first(p, ps->files); hi; hi = apr_hash_next(hi)) {
        const char *name = apr_hash_this_key(hi);
        const file_t *f = apr_hash_this_val(hi);
        orgs_tmpl_t *t;
        if (name[0] == '_' &&
            (rv = orgs_tmpl_compile(f->path, f->src, &env, &t, p, err)) != APR_SUCCESS) {
            return rv;
        }
    }
    *out = ps;
    return APR_SUCCESS;
}

static const orgs_i18n_cat_t *cat_of(const orgs_pages_t *ps, const char *lang)
{
    const orgs_i18n_cat_t *c = lang ? apr_hash_get(ps->cats, lang, APR_HASH_KEY_STRING) : NULL;
    return c ? c : ps->en;
}

int orgs_pages_has_lang(const orgs_pages_t *ps, const char *lang)
{
    for (int i = 0; i < ps->nlangs; i++) {
        if (strcasecmp(ps->langs[i], lang) == 0) {
            return 1;
        }
    }
    return 0;
}

const char *const *orgs_pages_langs(const orgs_pages_t *ps, int *n)
{
    *n = ps->nlangs;
    return ps->langs;
}

const char *orgs_pages_lang(const orgs_pages_t *ps, const char *accept, const char *forced,
                            apr_pool_t *p)
{
    if (forced) {
        for (int i = 0; i < ps->nlangs; i++) {
            if (strcasecmp(ps->langs[i], forced) == 0) {
                return ps->langs[i];
            }
        }
    }
    return orgs_i18n_negotiate(accept, ps->langs, ps->nlangs, "en", p);
}

typedef struct {
    const orgs_pages_t *ps;
    const orgs_i18n_cat_t *cat;
} msg_ctx_t;

static const char *var_lookup(const void *ctx, const char *name)
{
    return orgs_tmpl_vars_get(ctx, name);
}

static const char *message(void *ctx, const char *key, long count, const orgs_tmpl_vars_t *vars,
                           apr_pool_t *p)
{
    const msg_ctx_t *m = ctx;
    const char *text = orgs_i18n_text(m->cat, m->ps->en, key, count);
    return orgs_i18n_format(text ? text : key, var_lookup, vars, 1, p);
}

char *orgs_pages_render(const orgs_pages_t *ps, const char *page, const char *lang,
                        orgs_tmpl_vars_t *vars, apr_pool_t *p)
{
    const orgs_tmpl_t *t = apr_hash_get(ps->pages, page, APR_HASH_KEY_STRING);
    msg_ctx_t m = {ps, cat_of(ps, lang)};

    if (!t) {
        return NULL;
    }
    orgs_tmpl_vars_set(vars, "lang", m.cat->lang);
    return orgs_tmpl_render(t, vars, message, &m, p);
}

const char *orgs_pages_text(const orgs_pages_t *ps, const char *lang, const char *key)
{
    return orgs_i18n_text(cat_of(ps, lang), ps->en, key, -1);
}

const char *orgs_pages_message(const orgs_pages_t *ps, const char *lang, const char *key,
                               long count, const orgs_tmpl_vars_t *vars, apr_pool_t *p)
{
    const char *text = orgs_i18n_text(cat_of(ps, lang), ps->en, key, count);
    return text ? orgs_i18n_format(text, var_lookup, vars, 0, p) : NULL;
}

char *orgs_pages_date(const orgs_pages_t *ps, const char *lang, apr_time_t t, apr_pool_t *p)
{
    return orgs_i18n_date(cat_of(ps, lang), ps->en, t, p);
}
