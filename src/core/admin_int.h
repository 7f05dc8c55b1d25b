/* What the admin API's files share (admin.c dispatches; admin_orgs.c,
 * admin_members.c and admin_conns.c serve the routes): the request
 * context, the answers, the body readers and the pages. Not public. */
#ifndef ORGS_ADMIN_INT_H
#define ORGS_ADMIN_INT_H

#include <apr_strings.h>

#include "admin.h"
#include "checks.h"
#include "json.h"

typedef struct adm_t {
    orgs_store_t *st;
    const orgs_admin_req_t *rq;
    orgs_admin_resp_t *rs;
    apr_pool_t *p;
    const char *arg[2]; /* the path's {…} segments, in order */
    orgs_err_t err;
} adm_t;

typedef void adm_fn(adm_t *a);

/* ---- answers (admin.c) */
/* status with body (taken); a NULL body from an out-of-memory builder is a 500. */
void adm_send(adm_t *a, int status, json_t *body);
/* An error answer with a formatted message. */
void adm_error(adm_t *a, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The store's rv as an answer (a->err's message): APR_EINVAL 400,
 * APR_NOTFOUND 404, APR_EEXIST 409, APR_ENOSPC 400, ORGS_ESTOREFULL 503,
 * else 500. */
void adm_fail(adm_t *a, apr_status_t rv);
/* The tail of a write: adm_fail(rv) on a failure, else status without a body. */
void adm_done(adm_t *a, apr_status_t rv, int status);
/* A 403 for an org admin reaching past its org, with the reason logged. */
void adm_deny(adm_t *a, const char *why);

/* ---- the org of the path (admin.c): found by id or name, and for an org
 * admin only its own (any other, existing or not, is 403). 0 when an
 * answer was sent. */
int adm_org(adm_t *a, const char *ref, orgs_org_t **out);

/* ---- bodies (admin.c): each sends a 400 and returns 0 on a bad one */
/* The body is an object whose members are all in allowed (NULL-ended). */
int adm_body_object(adm_t *a, const char *const *allowed);
/* obj (an object) has only members named in allowed; else a 400 naming the
 * first other one, as 'what.key' (what NULL: the body's, 'key'). */
int adm_known(adm_t *a, const json_t *obj, const char *const *allowed, const char *what);
/* Member key of obj: absent gives *out NULL; a non-string is a 400. */
int adm_str(adm_t *a, const json_t *obj, const char *key, const char **out);
/* Member key of obj: an array of strings (absent: *out NULL), at most max. */
int adm_strs(adm_t *a, const json_t *obj, const char *key, int max, apr_array_header_t **out);
/* Member key of obj: a boolean (absent: *out unchanged, *set 0). */
int adm_bool(adm_t *a, const json_t *obj, const char *key, int *out, int *set);
/* Member "metadata": an object of strings as orgs_kv_t (absent: NULL). */
int adm_meta(adm_t *a, const json_t *obj, apr_array_header_t **out);

/* ---- pages (admin.c) */
typedef struct adm_page_t {
    orgs_page_t pg;
    int checkpoint; /* from/take given: answer {key: [...], next} */
    int totals;     /* include_totals=true */
    apr_size_t per_page, page;
} adm_page_t;
/* Reads page, per_page, include_totals, from, take; 0 after a 400. */
int adm_page(adm_t *a, adm_page_t *pg);
/* The answer for one page of items (taken): a bare array, the totals
 * envelope {key, start, limit, total} or the checkpoint one {key, next}. */
void adm_page_send(adm_t *a, const adm_page_t *pg, const char *key, json_t *items, apr_size_t total,
                   const char *next);
/* A whole small list (taken) paged in memory; the checkpoint form is 400. */
void adm_list_send(adm_t *a, const char *key, json_t *all);

/* ---- shapes shared by the route files */
json_t *adm_json_org(const orgs_org_t *o);

/* ---- the routes */
/* admin_usage.c */
adm_fn adm_org_stats, adm_audit_list;
/* admin_orgs.c */
adm_fn adm_orgs_list, adm_org_create, adm_org_by_name, adm_org_get, adm_org_patch, adm_org_delete;
adm_fn adm_domains_list, adm_domain_add, adm_domain_delete;
adm_fn adm_econns_list, adm_econn_add, adm_econn_get, adm_econn_patch, adm_econn_delete;
/* admin_members.c */
adm_fn adm_members_list, adm_members_add, adm_members_remove;
adm_fn adm_roles_list, adm_roles_add, adm_roles_remove;
adm_fn adm_invites_list, adm_invite_create, adm_invite_get, adm_invite_delete;
/* admin_conns.c */
adm_fn adm_conns_list, adm_conn_create, adm_conn_get, adm_conn_patch, adm_conn_delete;
adm_fn adm_users_list, adm_user_get, adm_user_orgs;

#endif
