/*
 * libFuzzer target: IPFIX messages through the collector (our structure
 * checks, libfixbuf's template and record handling, our normalization,
 * sequence and per-exporter accounting) and the flows into the connection
 * builder.  A fresh collector per input keeps every run independent.  The
 * information model (libfixbuf's IANA elements and templates/'s .ies files,
 * a millisecond to build) is built once and shared, and built again after
 * an input whose templates added elements to it, so every input starts
 * from the same model.
 *
 * Input: one option byte.  Bit 0 clear: datagrams framed as in
 * fuzz_input.h, each chunk being
 *     control (1 byte) | datagram
 * (control bit 0: the NetFlow port, so v5 goes to our decoder; bits 1-2:
 * which of four peers sent it, so templates of one exporter meet another's
 * data).  Bit 0 set: the rest of the input is an IPFIX file (RFC 5655 message
 * stream) read the way --ipfix-file reads one.
 */
#include "config.h"

#include <arpa/inet.h>
#include <glib.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conn/conn.h"
#include "conn/uid.h"
#include "core/weird.h"
#include "fuzz/fuzz_input.h"
#include "ipfix/collector.h"
#include "ipfix/infomodel.h"

typedef struct {
    conn_builder_t *cb;
    uint64_t flows;
} flow_sink_t;

static void
on_flow(const flow_obs_t *f, void *user)
{
    flow_sink_t *s = user;
    s->flows++;
    conn_builder_flow(s->cb, f);
}

static void
on_conn(const conn_record_t *rec, void *user)
{
    (void)rec;
    (*(uint64_t *)user)++;
}

/* libfixbuf and the collector log through GLib; a fuzz run would drown in it. */
static void
quiet_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
    (void)domain;
    (void)level;
    (void)msg;
    (void)data;
}

/* The shared information model and its size as loaded: templates naming
 * elements it does not know add them ("alien" elements), and an input must
 * not see what an earlier one added. */
static fbInfoModel_t *model;
static guint model_elements;

static void
model_build(void)
{
    GError *err = NULL;
    if (model != NULL)
        fbInfoModelFree(model);
    model = fbInfoModelAlloc();
    if (!ipfix_infomodel_load_dir(model, TOP_SRCDIR "/templates", NULL, &err)) {
        fprintf(stderr, "ipfix fuzz: %s\n", err->message);
        abort();
    }
    model_elements = fbInfoModelCountElements(model);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    fz_glib_slice_off(argv);
    g_log_set_default_handler(quiet_log, NULL);
    model_build();
    return 0;
}

/* Read the rest of @p in as an IPFIX file through an in-memory file. */
static void
feed_file(ipfix_collector_t *c, fz_in_t *in)
{
    int fd = memfd_create("ipfix-fuzz", MFD_CLOEXEC);
    if (fd < 0)
        abort();
    size_t off = 0;
    while (off < in->n) {
        ssize_t w = write(fd, in->p + off, in->n - off);
        if (w <= 0)
            abort();
        off += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    if (!ipfix_collector_add_file(c, path, NULL))
        abort();
    close(fd); /* the collector opened its own descriptor */
    /* Bounded: a file source is done at its end, so poll must say -1. */
    for (int i = 0; i < 100000 && ipfix_collector_poll(c, 0) >= 0; i++)
        ;
}

static void
feed_datagrams(ipfix_collector_t *c, fz_in_t *in)
{
    struct sockaddr_in v4[3];
    struct sockaddr_in6 v6;
    for (int i = 0; i < 3; i++) {
        memset(&v4[i], 0, sizeof(v4[i]));
        v4[i].sin_family = AF_INET;
        v4[i].sin_addr.s_addr = htonl(i < 2 ? 0xc0000201u : 0xc0000202u); /* 192.0.2.1/.2 */
        v4[i].sin_port = htons(i == 1 ? 40001 : 40000);
    }
    memset(&v6, 0, sizeof(v6));
    v6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "2001:db8::1", &v6.sin6_addr);
    v6.sin6_port = htons(40000);

    double received = 1700000000.0;
    uint8_t *chunk;
    size_t len;
    while (fz_chunk(in, &chunk, &len)) {
        uint8_t ctl = len ? chunk[0] : 0;
        size_t dlen = len ? len - 1 : 0;
        /* The datagram alone, in a buffer of its own size. */
        uint8_t *d = malloc(dlen ? dlen : 1);
        if (dlen)
            memcpy(d, chunk + 1, dlen);
        int peer = (ctl >> 1) & 3;
        const struct sockaddr *sa =
            peer < 3 ? (const struct sockaddr *)&v4[peer] : (const struct sockaddr *)&v6;
        socklen_t sl = peer < 3 ? sizeof(v4[0]) : sizeof(v6);
        (void)ipfix_collector_inject_datagram(c, ctl & 1, sa, sl, d, dlen, received);
        free(d);
        free(chunk);
        received += 0.5;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in_t in = {data, size};
    uint8_t opt = fz_u8(&in);

    weird_counters_t weirds = {{0}};
    conn_config_t ccfg;
    conn_config_defaults(&ccfg);
    ccfg.hash_seed = 1;
    ccfg.max_conns = (opt & 2) ? 3 : 0;
    uid_gen_t uids;
    uid_gen_init_seed(&uids, 1);
    uint64_t rows = 0;
    flow_sink_t fs = {.cb = conn_builder_new(&ccfg, &uids, &weirds, on_conn, &rows)};

    ipfix_collector_config_t cfg = {.model = model};
    GError *err = NULL;
    ipfix_collector_t *c = ipfix_collector_new(&cfg, on_flow, &fs, &err);
    if (!c) {
        fprintf(stderr, "ipfix fuzz: %s\n", err ? err->message : "collector setup failed");
        abort();
    }
    if (opt & 1)
        feed_file(c, &in);
    else
        feed_datagrams(c, &in);

    /* Every delivered flow is counted on exactly one exporter. */
    GArray *ex = ipfix_collector_stats(c);
    uint64_t counted = 0;
    for (guint i = 0; i < ex->len; i++)
        counted += g_array_index(ex, ipfix_exporter_stats_t, i).n[IPFIX_CTR_FLOWS];
    g_array_unref(ex);
    if (counted != fs.flows)
        __builtin_trap();
    uint64_t tot[IPFIX_TOT_COUNT];
    ipfix_collector_totals(c, tot);
    ipfix_collector_free(c);
    /* Aliens this input added to the model: back to the model as loaded. */
    if (fbInfoModelCountElements(model) != model_elements)
        model_build();

    conn_builder_flush(fs.cb);
    conn_stats_t st;
    conn_builder_stats(fs.cb, &st);
    if (st.logged != st.created || rows != st.logged)
        __builtin_trap();
    conn_builder_free(fs.cb);
    return 0;
}
