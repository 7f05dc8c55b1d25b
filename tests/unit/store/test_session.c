/* Unit tests for src/core/store/session.c: sessions: put, view, touch, hints and claims, the
 * per-member cap, size caps and the batched purge. */
#include <apr_file_io.h>

#include "fixture.h"

START_TEST(sessions)
{
    orgs_store_t *st = open_store();
    orgs_session_view_t *v;
    unsigned char h[32];
    apr_size_t removed;
    apr_time_t now = apr_time_now();
    apr_interval_time_t idle = apr_time_from_sec(600);
    const char *o = mk_org(st, "org1", NULL);
    const char *c = mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", "a@example.com");
    ck_assert_int_eq(orgs_store_member_add(st, "org1", u, strs(1, "admin"), pool, &err),
                     APR_SUCCESS);
    put_session(st, "sid-1", o, u, c, now);
    hash_of("sid-1", h);
    ck_assert_int_eq(orgs_store_session_view(st, h, now + 1, idle, &v, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(v->org.name, "org1");
    ck_assert_str_eq(v->user.email, "a@example.com");
    ck_assert_str_eq(v->conn_name, "okta");
    ck_assert_str_eq(APR_ARRAY_IDX(v->member.roles, 0, const char *), "admin");
    /* the exports, as prepared at sign-in */
    ck_assert_int_eq(v->session.exports->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(v->session.exports, 0, orgs_export_t).env, "ORG_EMAIL");
    ck_assert_str_eq(APR_ARRAY_IDX(v->session.exports, 0, orgs_export_t).header, "X-Org-Email");
    ck_assert_str_eq(APR_ARRAY_IDX(v->session.exports, 0, orgs_export_t).value, "a@x.com");
    /* idle: expired after 11 minutes, unless touched */
    ck_assert_int_eq(
        orgs_store_session_view(st, h, now + apr_time_from_sec(660), idle, &v, pool, &err),
        ORGS_EEXPIRED);
    ck_assert_int_eq(orgs_store_session_touch(st, h, now + apr_time_from_sec(300), pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(
        orgs_store_session_view(st, h, now + apr_time_from_sec(660), idle, &v, pool, &err),
        APR_SUCCESS);
    /* absolute */
    ck_assert_int_eq(
        orgs_store_session_view(st, h, now + apr_time_from_sec(3601), 0, &v, pool, &err),
        ORGS_EEXPIRED);
    ck_assert_int_eq(
        orgs_store_session_purge(st, now + apr_time_from_sec(3601), 0, &removed, pool, &err),
        APR_SUCCESS);
    ck_assert_uint_eq(removed, 1);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_NOTFOUND);
    /* membership removal ends the session at once */
    put_session(st, "sid-2", o, u, c, now);
    hash_of("sid-2", h);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_remove(st, "org1", u, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_member_add(st, "org1", u, NULL, pool, &err), APR_SUCCESS);
    put_session(st, "sid-3", o, u, c, now);
    hash_of("sid-3", h);
    ck_assert_int_eq(orgs_store_session_delete(st, h, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

START_TEST(sessions_neg)
{
    orgs_store_t *st = open_store();
    orgs_session_view_t *v;
    orgs_session_t s = {0};
    unsigned char h[32];
    apr_time_t now = apr_time_now();
    const char *o = mk_org(st, "org1", NULL);
    const char *c = mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", NULL);
    hash_of("sid", h);
    s.org_id = o;
    s.user_id = u;
    s.conn_id = c;
    s.created = s.last_seen = now;
    s.expires = now + 1000;
    /* not a member */
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_member_add(st, o, u, NULL, pool, &err), APR_SUCCESS);
    s.expires = 0;
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_EINVAL);
    s.expires = now + 1000;
    s.conn_id = "con_AAAAAAAAAAAAAAAA";
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_session_touch(st, h, now, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_session_delete(st, h, pool, &err), APR_NOTFOUND);
    assert_clean(st);
}
END_TEST

/* The ID token kept for logout is kept apart from the record: the view
 * leaves it NULL, orgs_store_session_hint_get reads it, and every way a
 * session ends takes its hint along (orgs_store_check finds none left).
 * The exports come back as they were put, in order. */
START_TEST(sessions_hint_and_claims)
{
    orgs_store_t *st = open_store();
    orgs_session_view_t *v;
    orgs_session_t s = {0};
    unsigned char h[32];
    const char *hint;
    apr_time_t now = apr_time_now();
    const char *o = mk_org(st, "org1", NULL);
    const char *c = mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", NULL);
    static const orgs_export_t want[] = {
        {"ORG_EMAIL", "X-Org-Email", "a@x.com"},
        {"ORG_CLAIM_sub", "X-Org-Claim-sub", "s1"},
        {"ORG_CLAIM_n", "X-Org-Claim-n", "-42"},
        {"ORG_CLAIM_empty", "X-Org-Claim-empty", ""},
        {"ORG_CLAIM_name", "X-Org-Claim-name", "Jos\xc3\xa9 \"Q\" \\"},
    };
    apr_array_header_t *ex = apr_array_make(pool, 5, sizeof(orgs_export_t));
    for (int i = 0; i < 5; i++) {
        *(orgs_export_t *)apr_array_push(ex) = want[i];
    }
    ck_assert_int_eq(orgs_store_member_add(st, o, u, NULL, pool, &err), APR_SUCCESS);
    s.org_id = o;
    s.user_id = u;
    s.conn_id = c;
    s.created = s.last_seen = now;
    s.expires = now + apr_time_from_sec(60);
    s.id_token_hint = "eyJhbGciOi.eyJzdWIiOi.c2ln";
    s.exports = ex;
    hash_of("sid", h);
    ck_assert_msg(orgs_store_session_put(st, h, &s, pool, &err) == APR_SUCCESS, "%s", err.msg);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_SUCCESS);
    ck_assert_ptr_null(v->session.id_token_hint);
    ck_assert_str_eq(v->conn_name, "okta");
    ck_assert_str_eq(v->session.conn_id, c);
    ck_assert_int_eq(v->session.exports->nelts, 5);
    for (int i = 0; i < 5; i++) {
        const orgs_export_t *e = &APR_ARRAY_IDX(v->session.exports, i, orgs_export_t);
        ck_assert_str_eq(e->env, want[i].env);
        ck_assert_str_eq(e->header, want[i].header);
        ck_assert_str_eq(e->value, want[i].value);
    }
    ck_assert_int_eq(orgs_store_session_hint_get(st, h, &hint, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(hint, s.id_token_hint);
    /* touch keeps hint and exports */
    ck_assert_int_eq(orgs_store_session_touch(st, h, now + 5, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_session_view(st, h, now + 5, 0, &v, pool, &err), APR_SUCCESS);
    ck_assert(v->session.last_seen == now + 5);
    ck_assert_int_eq(v->session.exports->nelts, 5);
    ck_assert_int_eq(orgs_store_session_hint_get(st, h, &hint, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(hint, s.id_token_hint);
    /* re-put without a hint and without exports */
    s.id_token_hint = NULL;
    s.exports = NULL;
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_session_hint_get(st, h, &hint, pool, &err), APR_SUCCESS);
    ck_assert_ptr_null(hint);
    ck_assert_int_eq(orgs_store_session_view(st, h, now, 0, &v, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(v->session.exports->nelts, 0);
    /* invalid UTF-8 is refused */
    s.exports = one_export("ORG_CLAIM_a", "X-Org-Claim-a", "\xff");
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_EINVAL);
    s.exports = NULL;
    s.id_token_hint = "\xc3";
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_EINVAL);
    /* every end of a session takes its hint along */
    s.id_token_hint = "hint";
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_session_delete(st, h, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_session_hint_get(st, h, &hint, pool, &err), APR_NOTFOUND);
}
END_TEST

/* A session created at `created`, expiring at `expires`. */
static apr_status_t put_session_at(orgs_store_t *st, const char *sid, const char *org,
                                   const char *user, const char *conn, apr_time_t created,
                                   apr_time_t expires)
{
    unsigned char h[32];
    orgs_session_t s = {0};
    s.org_id = org;
    s.user_id = user;
    s.conn_id = conn;
    s.created = s.last_seen = created;
    s.expires = expires;
    hash_of(sid, h);
    return orgs_store_session_put(st, h, &s, pool, &err);
}

static apr_status_t view_sid(orgs_store_t *st, const char *sid, apr_time_t now)
{
    orgs_session_view_t *v;
    unsigned char h[32];
    hash_of(sid, h);
    return orgs_store_session_view(st, h, now, 0, &v, pool, &err);
}

static apr_size_t session_count(orgs_store_t *st)
{
    orgs_store_stat_t stat;
    ck_assert_int_eq(orgs_store_stat(st, &stat, &err), APR_SUCCESS);
    return stat.sessions;
}

/* M5a: a member's cookie-less logins cannot grow the table: the 11th
 * session drops the oldest by created, whatever the key order, and only
 * that member's. */
START_TEST(sessions_per_member_cap)
{
    enum { CAP = ORGS_STORE_SESSIONS_PER_MEMBER };
    orgs_store_t *st = open_store();
    apr_time_t now = apr_time_now(), exp = now + apr_time_from_sec(3600);
    const char *o1 = mk_org(st, "org1", NULL), *o2 = mk_org(st, "org2", NULL);
    const char *c = mk_conn(st, "okta", NULL);
    const char *u1 = mk_user(st, "okta", "s1", NULL), *u2 = mk_user(st, "okta", "s2", NULL);
    ck_assert_int_eq(orgs_store_member_add(st, o1, u1, NULL, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(st, o2, u1, NULL, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_member_add(st, o1, u2, NULL, pool, &err), APR_SUCCESS);
    /* other members' sessions, older than all of u1's in org1 */
    for (int i = 0; i < CAP; i++) {
        ck_assert_int_eq(
            put_session_at(st, apr_psprintf(pool, "u2-%d", i), o1, u2, c, now - 100, exp),
            APR_SUCCESS);
        ck_assert_int_eq(
            put_session_at(st, apr_psprintf(pool, "o2-%d", i), o2, u1, c, now - 100, exp),
            APR_SUCCESS);
    }
    /* created in reverse of insertion order for half of them: age decides */
    for (int i = 0; i < CAP; i++) {
        apr_time_t created = now + (i % 2 ? i : CAP - i);
        ck_assert_int_eq(
            put_session_at(st, apr_psprintf(pool, "sid-%d", i), o1, u1, c, created, exp),
            APR_SUCCESS);
    }
    ck_assert_uint_eq(session_count(st), 3 * CAP);
    /* re-putting an existing session at the cap drops nothing */
    ck_assert_int_eq(put_session_at(st, "sid-3", o1, u1, c, now + 3, exp), APR_SUCCESS);
    ck_assert_uint_eq(session_count(st), 3 * CAP);
    /* sid-0 was created at now + CAP; sid-1 at now + 1 is the oldest */
    ck_assert_int_eq(put_session_at(st, "sid-new", o1, u1, c, now + 100, exp), APR_SUCCESS);
    ck_assert_int_eq(view_sid(st, "sid-1", now), APR_NOTFOUND);
    ck_assert_int_eq(view_sid(st, "sid-new", now), APR_SUCCESS);
    for (int i = 0; i < CAP; i++) {
        if (i != 1) {
            ck_assert_int_eq(view_sid(st, apr_psprintf(pool, "sid-%d", i), now), APR_SUCCESS);
        }
        ck_assert_int_eq(view_sid(st, apr_psprintf(pool, "u2-%d", i), now), APR_SUCCESS);
        ck_assert_int_eq(view_sid(st, apr_psprintf(pool, "o2-%d", i), now), APR_SUCCESS);
    }
    ck_assert_uint_eq(session_count(st), 3 * CAP);
    /* a new session is kept even when older than the others: they pay */
    ck_assert_int_eq(put_session_at(st, "sid-old", o1, u1, c, now - 1000, exp), APR_SUCCESS);
    ck_assert_int_eq(view_sid(st, "sid-old", now), APR_SUCCESS);
    ck_assert_int_eq(view_sid(st, "sid-8", now), APR_NOTFOUND); /* now + 2: next oldest */
    ck_assert_int_eq(view_sid(st, "sid-3", now), APR_SUCCESS);
    /* many more logins: still CAP, the newest ones */
    for (int i = 0; i < 3 * CAP; i++) {
        ck_assert_int_eq(
            put_session_at(st, apr_psprintf(pool, "more-%d", i), o1, u1, c, now + 1000 + i, exp),
            APR_SUCCESS);
    }
    ck_assert_uint_eq(session_count(st), 3 * CAP);
    for (int i = 0; i < 3 * CAP; i++) {
        ck_assert_int_eq(view_sid(st, apr_psprintf(pool, "more-%d", i), now),
                         i < 2 * CAP ? APR_NOTFOUND : APR_SUCCESS);
    }
    ck_assert_int_eq(view_sid(st, "sid-new", now), APR_NOTFOUND);
    ck_assert_int_eq(view_sid(st, "u2-0", now), APR_SUCCESS);
    ck_assert_int_eq(view_sid(st, "o2-0", now), APR_SUCCESS);
    assert_clean(st);
}
END_TEST

/* Per-session size caps: the logout hint up to ORGS_STORE_SESSION_HINT_MAX,
 * the exports up to ORGS_STORE_SESSION_EXPORTS_MAX together (names, values
 * and a NUL each); one byte more is refused and nothing is written. */
START_TEST(sessions_size_caps)
{
    orgs_store_t *st = open_store();
    unsigned char h[32];
    orgs_session_t s = {0};
    apr_time_t now = apr_time_now();
    char *hint = apr_palloc(pool, ORGS_STORE_SESSION_HINT_MAX + 2);
    /* one export: "E\0H\0" + value + NUL = the cap, then one byte more */
    apr_size_t vlen = ORGS_STORE_SESSION_EXPORTS_MAX - 5;
    char *value = apr_palloc(pool, vlen + 2);
    const char *o = mk_org(st, "org1", NULL);
    const char *c = mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", NULL);
    ck_assert_int_eq(orgs_store_member_add(st, o, u, NULL, pool, &err), APR_SUCCESS);
    memset(hint, 'a', ORGS_STORE_SESSION_HINT_MAX + 1);
    hint[ORGS_STORE_SESSION_HINT_MAX + 1] = '\0';
    memset(value, 'v', vlen + 1);
    value[vlen + 1] = '\0';
    s.org_id = o;
    s.user_id = u;
    s.conn_id = c;
    s.created = s.last_seen = now;
    s.expires = now + apr_time_from_sec(60);
    hash_of("sid", h);
    s.id_token_hint = hint; /* cap + 1 */
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_EINVAL);
    s.id_token_hint = NULL;
    s.exports = one_export("E", "H", value); /* cap + 1 */
    ck_assert_int_eq(orgs_store_session_put(st, h, &s, pool, &err), APR_EINVAL);
    ck_assert_int_eq(view_sid(st, "sid", now), APR_NOTFOUND);
    ck_assert_uint_eq(session_count(st), 0);
    hint[ORGS_STORE_SESSION_HINT_MAX] = '\0';
    value[vlen] = '\0';
    ck_assert_uint_eq(strlen(hint), ORGS_STORE_SESSION_HINT_MAX);
    s.id_token_hint = hint;
    ck_assert_msg(orgs_store_session_put(st, h, &s, pool, &err) == APR_SUCCESS, "%s", err.msg);
    ck_assert_int_eq(view_sid(st, "sid", now), APR_SUCCESS);
    assert_clean(st);
}
END_TEST

/* M5b: the purge works in batches of its own transactions. More than one
 * batch (at the real sizes) of expired sessions among live ones: all the
 * expired ones go, every live one stays, *removed counts them. */
START_TEST(sessions_purge_batches)
{
    enum { ORGS = 125, EXPIRED = 9 }; /* 1125 expired, 125 live */
    orgs_store_t *st = open_store();
    apr_time_t now = apr_time_now();
    apr_size_t removed = 0;
    const char *c = mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", NULL);
    for (int i = 0; i < ORGS; i++) {
        const char *o = mk_org(st, apr_psprintf(pool, "org%d", i), NULL);
        ck_assert_int_eq(orgs_store_member_add(st, o, u, NULL, pool, &err), APR_SUCCESS);
        for (int j = 0; j <= EXPIRED; j++) {
            apr_time_t created = now - apr_time_from_sec(7200) + j;
            ck_assert_int_eq(put_session_at(st, apr_psprintf(pool, "s-%d-%d", i, j), o, u, c,
                                            created,
                                            j < EXPIRED ? now - 1 : now + apr_time_from_sec(60)),
                             APR_SUCCESS);
        }
    }
    ck_assert_uint_eq(session_count(st), ORGS * (EXPIRED + 1));
    ck_assert_int_eq(orgs_store_session_purge(st, now, 0, &removed, pool, &err), APR_SUCCESS);
    ck_assert_uint_eq(removed, ORGS * EXPIRED);
    ck_assert_uint_gt(removed, 1000);
    ck_assert_uint_eq(session_count(st), ORGS);
    for (int i = 0; i < ORGS; i++) {
        ck_assert_int_eq(view_sid(st, apr_psprintf(pool, "s-%d-%d", i, EXPIRED), now), APR_SUCCESS);
        ck_assert_int_eq(view_sid(st, apr_psprintf(pool, "s-%d-0", i), now), APR_NOTFOUND);
    }
    /* nothing left to do */
    ck_assert_int_eq(orgs_store_session_purge(st, now, 0, &removed, pool, &err), APR_SUCCESS);
    ck_assert_uint_eq(removed, 0);
    assert_clean(st);
}
END_TEST

/* The sign-in's sweep pays for a bounded number of batches and goes on
 * where it stopped at the next call (resume), until everything is read. */
START_TEST(sessions_purge_some_resumes)
{
    enum { N = 40 };
    orgs_store_t *st = open_store();
    apr_time_t now = apr_time_now();
    apr_size_t removed = 0, total = 0;
    const char *next = NULL;
    int more = 1, calls = 0;
    const char *c = mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", NULL);
    for (int i = 0; i < N / 5; i++) {
        const char *o = mk_org(st, apr_psprintf(pool, "org%d", i), NULL);
        ck_assert_int_eq(orgs_store_member_add(st, o, u, NULL, pool, &err), APR_SUCCESS);
        for (int j = 0; j < 5; j++) {
            ck_assert_int_eq(put_session_at(st, apr_psprintf(pool, "s-%d-%d", i, j), o, u, c,
                                            now - apr_time_from_sec(60) + j, now - 1),
                             APR_SUCCESS);
        }
    }
    orgs_store_session_purge_set_batch(st, 4, 4);
    while (more) {
        ck_assert_int_eq(
            orgs_store_session_purge_some(st, now, 0, 2, next, &next, &removed, &more, pool, &err),
            APR_SUCCESS);
        ck_assert_uint_le(removed, 8); /* two batches of at most 4 */
        ck_assert(more == (next != NULL));
        total += removed;
        ck_assert_int_lt(++calls, N);
    }
    ck_assert_uint_eq(total, N);
    ck_assert_uint_eq(session_count(st), 0);
    ck_assert_int_gt(calls, 4);
    assert_clean(st);
}
END_TEST

/* Small batches hit both bounds (deletions and records read), including a
 * batch ending on a live session, and idle expiry. */
START_TEST(sessions_purge_small_batches)
{
    enum { N = 60 };
    orgs_store_t *st = open_store();
    apr_time_t now = apr_time_now();
    apr_interval_time_t idle = apr_time_from_sec(600);
    apr_size_t removed = 0, want = 0;
    const char *c = mk_conn(st, "okta", NULL);
    const char *u = mk_user(st, "okta", "s1", NULL);
    const char *orgs[N / 5];
    for (int i = 0; i < N / 5; i++) {
        orgs[i] = mk_org(st, apr_psprintf(pool, "org%d", i), NULL);
        ck_assert_int_eq(orgs_store_member_add(st, orgs[i], u, NULL, pool, &err), APR_SUCCESS);
    }
    /* i % 3 == 0: expired; i % 3 == 1: idle for 20 minutes; else live */
    for (int i = 0; i < N; i++) {
        apr_time_t created = now - apr_time_from_sec(i % 3 == 1 ? 1200 : 60);
        ck_assert_int_eq(put_session_at(st, apr_psprintf(pool, "s-%d", i), orgs[i / 5], u, c,
                                        created,
                                        i % 3 == 0 ? now - 1 : now + apr_time_from_sec(3600)),
                         APR_SUCCESS);
        want += i % 3 != 2;
    }
    orgs_store_session_purge_set_batch(st, 3, 7);
    ck_assert_int_eq(orgs_store_session_purge(st, now, idle, &removed, pool, &err), APR_SUCCESS);
    ck_assert_uint_eq(removed, want);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(view_sid(st, apr_psprintf(pool, "s-%d", i), now),
                         i % 3 == 2 ? APR_SUCCESS : APR_NOTFOUND);
    }
    ck_assert_uint_eq(session_count(st), N - want);
    /* read-only bound: only live ones, batch after batch */
    orgs_store_session_purge_set_batch(st, 1, 1);
    ck_assert_int_eq(orgs_store_session_purge(st, now, idle, &removed, pool, &err), APR_SUCCESS);
    ck_assert_uint_eq(removed, 0);
    ck_assert_uint_eq(session_count(st), N - want);
    /* a read-only store: the error is reported and nothing counted */
    orgs_store_t *ro;
    ck_assert_int_eq(orgs_store_open(&ro, dir, 0, 0, ORGS_STORE_RDONLY, keys, pool, &err),
                     APR_SUCCESS);
    removed = 99;
    ck_assert_int_ne(
        orgs_store_session_purge(ro, now + apr_time_from_sec(7200), 0, &removed, pool, &err),
        APR_SUCCESS);
    ck_assert_uint_eq(removed, 0);
    ck_assert_uint_eq(session_count(st), N - want);
    assert_clean(st);
}
END_TEST

/* A session whose delete failed is refused by every process sharing the
 * note: here "processes" are handles on two stores holding the same
 * session, one of them read-only (its delete fails). */
START_TEST(sessions_delete_failed_refused_everywhere)
{
    void *shared = apr_pcalloc(pool, orgs_store_revoked_shared_size());
    const char *a_dir = apr_pstrcat(pool, dir, "/a", NULL),
               *b_dir = apr_pstrcat(pool, dir, "/b", NULL);
    orgs_session_view_t *v;
    unsigned char h[32];
    apr_time_t now = apr_time_now();
    orgs_store_t *a, *b;

    ck_assert(!orgs_store_revoked_shared_init(shared, 8)); /* too small */
    ck_assert(orgs_store_revoked_shared_init(shared, orgs_store_revoked_shared_size()));
    hash_of("sid-shared", h);
    for (int i = 0; i < 2; i++) {
        const char *d = i ? b_dir : a_dir;
        ck_assert_int_eq(apr_dir_make(d, APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS);
        orgs_store_t *st = open_in(d, keys);
        const char *o = mk_org(st, "org1", NULL);
        const char *c = mk_conn(st, "okta", NULL);
        const char *u = mk_user(st, "okta", "s1", "a@example.com");
        ck_assert_int_eq(orgs_store_member_add(st, "org1", u, NULL, pool, &err), APR_SUCCESS);
        put_session(st, "sid-shared", o, u, c, now);
        if (i == 0) {
            orgs_store_close(st);
        } else {
            b = st;
        }
    }
    ck_assert_int_eq(orgs_store_open(&a, a_dir, 0, 0, ORGS_STORE_RDONLY, keys, pool, &err),
                     APR_SUCCESS);
    orgs_store_revoked_share(a, shared);
    orgs_store_revoked_share(b, shared);
    ck_assert_int_eq(orgs_store_session_view(b, h, now, 0, &v, pool, &err), APR_SUCCESS);
    /* the delete fails (read-only): a refuses it, and so does b */
    ck_assert_int_ne(orgs_store_session_delete(a, h, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(orgs_store_session_view(a, h, now, 0, &v, pool, &err), APR_NOTFOUND);
    ck_assert_int_eq(orgs_store_session_view(b, h, now, 0, &v, pool, &err), APR_NOTFOUND);
    /* prepared again (a restart of the same build): the note still holds */
    ck_assert(orgs_store_revoked_shared_init(shared, orgs_store_revoked_shared_size()));
    ck_assert_int_eq(orgs_store_session_view(b, h, now, 0, &v, pool, &err), APR_NOTFOUND);
    orgs_store_close(a);
    orgs_store_close(b);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, sessions);
    tcase_add_test(tc, sessions_neg);
    tcase_add_test(tc, sessions_hint_and_claims);
    tcase_add_test(tc, sessions_per_member_cap);
    tcase_add_test(tc, sessions_size_caps);
    tcase_add_test(tc, sessions_purge_batches);
    tcase_add_test(tc, sessions_purge_small_batches);
    tcase_add_test(tc, sessions_purge_some_resumes);
    tcase_add_test(tc, sessions_delete_failed_refused_everywhere);
}

int main(void)
{
    return fixture_run("store_session", add_tests);
}
