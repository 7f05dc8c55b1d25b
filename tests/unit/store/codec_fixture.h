/* The record fixtures of the codec tests (test_codec.c, test_codec_view.c):
 * fixed ids and one org and one user record, so both read the same values
 * through the strict decoders and through the per-request views. */
#ifndef ORGS_TEST_STORE_CODEC_FIXTURE_H
#define ORGS_TEST_STORE_CODEC_FIXTURE_H

#include "fixture.h"

#define ORG_A "org_0000000000000000"
#define ORG_B "org_0000000000000001"
#define ORG_C "org_zzzzzzzzzzzzzzzz"
#define USR_A "usr_AbCdEfGhIjKlMnOp"
#define CON_A "con_0123456789abcdef"
#define CON_B "con_0123456789abcdeg"

/* An org with a non-ASCII display name, two domains given out of order
 * (stored sorted) and two metadata pairs, one with an empty value. */
static inline orgs_org_t org_of(void)
{
    orgs_org_t o = {0};
    o.id = ORG_A;
    o.name = "acme";
    o.display_name = "Acme \"Inc\" \xc3\xa9";
    o.created = 1;
    o.updated = 2;
    o.domains = strs(2, "b.example", "a.example");
    o.meta = apr_array_make(pool, 2, sizeof(orgs_kv_t));
    orgs_kv_t *kv = apr_array_push(o.meta);
    kv->key = "license";
    kv->value = "premium";
    kv = apr_array_push(o.meta);
    kv->key = "tier";
    kv->value = "";
    return o;
}

static inline orgs_user_t user_of(void)
{
    orgs_user_t u = {0};
    u.id = USR_A;
    u.conn_id = CON_A;
    u.sub = "sub-1";
    u.email = "a@x.com";
    u.created = 5;
    u.last_login = 6;
    return u;
}

#endif
