/*
 * libFuzzer target: captured frames through the whole packet path, the
 * decoder (every link type, IP, fragments, tunnels), the pipeline and the
 * connection builder (TCP state, service detection, timers, eviction), and
 * the conn.log formatters for every connection that comes out.
 *
 * Input: byte 0 picks the link type, byte 1 the options (see below), then
 * packets framed as in fuzz_input.h, each chunk being
 *     dt (1 byte) | extra (1 byte) | frame
 * dt advances the clock (0-127: that many ms; 128-253: (dt - 128) s;
 * 254: one second backwards; 255: 400 s, past every inactivity timeout);
 * extra * 16 is added to the wire length (a snaplen cut).
 */
#include "config.h"

#include <glib.h>
#include <stdint.h>

#include "conn/conn.h"
#include "conn/uid.h"
#include "core/netset.h"
#include "core/pipeline.h"
#include "core/weird.h"
#include "decode/decode.h"
#include "fuzz/fuzz_input.h"
#include "output/writer.h"

/* Link types the decoder knows (Ethernet first: the seeds use it), then a
 * few it must refuse. */
static const int dlts[] = {1, 101, 12, 14, 0, 108, 113, 276, 9, 50, 105, 127, 228, 229,
                           147, 2, 6};
#define N_DLTS (sizeof(dlts) / sizeof(dlts[0]))

static netset_t *local_nets;

typedef struct {
    GString *buf;
    uint64_t rows;
} sink_t;

static void
sink_format(const conn_record_t *rec, void *user)
{
    sink_t *s = user;
    g_string_truncate(s->buf, 0);
    writer_format_tsv(rec, s->buf);
    writer_format_json(rec, s->buf);
    s->rows++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    fz_glib_slice_off(argv);
    /* Built once and only read: RFC 1918 and friends, as connlogd's default. */
    local_nets = netset_new();
    netset_add_private(local_nets);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int depths[] = {0, 1, 2, DECODE_TUNNEL_DEPTH_CAP};
    fz_in_t in = {data, size};
    int dlt = dlts[fz_u8(&in) % N_DLTS];
    uint8_t opt = fz_u8(&in);

    /* Options: -C, tunnel depth, a short fragment timeout, no local
     * networks, a connection cap of 3 (evictions), gap reports. */
    weird_counters_t weirds = {{0}};
    decoder_config_t dcfg = {
        .ignore_checksums = opt & 1,
        .max_tunnel_depth = depths[(opt >> 1) & 3],
        .frag_timeout = (opt & 8) ? 1.0 : 0.0,
        .frag_max_bytes = 1, /* the smallest table (128 KiB): cheap to set up, easy to fill */
    };
    conn_config_t ccfg;
    conn_config_defaults(&ccfg);
    ccfg.ignore_checksums = opt & 1;
    ccfg.max_conns = (opt & 32) ? 3 : 0;
    ccfg.report_gaps_for_partial = opt & 64;
    ccfg.local_nets = (opt & 16) ? NULL : local_nets;
    ccfg.hash_seed = 1;
    uid_gen_t uids;
    uid_gen_init_seed(&uids, 1);
    sink_t sink = {.buf = g_string_sized_new(1024)};

    decoder_t *dec = decoder_new(&dcfg, &weirds);
    conn_builder_t *cb = conn_builder_new(&ccfg, &uids, &weirds, sink_format, &sink);
    pipeline_t pipe = {.dec = dec, .cb = cb};

    double ts = 1700000000.0;
    uint8_t *chunk;
    size_t len;
    while (fz_chunk(&in, &chunk, &len)) {
        uint8_t dt = len > 0 ? chunk[0] : 0;
        uint8_t extra = len > 1 ? chunk[1] : 0;
        if (dt < 128)
            ts += dt * 0.001;
        else if (dt < 254)
            ts += dt - 128;
        else if (dt == 254)
            ts -= 1.0;
        else
            ts += 400.0;
        if (len > 2) {
            /* The frame alone, in a buffer of its own size (ASan bounds). */
            size_t flen = len - 2;
            uint8_t *frame = malloc(flen);
            memcpy(frame, chunk + 2, flen);
            pipeline_packet(&pipe, dlt, ts, frame, (uint32_t)flen,
                            (uint32_t)flen + 16u * extra);
            free(frame);
        } else {
            pipeline_packet(&pipe, dlt, ts, NULL, 0, 0);
        }
        free(chunk);
    }
    conn_builder_flush(cb);

    conn_stats_t st;
    conn_builder_stats(cb, &st);
    /* Evicted connections are logged, not dropped, and the cap holds. */
    if (st.logged != st.created || sink.rows != st.logged || st.active != 0)
        __builtin_trap();
    if (ccfg.max_conns && st.peak_active > ccfg.max_conns)
        __builtin_trap();

    conn_builder_free(cb);
    decoder_free(dec);
    g_string_free(sink.buf, TRUE);
    return 0;
}
