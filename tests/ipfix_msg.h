/*
 * Hand-built IPFIX messages for the Check suites (RFC 7011 section 3): a
 * byte buffer with big-endian appends, a message header, and sets whose
 * length fields are filled in when they are closed.  Shared by
 * check_ipfix.c and check_ipfix_limits.c, which need messages libfixbuf's
 * exporter would refuse to write.  Include after <check.h>.
 */
#ifndef CONNLOGD_TESTS_IPFIX_MSG_H
#define CONNLOGD_TESTS_IPFIX_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define T0 1700000000u /* export time of every message we write */

typedef struct {
    uint8_t b[65535];
    size_t len;
    size_t set; /* start of the open set, 0 if none */
} msg_t;

static inline void
m_u8(msg_t *m, uint8_t v)
{
    ck_assert_uint_lt(m->len, sizeof(m->b));
    m->b[m->len++] = v;
}

static inline void
m_u16(msg_t *m, uint16_t v)
{
    m_u8(m, (uint8_t)(v >> 8));
    m_u8(m, (uint8_t)v);
}

static inline void
m_u32(msg_t *m, uint32_t v)
{
    m_u16(m, (uint16_t)(v >> 16));
    m_u16(m, (uint16_t)v);
}

/* A message header: version 10, length filled in by m_finish(). */
static inline void
m_begin(msg_t *m, uint32_t seq, uint32_t domain)
{
    m->len = 0;
    m->set = 0;
    m_u16(m, 10);
    m_u16(m, 0);
    m_u32(m, T0);
    m_u32(m, seq);
    m_u32(m, domain);
}

static inline void
m_set(msg_t *m, uint16_t id)
{
    m->set = m->len;
    m_u16(m, id);
    m_u16(m, 0);
}

static inline void
m_end_set(msg_t *m)
{
    uint16_t l = (uint16_t)(m->len - m->set);

    m->b[m->set + 2] = (uint8_t)(l >> 8);
    m->b[m->set + 3] = (uint8_t)l;
    m->set = 0;
}

static inline void
m_finish(msg_t *m)
{
    if (m->set)
        m_end_set(m);
    m->b[2] = (uint8_t)(m->len >> 8);
    m->b[3] = (uint8_t)m->len;
}

#endif
