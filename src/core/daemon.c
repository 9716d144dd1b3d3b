/*
 * The daemon's main loop.  Everything that touches the connection builder
 * runs here, on one thread: poll() wakes for captured packets (non-blocking
 * pcap descriptors), flow records (the flow queue's eventfd), a 250 ms
 * timerfd (wall-clock advance of the connection timers, /stats snapshots,
 * interval rotation) and a signalfd (SIGTERM/SIGINT stop, SIGHUP reload and
 * rotate).  Signals are blocked in every thread before any is created, so
 * only the signalfd ever sees them.
 */
#include "core/daemon.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "capture/pcapsrc.h"
#include "conn/conn.h"
#include "conn/uid.h"
#include "core/flowin.h"
#include "core/flowq.h"
#include "core/pipeline.h"
#include "core/privdrop.h"
#include "core/recent.h"
#include "core/sdnotify.h"
#include "core/stats.h"
#include "decode/decode.h"
#include "http/server.h"
#include "output/writer.h"

#define TICK_MS 50              /* timer period */
#define CLOCK_SLICE 0.01        /* seconds of expiry between flow drains */
#define CLOCK_JUMP 5.0          /* further behind than this: catch up at once */
#define PACKET_BUDGET 512       /* packets per interface per loop turn */
#define FLOW_BATCH 1024         /* flow records per drain */
#define FLOW_BUDGET 8192        /* flow records per loop turn */

typedef struct {
    pcapsrc_t *src;
    bool failed;
    char error[160];
} iface_t;

typedef struct {
    const daemon_args_t *args;
    config_t cfg;
    conn_config_t conn_cfg;
    netset_t *local_nets, *nocksum_nets;
    weird_counters_t weirds;
    uid_gen_t uids;
    decoder_t *dec;
    conn_builder_t *cb;
    pipeline_t pipe;
    writer_t *writer;
    uint64_t write_errors;
    recent_t *recent;
    stats_board_t *board;
    flowq_t *fq;
    flowin_t *flowin;
    uint64_t flows;
    http_server_t *http;
    iface_t ifaces[CONFIG_MAX_INTERFACES];
    unsigned n_ifaces;
    int sfd, tfd;
    double started;
    double net_time;            /* the builder's clock as we moved it */
    double next_rotate;         /* wall clock; 0: no interval rotation */
    double next_stats;
    char last_rotated[STATS_PATH_MAX];
    uint64_t rows_at_rotation;  /* writer_rows() when the current file was opened */
    uint64_t reloads, reload_failures;
    char last_reload_error[256];
} daemon_t;

/* ---- logging: stderr, with syslog priority prefixes under journald */

static void G_GNUC_PRINTF(2, 3)
dlog(int prio, const char *fmt, ...)
{
    va_list ap;
    static int journal = -1;

    if (journal < 0)
        journal = getenv("JOURNAL_STREAM") != NULL;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (journal)
        fprintf(stderr, "<%d>%s\n", prio, msg);
    else
        fprintf(stderr, "connlogd: %s%s\n", prio <= 3 ? "error: " : prio == 4 ? "warning: " : "",
                msg);
    fflush(stderr);
}

#define LOG_ERR 3
#define LOG_WARN 4
#define LOG_INFO 6

static double
wall_now(void)
{
    return (double)g_get_real_time() / 1e6;
}

/* ---- configuration */

static gboolean
load_config(const daemon_args_t *args, config_t *out, GError **err)
{
    if (args->config_path) {
        if (!config_load(args->config_path, out, err))
            return FALSE;
    } else {
        config_defaults(out);
    }
    if (args->overrides && !config_apply_overrides(out, args->overrides, err)) {
        config_clear(out);
        return FALSE;
    }
    if (args->templates_dir) {
        g_free(out->templates_dir);
        out->templates_dir = g_strdup(args->templates_dir);
    }
    return TRUE;
}

static bool
has_inputs(const config_t *c)
{
    return (c->interfaces && c->interfaces[0]) || (c->ipfix_listen && c->ipfix_listen[0]) ||
           (c->netflow_listen && c->netflow_listen[0]);
}

int
daemon_check_config(const daemon_args_t *args)
{
    config_t cfg;
    GError *err = NULL;

    if (!load_config(args, &cfg, &err)) {
        fprintf(stderr, "connlogd: %s\n", err->message);
        g_error_free(err);
        return DAEMON_EXIT_CONFIG;
    }
    int rc = DAEMON_EXIT_OK;
    if (!has_inputs(&cfg)) {
        fprintf(stderr, "connlogd: %s: no input: set capture.interfaces, ipfix.listen or "
                        "netflow.listen (or give -i, --ipfix-listen, --netflow-listen)\n",
                cfg.source[0] ? cfg.source : "command line");
        rc = DAEMON_EXIT_CONFIG;
    } else if (cfg.user) {
        uid_t uid;
        gid_t gid;
        if (!privdrop_lookup(cfg.user, &uid, &gid, &err)) {
            fprintf(stderr, "connlogd: %s:daemon.user: %s\n",
                    cfg.source[0] ? cfg.source : "command line", err->message);
            g_clear_error(&err);
            rc = DAEMON_EXIT_CONFIG;
        }
    }
    if (rc == DAEMON_EXIT_OK)
        printf("configuration OK\n");
    config_clear(&cfg);
    return rc;
}

/* ---- the packet and flow paths */

static void
sink(const conn_record_t *rec, void *user)
{
    daemon_t *d = user;
    if (!writer_write(d->writer, rec))
        d->write_errors++;
    recent_push(d->recent, rec);
}

static void
on_packet(void *user, int dlt, double ts, const uint8_t *data, uint32_t caplen, uint32_t wirelen)
{
    daemon_t *d = user;
    if (ts > d->net_time)
        d->net_time = ts;
    pipeline_packet(&d->pipe, dlt, ts, data, caplen, wirelen);
}

/* Read what the interface has now, up to the budget.  A failing interface
 * is marked and left out of the poll set; the others carry on. */
static void
read_iface(daemon_t *d, iface_t *f)
{
    GError *err = NULL;
    int n = pcapsrc_dispatch(f->src, PACKET_BUDGET, on_packet, d, &err);
    if (n < 0) {
        f->failed = true;
        g_strlcpy(f->error, err->message, sizeof(f->error));
        dlog(LOG_ERR, "%s", err->message);
        g_error_free(err);
    }
}

static unsigned
drain_flows(daemon_t *d, unsigned budget)
{
    unsigned total = 0;

    while (total < budget) {
        unsigned n;
        const flow_obs_t *f = flowq_peek(d->fq, FLOW_BATCH, &n);
        if (n == 0)
            break;
        conn_builder_flows(d->cb, f, n);
        flowq_release(d->fq, n);
        total += n;
    }
    d->flows += total;
    return total;
}

/* Move the builder's clock with the wall clock, so quiet periods still
 * expire connections.  Live packets carry wall-clock stamps, but they may
 * sit in the kernel buffer for a moment: the clock trails the wall by
 * conn.wall_clock_grace so such packets are not older than "now". */
static void
advance_clock(daemon_t *d, double wall)
{
    double target = wall - d->cfg.wall_clock_grace;

    if (target - d->net_time > CLOCK_JUMP) {
        d->net_time = target; /* start-up, or a stall: nothing to pace */
        conn_builder_advance(d->cb, target);
        return;
    }
    /* Expire in slices with the collector's queue drained in between.
     * Flow connections expire about one per two records, and a whole tick
     * of them in one go kept the builder from the queue long enough for
     * the queue and then the socket buffer to fill: at 750,000 records/s
     * that lost 9 % of the records although the core had time to spare. */
    while (target > d->net_time) {
        double step = MIN(target, d->net_time + CLOCK_SLICE);
        d->net_time = step;
        conn_builder_advance(d->cb, step);
        if (d->fq != NULL && step < target)
            drain_flows(d, FLOW_BUDGET);
    }
}

/* ---- logs */

/* Next multiple of the interval, counted in local time from midnight
 * like Zeek's rotation timer (calc_next_rotate with base time 0:00). */
static double
next_rotation(double wall, double interval)
{
    if (interval <= 0)
        return 0;
    time_t t = (time_t)wall;
    struct tm tm;
    long off = 0;
    if (localtime_r(&t, &tm))
        off = tm.tm_gmtoff;
    double local = wall + (double)off;
    return (floor(local / interval) + 1) * interval - (double)off;
}

static void
rotate(daemon_t *d, const char *why)
{
    GError *err = NULL;
    g_autofree char *archived = NULL;

    if (!writer_flush(d->writer, &err)) {
        dlog(LOG_WARN, "%s", err->message);
        g_clear_error(&err);
    }
    if (!writer_rotate(d->writer, d->cfg.logdir, d->cfg.format, &archived, &err)) {
        dlog(LOG_ERR, "rotation (%s) failed, still writing %s: %s", why,
             writer_path(d->writer), err->message);
        g_error_free(err);
        return;
    }
    g_strlcpy(d->last_rotated, archived, sizeof(d->last_rotated));
    d->rows_at_rotation = writer_rows(d->writer);
    dlog(LOG_INFO, "rotated (%s): %s", why, archived);
}

/* ---- /stats */

static void
publish_stats(daemon_t *d, double wall)
{
    stats_snapshot_t *s = g_new0(stats_snapshot_t, 1);

    s->started = d->started;
    s->taken = wall;
    s->network_time = d->net_time;
    s->n_ifaces = d->n_ifaces;
    for (unsigned i = 0; i < d->n_ifaces; i++) {
        pcapsrc_counters_t c;
        stats_iface_t *o = &s->ifaces[i];
        pcapsrc_counters(d->ifaces[i].src, &c);
        g_strlcpy(o->name, pcapsrc_name(d->ifaces[i].src), sizeof(o->name));
        o->packets = c.packets;
        o->bytes = c.bytes;
        o->kernel_received = c.kernel_received;
        o->kernel_dropped = c.kernel_dropped;
        o->if_dropped = c.if_dropped;
        o->failed = d->ifaces[i].failed;
        g_strlcpy(o->error, d->ifaces[i].error, sizeof(o->error));
    }
    s->packets = d->pipe.packets;
    s->bytes = d->pipe.bytes;
    s->not_ip = d->pipe.not_ip;
    s->undecodable = d->pipe.undecodable;
    s->flows_enabled = d->flowin != NULL;
    s->flows = d->flows;
    if (d->fq) {
        flowq_stats_t q;
        flowq_stats(d->fq, &q);
        s->flow_queue_depth = q.depth;
        s->flow_queue_peak = q.peak;
        s->flow_queue_waits = q.waits;
    }
    conn_builder_stats(d->cb, &s->conn);
    memcpy(s->weirds, d->weirds.n, sizeof(s->weirds));
    g_strlcpy(s->log_path, writer_path(d->writer), sizeof(s->log_path));
    g_strlcpy(s->log_format, d->cfg.format == LOG_FORMAT_JSON ? "json" : "tsv",
              sizeof(s->log_format));
    s->log_opened = (double)writer_opened(d->writer);
    s->log_rows = writer_rows(d->writer);
    s->log_errors = writer_errors(d->writer) + d->write_errors;
    s->log_rotations = writer_rotations(d->writer);
    g_strlcpy(s->last_rotated, d->last_rotated, sizeof(s->last_rotated));
    s->rotate_interval = d->cfg.rotate_interval;
    s->rss_bytes = stats_rss_bytes();
    s->recent_total = recent_total(d->recent);
    s->reloads = d->reloads;
    s->reload_failures = d->reload_failures;
    g_strlcpy(s->last_reload_error, d->last_reload_error, sizeof(s->last_reload_error));
    stats_board_publish(d->board, s);
    g_free(s);
}

/* ---- SIGHUP */

/* Parse the configuration anew; take the settings that can change while
 * running, report those that need a restart, keep everything on error. */
static void
reload(daemon_t *d)
{
    config_t next;
    GError *err = NULL;

    sdnotify("RELOADING=1");
    d->reloads++;
    if (!load_config(d->args, &next, &err)) {
        d->reload_failures++;
        g_strlcpy(d->last_reload_error, err->message, sizeof(d->last_reload_error));
        dlog(LOG_ERR, "reload: %s; keeping the running configuration", err->message);
        g_error_free(err);
    } else {
        g_autofree char *restart = config_restart_keys(&d->cfg, &next);
        if (restart)
            dlog(LOG_WARN, "reload: changes to %s take effect after a restart", restart);
        g_free(d->cfg.logdir);
        d->cfg.logdir = g_steal_pointer(&next.logdir);
        d->cfg.format = next.format;
        d->cfg.rotate_interval = next.rotate_interval;
        d->cfg.stats_interval = next.stats_interval;
        g_free(d->cfg.http_token);
        d->cfg.http_token = g_steal_pointer(&next.http_token);
        if (d->http)
            http_server_set_token(d->http, d->cfg.http_token);
        d->last_reload_error[0] = '\0';
        config_clear(&next);
        dlog(LOG_INFO, "reloaded %s", d->args->config_path ? d->args->config_path
                                                            : "(command line only)");
    }
    rotate(d, "SIGHUP");
    double wall = wall_now();
    d->next_rotate = next_rotation(wall, d->cfg.rotate_interval);
    publish_stats(d, wall);
    sdnotify("READY=1");
}

/* ---- setup and teardown */

static int
open_inputs(daemon_t *d)
{
    GError *err = NULL;
    pcapsrc_live_opts_t lo;

    pcapsrc_live_opts_init(&lo);
    lo.snaplen = d->cfg.snaplen;
    lo.buffer_bytes = d->cfg.buffer_mib * 1024 * 1024;
    lo.promiscuous = d->cfg.promiscuous;
    lo.immediate = d->cfg.immediate;
    lo.bpf = d->cfg.filter;
    for (char **it = d->cfg.interfaces; it && *it; it++) {
        pcapsrc_t *src = pcapsrc_open_live(*it, &lo, &d->weirds, &err);
        if (!src) {
            dlog(LOG_ERR, "%s", err->message);
            g_error_free(err);
            return DAEMON_EXIT_IO;
        }
        if (!decode_dlt_supported(pcapsrc_dlt(src)))
            dlog(LOG_WARN, "%s: link type %d is not one we decode", *it, pcapsrc_dlt(src));
        d->ifaces[d->n_ifaces++].src = src;
    }

    bool flows = (d->cfg.ipfix_listen && d->cfg.ipfix_listen[0]) ||
                 (d->cfg.netflow_listen && d->cfg.netflow_listen[0]);
    if (flows) {
        d->fq = flowq_new(d->cfg.flow_queue, &err);
        if (!d->fq) {
            dlog(LOG_ERR, "%s", err->message);
            g_error_free(err);
            return DAEMON_EXIT_IO;
        }
        ipfix_collector_config_t icfg = {
            .templates_dir = d->cfg.templates_dir,
            .max_time_skew = d->cfg.max_time_skew,
            .idle_timeout = d->cfg.exporter_idle_timeout,
            .max_exporters = d->cfg.max_exporters,
            .max_tcp_connections = d->cfg.max_tcp_connections,
            .udp_rcvbuf = d->cfg.udp_rcvbuf,
            .allow = d->cfg.ipfix_allow,
            .max_sessions = d->cfg.max_sessions,
            .max_sessions_per_address = d->cfg.max_sessions_per_address,
            .max_exporters_per_address = d->cfg.max_exporters_per_address,
            .max_templates = d->cfg.max_templates,
            .max_template_fields = d->cfg.max_template_fields,
            .max_unknown_elements = d->cfg.max_unknown_elements,
        };
        d->flowin = flowin_start(&icfg, d->cfg.ipfix_listen, d->cfg.netflow_listen, d->fq, &err);
        if (!d->flowin) {
            dlog(LOG_ERR, "flow collector: %s", err->message);
            g_error_free(err);
            return DAEMON_EXIT_IO;
        }
    }

    if (d->cfg.http_listen) {
        g_autofree char *host = NULL;
        uint16_t port = 0;
        if (!config_parse_hostport(d->cfg.http_listen, &host, &port, &err)) {
            dlog(LOG_ERR, "http.listen: %s", err->message);
            g_error_free(err);
            return DAEMON_EXIT_CONFIG;
        }
        http_config_t hc = {
            .address = host,
            .port = port,
            .token = d->cfg.http_token,
            .max_connections = d->cfg.http_max_connections,
            .stall_after = MAX(30.0, d->cfg.stats_interval * 10),
        };
        d->http = http_server_start(&hc, d->board, d->recent,
                                    d->flowin ? flowin_collector(d->flowin) : NULL, &err);
        if (!d->http) {
            dlog(LOG_ERR, "%s", err->message);
            g_error_free(err);
            return DAEMON_EXIT_IO;
        }
        uint8_t a[16];
        bool loopback = !*host || (addr_parse(host, a) &&
                                   ((addr_is_v4(a) && a[12] == 127) ||
                                    (!addr_is_v4(a) && memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0)));
        if (!loopback && !d->cfg.http_token)
            dlog(LOG_WARN, "HTTP on %s without http.token: anyone who can reach it reads /stats "
                           "and /recent", d->cfg.http_listen);
        dlog(LOG_INFO, "HTTP on %s port %u", *host ? host : "127.0.0.1",
             http_server_port(d->http));
    }
    return DAEMON_EXIT_OK;
}

static int
make_fds(daemon_t *d)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    d->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (d->sfd < 0 || d->tfd < 0) {
        dlog(LOG_ERR, "signalfd/timerfd: %s", g_strerror(errno));
        return DAEMON_EXIT_IO;
    }
    struct itimerspec its = {
        .it_interval = {.tv_sec = 0, .tv_nsec = TICK_MS * 1000000L},
        .it_value = {.tv_sec = 0, .tv_nsec = TICK_MS * 1000000L},
    };
    timerfd_settime(d->tfd, 0, &its, NULL);
    return DAEMON_EXIT_OK;
}

/* Stop every input, log what is left, close the log.  Order matters: HTTP
 * first (it reads the collector), then the collector thread while we keep
 * draining its queue so nothing it already received is lost, then the last
 * packets waiting in the capture buffers. */
static int
shutdown_all(daemon_t *d)
{
    GError *err = NULL;
    int rc = DAEMON_EXIT_OK;

    http_server_stop(d->http);
    d->http = NULL;
    if (d->flowin) {
        flowin_request_stop(d->flowin);
        while (!flowin_done(d->flowin)) {
            struct pollfd p = {.fd = flowq_fd(d->fq), .events = POLLIN};
            poll(&p, 1, 50);
            drain_flows(d, UINT32_MAX);
        }
        flowin_stop(d->flowin);
        d->flowin = NULL;
        drain_flows(d, UINT32_MAX);
    }
    for (unsigned i = 0; i < d->n_ifaces; i++) {
        if (!d->ifaces[i].failed)
            while (pcapsrc_dispatch(d->ifaces[i].src, PACKET_BUDGET, on_packet, d, NULL) > 0)
                ;
    }
    if (d->cb)
        conn_builder_flush(d->cb);
    if (d->writer) {
        g_autofree char *path = g_strdup(writer_path(d->writer));
        uint64_t rows = writer_rows(d->writer);
        if (!writer_close(d->writer, &err)) {
            dlog(LOG_ERR, "%s", err->message);
            g_clear_error(&err);
            rc = DAEMON_EXIT_IO;
        }
        d->writer = NULL;
        if (d->write_errors) {
            dlog(LOG_ERR, "%" G_GUINT64_FORMAT " rows could not be written to %s",
                 d->write_errors, path);
            rc = DAEMON_EXIT_IO;
        }
        dlog(LOG_INFO, "stopped: %" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT
                       " flow records, %" G_GUINT64_FORMAT " rows in %s",
             d->pipe.packets, d->flows, rows, path);
    }
    return rc;
}

static void
free_all(daemon_t *d)
{
    http_server_stop(d->http);
    flowin_stop(d->flowin);
    for (unsigned i = 0; i < d->n_ifaces; i++)
        pcapsrc_free(d->ifaces[i].src);
    flowq_free(d->fq);
    writer_close(d->writer, NULL);
    conn_builder_free(d->cb);
    decoder_free(d->dec);
    recent_free(d->recent);
    stats_board_free(d->board);
    netset_free(d->local_nets);
    netset_free(d->nocksum_nets);
    if (d->sfd >= 0)
        close(d->sfd);
    if (d->tfd >= 0)
        close(d->tfd);
    config_clear(&d->cfg);
}

static void
status_line(daemon_t *d)
{
    GString *s = g_string_new("STATUS=");
    if (d->n_ifaces) {
        g_string_append(s, "capturing on");
        for (unsigned i = 0; i < d->n_ifaces; i++)
            g_string_append_printf(s, " %s", pcapsrc_name(d->ifaces[i].src));
    }
    if (d->flowin)
        g_string_append_printf(s, "%scollecting flows", d->n_ifaces ? "; " : "");
    if (d->http)
        g_string_append_printf(s, "; HTTP port %u", http_server_port(d->http));
    sdnotify("READY=1");
    sdnotify(s->str);
    dlog(LOG_INFO, "%s", s->str + strlen("STATUS="));
    g_string_free(s, TRUE);
}

/* One turn of the loop's timer: clock, stats, interval rotation. */
static void
on_tick(daemon_t *d)
{
    uint64_t expirations;
    while (read(d->tfd, &expirations, sizeof(expirations)) < 0 && errno == EINTR)
        ;
    double wall = wall_now();
    advance_clock(d, wall);
    if (d->next_rotate > 0 && wall >= d->next_rotate) {
        /* Like Zeek, which opens a log only for its first row, an interval
         * with nothing logged leaves no empty file behind. */
        if (writer_rows(d->writer) != d->rows_at_rotation)
            rotate(d, "interval");
        d->next_rotate = next_rotation(wall, d->cfg.rotate_interval);
    }
    if (wall >= d->next_stats) {
        publish_stats(d, wall);
        d->next_stats = wall + d->cfg.stats_interval;
    }
}

/* Returns true to keep running. */
static bool
on_signal(daemon_t *d)
{
    struct signalfd_siginfo si;
    bool run = true;

    while (read(d->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            reload(d);
        } else {
            dlog(LOG_INFO, "%s: stopping", strsignal((int)si.ssi_signo));
            run = false;
        }
    }
    return run;
}

static void
loop(daemon_t *d)
{
    struct pollfd pfd[CONFIG_MAX_INTERFACES + 3];
    iface_t *owner[CONFIG_MAX_INTERFACES + 3];

    for (;;) {
        nfds_t n = 0;
        pfd[n] = (struct pollfd){.fd = d->sfd, .events = POLLIN};
        owner[n++] = NULL;
        pfd[n] = (struct pollfd){.fd = d->tfd, .events = POLLIN};
        owner[n++] = NULL;
        if (d->fq) {
            pfd[n] = (struct pollfd){.fd = flowq_fd(d->fq), .events = POLLIN};
            owner[n++] = NULL;
        }
        for (unsigned i = 0; i < d->n_ifaces; i++) {
            if (d->ifaces[i].failed)
                continue;
            pfd[n] = (struct pollfd){.fd = pcapsrc_fd(d->ifaces[i].src), .events = POLLIN};
            owner[n++] = &d->ifaces[i];
        }
        if (poll(pfd, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            dlog(LOG_ERR, "poll: %s", g_strerror(errno));
            return;
        }
        for (nfds_t i = 0; i < n; i++) {
            if (!pfd[i].revents)
                continue;
            if (owner[i])
                read_iface(d, owner[i]);
            else if (pfd[i].fd == d->tfd)
                on_tick(d);
            else if (d->fq && pfd[i].fd == flowq_fd(d->fq))
                drain_flows(d, FLOW_BUDGET);
        }
        /* Signals last, after this turn's input went into the builder. */
        if (pfd[0].revents && !on_signal(d))
            return;
    }
}

int
daemon_run(const daemon_args_t *args)
{
    daemon_t *d = g_new0(daemon_t, 1);
    GError *err = NULL;
    int rc;

    d->args = args;
    d->sfd = d->tfd = -1;
    d->started = wall_now();

    /* Block the signals before any thread exists, so every thread inherits
     * the mask and only our signalfd receives them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    /* declared before the first "goto out": its automatic cleanup runs there */
    g_autofree char *leftover = NULL;
    if (!load_config(args, &d->cfg, &err)) {
        dlog(LOG_ERR, "%s", err->message);
        g_error_free(err);
        g_free(d);
        return DAEMON_EXIT_CONFIG;
    }
    if (!has_inputs(&d->cfg)) {
        dlog(LOG_ERR, "no input: give -i IFACE, --ipfix-listen or --netflow-listen (or "
                      "capture.interfaces / ipfix.listen / netflow.listen in -c FILE), or -r FILE");
        rc = DAEMON_EXIT_CONFIG;
        goto out;
    }
    if (!config_build_conn(&d->cfg, &d->conn_cfg, &d->local_nets, &d->nocksum_nets, &err)) {
        dlog(LOG_ERR, "%s", err->message);
        g_error_free(err);
        rc = DAEMON_EXIT_CONFIG;
        goto out;
    }
    if (args->seed_file) {
        uint32_t key[4];
        if (!uid_seed_file_read(args->seed_file, key, &err)) {
            dlog(LOG_ERR, "--seed-file: %s", err->message);
            g_error_free(err);
            rc = DAEMON_EXIT_CONFIG;
            goto out;
        }
        uid_gen_init_zeek(&d->uids, key);
    } else if (d->cfg.has_seed) {
        uid_gen_init_seed(&d->uids, d->cfg.seed);
    } else {
        uid_gen_init_random(&d->uids);
    }

    /* conn.log first: a leftover from an earlier run is moved aside under
     * its rotated name, never truncated. */
    if (!writer_rotate_leftover(d->cfg.logdir, &leftover, &err)) {
        dlog(LOG_ERR, "%s", err->message);
        g_error_free(err);
        rc = DAEMON_EXIT_IO;
        goto out;
    }
    if (leftover)
        dlog(LOG_INFO, "moved the previous conn.log to %s", leftover);
    d->writer = writer_open(d->cfg.logdir, d->cfg.format, &err);
    if (!d->writer) {
        dlog(LOG_ERR, "%s", err->message);
        g_error_free(err);
        rc = DAEMON_EXIT_IO;
        goto out;
    }

    decoder_config_t dcfg = {.ignore_checksums = d->cfg.ignore_checksums,
                             .ignore_cksum_nets = d->nocksum_nets};
    d->dec = decoder_new(&dcfg, &d->weirds);
    d->cb = conn_builder_new(&d->conn_cfg, &d->uids, &d->weirds, sink, d);
    d->pipe.dec = d->dec;
    d->pipe.cb = d->cb;
    d->recent = recent_new(d->cfg.recent_size);
    d->board = stats_board_new();
    publish_stats(d, wall_now()); /* /stats answers from the start */

    rc = open_inputs(d);
    if (rc != DAEMON_EXIT_OK)
        goto out;
    rc = make_fds(d);
    if (rc != DAEMON_EXIT_OK)
        goto out;

    /* Everything privileged is open: capture handles, sockets, the log. */
    if (d->cfg.user) {
        if (!privdrop_become(d->cfg.user, &err)) {
            dlog(LOG_ERR, "%s", err->message);
            rc = g_error_matches(err, PRIVDROP_ERROR, PRIVDROP_ERROR_NO_USER) ? DAEMON_EXIT_CONFIG
                                                                              : DAEMON_EXIT_IO;
            g_error_free(err);
            goto out;
        }
        dlog(LOG_INFO, "running as %s", d->cfg.user);
        /* Rotation creates files next to conn.log: say now if it cannot. */
        if (access(d->cfg.logdir, W_OK | X_OK) != 0)
            dlog(LOG_WARN, "%s is not writable by %s: rotation will fail", d->cfg.logdir,
                 d->cfg.user);
    }

    double wall = wall_now();
    d->next_rotate = next_rotation(wall, d->cfg.rotate_interval);
    publish_stats(d, wall); /* now with the inputs */
    d->next_stats = wall + d->cfg.stats_interval;
    status_line(d);
    loop(d);
    sdnotify("STOPPING=1");
    rc = shutdown_all(d);

out:
    free_all(d);
    g_free(d);
    return rc;
}
