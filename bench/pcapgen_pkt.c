/*
 * pcapgen_pkt.c: the byte-level half of pcapgen.  Headers are prepended onto
 * a buffer with headroom, innermost first, so every checksum is computed over
 * bytes that are already final; a flow plus a script step renders one frame;
 * the pcap writer emits the classic little-endian microsecond format.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pcapgen.h"

G_DEFINE_QUARK(pcapgen-error-quark, pg_error)

/* ---- random numbers ---- */

void
pg_rng_seed(pg_rng_t *r, uint64_t seed)
{
    r->s = seed ^ UINT64_C(0x6a09e667f3bcc909);
}

/* splitmix64 (Steele, Lea, Flood 2014): tiny, fast, and integer-only. */
uint64_t
pg_rng_next(pg_rng_t *r)
{
    uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

uint32_t
pg_rng_range(pg_rng_t *r, uint32_t lo, uint32_t hi)
{
    uint64_t span = (uint64_t)hi - lo + 1;
    /* The modulo bias is below 2^-32 for every span we use. */
    return lo + (uint32_t)(pg_rng_next(r) % span);
}

bool
pg_rng_chance(pg_rng_t *r, uint32_t per_mille)
{
    return pg_rng_next(r) % 1000 < per_mille;
}

/* ---- packet buffer ---- */

void
pg_pkt_reset(pg_pkt_t *p)
{
    p->head = p->tail = PG_HEADROOM;
    p->l3 = 0;
}

uint8_t *
pg_pkt_append(pg_pkt_t *p, uint32_t n)
{
    if (n > sizeof(p->buf) - p->tail)
        g_error("pcapgen: packet larger than %u bytes", PG_MAXDATA);
    uint8_t *at = p->buf + p->tail;
    p->tail += n;
    return at;
}

uint8_t *
pg_pkt_prepend(pg_pkt_t *p, uint32_t n)
{
    if (n > p->head)
        g_error("pcapgen: out of headroom");
    p->head -= n;
    return p->buf + p->head;
}

static void
put16(uint8_t *d, uint16_t v)
{
    d[0] = (uint8_t)(v >> 8);
    d[1] = (uint8_t)v;
}

static void
put32(uint8_t *d, uint32_t v)
{
    d[0] = (uint8_t)(v >> 24);
    d[1] = (uint8_t)(v >> 16);
    d[2] = (uint8_t)(v >> 8);
    d[3] = (uint8_t)v;
}

static void
put32le(uint8_t *d, uint32_t v)
{
    d[0] = (uint8_t)v;
    d[1] = (uint8_t)(v >> 8);
    d[2] = (uint8_t)(v >> 16);
    d[3] = (uint8_t)(v >> 24);
}

/* ---- addresses ---- */

pg_addr_t
pg_ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    pg_addr_t r = { .v = 4 };
    r.a[0] = a;
    r.a[1] = b;
    r.a[2] = c;
    r.a[3] = d;
    return r;
}

pg_addr_t
pg_ip6(uint16_t g0, uint16_t g1, uint16_t g2, uint16_t g3, uint16_t g4, uint16_t g5, uint16_t g6,
       uint16_t g7)
{
    pg_addr_t r = { .v = 6 };
    uint16_t g[8] = { g0, g1, g2, g3, g4, g5, g6, g7 };
    for (int i = 0; i < 8; i++)
        put16(r.a + 2 * i, g[i]);
    return r;
}

void
pg_mac_for(const pg_addr_t *a, uint8_t mac[6])
{
    /* FNV-1a over the address; 0x02 marks the MAC locally administered. */
    uint32_t h = 2166136261u;
    int n = a->v == 4 ? 4 : 16;
    for (int i = 0; i < n; i++)
        h = (h ^ a->a[i]) * 16777619u;
    mac[0] = 0x02;
    mac[1] = a->v == 4 ? 0x04 : 0x06;
    put32(mac + 2, h);
}

/* ---- payload ---- */

/* Lower-case letters and digits: no Zeek DPD signature (HTTP, SSH, FTP, SMTP,
 * POP3, IRC, TLS, ...) matches this text, so a Zeek run on our traces attaches
 * no application analyzer by content and `service` stays empty. */
static const char pattern[] = "abcdefghijklmnopqrstuvwxyz0123456789";
#define PATTERN_LEN (sizeof(pattern) - 1)
static uint8_t payload_pool[PATTERN_LEN + PG_MAXDATA];
static bool payload_pool_ready;

void
pg_fill_payload(uint8_t *dst, uint32_t len, uint32_t salt)
{
    if (!payload_pool_ready) {
        for (size_t i = 0; i < sizeof(payload_pool); i++)
            payload_pool[i] = (uint8_t)pattern[i % PATTERN_LEN];
        payload_pool_ready = true;
    }
    g_assert(len <= PG_MAXDATA);
    memcpy(dst, payload_pool + salt % PATTERN_LEN, len);
}

/* ---- checksums (RFC 1071) ---- */

static uint32_t
sum_bytes(uint32_t sum, const uint8_t *d, uint32_t len)
{
    uint64_t s = sum;
    while (len >= 8) {
        s += ((uint32_t)d[0] << 8 | d[1]) + ((uint32_t)d[2] << 8 | d[3]) +
             ((uint32_t)d[4] << 8 | d[5]) + ((uint32_t)d[6] << 8 | d[7]);
        d += 8;
        len -= 8;
    }
    while (len >= 2) {
        s += (uint32_t)d[0] << 8 | d[1];
        d += 2;
        len -= 2;
    }
    if (len)
        s += (uint32_t)d[0] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint32_t)s;
}

uint16_t
pg_cksum(const uint8_t *data, uint32_t len, uint32_t initial)
{
    uint32_t s = sum_bytes(initial, data, len);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* Sum of the TCP/UDP/ICMPv6 pseudo-header (RFC 793 / 768 for IPv4, RFC 8200
 * section 8.1 for IPv6). */
static uint32_t
pseudo_sum(const pg_addr_t *src, const pg_addr_t *dst, uint8_t proto, uint32_t l4len)
{
    uint32_t s = 0;
    int n = src->v == 4 ? 4 : 16;
    s = sum_bytes(s, src->a, (uint32_t)n);
    s = sum_bytes(s, dst->a, (uint32_t)n);
    s += proto;
    s += l4len >> 16;
    s += l4len & 0xffff;
    return s;
}

void
pg_fix_l4_cksum(uint8_t *l4, uint32_t l4len, uint8_t proto, const pg_addr_t *src,
                const pg_addr_t *dst)
{
    size_t off;
    uint32_t init = 0;
    switch (proto) {
    case PG_PROTO_TCP:
        off = 16;
        init = pseudo_sum(src, dst, proto, l4len);
        break;
    case PG_PROTO_UDP:
        off = 6;
        init = pseudo_sum(src, dst, proto, l4len);
        break;
    case PG_PROTO_ICMPV6:
        off = 2;
        init = pseudo_sum(src, dst, proto, l4len);
        break;
    case PG_PROTO_ICMP:
        off = 2; /* ICMPv4 has no pseudo-header (RFC 792) */
        break;
    default:
        return;
    }
    l4[off] = l4[off + 1] = 0;
    uint16_t c = pg_cksum(l4, l4len, init);
    /* A computed UDP checksum of 0 is sent as all ones; 0 means "none". */
    if (proto == PG_PROTO_UDP && c == 0)
        c = 0xffff;
    put16(l4 + off, c);
}

/* ---- header builders ---- */

void
pg_push_tcp(pg_pkt_t *p, const pg_addr_t *src, const pg_addr_t *dst, uint16_t sport,
            uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
            const uint8_t *opts, uint32_t optlen)
{
    g_assert(optlen % 4 == 0 && optlen <= 40);
    uint32_t hl = 20 + optlen;
    uint8_t *h = pg_pkt_prepend(p, hl);
    put16(h, sport);
    put16(h + 2, dport);
    put32(h + 4, seq);
    put32(h + 8, ack);
    h[12] = (uint8_t)((hl / 4) << 4);
    h[13] = flags;
    put16(h + 14, win);
    put16(h + 16, 0);
    put16(h + 18, 0);
    if (optlen)
        memcpy(h + 20, opts, optlen);
    pg_fix_l4_cksum(h, pg_pkt_len(p), PG_PROTO_TCP, src, dst);
}

void
pg_push_udp(pg_pkt_t *p, const pg_addr_t *src, const pg_addr_t *dst, uint16_t sport,
            uint16_t dport, bool zero_cksum)
{
    uint8_t *h = pg_pkt_prepend(p, 8);
    put16(h, sport);
    put16(h + 2, dport);
    put16(h + 4, (uint16_t)pg_pkt_len(p));
    put16(h + 6, 0);
    if (!zero_cksum)
        pg_fix_l4_cksum(h, pg_pkt_len(p), PG_PROTO_UDP, src, dst);
}

void
pg_push_icmp(pg_pkt_t *p, const pg_addr_t *src, const pg_addr_t *dst, uint8_t type,
             uint8_t code, uint32_t rest)
{
    uint8_t *h = pg_pkt_prepend(p, 8);
    h[0] = type;
    h[1] = code;
    put16(h + 2, 0);
    put32(h + 4, rest);
    pg_fix_l4_cksum(h, pg_pkt_len(p), src->v == 4 ? PG_PROTO_ICMP : PG_PROTO_ICMPV6, src, dst);
}

void
pg_push_ip(pg_pkt_t *p, const pg_addr_t *src, const pg_addr_t *dst, uint8_t proto, uint8_t ttl,
           uint16_t ipid, uint16_t frag)
{
    g_assert(src->v == dst->v);
    uint32_t inner = pg_pkt_len(p);
    if (src->v == 4) {
        uint8_t *h = pg_pkt_prepend(p, 20);
        h[0] = 0x45;
        h[1] = 0;
        put16(h + 2, (uint16_t)(inner + 20));
        put16(h + 4, ipid);
        put16(h + 6, frag);
        h[8] = ttl;
        h[9] = proto;
        put16(h + 10, 0);
        memcpy(h + 12, src->a, 4);
        memcpy(h + 16, dst->a, 4);
        put16(h + 10, pg_cksum(h, 20, 0));
    } else {
        uint8_t *h = pg_pkt_prepend(p, 40);
        put32(h, UINT32_C(0x60000000));
        put16(h + 4, (uint16_t)inner);
        h[6] = proto;
        h[7] = ttl;
        memcpy(h + 8, src->a, 16);
        memcpy(h + 24, dst->a, 16);
    }
}

void
pg_push_eth(pg_pkt_t *p, const uint8_t dst[6], const uint8_t src[6], uint16_t ethertype,
            const uint16_t vlan[2], uint16_t outer_tpid)
{
    put16(pg_pkt_prepend(p, 2), ethertype);
    if (vlan && vlan[0] && vlan[1]) {
        uint8_t *t = pg_pkt_prepend(p, 4);
        put16(t, PG_ETH_VLAN);
        put16(t + 2, vlan[1] & 0x0fff);
        t = pg_pkt_prepend(p, 4);
        put16(t, outer_tpid ? outer_tpid : PG_ETH_QINQ);
        put16(t + 2, vlan[0] & 0x0fff);
    } else if (vlan && vlan[0]) {
        uint8_t *t = pg_pkt_prepend(p, 4);
        put16(t, PG_ETH_VLAN);
        put16(t + 2, vlan[0] & 0x0fff);
    }
    uint8_t *h = pg_pkt_prepend(p, 12);
    memcpy(h, dst, 6);
    memcpy(h + 6, src, 6);
}

/* ---- DNS messages (RFC 1035 section 4) ---- */

static const char *const dns_hosts[] = { "www", "api", "img", "cdn", "mail", "login", "static", "ws" };
static const char *const dns_domains[] = { "example.com",     "example.net",      "example.org",
                                           "cdn.example.com", "mail.example.net", "api.example.org",
                                           "www.example.edu", "media.example.com" };

/* Append the query name for @p idx as DNS labels; returns its length. */
static uint32_t
dns_put_name(pg_pkt_t *p, uint32_t idx)
{
    char name[96];
    g_snprintf(name, sizeof(name), "%s%u.%s", dns_hosts[idx % 8], (idx / 8) % 100,
               dns_domains[(idx / 800) % 8]);
    uint32_t total = 0;
    const char *lab = name;
    while (*lab) {
        const char *dot = strchr(lab, '.');
        size_t n = dot ? (size_t)(dot - lab) : strlen(lab);
        uint8_t *d = pg_pkt_append(p, (uint32_t)n + 1);
        d[0] = (uint8_t)n;
        memcpy(d + 1, lab, n);
        total += (uint32_t)n + 1;
        lab += n + (dot ? 1 : 0);
    }
    *pg_pkt_append(p, 1) = 0;
    return total + 1;
}

/* A standard query, or its answer (one A/AAAA record, or NXDOMAIN). */
static void
dns_build(const pg_flow_t *f, const pg_step_t *s, pg_pkt_t *p)
{
    bool resp = s->kind == PG_STEP_DNS_R;
    bool nx = resp && s->code == 3;
    uint16_t qtype = f->addr[0].v == 4 ? 1 : 28;
    uint8_t *h = pg_pkt_append(p, 12);
    put16(h, f->dns_id);
    /* query: RD; response: QR, RD, RA and the rcode */
    put16(h + 2, resp ? (uint16_t)(0x8180 | (nx ? 3 : 0)) : 0x0100);
    put16(h + 4, 1);
    put16(h + 6, resp && !nx ? 1 : 0);
    put16(h + 8, 0);
    put16(h + 10, 0);
    dns_put_name(p, f->name_idx);
    uint8_t *q = pg_pkt_append(p, 4);
    put16(q, qtype);
    put16(q + 2, 1);
    if (!resp || nx)
        return;
    uint16_t rdlen = qtype == 1 ? 4 : 16;
    uint8_t *a = pg_pkt_append(p, 12u + rdlen);
    put16(a, 0xc00c); /* compression pointer to the question name */
    put16(a + 2, qtype);
    put16(a + 4, 1);
    put32(a + 6, 300);
    put16(a + 10, rdlen);
    uint32_t i = f->name_idx;
    if (qtype == 1) {
        a[12] = 93;
        a[13] = 184;
        a[14] = (uint8_t)(i >> 8);
        a[15] = (uint8_t)i;
    } else {
        pg_addr_t v6 = pg_ip6(0x2606, 0x2800, 0x0220, 0x0001, 0, 0, (uint16_t)(i >> 16), (uint16_t)i);
        memcpy(a + 12, v6.a, 16);
    }
}

/* ---- rendering ---- */

pg_step_t
pg_tcp_next(pg_tcpseq_t *ts, uint64_t t, int dir, uint8_t flags, uint16_t len)
{
    pg_step_t s = { .t = t, .dir = (uint8_t)dir, .kind = PG_STEP_TCP, .flags = flags, .len = len };
    s.seq = ts->nxt[dir];
    s.ack = (flags & PG_ACK) ? ts->nxt[!dir] : 0;
    s.win = ts->win[dir];
    if (!(flags & PG_RST))
        ts->nxt[dir] += len + ((flags & PG_SYN) ? 1u : 0u) + ((flags & PG_FIN) ? 1u : 0u);
    return s;
}

void
pg_render_l3(pg_flow_t *f, const pg_step_t *s, pg_pkt_t *p)
{
    int d = s->dir;
    const pg_addr_t *src = &f->addr[d];
    const pg_addr_t *dst = &f->addr[!d];
    uint8_t proto = PG_PROTO_UDP;
    uint16_t frag = 0;

    pg_pkt_reset(p);
    switch ((pg_step_kind_t)s->kind) {
    case PG_STEP_TCP: {
        /* SYN and SYN/ACK carry MSS, window scale and SACK-permitted, the
         * options every modern stack sends (RFC 6691, 7323, 2018). */
        uint8_t opts[12];
        uint32_t optlen = 0;
        if (s->flags & PG_SYN) {
            uint16_t mss = src->v == 4 ? 1460 : 1440;
            const uint8_t o[12] = { 2, 4, (uint8_t)(mss >> 8), (uint8_t)mss, 1, 3, 3, f->wscale,
                                    1, 1, 4, 2 };
            memcpy(opts, o, sizeof(o));
            optlen = sizeof(o);
        }
        /* Steps carry the window in bytes.  Only a SYN sends it unscaled
         * (RFC 7323 2.2); a RST advertises none, as Linux and BSD send it. */
        uint32_t win = s->win;
        if (s->flags & PG_RST)
            win = 0;
        else if (!(s->flags & PG_SYN) && (win >>= f->wscale) == 0)
            win = 1;
        pg_fill_payload(pg_pkt_append(p, s->len), s->len, s->seq);
        pg_push_tcp(p, src, dst, f->port[d], f->port[!d], s->seq, s->ack, s->flags,
                    (uint16_t)win, opts, optlen);
        proto = PG_PROTO_TCP;
        frag = 0x4000; /* DF, as path-MTU discovery sets it */
        break;
    }
    case PG_STEP_UDP:
        pg_fill_payload(pg_pkt_append(p, s->len), s->len, s->seq);
        pg_push_udp(p, src, dst, f->port[d], f->port[!d], false);
        break;
    case PG_STEP_DNS_Q:
    case PG_STEP_DNS_R:
        dns_build(f, s, p);
        pg_push_udp(p, src, dst, f->port[d], f->port[!d], false);
        break;
    case PG_STEP_ICMP_ECHO:
        pg_fill_payload(pg_pkt_append(p, s->len), s->len, 0);
        pg_push_icmp(p, src, dst, s->flags, 0, (uint32_t)f->port[0] << 16 | (s->seq & 0xffff));
        proto = src->v == 4 ? PG_PROTO_ICMP : PG_PROTO_ICMPV6;
        break;
    case PG_STEP_ICMP_ERR:
        memcpy(pg_pkt_append(p, f->quote_len), f->quote, f->quote_len);
        pg_push_icmp(p, src, dst, s->flags, s->code, 0);
        proto = src->v == 4 ? PG_PROTO_ICMP : PG_PROTO_ICMPV6;
        break;
    }
    pg_push_ip(p, src, dst, proto, f->ttl[d], f->ipid[d]++, frag);

    if (proto == PG_PROTO_UDP && d == 0) {
        /* RFC 792 quotes the IP header and 64 bits of the datagram; RFC 4443
         * says "as much as fits", we keep the IPv6 header and 8 bytes. */
        uint32_t want = src->v == 4 ? 28 : 48;
        uint32_t n = pg_pkt_len(p) < want ? pg_pkt_len(p) : want;
        memcpy(f->quote, pg_pkt_data(p), n);
        f->quote_len = (uint8_t)n;
    }
}

void
pg_render(pg_flow_t *f, const pg_step_t *s, pg_pkt_t *p)
{
    int d = s->dir;
    pg_render_l3(f, s, p);
    uint32_t l3len = pg_pkt_len(p);
    pg_push_eth(p, f->mac[!d], f->mac[d], f->addr[d].v == 4 ? PG_ETH_IPV4 : PG_ETH_IPV6, f->vlan,
                f->vlan_tpid);
    p->l3 = pg_pkt_len(p) - l3len;
}

/* ---- pcap writer ---- */

gboolean
pg_writer_open(pg_writer_t *w, const char *path, GError **err)
{
    memset(w, 0, sizeof(*w));
    if (strcmp(path, "-") == 0) {
        w->fp = stdout;
    } else {
        w->fp = fopen(path, "wb");
        if (!w->fp) {
            g_set_error(err, PG_ERROR, PG_ERROR_IO, "cannot create %s: %s", path,
                        g_strerror(errno));
            return FALSE;
        }
    }
    w->path = g_strdup(path);
    setvbuf(w->fp, NULL, _IOFBF, 1 << 20);

    /* Classic pcap header (see pcap-savefile(5)), always little-endian so the
     * bytes do not depend on the host: magic, v2.4, zone 0, sigfigs 0,
     * snaplen 65535, LINKTYPE_ETHERNET. */
    uint8_t h[24];
    put32le(h, UINT32_C(0xa1b2c3d4));
    h[4] = 2;
    h[5] = 0;
    h[6] = 4;
    h[7] = 0;
    put32le(h + 8, 0);
    put32le(h + 12, 0);
    put32le(h + 16, 65535);
    put32le(h + 20, 1);
    fwrite(h, 1, sizeof(h), w->fp);
    return TRUE;
}

void
pg_writer_put(pg_writer_t *w, uint64_t t_us, const uint8_t *data, uint32_t caplen, uint32_t wirelen)
{
    g_assert(caplen <= wirelen);
    /* The generators produce time-ordered output; a backwards step is a bug. */
    g_assert(t_us >= w->last_t);
    w->last_t = t_us;

    uint8_t h[16];
    put32le(h, (uint32_t)(t_us / 1000000));
    put32le(h + 4, (uint32_t)(t_us % 1000000));
    put32le(h + 8, caplen);
    put32le(h + 12, wirelen);
    fwrite(h, 1, sizeof(h), w->fp);
    fwrite(data, 1, caplen, w->fp);
    w->packets++;
    w->bytes += caplen + sizeof(h);
}

gboolean
pg_writer_close(pg_writer_t *w, GError **err)
{
    gboolean ok = TRUE;
    if (!w->fp)
        return TRUE;
    if (fflush(w->fp) != 0 || ferror(w->fp)) {
        g_set_error(err, PG_ERROR, PG_ERROR_IO, "write to %s failed: %s", w->path,
                    g_strerror(errno));
        ok = FALSE;
    }
    if (w->fp != stdout && fclose(w->fp) != 0 && ok) {
        g_set_error(err, PG_ERROR, PG_ERROR_IO, "close of %s failed: %s", w->path,
                    g_strerror(errno));
        ok = FALSE;
    }
    w->fp = NULL;
    g_free(w->path);
    w->path = NULL;
    return ok;
}
