/*
 * Check suite for src/decode: hand-built frames for every link type and
 * tunnel the decoder knows, IPv4 options, IPv6 extension chains, fragment
 * reassembly, truncation sweeps, checksums, random mutations, and (when the
 * shared corpus is present) every packet of Zeek's own test traces.
 */
#include <check.h>
#include <pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/netset.h"
#include "core/weird.h"
#include "decode/decode.h"

/* ------------------------------------------------------------------ */
/* packet building                                                     */

typedef struct {
    uint8_t b[3072];
    uint32_t n;
} buf_t;

typedef struct {
    int v; /* 4 or 6 */
    uint8_t s[16], d[16];
} ips_t;

static const ips_t V4 = {4, {10, 0, 0, 1}, {10, 0, 0, 2}};
static const ips_t V4B = {4, {192, 168, 1, 1}, {192, 168, 1, 2}};
static const ips_t V6 = {6,
                         {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
                         {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}};

static void
put(buf_t *b, const void *p, uint32_t n)
{
    ck_assert_uint_le(b->n + n, sizeof(b->b));
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

static void
put8(buf_t *b, uint8_t v)
{
    put(b, &v, 1);
}

static void
put16(buf_t *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(b, x, 2);
}

static void
put32(buf_t *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(b, x, 4);
}

static void
putb(buf_t *b, const buf_t *in)
{
    put(b, in->b, in->n);
}

static void
set16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* An independent RFC 1071 sum, 16 bits at a time. */
static uint32_t
t_sum(const uint8_t *p, uint32_t n, uint32_t acc)
{
    for (uint32_t i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        acc += (uint32_t)p[n - 1] << 8;
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return acc;
}

static uint32_t
t_pseudo(const ips_t *ip, uint8_t proto, uint32_t len)
{
    uint32_t acc = 0;
    if (ip->v == 4) {
        acc = t_sum(ip->s, 4, acc);
        acc = t_sum(ip->d, 4, acc);
    } else {
        acc = t_sum(ip->s, 16, acc);
        acc = t_sum(ip->d, 16, acc);
    }
    return acc + proto + (len >> 16) + (len & 0xffff);
}

/* Fill in the checksum at @p off of a transport message. */
static void
fix_l4_sum(const ips_t *ip, uint8_t proto, buf_t *m, uint32_t off)
{
    set16(m->b + off, 0);
    uint32_t acc = (proto == 1) ? 0 : t_pseudo(ip, proto, m->n);
    uint16_t s = (uint16_t) ~t_sum(m->b, m->n, acc);
    if (proto == 17 && s == 0)
        s = 0xffff;
    set16(m->b + off, s);
}

static buf_t
tcp_seg(const ips_t *ip, uint16_t sp, uint16_t dp, uint8_t flags, const uint8_t *opt,
        uint32_t optlen, const char *data)
{
    buf_t m = {.n = 0};
    uint32_t dlen = data ? (uint32_t)strlen(data) : 0;
    put16(&m, sp);
    put16(&m, dp);
    put32(&m, 1000);
    put32(&m, 2000);
    put8(&m, (uint8_t)(((20 + optlen) / 4) << 4));
    put8(&m, flags);
    put16(&m, 8192);
    put16(&m, 0);
    put16(&m, 0);
    if (optlen)
        put(&m, opt, optlen);
    if (dlen)
        put(&m, data, dlen);
    fix_l4_sum(ip, 6, &m, 16);
    return m;
}

static buf_t
udp_dgram(const ips_t *ip, uint16_t sp, uint16_t dp, const uint8_t *data, uint32_t dlen)
{
    buf_t m = {.n = 0};
    put16(&m, sp);
    put16(&m, dp);
    put16(&m, (uint16_t)(8 + dlen));
    put16(&m, 0);
    if (dlen)
        put(&m, data, dlen);
    fix_l4_sum(ip, 17, &m, 6);
    return m;
}

static buf_t
udp_buf(const ips_t *ip, uint16_t sp, uint16_t dp, const buf_t *in)
{
    return udp_dgram(ip, sp, dp, in->b, in->n);
}

static buf_t
icmp_msg(const ips_t *ip, uint8_t type, uint8_t code)
{
    buf_t m = {.n = 0};
    uint8_t proto = ip->v == 4 ? 1 : 58;
    put8(&m, type);
    put8(&m, code);
    put16(&m, 0);
    put32(&m, 0x00010002);
    put(&m, "pingpong", 8);
    fix_l4_sum(ip, proto, &m, 2);
    return m;
}

/* IPv4 with every field under control. */
static buf_t
ipv4_ex(const ips_t *ip, uint8_t proto, const uint8_t *pl, uint32_t plen, uint16_t id,
        uint16_t frag, const uint8_t *opt, uint32_t optlen)
{
    buf_t b = {.n = 0};
    uint32_t hl = 20 + optlen;
    put8(&b, (uint8_t)(0x40 | hl / 4));
    put8(&b, 0);
    put16(&b, (uint16_t)(hl + plen));
    put16(&b, id);
    put16(&b, frag);
    put8(&b, 64);
    put8(&b, proto);
    put16(&b, 0);
    put(&b, ip->s, 4);
    put(&b, ip->d, 4);
    if (optlen)
        put(&b, opt, optlen);
    set16(b.b + 10, (uint16_t) ~t_sum(b.b, hl, 0));
    if (plen)
        put(&b, pl, plen);
    return b;
}

/* IPv6 whose payload @p pl starts with any extension headers already. */
static buf_t
ipv6_ex(const ips_t *ip, uint8_t next, const uint8_t *pl, uint32_t plen)
{
    buf_t b = {.n = 0};
    put32(&b, 0x60000000);
    put16(&b, (uint16_t)plen);
    put8(&b, next);
    put8(&b, 64);
    put(&b, ip->s, 16);
    put(&b, ip->d, 16);
    if (plen)
        put(&b, pl, plen);
    return b;
}

static buf_t
ip_pkt(const ips_t *ip, uint8_t proto, const buf_t *pl)
{
    if (ip->v == 4)
        return ipv4_ex(ip, proto, pl->b, pl->n, 0x1234, 0, NULL, 0);
    return ipv6_ex(ip, proto, pl->b, pl->n);
}

static const uint8_t MAC_A[6] = {0, 1, 2, 3, 4, 5};
static const uint8_t MAC_B[6] = {0, 6, 7, 8, 9, 10};

static buf_t
eth(uint16_t type, const buf_t *in)
{
    buf_t b = {.n = 0};
    put(&b, MAC_A, 6);
    put(&b, MAC_B, 6);
    put16(&b, type);
    putb(&b, in);
    return b;
}

static buf_t
pre(const uint8_t *h, uint32_t n, const buf_t *in)
{
    buf_t b = {.n = 0};
    put(&b, h, n);
    putb(&b, in);
    return b;
}

/* The standard payloads the link tests wrap. */
static buf_t
std_udp4(void)
{
    buf_t u = udp_dgram(&V4, 1234, 53, (const uint8_t *)"hello", 5);
    return ip_pkt(&V4, 17, &u);
}

static buf_t
std_udp6(void)
{
    buf_t u = udp_dgram(&V6, 1234, 53, (const uint8_t *)"hello", 5);
    return ip_pkt(&V6, 17, &u);
}

/* ------------------------------------------------------------------ */
/* decoding helpers                                                    */

static weird_counters_t W;
static decoder_t *D;

static void
setup(void)
{
    memset(&W, 0, sizeof(W));
    decoder_config_t cfg = {0};
    D = decoder_new(&cfg, &W);
}

static void
teardown(void)
{
    decoder_free(D);
    D = NULL;
}

static decoder_t *
redo(const decoder_config_t *cfg)
{
    decoder_free(D);
    memset(&W, 0, sizeof(W));
    D = decoder_new(cfg, &W);
    return D;
}

static uint64_t
wsum(void)
{
    uint64_t s = 0;
    for (int i = 0; i < WEIRD_COUNT; i++)
        s += W.n[i];
    return s;
}

static decode_result_t
dec(int dlt, const buf_t *b, pkt_layer_t *l)
{
    return decode_packet(D, dlt, b->b, b->n, b->n, 1000.0, l);
}

static void
assert_v4_udp(const pkt_layer_t *l)
{
    ck_assert_int_eq(l->ip_version, 4);
    ck_assert_int_eq(l->proto, 17);
    ck_assert_int_eq(l->sport, 1234);
    ck_assert_int_eq(l->dport, 53);
    ck_assert_mem_eq(l->src + 12, V4.s, 4);
    ck_assert_mem_eq(l->dst + 12, V4.d, 4);
    ck_assert_int_eq(l->src[10], 0xff); /* v4-mapped */
    ck_assert_uint_eq(l->ip_len, 20 + 8 + 5);
    ck_assert_uint_eq(l->payload_len, 5);
    ck_assert_mem_eq(l->payload, "hello", 5);
    ck_assert(l->l4_complete);
    ck_assert(!l->snaplen_cut);
    ck_assert(decode_l4_checksum_ok(l));
}

static void
assert_v6_udp(const pkt_layer_t *l)
{
    ck_assert_int_eq(l->ip_version, 6);
    ck_assert_int_eq(l->proto, 17);
    ck_assert_int_eq(l->dport, 53);
    ck_assert_mem_eq(l->src, V6.s, 16);
    ck_assert_uint_eq(l->ip_len, 40 + 8 + 5);
    ck_assert(decode_l4_checksum_ok(l));
}

/* ------------------------------------------------------------------ */
/* link layers                                                         */

typedef struct {
    const char *name;
    int dlt;
    int v; /* expected IP version */
    buf_t (*build)(void);
} link_case_t;

static buf_t
lk_eth4(void)
{
    buf_t ip = std_udp4();
    return eth(0x0800, &ip);
}

static buf_t
lk_eth6(void)
{
    buf_t ip = std_udp6();
    return eth(0x86dd, &ip);
}

static buf_t
vlan_tag(uint16_t tpid_outer, uint16_t vid, uint16_t inner_type, const buf_t *in)
{
    (void)tpid_outer;
    buf_t b = {.n = 0};
    put16(&b, vid);
    put16(&b, inner_type);
    putb(&b, in);
    return b;
}

static buf_t
lk_vlan(void)
{
    buf_t ip = std_udp4();
    buf_t v = vlan_tag(0x8100, 100, 0x0800, &ip);
    return eth(0x8100, &v);
}

static buf_t
lk_qinq(void)
{
    buf_t ip = std_udp6();
    buf_t in = vlan_tag(0x8100, 200, 0x86dd, &ip);
    buf_t out = vlan_tag(0x88a8, 100, 0x8100, &in);
    return eth(0x88a8, &out);
}

static buf_t
lk_qinq9100(void)
{
    buf_t ip = std_udp4();
    buf_t in = vlan_tag(0x8100, 200, 0x0800, &ip);
    buf_t out = vlan_tag(0x9100, 100, 0x8100, &in);
    return eth(0x9100, &out);
}

static buf_t
mpls_stack(int labels, const buf_t *in)
{
    buf_t b = {.n = 0};
    for (int i = 0; i < labels; i++) {
        uint32_t e = (uint32_t)(100 + i) << 12 | 64;
        if (i == labels - 1)
            e |= 1u << 8; /* bottom of stack */
        put32(&b, e);
    }
    putb(&b, in);
    return b;
}

static buf_t
lk_mpls4(void)
{
    buf_t ip = std_udp4();
    buf_t m = mpls_stack(2, &ip);
    return eth(0x8847, &m);
}

static buf_t
lk_mpls6_in_vlan(void)
{
    buf_t ip = std_udp6();
    buf_t m = mpls_stack(3, &ip);
    buf_t v = vlan_tag(0x8100, 5, 0x8847, &m);
    return eth(0x8100, &v);
}

static buf_t
pppoe(uint16_t ppp, const buf_t *in)
{
    buf_t b = {.n = 0};
    put8(&b, 0x11);
    put8(&b, 0);
    put16(&b, 0x0042);
    put16(&b, (uint16_t)(in->n + 2));
    put16(&b, ppp);
    putb(&b, in);
    return b;
}

static buf_t
lk_pppoe(void)
{
    buf_t ip = std_udp4();
    buf_t p = pppoe(0x0021, &ip);
    return eth(0x8864, &p);
}

static buf_t
lk_pppoe_qinq6(void)
{
    buf_t ip = std_udp6();
    buf_t p = pppoe(0x0057, &ip);
    buf_t in = vlan_tag(0x8100, 2, 0x8864, &p);
    buf_t out = vlan_tag(0x88a8, 1, 0x8100, &in);
    return eth(0x88a8, &out);
}

static buf_t
lk_pbb(void)
{
    buf_t ip = std_udp4();
    buf_t inner = eth(0x0800, &ip);
    static const uint8_t itag[4] = {0x00, 0x00, 0x01, 0x00};
    buf_t p = pre(itag, 4, &inner);
    return eth(0x88e7, &p);
}

static buf_t
lk_vntag(void)
{
    buf_t ip = std_udp4();
    buf_t v = vlan_tag(0x8100, 7, 0x0800, &ip);
    static const uint8_t tag[6] = {0x80, 0x01, 0x00, 0x33, 0x81, 0x00};
    buf_t t = pre(tag, 6, &v);
    return eth(0x8926, &t);
}

static buf_t
lk_vntag_in_vlan(void)
{
    buf_t ip = std_udp4();
    buf_t v = vlan_tag(0x8100, 7, 0x0800, &ip);
    static const uint8_t tag[6] = {0x00, 0x00, 0x00, 0x33, 0x81, 0x00};
    buf_t t = pre(tag, 6, &v);
    buf_t outer = vlan_tag(0x8100, 250, 0x8926, &t);
    return eth(0x8100, &outer);
}

static buf_t
lk_fabricpath(void)
{
    buf_t ip = std_udp4();
    buf_t classic = eth(0x0800, &ip);
    uint8_t fp[16] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x89, 0x03, 0x00, 0x20};
    return pre(fp, 16, &classic);
}

static buf_t
lk_snap(void)
{
    buf_t ip = std_udp4();
    static const uint8_t snap[8] = {0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00};
    buf_t s = pre(snap, 8, &ip);
    return eth((uint16_t)s.n, &s);
}

static buf_t
lk_raw4(void)
{
    return std_udp4();
}

static buf_t
lk_raw6(void)
{
    return std_udp6();
}

static buf_t
lk_ppp(void)
{
    buf_t ip = std_udp4();
    static const uint8_t h[2] = {0x00, 0x21};
    return pre(h, 2, &ip);
}

static buf_t
lk_ppp_hdlc6(void)
{
    buf_t ip = std_udp6();
    static const uint8_t h[4] = {0xff, 0x03, 0x00, 0x57};
    return pre(h, 4, &ip);
}

static buf_t
lk_ppp_mpls(void)
{
    buf_t ip = std_udp4();
    buf_t m = mpls_stack(1, &ip);
    static const uint8_t h[4] = {0xff, 0x03, 0x02, 0x81};
    return pre(h, 4, &m);
}

static buf_t
lk_ppp_serial(void)
{
    buf_t ip = std_udp4();
    static const uint8_t h[4] = {0xff, 0x03, 0x00, 0x21};
    return pre(h, 4, &ip);
}

static buf_t
lk_sll(void)
{
    buf_t ip = std_udp4();
    uint8_t h[16] = {0, 0, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0, 0x08, 0x00};
    return pre(h, 16, &ip);
}

static buf_t
lk_sll_vlan(void)
{
    buf_t ip = std_udp6();
    buf_t v = vlan_tag(0x8100, 9, 0x86dd, &ip);
    uint8_t h[16] = {0, 0, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0, 0x81, 0x00};
    return pre(h, 16, &v);
}

static buf_t
lk_sll2(void)
{
    buf_t ip = std_udp6();
    uint8_t h[20] = {0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0};
    return pre(h, 20, &ip);
}

static buf_t
lk_null4(void)
{
    buf_t ip = std_udp4();
    static const uint8_t h[4] = {2, 0, 0, 0}; /* AF_INET, little-endian host */
    return pre(h, 4, &ip);
}

static buf_t
lk_null6_24(void)
{
    buf_t ip = std_udp6();
    static const uint8_t h[4] = {24, 0, 0, 0};
    return pre(h, 4, &ip);
}

static buf_t
lk_null6_28_be(void)
{
    buf_t ip = std_udp6();
    static const uint8_t h[4] = {0, 0, 0, 28}; /* big-endian capture host */
    return pre(h, 4, &ip);
}

static buf_t
lk_loop6_30(void)
{
    buf_t ip = std_udp6();
    static const uint8_t h[4] = {0, 0, 0, 30};
    return pre(h, 4, &ip);
}

static buf_t
lk_loop4(void)
{
    buf_t ip = std_udp4();
    static const uint8_t h[4] = {0, 0, 0, 2};
    return pre(h, 4, &ip);
}

/* An 802.11 data frame: @p fc0 frame control byte 0, @p fc1 flags. */
static buf_t
wlan(uint8_t fc0, uint8_t fc1, const buf_t *ip, uint16_t type)
{
    buf_t b = {.n = 0};
    put8(&b, fc0);
    put8(&b, fc1);
    put16(&b, 0);
    for (int i = 0; i < 3; i++)
        put(&b, MAC_A, 6);
    put16(&b, 0x1230);
    if ((fc1 & 0x03) == 0x03)
        put(&b, MAC_B, 6);
    if (fc0 & 0x80)
        put16(&b, 0x0000); /* QoS control */
    static const uint8_t llc[6] = {0xaa, 0xaa, 0x03, 0, 0, 0};
    put(&b, llc, 6);
    put16(&b, type);
    putb(&b, ip);
    return b;
}

static buf_t
lk_wlan(void)
{
    buf_t ip = std_udp4();
    return wlan(0x08, 0x01, &ip, 0x0800);
}

static buf_t
lk_wlan_qos(void)
{
    buf_t ip = std_udp6();
    return wlan(0x88, 0x02, &ip, 0x86dd);
}

static buf_t
lk_wlan_4addr(void)
{
    buf_t ip = std_udp4();
    return wlan(0x88, 0x03, &ip, 0x0800);
}

static buf_t
radiotap(const buf_t *in)
{
    static const uint8_t rt[12] = {0, 0, 12, 0, 0x04, 0, 0, 0, 0x02, 0, 0, 0};
    return pre(rt, 12, in);
}

static buf_t
lk_radiotap(void)
{
    buf_t w = lk_wlan_qos();
    return radiotap(&w);
}

static const link_case_t link_cases[] = {
    {"ethernet v4", 1, 4, lk_eth4},
    {"ethernet v6", 1, 6, lk_eth6},
    {"802.1Q", 1, 4, lk_vlan},
    {"QinQ 88a8", 1, 6, lk_qinq},
    {"QinQ 9100", 1, 4, lk_qinq9100},
    {"MPLS v4", 1, 4, lk_mpls4},
    {"MPLS v6 in VLAN", 1, 6, lk_mpls6_in_vlan},
    {"PPPoE", 1, 4, lk_pppoe},
    {"PPPoE v6 over QinQ", 1, 6, lk_pppoe_qinq6},
    {"PBB", 1, 4, lk_pbb},
    {"VN-Tag", 1, 4, lk_vntag},
    {"VN-Tag in VLAN", 1, 4, lk_vntag_in_vlan},
    {"FabricPath", 1, 4, lk_fabricpath},
    {"802.3 SNAP", 1, 4, lk_snap},
    {"DLT_RAW 12", 12, 4, lk_raw4},
    {"DLT_RAW 14", 14, 6, lk_raw6},
    {"LINKTYPE_RAW 101", 101, 4, lk_raw4},
    {"DLT_IPV4", 228, 4, lk_raw4},
    {"DLT_IPV6", 229, 6, lk_raw6},
    {"DLT_PPP", 9, 4, lk_ppp},
    {"DLT_PPP HDLC v6", 9, 6, lk_ppp_hdlc6},
    {"DLT_PPP MPLS", 9, 4, lk_ppp_mpls},
    {"DLT_PPP_SERIAL", 50, 4, lk_ppp_serial},
    {"Linux SLL", 113, 4, lk_sll},
    {"Linux SLL VLAN", 113, 6, lk_sll_vlan},
    {"Linux SLL2", 276, 6, lk_sll2},
    {"DLT_NULL v4", 0, 4, lk_null4},
    {"DLT_NULL AF 24", 0, 6, lk_null6_24},
    {"DLT_NULL AF 28 BE", 0, 6, lk_null6_28_be},
    {"DLT_LOOP AF 30", 108, 6, lk_loop6_30},
    {"DLT_LOOP v4", 108, 4, lk_loop4},
    {"802.11 data", 105, 4, lk_wlan},
    {"802.11 QoS", 105, 6, lk_wlan_qos},
    {"802.11 4-address", 105, 4, lk_wlan_4addr},
    {"radiotap", 127, 6, lk_radiotap},
};
#define N_LINK_CASES (int)(sizeof(link_cases) / sizeof(link_cases[0]))

START_TEST(link_each_type)
{
    const link_case_t *c = &link_cases[_i];
    buf_t b = c->build();
    pkt_layer_t l;
    ck_assert_msg(decode_dlt_supported(c->dlt), "%s", c->name);
    decode_result_t r = dec(c->dlt, &b, &l);
    ck_assert_msg(r == DECODE_OK, "%s: result %d", c->name, r);
    if (c->v == 4)
        assert_v4_udp(&l);
    else
        assert_v6_udp(&l);
    ck_assert_int_eq(l.depth, 0);
    ck_assert_int_eq(l.inner_encap, ENCAP_NONE);
    ck_assert_msg(wsum() == 0, "%s: unexpected weird", c->name);
}
END_TEST

START_TEST(link_not_ip)
{
    pkt_layer_t l;
    uint8_t arp[28] = {0, 1, 8, 0, 6, 4, 0, 1};
    buf_t a = {.n = 0};
    put(&a, arp, sizeof(arp));
    buf_t f = eth(0x0806, &a);
    ck_assert_int_eq(dec(1, &f, &l), DECODE_SKIP);
    ck_assert_uint_eq(W.n[WEIRD_UNKNOWN_ETHERTYPE], 1);

    buf_t lldp = eth(0x88cc, &a);
    ck_assert_int_eq(dec(1, &lldp, &l), DECODE_SKIP);
    ck_assert_uint_eq(W.n[WEIRD_UNKNOWN_ETHERTYPE], 2);

    /* 802.3 with plain LLC (spanning tree) */
    static const uint8_t stp[3] = {0x42, 0x42, 0x03};
    buf_t s = {.n = 0};
    put(&s, stp, 3);
    put(&s, arp, 28);
    buf_t sf = eth((uint16_t)s.n, &s);
    ck_assert_int_eq(dec(1, &sf, &l), DECODE_SKIP);
    ck_assert_uint_eq(W.n[WEIRD_UNKNOWN_ETHERTYPE], 3);

    /* PPP LCP inside PPPoE */
    buf_t lcp = pppoe(0xc021, &a);
    buf_t lf = eth(0x8864, &lcp);
    ck_assert_int_eq(dec(1, &lf, &l), DECODE_SKIP);
    ck_assert_uint_eq(W.n[WEIRD_UNKNOWN_PPP_PROTOCOL], 1);

    /* VN-Tag straight to IPv4: Zeek follows only VLAN tags after it. */
    buf_t ip = std_udp4();
    static const uint8_t tag[6] = {0, 0, 0, 0x33, 0x08, 0x00};
    buf_t t = pre(tag, 6, &ip);
    buf_t tf = eth(0x8926, &t);
    ck_assert_int_eq(dec(1, &tf, &l), DECODE_SKIP);

    /* DLT_NULL with AF 7 */
    static const uint8_t af7[4] = {7, 0, 0, 0};
    buf_t n = pre(af7, 4, &ip);
    ck_assert_int_eq(dec(0, &n, &l), DECODE_SKIP);
}
END_TEST

START_TEST(link_80211_non_data)
{
    pkt_layer_t l;
    buf_t ip = std_udp4();
    /* beacon (management) */
    buf_t m = wlan(0x80, 0x00, &ip, 0x0800);
    ck_assert_int_eq(dec(105, &m, &l), DECODE_SKIP);
    ck_assert_uint_eq(W.n[WEIRD_NON_DATA_80211], 1);
    /* null data */
    buf_t nd = wlan(0x48, 0x01, &ip, 0x0800);
    ck_assert_int_eq(dec(105, &nd, &l), DECODE_SKIP);
    ck_assert_uint_eq(W.n[WEIRD_NON_DATA_80211], 2);
    /* protected QoS data, inside radiotap */
    buf_t p = wlan(0x88, 0x41, &ip, 0x0800);
    buf_t rp = radiotap(&p);
    ck_assert_int_eq(dec(127, &rp, &l), DECODE_SKIP);
    ck_assert_uint_eq(W.n[WEIRD_NON_DATA_80211], 3);
    /* protected plain data */
    buf_t p2 = wlan(0x08, 0x41, &ip, 0x0800);
    ck_assert_int_eq(dec(105, &p2, &l), DECODE_SKIP);
    ck_assert_uint_eq(W.n[WEIRD_NON_DATA_80211], 4);
    /* data frame with ARP */
    buf_t arp = wlan(0x08, 0x01, &ip, 0x0806);
    ck_assert_int_eq(dec(105, &arp, &l), DECODE_SKIP);
    ck_assert_uint_eq(W.n[WEIRD_UNKNOWN_ETHERTYPE], 1);
}
END_TEST

START_TEST(link_80211_amsdu)
{
    /* QoS data with the A-MSDU bit: the first subframe is decoded. */
    buf_t ip = std_udp4();
    buf_t b = {.n = 0};
    put8(&b, 0x88);
    put8(&b, 0x01);
    put16(&b, 0);
    for (int i = 0; i < 3; i++)
        put(&b, MAC_A, 6);
    put16(&b, 0);
    put16(&b, 0x8000); /* QoS control, A-MSDU present (bit 7 of the first byte) */
    put(&b, MAC_A, 6);
    put(&b, MAC_B, 6);
    put16(&b, (uint16_t)(8 + ip.n));
    static const uint8_t llc[8] = {0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00};
    put(&b, llc, 8);
    putb(&b, &ip);
    pkt_layer_t l;
    ck_assert_int_eq(dec(105, &b, &l), DECODE_OK);
    assert_v4_udp(&l);
}
END_TEST

START_TEST(link_unknown_dlt)
{
    buf_t b = std_udp4();
    pkt_layer_t l;
    ck_assert(!decode_dlt_supported(147));
    ck_assert_int_eq(dec(147, &b, &l), DECODE_UNSUPPORTED);
    ck_assert_uint_eq(W.n[WEIRD_PCAP_UNKNOWN_LINKTYPE], 1);
    ck_assert_int_eq(dec(-1, &b, &l), DECODE_UNSUPPORTED);
    ck_assert_uint_eq(W.n[WEIRD_PCAP_UNKNOWN_LINKTYPE], 2);
}
END_TEST

START_TEST(link_vlan_too_deep)
{
    buf_t ip = std_udp4();
    buf_t cur = vlan_tag(0x8100, 1, 0x0800, &ip);
    for (int i = 0; i < 40; i++)
        cur = vlan_tag(0x8100, 1, 0x8100, &cur);
    buf_t f = eth(0x8100, &cur);
    pkt_layer_t l;
    ck_assert_int_eq(dec(1, &f, &l), DECODE_MALFORMED);
    ck_assert_uint_eq(W.n[WEIRD_LINK_TOO_DEEP], 1);
}
END_TEST

START_TEST(link_padding_not_payload)
{
    /* A short TCP segment in a 60-byte Ethernet frame: the padding is not payload. */
    buf_t t = tcp_seg(&V4, 40000, 80, 0x10, NULL, 0, NULL);
    buf_t ip = ip_pkt(&V4, 6, &t);
    buf_t f = eth(0x0800, &ip);
    while (f.n < 60)
        put8(&f, 0);
    pkt_layer_t l;
    ck_assert_int_eq(dec(1, &f, &l), DECODE_OK);
    ck_assert_uint_eq(l.l4_len, 20);
    ck_assert_uint_eq(l.l4_caplen, 20);
    ck_assert_uint_eq(l.payload_len, 0);
    ck_assert_uint_eq(l.payload_caplen, 0);
    ck_assert(decode_l4_checksum_ok(&l));
}
END_TEST

/* ------------------------------------------------------------------ */
/* IPv4                                                                */

START_TEST(ipv4_options)
{
    static const uint8_t opts[8] = {0x94, 0x04, 0x00, 0x00, /* router alert */
                                    0x01, 0x01, 0x01, 0x00}; /* NOPs, EOL */
    buf_t u = udp_dgram(&V4, 1234, 53, (const uint8_t *)"hello", 5);
    buf_t ip = ipv4_ex(&V4, 17, u.b, u.n, 7, 0x4000, opts, sizeof(opts));
    pkt_layer_t l;
    ck_assert_int_eq(dec(228, &ip, &l), DECODE_OK);
    ck_assert_ptr_eq(l.l4, ip.b + 28);
    ck_assert_uint_eq(l.ip_len, 28 + 13);
    ck_assert_uint_eq(l.l4_len, 13);
    ck_assert_int_eq(l.dport, 53);
    ck_assert(decode_l4_checksum_ok(&l));
}
END_TEST

START_TEST(ipv4_header_checks)
{
    pkt_layer_t l;
    buf_t u = udp_dgram(&V4, 1, 2, NULL, 0);

    buf_t bad = ip_pkt(&V4, 17, &u);
    bad.b[10] ^= 0x55;
    ck_assert_int_eq(dec(228, &bad, &l), DECODE_MALFORMED);
    ck_assert_uint_eq(W.n[WEIRD_BAD_IP_CHECKSUM], 1);

    buf_t ver = ip_pkt(&V4, 17, &u);
    ver.b[0] = 0x55;
    ck_assert_int_eq(dec(228, &ver, &l), DECODE_MALFORMED);
    ck_assert_uint_eq(W.n[WEIRD_BAD_IP_VERSION], 1);

    buf_t ihl = ip_pkt(&V4, 17, &u);
    ihl.b[0] = 0x44;
    ck_assert_int_eq(dec(228, &ihl, &l), DECODE_MALFORMED);
    ck_assert_uint_eq(W.n[WEIRD_BAD_IP_HEADER_LENGTH], 1);

    buf_t tot = ip_pkt(&V4, 17, &u);
    set16(tot.b + 2, 16); /* shorter than the header */
    ck_assert_int_eq(dec(228, &tot, &l), DECODE_MALFORMED);
    ck_assert_uint_eq(W.n[WEIRD_BAD_IP_HEADER_LENGTH], 2);

    buf_t longer = ip_pkt(&V4, 17, &u);
    set16(longer.b + 2, 200); /* more than was on the wire */
    ck_assert_int_eq(dec(228, &longer, &l), DECODE_TRUNCATED);
    ck_assert_uint_eq(W.n[WEIRD_TRUNCATED_IP], 1);

    buf_t hl_cut = ip_pkt(&V4, 17, &u);
    hl_cut.b[0] = 0x4f; /* 60-byte header, 28 bytes captured */
    set16(hl_cut.b + 2, 60);
    ck_assert_int_eq(decode_packet(D, 228, hl_cut.b, hl_cut.n, 60, 0, &l), DECODE_TRUNCATED);
    ck_assert_uint_eq(W.n[WEIRD_TRUNCATED_IP_HEADER], 1);

    buf_t tiny = {.n = 0};
    put(&tiny, bad.b, 19);
    ck_assert_int_eq(dec(228, &tiny, &l), DECODE_TRUNCATED);
    ck_assert_uint_eq(W.n[WEIRD_TRUNCATED_IP_HEADER], 2);
}
END_TEST

START_TEST(ipv4_checksum_ignored)
{
    buf_t u = udp_dgram(&V4, 1, 2, NULL, 0);
    buf_t bad = ip_pkt(&V4, 17, &u);
    bad.b[10] ^= 0x55;
    pkt_layer_t l;

    decoder_config_t cfg = {.ignore_checksums = true};
    redo(&cfg);
    ck_assert_int_eq(dec(228, &bad, &l), DECODE_OK);

    netset_t *nets = netset_new();
    ck_assert(netset_add(nets, "10.0.0.0/24", NULL));
    decoder_config_t cfg2 = {.ignore_cksum_nets = nets};
    redo(&cfg2);
    ck_assert_int_eq(dec(228, &bad, &l), DECODE_OK);
    buf_t other = ip_pkt(&V4B, 17, &u);
    other.b[10] ^= 0x55;
    ck_assert_int_eq(dec(228, &other, &l), DECODE_MALFORMED);
    ck_assert_uint_eq(W.n[WEIRD_BAD_IP_CHECKSUM], 1);
    decoder_free(D);
    D = NULL;
    netset_free(nets);
}
END_TEST

START_TEST(ipv4_tso_zero_length)
{
    buf_t u = udp_dgram(&V4, 1234, 53, (const uint8_t *)"hello", 5);
    buf_t ip = ip_pkt(&V4, 17, &u);
    set16(ip.b + 2, 0);
    set16(ip.b + 10, 0);
    set16(ip.b + 10, (uint16_t) ~t_sum(ip.b, 20, 0));
    pkt_layer_t l;
    ck_assert_int_eq(dec(228, &ip, &l), DECODE_MALFORMED);
    ck_assert_uint_eq(W.n[WEIRD_IP_ZERO_TOTAL_LENGTH], 1);

    decoder_config_t cfg = {.ignore_checksums = true};
    redo(&cfg);
    ck_assert_int_eq(dec(228, &ip, &l), DECODE_OK);
    ck_assert(l.tso);
    ck_assert_uint_eq(l.ip_len, 0); /* what Zeek's ConnSize adds */
    ck_assert_uint_eq(l.l4_len, 13);
    ck_assert_uint_eq(l.payload_len, 5);
    ck_assert_uint_eq(W.n[WEIRD_IP_ZERO_TOTAL_LENGTH], 1);

    /* TCP under TSO: the captured bytes are the segment (Zeek's baselines
     * count such segments with 0 IP bytes). */
    buf_t t = tcp_seg(&V4, 40000, 80, 0x18, NULL, 0, "data");
    buf_t tip = ip_pkt(&V4, 6, &t);
    set16(tip.b + 2, 0);
    ck_assert_int_eq(dec(228, &tip, &l), DECODE_OK);
    ck_assert(l.tso);
    ck_assert(l.l4_complete);
    ck_assert_int_eq(l.dport, 80);
    ck_assert_uint_eq(l.ip_len, 0);
    ck_assert_uint_eq(l.payload_len, 4);
    ck_assert(decode_l4_checksum_ok(&l));
}
END_TEST

START_TEST(ipv4_snaplen_cut)
{
    buf_t t = tcp_seg(&V4, 40000, 80, 0x18, NULL, 0, "some payload bytes");
    buf_t ip = ip_pkt(&V4, 6, &t);
    buf_t f = eth(0x0800, &ip);
    pkt_layer_t l;
    /* captured up to 5 payload bytes */
    ck_assert_int_eq(decode_packet(D, 1, f.b, 14 + 20 + 20 + 5, f.n, 0, &l), DECODE_OK);
    ck_assert(l.snaplen_cut);
    ck_assert(l.l4_complete);
    ck_assert_uint_eq(l.l4_len, 38);
    ck_assert_uint_eq(l.l4_caplen, 25);
    ck_assert_uint_eq(l.payload_len, 18);
    ck_assert_uint_eq(l.payload_caplen, 5);
    ck_assert_uint_eq(l.ip_len, 58);
    ck_assert(decode_l4_checksum_ok(&l)); /* cannot be verified */
    ck_assert_uint_eq(wsum(), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* IPv6                                                                */

/* An extension header of @p type with @p next, padded to 8 * n bytes. */
static void
put_ext(buf_t *b, uint8_t type, uint8_t next, uint32_t units)
{
    (void)type;
    put8(b, next);
    put8(b, (uint8_t)(units - 1));
    for (uint32_t i = 2; i < units * 8; i++)
        put8(b, i == 2 ? 1 : 0); /* a PadN option, then zeros */
}

START_TEST(ipv6_ext_chain)
{
    /* hop-by-hop, destination options, routing type 0 (final destination
     * changes the key), AH, then TCP */
    static const uint8_t final[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
    ips_t key = V6;
    memcpy(key.d, final, 16);
    buf_t t = tcp_seg(&key, 40000, 443, 0x02, NULL, 0, NULL);
    buf_t ext = {.n = 0};
    put_ext(&ext, 0, 60, 1);  /* HBH -> DST */
    put_ext(&ext, 60, 43, 2); /* DST -> ROUTING */
    put8(&ext, 51);           /* ROUTING -> AH */
    put8(&ext, 2);            /* 24 bytes: one address */
    put8(&ext, 0);            /* type 0 */
    put8(&ext, 1);            /* segments left */
    put32(&ext, 0);
    put(&ext, final, 16);
    put8(&ext, 6); /* AH -> TCP */
    put8(&ext, 4); /* (4 + 2) * 4 = 24 bytes */
    put16(&ext, 0);
    put32(&ext, 0x100);
    put32(&ext, 1);
    for (int i = 0; i < 12; i++)
        put8(&ext, 0);
    putb(&ext, &t);
    buf_t ip = ipv6_ex(&V6, 0, ext.b, ext.n);
    pkt_layer_t l;
    ck_assert_int_eq(dec(229, &ip, &l), DECODE_OK);
    ck_assert_int_eq(l.proto, 6);
    ck_assert_int_eq(l.dport, 443);
    ck_assert_mem_eq(l.dst, final, 16);
    ck_assert_uint_eq(l.ip_len, ip.n);
    ck_assert_uint_eq(l.l4_len, 20);
    ck_assert(decode_l4_checksum_ok(&l));
    ck_assert_uint_eq(wsum(), 0);
}
END_TEST

START_TEST(ipv6_ext_errors)
{
    pkt_layer_t l;
    buf_t u = udp_dgram(&V6, 1, 2, NULL, 0);

    /* 17 hop-by-hop headers in a row: over the chain limit */
    buf_t many = {.n = 0};
    for (int i = 0; i < 17; i++)
        put_ext(&many, 0, i == 16 ? 17 : 0, 1);
    putb(&many, &u);
    buf_t m = ipv6_ex(&V6, 0, many.b, many.n);
    ck_assert_int_eq(dec(229, &m, &l), DECODE_MALFORMED);
    ck_assert_uint_eq(W.n[WEIRD_IPV6_EXT_TOO_MANY], 1);

    /* an extension header claiming more bytes than there are */
    buf_t over = {.n = 0};
    put8(&over, 17);
    put8(&over, 200);
    put(&over, u.b, 6);
    buf_t o = ipv6_ex(&V6, 60, over.b, over.n);
    ck_assert_int_eq(dec(229, &o, &l), DECODE_TRUNCATED);
    ck_assert_uint_eq(W.n[WEIRD_TRUNCATED_IPV6_EXT], 1);

    /* a chain longer than the payload length */
    buf_t chain = {.n = 0};
    put_ext(&chain, 0, 17, 2);
    putb(&chain, &u);
    buf_t c = ipv6_ex(&V6, 0, chain.b, chain.n);
    set16(c.b + 4, 8);
    ck_assert_int_eq(decode_packet(D, 229, c.b, c.n, c.n, 0, &l), DECODE_MALFORMED);
    ck_assert_uint_eq(W.n[WEIRD_BAD_IP_HEADER_LENGTH], 1);

    /* no next header */
    buf_t nn = ipv6_ex(&V6, 59, NULL, 0);
    ck_assert_int_eq(dec(229, &nn, &l), DECODE_SKIP);
    ck_assert_uint_eq(W.n[WEIRD_IPV6_NO_NEXT], 1);

    /* ESP: encrypted, no connection */
    uint8_t esp[24] = {0, 0, 1, 0, 0, 0, 0, 1};
    buf_t e = ipv6_ex(&V6, 50, esp, sizeof(esp));
    uint64_t before = wsum();
    ck_assert_int_eq(dec(229, &e, &l), DECODE_SKIP);
    ck_assert_uint_eq(wsum(), before);

    /* Mobility (135) ends the chain as a protocol of its own, as in Zeek
     * builds without mobile IPv6 support. */
    uint8_t mh[8] = {59, 0, 0, 0};
    buf_t mob = ipv6_ex(&V6, 135, mh, sizeof(mh));
    ck_assert_int_eq(dec(229, &mob, &l), DECODE_OK);
    ck_assert_int_eq(l.proto, 135);
    ck_assert_int_eq(l.sport, 0);

    /* IPv4 ESP is an unknown transport for Zeek */
    buf_t e4 = ipv4_ex(&V4, 50, esp, sizeof(esp), 1, 0, NULL, 0);
    ck_assert_int_eq(dec(228, &e4, &l), DECODE_OK);
    ck_assert_int_eq(l.proto, 50);
    ck_assert(l.l4_complete);

    /* IPv6 header itself cut */
    ck_assert_int_eq(decode_packet(D, 229, nn.b, 30, 40, 0, &l), DECODE_TRUNCATED);
}
END_TEST

/* ------------------------------------------------------------------ */
/* fragments                                                           */

/* The UDP datagram the fragment tests split: 8 + 100 bytes. */
static buf_t
frag_payload(const ips_t *ip)
{
    uint8_t data[100];
    for (int i = 0; i < 100; i++)
        data[i] = (uint8_t)i;
    return udp_dgram(ip, 5000, 6000, data, 100);
}

static buf_t
frag4(const buf_t *dg, uint32_t off, uint32_t len, bool more, uint16_t id)
{
    uint16_t field = (uint16_t)((off / 8) | (more ? 0x2000 : 0));
    return ipv4_ex(&V4, 17, dg->b + off, len, id, field, NULL, 0);
}

static buf_t
frag6(const buf_t *dg, uint32_t off, uint32_t len, bool more, uint32_t id, bool hbh)
{
    buf_t x = {.n = 0};
    if (hbh)
        put_ext(&x, 0, 44, 1);
    put8(&x, 17);
    put8(&x, 0);
    put16(&x, (uint16_t)(off | (more ? 1 : 0)));
    put32(&x, id);
    put(&x, dg->b + off, len);
    return ipv6_ex(&V6, hbh ? 0 : 44, x.b, x.n);
}

static void
assert_reassembled_udp(const pkt_layer_t *l, uint32_t hdr)
{
    ck_assert(l->reassembled);
    ck_assert_int_eq(l->proto, 17);
    ck_assert_int_eq(l->sport, 5000);
    ck_assert_int_eq(l->dport, 6000);
    ck_assert_uint_eq(l->ip_len, hdr + 108);
    ck_assert_uint_eq(l->l4_len, 108);
    ck_assert_uint_eq(l->l4_caplen, 108);
    ck_assert_uint_eq(l->payload_len, 100);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(l->payload[i], i);
    ck_assert(decode_l4_checksum_ok(l));
}

START_TEST(frag_in_order)
{
    buf_t dg = frag_payload(&V4);
    buf_t a = frag4(&dg, 0, 48, true, 1), b = frag4(&dg, 48, 48, true, 1),
          c = frag4(&dg, 96, 12, false, 1);
    pkt_layer_t l;
    ck_assert_int_eq(dec(228, &a, &l), DECODE_PENDING);
    ck_assert_int_eq(dec(228, &b, &l), DECODE_PENDING);
    ck_assert_int_eq(dec(228, &c, &l), DECODE_OK);
    assert_reassembled_udp(&l, 20);
    ck_assert_uint_eq(wsum(), 0);
    /* the set is gone: the last fragment again starts a new one */
    ck_assert_int_eq(dec(228, &c, &l), DECODE_PENDING);
}
END_TEST

START_TEST(frag_out_of_order)
{
    buf_t dg = frag_payload(&V4);
    buf_t a = frag4(&dg, 0, 48, true, 2), b = frag4(&dg, 48, 48, true, 2),
          c = frag4(&dg, 96, 12, false, 2);
    pkt_layer_t l;
    ck_assert_int_eq(dec(228, &c, &l), DECODE_PENDING);
    ck_assert_int_eq(dec(228, &a, &l), DECODE_PENDING);
    ck_assert_int_eq(dec(228, &b, &l), DECODE_OK);
    assert_reassembled_udp(&l, 20);
}
END_TEST

START_TEST(frag_overlap_and_duplicate)
{
    buf_t dg = frag_payload(&V4);
    pkt_layer_t l;
    buf_t a = frag4(&dg, 0, 56, true, 3);
    buf_t dup = frag4(&dg, 0, 56, true, 3);
    buf_t ov = frag4(&dg, 48, 40, true, 3); /* overlaps 48..56 with the same bytes */
    buf_t end = frag4(&dg, 88, 20, false, 3);
    ck_assert_int_eq(dec(228, &a, &l), DECODE_PENDING);
    ck_assert_int_eq(dec(228, &dup, &l), DECODE_PENDING);
    ck_assert_uint_eq(W.n[WEIRD_FRAGMENT_OVERLAP], 1);
    ck_assert_int_eq(dec(228, &ov, &l), DECODE_PENDING);
    ck_assert_uint_eq(W.n[WEIRD_FRAGMENT_OVERLAP], 2);
    ck_assert_int_eq(dec(228, &end, &l), DECODE_OK);
    assert_reassembled_udp(&l, 20);

    /* Overlap with different bytes: the first copy wins. */
    buf_t dg2 = frag_payload(&V4);
    buf_t x = frag4(&dg2, 0, 56, true, 4);
    buf_t y = frag4(&dg2, 48, 60, false, 4);
    y.b[20 + 4] ^= 0xff; /* payload offset 52 differs */
    ck_assert_int_eq(dec(228, &x, &l), DECODE_PENDING);
    ck_assert_int_eq(dec(228, &y, &l), DECODE_OK);
    ck_assert_uint_eq(W.n[WEIRD_FRAGMENT_INCONSISTENT], 1);
    ck_assert_int_eq(l.l4[52], dg2.b[52]);
}
END_TEST

START_TEST(frag_timeout)
{
    decoder_config_t cfg = {.frag_timeout = 5};
    redo(&cfg);
    buf_t dg = frag_payload(&V4);
    buf_t a = frag4(&dg, 0, 48, true, 5), b = frag4(&dg, 48, 60, false, 5);
    pkt_layer_t l;
    ck_assert_int_eq(decode_packet(D, 228, a.b, a.n, a.n, 100.0, &l), DECODE_PENDING);
    /* 6 s later the first fragment has expired */
    ck_assert_int_eq(decode_packet(D, 228, b.b, b.n, b.n, 106.0, &l), DECODE_PENDING);
    ck_assert_uint_eq(W.n[WEIRD_FRAGMENT_TIMEOUT], 1);
    /* within the timeout of the new set, it completes */
    ck_assert_int_eq(decode_packet(D, 228, a.b, a.n, a.n, 107.0, &l), DECODE_OK);
    assert_reassembled_udp(&l, 20);
}
END_TEST

START_TEST(frag_table_full)
{
    decoder_config_t cfg = {.frag_max_bytes = 1};
    redo(&cfg); /* the minimum budget: 8 sets */
    buf_t dg = frag_payload(&V4);
    pkt_layer_t l;
    for (uint16_t id = 100; id < 109; id++) {
        buf_t a = frag4(&dg, 0, 48, true, id);
        ck_assert_int_eq(dec(228, &a, &l), DECODE_PENDING);
    }
    ck_assert_uint_eq(W.n[WEIRD_FRAGMENT_TABLE_FULL], 1);
    /* id 100 was evicted, 108 is still there */
    buf_t end100 = frag4(&dg, 48, 60, false, 100);
    ck_assert_int_eq(dec(228, &end100, &l), DECODE_PENDING);
    buf_t end108 = frag4(&dg, 48, 60, false, 108);
    ck_assert_int_eq(dec(228, &end108, &l), DECODE_OK);
    assert_reassembled_udp(&l, 20);
}
END_TEST

START_TEST(frag_errors)
{
    pkt_layer_t l;
    uint8_t junk[200];
    memset(junk, 0xab, sizeof(junk));
    /* offset 65528 + 200 bytes: beyond 64 KiB */
    buf_t big = ipv4_ex(&V4, 17, junk, 200, 9, 8191, NULL, 0);
    ck_assert_int_eq(dec(228, &big, &l), DECODE_MALFORMED);
    ck_assert_uint_eq(W.n[WEIRD_FRAGMENT_TOO_BIG], 1);

    /* a non-first fragment cut by the snaplen cannot be reassembled */
    buf_t dg = frag_payload(&V4);
    buf_t b = frag4(&dg, 48, 60, false, 10);
    ck_assert_int_eq(decode_packet(D, 228, b.b, b.n - 10, b.n, 0, &l), DECODE_TRUNCATED);
    ck_assert_uint_eq(W.n[WEIRD_TRUNCATED_IP], 1);
    /* a first fragment cut that way is analyzed on its own, like Zeek */
    buf_t a = frag4(&dg, 0, 48, true, 10);
    ck_assert_int_eq(decode_packet(D, 228, a.b, a.n - 10, a.n, 0, &l), DECODE_OK);
    ck_assert(!l.reassembled);
    ck_assert_int_eq(l.dport, 6000);
    ck_assert_uint_eq(l.ip_len, 68);
}
END_TEST

START_TEST(frag_ipv6)
{
    buf_t dg = frag_payload(&V6);
    pkt_layer_t l;
    buf_t a = frag6(&dg, 0, 56, true, 0xabcdef, false);
    buf_t b = frag6(&dg, 56, 52, false, 0xabcdef, false);
    ck_assert_int_eq(dec(229, &b, &l), DECODE_PENDING);
    ck_assert_int_eq(dec(229, &a, &l), DECODE_OK);
    assert_reassembled_udp(&l, 40);

    /* with a hop-by-hop header in the unfragmentable part */
    buf_t c = frag6(&dg, 0, 56, true, 7, true);
    buf_t e = frag6(&dg, 56, 52, false, 7, true);
    ck_assert_int_eq(dec(229, &c, &l), DECODE_PENDING);
    ck_assert_int_eq(dec(229, &e, &l), DECODE_OK);
    assert_reassembled_udp(&l, 48);
    ck_assert_uint_eq(wsum(), 0);
}
END_TEST

START_TEST(frag_in_tunnel)
{
    /* Fragments of an inner IPv4 datagram carried in IP-in-IP: the inner
     * layer reassembles into its own buffer while the outer stays valid. */
    buf_t dg = frag_payload(&V4);
    buf_t a = frag4(&dg, 0, 48, true, 77), b = frag4(&dg, 48, 60, false, 77);
    buf_t oa = ip_pkt(&V4B, 4, &a), ob = ip_pkt(&V4B, 4, &b);
    pkt_layer_t o, in;
    ck_assert_int_eq(dec(228, &oa, &o), DECODE_OK);
    ck_assert_int_eq(decode_inner(D, &o, &in), DECODE_PENDING);
    ck_assert_int_eq(dec(228, &ob, &o), DECODE_OK);
    ck_assert_int_eq(decode_inner(D, &o, &in), DECODE_OK);
    assert_reassembled_udp(&in, 20);
    ck_assert_int_eq(in.depth, 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* transport                                                           */

START_TEST(tcp_fields)
{
    static const uint8_t opts[12] = {2, 4, 0x05, 0xb4, /* MSS */
                                     1, 3, 3, 7,       /* NOP, window scale 7 */
                                     4, 2, 0, 0};      /* SACK permitted, EOL */
    buf_t t = tcp_seg(&V4, 40000, 80, TH_SYN, opts, sizeof(opts), NULL);
    buf_t ip = ip_pkt(&V4, 6, &t);
    pkt_layer_t l;
    ck_assert_int_eq(dec(228, &ip, &l), DECODE_OK);
    ck_assert_int_eq(l.tcp_flags, TH_SYN);
    ck_assert_uint_eq(l.seq, 1000);
    ck_assert_uint_eq(l.ack, 2000);
    ck_assert_uint_eq(l.win, 8192);
    ck_assert_int_eq(l.wscale, 7);
    ck_assert_uint_eq(l.payload_len, 0);
    ck_assert_ptr_eq(l.payload, l.l4 + 32);

    /* the same options on a non-SYN segment: no window scale */
    buf_t t2 = tcp_seg(&V4, 40000, 80, TH_ACK | TH_PUSH, opts, sizeof(opts), "abc");
    buf_t ip2 = ip_pkt(&V4, 6, &t2);
    ck_assert_int_eq(dec(228, &ip2, &l), DECODE_OK);
    ck_assert_int_eq(l.wscale, -1);
    ck_assert_uint_eq(l.payload_len, 3);
    ck_assert_mem_eq(l.payload, "abc", 3);
    ck_assert_uint_eq(wsum(), 0);
}
END_TEST

START_TEST(tcp_bad_offsets)
{
    pkt_layer_t l;
    buf_t t = tcp_seg(&V4, 40000, 80, TH_ACK, NULL, 0, "abc");
    t.b[12] = 0x40; /* data offset 16 bytes */
    buf_t ip = ip_pkt(&V4, 6, &t);
    ck_assert_int_eq(dec(228, &ip, &l), DECODE_OK);
    ck_assert(!l.l4_complete);
    ck_assert_int_eq(l.sport, 40000);
    ck_assert_uint_eq(W.n[WEIRD_BAD_TCP_HEADER_LENGTH], 1);

    buf_t t2 = tcp_seg(&V4, 40000, 80, TH_ACK, NULL, 0, "abc");
    t2.b[12] = 0xf0; /* 60 bytes of header in a 23-byte segment */
    buf_t ip2 = ip_pkt(&V4, 6, &t2);
    ck_assert_int_eq(dec(228, &ip2, &l), DECODE_OK);
    ck_assert(!l.l4_complete);
    ck_assert_uint_eq(W.n[WEIRD_TRUNCATED_TCP_HEADER], 1);

    /* options cut by the snaplen (Zeek's vntag-in-vlan trace) */
    static const uint8_t opts[20] = {2, 4, 5, 0xb4, 4, 2, 8, 10};
    buf_t t3 = tcp_seg(&V4, 443, 56960, TH_SYN | TH_ACK, opts, 20, NULL);
    buf_t ip3 = ip_pkt(&V4, 6, &t3);
    ck_assert_int_eq(decode_packet(D, 228, ip3.b, 20 + 24, ip3.n, 0, &l), DECODE_OK);
    ck_assert(!l.l4_complete);
    ck_assert(l.snaplen_cut);
    ck_assert_uint_eq(W.n[WEIRD_TRUNCATED_TCP_HEADER], 2);

    /* IP payload shorter than a TCP header: no connection at all */
    buf_t ip4 = ipv4_ex(&V4, 6, t.b, 12, 1, 0, NULL, 0);
    ck_assert_int_eq(dec(228, &ip4, &l), DECODE_TRUNCATED);
    ck_assert_uint_eq(W.n[WEIRD_TRUNCATED_TCP_HEADER], 3);
}
END_TEST

START_TEST(udp_icmp_other)
{
    pkt_layer_t l;
    buf_t u = udp_dgram(&V4, 1234, 53, (const uint8_t *)"hello", 5);
    set16(u.b + 4, 20); /* length field disagrees */
    buf_t ip = ip_pkt(&V4, 17, &u);
    ck_assert_int_eq(dec(228, &ip, &l), DECODE_OK);
    ck_assert_uint_eq(l.udp_len, 20);
    ck_assert_uint_eq(l.payload_len, 5);
    ck_assert_uint_eq(W.n[WEIRD_BAD_UDP_LENGTH], 1);

    buf_t ic = icmp_msg(&V4, 8, 0);
    buf_t ip2 = ip_pkt(&V4, 1, &ic);
    ck_assert_int_eq(dec(228, &ip2, &l), DECODE_OK);
    ck_assert_int_eq(l.icmp_type, 8);
    ck_assert_int_eq(l.icmp_code, 0);
    ck_assert_int_eq(l.sport, 0);
    ck_assert_uint_eq(l.payload_len, 8);

    buf_t ic6 = icmp_msg(&V6, 135, 0);
    buf_t ip3 = ip_pkt(&V6, 58, &ic6);
    ck_assert_int_eq(dec(229, &ip3, &l), DECODE_OK);
    ck_assert_int_eq(l.proto, 58);
    ck_assert_int_eq(l.icmp_type, 135);

    uint8_t sctp[28] = {0x0b, 0x59, 0x0b, 0x59};
    buf_t ip4 = ipv4_ex(&V4, 132, sctp, sizeof(sctp), 1, 0, NULL, 0);
    ck_assert_int_eq(dec(228, &ip4, &l), DECODE_OK);
    ck_assert_int_eq(l.proto, 132);
    ck_assert_int_eq(l.sport, 0);
    ck_assert_int_eq(l.dport, 0);
    ck_assert_uint_eq(l.ip_len, 48);

    buf_t shortu = ipv4_ex(&V4, 17, u.b, 6, 1, 0, NULL, 0);
    ck_assert_int_eq(dec(228, &shortu, &l), DECODE_TRUNCATED);
    ck_assert_uint_eq(W.n[WEIRD_TRUNCATED_UDP_HEADER], 1);
    buf_t shorti = ipv4_ex(&V4, 1, ic.b, 7, 1, 0, NULL, 0);
    ck_assert_int_eq(dec(228, &shorti, &l), DECODE_TRUNCATED);
    ck_assert_uint_eq(W.n[WEIRD_TRUNCATED_ICMP_HEADER], 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* checksums                                                           */

typedef struct {
    const char *name;
    const ips_t *ip;
    uint8_t proto;
    uint32_t sum_off;
} ck_case_t;

static const ck_case_t ck_cases[] = {
    {"tcp4", &V4, 6, 16},  {"tcp6", &V6, 6, 16},   {"udp4", &V4, 17, 6},
    {"udp6", &V6, 17, 6},  {"icmp4", &V4, 1, 2},   {"icmp6", &V6, 58, 2},
};

static buf_t
ck_msg(const ck_case_t *c)
{
    switch (c->proto) {
    case 6:
        return tcp_seg(c->ip, 1111, 2222, TH_ACK | TH_PUSH, NULL, 0, "odd-length!");
    case 17:
        return udp_dgram(c->ip, 1111, 2222, (const uint8_t *)"odd-length!", 11);
    default:
        return icmp_msg(c->ip, c->proto == 1 ? 8 : 128, 0);
    }
}

START_TEST(checksum_good_bad)
{
    const ck_case_t *c = &ck_cases[_i];
    buf_t m = ck_msg(c);
    buf_t ip = ip_pkt(c->ip, c->proto, &m);
    int dlt = c->ip->v == 4 ? 228 : 229;
    pkt_layer_t l;
    ck_assert_int_eq(dec(dlt, &ip, &l), DECODE_OK);
    ck_assert_msg(decode_l4_checksum_ok(&l), "%s good", c->name);
    buf_t bad = ip;
    uint32_t l4off = c->ip->v == 4 ? 20 : 40;
    bad.b[l4off + c->sum_off] ^= 0x01;
    ck_assert_int_eq(dec(dlt, &bad, &l), DECODE_OK);
    ck_assert_msg(!decode_l4_checksum_ok(&l), "%s bad", c->name);
    /* a payload byte changed */
    buf_t bad2 = ip;
    bad2.b[bad2.n - 1] ^= 0x10;
    ck_assert_int_eq(dec(dlt, &bad2, &l), DECODE_OK);
    ck_assert_msg(!decode_l4_checksum_ok(&l), "%s bad payload", c->name);
    /* cut by the snaplen: cannot be verified */
    ck_assert_int_eq(decode_packet(D, dlt, bad2.b, bad2.n - 1, bad2.n, 0, &l), DECODE_OK);
    ck_assert(decode_l4_checksum_ok(&l));
}
END_TEST

START_TEST(checksum_udp_zero)
{
    pkt_layer_t l;
    buf_t u4 = udp_dgram(&V4, 1, 2, (const uint8_t *)"x", 1);
    set16(u4.b + 6, 0);
    buf_t ip4 = ip_pkt(&V4, 17, &u4);
    ck_assert_int_eq(dec(228, &ip4, &l), DECODE_OK);
    ck_assert(decode_l4_checksum_ok(&l)); /* IPv4: zero means none */
    buf_t u6 = udp_dgram(&V6, 1, 2, (const uint8_t *)"x", 1);
    set16(u6.b + 6, 0);
    buf_t ip6 = ip_pkt(&V6, 17, &u6);
    ck_assert_int_eq(dec(229, &ip6, &l), DECODE_OK);
    ck_assert(!decode_l4_checksum_ok(&l)); /* IPv6: mandatory */
    /* a frame cut after the UDP datagram still counts as cut for UDP */
    buf_t f = eth(0x0800, &ip4);
    ck_assert_int_eq(decode_packet(D, 1, f.b, f.n, f.n + 4, 0, &l), DECODE_OK);
    ck_assert(l.snaplen_cut);
}
END_TEST

static uint64_t rng_state;

static uint32_t
rng(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33);
}

START_TEST(checksum_all_lengths)
{
    /* The decoder sums 16 bytes at a time with tails of 8, 2 and 1 bytes:
     * compare it with the plain 16-bit sum for every length and alignment. */
    rng_state = 42;
    for (uint32_t len = 8; len < 300; len++) {
        for (int v = 0; v < 2; v++) {
            const ips_t *ip = v ? &V6 : &V4;
            buf_t m = {.n = 0};
            put8(&m, v ? 128 : 8);
            put8(&m, 0);
            put16(&m, 0);
            for (uint32_t i = 4; i < len; i++)
                put8(&m, (uint8_t)rng());
            fix_l4_sum(ip, v ? 58 : 1, &m, 2);
            buf_t pk = ip_pkt(ip, v ? 58 : 1, &m);
            pkt_layer_t l;
            ck_assert_int_eq(dec(v ? 229 : 228, &pk, &l), DECODE_OK);
            ck_assert_msg(decode_l4_checksum_ok(&l), "length %u v%d", len, v ? 6 : 4);
            pk.b[pk.n - 1 - rng() % (len - 4)] ^= (uint8_t)(1u << (rng() % 8));
            ck_assert_int_eq(dec(v ? 229 : 228, &pk, &l), DECODE_OK);
            ck_assert_msg(!decode_l4_checksum_ok(&l), "length %u v%d corrupt", len, v ? 6 : 4);
        }
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* tunnels                                                             */

/* Decode the packet and every layer inside; return the number of layers
 * decoded OK and leave the innermost in @p last. */
static int
dec_all(int dlt, const buf_t *b, pkt_layer_t *last, decode_result_t *final)
{
    static pkt_layer_t layers[12];
    int n = 0;
    decode_result_t r = dec(dlt, b, &layers[0]);
    while (r == DECODE_OK) {
        n++;
        if (layers[n - 1].inner_encap == ENCAP_NONE || n == 12)
            break;
        r = decode_inner(D, &layers[n - 1], &layers[n]);
    }
    if (n > 0 && last)
        *last = layers[n - 1];
    if (final)
        *final = r;
    return n;
}

static buf_t
inner_tcp4(void)
{
    buf_t t = tcp_seg(&V4B, 33000, 80, TH_SYN, NULL, 0, NULL);
    return ip_pkt(&V4B, 6, &t);
}

START_TEST(tunnel_ipip)
{
    buf_t in = inner_tcp4();
    buf_t out = ip_pkt(&V4, 4, &in);
    pkt_layer_t l, last;
    ck_assert_int_eq(dec(228, &out, &l), DECODE_OK);
    ck_assert_int_eq(l.proto, 4);
    ck_assert_int_eq(l.inner_encap, ENCAP_IPIP);
    ck_assert_int_eq(l.tunnel_verdict, TUNNEL_VERDICT_PLAIN);
    ck_assert(encap_is_ip_tunnel(l.inner_encap));
    ck_assert_int_eq(dec_all(228, &out, &last, NULL), 2);
    ck_assert_int_eq(last.dport, 80);
    ck_assert_int_eq(last.depth, 1);
    ck_assert_int_eq(last.outer_encap, ENCAP_IPIP);

    /* 6in4 */
    buf_t u = std_udp6();
    buf_t o6 = ip_pkt(&V4, 41, &u);
    ck_assert_int_eq(dec_all(228, &o6, &last, NULL), 2);
    assert_v6_udp(&last);

    /* the inner length must match what the outer carries */
    buf_t bad = ip_pkt(&V4, 4, &in);
    set16(bad.b + 20 + 2, 30);
    set16(bad.b + 20 + 10, 0);
    set16(bad.b + 20 + 10, (uint16_t) ~t_sum(bad.b + 20, 20, 0));
    ck_assert_int_eq(dec(228, &bad, &l), DECODE_MALFORMED);
    ck_assert_uint_eq(W.n[WEIRD_BAD_TUNNEL_PAYLOAD], 1);
    /* version must match the protocol number */
    buf_t mism = ip_pkt(&V4, 41, &in);
    ck_assert_int_eq(dec(228, &mism, &l), DECODE_MALFORMED);
    ck_assert_uint_eq(W.n[WEIRD_BAD_TUNNEL_PAYLOAD], 2);
}
END_TEST

static buf_t
gre(uint16_t flags, uint16_t proto, const buf_t *in)
{
    buf_t b = {.n = 0};
    put16(&b, flags);
    put16(&b, proto);
    if (flags & 0x8000)
        put32(&b, 0);
    if (flags & 0x2000)
        put32(&b, 0x00100020);
    if (flags & 0x1000)
        put32(&b, 99);
    if (flags & 0x0080)
        put32(&b, 98);
    putb(&b, in);
    return b;
}

static void
check_gre(uint16_t flags, uint16_t proto, const buf_t *payload, int want_layers)
{
    buf_t g = gre(flags, proto, payload);
    buf_t out = ip_pkt(&V4, 47, &g);
    pkt_layer_t l, last;
    decode_result_t r;
    ck_assert_int_eq(dec(228, &out, &l), DECODE_OK);
    ck_assert_int_eq(l.proto, 47);
    ck_assert_int_eq(l.inner_encap, ENCAP_GRE);
    ck_assert_int_eq(l.tunnel, ENCAP_GRE);
    int n = dec_all(228, &out, &last, &r);
    ck_assert_msg(n == want_layers, "GRE %04x/%04x: %d layers, result %d", flags, proto, n, r);
    if (want_layers == 2) {
        ck_assert_int_eq(last.proto, 6);
        ck_assert_int_eq(last.dport, 80);
        ck_assert_int_eq(last.outer_encap, ENCAP_GRE);
        ck_assert(decode_l4_checksum_ok(&last));
    }
}

START_TEST(tunnel_gre_variants)
{
    buf_t ip = inner_tcp4();
    buf_t frame = eth(0x0800, &ip);
    check_gre(0x0000, 0x0800, &ip, 2);
    check_gre(0xb000, 0x0800, &ip, 2); /* checksum, key, sequence */
    check_gre(0x0000, 0x6558, &frame, 2);
    /* ERSPAN type I: no sequence, Ethernet right away */
    check_gre(0x0000, 0x88be, &frame, 2);
    /* ERSPAN type II: sequence number and an 8-byte header, version 1 */
    static const uint8_t e2[8] = {0x10, 0x01, 0, 0x05, 0, 0, 0, 0};
    buf_t p2 = pre(e2, 8, &frame);
    check_gre(0x1000, 0x88be, &p2, 2);
    /* ERSPAN type III with the optional platform sub-header */
    uint8_t e3[20] = {0x20, 0x01, 0, 0x05};
    e3[11] = 0x01;
    buf_t p3 = pre(e3, 20, &frame);
    check_gre(0x1000, 0x22eb, &p3, 2);
    e3[11] = 0;
    buf_t p3b = pre(e3, 12, &frame);
    check_gre(0x1000, 0x22eb, &p3b, 2);
    /* MPLS over GRE */
    buf_t m = mpls_stack(2, &ip);
    check_gre(0x0000, 0x8847, &m, 2);
    /* IPv6 */
    buf_t u6 = std_udp6();
    buf_t g6 = gre(0x2000, 0x86dd, &u6);
    buf_t o6 = ip_pkt(&V4, 47, &g6);
    pkt_layer_t last;
    ck_assert_int_eq(dec_all(228, &o6, &last, NULL), 2);
    assert_v6_udp(&last);
    /* Aruba: 802.11 inside */
    buf_t w = wlan(0x08, 0x01, &ip, 0x0800);
    check_gre(0x0000, 0x8210, &w, 2);
    check_gre(0x2000, 0x9000, &w, 2);
    ck_assert_uint_eq(wsum(), 0);
}
END_TEST

START_TEST(tunnel_gre_pptp)
{
    /* Enhanced GRE (RFC 2637): key, sequence and ack, version 1, PPP. */
    buf_t ip = inner_tcp4();
    static const uint8_t ppp[4] = {0xff, 0x03, 0x00, 0x21};
    buf_t p = pre(ppp, 4, &ip);
    check_gre(0x3081, 0x880b, &p, 2);

    pkt_layer_t l;
    static const uint8_t lcp[4] = {0xff, 0x03, 0xc0, 0x21};
    buf_t pl = pre(lcp, 4, &ip);
    buf_t g = gre(0x3001, 0x880b, &pl);
    buf_t o = ip_pkt(&V4, 47, &g);
    ck_assert_int_eq(dec(228, &o, &l), DECODE_MALFORMED);
    ck_assert_uint_eq(W.n[WEIRD_BAD_TUNNEL_PAYLOAD], 1);

    buf_t g2 = gre(0x3001, 0x0800, &p); /* version 1 must carry PPP */
    buf_t o2 = ip_pkt(&V4, 47, &g2);
    ck_assert_int_eq(dec(228, &o2, &l), DECODE_MALFORMED);
    ck_assert_uint_eq(W.n[WEIRD_UNKNOWN_GRE_PROTOCOL], 1);
}
END_TEST

START_TEST(tunnel_gre_errors)
{
    buf_t ip = inner_tcp4();
    pkt_layer_t l, in;
    buf_t g = gre(0x0002, 0x0800, &ip); /* version 2 */
    buf_t o = ip_pkt(&V4, 47, &g);
    ck_assert_int_eq(dec(228, &o, &l), DECODE_MALFORMED);
    ck_assert_uint_eq(W.n[WEIRD_BAD_GRE_VERSION], 1);

    buf_t gr = gre(0x4000, 0x0800, &ip); /* routing present */
    buf_t o2 = ip_pkt(&V4, 47, &gr);
    ck_assert_int_eq(dec(228, &o2, &l), DECODE_MALFORMED);
    ck_assert_uint_eq(W.n[WEIRD_UNKNOWN_GRE_FLAGS], 1);

    buf_t gf = gre(0x0008, 0x0800, &ip); /* reserved flag */
    buf_t o3 = ip_pkt(&V4, 47, &gf);
    ck_assert_int_eq(dec(228, &o3, &l), DECODE_MALFORMED);
    ck_assert_uint_eq(W.n[WEIRD_UNKNOWN_GRE_FLAGS], 2);

    /* an unknown protocol type: a tunnel without anything Zeek decodes */
    buf_t gu = gre(0x0000, 0x1234, &ip);
    buf_t o4 = ip_pkt(&V4, 47, &gu);
    ck_assert_int_eq(dec(228, &o4, &l), DECODE_OK);
    ck_assert_int_eq(l.inner_dlt, INNER_DLT_NONE);
    ck_assert_int_eq(decode_inner(D, &l, &in), DECODE_UNSUPPORTED);
    ck_assert_uint_eq(W.n[WEIRD_UNKNOWN_GRE_PROTOCOL], 1);

    /* a header cut short */
    buf_t gs = {.n = 0};
    put16(&gs, 0xb000);
    put16(&gs, 0x0800);
    put32(&gs, 0);
    buf_t o5 = ipv4_ex(&V4, 47, gs.b, gs.n, 1, 0, NULL, 0);
    ck_assert_int_eq(dec(228, &o5, &l), DECODE_TRUNCATED);
    ck_assert_uint_eq(W.n[WEIRD_TRUNCATED_TUNNEL_HEADER], 1);

    /* ERSPAN with an unknown version */
    buf_t frame = eth(0x0800, &ip);
    static const uint8_t e9[8] = {0x90};
    buf_t pe = pre(e9, 8, &frame);
    buf_t ge = gre(0x1000, 0x88be, &pe);
    buf_t o6 = ip_pkt(&V4, 47, &ge);
    ck_assert_int_eq(dec(228, &o6, &l), DECODE_OK);
    ck_assert_int_eq(decode_inner(D, &l, &in), DECODE_UNSUPPORTED);
    ck_assert_uint_eq(W.n[WEIRD_BAD_TUNNEL_PAYLOAD], 1);
}
END_TEST

static buf_t
vxlan_hdr(uint8_t flags, const buf_t *in)
{
    uint8_t h[8] = {flags, 0, 0, 0, 0, 0x12, 0x34, 0};
    return pre(h, 8, in);
}

START_TEST(tunnel_vxlan)
{
    buf_t ip = inner_tcp4();
    buf_t frame = eth(0x0800, &ip);
    buf_t vx = vxlan_hdr(0x08, &frame);
    buf_t u = udp_buf(&V4, 50000, 4789, &vx);
    buf_t out = ip_pkt(&V4, 17, &u);
    buf_t f = eth(0x0800, &out);
    pkt_layer_t l, last;
    ck_assert_int_eq(dec(1, &f, &l), DECODE_OK);
    ck_assert_int_eq(l.proto, 17);
    ck_assert_int_eq(l.tunnel, ENCAP_VXLAN);
    ck_assert_int_eq(l.tunnel_verdict, TUNNEL_VERDICT_CONFIRM);
    ck_assert_int_eq(l.inner_encap, ENCAP_VXLAN);
    ck_assert_int_eq(l.inner_dlt, 1);
    ck_assert_str_eq(encap_name(l.inner_encap), "vxlan");
    ck_assert(!encap_is_ip_tunnel(l.inner_encap));
    ck_assert(tunnel_depth_marks_history(l.tunnel));
    ck_assert_int_eq(dec_all(1, &f, &last, NULL), 2);
    ck_assert_int_eq(last.dport, 80);
    ck_assert_int_eq(last.outer_encap, ENCAP_VXLAN);

    /* the responder may be the source port (likely-server-port flip) */
    buf_t ur = udp_buf(&V4, 4789, 50000, &vx);
    buf_t outr = ip_pkt(&V4, 17, &ur);
    ck_assert_int_eq(dec(228, &outr, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel, ENCAP_VXLAN);

    /* I flag missing: a violation */
    buf_t vb = vxlan_hdr(0x00, &frame);
    buf_t ub = udp_buf(&V4, 50000, 4789, &vb);
    buf_t ob = ip_pkt(&V4, 17, &ub);
    ck_assert_int_eq(dec(228, &ob, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel_verdict, TUNNEL_VERDICT_VIOLATION);
    ck_assert_int_eq(l.inner_encap, ENCAP_NONE);

    /* header only: confirmed, nothing inside */
    buf_t empty = {.n = 0};
    buf_t ve = vxlan_hdr(0x08, &empty);
    buf_t ue = udp_buf(&V4, 50000, 4789, &ve);
    buf_t oe = ip_pkt(&V4, 17, &ue);
    ck_assert_int_eq(dec(228, &oe, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel_verdict, TUNNEL_VERDICT_CONFIRM);
    ck_assert_int_eq(l.inner_encap, ENCAP_NONE);

    /* shorter than a header */
    buf_t us = udp_dgram(&V4, 50000, 4789, (const uint8_t *)"\x08\0\0", 3);
    buf_t os = ip_pkt(&V4, 17, &us);
    ck_assert_int_eq(dec(228, &os, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel_verdict, TUNNEL_VERDICT_VIOLATION);
    ck_assert_uint_eq(W.n[WEIRD_TRUNCATED_TUNNEL_HEADER], 1);
}
END_TEST

START_TEST(tunnel_retarget)
{
    /* 4789 -> 53: decode_packet guesses VXLAN, the builder knows better */
    buf_t ip = inner_tcp4();
    buf_t frame = eth(0x0800, &ip);
    buf_t vx = vxlan_hdr(0x08, &frame);
    buf_t u = udp_buf(&V4, 4789, 53, &vx);
    buf_t out = ip_pkt(&V4, 17, &u);
    pkt_layer_t l;
    ck_assert_int_eq(dec(228, &out, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel, ENCAP_VXLAN);
    decode_retarget_udp(D, &l, 53);
    ck_assert_int_eq(l.tunnel, ENCAP_NONE);
    ck_assert_int_eq(l.inner_encap, ENCAP_NONE);
    decode_retarget_udp(D, &l, 4789); /* the guess again: no-op */
    ck_assert_int_eq(l.tunnel, ENCAP_NONE);
    decode_retarget_udp(D, &l, 6081);
    ck_assert_int_eq(l.tunnel, ENCAP_GENEVE);
}
END_TEST

static buf_t
geneve_hdr(uint8_t ver_optlen, uint16_t proto, const buf_t *in)
{
    buf_t b = {.n = 0};
    put8(&b, ver_optlen);
    put8(&b, 0);
    put16(&b, proto);
    put32(&b, 0x00abcd00);
    uint32_t optlen = (ver_optlen & 0x3f) * 4u;
    for (uint32_t i = 0; i < optlen; i += 8) {
        put16(&b, 0x0101);
        put8(&b, 0x80);
        put8(&b, 1); /* 4 bytes of data */
        put32(&b, 0xdeadbeef);
    }
    putb(&b, in);
    return b;
}

START_TEST(tunnel_geneve)
{
    buf_t ip = inner_tcp4();
    buf_t frame = eth(0x0800, &ip);
    pkt_layer_t l, last;

    buf_t g = geneve_hdr(0x04, 0x6558, &frame); /* two 8-byte options */
    buf_t u = udp_buf(&V4, 50000, 6081, &g);
    buf_t o = ip_pkt(&V4, 17, &u);
    ck_assert_int_eq(dec(228, &o, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel_verdict, TUNNEL_VERDICT_CONFIRM);
    ck_assert_int_eq(dec_all(228, &o, &last, NULL), 2);
    ck_assert_int_eq(last.dport, 80);

    buf_t u6 = std_udp6();
    buf_t g6 = geneve_hdr(0x00, 0x86dd, &u6);
    buf_t uu = udp_buf(&V4, 50000, 6081, &g6);
    buf_t o6 = ip_pkt(&V4, 17, &uu);
    ck_assert_int_eq(dec_all(228, &o6, &last, NULL), 2);
    assert_v6_udp(&last);

    buf_t gv = geneve_hdr(0x40, 0x6558, &frame); /* version 1 */
    buf_t uv = udp_buf(&V4, 50000, 6081, &gv);
    buf_t ov = ip_pkt(&V4, 17, &uv);
    ck_assert_int_eq(dec(228, &ov, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel_verdict, TUNNEL_VERDICT_PLAIN);
    ck_assert_int_eq(l.inner_encap, ENCAP_NONE);

    buf_t empty = {.n = 0};
    buf_t gl = geneve_hdr(0x3f, 0x6558, &empty); /* options beyond the datagram */
    gl.n = 20;
    buf_t ul = udp_buf(&V4, 50000, 6081, &gl);
    buf_t ol = ip_pkt(&V4, 17, &ul);
    ck_assert_int_eq(dec(228, &ol, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel_verdict, TUNNEL_VERDICT_VIOLATION);
}
END_TEST

START_TEST(tunnel_gre_in_udp)
{
    buf_t ip = inner_tcp4();
    buf_t g = gre(0x0000, 0x0800, &ip);
    buf_t u = udp_buf(&V4, 50000, 4754, &g);
    buf_t o = ip_pkt(&V4, 17, &u);
    pkt_layer_t l, last;
    ck_assert_int_eq(dec(228, &o, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel, ENCAP_GRE_UDP);
    ck_assert_int_eq(l.tunnel_verdict, TUNNEL_VERDICT_PLAIN);
    ck_assert_int_eq(l.inner_encap, ENCAP_GRE_UDP);
    ck_assert(!encap_is_ip_tunnel(l.inner_encap));
    ck_assert_int_eq(dec_all(228, &o, &last, NULL), 2);
    ck_assert_int_eq(last.dport, 80);

    buf_t gb = gre(0x0003, 0x0800, &ip);
    buf_t ub = udp_buf(&V4, 50000, 4754, &gb);
    buf_t ob = ip_pkt(&V4, 17, &ub);
    ck_assert_int_eq(dec(228, &ob, &l), DECODE_OK); /* the UDP layer itself is fine */
    ck_assert_int_eq(l.inner_encap, ENCAP_NONE);
    ck_assert_uint_eq(W.n[WEIRD_BAD_GRE_VERSION], 1);
}
END_TEST

/* An IPv6 bubble between Teredo addresses (2001:0::/32). */
static buf_t
teredo_bubble(void)
{
    ips_t t = V6;
    t.s[2] = t.s[3] = 0;
    t.d[2] = t.d[3] = 0;
    t.s[15] = 0x0a; /* a newline byte defeats the signature, not the parse */
    return ipv6_ex(&t, 59, NULL, 0);
}

START_TEST(tunnel_teredo)
{
    pkt_layer_t l, last;
    decode_result_t r;
    buf_t in = std_udp6();

    /* plain IPv6 on 3544 */
    buf_t u = udp_buf(&V4, 50000, 3544, &in);
    buf_t o = ip_pkt(&V4, 17, &u);
    ck_assert_int_eq(dec(228, &o, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel, ENCAP_TEREDO);
    ck_assert_int_eq(l.tunnel_verdict, TUNNEL_VERDICT_VALID);
    ck_assert_int_eq(dec_all(228, &o, &last, NULL), 2);
    assert_v6_udp(&last);

    /* authentication then origin indication */
    buf_t h = {.n = 0};
    put16(&h, 1);
    put8(&h, 2);
    put8(&h, 3);
    put(&h, "idaut", 5);
    put(&h, "noncenon", 8);
    put8(&h, 0);
    put16(&h, 0);
    put16(&h, 0x1234 ^ 0xffff);
    put32(&h, 0x0a000001 ^ 0xffffffff);
    putb(&h, &in);
    buf_t ua = udp_buf(&V4, 3544, 50000, &h);
    buf_t oa = ip_pkt(&V4, 17, &ua);
    ck_assert_int_eq(dec_all(228, &oa, &last, NULL), 2);
    assert_v6_udp(&last);

    /* a bubble with trailing bytes: valid, and the inner bubble is skipped
     * without an ipv6_no_next weird */
    buf_t bub = teredo_bubble();
    put32(&bub, 0xdeadbeef);
    buf_t ub = udp_buf(&V4, 50000, 3544, &bub);
    buf_t ob = ip_pkt(&V4, 17, &ub);
    ck_assert_int_eq(dec_all(228, &ob, &last, &r), 1);
    ck_assert_int_eq(last.tunnel_verdict, TUNNEL_VERDICT_VALID);
    ck_assert_int_eq(r, DECODE_SKIP);
    ck_assert_uint_eq(W.n[WEIRD_IPV6_NO_NEXT], 0);

    /* extra bytes after a packet that is not a bubble: violation */
    buf_t x = in;
    put32(&x, 0);
    buf_t ux = udp_buf(&V4, 50000, 3544, &x);
    buf_t ox = ip_pkt(&V4, 17, &ux);
    ck_assert_int_eq(dec(228, &ox, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel_verdict, TUNNEL_VERDICT_VIOLATION);

    /* two origin indications: violation */
    buf_t h2 = {.n = 0};
    for (int i = 0; i < 2; i++) {
        put16(&h2, 0);
        put16(&h2, 1);
        put32(&h2, 2);
    }
    putb(&h2, &in);
    buf_t u2 = udp_buf(&V4, 50000, 3544, &h2);
    buf_t o2 = ip_pkt(&V4, 17, &u2);
    ck_assert_int_eq(dec(228, &o2, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel_verdict, TUNNEL_VERDICT_VIOLATION);
}
END_TEST

START_TEST(tunnel_teredo_detect)
{
    /* On any UDP port Zeek's Teredo detection takes a bubble between
     * Teredo addresses, and origin indications before IPv6. */
    ips_t t = V6;
    t.s[2] = t.s[3] = 0;
    buf_t bub = ipv6_ex(&t, 59, NULL, 0);
    buf_t u = udp_buf(&V4, 40000, 32900, &bub);
    buf_t o = ip_pkt(&V4, 17, &u);
    pkt_layer_t l;
    ck_assert_int_eq(dec(228, &o, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel, ENCAP_TEREDO);
    ck_assert_int_eq(l.tunnel_verdict, TUNNEL_VERDICT_VALID);

    buf_t in = std_udp6();
    buf_t h = {.n = 0};
    put16(&h, 0);
    put16(&h, 1);
    put32(&h, 2);
    putb(&h, &in);
    buf_t u2 = udp_buf(&V4, 40000, 32900, &h);
    buf_t o2 = ip_pkt(&V4, 17, &u2);
    ck_assert_int_eq(dec(228, &o2, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel, ENCAP_TEREDO);

    /* plain IPv6 whose second byte is not 0/1 and without Teredo
     * addresses: not detected */
    buf_t plain = std_udp6();
    plain.b[1] = 0x20;
    buf_t u3 = udp_buf(&V4, 40000, 32900, &plain);
    buf_t o3 = ip_pkt(&V4, 17, &u3);
    ck_assert_int_eq(dec(228, &o3, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel, ENCAP_NONE);

    /* a newline inside the signature's '.' positions defeats it */
    buf_t bub2 = teredo_bubble();
    bub2.b[1] = 0x20;
    buf_t u4 = udp_buf(&V4, 40000, 32900, &bub2);
    buf_t o4 = ip_pkt(&V4, 17, &u4);
    ck_assert_int_eq(dec(228, &o4, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel, ENCAP_NONE);
}
END_TEST

static buf_t
ayiya_hdr(uint8_t idnib, uint8_t signib, uint8_t op, uint8_t next, const buf_t *in)
{
    buf_t b = {.n = 0};
    put8(&b, (uint8_t)(idnib << 4 | 1));
    put8(&b, (uint8_t)(signib << 4 | 2));
    put8(&b, (uint8_t)(0x10 | op));
    put8(&b, next);
    put32(&b, 12345);
    for (uint32_t i = 0; i < (1u << idnib) + signib * 4u; i++)
        put8(&b, (uint8_t)i);
    putb(&b, in);
    return b;
}

START_TEST(tunnel_ayiya)
{
    buf_t in = std_udp6();
    pkt_layer_t l, last;
    buf_t a = ayiya_hdr(8, 5, 1, 41, &in); /* 256-byte identity, as in Zeek's trace */
    buf_t u = udp_buf(&V4, 50000, 5072, &a);
    buf_t o = ip_pkt(&V4, 17, &u);
    ck_assert_int_eq(dec(228, &o, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel_verdict, TUNNEL_VERDICT_CONFIRM);
    ck_assert_int_eq(dec_all(228, &o, &last, NULL), 2);
    assert_v6_udp(&last);

    /* detected on another port: op code 1, next header 0x11 */
    buf_t in4 = std_udp4();
    buf_t a2 = ayiya_hdr(4, 5, 1, 4, &in4);
    a2.b[1] = 0x52;
    a2.b[2] = 0x11;
    buf_t u2 = udp_buf(&V4, 50000, 50001, &a2);
    buf_t o2 = ip_pkt(&V4, 17, &u2);
    ck_assert_int_eq(dec_all(228, &o2, &last, NULL), 2);
    assert_v4_udp(&last);

    buf_t a3 = ayiya_hdr(2, 0, 2, 41, &in); /* op code 2: not a forward */
    buf_t u3 = udp_buf(&V4, 50000, 5072, &a3);
    buf_t o3 = ip_pkt(&V4, 17, &u3);
    ck_assert_int_eq(dec(228, &o3, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel_verdict, TUNNEL_VERDICT_PLAIN);
    ck_assert_int_eq(l.inner_encap, ENCAP_NONE);

    buf_t a4 = ayiya_hdr(8, 0, 1, 41, &in);
    a4.n = 100; /* identity cut */
    buf_t u4 = udp_buf(&V4, 50000, 5072, &a4);
    buf_t o4 = ip_pkt(&V4, 17, &u4);
    ck_assert_int_eq(dec(228, &o4, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel_verdict, TUNNEL_VERDICT_VIOLATION);
}
END_TEST

static buf_t
gtp_hdr(uint8_t flags, uint8_t type, bool ext, const buf_t *in)
{
    buf_t b = {.n = 0};
    put8(&b, flags);
    put8(&b, type);
    put16(&b, 0);
    put32(&b, 0x01020304);
    if (flags & 0x07) {
        put16(&b, 7);
        put8(&b, 0);
        put8(&b, ext ? 0x85 : 0);
    }
    if (ext) {
        put8(&b, 1); /* 4 bytes */
        put16(&b, 0x0009);
        put8(&b, 0);
    }
    putb(&b, in);
    set16(b.b + 2, (uint16_t)(b.n - 8));
    return b;
}

START_TEST(tunnel_gtp)
{
    buf_t in = inner_tcp4();
    pkt_layer_t l, last;

    buf_t g = gtp_hdr(0x30, 0xff, false, &in);
    buf_t u = udp_buf(&V4, 2152, 2152, &g);
    buf_t o = ip_pkt(&V4, 17, &u);
    ck_assert_int_eq(dec(228, &o, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel, ENCAP_GTPV1);
    ck_assert_int_eq(l.tunnel_verdict, TUNNEL_VERDICT_CONFIRM);
    ck_assert_int_eq(dec_all(228, &o, &last, NULL), 2);
    ck_assert_int_eq(last.dport, 80);
    ck_assert_str_eq(encap_name(ENCAP_GTPV1), "gtpv1");

    buf_t ge = gtp_hdr(0x36, 0xff, true, &in); /* sequence + extension header */
    buf_t ue = udp_buf(&V4, 2152, 2152, &ge);
    buf_t oe = ip_pkt(&V4, 17, &ue);
    ck_assert_int_eq(dec_all(228, &oe, &last, NULL), 2);
    ck_assert_int_eq(last.dport, 80);

    buf_t empty = {.n = 0};
    buf_t gc = gtp_hdr(0x32, 1, false, &empty); /* echo request */
    buf_t uc = udp_buf(&V4, 2152, 2152, &gc);
    buf_t oc = ip_pkt(&V4, 17, &uc);
    ck_assert_int_eq(dec(228, &oc, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel_verdict, TUNNEL_VERDICT_PLAIN);
    ck_assert_int_eq(l.inner_encap, ENCAP_NONE);

    buf_t gv = gtp_hdr(0x50, 0xff, false, &in); /* version 2 */
    buf_t uv = udp_buf(&V4, 2152, 2152, &gv);
    buf_t ov = ip_pkt(&V4, 17, &uv);
    ck_assert_int_eq(dec(228, &ov, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel_verdict, TUNNEL_VERDICT_VIOLATION);

    buf_t pad = in;
    put16(&pad, 0); /* inner length disagrees */
    buf_t gp = gtp_hdr(0x30, 0xff, false, &pad);
    buf_t up = udp_buf(&V4, 2152, 2152, &gp);
    buf_t op = ip_pkt(&V4, 17, &up);
    ck_assert_int_eq(dec(228, &op, &l), DECODE_OK);
    ck_assert_int_eq(l.tunnel_verdict, TUNNEL_VERDICT_VIOLATION);

    /* GTP inside GTP */
    buf_t inner_gtp = ip_pkt(&V4B, 17, &u);
    buf_t g2 = gtp_hdr(0x30, 0xff, false, &inner_gtp);
    buf_t u2 = udp_buf(&V4, 2152, 2152, &g2);
    buf_t o2 = ip_pkt(&V4, 17, &u2);
    decode_result_t r;
    ck_assert_int_eq(dec_all(228, &o2, &last, &r), 2);
    ck_assert_int_eq(last.tunnel, ENCAP_GTPV1);
    ck_assert_int_eq(last.tunnel_verdict, TUNNEL_VERDICT_VIOLATION);
}
END_TEST

START_TEST(tunnel_depth_limit)
{
    /* VXLAN in VXLAN in VXLAN in VXLAN, limit 2: layers at depth 0 and 1
     * carry tunnels, the one at depth 2 is refused. */
    decoder_config_t cfg = {.max_tunnel_depth = 2};
    redo(&cfg);
    buf_t cur = std_udp4();
    for (int i = 0; i < 4; i++) {
        buf_t frame = eth(0x0800, &cur);
        buf_t vx = vxlan_hdr(0x08, &frame);
        buf_t u = udp_buf(&V4B, 50000, 4789, &vx);
        cur = ip_pkt(&V4B, 17, &u);
    }
    pkt_layer_t last;
    decode_result_t r;
    ck_assert_int_eq(dec_all(228, &cur, &last, &r), 3);
    ck_assert_int_eq(last.depth, 2);
    ck_assert_int_eq(last.tunnel_verdict, TUNNEL_VERDICT_TOO_DEEP);
    ck_assert_int_eq(r, DECODE_UNSUPPORTED);
    ck_assert_uint_eq(W.n[WEIRD_TUNNEL_TOO_DEEP], 1);

    /* the default limit (4, Zeek's Tunnel::max_depth) follows them all */
    decoder_config_t def = {0};
    redo(&def);
    ck_assert_int_eq(dec_all(228, &cur, &last, &r), 5);
    assert_v4_udp(&last);
    ck_assert_int_eq(last.depth, 4);

    /* IP tunnels obey the same limit */
    decoder_config_t one = {.max_tunnel_depth = 1};
    redo(&one);
    buf_t in = inner_tcp4();
    buf_t a = ip_pkt(&V4, 4, &in);
    buf_t b = ip_pkt(&V4, 4, &a);
    ck_assert_int_eq(dec_all(228, &b, &last, &r), 2);
    ck_assert_int_eq(last.tunnel_verdict, TUNNEL_VERDICT_TOO_DEEP);
    ck_assert_int_eq(r, DECODE_UNSUPPORTED);
}
END_TEST

/* ------------------------------------------------------------------ */
/* truncation sweeps                                                   */

typedef struct {
    const char *name;
    int dlt;
    buf_t (*build)(void);
    uint32_t need; /* bytes up to the end of the fixed transport header */
} sweep_case_t;

static buf_t
sw_tcp_opts(void)
{
    static const uint8_t opts[12] = {2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 0, 0};
    static const uint8_t ipopt[4] = {1, 1, 1, 0};
    buf_t t = tcp_seg(&V4, 40000, 80, TH_SYN, opts, sizeof(opts), "payload");
    buf_t ip = ipv4_ex(&V4, 6, t.b, t.n, 9, 0, ipopt, 4);
    return eth(0x0800, &ip);
}

static buf_t
sw_vlan_v6_ext(void)
{
    buf_t u = udp_dgram(&V6, 1234, 53, (const uint8_t *)"hello", 5);
    buf_t x = {.n = 0};
    put_ext(&x, 0, 60, 1);
    put_ext(&x, 60, 17, 2);
    putb(&x, &u);
    buf_t ip = ipv6_ex(&V6, 0, x.b, x.n);
    buf_t v = vlan_tag(0x8100, 3, 0x86dd, &ip);
    return eth(0x8100, &v);
}

static buf_t
sw_gre_icmp(void)
{
    buf_t ic = icmp_msg(&V4B, 8, 0);
    buf_t in = ip_pkt(&V4B, 1, &ic);
    buf_t g = gre(0x2000, 0x0800, &in);
    buf_t out = ip_pkt(&V4, 47, &g);
    return eth(0x0800, &out);
}

static buf_t
sw_vxlan(void)
{
    buf_t in = inner_tcp4();
    buf_t frame = eth(0x0800, &in);
    buf_t vx = vxlan_hdr(0x08, &frame);
    buf_t u = udp_buf(&V4, 50000, 4789, &vx);
    buf_t out = ip_pkt(&V4, 17, &u);
    return eth(0x0800, &out);
}

static buf_t
sw_pppoe_icmp6(void)
{
    buf_t ic = icmp_msg(&V6, 128, 0);
    buf_t ip = ip_pkt(&V6, 58, &ic);
    buf_t p = pppoe(0x0057, &ip);
    return eth(0x8864, &p);
}

static buf_t
sw_radiotap(void)
{
    return lk_radiotap();
}

static buf_t
sw_mpls_teredo(void)
{
    buf_t in = std_udp6();
    buf_t h = {.n = 0};
    put16(&h, 0);
    put16(&h, 1);
    put32(&h, 2);
    putb(&h, &in);
    buf_t u = udp_buf(&V4, 50000, 3544, &h);
    buf_t ip = ip_pkt(&V4, 17, &u);
    buf_t m = mpls_stack(2, &ip);
    return eth(0x8847, &m);
}

static const sweep_case_t sweep_cases[] = {
    {"eth/ipv4+opts/tcp+opts", 1, sw_tcp_opts, 14 + 24 + 20},
    {"eth/vlan/ipv6+ext/udp", 1, sw_vlan_v6_ext, 18 + 40 + 24 + 8},
    {"eth/ipv4/gre/ipv4/icmp", 1, sw_gre_icmp, 14 + 20 + 8},
    {"eth/ipv4/udp/vxlan/eth/ipv4/tcp", 1, sw_vxlan, 14 + 20 + 8},
    {"eth/pppoe/ipv6/icmp6", 1, sw_pppoe_icmp6, 14 + 8 + 40 + 8},
    {"radiotap/802.11/ipv6/udp", 127, sw_radiotap, 12 + 26 + 8 + 40 + 8},
    {"eth/mpls/ipv4/udp/teredo", 1, sw_mpls_teredo, 14 + 8 + 20 + 8},
};
#define N_SWEEP (int)(sizeof(sweep_cases) / sizeof(sweep_cases[0]))

/* Every pointer a layer hands out stays inside the captured bytes. */
static void
assert_in_bounds(const pkt_layer_t *l, const uint8_t *data, uint32_t caplen)
{
    const uint8_t *end = data + caplen;
    if (l->reassembled)
        return;
    if (l->l4) {
        ck_assert(l->l4 >= data && l->l4 + l->l4_caplen <= end);
        ck_assert_uint_le(l->l4_caplen, l->l4_len);
    }
    if (l->payload)
        ck_assert(l->payload >= data && l->payload + l->payload_caplen <= end);
    if (l->inner)
        ck_assert(l->inner >= data && l->inner + l->inner_caplen <= end);
}

/* Decode every layer of @p data, checking the invariants of each. */
static void
decode_checked(int dlt, const uint8_t *data, uint32_t caplen, uint32_t wirelen)
{
    pkt_layer_t a, b;
    pkt_layer_t *l = &a, *in = &b;
    uint64_t before = wsum();
    decode_result_t r = decode_packet(D, dlt, data, caplen, wirelen, 1.0, l);
    ck_assert_int_ge(r, DECODE_OK);
    ck_assert_int_le(r, DECODE_UNSUPPORTED);
    if (r == DECODE_TRUNCATED || r == DECODE_MALFORMED || r == DECODE_UNSUPPORTED)
        ck_assert_uint_gt(wsum(), before);
    for (int depth = 0; r == DECODE_OK && depth < 10; depth++) {
        assert_in_bounds(l, data, caplen);
        (void)decode_l4_checksum_ok(l);
        if (l->inner_encap == ENCAP_NONE)
            break;
        before = wsum();
        r = decode_inner(D, l, in);
        if (r == DECODE_TRUNCATED || r == DECODE_MALFORMED || r == DECODE_UNSUPPORTED)
            ck_assert_uint_gt(wsum(), before);
        pkt_layer_t *t = l;
        l = in;
        in = t;
    }
}

START_TEST(sweep_truncated_frames)
{
    /* The frame really ends early (wire length = captured length). */
    const sweep_case_t *c = &sweep_cases[_i];
    buf_t f = c->build();
    pkt_layer_t l;
    ck_assert_int_eq(decode_packet(D, c->dlt, f.b, f.n, f.n, 0, &l), DECODE_OK);
    for (uint32_t n = 0; n < f.n; n++) {
        uint8_t *copy = n ? malloc(n) : NULL; /* exactly n bytes: ASan sees reads past n */
        if (n)
            memcpy(copy, f.b, n);
        uint64_t before = wsum();
        decode_result_t r = decode_packet(D, c->dlt, copy, n, n, 0, &l);
        ck_assert_msg(r == DECODE_TRUNCATED, "%s cut at %u: result %d", c->name, n, r);
        ck_assert_msg(wsum() > before, "%s cut at %u: no weird", c->name, n);
        free(copy);
    }
}
END_TEST

START_TEST(sweep_snaplen)
{
    /* The capture stops early (snaplen); the wire length is intact. */
    const sweep_case_t *c = &sweep_cases[_i];
    buf_t f = c->build();
    for (uint32_t n = 0; n <= f.n; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, f.b, n);
        pkt_layer_t l;
        uint64_t before = wsum();
        decode_result_t r = decode_packet(D, c->dlt, copy, n, f.n, 0, &l);
        if (n < c->need)
            ck_assert_msg(r != DECODE_OK, "%s cut at %u: OK without a full header", c->name, n);
        else
            ck_assert_msg(r == DECODE_OK, "%s cut at %u: result %d", c->name, n, r);
        if (r != DECODE_OK && r != DECODE_SKIP)
            ck_assert_msg(wsum() > before, "%s cut at %u: no weird", c->name, n);
        if (r == DECODE_OK) {
            ck_assert(l.snaplen_cut == (n < f.n));
            ck_assert_uint_le(l.l4_caplen, l.l4_len);
        }
        decode_checked(c->dlt, copy, n, f.n);
        free(copy);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* random mutations                                                    */

START_TEST(fuzz_mutations)
{
    /* Byte flips in well-formed frames of every kind: nothing may read out
     * of bounds (run under ASan) and every failure must be counted. */
    rng_state = 0x5eed0000u + (uint64_t)_i;
    decoder_config_t cfg = {.frag_max_bytes = 1, .frag_timeout = 1};
    redo(&cfg);
    buf_t seeds[N_SWEEP + N_LINK_CASES];
    int dlts[N_SWEEP + N_LINK_CASES];
    int ns = 0;
    for (int i = 0; i < N_SWEEP; i++, ns++) {
        seeds[ns] = sweep_cases[i].build();
        dlts[ns] = sweep_cases[i].dlt;
    }
    for (int i = 0; i < N_LINK_CASES; i++, ns++) {
        seeds[ns] = link_cases[i].build();
        dlts[ns] = link_cases[i].dlt;
    }
    for (int iter = 0; iter < 4000; iter++) {
        int s = (int)(rng() % (uint32_t)ns);
        buf_t f = seeds[s];
        int flips = 1 + (int)(rng() % 6);
        for (int k = 0; k < flips; k++) {
            uint32_t at = rng() % f.n;
            f.b[at] = (rng() & 1) ? (uint8_t)rng() : (uint8_t)(f.b[at] ^ (1u << (rng() % 8)));
        }
        uint32_t n = (rng() & 3) == 0 ? rng() % (f.n + 1) : f.n;
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, f.b, n);
        decode_checked(dlts[s], copy, n, (rng() & 1) ? f.n : n);
        free(copy);
    }
}
END_TEST

START_TEST(fuzz_random_bytes)
{
    rng_state = 0xabcdef00u + (uint64_t)_i;
    static const int dlts[] = {0, 1, 9, 12, 50, 101, 105, 108, 113, 127, 228, 229, 276};
    for (int iter = 0; iter < 3000; iter++) {
        uint32_t n = rng() % 200;
        uint8_t *p = malloc(n ? n : 1);
        for (uint32_t i = 0; i < n; i++)
            p[i] = (uint8_t)rng();
        /* make IP-looking starts likely */
        if (n > 20 && (rng() & 1))
            p[0] = (rng() & 1) ? 0x45 : 0x60;
        decode_checked(dlts[rng() % (sizeof(dlts) / sizeof(dlts[0]))], p, n, n);
        free(p);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* API odds and ends                                                   */

START_TEST(api_basics)
{
    ck_assert_str_eq(encap_name(ENCAP_NONE), "");
    ck_assert_str_eq(encap_name(ENCAP_IPIP), "");
    ck_assert_str_eq(encap_name(ENCAP_GRE), "gre");
    ck_assert_str_eq(encap_name(ENCAP_VXLAN), "vxlan");
    ck_assert_str_eq(encap_name(ENCAP_GENEVE), "geneve");
    ck_assert_str_eq(encap_name(ENCAP_TEREDO), "teredo");
    ck_assert_str_eq(encap_name(ENCAP_AYIYA), "ayiya");
    ck_assert_str_eq(encap_name((encap_kind_t)99), "");
    decoder_free(NULL);

    /* a decoder without weird counters and with a NULL config */
    decoder_t *d = decoder_new(NULL, NULL);
    buf_t b = std_udp4();
    pkt_layer_t l;
    ck_assert_int_eq(decode_packet(d, 228, b.b, b.n, b.n, 5.5, &l), DECODE_OK);
    ck_assert(l.ts == 5.5);
    b.b[10] ^= 1;
    ck_assert_int_eq(decode_packet(d, 228, b.b, b.n, b.n, 0, &l), DECODE_MALFORMED);
    ck_assert_int_eq(decode_packet(d, 228, NULL, 0, 0, 0, &l), DECODE_TRUNCATED);
    ck_assert_int_eq(decode_inner(d, &l, &l), DECODE_UNSUPPORTED);
    decoder_free(d);
    ck_assert(decode_l4_checksum_ok(NULL));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Zeek's traces                                                       */

#define CORPUS "/work/shared/corpus/zeek/traces/"

static const char *const corpus_files[] = {
    "core.pbb.pcap",
    "core.cisco-fabric-path.pcap",
    "core.wlanmon.pcap",
    "core.vntag.pcap",
    "core.vntag-in-vlan.pcap",
    "core.ppp.pcap",
    "core.pppoe.pcap",
    "core.pppoe-over-qinq.pcap",
    "core.mpls-in-vlan.pcap",
    "core.vlan-mpls.pcap",
    "core.erspanII.pcap",
    "core.erspanIII.pcap",
    "core.tunnels.ayiya-large-identity.pcap",
    "core.tunnels.geneve-ipv6.pcap",
    "core.tunnels.geneve-many-options.pcap",
    "core.tunnels.geneve-vxlan-truncated.pcap",
    "core.tunnels.geneve.pcap",
    "core.tunnels.gre-in-gre.pcap",
    "core.tunnels.gre-over-udp.pcap",
    "core.tunnels.gre-pptp.pcap",
    "core.tunnels.gtp.false_gtp.pcap",
    "core.tunnels.gtp.not_user_plane_data.pcap",
    "core.tunnels.gtp.outer_ip_frag.pcap",
    "core.tunnels.max-depth.pcap",
    "core.tunnels.teredo_bubble_with_payload.pcap",
    "core.tunnels.vxlan-unknown-internal-packet.pcap",
    "core.tunnels.vxlan.pcap",
    "core.unknown-ip-protocol.pcap",
    "scripts.base.protocols.irc.starttls.pcap",
    "scripts.base.protocols.ftp.ftp-ipv6.pcap",
};
#define N_CORPUS (int)(sizeof(corpus_files) / sizeof(corpus_files[0]))

START_TEST(corpus_traces)
{
    char path[512];
    snprintf(path, sizeof(path), CORPUS "%s", corpus_files[_i]);
    if (access(path, R_OK) != 0)
        return; /* no shared corpus here: nothing to check */
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, err);
    ck_assert_msg(p != NULL, "%s: %s", path, err);
    /* Zeek ran most of these with -C; checksums are not what is tested */
    decoder_config_t cfg = {.ignore_checksums = true};
    redo(&cfg);
    int dlt = pcap_datalink(p);
    ck_assert_msg(decode_dlt_supported(dlt), "%s: link type %d", path, dlt);
    struct pcap_pkthdr *h;
    const u_char *data;
    int ip_layers = 0, max_depth = 0, packets = 0;
    while (pcap_next_ex(p, &h, &data) == 1) {
        packets++;
        pkt_layer_t a, b;
        pkt_layer_t *l = &a, *in = &b;
        uint64_t before = wsum();
        decode_result_t r = decode_packet(D, dlt, data, h->caplen, h->len,
                                          (double)h->ts.tv_sec + h->ts.tv_usec / 1e6, l);
        for (;;) {
            if (r == DECODE_TRUNCATED || r == DECODE_MALFORMED || r == DECODE_UNSUPPORTED ||
                (r == DECODE_SKIP && l->depth == 0 && l == &a))
                ck_assert_msg(wsum() > before, "%s #%d: result %d uncounted", path, packets, r);
            if (r != DECODE_OK)
                break;
            ip_layers++;
            if (l->depth > max_depth)
                max_depth = l->depth;
            assert_in_bounds(l, l->reassembled || l->depth ? l->l4 : data,
                             l->reassembled || l->depth ? l->l4_caplen : h->caplen);
            if (l->inner_encap == ENCAP_NONE)
                break;
            before = wsum();
            r = decode_inner(D, l, in);
            pkt_layer_t *t = l;
            l = in;
            in = t;
        }
    }
    pcap_close(p);
    ck_assert_msg(ip_layers > 0, "%s: no IP layer", path);
    if (strcmp(corpus_files[_i], "core.tunnels.max-depth.pcap") == 0)
        ck_assert_int_eq(max_depth, 3); /* three VXLAN layers, then DNS */
    if (strstr(corpus_files[_i], "gre-in-gre") || strstr(corpus_files[_i], "gre-pptp"))
        ck_assert_int_eq(max_depth, 2);
    if (strstr(corpus_files[_i], "teredo") || strstr(corpus_files[_i], "erspan") ||
        strstr(corpus_files[_i], "geneve") || strstr(corpus_files[_i], "ayiya"))
        ck_assert_int_ge(max_depth, 1);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *
decode_suite(void)
{
    Suite *s = suite_create("decode");
    TCase *tc;

    tc = tcase_create("link");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, link_each_type, 0, N_LINK_CASES);
    tcase_add_test(tc, link_not_ip);
    tcase_add_test(tc, link_80211_non_data);
    tcase_add_test(tc, link_80211_amsdu);
    tcase_add_test(tc, link_unknown_dlt);
    tcase_add_test(tc, link_vlan_too_deep);
    tcase_add_test(tc, link_padding_not_payload);
    suite_add_tcase(s, tc);

    tc = tcase_create("ip");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, ipv4_options);
    tcase_add_test(tc, ipv4_header_checks);
    tcase_add_test(tc, ipv4_checksum_ignored);
    tcase_add_test(tc, ipv4_tso_zero_length);
    tcase_add_test(tc, ipv4_snaplen_cut);
    tcase_add_test(tc, ipv6_ext_chain);
    tcase_add_test(tc, ipv6_ext_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("fragments");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, frag_in_order);
    tcase_add_test(tc, frag_out_of_order);
    tcase_add_test(tc, frag_overlap_and_duplicate);
    tcase_add_test(tc, frag_timeout);
    tcase_add_test(tc, frag_table_full);
    tcase_add_test(tc, frag_errors);
    tcase_add_test(tc, frag_ipv6);
    tcase_add_test(tc, frag_in_tunnel);
    suite_add_tcase(s, tc);

    tc = tcase_create("transport");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, tcp_fields);
    tcase_add_test(tc, tcp_bad_offsets);
    tcase_add_test(tc, udp_icmp_other);
    tcase_add_loop_test(tc, checksum_good_bad, 0, (int)(sizeof(ck_cases) / sizeof(ck_cases[0])));
    tcase_add_test(tc, checksum_udp_zero);
    tcase_add_test(tc, checksum_all_lengths);
    suite_add_tcase(s, tc);

    tc = tcase_create("tunnels");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, tunnel_ipip);
    tcase_add_test(tc, tunnel_gre_variants);
    tcase_add_test(tc, tunnel_gre_pptp);
    tcase_add_test(tc, tunnel_gre_errors);
    tcase_add_test(tc, tunnel_vxlan);
    tcase_add_test(tc, tunnel_retarget);
    tcase_add_test(tc, tunnel_geneve);
    tcase_add_test(tc, tunnel_gre_in_udp);
    tcase_add_test(tc, tunnel_teredo);
    tcase_add_test(tc, tunnel_teredo_detect);
    tcase_add_test(tc, tunnel_ayiya);
    tcase_add_test(tc, tunnel_gtp);
    tcase_add_test(tc, tunnel_depth_limit);
    suite_add_tcase(s, tc);

    tc = tcase_create("robustness");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, sweep_truncated_frames, 0, N_SWEEP);
    tcase_add_loop_test(tc, sweep_snaplen, 0, N_SWEEP);
    tcase_add_loop_test(tc, fuzz_mutations, 0, 4);
    tcase_add_loop_test(tc, fuzz_random_bytes, 0, 2);
    tcase_add_test(tc, api_basics);
    suite_add_tcase(s, tc);

    tc = tcase_create("corpus");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, corpus_traces, 0, N_CORPUS);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(decode_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
