/* Network addresses as the back channel's SSRF guard sees them: which
 * addresses are internal (loopback, private, link-local, reserved) and
 * which of them the operator allowed. Pure classification: no DNS, no
 * httpd, no libcurl. */
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
 * bytes at addr. IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d)
 * and 6to4 (2002:AABB:CCDD::/48) addresses are judged by their IPv4 part;
 * Teredo (2001::/32) is reserved and local-use NAT64 (64:ff9b:1::/48)
 * private: their IPv4 part cannot be told from the address alone. An unknown family is
 * ORGS_NETADDR_RESERVED (fail closed). */
orgs_netaddr_class_t orgs_netaddr_classify(int family, const unsigned char *addr);

/* Same for a socket address as libcurl or getaddrinfo hand it over; len
 * too short for the family: ORGS_NETADDR_RESERVED. */
orgs_netaddr_class_t orgs_netaddr_sockaddr_class(const struct sockaddr *sa, socklen_t len);

/* "public", "loopback", "private", "link-local", "reserved". */
const char *orgs_netaddr_class_name(orgs_netaddr_class_t c);

/* One entry of the operator's list of internal back-channel targets
 * (OrgsBackchannelAllowInternal): a host name, an IPv4 or IPv6 address, or
 * a CIDR (address/bits). APR_SUCCESS or APR_EINVAL with a reason. */
apr_status_t orgs_netaddr_allow_check(const char *entry, orgs_err_t *err);

/* Whether the operator allowed a connection to the internal address sa,
 * made for a URL whose host is url_host (as written in the URL, brackets
 * stripped): some entry of allow (NULL-terminated, may be NULL) is that
 * host name (compared without case), or an address or CIDR holding sa
 * (an IPv4-mapped IPv6 address counts as its IPv4 address). Never
 * resolves anything: the decision does not rest on a DNS answer that the
 * owner of a name controls. */
int orgs_netaddr_allowed(const char *const *allow, const char *url_host, const struct sockaddr *sa,
                         socklen_t len);

#endif
