/* The org store: one LMDB environment, several named databases, every
 * public operation one transaction. Implemented in src/core/store/, the
 * only LMDB user; this header does not expose LMDB.
 *
 * Conventions:
 * - every function returns apr_status_t; out-params last before (pool, err);
 * - APR_NOTFOUND: no such object; APR_EEXIST: uniqueness conflict;
 *   APR_EINVAL: bad input (reason in err); APR_ENOSPC: a limit (25 metadata
 *   pairs, domains, roles, pending logins); ORGS_ESTOREFULL: map full (nothing
 *   partially written); ORGS_ESTORE: other LMDB errors; ORGS_ENOKEY: a
 *   connection secret needs the crypto key;
 * - results are copied into the caller's pool; no LMDB pointer escapes;
 * - ORG references accept a name or an id ("org_..."), CONN a name or an id
 *   ("con_..."); users are referenced by id ("usr_...").
 * - times are apr_time_t (microseconds since the epoch).
 */
#ifndef ORGS_STORE_H
#define ORGS_STORE_H

#include <stdio.h>
#include <sys/types.h>

#include "orgs.h"
#include "crypto.h"

/* Bumped when the on-disk layout changes; a store with a newer version is
 * refused with ORGS_EVERSION, an older one is migrated by a writable open
 * (in one transaction; src/core/store/migrate.c). A read-only open of an
 * older store reads it as it is (records carry their format in their first
 * byte) and leaves it unchanged. 2: binary org and user records, session
 * records without the claims JSON. 3: session records hold the exports
 * prepared at sign-in (export.h); the migration to 3 ends every session
 * (they are short-lived: users sign in again). */
#define ORGS_STORE_FORMAT_VERSION 3

#define ORGS_STORE_DEFAULT_MAP_SIZE ((apr_uint64_t)1 << 30)
/* The smallest map OrgsStoreMaxSize and orgctl --max-size accept. */
#define ORGS_STORE_MIN_MAP_SIZE ((apr_uint64_t)1 << 20)

/* Global bound on pending logins (all browsers together). Unauthenticated
 * clients create them, and one without the browser cookie is a new browser
 * each time, so the per-browser cap alone does not bound the table. At
 * ~4 KiB each (return_to up to ORGS_URL_MAX) this is ~80 MiB at most: keep
 * OrgsStoreMaxSize well above it. */
#define ORGS_STORE_PENDING_MAX 20000
/* What one pending login may take in the map at most (a return_to of
 * ORGS_URL_MAX makes its record an overflow page, plus its two index
 * entries). */
#define ORGS_STORE_PENDING_BYTES (6 * 1024)
/* The fewest pending logins a map must hold: OrgsStoreMaxSize is refused
 * at configuration time below that (orgs_store_pending_max_for). */
#define ORGS_STORE_PENDING_MIN 256

/* The global bound on pending logins for a map of map_size bytes: at most
 * a quarter of the map, so pending logins (which unauthenticated clients
 * create) can never fill it, and at most ORGS_STORE_PENDING_MAX. A handle
 * opened with that map size starts with this bound. */
apr_size_t orgs_store_pending_max_for(apr_uint64_t map_size);

/* Sessions kept per (org, user): a member who can sign in at will (e.g.
 * through an auto-membership connection) cannot grow the table without
 * bound by logging in without the cookie; past this, each new session
 * drops the member's oldest. */
#define ORGS_STORE_SESSIONS_PER_MEMBER 10

/* Per-session size caps. The ID token kept for RP-initiated logout
 * (id_token_hint) is kept only when it is at most this long: a larger one
 * is not kept at all (logout then names the client instead, which OpenID
 * Connect RP-Initiated Logout allows), so a padded token cannot grow the
 * store. The prepared exports (names and values) are at most
 * ORGS_STORE_SESSION_EXPORTS_MAX bytes together. With the per-member
 * bound, a member's sessions stay under 256 KiB. */
#define ORGS_STORE_SESSION_HINT_MAX (4 * 1024)
#define ORGS_STORE_SESSION_EXPORTS_MAX (16 * 1024)

typedef struct orgs_store_t orgs_store_t;

typedef struct orgs_kv_t {
    const char *key;
    const char *value;
} orgs_kv_t;

/* One variable the app is told, prepared at sign-in (export.h): its
 * environment name (ORG_CLAIM_*, ORG_EMAIL), its request header name
 * (X-Org-Claim-*, X-Org-Email) and its value, all ready to set. */
typedef struct orgs_export_t {
    const char *env;
    const char *header;
    const char *value;
} orgs_export_t;

typedef struct orgs_org_t {
    const char *id; /* "org_" + 16 base62 */
    const char *name;
    const char *display_name;    /* defaults to name */
    apr_array_header_t *meta;    /* orgs_kv_t, sorted by key */
    apr_array_header_t *domains; /* const char *, lowercase, sorted */
    apr_time_t created;
    apr_time_t updated;
    /* branding, each NULL when unset (brand.h): shown on the org's pages */
    const char *logo_url;              /* https:// or data:image/ URL */
    const char *color_primary;         /* #rrggbb: buttons */
    const char *color_page_background; /* #rrggbb */
} orgs_org_t;

typedef struct orgs_conn_t {
    const char *id; /* "con_" + 16 base62 */
    const char *name;
    const char *display_name;
    const char *issuer; /* issuer or discovery base URL */
    const char *client_id;
    const char *client_secret; /* plaintext; only filled by *_get_secret, never listed */
    const char *scopes;        /* space separated, default "openid email profile" */
    const char *auth_method;   /* "client_secret_basic" (default) | "client_secret_post" */
    /* Hosts besides the issuer's origin where this connection's
     * token_endpoint and jwks_uri may be (const char *, lowercase, sorted,
     * unique; orgs_check_endpoint_hosts_normalize). NULL or empty: none.
     * In an update, NULL keeps the stored list and an empty array clears it. */
    apr_array_header_t *endpoint_hosts;
    apr_time_t created;
    apr_time_t updated;
} orgs_conn_t;

typedef struct orgs_enabled_conn_t {
    const char *conn_id;
    const char *conn_name;
    const char *conn_display_name;
    int auto_membership;
    const char *require; /* the auto-membership condition (orgs_check_auto_condition), or NULL */
} orgs_enabled_conn_t;

typedef struct orgs_user_t {
    const char *id; /* "usr_" + 16 base62 */
    const char *conn_id;
    const char *sub;   /* NULL for a user provisioned by email who never signed in */
    const char *email; /* lowercase domain; may be NULL */
    const char *name;  /* may be NULL */
    apr_time_t created;
    apr_time_t last_login; /* 0 = never */
} orgs_user_t;

typedef struct orgs_member_t {
    const char *org_id;
    const char *user_id;
    apr_array_header_t *roles; /* const char *, sorted, unique */
    apr_time_t created;
} orgs_member_t;

/* A signed-in browser's session for one org. The cookie carries a random
 * id; the store only keeps its SHA-256 (sid_hash, 32 bytes) as the key so a
 * copy of the store does not hand out live sessions. */
typedef struct orgs_session_t {
    const char *org_id;
    const char *user_id;
    const char *conn_id;
    const apr_array_header_t *exports; /* orgs_export_t prepared at sign-in
                                          (orgs_export_claims), may be NULL: none */
    const char *id_token_hint;         /* for RP-initiated logout, may be NULL; kept apart from
                                          the per-request record: the view leaves it NULL, read
                                          it with orgs_store_session_hint_get */
    apr_time_t created;
    apr_time_t last_seen;
    apr_time_t expires; /* absolute maximum lifetime */
} orgs_session_t;

/* Everything one authenticated request needs, read in one transaction. */
typedef struct orgs_session_view_t {
    orgs_session_t session;
    orgs_org_t org;
    orgs_user_t user;
    orgs_member_t member;
    const char *conn_name;
    /* session.exports, as prepared at sign-in: the request sets them as they are */
    /* every export of this view, names and values final, as environment
     * variables and as request headers (orgs_export_view_prepare), made
     * when the view cache keeps the view, so its requests only add them;
     * NULL: not made */
    const apr_table_t *ready_env;
    const apr_table_t *ready_headers;
} orgs_session_view_t;

/* A login in progress (authorization request sent, callback pending). */
typedef struct orgs_pending_t {
    const char *state;         /* key; random, base64url */
    unsigned char browser[32]; /* hash of the browser-binding cookie */
    const char *nonce;
    const char *code_verifier;
    const char *org_id;
    const char *conn_id;
    const char *return_to;
    apr_time_t created;
    const char *invite; /* the invitation followed: its ticket's hash
                           (orgs_store_invite_ticket_hash), or NULL */
} orgs_pending_t;

typedef struct orgs_invite_t {
    const char *id; /* "inv_" + 16 base62 */
    const char *org_id;
    const char *email;
    apr_array_header_t *roles;
    apr_time_t created;
    apr_time_t expires;
    const char *inviter;     /* who invited (free text: "orgctl:root", "user:usr_..."); at
                                create, NULL takes the thread's actor (orgs_store_actor_set) */
    int any_email;           /* 0 (default): only a sign-in whose verified, trusted email is
                                the invited one accepts it; 1: whoever follows the URL */
    const char *ticket;      /* out of orgs_store_invite_create only: the secret of the
                                invitation URL, shown once; the store keeps its hash */
    const char *ticket_hash; /* SHA-256 of the ticket, base64url (the stored key) */
} orgs_invite_t;

/* An invitation lives 7 days unless told otherwise, 30 at most. */
#define ORGS_INVITE_TTL_DEFAULT apr_time_from_sec(7 * 86400)
#define ORGS_INVITE_TTL_MAX apr_time_from_sec(30 * 86400)

typedef struct orgs_store_stat_t {
    apr_uint64_t map_size;
    apr_uint64_t used_bytes; /* last page * page size */
    unsigned version;
    apr_size_t orgs, conns, users, members, sessions;
    apr_size_t pending; /* logins started, not yet completed or swept */
} orgs_store_stat_t;

/* ---- environment ---------------------------------------------------- */

enum {
    ORGS_STORE_RDONLY = 1, /* open read-only (no writes allowed) */
    ORGS_STORE_CREATE = 2, /* create the directory's data files if missing */
    /* Used by several threads at once (httpd children): a map grown beyond
     * this process's size by another process is then refused
     * (ORGS_ESTORE, until a restart) instead of remapped, because LMDB may
     * only remap while no transaction of the process is active. */
    ORGS_STORE_THREADED = 4,
    /* Records map_size in the store as its map size (httpd's parent with
     * OrgsStoreMaxSize, orgctl --max-size); a read-only open ignores it. */
    ORGS_STORE_MAP_RECORD = 8,
    /* Maps at the size the store records when it records one (orgctl
     * without --max-size), else at map_size. */
    ORGS_STORE_MAP_RECORDED = 16,
};

/* Opens (and creates when allowed) the environment in dir, which must
 * exist. Opened with MDB_NOTLS and enough reader slots for threaded MPMs
 * (max_readers, 0 = 512); stale reader slots are cleared. Never use an
 * environment across fork(): open it in the child. keys may be NULL (then
 * connection secrets can be neither written nor read: ORGS_ENOKEY). A pool
 * cleanup closes it.
 * data.mdb and lock.mdb must be regular files with one link where they
 * exist: a symbolic link, hard link, directory, FIFO... is ORGS_ESTORE.
 * Run as root on a directory owned by another user (httpd's parent in
 * post_config, `sudo orgctl`), the files are opened and created with that
 * user's filesystem identity (Linux setfsuid/setfsgid, per thread, restored
 * before returning; these callers are single-threaded at that point), so
 * they belong to that user, httpd's children keep write access, and a file
 * planted by that user is opened only with that user's rights. ORGS_ESTORE
 * if the identity cannot be taken or restored.
 * Without ORGS_STORE_CREATE a directory holding no store is ORGS_ESTORE;
 * with ORGS_STORE_RDONLY every write returns ORGS_ESTORE. */
apr_status_t orgs_store_open(orgs_store_t **st, const char *dir, apr_uint64_t map_size,
                             unsigned max_readers, int flags, const orgs_crypto_keys_t *keys,
                             apr_pool_t *p, orgs_err_t *err);
void orgs_store_close(orgs_store_t *st);
apr_status_t orgs_store_stat(orgs_store_t *st, orgs_store_stat_t *out, orgs_err_t *err);
/* What data.mdb's header records, read without mapping it: the map size
 * the last writer used (LMDB keeps it in the file, so every process sees
 * the same) and the bytes in use up to its last page. APR_NOTFOUND when
 * there is no data.mdb or it is empty; ORGS_ESTORE when its header is not
 * LMDB's. Every writable and read-only open also checks that the file
 * holds the pages its header counts (ORGS_ESTORE "truncated") before
 * mapping it. */
apr_status_t orgs_store_file_info(const char *dir, apr_uint64_t *map_size, apr_uint64_t *used,
                                  apr_pool_t *p, orgs_err_t *err);
/* The map size running httpd accepts (its OrgsStoreMaxSize), kept in the
 * file dir/httpd-map-size (maplimit.c). orgs_store_maplimit_hold, in
 * httpd's parent at each start and restart: records max and this
 * process's id, and holds the record (a shared lock, kept while this
 * process or any child forked from it lives; the descriptor is closed by
 * p's cleanup, i.e. at the next restart, which records again; a record the
 * previous generation's children still hold is kept beside the new one
 * until they are gone).
 * orgs_store_maplimit_get, in orgctl: the smallest size of the records
 * running processes hold, in *max, with the *pid recorded with it and
 * *older 1 when it is a previous generation's (children still finishing
 * their requests after a graceful restart), else 0; 0, 0, 0 when none is
 * held (httpd stopped: a stale record is ignored) or there is none.
 * ORGS_ESTORE when a record cannot be opened, locked or read (or is not a
 * plain file). */
apr_status_t orgs_store_maplimit_hold(const char *dir, apr_uint64_t max, apr_pool_t *p,
                                      orgs_err_t *err);
apr_status_t orgs_store_maplimit_get(const char *dir, apr_uint64_t *max, long *pid, int *older,
                                     apr_pool_t *p, orgs_err_t *err);
/* Run as root for processes that will run as uid:gid (httpd's children):
 * ORGS_ESTORE, naming the file, unless that user can create a file in dir
 * and open its data.mdb and lock.mdb (where they exist) read-write. A
 * directory uid owns passes without a try (the open takes its identity);
 * does nothing when not root or uid is 0. */
apr_status_t orgs_store_check_access(const char *dir, uid_t uid, gid_t gid, apr_pool_t *p,
                                     orgs_err_t *err);

/* Space: a write that may grow the store (create, add, sign-in, pending
 * login, cache) is refused with ORGS_ESTOREFULL once the pages in use
 * leave less than a reserve (an eighth of the map, at most 64 MiB);
 * deletes, revocations, sign-outs, sweeps and session touches may use the
 * reserve, so they succeed on a store full for everything else. A disk
 * full (ENOSPC, EDQUOT) is ORGS_ESTOREFULL too.
 * Growth: a threaded handle (ORGS_STORE_THREADED) whose map another process
 * outgrew (orgctl --max-size) remaps to the size recorded in the file at
 * its next transaction, waiting until none of its threads is inside one. */

/* ---- organizations -------------------------------------------------- */

/* in: name, display_name (NULL = name), meta, domains (may be NULL).
 * out: id, created, updated are filled in org (strings in p). */
apr_status_t orgs_store_org_create(orgs_store_t *st, orgs_org_t *org, apr_pool_t *p,
                                   orgs_err_t *err);
apr_status_t orgs_store_org_get(orgs_store_t *st, const char *ref, orgs_org_t **out, apr_pool_t *p,
                                orgs_err_t *err);
/* Orgs sorted by name. */
apr_status_t orgs_store_org_list(orgs_store_t *st, apr_array_header_t **out /* orgs_org_t* */,
                                 apr_pool_t *p, orgs_err_t *err);
/* display_name NULL = unchanged; set_meta (orgs_kv_t) adds or replaces;
 * unset_meta (const char *) removes (APR_NOTFOUND if a key is absent). */
apr_status_t orgs_store_org_update(orgs_store_t *st, const char *ref, const char *display_name,
                                   const apr_array_header_t *set_meta,
                                   const apr_array_header_t *unset_meta, apr_pool_t *p,
                                   orgs_err_t *err);
/* orgs_store_org_update and, in the same transaction, the branding of
 * brand (logo_url, color_primary, color_page_background; the rest is
 * ignored; brand NULL: none): NULL keeps a field, "" clears it (brand.h). */
apr_status_t orgs_store_org_update_brand(orgs_store_t *st, const char *ref,
                                         const char *display_name,
                                         const apr_array_header_t *set_meta,
                                         const apr_array_header_t *unset_meta,
                                         const orgs_org_t *brand, apr_pool_t *p, orgs_err_t *err);
/* Removes the org with its domains, enablements, memberships (both
 * indexes), invitations and sessions, in one transaction. */
apr_status_t orgs_store_org_delete(orgs_store_t *st, const char *ref, apr_pool_t *p,
                                   orgs_err_t *err);
apr_status_t orgs_store_org_add_domain(orgs_store_t *st, const char *ref, const char *domain,
                                       apr_pool_t *p, orgs_err_t *err);
apr_status_t orgs_store_org_remove_domain(orgs_store_t *st, const char *ref, const char *domain,
                                          apr_pool_t *p, orgs_err_t *err);
/* Home-realm discovery: the org owning this (lowercased) domain. */
apr_status_t orgs_store_org_by_domain(orgs_store_t *st, const char *domain, orgs_org_t **out,
                                      apr_pool_t *p, orgs_err_t *err);

/* ---- connections ---------------------------------------------------- */

/* in: name, issuer, client_id, client_secret (plaintext, sealed with
 * keys->secrets and the conn id as AAD), display_name, scopes, auth_method
 * (NULLs take defaults). out: id, created. */
apr_status_t orgs_store_conn_create(orgs_store_t *st, orgs_conn_t *conn, apr_pool_t *p,
                                    orgs_err_t *err);
/* client_secret is left NULL. */
apr_status_t orgs_store_conn_get(orgs_store_t *st, const char *ref, orgs_conn_t **out,
                                 apr_pool_t *p, orgs_err_t *err);
/* Also decrypts client_secret (needs keys). */
apr_status_t orgs_store_conn_get_secret(orgs_store_t *st, const char *ref, orgs_conn_t **out,
                                        apr_pool_t *p, orgs_err_t *err);
/* How many connection records this process has decoded (the others were
 * found decoded already, by their bytes): for tests. */
apr_uint64_t orgs_store_conn_decoded(void);
apr_status_t orgs_store_conn_list(orgs_store_t *st, apr_array_header_t **out /* orgs_conn_t* */,
                                  apr_pool_t *p, orgs_err_t *err);
/* Fields of upd that are non-NULL replace the stored ones (name cannot
 * change; client_secret re-sealed with a fresh nonce). A new issuer on a
 * connection that has users: APR_EEXIST (nothing written), since users are
 * bound to (connection, sub) under the issuer and another issuer's sub may
 * be somebody else; see orgs_store_conn_update_flags. */
apr_status_t orgs_store_conn_update(orgs_store_t *st, const char *ref, const orgs_conn_t *upd,
                                    apr_pool_t *p, orgs_err_t *err);
/* The same with flags for an issuer change on a connection with users:
 * ORGS_CONN_MIGRATE_USERS keeps them (the new issuer vouches for the same
 * subs), ORGS_CONN_DROP_USERS removes them with their memberships. Either
 * way every session signed in through the connection ends, in the same
 * transaction. Without a new issuer the flags change nothing. */
#define ORGS_CONN_MIGRATE_USERS 0x1u
#define ORGS_CONN_DROP_USERS 0x2u
apr_status_t orgs_store_conn_update_flags(orgs_store_t *st, const char *ref, const orgs_conn_t *upd,
                                          unsigned flags, apr_pool_t *p, orgs_err_t *err);
/* Removes the connection and its enablements. Users of the connection and
 * their memberships and sessions go too. */
apr_status_t orgs_store_conn_delete(orgs_store_t *st, const char *ref, apr_pool_t *p,
                                    orgs_err_t *err);

/* ---- enablement ----------------------------------------------------- */

/* Enables (or updates the auto-membership flag of) conn on org; any
 * auto-membership condition is cleared. */
apr_status_t orgs_store_org_enable_conn(orgs_store_t *st, const char *org_ref, const char *conn_ref,
                                        int auto_membership, apr_pool_t *p, orgs_err_t *err);
/* The same with an auto-membership condition (NULL: none), met by a
 * non-member's sign-in before auto-membership admits them
 * (orgs_signin_condition_met): "claim:NAME=VALUE" or "email-domain".
 * APR_EINVAL for a condition orgs_check_auto_condition refuses or a
 * condition without auto_membership. */
apr_status_t orgs_store_org_enable_conn_require(orgs_store_t *st, const char *org_ref,
                                                const char *conn_ref, int auto_membership,
                                                const char *require, apr_pool_t *p,
                                                orgs_err_t *err);
/* Also ends, in the same transaction, the org's sessions signed in through
 * that connection (an org-scoped walk of the session index).
 * APR_NOTFOUND if org, conn or the enablement does not exist. */
apr_status_t orgs_store_org_disable_conn(orgs_store_t *st, const char *org_ref,
                                         const char *conn_ref, apr_pool_t *p, orgs_err_t *err);
/* Enabled connections of an org, sorted by connection name. */
apr_status_t orgs_store_org_conns(orgs_store_t *st, const char *org_ref,
                                  apr_array_header_t **out /* orgs_enabled_conn_t* */,
                                  apr_pool_t *p, orgs_err_t *err);
/* APR_NOTFOUND when conn is not enabled on org. */
apr_status_t orgs_store_org_conn_get(orgs_store_t *st, const char *org_id, const char *conn_id,
                                     orgs_enabled_conn_t **out, apr_pool_t *p, orgs_err_t *err);

/* ---- users ---------------------------------------------------------- */

/* Sign-in upsert: finds the user by (conn, sub); else adopts a user of the
 * same connection provisioned by email with no sub yet (binding the sub);
 * else creates one. Updates email, name and last_login. *created tells
 * whether a new user was made. */
apr_status_t orgs_store_user_login(orgs_store_t *st, const char *conn_id, const char *sub,
                                   const char *email, const char *name, apr_time_t now,
                                   orgs_user_t **out, int *created, apr_pool_t *p, orgs_err_t *err);
apr_status_t orgs_store_user_get(orgs_store_t *st, const char *user_id, orgs_user_t **out,
                                 apr_pool_t *p, orgs_err_t *err);
apr_status_t orgs_store_user_by_sub(orgs_store_t *st, const char *conn_ref, const char *sub,
                                    orgs_user_t **out, apr_pool_t *p, orgs_err_t *err);
/* The user of conn with this email (case-insensitive domain). */
apr_status_t orgs_store_user_by_email(orgs_store_t *st, const char *conn_ref, const char *email,
                                      orgs_user_t **out, apr_pool_t *p, orgs_err_t *err);
/* All users, or (email != NULL) those with that email across connections. */
apr_status_t orgs_store_user_list(orgs_store_t *st, const char *email,
                                  apr_array_header_t **out /* orgs_user_t* */, apr_pool_t *p,
                                  orgs_err_t *err);
/* Creates a user of conn known only by email or sub (for member add before
 * the first sign-in); returns the existing one if already there. */
apr_status_t orgs_store_user_provision(orgs_store_t *st, const char *conn_ref, const char *email,
                                       const char *sub, orgs_user_t **out, apr_pool_t *p,
                                       orgs_err_t *err);
/* Removes the user, all memberships and sessions. */
apr_status_t orgs_store_user_delete(orgs_store_t *st, const char *user_id, apr_pool_t *p,
                                    orgs_err_t *err);

/* ---- members and roles ---------------------------------------------- */

/* APR_EEXIST if already a member. roles may be NULL. */
apr_status_t orgs_store_member_add(orgs_store_t *st, const char *org_ref, const char *user_id,
                                   const apr_array_header_t *roles, apr_pool_t *p, orgs_err_t *err);
/* The hot-path question: is user a member of org (ids, not names), with
 * which roles. APR_NOTFOUND if not. */
apr_status_t orgs_store_member_get(orgs_store_t *st, const char *org_id, const char *user_id,
                                   orgs_member_t **out, apr_pool_t *p, orgs_err_t *err);
/* Also removes the user's sessions for that org. */
apr_status_t orgs_store_member_remove(orgs_store_t *st, const char *org_ref, const char *user_id,
                                      apr_pool_t *p, orgs_err_t *err);
/* An org's members (index range, never a scan of all members). */
apr_status_t orgs_store_member_list(orgs_store_t *st, const char *org_ref,
                                    apr_array_header_t **out /* orgs_member_t* */, apr_pool_t *p,
                                    orgs_err_t *err);
/* A user's memberships (reverse index). */
apr_status_t orgs_store_user_orgs(orgs_store_t *st, const char *user_id,
                                  apr_array_header_t **out /* orgs_member_t* */, apr_pool_t *p,
                                  orgs_err_t *err);
apr_status_t orgs_store_role_add(orgs_store_t *st, const char *org_ref, const char *user_id,
                                 const apr_array_header_t *roles, apr_pool_t *p, orgs_err_t *err);
apr_status_t orgs_store_role_remove(orgs_store_t *st, const char *org_ref, const char *user_id,
                                    const apr_array_header_t *roles, apr_pool_t *p,
                                    orgs_err_t *err);

/* ---- sessions ------------------------------------------------------- */

/* Sessions whose delete failed are refused all the same, by a note in the
 * process. For the note to hold in every process (httpd's children),
 * the parent makes a region of memory they all share, before they fork,
 * of orgs_store_revoked_shared_size() bytes, and prepares it with
 * orgs_store_revoked_shared_init (1: ready; a region already prepared by
 * this layout keeps its notes); each process then gives it to its handle
 * with orgs_store_revoked_share (a region of another layout is ignored). */
apr_size_t orgs_store_revoked_shared_size(void);
int orgs_store_revoked_shared_init(void *mem, apr_size_t size);
void orgs_store_revoked_share(orgs_store_t *st, void *mem);

/* sid_hash: SHA-256 of the cookie's session id (32 bytes). APR_NOTFOUND
 * unless s->user_id is a member of s->org_id and s->conn_id exists: a
 * session never outlives its membership. APR_EINVAL: inconsistent times,
 * id_token_hint over ORGS_STORE_SESSION_HINT_MAX bytes, exports over
 * ORGS_STORE_SESSION_EXPORTS_MAX bytes together, or an export string that
 * is empty (a name) or not UTF-8. In the same transaction, the
 * member's other sessions beyond ORGS_STORE_SESSIONS_PER_MEMBER - 1 are
 * deleted, oldest (by created) first; this one is always kept. */
apr_status_t orgs_store_session_put(orgs_store_t *st, const unsigned char sid_hash[32],
                                    const orgs_session_t *s, apr_pool_t *p, orgs_err_t *err);
/* The per-request read: session, its org, user, membership and connection
 * name in one read transaction. APR_NOTFOUND if the session is absent; also
 * APR_NOTFOUND if the org, user, membership or connection is gone;
 * ORGS_EEXPIRED if now > expires or now - last_seen > idle (idle <= 0: no
 * idle limit). session.exports are the prepared exports (one copy of
 * the record's block into p); session.id_token_hint is NULL (see
 * orgs_store_session_hint_get). */
apr_status_t orgs_store_session_view(orgs_store_t *st, const unsigned char sid_hash[32],
                                     apr_time_t now, apr_interval_time_t idle,
                                     orgs_session_view_t **out, apr_pool_t *p, orgs_err_t *err);
/* The per-request read by the cookie's session id itself (sid, sid_len
 * bytes): the result of orgs_store_session_view for SHA-256(sid), with
 * sid_hash set to that digest (also on APR_NOTFOUND and ORGS_EEXPIRED).
 * *out is read-only and stays valid until p is cleared.
 * With the view cache enabled (orgs_store_view_cache_enable), a view read
 * before is served again, without a digest or a transaction, only while
 * the store has not changed since: the last committed transaction, by any
 * process, is still the one it was read under; its session id is not in
 * the note of failed deletes; and its times are checked against now and
 * idle on every use, as the store read does. Any write anywhere makes
 * every entry a miss, so a revocation is exact. Only a valid session's
 * view enters the cache, keyed by the whole session id (compared in
 * constant time); *cached is set to 1 when the view came from it (cached
 * may be NULL). */
apr_status_t orgs_store_session_view_sid(orgs_store_t *st, const char *sid, apr_size_t sid_len,
                                         apr_time_t now, apr_interval_time_t idle,
                                         unsigned char sid_hash[32],
                                         const orgs_session_view_t **out, int *cached,
                                         apr_pool_t *p, orgs_err_t *err);
/* Gives the handle a cache of slots prepared session views (a fixed
 * table: a new view replaces the one in its slot; 0 leaves it disabled),
 * safe for concurrent threads. Call once, after the open, before the
 * handle is shared between threads. APR_ENOMEM when it cannot be made. */
apr_status_t orgs_store_view_cache_enable(orgs_store_t *st, apr_size_t slots, orgs_err_t *err);
/* How many slots hold a view (for tests and the status page). */
apr_size_t orgs_store_view_cache_used(orgs_store_t *st);
/* The ID token kept for RP-initiated logout: *hint is a copy in p, NULL when
 * the session has none. APR_NOTFOUND if there is no such session. Read
 * only at logout, so the per-request record stays small. */
apr_status_t orgs_store_session_hint_get(orgs_store_t *st, const unsigned char sid_hash[32],
                                         const char **hint, apr_pool_t *p, orgs_err_t *err);
/* Throttled by the caller: sets last_seen. */
apr_status_t orgs_store_session_touch(orgs_store_t *st, const unsigned char sid_hash[32],
                                      apr_time_t now, apr_pool_t *p, orgs_err_t *err);
apr_status_t orgs_store_session_delete(orgs_store_t *st, const unsigned char sid_hash[32],
                                       apr_pool_t *p, orgs_err_t *err);
/* Deletes sessions past expiry or idle; *removed counts them. Works in
 * short write transactions (each examines a bounded number of sessions and
 * deletes at most a bounded number), so writers are never held up for
 * long; a session written meanwhile may be left for the next purge. On
 * an error, the batches committed before it stay done and *removed counts
 * them. A session record that cannot be read is skipped (orgs_store_check
 * reports it). */
apr_status_t orgs_store_session_purge(orgs_store_t *st, apr_time_t now, apr_interval_time_t idle,
                                      apr_size_t *removed, apr_pool_t *p, orgs_err_t *err);

/* At most max_batches purge batches (orgs_store_session_purge's; 0 = no
 * bound), so the request that triggers it pays a bounded cost. resume:
 * NULL or "" to start at the first session, else a *next of an earlier
 * call; *next (hex, in p) is where to go on when *more says sessions were
 * left unread. */
apr_status_t orgs_store_session_purge_some(orgs_store_t *st, apr_time_t now,
                                           apr_interval_time_t idle, apr_size_t max_batches,
                                           const char *resume, const char **next,
                                           apr_size_t *removed, int *more, apr_pool_t *p,
                                           orgs_err_t *err);

/* Changes the batch bounds of orgs_store_session_purge on this handle:
 * sessions deleted and records read per transaction (0 = the default,
 * 1000 and 4000); for tests. */
void orgs_store_session_purge_set_batch(orgs_store_t *st, apr_size_t batch, apr_size_t scan);

/* ---- pending logins ------------------------------------------------- */

/* Stores a pending login. pl->created is "now" (0 = the current time); an
 * entry is expired when now - created > ttl. In one write transaction:
 * - drops a few expired entries (any browser), oldest first, through a
 *   time-ordered index, so old garbage never accumulates;
 * - keeps at most max_per_browser for pl->browser (its oldest dropped;
 *   0 = no per-browser cap);
 * - keeps the whole table at most at the store's global bound
 *   (ORGS_STORE_PENDING_MAX unless changed by orgs_store_pending_set_max):
 *   when full, drops all expired entries (oldest first, index walk), and if
 *   it is still full refuses with APR_ENOSPC (nothing written; the caller
 *   should answer 503: a temporary condition).
 * APR_EINVAL: bad state, nonce, verifier or return_to; APR_EEXIST: state
 * already pending; ORGS_ESTOREFULL: map full. */
apr_status_t orgs_store_pending_put(orgs_store_t *st, const orgs_pending_t *pl,
                                    unsigned max_per_browser, apr_interval_time_t ttl,
                                    apr_pool_t *p, orgs_err_t *err);
/* Length of a client tag (orgs_pending_admit_t.client): a keyed hash of
 * the client's address, made by the caller. */
#define ORGS_STORE_CLIENT_TAG_LEN 8

/* How orgs_store_pending_admit admits a login. */
typedef struct orgs_pending_admit_t {
    const unsigned char *client; /* ORGS_STORE_CLIENT_TAG_LEN bytes: the client's address,
                                    keyed-hashed; NULL = no per-client bound */
    const unsigned char *net;    /* ORGS_STORE_CLIENT_TAG_LEN bytes: the client's network (an
                                    IPv4 /24, an IPv6 /48), keyed-hashed; NULL = one for all */
    unsigned max_per_browser;    /* as orgs_store_pending_put (0 = none) */
    apr_size_t max_per_client;   /* live entries per client tag (0 = none) */
    apr_size_t max_per_net;      /* live entries per network tag (0 = none) */
    apr_size_t unproven_max;     /* live entries of the client at which a browser that has
                                    not shown a cookie of ours is refused (0 = never) */
    int proven;                  /* the browser showed a cookie this server issued */
    apr_interval_time_t ttl;
} orgs_pending_admit_t;

/* Stores a pending login like orgs_store_pending_put, in one write
 * transaction, but never refuses a client for what others did:
 * - the state is prefixed with the network's tag, the client's tag and
 *   the creation time (pl->state becomes the stored one, in p: send that
 *   to the IdP), so a network's entries are one range of the table and a
 *   client's one range within it, oldest first;
 * - a browser that has not shown a cookie of ours (lim->proven 0) is
 *   refused with ORGS_EDENIED, nothing written, when its client already
 *   holds lim->unproven_max live entries: the caller asks it to show one;
 * - at lim->max_per_client live entries, the client's oldest is dropped;
 * - at lim->max_per_net live entries, the network's oldest is dropped;
 * - when the whole table is at its global bound and no entry is expired,
 *   the oldest entry of the fullest network (of its fullest client) is
 *   dropped instead of refusing everybody: a network that floods the
 *   table displaces its own entries, not those of other networks.
 * *evicted counts the live entries dropped by the last two rules. Returns
 * as orgs_store_pending_put otherwise (never APR_ENOSPC). */
apr_status_t orgs_store_pending_admit(orgs_store_t *st, orgs_pending_t *pl,
                                      const orgs_pending_admit_t *lim, apr_size_t *evicted,
                                      apr_pool_t *p, orgs_err_t *err);

/* Changes the global bound on pending logins of this handle (0 = back to
 * ORGS_STORE_PENDING_MAX); for small maps and tests. */
void orgs_store_pending_set_max(orgs_store_t *st, apr_size_t max);
/* Single use, bound to a browser: browser is the caller's HMAC of its
 * browser-binding cookie (NULL = the request has no cookie). In one write
 * transaction: APR_NOTFOUND if unknown (or already used); ORGS_EDENIED if
 * browser is NULL or differs (constant-time compare) from the one it was
 * issued to, and the entry is LEFT IN PLACE (a leaked state cannot burn
 * someone else's login); otherwise the entry is deleted and returned, or
 * ORGS_EEXPIRED if it is older than ttl (deleted too). */
apr_status_t orgs_store_pending_take(orgs_store_t *st, const char *state,
                                     const unsigned char browser[32], apr_time_t now,
                                     apr_interval_time_t ttl, orgs_pending_t **out, apr_pool_t *p,
                                     orgs_err_t *err);

/* ---- sign-in: the callback's store changes, all or nothing ----------- */

/* What a verified callback hands to the store. */
struct json_t; /* jansson's; the store never parses it, signin.c's condition does */
typedef struct orgs_signin_t {
    const char *state;                 /* the pending login, consumed here */
    const char *org_id;                /* from the pending login */
    const char *conn_id;               /* from the pending login */
    const char *sub;                   /* the ID token's sub */
    const char *email;                 /* trusted email (signin.c), or NULL */
    const char *name;                  /* display name, or NULL */
    const unsigned char *old_sid_hash; /* this browser's previous session for the org, or NULL */
    const unsigned char *sid_hash;     /* the new session's key (32 bytes) */
    orgs_session_t session;            /* exports, id_token_hint, created, last_seen, expires;
                                          org_id, conn_id and user_id are filled in here */
    apr_time_t now;
    apr_interval_time_t ttl; /* the pending login's lifetime (0 = not checked again) */
    const struct orgs_store_quota_t *quota; /* the tenant bounds applied; NULL = none */
    int over_quota; /* out: the orgs_quota_kind_t that refused it (APR_ENOSPC), else 0 */
    const struct json_t *claims; /* the ID token's claims, for an auto-membership condition */
    /* appended: invitations (the pending login's invite) */
    const char *invite;    /* the ticket hash the login followed, or NULL */
    int email_verified;    /* the IdP said email_verified: true about email */
    int invite_refused;    /* out: the orgs_invite_refusal_t (signin.h) when admitted is
                              ORGS_ADMIT_INVITE_REFUSED */
    const char *invite_id; /* out: the invitation accepted or refused, when known */
    int user_created;      /* out: the sign-in made a new user (counted in its minute) */
    const struct apr_array_header_t *audit; /* out, in capture mode: the audit records'
                                               texts, written on the node that served it */
    /* appended: a pending login kept in the browser's cookie rather than in
     * the store: its creation time (0: a stored one, consumed by state).
     * The commit marks state used until sealed_created + ttl instead
     * (APR_NOTFOUND when it is marked already); in capture mode the
     * database records it (PostgreSQL's pending_used). */
    apr_time_t sealed_created;
} orgs_signin_t;

/* ---- tenant quotas: what one connection or org may add --------------- */

/* Bounds a sign-in must stay within, so that one customer's IdP (or one
 * org) cannot fill the store shared by all orgs. 0 = no bound. Checked in
 * orgs_store_signin_commit's transaction; a refusal writes nothing. */
typedef struct orgs_store_quota_t {
    apr_size_t users_per_conn;    /* users of one connection (a new sub is refused at it) */
    apr_size_t new_users_per_min; /* users created per connection per minute */
    apr_size_t users_per_org;     /* members an org may have for auto-membership to add one */
    apr_size_t sessions_per_org;  /* sessions of one org (expired ones count until swept) */
} orgs_store_quota_t;

/* What refused a sign-in (orgs_signin_t.over_quota). */
typedef enum {
    ORGS_QUOTA_NONE = 0,
    ORGS_QUOTA_USERS_PER_CONN,
    ORGS_QUOTA_NEW_USERS_PER_MIN, /* temporary: the next minute admits again */
    ORGS_QUOTA_USERS_PER_ORG,
    ORGS_QUOTA_SESSIONS_PER_ORG,
    /* temporary: sign-ins of one org within OrgsLoginTimeout, bounded by
     * sessions_per_org (the used marks of logins kept in the cookie) */
    ORGS_QUOTA_SIGNINS_PER_ORG,
    /* temporary: an org's refused sign-ins through one connection within
     * OrgsLoginTimeout, bounded the same (their used marks) */
    ORGS_QUOTA_DENIALS_PER_CONN,
} orgs_quota_kind_t;

/* Deletes the users that have no membership and whose last sign-in (or,
 * never signed in, their creation) is before cutoff, with their indexes;
 * *removed counts them. In short write transactions like
 * orgs_store_session_purge (each reads a bounded number of users and
 * deletes at most a bounded number); on an error the batches committed
 * before it stay done. A user record that cannot be read is skipped. */
apr_status_t orgs_store_user_purge(orgs_store_t *st, apr_time_t cutoff, apr_size_t *removed,
                                   apr_pool_t *p, orgs_err_t *err);

/* One write transaction, one commit: consumes the pending login in->state
 * — only if it was started for in->org_id and in->conn_id (else
 * ORGS_EDENIED) and, when in->ttl is set, is still no older than in->ttl at
 * in->now (else ORGS_EEXPIRED): the IdP round trip since it was read may
 * have been long —, upserts the
 * user (orgs_store_user_login's rules), decides admission with
 * orgs_signin_admit(), adds the membership when the connection's
 * auto-membership admits a non-member, ends the old session and writes the
 * new one (orgs_store_session_put's rules). *admitted says what happened;
 * on ORGS_ADMIT_DENIED / ORGS_ADMIT_NOT_ENABLED / ORGS_ADMIT_UNMET (a
 * non-member whose sign-in does not meet the enablement's auto-membership
 * condition, checked against in->claims) the pending login is still
 * consumed and the user still upserted (when the connection is enabled),
 * but no membership or session is written. Returns APR_NOTFOUND when the
 * pending login is gone (used by a concurrent callback: nothing is
 * written), APR_EINVAL for a record the store refuses, APR_ENOSPC when
 * in->quota refuses it (in->over_quota says which bound: a new user over
 * the connection's users or its new users this minute, an auto-membership
 * join over the org's users, a session over the org's sessions),
 * ORGS_ESTOREFULL, ORGS_ESTORE. On any failure nothing is written, the pending login
 * included: the caller deletes it (orgs_store_pending_delete) so that a
 * state stays single use. *user is set whenever the user was upserted. */
apr_status_t orgs_store_signin_commit(orgs_store_t *st, orgs_signin_t *in, orgs_user_t **user,
                                      int *admitted /* orgs_admit_t */, apr_pool_t *p,
                                      orgs_err_t *err);

/* Reads a pending login without consuming it, with the checks of
 * orgs_store_pending_take (browser binding, ttl): the callback reads it
 * first, talks to the IdP, and consumes it in orgs_store_signin_commit, or
 * with orgs_store_pending_delete when it stops earlier. Same returns as
 * orgs_store_pending_take, except that an expired entry is deleted and an
 * unexpired one is left in place. */
apr_status_t orgs_store_pending_get(orgs_store_t *st, const char *state,
                                    const unsigned char browser[32], apr_time_t now,
                                    apr_interval_time_t ttl, orgs_pending_t **out, apr_pool_t *p,
                                    orgs_err_t *err);
/* Deletes a pending login; APR_NOTFOUND if it is gone already. */
apr_status_t orgs_store_pending_delete(orgs_store_t *st, const char *state, apr_pool_t *p,
                                       orgs_err_t *err);
/* Whether the pending login of state, kept in the browser's cookie
 * (orgs_signin_t.sealed_created), was signed in already on this store: the
 * callback asks before the IdP is (a replay is refused without it). */
apr_status_t orgs_store_pending_used(orgs_store_t *st, const char *state, int *used,
                                     orgs_err_t *err);
/* A used mark outlives the sealed cookie by this much: a clock stepped
 * back, or a longer OrgsLoginTimeout on another server reading the same
 * cookie, must not let the mark go while a copy of the cookie is valid. */
#define ORGS_PENDING_USED_MARGIN apr_time_from_sec(600)
/* Drops up to max used marks that expired by now, in one transaction
 * (*removed counts them): the store-full sweep's share. */
apr_status_t orgs_store_pending_used_sweep(orgs_store_t *st, apr_time_t now, apr_size_t max,
                                           apr_size_t *removed, apr_pool_t *p, orgs_err_t *err);
/* Whom the used mark of a sign-in with that outcome counts against: the
 * org when the user got in, "org/connection" (the two ids) when not. */
const char *orgs_store_used_owner(const orgs_signin_t *in, int admitted, apr_pool_t *p);
/* The quota a full share of that owner is: ORGS_QUOTA_SIGNINS_PER_ORG or
 * ORGS_QUOTA_DENIALS_PER_CONN (the store and PostgreSQL refuse alike). */
orgs_quota_kind_t orgs_store_used_full(int admitted);
/* The live (and not yet swept) used marks counted against owner_id. */
apr_status_t orgs_store_pending_used_count(orgs_store_t *st, const char *owner_id,
                                           apr_size_t *count, orgs_err_t *err);

/* ---- cache (discovery documents, JWKS), shared by all children ------- */

apr_status_t orgs_store_cache_put(orgs_store_t *st, const char *key, const char *value,
                                  apr_time_t fetched, apr_pool_t *p, orgs_err_t *err);
apr_status_t orgs_store_cache_get(orgs_store_t *st, const char *key, const char **value,
                                  apr_time_t *fetched, apr_pool_t *p, orgs_err_t *err);
/* A lease shared by every process on the store (one back-channel fetch per
 * issuer at a time): in one write transaction, APR_EBUSY when the entry key
 * exists with a time in (now - ttl, now]; otherwise it is written with the
 * value "" and the time now, and APR_SUCCESS returned. Released by
 * orgs_store_cache_put(st, key, "", 0, ...). APR_EINVAL without a key. */
apr_status_t orgs_store_cache_claim(orgs_store_t *st, const char *key, apr_time_t now,
                                    apr_interval_time_t ttl, apr_pool_t *p, orgs_err_t *err);

/* One admin API change of org_id (its id) counted in this node's minute
 * for that org (the cache database: per node, never replicated); past
 * limit changes in the minute, APR_ENOSPC with *retry the time until the
 * minute ends, nothing counted. limit 0: no bound, nothing counted. */
apr_status_t orgs_store_admin_rate_take(orgs_store_t *st, const char *org_id, apr_size_t limit,
                                        apr_time_t now, apr_interval_time_t *retry,
                                        orgs_err_t *err);

/* ---- invitations ---------------------------------------------------- */

/* An invitation of inv->email into inv->org_id (a name or an id) with
 * inv->roles. in: created (0 = now), expires (0 = created +
 * ORGS_INVITE_TTL_DEFAULT; later than created + ORGS_INVITE_TTL_MAX is
 * APR_EINVAL), inviter (NULL = the thread's actor), any_email. out: id,
 * ticket (a fresh random secret for the URL, in p: only its hash is kept)
 * and ticket_hash. The URL is orgs_store_invite_url's. */
apr_status_t orgs_store_invite_create(orgs_store_t *st, orgs_invite_t *inv, apr_pool_t *p,
                                      orgs_err_t *err);
/* The org's invitations, expired ones included (by id). */
apr_status_t orgs_store_invite_list(orgs_store_t *st, const char *org_ref,
                                    apr_array_header_t **out /* orgs_invite_t* */, apr_pool_t *p,
                                    orgs_err_t *err);
/* Deletes the invitation (its ticket no longer works). APR_NOTFOUND. */
apr_status_t orgs_store_invite_revoke(orgs_store_t *st, const char *id, apr_pool_t *p,
                                      orgs_err_t *err);
/* One invitation by id; APR_NOTFOUND. */
apr_status_t orgs_store_invite_get(orgs_store_t *st, const char *id, orgs_invite_t **out,
                                   apr_pool_t *p, orgs_err_t *err);
/* The invitation whose ticket hashes to ticket_hash (from the URL, through
 * orgs_store_invite_ticket_hash): APR_NOTFOUND (unknown, used or revoked),
 * ORGS_EEXPIRED (past expires at now; *out is still set), else
 * APR_SUCCESS. Read only: a sign-in consumes it (orgs_store_signin_commit). */
apr_status_t orgs_store_invite_by_ticket(orgs_store_t *st, const char *ticket_hash, apr_time_t now,
                                         orgs_invite_t **out, apr_pool_t *p, orgs_err_t *err);
/* Open invitations one org may hold (OrgsMaxInvitationsPerOrg): a create
 * at the bound first deletes the org's expired invitations, then is
 * refused with APR_ENOSPC. Set per handle; 0 = no bound. */
#define ORGS_STORE_INVITES_PER_ORG_DEFAULT 1000
void orgs_store_invite_set_max_per_org(orgs_store_t *st, apr_size_t max);
/* The sweep of expired invitations: at most max_batches transactions (0 =
 * no bound), each reading at most 1000 invitations and deleting the
 * expired ones (without an audit record: nobody changed them). resume:
 * NULL or "" to start at the first, else an earlier *next; *next (in p)
 * is where to go on, NULL when the walk reached the end. On an error the
 * batches committed before it stay done and *removed counts them. */
apr_status_t orgs_store_invite_purge_some(orgs_store_t *st, apr_time_t now, apr_size_t max_batches,
                                          const char *resume, const char **next,
                                          apr_size_t *removed, apr_pool_t *p, orgs_err_t *err);
/* SHA-256 of a ticket, base64url (in p); NULL when ticket is NULL, empty
 * or longer than a ticket can be. */
const char *orgs_store_invite_ticket_hash(const char *ticket, apr_pool_t *p);
/* The invitation URL: login_url (e.g. "https://app.example/orgs/login";
 * NULL = "/orgs/login") with invitation=TICKET&organization=ORG. */
const char *orgs_store_invite_url(const char *login_url, const char *ticket, const char *org_name,
                                  apr_pool_t *p);

/* ---- audit log (store/audit.c) ---------------------------------------- */

/* Every write of the store that changes orgs, connections, enablements,
 * domains, users, members, roles or invitations appends an audit record
 * in the same transaction as the change, attributed to the calling
 * thread's actor: who ("orgctl:root", "login:okta", "invitation",
 * "token:tok_...", "user:usr_...") and from where (a client address,
 * "shell"). Set it before the writes, clear it after; a thread that set
 * none is recorded as "unknown". The actor is per thread and per handle:
 * set on another handle it does not apply. Strings longer than
 * ORGS_STORE_ACTOR_MAX bytes are cut. */
#define ORGS_STORE_ACTOR_MAX 128
void orgs_store_actor_set(orgs_store_t *st, const char *who, const char *from);
void orgs_store_actor_clear(orgs_store_t *st);

/* Records kept per org at most: past it, each new record of the org drops
 * its oldest (so one tenant, e.g. a hostile IdP joining users by
 * auto-membership at every login, cannot fill the store through it).
 * Records about no org (connections) are bounded by age only. */
#define ORGS_STORE_AUDIT_PER_ORG_DEFAULT 10000
/* A record's before/after are left out (and "truncated" set) past this. */
#define ORGS_STORE_AUDIT_RECORD_MAX 4096
/* Changes the per-org bound of this handle (0 = the default). */
void orgs_store_audit_set_max_per_org(orgs_store_t *st, apr_size_t max);

/* Writes an audit record in its own transaction: for changes made outside
 * the store's writers (the admin API's tokens). action is "object.verb"
 * ("token.create"); org_id, target, before and after (JSON text) may be
 * NULL. A writer inside the store records its change itself. */
apr_status_t orgs_store_audit_append(orgs_store_t *st, const char *action, const char *org_id,
                                     const char *target, const char *before, const char *after,
                                     apr_pool_t *p, orgs_err_t *err);

typedef struct orgs_audit_t {
    const char *id; /* the record's key: 16 hex digits, time-ordered (a paging cursor) */
    apr_time_t time;
    const char *actor;  /* who */
    const char *from;   /* from where, or NULL */
    const char *action; /* "org.create", "member.add", "invitation.accept", ... */
    const char *org_id; /* the org concerned, or NULL */
    const char *target; /* the object changed (an id, a domain, a connection id), or NULL */
    const char *before; /* JSON text of the object before, or NULL */
    const char *after;  /* JSON text of the object after, or NULL */
    int truncated;      /* before/after were too large and left out */
} orgs_audit_t;

typedef struct orgs_audit_query_t {
    const char *org;  /* an org name or id (an id also of an org deleted since); NULL = all */
    const char *from; /* a record id: start after it (paging); NULL = the oldest */
    apr_time_t since; /* only records at or after this time (0 = all) */
    apr_size_t limit; /* at most this many (0 = 100) */
} orgs_audit_query_t;

/* Records in time order (oldest first) matching q, one read transaction,
 * a cursor from q->from (no offset scan). *next is the id to pass as
 * q->from for the next page, NULL when there is none. */
apr_status_t orgs_store_audit_list(orgs_store_t *st, const orgs_audit_query_t *q,
                                   apr_array_header_t **out /* orgs_audit_t* */, const char **next,
                                   apr_pool_t *p, orgs_err_t *err);
/* Deletes records older than before, at most max (0 = 1000) in one short
 * write transaction, oldest first; *removed counts them, *more says older
 * ones are left (call again). Uses the store's reserve (a delete). */
apr_status_t orgs_store_audit_prune(orgs_store_t *st, apr_time_t before, apr_size_t max,
                                    apr_size_t *removed, int *more, apr_pool_t *p, orgs_err_t *err);

/* ---- usage statistics (store/stats.c) --------------------------------- */

/* Per org and day (UTC): sign-ins and denials, counted at sign-in (the
 * commit counts in its own transaction; a refusal before it calls
 * orgs_store_stats_count). Kept ORGS_STORE_STATS_DAYS days. */
#define ORGS_STORE_STATS_DAYS 400

typedef enum {
    ORGS_STATS_SIGNIN = 0, /* a session was written */
    ORGS_STATS_DENIAL = 1, /* a sign-in to the org refused */
    ORGS_STATS_JOIN = 2,   /* a member added at sign-in (auto-membership, invitation) */
    ORGS_STATS_KINDS = 3
} orgs_stats_kind_t;

/* Adds one to kind for org_id on now's day, in one write transaction.
 * APR_NOTFOUND if the org is gone. */
apr_status_t orgs_store_stats_count(orgs_store_t *st, const char *org_id, int kind, apr_time_t now,
                                    apr_pool_t *p, orgs_err_t *err);

typedef struct orgs_stats_day_t {
    apr_time_t day; /* midnight UTC */
    apr_uint64_t signins, denials, joins;
} orgs_stats_day_t;

typedef struct orgs_org_stats_t {
    const char *org_id;
    apr_size_t members;        /* members now */
    apr_size_t active_members; /* members seen (signed in, or a session used) in the window */
    apr_uint64_t signins, denials, joins; /* totals over the window */
    apr_array_header_t *days; /* orgs_stats_day_t, oldest first, every day of the window */
} orgs_org_stats_t;

/* The org's usage over the last `days` days up to now (1..ORGS_STORE_STATS_DAYS;
 * 0 = 30), one read transaction. */
apr_status_t orgs_store_org_stats(orgs_store_t *st, const char *org_ref, unsigned days,
                                  apr_time_t now, orgs_org_stats_t **out, apr_pool_t *p,
                                  orgs_err_t *err);

/* ---- whole-store operations ----------------------------------------- */

/* Writes the whole store as JSON Lines to fp, one object per line with a
 * "type" field (org, conn, enable, user, member, invite), after a first
 * line {"type":"format","version":ORGS_STORE_FORMAT_VERSION} (not counted;
 * import refuses a newer version and reads exports without it). Sessions, pending
 * logins, cache, the audit log and usage counters are not exported (an
 * import is one "store.import" audit record). Connection secrets are exported sealed
 * (base64), so the same key is needed on import. */
apr_status_t orgs_store_export(orgs_store_t *st, FILE *fp, apr_size_t *count, apr_pool_t *p,
                               orgs_err_t *err);
/* Reads JSON Lines from fp into the store in ONE transaction: all or
 * nothing. Existing objects with the same id are conflicts (APR_EEXIST)
 * unless the store is empty. err names the failing line. */
apr_status_t orgs_store_import(orgs_store_t *st, FILE *fp, apr_size_t *count, apr_pool_t *p,
                               orgs_err_t *err);
/* Verifies every index against its records (names, domains, enablements,
 * member forward/reverse, users by sub/email, sessions' targets); each
 * problem is appended to problems (const char *). APR_SUCCESS with an empty
 * array means consistent. */
apr_status_t orgs_store_check(orgs_store_t *st, apr_array_header_t **problems, apr_pool_t *p,
                              orgs_err_t *err);
/* orgs_store_check, and also reads every byte of every record of every
 * database (the cache, pending logins and the free list included), so
 * damage anywhere in the file is met. Damage LMDB does not detect may
 * make it abort the process: run it in a child process (orgctl check
 * does). */
apr_status_t orgs_store_check_deep(orgs_store_t *st, apr_array_header_t **problems, apr_pool_t *p,
                                   orgs_err_t *err);
/* A compacted copy of the store (free pages left out) written to fd, from
 * one read transaction: consistent while other processes write. */
apr_status_t orgs_store_backup(orgs_store_t *st, int fd, orgs_err_t *err);
/* Installs file (a backup) as dir's data.mdb: refused (ORGS_ESTORE) while
 * any process has the store open (httpd, orgctl); the copy is checked
 * first (an LMDB file of this module, not truncated), then renamed into
 * place, owned by the directory's owner, and the old lock file removed. */
apr_status_t orgs_store_restore(const char *dir, const char *file, const orgs_crypto_keys_t *keys,
                                apr_pool_t *p, orgs_err_t *err);

/* ---- the key check value (store/keycheck.c) ---------------------------- */

/* The store keeps a check value of its crypto key in its meta database
 * ("keycheck": HMAC-SHA256 of a fixed label under keys->secrets; never the
 * key), so a wrong key is found before it seals a secret nobody can open
 * or httpd starts with it. Adding it is not a format change. */
typedef enum {
    ORGS_STORE_KEY_MATCH,    /* the recorded value is this key's */
    ORGS_STORE_KEY_RECORDED, /* none was recorded; this key proved itself and is now */
    ORGS_STORE_KEY_UNPROVEN, /* none recorded, none written (record = 0), no secret against it */
    ORGS_STORE_KEY_WRONG,    /* another key's value, or secrets stored and none opens */
} orgs_store_key_state_t;

/* Checks the store's key (ORGS_ENOKEY without one). When no value is
 * recorded yet (a store older than the check), the key proves itself by
 * opening a stored client secret, or trivially when no secret is stored;
 * with record set (a writable open) its value is then written (one write
 * transaction). A key that opens none of the stored secrets is WRONG. */
apr_status_t orgs_store_key_check(orgs_store_t *st, int record, orgs_store_key_state_t *state,
                                  orgs_err_t *err);
/* Counts the connections' sealed client secrets and how many open with the
 * store's key (opened is 0 without a key). */
apr_status_t orgs_store_secrets_check(orgs_store_t *st, apr_size_t *total, apr_size_t *opened,
                                      apr_pool_t *p, orgs_err_t *err);

/* ---- admin API tokens (store/token.c) --------------------------------- */

/* A machine client's bearer token for the admin API. The token itself
 * ("tok_" + 16 base62, '.', 43 base64url characters of randomness) is
 * shown once, at creation; the store keeps only its SHA-256, so a copy
 * of the store does not hand out access. Tokens are not exported. */
typedef struct orgs_token_t {
    const char *id;             /* "tok_" + 16 base62: what list and revoke name */
    const char *name;           /* a label, may be NULL */
    apr_array_header_t *scopes; /* const char *, sorted, unique (orgs_check_token_scope) */
    apr_time_t created;
    apr_time_t expires; /* 0 = never */
} orgs_token_t;

/* in: name, scopes (NULL or empty: every scope), expires. out: id,
 * created, scopes normalized; *secret is the whole token (in p), the only
 * time it exists. APR_EINVAL for a bad scope, name or an expiry not in
 * the future. */
apr_status_t orgs_store_token_create(orgs_store_t *st, orgs_token_t *tok, const char **secret,
                                     apr_pool_t *p, orgs_err_t *err);
/* The token a client presented, checked in one read transaction:
 * APR_NOTFOUND when it is malformed, unknown, revoked or does not match
 * (constant-time compare of the hashes); ORGS_EEXPIRED past its expiry. */
apr_status_t orgs_store_token_verify(orgs_store_t *st, const char *presented, apr_time_t now,
                                     orgs_token_t **out, apr_pool_t *p, orgs_err_t *err);
/* Every token, by id (never a secret). */
apr_status_t orgs_store_token_list(orgs_store_t *st, apr_array_header_t **out /* orgs_token_t* */,
                                   apr_pool_t *p, orgs_err_t *err);
/* APR_NOTFOUND when there is no such token. */
apr_status_t orgs_store_token_revoke(orgs_store_t *st, const char *id, apr_pool_t *p,
                                     orgs_err_t *err);

/* ---- pages of a listing (store/page.c) -------------------------------- */

/* A page: take at most `take` entries (0 = none, only the totals), either
 * after the checkpoint `from` (a *next of the previous page; NULL or ""
 * starts at the first entry) — an LMDB cursor set at that key, as fast at
 * the millionth entry as at the first — or, without `from`, after
 * skipping `skip` entries from the start (the page/per_page form). */
typedef struct orgs_page_t {
    const char *from;
    apr_size_t skip;
    apr_size_t take;
} orgs_page_t;

/* Orgs by name: *next is the last name returned when more follow, else
 * NULL; *total (when not NULL) counts all orgs. */
apr_status_t orgs_store_org_page(orgs_store_t *st, const orgs_page_t *pg,
                                 apr_array_header_t **out /* orgs_org_t* */, const char **next,
                                 apr_size_t *total, apr_pool_t *p, orgs_err_t *err);
/* An org's members by user id (the org index, a range of one key):
 * *next is the last user id returned when more follow; *total counts the
 * org's members (the index's count of the key, no walk). */
apr_status_t orgs_store_member_page(orgs_store_t *st, const char *org_ref, const orgs_page_t *pg,
                                    apr_array_header_t **out /* orgs_member_t* */,
                                    const char **next, apr_size_t *total, apr_pool_t *p,
                                    orgs_err_t *err);
/* Users by id; *next and *total as above. */
apr_status_t orgs_store_user_page(orgs_store_t *st, const orgs_page_t *pg,
                                  apr_array_header_t **out /* orgs_user_t* */, const char **next,
                                  apr_size_t *total, apr_pool_t *p, orgs_err_t *err);

/* ---- several changes, one transaction (store/batch.c) ----------------- */

/* Adds the users (ids) as members of the org with roles (may be NULL);
 * users already members are left as they are. *added counts the new
 * memberships. APR_NOTFOUND for an unknown org or user: nothing written. */
apr_status_t orgs_store_member_add_many(orgs_store_t *st, const char *org_ref,
                                        const apr_array_header_t *user_ids,
                                        const apr_array_header_t *roles, apr_size_t *added,
                                        apr_pool_t *p, orgs_err_t *err);
/* Removes the memberships (and their sessions) of the users in the org;
 * users that are not members are skipped. *removed counts them. */
apr_status_t orgs_store_member_remove_many(orgs_store_t *st, const char *org_ref,
                                           const apr_array_header_t *user_ids, apr_size_t *removed,
                                           apr_pool_t *p, orgs_err_t *err);
/* Changes display_name (NULL: unchanged), replaces the whole metadata
 * with meta (orgs_kv_t; NULL: unchanged) and changes the branding fields of
 * brand (NULL: unchanged; as orgs_store_org_update_brand). */
apr_status_t orgs_store_org_patch(orgs_store_t *st, const char *ref, const char *display_name,
                                  const apr_array_header_t *meta, const orgs_org_t *brand,
                                  apr_pool_t *p, orgs_err_t *err);
/* Changes the auto-membership flag of a connection enabled on the org
 * (its condition is kept when the flag stays set, dropped otherwise).
 * APR_NOTFOUND when the connection is not enabled there. */
apr_status_t orgs_store_org_conn_patch(orgs_store_t *st, const char *org_ref, const char *conn_ref,
                                       int auto_membership, apr_pool_t *p, orgs_err_t *err);
/* Enables the connection on the org; APR_EEXIST when it is enabled already
 * (nothing changed). */
apr_status_t orgs_store_org_conn_add(orgs_store_t *st, const char *org_ref, const char *conn_ref,
                                     int auto_membership, apr_pool_t *p, orgs_err_t *err);
/* Revokes the invitation only when it belongs to the org: APR_NOTFOUND
 * otherwise (an id of another org is not found). */
apr_status_t orgs_store_invite_revoke_in(orgs_store_t *st, const char *org_ref, const char *id,
                                         apr_pool_t *p, orgs_err_t *err);

#endif
