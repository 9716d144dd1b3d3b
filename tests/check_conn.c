/*
 * Check suite for the connection builder: Zeek's conn_state table, every
 * history letter and its repetition rule, flips, sequence-based byte counts
 * with 32-bit wrap, gaps, UDP/ICMP rules, timeouts, reuse and the table cap.
 * Layers are built by hand, so these tests do not depend on the decoder.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "conn/conn.h"
#include "core/netset.h"

/* ------------------------------------------------------------------ */
/* harness                                                              */

typedef struct {
    conn_builder_t *cb;
    conn_config_t cfg;
    uid_gen_t uids;
    weird_counters_t weirds;
    GArray *rows; /* conn_record_t */
    netset_t *local;
} fx_t;

static fx_t fx;

static void
collect(const conn_record_t *rec, void *user)
{
    g_array_append_val(((fx_t *)user)->rows, *rec);
}

static void teardown(void);

static void
fx_start(void (*tweak)(conn_config_t *))
{
    if (fx.cb)
        teardown();
    memset(&fx, 0, sizeof(fx));
    conn_config_defaults(&fx.cfg);
    fx.cfg.ignore_checksums = true;
    fx.local = netset_new();
    netset_add_private(fx.local);
    fx.cfg.local_nets = fx.local;
    if (tweak)
        tweak(&fx.cfg);
    uid_gen_init_seed(&fx.uids, 42);
    fx.rows = g_array_new(FALSE, TRUE, sizeof(conn_record_t));
    fx.cb = conn_builder_new(&fx.cfg, &fx.uids, &fx.weirds, collect, &fx);
}

static void
setup(void)
{
    fx.cb = NULL;
    fx_start(NULL);
}

static void
teardown(void)
{
    conn_builder_free(fx.cb);
    g_array_free(fx.rows, TRUE);
    netset_free(fx.local);
    fx.cb = NULL;
}

static void
addr4(uint8_t out[16], const char *s)
{
    ck_assert(addr_parse(s, out));
}

#define CLI "10.0.0.1"
#define SRV "192.0.2.80"

/* One TCP segment from (src, sport) to (dst, dport). */
static void
tcp_full(double t, const char *src, uint16_t sport, const char *dst, uint16_t dport, uint8_t flags,
         uint32_t seq, uint32_t ack, uint32_t len, uint16_t win)
{
    pkt_layer_t l;
    memset(&l, 0, sizeof(l));
    /* the header and a payload of zeros: service identification reads it */
    static uint8_t hdr[20 + 65536];
    l.ts = t;
    l.ip_version = 4;
    l.proto = 6;
    addr4(l.src, src);
    addr4(l.dst, dst);
    l.ip_len = 40 + len;
    l.l4 = hdr;
    l.l4_len = 20 + len;
    l.l4_caplen = 20 + len;
    l.l4_complete = true;
    l.sport = sport;
    l.dport = dport;
    l.tcp_flags = flags;
    l.seq = seq;
    l.ack = ack;
    l.win = win;
    l.wscale = -1;
    l.payload = hdr + 20;
    l.payload_len = len;
    l.payload_caplen = len;
    conn_builder_packet(fx.cb, &l, NULL, NULL);
}

/* client (10.0.0.1:40000) <-> server (192.0.2.80:80) */
static void
c2s(double t, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len)
{
    tcp_full(t, CLI, 40000, SRV, 80, flags, seq, ack, len, 1000);
}

static void
s2c(double t, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len)
{
    tcp_full(t, SRV, 80, CLI, 40000, flags, seq, ack, len, 1000);
}

static void
udp(double t, const char *src, uint16_t sport, const char *dst, uint16_t dport, uint16_t len)
{
    pkt_layer_t l;
    memset(&l, 0, sizeof(l));
    static uint8_t hdr[8 + 65536]; /* header and zero payload */
    l.ts = t;
    l.ip_version = 4;
    l.proto = 17;
    addr4(l.src, src);
    addr4(l.dst, dst);
    l.ip_len = 28 + len;
    l.l4 = hdr;
    l.l4_len = 8 + len;
    l.l4_caplen = 8 + len;
    l.l4_complete = true;
    l.sport = sport;
    l.dport = dport;
    l.udp_len = (uint16_t)(8 + len);
    l.payload = hdr + 8;
    l.payload_len = len;
    conn_builder_packet(fx.cb, &l, NULL, NULL);
}

static void
icmp(double t, const char *src, const char *dst, uint8_t type, uint8_t code, uint16_t len)
{
    pkt_layer_t l;
    memset(&l, 0, sizeof(l));
    static uint8_t hdr[8];
    l.ts = t;
    l.ip_version = 4;
    l.proto = 1;
    addr4(l.src, src);
    addr4(l.dst, dst);
    l.ip_len = 20 + 8 + len;
    l.l4 = hdr;
    l.l4_len = 8 + len;
    l.l4_caplen = 8 + len;
    l.l4_complete = true;
    l.icmp_type = type;
    l.icmp_code = code;
    conn_builder_packet(fx.cb, &l, NULL, NULL);
}

static const conn_record_t *
only_row(void)
{
    conn_builder_flush(fx.cb);
    ck_assert_uint_eq(fx.rows->len, 1);
    return &g_array_index(fx.rows, conn_record_t, 0);
}

static const conn_record_t *
row(guint i)
{
    ck_assert_uint_gt(fx.rows->len, i);
    return &g_array_index(fx.rows, conn_record_t, i);
}

#define ASSERT_STATE(r, st, hist)                                                                 \
    do {                                                                                          \
        ck_assert_str_eq(conn_state_name((r)->conn_state), st);                                   \
        ck_assert_str_eq((r)->history, hist);                                                     \
    } while (0)

/* A complete exchange: 100 bytes up, 300 down, FIN both ways. */
static void
full_session(double t0, uint32_t ci, uint32_t si)
{
    c2s(t0 + 0.0, TH_SYN, ci, 0, 0);
    s2c(t0 + 0.1, TH_SYN | TH_ACK, si, ci + 1, 0);
    c2s(t0 + 0.2, TH_ACK, ci + 1, si + 1, 0);
    c2s(t0 + 0.3, TH_ACK | TH_PUSH, ci + 1, si + 1, 100);
    s2c(t0 + 0.4, TH_ACK, si + 1, ci + 101, 0);
    s2c(t0 + 0.5, TH_ACK | TH_PUSH, si + 1, ci + 101, 300);
    c2s(t0 + 0.6, TH_ACK, ci + 101, si + 301, 0);
    c2s(t0 + 0.7, TH_FIN | TH_ACK, ci + 101, si + 301, 0);
    s2c(t0 + 0.8, TH_FIN | TH_ACK, si + 301, ci + 102, 0);
    c2s(t0 + 0.9, TH_ACK, ci + 102, si + 302, 0);
}

/* ------------------------------------------------------------------ */
/* TCP conn_state and history                                           */

START_TEST(tcp_sf_full_session)
{
    full_session(1000.0, 1000, 5000);
    const conn_record_t *r = only_row();
    ASSERT_STATE(r, "SF", "ShADadFf");
    ck_assert_uint_eq(r->orig_bytes, 100);
    ck_assert_uint_eq(r->resp_bytes, 300);
    ck_assert_uint_eq(r->orig_pkts, 6);
    ck_assert_uint_eq(r->resp_pkts, 4);
    ck_assert_uint_eq(r->orig_ip_bytes, 6 * 40 + 100);
    ck_assert_uint_eq(r->resp_ip_bytes, 4 * 40 + 300);
    ck_assert_uint_eq(r->missed_bytes, 0);
    /* the final ACK after both FINs does not extend the duration */
    ck_assert(r->has_duration);
    ck_assert_double_eq_tol(r->duration, 0.8, 1e-9);
    ck_assert_int_eq(r->local_orig, TRI_T);
    ck_assert_int_eq(r->local_resp, TRI_T);
    ck_assert_uint_eq(r->orig_p, 40000);
    ck_assert_uint_eq(r->resp_p, 80);
    ck_assert_int_eq(r->proto, CONN_PROTO_TCP);
    ck_assert_uint_eq(r->ip_proto, 6);
    ck_assert_uint_eq(strlen(r->uid) >= 12, 1);
    ck_assert_int_eq(r->uid[0], 'C');
}
END_TEST

START_TEST(tcp_s0_attempt)
{
    c2s(10.0, TH_SYN, 1, 0, 0);
    const conn_record_t *r = only_row();
    ASSERT_STATE(r, "S0", "S");
    ck_assert(!r->has_duration);
}
END_TEST

START_TEST(tcp_s0_retry_after_attempt_delay_is_new_conn)
{
    c2s(10.0, TH_SYN, 1, 0, 0);
    c2s(16.0, TH_SYN, 1, 0, 0); /* after tcp_attempt_delay (5 s) */
    conn_builder_flush(fx.cb);
    ck_assert_uint_eq(fx.rows->len, 2);
    ASSERT_STATE(row(0), "S0", "S");
    ASSERT_STATE(row(1), "S0", "S");
}
END_TEST

START_TEST(tcp_syn_retransmit_same_seq_one_letter)
{
    c2s(10.0, TH_SYN, 7, 0, 0);
    c2s(11.0, TH_SYN, 7, 0, 0);
    c2s(13.0, TH_SYN, 7, 0, 0);
    const conn_record_t *r = only_row();
    ASSERT_STATE(r, "S0", "S");
    ck_assert_uint_eq(r->orig_pkts, 3);
}
END_TEST

START_TEST(tcp_rej)
{
    c2s(10.0, TH_SYN, 1, 0, 0);
    s2c(10.1, TH_RST | TH_ACK, 0, 2, 0);
    const conn_record_t *r = only_row();
    ASSERT_STATE(r, "REJ", "Sr");
    ck_assert_uint_eq(r->orig_bytes, 0);
    ck_assert_uint_eq(r->resp_bytes, 0);
}
END_TEST

START_TEST(tcp_rsto_and_rstr)
{
    c2s(1.0, TH_SYN, 100, 0, 0);
    s2c(1.1, TH_SYN | TH_ACK, 900, 101, 0);
    c2s(1.2, TH_ACK, 101, 901, 0);
    c2s(1.3, TH_RST, 101, 0, 0);
    const conn_record_t *r = only_row();
    ASSERT_STATE(r, "RSTO", "ShAR");
}
END_TEST

START_TEST(tcp_rstr)
{
    c2s(1.0, TH_SYN, 100, 0, 0);
    s2c(1.1, TH_SYN | TH_ACK, 900, 101, 0);
    c2s(1.2, TH_ACK, 101, 901, 0);
    s2c(1.3, TH_RST, 901, 0, 0);
    const conn_record_t *r = only_row();
    ASSERT_STATE(r, "RSTR", "ShAr");
}
END_TEST

START_TEST(tcp_rstos0_and_oth)
{
    /* extras.tsv: SR -> RSTOS0, lone R -> OTH */
    c2s(1.0, TH_SYN, 100, 0, 0);
    c2s(1.5, TH_RST, 101, 0, 0);
    tcp_full(2.0, "10.9.9.9", 1234, "10.8.8.8", 4321, TH_RST, 55, 0, 0, 0);
    conn_builder_flush(fx.cb);
    ck_assert_uint_eq(fx.rows->len, 2);
    for (guint i = 0; i < 2; i++) {
        const conn_record_t *r = row(i);
        if (r->orig_p == 40000)
            ASSERT_STATE(r, "RSTOS0", "SR");
        else
            ASSERT_STATE(r, "OTH", "R");
    }
}
END_TEST

START_TEST(tcp_saFR_is_oth)
{
    /* extras.tsv: an originator FIN before the RST breaks the RSTOS0 pattern */
    c2s(1.0, TH_SYN, 100, 0, 0);
    s2c(1.1, TH_ACK, 900, 101, 0);
    c2s(1.2, TH_FIN | TH_ACK, 101, 900, 0);
    c2s(1.3, TH_RST, 102, 0, 0);
    const conn_record_t *r = only_row();
    ASSERT_STATE(r, "OTH", "SaFR");
}
END_TEST

START_TEST(tcp_sh_and_shr)
{
    c2s(1.0, TH_SYN, 100, 0, 0);
    c2s(1.2, TH_FIN, 101, 0, 0);
    /* responder-only close on another connection */
    tcp_full(2.0, "10.9.9.9", 80, "10.8.8.8", 5555, TH_FIN | TH_ACK, 55, 77, 0, 10);
    conn_builder_flush(fx.cb);
    ck_assert_uint_eq(fx.rows->len, 2);
    for (guint i = 0; i < 2; i++) {
        const conn_record_t *r = row(i);
        if (r->resp_p == 80 && r->orig_p == 40000)
            ASSERT_STATE(r, "SH", "SF");
        else {
            /* flipped at creation: 80 is a likely server port */
            ck_assert_uint_eq(r->resp_p, 80);
            ASSERT_STATE(r, "SHR", "^f");
        }
    }
}
END_TEST

START_TEST(tcp_s1_s2_s3)
{
    c2s(1.0, TH_SYN, 100, 0, 0);
    s2c(1.1, TH_SYN | TH_ACK, 900, 101, 0);
    c2s(1.2, TH_ACK, 101, 901, 0);
    const conn_record_t *r = only_row();
    ASSERT_STATE(r, "S1", "ShA");
}
END_TEST

START_TEST(tcp_s2)
{
    c2s(1.0, TH_SYN, 100, 0, 0);
    s2c(1.1, TH_SYN | TH_ACK, 900, 101, 0);
    c2s(1.2, TH_ACK, 101, 901, 0);
    c2s(1.3, TH_FIN | TH_ACK, 101, 901, 0);
    const conn_record_t *r = only_row();
    ASSERT_STATE(r, "S2", "ShAF");
}
END_TEST

START_TEST(tcp_s3)
{
    c2s(1.0, TH_SYN, 100, 0, 0);
    s2c(1.1, TH_SYN | TH_ACK, 900, 101, 0);
    c2s(1.2, TH_ACK, 101, 901, 0);
    s2c(1.3, TH_FIN | TH_ACK, 901, 101, 0);
    const conn_record_t *r = only_row();
    ASSERT_STATE(r, "S3", "ShAf");
}
END_TEST

START_TEST(tcp_rstrh)
{
    /* responder RST while the originator never got past inactive/partial */
    c2s(1.0, TH_ACK, 100, 900, 0);
    s2c(1.1, TH_RST, 900, 0, 0);
    const conn_record_t *r = only_row();
    ASSERT_STATE(r, "RSTRH", "Ar");
}
END_TEST

START_TEST(tcp_partial_oth)
{
    c2s(1.0, TH_ACK | TH_PUSH, 100, 900, 10);
    s2c(1.1, TH_ACK, 900, 110, 0);
    const conn_record_t *r = only_row();
    ASSERT_STATE(r, "OTH", "Da");
    ck_assert_uint_eq(r->orig_bytes, 10);
}
END_TEST

/* ------------------------------------------------------------------ */
/* letters with repetition rules                                        */

START_TEST(tcp_retransmissions_logarithmic)
{
    /* T at the 1st and 10th retransmission (spec section 2) */
    c2s(1.0, TH_SYN, 100, 0, 0);
    s2c(1.1, TH_SYN | TH_ACK, 900, 101, 0);
    c2s(1.2, TH_ACK, 101, 901, 0);
    c2s(1.3, TH_ACK, 101, 901, 50);
    for (int i = 0; i < 10; i++)
        c2s(1.4 + i * 0.01, TH_ACK, 101, 901, 50);
    const conn_record_t *r = only_row();
    ASSERT_STATE(r, "S1", "ShADTT");
    ck_assert_uint_eq(r->orig_bytes, 50);
    ck_assert_uint_eq(r->orig_pkts, 13);
}
END_TEST

START_TEST(tcp_zero_window)
{
    c2s(1.0, TH_SYN, 100, 0, 0);
    s2c(1.1, TH_SYN | TH_ACK, 900, 101, 0);
    c2s(1.2, TH_ACK, 101, 901, 0);
    tcp_full(1.3, SRV, 80, CLI, 40000, TH_ACK, 901, 101, 0, 0);
    const conn_record_t *r = only_row();
    ASSERT_STATE(r, "S1", "ShAaw");
}
END_TEST

START_TEST(tcp_multi_flag_letters)
{
    c2s(1.0, TH_SYN | TH_FIN, 100, 0, 0);
    s2c(1.1, TH_FIN | TH_RST, 900, 0, 0);
    const conn_record_t *r = only_row();
    ck_assert_str_eq(r->history, "Qi");
}
END_TEST

START_TEST(tcp_fin_repeated_only_with_new_seq)
{
    c2s(1.0, TH_SYN, 100, 0, 0);
    s2c(1.1, TH_SYN | TH_ACK, 900, 101, 0);
    c2s(1.2, TH_ACK, 101, 901, 0);
    c2s(1.3, TH_FIN | TH_ACK, 101, 901, 0);
    c2s(1.4, TH_FIN | TH_ACK, 101, 901, 0); /* same position: no letter */
    const conn_record_t *r = only_row();
    ck_assert_str_eq(r->history, "ShAF");
}
END_TEST

/* ------------------------------------------------------------------ */
/* flips                                                                */

static void
no_tcp_80(conn_config_t *c)
{
    char *msg = NULL;
    ck_assert(conn_config_set_server_ports(c, "4789/udp", &msg));
}

START_TEST(tcp_synack_first_flips_with_hat_h)
{
    /* spec section 3, trigger 2: history "H" when the first A appears */
    fx_start(no_tcp_80);
    s2c(1.0, TH_SYN | TH_ACK, 900, 101, 0);
    c2s(1.1, TH_ACK, 101, 901, 0);
    c2s(1.2, TH_ACK | TH_PUSH, 101, 901, 20);
    s2c(1.3, TH_ACK | TH_PUSH, 901, 121, 30);
    const conn_record_t *r = only_row();
    ck_assert_str_eq(r->history, "^hADd");
    ck_assert_uint_eq(r->orig_p, 40000);
    ck_assert_uint_eq(r->resp_p, 80);
    /* counters follow the actual senders */
    ck_assert_uint_eq(r->orig_pkts, 2);
    ck_assert_uint_eq(r->resp_pkts, 2);
    ck_assert_uint_eq(r->orig_ip_bytes, 40 + 60);
}
END_TEST

START_TEST(tcp_flip_at_creation_by_server_port)
{
    /* first packet is not a plain SYN and comes from port 80 */
    s2c(1.0, TH_ACK | TH_PUSH, 900, 101, 10);
    const conn_record_t *r = only_row();
    ck_assert_uint_eq(r->orig_p, 40000);
    ck_assert_uint_eq(r->resp_p, 80);
    ck_assert_str_eq(r->history, "^d");
}
END_TEST

START_TEST(tcp_plain_syn_never_flips)
{
    tcp_full(1.0, SRV, 80, CLI, 40000, TH_SYN, 5, 0, 0, 100);
    const conn_record_t *r = only_row();
    ck_assert_uint_eq(r->orig_p, 80);
    ck_assert_str_eq(r->history, "S");
}
END_TEST

START_TEST(tcp_syn_synack_reversal)
{
    /* the SYN-ACK is seen before the SYN (spec section 3, trigger 3) */
    fx_start(no_tcp_80);
    s2c(1.0, TH_SYN | TH_ACK, 900, 101, 0);
    c2s(1.0001, TH_SYN, 100, 0, 0);
    c2s(1.1, TH_ACK, 101, 901, 0);
    const conn_record_t *r = only_row();
    ck_assert_str_eq(r->history, "Hs^A");
    ck_assert_uint_eq(r->orig_p, 40000);
}
END_TEST

/* ------------------------------------------------------------------ */
/* sizes                                                                */

START_TEST(tcp_seq_wrap_32bit)
{
    uint32_t ci = 0xFFFFFF00u;
    c2s(1.0, TH_SYN, ci, 0, 0);
    s2c(1.1, TH_SYN | TH_ACK, 900, ci + 1, 0);
    c2s(1.2, TH_ACK, ci + 1, 901, 0);
    c2s(1.3, TH_ACK, ci + 1, 901, 1000); /* crosses 2^32 */
    s2c(1.4, TH_ACK, 901, ci + 1001, 0);
    const conn_record_t *r = only_row();
    ck_assert_uint_eq(r->orig_bytes, 1000);
}
END_TEST

START_TEST(tcp_over_4gib_counts_by_sequence)
{
    /* a 5 GiB transfer seen only in samples: sizes come from sequence
     * numbers with wrap counters (spec section 4) */
    uint32_t ci = 1000;
    c2s(1.0, TH_SYN, ci, 0, 0);
    s2c(1.1, TH_SYN | TH_ACK, 900, ci + 1, 0);
    c2s(1.2, TH_ACK, ci + 1, 901, 0);
    uint64_t off = 0;
    for (int i = 0; i <= 20; i++) {
        off = (uint64_t)i * (1u << 28); /* 256 MiB steps: each below 2^31 */
        c2s(1.2 + i, TH_ACK, (uint32_t)(ci + 1 + off), 901, 1);
    }
    const conn_record_t *r = only_row();
    ck_assert_uint_eq(r->orig_bytes, off + 1);
    ck_assert_uint_gt(r->orig_bytes, 5000000000ULL);
}
END_TEST

START_TEST(tcp_gap_counts_missed_bytes)
{
    c2s(1.0, TH_SYN, 100, 0, 0);
    s2c(1.1, TH_SYN | TH_ACK, 900, 101, 0);
    c2s(1.2, TH_ACK, 101, 901, 0);
    c2s(1.3, TH_ACK, 101, 901, 100);
    /* bytes 201..700 never seen */
    c2s(1.4, TH_ACK, 701, 901, 100);
    s2c(1.5, TH_ACK, 901, 801, 0);
    const conn_record_t *r = only_row();
    ck_assert_uint_eq(r->missed_bytes, 500);
    ck_assert_str_eq(r->history, "ShADaG");
    ck_assert_uint_eq(r->orig_bytes, 700);
}
END_TEST

START_TEST(tcp_gap_not_reported_for_partial)
{
    c2s(1.0, TH_ACK, 101, 901, 100);
    c2s(1.4, TH_ACK, 701, 901, 100);
    s2c(1.5, TH_ACK, 901, 801, 0);
    const conn_record_t *r = only_row();
    ck_assert_uint_eq(r->missed_bytes, 0);
}
END_TEST

START_TEST(tcp_rst_payload_not_counted)
{
    c2s(1.0, TH_SYN, 100, 0, 0);
    s2c(1.1, TH_SYN | TH_ACK, 900, 101, 0);
    c2s(1.2, TH_ACK, 101, 901, 0);
    c2s(1.3, TH_RST | TH_ACK, 101, 901, 40);
    const conn_record_t *r = only_row();
    ck_assert_uint_eq(r->orig_bytes, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* timeouts and reuse                                                   */

START_TEST(tcp_reuse_after_close)
{
    full_session(1.0, 1000, 5000);
    full_session(3.0, 777777, 88888); /* same ports, 2 s later: reuse */
    conn_builder_flush(fx.cb);
    ck_assert_uint_eq(fx.rows->len, 2);
    ASSERT_STATE(row(0), "SF", "ShADadFf");
    ASSERT_STATE(row(1), "SF", "ShADadFf");
    ck_assert_str_ne(row(0)->uid, row(1)->uid);
}
END_TEST

START_TEST(tcp_close_delay_removes)
{
    full_session(1.0, 1000, 5000);
    conn_builder_advance(fx.cb, 1.8 + 4.9);
    ck_assert_uint_eq(fx.rows->len, 0);
    conn_builder_advance(fx.cb, 1.8 + 5.01);
    ck_assert_uint_eq(fx.rows->len, 1);
}
END_TEST

START_TEST(tcp_inactivity_timeout_splits)
{
    /* like core.expire-all-timers: 300 s of silence splits the flow */
    c2s(1.0, TH_ACK | TH_PUSH, 100, 900, 18);
    s2c(1.00001, TH_ACK, 900, 118, 0);
    c2s(400.0, TH_ACK | TH_PUSH, 118, 900, 18);
    conn_builder_flush(fx.cb);
    ck_assert_uint_eq(fx.rows->len, 2);
    ck_assert_str_eq(row(0)->history, "Da");
    ck_assert_str_eq(row(1)->history, "D");
}
END_TEST

START_TEST(udp_inactivity_and_states)
{
    udp(1.0, CLI, 5000, "192.0.2.53", 53, 30);
    udp(1.01, "192.0.2.53", 53, CLI, 5000, 90);
    udp(2.0, CLI, 5001, "192.0.2.99", 9999, 10);
    udp(200.0, CLI, 5001, "192.0.2.99", 9999, 10); /* after 60 s: new conn */
    conn_builder_flush(fx.cb);
    ck_assert_uint_eq(fx.rows->len, 3);
    int sf = 0, s0 = 0;
    for (guint i = 0; i < 3; i++) {
        const conn_record_t *r = row(i);
        if (r->resp_p == 53) {
            ASSERT_STATE(r, "SF", "Dd");
            ck_assert_uint_eq(r->orig_bytes, 30);
            ck_assert_uint_eq(r->resp_bytes, 90);
            ck_assert_uint_eq(r->resp_ip_bytes, 118);
            sf++;
        } else {
            ASSERT_STATE(r, "S0", "D");
            s0++;
        }
    }
    ck_assert_int_eq(sf, 1);
    ck_assert_int_eq(s0, 2);
}
END_TEST

START_TEST(udp_flip_and_shr)
{
    udp(1.0, "192.0.2.53", 53, CLI, 5000, 90);
    const conn_record_t *r = only_row();
    ck_assert_uint_eq(r->orig_p, 5000);
    ASSERT_STATE(r, "SHR", "^d");
}
END_TEST

START_TEST(udp_no_flip_to_broadcast)
{
    udp(1.0, "10.1.1.1", 137, "255.255.255.255", 5000, 20);
    const conn_record_t *r = only_row();
    ck_assert_uint_eq(r->orig_p, 137);
    ck_assert_str_eq(r->history, "D");
}
END_TEST

START_TEST(icmp_echo_pairs)
{
    icmp(1.0, CLI, SRV, 8, 0, 56);
    icmp(1.1, SRV, CLI, 0, 0, 56);
    icmp(2.0, SRV, CLI, 3, 3, 28); /* unreachable: one-way, its own conn */
    conn_builder_flush(fx.cb);
    ck_assert_uint_eq(fx.rows->len, 2);
    for (guint i = 0; i < 2; i++) {
        const conn_record_t *r = row(i);
        ck_assert_str_eq(conn_state_name(r->conn_state), "OTH");
        ck_assert_str_eq(r->history, "");
        if (r->orig_p == 8) {
            ck_assert_uint_eq(r->resp_p, 0);
            ck_assert_uint_eq(r->orig_bytes, 56);
            ck_assert_uint_eq(r->resp_bytes, 56);
            ck_assert_uint_eq(r->resp_pkts, 1);
        } else {
            ck_assert_uint_eq(r->orig_p, 3);
            ck_assert_uint_eq(r->resp_p, 3);
        }
    }
}
END_TEST

static void
cap10(conn_config_t *c)
{
    c->max_conns = 10;
}

START_TEST(table_cap_evicts_and_logs)
{
    fx_start(cap10);
    char ip[32];
    for (int i = 0; i < 25; i++) {
        g_snprintf(ip, sizeof(ip), "10.2.0.%d", i + 1);
        udp(1.0 + i * 0.001, ip, 1000, SRV, 9999, 10);
    }
    conn_stats_t st;
    conn_builder_stats(fx.cb, &st);
    ck_assert_uint_le(st.active, 10);
    ck_assert_uint_eq(st.evicted, 15);
    conn_builder_flush(fx.cb);
    ck_assert_uint_eq(fx.rows->len, 25); /* nothing lost */
}
END_TEST

START_TEST(local_nets_unset_when_empty)
{
    fx.cfg.local_nets = NULL;
    conn_builder_free(fx.cb);
    fx.cb = conn_builder_new(&fx.cfg, &fx.uids, &fx.weirds, collect, &fx);
    udp(1.0, CLI, 5000, "8.8.8.8", 53, 10);
    const conn_record_t *r = only_row();
    ck_assert_int_eq(r->local_orig, TRI_UNSET);
    ck_assert_int_eq(r->local_resp, TRI_UNSET);
}
END_TEST

START_TEST(tunables_parse)
{
    conn_config_t c;
    char *msg = NULL;
    conn_config_defaults(&c);
    ck_assert(conn_config_set_tunable(&c, "tcp_inactivity_timeout", "10 min", &msg));
    ck_assert_double_eq(c.tcp_inactivity_timeout, 600.0);
    ck_assert(conn_config_set_tunable(&c, "udp_inactivity_timeout", "30secs", &msg));
    ck_assert_double_eq(c.udp_inactivity_timeout, 30.0);
    ck_assert(conn_config_set_tunable(&c, "report_gaps_for_partial", "T", &msg));
    ck_assert(c.report_gaps_for_partial);
    ck_assert(!conn_config_set_tunable(&c, "no_such_thing", "1", &msg));
    ck_assert_ptr_nonnull(msg);
    g_free(msg);
    msg = NULL;
    ck_assert(!conn_config_set_tunable(&c, "tcp_close_delay", "soon", &msg));
    g_free(msg);
    msg = NULL;
    ck_assert(!conn_config_set_server_ports(&c, "80/sctp", &msg));
    g_free(msg);
}
END_TEST

static Suite *
conn_suite(void)
{
    Suite *s = suite_create("conn");
    TCase *tc = tcase_create("tcp_states");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, tcp_sf_full_session);
    tcase_add_test(tc, tcp_s0_attempt);
    tcase_add_test(tc, tcp_s0_retry_after_attempt_delay_is_new_conn);
    tcase_add_test(tc, tcp_syn_retransmit_same_seq_one_letter);
    tcase_add_test(tc, tcp_rej);
    tcase_add_test(tc, tcp_rsto_and_rstr);
    tcase_add_test(tc, tcp_rstr);
    tcase_add_test(tc, tcp_rstos0_and_oth);
    tcase_add_test(tc, tcp_saFR_is_oth);
    tcase_add_test(tc, tcp_sh_and_shr);
    tcase_add_test(tc, tcp_s1_s2_s3);
    tcase_add_test(tc, tcp_s2);
    tcase_add_test(tc, tcp_s3);
    tcase_add_test(tc, tcp_rstrh);
    tcase_add_test(tc, tcp_partial_oth);
    suite_add_tcase(s, tc);

    tc = tcase_create("history");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, tcp_retransmissions_logarithmic);
    tcase_add_test(tc, tcp_zero_window);
    tcase_add_test(tc, tcp_multi_flag_letters);
    tcase_add_test(tc, tcp_fin_repeated_only_with_new_seq);
    tcase_add_test(tc, tcp_synack_first_flips_with_hat_h);
    tcase_add_test(tc, tcp_flip_at_creation_by_server_port);
    tcase_add_test(tc, tcp_plain_syn_never_flips);
    tcase_add_test(tc, tcp_syn_synack_reversal);
    suite_add_tcase(s, tc);

    tc = tcase_create("sizes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, tcp_seq_wrap_32bit);
    tcase_add_test(tc, tcp_over_4gib_counts_by_sequence);
    tcase_add_test(tc, tcp_gap_counts_missed_bytes);
    tcase_add_test(tc, tcp_gap_not_reported_for_partial);
    tcase_add_test(tc, tcp_rst_payload_not_counted);
    suite_add_tcase(s, tc);

    tc = tcase_create("lifetime");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, tcp_reuse_after_close);
    tcase_add_test(tc, tcp_close_delay_removes);
    tcase_add_test(tc, tcp_inactivity_timeout_splits);
    tcase_add_test(tc, udp_inactivity_and_states);
    tcase_add_test(tc, udp_flip_and_shr);
    tcase_add_test(tc, udp_no_flip_to_broadcast);
    tcase_add_test(tc, icmp_echo_pairs);
    tcase_add_test(tc, table_cap_evicts_and_logs);
    tcase_add_test(tc, local_nets_unset_when_empty);
    tcase_add_test(tc, tunables_parse);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(conn_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
