/**
 * @file render.h
 * Bodies of the HTTP endpoints, apart from the server so they can be tested
 * without sockets: /stats JSON, /metrics in Prometheus' text format,
 * /recent as a JSON array of Zeek JSON conn.log rows, and the parsing of
 * /recent's query parameters.
 */
#ifndef CONNLOGD_HTTP_RENDER_H
#define CONNLOGD_HTTP_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "core/recent.h"
#include "core/stats.h"
#include "ipfix/collector.h"

/** Flow collector figures for /stats and /metrics; all may be empty. */
typedef struct {
    bool present;              /* a collector runs */
    GArray *exporters;         /* of ipfix_exporter_stats_t, borrowed; NULL: none */
    uint64_t totals[IPFIX_TOT_COUNT];
    ipfix_collector_usage_t usage; /* sessions, exporters, templates held now */
} http_flow_view_t;

/** Append the /stats object for @p s to @p out. */
void http_render_stats(const stats_snapshot_t *s, const http_flow_view_t *flows,
                       unsigned recent_capacity, GString *out);

/** Append the /metrics text (Prometheus exposition format 0.0.4). */
void http_render_metrics(const stats_snapshot_t *s, const http_flow_view_t *flows,
                         GString *out);

/** Append @p recs (conn_record_t) as a JSON array of Zeek JSON rows. */
void http_render_recent(GArray *recs, GString *out);

/** Append @p s as a JSON string (quoted, escaped; invalid UTF-8 replaced). */
void http_json_string(GString *out, const char *s);

/**
 * Apply one /recent query parameter to @p f.  @p max_limit bounds "limit".
 * False with a new message in *@p why (caller g_free()s it) for an unknown
 * parameter or a bad value.
 */
bool http_recent_param(recent_filter_t *f, unsigned max_limit, const char *key,
                       const char *value, char **why);

#endif
