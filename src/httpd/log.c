/* [glue] The module's log calls (see private.h): the status goes to httpd,
 * which prints "(rv)text" before the message, and the module's own codes,
 * which apr_strerror cannot name, get orgs_strerror's text after it. */
#include <stdarg.h>

#include <apr_strings.h>

#include "private.h"

/* The module's own codes: httpd would print them as "APR does not
 * understand this error code", so they go to httpd as 0 and are named by
 * status_text instead. */
#define HTTPD_RV(rv) ((rv) > ORGS_EBASE && (rv) < ORGS_EBASE + 100 ? 0 : (rv))

/* " (text)" for an ORGS_E* code, "" otherwise (httpd names APR's own). */
static const char *status_text(apr_status_t rv, char *buf, apr_size_t size)
{
    char text[128];
    if (rv <= ORGS_EBASE || rv >= ORGS_EBASE + 100) {
        return "";
    }
    apr_snprintf(buf, size, " (%s)", orgs_strerror(rv, text, sizeof(text)));
    return buf;
}

void orgs_log_rerror_(const char *file, int line, int module_index, int level, apr_status_t rv,
                      const request_rec *r, const char *fmt, ...)
{
    char msg[HUGE_STRING_LEN], buf[160];
    va_list ap;

    va_start(ap, fmt);
    apr_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ap_log_rerror_(file, line, module_index, level, HTTPD_RV(rv), r, "%s%s", msg,
                   status_text(rv, buf, sizeof(buf)));
}

void orgs_log_error_(const char *file, int line, int module_index, int level, apr_status_t rv,
                     const server_rec *s, const char *fmt, ...)
{
    char msg[HUGE_STRING_LEN], buf[160];
    va_list ap;

    va_start(ap, fmt);
    apr_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ap_log_error_(file, line, module_index, level, HTTPD_RV(rv), s, "%s%s", msg,
                  status_text(rv, buf, sizeof(buf)));
}
