/*
 * Check suite for connections built from flow records: stitching of
 * uniflows and active-timeout pieces, originator choice, conn_state and
 * history reconstructed from TCP flags, counters, and expiry.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "conn/conn.h"
#include "output/writer.h"
#include "core/netset.h"

static conn_builder_t *cb;
static conn_config_t cfg;
static uid_gen_t uids;
static weird_counters_t weirds;
static GArray *rows;

static void
collect(const conn_record_t *rec, void *user)
{
    g_array_append_val((GArray *)user, *rec);
}

static void
setup(void)
{
    conn_config_defaults(&cfg);
    uid_gen_init_seed(&uids, 7);
    memset(&weirds, 0, sizeof(weirds));
    rows = g_array_new(FALSE, TRUE, sizeof(conn_record_t));
    cb = conn_builder_new(&cfg, &uids, &weirds, collect, rows);
}

static void
teardown(void)
{
    conn_builder_free(cb);
    g_array_free(rows, TRUE);
}

#define F_S TH_SYN
#define F_A TH_ACK
#define F_F TH_FIN
#define F_R TH_RST
#define F_P TH_PUSH

static flow_obs_t
flow(const char *src, uint16_t sport, const char *dst, uint16_t dport, uint8_t proto, double start,
     double end, uint64_t pkts, uint64_t octets, uint8_t flags)
{
    flow_obs_t f;
    memset(&f, 0, sizeof(f));
    f.ip_version = strchr(src, ':') ? 6 : 4;
    f.proto = proto;
    ck_assert(addr_parse(src, f.src));
    ck_assert(addr_parse(dst, f.dst));
    f.sport = sport;
    f.dport = dport;
    f.start = start;
    f.end = end;
    f.pkts = pkts;
    f.octets = octets;
    f.flags = flags;
    f.end_reason = FLOW_END_IDLE;
    return f;
}

/* Deterministic xorshift64 for the randomized tests below. */
static uint64_t
rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* A random flow among @p hosts hosts: TCP, UDP or ICMP, either direction,
 * finished or not, at time @p t. */
static flow_obs_t
random_flow(uint64_t *x, unsigned hosts, double t)
{
    char a[32], b[32];
    uint64_t r = rnd(x);
    unsigned ha = (unsigned)(r % hosts), hb = (unsigned)((r >> 16) % hosts);
    snprintf(a, sizeof(a), "10.%u.%u.%u", ha >> 16 & 255, ha >> 8 & 255, ha & 255);
    snprintf(b, sizeof(b), "192.168.%u.%u", hb >> 8 & 255, hb & 255);
    uint8_t proto = (r >> 32) % 5 == 0 ? 1 : (r >> 32) % 5 == 1 ? 17 : 6;
    uint16_t pa = (uint16_t)(1024 + (r >> 40) % 8), pb = proto == 1 ? 0x0800 : 80;
    flow_obs_t f = (r >> 48) & 1 ? flow(a, pa, b, pb, proto, t, t + 0.5, 3, 300, F_S | F_A)
                                 : flow(b, pb, a, pa, proto, t, t + 0.5, 2, 200, F_A | F_F);
    f.end_reason = (r >> 50) % 8 == 0 ? FLOW_END_IDLE : FLOW_END_ACTIVE;
    return f;
}

static void
rows_as_tsv(GArray *rs, GString *out)
{
    for (guint i = 0; i < rs->len; i++) {
        writer_format_tsv(&g_array_index(rs, conn_record_t, i), out);
        g_string_append_c(out, '\n');
    }
}

/* The batched entry point prefetches and builds records out of step with
 * their preparation; what comes out must be what one-by-one gives, rows and
 * order, through expiry, eviction and table growth mid-batch. */
START_TEST(batched_records_equal_one_by_one)
{
    enum { N = 20000 };
    flow_obs_t *fs = g_new(flow_obs_t, N);
    uint64_t x = 88172645463325252ULL;
    double t = 1000.0;
    for (unsigned i = 0; i < N; i++) {
        t += (rnd(&x) % 1000 == 0) ? 100.0 : 0.001; /* now and then, past linger */
        fs[i] = random_flow(&x, 12, t);
    }
    GString *one = g_string_new(NULL), *batched = g_string_new(NULL);
    for (int capped = 0; capped < 2; capped++) {
        conn_config_t c2 = cfg;
        c2.max_conns = capped ? 500 : 0;
        c2.hash_seed = 5;
        uid_gen_t u1, u2;
        uid_gen_init_seed(&u1, 9);
        uid_gen_init_seed(&u2, 9);
        GArray *r1 = g_array_new(FALSE, TRUE, sizeof(conn_record_t));
        GArray *r2 = g_array_new(FALSE, TRUE, sizeof(conn_record_t));
        conn_builder_t *b1 = conn_builder_new(&c2, &u1, &weirds, collect, r1);
        conn_builder_t *b2 = conn_builder_new(&c2, &u2, &weirds, collect, r2);
        for (unsigned i = 0; i < N; i++)
            conn_builder_flow(b1, &fs[i]);
        for (unsigned i = 0, step = 1; i < N; i += step, step = step * 3 % 1031)
            conn_builder_flows(b2, &fs[i], MIN(step, N - i));
        conn_builder_flush(b1);
        conn_builder_flush(b2);
        g_string_truncate(one, 0);
        g_string_truncate(batched, 0);
        rows_as_tsv(r1, one);
        rows_as_tsv(r2, batched);
        ck_assert_uint_gt(r1->len, 1000);
        ck_assert_uint_lt(r1->len, N * 9 / 10); /* records did merge */
        ck_assert_uint_eq(r1->len, r2->len);
        ck_assert_str_eq(one->str, batched->str);
        conn_builder_free(b1);
        conn_builder_free(b2);
        g_array_free(r1, TRUE);
        g_array_free(r2, TRUE);
    }
    g_string_free(one, TRUE);
    g_string_free(batched, TRUE);
    g_free(fs);
}
END_TEST

/* The connection table after many deletions (backward shifts across
 * clusters): every connection still in it is found, none that left is. */
START_TEST(table_finds_survivors_after_deletions)
{
    enum { N = 30000 };
    char a[32];
    unsigned idle = 0;
    for (unsigned i = 0; i < N; i++) {
        snprintf(a, sizeof(a), "10.%u.%u.%u", i >> 16 & 255, i >> 8 & 255, i & 255);
        flow_obs_t f = flow(a, 40000, "192.0.2.1", 53, 17, 1000.0, 1000.0, 1, 60, 0);
        /* every third ended (lingers 30 s), the rest wait 1860 s */
        f.end_reason = i % 3 == 0 ? FLOW_END_IDLE : FLOW_END_ACTIVE;
        idle += i % 3 == 0;
        conn_builder_flow(cb, &f);
    }
    conn_stats_t st;
    conn_builder_stats(cb, &st);
    ck_assert_uint_eq(st.created, N);
    /* 100 s later: the ended ones are logged and leave the table */
    flow_obs_t tick = flow("10.255.0.1", 1, "192.0.2.2", 2, 17, 1100.0, 1100.0, 1, 60, 0);
    conn_builder_flow(cb, &tick);
    ck_assert_uint_eq(rows->len, idle);
    /* again every key: the survivors are found, the others start anew */
    for (unsigned i = 0; i < N; i++) {
        snprintf(a, sizeof(a), "10.%u.%u.%u", i >> 16 & 255, i >> 8 & 255, i & 255);
        flow_obs_t f = flow(a, 40000, "192.0.2.1", 53, 17, 1100.0, 1100.0, 1, 60, 0);
        f.end_reason = FLOW_END_ACTIVE;
        conn_builder_flow(cb, &f);
    }
    conn_builder_stats(cb, &st);
    ck_assert_uint_eq(st.created, N + 1 + idle);
    ck_assert_uint_eq(st.active, N + 1);
    conn_builder_flush(cb);
    /* the survivors carry both records */
    unsigned two = 0;
    for (guint i = 0; i < rows->len; i++)
        two += g_array_index(rows, conn_record_t, i).orig_pkts == 2;
    ck_assert_uint_eq(two, N - idle);
}
END_TEST

/* A connection's key, the same whichever endpoint is named first. */
static void
canon_key(const uint8_t h1[16], uint16_t p1, const uint8_t h2[16], uint16_t p2, uint8_t proto,
          char out[160])
{
    char a[48], b[48];
    addr_format(h1, a, sizeof(a));
    addr_format(h2, b, sizeof(b));
    char x[64], y[64];
    snprintf(x, sizeof(x), "%s/%u", a, p1);
    snprintf(y, sizeof(y), "%s/%u", b, p2);
    bool swap = strcmp(x, y) > 0;
    snprintf(out, 160, "%s|%s|%u", swap ? y : x, swap ? x : y, proto);
}

typedef struct {
    char key[160];
    double deadline;
} due_t;

static int
due_cmp(const void *x, const void *y)
{
    double a = ((const due_t *)x)->deadline, b = ((const due_t *)y)->deadline;
    return a < b ? -1 : a > b;
}

/* Rows logged since @p from must be exactly the model's connections due at
 * or before @p now, in deadline order; they leave the model. */
static void
expect_expired(GHashTable *model, guint from, double now)
{
    GArray *due = g_array_new(FALSE, FALSE, sizeof(due_t));
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, model);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        if (*(double *)v <= now) {
            due_t d;
            g_strlcpy(d.key, k, sizeof(d.key));
            d.deadline = *(double *)v;
            g_array_append_val(due, d);
        }
    }
    g_array_sort(due, due_cmp);
    ck_assert_uint_eq(rows->len - from, due->len);
    double last = 0;
    for (guint i = from; i < rows->len; i++) {
        const conn_record_t *r = &g_array_index(rows, conn_record_t, i);
        char key[160];
        canon_key(r->orig_h, r->orig_p, r->resp_h, r->resp_p, r->ip_proto, key);
        double *d = g_hash_table_lookup(model, key);
        ck_assert_msg(d != NULL && *d <= now, "row %s logged before it was due", key);
        ck_assert_msg(*d >= last, "row %s (due %.6f) logged after one due %.6f", key, *d, last);
        last = *d;
        g_hash_table_remove(model, key);
    }
    g_array_free(due, TRUE);
}

/* Connections from flow records expire flow_linger or flow_active_timeout
 * after their newest record (its end or its arrival, whichever is later):
 * in order, never early, never late.  The records are mostly in time order
 * (the expiry queues' case) with some whose end lies ahead of the arrival
 * clock or whose arrival steps back (the timer heap's case), so the two
 * kinds of timer interleave.  A model keeps every connection's deadline. */
START_TEST(expiry_follows_deadlines)
{
    teardown();
    setup();
    conn_builder_free(cb);
    cfg.flow_linger = 5;
    cfg.flow_active_timeout = 17;
    cb = conn_builder_new(&cfg, &uids, &weirds, collect, rows);

    GHashTable *model = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    GHashTable *touched = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    double t = 1000.0;
    unsigned heap_cases = 0;
    for (unsigned i = 0; i < 6000; i++) {
        t += (double)(rnd(&x) % 300) / 1000.0;
        flow_obs_t f = random_flow(&x, 40, t);
        if (f.proto == 1)
            f.proto = 17;
        uint64_t r = rnd(&x);
        f.received = t;
        f.start = t - 3.0 - (double)(r % 1000) / 1000.0;
        f.end = t - (double)((r >> 10) % 3000) / 1000.0;
        if ((r >> 20) % 10 == 0) {
            f.end = t + (double)((r >> 24) % 4000) / 1000.0; /* exporter clock ahead */
            heap_cases++;
        } else if ((r >> 20) % 10 == 1) {
            f.received = t - (double)((r >> 24) % 2000) / 1000.0; /* stepped back */
            heap_cases++;
        }
        char key[160];
        canon_key(f.src, f.sport, f.dst, f.dport, f.proto, key);

        /* flow_apply first runs the timers due at the record's end */
        guint from = rows->len;
        conn_builder_flow(cb, &f);
        expect_expired(model, from, f.end);
        double *tp = g_hash_table_lookup(model, key) ? g_hash_table_lookup(touched, key) : NULL;
        double newest = MAX(f.end, f.received);
        if (tp == NULL || newest > *tp) {
            double *nt = g_new(double, 1);
            *nt = newest;
            g_hash_table_insert(touched, g_strdup(key), nt);
            tp = nt;
        }
        double *d = g_new(double, 1);
        *d = *tp + (f.end_reason == FLOW_END_ACTIVE ? cfg.flow_active_timeout : cfg.flow_linger);
        g_hash_table_insert(model, g_strdup(key), d);

        if (i % 7 == 0) {
            from = rows->len;
            conn_builder_advance(cb, t);
            expect_expired(model, from, t);
        }
    }
    ck_assert_uint_gt(heap_cases, 500);
    ck_assert_uint_gt(rows->len, 1000);
    /* the rest, far ahead */
    guint from = rows->len;
    conn_builder_advance(cb, t + 100);
    expect_expired(model, from, t + 100);
    ck_assert_uint_eq(g_hash_table_size(model), 0);
    g_hash_table_destroy(model);
    g_hash_table_destroy(touched);
}
END_TEST

static const conn_record_t *
only_row(void)
{
    conn_builder_flush(cb);
    ck_assert_uint_eq(rows->len, 1);
    return &g_array_index(rows, conn_record_t, 0);
}

START_TEST(biflow_full_session_is_sf)
{
    flow_obs_t f = flow("10.0.0.1", 40000, "192.0.2.1", 80, 6, 100.0, 101.5, 6, 560, F_S | F_A | F_P | F_F);
    f.has_reverse = true;
    f.rev_pkts = 5;
    f.rev_octets = 2700;
    f.rev_flags = F_S | F_A | F_P | F_F;
    f.has_initial_flags = true;
    f.initial_flags = F_S;
    f.rev_initial_flags = F_S | F_A;
    conn_builder_flow(cb, &f);
    const conn_record_t *r = only_row();
    ck_assert_str_eq(conn_state_name(r->conn_state), "SF");
    ck_assert_str_eq(r->history, "ShADadFf");
    ck_assert_uint_eq(r->orig_pkts, 6);
    ck_assert_uint_eq(r->orig_ip_bytes, 560);
    ck_assert_uint_eq(r->resp_pkts, 5);
    ck_assert_uint_eq(r->resp_ip_bytes, 2700);
    /* estimate: IP bytes minus 40 bytes of headers a segment, minus a SYN's options */
    ck_assert_uint_eq(r->orig_bytes, 560 - 6 * 40 - 20);
    ck_assert_uint_eq(r->orig_p, 40000);
    ck_assert(r->has_duration);
    ck_assert_double_eq_tol(r->duration, 1.5, 1e-9);
    ck_assert_double_eq_tol(r->ts, 100.0, 1e-9);
}
END_TEST

START_TEST(uniflows_stitch_in_either_order)
{
    /* the responder's record arrives first; its start is later */
    flow_obs_t b = flow("192.0.2.1", 80, "10.0.0.1", 40000, 6, 100.2, 101.4, 5, 2700,
                        F_S | F_A | F_P | F_F);
    flow_obs_t a = flow("10.0.0.1", 40000, "192.0.2.1", 80, 6, 100.0, 101.5, 6, 560,
                        F_S | F_A | F_P | F_F);
    conn_builder_flow(cb, &b);
    conn_builder_flow(cb, &a);
    const conn_record_t *r = only_row();
    ck_assert_uint_eq(r->orig_p, 40000);
    ck_assert_str_eq(conn_state_name(r->conn_state), "SF");
    ck_assert_str_eq(r->history, "ShADadFf");
    ck_assert_uint_eq(r->orig_pkts, 6);
    ck_assert_uint_eq(r->resp_pkts, 5);
    ck_assert_double_eq_tol(r->duration, 1.5, 1e-9);
}
END_TEST

START_TEST(syn_decides_orig_over_start_time)
{
    /* clocks say the server started first, initial flags say otherwise */
    flow_obs_t a = flow("10.0.0.1", 40000, "192.0.2.1", 80, 6, 100.3, 101.5, 6, 560,
                        F_S | F_A | F_F);
    a.has_initial_flags = true;
    a.initial_flags = F_S;
    flow_obs_t b = flow("192.0.2.1", 80, "10.0.0.1", 40000, 6, 100.0, 101.4, 5, 2700,
                        F_S | F_A | F_F);
    b.has_initial_flags = true;
    b.initial_flags = F_S | F_A;
    conn_builder_flow(cb, &b);
    conn_builder_flow(cb, &a);
    const conn_record_t *r = only_row();
    ck_assert_uint_eq(r->orig_p, 40000);
    ck_assert_str_eq(r->history, "^ShADadFf");
}
END_TEST

START_TEST(reject_and_attempt)
{
    flow_obs_t a = flow("10.0.0.1", 40001, "192.0.2.1", 81, 6, 10.0, 10.0, 1, 60, F_S);
    flow_obs_t b = flow("192.0.2.1", 81, "10.0.0.1", 40001, 6, 10.01, 10.01, 1, 40, F_R | F_A);
    flow_obs_t s = flow("10.0.0.1", 40002, "192.0.2.1", 82, 6, 11.0, 14.0, 3, 180, F_S);
    conn_builder_flow(cb, &a);
    conn_builder_flow(cb, &b);
    conn_builder_flow(cb, &s);
    conn_builder_flush(cb);
    ck_assert_uint_eq(rows->len, 2);
    for (guint i = 0; i < rows->len; i++) {
        const conn_record_t *r = &g_array_index(rows, conn_record_t, i);
        if (r->resp_p == 81) {
            ck_assert_str_eq(conn_state_name(r->conn_state), "REJ");
            ck_assert_str_eq(r->history, "Sar");
        } else {
            ck_assert_str_eq(conn_state_name(r->conn_state), "S0");
            ck_assert_str_eq(r->history, "S");
            ck_assert_uint_eq(r->orig_pkts, 3);
        }
    }
}
END_TEST

START_TEST(states_from_flags)
{
    struct {
        uint8_t fo, fr;
        const char *state;
    } cases[] = {
        {F_S | F_A, F_S | F_A, "S1"},
        {F_S | F_A | F_F, F_S | F_A, "S2"},
        {F_S | F_A, F_S | F_A | F_F, "S3"},
        {F_S | F_A | F_R, F_S | F_A, "RSTO"},
        {F_S | F_A, F_S | F_A | F_R, "RSTR"},
        {F_S | F_R, 0, "RSTOS0"},
        {F_S | F_F, 0, "SH"},
        {F_A | F_P, F_A | F_P, "OTH"},
        {F_A, F_A | F_R, "RSTRH"},
        {F_A | F_P, F_A | F_F, "SHR"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char dst[32];
        g_snprintf(dst, sizeof(dst), "192.0.2.%zu", i + 10);
        flow_obs_t a = flow("10.0.0.1", 40000, dst, 80, 6, 10.0 + i, 11.0 + i, 3, 400, cases[i].fo);
        conn_builder_flow(cb, &a);
        if (cases[i].fr) {
            flow_obs_t b = flow(dst, 80, "10.0.0.1", 40000, 6, 10.1 + i, 11.0 + i, 3, 400,
                                cases[i].fr);
            conn_builder_flow(cb, &b);
        }
    }
    conn_builder_flush(cb);
    ck_assert_uint_eq(rows->len, G_N_ELEMENTS(cases));
    for (guint i = 0; i < rows->len; i++) {
        const conn_record_t *r = &g_array_index(rows, conn_record_t, i);
        size_t idx = (size_t)(r->resp_h[15] - 10);
        ck_assert_msg(strcmp(conn_state_name(r->conn_state), cases[idx].state) == 0,
                      "case %zu: got %s want %s (history %s)", idx,
                      conn_state_name(r->conn_state), cases[idx].state, r->history);
    }
}
END_TEST

START_TEST(active_timeout_pieces_merge)
{
    flow_obs_t p1 = flow("10.0.0.1", 40000, "192.0.2.1", 443, 6, 1000.0, 2800.0, 1000, 100000,
                         F_S | F_A | F_P);
    p1.end_reason = FLOW_END_ACTIVE;
    flow_obs_t p2 = flow("10.0.0.1", 40000, "192.0.2.1", 443, 6, 2800.5, 3000.0, 500, 50000,
                         F_A | F_P | F_F);
    conn_builder_flow(cb, &p1);
    /* within flow_active_timeout: still the same connection */
    conn_builder_flow(cb, &p2);
    const conn_record_t *r = only_row();
    ck_assert_uint_eq(r->orig_pkts, 1500);
    ck_assert_uint_eq(r->orig_ip_bytes, 150000);
    ck_assert_double_eq_tol(r->duration, 2000.0, 1e-9);
}
END_TEST

START_TEST(linger_expires_finished_flows)
{
    flow_obs_t a = flow("10.0.0.1", 5000, "192.0.2.53", 53, 17, 10.0, 10.1, 1, 60, 0);
    flow_obs_t b = flow("192.0.2.53", 53, "10.0.0.1", 5000, 17, 10.05, 10.1, 1, 120, 0);
    conn_builder_flow(cb, &a);
    conn_builder_flow(cb, &b);
    conn_builder_advance(cb, 10.1 + cfg.flow_linger - 1);
    ck_assert_uint_eq(rows->len, 0);
    conn_builder_advance(cb, 10.1 + cfg.flow_linger + 0.5);
    ck_assert_uint_eq(rows->len, 1);
    const conn_record_t *r = &g_array_index(rows, conn_record_t, 0);
    ck_assert_str_eq(conn_state_name(r->conn_state), "SF");
    ck_assert_str_eq(r->history, "Dd");
    ck_assert_uint_eq(r->orig_bytes, 60 - 28);
    ck_assert_uint_eq(r->resp_bytes, 120 - 28);
}
END_TEST

START_TEST(exporters_are_kept_apart)
{
    flow_obs_t a = flow("10.0.0.1", 5000, "192.0.2.9", 9999, 17, 10.0, 10.1, 1, 60, 0);
    conn_builder_flow(cb, &a);
    a.exporter_id = 3;
    conn_builder_flow(cb, &a);
    conn_builder_flush(cb);
    ck_assert_uint_eq(rows->len, 2);
}
END_TEST

START_TEST(icmp_echo_from_type_code)
{
    flow_obs_t a = flow("10.0.0.1", 0, "192.0.2.1", 8 << 8, 1, 10.0, 12.0, 3, 3 * 84, 0);
    flow_obs_t b = flow("192.0.2.1", 0, "10.0.0.1", 0 << 8, 1, 10.01, 12.01, 3, 3 * 84, 0);
    conn_builder_flow(cb, &a);
    conn_builder_flow(cb, &b);
    const conn_record_t *r = only_row();
    ck_assert_int_eq(r->proto, CONN_PROTO_ICMP);
    ck_assert_uint_eq(r->orig_p, 8);
    ck_assert_uint_eq(r->resp_p, 0);
    ck_assert_uint_eq(r->orig_bytes, 3 * 56);
    ck_assert_str_eq(conn_state_name(r->conn_state), "OTH");
}
END_TEST

START_TEST(sampling_scales_only_when_asked)
{
    flow_obs_t a = flow("10.0.0.1", 5000, "192.0.2.9", 9999, 17, 10.0, 10.1, 2, 200, 0);
    a.sampling_interval = 100;
    conn_builder_flow(cb, &a);
    conn_builder_flush(cb);
    ck_assert_uint_eq(g_array_index(rows, conn_record_t, 0).orig_pkts, 2);
    teardown();
    setup();
    cfg.flow_scale_sampled = true;
    conn_builder_free(cb);
    cb = conn_builder_new(&cfg, &uids, &weirds, collect, rows);
    conn_builder_flow(cb, &a);
    conn_builder_flush(cb);
    ck_assert_uint_eq(g_array_index(rows, conn_record_t, 0).orig_pkts, 200);
}
END_TEST

static Suite *
flowconn_suite(void)
{
    Suite *s = suite_create("flowconn");
    TCase *tc = tcase_create("flows");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, biflow_full_session_is_sf);
    tcase_add_test(tc, uniflows_stitch_in_either_order);
    tcase_add_test(tc, syn_decides_orig_over_start_time);
    tcase_add_test(tc, reject_and_attempt);
    tcase_add_test(tc, states_from_flags);
    tcase_add_test(tc, active_timeout_pieces_merge);
    tcase_add_test(tc, linger_expires_finished_flows);
    tcase_add_test(tc, exporters_are_kept_apart);
    tcase_add_test(tc, icmp_echo_from_type_code);
    tcase_add_test(tc, sampling_scales_only_when_asked);
    tcase_add_test(tc, batched_records_equal_one_by_one);
    tcase_add_test(tc, table_finds_survivors_after_deletions);
    tcase_add_test(tc, expiry_follows_deadlines);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(flowconn_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
