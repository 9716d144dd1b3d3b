/*
 * Test driver for the flow ingest path: runs an ipfix_collector_t over the
 * sources given on the command line and prints one line per flow_obs_t,
 * then (with --stats) one line per exporter.  Used by tests/ipfix-*.sh and
 * for poking at real exporters by hand.  Not installed.
 */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "ipfix/collector.h"

typedef struct {
    guint64 count;
    guint64 want;
} dump_state_t;

static void
print_addr(const uint8_t a[16], uint8_t ipv, char *out, size_t len)
{
    if (ipv == 4)
        inet_ntop(AF_INET, a + 12, out, (socklen_t)len);
    else
        inet_ntop(AF_INET6, a, out, (socklen_t)len);
}

static const char *
source_name(flow_source_kind_t k)
{
    switch (k) {
    case FLOW_SRC_IPFIX:
        return "ipfix";
    case FLOW_SRC_NETFLOW_V9:
        return "v9";
    case FLOW_SRC_NETFLOW_V5:
        return "v5";
    case FLOW_SRC_IPFIX_FILE:
        return "ipfix-file";
    }
    return "?";
}

static void
on_flow(const flow_obs_t *o, void *ud)
{
    dump_state_t *st = ud;
    char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

    print_addr(o->src, o->ip_version, s, sizeof(s));
    print_addr(o->dst, o->ip_version, d, sizeof(d));
    printf("flow v=%u proto=%u src=%s sport=%u dst=%s dport=%u pkts=%" PRIu64
           " octets=%" PRIu64 " rev=%d rpkts=%" PRIu64 " roctets=%" PRIu64
           " flags=0x%02x rflags=0x%02x init=%d iflags=0x%02x riflags=0x%02x"
           " start=%.3f end=%.3f reason=%d sampling=%u vlan=%u app=%u source=%s"
           " exporter=%u domain=%u\n",
           o->ip_version, o->proto, s, o->sport, d, o->dport, o->pkts, o->octets,
           o->has_reverse, o->rev_pkts, o->rev_octets, o->flags, o->rev_flags,
           o->has_initial_flags, o->initial_flags, o->rev_initial_flags, o->start, o->end,
           (int)o->end_reason, o->sampling_interval, o->vlan, o->app_id,
           source_name(o->source), o->exporter_id, o->obs_domain);
    st->count++;
}

static void
print_stats(ipfix_collector_t *c)
{
    GArray *a = ipfix_collector_stats(c);
    uint64_t tot[IPFIX_TOT_COUNT];

    for (guint i = 0; i < a->len; i++) {
        const ipfix_exporter_stats_t *e = &g_array_index(a, ipfix_exporter_stats_t, i);

        printf("exporter id=%u proto=%s addr=%s port=%u domain=%u", e->id,
               ipfix_proto_name(e->proto), e->address, e->port, e->obs_domain);
        for (int k = 0; k < IPFIX_CTR_COUNT; k++)
            printf(" %s=%" PRIu64, ipfix_counter_name((ipfix_counter_t)k), e->n[k]);
        printf("\n");
    }
    g_array_unref(a);
    ipfix_collector_totals(c, tot);
    printf("totals");
    for (int k = 0; k < IPFIX_TOT_COUNT; k++)
        printf(" %s=%" PRIu64, ipfix_total_name((ipfix_total_t)k), tot[k]);
    printf("\n");
}

int
main(int argc, char **argv)
{
    char *templates_dir = NULL, *port_file = NULL;
    gint64 want = 0;
    double timeout = 10;
    gboolean stats = FALSE;
    GOptionEntry entries[] = {
        {"templates-dir", 0, 0, G_OPTION_ARG_FILENAME, &templates_dir,
         "information element definitions (*.ies)", "DIR"},
        {"count", 'n', 0, G_OPTION_ARG_INT64, &want, "exit after N flows", "N"},
        {"timeout", 't', 0, G_OPTION_ARG_DOUBLE, &timeout,
         "give up after this many seconds (default 10)", "SECONDS"},
        {"stats", 's', 0, G_OPTION_ARG_NONE, &stats, "print exporter counters at the end",
         NULL},
        {"port-file", 0, 0, G_OPTION_ARG_FILENAME, &port_file,
         "write the bound port of each listener (one per line) here", "FILE"},
        G_OPTION_ENTRY_NULL};
    GOptionContext *ctx = g_option_context_new("SOURCE... - dump flow records");
    GError *err = NULL;
    ipfix_collector_config_t cfg = {0};
    ipfix_collector_t *c;
    dump_state_t st = {0, 0};
    GString *ports = g_string_new(NULL);
    gint64 deadline;
    int rc = 0;

    g_option_context_set_summary(ctx, "SOURCE: udp://ADDR:PORT, tcp://ADDR:PORT, "
                                      "netflow://ADDR:PORT, a file, or - for stdin");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc < 2) {
        fprintf(stderr, "ipfix_dump: %s\n", err ? err->message : "no source given");
        return 2;
    }
    g_option_context_free(ctx);
    st.want = (guint64)want;
    cfg.templates_dir = templates_dir;
    c = ipfix_collector_new(&cfg, on_flow, &st, &err);
    if (c == NULL) {
        fprintf(stderr, "ipfix_dump: %s\n", err->message);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        gboolean ok;
        uint16_t port = 0;

        if (strstr(argv[i], "://") != NULL) {
            ok = ipfix_collector_add_listener(c, argv[i], &port, &err);
            if (ok)
                g_string_append_printf(ports, "%u\n", port);
        } else {
            ok = ipfix_collector_add_file(c, argv[i], &err);
        }
        if (!ok) {
            fprintf(stderr, "ipfix_dump: %s\n", err->message);
            ipfix_collector_free(c);
            return 1;
        }
    }
    if (port_file != NULL && !g_file_set_contents(port_file, ports->str, -1, &err)) {
        fprintf(stderr, "ipfix_dump: %s\n", err->message);
        ipfix_collector_free(c);
        return 1;
    }
    fflush(stdout);
    deadline = g_get_monotonic_time() + (gint64)(timeout * G_USEC_PER_SEC);
    for (;;) {
        int n = ipfix_collector_poll(c, 100);

        fflush(stdout);
        if (n < 0)
            break;
        if (st.want > 0 && st.count >= st.want)
            break;
        if (g_get_monotonic_time() > deadline) {
            if (st.want > 0)
                rc = 3;
            break;
        }
    }
    if (stats)
        print_stats(c);
    ipfix_collector_free(c);
    g_string_free(ports, TRUE);
    g_free(templates_dir);
    g_free(port_file);
    return rc;
}
