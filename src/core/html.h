/* HTML escaping and the module's own pages: the organization prompt, the
 * connection chooser and the error page. Each builder returns a complete
 * HTML5 document (UTF-8, one small inline <style>, no script, no external
 * resource) allocated in p; every caller-supplied string is escaped. The
 * element ids / classes below are a stable contract for browser tests. */
#ifndef ORGS_HTML_H
#define ORGS_HTML_H

#include "orgs.h"

/* Escapes & < > " ' as &amp; &lt; &gt; &quot; &#39; so the result is safe in
 * element text and in double- or single-quoted attribute values. NULL gives
 * "". Returns s itself (not a copy) when nothing needs escaping. */
const char *orgs_html_escape(const char *s, apr_pool_t *p);

/* The prompt page: a GET form to login_path (e.g. "/orgs/login") asking for
 * "Organization name or work email".
 *   <form id="org-form" method="get" action="LOGIN_PATH">
 *     <input id="org-input" name="organization" ...>
 *     <input type="hidden" name="return_to" value="RETURN_TO"> (when not NULL)
 *     <button id="continue" type="submit">
 * error (may be NULL) is shown above the field in <p id="error" role="alert">;
 * value (may be NULL) pre-fills the input (what the user typed last). */
char *orgs_html_prompt_page(const char *login_path, const char *return_to, const char *error,
                            const char *value, apr_pool_t *p);

/* One choice on the chooser page. display_name NULL or "" shows name. */
typedef struct orgs_html_conn_t {
    const char *name;
    const char *display_name;
} orgs_html_conn_t;

/* The connection chooser: heading with the org's display name (NULL or ""
 * shows org_name), then for each of the n connections a link
 *   <a class="conn" data-conn="NAME"
 *      href="LOGIN_PATH?organization=ORG&connection=NAME&return_to=RT">DISPLAY</a>
 * (query values percent-encoded, return_to left out when NULL). login_path is
 * the login endpoint, e.g. "/orgs/login". n == 0 shows a "no connection"
 * notice in <p id="no-connections">. */
char *orgs_html_chooser_page(const char *login_path, const char *org_name,
                             const char *org_display_name, const orgs_html_conn_t *conns,
                             apr_size_t n, const char *return_to, apr_pool_t *p);

/* The error page: <h1> title (NULL: "Sign-in failed"), the code (e.g.
 * "access_denied") in <code id="error-code">, the description in
 * <p id="error-description">, and <a id="try-again" href="RETRY_URL">Try
 * again</a> only when retry_url passes orgs_url_return_to_check (a local
 * URL); otherwise the link is left out. */
char *orgs_html_error_page(const char *title, const char *code, const char *description,
                           const char *retry_url, apr_pool_t *p);

/* A page asking the user to confirm an action this site did not start
 * (a sign-in or a sign-out asked for by another site): title, a sentence,
 * and one button posting the hidden fields (name, value pairs, NULL
 * terminated; a NULL value is left out) to action. Every text is escaped. */
char *orgs_html_confirm_page(const char *form_id, const char *title, const char *text,
                             const char *action, const char *const *fields, const char *button,
                             apr_pool_t *p);

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

/* The invitation page: <h1> "Join ORG" (ORG in <span id="org-name">), a
 * sentence in <p id="invitation"> naming the inviter (<span id="inviter">)
 * and the invitee (<span id="invitee">), then the org's connections as on
 * the chooser (<ul id="connections">, <a class="conn" data-conn="NAME">)
 * whose links add invitation=TICKET to the chooser's query. Every text is
 * escaped. */
char *orgs_html_invite_page(const char *login_path, const orgs_html_invite_t *inv,
                            const orgs_html_conn_t *conns, apr_size_t n, const char *return_to,
                            apr_pool_t *p);

#endif
