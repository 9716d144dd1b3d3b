/*
 * Link layers, from the libpcap link type to the IP header: Ethernet (with
 * Cisco FabricPath, 802.3 LLC/SNAP), VLAN/QinQ, MPLS, PPPoE, PBB, VN-Tag,
 * PPP (plain, HDLC-framed, serial), raw IP, Linux SLL/SLL2, BSD null and
 * loopback, 802.11 with or without radiotap, plus the framings that tunnels
 * carry (ERSPAN, MPLS-in-GRE).  Length checks mirror Zeek's packet
 * analyzers, which mostly want strictly more bytes than the header itself.
 */
#include "decode/internal.h"

#include "decode/cursor.h"

/* Stacked link headers followed before giving up (VLAN, MPLS, PBB ...). */
#define LINK_MAX_NEST 32

/* Ethernet types the dispatch knows. */
enum {
    ET_IPV4 = 0x0800,
    ET_IPV6 = 0x86dd,
    ET_VLAN = 0x8100,
    ET_QINQ = 0x88a8,
    ET_QINQ_OLD = 0x9100,
    ET_MPLS = 0x8847,
    ET_MPLS_MC = 0x8848,
    ET_PPPOE = 0x8864,
    ET_PBB = 0x88e7,
    ET_VNTAG = 0x8926,
    ET_FABRICPATH = 0x8903,
};

/* A walk through link headers: the bytes left and how deep it went. */
typedef struct {
    cursor_t c;
    int nest;
} walk_t;

static decode_result_t ethernet(decoder_t *d, walk_t *w);
static decode_result_t ethertype(decoder_t *d, walk_t *w, uint16_t type);

static bool
is_vlan(uint16_t t)
{
    return t == ET_VLAN || t == ET_QINQ || t == ET_QINQ_OLD;
}

static decode_result_t
nest(decoder_t *d, walk_t *w)
{
    if (++w->nest > LINK_MAX_NEST) {
        dw(d, WEIRD_LINK_TOO_DEEP);
        return DECODE_MALFORMED;
    }
    return DECODE_OK;
}

static decode_result_t
truncated(decoder_t *d, weird_kind_t k)
{
    dw(d, k);
    return DECODE_TRUNCATED;
}

static decode_result_t
not_ip(decoder_t *d)
{
    dw(d, WEIRD_UNKNOWN_ETHERTYPE);
    return DECODE_SKIP;
}

/* MPLS label stack (RFC 3032): skip to the bottom-of-stack entry; the payload
 * type is not encoded, so the IP decoder judges by the version nibble. */
static decode_result_t
mpls(decoder_t *d, walk_t *w)
{
    for (;;) {
        if (!cur_need(&w->c, 5))
            return truncated(d, WEIRD_TRUNCATED_MPLS_HEADER);
        bool bottom = (w->c.p[2] & 0x01) != 0;
        cur_skip(&w->c, 4);
        if (bottom)
            return DECODE_OK;
        decode_result_t r = nest(d, w);
        if (r != DECODE_OK)
            return r;
    }
}

/* An IEEE 802.2 payload (802.3 length instead of a type): SNAP with a zero
 * OUI carries an Ethernet type (Zeek's SNAP analyzer); plain LLC and Novell
 * raw 802.3 carry nothing conn.log cares about. */
static decode_result_t
llc(decoder_t *d, walk_t *w)
{
    const uint8_t *p = w->c.p;
    if (!cur_need(&w->c, 2))
        return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
    if (p[0] != 0xaa || p[1] != 0xaa)
        return not_ip(d);
    if (!cur_need(&w->c, 3))
        return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
    uint32_t llc_len = (p[2] & 0x03) == 0x03 ? 3 : 4; /* U-format control is one byte */
    if (!cur_need(&w->c, llc_len + 5))
        return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
    uint32_t oui = (uint32_t)p[llc_len] << 16 | (uint32_t)p[llc_len + 1] << 8 | p[llc_len + 2];
    uint16_t type = rd16(p + llc_len + 3);
    cur_skip(&w->c, llc_len + 5);
    if (oui != 0 || (type != ET_IPV4 && type != ET_IPV6))
        return not_ip(d);
    return DECODE_OK;
}

/* 802.1Q/802.1ad tag: TCI, then a type or an 802.3 length. */
static decode_result_t
vlan(decoder_t *d, walk_t *w)
{
    if (!cur_need(&w->c, 5))
        return truncated(d, WEIRD_TRUNCATED_VLAN_HEADER);
    uint16_t proto = rd16(w->c.p + 2);
    cur_skip(&w->c, 4);
    if (proto >= 1536)
        return ethertype(d, w, proto);
    if (proto <= 1500) {
        if (!cur_need(&w->c, 2))
            return truncated(d, WEIRD_TRUNCATED_VLAN_HEADER);
        if (w->c.len > proto)
            w->c.len = proto; /* the 802.3 length drops the trailer */
        return llc(d, w);
    }
    return not_ip(d);
}

static decode_result_t
ethertype(decoder_t *d, walk_t *w, uint16_t type)
{
    decode_result_t r = nest(d, w);
    if (r != DECODE_OK)
        return r;
    switch (type) {
    case ET_IPV4:
    case ET_IPV6:
        return DECODE_OK;
    case ET_VLAN:
    case ET_QINQ:
    case ET_QINQ_OLD:
        return vlan(d, w);
    case ET_MPLS:
    case ET_MPLS_MC:
        return mpls(d, w);
    case ET_PPPOE: {
        /* PPPoE session header (RFC 2516), then the PPP protocol. */
        if (!cur_need(&w->c, 9))
            return truncated(d, WEIRD_TRUNCATED_PPPOE_HEADER);
        uint16_t ppp = rd16(w->c.p + 6);
        cur_skip(&w->c, 8);
        if (ppp == 0x0021 || ppp == 0x0057)
            return DECODE_OK;
        dw(d, WEIRD_UNKNOWN_PPP_PROTOCOL);
        return DECODE_SKIP;
    }
    case ET_PBB:
        /* 802.1ah: a 4-byte I-tag, then the customer's Ethernet frame. */
        if (!cur_need(&w->c, 19))
            return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
        cur_skip(&w->c, 4);
        return ethernet(d, w);
    case ET_VNTAG: {
        /* Cisco VN-Tag: 4 bytes of tag, then a type; Zeek follows only
         * VLAN tags from here (base/packet-protocols/vntag). */
        if (!cur_need(&w->c, 7))
            return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
        uint16_t next = rd16(w->c.p + 4);
        cur_skip(&w->c, 6);
        if (!is_vlan(next))
            return not_ip(d);
        return ethertype(d, w, next);
    }
    default:
        /* ARP, LLDP, PPPoE discovery, ...: nothing for conn.log. */
        return not_ip(d);
    }
}

static decode_result_t
ethernet(decoder_t *d, walk_t *w)
{
    if (!cur_need(&w->c, 17))
        return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
    if (rd16(w->c.p + 12) == ET_FABRICPATH) {
        /* Cisco FabricPath: a 16-byte outer header before the classic
         * Ethernet one (Zeek's Ethernet analyzer skips it). */
        if (!cur_need(&w->c, 16 + 14 + 1))
            return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
        cur_skip(&w->c, 16);
    }
    uint16_t type = rd16(w->c.p + 12);
    cur_skip(&w->c, 14);
    if (type >= 1536)
        return ethertype(d, w, type);
    if (type <= 1500) {
        if (w->c.len < type)
            return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
        return llc(d, w);
    }
    return not_ip(d);
}

/* IEEE 802.11 data frames (Zeek's IEEE802_11 analyzer): the MAC header, then
 * LLC/SNAP.  Management, control and null-data frames, and frames whose
 * payload is protected, have nothing to decode. */
static decode_result_t
ieee80211(decoder_t *d, walk_t *w)
{
    const uint8_t *p = w->c.p;
    uint32_t hl = 24;
    if (!cur_need(&w->c, hl + 1))
        return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
    uint8_t fc = p[0];
    if (!((fc >> 2) & 0x02) || ((fc >> 4) & 0x04)) {
        dw(d, WEIRD_NON_DATA_80211);
        return DECODE_SKIP;
    }
    if ((p[1] & 0x03) == 0x03)
        hl += 6; /* To DS and From DS: a fourth address */
    if (!cur_need(&w->c, hl + 1))
        return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
    if (p[1] & 0x40) {
        dw(d, WEIRD_NON_DATA_80211); /* protected frame */
        return DECODE_SKIP;
    }
    if ((fc >> 4) & 0x08) {
        /* QoS data: a 2-byte QoS control.  An A-MSDU carries several
         * subframes; only the first one is decoded. */
        bool amsdu = (p[hl] & 0x80) != 0;
        hl += 2;
        if (!cur_need(&w->c, hl + 1))
            return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
        if (amsdu) {
            if (!cur_need(&w->c, hl + 14))
                return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
            uint32_t sub = rd16(p + hl + 12);
            hl += 14;
            if (w->c.len - hl < sub)
                return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
            w->c.len = hl + sub;
        }
    }
    cur_skip(&w->c, hl);
    if (!cur_need(&w->c, 8))
        return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
    p = w->c.p;
    if (p[0] != 0xaa || p[1] != 0xaa || p[2] != 0x03 || p[3] || p[4] || p[5])
        return not_ip(d);
    uint16_t type = rd16(p + 6);
    cur_skip(&w->c, 8);
    if (type != ET_IPV4 && type != ET_IPV6)
        return not_ip(d);
    return DECODE_OK;
}

/* PPP protocol numbers Zeek follows (RFC 1332 IPv4, RFC 5072 IPv6, RFC 3032 MPLS). */
static decode_result_t
ppp_protocol(decoder_t *d, walk_t *w, uint16_t proto)
{
    switch (proto) {
    case 0x0021:
    case 0x0057:
        return DECODE_OK;
    case 0x0281:
        return mpls(d, w);
    default:
        dw(d, WEIRD_UNKNOWN_PPP_PROTOCOL);
        return DECODE_SKIP;
    }
}

/* The AF_ value of a null/loopback header: AF_INET is 2 everywhere; AF_INET6
 * is 24 (NetBSD, OpenBSD), 28 (FreeBSD) or 30 (macOS). */
static bool
af_is_ip(uint32_t af)
{
    return af == 2 || af == 24 || af == 28 || af == 30;
}

decode_result_t
link_decode(decoder_t *d, int dlt, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
            l3_t *out)
{
    walk_t w = {.c = {data, caplen}, .nest = 0};
    decode_result_t r;

    switch (dlt) {
    case LT_EN10MB:
        r = ethernet(d, &w);
        break;
    case LT_RAW_LINUX:
    case LT_RAW_BSD:
    case LT_RAW:
    case LT_IPV4:
    case LT_IPV6:
    case INNER_DLT_IP:
        r = DECODE_OK;
        break;
    case LT_NULL:
    case LT_LOOP: {
        /* DLT_NULL is in the capturing host's byte order, DLT_LOOP in
         * network order; accept either for both. */
        if (!cur_need(&w.c, 5))
            return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
        uint32_t le = rd32le(w.c.p), be = rd32(w.c.p);
        cur_skip(&w.c, 4);
        r = af_is_ip(le) || af_is_ip(be) ? DECODE_OK : not_ip(d);
        break;
    }
    case LT_PPP: {
        /* RFC 1661/1662: with or without the HDLC address/control bytes. */
        if (!cur_need(&w.c, 3))
            return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
        uint16_t proto;
        if (w.c.p[0] == 0xff && w.c.p[1] == 0x03) {
            if (!cur_need(&w.c, 5))
                return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
            proto = rd16(w.c.p + 2);
            cur_skip(&w.c, 4);
        } else {
            proto = rd16(w.c.p);
            cur_skip(&w.c, 2);
        }
        r = ppp_protocol(d, &w, proto);
        break;
    }
    case LT_PPP_SERIAL: {
        if (!cur_need(&w.c, 5))
            return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
        uint16_t proto = rd16(w.c.p + 2);
        cur_skip(&w.c, 4);
        r = ppp_protocol(d, &w, proto);
        break;
    }
    case LT_LINUX_SLL: {
        /* 16 bytes; the protocol (an Ethernet type) is the last field. */
        if (!cur_need(&w.c, 17))
            return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
        uint16_t proto = rd16(w.c.p + 14);
        cur_skip(&w.c, 16);
        r = ethertype(d, &w, proto);
        break;
    }
    case LT_LINUX_SLL2: {
        /* 20 bytes; the protocol comes first. */
        if (!cur_need(&w.c, 21))
            return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
        uint16_t proto = rd16(w.c.p);
        cur_skip(&w.c, 20);
        r = ethertype(d, &w, proto);
        break;
    }
    case LT_IEEE802_11_RADIO: {
        /* Radiotap: a little-endian header length at offset 2. */
        if (!cur_need(&w.c, 4))
            return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
        uint32_t rlen = rd16le(w.c.p + 2);
        if (!cur_need(&w.c, rlen + 1))
            return truncated(d, WEIRD_TRUNCATED_LINK_HEADER);
        cur_skip(&w.c, rlen);
        r = ieee80211(d, &w);
        break;
    }
    case LT_IEEE802_11:
        r = ieee80211(d, &w);
        break;
    case INNER_DLT_MPLS:
        r = mpls(d, &w);
        break;
    case INNER_DLT_ERSPAN: {
        /* ERSPAN type II (version 1): 8 bytes; type III (version 2): 12,
         * plus an 8-byte platform header when the O bit is set. */
        if (!cur_need(&w.c, 8))
            return truncated(d, WEIRD_TRUNCATED_TUNNEL_HEADER);
        uint32_t elen;
        switch (w.c.p[0] >> 4) {
        case 1:
            elen = 8;
            break;
        case 2:
            if (!cur_need(&w.c, 12))
                return truncated(d, WEIRD_TRUNCATED_TUNNEL_HEADER);
            elen = (w.c.p[11] & 0x01) ? 20 : 12;
            if (!cur_need(&w.c, elen))
                return truncated(d, WEIRD_TRUNCATED_TUNNEL_HEADER);
            break;
        default:
            dw(d, WEIRD_BAD_TUNNEL_PAYLOAD);
            return DECODE_UNSUPPORTED;
        }
        cur_skip(&w.c, elen);
        r = ethernet(d, &w);
        break;
    }
    case INNER_DLT_NONE:
        dw(d, WEIRD_UNKNOWN_GRE_PROTOCOL);
        return DECODE_UNSUPPORTED;
    default:
        dw(d, WEIRD_PCAP_UNKNOWN_LINKTYPE);
        return DECODE_UNSUPPORTED;
    }
    if (r != DECODE_OK)
        return r;

    /* Zeek measures the IP layer's wire length as the frame's minus the
     * link headers (packet->len - hdr_size). */
    uint32_t used = (uint32_t)(w.c.p - data);
    out->p = w.c.p;
    out->caplen = w.c.len;
    out->wirelen = wirelen > used ? wirelen - used : 0;
    return DECODE_OK;
}
