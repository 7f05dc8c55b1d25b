/* Unit tests for src/core/store/codec.c, codec_rec.c and codec_json.c: the record codec
 * without a store. Each encoding round-trips, and each reader refuses what
 * it must (more refusals than round trips: the readers see bytes from the
 * map, which a damaged or hostile file may hold). */
#include "codec_fixture.h"
#include "store/codec.h"

/* ---- round trips ------------------------------------------------------ */

START_TEST(ids_round_trip_in_order)
{
    static const char *const ids[] = {
        ORG_A, ORG_B, "org_9zzzzzzzzzzzzzzz", "org_A000000000000000", "org_a000000000000000",
        ORG_C};
    unsigned char prev[ID_BIN], bin[ID_BIN];
    char back[ID_LEN + 1];
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        ck_assert_int_eq(st_id_pack(ids[i], "org_", bin), 1);
        ck_assert_int_eq(st_id_unpack(bin, "org_", back), 1);
        ck_assert_str_eq(back, ids[i]);
        ck_assert_str_eq(st_id_str(bin, "org_", pool), ids[i]);
        if (i > 0) { /* binary order is the text order */
            ck_assert_int_lt(st_cmp_bin(prev, bin), 0);
            ck_assert_int_gt(st_cmp_bin(bin, prev), 0);
        }
        ck_assert_int_eq(st_cmp_bin(bin, bin), 0);
        memcpy(prev, bin, ID_BIN);
    }
}
END_TEST

START_TEST(byte_order_round_trip)
{
    static const apr_uint64_t vals[] = {0, 1, 0x0102030405060708ULL, ~0ULL};
    unsigned char b[8];
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        st_put_u64le(b, vals[i]);
        ck_assert_uint_eq(st_get_u64le(b), vals[i]);
        st_put_u64be(b, vals[i]);
        ck_assert_uint_eq(st_get_u64be(b), vals[i]);
    }
    st_put_u64be(b, 0x0102030405060708ULL);
    ck_assert_uint_eq(b[0], 1); /* big-endian: keys sort by time */
    st_put_u64le(b, 0x0102030405060708ULL);
    ck_assert_uint_eq(b[0], 8);
}
END_TEST

/* The record of the memberships in orgs (packed), each with roles[i]. */
static st_bytes_t mrec_of(const char *const *orgs, const char *const *roles, int n)
{
    st_bytes_t rec = {0, NULL};
    for (int i = 0; i < n; i++) {
        mrec_t r;
        apr_uint32_t pos;
        unsigned char *org = apr_palloc(pool, ID_BIN);
        ment_t e = {org, 1000 + i, NULL, 0};
        ck_assert_int_eq(st_id_pack(orgs[i], "org_", org), 1);
        st_roles_encode(roles[i] ? strs(1, roles[i]) : NULL, &e, pool);
        ck_assert_int_eq(st_mrec_open(rec.data, rec.size, &r), 1);
        ck_assert_int_eq(st_mrec_search(&r, org, &pos), 0);
        ck_assert_int_eq(st_mrec_splice(&r, pos, 0, &e, &rec, pool, &err), APR_SUCCESS);
    }
    return rec;
}

START_TEST(membership_record_round_trip)
{
    static const char *const orgs[] = {ORG_C, ORG_A, ORG_B};
    static const char *const roles[] = {"admin", NULL, "viewer"};
    st_bytes_t rec = mrec_of(orgs, roles, 3);
    mrec_t r;
    ment_t e;
    apr_uint32_t pos;
    unsigned char org[ID_BIN];
    ck_assert_int_eq(st_mrec_open(rec.data, rec.size, &r), 1);
    ck_assert_uint_eq(r.n, 3);
    /* sorted by org id, each entry with its roles */
    ck_assert_str_eq(st_id_str(st_mrec_org(&r, 0), "org_", pool), ORG_A);
    ck_assert_str_eq(st_id_str(st_mrec_org(&r, 2), "org_", pool), ORG_C);
    st_id_pack(ORG_C, "org_", org);
    ck_assert_int_eq(st_mrec_search(&r, org, &pos), 1);
    ck_assert_uint_eq(pos, 2);
    ck_assert_int_eq(st_mrec_entry(&r, pos, &e), 1);
    ck_assert_int_eq(e.created, 1000);
    apr_array_header_t *got = st_roles_decode(&e, pool);
    ck_assert_int_eq(got->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(got, 0, const char *), "admin");
    ck_assert_int_eq(st_mrec_entry(&r, 0, &e), 1);
    ck_assert_int_eq(st_roles_decode(&e, pool)->nelts, 0);
    /* removing every entry leaves an empty record (the key is deleted) */
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(st_mrec_open(rec.data, rec.size, &r), 1);
        ck_assert_int_eq(st_mrec_splice(&r, 0, 1, NULL, &rec, pool, &err), APR_SUCCESS);
    }
    ck_assert_uint_eq(rec.size, 0);
}
END_TEST

/* Exports from "env", "header", "value" triples (n strings). */
static apr_array_header_t *exports_of(const char *const *t, int n)
{
    apr_array_header_t *a = apr_array_make(pool, 4, sizeof(orgs_export_t));
    for (int i = 0; i + 2 < n; i += 3) {
        orgs_export_t *e = apr_array_push(a);
        e->env = t[i];
        e->header = t[i + 1];
        e->value = t[i + 2];
    }
    return a;
}

static const char *const two_exports[] = {"ORG_EMAIL",       "X-Org-Email",       "a@x.com",
                                          "ORG_CLAIM_given", "X-Org-Claim-given", "Ann"};

static orgs_session_t session_of(const apr_array_header_t *exports)
{
    orgs_session_t s = {0};
    s.org_id = ORG_A;
    s.user_id = USR_A;
    s.conn_id = CON_A;
    s.created = 10;
    s.last_seen = 20;
    s.expires = 30;
    s.exports = exports;
    return s;
}

START_TEST(session_record_round_trip)
{
    orgs_session_t s = session_of(exports_of(two_exports, 6));
    orgs_session_t back;
    orgs_session_t *dec;
    st_bytes_t rec;
    srec_t r;
    ck_assert_int_eq(st_srec_encode(&s, "acme-idp", &rec, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(st_srec_open(rec.data, rec.size, &r), 1);
    ck_assert_int_eq(((unsigned char *)rec.data)[0], SREC_TAG);
    ck_assert_int_eq(st_srec_session(&r, &back, pool), 1);
    ck_assert_str_eq(back.org_id, ORG_A);
    ck_assert_str_eq(back.user_id, USR_A);
    ck_assert_str_eq(back.conn_id, CON_A);
    ck_assert_int_eq(back.created, 10);
    ck_assert_int_eq(back.last_seen, 20);
    ck_assert_int_eq(back.expires, 30);
    ck_assert_ptr_null(back.exports);
    ck_assert_ptr_null(back.id_token_hint);
    ck_assert_str_eq(apr_pstrmemdup(pool, r.conn_name, r.conn_name_len), "acme-idp");
    /* the exports, as they were prepared */
    apr_array_header_t *ex = st_srec_exports(&r, pool);
    ck_assert_int_eq(ex->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(ex, 0, orgs_export_t).env, "ORG_EMAIL");
    ck_assert_str_eq(APR_ARRAY_IDX(ex, 0, orgs_export_t).header, "X-Org-Email");
    ck_assert_str_eq(APR_ARRAY_IDX(ex, 0, orgs_export_t).value, "a@x.com");
    ck_assert_str_eq(APR_ARRAY_IDX(ex, 1, orgs_export_t).env, "ORG_CLAIM_given");
    ck_assert_str_eq(APR_ARRAY_IDX(ex, 1, orgs_export_t).value, "Ann");
    ck_assert_int_eq(st_srec_decode(rec.data, rec.size, &dec, pool, &err), APR_SUCCESS);
    ck_assert_ptr_null(dec->exports);
    ck_assert_int_eq(dec->expires, 30);
    /* an empty value is a value */
    static const char *const empty[] = {"ORG_CLAIM_x", "X-Org-Claim-x", ""};
    s = session_of(exports_of(empty, 3));
    ck_assert_int_eq(st_srec_encode(&s, "c", &rec, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(st_srec_open(rec.data, rec.size, &r), 1);
    ex = st_srec_exports(&r, pool);
    ck_assert_int_eq(ex->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(ex, 0, orgs_export_t).value, "");
    /* without exports: none kept */
    s = session_of(NULL);
    ck_assert_int_eq(st_srec_encode(&s, "c", &rec, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(st_srec_open(rec.data, rec.size, &r), 1);
    ck_assert_uint_eq(r.exports_len, 0);
    ck_assert_int_eq(st_srec_exports(&r, pool)->nelts, 0);
}
END_TEST

START_TEST(org_and_user_records_round_trip)
{
    orgs_org_t o = org_of(), *d, *jd;
    orgs_user_t u = user_of(), *ud, *ujd;
    st_bytes_t rec, again;
    ck_assert_int_eq(st_org_encode(&o, &rec, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(((unsigned char *)rec.data)[0], REC_ORG_TAG);
    ck_assert_int_eq(st_org_decode(rec.data, rec.size, &d, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(d->id, ORG_A);
    ck_assert_str_eq(d->name, "acme");
    ck_assert_str_eq(d->display_name, o.display_name);
    ck_assert_int_eq(d->created, 1);
    ck_assert_int_eq(d->updated, 2);
    ck_assert_int_eq(d->domains->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(d->domains, 0, const char *), "a.example");
    ck_assert_str_eq(APR_ARRAY_IDX(d->domains, 1, const char *), "b.example");
    ck_assert_int_eq(d->meta->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(d->meta, 0, orgs_kv_t).key, "license");
    ck_assert_str_eq(APR_ARRAY_IDX(d->meta, 0, orgs_kv_t).value, "premium");
    ck_assert_str_eq(APR_ARRAY_IDX(d->meta, 1, orgs_kv_t).key, "tier");
    ck_assert_str_eq(APR_ARRAY_IDX(d->meta, 1, orgs_kv_t).value, "");
    ck_assert_int_eq(st_org_encode(d, &again, pool, &err), APR_SUCCESS);
    ck_assert_uint_eq(again.size, rec.size);
    ck_assert_mem_eq(again.data, rec.data, rec.size);
    ck_assert_int_eq(st_org_read(rec.data, rec.size, &d, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(d->name, "acme");
    /* the JSON record of format version 1 still reads (the migration's input) */
    const char *js = "{\"id\":\"" ORG_A "\",\"name\":\"acme\",\"display_name\":"
                     "\"Acme \\\"Inc\\\" \xc3\xa9\",\"created\":1,\"updated\":2,"
                     "\"meta\":{\"tier\":\"gold\"},\"domains\":[\"a.example\",\"b.example\"]}";
    ck_assert_int_eq(st_org_read(js, strlen(js), &jd, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(jd->display_name, o.display_name);
    ck_assert_str_eq(APR_ARRAY_IDX(jd->meta, 0, orgs_kv_t).value, "gold");

    /* a record without branding ends as before it existed; with it, the
     * branding is appended and read back; a cut trailer is corrupt */
    ck_assert_ptr_null(d->logo_url);
    ck_assert_ptr_null(d->color_primary);
    o.logo_url = "https://cdn.example.com/l.png";
    o.color_page_background = "#f2f6fb";
    st_bytes_t branded;
    ck_assert_int_eq(st_org_encode(&o, &branded, pool, &err), APR_SUCCESS);
    ck_assert_uint_eq(branded.size, rec.size + 4 + strlen(o.logo_url) + 4 + 4 + 7);
    ck_assert_mem_eq(branded.data, rec.data, rec.size);
    ck_assert_int_eq(st_org_decode(branded.data, branded.size, &d, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(d->logo_url, o.logo_url);
    ck_assert_ptr_null(d->color_primary);
    ck_assert_str_eq(d->color_page_background, "#f2f6fb");
    ck_assert_int_eq(st_org_decode(branded.data, branded.size - 3, &d, pool, &err), ORGS_ESTORE);
    ck_assert_int_eq(st_org_decode(branded.data, rec.size + 2, &d, pool, &err), ORGS_ESTORE);
    o.logo_url = o.color_page_background = NULL;

    ck_assert_int_eq(st_user_encode(&u, &rec, pool, &err), APR_SUCCESS);
    ck_assert_int_eq(((unsigned char *)rec.data)[0], REC_USER_TAG);
    ck_assert_int_eq(st_user_decode(rec.data, rec.size, &ud, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(ud->id, USR_A);
    ck_assert_str_eq(ud->conn_id, CON_A);
    ck_assert_str_eq(ud->sub, "sub-1");
    ck_assert_str_eq(ud->email, "a@x.com");
    ck_assert_ptr_null(ud->name);
    ck_assert_int_eq(ud->created, 5);
    ck_assert_int_eq(ud->last_login, 6);
    ck_assert_int_eq(st_user_encode(ud, &again, pool, &err), APR_SUCCESS);
    ck_assert_mem_eq(again.data, rec.data, rec.size);
    js = "{\"id\":\"" USR_A "\",\"conn_id\":\"" CON_A "\",\"sub\":\"sub-1\","
         "\"email\":\"a@x.com\",\"created\":5,\"last_login\":6}";
    ck_assert_int_eq(st_user_read(js, strlen(js), &ujd, pool, &err), APR_SUCCESS);
    ck_assert_str_eq(ujd->sub, "sub-1");
    ck_assert_ptr_null(ujd->name);
    ck_assert_int_eq(ujd->last_login, 6);
}
END_TEST

START_TEST(conn_invite_pending_records_round_trip)
{
    orgs_conn_t c = {0}, *cd;
    orgs_invite_t inv = {0}, *id;
    orgs_pending_t pl = {0}, *pd;
    const char *sealed;
    json_t *j;
    c.id = CON_A;
    c.name = "idp";
    c.issuer = "https://idp.example.com";
    c.client_id = "client";
    c.created = 7;
    j = st_conn_encode(&c, "c2VhbGVk");
    ck_assert_int_eq(st_conn_decode(j, &cd, &sealed, pool, &err), APR_SUCCESS);
    json_decref(j);
    ck_assert_str_eq(cd->issuer, c.issuer);
    ck_assert_str_eq(sealed, "c2VhbGVk");
    ck_assert_int_eq(cd->created, 7);
    inv.id = "inv_0000000000000000";
    inv.org_id = ORG_A;
    inv.email = "b@x.com";
    inv.roles = strs(1, "admin");
    inv.expires = 9;
    j = st_invite_encode(&inv);
    ck_assert_int_eq(st_invite_decode(j, &id, pool, &err), APR_SUCCESS);
    json_decref(j);
    ck_assert_str_eq(id->email, "b@x.com");
    ck_assert_str_eq(APR_ARRAY_IDX(id->roles, 0, const char *), "admin");
    ck_assert_int_eq(id->expires, 9);
    pl.state = "state-0123456789abcdef";
    memset(pl.browser, 0xab, sizeof(pl.browser));
    pl.nonce = "n";
    pl.code_verifier = "v";
    pl.org_id = ORG_A;
    pl.created = 11;
    j = st_pending_encode(&pl, pool);
    ck_assert_int_eq(st_pending_decode(j, &pd, pool, &err), APR_SUCCESS);
    json_decref(j);
    ck_assert_mem_eq(pd->browser, pl.browser, sizeof(pl.browser));
    ck_assert_str_eq(pd->nonce, "n");
    ck_assert_ptr_null(pd->return_to);
    ck_assert_int_eq(pd->created, 11);
}
END_TEST

/* ---- refusals --------------------------------------------------------- */

START_TEST(ids_refused)
{
    static const char *const bad[] = {"",
                                      "org_",
                                      "org_000000000000000",   /* 15 */
                                      "org_00000000000000000", /* 17 */
                                      "usr_0000000000000000",  /* other prefix */
                                      "org_000000000000000-",
                                      "org_000000000000000_",
                                      "org_000000000000000 ",
                                      "org_000000000000000\xc3"};
    unsigned char bin[ID_BIN];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(!st_id_pack(bad[i], "org_", bin), "%s", bad[i]);
    }
    ck_assert_int_eq(st_id_pack(NULL, "org_", bin), 0);
}
END_TEST

START_TEST(packed_ids_refused)
{
    unsigned char bin[ID_BIN];
    char out[ID_LEN + 1];
    memset(bin, 0xff, sizeof(bin)); /* 6-bit groups of 63: no base62 digit */
    ck_assert_int_eq(st_id_unpack(bin, "org_", out), 0);
    ck_assert_ptr_null(st_id_str(bin, "org_", pool));
    st_id_pack(ORG_C, "org_", bin);
    bin[11] |= 0x3e; /* the last digit becomes 62 or 63 */
    ck_assert_int_eq(st_id_unpack(bin, "org_", out), 0);
}
END_TEST

START_TEST(membership_headers_refused)
{
    static const char *const orgs[] = {ORG_A};
    static const char *const roles[] = {"admin"};
    unsigned char b[4 + MENT] = {0};
    mrec_t r;
    for (size_t n = 1; n < 4; n++) {
        ck_assert_int_eq(st_mrec_open(b, n, &r), 0); /* no room for the count */
    }
    ck_assert_int_eq(st_mrec_open(b, 4, &r), 0); /* a count of 0 is never stored */
    b[0] = 2;                                    /* two entries in room for one */
    ck_assert_int_eq(st_mrec_open(b, sizeof(b), &r), 0);
    b[0] = 0xff;
    b[3] = 0xff;
    ck_assert_int_eq(st_mrec_open(b, sizeof(b), &r), 0);
    /* a splice of a corrupt record refuses */
    st_bytes_t rec = mrec_of(orgs, roles, 1), out;
    unsigned char *d = rec.data;
    d[4 + ID_BIN + 8] = 0xff; /* roles offset past the end */
    ck_assert_int_eq(st_mrec_open(rec.data, rec.size, &r), 1);
    ck_assert_int_eq(st_mrec_splice(&r, 1, 0, NULL, &out, pool, &err), ORGS_ESTORE);
}
END_TEST

START_TEST(membership_entries_refused)
{
    static const char *const orgs[] = {ORG_A, ORG_B};
    static const char *const roles[] = {"admin", "viewer"};
    st_bytes_t rec = mrec_of(orgs, roles, 2);
    unsigned char *d = rec.data;
    size_t info0 = 4 + 2 * ID_BIN, info1 = info0 + MINFO;
    mrec_t r;
    ment_t e;
    /* roles offset inside the fixed part */
    memset(d + info0 + 8, 0, 4);
    ck_assert_int_eq(st_mrec_open(d, rec.size, &r), 1);
    ck_assert_int_eq(st_mrec_entry(&r, 0, &e), 0);
    /* offsets out of order: the first entry's roles start after they end */
    rec = mrec_of(orgs, roles, 2);
    d = rec.data;
    d[info0 + 8] = (unsigned char)(d[info1 + 8] + 1);
    ck_assert_int_eq(st_mrec_open(d, rec.size, &r), 1);
    ck_assert_int_eq(st_mrec_entry(&r, 0, &e), 0);
    /* roles without their NUL */
    rec = mrec_of(orgs, roles, 2);
    d = rec.data;
    d[rec.size - 1] = 'x';
    ck_assert_int_eq(st_mrec_open(d, rec.size, &r), 1);
    ck_assert_int_eq(st_mrec_entry(&r, 1, &e), 0);
    ck_assert_int_eq(st_mrec_entry(&r, 0, &e), 1); /* the other one is fine */
}
END_TEST

/* A well-formed session record in p, to damage. */
static unsigned char *srec_copy(size_t *size, const apr_array_header_t *exports)
{
    orgs_session_t s = session_of(exports);
    st_bytes_t rec;
    ck_assert_int_eq(st_srec_encode(&s, "idp", &rec, pool, &err), APR_SUCCESS);
    *size = rec.size;
    return rec.data;
}

/* A session record of an older format: tag SREC_TAG_V1 (with the claims
 * JSON text, NULL: SREC_NONE, between name and pairs) or SREC_TAG_V2,
 * then the raw claim pairs. */
static unsigned char *srec_old(size_t *size, int tag, const char *claims, const char *pairs,
                               size_t pl)
{
    orgs_session_t s = session_of(NULL);
    st_bytes_t rec;
    ck_assert_int_eq(st_srec_encode(&s, "idp", &rec, pool, &err), APR_SUCCESS);
    size_t cl = claims ? strlen(claims) : 0, head = SREC_FIXED + 3, at = head;
    unsigned char *b = apr_palloc(pool, head + 4 + cl + pl);
    memcpy(b, rec.data, head);
    b[0] = (unsigned char)tag;
    if (tag == SREC_TAG_V1) {
        apr_uint32_t len = claims ? (apr_uint32_t)cl : SREC_NONE;
        for (int i = 0; i < 4; i++) {
            b[head + i] = (unsigned char)(len >> (8 * i));
        }
        memcpy(b + head + 4, claims ? claims : "", cl);
        at += 4 + cl;
    }
    memcpy(b + at, pairs, pl);
    *size = at + pl;
    return b;
}

/* Records of format versions 1 and 2 open (for a read-only open of an old
 * store) but give no exports: their claims never went through the export
 * policy. */
START_TEST(session_record_old_formats_read_without_exports)
{
    static const char pairs[] = "email\0a@x.com\0n\0005";
    size_t n;
    srec_t r;
    orgs_session_t back;
    unsigned char *b =
        srec_old(&n, SREC_TAG_V1, "{\"email\":\"a@x.com\",\"n\":5}", pairs, sizeof(pairs));
    ck_assert_int_eq(st_srec_open(b, n, &r), 1);
    ck_assert_int_eq(st_srec_session(&r, &back, pool), 1);
    ck_assert_str_eq(back.user_id, USR_A);
    ck_assert_int_eq(back.last_seen, 20);
    ck_assert_uint_eq(r.exports_len, 0);
    ck_assert_int_eq(st_srec_exports(&r, pool)->nelts, 0);
    b = srec_old(&n, SREC_TAG_V1, NULL, "", 0);
    ck_assert_int_eq(st_srec_open(b, n, &r), 1);
    ck_assert_uint_eq(r.exports_len, 0);
    b = srec_old(&n, SREC_TAG_V2, NULL, pairs, sizeof(pairs));
    ck_assert_int_eq(st_srec_open(b, n, &r), 1);
    ck_assert_int_eq(st_srec_session(&r, &back, pool), 1);
    ck_assert_int_eq(back.expires, 30);
    ck_assert_uint_eq(r.exports_len, 0);
    /* a v2 block that is no triple list is still a v2 record */
    b = srec_old(&n, SREC_TAG_V2, NULL, "a\0b", 4);
    ck_assert_int_eq(st_srec_open(b, n, &r), 1);
}
END_TEST

START_TEST(session_records_refused)
{
    size_t n;
    unsigned char *b;
    srec_t r;
    orgs_session_t *s;
    b = srec_copy(&n, exports_of(two_exports, 6));
    for (size_t len = 0; len < SREC_FIXED + 3; len++) {
        ck_assert_msg(!st_srec_open(b, len, &r), "%zu bytes accepted", len);
    }
    /* cut inside the exports: not a whole number of triples, or no final
     * NUL (a cut right after the first triple is a record with one) */
    size_t one = SREC_FIXED + 3 + sizeof("ORG_EMAIL") + sizeof("X-Org-Email") + sizeof("a@x.com");
    for (size_t len = SREC_FIXED + 4; len < n; len++) {
        ck_assert_msg(st_srec_open(b, len, &r) == (len == one), "%zu of %zu bytes", len, n);
    }
    b = srec_old(&n, SREC_TAG_V1, "{\"a\":\"b\"}", "a\0b", 4);
    for (size_t len = 0; len < SREC_FIXED + 3 + 4 + 9; len++) {
        ck_assert_msg(!st_srec_open(b, len, &r), "%zu bytes of a v1 record accepted", len);
    }
    b[0] = '{'; /* a JSON record, not a session record */
    ck_assert_int_eq(st_srec_open(b, n, &r), 0);
    b = srec_copy(&n, exports_of(two_exports, 6));
    b[SREC_NAME] = 200; /* the name runs past the end */
    ck_assert_int_eq(st_srec_open(b, n, &r), 0);
    b = srec_old(&n, SREC_TAG_V1, "{\"a\":\"b\"}", "a\0b", 4);
    st_put_u64le(b + SREC_FIXED + 3, 1000); /* claims longer than the record (and the next bytes) */
    ck_assert_int_eq(st_srec_open(b, n, &r), 0);
    b = srec_copy(&n, exports_of(two_exports, 6));
    b[SREC_FIXED + 1] = '\0'; /* a NUL in the connection's name */
    ck_assert_int_eq(st_srec_open(b, n, &r), 0);
    b = srec_old(&n, SREC_TAG_V1, "{\"a\":\"b\"}", "a\0b", 4);
    b[SREC_FIXED + 3 + 4 + 2] = '\0'; /* a NUL in the claims */
    ck_assert_int_eq(st_srec_open(b, n, &r), 0);
    b = srec_copy(&n, exports_of(two_exports, 6));
    b[n - 1] = 'x'; /* exports without their final NUL */
    ck_assert_int_eq(st_srec_open(b, n, &r), 0);
    b = srec_copy(&n, exports_of(two_exports, 6));
    b[n - 2] = '\0'; /* one string too many */
    ck_assert_int_eq(st_srec_open(b, n, &r), 0);
    b = srec_copy(&n, NULL);
    memset(b + 1, 0xff, ID_BIN); /* the org id is no id */
    ck_assert_int_eq(st_srec_open(b, n, &r), 1);
    ck_assert_int_eq(st_srec_session(&r, apr_palloc(pool, sizeof(orgs_session_t)), pool), 0);
    ck_assert_int_eq(st_srec_decode(b, n, &s, pool, &err), ORGS_ESTORE);
}
END_TEST

START_TEST(session_encode_refused)
{
    orgs_session_t s = session_of(NULL);
    st_bytes_t rec;
    char name[257];
    memset(name, 'n', 256);
    name[256] = '\0';
    ck_assert_int_eq(st_srec_encode(&s, name, &rec, pool, &err), APR_EINVAL);
    s.org_id = "org_bad";
    ck_assert_int_eq(st_srec_encode(&s, "idp", &rec, pool, &err), APR_EINVAL);
    s = session_of(NULL);
    s.user_id = ORG_A; /* an id of another kind */
    ck_assert_int_eq(st_srec_encode(&s, "idp", &rec, pool, &err), APR_EINVAL);
    s = session_of(NULL);
    s.conn_id = NULL;
    ck_assert_int_eq(st_srec_encode(&s, "idp", &rec, pool, &err), APR_EINVAL);
    /* an export without a name, or without a value */
    static const char *const no_name[] = {"", "X-Org-Claim-a", "v"};
    static const char *const no_header[] = {"ORG_CLAIM_a", "", "v"};
    static const char *const no_value[] = {"ORG_CLAIM_a", "X-Org-Claim-a", NULL};
    s = session_of(exports_of(no_name, 3));
    ck_assert_int_eq(st_srec_encode(&s, "idp", &rec, pool, &err), APR_EINVAL);
    s = session_of(exports_of(no_header, 3));
    ck_assert_int_eq(st_srec_encode(&s, "idp", &rec, pool, &err), APR_EINVAL);
    s = session_of(exports_of(no_value, 3));
    ck_assert_int_eq(st_srec_encode(&s, "idp", &rec, pool, &err), APR_EINVAL);
}
END_TEST

/* A copy of rec with byte at set to v. */
static unsigned char *patched(const st_bytes_t *rec, size_t at, unsigned char v)
{
    unsigned char *b = apr_pmemdup(pool, rec->data, rec->size);
    b[at] = v;
    return b;
}

START_TEST(binary_records_refused)
{
    orgs_org_t o = org_of(), *od;
    orgs_user_t u = user_of(), *ud;
    st_bytes_t rec;
    ck_assert_int_eq(st_org_encode(&o, &rec, pool, &err), APR_SUCCESS);
    for (size_t n = 0; n < rec.size; n++) { /* every truncation */
        ck_assert_int_eq(st_org_decode(rec.data, n, &od, pool, &err), ORGS_ESTORE);
    }
    unsigned char *b = apr_palloc(pool, rec.size + 1);
    memcpy(b, rec.data, rec.size);
    b[rec.size] = 0; /* trailing byte */
    ck_assert_int_eq(st_org_decode(b, rec.size + 1, &od, pool, &err), ORGS_ESTORE);
    ck_assert_int_eq(st_org_decode(patched(&rec, 0, REC_USER_TAG), rec.size, &od, pool, &err),
                     ORGS_ESTORE);
    ck_assert_int_eq(st_org_decode(patched(&rec, 1, REC_VERSION + 1), rec.size, &od, pool, &err),
                     ORGS_ESTORE);
    ck_assert_int_eq(st_org_decode(patched(&rec, 2, 0xff), rec.size, &od, pool, &err),
                     ORGS_ESTORE); /* a 6-bit group past 61 */
    /* name: length at 2 + ID_BIN + 16, its first byte 4 further */
    size_t name = 2 + ID_BIN + 16;
    ck_assert_int_eq(st_org_decode(patched(&rec, name + 4, '\0'), rec.size, &od, pool, &err),
                     ORGS_ESTORE);
    ck_assert_int_eq(st_org_decode(patched(&rec, name + 4, 0xc3), rec.size, &od, pool, &err),
                     ORGS_ESTORE);
    ck_assert_int_eq(st_org_decode(patched(&rec, name + 3, 0xff), rec.size, &od, pool, &err),
                     ORGS_ESTORE);
    memset(b, 0xff, rec.size);
    memcpy(b, rec.data, name);
    ck_assert_int_eq(st_org_decode(b, rec.size, &od, pool, &err), ORGS_ESTORE); /* null name */
    /* domains out of order */
    o.domains = strs(1, "b.example");
    ck_assert_int_eq(st_org_encode(&o, &rec, pool, &err), APR_SUCCESS);
    st_bytes_t two;
    o.domains = strs(2, "a.example", "c.example");
    ck_assert_int_eq(st_org_encode(&o, &two, pool, &err), APR_SUCCESS);
    unsigned char *sw = apr_pmemdup(pool, two.data, two.size);
    sw[two.size - 1] = 'a'; /* "c.example" -> "a.exampla": before "a.example" */
    sw[two.size - 9] = 'a';
    ck_assert_int_eq(st_org_decode(sw, two.size, &od, pool, &err), ORGS_ESTORE);
    o.domains = strs(2, "a.example", "a.example");
    ck_assert_int_eq(st_org_encode(&o, &two, pool, &err), APR_EINVAL);

    ck_assert_int_eq(st_user_encode(&u, &rec, pool, &err), APR_SUCCESS);
    for (size_t n = 0; n < rec.size; n++) {
        ck_assert_int_eq(st_user_decode(rec.data, n, &ud, pool, &err), ORGS_ESTORE);
    }
    ck_assert_int_eq(st_user_decode(patched(&rec, 0, REC_ORG_TAG), rec.size, &ud, pool, &err),
                     ORGS_ESTORE);
    ck_assert_int_eq(st_user_decode(patched(&rec, 2 + ID_BIN, 0xff), rec.size, &ud, pool, &err),
                     ORGS_ESTORE);
    /* a record of neither format */
    ck_assert_int_eq(st_user_read("x", 1, &ud, pool, &err), ORGS_ESTORE);
    ck_assert_int_eq(st_org_read("", 0, &od, pool, &err), ORGS_ESTORE);
}
END_TEST

START_TEST(json_records_refused)
{
    static const char *const not_objects[] = {"", "[1]", "\"s\"", "{\"a\":", "nul"};
    json_t *j;
    orgs_org_t *o;
    orgs_user_t *u;
    orgs_conn_t *c;
    orgs_invite_t *inv;
    orgs_pending_t *pl;
    const char *sealed;
    for (size_t i = 0; i < sizeof(not_objects) / sizeof(not_objects[0]); i++) {
        const char *s = not_objects[i];
        ck_assert_int_eq(st_json_of(s, strlen(s), &j, &err, "record"), ORGS_ESTORE);
        ck_assert_ptr_null(j);
    }
    static const char *const orgs[] = {
        "{\"name\":\"a\"}",
        "{\"id\":\"" ORG_A "\"}",
        "{\"id\":\"" ORG_A "\",\"name\":\"a\",\"domains\":[1]}",
        "{\"id\":\"" ORG_A "\",\"name\":\"a\",\"meta\":[]}",
        "{\"id\":\"" ORG_A "\",\"name\":\"a\",\"meta\":{\"k\":1}}",
    };
    for (size_t i = 0; i < sizeof(orgs) / sizeof(orgs[0]); i++) {
        j = json_loads(orgs[i], 0, NULL);
        ck_assert_msg(st_org_decode_json(j, &o, pool, &err) == APR_EINVAL, "%s", orgs[i]);
        json_decref(j);
    }
    j = json_loads("{\"id\":\"" USR_A "\"}", 0, NULL);
    ck_assert_int_eq(st_user_decode_json(j, &u, pool, &err), APR_EINVAL);
    json_decref(j);
    j = json_loads("{\"id\":\"" CON_A "\"}", 0, NULL);
    ck_assert_int_eq(st_conn_decode(j, &c, &sealed, pool, &err), APR_EINVAL);
    json_decref(j);
    j = json_loads("{\"id\":\"inv_0000000000000000\",\"org_id\":\"" ORG_A
                   "\",\"email\":\"a@x.com\",\"roles\":[1]}",
                   0, NULL);
    ck_assert_int_eq(st_invite_decode(j, &inv, pool, &err), APR_EINVAL);
    json_decref(j);
    j = json_loads("{\"nonce\":\"n\",\"browser\":\"q83v\"}", 0, NULL); /* 3 bytes, not 32 */
    ck_assert_int_eq(st_pending_decode(j, &pl, pool, &err), ORGS_ESTORE);
    json_decref(j);
    j = json_loads("{\"nonce\":\"n\",\"browser\":\"***\"}", 0, NULL);
    ck_assert_int_eq(st_pending_decode(j, &pl, pool, &err), ORGS_ESTORE);
    json_decref(j);
    j = json_loads("{\"nonce\":\"n\"}", 0, NULL);
    ck_assert_int_eq(st_pending_decode(j, &pl, pool, &err), ORGS_ESTORE);
    json_decref(j);
}
END_TEST

START_TEST(encoders_refuse_invalid_utf8)
{
    orgs_user_t u = user_of();
    orgs_org_t o = org_of();
    orgs_conn_t c = {0};
    st_bytes_t rec;
    u.name = "\xff";
    ck_assert_int_eq(st_user_encode(&u, &rec, pool, &err), APR_EINVAL);
    o.display_name = "\xe2\x82";
    ck_assert_int_eq(st_org_encode(&o, &rec, pool, &err), APR_EINVAL);
    o = org_of();
    o.meta = meta1("k", "\xc3");
    ck_assert_int_eq(st_org_encode(&o, &rec, pool, &err), APR_EINVAL);
    u = user_of();
    u.conn_id = ORG_A; /* an id of another kind */
    ck_assert_int_eq(st_user_encode(&u, &rec, pool, &err), APR_EINVAL);
    c.id = CON_A;
    c.name = "idp";
    ck_assert_ptr_null(st_conn_encode(&c, "\xc3"));
}
END_TEST

static void add_tests(TCase *tc)
{
    tcase_add_test(tc, ids_round_trip_in_order);
    tcase_add_test(tc, byte_order_round_trip);
    tcase_add_test(tc, membership_record_round_trip);
    tcase_add_test(tc, session_record_round_trip);
    tcase_add_test(tc, org_and_user_records_round_trip);
    tcase_add_test(tc, conn_invite_pending_records_round_trip);
    tcase_add_test(tc, ids_refused);
    tcase_add_test(tc, packed_ids_refused);
    tcase_add_test(tc, membership_headers_refused);
    tcase_add_test(tc, membership_entries_refused);
    tcase_add_test(tc, session_record_old_formats_read_without_exports);
    tcase_add_test(tc, session_records_refused);
    tcase_add_test(tc, session_encode_refused);
    tcase_add_test(tc, binary_records_refused);
    tcase_add_test(tc, json_records_refused);
    tcase_add_test(tc, encoders_refuse_invalid_utf8);
}

int main(void)
{
    return fixture_run("store_codec", add_tests);
}
