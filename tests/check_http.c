/*
 * Check suite for the HTTP interface: a real libmicrohttpd server on
 * 127.0.0.1 with an ephemeral port, spoken to over raw sockets.  Status
 * codes (200/400/401/404/405/503), headers (Content-Type, Allow,
 * WWW-Authenticate), /recent's filters and bounds, /stats and /metrics
 * content, the bearer token, oversized requests and the connection limit.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/netset.h"
#include "core/recent.h"
#include "core/stats.h"
#include "http/render.h"
#include "http/server.h"

static stats_board_t *board;
static recent_t *ring;
static http_server_t *srv;

static int
connect_srv(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(http_server_port(srv))};
    struct timeval tv = {.tv_sec = 5};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    return fd;
}

/* Send @p req and read the whole answer (the request asks to close). */
static GString *
raw(const char *req)
{
    int fd = connect_srv();
    size_t len = strlen(req), off = 0;
    while (off < len) {
        ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may refuse and close early */
        off += (size_t)n;
    }
    GString *out = g_string_new(NULL);
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
        g_string_append_len(out, buf, n);
    close(fd);
    return out;
}

typedef struct {
    int status;
    GString *all;
    const char *body;
} resp_t;

static resp_t
request(const char *method, const char *path, const char *extra_headers)
{
    g_autofree char *req =
        g_strdup_printf("%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%s\r\n", method, path,
                        extra_headers ? extra_headers : "");
    resp_t r = {.all = raw(req)};
    ck_assert_msg(sscanf(r.all->str, "HTTP/1.1 %d", &r.status) == 1, "no status line in '%s'",
                  r.all->str);
    const char *b = strstr(r.all->str, "\r\n\r\n");
    r.body = b ? b + 4 : "";
    return r;
}

static bool
has_header(const resp_t *r, const char *line)
{
    g_autofree char *needle = g_strdup_printf("\r\n%s\r\n", line);
    g_autofree char *head = g_ascii_strdown(r->all->str, (gssize)(r->body - r->all->str));
    g_autofree char *low = g_ascii_strdown(needle, -1);
    return strstr(head, low) != NULL;
}

static void
resp_free(resp_t *r)
{
    g_string_free(r->all, TRUE);
}

static conn_record_t
rec(double ts, const char *o, uint16_t op, const char *rsp, uint16_t rp, conn_proto_t proto,
    conn_state_t st)
{
    conn_record_t c;
    memset(&c, 0, sizeof(c));
    c.ts = ts;
    g_snprintf(c.uid, sizeof(c.uid), "Cuid%.0f", ts);
    addr_parse(o, c.orig_h);
    addr_parse(rsp, c.resp_h);
    c.orig_p = op;
    c.resp_p = rp;
    c.proto = proto;
    c.ip_proto = proto == CONN_PROTO_TCP ? 6 : proto == CONN_PROTO_UDP ? 17 : 1;
    c.conn_state = st;
    c.local_orig = c.local_resp = TRI_UNSET;
    g_strlcpy(c.history, "ShADadFf", sizeof(c.history));
    c.orig_pkts = 6;
    return c;
}

static void
publish(double age)
{
    stats_snapshot_t *s = g_new0(stats_snapshot_t, 1);
    double now = (double)g_get_real_time() / 1e6;
    s->started = now - 100;
    s->taken = now - age;
    s->n_ifaces = 1;
    g_strlcpy(s->ifaces[0].name, "eth\"0", sizeof(s->ifaces[0].name));
    s->ifaces[0].packets = 1234;
    s->ifaces[0].kernel_dropped = 7;
    s->conn.active = 5;
    s->conn.logged = 42;
    s->conn.by_state[CONN_STATE_SF] = 40;
    s->conn.by_state[CONN_STATE_REJ] = 2;
    s->conn.by_proto[CONN_PROTO_TCP] = 42;
    s->weirds[WEIRD_BAD_TCP_CHECKSUM] = 3;
    g_strlcpy(s->log_path, "/var/log/connlogd/conn.log", sizeof(s->log_path));
    g_strlcpy(s->log_format, "tsv", sizeof(s->log_format));
    s->log_rows = 42;
    stats_board_publish(board, s);
    g_free(s);
}

static void
start(const char *token, unsigned max_conns)
{
    GError *err = NULL;
    board = stats_board_new();
    ring = recent_new(8);
    http_config_t hc = {.address = "127.0.0.1", .port = 0, .token = token,
                        .max_connections = max_conns, .stall_after = 30};
    srv = http_server_start(&hc, board, ring, NULL, &err);
    ck_assert_msg(srv != NULL, "%s", err ? err->message : "");
    ck_assert_uint_ne(http_server_port(srv), 0);
    publish(0);
    conn_record_t rs[] = {
        rec(1700000001, "10.0.0.1", 40000, "93.184.216.34", 443, CONN_PROTO_TCP, CONN_STATE_SF),
        rec(1700000002, "10.0.0.2", 53000, "8.8.8.8", 53, CONN_PROTO_UDP, CONN_STATE_SF),
        rec(1700000003, "10.0.0.1", 8, "10.0.0.9", 0, CONN_PROTO_ICMP, CONN_STATE_OTH),
        rec(1700000004, "2001:db8::1", 40001, "2001:db8::2", 22, CONN_PROTO_TCP, CONN_STATE_REJ),
    };
    for (size_t i = 0; i < G_N_ELEMENTS(rs); i++)
        recent_push(ring, &rs[i]);
}

static void
setup(void)
{
    start(NULL, 8);
}

static void
setup_token(void)
{
    start("t0ken", 8);
}

static void
teardown(void)
{
    http_server_stop(srv);
    recent_free(ring);
    stats_board_free(board);
}

static unsigned
count_of(const char *hay, const char *needle)
{
    unsigned n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

START_TEST(test_stats)
{
    resp_t r = request("GET", "/stats", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert(has_header(&r, "Content-Type: application/json"));
    ck_assert_ptr_nonnull(strstr(r.body, "\"interfaces\":[{\"name\":\"eth\\\"0\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"kernel_dropped\":7"));
    ck_assert_ptr_nonnull(strstr(r.body, "\"logged\":42"));
    ck_assert_ptr_nonnull(strstr(r.body, "\"SF\":40,\"REJ\":2"));
    ck_assert_ptr_nonnull(strstr(r.body, "\"tcp\":42"));
    ck_assert_ptr_nonnull(strstr(r.body, "\"weirds\":{\"bad_TCP_checksum\":3}"));
    ck_assert_ptr_nonnull(strstr(r.body, "\"exporters\":[]"));
    ck_assert_ptr_nonnull(strstr(r.body, "\"uptime\":100."));
    resp_free(&r);
}
END_TEST

START_TEST(test_recent)
{
    resp_t r = request("GET", "/recent", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert(has_header(&r, "Content-Type: application/json"));
    ck_assert_uint_eq(count_of(r.body, "\"uid\":"), 4);
    /* newest first, Zeek JSON field names */
    ck_assert(g_str_has_prefix(r.body, "[{\"ts\":1700000004.0,\"uid\":\"Cuid1700000004\","
                                       "\"id.orig_h\":\"2001:db8::1\",\"id.orig_p\":40001,"));
    resp_free(&r);

    r = request("GET", "/recent?limit=1", NULL);
    ck_assert_uint_eq(count_of(r.body, "\"uid\":"), 1);
    resp_free(&r);
    r = request("GET", "/recent?proto=udp", NULL);
    ck_assert_uint_eq(count_of(r.body, "\"uid\":"), 1);
    ck_assert_ptr_nonnull(strstr(r.body, "\"id.resp_h\":\"8.8.8.8\""));
    resp_free(&r);
    r = request("GET", "/recent?conn_state=SF&host=10.0.0.1", NULL);
    ck_assert_uint_eq(count_of(r.body, "\"uid\":"), 1);
    resp_free(&r);
    r = request("GET", "/recent?host=2001%3Adb8%3A%3A2&port=22", NULL);
    ck_assert_uint_eq(count_of(r.body, "\"uid\":"), 1);
    resp_free(&r);
    r = request("GET", "/recent?since=1700000002.5", NULL);
    ck_assert_uint_eq(count_of(r.body, "\"uid\":"), 2);
    resp_free(&r);
    r = request("GET", "/recent?port=1", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "[]\n");
    resp_free(&r);
}
END_TEST

START_TEST(test_bad_parameters)
{
    static const char *const bad[] = {
        "/recent?limit=0",       "/recent?limit=9",      "/recent?limit=-1",
        "/recent?limit=x",       "/recent?proto=sctp",   "/recent?conn_state=XX",
        "/recent?host=10.0.0",   "/recent?port=65536",   "/recent?since=yesterday",
        "/recent?colour=blue",   "/recent?limit",        "/recent?since=-5",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        resp_t r = request("GET", bad[i], NULL);
        ck_assert_msg(r.status == 400, "%s gave %d", bad[i], r.status);
        ck_assert(has_header(&r, "Content-Type: application/json"));
        ck_assert_ptr_nonnull(strstr(r.body, "\"error\":"));
        resp_free(&r);
    }
}
END_TEST

START_TEST(test_status_codes)
{
    resp_t r = request("GET", "/nope", NULL);
    ck_assert_int_eq(r.status, 404);
    ck_assert(has_header(&r, "Content-Type: application/json"));
    resp_free(&r);

    r = request("POST", "/stats", "Content-Length: 0\r\n");
    ck_assert_int_eq(r.status, 405);
    ck_assert(has_header(&r, "Allow: GET, HEAD"));
    resp_free(&r);
    r = request("DELETE", "/recent", NULL);
    ck_assert_int_eq(r.status, 405);
    resp_free(&r);

    r = request("HEAD", "/stats", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "");
    resp_free(&r);

    r = request("GET", "/", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert(has_header(&r, "Content-Type: text/html; charset=utf-8"));
    ck_assert_ptr_nonnull(strstr(r.body, "<title>connlogd status</title>"));
    /* self-contained: no external scripts, styles or images */
    ck_assert_ptr_null(strstr(r.body, "src=\"http"));
    ck_assert_ptr_null(strstr(r.body, "href=\"http"));
    resp_free(&r);

    r = request("GET", "/metrics", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert(has_header(&r, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
    ck_assert_ptr_nonnull(strstr(r.body, "connlogd_interface_packets_total{interface=\"eth\\\"0\"} 1234\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "connlogd_connections_state_total{state=\"REJ\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "# TYPE connlogd_connections_active gauge\n"));
    resp_free(&r);

    uint64_t ok, c4, c5;
    http_server_counts(srv, &ok, &c4, &c5);
    ck_assert_uint_ge(ok, 3);
    ck_assert_uint_ge(c4, 3);
}
END_TEST

START_TEST(test_health)
{
    resp_t r = request("GET", "/health", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert(g_str_has_prefix(r.body, "{\"status\":\"ok\""));
    resp_free(&r);
    publish(120); /* the main loop has not published for two minutes */
    r = request("GET", "/health", NULL);
    ck_assert_int_eq(r.status, 503);
    ck_assert(g_str_has_prefix(r.body, "{\"status\":\"stalled\""));
    resp_free(&r);
}
END_TEST

START_TEST(test_oversized_request)
{
    GString *big = g_string_new("GET /stats HTTP/1.1\r\nHost: t\r\nX-Pad: ");
    for (int i = 0; i < 64 * 1024; i++)
        g_string_append_c(big, 'a');
    g_string_append(big, "\r\nConnection: close\r\n\r\n");
    GString *out = raw(big->str);
    int status = 0;
    /* refused (431/413/400) or closed without an answer, never served */
    if (out->len)
        ck_assert_int_eq(sscanf(out->str, "HTTP/1.1 %d", &status), 1);
    ck_assert_int_ne(status, 200);
    g_string_free(out, TRUE);
    g_string_free(big, TRUE);

    resp_t r = request("GET", "/stats", NULL); /* still serving */
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
}
END_TEST

START_TEST(test_connection_limit)
{
    int fds[8];
    for (int i = 0; i < 8; i++)
        fds[i] = connect_srv(); /* idle, each holds a slot */
    g_usleep(200000);
    /* the ninth is accepted by the kernel but closed by the server */
    int fd = connect_srv();
    const char *req = "GET /stats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    send(fd, req, strlen(req), MSG_NOSIGNAL);
    char buf[64];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    ck_assert_int_le(n, 0);
    close(fd);
    for (int i = 0; i < 8; i++)
        close(fds[i]);
    g_usleep(200000);
    resp_t r = request("GET", "/health", NULL);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
}
END_TEST

START_TEST(test_token)
{
    resp_t r = request("GET", "/stats", NULL);
    ck_assert_int_eq(r.status, 401);
    ck_assert(has_header(&r, "WWW-Authenticate: Bearer realm=\"connlogd\""));
    resp_free(&r);
    r = request("GET", "/recent", "Authorization: Bearer wrong\r\n");
    ck_assert_int_eq(r.status, 401);
    resp_free(&r);
    r = request("GET", "/recent", "Authorization: Bearer t0ke\r\n");
    ck_assert_int_eq(r.status, 401);
    resp_free(&r);
    r = request("GET", "/stats", "Authorization: Bearer t0ken\r\n");
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    r = request("GET", "/health", NULL); /* open: liveness only */
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    r = request("GET", "/", NULL); /* the page asks for the token itself */
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);

    http_server_set_token(srv, NULL);
    r = request("GET", "/stats", NULL);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
}
END_TEST

START_TEST(test_bad_address)
{
    GError *err = NULL;
    http_config_t hc = {.address = "localhost", .port = 0};
    ck_assert_ptr_null(http_server_start(&hc, board, ring, NULL, &err));
    ck_assert_int_eq(err->code, HTTP_ERROR_ADDRESS);
    g_clear_error(&err);
    /* the port is taken by the fixture's server */
    hc.address = "127.0.0.1";
    hc.port = http_server_port(srv);
    ck_assert_ptr_null(http_server_start(&hc, board, ring, NULL, &err));
    ck_assert_int_eq(err->code, HTTP_ERROR_START);
    g_clear_error(&err);
}
END_TEST

START_TEST(test_json_string)
{
    GString *s = g_string_new(NULL);
    http_json_string(s, "a\"b\\c\n\x01\xff");
    ck_assert_str_eq(s->str, "\"a\\\"b\\\\c\\n\\u0001\xef\xbf\xbd\"");
    g_string_free(s, TRUE);
}
END_TEST

static Suite *
http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("open");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_stats);
    tcase_add_test(tc, test_recent);
    tcase_add_test(tc, test_bad_parameters);
    tcase_add_test(tc, test_status_codes);
    tcase_add_test(tc, test_health);
    tcase_add_test(tc, test_oversized_request);
    tcase_add_test(tc, test_connection_limit);
    tcase_add_test(tc, test_bad_address);
    tcase_add_test(tc, test_json_string);
    suite_add_tcase(s, tc);
    tc = tcase_create("token");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup_token, teardown);
    tcase_add_test(tc, test_token);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(http_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
