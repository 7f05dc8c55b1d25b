/* A tiny HTTP/1.1 server on 127.0.0.1 for the http and oidc suites: one
 * thread, one connection at a time, canned answers per path, hit counters
 * and the last raw request kept for assertions. Test code only; the code
 * is in testserver.c. */
#ifndef ORGS_TESTSERVER_H
#define ORGS_TESTSERVER_H

#include <pthread.h>
#include <stddef.h>

#define TS_MAX_ROUTES 16
#define TS_REQ_MAX 65536

typedef struct ts_route_t {
    char path[256];      /* matched against the request path without query */
    int status;          /* e.g. 200 */
    const char *ctype;   /* Content-Type, NULL = none */
    const char *headers; /* extra header lines, each ending in \r\n, or NULL */
    const char *body;    /* NULL = empty */
    size_t body_len;     /* 0 = strlen(body) */
    int hang;            /* read the request, never answer */
    int no_length;       /* no Content-Length: body ends when we close */
    int hits;
} ts_route_t;

typedef struct testserver_t {
    int fd;
    int port;
    char base[64]; /* "http://127.0.0.1:PORT" */
    pthread_t thread;
    pthread_mutex_t mu;
    int stop;
    ts_route_t routes[TS_MAX_ROUTES];
    int nroutes;
    char last[TS_REQ_MAX + 1]; /* last raw request (head and body) */
    size_t last_len;
    char last_path[256];
} testserver_t;

/* Starts on a free loopback port; returns 0 on success. */
int ts_start(testserver_t *s);
void ts_stop(testserver_t *s);

/* Adds or replaces the answer for path; safe while the server runs. */
void ts_route(testserver_t *s, const ts_route_t *r);
/* Shorthand: a route with Content-Type application/json. */
void ts_json(testserver_t *s, const char *path, int status, const char *body);
/* How many requests path has had. */
int ts_hits(testserver_t *s, const char *path);
/* Copy of the last request (head and body, NUL-terminated) into the
 * caller's buffer. */
void ts_last(testserver_t *s, char *buf, size_t size);

#endif
