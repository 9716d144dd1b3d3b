/*
 * pcapgen: writes synthetic, deterministic pcap traces for connlogd's
 * benchmark (--mix) and end-to-end tests (--sample NAME).  Same arguments and
 * seed give byte-identical output on every platform, so the shipped samples
 * can be regenerated and compared.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "pcapgen.h"

static gboolean opt_mix;
static gboolean opt_flood;
static gint64 opt_legit_every = 1000;
static gchar *opt_sample;
static gboolean opt_list;
static gint64 opt_packets = 1000000;
static gint64 opt_conns = 100000;
static gint64 opt_seed = 1;
static gint64 opt_span;
static gchar *opt_out;
static gboolean opt_quiet;

static GOptionEntry entries[] = {
    { "mix", 0, 0, G_OPTION_ARG_NONE, &opt_mix, "Write the benchmark traffic mix", NULL },
    { "sample", 0, 0, G_OPTION_ARG_STRING, &opt_sample, "Write the hand-designed sample NAME",
      "NAME" },
    { "flood", 0, 0, G_OPTION_ARG_NONE, &opt_flood,
      "Write a SYN flood and UDP scan (--packets of them) with legitimate traffic woven in",
      NULL },
    { "legit-every", 0, 0, G_OPTION_ARG_INT64, &opt_legit_every,
      "Flood: a legitimate TCP session and DNS exchange every N flood packets (1000; 0: none)",
      "N" },
    { "list", 0, 0, G_OPTION_ARG_NONE, &opt_list, "List the sample names", NULL },
    { "packets", 'n', 0, G_OPTION_ARG_INT64, &opt_packets, "Mix: exact packet count (1000000)",
      "N" },
    { "conns", 'c', 0, G_OPTION_ARG_INT64, &opt_conns, "Mix: about this many connections (100000)",
      "C" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &opt_seed, "Mix: random seed (1)", "S" },
    { "span", 0, 0, G_OPTION_ARG_INT64, &opt_span,
      "Mix: seconds over which connections arrive (default: conns / 1000)", "SECONDS" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_out, "Output file (- for stdout)", "FILE" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, "No summary on stderr", NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
};

int
main(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("- synthetic pcap traces for connlogd");
    g_autoptr(GError) err = NULL;
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Examples:\n"
             "  pcapgen --mix --packets 1000000 --conns 100000 --seed 1 -o mix.pcap\n"
             "  pcapgen --sample tcp-basic -o samples/tcp-basic.pcap\n"
             "  pcapgen --flood --packets 1000000 --seed 1 -o flood.pcap\n");
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        g_printerr("pcapgen: %s\n", err->message);
        return 2;
    }
    if (opt_list) {
        for (const char *const *n = pg_sample_names(); *n; n++)
            printf("%s\n", *n);
        return 0;
    }
    if ((int)opt_mix + (int)opt_flood + (opt_sample != NULL) != 1) {
        g_printerr("pcapgen: give exactly one of --mix, --flood or --sample NAME (see --help)\n");
        return 2;
    }
    if (opt_flood && (opt_packets <= 0 || opt_seed < 0 || opt_legit_every < 0)) {
        g_printerr("pcapgen: --packets must be positive, --seed and --legit-every not "
                   "negative\n");
        return 2;
    }
    if (!opt_out) {
        g_printerr("pcapgen: -o FILE is required\n");
        return 2;
    }
    if (opt_mix && (opt_packets <= 0 || opt_conns <= 0 || opt_span < 0 || opt_seed < 0)) {
        g_printerr("pcapgen: --packets and --conns must be positive, --span and --seed not "
                   "negative\n");
        return 2;
    }

    pg_writer_t w;
    if (!pg_writer_open(&w, opt_out, &err)) {
        g_printerr("pcapgen: %s\n", err->message);
        return 1;
    }
    gboolean ok;
    uint64_t conns = 0;
    pg_flood_stats_t fst;
    if (opt_flood) {
        pg_flood_opts_t o = { .packets = (uint64_t)opt_packets,
                              .legit_every = (uint64_t)opt_legit_every,
                              .seed = (uint64_t)opt_seed };
        ok = pg_flood_generate(&o, &w, &fst, &err);
    } else if (opt_mix) {
        pg_mix_opts_t o = { .packets = (uint64_t)opt_packets, .conns = (uint64_t)opt_conns,
                            .seed = (uint64_t)opt_seed, .span_us = (uint64_t)opt_span * 1000000 };
        ok = pg_mix_generate(&o, &w, &conns, &err);
    } else {
        ok = pg_sample_generate(opt_sample, &w, &err);
    }
    uint64_t packets = w.packets, bytes = w.bytes;
    if (!pg_writer_close(&w, ok ? &err : NULL) && ok)
        ok = FALSE;
    if (!ok) {
        g_printerr("pcapgen: %s\n", err->message);
        if (strcmp(opt_out, "-") != 0)
            remove(opt_out);
        return 1;
    }
    if (!opt_quiet && opt_flood)
        g_printerr("pcapgen: flood: %" G_GUINT64_FORMAT " packets: %" G_GUINT64_FORMAT
                   " syn, %" G_GUINT64_FORMAT " udp, %" G_GUINT64_FORMAT " legit_tcp, %"
                   G_GUINT64_FORMAT " legit_dns, %" G_GUINT64_FORMAT " connections, to %s\n",
                   packets, fst.syn, fst.udp, fst.legit_tcp, fst.legit_dns, fst.connections,
                   opt_out);
    else if (!opt_quiet && opt_mix)
        g_printerr("pcapgen: wrote %" G_GUINT64_FORMAT " packets of %" G_GUINT64_FORMAT
                   " connections, %" G_GUINT64_FORMAT " bytes, to %s\n",
                   packets, conns, bytes + 24, opt_out);
    else if (!opt_quiet)
        g_printerr("pcapgen: wrote %" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT
                   " bytes, to %s\n",
                   packets, bytes + 24, opt_out);
    g_free(opt_sample);
    g_free(opt_out);
    return 0;
}
