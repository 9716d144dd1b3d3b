/*
 * Internals shared by the service-identification files of src/app: the
 * analyzer tables, the per-packet context handed to each analyzer, and small
 * byte-level helpers (lines, BER, bounded reads).  Nothing here is part of
 * the module's contract; other modules use service.h only.
 */
#ifndef CONNLOGD_APP_SVC_INT_H
#define CONNLOGD_APP_SVC_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "app/service.h"

/* Service name ids (index into the name table in service.c). */
enum {
    SVC_NONE = 0,
    SVC_VXLAN, SVC_GENEVE, SVC_TEREDO, SVC_AYIYA, SVC_GTPV1, SVC_GRE,
    SVC_HTTP, SVC_SSL, SVC_DTLS, SVC_QUIC, SVC_DNS, SVC_SSH, SVC_FTP, SVC_FTP_DATA,
    SVC_SMTP, SVC_IMAP, SVC_POP3, SVC_IRC, SVC_XMPP, SVC_MYSQL, SVC_POSTGRESQL,
    SVC_REDIS, SVC_LDAP_TCP, SVC_LDAP_UDP, SVC_KRB, SVC_KRB_TCP, SVC_GSSAPI, SVC_NTLM,
    SVC_SMB, SVC_DCE_RPC, SVC_RDP, SVC_RDPEUDP, SVC_SIP, SVC_SNMP, SVC_NTP, SVC_DHCP,
    SVC_SYSLOG, SVC_SOCKS, SVC_MODBUS, SVC_DNP3, SVC_MQTT, SVC_WEBSOCKET,
    SVC_NAME_COUNT
};

/* TCP analyzers (bit index in svc_state_t.cand/act).  Those with two-sided
 * DPD signatures come first: svc_state_t.sigm has two bits for each of the
 * first 16. */
enum {
    AT_HTTP, AT_SSH, AT_FTP, AT_SMTP, AT_POP3, AT_IRC, AT_PGSQL, AT_REDIS, AT_LDAP, AT_RDP,
    AT_SOCKS, AT_SSL, AT_IMAP, AT_XMPP, AT_MYSQL, AT_KRB, AT_SMB, AT_DCERPC, AT_MODBUS,
    AT_DNP3, AT_MQTT, AT_DNS, AT_WS,
    AT_COUNT
};

/* UDP analyzers (same bit space, separate table). */
enum {
    AU_DNS, AU_DTLS, AU_QUIC, AU_LDAP, AU_KRB, AU_SNMP, AU_NTP, AU_DHCP, AU_SYSLOG, AU_SIP,
    AU_RDPEUDP, AU_DNP3,
    AU_COUNT
};

/* Stream layers of a TCP connection (svc_state_t.mode). */
enum {
    SVC_MODE_PLAIN = 0, /* the connection's own stream */
    SVC_MODE_TLS,       /* after STARTTLS and friends: the SSL analyzer is a child */
    SVC_MODE_TUNNEL,    /* after HTTP CONNECT / SOCKS: DPD restarts on the inner stream */
    SVC_MODE_WS,        /* after an HTTP upgrade to WebSocket */
};

/* svc_state_t.scratch bits: progress of analyzers that need one or two bits
 * before (or without) owning the framing state. */
enum {
    SB_SPARE0 = 1u << 0,       /* free, like bit 31 (enumerators must fit an int) */
    SB_HTTP_CONNECT = 1u << 1, /* the first request was CONNECT */
    SB_HTTP_REQ_SEEN = 1u << 2,
    SB_HTTP_REP_SEEN = 1u << 3,
    SB_SSL_CH_OK = 1u << 4,    /* a client hello with an acceptable version was seen */
    SB_SSL_CH_SEEN = 1u << 5,
    SB_SSL_SRV_SEEN = 1u << 6,
    SB_SMTP_STARTTLS = 1u << 7,
    SB_XMPP_STARTTLS = 1u << 8,
    SB_MYSQL_V9 = 1u << 9,
    SB_MYSQL_V10 = 1u << 10,
    SB_PG_SSLREQ = 1u << 11,
    SB_PG_STARTUP = 1u << 12,
    SB_MODBUS_ORIG = 1u << 13,
    SB_MODBUS_RESP = 1u << 14,
    SB_RDPEUDP_SYN = 1u << 15,
    SB_RDP_NEG_TLS = 1u << 16,
    SB_FTP_SRV_GREET = 1u << 17, /* DPD: responder stream began with 120/220 */
    SB_FTP_AUTH_TLS = 1u << 18,
    SB_SSH_V_ORIG = 1u << 19,
    SB_SSH_V_RESP = 1u << 20,
    SB_IRC_ORIG = 1u << 21,
    SB_REDIS_SYNC = 1u << 22,    /* server stream parsed up to a value boundary */
    SB_XMPP_ORIG = 1u << 23,     /* the originator opened an XMPP stream */
    SB_WS_UPGRADE = 1u << 24,    /* HTTP request asked for a WebSocket upgrade */
    SB_NL_ORIG = 1u << 25,       /* this layer's originator bytes so far end in CR/LF */
    SB_HTTP_V09 = 1u << 26,      /* the request was HTTP/0.9: the reply has no status line */
    SB_NL_RESP = 1u << 27,       /* ... and the responder's */
    SB_SMTP_AUTH = 1u << 28,     /* inside an AUTH exchange */
    SB_SMTP_DATA = 1u << 29,     /* client sent DATA; 354 starts the message */
    SB_SMTP_IN_DATA = 1u << 30,
};

#define SVC_DPD_WINDOW 1024u   /* dpd_buffer_size: signatures look this far into a stream */
#define SVC_IGNORE_AFTER 10240u /* DPD::ignore_violations_after */

typedef struct svc_ctx svc_ctx_t;
typedef void (*svc_fn_t)(svc_ctx_t *c);

/* Analyzer flags. */
enum {
    SVC_AF_SIG = 1u << 0,     /* has a DPD signature: candidate on any port and inside tunnels */
    SVC_AF_PARTIAL = 1u << 1, /* skips partial TCP connections (TCP()->IsPartial()) */
    SVC_AF_ANCHOR = 1u << 2,  /* until enabled, only the first segment of each direction
                               * matters (its signatures are anchored at the stream start) */
};

typedef struct {
    svc_id_t name;
    uint8_t flags;
    svc_fn_t fn;
    const uint16_t *ports;    /* responder ports Zeek registers it for, 0-terminated */
} svc_an_t;

/** What an analyzer sees for one packet (or the rest of one after a layer switch). */
struct svc_ctx {
    svc_engine_t *e;
    svc_state_t *s;
    const svc_pkt_t *p;
    const uint8_t *d;         /* bytes present */
    uint32_t n;
    int dir;                  /* 0 orig, 1 resp */
    uint32_t off;             /* layer offset of d[0] in this direction */
    int an;                   /* analyzer being run */
    int sw_mode;              /* layer switch requested (-1 none) */
    uint32_t sw_at;           /* ... starting at this byte of d */
    /* Line starts inside the DPD window, computed once per packet for the
     * text signatures (svc_text.c). */
    bool nl;                  /* d[-1] (previous packet) was CR or LF: d[0] starts a line */
    uint8_t ls_state;         /* 0 not computed, 1 complete, 2 truncated */
    uint8_t nls;
    uint16_t ls[32];
};

/** Where the first whole line of this packet begins: 0, unless the
 * direction's previous packet ended inside a line (no reassembly: the rest
 * of that line is skipped rather than parsed as a line of its own). */
static inline uint32_t
svc_line_resume(const svc_ctx_t *c)
{
    if (c->off == 0 || c->nl)
        return 0;
    const uint8_t *lf = memchr(c->d, '\n', c->n);
    return lf ? (uint32_t)(lf - c->d) + 1 : c->n;
}

extern const svc_an_t svc_tcp_an[AT_COUNT];
extern const svc_an_t svc_udp_an[AU_COUNT];

/* --- service.c: state helpers for analyzers --- */

/** Add @p name to the connection's list (no duplicates, confirmation order). */
void svc_confirm_name(svc_state_t *s, svc_id_t name);
/** The running analyzer confirms its protocol (only when attached or enabled). */
void svc_confirm(svc_ctx_t *c);
/** The running analyzer saw a protocol violation: it is removed, and so is
 *  its service name if it was confirmed within the first 10 KiB. */
void svc_violation(svc_ctx_t *c);
/** The running analyzer stops (its signature cannot match, or it has
 *  nothing more to learn). */
static inline void
svc_drop(svc_ctx_t *c)
{
    c->s->cand &= ~(1u << c->an);
    c->s->act &= ~(1u << c->an);
    if (c->s->owner == c->an + 1)
        c->s->owner = 0;
}

/** True when the running analyzer is attached (port) or enabled (signature). */
static inline bool
svc_active(const svc_ctx_t *c)
{
    return (c->s->act >> c->an) & 1u;
}

/** Enable the running analyzer (its signature matched). */
void svc_enable(svc_ctx_t *c);
/** Record that one side of a two-sided signature matched (side 0 = orig
 *  pattern, 1 = resp pattern); enables the analyzer once both did. */
bool svc_sig_side(svc_ctx_t *c, int side);
/** True when side @p side of the running analyzer's signature matched. */
bool svc_sig_has(const svc_ctx_t *c, int side);
/** Request a switch of stream layer at byte @p at of the current packet. */
void svc_switch(svc_ctx_t *c, int mode, uint32_t at);
/** Claim the framing state for the running analyzer; false if another owns it. */
bool svc_own(svc_ctx_t *c);
/** True when the running analyzer owns the framing state. */
static inline bool
svc_owns(const svc_ctx_t *c)
{
    return c->s->owner == c->an + 1;
}

/** True when the running analyzer's service name is in the list. */
bool svc_has_name(const svc_state_t *s, svc_id_t name);
/** FTP: remember an expected data connection (orig_h -> resp_h:resp_p). */
void svc_expect(svc_engine_t *e, const uint8_t orig_h[16], const uint8_t resp_h[16],
                uint16_t resp_p, double ts);

/* --- byte helpers --- */

static inline uint16_t
svc_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t
svc_be24(const uint8_t *p)
{
    return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}

static inline uint32_t
svc_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint16_t
svc_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t
svc_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

/** A line cursor: lines end at LF; a CR before the LF is not part of the line. */
typedef struct {
    const uint8_t *d;
    uint32_t n, pos;
} svc_lines_t;

/** Next line of @p it into (*l, *len); false at the end.  A last line
 *  without LF is returned too (*complete false). */
bool svc_line_next(svc_lines_t *it, const uint8_t **l, uint32_t *len, bool *complete);

/** Case-insensitive prefix test of @p lit (ASCII) against (d, n). */
static inline uint8_t
svc_lower(uint8_t ch)
{
    return ch >= 'A' && ch <= 'Z' ? (uint8_t)(ch + 32) : ch;
}

static inline bool
svc_iprefix(const uint8_t *d, uint32_t n, const char *lit)
{
    for (uint32_t i = 0; lit[i]; i++)
        if (i >= n || svc_lower(d[i]) != svc_lower((uint8_t)lit[i]))
            return false;
    return true;
}

/** Case-sensitive prefix test. */
static inline bool
svc_prefix(const uint8_t *d, uint32_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n >= l && memcmp(d, lit, l) == 0;
}
/** Case-insensitive search of @p lit in (d, n). */
bool svc_ifind(const uint8_t *d, uint32_t n, const char *lit);
/** Search of the bytes (lit, litlen) in (d, n); index or -1. */
long svc_find(const uint8_t *d, uint32_t n, const void *lit, uint32_t litlen);

/** One BER TLV: tag byte, content offset and length (definite forms only). */
typedef struct {
    uint8_t tag;
    uint32_t hdr;   /* tag + length octets */
    uint32_t len;   /* content length */
} svc_ber_t;

/** Parse a BER header at (d, n); false if malformed or the length octets are
 *  cut off.  The content may extend past @p n (check hdr + len yourself). */
bool svc_ber(const uint8_t *d, uint32_t n, svc_ber_t *t);

/* --- analyzers, by file --- */

/* svc_text.c */
void svc_http(svc_ctx_t *c);
void svc_ftp(svc_ctx_t *c);
void svc_smtp(svc_ctx_t *c);
void svc_pop3(svc_ctx_t *c);
void svc_imap(svc_ctx_t *c);
void svc_irc(svc_ctx_t *c);
void svc_xmpp(svc_ctx_t *c);
void svc_redis(svc_ctx_t *c);
void svc_sip_udp(svc_ctx_t *c);
void svc_syslog_udp(svc_ctx_t *c);
/** Parse "h1,h2,h3,h4,p1,p2" like Zeek's parse_ftp_port (PORT / PASV). */
bool svc_ftp_parse_port(const uint8_t *d, uint32_t n, uint8_t addr[16], uint16_t *port);
/** Parse "|af|addr|port|" like Zeek's parse_eftp_port (EPRT / EPSV); an empty
 *  address leaves @p addr_set false. */
bool svc_ftp_parse_eport(const uint8_t *d, uint32_t n, uint8_t addr[16], bool *addr_set,
                         uint16_t *port);

/* svc_tls.c */
void svc_ssl(svc_ctx_t *c);
void svc_ssh(svc_ctx_t *c);
void svc_dtls_udp(svc_ctx_t *c);
void svc_quic_udp(svc_ctx_t *c);
/** True when (d, n) begins with a TLS/SSL client hello whose version Zeek
 *  accepts; *@p seen tells whether a client hello was recognised at all. */
bool svc_tls_client_hello(const uint8_t *d, uint32_t n, bool *seen);

/* svc_asn1.c */
void svc_ldap(svc_ctx_t *c);
void svc_krb_tcp(svc_ctx_t *c);
void svc_ldap_udp(svc_ctx_t *c);
void svc_krb_udp(svc_ctx_t *c);
void svc_snmp_udp(svc_ctx_t *c);
/** A Kerberos message (AS/TGS/AP/... APPLICATION tag) that Zeek's KRB
 *  analyzer would parse. */
bool svc_krb_msg(const uint8_t *d, uint32_t n);
/** Feed a security blob as Zeek's GSSAPI analyzer would receive it (SMB,
 *  LDAP SASL): confirms krb / ntlm / gssapi in Zeek's order. */
void svc_gssapi_blob(svc_state_t *s, const uint8_t *d, uint32_t n);

/* svc_bin.c */
void svc_dns_tcp(svc_ctx_t *c);
void svc_dns_udp(svc_ctx_t *c);
void svc_mysql(svc_ctx_t *c);
void svc_pgsql(svc_ctx_t *c);
void svc_smb(svc_ctx_t *c);
void svc_dcerpc(svc_ctx_t *c);
void svc_rdp(svc_ctx_t *c);
void svc_socks(svc_ctx_t *c);
void svc_modbus(svc_ctx_t *c);
void svc_dnp3(svc_ctx_t *c);
void svc_mqtt(svc_ctx_t *c);
void svc_ws(svc_ctx_t *c);
void svc_ntp_udp(svc_ctx_t *c);
void svc_dhcp_udp(svc_ctx_t *c);
void svc_rdpeudp_udp(svc_ctx_t *c);
void svc_dnp3_udp(svc_ctx_t *c);
/** A DNS message Zeek's DNS analyzer would confirm on (header, questions and
 *  answers parse); *@p too_many is set for qdcount above dns_max_queries. */
bool svc_dns_msg(const uint8_t *d, uint32_t n, bool netbios, bool *too_many);

#endif
