/* Unit tests for src/core/store/invite.c: invitations, their tickets, and
 * their acceptance in the sign-in's transaction. */
#include "fixture.h"
#include "signin.h"

#define STATE "state-invite-0123456789"
#define TTL apr_time_from_sec(600)

START_TEST(invites)
{
    orgs_store_t *st = open_store();
    orgs_invite_t inv = {0};
    apr_array_header_t *list;
    apr_time_t now = apr_time_now();
    const char *o = mk_org(st, "org1", NULL);
    inv.org_id = "org1";
    inv.email = "new@Example.com";
    inv.roles = strs(1, "admin");
    inv.expires = now + apr_time_from_sec(86400);
    ck_assert_int_eq(orgs_store_invite_create(st, &inv, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(strncmp(inv.id, "inv_", 4), 0);
    ck_assert_int_eq(orgs_store_invite_list(st, o, &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(list, 0, orgs_invite_t *)->email, "new@example.com");
    ck_assert_str_eq(APR_ARRAY_IDX(list, 0, orgs_invite_t *)->org_id, o);
    assert_clean(st);
    ck_assert_int_eq(orgs_store_invite_revoke(st, inv.id, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_invite_revoke(st, inv.id, pool, &err), APR_NOTFOUND);
    inv.email = "bad";
    ck_assert_int_eq(orgs_store_invite_create(st, &inv, pool, &err), APR_EINVAL);
    inv.email = "a@example.com";
    inv.expires = 1;
    inv.created = 0;
    ck_assert_int_eq(orgs_store_invite_create(st, &inv, pool, &err), APR_EINVAL);
    inv.org_id = "nope";
    inv.expires = now + 100000000;
    ck_assert_int_eq(orgs_store_invite_create(st, &inv, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_invite_list(st, "org1", &list, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(list->nelts, 0);
    assert_clean(st);
}
END_TEST

START_TEST(tickets)
{
    orgs_store_t *st = open_store();
    orgs_invite_t inv = {0}, *got;
    apr_time_t now = apr_time_now();
    mk_org(st, "org1", NULL);
    inv.org_id = "org1";
    inv.email = "a@example.com";
    orgs_store_actor_set(st, "orgctl:tester", "shell");
    ck_assert_int_eq(orgs_store_invite_create(st, &inv, pool, &err), APR_SUCCESS);
    orgs_store_actor_clear(st);
    /* default lifetime, inviter from the actor, a ticket apart from the id */
    ck_assert(inv.expires - inv.created == ORGS_INVITE_TTL_DEFAULT);
    ck_assert_str_eq(inv.inviter, "orgctl:tester");
    ck_assert_int_eq(strlen(inv.ticket), 43);
    ck_assert_ptr_null(strstr(inv.ticket, inv.id + 4));
    ck_assert_str_eq(inv.ticket_hash, orgs_store_invite_ticket_hash(inv.ticket, pool));
    ck_assert_int_eq(orgs_store_invite_by_ticket(st, inv.ticket_hash, now, &got, pool, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(got->id, inv.id);
    ck_assert_str_eq(got->inviter, "orgctl:tester");
    /* the ticket itself is no key: only its hash is */
    ck_assert_int_eq(orgs_store_invite_by_ticket(st, inv.ticket, now, &got, pool, &err),
                     APR_NOTFOUND);
    ck_assert_int_eq(
        orgs_store_invite_by_ticket(st, inv.ticket_hash, inv.expires + 1, &got, pool, &err),
        ORGS_EEXPIRED);
    ck_assert_ptr_null(orgs_store_invite_ticket_hash("", pool));
    ck_assert_ptr_null(orgs_store_invite_ticket_hash(NULL, pool));
    ck_assert_str_eq(orgs_store_invite_url(NULL, "T", "org1", pool),
                     "/orgs/login?invitation=T&organization=org1");
    ck_assert_int_eq(orgs_store_invite_get(st, inv.id, &got, pool, &err), APR_SUCCESS);
    /* at most 30 days */
    orgs_invite_t longer = {0};
    longer.org_id = "org1";
    longer.email = "b@example.com";
    longer.created = now;
    longer.expires = now + ORGS_INVITE_TTL_MAX + 1;
    ck_assert_int_eq(orgs_store_invite_create(st, &longer, pool, &err), APR_EINVAL);
    longer.expires = now + ORGS_INVITE_TTL_MAX;
    ck_assert_int_eq(orgs_store_invite_create(st, &longer, pool, &err), APR_SUCCESS);
    assert_clean(st);
    /* revoked: its ticket no longer answers */
    ck_assert_int_eq(orgs_store_invite_revoke(st, inv.id, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_invite_by_ticket(st, inv.ticket_hash, now, &got, pool, &err),
                     APR_NOTFOUND);
    /* the org's deletion takes the rest, ticket index included */
    ck_assert_int_eq(orgs_store_org_delete(st, "org1", pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_invite_by_ticket(st, longer.ticket_hash, now, &got, pool, &err),
                     APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

/* ---- acceptance at sign-in ------------------------------------------- */

typedef struct {
    orgs_store_t *st;
    const char *org, *other, *conn;
    apr_time_t now;
    unsigned char sid[32];
} world_t;

static world_t world(int auto_membership)
{
    world_t w = {open_store(), NULL, NULL, NULL, apr_time_now(), {0}};
    w.org = mk_org(w.st, "acme", NULL);
    w.other = mk_org(w.st, "other", NULL);
    w.conn = mk_conn(w.st, "idp", NULL);
    ck_assert_int_eq(orgs_store_org_enable_conn(w.st, w.org, w.conn, auto_membership, pool, &err),
                     APR_SUCCESS);
    return w;
}

static orgs_invite_t invite(world_t *w, const char *org, const char *email, apr_time_t expires)
{
    orgs_invite_t inv = {0};
    inv.org_id = org;
    inv.email = email;
    inv.roles = strs(2, "viewer", "billing");
    inv.created = w->now - apr_time_from_sec(10);
    inv.expires = expires;
    ck_assert_int_eq(orgs_store_invite_create(w->st, &inv, pool, &err), APR_SUCCESS);
    return inv;
}

/* The tenant bounds the sign-ins below apply, and the status they expect. */
static const orgs_store_quota_t *quota;
static apr_status_t expect = APR_SUCCESS;

/* A pending login carrying the ticket's hash, then the commit of a sign-in
 * with email (verified or not); *admitted and the input back. */
static orgs_signin_t sign_in(world_t *w, const char *ticket_hash, const char *sub,
                             const char *email, int verified, int *admitted)
{
    orgs_pending_t pl = {0};
    orgs_signin_t in = {0};
    orgs_user_t *u;
    pl.state = STATE;
    memset(pl.browser, 1, sizeof(pl.browser));
    pl.nonce = "nonce-1";
    pl.code_verifier = "verifier-1";
    pl.org_id = w->org;
    pl.conn_id = w->conn;
    pl.created = w->now;
    pl.invite = ticket_hash;
    ck_assert_int_eq(orgs_store_pending_put(w->st, &pl, 0, TTL, pool, &err), APR_SUCCESS);
    unsigned char mac[32];
    orgs_pending_t *got;
    memset(mac, 1, sizeof(mac));
    ck_assert_int_eq(orgs_store_pending_get(w->st, STATE, mac, w->now, TTL, &got, pool, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(got->invite ? got->invite : "", ticket_hash ? ticket_hash : "");
    in.state = STATE;
    in.org_id = w->org;
    in.conn_id = w->conn;
    in.sub = sub;
    in.email = email;
    in.email_verified = verified;
    in.invite = got->invite;
    static int n;
    hash_of(apr_psprintf(pool, "%s-%d", sub, n++), w->sid); /* a new session each time */
    in.sid_hash = w->sid;
    in.session.created = in.session.last_seen = w->now;
    in.session.expires = w->now + apr_time_from_sec(3600);
    in.now = w->now;
    in.quota = quota;
    ck_assert_int_eq(orgs_store_signin_commit(w->st, &in, &u, admitted, pool, &err), expect);
    return in;
}

static orgs_member_t *member_of(world_t *w, const char *sub)
{
    orgs_user_t *u;
    orgs_member_t *m;
    if (orgs_store_user_by_sub(w->st, w->conn, sub, &u, pool, &err) != APR_SUCCESS ||
        orgs_store_member_get(w->st, w->org, u->id, &m, pool, &err) != APR_SUCCESS) {
        return NULL;
    }
    return m;
}

START_TEST(accept_without_auto_membership)
{
    world_t w = world(0);
    orgs_invite_t inv = invite(&w, w.org, "bob@partner.example", w.now + TTL);
    int admitted = -1;
    orgs_store_actor_set(w.st, "invitation:idp", "127.0.0.1");
    orgs_signin_t in = sign_in(&w, inv.ticket_hash, "sub-bob", "bob@partner.example", 1, &admitted);
    orgs_store_actor_clear(w.st);
    ck_assert_int_eq(admitted, ORGS_ADMIT_INVITED);
    ck_assert_str_eq(in.invite_id, inv.id);
    orgs_member_t *m = member_of(&w, "sub-bob");
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m->roles->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(m->roles, 0, const char *), "billing");
    /* single use: gone, ticket and all */
    orgs_invite_t *got;
    ck_assert_int_eq(orgs_store_invite_get(w.st, inv.id, &got, pool, &err), APR_NOTFOUND);
    /* replayed: refused, nothing written */
    in = sign_in(&w, inv.ticket_hash, "sub-bob2", "bob@partner.example", 1, &admitted);
    ck_assert_int_eq(admitted, ORGS_ADMIT_INVITE_REFUSED);
    ck_assert_int_eq(in.invite_refused, ORGS_INVITE_UNKNOWN);
    ck_assert_ptr_null(member_of(&w, "sub-bob2"));
    /* the acceptance is audited with the actor */
    orgs_audit_query_t q = {0};
    apr_array_header_t *recs;
    const char *next;
    q.org = "acme";
    ck_assert_int_eq(orgs_store_audit_list(w.st, &q, &recs, &next, pool, &err), APR_SUCCESS);
    const orgs_audit_t *last = APR_ARRAY_IDX(recs, recs->nelts - 1, orgs_audit_t *);
    ck_assert_str_eq(last->action, "invitation.accept");
    ck_assert_str_eq(last->actor, "invitation:idp");
    ck_assert_str_eq(last->from, "127.0.0.1");
    ck_assert_str_eq(last->target, inv.id);
    assert_clean(w.st);
}
END_TEST

START_TEST(accept_member_gets_roles)
{
    world_t w = world(1);
    int admitted = -1;
    sign_in(&w, NULL, "sub-a", "a@x.example", 1, &admitted);
    ck_assert_int_eq(admitted, ORGS_ADMIT_JOINED);
    orgs_invite_t inv = invite(&w, w.org, "a@x.example", w.now + TTL);
    sign_in(&w, inv.ticket_hash, "sub-a", "a@x.example", 1, &admitted);
    ck_assert_int_eq(admitted, ORGS_ADMIT_INVITED);
    ck_assert_int_eq(member_of(&w, "sub-a")->roles->nelts, 2);
    assert_clean(w.st);
}
END_TEST

/* A join by invitation counts against OrgsMaxUsersPerOrg as an
 * auto-membership join does; a member given roles does not. */
START_TEST(accept_held_to_org_quota)
{
    static const orgs_store_quota_t q = {0, 0, 1, 0};
    world_t w = world(1);
    int admitted = -1;
    quota = &q;
    sign_in(&w, NULL, "sub-a", "a@x.example", 1, &admitted);
    ck_assert_int_eq(admitted, ORGS_ADMIT_JOINED);
    orgs_invite_t inv = invite(&w, w.org, "b@x.example", w.now + TTL);
    expect = APR_ENOSPC;
    orgs_signin_t in = sign_in(&w, inv.ticket_hash, "sub-b", "b@x.example", 1, &admitted);
    expect = APR_SUCCESS;
    ck_assert_int_eq(orgs_store_pending_delete(w.st, STATE, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(in.over_quota, ORGS_QUOTA_USERS_PER_ORG);
    ck_assert_ptr_null(member_of(&w, "sub-b"));
    /* nothing written: the invitation is still there for when there is room */
    orgs_invite_t *got;
    ck_assert_int_eq(orgs_store_invite_get(w.st, inv.id, &got, pool, &err), APR_SUCCESS);
    /* a member already is no join: the roles are added at the bound */
    orgs_invite_t roles = invite(&w, w.org, "a@x.example", w.now + TTL);
    sign_in(&w, roles.ticket_hash, "sub-a", "a@x.example", 1, &admitted);
    ck_assert_int_eq(admitted, ORGS_ADMIT_INVITED);
    ck_assert_int_eq(member_of(&w, "sub-a")->roles->nelts, 2);
    quota = NULL;
    assert_clean(w.st);
}
END_TEST

START_TEST(refusals)
{
    world_t w = world(1);
    int admitted = -1;
    orgs_signin_t in;
    /* wrong email, unverified, no trusted email: refused even with auto-membership */
    orgs_invite_t inv = invite(&w, w.org, "bob@partner.example", w.now + TTL);
    in = sign_in(&w, inv.ticket_hash, "sub-eve", "eve@partner.example", 1, &admitted);
    ck_assert_int_eq(admitted, ORGS_ADMIT_INVITE_REFUSED);
    ck_assert_int_eq(in.invite_refused, ORGS_INVITE_EMAIL);
    in = sign_in(&w, inv.ticket_hash, "sub-bob", "bob@partner.example", 0, &admitted);
    ck_assert_int_eq(in.invite_refused, ORGS_INVITE_EMAIL);
    in = sign_in(&w, inv.ticket_hash, "sub-bob", NULL, 1, &admitted);
    ck_assert_int_eq(in.invite_refused, ORGS_INVITE_EMAIL);
    ck_assert_ptr_null(member_of(&w, "sub-eve"));
    ck_assert_ptr_null(member_of(&w, "sub-bob"));
    /* still there after the refusals */
    orgs_invite_t *got;
    ck_assert_int_eq(orgs_store_invite_get(w.st, inv.id, &got, pool, &err), APR_SUCCESS);
    /* another org's ticket */
    orgs_invite_t theirs = invite(&w, w.other, "bob@partner.example", w.now + TTL);
    in = sign_in(&w, theirs.ticket_hash, "sub-bob", "bob@partner.example", 1, &admitted);
    ck_assert_int_eq(in.invite_refused, ORGS_INVITE_OTHER_ORG);
    ck_assert_ptr_null(member_of(&w, "sub-bob"));
    /* expired during the sign-in */
    orgs_invite_t old = invite(&w, w.org, "bob@partner.example", w.now - 1);
    in = sign_in(&w, old.ticket_hash, "sub-bob", "bob@partner.example", 1, &admitted);
    ck_assert_int_eq(in.invite_refused, ORGS_INVITE_EXPIRED);
    /* any_email: whoever follows it */
    orgs_invite_t any = {0};
    any.org_id = w.org;
    any.email = "x@y.example";
    any.any_email = 1;
    ck_assert_int_eq(orgs_store_invite_create(w.st, &any, pool, &err), APR_SUCCESS);
    in = sign_in(&w, any.ticket_hash, "sub-eve", NULL, 0, &admitted);
    ck_assert_int_eq(admitted, ORGS_ADMIT_INVITED);
    assert_clean(w.st);
}
END_TEST

START_TEST(not_enabled_ignores_invitation)
{
    world_t w = world(0);
    orgs_invite_t inv = invite(&w, w.org, "bob@partner.example", w.now + TTL);
    int admitted = -1;
    ck_assert_int_eq(orgs_store_org_disable_conn(w.st, w.org, w.conn, pool, &err), APR_SUCCESS);
    sign_in(&w, inv.ticket_hash, "sub-bob", "bob@partner.example", 1, &admitted);
    ck_assert_int_eq(admitted, ORGS_ADMIT_NOT_ENABLED);
    orgs_invite_t *got;
    ck_assert_int_eq(orgs_store_invite_get(w.st, inv.id, &got, pool, &err), APR_SUCCESS);
}
END_TEST

START_TEST(decision)
{
    apr_time_t now = 1000;
    ck_assert_int_eq(orgs_signin_invite_check("o1", 2000, "a@b.c", 0, "o1", now, "a@b.c", 1),
                     ORGS_INVITE_OK);
    ck_assert_int_eq(orgs_signin_invite_check("o1", 2000, "a@b.c", 0, "o2", now, "a@b.c", 1),
                     ORGS_INVITE_OTHER_ORG);
    ck_assert_int_eq(orgs_signin_invite_check("o1", 999, "a@b.c", 0, "o1", now, "a@b.c", 1),
                     ORGS_INVITE_EXPIRED);
    ck_assert_int_eq(orgs_signin_invite_check("o1", 2000, "a@b.c", 0, "o1", now, "a@b.c", 0),
                     ORGS_INVITE_EMAIL);
    ck_assert_int_eq(orgs_signin_invite_check("o1", 2000, "a@b.c", 0, "o1", now, "A@b.c", 1),
                     ORGS_INVITE_EMAIL);
    ck_assert_int_eq(orgs_signin_invite_check("o1", 2000, "a@b.c", 1, "o1", now, NULL, 0),
                     ORGS_INVITE_OK);
    ck_assert_int_eq(orgs_signin_invite_check("o1", 2000, "a@b.c", 1, "o2", now, NULL, 0),
                     ORGS_INVITE_OTHER_ORG);
    ck_assert_str_eq(orgs_signin_invite_str(ORGS_INVITE_EXPIRED), "expired");
    ck_assert_str_eq(orgs_signin_admit_str(ORGS_ADMIT_INVITED), "joined by invitation");
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, invites);
    tcase_add_test(tc, tickets);
    tcase_add_test(tc, accept_without_auto_membership);
    tcase_add_test(tc, accept_member_gets_roles);
    tcase_add_test(tc, accept_held_to_org_quota);
    tcase_add_test(tc, refusals);
    tcase_add_test(tc, not_enabled_ignores_invitation);
    tcase_add_test(tc, decision);
}

int main(void)
{
    return fixture_run("store_invite", add_tests);
}
