/**
 * @file flow.h
 * One flow observation: what every flow record (IPFIX uniflow or RFC 5103
 * biflow, YAF-style record, NetFlow v9, NetFlow v5) is normalized into
 * before it reaches the connection builder.  The ipfix/ modules produce it;
 * conn/ consumes it.  Plain data, no pointers.
 */
#ifndef CONNLOGD_CONN_FLOW_H
#define CONNLOGD_CONN_FLOW_H

#include <stdbool.h>
#include <stdint.h>

/** flowEndReason (IANA IE 136) values. */
typedef enum {
    FLOW_END_UNKNOWN = 0,
    FLOW_END_IDLE = 1,
    FLOW_END_ACTIVE = 2,       /* active timeout: more records of this flow follow */
    FLOW_END_OF_FLOW = 3,      /* FIN/RST seen by the exporter */
    FLOW_END_FORCED = 4,
    FLOW_END_LACK_OF_RESOURCES = 5,
} flow_end_reason_t;

typedef enum {
    FLOW_SRC_IPFIX = 0,
    FLOW_SRC_NETFLOW_V9,
    FLOW_SRC_NETFLOW_V5,
    FLOW_SRC_IPFIX_FILE,
} flow_source_kind_t;

typedef struct flow_obs {
    /* key, as the exporter reported it (forward direction) */
    uint8_t ip_version;        /* 4 or 6 */
    uint8_t proto;             /* protocolIdentifier */
    uint8_t src[16], dst[16];  /* IPv4 as ::ffff:a.b.c.d */
    uint16_t sport, dport;     /* ICMP: sport 0, dport = type << 8 | code (as exporters encode it) */
    uint16_t vlan;             /* 0 if none */

    /* times, seconds since the epoch, already converted from whatever encoding */
    double start, end;
    double received;           /* collector's clock when the message arrived */

    /* forward counters */
    uint64_t pkts, octets;     /* octets = IP bytes (headers included), as IPFIX octetDeltaCount */
    /* reverse counters (RFC 5103 biflow); zero and has_reverse false for uniflows */
    bool has_reverse;
    uint64_t rev_pkts, rev_octets;
    double rev_start, rev_end; /* 0 if the record carries no reverse times */

    /* TCP flags: union of all packets, and (YAF/CERT) those of the first packet */
    uint8_t flags, rev_flags;
    bool has_initial_flags;
    uint8_t initial_flags, rev_initial_flags;

    /* payload octets if the exporter reports them (e.g. YAF payload length); else unset */
    bool has_payload_octets;
    uint64_t payload_octets, rev_payload_octets;

    flow_end_reason_t end_reason;
    uint32_t sampling_interval; /* 1 (or 0) = unsampled */

    uint16_t app_id;           /* silkAppLabel / applicationId port-style label, 0 = none */

    /* where it came from */
    flow_source_kind_t source;
    uint32_t exporter_id;      /* index of the exporter in the collector's table */
    uint32_t obs_domain;
} flow_obs_t;

#endif
