/*
 * Check suite for src/app: service identification from hand-built payloads,
 * one test group per protocol with look-alike negatives, Zeek's ordering of
 * the service list (children before parents, STARTTLS after the carrier),
 * removal after a violation, FTP data channels through the engine's
 * expectations, the flow-label mapping, and the DNS exchange of the shipped
 * udp-icmp.pcap sample.
 */
#include <check.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "app/service.h"
#include "app/svc_int.h" /* the FTP PORT/EPRT parsers */

/* ------------------------------------------------------------------ */
/* harness                                                              */

static svc_engine_t *eng;

typedef struct {
    svc_state_t s;
    uint8_t oh[16], rh[16];
    uint16_t op, rp;
    bool tcp, partial;
    double ts;
    char buf[128];
} tc_t;

static void
setup(void)
{
    eng = svc_engine_new();
}

static void
teardown(void)
{
    svc_engine_free(eng);
    eng = NULL;
}

static void
v4(uint8_t a[16], uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
    memset(a, 0, 16);
    a[10] = a[11] = 0xff;
    a[12] = x;
    a[13] = y;
    a[14] = z;
    a[15] = w;
}

/* A connection 10.0.0.1:op -> 10.0.0.2:rp. */
static void
tc_open(tc_t *t, bool tcp, uint16_t op, uint16_t rp)
{
    memset(t, 0, sizeof(*t));
    v4(t->oh, 10, 0, 0, 1);
    v4(t->rh, 10, 0, 0, 2);
    t->op = op;
    t->rp = rp;
    t->tcp = tcp;
    t->ts = 1000.0;
    svc_conn_new(eng, &t->s, t->oh, t->op, t->rh, t->rp, tcp, t->ts);
}

static void
tc_send(tc_t *t, bool is_orig, const void *data, size_t len)
{
    svc_pkt_t p = {
        .is_tcp = t->tcp,
        .is_orig = is_orig,
        .tcp_partial = t->partial,
        .orig_h = t->oh,
        .resp_h = t->rh,
        .orig_p = t->op,
        .resp_p = t->rp,
        .tcp_flags = 0x18,
        .payload = data,
        .len = (uint32_t)len,
        .caplen = (uint32_t)len,
        .ts = t->ts,
    };
    t->ts += 0.01;
    svc_inspect(eng, &t->s, &p);
}

static void
tc_str(tc_t *t, bool is_orig, const char *text)
{
    tc_send(t, is_orig, text, strlen(text));
}

static const char *
tc_svc(tc_t *t)
{
    svc_format(&t->s, t->buf, sizeof(t->buf));
    return t->buf;
}

/* ------------------------------------------------------------------ */
/* payload builders                                                     */

/* A TLS record carrying the start of a ClientHello with @p version. */
static size_t
tls_client_hello(uint8_t *b, uint16_t version)
{
    static const uint8_t hdr[] = {0x16, 0x03, 0x01, 0x00, 0x31, 0x01, 0x00, 0x00, 0x2d};
    memcpy(b, hdr, sizeof(hdr));
    b[9] = (uint8_t)(version >> 8);
    b[10] = (uint8_t)version;
    memset(b + 11, 0x42, 32);      /* random */
    b[43] = 0;                     /* session id */
    b[44] = 0, b[45] = 2, b[46] = 0xc0, b[47] = 0x2f; /* one cipher suite */
    b[48] = 1, b[49] = 0;          /* null compression */
    return 54;
}

static size_t
tls_server_hello(uint8_t *b)
{
    static const uint8_t hdr[] = {0x16, 0x03, 0x03, 0x00, 0x2a, 0x02, 0x00, 0x00, 0x26, 0x03, 0x03};
    memcpy(b, hdr, sizeof(hdr));
    memset(b + sizeof(hdr), 0x11, 36);
    return sizeof(hdr) + 36;
}

/* A DNS query for example.com (A, IN). */
static size_t
dns_query(uint8_t *b, uint16_t qdcount)
{
    static const uint8_t q[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                0x00, 0x00, 7,    'e',  'x',  'a',  'm',  'p',  'l',  'e',
                                3,    'c',  'o',  'm',  0,    0x00, 0x01, 0x00, 0x01};
    memcpy(b, q, sizeof(q));
    b[4] = (uint8_t)(qdcount >> 8);
    b[5] = (uint8_t)qdcount;
    return sizeof(q);
}

/* The answer to dns_query(): one A record. */
static size_t
dns_answer(uint8_t *b)
{
    size_t n = dns_query(b, 1);
    b[2] = 0x81;
    b[3] = 0x80;
    b[7] = 1;
    static const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 93, 184, 216, 34};
    memcpy(b + n, rr, sizeof(rr));
    return n + sizeof(rr);
}

/* SSH binary packet: 4-byte length, padding length, message type. */
static size_t
ssh_packet(uint8_t *b, uint8_t type, size_t payload)
{
    size_t pad = 8 - ((5 + payload) % 8);
    if (pad < 4)
        pad += 8;
    uint32_t len = (uint32_t)(1 + 1 + payload + pad);
    b[0] = (uint8_t)(len >> 24);
    b[1] = (uint8_t)(len >> 16);
    b[2] = (uint8_t)(len >> 8);
    b[3] = (uint8_t)len;
    b[4] = (uint8_t)pad;
    b[5] = type;
    memset(b + 6, 0x5a, payload + pad);
    return 4 + len;
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                 */

START_TEST(http_port_request_reply)
{
    tc_t t;
    tc_open(&t, true, 40000, 80);
    tc_str(&t, true, "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n");
    ck_assert_str_eq(tc_svc(&t), "http");
    tc_str(&t, false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    ck_assert_str_eq(tc_svc(&t), "http");
}
END_TEST

START_TEST(http_dpd_either_side)
{
    tc_t t;
    tc_open(&t, true, 40000, 12345);
    tc_str(&t, true, "POST /api HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert_str_eq(tc_svc(&t), "http");
    /* The server side alone enables the analyzer too; the buffered
     * request is replayed. */
    tc_open(&t, true, 40000, 12346);
    tc_str(&t, true, "FOO");
    tc_str(&t, false, "HTTP/1.0 200 OK\r\n\r\n");
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

START_TEST(http_lookalikes)
{
    tc_t t;
    /* "GET" without a URI is not a request line: a violation on port 80. */
    tc_open(&t, true, 40000, 80);
    tc_str(&t, true, "GET\r\n");
    tc_str(&t, false, "HTTP/1.1 400 Bad Request\r\n\r\n");
    ck_assert_str_eq(tc_svc(&t), "");
    /* Binary data on port 80. */
    tc_open(&t, true, 40000, 80);
    uint8_t bin[] = {0x00, 0x01, 0x02, 0xff, 0x10, 0x20};
    tc_send(&t, true, bin, sizeof(bin));
    ck_assert_str_eq(tc_svc(&t), "");
    /* Plain text that no signature matches on another port. */
    tc_open(&t, true, 40000, 9000);
    tc_str(&t, true, "hello there\r\n");
    tc_str(&t, false, "hi back\r\n");
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

START_TEST(http_removed_after_bad_reply)
{
    /* SSH on port 80 after an HTTP/1.1 request line: the request confirms,
     * the server banner is no status line (a violation within 10 KiB), so
     * the service is removed again. */
    tc_t t;
    tc_open(&t, true, 40000, 80);
    tc_str(&t, true, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert_str_eq(tc_svc(&t), "http");
    tc_str(&t, false, "SSH-2.0-OpenSSH_6.0\r\n");
    ck_assert_str_eq(tc_svc(&t), "");
    /* An HTTP/0.9-style request ("SSH-2.0-... Debian" has no version): the
     * reply is a bare body, so the banner is no violation. */
    tc_open(&t, true, 40000, 80);
    tc_str(&t, true, "SSH-2.0-OpenSSH_5.9p1 Debian-5ubuntu1\r\n");
    tc_str(&t, false, "SSH-2.0-OpenSSH_6.0\r\n");
    ck_assert_str_eq(tc_svc(&t), "http");
}
END_TEST

START_TEST(http_09)
{
    tc_t t;
    tc_open(&t, true, 40000, 80);
    tc_str(&t, true, "GET /\r\n\r\n");
    tc_str(&t, false, "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\">\n");
    ck_assert_str_eq(tc_svc(&t), "http");
}
END_TEST

START_TEST(http_partial_skipped)
{
    tc_t t;
    tc_open(&t, true, 40000, 80);
    t.partial = true;
    tc_str(&t, true, "GET / HTTP/1.1\r\n\r\n");
    tc_str(&t, false, "HTTP/1.1 200 OK\r\n\r\n");
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

START_TEST(http_connect_then_tls)
{
    tc_t t;
    uint8_t b[128];
    tc_open(&t, true, 40000, 3128);
    tc_str(&t, true, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    tc_str(&t, false, "HTTP/1.1 200 Connection established\r\n\r\n");
    tc_send(&t, true, b, tls_client_hello(b, 0x0303));
    tc_send(&t, false, b, tls_server_hello(b));
    ck_assert_str_eq(tc_svc(&t), "http,ssl");
}
END_TEST

START_TEST(http_connect_then_smtp)
{
    tc_t t;
    tc_open(&t, true, 40000, 8080);
    tc_str(&t, true, "CONNECT mail.example.com:25 HTTP/1.0\r\n\r\n");
    tc_str(&t, false, "HTTP/1.0 200 OK\r\n\r\n");
    tc_str(&t, false, "220 mail.example.com ESMTP\r\n");
    tc_str(&t, true, "EHLO client.example.com\r\n");
    ck_assert_str_eq(tc_svc(&t), "http,smtp");
}
END_TEST

START_TEST(http_websocket)
{
    tc_t t;
    tc_open(&t, true, 40000, 80);
    tc_str(&t, true, "GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    tc_str(&t, false, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\n\r\n");
    uint8_t frame[] = {0x81, 0x85, 1, 2, 3, 4, 'h' ^ 1, 'e' ^ 2, 'l' ^ 3, 'l' ^ 4, 'o' ^ 1};
    tc_send(&t, true, frame, sizeof(frame));
    ck_assert_str_eq(tc_svc(&t), "http,websocket");
}
END_TEST

/* ------------------------------------------------------------------ */
/* SSL / DTLS / QUIC                                                     */

START_TEST(ssl_port_and_dpd)
{
    tc_t t;
    uint8_t b[128];
    tc_open(&t, true, 40000, 443);
    tc_send(&t, true, b, tls_client_hello(b, 0x0303));
    ck_assert_str_eq(tc_svc(&t), "ssl");
    tc_open(&t, true, 40000, 5555);
    tc_send(&t, true, b, tls_client_hello(b, 0x0301));
    tc_send(&t, false, b, tls_server_hello(b));
    ck_assert_str_eq(tc_svc(&t), "ssl");
}
END_TEST

START_TEST(ssl_bad_version)
{
    tc_t t;
    uint8_t b[128];
    tc_open(&t, true, 40000, 443);
    tc_send(&t, true, b, tls_client_hello(b, 0x0205));
    tc_send(&t, false, b, tls_server_hello(b));
    ck_assert_str_eq(tc_svc(&t), "");
    /* Not a TLS record at all on 443: SSL is not confirmed (HTTP's own
     * signature finds the request). */
    tc_open(&t, true, 40000, 443);
    tc_str(&t, true, "GET / HTTP/1.1\r\n\r\n");
    ck_assert_str_eq(tc_svc(&t), "http");
}
END_TEST

START_TEST(ssl_removed_after_violation)
{
    tc_t t;
    uint8_t b[128];
    tc_open(&t, true, 40000, 443);
    tc_send(&t, true, b, tls_client_hello(b, 0x0303));
    ck_assert_str_eq(tc_svc(&t), "ssl");
    tc_str(&t, false, "HTTP/1.1 400 Bad Request\r\n\r\n"); /* unknown record type */
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

START_TEST(dtls_client_hello)
{
    tc_t t;
    uint8_t b[64] = {0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x30, 0x01, 0, 0, 0x24,
                     0, 0, 0, 0, 0, 0, 0, 0, 0x24, 0xfe, 0xfd};
    memmove(b + 25, b + 26, 2); /* client_version at offset 25 */
    b[25] = 0xfe;
    b[26] = 0xfd;
    tc_open(&t, false, 40000, 443);
    tc_send(&t, true, b, sizeof(b));
    ck_assert_str_eq(tc_svc(&t), "dtls");
    tc_open(&t, false, 40000, 7777);
    tc_send(&t, true, b, sizeof(b));
    ck_assert_str_eq(tc_svc(&t), "dtls");
}
END_TEST

START_TEST(quic_initial)
{
    tc_t t;
    static uint8_t b[1252];
    memset(b, 0, sizeof(b));
    b[0] = 0xc3;
    b[4] = 0x01; /* version 1 */
    b[5] = 8;    /* DCID */
    memset(b + 6, 0xab, 8);
    b[14] = 0;   /* SCID */
    b[15] = 0;   /* token length */
    b[16] = 0x44, b[17] = 0xd0; /* length 1232 (2-byte varint) */
    tc_open(&t, false, 40000, 443);
    tc_send(&t, true, b, sizeof(b));
    ck_assert_str_eq(tc_svc(&t), "quic,ssl");
    /* An unpadded datagram is no client Initial Zeek could decrypt. */
    tc_open(&t, false, 40000, 443);
    tc_send(&t, true, b, 200);
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

/* ------------------------------------------------------------------ */
/* DNS                                                                  */

START_TEST(dns_udp)
{
    tc_t t;
    uint8_t b[128];
    tc_open(&t, false, 53211, 53);
    tc_send(&t, true, b, dns_query(b, 1));
    ck_assert_str_eq(tc_svc(&t), "dns");
    tc_send(&t, false, b, dns_answer(b));
    ck_assert_str_eq(tc_svc(&t), "dns");
    tc_open(&t, false, 5353, 5353);
    tc_send(&t, true, b, dns_query(b, 1));
    ck_assert_str_eq(tc_svc(&t), "dns");
    /* Not on a DNS port: no analyzer, no signature. */
    tc_open(&t, false, 40000, 9999);
    tc_send(&t, true, b, dns_query(b, 1));
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

START_TEST(dns_garbage)
{
    tc_t t;
    uint8_t b[128];
    /* Garbage whose question count exceeds dns_max_queries. */
    tc_open(&t, false, 40000, 53);
    memset(b, 0xff, 40);
    tc_send(&t, true, b, 40);
    ck_assert_str_eq(tc_svc(&t), "");
    tc_send(&t, true, b, dns_query(b, 1)); /* the analyzer is gone */
    ck_assert_str_eq(tc_svc(&t), "");
    /* A confirmed DNS connection loses the service on such garbage. */
    tc_open(&t, false, 40001, 53);
    tc_send(&t, true, b, dns_query(b, 1));
    ck_assert_str_eq(tc_svc(&t), "dns");
    memset(b, 0xff, 40);
    tc_send(&t, false, b, 40);
    ck_assert_str_eq(tc_svc(&t), "");
    /* A header with a question that is cut off does not confirm. */
    tc_open(&t, false, 40002, 53);
    size_t n = dns_query(b, 1);
    tc_send(&t, true, b, n - 3);
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

START_TEST(dns_tcp)
{
    tc_t t;
    uint8_t b[130];
    size_t n = dns_query(b + 2, 1);
    b[0] = 0;
    b[1] = (uint8_t)n;
    tc_open(&t, true, 40000, 53);
    tc_send(&t, true, b, n + 2);
    ck_assert_str_eq(tc_svc(&t), "dns");
}
END_TEST

/* ------------------------------------------------------------------ */
/* SSH                                                                  */

static void
ssh_handshake(tc_t *t, bool both)
{
    uint8_t b[512];
    tc_str(t, true, "SSH-2.0-OpenSSH_8.9\r\n");
    if (both)
        tc_str(t, false, "SSH-2.0-OpenSSH_8.4\r\n");
    tc_send(t, true, b, ssh_packet(b, 20, 200)); /* KEXINIT */
    if (both)
        tc_send(t, false, b, ssh_packet(b, 20, 180));
    size_t k = ssh_packet(b, 30, 40);     /* KEX_ECDH_INIT */
    k += ssh_packet(b + k, 21, 0);        /* NEWKEYS in the same segment */
    tc_send(t, true, b, k);
}

START_TEST(ssh_newkeys)
{
    tc_t t;
    tc_open(&t, true, 40000, 22);
    ssh_handshake(&t, true);
    ck_assert_str_eq(tc_svc(&t), "ssh");
    /* DPD on another port: both banners match. */
    tc_open(&t, true, 40000, 2222);
    ssh_handshake(&t, true);
    ck_assert_str_eq(tc_svc(&t), "ssh");
}
END_TEST

START_TEST(ssh_one_sided)
{
    tc_t t;
    tc_open(&t, true, 40000, 22);
    ssh_handshake(&t, false);
    ck_assert_str_eq(tc_svc(&t), "");
    /* Banners only, no key exchange: never confirmed. */
    tc_open(&t, true, 40000, 22);
    tc_str(&t, true, "SSH-2.0-scanner\r\n");
    tc_str(&t, false, "SSH-2.0-OpenSSH_8.4\r\n");
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

/* ------------------------------------------------------------------ */
/* FTP and data channels                                                */

START_TEST(ftp_control)
{
    tc_t t;
    tc_open(&t, true, 40000, 21);
    tc_str(&t, false, "220 ProFTPD Server ready.\r\n");
    tc_str(&t, true, "USER anonymous\r\n");
    ck_assert_str_eq(tc_svc(&t), "ftp");
    /* DPD on another port: USER from the client, 220 then 331 from the server. */
    tc_open(&t, true, 40000, 2100);
    tc_str(&t, false, "220 ready\r\n");
    tc_str(&t, true, "USER bob\r\n");
    ck_assert_str_eq(tc_svc(&t), "");
    tc_str(&t, false, "331 Password required\r\n");
    ck_assert_str_eq(tc_svc(&t), "ftp");
}
END_TEST

START_TEST(ftp_violation_first)
{
    tc_t t;
    tc_open(&t, true, 40000, 21);
    tc_str(&t, false, "Welcome to something else\r\n"); /* non-numeric reply code */
    tc_str(&t, true, "USER anonymous\r\n");
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

START_TEST(ftp_data_active)
{
    tc_t t, d;
    tc_open(&t, true, 40000, 21);
    tc_str(&t, false, "220 ready\r\n");
    tc_str(&t, true, "USER ftp\r\n");
    tc_str(&t, true, "PORT 10,0,0,1,200,10\r\n");
    ck_assert_uint_eq(svc_engine_expectations(eng), 1);
    /* The server connects from port 20 to the announced port. */
    memset(&d, 0, sizeof(d));
    v4(d.oh, 10, 0, 0, 2);
    v4(d.rh, 10, 0, 0, 1);
    svc_conn_new(eng, &d.s, d.oh, 20, d.rh, 200 * 256 + 10, true, 1001.0);
    ck_assert_str_eq(tc_svc(&d), "ftp-data");
    /* Used once. */
    svc_conn_new(eng, &d.s, d.oh, 20, d.rh, 200 * 256 + 10, true, 1002.0);
    ck_assert_str_eq(tc_svc(&d), "");
}
END_TEST

START_TEST(ftp_data_passive)
{
    tc_t t, d;
    tc_open(&t, true, 40000, 21);
    tc_str(&t, false, "220 ready\r\n");
    tc_str(&t, true, "USER ftp\r\n");
    tc_str(&t, true, "PASV\r\n");
    tc_str(&t, false, "227 Entering Passive Mode (10,0,0,2,195,80).\r\n");
    memset(&d, 0, sizeof(d));
    svc_conn_new(eng, &d.s, t.oh, 40001, t.rh, 195 * 256 + 80, true, 1001.0);
    ck_assert_str_eq(tc_svc(&d), "ftp-data");
    /* EPSV: the address is the control connection's responder. */
    tc_str(&t, true, "EPSV\r\n");
    tc_str(&t, false, "229 Entering Extended Passive Mode (|||6446|)\r\n");
    svc_conn_new(eng, &d.s, t.oh, 40002, t.rh, 6446, true, 1002.0);
    ck_assert_str_eq(tc_svc(&d), "ftp-data");
    /* A 227 that does not answer PASV announces nothing. */
    tc_str(&t, true, "NOOP\r\n");
    tc_str(&t, false, "227 Entering Passive Mode (10,0,0,2,1,1).\r\n");
    svc_conn_new(eng, &d.s, t.oh, 40003, t.rh, 257, true, 1003.0);
    ck_assert_str_eq(tc_svc(&d), "");
    /* Expectations expire after five minutes. */
    tc_str(&t, true, "PASV\r\n");
    tc_str(&t, false, "227 Entering Passive Mode (10,0,0,2,1,2).\r\n");
    svc_conn_new(eng, &d.s, t.oh, 40004, t.rh, 258, true, t.ts + 301.0);
    ck_assert_str_eq(tc_svc(&d), "");
}
END_TEST

START_TEST(ftp_parsers)
{
    uint8_t a[16];
    uint16_t port;
    bool set;
    ck_assert(svc_ftp_parse_port((const uint8_t *)"192,168,1,2,4,1", 15, a, &port));
    ck_assert_uint_eq(a[12], 192);
    ck_assert_uint_eq(a[15], 2);
    ck_assert_uint_eq(port, 1025);
    ck_assert(!svc_ftp_parse_port((const uint8_t *)"192,168,1,256,4,1", 17, a, &port));
    ck_assert(!svc_ftp_parse_port((const uint8_t *)"192,168,1", 9, a, &port));
    ck_assert(svc_ftp_parse_eport((const uint8_t *)"|2|2001:db8::1|5282|", 20, a, &set, &port));
    ck_assert(set);
    ck_assert_uint_eq(a[0], 0x20);
    ck_assert_uint_eq(port, 5282);
    ck_assert(svc_ftp_parse_eport((const uint8_t *)"|||6446|", 8, a, &set, &port));
    ck_assert(!set);
    ck_assert(!svc_ftp_parse_eport((const uint8_t *)"|1|10.0.0.1|99999|", 18, a, &set, &port));
}
END_TEST

START_TEST(ftp_auth_tls)
{
    tc_t t;
    uint8_t b[128];
    tc_open(&t, true, 40000, 21);
    tc_str(&t, false, "220 ready\r\n");
    tc_str(&t, true, "AUTH TLS\r\n");
    tc_str(&t, false, "234 AUTH TLS successful\r\n");
    tc_send(&t, true, b, tls_client_hello(b, 0x0303));
    ck_assert_str_eq(tc_svc(&t), "ftp,ssl");
}
END_TEST

/* ------------------------------------------------------------------ */
/* mail and chat                                                        */

START_TEST(smtp_starttls_order)
{
    tc_t t;
    uint8_t b[128];
    tc_open(&t, true, 40000, 25);
    tc_str(&t, false, "220 mx.example.com ESMTP\r\n");
    tc_str(&t, true, "EHLO me.example.com\r\n");
    tc_str(&t, false, "250-mx.example.com\r\n250 STARTTLS\r\n");
    tc_str(&t, true, "STARTTLS\r\n");
    tc_str(&t, false, "220 2.0.0 Ready to start TLS\r\n");
    tc_send(&t, true, b, tls_client_hello(b, 0x0303));
    ck_assert_str_eq(tc_svc(&t), "smtp,ssl");
}
END_TEST

START_TEST(smtp_negative)
{
    tc_t t;
    tc_open(&t, true, 40000, 25);
    tc_str(&t, false, "hello, this is not SMTP\r\n");
    tc_str(&t, true, "EHLO me\r\n");
    ck_assert_str_eq(tc_svc(&t), "");
    /* An unknown command does not confirm. */
    tc_open(&t, true, 40000, 25);
    tc_str(&t, false, "220 mx ESMTP\r\n");
    tc_str(&t, true, "XYZZY plugh\r\n");
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

START_TEST(pop3)
{
    tc_t t;
    uint8_t b[128];
    tc_open(&t, true, 40000, 110);
    /* Zeek's resp-serialized-server signature enables Redis from a "+OK"
     * line alone and the parsed simple string confirms it, before POP3
     * confirms on the +OK answering USER. */
    tc_str(&t, false, "+OK POP3 server ready\r\n");
    ck_assert_str_eq(tc_svc(&t), "redis");
    tc_str(&t, true, "USER alice\r\n");
    tc_str(&t, false, "+OK\r\n");
    ck_assert_str_eq(tc_svc(&t), "redis,pop3");
    /* A reply line split over two segments: the second half is no line of
     * its own (it would be an unknown server command). */
    tc_open(&t, true, 40000, 110);
    tc_str(&t, false, "+OK POP3 server ready\r\n");
    tc_str(&t, true, "USER alice\r\n");
    tc_str(&t, false, "+OK user");
    tc_str(&t, false, " accepted\r\n");
    ck_assert_str_eq(tc_svc(&t), "redis,pop3");
    tc_open(&t, true, 40000, 110);
    tc_str(&t, false, "+OK ready\r\n");
    tc_str(&t, true, "STLS\r\n");
    tc_str(&t, false, "+OK Begin TLS\r\n");
    tc_send(&t, true, b, tls_client_hello(b, 0x0303));
    ck_assert_str_eq(tc_svc(&t), "redis,pop3,ssl");
    tc_open(&t, true, 40000, 110);
    tc_str(&t, false, "* OK IMAP4 ready\r\n"); /* unknown server command */
    tc_str(&t, true, "USER alice\r\n");
    tc_str(&t, false, "+OK\r\n");
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

START_TEST(imap)
{
    tc_t t;
    uint8_t b[128];
    tc_open(&t, true, 40000, 143);
    tc_str(&t, false, "* OK IMAP4rev1 ready\r\n");
    ck_assert_str_eq(tc_svc(&t), "imap");
    tc_str(&t, true, "a1 STARTTLS\r\n");
    tc_str(&t, false, "a1 OK Begin TLS negotiation now\r\n");
    tc_send(&t, true, b, tls_client_hello(b, 0x0303));
    ck_assert_str_eq(tc_svc(&t), "imap,ssl");
    tc_open(&t, true, 40000, 143);
    tc_str(&t, false, "garbage\r\n");
    tc_str(&t, false, "* OK ready\r\n");
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

START_TEST(irc)
{
    tc_t t;
    uint8_t b[128];
    tc_open(&t, true, 40000, 6667);
    tc_str(&t, true, "NICK zeek\r\nUSER zeek 0 * :Zeek\r\n");
    ck_assert_str_eq(tc_svc(&t), "irc");
    tc_str(&t, true, "STARTTLS\r\n");
    tc_str(&t, false, ":irc.example.net 670 zeek :STARTTLS successful\r\n");
    tc_send(&t, true, b, tls_client_hello(b, 0x0303));
    ck_assert_str_eq(tc_svc(&t), "irc,ssl");
    /* DPD on another port needs the server's numeric reply too. */
    tc_open(&t, true, 40000, 7000);
    tc_str(&t, true, "NICK zeek\r\nUSER zeek 0 * :Zeek\r\n");
    ck_assert_str_eq(tc_svc(&t), "");
    tc_str(&t, false, ":irc.example.net 001 zeek :Welcome\r\n");
    ck_assert_str_eq(tc_svc(&t), "irc");
    /* A numeric that is not three digits and a blank is a violation. */
    tc_open(&t, true, 40000, 6667);
    tc_str(&t, true, "NICK zeek\r\n");
    tc_str(&t, false, "2.1-178 | 2013-03-07\r\n");
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

START_TEST(xmpp)
{
    tc_t t;
    uint8_t b[128];
    tc_open(&t, true, 40000, 5222);
    tc_str(&t, true, "<?xml version='1.0'?><stream:stream to='example.com' "
                     "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
    ck_assert_str_eq(tc_svc(&t), "xmpp");
    tc_str(&t, true, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    tc_str(&t, false, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    tc_send(&t, true, b, tls_client_hello(b, 0x0303));
    ck_assert_str_eq(tc_svc(&t), "xmpp,ssl");
}
END_TEST

/* ------------------------------------------------------------------ */
/* databases                                                            */

START_TEST(mysql)
{
    tc_t t;
    uint8_t b[128];
    uint8_t greet[] = {0x0a, 0, 0, 0, 0x0a, '8', '.', '0', 0, 1, 2, 3, 4};
    greet[0] = sizeof(greet) - 4;
    uint8_t resp[40] = {36, 0, 0, 1, 0x85, 0xa6, 0x0f, 0};
    tc_open(&t, true, 40000, 3306);
    tc_send(&t, false, greet, sizeof(greet));
    tc_send(&t, true, resp, sizeof(resp));
    ck_assert_str_eq(tc_svc(&t), "mysql");
    /* An SSL request (CLIENT_SSL) hands the stream to the SSL analyzer. */
    uint8_t sslreq[36] = {32, 0, 0, 1, 0x05, 0xae, 0xff, 0x01};
    tc_open(&t, true, 40000, 3306);
    tc_send(&t, false, greet, sizeof(greet));
    tc_send(&t, true, sslreq, sizeof(sslreq));
    tc_send(&t, true, b, tls_client_hello(b, 0x0303));
    ck_assert_str_eq(tc_svc(&t), "mysql,ssl");
    /* No greeting from a MySQL server: nothing. */
    tc_open(&t, true, 40000, 3306);
    tc_str(&t, false, "HTTP/1.1 200 OK\r\n\r\n");
    tc_send(&t, true, resp, sizeof(resp));
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

START_TEST(postgresql)
{
    tc_t t;
    uint8_t b[128];
    static const uint8_t startup[] = {0, 0, 0, 0x21, 0, 3, 0, 0, 'u', 's', 'e', 'r', 0, 'b',
                                      'o', 'b', 0, 'd', 'a', 't', 'a', 'b', 'a', 's', 'e', 0,
                                      'd', 'b', 0, 0, 0, 0, 0};
    uint8_t su[sizeof(startup)];
    memcpy(su, startup, sizeof(su));
    su[3] = 30; /* length: header, two parameters, terminator */
    tc_open(&t, true, 40000, 5432);
    tc_send(&t, true, su, 30);
    ck_assert_str_eq(tc_svc(&t), "postgresql");
    static const uint8_t sslreq[] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
    tc_open(&t, true, 40000, 15432); /* DPD: SSLRequest and 'S' */
    tc_send(&t, true, sslreq, sizeof(sslreq));
    tc_str(&t, false, "S");
    tc_send(&t, true, b, tls_client_hello(b, 0x0303));
    ck_assert_str_eq(tc_svc(&t), "postgresql,ssl");
    /* Protocol version 2 is rejected. */
    su[5] = 2;
    tc_open(&t, true, 40000, 5432);
    tc_send(&t, true, su, 30);
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

START_TEST(redis)
{
    tc_t t;
    tc_open(&t, true, 40000, 6379);
    tc_str(&t, true, "*1\r\n$4\r\nPING\r\n");
    tc_str(&t, false, "+PONG\r\n");
    ck_assert_str_eq(tc_svc(&t), "redis");
    tc_open(&t, true, 40000, 16379);
    tc_str(&t, true, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    tc_str(&t, false, "$5\r\nhello\r\n");
    ck_assert_str_eq(tc_svc(&t), "redis");
    /* A simple string first, then data that is no RESP value: removed. */
    tc_open(&t, true, 40000, 6379);
    tc_str(&t, false, "+OK ready\r\n");
    ck_assert_str_eq(tc_svc(&t), "redis");
    tc_str(&t, false, "Return-Path: <x@example.com>\r\n");
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

/* ------------------------------------------------------------------ */
/* LDAP, Kerberos, GSSAPI, NTLM                                         */

static const uint8_t ldap_search[] = {
    0x30, 0x25, 0x02, 0x01, 0x01, 0x63, 0x20, 0x04, 0x00, 0x0a, 0x01, 0x00, 0x0a,
    0x01, 0x00, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x01, 0x01, 0x00, 0x87, 0x0b,
    'o',  'b',  'j',  'e',  'c',  't',  'c',  'l',  'a',  's',  's',  0x30, 0x00};

START_TEST(ldap_search_confirms)
{
    tc_t t;
    tc_open(&t, true, 40000, 389);
    tc_send(&t, true, ldap_search, sizeof(ldap_search));
    ck_assert_str_eq(tc_svc(&t), "ldap_tcp");
    tc_open(&t, false, 40000, 389);
    tc_send(&t, true, ldap_search, sizeof(ldap_search));
    ck_assert_str_eq(tc_svc(&t), "ldap_udp");
    /* Not a message: LDAP is not confirmed (HTTP's signature finds the request). */
    tc_open(&t, true, 40000, 389);
    tc_str(&t, true, "GET / HTTP/1.1\r\n\r\n");
    ck_assert_str_eq(tc_svc(&t), "http");
    tc_open(&t, true, 40000, 389);
    static const uint8_t junk[] = {0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01};
    tc_send(&t, true, junk, sizeof(junk));
    tc_send(&t, false, junk, sizeof(junk));
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

/* A bind request whose SASL credentials are @p cred (mechanism GSS-SPNEGO). */
static size_t
ldap_sasl_bind(uint8_t *b, const uint8_t *cred, size_t cl)
{
    size_t mech = 10;
    size_t sasl = 2 + mech + 4 + cl; /* [3] content: mechanism + credentials */
    size_t bind = 3 + 2 + 4 + sasl;  /* version, empty name, [3] header */
    size_t msg = 3 + 4 + bind;       /* messageID, op header */
    size_t k = 0;
    b[k++] = 0x30, b[k++] = 0x82, b[k++] = (uint8_t)(msg >> 8), b[k++] = (uint8_t)msg;
    b[k++] = 0x02, b[k++] = 0x01, b[k++] = 0x07;
    b[k++] = 0x60, b[k++] = 0x82, b[k++] = (uint8_t)(bind >> 8), b[k++] = (uint8_t)bind;
    b[k++] = 0x02, b[k++] = 0x01, b[k++] = 0x03;
    b[k++] = 0x04, b[k++] = 0x00;
    b[k++] = 0xa3, b[k++] = 0x82, b[k++] = (uint8_t)(sasl >> 8), b[k++] = (uint8_t)sasl;
    b[k++] = 0x04, b[k++] = (uint8_t)mech;
    memcpy(b + k, "GSS-SPNEGO", mech);
    k += mech;
    b[k++] = 0x04, b[k++] = 0x82, b[k++] = (uint8_t)(cl >> 8), b[k++] = (uint8_t)cl;
    memcpy(b + k, cred, cl);
    return k + cl;
}

/* An SPNEGO negTokenInit whose mechToken is a Kerberos AP-REQ. */
static size_t
spnego_krb(uint8_t *b)
{
    static const uint8_t apreq[] = {0x6e, 0x0c, 0x30, 0x0a, 0xa0, 0x03, 0x02, 0x01,
                                    0x05, 0xa1, 0x03, 0x02, 0x01, 0x0e};
    static const uint8_t krb5[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
    uint8_t blob[64];
    size_t k = 0;
    blob[k++] = 0x60, blob[k++] = (uint8_t)(sizeof(krb5) + 2 + sizeof(apreq));
    memcpy(blob + k, krb5, sizeof(krb5)), k += sizeof(krb5);
    blob[k++] = 0x01, blob[k++] = 0x00;
    memcpy(blob + k, apreq, sizeof(apreq)), k += sizeof(apreq);
    size_t bl = k;
    static const uint8_t spnego[] = {0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
    size_t n = 0;
    size_t mt = 2 + bl;       /* OCTET STRING */
    size_t arg = 2 + mt;      /* [2] */
    size_t seq = 2 + arg;     /* SEQUENCE */
    size_t a0 = seq;          /* [0] content */
    b[n++] = 0x60, b[n++] = (uint8_t)(sizeof(spnego) + 2 + a0);
    memcpy(b + n, spnego, sizeof(spnego)), n += sizeof(spnego);
    b[n++] = 0xa0, b[n++] = (uint8_t)a0;
    b[n++] = 0x30, b[n++] = (uint8_t)arg;
    b[n++] = 0xa2, b[n++] = (uint8_t)mt;
    b[n++] = 0x04, b[n++] = (uint8_t)bl;
    memcpy(b + n, blob, bl);
    return n + bl;
}

START_TEST(ldap_sasl_children_order)
{
    tc_t t;
    uint8_t cred[128], b[256];
    size_t cl = spnego_krb(cred);
    tc_open(&t, true, 40000, 389);
    tc_send(&t, true, b, ldap_sasl_bind(b, cred, cl));
    /* Kerberos confirms while GSSAPI parses, GSSAPI before the LDAP
     * message ends. */
    ck_assert_str_eq(tc_svc(&t), "krb,gssapi,ldap_tcp");
    /* A search first, the bind later. */
    tc_open(&t, true, 40000, 389);
    tc_send(&t, true, ldap_search, sizeof(ldap_search));
    tc_send(&t, true, b, ldap_sasl_bind(b, cred, cl));
    ck_assert_str_eq(tc_svc(&t), "ldap_tcp,krb,gssapi");
    /* Raw NTLMSSP credentials go to NTLM directly. */
    static const uint8_t ntlm[] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 1, 0, 0, 0, 0x07, 0x82, 0x08, 0xa2};
    tc_open(&t, true, 40000, 389);
    tc_send(&t, true, b, ldap_sasl_bind(b, ntlm, sizeof(ntlm)));
    ck_assert_str_eq(tc_svc(&t), "ntlm,ldap_tcp");
}
END_TEST

START_TEST(ldap_starttls)
{
    tc_t t;
    uint8_t b[128];
    static const char oid[] = "1.3.6.1.4.1.1466.20037";
    uint8_t req[64];
    size_t k = 0, ol = sizeof(oid) - 1;
    req[k++] = 0x30, req[k++] = (uint8_t)(3 + 2 + 2 + ol);
    req[k++] = 0x02, req[k++] = 0x01, req[k++] = 0x01;
    req[k++] = 0x77, req[k++] = (uint8_t)(2 + ol);
    req[k++] = 0x80, req[k++] = (uint8_t)ol;
    memcpy(req + k, oid, ol), k += ol;
    static const uint8_t rsp[] = {0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a,
                                  0x01, 0x00, 0x04, 0x00, 0x04, 0x00};
    tc_open(&t, true, 40000, 389);
    tc_send(&t, true, req, k);
    tc_send(&t, false, rsp, sizeof(rsp));
    tc_send(&t, true, b, tls_client_hello(b, 0x0303));
    ck_assert_str_eq(tc_svc(&t), "ldap_tcp,ssl");
}
END_TEST

START_TEST(krb)
{
    tc_t t;
    static const uint8_t asreq[] = {0x6a, 0x14, 0x30, 0x12, 0xa1, 0x03, 0x02, 0x01, 0x05,
                                    0xa2, 0x03, 0x02, 0x01, 0x0a, 0xa4, 0x06, 0x30, 0x04,
                                    0xa0, 0x02, 0x03, 0x00};
    tc_open(&t, false, 40000, 88);
    tc_send(&t, true, asreq, sizeof(asreq));
    ck_assert_str_eq(tc_svc(&t), "krb");
    tc_open(&t, false, 40000, 8888); /* dpd_krb_udp_requests */
    tc_send(&t, true, asreq, sizeof(asreq));
    ck_assert_str_eq(tc_svc(&t), "krb");
    uint8_t tcpmsg[4 + sizeof(asreq)] = {0, 0, 0, sizeof(asreq)};
    memcpy(tcpmsg + 4, asreq, sizeof(asreq));
    tc_open(&t, true, 40000, 88);
    tc_send(&t, true, tcpmsg, sizeof(tcpmsg));
    ck_assert_str_eq(tc_svc(&t), "krb_tcp");
    /* pvno 4 is no Kerberos 5 message. */
    uint8_t bad[sizeof(asreq)];
    memcpy(bad, asreq, sizeof(bad));
    bad[8] = 4;
    tc_open(&t, false, 40000, 88);
    tc_send(&t, true, bad, sizeof(bad));
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

/* ------------------------------------------------------------------ */
/* SMB, DCE-RPC, RDP                                                    */

/* NetBIOS + SMB2 header (+ body of @p body bytes) for @p cmd. */
static size_t
smb2(uint8_t *b, uint16_t cmd, bool resp, size_t body)
{
    size_t len = 64 + body;
    memset(b, 0, 4 + len);
    b[1] = (uint8_t)(len >> 16), b[2] = (uint8_t)(len >> 8), b[3] = (uint8_t)len;
    uint8_t *h = b + 4;
    h[0] = 0xfe, h[1] = 'S', h[2] = 'M', h[3] = 'B';
    h[4] = 64;
    h[12] = (uint8_t)cmd;
    h[16] = resp ? 1 : 0;
    return 4 + len;
}

START_TEST(smb_gssapi_ntlm)
{
    tc_t t;
    static uint8_t b[512];
    tc_open(&t, true, 40000, 445);
    tc_send(&t, true, b, smb2(b, 0, false, 36)); /* NEGOTIATE request */
    ck_assert_str_eq(tc_svc(&t), "");
    /* NEGOTIATE response with an SPNEGO negTokenInit as security blob. */
    uint8_t tok[128];
    size_t tl = spnego_krb(tok);
    size_t n = smb2(b, 0, true, 64 + tl);
    uint8_t *body = b + 4 + 64;
    body[56] = 128, body[57] = 0;                 /* offset from the SMB2 header */
    body[58] = (uint8_t)tl, body[59] = 0;
    memcpy(b + 4 + 128, tok, tl);
    tc_send(&t, false, b, n);
    ck_assert_str_eq(tc_svc(&t), "krb,gssapi");
    /* SESSION_SETUP request with raw NTLMSSP: the third chunk confirms SMB. */
    static const uint8_t ntlm[] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 1, 0, 0, 0, 7, 0x82, 8, 0xa2};
    n = smb2(b, 1, false, 24 + sizeof(ntlm));
    body = b + 4 + 64;
    body[12] = 88, body[14] = sizeof(ntlm);
    memcpy(b + 4 + 88, ntlm, sizeof(ntlm));
    tc_send(&t, true, b, n);
    ck_assert_str_eq(tc_svc(&t), "krb,gssapi,ntlm,smb");
}
END_TEST

START_TEST(dcerpc)
{
    tc_t t;
    uint8_t bind[72] = {0x05, 0x00, 0x0b, 0x03, 0x10, 0x00, 0x00, 0x00, 72, 0};
    tc_open(&t, true, 40000, 135);
    tc_send(&t, true, bind, sizeof(bind));
    ck_assert_str_eq(tc_svc(&t), "dce_rpc");
    tc_open(&t, true, 40000, 502); /* dpd_dce_rpc on another port */
    tc_send(&t, true, bind, sizeof(bind));
    ck_assert_str_eq(tc_svc(&t), "dce_rpc");
    /* A PDU longer than what was seen does not confirm yet. */
    bind[8] = 0, bind[9] = 0x10;
    tc_open(&t, true, 40000, 135);
    tc_send(&t, true, bind, sizeof(bind));
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

START_TEST(rdp)
{
    tc_t t;
    uint8_t b[128];
    static const char cookie[] = "Cookie: mstshash=admin\r\n";
    uint8_t cr[64] = {0x03, 0x00, 0, 0, 0, 0xe0, 0, 0, 0, 0, 0};
    memcpy(cr + 11, cookie, sizeof(cookie) - 1);
    size_t crl = 11 + sizeof(cookie) - 1;
    cr[3] = (uint8_t)crl, cr[4] = (uint8_t)(crl - 5);
    /* Connection Confirm selecting TLS (RDP_NEG_RSP, protocol 1). */
    uint8_t cc[19] = {0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0, 0, 0x12, 0x34, 0,
                      0x02, 0x00, 0x08, 0x00, 0x01, 0, 0, 0};
    tc_open(&t, true, 40000, 3389);
    tc_send(&t, true, cr, crl);
    tc_send(&t, false, cc, sizeof(cc));
    tc_send(&t, true, b, tls_client_hello(b, 0x0303));
    ck_assert_str_eq(tc_svc(&t), "ssl");
    /* Standard RDP security: the MCS Connect-Initial confirms. */
    cc[15] = 0;
    uint8_t mcs[48] = {0x03, 0x00, 0x00, 48, 0x02, 0xf0, 0x80, 0x7f, 0x65};
    memcpy(mcs + 30, "Duca", 4);
    tc_open(&t, true, 40000, 13389); /* DPD: cookie and X.224 CC */
    tc_send(&t, true, cr, crl);
    tc_send(&t, false, cc, sizeof(cc));
    tc_send(&t, true, mcs, sizeof(mcs));
    ck_assert_str_eq(tc_svc(&t), "rdp");
}
END_TEST

/* ------------------------------------------------------------------ */
/* UDP protocols                                                        */

START_TEST(udp_misc)
{
    tc_t t;
    uint8_t b[300];
    /* RDPEUDP: SYN from the client, SYN+ACK from the server. */
    uint8_t syn[8] = {0xff, 0xff, 0xff, 0xff, 0x04, 0x00, 0x00, 0x01};
    uint8_t synack[8] = {0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x05};
    tc_open(&t, false, 40000, 3389);
    tc_send(&t, true, syn, sizeof(syn));
    ck_assert_str_eq(tc_svc(&t), "");
    tc_send(&t, false, synack, sizeof(synack));
    ck_assert_str_eq(tc_svc(&t), "rdpeudp");
    tc_open(&t, false, 40000, 3389); /* only SYNs: the handshake failed */
    tc_send(&t, true, syn, sizeof(syn));
    tc_send(&t, true, syn, sizeof(syn));
    ck_assert_str_eq(tc_svc(&t), "");
    /* SIP: only a reply from the responder confirms. */
    tc_open(&t, false, 5060, 5060);
    tc_str(&t, true, "INVITE sip:bob@example.com SIP/2.0\r\nVia: x\r\n\r\n");
    ck_assert_str_eq(tc_svc(&t), "");
    tc_str(&t, false, "SIP/2.0 180 Ringing\r\nVia: x\r\n\r\n");
    ck_assert_str_eq(tc_svc(&t), "sip");
    /* SNMP: a GetResponse from the agent confirms, the request does not. */
    static const uint8_t snmp[] = {0x30, 0x1a, 0x02, 0x01, 0x01, 0x04, 0x06, 'p', 'u', 'b',
                                   'l',  'i',  'c',  0xa2, 0x0d, 0x02, 0x01, 0x01, 0x02, 0x01,
                                   0x00, 0x02, 0x01, 0x00, 0x30, 0x02, 0x30, 0x00};
    tc_open(&t, false, 40000, 161);
    tc_send(&t, true, snmp, sizeof(snmp));
    ck_assert_str_eq(tc_svc(&t), "");
    tc_send(&t, false, snmp, sizeof(snmp));
    ck_assert_str_eq(tc_svc(&t), "snmp");
    /* NTP client request. */
    memset(b, 0, 48);
    b[0] = 0x23; /* v4, client */
    tc_open(&t, false, 40000, 123);
    tc_send(&t, true, b, 48);
    ck_assert_str_eq(tc_svc(&t), "ntp");
    tc_open(&t, false, 40000, 123);
    tc_send(&t, true, b, 20); /* too short for mode 3 */
    ck_assert_str_eq(tc_svc(&t), "");
    /* DHCP DISCOVER (magic cookie at 236). */
    memset(b, 0, 300);
    b[0] = 1, b[1] = 1, b[2] = 6;
    b[236] = 0x63, b[237] = 0x82, b[238] = 0x53, b[239] = 0x63;
    tc_open(&t, false, 68, 67);
    tc_send(&t, true, b, 300);
    ck_assert_str_eq(tc_svc(&t), "dhcp");
    tc_open(&t, false, 40000, 4444); /* dhcp_cookie on any port */
    tc_send(&t, true, b, 300);
    ck_assert_str_eq(tc_svc(&t), "dhcp");
    /* syslog */
    tc_open(&t, false, 40000, 514);
    tc_str(&t, true, "<34>Oct 11 22:14:15 host su: 'su root' failed");
    ck_assert_str_eq(tc_svc(&t), "syslog");
    tc_open(&t, false, 40000, 514);
    tc_str(&t, true, "no priority here");
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

/* ------------------------------------------------------------------ */
/* SOCKS, Modbus, DNP3, MQTT                                            */

START_TEST(socks_tunnel)
{
    tc_t t;
    static const uint8_t req4[] = {0x04, 0x01, 0x00, 0x50, 10, 0, 0, 9, 'u', 0};
    static const uint8_t rep4[] = {0x00, 0x5a, 0x00, 0x50, 10, 0, 0, 9};
    tc_open(&t, true, 40000, 1080);
    tc_send(&t, true, req4, sizeof(req4));
    tc_send(&t, false, rep4, sizeof(rep4));
    ck_assert_str_eq(tc_svc(&t), "socks");
    /* The tunnelled stream is identified by DPD. */
    tc_str(&t, true, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert_str_eq(tc_svc(&t), "socks,http");
    /* SOCKS5 with user/password authentication on another port. */
    static const uint8_t hello[] = {0x05, 0x01, 0x02};
    static const uint8_t method[] = {0x05, 0x02};
    static const uint8_t auth[] = {0x01, 0x01, 'u', 0x01, 'p'};
    static const uint8_t authok[] = {0x01, 0x00};
    static const uint8_t req5[] = {0x05, 0x01, 0x00, 0x01, 10, 0, 0, 9, 0x00, 0x50};
    static const uint8_t rep5[] = {0x05, 0x00, 0x00, 0x01, 10, 0, 0, 1, 0x12, 0x34};
    tc_open(&t, true, 40000, 1081);
    tc_send(&t, true, hello, sizeof(hello));
    tc_send(&t, false, method, sizeof(method));
    tc_send(&t, true, auth, sizeof(auth));
    tc_send(&t, false, authok, sizeof(authok));
    tc_send(&t, true, req5, sizeof(req5));
    ck_assert_str_eq(tc_svc(&t), "");
    tc_send(&t, false, rep5, sizeof(rep5));
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

START_TEST(modbus)
{
    tc_t t;
    static const uint8_t req[] = {0, 1, 0, 0, 0, 6, 0x0a, 0x01, 0, 0, 0, 1};
    static const uint8_t rsp[] = {0, 1, 0, 0, 0, 4, 0x0a, 0x01, 0x01, 0x00};
    tc_open(&t, true, 40000, 502);
    tc_send(&t, true, req, sizeof(req));
    ck_assert_str_eq(tc_svc(&t), "");
    tc_send(&t, false, rsp, sizeof(rsp));
    ck_assert_str_eq(tc_svc(&t), "modbus");
    /* A device that answers anything with a short exception: one side only. */
    tc_open(&t, true, 40000, 502);
    tc_str(&t, true, "MGLNDD_10.0.0.1_502\n");
    static const uint8_t echo[] = {'M', 'G', 'L', 'N', 0, 3, 0x5f, 0xb1, 0x01};
    tc_send(&t, false, echo, sizeof(echo));
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

START_TEST(dnp3)
{
    tc_t t;
    /* Link header 05 64 05 c9 0001 0002 + CRC (computed by the sender). */
    uint8_t f[10] = {0x05, 0x64, 0x05, 0xc9, 0x01, 0x00, 0x02, 0x00};
    uint16_t crc = 0;
    for (int i = 0; i < 8; i++) {
        crc ^= f[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xa6bc) : (uint16_t)(crc >> 1);
    }
    crc = (uint16_t)~crc;
    f[8] = (uint8_t)crc, f[9] = (uint8_t)(crc >> 8);
    tc_open(&t, true, 40000, 20000);
    tc_send(&t, true, f, sizeof(f));
    ck_assert_str_eq(tc_svc(&t), "dnp3");
    f[9] ^= 0xff;
    tc_open(&t, true, 40000, 20000);
    tc_send(&t, true, f, sizeof(f));
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

START_TEST(mqtt)
{
    tc_t t;
    static const uint8_t connect[] = {0x10, 0x10, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02,
                                      0x00, 0x3c, 0x00, 0x04, 't',  'e', 's', 't'};
    tc_open(&t, true, 40000, 1883);
    tc_send(&t, true, connect, sizeof(connect));
    ck_assert_str_eq(tc_svc(&t), "mqtt");
    tc_open(&t, true, 40000, 11883); /* dpd_mqtt */
    tc_send(&t, true, connect, sizeof(connect));
    ck_assert_str_eq(tc_svc(&t), "mqtt");
}
END_TEST

/* ------------------------------------------------------------------ */
/* list handling, labels, bounds                                        */

START_TEST(names_order_and_format)
{
    tc_t t;
    uint8_t b[128];
    tc_open(&t, false, 40000, 4789);
    svc_add_name(&t.s, "vxlan");
    svc_add_name(&t.s, "no-such-service");
    svc_add_name(&t.s, "vxlan");
    tc_open(&t, false, 40000, 53);
    svc_add_name(&t.s, "teredo");
    tc_send(&t, true, b, dns_query(b, 1));
    ck_assert_str_eq(tc_svc(&t), "teredo,dns");
    char small[8];
    ck_assert_uint_eq(svc_format(&t.s, small, sizeof(small)), 7);
    ck_assert_str_eq(small, "teredo,");
    ck_assert_str_eq(svc_name(0), "");
    ck_assert_str_eq(svc_name(250), "");
}
END_TEST

START_TEST(app_labels)
{
    svc_state_t s;
    svc_conn_new(NULL, &s, (const uint8_t *)"0123456789abcdef", 1, (const uint8_t *)"0123456789abcdef",
                 2, true, 0);
    ck_assert(svc_from_app_label(&s, 80));
    ck_assert(svc_from_app_label(&s, 443));
    ck_assert(!svc_from_app_label(&s, 9999));
    char buf[64];
    svc_format(&s, buf, sizeof(buf));
    ck_assert_str_eq(buf, "http,ssl");
    svc_conn_new(NULL, &s, (const uint8_t *)"0123456789abcdef", 1, (const uint8_t *)"0123456789abcdef",
                 2, false, 0);
    ck_assert(svc_from_app_label(&s, 53));
    ck_assert(svc_from_app_label(&s, 22));
    svc_format(&s, buf, sizeof(buf));
    ck_assert_str_eq(buf, "dns,ssh");
}
END_TEST

START_TEST(bounded_inspection)
{
    tc_t t;
    static uint8_t junk[1400];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)('a' + i % 26);
    tc_open(&t, true, 40000, 9000);
    for (int i = 0; i < 200 && !t.s.done; i++)
        tc_send(&t, i % 2 == 0, junk, sizeof(junk));
    ck_assert(t.s.done);
    ck_assert_uint_le(t.s.pkts[0] + t.s.pkts[1], 60);
    ck_assert_str_eq(tc_svc(&t), "");
    /* Truncated captures (caplen < len) and empty payloads are fine. */
    tc_open(&t, true, 40000, 80);
    svc_pkt_t p = {.is_tcp = true, .is_orig = true, .orig_h = t.oh, .resp_h = t.rh,
                   .orig_p = t.op, .resp_p = t.rp, .payload = (const uint8_t *)"GE",
                   .len = 300, .caplen = 2, .ts = 1};
    svc_inspect(eng, &t.s, &p);
    p.caplen = 0;
    svc_inspect(eng, &t.s, &p);
    ck_assert_str_eq(tc_svc(&t), "");
}
END_TEST

/* The shipped sample: its DNS exchange (192.168.10.11 -> 192.168.10.1:53)
 * and the response-only flow read from the pcap itself. */
START_TEST(sample_udp_icmp_dns)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(TOP_SRCDIR "/samples/udp-icmp.pcap", err);
    ck_assert_msg(pc != NULL, "%s", err);
    struct pcap_pkthdr *h;
    const u_char *d;
    int dns_pkts = 0;
    tc_t q, r;
    tc_open(&q, false, 53211, 53);
    tc_open(&r, false, 33333, 53);
    while (pcap_next_ex(pc, &h, &d) == 1) {
        if (h->caplen < 42 || d[12] != 0x08 || d[13] != 0x00 || d[23] != 17)
            continue;
        unsigned ihl = (d[14] & 0x0f) * 4u;
        const u_char *udp = d + 14 + ihl;
        uint16_t sp = (uint16_t)(udp[0] << 8 | udp[1]), dp = (uint16_t)(udp[2] << 8 | udp[3]);
        size_t len = (size_t)(udp[4] << 8 | udp[5]) - 8;
        if (sp != 53 && dp != 53)
            continue;
        dns_pkts++;
        if (sp == 53211 || dp == 53211)
            tc_send(&q, dp == 53, udp + 8, len);
        else
            tc_send(&r, dp == 53, udp + 8, len);
    }
    pcap_close(pc);
    ck_assert_int_eq(dns_pkts, 3);
    ck_assert_str_eq(tc_svc(&q), "dns");
    ck_assert_str_eq(tc_svc(&r), "dns");
}
END_TEST

static Suite *
service_suite(void)
{
    Suite *s = suite_create("service");
    TCase *tc;
#define GROUP(name, ...)                                                                        \
    do {                                                                                        \
        tc = tcase_create(name);                                                                \
        tcase_add_checked_fixture(tc, setup, teardown);                                         \
        const TTest *const tests[] = {__VA_ARGS__};                                                 \
        for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)                          \
            _tcase_add_test(tc, tests[i], 0, 0, 0, 1);                                          \
        suite_add_tcase(s, tc);                                                                 \
    } while (0)
    GROUP("http", http_port_request_reply, http_dpd_either_side, http_lookalikes,
          http_removed_after_bad_reply, http_09, http_partial_skipped, http_connect_then_tls,
          http_connect_then_smtp, http_websocket);
    GROUP("tls", ssl_port_and_dpd, ssl_bad_version, ssl_removed_after_violation,
          dtls_client_hello, quic_initial);
    GROUP("dns", dns_udp, dns_garbage, dns_tcp);
    GROUP("ssh", ssh_newkeys, ssh_one_sided);
    GROUP("ftp", ftp_control, ftp_violation_first, ftp_data_active, ftp_data_passive,
          ftp_parsers, ftp_auth_tls);
    GROUP("mail_chat", smtp_starttls_order, smtp_negative, pop3, imap, irc, xmpp);
    GROUP("db", mysql, postgresql, redis);
    GROUP("auth", ldap_search_confirms, ldap_sasl_children_order, ldap_starttls, krb);
    GROUP("windows", smb_gssapi_ntlm, dcerpc, rdp);
    GROUP("udp", udp_misc);
    GROUP("ics", socks_tunnel, modbus, dnp3, mqtt);
    GROUP("list", names_order_and_format, app_labels, bounded_inspection, sample_udp_icmp_dns);
#undef GROUP
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(service_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
