/**
 * @file pcapsrc.h
 * Packet sources: a pcap or pcapng file (or stdin) read offline, or a live
 * interface.  Both deliver through the same callback.  The source owns the
 * libpcap handle; packets are handed to the callback borrowed, valid for the
 * duration of the call only.
 *
 * Live sources are non-blocking: the daemon polls pcapsrc_fd() with its
 * other inputs and calls pcapsrc_dispatch() when it is readable (libpcap's
 * pcap_breakloop() cannot wake a blocked reader, so we never block in it).
 */
#ifndef CONNLOGD_CAPTURE_PCAPSRC_H
#define CONNLOGD_CAPTURE_PCAPSRC_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/weird.h"

GQuark pcapsrc_error_quark(void);
#define PCAPSRC_ERROR pcapsrc_error_quark()
enum { PCAPSRC_ERROR_OPEN = 1, PCAPSRC_ERROR_FILTER, PCAPSRC_ERROR_READ, PCAPSRC_ERROR_PERM };

typedef struct pcapsrc pcapsrc_t;

/** One packet: @p data is borrowed for the call. */
typedef void (*pcapsrc_packet_fn)(void *user, int dlt, double ts, const uint8_t *data,
                                  uint32_t caplen, uint32_t wirelen);

/** Open @p path ("-" = stdin) for offline reading, with an optional BPF
 *  filter.  Free with pcapsrc_free(). */
pcapsrc_t *pcapsrc_open_offline(const char *path, const char *bpf, weird_counters_t *weirds,
                                GError **err);
void pcapsrc_free(pcapsrc_t *s);

/** Link type of the source. */
int pcapsrc_dlt(const pcapsrc_t *s);

/**
 * Read packets until the end of the file, feeding @p fn.  Returns false with
 * @p err if the file broke off mid-way (everything before it was delivered;
 * the break is also counted as a weird).  @p stop, if not NULL, is polled.
 */
bool pcapsrc_run(pcapsrc_t *s, pcapsrc_packet_fn fn, void *user, volatile int *stop,
                 GError **err);

/** Bytes of the file consumed so far and its size (0 if unknown, e.g. stdin). */
void pcapsrc_progress(const pcapsrc_t *s, uint64_t *done, uint64_t *total);

/** Packets delivered so far. */
uint64_t pcapsrc_packets(const pcapsrc_t *s);

/** Options of a live capture; pcapsrc_live_opts_init() fills the defaults. */
typedef struct {
    int snaplen;       /* bytes (default 262144) */
    int buffer_bytes;  /* kernel ring size; 0: libpcap's default */
    bool promiscuous;  /* default true */
    bool immediate;    /* deliver each packet at once (default true) */
    const char *bpf;   /* borrowed for the call; NULL for none */
} pcapsrc_live_opts_t;

void pcapsrc_live_opts_init(pcapsrc_live_opts_t *o);

/**
 * Open interface @p iface for live capture (pcap_create + options +
 * pcap_activate), non-blocking, with an optional BPF filter.  Errors say
 * which step failed; a missing permission (CAP_NET_RAW) is
 * PCAPSRC_ERROR_PERM.  Free with pcapsrc_free().
 */
pcapsrc_t *pcapsrc_open_live(const char *iface, const pcapsrc_live_opts_t *o,
                             weird_counters_t *weirds, GError **err);

/** The selectable file descriptor of a live source (-1 if it has none). */
int pcapsrc_fd(const pcapsrc_t *s);

/**
 * Deliver up to @p max packets that are ready now (non-blocking).  Returns
 * the number delivered (0: nothing ready), or -1 with @p err when the
 * interface failed (went down, was removed).
 */
int pcapsrc_dispatch(pcapsrc_t *s, int max, pcapsrc_packet_fn fn, void *user, GError **err);

/** Counters of one live source. */
typedef struct {
    uint64_t packets;    /* delivered to the callback */
    uint64_t bytes;      /* their wire lengths */
    uint64_t kernel_received; /* pcap_stats ps_recv (what the filter passed) */
    uint64_t kernel_dropped;  /* ps_drop: no room in the buffer */
    uint64_t if_dropped;      /* ps_ifdrop: dropped by the interface/driver */
} pcapsrc_counters_t;

/** Fill @p out; the kernel counters are refreshed from pcap_stats() (and
 *  widened past libpcap's 32-bit wrap).  Same thread as dispatch. */
void pcapsrc_counters(pcapsrc_t *s, pcapsrc_counters_t *out);

/** Interface name or file path the source was opened with. */
const char *pcapsrc_name(const pcapsrc_t *s);

#endif
