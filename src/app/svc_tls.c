/*
 * Handshake-driven encrypted protocols: SSL/TLS (Zeek's SSL analyzer
 * confirms on a client hello with a version it accepts), DTLS, QUIC (whose
 * decrypted Initial carries a TLS client hello, hence "quic,ssl") and SSH
 * (confirmed by the NEWKEYS message, found by following the binary packet
 * framing after the version lines).
 */
#include <ctype.h>
#include <string.h>

#include "app/svc_int.h"

/* ssl-defs.pac version_ok(): the versions whose hellos Zeek accepts. */
static bool
tls_version_ok(uint16_t v)
{
    switch (v) {
    case 0x0002: /* SSLv2 */
    case 0x0300:
    case 0x0301:
    case 0x0302:
    case 0x0303:
    case 0x0304:
    case 0xfeff: /* DTLS 1.0 */
    case 0xfefd: /* DTLS 1.2 */
    case 0xfefc: /* DTLS 1.3 */
        return true;
    default:
        /* TLS 1.3 drafts (0x7fNN) and Facebook's experimental versions. */
        return (v >> 8) == 0x7f || (v >> 8) == 0xfb;
    }
}

bool
svc_tls_client_hello(const uint8_t *d, uint32_t n, bool *seen)
{
    *seen = false;
    if (n >= 5 && (d[0] & 0x80) && d[2] == 0x01) {
        /* SSLv2 record header (2 bytes), CLIENT-HELLO, then the version. */
        *seen = true;
        return tls_version_ok(svc_be16(d + 3));
    }
    if (n < 11 || d[0] != 0x16 || d[1] != 0x03 || d[5] != 0x01)
        return false;
    *seen = true;
    return tls_version_ok(svc_be16(d + 9));
}

/* determine_ssl_record_layer + the record types Zeek knows: false when the
 * first bytes of a direction cannot start an SSL/TLS record. */
static bool
tls_record_ok(const uint8_t *d, uint32_t n)
{
    if (n < 3)
        return true; /* too short to tell */
    if (d[0] & 0x80)
        return true; /* SSLv2 framing */
    if (d[1] != 0x03)
        return false;
    return d[0] >= 20 && d[0] <= 24; /* CCS, alert, handshake, data, heartbeat */
}

void
svc_ssl(svc_ctx_t *c)
{
    svc_state_t *s = c->s;
    if (c->off != 0)
        return;
    if (c->dir == 0) {
        bool seen;
        bool ok = svc_tls_client_hello(c->d, c->n, &seen);
        s->scratch |= SB_SSL_CH_SEEN | (ok ? SB_SSL_CH_OK : 0);
        if (!svc_active(c)) {
            /* dpd_tls_client: /^\x16\x03[\x00-\x03]..\x01...\x03[\x00-\x03]/ */
            bool sig = c->n >= 11 && c->d[0] == 0x16 && c->d[1] == 0x03 && c->d[2] <= 3 &&
                       c->d[5] == 0x01 && c->d[9] == 0x03 && c->d[10] <= 3;
            if (!sig) {
                if (s->scratch & SB_SSL_SRV_SEEN)
                    svc_drop(c);
                return;
            }
            svc_enable(c);
        }
        if (ok) {
            svc_confirm(c); /* proc_client_hello: version_ok() */
        } else if (seen || !tls_record_ok(c->d, c->n)) {
            svc_violation(c); /* unsupported client version / not an SSL record */
            return;
        }
        if (s->scratch & SB_SSL_SRV_SEEN)
            svc_drop(c);
        return;
    }
    /* responder */
    s->scratch |= SB_SSL_SRV_SEEN;
    if (!svc_active(c)) {
        /* dpd_tls_server: an optional alert record, then a server hello
         * with version 3.0-3.4 or a TLS 1.3 draft. */
        uint32_t i = 0;
        if (c->n >= 5 && c->d[0] == 0x15 && c->d[1] == 0x03 && c->d[2] <= 3)
            i = 7;
        bool sig = c->n >= i + 11 && c->d[i] == 0x16 && c->d[i + 1] == 0x03 &&
                   c->d[i + 2] <= 3 && c->d[i + 5] == 0x02 &&
                   ((c->d[i + 9] == 0x03 && c->d[i + 10] <= 4) ||
                    (c->d[i + 9] == 0x7f && c->d[i + 10] <= 0x50));
        if (!sig) {
            if (s->scratch & SB_SSL_CH_SEEN)
                svc_drop(c);
            return;
        }
        svc_enable(c);
        if (s->scratch & SB_SSL_CH_OK)
            svc_confirm(c); /* the buffered client hello, replayed */
    }
    if (!tls_record_ok(c->d, c->n) ||
        (c->n >= 11 && c->d[0] == 0x16 && c->d[5] == 0x02 && !tls_version_ok(svc_be16(c->d + 9)))) {
        svc_violation(c); /* unknown record type / unsupported server version */
        return;
    }
    if (s->scratch & SB_SSL_CH_SEEN)
        svc_drop(c);
}

/* ---------------------------------------------------------------- DTLS */

void
svc_dtls_udp(svc_ctx_t *c)
{
    const uint8_t *d = c->d;
    uint32_t n = c->n;
    /* DTLS record (13 bytes) and handshake header (12 bytes), then the
     * client version of a ClientHello. */
    bool hello = n >= 27 && d[0] == 0x16 && d[1] == 0xfe && d[13] == 0x01;
    if (!svc_active(c)) {
        /* dpd_dtls_client: epoch 0 and a zero-prefixed sequence number. */
        bool sig = hello && (d[2] == 0xff || d[2] == 0xfd) && memcmp(d + 3, "\0\0\0\0\0\0\0", 7) == 0 &&
                   d[25] == 0xfe && (d[26] == 0xff || d[26] == 0xfd);
        if (!sig) {
            if (c->s->seen > SVC_DPD_WINDOW)
                svc_drop(c); /* PIA_UDP matches only the first 1 KiB */
            return;
        }
        svc_enable(c);
    }
    if (c->dir == 0 && hello) {
        if (tls_version_ok(svc_be16(d + 25))) {
            svc_confirm(c);
            svc_drop(c);
        } else {
            svc_violation(c);
        }
        return;
    }
    if (n >= 3 && !(d[0] >= 20 && d[0] <= 24 && d[1] == 0xfe))
        svc_violation(c); /* not a DTLS record */
}

/* ---------------------------------------------------------------- QUIC */

static bool
quic_varint(const uint8_t *d, uint32_t n, uint32_t *pos, uint64_t *v)
{
    if (*pos >= n)
        return false;
    unsigned len = 1u << (d[*pos] >> 6);
    if (*pos + len > n)
        return false;
    uint64_t x = d[*pos] & 0x3f;
    for (unsigned i = 1; i < len; i++)
        x = (x << 8) | d[*pos + i];
    *pos += len;
    *v = x;
    return true;
}

static bool
quic_version_known(uint32_t v)
{
    return v == 0x00000001 || v == 0x6b3343cf || (v >= 0xff000016 && v <= 0xff000022) ||
           v == 0xfaceb001 || v == 0xfaceb002 || v == 0xfaceb00e ||
           (v >= 0xfaceb011 && v <= 0xfaceb013);
}

/* A client Initial packet that Zeek's QUIC analyzer would decrypt.  We do
 * not decrypt: a well-formed Initial of a known version with a connection
 * ID of 8+ bytes (RFC 9000 7.2) in a padded datagram (14.1: 1200+ bytes) is
 * taken as decryptable, and its CRYPTO frames as the TLS client hello. */
static bool
quic_client_initial(const uint8_t *d, uint32_t n, bool *sig)
{
    *sig = false;
    if (n < 7 || (d[0] & 0xc0) != 0xc0)
        return false;
    uint32_t ver = svc_be32(d + 1);
    unsigned type = (d[0] >> 4) & 3;
    bool initial = ver == 0x6b3343cf ? type == 1 : type == 0;
    *sig = (ver == 1 && type == 0) || (ver == 0x6b3343cf && type == 1);
    if (!initial || !quic_version_known(ver))
        return false;
    uint32_t pos = 5;
    unsigned dcil = d[pos++];
    if (dcil > 20 || pos + dcil >= n)
        return false;
    pos += dcil;
    unsigned scil = d[pos++];
    if (scil > 20 || pos + scil > n)
        return false;
    pos += scil;
    uint64_t tl, len;
    if (!quic_varint(d, n, &pos, &tl) || tl > n - pos)
        return false;
    pos += (uint32_t)tl;
    if (!quic_varint(d, n, &pos, &len) || len < 20 || len > n - pos)
        return false;
    return dcil >= 8 && n >= 1200;
}

void
svc_quic_udp(svc_ctx_t *c)
{
    bool sig = false;
    bool ok = c->dir == 0 && quic_client_initial(c->d, c->n, &sig);
    if (!svc_active(c)) {
        /* dpd_quic_initial / dpd_quic_v2_initial */
        if (!sig) {
            if (c->s->seen > SVC_DPD_WINDOW)
                svc_drop(c); /* PIA_UDP matches only the first 1 KiB */
            return;
        }
        svc_enable(c);
    }
    if (ok) {
        /* The decrypted Initial confirms QUIC, then its CRYPTO frames feed
         * the SSL analyzer a client hello. */
        svc_confirm(c);
        svc_confirm_name(c->s, SVC_SSL);
        svc_drop(c);
        return;
    }
    if (c->n > 0 && !(c->d[0] & 0x40)) {
        /* fixed bit clear: discarded, not a violation */
    } else if (c->dir == 0 && c->n >= 5 && (c->d[0] & 0x80) &&
               !quic_version_known(svc_be32(c->d + 1)) && svc_be32(c->d + 1) != 0) {
        svc_violation(c); /* "unhandled QUIC version" */
    }
}

/* ---------------------------------------------------------------- SSH */

/* Owner aux bits. */
enum {
    SSH_BIN_O = 1, SSH_BIN_R = 2, /* version line done, binary packets follow */
    SSH_LOST_O = 4, SSH_LOST_R = 8, /* framing lost */
    SSH_V1 = 16,
};

/* Follow the binary packets of one direction; true at NEWKEYS (SSH2) or
 * SSH_CMSG_SESSION_KEY (SSH1, from the client). */
static bool
ssh_packets(svc_ctx_t *c, uint32_t pos)
{
    svc_state_t *s = c->s;
    uint32_t *skip = &s->skip[c->dir];
    uint8_t lost = c->dir == 0 ? SSH_LOST_O : SSH_LOST_R;
    if (s->aux & lost)
        return false;
    if (*skip >= c->n - pos) {
        *skip -= c->n - pos;
        return false;
    }
    pos += *skip;
    *skip = 0;
    while (pos < c->n) {
        if (c->n - pos < 6) {
            s->aux |= lost; /* a header split across segments */
            return false;
        }
        uint32_t len = svc_be32(c->d + pos);
        uint32_t total;
        uint8_t type;
        if (s->aux & SSH_V1) {
            uint32_t pad = 8 - (len % 8);
            if (len < 5 || len > 262144 || c->n - pos < 4 + pad + 1) {
                s->aux |= lost;
                return false;
            }
            type = c->d[pos + 4 + pad];
            total = 4 + pad + len;
            if (c->dir == 0 && type == 3)
                return true;
        } else {
            if (len < 5 || len > 35000) {
                s->aux |= lost;
                return false;
            }
            type = c->d[pos + 5];
            total = 4 + len;
            if (type == 21)
                return true;
        }
        if (total > c->n - pos) {
            *skip = total - (c->n - pos);
            return false;
        }
        pos += total;
    }
    return false;
}

void
svc_ssh(svc_ctx_t *c)
{
    svc_state_t *s = c->s;
    if (c->off == 0) {
        /* dpd_ssh_client / dpd_ssh_server: /^[sS][sS][hH]-[12]\./ */
        bool sig = c->n >= 6 && svc_iprefix(c->d, c->n, "SSH-") && (c->d[4] == '1' || c->d[4] == '2') &&
                   c->d[5] == '.';
        if (!svc_active(c)) {
            if (!sig) {
                svc_drop(c);
                return;
            }
            svc_sig_side(c, c->dir);
        }
        if (!svc_owns(c) && !svc_own(c)) {
            svc_drop(c);
            return;
        }
    } else if (!svc_owns(c)) {
        return;
    }
    uint8_t bin = c->dir == 0 ? SSH_BIN_O : SSH_BIN_R;
    uint32_t pos = 0;
    if (!(s->aux & bin)) {
        /* The version line; servers may send other lines before it. */
        svc_lines_t it = {c->d, c->n, svc_line_resume(c)};
        const uint8_t *l;
        uint32_t len;
        bool complete;
        bool found = false;
        while (svc_line_next(&it, &l, &len, &complete)) {
            if (!complete)
                return;
            if (svc_iprefix(l, len, "SSH-")) {
                found = true;
                if (c->dir == 0 && len >= 6 && l[4] == '1' && !svc_prefix(l, len, "SSH-1.99"))
                    s->aux |= SSH_V1;
                break;
            }
        }
        if (!found)
            return;
        s->aux |= bin;
        pos = it.pos;
    }
    if (ssh_packets(c, pos)) {
        /* The binpac parser knows the protocol version only once both
         * version lines were seen; a one-sided capture never confirms. */
        if ((s->aux & (SSH_BIN_O | SSH_BIN_R)) == (SSH_BIN_O | SSH_BIN_R)) {
            svc_confirm(c); /* proc_newkeys() */
            svc_drop(c);
            return;
        }
    }
    if ((s->aux & (SSH_LOST_O | SSH_LOST_R)) == (SSH_LOST_O | SSH_LOST_R))
        svc_drop(c);
}
