/**
 * @file server.h
 * The HTTP interface (libmicrohttpd, its own polling thread): GET /stats,
 * /recent, /metrics, /health and the status page at /.  Handlers read only
 * the stats board, the /recent ring and the collector's thread-safe
 * counters, never the packet path's live state.
 *
 * Limits: at most max_connections clients at once, a 16 KiB request
 * memory budget (longer headers are refused by libmicrohttpd), a 10 s idle
 * timeout, and only GET/HEAD (405 + Allow otherwise).  With a token, every
 * path except / and /health wants "Authorization: Bearer TOKEN".
 */
#ifndef CONNLOGD_HTTP_SERVER_H
#define CONNLOGD_HTTP_SERVER_H

#include <stdint.h>

#include <glib.h>

#include "core/recent.h"
#include "core/stats.h"
#include "ipfix/collector.h"

GQuark http_error_quark(void);
#define HTTP_ERROR http_error_quark()
enum { HTTP_ERROR_ADDRESS = 1, HTTP_ERROR_START };

typedef struct {
    const char *address;      /* numeric IPv4/IPv6; NULL or "": 127.0.0.1 */
    uint16_t port;            /* 0: an ephemeral port (see http_server_port()) */
    const char *token;        /* bearer token or NULL */
    unsigned max_connections; /* 0: 32 */
    double stall_after;       /* /health says 503 when the stats snapshot is older
                                 than this many seconds; 0: 30 */
} http_config_t;

typedef struct http_server http_server_t;

/**
 * Start serving.  @p stats and @p recent are borrowed and must outlive the
 * server; @p collector (may be NULL) too: stop the server before freeing it.
 */
http_server_t *http_server_start(const http_config_t *cfg, stats_board_t *stats,
                                 recent_t *recent, ipfix_collector_t *collector, GError **err);

/** The bound port. */
uint16_t http_server_port(const http_server_t *s);

/** Replace the bearer token (NULL: none).  Any thread. */
void http_server_set_token(http_server_t *s, const char *token);

/** Requests answered so far, by class (2xx, 4xx, 5xx). */
void http_server_counts(http_server_t *s, uint64_t *ok, uint64_t *client_err,
                        uint64_t *server_err);

/** Stop the thread, close every connection and free.  NULL is a no-op. */
void http_server_stop(http_server_t *s);

#endif
