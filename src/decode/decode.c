/*
 * The decoder's public entry points: set-up (with every buffer the packet
 * path will ever need), decoding of a captured frame's outermost IP layer,
 * decoding of what a tunnel carries, and the tunnel names Zeek logs.
 */
#include "decode/decode.h"

#include <glib.h>
#include <string.h>

#include "decode/internal.h"

#define DEFAULT_FRAG_TIMEOUT 60.0

static const char *const encap_names[ENCAP_COUNT] = {
    [ENCAP_NONE] = "",
    [ENCAP_IPIP] = "",      /* Zeek's IP tunnel analyzer never confirms a service */
    [ENCAP_GRE] = "gre",
    [ENCAP_GRE_UDP] = "gre",
    [ENCAP_VXLAN] = "vxlan",
    [ENCAP_GENEVE] = "geneve",
    [ENCAP_TEREDO] = "teredo",
    [ENCAP_AYIYA] = "ayiya",
    [ENCAP_GTPV1] = "gtpv1",
};

const char *
encap_name(encap_kind_t k)
{
    if ((unsigned)k >= ENCAP_COUNT)
        return "";
    return encap_names[k];
}

decoder_t *
decoder_new(const decoder_config_t *cfg, weird_counters_t *weirds)
{
    decoder_config_t def;
    if (!cfg) {
        memset(&def, 0, sizeof(def));
        cfg = &def;
    }
    decoder_t *d = g_new0(decoder_t, 1);
    d->w = weirds;
    d->ignore_checksums = cfg->ignore_checksums;
    d->ignore_nets = cfg->ignore_cksum_nets;
    d->max_depth = cfg->max_tunnel_depth > 0 ? cfg->max_tunnel_depth : DECODE_MAX_TUNNEL_DEPTH;
    if (d->max_depth > DECODE_TUNNEL_DEPTH_CAP)
        d->max_depth = DECODE_TUNNEL_DEPTH_CAP;
    double timeout = cfg->frag_timeout == 0 ? DEFAULT_FRAG_TIMEOUT : cfg->frag_timeout;
    d->frag = frag_table_new(cfg->frag_max_bytes, timeout);
    for (int i = 0; i <= d->max_depth; i++)
        d->reasm[i] = g_malloc(DECODE_REASM_BUF);
    return d;
}

void
decoder_free(decoder_t *d)
{
    if (!d)
        return;
    for (int i = 0; i <= DECODE_TUNNEL_DEPTH_CAP; i++)
        g_free(d->reasm[i]);
    frag_table_free(d->frag);
    g_free(d);
}

bool
decode_dlt_supported(int dlt)
{
    switch (dlt) {
    case LT_NULL:
    case LT_EN10MB:
    case LT_PPP:
    case LT_RAW_LINUX:
    case LT_RAW_BSD:
    case LT_PPP_SERIAL:
    case LT_RAW:
    case LT_IEEE802_11:
    case LT_LOOP:
    case LT_LINUX_SLL:
    case LT_IEEE802_11_RADIO:
    case LT_IPV4:
    case LT_IPV6:
    case LT_LINUX_SLL2:
        return true;
    default:
        return false;
    }
}

/* A fresh layer: only the fields whose zero is not "nothing" are set. */
static void
layer_init(pkt_layer_t *l, double ts, int depth, encap_kind_t outer, uint32_t wire_extra)
{
    memset(l, 0, sizeof(*l));
    l->ts = ts;
    l->depth = depth;
    l->outer_encap = outer;
    l->wire_extra = wire_extra;
    l->wscale = -1;
    l->inner_dlt = INNER_DLT_IP;
}

decode_result_t
decode_packet(decoder_t *d, int dlt, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
              double ts, pkt_layer_t *out)
{
    if (wirelen < caplen)
        wirelen = caplen;
    layer_init(out, ts, 0, ENCAP_NONE, wirelen - caplen);
    if (!data)
        caplen = 0;
    /* Tunnel pseudo-types are for decode_inner() only. */
    if (dlt < 0) {
        dw(d, WEIRD_PCAP_UNKNOWN_LINKTYPE);
        return DECODE_UNSUPPORTED;
    }
    l3_t l3;
    decode_result_t r = link_decode(d, dlt, data, caplen, wirelen, &l3);
    if (r != DECODE_OK)
        return r;
    return ip_decode(d, &l3, out);
}

decode_result_t
decode_inner(decoder_t *d, const pkt_layer_t *outer, pkt_layer_t *out)
{
    if (!outer || outer->inner_encap == ENCAP_NONE || (!outer->inner && outer->inner_caplen))
        return DECODE_UNSUPPORTED;
    if (outer->tunnel_verdict == TUNNEL_VERDICT_TOO_DEEP || outer->depth < 0 ||
        outer->depth >= d->max_depth) {
        dw(d, WEIRD_TUNNEL_TOO_DEEP);
        return DECODE_UNSUPPORTED;
    }
    uint32_t wire = outer->inner_wirelen < outer->inner_caplen ? outer->inner_caplen
                                                               : outer->inner_wirelen;
    layer_init(out, outer->ts, outer->depth + 1, outer->inner_encap, wire - outer->inner_caplen);
    l3_t l3;
    decode_result_t r =
        link_decode(d, outer->inner_dlt, outer->inner, outer->inner_caplen, wire, &l3);
    if (r != DECODE_OK)
        return r;
    return ip_decode(d, &l3, out);
}

void
decode_retarget_udp(decoder_t *d, pkt_layer_t *l, uint16_t resp_port)
{
    if (!l || l->proto != 17 || !l->l4_complete || !l->payload)
        return;
    if (resp_port == tunnel_guess_resp_port(l->sport, l->dport))
        return;
    tunnel_udp(d, l, resp_port);
}
