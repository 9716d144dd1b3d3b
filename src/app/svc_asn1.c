/*
 * BER-encoded protocols: LDAP over TCP and UDP (with the SASL credentials of
 * bind requests handed to GSSAPI/NTLM/Kerberos as Zeek's LDAP analyzer does,
 * which is where "krb,gssapi,ldap_tcp" orders come from), Kerberos over UDP
 * and TCP, SNMP, and the GSSAPI/SPNEGO blob walk shared with SMB.
 */
#include <string.h>

#include "app/svc_int.h"

/* ---------------------------------------------------------------- Kerberos */

bool
svc_krb_msg(const uint8_t *d, uint32_t n)
{
    svc_ber_t t, seq;
    if (n < 2)
        return false;
    switch (d[0]) {
    case 0x6a: case 0x6b: case 0x6c: case 0x6d: /* AS/TGS REQ/REP */
    case 0x6e: case 0x6f:                       /* AP-REQ, AP-REP */
    case 0x74: case 0x75: case 0x76:            /* SAFE, PRIV, CRED */
    case 0x7e:                                  /* KRB-ERROR */
        break;
    default:
        return false;
    }
    if (!svc_ber(d, n, &t) || t.hdr + 2 > n || d[t.hdr] != 0x30)
        return false;
    if (!svc_ber(d + t.hdr, n - t.hdr, &seq))
        return false;
    uint32_t p = t.hdr + seq.hdr;
    /* pvno [0] or [1] INTEGER 5 comes first in every message type. */
    return p + 5 <= n && (d[p] == 0xa0 || d[p] == 0xa1) && d[p + 1] == 0x03 && d[p + 2] == 0x02 &&
           d[p + 3] == 0x01 && d[p + 4] == 0x05;
}

/* dpd_krb_*_requests / _replies: (\x6a|\x6c).{1,4}\x30.{1,4}\xa1\x03\x02\x01\x05\xa2\x03\x02\x01
 * and (\x6b|\x6d|\x7e).{1,4}\x30.{1,4}\xa0\x03\x02\x01\x05\xa1\x03\x02\x01 */
static bool
krb_sig(const uint8_t *d, uint32_t n)
{
    static const uint8_t req[] = {0xa1, 0x03, 0x02, 0x01, 0x05, 0xa2, 0x03, 0x02, 0x01};
    static const uint8_t rep[] = {0xa0, 0x03, 0x02, 0x01, 0x05, 0xa1, 0x03, 0x02, 0x01};
    if (n < 1)
        return false;
    const uint8_t *tail;
    if (d[0] == 0x6a || d[0] == 0x6c)
        tail = req;
    else if (d[0] == 0x6b || d[0] == 0x6d || d[0] == 0x7e)
        tail = rep;
    else
        return false;
    for (uint32_t a = 1; a <= 4; a++) {
        if (1 + a >= n || d[1 + a] != 0x30)
            continue;
        for (uint32_t b = 1; b <= 4; b++) {
            uint32_t p = 2 + a + b;
            if (p + sizeof(req) <= n && memcmp(d + p, tail, sizeof(req)) == 0)
                return true;
        }
    }
    return false;
}

void
svc_krb_udp(svc_ctx_t *c)
{
    if (!svc_active(c)) {
        if (!krb_sig(c->d, c->n)) {
            if (c->s->seen > SVC_DPD_WINDOW)
                svc_drop(c); /* PIA_UDP matches only the first 1 KiB */
            return;
        }
        svc_enable(c);
    }
    if (svc_krb_msg(c->d, c->n)) {
        svc_confirm(c);
        svc_drop(c);
    } else {
        svc_violation(c); /* binpac exception */
    }
}

void
svc_krb_tcp(svc_ctx_t *c)
{
    if (c->off != 0)
        return;
    /* KRB_TCP: a 4-byte record mark, then the message. */
    bool ok = c->n > 4 && svc_krb_msg(c->d + 4, c->n - 4);
    if (!svc_active(c)) {
        if (!(c->n > 4 && krb_sig(c->d + 4, c->n - 4))) {
            if (c->s->pkts[0] && c->s->pkts[1])
                svc_drop(c);
            return;
        }
        svc_enable(c);
    }
    if (ok) {
        svc_confirm(c);
        svc_drop(c);
    } else {
        svc_violation(c);
    }
}

/* ---------------------------------------------------------------- GSSAPI */

static const uint8_t oid_spnego[] = {0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
static const uint8_t oid_krb5[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
static const uint8_t oid_mskrb5[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02};

/* KRB_BLOB: 0x60 wrapper, the Kerberos OID, a 2-byte token id, then the
 * message handed to the KRB analyzer (which confirms on a parse). */
static void
krb_blob(svc_state_t *s, const uint8_t *d, uint32_t n)
{
    svc_ber_t t;
    if (!svc_ber(d, n, &t) || d[0] != 0x60)
        return;
    uint32_t p = t.hdr;
    if (p + sizeof(oid_krb5) + 2 > n)
        return;
    if (memcmp(d + p, oid_krb5, sizeof(oid_krb5)) != 0 &&
        memcmp(d + p, oid_mskrb5, sizeof(oid_mskrb5)) != 0)
        return;
    p += sizeof(oid_krb5) + 2;
    if (svc_krb_msg(d + p, n - p))
        svc_confirm_name(s, SVC_KRB);
}

/* GSSAPI_NEG_TOKEN_MECH_TOKEN: an OCTET STRING whose content is NTLMSSP
 * (forwarded to NTLM) or a Kerberos blob (forwarded to KRB). */
static void
mech_token(svc_state_t *s, const uint8_t *d, uint32_t n)
{
    svc_ber_t t;
    if (!svc_ber(d, n, &t) || d[0] != 0x04)
        return;
    const uint8_t *tok = d + t.hdr;
    uint32_t tl = t.len <= n - t.hdr ? t.len : n - t.hdr;
    if (tl >= 7 && memcmp(tok, "NTLMSSP", 7) == 0)
        svc_confirm_name(s, SVC_NTLM);
    else if (tl > 0 && tok[0] == 0x60)
        krb_blob(s, tok, tl);
}

/* The [n] arguments of a negTokenInit / negTokenResp sequence; @p want is
 * the index carrying the mechanism token.  False on a malformed list. */
static bool
neg_args(svc_state_t *s, const uint8_t *d, uint32_t n, unsigned want)
{
    svc_ber_t seq;
    if (!svc_ber(d, n, &seq) || d[0] != 0x30)
        return false;
    uint32_t p = seq.hdr;
    uint32_t end = seq.hdr + seq.len < n ? seq.hdr + seq.len : n;
    while (p < end) {
        svc_ber_t a;
        if (!svc_ber(d + p, end - p, &a) || (d[p] & 0xe0) != 0xa0)
            return false;
        unsigned idx = d[p] & 0x1f;
        if (idx > 3)
            return false;
        if (idx == want)
            mech_token(s, d + p + a.hdr, end - p - a.hdr);
        p += a.hdr + a.len;
    }
    return true;
}

void
svc_gssapi_blob(svc_state_t *s, const uint8_t *d, uint32_t n)
{
    svc_ber_t t;
    if (n < 2)
        return;
    if ((d[0] == 0x04 || d[0] == 0x05) && d[1] == 0x04) {
        /* MIC / wrap tokens (tok_id 0x0404, 0x0504): raw bytes. */
        svc_confirm_name(s, SVC_GSSAPI);
        return;
    }
    if (!svc_ber(d, n, &t))
        return;
    uint32_t p = t.hdr;
    bool ok = false;
    if (d[0] == 0x60) {
        /* InitialContextToken: the mechanism OID, then the inner token. */
        if (p + sizeof(oid_spnego) <= n && memcmp(d + p, oid_spnego, sizeof(oid_spnego)) == 0) {
            p += sizeof(oid_spnego);
            svc_ber_t w;
            if (p < n && d[p] == 0xa0 && svc_ber(d + p, n - p, &w))
                ok = neg_args(s, d + p + w.hdr, n - p - w.hdr, 2);
        } else if (p + sizeof(oid_krb5) <= n &&
                   (memcmp(d + p, oid_krb5, sizeof(oid_krb5)) == 0 ||
                    memcmp(d + p, oid_mskrb5, sizeof(oid_mskrb5)) == 0)) {
            krb_blob(s, d, n);
            ok = true;
        }
    } else if (d[0] == 0xa1) {
        ok = neg_args(s, d + p, n - p, 2); /* negTokenResp: responseToken is [2] */
    }
    if (ok)
        svc_confirm_name(s, SVC_GSSAPI); /* after the children it fed */
}

/* ---------------------------------------------------------------- LDAP */

/* A message header: 1 ok (*total, op tag, op content offset/length),
 * 0 cut off, -1 not an LDAP message (a parse error). */
static int
ldap_header(const uint8_t *d, uint32_t n, uint32_t *total, uint8_t *op, uint32_t *opoff,
            uint32_t *oplen)
{
    svc_ber_t m, id, o;
    if (n < 2)
        return 0;
    if (d[0] != 0x30)
        return -1;
    if (!svc_ber(d, n, &m))
        return (d[1] & 0x7f) > 4 && d[1] > 0x80 ? -1 : 0;
    *total = m.hdr + m.len;
    uint32_t p = m.hdr;
    if (p + 2 > n)
        return 0;
    if (d[p] != 0x02)
        return -1;
    if (!svc_ber(d + p, n - p, &id))
        return 0;
    if (id.len == 0 || id.len > 8)
        return -1;
    p += id.hdr + id.len;
    if (p + 2 > n)
        return 0;
    if ((d[p] & 0xc0) != 0x40)
        return -1;
    if (!svc_ber(d + p, n - p, &o))
        return 0;
    unsigned code = d[p] & 0x1f;
    /* LDAP::Message's switch: the operations it knows. */
    if (!(code <= 16 || code == 19 || code == 23 || code == 24 || code == 25))
        return -1;
    if (p + o.hdr + o.len > *total)
        return -1;
    *op = d[p];
    *opoff = p + o.hdr;
    *oplen = o.len;
    return 1;
}

/* Owner state bits (st). */
enum {
    LDAP_PEND_O = 1, LDAP_PEND_R = 2, /* a message is still arriving */
    LDAP_STARTTLS = 4,
    LDAP_SASL = 8,                     /* the bind used SASL */
    LDAP_LOST_O = 16, LDAP_LOST_R = 32,
};

/* Names confirmed before the analyzer was enabled by its signature are
 * queued in skip[1] (three 8-bit ids) and replayed at enable time. */
static void
ldap_note(svc_ctx_t *c, svc_id_t name)
{
    svc_state_t *s = c->s;
    if (svc_active(c)) {
        svc_confirm_name(s, name);
        return;
    }
    for (int i = 0; i < 3; i++) {
        uint32_t v = (s->skip[1] >> (8 * i)) & 0xff;
        if (v == name)
            return;
        if (v == 0) {
            s->skip[1] |= (uint32_t)name << (8 * i);
            return;
        }
    }
}

/* BindRequest: version, name, then the authentication choice ([0] simple,
 * [3] SASL, Sicily 9-11).  SASL credentials go to GSSAPI or NTLM. */
static bool
ldap_bind(svc_ctx_t *c, const uint8_t *d, uint32_t n)
{
    svc_ber_t v, nm, au;
    if (!svc_ber(d, n, &v) || d[0] != 0x02)
        return false;
    uint32_t p = v.hdr + v.len;
    if (p >= n || d[p] != 0x04 || !svc_ber(d + p, n - p, &nm))
        return false;
    p += nm.hdr + nm.len;
    if (p >= n || !svc_ber(d + p, n - p, &au))
        return false;
    unsigned kind = d[p] & 0x1f;
    if ((d[p] & 0xc0) != 0x80 || !(kind == 0 || kind == 3 || (kind >= 9 && kind <= 11)))
        return false;
    if (kind != 3)
        return true;
    c->s->st |= LDAP_SASL;
    uint32_t q = p + au.hdr;
    uint32_t end = q + au.len < n ? q + au.len : n;
    svc_ber_t mech, cred;
    if (q >= end || d[q] != 0x04 || !svc_ber(d + q, end - q, &mech))
        return true;
    q += mech.hdr + mech.len;
    if (q >= end || d[q] != 0x04 || !svc_ber(d + q, end - q, &cred))
        return true;
    const uint8_t *cr = d + q + cred.hdr;
    uint32_t cl = cred.len <= end - q - cred.hdr ? cred.len : end - q - cred.hdr;
    if (cl >= 7 && memcmp(cr, "NTLMSSP", 7) == 0) {
        ldap_note(c, SVC_NTLM);
    } else if (cl > 0 && (cr[0] == 0x60 || cr[0] == 0xa1)) {
        svc_state_t tmp = *c->s;
        tmp.n_names = 0;
        svc_gssapi_blob(&tmp, cr, cl);
        for (int i = 0; i < tmp.n_names; i++)
            ldap_note(c, tmp.names[i]);
    }
    return true;
}

/* The resultCode (ENUMERATED) at the start of an LDAPResult. */
static int
ldap_result(const uint8_t *d, uint32_t n)
{
    if (n < 3 || d[0] != 0x0a || d[1] != 0x01)
        return -1;
    return d[2];
}

static const char starttls_oid[] = "1.3.6.1.4.1.1466.20037";

/* Walk the messages of one packet; false after a violation or a switch. */
static bool
ldap_messages(svc_ctx_t *c, svc_id_t self)
{
    svc_state_t *s = c->s;
    uint8_t pend = c->dir == 0 ? LDAP_PEND_O : LDAP_PEND_R;
    uint8_t lost = c->dir == 0 ? LDAP_LOST_O : LDAP_LOST_R;
    uint32_t pos = 0;
    if (s->st & lost)
        return true;
    if (s->skip[c->dir]) {
        uint32_t k = s->skip[c->dir] < c->n ? s->skip[c->dir] : c->n;
        s->skip[c->dir] -= k;
        pos = k;
        if (s->skip[c->dir])
            return true;
        if (s->st & pend) {
            s->st &= ~pend;
            ldap_note(c, self); /* LDAP::Message::%done */
        }
    }
    while (pos < c->n) {
        uint32_t total = 0, opoff = 0, oplen = 0;
        uint8_t op = 0;
        int r = ldap_header(c->d + pos, c->n - pos, &total, &op, &opoff, &oplen);
        if (r < 0) {
            svc_violation(c);
            return false;
        }
        if (r == 0) {
            s->st |= lost; /* a header split across segments */
            return true;
        }
        const uint8_t *body = c->d + pos + opoff;
        uint32_t avail = c->n - pos - opoff < oplen ? c->n - pos - opoff : oplen;
        switch (op) {
        case 0x60: /* BindRequest */
            if (!ldap_bind(c, body, avail) && avail == oplen) {
                svc_violation(c);
                return false;
            }
            break;
        case 0x61: /* BindResponse */
            if ((s->st & LDAP_SASL) && ldap_result(body, avail) == 0) {
                /* SASL success: what follows may be wrapped; Zeek switches
                 * to its MaybeEncrypted heuristics.  Nothing more to learn. */
                if (total <= c->n - pos)
                    ldap_note(c, self);
                svc_drop(c);
                return false;
            }
            break;
        case 0x77: /* ExtendedRequest: requestName [0] */
            if (avail >= 2 && body[0] == 0x80 && body[1] == sizeof(starttls_oid) - 1 &&
                avail >= 2 + sizeof(starttls_oid) - 1 &&
                memcmp(body + 2, starttls_oid, sizeof(starttls_oid) - 1) == 0)
                s->st |= LDAP_STARTTLS;
            break;
        case 0x78: /* ExtendedResponse */
            if ((s->st & LDAP_STARTTLS) && ldap_result(body, avail) == 0 && total <= c->n - pos) {
                ldap_note(c, self);
                svc_switch(c, SVC_MODE_TLS, pos + total);
                return false;
            }
            break;
        default:
            break;
        }
        if (total > c->n - pos) {
            s->skip[c->dir] = total - (c->n - pos);
            s->st |= pend;
            return true;
        }
        ldap_note(c, self); /* LDAP::Message::%done */
        pos += total;
    }
    return true;
}

void
svc_ldap(svc_ctx_t *c)
{
    svc_state_t *s = c->s;
    if (!svc_active(c)) {
        /* dpd_ldap_client_tcp /^\x30.\x02\x01.\x60/ (a bind request) and
         * dpd_ldap_server_tcp /^\x30/. */
        if (c->off != 0)
            return;
        bool sig = c->dir == 0 ? c->n >= 6 && c->d[0] == 0x30 && c->d[2] == 0x02 &&
                                     c->d[3] == 0x01 && c->d[5] == 0x60
                               : c->n >= 1 && c->d[0] == 0x30;
        if (!sig) {
            svc_drop(c);
            return;
        }
        if (!svc_own(c)) {
            svc_drop(c);
            return;
        }
        if (!svc_sig_side(c, c->dir)) {
            if (c->dir == 0)
                ldap_messages(c, SVC_LDAP_TCP); /* buffered until enabled */
            return;
        }
        /* Enabled: replay what was queued for the originator's stream. */
        uint32_t q = s->skip[1];
        s->skip[1] = 0;
        for (int i = 0; i < 3; i++)
            svc_confirm_name(s, (svc_id_t)((q >> (8 * i)) & 0xff));
    } else if (!svc_owns(c) && !svc_own(c)) {
        svc_drop(c);
        return;
    }
    ldap_messages(c, SVC_LDAP_TCP);
}

void
svc_ldap_udp(svc_ctx_t *c)
{
    if (!svc_active(c)) {
        bool sig = c->dir == 0 ? c->n >= 6 && c->d[0] == 0x30 && c->d[2] == 0x02 &&
                                     c->d[3] == 0x01 && c->d[5] == 0x60
                               : c->n >= 1 && c->d[0] == 0x30;
        if (!sig) {
            svc_drop(c);
            return;
        }
        if (!svc_sig_side(c, c->dir))
            return;
    }
    uint32_t total = 0, opoff, oplen;
    uint8_t op;
    if (ldap_header(c->d, c->n, &total, &op, &opoff, &oplen) == 1 && total <= c->n) {
        svc_confirm(c);
        svc_drop(c);
    } else {
        svc_violation(c);
    }
}

/* ---------------------------------------------------------------- SNMP */

void
svc_snmp_udp(svc_ctx_t *c)
{
    const uint8_t *d = c->d;
    uint32_t n = c->n;
    svc_ber_t m, v, x;
    bool ok = false;
    if (svc_ber(d, n, &m) && d[0] == 0x30) {
        uint32_t p = m.hdr;
        if (p < n && d[p] == 0x02 && svc_ber(d + p, n - p, &v) && v.len == 1 &&
            p + v.hdr + 1 <= n) {
            uint8_t ver = d[p + v.hdr];
            p += v.hdr + 1;
            if ((ver == 0 || ver == 1) && p < n && d[p] == 0x04 && svc_ber(d + p, n - p, &x)) {
                p += x.hdr + x.len;
                ok = p < n && d[p] >= 0xa0 && d[p] <= 0xa8; /* the PDU */
            } else if (ver == 3 && p < n && d[p] == 0x30) {
                ok = true; /* msgGlobalData */
            }
        }
    }
    if (!ok) {
        svc_violation(c);
        return;
    }
    /* proc_header(): only a header from the responder confirms. */
    if (c->dir == 1) {
        svc_confirm(c);
        svc_drop(c);
    }
}
