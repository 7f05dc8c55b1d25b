#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "html.h"
#include "text.h"
#include "i18n.h"

/* Languages an Accept-Language header may list, at most (the rest is ignored). */
#define I18N_MAX_RANGES 32

/* s without leading and trailing blanks (in place). */
static char *trim(char *s)
{
    char *e;
    while (*s == ' ' || *s == '\t' || *s == '\r') {
        s++;
    }
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) {
        *--e = '\0';
    }
    return s;
}

static int is_key_char(unsigned char c)
{
    return orgs_text_is_lower_alnum(c) || c == '_' || c == '.' || c == '-';
}

apr_status_t orgs_i18n_lang_check(const char *lang, orgs_err_t *err)
{
    const char *s = lang;
    apr_size_t n = 0;

    while (s && orgs_text_is_alpha((unsigned char)*s)) {
        s++;
        n++;
    }
    if (!lang || n < 2 || n > 8) {
        return orgs_err_set(err, APR_EINVAL, "a language tag such as en, de or pt-BR is expected");
    }
    while (*s == '-') {
        apr_size_t k = 0;
        for (s++; orgs_text_is_alnum((unsigned char)*s); s++) {
            k++;
        }
        if (k < 1 || k > 8) {
            return orgs_err_set(err, APR_EINVAL, "malformed subtag in language tag");
        }
    }
    if (*s) {
        return orgs_err_set(err, APR_EINVAL, "a language tag such as en, de or pt-BR is expected");
    }
    return APR_SUCCESS;
}

/* A value's {placeholders} must be closed and named like keys. */
static const char *check_value(const char *v)
{
    for (const char *s = v; *s; s++) {
        if (*s == '{') {
            const char *e = s + 1;
            while (is_key_char((unsigned char)*e) || orgs_text_is_upper((unsigned char)*e)) {
                e++;
            }
            if (*e != '}' || e == s + 1) {
                return "malformed {placeholder}";
            }
            s = e;
        } else if (*s == '}') {
            return "'}' without '{'";
        }
    }
    return NULL;
}

apr_status_t orgs_i18n_cat_parse(const char *file, const char *lang, const char *src,
                                 orgs_i18n_cat_t **cat, apr_pool_t *p, orgs_err_t *err)
{
    orgs_i18n_cat_t *c = *cat;
    char *copy, *line, *next;
    int lineno = 0;

    if (!src || !orgs_text_utf8_valid(src, strlen(src), 0)) {
        return orgs_err_set(err, APR_EINVAL, "%s:1: not UTF-8 text", file);
    }
    if (!c) {
        c = apr_pcalloc(p, sizeof(*c));
        c->lang = apr_pstrdup(p, lang);
        for (char *l = (char *)c->lang; *l; l++) {
            *l = (char)apr_tolower(*l);
        }
        c->msgs = apr_hash_make(p);
    }
    copy = apr_pstrdup(p, src);
    for (line = copy; line; line = next) {
        char *eq, *key, *value, *end;
        const char *why;
        lineno++;
        next = strchr(line, '\n');
        if (next) {
            *next++ = '\0';
        }
        line = trim(line);
        if (!*line || *line == '#') {
            continue;
        }
        eq = strchr(line, '=');
        if (!eq) {
            return orgs_err_set(err, APR_EINVAL, "%s:%d: expected key = text", file, lineno);
        }
        for (end = eq; end > line && (end[-1] == ' ' || end[-1] == '\t'); end--) {
        }
        *end = '\0';
        key = line;
        value = trim(eq + 1);
        for (const char *k = key; *k; k++) {
            if (!is_key_char((unsigned char)*k)) {
                return orgs_err_set(err, APR_EINVAL, "%s:%d: bad character in key '%s'", file,
                                    lineno, key);
            }
        }
        if (!*key) {
            return orgs_err_set(err, APR_EINVAL, "%s:%d: empty key", file, lineno);
        }
        if (strcmp(key, "plural") == 0) {
            if (strcmp(value, "one-if-1") == 0) {
                c->plural = ORGS_PLURAL_ONE_IF_1;
            } else if (strcmp(value, "one-if-0-or-1") == 0) {
                c->plural = ORGS_PLURAL_ONE_IF_0_OR_1;
            } else if (strcmp(value, "none") == 0) {
                c->plural = ORGS_PLURAL_NONE;
            } else {
                return orgs_err_set(err, APR_EINVAL,
                                    "%s:%d: plural is one-if-1, one-if-0-or-1 or none", file,
                                    lineno);
            }
            continue;
        }
        if ((why = check_value(value)) != NULL) {
            return orgs_err_set(err, APR_EINVAL, "%s:%d: %s", file, lineno, why);
        }
        apr_hash_set(c->msgs, key, APR_HASH_KEY_STRING, value);
    }
    *cat = c;
    return APR_SUCCESS;
}

static const char *text_in(const orgs_i18n_cat_t *cat, const char *key, long count)
{
    char buf[160];
    const char *form;

    if (!cat) {
        return NULL;
    }
    if (count < 0) {
        return apr_hash_get(cat->msgs, key, APR_HASH_KEY_STRING);
    }
    switch (cat->plural) {
    case ORGS_PLURAL_ONE_IF_0_OR_1:
        form = count <= 1 ? "one" : "other";
        break;
    case ORGS_PLURAL_NONE:
        form = "other";
        break;
    default:
        form = count == 1 ? "one" : "other";
        break;
    }
    apr_snprintf(buf, sizeof(buf), "%s.%s", key, form);
    const char *v = apr_hash_get(cat->msgs, buf, APR_HASH_KEY_STRING);
    if (!v) {
        apr_snprintf(buf, sizeof(buf), "%s.other", key);
        v = apr_hash_get(cat->msgs, buf, APR_HASH_KEY_STRING);
    }
    return v;
}

const char *orgs_i18n_text(const orgs_i18n_cat_t *cat, const orgs_i18n_cat_t *fallback,
                           const char *key, long count)
{
    const char *v = text_in(cat, key, count);
    return v ? v : text_in(fallback, key, count);
}

char *orgs_i18n_format(const char *text, const char *(*lookup)(const void *ctx, const char *name),
                       const void *ctx, int escape, apr_pool_t *p)
{
    const char *out = "";
    const char *s = text;

    while (s && *s) {
        const char *open = strchr(s, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (!open || !close) {
            out = apr_pstrcat(p, out, escape ? orgs_html_escape(s, p) : s, NULL);
            break;
        }
        const char *name = apr_pstrmemdup(p, open + 1, (apr_size_t)(close - open - 1));
        const char *before = apr_pstrmemdup(p, s, (apr_size_t)(open - s));
        const char *value = lookup(ctx, name);
        value = value ? value : "";
        out = apr_pstrcat(p, out, escape ? orgs_html_escape(before, p) : before,
                          escape ? orgs_html_escape(value, p) : value, NULL);
        s = close + 1;
    }
    return (char *)out;
}

/* ---- Accept-Language --------------------------------------------------- */

typedef struct {
    const char *tag;
    int q; /* 0..1000 */
    int order;
} range_t;

static int by_q(const void *a, const void *b)
{
    const range_t *x = a, *y = b;
    return x->q != y->q ? y->q - x->q : x->order - y->order;
}

/* q=0.8 -> 800; a malformed q is 0 (the range is left out). */
static int parse_q(const char *s)
{
    int q = 0, scale = 100;
    if (*s == '1') {
        for (s++, s += *s == '.'; *s == '0'; s++) {
        }
        return *s ? 0 : 1000;
    }
    if (*s != '0') {
        return 0;
    }
    s++;
    if (*s == '.') {
        for (s++; *s && scale > 0; s++, scale /= 10) {
            if (!orgs_text_is_digit((unsigned char)*s)) {
                return 0;
            }
            q += (*s - '0') * scale;
        }
    }
    return *s ? 0 : q;
}

static int lang_eq(const char *a, const char *b, apr_size_t n)
{
    return strncasecmp(a, b, n) == 0;
}

const char *orgs_i18n_negotiate(const char *accept, const char *const *avail, int n,
                                const char *dflt, apr_pool_t *p)
{
    range_t ranges[I18N_MAX_RANGES];
    int nr = 0;
    char *copy, *item, *last = NULL;

    if (!accept || !*accept) {
        return dflt;
    }
    copy = apr_pstrdup(p, accept);
    for (item = apr_strtok(copy, ",", &last); item && nr < I18N_MAX_RANGES;
         item = apr_strtok(NULL, ",", &last)) {
        char *semi = strchr(item, ';');
        int q = 1000;
        if (semi) {
            *semi++ = '\0';
            semi = trim(semi);
            q = (semi[0] == 'q' || semi[0] == 'Q') && semi[1] == '=' ? parse_q(semi + 2) : 0;
        }
        item = trim(item);
        if (!*item || q == 0) {
            continue;
        }
        ranges[nr].tag = item;
        ranges[nr].q = q;
        ranges[nr].order = nr;
        nr++;
    }
    qsort(ranges, (size_t)nr, sizeof(ranges[0]), by_q);
    for (int i = 0; i < nr; i++) {
        const char *tag = ranges[i].tag;
        apr_size_t primary = strcspn(tag, "-");
        if (strcmp(tag, "*") == 0) {
            return dflt;
        }
        for (int k = 0; k < n; k++) {
            if (strcasecmp(avail[k], tag) == 0) {
                return avail[k];
            }
        }
        /* de-CH is served by de; en by en-gb when nothing closer exists */
        for (int k = 0; k < n; k++) {
            if (strlen(avail[k]) == primary && lang_eq(avail[k], tag, primary)) {
                return avail[k];
            }
        }
        for (int k = 0; k < n; k++) {
            if (avail[k][strcspn(avail[k], "-")] == '-' && strcspn(avail[k], "-") == primary &&
                lang_eq(avail[k], tag, primary)) {
                return avail[k];
            }
        }
    }
    return dflt;
}

/* ---- dates ------------------------------------------------------------ */

char *orgs_i18n_date(const orgs_i18n_cat_t *cat, const orgs_i18n_cat_t *fallback, apr_time_t t,
                     apr_pool_t *p)
{
    const char *pattern = orgs_i18n_text(cat, fallback, "date", -1);
    apr_time_exp_t tm;
    const char *out = "";

    apr_time_exp_gmt(&tm, t);
    if (!pattern) {
        pattern = "{Y}-{m}-{d} {H}:{M} UTC";
    }
    for (const char *s = pattern; *s;) {
        const char *open = strchr(s, '{'), *close = open ? strchr(open, '}') : NULL;
        if (!open || !close) {
            out = apr_pstrcat(p, out, s, NULL);
            break;
        }
        const char *name = apr_pstrmemdup(p, open + 1, (apr_size_t)(close - open - 1));
        const char *val = "";
        if (strcmp(name, "Y") == 0) {
            val = apr_itoa(p, tm.tm_year + 1900);
        } else if (strcmp(name, "m") == 0) {
            val = apr_psprintf(p, "%02d", tm.tm_mon + 1);
        } else if (strcmp(name, "d") == 0) {
            val = apr_itoa(p, tm.tm_mday);
        } else if (strcmp(name, "H") == 0) {
            val = apr_psprintf(p, "%02d", tm.tm_hour);
        } else if (strcmp(name, "M") == 0) {
            val = apr_psprintf(p, "%02d", tm.tm_min);
        } else if (strcmp(name, "month") == 0) {
            val = orgs_i18n_text(cat, fallback, apr_psprintf(p, "month.%d", tm.tm_mon + 1), -1);
            val = val ? val : apr_itoa(p, tm.tm_mon + 1);
        }
        out = apr_pstrcat(p, out, apr_pstrmemdup(p, s, (apr_size_t)(open - s)), val, NULL);
        s = close + 1;
    }
    return (char *)out;
}
