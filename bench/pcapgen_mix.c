/*
 * pcapgen_mix.c: the benchmark mix.  Connections arrive at random over the
 * trace; each gets a complete script of steps when it starts, and a heap keyed
 * by each script's next timestamp interleaves them into one time-ordered
 * capture.  Script sizes adapt as the run goes so that the requested packet
 * count is met with about the requested number of connections.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "pcapgen.h"

/* Connection kinds and their share of arrivals, in per-mille. */
typedef enum {
    K_TCP_FULL,     /* handshake, data both ways, FIN or RST teardown */
    K_TCP_REJ,      /* SYN -> RST/ACK */
    K_TCP_SCAN,     /* SYN probe: RST/ACK, silence, or SYN/ACK -> RST */
    K_TCP_HALFOPEN, /* SYN -> SYN/ACK (retransmitted), never completed */
    K_DNS,          /* query -> response, sometimes retried or unanswered */
    K_NTP,          /* 48-byte request -> response */
    K_UDP_ONEWAY,   /* syslog / flow export / traps: nothing comes back */
    K_UDP_STREAM,   /* QUIC- or RTP-like bidirectional stream */
    K_ICMP_ECHO,    /* ping request/reply pairs */
    K_ICMP_UNREACH, /* UDP probe answered by port-unreachable */
    K_COUNT
} kind_t;

static const uint32_t kind_weight[K_COUNT] = { 380, 60, 70, 30, 250, 20, 50, 30, 80, 30 };

typedef struct {
    pg_flow_t f;
    pg_step_t *steps;
    uint32_t n, cap, next;
    uint64_t serial; /* arrival order: breaks timestamp ties deterministically */
} mconn_t;

typedef struct {
    pg_rng_t rng;
    const pg_mix_opts_t *o;
    uint64_t committed; /* steps of every script created so far */
    uint64_t spawned;
    uint64_t seen; /* connections whose first packet was written */
    uint64_t small_steps, small_count; /* script sizes of every kind but K_TCP_FULL */
    pg_addr_t servers4[2048];
    pg_addr_t servers6[512];
    uint8_t gw_mac[6];
    /* min-heap of running connections */
    mconn_t **heap;
    size_t heap_n, heap_cap;
} mix_t;

/* ---- heap ---- */

static bool
before(const mconn_t *a, const mconn_t *b)
{
    uint64_t ta = a->steps[a->next].t, tb = b->steps[b->next].t;
    return ta < tb || (ta == tb && a->serial < b->serial);
}

static void
heap_push(mix_t *m, mconn_t *c)
{
    if (m->heap_n == m->heap_cap) {
        m->heap_cap = m->heap_cap ? m->heap_cap * 2 : 1024;
        m->heap = g_renew(mconn_t *, m->heap, m->heap_cap);
    }
    size_t i = m->heap_n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(c, m->heap[parent]))
            break;
        m->heap[i] = m->heap[parent];
        i = parent;
    }
    m->heap[i] = c;
}

/* Restore the heap after the root's key grew (or the root was replaced). */
static void
heap_sift_root(mix_t *m)
{
    size_t i = 0;
    mconn_t *c = m->heap[0];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        const mconn_t *bc = c;
        if (l < m->heap_n && before(m->heap[l], bc)) {
            best = l;
            bc = m->heap[l];
        }
        if (r < m->heap_n && before(m->heap[r], bc))
            best = r;
        if (best == i)
            break;
        m->heap[i] = m->heap[best];
        i = best;
    }
    m->heap[i] = c;
}

static void
heap_pop(mix_t *m)
{
    m->heap[0] = m->heap[--m->heap_n];
    if (m->heap_n)
        heap_sift_root(m);
}

/* ---- scripts ---- */

static void
add(mconn_t *c, pg_step_t s)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->steps = g_renew(pg_step_t, c->steps, c->cap);
    }
    /* Steps are built in capture order; clamp so that rounding in the timing
     * model can never reorder a connection's own packets. */
    if (c->n && s.t < c->steps[c->n - 1].t)
        s.t = c->steps[c->n - 1].t;
    c->steps[c->n++] = s;
}

static pg_step_t
udp_step(uint64_t t, int dir, pg_step_kind_t kind, uint16_t len)
{
    pg_step_t s = { .t = t, .dir = (uint8_t)dir, .kind = (uint8_t)kind, .len = len };
    return s;
}

/* A heavy-tailed draw with mean @p mean: uniform on [0, 2b] times 2^k with
 * P(k) = 3/4 * (1/4)^k, whose mean is 3/2; so b = 2/3 mean.  Integers only. */
static uint32_t
heavy(pg_rng_t *r, uint32_t mean)
{
    uint32_t b = mean * 2 / 3;
    uint32_t u = pg_rng_range(r, 0, 2 * b);
    int k = 0;
    while (k < 10 && pg_rng_next(r) % 4 == 0)
        k++;
    uint64_t v = (uint64_t)u << k;
    return v > 20000 ? 20000 : (uint32_t)v;
}

/* ---- hosts ---- */

static const uint8_t public_octets[] = { 13,  23,  31,  34,  35,  45,  52,  54,  63,  64,  69,
                                         74,  93,  104, 107, 140, 142, 151, 157, 162, 185, 199,
                                         208, 209, 216 };

static void
hosts_init(mix_t *m)
{
    for (size_t i = 0; i < G_N_ELEMENTS(m->servers4); i++) {
        uint64_t r = pg_rng_next(&m->rng);
        m->servers4[i] = pg_ip4(public_octets[r % sizeof(public_octets)], (uint8_t)(r >> 8),
                                (uint8_t)(r >> 16), (uint8_t)(1 + (r >> 24) % 254));
    }
    for (size_t i = 0; i < G_N_ELEMENTS(m->servers6); i++) {
        uint64_t r = pg_rng_next(&m->rng);
        if (r & 1)
            m->servers6[i] = pg_ip6(0x2a00, 0x1450, (uint16_t)(0x4000 + (r >> 8) % 64),
                                    (uint16_t)(0x800 + (r >> 16) % 256), 0, 0, 0,
                                    (uint16_t)(0x2000 + (r >> 24) % 0x1000));
        else
            m->servers6[i] = pg_ip6(0x2606, 0x4700, (uint16_t)((r >> 8) % 16), 0, 0, 0,
                                    (uint16_t)(r >> 16), (uint16_t)(r >> 32));
    }
    const uint8_t gw[6] = { 0x00, 0x1b, 0x21, 0x3a, 0x00, 0x01 };
    memcpy(m->gw_mac, gw, 6);
}

/* Tag @p f as hosts on 10.<subnet>/16 are: see flow_init(). */
static void
apply_vlan(pg_flow_t *f, uint8_t subnet)
{
    f->vlan[0] = f->vlan[1] = 0;
    f->vlan_tpid = 0;
    if (subnet == 16) {
        f->vlan[0] = 1000;
        f->vlan[1] = 116;
        f->vlan_tpid = PG_ETH_QINQ;
    } else if (subnet % 4 == 0) {
        f->vlan[0] = (uint16_t)(100 + subnet);
    }
}

/*
 * Fill the endpoint part of @p f: a client on 10.<subnet>.x.y (or
 * 2001:db8:<subnet>::/64) towards @p server.  Subnets 4, 8 and 12 are tagged
 * with VLAN 100+subnet, subnet 16 sits behind QinQ; a host therefore keeps
 * the same tagging in both directions and over all its flows.
 */
static void
flow_init(mix_t *m, pg_flow_t *f, bool v6, const pg_addr_t *server, bool server_local)
{
    pg_rng_t *r = &m->rng;
    memset(f, 0, sizeof(*f));
    uint8_t subnet = (uint8_t)pg_rng_range(r, 1, 16);
    if (v6)
        f->addr[0] = pg_ip6(0x2001, 0x0db8, subnet, 0, (uint16_t)pg_rng_next(r),
                            (uint16_t)pg_rng_next(r), (uint16_t)pg_rng_next(r),
                            (uint16_t)pg_rng_range(r, 1, 0xfffe));
    else
        f->addr[0] = pg_ip4(10, subnet, (uint8_t)pg_rng_next(r), (uint8_t)pg_rng_range(r, 1, 254));
    f->addr[1] = *server;
    pg_mac_for(&f->addr[0], f->mac[0]);
    if (server_local)
        pg_mac_for(&f->addr[1], f->mac[1]);
    else
        memcpy(f->mac[1], m->gw_mac, 6);
    apply_vlan(f, subnet);
    f->port[0] = (uint16_t)pg_rng_range(r, 32768, 60999);
    f->ttl[0] = 64;
    static const uint8_t init_ttl[] = { 64, 128, 255 };
    f->ttl[1] = (uint8_t)(init_ttl[pg_rng_next(r) % 3] - (server_local ? 1 : pg_rng_range(r, 6, 24)));
    f->ipid[0] = (uint16_t)pg_rng_next(r);
    f->ipid[1] = (uint16_t)pg_rng_next(r);
    f->wscale = (uint8_t)pg_rng_range(r, 6, 9);
    f->dns_id = (uint16_t)pg_rng_next(r);
    f->name_idx = pg_rng_range(r, 0, 6399);
}

static const pg_addr_t *
pick_server(mix_t *m, bool v6)
{
    if (v6)
        return &m->servers6[pg_rng_next(&m->rng) % G_N_ELEMENTS(m->servers6)];
    return &m->servers4[pg_rng_next(&m->rng) % G_N_ELEMENTS(m->servers4)];
}

static uint16_t
pick_tcp_port(pg_rng_t *r)
{
    uint32_t x = pg_rng_range(r, 0, 999);
    if (x < 550) return 443;
    if (x < 750) return 80;
    if (x < 790) return 22;
    if (x < 820) return 8080;
    if (x < 840) return 25;
    if (x < 860) return 993;
    if (x < 880) return 3306;
    if (x < 890) return 5222;
    return (uint16_t)pg_rng_range(r, 1024, 49151);
}

/* Round-trip time: LAN-like for local servers, 8-150 ms otherwise. */
static uint32_t
pick_rtt(pg_rng_t *r, bool local)
{
    return local ? pg_rng_range(r, 150, 2000) : pg_rng_range(r, 8000, 150000);
}

/* ---- per-kind scripts ---- */

static void
tcp_handshake(mix_t *m, mconn_t *c, pg_tcpseq_t *ts, uint64_t *t, uint32_t rtt)
{
    add(c, pg_tcp_next(ts, *t, 0, PG_SYN, 0));
    *t += rtt;
    add(c, pg_tcp_next(ts, *t, 1, PG_SYN | PG_ACK, 0));
    *t += pg_rng_range(&m->rng, 30, 300);
    add(c, pg_tcp_next(ts, *t, 0, PG_ACK, 0));
}

/* @p n segments from @p sender, all full-sized but the last; the receiver
 * acks every second one and the last (delayed ACK, RFC 1122 4.2.3.2). */
static void
tcp_burst(mix_t *m, mconn_t *c, pg_tcpseq_t *ts, uint64_t *t, int sender, uint32_t n,
          uint32_t gap)
{
    pg_rng_t *r = &m->rng;
    for (uint32_t i = 0; i < n; i++) {
        uint16_t len = i + 1 < n ? 1460 : (uint16_t)pg_rng_range(r, 1, 1460);
        *t += gap;
        add(c, pg_tcp_next(ts, *t, sender, PG_ACK | PG_PSH, len));
        if (i % 2 == 1 || i + 1 == n)
            add(c, pg_tcp_next(ts, *t + pg_rng_range(r, 10, 200), !sender, PG_ACK, 0));
    }
}

static void
script_tcp_full(mix_t *m, mconn_t *c, uint64_t t, uint32_t target)
{
    pg_rng_t *r = &m->rng;
    bool v6 = pg_rng_chance(r, 120);
    bool local = pg_rng_chance(r, 150);
    pg_addr_t srv = *pick_server(m, v6);
    if (local)
        srv = v6 ? pg_ip6(0x2001, 0x0db8, 0, 0, 0, 0, 0, (uint16_t)pg_rng_range(r, 0x10, 0x40))
                 : pg_ip4(10, 0, 0, (uint8_t)pg_rng_range(r, 10, 60));
    flow_init(m, &c->f, v6, &srv, local);
    c->f.port[1] = pick_tcp_port(r);

    uint32_t rtt = pick_rtt(r, local);
    pg_tcpseq_t ts = { .nxt = { (uint32_t)pg_rng_next(r), (uint32_t)pg_rng_next(r) },
                       .win = { (uint16_t)pg_rng_range(r, 29200, 65535),
                                (uint16_t)pg_rng_range(r, 29200, 65535) } };
    tcp_handshake(m, c, &ts, &t, rtt);

    uint32_t budget = target > 9 ? target - 6 : 3;
    /* Interactive sessions are kept short: their packets are seconds apart,
     * and a long one would stretch the trace far past the last arrival. */
    uint32_t style = pg_rng_range(r, 0, target <= 60 ? 99 : 84);
    uint32_t seg_gap = pg_rng_range(r, 40, 600); /* bottleneck spacing of MSS segments */
    if (style < 70) {
        /* request/response (web-like), possibly several on one connection */
        uint32_t rounds = budget > 60 ? pg_rng_range(r, 1, 4) : 1;
        for (uint32_t k = 0; k < rounds; k++) {
            uint32_t share = budget / rounds;
            uint32_t reqs = share > 20 && pg_rng_chance(r, 300) ? 2 : 1;
            t += pg_rng_range(r, 100, k ? 2000000 : 3000);
            for (uint32_t i = 0; i < reqs; i++) {
                t += pg_rng_range(r, 10, 200);
                add(c, pg_tcp_next(&ts, t, 0, PG_ACK | PG_PSH,
                                   (uint16_t)pg_rng_range(r, 40, i + 1 < reqs ? 1460 : 900)));
            }
            t += rtt;
            if (pg_rng_chance(r, 300)) {
                add(c, pg_tcp_next(&ts, t, 1, PG_ACK, 0));
                t += pg_rng_range(r, 100, 20000); /* server think time */
            }
            uint32_t segs = share > reqs + 1 ? (share - reqs - 1) * 2 / 3 : 1;
            if (segs == 0)
                segs = 1;
            uint64_t burst_start_seq = ts.nxt[1];
            tcp_burst(m, c, &ts, &t, 1, segs, seg_gap);
            if (pg_rng_chance(r, 60)) {
                /* a spurious retransmission of one segment after an RTO */
                uint32_t k_seg = pg_rng_range(r, 0, segs - 1);
                uint32_t seq = (uint32_t)(burst_start_seq + (uint64_t)k_seg * 1460);
                uint32_t end = ts.nxt[1];
                uint16_t len = (uint16_t)((end - seq) < 1460 ? end - seq : 1460);
                t += pg_rng_range(r, 200000, 400000);
                pg_step_t s = { .t = t, .seq = seq, .ack = ts.nxt[0], .len = len, .win = ts.win[1],
                                .dir = 1, .kind = PG_STEP_TCP, .flags = PG_ACK | PG_PSH };
                add(c, s);
                add(c, pg_tcp_next(&ts, t + rtt / 2, 0, PG_ACK, 0));
            }
        }
    } else if (style < 85) {
        /* upload: the client pushes, the server acknowledges */
        t += pg_rng_range(r, 100, 5000);
        uint32_t segs = budget * 2 / 3;
        tcp_burst(m, c, &ts, &t, 0, segs ? segs : 1, seg_gap);
        t += rtt;
        add(c, pg_tcp_next(&ts, t, 1, PG_ACK | PG_PSH, (uint16_t)pg_rng_range(r, 20, 400)));
    } else {
        /* interactive: small keystrokes and echoes, seconds apart */
        uint32_t rounds = budget / 3 ? budget / 3 : 1;
        for (uint32_t i = 0; i < rounds; i++) {
            t += pg_rng_range(r, 20000, 1500000);
            add(c, pg_tcp_next(&ts, t, 0, PG_ACK | PG_PSH, (uint16_t)pg_rng_range(r, 1, 120)));
            t += rtt;
            add(c, pg_tcp_next(&ts, t, 1, PG_ACK | PG_PSH, (uint16_t)pg_rng_range(r, 1, 400)));
            t += pg_rng_range(r, 30, 40000);
            add(c, pg_tcp_next(&ts, t, 0, PG_ACK, 0));
        }
    }

    uint32_t end = pg_rng_range(r, 0, 99);
    t += pg_rng_range(r, 100, 200000);
    if (end < 60) {
        add(c, pg_tcp_next(&ts, t, 0, PG_FIN | PG_ACK, 0));
        t += rtt;
        add(c, pg_tcp_next(&ts, t, 1, PG_FIN | PG_ACK, 0));
        add(c, pg_tcp_next(&ts, t + pg_rng_range(r, 20, 200), 0, PG_ACK, 0));
    } else if (end < 85) {
        add(c, pg_tcp_next(&ts, t + rtt, 1, PG_FIN | PG_ACK, 0));
        t += rtt + pg_rng_range(r, 50, 5000);
        add(c, pg_tcp_next(&ts, t, 0, PG_FIN | PG_ACK, 0));
        add(c, pg_tcp_next(&ts, t + rtt, 1, PG_ACK, 0));
    } else if (end < 95) {
        /* the client aborts, as browsers do with idle connections */
        add(c, pg_tcp_next(&ts, t, 0, PG_RST | PG_ACK, 0));
    }
    /* else: still open when the trace ends, left to the inactivity timeout */
}

static void
script_tcp_rej(mix_t *m, mconn_t *c, uint64_t t)
{
    pg_rng_t *r = &m->rng;
    bool v6 = pg_rng_chance(r, 120);
    flow_init(m, &c->f, v6, pick_server(m, v6), false);
    c->f.port[1] = pick_tcp_port(r);
    pg_tcpseq_t ts = { .nxt = { (uint32_t)pg_rng_next(r), 0 }, .win = { 64240, 0 } };
    add(c, pg_tcp_next(&ts, t, 0, PG_SYN, 0));
    /* RFC 793 reset for a SYN: seq 0, ack = SYN + 1 */
    pg_step_t rst = { .t = t + pick_rtt(r, false), .seq = 0, .ack = ts.nxt[0], .dir = 1,
                      .kind = PG_STEP_TCP, .flags = PG_RST | PG_ACK };
    add(c, rst);
}

static void
script_tcp_scan(mix_t *m, mconn_t *c, uint64_t t)
{
    pg_rng_t *r = &m->rng;
    /* four scanners on the Internet probing internal hosts */
    pg_addr_t target = pg_ip4(10, (uint8_t)pg_rng_range(r, 1, 16), (uint8_t)pg_rng_next(r),
                              (uint8_t)pg_rng_range(r, 1, 254));
    flow_init(m, &c->f, false, &target, true);
    c->f.addr[0] = pg_ip4(45, 83, 64, (uint8_t)pg_rng_range(r, 1, 4));
    apply_vlan(&c->f, target.a[1]);
    pg_mac_for(&c->f.addr[1], c->f.mac[1]);
    memcpy(c->f.mac[0], m->gw_mac, 6);
    c->f.port[0] = (uint16_t)(40000 + c->f.addr[0].a[3] * 7);
    c->f.port[1] = (uint16_t)pg_rng_range(r, 1, 1024);
    c->f.ttl[0] = (uint8_t)pg_rng_range(r, 37, 58);
    pg_tcpseq_t ts = { .nxt = { (uint32_t)pg_rng_next(r), (uint32_t)pg_rng_next(r) },
                       .win = { 1024, 64240 } };
    add(c, pg_tcp_next(&ts, t, 0, PG_SYN, 0));
    uint32_t outcome = pg_rng_range(r, 0, 99);
    t += pick_rtt(r, false);
    if (outcome < 70) {
        pg_step_t rst = { .t = t, .seq = 0, .ack = ts.nxt[0], .dir = 1, .kind = PG_STEP_TCP,
                          .flags = PG_RST | PG_ACK };
        add(c, rst);
    } else if (outcome < 85) {
        add(c, pg_tcp_next(&ts, t, 1, PG_SYN | PG_ACK, 0));
        /* the scanner's kernel never made the SYN: it resets (nmap -sS) */
        add(c, pg_tcp_next(&ts, t + pg_rng_range(r, 20, 500), 0, PG_RST, 0));
    }
    /* else filtered: the probe goes unanswered */
}

static void
script_tcp_halfopen(mix_t *m, mconn_t *c, uint64_t t)
{
    pg_rng_t *r = &m->rng;
    bool v6 = pg_rng_chance(r, 120);
    flow_init(m, &c->f, v6, pick_server(m, v6), false);
    c->f.port[1] = pick_tcp_port(r);
    pg_tcpseq_t ts = { .nxt = { (uint32_t)pg_rng_next(r), (uint32_t)pg_rng_next(r) },
                       .win = { 64240, 65160 } };
    add(c, pg_tcp_next(&ts, t, 0, PG_SYN, 0));
    t += pick_rtt(r, false);
    pg_step_t sa = pg_tcp_next(&ts, t, 1, PG_SYN | PG_ACK, 0);
    add(c, sa);
    /* the server retransmits its SYN/ACK after 1 s and 3 s (RFC 6298 backoff) */
    uint32_t again = pg_rng_range(r, 0, 2);
    for (uint32_t i = 0; i < again; i++) {
        sa.t = t + (i ? 3000000 : 1000000);
        add(c, sa);
    }
}

static void
script_dns(mix_t *m, mconn_t *c, uint64_t t)
{
    pg_rng_t *r = &m->rng;
    bool v6 = pg_rng_chance(r, 120);
    bool local = pg_rng_chance(r, 700);
    pg_addr_t res = v6 ? (local ? pg_ip6(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0x53)
                                : pg_ip6(0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888))
                       : (local ? pg_ip4(10, 0, 0, 53) : pg_ip4(8, 8, 8, 8));
    flow_init(m, &c->f, v6, &res, local);
    c->f.port[1] = 53;
    uint32_t rtt = pick_rtt(r, local);
    add(c, udp_step(t, 0, PG_STEP_DNS_Q, 0));
    uint32_t x = pg_rng_range(r, 0, 99);
    if (x < 8) {
        /* the resolver is slow: the stub retries after a second */
        t += 1000000;
        add(c, udp_step(t, 0, PG_STEP_DNS_Q, 0));
    }
    if (x < 4)
        return; /* never answered */
    pg_step_t resp = udp_step(t + rtt, 1, PG_STEP_DNS_R, 0);
    resp.code = pg_rng_chance(r, 100) ? 3 : 0;
    add(c, resp);
}

static void
script_ntp(mix_t *m, mconn_t *c, uint64_t t)
{
    pg_rng_t *r = &m->rng;
    flow_init(m, &c->f, false, pick_server(m, false), false);
    c->f.port[1] = 123;
    if (pg_rng_chance(r, 400))
        c->f.port[0] = 123;
    add(c, udp_step(t, 0, PG_STEP_UDP, 48));
    add(c, udp_step(t + pick_rtt(r, false), 1, PG_STEP_UDP, 48));
}

static void
script_udp_oneway(mix_t *m, mconn_t *c, uint64_t t)
{
    pg_rng_t *r = &m->rng;
    static const uint16_t ports[] = { 514, 2055, 162, 4739 };
    pg_addr_t coll = pg_ip4(10, 0, 2, (uint8_t)pg_rng_range(r, 1, 8));
    flow_init(m, &c->f, false, &coll, true);
    c->f.port[1] = ports[pg_rng_next(r) % G_N_ELEMENTS(ports)];
    uint32_t n = pg_rng_range(r, 1, 6);
    for (uint32_t i = 0; i < n; i++) {
        add(c, udp_step(t, 0, PG_STEP_UDP, (uint16_t)pg_rng_range(r, 40, 1200)));
        t += pg_rng_range(r, 100000, 5000000);
    }
}

static void
script_udp_stream(mix_t *m, mconn_t *c, uint64_t t, uint32_t target)
{
    pg_rng_t *r = &m->rng;
    bool v6 = pg_rng_chance(r, 120);
    flow_init(m, &c->f, v6, pick_server(m, v6), false);
    bool quic = pg_rng_chance(r, 600);
    c->f.port[1] = quic ? 443 : (uint16_t)pg_rng_range(r, 16384, 32767);
    uint32_t n = target < 10 ? 10 : target > 400 ? 400 : target;
    for (uint32_t i = 0; i < n; i++) {
        int dir = quic ? (pg_rng_chance(r, 700) ? 1 : 0) : (int)(i & 1);
        add(c, udp_step(t, dir, PG_STEP_UDP,
                        (uint16_t)(quic && dir ? pg_rng_range(r, 1000, 1350)
                                               : pg_rng_range(r, 60, 400))));
        t += quic ? pg_rng_range(r, 100, 5000) : 20000;
    }
}

static void
script_icmp_echo(mix_t *m, mconn_t *c, uint64_t t)
{
    pg_rng_t *r = &m->rng;
    bool v6 = pg_rng_chance(r, 150);
    flow_init(m, &c->f, v6, pick_server(m, v6), false);
    c->f.port[0] = (uint16_t)pg_rng_next(r); /* echo identifier */
    uint32_t n = pg_rng_range(r, 1, 4);
    bool answered = !pg_rng_chance(r, 100);
    uint32_t rtt = pick_rtt(r, false);
    for (uint32_t i = 1; i <= n; i++) {
        pg_step_t q = { .t = t, .seq = i, .len = 56, .dir = 0, .kind = PG_STEP_ICMP_ECHO,
                        .flags = v6 ? 128 : 8 };
        add(c, q);
        if (answered) {
            q.t = t + rtt;
            q.dir = 1;
            q.flags = v6 ? 129 : 0;
            add(c, q);
        }
        t += 1000000;
    }
}

static void
script_icmp_unreach(mix_t *m, mconn_t *c, uint64_t t)
{
    pg_rng_t *r = &m->rng;
    bool v6 = pg_rng_chance(r, 150);
    flow_init(m, &c->f, v6, pick_server(m, v6), false);
    c->f.port[1] = (uint16_t)pg_rng_range(r, 33434, 33534); /* traceroute-style probe */
    add(c, udp_step(t, 0, PG_STEP_UDP, 32));
    /* port unreachable: ICMP type 3 code 3, ICMPv6 type 1 code 4 */
    pg_step_t e = { .t = t + pick_rtt(r, false), .dir = 1, .kind = PG_STEP_ICMP_ERR,
                    .flags = v6 ? 1 : 3, .code = v6 ? 4 : 3 };
    add(c, e);
}

static kind_t
pick_kind(pg_rng_t *r)
{
    uint32_t x = pg_rng_range(r, 0, 999);
    for (int k = 0; k < K_COUNT; k++) {
        if (x < kind_weight[k])
            return (kind_t)k;
        x -= kind_weight[k];
    }
    return K_TCP_FULL;
}

/*
 * Size of the next long conversation: what is left of the packet budget,
 * spread over the connections still to come, after the short kinds took
 * their (measured) share; then a heavy-tailed draw around that.
 */
static uint32_t
long_target(mix_t *m)
{
    uint64_t left = m->o->packets > m->committed ? m->o->packets - m->committed : 0;
    uint64_t conns_left = m->o->conns > m->spawned ? m->o->conns - m->spawned : 1;
    uint64_t small_mean_x1000 = m->small_count ? m->small_steps * 1000 / m->small_count : 2500;
    uint64_t p_long = kind_weight[K_TCP_FULL] + kind_weight[K_UDP_STREAM];
    uint64_t want_x1000 = left * 1000 / conns_left; /* per connection, x1000 */
    uint64_t small_part = small_mean_x1000 * (1000 - p_long) / 1000;
    uint64_t mean = want_x1000 > small_part ? (want_x1000 - small_part) / p_long : 0;
    if (mean < 10)
        mean = 10;
    if (mean > 5000)
        mean = 5000;
    uint32_t v = heavy(&m->rng, (uint32_t)mean);
    return v < 9 ? 9 : v;
}

static mconn_t *
spawn(mix_t *m, uint64_t t)
{
    mconn_t *c = g_new0(mconn_t, 1);
    c->serial = m->spawned++;
    kind_t k = pick_kind(&m->rng);
    switch (k) {
    case K_TCP_FULL: script_tcp_full(m, c, t, long_target(m)); break;
    case K_TCP_REJ: script_tcp_rej(m, c, t); break;
    case K_TCP_SCAN: script_tcp_scan(m, c, t); break;
    case K_TCP_HALFOPEN: script_tcp_halfopen(m, c, t); break;
    case K_DNS: script_dns(m, c, t); break;
    case K_NTP: script_ntp(m, c, t); break;
    case K_UDP_ONEWAY: script_udp_oneway(m, c, t); break;
    case K_UDP_STREAM: script_udp_stream(m, c, t, long_target(m)); break;
    case K_ICMP_ECHO: script_icmp_echo(m, c, t); break;
    case K_ICMP_UNREACH: script_icmp_unreach(m, c, t); break;
    case K_COUNT: g_assert_not_reached();
    }
    g_assert(c->n > 0);
    m->committed += c->n;
    if (k != K_TCP_FULL && k != K_UDP_STREAM) {
        m->small_steps += c->n;
        m->small_count++;
    }
    return c;
}

static void
mconn_free(mconn_t *c)
{
    g_free(c->steps);
    g_free(c);
}

gboolean
pg_mix_generate(const pg_mix_opts_t *o, pg_writer_t *w, uint64_t *conns_out, GError **err)
{
    if (o->packets == 0 || o->conns == 0) {
        g_set_error(err, PG_ERROR, PG_ERROR_ARGS, "--packets and --conns must be positive");
        return FALSE;
    }
    mix_t *m = g_new0(mix_t, 1);
    m->o = o;
    pg_rng_seed(&m->rng, o->seed);
    hosts_init(m);

    /* Arrivals: default 1000 new connections per second of trace time. */
    uint64_t span = o->span_us ? o->span_us : o->conns * 1000;
    uint64_t mean_gap = span / o->conns ? span / o->conns : 1;
    uint64_t next_arrival = PG_EPOCH_US;
    pg_pkt_t *pkt = g_new(pg_pkt_t, 1);

    while (w->packets < o->packets) {
        bool may_spawn = m->spawned < o->conns || m->committed < o->packets;
        if (may_spawn && (m->heap_n == 0 ||
                          next_arrival <= m->heap[0]->steps[m->heap[0]->next].t)) {
            heap_push(m, spawn(m, next_arrival));
            next_arrival += pg_rng_range(&m->rng, 0, (uint32_t)(2 * mean_gap));
            continue;
        }
        if (m->heap_n == 0)
            break;
        mconn_t *c = m->heap[0];
        if (c->next == 0)
            m->seen++;
        const pg_step_t *s = &c->steps[c->next++];
        pg_render(&c->f, s, pkt);
        pg_writer_put(w, s->t, pg_pkt_data(pkt), pg_pkt_len(pkt), pg_pkt_len(pkt));
        if (c->next == c->n) {
            heap_pop(m);
            mconn_free(c);
        } else {
            heap_sift_root(m);
        }
    }

    if (conns_out)
        *conns_out = m->seen;
    for (size_t i = 0; i < m->heap_n; i++)
        mconn_free(m->heap[i]);
    g_free(m->heap);
    g_free(pkt);
    g_free(m);
    return TRUE;
}
