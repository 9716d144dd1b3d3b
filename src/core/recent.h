/**
 * @file recent.h
 * The most recently logged connections, for HTTP /recent: a fixed ring of
 * conn_record_t guarded by one mutex.  The connection builder's thread
 * pushes each record as it is logged (a copy into a preallocated slot, no
 * allocation); readers on other threads filter and copy matches out while
 * holding the lock, so they never see a slot being overwritten.
 */
#ifndef CONNLOGD_CORE_RECENT_H
#define CONNLOGD_CORE_RECENT_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "conn/record.h"

typedef struct recent recent_t;

/** What a reader wants; recent_filter_init() sets "everything". */
typedef struct {
    int proto;            /* conn_proto_t, or -1 for any */
    int conn_state;       /* conn_state_t, or -1 for any */
    bool has_host;
    uint8_t host[16];     /* either endpoint (IPv4 as ::ffff:a.b.c.d) */
    int port;             /* either endpoint's port, or -1 */
    double since;         /* ts >= since (epoch seconds); 0: no bound */
    unsigned limit;       /* at most this many; 0: the ring's capacity */
} recent_filter_t;

/** Ring of @p capacity records (>= 1).  Free with recent_free(). */
recent_t *recent_new(unsigned capacity);

/** NULL is a no-op. */
void recent_free(recent_t *r);

/** Record @p rec (copied).  Overwrites the oldest when full.  Any thread. */
void recent_push(recent_t *r, const conn_record_t *rec);

/** conn_sink_fn-compatible wrapper: @p user is a recent_t. */
void recent_sink(const conn_record_t *rec, void *user);

/** A filter that matches every record. */
void recent_filter_init(recent_filter_t *f);

/**
 * Copy the records matching @p f, newest first, into @p out (a GArray of
 * conn_record_t, appended to).  Returns the number copied.  Any thread.
 */
unsigned recent_query(recent_t *r, const recent_filter_t *f, GArray *out);

/** Capacity, and records pushed since creation. */
unsigned recent_capacity(const recent_t *r);
uint64_t recent_total(recent_t *r);

#endif
