/* Branding values, the site's (OrgsBrandLogo) and an org's (logo_url,
 * colors): the rules they follow and what a page derives from them.
 * A logo is an https URL or a base64 data: URL of a raster or SVG image,
 * so it can only ever be an image: the page's CSP allows img-src for that
 * one origin (or data:) and nothing else. A colour is #rrggbb, so it cannot
 * carry CSS of its own into the page's style. */
#ifndef ORGS_BRAND_H
#define ORGS_BRAND_H

#include "orgs.h"

/* bytes: an https URL; a data: URL (read with the org on each request) */
#define ORGS_BRAND_LOGO_URL_MAX 2048
#define ORGS_BRAND_LOGO_DATA_MAX 16384

/* An https URL (orgs_url_absolute_check, no loopback http) of at most
 * ORGS_BRAND_LOGO_URL_MAX bytes, or "data:image/{png,gif,jpeg,webp,svg+xml};base64,"
 * followed by base64 of at most ORGS_BRAND_LOGO_DATA_MAX bytes in all. */
apr_status_t orgs_brand_logo_check(const char *url, orgs_err_t *err);

/* "#" and six hex digits. */
apr_status_t orgs_brand_color_check(const char *color, orgs_err_t *err);

/* What the CSP's img-src must allow for a checked logo: "data:" or the
 * URL's origin ("https://cdn.example.com", with its port when given). */
const char *orgs_brand_csp_source(const char *url, apr_pool_t *p);

/* The text colour readable on background color (a checked #rrggbb):
 * "#000000" or "#ffffff", whichever contrasts more (WCAG relative
 * luminance), so a button in any org colour keeps a 4.5:1 label. */
const char *orgs_brand_text_color(const char *color);

#endif
