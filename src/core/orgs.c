#include <stdarg.h>
#include <stdio.h>

#include <apr_strings.h>

#include "orgs.h"

apr_status_t orgs_err_set(orgs_err_t *err, apr_status_t rv, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        apr_vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return rv;
}

static const struct {
    apr_status_t rv;
    const char *text;
} orgs_errors[] = {
    {ORGS_ESTORE, "store error"},
    {ORGS_ESTOREFULL, "store full (grow OrgsStoreMaxSize / orgctl --max-size)"},
    {ORGS_EVERSION, "store format not supported by this version"},
    {ORGS_ECRYPTO, "cryptographic operation failed"},
    {ORGS_ENOKEY, "crypto key required"},
    {ORGS_EBADSIG, "bad signature"},
    {ORGS_EBADALG, "algorithm not allowed"},
    {ORGS_ECLAIM, "token claim check failed"},
    {ORGS_EHTTP, "remote endpoint failed"},
    {ORGS_EEXPIRED, "expired"},
    {ORGS_EDENIED, "access denied"},
    {ORGS_ENOKID, "no key with that kid"},
};

const char *orgs_strerror(apr_status_t rv, char *buf, apr_size_t bufsize)
{
    for (apr_size_t i = 0; i < sizeof(orgs_errors) / sizeof(orgs_errors[0]); i++) {
        if (orgs_errors[i].rv == rv) {
            apr_cpystrn(buf, orgs_errors[i].text, bufsize);
            return buf;
        }
    }
    return apr_strerror(rv, buf, bufsize);
}
