/**
 * @file cursor.h
 * Bounds-checked reading of packet bytes.  Every decoder step holds a
 * (pointer, remaining length) pair and asks cur_need() before it reads;
 * the readers below are byte-wise, so they are endian- and alignment-safe.
 * Internal to the decoder.
 */
#ifndef CONNLOGD_DECODE_CURSOR_H
#define CONNLOGD_DECODE_CURSOR_H

#include <stdbool.h>
#include <stdint.h>

/** A view of the bytes still to decode. */
typedef struct {
    const uint8_t *p; /* next byte */
    uint32_t len;     /* captured bytes from p on */
} cursor_t;

/** True when at least @p n bytes remain. */
static inline bool
cur_need(const cursor_t *c, uint32_t n)
{
    return c->len >= n;
}

/** Step over @p n bytes; the caller has checked cur_need(c, n). */
static inline void
cur_skip(cursor_t *c, uint32_t n)
{
    c->p += n;
    c->len -= n;
}

/** Big-endian 16-bit value at @p p. */
static inline uint16_t
rd16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

/** Big-endian 32-bit value at @p p. */
static inline uint32_t
rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/** Little-endian 16-bit value at @p p. */
static inline uint16_t
rd16le(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[1] << 8 | p[0]);
}

/** Little-endian 32-bit value at @p p. */
static inline uint32_t
rd32le(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

#endif
