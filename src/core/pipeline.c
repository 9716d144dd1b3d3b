/*
 * Per-packet glue between the decoder and the connection builder.  A
 * tunnel's inner packet is decoded only after the carrying layer was
 * accepted (Zeek drops a tunnel whose outer checksum is bad), and the
 * carrying connection's service is confirmed only once the inner packet
 * decoded as what the tunnel claimed.
 */
#include "core/pipeline.h"

void
pipeline_packet(void *user, int dlt, double ts, const uint8_t *data, uint32_t caplen,
                uint32_t wirelen)
{
    pipeline_t *p = user;
    pkt_layer_t layer[2];
    int cur = 0;

    p->packets++;
    p->bytes += wirelen;
    decode_result_t r = decode_packet(p->dec, dlt, data, caplen, wirelen, ts, &layer[0]);
    if (r != DECODE_OK) {
        if (r == DECODE_SKIP)
            p->not_ip++;
        else if (r != DECODE_PENDING)
            p->undecodable++;
        /* Timers run for every packet, IP or not (RunState dispatch_packet). */
        conn_builder_advance(p->cb, ts);
        return;
    }

    conn_parent_t parent = {0}, next;
    for (;;) {
        if (!conn_builder_packet(p->cb, &layer[cur], parent.valid ? &parent : NULL, &next))
            break;
        r = decode_inner(p->dec, &layer[cur], &layer[cur ^ 1]);
        if (r != DECODE_OK)
            break;
        conn_builder_tunnel_confirmed(p->cb, &next);
        parent = next;
        cur ^= 1;
    }
}
