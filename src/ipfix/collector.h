/**
 * @file collector.h
 * The flow-record ingest side: IPFIX files, IPFIX over UDP and TCP, NetFlow
 * v9 (libfixbuf's translator) and NetFlow v5 (our decoder), normalized into
 * flow_obs_t and handed to one callback, with per-exporter counters that a
 * stats endpoint can snapshot from another thread.
 */
#ifndef CONNLOGD_IPFIX_COLLECTOR_H
#define CONNLOGD_IPFIX_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <glib.h>

#include "conn/flow.h"
#include "ipfix/normalize.h"

/*
 * Threading: libfixbuf has no locks, so one thread owns a collector and
 * everything in it.  That thread calls ipfix_collector_new(), the _add_
 * functions, ipfix_collector_poll() in a loop, and ipfix_collector_free().
 * Safe from any thread: ipfix_collector_wakeup() (also from a signal
 * handler), ipfix_collector_stats() and ipfix_collector_totals().  The flow
 * callback runs on the polling thread, between fixbuf calls, and must not
 * call back into the collector except for those thread-safe calls.
 *
 * Sources (ipfix_collector_add_listener() specs):
 *
 *  - "udp://ADDR[:PORT]"     IPFIX over UDP (default port 4739).  We own the
 *                            socket; each datagram is one IPFIX message.
 *  - "tcp://ADDR[:PORT]"     IPFIX over TCP (default port 4739), one session
 *                            per connection.
 *  - "netflow://ADDR[:PORT]" the NetFlow port (default 2055).  Each datagram
 *                            is dispatched on its version field: 5 goes to
 *                            our v5 decoder, 9 to libfixbuf's v9 translator,
 *                            10 to the IPFIX path (so an exporter switched to
 *                            IPFIX keeps working), anything else is counted
 *                            as garbage.  The choice is per datagram, so one
 *                            port serves v5, v9 and IPFIX exporters at once.
 *
 * ADDR is a numeric IPv4 or IPv6 address ("[::1]" with a port), or "*" for
 * 0.0.0.0.  Port 0 binds an ephemeral port (see @p bound_port).  SCTP and
 * TLS are not supported (Debian's libfixbuf is built without them).
 *
 * How the v5/v9 split works with a fixbuf-owned socket: libfixbuf's v9
 * translator only runs inside its own UDP collector, so the NetFlow port is
 * a fixbuf UDP listener.  We find its socket, poll it ourselves and peek at
 * each datagram (MSG_PEEK): v9 datagrams, once structurally checked, are
 * left for fixbuf to read; everything else we consume ourselves.
 */

#define IPFIX_DEFAULT_PORT 4739       /* IANA "ipfix" */
#define IPFIX_NETFLOW_DEFAULT_PORT 2055

#define IPFIX_COLLECTOR_ERROR (ipfix_collector_error_quark())

typedef enum {
    IPFIX_COLLECTOR_ERROR_SPEC,  /* a source spec does not parse */
    IPFIX_COLLECTOR_ERROR_IO,    /* socket, bind, open ... failed */
    IPFIX_COLLECTOR_ERROR_SETUP, /* info model or fixbuf setup failed */
    IPFIX_COLLECTOR_ERROR_UNSUPPORTED,
} ipfix_collector_error_t;

/** Error domain of the collector's setup calls. */
GQuark ipfix_collector_error_quark(void);

/** Which protocol an exporter speaks to us. */
typedef enum {
    IPFIX_PROTO_IPFIX_UDP = 0,
    IPFIX_PROTO_IPFIX_TCP,
    IPFIX_PROTO_IPFIX_FILE,
    IPFIX_PROTO_NETFLOW_V9,
    IPFIX_PROTO_NETFLOW_V5,
} ipfix_proto_t;

/** Per-exporter counters.  Keep ipfix_counter_name() in the same order. */
typedef enum {
    IPFIX_CTR_MESSAGES = 0,     /* messages / datagrams accepted from this exporter */
    IPFIX_CTR_FLOWS,            /* flow records delivered */
    IPFIX_CTR_OPTIONS,          /* options records read (sampling, systemInitTime) */
    IPFIX_CTR_IGNORED,          /* data records of templates we do not use */
    IPFIX_CTR_TEMPLATES,        /* templates received (new or redefined) */
    IPFIX_CTR_SEQ_GAPS,         /* messages that arrived after a sequence gap */
    IPFIX_CTR_MISSED,           /* records (IPFIX, v5) or packets (v9) the gaps account for */
    IPFIX_CTR_OUT_OF_ORDER,     /* sequence went backwards (reordering, restart) */
    IPFIX_CTR_DUPLICATES,       /* datagram identical to the previous one: dropped */
    IPFIX_CTR_MALFORMED,        /* messages or records that failed to parse */
    IPFIX_CTR_MISSING_TEMPLATE, /* sets (or sub-records) skipped for lack of a template */
    IPFIX_CTR_LENGTH_MISMATCH,  /* v5: length != 24 + 48 * count; v9: header count != records */
    IPFIX_CTR_TIME_IMPLAUSIBLE, /* flow times repaired (see ipfix_normalize_sanitize_times) */
    IPFIX_CTR_TIME_MISSING,     /* flow records without a usable time */
    IPFIX_CTR_SAMPLED,          /* flow records with a sampling interval above 1 */
    IPFIX_CTR_CLOCK_SKEW,       /* live messages whose export time is far from our clock */
    IPFIX_CTR_TEMPLATE_LIMIT,   /* messages dropped: their templates would pass the session's
                                   max_templates or max_template_fields, or the
                                   collector's max_unknown_elements */
    IPFIX_CTR_COUNT
} ipfix_counter_t;

/** Collector-wide counters.  Keep ipfix_total_name() in the same order. */
typedef enum {
    IPFIX_TOT_DATAGRAMS = 0,  /* UDP datagrams received */
    IPFIX_TOT_GARBAGE,        /* datagrams of no known version, or too short to tell */
    IPFIX_TOT_TCP_ACCEPTED,
    IPFIX_TOT_TCP_REJECTED,   /* over the connection limit */
    IPFIX_TOT_TCP_DESYNC,     /* connections closed on a broken message header */
    IPFIX_TOT_FILES_DONE,
    IPFIX_TOT_EXPORTER_LIMIT, /* messages dropped because the exporter table was full */
    IPFIX_TOT_EXPIRED,        /* idle exporters and UDP sessions dropped */
    IPFIX_TOT_FIXBUF_WARNINGS,/* libfixbuf diagnostics we could not attribute */
    IPFIX_TOT_IO_ERRORS,
    IPFIX_TOT_DENIED,         /* datagrams and TCP connections from outside the allow-list */
    IPFIX_TOT_SESSION_LIMIT,  /* new transport sessions refused (max_sessions, or the
                                 address has max_sessions_per_address) */
    IPFIX_TOT_TEMPLATE_LIMIT, /* messages dropped for their templates (all exporters) */
    IPFIX_TOT_SOCKET_DROPS,   /* datagrams the kernel dropped at a full UDP receive
                                 buffer (SO_MEMINFO): losses that sequence numbers miss
                                 when they hit the end of a burst */
    IPFIX_TOT_COUNT
} ipfix_total_t;

/** A snapshot of one exporter (see ipfix_collector_stats()). */
typedef struct {
    uint32_t id;              /* == flow_obs_t.exporter_id; never reused */
    ipfix_proto_t proto;
    char address[128];        /* "192.0.2.1", "2001:db8::1", or the file path */
    uint16_t port;            /* UDP source port; 0 for TCP, files and v5 */
    uint32_t obs_domain;      /* IPFIX domain, v9 source id, v5 engine type << 8 | id */
    double first_seen, last_seen; /* epoch seconds */
    uint64_t n[IPFIX_CTR_COUNT];
} ipfix_exporter_stats_t;

typedef struct {
    const char *templates_dir; /* NULL: ipfix_infomodel_default_dir() (a missing
                                  default only warns; a given dir must exist) */
    double max_time_skew;      /* seconds a flow time may lie from its message's
                                  export time; <= 0: 86400 */
    unsigned idle_timeout;     /* seconds before an idle exporter / UDP session is
                                  dropped (its templates too); 0: 1800, as fixbuf */
    unsigned max_exporters;    /* 0: 4096 */
    unsigned max_tcp_connections; /* 0: 64 */
    int udp_rcvbuf;            /* receive buffer for UDP sockets (SO_RCVBUFFORCE when
                                  allowed, else SO_RCVBUF up to net.core.rmem_max);
                                  0: system default */

    /* Limits for hostile or broken exporters (see "Limits" below).  They
     * apply to network sources only: files are read without them. */
    const char *allow;         /* comma-separated networks ("192.0.2.0/24, 2001:db8::/32")
                                  whose datagrams and connections are accepted; NULL or
                                  "": every address */
    unsigned max_sessions;     /* live transport sessions in all; 0: 256 */
    unsigned max_sessions_per_address; /* 0: 32 */
    unsigned max_exporters_per_address; /* exporter table entries of one address; 0: 256 */
    unsigned max_templates;    /* templates one session may define; 0: 512 */
    unsigned max_template_fields; /* fields of all of one session's templates; 0: 8192 */
    unsigned max_unknown_elements; /* information elements the model does not know that
                                      IPFIX templates may introduce, in all; 0: 4096 */
    fbInfoModel_t *model;      /* NULL: the collector builds one (templates_dir) and frees
                                  it.  Else a caller-owned model, already loaded
                                  (templates_dir is not read), shared as described
                                  under "Shared model" below */
} ipfix_collector_config_t;

/*
 * Shared model.  Building libfixbuf's information model and loading the
 * templates dir costs about a millisecond, so a program that makes many
 * collectors (the IPFIX fuzz target: one per input) may build one model and
 * hand it to each (ipfix_collector_config_t.model).  The caller frees it with
 * fbInfoModelFree() after the last collector using it is freed, and calls
 * every collector sharing it from one thread (libfixbuf has no locks, and
 * templates add "alien" elements to the model; see "Limits").  A collector
 * counts against its max_unknown_elements the elements its own exporters add
 * to the model, so a model shared by N collectors grows by at most the sum of
 * their caps; an element another collector added is known, and costs nothing.
 */

/*
 * Limits.  A transport session is what libfixbuf keeps template state for:
 * one IPFIX-over-UDP peer (address and port), one TCP connection, or one
 * NetFlow v9 stream (address, port, source id).  Each costs about 200 KiB
 * before its first template (a 64 KiB message buffer and a 128 KiB
 * template-pair table), so their number is capped overall and per source
 * address; an exporter entry (what /stats lists: a session's observation
 * domain, or a v5 engine) is capped per address too.  A session's templates
 * are capped by count and by their total number of fields, counting each
 * (observation domain, template id) once, withdrawn or not (libfixbuf keeps
 * a withdrawn template as an empty one).  A message whose templates would
 * pass either cap is dropped whole before libfixbuf sees it, so what
 * libfixbuf holds never passes the caps.  libfixbuf also adds every
 * element a template names that the information model does not know to
 * the model, for good ("alien" elements, shared by all sessions), so the
 * number an IPFIX exporter can introduce is capped collector-wide as well
 * (NetFlow v9's 16-bit field types bound them anyway).  NetFlow v9 sessions are kept for
 * at least 30 minutes of idleness whatever idle_timeout says, because
 * libfixbuf keeps its own v9 sessions that long.  Refusals are counted
 * (IPFIX_TOT_DENIED, _SESSION_LIMIT, _EXPORTER_LIMIT, _TEMPLATE_LIMIT) and
 * logged at most once a minute per kind.
 */

/** What the collector holds now (see ipfix_collector_usage()). */
typedef struct {
    uint64_t sessions;        /* live transport sessions (UDP peers, TCP, NetFlow v9) */
    uint64_t exporters;       /* exporter table entries */
    uint64_t templates;       /* templates held by network sessions */
    uint64_t template_fields; /* their fields */
    uint64_t unknown_elements; /* elements IPFIX templates added to the model (see above) */
} ipfix_collector_usage_t;

typedef struct ipfix_collector ipfix_collector_t;

/**
 * Create a collector.  @p cfg may be NULL for defaults; it is copied.
 * @p cb receives every flow observation (the pointer is valid only during
 * the call).  Loads the info model extensions from the templates dir.
 * Installs a GLib log handler for the default domain's WARNING and MESSAGE
 * levels to count libfixbuf's diagnostics; messages logged outside our
 * fixbuf calls pass through to g_log_default_handler().  Free with
 * ipfix_collector_free().
 */
ipfix_collector_t *ipfix_collector_new(const ipfix_collector_config_t *cfg, flow_obs_fn cb,
                                       void *user_data, GError **err);

/** Close every source, free everything.  NULL is a no-op. */
void ipfix_collector_free(ipfix_collector_t *c);

/**
 * Listen on @p spec (see the file comment).  @p bound_port (may be NULL)
 * receives the port actually bound.
 */
gboolean ipfix_collector_add_listener(ipfix_collector_t *c, const char *spec,
                                      uint16_t *bound_port, GError **err);

/**
 * Read IPFIX messages (RFC 5655 file format: a plain message stream) from
 * @p path, or standard input for "-".  The file is read by
 * ipfix_collector_poll() until its end.
 */
gboolean ipfix_collector_add_file(ipfix_collector_t *c, const char *path, GError **err);

/**
 * Wait up to @p timeout_ms (-1: no limit) for input, process what is there
 * (bounded work per source so one busy exporter cannot starve the others),
 * and deliver flow records through the callback.  Returns the number of
 * flow records delivered, or -1 when nothing is left to do: no listeners
 * and every file read to its end.  Returns early after
 * ipfix_collector_wakeup().
 */
int ipfix_collector_poll(ipfix_collector_t *c, int timeout_ms);

/** Make a blocked (or the next) ipfix_collector_poll() return.  Any thread;
 *  async-signal-safe. */
void ipfix_collector_wakeup(ipfix_collector_t *c);

/**
 * Feed one datagram as if it had arrived on a listener: @p netflow_port
 * selects the NetFlow port's dispatch (v5, IPFIX), else the IPFIX UDP path.
 * NetFlow v9 needs fixbuf's socket and is refused here (counted as
 * garbage, returns FALSE); so is a @p peer outside the allow-list
 * (counted as denied).  For tests and replay tools; same thread rule as
 * poll.  @p received is the arrival time (epoch seconds).
 */
gboolean ipfix_collector_inject_datagram(ipfix_collector_t *c, bool netflow_port,
                                         const struct sockaddr *peer, socklen_t peerlen,
                                         const uint8_t *buf, size_t len, double received);

/**
 * Snapshot of every known exporter, ordered by id.  Thread-safe.  Returns a
 * new GArray of ipfix_exporter_stats_t; the caller owns it (g_array_unref).
 * Counters are each read atomically, not all at one instant.
 */
GArray *ipfix_collector_stats(ipfix_collector_t *c);

/** Copy the collector-wide counters into @p out.  Thread-safe. */
void ipfix_collector_totals(ipfix_collector_t *c, uint64_t out[IPFIX_TOT_COUNT]);

/** Copy the collector's current holdings into @p out.  Thread-safe; each
 *  figure is read atomically, not all at one instant. */
void ipfix_collector_usage(ipfix_collector_t *c, ipfix_collector_usage_t *out);

/** Counter names ("messages", "seq_gaps", ...; "unknown" if out of range). */
const char *ipfix_counter_name(ipfix_counter_t k);
const char *ipfix_total_name(ipfix_total_t k);
const char *ipfix_proto_name(ipfix_proto_t p);

#endif
