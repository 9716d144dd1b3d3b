/*
 * The conn.log writer.  It reproduces Zeek's ASCII writer byte for byte:
 * the TSV header and #close trailer, fixed six-decimal times, "-" for unset
 * and "(empty)" for empty values, and Zeek's \xNN string escaping (spec
 * section 7); or, in JSON mode, one object per line shaped like Zeek's JSON
 * formatter.  Rows are formatted into one reused GString, so the per-row
 * path does not allocate once the buffer has grown to the widest row.
 */
#include "config.h"

#include "output/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/netset.h"

G_DEFINE_QUARK(connlogd-writer-error-quark, writer_error)

#define WRITER_IOBUF_SIZE (256 * 1024)
#define WRITER_FILE_NAME "conn.log"

struct writer {
    FILE *fp;
    bool owned;        /* opened by writer_open(): closed by writer_close() */
    log_format_t fmt;
    char *path;        /* "" for borrowed streams */
    char *dir;         /* log directory of owned files, NULL for streams */
    time_t opened;     /* the time written as #open (rotation names use it) */
    uint64_t rotations;
    char *iobuf;       /* setvbuf() buffer of owned files */
    GString *line;     /* row buffer, reused for every row */
    uint64_t rows;
    uint64_t errors;
};

static time_t (*writer_clock)(void);

void
writer_set_clock(time_t (*now)(void))
{
    writer_clock = now;
}

/* ---- number rendering */

/* Append @p v in decimal. */
static void
append_u64(GString *out, uint64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof(tmp);

    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    g_string_append_len(out, p, tmp + sizeof(tmp) - p);
}

/* Zeek renders time and interval with modp_dtoa(d, buf, 6) (threading/
 * Formatter.cc Render(double)).  That is not printf("%.6f"): the fraction is
 * (d - whole) * 1e6 truncated, then rounded by hand (ties round up when the
 * truncated value is odd or zero), and magnitudes above 2^31-1 switch to
 * printf("%e").  We follow it step by step so the last digit agrees. */
static void
append_zeek_time(GString *out, double value)
{
    if (isnan(value)) {
        g_string_append(out, "nan");
        return;
    }

    bool neg = value < 0;
    double v = neg ? -value : value;

    if (v > 2147483647.0) {
        char tmp[64];
        int n = snprintf(tmp, sizeof(tmp), "%e", value);
        g_string_append_len(out, tmp, n > 0 ? MIN(n, (int)sizeof(tmp) - 1) : 0);
        return;
    }

    int64_t whole = (int64_t)v;
    double tmp = (v - (double)whole) * 1e6;
    uint32_t frac = (uint32_t)tmp;
    double diff = tmp - frac;

    if (diff > 0.5) {
        ++frac;
        if (frac >= 1000000) {
            frac = 0;
            ++whole;
        }
    } else if (diff == 0.5 && (frac == 0 || (frac & 1))) {
        /* modp's tie rule, including its missing carry: 999999.5 gives a
         * seven-digit fraction in Zeek, and so it does here. */
        ++frac;
    }

    if (neg)
        g_string_append_c(out, '-');
    append_u64(out, (uint64_t)whole);
    g_string_append_c(out, '.');

    char digits[12];
    int nd = 0;
    do {
        digits[nd++] = (char)('0' + frac % 10);
        frac /= 10;
    } while (frac != 0);
    for (int i = nd; i < 6; i++)
        g_string_append_c(out, '0');
    while (nd > 0)
        g_string_append_c(out, digits[--nd]);
}

/* Render @p v with @p prec significant digits ("%.*e") into @p buf and say
 * whether that reads back as exactly @p v. */
static bool
render_roundtrips(double v, int prec, char *buf, size_t len)
{
    snprintf(buf, len, "%.*e", prec - 1, v);
    return strtod(buf, NULL) == v;
}

/* Shortest decimal digits that read back as @p v (v > 0, finite): fills
 * @p digits (no dot, no exponent, NUL-terminated) and returns their count;
 * the value is digits * 10^*k. */
static int
shortest_digits(double v, char digits[20], int *k)
{
    char buf[40];
    int lo = 1, hi = 17;

    /* Fast path for the usual case, times and durations with microsecond
     * resolution: m / 1e6 is a correctly rounded division, i.e. exactly what
     * strtod() would make of the decimal m * 10^-6, so if it equals v the
     * string reads back.  It is also the shortest: below 2^32 a double's ulp
     * is under 1e-6, so no number with fewer decimals lies within v's
     * rounding interval. */
    if (v < 4294967296.0) {
        double m = nearbyint(v * 1e6);
        if (m >= 1 && m / 1e6 == v) {
            uint64_t u = (uint64_t)m;
            int e = -6;
            while (u % 10 == 0) {
                u /= 10;
                e++;
            }
            char tmp[24];
            int n = 0;
            do {
                tmp[n++] = (char)('0' + u % 10);
                u /= 10;
            } while (u != 0);
            for (int i = 0; i < n; i++)
                digits[i] = tmp[n - 1 - i];
            digits[n] = '\0';
            *k = e;
            return n;
        }
    }

    /* Otherwise search the precision.  Values that are not short decimals
     * (durations carry the binary error of two timestamps) mostly need 16
     * or 17 digits, so try 15 and 16 first and bisect below 15 only when
     * 15 already reads back; more digits than a working count always work.
     * buf keeps the rendering of the smallest count found to work. */
    if (!render_roundtrips(v, 15, buf, sizeof(buf))) {
        if (!render_roundtrips(v, 16, buf, sizeof(buf)))
            render_roundtrips(v, 17, buf, sizeof(buf)); /* 17 always reads back */
    } else {
        char probe[40];
        hi = 15;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (render_roundtrips(v, mid, probe, sizeof(probe))) {
                hi = mid;
                memcpy(buf, probe, sizeof(buf));
            } else {
                lo = mid + 1;
            }
        }
    }

    /* buf is "d[.ddd]e[+-]XX". */
    int n = 0;
    const char *p = buf;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    int e10 = (*p == 'e') ? atoi(p + 1) : 0;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    *k = e10 - (n - 1);
    return n;
}

/* rapidjson's exponent: sign only when negative, no leading zeros. */
static void
append_exponent(GString *out, int e)
{
    g_string_append_c(out, 'e');
    if (e < 0) {
        g_string_append_c(out, '-');
        e = -e;
    }
    append_u64(out, (uint64_t)e);
}

/* A double as Zeek's JSON writer prints it: rapidjson Writer::Double(),
 * i.e. the shortest round-trip digits laid out by rapidjson's Prettify()
 * (internal/dtoa.h): integers keep a ".0", decimals up to 21 digits before
 * the point and down to 1e-6 are written out, others use "1.5e-7" style.
 * NaN and infinities become null (Zeek's NullDoubleWriter). */
static void
append_json_double(GString *out, double d)
{
    if (!isfinite(d)) {
        g_string_append(out, "null");
        return;
    }
    if (signbit(d))
        g_string_append_c(out, '-');
    if (d == 0) {
        g_string_append(out, "0.0");
        return;
    }

    char digits[20];
    int k;
    int len = shortest_digits(fabs(d), digits, &k);
    int kk = len + k; /* 10^(kk-1) <= |d| < 10^kk */

    if (k >= 0 && kk <= 21) {
        g_string_append_len(out, digits, len);
        for (int i = 0; i < k; i++)
            g_string_append_c(out, '0');
        g_string_append(out, ".0");
    } else if (kk > 0 && kk <= 21) {
        g_string_append_len(out, digits, kk);
        g_string_append_c(out, '.');
        g_string_append_len(out, digits + kk, len - kk);
    } else if (kk > -6 && kk <= 0) {
        g_string_append(out, "0.");
        for (int i = 0; i < -kk; i++)
            g_string_append_c(out, '0');
        g_string_append_len(out, digits, len);
    } else if (len == 1) {
        g_string_append_c(out, digits[0]);
        append_exponent(out, kk - 1);
    } else {
        g_string_append_c(out, digits[0]);
        g_string_append_c(out, '.');
        g_string_append_len(out, digits + 1, len - 1);
        append_exponent(out, kk - 1);
    }
}

/* ---- string escaping */

static const char hex_lower[] = "0123456789abcdef";

static void
append_hex_escape(GString *out, uint8_t b)
{
    char e[4] = {'\\', 'x', hex_lower[b >> 4], hex_lower[b & 0xf]};
    g_string_append_len(out, e, 4);
}

/* Length of the UTF-8 character at s[0..n) if it is one Zeek lets through
 * unescaped (util.cc check_ok_utf8: well-formed per Unicode table 3-7, and
 * not a C0/C1 control, DEL, private-use E000-F8FF or special FFF0-FFFF);
 * 0 otherwise.  Printable ASCII is handled by the callers. */
static size_t
utf8_ok_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t cp;

    if (c < 0x80) {
        return 0; /* only reached for controls and DEL */
    } else if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0; /* continuation byte, overlong C0/C1 lead, or F5-FF */
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    /* Reject overlong forms, surrogates and values past U+10FFFF. */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    if (cp <= 0x9f || (cp >= 0xe000 && cp <= 0xf8ff) || (cp >= 0xfff0 && cp <= 0xffff))
        return 0;
    return len;
}

/* Does @p s need Zeek's fallback escaping?  util::escape_utf8() keeps a
 * string as it is when every character is acceptable, but as soon as one
 * is not, it returns a version in which *every* byte outside printable
 * ASCII is \xNN-escaped (valid UTF-8 before the bad byte included).
 * @p pass_printable_controls lets \b \f \n \r \t through (JSON mode). */
static bool
utf8_has_bad(const uint8_t *s, size_t n, bool pass_printable_controls)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        if (c >= 0x20 && c < 0x7f) {
            i++;
        } else if (pass_printable_controls &&
                   (c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')) {
            i++;
        } else {
            size_t len = utf8_ok_len(s + i, n - i);
            if (len == 0)
                return true;
            i += len;
        }
    }
    return false;
}

/* One run of a TSV string between escape points, through escape_utf8()
 * with both control flags: controls are always escaped, valid UTF-8 passes
 * unless the run holds a bad byte (then see utf8_has_bad()). */
static void
tsv_append_run(GString *out, const uint8_t *s, size_t n)
{
    if (!utf8_has_bad(s, n, false)) {
        g_string_append_len(out, (const char *)s, (gssize)n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7f)
            g_string_append_c(out, (char)s[i]);
        else
            append_hex_escape(out, s[i]);
    }
}

/* A string value as Zeek's ASCII formatter and ODesc print it: "(empty)"
 * for "", the first byte of a value equal to "-" or "(empty)" escaped, and
 * every backslash, field separator (TAB) and, inside a set, set separator
 * (',') written as \xNN; the text between them goes through
 * tsv_append_run(). */
static void
tsv_append_string(GString *out, const char *str, size_t n, bool in_set)
{
    const uint8_t *s = (const uint8_t *)str;

    if (n == 0) {
        g_string_append(out, "(empty)");
        return;
    }
    if ((n == 1 && s[0] == '-') || (n == 7 && memcmp(s, "(empty)", 7) == 0)) {
        append_hex_escape(out, s[0]);
        s++;
        n--;
    }

    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' || s[i] == '\t' || (in_set && s[i] == ',')) {
            tsv_append_run(out, s + start, i - start);
            append_hex_escape(out, s[i]);
            start = i + 1;
        }
    }
    tsv_append_run(out, s + start, n - start);
}

/* A JSON string as Zeek's JSON formatter writes one: the default
 * (hex) escape policy first runs util::escape_utf8() with only the
 * unprintable-controls flag, turning bad bytes into the four characters
 * \xNN, and rapidjson then escapes '"', '\\' and \b \f \n \r \t.  So a
 * bad byte appears in the JSON text as \\xNN, and no \u00XX escape ever
 * comes out: every control byte rapidjson would have \u-escaped has
 * already become \xNN. */
static void
json_append_string(GString *out, const char *str)
{
    const uint8_t *s = (const uint8_t *)str;
    size_t n = strlen(str);
    bool bad = utf8_has_bad(s, n, true);

    g_string_append_c(out, '"');
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        switch (c) {
        case '"':
            g_string_append(out, "\\\"");
            continue;
        case '\\':
            g_string_append(out, "\\\\");
            continue;
        case '\b':
            g_string_append(out, "\\b");
            continue;
        case '\f':
            g_string_append(out, "\\f");
            continue;
        case '\n':
            g_string_append(out, "\\n");
            continue;
        case '\r':
            g_string_append(out, "\\r");
            continue;
        case '\t':
            g_string_append(out, "\\t");
            continue;
        default:
            break;
        }
        if ((c >= 0x20 && c < 0x7f) || !bad) {
            g_string_append_c(out, (char)c);
        } else {
            char e[5] = {'\\', '\\', 'x', hex_lower[c >> 4], hex_lower[c & 0xf]};
            g_string_append_len(out, e, 5);
        }
    }
    g_string_append_c(out, '"');
}

/* ---- rows */

static const char tsv_fields[] =
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\t"
    "duration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\t"
    "history\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\tip_proto\n";
static const char tsv_types[] =
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\t"
    "string\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\tcount\n";

/* Clamp the parent count to what the record can hold. */
static int
record_parents(const conn_record_t *rec)
{
    if (rec->n_parents <= 0)
        return 0;
    return rec->n_parents > CONN_MAX_PARENTS ? CONN_MAX_PARENTS : rec->n_parents;
}

/* Length of a fixed-size char field, never reading past its end even if
 * the producer forgot the NUL. */
static size_t
field_len(const char *s, size_t cap)
{
    const char *z = memchr(s, '\0', cap);
    return z ? (size_t)(z - s) : cap;
}

static void
tsv_append_tri(GString *out, tri_t t)
{
    if (t == TRI_UNSET)
        g_string_append_c(out, '-');
    else
        g_string_append_c(out, t == TRI_F ? 'F' : 'T');
}

void
writer_format_tsv(const conn_record_t *rec, GString *out)
{
    char addr[64];

    append_zeek_time(out, rec->ts);
    g_string_append_c(out, '\t');
    tsv_append_string(out, rec->uid, field_len(rec->uid, sizeof(rec->uid)), false);
    g_string_append_c(out, '\t');
    g_string_append(out, addr_format(rec->orig_h, addr, sizeof(addr)));
    g_string_append_c(out, '\t');
    append_u64(out, rec->orig_p);
    g_string_append_c(out, '\t');
    g_string_append(out, addr_format(rec->resp_h, addr, sizeof(addr)));
    g_string_append_c(out, '\t');
    append_u64(out, rec->resp_p);
    g_string_append_c(out, '\t');
    g_string_append(out, conn_proto_name(rec->proto));
    g_string_append_c(out, '\t');

    size_t slen = field_len(rec->service, sizeof(rec->service));
    if (slen == 0)
        g_string_append_c(out, '-');
    else
        tsv_append_string(out, rec->service, slen, false);
    g_string_append_c(out, '\t');

    /* duration, orig_bytes and resp_bytes are set only when duration > 0
     * (conn/main.zeek set_conn). */
    if (rec->has_duration) {
        append_zeek_time(out, rec->duration);
        g_string_append_c(out, '\t');
        append_u64(out, rec->orig_bytes);
        g_string_append_c(out, '\t');
        append_u64(out, rec->resp_bytes);
    } else {
        g_string_append(out, "-\t-\t-");
    }
    g_string_append_c(out, '\t');
    g_string_append(out, conn_state_name(rec->conn_state));
    g_string_append_c(out, '\t');
    tsv_append_tri(out, rec->local_orig);
    g_string_append_c(out, '\t');
    tsv_append_tri(out, rec->local_resp);
    g_string_append_c(out, '\t');
    append_u64(out, rec->missed_bytes);
    g_string_append_c(out, '\t');

    size_t hlen = field_len(rec->history, sizeof(rec->history));
    if (hlen == 0)
        g_string_append_c(out, '-');
    else
        tsv_append_string(out, rec->history, hlen, false);
    g_string_append_c(out, '\t');

    append_u64(out, rec->orig_pkts);
    g_string_append_c(out, '\t');
    append_u64(out, rec->orig_ip_bytes);
    g_string_append_c(out, '\t');
    append_u64(out, rec->resp_pkts);
    g_string_append_c(out, '\t');
    append_u64(out, rec->resp_ip_bytes);
    g_string_append_c(out, '\t');

    /* tunnel_parents is &optional: unset prints "-" (the baselines never
     * show an empty set, which would be "(empty)"). */
    int np = record_parents(rec);
    if (np == 0)
        g_string_append_c(out, '-');
    for (int i = 0; i < np; i++) {
        if (i > 0)
            g_string_append_c(out, ',');
        tsv_append_string(out, rec->parents[i], field_len(rec->parents[i], CONN_UID_LEN), true);
    }
    g_string_append_c(out, '\t');
    append_u64(out, rec->ip_proto);
}

/* Field names of Zeek's JSON rows, with the separator in front. */
#define JSON_KEY(out, first, name) \
    g_string_append(out, (first) ? "\"" name "\":" : ",\"" name "\":")

/* A fixed-size char field as a NUL-terminated JSON string. */
static void
json_append_field(GString *out, const char *s, size_t cap)
{
    char tmp[CONN_SERVICE_MAX + 1];
    size_t n = field_len(s, cap);

    if (n >= sizeof(tmp))
        n = sizeof(tmp) - 1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    json_append_string(out, tmp);
}

void
writer_format_json(const conn_record_t *rec, GString *out)
{
    char addr[64];

    g_string_append_c(out, '{');
    JSON_KEY(out, true, "ts");
    append_json_double(out, rec->ts);
    JSON_KEY(out, false, "uid");
    json_append_field(out, rec->uid, sizeof(rec->uid));
    JSON_KEY(out, false, "id.orig_h");
    json_append_string(out, addr_format(rec->orig_h, addr, sizeof(addr)));
    JSON_KEY(out, false, "id.orig_p");
    append_u64(out, rec->orig_p);
    JSON_KEY(out, false, "id.resp_h");
    json_append_string(out, addr_format(rec->resp_h, addr, sizeof(addr)));
    JSON_KEY(out, false, "id.resp_p");
    append_u64(out, rec->resp_p);
    JSON_KEY(out, false, "proto");
    json_append_string(out, conn_proto_name(rec->proto));
    if (field_len(rec->service, sizeof(rec->service)) > 0) {
        JSON_KEY(out, false, "service");
        json_append_field(out, rec->service, sizeof(rec->service));
    }
    if (rec->has_duration) {
        JSON_KEY(out, false, "duration");
        append_json_double(out, rec->duration);
        JSON_KEY(out, false, "orig_bytes");
        append_u64(out, rec->orig_bytes);
        JSON_KEY(out, false, "resp_bytes");
        append_u64(out, rec->resp_bytes);
    }
    JSON_KEY(out, false, "conn_state");
    json_append_string(out, conn_state_name(rec->conn_state));
    if (rec->local_orig != TRI_UNSET) {
        JSON_KEY(out, false, "local_orig");
        g_string_append(out, rec->local_orig == TRI_F ? "false" : "true");
    }
    if (rec->local_resp != TRI_UNSET) {
        JSON_KEY(out, false, "local_resp");
        g_string_append(out, rec->local_resp == TRI_F ? "false" : "true");
    }
    JSON_KEY(out, false, "missed_bytes");
    append_u64(out, rec->missed_bytes);
    if (field_len(rec->history, sizeof(rec->history)) > 0) {
        JSON_KEY(out, false, "history");
        json_append_field(out, rec->history, sizeof(rec->history));
    }
    JSON_KEY(out, false, "orig_pkts");
    append_u64(out, rec->orig_pkts);
    JSON_KEY(out, false, "orig_ip_bytes");
    append_u64(out, rec->orig_ip_bytes);
    JSON_KEY(out, false, "resp_pkts");
    append_u64(out, rec->resp_pkts);
    JSON_KEY(out, false, "resp_ip_bytes");
    append_u64(out, rec->resp_ip_bytes);
    int np = record_parents(rec);
    if (np > 0) {
        JSON_KEY(out, false, "tunnel_parents");
        g_string_append_c(out, '[');
        for (int i = 0; i < np; i++) {
            if (i > 0)
                g_string_append_c(out, ',');
            json_append_field(out, rec->parents[i], CONN_UID_LEN);
        }
        g_string_append_c(out, ']');
    }
    JSON_KEY(out, false, "ip_proto");
    append_u64(out, rec->ip_proto);
    g_string_append_c(out, '}');
}

/* ---- files */

static time_t
writer_now(void)
{
    return writer_clock ? writer_clock() : time(NULL);
}

/* @p t as #open/#close and rotated file names show it: the local zone like
 * Zeek's (Ascii.cc Timestamp, Log::default_rotation_date_format
 * "%Y-%m-%d-%H-%M-%S"; btest pins TZ=UTC). */
static void
format_log_time(time_t t, char *buf, size_t len)
{
    struct tm tm;

    if (localtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d-%H-%M-%S", &tm) == 0)
        g_strlcpy(buf, "1970-01-01-00-00-00", len);
}

static void
append_time_at(GString *out, time_t t)
{
    char buf[64];

    format_log_time(t, buf, sizeof(buf));
    g_string_append(out, buf);
}

/* Write all of w->line; false (and count it) on a short write. */
static bool
flush_line(writer_t *w)
{
    if (fwrite(w->line->str, 1, w->line->len, w->fp) != w->line->len) {
        w->errors++;
        clearerr(w->fp); /* let the next row try again */
        return false;
    }
    return true;
}

static bool
write_header(writer_t *w)
{
    GString *s = w->line;

    if (w->opened == 0)
        w->opened = writer_now();
    g_string_truncate(s, 0);
    /* #separator is followed by a space, every other key by the separator;
     * separator values are printed escaped. */
    g_string_append(s, "#separator \\x09\n"
                       "#set_separator\t,\n"
                       "#empty_field\t(empty)\n"
                       "#unset_field\t-\n"
                       "#path\tconn\n"
                       "#open\t");
    append_time_at(s, w->opened);
    g_string_append_c(s, '\n');
    g_string_append(s, tsv_fields);
    g_string_append(s, tsv_types);
    return flush_line(w);
}

static writer_t *
writer_new(FILE *fp, bool owned, log_format_t fmt, const char *path)
{
    writer_t *w = g_new0(writer_t, 1);

    w->fp = fp;
    w->owned = owned;
    w->fmt = fmt;
    w->path = g_strdup(path);
    w->line = g_string_sized_new(1024);
    w->opened = writer_now();
    return w;
}

static void
writer_free(writer_t *w)
{
    g_string_free(w->line, TRUE);
    g_free(w->path);
    g_free(w->dir);
    g_free(w->iobuf);
    g_free(w);
}

writer_t *
writer_open(const char *dir, log_format_t fmt, GError **err)
{
    g_return_val_if_fail(dir != NULL, NULL);

    if (g_mkdir_with_parents(dir, 0755) != 0) {
        int e = errno;
        g_set_error(err, WRITER_ERROR, WRITER_ERROR_IO, "cannot create log directory %s: %s", dir,
                    g_strerror(e));
        return NULL;
    }

    g_autofree char *path = g_build_filename(dir, WRITER_FILE_NAME, NULL);
    FILE *fp = fopen(path, "we"); /* "e": O_CLOEXEC, keep it out of children */
    if (fp == NULL) {
        int e = errno;
        g_set_error(err, WRITER_ERROR, WRITER_ERROR_IO, "cannot open %s: %s", path,
                    g_strerror(e));
        return NULL;
    }

    writer_t *w = writer_new(fp, true, fmt, path);
    w->dir = g_strdup(dir);
    w->iobuf = g_malloc(WRITER_IOBUF_SIZE);
    setvbuf(fp, w->iobuf, _IOFBF, WRITER_IOBUF_SIZE);

    if (fmt == LOG_FORMAT_TSV && (!write_header(w) || fflush(fp) != 0)) {
        int e = errno;
        g_set_error(err, WRITER_ERROR, WRITER_ERROR_IO, "cannot write header to %s: %s", path,
                    g_strerror(e));
        fclose(fp);
        writer_free(w);
        return NULL;
    }
    return w;
}

writer_t *
writer_open_stream(FILE *fp, log_format_t fmt)
{
    g_return_val_if_fail(fp != NULL, NULL);

    writer_t *w = writer_new(fp, false, fmt, "");
    if (fmt == LOG_FORMAT_TSV)
        write_header(w); /* a failure is counted in writer_errors() */
    return w;
}

bool
writer_write(writer_t *w, const conn_record_t *rec)
{
    g_return_val_if_fail(w != NULL && rec != NULL, false);

    g_string_truncate(w->line, 0);
    if (w->fmt == LOG_FORMAT_JSON)
        writer_format_json(rec, w->line);
    else
        writer_format_tsv(rec, w->line);
    g_string_append_c(w->line, '\n');

    if (!flush_line(w))
        return false;
    w->rows++;
    return true;
}

bool
writer_flush(writer_t *w, GError **err)
{
    g_return_val_if_fail(w != NULL, false);

    if (fflush(w->fp) != 0) {
        int e = errno;
        w->errors++;
        clearerr(w->fp);
        g_set_error(err, WRITER_ERROR, WRITER_ERROR_IO, "cannot write %s: %s",
                    w->path[0] ? w->path : "log stream", g_strerror(e));
        return false;
    }
    return true;
}

bool
writer_close(writer_t *w, GError **err)
{
    if (w == NULL)
        return true;

    bool ok = true;
    int e = 0;

    if (w->fmt == LOG_FORMAT_TSV) {
        g_string_truncate(w->line, 0);
        g_string_append(w->line, "#close\t");
        append_time_at(w->line, writer_now());
        g_string_append_c(w->line, '\n');
        if (!flush_line(w)) {
            ok = false;
            e = errno;
        }
    }
    if (fflush(w->fp) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (w->owned && fclose(w->fp) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok)
        g_set_error(err, WRITER_ERROR, WRITER_ERROR_IO, "cannot finish %s: %s",
                    w->path[0] ? w->path : "log stream", g_strerror(e));
    writer_free(w);
    return ok;
}

uint64_t
writer_rows(const writer_t *w)
{
    return w ? w->rows : 0;
}

uint64_t
writer_errors(const writer_t *w)
{
    return w ? w->errors : 0;
}

const char *
writer_path(const writer_t *w)
{
    return w ? w->path : "";
}

/* ---- rotation */

char *
writer_rotated_name(time_t opened, time_t closed)
{
    char a[64], b[64];

    format_log_time(opened, a, sizeof(a));
    format_log_time(closed, b, sizeof(b));
    return g_strdup_printf("conn.%s_%s.log", a, b);
}

/* Rename @p from to dir/@p base without replacing anything
 * (RENAME_NOREPLACE): if the name is taken (two rotations within one
 * second), try base with "-1", "-2", ... before ".log".  Returns the final
 * path (new string) or NULL with errno. */
static char *
rename_noreplace(const char *from, const char *dir, const char *base)
{
    g_autofree char *stem = g_strndup(base, strlen(base) - strlen(".log"));

    for (int i = 0; i < 1000; i++) {
        g_autofree char *name =
            i == 0 ? g_strdup(base) : g_strdup_printf("%s-%d.log", stem, i);
        char *to = g_build_filename(dir, name, NULL);
        int rc = renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
        if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
            /* A file system without RENAME_NOREPLACE: link() fails with
             * EEXIST instead of replacing, then drop the old name.  (It
             * needs to own the file where protected_hardlinks is set,
             * which renameat2 does not.) */
            rc = link(from, to);
            if (rc == 0 && unlink(from) != 0) {
                int e = errno;
                unlink(to);
                g_free(to);
                errno = e;
                return NULL;
            }
        }
        if (rc == 0)
            return to;
        int e = errno;
        g_free(to);
        if (e != EEXIST) {
            errno = e;
            return NULL;
        }
    }
    errno = EEXIST;
    return NULL;
}

/* Open times of a leftover log: its "#open" line if it has one, else the
 * file's modification time. */
static time_t
leftover_open_time(const char *path, time_t mtime)
{
    char buf[4096];
    FILE *fp = fopen(path, "re");
    time_t t = mtime;

    if (!fp)
        return t;
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    const char *p = strstr(buf, "\n#open\t");
    if (!p)
        return t;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(p + 7, "%d-%d-%d-%d-%d-%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) == 6) {
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        tm.tm_isdst = -1;
        time_t parsed = mktime(&tm);
        if (parsed != (time_t)-1)
            t = parsed;
    }
    return t;
}

bool
writer_rotate_leftover(const char *dir, char **archived, GError **err)
{
    g_autofree char *path = g_build_filename(dir, WRITER_FILE_NAME, NULL);
    struct stat st;

    if (archived)
        *archived = NULL;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
        return true;
    g_autofree char *base = writer_rotated_name(leftover_open_time(path, st.st_mtime),
                                                st.st_mtime);
    char *to = rename_noreplace(path, dir, base);
    if (!to) {
        int e = errno;
        g_set_error(err, WRITER_ERROR, WRITER_ERROR_IO, "cannot move leftover %s aside: %s", path,
                    g_strerror(e));
        return false;
    }
    if (archived)
        *archived = to;
    else
        g_free(to);
    return true;
}

bool
writer_rotate(writer_t *w, const char *dir, log_format_t fmt, char **archived, GError **err)
{
    g_return_val_if_fail(w != NULL && w->owned, false);

    const char *new_dir = dir ? dir : w->dir;
    time_t now = writer_now();
    g_autofree char *tmpl = NULL;
    g_autofree char *new_path = NULL;
    g_autofree char *archive = NULL;
    int e;

    if (archived)
        *archived = NULL;
    if (g_mkdir_with_parents(new_dir, 0755) != 0) {
        e = errno;
        g_set_error(err, WRITER_ERROR, WRITER_ERROR_IO, "cannot create log directory %s: %s",
                    new_dir, g_strerror(e));
        return false;
    }
    new_path = g_build_filename(new_dir, WRITER_FILE_NAME, NULL);
    bool same_dir = strcmp(new_path, w->path) == 0;
    /* A different directory may hold an old conn.log: keep it. */
    if (!same_dir && !writer_rotate_leftover(new_dir, NULL, err))
        return false;

    /* 1. The new file, complete with its header, under a temporary name:
     *    if this fails nothing has changed and rows keep going to the old. */
    tmpl = g_build_filename(new_dir, ".conn.log.XXXXXX", NULL);
    int fd = g_mkstemp_full(tmpl, O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) {
        e = errno;
        g_set_error(err, WRITER_ERROR, WRITER_ERROR_IO, "cannot create a file in %s: %s",
                    new_dir, g_strerror(e));
        return false;
    }
    FILE *nfp = fdopen(fd, "w");
    if (!nfp) {
        e = errno;
        close(fd);
        unlink(tmpl);
        g_set_error(err, WRITER_ERROR, WRITER_ERROR_IO, "cannot open %s: %s", tmpl,
                    g_strerror(e));
        return false;
    }
    char *nbuf = g_malloc(WRITER_IOBUF_SIZE);
    setvbuf(nfp, nbuf, _IOFBF, WRITER_IOBUF_SIZE);

    writer_t tmp = {.fp = nfp, .fmt = fmt, .opened = now, .line = w->line};
    if ((fmt == LOG_FORMAT_TSV && !write_header(&tmp)) || fflush(nfp) != 0) {
        e = errno;
        fclose(nfp);
        g_free(nbuf);
        unlink(tmpl);
        g_set_error(err, WRITER_ERROR, WRITER_ERROR_IO, "cannot write header to %s: %s", tmpl,
                    g_strerror(e));
        return false;
    }

    /* 2. Move the open file aside.  Rows buffered for it still land in it:
     *    the descriptor follows the rename. */
    g_autofree char *base = writer_rotated_name(w->opened, now);
    archive = rename_noreplace(w->path, w->dir, base);
    if (!archive) {
        e = errno;
        fclose(nfp);
        g_free(nbuf);
        unlink(tmpl);
        g_set_error(err, WRITER_ERROR, WRITER_ERROR_IO, "cannot rename %s: %s", w->path,
                    g_strerror(e));
        return false;
    }

    /* 3. Put the new file in place. */
    if (rename(tmpl, new_path) != 0) {
        e = errno;
        fclose(nfp);
        g_free(nbuf);
        unlink(tmpl);
        /* Undo step 2 so the old file keeps its name and its rows. */
        if (rename(archive, w->path) != 0)
            g_warning("%s stays at %s: %s", w->path, archive, g_strerror(errno));
        g_set_error(err, WRITER_ERROR, WRITER_ERROR_IO, "cannot rename %s to %s: %s", tmpl,
                    new_path, g_strerror(e));
        return false;
    }

    /* 4. Finish the old file with #close at the time in its name. */
    bool ok = true;
    if (w->fmt == LOG_FORMAT_TSV) {
        g_string_truncate(w->line, 0);
        g_string_append(w->line, "#close\t");
        append_time_at(w->line, now);
        g_string_append_c(w->line, '\n');
        ok = flush_line(w);
    }
    if (fflush(w->fp) != 0)
        ok = false;
    if (fclose(w->fp) != 0)
        ok = false;
    if (!ok) {
        w->errors++;
        g_warning("%s: could not finish the rotated file cleanly", archive);
    }
    g_free(w->iobuf);

    w->fp = nfp;
    w->iobuf = nbuf;
    w->fmt = fmt;
    w->opened = now;
    w->rotations++;
    g_free(w->path);
    w->path = g_steal_pointer(&new_path);
    if (!same_dir) {
        g_free(w->dir);
        w->dir = g_strdup(new_dir);
    }
    if (archived)
        *archived = g_steal_pointer(&archive);
    return true;
}

time_t
writer_opened(const writer_t *w)
{
    return w ? w->opened : 0;
}

uint64_t
writer_rotations(const writer_t *w)
{
    return w ? w->rotations : 0;
}
