/* [glue] SetHandler orgs-status: health (JSON) and counters (Prometheus
 * text format with ?format=prometheus). Counters are in one anonymous
 * shared-memory segment of the parent, inherited by every child and bumped
 * with atomic adds; the store figures come from one read transaction per
 * status request (orgs_store_stat). Nothing here writes the store. */
#include <string.h>

#include <apr_shm.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>
#include <http_request.h>

#include "orgs.h"
#include "store.h"
#include "config.h"
#include "private.h"
#include "status.h"

#define STATUS_HANDLER "orgs-status"
#define SHM_KEY "auth_orgs_status_shm"
#define IDP_SLOTS 64
#define CONN_NAME_MAX 64 /* connection names are slugs of at most 50 */

typedef struct {
    unsigned used; /* 0 free, 1 being claimed, 2 named */
    char name[CONN_NAME_MAX];
    apr_uint64_t errors;
} idp_slot_t;

/* The segment's header: a graceful restart may load another build of the
 * module, whose layout differs; a segment that is not this layout is left
 * to the old generation's children and a new one made. */
#define SHM_MAGIC 0x4f524753u /* "ORGS" */
#define SHM_VERSION 2u

typedef struct {
    apr_uint32_t magic;
    apr_uint32_t version;
    apr_uint64_t size;
    apr_time_t since; /* when the segment was made: counters count from then */
    apr_uint64_t ctr[ORGS_CTR_COUNT];
    apr_uint64_t idp_other; /* errors of connections beyond IDP_SLOTS */
    idp_slot_t idp[IDP_SLOTS];
} counters_t;

static counters_t *counters;

static const struct {
    orgs_status_ctr_t ctr;
    const char *reason;
} denial_reasons[] = {
    {ORGS_CTR_DENY_NOT_MEMBER, "not_member"},   {ORGS_CTR_DENY_AUTHZ, "require"},
    {ORGS_CTR_DENY_IDP_REFUSED, "idp_refused"}, {ORGS_CTR_DENY_BAD_TOKEN, "invalid_token"},
    {ORGS_CTR_DENY_BAD_STATE, "invalid_state"},
};

void orgs_status_count(orgs_status_ctr_t which)
{
    if (counters && which < ORGS_CTR_COUNT) {
        __atomic_fetch_add(&counters->ctr[which], 1, __ATOMIC_RELAXED);
    }
}

/* A slot another process is naming (used 1): wait for its name, a few
 * bytes' copy away. A process that died in between leaves it at 1: after
 * the bounded wait it is passed over. */
static unsigned slot_wait_named(idp_slot_t *sl)
{
    unsigned used = __atomic_load_n(&sl->used, __ATOMIC_ACQUIRE);
    for (int spin = 0; used == 1 && spin < 10000; spin++) {
        if (spin > 100) {
            apr_thread_yield();
        }
        used = __atomic_load_n(&sl->used, __ATOMIC_ACQUIRE);
    }
    return used;
}

void orgs_status_idp_error(const char *conn_name)
{
    if (!counters || !conn_name) {
        return;
    }
    for (int i = 0; i < IDP_SLOTS; i++) {
        idp_slot_t *sl = &counters->idp[i];
        unsigned used = __atomic_load_n(&sl->used, __ATOMIC_ACQUIRE);
        if (used == 0) {
            unsigned expected = 0;
            if (__atomic_compare_exchange_n(&sl->used, &expected, 1, 0, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE)) {
                apr_cpystrn(sl->name, conn_name, sizeof(sl->name));
                __atomic_store_n(&sl->used, 2, __ATOMIC_RELEASE);
                __atomic_fetch_add(&sl->errors, 1, __ATOMIC_RELAXED);
                return;
            }
        }
        /* named by another process, perhaps this very name: its name is
         * read before going on, or two slots would count one connection */
        used = slot_wait_named(sl);
        if (used == 2 && strcmp(sl->name, conn_name) == 0) {
            __atomic_fetch_add(&sl->errors, 1, __ATOMIC_RELAXED);
            return;
        }
    }
    __atomic_fetch_add(&counters->idp_other, 1, __ATOMIC_RELAXED);
}

int orgs_status_post_config(apr_pool_t *pconf, server_rec *s)
{
    apr_pool_t *pproc = s->process->pool;
    apr_shm_t *shm = NULL;
    void *data = NULL;
    apr_pool_userdata_get(&data, SHM_KEY, pproc);
    if (data) {
        const counters_t *old = data;
        if (old->magic == SHM_MAGIC && old->version == SHM_VERSION &&
            old->size == sizeof(counters_t)) {
            counters = data; /* a restart: keep counting in the same segment */
            return OK;
        }
        /* another build's layout: counters start again in a new segment
         * (the old one stays, for the old generation's children) */
    }
    apr_status_t rv = apr_shm_create(&shm, sizeof(counters_t), NULL, pproc);
    if (rv != APR_SUCCESS) {
        orgs_log_error(s, APLOG_WARNING, rv,
                       ORGSLOGNO(00633) "orgs-status: no shared memory for the counters; "
                                        "the status page shows none");
        return OK;
    }
    counters = apr_shm_baseaddr_get(shm);
    memset(counters, 0, sizeof(*counters));
    counters->magic = SHM_MAGIC;
    counters->version = SHM_VERSION;
    counters->size = sizeof(counters_t);
    counters->since = apr_time_now();
    apr_pool_userdata_set(counters, SHM_KEY, apr_pool_cleanup_null, pproc);
    return OK;
}

static apr_uint64_t ctr(orgs_status_ctr_t which)
{
    return counters ? __atomic_load_n(&counters->ctr[which], __ATOMIC_RELAXED) : 0;
}

/* A Prometheus label value: \, " and newlines escaped. */
static const char *label(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) * 2 + 1), *o = out;
    for (; *s; s++) {
        if (*s == '\\' || *s == '"') {
            *o++ = '\\';
        } else if (*s == '\n') {
            *o++ = '\\';
            *o++ = 'n';
            continue;
        }
        *o++ = *s;
    }
    *o = '\0';
    return out;
}

static void metric(request_rec *r, const char *name, const char *type, const char *help)
{
    ap_rprintf(r, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void prometheus(request_rec *r, const orgs_store_stat_t *st, int store_ok)
{
    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    metric(r, "orgs_up", "gauge", "1 when this child has its store open");
    ap_rprintf(r, "orgs_up %d\n", store_ok);
    metric(r, "orgs_signins_total", "counter", "Sign-ins completed (sessions issued)");
    ap_rprintf(r, "orgs_signins_total %" APR_UINT64_T_FMT "\n", ctr(ORGS_CTR_SIGNINS));
    metric(r, "orgs_denials_total", "counter", "Requests and sign-ins refused, by reason");
    for (size_t i = 0; i < sizeof(denial_reasons) / sizeof(denial_reasons[0]); i++) {
        ap_rprintf(r, "orgs_denials_total{reason=\"%s\"} %" APR_UINT64_T_FMT "\n",
                   denial_reasons[i].reason, ctr(denial_reasons[i].ctr));
    }
    metric(r, "orgs_idp_errors_total", "counter",
           "Identity provider failures (metadata unavailable, code exchange failed), by "
           "connection");
    if (!orgs_srv_cfg(r->server)->status_conn_names) {
        /* connection names often say which customer it is: one sum by
         * default (OrgsStatusConnectionNames On breaks it down) */
        apr_uint64_t sum = counters ? __atomic_load_n(&counters->idp_other, __ATOMIC_RELAXED) : 0;
        for (int i = 0; counters && i < IDP_SLOTS; i++) {
            sum += __atomic_load_n(&counters->idp[i].errors, __ATOMIC_RELAXED);
        }
        ap_rprintf(r, "orgs_idp_errors_total %" APR_UINT64_T_FMT "\n", sum);
    }
    for (int i = 0; counters && orgs_srv_cfg(r->server)->status_conn_names && i < IDP_SLOTS; i++) {
        const idp_slot_t *sl = &counters->idp[i];
        if (__atomic_load_n(&sl->used, __ATOMIC_ACQUIRE) == 2) {
            ap_rprintf(r, "orgs_idp_errors_total{connection=\"%s\"} %" APR_UINT64_T_FMT "\n",
                       label(r->pool, sl->name), __atomic_load_n(&sl->errors, __ATOMIC_RELAXED));
        }
    }
    if (counters && orgs_srv_cfg(r->server)->status_conn_names && counters->idp_other) {
        ap_rprintf(r, "orgs_idp_errors_total{connection=\"(other)\"} %" APR_UINT64_T_FMT "\n",
                   counters->idp_other);
    }
    metric(r, "orgs_session_views_total", "counter",
           "Authenticated requests' sessions, by where they were read: the child's view "
           "cache or the store");
    ap_rprintf(r,
               "orgs_session_views_total{source=\"cache\"} %" APR_UINT64_T_FMT "\n"
               "orgs_session_views_total{source=\"store\"} %" APR_UINT64_T_FMT "\n",
               ctr(ORGS_CTR_VIEW_CACHED), ctr(ORGS_CTR_VIEW_READ));
    if (!store_ok) {
        return;
    }
    metric(r, "orgs_store_size_bytes", "gauge", "The store's maximum size (OrgsStoreMaxSize)");
    ap_rprintf(r, "orgs_store_size_bytes %" APR_UINT64_T_FMT "\n", st->map_size);
    metric(r, "orgs_store_used_bytes", "gauge", "Bytes of the store in use");
    ap_rprintf(r, "orgs_store_used_bytes %" APR_UINT64_T_FMT "\n", st->used_bytes);
    metric(r, "orgs_store_format", "gauge", "The store's format version");
    ap_rprintf(r, "orgs_store_format %u\n", st->version);
    metric(r, "orgs_sessions", "gauge", "Sessions in the store (expired ones until swept)");
    ap_rprintf(r, "orgs_sessions %" APR_SIZE_T_FMT "\n", st->sessions);
    metric(r, "orgs_pending_logins", "gauge", "Sign-ins started and not yet completed");
    ap_rprintf(r, "orgs_pending_logins %" APR_SIZE_T_FMT "\n", st->pending);
    metric(r, "orgs_objects", "gauge", "Objects in the store, by kind");
    ap_rprintf(r,
               "orgs_objects{kind=\"org\"} %" APR_SIZE_T_FMT "\n"
               "orgs_objects{kind=\"connection\"} %" APR_SIZE_T_FMT "\n"
               "orgs_objects{kind=\"user\"} %" APR_SIZE_T_FMT "\n"
               "orgs_objects{kind=\"membership\"} %" APR_SIZE_T_FMT "\n",
               st->orgs, st->conns, st->users, st->members);
}

static void health(request_rec *r, const orgs_store_stat_t *st, int store_ok, const char *why)
{
    ap_set_content_type(r, "application/json");
    ap_rprintf(r, "{\"status\":\"%s\",\"store\":", store_ok ? "ok" : "unavailable");
    if (store_ok) {
        ap_rprintf(r,
                   "{\"ok\":true,\"format\":%u,\"size_bytes\":%" APR_UINT64_T_FMT
                   ",\"used_bytes\":%" APR_UINT64_T_FMT ",\"orgs\":%" APR_SIZE_T_FMT
                   ",\"connections\":%" APR_SIZE_T_FMT ",\"users\":%" APR_SIZE_T_FMT
                   ",\"sessions\":%" APR_SIZE_T_FMT ",\"pending_logins\":%" APR_SIZE_T_FMT "}",
                   st->version, st->map_size, st->used_bytes, st->orgs, st->conns, st->users,
                   st->sessions, st->pending);
    } else {
        ap_rprintf(r, "{\"ok\":false,\"error\":\"%s\"}", why);
    }
    ap_rprintf(r,
               ",\"counters\":{\"since\":\"%s\",\"signins\":%" APR_UINT64_T_FMT
               ",\"denials\":%" APR_UINT64_T_FMT "}}\n",
               counters ? ap_ht_time(r->pool, counters->since, "%Y-%m-%dT%H:%M:%SZ", 1) : "",
               ctr(ORGS_CTR_SIGNINS),
               ctr(ORGS_CTR_DENY_NOT_MEMBER) + ctr(ORGS_CTR_DENY_AUTHZ) +
                   ctr(ORGS_CTR_DENY_IDP_REFUSED) + ctr(ORGS_CTR_DENY_BAD_TOKEN) +
                   ctr(ORGS_CTR_DENY_BAD_STATE));
}

static int status_handler(request_rec *r)
{
    orgs_store_stat_t st;
    orgs_err_t err = {{0}};
    const char *why = "not configured";
    int store_ok = 0;
    if (!r->handler || strcmp(r->handler, STATUS_HANDLER) != 0) {
        return DECLINED;
    }
    r->allowed |= (AP_METHOD_BIT << M_GET);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    orgs_store_t *store = orgs_srv_cfg(r->server)->store;
    memset(&st, 0, sizeof(st));
    if (store) {
        apr_status_t rv = orgs_store_stat(store, &st, &err);
        store_ok = rv == APR_SUCCESS;
        if (!store_ok) {
            why = "store error";
            orgs_log_rerror(r, APLOG_ERR, rv,
                            ORGSLOGNO(00634) "orgs-status: cannot read the store: %s", err.msg);
        }
    } else if (orgs_srv_cfg(r->server)->store_dir) {
        why = "the store could not be opened in this child (see ORGS00013)";
    }
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    /* a load balancer's health check reads the status code */
    r->status = store_ok ? HTTP_OK : HTTP_SERVICE_UNAVAILABLE;
    const char *fmt = NULL;
    if (r->args) {
        apr_table_t *q = apr_table_make(r->pool, 2);
        char *args = apr_pstrdup(r->pool, r->args);
        char *last = NULL;
        for (char *kv = apr_strtok(args, "&", &last); kv; kv = apr_strtok(NULL, "&", &last)) {
            char *eq = strchr(kv, '=');
            if (eq) {
                *eq = '\0';
                apr_table_setn(q, kv, eq + 1);
            }
        }
        fmt = apr_table_get(q, "format");
    }
    if (fmt && strcmp(fmt, "prometheus") == 0) {
        prometheus(r, &st, store_ok);
    } else if (fmt && strcmp(fmt, "json") != 0) {
        r->status = HTTP_BAD_REQUEST;
        ap_set_content_type(r, "text/plain; charset=utf-8");
        ap_rputs("format: json (default) or prometheus\n", r);
    } else {
        health(r, &st, store_ok, why);
    }
    return OK;
}

void orgs_status_register_hooks(apr_pool_t *p)
{
    ap_hook_handler(status_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
