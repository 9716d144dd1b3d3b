/*
 * bareloop: the benchmark baseline.  The least work any pcap-to-flow tool
 * must do: read packets with pcap_next_ex, parse Ethernet/VLAN/IPv4/IPv6 and
 * the TCP/UDP ports, and count packets per bidirectional 5-tuple in a fixed
 * open-addressing table.  connlogd's speed is reported relative to this.
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pcap/pcap.h>

/* One flow: endpoints in canonical order (lower address/port first), so both
 * directions of a conversation share a slot. */
typedef struct {
    uint8_t lo[16], hi[16]; /* IPv4 as ::ffff:a.b.c.d */
    uint16_t lo_port, hi_port;
    uint8_t proto;
    uint8_t used;
    uint64_t packets;
} slot_t;

typedef struct {
    slot_t *slots;
    uint64_t mask;
    uint64_t used;
    uint64_t dropped; /* packets of new flows that found the table full */
} table_t;

typedef struct {
    uint64_t packets, flows, non_ip, truncated;
} stats_t;

static uint64_t
load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* Multiply-xorshift mixing (the murmur3 finalizer) over the key words. */
static uint64_t
key_hash(const slot_t *k)
{
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ k->proto;
    const uint64_t words[5] = { load64(k->lo), load64(k->lo + 8), load64(k->hi), load64(k->hi + 8),
                                (uint64_t)k->lo_port << 16 | k->hi_port };
    for (int i = 0; i < 5; i++) {
        h ^= words[i];
        h *= UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 33;
    }
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    return h ^ (h >> 33);
}

static bool
key_eq(const slot_t *a, const slot_t *b)
{
    return a->proto == b->proto && a->lo_port == b->lo_port && a->hi_port == b->hi_port &&
           memcmp(a->lo, b->lo, 16) == 0 && memcmp(a->hi, b->hi, 16) == 0;
}

/* Count one packet for key @p k: linear probing; a full table drops new flows
 * (counted) rather than grow, so the loop never allocates. */
static void
table_count(table_t *t, const slot_t *k)
{
    uint64_t i = key_hash(k) & t->mask;
    for (uint64_t n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
        slot_t *s = &t->slots[i];
        if (!s->used) {
            if (t->used * 10 >= (t->mask + 1) * 9) {
                t->dropped++;
                return;
            }
            *s = *k;
            s->used = 1;
            s->packets = 1;
            t->used++;
            return;
        }
        if (key_eq(s, k)) {
            s->packets++;
            return;
        }
    }
    t->dropped++;
}

static uint16_t
rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Parse one Ethernet frame into a canonical key; false if it is not IP or is
 * cut short (counted by the caller). */
static bool
parse(const uint8_t *d, uint32_t caplen, slot_t *k, bool *truncated)
{
    uint8_t src[16] = { 0 }, dst[16] = { 0 };
    uint16_t sport = 0, dport = 0;
    uint8_t proto;
    uint32_t off = 14;

    *truncated = false;
    if (caplen < 14)
        goto cut;
    uint16_t type = rd16(d + 12);
    for (int tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8 || type == 0x9100); tags++) {
        if (caplen < off + 4)
            goto cut;
        type = rd16(d + off + 2);
        off += 4;
    }

    uint32_t l4;
    bool first_fragment = true;
    if (type == 0x0800) {
        if (caplen < off + 20)
            goto cut;
        const uint8_t *ip = d + off;
        uint32_t ihl = (ip[0] & 0x0f) * 4u;
        if ((ip[0] >> 4) != 4 || ihl < 20)
            return false;
        proto = ip[9];
        src[10] = src[11] = dst[10] = dst[11] = 0xff;
        memcpy(src + 12, ip + 12, 4);
        memcpy(dst + 12, ip + 16, 4);
        first_fragment = (rd16(ip + 6) & 0x1fff) == 0;
        l4 = off + ihl;
    } else if (type == 0x86dd) {
        if (caplen < off + 40)
            goto cut;
        const uint8_t *ip = d + off;
        proto = ip[6];
        memcpy(src, ip + 8, 16);
        memcpy(dst, ip + 24, 16);
        l4 = off + 40;
        /* hop-by-hop, routing, destination options, fragment (RFC 8200 4) */
        for (int n = 0; n < 8 && (proto == 0 || proto == 43 || proto == 60 || proto == 44); n++) {
            if (caplen < l4 + 8)
                goto cut;
            uint8_t next = d[l4];
            if (proto == 44) {
                first_fragment = (rd16(d + l4 + 2) & 0xfff8) == 0;
                l4 += 8;
            } else {
                l4 += (d[l4 + 1] + 1u) * 8;
            }
            proto = next;
        }
    } else {
        return false;
    }

    if ((proto == 6 || proto == 17) && first_fragment) {
        if (caplen < l4 + 4)
            goto cut;
        sport = rd16(d + l4);
        dport = rd16(d + l4 + 2);
    }

    int c = memcmp(src, dst, 16);
    bool swap = c > 0 || (c == 0 && sport > dport);
    memcpy(k->lo, swap ? dst : src, 16);
    memcpy(k->hi, swap ? src : dst, 16);
    k->lo_port = swap ? dport : sport;
    k->hi_port = swap ? sport : dport;
    k->proto = proto;
    return true;

cut:
    *truncated = true;
    return false;
}

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(void)
{
    fprintf(stderr, "usage: bareloop [-t LOG2_SLOTS] FILE.pcap\n"
                    "  Reads FILE, counts packets per bidirectional 5-tuple and prints\n"
                    "  'bareloop: P packets, F flows, S s'.  -t sets the table size\n"
                    "  (default 2^21 slots; flows beyond 90%% occupancy are dropped).\n");
}

int
main(int argc, char **argv)
{
    int log2_slots = 21;
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            log2_slots = atoi(argv[++i]);
            if (log2_slots < 4 || log2_slots > 30) {
                fprintf(stderr, "bareloop: -t must be between 4 and 30\n");
                return 2;
            }
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            usage();
            return 2;
        } else {
            file = argv[i];
        }
    }
    if (!file) {
        usage();
        return 2;
    }

    table_t t = { .mask = (UINT64_C(1) << log2_slots) - 1 };
    t.slots = calloc(t.mask + 1, sizeof(slot_t));
    if (!t.slots) {
        fprintf(stderr, "bareloop: cannot allocate 2^%d slots\n", log2_slots);
        return 1;
    }

    double t0 = now();
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(file, errbuf);
    if (!pc) {
        fprintf(stderr, "bareloop: %s\n", errbuf);
        free(t.slots);
        return 1;
    }
    if (pcap_datalink(pc) != DLT_EN10MB) {
        fprintf(stderr, "bareloop: %s: only Ethernet captures are supported\n", file);
        pcap_close(pc);
        free(t.slots);
        return 1;
    }

    stats_t st = { 0 };
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;
    while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
        st.packets++;
        slot_t k;
        bool cut;
        if (parse(data, h->caplen, &k, &cut))
            table_count(&t, &k);
        else if (cut)
            st.truncated++;
        else
            st.non_ip++;
    }
    int status = 0;
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "bareloop: %s: %s\n", file, pcap_geterr(pc));
        status = 1;
    }
    pcap_close(pc);
    double secs = now() - t0;

    printf("bareloop: %" PRIu64 " packets, %" PRIu64 " flows, %.3f s\n", st.packets, t.used, secs);
    if (st.non_ip || st.truncated || t.dropped)
        printf("bareloop: %" PRIu64 " not IP, %" PRIu64 " truncated, %" PRIu64
               " packets of flows dropped (table full)\n",
               st.non_ip, st.truncated, t.dropped);
    free(t.slots);
    return status;
}
