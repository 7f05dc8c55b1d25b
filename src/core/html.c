#include <string.h>

#include <apr_strings.h>

#include "html.h"
#include "url.h"

/* One stylesheet for every page: no external resource, no script. */
static const char page_style[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;background:#f4f5f7;"
    "color:#1d2330;margin:0;display:flex;justify-content:center}"
    "main{background:#fff;margin-top:10vh;padding:2rem 2.5rem;border-radius:8px;"
    "box-shadow:0 2px 12px rgba(0,0,0,.08);width:100%;max-width:26rem}"
    "h1{font-size:1.35rem;margin:0 0 1.2rem}"
    "label{display:block;margin-bottom:.4rem;font-weight:600}"
    "input[type=text]{box-sizing:border-box;width:100%;padding:.6rem;font-size:1rem;"
    "border:1px solid #b8bfcc;border-radius:4px}"
    "button,a.conn,a#try-again{display:block;box-sizing:border-box;width:100%;margin-top:1rem;"
    "padding:.65rem;font-size:1rem;text-align:center;text-decoration:none;border:0;"
    "border-radius:4px;background:#2851c8;color:#fff;cursor:pointer}"
    "ul{list-style:none;padding:0;margin:0}"
    ".error{background:#fdecec;color:#8a1c1c;padding:.6rem;border-radius:4px}"
    "code{font-size:.95rem}";

/* Wraps body into a complete document; title and body are already safe. */
static char *page(const char *title, const char *body, apr_pool_t *p)
{
    return apr_pstrcat(p,
                       "<!DOCTYPE html>\n"
                       "<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                       "<meta name=\"referrer\" content=\"no-referrer\">\n"
                       "<meta name=\"robots\" content=\"noindex, nofollow\">\n"
                       "<title>",
                       title, "</title>\n<style>", page_style,
                       "</style>\n</head>\n<body>\n<main>\n", body, "</main>\n</body>\n</html>\n",
                       NULL);
}

static int nonempty(const char *s)
{
    return s != NULL && *s != '\0';
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

char *orgs_html_prompt_page(const char *login_path, const char *return_to, const char *error,
                            const char *value, apr_pool_t *p)
{
    const char *err_html = nonempty(error)
                               ? apr_pstrcat(p, "<p id=\"error\" class=\"error\" role=\"alert\">",
                                             orgs_html_escape(error, p), "</p>\n", NULL)
                               : "";
    const char *hidden = return_to ? apr_pstrcat(p,
                                                 "<input type=\"hidden\" name=\"return_to\" "
                                                 "value=\"",
                                                 orgs_html_escape(return_to, p), "\">\n", NULL)
                                   : "";
    const char *body = apr_pstrcat(
        p, "<h1>Sign in</h1>\n", err_html, "<form id=\"org-form\" method=\"get\" action=\"",
        orgs_html_escape(login_path, p), "\">\n",
        "<label for=\"org-input\">Organization name or work email</label>\n"
        "<input type=\"text\" id=\"org-input\" name=\"organization\" required autofocus "
        "autocomplete=\"organization\" autocapitalize=\"none\" spellcheck=\"false\" "
        "maxlength=\"254\" value=\"",
        orgs_html_escape(value, p), "\">\n", hidden,
        "<button id=\"continue\" type=\"submit\">Continue</button>\n</form>\n", NULL);
    return page("Sign in", body, p);
}

char *orgs_html_chooser_page(const char *login_path, const char *org_name,
                             const char *org_display_name, const orgs_html_conn_t *conns,
                             apr_size_t n, const char *return_to, apr_pool_t *p)
{
    const char *org_label =
        orgs_html_escape(nonempty(org_display_name) ? org_display_name : org_name, p);
    const char *list;
    if (n == 0 || conns == NULL) {
        list = "<p id=\"no-connections\" class=\"error\">No sign-in method is enabled for this "
               "organization.</p>\n";
    } else {
        list = "<ul id=\"connections\">\n";
        for (apr_size_t i = 0; i < n; i++) {
            const char *label =
                nonempty(conns[i].display_name) ? conns[i].display_name : conns[i].name;
            const char *href =
                orgs_url_append_params(login_path, p, "organization", org_name, "connection",
                                       conns[i].name, "return_to", return_to, NULL);
            list = apr_pstrcat(p, list, "<li><a class=\"conn\" data-conn=\"",
                               orgs_html_escape(conns[i].name, p), "\" href=\"",
                               orgs_html_escape(href, p), "\">", orgs_html_escape(label, p),
                               "</a></li>\n", NULL);
        }
        list = apr_pstrcat(p, list, "</ul>\n", NULL);
    }
    const char *body = apr_pstrcat(p, "<h1>Sign in to <span id=\"org-name\">", org_label,
                                   "</span></h1>\n", list, NULL);
    return page(apr_pstrcat(p, "Sign in to ", org_label, NULL), body, p);
}

char *orgs_html_error_page(const char *title, const char *code, const char *description,
                           const char *retry_url, apr_pool_t *p)
{
    const char *t = orgs_html_escape(nonempty(title) ? title : "Sign-in failed", p);
    const char *retry = "";
    if (orgs_url_return_to_check(retry_url, NULL) == APR_SUCCESS) {
        retry = apr_pstrcat(p, "<a id=\"try-again\" href=\"", orgs_html_escape(retry_url, p),
                            "\">Try again</a>\n", NULL);
    }
    const char *body =
        apr_pstrcat(p, "<h1>", t,
                    "</h1>\n<p class=\"error\">Error: <code "
                    "id=\"error-code\">",
                    orgs_html_escape(code, p), "</code></p>\n", "<p id=\"error-description\">",
                    orgs_html_escape(description, p), "</p>\n", retry, NULL);
    return page(t, body, p);
}

char *orgs_html_confirm_page(const char *form_id, const char *title, const char *text,
                             const char *action, const char *const *fields, const char *button,
                             apr_pool_t *p)
{
    const char *t = orgs_html_escape(title, p);
    const char *hidden = "";
    for (const char *const *f = fields; f && f[0]; f += 2) {
        if (f[1]) {
            hidden =
                apr_pstrcat(p, hidden, "<input type=\"hidden\" name=\"", orgs_html_escape(f[0], p),
                            "\" value=\"", orgs_html_escape(f[1], p), "\">\n", NULL);
        }
    }
    const char *body = apr_pstrcat(
        p, "<h1>", t, "</h1>\n<p id=\"confirm-text\">", orgs_html_escape(text, p), "</p>\n",
        "<form id=\"", orgs_html_escape(form_id, p), "\" method=\"post\" action=\"",
        orgs_html_escape(action, p), "\">\n", hidden, "<button id=\"confirm\" type=\"submit\">",
        orgs_html_escape(button, p), "</button>\n</form>\n", NULL);
    return page(t, body, p);
}

char *orgs_html_invite_page(const char *login_path, const orgs_html_invite_t *inv,
                            const orgs_html_conn_t *conns, apr_size_t n, const char *return_to,
                            apr_pool_t *p)
{
    const char *org_label = orgs_html_escape(
        nonempty(inv->org_display_name) ? inv->org_display_name : inv->org_name, p);
    const char *list = "<ul id=\"connections\">\n";
    for (apr_size_t i = 0; conns && i < n; i++) {
        const char *label = nonempty(conns[i].display_name) ? conns[i].display_name : conns[i].name;
        const char *href = orgs_url_append_params(login_path, p, "invitation", inv->ticket,
                                                  "organization", inv->org_name, "connection",
                                                  conns[i].name, "return_to", return_to, NULL);
        list =
            apr_pstrcat(p, list, "<li><a class=\"conn\" data-conn=\"",
                        orgs_html_escape(conns[i].name, p), "\" href=\"", orgs_html_escape(href, p),
                        "\">Accept with ", orgs_html_escape(label, p), "</a></li>\n", NULL);
    }
    list = apr_pstrcat(p, list, "</ul>\n", NULL);
    const char *body = apr_pstrcat(
        p, "<h1>Join <span id=\"org-name\">", org_label, "</span></h1>\n",
        "<p id=\"invitation\"><span id=\"inviter\">", orgs_html_escape(inv->inviter, p),
        "</span> invited ",
        nonempty(inv->email) ? apr_pstrcat(p, "<span id=\"invitee\">",
                                           orgs_html_escape(inv->email, p), "</span>", NULL)
                             : "you",
        " to join ", org_label, ". Sign in to accept.</p>\n", list, NULL);
    return page(apr_pstrcat(p, "Invitation to ", org_label, NULL), body, p);
}
