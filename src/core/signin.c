/* The sign-in decisions (see signin.h). */
#include "signin.h"

orgs_admit_t orgs_signin_admit(int is_member, int conn_enabled, int auto_membership)
{
    if (!conn_enabled) {
        return ORGS_ADMIT_NOT_ENABLED;
    }
    if (is_member) {
        return ORGS_ADMIT_MEMBER;
    }
    return auto_membership ? ORGS_ADMIT_JOINED : ORGS_ADMIT_DENIED;
}

const char *orgs_signin_admit_str(orgs_admit_t a)
{
    switch (a) {
    case ORGS_ADMIT_MEMBER:
        return "member";
    case ORGS_ADMIT_JOINED:
        return "joined by auto-membership";
    case ORGS_ADMIT_DENIED:
        return "not a member";
    case ORGS_ADMIT_NOT_ENABLED:
        return "connection no longer enabled on the org";
    }
    return "?";
}
