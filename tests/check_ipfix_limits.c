/*
 * The collector's defences against hostile or broken exporters: the
 * allow-list (injected datagrams and real UDP/TCP/NetFlow sockets), the
 * caps on sessions, exporter entries, templates, template fields and
 * unknown information elements, and what /stats and /metrics show of them.
 * Floods are made of hand-built messages; each test checks the refusal
 * counters, that what the collector holds stays at the cap, and that
 * legitimate records still flow afterwards.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "core/config.h"
#include "http/render.h"
#include "ipfix/collector.h"
#include "ipfix/infomodel.h"
#include "tests/ipfix_msg.h"

#define TEMPLATES TOP_SRCDIR "/templates"

/* ------------------------------------------------------------ helpers */

typedef struct {
    guint flows;
} sink_t;

static void
sink_cb(const flow_obs_t *o, void *ud)
{
    (void)o;
    ((sink_t *)ud)->flows++;
}

static ipfix_collector_t *
collector(ipfix_collector_config_t *cfg, sink_t *s)
{
    GError *err = NULL;
    ipfix_collector_t *c;

    cfg->templates_dir = TEMPLATES;
    memset(s, 0, sizeof(*s));
    c = ipfix_collector_new(cfg, sink_cb, s, &err);
    ck_assert_msg(c != NULL, "collector: %s", err ? err->message : "?");
    return c;
}

static uint64_t
total(ipfix_collector_t *c, ipfix_total_t k)
{
    uint64_t tot[IPFIX_TOT_COUNT];

    ipfix_collector_totals(c, tot);
    return tot[k];
}

static ipfix_collector_usage_t
usage(ipfix_collector_t *c)
{
    ipfix_collector_usage_t u;

    ipfix_collector_usage(c, &u);
    return u;
}

/* Sum of counter @p k over every exporter. */
static uint64_t
exporters_sum(ipfix_collector_t *c, ipfix_counter_t k)
{
    GArray *a = ipfix_collector_stats(c);
    uint64_t n = 0;

    for (guint i = 0; i < a->len; i++)
        n += g_array_index(a, ipfix_exporter_stats_t, i).n[k];
    g_array_unref(a);
    return n;
}


/* Template @p tid: src4, dst4, proto, octetDeltaCount(4), flowStartSeconds */
static void
m_tmpl_flow(msg_t *m, uint16_t tid)
{
    m_u16(m, tid);
    m_u16(m, 5);
    m_u16(m, 8), m_u16(m, 4);
    m_u16(m, 12), m_u16(m, 4);
    m_u16(m, 4), m_u16(m, 1);
    m_u16(m, 1), m_u16(m, 4);
    m_u16(m, 150), m_u16(m, 4);
}

/* Template @p tid of @p n paddingOctets(1) fields: valid, and as large as
 * the caller likes. */
static void
m_tmpl_padding(msg_t *m, uint16_t tid, unsigned n)
{
    m_u16(m, tid);
    m_u16(m, (uint16_t)n);
    for (unsigned i = 0; i < n; i++)
        m_u16(m, 210), m_u16(m, 1);
}

static void
m_rec_flow(msg_t *m, uint32_t src)
{
    m_u32(m, src);
    m_u32(m, 0x0a000002);
    m_u8(m, 17);
    m_u32(m, 100);
    m_u32(m, T0 - 1);
}

/* One message: template @p tid (flow) and one record of it. */
static void
m_flow_message(msg_t *m, uint32_t seq, uint32_t domain, uint16_t tid)
{
    m_begin(m, seq, domain);
    m_set(m, 2);
    m_tmpl_flow(m, tid);
    m_end_set(m);
    m_set(m, tid);
    m_rec_flow(m, 0x0a000001);
    m_finish(m);
}

static socklen_t
peer_of(const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(addr, ':') != NULL) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        ck_assert_int_eq(inet_pton(AF_INET6, addr, &in6->sin6_addr), 1);
        return sizeof(*in6);
    }
    struct sockaddr_in *in = (struct sockaddr_in *)ss;

    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    ck_assert_int_eq(inet_pton(AF_INET, addr, &in->sin_addr), 1);
    return sizeof(*in);
}

static gboolean
inject(ipfix_collector_t *c, const char *addr, uint16_t port, const msg_t *m, bool netflow)
{
    struct sockaddr_storage ss;
    socklen_t sl = peer_of(addr, port, &ss);

    return ipfix_collector_inject_datagram(c, netflow, (struct sockaddr *)&ss, sl, m->b, m->len,
                                           T0);
}

/* A NetFlow v5 datagram with one flow record. */
static void
v5_datagram(msg_t *m, uint32_t seq)
{
    m->len = 0;
    m_u16(m, 5);
    m_u16(m, 1);
    m_u32(m, 10000);     /* uptime, ms */
    m_u32(m, T0);
    m_u32(m, 0);
    m_u32(m, seq);
    m_u8(m, 0), m_u8(m, 0);
    m_u16(m, 0);
    m_u32(m, 0xc0000201), m_u32(m, 0xc0000202), m_u32(m, 0);
    m_u16(m, 0), m_u16(m, 0);
    m_u32(m, 3), m_u32(m, 300);
    m_u32(m, 9000), m_u32(m, 9500);
    m_u16(m, 1024), m_u16(m, 53);
    m_u8(m, 0), m_u8(m, 0), m_u8(m, 17), m_u8(m, 0);
    m_u16(m, 0), m_u16(m, 0);
    m_u8(m, 0), m_u8(m, 0), m_u16(m, 0);
}

/* A NetFlow v9 datagram: optionally template @p tid (src4, dst4, proto,
 * IN_BYTES, IN_PKTS, FIRST/LAST_SWITCHED), then one record of it. */
static void
v9_datagram(msg_t *m, uint32_t seq, uint16_t tid, bool with_template)
{
    static const uint16_t fields[][2] = {{8, 4}, {12, 4}, {4, 1}, {1, 4},
                                         {2, 4}, {22, 4}, {21, 4}};

    m->len = 0;
    m_u16(m, 9);
    m_u16(m, with_template ? 2 : 1);
    m_u32(m, 10000);
    m_u32(m, T0);
    m_u32(m, seq);
    m_u32(m, 7); /* source id */
    if (with_template) {
        m_set(m, 0);
        m_u16(m, tid);
        m_u16(m, G_N_ELEMENTS(fields));
        for (size_t i = 0; i < G_N_ELEMENTS(fields); i++)
            m_u16(m, fields[i][0]), m_u16(m, fields[i][1]);
        m_end_set(m);
    }
    m_set(m, tid);
    m_u32(m, 0xc0000201), m_u32(m, 0xc0000202);
    m_u8(m, 17);
    m_u32(m, 300), m_u32(m, 3);
    m_u32(m, 9000), m_u32(m, 9500);
    m_end_set(m);
}

/* Poll until @p done says so or @p max_ms passed. */
static void
poll_for(ipfix_collector_t *c, bool (*done)(ipfix_collector_t *, void *), void *arg, int max_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)max_ms * 1000;

    while (!done(c, arg) && g_get_monotonic_time() < end)
        ipfix_collector_poll(c, 20);
}

static bool
denied_reaches(ipfix_collector_t *c, void *want)
{
    return total(c, IPFIX_TOT_DENIED) >= GPOINTER_TO_UINT(want);
}

/* Heap bytes in use as glibc's allocator counts them.  Under a sanitizer
 * another allocator stands in and this barely moves. */
static size_t
heap_used(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}

/* -------------------------------------------------------- allow-list */

START_TEST(test_allow_inject)
{
    ipfix_collector_config_t cfg = {.allow = "192.0.2.0/24, 2001:db8::/32"};
    sink_t s;
    ipfix_collector_t *c = collector(&cfg, &s);
    msg_t *m = g_new(msg_t, 1);
    ipfix_collector_usage_t u;

    m_flow_message(m, 0, 1, 256);
    ck_assert(inject(c, "192.0.2.7", 4000, m, false));
    ck_assert_uint_eq(s.flows, 1);
    ck_assert(!inject(c, "198.51.100.1", 4000, m, false));
    ck_assert_uint_eq(s.flows, 1);
    ck_assert_uint_eq(total(c, IPFIX_TOT_DENIED), 1);
    ck_assert(inject(c, "2001:db8::5", 4000, m, false));
    ck_assert_uint_eq(s.flows, 2);
    ck_assert(!inject(c, "2001:db9::1", 4000, m, false));
    /* an IPv4-mapped IPv6 peer is its IPv4 address */
    ck_assert(inject(c, "::ffff:192.0.2.8", 4000, m, false));
    ck_assert_uint_eq(s.flows, 3);
    ck_assert(!inject(c, "::ffff:198.51.100.1", 4000, m, false));
    ck_assert_uint_eq(total(c, IPFIX_TOT_DENIED), 3);

    /* the NetFlow port's v5 path too */
    v5_datagram(m, 0);
    ck_assert(!inject(c, "203.0.113.9", 2055, m, true));
    ck_assert_uint_eq(total(c, IPFIX_TOT_DENIED), 4);
    ck_assert(inject(c, "192.0.2.7", 2055, m, true));
    ck_assert_uint_eq(s.flows, 4);

    /* denied peers leave no trace but the counter */
    u = usage(c);
    ck_assert_uint_eq(u.sessions, 3);  /* three IPFIX peers; v5 has no session */
    ck_assert_uint_eq(u.exporters, 4); /* and the v5 engine */
    ck_assert_uint_eq(total(c, IPFIX_TOT_DATAGRAMS), 4);
    ipfix_collector_free(c);
    g_free(m);
}
END_TEST

START_TEST(test_allow_bad)
{
    static const char *const bad[] = {"not-an-address", "192.0.2.0/33", " , ", "10.0.0.0/8,x"};

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        ipfix_collector_config_t cfg = {.templates_dir = TEMPLATES, .allow = bad[i]};
        sink_t s = {0};
        GError *err = NULL;
        ipfix_collector_t *c = ipfix_collector_new(&cfg, sink_cb, &s, &err);

        ck_assert_msg(c == NULL, "allow \"%s\" accepted", bad[i]);
        ck_assert(g_error_matches(err, IPFIX_COLLECTOR_ERROR, IPFIX_COLLECTOR_ERROR_SPEC));
        ck_assert_msg(strstr(err->message, "allow") != NULL, "%s", err->message);
        g_clear_error(&err);
    }
}
END_TEST

/* Real sockets from 127.0.0.1: refused on every listener kind when the
 * list leaves loopback out, taken when it lets it in. */
START_TEST(test_allow_sockets)
{
    static const char *const lists[] = {"192.0.2.0/24", "192.0.2.0/24, 127.0.0.0/8"};

    for (int round = 0; round < 2; round++) {
        ipfix_collector_config_t cfg = {.allow = lists[round]};
        sink_t s;
        ipfix_collector_t *c = collector(&cfg, &s);
        GError *err = NULL;
        uint16_t uport, tport, nport;
        struct sockaddr_storage ss;
        socklen_t sl;
        msg_t *m = g_new(msg_t, 1);
        int ufd = socket(AF_INET, SOCK_DGRAM, 0), tfd = socket(AF_INET, SOCK_STREAM, 0);
        uint8_t byte;

        ck_assert(ipfix_collector_add_listener(c, "udp://127.0.0.1:0", &uport, &err));
        ck_assert(ipfix_collector_add_listener(c, "tcp://127.0.0.1:0", &tport, &err));
        ck_assert(ipfix_collector_add_listener(c, "netflow://127.0.0.1:0", &nport, &err));
        ck_assert_int_ge(ufd, 0);
        ck_assert_int_ge(tfd, 0);

        m_flow_message(m, 0, 1, 256);
        sl = peer_of("127.0.0.1", uport, &ss);
        ck_assert_int_eq(sendto(ufd, m->b, m->len, 0, (struct sockaddr *)&ss, sl),
                         (ssize_t)m->len);
        v9_datagram(m, 1, 260, true);
        sl = peer_of("127.0.0.1", nport, &ss);
        ck_assert_int_eq(sendto(ufd, m->b, m->len, 0, (struct sockaddr *)&ss, sl),
                         (ssize_t)m->len);
        sl = peer_of("127.0.0.1", tport, &ss);
        ck_assert_int_eq(connect(tfd, (struct sockaddr *)&ss, sl), 0);
        if (round == 0) {
            poll_for(c, denied_reaches, GUINT_TO_POINTER(3), 3000);
            ck_assert_uint_eq(total(c, IPFIX_TOT_DENIED), 3);
            ck_assert_uint_eq(total(c, IPFIX_TOT_DATAGRAMS), 0);
            ck_assert_uint_eq(total(c, IPFIX_TOT_TCP_ACCEPTED), 0);
            /* the refused connection is closed on the exporter */
            struct pollfd p = {.fd = tfd, .events = POLLIN};
            ck_assert_int_eq(poll(&p, 1, 2000), 1);
            ck_assert_int_le(recv(tfd, &byte, 1, 0), 0);
            /* and the peeked v9 datagram left fixbuf's socket: polling
             * again finds nothing more to refuse */
            for (int i = 0; i < 5; i++)
                ipfix_collector_poll(c, 10);
            ck_assert_uint_eq(total(c, IPFIX_TOT_DENIED), 3);
            ck_assert_uint_eq(s.flows, 0);
            ck_assert_uint_eq(usage(c).sessions, 0);
        } else {
            gint64 end = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;

            while ((s.flows < 2 || total(c, IPFIX_TOT_TCP_ACCEPTED) < 1)
                   && g_get_monotonic_time() < end)
                ipfix_collector_poll(c, 20);
            ck_assert_uint_eq(s.flows, 2); /* one IPFIX, one v9 */
            ck_assert_uint_eq(total(c, IPFIX_TOT_TCP_ACCEPTED), 1);
            ck_assert_uint_eq(total(c, IPFIX_TOT_DENIED), 0);
            ck_assert_uint_eq(usage(c).sessions, 3); /* UDP peer, v9 stream, TCP */
        }
        close(ufd);
        close(tfd);
        ipfix_collector_free(c);
        g_free(m);
    }
}
END_TEST

/* ------------------------------------------------------- templates */

START_TEST(test_template_flood)
{
    ipfix_collector_config_t cfg = {.max_templates = 16, .max_template_fields = 1000};
    sink_t s;
    ipfix_collector_t *c = collector(&cfg, &s);
    msg_t *m = g_new(msg_t, 1);
    ipfix_collector_usage_t u;
    uint32_t seq = 0;

    /* 200 messages, each defining one more template */
    for (unsigned i = 0; i < 200; i++) {
        m_begin(m, seq, 1);
        m_set(m, 2);
        m_tmpl_flow(m, (uint16_t)(256 + i));
        m_finish(m);
        inject(c, "192.0.2.1", 5000, m, false);
    }
    u = usage(c);
    ck_assert_uint_eq(u.templates, 16);
    ck_assert_uint_eq(u.template_fields, 16 * 5);
    ck_assert_uint_eq(exporters_sum(c, IPFIX_CTR_TEMPLATE_LIMIT), 184);
    ck_assert_uint_eq(total(c, IPFIX_TOT_TEMPLATE_LIMIT), 184);
    ck_assert_uint_eq(exporters_sum(c, IPFIX_CTR_MESSAGES), 16);
    ck_assert_uint_eq(exporters_sum(c, IPFIX_CTR_TEMPLATES), 16);

    /* records still flow on a template that made it in ... */
    m_begin(m, seq, 1);
    m_set(m, 256);
    m_rec_flow(m, 0x0a000009);
    m_finish(m);
    inject(c, "192.0.2.1", 5000, m, false);
    ck_assert_uint_eq(s.flows, 1);
    seq++;
    /* ... not on one that did not */
    m_begin(m, seq, 1);
    m_set(m, 300);
    m_rec_flow(m, 0x0a000009);
    m_finish(m);
    inject(c, "192.0.2.1", 5000, m, false);
    ck_assert_uint_eq(s.flows, 1);
    ck_assert_uint_eq(exporters_sum(c, IPFIX_CTR_MISSING_TEMPLATE), 1);

    /* a full session may still redefine what it has */
    m_begin(m, seq, 1);
    m_set(m, 2);
    m_tmpl_padding(m, 256, 6);
    m_finish(m);
    inject(c, "192.0.2.1", 5000, m, false);
    u = usage(c);
    ck_assert_uint_eq(u.templates, 16);
    ck_assert_uint_eq(u.template_fields, 15 * 5 + 6);
    ck_assert_uint_eq(total(c, IPFIX_TOT_TEMPLATE_LIMIT), 184);

    /* another session has its own budget */
    m_flow_message(m, 0, 1, 256);
    inject(c, "192.0.2.1", 5001, m, false);
    ck_assert_uint_eq(s.flows, 2);
    ck_assert_uint_eq(usage(c).templates, 17);
    ipfix_collector_free(c);
    g_free(m);
}
END_TEST

START_TEST(test_template_fields)
{
    ipfix_collector_config_t cfg = {.max_templates = 100, .max_template_fields = 1000};
    sink_t s;
    ipfix_collector_t *c = collector(&cfg, &s);
    msg_t *m = g_new(msg_t, 1);
    ipfix_collector_usage_t u;

    /* one template of 990 fields fits; 20 more do not */
    m_begin(m, 0, 1);
    m_set(m, 2);
    m_tmpl_padding(m, 256, 990);
    m_finish(m);
    inject(c, "192.0.2.1", 5000, m, false);
    ck_assert_uint_eq(usage(c).template_fields, 990);
    m_begin(m, 0, 1);
    m_set(m, 2);
    m_tmpl_padding(m, 257, 20);
    m_finish(m);
    inject(c, "192.0.2.1", 5000, m, false);
    ck_assert_uint_eq(usage(c).template_fields, 990);
    ck_assert_uint_eq(total(c, IPFIX_TOT_TEMPLATE_LIMIT), 1);

    /* a message is taken or dropped whole: a small template that fits
     * goes with a large one that does not */
    m_begin(m, 0, 1);
    m_set(m, 2);
    m_tmpl_padding(m, 258, 5);
    m_tmpl_padding(m, 259, 2000);
    m_finish(m);
    inject(c, "192.0.2.1", 5000, m, false);
    u = usage(c);
    ck_assert_uint_eq(u.templates, 1);
    ck_assert_uint_eq(u.template_fields, 990);
    ck_assert_uint_eq(total(c, IPFIX_TOT_TEMPLATE_LIMIT), 2);

    /* the same template twice in one message is undone correctly too */
    m_begin(m, 0, 1);
    m_set(m, 2);
    m_tmpl_padding(m, 256, 3);
    m_tmpl_padding(m, 256, 900);
    m_tmpl_padding(m, 260, 200);
    m_finish(m);
    inject(c, "192.0.2.1", 5000, m, false);
    u = usage(c);
    ck_assert_uint_eq(u.templates, 1);
    ck_assert_uint_eq(u.template_fields, 990);
    ck_assert_uint_eq(total(c, IPFIX_TOT_TEMPLATE_LIMIT), 3);

    /* shrinking the big one makes room; a withdrawal keeps its slot
     * (libfixbuf keeps an empty template) but frees its fields */
    m_begin(m, 0, 1);
    m_set(m, 2);
    m_tmpl_padding(m, 256, 10);
    m_tmpl_padding(m, 257, 20);
    m_u16(m, 257), m_u16(m, 0);
    m_finish(m);
    inject(c, "192.0.2.1", 5000, m, false);
    u = usage(c);
    ck_assert_uint_eq(u.templates, 2);
    ck_assert_uint_eq(u.template_fields, 10);
    ck_assert_uint_eq(total(c, IPFIX_TOT_TEMPLATE_LIMIT), 3);
    ck_assert_uint_eq(exporters_sum(c, IPFIX_CTR_MALFORMED), 0);
    ipfix_collector_free(c);
    g_free(m);
}
END_TEST

/* Elements the model does not know join it for good, so their number is
 * capped for the whole collector. */
START_TEST(test_unknown_elements)
{
    ipfix_collector_config_t cfg = {.max_unknown_elements = 10};
    sink_t s;
    ipfix_collector_t *c = collector(&cfg, &s);
    msg_t *m = g_new(msg_t, 1);

    for (unsigned t = 0; t < 5; t++) {
        m_begin(m, 0, 1);
        m_set(m, 2);
        m_u16(m, (uint16_t)(256 + t));
        m_u16(m, 4);
        for (unsigned f = 0; f < 4; f++) {
            m_u16(m, (uint16_t)(0x8000 | (1000 + t * 4 + f)));
            m_u16(m, 4);
            m_u32(m, 99999); /* an enterprise nobody defined */
        }
        m_finish(m);
        inject(c, "192.0.2.1", (uint16_t)(5000 + t), m, false);
    }
    ck_assert_uint_eq(usage(c).unknown_elements, 8);
    ck_assert_uint_eq(total(c, IPFIX_TOT_TEMPLATE_LIMIT), 3);
    /* those libfixbuf learnt are known now: a template naming them again
     * adds nothing and passes, in any session */
    m_begin(m, 0, 1);
    m_set(m, 2);
    m_u16(m, 256);
    m_u16(m, 2);
    m_u16(m, 0x8000 | 1000), m_u16(m, 4), m_u32(m, 99999);
    m_u16(m, 0x8000 | 1005), m_u16(m, 4), m_u32(m, 99999);
    m_finish(m);
    inject(c, "192.0.2.2", 6000, m, false);
    ck_assert_uint_eq(usage(c).unknown_elements, 8);
    ck_assert_uint_eq(total(c, IPFIX_TOT_TEMPLATE_LIMIT), 3);
    ck_assert_uint_eq(exporters_sum(c, IPFIX_CTR_TEMPLATES), 3);
    ipfix_collector_free(c);
    g_free(m);
}
END_TEST

/* One template (@p tid, domain 1) of @p n fields of enterprise 99999, which
 * nobody defined: elements @p first, @p first + 1, ... */
static void
m_alien_message(msg_t *m, uint16_t tid, uint16_t first, unsigned n)
{
    m_begin(m, 0, 1);
    m_set(m, 2);
    m_u16(m, tid);
    m_u16(m, (uint16_t)n);
    for (unsigned f = 0; f < n; f++) {
        m_u16(m, (uint16_t)(0x8000 | (first + f)));
        m_u16(m, 4);
        m_u32(m, 99999);
    }
    m_finish(m);
}

/* Two collectors on one caller-owned model (ipfix_collector_config_t.model):
 * neither loads the templates dir nor frees the model, both decode, and each
 * counts against its max_unknown_elements only the elements its own
 * exporters add to the model; one the other collector added is known. */
START_TEST(test_shared_model)
{
    fbInfoModel_t *model = fbInfoModelAlloc();
    GError *err = NULL;

    ck_assert_msg(ipfix_infomodel_load_dir(model, TEMPLATES, NULL, &err), "%s",
                  err ? err->message : "?");
    guint base = fbInfoModelCountElements(model);
    ck_assert_ptr_nonnull(fbInfoModelGetElementByName(model, "initialTCPFlags"));

    /* the templates dir is not read when a model is given */
    ipfix_collector_config_t cfg = {.model = model, .max_unknown_elements = 6,
                                    .templates_dir = "/nonexistent/templates"};
    sink_t s1 = {0}, s2 = {0};
    ipfix_collector_t *c1 = ipfix_collector_new(&cfg, sink_cb, &s1, &err);
    ck_assert_msg(c1 != NULL, "collector: %s", err ? err->message : "?");
    ipfix_collector_t *c2 = ipfix_collector_new(&cfg, sink_cb, &s2, &err);
    ck_assert_msg(c2 != NULL, "collector: %s", err ? err->message : "?");
    msg_t *m = g_new(msg_t, 1);

    m_flow_message(m, 0, 1, 256);
    inject(c1, "192.0.2.1", 5000, m, false);
    inject(c2, "192.0.2.1", 5000, m, false);
    ck_assert_uint_eq(s1.flows, 1);
    ck_assert_uint_eq(s2.flows, 1);

    /* c1 adds four elements */
    m_alien_message(m, 300, 1000, 4);
    inject(c1, "192.0.2.1", 5001, m, false);
    ck_assert_uint_eq(usage(c1).unknown_elements, 4);
    ck_assert_uint_eq(fbInfoModelCountElements(model), base + 4);
    /* c2 names two of them (known now, free) and two new ones */
    m_begin(m, 0, 1);
    m_set(m, 2);
    m_u16(m, 300);
    m_u16(m, 4);
    for (unsigned f = 0; f < 4; f++) {
        m_u16(m, (uint16_t)(0x8000 | (f < 2 ? 1000 + f : 2000 + f)));
        m_u16(m, 4);
        m_u32(m, 99999);
    }
    m_finish(m);
    inject(c2, "192.0.2.1", 5001, m, false);
    ck_assert_uint_eq(usage(c2).unknown_elements, 2);
    ck_assert_uint_eq(usage(c1).unknown_elements, 4);
    ck_assert_uint_eq(fbInfoModelCountElements(model), base + 6);
    /* each cap is its own: five more pass c2's (2 + 5 > 6), two fit c1's */
    m_alien_message(m, 301, 3000, 5);
    inject(c2, "192.0.2.1", 5002, m, false);
    ck_assert_uint_eq(total(c2, IPFIX_TOT_TEMPLATE_LIMIT), 1);
    ck_assert_uint_eq(usage(c2).unknown_elements, 2);
    m_alien_message(m, 301, 4000, 2);
    inject(c1, "192.0.2.1", 5002, m, false);
    ck_assert_uint_eq(total(c1, IPFIX_TOT_TEMPLATE_LIMIT), 0);
    ck_assert_uint_eq(usage(c1).unknown_elements, 6);
    ck_assert_uint_eq(fbInfoModelCountElements(model), base + 8);

    /* freeing one leaves the model to the other, and then to its owner */
    ipfix_collector_free(c1);
    m_flow_message(m, 1, 1, 256);
    inject(c2, "192.0.2.1", 5000, m, false);
    ck_assert_uint_eq(s2.flows, 2);
    ipfix_collector_free(c2);
    ck_assert_ptr_nonnull(fbInfoModelGetElementByID(model, 4000, 99999));
    ck_assert_uint_eq(fbInfoModelCountElements(model), base + 8);
    fbInfoModelFree(model);
    g_free(m);
}
END_TEST

/* NetFlow v9 through the real socket: the budget belongs to the v9 stream
 * and refused datagrams resync the sequence instead of counting loss. */
START_TEST(test_v9_template_flood)
{
    ipfix_collector_config_t cfg = {.max_templates = 4};
    sink_t s;
    ipfix_collector_t *c = collector(&cfg, &s);
    GError *err = NULL;
    uint16_t port;
    struct sockaddr_storage ss;
    socklen_t sl;
    msg_t *m = g_new(msg_t, 1);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    uint32_t seq = 1;
    gint64 end;

    ck_assert(ipfix_collector_add_listener(c, "netflow://127.0.0.1:0", &port, &err));
    sl = peer_of("127.0.0.1", port, &ss);
    for (unsigned i = 0; i < 40; i++) {
        v9_datagram(m, seq++, (uint16_t)(256 + i), true);
        ck_assert_int_eq(sendto(fd, m->b, m->len, 0, (struct sockaddr *)&ss, sl),
                         (ssize_t)m->len);
        if (i % 8 == 7)
            for (int k = 0; k < 5; k++)
                ipfix_collector_poll(c, 5);
    }
    end = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
    while (total(c, IPFIX_TOT_DATAGRAMS) < 40 && g_get_monotonic_time() < end)
        ipfix_collector_poll(c, 20);
    ck_assert_uint_eq(total(c, IPFIX_TOT_DATAGRAMS), 40);
    ck_assert_uint_eq(usage(c).templates, 4);
    ck_assert_uint_eq(usage(c).sessions, 1);
    ck_assert_uint_eq(exporters_sum(c, IPFIX_CTR_TEMPLATE_LIMIT), 36);
    ck_assert_uint_eq(s.flows, 4);
    /* data for a known template still decodes, with no loss reported */
    v9_datagram(m, seq++, 257, false);
    sendto(fd, m->b, m->len, 0, (struct sockaddr *)&ss, sl);
    end = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
    while (s.flows < 5 && g_get_monotonic_time() < end)
        ipfix_collector_poll(c, 20);
    ck_assert_uint_eq(s.flows, 5);
    ck_assert_uint_eq(exporters_sum(c, IPFIX_CTR_SEQ_GAPS), 0);
    close(fd);
    ipfix_collector_free(c);
    g_free(m);
}
END_TEST

/* ------------------------------------------ sessions and exporters */

START_TEST(test_session_limits)
{
    ipfix_collector_config_t cfg = {.max_sessions = 6, .max_sessions_per_address = 4,
                                    .idle_timeout = 1};
    sink_t s;
    ipfix_collector_t *c = collector(&cfg, &s);
    GError *err = NULL;
    uint16_t lport;
    msg_t *m = g_new(msg_t, 1);
    ipfix_collector_usage_t u;

    /* a listener keeps poll() from reporting "nothing to do" */
    ck_assert(ipfix_collector_add_listener(c, "udp://127.0.0.1:0", &lport, &err));
    m_flow_message(m, 0, 1, 256);
    for (unsigned p = 0; p < 100; p++)
        inject(c, "192.0.2.1", (uint16_t)(1000 + p), m, false);
    u = usage(c);
    ck_assert_uint_eq(u.sessions, 4);
    ck_assert_uint_eq(s.flows, 4);
    ck_assert_uint_eq(total(c, IPFIX_TOT_SESSION_LIMIT), 96);
    /* another address gets what is left of max_sessions */
    for (unsigned p = 0; p < 10; p++)
        inject(c, "192.0.2.2", (uint16_t)(1000 + p), m, false);
    ck_assert_uint_eq(usage(c).sessions, 6);
    ck_assert_uint_eq(s.flows, 6);
    ck_assert_uint_eq(total(c, IPFIX_TOT_SESSION_LIMIT), 104);
    /* established sessions keep working at the limit */
    m->b[11] = 1; /* sequence 1 */
    inject(c, "192.0.2.1", 1000, m, false);
    ck_assert_uint_eq(s.flows, 7);

    /* idle sessions expire and give their slots back */
    for (int i = 0; i < 40 && usage(c).sessions > 0; i++)
        ipfix_collector_poll(c, 50);
    u = usage(c);
    ck_assert_uint_eq(u.sessions, 0);
    ck_assert_uint_eq(u.exporters, 0);
    ck_assert_uint_eq(u.templates, 0);
    ck_assert_uint_eq(u.template_fields, 0);
    m->b[11] = 0;
    inject(c, "192.0.2.1", 2000, m, false);
    ck_assert_uint_eq(usage(c).sessions, 1);
    ck_assert_uint_eq(s.flows, 8);
    ipfix_collector_free(c);
    g_free(m);
}
END_TEST

/* Observation domains (IPFIX) and engines (v5) from one address: each is
 * an exporter entry, capped per address so that one host cannot fill the
 * table for everyone. */
START_TEST(test_exporters_per_address)
{
    ipfix_collector_config_t cfg = {.max_exporters_per_address = 8};
    sink_t s;
    ipfix_collector_t *c = collector(&cfg, &s);
    msg_t *m = g_new(msg_t, 1);

    for (uint32_t d = 0; d < 100; d++) {
        m_flow_message(m, 0, d, 256);
        inject(c, "192.0.2.1", 1000, m, false);
    }
    ck_assert_uint_eq(usage(c).exporters, 8);
    ck_assert_uint_eq(usage(c).sessions, 1);
    ck_assert_uint_eq(total(c, IPFIX_TOT_EXPORTER_LIMIT), 92);
    ck_assert_uint_eq(s.flows, 8);
    for (unsigned e = 0; e < 20; e++) {
        v5_datagram(m, 0);
        m->b[21] = (uint8_t)e; /* engine id */
        inject(c, "192.0.2.1", 2055, m, true);
    }
    ck_assert_uint_eq(usage(c).exporters, 8);
    ck_assert_uint_eq(total(c, IPFIX_TOT_EXPORTER_LIMIT), 112);
    v5_datagram(m, 0);
    inject(c, "192.0.2.2", 2055, m, true);
    ck_assert_uint_eq(usage(c).exporters, 9);
    ck_assert_uint_eq(s.flows, 9);
    ipfix_collector_free(c);
    g_free(m);
}
END_TEST

/* ------------------------------------------------------------ memory */

/* The heap grows by what the caps allow and no more: the same template
 * flood (2000 templates of 100 fields, 150 domains and 20 source ports)
 * against capped and practically uncapped collectors. */
static size_t
flood_growth(ipfix_collector_config_t *cfg, ipfix_collector_usage_t *u)
{
    sink_t s;
    ipfix_collector_t *c;
    msg_t *m = g_new(msg_t, 1);
    size_t before, after;

    malloc_trim(0);
    before = heap_used();
    c = collector(cfg, &s);
    for (unsigned i = 0; i < 2000; i++) {
        m_begin(m, 0, i % 150);
        m_set(m, 2);
        m_tmpl_padding(m, (uint16_t)(256 + i), 100);
        m_finish(m);
        inject(c, "192.0.2.1", (uint16_t)(7000 + i % 20), m, false);
    }
    *u = usage(c);
    after = heap_used();
    ipfix_collector_free(c);
    g_free(m);
    return after > before ? after - before : 0;
}

START_TEST(test_flood_memory_bounded)
{
    ipfix_collector_config_t capped = {.max_sessions_per_address = 4,
                                       .max_exporters_per_address = 16,
                                       .max_templates = 32,
                                       .max_template_fields = 2000};
    ipfix_collector_config_t open = {.max_sessions_per_address = 1 << 20,
                                     .max_exporters_per_address = 1 << 20,
                                     .max_templates = 1 << 24,
                                     .max_template_fields = 1 << 28};
    ipfix_collector_usage_t u;
    size_t grew_capped, grew_open;

    grew_capped = flood_growth(&capped, &u);
    ck_assert_uint_le(u.sessions, 4);
    ck_assert_uint_le(u.exporters, 16);
    ck_assert_uint_le(u.templates, 4 * 32);
    ck_assert_uint_le(u.template_fields, 4 * 2000);
    grew_open = flood_growth(&open, &u);
    ck_assert_uint_eq(u.templates, 2000);
    ck_assert_uint_eq(u.template_fields, 200000);
    if (grew_open < 1u << 20)
        return; /* a sanitizer's allocator: glibc's figures do not see it */
    printf("template flood: heap +%zu bytes capped, +%zu bytes uncapped\n", grew_capped,
           grew_open);
    /* about 2 MiB for 4 sessions at their caps; the open collector
     * holds all 200000 fields (over 20 MiB) */
    ck_assert_msg(grew_capped < 4u << 20, "capped flood grew the heap by %zu bytes",
                  grew_capped);
    ck_assert_msg(grew_open > 8 * grew_capped, "open flood grew %zu, capped %zu", grew_open,
                  grew_capped);
}
END_TEST

/* ------------------------------------------------------ configuration */

START_TEST(test_config_keys)
{
    config_t c;
    GError *err = NULL;
    config_overrides_t ov = {.max_conns = -1, .seed = -1};
    static const char good[] = "[ipfix]\n"
                               "allow = 192.0.2.0/24, 2001:db8::/32\n"
                               "max_sessions = 10\n"
                               "max_sessions_per_address = 2\n"
                               "max_exporters_per_address = 3\n"
                               "max_templates = 4\n"
                               "max_template_fields = 5\n"
                               "max_unknown_elements = 6\n";
    static const char *const bad[][2] = {
        {"[ipfix]\nallow = 192.0.2.0/33\n", "t.conf:ipfix.allow: "},
        {"[ipfix]\nallow = ,\n", "t.conf:ipfix.allow: no network given"},
        {"[ipfix]\nmax_templates = -1\n", "t.conf:ipfix.max_templates: "},
        {"[ipfix]\nmax_sessions = many\n", "t.conf:ipfix.max_sessions: "},
    };
    config_t next;
    char *changed;

    ck_assert_msg(config_load_data("t.conf", good, &c, &err), "%s", err ? err->message : "");
    ck_assert_str_eq(c.ipfix_allow, "192.0.2.0/24, 2001:db8::/32");
    ck_assert_uint_eq(c.max_sessions, 10);
    ck_assert_uint_eq(c.max_sessions_per_address, 2);
    ck_assert_uint_eq(c.max_exporters_per_address, 3);
    ck_assert_uint_eq(c.max_templates, 4);
    ck_assert_uint_eq(c.max_template_fields, 5);
    ck_assert_uint_eq(c.max_unknown_elements, 6);
    /* the command line replaces the list, and is checked under its own name */
    ov.ipfix_allow = "10.0.0.0/8";
    ck_assert(config_apply_overrides(&c, &ov, &err));
    ck_assert_str_eq(c.ipfix_allow, "10.0.0.0/8");
    ov.ipfix_allow = "10.0.0.0/99";
    ck_assert(!config_apply_overrides(&c, &ov, &err));
    ck_assert_msg(g_str_has_prefix(err->message, "--ipfix-allow: "), "%s", err->message);
    g_clear_error(&err);
    /* the collector's limits need a restart, as its other settings do */
    ck_assert(config_load_data("t.conf", "[ipfix]\nallow = 10.0.0.0/8\nmax_templates = 9\n",
                               &next, &err));
    changed = config_restart_keys(&c, &next);
    ck_assert_ptr_nonnull(changed);
    ck_assert_msg(strstr(changed, "ipfix.max_templates") != NULL, "%s", changed);
    ck_assert_msg(strstr(changed, "ipfix.allow") == NULL, "%s", changed);
    g_free(changed);
    config_clear(&next);
    config_clear(&c);

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        ck_assert_msg(!config_load_data("t.conf", bad[i][0], &c, &err), "%s", bad[i][0]);
        ck_assert_msg(g_str_has_prefix(err->message, bad[i][1]), "%s", err->message);
        g_clear_error(&err);
    }
}
END_TEST

/* ------------------------------------------------- /stats, /metrics */

START_TEST(test_render_refusals)
{
    ipfix_collector_config_t cfg = {.allow = "192.0.2.0/24", .max_templates = 1};
    sink_t s;
    ipfix_collector_t *c = collector(&cfg, &s);
    msg_t *m = g_new(msg_t, 1);
    stats_snapshot_t *snap = g_new0(stats_snapshot_t, 1);
    http_flow_view_t fv = {.present = true};
    GString *out = g_string_new(NULL);

    m_flow_message(m, 0, 1, 256);
    inject(c, "192.0.2.1", 1000, m, false);
    inject(c, "198.51.100.1", 1000, m, false);
    inject(c, "198.51.100.2", 1000, m, false);
    m_flow_message(m, 1, 1, 257);
    inject(c, "192.0.2.1", 1000, m, false);
    fv.exporters = ipfix_collector_stats(c);
    ipfix_collector_totals(c, fv.totals);
    ipfix_collector_usage(c, &fv.usage);

    http_render_stats(snap, &fv, 10, out);
    ck_assert_msg(strstr(out->str, "\"denied\":2") != NULL, "%s", out->str);
    ck_assert_msg(strstr(out->str, "\"session_limit\":0") != NULL, "%s", out->str);
    ck_assert_msg(strstr(out->str, "\"template_limit\":1") != NULL, "%s", out->str);
    ck_assert_msg(strstr(out->str, "\"held\":{\"sessions\":1,\"exporters\":1,\"templates\":1,"
                                   "\"template_fields\":5,\"unknown_elements\":0}")
                      != NULL,
                  "%s", out->str);
    g_string_truncate(out, 0);
    http_render_metrics(snap, &fv, out);
    ck_assert_msg(strstr(out->str, "connlogd_collector_total{counter=\"denied\"} 2\n") != NULL,
                  "%s", out->str);
    ck_assert_msg(strstr(out->str, "connlogd_collector_held{kind=\"sessions\"} 1\n") != NULL,
                  "%s", out->str);
    ck_assert_msg(strstr(out->str, "# TYPE connlogd_collector_held gauge\n") != NULL, "%s",
                  out->str);
    ck_assert_msg(strstr(out->str, "counter=\"template_limit\"} 1\n") != NULL, "%s", out->str);
    g_string_free(out, TRUE);
    g_array_unref(fv.exporters);
    g_free(snap);
    ipfix_collector_free(c);
    g_free(m);
}
END_TEST

static Suite *
limits_suite(void)
{
    Suite *su = suite_create("ipfix_limits");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_allow_inject);
    tcase_add_test(tc, test_allow_bad);
    tcase_add_test(tc, test_allow_sockets);
    tcase_add_test(tc, test_template_flood);
    tcase_add_test(tc, test_template_fields);
    tcase_add_test(tc, test_unknown_elements);
    tcase_add_test(tc, test_shared_model);
    tcase_add_test(tc, test_v9_template_flood);
    tcase_add_test(tc, test_session_limits);
    tcase_add_test(tc, test_exporters_per_address);
    tcase_add_test(tc, test_flood_memory_bounded);
    tcase_add_test(tc, test_config_keys);
    tcase_add_test(tc, test_render_refusals);
    suite_add_tcase(su, tc);
    return su;
}

int
main(void)
{
    SRunner *sr = srunner_create(limits_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
