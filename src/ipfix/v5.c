/*
 * NetFlow v5 decoder: header checks, 48-byte records, SysUptime-relative
 * times with 32-bit wrap handling, and per-stream sequence accounting.
 * Everything is read through bounds-checked big-endian loads; a datagram can
 * be any length and never makes us read past it.
 */
#include "config.h"

#include "ipfix/v5.h"

#include <string.h>

static inline uint16_t
rd16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t
rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

ipfix_v5_status_t
ipfix_v5_parse_header(const uint8_t *buf, size_t len, ipfix_v5_header_t *hdr)
{
    uint16_t sampling;

    if (buf == NULL || len < IPFIX_V5_HEADER_LEN)
        return IPFIX_V5_SHORT_HEADER;
    hdr->version = rd16(buf);
    if (hdr->version != 5)
        return IPFIX_V5_BAD_VERSION;
    hdr->count = rd16(buf + 2);
    hdr->sys_uptime_ms = rd32(buf + 4);
    hdr->unix_secs = rd32(buf + 8);
    hdr->unix_nsecs = rd32(buf + 12);
    hdr->flow_sequence = rd32(buf + 16);
    hdr->engine_type = buf[20];
    hdr->engine_id = buf[21];
    sampling = rd16(buf + 22);
    hdr->sampling_mode = (uint8_t)(sampling >> 14);
    hdr->sampling_interval = sampling & 0x3fff;
    if (hdr->count == 0 || hdr->count > IPFIX_V5_MAX_COUNT)
        return IPFIX_V5_BAD_COUNT;
    return IPFIX_V5_OK;
}

double
ipfix_v5_export_time(const ipfix_v5_header_t *hdr)
{
    /* unix_nsecs above 999999999 is malformed; clamp rather than let it
     * push the export time into the next second. */
    uint32_t ns = hdr->unix_nsecs > 999999999u ? 999999999u : hdr->unix_nsecs;

    return (double)hdr->unix_secs + (double)ns / 1e9;
}

/*
 * Epoch seconds of a flow edge stamped @p edge_uptime on an exporter whose
 * uptime was @p now_uptime at export time @p export_time.  The difference is
 * taken modulo 2^32 and read as signed, so an edge stamped just before the
 * 49.7-day wrap and exported just after it is still "a little in the past",
 * and an edge a few ms after the header (clock jitter) is a little in the
 * future instead of 49 days in the past.
 */
static double
uptime_to_epoch(double export_time, uint32_t now_uptime, uint32_t edge_uptime)
{
    int32_t age_ms = (int32_t)(now_uptime - edge_uptime);

    return export_time - (double)age_ms / 1000.0;
}

/* Track flow_sequence.  Returns false when the datagram is a duplicate of
 * the previous one and must not be decoded. */
static bool
track_sequence(const ipfix_v5_header_t *hdr, ipfix_v5_stream_t *st, ipfix_v5_counters_t *ctr)
{
    if (st->have_seq) {
        if (hdr->flow_sequence == st->last_seq && hdr->count == st->last_count
            && hdr->sys_uptime_ms == st->last_uptime) {
            ctr->duplicates++;
            return false;
        }
        if (hdr->flow_sequence != st->next_seq) {
            uint32_t jump = hdr->flow_sequence - st->next_seq;

            /* Forward by less than half the sequence space is loss; anything
             * else is reordering, a duplicate of an older datagram or an
             * exporter restart.  Either way we resync to this datagram. */
            if (jump < 0x80000000u) {
                ctr->seq_gaps++;
                ctr->missed_flows += jump;
            } else {
                ctr->out_of_order++;
            }
        }
    }
    st->have_seq = true;
    st->last_seq = hdr->flow_sequence;
    st->last_count = hdr->count;
    st->last_uptime = hdr->sys_uptime_ms;
    st->next_seq = hdr->flow_sequence + hdr->count;
    return true;
}

static void
decode_record(const uint8_t *r, const ipfix_v5_header_t *hdr, double export_time,
              double received, flow_obs_t *o)
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    memset(o, 0, sizeof(*o));
    o->ip_version = 4;
    memcpy(o->src, v4mapped, 12);
    memcpy(o->src + 12, r + 0, 4);
    memcpy(o->dst, v4mapped, 12);
    memcpy(o->dst + 12, r + 4, 4);
    /* r + 8 nexthop, r + 12 input ifindex, r + 14 output ifindex: unused */
    o->pkts = rd32(r + 16);
    o->octets = rd32(r + 20);
    o->start = uptime_to_epoch(export_time, hdr->sys_uptime_ms, rd32(r + 24));
    o->end = uptime_to_epoch(export_time, hdr->sys_uptime_ms, rd32(r + 28));
    o->sport = rd16(r + 32);
    o->dport = rd16(r + 34);
    /* r + 36 pad1 */
    o->flags = r[37];
    o->proto = r[38];
    /* r + 39 tos, r + 40 src_as, r + 42 dst_as, r + 44/45 masks, r + 46 pad2 */
    if (o->proto == 1) {
        /* Cisco puts type << 8 | code in the destination port and leaves
         * the source port 0; keep the dport and clear a stray sport. */
        o->sport = 0;
    }
    o->received = received;
    o->end_reason = FLOW_END_UNKNOWN;
    o->sampling_interval = hdr->sampling_interval > 1 ? hdr->sampling_interval : 1;
    o->source = FLOW_SRC_NETFLOW_V5;
    o->obs_domain = (uint32_t)hdr->engine_type << 8 | hdr->engine_id;
}

size_t
ipfix_v5_decode(const uint8_t *buf, size_t len, const ipfix_v5_header_t *hdr,
                double received, ipfix_v5_stream_t *stream, ipfix_v5_counters_t *ctr,
                flow_obs_t *out)
{
    size_t expected, fit, n, i;
    double export_time;

    if (buf == NULL || len < IPFIX_V5_HEADER_LEN || hdr->count == 0
        || hdr->count > IPFIX_V5_MAX_COUNT)
        return 0;
    expected = IPFIX_V5_HEADER_LEN + (size_t)IPFIX_V5_RECORD_LEN * hdr->count;
    if (len != expected)
        ctr->length_mismatch++;
    if (!track_sequence(hdr, stream, ctr))
        return 0;
    fit = (len - IPFIX_V5_HEADER_LEN) / IPFIX_V5_RECORD_LEN;
    n = fit < hdr->count ? fit : hdr->count;
    export_time = ipfix_v5_export_time(hdr);
    for (i = 0; i < n; i++)
        decode_record(buf + IPFIX_V5_HEADER_LEN + i * IPFIX_V5_RECORD_LEN, hdr, export_time,
                      received, &out[i]);
    ctr->datagrams++;
    ctr->records += n;
    return n;
}

const char *
ipfix_v5_status_name(ipfix_v5_status_t st)
{
    switch (st) {
    case IPFIX_V5_OK:
        return "ok";
    case IPFIX_V5_SHORT_HEADER:
        return "short_header";
    case IPFIX_V5_BAD_VERSION:
        return "bad_version";
    case IPFIX_V5_BAD_COUNT:
        return "bad_count";
    }
    return "unknown";
}
