/*
 * TCP as Zeek sees it: endpoint state machines, history letters, sequence
 * bookkeeping for byte counts (with 32-bit wrap), the reassembler's gap
 * accounting for missed_bytes, closes, and the attempt/expire timers.
 *
 * The rules follow Zeek's TCPSessionAdapter, TCP_Endpoint and
 * TCP_Reassembler (spec: zeek-conn-semantics.md sections 1, 2, 4 and 8);
 * comments name the Zeek function each piece reproduces.  Payload bytes are
 * never kept: the reassembler is emulated with sequence ranges only.
 */
#include <ctype.h>
#include <string.h>

#include <glib.h>

#include "conn/internal.h"

#define TOO_LARGE_SEQ_DELTA 1048576
#define FP_ORIG 1
#define FP_RESP 2

static inline int32_t
seq_delta(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

static inline tcp_endpoint_t *
ep_orig(const conn_t *c)
{
    return &c->u.tcp->e[c->u.tcp->orig_idx];
}

static inline tcp_endpoint_t *
ep_resp(const conn_t *c)
{
    return &c->u.tcp->e[1 - c->u.tcp->orig_idx];
}

static inline tcp_endpoint_t *
ep_peer(const conn_t *c, const tcp_endpoint_t *ep)
{
    return ep == &c->u.tcp->e[0] ? &c->u.tcp->e[1] : &c->u.tcp->e[0];
}

static inline bool
ep_is_orig(const conn_t *c, const tcp_endpoint_t *ep)
{
    return ep == ep_orig(c);
}

static inline uint64_t
full_seq(uint32_t seq, uint32_t wraps)
{
    return ((uint64_t)wraps << 32) | seq;
}

static inline uint64_t
rel_seq_space(const tcp_endpoint_t *ep, uint32_t seq, uint32_t wraps)
{
    return full_seq(seq, wraps) - (uint64_t)ep->start_seq;
}

static inline void
update_last_seq_raw(tcp_endpoint_t *ep, uint32_t seq)
{
    if (seq < ep->last_seq)
        ++ep->seq_wraps;
    ep->last_seq = seq;
}

static inline void
update_ack_seq_raw(tcp_endpoint_t *ep, uint32_t seq)
{
    if (seq < ep->ack_seq)
        ++ep->ack_wraps;
    ep->ack_seq = seq;
}

/* TCP_Endpoint::NoDataAcked */
static inline bool
no_data_acked(const tcp_endpoint_t *ep)
{
    return ep->ack_seq == ep->start_seq || ep->ack_seq == ep->start_seq + 1;
}

static inline bool
is_handshake(uint8_t s)
{
    return s == TCP_INACTIVE || s == TCP_SYN_SENT || s == TCP_SYN_ACK_SENT;
}

/* TCP_Endpoint::SetState: leaving the handshake installs the TCP
 * inactivity timeout. */
static void
set_state(conn_builder_t *cb, conn_t *c, tcp_endpoint_t *ep, uint8_t st)
{
    if (st == ep->state)
        return;
    tcp_endpoint_t *peer = ep_peer(c, ep);
    if (!is_handshake(st) && is_handshake(ep->state) && is_handshake(peer->state))
        conn_set_inactivity_timeout(cb, c, conn_builder_config(cb)->tcp_inactivity_timeout);
    ep->prev_state = ep->state;
    ep->state = st;
}

/* ------------------------------------------------------------------ */
/* life cycle                                                           */

bool
tcp_conn_init(conn_builder_t *cb, conn_t *c)
{
    tcp_state_t *t = conn_tcp_alloc(cb);
    if (!t)
        return false;
    for (int i = 0; i < 2; i++) {
        t->e[i].last_reassem_seq = 1;
        t->e[i].trim_seq = 1;
    }
    t->is_active = true;
    c->u.tcp = t;
    return true;
}

void
tcp_conn_free(conn_builder_t *cb, conn_t *c)
{
    if (!c->u.tcp)
        return;
    for (int i = 0; i < 2; i++)
        conn_blocks_free(cb, c->u.tcp->e[i].blocks);
    conn_tcp_free(cb, c->u.tcp);
    c->u.tcp = NULL;
}

void
tcp_flip(conn_t *c)
{
    /* TCPSessionAdapter::FlipRoles */
    tcp_state_t *t = c->u.tcp;
    t->orig_idx ^= 1;
    t->first_packet_seen =
        (uint8_t)(((t->first_packet_seen & FP_ORIG) ? FP_RESP : 0) |
                  ((t->first_packet_seen & FP_RESP) ? FP_ORIG : 0));
    t->is_partial = false;
}

bool
tcp_want_flip(const conn_config_t *cfg, uint16_t sport, uint16_t dport, uint8_t flags)
{
    /* TCPAnalyzer::WantConnection: only connections that do not start
     * with a plain SYN are candidates. */
    if ((flags & TH_SYN) && !(flags & TH_ACK))
        return false;
    bool src_srv = (cfg->likely_server_tcp[sport >> 3] >> (sport & 7)) & 1;
    bool dst_srv = (cfg->likely_server_tcp[dport >> 3] >> (dport & 7)) & 1;
    if (!src_srv)
        return false;
    if (dst_srv)
        return !(flags & TH_SYN) && sport < dport;
    return true;
}

/* ------------------------------------------------------------------ */
/* history                                                              */

/* TCP_Endpoint::CheckHistory, with the SYN-ACK special case: a connection
 * whose history is exactly "H" when the first A or D appears was seen from
 * the server's SYN-ACK on; flip it and rewrite the history to "^h". */
static bool
ep_check_history(conn_builder_t *cb, conn_t *c, tcp_endpoint_t *ep, uint32_t mask, char code)
{
    if ((code == 'A' || code == 'D') && c->hist_len == 1 && c->hist[0] == 'H') {
        conn_flip_roles(cb, c);
        c->hist[0] = '^';
        c->hist[1] = 'h';
        c->hist[2] = '\0';
        c->hist_len = 2;
    }
    if (!ep_is_orig(c, ep)) {
        mask <<= 16;
        code = (char)tolower((unsigned char)code);
    }
    return conn_check_history(cb, c, mask, code);
}

static void
ep_add_history(conn_builder_t *cb, conn_t *c, tcp_endpoint_t *ep, char code)
{
    if (!ep_is_orig(c, ep))
        code = (char)tolower((unsigned char)code);
    conn_add_history(cb, c, code);
}

static void
ep_scaled(conn_builder_t *cb, conn_t *c, tcp_endpoint_t *ep, char code, uint32_t *counter)
{
    if (!ep_is_orig(c, ep))
        code = (char)tolower((unsigned char)code);
    conn_scaled_history(cb, c, code, counter);
}

/* The same for the 16-bit counters (zero windows, gaps, bad checksums):
 * they stop at 65535, so a 100,000th such letter is never written. */
static void
ep_scaled16(conn_builder_t *cb, conn_t *c, tcp_endpoint_t *ep, char code, uint16_t *counter)
{
    if (*counter == UINT16_MAX)
        return;
    uint32_t n = *counter;
    ep_scaled(cb, c, ep, code, &n);
    *counter = (uint16_t)n;
}

/* update_history in TCPSessionAdapter.cc */
static void
update_history(conn_builder_t *cb, conn_t *c, uint8_t flags, tcp_endpoint_t *ep, uint64_t rel_seq,
               uint32_t len)
{
    int bits = !!(flags & TH_SYN) + !!(flags & TH_FIN) + !!(flags & TH_RST);
    if (bits > 1) {
        if ((flags & TH_FIN) && (flags & TH_RST))
            ep_check_history(cb, c, ep, HIST_FIN_RST_PKT, 'I');
        else
            ep_check_history(cb, c, ep, HIST_MULTI_FLAG_PKT, 'Q');
    } else if (bits == 1) {
        if (flags & TH_SYN) {
            char code = (flags & TH_ACK) ? 'H' : 'S';
            if (ep_check_history(cb, c, ep, HIST_SYN_PKT, code) && (uint32_t)rel_seq != ep->hist_last_syn)
                ep_add_history(cb, c, ep, code);
            ep->hist_last_syn = (uint32_t)rel_seq;
        }
        if (flags & TH_FIN) {
            /* a FIN's position is after its data */
            if (ep_check_history(cb, c, ep, HIST_FIN_PKT, 'F') &&
                (uint32_t)(rel_seq + len) != ep->hist_last_fin)
                ep_add_history(cb, c, ep, 'F');
            ep->hist_last_fin = (uint32_t)(rel_seq + len);
        }
        if (flags & TH_RST) {
            if (ep_check_history(cb, c, ep, HIST_RST_PKT, 'R') && (uint32_t)rel_seq != ep->hist_last_rst)
                ep_add_history(cb, c, ep, 'R');
            ep->hist_last_rst = (uint32_t)rel_seq;
        }
    } else {
        if (len)
            ep_check_history(cb, c, ep, HIST_DATA_PKT, 'D');
        else if (flags & TH_ACK)
            ep_check_history(cb, c, ep, HIST_ACK_PKT, 'A');
    }
}

/* ------------------------------------------------------------------ */
/* sequence bookkeeping                                                 */

static uint64_t ep_size(const tcp_endpoint_t *ep, const tcp_endpoint_t *peer);

static void
init_endpoint(conn_builder_t *cb, tcp_endpoint_t *ep, const tcp_endpoint_t *peer, uint8_t flags,
              uint32_t first_seg_seq, uint32_t last_seq)
{
    switch (ep->state) {
    case TCP_INACTIVE:
        if (flags & TH_SYN) {
            ep->ack_seq = first_seg_seq;
            ep->start_seq = first_seg_seq;
        } else {
            /* partial connection: number as though a SYN had been seen */
            ep->ack_seq = first_seg_seq - 1;
            ep->start_seq = first_seg_seq - 1;
            last_seq = first_seg_seq;
        }
        ep->last_seq = last_seq;
        break;
    case TCP_SYN_SENT:
    case TCP_SYN_ACK_SENT:
        if ((flags & TH_SYN) && first_seg_seq != ep->start_seq) {
            weird_bump(conn_builder_weirds(cb), WEIRD_SYN_SEQ_JUMP);
            ep->start_seq = first_seg_seq;
            ep->ack_seq = first_seg_seq;
            ep->last_seq = last_seq;
        }
        break;
    case TCP_ESTABLISHED:
    case TCP_PARTIAL:
        if (flags & TH_SYN) {
            if (ep_size(ep, peer) > 0)
                weird_bump(conn_builder_weirds(cb), WEIRD_SYN_INSIDE_CONNECTION);
            ep->start_seq = first_seg_seq;
            ep->ack_seq = first_seg_seq;
            ep->last_seq = last_seq;
        }
        break;
    case TCP_RESET:
        if ((flags & TH_SYN) && ep->prev_state == TCP_INACTIVE) {
            ep->start_seq = first_seg_seq;
            ep->ack_seq = first_seg_seq;
            ep->last_seq = last_seq;
        }
        break;
    default:
        break;
    }
}

/* get_relative_seq: the 64-bit relative position of @p cur_base. */
static uint64_t
get_relative_seq(const tcp_endpoint_t *ep, uint32_t cur_base, uint32_t last, uint32_t wraps,
                 bool *underflow)
{
    int32_t delta = seq_delta(cur_base, last);
    if (delta < 0) {
        if (wraps && cur_base > last)
            --wraps;
    } else if (delta > 0) {
        if (cur_base < last)
            ++wraps;
    }
    if (wraps == 0) {
        delta = seq_delta(cur_base, ep->start_seq);
        if (underflow && delta < 0)
            *underflow = true;
        return (uint64_t)(int64_t)delta;
    }
    return rel_seq_space(ep, cur_base, wraps);
}

static void
init_peer(tcp_endpoint_t *peer, uint32_t ack_seq)
{
    peer->start_seq = ack_seq - 1;
    peer->ack_seq = ack_seq - 1;
    peer->last_seq = ack_seq - 1;
}

static void
update_ack_seq(tcp_endpoint_t *ep, uint32_t ack_seq)
{
    int32_t delta_ack = seq_delta(ack_seq, ep->ack_seq);
    if (ack_seq == 0 && delta_ack > TOO_LARGE_SEQ_DELTA)
        ; /* more likely a broken ack than a wrap landing on 0 */
    else if (delta_ack > 0)
        update_ack_seq_raw(ep, ack_seq);
}

static int32_t
update_last_seq(conn_builder_t *cb, conn_t *c, tcp_endpoint_t *ep, uint32_t last_seq,
                uint8_t flags, uint32_t len)
{
    int32_t delta_last = seq_delta(last_seq, ep->last_seq);
    if ((flags & (TH_SYN | TH_RST)) &&
        (delta_last > TOO_LARGE_SEQ_DELTA || delta_last < -TOO_LARGE_SEQ_DELTA))
        ; /* don't trust huge SYN/RST jumps */
    else if ((flags & TH_FIN) && ep->last_seq == ep->start_seq + 1)
        update_last_seq_raw(ep, last_seq); /* > 2 GB connections seen only by SYN and FIN */
    else if (ep->state == TCP_RESET)
        ; /* nothing after a RST is trusted */
    else if (delta_last > 0)
        update_last_seq_raw(ep, last_seq);
    else if (len > 0)
        ep_scaled(cb, c, ep, 'T', &ep->rxmt_cnt);
    return delta_last;
}

/* TCP_Endpoint::Size */
static uint64_t
ep_size(const tcp_endpoint_t *ep, const tcp_endpoint_t *peer)
{
    if (ep->prev_state == TCP_SYN_SENT && ep->state == TCP_RESET && peer->state == TCP_INACTIVE &&
        !no_data_acked(ep))
        return 0;
    uint64_t last64 = full_seq(ep->last_seq, ep->seq_wraps);
    uint64_t ack64 = full_seq(ep->ack_seq, ep->ack_wraps);
    uint64_t size = (last64 > ack64 ? last64 : ack64) - (uint64_t)ep->start_seq;
    if (size != 0)
        --size; /* the SYN octet */
    if (ep->fin_seen && size != 0)
        --size; /* the FIN octet */
    return size;
}

uint64_t
tcp_endpoint_size(const conn_t *c, int i)
{
    return i == 0 ? ep_size(ep_orig(c), ep_resp(c)) : ep_size(ep_resp(c), ep_orig(c));
}

/* ------------------------------------------------------------------ */
/* reassembly emulation                                                 */

static inline bool
is_clean(const tcp_endpoint_t *a)
{
    return a->state == TCP_ESTABLISHED ||
           (a->state == TCP_CLOSED && a->prev_state == TCP_ESTABLISHED);
}

static void
reasm_gap(conn_builder_t *cb, conn_t *c, tcp_endpoint_t *ep, uint64_t len)
{
    /* TCP_Reassembler::Gap: a 'G' and a content_gap (missed_bytes) only
     * for cleanly established connections, unless report_gaps_for_partial. */
    tcp_endpoint_t *peer = ep_peer(c, ep);
    bool clean = is_clean(ep) && is_clean(peer);
    if (clean)
        ep_scaled16(cb, c, ep, 'G', &ep->gap_cnt);
    if (clean || conn_builder_config(cb)->report_gaps_for_partial)
        c->u.tcp->missed_bytes += len;
}

static void
blocks_remove_front(tcp_endpoint_t *r, int n)
{
    memmove(r->blocks, r->blocks + n, (size_t)(r->n_blocks - n) * sizeof(seq_block_t));
    r->n_blocks = (uint8_t)(r->n_blocks - n);
}

static void
blocks_clear(conn_builder_t *cb, tcp_endpoint_t *r)
{
    conn_blocks_free(cb, r->blocks);
    r->blocks = NULL;
    r->n_blocks = 0;
}

/* Reassembler::BlockInserted: deliver contiguous data at last_reassem_seq. */
static void
reasm_deliver(conn_builder_t *cb, conn_t *c, tcp_endpoint_t *ep)
{
    tcp_endpoint_t *r = ep;
    for (int i = 0; i < r->n_blocks; i++) {
        if (r->blocks[i].seq > r->last_reassem_seq)
            break;
        if (r->blocks[i].upper > r->last_reassem_seq)
            r->last_reassem_seq = r->blocks[i].upper;
    }
}

static void reasm_trim(conn_builder_t *cb, conn_t *c, tcp_endpoint_t *ep, uint64_t seq);

/* TCP_Reassembler::Undelivered */
static void
reasm_undelivered(conn_builder_t *cb, conn_t *c, tcp_endpoint_t *ep, uint64_t up_to_seq)
{
    tcp_endpoint_t *r = ep;
    if (up_to_seq <= 2 && c->u.tcp->is_partial)
        return; /* the faked SYN octet of a partial connection */
    if (!r->skip_deliveries) {
        for (int i = 0; i < r->n_blocks; i++) {
            seq_block_t b = r->blocks[i];
            if (b.seq < r->last_reassem_seq)
                continue;
            if (b.seq >= up_to_seq)
                break;
            reasm_gap(cb, c, ep, b.seq - r->last_reassem_seq);
            r->last_reassem_seq = b.seq;
            reasm_deliver(cb, c, ep);
        }
        if (up_to_seq > r->last_reassem_seq)
            reasm_gap(cb, c, ep, up_to_seq - r->last_reassem_seq);
    }
    if (up_to_seq > r->last_reassem_seq)
        r->last_reassem_seq = up_to_seq;
}

/* Reassembler::TrimToSeq */
static void
reasm_trim(conn_builder_t *cb, conn_t *c, tcp_endpoint_t *ep, uint64_t seq)
{
    tcp_endpoint_t *r = ep;
    if (seq > r->last_reassem_seq)
        reasm_undelivered(cb, c, ep, seq);
    int n = 0;
    while (n < r->n_blocks && r->blocks[n].upper <= seq)
        n++;
    if (n)
        blocks_remove_front(r, n);
    if (r->n_blocks == 0)
        blocks_clear(cb, r);
    else if (r->blocks[0].seq == r->last_reassem_seq)
        reasm_deliver(cb, c, ep);
    r->trim_seq = seq;
}

static uint64_t
reasm_data_size(const tcp_endpoint_t *r)
{
    uint64_t n = 0;
    for (int i = 0; i < r->n_blocks; i++)
        n += r->blocks[i].upper - r->blocks[i].seq;
    return n;
}

/* Insert [seq, upper) into the sorted disjoint list, merging touching ranges. */
static void
blocks_insert(conn_builder_t *cb, tcp_endpoint_t *r, uint64_t seq, uint64_t upper)
{
    if (!r->blocks) {
        r->blocks = conn_blocks_alloc(cb);
        if (!r->blocks)
            return;
    }
    int i = 0;
    while (i < r->n_blocks && r->blocks[i].upper < seq)
        i++;
    int j = i;
    while (j < r->n_blocks && r->blocks[j].seq <= upper) {
        if (r->blocks[j].seq < seq)
            seq = r->blocks[j].seq;
        if (r->blocks[j].upper > upper)
            upper = r->blocks[j].upper;
        j++;
    }
    if (j > i) {
        /* merge blocks i..j-1 into one */
        r->blocks[i].seq = seq;
        r->blocks[i].upper = upper;
        memmove(r->blocks + i + 1, r->blocks + j, (size_t)(r->n_blocks - j) * sizeof(seq_block_t));
        r->n_blocks = (uint8_t)(r->n_blocks - (j - i - 1));
        return;
    }
    if (r->n_blocks == TCP_MAX_BLOCKS) {
        /* Out of slots: drop the highest range (it is the furthest from
         * being delivered); its bytes will surface as a gap if acked. */
        weird_bump(conn_builder_weirds(cb), WEIRD_TCP_REASSEMBLY_OVERFLOW);
        if (i == r->n_blocks)
            return;
        r->n_blocks--;
    }
    memmove(r->blocks + i + 1, r->blocks + i, (size_t)(r->n_blocks - i) * sizeof(seq_block_t));
    r->blocks[i].seq = seq;
    r->blocks[i].upper = upper;
    r->n_blocks++;
}

/* TCP_Reassembler::DataSent */
static void
reasm_data_sent(conn_builder_t *cb, conn_t *c, tcp_endpoint_t *ep, uint64_t seq, uint64_t len)
{
    tcp_endpoint_t *r = ep;
    const conn_config_t *cfg = conn_builder_config(cb);
    uint64_t ack = rel_seq_space(ep, ep->ack_seq, ep->ack_wraps);
    uint64_t upper = seq + len;
    if (r->skip_deliveries)
        return;
    if (seq < ack) {
        if (upper <= ack)
            return; /* delivered and acked already */
        seq = ack;
    }
    /* Reassembler::NewBlock */
    if (upper > r->trim_seq) {
        if (seq < r->trim_seq)
            seq = r->trim_seq;
        blocks_insert(cb, r, seq, upper);
        /* BlockInserted */
        if (r->n_blocks && r->blocks[0].seq <= r->last_reassem_seq) {
            reasm_deliver(cb, c, ep);
            if (no_data_acked(ep) && cfg->tcp_max_initial_window &&
                tcp_endpoint_size(c, ep_is_orig(c, ep) ? 0 : 1) > cfg->tcp_max_initial_window)
                reasm_trim(cb, c, ep, r->last_reassem_seq);
        }
    }
    if (r->n_blocks && no_data_acked(ep) && cfg->tcp_max_above_hole_without_any_acks) {
        uint64_t top = r->blocks[r->n_blocks - 1].upper;
        uint64_t undelivered = top > r->last_reassem_seq ? top - r->last_reassem_seq : 0;
        if (undelivered > cfg->tcp_max_above_hole_without_any_acks) {
            blocks_clear(cb, r);
            r->skip_deliveries = true;
        }
    }
    if (cfg->tcp_excessive_data_without_further_acks &&
        reasm_data_size(r) > cfg->tcp_excessive_data_without_further_acks) {
        blocks_clear(cb, r);
        r->skip_deliveries = true;
    }
}

/* TCP_Reassembler::DataPending */
static bool
data_pending(const conn_t *c, const tcp_endpoint_t *ep)
{
    const tcp_endpoint_t *r = ep;
    if (r->skip_deliveries)
        return false;
    uint64_t delivered = (uint64_t)ep->start_seq + r->last_reassem_seq;
    uint64_t last = full_seq(ep->last_seq, ep->seq_wraps);
    if (last < delivered)
        return false;
    if (delivered != last - 1 && delivered != last)
        return true;
    const tcp_endpoint_t *peer = ep_peer(c, ep);
    if (ep->state != TCP_RESET && peer->n_blocks > 0)
        return true;
    return false;
}

static void connection_closed(conn_builder_t *cb, conn_t *c, tcp_endpoint_t *ep, bool gen_event);

/* TCP_Reassembler::CheckEOF / TCPSessionAdapter::EndpointEOF */
static void
check_eof(conn_builder_t *cb, conn_t *c, tcp_endpoint_t *ep)
{
    tcp_endpoint_t *r = ep;
    if (r->did_eof || c->removed)
        return;
    if (!(ep->fin_seen || ep->state == TCP_CLOSED || ep->state == TCP_RESET))
        return;
    if (data_pending(c, ep))
        return;
    r->did_eof = true;
    if (c->u.tcp->close_deferred) {
        connection_closed(cb, c, ep, c->u.tcp->deferred_gen_event);
        c->u.tcp->close_deferred = false;
    }
}

/* TCP_Reassembler::AckReceived */
static void
reasm_ack_received(conn_builder_t *cb, conn_t *c, tcp_endpoint_t *ep, uint64_t seq)
{
    if (ep->fin_seen && seq >= ep->fin_seq)
        seq = ep->fin_seq - 1;
    if (seq <= ep->trim_seq)
        return;
    reasm_trim(cb, c, ep, seq);
    check_eof(cb, c, ep);
}

/* ------------------------------------------------------------------ */
/* closes and timers                                                    */

static void
add_expire_timer(conn_builder_t *cb, conn_t *c, double t)
{
    double *tmr = c->u.tcp->tmr;
    int slot = tmr[TMR_EXPIRE0] == 0 ? TMR_EXPIRE0 : TMR_EXPIRE1;
    if (slot == TMR_EXPIRE1 && tmr[TMR_EXPIRE1] != 0 && tmr[TMR_EXPIRE1] < t)
        return; /* a third chain adds nothing the earlier one will not do */
    conn_set_timer(cb, c, slot, t);
}

/* Analyzer::CancelTimers: the TCP analyzer's own timers; the connection's
 * inactivity timer is not among them. */
static void
cancel_analyzer_timers(conn_t *c)
{
    c->u.tcp->tmr[TMR_AUX] = 0;
    c->u.tcp->tmr[TMR_EXPIRE0] = 0;
    c->u.tcp->tmr[TMR_EXPIRE1] = 0;
}

/* TCPSessionAdapter::ConnectionClosed */
static void
connection_closed(conn_builder_t *cb, conn_t *c, tcp_endpoint_t *ep, bool gen_event)
{
    tcp_state_t *t = c->u.tcp;
    tcp_endpoint_t *peer = ep_peer(c, ep);
    const conn_config_t *cfg = conn_builder_config(cb);

    if (data_pending(c, ep)) {
        t->close_deferred = true;
        if (!t->deferred_gen_event)
            t->deferred_gen_event = gen_event;
        return;
    }
    t->close_deferred = false;
    if (ep->did_close)
        return;
    ep->did_close = true;

    bool complete = ep->state == TCP_RESET || peer->did_close || peer->state == TCP_INACTIVE;
    if (complete) {
        if (ep->prev_state != TCP_INACTIVE || peer->state != TCP_INACTIVE) {
            if (t->deferred_gen_event) {
                gen_event = true;
                t->deferred_gen_event = false;
            }
            if (gen_event)
                t->is_active = false; /* ConnectionFinished */
        }
        cancel_analyzer_timers(c);
        /* ConnDeleteTimer at last_time + tcp_close_delay */
        t->aux_is_delete = true;
        conn_set_timer(cb, c, TMR_AUX, c->last_time + cfg->tcp_close_delay);
    } else if (ep->prev_state != TCP_INACTIVE) {
        add_expire_timer(cb, c, c->last_time + cfg->tcp_session_timer);
    }
}

void
tcp_attempt_timer(conn_builder_t *cb, conn_t *c, double now)
{
    tcp_state_t *t = c->u.tcp;
    if (!t || !t->is_active)
        return;
    uint8_t os = ep_orig(c)->state, rs = ep_resp(c)->state;
    if ((os == TCP_SYN_SENT || os == TCP_SYN_ACK_SENT) && rs == TCP_INACTIVE) {
        t->is_active = false;
        conn_remove(cb, c);
    }
}

void
tcp_expire_timer(conn_builder_t *cb, conn_t *c, double now, int kind)
{
    tcp_state_t *t = c->u.tcp;
    const conn_config_t *cfg = conn_builder_config(cb);
    if (!t || !t->is_active)
        return;
    tcp_endpoint_t *o = ep_orig(c), *r = ep_resp(c);
    if (c->last_time + cfg->tcp_connection_linger < now) {
        if (o->did_close || r->did_close) {
            if ((o->did_close && r->did_close) || o->state == TCP_RESET ||
                r->state == TCP_RESET || o->state == TCP_INACTIVE || r->state == TCP_INACTIVE) {
                t->is_active = false;
                conn_remove(cb, c);
                return;
            }
        }
        if (r->state == TCP_INACTIVE && o->state == TCP_INACTIVE) {
            conn_remove(cb, c);
            return;
        }
    }
    conn_set_timer(cb, c, kind, now + cfg->tcp_session_timer);
}

/* ------------------------------------------------------------------ */
/* the state machine (TCPSessionAdapter::UpdateStateMachine)            */

static void
update_inactive(conn_builder_t *cb, conn_t *c, tcp_endpoint_t *ep, tcp_endpoint_t *peer,
                uint32_t base_seq, uint32_t len, bool is_orig, uint8_t flags, bool *do_close,
                bool *gen_event, double t)
{
    tcp_state_t *ts = c->u.tcp;
    const conn_config_t *cfg = conn_builder_config(cb);
    if (flags & TH_SYN) {
        if (is_orig) {
            set_state(cb, c, ep, (flags & TH_ACK) ? TCP_SYN_ACK_SENT : TCP_SYN_SENT);
            if (cfg->tcp_attempt_delay > 0)
                if (!ts->aux_is_delete)
                    conn_set_timer(cb, c, TMR_AUX, t + cfg->tcp_attempt_delay);
        } else {
            if (!(flags & TH_ACK) && peer->state == TCP_SYN_ACK_SENT && base_seq == ep->start_seq) {
                /* SYN/SYN-ACK reversal: flip and establish */
                ts->is_partial = false;
                conn_flip_roles(cb, c);
                set_state(cb, c, peer, TCP_ESTABLISHED);
                ts->first_packet_seen |= FP_ORIG;
            }
            if (peer->state == TCP_SYN_SENT)
                set_state(cb, c, peer, TCP_ESTABLISHED);
            set_state(cb, c, ep, TCP_ESTABLISHED);
        }
    }
    if (flags & TH_FIN) {
        set_state(cb, c, ep, TCP_CLOSED);
        *do_close = *gen_event = true;
        if (peer->state != TCP_PARTIAL && !(flags & TH_SYN))
            weird_bump(conn_builder_weirds(cb), WEIRD_SPONTANEOUS_FIN);
    }
    if (flags & TH_RST) {
        set_state(cb, c, ep, TCP_RESET);
        bool is_reject = false;
        if (is_orig) {
            if (peer->state == TCP_ESTABLISHED)
                is_reject = true;
        } else if (peer->state == TCP_SYN_SENT || peer->state == TCP_SYN_ACK_SENT) {
            is_reject = true;
        }
        *do_close = true;
        *gen_event = !is_reject;
        if (!is_reject && peer->state == TCP_INACTIVE)
            weird_bump(conn_builder_weirds(cb), WEIRD_SPONTANEOUS_RST);
    }
    if (ep->state == TCP_INACTIVE) {
        if (!is_orig && len == 0 && ep_orig(c)->state == TCP_SYN_SENT)
            ; /* an early ACK of the SYN does not make a partial connection */
        else if ((flags & TH_ACK) && peer->state == TCP_ESTABLISHED) {
            set_state(cb, c, ep, TCP_ESTABLISHED); /* we missed the SYN */
            ts->is_partial = false;
            ts->first_packet_seen |= is_orig ? FP_ORIG : FP_RESP;
        } else {
            set_state(cb, c, ep, TCP_PARTIAL);
        }
    }
}

static void
update_syn_sent(conn_builder_t *cb, conn_t *c, tcp_endpoint_t *ep, uint8_t flags, bool *do_close,
                bool *gen_event)
{
    if (flags & TH_FIN) {
        set_state(cb, c, ep, TCP_CLOSED);
        *do_close = *gen_event = true;
    }
    if (flags & TH_RST) {
        set_state(cb, c, ep, TCP_RESET);
        c->u.tcp->is_active = false; /* ConnectionReset */
        *do_close = true;
    }
}

static void
update_established(conn_builder_t *cb, conn_t *c, tcp_endpoint_t *ep, tcp_endpoint_t *peer,
                   uint8_t flags, bool *do_close, bool *gen_event)
{
    if ((flags & TH_SYN) && ep->state == TCP_PARTIAL && peer->state == TCP_INACTIVE &&
        !(flags & TH_ACK))
        set_state(cb, c, ep, TCP_SYN_SENT);
    if ((flags & TH_FIN) && !(flags & TH_RST)) {
        set_state(cb, c, ep, TCP_CLOSED);
        if (peer->state == TCP_RESET && peer->prev_state == TCP_CLOSED)
            set_state(cb, c, peer, TCP_CLOSED); /* FIN then RST: a normal close after all */
        *do_close = *gen_event = true;
    }
    if (flags & TH_RST) {
        set_state(cb, c, ep, TCP_RESET);
        *do_close = true;
        if (peer->state != TCP_RESET || peer->prev_state != TCP_ESTABLISHED)
            c->u.tcp->is_active = false; /* ConnectionReset */
    }
}

static void
update_closed(conn_builder_t *cb, conn_t *c, tcp_endpoint_t *ep, tcp_endpoint_t *peer,
              uint8_t flags, bool *do_close)
{
    if ((flags & TH_RST) && peer->state != TCP_CLOSED) {
        set_state(cb, c, ep, TCP_RESET);
        if (!ep->did_close)
            *do_close = true;
        /* tcp_reset_delay's timer needs a connection_reset handler: none in base scripts */
    }
}

/* ------------------------------------------------------------------ */
/* per packet                                                           */

bool
tcp_is_reuse(const conn_t *c, const pkt_layer_t *l, double t)
{
    if (!(l->tcp_flags & TH_SYN))
        return false;
    const tcp_endpoint_t *o = ep_orig(c), *r = ep_resp(c);
    const tcp_endpoint_t *conn_orig = o;
    if (l->tcp_flags & TH_ACK) {
        if (o->state != TCP_INACTIVE)
            return false; /* not a half connection */
        conn_orig = r;
    }
    if (!(o->did_close || r->did_close)) {
        if (l->seq == conn_orig->start_seq)
            return false;
        if (!(l->tcp_flags & TH_ACK) && conn_orig->state == TCP_SYN_ACK_SENT &&
            r->state == TCP_INACTIVE && l->seq == r->start_seq)
            return false; /* SYN/SYN-ACK reversal, handled by the state machine */
    }
    return true;
}

void
tcp_checksum_error(conn_builder_t *cb, conn_t *c, bool is_orig)
{
    tcp_endpoint_t *ep = is_orig ? ep_orig(c) : ep_resp(c);
    ep_scaled16(cb, c, ep, 'C', &ep->chk_cnt);
}

void
tcp_process(conn_builder_t *cb, conn_t *c, const pkt_layer_t *l, bool is_orig)
{
    tcp_state_t *ts = c->u.tcp;
    tcp_endpoint_t *ep = is_orig ? ep_orig(c) : ep_resp(c);
    tcp_endpoint_t *peer = ep_peer(c, ep);
    uint8_t flags = l->tcp_flags;
    uint32_t base_seq = l->seq, ack_seq = l->ack;
    uint32_t len = l->payload_len;
    double t = l->ts;

    /* SetPartialStatus */
    if (is_orig) {
        if (!(ts->first_packet_seen & FP_ORIG))
            ts->is_partial = !(flags & TH_SYN) || (flags & TH_ACK);
    } else if (!(ts->first_packet_seen & FP_RESP) && !ts->is_partial) {
        ts->is_partial = !(flags & TH_SYN);
    }

    uint32_t seg_len = len + !!(flags & TH_SYN) + !!(flags & TH_FIN);
    if (flags & TH_RST)
        seg_len -= len; /* RST payload is not part of the stream */
    uint32_t seq_one_past = base_seq + seg_len;

    init_endpoint(cb, ep, peer, flags, base_seq, seq_one_past);

    bool seq_underflow = false;
    uint64_t rel_seq = get_relative_seq(ep, base_seq, ep->last_seq, ep->seq_wraps, &seq_underflow);

    update_history(cb, c, flags, ep, rel_seq, len);

    /* update_window: only the zero-window letter matters for the log; a
     * zero window stays zero whatever the scale. */
    if (l->win == 0 && !(flags & TH_RST) && peer->state != TCP_CLOSED && ep->state != TCP_RESET)
        ep_scaled16(cb, c, ep, 'W', &ep->win0_cnt);

    if (!ep_orig(c)->did_close || !ep_resp(c)->did_close)
        c->last_time = t;

    if (flags & TH_FIN) {
        ep->fin_seen = true;
        ep->fin_seq = rel_seq + seg_len;
    }
    if (flags & TH_RST)
        ep->rst_seen = true;

    uint64_t rel_ack = 0;
    if (flags & TH_ACK) {
        if (peer->state == TCP_INACTIVE) {
            rel_ack = 1;
            init_peer(peer, ack_seq);
        } else {
            bool ack_underflow = false;
            rel_ack = get_relative_seq(peer, ack_seq, peer->ack_seq, peer->ack_wraps,
                                       &ack_underflow);
            if (ack_underflow)
                rel_ack = 0;
            else if (!(flags & TH_RST))
                update_ack_seq(peer, ack_seq); /* acks on RSTs are not trusted */
        }
    }

    int32_t delta_last = update_last_seq(cb, c, ep, seq_one_past, flags, len);
    (void)delta_last;

    bool do_close = false, gen_event = false;
    switch (ep->state) {
    case TCP_INACTIVE:
        update_inactive(cb, c, ep, peer, base_seq, len, is_orig, flags, &do_close, &gen_event, t);
        break;
    case TCP_SYN_SENT:
    case TCP_SYN_ACK_SENT:
        update_syn_sent(cb, c, ep, flags, &do_close, &gen_event);
        break;
    case TCP_ESTABLISHED:
    case TCP_PARTIAL:
        update_established(cb, c, ep, peer, flags, &do_close, &gen_event);
        break;
    case TCP_CLOSED:
        update_closed(cb, c, ep, peer, flags, &do_close);
        break;
    default:
        break;
    }

    if (flags & TH_ACK)
        reasm_ack_received(cb, c, peer, rel_ack);

    /* CheckPIA_FirstPacket */
    if (is_orig)
        ts->first_packet_seen |= FP_ORIG;
    else
        ts->first_packet_seen |= FP_RESP;

    uint64_t rel_data_seq = (flags & TH_SYN) ? rel_seq + 1 : rel_seq;
    if (len > 0 && !(flags & TH_RST) && !seq_underflow && l->payload_caplen >= len)
        reasm_data_sent(cb, c, ep, rel_data_seq, len);

    check_eof(cb, c, ep);

    if (do_close && !c->removed)
        connection_closed(cb, c, ep, gen_event);
}

/* ------------------------------------------------------------------ */
/* conn_state (main.zeek, function conn_state)                          */

/* ^?S[^HAFGIQ]*R.* over the whole history */
static bool
history_is_rstos0(const char *h)
{
    if (*h == '^')
        h++;
    if (*h != 'S')
        return false;
    for (h++; *h; h++) {
        if (*h == 'R')
            return true;
        if (strchr("HAFGIQ", *h))
            return false;
    }
    return false;
}

conn_state_t
tcp_conn_state(const conn_t *c, const char *history)
{
    uint8_t os = ep_orig(c)->state, rs = ep_resp(c)->state;
    bool o_inact = os == TCP_INACTIVE || os == TCP_PARTIAL;
    bool r_inact = rs == TCP_INACTIVE || rs == TCP_PARTIAL;

    if (rs == TCP_RESET) {
        if (os == TCP_SYN_SENT || os == TCP_SYN_ACK_SENT ||
            (os == TCP_RESET && tcp_endpoint_size(c, 0) == 0 && tcp_endpoint_size(c, 1) == 0))
            return CONN_STATE_REJ;
        if (o_inact)
            return CONN_STATE_RSTRH;
        return CONN_STATE_RSTR;
    }
    if (os == TCP_RESET) {
        if (r_inact)
            return history_is_rstos0(history) ? CONN_STATE_RSTOS0 : CONN_STATE_OTH;
        return CONN_STATE_RSTO;
    }
    if (os == TCP_CLOSED && rs == TCP_CLOSED)
        return CONN_STATE_SF;
    if (os == TCP_CLOSED)
        return r_inact ? CONN_STATE_SH : CONN_STATE_S2;
    if (rs == TCP_CLOSED)
        return o_inact ? CONN_STATE_SHR : CONN_STATE_S3;
    if (os == TCP_SYN_SENT && rs == TCP_INACTIVE)
        return CONN_STATE_S0;
    if (os == TCP_ESTABLISHED && rs == TCP_ESTABLISHED)
        return CONN_STATE_S1;
    return CONN_STATE_OTH;
}
