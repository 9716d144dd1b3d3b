/*
 * pcapgen_flood.c: hostile traffic for the bounded-memory tests.  A SYN flood
 * from random (spoofed, never repeated) sources and a UDP scan of every port
 * of one victim, one new connection per packet, packed 1 us apart so that no
 * timer expires anything: only the connection cap can keep the table small.
 * Legitimate TCP sessions and DNS exchanges from 192.168.77.0/24 are woven
 * into the flood; their conn.log rows must come out intact.
 */
#include "config.h"

#include <string.h>

#include "pcapgen.h"

/* Legitimate steps in flight: one TCP session and one DNS exchange at most. */
#define MAX_PENDING 16
/* Flood packets between two steps of a legitimate conversation. */
#define LEGIT_STRIDE 3

typedef struct {
    pg_flow_t *f;
    pg_step_t s;
    uint64_t due; /* flood packet index before which it goes out */
} pending_t;

typedef struct {
    pg_writer_t *w;
    pg_pkt_t pkt;
    uint64_t t;
    pg_flow_t legit_tcp, legit_dns;
    pending_t q[MAX_PENDING];
    unsigned nq;
} flood_t;

/* A bijection of 32-bit integers (a murmur3-style finalizer): distinct
 * counters give distinct, random-looking addresses. */
static uint32_t
mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

static void
flow_init(pg_flow_t *f, pg_addr_t o, uint16_t oport, pg_addr_t r, uint16_t rport)
{
    memset(f, 0, sizeof(*f));
    f->addr[0] = o;
    f->addr[1] = r;
    pg_mac_for(&o, f->mac[0]);
    pg_mac_for(&r, f->mac[1]);
    f->port[0] = oport;
    f->port[1] = rport;
    f->ttl[0] = 64;
    f->ttl[1] = 58;
    f->ipid[0] = (uint16_t)(oport * 7u);
    f->ipid[1] = (uint16_t)(rport * 13u + oport);
    f->wscale = 7;
    f->dns_id = (uint16_t)(oport ^ 0x5a5a);
    f->name_idx = oport % 6400u;
}

static void
emit(flood_t *fl, pg_flow_t *f, pg_step_t s)
{
    fl->t++;
    s.t = fl->t;
    pg_render(f, &s, &fl->pkt);
    pg_writer_put(fl->w, fl->t, pg_pkt_data(&fl->pkt), pg_pkt_len(&fl->pkt),
                  pg_pkt_len(&fl->pkt));
}

static void
enqueue(flood_t *fl, pg_flow_t *f, pg_step_t s, uint64_t due)
{
    g_assert(fl->nq < MAX_PENDING);
    fl->q[fl->nq++] = (pending_t){.f = f, .s = s, .due = due};
}

/* Send every legitimate step due before flood packet @p i, in order. */
static void
flush_due(flood_t *fl, uint64_t i)
{
    unsigned keep = 0;
    for (unsigned k = 0; k < fl->nq; k++) {
        if (fl->q[k].due <= i)
            emit(fl, fl->q[k].f, fl->q[k].s);
        else
            fl->q[keep++] = fl->q[k];
    }
    fl->nq = keep;
}

/* A complete TCP session (handshake, a request and an answer, FINs both
 * ways) and a DNS query and answer, their steps spread over the next flood
 * packets.  @p n numbers them: it picks the client and its ports. */
static void
start_legit(flood_t *fl, uint64_t i, uint32_t n)
{
    pg_addr_t cli = pg_ip4(192, 168, 77, (uint8_t)(1 + n % 250));
    flow_init(&fl->legit_tcp, cli, (uint16_t)(20000 + n % 40000), pg_ip4(192, 168, 78, 1), 443);
    flow_init(&fl->legit_dns, cli, (uint16_t)(20000 + (n + 20000) % 40000),
              pg_ip4(192, 168, 78, 53), 53);

    pg_tcpseq_t ts = {.nxt = {1000u + n, 5000000u + n}, .win = {64240, 65160}};
    static const struct {
        uint8_t dir, flags;
        uint16_t len;
    } script[] = {
        {0, PG_SYN, 0},          {1, PG_SYN | PG_ACK, 0}, {0, PG_ACK, 0},
        {0, PG_ACK | PG_PSH, 120}, {1, PG_ACK | PG_PSH, 900}, {0, PG_ACK | PG_FIN, 0},
        {1, PG_ACK | PG_FIN, 0}, {0, PG_ACK, 0},
    };
    uint64_t due = i;
    for (size_t k = 0; k < G_N_ELEMENTS(script); k++, due += LEGIT_STRIDE)
        enqueue(fl, &fl->legit_tcp, pg_tcp_next(&ts, 0, script[k].dir, script[k].flags,
                                                 script[k].len),
                due);
    enqueue(fl, &fl->legit_dns, (pg_step_t){.kind = PG_STEP_DNS_Q, .dir = 0}, i + 1);
    enqueue(fl, &fl->legit_dns, (pg_step_t){.kind = PG_STEP_DNS_R, .dir = 1}, i + 1 + LEGIT_STRIDE);
}

gboolean
pg_flood_generate(const pg_flood_opts_t *o, pg_writer_t *w, pg_flood_stats_t *st, GError **err)
{
    if (o->legit_every && o->legit_every < LEGIT_STRIDE * 10) {
        g_set_error(err, PG_ERROR, PG_ERROR_ARGS, "--legit-every must be 0 or at least %d",
                    LEGIT_STRIDE * 10);
        return FALSE;
    }
    flood_t *fl = g_new0(flood_t, 1);
    fl->w = w;
    fl->t = PG_EPOCH_US;
    memset(st, 0, sizeof(*st));
    pg_rng_t rng;
    pg_rng_seed(&rng, o->seed);
    uint32_t salt = (uint32_t)pg_rng_next(&rng);
    pg_addr_t victim = pg_ip4(10, 0, 0, 10);
    pg_flow_t f;

    for (uint64_t i = 0; i < o->packets; i++) {
        if (o->legit_every && i % o->legit_every == 0) {
            start_legit(fl, i, (uint32_t)st->legit_tcp);
            st->legit_tcp++;
            st->legit_dns++;
        }
        flush_due(fl, i);
        if (pg_rng_chance(&rng, 500)) {
            /* SYN from a source never used before (mix32 is a bijection). */
            uint32_t a = mix32((uint32_t)st->syn ^ salt);
            pg_addr_t src = pg_ip4((uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8),
                                   (uint8_t)a);
            flow_init(&f, src, (uint16_t)(1024 + pg_rng_range(&rng, 0, 64000)), victim, 80);
            pg_tcpseq_t ts = {.nxt = {(uint32_t)pg_rng_next(&rng), 0}, .win = {64240, 0}};
            emit(fl, &f, pg_tcp_next(&ts, 0, 0, PG_SYN, 0));
            st->syn++;
        } else {
            /* The scanner walks every port, then moves to the next address. */
            uint64_t k = st->udp;
            pg_addr_t scanner = pg_ip4(10, 66, (uint8_t)(k / 65535 >> 8), (uint8_t)(k / 65535));
            flow_init(&f, scanner, 40000, victim, (uint16_t)(1 + k % 65535));
            emit(fl, &f, (pg_step_t){.kind = PG_STEP_UDP, .dir = 0, .len = 0});
            st->udp++;
        }
    }
    flush_due(fl, UINT64_MAX);
    g_free(fl);
    st->connections = st->syn + st->udp + st->legit_tcp + st->legit_dns;
    return TRUE;
}
