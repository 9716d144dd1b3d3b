/**
 * @file pipeline.h
 * The packet path's glue: decode a captured packet layer by layer and feed
 * each layer to the connection builder, following tunnels inward only when
 * the builder accepted the carrying packet.
 */
#ifndef CONNLOGD_CORE_PIPELINE_H
#define CONNLOGD_CORE_PIPELINE_H

#include <stdint.h>

#include "conn/conn.h"
#include "decode/decode.h"

typedef struct {
    decoder_t *dec;        /* borrowed */
    conn_builder_t *cb;    /* borrowed */
    uint64_t packets;
    uint64_t bytes;
    uint64_t not_ip;       /* DECODE_SKIP */
    uint64_t undecodable;  /* truncated, malformed or unsupported */
} pipeline_t;

/** pcapsrc_packet_fn-compatible: @p user is a pipeline_t. */
void pipeline_packet(void *user, int dlt, double ts, const uint8_t *data, uint32_t caplen,
                     uint32_t wirelen);

#endif
