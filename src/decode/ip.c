/*
 * IPv4 and IPv6: header checks in the order Zeek's IP analyzer makes them
 * (packet_analysis/protocol/ip/IP.cc), the IPv4 header checksum, the IPv6
 * extension header chain (IP.h/IP.cc IPv6_Hdr_Chain), and the hand-off of
 * fragments to the reassembly table.  What follows the IP header goes to
 * transport_decode().
 */
#include "decode/internal.h"

#include <string.h>

#include "decode/cursor.h"

/* More extension headers than this is an attack, not a packet. */
#define IPV6_MAX_EXT 16

enum {
    P_HOPOPTS = 0,
    P_IPV6 = 41,
    P_ROUTING = 43,
    P_FRAGMENT = 44,
    P_ESP = 50,
    P_AH = 51,
    P_NONE = 59,
    P_DSTOPTS = 60,
};

/* Zeek's isIPv6ExtHeader() without mobility, which is an extension header
 * only in builds with --enable-mobile-ipv6 (off by default): otherwise
 * protocol 135 ends the chain and becomes the transport. */
static bool
is_ext(uint8_t t)
{
    switch (t) {
    case P_HOPOPTS:
    case P_ROUTING:
    case P_FRAGMENT:
    case P_ESP:
    case P_AH:
    case P_DSTOPTS:
        return true;
    default:
        return false;
    }
}

int
ipv6_chain(const uint8_t *p, uint32_t caplen, v6chain_t *c)
{
    c->hdr_len = 40;
    c->next = p[6];
    c->last = P_IPV6;
    c->frag_off = -1;
    c->nh_off = 6;
    c->final_dst = NULL;
    int n = 0;
    uint32_t nh_pos = 6; /* where the byte naming the current header sits */

    while (c->last != P_FRAGMENT && c->last != P_ESP && is_ext(c->next)) {
        if (++n > IPV6_MAX_EXT)
            return V6CHAIN_TOO_LONG;
        uint8_t type = c->next;
        const uint8_t *h = p + c->hdr_len;
        uint32_t left = caplen - c->hdr_len;
        uint32_t len;
        uint8_t next;
        switch (type) {
        case P_FRAGMENT:
        case P_ESP:
            len = 8;
            if (left < len)
                return V6CHAIN_TRUNCATED;
            /* ESP hides what follows (Zeek: NextHdr() is "none"). */
            next = type == P_ESP ? P_NONE : h[0];
            break;
        case P_AH:
            if (left < 2)
                return V6CHAIN_TRUNCATED;
            len = 8 + 4u * h[1];
            next = h[0];
            break;
        default:
            if (left < 2)
                return V6CHAIN_TRUNCATED;
            len = 8 + 8u * h[1];
            next = h[0];
            break;
        }
        if (len > left)
            return V6CHAIN_TRUNCATED;
        if (type == P_ROUTING && !c->final_dst && h[2] == 0 && h[3] > 0 && h[1] >= 2 &&
            h[1] % 2 == 0)
            /* Routing type 0 with segments left: the connection is keyed on
             * the final destination, the last address of the header
             * (IPv6_Hdr_Chain::ProcessRoutingHeader). */
            c->final_dst = h + len - 16;
        if (type == P_FRAGMENT) {
            c->frag_off = (int)c->hdr_len;
            c->nh_off = (int)nh_pos;
        }
        nh_pos = c->hdr_len; /* an extension header's next-header byte is its first */
        c->hdr_len += len;
        c->last = type;
        c->next = next;
    }
    return V6CHAIN_OK;
}

static void
map_v4(uint8_t dst[16], const uint8_t *a)
{
    memset(dst, 0, 10);
    dst[10] = dst[11] = 0xff;
    memcpy(dst + 12, a, 4);
}

/* Whether checksums are verified for a packet from @p src (Zeek checks the
 * header's own source, IPHeaderSrcAddr, against ignore_checksums_nets). */
static bool
want_ip_checksum(const decoder_t *d, const uint8_t src[16])
{
    if (d->ignore_checksums)
        return false;
    return !(d->ignore_nets && netset_contains(d->ignore_nets, src));
}

static decode_result_t
ipv4_decode(decoder_t *d, const l3_t *in, pkt_layer_t *l)
{
    const uint8_t *p = in->p;
    uint32_t caplen = in->caplen;
    uint32_t hl = (p[0] & 0x0fu) * 4;
    uint32_t total = rd16(p + 2);

    if (total == 0) {
        /* TCP segmentation offload zeroes the length; Zeek then trusts the
         * capture, but only with -C since the checksums are wrong too. */
        dw(d, WEIRD_IP_ZERO_TOTAL_LENGTH);
        if (!d->ignore_checksums)
            return DECODE_MALFORMED;
        total = caplen;
        l->tso = true;
    }
    /* Zeek compares with the wire length: a snaplen cut is fine here. */
    if (in->wirelen < total) {
        dw(d, WEIRD_TRUNCATED_IP);
        return DECODE_TRUNCATED;
    }
    if (hl > total) {
        dw(d, WEIRD_BAD_IP_HEADER_LENGTH);
        return DECODE_MALFORMED;
    }
    if (hl > caplen) {
        dw(d, WEIRD_TRUNCATED_IP_HEADER);
        return DECODE_TRUNCATED;
    }
    if (hl < 20) {
        dw(d, WEIRD_BAD_IP_HEADER_LENGTH);
        return DECODE_MALFORMED;
    }

    map_v4(l->src, p + 12);
    map_v4(l->dst, p + 16);
    if (want_ip_checksum(d, l->src) && cksum_fold(cksum_add(p, hl, 0)) != 0xffff) {
        dw(d, WEIRD_BAD_IP_CHECKSUM);
        return DECODE_MALFORMED;
    }

    uint16_t off = rd16(p + 6);
    if ((off & 0x3fff) != 0 && !l->tso) {
        if (caplen < total) {
            /* Reassembly is doomed; like Zeek keep only a first fragment,
             * which header-only traces still make useful. */
            dw(d, WEIRD_TRUNCATED_IP);
            if ((off & 0x1fff) != 0)
                return DECODE_TRUNCATED;
        } else {
            frag_key_t k;
            k.version = 4;
            memcpy(k.src, l->src, 16);
            memcpy(k.dst, l->dst, 16);
            k.id = rd16(p + 4);
            frag_in_t f = {
                .hdr = p,
                .hdr_len = hl,
                .nh_off = -1,
                .next_proto = p[9],
                .offset = (uint32_t)(off & 0x1fff) * 8,
                .more = (off & 0x2000) != 0,
                .data = p + hl,
                .len = total - hl,
            };
            uint8_t *buf = d->reasm[l->depth];
            uint32_t n = 0;
            frag_result_t fr = frag_add(d->frag, d->w, l->ts, &k, &f, buf, DECODE_REASM_BUF, &n);
            if (fr == FRAG_PENDING)
                return DECODE_PENDING;
            if (fr == FRAG_DROPPED)
                return DECODE_MALFORMED;
            /* Carry on with the datagram, whose header is the first
             * fragment's seen (Zeek keeps that one). */
            p = buf;
            total = caplen = n;
            hl = (p[0] & 0x0fu) * 4;
            l->reassembled = true;
            l->wire_extra = 0; /* Zeek: a reassembled packet is all captured */
        }
    }

    l->ip_version = 4;
    l->proto = p[9];
    l->ip_len = l->tso ? 0 : total;
    uint32_t remaining = caplen - hl;
    /* For TSO Zeek's PayloadLen() is 0 and the transports fall back on the
     * captured length. */
    uint32_t l4_len = l->tso ? remaining : total - hl;
    return transport_decode(d, l, p + hl, l4_len, remaining);
}

static decode_result_t
ipv6_decode(decoder_t *d, const l3_t *in, pkt_layer_t *l)
{
    const uint8_t *p = in->p;
    uint32_t caplen = in->caplen;
    uint32_t total = (uint32_t)rd16(p + 4) + 40;

    if (in->wirelen < total) {
        dw(d, WEIRD_TRUNCATED_IP);
        return DECODE_TRUNCATED;
    }

    v6chain_t c;
    switch (ipv6_chain(p, caplen, &c)) {
    case V6CHAIN_TRUNCATED:
        dw(d, WEIRD_TRUNCATED_IPV6_EXT);
        return DECODE_TRUNCATED;
    case V6CHAIN_TOO_LONG:
        dw(d, WEIRD_IPV6_EXT_TOO_MANY);
        return DECODE_MALFORMED;
    default:
        break;
    }
    if (c.hdr_len > total) {
        dw(d, WEIRD_BAD_IP_HEADER_LENGTH);
        return DECODE_MALFORMED;
    }

    memcpy(l->src, p + 8, 16);
    memcpy(l->dst, c.final_dst ? c.final_dst : p + 24, 16);

    if (c.last == P_FRAGMENT) {
        const uint8_t *fh = p + c.frag_off;
        uint16_t offlg = rd16(fh + 2);
        if (caplen < total) {
            dw(d, WEIRD_TRUNCATED_IP);
            if ((offlg & 0xfff8) != 0)
                return DECODE_TRUNCATED;
        } else {
            frag_key_t k;
            k.version = 6;
            memcpy(k.src, l->src, 16);
            memcpy(k.dst, l->dst, 16);
            k.id = rd32(fh + 4);
            frag_in_t f = {
                .hdr = p,
                .hdr_len = (uint32_t)c.frag_off,
                .nh_off = c.nh_off,
                .next_proto = c.next,
                .offset = offlg & 0xfff8u,
                .more = (offlg & 1) != 0,
                .data = p + c.hdr_len,
                .len = total - c.hdr_len,
            };
            uint8_t *buf = d->reasm[l->depth];
            uint32_t n = 0;
            frag_result_t fr = frag_add(d->frag, d->w, l->ts, &k, &f, buf, DECODE_REASM_BUF, &n);
            if (fr == FRAG_PENDING)
                return DECODE_PENDING;
            if (fr == FRAG_DROPPED)
                return DECODE_MALFORMED;
            p = buf;
            total = caplen = n;
            l->reassembled = true;
            l->wire_extra = 0;
            /* Walk the rebuilt chain: headers after the fragment header are
             * now part of it.  A nested fragment header just ends it. */
            if (ipv6_chain(p, caplen, &c) != V6CHAIN_OK) {
                dw(d, WEIRD_TRUNCATED_IPV6_EXT);
                return DECODE_MALFORMED;
            }
            if (c.hdr_len > total) {
                dw(d, WEIRD_BAD_IP_HEADER_LENGTH);
                return DECODE_MALFORMED;
            }
        }
    }

    /* ESP ends the chain and hides the transport: Zeek raises esp_packet
     * and makes no connection. */
    if (c.last == P_ESP)
        return DECODE_SKIP;
    if (c.next == P_NONE) {
        /* A Teredo bubble is expected to carry nothing. */
        if (l->outer_encap != ENCAP_TEREDO)
            dw(d, WEIRD_IPV6_NO_NEXT);
        return DECODE_SKIP;
    }

    l->ip_version = 6;
    l->proto = c.next;
    l->ip_len = total;
    return transport_decode(d, l, p + c.hdr_len, total - c.hdr_len, caplen - c.hdr_len);
}

decode_result_t
ip_decode(decoder_t *d, const l3_t *in, pkt_layer_t *l)
{
    /* Zeek wants a full IPv4-sized header before it even looks at the version. */
    if (in->caplen < 20) {
        dw(d, WEIRD_TRUNCATED_IP_HEADER);
        return DECODE_TRUNCATED;
    }
    switch (in->p[0] >> 4) {
    case 4:
        return ipv4_decode(d, in, l);
    case 6:
        if (in->caplen < 40) {
            dw(d, WEIRD_TRUNCATED_IP_HEADER);
            return DECODE_TRUNCATED;
        }
        return ipv6_decode(d, in, l);
    default:
        dw(d, WEIRD_BAD_IP_VERSION);
        return DECODE_MALFORMED;
    }
}
