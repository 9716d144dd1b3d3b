/*
 * Tunnels: which analyzer Zeek would hand a payload to, whether that
 * analyzer would confirm, refuse or reject it, and where the carried packet
 * starts.  Rules come from Zeek's packet analyzers (gre/GRE.cc,
 * erspan/ERSPAN.cc, ipinip/IPInIP.cc, vxlan/VXLAN.cc, geneve/Geneve.cc,
 * teredo/Teredo.cc, ayiya/AYIYA.cc, gtpv1/gtpv1-analyzer.pac) and from
 * udp/UDP.cc, which picks a UDP tunnel by the responder port and otherwise
 * tries Teredo and AYIYA detection on the payload.
 */
#include "decode/internal.h"

#include <string.h>

#include "decode/cursor.h"

/* The UDP analyzers Zeek registers by port (base/packet-protocols). */
static encap_kind_t
port_kind(uint16_t port)
{
    switch (port) {
    case 4789:
        return ENCAP_VXLAN;
    case 6081:
        return ENCAP_GENEVE;
    case 3544:
        return ENCAP_TEREDO;
    case 5072:
        return ENCAP_AYIYA;
    case 2152: /* GTP-U */
    case 2123: /* GTP-C: parsed, never carries user data */
        return ENCAP_GTPV1;
    case 4754:
        return ENCAP_GRE_UDP;
    default:
        return ENCAP_NONE;
    }
}

uint16_t
tunnel_guess_resp_port(uint16_t sport, uint16_t dport)
{
    if (port_kind(sport) != ENCAP_NONE && port_kind(dport) == ENCAP_NONE)
        return sport;
    return dport;
}

static void
set_inner(pkt_layer_t *l, encap_kind_t k, const uint8_t *p, uint32_t len, int dlt)
{
    l->inner_encap = k;
    l->inner = p;
    l->inner_caplen = len;
    l->inner_dlt = dlt;
    /* Zeek derives the inner wire length from the outer one, so a snaplen
     * cut of the frame carries over (IPTunnel build_inner_packet). */
    l->inner_wirelen = len + l->wire_extra;
}

/* Zeek refuses a tunnel inside a packet already Tunnel::max_depth deep. */
static bool
too_deep(const decoder_t *d, pkt_layer_t *l, encap_kind_t k, const uint8_t *p, uint32_t len)
{
    if (l->depth < d->max_depth)
        return false;
    l->tunnel_verdict = TUNNEL_VERDICT_TOO_DEEP;
    set_inner(l, k, p, len, INNER_DLT_IP);
    return true;
}

static void
violation(decoder_t *d, pkt_layer_t *l, weird_kind_t why)
{
    dw(d, why);
    l->tunnel_verdict = TUNNEL_VERDICT_VIOLATION;
}

/* ------------------------------------------------------------------ */
/* IP-level tunnels                                                    */

/* What follows a GRE header of protocol type @p proto (the dispatch table
 * of base/packet-protocols/gre/main.zeek, Aruba types included). */
static int
gre_proto_dlt(uint16_t proto)
{
    switch (proto) {
    case 0x0800:
    case 0x86dd:
        return INNER_DLT_IP;
    case 0x8847:
        return INNER_DLT_MPLS;
    case 0x6558:
        return LT_EN10MB;
    case 0x88be:
    case 0x22eb:
        return INNER_DLT_ERSPAN;
    case 0x9000:
        return LT_IEEE802_11;
    default:
        /* Aruba: 0x8200 to 0x8370 in steps of 0x10. */
        if (proto >= 0x8200 && proto <= 0x8370 && (proto & 0x0f) == 0)
            return LT_IEEE802_11;
        return INNER_DLT_NONE;
    }
}

decode_result_t
tunnel_gre(decoder_t *d, pkt_layer_t *l, const uint8_t *p, uint32_t len, encap_kind_t kind)
{
    l->l4_complete = true;
    l->tunnel = kind;
    if (too_deep(d, l, kind, p, len))
        return DECODE_OK;
    if (len < 4) {
        dw(d, WEIRD_TRUNCATED_TUNNEL_HEADER);
        return DECODE_TRUNCATED;
    }
    uint16_t flags = rd16(p);
    uint16_t ptype = rd16(p + 2);
    unsigned ver = flags & 0x7u;
    /* Optional fields (RFC 2784, 2890; RFC 2637 for the PPTP ack). */
    uint32_t glen = 4;
    glen += (flags & 0x8000) ? 4 : 0; /* checksum + reserved */
    glen += (flags & 0x2000) ? 4 : 0; /* key */
    glen += (flags & 0x1000) ? 4 : 0; /* sequence */
    glen += (flags & 0x0080) ? 4 : 0; /* acknowledgment */
    uint32_t pptp = ver == 1 ? 4 : 0; /* PPP address, control, protocol */

    if (ver > 1) {
        dw(d, WEIRD_BAD_GRE_VERSION);
        return DECODE_MALFORMED;
    }
    uint16_t proto = ptype;
    if (ver == 1) {
        if (ptype != 0x880b) {
            /* Enhanced GRE (RFC 2637) carries only PPP. */
            dw(d, WEIRD_UNKNOWN_GRE_PROTOCOL);
            return DECODE_MALFORMED;
        }
    } else if (ptype == 0x88be && !(flags & 0x1000)) {
        /* ERSPAN type I has no sequence number and no ERSPAN header. */
        proto = 0x6558;
    }
    if (flags & 0x4000) {
        /* Source routing (RFC 1701, deprecated by RFC 2784): Zeek gives up. */
        dw(d, WEIRD_UNKNOWN_GRE_FLAGS);
        return DECODE_MALFORMED;
    }
    if (flags & 0x0078) {
        dw(d, WEIRD_UNKNOWN_GRE_FLAGS);
        return DECODE_MALFORMED;
    }
    if (len < glen + pptp) {
        dw(d, WEIRD_TRUNCATED_TUNNEL_HEADER);
        return DECODE_TRUNCATED;
    }
    if (ver == 1) {
        uint16_t ppp = rd16(p + glen + 2);
        if (ppp != 0x0021 && ppp != 0x0057) {
            dw(d, WEIRD_BAD_TUNNEL_PAYLOAD);
            return DECODE_MALFORMED;
        }
        proto = ppp == 0x0021 ? 0x0800 : 0x86dd;
    }
    /* Zeek builds the inner packet (and the tunnel's identity) before it
     * dispatches on the protocol type, so an unknown type still makes a
     * tunnel; decode_inner() reports it. */
    set_inner(l, kind, p + glen + pptp, len - glen - pptp, gre_proto_dlt(proto));
    l->tunnel_verdict = TUNNEL_VERDICT_PLAIN;
    return DECODE_OK;
}

decode_result_t
tunnel_ipip(decoder_t *d, pkt_layer_t *l, const uint8_t *p, uint32_t len)
{
    l->l4_complete = true;
    l->tunnel = ENCAP_IPIP;
    if (too_deep(d, l, ENCAP_IPIP, p, len))
        return DECODE_OK;
    /* Zeek checks the inner header before it records the tunnel: version
     * as the protocol number says, and a total length equal to what is
     * there (IP::ParsePacket). */
    uint32_t total;
    if (l->proto == 41) {
        if (len < 40) {
            dw(d, WEIRD_BAD_TUNNEL_PAYLOAD);
            return DECODE_TRUNCATED;
        }
        if ((p[0] >> 4) != 6) {
            dw(d, WEIRD_BAD_TUNNEL_PAYLOAD);
            return DECODE_MALFORMED;
        }
        total = (uint32_t)rd16(p + 4) + 40;
    } else {
        if (len < 20 || (p[0] >> 4) != 4) {
            dw(d, WEIRD_BAD_TUNNEL_PAYLOAD);
            return DECODE_MALFORMED;
        }
        total = rd16(p + 2);
    }
    if (total != len) {
        dw(d, WEIRD_BAD_TUNNEL_PAYLOAD);
        return len < total ? DECODE_TRUNCATED : DECODE_MALFORMED;
    }
    set_inner(l, ENCAP_IPIP, p, len, INNER_DLT_IP);
    l->tunnel_verdict = TUNNEL_VERDICT_PLAIN;
    return DECODE_OK;
}

/* ------------------------------------------------------------------ */
/* UDP tunnels                                                         */

static void
vxlan(decoder_t *d, pkt_layer_t *l, const uint8_t *p, uint32_t len)
{
    if (too_deep(d, l, ENCAP_VXLAN, p, len))
        return;
    if (len < 8) {
        violation(d, l, WEIRD_TRUNCATED_TUNNEL_HEADER);
        return;
    }
    if (!(p[0] & 0x08)) {
        /* RFC 7348: the I flag must be set for a valid VNI. */
        violation(d, l, WEIRD_BAD_TUNNEL_PAYLOAD);
        return;
    }
    l->tunnel_verdict = TUNNEL_VERDICT_CONFIRM;
    if (len == 8) {
        dw(d, WEIRD_BAD_TUNNEL_PAYLOAD); /* vxlan_empty_packet */
        return;
    }
    set_inner(l, ENCAP_VXLAN, p + 8, len - 8, LT_EN10MB);
}

static void
geneve(decoder_t *d, pkt_layer_t *l, const uint8_t *p, uint32_t len)
{
    if (too_deep(d, l, ENCAP_GENEVE, p, len))
        return;
    if (len < 8) {
        violation(d, l, WEIRD_TRUNCATED_TUNNEL_HEADER);
        return;
    }
    if ((p[0] >> 6) != 0) {
        /* RFC 8926: only version 0; Zeek raises a weird, not a violation. */
        dw(d, WEIRD_BAD_TUNNEL_PAYLOAD);
        l->tunnel_verdict = TUNNEL_VERDICT_PLAIN;
        return;
    }
    uint32_t hdr = 8 + (uint32_t)(p[0] & 0x3f) * 4;
    if (hdr > len) {
        violation(d, l, WEIRD_TRUNCATED_TUNNEL_HEADER);
        return;
    }
    l->tunnel_verdict = TUNNEL_VERDICT_CONFIRM;
    if (len == hdr) {
        dw(d, WEIRD_BAD_TUNNEL_PAYLOAD); /* geneve_empty_packet */
        return;
    }
    switch (rd16(p + 2)) {
    case 0x6558:
        set_inner(l, ENCAP_GENEVE, p + hdr, len - hdr, LT_EN10MB);
        break;
    case 0x0800:
    case 0x86dd:
        set_inner(l, ENCAP_GENEVE, p + hdr, len - hdr, INNER_DLT_IP);
        break;
    case 0x0806:
        break; /* ARP: nothing for conn.log */
    default:
        dw(d, WEIRD_BAD_TUNNEL_PAYLOAD);
        break;
    }
}

/* AYIYA::DetectProtocol: the op code/next header bytes of a forward of IP. */
static bool
ayiya_detect(const uint8_t *p, uint32_t len)
{
    return len >= 3 && p[1] == 0x52 && p[2] == 0x11;
}

static void
ayiya(decoder_t *d, pkt_layer_t *l, const uint8_t *p, uint32_t len)
{
    if (too_deep(d, l, ENCAP_AYIYA, p, len))
        return;
    if (len < 8) {
        violation(d, l, WEIRD_TRUNCATED_TUNNEL_HEADER);
        return;
    }
    /* Identity length 2^n bytes, signature 4*n bytes (AYIYA draft 3.2). */
    uint32_t hdr = 8 + (1u << (p[0] >> 4)) + (uint32_t)(p[1] >> 4) * 4;
    if (hdr > len) {
        violation(d, l, WEIRD_TRUNCATED_TUNNEL_HEADER);
        return;
    }
    if ((p[2] & 0x0f) != 1) {
        /* Only op code 1 ("forward") carries a packet; the rest is not an error. */
        l->tunnel_verdict = TUNNEL_VERDICT_PLAIN;
        return;
    }
    l->tunnel_verdict = TUNNEL_VERDICT_CONFIRM;
    if (len == hdr) {
        dw(d, WEIRD_BAD_TUNNEL_PAYLOAD); /* ayiya_empty_packet */
        return;
    }
    if (p[3] == 4 || p[3] == 41)
        set_inner(l, ENCAP_AYIYA, p + hdr, len - hdr, INNER_DLT_IP);
    else
        dw(d, WEIRD_BAD_TUNNEL_PAYLOAD);
}

/* Teredo::DetectProtocol, including the old DPD signature it embeds:
 * /^([\x60-\x6f].{7}\x20\x01\x00\x00.{28})|([\x60-\x6f].{23}\x20\x01\x00\x00).{12}/
 * matched from the start: an IPv6 header with a Teredo (2001:0::/32) source
 * or destination.  As in any Zeek pattern, '.' does not match a newline. */
static bool
teredo_signature(const uint8_t *p, uint32_t len)
{
    if (len < 40 || (p[0] & 0xf0) != 0x60)
        return false;
    static const uint8_t pfx[4] = {0x20, 0x01, 0x00, 0x00};
    for (int alt = 0; alt < 2; alt++) {
        uint32_t at = alt == 0 ? 8 : 24;
        if (memcmp(p + at, pfx, 4) != 0)
            continue;
        bool ok = true;
        for (uint32_t i = 1; i < 40 && ok; i++)
            if ((i < at || i >= at + 4) && p[i] == '\n')
                ok = false;
        if (ok)
            return true;
    }
    return false;
}

static bool
teredo_detect(const uint8_t *p, uint32_t len)
{
    if (len < 40 || ((p[0] >> 4) != 6 && (p[0] != 0 || (p[1] != 0 && p[1] != 1))))
        return false;
    if (teredo_signature(p, len))
        return true;
    uint16_t val = p[1];
    if (val == 1) {
        /* An authentication header; an origin indication must follow. */
        uint32_t skip = 13u + p[2] + p[3];
        if (len < skip)
            return false;
        p += skip;
        len -= skip;
        if (len < 40)
            return false;
        val = rd16(p);
    }
    if (val == 0) {
        if (len < 8)
            return false;
        p += 8;
        len -= 8;
        return len >= 40 && (p[0] >> 4) == 6;
    }
    return false;
}

static void
teredo(decoder_t *d, pkt_layer_t *l, const uint8_t *p, uint32_t len)
{
    if (too_deep(d, l, ENCAP_TEREDO, p, len))
        return;
    /* RFC 4380 5.1.1: an optional authentication indication, then an
     * optional origin indication, then the IPv6 packet. */
    bool origin = false, auth = false;
    for (;;) {
        if (len < 2) {
            violation(d, l, WEIRD_TRUNCATED_TUNNEL_HEADER);
            return;
        }
        uint16_t tag = rd16(p);
        if (tag == 0) {
            if (origin || len < 8) {
                violation(d, l, origin ? WEIRD_BAD_TUNNEL_PAYLOAD : WEIRD_TRUNCATED_TUNNEL_HEADER);
                return;
            }
            origin = true;
            p += 8;
            len -= 8;
        } else if (tag == 1) {
            if (origin || auth || len < 4) {
                violation(d, l, len < 4 ? WEIRD_TRUNCATED_TUNNEL_HEADER : WEIRD_BAD_TUNNEL_PAYLOAD);
                return;
            }
            uint32_t tot = 4u + p[2] + p[3] + 8 + 1; /* ids, nonce, confirmation */
            if (len < tot) {
                violation(d, l, WEIRD_TRUNCATED_TUNNEL_HEADER);
                return;
            }
            auth = true;
            p += tot;
            len -= tot;
        } else if ((tag >> 12) == 6) {
            if (len < 40) {
                violation(d, l, WEIRD_TRUNCATED_TUNNEL_HEADER);
                return;
            }
            break;
        } else {
            violation(d, l, WEIRD_BAD_TUNNEL_PAYLOAD);
            return;
        }
    }
    /* The IPv6 packet must fill the datagram exactly; a bubble (no next
     * header, no payload) may be followed by junk (Teredo_bubble_with_payload). */
    uint32_t total = (uint32_t)rd16(p + 4) + 40;
    if (len != total) {
        v6chain_t c;
        bool bubble = ipv6_chain(p, len, &c) == V6CHAIN_OK && c.next == 59 && c.hdr_len == total;
        if (len < total || !bubble) {
            violation(d, l, WEIRD_BAD_TUNNEL_PAYLOAD);
            return;
        }
    }
    l->tunnel_verdict = TUNNEL_VERDICT_VALID;
    set_inner(l, ENCAP_TEREDO, p, len, INNER_DLT_IP);
}

static void
gtpv1(decoder_t *d, pkt_layer_t *l, const uint8_t *p, uint32_t len)
{
    /* The binpac parser reads the whole header before anything is checked;
     * running out of bytes there is a violation (3GPP TS 29.281 5.1). */
    if (len < 8) {
        violation(d, l, WEIRD_TRUNCATED_TUNNEL_HEADER);
        return;
    }
    uint8_t flags = p[0];
    uint32_t hdr = 8;
    if (flags & 0x07) {
        /* E, S or PN: sequence number, N-PDU number, next extension type */
        if (len < 12) {
            violation(d, l, WEIRD_TRUNCATED_TUNNEL_HEADER);
            return;
        }
        hdr = 12;
    }
    if (flags & 0x04) {
        /* Extension headers, each 4*n bytes with its successor's type last. */
        for (int n = 0;; n++) {
            if (hdr >= len || n > 64) {
                violation(d, l, WEIRD_TRUNCATED_TUNNEL_HEADER);
                return;
            }
            uint32_t elen = (uint32_t)p[hdr] * 4;
            if (elen == 0 || hdr + elen > len) {
                violation(d, l, WEIRD_TRUNCATED_TUNNEL_HEADER);
                return;
            }
            hdr += elen;
            if (p[hdr - 1] == 0)
                break;
        }
    }
    if (too_deep(d, l, ENCAP_GTPV1, p, len))
        return;
    if (l->outer_encap == ENCAP_GTPV1) {
        violation(d, l, WEIRD_BAD_TUNNEL_PAYLOAD); /* GTP is never inside GTP */
        return;
    }
    if ((flags >> 5) != 1) {
        violation(d, l, WEIRD_BAD_TUNNEL_PAYLOAD);
        return;
    }
    l->tunnel_verdict = TUNNEL_VERDICT_PLAIN;
    /* GTP' (PT = 0) and control messages carry no user packet; only a
     * G-PDU (message type 255) does. */
    if (!(flags & 0x10) || p[1] != 0xff)
        return;
    const uint8_t *ip = p + hdr;
    uint32_t ilen = len - hdr;
    if (ilen < 20 || ((ip[0] >> 4) != 4 && (ip[0] >> 4) != 6)) {
        violation(d, l, WEIRD_BAD_TUNNEL_PAYLOAD);
        return;
    }
    uint32_t total;
    if ((ip[0] >> 4) == 6) {
        if (ilen < 40) {
            violation(d, l, WEIRD_BAD_TUNNEL_PAYLOAD);
            return;
        }
        total = (uint32_t)rd16(ip + 4) + 40;
    } else {
        total = rd16(ip + 2);
    }
    if (total != ilen) {
        violation(d, l, WEIRD_BAD_TUNNEL_PAYLOAD);
        return;
    }
    /* Tunnel::delay_gtp_confirmation is F: confirm on the first good G-PDU. */
    l->tunnel_verdict = TUNNEL_VERDICT_CONFIRM;
    set_inner(l, ENCAP_GTPV1, ip, ilen, INNER_DLT_IP);
}

void
tunnel_udp(decoder_t *d, pkt_layer_t *l, uint16_t resp_port)
{
    l->tunnel = ENCAP_NONE;
    l->tunnel_verdict = TUNNEL_VERDICT_NONE;
    l->inner_encap = ENCAP_NONE;
    l->inner = NULL;
    l->inner_caplen = l->inner_wirelen = 0;
    l->inner_dlt = INNER_DLT_IP;

    /* Zeek forwards min(IP payload, captured) minus the UDP header. */
    const uint8_t *p = l->payload;
    uint32_t len = l->payload_caplen;
    encap_kind_t k = port_kind(resp_port);
    if (k == ENCAP_NONE) {
        if (ayiya_detect(p, len))
            k = ENCAP_AYIYA;
        else if (teredo_detect(p, len))
            k = ENCAP_TEREDO;
        else
            return;
    }
    l->tunnel = k;
    switch (k) {
    case ENCAP_VXLAN:
        vxlan(d, l, p, len);
        break;
    case ENCAP_GENEVE:
        geneve(d, l, p, len);
        break;
    case ENCAP_TEREDO:
        teredo(d, l, p, len);
        break;
    case ENCAP_AYIYA:
        ayiya(d, l, p, len);
        break;
    case ENCAP_GTPV1:
        gtpv1(d, l, p, len);
        break;
    case ENCAP_GRE_UDP:
        /* GRE never confirms; its errors are weirds only. */
        if (tunnel_gre(d, l, p, len, ENCAP_GRE_UDP) != DECODE_OK)
            l->tunnel_verdict = TUNNEL_VERDICT_PLAIN;
        break;
    default:
        break;
    }
}
