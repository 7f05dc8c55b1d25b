/* The callback's store changes in one write transaction: the pending
 * login consumed, the user upserted, admission decided (signin.c's rule),
 * the membership added by auto-membership, the old session ended and the
 * new one written. All or nothing, and one disk sync. Each step is the body
 * the single operation uses (orgs_store_user_login, _member_add,
 * _session_delete, _session_put), so the rules are the same. */
#include "json.h"
#include "signin.h"
#include "store_int.h"

/* Whether the connection's auto-membership admits this sign-in: no
 * condition, or one the ID token's claims (or the trusted email and the
 * org's domains) meet. */
static apr_status_t condition_met(orgs_store_t *st, MDB_txn *txn, const orgs_signin_t *in,
                                  const char *require, int *met, apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o = NULL;
    apr_status_t rv = APR_SUCCESS;
    if (require && strcmp(require, "email-domain") == 0) {
        rv = st_org_find(st, txn, in->org_id, &o, p, err);
    }
    *met = rv == APR_SUCCESS && orgs_signin_condition_met(require, (const json_t *)in->claims,
                                                          in->email, o ? o->domains : NULL);
    return rv;
}

/* The admitted user's new session (the browser's old one of the org ended)
 * and the day's sign-in count. */
static apr_status_t signin_session(orgs_store_t *st, MDB_txn *txn, orgs_signin_t *in,
                                   const orgs_user_t *u, apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv = APR_SUCCESS;
    if (in->old_sid_hash) {
        rv = st_session_erase_hash(st, txn, in->old_sid_hash, p, err);
        rv = rv == APR_NOTFOUND ? APR_SUCCESS : rv; /* ended already */
    }
    if (rv == APR_SUCCESS) {
        rv = st_quota_session(st, txn, in, err);
    }
    if (rv == APR_SUCCESS) {
        in->session.org_id = in->org_id;
        in->session.conn_id = in->conn_id;
        in->session.user_id = u->id;
        rv = st_session_put(st, txn, in->sid_hash, &in->session, p, err);
    }
    if (rv == APR_SUCCESS) {
        rv = st_stats_add(st, txn, in->org_id, ORGS_STATS_SIGNIN, in->now, err);
    }
    return rv;
}

/* The membership of the signed-in user, then the sessions. */
static apr_status_t signin_admit(orgs_store_t *st, MDB_txn *txn, orgs_signin_t *in,
                                 const orgs_user_t *u, int auto_membership, const char *require,
                                 int *admitted, apr_pool_t *p, orgs_err_t *err)
{
    orgs_member_t *m;
    int met = 1, is_member;
    apr_status_t rv = st_member_load(st, txn, in->org_id, u->id, &m, p, err);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        return rv;
    }
    is_member = rv == APR_SUCCESS;
    if (in->invite) {
        /* an invitation decides alone: accepted (a member now, with its
         * roles) or refused, whatever the membership or auto-membership */
        rv = st_invite_accept(st, txn, in, u, admitted, p, err);
        if (rv != APR_SUCCESS || *admitted != ORGS_ADMIT_INVITED) {
            return rv;
        }
        if (!is_member) {
            rv = st_stats_add(st, txn, in->org_id, ORGS_STATS_JOIN, in->now, err);
        }
        return rv == APR_SUCCESS ? signin_session(st, txn, in, u, p, err) : rv;
    }
    if (!is_member && auto_membership &&
        (rv = condition_met(st, txn, in, require, &met, p, err)) != APR_SUCCESS) {
        return rv;
    }
    if (!is_member && auto_membership && !met) {
        *admitted = ORGS_ADMIT_UNMET;
        return APR_SUCCESS; /* denied: no membership, no session */
    }
    *admitted = orgs_signin_admit(is_member, 1, auto_membership);
    if (*admitted == ORGS_ADMIT_JOINED) {
        rv = st_quota_join(st, txn, in, err);
        if (rv == APR_SUCCESS) {
            rv = st_member_insert(st, txn, in->org_id, u->id, NULL, in->now, p, err);
        }
        if (rv == APR_SUCCESS) {
            json_t *after = json_pack("{s:s}", "user_id", u->id);
            rv = st_audit_add(st, txn, "member.join", in->org_id, u->id, NULL, after, p, err);
        }
        if (rv == APR_SUCCESS) {
            rv = st_stats_add(st, txn, in->org_id, ORGS_STATS_JOIN, in->now, err);
        }
    } else if (*admitted == ORGS_ADMIT_MEMBER) {
        rv = APR_SUCCESS;
    } else {
        return APR_SUCCESS; /* denied: no membership, no session */
    }
    return rv == APR_SUCCESS ? signin_session(st, txn, in, u, p, err) : rv;
}

/* The sign-in of a login kept in the browser's cookie marked used, once
 * its outcome is known: the mark counts against the org when the user got
 * in, and against the org and connection together when not, each bounded
 * as an org's sessions are. So an org's own people, through its IdPs,
 * fill only its share, and sign-ins refused by an org (anyone with an
 * account at a connection it enables can make those) never hold its
 * members out, nor another org's refused ones. */
static apr_status_t signin_mark(orgs_store_t *st, MDB_txn *txn, orgs_signin_t *in, int admitted,
                                apr_pool_t *p, orgs_err_t *err)
{
    apr_interval_time_t life = in->ttl > 0 ? in->ttl : apr_time_from_sec(86400);
    apr_size_t cap = in->quota ? in->quota->sessions_per_org : 0;
    apr_status_t rv = st_pending_used_mark(
        st, txn, in->state, orgs_store_used_owner(in, admitted, p),
        in->sealed_created + life + ORGS_PENDING_USED_MARGIN, in->now, cap, p, err);
    if (rv == APR_ENOSPC) {
        in->over_quota = orgs_store_used_full(admitted);
    }
    return rv;
}

/* The sign-in's decision and writes, once its pending login is taken. */
static apr_status_t signin_decide(orgs_store_t *st, MDB_txn *txn, orgs_signin_t *in,
                                  orgs_user_t **user, int *admitted, apr_pool_t *p, orgs_err_t *err)
{
    int auto_membership = 0, created = 0;
    const char *require = NULL;
    apr_status_t rv =
        st_enable_load_cond(st, txn, in->org_id, in->conn_id, &auto_membership, &require, p, err);
    if (rv == APR_NOTFOUND) {
        *admitted = orgs_signin_admit(0, 0, 0); /* the pending login is consumed all the same */
        return st_stats_add(st, txn, in->org_id, ORGS_STATS_DENIAL, in->now, err);
    }
    if (rv == APR_SUCCESS) {
        rv = st_user_login(st, txn, in->conn_id, in->sub, in->email, in->name, in->now, user,
                           &created, p, err);
    }
    in->user_created = rv == APR_SUCCESS && created;
    if (in->user_created) {
        rv = st_quota_new_user(st, txn, in, in->conn_id, err);
    }
    if (rv == APR_SUCCESS) {
        rv = signin_admit(st, txn, in, *user, auto_membership, require, admitted, p, err);
    }
    if (rv == APR_SUCCESS && !orgs_signin_admitted(*admitted)) {
        rv = st_stats_add(st, txn, in->org_id, ORGS_STATS_DENIAL, in->now, err);
    }
    return rv;
}

apr_status_t st_signin_body(orgs_store_t *st, MDB_txn *txn, orgs_signin_t *in, orgs_user_t **user,
                            int *admitted, apr_pool_t *p, orgs_err_t *err)
{
    /* kept in the browser's cookie: marked used here, after the decision
     * (a capture's database marks it: PostgreSQL's pending_used) */
    int mark = in->sealed_created && !st->capture;
    apr_status_t rv = APR_SUCCESS;
    if (in->sealed_created) {
        if (in->ttl > 0 && in->now - in->sealed_created > in->ttl) {
            return orgs_err_set(err, ORGS_EEXPIRED, "pending login expired");
        }
        /* a replay is refused before anything is decided */
        rv = mark ? st_pending_used_check(st, txn, in->state, err) : APR_SUCCESS;
    } else if (!st_capture_pending_taken(st)) {
        rv = st_pending_consume(st, txn, in->state, in, p, err);
    }
    if (rv == APR_SUCCESS) {
        rv = signin_decide(st, txn, in, user, admitted, p, err);
    }
    if (rv == APR_SUCCESS && mark) {
        rv = signin_mark(st, txn, in, *admitted, p, err);
    }
    return rv;
}

apr_status_t orgs_store_signin_commit(orgs_store_t *st, orgs_signin_t *in, orgs_user_t **user,
                                      int *admitted, apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv;
    for (int again = 1;; again = 0) {
        *user = NULL;
        in->over_quota = ORGS_QUOTA_NONE;
        in->invite_refused = ORGS_INVITE_OK;
        in->invite_id = NULL;
        ST_WRITE_RV(rv, st, txn, err, st_signin_body(st, txn, in, user, admitted, p, err));
        if (rv == APR_SUCCESS) {
            return rv;
        }
        *user = NULL; /* nothing was written */
        /* a share of used marks full: expired ones the sign-ins' small
         * sweeps have not reached may fill it; more of them go in a
         * transaction of their own (one inside the refused sign-in would
         * be rolled back with it), then the sign-in once more */
        apr_size_t removed = 0;
        orgs_err_t serr = {{0}};
        if (!again || rv != APR_ENOSPC ||
            (in->over_quota != ORGS_QUOTA_SIGNINS_PER_ORG &&
             in->over_quota != ORGS_QUOTA_DENIALS_PER_CONN) ||
            orgs_store_pending_used_sweep(st, in->now, ST_USED_SWEEP_FULL, &removed, p, &serr) !=
                APR_SUCCESS ||
            !removed) {
            return rv;
        }
    }
}
