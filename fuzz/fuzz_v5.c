/*
 * libFuzzer target: NetFlow v5 datagrams through our decoder (header
 * checks, record decoding, sequence tracking, uptime arithmetic) and the
 * decoded flows, their times checked as the collector does, through the
 * connection builder's flow path.
 *
 * Input: one option byte, then datagrams framed as in fuzz_input.h, all
 * from one exporter stream and received one second apart.  Option bit 2
 * sends the flows on to a connection builder (bit 0: scale sampled counts;
 * bit 1: a connection cap of 3); without it only the decoder runs, which
 * is several times faster (the builder's set-up dominates small inputs).
 */
#include "config.h"

#include <glib.h>
#include <math.h>
#include <stdint.h>

#include "conn/conn.h"
#include "conn/uid.h"
#include "core/weird.h"
#include "fuzz/fuzz_input.h"
#include "ipfix/normalize.h"
#include "ipfix/v5.h"
#include "output/writer.h"

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
    s->rows++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    fz_glib_slice_off(argv);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in_t in = {data, size};
    uint8_t opt = fz_u8(&in);

    weird_counters_t weirds = {{0}};
    conn_config_t ccfg;
    conn_config_defaults(&ccfg);
    ccfg.flow_scale_sampled = opt & 1;
    ccfg.max_conns = (opt & 2) ? 3 : 0;
    ccfg.hash_seed = 1;
    uid_gen_t uids;
    uid_gen_init_seed(&uids, 1);
    sink_t sink = {.buf = g_string_sized_new(512)};
    conn_builder_t *cb =
        (opt & 4) ? conn_builder_new(&ccfg, &uids, &weirds, sink_format, &sink) : NULL;

    ipfix_v5_stream_t stream = {0};
    ipfix_v5_counters_t ctr = {0};
    flow_obs_t out[IPFIX_V5_MAX_COUNT];
    double received = 1700000000.0;
    uint8_t *dgram;
    size_t len;
    while (fz_chunk(&in, &dgram, &len)) {
        ipfix_v5_header_t hdr;
        ipfix_v5_status_t st = ipfix_v5_parse_header(dgram, len, &hdr);
        (void)ipfix_v5_status_name(st);
        if (st == IPFIX_V5_OK) {
            uint64_t before = ctr.records;
            size_t n = ipfix_v5_decode(dgram, len, &hdr, received, &stream, &ctr, out);
            /* Never more records than the header promised or the bytes hold. */
            if (n > hdr.count || n > (len - IPFIX_V5_HEADER_LEN) / IPFIX_V5_RECORD_LEN ||
                n > IPFIX_V5_MAX_COUNT || ctr.records - before != n)
                __builtin_trap();
            double export_time = ipfix_v5_export_time(&hdr);
            if (!isfinite(export_time))
                __builtin_trap();
            for (size_t i = 0; i < n; i++) {
                if (!isfinite(out[i].start) || !isfinite(out[i].end))
                    __builtin_trap();
                /* What the collector does before delivering (86400 s skew). */
                (void)ipfix_normalize_sanitize_times(&out[i], export_time, 86400);
                if (cb)
                    conn_builder_flow(cb, &out[i]);
            }
        }
        free(dgram);
        received += 1.0;
    }
    if (cb) {
        conn_builder_flush(cb);
        conn_stats_t cs;
        conn_builder_stats(cb, &cs);
        if (cs.logged != cs.created || sink.rows != cs.logged)
            __builtin_trap();
        conn_builder_free(cb);
    }
    g_string_free(sink.buf, TRUE);
    return 0;
}
