/* Network addresses as the back channel's SSRF guard sees them: which
 * addresses are internal (loopback, private, link-local, reserved) and
 * whether a host name resolves to one. Pure classification plus one
 * getaddrinfo wrapper; no httpd, no libcurl. */
#ifndef ORGS_NETADDR_H
#define ORGS_NETADDR_H

#include <sys/socket.h>

#include "orgs.h"

typedef enum {
    ORGS_NETADDR_PUBLIC = 0, /* globally routable: any back-channel call may reach it */
    ORGS_NETADDR_LOOPBACK,   /* 127/8, ::1 */
    ORGS_NETADDR_PRIVATE,    /* 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, fec0::/10 */
    ORGS_NETADDR_LINKLOCAL,  /* 169.254/16 (cloud metadata), fe80::/10 */
    ORGS_NETADDR_RESERVED    /* 0/8, multicast, 240/4, ::, ff00::/8, v4-compatible ::/96 */
} orgs_netaddr_class_t;

/* Class of a raw address: family AF_INET with 4 bytes or AF_INET6 with 16
 * bytes at addr. IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d)
 * addresses are judged by their IPv4 part. An unknown family is
 * ORGS_NETADDR_RESERVED (fail closed). */
orgs_netaddr_class_t orgs_netaddr_classify(int family, const unsigned char *addr);

/* Same for a socket address as libcurl or getaddrinfo hand it over; len
 * too short for the family: ORGS_NETADDR_RESERVED. */
orgs_netaddr_class_t orgs_netaddr_sockaddr_class(const struct sockaddr *sa, socklen_t len);

/* "public", "loopback", "private", "link-local", "reserved". */
const char *orgs_netaddr_class_name(orgs_netaddr_class_t c);

/* Resolves host (a name or an address literal, brackets allowed) and sets
 * *internal to 1 when any of its addresses is not public. APR_SUCCESS, or
 * APR_EINVAL when it does not resolve (then *internal is 0). Blocking: call
 * it only when an internal target was met, never on the request path of a
 * fresh cache. */
apr_status_t orgs_netaddr_host_internal(const char *host, int *internal, orgs_err_t *err);

#endif
