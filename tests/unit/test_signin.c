/* Unit tests for src/core/signin.c: the callback's repeated parameters,
 * the trusted-email rule, the display name, admission and the logout
 * hint. Refusals outnumber acceptances on purpose: each branch that
 * keeps something out has its own case. */
#include "testutil.h"
#include "signin.h"
#include "store.h"

TESTUTIL_POOL_FIXTURE

static json_t *claims_of(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    ck_assert_msg(j != NULL, "bad test JSON: %s", jerr.text);
    return j;
}

/* ---- parameters */

START_TEST(test_param_count)
{
    ck_assert_int_eq(orgs_signin_param_count("state=a&code=b", "state"), 1);
    ck_assert_int_eq(orgs_signin_param_count("state=a&state=b", "state"), 2);
    ck_assert_int_eq(orgs_signin_param_count("state&state=&state=x", "state"), 3);
    ck_assert_int_eq(orgs_signin_param_count("a=1&state", "state"), 1);
    /* not the parameter: a longer name, a value, a prefix */
    ck_assert_int_eq(orgs_signin_param_count("states=a&xstate=b", "state"), 0);
    ck_assert_int_eq(orgs_signin_param_count("a=state&b=state=1", "state"), 0);
    ck_assert_int_eq(orgs_signin_param_count("stat=1", "state"), 0);
    ck_assert_int_eq(orgs_signin_param_count("", "state"), 0);
    ck_assert_int_eq(orgs_signin_param_count(NULL, "state"), 0);
    /* keys are compared decoded, as the query parser reads them */
    ck_assert_int_eq(orgs_signin_param_count("st%61te=a&state=b", "state"), 2);
    ck_assert_int_eq(orgs_signin_param_count("%73%74%41%54%45=a", "state"), 0);
    ck_assert_int_eq(orgs_signin_param_count("%73%74%61%74%65=a&%73tate", "state"), 2);
    ck_assert_int_eq(orgs_signin_param_count("st%6=a&st%=b&st%zzte=c", "state"), 0);
    ck_assert_int_eq(orgs_signin_param_count("stat%65s=a&state%3D=b", "state"), 0);
    ck_assert_ptr_nonnull(orgs_signin_param_repeated("code=a&c%6Fde=b"));
}
END_TEST

START_TEST(test_param_repeated)
{
    ck_assert_ptr_null(orgs_signin_param_repeated("state=a&code=b&iss=c&error=d"));
    ck_assert_ptr_null(orgs_signin_param_repeated("state=a&states=b&session_state=c"));
    ck_assert_ptr_null(orgs_signin_param_repeated(NULL));
    ck_assert_str_eq(orgs_signin_param_repeated("state=a&code=b&state=c"), "state");
    ck_assert_str_eq(orgs_signin_param_repeated("code=a&code"), "code");
    ck_assert_str_eq(orgs_signin_param_repeated("iss=x&state=1&iss=y"), "iss");
    ck_assert_str_eq(orgs_signin_param_repeated("error=a&error=a"), "error");
}
END_TEST

/* ---- trusted email */

/* A fake store: one owned domain, and a count of the questions asked. */
typedef struct {
    const char *owned;  /* the domain some org owns, or NULL */
    apr_status_t fail;  /* non-zero: the store fails with this */
    int enabled, autom; /* how that org uses the connection */
    int asked;
    const char *asked_domain;
} fake_store_t;

static void fake_lookup(void *baton, const char *domain, orgs_signin_domain_t *out)
{
    fake_store_t *fs = baton;
    fs->asked++;
    fs->asked_domain = apr_pstrdup(pool, domain);
    if (fs->fail) {
        out->rv = fs->fail;
    } else if (fs->owned && strcmp(domain, fs->owned) == 0) {
        out->rv = APR_SUCCESS;
        out->owner = "victim";
        out->conn_enabled = fs->enabled;
        out->auto_membership = fs->autom;
    }
}

static orgs_email_trust_t trust(const char *claims_text, fake_store_t *fs, const char **email,
                                orgs_err_t *err)
{
    json_t *claims = claims_of(claims_text);
    orgs_signin_domain_t dom;
    orgs_email_trust_t t = orgs_signin_email_trust(claims, fake_lookup, fs, &dom, email, pool, err);
    json_decref(claims);
    return t;
}

START_TEST(test_email_trusted_unowned_domain)
{
    fake_store_t fs = {NULL, 0, 0, 0, 0, NULL};
    const char *email;
    orgs_err_t err = {{0}};
    ck_assert_int_eq(
        trust("{\"email\":\"Bob@Example.COM\",\"email_verified\":true}", &fs, &email, &err),
        ORGS_EMAIL_TRUSTED);
    ck_assert_str_eq(email, "Bob@example.com");
    ck_assert_int_eq(fs.asked, 1);
    ck_assert_str_eq(fs.asked_domain, "example.com");
    /* email_verified absent: not marked unverified */
    ck_assert_int_eq(trust("{\"email\":\"bob@example.com\"}", &fs, &email, &err),
                     ORGS_EMAIL_TRUSTED);
}
END_TEST

START_TEST(test_email_trusted_owner_with_auto_membership)
{
    fake_store_t fs = {"victim.example", 0, 1, 1, 0, NULL};
    const char *email;
    orgs_err_t err = {{0}};
    ck_assert_int_eq(trust("{\"email\":\"ceo@victim.example\"}", &fs, &email, &err),
                     ORGS_EMAIL_TRUSTED);
    ck_assert_str_eq(email, "ceo@victim.example");
}
END_TEST

START_TEST(test_email_absent)
{
    fake_store_t fs = {NULL, 0, 0, 0, 0, NULL};
    const char *email = "x";
    orgs_err_t err = {{0}};
    ck_assert_int_eq(trust("{\"sub\":\"1\"}", &fs, &email, &err), ORGS_EMAIL_ABSENT);
    ck_assert_ptr_null(email);
    ck_assert_int_eq(trust("{\"email\":42}", &fs, &email, &err), ORGS_EMAIL_ABSENT);
    ck_assert_int_eq(trust("{\"email\":null,\"email_verified\":true}", &fs, &email, &err),
                     ORGS_EMAIL_ABSENT);
    ck_assert_int_eq(fs.asked, 0);
}
END_TEST

START_TEST(test_email_unverified)
{
    static const char *const marked[] = {
        "{\"email\":\"a@example.com\",\"email_verified\":false}",
        "{\"email\":\"a@example.com\",\"email_verified\":\"true\"}",
        "{\"email\":\"a@example.com\",\"email_verified\":1}",
        "{\"email\":\"a@example.com\",\"email_verified\":null}",
        /* checked before the address itself */
        "{\"email\":\"not an address\",\"email_verified\":false}",
    };
    fake_store_t fs = {NULL, 0, 0, 0, 0, NULL};
    for (size_t i = 0; i < sizeof(marked) / sizeof(marked[0]); i++) {
        const char *email = "x";
        orgs_err_t err = {{0}};
        ck_assert_int_eq(trust(marked[i], &fs, &email, &err), ORGS_EMAIL_UNVERIFIED);
        ck_assert_ptr_null(email);
        ck_assert_msg(strstr(err.msg, "email_verified") != NULL, "reason: %s", err.msg);
    }
    ck_assert_int_eq(fs.asked, 0);
}
END_TEST

START_TEST(test_email_malformed)
{
    static const char *const bad[] = {"{\"email\":\"not an address\"}", "{\"email\":\"a@\"}",
                                      "{\"email\":\"@example.com\"}", "{\"email\":\"\"}",
                                      "{\"email\":\"a@b@example.com\"}"};
    fake_store_t fs = {NULL, 0, 0, 0, 0, NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *email = "x";
        orgs_err_t err = {{0}};
        ck_assert_int_eq(trust(bad[i], &fs, &email, &err), ORGS_EMAIL_MALFORMED);
        ck_assert_ptr_null(email);
        ck_assert_msg(err.msg[0] != '\0', "no reason for %s", bad[i]);
    }
    ck_assert_int_eq(fs.asked, 0);
}
END_TEST

START_TEST(test_email_foreign_not_enabled)
{
    fake_store_t fs = {"victim.example", 0, 0, 0, 0, NULL};
    const char *email = "x";
    orgs_err_t err = {{0}};
    json_t *claims = claims_of("{\"email\":\"ceo@VICTIM.example\"}");
    orgs_signin_domain_t dom;
    ck_assert_int_eq(orgs_signin_email_trust(claims, fake_lookup, &fs, &dom, &email, pool, &err),
                     ORGS_EMAIL_FOREIGN);
    json_decref(claims);
    ck_assert_ptr_null(email);
    ck_assert_str_eq(dom.owner, "victim"); /* kept for the caller's log */
    ck_assert_ptr_nonnull(strstr(err.msg, "victim"));
}
END_TEST

START_TEST(test_email_foreign_enabled_without_auto_membership)
{
    fake_store_t fs = {"victim.example", 0, 1, 0, 0, NULL};
    const char *email = "x";
    orgs_err_t err = {{0}};
    ck_assert_int_eq(
        trust("{\"email\":\"ceo@victim.example\",\"email_verified\":true}", &fs, &email, &err),
        ORGS_EMAIL_FOREIGN);
    ck_assert_ptr_null(email);
}
END_TEST

/* auto-membership on a connection that is not enabled cannot happen in the
 * store, but the rule does not rely on it */
START_TEST(test_email_foreign_auto_without_enabled)
{
    fake_store_t fs = {"victim.example", 0, 0, 1, 0, NULL};
    const char *email = "x";
    orgs_err_t err = {{0}};
    ck_assert_int_eq(trust("{\"email\":\"ceo@victim.example\"}", &fs, &email, &err),
                     ORGS_EMAIL_FOREIGN);
    ck_assert_ptr_null(email);
}
END_TEST

START_TEST(test_email_store_error_fails_closed)
{
    fake_store_t fs = {NULL, ORGS_ESTORE, 0, 0, 0, NULL};
    const char *email = "x";
    orgs_err_t err = {{0}};
    ck_assert_int_eq(trust("{\"email\":\"a@example.com\"}", &fs, &email, &err), ORGS_EMAIL_FOREIGN);
    ck_assert_ptr_null(email);
    ck_assert_ptr_nonnull(strstr(err.msg, "example.com"));
}
END_TEST

/* ---- display name */

START_TEST(test_display_name)
{
    json_t *c = claims_of("{\"name\":\"Ada Lovelace\"}");
    ck_assert_str_eq(orgs_signin_display_name(c), "Ada Lovelace");
    json_decref(c);
    static const char *const refused[] = {"{}", "{\"name\":\"\"}", "{\"name\":7}",
                                          "{\"name\":\"a\\u0001b\"}", "{\"name\":\"a\\nb\"}"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        c = claims_of(refused[i]);
        ck_assert_msg(orgs_signin_display_name(c) == NULL, "kept %s", refused[i]);
        json_decref(c);
    }
    char *longname = apr_palloc(pool, ORGS_DISPLAY_NAME_MAX + 2);
    memset(longname, 'a', ORGS_DISPLAY_NAME_MAX + 1);
    longname[ORGS_DISPLAY_NAME_MAX + 1] = '\0';
    c = json_pack("{s:s}", "name", longname);
    ck_assert_ptr_null(orgs_signin_display_name(c));
    json_decref(c);
}
END_TEST

/* ---- admission */

START_TEST(test_idp_error_fixed_text)
{
    const char *text = NULL;
    ck_assert_str_eq(orgs_signin_idp_error("access_denied", &text), "access_denied");
    ck_assert_str_eq(text, "The identity provider refused the sign-in.");
    ck_assert_str_eq(orgs_signin_idp_error("login_required", &text), "login_required");
    ck_assert_ptr_null(strstr(text, "refused"));
    ck_assert_str_eq(orgs_signin_idp_error("temporarily_unavailable", &text),
                     "temporarily_unavailable");
    /* anything else, the IdP's free text included, is never echoed */
    ck_assert_str_eq(orgs_signin_idp_error("call_+1-555-0100", &text), "access_denied");
    ck_assert_str_eq(text, "The identity provider refused the sign-in.");
    ck_assert_str_eq(orgs_signin_idp_error("", &text), "access_denied");
    ck_assert_str_eq(orgs_signin_idp_error("ACCESS_DENIED", &text), "access_denied");
    ck_assert_str_eq(orgs_signin_idp_error(NULL, &text), "access_denied");
    ck_assert_ptr_nonnull(text);
}
END_TEST

START_TEST(test_condition_met)
{
    apr_array_header_t *domains = apr_array_make(pool, 2, sizeof(const char *));
    json_t *c = json_pack("{s:s,s:[s,s],s:i,s:s}", "hd", "acme.com", "groups", "staff", "admins",
                          "n", 7, "tid", "tenant-1");
    APR_ARRAY_PUSH(domains, const char *) = "acme.com";
    ck_assert_int_eq(orgs_signin_condition_met(NULL, c, NULL, NULL), 1);
    ck_assert_int_eq(orgs_signin_condition_met("claim:hd=acme.com", c, NULL, NULL), 1);
    ck_assert_int_eq(orgs_signin_condition_met("claim:tid=tenant-1", c, NULL, NULL), 1);
    ck_assert_int_eq(orgs_signin_condition_met("claim:groups=staff", c, NULL, NULL), 1);
    /* another value, another case, a prefix, a number, absent, no claims */
    ck_assert_int_eq(orgs_signin_condition_met("claim:hd=evil.com", c, NULL, NULL), 0);
    ck_assert_int_eq(orgs_signin_condition_met("claim:hd=ACME.com", c, NULL, NULL), 0);
    ck_assert_int_eq(orgs_signin_condition_met("claim:hd=acme", c, NULL, NULL), 0);
    ck_assert_int_eq(orgs_signin_condition_met("claim:n=7", c, NULL, NULL), 0);
    ck_assert_int_eq(orgs_signin_condition_met("claim:org=acme.com", c, NULL, NULL), 0);
    ck_assert_int_eq(orgs_signin_condition_met("claim:hd=acme.com", NULL, NULL, NULL), 0);
    ck_assert_int_eq(orgs_signin_condition_met("claim:hd", c, NULL, NULL), 0);
    ck_assert_int_eq(orgs_signin_condition_met("claim:=acme.com", c, NULL, NULL), 0);
    /* the trusted email's domain is one of the org's */
    ck_assert_int_eq(orgs_signin_condition_met("email-domain", c, "a@acme.com", domains), 1);
    ck_assert_int_eq(orgs_signin_condition_met("email-domain", c, "a@evil.com", domains), 0);
    ck_assert_int_eq(orgs_signin_condition_met("email-domain", c, "a@sub.acme.com", domains), 0);
    ck_assert_int_eq(orgs_signin_condition_met("email-domain", c, NULL, domains), 0);
    ck_assert_int_eq(orgs_signin_condition_met("email-domain", c, "a@acme.com", NULL), 0);
    /* an unknown kind never admits */
    ck_assert_int_eq(orgs_signin_condition_met("always", c, "a@acme.com", domains), 0);
    json_decref(c);
}
END_TEST

START_TEST(test_admit)
{
    ck_assert_int_eq(orgs_signin_admit(1, 1, 0), ORGS_ADMIT_MEMBER);
    ck_assert_int_eq(orgs_signin_admit(1, 1, 1), ORGS_ADMIT_MEMBER);
    ck_assert_int_eq(orgs_signin_admit(0, 1, 1), ORGS_ADMIT_JOINED);
    ck_assert_int_eq(orgs_signin_admit(0, 1, 0), ORGS_ADMIT_DENIED);
    /* a connection no longer enabled admits nobody, members included */
    ck_assert_int_eq(orgs_signin_admit(1, 0, 0), ORGS_ADMIT_NOT_ENABLED);
    ck_assert_int_eq(orgs_signin_admit(1, 0, 1), ORGS_ADMIT_NOT_ENABLED);
    ck_assert_int_eq(orgs_signin_admit(0, 0, 1), ORGS_ADMIT_NOT_ENABLED);
    ck_assert_int_eq(orgs_signin_admit(0, 0, 0), ORGS_ADMIT_NOT_ENABLED);
    ck_assert_str_eq(orgs_signin_admit_str(ORGS_ADMIT_DENIED), "not a member");
    ck_assert_str_eq(orgs_signin_admit_str((orgs_admit_t)9), "?");
    /* who gets in: members, joined and invited; no one else */
    ck_assert_int_eq(orgs_signin_admitted(ORGS_ADMIT_MEMBER), 1);
    ck_assert_int_eq(orgs_signin_admitted(ORGS_ADMIT_JOINED), 1);
    ck_assert_int_eq(orgs_signin_admitted(ORGS_ADMIT_INVITED), 1);
    ck_assert_int_eq(orgs_signin_admitted(ORGS_ADMIT_DENIED), 0);
    ck_assert_int_eq(orgs_signin_admitted(ORGS_ADMIT_NOT_ENABLED), 0);
    ck_assert_int_eq(orgs_signin_admitted(ORGS_ADMIT_UNMET), 0);
    ck_assert_int_eq(orgs_signin_admitted(ORGS_ADMIT_INVITE_REFUSED), 0);
}
END_TEST

/* ---- the logout hint */

START_TEST(test_logout_hint_capped)
{
    char *tok = testutil_repeat(pool, 'a', ORGS_STORE_SESSION_HINT_MAX + 1);
    ck_assert_ptr_null(orgs_signin_logout_hint(NULL));
    ck_assert_ptr_null(orgs_signin_logout_hint(tok)); /* one byte over: not kept */
    tok[ORGS_STORE_SESSION_HINT_MAX] = '\0';
    ck_assert_ptr_eq(orgs_signin_logout_hint(tok), tok);
    ck_assert_str_eq(orgs_signin_logout_hint("h.p.s"), "h.p.s");
}
END_TEST

static Suite *signin_suite(void)
{
    Suite *s = suite_create("signin");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_param_count);
    tcase_add_test(tc, test_param_repeated);
    tcase_add_test(tc, test_email_trusted_unowned_domain);
    tcase_add_test(tc, test_email_trusted_owner_with_auto_membership);
    tcase_add_test(tc, test_email_absent);
    tcase_add_test(tc, test_email_unverified);
    tcase_add_test(tc, test_email_malformed);
    tcase_add_test(tc, test_email_foreign_not_enabled);
    tcase_add_test(tc, test_email_foreign_enabled_without_auto_membership);
    tcase_add_test(tc, test_email_foreign_auto_without_enabled);
    tcase_add_test(tc, test_email_store_error_fails_closed);
    tcase_add_test(tc, test_display_name);
    tcase_add_test(tc, test_idp_error_fixed_text);
    tcase_add_test(tc, test_admit);
    tcase_add_test(tc, test_condition_met);
    tcase_add_test(tc, test_logout_hint_capped);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(signin_suite());
}
