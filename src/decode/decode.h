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
 *         ... hand l to the connection builder ...
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
    DECODE_SKIP,         /* not IP (ARP, LLDP, 802.11 management, ...): ignored */
    DECODE_TRUNCATED,    /* a header was cut short (counted) */
    DECODE_MALFORMED,    /* a header field is impossible (counted) */
    DECODE_UNSUPPORTED,  /* link type or encapsulation we do not decode (counted) */
} decode_result_t;

/** Maximum nesting of tunnels followed (Zeek's Tunnel::max_depth default is 2). */
#define DECODE_MAX_TUNNEL_DEPTH 2

typedef struct decoder decoder_t;

typedef struct {
    bool ignore_checksums;             /* Zeek's -C */
    const netset_t *ignore_cksum_nets; /* borrowed; may be NULL */
    uint32_t frag_max_bytes;           /* memory budget of the fragment table (0 = default) */
    double frag_timeout;               /* seconds (0 = default, 60 s like Zeek) */
} decoder_config_t;

/** New decoder counting anomalies into @p weirds (borrowed, must outlive it).
 *  Free with decoder_free(). */
decoder_t *decoder_new(const decoder_config_t *cfg, weird_counters_t *weirds);
void decoder_free(decoder_t *d);

/** Whether libpcap link type @p dlt is one we decode. */
bool decode_dlt_supported(int dlt);

/**
 * Decode the outermost IP layer of a captured packet into @p out.
 * @p data is borrowed; @p out's pointers are valid until the next decoder call.
 */
decode_result_t decode_packet(decoder_t *d, int dlt, const uint8_t *data, uint32_t caplen,
                              uint32_t wirelen, double ts, pkt_layer_t *out);

/** Decode the layer that @p outer carries (outer->inner_encap != ENCAP_NONE). */
decode_result_t decode_inner(decoder_t *d, const pkt_layer_t *outer, pkt_layer_t *out);

/**
 * Verify the transport checksum of @p l (TCP, UDP, ICMP, ICMPv6).  Returns true
 * when it is correct or cannot be checked (snaplen cut, IPv4 UDP checksum 0,
 * reassembled datagram present in full is checked normally).
 */
bool decode_l4_checksum_ok(const pkt_layer_t *l);

#endif
