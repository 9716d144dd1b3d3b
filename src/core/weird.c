/*
 * Names for the anomaly counters.  Kept beside the enum's order by the
 * static assertion below: adding a kind without a name fails the build.
 */
#include "core/weird.h"

#include <stddef.h>

static const char *const weird_names[] = {
    "pcap_truncated_file",
    "pcap_unknown_linktype",
    "pcap_caplen_gt_wirelen",
    "pcap_snaplen_cut",
    "truncated_link_header",
    "truncated_VLAN_header",
    "truncated_MPLS_header",
    "truncated_PPPoE_header",
    "unknown_ethertype",
    "unknown_PPP_protocol",
    "non_data_80211",
    "link_too_deep",
    "truncated_IP_header",
    "bad_IP_version",
    "bad_IP_header_length",
    "bad_IP_total_length",
    "truncated_IP",
    "bad_IP_checksum",
    "ip_hdr_len_zero",
    "truncated_IPv6_ext",
    "ipv6_ext_too_many",
    "fragment_overlap",
    "fragment_too_big",
    "fragment_table_full",
    "fragment_timeout",
    "fragment_inconsistent",
    "truncated_TCP_header",
    "bad_TCP_header_len",
    "truncated_UDP_header",
    "bad_UDP_length",
    "truncated_ICMP_header",
    "bad_TCP_checksum",
    "bad_UDP_checksum",
    "bad_ICMP_checksum",
    "exceeded_tunnel_max_depth",
    "truncated_tunnel_header",
    "unknown_gre_protocol",
    "unknown_gre_version",
    "bad_tunnel_payload",
    "conn_table_full_evicted",
    "history_truncated",
    "spontaneous_FIN",
    "spontaneous_RST",
    "SYN_inside_connection",
    "SYN_seq_jump",
    "time_went_backwards",
    "tcp_reassembly_overflow",
    "ipv6_no_next",
    "unknown_gre_flags",
};

_Static_assert(sizeof(weird_names) / sizeof(weird_names[0]) == WEIRD_COUNT,
               "weird_names must name every weird_kind_t");

const char *
weird_name(weird_kind_t k)
{
    if ((unsigned)k >= WEIRD_COUNT)
        return "unknown";
    return weird_names[k];
}
