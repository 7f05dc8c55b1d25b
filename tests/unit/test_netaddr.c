/* Unit tests for src/core/netaddr.c: the SSRF guard's address classes. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "testutil.h"
#include "netaddr.h"

TESTUTIL_POOL_FIXTURE

/* The class of a textual address (IPv4 or IPv6). */
static orgs_netaddr_class_t cls(const char *text)
{
    unsigned char buf[16];
    if (inet_pton(AF_INET, text, buf) == 1) {
        return orgs_netaddr_classify(AF_INET, buf);
    }
    ck_assert_msg(inet_pton(AF_INET6, text, buf) == 1, "bad test address %s", text);
    return orgs_netaddr_classify(AF_INET6, buf);
}

static void expect(const char *const *list, orgs_netaddr_class_t want)
{
    for (const char *const *a = list; *a; a++) {
        ck_assert_msg(cls(*a) == want, "%s: got %s, want %s", *a, orgs_netaddr_class_name(cls(*a)),
                      orgs_netaddr_class_name(want));
    }
}

START_TEST(ipv4_ranges)
{
    static const char *const loopback[] = {"127.0.0.1", "127.255.255.254", "127.1.2.3", NULL};
    static const char *const priv[] = {"10.0.0.0",       "10.255.255.255",  "172.16.0.1",
                                       "172.31.255.255", "192.168.0.1",     "192.168.255.255",
                                       "100.64.0.1",     "100.127.255.255", NULL};
    static const char *const link[] = {"169.254.0.1", "169.254.169.254", NULL};
    static const char *const reserved[] = {"0.0.0.0",         "0.1.2.3",   "224.0.0.1",
                                           "239.255.255.255", "240.0.0.1", "255.255.255.255",
                                           "192.0.0.8",       NULL};
    /* the edges just outside each range are public */
    static const char *const pub[] = {
        "9.255.255.255",   "11.0.0.0",    "172.15.255.255",  "172.32.0.0",
        "192.167.1.1",     "192.169.0.1", "169.253.1.1",     "169.255.0.1",
        "126.255.255.255", "128.0.0.1",   "100.63.255.255",  "100.128.0.0",
        "1.1.1.1",         "8.8.8.8",     "223.255.255.255", NULL};
    expect(loopback, ORGS_NETADDR_LOOPBACK);
    expect(priv, ORGS_NETADDR_PRIVATE);
    expect(link, ORGS_NETADDR_LINKLOCAL);
    expect(reserved, ORGS_NETADDR_RESERVED);
    expect(pub, ORGS_NETADDR_PUBLIC);
}
END_TEST

START_TEST(ipv6_ranges)
{
    static const char *const loopback[] = {"::1", "::ffff:127.0.0.1", "64:ff9b::127.0.0.1", NULL};
    static const char *const priv[] = {
        "fc00::1",         "fd12:3456:789a::1",  "fdff:ffff::1",      "fec0::1",
        "::ffff:10.1.2.3", "::ffff:192.168.1.1", "::ffff:172.16.0.1", NULL};
    static const char *const link[] = {"fe80::1", "febf:ffff::1", "::ffff:169.254.169.254",
                                       "64:ff9b::169.254.169.254", NULL};
    static const char *const reserved[] = {
        "::", "::2", "::10.0.0.1", "ff02::1", "ff0e::1", "::ffff:0.0.0.0", NULL};
    static const char *const pub[] = {
        "2001:db8::1",    "2606:4700::1111",  "fbff::1",           "fe7f::1",
        "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:5db8:d822::1", NULL};
    expect(loopback, ORGS_NETADDR_LOOPBACK);
    expect(priv, ORGS_NETADDR_PRIVATE);
    expect(link, ORGS_NETADDR_LINKLOCAL);
    expect(reserved, ORGS_NETADDR_RESERVED);
    expect(pub, ORGS_NETADDR_PUBLIC);
}
END_TEST

START_TEST(sockaddr_forms)
{
    struct sockaddr_in s4 = {0};
    s4.sin_family = AF_INET;
    inet_pton(AF_INET, "169.254.169.254", &s4.sin_addr);
    ck_assert_int_eq(orgs_netaddr_sockaddr_class((struct sockaddr *)&s4, sizeof(s4)),
                     ORGS_NETADDR_LINKLOCAL);
    /* too short for its family, or an unknown family: fail closed */
    ck_assert_int_eq(orgs_netaddr_sockaddr_class((struct sockaddr *)&s4, 4), ORGS_NETADDR_RESERVED);
    struct sockaddr_in6 s6 = {0};
    s6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::ffff:93.184.216.34", &s6.sin6_addr);
    ck_assert_int_eq(orgs_netaddr_sockaddr_class((struct sockaddr *)&s6, sizeof(s6)),
                     ORGS_NETADDR_PUBLIC);
    struct sockaddr other = {0};
    other.sa_family = AF_UNIX;
    ck_assert_int_eq(orgs_netaddr_sockaddr_class(&other, sizeof(other)), ORGS_NETADDR_RESERVED);
    ck_assert_int_eq(orgs_netaddr_sockaddr_class(NULL, 0), ORGS_NETADDR_RESERVED);
    ck_assert_int_eq(orgs_netaddr_classify(AF_INET, NULL), ORGS_NETADDR_RESERVED);
}
END_TEST

START_TEST(tunnels_embedding_ipv4)
{
    unsigned char a[16] = {0};
    /* 6to4 2002:7f00:0001:: reaches 127.0.0.1; 2002:0a00:0001:: 10.0.0.1;
     * 2002:5db8:d822:: a public host */
    a[0] = 0x20, a[1] = 0x02, a[2] = 127, a[3] = 0, a[4] = 0, a[5] = 1;
    ck_assert_int_eq(orgs_netaddr_classify(AF_INET6, a), ORGS_NETADDR_LOOPBACK);
    a[2] = 10;
    ck_assert_int_eq(orgs_netaddr_classify(AF_INET6, a), ORGS_NETADDR_PRIVATE);
    a[2] = 169, a[3] = 254, a[4] = 169, a[5] = 254;
    ck_assert_int_eq(orgs_netaddr_classify(AF_INET6, a), ORGS_NETADDR_LINKLOCAL);
    a[2] = 93, a[3] = 184, a[4] = 216, a[5] = 34;
    ck_assert_int_eq(orgs_netaddr_classify(AF_INET6, a), ORGS_NETADDR_PUBLIC);
    /* Teredo 2001:0000::/32, whatever follows */
    memset(a, 0, sizeof(a));
    a[0] = 0x20, a[1] = 0x01, a[4] = 0x41, a[5] = 0x37, a[15] = 1;
    ck_assert_int_eq(orgs_netaddr_classify(AF_INET6, a), ORGS_NETADDR_RESERVED);
    /* 2001:db8:: is not Teredo (documentation range, judged as before) */
    a[2] = 0x0d, a[3] = 0xb8;
    ck_assert_int_eq(orgs_netaddr_classify(AF_INET6, a), ORGS_NETADDR_PUBLIC);
    /* local-use NAT64 64:ff9b:1::/48, even with a public-looking tail */
    memset(a, 0, sizeof(a));
    a[1] = 0x64, a[2] = 0xff, a[3] = 0x9b, a[5] = 1, a[12] = 93, a[13] = 184, a[14] = 216;
    ck_assert_int_eq(orgs_netaddr_classify(AF_INET6, a), ORGS_NETADDR_PRIVATE);
    /* the well-known 64:ff9b::/96 still by its IPv4 part */
    a[5] = 0;
    ck_assert_int_eq(orgs_netaddr_classify(AF_INET6, a), ORGS_NETADDR_PUBLIC);
    a[12] = 127;
    ck_assert_int_eq(orgs_netaddr_classify(AF_INET6, a), ORGS_NETADDR_LOOPBACK);
}
END_TEST

static struct sockaddr_in v4(const char *text)
{
    struct sockaddr_in s;
    memset(&s, 0, sizeof(s));
    s.sin_family = AF_INET;
    ck_assert_int_eq(inet_pton(AF_INET, text, &s.sin_addr), 1);
    return s;
}

static struct sockaddr_in6 v6(const char *text)
{
    struct sockaddr_in6 s;
    memset(&s, 0, sizeof(s));
    s.sin6_family = AF_INET6;
    ck_assert_int_eq(inet_pton(AF_INET6, text, &s.sin6_addr), 1);
    return s;
}

#define SA(s) ((const struct sockaddr *)&(s)), ((socklen_t)sizeof(s))

START_TEST(allow_list)
{
    const char *const none[] = {NULL};
    const char *const list[] = {"10.1.0.0/16",      "127.0.0.1",      "fd00:1::/32",
                                "idp.corp.example", "192.168.7.0/25", NULL};
    struct sockaddr_in a = v4("10.1.200.3"), b = v4("10.2.0.1"), lo = v4("127.0.0.1"),
                       lo2 = v4("127.0.0.2"), c = v4("192.168.7.127"), d = v4("192.168.7.128");
    struct sockaddr_in6 e = v6("fd00:1:ffff::1"), f = v6("fd00:2::1"), m = v6("::ffff:10.1.0.9"),
                        one = v6("::1");

    ck_assert(orgs_netaddr_allowed(list, "x", SA(a)));
    ck_assert(!orgs_netaddr_allowed(list, "x", SA(b)));
    ck_assert(orgs_netaddr_allowed(list, "x", SA(lo)));
    ck_assert(!orgs_netaddr_allowed(list, "x", SA(lo2)));
    ck_assert(orgs_netaddr_allowed(list, "x", SA(c)));
    ck_assert(!orgs_netaddr_allowed(list, "x", SA(d)));
    ck_assert(orgs_netaddr_allowed(list, "x", SA(e)));
    ck_assert(!orgs_netaddr_allowed(list, "x", SA(f)));
    ck_assert(orgs_netaddr_allowed(list, "x", SA(m))); /* mapped: its IPv4 part */
    ck_assert(!orgs_netaddr_allowed(list, "x", SA(one)));
    /* a listed name allows whatever address the URL's host is, by the
     * name as written; another name resolving there does not */
    ck_assert(orgs_netaddr_allowed(list, "IDP.corp.example", SA(b)));
    ck_assert(!orgs_netaddr_allowed(list, "rogue.example", SA(b)));
    ck_assert(!orgs_netaddr_allowed(list, NULL, SA(b)));
    ck_assert(!orgs_netaddr_allowed(none, "idp.corp.example", SA(a)));
    ck_assert(!orgs_netaddr_allowed(NULL, "idp.corp.example", SA(a)));
    ck_assert(!orgs_netaddr_allowed(list, "x", NULL, 0));
}
END_TEST

START_TEST(allow_entries_checked)
{
    orgs_err_t err = {""};
    const char *good[] = {"10.0.0.0/8", "127.0.0.1",        "::1",       "fd00::/8",
                          "0.0.0.0/0",  "idp.corp.example", "localhost", "::/0"};
    const char *bad[] = {"",           "10.0.0.0/33", "::/129",   "10.0.0.0/", "10.0.0.0/x",
                         "http://idp", "idp:443",     "idp/path", "a b",       "10.0.0.0/-1"};
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
        ck_assert_msg(orgs_netaddr_allow_check(good[i], &err) == APR_SUCCESS, "%s", good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        ck_assert_msg(orgs_netaddr_allow_check(bad[i], &err) == APR_EINVAL, "%s", bad[i]);
    }
}
END_TEST

static Suite *netaddr_suite(void)
{
    Suite *s = suite_create("netaddr");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, ipv4_ranges);
    tcase_add_test(tc, ipv6_ranges);
    tcase_add_test(tc, sockaddr_forms);
    tcase_add_test(tc, tunnels_embedding_ipv4);
    tcase_add_test(tc, allow_list);
    tcase_add_test(tc, allow_entries_checked);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(netaddr_suite());
}
