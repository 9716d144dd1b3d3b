/*
 * connlogd: network traffic to Zeek-compatible conn.log.
 *
 * This file only parses the command line and wires the modules together:
 * capture -> decode -> conn -> output.  Offline mode (-r) reads a pcap or
 * pcapng file to its end, flushes every connection and exits.  Without -r
 * or --ipfix-file it runs as a daemon (core/daemon.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "capture/pcapsrc.h"
#include "conn/conn.h"
#include "conn/uid.h"
#include "core/config.h"
#include "core/daemon.h"
#include "core/netset.h"
#include "core/pipeline.h"
#include "core/weird.h"
#include "decode/decode.h"
#include "ipfix/collector.h"
#include "output/writer.h"

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

typedef struct {
    gchar *read_file;
    gchar *ipfix_file;
    gchar *templates_dir;
    gboolean ignore_checksums;
    gchar *bpf;
    gchar *logdir;
    gchar *format;
    gchar *local_nets;
    gboolean no_private_local;
    gchar *server_ports;
    gchar *ignore_cksum_nets;
    gint64 seed;
    gchar *seed_file;
    gint64 max_conns;
    gboolean quiet;
    gboolean version;
    gchar **rest;
    /* daemon mode (no -r / --ipfix-file) */
    gchar *config;
    gboolean check_config;
    gchar **interfaces;
    gchar **ipfix_listen;
    gchar **netflow_listen;
    gchar *ipfix_allow;
    gchar *http;
    gchar *user;
} options_t;

typedef struct {
    conn_builder_t *cb;
    uint64_t flows;
} flow_ctx_t;

typedef struct {
    writer_t *writer;
    uint64_t write_errors;
} sink_ctx_t;

static void
sink_write(const conn_record_t *rec, void *user)
{
    sink_ctx_t *s = user;
    if (!writer_write(s->writer, rec))
        s->write_errors++;
}

static void G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN
die_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "connlogd: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see connlogd --help)\n");
    va_end(ap);
    exit(1);
}

/* Progress on a terminal: share of the file, packets/s, connections. */
typedef struct {
    bool enabled;
    gint64 started, last;
    pcapsrc_t *src;
    pipeline_t *pipe;
    conn_builder_t *cb;
    uint64_t last_packets;
} progress_t;

static void
progress_tick(progress_t *pr, bool final)
{
    if (!pr->enabled)
        return;
    gint64 now = g_get_monotonic_time();
    if (!final && now - pr->last < 500000)
        return;
    uint64_t done, total;
    pcapsrc_progress(pr->src, &done, &total);
    conn_stats_t st;
    conn_builder_stats(pr->cb, &st);
    double secs = (now - pr->started) / 1e6;
    double rate = secs > 0 ? pr->pipe->packets / secs : 0;
    if (total)
        fprintf(stderr, "\r%5.1f%%  %10.0f pkt/s  %" G_GUINT64_FORMAT " active  %" G_GUINT64_FORMAT
                        " logged ",
                100.0 * (double)done / (double)total, rate, st.active, st.logged);
    else
        fprintf(stderr, "\r%" G_GUINT64_FORMAT " pkts  %10.0f pkt/s  %" G_GUINT64_FORMAT
                        " active  %" G_GUINT64_FORMAT " logged ",
                pr->pipe->packets, rate, st.active, st.logged);
    if (final)
        fprintf(stderr, "\r%*s\r", 72, "");
    pr->last = now;
}

typedef struct {
    pipeline_t *pipe;
    progress_t *progress;
} reader_ctx_t;

static void
on_packet(void *user, int dlt, double ts, const uint8_t *data, uint32_t caplen, uint32_t wirelen)
{
    reader_ctx_t *rc = user;
    pipeline_packet(rc->pipe, dlt, ts, data, caplen, wirelen);
    if (rc->progress->enabled && (rc->pipe->packets & 0xfff) == 0)
        progress_tick(rc->progress, false);
}

/* GOption hands over every string it parsed. */
static void
options_clear(options_t *o)
{
    g_free(o->read_file);
    g_free(o->ipfix_file);
    g_free(o->templates_dir);
    g_free(o->bpf);
    g_free(o->logdir);
    g_free(o->format);
    g_free(o->local_nets);
    g_free(o->server_ports);
    g_free(o->ignore_cksum_nets);
    g_free(o->seed_file);
    g_strfreev(o->rest);
    g_free(o->config);
    g_strfreev(o->interfaces);
    g_strfreev(o->ipfix_listen);
    g_strfreev(o->netflow_listen);
    g_free(o->ipfix_allow);
    g_free(o->http);
    g_free(o->user);
}

static void
on_flow(const flow_obs_t *f, void *user)
{
    flow_ctx_t *fc = user;
    fc->flows++;
    conn_builder_flow(fc->cb, f);
}

/* Offline flow input: an IPFIX file read to its end through the collector,
 * every record into the same connection builder.  Per-exporter anomalies
 * are summarized on stderr. */
static bool
run_ipfix_file(const options_t *o, conn_builder_t *cb, uint64_t *flows)
{
    GError *err = NULL;
    flow_ctx_t fc = {.cb = cb};
    ipfix_collector_config_t icfg = {.templates_dir = o->templates_dir};
    ipfix_collector_t *col = ipfix_collector_new(&icfg, on_flow, &fc, &err);
    if (!col || !ipfix_collector_add_file(col, o->ipfix_file, &err)) {
        fprintf(stderr, "connlogd: %s\n", err->message);
        g_clear_error(&err);
        ipfix_collector_free(col);
        return false;
    }
    while (!stop_requested && ipfix_collector_poll(col, 1000) >= 0)
        ;
    *flows = fc.flows;
    if (!o->quiet) {
        GArray *ex = ipfix_collector_stats(col);
        for (guint i = 0; i < ex->len; i++) {
            const ipfix_exporter_stats_t *e = &g_array_index(ex, ipfix_exporter_stats_t, i);
            for (int k = 0; k < IPFIX_CTR_COUNT; k++)
                if (k != IPFIX_CTR_MESSAGES && k != IPFIX_CTR_FLOWS &&
                    k != IPFIX_CTR_TEMPLATES && k != IPFIX_CTR_OPTIONS && e->n[k])
                    fprintf(stderr, "  exporter %s domain %u: %s %" G_GUINT64_FORMAT "\n",
                            e->address, e->obs_domain, ipfix_counter_name((ipfix_counter_t)k),
                            e->n[k]);
        }
        g_array_unref(ex);
    }
    ipfix_collector_free(col);
    return true;
}

/* Daemon mode: the command line overrides the configuration file, and is
 * kept for SIGHUP reloads (see core/daemon.h). */
static int
run_daemon(const options_t *o)
{
    config_overrides_t ov = {
        .interfaces = (const char *const *)o->interfaces,
        .filter = o->bpf,
        .ipfix_listen = (const char *const *)o->ipfix_listen,
        .netflow_listen = (const char *const *)o->netflow_listen,
        .ipfix_allow = o->ipfix_allow,
        .http_listen = o->http,
        .logdir = o->logdir,
        .format = o->format,
        .user = o->user,
        .local_nets = o->local_nets,
        .no_private_local = o->no_private_local,
        .likely_server_ports = o->server_ports,
        .ignore_checksums_nets = o->ignore_cksum_nets,
        .ignore_checksums = o->ignore_checksums,
        .max_conns = o->max_conns > 0 ? o->max_conns : -1,
        .seed = o->seed,
        .tunables = (const char *const *)o->rest,
    };
    daemon_args_t args = {
        .config_path = o->config,
        .overrides = &ov,
        .templates_dir = o->templates_dir,
        .seed_file = o->seed_file,
    };
    return o->check_config ? daemon_check_config(&args) : daemon_run(&args);
}

int
main(int argc, char **argv)
{
    options_t o = {.seed = -1, .max_conns = 0};
    GOptionEntry entries[] = {
        {"read", 'r', 0, G_OPTION_ARG_FILENAME, &o.read_file,
         "Read packets from a pcap/pcapng FILE ('-' for stdin)", "FILE"},
        {"ipfix-file", 0, 0, G_OPTION_ARG_FILENAME, &o.ipfix_file,
         "Read IPFIX records from FILE ('-' for stdin)", "FILE"},
        {"templates-dir", 0, 0, G_OPTION_ARG_FILENAME, &o.templates_dir,
         "Information-element definitions (*.ies) to load", "DIR"},
        {"ignore-checksums", 'C', 0, G_OPTION_ARG_NONE, &o.ignore_checksums,
         "Do not verify checksums (Zeek's -C)", NULL},
        {"filter", 'f', 0, G_OPTION_ARG_STRING, &o.bpf, "BPF capture filter", "BPF"},
        {"logdir", 0, 0, G_OPTION_ARG_FILENAME, &o.logdir,
         "Write conn.log into DIR (default: current directory)", "DIR"},
        {"format", 0, 0, G_OPTION_ARG_STRING, &o.format, "Log format: tsv (default) or json",
         "FMT"},
        {"local-nets", 0, 0, G_OPTION_ARG_STRING, &o.local_nets,
         "Extra local networks for local_orig/local_resp", "CIDR,..."},
        {"no-private-local", 0, 0, G_OPTION_ARG_NONE, &o.no_private_local,
         "Do not treat private address space as local", NULL},
        {"likely-server-ports", 0, 0, G_OPTION_ARG_STRING, &o.server_ports,
         "Replace the likely server ports that drive flips", "P/proto,..."},
        {"ignore-checksums-nets", 0, 0, G_OPTION_ARG_STRING, &o.ignore_cksum_nets,
         "Do not verify checksums of packets from these networks", "CIDR,..."},
        {"seed", 0, 0, G_OPTION_ARG_INT64, &o.seed, "Make uids reproducible from seed N", "N"},
        {"seed-file", 0, 0, G_OPTION_ARG_FILENAME, &o.seed_file,
         "Zeek seed file: uids identical to Zeek run with the same seed", "FILE"},
        {"max-conns", 0, 0, G_OPTION_ARG_INT64, &o.max_conns,
         "Cap on tracked connections (0 = no cap); at the cap the least recently active of a random sample is logged early",
         "N"},
        {"quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet, "No progress and no summary", NULL},
        {"version", 0, 0, G_OPTION_ARG_NONE, &o.version, "Print the version and exit", NULL},
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &o.config,
         "Daemon mode: read settings from FILE (see connlogd.conf(5))", "FILE"},
        {"check-config", 0, 0, G_OPTION_ARG_NONE, &o.check_config,
         "Daemon mode: validate the configuration and exit 0 (OK) or 1", NULL},
        {"interface", 'i', 0, G_OPTION_ARG_STRING_ARRAY, &o.interfaces,
         "Daemon mode: capture live on IFACE (repeatable)", "IFACE"},
        {"ipfix-listen", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.ipfix_listen,
         "Daemon mode: collect IPFIX on udp://ADDR[:PORT] or tcp://ADDR[:PORT] (repeatable)",
         "URI"},
        {"netflow-listen", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.netflow_listen,
         "Daemon mode: collect NetFlow v5/v9 on udp://ADDR[:PORT] (repeatable)", "URI"},
        {"ipfix-allow", 0, 0, G_OPTION_ARG_STRING, &o.ipfix_allow,
         "Daemon mode: accept IPFIX/NetFlow only from these exporter networks", "CIDR,..."},
        {"http", 0, 0, G_OPTION_ARG_STRING, &o.http,
         "Daemon mode: serve /stats and /recent on ADDR:PORT, or 'off' (default 127.0.0.1:8080)",
         "ADDR:PORT"},
        {"user", 0, 0, G_OPTION_ARG_STRING, &o.user,
         "Daemon mode: drop privileges to USER after opening inputs", "USER"},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.rest, NULL, "[name=value ...]"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- Zeek-compatible conn.log from packets");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Zeek tunables may follow as name=value, e.g. tcp_inactivity_timeout=\"10 min\" "
             "udp_inactivity_timeout=30secs report_gaps_for_partial=T.\n");
    GError *err = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        fprintf(stderr, "connlogd: %s (see connlogd --help)\n", err->message);
        return 1;
    }
    if (o.version) {
        printf("connlogd %s\n", PACKAGE_VERSION);
        return 0;
    }
    if (!o.read_file && !o.ipfix_file) {
        if (!o.config && !o.check_config && !o.interfaces && !o.ipfix_listen && !o.netflow_listen)
            die_usage("no input: give -r FILE or --ipfix-file FILE, or run as a daemon with "
                      "-i IFACE, --ipfix-listen URI, --netflow-listen URI or -c CONFIG");
        int drc = run_daemon(&o);
        options_clear(&o);
        return drc;
    }

    conn_config_t cfg;
    conn_config_defaults(&cfg);
    cfg.ignore_checksums = o.ignore_checksums;
    cfg.max_conns = o.max_conns > 0 ? (uint64_t)o.max_conns : 0;
    if (o.server_ports) {
        char *msg = NULL;
        if (!conn_config_set_server_ports(&cfg, o.server_ports, &msg))
            die_usage("--likely-server-ports: %s", msg);
    }
    for (char **it = o.rest; it && *it; it++) {
        char *eq = strchr(*it, '=');
        if (!eq)
            die_usage("unexpected argument '%s' (tunables are name=value)", *it);
        g_autofree char *name = g_strndup(*it, (gsize)(eq - *it));
        char *msg = NULL;
        if (!conn_config_set_tunable(&cfg, name, eq + 1, &msg))
            die_usage("%s", msg);
    }

    netset_t *local = netset_new();
    netset_t *nocksum = netset_new();
    if (!o.no_private_local)
        netset_add_private(local);
    if (o.local_nets && !netset_add_list(local, o.local_nets, &err))
        die_usage("--local-nets: %s", err->message);
    if (o.ignore_cksum_nets && !netset_add_list(nocksum, o.ignore_cksum_nets, &err))
        die_usage("--ignore-checksums-nets: %s", err->message);
    cfg.local_nets = local;
    cfg.ignore_checksums_nets = nocksum;

    log_format_t fmt = LOG_FORMAT_TSV;
    if (o.format && strcmp(o.format, "json") == 0)
        fmt = LOG_FORMAT_JSON;
    else if (o.format && strcmp(o.format, "tsv") != 0)
        die_usage("--format must be tsv or json, not '%s'", o.format);

    uid_gen_t uids;
    if (o.seed_file) {
        uint32_t key[4];
        if (!uid_seed_file_read(o.seed_file, key, &err))
            die_usage("--seed-file: %s", err->message);
        uid_gen_init_zeek(&uids, key);
    } else if (o.seed >= 0) {
        uid_gen_init_seed(&uids, (uint64_t)o.seed);
        cfg.hash_seed = (uint64_t)o.seed + 1;
    } else {
        uid_gen_init_random(&uids);
    }

    weird_counters_t weirds = {{0}};
    pcapsrc_t *src = NULL;
    if (o.read_file) {
        src = pcapsrc_open_offline(o.read_file, o.bpf, &weirds, &err);
        if (!src) {
            fprintf(stderr, "connlogd: %s\n", err->message);
            g_error_free(err);
            netset_free(local);
            netset_free(nocksum);
            options_clear(&o);
            return 2;
        }
        if (!decode_dlt_supported(pcapsrc_dlt(src)))
            fprintf(stderr, "connlogd: warning: %s: link type %d is not one we decode\n",
                    o.read_file, pcapsrc_dlt(src));
    }

    const char *logdir = o.logdir ? o.logdir : ".";
    writer_t *w = writer_open(logdir, fmt, &err);
    if (!w) {
        fprintf(stderr, "connlogd: %s\n", err->message);
        g_error_free(err);
        pcapsrc_free(src);
        netset_free(local);
        netset_free(nocksum);
        options_clear(&o);
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    decoder_config_t dcfg = {.ignore_checksums = o.ignore_checksums,
                             .ignore_cksum_nets = nocksum};
    decoder_t *dec = decoder_new(&dcfg, &weirds);
    sink_ctx_t sink = {.writer = w};
    conn_builder_t *cb = conn_builder_new(&cfg, &uids, &weirds, sink_write, &sink);
    pipeline_t pipe = {.dec = dec, .cb = cb};
    progress_t progress = {.enabled = src && !o.quiet && isatty(STDERR_FILENO),
                           .started = g_get_monotonic_time(),
                           .src = src,
                           .pipe = &pipe,
                           .cb = cb};
    reader_ctx_t rctx = {.pipe = &pipe, .progress = &progress};
    int rc = 0;

    gint64 t0 = g_get_monotonic_time();
    if (src) {
        bool complete =
            pcapsrc_run(src, on_packet, &rctx, (volatile int *)&stop_requested, &err);
        progress_tick(&progress, true);
        if (!complete) {
            fprintf(stderr, "connlogd: warning: %s: %s; logging what came before\n",
                    o.read_file, err->message);
            g_clear_error(&err);
        }
    }
    uint64_t flows = 0;
    if (o.ipfix_file && !run_ipfix_file(&o, cb, &flows))
        rc = 2;
    conn_builder_flush(cb);
    double secs = (g_get_monotonic_time() - t0) / 1e6;

    conn_stats_t st;
    conn_builder_stats(cb, &st);
    g_autofree char *path = g_strdup(writer_path(w));
    if (!writer_close(w, &err)) {
        fprintf(stderr, "connlogd: %s\n", err->message);
        rc = 2;
    }
    if (sink.write_errors) {
        fprintf(stderr, "connlogd: %" G_GUINT64_FORMAT " rows could not be written to %s\n",
                sink.write_errors, path);
        rc = 2;
    }

    uint64_t total_weirds = 0;
    for (int k = 0; k < WEIRD_COUNT; k++)
        total_weirds += weirds.n[k];
    if (!o.quiet) {
        fprintf(stderr,
                "connlogd: %" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT
                " flow records, %" G_GUINT64_FORMAT " connections logged, peak %" G_GUINT64_FORMAT
                " active, %" G_GUINT64_FORMAT " weirds, %.2f s -> %s\n",
                pipe.packets, flows, st.logged, st.peak_active, total_weirds, secs, path);
        for (int k = 0; k < WEIRD_COUNT; k++)
            if (weirds.n[k])
                fprintf(stderr, "  weird %-32s %" G_GUINT64_FORMAT "\n",
                        weird_name((weird_kind_t)k), weirds.n[k]);
    }

    conn_builder_free(cb);
    decoder_free(dec);
    pcapsrc_free(src);
    netset_free(local);
    netset_free(nocksum);
    options_clear(&o);
    return rc;
}
