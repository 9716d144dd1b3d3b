/*
 * Tests for core/netset: CIDR parsing (good and bad), membership at network
 * boundaries, Zeek's private address space with its 6to4 images, and address
 * printing as Zeek prints it (dotted quads, RFC 5952 IPv6 as inet_ntop).
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "core/netset.h"

/* Parse @p s or fail the test. */
static void
addr(const char *s, uint8_t out[16])
{
    ck_assert_msg(addr_parse(s, out), "addr_parse(\"%s\") failed", s);
}

static bool
has(const netset_t *set, const char *a)
{
    uint8_t b[16];
    addr(a, b);
    return netset_contains(set, b);
}

START_TEST(test_parse_addr)
{
    uint8_t a[16];
    static const uint8_t v4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3};

    ck_assert(addr_parse("10.1.2.3", a));
    ck_assert_mem_eq(a, v4, 16);
    ck_assert(addr_is_v4(a));
    ck_assert(addr_parse("::ffff:10.1.2.3", a));
    ck_assert_mem_eq(a, v4, 16);
    ck_assert(addr_parse("2001:db8::1", a));
    ck_assert(!addr_is_v4(a));
    ck_assert_int_eq(a[0], 0x20);
    ck_assert_int_eq(a[15], 1);

    static const char *const bad[] = {
        "", "10.1.2", "10.1.2.3.4", "256.1.1.1", "0x0a.0.0.1", "10.1.2.3 ", "1:2:3:4:5:6:7:8:9",
        "2001:db8:::1", "fe80::1%eth0", "hello", "10.1.2.3/8",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
        ck_assert_msg(!addr_parse(bad[i], a), "\"%s\" accepted", bad[i]);
    ck_assert(!addr_parse(NULL, a));
}
END_TEST

START_TEST(test_add_good)
{
    netset_t *s = netset_new();
    GError *err = NULL;

    ck_assert(netset_is_empty(s));
    ck_assert(netset_add(s, "10.0.0.0/8", &err));
    ck_assert(netset_add(s, " 192.168.1.7 ", &err)); /* bare = /32, spaces ignored */
    ck_assert(netset_add(s, "2001:db8::/32", &err));
    ck_assert(netset_add(s, "[2001:db9::]/48", &err)); /* Zeek's subnet literal */
    ck_assert(netset_add(s, "fe80::1", &err));         /* bare = /128 */
    ck_assert(netset_add(s, "172.16.5.4/12", &err));   /* host bits are dropped */
    ck_assert(netset_add(s, "10.0.0.0/8", &err));      /* duplicates are fine */
    ck_assert_ptr_null(err);
    ck_assert(!netset_is_empty(s));

    ck_assert(has(s, "10.255.255.255"));
    ck_assert(has(s, "192.168.1.7"));
    ck_assert(!has(s, "192.168.1.8"));
    ck_assert(has(s, "2001:db8:ffff::1"));
    ck_assert(has(s, "2001:db9:0:1::"));
    ck_assert(!has(s, "2001:db9:1::"));
    ck_assert(has(s, "fe80::1"));
    ck_assert(!has(s, "fe80::2"));
    ck_assert(has(s, "172.31.0.1"));
    ck_assert(!has(s, "172.32.0.1"));
    netset_free(s);
    netset_free(NULL);
}
END_TEST

START_TEST(test_add_bad)
{
    netset_t *s = netset_new();
    static const char *const bad[] = {
        "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0/8", "::/129",
        "/8",          "",          "bogus",       "[10.0.0.0]/8", "[::1",     "2001:db8::/0032",
        "10.0.0.0/8/8",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *err = NULL;
        ck_assert_msg(!netset_add(s, bad[i], &err), "\"%s\" accepted", bad[i]);
        ck_assert(g_error_matches(err, NETSET_ERROR, NETSET_ERROR_PARSE));
        /* The message quotes the offending text. */
        g_autofree char *quoted = g_strdup_printf("\"%s\"", bad[i]);
        ck_assert_msg(strstr(err->message, quoted) != NULL, "message \"%s\" lacks %s",
                      err->message, quoted);
        g_error_free(err);
    }
    ck_assert(netset_is_empty(s));
    netset_free(s);
}
END_TEST

START_TEST(test_add_list)
{
    netset_t *s = netset_new();
    GError *err = NULL;

    ck_assert(netset_add_list(s, "10.0.0.0/8, 192.168.0.0/16,,2001:db8::/32,", &err));
    ck_assert(has(s, "10.9.9.9"));
    ck_assert(has(s, "192.168.200.1"));
    ck_assert(has(s, "2001:db8::5"));
    ck_assert(netset_add_list(s, "", &err));
    ck_assert(!netset_add_list(s, "1.2.3.0/24,nonsense", &err));
    ck_assert(g_error_matches(err, NETSET_ERROR, NETSET_ERROR_PARSE));
    ck_assert_ptr_nonnull(strstr(err->message, "nonsense"));
    g_error_free(err);
    netset_free(s);
}
END_TEST

START_TEST(test_boundaries)
{
    netset_t *s = netset_new();

    ck_assert(netset_add(s, "100.64.0.0/10", NULL));
    ck_assert(netset_add(s, "2001:db8:8000::/33", NULL));
    ck_assert(netset_add(s, "2001:db8:1:2:3:4:5:0/127", NULL));
    ck_assert(!has(s, "100.63.255.255"));
    ck_assert(has(s, "100.64.0.0"));
    ck_assert(has(s, "100.127.255.255"));
    ck_assert(!has(s, "100.128.0.0"));
    ck_assert(!has(s, "2001:db8:7fff:ffff:ffff:ffff:ffff:ffff"));
    ck_assert(has(s, "2001:db8:8000::"));
    ck_assert(has(s, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
    ck_assert(!has(s, "2001:db9::"));
    ck_assert(has(s, "2001:db8:1:2:3:4:5:1"));
    ck_assert(!has(s, "2001:db8:1:2:3:4:5:2"));
    /* An IPv4 net does not swallow IPv6 addresses with the same low bits. */
    ck_assert(!has(s, "::100.64.0.1"));

    /* /0 matches everything of its family, and only that. */
    netset_t *all4 = netset_new();
    ck_assert(netset_add(all4, "0.0.0.0/0", NULL));
    ck_assert(has(all4, "255.255.255.255"));
    ck_assert(has(all4, "0.0.0.0"));
    ck_assert(!has(all4, "2001:db8::1"));
    netset_t *all6 = netset_new();
    ck_assert(netset_add(all6, "::/0", NULL));
    ck_assert(has(all6, "2001:db8::1"));
    ck_assert(has(all6, "1.2.3.4")); /* IPv4 lives in ::ffff:0:0/96 */

    /* IPv4 lookups search the IPv4 ranges the nets cover: prefixes
     * shorter than /8, and IPv6 nets that hold IPv4-mapped addresses,
     * count too */
    netset_t *w = netset_new();
    ck_assert(netset_add(w, "240.0.0.0/4", NULL));
    ck_assert(has(w, "255.1.2.3"));
    ck_assert(has(w, "240.0.0.0"));
    ck_assert(!has(w, "239.255.255.255"));
    ck_assert(!has(w, "10.0.0.1"));
    netset_t *m = netset_new();
    ck_assert(netset_add(m, "::ff00:0:0/88", NULL));
    ck_assert(has(m, "1.2.3.4")); /* ::ffff:1.2.3.4 is inside */
    ck_assert(!has(m, "::fe00:1.2.3.4"));
    netset_free(w);
    netset_free(m);

    ck_assert(!netset_contains(NULL, (const uint8_t[16]){0}));
    netset_free(all4);
    netset_free(all6);
    netset_free(s);
}
END_TEST

/* The first @p len bits of @p a and @p b agree. */
static bool
prefix_eq(const uint8_t a[16], const uint8_t b[16], unsigned len)
{
    for (unsigned i = 0; i < len; i++)
        if (((a[i / 8] ^ b[i / 8]) >> (7 - i % 8)) & 1)
            return false;
    return true;
}

/* Membership against a plain list of networks, for random nets (IPv4 of
 * every length, overlapping and adjacent; IPv6 nets inside and around
 * ::ffff:0:0/96) and random addresses near their edges.  The IPv4 ranges
 * are merged, so overlaps and neighbours are where a slip would show. */
START_TEST(test_random_against_list)
{
    uint64_t x = 0x243F6A8885A308D3ULL;
    for (int round = 0; round < 200; round++) {
        netset_t *set = netset_new();
        uint8_t nets[24][16];
        unsigned lens[24];
        int n = 1 + (int)(x % 24);
        for (int i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            char text[80];
            uint32_t v4 = (uint32_t)(x >> 32) & (x & 1 ? 0xff0f0000u : 0xffffffffu);
            unsigned kind = (unsigned)(x >> 8) % 8;
            if (kind < 6) {
                unsigned len = (unsigned)(x >> 12) % 33;
                snprintf(text, sizeof(text), "%u.%u.%u.%u/%u", v4 >> 24, v4 >> 16 & 255,
                         v4 >> 8 & 255, v4 & 255, len);
            } else {
                static const char *const v6[] = {"::/80", "::ffff:0:0/95", "::ff00:0:0/88",
                                                 "::/96", "::ffff:0:0/96", "::fffe:0:0/96",
                                                 "2002:a00::/24", "::/0"};
                snprintf(text, sizeof(text), "%s", v6[(x >> 16) % 8]);
            }
            ck_assert_msg(netset_add(set, text, NULL), "%s", text);
            char *slash = strchr(text, '/');
            *slash = '\0';
            addr(text, nets[i]);
            lens[i] = (unsigned)atoi(slash + 1) + (strchr(text, ':') ? 0 : 96);
        }
        for (int k = 0; k < 300; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            uint8_t a[16];
            memcpy(a, nets[x % (uint64_t)n], 16);
            if (addr_is_v4(a) || (x >> 40) % 4 == 0) {
                /* near a net's edges: flip a few low or middle bits */
                uint32_t v = (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 |
                             (uint32_t)a[14] << 8 | a[15];
                v ^= (uint32_t)(x >> 8) & ((x >> 50) % 2 ? 0xffu : 0x00ff0f00u);
                v += (uint32_t)((x >> 20) % 3) - 1;
                a[12] = (uint8_t)(v >> 24), a[13] = (uint8_t)(v >> 16);
                a[14] = (uint8_t)(v >> 8), a[15] = (uint8_t)v;
            }
            if ((x >> 60) == 0)
                a[10] ^= 1; /* just outside ::ffff:0:0/96 */
            bool want = false;
            for (int i = 0; i < n && !want; i++)
                want = prefix_eq(a, nets[i], lens[i]);
            char shown[64];
            ck_assert_msg(netset_contains(set, a) == want, "%s: expected %d",
                          addr_format(a, shown, sizeof(shown)), want);
        }
        netset_free(set);
    }
}
END_TEST

START_TEST(test_private)
{
    netset_t *s = netset_new();
    netset_add_private(s);

    static const char *const yes[] = {
        "10.1.2.3",   "0.1.2.3",         "100.64.0.1",     "127.0.0.1",       "169.254.1.1",
        "172.16.0.1", "192.0.0.8",       "192.0.2.1",      "192.168.1.1",     "198.19.255.1",
        "198.51.100.1", "203.0.113.9",   "224.0.0.251",    "239.255.255.250", "240.0.0.1",
        "255.255.255.255", "::",         "::1",            "64:ff9b:1::1",    "100::1",
        "2001::1",    "2001:1ff:ffff::", "2001:2::1",      "2001:db8::1",     "fc00::1",
        "fdff::1",    "fe80::1",         "febf::1",        "fec0::1",         "feff::1",
        /* 6to4 images: 2002:AABB:CCDD:: for a.b.c.d */
        "2002:0a00:0001::", "2002:a01:203::1", "2002:c0a8:101::1", "2002:e000:fb::",
        "2002:ffff:ffff::1", "2002::1", "2002:ac1f:ffff::", "2002:ffff:fffe::",
        "255.255.255.254", /* inside 240.0.0.0/4 */
    };
    static const char *const no[] = {
        "11.0.0.1",   "100.128.0.1",  "126.255.255.255", "172.32.0.1", "192.0.1.1",
        "192.169.0.1", "198.20.0.1",  "224.0.1.1",       "8.8.8.8",    "238.0.0.1",
        "ff02::fb",   "::2",          "2001:200::1",     "2001:db9::1", "fe00::1",
        "2002:b00::1", "2002:ac20::1", "2003::1",        "2002:e000:100::", "2002:ee00::1",
        "2002:df00::",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(yes); i++)
        ck_assert_msg(has(s, yes[i]), "%s should be private", yes[i]);
    for (size_t i = 0; i < G_N_ELEMENTS(no); i++)
        ck_assert_msg(!has(s, no[i]), "%s should not be private", no[i]);
    netset_free(s);
}
END_TEST

static void
assert_format(const char *in, const char *want)
{
    uint8_t a[16];
    char buf[64];

    addr(in, a);
    ck_assert_str_eq(addr_format(a, buf, sizeof(buf)), want);
    /* And the output reads back as the same address. */
    uint8_t back[16];
    ck_assert(addr_parse(buf, back));
    ck_assert_mem_eq(a, back, 16);
}

START_TEST(test_format)
{
    assert_format("0.0.0.0", "0.0.0.0");
    assert_format("1.2.3.4", "1.2.3.4");
    assert_format("255.255.255.255", "255.255.255.255");
    assert_format("::ffff:192.168.0.1", "192.168.0.1"); /* mapped: printed as IPv4 */
    assert_format("::", "::");
    assert_format("::1", "::1");
    assert_format("1::", "1::");
    assert_format("2001:DB8::1", "2001:db8::1");
    assert_format("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"); /* leftmost on a tie */
    assert_format("2001:0:0:1:0:0:0:1", "2001:0:0:1::1");       /* longest wins */
    assert_format("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"); /* single 0 kept */
    assert_format("fe80::0202:b3ff:fe1e:8329", "fe80::202:b3ff:fe1e:8329");
    assert_format("fe80:0:0:0:0:0:0:0", "fe80::");
    assert_format("0:0:0:0:0:0:0:1", "::1");
    assert_format("ff02::fb", "ff02::fb");
    assert_format("::0.0.0.2", "::2");               /* inet_ntop: not IPv4-compatible */
    assert_format("::1.2.3.4", "::1.2.3.4");         /* inet_ntop: IPv4-compatible */
    assert_format("::fffe:1.2.3.4", "::fffe:102:304");
    assert_format("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8");
    assert_format("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

    /* A short buffer truncates, NUL-terminated. */
    uint8_t a[16];
    char small[5];
    addr("2001:db8::1", a);
    ck_assert_str_eq(addr_format(a, small, sizeof(small)), "2001");
}
END_TEST

START_TEST(test_format_matches_inet_ntop)
{
    /* Zeek renders IPv6 with inet_ntop(); compare on many addresses with
     * zero runs in every position. */
    GRand *r = g_rand_new_with_seed(5952);

    for (int n = 0; n < 20000; n++) {
        uint8_t a[16];
        for (int i = 0; i < 8; i++) {
            uint32_t v = g_rand_int(r);
            uint16_t word = (v & 3) == 0 ? (uint16_t)(v >> 16) : 0; /* mostly zero */
            if ((v & 12) == 4)
                word = (uint16_t)(v >> 28); /* small values: no leading zeros */
            a[2 * i] = (uint8_t)(word >> 8);
            a[2 * i + 1] = (uint8_t)word;
        }
        if (addr_is_v4(a))
            continue;
        char ours[64], ref[INET6_ADDRSTRLEN];
        ck_assert_ptr_nonnull(inet_ntop(AF_INET6, a, ref, sizeof(ref)));
        ck_assert_str_eq(addr_format(a, ours, sizeof(ours)), ref);
    }
    g_rand_free(r);
}
END_TEST

static Suite *
netset_suite(void)
{
    Suite *s = suite_create("netset");
    TCase *tc = tcase_create("parse");

    tcase_add_test(tc, test_parse_addr);
    tcase_add_test(tc, test_add_good);
    tcase_add_test(tc, test_add_bad);
    tcase_add_test(tc, test_add_list);
    suite_add_tcase(s, tc);

    tc = tcase_create("contains");
    tcase_add_test(tc, test_boundaries);
    tcase_add_test(tc, test_random_against_list);
    tcase_add_test(tc, test_private);
    suite_add_tcase(s, tc);

    tc = tcase_create("format");
    tcase_add_test(tc, test_format);
    tcase_add_test(tc, test_format_matches_inet_ntop);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(netset_suite());

    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
