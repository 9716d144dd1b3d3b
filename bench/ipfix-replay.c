/*
 * ipfix-replay: send an IPFIX file (RFC 5655: a plain stream of messages)
 * to a collector on the loopback interface, one message per UDP datagram,
 * with sendmmsg(2), as fast as possible or at a given rate of data records
 * per second.  Loops of the file can be replayed as new traffic: each loop
 * shifts every address so its flows are distinct connections, and sequence
 * numbers are rewritten to stay continuous, so a collector sees one long
 * export rather than the same one again.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define IPFIX_VERSION 10
#define MSG_HDR_LEN 16
#define SET_HDR_LEN 4
#define MAX_DOMAINS 64
#define MAX_BATCH 1024
#define VARLEN 65535

/* IANA elements rewritten per loop (RFC 7012): source/destination IPv4 and
 * IPv6 addresses. */
#define IE_SRC4 8
#define IE_DST4 12
#define IE_SRC6 27
#define IE_DST6 28

enum { F_PLAIN = 0, F_ADDR4, F_ADDR6 };

/* One template: its field lengths (VARLEN for variable-length fields) and
 * which fields hold addresses. */
typedef struct {
    uint16_t nfields;
    uint16_t *len;
    uint8_t *kind;
    uint32_t min_len; /* bytes of the shortest possible record */
    bool options;     /* an options template: its records are not flows */
} tmpl_t;

typedef struct {
    uint32_t id;
    bool used;
    uint32_t seq;      /* data records sent so far (RFC 7011 section 3.1) */
    tmpl_t *tmpl;      /* indexed by template id, 65536 entries */
} domain_t;

typedef struct {
    domain_t dom[MAX_DOMAINS];
    uint64_t bad_sets; /* sets that did not parse: sent unchanged */
    uint64_t unknown_sets; /* data sets without a template: not counted */
    uint64_t options;  /* options records seen (counted in sequence numbers) */
} state_t;

static domain_t *
domain_get(state_t *st, uint32_t id)
{
    for (int i = 0; i < MAX_DOMAINS; i++) {
        if (st->dom[i].used && st->dom[i].id == id)
            return &st->dom[i];
        if (!st->dom[i].used) {
            st->dom[i].used = true;
            st->dom[i].id = id;
            st->dom[i].tmpl = calloc(65536, sizeof(tmpl_t));
            if (!st->dom[i].tmpl) {
                fprintf(stderr, "ipfix-replay: out of memory\n");
                exit(1);
            }
            return &st->dom[i];
        }
    }
    return NULL;
}

static void
domains_free(state_t *st)
{
    for (int i = 0; i < MAX_DOMAINS; i++) {
        if (!st->dom[i].used)
            continue;
        for (int t = 0; t < 65536; t++) {
            free(st->dom[i].tmpl[t].len);
            free(st->dom[i].tmpl[t].kind);
        }
        free(st->dom[i].tmpl);
    }
}

static uint16_t
rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Parse a template set (id 2) or options template set (id 3) into @p d.
 * Returns false on a malformed set. */
static bool
parse_templates(domain_t *d, const uint8_t *p, size_t len, bool options)
{
    size_t off = 0;

    while (off + 4 <= len) {
        uint16_t tid = rd16(p + off), n = rd16(p + off + 2), scope = 0;
        tmpl_t *t;

        off += 4;
        if (tid < 256)
            return false;
        if (options && n > 0) {
            if (off + 2 > len)
                return false;
            scope = rd16(p + off);
            off += 2;
            if (scope == 0 || scope > n)
                return false;
        }
        t = &d->tmpl[tid];
        free(t->len);
        free(t->kind);
        memset(t, 0, sizeof(*t));
        if (n == 0)
            continue; /* withdrawal (RFC 7011 section 8.1) */
        t->len = calloc(n, sizeof(uint16_t));
        t->kind = calloc(n, 1);
        if (!t->len || !t->kind) {
            fprintf(stderr, "ipfix-replay: out of memory\n");
            exit(1);
        }
        for (uint16_t i = 0; i < n; i++) {
            uint16_t ie, flen;

            if (off + 4 > len)
                goto bad;
            ie = rd16(p + off);
            flen = rd16(p + off + 2);
            off += 4;
            if (ie & 0x8000) {
                if (off + 4 > len)
                    goto bad;
                off += 4; /* enterprise number: never an address we shift */
            } else if ((ie == IE_SRC4 || ie == IE_DST4) && flen == 4) {
                t->kind[i] = F_ADDR4;
            } else if ((ie == IE_SRC6 || ie == IE_DST6) && flen == 16) {
                t->kind[i] = F_ADDR6;
            }
            t->len[i] = flen;
            t->min_len += flen == VARLEN ? 1 : flen;
        }
        t->nfields = n;
        t->options = options;
        continue;
    bad:
        free(t->len);
        free(t->kind);
        memset(t, 0, sizeof(*t));
        return false;
    }
    return true;
}

/* Add @p k to the 16-bit word at @p p (big-endian). */
static void
shift16(uint8_t *p, uint16_t k)
{
    uint16_t v = (uint16_t)(rd16(p) + k);

    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Walk the records of a data set: count them and, for @p shift > 0, move
 * every address by @p shift in its second and third octets (IPv4) or its
 * second 16-bit group (IPv6).  Both directions of a conversation get the
 * same mapping, so uniflows still pair up.  Returns the record count, or
 * -1 if the set does not fit its template. */
static long
walk_data(const tmpl_t *t, uint8_t *p, size_t len, uint16_t shift)
{
    size_t off = 0;
    long n = 0;

    if (t->nfields == 0 || t->min_len == 0)
        return -1;
    /* Anything shorter than a record at the end is padding (RFC 7011 3.3.1). */
    while (off + t->min_len <= len) {
        for (uint16_t i = 0; i < t->nfields; i++) {
            size_t flen = t->len[i];

            if (flen == VARLEN) {
                if (off + 1 > len)
                    return -1;
                flen = p[off++];
                if (flen == 255) {
                    if (off + 2 > len)
                        return -1;
                    flen = rd16(p + off);
                    off += 2;
                }
            }
            if (off + flen > len)
                return -1;
            if (shift && t->kind[i] == F_ADDR4)
                shift16(p + off + 1, shift);
            else if (shift && t->kind[i] == F_ADDR6)
                shift16(p + off + 2, shift);
            off += flen;
        }
        n++;
    }
    return n;
}

/* Process one message in place (a copy): learn templates, count data
 * records, shift addresses for loop @p loop, and rewrite the sequence
 * number.  Returns the message's flow records (data records of non-options
 * templates); options records are added to st->options. */
static long
process_message(state_t *st, uint8_t *m, size_t len, uint16_t loop)
{
    domain_t *d = domain_get(st, rd32(m + 12));
    size_t off = MSG_HDR_LEN;
    long records = 0, all = 0;

    if (!d)
        return 0;
    while (off + SET_HDR_LEN <= len) {
        uint16_t sid = rd16(m + off), slen = rd16(m + off + 2);

        if (slen < SET_HDR_LEN || off + slen > len) {
            st->bad_sets++;
            break;
        }
        if (sid == 2 || sid == 3) {
            if (!parse_templates(d, m + off + 4, slen - 4u, sid == 3))
                st->bad_sets++;
        } else if (sid >= 256) {
            const tmpl_t *t = &d->tmpl[sid];

            if (t->nfields == 0) {
                st->unknown_sets++;
            } else {
                long n = walk_data(t, m + off + 4, slen - 4u, loop);

                if (n < 0) {
                    st->bad_sets++;
                } else {
                    all += n;
                    if (t->options)
                        st->options += (uint64_t)n;
                    else
                        records += n;
                }
            }
        }
        off += slen;
    }
    wr32(m + 8, d->seq);
    d->seq += (uint32_t)all;
    return records;
}

/* True if the message carries a template or options template set. */
static bool
has_templates(const uint8_t *m, size_t len)
{
    for (size_t off = MSG_HDR_LEN; off + SET_HDR_LEN <= len;) {
        uint16_t sid = rd16(m + off), slen = rd16(m + off + 2);

        if (sid == 2 || sid == 3)
            return true;
        if (slen < SET_HDR_LEN)
            break;
        off += slen;
    }
    return false;
}

/* The file's messages: offsets into one buffer. */
typedef struct {
    uint8_t *buf;
    size_t size;
    size_t *off;
    size_t count;
} file_t;

static bool
load_file(const char *path, file_t *f)
{
    FILE *fp = fopen(path, "rb");
    struct stat sb;
    size_t cap = 0, pos = 0;

    memset(f, 0, sizeof(*f));
    if (!fp || fstat(fileno(fp), &sb) != 0) {
        fprintf(stderr, "ipfix-replay: %s: %s\n", path, strerror(errno));
        if (fp)
            fclose(fp);
        return false;
    }
    f->size = (size_t)sb.st_size;
    f->buf = malloc(f->size ? f->size : 1);
    if (!f->buf || fread(f->buf, 1, f->size, fp) != f->size) {
        fprintf(stderr, "ipfix-replay: %s: read failed\n", path);
        fclose(fp);
        return false;
    }
    fclose(fp);
    while (pos + MSG_HDR_LEN <= f->size) {
        uint16_t ver = rd16(f->buf + pos), len = rd16(f->buf + pos + 2);

        if (ver != IPFIX_VERSION || len < MSG_HDR_LEN || pos + len > f->size) {
            fprintf(stderr, "ipfix-replay: %s: not an IPFIX message at offset %zu\n", path, pos);
            return false;
        }
        if (f->count == cap) {
            cap = cap ? cap * 2 : 1024;
            size_t *n = realloc(f->off, cap * sizeof(size_t));
            if (!n) {
                fprintf(stderr, "ipfix-replay: out of memory\n");
                return false;
            }
            f->off = n;
        }
        f->off[f->count++] = pos;
        pos += len;
    }
    if (pos != f->size) {
        fprintf(stderr, "ipfix-replay: %s: %zu trailing bytes\n", path, f->size - pos);
        return false;
    }
    return true;
}

static double
now_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep until @p t (monotonic seconds); the last 100 µs are spun so that
 * high rates keep their pace. */
static void
wait_until(double t)
{
    for (;;) {
        double d = t - now_mono();

        if (d <= 0)
            return;
        if (d > 200e-6) {
            struct timespec ts = {.tv_sec = (time_t)(d - 100e-6),
                                  .tv_nsec = (long)(((d - 100e-6) - (double)(time_t)(d - 100e-6)) * 1e9)};
            nanosleep(&ts, NULL);
        }
    }
}

/* Only loopback destinations: this tool floods. */
static bool
parse_dest(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    char *end;
    unsigned long port;

    if (!colon || (size_t)(colon - s) >= sizeof(host))
        return false;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    port = strtoul(colon + 1, &end, 10);
    if (*end || port == 0 || port > 65535)
        return false;
    memset(ss, 0, sizeof(*ss));
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

        host[strlen(host) - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1 ||
            !IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
            return false;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        *sl = sizeof(*a);
        return true;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1 || (ntohl(a->sin_addr.s_addr) >> 24) != 127)
        return false;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    *sl = sizeof(*a);
    return true;
}

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: ipfix-replay [-r RECORDS_PER_S] [-l LOOPS] [-b BATCH] [-s SNDBUF] FILE "
            "ADDR:PORT\n"
            "       ipfix-replay -c FILE\n"
            "  -r N   offer N data records per second (0: as fast as possible, default)\n"
            "  -l N   send the file N times (default 1), addresses shifted per loop\n"
            "  -b N   datagrams per sendmmsg call (default 32, at most %d)\n"
            "  -s N   SO_SNDBUF in bytes (default: system)\n"
            "  -x N   do not send every Nth message without templates (a known loss; N >= 2)\n"
            "  -c     count messages and data records, send nothing\n"
            "ADDR is 127.x.x.x or [::1]: nothing else is accepted.\n"
            "Prints one line: messages=... records=... seconds=... rate=... errors=...\n"
            "(records: flow records, i.e. data records of non-options templates)\n",
            MAX_BATCH);
}

int
main(int argc, char **argv)
{
    double rate = 0;
    unsigned long loops = 1, batch = 32, skip_every = 0;
    int sndbuf = 0, opt;
    bool count_only = false;
    file_t f;
    state_t st;
    struct sockaddr_storage dst;
    socklen_t dlen = 0;
    int fd = -1, rc = 1;
    uint8_t *stage = NULL;
    struct mmsghdr *msgs = NULL;
    struct iovec *iov = NULL;
    long *recs = NULL;
    uint64_t sent_msgs = 0, sent_recs = 0, errors = 0, per_loop_recs = 0;
    uint64_t staged = 0, skipped_msgs = 0, skipped_recs = 0;
    double t0, t1;

    while ((opt = getopt(argc, argv, "r:l:b:s:x:ch")) != -1) {
        char *end;

        switch (opt) {
        case 'r':
            rate = strtod(optarg, &end);
            if (*end || rate < 0)
                goto bad_usage;
            break;
        case 'l':
            loops = strtoul(optarg, &end, 10);
            if (*end || loops == 0 || loops > 65535)
                goto bad_usage;
            break;
        case 'b':
            batch = strtoul(optarg, &end, 10);
            if (*end || batch == 0 || batch > MAX_BATCH)
                goto bad_usage;
            break;
        case 's':
            sndbuf = (int)strtol(optarg, &end, 10);
            if (*end || sndbuf < 0)
                goto bad_usage;
            break;
        case 'x':
            skip_every = strtoul(optarg, &end, 10);
            if (*end || skip_every == 1)
                goto bad_usage;
            break;
        case 'c':
            count_only = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            goto bad_usage;
        }
    }
    if (argc - optind != (count_only ? 1 : 2))
        goto bad_usage;
    if (!count_only && !parse_dest(argv[optind + 1], &dst, &dlen)) {
        fprintf(stderr, "ipfix-replay: %s: want 127.x.x.x:PORT or [::1]:PORT\n",
                argv[optind + 1]);
        return 1;
    }

    memset(&st, 0, sizeof(st));
    if (!load_file(argv[optind], &f))
        goto out;
    stage = malloc(batch * 65536);
    msgs = calloc(batch, sizeof(*msgs));
    iov = calloc(batch, sizeof(*iov));
    recs = calloc(batch, sizeof(*recs));
    if (!stage || !msgs || !iov || !recs) {
        fprintf(stderr, "ipfix-replay: out of memory\n");
        goto out;
    }

    if (count_only) {
        uint64_t n = 0;

        for (size_t i = 0; i < f.count; i++) {
            size_t len = rd16(f.buf + f.off[i] + 2);

            memcpy(stage, f.buf + f.off[i], len);
            n += (uint64_t)process_message(&st, stage, len, 0);
        }
        printf("messages=%zu records=%" PRIu64 " options=%" PRIu64 " bad_sets=%" PRIu64
               " unknown_sets=%" PRIu64 "\n",
               f.count, n, st.options, st.bad_sets, st.unknown_sets);
        rc = 0;
        goto out;
    }

    fd = socket(dst.ss_family, SOCK_DGRAM, 0);
    if (fd < 0) {
        fprintf(stderr, "ipfix-replay: socket: %s\n", strerror(errno));
        goto out;
    }
    if (sndbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

    t0 = now_mono();
    for (unsigned long loop = 0; loop < loops; loop++) {
        for (size_t i = 0; i < f.count;) {
            unsigned n = 0;

            /* stage up to @batch messages, rewritten for this loop */
            while (n < batch && i < f.count) {
                size_t len = rd16(f.buf + f.off[i] + 2);
                uint8_t *m = stage + (size_t)n * 65536;

                memcpy(m, f.buf + f.off[i], len);
                recs[n] = process_message(&st, m, len, (uint16_t)loop);
                if (loop == 0)
                    per_loop_recs += (uint64_t)recs[n];
                i++;
                /* -x: a loss the collector must notice from the sequence
                 * numbers, which already counted this message.  Template
                 * messages always go, so the rest stays decodable. */
                if (skip_every && !has_templates(m, len) && ++staged % skip_every == 0) {
                    skipped_msgs++;
                    skipped_recs += (uint64_t)recs[n];
                    continue;
                }
                iov[n].iov_base = m;
                iov[n].iov_len = len;
                memset(&msgs[n], 0, sizeof(msgs[n]));
                msgs[n].msg_hdr.msg_name = &dst;
                msgs[n].msg_hdr.msg_namelen = dlen;
                msgs[n].msg_hdr.msg_iov = &iov[n];
                msgs[n].msg_hdr.msg_iovlen = 1;
                n++;
            }
            /* pace: this batch may leave once the records before it are due */
            if (rate > 0)
                wait_until(t0 + (double)sent_recs / rate);
            unsigned done = 0;
            while (done < n) {
                int r = sendmmsg(fd, msgs + done, n - done, 0);

                if (r < 0) {
                    if (errno == EINTR)
                        continue;
                    /* ENOBUFS and the like: this datagram is lost here */
                    errors++;
                    done++;
                    continue;
                }
                for (int j = 0; j < r; j++) {
                    sent_msgs++;
                    sent_recs += (uint64_t)recs[done + (unsigned)j];
                }
                done += (unsigned)r;
            }
        }
    }
    t1 = now_mono();
    printf("messages=%" PRIu64 " records=%" PRIu64 " per_loop=%" PRIu64 " loops=%lu seconds=%.6f "
           "rate=%.0f errors=%" PRIu64 " options=%" PRIu64 " bad_sets=%" PRIu64
           " unknown_sets=%" PRIu64 " skipped_messages=%" PRIu64 " skipped_records=%" PRIu64 "\n",
           sent_msgs, sent_recs, per_loop_recs, loops, t1 - t0,
           t1 > t0 ? (double)sent_recs / (t1 - t0) : 0.0, errors, st.options, st.bad_sets,
           st.unknown_sets, skipped_msgs, skipped_recs);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(stage);
    free(msgs);
    free(iov);
    free(recs);
    free(f.buf);
    free(f.off);
    domains_free(&st);
    return rc;

bad_usage:
    usage(stderr);
    return 2;
}
