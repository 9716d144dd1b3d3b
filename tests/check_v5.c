/*
 * NetFlow v5 decoder tests: hand-built datagrams (good, count mismatch,
 * short header, wrong version, uptime wrap, sequence gaps, duplicates,
 * sampling, every truncation), then the same through the collector's
 * NetFlow port dispatch to check the per-exporter counters.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "ipfix/collector.h"
#include "ipfix/v5.h"

#define EXPORT_SECS 1700000000u
#define EXPORT_NSECS 250000000u /* .25 s */
#define UPTIME 3600000u         /* one hour */

typedef struct {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint32_t pkts, octets, first, last;
    uint8_t flags, proto;
} v5rec_t;

static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Build a v5 datagram into @p buf; returns its length (24 + 48 * n). */
static size_t
build(uint8_t *buf, uint16_t count, uint32_t uptime, uint32_t seq, uint8_t etype, uint8_t eid,
      uint16_t sampling, const v5rec_t *recs, size_t n)
{
    memset(buf, 0, 24 + 48 * n);
    put16(buf, 5);
    put16(buf + 2, count);
    put32(buf + 4, uptime);
    put32(buf + 8, EXPORT_SECS);
    put32(buf + 12, EXPORT_NSECS);
    put32(buf + 16, seq);
    buf[20] = etype;
    buf[21] = eid;
    put16(buf + 22, sampling);
    for (size_t i = 0; i < n; i++) {
        uint8_t *r = buf + 24 + 48 * i;

        put32(r, recs[i].src);
        put32(r + 4, recs[i].dst);
        put32(r + 16, recs[i].pkts);
        put32(r + 20, recs[i].octets);
        put32(r + 24, recs[i].first);
        put32(r + 28, recs[i].last);
        put16(r + 32, recs[i].sport);
        put16(r + 34, recs[i].dport);
        r[37] = recs[i].flags;
        r[38] = recs[i].proto;
    }
    return 24 + 48 * n;
}

static const v5rec_t rec_tcp = {0x0a000001, 0x0a000002, 40000, 80, 5, 218,
                                UPTIME - 2000, UPTIME - 500, 0x1b, 6};
static const v5rec_t rec_udp = {0xc0a80101, 0x08080808, 5353, 53, 1, 40,
                                UPTIME - 100, UPTIME - 100, 0, 17};

static void
assert_v4(const uint8_t a[16], uint32_t host)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    uint32_t be = htonl(host);

    ck_assert_mem_eq(a, prefix, 12);
    ck_assert_mem_eq(a + 12, &be, 4);
}

START_TEST(test_good_datagram)
{
    uint8_t buf[24 + 48 * 2];
    v5rec_t recs[2] = {rec_tcp, rec_udp};
    size_t len = build(buf, 2, UPTIME, 1000, 1, 7, 0, recs, 2);
    ipfix_v5_header_t h;
    ipfix_v5_stream_t st = {0};
    ipfix_v5_counters_t ctr = {0};
    flow_obs_t out[IPFIX_V5_MAX_COUNT];
    double export = EXPORT_SECS + 0.25;

    ck_assert_int_eq(ipfix_v5_parse_header(buf, len, &h), IPFIX_V5_OK);
    ck_assert_uint_eq(h.count, 2);
    ck_assert_uint_eq(h.flow_sequence, 1000);
    ck_assert_uint_eq(h.engine_type, 1);
    ck_assert_uint_eq(h.engine_id, 7);
    ck_assert_uint_eq(ipfix_v5_decode(buf, len, &h, 42.0, &st, &ctr, out), 2);

    ck_assert_uint_eq(out[0].ip_version, 4);
    assert_v4(out[0].src, 0x0a000001);
    assert_v4(out[0].dst, 0x0a000002);
    ck_assert_uint_eq(out[0].sport, 40000);
    ck_assert_uint_eq(out[0].dport, 80);
    ck_assert_uint_eq(out[0].proto, 6);
    ck_assert_uint_eq(out[0].pkts, 5);
    ck_assert_uint_eq(out[0].octets, 218);
    ck_assert_uint_eq(out[0].flags, 0x1b);
    ck_assert(!out[0].has_initial_flags);
    ck_assert(!out[0].has_reverse);
    ck_assert_double_eq_tol(out[0].start, export - 2.0, 1e-6);
    ck_assert_double_eq_tol(out[0].end, export - 0.5, 1e-6);
    ck_assert_double_eq(out[0].received, 42.0);
    ck_assert_int_eq(out[0].source, FLOW_SRC_NETFLOW_V5);
    ck_assert_uint_eq(out[0].obs_domain, 1u << 8 | 7);
    ck_assert_uint_eq(out[0].sampling_interval, 1);
    ck_assert_int_eq(out[0].end_reason, FLOW_END_UNKNOWN);

    assert_v4(out[1].src, 0xc0a80101);
    ck_assert_uint_eq(out[1].proto, 17);
    ck_assert_double_eq_tol(out[1].start, export - 0.1, 1e-6);
    ck_assert_double_eq_tol(out[1].end, out[1].start, 1e-9);

    ck_assert_uint_eq(ctr.datagrams, 1);
    ck_assert_uint_eq(ctr.records, 2);
    ck_assert_uint_eq(ctr.length_mismatch, 0);
    ck_assert_uint_eq(ctr.seq_gaps, 0);
    ck_assert(st.have_seq);
    ck_assert_uint_eq(st.next_seq, 1002);
}
END_TEST

START_TEST(test_count_mismatch)
{
    uint8_t buf[24 + 48 * 3 + 7];
    v5rec_t recs[3] = {rec_tcp, rec_udp, rec_tcp};
    ipfix_v5_header_t h;
    ipfix_v5_stream_t st = {0};
    ipfix_v5_counters_t ctr = {0};
    flow_obs_t out[IPFIX_V5_MAX_COUNT];
    size_t len;

    /* header says 3, only 2 records present: decode the 2 */
    len = build(buf, 3, UPTIME, 0, 0, 0, 0, recs, 2);
    ck_assert_int_eq(ipfix_v5_parse_header(buf, len, &h), IPFIX_V5_OK);
    ck_assert_uint_eq(ipfix_v5_decode(buf, len, &h, 0, &st, &ctr, out), 2);
    ck_assert_uint_eq(ctr.length_mismatch, 1);
    ck_assert_uint_eq(out[1].pkts, 1);

    /* a record cut in half does not count as present */
    memset(&st, 0, sizeof(st));
    ck_assert_uint_eq(ipfix_v5_decode(buf, len - 10, &h, 0, &st, &ctr, out), 1);
    ck_assert_uint_eq(ctr.length_mismatch, 2);

    /* header says 2, three records and padding follow: decode 2 */
    memset(&st, 0, sizeof(st));
    len = build(buf, 2, UPTIME, 0, 0, 0, 0, recs, 3);
    memset(buf + len, 0xee, 7);
    ck_assert_int_eq(ipfix_v5_parse_header(buf, len + 7, &h), IPFIX_V5_OK);
    ck_assert_uint_eq(ipfix_v5_decode(buf, len + 7, &h, 0, &st, &ctr, out), 2);
    ck_assert_uint_eq(ctr.length_mismatch, 3);
    ck_assert_uint_eq(ctr.records, 5);
}
END_TEST

START_TEST(test_bad_headers)
{
    uint8_t buf[24 + 48 * 31];
    v5rec_t recs[31];
    ipfix_v5_header_t h;
    size_t len;

    for (int i = 0; i < 31; i++)
        recs[i] = rec_udp;
    len = build(buf, 1, UPTIME, 0, 0, 0, 0, recs, 1);
    for (size_t cut = 0; cut < 24; cut++)
        ck_assert_int_eq(ipfix_v5_parse_header(buf, cut, &h), IPFIX_V5_SHORT_HEADER);
    ck_assert_int_eq(ipfix_v5_parse_header(NULL, 100, &h), IPFIX_V5_SHORT_HEADER);

    put16(buf, 7);
    ck_assert_int_eq(ipfix_v5_parse_header(buf, len, &h), IPFIX_V5_BAD_VERSION);
    put16(buf, 9);
    ck_assert_int_eq(ipfix_v5_parse_header(buf, len, &h), IPFIX_V5_BAD_VERSION);

    len = build(buf, 0, UPTIME, 0, 0, 0, 0, recs, 0);
    ck_assert_int_eq(ipfix_v5_parse_header(buf, len, &h), IPFIX_V5_BAD_COUNT);
    len = build(buf, 31, UPTIME, 0, 0, 0, 0, recs, 31);
    ck_assert_int_eq(ipfix_v5_parse_header(buf, len, &h), IPFIX_V5_BAD_COUNT);
    len = build(buf, 30, UPTIME, 0, 0, 0, 0, recs, 30);
    ck_assert_int_eq(ipfix_v5_parse_header(buf, len, &h), IPFIX_V5_OK);
    ck_assert_str_eq(ipfix_v5_status_name(IPFIX_V5_BAD_COUNT), "bad_count");
}
END_TEST

START_TEST(test_uptime_wrap)
{
    uint8_t buf[24 + 48 * 3];
    v5rec_t recs[3] = {rec_tcp, rec_tcp, rec_tcp};
    ipfix_v5_header_t h;
    ipfix_v5_stream_t st = {0};
    ipfix_v5_counters_t ctr = {0};
    flow_obs_t out[IPFIX_V5_MAX_COUNT];
    double export = EXPORT_SECS + 0.25;
    size_t len;

    /* the exporter's 32-bit uptime wrapped 1 s ago: a flow that started 2 s
     * ago carries a stamp just below 2^32 */
    recs[0].first = 0xffffffffu - 999; /* 1000 ms before the wrap */
    recs[0].last = 500;
    /* a stamp a few ms after the header's uptime: the near future */
    recs[1].first = 1000;
    recs[1].last = 1005;
    /* no wrap: stamp 0 is one second before the header's 1000 ms */
    recs[2].first = 0;
    recs[2].last = 0;
    len = build(buf, 3, 1000, 0, 0, 0, 0, recs, 3);
    ck_assert_int_eq(ipfix_v5_parse_header(buf, len, &h), IPFIX_V5_OK);
    ck_assert_uint_eq(ipfix_v5_decode(buf, len, &h, 0, &st, &ctr, out), 3);
    ck_assert_double_eq_tol(out[0].start, export - 2.0, 1e-6);
    ck_assert_double_eq_tol(out[0].end, export - 0.5, 1e-6);
    ck_assert_double_eq_tol(out[1].start, export, 1e-6);
    ck_assert_double_eq_tol(out[1].end, export + 0.005, 1e-6);
    ck_assert_double_eq_tol(out[2].start, export - 1.0, 1e-6);

    /* long uptime, no wrap involved */
    recs[0].first = 4000000000u;
    recs[0].last = 4000000500u;
    len = build(buf, 1, 4000001000u, 3, 0, 0, 0, recs, 1);
    ck_assert_int_eq(ipfix_v5_parse_header(buf, len, &h), IPFIX_V5_OK);
    ck_assert_uint_eq(ipfix_v5_decode(buf, len, &h, 0, &st, &ctr, out), 1);
    ck_assert_double_eq_tol(out[0].start, export - 1.0, 1e-6);
    ck_assert_double_eq_tol(out[0].end, export - 0.5, 1e-6);
}
END_TEST

START_TEST(test_sequence)
{
    uint8_t buf[24 + 48 * 2];
    v5rec_t recs[2] = {rec_tcp, rec_udp};
    ipfix_v5_header_t h;
    ipfix_v5_stream_t st = {0};
    ipfix_v5_counters_t ctr = {0};
    flow_obs_t out[IPFIX_V5_MAX_COUNT];
    size_t len;

    len = build(buf, 2, UPTIME, 100, 0, 0, 0, recs, 2);
    ipfix_v5_parse_header(buf, len, &h);
    ck_assert_uint_eq(ipfix_v5_decode(buf, len, &h, 0, &st, &ctr, out), 2);
    /* in order */
    len = build(buf, 2, UPTIME + 10, 102, 0, 0, 0, recs, 2);
    ipfix_v5_parse_header(buf, len, &h);
    ck_assert_uint_eq(ipfix_v5_decode(buf, len, &h, 0, &st, &ctr, out), 2);
    ck_assert_uint_eq(ctr.seq_gaps, 0);
    /* 8 flows lost: 104..111 */
    len = build(buf, 2, UPTIME + 20, 112, 0, 0, 0, recs, 2);
    ipfix_v5_parse_header(buf, len, &h);
    ck_assert_uint_eq(ipfix_v5_decode(buf, len, &h, 0, &st, &ctr, out), 2);
    ck_assert_uint_eq(ctr.seq_gaps, 1);
    ck_assert_uint_eq(ctr.missed_flows, 8);
    /* the same datagram again: a duplicate, not decoded */
    ck_assert_uint_eq(ipfix_v5_decode(buf, len, &h, 0, &st, &ctr, out), 0);
    ck_assert_uint_eq(ctr.duplicates, 1);
    ck_assert_uint_eq(ctr.datagrams, 3);
    /* an old datagram arriving late: out of order, resync */
    len = build(buf, 2, UPTIME + 5, 50, 0, 0, 0, recs, 2);
    ipfix_v5_parse_header(buf, len, &h);
    ck_assert_uint_eq(ipfix_v5_decode(buf, len, &h, 0, &st, &ctr, out), 2);
    ck_assert_uint_eq(ctr.out_of_order, 1);
    ck_assert_uint_eq(st.next_seq, 52);
    /* wrap of the 32-bit sequence itself is not a gap */
    memset(&st, 0, sizeof(st));
    len = build(buf, 2, UPTIME, 0xffffffffu, 0, 0, 0, recs, 2);
    ipfix_v5_parse_header(buf, len, &h);
    ipfix_v5_decode(buf, len, &h, 0, &st, &ctr, out);
    len = build(buf, 2, UPTIME + 1, 1, 0, 0, 0, recs, 2);
    ipfix_v5_parse_header(buf, len, &h);
    ipfix_v5_decode(buf, len, &h, 0, &st, &ctr, out);
    ck_assert_uint_eq(ctr.seq_gaps, 1);
    ck_assert_uint_eq(ctr.out_of_order, 1);
}
END_TEST

START_TEST(test_sampling_and_icmp)
{
    uint8_t buf[24 + 48];
    v5rec_t r = rec_udp;
    ipfix_v5_header_t h;
    ipfix_v5_stream_t st = {0};
    ipfix_v5_counters_t ctr = {0};
    flow_obs_t out[IPFIX_V5_MAX_COUNT];
    size_t len;

    r.proto = 1;
    r.sport = 1234; /* junk some exporters leave */
    r.dport = 3 << 8 | 1;
    len = build(buf, 1, UPTIME, 0, 0, 0, 1u << 14 | 100, &r, 1);
    ck_assert_int_eq(ipfix_v5_parse_header(buf, len, &h), IPFIX_V5_OK);
    ck_assert_uint_eq(h.sampling_mode, 1);
    ck_assert_uint_eq(h.sampling_interval, 100);
    ck_assert_uint_eq(ipfix_v5_decode(buf, len, &h, 0, &st, &ctr, out), 1);
    ck_assert_uint_eq(out[0].sampling_interval, 100);
    ck_assert_uint_eq(out[0].sport, 0);
    ck_assert_uint_eq(out[0].dport, 0x0301);
}
END_TEST

/* Every prefix of a datagram, and random bytes: no crash, no overread
 * (ASan builds catch the latter). */
START_TEST(test_truncations)
{
    uint8_t buf[24 + 48 * 30];
    v5rec_t recs[30];
    ipfix_v5_header_t h;
    ipfix_v5_stream_t st = {0};
    ipfix_v5_counters_t ctr = {0};
    flow_obs_t out[IPFIX_V5_MAX_COUNT];
    size_t len;

    for (int i = 0; i < 30; i++)
        recs[i] = rec_tcp;
    len = build(buf, 30, UPTIME, 0, 0, 0, 0, recs, 30);
    for (size_t cut = 0; cut <= len; cut++) {
        uint8_t *copy = g_memdup2(buf, cut ? cut : 1);

        if (ipfix_v5_parse_header(copy, cut, &h) == IPFIX_V5_OK)
            ck_assert_uint_le(ipfix_v5_decode(copy, cut, &h, 0, &st, &ctr, out), 30);
        g_free(copy);
    }
    srand(7);
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(rand() % (int)sizeof(buf));

        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)rand();
        if (n >= 2)
            put16(buf, 5);
        if (ipfix_v5_parse_header(buf, n, &h) == IPFIX_V5_OK)
            ck_assert_uint_le(ipfix_v5_decode(buf, n, &h, 0, &st, &ctr, out), 30);
    }
}
END_TEST

/* ------------------------------------------------ through the collector */

typedef struct {
    int n;
    flow_obs_t last;
} sink_t;

static void
sink(const flow_obs_t *o, void *ud)
{
    sink_t *s = ud;

    s->n++;
    s->last = *o;
}

static const ipfix_exporter_stats_t *
find_exporter(GArray *a, ipfix_proto_t proto, uint32_t domain)
{
    for (guint i = 0; i < a->len; i++) {
        const ipfix_exporter_stats_t *e = &g_array_index(a, ipfix_exporter_stats_t, i);

        if (e->proto == proto && e->obs_domain == domain)
            return e;
    }
    return NULL;
}

START_TEST(test_collector_counters)
{
    ipfix_collector_config_t cfg = {.templates_dir = TOP_SRCDIR "/templates"};
    sink_t s = {0};
    GError *err = NULL;
    ipfix_collector_t *c = ipfix_collector_new(&cfg, sink, &s, &err);
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(9995)};
    uint8_t buf[24 + 48 * 2];
    v5rec_t recs[2] = {rec_tcp, rec_udp};
    double now = EXPORT_SECS + 1;
    GArray *a;
    const ipfix_exporter_stats_t *e;
    uint64_t tot[IPFIX_TOT_COUNT];
    size_t len;

    ck_assert_msg(c != NULL, "%s", err ? err->message : "");
    peer.sin_addr.s_addr = htonl(0xc0000201);
#define INJECT(b, l) \
    ipfix_collector_inject_datagram(c, true, (struct sockaddr *)&peer, sizeof(peer), b, l, now)
    len = build(buf, 2, UPTIME, 10, 0, 5, 0, recs, 2);
    ck_assert(INJECT(buf, len));
    ck_assert_int_eq(s.n, 2);
    ck_assert_uint_eq(s.last.obs_domain, 5);
    ck_assert_uint_ne(s.last.exporter_id, 0);
    /* gap of 3 flows, then a duplicate */
    len = build(buf, 2, UPTIME + 1, 15, 0, 5, 0, recs, 2);
    ck_assert(INJECT(buf, len));
    ck_assert(INJECT(buf, len));
    ck_assert_int_eq(s.n, 4);
    /* count says 2, one record present */
    len = build(buf, 2, UPTIME + 2, 17, 0, 5, 0, recs, 1);
    ck_assert(INJECT(buf, len));
    ck_assert_int_eq(s.n, 5);
    /* short header from the same engine, and a bad count */
    ck_assert(INJECT(buf, 23));
    len = build(buf, 0, UPTIME + 3, 19, 0, 5, 0, recs, 0);
    ck_assert(INJECT(buf, len));
    /* a flow 3 days before its export time: repaired and counted */
    recs[0].first = 0;
    recs[0].last = 10;
    len = build(buf, 1, 3u * 86400 * 1000, 19, 0, 5, 0, recs, 1);
    ck_assert(INJECT(buf, len));
    ck_assert_int_eq(s.n, 6);
    ck_assert_double_eq_tol(s.last.start, EXPORT_SECS + 0.25, 1e-6);
    ck_assert_double_eq_tol(s.last.end, EXPORT_SECS + 0.25, 1e-6);
    /* a version-7 datagram is garbage on the NetFlow port */
    put16(buf, 7);
    ck_assert(INJECT(buf, len));
    /* another engine is another exporter */
    len = build(buf, 1, UPTIME, 0, 0, 6, 0, recs, 1);
    ck_assert(INJECT(buf, len));
    ck_assert_int_eq(s.n, 7);
#undef INJECT

    a = ipfix_collector_stats(c);
    ck_assert_uint_eq(a->len, 2);
    e = find_exporter(a, IPFIX_PROTO_NETFLOW_V5, 5);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->address, "192.0.2.1");
    ck_assert_uint_eq(e->n[IPFIX_CTR_MESSAGES], 4);
    ck_assert_uint_eq(e->n[IPFIX_CTR_FLOWS], 6);
    ck_assert_uint_eq(e->n[IPFIX_CTR_SEQ_GAPS], 1);
    ck_assert_uint_eq(e->n[IPFIX_CTR_MISSED], 3);
    ck_assert_uint_eq(e->n[IPFIX_CTR_DUPLICATES], 1);
    ck_assert_uint_eq(e->n[IPFIX_CTR_LENGTH_MISMATCH], 1);
    ck_assert_uint_eq(e->n[IPFIX_CTR_MALFORMED], 2);
    ck_assert_uint_eq(e->n[IPFIX_CTR_TIME_IMPLAUSIBLE], 1);
    ck_assert_ptr_nonnull(find_exporter(a, IPFIX_PROTO_NETFLOW_V5, 6));
    g_array_unref(a);
    ipfix_collector_totals(c, tot);
    ck_assert_uint_eq(tot[IPFIX_TOT_GARBAGE], 1);
    ck_assert_uint_eq(tot[IPFIX_TOT_DATAGRAMS], 9);
    /* the IPFIX UDP path does not take v5 */
    len = build(buf, 1, UPTIME, 0, 0, 9, 0, recs, 1);
    ck_assert(ipfix_collector_inject_datagram(c, false, (struct sockaddr *)&peer, sizeof(peer),
                                              buf, len, now));
    ck_assert_int_eq(s.n, 7);
    ipfix_collector_totals(c, tot);
    ck_assert_uint_eq(tot[IPFIX_TOT_GARBAGE], 2);
    ipfix_collector_free(c);
}
END_TEST

static Suite *
v5_suite(void)
{
    Suite *s = suite_create("v5");
    TCase *tc = tcase_create("decode");

    tcase_add_test(tc, test_good_datagram);
    tcase_add_test(tc, test_count_mismatch);
    tcase_add_test(tc, test_bad_headers);
    tcase_add_test(tc, test_uptime_wrap);
    tcase_add_test(tc, test_sequence);
    tcase_add_test(tc, test_sampling_and_icmp);
    tcase_add_test(tc, test_truncations);
    suite_add_tcase(s, tc);
    tc = tcase_create("collector");
    tcase_add_test(tc, test_collector_counters);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(v5_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
