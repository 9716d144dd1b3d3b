/*
 * pcapgen_samples.c: the hand-designed sample traces shipped in samples/.
 * Each scenario writes its connections one after the other with explicit
 * timings; the frames are then merged by timestamp.  samples/README.md lists,
 * for every connection here, the conn.log row Zeek would produce; keep the two
 * in step when changing anything below.
 */
#include "config.h"

#include <string.h>

#include "pcapgen.h"

/* ---- frame collection ---- */

typedef struct {
    uint64_t t;
    uint32_t order; /* insertion order: keeps equal timestamps stable */
    uint32_t caplen, wirelen;
    uint8_t *data;
} sframe_t;

typedef struct {
    GArray *frames;
    uint32_t order;
    pg_pkt_t pkt;
} sb_t;

static void
sb_put(sb_t *b, uint64_t t, const uint8_t *data, uint32_t caplen, uint32_t wirelen)
{
    sframe_t f = { .t = t, .order = b->order++, .caplen = caplen, .wirelen = wirelen };
    f.data = g_memdup2(data, caplen);
    g_array_append_val(b->frames, f);
}

static gint
sframe_cmp(gconstpointer a, gconstpointer b)
{
    const sframe_t *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* ---- encapsulation ---- */

typedef enum { ENC_NONE, ENC_VXLAN, ENC_GRE, ENC_IP } enc_kind_t;

/* How a conversation's packets are wrapped.  outer.addr[0] is the tunnel end
 * on the inner originator's side; VXLAN uses vx_sport[dir] as the source port
 * towards 4789 (each VTEP hashes its own, RFC 7348 section 5). */
typedef struct {
    enc_kind_t kind;
    pg_flow_t outer;
    uint16_t vx_sport[2];
    uint32_t vni;
} encap_t;

/* Render step @p s of @p f, wrapped as @p e says (NULL: plain Ethernet). */
static void
sb_emit(sb_t *b, pg_flow_t *f, const pg_step_t *s, encap_t *e)
{
    pg_pkt_t *p = &b->pkt;
    if (!e || e->kind == ENC_NONE) {
        pg_render(f, s, p);
        sb_put(b, s->t, pg_pkt_data(p), pg_pkt_len(p), pg_pkt_len(p));
        return;
    }
    int d = s->dir;
    pg_flow_t *o = &e->outer;
    uint8_t proto;
    if (e->kind == ENC_VXLAN) {
        pg_render(f, s, p); /* VXLAN carries the whole inner Ethernet frame */
        uint8_t *h = pg_pkt_prepend(p, 8);
        memset(h, 0, 8);
        h[0] = 0x08; /* I flag: the VNI is valid */
        h[4] = (uint8_t)(e->vni >> 16);
        h[5] = (uint8_t)(e->vni >> 8);
        h[6] = (uint8_t)e->vni;
        /* VTEPs commonly send a zero UDP checksum, which RFC 7348 allows. */
        pg_push_udp(p, &o->addr[d], &o->addr[!d], e->vx_sport[d], 4789, true);
        proto = PG_PROTO_UDP;
    } else {
        pg_render_l3(f, s, p);
        uint16_t inner_type = f->addr[0].v == 4 ? PG_ETH_IPV4 : PG_ETH_IPV6;
        if (e->kind == ENC_GRE) {
            uint8_t *h = pg_pkt_prepend(p, 4); /* RFC 2784: no checksum, key or seq */
            h[0] = h[1] = 0;
            h[2] = (uint8_t)(inner_type >> 8);
            h[3] = (uint8_t)inner_type;
            proto = PG_PROTO_GRE;
        } else {
            proto = f->addr[0].v == 4 ? PG_PROTO_IPIP : PG_PROTO_IPV6;
        }
    }
    pg_push_ip(p, &o->addr[d], &o->addr[!d], proto, o->ttl[d], o->ipid[d]++, 0);
    pg_push_eth(p, o->mac[!d], o->mac[d], PG_ETH_IPV4, o->vlan, o->vlan_tpid);
    sb_put(b, s->t, pg_pkt_data(p), pg_pkt_len(p), pg_pkt_len(p));
}

/* ---- conversation helpers ---- */

/* Plain endpoints: MACs from the addresses, fixed TTLs and IP ids. */
static pg_flow_t
mkflow(pg_addr_t o, uint16_t oport, pg_addr_t r, uint16_t rport)
{
    pg_flow_t f;
    memset(&f, 0, sizeof(f));
    f.addr[0] = o;
    f.addr[1] = r;
    pg_mac_for(&o, f.mac[0]);
    pg_mac_for(&r, f.mac[1]);
    f.port[0] = oport;
    f.port[1] = rport;
    f.ttl[0] = 64;
    f.ttl[1] = 57;
    f.ipid[0] = (uint16_t)(oport * 7u);
    f.ipid[1] = (uint16_t)(rport * 13u + oport);
    f.wscale = 7;
    f.dns_id = (uint16_t)(oport ^ 0x5a5a);
    f.name_idx = oport % 6400u;
    return f;
}

typedef struct {
    sb_t *b;
    pg_flow_t f;
    pg_tcpseq_t ts;
    uint64_t t;
    encap_t *e;
} conv_t;

static void
conv_init(conv_t *c, sb_t *b, pg_flow_t f, uint32_t isn0, uint32_t isn1, uint64_t t0, encap_t *e)
{
    memset(c, 0, sizeof(*c));
    c->b = b;
    c->f = f;
    c->ts.nxt[0] = isn0;
    c->ts.nxt[1] = isn1;
    c->ts.win[0] = 64240;
    c->ts.win[1] = 65160;
    c->t = t0;
    c->e = e;
}

/* Advance the clock by @p dt microseconds, then send the next TCP segment. */
static pg_step_t
seg(conv_t *c, uint32_t dt, int dir, uint8_t flags, uint16_t len)
{
    c->t += dt;
    pg_step_t s = pg_tcp_next(&c->ts, c->t, dir, flags, len);
    sb_emit(c->b, &c->f, &s, c->e);
    return s;
}

/* Send @p s again, @p dt later (a retransmission: same seq, same bytes). */
static void
resend(conv_t *c, uint32_t dt, pg_step_t s)
{
    c->t += dt;
    s.t = c->t;
    sb_emit(c->b, &c->f, &s, c->e);
}

/* A segment with explicit numbers (RSTs answering a SYN, ...); no bookkeeping. */
static void
raw(conv_t *c, uint32_t dt, int dir, uint8_t flags, uint32_t seqno, uint32_t ackno)
{
    c->t += dt;
    pg_step_t s = { .t = c->t, .seq = seqno, .ack = ackno, .dir = (uint8_t)dir,
                    .kind = PG_STEP_TCP, .flags = flags, .win = c->ts.win[dir] };
    sb_emit(c->b, &c->f, &s, c->e);
}

/* Non-TCP step of kind @p kind, @p dt later. */
static void
dgram(conv_t *c, uint32_t dt, int dir, pg_step_kind_t kind, uint16_t len)
{
    c->t += dt;
    pg_step_t s = { .t = c->t, .dir = (uint8_t)dir, .kind = (uint8_t)kind, .len = len };
    sb_emit(c->b, &c->f, &s, c->e);
}

static void
echo(conv_t *c, uint32_t dt, int dir, uint16_t seqno)
{
    c->t += dt;
    bool v4 = c->f.addr[0].v == 4;
    pg_step_t s = { .t = c->t, .dir = (uint8_t)dir, .kind = PG_STEP_ICMP_ECHO, .seq = seqno,
                    .len = 56 };
    s.flags = dir == 0 ? (v4 ? 8 : 128) : (v4 ? 0 : 129);
    sb_emit(c->b, &c->f, &s, c->e);
}

static void
handshake(conv_t *c, uint32_t rtt)
{
    seg(c, 0, 0, PG_SYN, 0);
    seg(c, rtt, 1, PG_SYN | PG_ACK, 0);
    seg(c, 120, 0, PG_ACK, 0);
}

/* The server's answer: MSS-sized segments, the client acking every second one
 * and the last.  Returns the first segment (for retransmission scenarios). */
static pg_step_t
response(conv_t *c, uint32_t bytes)
{
    pg_step_t first = { 0 };
    for (uint32_t i = 0; bytes > 0; i++) {
        uint16_t n = (uint16_t)(bytes > 1460 ? 1460 : bytes);
        pg_step_t s = seg(c, 300, 1, PG_ACK | PG_PSH, n);
        if (i == 0)
            first = s;
        bytes -= n;
        if (i % 2 == 1 || bytes == 0)
            seg(c, 80, 0, PG_ACK, 0);
    }
    return first;
}

static void
close_client_first(conv_t *c, uint32_t rtt)
{
    seg(c, 2000, 0, PG_FIN | PG_ACK, 0);
    seg(c, rtt, 1, PG_FIN | PG_ACK, 0);
    seg(c, 120, 0, PG_ACK, 0);
}

static void
close_server_first(conv_t *c, uint32_t rtt)
{
    seg(c, 2000, 1, PG_FIN | PG_ACK, 0);
    seg(c, rtt, 0, PG_FIN | PG_ACK, 0);
    seg(c, rtt, 1, PG_ACK, 0);
}

/*
 * A complete connection: handshake, a request, a pure ACK, the response, and
 * an orderly close.  Zeek history: ShADadFf (client closes) or ShADadfF.
 */
static void
tcp_sf(sb_t *b, pg_flow_t f, encap_t *e, uint64_t t0, uint32_t isn0, uint32_t isn1,
       uint16_t req, uint32_t resp, uint32_t rtt, bool server_closes)
{
    conv_t c;
    conv_init(&c, b, f, isn0, isn1, t0, e);
    handshake(&c, rtt);
    seg(&c, 200, 0, PG_ACK | PG_PSH, req);
    seg(&c, rtt, 1, PG_ACK, 0);
    response(&c, resp);
    if (server_closes)
        close_server_first(&c, rtt);
    else
        close_client_first(&c, rtt);
}

#define SEC UINT64_C(1000000)
#define MS 1000u

/* Flip bits of a 16-bit checksum so that it is wrong, and never 0x0000 or
 * 0xffff (0 would mean "no checksum" for IPv4 UDP). */
static void
corrupt16(uint8_t *at)
{
    uint16_t v = (uint16_t)(at[0] << 8 | at[1]);
    uint16_t w = v ^ 0x0101;
    if (w == 0 || w == 0xffff)
        w = v ^ 0x0303;
    at[0] = (uint8_t)(w >> 8);
    at[1] = (uint8_t)w;
}

/* ---- tcp-basic ---- */

static void
sample_tcp_basic(sb_t *b, uint64_t t0)
{
    pg_addr_t cli = pg_ip4(192, 168, 10, 11);
    pg_addr_t srv = pg_ip4(93, 184, 216, 34);
    conv_t c;

    /* A: SF, client closes, 120 bytes up, 2460 down. */
    tcp_sf(b, mkflow(cli, 40001, srv, 9000), NULL, t0, 1000000000u, 2000000000u, 120, 2460,
           20 * MS, false);

    /* B: SF with one retransmitted server segment. */
    conv_init(&c, b, mkflow(cli, 40002, srv, 9000), 1100000000u, 2100000000u, t0 + 1 * SEC, NULL);
    handshake(&c, 20 * MS);
    seg(&c, 200, 0, PG_ACK | PG_PSH, 100);
    seg(&c, 20 * MS, 1, PG_ACK, 0);
    pg_step_t first = seg(&c, 300, 1, PG_ACK | PG_PSH, 1460);
    seg(&c, 300, 1, PG_ACK | PG_PSH, 1000);
    resend(&c, 250 * MS, first);
    seg(&c, 20 * MS, 0, PG_ACK, 0);
    close_client_first(&c, 20 * MS);

    /* C: REJ.  The RST answering a SYN has seq 0 and acks SYN+1 (RFC 793). */
    conv_init(&c, b, mkflow(cli, 40003, srv, 9001), 1200000000u, 0, t0 + 2 * SEC, NULL);
    seg(&c, 0, 0, PG_SYN, 0);
    raw(&c, 20 * MS, 1, PG_RST | PG_ACK, 0, c.ts.nxt[0]);

    /* D: S0.  Unanswered SYN, retransmitted with the same seq after 1 s and 3 s. */
    conv_init(&c, b, mkflow(cli, 40004, srv, 9002), 1300000000u, 0, t0 + 3300 * MS, NULL);
    pg_step_t syn = seg(&c, 0, 0, PG_SYN, 0);
    resend(&c, 1000 * MS, syn);
    resend(&c, 2000 * MS, syn);

    /* E: RSTO.  Data both ways, then the originator resets. */
    conv_init(&c, b, mkflow(cli, 40005, srv, 9000), 1400000000u, 2400000000u, t0 + 4 * SEC, NULL);
    handshake(&c, 20 * MS);
    seg(&c, 200, 0, PG_ACK | PG_PSH, 200);
    seg(&c, 20 * MS, 1, PG_ACK | PG_PSH, 500);
    seg(&c, 5 * MS, 0, PG_RST | PG_ACK, 0);

    /* F: RSTR.  Data both ways, then the responder resets. */
    conv_init(&c, b, mkflow(cli, 40006, srv, 9000), 1500000000u, 2500000000u, t0 + 5 * SEC, NULL);
    handshake(&c, 20 * MS);
    seg(&c, 200, 0, PG_ACK | PG_PSH, 300);
    seg(&c, 20 * MS, 1, PG_ACK | PG_PSH, 100);
    seg(&c, 1 * MS, 1, PG_RST | PG_ACK, 0);

    /* G: SH.  SYN, then a FIN from the originator; the responder never answers. */
    conv_init(&c, b, mkflow(cli, 40007, srv, 9003), 1600000000u, 0, t0 + 6 * SEC, NULL);
    seg(&c, 0, 0, PG_SYN, 0);
    seg(&c, 500 * MS, 0, PG_FIN, 0);

    /* H: OTH.  Picked up mid-stream: no SYN from either side. */
    conv_init(&c, b, mkflow(cli, 51000, srv, 9000), 1700000000u, 2700000000u, t0 + 7 * SEC, NULL);
    seg(&c, 0, 0, PG_ACK | PG_PSH, 500);
    seg(&c, 20 * MS, 1, PG_ACK, 0);
    seg(&c, 1 * MS, 0, PG_ACK | PG_PSH, 300);
    seg(&c, 20 * MS, 1, PG_ACK | PG_PSH, 200);
    seg(&c, 1 * MS, 0, PG_ACK, 0);

    /* I: SF, the server closes first; 8 full segments down. */
    tcp_sf(b, mkflow(pg_ip4(192, 168, 10, 12), 40010, srv, 9000), NULL, t0 + 8 * SEC,
           1800000000u, 2800000000u, 80, 8 * 1460, 20 * MS, true);
}

/* ---- udp-icmp ---- */

static void
sample_udp_icmp(sb_t *b, uint64_t t0)
{
    pg_addr_t cli = pg_ip4(192, 168, 10, 11);
    conv_t c;

    /* 1: DNS query and answer, SF. */
    conv_init(&c, b, mkflow(cli, 53211, pg_ip4(192, 168, 10, 1), 53), 0, 0, t0, NULL);
    dgram(&c, 0, 0, PG_STEP_DNS_Q, 0);
    dgram(&c, 12345, 1, PG_STEP_DNS_R, 0);

    /* 2: one-way UDP (flow export), S0. */
    conv_init(&c, b, mkflow(cli, 50514, pg_ip4(192, 168, 10, 2), 2055), 0, 0, t0 + 1 * SEC, NULL);
    dgram(&c, 0, 0, PG_STEP_UDP, 100);
    dgram(&c, 1000 * MS, 0, PG_STEP_UDP, 120);
    dgram(&c, 1000 * MS, 0, PG_STEP_UDP, 90);

    /* 3: only the server side is seen: a DNS answer from port 53.  The flow is
     * written with the server as sender (dir 0 of this flow). */
    pg_flow_t f = mkflow(pg_ip4(192, 168, 10, 1), 53, pg_ip4(192, 168, 10, 13), 33333);
    conv_init(&c, b, f, 0, 0, t0 + 4 * SEC, NULL);
    c.f.name_idx = 1234;
    dgram(&c, 0, 0, PG_STEP_DNS_R, 0);

    /* 4: two ICMP echo request/reply pairs. */
    conv_init(&c, b, mkflow(cli, 0x04d2, pg_ip4(8, 8, 8, 8), 0), 0, 0, t0 + 5 * SEC, NULL);
    echo(&c, 0, 0, 1);
    echo(&c, 9 * MS, 1, 1);
    echo(&c, 991 * MS, 0, 2);
    echo(&c, 9 * MS, 1, 2);

    /* 5: a UDP probe to a closed port and the ICMP port unreachable it draws. */
    conv_init(&c, b, mkflow(cli, 45678, pg_ip4(192, 168, 10, 99), 33434), 0, 0, t0 + 7 * SEC,
              NULL);
    dgram(&c, 0, 0, PG_STEP_UDP, 32);
    c.t += 400;
    pg_step_t unreach = { .t = c.t, .dir = 1, .kind = PG_STEP_ICMP_ERR, .flags = 3, .code = 3 };
    sb_emit(b, &c.f, &unreach, NULL);

    /* 6: one ICMPv6 echo request/reply pair. */
    conv_init(&c, b,
              mkflow(pg_ip6(0x2001, 0xdb8, 0x10, 0, 0, 0, 0, 0x11), 0x162e,
                     pg_ip6(0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888), 0),
              0, 0, t0 + 8 * SEC, NULL);
    echo(&c, 0, 0, 1);
    echo(&c, 15 * MS, 1, 1);
}

/* ---- ipv6-vlan ---- */

static void
sample_ipv6_vlan(sb_t *b, uint64_t t0)
{
    pg_addr_t cli6 = pg_ip6(0x2001, 0xdb8, 0x10, 0, 0, 0, 0, 0x11);
    conv_t c;

    /* 1: IPv6 TCP, SF. */
    tcp_sf(b, mkflow(cli6, 50010, pg_ip6(0x2a00, 0x1450, 0x4001, 0x81a, 0, 0, 0, 0x200e), 9000),
           NULL, t0, 3000000000u, 3100000000u, 150, 3000, 30 * MS, false);

    /* 2: IPv6 UDP, two requests and two answers, SF. */
    conv_init(&c, b, mkflow(cli6, 50011, pg_ip6(0x2001, 0xdb8, 0x20, 0, 0, 0, 0, 0x53), 9999), 0,
              0, t0 + 1 * SEC, NULL);
    dgram(&c, 0, 0, PG_STEP_UDP, 60);
    dgram(&c, 2 * MS, 1, PG_STEP_UDP, 200);
    dgram(&c, 100 * MS, 0, PG_STEP_UDP, 70);
    dgram(&c, 2 * MS, 1, PG_STEP_UDP, 210);

    /* 3: IPv4 TCP in 802.1Q VLAN 100, SF. */
    pg_flow_t f = mkflow(pg_ip4(192, 168, 100, 11), 50012, pg_ip4(192, 168, 100, 80), 9000);
    f.vlan[0] = 100;
    tcp_sf(b, f, NULL, t0 + 2 * SEC, 3200000000u, 3300000000u, 90, 1200, 1 * MS, false);

    /* 4: IPv4 UDP behind QinQ (802.1ad S-tag 200, C-tag 300), SF. */
    f = mkflow(pg_ip4(192, 168, 200, 11), 50013, pg_ip4(192, 168, 200, 80), 9999);
    f.vlan[0] = 200;
    f.vlan[1] = 300;
    f.vlan_tpid = PG_ETH_QINQ;
    conv_init(&c, b, f, 0, 0, t0 + 3 * SEC, NULL);
    dgram(&c, 0, 0, PG_STEP_UDP, 64);
    dgram(&c, 1 * MS, 1, PG_STEP_UDP, 128);

    /* 5: a 3000-byte UDP datagram in three IPv4 fragments (1480 + 1480 + 48
     * payload bytes) sent second, third, first; then an unfragmented reply. */
    f = mkflow(pg_ip4(192, 168, 10, 11), 50014, pg_ip4(192, 168, 10, 50), 9999);
    uint64_t t = t0 + 4 * SEC;
    pg_step_t s = { .t = t, .dir = 0, .kind = PG_STEP_UDP, .len = 3000 };
    pg_render_l3(&f, &s, &b->pkt);
    uint8_t dgram_bytes[3100];
    uint32_t l4len = pg_pkt_len(&b->pkt) - 20;
    uint16_t ipid = (uint16_t)(b->pkt.buf[b->pkt.head + 4] << 8 | b->pkt.buf[b->pkt.head + 5]);
    memcpy(dgram_bytes, pg_pkt_data(&b->pkt) + 20, l4len);
    static const uint32_t order[3] = { 1, 2, 0 };
    for (int i = 0; i < 3; i++) {
        uint32_t k = order[i];
        uint32_t off = k * 1480;
        uint32_t n = l4len - off < 1480 ? l4len - off : 1480;
        pg_pkt_t *p = &b->pkt;
        pg_pkt_reset(p);
        memcpy(pg_pkt_append(p, n), dgram_bytes + off, n);
        /* RFC 791: offset in 8-byte units, MF on all but the last */
        uint16_t frag = (uint16_t)((off / 8) | (k < 2 ? 0x2000 : 0));
        pg_push_ip(p, &f.addr[0], &f.addr[1], PG_PROTO_UDP, f.ttl[0], ipid, frag);
        pg_push_eth(p, f.mac[1], f.mac[0], PG_ETH_IPV4, NULL, 0);
        sb_put(b, t + (uint64_t)i * MS, pg_pkt_data(p), pg_pkt_len(p), pg_pkt_len(p));
    }
    s.t = t + 12 * MS;
    s.dir = 1;
    s.len = 200;
    pg_render(&f, &s, &b->pkt);
    sb_put(b, s.t, pg_pkt_data(&b->pkt), pg_pkt_len(&b->pkt), pg_pkt_len(&b->pkt));
}

/* ---- tunnels ---- */

static void
sample_tunnels(sb_t *b, uint64_t t0)
{
    conv_t c;

    /* 1: VXLAN (VNI 4242) between two VTEPs, carrying Ethernet + IPv4 ICMP
     * echo: two request/reply pairs. */
    encap_t vx = { .kind = ENC_VXLAN, .vni = 4242, .vx_sport = { 49877, 53012 } };
    vx.outer = mkflow(pg_ip4(192, 168, 50, 1), 0, pg_ip4(192, 168, 50, 2), 0);
    conv_init(&c, b, mkflow(pg_ip4(10, 10, 0, 1), 0x0101, pg_ip4(10, 10, 0, 2), 0), 0, 0, t0, &vx);
    echo(&c, 0, 0, 1);
    echo(&c, 500, 1, 1);
    echo(&c, 999500, 0, 2);
    echo(&c, 500, 1, 2);

    /* 2: GRE (RFC 2784) carrying IPv4 UDP, one request and one answer. */
    encap_t gre = { .kind = ENC_GRE };
    gre.outer = mkflow(pg_ip4(192, 168, 60, 1), 0, pg_ip4(192, 168, 60, 2), 0);
    conv_init(&c, b, mkflow(pg_ip4(172, 16, 1, 10), 40000, pg_ip4(172, 16, 2, 20), 9999), 0, 0,
              t0 + 3 * SEC, &gre);
    dgram(&c, 0, 0, PG_STEP_UDP, 100);
    dgram(&c, 3 * MS, 1, PG_STEP_UDP, 300);

    /* 3: IPv6 in IPv4 (protocol 41, RFC 4213) carrying a complete TCP connection. */
    encap_t sit = { .kind = ENC_IP };
    sit.outer = mkflow(pg_ip4(192, 168, 70, 1), 0, pg_ip4(198, 51, 100, 70), 0);
    tcp_sf(b,
           mkflow(pg_ip6(0x2001, 0xdb8, 0x70, 0, 0, 0, 0, 1), 50020,
                  pg_ip6(0x2001, 0xdb8, 0x80, 0, 0, 0, 0, 1), 9000),
           &sit, t0 + 5 * SEC, 3400000000u, 3500000000u, 100, 1500, 40 * MS, false);
}

/* ---- badinput ---- */

static void
sample_badinput(sb_t *b, uint64_t t0)
{
    pg_addr_t cli = pg_ip4(192, 168, 10, 11);
    pg_addr_t srv = pg_ip4(192, 168, 10, 60);
    pg_pkt_t *p = &b->pkt;
    conv_t c;

    /* 1: a lone SYN with a bad TCP checksum. */
    pg_flow_t f = mkflow(cli, 41001, srv, 9000);
    pg_tcpseq_t ts = { .nxt = { 123456789u, 0 }, .win = { 64240, 0 } };
    pg_step_t s = pg_tcp_next(&ts, t0, 0, PG_SYN, 0);
    pg_render(&f, &s, p);
    corrupt16(pg_pkt_data(p) + p->l3 + 20 + 16);
    sb_put(b, s.t, pg_pkt_data(p), pg_pkt_len(p), pg_pkt_len(p));

    /* 2: SF connection in which one server segment has a bad checksum; the
     * sender retransmits it intact 200 ms later. */
    conv_init(&c, b, mkflow(cli, 41002, srv, 9000), 2200000000u, 2300000000u, t0 + 1 * SEC, NULL);
    handshake(&c, 1 * MS);
    seg(&c, 200, 0, PG_ACK | PG_PSH, 100);
    seg(&c, 1 * MS, 1, PG_ACK, 0);
    c.t += 300;
    s = pg_tcp_next(&c.ts, c.t, 1, PG_ACK | PG_PSH, 700);
    pg_render(&c.f, &s, p);
    corrupt16(pg_pkt_data(p) + p->l3 + 20 + 16);
    sb_put(b, s.t, pg_pkt_data(p), pg_pkt_len(p), pg_pkt_len(p));
    resend(&c, 200 * MS, s);
    seg(&c, 1 * MS, 0, PG_ACK, 0);
    close_client_first(&c, 1 * MS);

    /* 3: a UDP datagram with a bad checksum, then a good one on the same flow. */
    f = mkflow(cli, 41003, srv, 9999);
    s = (pg_step_t){ .t = t0 + 2 * SEC, .dir = 0, .kind = PG_STEP_UDP, .len = 40 };
    pg_render(&f, &s, p);
    corrupt16(pg_pkt_data(p) + p->l3 + 20 + 6);
    sb_put(b, s.t, pg_pkt_data(p), pg_pkt_len(p), pg_pkt_len(p));
    s.t += 250 * MS;
    s.len = 44;
    pg_render(&f, &s, p);
    sb_put(b, s.t, pg_pkt_data(p), pg_pkt_len(p), pg_pkt_len(p));

    /* 4: an IPv4 header cut after 16 of its 20 bytes (frame of 30 bytes). */
    f = mkflow(cli, 41004, srv, 9999);
    s = (pg_step_t){ .t = t0 + 3 * SEC, .dir = 0, .kind = PG_STEP_UDP, .len = 20 };
    pg_render(&f, &s, p);
    sb_put(b, s.t, pg_pkt_data(p), p->l3 + 16, p->l3 + 16);

    /* 5: a request, and an answer of 1400 bytes of which the capture kept 96
     * (caplen < len, as with tcpdump -s 96). */
    conv_init(&c, b, mkflow(cli, 41005, srv, 9999), 0, 0, t0 + 4 * SEC, NULL);
    dgram(&c, 0, 0, PG_STEP_UDP, 100);
    s = (pg_step_t){ .t = c.t + 2 * MS, .dir = 1, .kind = PG_STEP_UDP, .len = 1400 };
    pg_render(&c.f, &s, p);
    sb_put(b, s.t, pg_pkt_data(p), 96, pg_pkt_len(p));

    /* 6: a frame with an unregistered ethertype (0x88b5, IEEE 802 local
     * experimental), padded to the 60-byte Ethernet minimum. */
    pg_pkt_reset(p);
    pg_fill_payload(pg_pkt_append(p, 46), 46, 7);
    uint8_t m0[6], m1[6];
    pg_mac_for(&cli, m0);
    pg_mac_for(&srv, m1);
    pg_push_eth(p, m1, m0, 0x88b5, NULL, 0);
    sb_put(b, t0 + 5 * SEC, pg_pkt_data(p), pg_pkt_len(p), pg_pkt_len(p));

    /* 7: a TCP segment whose data offset says 4 words (16 bytes), below the
     * 20-byte minimum; the checksum is correct for the bytes as sent. */
    f = mkflow(cli, 41007, srv, 9000);
    ts = (pg_tcpseq_t){ .nxt = { 987654321u, 55555u }, .win = { 64240, 0 } };
    s = pg_tcp_next(&ts, t0 + 6 * SEC, 0, PG_ACK | PG_PSH, 10);
    pg_render(&f, &s, p);
    uint8_t *tcp = pg_pkt_data(p) + p->l3 + 20;
    tcp[12] = 4 << 4;
    pg_fix_l4_cksum(tcp, pg_pkt_len(p) - p->l3 - 20, PG_PROTO_TCP, &f.addr[0], &f.addr[1]);
    sb_put(b, s.t, pg_pkt_data(p), pg_pkt_len(p), pg_pkt_len(p));

    /* 8: an ICMP echo request with a bad IPv4 header checksum. */
    f = mkflow(cli, 0x0777, srv, 0);
    s = (pg_step_t){ .t = t0 + 7 * SEC, .dir = 0, .kind = PG_STEP_ICMP_ECHO, .flags = 8,
                     .seq = 1, .len = 56 };
    pg_render(&f, &s, p);
    corrupt16(pg_pkt_data(p) + p->l3 + 10);
    sb_put(b, s.t, pg_pkt_data(p), pg_pkt_len(p), pg_pkt_len(p));
}

/* ---- timeouts ---- */

static void
sample_timeouts(sb_t *b, uint64_t t0)
{
    pg_addr_t cli = pg_ip4(192, 168, 10, 11);
    conv_t c;

    /* 1: a UDP exchange, silence for 120 s (udp_inactivity_timeout is 60 s),
     * then the same exchange on the same ports. */
    conv_init(&c, b, mkflow(cli, 42001, pg_ip4(192, 168, 10, 70), 9999), 0, 0, t0, NULL);
    dgram(&c, 0, 0, PG_STEP_UDP, 50);
    dgram(&c, 5 * MS, 1, PG_STEP_UDP, 60);
    dgram(&c, 120 * 1000 * MS, 0, PG_STEP_UDP, 50);
    dgram(&c, 5 * MS, 1, PG_STEP_UDP, 60);

    /* 2: a TCP connection closed with FINs, and 2 s later a new SYN (new ISN)
     * on the same ports, inside tcp_close_delay: Zeek's connection reuse. */
    pg_flow_t f = mkflow(cli, 42002, pg_ip4(192, 168, 10, 80), 9000);
    tcp_sf(b, f, NULL, t0 + 1 * SEC, 3600000000u, 3700000000u, 60, 700, 1 * MS, false);
    tcp_sf(b, f, NULL, t0 + 3 * SEC, 3800000000u, 3900000000u, 70, 900, 1 * MS, false);

    /* 3: a SYN, and the same SYN again 6 s later: past tcp_attempt_delay (5 s),
     * so the second one opens a new connection. */
    conv_init(&c, b, mkflow(cli, 42003, pg_ip4(192, 168, 10, 90), 9002), 4000000000u, 0,
              t0 + 10 * SEC, NULL);
    pg_step_t syn = seg(&c, 0, 0, PG_SYN, 0);
    resend(&c, 6000 * MS, syn);
}

/* ---- registry ---- */

typedef struct {
    const char *name;
    void (*build)(sb_t *b, uint64_t t0);
} sample_t;

static const sample_t samples[] = {
    { "tcp-basic", sample_tcp_basic }, { "udp-icmp", sample_udp_icmp },
    { "ipv6-vlan", sample_ipv6_vlan }, { "tunnels", sample_tunnels },
    { "badinput", sample_badinput },   { "timeouts", sample_timeouts },
};

const char *const *
pg_sample_names(void)
{
    static const char *names[G_N_ELEMENTS(samples) + 1];
    for (size_t i = 0; i < G_N_ELEMENTS(samples); i++)
        names[i] = samples[i].name;
    return names;
}

gboolean
pg_sample_generate(const char *name, pg_writer_t *w, GError **err)
{
    const sample_t *smp = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(samples); i++)
        if (strcmp(samples[i].name, name) == 0)
            smp = &samples[i];
    if (!smp) {
        g_set_error(err, PG_ERROR, PG_ERROR_UNKNOWN, "unknown sample '%s'", name);
        return FALSE;
    }

    sb_t *b = g_new0(sb_t, 1);
    b->frames = g_array_new(FALSE, FALSE, sizeof(sframe_t));
    smp->build(b, PG_EPOCH_US);
    g_array_sort(b->frames, sframe_cmp);
    for (guint i = 0; i < b->frames->len; i++) {
        sframe_t *f = &g_array_index(b->frames, sframe_t, i);
        pg_writer_put(w, f->t, f->data, f->caplen, f->wirelen);
        g_free(f->data);
    }
    g_array_free(b->frames, TRUE);
    g_free(b);
    return TRUE;
}
