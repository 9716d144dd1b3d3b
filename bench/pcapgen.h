/**
 * @file pcapgen.h
 * Shared pieces of pcapgen, the deterministic traffic generator: a packet
 * buffer that grows towards the front (headers are pushed innermost first, so
 * each checksum sees the bytes it covers), the "flow + step" model that turns
 * one line of a conversation script into a frame, and a minimal pcap writer.
 *
 * Everything here uses integer arithmetic only (time in microseconds, chances
 * in per-mille), so a given seed gives the same bytes on every platform.
 */
#ifndef CONNLOGD_BENCH_PCAPGEN_H
#define CONNLOGD_BENCH_PCAPGEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <glib.h>

/* TCP flag bits, as on the wire. */
#define PG_FIN 0x01
#define PG_SYN 0x02
#define PG_RST 0x04
#define PG_PSH 0x08
#define PG_ACK 0x10

#define PG_PROTO_ICMP 1
#define PG_PROTO_IPIP 4
#define PG_PROTO_TCP 6
#define PG_PROTO_UDP 17
#define PG_PROTO_IPV6 41
#define PG_PROTO_GRE 47
#define PG_PROTO_ICMPV6 58

#define PG_ETH_IPV4 0x0800
#define PG_ETH_IPV6 0x86dd
#define PG_ETH_VLAN 0x8100
#define PG_ETH_QINQ 0x88a8

/* Room for every header we may prepend (tunnel + VLAN + Ethernet + IP + L4). */
#define PG_HEADROOM 256
/* Largest payload plus its own headers: a reassembly-sized UDP datagram. */
#define PG_MAXDATA 9216

/** Time base of every generated trace: 2023-11-14 22:13:20 UTC, in microseconds. */
#define PG_EPOCH_US UINT64_C(1700000000000000)

typedef enum {
    PG_ERROR_IO,      /* could not write the output file */
    PG_ERROR_ARGS,    /* impossible parameters */
    PG_ERROR_UNKNOWN, /* unknown sample name */
} pg_error_code_t;

#define PG_ERROR pg_error_quark()
GQuark pg_error_quark(void);

/* ---- deterministic random numbers (splitmix64) ---- */

typedef struct {
    uint64_t s;
} pg_rng_t;

/** Seed @p r; equal seeds give equal sequences on every platform. */
void pg_rng_seed(pg_rng_t *r, uint64_t seed);
/** Next 64 random bits. */
uint64_t pg_rng_next(pg_rng_t *r);
/** Uniform integer in [lo, hi] (hi >= lo). */
uint32_t pg_rng_range(pg_rng_t *r, uint32_t lo, uint32_t hi);
/** True with probability @p per_mille / 1000. */
bool pg_rng_chance(pg_rng_t *r, uint32_t per_mille);

/* ---- packet buffer ---- */

typedef struct {
    uint8_t buf[PG_HEADROOM + PG_MAXDATA];
    uint32_t head; /* first byte of the packet */
    uint32_t tail; /* one past the last byte */
    uint32_t l3;   /* offset (from head) of the outermost IP header once linked */
} pg_pkt_t;

/** Empty @p p, leaving all headroom free. */
void pg_pkt_reset(pg_pkt_t *p);
/** Reserve @p n bytes at the end; returns where to write them (aborts on overflow). */
uint8_t *pg_pkt_append(pg_pkt_t *p, uint32_t n);
/** Reserve @p n bytes at the front; returns where to write them (aborts on overflow). */
uint8_t *pg_pkt_prepend(pg_pkt_t *p, uint32_t n);

static inline uint8_t *
pg_pkt_data(pg_pkt_t *p)
{
    return p->buf + p->head;
}

static inline uint32_t
pg_pkt_len(const pg_pkt_t *p)
{
    return p->tail - p->head;
}

/* ---- addresses and header builders ---- */

typedef struct {
    uint8_t v;     /* 4 or 6 */
    uint8_t a[16]; /* IPv4 uses a[0..3] */
} pg_addr_t;

/** IPv4 address a.b.c.d. */
pg_addr_t pg_ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
/** IPv6 address from eight host-order 16-bit groups. */
pg_addr_t pg_ip6(uint16_t g0, uint16_t g1, uint16_t g2, uint16_t g3, uint16_t g4, uint16_t g5,
                 uint16_t g6, uint16_t g7);
/** A locally administered MAC derived from @p a (stable per address). */
void pg_mac_for(const pg_addr_t *a, uint8_t mac[6]);

/** Fill @p len payload bytes from a fixed printable pattern, starting at @p salt. */
void pg_fill_payload(uint8_t *dst, uint32_t len, uint32_t salt);

/** Prepend a TCP header with @p optlen option bytes (multiple of 4) over the
 *  current contents and set its checksum against @p src/@p dst. */
void pg_push_tcp(pg_pkt_t *p, const pg_addr_t *src, const pg_addr_t *dst, uint16_t sport,
                 uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
                 const uint8_t *opts, uint32_t optlen);
/** Prepend a UDP header; @p zero_cksum leaves the checksum 0 (IPv4 "none",
 *  VXLAN practice), otherwise it is computed. */
void pg_push_udp(pg_pkt_t *p, const pg_addr_t *src, const pg_addr_t *dst, uint16_t sport,
                 uint16_t dport, bool zero_cksum);
/** Prepend an ICMP (IPv4) or ICMPv6 (IPv6, pseudo-header checksum) header;
 *  @p rest is the second 32-bit word (id << 16 | seq for echo, 0 for errors). */
void pg_push_icmp(pg_pkt_t *p, const pg_addr_t *src, const pg_addr_t *dst, uint8_t type,
                  uint8_t code, uint32_t rest);
/** Prepend an IPv4 or IPv6 header over the current contents.  @p frag is the
 *  IPv4 flags/offset word (0x4000 = DF); IPv6 ignores it. */
void pg_push_ip(pg_pkt_t *p, const pg_addr_t *src, const pg_addr_t *dst, uint8_t proto, uint8_t ttl,
                uint16_t ipid, uint16_t frag);
/** Prepend Ethernet, with up to two VLAN tags (@p vlan[i] == 0 means absent;
 *  the outer tag uses @p outer_tpid when two tags are present). */
void pg_push_eth(pg_pkt_t *p, const uint8_t dst[6], const uint8_t src[6], uint16_t ethertype,
                 const uint16_t vlan[2], uint16_t outer_tpid);
/** Recompute the TCP/UDP/ICMP checksum of the packet whose L4 header starts at
 *  @p l4 (length @p l4len) for addresses @p src/@p dst. */
void pg_fix_l4_cksum(uint8_t *l4, uint32_t l4len, uint8_t proto, const pg_addr_t *src,
                     const pg_addr_t *dst);
/** Internet checksum of @p len bytes (folded, complemented). */
uint16_t pg_cksum(const uint8_t *data, uint32_t len, uint32_t initial);

/* ---- flows and steps ---- */

/** One conversation between two endpoints; index 0 is the originator. */
typedef struct {
    pg_addr_t addr[2];
    uint8_t mac[2][6];
    uint16_t port[2];  /* TCP/UDP ports; port[0] doubles as the ICMP echo id */
    uint8_t ttl[2];
    uint16_t ipid[2];  /* next IPv4 identification per direction */
    uint16_t vlan[2];  /* outer, inner VLAN id; 0 = untagged */
    uint16_t vlan_tpid;
    uint8_t wscale;    /* window-scale option sent in SYN and SYN/ACK */
    uint16_t dns_id;
    uint32_t name_idx; /* picks the DNS name */
    /* The start of the last UDP datagram sent by the originator, quoted by a
     * later ICMP error (RFC 792: IP header + 64 bits; RFC 4443 for IPv6). */
    uint8_t quote[48];
    uint8_t quote_len;
} pg_flow_t;

typedef enum {
    PG_STEP_TCP,       /* flags/seq/ack/win/len */
    PG_STEP_UDP,       /* len bytes of payload */
    PG_STEP_DNS_Q,     /* a DNS query (len ignored) */
    PG_STEP_DNS_R,     /* a DNS response; code 3 = NXDOMAIN */
    PG_STEP_ICMP_ECHO, /* flags = ICMP type, seq = echo sequence, len = data bytes */
    PG_STEP_ICMP_ERR,  /* flags = type, code = code; quotes flow->quote */
} pg_step_kind_t;

/** One packet of a scripted conversation (24 bytes: scripts stay small). */
typedef struct {
    uint64_t t; /* microseconds since the epoch */
    uint32_t seq, ack;
    uint16_t len, win;
    uint8_t dir; /* 0: originator -> responder */
    uint8_t kind;
    uint8_t flags;
    uint8_t code;
} pg_step_t;

/** Sequence-number bookkeeping for one TCP conversation. */
typedef struct {
    uint32_t nxt[2]; /* next sequence number each side will send */
    uint16_t win[2];
} pg_tcpseq_t;

/**
 * The next TCP segment from side @p dir: seq is that side's next number, ack
 * (when @p flags has ACK) everything the peer sent so far.  SYN and FIN each
 * consume one sequence number, payload its length, a RST nothing (RFC 793).
 */
pg_step_t pg_tcp_next(pg_tcpseq_t *ts, uint64_t t, int dir, uint8_t flags, uint16_t len);

/** Build the IP packet (IP header and below) for step @p s of flow @p f into @p p. */
void pg_render_l3(pg_flow_t *f, const pg_step_t *s, pg_pkt_t *p);
/** Like pg_render_l3() plus the flow's VLAN tags and Ethernet header. */
void pg_render(pg_flow_t *f, const pg_step_t *s, pg_pkt_t *p);

/* ---- pcap output ---- */

typedef struct {
    FILE *fp;
    char *path;
    uint64_t packets;
    uint64_t bytes;
    uint64_t last_t;
} pg_writer_t;

/** Create @p path and write a pcap header (Ethernet, snaplen 65535, microsecond
 *  timestamps, little-endian).  "-" writes to stdout. */
gboolean pg_writer_open(pg_writer_t *w, const char *path, GError **err);
/** Append one record; @p caplen bytes of @p data were captured of @p wirelen. */
void pg_writer_put(pg_writer_t *w, uint64_t t_us, const uint8_t *data, uint32_t caplen,
                   uint32_t wirelen);
/** Flush and close; reports write errors that happened at any point. */
gboolean pg_writer_close(pg_writer_t *w, GError **err);

/* ---- modes ---- */

typedef struct {
    uint64_t packets; /* exact number of packets to write */
    uint64_t conns;   /* target number of connections */
    uint64_t seed;
    uint64_t span_us; /* over how long connections arrive; 0 = derive from conns */
} pg_mix_opts_t;

/** Write the benchmark mix described by @p o into @p w; @p conns_out (may be
 *  NULL) receives the number of connections that have at least one packet. */
gboolean pg_mix_generate(const pg_mix_opts_t *o, pg_writer_t *w, uint64_t *conns_out,
                         GError **err);

typedef struct {
    uint64_t packets;     /* flood packets (legitimate ones come on top) */
    uint64_t legit_every; /* a legitimate TCP session and DNS exchange every this many
                             flood packets; 0 = none, else at least 30 */
    uint64_t seed;
} pg_flood_opts_t;

typedef struct {
    uint64_t syn, udp;    /* SYN flood and UDP scan packets: one connection each */
    uint64_t legit_tcp;   /* complete TCP sessions from 192.168.77.0/24 */
    uint64_t legit_dns;   /* DNS query/answer pairs from 192.168.77.0/24 */
    uint64_t connections; /* connections the trace holds, all kinds */
} pg_flood_stats_t;

/** Write the hostile trace of @p o (see pcapgen_flood.c) into @p w; @p st
 *  receives what went into it. */
gboolean pg_flood_generate(const pg_flood_opts_t *o, pg_writer_t *w, pg_flood_stats_t *st,
                           GError **err);

/** Names of the hand-designed samples, NULL-terminated (static). */
const char *const *pg_sample_names(void);
/** Write sample @p name into @p w. */
gboolean pg_sample_generate(const char *name, pg_writer_t *w, GError **err);

#endif
