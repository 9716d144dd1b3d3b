/**
 * @file internal.h
 * What the decoder's modules share: the decoder state and the entry point
 * of each stage (link layers, IP, transport, tunnels, checksums).  The
 * packet path runs link -> ip -> transport -> tunnel; decode.c drives it.
 * Not part of the public API.
 */
#ifndef CONNLOGD_DECODE_INTERNAL_H
#define CONNLOGD_DECODE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/netset.h"
#include "core/weird.h"
#include "decode/decode.h"
#include "decode/frag.h"
#include "decode/packet.h"

/* libpcap link types by number: the DLT_* macros differ between platforms
 * (DLT_RAW is 12 or 14, DLT_LOOP 108 or 12), the numbers in files do not. */
enum {
    LT_NULL = 0,
    LT_EN10MB = 1,
    LT_PPP = 9,
    LT_RAW_LINUX = 12,   /* DLT_RAW as Linux libpcap reports LINKTYPE_RAW */
    LT_RAW_BSD = 14,     /* DLT_RAW on OpenBSD */
    LT_PPP_SERIAL = 50,
    LT_RAW = 101,        /* LINKTYPE_RAW */
    LT_IEEE802_11 = 105,
    LT_LOOP = 108,
    LT_LINUX_SLL = 113,
    LT_IEEE802_11_RADIO = 127,
    LT_IPV4 = 228,
    LT_IPV6 = 229,
    LT_LINUX_SLL2 = 276,
};

/** Largest buffer a reassembled datagram needs: header copy plus 64 KiB. */
#define DECODE_REASM_BUF (FRAG_HDR_MAX + 65536)

struct decoder {
    weird_counters_t *w;          /* borrowed; may be NULL */
    const netset_t *ignore_nets;  /* borrowed; may be NULL */
    bool ignore_checksums;
    int max_depth;
    frag_table_t *frag;
    uint8_t *reasm[DECODE_TUNNEL_DEPTH_CAP + 1]; /* one output buffer per tunnel depth */
};

/** Bump weird @p k if the decoder counts weirds. */
static inline void
dw(decoder_t *d, weird_kind_t k)
{
    weird_bump(d->w, k);
}

/** Where the network layer starts, as the link stage found it. */
typedef struct {
    const uint8_t *p;  /* first byte of the IP header */
    uint32_t caplen;   /* captured bytes from p */
    uint32_t wirelen;  /* bytes from p on the wire (Zeek's packet->len - hdr_size) */
} l3_t;

/* link.c */

/** Walk the link headers of a frame of type @p dlt (an LT_* number, or one
 *  of the INNER_DLT_* values for tunnel payloads) to the IP header. */
decode_result_t link_decode(decoder_t *d, int dlt, const uint8_t *data, uint32_t caplen,
                            uint32_t wirelen, l3_t *out);

/* ip.c */

/** Decode IPv4/IPv6 at @p in into @p l (ts, depth, outer_encap and
 *  wire_extra preset by the caller), transport and tunnels included. */
decode_result_t ip_decode(decoder_t *d, const l3_t *in, pkt_layer_t *l);

/** Result of walking an IPv6 header chain (Zeek's IPv6_Hdr_Chain). */
typedef struct {
    uint32_t hdr_len;          /* bytes of the chain, IPv6 header included */
    uint8_t next;              /* protocol after the chain (Zeek's NextProto) */
    uint8_t last;              /* type of the last header (Zeek's LastHeader; 41 = none) */
    int frag_off;              /* offset of the fragment header, -1 if none */
    int nh_off;                /* offset of the next-header byte naming the fragment header */
    const uint8_t *final_dst;  /* routing type 0 final destination, NULL if none */
} v6chain_t;

enum { V6CHAIN_OK = 0, V6CHAIN_TRUNCATED, V6CHAIN_TOO_LONG };

/** Walk the extension headers of the IPv6 packet @p p (@p caplen bytes). */
int ipv6_chain(const uint8_t *p, uint32_t caplen, v6chain_t *c);

/* transport.c */

/**
 * Parse the transport header at @p l4 for l->proto into @p l.  @p l4_len is
 * the length per the IP header, @p remaining the captured bytes after the IP
 * header (Ethernet padding included, as Zeek passes them).
 */
decode_result_t transport_decode(decoder_t *d, pkt_layer_t *l, const uint8_t *l4,
                                 uint32_t l4_len, uint32_t remaining);

/** Ones-complement sum of @p n bytes at @p p added to @p acc (not folded). */
uint64_t cksum_add(const uint8_t *p, uint32_t n, uint64_t acc);
/** Fold a cksum_add() accumulator to 16 bits (0xffff means "valid"). */
uint16_t cksum_fold(uint64_t acc);

/* tunnel.c */

/** The responder port decode_packet() assumes for a UDP packet. */
uint16_t tunnel_guess_resp_port(uint16_t sport, uint16_t dport);

/** Decide and parse the UDP tunnel of @p l for responder port @p resp_port. */
void tunnel_udp(decoder_t *d, pkt_layer_t *l, uint16_t resp_port);

/** GRE (IP protocol 47) at l->l4, @p len bytes: fills the inner fields of
 *  @p l, or fails with a counted result. */
decode_result_t tunnel_gre(decoder_t *d, pkt_layer_t *l, const uint8_t *p, uint32_t len,
                           encap_kind_t kind);

/** IP-in-IP (protocol 4 or 41) at l->l4, @p len bytes. */
decode_result_t tunnel_ipip(decoder_t *d, pkt_layer_t *l, const uint8_t *p, uint32_t len);

#endif
