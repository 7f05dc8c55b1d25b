/* The one authority on what a record may hold: the rules each field meets,
 * the rules a record meets before the store writes it, and the normalizers
 * that give a value its one stored form. Parsing a value into its
 * form (sizes, durations, domains, emails, metadata pairs) is parse.c's. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "checks.h"
#include "brand.h"
#include "netaddr.h"
#include "oidc.h"
#include "parse.h"
#include "text.h"
#include "url.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(((const orgs_kv_t *)a)->key, ((const orgs_kv_t *)b)->key);
}

static int has_str(const apr_array_header_t *a, const char *s)
{
    for (int i = 0; a && i < a->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(a, i, const char *), s) == 0) {
            return 1;
        }
    }
    return 0;
}

int orgs_check_id(const char *s, const char *prefix)
{
    if (!s || strnlen(s, ORGS_ID_LEN + 1) != ORGS_ID_LEN || memcmp(s, prefix, 4) != 0) {
        return 0;
    }
    for (int i = 4; i < ORGS_ID_LEN; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
            return 0;
        }
    }
    return 1;
}

apr_status_t orgs_check_text(const char *s, size_t max, int spaces, const char *what,
                             orgs_err_t *err)
{
    if (!s || !*s) {
        return orgs_err_set(err, APR_EINVAL, "%s is empty", what);
    }
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++, n++) {
        if (*c > 0x7e || *c < 0x20 || (*c == ' ' && !spaces)) {
            return orgs_err_set(err, APR_EINVAL, "%s has a forbidden character", what);
        }
    }
    if (n > max) {
        return orgs_err_set(err, APR_EINVAL, "%s is longer than %" APR_SIZE_T_FMT " bytes", what,
                            (apr_size_t)max);
    }
    return APR_SUCCESS;
}

/* ---- field rules ------------------------------------------------------ */

apr_status_t orgs_check_slug(const char *s, orgs_err_t *err)
{
    static const char *const id_prefixes[] = {"org_", "con_", "usr_", "inv_"};
    apr_size_t len;

    if (!s || !*s) {
        return orgs_err_set(err, APR_EINVAL, "empty name");
    }
    len = strlen(s);
    if (len > ORGS_NAME_MAX) {
        return orgs_err_set(err, APR_EINVAL, "name longer than %d characters", ORGS_NAME_MAX);
    }
    if (!orgs_text_is_lower_alnum((unsigned char)s[0]) ||
        !orgs_text_is_lower_alnum((unsigned char)s[len - 1])) {
        return orgs_err_set(err, APR_EINVAL,
                            "name must start and end with a lowercase letter or digit");
    }
    for (apr_size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (orgs_text_is_lower_alnum(c)) {
            continue;
        }
        if (c != '-' && c != '_') {
            return orgs_err_set(err, APR_EINVAL,
                                "name may contain only lowercase letters, digits, '-' and '_'");
        }
        if (s[i + 1] == '-' || s[i + 1] == '_') {
            return orgs_err_set(err, APR_EINVAL, "name must not contain two separators in a row");
        }
    }
    for (apr_size_t i = 0; i < sizeof(id_prefixes) / sizeof(id_prefixes[0]); i++) {
        if (strncmp(s, id_prefixes[i], 4) == 0) {
            return orgs_err_set(err, APR_EINVAL, "name must not start with '%s' (reserved for ids)",
                                id_prefixes[i]);
        }
    }
    return APR_SUCCESS;
}

apr_status_t orgs_check_slug_from_label(const char *label, const char **out, apr_pool_t *p,
                                        orgs_err_t *err)
{
    apr_size_t n = 0;
    char *buf = apr_palloc(p, ORGS_NAME_MAX + 1);
    int sep = 0;
    for (const char *c = label ? label : ""; *c && n < ORGS_NAME_MAX; c++) {
        unsigned char ch = (unsigned char)apr_tolower(*c);
        if (orgs_text_is_lower_alnum(ch)) {
            if (sep && n > 0 && n + 1 < ORGS_NAME_MAX) {
                buf[n++] = '-';
            }
            buf[n++] = (char)ch;
            sep = 0;
        } else {
            sep = 1;
        }
    }
    buf[n] = '\0';
    if (n == 0) {
        return orgs_err_set(err, APR_EINVAL, "no name can be derived from the label");
    }
    *out = buf;
    return orgs_check_slug(buf, err);
}

apr_status_t orgs_check_token_scope(const char *s, orgs_err_t *err)
{
    if (s && (strcmp(s, "read") == 0 || strcmp(s, "write") == 0)) {
        return APR_SUCCESS;
    }
    return orgs_err_set(err, APR_EINVAL, "unknown token scope '%.64s' (read, write)", s ? s : "");
}

apr_status_t orgs_check_meta_key(const char *key, orgs_err_t *err)
{
    apr_size_t len;

    if (!key || !*key) {
        return orgs_err_set(err, APR_EINVAL, "empty metadata key");
    }
    len = strlen(key);
    if (len > ORGS_META_KEY_MAX) {
        return orgs_err_set(err, APR_EINVAL, "metadata key longer than %d characters",
                            ORGS_META_KEY_MAX);
    }
    if (!orgs_text_is_alpha((unsigned char)key[0])) {
        return orgs_err_set(err, APR_EINVAL, "metadata key must start with a letter");
    }
    for (apr_size_t i = 1; i < len; i++) {
        unsigned char c = (unsigned char)key[i];
        if (!orgs_text_is_alpha(c) && !orgs_text_is_digit(c) && c != '_') {
            return orgs_err_set(err, APR_EINVAL,
                                "metadata key may contain only letters, digits and '_'");
        }
    }
    return APR_SUCCESS;
}

apr_status_t orgs_check_meta_value(const char *value, orgs_err_t *err)
{
    apr_size_t len;

    if (!value) {
        return orgs_err_set(err, APR_EINVAL, "missing metadata value");
    }
    len = strlen(value);
    if (len > ORGS_META_VALUE_MAX) {
        return orgs_err_set(err, APR_EINVAL, "metadata value longer than %d bytes",
                            ORGS_META_VALUE_MAX);
    }
    if (!orgs_text_utf8_valid(value, len, ORGS_TEXT_UTF8_NO_CONTROL)) {
        return orgs_err_set(err, APR_EINVAL,
                            "metadata value must be UTF-8 text without control characters");
    }
    return APR_SUCCESS;
}

apr_status_t orgs_check_role(const char *s, orgs_err_t *err)
{
    apr_size_t len;

    if (!s || !*s) {
        return orgs_err_set(err, APR_EINVAL, "empty role");
    }
    len = strlen(s);
    if (len > ORGS_ROLE_MAX) {
        return orgs_err_set(err, APR_EINVAL, "role longer than %d characters", ORGS_ROLE_MAX);
    }
    for (apr_size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!orgs_text_is_alpha(c) && !orgs_text_is_digit(c) && !strchr("_.:-", c)) {
            return orgs_err_set(err, APR_EINVAL,
                                "role may contain only letters, digits, '_', '.', ':' and '-'");
        }
    }
    return APR_SUCCESS;
}

apr_status_t orgs_check_display_name(const char *s, orgs_err_t *err)
{
    apr_size_t len;

    if (!s || !*s) {
        return orgs_err_set(err, APR_EINVAL, "empty display name");
    }
    len = strlen(s);
    if (len > ORGS_DISPLAY_NAME_MAX) {
        return orgs_err_set(err, APR_EINVAL, "display name longer than %d bytes",
                            ORGS_DISPLAY_NAME_MAX);
    }
    if (!orgs_text_utf8_valid(s, len, ORGS_TEXT_UTF8_NO_CONTROL)) {
        return orgs_err_set(err, APR_EINVAL,
                            "display name must be UTF-8 text without control characters");
    }
    return APR_SUCCESS;
}

apr_status_t orgs_check_issuer_url(const char *s, orgs_err_t *err)
{
    apr_pool_t *tmp = NULL;
    orgs_err_t e = {{0}};
    apr_status_t rv;

    /* apr_uri_parse needs a pool for its copies: a short-lived one keeps
     * this function's pool-free contract. */
    if (apr_pool_create(&tmp, NULL) != APR_SUCCESS) {
        return orgs_err_set(err, APR_ENOMEM, "out of memory checking the issuer URL");
    }
    /* OpenID Connect Discovery 1.0, section 2: no query, no fragment. */
    rv = orgs_url_absolute_check(s, ORGS_URL_HTTPS | ORGS_URL_NO_QUERY, tmp, &e);
    apr_pool_destroy(tmp);
    if (rv != APR_SUCCESS) {
        return orgs_err_set(err, rv, "issuer %s", e.msg);
    }
    return APR_SUCCESS;
}

apr_status_t orgs_check_conn_scopes(const char *s, orgs_err_t *err)
{
    if (!s || !*s) {
        return orgs_err_set(err, APR_EINVAL, "scopes are empty");
    }
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++, n++) {
        if (orgs_text_is_ctl(*c)) {
            return orgs_err_set(err, APR_EINVAL, "scopes contain a control character");
        }
        /* RFC 6749 section 3.3: a scope token is %x21 / %x23-5B / %x5D-7E. */
        if (*c > 0x7e || *c == '"' || *c == '\\') {
            return orgs_err_set(err, APR_EINVAL,
                                "scopes contain a character not allowed in a scope");
        }
    }
    if (n > ORGS_CONN_SCOPES_MAX) {
        return orgs_err_set(err, APR_EINVAL, "scopes are longer than %d bytes",
                            ORGS_CONN_SCOPES_MAX);
    }
    if (!orgs_oidc_scopes_have_openid(s)) {
        return orgs_err_set(err, APR_EINVAL, "scopes must include 'openid'");
    }
    return APR_SUCCESS;
}

apr_status_t orgs_check_conn_auth_method(const char *s, orgs_err_t *err)
{
    if (!s || (strcmp(s, "client_secret_basic") != 0 && strcmp(s, "client_secret_post") != 0)) {
        return orgs_err_set(err, APR_EINVAL,
                            "auth method must be client_secret_basic or client_secret_post");
    }
    return APR_SUCCESS;
}

apr_status_t orgs_check_conn_client_id(const char *s, orgs_err_t *err)
{
    return orgs_check_text(s, ORGS_CONN_CLIENT_ID_MAX, 0, "client id", err);
}

apr_status_t orgs_check_conn_secret(const char *s, apr_size_t len, orgs_err_t *err)
{
    if (!s || len == 0) {
        return orgs_err_set(err, APR_EINVAL, "the client secret is empty");
    }
    if (memchr(s, '\0', len)) {
        return orgs_err_set(err, APR_EINVAL, "the client secret contains a NUL byte");
    }
    if (len > ORGS_CONN_SECRET_MAX) {
        return orgs_err_set(err, APR_EINVAL, "the client secret is longer than %d bytes",
                            ORGS_CONN_SECRET_MAX);
    }
    for (apr_size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e) {
            return orgs_err_set(err, APR_EINVAL,
                                "the client secret must be printable ASCII (spaces allowed)");
        }
    }
    return APR_SUCCESS;
}

apr_status_t orgs_check_user_sub(const char *s, orgs_err_t *err)
{
    return orgs_check_text(s, ORGS_SUB_MAX, 1, "sub", err);
}

/* ---- normalizers ------------------------------------------------------ */

apr_status_t orgs_check_meta_normalize(const apr_array_header_t *in, apr_array_header_t **out,
                                       apr_pool_t *p, orgs_err_t *err)
{
    apr_array_header_t *m = apr_array_make(p, in ? in->nelts : 1, sizeof(orgs_kv_t));
    for (int i = 0; in && i < in->nelts; i++) {
        const orgs_kv_t *kv = &APR_ARRAY_IDX(in, i, orgs_kv_t);
        apr_status_t rv = orgs_check_meta_key(kv->key, err);
        if (rv == APR_SUCCESS) {
            rv = orgs_check_meta_value(kv->value, err);
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        int j;
        for (j = 0; j < m->nelts; j++) {
            if (strcmp(APR_ARRAY_IDX(m, j, orgs_kv_t).key, kv->key) == 0) {
                break; /* later pairs win */
            }
        }
        orgs_kv_t *dst = j < m->nelts ? &APR_ARRAY_IDX(m, j, orgs_kv_t) : apr_array_push(m);
        dst->key = apr_pstrdup(p, kv->key);
        dst->value = apr_pstrdup(p, kv->value);
    }
    if (m->nelts > ORGS_META_MAX_PAIRS) {
        return orgs_err_set(err, APR_ENOSPC, "more than %d metadata pairs", ORGS_META_MAX_PAIRS);
    }
    qsort(m->elts, m->nelts, sizeof(orgs_kv_t), cmp_kv);
    *out = m;
    return APR_SUCCESS;
}

apr_status_t orgs_check_domains_normalize(const apr_array_header_t *in, apr_array_header_t **out,
                                          apr_pool_t *p, orgs_err_t *err)
{
    apr_array_header_t *d = apr_array_make(p, in ? in->nelts : 1, sizeof(const char *));
    for (int i = 0; in && i < in->nelts; i++) {
        char *dom;
        apr_status_t rv = orgs_parse_domain(APR_ARRAY_IDX(in, i, const char *), &dom, p, err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (!has_str(d, dom)) {
            APR_ARRAY_PUSH(d, const char *) = dom;
        }
    }
    if (d->nelts > ORGS_DOMAINS_MAX) {
        return orgs_err_set(err, APR_ENOSPC, "more than %d domains", ORGS_DOMAINS_MAX);
    }
    qsort(d->elts, d->nelts, sizeof(const char *), cmp_str);
    *out = d;
    return APR_SUCCESS;
}

apr_status_t orgs_check_endpoint_host(const char *s, orgs_err_t *err)
{
    /* the rule of OrgsBackchannelAllowHost: a name or an address, compared
     * with the host of an endpoint's URL, never a network */
    if (!s || strchr(s, '/') || orgs_netaddr_allow_check(s, NULL) != APR_SUCCESS) {
        return orgs_err_set(err, APR_EINVAL,
                            "endpoint host '%.80s' must be a host name or an IP address, without "
                            "scheme, port or path",
                            s ? s : "");
    }
    return APR_SUCCESS;
}

apr_status_t orgs_check_endpoint_hosts_normalize(const apr_array_header_t *in,
                                                 apr_array_header_t **out, apr_pool_t *p,
                                                 orgs_err_t *err)
{
    apr_array_header_t *h =
        apr_array_make(p, in && in->nelts ? in->nelts : 1, sizeof(const char *));
    for (int i = 0; in && i < in->nelts; i++) {
        const char *host = APR_ARRAY_IDX(in, i, const char *);
        apr_status_t rv = orgs_check_endpoint_host(host, err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        char *low = apr_pstrdup(p, host);
        for (char *c = low; *c; c++) {
            *c = (char)apr_tolower(*c);
        }
        if (!has_str(h, low)) {
            APR_ARRAY_PUSH(h, const char *) = low;
        }
    }
    if (h->nelts > ORGS_CONN_ENDPOINT_HOSTS_MAX) {
        return orgs_err_set(err, APR_ENOSPC, "more than %d endpoint hosts",
                            ORGS_CONN_ENDPOINT_HOSTS_MAX);
    }
    qsort(h->elts, h->nelts, sizeof(const char *), cmp_str);
    *out = h;
    return APR_SUCCESS;
}

apr_status_t orgs_check_roles_normalize(const apr_array_header_t *in, apr_array_header_t **out,
                                        apr_pool_t *p, orgs_err_t *err)
{
    apr_array_header_t *r = apr_array_make(p, in ? in->nelts : 1, sizeof(const char *));
    for (int i = 0; in && i < in->nelts; i++) {
        const char *role = APR_ARRAY_IDX(in, i, const char *);
        apr_status_t rv = orgs_check_role(role, err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (!has_str(r, role)) {
            APR_ARRAY_PUSH(r, const char *) = apr_pstrdup(p, role);
        }
    }
    if (r->nelts > ORGS_ROLES_MAX) {
        return orgs_err_set(err, APR_ENOSPC, "more than %d roles", ORGS_ROLES_MAX);
    }
    qsort(r->elts, r->nelts, sizeof(const char *), cmp_str);
    *out = r;
    return APR_SUCCESS;
}

apr_status_t orgs_check_email_normalize(const char *email, const char **out, apr_pool_t *p,
                                        orgs_err_t *err)
{
    char *e;
    const char *dom;
    if (!email) {
        *out = NULL;
        return APR_SUCCESS;
    }
    apr_status_t rv = orgs_parse_email(email, &e, &dom, p, err);
    if (rv == APR_SUCCESS && strlen(e) > ORGS_EMAIL_MAX) {
        rv = orgs_err_set(err, APR_EINVAL, "email longer than %d bytes", ORGS_EMAIL_MAX);
    }
    *out = e;
    return rv;
}

apr_status_t orgs_check_org(orgs_org_t *o, apr_pool_t *p, orgs_err_t *err)
{
    if (!orgs_check_id(o->id, "org_")) {
        return orgs_err_set(err, APR_EINVAL, "bad organization id");
    }
    apr_status_t rv = orgs_check_slug(o->name, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!o->display_name) {
        o->display_name = o->name;
    }
    if ((rv = orgs_check_display_name(o->display_name, err)) != APR_SUCCESS ||
        (rv = orgs_check_meta_normalize(o->meta, &o->meta, p, err)) != APR_SUCCESS ||
        (rv = orgs_check_domains_normalize(o->domains, &o->domains, p, err)) != APR_SUCCESS) {
        return rv;
    }
    if ((o->logo_url && (rv = orgs_brand_logo_check(o->logo_url, err)) != APR_SUCCESS) ||
        (o->color_primary && (rv = orgs_brand_color_check(o->color_primary, err)) != APR_SUCCESS) ||
        (o->color_page_background &&
         (rv = orgs_brand_color_check(o->color_page_background, err)) != APR_SUCCESS)) {
        return rv;
    }
    return APR_SUCCESS;
}

apr_status_t orgs_check_conn(orgs_conn_t *c, apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv;
    if (!orgs_check_id(c->id, "con_")) {
        return orgs_err_set(err, APR_EINVAL, "bad connection id");
    }
    if ((rv = orgs_check_slug(c->name, err)) != APR_SUCCESS) {
        return rv;
    }
    if (!c->display_name) {
        c->display_name = c->name;
    }
    if (!c->scopes) {
        c->scopes = ORGS_OIDC_DEFAULT_SCOPES;
    }
    if (!c->auth_method) {
        c->auth_method = "client_secret_basic";
    }
    if (!c->issuer) {
        return orgs_err_set(err, APR_EINVAL, "connection needs an issuer");
    }
    if ((rv = orgs_check_display_name(c->display_name, err)) != APR_SUCCESS ||
        (rv = orgs_check_issuer_url(c->issuer, err)) != APR_SUCCESS ||
        (rv = orgs_check_conn_client_id(c->client_id, err)) != APR_SUCCESS ||
        (rv = orgs_check_conn_scopes(c->scopes, err)) != APR_SUCCESS ||
        (rv = orgs_check_conn_auth_method(c->auth_method, err)) != APR_SUCCESS) {
        return rv;
    }
    if (c->client_secret && (rv = orgs_check_conn_secret(c->client_secret, strlen(c->client_secret),
                                                         err)) != APR_SUCCESS) {
        return rv;
    }
    if (c->endpoint_hosts && (rv = orgs_check_endpoint_hosts_normalize(
                                  c->endpoint_hosts, &c->endpoint_hosts, p, err)) != APR_SUCCESS) {
        return rv;
    }
    return APR_SUCCESS;
}

apr_status_t orgs_check_user(orgs_user_t *u, apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv;
    if (!orgs_check_id(u->id, "usr_") || !orgs_check_id(u->conn_id, "con_")) {
        return orgs_err_set(err, APR_EINVAL, "bad user or connection id");
    }
    if (!u->sub && !u->email) {
        return orgs_err_set(err, APR_EINVAL, "a user needs a sub or an email");
    }
    if (u->sub && (rv = orgs_check_user_sub(u->sub, err)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = orgs_check_email_normalize(u->email, &u->email, p, err)) != APR_SUCCESS) {
        return rv;
    }
    if (u->name && (rv = orgs_check_display_name(u->name, err)) != APR_SUCCESS) {
        return rv;
    }
    return APR_SUCCESS;
}

int orgs_check_issuer_shared(const char *issuer)
{
    static const char *const shared[] = {
        "https://accounts.google.com",
        "https://login.microsoftonline.com/common",
        "https://login.microsoftonline.com/organizations",
        "https://login.microsoftonline.com/consumers",
        "https://appleid.apple.com",
    };
    for (size_t i = 0; issuer && i < sizeof(shared) / sizeof(shared[0]); i++) {
        size_t n = strlen(shared[i]);
        /* the name itself, or a path below it (".../common/v2.0") */
        if (strncasecmp(issuer, shared[i], n) == 0 && (issuer[n] == '\0' || issuer[n] == '/')) {
            return 1;
        }
    }
    return 0;
}

apr_status_t orgs_check_auto_condition(const char *cond, orgs_err_t *err)
{
    const char *name, *eq, *v;
    if (cond && strcmp(cond, "email-domain") == 0) {
        return APR_SUCCESS;
    }
    if (!cond || strncmp(cond, "claim:", 6) != 0 || !(eq = strchr(cond + 6, '='))) {
        return orgs_err_set(err, APR_EINVAL,
                            "condition must be 'email-domain' or 'claim:NAME=VALUE'");
    }
    name = cond + 6;
    if (eq == name || eq - name > ORGS_AUTO_CLAIM_MAX) {
        return orgs_err_set(err, APR_EINVAL, "condition: claim name must be 1..%d bytes",
                            ORGS_AUTO_CLAIM_MAX);
    }
    for (const char *c = name; c < eq; c++) {
        if (!apr_isalnum(*c) && !strchr("_.:-", *c)) {
            return orgs_err_set(err, APR_EINVAL, "condition: claim name may hold [A-Za-z0-9_.:-]");
        }
    }
    v = eq + 1;
    if (!*v || strlen(v) > 255) {
        return orgs_err_set(err, APR_EINVAL, "condition: claim value must be 1..255 bytes");
    }
    for (const char *c = v; *c; c++) {
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) {
            return orgs_err_set(err, APR_EINVAL, "condition: claim value must be printable ASCII");
        }
    }
    return APR_SUCCESS;
}
