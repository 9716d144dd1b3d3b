/*
 * Per-packet glue between the decoder and the connection builder.  A
 * tunnel's inner packet is decoded only after the carrying layer was
 * accepted (Zeek drops a tunnel whose outer checksum is bad) and the
 * builder, knowing the connection's responder port, agreed that a tunnel
 * is there.
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
        pkt_layer_t *l = &layer[cur];
        if (!conn_builder_packet(p->cb, l, parent.valid ? &parent : NULL, &next))
            break;
        /* Zeek picks a UDP tunnel by the connection's responder port. */
        if (l->proto == 17 && next.ref)
            decode_retarget_udp(p->dec, l, next.resp_port);
        if (!conn_builder_tunnel(p->cb, l, &next)) {
            /* A tunnel refused at the depth limit is Zeek's
             * exceeded_tunnel_max_depth weird, which decode_inner() counts
             * (and refuses the layer). */
            if (l->tunnel_verdict == TUNNEL_VERDICT_TOO_DEEP)
                (void)decode_inner(p->dec, l, &layer[cur ^ 1]);
            break;
        }
        if (decode_inner(p->dec, l, &layer[cur ^ 1]) != DECODE_OK)
            break;
        parent = next;
        cur ^= 1;
    }
}
