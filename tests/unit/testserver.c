/* The loopback HTTP server of the unit tests: see testserver.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testserver.h"

static int ts_stopping(testserver_t *s)
{
    pthread_mutex_lock(&s->mu);
    int v = s->stop;
    pthread_mutex_unlock(&s->mu);
    return v;
}

/* Adds or replaces the answer for path; safe while the server runs. */
void ts_route(testserver_t *s, const ts_route_t *r)
{
    pthread_mutex_lock(&s->mu);
    int i;
    for (i = 0; i < s->nroutes; i++) {
        if (strcmp(s->routes[i].path, r->path) == 0) {
            break;
        }
    }
    if (i < TS_MAX_ROUTES) {
        int hits = i < s->nroutes ? s->routes[i].hits : 0;
        s->routes[i] = *r;
        s->routes[i].hits = hits;
        if (i == s->nroutes) {
            s->nroutes++;
        }
    }
    pthread_mutex_unlock(&s->mu);
}

/* Shorthand: 200 application/json with body. */
void ts_json(testserver_t *s, const char *path, int status, const char *body)
{
    ts_route_t r = {.status = status, .ctype = "application/json", .body = body};
    snprintf(r.path, sizeof(r.path), "%s", path);
    ts_route(s, &r);
}

int ts_hits(testserver_t *s, const char *path)
{
    int n = 0;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->nroutes; i++) {
        if (strcmp(s->routes[i].path, path) == 0) {
            n = s->routes[i].hits;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Copy of the last request (NUL-terminated, in a static-free buffer of the
 * caller). */
void ts_last(testserver_t *s, char *buf, size_t size)
{
    pthread_mutex_lock(&s->mu);
    snprintf(buf, size, "%s", s->last);
    pthread_mutex_unlock(&s->mu);
}

static void ts_write_all(int fd, const char *b, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w <= 0) {
            return;
        }
        b += w;
        n -= (size_t)w;
    }
}

/* Reads head and Content-Length body into buf; returns total length. */
static size_t ts_read_request(testserver_t *s, int c, char *buf)
{
    size_t len = 0;
    size_t need = 0;
    char *eoh = NULL;
    while (len < TS_REQ_MAX) {
        struct pollfd pfd = {c, POLLIN, 0};
        if (poll(&pfd, 1, 100) == 0) {
            if (ts_stopping(s)) {
                break;
            }
            continue;
        }
        ssize_t r = recv(c, buf + len, TS_REQ_MAX - len, 0);
        if (r <= 0) {
            break;
        }
        len += (size_t)r;
        buf[len] = '\0';
        if (buf[0] < 'A' || buf[0] > 'Z') {
            break; /* not HTTP (e.g. a TLS ClientHello): answer with a close */
        }
        if (eoh == NULL && (eoh = strstr(buf, "\r\n\r\n")) != NULL) {
            size_t head = (size_t)(eoh - buf) + 4;
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            size_t body = cl && cl < eoh ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
            need = head + body;
        }
        if (eoh && len >= need) {
            break;
        }
    }
    buf[len] = '\0';
    return len;
}

static void ts_serve(testserver_t *s, int c)
{
    static char buf[TS_REQ_MAX + 1];
    size_t len = ts_read_request(s, c, buf);
    if (len == 0 || buf[0] < 'A' || buf[0] > 'Z') {
        return;
    }
    char path[256] = "";
    sscanf(buf, "%*s %255[^? ]", path);

    ts_route_t r = {.status = 404, .ctype = "text/plain", .body = "not found"};
    pthread_mutex_lock(&s->mu);
    memcpy(s->last, buf, len + 1);
    s->last_len = len;
    snprintf(s->last_path, sizeof(s->last_path), "%s", path);
    for (int i = 0; i < s->nroutes; i++) {
        if (strcmp(s->routes[i].path, path) == 0) {
            s->routes[i].hits++;
            r = s->routes[i];
        }
    }
    pthread_mutex_unlock(&s->mu);

    if (r.hang) {
        for (int i = 0; i < 100 && !ts_stopping(s); i++) {
            usleep(50000);
        }
        return;
    }
    size_t blen = r.body ? (r.body_len ? r.body_len : strlen(r.body)) : 0;
    char head[1024];
    int hl = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nConnection: close\r\n", r.status);
    if (r.ctype) {
        hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "Content-Type: %s\r\n", r.ctype);
    }
    if (!r.no_length) {
        hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "Content-Length: %zu\r\n", blen);
    }
    hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "%s\r\n", r.headers ? r.headers : "");
    ts_write_all(c, head, (size_t)hl);
    if (blen) {
        ts_write_all(c, r.body, blen);
    }
}

static void *ts_main(void *arg)
{
    testserver_t *s = arg;
    while (!ts_stopping(s)) {
        struct pollfd pfd = {s->fd, POLLIN, 0};
        if (poll(&pfd, 1, 50) <= 0) {
            continue;
        }
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) {
            continue;
        }
        ts_serve(s, c);
        shutdown(c, SHUT_RDWR);
        close(c);
    }
    return NULL;
}

/* Starts on a free loopback port; returns 0 on success. */
int ts_start(testserver_t *s)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0) {
        return -1;
    }
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    if (bind(s->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s->fd, 16) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &al) != 0) {
        close(s->fd);
        return -1;
    }
    s->port = ntohs(a.sin_port);
    snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
    return pthread_create(&s->thread, NULL, ts_main, s);
}

void ts_stop(testserver_t *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    close(s->fd);
    pthread_mutex_destroy(&s->mu);
}
