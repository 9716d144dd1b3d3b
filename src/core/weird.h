/**
 * @file weird.h
 * Anomaly counters ("weirds", as Zeek calls them).  Every malformed or odd
 * input the packet or flow path meets bumps one named counter here instead of
 * logging per packet; the totals go to the exit summary, /stats and /metrics.
 *
 * The enum and the name table in weird.c must stay in the same order.
 */
#ifndef CONNLOGD_CORE_WEIRD_H
#define CONNLOGD_CORE_WEIRD_H

#include <stdint.h>

typedef enum {
    /* capture / file */
    WEIRD_PCAP_TRUNCATED_FILE = 0,  /* file ended or broke mid-record */
    WEIRD_PCAP_UNKNOWN_LINKTYPE,    /* packet on a link type we cannot decode */
    WEIRD_PCAP_CAPLEN_GT_WIRELEN,   /* caplen larger than the wire length */
    WEIRD_PCAP_SNAPLEN_CUT,         /* packet cut by the snaplen */
    /* link layer */
    WEIRD_TRUNCATED_LINK_HEADER,    /* Ethernet/SLL/radiotap/... header cut short */
    WEIRD_TRUNCATED_VLAN_HEADER,
    WEIRD_TRUNCATED_MPLS_HEADER,
    WEIRD_TRUNCATED_PPPOE_HEADER,
    WEIRD_UNKNOWN_ETHERTYPE,        /* not IP after all link headers (ARP etc.) */
    WEIRD_UNKNOWN_PPP_PROTOCOL,
    WEIRD_NON_DATA_80211,           /* 802.11 management/control, or encrypted */
    WEIRD_LINK_TOO_DEEP,            /* more stacked link headers than we follow */
    /* IP */
    WEIRD_TRUNCATED_IP_HEADER,
    WEIRD_BAD_IP_VERSION,
    WEIRD_BAD_IP_HEADER_LENGTH,     /* IHL < 5 or beyond the packet */
    WEIRD_BAD_IP_TOTAL_LENGTH,      /* total length shorter than the header */
    WEIRD_TRUNCATED_IP,             /* captured fewer bytes than IP length says */
    WEIRD_BAD_IP_CHECKSUM,
    WEIRD_IP_ZERO_TOTAL_LENGTH,     /* total length 0 (TSO); accepted with -C */
    WEIRD_TRUNCATED_IPV6_EXT,       /* an extension header runs past the packet */
    WEIRD_IPV6_EXT_TOO_MANY,        /* extension header chain longer than the limit */
    WEIRD_FRAGMENT_OVERLAP,
    WEIRD_FRAGMENT_TOO_BIG,         /* reassembled size beyond 64 KiB */
    WEIRD_FRAGMENT_TABLE_FULL,      /* oldest fragment set dropped to make room */
    WEIRD_FRAGMENT_TIMEOUT,         /* incomplete set expired */
    WEIRD_FRAGMENT_INCONSISTENT,    /* final fragment disagrees with others */
    /* transport */
    WEIRD_TRUNCATED_TCP_HEADER,
    WEIRD_BAD_TCP_HEADER_LENGTH,
    WEIRD_TRUNCATED_UDP_HEADER,
    WEIRD_BAD_UDP_LENGTH,           /* UDP length field disagrees with IP length */
    WEIRD_TRUNCATED_ICMP_HEADER,
    WEIRD_BAD_TCP_CHECKSUM,
    WEIRD_BAD_UDP_CHECKSUM,
    WEIRD_BAD_ICMP_CHECKSUM,
    /* tunnels */
    WEIRD_TUNNEL_TOO_DEEP,          /* more nested tunnels than the limit */
    WEIRD_TRUNCATED_TUNNEL_HEADER,  /* GRE/VXLAN/Geneve/GTP/... header cut short */
    WEIRD_UNKNOWN_GRE_PROTOCOL,
    WEIRD_BAD_GRE_VERSION,
    WEIRD_BAD_TUNNEL_PAYLOAD,       /* encapsulated bytes are not a packet we know */
    /* connection builder */
    WEIRD_CONN_TABLE_FULL,          /* a connection was evicted to stay under the cap */
    WEIRD_HISTORY_TRUNCATED,        /* history longer than we keep */
    WEIRD_SPONTANEOUS_FIN,
    WEIRD_SPONTANEOUS_RST,
    WEIRD_SYN_INSIDE_CONNECTION,
    WEIRD_SYN_SEQ_JUMP,
    WEIRD_TIME_WENT_BACKWARDS,      /* packet older than the previous one */
    WEIRD_TCP_REASSEMBLY_OVERFLOW,  /* too many out-of-order ranges; highest dropped */
    WEIRD_IPV6_NO_NEXT,             /* IPv6 "no next header" outside a Teredo bubble */
    WEIRD_UNKNOWN_GRE_FLAGS,        /* GRE routing or reserved flag bits set */
    WEIRD_COUNT
} weird_kind_t;

/** Counters, one per kind.  Owned by whoever creates them; plain integers
 *  because each set belongs to one thread. */
typedef struct {
    uint64_t n[WEIRD_COUNT];
} weird_counters_t;

/** Zeek-style snake_case name of @p k (static string; "unknown" if out of range). */
const char *weird_name(weird_kind_t k);

static inline void
weird_bump(weird_counters_t *w, weird_kind_t k)
{
    if (w)
        w->n[k]++;
}

#endif
