/*
 * Sets of IPv4/IPv6 networks for Site::local_nets-style questions ("is this
 * address local?") asked twice per finished connection, plus the address
 * parsing and printing that conn.log needs.  Networks live in one sorted
 * array grouped by prefix length; a lookup masks the address once per
 * distinct length and binary-searches that group, and never allocates.
 */
#include "config.h"

#include "core/netset.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK(connlogd-netset-error-quark, netset_error)

/* One network: the address as two host-order 64-bit halves with the host
 * bits cleared, and the prefix length over the full 128 bits (an IPv4 /n is
 * stored as the IPv4-mapped /96+n, as Zeek does). */
typedef struct {
    uint64_t hi, lo;
    uint8_t len;
} netset_entry_t;

/* The entries of one prefix length: v[start, end) in the sorted array. */
typedef struct {
    uint64_t mask_hi, mask_lo;
    uint32_t start, end;
} netset_group_t;

struct netset {
    netset_entry_t *v; /* sorted by (len, hi, lo), no duplicates */
    size_t n, cap;
    netset_group_t groups[129]; /* one per distinct length present */
    int n_groups;
    /* IPv4-mapped addresses are answered from the IPv4 address ranges the
     * networks cover, merged and sorted: one binary search.  The private
     * list has twenty-odd prefix lengths, and searching each was 4% of
     * the builder at 1M flow records/s. */
    struct v4_range {
        uint32_t first, last;
    } *v4;
    size_t n_v4;
};

static uint64_t
load_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Masks keeping the first @p len of 128 bits. */
static void
prefix_masks(unsigned len, uint64_t *mhi, uint64_t *mlo)
{
    *mhi = len == 0 ? 0 : len >= 64 ? UINT64_MAX : UINT64_MAX << (64 - len);
    *mlo = len <= 64 ? 0 : len >= 128 ? UINT64_MAX : UINT64_MAX << (128 - len);
}

static int
entry_cmp(const netset_entry_t *a, const netset_entry_t *b)
{
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    return 0;
}

static int
range_cmp(const void *x, const void *y)
{
    uint32_t a = ((const struct v4_range *)x)->first, b = ((const struct v4_range *)y)->first;
    return a < b ? -1 : a > b;
}

/* Recompute the per-length groups and the IPv4 ranges after the array
 * changed. */
static void
rebuild_groups(netset_t *s)
{
    s->n_groups = 0;
    for (size_t i = 0; i < s->n;) {
        size_t j = i;
        while (j < s->n && s->v[j].len == s->v[i].len)
            j++;
        netset_group_t *g = &s->groups[s->n_groups++];
        prefix_masks(s->v[i].len, &g->mask_hi, &g->mask_lo);
        g->start = (uint32_t)i;
        g->end = (uint32_t)j;
        i = j;
    }
    s->v4 = g_renew(struct v4_range, s->v4, s->n);
    s->n_v4 = 0;
    for (size_t i = 0; i < s->n; i++) {
        const netset_entry_t *e = &s->v[i];
        uint64_t mhi, mlo;
        prefix_masks(e->len, &mhi, &mlo);
        if (e->len < 96) {
            /* holds all of ::ffff:0:0/96 (::/80, ::ffff:0:0/95...) or none */
            if (e->hi == 0 && (UINT64_C(0xffff00000000) & mlo) == e->lo)
                s->v4[s->n_v4++] = (struct v4_range){0, UINT32_MAX};
            continue;
        }
        if (e->hi != 0 || (e->lo >> 32) != 0xffff)
            continue; /* not in the IPv4-mapped space */
        uint32_t first = (uint32_t)e->lo;
        s->v4[s->n_v4++] = (struct v4_range){first, first | (uint32_t)~mlo};
    }
    qsort(s->v4, s->n_v4, sizeof(s->v4[0]), range_cmp);
    size_t m = 0;
    for (size_t i = 0; i < s->n_v4; i++) {
        if (m > 0 && (s->v4[m - 1].last == UINT32_MAX || s->v4[i].first <= s->v4[m - 1].last + 1)) {
            if (s->v4[i].last > s->v4[m - 1].last)
                s->v4[m - 1].last = s->v4[i].last;
        } else {
            s->v4[m++] = s->v4[i];
        }
    }
    s->n_v4 = m;
}

/* Insert a network (host bits are cleared here); duplicates are ignored. */
static void
insert_net(netset_t *s, const uint8_t addr[16], unsigned len)
{
    netset_entry_t e;
    uint64_t mhi, mlo;

    prefix_masks(len, &mhi, &mlo);
    e.hi = load_be64(addr) & mhi;
    e.lo = load_be64(addr + 8) & mlo;
    e.len = (uint8_t)len;

    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = entry_cmp(&s->v[mid], &e);
        if (c == 0)
            return;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        s->v = g_renew(netset_entry_t, s->v, s->cap);
    }
    memmove(&s->v[lo + 1], &s->v[lo], (s->n - lo) * sizeof(s->v[0]));
    s->v[lo] = e;
    s->n++;
    rebuild_groups(s);
}

netset_t *
netset_new(void)
{
    return g_new0(netset_t, 1);
}

void
netset_free(netset_t *s)
{
    if (s == NULL)
        return;
    g_free(s->v);
    g_free(s->v4);
    g_free(s);
}

bool
addr_is_v4(const uint8_t a[16])
{
    static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a, v4_mapped, sizeof(v4_mapped)) == 0;
}

bool
addr_parse(const char *str, uint8_t out[16])
{
    uint8_t tmp[16];

    if (str == NULL)
        return false;
    if (strchr(str, ':') == NULL) {
        /* inet_pton(AF_INET) takes exactly four decimal octets and rejects
         * the inet_aton() shorthands ("10.1", "0x0a.0.0.1"). */
        memset(tmp, 0, 10);
        tmp[10] = tmp[11] = 0xff;
        if (inet_pton(AF_INET, str, tmp + 12) != 1)
            return false;
    } else if (inet_pton(AF_INET6, str, tmp) != 1) {
        return false;
    }
    memcpy(out, tmp, 16);
    return true;
}

/* Parse "addr", "addr/len", "[v6addr]" or "[v6addr]/len" (Zeek's subnet
 * literal syntax) into a network.  @p text is the stripped entry. */
static gboolean
parse_cidr(const char *text, uint8_t addr[16], unsigned *len, GError **err)
{
    char buf[INET6_ADDRSTRLEN + 8];
    const char *slash = strchr(text, '/');
    size_t alen = slash ? (size_t)(slash - text) : strlen(text);

    if (alen == 0 || alen >= sizeof(buf)) {
        g_set_error(err, NETSET_ERROR, NETSET_ERROR_PARSE, "invalid network \"%s\": %s",
                    text, alen == 0 ? "no address" : "address too long");
        return FALSE;
    }
    memcpy(buf, text, alen);
    buf[alen] = '\0';

    char *a = buf;
    bool bracketed = false;
    if (a[0] == '[') {
        if (alen < 3 || a[alen - 1] != ']') {
            g_set_error(err, NETSET_ERROR, NETSET_ERROR_PARSE,
                        "invalid network \"%s\": unbalanced brackets", text);
            return FALSE;
        }
        a[alen - 1] = '\0';
        a++;
        bracketed = true;
    }
    if (!addr_parse(a, addr) || (bracketed && strchr(a, ':') == NULL)) {
        g_set_error(err, NETSET_ERROR, NETSET_ERROR_PARSE,
                    "invalid network \"%s\": \"%s\" is not an IPv4 or IPv6 address", text, a);
        return FALSE;
    }

    bool v4 = strchr(a, ':') == NULL;
    unsigned max = v4 ? 32 : 128;
    unsigned n = max;

    if (slash) {
        const char *p = slash + 1;
        size_t digits = strspn(p, "0123456789");
        if (digits == 0 || digits > 3 || p[digits] != '\0') {
            g_set_error(err, NETSET_ERROR, NETSET_ERROR_PARSE,
                        "invalid network \"%s\": prefix length \"%s\" is not a number", text, p);
            return FALSE;
        }
        n = (unsigned)strtoul(p, NULL, 10);
        if (n > max) {
            g_set_error(err, NETSET_ERROR, NETSET_ERROR_PARSE,
                        "invalid network \"%s\": prefix length %u exceeds %u", text, n, max);
            return FALSE;
        }
    }
    *len = v4 ? 96 + n : n;
    return TRUE;
}

gboolean
netset_add(netset_t *s, const char *cidr, GError **err)
{
    g_return_val_if_fail(s != NULL, FALSE);

    uint8_t addr[16];
    unsigned len;
    g_autofree char *text = g_strstrip(g_strdup(cidr ? cidr : ""));

    if (!parse_cidr(text, addr, &len, err))
        return FALSE;
    insert_net(s, addr, len);
    return TRUE;
}

gboolean
netset_add_list(netset_t *s, const char *list, GError **err)
{
    g_return_val_if_fail(s != NULL, FALSE);

    if (list == NULL)
        return TRUE;

    g_auto(GStrv) parts = g_strsplit(list, ",", -1);
    for (char **p = parts; *p; p++) {
        g_strstrip(*p);
        if (**p == '\0') /* tolerate "a, b," and an empty list */
            continue;
        if (!netset_add(s, *p, err))
            return FALSE;
    }
    return TRUE;
}

void
netset_add_private(netset_t *s)
{
    g_return_if_fail(s != NULL);

    /* Site::private_address_space (scripts/base/utils/site.zeek, spec
     * section 9).  Each IPv4 range is also listed as its 6to4 image
     * (RFC 3056): a.b.c.d/n becomes 2002:AABB:CCDD::/(16+n). */
    static const struct {
        uint8_t a, b, c, d, len;
    } v4[] = {
        {0, 0, 0, 0, 8},       /* "this network", RFC 791 */
        {10, 0, 0, 0, 8},      /* private use, RFC 1918 */
        {100, 64, 0, 0, 10},   /* shared address space, RFC 6598 */
        {127, 0, 0, 0, 8},     /* loopback, RFC 1122 */
        {169, 254, 0, 0, 16},  /* link local, RFC 3927 */
        {172, 16, 0, 0, 12},   /* private use, RFC 1918 */
        {192, 0, 0, 0, 24},    /* IETF protocol assignments, RFC 6890 */
        {192, 0, 2, 0, 24},    /* TEST-NET-1, RFC 5737 */
        {192, 168, 0, 0, 16},  /* private use, RFC 1918 */
        {198, 18, 0, 0, 15},   /* benchmarking, RFC 2544 */
        {198, 51, 100, 0, 24}, /* TEST-NET-2, RFC 5737 */
        {203, 0, 113, 0, 24},  /* TEST-NET-3, RFC 5737 */
        {224, 0, 0, 0, 24},    /* local network control block, RFC 5771 */
        {239, 0, 0, 0, 8},     /* administratively scoped, RFC 2365 */
        {240, 0, 0, 0, 4},     /* reserved, RFC 1112 */
        {255, 255, 255, 255, 32}, /* limited broadcast, RFC 919 */
    };
    static const char *const v6[] = {
        "::/128",         /* unspecified, RFC 4291 */
        "::1/128",        /* loopback, RFC 4291 */
        "64:ff9b:1::/48", /* IPv4-IPv6 translation, RFC 8215 */
        "100::/64",       /* discard-only, RFC 6666 */
        "2001::/23",      /* IETF protocol assignments, RFC 2928 */
        "2001:2::/48",    /* benchmarking, RFC 5180 */
        "2001:db8::/32",  /* documentation, RFC 3849 */
        "fc00::/7",       /* unique local, RFC 4193 */
        "fe80::/10",      /* link-local unicast, RFC 4291 */
        "fec0::/10",      /* site-local (deprecated), RFC 3879 */
    };

    for (size_t i = 0; i < G_N_ELEMENTS(v4); i++) {
        uint8_t a[16] = {0};
        a[10] = a[11] = 0xff;
        a[12] = v4[i].a;
        a[13] = v4[i].b;
        a[14] = v4[i].c;
        a[15] = v4[i].d;
        insert_net(s, a, 96u + v4[i].len);

        uint8_t six[16] = {0x20, 0x02, v4[i].a, v4[i].b, v4[i].c, v4[i].d};
        insert_net(s, six, 16u + v4[i].len);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(v6); i++) {
        gboolean ok = netset_add(s, v6[i], NULL);
        g_assert(ok);
    }
}

bool
netset_contains(const netset_t *s, const uint8_t addr[16])
{
    if (s == NULL || s->n == 0)
        return false;

    const uint64_t ahi = load_be64(addr), alo = load_be64(addr + 8);

    if (ahi == 0 && (alo >> 32) == 0xffff) {
        uint32_t a = (uint32_t)alo;
        size_t l = 0, r = s->n_v4; /* the first range starting after a */
        while (l < r) {
            size_t mid = l + (r - l) / 2;
            if (s->v4[mid].first <= a)
                l = mid + 1;
            else
                r = mid;
        }
        return l > 0 && a <= s->v4[l - 1].last;
    }

    for (int gi = 0; gi < s->n_groups; gi++) {
        const netset_group_t *g = &s->groups[gi];
        const uint64_t hi = ahi & g->mask_hi, lo = alo & g->mask_lo;
        uint32_t l = g->start, r = g->end;

        while (l < r) {
            uint32_t mid = l + (r - l) / 2;
            const netset_entry_t *e = &s->v[mid];
            if (e->hi == hi && e->lo == lo)
                return true;
            if (e->hi < hi || (e->hi == hi && e->lo < lo))
                l = mid + 1;
            else
                r = mid;
        }
    }
    return false;
}

bool
netset_is_empty(const netset_t *s)
{
    return s == NULL || s->n == 0;
}

/* Write the dotted quad of @p b into @p p; returns the end. */
static char *
put_dotted(char *p, const uint8_t b[4])
{
    for (int i = 0; i < 4; i++) {
        unsigned v = b[i];
        if (i)
            *p++ = '.';
        if (v >= 100)
            *p++ = (char)('0' + v / 100);
        if (v >= 10)
            *p++ = (char)('0' + v / 10 % 10);
        *p++ = (char)('0' + v % 10);
    }
    return p;
}

char *
addr_put(char *p, const uint8_t a[16])
{
    if (addr_is_v4(a)) {
        /* IPv4 is stored IPv4-mapped; Zeek prints it as a dotted quad.  A
         * genuine IPv6 packet addressed to ::ffff:a.b.c.d also lands here
         * and prints as IPv4 (Zeek would print "::ffff:a.b.c.d"); the two
         * cannot be told apart once stored, and such traffic is vanishingly
         * rare on the wire. */
        p = put_dotted(p, a + 12);
    } else {
        /* RFC 5952 as the BSD/glibc inet_ntop() that Zeek uses renders it:
         * lower-case hex without leading zeros, the longest run of two or
         * more zero groups becomes "::" (the leftmost on a tie), and an
         * address whose first 96 bits are zero (IPv4-compatible, RFC 4291
         * 2.5.5.1) ends in a dotted quad unless it is ::0.0.x.y. */
        uint16_t w[8];
        int best = -1, best_len = 0;

        for (int i = 0; i < 8; i++)
            w[i] = (uint16_t)(a[2 * i] << 8 | a[2 * i + 1]);
        for (int i = 0; i < 8;) {
            if (w[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && w[j] == 0)
                j++;
            if (j - i > best_len) {
                best = i;
                best_len = j - i;
            }
            i = j;
        }
        if (best_len < 2)
            best = -1;

        static const char hex[] = "0123456789abcdef";
        for (int i = 0; i < 8; i++) {
            if (best >= 0 && i >= best && i < best + best_len) {
                if (i == best)
                    *p++ = ':';
                continue;
            }
            if (i != 0)
                *p++ = ':';
            if (i == 6 && best == 0 && best_len == 6) {
                p = put_dotted(p, a + 12);
                break;
            }
            bool started = false;
            for (int shift = 12; shift >= 0; shift -= 4) {
                unsigned nib = (w[i] >> shift) & 0xf;
                if (nib || started || shift == 0) {
                    *p++ = hex[nib];
                    started = true;
                }
            }
        }
        if (best >= 0 && best + best_len == 8)
            *p++ = ':';
    }
    return p;
}

const char *
addr_format(const uint8_t a[16], char *buf, size_t len)
{
    char tmp[ADDR_TEXT_MAX + 1];

    if (buf == NULL || len == 0)
        return "";
    *addr_put(tmp, a) = '\0';
    g_strlcpy(buf, tmp, len);
    return buf;
}
