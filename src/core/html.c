#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "html.h"
#include "url.h"

static int nonempty(const char *s)
{
    return s != NULL && *s != '\0';
}

/* A scope of its own for one page's values, over the request's. */
static orgs_tmpl_vars_t *scope(const orgs_html_ctx_t *h)
{
    return orgs_tmpl_vars_make(h->vars, h->p);
}

static char *render(const orgs_html_ctx_t *h, const char *page, orgs_tmpl_vars_t *v)
{
    return orgs_pages_render(h->ps, page, h->lang, v, h->p);
}

const char *orgs_html_escape(const char *s, apr_pool_t *p)
{
    if (s == NULL) {
        return "";
    }
    apr_size_t extra = 0;
    for (const char *c = s; *c; c++) {
        switch (*c) {
        case '&':
            extra += 4; /* &amp; */
            break;
        case '<':
        case '>':
            extra += 3; /* &lt; &gt; */
            break;
        case '"':
            extra += 5; /* &quot; */
            break;
        case '\'':
            extra += 4; /* &#39; */
            break;
        default:
            break;
        }
    }
    if (extra == 0) {
        return s;
    }
    apr_size_t len = strlen(s);
    char *out = apr_palloc(p, len + extra + 1);
    char *d = out;
    for (const char *c = s; *c; c++) {
        const char *rep = NULL;
        switch (*c) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            *d++ = *c;
            continue;
        }
        apr_size_t n = strlen(rep);
        memcpy(d, rep, n);
        d += n;
    }
    *d = '\0';
    return out;
}

char *orgs_html_prompt_page(const orgs_html_ctx_t *h, const char *login_path, const char *return_to,
                            const char *error_key, const char *value)
{
    orgs_tmpl_vars_t *v = scope(h);
    orgs_tmpl_vars_set(v, "action", login_path);
    orgs_tmpl_vars_set(v, "return_to", return_to);
    orgs_tmpl_vars_set(v, "value", value);
    if (nonempty(error_key)) {
        /* a message key, or a text of the caller's own when it is none */
        const char *msg = orgs_pages_message(h->ps, h->lang, error_key, -1, v, h->p);
        orgs_tmpl_vars_set(v, "error", msg ? msg : error_key);
    }
    return render(h, "prompt", v);
}

char *orgs_html_chooser_page(const orgs_html_ctx_t *h, const char *login_path, const char *org_name,
                             const char *org_display_name, const orgs_html_conn_t *conns,
                             apr_size_t n, const char *return_to)
{
    orgs_tmpl_vars_t *v = scope(h);
    orgs_tmpl_vars_set(v, "org_label", nonempty(org_display_name) ? org_display_name : org_name);
    for (apr_size_t i = 0; conns && i < n; i++) {
        orgs_tmpl_vars_t *item = orgs_tmpl_vars_add(v, "conns");
        orgs_tmpl_vars_set(item, "name", conns[i].name);
        orgs_tmpl_vars_set(item, "label",
                           nonempty(conns[i].display_name) ? conns[i].display_name : conns[i].name);
        orgs_tmpl_vars_set(item, "href",
                           orgs_url_append_params(login_path, h->p, "organization", org_name,
                                                  "connection", conns[i].name, "return_to",
                                                  return_to, NULL));
    }
    return render(h, "chooser", v);
}

char *orgs_html_error_page(const orgs_html_ctx_t *h, const char *title, const char *code,
                           const char *description, const char *retry_url)
{
    orgs_tmpl_vars_t *v = scope(h);
    const char *key = apr_pstrcat(h->p, "error.code.", code ? code : "", NULL);
    const char *sentence = orgs_pages_message(h->ps, h->lang, key, -1, v, h->p);

    orgs_tmpl_vars_set(v, "title", nonempty(title) ? title : NULL);
    orgs_tmpl_vars_set(v, "code", code);
    orgs_tmpl_vars_set(
        v, "sentence",
        sentence ? sentence : orgs_pages_message(h->ps, h->lang, "error.code.other", -1, v, h->p));
    orgs_tmpl_vars_set(v, "description", description);
    if (orgs_url_return_to_check(retry_url, NULL) == APR_SUCCESS) {
        orgs_tmpl_vars_set(v, "retry_url", retry_url);
    }
    return render(h, "error", v);
}

char *orgs_html_confirm_page(const orgs_html_ctx_t *h, const char *form_id, const char *title_key,
                             const char *text_key, const char *action, const char *const *fields,
                             const char *button_key)
{
    orgs_tmpl_vars_t *v = scope(h);
    orgs_tmpl_vars_set(v, "form_id", form_id);
    orgs_tmpl_vars_set(v, "title", orgs_pages_message(h->ps, h->lang, title_key, -1, v, h->p));
    orgs_tmpl_vars_set(v, "text", orgs_pages_message(h->ps, h->lang, text_key, -1, v, h->p));
    orgs_tmpl_vars_set(v, "button", orgs_pages_message(h->ps, h->lang, button_key, -1, v, h->p));
    orgs_tmpl_vars_set(v, "action", action);
    for (const char *const *f = fields; f && f[0]; f += 2) {
        if (f[1]) {
            orgs_tmpl_vars_t *item = orgs_tmpl_vars_add(v, "fields");
            orgs_tmpl_vars_set(item, "name", f[0]);
            orgs_tmpl_vars_set(item, "value", f[1]);
        }
    }
    return render(h, "confirm", v);
}

char *orgs_html_denied_page(const orgs_html_ctx_t *h, const char *reason_key, long count,
                            const char *user, const char *needed, const char *since,
                            const char *switch_url, const char *logout_url)
{
    orgs_tmpl_vars_t *v = scope(h);
    const char *sentence;

    orgs_tmpl_vars_set(v, "user", user);
    orgs_tmpl_vars_set(v, "needed", needed);
    orgs_tmpl_vars_set(v, "since", since);
    orgs_tmpl_vars_set(v, "switch_url", switch_url);
    orgs_tmpl_vars_set(v, "logout_url", logout_url);
    sentence = orgs_pages_message(h->ps, h->lang, reason_key, count, v, h->p);
    orgs_tmpl_vars_set(v, "sentence",
                       sentence ? sentence
                                : orgs_pages_message(h->ps, h->lang, "denied.other", -1, v, h->p));
    return render(h, "denied", v);
}

char *orgs_html_signed_out_page(const orgs_html_ctx_t *h, const char *login_url)
{
    orgs_tmpl_vars_t *v = scope(h);
    orgs_tmpl_vars_set(v, "login_url", login_url);
    return render(h, "signed-out", v);
}

void orgs_html_switch_add(const orgs_html_ctx_t *h, const char *name, const char *href)
{
    orgs_tmpl_vars_t *item = orgs_tmpl_vars_add(h->vars, "sessions");
    int n = 0;
    orgs_tmpl_vars_set(item, "name", name);
    orgs_tmpl_vars_set(item, "href", href);
    const char *c = orgs_tmpl_vars_get(h->vars, "count");
    n = c ? atoi(c) : 0;
    orgs_tmpl_vars_set(h->vars, "count", apr_itoa(h->p, n + 1));
}

char *orgs_html_invite_page(const orgs_html_ctx_t *h, const char *login_path,
                            const orgs_html_invite_t *inv, const orgs_html_conn_t *conns,
                            apr_size_t n, const char *return_to)
{
    orgs_tmpl_vars_t *v = scope(h);
    orgs_tmpl_vars_set(v, "org_label",
                       nonempty(inv->org_display_name) ? inv->org_display_name : inv->org_name);
    orgs_tmpl_vars_set(v, "inviter", inv->inviter);
    orgs_tmpl_vars_set(v, "invitee", nonempty(inv->email) ? inv->email : NULL);
    for (apr_size_t i = 0; conns && i < n; i++) {
        orgs_tmpl_vars_t *item = orgs_tmpl_vars_add(v, "conns");
        orgs_tmpl_vars_set(item, "name", conns[i].name);
        orgs_tmpl_vars_set(item, "label",
                           nonempty(conns[i].display_name) ? conns[i].display_name : conns[i].name);
        orgs_tmpl_vars_set(item, "href",
                           orgs_url_append_params(login_path, h->p, "invitation", inv->ticket,
                                                  "organization", inv->org_name, "connection",
                                                  conns[i].name, "return_to", return_to, NULL));
    }
    return render(h, "invite", v);
}
