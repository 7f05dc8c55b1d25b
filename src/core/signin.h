/* The sign-in decisions of the callback, pure and httpd-free so unit tests
 * and fuzzers reach them: who is admitted to an org, which email is
 * trusted, which claims the session keeps. The glue (src/httpd/callback.c)
 * only sequences them; the store applies them in one write transaction
 * (orgs_store_signin_commit). */
#ifndef ORGS_SIGNIN_H
#define ORGS_SIGNIN_H

#include "orgs.h"

/* The outcome of admission for one user, one org, one connection. */
typedef enum orgs_admit_t {
    ORGS_ADMIT_MEMBER = 0,      /* already a member */
    ORGS_ADMIT_JOINED = 1,      /* made a member by the connection's auto-membership */
    ORGS_ADMIT_DENIED = 2,      /* not a member, and the connection does not add members */
    ORGS_ADMIT_NOT_ENABLED = 3, /* the connection is no longer enabled on the org */
} orgs_admit_t;

/* The admission rule (design.md): a member gets in; a non-member gets in
 * (and becomes a member) only through a connection the org enabled with
 * auto-membership; a connection the org no longer enables admits nobody,
 * not even its members. */
orgs_admit_t orgs_signin_admit(int is_member, int conn_enabled, int auto_membership);

/* Short text for logs. */
const char *orgs_signin_admit_str(orgs_admit_t a);

#endif
