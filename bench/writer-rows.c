/*
 * bench/writer-rows: the cost of writing conn.log rows, the part of the
 * builder's work that grows with the rows logged (on the flow path about
 * one row for every two records).  Formats N records of a fixed mix
 * through writer_write() into a conn.log in DIR (a tmpfs such as /dev/shm
 * keeps the disk out of it; the kernel's copy into the page cache stays
 * in, as it does in the daemon) and prints nanoseconds per row for TSV and
 * JSON.
 *
 *     bench/writer-rows [ROWS] [DIR]      (1000000, /dev/shm)
 *
 * The mix: microsecond timestamps, durations that are differences of two
 * of them (the 17-digit doubles JSON has to render), IPv4 and one in eight
 * IPv6, a third UDP, half with a service, several history strings.
 */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn/record.h"
#include "output/writer.h"

#define MIX 256

static double
now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
make_mix(conn_record_t *r)
{
    static const char *const histories[] = {"ShADadFf", "Dd", "S", "ShR", "ShADadfF", "D"};
    GRand *rnd = g_rand_new_with_seed(1);

    memset(r, 0, sizeof(*r) * MIX);
    for (int i = 0; i < MIX; i++) {
        conn_record_t *x = &r[i];
        int64_t us = 1700000000LL * 1000000 + g_rand_int_range(rnd, 0, 1000000000);
        int64_t end = us + g_rand_int_range(rnd, 1, 100000000);

        x->ts = (double)us / 1e6;
        x->has_duration = i % 5 != 0;
        x->duration = (double)end / 1e6 - x->ts;
        g_snprintf(x->uid, sizeof(x->uid), "C%08x%08x", g_rand_int(rnd), g_rand_int(rnd));
        if (i % 8 == 7) {
            for (int k = 0; k < 16; k++)
                x->orig_h[k] = x->resp_h[k] = (uint8_t)g_rand_int(rnd);
            x->orig_h[0] = x->resp_h[0] = 0x20;
        } else {
            x->orig_h[10] = x->orig_h[11] = x->resp_h[10] = x->resp_h[11] = 0xff;
            x->orig_h[12] = 10;
            for (int k = 13; k < 16; k++) {
                x->orig_h[k] = (uint8_t)g_rand_int(rnd);
                x->resp_h[k - 1] = (uint8_t)g_rand_int(rnd);
            }
            x->resp_h[15] = (uint8_t)g_rand_int(rnd);
        }
        x->orig_p = (uint16_t)g_rand_int_range(rnd, 1024, 65536);
        bool udp = i % 3 == 0;
        x->resp_p = udp ? 53 : 443;
        x->proto = udp ? CONN_PROTO_UDP : CONN_PROTO_TCP;
        x->ip_proto = udp ? 17 : 6;
        if (i % 2)
            g_strlcpy(x->service, udp ? "dns" : "ssl", sizeof(x->service));
        x->orig_bytes = g_rand_int_range(rnd, 0, 100000);
        x->resp_bytes = g_rand_int_range(rnd, 0, 1000000);
        x->conn_state = (conn_state_t)(i % CONN_STATE_COUNT);
        x->local_orig = TRI_T;
        x->local_resp = TRI_F;
        g_strlcpy(x->history, histories[i % G_N_ELEMENTS(histories)], sizeof(x->history));
        x->orig_pkts = g_rand_int_range(rnd, 1, 100);
        x->resp_pkts = g_rand_int_range(rnd, 0, 1000);
        x->orig_ip_bytes = x->orig_bytes + 52 * x->orig_pkts;
        x->resp_ip_bytes = x->resp_bytes + 52 * x->resp_pkts;
    }
    g_rand_free(rnd);
}

static int
run(const conn_record_t *mix, long rows, const char *dir, log_format_t fmt, const char *name)
{
    GError *err = NULL;
    g_autofree char *sub = g_build_filename(dir, name, NULL);
    writer_t *w = writer_open(sub, fmt, &err);

    if (w == NULL) {
        fprintf(stderr, "writer-rows: %s\n", err->message);
        g_error_free(err);
        return 1;
    }
    double t0 = now();
    for (long i = 0; i < rows; i++)
        writer_write(w, &mix[i % MIX]);
    double t1 = now();
    if (!writer_close(w, &err)) {
        fprintf(stderr, "writer-rows: %s\n", err->message);
        g_error_free(err);
        return 1;
    }
    g_autofree char *path = g_build_filename(sub, "conn.log", NULL);
    GStatBuf st;
    long size = g_stat(path, &st) == 0 ? (long)st.st_size : -1;
    printf("%-4s %ld rows, %.1f ns/row, %.1f bytes/row\n", name, rows, (t1 - t0) / (double)rows * 1e9,
           (double)size / (double)rows);
    g_unlink(path);
    g_rmdir(sub);
    return 0;
}

int
main(int argc, char **argv)
{
    long rows = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    g_autofree char *dir = g_build_filename(argc > 2 ? argv[2] : "/dev/shm", "writer-rows.XXXXXX", NULL);
    conn_record_t *mix = g_new(conn_record_t, MIX);

    if (rows < 1 || g_mkdtemp(dir) == NULL) {
        fprintf(stderr, "usage: writer-rows [ROWS >= 1] [DIR]\n");
        return 2;
    }
    make_mix(mix);
    int rc = run(mix, rows, dir, LOG_FORMAT_TSV, "tsv") | run(mix, rows, dir, LOG_FORMAT_JSON, "json");
    g_rmdir(dir);
    g_free(mix);
    return rc;
}
