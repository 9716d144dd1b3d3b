/*
 * Check suite for core/recent (the /recent ring) and core/flowq (the flow
 * hand-off queue): order, overwrite, every filter, limits, and both under
 * a concurrent producer thread.
 */
#include <check.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "core/flowq.h"
#include "core/netset.h"
#include "core/recent.h"

static conn_record_t
rec(double ts, const char *orig, uint16_t op, const char *resp, uint16_t rp, conn_proto_t proto,
    conn_state_t st)
{
    conn_record_t r;
    memset(&r, 0, sizeof(r));
    r.ts = ts;
    g_snprintf(r.uid, sizeof(r.uid), "C%.0f", ts);
    ck_assert(addr_parse(orig, r.orig_h));
    ck_assert(addr_parse(resp, r.resp_h));
    r.orig_p = op;
    r.resp_p = rp;
    r.proto = proto;
    r.conn_state = st;
    return r;
}

START_TEST(test_newest_first_and_overwrite)
{
    recent_t *r = recent_new(3);
    recent_filter_t f;
    GArray *out = g_array_new(FALSE, FALSE, sizeof(conn_record_t));

    recent_filter_init(&f);
    ck_assert_uint_eq(recent_query(r, &f, out), 0);
    for (int i = 1; i <= 5; i++) {
        conn_record_t c = rec(i, "10.0.0.1", 1000, "10.0.0.2", 80, CONN_PROTO_TCP, CONN_STATE_SF);
        recent_push(r, &c);
    }
    ck_assert_uint_eq(recent_query(r, &f, out), 3);
    ck_assert_double_eq(g_array_index(out, conn_record_t, 0).ts, 5);
    ck_assert_double_eq(g_array_index(out, conn_record_t, 1).ts, 4);
    ck_assert_double_eq(g_array_index(out, conn_record_t, 2).ts, 3);
    ck_assert_uint_eq(recent_total(r), 5);
    ck_assert_uint_eq(recent_capacity(r), 3);

    g_array_set_size(out, 0);
    f.limit = 2;
    ck_assert_uint_eq(recent_query(r, &f, out), 2);
    g_array_set_size(out, 0);
    f.limit = 100; /* above capacity: bounded by it */
    ck_assert_uint_eq(recent_query(r, &f, out), 3);
    g_array_unref(out);
    recent_free(r);
    recent_free(NULL);
}
END_TEST

START_TEST(test_filters)
{
    recent_t *r = recent_new(16);
    recent_filter_t f;
    GArray *out = g_array_new(FALSE, FALSE, sizeof(conn_record_t));
    conn_record_t rs[] = {
        rec(10, "10.0.0.1", 40000, "93.184.216.34", 443, CONN_PROTO_TCP, CONN_STATE_SF),
        rec(11, "10.0.0.2", 53000, "8.8.8.8", 53, CONN_PROTO_UDP, CONN_STATE_SF),
        rec(12, "10.0.0.1", 0, "10.0.0.9", 8, CONN_PROTO_ICMP, CONN_STATE_OTH),
        rec(13, "2001:db8::1", 40001, "2001:db8::2", 22, CONN_PROTO_TCP, CONN_STATE_REJ),
    };
    for (size_t i = 0; i < G_N_ELEMENTS(rs); i++)
        recent_push(r, &rs[i]);

#define Q(expect)                                                                                \
    do {                                                                                         \
        g_array_set_size(out, 0);                                                                \
        ck_assert_uint_eq(recent_query(r, &f, out), (expect));                                   \
    } while (0)

    recent_filter_init(&f);
    f.proto = CONN_PROTO_TCP;
    Q(2);
    ck_assert_double_eq(g_array_index(out, conn_record_t, 0).ts, 13);
    recent_filter_init(&f);
    f.conn_state = CONN_STATE_SF;
    Q(2);
    recent_filter_init(&f);
    f.port = 53;
    Q(1);
    f.port = 40000; /* either endpoint's port */
    Q(1);
    recent_filter_init(&f);
    ck_assert(addr_parse("10.0.0.1", f.host));
    f.has_host = true;
    Q(2);
    ck_assert(addr_parse("8.8.8.8", f.host)); /* the responder counts too */
    Q(1);
    ck_assert(addr_parse("2001:db8::2", f.host));
    Q(1);
    recent_filter_init(&f);
    f.since = 12;
    Q(2);
    f.proto = CONN_PROTO_ICMP;
    Q(1);
    f.conn_state = CONN_STATE_SF;
    Q(0);
#undef Q
    g_array_unref(out);
    recent_free(r);
}
END_TEST

static gpointer
pusher(gpointer data)
{
    recent_t *r = data;
    for (int i = 0; i < 20000; i++) {
        conn_record_t c = rec(i, "10.0.0.1", (uint16_t)i, "10.0.0.2", 80, CONN_PROTO_TCP,
                              CONN_STATE_SF);
        recent_push(r, &c);
    }
    return NULL;
}

START_TEST(test_concurrent_readers_see_whole_records)
{
    recent_t *r = recent_new(64);
    recent_filter_t f;
    GThread *t = g_thread_new("pusher", pusher, r);
    GArray *out = g_array_new(FALSE, FALSE, sizeof(conn_record_t));

    recent_filter_init(&f);
    for (int round = 0; round < 2000; round++) {
        g_array_set_size(out, 0);
        recent_query(r, &f, out);
        for (guint i = 0; i < out->len; i++) {
            const conn_record_t *c = &g_array_index(out, conn_record_t, i);
            /* a torn copy would mix one record's port with another's ts */
            ck_assert_uint_eq(c->orig_p, (uint16_t)(int)c->ts);
            if (i > 0)
                ck_assert(c->ts < g_array_index(out, conn_record_t, i - 1).ts);
        }
    }
    g_thread_join(t);
    ck_assert_uint_eq(recent_total(r), 20000);
    g_array_unref(out);
    recent_free(r);
}
END_TEST

/* ---- flow queue */

START_TEST(test_flowq_order_and_fd)
{
    flowq_t *q = flowq_new(4, NULL);
    flow_obs_t in, out[8];
    struct pollfd p = {.fd = flowq_fd(q), .events = POLLIN};

    ck_assert_int_eq(poll(&p, 1, 0), 0); /* empty: not readable */
    memset(&in, 0, sizeof(in));
    for (int i = 0; i < 3; i++) {
        in.sport = (uint16_t)i;
        ck_assert(flowq_push(q, &in));
    }
    /* fewer than FLOWQ_WAKE_AT wait: readable only once the producer flushes */
    ck_assert_int_eq(poll(&p, 1, 0), 0);
    flowq_flush(q);
    ck_assert_int_eq(poll(&p, 1, 0), 1);
    ck_assert_uint_eq(flowq_drain(q, out, 2), 2);
    ck_assert_uint_eq(out[0].sport, 0);
    ck_assert_uint_eq(out[1].sport, 1);
    ck_assert_int_eq(poll(&p, 1, 0), 1); /* one left */
    ck_assert_uint_eq(flowq_drain(q, out, 8), 1);
    ck_assert_uint_eq(out[0].sport, 2);
    ck_assert_int_eq(poll(&p, 1, 0), 0);

    flowq_stats_t st;
    flowq_stats(q, &st);
    ck_assert_uint_eq(st.pushed, 3);
    ck_assert_uint_eq(st.peak, 3);
    ck_assert_uint_eq(st.depth, 0);

    flowq_close(q);
    ck_assert(!flowq_push(q, &in));
    flowq_stats(q, &st);
    ck_assert_uint_eq(st.dropped, 1);
    flowq_free(q);
    flowq_free(NULL);
}
END_TEST

/* The consumer reads records in place: a peek returns the oldest stretch
 * (never across the ring's end) and leaves it queued until released, so
 * the producer cannot overwrite it. */
START_TEST(test_flowq_peek_release)
{
    flowq_t *q = flowq_new(8, NULL);
    flow_obs_t in[8], out[8];
    unsigned n;

    memset(in, 0, sizeof(in));
    for (unsigned i = 0; i < 8; i++)
        in[i].exporter_id = i;
    ck_assert_uint_eq(flowq_push_n(q, in, 6), 6);
    ck_assert_uint_eq(flowq_drain(q, out, 6), 6); /* head now at 6 */
    ck_assert_uint_eq(flowq_push_n(q, in, 5), 5); /* 2 at the end, 3 wrapped */
    const flow_obs_t *f = flowq_peek(q, 8, &n);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(f[0].exporter_id, 0);
    ck_assert_uint_eq(f[1].exporter_id, 1);
    /* still queued: the ring has room for 3 more, not 5 */
    flowq_stats_t st;
    flowq_stats(q, &st);
    ck_assert_uint_eq(st.depth, 5);
    ck_assert_uint_eq(flowq_push_n(q, in + 5, 3), 3);
    ck_assert_uint_eq(f[0].exporter_id, 0); /* untouched by the push */
    flowq_release(q, 2);
    f = flowq_peek(q, 2, &n);
    ck_assert_uint_eq(n, 2); /* capped by max */
    ck_assert_uint_eq(f[0].exporter_id, 2);
    ck_assert_uint_eq(f[1].exporter_id, 3);
    flowq_release(q, 2);
    ck_assert_uint_eq(flowq_drain(q, out, 8), 4);
    ck_assert_uint_eq(out[0].exporter_id, 4);
    ck_assert_uint_eq(out[3].exporter_id, 7);
    f = flowq_peek(q, 8, &n);
    ck_assert_uint_eq(n, 0);
    flowq_stats(q, &st);
    ck_assert_uint_eq(st.depth, 0);
    flowq_free(q);
}
END_TEST

/* A batch that crosses the ring's end keeps its order, and FLOWQ_WAKE_AT
 * waiting records wake the consumer without a flush. */
START_TEST(test_flowq_push_n_wraps_and_wakes)
{
    const unsigned cap = FLOWQ_WAKE_AT + 100;
    flowq_t *q = flowq_new(cap, NULL);
    flow_obs_t *in = g_new0(flow_obs_t, cap), *out = g_new0(flow_obs_t, cap);
    struct pollfd p = {.fd = flowq_fd(q), .events = POLLIN};

    for (unsigned i = 0; i < cap; i++)
        in[i].exporter_id = i;
    /* move the ring's head near its end */
    ck_assert_uint_eq(flowq_push_n(q, in, cap - 10), cap - 10);
    ck_assert_int_eq(poll(&p, 1, 0), 1); /* past FLOWQ_WAKE_AT: no flush needed */
    ck_assert_uint_eq(flowq_drain(q, out, cap), cap - 10);
    ck_assert_int_eq(poll(&p, 1, 0), 0);
    /* FLOWQ_WAKE_AT - 1 records: 10 at the end of the ring, the rest wrapped */
    ck_assert_uint_eq(flowq_push_n(q, in, FLOWQ_WAKE_AT - 1), FLOWQ_WAKE_AT - 1);
    ck_assert_int_eq(poll(&p, 1, 0), 0);
    ck_assert_uint_eq(flowq_push_n(q, in + FLOWQ_WAKE_AT - 1, 1), 1);
    ck_assert_int_eq(poll(&p, 1, 0), 1);
    ck_assert_uint_eq(flowq_drain(q, out, cap), FLOWQ_WAKE_AT);
    for (unsigned i = 0; i < FLOWQ_WAKE_AT; i++)
        ck_assert_uint_eq(out[i].exporter_id, i);
    ck_assert_int_eq(poll(&p, 1, 0), 0);

    flowq_close(q);
    ck_assert_uint_eq(flowq_push_n(q, in, 5), 0);
    flowq_stats_t st;
    flowq_stats(q, &st);
    ck_assert_uint_eq(st.dropped, 5);
    ck_assert_uint_eq(st.pushed, cap - 10 + FLOWQ_WAKE_AT);
    flowq_free(q);
    g_free(in);
    g_free(out);
}
END_TEST

static gpointer
flow_producer(gpointer data)
{
    flowq_t *q = data;
    flow_obs_t o;
    memset(&o, 0, sizeof(o));
    for (uint32_t i = 0; i < 100000; i++) {
        o.exporter_id = i;
        flowq_push(q, &o);
    }
    return NULL;
}

START_TEST(test_flowq_full_queue_waits_instead_of_dropping)
{
    flowq_t *q = flowq_new(16, NULL);
    GThread *t = g_thread_new("producer", flow_producer, q);
    flow_obs_t buf[7];
    uint32_t expect = 0;

    while (expect < 100000) {
        struct pollfd p = {.fd = flowq_fd(q), .events = POLLIN};
        poll(&p, 1, 100);
        unsigned n = flowq_drain(q, buf, G_N_ELEMENTS(buf));
        for (unsigned i = 0; i < n; i++)
            ck_assert_uint_eq(buf[i].exporter_id, expect++);
    }
    g_thread_join(t);
    flowq_stats_t st;
    flowq_stats(q, &st);
    ck_assert_uint_eq(st.pushed, 100000);
    ck_assert_uint_eq(st.dropped, 0);
    ck_assert_uint_le(st.peak, 16);
    flowq_free(q);
}
END_TEST

static Suite *
recent_suite(void)
{
    Suite *s = suite_create("recent");
    TCase *tc = tcase_create("ring");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_newest_first_and_overwrite);
    tcase_add_test(tc, test_filters);
    tcase_add_test(tc, test_concurrent_readers_see_whole_records);
    suite_add_tcase(s, tc);
    tc = tcase_create("flowq");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_flowq_order_and_fd);
    tcase_add_test(tc, test_flowq_push_n_wraps_and_wakes);
    tcase_add_test(tc, test_flowq_peek_release);
    tcase_add_test(tc, test_flowq_full_queue_waits_instead_of_dropping);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(recent_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
