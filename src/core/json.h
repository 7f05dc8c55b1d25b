/* One JSON shape per stored object, the same wherever an object leaves or
 * enters as JSON: `orgctl --json`, export/import and the admin API. The
 * names follow the Auth0 Management API where it has one (`id`, `name`,
 * `display_name`, `metadata`, `domains`, `created_at`).
 *
 *   org     {"id", "name", "display_name", "metadata": {K: V}, "domains": [..],
 *            "created_at", "updated_at", "branding": {"logo_url", "colors":
 *            {"primary", "page_background"}} only when one is set}
 *   conn    {"id", "name", "display_name", "issuer", "client_id",
 *            "client_secret_set": true, "scopes", "auth_method",
 *            "created_at", "updated_at"}          never the client secret
 *   enabled {"connection_id", "name", "display_name", "auto_membership"}
 *           (a connection as enabled on an org)
 *   user    {"id", "connection_id", "sub", "email", "name", "created_at",
 *            "last_login"}
 *   member  {"org_id", "user_id", "roles": [..], "created_at"}
 *   invite  {"id", "org_id", "email", "roles": [..], "created_at", "expires_at"}
 *
 * Times are RFC 3339 UTC strings, "2025-01-10T09:12:44Z", with the
 * microseconds as a fraction when there are any ("…:44.000120Z"), so no
 * precision is lost; 0 ("never") is null. Optional strings (a user's sub,
 * email and name) are null when absent.
 *
 * Ownership follows jansson: every orgs_json_<object>() returns a new
 * reference that the caller owns (hand it to json_object_set_new /
 * json_array_append_new, or json_decref it); NULL only when out of memory.
 *
 * orgs_json_<object>_from() reads one object of the same shape back into
 * the store's struct, its strings copied into p (they outlive j). Every
 * member the shape lists is required (null where null is allowed above);
 * a wrong type, a malformed time or a member the shape does not know is
 * refused, so a typo in a hand-edited file never drops a value silently.
 * A caller that wraps the object in an envelope of its own (a "type" per
 * export line, say) names those members in `extra` (NULL-terminated, or
 * NULL for none) and reads them itself. Only the shape is checked here:
 * the value rules (names, domains, roles…) are the store's, on insert.
 * Returns APR_SUCCESS, or APR_EINVAL with the member at fault in err. */
#ifndef ORGS_JSON_H
#define ORGS_JSON_H

#include <jansson.h>

#include "orgs.h"
#include "store.h"

json_t *orgs_json_org(const orgs_org_t *o);
json_t *orgs_json_conn(const orgs_conn_t *cn);
json_t *orgs_json_enabled_conn(const orgs_enabled_conn_t *e);
json_t *orgs_json_user(const orgs_user_t *u);
json_t *orgs_json_member(const orgs_member_t *m);
json_t *orgs_json_invite(const orgs_invite_t *inv);
/* An audit record: before/after as the objects they hold (null when none). */
json_t *orgs_json_audit(const orgs_audit_t *a);
/* An org's usage over `days` days: totals and per_day [{day, signins,
 * denials, joins}] (orgctl org stats --json, GET /organizations/{id}/stats). */
json_t *orgs_json_org_stats(const orgs_org_stats_t *s, unsigned days);

apr_status_t orgs_json_org_from(const json_t *j, const char *const *extra, orgs_org_t **out,
                                apr_pool_t *p, orgs_err_t *err);
/* Leaves client_secret NULL: a secret never travels in this shape. */
apr_status_t orgs_json_conn_from(const json_t *j, const char *const *extra, orgs_conn_t **out,
                                 apr_pool_t *p, orgs_err_t *err);
apr_status_t orgs_json_enabled_conn_from(const json_t *j, const char *const *extra,
                                         orgs_enabled_conn_t **out, apr_pool_t *p, orgs_err_t *err);
apr_status_t orgs_json_user_from(const json_t *j, const char *const *extra, orgs_user_t **out,
                                 apr_pool_t *p, orgs_err_t *err);
apr_status_t orgs_json_member_from(const json_t *j, const char *const *extra, orgs_member_t **out,
                                   apr_pool_t *p, orgs_err_t *err);
apr_status_t orgs_json_invite_from(const json_t *j, const char *const *extra, orgs_invite_t **out,
                                   apr_pool_t *p, orgs_err_t *err);

/* The building blocks, for objects that join several (orgctl's `org show`
 * adds the enabled connections to an org): a time as above (new reference,
 * null for 0), and its reverse (APR_EINVAL on anything but that syntax or a
 * date that does not exist; null gives 0). */
json_t *orgs_json_time(apr_time_t t);
apr_status_t orgs_json_time_from(const json_t *j, apr_time_t *out);

#endif
