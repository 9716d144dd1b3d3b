/**
 * @file v5.h
 * NetFlow v5 decoder (libfixbuf has none): the 24-byte header and 48-byte
 * records of Cisco's "NetFlow Export Datagram Format" version 5, turned into
 * flow_obs_t.  Pure code: no I/O, no allocation; the caller keeps one
 * ipfix_v5_stream_t per (exporter address, engine type, engine id).
 */
#ifndef CONNLOGD_IPFIX_V5_H
#define CONNLOGD_IPFIX_V5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn/flow.h"

#define IPFIX_V5_HEADER_LEN 24
#define IPFIX_V5_RECORD_LEN 48
#define IPFIX_V5_MAX_COUNT 30

/** Outcome of parsing a datagram header. */
typedef enum {
    IPFIX_V5_OK = 0,
    IPFIX_V5_SHORT_HEADER,   /* fewer than 24 bytes */
    IPFIX_V5_BAD_VERSION,    /* version field is not 5 */
    IPFIX_V5_BAD_COUNT,      /* count outside 1..30 */
} ipfix_v5_status_t;

/** The datagram header, in host byte order. */
typedef struct {
    uint16_t version;
    uint16_t count;
    uint32_t sys_uptime_ms;      /* exporter uptime when the datagram was sent */
    uint32_t unix_secs;
    uint32_t unix_nsecs;
    uint32_t flow_sequence;      /* sequence number of the first flow in this datagram */
    uint8_t engine_type;
    uint8_t engine_id;
    uint8_t sampling_mode;       /* top 2 bits of the sampling field: 0 none, 1 deterministic, 2 random */
    uint16_t sampling_interval;  /* low 14 bits of the sampling field */
} ipfix_v5_header_t;

/** Sequence state of one (exporter, engine type, engine id) stream. */
typedef struct {
    bool have_seq;
    uint32_t next_seq;           /* flow_sequence expected in the next datagram */
    uint32_t last_seq;           /* flow_sequence of the previous datagram */
    uint16_t last_count;
    uint32_t last_uptime;
} ipfix_v5_stream_t;

/** Per-stream counters the decoder bumps (the caller sums or exports them). */
typedef struct {
    uint64_t datagrams;          /* datagrams whose records were decoded */
    uint64_t records;
    uint64_t length_mismatch;    /* length != 24 + 48 * count */
    uint64_t seq_gaps;           /* datagrams that arrived after a gap */
    uint64_t missed_flows;       /* flows the gaps account for (v5 counts flows) */
    uint64_t out_of_order;       /* sequence went backwards: reordering or exporter restart */
    uint64_t duplicates;         /* the previous datagram again (same sequence, count, uptime) */
} ipfix_v5_counters_t;

/**
 * Parse and check the header of @p buf (@p len bytes).  On IPFIX_V5_OK @p hdr
 * is filled; on any other result @p hdr is unspecified.  The record area is
 * not looked at here: a short or long datagram is ipfix_v5_decode()'s call.
 */
ipfix_v5_status_t ipfix_v5_parse_header(const uint8_t *buf, size_t len,
                                        ipfix_v5_header_t *hdr);

/**
 * Decode the records of a datagram whose header parsed as @p hdr.
 *
 * Decodes min(count, (len - 24) / 48) records into @p out (room for
 * IPFIX_V5_MAX_COUNT entries).  A length other than 24 + 48 * count is
 * counted in @p ctr->length_mismatch; the records that are wholly present
 * are still decoded.  Sequence tracking (v5's flow_sequence counts flows,
 * not datagrams) updates @p stream: a forward jump counts a gap and the
 * missed flows, a backward jump counts out_of_order and resyncs, and an
 * exact repeat of the previous datagram counts a duplicate and decodes
 * nothing.
 *
 * Times are turned into epoch seconds relative to the header's
 * unix_secs/unix_nsecs and SysUptime with 32-bit wrap handling: the age of
 * a flow edge is (uint32)(SysUptime - First) interpreted as a signed 32-bit
 * number of milliseconds, which stays right across the 49.7-day uptime wrap.
 *
 * @p received is copied into each record; exporter_id is left 0 and
 * obs_domain is engine_type << 8 | engine_id.  Returns the number of records
 * written to @p out.
 */
size_t ipfix_v5_decode(const uint8_t *buf, size_t len, const ipfix_v5_header_t *hdr,
                       double received, ipfix_v5_stream_t *stream,
                       ipfix_v5_counters_t *ctr, flow_obs_t *out);

/** Export time of the datagram in epoch seconds (unix_secs + unix_nsecs). */
double ipfix_v5_export_time(const ipfix_v5_header_t *hdr);

/** Short name of a status for logs ("ok", "short_header", ...). */
const char *ipfix_v5_status_name(ipfix_v5_status_t st);

#endif
