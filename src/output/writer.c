/*
 * The conn.log writer.  It reproduces Zeek's ASCII writer byte for byte:
 * the TSV header and #close trailer, fixed six-decimal times, "-" for unset
 * and "(empty)" for empty values, and Zeek's \xNN string escaping (spec
 * section 7); or, in JSON mode, one object per line shaped like Zeek's JSON
 * formatter.  Rows are formatted in place into a stack buffer sized for
 * the widest row, so the per-row path does not allocate.
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

static const uint64_t pow10_u64[20] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
    100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
    10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
    100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL,
};

/* Write @p v in decimal at @p p; returns the end. */
static char *
put_u64(char *p, uint64_t v)
{
    /* count the digits first and write them in place from the last: a
     * copy of variable length was a libc call per number (2% at 1M/s) */
    unsigned n = 1;
    while (n < 20 && v >= pow10_u64[n])
        n++;
    char *end = p + n;
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return p + n;
}

/* Zeek renders time and interval with modp_dtoa(d, buf, 6) (threading/
 * Formatter.cc Render(double)).  That is not printf("%.6f"): the fraction is
 * (d - whole) * 1e6 truncated, then rounded by hand (ties round up when the
 * truncated value is odd or zero), and magnitudes above 2^31-1 switch to
 * printf("%e").  We follow it step by step so the last digit agrees. */
#define ZEEK_TIME_MAX 32 /* "%e" of any double, or 10 + 1 + 7 digits and a sign */

static char *
put_zeek_time(char *p, double value)
{
    if (isnan(value)) {
        memcpy(p, "nan", 3);
        return p + 3;
    }

    bool neg = value < 0;
    double v = neg ? -value : value;

    if (v > 2147483647.0) {
        char tmp[64];
        int n = snprintf(tmp, sizeof(tmp), "%e", value);
        n = n > 0 ? MIN(n, ZEEK_TIME_MAX) : 0;
        memcpy(p, tmp, (size_t)n);
        return p + n;
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
        *p++ = '-';
    p = put_u64(p, (uint64_t)whole);
    *p++ = '.';

    char digits[12];
    int nd = 0;
    do {
        digits[nd++] = (char)('0' + frac % 10);
        frac /= 10;
    } while (frac != 0);
    for (int i = nd; i < 6; i++)
        *p++ = '0';
    while (nd > 0)
        *p++ = digits[--nd];
    return p;
}

/* A rendering with P significant digits: the digits, no dot, and the
 * decimal exponent of the first one (v ~ d.ddd * 10^e10). */
typedef struct {
    char digits[24];
    int n;
    int e10;
} rendering_t;

/* Render @p v with @p prec significant digits through printf ("%.*e") into
 * @p out and say whether that reads back as exactly @p v. */
static bool
render_roundtrips(double v, int prec, rendering_t *out)
{
    char buf[40];
    const char *p = buf;

    snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
    out->n = 0;
    for (; *p && *p != 'e'; p++) /* "d[.ddd]e[+-]XX" */
        if (*p >= '0' && *p <= '9')
            out->digits[out->n++] = *p;
    out->e10 = (*p == 'e') ? atoi(p + 1) : 0;
    return strtod(buf, NULL) == v;
}

/*
 * The same two questions answered with integers, for the doubles JSON rows
 * mostly hold (durations: differences of two timestamps, which need 16 or
 * 17 digits and made snprintf()+strtod() most of a JSON row's cost).
 *
 * v = m * 2^e with m < 2^53.  Its rendering with P digits is D * 10^-q,
 * q = P - 1 - k where 10^k <= v < 10^(k+1), and D = v * 10^q = N / Dn
 * rounded half to even, as glibc's printf rounds.  D * 10^-q reads back as
 * v when it lies within half an ulp (2^(e-1); 2^(e-2) below a power of
 * two) of v, the boundary included only for an even m (strtod's ties to
 * even).  In integers (e < 0): 2 * |D*Dn - N| <= 10^q when q >= 0, where
 * N = m * 10^q and Dn = 2^-e, or <= 1 when q < 0, where N = m and
 * Dn = 2^-e * 10^-q.  |D*Dn - N| is the division's remainder or its
 * complement, so no product beyond N and Dn is formed.  Every integer is
 * checked to fit 128 bits; when one would not, that P goes through
 * snprintf()/strtod() instead.  check_output's test_json_doubles_shortest
 * holds the result to the printf/strtod answer on 200,000 doubles.
 */
typedef unsigned __int128 u128;

typedef struct {
    uint64_t m;
    int e;
    int k; /* 10^k <= v < 10^(k+1) */
} exact_t;

/* 10^n as a u128 if n <= 38, else 0. */
static u128
pow10_u128(int n)
{
    if (n < 0 || n > 38)
        return 0;
    if (n < 20)
        return pow10_u64[n];
    return (u128)pow10_u64[19] * pow10_u64[n - 19];
}

/* N and Dn for @p q, or false if they do not fit. */
static bool
exact_ratio(const exact_t *x, int q, u128 *n, u128 *dn)
{
    /* x->e < 0 (checked by exact_init): Dn holds the power of two */
    int shift = -x->e;
    if (shift > 120)
        return false;
    if (q >= 0) {
        u128 p = pow10_u128(q);
        if (p == 0 || x->m > (~(u128)0) / p)
            return false;
        *n = p * x->m;
        *dn = (u128)1 << shift;
    } else {
        u128 p = pow10_u128(-q);
        if (p == 0 || p > ((~(u128)0) >> shift))
            return false;
        *n = x->m;
        *dn = p << shift;
    }
    return true;
}

/* D for @p P digits (may be 10^P after a carry) and whether it reads back;
 * false if the integers do not fit. */
static bool
exact_render(const exact_t *x, int p, uint64_t *d, bool *roundtrips)
{
    int q = p - 1 - x->k;
    u128 n, dn;

    if (!exact_ratio(x, q, &n, &dn))
        return false;
    u128 f = n / dn, r = n % dn;
    bool up = 2 * r > dn || (2 * r == dn && (f & 1));
    u128 diff = up ? dn - r : r;
    u128 t = q >= 0 ? pow10_u128(q) : 1;
    /* below a power of two the next double down is half as far */
    u128 lim2 = (!up && r != 0 && x->m == (UINT64_C(1) << 52)) ? 4 * diff : 2 * diff;

    *d = (uint64_t)(f + up);
    *roundtrips = lim2 < t || (lim2 == t && (x->m & 1) == 0);
    return true;
}

/* Split @p v (finite, > 0) and find k exactly; false if out of range. */
static bool
exact_init(double v, exact_t *x)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    int biased = (int)(bits >> 52 & 0x7ff);

    if (biased == 0 || v >= 9007199254740992.0) /* subnormal, or m * 2^e with e >= 0 */
        return false;
    x->m = (bits & ((UINT64_C(1) << 52) - 1)) | (UINT64_C(1) << 52);
    x->e = biased - 1075;
    x->k = (int)floor(log10(v));
    /* log10 can be one off next to a power of ten: settle k on the exact
     * 17-digit floor, which must lie in [10^16, 10^17). */
    for (int tries = 0; tries < 3; tries++) {
        u128 n, dn;
        if (!exact_ratio(x, 16 - x->k, &n, &dn))
            return false;
        u128 f = n / dn;
        if (f >= pow10_u64[17])
            x->k++;
        else if (f < pow10_u64[16])
            x->k--;
        else
            return true;
    }
    return false;
}

/* The rendering of @p v with @p p digits, from @p x when it fits, else
 * from printf; whether it reads back as @p v. */
static bool
render_p(double v, const exact_t *x, bool have_x, int p, rendering_t *out)
{
    uint64_t d;
    bool rt;

    if (!have_x || !exact_render(x, p, &d, &rt))
        return render_roundtrips(v, p, out);
    out->e10 = x->k;
    if (d == pow10_u64[p]) { /* rounded up to the next power of ten */
        d = pow10_u64[p - 1];
        out->e10++;
    }
    out->n = (int)(put_u64(out->digits, d) - out->digits);
    return rt;
}

/* Shortest decimal digits that read back as @p v (v > 0, finite): fills
 * @p digits (no dot, no exponent, NUL-terminated) and returns their count;
 * the value is digits * 10^*k. */
static int
shortest_digits(double v, char digits[20], int *k)
{
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
            int n = (int)(put_u64(digits, u) - digits);
            digits[n] = '\0';
            *k = e;
            return n;
        }
    }

    /* Otherwise search the precision.  Values that are not short decimals
     * (durations carry the binary error of two timestamps) mostly need 16
     * or 17 digits, so try 15 and 16 first and bisect below 15 only when
     * 15 already reads back; more digits than a working count always work.
     * best keeps the rendering of the smallest count found to work. */
    exact_t x;
    bool have_x = exact_init(v, &x);
    rendering_t best;
    if (!render_p(v, &x, have_x, 15, &best)) {
        if (!render_p(v, &x, have_x, 16, &best))
            render_p(v, &x, have_x, 17, &best); /* 17 always reads back */
    } else {
        rendering_t probe;
        hi = 15;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (render_p(v, &x, have_x, mid, &probe)) {
                hi = mid;
                best = probe;
            } else {
                lo = mid + 1;
            }
        }
    }

    int n = best.n;
    while (n > 1 && best.digits[n - 1] == '0')
        n--;
    memcpy(digits, best.digits, (size_t)n);
    digits[n] = '\0';
    *k = best.e10 - (n - 1);
    return n;
}

/* rapidjson's exponent: sign only when negative, no leading zeros. */
static char *
put_exponent(char *p, int e)
{
    *p++ = 'e';
    if (e < 0) {
        *p++ = '-';
        e = -e;
    }
    return put_u64(p, (uint64_t)e);
}

/* The longest put_json_double() output: a sign, then "0." with five zeros
 * and 17 digits, or 21 digits and ".0", or 17 digits, a dot and "e-308". */
#define JSON_DOUBLE_MAX 32

/* A double as Zeek's JSON writer prints it: rapidjson Writer::Double(),
 * i.e. the shortest round-trip digits laid out by rapidjson's Prettify()
 * (internal/dtoa.h): integers keep a ".0", decimals up to 21 digits before
 * the point and down to 1e-6 are written out, others use "1.5e-7" style.
 * NaN and infinities become null (Zeek's NullDoubleWriter). */
static char *
put_json_double(char *p, double d)
{
    if (!isfinite(d)) {
        memcpy(p, "null", 4);
        return p + 4;
    }
    if (signbit(d))
        *p++ = '-';
    if (d == 0) {
        memcpy(p, "0.0", 3);
        return p + 3;
    }

    char digits[20];
    int k;
    int len = shortest_digits(fabs(d), digits, &k);
    int kk = len + k; /* 10^(kk-1) <= |d| < 10^kk */

    if (k >= 0 && kk <= 21) {
        memcpy(p, digits, (size_t)len);
        p += len;
        for (int i = 0; i < k; i++)
            *p++ = '0';
        memcpy(p, ".0", 2);
        return p + 2;
    }
    if (kk > 0 && kk <= 21) {
        memcpy(p, digits, (size_t)kk);
        p += kk;
        *p++ = '.';
        memcpy(p, digits + kk, (size_t)(len - kk));
        return p + (len - kk);
    }
    if (kk > -6 && kk <= 0) {
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -kk; i++)
            *p++ = '0';
        memcpy(p, digits, (size_t)len);
        return p + len;
    }
    *p++ = digits[0];
    if (len > 1) {
        *p++ = '.';
        memcpy(p, digits + 1, (size_t)(len - 1));
        p += len - 1;
    }
    return put_exponent(p, kk - 1);
}

/* ---- string escaping */

static const char hex_lower[] = "0123456789abcdef";

static char *
put_hex_escape(char *p, uint8_t b)
{
    p[0] = '\\';
    p[1] = 'x';
    p[2] = hex_lower[b >> 4];
    p[3] = hex_lower[b & 0xf];
    return p + 4;
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
static char *
tsv_put_run(char *p, const uint8_t *s, size_t n)
{
    if (!utf8_has_bad(s, n, false)) {
        memcpy(p, s, n);
        return p + n;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7f)
            *p++ = (char)s[i];
        else
            p = put_hex_escape(p, s[i]);
    }
    return p;
}

/* Most a string of @p n bytes can become: every byte escaped. */
#define TSV_STRING_MAX(n) (4 * (n) + sizeof("(empty)"))

/* A string value as Zeek's ASCII formatter and ODesc print it: "(empty)"
 * for "", the first byte of a value equal to "-" or "(empty)" escaped, and
 * every backslash, field separator (TAB) and, inside a set, set separator
 * (',') written as \xNN; the text between them goes through
 * tsv_put_run().  Writes at most TSV_STRING_MAX(n) bytes. */
static char *
tsv_put_string(char *p, const char *str, size_t n, bool in_set)
{
    const uint8_t *s = (const uint8_t *)str;

    if (n == 0) {
        memcpy(p, "(empty)", 7);
        return p + 7;
    }
    if ((n == 1 && s[0] == '-') || (n == 7 && memcmp(s, "(empty)", 7) == 0)) {
        p = put_hex_escape(p, s[0]);
        s++;
        n--;
    }

    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' || s[i] == '\t' || (in_set && s[i] == ',')) {
            p = tsv_put_run(p, s + start, i - start);
            p = put_hex_escape(p, s[i]);
            start = i + 1;
        }
    }
    return tsv_put_run(p, s + start, n - start);
}

/* Most a string of @p n bytes can become: quotes, every byte as \\xNN. */
#define JSON_STRING_MAX(n) (5 * (n) + 2)

/* A JSON string as Zeek's JSON formatter writes one: the default
 * (hex) escape policy first runs util::escape_utf8() with only the
 * unprintable-controls flag, turning bad bytes into the four characters
 * \xNN, and rapidjson then escapes '"', '\\' and \b \f \n \r \t.  So a
 * bad byte appears in the JSON text as \\xNN, and no \u00XX escape ever
 * comes out: every control byte rapidjson would have \u-escaped has
 * already become \xNN. */
static char *
json_put_string(char *p, const char *str, size_t n)
{
    const uint8_t *s = (const uint8_t *)str;
    bool bad = utf8_has_bad(s, n, true);

    *p++ = '"';
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        char esc = 0;
        switch (c) {
        case '"':
            esc = '"';
            break;
        case '\\':
            esc = '\\';
            break;
        case '\b':
            esc = 'b';
            break;
        case '\f':
            esc = 'f';
            break;
        case '\n':
            esc = 'n';
            break;
        case '\r':
            esc = 'r';
            break;
        case '\t':
            esc = 't';
            break;
        default:
            break;
        }
        if (esc) {
            *p++ = '\\';
            *p++ = esc;
        } else if ((c >= 0x20 && c < 0x7f) || !bad) {
            *p++ = (char)c;
        } else {
            p[0] = '\\';
            p[1] = '\\';
            p[2] = 'x';
            p[3] = hex_lower[c >> 4];
            p[4] = hex_lower[c & 0xf];
            p += 5;
        }
    }
    *p++ = '"';
    return p;
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

/* Copy a NUL-terminated static name. */
static char *
put_str(char *p, const char *name)
{
    size_t n = strlen(name);
    memcpy(p, name, n);
    return p + n;
}

static char
tri_char(tri_t t)
{
    return t == TRI_UNSET ? '-' : t == TRI_F ? 'F' : 'T';
}

/* The widest row tsv_put_row() can write: every field at its most, strings
 * fully escaped, plus the 21 tabs (the newline is the caller's). */
enum {
    TSV_ROW_MAX = 2 * ZEEK_TIME_MAX                                /* ts, duration */
                  + TSV_STRING_MAX(CONN_UID_LEN)                   /* uid */
                  + 2 * ADDR_TEXT_MAX                              /* addresses */
                  + 10 * 20                                        /* counts, ports */
                  + sizeof("unknown_transport")                    /* proto */
                  + TSV_STRING_MAX(CONN_SERVICE_MAX)               /* service */
                  + 8                                              /* conn_state */
                  + 2                                              /* local_* */
                  + TSV_STRING_MAX(CONN_HISTORY_MAX + 1)           /* history */
                  + CONN_MAX_PARENTS * (TSV_STRING_MAX(CONN_UID_LEN) + 1) /* parents */
                  + 21,
};

/* One TSV row at @p p (room for TSV_ROW_MAX bytes); returns the end.  A
 * flat buffer rather than GString appends: the per-row formatting is on
 * the flow path's hot loop, where rows are written as fast as records
 * arrive. */
static char *
tsv_put_row(const conn_record_t *rec, char *p)
{
    p = put_zeek_time(p, rec->ts);
    *p++ = '\t';
    p = tsv_put_string(p, rec->uid, field_len(rec->uid, sizeof(rec->uid)), false);
    *p++ = '\t';
    p = addr_put(p, rec->orig_h);
    *p++ = '\t';
    p = put_u64(p, rec->orig_p);
    *p++ = '\t';
    p = addr_put(p, rec->resp_h);
    *p++ = '\t';
    p = put_u64(p, rec->resp_p);
    *p++ = '\t';
    p = put_str(p, conn_proto_name(rec->proto));
    *p++ = '\t';

    size_t slen = field_len(rec->service, sizeof(rec->service));
    if (slen == 0)
        *p++ = '-';
    else
        p = tsv_put_string(p, rec->service, slen, false);
    *p++ = '\t';

    /* duration, orig_bytes and resp_bytes are set only when duration > 0
     * (conn/main.zeek set_conn). */
    if (rec->has_duration) {
        p = put_zeek_time(p, rec->duration);
        *p++ = '\t';
        p = put_u64(p, rec->orig_bytes);
        *p++ = '\t';
        p = put_u64(p, rec->resp_bytes);
    } else {
        memcpy(p, "-\t-\t-", 5);
        p += 5;
    }
    *p++ = '\t';
    p = put_str(p, conn_state_name(rec->conn_state));
    *p++ = '\t';
    *p++ = tri_char(rec->local_orig);
    *p++ = '\t';
    *p++ = tri_char(rec->local_resp);
    *p++ = '\t';
    p = put_u64(p, rec->missed_bytes);
    *p++ = '\t';

    size_t hlen = field_len(rec->history, sizeof(rec->history));
    if (hlen == 0)
        *p++ = '-';
    else
        p = tsv_put_string(p, rec->history, hlen, false);
    *p++ = '\t';

    p = put_u64(p, rec->orig_pkts);
    *p++ = '\t';
    p = put_u64(p, rec->orig_ip_bytes);
    *p++ = '\t';
    p = put_u64(p, rec->resp_pkts);
    *p++ = '\t';
    p = put_u64(p, rec->resp_ip_bytes);
    *p++ = '\t';

    /* tunnel_parents is &optional: unset prints "-" (the baselines never
     * show an empty set, which would be "(empty)"). */
    int np = record_parents(rec);
    if (np == 0)
        *p++ = '-';
    for (int i = 0; i < np; i++) {
        if (i > 0)
            *p++ = ',';
        p = tsv_put_string(p, rec->parents[i], field_len(rec->parents[i], CONN_UID_LEN), true);
    }
    *p++ = '\t';
    return put_u64(p, rec->ip_proto);
}

/* Append a row made by @p put (at most @p max bytes) to @p out. */
static void
append_row(GString *out, const conn_record_t *rec, size_t max,
           char *(*put)(const conn_record_t *, char *))
{
    gsize at = out->len;

    g_string_set_size(out, at + max);
    char *end = put(rec, out->str + at);
    g_string_truncate(out, (gsize)(end - out->str));
}

void
writer_format_tsv(const conn_record_t *rec, GString *out)
{
    append_row(out, rec, TSV_ROW_MAX, tsv_put_row);
}

/* A field name of Zeek's JSON rows after the first, with the separator. */
#define put_lit(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)
#define JSON_KEY(p, name) put_lit(p, ",\"" name "\":")

/* The widest JSON row: every field present at its most, and the keys. */
enum {
    JSON_KEYS_MAX = sizeof("{\"ts\":,\"uid\":,\"id.orig_h\":,\"id.orig_p\":,\"id.resp_h\":,"
                           "\"id.resp_p\":,\"proto\":,\"service\":,\"duration\":,"
                           "\"orig_bytes\":,\"resp_bytes\":,\"conn_state\":,"
                           "\"local_orig\":false,\"local_resp\":false,\"missed_bytes\":,"
                           "\"history\":,\"orig_pkts\":,\"orig_ip_bytes\":,\"resp_pkts\":,"
                           "\"resp_ip_bytes\":,\"tunnel_parents\":[],\"ip_proto\":}"),
    JSON_ROW_MAX = JSON_KEYS_MAX + 2 * JSON_DOUBLE_MAX                    /* ts, duration */
                   + JSON_STRING_MAX(CONN_UID_LEN)                        /* uid */
                   + 2 * JSON_STRING_MAX(ADDR_TEXT_MAX)                   /* addresses */
                   + 10 * 20                                              /* counts, ports */
                   + JSON_STRING_MAX(sizeof("unknown_transport"))         /* proto */
                   + JSON_STRING_MAX(CONN_SERVICE_MAX)                    /* service */
                   + JSON_STRING_MAX(8)                                   /* conn_state */
                   + JSON_STRING_MAX(CONN_HISTORY_MAX + 1)                /* history */
                   + CONN_MAX_PARENTS * (JSON_STRING_MAX(CONN_UID_LEN) + 1), /* parents */
};

/* One JSON object at @p p (room for JSON_ROW_MAX bytes); returns the end. */
static char *
json_put_row(const conn_record_t *rec, char *p)
{
    char addr[ADDR_TEXT_MAX];
    size_t n;

    p = put_lit(p, "{\"ts\":");
    p = put_json_double(p, rec->ts);
    p = JSON_KEY(p, "uid");
    p = json_put_string(p, rec->uid, field_len(rec->uid, sizeof(rec->uid)));
    p = JSON_KEY(p, "id.orig_h");
    p = json_put_string(p, addr, (size_t)(addr_put(addr, rec->orig_h) - addr));
    p = JSON_KEY(p, "id.orig_p");
    p = put_u64(p, rec->orig_p);
    p = JSON_KEY(p, "id.resp_h");
    p = json_put_string(p, addr, (size_t)(addr_put(addr, rec->resp_h) - addr));
    p = JSON_KEY(p, "id.resp_p");
    p = put_u64(p, rec->resp_p);
    p = JSON_KEY(p, "proto");
    const char *proto = conn_proto_name(rec->proto);
    p = json_put_string(p, proto, strlen(proto));
    if ((n = field_len(rec->service, sizeof(rec->service))) > 0) {
        p = JSON_KEY(p, "service");
        p = json_put_string(p, rec->service, n);
    }
    if (rec->has_duration) {
        p = JSON_KEY(p, "duration");
        p = put_json_double(p, rec->duration);
        p = JSON_KEY(p, "orig_bytes");
        p = put_u64(p, rec->orig_bytes);
        p = JSON_KEY(p, "resp_bytes");
        p = put_u64(p, rec->resp_bytes);
    }
    p = JSON_KEY(p, "conn_state");
    const char *state = conn_state_name(rec->conn_state);
    p = json_put_string(p, state, strlen(state));
    if (rec->local_orig != TRI_UNSET) {
        p = JSON_KEY(p, "local_orig");
        p = rec->local_orig == TRI_F ? put_lit(p, "false") : put_lit(p, "true");
    }
    if (rec->local_resp != TRI_UNSET) {
        p = JSON_KEY(p, "local_resp");
        p = rec->local_resp == TRI_F ? put_lit(p, "false") : put_lit(p, "true");
    }
    p = JSON_KEY(p, "missed_bytes");
    p = put_u64(p, rec->missed_bytes);
    if ((n = field_len(rec->history, sizeof(rec->history))) > 0) {
        p = JSON_KEY(p, "history");
        p = json_put_string(p, rec->history, n);
    }
    p = JSON_KEY(p, "orig_pkts");
    p = put_u64(p, rec->orig_pkts);
    p = JSON_KEY(p, "orig_ip_bytes");
    p = put_u64(p, rec->orig_ip_bytes);
    p = JSON_KEY(p, "resp_pkts");
    p = put_u64(p, rec->resp_pkts);
    p = JSON_KEY(p, "resp_ip_bytes");
    p = put_u64(p, rec->resp_ip_bytes);
    int np = record_parents(rec);
    if (np > 0) {
        p = JSON_KEY(p, "tunnel_parents");
        *p++ = '[';
        for (int i = 0; i < np; i++) {
            if (i > 0)
                *p++ = ',';
            p = json_put_string(p, rec->parents[i], field_len(rec->parents[i], CONN_UID_LEN));
        }
        *p++ = ']';
    }
    p = JSON_KEY(p, "ip_proto");
    p = put_u64(p, rec->ip_proto);
    *p++ = '}';
    return p;
}

void
writer_format_json(const conn_record_t *rec, GString *out)
{
    append_row(out, rec, JSON_ROW_MAX, json_put_row);
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

    /* Formatted in place and handed to stdio unlocked: only the thread
     * that owns the writer (the connection builder's) touches this stream,
     * and on the flow path rows are written as fast as records arrive. */
    char row[MAX((size_t)TSV_ROW_MAX, (size_t)JSON_ROW_MAX) + 1];
    char *end = w->fmt == LOG_FORMAT_JSON ? json_put_row(rec, row) : tsv_put_row(rec, row);
    *end++ = '\n';
    size_t n = (size_t)(end - row);
    if (fwrite_unlocked(row, 1, n, w->fp) != n) {
        w->errors++;
        clearerr(w->fp); /* let the next row try again */
        return false;
    }
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
