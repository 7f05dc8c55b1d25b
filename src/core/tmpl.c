#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "html.h"
#include "text.h"
#include "tmpl.h"

/* Partials may include partials, this deep at most (a loop is an error). */
#define TMPL_MAX_DEPTH 8
/* Blocks nested in one another, at most. */
#define TMPL_MAX_NEST 16

typedef enum { N_TEXT, N_VAR, N_MSG, N_IF, N_EACH } node_kind_t;

typedef struct node_t node_t;
typedef struct {
    node_t *items;
    int n, cap;
} seq_t;

struct node_t {
    node_kind_t kind;
    const char *text;  /* N_TEXT: the text; N_VAR/N_IF/N_EACH: the name; N_MSG: the key */
    apr_size_t len;    /* N_TEXT */
    const char *count; /* N_MSG: the count variable or NULL */
    int negate;        /* N_IF */
    seq_t body, other; /* N_IF (then, else), N_EACH (body) */
};

struct orgs_tmpl_t {
    seq_t root;
};

typedef struct {
    const char *file;
    int line;
} pos_t;

typedef struct {
    const orgs_tmpl_env_t *env;
    apr_pool_t *p;
    orgs_err_t *err;
    int depth;
} parse_t;

static node_t *seq_push(seq_t *s, apr_pool_t *p)
{
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 8;
        node_t *items = apr_pcalloc(p, sizeof(*items) * (apr_size_t)cap);
        if (s->n) {
            memcpy(items, s->items, sizeof(*items) * (apr_size_t)s->n);
        }
        s->items = items;
        s->cap = cap;
    }
    node_t *nd = &s->items[s->n++];
    memset(nd, 0, sizeof(*nd));
    return nd;
}

static int is_name_char(unsigned char c)
{
    return orgs_text_is_alnum(c) || c == '_' || c == '.' || c == '-';
}

/* Splits a tag's inside into up to three words; returns the count, or -1
 * when a word has a character a name cannot have. */
static int words(char *in, const char *w[3])
{
    int n = 0;
    char *s = in;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == '\n') {
            *s++ = '\0';
        }
        if (!*s) {
            break;
        }
        if (n == 3) {
            return -1;
        }
        w[n++] = s;
        if (*s == '!') {
            s++; /* a negation: {{#if !name}} */
        }
        while (*s && *s != ' ' && *s != '\t' && *s != '\n') {
            if (!is_name_char((unsigned char)*s)) {
                return -1;
            }
            s++;
        }
    }
    return n;
}

static apr_status_t fail(parse_t *ps, const pos_t *at, const char *why, const char *what)
{
    return orgs_err_set(ps->err, APR_EINVAL, "%s:%d: %s%s%s", at->file, at->line, why,
                        what ? ": " : "", what ? what : "");
}

/* One open block while parsing: where it began, and where its nodes go. */
typedef struct {
    node_t *node; /* NULL: the template itself */
    seq_t *into;
    int line;
    int in_else;
} frame_t;

static apr_status_t parse_into(parse_t *ps, const char *file, const char *src, seq_t *root);

static apr_status_t tag(parse_t *ps, pos_t *at, char *inside, frame_t *stack, int *top)
{
    frame_t *f = &stack[*top];
    const char *w[3] = {NULL, NULL, NULL};
    char *body = inside;
    char sigil = 0;
    int n;

    if (*body == '!') {
        return APR_SUCCESS;
    }
    if (*body == '#' || *body == '/' || *body == '>') {
        sigil = *body++;
    }
    n = words(body, w);
    if (n <= 0) {
        return fail(ps, at, "malformed tag", n == 0 ? "empty" : NULL);
    }
    if (sigil == '>') {
        const char *pfile = NULL, *psrc;
        if (n != 1) {
            return fail(ps, at, "a partial takes one name", NULL);
        }
        psrc = ps->env && ps->env->partial ? ps->env->partial(ps->env->ctx, w[0], &pfile) : NULL;
        if (!psrc) {
            return fail(ps, at, "unknown partial", w[0]);
        }
        if (ps->depth >= TMPL_MAX_DEPTH) {
            return fail(ps, at, "partials nested too deep (a loop?)", w[0]);
        }
        ps->depth++;
        apr_status_t rv = parse_into(ps, pfile ? pfile : w[0], psrc, f->into);
        ps->depth--;
        return rv;
    }
    if (sigil == '#') {
        node_t *nd;
        const char *name = w[1];
        int negate = 0;
        if (n != 2 || (strcmp(w[0], "if") != 0 && strcmp(w[0], "each") != 0)) {
            return fail(ps, at, "unknown block (#if NAME or #each NAME)", w[0]);
        }
        if (*top + 1 >= TMPL_MAX_NEST) {
            return fail(ps, at, "blocks nested too deep", NULL);
        }
        if (name[0] == '!') {
            if (w[0][0] != 'i') {
                return fail(ps, at, "only {{#if}} takes a negation", name);
            }
            negate = 1;
            name++;
        }
        nd = seq_push(f->into, ps->p);
        nd->kind = w[0][0] == 'i' ? N_IF : N_EACH;
        nd->text = apr_pstrdup(ps->p, name);
        nd->negate = negate;
        (*top)++;
        stack[*top].node = nd;
        stack[*top].into = &nd->body;
        stack[*top].line = at->line;
        stack[*top].in_else = 0;
        return APR_SUCCESS;
    }
    if (sigil == '/') {
        const char *want = f->node ? (f->node->kind == N_IF ? "if" : "each") : NULL;
        if (n != 1 || !want || strcmp(w[0], want) != 0) {
            return fail(ps, at,
                        want ? apr_psprintf(ps->p, "expected {{/%s}}", want)
                             : "closing a block that is not open",
                        w[0]);
        }
        (*top)--;
        return APR_SUCCESS;
    }
    if (n == 1 && strcmp(w[0], "else") == 0) {
        if (!f->node || f->node->kind != N_IF || f->in_else) {
            return fail(ps, at, "{{else}} outside an {{#if}}", NULL);
        }
        f->in_else = 1;
        f->into = &f->node->other;
        return APR_SUCCESS;
    }
    if (strcmp(w[0], "t") == 0 && n >= 2) {
        node_t *nd;
        if (ps->env && ps->env->has_msg && !ps->env->has_msg(ps->env->ctx, w[1])) {
            return fail(ps, at, "unknown message key", w[1]);
        }
        nd = seq_push(f->into, ps->p);
        nd->kind = N_MSG;
        nd->text = apr_pstrdup(ps->p, w[1]);
        nd->count = n == 3 ? apr_pstrdup(ps->p, w[2]) : NULL;
        return APR_SUCCESS;
    }
    if (n != 1) {
        return fail(ps, at, "one name expected", w[1]);
    }
    if (w[0][0] == '!') {
        return fail(ps, at, "malformed tag", NULL);
    }
    node_t *nd = seq_push(f->into, ps->p);
    nd->kind = N_VAR;
    nd->text = apr_pstrdup(ps->p, w[0]);
    return APR_SUCCESS;
}

static void count_lines(pos_t *at, const char *from, const char *to)
{
    for (; from < to; from++) {
        at->line += *from == '\n';
    }
}

static apr_status_t parse_into(parse_t *ps, const char *file, const char *src, seq_t *root)
{
    frame_t stack[TMPL_MAX_NEST];
    int top = 0;
    pos_t at = {file, 1};
    const char *s = src;
    apr_status_t rv;

    stack[0].node = NULL;
    stack[0].into = root;
    stack[0].line = 1;
    stack[0].in_else = 0;
    while (*s) {
        const char *open = strstr(s, "{{");
        const char *end = open ? open : s + strlen(s);
        if (end > s) {
            node_t *nd = seq_push(stack[top].into, ps->p);
            nd->kind = N_TEXT;
            nd->text = s;
            nd->len = (apr_size_t)(end - s);
            count_lines(&at, s, end);
        }
        if (!open) {
            break;
        }
        const char *close = strstr(open + 2, "}}");
        const char *nl = strchr(open + 2, '\n');
        if (!close || (nl && nl < close && open[2] != '!')) {
            return fail(ps, &at, "unclosed {{", NULL);
        }
        char *inside = apr_pstrmemdup(ps->p, open + 2, (apr_size_t)(close - open - 2));
        if ((rv = tag(ps, &at, inside, stack, &top)) != APR_SUCCESS) {
            return rv;
        }
        count_lines(&at, open, close);
        s = close + 2;
    }
    if (top > 0) {
        at.line = stack[top].line;
        return fail(ps, &at,
                    stack[top].node->kind == N_IF ? "{{#if}} not closed" : "{{#each}} not closed",
                    stack[top].node->text);
    }
    return APR_SUCCESS;
}

apr_status_t orgs_tmpl_compile(const char *file, const char *src, const orgs_tmpl_env_t *env,
                               orgs_tmpl_t **out, apr_pool_t *p, orgs_err_t *err)
{
    orgs_tmpl_t *t = apr_pcalloc(p, sizeof(*t));
    parse_t ps = {env, p, err, 0};
    apr_status_t rv;

    if (!src) {
        return orgs_err_set(err, APR_EINVAL, "%s: no template", file);
    }
    /* the source is referenced by the text nodes: keep it with them */
    if ((rv = parse_into(&ps, file, apr_pstrdup(p, src), &t->root)) != APR_SUCCESS) {
        return rv;
    }
    *out = t;
    return APR_SUCCESS;
}

/* ---- values -------------------------------------------------------- */

typedef struct {
    const char *str;
    apr_array_header_t *list; /* orgs_tmpl_vars_t * */
} entry_t;

struct orgs_tmpl_vars_t {
    const orgs_tmpl_vars_t *parent;
    apr_hash_t *h;
    apr_pool_t *p;
};

orgs_tmpl_vars_t *orgs_tmpl_vars_make(const orgs_tmpl_vars_t *parent, apr_pool_t *p)
{
    orgs_tmpl_vars_t *v = apr_pcalloc(p, sizeof(*v));
    v->parent = parent;
    v->h = apr_hash_make(p);
    v->p = p;
    return v;
}

void orgs_tmpl_vars_set(orgs_tmpl_vars_t *v, const char *name, const char *value)
{
    entry_t *e = NULL;
    if (value) {
        e = apr_pcalloc(v->p, sizeof(*e));
        e->str = value;
    }
    apr_hash_set(v->h, name, APR_HASH_KEY_STRING, e);
}

orgs_tmpl_vars_t *orgs_tmpl_vars_add(orgs_tmpl_vars_t *v, const char *list)
{
    entry_t *e = apr_hash_get(v->h, list, APR_HASH_KEY_STRING);
    if (!e || !e->list) {
        e = apr_pcalloc(v->p, sizeof(*e));
        e->list = apr_array_make(v->p, 4, sizeof(orgs_tmpl_vars_t *));
        apr_hash_set(v->h, list, APR_HASH_KEY_STRING, e);
    }
    orgs_tmpl_vars_t *item = orgs_tmpl_vars_make(v, v->p);
    APR_ARRAY_PUSH(e->list, orgs_tmpl_vars_t *) = item;
    return item;
}

static const entry_t *lookup(const orgs_tmpl_vars_t *v, const char *name)
{
    for (; v; v = v->parent) {
        const entry_t *e = apr_hash_get(v->h, name, APR_HASH_KEY_STRING);
        if (e) {
            return e;
        }
    }
    return NULL;
}

const char *orgs_tmpl_vars_get(const orgs_tmpl_vars_t *v, const char *name)
{
    const entry_t *e = lookup(v, name);
    return e ? e->str : NULL;
}

/* ---- render -------------------------------------------------------- */

typedef struct {
    char *b;
    apr_size_t len, cap;
    apr_pool_t *p;
    orgs_tmpl_msg_fn msg;
    void *msg_ctx;
} out_t;

static void put(out_t *o, const char *s, apr_size_t n)
{
    if (o->len + n + 1 > o->cap) {
        apr_size_t cap = o->cap * 2 > o->len + n + 1 ? o->cap * 2 : o->len + n + 1024;
        char *b = apr_palloc(o->p, cap);
        memcpy(b, o->b, o->len);
        o->b = b;
        o->cap = cap;
    }
    memcpy(o->b + o->len, s, n);
    o->len += n;
}

static void puts_(out_t *o, const char *s)
{
    put(o, s, strlen(s));
}

static void render_seq(out_t *o, const seq_t *s, const orgs_tmpl_vars_t *v)
{
    for (int i = 0; i < s->n; i++) {
        const node_t *nd = &s->items[i];
        const entry_t *e;
        switch (nd->kind) {
        case N_TEXT:
            put(o, nd->text, nd->len);
            break;
        case N_VAR:
            e = lookup(v, nd->text);
            if (e && e->str) {
                puts_(o, orgs_html_escape(e->str, o->p));
            }
            break;
        case N_MSG: {
            long count = -1;
            const char *c = nd->count ? orgs_tmpl_vars_get(v, nd->count) : NULL;
            if (c) {
                count = strtol(c, NULL, 10);
            }
            puts_(o, o->msg ? o->msg(o->msg_ctx, nd->text, count, v, o->p)
                            : orgs_html_escape(nd->text, o->p));
            break;
        }
        case N_IF: {
            int truth;
            e = lookup(v, nd->text);
            truth = e && ((e->str && *e->str) || (e->list && e->list->nelts > 0));
            render_seq(o, truth != nd->negate ? &nd->body : &nd->other, v);
            break;
        }
        case N_EACH:
            e = lookup(v, nd->text);
            for (int k = 0; e && e->list && k < e->list->nelts; k++) {
                render_seq(o, &nd->body, APR_ARRAY_IDX(e->list, k, orgs_tmpl_vars_t *));
            }
            break;
        }
    }
}

char *orgs_tmpl_render(const orgs_tmpl_t *t, const orgs_tmpl_vars_t *vars, orgs_tmpl_msg_fn msg,
                       void *msg_ctx, apr_pool_t *p)
{
    out_t o = {NULL, 0, 0, p, msg, msg_ctx};
    o.cap = 4096;
    o.b = apr_palloc(p, o.cap);
    render_seq(&o, &t->root, vars);
    put(&o, "", 0);
    o.b[o.len] = '\0';
    return o.b;
}
