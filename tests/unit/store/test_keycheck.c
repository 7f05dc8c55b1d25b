/* store/keycheck.c: the key check value recorded at creation, checked
 * after, and recorded in an older store only by a key that proves itself. */
#include "fixture.h"

static orgs_crypto_keys_t *other_keys(void)
{
    orgs_crypto_keys_t *k;
    unsigned char ikm[ORGS_CRYPTO_IKM_MIN];
    memset(ikm, 'z', sizeof(ikm));
    ck_assert_int_eq(orgs_crypto_keys_derive(&k, ikm, sizeof(ikm), pool, &err), APR_SUCCESS);
    return k;
}

static orgs_store_key_state_t state_of(orgs_store_t *st, int record)
{
    orgs_store_key_state_t s;
    ck_assert_msg(orgs_store_key_check(st, record, &s, &err) == APR_SUCCESS, "%s", err.msg);
    return s;
}

START_TEST(recorded_at_creation)
{
    orgs_store_t *st = open_store();
    ck_assert_int_eq(state_of(st, 0), ORGS_STORE_KEY_MATCH);
    orgs_store_close(st);
    st = open_in(dir, other_keys());
    ck_assert_int_eq(state_of(st, 1), ORGS_STORE_KEY_WRONG);
    ck_assert_int_eq(state_of(st, 1), ORGS_STORE_KEY_WRONG); /* nothing was overwritten */
    orgs_store_close(st);
    st = open_in(dir, NULL);
    orgs_store_key_state_t s;
    ck_assert_int_eq(orgs_store_key_check(st, 1, &s, &err), ORGS_ENOKEY);
}
END_TEST

START_TEST(older_store_proves_key)
{
    apr_size_t total, opened;
    /* a store made without a key has no check value */
    orgs_store_t *st = open_in(dir, NULL);
    orgs_store_close(st);
    /* a secret sealed with keys, still no value */
    st = open_in(dir, keys);
    mk_conn(st, "okta", "s3cret");
    orgs_store_close(st);

    st = open_in(dir, other_keys());
    ck_assert_int_eq(state_of(st, 1), ORGS_STORE_KEY_WRONG); /* opens no secret */
    ck_assert_int_eq(orgs_store_secrets_check(st, &total, &opened, pool, &err), APR_SUCCESS);
    ck_assert_uint_eq(total, 1);
    ck_assert_uint_eq(opened, 0);
    orgs_store_close(st);

    st = open_in(dir, keys);
    ck_assert_int_eq(state_of(st, 0), ORGS_STORE_KEY_UNPROVEN); /* not written */
    ck_assert_int_eq(state_of(st, 1), ORGS_STORE_KEY_RECORDED);
    ck_assert_int_eq(state_of(st, 0), ORGS_STORE_KEY_MATCH);
    ck_assert_int_eq(orgs_store_secrets_check(st, &total, &opened, pool, &err), APR_SUCCESS);
    ck_assert_uint_eq(opened, 1);
    assert_clean(st);
    orgs_store_close(st);

    st = open_in(dir, other_keys());
    ck_assert_int_eq(state_of(st, 1), ORGS_STORE_KEY_WRONG);
}
END_TEST

START_TEST(older_store_without_secrets)
{
    orgs_store_t *st = open_in(dir, NULL);
    mk_org(st, "acme", NULL);
    orgs_store_close(st);
    /* nothing to lose: the first key is recorded */
    st = open_in(dir, other_keys());
    ck_assert_int_eq(state_of(st, 1), ORGS_STORE_KEY_RECORDED);
    orgs_store_close(st);
    st = open_in(dir, keys);
    ck_assert_int_eq(state_of(st, 1), ORGS_STORE_KEY_WRONG);
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, recorded_at_creation);
    tcase_add_test(tc, older_store_proves_key);
    tcase_add_test(tc, older_store_without_secrets);
}

int main(void)
{
    return fixture_run("store_keycheck", add_tests);
}
