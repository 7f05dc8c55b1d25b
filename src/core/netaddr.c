/* Internal-address classification for the back channel's SSRF guard. See
 * netaddr.h. */
#include <string.h>
#include <netdb.h>
#include <netinet/in.h>

#include "netaddr.h"

static orgs_netaddr_class_t classify4(const unsigned char *a)
{
    if (a[0] == 127) {
        return ORGS_NETADDR_LOOPBACK;
    }
    if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
        (a[0] == 100 && (a[1] & 0xc0) == 64)) {
        return ORGS_NETADDR_PRIVATE; /* RFC 1918 and the carrier-grade NAT range */
    }
    if (a[0] == 169 && a[1] == 254) {
        return ORGS_NETADDR_LINKLOCAL; /* where cloud metadata services live */
    }
    if (a[0] == 0 || a[0] >= 224 || (a[0] == 192 && a[1] == 0 && a[2] == 0)) {
        return ORGS_NETADDR_RESERVED; /* "this network", multicast, 240/4, broadcast */
    }
    return ORGS_NETADDR_PUBLIC;
}

static orgs_netaddr_class_t classify6(const unsigned char *a)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char zero[12] = {0};

    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0) {
        return classify4(a + 12); /* the IPv4 host it really reaches */
    }
    if (memcmp(a, zero, 12) == 0) {
        /* ::, ::1 and the deprecated IPv4-compatible addresses */
        if (a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] == 1) {
            return ORGS_NETADDR_LOOPBACK;
        }
        return ORGS_NETADDR_RESERVED;
    }
    if ((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)) {
        return ORGS_NETADDR_PRIVATE; /* unique local fc00::/7, old site-local fec0::/10 */
    }
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) {
        return ORGS_NETADDR_LINKLOCAL;
    }
    if (a[0] == 0xff) {
        return ORGS_NETADDR_RESERVED; /* multicast */
    }
    return ORGS_NETADDR_PUBLIC;
}

orgs_netaddr_class_t orgs_netaddr_classify(int family, const unsigned char *addr)
{
    if (addr == NULL) {
        return ORGS_NETADDR_RESERVED;
    }
    if (family == AF_INET) {
        return classify4(addr);
    }
    if (family == AF_INET6) {
        return classify6(addr);
    }
    return ORGS_NETADDR_RESERVED;
}

orgs_netaddr_class_t orgs_netaddr_sockaddr_class(const struct sockaddr *sa, socklen_t len)
{
    if (sa && sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        return classify4((const unsigned char *)&s4->sin_addr);
    }
    if (sa && sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        return classify6((const unsigned char *)&s6->sin6_addr);
    }
    return ORGS_NETADDR_RESERVED;
}

const char *orgs_netaddr_class_name(orgs_netaddr_class_t c)
{
    switch (c) {
    case ORGS_NETADDR_PUBLIC:
        return "public";
    case ORGS_NETADDR_LOOPBACK:
        return "loopback";
    case ORGS_NETADDR_PRIVATE:
        return "private";
    case ORGS_NETADDR_LINKLOCAL:
        return "link-local";
    default:
        return "reserved";
    }
}

apr_status_t orgs_netaddr_host_internal(const char *host, int *internal, orgs_err_t *err)
{
    char buf[256];
    struct addrinfo hints, *res = NULL;
    apr_size_t n = host ? strlen(host) : 0;

    *internal = 0;
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        host++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof(buf)) {
        return orgs_err_set(err, APR_EINVAL, "no host name to resolve");
    }
    memcpy(buf, host, n);
    buf[n] = '\0';
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(buf, NULL, &hints, &res) != 0 || res == NULL) {
        return orgs_err_set(err, APR_EINVAL, "host %s does not resolve", buf);
    }
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (orgs_netaddr_sockaddr_class(ai->ai_addr, ai->ai_addrlen) != ORGS_NETADDR_PUBLIC) {
            *internal = 1;
        }
    }
    freeaddrinfo(res);
    return APR_SUCCESS;
}
