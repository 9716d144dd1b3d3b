/**
 * @file frag.h
 * IPv4/IPv6 fragment reassembly with a fixed memory budget.  All storage
 * (set descriptors, payload chunks, hash buckets) is allocated when the
 * table is created; adding a fragment never allocates.  When the budget is
 * exhausted the oldest incomplete set is dropped.  Semantics follow Zeek's
 * FragReassembler (src/Frag.cc): the first copy of overlapping data wins,
 * the datagram size comes from the last fragment and grows to any larger
 * fragment seen, and a set expires a fixed time after its first fragment.
 * Internal to the decoder.
 */
#ifndef CONNLOGD_DECODE_FRAG_H
#define CONNLOGD_DECODE_FRAG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/weird.h"

/** Largest IP header kept per set (IPv4 with options, IPv6 unfragmentable part). */
#define FRAG_HDR_MAX 256

typedef struct frag_table frag_table_t;

/** Which datagram a fragment belongs to (Zeek keys on addresses and id). */
typedef struct {
    uint8_t version;   /* 4 or 6 */
    uint8_t src[16];
    uint8_t dst[16];
    uint32_t id;       /* IPv4: 16-bit identification; IPv6: fragment header id */
} frag_key_t;

/** One fragment, as the IP decoder found it. */
typedef struct {
    const uint8_t *hdr;   /* the IP header (IPv6: the part before the fragment header) */
    uint32_t hdr_len;
    int nh_off;           /* IPv6: offset in hdr of the byte naming the fragment header */
    uint8_t next_proto;   /* protocol of the datagram's payload */
    uint32_t offset;      /* payload offset in bytes */
    bool more;            /* more fragments follow */
    const uint8_t *data;  /* this fragment's payload */
    uint32_t len;
} frag_in_t;

typedef enum {
    FRAG_PENDING = 0,  /* stored; the datagram is not complete yet */
    FRAG_DONE,         /* the datagram is complete and was written out */
    FRAG_DROPPED,      /* unusable (too big, header too long, no room): counted */
} frag_result_t;

/** New table using about @p budget bytes; @p timeout seconds per set
 *  (<= 0: sets never expire).  Free with frag_table_free(). */
frag_table_t *frag_table_new(uint32_t budget, double timeout);

/** Free @p t; NULL is a no-op. */
void frag_table_free(frag_table_t *t);

/**
 * Add fragment @p in of datagram @p k at time @p now.  On FRAG_DONE the
 * datagram (header, with length fields and IPv6 next header patched, then
 * payload) is in @p out (capacity @p out_cap, at least FRAG_HDR_MAX + 65536)
 * and its length in *@p out_len; the set is released.  Anomalies (overlap,
 * inconsistent sizes, timeouts, evictions) are counted in @p w.
 */
frag_result_t frag_add(frag_table_t *t, weird_counters_t *w, double now, const frag_key_t *k,
                       const frag_in_t *in, uint8_t *out, uint32_t out_cap, uint32_t *out_len);

/** Number of incomplete datagrams held (for tests and statistics). */
uint32_t frag_table_count(const frag_table_t *t);

#endif
