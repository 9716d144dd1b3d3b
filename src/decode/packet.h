/**
 * @file packet.h
 * The decoder's output: one IP layer of a packet, with its transport header
 * parsed.  This is the neutral struct the connection builder consumes; it
 * holds borrowed pointers into the packet (or into the fragment reassembly
 * buffer), valid until the next call into the decoder.
 *
 * A packet with tunnels yields several layers, outermost first: the decoder
 * fills one layer and says in @c inner_encap whether another lies inside.
 */
#ifndef CONNLOGD_DECODE_PACKET_H
#define CONNLOGD_DECODE_PACKET_H

#include <stdbool.h>
#include <stdint.h>

/* TCP flag bits, as on the wire. */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PUSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20

/** How the next (inner) layer is carried inside this one. */
typedef enum {
    ENCAP_NONE = 0,
    ENCAP_IPIP,      /* IPv4/IPv6 directly inside IP (proto 4 or 41) */
    ENCAP_GRE,       /* GRE (incl. PPTP enhanced GRE, ERSPAN, Aruba) */
    ENCAP_GRE_UDP,   /* GRE-in-UDP, 4754/udp */
    ENCAP_VXLAN,     /* 4789/udp */
    ENCAP_GENEVE,    /* 6081/udp */
    ENCAP_TEREDO,    /* 3544/udp, IPv6 inside */
    ENCAP_AYIYA,     /* 5072/udp */
    ENCAP_GTPV1,     /* GTPv1-U, 2152/udp */
    ENCAP_COUNT
} encap_kind_t;

/** Zeek's service-column name of a tunnel kind ("vxlan", "gre", ...), "" for none. */
const char *encap_name(encap_kind_t k);

/** True for tunnels carried in IP directly (no UDP connection of their own). */
static inline bool
encap_is_ip_tunnel(encap_kind_t k)
{
    return k == ENCAP_IPIP || k == ENCAP_GRE;
}

typedef struct pkt_layer {
    double ts;                  /* packet time, seconds since the epoch */

    /* --- network layer --- */
    uint8_t ip_version;         /* 4 or 6 */
    uint8_t proto;              /* transport protocol after IPv6 extension headers */
    uint8_t src[16];            /* IPv4 as ::ffff:a.b.c.d (v4-mapped) */
    uint8_t dst[16];
    uint32_t ip_len;            /* IPv4 total length, IPv6 payload length + 40; of the
                                   reassembled datagram for fragments (Zeek's *_ip_bytes) */
    bool reassembled;           /* built from IP fragments */

    /* --- transport layer --- */
    const uint8_t *l4;          /* first byte of the transport header */
    uint32_t l4_len;            /* transport length according to the IP header */
    uint32_t l4_caplen;         /* bytes actually present at l4 (<= l4_len) */
    bool l4_complete;           /* the transport header itself is fully present */
    bool snaplen_cut;           /* l4_caplen < l4_len: checksums cannot be verified */

    uint16_t sport, dport;      /* TCP/UDP ports, host order; 0 otherwise */
    /* TCP */
    uint8_t tcp_flags;
    uint32_t seq, ack;
    uint16_t win;
    int8_t wscale;              /* window-scale option in this segment, -1 if absent */
    /* UDP */
    uint16_t udp_len;           /* UDP length field */
    /* ICMP / ICMPv6 */
    uint8_t icmp_type, icmp_code;

    const uint8_t *payload;     /* transport payload */
    uint32_t payload_len;       /* payload length per headers (TCP: l4_len - data offset) */
    uint32_t payload_caplen;    /* payload bytes present */

    /* --- what this layer carries --- */
    encap_kind_t inner_encap;   /* ENCAP_NONE unless another layer lies inside */
    const uint8_t *inner;       /* start of the inner packet */
    uint32_t inner_caplen;
    int inner_dlt;              /* DLT of the inner packet: DLT_EN10MB or DLT_RAW-like (-1 = IP) */
    int depth;                  /* 0 for the outermost IP layer */
} pkt_layer_t;

#endif
