/*
 * Service identification: the name registry, the analyzer tables (which
 * responder ports attach which analyzer, which analyzers have DPD
 * signatures), the per-packet dispatch with its stream layers, and the
 * engine-wide FTP data-channel expectations.  Protocol knowledge lives in
 * svc_text.c, svc_tls.c, svc_asn1.c and svc_bin.c.
 */
#include "app/service.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "app/svc_int.h"

/* Index = svc_id_t.  Names are Zeek's (lower-cased analyzer names). */
static const char *const svc_names[SVC_NAME_COUNT] = {
    [SVC_NONE] = "",
    [SVC_VXLAN] = "vxlan",
    [SVC_GENEVE] = "geneve",
    [SVC_TEREDO] = "teredo",
    [SVC_AYIYA] = "ayiya",
    [SVC_GTPV1] = "gtpv1",
    [SVC_GRE] = "gre",
    [SVC_HTTP] = "http",
    [SVC_SSL] = "ssl",
    [SVC_DTLS] = "dtls",
    [SVC_QUIC] = "quic",
    [SVC_DNS] = "dns",
    [SVC_SSH] = "ssh",
    [SVC_FTP] = "ftp",
    [SVC_FTP_DATA] = "ftp-data",
    [SVC_SMTP] = "smtp",
    [SVC_IMAP] = "imap",
    [SVC_POP3] = "pop3",
    [SVC_IRC] = "irc",
    [SVC_XMPP] = "xmpp",
    [SVC_MYSQL] = "mysql",
    [SVC_POSTGRESQL] = "postgresql",
    [SVC_REDIS] = "redis",
    [SVC_LDAP_TCP] = "ldap_tcp",
    [SVC_LDAP_UDP] = "ldap_udp",
    [SVC_KRB] = "krb",
    [SVC_KRB_TCP] = "krb_tcp",
    [SVC_GSSAPI] = "gssapi",
    [SVC_NTLM] = "ntlm",
    [SVC_SMB] = "smb",
    [SVC_DCE_RPC] = "dce_rpc",
    [SVC_RDP] = "rdp",
    [SVC_RDPEUDP] = "rdpeudp",
    [SVC_SIP] = "sip",
    [SVC_SNMP] = "snmp",
    [SVC_NTP] = "ntp",
    [SVC_DHCP] = "dhcp",
    [SVC_SYSLOG] = "syslog",
    [SVC_SOCKS] = "socks",
    [SVC_MODBUS] = "modbus",
    [SVC_DNP3] = "dnp3",
    [SVC_MQTT] = "mqtt",
    [SVC_WEBSOCKET] = "websocket",
};

/* Responder ports each analyzer is registered for in Zeek's default
 * configuration (Analyzer::register_for_ports in each protocol's main.zeek,
 * or the port of its .evt file).  0-terminated. */
static const uint16_t p_http[] = {80, 81, 631, 1080, 3128, 8000, 8080, 8888, 0};
static const uint16_t p_ssl[] = {261, 443, 448, 465, 563, 585, 614, 636, 989, 990, 992, 993,
                                 995, 5223, 0};
static const uint16_t p_ssh[] = {22, 0};
static const uint16_t p_ftp[] = {21, 2811, 0};
static const uint16_t p_smtp[] = {25, 587, 0};
static const uint16_t p_pop3[] = {110, 0};
static const uint16_t p_imap[] = {143, 0};
static const uint16_t p_irc[] = {6666, 6667, 6668, 6669, 0};
static const uint16_t p_xmpp[] = {5222, 5269, 0};
static const uint16_t p_mysql[] = {1434, 3306, 0};
static const uint16_t p_pgsql[] = {5432, 0};
static const uint16_t p_redis[] = {6379, 0};
static const uint16_t p_ldap[] = {389, 3268, 0};
static const uint16_t p_krb[] = {88, 0};
static const uint16_t p_smb[] = {139, 445, 0};
static const uint16_t p_dcerpc[] = {135, 0};
static const uint16_t p_rdp[] = {3389, 0};
static const uint16_t p_socks[] = {1080, 0};
static const uint16_t p_modbus[] = {502, 0};
static const uint16_t p_dnp3[] = {20000, 0};
static const uint16_t p_mqtt[] = {1883, 0};
static const uint16_t p_dns_tcp[] = {53, 0};
static const uint16_t p_dns_udp[] = {53, 137, 5353, 5355, 0};
static const uint16_t p_dtls[] = {443, 0};
static const uint16_t p_quic[] = {443, 0};
static const uint16_t p_ldap_udp[] = {389, 0};
static const uint16_t p_snmp[] = {161, 162, 0};
static const uint16_t p_ntp[] = {123, 0};
static const uint16_t p_dhcp[] = {67, 68, 0};
static const uint16_t p_syslog[] = {514, 0};
static const uint16_t p_sip[] = {5060, 0};
static const uint16_t p_rdpeudp[] = {3389, 0};
static const uint16_t p_none[] = {0};

const svc_an_t svc_tcp_an[AT_COUNT] = {
    [AT_HTTP] = {SVC_HTTP, SVC_AF_SIG | SVC_AF_ANCHOR | SVC_AF_PARTIAL, svc_http, p_http},
    [AT_SSL] = {SVC_SSL, SVC_AF_SIG | SVC_AF_ANCHOR | SVC_AF_PARTIAL, svc_ssl, p_ssl},
    [AT_SSH] = {SVC_SSH, SVC_AF_SIG | SVC_AF_ANCHOR | SVC_AF_PARTIAL, svc_ssh, p_ssh},
    [AT_FTP] = {SVC_FTP, SVC_AF_SIG, svc_ftp, p_ftp},
    [AT_SMTP] = {SVC_SMTP, SVC_AF_SIG | SVC_AF_PARTIAL, svc_smtp, p_smtp},
    [AT_POP3] = {SVC_POP3, SVC_AF_SIG | SVC_AF_PARTIAL, svc_pop3, p_pop3},
    [AT_IMAP] = {SVC_IMAP, SVC_AF_PARTIAL, svc_imap, p_imap},
    [AT_IRC] = {SVC_IRC, SVC_AF_SIG, svc_irc, p_irc},
    [AT_XMPP] = {SVC_XMPP, SVC_AF_SIG | SVC_AF_ANCHOR | SVC_AF_PARTIAL, svc_xmpp, p_xmpp},
    [AT_MYSQL] = {SVC_MYSQL, SVC_AF_PARTIAL, svc_mysql, p_mysql},
    [AT_PGSQL] = {SVC_POSTGRESQL, SVC_AF_SIG | SVC_AF_ANCHOR, svc_pgsql, p_pgsql},
    [AT_REDIS] = {SVC_REDIS, SVC_AF_SIG | SVC_AF_ANCHOR, svc_redis, p_redis},
    [AT_LDAP] = {SVC_LDAP_TCP, SVC_AF_SIG | SVC_AF_ANCHOR, svc_ldap, p_ldap},
    [AT_KRB] = {SVC_KRB_TCP, SVC_AF_SIG | SVC_AF_ANCHOR, svc_krb_tcp, p_krb},
    [AT_SMB] = {SVC_SMB, SVC_AF_SIG | SVC_AF_ANCHOR, svc_smb, p_smb},
    [AT_DCERPC] = {SVC_DCE_RPC, SVC_AF_SIG | SVC_AF_ANCHOR, svc_dcerpc, p_dcerpc},
    [AT_RDP] = {SVC_RDP, SVC_AF_SIG | SVC_AF_PARTIAL, svc_rdp, p_rdp},
    [AT_SOCKS] = {SVC_SOCKS, SVC_AF_SIG | SVC_AF_ANCHOR, svc_socks, p_socks},
    [AT_MODBUS] = {SVC_MODBUS, 0, svc_modbus, p_modbus},
    [AT_DNP3] = {SVC_DNP3, SVC_AF_SIG | SVC_AF_ANCHOR, svc_dnp3, p_dnp3},
    [AT_MQTT] = {SVC_MQTT, SVC_AF_SIG | SVC_AF_ANCHOR, svc_mqtt, p_mqtt},
    [AT_DNS] = {SVC_DNS, 0, svc_dns_tcp, p_dns_tcp},
    [AT_WS] = {SVC_WEBSOCKET, 0, svc_ws, p_none},
};

const svc_an_t svc_udp_an[AU_COUNT] = {
    [AU_DNS] = {SVC_DNS, 0, svc_dns_udp, p_dns_udp},
    [AU_DTLS] = {SVC_DTLS, SVC_AF_SIG, svc_dtls_udp, p_dtls},
    [AU_QUIC] = {SVC_QUIC, SVC_AF_SIG, svc_quic_udp, p_quic},
    [AU_LDAP] = {SVC_LDAP_UDP, SVC_AF_SIG, svc_ldap_udp, p_ldap_udp},
    [AU_KRB] = {SVC_KRB, SVC_AF_SIG, svc_krb_udp, p_krb},
    [AU_SNMP] = {SVC_SNMP, 0, svc_snmp_udp, p_snmp},
    [AU_NTP] = {SVC_NTP, 0, svc_ntp_udp, p_ntp},
    [AU_DHCP] = {SVC_DHCP, SVC_AF_SIG, svc_dhcp_udp, p_dhcp},
    [AU_SYSLOG] = {SVC_SYSLOG, 0, svc_syslog_udp, p_syslog},
    [AU_SIP] = {SVC_SIP, SVC_AF_SIG, svc_sip_udp, p_sip},
    [AU_RDPEUDP] = {SVC_RDPEUDP, 0, svc_rdpeudp_udp, p_rdpeudp},
    [AU_DNP3] = {SVC_DNP3, 0, svc_dnp3_udp, p_dnp3},
};

/* One per tracked connection: growing it costs memory per connection. */
G_STATIC_ASSERT(sizeof(svc_state_t) <= 44);
G_STATIC_ASSERT(AT_COUNT <= 32 && AU_COUNT <= 32);

/* How many payload packets per direction we look at before giving up on a
 * connection whose analyzers are still undecided.  Confirmation points lie
 * in the first handshake messages for every protocol handled here. */
#define SVC_MAX_PKTS_TCP 24
#define SVC_MAX_PKTS_UDP 8

/* --- FTP data-channel expectations ---------------------------------------
 * Zeek's Analyzer::schedule_analyzer(orig_h, resp_h, resp_p, FTP_DATA, 5 min):
 * a later connection orig_h -> resp_h:resp_p (any orig port) gets
 * "ftp-data" when it is created.  A small set-associative table keyed by
 * (resp_h, resp_p); entries expire, the oldest is evicted when a set is full. */
#define EXP_SETS 256
#define EXP_WAYS 4
#define EXP_TIMEOUT 300.0

typedef struct {
    uint8_t orig_h[16], resp_h[16];
    uint16_t resp_p;
    bool used;
    double expire;
} svc_exp_t;

struct svc_engine {
    svc_exp_t exp[EXP_SETS][EXP_WAYS];
    unsigned n_exp;
};

svc_engine_t *
svc_engine_new(void)
{
    return g_new0(svc_engine_t, 1);
}

void
svc_engine_free(svc_engine_t *e)
{
    g_free(e);
}

unsigned
svc_engine_expectations(const svc_engine_t *e)
{
    return e ? e->n_exp : 0;
}

static unsigned
exp_set(const uint8_t resp_h[16], uint16_t resp_p)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ resp_h[i]) * 16777619u;
    h = (h ^ (resp_p & 0xff)) * 16777619u;
    h = (h ^ (resp_p >> 8)) * 16777619u;
    return h % EXP_SETS;
}

void
svc_expect(svc_engine_t *e, const uint8_t orig_h[16], const uint8_t resp_h[16], uint16_t resp_p,
           double ts)
{
    svc_exp_t *set = e->exp[exp_set(resp_h, resp_p)];
    svc_exp_t *slot = NULL;
    for (int i = 0; i < EXP_WAYS; i++) {
        svc_exp_t *x = &set[i];
        if (x->used && x->resp_p == resp_p && memcmp(x->resp_h, resp_h, 16) == 0 &&
            memcmp(x->orig_h, orig_h, 16) == 0) {
            slot = x; /* the same channel again: refresh it */
            break;
        }
        if (!x->used || x->expire <= ts) {
            if (!slot || slot->used)
                slot = x;
        }
    }
    if (!slot) {
        slot = &set[0];
        for (int i = 1; i < EXP_WAYS; i++)
            if (set[i].expire < slot->expire)
                slot = &set[i];
    }
    if (!slot->used)
        e->n_exp++;
    memcpy(slot->orig_h, orig_h, 16);
    memcpy(slot->resp_h, resp_h, 16);
    slot->resp_p = resp_p;
    slot->used = true;
    slot->expire = ts + EXP_TIMEOUT;
}

static bool
exp_take(svc_engine_t *e, const uint8_t orig_h[16], const uint8_t resp_h[16], uint16_t resp_p,
         double ts)
{
    if (e->n_exp == 0)
        return false;
    svc_exp_t *set = e->exp[exp_set(resp_h, resp_p)];
    for (int i = 0; i < EXP_WAYS; i++) {
        svc_exp_t *x = &set[i];
        if (!x->used || x->resp_p != resp_p || memcmp(x->resp_h, resp_h, 16) != 0)
            continue;
        if (x->expire <= ts) {
            x->used = false;
            e->n_exp--;
            continue;
        }
        if (memcmp(x->orig_h, orig_h, 16) != 0)
            continue;
        /* Zeek drops ftp_data_expected[resp_h, resp_p] when the data
         * connection ends; one data connection per announcement. */
        x->used = false;
        e->n_exp--;
        return true;
    }
    return false;
}

/* --- per-connection state --- */

/* Responder port -> analyzers attached by port, per transport: a sorted
 * table built once from the analyzer tables, searched per connection. */
typedef struct {
    uint16_t port;
    uint32_t mask;
} svc_portmap_t;

#define PORTMAP_MAX 96
static svc_portmap_t portmap[2][PORTMAP_MAX];
static unsigned portmap_n[2];
static uint32_t sig_mask[2];
static uint32_t anchor_mask[2];

static int
portmap_cmp(const void *a, const void *b)
{
    return (int)((const svc_portmap_t *)a)->port - (int)((const svc_portmap_t *)b)->port;
}

static void
portmap_build(void)
{
    for (int t = 0; t < 2; t++) {
        const svc_an_t *tab = t ? svc_tcp_an : svc_udp_an;
        int count = t ? AT_COUNT : AU_COUNT;
        unsigned n = 0;
        for (int i = 0; i < count; i++) {
            if (tab[i].flags & SVC_AF_SIG)
                sig_mask[t] |= 1u << i;
            if (tab[i].flags & SVC_AF_ANCHOR)
                anchor_mask[t] |= 1u << i;
            for (const uint16_t *p = tab[i].ports; *p; p++) {
                unsigned k = 0;
                while (k < n && portmap[t][k].port != *p)
                    k++;
                if (k == n) {
                    g_assert(n < PORTMAP_MAX);
                    portmap[t][n].port = *p;
                    portmap[t][n].mask = 0;
                    n++;
                }
                portmap[t][k].mask |= 1u << i;
            }
        }
        qsort(portmap[t], n, sizeof(portmap[t][0]), portmap_cmp);
        portmap_n[t] = n;
    }
}

static void
portmap_init(void)
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        portmap_build();
        g_once_init_leave(&once, 1);
    }
}

static uint32_t
port_mask(bool is_tcp, uint16_t port)
{
    const svc_portmap_t *m = portmap[is_tcp];
    unsigned lo = 0, hi = portmap_n[is_tcp];
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (m[mid].port == port)
            return m[mid].mask;
        if (m[mid].port < port)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

void
svc_conn_new(svc_engine_t *e, svc_state_t *s, const uint8_t orig_h[16], uint16_t orig_p,
             const uint8_t resp_h[16], uint16_t resp_p, bool is_tcp, double ts)
{
    (void)orig_p;
    portmap_init();
    memset(s, 0, sizeof(*s));
    /* Analyzer::register_for_ports attaches by the responder port at
     * creation; analyzers with a DPD signature stay candidates. */
    s->act = port_mask(is_tcp, resp_p);
    s->cand = s->act | sig_mask[is_tcp];
    if (e && is_tcp && exp_take(e, orig_h, resp_h, resp_p, ts))
        svc_confirm_name(s, SVC_FTP_DATA);
}

bool
svc_has_name(const svc_state_t *s, svc_id_t name)
{
    for (int i = 0; i < s->n_names; i++)
        if (s->names[i] == name)
            return true;
    return false;
}

void
svc_confirm_name(svc_state_t *s, svc_id_t name)
{
    if (name == SVC_NONE || svc_has_name(s, name))
        return;
    if (s->n_names < SVC_MAX_NAMES)
        s->names[s->n_names++] = name;
}

static void
remove_name(svc_state_t *s, svc_id_t name)
{
    for (int i = 0; i < s->n_names; i++) {
        if (s->names[i] != name)
            continue;
        memmove(&s->names[i], &s->names[i + 1], (size_t)(s->n_names - i - 1));
        s->n_names--;
        s->names[s->n_names] = SVC_NONE;
        return;
    }
}

static const svc_an_t *
an_of(const svc_ctx_t *c)
{
    return c->p->is_tcp ? &svc_tcp_an[c->an] : &svc_udp_an[c->an];
}

void
svc_enable(svc_ctx_t *c)
{
    c->s->act |= 1u << c->an;
}

void
svc_confirm(svc_ctx_t *c)
{
    if (svc_active(c))
        svc_confirm_name(c->s, an_of(c)->name);
}

void
svc_violation(svc_ctx_t *c)
{
    /* DPD::analyzer_violation_info: violations past 10 KiB into the
     * connection are ignored; before that a confirmed service is removed
     * (analyzer_failed).  An unconfirmed analyzer is disabled either way. */
    svc_id_t name = an_of(c)->name;
    if (c->s->seen > SVC_IGNORE_AFTER && svc_has_name(c->s, name))
        return;
    if (svc_active(c))
        remove_name(c->s, name);
    svc_drop(c);
}

static unsigned
sig_shift(const svc_ctx_t *c)
{
    /* Two bits per analyzer; only analyzers below 16 use two-sided
     * signatures (see the enum order in svc_int.h). */
    g_assert(c->an < 16);
    return (unsigned)c->an * 2u;
}

bool
svc_sig_side(svc_ctx_t *c, int side)
{
    c->s->sigm |= 1u << (sig_shift(c) + (unsigned)side);
    if (((c->s->sigm >> sig_shift(c)) & 3u) == 3u) {
        svc_enable(c);
        return true;
    }
    return svc_active(c);
}

bool
svc_sig_has(const svc_ctx_t *c, int side)
{
    return (c->s->sigm >> (sig_shift(c) + (unsigned)side)) & 1u;
}

void
svc_switch(svc_ctx_t *c, int mode, uint32_t at)
{
    c->sw_mode = mode;
    c->sw_at = at > c->n ? c->n : at;
}

bool
svc_own(svc_ctx_t *c)
{
    if (c->s->owner == 0) {
        c->s->owner = (uint8_t)(c->an + 1);
        c->s->st = 0;
        c->s->aux = 0;
        c->s->skip[0] = c->s->skip[1] = 0;
        return true;
    }
    return c->s->owner == c->an + 1;
}

/* --- dispatch --- */

static uint16_t
sat_add16(uint16_t a, uint32_t b)
{
    uint32_t r = (uint32_t)a + b;
    return r > 0xffff ? 0xffff : (uint16_t)r;
}

/* Enter a new stream layer: which analyzers see the inner stream. */
static void
enter_layer(svc_state_t *s, int mode)
{
    s->mode = (uint8_t)mode;
    s->off[0] = s->off[1] = 0;
    s->sigm = 0;
    s->owner = 0;
    s->skip[0] = s->skip[1] = 0;
    s->scratch = 0;
    switch (mode) {
    case SVC_MODE_TLS:
        s->cand = s->act = 1u << AT_SSL;
        break;
    case SVC_MODE_WS:
        s->cand = s->act = 1u << AT_WS;
        break;
    case SVC_MODE_TUNNEL:
        /* PIA_TCP on the tunnelled stream: signatures only. */
        s->act = 0;
        s->cand = 0;
        for (int i = 0; i < AT_COUNT; i++)
            if (svc_tcp_an[i].flags & SVC_AF_SIG)
                s->cand |= 1u << i;
        break;
    default:
        break;
    }
}

static void
run_layer(svc_engine_t *e, svc_state_t *s, const svc_pkt_t *p, const uint8_t *d, uint32_t n,
          int dir, int depth)
{
    svc_ctx_t c = {
        .e = e, .s = s, .p = p, .d = d, .n = n, .dir = dir, .off = s->off[dir],
        .sw_mode = -1,
        .nl = (s->scratch & (dir ? SB_NL_RESP : SB_NL_ORIG)) != 0,
        .ls_state = 0,
    };
    const svc_an_t *tab = p->is_tcp ? svc_tcp_an : svc_udp_an;
    uint32_t m = s->cand;
    if (c.off != 0)
        m &= ~(anchor_mask[p->is_tcp] & ~s->act); /* signatures decided at the stream start */
    while (m) {
        int i = __builtin_ctz(m);
        m &= m - 1;
        if (!((s->cand >> i) & 1u))
            continue;
        if (p->is_tcp && p->tcp_partial && (tab[i].flags & SVC_AF_PARTIAL))
            continue;
        c.an = i;
        tab[i].fn(&c);
        if (c.sw_mode >= 0)
            break;
    }
    if (c.sw_mode < 0) {
        s->off[dir] = sat_add16(s->off[dir], n);
        /* Signatures match the stream: a line may begin at the next packet. */
        uint32_t bit = dir ? SB_NL_RESP : SB_NL_ORIG;
        if (d[n - 1] == '\n' || d[n - 1] == '\r')
            s->scratch |= bit;
        else
            s->scratch &= ~bit;
        return;
    }
    enter_layer(s, c.sw_mode);
    if (c.sw_at < n && depth < 3)
        run_layer(e, s, p, d + c.sw_at, n - c.sw_at, dir, depth + 1);
}

void
svc_inspect(svc_engine_t *e, svc_state_t *s, const svc_pkt_t *p)
{
    if (s->done || !p->payload)
        return;
    uint32_t n = p->caplen < p->len ? p->caplen : p->len;
    if (n == 0)
        return;
    int dir = p->is_orig ? 0 : 1;
    if (s->pkts[dir] < 255)
        s->pkts[dir]++;
    s->seen = sat_add16(s->seen, p->len);

    run_layer(e, s, p, p->payload, n, dir, 0);

    /* A confirmed FTP control channel is watched for its whole life: its
     * data channels are announced at any time (PORT, PASV, ...). */
    if (p->is_tcp && (s->cand & (1u << AT_FTP)) && svc_has_name(s, SVC_FTP))
        return;
    unsigned max = p->is_tcp ? SVC_MAX_PKTS_TCP : SVC_MAX_PKTS_UDP;
    if (s->cand == 0 || (s->pkts[0] >= max && s->pkts[1] >= max) ||
        s->pkts[0] + s->pkts[1] >= 2 * max + max / 2)
        s->done = 1;
}

void
svc_add_name(svc_state_t *s, const char *name)
{
    for (svc_id_t i = 1; i < SVC_NAME_COUNT; i++)
        if (strcmp(svc_names[i], name) == 0) {
            svc_confirm_name(s, i);
            return;
        }
}

void
svc_remove_name(svc_state_t *s, const char *name)
{
    for (svc_id_t i = 1; i < SVC_NAME_COUNT; i++)
        if (strcmp(svc_names[i], name) == 0) {
            remove_name(s, i);
            return;
        }
}

/* YAF silkAppLabel values are the well-known port of the protocol YAF's
 * application labeler recognised; IPFIX applicationId (IE 95) with the IANA
 * port classification engine carries the same numbers.  Only labels that
 * name a protocol Zeek logs in `service` are mapped. */
static const struct {
    uint16_t label;
    svc_id_t name;
} app_labels[] = {
    {21, SVC_FTP},        {22, SVC_SSH},       {25, SVC_SMTP},     {53, SVC_DNS},
    {67, SVC_DHCP},       {68, SVC_DHCP},      {80, SVC_HTTP},     {88, SVC_KRB},
    {110, SVC_POP3},      {123, SVC_NTP},      {135, SVC_DCE_RPC}, {137, SVC_DNS},
    {139, SVC_SMB},       {143, SVC_IMAP},     {161, SVC_SNMP},    {162, SVC_SNMP},
    {194, SVC_IRC},       {389, SVC_LDAP_TCP}, {443, SVC_SSL},     {445, SVC_SMB},
    {502, SVC_MODBUS},    {514, SVC_SYSLOG},   {587, SVC_SMTP},    {993, SVC_SSL},
    {995, SVC_SSL},       {1080, SVC_SOCKS},   {1883, SVC_MQTT},   {3306, SVC_MYSQL},
    {3389, SVC_RDP},      {5060, SVC_SIP},     {5222, SVC_XMPP},   {5353, SVC_DNS},
    {5432, SVC_POSTGRESQL}, {6379, SVC_REDIS}, {6667, SVC_IRC},    {20000, SVC_DNP3},
};

bool
svc_from_app_label(svc_state_t *s, uint16_t label)
{
    for (size_t i = 0; i < G_N_ELEMENTS(app_labels); i++)
        if (app_labels[i].label == label) {
            svc_confirm_name(s, app_labels[i].name);
            return true;
        }
    return false;
}

size_t
svc_format(const svc_state_t *s, char *buf, size_t len)
{
    size_t n = 0;
    if (len == 0)
        return 0;
    buf[0] = '\0';
    for (int i = 0; i < s->n_names; i++) {
        const char *name = svc_name(s->names[i]);
        if (!*name)
            continue;
        n += (size_t)g_snprintf(buf + n, len > n ? len - n : 0, "%s%s", n ? "," : "", name);
        if (n >= len) {
            buf[len - 1] = '\0';
            return len - 1;
        }
    }
    return n;
}

const char *
svc_name(svc_id_t id)
{
    return id < SVC_NAME_COUNT ? svc_names[id] : "";
}

/* --- byte helpers --- */

bool
svc_line_next(svc_lines_t *it, const uint8_t **l, uint32_t *len, bool *complete)
{
    if (it->pos >= it->n)
        return false;
    const uint8_t *start = it->d + it->pos;
    uint32_t rest = it->n - it->pos;
    const uint8_t *lf = memchr(start, '\n', rest);
    uint32_t ll;
    if (lf) {
        ll = (uint32_t)(lf - start);
        it->pos += ll + 1;
        *complete = true;
    } else {
        ll = rest;
        it->pos = it->n;
        *complete = false;
    }
    while (ll > 0 && start[ll - 1] == '\r')
        ll--;
    *l = start;
    *len = ll;
    return true;
}

bool
svc_ifind(const uint8_t *d, uint32_t n, const char *lit)
{
    size_t l = strlen(lit);
    if (l == 0 || n < l)
        return false;
    uint8_t first = svc_lower((uint8_t)lit[0]);
    for (uint32_t i = 0; i + l <= n; i++)
        if (svc_lower(d[i]) == first && svc_iprefix(d + i, n - i, lit))
            return true;
    return false;
}

/* How common a byte is in the text-heavy payloads we scan: searches key on
 * the rarest byte of the needle so that memchr skips most of the haystack. */
static int
byte_rank(uint8_t b)
{
    if (b >= 0x80 || b < 0x20)
        return 0;
    if (b >= 'A' && b <= 'Z')
        return 1;
    if ((b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == ' ')
        return 3;
    return 2;
}

long
svc_find(const uint8_t *d, uint32_t n, const void *lit, uint32_t litlen)
{
    if (litlen == 0 || n < litlen)
        return -1;
    const uint8_t *l = lit;
    uint32_t k = 0;
    for (uint32_t i = 1; i < litlen; i++)
        if (byte_rank(l[i]) < byte_rank(l[k]))
            k = i;
    const uint8_t *p = d + k, *end = d + n - litlen + k + 1;
    while (p < end) {
        p = memchr(p, l[k], (size_t)(end - p));
        if (!p)
            return -1;
        if (memcmp(p - k, l, litlen) == 0)
            return (long)(p - k - d);
        p++;
    }
    return -1;
}

bool
svc_ber(const uint8_t *d, uint32_t n, svc_ber_t *t)
{
    if (n < 2)
        return false;
    t->tag = d[0];
    if ((d[0] & 0x1f) == 0x1f)
        return false; /* multi-byte tags do not occur in what we parse */
    uint8_t l0 = d[1];
    if (l0 < 0x80) {
        t->len = l0;
        t->hdr = 2;
        return true;
    }
    unsigned k = l0 & 0x7f;
    if (k == 0 || k > 4 || n < 2 + k)
        return false;
    uint32_t len = 0;
    for (unsigned i = 0; i < k; i++)
        len = (len << 8) | d[2 + i];
    t->len = len;
    t->hdr = 2 + k;
    return true;
}
