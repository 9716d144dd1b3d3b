/**
 * @file decode.h
 * Packet decoder: link layers, IPv4/IPv6 (with fragment reassembly and
 * extension headers), TCP/UDP/ICMP headers, checksums and tunnels.
 *
 * The decoder never allocates per packet (the fragment table has a fixed
 * budget) and never trusts a length field: every outcome it cannot decode
 * is counted in the weird counters and reported as a decode_result_t.
 *
 * Usage, per captured packet:
 *
 *     pkt_layer_t l;
 *     decode_result_t r = decode_packet(d, dlt, data, caplen, wirelen, ts, &l);
 *     while (r == DECODE_OK) {
 *         ... hand l to the connection builder (for UDP it first calls
 *             decode_retarget_udp() if its responder port is not the one
 *             the decoder assumed; l.tunnel_verdict tells it what Zeek's
 *             tunnel analyzer concluded, for the service column) ...
 *         if (l.inner_encap == ENCAP_NONE) break;
 *         pkt_layer_t in;
 *         r = decode_inner(d, &l, &in);
 *         l = in;
 *     }
 */
#ifndef CONNLOGD_DECODE_DECODE_H
#define CONNLOGD_DECODE_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/netset.h"
#include "core/weird.h"
#include "decode/packet.h"

typedef enum {
    DECODE_OK = 0,       /* layer filled */
    DECODE_PENDING,      /* a fragment was stored; nothing to deliver yet */
    DECODE_SKIP,         /* not IP (ARP, LLDP, 802.11 management, ...), IPv6 ESP or
                            no-next-header: nothing for conn.log (counted unless
                            it is normal traffic: ESP, Teredo bubbles) */
    DECODE_TRUNCATED,    /* a header was cut short (counted) */
    DECODE_MALFORMED,    /* a header field is impossible (counted) */
    DECODE_UNSUPPORTED,  /* link type or encapsulation we do not decode (counted) */
} decode_result_t;

/**
 * Default maximum nesting of tunnels followed: Zeek's Tunnel::max_depth,
 * which is 4 in init-bare.zeek (the core.tunnels.max-depth baseline decodes
 * three nested VXLAN layers, impossible with 2).  A layer at depth d may
 * carry another only while d < the limit.
 */
#define DECODE_MAX_TUNNEL_DEPTH 4

/** Largest max_tunnel_depth a decoder accepts (one reassembly buffer per level). */
#define DECODE_TUNNEL_DEPTH_CAP 8

typedef struct decoder decoder_t;

typedef struct {
    bool ignore_checksums;             /* Zeek's -C */
    const netset_t *ignore_cksum_nets; /* borrowed; may be NULL */
    uint32_t frag_max_bytes;           /* memory budget of the fragment table (0 = default
                                          4 MiB; at least 128 KiB is used) */
    double frag_timeout;               /* seconds (0 = default 60 s; negative = never, which
                                          is Zeek's own frag_timeout default of 0.0) */
    int max_tunnel_depth;              /* 0 = DECODE_MAX_TUNNEL_DEPTH; capped at
                                          DECODE_TUNNEL_DEPTH_CAP */
} decoder_config_t;

/** New decoder counting anomalies into @p weirds (borrowed, must outlive it;
 *  may be NULL).  @p cfg is copied (its netset stays borrowed).  All memory,
 *  fragment pool included, is allocated here.  Free with decoder_free(). */
decoder_t *decoder_new(const decoder_config_t *cfg, weird_counters_t *weirds);
/** Free @p d and its fragment pool; NULL is a no-op. */
void decoder_free(decoder_t *d);

/** Whether libpcap link type @p dlt is one we decode. */
bool decode_dlt_supported(int dlt);

/**
 * Decode the outermost IP layer of a captured packet into @p out.
 * @p data is borrowed; @p out's pointers are valid until the next decoder call
 * (they point into @p data or into a reassembly buffer of @p d, one buffer
 * per tunnel depth, so an outer layer stays valid while its inner one is
 * decoded).  A wirelen below caplen is treated as caplen.
 * Returns DECODE_OK with @p out filled, or another result (counted in the
 * weird counters, except DECODE_PENDING and a few plain skips such as IPv6
 * ESP); only with DECODE_OK is @p out meaningful.
 */
decode_result_t decode_packet(decoder_t *d, int dlt, const uint8_t *data, uint32_t caplen,
                              uint32_t wirelen, double ts, pkt_layer_t *out);

/** Decode the layer that @p outer carries (outer->inner_encap != ENCAP_NONE),
 *  at depth outer->depth + 1.  Beyond the tunnel depth limit this counts
 *  WEIRD_TUNNEL_TOO_DEEP and returns DECODE_UNSUPPORTED. */
decode_result_t decode_inner(decoder_t *d, const pkt_layer_t *outer, pkt_layer_t *out);

/**
 * Re-decide which UDP tunnel (if any) @p l carries, for the responder port
 * @p resp_port of its connection.  Zeek hands a UDP payload to a tunnel
 * analyzer by the connection's responder port (VXLAN 4789, Geneve 6081,
 * Teredo 3544, AYIYA 5072, GTPv1 2152/2123, GRE 4754), else tries Teredo and
 * AYIYA detection on the payload.  Only the connection builder knows the
 * responder; decode_packet()/decode_inner() assume the destination port,
 * unless only the source port is a tunnel port (what Zeek's UDP flip rule
 * gives when the tunnel ports are likely-server ports).  Call this when the
 * connection's responder port differs from that guess; otherwise it is a
 * no-op.  Rewrites @p l's tunnel, tunnel_verdict and inner_* fields (weirds
 * counted for the first guess stay counted).
 */
void decode_retarget_udp(decoder_t *d, pkt_layer_t *l, uint16_t resp_port);

/**
 * Verify the transport checksum of @p l (TCP, UDP, ICMP, ICMPv6).  Returns true
 * when it is correct or cannot be checked (snaplen cut, IPv4 UDP checksum 0,
 * reassembled datagram present in full is checked normally).  Pure arithmetic:
 * -C, ignore_checksums_nets and Zeek's VXLAN zero-checksum rule are the
 * caller's to apply.  The sum covers l4_len bytes (the IP payload, as Zeek
 * does, not the UDP length field).
 */
bool decode_l4_checksum_ok(const pkt_layer_t *l);

#endif
