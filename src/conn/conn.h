/**
 * @file conn.h
 * The connection builder: one table of connections, one expiry, one sink.
 * Packets (decoded layers) and, later, flow records feed it; it tracks TCP
 * endpoint states, history, sizes and flips exactly as Zeek does
 * (shared spec: zeek-conn-semantics.md) and hands each finished connection
 * to the sink as a conn_record_t.
 *
 * Time is the input's time: every packet advances the clock, timers run
 * before the packet is processed (spec section 8), and conn_builder_advance()
 * lets a live source move the clock on when no packet arrives.
 */
#ifndef CONNLOGD_CONN_CONN_H
#define CONNLOGD_CONN_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "conn/flow.h"
#include "conn/record.h"
#include "conn/uid.h"
#include "core/netset.h"
#include "core/weird.h"
#include "decode/packet.h"

/** Zeek's conn-affecting tunables, with Zeek's names and defaults (seconds). */
typedef struct {
    double tcp_inactivity_timeout;        /* 300 */
    double udp_inactivity_timeout;        /* 60 */
    double icmp_inactivity_timeout;       /* 60 */
    double unknown_ip_inactivity_timeout; /* 60 */
    double tcp_attempt_delay;             /* 5 */
    double tcp_close_delay;               /* 5 */
    double tcp_connection_linger;         /* 5 */
    double tcp_SYN_timeout;               /* 5 */
    double tcp_session_timer;             /* 6 */
    bool report_gaps_for_partial;         /* F */
    uint64_t tcp_excessive_data_without_further_acks; /* 10 MiB */
    uint64_t tcp_max_above_hole_without_any_acks;     /* 16384 */
    uint64_t tcp_max_initial_window;                  /* 16384 */
    uint64_t max_tunnel_changes;          /* Tunnel::max_changes_per_connection, 5 */
    double flow_linger;                   /* flows: wait after a final record, 30 s */
    double flow_active_timeout;           /* flows: wait after an active-timeout piece, 1860 s */
    bool flow_scale_sampled;              /* flows: multiply counts by the sampling interval */
    bool ignore_checksums;                /* -C */
    const netset_t *ignore_checksums_nets; /* borrowed, may be NULL */
    const netset_t *local_nets;           /* borrowed, may be NULL/empty: local_* unset */
    uint8_t likely_server_tcp[65536 / 8]; /* bitmaps of likely_server_ports */
    uint8_t likely_server_udp[65536 / 8];
    uint64_t max_conns;                   /* table cap; 0 = unlimited */
    uint64_t hash_seed;                   /* 0 = random */
} conn_config_t;

/** Fill @p c with Zeek's defaults (default-mode likely_server_ports). */
void conn_config_defaults(conn_config_t *c);

/** Replace the likely-server port sets with a "P/proto,..." list. */
bool conn_config_set_server_ports(conn_config_t *c, const char *list, char **errmsg);

/** Set one Zeek tunable by name ("tcp_inactivity_timeout", ...); value in
 *  Zeek syntax ("5 min", "30 secs", "T", "10485760").  False + message if unknown/bad. */
bool conn_config_set_tunable(conn_config_t *c, const char *name, const char *value,
                             char **errmsg);

typedef struct conn_builder conn_builder_t;

/** An encapsulating layer: what conn_builder_packet() learned about the
 *  carrying connection, then, after conn_builder_tunnel(), the uid the
 *  inner layers name in tunnel_parents. */
typedef struct {
    bool valid;            /* uid is set: decode the inner layer */
    uint64_t uid[2];
    int depth;
    encap_kind_t kind;     /* tunnel type carrying the inner layer */
    void *ref;             /* the carrying UDP connection, opaque; NULL for IP tunnels */
    uint32_t ref_gen;
    bool from_orig;
    uint16_t resp_port;    /* the carrying connection's responder port */
} conn_parent_t;

typedef struct {
    uint64_t active;           /* connections in the table now */
    uint64_t peak_active;      /* most connections in the table at once */
    uint64_t created;
    uint64_t logged;
    uint64_t evicted;          /* removed early because the table was full */
    uint64_t packets;          /* layers processed */
    uint64_t bad_checksums;
    uint64_t by_state[CONN_STATE_COUNT];
    uint64_t by_proto[4];
    uint64_t bytes_in_use;     /* table memory */
} conn_stats_t;

/**
 * New builder.  @p cfg is copied; @p uids and @p weirds are borrowed and
 * must outlive the builder; @p sink receives every finished connection.
 */
conn_builder_t *conn_builder_new(const conn_config_t *cfg, uid_gen_t *uids,
                                 weird_counters_t *weirds, conn_sink_fn sink, void *sink_user);

/** Free without logging what is left (call conn_builder_flush() first). */
void conn_builder_free(conn_builder_t *cb);

/**
 * Feed one decoded layer.  @p parent is the encapsulating layer (NULL for
 * the outermost).  Returns true when the packet was accepted (good
 * checksum) and may carry a tunnel: a UDP packet, or an IP-in-IP/GRE
 * packet; *@p as_parent then describes the carrying connection and the
 * caller goes on with conn_builder_tunnel().
 */
bool conn_builder_packet(conn_builder_t *cb, const pkt_layer_t *l, const conn_parent_t *parent,
                         conn_parent_t *as_parent);

/**
 * The decoder's verdict on what @p l carries (after decode_retarget_udp()
 * for the connection's responder port): confirms or removes the tunnel's
 * service on the carrying connection, marks a refused nesting with 'X', and
 * fills @p p's uid for the inner layers.  Returns true when the inner layer
 * should be decoded.
 */
bool conn_builder_tunnel(conn_builder_t *cb, const pkt_layer_t *l, conn_parent_t *p);

/**
 * Feed one normalized flow record (IPFIX, NetFlow v9/v5).  Records of one
 * connection (both directions of uniflows, active-timeout pieces) are merged
 * into one connection of the same table; conn_state and history are
 * reconstructed from TCP flags when it is logged.
 */
void conn_builder_flow(conn_builder_t *cb, const flow_obs_t *f);

/** conn_builder_flow() for @p n records in order, faster: each record's
 *  table slot is fetched while earlier records are built. */
void conn_builder_flows(conn_builder_t *cb, const flow_obs_t *f, size_t n);

/** Move the clock to @p now (input time), running due timers. */
void conn_builder_advance(conn_builder_t *cb, double now);

/** End of input: run shutdown timers, then log every connection left. */
void conn_builder_flush(conn_builder_t *cb);

void conn_builder_stats(const conn_builder_t *cb, conn_stats_t *out);

#endif
