/*
 * YAF-style biflow records against the packet path, on every row of Zeek's
 * conn_state table.  Each case is a realistic TCP packet sequence: it is fed
 * to one connection builder as decoded layers, and the biflow record YAF
 * would export for those same layers (one helper derives it) is written with
 * libfixbuf's exporter, flat (YAF --silk) and with the TCP flags in a
 * subTemplateMultiList entry (YAF's default), read back through the
 * collector into a second builder.  conn_state, originator and counters must
 * agree, except where a case documents why the flow path cannot.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fixbuf/public.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "conn/conn.h"
#include "core/netset.h"
#include "ipfix/collector.h"
#include "ipfix/infomodel.h"
#include "tests/ipfix_xp.h"

#define T0_MS 1700000000000ull /* time of each case's first packet */
#define MAX_STEPS 16

#define CLI_ADDR "10.0.0.1"
#define SRV_ADDR "192.0.2.80"
#define CLI_PORT 40000
#define SRV_PORT 80 /* one of Zeek's likely server ports: it drives flips */

/* ------------------------------------------------------------ the cases */

enum { C = 0, S = 1 }; /* which endpoint sends: client or server */

#define F_F TH_FIN
#define F_S TH_SYN
#define F_R TH_RST
#define F_P TH_PUSH
#define F_A TH_ACK

typedef struct {
    int from;       /* C or S */
    uint8_t flags;
    uint16_t len;   /* TCP payload bytes */
    uint16_t gap;   /* milliseconds after the previous packet */
} step_t;

typedef struct {
    const char *name;
    /* Zeek's result for the packets, from the spec (zeek-conn-semantics.md
     * sections 1-3): asserted on the packet path so the scenario is what
     * its name says. */
    const char *state, *history;
    /* What the flow path gives.  Equal to state, and the same originator,
     * unless @c why explains the difference. */
    const char *flow_state;
    bool flow_swapped; /* the flow path picks the other endpoint as originator */
    const char *why;
    step_t steps[MAX_STEPS];
    uint16_t cport, sport; /* client and server ports; 0: CLI_PORT, SRV_PORT */
} yaf_case_t;

/* Handshake, 100 bytes up, 300 down, each acked. */
#define OPEN                                                                                      \
    {C, F_S, 0, 0}, {S, F_S | F_A, 0, 20}, {C, F_A, 0, 20}, {C, F_A | F_P, 100, 5},               \
        {S, F_A, 0, 20}, {S, F_A | F_P, 300, 30}, {C, F_A, 0, 20}

static const yaf_case_t cases[] = {
    {.name = "S0 lone SYN", .state = "S0", .history = "S", .flow_state = "S0",
     .steps = {{C, F_S, 0, 0}}},
    {.name = "S0 SYN retransmitted", .state = "S0", .history = "S", .flow_state = "S0",
     .steps = {{C, F_S, 0, 0}, {C, F_S, 0, 1000}, {C, F_S, 0, 2000}}},
    {.name = "S1 established, no close", .state = "S1", .history = "ShADad", .flow_state = "S1",
     .steps = {OPEN}},
    {.name = "S1 half-open: SYN-ACK resent, never acked", .state = "S1", .history = "Sh",
     .flow_state = "S1",
     .steps = {{C, F_S, 0, 0}, {S, F_S | F_A, 0, 20}, {S, F_S | F_A, 0, 1000}}},
    {.name = "SF client closes", .state = "SF", .history = "ShADadFf", .flow_state = "SF",
     .steps = {OPEN, {C, F_F | F_A, 0, 50}, {S, F_F | F_A, 0, 20}, {C, F_A, 0, 20}}},
    {.name = "SF server closes", .state = "SF", .history = "ShADadfF", .flow_state = "SF",
     .steps = {OPEN, {S, F_F | F_A, 0, 50}, {C, F_F | F_A, 0, 20}, {S, F_A, 0, 20}}},
    {.name = "SF then a late client RST", .state = "SF", .history = "ShADadFfR",
     .flow_state = "SF",
     .steps = {OPEN, {C, F_F | F_A, 0, 50}, {S, F_F | F_A, 0, 20}, {C, F_R, 0, 20}}},
    {.name = "SF, SYN-ACK first (SYN not captured)", .state = "SF", .history = "^hADadFf",
     .flow_state = "SF",
     .steps = {{S, F_S | F_A, 0, 0},
               {C, F_A, 0, 20},
               {C, F_A | F_P, 100, 5},
               {S, F_A, 0, 20},
               {S, F_A | F_P, 300, 30},
               {C, F_F | F_A, 0, 50},
               {S, F_F | F_A, 0, 20},
               {C, F_A, 0, 20}}},
    {.name = "REJ closed port", .state = "REJ", .history = "Sr", .flow_state = "REJ",
     .steps = {{C, F_S, 0, 0}, {S, F_R | F_A, 0, 1}}},
    {.name = "REJ after a resent SYN", .state = "REJ", .history = "Sr", .flow_state = "REJ",
     .steps = {{C, F_S, 0, 0}, {C, F_S, 0, 1000}, {S, F_R | F_A, 0, 1}}},
    {.name = "REJ: both sides reset, no data", .state = "REJ", .history = "Rr",
     .flow_state = "REJ", .steps = {{C, F_R | F_A, 0, 0}, {S, F_R, 0, 10}}},
    {.name = "S2 client FIN, server only acks", .state = "S2", .history = "ShADadF",
     .flow_state = "S2", .steps = {OPEN, {C, F_F | F_A, 0, 50}, {S, F_A, 0, 20}}},
    {.name = "S3 server FIN, client only acks", .state = "S3", .history = "ShADadf",
     .flow_state = "S3", .steps = {OPEN, {S, F_F | F_A, 0, 50}, {C, F_A, 0, 20}}},
    {.name = "RSTO client aborts", .state = "RSTO", .history = "ShADadR", .flow_state = "RSTO",
     .steps = {OPEN, {C, F_R | F_A, 0, 50}}},
    {.name = "RSTO scanner answers SYN-ACK with RST", .state = "RSTO", .history = "ShR",
     .flow_state = "RSTO", .steps = {{C, F_S, 0, 0}, {S, F_S | F_A, 0, 20}, {C, F_R, 0, 1}}},
    {.name = "RSTO client FIN then RST", .state = "RSTO", .history = "ShADadFR",
     .flow_state = "RSTO",
     .steps = {OPEN, {C, F_F | F_A, 0, 50}, {S, F_A, 0, 20}, {C, F_R, 0, 5}}},
    {.name = "RSTR server aborts", .state = "RSTR", .history = "ShADr", .flow_state = "RSTR",
     .steps = {{C, F_S, 0, 0},
               {S, F_S | F_A, 0, 20},
               {C, F_A, 0, 20},
               {C, F_A | F_P, 100, 5},
               {S, F_R | F_A, 0, 20}}},
    {.name = "RSTR server resets a closing client", .state = "RSTR", .history = "ShADadFr",
     .flow_state = "RSTR", .steps = {OPEN, {C, F_F | F_A, 0, 50}, {S, F_R | F_A, 0, 20}}},
    {.name = "RSTOS0 SYN then client RST", .state = "RSTOS0", .history = "SR",
     .flow_state = "RSTOS0", .steps = {{C, F_S, 0, 0}, {C, F_R, 0, 300}}},
    {.name = "RSTOS0 with a bare ACK from the responder", .state = "RSTOS0", .history = "SaR",
     .flow_state = "RSTOS0",
     .steps = {{C, F_S, 0, 0}, {S, F_A, 0, 20}, {C, F_R, 0, 1}}},
    {.name = "RSTRH SYN-ACK then RST, SYN never seen", .state = "RSTRH", .history = "^hr",
     .flow_state = "RSTRH", .steps = {{S, F_S | F_A, 0, 0}, {S, F_R, 0, 20}}},
    {.name = "SH SYN then FIN, no answer", .state = "SH", .history = "SF", .flow_state = "SH",
     .steps = {{C, F_S, 0, 0}, {C, F_F, 0, 500}}},
    {.name = "SH one direction only: data and FIN", .state = "SH", .history = "DF",
     .flow_state = "SH",
     .steps = {{C, F_A | F_P, 100, 0}, {C, F_A | F_P, 200, 10}, {C, F_F | F_A, 0, 10}}},
    {.name = "SHR SYN-ACK then FIN, SYN never seen", .state = "SHR", .history = "^hf",
     .flow_state = "SHR", .steps = {{S, F_S | F_A, 0, 0}, {S, F_F | F_A, 0, 20}}},
    {.name = "SHR one direction only: server data and FIN", .state = "SHR", .history = "^df",
     .flow_state = "SHR", .steps = {{S, F_A | F_P, 300, 0}, {S, F_F | F_A, 0, 10}}},
    {.name = "OTH midstream, client first", .state = "OTH", .history = "DadA",
     .flow_state = "OTH",
     .steps = {{C, F_A | F_P, 100, 0}, {S, F_A, 0, 20}, {S, F_A | F_P, 300, 5}, {C, F_A, 0, 20}}},
    {.name = "OTH midstream, server first", .state = "OTH", .history = "^dADa",
     .flow_state = "OTH",
     .steps = {{S, F_A | F_P, 300, 0}, {C, F_A, 0, 20}, {C, F_A | F_P, 100, 5}, {S, F_A, 0, 20}}},
    {.name = "OTH lone RST", .state = "OTH", .history = "R", .flow_state = "OTH",
     .steps = {{C, F_R, 0, 0}}},
    /* Ports that mislead: with both directions starting in the same
     * millisecond only the initial flags tell the originator. */
    {.name = "SF active FTP data from port 20, 1 ms handshake", .state = "SF",
     .history = "ShADaFf", .flow_state = "SF", .cport = 20, .sport = 50000,
     .steps = {{C, F_S, 0, 0},
               {S, F_S | F_A, 0, 0},
               {C, F_A, 0, 1},
               {C, F_A | F_P, 1400, 0},
               {S, F_A, 0, 1},
               {C, F_F | F_A, 0, 1},
               {S, F_F | F_A, 0, 0},
               {C, F_A, 0, 1}}},
    {.name = "REJ backscatter: stray SYN-ACK answered by RST", .state = "REJ", .history = "Hr",
     .flow_state = "REJ", .cport = 40000, .sport = 50000,
     .steps = {{C, F_S | F_A, 0, 0}, {S, F_R, 0, 1}}},
    {.name = "RSTO backscatter from port 80", .state = "RSTO", .history = "^hR",
     .flow_state = "RSTO",
     .steps = {{S, F_S | F_A, 0, 0}, {C, F_R, 0, 1}}},
};

/* ------------------------------------------------------------- packets */

/* A case's packets as decoded layers.  Sequence numbers are consistent:
 * SYN and FIN take one number each, ACKs cover what the peer sent, and a
 * side that has not sent a SYN starts at its initial number all the same
 * (a capture that missed the SYN). */
typedef struct {
    pkt_layer_t l[MAX_STEPS];
    int from[MAX_STEPS];
    uint64_t ms[MAX_STEPS];
    int n;
} packets_t;

/* Every segment's bytes: a 20-byte TCP header, then payload. */
static uint8_t seg_bytes[20 + 1500];

static void
make_packets(const yaf_case_t *k, packets_t *p)
{
    const uint32_t isn[2] = {1000000, 5000000};
    uint32_t next[2] = {isn[0], isn[1]}; /* each side's next sequence number */
    uint64_t ms = T0_MS;
    uint16_t cport = k->cport ? k->cport : CLI_PORT, sport = k->sport ? k->sport : SRV_PORT;

    memset(p, 0, sizeof(*p));
    memset(seg_bytes, 'x', sizeof(seg_bytes));
    for (int i = 0; i < MAX_STEPS && k->steps[i].flags != 0; i++) {
        const step_t *s = &k->steps[i];
        pkt_layer_t *l = &p->l[i];

        ck_assert_uint_le(s->len, 1460);
        ms += s->gap;
        l->ts = (double)ms / 1000.0;
        l->ip_version = 4;
        l->proto = 6;
        ck_assert(addr_parse(s->from == C ? CLI_ADDR : SRV_ADDR, l->src));
        ck_assert(addr_parse(s->from == C ? SRV_ADDR : CLI_ADDR, l->dst));
        l->sport = s->from == C ? cport : sport;
        l->dport = s->from == C ? sport : cport;
        l->ip_len = 40 + s->len;
        l->l4 = seg_bytes;
        l->l4_len = 20 + s->len;
        l->l4_caplen = 20 + s->len;
        l->l4_complete = true;
        l->tcp_flags = s->flags;
        /* a resent SYN repeats the first one's sequence number */
        if (s->flags & TH_SYN)
            next[s->from] = isn[s->from];
        l->seq = next[s->from];
        l->ack = (s->flags & TH_ACK) ? next[1 - s->from] : 0;
        l->win = 64240;
        l->wscale = -1;
        l->payload = seg_bytes + 20;
        l->payload_len = s->len;
        l->payload_caplen = s->len;
        next[s->from] += s->len + ((s->flags & TH_SYN) ? 1 : 0) + ((s->flags & TH_FIN) ? 1 : 0);
        p->from[i] = s->from;
        p->ms[i] = ms;
        p->n = i + 1;
    }
    ck_assert_int_gt(p->n, 0);
}

/* ------------------------------------------------------- the YAF record */

/* What YAF exports for one TCP biflow (yaf.pod; research notes 1.7):
 * forward is the direction of the first packet; per direction the first
 * packet's flags (initialTCPFlags), the OR of all the others'
 * (unionTCPFlags), packet and octet totals and the first sequence number;
 * start and end in milliseconds, the reverse direction's start as a delta. */
typedef struct {
    uint32_t src, dst; /* host order */
    uint16_t sport, dport;
    uint64_t start_ms, end_ms;
    uint32_t rtt_ms; /* reverseFlowDeltaMilliseconds */
    uint64_t pkts[2], octets[2];
    uint8_t iflags[2], uflags[2];
    uint32_t isn[2];
    uint8_t end_reason;
} yaf_biflow_t;

static uint32_t
v4_of(const uint8_t a[16])
{
    return (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
}

static void
yaf_from_packets(const packets_t *p, yaf_biflow_t *y)
{
    const pkt_layer_t *first = &p->l[0];
    bool seen[2] = {false, false}, fin[2] = {false, false}, rst = false;
    uint64_t first_ms[2] = {0, 0};

    memset(y, 0, sizeof(*y));
    y->src = v4_of(first->src);
    y->dst = v4_of(first->dst);
    y->sport = first->sport;
    y->dport = first->dport;
    y->start_ms = p->ms[0];
    for (int i = 0; i < p->n; i++) {
        const pkt_layer_t *l = &p->l[i];
        int d = (memcmp(l->src, first->src, 16) == 0 && l->sport == first->sport) ? 0 : 1;

        if (!seen[d]) {
            seen[d] = true;
            y->iflags[d] = l->tcp_flags;
            y->isn[d] = l->seq;
            first_ms[d] = p->ms[i];
        } else {
            y->uflags[d] |= l->tcp_flags;
        }
        y->pkts[d]++;
        y->octets[d] += l->ip_len;
        if (p->ms[i] > y->end_ms)
            y->end_ms = p->ms[i];
        fin[d] |= (l->tcp_flags & TH_FIN) != 0;
        rst |= (l->tcp_flags & TH_RST) != 0;
    }
    y->rtt_ms = seen[1] ? (uint32_t)(first_ms[1] - first_ms[0]) : 0;
    /* YAF ends a TCP flow on RST or once both sides sent FIN (flowEndReason
     * 3, end of flow detected); anything else waits for the idle timeout. */
    y->end_reason = (rst || (fin[0] && fin[1])) ? 3 : 1;
}

/* ------------------------------------------------ writing it with fixbuf */

static void
xp_open(xp_t *x, const char *path, uint32_t export_secs)
{
    xp_init(x, fbExporterAllocFile(path), 1, export_secs);
}

/* YAF --silk: the CERT flags in the main record, one octet each. */
typedef struct __attribute__((packed)) {
    uint64_t start_ms, end_ms, octets, roctets, pkts, rpkts;
    uint32_t src, dst, rtt;
    uint16_t sport, dport;
    uint8_t proto, reason, iflags, uflags, riflags, ruflags;
} flat_rec_t;

static fbInfoElementSpec_t flat_spec[] = {
    {(char *)"flowStartMilliseconds", 8, 0},
    {(char *)"flowEndMilliseconds", 8, 0},
    {(char *)"octetTotalCount", 8, 0},
    {(char *)"reverseOctetTotalCount", 8, 0},
    {(char *)"packetTotalCount", 8, 0},
    {(char *)"reversePacketTotalCount", 8, 0},
    {(char *)"sourceIPv4Address", 4, 0},
    {(char *)"destinationIPv4Address", 4, 0},
    {(char *)"reverseFlowDeltaMilliseconds", 4, 0},
    {(char *)"sourceTransportPort", 2, 0},
    {(char *)"destinationTransportPort", 2, 0},
    {(char *)"protocolIdentifier", 1, 0},
    {(char *)"flowEndReason", 1, 0},
    {(char *)"initialTCPFlags", 1, 0},
    {(char *)"unionTCPFlags", 1, 0},
    {(char *)"reverseInitialTCPFlags", 1, 0},
    {(char *)"reverseUnionTCPFlags", 1, 0},
    FB_IESPEC_NULL};

/* YAF's default: the flags in the TCP sub-template (0xC003) of the
 * record's subTemplateMultiList, in yafcore.c's element order. */
typedef struct {
    fbSubTemplateMultiList_t stml;
    uint64_t start_ms, end_ms, octets, roctets, pkts, rpkts;
    uint32_t src, dst, rtt;
    uint16_t sport, dport;
    uint8_t proto, reason;
    uint8_t pad[6]; /* internal only: the C struct's tail padding */
} stml_rec_t;

static fbInfoElementSpec_t stml_spec[] = {
    {(char *)"subTemplateMultiList", 0, 0},
    {(char *)"flowStartMilliseconds", 8, 0},
    {(char *)"flowEndMilliseconds", 8, 0},
    {(char *)"octetTotalCount", 8, 0},
    {(char *)"reverseOctetTotalCount", 8, 0},
    {(char *)"packetTotalCount", 8, 0},
    {(char *)"reversePacketTotalCount", 8, 0},
    {(char *)"sourceIPv4Address", 4, 0},
    {(char *)"destinationIPv4Address", 4, 0},
    {(char *)"reverseFlowDeltaMilliseconds", 4, 0},
    {(char *)"sourceTransportPort", 2, 0},
    {(char *)"destinationTransportPort", 2, 0},
    {(char *)"protocolIdentifier", 1, 0},
    {(char *)"flowEndReason", 1, 0},
    {(char *)"paddingOctets", 6, SPEC_INTERNAL},
    FB_IESPEC_NULL};

typedef struct __attribute__((packed)) {
    uint32_t seq;
    uint8_t iflags, uflags, riflags, ruflags;
    uint32_t rseq;
} yaf_tcp_t;

static fbInfoElementSpec_t yaf_tcp_spec[] = {
    {(char *)"tcpSequenceNumber", 4, 0},      {(char *)"initialTCPFlags", 1, 0},
    {(char *)"unionTCPFlags", 1, 0},          {(char *)"reverseInitialTCPFlags", 1, 0},
    {(char *)"reverseUnionTCPFlags", 1, 0},   {(char *)"reverseTcpSequenceNumber", 4, 0},
    FB_IESPEC_NULL};

static uint32_t
export_secs(const yaf_biflow_t *y)
{
    return (uint32_t)(y->end_ms / 1000 + 1);
}

static void
write_flat(const char *path, const yaf_biflow_t *y)
{
    xp_t x;
    flat_rec_t r;

    memset(&r, 0, sizeof(r));
    r.start_ms = y->start_ms;
    r.end_ms = y->end_ms;
    r.octets = y->octets[0];
    r.roctets = y->octets[1];
    r.pkts = y->pkts[0];
    r.rpkts = y->pkts[1];
    r.src = y->src;
    r.dst = y->dst;
    r.rtt = y->rtt_ms;
    r.sport = y->sport;
    r.dport = y->dport;
    r.proto = 6;
    r.reason = y->end_reason;
    r.iflags = y->iflags[0];
    r.uflags = y->uflags[0];
    r.riflags = y->iflags[1];
    r.ruflags = y->uflags[1];
    xp_open(&x, path, export_secs(y));
    xp_template(&x, 0xB000, flat_spec, 0, sizeof(r));
    xp_append(&x, 0xB000, &r, sizeof(r));
    xp_close(&x);
}

static void
write_stml(const char *path, const yaf_biflow_t *y)
{
    xp_t x;
    stml_rec_t r;
    fbTemplate_t *ttcp;
    fbSubTemplateMultiListEntry_t *en;
    yaf_tcp_t *tcp;

    xp_open(&x, path, export_secs(y));
    xp_template(&x, 0xB001, stml_spec, 0, sizeof(r));
    ttcp = xp_template(&x, 0xC003, yaf_tcp_spec, 0, sizeof(yaf_tcp_t));
    memset(&r, 0, sizeof(r));
    r.start_ms = y->start_ms;
    r.end_ms = y->end_ms;
    r.octets = y->octets[0];
    r.roctets = y->octets[1];
    r.pkts = y->pkts[0];
    r.rpkts = y->pkts[1];
    r.src = y->src;
    r.dst = y->dst;
    r.rtt = y->rtt_ms;
    r.sport = y->sport;
    r.dport = y->dport;
    r.proto = 6;
    r.reason = y->end_reason;
    en = fbSubTemplateMultiListInit(&r.stml, 0, 1);
    tcp = fbSubTemplateMultiListEntryInit(en, 0xC003, ttcp, 1);
    ck_assert_ptr_nonnull(tcp);
    tcp->seq = y->isn[0];
    tcp->iflags = y->iflags[0];
    tcp->uflags = y->uflags[0];
    tcp->riflags = y->iflags[1];
    tcp->ruflags = y->uflags[1];
    tcp->rseq = y->isn[1];
    xp_append(&x, 0xB001, &r, sizeof(r));
    fbSubTemplateMultiListClear(&r.stml);
    xp_close(&x);
}

/* ------------------------------------------------------------ builders */

typedef struct {
    conn_builder_t *cb;
    conn_config_t cfg;
    uid_gen_t uids;
    weird_counters_t weirds;
    GArray *rows; /* conn_record_t */
    unsigned flows;
} side_t;

static void
collect(const conn_record_t *rec, void *user)
{
    g_array_append_val(((side_t *)user)->rows, *rec);
}

static void
side_init(side_t *s)
{
    memset(s, 0, sizeof(*s));
    conn_config_defaults(&s->cfg);
    /* hand-built segments carry no valid checksums */
    s->cfg.ignore_checksums = true;
    uid_gen_init_seed(&s->uids, 1);
    s->rows = g_array_new(FALSE, TRUE, sizeof(conn_record_t));
    s->cb = conn_builder_new(&s->cfg, &s->uids, &s->weirds, collect, s);
    ck_assert_ptr_nonnull(s->cb);
}

/* Flush and return the one row the case must produce (copied into @p out). */
static void
side_finish(side_t *s, conn_record_t *out)
{
    conn_builder_flush(s->cb);
    ck_assert_uint_eq(s->rows->len, 1);
    *out = g_array_index(s->rows, conn_record_t, 0);
    conn_builder_free(s->cb);
    g_array_free(s->rows, TRUE);
}

static void
flow_to_builder(const flow_obs_t *o, void *user)
{
    side_t *s = user;

    s->flows++;
    conn_builder_flow(s->cb, o);
}

/* Read @p path through the collector into a fresh builder. */
static void
flow_path(const char *path, conn_record_t *out)
{
    ipfix_collector_config_t cfg = {.templates_dir = TEMPLATES};
    GError *err = NULL;
    side_t s;
    ipfix_collector_t *c;
    GArray *st;

    side_init(&s);
    c = ipfix_collector_new(&cfg, flow_to_builder, &s, &err);
    ck_assert_msg(c != NULL, "collector: %s", err ? err->message : "?");
    ck_assert_msg(ipfix_collector_add_file(c, path, &err), "%s", err ? err->message : "");
    while (ipfix_collector_poll(c, 0) >= 0)
        ;
    ck_assert_uint_eq(s.flows, 1);
    st = ipfix_collector_stats(c);
    ck_assert_uint_eq(st->len, 1);
    ck_assert_uint_eq(g_array_index(st, ipfix_exporter_stats_t, 0).n[IPFIX_CTR_MISSING_TEMPLATE],
                      0);
    ck_assert_uint_eq(g_array_index(st, ipfix_exporter_stats_t, 0).n[IPFIX_CTR_MALFORMED], 0);
    g_array_unref(st);
    ipfix_collector_free(c);
    side_finish(&s, out);
}

/* --------------------------------------------------------------- tests */

static void
assert_flow_matches(const yaf_case_t *k, const conn_record_t *pk, const conn_record_t *fl,
                    const char *form)
{
    ck_assert_msg(strcmp(conn_state_name(fl->conn_state), k->flow_state) == 0,
                  "%s (%s): flow path gives %s, expected %s", k->name, form,
                  conn_state_name(fl->conn_state), k->flow_state);
    if (!k->flow_swapped) {
        ck_assert_uint_eq(fl->orig_p, pk->orig_p);
        ck_assert_uint_eq(fl->orig_pkts, pk->orig_pkts);
        ck_assert_uint_eq(fl->orig_ip_bytes, pk->orig_ip_bytes);
        ck_assert_uint_eq(fl->resp_pkts, pk->resp_pkts);
        ck_assert_uint_eq(fl->resp_ip_bytes, pk->resp_ip_bytes);
    } else {
        ck_assert_uint_eq(fl->orig_p, pk->resp_p);
        ck_assert_uint_eq(fl->orig_pkts, pk->resp_pkts);
        ck_assert_uint_eq(fl->orig_ip_bytes, pk->resp_ip_bytes);
        ck_assert_uint_eq(fl->resp_pkts, pk->orig_pkts);
        ck_assert_uint_eq(fl->resp_ip_bytes, pk->orig_ip_bytes);
    }
    ck_assert_double_eq_tol(fl->ts, pk->ts, 1e-6);
}

START_TEST(test_case)
{
    const yaf_case_t *k = &cases[_i];
    packets_t p;
    yaf_biflow_t y;
    side_t pkt;
    conn_record_t pk, flat, stml;
    char *dir = g_dir_make_tmp("check_yafstates-XXXXXX", NULL);
    char *flat_path, *stml_path;

    ck_assert_ptr_nonnull(dir);
    flat_path = g_build_filename(dir, "flat.ipfix", NULL);
    stml_path = g_build_filename(dir, "stml.ipfix", NULL);

    make_packets(k, &p);

    side_init(&pkt);
    for (int i = 0; i < p.n; i++)
        conn_builder_packet(pkt.cb, &p.l[i], NULL, NULL);
    side_finish(&pkt, &pk);
    ck_assert_msg(strcmp(conn_state_name(pk.conn_state), k->state) == 0,
                  "%s: packet path gives %s, Zeek gives %s", k->name,
                  conn_state_name(pk.conn_state), k->state);
    ck_assert_str_eq(pk.history, k->history);
    ck_assert_uint_eq(pk.orig_pkts + pk.resp_pkts, (uint64_t)p.n);

    yaf_from_packets(&p, &y);
    ck_assert_uint_eq(y.pkts[0] + y.pkts[1], (uint64_t)p.n);
    write_flat(flat_path, &y);
    write_stml(stml_path, &y);
    flow_path(flat_path, &flat);
    flow_path(stml_path, &stml);

    printf("%-46s packet %-6s %-10s | flat %-6s %-10s | stml %-6s %-10s%s\n", k->name,
           conn_state_name(pk.conn_state), pk.history, conn_state_name(flat.conn_state),
           flat.history, conn_state_name(stml.conn_state), stml.history,
           k->flow_swapped ? " (swapped)" : "");
    fflush(stdout);
    assert_flow_matches(k, &pk, &flat, "flat");
    assert_flow_matches(k, &pk, &stml, "stml");
    /* the two encodings carry the same information */
    ck_assert_str_eq(flat.history, stml.history);

    g_unlink(flat_path);
    g_unlink(stml_path);
    g_rmdir(dir);
    g_free(flat_path);
    g_free(stml_path);
    g_free(dir);
}
END_TEST

/* Every row of Zeek's TCP conn_state table has a case, and every case where
 * the flow path differs says why. */
START_TEST(test_table_complete)
{
    bool covered[CONN_STATE_COUNT] = {false};
    unsigned differ = 0;

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        bool found = false;

        for (int s = 0; s < CONN_STATE_COUNT; s++) {
            if (strcmp(conn_state_name((conn_state_t)s), cases[i].state) == 0) {
                covered[s] = true;
                found = true;
            }
        }
        ck_assert_msg(found, "%s: unknown state %s", cases[i].name, cases[i].state);
        if (strcmp(cases[i].state, cases[i].flow_state) != 0 || cases[i].flow_swapped) {
            ck_assert_msg(cases[i].why != NULL, "%s: difference without a reason", cases[i].name);
            differ++;
        } else {
            ck_assert_msg(cases[i].why == NULL, "%s: a reason but no difference", cases[i].name);
        }
    }
    for (int s = 0; s < CONN_STATE_COUNT; s++)
        ck_assert_msg(covered[s], "no case for %s", conn_state_name((conn_state_t)s));
    /* Each state must also have at least one case the flow path gets
     * exactly right. */
    for (int s = 0; s < CONN_STATE_COUNT; s++) {
        bool exact = false;

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
            exact |= strcmp(cases[i].state, conn_state_name((conn_state_t)s)) == 0
                     && strcmp(cases[i].flow_state, cases[i].state) == 0
                     && !cases[i].flow_swapped;
        ck_assert_msg(exact, "no exact flow case for %s", conn_state_name((conn_state_t)s));
    }
    printf("yafstates: %zu cases, %u where the flow path differs (documented)\n",
           G_N_ELEMENTS(cases), differ);
}
END_TEST

static Suite *
yafstates_suite(void)
{
    Suite *s = suite_create("yafstates");
    TCase *tc = tcase_create("conn_state");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_table_complete);
    tcase_add_loop_test(tc, test_case, 0, (int)G_N_ELEMENTS(cases));
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(yafstates_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
