/**
 * @file internal.h
 * The connection record as the builder keeps it in its table, shared by the
 * builder (conn.c) and the TCP analysis (tcp.c).  Not part of the public API:
 * only files under src/conn/ include it.
 *
 * Layout matters: a busy sensor holds hundreds of thousands of these, so the
 * struct is kept compact (no per-connection heap allocation on the usual
 * path; rare extras such as out-of-order TCP blocks or long histories live
 * behind pointers).
 */
#ifndef CONNLOGD_CONN_INTERNAL_H
#define CONNLOGD_CONN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "app/service.h"
#include "conn/conn.h"

/* TCP endpoint states, Zeek's numbering (init-bare.zeek). */
enum {
    TCP_INACTIVE = 0,
    TCP_SYN_SENT = 1,
    TCP_SYN_ACK_SENT = 2,
    TCP_PARTIAL = 3,
    TCP_ESTABLISHED = 4,
    TCP_CLOSED = 5,
    TCP_RESET = 6,
};

/* History "seen" bits, Zeek's values (TCP_Endpoint.h); the responder's are
 * shifted left by 16. */
#define HIST_SYN_PKT 0x1
#define HIST_FIN_PKT 0x2
#define HIST_RST_PKT 0x4
#define HIST_FIN_RST_PKT 0x8
#define HIST_DATA_PKT 0x10
#define HIST_ACK_PKT 0x20
#define HIST_MULTI_FLAG_PKT 0x40
#define HIST_UDP_ORIG_DATA 0x1
#define HIST_UDP_RESP_DATA 0x2
#define HIST_UNKNOWN_PKT 0x400 /* 'X', Session.h */

/** A received-but-undelivered sequence range of the reassembly emulation. */
typedef struct {
    uint64_t seq, upper;
} seq_block_t;

#define TCP_MAX_BLOCKS 16

/** One TCP endpoint: Zeek's TCP_Endpoint state plus what its reassembler
 *  would know, without the bytes themselves (which sequence ranges were sent
 *  but not yet acknowledged, adjacent ranges merged, and how far delivery
 *  got).  Fields ordered to pack: TCP connections are the bulk of a table. */
typedef struct tcp_endpoint {
    uint8_t state, prev_state;
    bool did_close;
    bool fin_seen;             /* FIN_cnt > 0 */
    bool rst_seen;             /* RST_cnt > 0 */
    uint8_t n_blocks;          /* reassembly ranges in use */
    bool skip_deliveries;
    bool did_eof;
    uint32_t start_seq, last_seq, ack_seq;
    uint16_t seq_wraps, ack_wraps; /* 4 GiB wraps: up to 256 TiB a direction */
    /* low 32 bits of the relative positions of the last SYN/FIN/RST letters:
     * Zeek compares 64-bit values, which differ from ours only when two such
     * packets sit exactly a multiple of 4 GiB apart */
    uint32_t hist_last_syn, hist_last_fin, hist_last_rst;
    uint32_t rxmt_cnt;         /* logarithmic letters: T, then W, G, C (saturating) */
    uint16_t win0_cnt, gap_cnt, chk_cnt;
    uint64_t fin_seq;          /* relative seq one past the FIN */
    uint64_t last_reassem_seq; /* relative; starts at 1 */
    uint64_t trim_seq;
    seq_block_t *blocks;       /* sorted, disjoint; TCP_MAX_BLOCKS slots from the pool, or NULL */
} tcp_endpoint_t;

/* The two endpoint objects keep their addresses for the connection's life;
 * a flip only changes which one is the originator, as Zeek swaps pointers. */
typedef struct {
    tcp_endpoint_t e[2];
    uint8_t orig_idx;          /* e[orig_idx] is the current originator */
    uint8_t first_packet_seen; /* bit 1 orig, bit 2 resp */
    bool is_partial;
    bool close_deferred;
    bool deferred_gen_event;
    bool is_active;            /* Zeek's is_active: cleared on finish/reset/attempt */
    bool aux_is_delete;        /* tmr[TMR_AUX] holds the close-delay deletion */
    uint64_t missed_bytes;
    double tmr[3];             /* TMR_AUX, TMR_EXPIRE0, TMR_EXPIRE1: the TCP analyzer's timers */
} tcp_state_t;

/** A connection's table key: both endpoints in canonical order for two-way
 *  flows (as seen for one-way ICMP), the IP protocol, and the source: 0 for
 *  packets, exporter id + 1 for flow records (one exporter's view of a
 *  connection is not merged with another's). */
typedef struct {
    uint8_t a[16], b[16];
    uint16_t pa, pb;
    uint8_t proto, one_way;
    uint32_t src_id;
} conn_key_t;

/** What the flow path keeps per connection side (a = key side a). */
typedef struct flow_state {
    uint64_t pkts[2], octets[2], payload[2];
    double start[2], end[2];       /* 0 = no record for that side */
    uint8_t flags[2], init_flags[2];
    bool has_init[2], has_payload[2];
    bool first_is_a;               /* the first record's forward direction was side a */
    bool ended;                    /* a record closed the flow (not an active-timeout piece) */
    uint32_t sampling;
    uint32_t records;
    double touched;                /* newest of record end and arrival: expiry counts from it */
    uint32_t src_id;               /* key source: exporter id + 1 */
    uint16_t app_label;
    uint8_t tq;                    /* expiry queue holding it (index + 1), 0 = none */
    /* expiry queue links (conn.c): the queue is sorted by tq_at */
    struct flow_state *tq_prev, *tq_next;
    struct conn *owner;
    double tq_at;
} flow_state_t;

/** Timer kinds, in the order they are run when due at the same time.  The
 *  attempt timer and the close-delay deletion share a slot: a completed
 *  close cancels the attempt timer (Analyzer::CancelTimers) before it arms
 *  the deletion. */
enum { TMR_AUX = 0, TMR_EXPIRE0, TMR_EXPIRE1, TMR_INACT, TMR_COUNT };

#define CONN_HIST_INLINE 11
#define HEAP_NONE UINT32_MAX

/** Rarely needed extras, allocated on demand: tunnel parents and history
 *  letters beyond the inline ones. */
typedef struct {
    uint64_t cur_parent[2];    /* encapsulation of the latest packet (0,0 = none) */
    uint64_t parents[CONN_MAX_PARENTS][2];
    char hist_more[CONN_HISTORY_MAX - CONN_HIST_INLINE + 1];
    uint16_t chk_cnt[2];       /* UDP bad checksums, for 'C'/'c' (saturating) */
} conn_ext_t;

/* One tracked connection.  Kept compact: a busy sensor holds hundreds of
 * thousands (the packet-path benchmark reports bytes per connection). */
typedef struct conn {
    /* key: canonical order for two-way flows, as seen for one-way ICMP */
    uint8_t a[16], b[16];
    uint16_t pa, pb;
    uint8_t ip_proto;
    uint8_t one_way;
    uint8_t orig_is_a;         /* 1: orig = (a, pa) */
    uint8_t transport;         /* conn_proto_t */

    uint32_t gen;              /* bumped when the slot is reused (stale references) */
    uint32_t hash;
    uint32_t heap_pos;         /* index in the timer heap, HEAP_NONE when not there */
    uint32_t hist_seen;
    float inact_timeout;       /* seconds; whole values in practice, exact in a float */
    svc_state_t svc;           /* (4-byte aligned: placed here to fill the hole before the doubles) */

    double start_time, last_time;
    double inact_at;           /* inactivity timer, 0 = not armed; TCP's own are in u.tcp */
    uint64_t uid_base;         /* see uid_reserve() */
    uint64_t pkts[2], ip_bytes[2];  /* [0] orig, [1] resp (ConnSize) */

    uint8_t hist_len;
    bool is_flow;              /* built from flow records: u.flow, key source in u.flow */
    bool udp_active[2];
    bool removed;
    bool app_seen;             /* DNS/NTP first message looked at */
    uint8_t teredo_dirs;       /* Teredo seen from orig (1) / resp (2) */
    uint16_t tunnel_violated;  /* bit per encap_kind_t whose analyzer saw a violation */
    uint8_t tunnel_changes;
    uint8_t n_parents;
    char hist[CONN_HIST_INLINE + 1];

    union {
        tcp_state_t *tcp;      /* TCP from packets */
        flow_state_t *flow;    /* connections built from flow records (src_id != 0) */
        uint64_t size[2];      /* UDP/ICMP from packets: byte counts */
    } u;
    union {
        struct conn *next_free; /* while on the free list */
        conn_ext_t *ext;       /* while in use; NULL when not needed */
    };
} conn_t;

/* --- helpers shared by conn.c and tcp.c --- */

/** Append one history letter (counted as truncated beyond CONN_HISTORY_MAX). */
void conn_add_history(conn_builder_t *cb, conn_t *c, char code);

/** Zeek's Session::CheckHistory: add @p code the first time @p mask is seen.
 *  Returns true if the mask had been seen before (no letter added). */
bool conn_check_history(conn_builder_t *cb, conn_t *c, uint32_t mask, char code);

/** Zeek's ScaledHistoryEntry with base 10: letter at the 1st, 10th, 100th, ... call. */
void conn_scaled_history(conn_builder_t *cb, conn_t *c, char code, uint32_t *counter);

/** Swap originator and responder (Connection::FlipRoles), appending '^'. */
void conn_flip_roles(conn_builder_t *cb, conn_t *c);

/** The slot of timer @p kind of @p c: the TCP timers live in the TCP state. */
static inline double *
conn_timer(conn_t *c, int kind)
{
    return kind == TMR_INACT ? &c->inact_at : &c->u.tcp->tmr[kind];
}

/** Arm timer @p kind at time @p t (no-op once the connection was removed). */
void conn_set_timer(conn_builder_t *cb, conn_t *c, int kind, double t);

/** Cancel every timer (on removal). */
void conn_cancel_timers(conn_t *c);

/** The full history string of @p c into @p buf (CONN_HISTORY_MAX + 1 bytes). */
void conn_history(const conn_t *c, char *buf);

/** Change the inactivity timeout and re-arm it (Connection::SetInactivityTimeout). */
void conn_set_inactivity_timeout(conn_builder_t *cb, conn_t *c, double timeout);

/** Remove @p c now: log it and free it. */
void conn_remove(conn_builder_t *cb, conn_t *c);

const conn_config_t *conn_builder_config(const conn_builder_t *cb);

void conn_key_make(conn_key_t *k, const uint8_t src[16], uint16_t sport, const uint8_t dst[16],
                   uint16_t dport, uint8_t proto, bool one_way, uint32_t src_id);
/** Find the connection with key @p k; *@p hash receives the key's hash. */
conn_t *conn_lookup(conn_builder_t *cb, const conn_key_t *k, uint32_t *hash);
/** The hash conn_lookup() would compute for @p k. */
uint32_t conn_key_hash(const conn_builder_t *cb, const conn_key_t *k);
/** conn_lookup() with the hash already known. */
conn_t *conn_lookup_hashed(conn_builder_t *cb, const conn_key_t *k, uint32_t hash);
/** Start loading the table slot of @p hash into the cache (a hint only). */
void conn_table_prefetch(const conn_builder_t *cb, uint32_t hash);
/** New connection (evicting at the cap); orig is (@p orig_h, @p orig_p). NULL if out of memory. */
conn_t *conn_create(conn_builder_t *cb, const conn_key_t *k, uint32_t hash,
                    const uint8_t orig_h[16], uint16_t orig_p, conn_proto_t transport, double t);
/** Re-arm @p c's timers in the heap after changing them. */
void conn_reschedule(conn_builder_t *cb, conn_t *c);
svc_engine_t *conn_builder_svc(conn_builder_t *cb);

/** ICMP request/reply pairing (spec section 5): true and the counterpart
 *  type for paired types, false for one-way types. */
bool conn_icmp_counterpart(bool v6, uint8_t type, uint8_t *other);

/* --- flowconn.c --- */

/** Fill the conn.log fields of a flow-built connection. */
void flow_fill_record(conn_builder_t *cb, const conn_t *c, conn_record_t *r);

/** A TCP_MAX_BLOCKS array for the reassembly emulation, from a free list
 *  (NULL if memory is exhausted); give it back with conn_blocks_free(). */
seq_block_t *conn_blocks_alloc(conn_builder_t *cb);
/** TCP states come from a pool too (no malloc per connection). */
tcp_state_t *conn_tcp_alloc(conn_builder_t *cb);
void conn_tcp_free(conn_builder_t *cb, tcp_state_t *t);
void conn_blocks_free(conn_builder_t *cb, seq_block_t *b);
weird_counters_t *conn_builder_weirds(conn_builder_t *cb);

/* --- tcp.c --- */

/** Create the TCP state for a new connection.  False if out of memory. */
bool tcp_conn_init(conn_builder_t *cb, conn_t *c);
void tcp_conn_free(conn_builder_t *cb, conn_t *c);

/** Zeek's TCPAnalyzer::WantConnection: should a new connection starting with
 *  this segment be flipped? */
bool tcp_want_flip(const conn_config_t *cfg, uint16_t sport, uint16_t dport, uint8_t flags);

/** Zeek's IsReuse for a SYN arriving on an existing connection. */
bool tcp_is_reuse(const conn_t *c, const pkt_layer_t *l, double t);

/** Process one checksum-valid TCP segment (TCPAnalyzer::DeliverPacket). */
void tcp_process(conn_builder_t *cb, conn_t *c, const pkt_layer_t *l, bool is_orig);

/** Record a bad-checksum segment ('C'/'c'). */
void tcp_checksum_error(conn_builder_t *cb, conn_t *c, bool is_orig);

/** The TCP timers. */
void tcp_attempt_timer(conn_builder_t *cb, conn_t *c, double t);
void tcp_expire_timer(conn_builder_t *cb, conn_t *c, double t, int kind);

/** Endpoint byte count (TCP_Endpoint::Size) of side @p i (0 orig, 1 resp). */
uint64_t tcp_endpoint_size(const conn_t *c, int i);

/** conn_state for a TCP connection. */
conn_state_t tcp_conn_state(const conn_t *c, const char *history);

/** Flip the TCP endpoints (TCPSessionAdapter::FlipRoles). */
void tcp_flip(conn_t *c);

#endif
