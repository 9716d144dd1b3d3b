/**
 * @file flowin.h
 * The flow input thread: it owns the IPFIX/NetFlow collector (libfixbuf
 * wants one thread for everything it touches), polls it, and pushes every
 * flow observation into a flowq_t for the builder's thread.
 *
 * Start-up is synchronous: flowin_start() returns only after the thread has
 * bound every listener (so errors reach the caller, and privileges can be
 * dropped right after), or failed to.
 */
#ifndef CONNLOGD_CORE_FLOWIN_H
#define CONNLOGD_CORE_FLOWIN_H

#include <stdbool.h>

#include <glib.h>

#include "core/flowq.h"
#include "ipfix/collector.h"

typedef struct flowin flowin_t;

/**
 * Start the thread with a collector configured by @p cfg (copied; its
 * templates_dir string too) listening on every spec of @p ipfix and
 * @p netflow (collector specs, see collector.h).  Records go to @p q
 * (borrowed; must outlive the thread).  NULL with @p err if a listener
 * could not be set up; the thread is gone then.
 */
flowin_t *flowin_start(const ipfix_collector_config_t *cfg, char *const *ipfix,
                       char *const *netflow, flowq_t *q, GError **err);

/** The running collector, for its thread-safe stats calls only.  Valid
 *  until flowin_request_stop(): stop every reader (HTTP) before that. */
ipfix_collector_t *flowin_collector(flowin_t *f);

/** Ask the thread to finish (non-blocking). */
void flowin_request_stop(flowin_t *f);

/** True once the thread has left its loop and pushes nothing more. */
bool flowin_done(flowin_t *f);

/** Join the thread (after flowin_request_stop()) and free.  NULL is a no-op. */
void flowin_stop(flowin_t *f);

#endif
