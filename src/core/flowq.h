/**
 * @file flowq.h
 * The hand-off of flow records from the collector thread to the thread
 * that owns the connection builder: a bounded ring of flow_obs_t (allocated
 * once) under a mutex, with an eventfd that is readable while records wait,
 * so the main loop can poll() it beside the capture descriptors.
 *
 * A full queue makes the producer wait instead of dropping records: the
 * kernel's socket buffers then absorb the burst, and the producer's
 * waiting is counted.
 *
 * The eventfd does not fire on every record: it becomes readable once
 * FLOWQ_WAKE_AT records wait, or when the producer calls flowq_flush()
 * because it has nothing more for now.  Waking the consumer for every
 * datagram cost more in context switches than the records cost to build
 * (both threads share one core at 1M records/s).
 */
#ifndef CONNLOGD_CORE_FLOWQ_H
#define CONNLOGD_CORE_FLOWQ_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "conn/flow.h"

typedef struct flowq flowq_t;

typedef struct {
    uint64_t pushed;   /* records accepted */
    uint64_t waits;    /* times a producer found the queue full and waited */
    uint64_t dropped;  /* records refused because the queue was closed */
    unsigned depth;    /* records waiting now */
    unsigned peak;     /* most records waiting at once */
} flowq_stats_t;

/** Queued records that make the eventfd readable without a flush. */
#define FLOWQ_WAKE_AT 1024

/** Queue of @p capacity records (>= 1).  NULL with @p err if no eventfd. */
flowq_t *flowq_new(unsigned capacity, GError **err);

/** NULL is a no-op.  No thread may use the queue any more. */
void flowq_free(flowq_t *q);

/** Readable (POLLIN) while records are queued and either FLOWQ_WAKE_AT
 *  of them wait or the producer flushed (see above). */
int flowq_fd(const flowq_t *q);

/** Append a copy of @p obs, waiting while the queue is full.  False (and
 *  counted as dropped) once the queue is closed. */
bool flowq_push(flowq_t *q, const flow_obs_t *obs);

/** Append copies of @p n records in order (one lock per ring stretch),
 *  waiting while the queue is full.  Returns how many were accepted (fewer
 *  only once the queue is closed; the rest are counted as dropped). */
unsigned flowq_push_n(flowq_t *q, const flow_obs_t *obs, unsigned n);

/** The producer has nothing more for now: make the eventfd readable if
 *  records wait, however few. */
void flowq_flush(flowq_t *q);

/** Move up to @p max queued records into @p out, oldest first; never waits.
 *  Returns how many. */
unsigned flowq_drain(flowq_t *q, flow_obs_t *out, unsigned max);

/** The oldest queued records in place: up to @p max of them, one stretch of
 *  the ring (so possibly fewer than wait), their number in @p n; never
 *  waits.  They stay queued, and the producer leaves them alone, until
 *  flowq_release().  For the one consumer: it saves copying each record
 *  out (2% of the builder at 1M records/s). */
const flow_obs_t *flowq_peek(flowq_t *q, unsigned max, unsigned *n);

/** Remove the @p n oldest records, which flowq_peek() returned. */
void flowq_release(flowq_t *q, unsigned n);

/** Refuse further pushes and wake producers that wait. */
void flowq_close(flowq_t *q);

void flowq_stats(flowq_t *q, flowq_stats_t *out);

#endif
