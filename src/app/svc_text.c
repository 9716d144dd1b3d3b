/*
 * Line-oriented protocols: HTTP, FTP, SMTP, POP3, IMAP, IRC, XMPP, Redis
 * (RESP), and SIP and syslog over UDP.  Each function mirrors the point where
 * Zeek's analyzer calls AnalyzerConfirmation()/AnalyzerViolation() and, for
 * analyzers enabled by DPD, the patterns of the protocol's dpd.sig.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

#include "app/svc_int.h"

/* Zeek's util::skip_whitespace: blanks and tabs. */
static uint32_t
skip_ws(const uint8_t *l, uint32_t i, uint32_t n)
{
    while (i < n && (l[i] == ' ' || l[i] == '\t'))
        i++;
    return i;
}

/* [[:space:]] of the signature engine. */
static bool
is_space(uint8_t ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Bytes of this packet that lie inside the DPD window of its direction. */
static uint32_t
dpd_len(const svc_ctx_t *c)
{
    if (c->off >= SVC_DPD_WINDOW)
        return 0;
    return c->off + c->n > SVC_DPD_WINDOW ? SVC_DPD_WINDOW - c->off : c->n;
}

/* Next position in [from, limit) where a line starts: the stream start, or
 * right after a CR or LF.  -1 when there is none.  memchr keeps this cheap
 * on payloads without line breaks. */
static long
next_line_start(const svc_ctx_t *c, uint32_t from, uint32_t limit)
{
    if (from == 0) {
        if ((c->off == 0 || c->nl) && limit > 0)
            return 0;
        from = 1;
    }
    if (limit < 2 || from > limit - 1)
        return -1;
    const uint8_t *p = c->d + from - 1;
    size_t len = limit - from; /* the byte before each candidate start */
    const uint8_t *lf = memchr(p, '\n', len);
    const uint8_t *cr = memchr(p, '\r', lf ? (size_t)(lf - p) : len);
    const uint8_t *hit = cr ? cr : lf;
    return hit ? (long)(hit - c->d) + 1 : -1;
}

/* The line starts of this packet inside the DPD window, shared by the text
 * signatures of all candidate analyzers (one pair of memchr scans per
 * packet).  Returns how many are cached; *more tells whether the cache was
 * too small, in which case callers continue with next_line_start(). */
static unsigned
line_starts(svc_ctx_t *c, bool *more)
{
    if (c->ls_state == 0) {
        uint32_t n = dpd_len(c);
        unsigned k = 0;
        long i = next_line_start(c, 0, n);
        while (i >= 0 && k < sizeof(c->ls) / sizeof(c->ls[0])) {
            c->ls[k++] = (uint16_t)i;
            i = next_line_start(c, (uint32_t)i + 1, n);
        }
        c->nls = (uint8_t)k;
        c->ls_state = i >= 0 ? 2 : 1;
    }
    *more = c->ls_state == 2;
    return c->nls;
}

/* The `(|.*[\n\r])<blanks>word` shape of many client signatures: a line
 * whose first non-blank characters are one of @p words (case-insensitive),
 * inside the DPD window.  True when one matches. */
static bool
line_words_at(const svc_ctx_t *c, uint32_t i, uint32_t n, const char *const *words, int count,
              bool any_space)
{
    uint32_t j = i;
    while (j < n && (any_space ? is_space(c->d[j]) : c->d[j] == ' '))
        j++;
    for (int k = 0; k < count; k++)
        if (svc_iprefix(c->d + j, n - j, words[k]))
            return true;
    return false;
}

static bool
sig_line_words(svc_ctx_t *c, const char *const *words, int count, bool any_space)
{
    uint32_t n = dpd_len(c);
    bool more;
    unsigned k = line_starts(c, &more);
    for (unsigned x = 0; x < k; x++)
        if (line_words_at(c, c->ls[x], n, words, count, any_space))
            return true;
    if (more)
        for (long i = next_line_start(c, (uint32_t)c->ls[k - 1] + 1, n); i >= 0;
             i = next_line_start(c, (uint32_t)i + 1, n))
            if (line_words_at(c, (uint32_t)i, n, words, count, any_space))
                return true;
    return false;
}

/* ---------------------------------------------------------------- HTTP */

static const char *const http_methods[] = {
    "OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "ACL", "BASELINE-CONTROL", "BIND",
    "CHECKIN", "CHECKOUT", "CONNECT", "COPY", "LABEL", "LINK", "LOCK", "MERGE", "MKACTIVITY",
    "MKCALENDAR", "MKCOL", "MKREDIRECTREF", "MOVE", "ORDERPATCH", "PATCH", "PROPFIND",
    "PROPPATCH", "REBIND", "REPORT", "SEARCH", "TRACE", "UNBIND", "UNCHECKOUT", "UNLINK",
    "UNLOCK", "UPDATE", "VERSION-CONTROL", "BCOPY", "BDELETE", "BMOVE", "BPROPFIND",
    "BPROPPATCH", "NOTIFY", "POLL", "SUBSCRIBE", "UNSUBSCRIBE", "X-MS-ENUMATTS", "MKWORKSPACE",
    "RPC_IN_DATA", "RPC_OUT_DATA",
};

/* dpd_http_client: /^[[:space:]]*(METHOD...)/ on the originator's stream. */
static bool
http_client_sig(const uint8_t *d, uint32_t n)
{
    uint32_t i = 0;
    while (i < n && is_space(d[i]))
        i++;
    if (i >= n || d[i] < 'A' || d[i] > 'X')
        return false; /* every method starts with an upper-case letter */
    for (size_t k = 0; k < sizeof(http_methods) / sizeof(http_methods[0]); k++)
        if (http_methods[k][0] == d[i] && svc_prefix(d + i, n - i, http_methods[k]))
            return true;
    return false;
}

/* dpd_http_server: /^[hH][tT][tT][pP]\/[0-9]/. */
static bool
http_server_sig(const uint8_t *d, uint32_t n)
{
    return n > 5 && svc_iprefix(d, n, "HTTP/") && isdigit(d[5]);
}

/* HTTP.cc is_HTTP_token_char: printable ASCII minus separators. */
static const bool http_separator[128] = {
    [' '] = true, ['\t'] = true, ['('] = true, [')'] = true, ['<'] = true, ['>'] = true,
    ['@'] = true, [','] = true, [';'] = true, [':'] = true, ['\\'] = true, ['"'] = true,
    ['/'] = true, ['['] = true, [']'] = true, ['?'] = true, ['='] = true, ['{'] = true,
    ['}'] = true,
};

static bool
http_token_char(uint8_t ch)
{
    return ch > 31 && ch < 127 && !http_separator[ch];
}

/* HTTP_Analyzer::HTTP_RequestLine: true for a request line the analyzer
 * accepts.  Sets *connect for a CONNECT request. */
static bool
http_request_line(const uint8_t *l, uint32_t n, bool *connect, bool *v09)
{
    /* The method is a token directly followed by blanks. */
    const uint8_t *sp = memchr(l, ' ', n);
    const uint8_t *tab = memchr(l, '\t', sp ? (size_t)(sp - l) : n);
    if (tab)
        sp = tab;
    if (!sp || sp == l)
        return false;
    uint32_t m = (uint32_t)(sp - l);
    for (uint32_t i = 0; i < m; i++)
        if (!http_token_char(l[i]))
            return false;
    uint32_t rest = skip_ws(l, m, n);
    /* ParseRequest looks for "HTTP/" after blanks following the URI;
     * without it the request is HTTP/0.9, which needs a method of at least
     * three characters and a URI. */
    bool has_version = false;
    for (uint32_t i = rest + 1; i + 5 <= n; i++) {
        if ((l[i - 1] == ' ' || l[i - 1] == '\t') && svc_iprefix(l + i, n - i, "HTTP/")) {
            has_version = true;
            break;
        }
    }
    if (!has_version && (m < 3 || rest >= n))
        return false;
    *connect = m == 7 && svc_iprefix(l, n, "CONNECT");
    *v09 = !has_version;
    return true;
}

/* HTTP_Analyzer::HTTP_ReplyLine: "HTTP/x.y NNN ..."; *code gets NNN. */
static bool
http_reply_line(const uint8_t *l, uint32_t n, int *code)
{
    if (!svc_iprefix(l, n, "HTTP/"))
        return false;
    uint32_t i = 5;
    while (i < n && l[i] != ' ' && l[i] != '\t')
        i++;
    if (i >= n)
        return false;
    i = skip_ws(l, i, n);
    if (i + 3 > n)
        return false;
    *code = 0;
    for (int k = 0; k < 3; k++)
        *code = *code * 10 + (isdigit(l[i + k]) ? l[i + k] - '0' : 0);
    return true;
}

/* First non-empty line of the packet. */
static bool
first_line(const svc_ctx_t *c, const uint8_t **l, uint32_t *len, uint32_t *next)
{
    svc_lines_t it = {c->d, c->n, svc_line_resume(c)};
    bool complete;
    while (svc_line_next(&it, l, len, &complete)) {
        if (*len > 0) {
            *next = it.pos;
            return true;
        }
    }
    return false;
}

/* The blank line ending the reply headers: offset after it, or -1 when the
 * headers go on past this packet.  *ws is set by "Upgrade: websocket". */
static long
http_headers_end(const svc_ctx_t *c, uint32_t from, bool *ws)
{
    svc_lines_t it = {c->d, c->n, from};
    const uint8_t *l;
    uint32_t len;
    bool complete;
    while (svc_line_next(&it, &l, &len, &complete)) {
        if (!complete)
            return -1;
        if (len == 0)
            return (long)it.pos;
        if (svc_iprefix(l, len, "upgrade:") && svc_ifind(l, len, "websocket"))
            *ws = true;
    }
    return -1;
}

/* Owner states while waiting for the end of the reply headers. */
enum { HTTP_WAIT_CONNECT = 1, HTTP_WAIT_UPGRADE = 2 };

static void
http_reply(svc_ctx_t *c, const uint8_t *l, uint32_t len, uint32_t next)
{
    svc_state_t *s = c->s;
    int code = 0;
    if (!http_reply_line(l, len, &code)) {
        svc_violation(c); /* "not a http reply line" */
        return;
    }
    if (svc_has_name(s, SVC_HTTP)) {
        bool ws = false;
        if ((s->scratch & SB_HTTP_CONNECT) && code == 200) {
            /* CONNECT succeeded: a PIA analyzer takes the stream after the
             * reply headers (HTTP.cc, EXPECT_REPLY_MESSAGE). */
            long end = http_headers_end(c, next, &ws);
            if (end >= 0)
                svc_switch(c, SVC_MODE_TUNNEL, (uint32_t)end);
            else if (svc_own(c))
                s->st = HTTP_WAIT_CONNECT;
            return;
        }
        if (code == 101) {
            /* Upgrade: HTTP::upgrade_analyzers maps "websocket" to the
             * WebSocket analyzer, which takes the stream. */
            long end = http_headers_end(c, next, &ws);
            if (end >= 0 && ws) {
                svc_switch(c, SVC_MODE_WS, (uint32_t)end);
                return;
            }
            if (end < 0 && svc_own(c)) {
                s->st = HTTP_WAIT_UPGRADE;
                s->aux = ws;
                return;
            }
        }
    }
    if (s->scratch & SB_HTTP_REQ_SEEN)
        svc_drop(c); /* both first messages seen: nothing more to learn */
}

static void
http_request(svc_ctx_t *c, const uint8_t *l, uint32_t len)
{
    svc_state_t *s = c->s;
    bool connect = false, v09 = false;
    if (!http_request_line(l, len, &connect, &v09)) {
        svc_violation(c); /* "not a http request line" */
        return;
    }
    if (connect)
        s->scratch |= SB_HTTP_CONNECT;
    if (v09)
        s->scratch |= SB_HTTP_V09; /* EXPECT_REPLY_HTTP09: no status line to check */
    svc_confirm(c); /* HTTP_Request() */
    if ((s->scratch & SB_HTTP_REP_SEEN) && !svc_owns(c))
        svc_drop(c);
}

void
svc_http(svc_ctx_t *c)
{
    svc_state_t *s = c->s;
    if (svc_owns(c)) {
        /* Waiting for the blank line that ends a CONNECT/upgrade reply. */
        if (c->dir != 1)
            return;
        bool ws = s->aux != 0;
        long end = http_headers_end(c, 0, &ws);
        s->aux = ws;
        if (end < 0) {
            if (s->pkts[1] > 4)
                svc_drop(c);
            return;
        }
        if (s->st == HTTP_WAIT_CONNECT)
            svc_switch(c, SVC_MODE_TUNNEL, (uint32_t)end);
        else if (ws)
            svc_switch(c, SVC_MODE_WS, (uint32_t)end);
        else
            svc_drop(c);
        return;
    }
    if (c->off != 0)
        return; /* only the first message of each direction matters here */

    if (!svc_active(c)) {
        /* Either side's signature enables the analyzer on its own (Zeek
         * #1160); it then replays what it buffered of the other side.  A
         * side that did not match its signature is taken as not speaking
         * HTTP, which is what the replay would find in practice. */
        bool sig = c->dir == 0 ? http_client_sig(c->d, c->n) : http_server_sig(c->d, c->n);
        if (!sig) {
            if (s->scratch & (c->dir == 0 ? SB_HTTP_REP_SEEN : SB_HTTP_REQ_SEEN))
                svc_drop(c);
            else
                s->scratch |= c->dir == 0 ? SB_HTTP_REQ_SEEN : SB_HTTP_REP_SEEN;
            return;
        }
        svc_enable(c);
        uint32_t other = c->dir == 0 ? SB_HTTP_REP_SEEN : SB_HTTP_REQ_SEEN;
        if (s->scratch & other) {
            svc_violation(c); /* the buffered other side was not HTTP */
            return;
        }
    }

    const uint8_t *l = NULL;
    uint32_t len = 0, next = 0;
    if (!first_line(c, &l, &len, &next))
        return;
    if (c->dir == 0) {
        s->scratch |= SB_HTTP_REQ_SEEN;
        http_request(c, l, len);
    } else {
        s->scratch |= SB_HTTP_REP_SEEN;
        if (s->scratch & SB_HTTP_V09) {
            svc_drop(c); /* the whole reply is an HTTP/0.9 body */
            return;
        }
        http_reply(c, l, len, next);
    }
}

/* ---------------------------------------------------------------- FTP */

/* Zeek's parse_port(): "h1,h2,h3,h4,p1,p2", each 0-255 (sscanf "%d,..."). */
bool
svc_ftp_parse_port(const uint8_t *d, uint32_t n, uint8_t addr[16], uint16_t *port)
{
    unsigned v[6];
    uint32_t i = 0;
    for (int k = 0; k < 6; k++) {
        while (i < n && (d[i] == ' ' || d[i] == '\t'))
            i++;
        if (i < n && d[i] == '+')
            i++;
        if (i >= n || !isdigit(d[i]))
            return false;
        unsigned x = 0;
        while (i < n && isdigit(d[i])) {
            x = x * 10 + (d[i] - '0');
            if (x > 100000)
                return false;
            i++;
        }
        if (x > 255)
            return false;
        v[k] = x;
        if (k < 5) {
            if (i >= n || d[i] != ',')
                return false;
            i++;
        }
    }
    memset(addr, 0, 16);
    addr[10] = addr[11] = 0xff;
    for (int k = 0; k < 4; k++)
        addr[12 + k] = (uint8_t)v[k];
    *port = (uint16_t)((v[4] << 8) | v[5]);
    return true;
}

/* Zeek's parse_eftp(): "|proto|addr|port|" with any delimiter. */
bool
svc_ftp_parse_eport(const uint8_t *d, uint32_t n, uint8_t addr[16], bool *addr_set,
                    uint16_t *port)
{
    if (n < 4)
        return false;
    uint8_t delim = d[0];
    if (isdigit(delim) || delim == ' ')
        return false;
    uint32_t i = 1;
    unsigned proto = 0;
    while (i < n && isdigit(d[i]))
        proto = proto * 10 + (d[i++] - '0');
    if (i >= n || d[i] != delim)
        return false;
    i++;
    uint32_t a0 = i;
    while (i < n && d[i] != delim)
        i++;
    if (i >= n)
        return false;
    *addr_set = false;
    if (i > a0) {
        char buf[64];
        uint32_t al = i - a0;
        if (al >= sizeof(buf))
            return false;
        memcpy(buf, d + a0, al);
        buf[al] = '\0';
        uint8_t tmp[16];
        if (inet_pton(AF_INET, buf, tmp) == 1) {
            memset(addr, 0, 16);
            addr[10] = addr[11] = 0xff;
            memcpy(addr + 12, tmp, 4);
        } else if (inet_pton(AF_INET6, buf, tmp) == 1) {
            memcpy(addr, tmp, 16);
        } else {
            return false;
        }
        *addr_set = true;
    }
    (void)proto;
    i++;
    unsigned p = 0;
    uint32_t p0 = i;
    while (i < n && isdigit(d[i])) {
        p = p * 10 + (d[i++] - '0');
        if (p > 65535)
            return false;
    }
    if (i == p0 || i >= n || d[i] != delim)
        return false;
    *port = (uint16_t)p;
    return true;
}

/* Owner state: the last command, to pair 227/229 with PASV/EPSV. */
enum { FTP_CMD_OTHER = 0, FTP_CMD_PASV = 1, FTP_CMD_EPSV = 2 };

static void
ftp_request(svc_ctx_t *c, const uint8_t *l, uint32_t n)
{
    svc_state_t *s = c->s;
    uint32_t i = skip_ws(l, 0, n);
    uint32_t w0 = i;
    while (i < n && !isspace(l[i]))
        i++;
    uint32_t wl = i - w0;
    const uint8_t *cmd = l + w0;
    /* is_ftp_cmd: three or more printable characters, at most
     * FTP::max_command_length (100). */
    if (wl < 3 || wl > 100)
        return;
    for (uint32_t k = 0; k < wl; k++)
        if (!isprint(cmd[k]))
            return;
    svc_confirm(c);
    uint32_t a = skip_ws(l, i, n);
    const uint8_t *arg = l + a;
    uint32_t al = n - a;
    bool own = svc_owns(c) || svc_own(c);
    if (own)
        s->st = FTP_CMD_OTHER;
    uint8_t addr[16];
    uint16_t port;
    bool set;
    if (wl == 4 && svc_iprefix(cmd, wl, "PORT")) {
        if (svc_ftp_parse_port(arg, al, addr, &port))
            svc_expect(c->e, c->p->resp_h, addr, port, c->p->ts);
    } else if (wl == 4 && svc_iprefix(cmd, wl, "EPRT")) {
        if (svc_ftp_parse_eport(arg, al, addr, &set, &port) && set)
            svc_expect(c->e, c->p->resp_h, addr, port, c->p->ts);
    } else if (wl == 4 && svc_iprefix(cmd, wl, "AUTH")) {
        /* auth_requested == "TLS" (exact) arms the SSL child for a 234. */
        if (al == 3 && memcmp(arg, "TLS", 3) == 0)
            s->scratch |= SB_FTP_AUTH_TLS;
        else
            s->scratch &= ~SB_FTP_AUTH_TLS;
    } else if (own && wl == 4 && svc_iprefix(cmd, wl, "PASV")) {
        s->st = FTP_CMD_PASV;
    } else if (own && wl == 4 && svc_iprefix(cmd, wl, "EPSV")) {
        s->st = FTP_CMD_EPSV;
    }
}

/* One server line; returns false after a violation. */
static bool
ftp_reply(svc_ctx_t *c, const uint8_t *l, uint32_t n, uint32_t line_end)
{
    svc_state_t *s = c->s;
    bool own = svc_owns(c) || svc_own(c);
    uint32_t pending = own ? s->skip[1] : 0;
    int code = (n >= 3 && isdigit(l[0]) && isdigit(l[1]) && isdigit(l[2]))
                   ? (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0')
                   : 0;
    uint32_t msg = 3;
    if (pending) {
        if (code == (int)pending && n > 3 && l[3] == ' ') {
            if (own)
                s->skip[1] = 0;
        } else {
            return true; /* a line of a multi-line reply */
        }
    } else if (code == 0 || code < 100) {
        svc_violation(c); /* "non-numeric reply code" / "invalid reply code" */
        return false;
    } else if (n > 3 && l[3] == '-') {
        if (own)
            s->skip[1] = (uint32_t)code;
        return true;
    } else if (n > 3 && l[3] != ' ') {
        svc_violation(c); /* "invalid reply line" */
        return false;
    }
    msg = skip_ws(l, msg < n ? msg : n, n);
    if (code == 234 && (s->scratch & SB_FTP_AUTH_TLS)) {
        svc_switch(c, SVC_MODE_TLS, line_end);
        return false;
    }
    if ((code == 227 || code == 229) && own &&
        (s->st == FTP_CMD_PASV || s->st == FTP_CMD_EPSV) && svc_has_name(s, SVC_FTP)) {
        uint8_t addr[16];
        uint16_t port;
        bool set = false, ok;
        const uint8_t *m = l + msg;
        uint32_t ml = n - msg;
        if (code == 227) {
            /* parse_ftp_pasv: after '(', else after "PORT", else from the
             * digits before the first comma. */
            long p = svc_find(m, ml, "(", 1);
            uint32_t from = 0;
            if (p >= 0) {
                from = (uint32_t)p + 1;
            } else if ((p = svc_find(m, ml, "PORT", 4)) >= 0) {
                from = (uint32_t)p + 5;
            } else if ((p = svc_find(m, ml, ",", 1)) >= 0) {
                from = (uint32_t)p;
                while (from > 0 && isdigit(m[from - 1]))
                    from--;
            }
            ok = from <= ml && svc_ftp_parse_port(m + from, ml - from, addr, &port);
            set = true;
        } else {
            long p = svc_find(m, ml, "(", 1);
            ok = p >= 0 && svc_ftp_parse_eport(m + p + 1, ml - (uint32_t)p - 1, addr, &set, &port);
        }
        if (ok)
            svc_expect(c->e, c->p->orig_h, set ? addr : c->p->resp_h, port, c->p->ts);
    }
    return true;
}

/* dpd_ftp_server: /[\n\r ]*(120|220)[^0-9].*[\n\r] *(230|331)[^0-9]/. */
static bool
ftp_server_sig(svc_ctx_t *c)
{
    svc_state_t *s = c->s;
    uint32_t n = dpd_len(c);
    uint32_t from = 0;
    if (c->off == 0) {
        uint32_t i = 0;
        while (i < n && (c->d[i] == '\n' || c->d[i] == '\r' || c->d[i] == ' '))
            i++;
        if (i + 4 <= n && (svc_prefix(c->d + i, n - i, "120") || svc_prefix(c->d + i, n - i, "220")) &&
            !isdigit(c->d[i + 3])) {
            s->scratch |= SB_FTP_SRV_GREET;
            from = i + 4;
        }
    }
    if (!(s->scratch & SB_FTP_SRV_GREET))
        return false;
    for (long i = next_line_start(c, from, n); i >= 0;
         i = next_line_start(c, (uint32_t)i + 1, n)) {
        uint32_t j = (uint32_t)i;
        while (j < n && c->d[j] == ' ')
            j++;
        if (j + 4 <= n && (svc_prefix(c->d + j, n - j, "230") || svc_prefix(c->d + j, n - j, "331")) &&
            !isdigit(c->d[j + 3]))
            return true;
    }
    return false;
}

void
svc_ftp(svc_ctx_t *c)
{
    if (!svc_active(c)) {
        static const char *const user[] = {"USER "};
        bool m = c->dir == 0 ? sig_line_words(c, user, 1, false) : ftp_server_sig(c);
        if (m && svc_sig_side(c, c->dir)) {
            svc_confirm(c); /* the buffered USER line is a valid command */
            return;
        }
        if (c->off + c->n >= SVC_DPD_WINDOW ||
            (c->dir == 1 && c->off == 0 && !(c->s->scratch & SB_FTP_SRV_GREET)))
            svc_drop(c);
        return;
    }
    svc_lines_t it = {c->d, c->n, svc_line_resume(c)};
    const uint8_t *l;
    uint32_t len;
    bool complete;
    while (svc_line_next(&it, &l, &len, &complete)) {
        if (len == 0)
            continue;
        if (c->dir == 0)
            ftp_request(c, l, len);
        else if (!ftp_reply(c, l, len, it.pos))
            return;
    }
}

/* ---------------------------------------------------------------- SMTP */

static const char *const smtp_cmds[] = {
    "EHLO", "HELO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "SEND", "SOML", "SAML", "VRFY",
    "EXPN", "HELP", "NOOP", "QUIT", "TURN", "STARTTLS", "AUTH", "X-ANONYMOUSTLS", "ETRN",
    "ATRN",
};

void
svc_smtp(svc_ctx_t *c)
{
    svc_state_t *s = c->s;
    if (!svc_active(c)) {
        bool m;
        if (c->dir == 1) {
            uint32_t i = 0;
            while (i < c->n && is_space(c->d[i]))
                i++;
            m = c->off == 0 && i + 4 <= c->n && svc_prefix(c->d + i, c->n - i, "220") &&
                (is_space(c->d[i + 3]) || c->d[i + 3] == '-');
            if (c->off == 0 && !m) {
                svc_drop(c);
                return;
            }
        } else {
            static const char *const helo[] = {"HELO", "EHLO"};
            m = sig_line_words(c, helo, 2, true);
        }
        if (!(m && svc_sig_side(c, c->dir))) {
            if (c->off + c->n >= SVC_DPD_WINDOW)
                svc_drop(c);
            return;
        }
        if (c->dir == 1) {
            svc_confirm(c); /* the buffered HELO/EHLO, replayed */
            return;
        }
    }
    svc_lines_t it = {c->d, c->n, svc_line_resume(c)};
    const uint8_t *l;
    uint32_t len;
    bool complete;
    while (svc_line_next(&it, &l, &len, &complete)) {
        if (c->dir == 1) {
            int code = (len >= 3 && isdigit(l[0]) && isdigit(l[1]) && isdigit(l[2]))
                           ? (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0')
                           : -1;
            if (code < 100 || code > 599) {
                svc_violation(c); /* "reply code out of range" */
                return;
            }
            bool last = !(len > 3 && l[3] == '-');
            if (!last)
                continue;
            if ((s->scratch & SB_SMTP_STARTTLS) && code == 220) {
                svc_switch(c, SVC_MODE_TLS, it.pos);
                return;
            }
            s->scratch &= ~SB_SMTP_STARTTLS;
            if ((s->scratch & SB_SMTP_AUTH) && code != 334)
                s->scratch &= ~SB_SMTP_AUTH;
            continue;
        }
        /* client */
        if (s->scratch & SB_SMTP_IN_DATA) {
            if (len == 1 && l[0] == '.')
                s->scratch &= ~SB_SMTP_IN_DATA;
            continue;
        }
        if (s->scratch & SB_SMTP_AUTH) {
            svc_confirm(c); /* an AUTH answer is a request too */
            continue;
        }
        uint32_t w = 0;
        while (w < len && !isspace(l[w]))
            w++;
        for (size_t k = 0; k < sizeof(smtp_cmds) / sizeof(smtp_cmds[0]); k++) {
            if (strlen(smtp_cmds[k]) != w || !svc_iprefix(l, w, smtp_cmds[k]))
                continue;
            svc_confirm(c); /* RequestEvent() */
            if (k == 16)
                s->scratch |= SB_SMTP_STARTTLS;
            else if (k == 4)
                s->scratch |= SB_SMTP_IN_DATA; /* BeginData() on the command itself */
            else if (k == 17)
                s->scratch |= SB_SMTP_AUTH;
            break;
        }
    }
}

/* ---------------------------------------------------------------- POP3 */

static const char *const pop3_words[] = {
    "OK",   "ERR",  "USER", "PASS", "APOP", "AUTH", "STAT", "LIST", "RETR",    "DELE",
    "RSET", "NOOP", "LAST", "QUIT", "TOP",  "CAPA", "UIDL", "STLS", "XSENDER",
};
enum {
    P3_OK, P3_ERR, P3_USER, P3_PASS, P3_APOP, P3_AUTH, P3_STAT, P3_LIST, P3_RETR, P3_DELE,
    P3_RSET, P3_NOOP, P3_LAST, P3_QUIT, P3_TOP, P3_CAPA, P3_UIDL, P3_STLS, P3_XSENDER,
    P3_NONE = 31
};

/* POP3_Analyzer::ParseCmd on the first token of a trimmed line. */
static int
pop3_cmd(const uint8_t *l, uint32_t n, bool *has_arg)
{
    uint32_t i = 0;
    while (i < n && isspace(l[i]))
        i++;
    if (i < n && (l[i] == '+' || l[i] == '-'))
        i++;
    uint32_t w0 = i;
    while (i < n && l[i] != ' ')
        i++;
    uint32_t wl = i - w0;
    while (i < n && l[i] == ' ')
        i++;
    *has_arg = i < n;
    for (int k = 0; k < (int)(sizeof(pop3_words) / sizeof(pop3_words[0])); k++)
        if (strlen(pop3_words[k]) == wl && svc_iprefix(l + w0, wl, pop3_words[k]))
            return k;
    return -1;
}

/* Owner state: st = pending command (P3_*), aux bit 0 = AUTHORIZATION
 * state reached, bit 1 = inside a multi-line reply, bit 2 = waiting for
 * authentication lines. */
void
svc_pop3(svc_ctx_t *c)
{
    svc_state_t *s = c->s;
    if (!svc_active(c)) {
        bool m;
        if (c->dir == 1) {
            m = c->off == 0 && svc_prefix(c->d, c->n, "+OK");
            if (c->off == 0 && !m) {
                svc_drop(c);
                return;
            }
        } else {
            /* USER and APOP need a following blank; the others do not. */
            static const char *const cmds[] = {"USER ", "USER\t", "APOP ", "APOP\t",
                                               "CAPA",  "AUTH",   "STLS"};
            m = sig_line_words(c, cmds, 7, true);
        }
        if (!(m && svc_sig_side(c, c->dir))) {
            if (c->off + c->n >= SVC_DPD_WINDOW)
                svc_drop(c);
            return;
        }
        if (!svc_own(c)) {
            svc_drop(c);
            return;
        }
        s->st = P3_NONE;
        s->aux = 1; /* the +OK greeting (server signature) was seen */
        if (c->dir == 1)
            return;
    } else if (!svc_owns(c)) {
        if (!svc_own(c)) {
            svc_drop(c);
            return;
        }
        s->st = P3_NONE;
    }
    svc_lines_t it = {c->d, c->n, svc_line_resume(c)};
    const uint8_t *l;
    uint32_t len;
    bool complete, arg;
    while (svc_line_next(&it, &l, &len, &complete)) {
        if (c->dir == 0) {
            if (len == 0 || (s->aux & 4))
                continue;
            int k = pop3_cmd(l, len, &arg);
            if (k < 0 || s->st != P3_NONE)
                continue; /* unknown, or queued behind a pending command */
            if (k == P3_USER && !(s->aux & 1))
                k = P3_NOOP; /* USER outside AUTHORIZATION: "not allowed" */
            s->st = (uint8_t)k;
            if (k == P3_AUTH && arg)
                s->aux |= 4;
            if (((k == P3_LIST || k == P3_UIDL || k == P3_AUTH) && !arg) || k == P3_RETR ||
                k == P3_TOP || k == P3_CAPA)
                s->aux |= 8; /* requestForMultiLine */
            continue;
        }
        if (s->aux & 2) {
            if (len == 1 && l[0] == '.') {
                s->aux &= ~(2 | 8);
                s->st = P3_NONE;
            }
            continue;
        }
        int k = pop3_cmd(l, len, &arg);
        if (k < 0) {
            if (!(s->aux & 4)) {
                svc_violation(c); /* "unknown server command" */
                return;
            }
            continue;
        }
        if (k == P3_OK) {
            switch (s->st) {
            case P3_NONE:
                s->aux |= 1; /* greeting: AUTHORIZATION */
                break;
            case P3_USER:
                svc_confirm(c);
                break;
            case P3_CAPA:
                svc_confirm(c);
                break;
            case P3_STLS:
                svc_confirm(c);
                svc_switch(c, SVC_MODE_TLS, it.pos);
                return;
            case P3_AUTH:
                s->aux &= ~4;
                break;
            default:
                break;
            }
            if (s->aux & 8)
                s->aux = (uint8_t)((s->aux | 2) & ~8);
            else
                s->st = P3_NONE;
        } else if (k == P3_ERR) {
            s->aux &= ~(2 | 4 | 8);
            s->st = P3_NONE;
        }
    }
}

/* ---------------------------------------------------------------- IMAP */

/* binpac TAG: [[:alnum:][:punct:]]+ */
static uint32_t
imap_tag(const uint8_t *l, uint32_t i, uint32_t n)
{
    while (i < n && (isalnum(l[i]) || ispunct(l[i])))
        i++;
    return i;
}

static uint32_t
fnv(const uint8_t *d, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ d[i]) * 16777619u;
    return h | 1u;
}

void
svc_imap(svc_ctx_t *c)
{
    svc_state_t *s = c->s;
    svc_lines_t it = {c->d, c->n, svc_line_resume(c)};
    const uint8_t *l;
    uint32_t len;
    bool complete;
    while (svc_line_next(&it, &l, &len, &complete)) {
        if (len == 0)
            continue;
        /* ImapToken: tag, blanks, command, ... */
        uint32_t t1 = imap_tag(l, 0, len);
        uint32_t sp = t1;
        while (sp < len && l[sp] == ' ')
            sp++;
        uint32_t t2 = imap_tag(l, sp, len);
        if (t1 == 0 || sp == t1 || t2 == sp) {
            if (!complete)
                return; /* the rest of the line is in the next segment */
            svc_violation(c); /* binpac parse error */
            return;
        }
        const uint8_t *tag = l, *cmd = l + sp;
        uint32_t tl = t1, cl = t2 - sp;
        if (c->dir == 1 && tl == 1 && tag[0] == '*' && cl == 2 && svc_iprefix(cmd, cl, "ok"))
            svc_confirm(c);
        if (c->dir == 0 && ((cl == 10 && memcmp(cmd, "capability", 10) == 0) ||
                            (cl == 8 && svc_iprefix(cmd, cl, "starttls"))))
            svc_confirm(c);
        static const char *const skip_cmds[] = {"authenticate", "login", "examine",
                                                "create",       "list",  "fetch"};
        for (size_t k = 0; k < sizeof(skip_cmds) / sizeof(skip_cmds[0]); k++) {
            if (cl == strlen(skip_cmds[k]) && memcmp(cmd, skip_cmds[k], cl) == 0) {
                /* Past the point where STARTTLS could come: SetSkip(). */
                svc_confirm(c);
                svc_drop(c);
                return;
            }
        }
        if (c->dir == 0 && cl == 8 && svc_iprefix(cmd, cl, "starttls") && svc_own(c)) {
            s->skip[0] = fnv(tag, tl);
            s->st = 1;
        }
        if (c->dir == 1 && svc_owns(c) && s->st == 1 && s->skip[0] == fnv(tag, tl)) {
            if (cl == 2 && svc_iprefix(cmd, cl, "ok")) {
                svc_switch(c, SVC_MODE_TLS, it.pos);
                return;
            }
            s->st = 0;
        }
    }
}

/* ---------------------------------------------------------------- IRC */

/* IRC_Analyzer::DeliverStream: lines longer than 512 or shorter than 3
 * characters, and a ":prefix" without a blank, are skipped (weirds only). */
enum { IRC_SKIP = -2, IRC_VIOLATION = -1 };

/* Classify one line: IRC_SKIP, IRC_VIOLATION ("line too short" after the
 * prefix, "invalid reply number"), the numeric reply code, or 0 for a
 * command.  *confirm is set when an originator line reaches the point where
 * the analyzer confirms. */
static int
irc_line(const uint8_t *l, uint32_t n, bool *confirm)
{
    *confirm = false;
    if (n > 512)
        return IRC_SKIP;
    uint32_t i = 0;
    while (i < n && l[i] == ' ')
        i++;
    if (n - i < 3)
        return IRC_SKIP;
    if (l[i] == ':') {
        while (i < n && l[i] != ' ')
            i++;
        if (i >= n)
            return IRC_SKIP;
        while (i < n && l[i] == ' ')
            i++;
    }
    *confirm = true;
    if (n - i < 3)
        return IRC_VIOLATION;
    if (isdigit(l[i])) {
        if (i + 3 < n && isdigit(l[i + 1]) && isdigit(l[i + 2]) && l[i + 3] == ' ')
            return (l[i] - '0') * 100 + (l[i + 1] - '0') * 10 + (l[i + 2] - '0');
        return IRC_VIOLATION;
    }
    return 0;
}

/* irc_client1/2: a USER line followed by a NICK line, or the reverse. */
static bool
irc_client_sig(svc_ctx_t *c)
{
    static const char *const user[] = {"USER "}, *const nick[] = {"NICK "};
    uint32_t n = dpd_len(c);
    bool more, u = false, k = false;
    unsigned cnt = line_starts(c, &more);
    for (unsigned x = 0; x < cnt && !(u && k); x++) {
        u = u || line_words_at(c, c->ls[x], n, user, 1, false);
        k = k || line_words_at(c, c->ls[x], n, nick, 1, false);
    }
    return u && k;
}

/* irc_server_reply: /^(|.*[\n\r])(:[^ \n\r]+ )?[0-9][0-9][0-9] / */
static bool
irc_server_sig(const svc_ctx_t *c)
{
    uint32_t n = dpd_len(c);
    for (long i = next_line_start(c, 0, n); i >= 0; i = next_line_start(c, (uint32_t)i + 1, n)) {
        uint32_t j = (uint32_t)i;
        if (j < n && c->d[j] == ':') {
            j++;
            uint32_t p0 = j;
            while (j < n && c->d[j] != ' ' && c->d[j] != '\n' && c->d[j] != '\r')
                j++;
            if (j == p0 || j >= n || c->d[j] != ' ')
                continue;
            j++;
        }
        if (j + 4 <= n && isdigit(c->d[j]) && isdigit(c->d[j + 1]) && isdigit(c->d[j + 2]) &&
            c->d[j + 3] == ' ')
            return true;
    }
    return false;
}

void
svc_irc(svc_ctx_t *c)
{
    svc_state_t *s = c->s;
    if (!svc_active(c)) {
        bool m = c->dir == 0 ? irc_client_sig(c) : irc_server_sig(c);
        if (m && c->dir == 0)
            s->scratch |= SB_IRC_ORIG;
        if (!(m && svc_sig_side(c, c->dir))) {
            if (c->off + c->n >= SVC_DPD_WINDOW)
                svc_drop(c);
            return;
        }
        if (s->scratch & SB_IRC_ORIG)
            svc_confirm(c); /* the buffered USER/NICK lines */
    }
    svc_lines_t it = {c->d, c->n, svc_line_resume(c)};
    const uint8_t *l;
    uint32_t len;
    bool complete, confirm;
    while (svc_line_next(&it, &l, &len, &complete)) {
        int code = irc_line(l, len, &confirm);
        if (confirm && c->dir == 0)
            svc_confirm(c);
        if (code == IRC_VIOLATION) {
            svc_violation(c);
            return;
        }
        if (code == 670 && svc_has_name(s, SVC_IRC)) {
            /* RPL_STARTTLS: the SSL child takes the stream. */
            svc_switch(c, SVC_MODE_TLS, it.pos);
            return;
        }
    }
}

/* ---------------------------------------------------------------- XMPP */

/* dpd_xmpp: /^(<\?xml[^?>]*\?>)?[\n\r ]*<stream:stream [^>]*xmlns='jabber:/ */
static bool
xmpp_sig(const uint8_t *d, uint32_t n)
{
    uint32_t i = 0;
    if (svc_prefix(d, n, "<?xml")) {
        i = 5;
        while (i < n && d[i] != '?' && d[i] != '>')
            i++;
        if (i + 1 >= n || d[i] != '?' || d[i + 1] != '>')
            return false;
        i += 2;
    }
    while (i < n && (d[i] == '\n' || d[i] == '\r' || d[i] == ' '))
        i++;
    if (!svc_prefix(d + i, n - i, "<stream:stream "))
        return false;
    i += 15;
    for (; i < n && d[i] != '>'; i++)
        if (svc_prefix(d + i, n - i, "xmlns='jabber:"))
            return true;
    return false;
}

/* An XML element named @p name ("<name" then a blank, '>' or '/'). */
static bool
xml_elem(const uint8_t *d, uint32_t n, const char *name)
{
    size_t l = strlen(name);
    const uint8_t *p = d, *e = d + n;
    while ((size_t)(e - p) > l + 1) {
        p = memchr(p, '<', (size_t)(e - p) - l - 1);
        if (!p)
            return false;
        if (memcmp(p + 1, name, l) == 0) {
            uint8_t t = p[1 + l];
            if (t == ' ' || t == '>' || t == '/' || t == '\t' || t == '\n' || t == '\r')
                return true;
        }
        p++;
    }
    return false;
}

void
svc_xmpp(svc_ctx_t *c)
{
    svc_state_t *s = c->s;
    if (!svc_active(c)) {
        if (c->off != 0)
            return;
        /* A stream opens with '<' (after optional blanks); anything else
         * is neither the signature nor an XMPP client. */
        uint32_t b = 0;
        while (b < c->n && (c->d[b] == ' ' || c->d[b] == '\r' || c->d[b] == '\n'))
            b++;
        if (b >= c->n || c->d[b] != '<') {
            if (s->pkts[0] && s->pkts[1])
                svc_drop(c);
            return;
        }
        if (c->dir == 0 && xml_elem(c->d, c->n, "stream:stream"))
            s->scratch |= SB_XMPP_ORIG;
        if (!xmpp_sig(c->d, c->n)) {
            if (s->pkts[0] && s->pkts[1])
                svc_drop(c);
            return;
        }
        svc_enable(c);
        if (s->scratch & SB_XMPP_ORIG)
            svc_confirm(c);
    }
    if (c->dir == 0) {
        if (xml_elem(c->d, c->n, "stream:stream"))
            svc_confirm(c); /* is_orig && token == "stream:stream" */
        if (xml_elem(c->d, c->n, "starttls"))
            s->scratch |= SB_XMPP_STARTTLS;
    } else if ((s->scratch & SB_XMPP_STARTTLS) && xml_elem(c->d, c->n, "proceed")) {
        svc_switch(c, SVC_MODE_TLS, c->n);
    }
}

/* ---------------------------------------------------------------- Redis */

/* The RESP2/RESP3 type bytes resp.spicy knows. */
static bool
resp_type(uint8_t ty)
{
    switch (ty) {
    case '+': case '-': case ':': case '$': case '*': case '_': case '#': case ',':
    case '(': case '!': case '=': case '%': case '~': case '>':
        return true;
    default:
        return false;
    }
}

/* One RESP value at d[*pos]: 1 complete, 0 cut off, -1 malformed. */
static int
resp_value(const uint8_t *d, uint32_t n, uint32_t *pos, int depth)
{
    if (*pos >= n)
        return 0;
    if (depth > 8)
        return -1;
    uint8_t ty = d[*pos];
    uint32_t i = *pos + 1;
    const uint8_t *cr = i < n ? memchr(d + i, '\r', n - i) : NULL;
    if (!resp_type(ty))
        return -1;
    if (!cr)
        return 0;
    uint32_t le = (uint32_t)(cr - d);
    if (le + 1 >= n)
        return 0;
    if (d[le + 1] != '\n')
        return -1;
    uint32_t after = le + 2;
    long num = 0;
    bool neg = false;
    if (ty != '+' && ty != '-' && ty != '_' && ty != '#' && ty != ',' && ty != '(') {
        uint32_t k = i;
        if (k < le && (d[k] == '-' || d[k] == '+'))
            neg = d[k++] == '-';
        if (k == le)
            return -1;
        for (; k < le; k++) {
            if (!isdigit(d[k]))
                return -1;
            if (num < 100000000)
                num = num * 10 + (d[k] - '0');
        }
        if (neg)
            num = -num;
    }
    switch (ty) {
    case '$':
    case '!':
    case '=':
        if (num < 0) {
            *pos = after;
            return 1;
        }
        if (num > 1024 * 1024)
            return -1;
        if ((uint64_t)after + (uint64_t)num + 2 > n)
            return 0;
        *pos = after + (uint32_t)num + 2;
        return 1;
    case '*':
    case '~':
    case '>':
    case '%': {
        *pos = after;
        long count = num < 0 ? 0 : (ty == '%' ? num * 2 : num);
        if (count > 1024 * 1024)
            return -1;
        for (long k = 0; k < count; k++) {
            int r = resp_value(d, n, pos, depth + 1);
            if (r <= 0)
                return r;
        }
        return 1;
    }
    default:
        *pos = after;
        return 1;
    }
}

/* resp-serialized-server: /^([-+_,].*\r\n|[:$*#(!=%`~>][+-]?[0-9]+(\.[0-9]*)?\r\n)/ */
static bool
redis_server_sig(const uint8_t *d, uint32_t n)
{
    if (n < 3)
        return false;
    const uint8_t *cr = memchr(d, '\r', n);
    if (!cr || (uint32_t)(cr - d) + 1 >= n || cr[1] != '\n')
        return false;
    uint32_t le = (uint32_t)(cr - d);
    if (d[0] == '-' || d[0] == '+' || d[0] == '_' || d[0] == ',')
        return true;
    if (!(resp_type(d[0]) || d[0] == '`'))
        return false;
    uint32_t i = 1;
    if (i < le && (d[i] == '+' || d[i] == '-'))
        i++;
    uint32_t d0 = i;
    while (i < le && isdigit(d[i]))
        i++;
    if (i == d0)
        return false;
    if (i < le && d[i] == '.') {
        i++;
        while (i < le && isdigit(d[i]))
            i++;
    }
    return i == le;
}

void
svc_redis(svc_ctx_t *c)
{
    svc_state_t *s = c->s;
    if (!svc_active(c)) {
        if (c->off != 0)
            return;
        if (c->dir == 0)
            return; /* resp-client needs the server signature, which enables alone */
        if (!redis_server_sig(c->d, c->n)) {
            svc_drop(c);
            return;
        }
        svc_enable(c);
    }
    if (c->dir == 0)
        return; /* only ServerData confirms (resp.spicy) */
    if (c->off != 0 && !(s->scratch & SB_REDIS_SYNC)) {
        /* We lost the value boundaries (a value spans segments): a later
         * error could not be told from our own misalignment. */
        svc_drop(c);
        return;
    }
    uint32_t pos = 0;
    s->scratch &= ~SB_REDIS_SYNC;
    while (pos < c->n) {
        int r = resp_value(c->d, c->n, &pos, 0);
        if (r < 0) {
            svc_violation(c); /* "error while parsing RESP server data" */
            return;
        }
        if (r == 0)
            return;
        svc_confirm(c); /* ServerData::%done */
    }
    s->scratch |= SB_REDIS_SYNC;
}

/* ---------------------------------------------------------------- SIP / syslog (UDP) */

/* SIP_ReplyLine: "SIP/d.d NNN reason". */
static bool
sip_reply_line(const uint8_t *d, uint32_t n)
{
    return n >= 12 && svc_prefix(d, n, "SIP/") && isdigit(d[4]) && d[5] == '.' &&
           isdigit(d[6]) && d[7] == ' ' && isdigit(d[8]) && isdigit(d[9]) && isdigit(d[10]) &&
           d[11] == ' ' && memchr(d, '\n', n) != NULL;
}

void
svc_sip_udp(svc_ctx_t *c)
{
    /* dpd_sip: /^( SIP\/[0-9]\.[0-9]\x0d\x0a|SIP\/[0-9]\.[0-9] [0-9][0-9][0-9] )/ */
    bool reply = sip_reply_line(c->d, c->n);
    if (!svc_active(c)) {
        bool sig = reply || (c->n >= 10 && svc_prefix(c->d, c->n, " SIP/") && isdigit(c->d[5]) &&
                             c->d[6] == '.' && isdigit(c->d[7]) && c->d[8] == '\r' &&
                             c->d[9] == '\n');
        if (!sig) {
            if (c->s->seen > SVC_DPD_WINDOW)
                svc_drop(c); /* PIA_UDP matches only the first 1 KiB */
            return;
        }
        svc_enable(c);
    }
    /* proc_sip_reply() confirms; requests (from the originator) do not. */
    if (c->dir == 1 && reply) {
        svc_confirm(c);
        svc_drop(c);
    }
}

void
svc_syslog_udp(svc_ctx_t *c)
{
    /* Syslog_Message: "<PRI>" then the message. */
    if (c->n >= 3 && c->d[0] == '<') {
        uint32_t i = 1;
        while (i < c->n && i <= 4 && isdigit(c->d[i]))
            i++;
        if (i > 1 && i < c->n && c->d[i] == '>') {
            svc_confirm(c);
            svc_drop(c);
            return;
        }
    }
}
