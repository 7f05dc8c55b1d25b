/* HTML escaping and the module's own pages: what each page is given. Each
 * builder renders its template of the page set (pages.h) into a complete
 * HTML5 document (UTF-8, one inline <style> carrying the nonce of the
 * page's CSP, no script, no external resource but the logo) allocated in
 * h->p; every value is escaped by the template engine. The element ids /
 * classes below are a stable contract for browser tests and templates. */
#ifndef ORGS_HTML_H
#define ORGS_HTML_H

#include "orgs.h"
#include "pages.h"
#include "tmpl.h"

/* Escapes & < > " ' as &amp; &lt; &gt; &quot; &#39; so the result is safe in
 * element text and in double- or single-quoted attribute values. NULL gives
 * "". Returns s itself (not a copy) when nothing needs escaping. */
const char *orgs_html_escape(const char *s, apr_pool_t *p);

/* What every page is rendered with: the page set, the language chosen
 * for the request, and the values common to the request's pages (the
 * style's nonce, the site's and the org's branding: see docs/pages.md);
 * each builder adds its own values in a scope of its own. */
typedef struct orgs_html_ctx_t {
    const orgs_pages_t *ps;
    const char *lang;
    orgs_tmpl_vars_t *vars;
    apr_pool_t *p;
} orgs_html_ctx_t;

/* The prompt page: a GET form to login_path (e.g. "/orgs/login") asking for
 * "Organization name or work email".
 *   <form id="org-form" method="get" action="LOGIN_PATH">
 *     <input id="org-input" name="organization" ...>
 *     <input type="hidden" name="return_to" value="RETURN_TO"> (when not NULL)
 *     <button id="continue" type="submit">
 * error_key (may be NULL) names the message shown above the field in
 * <p id="error" role="alert">; value (may be NULL) pre-fills the input
 * (what the user typed last). */
char *orgs_html_prompt_page(const orgs_html_ctx_t *h, const char *login_path, const char *return_to,
                            const char *error_key, const char *value);

/* One choice on the chooser page. display_name NULL or "" shows name. */
typedef struct orgs_html_conn_t {
    const char *name;
    const char *display_name;
} orgs_html_conn_t;

/* The connection chooser: the org's display name (NULL or "" shows
 * org_name) in <p id="org-name">, then for each of the n connections a link
 *   <a class="conn" data-conn="NAME"
 *      href="LOGIN_PATH?organization=ORG&connection=NAME&return_to=RT">DISPLAY</a>
 * (query values percent-encoded, return_to left out when NULL). n == 0
 * shows a "no connection" notice in <p id="no-connections">. */
char *orgs_html_chooser_page(const orgs_html_ctx_t *h, const char *login_path, const char *org_name,
                             const char *org_display_name, const orgs_html_conn_t *conns,
                             apr_size_t n, const char *return_to);

/* The error page: <h1> title (NULL: "Sign-in failed"), a sentence for the
 * code in <p id="error-sentence">, the description in
 * <p id="error-description">, the code (e.g. "access_denied") in <code
 * id="error-code">, and <a id="try-again" href="RETRY_URL">Try again</a>
 * only when retry_url passes orgs_url_return_to_check (a local URL). */
char *orgs_html_error_page(const orgs_html_ctx_t *h, const char *title, const char *code,
                           const char *description, const char *retry_url);

/* A page asking the user to confirm an action this site did not start
 * (a sign-in or a sign-out asked for by another site): the messages
 * title_key, text_key (placeholders from h->vars) and one button
 * (button_key) posting the hidden fields (name, value pairs, NULL
 * terminated; a NULL value is left out) to action, in <form id=FORM_ID>. */
char *orgs_html_confirm_page(const orgs_html_ctx_t *h, const char *form_id, const char *title_key,
                             const char *text_key, const char *action, const char *const *fields,
                             const char *button_key);

/* The authorization denial of a signed-in user: the message reason_key
 * ("denied.role", plural by count for a list) about org_label, user and
 * needed, in <p id="denied-text">; since (may be NULL) when the session
 * began; <a id="switch-org"> to switch_url, <a id="sign-out"> to logout_url. */
char *orgs_html_denied_page(const orgs_html_ctx_t *h, const char *reason_key, long count,
                            const char *user, const char *needed, const char *since,
                            const char *switch_url, const char *logout_url);

/* "You are signed out" (of h's org_label when set), with
 * <a id="sign-in-again" href="LOGIN_URL">. */
char *orgs_html_signed_out_page(const orgs_html_ctx_t *h, const char *login_url);

/* The other organizations this browser holds sessions of, shown by the
 * pages that have the switcher: adds name to the list with the link href. */
void orgs_html_switch_add(const orgs_html_ctx_t *h, const char *name, const char *href);

/* What the invitation page says: the org (display name, NULL or "" shows
 * the name), who invited (free text) and whom (NULL: "you"), and the
 * ticket its links carry. */
typedef struct orgs_html_invite_t {
    const char *org_name;
    const char *org_display_name;
    const char *inviter;
    const char *email;
    const char *ticket;
} orgs_html_invite_t;

/* The invitation page (template invite.html): "Join ORG", the sentence in
 * <p id="invitation">, the inviter (<span id="inviter">) and the invitee
 * (<span id="invitee">), then the org's connections as on the chooser
 * (<ul id="connections">, <a class="conn" data-conn="NAME">) whose links add
 * invitation=TICKET to the chooser's query. Every value is escaped. */
char *orgs_html_invite_page(const orgs_html_ctx_t *h, const char *login_path,
                            const orgs_html_invite_t *inv, const orgs_html_conn_t *conns,
                            apr_size_t n, const char *return_to);

#endif
