/**
 * @file stats.h
 * The /stats snapshot: everything the HTTP thread may show, gathered by the
 * daemon's main thread into one plain struct and published under a mutex.
 * Readers copy the whole struct out, so they never touch live counters that
 * belong to the single-threaded packet path.
 */
#ifndef CONNLOGD_CORE_STATS_H
#define CONNLOGD_CORE_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "conn/conn.h"
#include "core/weird.h"

#define STATS_MAX_IFACES 16
#define STATS_PATH_MAX 512

/** One live capture interface. */
typedef struct {
    char name[64];
    uint64_t packets;         /* delivered to the decoder */
    uint64_t bytes;           /* their wire lengths */
    uint64_t kernel_received; /* pcap_stats ps_recv */
    uint64_t kernel_dropped;  /* ps_drop */
    uint64_t if_dropped;      /* ps_ifdrop */
    bool failed;              /* the interface went away; error says why */
    char error[160];
} stats_iface_t;

typedef struct {
    uint64_t seq;             /* snapshots published so far (0: none yet) */
    double started;           /* epoch seconds when the daemon started */
    double taken;             /* epoch seconds when this snapshot was taken */
    double network_time;      /* the connection builder's clock */

    unsigned n_ifaces;
    stats_iface_t ifaces[STATS_MAX_IFACES];

    /* packet path */
    uint64_t packets, bytes, not_ip, undecodable;

    /* flow path */
    bool flows_enabled;
    uint64_t flows;           /* flow records fed to the builder */
    uint64_t flow_queue_depth, flow_queue_peak, flow_queue_waits;

    conn_stats_t conn;
    uint64_t weirds[WEIRD_COUNT];

    /* conn.log */
    char log_path[STATS_PATH_MAX];
    char log_format[8];
    double log_opened;
    uint64_t log_rows, log_errors, log_rotations;
    char last_rotated[STATS_PATH_MAX];
    double rotate_interval;

    /* process */
    uint64_t rss_bytes;       /* resident set size */
    uint64_t recent_total;    /* records ever pushed to /recent's ring */
    uint64_t reloads, reload_failures;
    char last_reload_error[256];
} stats_snapshot_t;

typedef struct stats_board stats_board_t;

/** A board holding one snapshot (zeroed, seq 0).  Free with stats_board_free(). */
stats_board_t *stats_board_new(void);
void stats_board_free(stats_board_t *b);

/** Replace the published snapshot with a copy of @p s (seq is set here). */
void stats_board_publish(stats_board_t *b, const stats_snapshot_t *s);

/** Copy the published snapshot into @p out. Any thread. */
void stats_board_read(stats_board_t *b, stats_snapshot_t *out);

/** Resident set size of this process in bytes (0 if unknown). */
uint64_t stats_rss_bytes(void);

#endif
