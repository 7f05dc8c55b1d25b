/* The admin REST API without httpd: its route table, who may call what,
 * the request bodies it accepts and the JSON it answers, shaped like the
 * Auth0 Management API (docs/admin-api.md). The glue (src/httpd/admin.c)
 * reads the request (method, path under the API's location, query, a
 * bounded and parsed JSON body), says who the caller is, and writes back
 * the status, the Allow header and the body this returns.
 *
 * Errors are {"statusCode", "error", "message"}: 400 a bad field, 403 a
 * caller not allowed, 404, 405 (with Allow), 409 a name or domain taken or
 * an org at its bound of open invitations,
 * 500/503 a store failure. Every write is one store transaction. */
#ifndef ORGS_ADMIN_H
#define ORGS_ADMIN_H

#include <jansson.h>

#include <apr_tables.h>

#include "orgs.h"
#include "store.h"

/* Largest request body the API reads (the glue answers 413 past it). */
#define ORGS_ADMIN_BODY_MAX (256 * 1024)
/* Entries per page: the default and the most a caller may ask for. */
#define ORGS_ADMIN_PER_PAGE 50
#define ORGS_ADMIN_PER_PAGE_MAX 100
/* Users one members request may add or remove. */
#define ORGS_ADMIN_MEMBERS_MAX 1000
/* The role an org's own admin must hold (Require org-role admin). */
#define ORGS_ADMIN_ROLE "admin"

typedef enum {
    ORGS_ADMIN_NOBODY = 0,
    ORGS_ADMIN_OPERATOR, /* authenticated by other httpd means and allowed by Require: all */
    ORGS_ADMIN_TOKEN,    /* a bearer token (orgctl token create): all, per its scopes */
    ORGS_ADMIN_ORG,      /* a signed-in admin of one org: that org's members, roles and
                            invitations, nothing else */
} orgs_admin_kind_t;

typedef struct orgs_admin_caller_t {
    orgs_admin_kind_t kind;
    const char *who;    /* token id, user id or the authenticated user: for the logs */
    const char *org_id; /* ORGS_ADMIN_ORG: the one org it may see */
    int can_read;       /* ORGS_ADMIN_TOKEN: scope "read"; 1 for the others */
    int can_write;      /* ORGS_ADMIN_TOKEN: scope "write"; 1 for the others */
} orgs_admin_caller_t;

typedef struct orgs_admin_req_t {
    const char *method; /* "GET", "POST", "PATCH", "DELETE" (HEAD is the glue's GET) */
    const char *path;   /* under the API's location: "/organizations/org_x/members" */
    apr_table_t *query; /* decoded query parameters (orgs_url_query_parse), may be NULL */
    const json_t *body; /* the parsed body, NULL when none was sent */
    orgs_admin_caller_t caller;
    const char *from;      /* the client's address, for the audit log; may be NULL */
    const char *login_url; /* the module's /login, absolute: invitation URLs start there */
} orgs_admin_req_t;

typedef struct orgs_admin_resp_t {
    int status;
    json_t *body;       /* new reference the caller releases; NULL: no body (204) */
    const char *allow;  /* 405: the methods of the path */
    const char *denied; /* 403: why, for the log line */
    const char *failed; /* 5xx: the store's message, for the log line */
    const char *capped; /* 409 at a per-org bound (open invitations): why, for the log */
    int write;          /* the request was a change (audit and logs) */
} orgs_admin_resp_t;

/* Answers one request. Never fails: every outcome is a status and a body. */
void orgs_admin_handle(orgs_store_t *st, const orgs_admin_req_t *rq, orgs_admin_resp_t *rs,
                       apr_pool_t *p);

/* The error body {statusCode, error, message} (new reference). */
json_t *orgs_admin_error(int status, const char *message);
/* The reason phrase of a status the API answers ("Not Found"). */
const char *orgs_admin_reason(int status);

/* Where the API's own path starts in uri when the location it is served
 * under is not known: the leftmost '/' from which the rest is one of the
 * routes' paths (the routes start with /organizations, /connections or
 * /users); uri itself when none is. */
const char *orgs_admin_path_in(const char *uri, apr_pool_t *p);

/* The route table, for tools and tests (the OpenAPI check): row i's
 * method and path pattern ("/organizations/{id}/members"); 0 past the end. */
int orgs_admin_route(apr_size_t i, const char **method, const char **pattern, int *org_admin);

#endif
