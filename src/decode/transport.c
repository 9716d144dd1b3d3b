/*
 * Transport headers (TCP, UDP, ICMP/ICMPv6) and the protocols that are
 * tunnels at the IP level, plus the Internet checksum.  Length checks
 * follow Zeek's IPBasedAnalyzer::CheckHeaderTrunc and TCP's
 * ExtractTCP_Header: a connection exists once the fixed header is there,
 * even if the TCP data offset then turns out unusable.
 */
#include "decode/internal.h"

#include <string.h>

#include "decode/cursor.h"

uint16_t
cksum_fold(uint64_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)acc;
}

uint64_t
cksum_add(const uint8_t *p, uint32_t n, uint64_t acc)
{
    /* RFC 1071 section 2: the ones-complement sum does not depend on byte
     * order, so sum the words as the host loads them (8 bytes at a time)
     * and put the folded result into network order at the end. */
    uint64_t s = 0, s2 = 0;
    /* Two accumulators of 32-bit halves: no carries are lost below 2^32
     * words, and the independent sums keep the adder busy. */
    while (n >= 16) {
        uint64_t v, w;
        memcpy(&v, p, 8);
        memcpy(&w, p + 8, 8);
        s += (v & 0xffffffffu) + (v >> 32);
        s2 += (w & 0xffffffffu) + (w >> 32);
        p += 16;
        n -= 16;
    }
    s += s2;
    if (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        s += (v & 0xffffffffu) + (v >> 32);
        p += 8;
        n -= 8;
    }
    while (n >= 2) {
        uint16_t v;
        memcpy(&v, p, 2);
        s += v;
        p += 2;
        n -= 2;
    }
    if (n) {
        /* The odd last byte is the high half of a word padded with zero. */
        uint8_t pad[2] = {p[0], 0};
        uint16_t v;
        memcpy(&v, pad, 2);
        s += v;
    }
    uint16_t h = cksum_fold(s);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    h = (uint16_t)(h << 8 | h >> 8);
#endif
    return acc + h;
}

/* Zeek's CheckHeaderTrunc: the IP payload length (when not 0, i.e. not a
 * TSO packet) and the captured bytes must both hold @p need bytes. */
static bool
header_present(const pkt_layer_t *l, uint32_t need, uint32_t remaining)
{
    if (!l->tso && l->l4_len < need)
        return false;
    return remaining >= need;
}

/* The window scale option of a SYN (the option walk of Zeek's
 * build_syn_packet_val: stop at EOL, at a zero or overlong length). */
static int8_t
tcp_wscale(const uint8_t *opt, uint32_t n)
{
    int8_t ws = -1;
    uint32_t i = 0;
    while (i < n) {
        uint8_t kind = opt[i];
        if (kind == 0)
            break;
        if (kind == 1) {
            i++;
            continue;
        }
        if (i + 1 >= n)
            break;
        uint8_t olen = opt[i + 1];
        if (olen == 0 || olen > n - i)
            break;
        if (kind == 3 && olen >= 3)
            ws = (int8_t)(opt[i + 2] > 127 ? 127 : opt[i + 2]);
        i += olen;
    }
    return ws;
}

static decode_result_t
tcp_decode(decoder_t *d, pkt_layer_t *l, const uint8_t *t, uint32_t remaining)
{
    if (!header_present(l, 20, remaining)) {
        dw(d, WEIRD_TRUNCATED_TCP_HEADER);
        return DECODE_TRUNCATED;
    }
    l->sport = rd16(t);
    l->dport = rd16(t + 2);
    l->seq = rd32(t + 4);
    l->ack = rd32(t + 8);
    uint32_t off = (uint32_t)(t[12] >> 4) * 4;
    l->tcp_flags = t[13];
    l->win = rd16(t + 14);

    /* From here on Zeek has made the connection; a bad data offset only
     * drops the segment (TCPAnalyzer::ExtractTCP_Header).  A TSO segment
     * (l4_len taken from the capture) is processed like any other: Zeek's
     * baselines count it (ldap/sasl-signed-clear, run with -C). */
    if (off < 20) {
        dw(d, WEIRD_BAD_TCP_HEADER_LENGTH);
        return DECODE_OK;
    }
    if (off > l->l4_len || off > remaining) {
        dw(d, WEIRD_TRUNCATED_TCP_HEADER);
        return DECODE_OK;
    }
    l->l4_complete = true;
    l->payload = t + off;
    l->payload_len = l->l4_len - off;
    l->payload_caplen = l->l4_caplen - off;
    if ((l->tcp_flags & TH_SYN) && off > 20)
        l->wscale = tcp_wscale(t + 20, off - 20);
    return DECODE_OK;
}

static decode_result_t
udp_decode(decoder_t *d, pkt_layer_t *l, const uint8_t *u, uint32_t remaining)
{
    if (!header_present(l, 8, remaining)) {
        dw(d, WEIRD_TRUNCATED_UDP_HEADER);
        return DECODE_TRUNCATED;
    }
    l->sport = rd16(u);
    l->dport = rd16(u + 2);
    l->udp_len = rd16(u + 4);
    l->l4_complete = true;
    /* Zeek notes a length field that disagrees with the IP payload but
     * counts bytes by the field anyway (UDP_datagram_length_mismatch). */
    if (l->udp_len != l->l4_len)
        dw(d, WEIRD_BAD_UDP_LENGTH);
    l->payload = u + 8;
    l->payload_len = l->l4_len - 8;
    l->payload_caplen = l->l4_caplen - 8;
    /* Zeek validates UDP checksums only for packets captured in full. */
    if (l->wire_extra)
        l->snaplen_cut = true;
    tunnel_udp(d, l, tunnel_guess_resp_port(l->sport, l->dport));
    return DECODE_OK;
}

static decode_result_t
icmp_decode(decoder_t *d, pkt_layer_t *l, const uint8_t *c, uint32_t remaining)
{
    if (!header_present(l, 8, remaining)) {
        dw(d, WEIRD_TRUNCATED_ICMP_HEADER);
        return DECODE_TRUNCATED;
    }
    l->icmp_type = c[0];
    l->icmp_code = c[1];
    l->l4_complete = true;
    l->payload = c + 8;
    l->payload_len = l->l4_len - 8;
    l->payload_caplen = l->l4_caplen - 8;
    return DECODE_OK;
}

decode_result_t
transport_decode(decoder_t *d, pkt_layer_t *l, const uint8_t *l4, uint32_t l4_len,
                 uint32_t remaining)
{
    l->l4 = l4;
    l->l4_len = l4_len;
    l->l4_caplen = remaining < l4_len ? remaining : l4_len;
    l->snaplen_cut = l->l4_caplen < l4_len;

    switch (l->proto) {
    case 6:
        return tcp_decode(d, l, l4, remaining);
    case 17:
        return udp_decode(d, l, l4, remaining);
    case 1:
    case 58:
        /* Zeek's ICMP analyzer takes both numbers under either IP version. */
        return icmp_decode(d, l, l4, remaining);
    case 4:
    case 41:
        return tunnel_ipip(d, l, l4, remaining);
    case 47:
        return tunnel_gre(d, l, l4, remaining, ENCAP_GRE);
    default:
        /* Any other protocol is a connection of its own, without ports. */
        l->l4_complete = true;
        return DECODE_OK;
    }
}

/* The pseudo-header sum of RFC 768/793 (IPv4) and RFC 8200 8.1 (IPv6). */
static uint64_t
pseudo_sum(const pkt_layer_t *l, uint8_t proto, uint32_t len)
{
    uint64_t acc;
    if (l->ip_version == 4) {
        acc = cksum_add(l->src + 12, 4, 0);
        acc = cksum_add(l->dst + 12, 4, acc);
    } else {
        acc = cksum_add(l->src, 16, 0);
        acc = cksum_add(l->dst, 16, acc);
    }
    return acc + proto + (len >> 16) + (len & 0xffff);
}

bool
decode_l4_checksum_ok(const pkt_layer_t *l)
{
    if (!l || !l->l4 || !l->l4_complete || l->snaplen_cut || l->l4_caplen < l->l4_len)
        return true;
    uint32_t len = l->l4_len;
    switch (l->proto) {
    case 6:
        return cksum_fold(cksum_add(l->l4, len, pseudo_sum(l, 6, len))) == 0xffff;
    case 17:
        /* An IPv4 UDP checksum of zero means "none" (RFC 768); IPv6 requires one. */
        if (l->ip_version == 4 && rd16(l->l4 + 6) == 0)
            return true;
        return cksum_fold(cksum_add(l->l4, len, pseudo_sum(l, 17, len))) == 0xffff;
    case 1:
        return cksum_fold(cksum_add(l->l4, len, 0)) == 0xffff;
    case 58:
        return cksum_fold(cksum_add(l->l4, len, pseudo_sum(l, 58, len))) == 0xffff;
    default:
        return true;
    }
}
