/**
 * @file pcapsrc.h
 * Packet sources: a pcap or pcapng file (or stdin) read offline.  Live
 * interfaces come later through the same callback.  The source owns the
 * libpcap handle; packets are handed to the callback borrowed, valid for the
 * duration of the call only.
 */
#ifndef CONNLOGD_CAPTURE_PCAPSRC_H
#define CONNLOGD_CAPTURE_PCAPSRC_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/weird.h"

GQuark pcapsrc_error_quark(void);
#define PCAPSRC_ERROR pcapsrc_error_quark()
enum { PCAPSRC_ERROR_OPEN = 1, PCAPSRC_ERROR_FILTER, PCAPSRC_ERROR_READ };

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

#endif
