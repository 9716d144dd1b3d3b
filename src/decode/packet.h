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
    ENCAP_GTPV1,     /* GTPv1-U, 2152/udp (2123/udp, GTP-C, is parsed too) */
    ENCAP_COUNT
} encap_kind_t;

/** Zeek's service-column name of a tunnel kind ("vxlan", "gre", ...), "" for none. */
const char *encap_name(encap_kind_t k);

/**
 * What the tunnel analyzer concluded about a layer's payload.  Zeek adds a
 * tunnel to the carrying connection's service column when its analyzer
 * confirms, and stops running that analyzer on a connection after a
 * violation; the connection builder keeps that per-connection state.
 */
typedef enum {
    TUNNEL_VERDICT_NONE = 0,  /* no tunnel analyzer looked at the payload */
    TUNNEL_VERDICT_CONFIRM,   /* tunnel header valid: Zeek confirms the analyzer */
    TUNNEL_VERDICT_VALID,     /* Teredo (and only Teredo): valid in this direction; Zeek
                                 confirms once both directions of the connection were valid */
    TUNNEL_VERDICT_PLAIN,     /* decoded without a confirmation: IP tunnels, GRE-in-UDP,
                                 AYIYA op codes other than "forward", GTP-C, Geneve version != 0 */
    TUNNEL_VERDICT_VIOLATION, /* header or carried packet invalid (Zeek's AnalyzerViolation) */
    TUNNEL_VERDICT_TOO_DEEP,  /* refused at the tunnel depth limit: decode_inner() fails */
} tunnel_verdict_t;

/* inner_dlt values besides libpcap's DLT_EN10MB and DLT_IEEE802_11 (Aruba GRE). */
#define INNER_DLT_IP (-1)     /* IPv4 or IPv6, told apart by the version nibble */
#define INNER_DLT_MPLS (-2)   /* MPLS label stack, then IP (GRE protocol 0x8847) */
#define INNER_DLT_ERSPAN (-3) /* ERSPAN type II/III header, then Ethernet */
#define INNER_DLT_NONE (-4)   /* a GRE protocol type Zeek has no analyzer for */

/** True when Zeek, refusing this tunnel at the depth limit, also adds 'X' to
 *  the carrying connection's history (VXLAN, Geneve, Teredo and AYIYA check
 *  the depth against the UDP session; GTPv1 and GRE only raise a weird). */
static inline bool
tunnel_depth_marks_history(encap_kind_t k)
{
    return k == ENCAP_VXLAN || k == ENCAP_GENEVE || k == ENCAP_TEREDO || k == ENCAP_AYIYA;
}

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
    bool l4_complete;           /* the transport header itself is fully present.  With
                                   DECODE_OK and false (TCP only: data offset below 20, or
                                   beyond the IP payload or the capture), the ports are
                                   valid and Zeek creates the connection, but the segment
                                   itself is dropped (no counters, no history) */
    bool snaplen_cut;           /* l4_caplen < l4_len: checksums cannot be verified (UDP:
                                   also whenever the frame itself was cut, as Zeek skips
                                   UDP checksums for any packet with caplen < wire length) */

    uint16_t sport, dport;      /* TCP/UDP ports, host order; 0 otherwise */
    /* TCP */
    uint8_t tcp_flags;
    uint32_t seq, ack;
    uint16_t win;
    int8_t wscale;              /* window-scale option of a SYN segment (capped at 127),
                                   -1 if absent or not a SYN (RFC 7323 2.2: SYN only) */
    /* UDP */
    uint16_t udp_len;           /* UDP length field (Zeek counts udp_len - 8 as bytes) */
    /* ICMP / ICMPv6 */
    uint8_t icmp_type, icmp_code;

    const uint8_t *payload;     /* transport payload */
    uint32_t payload_len;       /* payload length per the IP header (TCP: l4_len - data
                                   offset; UDP/ICMP: l4_len - 8) */
    uint32_t payload_caplen;    /* payload bytes present */

    /* --- what this layer carries --- */
    encap_kind_t inner_encap;   /* ENCAP_NONE unless another layer lies inside (with
                                   tunnel_verdict TOO_DEEP decode_inner() refuses it) */
    const uint8_t *inner;       /* start of the inner packet */
    uint32_t inner_caplen;
    int inner_dlt;              /* DLT of the inner packet: DLT_EN10MB, DLT_IEEE802_11 or
                                   one of the INNER_DLT_* values (-1 = IP) */
    int depth;                  /* 0 for the outermost IP layer */

    /* --- tunnel analysis and framing (decoder additions) --- */
    bool tso;                   /* IPv4 total length 0 (TSO capture), accepted with -C: ip_len
                                   is 0 as Zeek's ConnSize counts it, l4_len is what was
                                   captured */
    encap_kind_t tunnel;        /* tunnel analyzer that examined this layer's payload; also
                                   set when it refused or found nothing inside */
    tunnel_verdict_t tunnel_verdict;
    uint32_t inner_wirelen;     /* wire length Zeek assigns the inner packet */
    encap_kind_t outer_encap;   /* how this layer was itself carried (ENCAP_NONE at depth 0) */
    uint32_t wire_extra;        /* bytes of this layer's frame on the wire beyond the capture */
} pkt_layer_t;

#endif
