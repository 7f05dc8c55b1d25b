/* [core] A pending login sealed for the browser's cookie (pending_seal.h). */
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include "pending_seal.h"
#include "text.h"

/* The label of the sealing key and the start of the associated data: a
 * value sealed here opens nowhere else, and a later format can change it. */
#define SEAL_LABEL "orgs pending seal v1"
/* How far in the future a creation time may be: the nodes' clocks differ
 * a little; more is a value that cannot be ours. */
#define SEAL_SKEW APR_TIME_C(60000000)
#define STATE_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

apr_status_t orgs_pending_seal_key(const unsigned char state_key[ORGS_CRYPTO_KEY_LEN],
                                   unsigned char out[ORGS_CRYPTO_KEY_LEN])
{
    /* HKDF-Expand (RFC 5869) for one block: HMAC(PRK, info || 0x01) */
    unsigned char info[sizeof(SEAL_LABEL)];
    memcpy(info, SEAL_LABEL, sizeof(SEAL_LABEL) - 1);
    info[sizeof(SEAL_LABEL) - 1] = 1;
    return orgs_crypto_hmac(state_key, info, sizeof(info), out);
}

/* A state that can name a cookie's value: base64url characters only, at
 * least the tag long (the store checks the rest of its rules). */
static int state_ok(const char *state)
{
    size_t n = state ? strlen(state) : 0;
    return n >= ORGS_PENDING_SEAL_TAG && n <= 128 && strspn(state, STATE_CHARS) == n;
}

/* The associated data: the label, the state and the creation time shown
 * in the clear (so neither can be changed without the value failing to
 * open). */
static const char *aad_of(const char *state, const char *shown, apr_size_t shown_len, apr_pool_t *p)
{
    return apr_psprintf(p, "%s:%s:%.*s", SEAL_LABEL, state, (int)shown_len, shown);
}

apr_time_t orgs_pending_seal_created(const char *value)
{
    const char *t = value && strlen(value) > ORGS_PENDING_SEAL_TAG + 1
                        ? value + ORGS_PENDING_SEAL_TAG + 1
                        : NULL;
    apr_int64_t sec = 0;
    size_t n = t ? strspn(t, "0123456789") : 0;

    if (!t || value[ORGS_PENDING_SEAL_TAG] != '.' || n == 0 || n > 12 || t[n] != '.') {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        sec = sec * 10 + (t[i] - '0');
    }
    return apr_time_from_sec(sec);
}

int orgs_pending_seal_names(const char *value, const char *state)
{
    return value && state_ok(state) && strlen(value) > ORGS_PENDING_SEAL_TAG + 1 &&
           strncmp(value, state, ORGS_PENDING_SEAL_TAG) == 0 && value[ORGS_PENDING_SEAL_TAG] == '.';
}

apr_status_t orgs_pending_seal(const unsigned char key[ORGS_CRYPTO_KEY_LEN],
                               const orgs_pending_t *pl, char **out, apr_pool_t *p, orgs_err_t *err)
{
    const char *aad, *shown;
    unsigned char *sealed;
    apr_size_t sealed_len;
    char *text, *b64;
    apr_status_t rv;
    json_t *doc;

    *out = NULL;
    if (!state_ok(pl->state) || !pl->nonce || !pl->code_verifier || !pl->org_id || !pl->conn_id) {
        return orgs_err_set(err, APR_EINVAL, "bad pending login");
    }
    doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "n", pl->nonce, "v", pl->code_verifier,
                    "o", pl->org_id, "c", pl->conn_id, "b",
                    orgs_text_b64url_encode(pl->browser, sizeof(pl->browser), p), "t",
                    (json_int_t)pl->created, "r", pl->return_to ? pl->return_to : "/");
    if (doc && pl->invite) {
        json_object_set_new(doc, "i", json_string(pl->invite));
    }
    text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text) {
        return orgs_err_set(err, APR_EINVAL, "pending login not representable (bad UTF-8?)");
    }
    shown = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)apr_time_sec(pl->created));
    aad = aad_of(pl->state, shown, strlen(shown), p);
    rv = orgs_crypto_seal(key, text, strlen(text), aad, strlen(aad), &sealed, &sealed_len, p, err);
    orgs_crypto_cleanse(text, strlen(text));
    free(text);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    b64 = orgs_text_b64url_encode(sealed, sealed_len, p);
    *out = apr_psprintf(p, "%.*s.%s.%s", ORGS_PENDING_SEAL_TAG, pl->state, shown, b64);
    if (strlen(*out) > ORGS_PENDING_SEAL_MAX) {
        *out = NULL;
        return orgs_err_set(err, APR_ENOSPC, "sealed pending login over %d characters",
                            ORGS_PENDING_SEAL_MAX);
    }
    return APR_SUCCESS;
}

/* The string member name of doc, copied into p; NULL when absent or not
 * a string. */
static const char *member(const json_t *doc, const char *name, apr_pool_t *p)
{
    const char *s = json_string_value(json_object_get(doc, name));
    return s ? apr_pstrdup(p, s) : NULL;
}

apr_status_t orgs_pending_unseal(const unsigned char key[ORGS_CRYPTO_KEY_LEN], const char *value,
                                 const char *state, apr_time_t now, apr_interval_time_t ttl,
                                 orgs_pending_t **out, apr_pool_t *p, orgs_err_t *err)
{
    const char *aad, *shown, *b64, *browser;
    unsigned char *raw, *text, *braw;
    apr_size_t raw_len, text_len, blen;
    orgs_pending_t *pl;
    json_t *doc, *t;
    apr_status_t rv;

    *out = NULL;
    if (!orgs_pending_seal_names(value, state)) {
        return orgs_err_set(err, APR_NOTFOUND, "no sealed pending login for this state");
    }
    if (strlen(value) > ORGS_PENDING_SEAL_MAX) {
        return orgs_err_set(err, ORGS_ECRYPTO, "sealed pending login too long");
    }
    shown = value + ORGS_PENDING_SEAL_TAG + 1;
    b64 = strchr(shown, '.');
    if (!b64) {
        return orgs_err_set(err, ORGS_ECRYPTO, "sealed pending login is malformed");
    }
    b64++;
    if (orgs_text_b64url_decode(b64, strlen(b64), &raw, &raw_len, p, NULL) != APR_SUCCESS) {
        return orgs_err_set(err, ORGS_ECRYPTO, "sealed pending login is not base64url");
    }
    aad = aad_of(state, shown, (apr_size_t)(b64 - 1 - shown), p);
    rv = orgs_crypto_open(key, raw, raw_len, aad, strlen(aad), &text, &text_len, p, err);
    if (rv != APR_SUCCESS) {
        return orgs_err_set(err, ORGS_ECRYPTO,
                            "sealed pending login does not open (tampered, another key, or "
                            "another state)");
    }
    doc = json_loadb((const char *)text, text_len, JSON_REJECT_DUPLICATES, NULL);
    orgs_crypto_cleanse(text, text_len);
    t = json_object_get(doc, "t");
    pl = apr_pcalloc(p, sizeof(*pl));
    pl->state = apr_pstrdup(p, state);
    pl->nonce = member(doc, "n", p);
    pl->code_verifier = member(doc, "v", p);
    pl->org_id = member(doc, "o", p);
    pl->conn_id = member(doc, "c", p);
    pl->return_to = member(doc, "r", p);
    pl->invite = member(doc, "i", p);
    browser = member(doc, "b", p);
    pl->created = json_is_integer(t) ? (apr_time_t)json_integer_value(t) : 0;
    json_decref(doc);
    if (!pl->nonce || !pl->code_verifier || !pl->org_id || !pl->conn_id || !pl->return_to ||
        !browser || pl->created <= 0 ||
        orgs_text_b64url_decode(browser, strlen(browser), &braw, &blen, p, NULL) != APR_SUCCESS ||
        blen != sizeof(pl->browser)) {
        return orgs_err_set(err, ORGS_ECRYPTO, "sealed pending login is malformed");
    }
    memcpy(pl->browser, braw, sizeof(pl->browser));
    if (pl->created > now + SEAL_SKEW || (ttl > 0 && now - pl->created > ttl)) {
        return orgs_err_set(err, ORGS_EEXPIRED, "sealed pending login expired");
    }
    *out = pl;
    return APR_SUCCESS;
}
