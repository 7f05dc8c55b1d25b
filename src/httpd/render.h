/* [glue] What a request's pages are rendered with (html.h's context):
 * the language (OrgsLanguage, else Accept-Language), a fresh CSP nonce for
 * the page's style, the site's branding (OrgsBrandName, OrgsBrandLogo) and,
 * once the org is known, the org's (its logo and colours, never another
 * org's); and the org switcher's list. orgs_endpoints_page_send reads the
 * context back to write the page's Content-Security-Policy. */
#ifndef ORGS_RENDER_H
#define ORGS_RENDER_H

#include <httpd.h>

#include "html.h"
#include "store.h"
#include "endpoints.h"

/* The context for this request's page; org NULL: the site's branding. */
orgs_html_ctx_t *orgs_render_ctx(request_rec *r, const orgs_org_t *org);

/* Lists in h the other organizations this browser holds a session cookie
 * of (not except), each a link to the switch endpoint going back to
 * return_to. Only names: /switch checks the session before it switches. */
void orgs_render_switcher(request_rec *r, const orgs_html_ctx_t *h, const char *except,
                          const char *return_to);

/* Answers the prompt page with status: the message error_key above the
 * field (NULL: none) and value in it. A context made before (with values
 * of its own, such as an invitation's invited_by and invited_org) is kept. */
int orgs_render_prompt(orgs_route_t *c, int status, const char *error_key, const char *value);

/* The Content-Security-Policy of the page rendered with h (NULL: a page
 * with no nonce, allowed inline style). */
const char *orgs_render_csp(request_rec *r, const orgs_html_ctx_t *h);

#endif
