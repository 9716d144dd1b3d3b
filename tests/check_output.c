/*
 * Tests for output/writer: the TSV header and #close trailer, rows with every
 * field set and with unset fields (checked against rows of Zeek's own
 * baselines), Zeek's string escaping, the JSON variant and its number
 * formatting, and the file handling (directory creation, I/O errors).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conn/record.h"
#include "core/netset.h"
#include "output/writer.h"

#define FIXED_NOW ((time_t)1300475167) /* 2011-03-18 19:06:07 UTC */

static time_t
fixed_clock(void)
{
    return FIXED_NOW;
}

static void
setup(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    writer_set_clock(fixed_clock);
}

static void
teardown(void)
{
    writer_set_clock(NULL);
}

static void
set_addr(uint8_t out[16], const char *s)
{
    ck_assert_msg(addr_parse(s, out), "bad test address %s", s);
}

/* The dns-over-vxlan row of core.tunnels.vxlan, every field set. */
static void
record_full(conn_record_t *r)
{
    memset(r, 0, sizeof(*r));
    r->ts = 1300475167.096535;
    g_strlcpy(r->uid, "C4J4Th3PJpwUYZZ6gc", sizeof(r->uid));
    set_addr(r->orig_h, "172.16.11.201");
    r->orig_p = 36872;
    set_addr(r->resp_h, "1.1.1.1");
    r->resp_p = 53;
    r->proto = CONN_PROTO_UDP;
    r->ip_proto = 17;
    g_strlcpy(r->service, "dns", sizeof(r->service));
    r->has_duration = true;
    r->duration = 2.000009;
    r->orig_bytes = 54;
    r->resp_bytes = 74;
    r->conn_state = CONN_STATE_SF;
    r->local_orig = TRI_T;
    r->local_resp = TRI_F;
    r->missed_bytes = 0;
    g_strlcpy(r->history, "Dd", sizeof(r->history));
    r->orig_pkts = 1;
    r->orig_ip_bytes = 82;
    r->resp_pkts = 1;
    r->resp_ip_bytes = 102;
    r->n_parents = 1;
    g_strlcpy(r->parents[0], "ClEkJM2Vm5giqnMf4h", CONN_UID_LEN);
}

static const char full_tsv[] =
    "1300475167.096535\tC4J4Th3PJpwUYZZ6gc\t172.16.11.201\t36872\t1.1.1.1\t53\tudp\tdns\t"
    "2.000009\t54\t74\tSF\tT\tF\t0\tDd\t1\t82\t1\t102\tClEkJM2Vm5giqnMf4h\t17";

static const char full_json[] =
    "{\"ts\":1300475167.096535,\"uid\":\"C4J4Th3PJpwUYZZ6gc\",\"id.orig_h\":\"172.16.11.201\","
    "\"id.orig_p\":36872,\"id.resp_h\":\"1.1.1.1\",\"id.resp_p\":53,\"proto\":\"udp\","
    "\"service\":\"dns\",\"duration\":2.000009,\"orig_bytes\":54,\"resp_bytes\":74,"
    "\"conn_state\":\"SF\",\"local_orig\":true,\"local_resp\":false,\"missed_bytes\":0,"
    "\"history\":\"Dd\",\"orig_pkts\":1,\"orig_ip_bytes\":82,\"resp_pkts\":1,"
    "\"resp_ip_bytes\":102,\"tunnel_parents\":[\"ClEkJM2Vm5giqnMf4h\"],\"ip_proto\":17}";

/* The bad-checksum SYN of core.checksums_ignore_nets.conn-failed: no
 * duration, no service, no parents. */
static void
record_unset(conn_record_t *r)
{
    memset(r, 0, sizeof(*r));
    r->ts = 1300475167.5;
    g_strlcpy(r->uid, "CHhAvVGS1DHFjwGM9", sizeof(r->uid));
    set_addr(r->orig_h, "192.168.1.28");
    r->orig_p = 53246;
    set_addr(r->resp_h, "35.221.46.9");
    r->resp_p = 80;
    r->proto = CONN_PROTO_TCP;
    r->ip_proto = 6;
    r->has_duration = false;
    r->duration = 123.0; /* ignored while has_duration is false */
    r->orig_bytes = 7;
    r->conn_state = CONN_STATE_OTH;
    r->local_orig = TRI_T;
    r->local_resp = TRI_F;
    g_strlcpy(r->history, "C", sizeof(r->history));
}

static char *
format_tsv(const conn_record_t *r)
{
    GString *s = g_string_new(NULL);
    writer_format_tsv(r, s);
    return g_string_free(s, FALSE);
}

static char *
format_json(const conn_record_t *r)
{
    GString *s = g_string_new(NULL);
    writer_format_json(r, s);
    return g_string_free(s, FALSE);
}

static const char header_golden[] =
    "#separator \\x09\n"
    "#set_separator\t,\n"
    "#empty_field\t(empty)\n"
    "#unset_field\t-\n"
    "#path\tconn\n"
    "#open\t2011-03-18-19-06-07\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\t"
    "orig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\t"
    "orig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\tip_proto\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\t"
    "string\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\tcount\n";

START_TEST(test_header_golden)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    conn_record_t r;

    ck_assert_ptr_nonnull(fp);
    writer_t *w = writer_open_stream(fp, LOG_FORMAT_TSV);
    ck_assert_str_eq(writer_path(w), "");
    record_full(&r);
    ck_assert(writer_write(w, &r));
    ck_assert_uint_eq(writer_rows(w), 1);
    ck_assert(writer_close(w, NULL));
    fclose(fp);

    g_autofree char *want =
        g_strconcat(header_golden, full_tsv, "\n#close\t2011-03-18-19-06-07\n", NULL);
    ck_assert_str_eq(buf, want);
    free(buf);
}
END_TEST

START_TEST(test_header_matches_baseline)
{
    /* Zeek's own header lines, from a baseline with exactly our columns. */
    const char *path =
        "/work/shared/corpus/zeek/baselines/core.checksums_ignore_nets.conn-failed.conn.log";
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        fprintf(stderr, "check_output: %s absent, baseline header test skipped\n", path);
        return;
    }
    g_auto(GStrv) ours = g_strsplit(header_golden, "\n", -1);
    for (char **l = ours; *l && **l; l++) {
        if (g_str_has_prefix(*l, "#open"))
            continue; /* btest masks the time */
        g_autofree char *line = g_strconcat("\n", *l, "\n", NULL);
        ck_assert_msg(strstr(text, line) != NULL, "baseline lacks header line %s", *l);
    }
}
END_TEST

START_TEST(test_row_full)
{
    conn_record_t r;
    record_full(&r);

    g_autofree char *tsv = format_tsv(&r);
    ck_assert_str_eq(tsv, full_tsv);

    /* Two parents are comma-joined (core.tunnels.* baselines). */
    r.n_parents = 2;
    g_strlcpy(r.parents[0], "CHhAvVGS1DHFjwGM9", CONN_UID_LEN);
    g_strlcpy(r.parents[1], "CUM0KZ3MLUfNB0cl11", CONN_UID_LEN);
    g_autofree char *tsv2 = format_tsv(&r);
    ck_assert_ptr_nonnull(strstr(tsv2, "\tCHhAvVGS1DHFjwGM9,CUM0KZ3MLUfNB0cl11\t17"));

    /* A count past the array is clamped, not read out of bounds. */
    r.n_parents = 99;
    for (int i = 0; i < CONN_MAX_PARENTS; i++)
        g_strlcpy(r.parents[i], "Cx", CONN_UID_LEN);
    g_autofree char *tsv3 = format_tsv(&r);
    ck_assert_ptr_nonnull(strstr(tsv3, "\tCx,Cx,Cx,Cx\t17"));
}
END_TEST

START_TEST(test_row_unset)
{
    conn_record_t r;
    record_unset(&r);

    g_autofree char *tsv = format_tsv(&r);
    ck_assert_str_eq(tsv, "1300475167.500000\tCHhAvVGS1DHFjwGM9\t192.168.1.28\t53246\t"
                          "35.221.46.9\t80\ttcp\t-\t-\t-\t-\tOTH\tT\tF\t0\tC\t0\t0\t0\t0\t-\t6");

    /* local_* unset when no local nets are configured; empty history. */
    r.local_orig = TRI_UNSET;
    r.local_resp = TRI_UNSET;
    r.history[0] = '\0';
    r.proto = CONN_PROTO_UNKNOWN;
    r.ip_proto = 47;
    g_autofree char *tsv2 = format_tsv(&r);
    ck_assert_str_eq(tsv2, "1300475167.500000\tCHhAvVGS1DHFjwGM9\t192.168.1.28\t53246\t"
                           "35.221.46.9\t80\tunknown_transport\t-\t-\t-\t-\tOTH\t-\t-\t0\t-\t"
                           "0\t0\t0\t0\t-\t47");
}
END_TEST

START_TEST(test_row_ipv6)
{
    /* First row of core.icmp.icmp6-neighbor-solicit-style baselines. */
    conn_record_t r;
    memset(&r, 0, sizeof(r));
    r.ts = 0.0;
    g_strlcpy(r.uid, "CHhAvVGS1DHFjwGM9", sizeof(r.uid));
    set_addr(r.orig_h, "::");
    r.orig_p = 135;
    set_addr(r.resp_h, "ff02:0:0:0:0:1:ff00:3");
    r.resp_p = 136;
    r.proto = CONN_PROTO_ICMP;
    r.ip_proto = 58;
    r.has_duration = true;
    r.duration = 0.008;
    r.orig_bytes = 48;
    r.conn_state = CONN_STATE_OTH;
    r.local_orig = TRI_T;
    r.local_resp = TRI_F;
    r.orig_pkts = 2;
    r.orig_ip_bytes = 144;

    g_autofree char *tsv = format_tsv(&r);
    ck_assert_str_eq(tsv, "0.000000\tCHhAvVGS1DHFjwGM9\t::\t135\tff02::1:ff00:3\t136\ticmp\t-\t"
                          "0.008000\t48\t0\tOTH\tT\tF\t0\t-\t2\t144\t0\t0\t-\t58");

    set_addr(r.orig_h, "2001:db8:0:0:1:0:0:1");
    g_autofree char *json = format_json(&r);
    ck_assert_ptr_nonnull(strstr(json, "\"id.orig_h\":\"2001:db8::1:0:0:1\","));
    ck_assert_ptr_nonnull(strstr(json, "\"id.resp_h\":\"ff02::1:ff00:3\","));
    ck_assert_ptr_nonnull(strstr(json, "{\"ts\":0.0,"));
    ck_assert_ptr_nonnull(strstr(json, "\"duration\":0.008,"));
}
END_TEST

/* TSV rendering of @p service in the service column. */
static char *
tsv_service(const char *service)
{
    conn_record_t r;
    record_full(&r);
    g_strlcpy(r.service, service, sizeof(r.service));
    g_autofree char *row = format_tsv(&r);
    g_auto(GStrv) cols = g_strsplit(row, "\t", -1);
    ck_assert_uint_eq(g_strv_length(cols), 22);
    return g_strdup(cols[7]);
}

START_TEST(test_tsv_escaping)
{
    struct {
        const char *in, *want;
    } cases[] = {
        {"-", "\\x2d"},                  /* would read as unset */
        {"(empty)", "\\x28empty)"},      /* would read as empty */
        {"--", "--"},                    /* only the exact values */
        {"http,ssl", "http,ssl"},        /* a comma is fine outside sets */
        {"a\tb", "a\\x09b"},             /* the field separator */
        {"a\\b", "a\\x5cb"},             /* backslash, so escapes stay unambiguous */
        {"x\n\r\x01\x7f", "x\\x0a\\x0d\\x01\\x7f"},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x84", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x84"},
        /* One bad byte escapes every non-ASCII byte of its run... */
        {"\xc3\xa9\xff", "\\xc3\\xa9\\xff"},
        {"\xc3\xa9\x01", "\\xc3\\xa9\\x01"},
        /* ...but runs end at escaped separators and backslashes. */
        {"\xc3\xa9\\\xff", "\xc3\xa9\\x5c\\xff"},
        {"\xc0\xaf", "\\xc0\\xaf"},       /* overlong '/' */
        {"\xed\xa0\x80", "\\xed\\xa0\\x80"}, /* surrogate */
        {"\xee\x80\x80", "\\xee\\x80\\x80"}, /* private use U+E000 */
        {"\xc2\x85", "\\xc2\\x85"},       /* C1 control U+0085 */
        {"\xe2\x82", "\\xe2\\x82"},       /* cut short */
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = tsv_service(cases[i].in);
        ck_assert_msg(strcmp(got, cases[i].want) == 0, "case %zu: got \"%s\" want \"%s\"", i,
                      got, cases[i].want);
    }
}
END_TEST

START_TEST(test_tsv_set_escaping)
{
    conn_record_t r;
    record_full(&r);
    r.n_parents = 3;
    g_strlcpy(r.parents[0], "a,b", CONN_UID_LEN);
    g_strlcpy(r.parents[1], "", CONN_UID_LEN);
    g_strlcpy(r.parents[2], "-", CONN_UID_LEN);

    g_autofree char *tsv = format_tsv(&r);
    ck_assert_ptr_nonnull(strstr(tsv, "\ta\\x2cb,(empty),\\x2d\t17"));

    /* An unterminated fixed-size field is read only up to its size. */
    memset(r.history, 'S', sizeof(r.history));
    g_autofree char *tsv2 = format_tsv(&r);
    g_autofree char *hist = g_strnfill(sizeof(r.history), 'S');
    g_autofree char *want = g_strconcat("\t", hist, "\t", NULL);
    ck_assert_ptr_nonnull(strstr(tsv2, want));
}
END_TEST

START_TEST(test_json_full)
{
    conn_record_t r;
    record_full(&r);
    g_autofree char *json = format_json(&r);
    ck_assert_str_eq(json, full_json);

    /* Unset fields are left out altogether. */
    record_unset(&r);
    r.local_orig = TRI_UNSET;
    r.local_resp = TRI_UNSET;
    r.history[0] = '\0';
    g_autofree char *json2 = format_json(&r);
    ck_assert_str_eq(json2, "{\"ts\":1300475167.5,\"uid\":\"CHhAvVGS1DHFjwGM9\","
                            "\"id.orig_h\":\"192.168.1.28\",\"id.orig_p\":53246,"
                            "\"id.resp_h\":\"35.221.46.9\",\"id.resp_p\":80,\"proto\":\"tcp\","
                            "\"conn_state\":\"OTH\",\"missed_bytes\":0,\"orig_pkts\":0,"
                            "\"orig_ip_bytes\":0,\"resp_pkts\":0,\"resp_ip_bytes\":0,"
                            "\"ip_proto\":6}");
}
END_TEST

/* JSON rendering of @p service (the value with its quotes). */
static char *
json_service(const char *service)
{
    conn_record_t r;
    record_full(&r);
    g_strlcpy(r.service, service, sizeof(r.service));
    g_autofree char *row = format_json(&r);
    const char *start = strstr(row, "\"service\":");
    const char *end = strstr(row, ",\"duration\":");
    ck_assert(start && end && end > start);
    start += strlen("\"service\":");
    return g_strndup(start, (gsize)(end - start));
}

START_TEST(test_json_escaping)
{
    struct {
        const char *in, *want;
    } cases[] = {
        {"dns", "\"dns\""},
        {"-", "\"-\""},
        {"a\"b\\c/d", "\"a\\\"b\\\\c/d\""},
        {"\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\""},
        {"x\x01y\x7f", "\"x\\\\x01y\\\\x7f\""},
        {"caf\xc3\xa9", "\"caf\xc3\xa9\""},
        {"\xc3\xa9\xff", "\"\\\\xc3\\\\xa9\\\\xff\""},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = json_service(cases[i].in);
        ck_assert_msg(strcmp(got, cases[i].want) == 0, "case %zu: got %s want %s", i, got,
                      cases[i].want);
    }
}
END_TEST

/* Render @p d as the duration in both formats. */
static void
assert_doubles(double d, const char *tsv_want, const char *json_want)
{
    conn_record_t r;
    record_full(&r);
    r.duration = d;

    g_autofree char *row = format_tsv(&r);
    g_auto(GStrv) cols = g_strsplit(row, "\t", -1);
    ck_assert_msg(strcmp(cols[8], tsv_want) == 0, "TSV %.17g: got %s want %s", d, cols[8],
                  tsv_want);

    g_autofree char *json = format_json(&r);
    g_autofree char *key = g_strconcat("\"duration\":", json_want, ",", NULL);
    ck_assert_msg(strstr(json, key) != NULL, "JSON %.17g: want %s in %s", d, key, json);
}

START_TEST(test_doubles)
{
    assert_doubles(0.1, "0.100000", "0.1");
    assert_doubles(100.0, "100.000000", "100.0");
    assert_doubles(1e-06, "0.000001", "0.000001");
    assert_doubles(3.004616, "3.004616", "3.004616");
    assert_doubles(1300475167.096535, "1300475167.096535", "1300475167.096535");
    assert_doubles(0.0, "0.000000", "0.0");
    assert_doubles(1.0 / 3.0, "0.333333", "0.3333333333333333");
    assert_doubles(0.9999996, "1.000000", "0.9999996"); /* carry into the integer part */
    assert_doubles(-1.5, "-1.500000", "-1.5");
    /* Exact ties after the * 1e6 follow modp_dtoa, not printf("%.6f") (which
     * gives 0.000003, 0.000003 and 0.000000): up when odd or zero. */
    assert_doubles(2.5e-6, "0.000002", "0.0000025");
    assert_doubles(3.5e-6, "0.000004", "0.0000035");
    assert_doubles(5e-7, "0.000001", "5e-7");
    assert_doubles(1e-7, "0.000000", "1e-7");
    assert_doubles(1.5e-7, "0.000000", "1.5e-7");
    assert_doubles(123456.0, "123456.000000", "123456.0");
    /* Past 2^31-1 Zeek's modp_dtoa falls back to printf("%e"). */
    assert_doubles(2147483648.5, "2.147484e+09", "2147483648.5");
    assert_doubles(1e20, "1.000000e+20", "100000000000000000000.0");
    assert_doubles(1e21, "1.000000e+21", "1e21");
    assert_doubles(2.5e300, "2.500000e+300", "2.5e300");
    assert_doubles(5e-324, "0.000000", "5e-324");
    assert_doubles(NAN, "nan", "null");
    assert_doubles(INFINITY, "inf", "null");
}
END_TEST

/* Significant digits of a JSON number ("1300475167.5" -> "13004751675",
 * "100.0" -> "1", "1.5e-7" -> "15") into @p d. */
static void
significant_digits(const char *num, char d[64])
{
    int n = 0;

    for (const char *p = num; *p && *p != 'e' && n < 63; p++)
        if (*p >= '0' && *p <= '9' && (n > 0 || *p != '0'))
            d[n++] = *p;
    while (n > 0 && d[n - 1] == '0')
        n--;
    d[n] = '\0';
}

/* The reference: fewest significant digits that read back as @p v, by
 * trying every count with printf and strtod, and those digits as printf
 * rounds them (no trailing zeros) into @p d. */
static void
reference_digits(double v, char d[64])
{
    char buf[64];
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof(buf), "%.*e", p - 1, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    significant_digits(buf, d);
}

/* A double of class @p i % 8 for the JSON tests. */
static double
json_test_double(GRand *rnd, int i)
{
    switch (i % 8) {
    case 0: /* a microsecond timestamp */
        return (double)g_rand_int_range(rnd, 1000000000, 2000000000) +
               g_rand_int_range(rnd, 0, 1000000) / 1e6;
    case 1: { /* a duration: the difference of two of them */
        double a = (double)g_rand_int_range(rnd, 1000000000, 2000000000) +
                   g_rand_int_range(rnd, 0, 1000000) / 1e6;
        return a + g_rand_int_range(rnd, 1, 100000000) / 1e6 - a;
    }
    case 2: { /* a flow duration: millisecond times */
        double a = g_rand_int_range(rnd, 1000000000, 2000000000) * 1e3 +
                   g_rand_int_range(rnd, 0, 1000);
        return (a + g_rand_int_range(rnd, 1, 10000000)) / 1e3 - a / 1e3;
    }
    case 3: /* spread over magnitudes */
        return g_rand_double(rnd) * pow(10.0, g_rand_int_range(rnd, -12, 20));
    case 4: /* few significant bits: exact decimals, rounding ties */
        return ldexp((double)g_rand_int_range(rnd, 1, 1 << g_rand_int_range(rnd, 1, 31)),
                     g_rand_int_range(rnd, -80, 10));
    case 5: /* powers of two: the rounding interval is lopsided */
        return ldexp(1.0, g_rand_int_range(rnd, -90, 56));
    case 6: { /* next to a power of ten */
        double p = pow(10.0, g_rand_int_range(rnd, -12, 18));
        int steps = g_rand_int_range(rnd, -3, 4);
        for (; steps < 0; steps++)
            p = nextafter(p, 0);
        for (; steps > 0; steps--)
            p = nextafter(p, INFINITY);
        return p;
    }
    default: /* a short decimal */
        return g_rand_int_range(rnd, 1, 1000000000) / pow(10.0, g_rand_int_range(rnd, 0, 22));
    }
}

START_TEST(test_json_doubles_shortest)
{
    /* Every double reads back exactly, with the fewest digits and those
     * digits as printf rounds them: the answer of trying every count
     * with printf and strtod.  The writer gets there by a faster road
     * (microsecond values, then 128-bit integer arithmetic, printf only
     * where the integers would not fit), so this compares the two on
     * 200,000 doubles of every kind it takes. */
    GRand *rnd = g_rand_new_with_seed(4242);
    conn_record_t r;
    record_full(&r);

    for (int i = 0; i < 200000; i++) {
        double v = json_test_double(rnd, i);
        r.duration = v;
        g_autofree char *json = format_json(&r);
        const char *p = strstr(json, "\"duration\":");
        ck_assert_ptr_nonnull(p);
        p += strlen("\"duration\":");
        g_autofree char *num = g_strndup(p, strcspn(p, ","));
        ck_assert_msg(strtod(num, NULL) == v, "%s does not read back as %.17g", num, v);
        if (v != 0) {
            char got[64], want[64];
            significant_digits(num, got);
            reference_digits(v, want);
            ck_assert_msg(strcmp(got, want) == 0, "%s for %.17g (%a): want digits %s", num, v, v,
                          want);
        }
    }
    g_rand_free(rnd);
}
END_TEST

/* Values Zeek itself printed: the JSON logs of tm1t.pcap in Zeek's manual
 * ("Zeek Log Formats and Inspection").  The HTTP connection's duration is
 * the difference of two microsecond timestamps; Zeek wrote the closest
 * 17-digit string, 0.25411510467529297, where Debian's rapidjson 1.1.0
 * Grisu2 writes 0.25411510467529299, so Zeek's bundled rapidjson is not
 * that one, and we follow what Zeek printed. */
START_TEST(test_json_zeek_manual_values)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {1591367999.305988, "1591367999.305988"},
        {1591367999.604, "1591367999.604"},
        {3600.0, "3600.0"},
        {0.0, "0.0"},
    };
    conn_record_t r;
    record_full(&r);

    r.duration = 1591367999.684281 - 1591367999.430166;
    g_autofree char *http = format_json(&r);
    ck_assert_msg(strstr(http, "\"duration\":0.25411510467529297,") != NULL, "%s", http);
    r.duration = 1591367999.372840 - 1591367999.305988;
    g_autofree char *dns = format_json(&r);
    ck_assert_msg(strstr(dns, "\"duration\":0.06685185432434082,") != NULL, "%s", dns);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        r.ts = cases[i].v;
        g_autofree char *json = format_json(&r);
        g_autofree char *want = g_strdup_printf("{\"ts\":%s,", cases[i].want);
        ck_assert_msg(g_str_has_prefix(json, want), "%s: want %s", json, want);
    }
}
END_TEST

START_TEST(test_names)
{
    static const char *const states[] = {"S0", "S1",   "SF",     "REJ",   "S2", "S3", "RSTO",
                                         "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"};
    for (int i = 0; i < CONN_STATE_COUNT; i++)
        ck_assert_str_eq(conn_state_name((conn_state_t)i), states[i]);
    ck_assert_str_eq(conn_state_name(CONN_STATE_COUNT), "OTH");
    ck_assert_str_eq(conn_state_name((conn_state_t)-1), "OTH");
    ck_assert_str_eq(conn_proto_name(CONN_PROTO_TCP), "tcp");
    ck_assert_str_eq(conn_proto_name(CONN_PROTO_UDP), "udp");
    ck_assert_str_eq(conn_proto_name(CONN_PROTO_ICMP), "icmp");
    ck_assert_str_eq(conn_proto_name(CONN_PROTO_UNKNOWN), "unknown_transport");
    ck_assert_str_eq(conn_proto_name((conn_proto_t)42), "unknown_transport");
}
END_TEST

static char *
make_tmpdir(void)
{
    GError *err = NULL;
    char *d = g_dir_make_tmp("check_output_XXXXXX", &err);
    ck_assert_msg(d != NULL, "%s", err ? err->message : "");
    return d;
}

/* rm -r for the small trees the tests make. */
static void
remove_tree(const char *path)
{
    GDir *d = g_dir_open(path, 0, NULL);
    if (d) {
        const char *n;
        while ((n = g_dir_read_name(d)) != NULL) {
            g_autofree char *p = g_build_filename(path, n, NULL);
            remove_tree(p);
        }
        g_dir_close(d);
        g_rmdir(path);
    } else {
        g_unlink(path);
    }
}

START_TEST(test_file_tsv)
{
    g_autofree char *tmp = make_tmpdir();
    g_autofree char *dir = g_build_filename(tmp, "logs", "nested", NULL); /* created */
    GError *err = NULL;
    conn_record_t r;

    writer_t *w = writer_open(dir, LOG_FORMAT_TSV, &err);
    ck_assert_msg(w != NULL, "%s", err ? err->message : "");
    g_autofree char *path = g_build_filename(dir, "conn.log", NULL);
    ck_assert_str_eq(writer_path(w), path);

    /* The header is on disk right after open. */
    g_autofree char *early = NULL;
    ck_assert(g_file_get_contents(path, &early, NULL, NULL));
    ck_assert_str_eq(early, header_golden);

    record_full(&r);
    ck_assert(writer_write(w, &r));
    record_unset(&r);
    ck_assert(writer_write(w, &r));
    ck_assert(writer_flush(w, &err));
    ck_assert_uint_eq(writer_rows(w), 2);
    ck_assert_uint_eq(writer_errors(w), 0);
    ck_assert(writer_close(w, &err));
    ck_assert(writer_close(NULL, &err));

    g_autofree char *text = NULL;
    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    ck_assert(g_str_has_prefix(text, header_golden));
    ck_assert(g_str_has_suffix(text, "\n#close\t2011-03-18-19-06-07\n"));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    ck_assert_uint_eq(g_strv_length(lines), 8 + 2 + 1 + 1); /* header, rows, #close, "" */
    ck_assert_str_eq(lines[8], full_tsv);

    /* Opening again truncates. */
    w = writer_open(dir, LOG_FORMAT_TSV, &err);
    ck_assert_ptr_nonnull(w);
    ck_assert(writer_close(w, &err));
    g_autofree char *again = NULL;
    ck_assert(g_file_get_contents(path, &again, NULL, NULL));
    ck_assert_uint_eq(strlen(again), strlen(header_golden) + strlen("#close\t2011-03-18-19-06-07\n"));

    remove_tree(tmp);
}
END_TEST

/* The widest row there is: every string unterminated and made of bytes
 * that each take four (TSV) or five (JSON) characters, the longest
 * numbers, the longest IPv6 text.  writer_write() formats rows in a fixed
 * buffer, so this is the case that would overrun it (ASan builds run this
 * test too); the file rows must also be the same as writer_format_*()'s. */
/* The whole conn.log of a writer in @p dir that wrote @p r once. */
static char *
write_one(const char *dir, log_format_t fmt, const conn_record_t *r)
{
    GError *err = NULL;
    writer_t *w = writer_open(dir, fmt, &err);
    ck_assert_msg(w != NULL, "%s", err ? err->message : "");
    ck_assert(writer_write(w, r));
    ck_assert(writer_close(w, &err));
    g_autofree char *path = g_build_filename(dir, "conn.log", NULL);
    char *text = NULL;
    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

START_TEST(test_widest_row)
{
    g_autofree char *tmp = make_tmpdir();
    conn_record_t r;

    memset(&r, 0, sizeof(r));
    r.ts = -1.7976931348623157e308;
    r.has_duration = true;
    r.duration = -1.7976931348623157e308;
    memset(r.uid, 0xff, sizeof(r.uid));
    memset(r.service, 0xff, sizeof(r.service));
    memset(r.history, 0xff, sizeof(r.history));
    r.n_parents = CONN_MAX_PARENTS;
    for (int i = 0; i < CONN_MAX_PARENTS; i++)
        memset(r.parents[i], 0xff, CONN_UID_LEN);
    set_addr(r.orig_h, "fe80:1234:5678:9abc:def0:1234:5678:9abc");
    set_addr(r.resp_h, "fe80:1234:5678:9abc:def0:1234:5678:9abd");
    r.orig_p = r.resp_p = UINT16_MAX;
    r.orig_bytes = r.resp_bytes = r.missed_bytes = UINT64_MAX;
    r.orig_pkts = r.orig_ip_bytes = r.resp_pkts = r.resp_ip_bytes = UINT64_MAX;
    r.ip_proto = UINT8_MAX;
    r.proto = CONN_PROTO_UNKNOWN;
    r.conn_state = CONN_STATE_RSTOS0;

    g_autofree char *row = format_tsv(&r);
    g_autofree char *hist = NULL;
    {
        GString *h = g_string_new("\t");
        for (size_t i = 0; i < sizeof(r.history); i++)
            g_string_append(h, "\\xff");
        g_string_append_c(h, '\t');
        hist = g_string_free(h, FALSE);
    }
    ck_assert_ptr_nonnull(strstr(row, hist));
    ck_assert_ptr_nonnull(strstr(row, "\t18446744073709551615\t18446744073709551615\t"));
    ck_assert_ptr_nonnull(strstr(row, "\tfe80:1234:5678:9abc:def0:1234:5678:9abd\t65535\t"));
    ck_assert(g_str_has_prefix(row, "-1.797693e+308\t\\xff"));
    ck_assert(g_str_has_suffix(row, "\\xff\t255"));

    g_autofree char *tdir = g_build_filename(tmp, "tsv", NULL);
    g_autofree char *text = write_one(tdir, LOG_FORMAT_TSV, &r);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    ck_assert_uint_ge(g_strv_length(lines), 9);
    ck_assert_str_eq(lines[8], row);

    /* the same for JSON, where a bad byte takes five characters */
    g_autofree char *json = format_json(&r);
    ck_assert(g_str_has_prefix(json, "{\"ts\":-1.7976931348623157e308,\"uid\":\"\\\\xff"));
    ck_assert_ptr_nonnull(strstr(json, "\"id.resp_h\":\"fe80:1234:5678:9abc:def0:1234:5678:9abd\""));
    ck_assert(g_str_has_suffix(json, "\\\\xff\"],\"ip_proto\":255}"));
    g_autofree char *jdir = g_build_filename(tmp, "json", NULL);
    g_autofree char *jtext = write_one(jdir, LOG_FORMAT_JSON, &r);
    g_autofree char *jwant = g_strconcat(json, "\n", NULL);
    ck_assert_str_eq(jtext, jwant);
    remove_tree(tmp);
}
END_TEST

START_TEST(test_file_json)
{
    g_autofree char *tmp = make_tmpdir();
    GError *err = NULL;
    conn_record_t r;

    writer_t *w = writer_open(tmp, LOG_FORMAT_JSON, &err);
    ck_assert_ptr_nonnull(w);
    record_full(&r);
    ck_assert(writer_write(w, &r));
    ck_assert(writer_write(w, &r));
    ck_assert(writer_close(w, &err));

    g_autofree char *path = g_build_filename(tmp, "conn.log", NULL);
    g_autofree char *text = NULL;
    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    /* No header, no #close: exactly one object per line. */
    g_autofree char *want = g_strconcat(full_json, "\n", full_json, "\n", NULL);
    ck_assert_str_eq(text, want);
    remove_tree(tmp);
}
END_TEST

START_TEST(test_open_errors)
{
    g_autofree char *tmp = make_tmpdir();
    GError *err = NULL;

    /* A regular file where the directory should be. */
    g_autofree char *file = g_build_filename(tmp, "plain", NULL);
    ck_assert(g_file_set_contents(file, "x", -1, NULL));
    g_autofree char *under = g_build_filename(file, "logs", NULL);
    ck_assert_ptr_null(writer_open(under, LOG_FORMAT_TSV, &err));
    ck_assert(g_error_matches(err, WRITER_ERROR, WRITER_ERROR_IO));
    ck_assert_msg(strstr(err->message, under) != NULL, "message lacks path: %s", err->message);
    g_clear_error(&err);

    /* conn.log itself is a directory. */
    g_autofree char *blocked = g_build_filename(tmp, "blocked", NULL);
    g_autofree char *connlog = g_build_filename(blocked, "conn.log", NULL);
    ck_assert_int_eq(g_mkdir_with_parents(connlog, 0755), 0);
    ck_assert_ptr_null(writer_open(blocked, LOG_FORMAT_TSV, &err));
    ck_assert(g_error_matches(err, WRITER_ERROR, WRITER_ERROR_IO));
    ck_assert_msg(strstr(err->message, connlog) != NULL, "message lacks path: %s", err->message);
    g_clear_error(&err);

    /* A directory without write permission (root ignores modes). */
    if (geteuid() != 0) {
        g_autofree char *ro = g_build_filename(tmp, "ro", NULL);
        ck_assert_int_eq(g_mkdir(ro, 0555), 0);
        ck_assert_ptr_null(writer_open(ro, LOG_FORMAT_TSV, &err));
        ck_assert(g_error_matches(err, WRITER_ERROR, WRITER_ERROR_IO));
        ck_assert_ptr_nonnull(strstr(err->message, ro));
        ck_assert_ptr_nonnull(strstr(err->message, g_strerror(EACCES)));
        g_clear_error(&err);
        g_chmod(ro, 0755);
    }
    remove_tree(tmp);
}
END_TEST

START_TEST(test_write_errors)
{
    /* /dev/full accepts the buffered rows and fails them at flush. */
    FILE *fp = fopen("/dev/full", "w");
    if (fp == NULL) {
        fprintf(stderr, "check_output: no /dev/full, write error test skipped\n");
        return;
    }
    setvbuf(fp, NULL, _IONBF, 0);

    GError *err = NULL;
    conn_record_t r;
    writer_t *w = writer_open_stream(fp, LOG_FORMAT_JSON);
    record_full(&r);
    ck_assert(!writer_write(w, &r));
    ck_assert(!writer_write(w, &r)); /* still tried */
    ck_assert_uint_eq(writer_rows(w), 0);
    ck_assert_uint_eq(writer_errors(w), 2);
    ck_assert(writer_close(w, &err)); /* nothing buffered, nothing left to fail */
    fclose(fp);

    fp = fopen("/dev/full", "w");
    ck_assert_ptr_nonnull(fp);
    w = writer_open_stream(fp, LOG_FORMAT_TSV); /* header buffered */
    ck_assert(writer_write(w, &r));
    ck_assert(!writer_flush(w, &err));
    ck_assert(g_error_matches(err, WRITER_ERROR, WRITER_ERROR_IO));
    g_clear_error(&err);
    ck_assert_uint_ge(writer_errors(w), 1);
    ck_assert(!writer_close(w, &err)); /* #close cannot reach the device either */
    ck_assert_ptr_nonnull(err);
    g_clear_error(&err);
    fclose(fp);
}
END_TEST

static Suite *
output_suite(void)
{
    Suite *s = suite_create("output");
    TCase *tc = tcase_create("format");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_header_golden);
    tcase_add_test(tc, test_header_matches_baseline);
    tcase_add_test(tc, test_row_full);
    tcase_add_test(tc, test_row_unset);
    tcase_add_test(tc, test_row_ipv6);
    tcase_add_test(tc, test_tsv_escaping);
    tcase_add_test(tc, test_tsv_set_escaping);
    tcase_add_test(tc, test_widest_row);
    tcase_add_test(tc, test_json_full);
    tcase_add_test(tc, test_json_escaping);
    tcase_add_test(tc, test_doubles);
    tcase_add_test(tc, test_json_zeek_manual_values);
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);

    /* 200,000 doubles against up to 17 printf/strtod rounds each: about a
     * second here, several under ASan on a loaded machine */
    tc = tcase_create("doubles");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_json_doubles_shortest);
    suite_add_tcase(s, tc);

    tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_file_tsv);
    tcase_add_test(tc, test_file_json);
    tcase_add_test(tc, test_open_errors);
    tcase_add_test(tc, test_write_errors);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(output_suite());

    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
