/* orgctl token ...: bearer tokens of the admin API (Require org-api-token).
 * A token is printed once, at creation; the store keeps only its hash. */

#include <string.h>

#include <apr_strings.h>

#include "orgctl.h"
#include "parse.h"

static json_t *token_json(const orgs_token_t *t)
{
    json_t *scopes = json_array();
    for (int i = 0; t->scopes && i < t->scopes->nelts; i++) {
        json_array_append_new(scopes, json_string(APR_ARRAY_IDX(t->scopes, i, const char *)));
    }
    return json_pack("{s:s, s:s?, s:o, s:o, s:o}", "id", t->id, "name", t->name, "scopes", scopes,
                     "created_at", orgs_json_time(t->created), "expires_at",
                     orgs_json_time(t->expires));
}

int cmd_token_create(cli_t *c)
{
    orgs_token_t t;
    const char *secret, *exp = cli_opt(c, "expires");
    apr_array_header_t *scopes = cli_opt_all(c, "scope");
    apr_interval_time_t ttl;

    memset(&t, 0, sizeof(t));
    t.name = cli_opt(c, "name");
    if (exp) {
        if (orgs_parse_duration(exp, &ttl, &c->err) != APR_SUCCESS) {
            return cli_fail_parse(c);
        }
        t.expires = apr_time_now() + ttl;
    }
    t.scopes = scopes;
    apr_status_t rv = orgs_store_token_create(c->st, &t, &secret, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return cli_fail_rv(c, rv, "token");
    }
    if (c->json) {
        json_t *j = token_json(&t);
        if (j) {
            json_object_set_new(j, "token", json_string(secret));
        }
        return out_json_new(c, j);
    }
    printf("%s\n", secret);
    return RC_OK;
}

int cmd_token_list(cli_t *c)
{
    apr_array_header_t *list;
    apr_status_t rv = orgs_store_token_list(c->st, &list, c->p, &c->err);
    if (rv != APR_SUCCESS) {
        return cli_fail_rv(c, rv, "tokens");
    }
    if (c->json) {
        json_t *arr = json_array();
        for (int i = 0; i < list->nelts; i++) {
            arr = out_push(arr, token_json(APR_ARRAY_IDX(list, i, orgs_token_t *)));
        }
        return out_json_new(c, arr);
    }
    static const char *const hdr[] = {"ID", "NAME", "SCOPES", "EXPIRES"};
    out_table_t *tb = out_table_make(c->p, 4, hdr);
    apr_time_t now = apr_time_now();
    for (int i = 0; i < list->nelts; i++) {
        const orgs_token_t *t = APR_ARRAY_IDX(list, i, orgs_token_t *);
        out_table_row(tb, t->id, t->name ? t->name : "-", out_join(c->p, t->scopes, ","),
                      t->expires ? apr_pstrcat(c->p, out_time(c->p, t->expires),
                                               t->expires < now ? " (expired)" : "", NULL)
                                 : "never");
    }
    out_table_print(tb);
    return RC_OK;
}

int cmd_token_revoke(cli_t *c)
{
    const char *id = cli_arg(c, 0);
    apr_status_t rv = orgs_store_token_revoke(c->st, id, c->p, &c->err);
    return cli_result(c, rv, "token '%s'", id);
}
