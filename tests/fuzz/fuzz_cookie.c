/* libFuzzer target: src/core/cookie.c. The input is one or more Cookie
 * headers, one a line; the first byte picks the name looked for. The scan
 * is compared with a plain reference reading of the same headers, and a
 * value found must be one the builder writes back and the scanner reads
 * again. */
#include <apr_strings.h>

#include "fuzz.h"
#include "cookie.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The reference: every ';'-separated piece, blanks trimmed at both ends,
 * whose text up to the first '=' is the name; values compared with their
 * trailing blanks trimmed. Returns -1 on a conflict, else the number of
 * pieces that matched, with the first value in *first. */
static int reference(char **headers, int n, const char *name, const char **first, apr_pool_t *p)
{
    int found = 0;
    *first = NULL;
    for (int h = 0; h < n; h++) {
        char *save = NULL;
        char *copy = apr_pstrdup(p, headers[h]);
        for (char *piece = apr_strtok(copy, ";", &save); piece;
             piece = apr_strtok(NULL, ";", &save)) {
            while (is_blank(*piece)) {
                piece++;
            }
            size_t len = strlen(piece);
            while (len > 0 && is_blank(piece[len - 1])) {
                piece[--len] = '\0';
            }
            char *eq = strchr(piece, '=');
            if (!eq || (size_t)(eq - piece) != strlen(name) ||
                strncmp(piece, name, strlen(name)) != 0) {
                continue;
            }
            if (found && strcmp(*first, eq + 1) != 0) {
                return -1;
            }
            if (!found) {
                *first = eq + 1;
            }
            found++;
        }
    }
    return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"orgs_org", "__Host-orgs_sess_acme", "a", "orgs_browser"};
    apr_pool_t *p;
    if (size < 1) {
        return 0;
    }
    apr_pool_create(&p, fuzz_root);
    const char *name = names[data[0] % (sizeof(names) / sizeof(names[0]))];
    char *s = fuzz_cstr(data + 1, size - 1, p);
    if (s) {
        /* the headers, one a line */
        char *headers[8];
        int n = 0;
        for (char *line = s; line && n < 8;) {
            char *nl = strchr(line, '\n');
            if (nl) {
                *nl = '\0';
            }
            headers[n++] = line;
            line = nl ? nl + 1 : NULL;
        }
        orgs_cookie_scan_t scan;
        orgs_cookie_scan_init(&scan, name);
        for (int h = 0; h < n && orgs_cookie_scan_feed(&scan, headers[h]); h++) {
        }
        const char *value = NULL, *want;
        apr_status_t rv = orgs_cookie_scan_value(&scan, &value, p);
        int ref = reference(headers, n, name, &want, p);
        if (ref < 0) {
            FUZZ_CHECK(rv == APR_EEXIST && value == NULL);
        } else {
            FUZZ_CHECK(rv == APR_SUCCESS);
            if (ref == 0 || !*want) {
                FUZZ_CHECK(value == NULL);
            } else {
                FUZZ_CHECK(value && strcmp(value, want) == 0);
            }
        }
        if (value) {
            size_t vlen = strlen(value);
            FUZZ_CHECK(vlen > 0 && !strchr(value, ';') && !is_blank(value[vlen - 1]));
            /* written by the builder and sent back, it reads the same
             * (under the https name, too) */
            for (int https = 0; https <= 1; https++) {
                const char *bare = name + (strncmp(name, "__Host-", 7) == 0 ? 7 : 0);
                const char *hdr = orgs_cookie_header_make(bare, value, https, -1, p);
                const char *back;
                orgs_cookie_scan_t again;
                orgs_cookie_scan_init(&again, orgs_cookie_name(bare, https, p));
                orgs_cookie_scan_feed(&again, apr_pstrmemdup(p, hdr, strcspn(hdr, ";")));
                FUZZ_CHECK(orgs_cookie_scan_value(&again, &back, p) == APR_SUCCESS);
                FUZZ_CHECK(back && strcmp(back, value) == 0);
            }
        }
    }
    apr_pool_destroy(p);
    return 0;
}
