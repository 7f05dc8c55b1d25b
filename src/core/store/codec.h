/* The store's record codec: how records and keys look as bytes. Pure code:
 * no transaction and no LMDB (a record is a pointer and a size), so every
 * reader can be fuzzed on arbitrary bytes (tests/fuzz/fuzz_store.c) and
 * unit-tested without a store (tests/unit/store/test_codec.c).
 *
 * Verbs: _encode a record (struct -> JSON or bytes), _decode it back,
 * _read a record of either format (binary by its tag byte, else the JSON
 * of format version 1), _open a binary record in place (a view into the
 * bytes, valid while they are). */
#ifndef ORGS_STORE_CODEC_H
#define ORGS_STORE_CODEC_H

#include <stddef.h>

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#include "checks.h"
#include "store.h"

#ifdef __clang_analyzer__
/* orgs_err_set (orgs.c) returns its rv; the analyzer cannot see that from
 * here and would follow every error path as if it had succeeded. */
#define orgs_err_set(err, rv, ...)                                                                 \
    (orgs_err_set((err), (rv), __VA_ARGS__),                                                       \
     (rv)) /* The pending login record; its created is pl->created. _decode: the                   \
            * record's own fields (the caller knows the state: it is the key);                     \
            * ORGS_ESTORE when the browser hash is not 32 bytes of base64url. */
json_t *st_pending_encode(const orgs_pending_t *pl, apr_pool_t *p);
apr_status_t st_pending_decode(const json_t *j, orgs_pending_t **out, apr_pool_t *p,
                               orgs_err_t *err);

#endif

#define ID_LEN ORGS_ID_LEN
#define HASH_LEN 32 /* SHA-256: session ids, browser ids */

/* Bytes the codec writes: a record's value, in the caller's pool. */
typedef struct {
    size_t size;
    void *data;
} st_bytes_t;

/* ---- ids ------------------------------------------------------------- */

/* Ids in membership keys and records are packed: each of the 16 base62
 * characters after the prefix becomes its digit value (0..61) in 6 bits,
 * most significant first, so 16 * 6 = 96 bits = 12 bytes instead of 20 and
 * binary order is the text order (listings keep their order). No
 * arithmetic: the hot lookup packs two ids per call. */
#define ID_BIN 12

/* 1 and out filled if s is prefix + 16 base62 characters; else 0. */
int st_id_pack(const char *s, const char *prefix, unsigned char out[ID_BIN]);
/* The text id of a packed one; 0 if a 6-bit group is no base62 digit. */
int st_id_unpack(const unsigned char *in, const char *prefix, char out[ID_LEN + 1]);
/* st_id_unpack into p; NULL if corrupt. */
const char *st_id_str(const unsigned char *in, const char *prefix, apr_pool_t *p);

/* ---- byte order and small helpers ------------------------------------- */

void st_put_u64le(unsigned char *b, apr_uint64_t v);
apr_uint64_t st_get_u64le(const unsigned char *b);
void st_put_u64be(unsigned char *b, apr_uint64_t v); /* keys: big-endian sorts by time */
apr_uint64_t st_get_u64be(const unsigned char *b);
/* 12-byte big-endian compare of packed ids: memcmp's order. */
int st_cmp_bin(const unsigned char *a, const unsigned char *b);
/* qsort comparators: const char * elements, orgs_kv_t elements by key. */
int st_cmp_str(const void *a, const void *b);
int st_cmp_kv(const void *a, const void *b);
/* 1 if the array of const char * holds s. */
int st_array_has(const apr_array_header_t *a, const char *s);

/* ---- membership record ------------------------------------------------ */

/* A user's memberships are one record in "members" (key: packed user id),
 * so the hot lookup is one mdb_get on a tree with one key per user plus a
 * binary search inside one small value:
 *   count n (4, LE)
 *   n packed org ids (12 each), sorted: contiguous, so the search touches
 *     few cache lines
 *   n infos (MINFO each): created (8, LE) | roles offset (4, LE)
 *   roles: for entry i, the bytes from its offset to the next entry's (or
 *     the record's end): "role\0" repeated, empty when there are none.
 * The org -> members index "org_members" (DUPSORT|DUPFIXED: packed org id ->
 * packed user ids) serves listings and cascades. Invariant: a membership is
 * in the record exactly when it is in the index. */
#define MINFO 12
#define MENT (ID_BIN + MINFO) /* fixed bytes per membership */

typedef struct {
    const unsigned char *d;
    size_t size;
    apr_uint32_t n;
} mrec_t;

/* One membership while a record is rebuilt. */
typedef struct {
    const unsigned char *org;
    apr_time_t created;
    const char *roles;
    size_t rlen;
} ment_t;

/* An absent record (size 0) is an empty one. 0 if the header is corrupt. */
int st_mrec_open(const void *d, size_t size, mrec_t *r);
/* The packed org id of entry i (i < r->n). */
const unsigned char *st_mrec_org(const mrec_t *r, apr_uint32_t i);
/* Binary search: 1 and *pos = its index if org is there, else 0 and *pos =
 * where it would go. */
int st_mrec_search(const mrec_t *r, const unsigned char *org, apr_uint32_t *pos);
/* Entry i, its roles bounds checked; 0 if corrupt. */
int st_mrec_entry(const mrec_t *r, apr_uint32_t i, ment_t *e);
/* The record with entry pos removed (del) and/or ins put at pos, in p. An
 * empty result has size 0 (the caller deletes the key). ORGS_ESTORE when
 * r is corrupt, APR_ENOSPC when the record would outgrow 4 GiB. */
apr_status_t st_mrec_splice(const mrec_t *r, apr_uint32_t pos, int del, const ment_t *ins,
                            st_bytes_t *out, apr_pool_t *p, orgs_err_t *err);
/* Roles (const char *) <-> the "role\0"... block of an entry. */
void st_roles_encode(const apr_array_header_t *roles, ment_t *e, apr_pool_t *p);
apr_array_header_t *st_roles_decode(const ment_t *e, apr_pool_t *p);

/* ---- session record --------------------------------------------------- */

/* A session record is binary, so the per-request read decodes it with a
 * few loads and no parser:
 *   [0]          SREC_TAG
 *   [1, 37)      packed org id, user id, connection id (ID_BIN each)
 *   [37, 61)     created, last_seen, expires (8 bytes LE each)
 *   [61]         length n of the connection's name
 *   [62, 62 + n) the connection's name (it never changes, so the view need
 *                not decode the connection record)
 *   the rest     the exports prepared at sign-in (export.h), ready to set:
 *                "env\0header\0value\0" for each
 * Nothing else of the ID token is kept. Records of format versions 1
 * (SREC_TAG_V1, with the claims JSON) and 2 (SREC_TAG_V2, with the raw
 * claim pairs) are still opened, with no exports (their claims never went
 * through the export policy), so that a read-only open of an old store
 * reads its sessions; the migration to version 3 deletes them. The ID
 * token kept for logout is not in the record: it lives in session_hints
 * and is read at logout only. */
#define SREC_TAG 0x65    /* 'e'; not '{', the start of a JSON record */
#define SREC_TAG_V2 0x73 /* 's': format version 2, claim pairs */
#define SREC_TAG_V1 0x53 /* 'S': format version 1, with the claims JSON */
#define SREC_TIMES (1 + 3 * ID_BIN)
#define SREC_NAME (SREC_TIMES + 24)
#define SREC_FIXED (SREC_NAME + 1)
#define SREC_NONE 0xffffffffu

typedef struct {
    const unsigned char *org, *user, *conn; /* packed ids, into the record */
    apr_time_t created, last_seen, expires;
    const char *conn_name;
    size_t conn_name_len;
    const char *exports; /* "env\0header\0value\0"...; empty in an old record */
    size_t exports_len;
    size_t nexports; /* triples in exports */
} srec_t;

/* 1 and r filled (pointing into d) if d is a well-formed record (of any
 * of the tags); else 0. */
int st_srec_open(const void *d, size_t size, srec_t *r);
/* The record of s with its exports (ids checked here: APR_EINVAL when one
 * is not an id of its kind, the connection's name is longer than 255
 * bytes, or an export has an empty or NULL name or value), in p. */
apr_status_t st_srec_encode(const orgs_session_t *s, const char *conn_name, st_bytes_t *out,
                            apr_pool_t *p, orgs_err_t *err);
/* The exports of r as orgs_export_t (one copy of the block into p). */
apr_array_header_t *st_srec_exports(const srec_t *r, apr_pool_t *p);
/* Fills s from r (text ids in p; exports and id_token_hint stay NULL). 0
 * if an id is corrupt. */
int st_srec_session(const srec_t *r, orgs_session_t *s, apr_pool_t *p);
/* A whole session in p (exports NULL); ORGS_ESTORE when corrupt. */
apr_status_t st_srec_decode(const void *d, size_t size, orgs_session_t **out, apr_pool_t *p,
                            orgs_err_t *err);

/* ---- organization and user records (codec_rec.c) -------------------- */

/* Binary, so the per-request read needs no parser:
 *   [0]   REC_ORG_TAG or REC_USER_TAG (not '{', the start of a JSON record
 *         of format version 1)
 *   [1]   REC_VERSION
 *   org:  packed id (ID_BIN), created, updated (8 bytes LE each), name,
 *         display_name (may be null), metadata count (4, LE) and that many
 *         key, value pairs sorted by key, domain count (4, LE) and that many
 *         domains sorted
 *   user: packed id, packed connection id (ID_BIN each), created,
 *         last_login (8 bytes LE each), sub, email, name (each may be null)
 * A string is its length (4, LE; REC_NULL for null) and its bytes: valid
 * UTF-8, no NUL. Decoders are strict (every length checked, order and
 * canonical form too, nothing left over), so an accepted record encodes
 * back to the same bytes. */
#define REC_ORG_TAG 0x4f  /* 'O' */
#define REC_USER_TAG 0x55 /* 'U' */
#define REC_VERSION 1
#define REC_NULL 0xffffffffu

/* _encode: APR_EINVAL when an id is not of its kind, a string is not
 * UTF-8 or metadata keys / domains repeat. _decode: ORGS_ESTORE when the
 * bytes are not a record of this version. */
apr_status_t st_org_encode(const orgs_org_t *o, st_bytes_t *out, apr_pool_t *p, orgs_err_t *err);
apr_status_t st_org_decode(const void *d, size_t size, orgs_org_t **out, apr_pool_t *p,
                           orgs_err_t *err);
apr_status_t st_user_encode(const orgs_user_t *u, st_bytes_t *out, apr_pool_t *p, orgs_err_t *err);
apr_status_t st_user_decode(const void *d, size_t size, orgs_user_t **out, apr_pool_t *p,
                            orgs_err_t *err);
/* Either format: the binary record, or the JSON one of format version 1. */
apr_status_t st_org_read(const void *d, size_t size, orgs_org_t **out, apr_pool_t *p,
                         orgs_err_t *err);
apr_status_t st_user_read(const void *d, size_t size, orgs_user_t **out, apr_pool_t *p,
                          orgs_err_t *err);

/* An id the caller already has as text, with its packed bytes. */
typedef struct {
    const unsigned char *bin; /* ID_BIN bytes */
    const char *text;         /* prefix + 16 base62 */
} st_id_known_t;

/* The per-request readers (either format, into *out). A binary record is
 * one the store wrote after its encoder checked it: its strings are not
 * checked again for UTF-8 or NUL, nor its metadata keys and domains for
 * order; every length and bound still is, so a damaged file cannot make
 * them read outside the record. An id equal to one of known (nknown of
 * them, same prefix) is that text, not a new copy. ORGS_ESTORE when the
 * bytes are not a record. */
apr_status_t st_org_view(const void *d, size_t size, const st_id_known_t *known, int nknown,
                         orgs_org_t *out, apr_pool_t *p, orgs_err_t *err);
apr_status_t st_user_view(const void *d, size_t size, const st_id_known_t *known, int nknown,
                          orgs_user_t *out, apr_pool_t *p, orgs_err_t *err);

/* ---- JSON records (codec_json.c) -------------------------------------- */

/* 0 when set (or v is NULL), -1 when v is not valid UTF-8. */
int st_jset_str(json_t *o, const char *k, const char *v);
int st_jset_int(json_t *o, const char *k, apr_int64_t v);
/* A copy in p, or NULL when absent, not a string or with an inner NUL. */
const char *st_jget_str(const json_t *o, const char *k, apr_pool_t *p);
/* The integer member k, 0 when absent or not an integer. */
apr_time_t st_jget_int(const json_t *o, const char *k);
/* A new JSON array of the strings of a (NULL: none), NULL on failure. */
json_t *st_jstr_array(const apr_array_header_t *a);
/* NULL when the member is neither absent nor an array of strings. */
apr_array_header_t *st_jget_str_array(const json_t *o, const char *k, apr_pool_t *p);
/* The JSON object in d (a record read from the map); ORGS_ESTORE if it is
 * not one. The caller owns *out (json_decref). */
apr_status_t st_json_of(const void *d, size_t size, json_t **out, orgs_err_t *err,
                        const char *what);

/* A new JSON object (NULL on failure: invalid UTF-8 or no memory); the
 * _decode functions check the shape only (APR_EINVAL), the store's rules
 * check the values. The org and user JSON records are those of format
 * version 1: read by the migration (st_org_read, st_user_read). */
apr_status_t st_org_decode_json(const json_t *j, orgs_org_t **out, apr_pool_t *p, orgs_err_t *err);
json_t *st_conn_encode(const orgs_conn_t *c, const char *sealed);
apr_status_t st_conn_decode(const json_t *j, orgs_conn_t **out, const char **sealed, apr_pool_t *p,
                            orgs_err_t *err);
apr_status_t st_user_decode_json(const json_t *j, orgs_user_t **out, apr_pool_t *p,
                                 orgs_err_t *err);
json_t *st_invite_encode(const orgs_invite_t *inv);
apr_status_t st_invite_decode(const json_t *j, orgs_invite_t **out, apr_pool_t *p, orgs_err_t *err);
/* The pending login record; its created is pl->created. _decode: the
 * record's own fields (the caller knows the state: it is the key);
 * ORGS_ESTORE when the browser hash is not 32 bytes of base64url. */
json_t *st_pending_encode(const orgs_pending_t *pl, apr_pool_t *p);
apr_status_t st_pending_decode(const json_t *j, orgs_pending_t **out, apr_pool_t *p,
                               orgs_err_t *err);

#endif
