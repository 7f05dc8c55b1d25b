/* Complete logins in a loop, for bench/compare's logins/s figure.
 *
 *   login_client START-URL FINAL-URL CLIENTS SECONDS
 *
 * CLIENTS threads each do logins until SECONDS have passed: a fresh libcurl
 * handle with an empty cookie jar (a new browser: new connections, no
 * session), the start URL fetched with redirects followed, and the login
 * counted only if it ends at FINAL-URL (its query left aside, unless it
 * carries an OAuth error) with 200. It
 * prints "<logins> <failures>". A "{client}" in START-URL becomes the client's
 * number (1 to CLIENTS), so that each client can sign in as a user of its
 * own, as people do.
 *
 * One process for all clients, rather than a curl process per login: the
 * clients then take a small share of the machine's two CPUs, and the figure
 * says more about the servers than about process start-up. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CLIENTS 64

struct client {
    pthread_t thread;
    char url[4096]; /* START-URL for this client */
    long logins;
    long failures;
};

static const char *start_url, *final_url;
static size_t final_len;
static double deadline;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n;
}

/* One login: 1 when it ended at the final URL with 200. */
static int login_once(const char *start, struct curl_slist *headers)
{
    CURL *h = curl_easy_init();
    long code = 0;
    char *url = NULL;
    int ok = 0;

    if (!h)
        return 0;
    curl_easy_setopt(h, CURLOPT_URL, start);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(h, CURLOPT_COOKIEFILE, ""); /* cookies in memory */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*"); /* loopback only, whatever the environment says */
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &url);
    ok = rc == CURLE_OK && code == 200 && url && strncmp(url, final_url, final_len) == 0 &&
         (url[final_len] == '\0' ||
          (url[final_len] == '?' && !strstr(url, "?error=") && !strstr(url, "&error=")));
    if (!ok) /* why, on stderr; the caller keeps it */
        fprintf(stderr, "login_client: %s, status %ld at %s\n", curl_easy_strerror(rc), code,
                url ? url : "?");
    curl_easy_cleanup(h);
    return ok;
}

static void *run(void *arg)
{
    struct client *c = arg;
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: text/html");

    headers = curl_slist_append(headers, "Sec-Fetch-Site: same-origin");
    while (now() < deadline) {
        if (login_once(c->url, headers))
            c->logins++;
        else
            c->failures++;
    }
    curl_slist_free_all(headers);
    return NULL;
}

int main(int argc, char **argv)
{
    struct client clients[MAX_CLIENTS];
    long n, secs, logins = 0, failures = 0;

    if (argc != 5 || (n = atol(argv[3])) < 1 || n > MAX_CLIENTS || (secs = atol(argv[4])) < 1) {
        fprintf(stderr, "usage: %s START-URL FINAL-URL CLIENTS(1-%d) SECONDS\n", argv[0],
                MAX_CLIENTS);
        return 2;
    }
    start_url = argv[1];
    final_url = argv[2];
    final_len = strlen(final_url);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "login_client: curl_global_init failed\n");
        return 1;
    }
    deadline = now() + (double)secs;
    memset(clients, 0, sizeof clients);
    for (long i = 0; i < n; i++) {
        const char *at = strstr(start_url, "{client}");
        int len = at ? snprintf(clients[i].url, sizeof clients[i].url, "%.*s%ld%s",
                                (int)(at - start_url), start_url, i + 1, at + strlen("{client}"))
                     : snprintf(clients[i].url, sizeof clients[i].url, "%s", start_url);
        if (len < 0 || (size_t)len >= sizeof clients[i].url) {
            fprintf(stderr, "login_client: START-URL too long\n");
            return 2;
        }
    }
    for (long i = 0; i < n; i++)
        if (pthread_create(&clients[i].thread, NULL, run, &clients[i]) != 0) {
            fprintf(stderr, "login_client: pthread_create failed\n");
            return 1;
        }
    for (long i = 0; i < n; i++) {
        pthread_join(clients[i].thread, NULL);
        logins += clients[i].logins;
        failures += clients[i].failures;
    }
    curl_global_cleanup();
    printf("%ld %ld\n", logins, failures);
    return 0;
}
