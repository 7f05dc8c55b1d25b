/* Internal-address classification for the back channel's SSRF guard. See
 * netaddr.h. */
#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include <arpa/inet.h>
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
    if (a[0] == 0x20 && a[1] == 0x02) {
        return classify4(a + 2); /* 6to4 2002::/16: the relay delivers to that IPv4 host */
    }
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) {
        /* Teredo 2001::/32: the tunnel's far end is an obfuscated IPv4
         * address and a relay of somebody else's choosing; never an IdP */
        return ORGS_NETADDR_RESERVED;
    }
    if (memcmp(a, nat64, 4) == 0 && a[4] == 0 && a[5] == 1) {
        /* local-use NAT64 64:ff9b:1::/48 (RFC 8215): a site's own
         * translator, whose prefix length (so where the IPv4 part sits)
         * only the site knows */
        return ORGS_NETADDR_PRIVATE;
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

/* An address or CIDR entry: family and bytes in *net, prefix length in
 * *bits. 0 when entry is neither (then it is a host name). */
static int entry_net(const char *entry, int *family, unsigned char *net, int *bits)
{
    char buf[64];
    const char *slash = strchr(entry, '/');
    apr_size_t n = slash ? (apr_size_t)(slash - entry) : strlen(entry);
    int max;

    if (n == 0 || n >= sizeof(buf)) {
        return 0;
    }
    memcpy(buf, entry, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, net) == 1) {
        *family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, net) == 1) {
        *family = AF_INET6;
        max = 128;
    } else {
        return 0;
    }
    *bits = max;
    if (slash) {
        char *end = NULL;
        long b = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || b < 0 || b > max) {
            return -1;
        }
        *bits = (int)b;
    }
    return 1;
}

static int prefix_match(const unsigned char *a, const unsigned char *net, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, net, (size_t)whole) != 0) {
        return 0;
    }
    return rest == 0 || ((a[whole] ^ net[whole]) & (0xff00 >> rest) & 0xff) == 0;
}

apr_status_t orgs_netaddr_allow_check(const char *entry, orgs_err_t *err)
{
    unsigned char net[16];
    int family, bits;
    int kind = entry ? entry_net(entry, &family, net, &bits) : -1;

    if (kind < 0) {
        return orgs_err_set(err, APR_EINVAL, "not an address, a CIDR or a host name");
    }
    if (kind == 0 && (!*entry || strlen(entry) > 253 ||
                      strspn(entry, "abcdefghijklmnopqrstuvwxyz"
                                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != strlen(entry))) {
        return orgs_err_set(err, APR_EINVAL,
                            "must be a host name, an IP address or a CIDR (address/bits), "
                            "without scheme, port or path");
    }
    return APR_SUCCESS;
}

int orgs_netaddr_allowed(const char *const *allow, const char *url_host, const struct sockaddr *sa,
                         socklen_t len)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const unsigned char *addr = NULL;
    int family = 0;

    if (sa && sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        family = AF_INET;
        addr = (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    } else if (sa && sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        family = AF_INET6;
        addr = (const unsigned char *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (memcmp(addr, mapped, 12) == 0) {
            family = AF_INET; /* ::ffff:a.b.c.d is that IPv4 host */
            addr += 12;
        }
    }
    for (const char *const *e = allow; e && *e; e++) {
        unsigned char net[16];
        int nfamily, bits, kind = entry_net(*e, &nfamily, net, &bits);
        if (kind == 0) {
            /* a name the operator wrote: matched as written in the URL,
             * never by what it resolves to */
            if (url_host && strcasecmp(*e, url_host) == 0) {
                return 1;
            }
        } else if (kind > 0 && addr && nfamily == family && prefix_match(addr, net, bits)) {
            return 1;
        }
    }
    return 0;
}
