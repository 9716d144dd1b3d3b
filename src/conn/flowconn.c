/*
 * Connections from flow records.  Routers report counters and TCP flags,
 * not packets, so a flow connection keeps per-side aggregates (key side a
 * and b) and decides originator, conn_state and history only when it is
 * logged, from everything its records said: uniflows of both directions
 * and the pieces an exporter's active timeout cut a long flow into all
 * merge into one connection of the builder's table.
 *
 * conn_state follows Zeek's conn_state() table over endpoint states
 * derived from flags; history is an honest approximation in canonical
 * order (see docs/flows.md for what is exact, estimated or unavailable).
 */
#include <string.h>

#include <glib.h>

#include "conn/internal.h"

static void
merge_side(flow_state_t *fs, int side, uint64_t pkts, uint64_t octets, bool has_payload,
           uint64_t payload, double start, double end, uint8_t flags, bool has_init,
           uint8_t init)
{
    if (pkts == 0 && octets == 0 && flags == 0)
        return; /* the record says nothing about this side */
    fs->pkts[side] += pkts;
    fs->octets[side] += octets;
    if (has_payload) {
        fs->payload[side] += payload;
        fs->has_payload[side] = true;
    }
    fs->flags[side] |= flags;
    /* the initial flags are those of the side's earliest record */
    if (has_init && (!fs->has_init[side] || (start > 0 && start < fs->start[side]))) {
        fs->init_flags[side] = init;
        fs->has_init[side] = true;
    }
    if (start > 0 && (fs->start[side] == 0 || start < fs->start[side]))
        fs->start[side] = start;
    if (end > fs->end[side])
        fs->end[side] = end;
}

/* What a record's connection is, worked out before the table is touched,
 * so that a batch can prefetch the table slots ahead (conn_builder_flows). */
typedef struct {
    conn_key_t k;
    uint32_t hash;
    conn_proto_t transport;
    uint16_t sport, dport; /* as keyed: ICMP type and counterpart type or code */
} flow_prep_t;

static void
flow_prepare(conn_builder_t *cb, const flow_obs_t *f, flow_prep_t *p)
{
    conn_proto_t transport;
    uint16_t sport = f->sport, dport = f->dport;
    bool one_way = false;

    switch (f->proto) {
    case 6:
        transport = CONN_PROTO_TCP;
        break;
    case 17:
        transport = CONN_PROTO_UDP;
        break;
    case 1:
    case 58: {
        if ((f->proto == 58) != (f->ip_version == 6)) {
            transport = CONN_PROTO_UNKNOWN;
            sport = dport = 0;
            break;
        }
        transport = CONN_PROTO_ICMP;
        uint8_t type = (uint8_t)(f->dport >> 8), code = (uint8_t)f->dport, other;
        bool paired = conn_icmp_counterpart(f->proto == 58, type, &other);
        sport = type;
        dport = paired ? other : code;
        one_way = !paired;
        break;
    }
    default:
        transport = CONN_PROTO_UNKNOWN;
        sport = dport = 0;
        break;
    }

    conn_key_make(&p->k, f->src, sport, f->dst, dport, f->proto, one_way, f->exporter_id + 1);
    p->hash = conn_key_hash(cb, &p->k);
    p->transport = transport;
    p->sport = sport;
    p->dport = dport;
}

static void
flow_apply(conn_builder_t *cb, const flow_obs_t *f, const flow_prep_t *p)
{
    const conn_config_t *cfg = conn_builder_config(cb);
    conn_proto_t transport = p->transport;
    uint16_t sport = p->sport, dport = p->dport;

    double end = f->end > f->rev_end ? f->end : f->rev_end;
    double start = f->start;
    if (f->has_reverse && f->rev_start > 0 && (start == 0 || f->rev_start < start))
        start = f->rev_start;
    if (start <= 0 || end < start)
        start = end;
    /* An exporter clock far ahead of ours must not drag every connection's
     * timers with it: trust the collector's clock then. */
    if (f->received > 0 && end > f->received + 3600)
        end = start = f->received;
    conn_builder_advance(cb, end);

    uint32_t h = p->hash;
    conn_t *c = conn_lookup_hashed(cb, &p->k, h);
    if (!c) {
        c = conn_create(cb, &p->k, h, f->src, sport, transport, start);
        if (!c)
            return;
        c->u.flow->first_is_a = c->orig_is_a;
        svc_conn_new(conn_builder_svc(cb), &c->svc, f->src, sport, f->dst, dport,
                     transport == CONN_PROTO_TCP, start);
    }
    flow_state_t *fs = c->u.flow;

    uint64_t scale = 1;
    if (f->sampling_interval > 1) {
        if (f->sampling_interval > fs->sampling)
            fs->sampling = f->sampling_interval;
        if (cfg->flow_scale_sampled)
            scale = f->sampling_interval;
    }
    int fwd = (memcmp(c->a, f->src, 16) == 0 && c->pa == sport) ? 0 : 1;
    merge_side(fs, fwd, f->pkts * scale, f->octets * scale, f->has_payload_octets,
               f->payload_octets * scale, f->start, f->end, f->flags, f->has_initial_flags,
               f->initial_flags);
    if (f->has_reverse)
        merge_side(fs, 1 - fwd, f->rev_pkts * scale, f->rev_octets * scale,
                   f->has_payload_octets, f->rev_payload_octets * scale,
                   f->rev_start > 0 ? f->rev_start : f->start,
                   f->rev_end > 0 ? f->rev_end : f->end, f->rev_flags, f->has_initial_flags,
                   f->rev_initial_flags);
    fs->records++;
    fs->ended = f->end_reason != FLOW_END_ACTIVE;
    if (f->app_id) {
        fs->app_label = f->app_id;
        svc_from_app_label(&c->svc, f->app_id);
    }

    if (start < c->start_time)
        c->start_time = start;
    if (end > c->last_time)
        c->last_time = end;

    /* Wait for the other direction or the next active-timeout piece. */
    double wait = fs->ended ? cfg->flow_linger : cfg->flow_active_timeout;
    double touched = end;
    if (f->received > touched)
        touched = f->received;
    if (touched > fs->touched)
        fs->touched = touched;
    c->inact_timeout = (float)wait;
    conn_set_timer(cb, c, TMR_INACT, fs->touched + wait);
}

void
conn_builder_flow(conn_builder_t *cb, const flow_obs_t *f)
{
    flow_prep_t p;

    flow_prepare(cb, f, &p);
    flow_apply(cb, f, &p);
}

/* Records are prepared FLOW_AHEAD ahead of their turn and their table slot
 * prefetched: at a million connections the slot is a cache miss, and it
 * was most of the table lookup's cost (10% of the builder's time). */
#define FLOW_AHEAD 8

void
conn_builder_flows(conn_builder_t *cb, const flow_obs_t *f, size_t n)
{
    flow_prep_t ring[FLOW_AHEAD];

    /* ring[i % FLOW_AHEAD] holds record i - FLOW_AHEAD until it is built,
     * then record i */
    for (size_t i = 0; i < n + FLOW_AHEAD; i++) {
        flow_prep_t *slot = &ring[i % FLOW_AHEAD];
        if (i >= FLOW_AHEAD)
            flow_apply(cb, &f[i - FLOW_AHEAD], slot);
        if (i < n) {
            flow_prepare(cb, &f[i], slot);
            conn_table_prefetch(cb, slot->hash);
        }
    }
}

/* ------------------------------------------------------------------ */
/* reconstruction at log time                                           */

static bool
likely_server(const conn_config_t *cfg, conn_proto_t t, uint16_t port)
{
    const uint8_t *bits = t == CONN_PROTO_UDP ? cfg->likely_server_udp : cfg->likely_server_tcp;
    return (bits[port >> 3] >> (port & 7)) & 1;
}

static inline bool
syn_only(uint8_t f)
{
    return (f & TH_SYN) && !(f & TH_ACK);
}

/* The side that sent the first packet: the earlier start, else the
 * forward direction of the first record. */
static int
first_side(const flow_state_t *fs)
{
    if (fs->start[0] > 0 && fs->start[1] > 0 && fs->start[0] != fs->start[1])
        return fs->start[0] < fs->start[1] ? 0 : 1;
    if (fs->start[0] > 0 && fs->start[1] == 0)
        return 0;
    if (fs->start[1] > 0 && fs->start[0] == 0)
        return 1;
    return fs->first_is_a ? 0 : 1;
}

/* Which key side (0 = a, 1 = b) is the originator (research notes 3.4),
 * strongest evidence first:
 *  1. the side whose first packet was a SYN without ACK (initial flags);
 *  2. with union flags only: the side that sent SYN but never ACK while
 *     the other side acked (a rejected or unanswered opening);
 *  3. the side whose traffic started first;
 *  4. the side not on one of Zeek's likely server ports;
 *  5. the side on the ephemeral-looking port (>= 32768, else >= 1024);
 *  6. the forward direction of the first record.
 * Exporters that write biflows in address order (softflowd -b) and give
 * one start time for both directions make 4 and 5 matter. */
static int
choose_orig(const conn_config_t *cfg, const conn_t *c, const flow_state_t *fs)
{
    if (c->one_way)
        return 0;
    bool plain_syn_opening = false;
    if (c->transport == CONN_PROTO_TCP) {
        bool s0 = fs->has_init[0] && syn_only(fs->init_flags[0]);
        bool s1 = fs->has_init[1] && syn_only(fs->init_flags[1]);
        if (s0 != s1)
            return s0 ? 0 : 1;
        /* A connection seen from a SYN-ACK on (its SYN was missed): Zeek
         * keeps the SYN-ACK's sender as originator unless a likely server
         * port flips it at creation, or the other side then sends a pure
         * ACK or data (the "^h" rule).  A lone RST in answer does neither:
         * backscatter stays REJ. */
        bool h0 = fs->has_init[0] && (fs->init_flags[0] & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK);
        bool h1 = fs->has_init[1] && (fs->init_flags[1] & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK);
        if (h0 != h1) {
            int hs = h0 ? 0 : 1, other = 1 - hs;
            uint16_t hp = hs == 0 ? c->pa : c->pb, op = hs == 0 ? c->pb : c->pa;
            if (likely_server(cfg, CONN_PROTO_TCP, hp) && !likely_server(cfg, CONN_PROTO_TCP, op))
                return other;
            uint8_t of = fs->flags[other];
            bool lone_close = (of & (TH_RST | TH_FIN)) && fs->pkts[other] <= 1;
            if ((of & TH_ACK) && !lone_close)
                return other;
            return hs;
        }
        bool o0 = syn_only(fs->flags[0]) && (fs->flags[1] & TH_ACK);
        bool o1 = syn_only(fs->flags[1]) && (fs->flags[0] & TH_ACK);
        if (o0 != o1)
            return o0 ? 0 : 1;
        plain_syn_opening = s0 || (!fs->has_init[0] && !fs->has_init[1] &&
                                   (fs->flags[0] & TH_SYN) && (fs->flags[1] & TH_SYN));
    }
    int first = first_side(fs);
    bool udp_or_tcp = c->transport == CONN_PROTO_TCP || c->transport == CONN_PROTO_UDP;
    /* Zeek flips a connection that does not open with a plain SYN when it
     * starts from a likely server port toward one that is not
     * (TCPAnalyzer/UDPAnalyzer::WantConnection): that outranks timing. */
    if (udp_or_tcp && !plain_syn_opening) {
        uint16_t fp = first == 0 ? c->pa : c->pb, op = first == 0 ? c->pb : c->pa;
        if (likely_server(cfg, (conn_proto_t)c->transport, fp) &&
            !likely_server(cfg, (conn_proto_t)c->transport, op))
            return 1 - first;
    }
    if (fs->start[0] > 0 && fs->start[1] > 0 && fs->start[0] != fs->start[1])
        return fs->start[0] < fs->start[1] ? 0 : 1;
    if (udp_or_tcp) {
        bool srv0 = likely_server(cfg, (conn_proto_t)c->transport, c->pa);
        bool srv1 = likely_server(cfg, (conn_proto_t)c->transport, c->pb);
        if (srv0 != srv1)
            return srv0 ? 1 : 0;
        for (unsigned floor = 32768; floor >= 1024; floor = floor == 32768 ? 1024 : 0) {
            bool e0 = c->pa >= floor, e1 = c->pb >= floor;
            if (e0 != e1)
                return e0 ? 0 : 1;
        }
    }
    return fs->first_is_a ? 0 : 1;
}

/* Estimated transport payload of a side: exact when the exporter reports
 * it, otherwise IP bytes minus minimal IP and transport headers. */
static uint64_t
side_payload(const conn_t *c, const flow_state_t *fs, int side)
{
    if (fs->has_payload[side])
        return fs->payload[side];
    uint64_t ip = addr_is_v4(c->a) ? 20 : 40;
    uint64_t l4 = c->transport == CONN_PROTO_TCP ? 20 : 8;
    if (c->transport == CONN_PROTO_UNKNOWN)
        return 0;
    if (c->transport == CONN_PROTO_TCP && syn_only(fs->flags[side]))
        return 0; /* a side that never acked only sent SYNs (and their options) */
    uint64_t hdr = fs->pkts[side] * (ip + l4);
    if (c->transport == CONN_PROTO_TCP && (fs->flags[side] & TH_SYN))
        hdr += 20; /* a SYN's options (MSS, SACK, timestamps, window scale) */
    uint64_t est = fs->octets[side] > hdr ? fs->octets[side] - hdr : 0;
    /* Timestamps add 12 option bytes to every segment: that much per packet
     * is more likely options than data. */
    if (c->transport == CONN_PROTO_TCP && est <= fs->pkts[side] * 12)
        return 0;
    return est;
}

/* Endpoint state as Zeek's state machine would have left it, from the
 * flags the side sent (no ordering is known, so RST and FIN win). */
static uint8_t
endpoint_state(const conn_t *c, const flow_state_t *fs, int side, int peer, bool is_orig)
{
    uint8_t fl = fs->flags[side], pf = fs->flags[peer];
    /* After a FIN exchange Zeek ignores a RST (UpdateClosedState), and a
     * peer's FIN turns a FIN-then-RST side back to CLOSED. */
    if ((fl & TH_RST) && !((fl & TH_FIN) && (pf & TH_FIN) && !(pf & TH_RST)))
        return TCP_RESET;
    if (fl & TH_FIN)
        return TCP_CLOSED;
    if (fl & TH_SYN) {
        if (!is_orig)
            return TCP_ESTABLISHED;
        if (pf & TH_SYN)
            return TCP_ESTABLISHED;
        return (fs->has_init[side] && (fs->init_flags[side] & TH_ACK)) ? TCP_SYN_ACK_SENT
                                                                       : TCP_SYN_SENT;
    }
    if (fs->pkts[side] == 0)
        return TCP_INACTIVE;
    if (is_orig) {
        /* no SYN: established by acking a responder that sent one */
        if ((fl & TH_ACK) && (pf & TH_SYN))
            return TCP_ESTABLISHED;
        return TCP_PARTIAL;
    }
    /* A responder that never sent SYN stays INACTIVE while it only acks an
     * originator's SYN (UpdateInactiveState's early-ack case), PARTIAL once
     * it sends data. */
    if ((pf & TH_SYN) && side_payload(c, fs, side) == 0)
        return TCP_INACTIVE;
    return TCP_PARTIAL;
}

static void
hist_add(conn_record_t *r, size_t *n, char ch)
{
    if (*n < CONN_HISTORY_MAX) {
        r->history[(*n)++] = ch;
        r->history[*n] = '\0';
    }
}

void
flow_fill_record(conn_builder_t *cb, const conn_t *c, conn_record_t *r)
{
    const conn_config_t *cfg = conn_builder_config(cb);
    const flow_state_t *fs = c->u.flow;
    int o = choose_orig(cfg, c, fs), p = 1 - o;
    /* '^' only when the records showed which side spoke first and we chose
     * the other: a biflow's forward direction alone proves nothing, since
     * some exporters order it by address. */
    bool timed = fs->start[0] > 0 && fs->start[1] > 0 && fs->start[0] != fs->start[1];
    bool swapped = timed && o != first_side(fs);

    memcpy(r->orig_h, o == 0 ? c->a : c->b, 16);
    memcpy(r->resp_h, o == 0 ? c->b : c->a, 16);
    r->orig_p = o == 0 ? c->pa : c->pb;
    r->resp_p = o == 0 ? c->pb : c->pa;

    double duration = c->last_time - c->start_time;
    r->has_duration = duration > 0;
    r->duration = duration;
    r->orig_pkts = fs->pkts[o];
    r->orig_ip_bytes = fs->octets[o];
    r->resp_pkts = fs->pkts[p];
    r->resp_ip_bytes = fs->octets[p];
    r->orig_bytes = side_payload(c, fs, o);
    r->resp_bytes = side_payload(c, fs, p);
    r->missed_bytes = 0;

    size_t n = 0;
    if (swapped && c->transport != CONN_PROTO_ICMP && c->transport != CONN_PROTO_UNKNOWN)
        hist_add(r, &n, '^');

    switch (c->transport) {
    case CONN_PROTO_TCP: {
        uint8_t fo = fs->flags[o], fr = fs->flags[p];
        if (fo & TH_SYN)
            hist_add(r, &n, fs->has_init[o] && (fs->init_flags[o] & TH_ACK) ? 'H' : 'S');
        if (fr & TH_SYN)
            hist_add(r, &n, fs->has_init[p] && !(fs->init_flags[p] & TH_ACK) ? 's' : 'h');
        if (fo & TH_ACK)
            hist_add(r, &n, 'A');
        if (r->orig_bytes > 0)
            hist_add(r, &n, 'D');
        if (fr & TH_ACK)
            hist_add(r, &n, 'a');
        if (r->resp_bytes > 0)
            hist_add(r, &n, 'd');
        if (fo & TH_FIN)
            hist_add(r, &n, 'F');
        if (fr & TH_FIN)
            hist_add(r, &n, 'f');
        if (fo & TH_RST)
            hist_add(r, &n, 'R');
        if (fr & TH_RST)
            hist_add(r, &n, 'r');

        /* Zeek's conn_state() over the reconstructed endpoint states. */
        uint8_t os = endpoint_state(c, fs, o, p, true), rs = endpoint_state(c, fs, p, o, false);
        bool o_inact = os == TCP_INACTIVE || os == TCP_PARTIAL;
        bool r_inact = rs == TCP_INACTIVE || rs == TCP_PARTIAL;
        conn_state_t st;
        if (rs == TCP_RESET) {
            if (os == TCP_SYN_SENT || os == TCP_SYN_ACK_SENT ||
                (os == TCP_RESET && r->orig_bytes == 0 && r->resp_bytes == 0))
                st = CONN_STATE_REJ;
            else if (o_inact)
                st = CONN_STATE_RSTRH;
            else
                st = CONN_STATE_RSTR;
        } else if (os == TCP_RESET) {
            if (r_inact) {
                /* ^?S[^HAFGIQ]*R: a SYN, then the originator's RST, nothing else */
                bool pattern = (fo & TH_SYN) && !(fo & (TH_ACK | TH_FIN)) && !(fr & TH_SYN);
                st = pattern ? CONN_STATE_RSTOS0 : CONN_STATE_OTH;
            } else {
                st = CONN_STATE_RSTO;
            }
        } else if (os == TCP_CLOSED && rs == TCP_CLOSED) {
            st = CONN_STATE_SF;
        } else if (os == TCP_CLOSED) {
            st = r_inact ? CONN_STATE_SH : CONN_STATE_S2;
        } else if (rs == TCP_CLOSED) {
            st = o_inact ? CONN_STATE_SHR : CONN_STATE_S3;
        } else if (os == TCP_SYN_SENT && rs == TCP_INACTIVE) {
            st = CONN_STATE_S0;
        } else if (os == TCP_ESTABLISHED && rs == TCP_ESTABLISHED) {
            st = CONN_STATE_S1;
        } else {
            st = CONN_STATE_OTH;
        }
        r->conn_state = st;
        break;
    }
    case CONN_PROTO_UDP:
        if (fs->pkts[o])
            hist_add(r, &n, 'D');
        if (fs->pkts[p])
            hist_add(r, &n, 'd');
        r->conn_state = fs->pkts[o] && fs->pkts[p] ? CONN_STATE_SF
                        : fs->pkts[o]             ? CONN_STATE_S0
                        : fs->pkts[p]             ? CONN_STATE_SHR
                                                  : CONN_STATE_OTH;
        break;
    default:
        r->conn_state = CONN_STATE_OTH;
        break;
    }
}
