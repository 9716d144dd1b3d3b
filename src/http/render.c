/*
 * Rendering of the HTTP bodies.  Everything comes from a stats snapshot and
 * a collector view copied out beforehand, so nothing here touches state that
 * another thread is changing.  /recent rows reuse the writer's JSON
 * formatter, so their field names and number formats are exactly those of
 * Zeek's JSON conn.log.
 */
#include "http/render.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conn/record.h"
#include "core/netset.h"
#include "output/writer.h"

#define PACKAGE_NAME_VERSION PACKAGE_VERSION

void
http_json_string(GString *out, const char *s)
{
    g_autofree char *valid = NULL;

    if (!s)
        s = "";
    if (!g_utf8_validate(s, -1, NULL))
        s = valid = g_utf8_make_valid(s, -1);
    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                g_string_append_printf(out, "\\u%04x", *p);
            else
                g_string_append_c(out, (char)*p);
        }
    }
    g_string_append_c(out, '"');
}

/* A JSON number for a double (JSON has no NaN/Infinity: those are null). */
static void
json_double(GString *out, double v, int decimals)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    char fmt[8];

    if (!isfinite(v)) {
        g_string_append(out, "null");
        return;
    }
    g_snprintf(fmt, sizeof(fmt), "%%.%df", decimals);
    g_string_append(out, g_ascii_formatd(buf, sizeof(buf), fmt, v));
}

static void
json_key(GString *out, bool *first, const char *key)
{
    if (!*first)
        g_string_append_c(out, ',');
    *first = false;
    http_json_string(out, key);
    g_string_append_c(out, ':');
}

static void
kv_u64(GString *out, bool *first, const char *key, uint64_t v)
{
    json_key(out, first, key);
    g_string_append_printf(out, "%" G_GUINT64_FORMAT, v);
}

static void
kv_str(GString *out, bool *first, const char *key, const char *v)
{
    json_key(out, first, key);
    http_json_string(out, v);
}

static void
kv_double(GString *out, bool *first, const char *key, double v, int decimals)
{
    json_key(out, first, key);
    json_double(out, v, decimals);
}

static void
render_interfaces(const stats_snapshot_t *s, GString *out)
{
    g_string_append_c(out, '[');
    for (unsigned i = 0; i < s->n_ifaces && i < STATS_MAX_IFACES; i++) {
        const stats_iface_t *f = &s->ifaces[i];
        bool first = true;
        if (i > 0)
            g_string_append_c(out, ',');
        g_string_append_c(out, '{');
        kv_str(out, &first, "name", f->name);
        kv_str(out, &first, "status", f->failed ? "failed" : "up");
        if (f->failed)
            kv_str(out, &first, "error", f->error);
        kv_u64(out, &first, "packets", f->packets);
        kv_u64(out, &first, "bytes", f->bytes);
        kv_u64(out, &first, "kernel_received", f->kernel_received);
        kv_u64(out, &first, "kernel_dropped", f->kernel_dropped);
        kv_u64(out, &first, "if_dropped", f->if_dropped);
        g_string_append_c(out, '}');
    }
    g_string_append_c(out, ']');
}

static void
render_exporters(const http_flow_view_t *fv, GString *out)
{
    g_string_append_c(out, '[');
    for (guint i = 0; fv && fv->exporters && i < fv->exporters->len; i++) {
        const ipfix_exporter_stats_t *e =
            &g_array_index(fv->exporters, ipfix_exporter_stats_t, i);
        bool first = true;
        char addr[sizeof(e->address) + 1];
        if (i > 0)
            g_string_append_c(out, ',');
        g_string_append_c(out, '{');
        kv_u64(out, &first, "id", e->id);
        kv_str(out, &first, "protocol", ipfix_proto_name(e->proto));
        memcpy(addr, e->address, sizeof(e->address));
        addr[sizeof(e->address)] = '\0';
        kv_str(out, &first, "address", addr);
        kv_u64(out, &first, "port", e->port);
        kv_u64(out, &first, "observation_domain", e->obs_domain);
        kv_double(out, &first, "first_seen", e->first_seen, 6);
        kv_double(out, &first, "last_seen", e->last_seen, 6);
        for (int k = 0; k < IPFIX_CTR_COUNT; k++)
            kv_u64(out, &first, ipfix_counter_name((ipfix_counter_t)k), e->n[k]);
        g_string_append_c(out, '}');
    }
    g_string_append_c(out, ']');
}

void
http_render_stats(const stats_snapshot_t *s, const http_flow_view_t *fv, unsigned recent_capacity,
                  GString *out)
{
    bool first = true, f2;

    g_string_append_c(out, '{');
    kv_str(out, &first, "version", PACKAGE_NAME_VERSION);
    kv_double(out, &first, "uptime", s->taken > s->started ? s->taken - s->started : 0, 3);
    kv_double(out, &first, "started", s->started, 6);
    kv_double(out, &first, "taken", s->taken, 6);
    kv_double(out, &first, "network_time", s->network_time, 6);

    json_key(out, &first, "interfaces");
    render_interfaces(s, out);

    json_key(out, &first, "packets");
    f2 = true;
    g_string_append_c(out, '{');
    kv_u64(out, &f2, "total", s->packets);
    kv_u64(out, &f2, "bytes", s->bytes);
    kv_u64(out, &f2, "not_ip", s->not_ip);
    kv_u64(out, &f2, "undecodable", s->undecodable);
    g_string_append_c(out, '}');

    json_key(out, &first, "flows");
    f2 = true;
    g_string_append_c(out, '{');
    json_key(out, &f2, "enabled");
    g_string_append(out, s->flows_enabled ? "true" : "false");
    kv_u64(out, &f2, "records", s->flows);
    kv_u64(out, &f2, "queue_depth", s->flow_queue_depth);
    kv_u64(out, &f2, "queue_peak", s->flow_queue_peak);
    kv_u64(out, &f2, "queue_waits", s->flow_queue_waits);
    if (fv && fv->present) {
        json_key(out, &f2, "collector");
        bool f3 = true;
        g_string_append_c(out, '{');
        for (int k = 0; k < IPFIX_TOT_COUNT; k++)
            kv_u64(out, &f3, ipfix_total_name((ipfix_total_t)k), fv->totals[k]);
        g_string_append_c(out, '}');
        json_key(out, &f2, "held");
        f3 = true;
        g_string_append_c(out, '{');
        kv_u64(out, &f3, "sessions", fv->usage.sessions);
        kv_u64(out, &f3, "exporters", fv->usage.exporters);
        kv_u64(out, &f3, "templates", fv->usage.templates);
        kv_u64(out, &f3, "template_fields", fv->usage.template_fields);
        kv_u64(out, &f3, "unknown_elements", fv->usage.unknown_elements);
        g_string_append_c(out, '}');
    }
    g_string_append_c(out, '}');

    json_key(out, &first, "exporters");
    render_exporters(fv, out);

    json_key(out, &first, "connections");
    f2 = true;
    g_string_append_c(out, '{');
    kv_u64(out, &f2, "active", s->conn.active);
    kv_u64(out, &f2, "peak_active", s->conn.peak_active);
    kv_u64(out, &f2, "created", s->conn.created);
    kv_u64(out, &f2, "logged", s->conn.logged);
    kv_u64(out, &f2, "evicted", s->conn.evicted);
    kv_u64(out, &f2, "bad_checksums", s->conn.bad_checksums);
    json_key(out, &f2, "by_state");
    bool f3 = true;
    g_string_append_c(out, '{');
    for (int k = 0; k < CONN_STATE_COUNT; k++)
        kv_u64(out, &f3, conn_state_name((conn_state_t)k), s->conn.by_state[k]);
    g_string_append_c(out, '}');
    json_key(out, &f2, "by_proto");
    f3 = true;
    g_string_append_c(out, '{');
    for (int k = 0; k < 4; k++)
        kv_u64(out, &f3, conn_proto_name((conn_proto_t)k), s->conn.by_proto[k]);
    g_string_append_c(out, '}');
    g_string_append_c(out, '}');

    json_key(out, &first, "weirds");
    f2 = true;
    g_string_append_c(out, '{');
    for (int k = 0; k < WEIRD_COUNT; k++)
        if (s->weirds[k])
            kv_u64(out, &f2, weird_name((weird_kind_t)k), s->weirds[k]);
    g_string_append_c(out, '}');

    json_key(out, &first, "logs");
    f2 = true;
    g_string_append_c(out, '{');
    kv_str(out, &f2, "path", s->log_path);
    kv_str(out, &f2, "format", s->log_format);
    kv_double(out, &f2, "opened", s->log_opened, 0);
    kv_u64(out, &f2, "rows", s->log_rows);
    kv_u64(out, &f2, "errors", s->log_errors);
    kv_u64(out, &f2, "rotations", s->log_rotations);
    kv_str(out, &f2, "last_rotated", s->last_rotated);
    kv_double(out, &f2, "rotate_interval", s->rotate_interval, 3);
    g_string_append_c(out, '}');

    json_key(out, &first, "memory");
    f2 = true;
    g_string_append_c(out, '{');
    kv_u64(out, &f2, "rss_bytes", s->rss_bytes);
    kv_u64(out, &f2, "conn_table_bytes", s->conn.bytes_in_use);
    kv_u64(out, &f2, "recent_ring_bytes", (uint64_t)recent_capacity * sizeof(conn_record_t));
    g_string_append_c(out, '}');

    json_key(out, &first, "recent");
    f2 = true;
    g_string_append_c(out, '{');
    kv_u64(out, &f2, "capacity", recent_capacity);
    kv_u64(out, &f2, "total", s->recent_total);
    g_string_append_c(out, '}');

    json_key(out, &first, "config");
    f2 = true;
    g_string_append_c(out, '{');
    kv_u64(out, &f2, "reloads", s->reloads);
    kv_u64(out, &f2, "reload_failures", s->reload_failures);
    kv_str(out, &f2, "last_reload_error", s->last_reload_error);
    g_string_append_c(out, '}');

    g_string_append_c(out, '}');
}

/* ---- Prometheus text format */

/* A label value: backslash, double quote and newline are escaped
 * (exposition format 0.0.4). */
static void
prom_label(GString *out, const char *v)
{
    for (const char *p = v; *p; p++) {
        if (*p == '\\')
            g_string_append(out, "\\\\");
        else if (*p == '"')
            g_string_append(out, "\\\"");
        else if (*p == '\n')
            g_string_append(out, "\\n");
        else
            g_string_append_c(out, *p);
    }
}

static void
prom_head(GString *out, const char *name, const char *type, const char *help)
{
    g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
prom_u64(GString *out, const char *name, const char *lk, const char *lv, uint64_t v)
{
    g_string_append(out, name);
    if (lk) {
        g_string_append_printf(out, "{%s=\"", lk);
        prom_label(out, lv);
        g_string_append(out, "\"}");
    }
    g_string_append_printf(out, " %" G_GUINT64_FORMAT "\n", v);
}

void
http_render_metrics(const stats_snapshot_t *s, const http_flow_view_t *fv, GString *out)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    prom_head(out, "connlogd_uptime_seconds", "gauge", "Seconds since the daemon started.");
    g_string_append_printf(out, "connlogd_uptime_seconds %s\n",
                           g_ascii_formatd(buf, sizeof(buf), "%.3f",
                                           s->taken > s->started ? s->taken - s->started : 0));

    static const struct {
        const char *name, *help;
        size_t off;
    } ifm[] = {
        {"connlogd_interface_packets_total", "Packets captured on the interface.",
         offsetof(stats_iface_t, packets)},
        {"connlogd_interface_bytes_total", "Wire bytes captured on the interface.",
         offsetof(stats_iface_t, bytes)},
        {"connlogd_interface_kernel_dropped_total",
         "Packets the kernel dropped for lack of buffer space (pcap ps_drop).",
         offsetof(stats_iface_t, kernel_dropped)},
        {"connlogd_interface_if_dropped_total",
         "Packets the interface or driver dropped (pcap ps_ifdrop).",
         offsetof(stats_iface_t, if_dropped)},
    };
    for (size_t m = 0; m < G_N_ELEMENTS(ifm); m++) {
        prom_head(out, ifm[m].name, "counter", ifm[m].help);
        for (unsigned i = 0; i < s->n_ifaces && i < STATS_MAX_IFACES; i++)
            prom_u64(out, ifm[m].name, "interface", s->ifaces[i].name,
                     *(const uint64_t *)((const char *)&s->ifaces[i] + ifm[m].off));
    }

    prom_head(out, "connlogd_packets_total", "counter", "Packets decoded, all interfaces.");
    prom_u64(out, "connlogd_packets_total", NULL, NULL, s->packets);
    prom_head(out, "connlogd_flow_records_total", "counter",
              "Flow records fed to the connection builder.");
    prom_u64(out, "connlogd_flow_records_total", NULL, NULL, s->flows);
    prom_head(out, "connlogd_connections_active", "gauge", "Connections in the table.");
    prom_u64(out, "connlogd_connections_active", NULL, NULL, s->conn.active);
    prom_head(out, "connlogd_connections_logged_total", "counter", "Connections logged.");
    prom_u64(out, "connlogd_connections_logged_total", NULL, NULL, s->conn.logged);
    prom_head(out, "connlogd_connections_evicted_total", "counter",
              "Connections logged early because the table was full.");
    prom_u64(out, "connlogd_connections_evicted_total", NULL, NULL, s->conn.evicted);
    prom_head(out, "connlogd_connections_state_total", "counter",
              "Connections logged, by conn_state.");
    for (int k = 0; k < CONN_STATE_COUNT; k++)
        prom_u64(out, "connlogd_connections_state_total", "state",
                 conn_state_name((conn_state_t)k), s->conn.by_state[k]);
    prom_head(out, "connlogd_connections_proto_total", "counter",
              "Connections logged, by transport protocol.");
    for (int k = 0; k < 4; k++)
        prom_u64(out, "connlogd_connections_proto_total", "proto",
                 conn_proto_name((conn_proto_t)k), s->conn.by_proto[k]);
    prom_head(out, "connlogd_weirds_total", "counter", "Anomalies met, by name.");
    for (int k = 0; k < WEIRD_COUNT; k++)
        prom_u64(out, "connlogd_weirds_total", "name", weird_name((weird_kind_t)k), s->weirds[k]);
    prom_head(out, "connlogd_log_rows_total", "counter", "Rows written to conn.log.");
    prom_u64(out, "connlogd_log_rows_total", NULL, NULL, s->log_rows);
    prom_head(out, "connlogd_log_rotations_total", "counter", "conn.log rotations.");
    prom_u64(out, "connlogd_log_rotations_total", NULL, NULL, s->log_rotations);
    prom_head(out, "connlogd_resident_memory_bytes", "gauge", "Resident set size.");
    prom_u64(out, "connlogd_resident_memory_bytes", NULL, NULL, s->rss_bytes);

    if (!fv || !fv->present)
        return;
    prom_head(out, "connlogd_collector_total", "counter", "Flow collector totals, by counter.");
    for (int k = 0; k < IPFIX_TOT_COUNT; k++)
        prom_u64(out, "connlogd_collector_total", "counter", ipfix_total_name((ipfix_total_t)k),
                 fv->totals[k]);
    prom_head(out, "connlogd_collector_held", "gauge",
              "What the flow collector holds now (sessions, exporters, templates, ...).");
    prom_u64(out, "connlogd_collector_held", "kind", "sessions", fv->usage.sessions);
    prom_u64(out, "connlogd_collector_held", "kind", "exporters", fv->usage.exporters);
    prom_u64(out, "connlogd_collector_held", "kind", "templates", fv->usage.templates);
    prom_u64(out, "connlogd_collector_held", "kind", "template_fields",
             fv->usage.template_fields);
    prom_u64(out, "connlogd_collector_held", "kind", "unknown_elements",
             fv->usage.unknown_elements);
    prom_head(out, "connlogd_exporter_total", "counter",
              "Per-exporter flow counters (messages, flows, seq_gaps, malformed, ...).");
    for (guint i = 0; fv->exporters && i < fv->exporters->len; i++) {
        const ipfix_exporter_stats_t *e =
            &g_array_index(fv->exporters, ipfix_exporter_stats_t, i);
        char addr[sizeof(e->address) + 1];
        memcpy(addr, e->address, sizeof(e->address));
        addr[sizeof(e->address)] = '\0';
        for (int k = 0; k < IPFIX_CTR_COUNT; k++) {
            g_string_append_printf(out, "connlogd_exporter_total{exporter=\"%u\",address=\"",
                                   e->id);
            prom_label(out, addr);
            g_string_append_printf(out,
                                   "\",protocol=\"%s\",domain=\"%u\",counter=\"%s\"} %" G_GUINT64_FORMAT
                                   "\n",
                                   ipfix_proto_name(e->proto), e->obs_domain,
                                   ipfix_counter_name((ipfix_counter_t)k), e->n[k]);
        }
    }
}

void
http_render_recent(GArray *recs, GString *out)
{
    g_string_append_c(out, '[');
    for (guint i = 0; i < recs->len; i++) {
        if (i > 0)
            g_string_append(out, ",\n");
        writer_format_json(&g_array_index(recs, conn_record_t, i), out);
    }
    g_string_append(out, "]\n");
}

/* ---- /recent parameters */

static bool
parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end = NULL;

    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return false;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

bool
http_recent_param(recent_filter_t *f, unsigned max_limit, const char *key, const char *value,
                  char **why)
{
    unsigned long v;

    if (!value)
        value = "";
    if (strcmp(key, "limit") == 0) {
        if (!parse_uint(value, max_limit, &v) || v == 0) {
            *why = g_strdup_printf("limit must be an integer from 1 to %u", max_limit);
            return false;
        }
        f->limit = (unsigned)v;
        return true;
    }
    if (strcmp(key, "proto") == 0) {
        for (int k = 0; k < 4; k++) {
            if (strcmp(value, conn_proto_name((conn_proto_t)k)) == 0) {
                f->proto = k;
                return true;
            }
        }
        *why = g_strdup("proto must be tcp, udp, icmp or unknown_transport");
        return false;
    }
    if (strcmp(key, "conn_state") == 0) {
        for (int k = 0; k < CONN_STATE_COUNT; k++) {
            if (strcmp(value, conn_state_name((conn_state_t)k)) == 0) {
                f->conn_state = k;
                return true;
            }
        }
        *why = g_strdup("conn_state must be one of Zeek's states (S0, S1, SF, REJ, ...)");
        return false;
    }
    if (strcmp(key, "host") == 0) {
        if (!addr_parse(value, f->host)) {
            *why = g_strdup("host must be an IPv4 or IPv6 address");
            return false;
        }
        f->has_host = true;
        return true;
    }
    if (strcmp(key, "port") == 0) {
        if (!parse_uint(value, 65535, &v)) {
            *why = g_strdup("port must be an integer from 0 to 65535");
            return false;
        }
        f->port = (int)v;
        return true;
    }
    if (strcmp(key, "since") == 0) {
        char *end = NULL;
        errno = 0;
        double d = g_ascii_strtod(value, &end);
        if (!*value || errno || *end || !isfinite(d) || d < 0) {
            *why = g_strdup("since must be epoch seconds (a non-negative number)");
            return false;
        }
        f->since = d;
        return true;
    }
    *why = g_strdup_printf("unknown parameter '%s' (limit, proto, conn_state, host, port, since)",
                           key);
    return false;
}
