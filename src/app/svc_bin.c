/*
 * Binary protocols: DNS (UDP and TCP), MySQL, PostgreSQL, SMB (with the
 * GSSAPI/NTLM security blobs it forwards), DCE-RPC, RDP, SOCKS, Modbus,
 * DNP3, MQTT, WebSocket frames after an HTTP upgrade, and NTP, DHCP and
 * RDPEUDP over UDP.  As elsewhere, each follows the confirmation point of
 * the matching Zeek analyzer.
 */
#include <string.h>

#include "app/svc_int.h"

/* ---------------------------------------------------------------- DNS */

#define DNS_MAX_QUERIES 25 /* dns_max_queries */

/* DNS_Interpreter::ExtractLabel, for its effect on the read position only. */
static bool
dns_label(const uint8_t **p, long *len, long *name_len, const uint8_t *msg, bool netbios)
{
    if (*len <= 0)
        return false;
    const uint8_t *orig = *p;
    unsigned label_len = (*p)[0];
    ++*p;
    --*len;
    if (*len <= 0 || label_len == 0)
        return false;
    if ((label_len & 0xc0) == 0xc0) {
        unsigned off = ((label_len & 0x3fu) << 8) | (*p)[0];
        ++*p;
        --*len;
        (void)off; /* a backward pointer ends the name either way */
        (void)orig;
        (void)msg;
        return false;
    }
    if ((long)label_len > *len) {
        *p += *len; /* "DNS_label_len_gt_pkt": consume the rest */
        *len = 0;
        return false;
    }
    if (label_len > 63 && !netbios)
        return false;
    if ((long)label_len >= *name_len)
        return false;
    *name_len -= label_len + 1;
    *p += label_len;
    *len -= label_len;
    return true;
}

static void
dns_name(const uint8_t **p, long *len, const uint8_t *msg, bool netbios)
{
    long name_len = 512;
    while (dns_label(p, len, &name_len, msg, netbios))
        ;
}

static uint32_t
dns_take(const uint8_t **p, long *len, int bytes)
{
    if (*len < bytes)
        return 0; /* ExtractShort/ExtractLong: nothing consumed */
    uint32_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = (v << 8) | (*p)[i];
    *p += bytes;
    *len -= bytes;
    return v;
}

bool
svc_dns_msg(const uint8_t *d, uint32_t n, bool netbios, bool *too_many)
{
    *too_many = false;
    if (n < 12)
        return false;
    unsigned qd = svc_be16(d + 4), an = svc_be16(d + 6);
    if (qd > DNS_MAX_QUERIES) {
        *too_many = true;
        return false;
    }
    const uint8_t *p = d + 12;
    long len = (long)n - 12;
    for (unsigned i = 0; i < qd; i++) {
        dns_name(&p, &len, d, netbios);
        if (len < 4)
            return false;
        p += 4;
        len -= 4;
    }
    for (unsigned i = 0; i < an; i++) {
        dns_name(&p, &len, d, netbios);
        if (len < 4)
            return false;
        unsigned type = dns_take(&p, &len, 2);
        dns_take(&p, &len, 2);
        dns_take(&p, &len, 4);
        long rdlength = dns_take(&p, &len, 2);
        if (rdlength > len)
            return false;
        switch (type) {
        case 1: /* A */
            if (rdlength != 4)
                return false;
            p += 4;
            len -= 4;
            break;
        case 28: /* AAAA */
        case 38: /* A6 */
            for (int k = 0; k < 4; k++)
                dns_take(&p, &len, 4);
            break;
        case 2: /* NS */
        case 5: /* CNAME */
        case 12: /* PTR */
            dns_name(&p, &len, d, netbios);
            break;
        case 15: /* MX */
            dns_take(&p, &len, 2);
            dns_name(&p, &len, d, netbios);
            break;
        case 6: /* SOA */
            dns_name(&p, &len, d, netbios);
            dns_name(&p, &len, d, netbios);
            if (len < 20)
                return false;
            p += 20;
            len -= 20;
            break;
        case 33: /* SRV; on port 137 it is NBSTAT, which Zeek does not parse */
            if (netbios)
                break;
            /* fall through */
        default:
            p += rdlength;
            len -= rdlength;
            break;
        }
    }
    return true;
}

void
svc_dns_udp(svc_ctx_t *c)
{
    bool too_many;
    bool netbios = c->p->resp_p == 137;
    if (svc_dns_msg(c->d, c->n, netbios, &too_many)) {
        svc_confirm(c); /* after the questions and answers parsed */
    } else if (too_many) {
        svc_violation(c); /* "DNS_Conn_count_too_large" */
    }
}

void
svc_dns_tcp(svc_ctx_t *c)
{
    /* DNS over TCP: a 2-byte length before each message.  Only messages
     * that start at a segment boundary are looked at. */
    uint32_t pos = 0;
    while (pos + 2 <= c->n) {
        uint32_t ml = svc_be16(c->d + pos);
        if (ml == 0 || pos + 2 + ml > c->n)
            return;
        bool too_many;
        if (svc_dns_msg(c->d + pos + 2, ml, false, &too_many)) {
            svc_confirm(c);
        } else if (too_many) {
            svc_violation(c);
            return;
        }
        pos += 2 + ml;
    }
}

/* ---------------------------------------------------------------- MySQL */

#define MYSQL_CLIENT_SSL 0x0800

void
svc_mysql(svc_ctx_t *c)
{
    svc_state_t *s = c->s;
    const uint8_t *d = c->d;
    if (c->n < 5)
        return;
    uint32_t len = d[0] | (d[1] << 8) | ((uint32_t)d[2] << 16);
    uint8_t seq = d[3];
    if (c->dir == 1) {
        if (c->off != 0)
            return;
        /* Initial handshake: protocol version 9 or 10 (or an ERR packet). */
        if (seq == 0 && d[4] == 10)
            s->scratch |= SB_MYSQL_V10;
        else if (seq == 0 && d[4] == 9)
            s->scratch |= SB_MYSQL_V9;
        else if (!(seq == 0 && d[4] == 0xff))
            svc_violation(c);
        return;
    }
    if (!(s->scratch & (SB_MYSQL_V9 | SB_MYSQL_V10)))
        return;
    if (c->off != 0 || seq != 1 || len < 2) {
        svc_drop(c);
        return;
    }
    /* Handshake response: proc_mysql_handshake_response_packet(). */
    svc_confirm(c);
    uint16_t caps = svc_le16(d + 4);
    if ((s->scratch & SB_MYSQL_V10) && (caps & MYSQL_CLIENT_SSL)) {
        svc_switch(c, SVC_MODE_TLS, 4 + len); /* StartTLS(): the rest is TLS */
        return;
    }
    svc_drop(c);
}

/* ---------------------------------------------------------------- PostgreSQL */

/* StartupMessage: length >= 9, major version 3, name\0value\0 ... \0. */
static int
pg_startup(const uint8_t *d, uint32_t n)
{
    uint32_t len = svc_be32(d);
    if (len < 9 || (svc_be32(d + 4) >> 16) != 3)
        return -1;
    if (len > n)
        return 0;
    uint32_t p = 8;
    while (p < len - 1) {
        uint32_t k = p;
        while (k < len && d[k])
            k++;
        if (k == p || k >= len)
            return -1;
        uint32_t v = k + 1;
        uint32_t e = v;
        while (e < len && d[e])
            e++;
        if (e == v || e >= len)
            return -1;
        p = e + 1;
    }
    return p == len - 1 && d[p] == 0 ? 1 : -1;
}

void
svc_pgsql(svc_ctx_t *c)
{
    svc_state_t *s = c->s;
    const uint8_t *d = c->d;
    if (c->off != 0)
        return;
    if (c->dir == 0) {
        if (c->n < 8) {
            svc_drop(c);
            return;
        }
        bool sslreq = svc_be32(d) == 8 && svc_be32(d + 4) == 80877103;
        bool sig = sslreq;
        if (sslreq) {
            s->scratch |= SB_PG_SSLREQ;
        } else {
            int r = pg_startup(d, c->n);
            if (r < 0) {
                svc_violation(c); /* "unsupported PostgreSQL major version" */
                return;
            }
            /* dpd_postgresql_client_startup_3_x: ....\x00\x03\x00.{0,256}user\x00 */
            sig = d[4] == 0 && d[5] == 3 && d[6] == 0 &&
                  svc_find(d + 7, c->n - 7 < 262 ? c->n - 7 : 262, "user\0", 5) >= 0;
            if (r == 1)
                s->scratch |= SB_PG_STARTUP;
        }
        if (!svc_active(c)) {
            if (!sig || !svc_sig_side(c, 0)) {
                if (!sig)
                    svc_drop(c);
                return;
            }
        }
        if (s->scratch & SB_PG_STARTUP)
            svc_confirm(c); /* StartupMessage::%done */
        return;
    }
    /* responder */
    bool sig;
    if (s->scratch & SB_PG_SSLREQ)
        sig = c->n >= 1 && (d[0] == 'S' || d[0] == 'N');
    else
        sig = c->n >= 5 && ((d[0] >= 'a' && d[0] <= 'z') || (d[0] >= 'A' && d[0] <= 'Z') ||
                            (d[0] >= '0' && d[0] <= '9')) && d[1] == 0 && d[2] == 0;
    if (!svc_active(c)) {
        if (!sig || !svc_sig_side(c, 1)) {
            svc_drop(c);
            return;
        }
        if (s->scratch & SB_PG_STARTUP)
            svc_confirm(c);
    }
    if ((s->scratch & SB_PG_SSLREQ) && c->n >= 1 && (d[0] == 'S' || d[0] == 'N')) {
        svc_confirm(c); /* MaybeBackendSSL::ssl_byte */
        if (d[0] == 'S') {
            svc_switch(c, SVC_MODE_TLS, 1);
            return;
        }
    }
    if (s->pkts[0])
        svc_drop(c);
}

/* ---------------------------------------------------------------- SMB */

/* SMB2 security buffers handed to forward_gssapi(): raw NTLMSSP goes to
 * NTLM, anything else to GSSAPI (blobs of 8 bytes or more). */
static void
smb_blob(svc_state_t *s, const uint8_t *d, uint32_t n, uint32_t off, uint32_t len)
{
    if (len < 8 || off >= n)
        return;
    if (len > n - off)
        len = n - off;
    const uint8_t *b = d + off;
    if (len >= 7 && memcmp(b, "NTLMSSP", 7) == 0)
        svc_confirm_name(s, SVC_NTLM);
    else
        svc_gssapi_blob(s, b, len);
}

/* Look at one SMB2 message (after the 4-byte NetBIOS header). */
static void
smb2_message(svc_state_t *s, const uint8_t *h, uint32_t n)
{
    if (n < 64 + 8 || svc_le16(h + 4) != 64)
        return;
    uint16_t cmd = svc_le16(h + 12);
    bool resp = (svc_le32(h + 16) & 1) != 0;
    const uint8_t *b = h + 64;
    uint32_t bn = n - 64;
    if (cmd == 0 && resp && bn >= 64) /* NEGOTIATE response */
        smb_blob(s, h, n, svc_le16(b + 56), svc_le16(b + 58));
    else if (cmd == 1 && !resp && bn >= 24) /* SESSION_SETUP request */
        smb_blob(s, h, n, svc_le16(b + 12), svc_le16(b + 14));
    else if (cmd == 1 && resp && bn >= 8) /* SESSION_SETUP response */
        smb_blob(s, h, n, svc_le16(b + 4), svc_le16(b + 6));
}

void
svc_smb(svc_ctx_t *c)
{
    svc_state_t *s = c->s;
    bool hdr = c->n >= 8 && (c->d[4] == 0xff || c->d[4] == 0xfe) && memcmp(c->d + 5, "SMB", 3) == 0;
    if (!svc_active(c)) {
        /* dpd_smb: /^....[\xfe\xff]SMB/ in either direction. */
        if (c->off != 0)
            return;
        if (!hdr) {
            if (s->pkts[0] && s->pkts[1])
                svc_drop(c);
            return;
        }
        svc_enable(c);
    }
    if (!svc_owns(c)) {
        /* Resynchronise on the first segment that carries an SMB header. */
        if (!hdr)
            return;
        if (!svc_own(c)) {
            svc_drop(c);
            return;
        }
    }
    if (hdr && c->d[4] == 0xfe)
        smb2_message(s, c->d + 4, c->n - 4);
    /* "if there are no binpac exceptions after 3 data chunks, this is
     * probably actually SMB" */
    if (++s->st == 3) {
        svc_confirm(c);
        svc_drop(c);
    }
}

/* ---------------------------------------------------------------- DCE-RPC */

void
svc_dcerpc(svc_ctx_t *c)
{
    svc_state_t *s = c->s;
    const uint8_t *d = c->d;
    if (svc_owns(c) && s->skip[c->dir]) {
        /* the rest of a PDU that started in an earlier segment */
        if (s->skip[c->dir] <= c->n) {
            svc_confirm(c);
            svc_drop(c);
        } else {
            s->skip[c->dir] -= c->n;
        }
        return;
    }
    if (c->off != 0)
        return;
    bool hdr = c->n >= 16 && d[0] == 5 && d[1] <= 1 && d[2] <= 0x13;
    if (!svc_active(c)) {
        /* dpd_dce_rpc: /^\x05[\x00\x01][\x00-\x13]\x03/ */
        if (!(hdr && d[3] == 0x03)) {
            if (s->pkts[0] && s->pkts[1])
                svc_drop(c);
            return;
        }
        svc_enable(c);
    }
    if (!hdr)
        return; /* DCE_RPC is in DPD::ignore_violations */
    uint16_t frag = (d[4] & 0x10) ? svc_le16(d + 8) : svc_be16(d + 8);
    if (frag < 16)
        return;
    if (frag <= c->n) {
        svc_confirm(c); /* proc_dce_rpc_pdu: a whole PDU parsed */
        svc_drop(c);
    } else if (svc_own(c)) {
        s->skip[c->dir] = frag - c->n;
    }
}

/* ---------------------------------------------------------------- RDP */

/* dpd_rdp_client: /.*(Cookie: mstshash\=|Duca.*(rdpdr|rdpsnd|drdynvc|cliprdr))/ */
static bool
rdp_client_sig(const uint8_t *d, uint32_t n)
{
    if (svc_find(d, n, "Cookie: mstshash=", 17) >= 0)
        return true;
    long k = svc_find(d, n, "Duca", 4);
    if (k < 0)
        return false;
    const uint8_t *r = d + k;
    uint32_t rn = n - (uint32_t)k;
    return svc_find(r, rn, "rdpdr", 5) >= 0 || svc_find(r, rn, "rdpsnd", 6) >= 0 ||
           svc_find(r, rn, "drdynvc", 7) >= 0 || svc_find(r, rn, "cliprdr", 7) >= 0;
}

void
svc_rdp(svc_ctx_t *c)
{
    const uint8_t *d = c->d;
    uint32_t n = c->n;
    if (!svc_active(c)) {
        /* The signatures look at the first 1 KiB of each direction. */
        if (c->off >= SVC_DPD_WINDOW || c->s->pkts[c->dir] > 2) {
            /* The cookie is in the X.224 Connection Request and "Duca"
             * in the MCS Connect-Initial right after; "McDn" in the
             * server's answer to it. */
            svc_drop(c);
            return;
        }
        /* RDP opens with a TPKT-framed X.224 Connection Request: a client
         * stream that does not start with a TPKT header is not RDP (we do
         * not scan such streams for the unanchored cookie pattern). */
        if (c->dir == 0 && c->off == 0 && !(n >= 4 && d[0] == 3 && d[1] == 0)) {
            svc_drop(c);
            return;
        }
        uint32_t w = c->off + n > SVC_DPD_WINDOW ? SVC_DPD_WINDOW - c->off : n;
        bool sig = c->dir == 0 ? rdp_client_sig(d, w)
                               : (c->off == 0 && n >= 6 && d[5] == 0xd0) ||
                                     svc_find(d, w, "McDn", 4) >= 0;
        if (!sig || !svc_sig_side(c, c->dir))
            return;
    }
    bool tpkt = n >= 7 && d[0] == 3 && d[1] == 0;
    if (c->dir == 1 && tpkt && d[5] == 0xd0) {
        /* X.224 Connection Confirm with an RDP_NEG_RSP: any protocol but
         * standard RDP security means TLS/CredSSP follows, handed to a PIA. */
        if (n >= 19 && d[11] == 0x02 && svc_le32(d + 15) != 0) {
            svc_switch(c, SVC_MODE_TLS, n);
            return;
        }
        return;
    }
    if (tpkt && n >= 9 && d[5] == 0xf0 && d[7] == 0x7f) {
        /* MCS Connect-Initial carrying the client core data, or the
         * Connect-Response with the server's GCC data. */
        if ((c->dir == 0 && d[8] == 0x65 && svc_find(d, n, "Duca", 4) >= 0) ||
            (c->dir == 1 && d[8] == 0x66 && svc_find(d, n, "McDn", 4) >= 0)) {
            svc_confirm(c);
            svc_drop(c);
        }
    }
}

/* ---------------------------------------------------------------- SOCKS */

/* Owner states. */
enum { SK_START, SK_V4_REQ, SK_V5_HELLO, SK_V5_AUTH, SK_V5_AUTHED, SK_V5_REQ };

void
svc_socks(svc_ctx_t *c)
{
    svc_state_t *s = c->s;
    const uint8_t *d = c->d;
    uint32_t n = c->n;
    if (!svc_owns(c)) {
        if (c->off != 0 || c->dir != 0)
            return;
        /* dpd_socks4_client /^\x04[\x01\x02].{0,32}\x00/ and
         * dpd_socks5_client /^\x05.[\x00\x01\x02]/ */
        bool v4 = n >= 9 && d[0] == 4 && (d[1] == 1 || d[1] == 2) &&
                  memchr(d + 2, 0, n - 2 < 33 ? n - 2 : 33) != NULL;
        bool v5 = n >= 3 && d[0] == 5 && d[2] <= 2;
        if (!(v4 || v5) || !svc_own(c)) {
            svc_drop(c);
            return;
        }
        if (!svc_active(c))
            svc_sig_side(c, 0);
        s->st = v4 ? SK_V4_REQ : SK_V5_HELLO;
        return;
    }
    if (c->dir == 1 && !svc_active(c)) {
        /* dpd_socks4_server /^\x00[\x5a-\x5d]/, dpd_socks5_server
         * /^\x05(\x00|\x01[\x00\x01\x02])/ */
        bool sig = (s->st == SK_V4_REQ && n >= 2 && d[0] == 0 && d[1] >= 0x5a && d[1] <= 0x5d) ||
                   (s->st == SK_V5_HELLO && n >= 2 && d[0] == 5 &&
                    (d[1] == 0 || (d[1] == 1 && n >= 3 && d[2] <= 2)));
        if (!sig || !svc_sig_side(c, 1)) {
            svc_drop(c);
            return;
        }
    }
    switch (s->st) {
    case SK_V4_REQ:
        if (c->dir == 1 && n >= 8 && d[0] == 0) {
            svc_confirm(c); /* socks4_reply() */
            svc_switch(c, SVC_MODE_TUNNEL, 8);
        }
        break;
    case SK_V5_HELLO:
        if (c->dir == 1 && n >= 2 && d[0] == 5) {
            s->aux = d[1];
            s->st = d[1] == 2 ? SK_V5_AUTH : SK_V5_AUTHED;
        }
        break;
    case SK_V5_AUTH:
        if (c->dir == 1 && n >= 2 && d[0] == 1)
            s->st = SK_V5_AUTHED;
        break;
    case SK_V5_AUTHED:
        if (c->dir == 0 && n >= 4 && d[0] == 5 && d[2] == 0)
            s->st = SK_V5_REQ;
        break;
    case SK_V5_REQ:
        if (c->dir == 1 && n >= 4 && d[0] == 5) {
            uint32_t len;
            switch (d[3]) {
            case 1: len = 10; break;
            case 4: len = 22; break;
            case 3: len = n >= 5 ? 7u + d[4] : 0; break;
            default:
                svc_violation(c); /* "invalid SOCKSv5 addr type" */
                return;
            }
            if (len && len <= n) {
                svc_confirm(c); /* socks5_reply() */
                svc_switch(c, SVC_MODE_TUNNEL, len);
            }
        }
        break;
    default:
        break;
    }
}

/* ---------------------------------------------------------------- Modbus */

void
svc_modbus(svc_ctx_t *c)
{
    svc_state_t *s = c->s;
    /* A whole Modbus/TCP PDU (MBAP header, length covers unit id and
     * function code) from each side confirms. */
    if (c->n >= 8) {
        uint32_t total = 6u + svc_be16(c->d + 4);
        if (svc_be16(c->d + 4) >= 2 && total <= c->n)
            s->scratch |= c->dir == 0 ? SB_MODBUS_ORIG : SB_MODBUS_RESP;
    }
    if ((s->scratch & (SB_MODBUS_ORIG | SB_MODBUS_RESP)) == (SB_MODBUS_ORIG | SB_MODBUS_RESP)) {
        svc_confirm(c);
        svc_drop(c);
    }
}

/* ---------------------------------------------------------------- DNP3 */

/* CRC-16/DNP of a link-layer header block. */
static uint16_t
dnp3_crc(const uint8_t *d, uint32_t n)
{
    uint16_t crc = 0;
    for (uint32_t i = 0; i < n; i++) {
        crc ^= d[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xa6bc) : (uint16_t)(crc >> 1);
    }
    return (uint16_t)~crc;
}

static bool
dnp3_frame(const uint8_t *d, uint32_t n)
{
    return n >= 10 && d[0] == 0x05 && d[1] == 0x64 && d[2] >= 5 && dnp3_crc(d, 8) == svc_le16(d + 8);
}

void
svc_dnp3(svc_ctx_t *c)
{
    if (!svc_active(c)) {
        /* dpd_dnp3_server: /\x05\x64/ from the responder. */
        if (c->off != 0)
            return;
        if (c->dir != 1 || c->n < 2 || c->d[0] != 0x05 || c->d[1] != 0x64) {
            if (c->dir == 1)
                svc_drop(c);
            return;
        }
        svc_enable(c);
    }
    if (dnp3_frame(c->d, c->n)) {
        svc_confirm(c);
        svc_drop(c);
    } else if (c->off == 0) {
        svc_violation(c);
    }
}

void
svc_dnp3_udp(svc_ctx_t *c)
{
    if (dnp3_frame(c->d, c->n)) {
        svc_confirm(c);
        svc_drop(c);
    } else {
        svc_violation(c);
    }
}

/* ---------------------------------------------------------------- MQTT */

void
svc_mqtt(svc_ctx_t *c)
{
    const uint8_t *d = c->d;
    uint32_t n = c->n;
    if (!svc_active(c)) {
        /* dpd_mqtt: /^.{4,7}MQ/ in either direction. */
        if (c->off != 0)
            return;
        bool sig = false;
        for (uint32_t i = 4; i <= 7 && i + 2 <= n; i++)
            if (d[i] == 'M' && d[i + 1] == 'Q')
                sig = true;
        if (!sig) {
            if (c->s->pkts[0] && c->s->pkts[1])
                svc_drop(c);
            return;
        }
        svc_enable(c);
    }
    if (n < 2)
        return;
    unsigned type = d[0] >> 4;
    uint32_t rl = 0, i = 1;
    int shift = 0;
    for (; i < n && i <= 4; i++) {
        rl |= (uint32_t)(d[i] & 0x7f) << shift;
        shift += 7;
        if (!(d[i] & 0x80))
            break;
    }
    if (i >= n || i > 4)
        return;
    uint32_t hdr = i + 1;
    if (type == 0 || type == 15) {
        svc_violation(c);
        return;
    }
    if (hdr + rl > n)
        return;
    /* mqtt_connect / mqtt_publish confirm. */
    if (type == 1 && rl >= 6) {
        uint16_t pl = svc_be16(d + hdr);
        if ((pl == 4 && hdr + 6 <= n && memcmp(d + hdr + 2, "MQTT", 4) == 0) ||
            (pl == 6 && hdr + 8 <= n && memcmp(d + hdr + 2, "MQIsdp", 6) == 0)) {
            svc_confirm(c);
            svc_drop(c);
        }
    } else if (type == 3) {
        svc_confirm(c);
        svc_drop(c);
    }
}

/* ---------------------------------------------------------------- WebSocket */

void
svc_ws(svc_ctx_t *c)
{
    const uint8_t *d = c->d;
    uint32_t n = c->n;
    if (n < 2)
        return;
    unsigned op = d[0] & 0x0f;
    if (!(op <= 2 || (op >= 8 && op <= 10))) {
        svc_violation(c);
        return;
    }
    /* WebSocket_Message: confirmed when a message (a frame with FIN) parsed. */
    if (d[0] & 0x80) {
        svc_confirm(c);
        svc_drop(c);
    }
}

/* ---------------------------------------------------------------- NTP / DHCP / RDPEUDP */

void
svc_ntp_udp(svc_ctx_t *c)
{
    const uint8_t *d = c->d;
    unsigned mode = d[0] & 7, vn = (d[0] >> 3) & 7;
    bool ok = vn >= 1 && vn <= 4 &&
              ((mode >= 1 && mode <= 5 && c->n >= 48) || (mode == 6 && c->n >= 12) ||
               (mode == 7 && c->n >= 8));
    if (ok) {
        svc_confirm(c);
        svc_drop(c);
    } else {
        svc_violation(c);
    }
}

void
svc_dhcp_udp(svc_ctx_t *c)
{
    static const uint8_t cookie[4] = {0x63, 0x82, 0x53, 0x63};
    const uint8_t *d = c->d;
    if (!svc_active(c)) {
        /* dhcp_cookie: /^.*\x63\x82\x53\x63/ */
        if (svc_find(d, c->n, cookie, 4) < 0) {
            if (c->s->seen > SVC_DPD_WINDOW)
                svc_drop(c);
            return;
        }
        svc_enable(c);
    }
    if (c->n >= 240 && (d[0] == 1 || d[0] == 2) && memcmp(d + 236, cookie, 4) == 0) {
        svc_confirm(c);
        svc_drop(c);
    } else {
        svc_violation(c);
    }
}

void
svc_rdpeudp_udp(svc_ctx_t *c)
{
    svc_state_t *s = c->s;
    if (c->n < 8)
        return;
    uint32_t ack = svc_be32(c->d);
    uint16_t flags = svc_be16(c->d + 6);
    if (!(s->scratch & SB_RDPEUDP_SYN)) {
        /* proc_rdpeudp_syn: from the originator, SYN, snSourceAck -1. */
        if (c->dir == 0 && (flags & 0x01) && ack == 0xffffffffu)
            s->scratch |= SB_RDPEUDP_SYN;
        return;
    }
    if (c->dir == 1 && (flags & 0x05)) {
        svc_confirm(c); /* proc_rdpeudp_synack */
        svc_drop(c);
    }
}
