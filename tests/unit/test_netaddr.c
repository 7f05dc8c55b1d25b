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
    static const char *const pub[] = {"2001:db8::1",    "2606:4700::1111",  "fbff::1", "fe7f::1",
                                      "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002::1", NULL};
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

START_TEST(host_internal)
{
    int internal = -1;
    orgs_err_t err = {""};
    ck_assert_int_eq(orgs_netaddr_host_internal("127.0.0.1", &internal, &err), APR_SUCCESS);
    ck_assert_int_eq(internal, 1);
    ck_assert_int_eq(orgs_netaddr_host_internal("[::1]", &internal, &err), APR_SUCCESS);
    ck_assert_int_eq(internal, 1);
    ck_assert_int_eq(orgs_netaddr_host_internal("93.184.216.34", &internal, &err), APR_SUCCESS);
    ck_assert_int_eq(internal, 0);
    ck_assert_int_eq(orgs_netaddr_host_internal("", &internal, &err), APR_EINVAL);
    ck_assert_int_eq(orgs_netaddr_host_internal(NULL, &internal, &err), APR_EINVAL);
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
    tcase_add_test(tc, host_internal);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(netaddr_suite());
}
