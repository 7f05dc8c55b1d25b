/* Invitations: the record, its org index and its ticket index; created
 * with a random ticket whose hash only is kept, accepted at sign-in in the
 * sign-in's transaction (st_invite_accept), revoked, dropped with the org. */
#include <string.h>

#include "crypto.h"
#include "json.h"
#include "signin.h"
#include "text.h"
#include "url.h"
#include "store_int.h"

/* A ticket is 32 random bytes, base64url (43 characters). */
#define TICKET_BYTES 32
#define TICKET_MAX 128

const char *orgs_store_invite_ticket_hash(const char *ticket, apr_pool_t *p)
{
    if (!ticket || !*ticket || strlen(ticket) > TICKET_MAX) {
        return NULL;
    }
    return orgs_crypto_sha256_b64url(ticket, p);
}

const char *orgs_store_invite_url(const char *login_url, const char *ticket, const char *org_name,
                                  apr_pool_t *p)
{
    return orgs_url_append_params(login_url ? login_url : "/orgs/login", p, "invitation", ticket,
                                  "organization", org_name, NULL);
}

/* inv->org_id may be a name or an id; it becomes the id. max: the org's
 * bound on open invitations (st_invite_room), 0 for none. */
apr_status_t st_invite_insert(orgs_store_t *st, MDB_txn *txn, orgs_invite_t *inv, apr_size_t max,
                              apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    kbuf_t k;
    apr_status_t rv;
    if (!orgs_check_id(inv->id, "inv_")) {
        return orgs_err_set(err, APR_EINVAL, "bad invitation id");
    }
    if (!inv->email) {
        return orgs_err_set(err, APR_EINVAL, "an invitation needs an email");
    }
    if (inv->expires <= inv->created) {
        return orgs_err_set(err, APR_EINVAL, "invitation expires before it is created");
    }
    if (inv->inviter &&
        (strlen(inv->inviter) > ORGS_STORE_ACTOR_MAX ||
         !orgs_text_utf8_valid(inv->inviter, strlen(inv->inviter), ORGS_TEXT_UTF8_NO_CONTROL))) {
        return orgs_err_set(err, APR_EINVAL, "bad inviter");
    }
    if (inv->ticket_hash && strlen(inv->ticket_hash) != 43) {
        return orgs_err_set(err, APR_EINVAL, "bad invitation ticket hash");
    }
    if ((rv = orgs_check_email_normalize(inv->email, &inv->email, p, err)) != APR_SUCCESS ||
        (rv = orgs_check_roles_normalize(inv->roles, &inv->roles, p, err)) != APR_SUCCESS ||
        (rv = st_org_find(st, txn, inv->org_id, &o, p, err)) != APR_SUCCESS) {
        return rv;
    }
    inv->org_id = o->id;
    if ((rv = st_invite_room(st, txn, o->id, max, apr_time_now(), p, err)) != APR_SUCCESS) {
        return rv;
    }
    st_capture_note(st, "invite", inv->id, inv->org_id);
    rv = st_put_json_new(txn, DB(st, INVITES), st_kb1(&k, inv->id), st_invite_encode(inv),
                         MDB_NOOVERWRITE, err, "invitation");
    if (rv == APR_SUCCESS) {
        rv = st_kv_put(txn, DB(st, INVITE_ORG), st_kb2(&k, o->id, inv->id), "", 0, 0, err,
                       "invitation");
    }
    if (rv == APR_SUCCESS && inv->ticket_hash) {
        rv = st_kv_put(txn, DB(st, INVITE_TICKET), st_kb1(&k, inv->ticket_hash), inv->id, ID_LEN,
                       MDB_NOOVERWRITE, err, "invitation ticket");
    }
    return rv;
}

static apr_status_t invite_create(orgs_store_t *st, MDB_txn *txn, orgs_invite_t *inv, apr_pool_t *p,
                                  orgs_err_t *err)
{
    apr_status_t rv = st_invite_insert(st, txn, inv, st_invite_max(st), p, err);
    if (rv == APR_SUCCESS) {
        rv = st_audit_add(st, txn, "invitation.create", inv->org_id, inv->id, NULL,
                          orgs_json_invite(inv), p, err);
    }
    return rv;
}

apr_status_t orgs_store_invite_create(orgs_store_t *st, orgs_invite_t *inv, apr_pool_t *p,
                                      orgs_err_t *err)
{
    char *id, *ticket;
    apr_status_t rv;
    if ((rv = st_id_new("inv_", &id, p, err)) != APR_SUCCESS) {
        return rv;
    }
    if (orgs_crypto_random_token(TICKET_BYTES, &ticket, p) != APR_SUCCESS) {
        return orgs_err_set(err, ORGS_ECRYPTO, "cannot draw an invitation ticket");
    }
    orgs_invite_t i = *inv;
    i.id = id;
    i.created = i.created ? i.created : apr_time_now();
    i.expires = i.expires ? i.expires : i.created + ORGS_INVITE_TTL_DEFAULT;
    if (i.expires > i.created + ORGS_INVITE_TTL_MAX) {
        return orgs_err_set(err, APR_EINVAL, "an invitation lives at most 30 days");
    }
    i.inviter = i.inviter ? i.inviter : st_actor_who(st, p);
    i.ticket = ticket;
    i.ticket_hash = orgs_store_invite_ticket_hash(ticket, p);
    ST_WRITE_RV(rv, st, txn, err, invite_create(st, txn, &i, p, err));
    if (rv == APR_SUCCESS) {
        *inv = i;
    }
    return rv;
}

apr_status_t st_invite_load(orgs_store_t *st, MDB_txn *txn, const char *id, orgs_invite_t **out,
                            apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    json_t *j;
    if (!orgs_check_id(id, "inv_")) {
        return orgs_err_set(err, APR_NOTFOUND, "invitation not found");
    }
    apr_status_t rv = st_get_json(txn, DB(st, INVITES), st_kb1(&k, id), &j, err, "invitation");
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = st_invite_decode(j, out, p, err);
    json_decref(j);
    return rv == APR_SUCCESS ? rv : orgs_err_set(err, ORGS_ESTORE, "corrupt invitation %s", id);
}

apr_status_t orgs_store_invite_get(orgs_store_t *st, const char *id, orgs_invite_t **out,
                                   apr_pool_t *p, orgs_err_t *err)
{
    ST_READ(st, txn, err, st_invite_load(st, txn, id, out, p, err));
}

/* The invitation of a ticket hash; APR_NOTFOUND when none. */
static apr_status_t invite_by_hash(orgs_store_t *st, MDB_txn *txn, const char *hash,
                                   orgs_invite_t **out, apr_pool_t *p, orgs_err_t *err)
{
    kbuf_t k;
    MDB_val v;
    apr_status_t rv;
    if (!hash || strlen(hash) != 43 || !ST_HAS_DB(st, DB_INVITE_TICKET)) {
        return orgs_err_set(err, APR_NOTFOUND, "invitation not found");
    }
    rv = st_kv_get(txn, DB(st, INVITE_TICKET), st_kb1(&k, hash), &v, err, "invitation");
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = st_invite_load(st, txn, apr_pstrmemdup(p, v.mv_data, v.mv_size), out, p, err);
    if (rv == APR_SUCCESS && (!(*out)->ticket_hash || strcmp((*out)->ticket_hash, hash) != 0)) {
        rv = orgs_err_set(err, ORGS_ESTORE, "invitation ticket index does not match");
    }
    return rv;
}

static apr_status_t invite_by_ticket(orgs_store_t *st, MDB_txn *txn, const char *hash,
                                     apr_time_t now, orgs_invite_t **out, apr_pool_t *p,
                                     orgs_err_t *err)
{
    apr_status_t rv = invite_by_hash(st, txn, hash, out, p, err);
    if (rv == APR_SUCCESS && now > (*out)->expires) {
        return orgs_err_set(err, ORGS_EEXPIRED, "invitation %s expired", (*out)->id);
    }
    return rv;
}

apr_status_t orgs_store_invite_by_ticket(orgs_store_t *st, const char *ticket_hash, apr_time_t now,
                                         orgs_invite_t **out, apr_pool_t *p, orgs_err_t *err)
{
    *out = NULL;
    ST_READ(st, txn, err, invite_by_ticket(st, txn, ticket_hash, now, out, p, err));
}

static apr_status_t invite_load_any(orgs_store_t *st, MDB_txn *txn, const char *id, void *out,
                                    apr_pool_t *p, orgs_err_t *err)
{
    return st_invite_load(st, txn, id, out, p, err);
}

static apr_status_t invite_list(orgs_store_t *st, MDB_txn *txn, const char *org_ref,
                                apr_array_header_t **out, apr_pool_t *p, orgs_err_t *err)
{
    orgs_org_t *o;
    kbuf_t k;
    *out = apr_array_make(p, 8, sizeof(orgs_invite_t *));
    apr_status_t rv = st_org_find(st, txn, org_ref, &o, p, err);
    return rv == APR_SUCCESS ? st_load_all(st, txn, DB(st, INVITE_ORG), st_kb1(&k, o->id), ID_LEN,
                                           invite_load_any, out, p, err)
                             : rv;
}

apr_status_t orgs_store_invite_list(orgs_store_t *st, const char *org_ref, apr_array_header_t **out,
                                    apr_pool_t *p, orgs_err_t *err)
{
    ST_READ(st, txn, err, invite_list(st, txn, org_ref, out, p, err));
}

/* The record and its two indexes. */
apr_status_t st_invite_erase_loaded(orgs_store_t *st, MDB_txn *txn, const orgs_invite_t *inv,
                                    orgs_err_t *err)
{
    kbuf_t k;
    st_capture_note(st, "invite", inv->id, inv->org_id);
    apr_status_t rv =
        st_kv_del(txn, DB(st, INVITE_ORG), st_kb2(&k, inv->org_id, inv->id), 0, err, "invitation");
    if (rv == APR_SUCCESS && inv->ticket_hash) {
        rv = st_kv_del(txn, DB(st, INVITE_TICKET), st_kb1(&k, inv->ticket_hash), 0, err,
                       "invitation ticket");
    }
    if (rv == APR_SUCCESS) {
        rv = st_kv_del(txn, DB(st, INVITES), st_kb1(&k, inv->id), 1, err, "invitation");
    }
    return rv;
}

apr_status_t st_invite_revoke(orgs_store_t *st, MDB_txn *txn, const orgs_invite_t *inv,
                              apr_pool_t *p, orgs_err_t *err)
{
    apr_status_t rv = st_invite_erase_loaded(st, txn, inv, err);
    if (rv == APR_SUCCESS) {
        rv = st_audit_add(st, txn, "invitation.revoke", inv->org_id, inv->id, orgs_json_invite(inv),
                          NULL, p, err);
    }
    return rv;
}

static apr_status_t invite_revoke(orgs_store_t *st, MDB_txn *txn, const char *id, apr_pool_t *p,
                                  orgs_err_t *err)
{
    orgs_invite_t *inv;
    apr_status_t rv = st_invite_load(st, txn, id, &inv, p, err);
    return rv == APR_SUCCESS ? st_invite_revoke(st, txn, inv, p, err) : rv;
}

apr_status_t orgs_store_invite_revoke(orgs_store_t *st, const char *id, apr_pool_t *p,
                                      orgs_err_t *err)
{
    ST_RELEASE(st, txn, err, invite_revoke(st, txn, id, p, err));
}

apr_status_t st_invites_drop_org(orgs_store_t *st, MDB_txn *txn, const char *org_id, apr_pool_t *p,
                                 orgs_err_t *err)
{
    apr_array_header_t *list;
    kbuf_t k;
    apr_status_t rv = st_collect(txn, DB(st, INVITE_ORG), st_kb1(&k, org_id), &list, p, err);
    for (int i = 0; rv == APR_SUCCESS && i < list->nelts; i++) {
        const blob_t *b = &APR_ARRAY_IDX(list, i, blob_t);
        orgs_invite_t *inv;
        rv = st_kv_del(txn, DB(st, INVITE_ORG), st_kbraw(&k, b->k, b->klen), 0, err, "invitation");
        if (rv != APR_SUCCESS || b->klen != 2 * ID_LEN) {
            continue;
        }
        const char *id = b->k + ID_LEN;
        st_capture_note(st, "invite", id, org_id);
        if (st_invite_load(st, txn, id, &inv, p, NULL) == APR_SUCCESS && inv->ticket_hash) {
            rv = st_kv_del(txn, DB(st, INVITE_TICKET), st_kb1(&k, inv->ticket_hash), 0, err,
                           "invitation ticket");
        }
        if (rv == APR_SUCCESS) {
            rv = st_kv_del(txn, DB(st, INVITES), st_kb1(&k, id), 0, err, "invitation");
        }
    }
    return rv;
}

apr_status_t st_invite_accept(orgs_store_t *st, MDB_txn *txn, orgs_signin_t *in,
                              const orgs_user_t *u, int *admitted, apr_pool_t *p, orgs_err_t *err)
{
    orgs_invite_t *inv;
    orgs_member_t *m;
    apr_status_t rv = invite_by_hash(st, txn, in->invite, &inv, p, err);
    if (rv == APR_NOTFOUND) {
        in->invite_refused = ORGS_INVITE_UNKNOWN;
        *admitted = ORGS_ADMIT_INVITE_REFUSED;
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    in->invite_id = inv->id;
    in->invite_refused =
        orgs_signin_invite_check(inv->org_id, inv->expires, inv->email, inv->any_email, in->org_id,
                                 in->now, in->email, in->email_verified);
    if (in->invite_refused != ORGS_INVITE_OK) {
        *admitted = ORGS_ADMIT_INVITE_REFUSED;
        return APR_SUCCESS;
    }
    /* single use: gone in the transaction that makes the membership */
    rv = st_invite_erase_loaded(st, txn, inv, err);
    if (rv == APR_SUCCESS) {
        rv = st_member_load(st, txn, in->org_id, u->id, &m, p, err);
        if (rv == APR_SUCCESS) {
            rv = st_role_add(st, txn, in->org_id, u->id, inv->roles, p, err);
        } else if (rv == APR_NOTFOUND) {
            /* a new member counts against the org's bound, as an
             * auto-membership join does (the refusal writes nothing: the
             * invitation stays usable once there is room) */
            rv = st_quota_join(st, txn, in, err);
            if (rv == APR_SUCCESS) {
                rv = st_member_insert(st, txn, in->org_id, u->id, inv->roles, in->now, p, err);
            }
        }
    }
    if (rv == APR_SUCCESS) {
        json_t *after = orgs_json_invite(inv);
        if (after) {
            json_object_set_new(after, "user_id", json_string(u->id));
        }
        rv = st_audit_add(st, txn, "invitation.accept", inv->org_id, inv->id, NULL, after, p, err);
    }
    *admitted = ORGS_ADMIT_INVITED;
    return rv;
}

/* For the replica (replica.c): the invitation id gone, with its indexes,
 * without an audit record (the change it replays was recorded where it was
 * made). */
apr_status_t st_invite_erase(orgs_store_t *st, MDB_txn *txn, const char *id, apr_pool_t *p,
                             orgs_err_t *err)
{
    orgs_invite_t *inv;
    apr_status_t rv = st_invite_load(st, txn, id, &inv, p, err);
    return rv == APR_SUCCESS ? st_invite_erase_loaded(st, txn, inv, err) : rv;
}
