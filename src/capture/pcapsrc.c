/*
 * Offline packet source over libpcap: pcap and pcapng files, or stdin.
 * It validates what libpcap hands over (caplen against wirelen and the
 * snaplen) and counts what it cannot deliver, so a damaged file yields
 * every packet before the damage and a clear error after it.
 */
#include "capture/pcapsrc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <pcap/pcap.h>

G_DEFINE_QUARK(connlogd-pcapsrc-error-quark, pcapsrc_error)

struct pcapsrc {
    pcap_t *pcap;
    FILE *fp;            /* the file under libpcap, for progress */
    uint64_t size;
    uint64_t packets;
    int dlt;
    int snaplen;
    weird_counters_t *weirds;
};

pcapsrc_t *
pcapsrc_open_offline(const char *path, const char *bpf, weird_counters_t *weirds, GError **err)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    FILE *fp;

    if (strcmp(path, "-") == 0) {
        fp = stdin;
    } else {
        fp = fopen(path, "rb");
        if (!fp) {
            g_set_error(err, PCAPSRC_ERROR, PCAPSRC_ERROR_OPEN, "%s: %s", path,
                        g_strerror(errno));
            return NULL;
        }
    }
    pcap_t *p = pcap_fopen_offline(fp, ebuf);
    if (!p) {
        g_set_error(err, PCAPSRC_ERROR, PCAPSRC_ERROR_OPEN, "%s: not a pcap or pcapng file (%s)",
                    path, ebuf);
        if (fp != stdin)
            fclose(fp);
        return NULL;
    }
    if (bpf && *bpf) {
        struct bpf_program prog;
        if (pcap_compile(p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            g_set_error(err, PCAPSRC_ERROR, PCAPSRC_ERROR_FILTER, "bad filter '%s': %s", bpf,
                        pcap_geterr(p));
            pcap_close(p);
            return NULL;
        }
        int rc = pcap_setfilter(p, &prog);
        pcap_freecode(&prog);
        if (rc != 0) {
            g_set_error(err, PCAPSRC_ERROR, PCAPSRC_ERROR_FILTER, "cannot set filter: %s",
                        pcap_geterr(p));
            pcap_close(p);
            return NULL;
        }
    }
    pcapsrc_t *s = g_new0(pcapsrc_t, 1);
    s->pcap = p;
    s->fp = fp;
    s->dlt = pcap_datalink(p);
    s->snaplen = pcap_snapshot(p);
    s->weirds = weirds;
    struct stat st;
    if (fp != stdin && fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode))
        s->size = (uint64_t)st.st_size;
    return s;
}

void
pcapsrc_free(pcapsrc_t *s)
{
    if (!s)
        return;
    pcap_close(s->pcap); /* closes the FILE too */
    g_free(s);
}

int
pcapsrc_dlt(const pcapsrc_t *s)
{
    return s->dlt;
}

bool
pcapsrc_run(pcapsrc_t *s, pcapsrc_packet_fn fn, void *user, volatile int *stop, GError **err)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;

    while (!(stop && *stop) && (rc = pcap_next_ex(s->pcap, &h, &data)) >= 0) {
        if (rc == 0)
            continue; /* offline reads never time out, but be safe */
        uint32_t caplen = h->caplen, wirelen = h->len;
        if (caplen > wirelen) {
            /* libpcap accepts it; Zeek trusts caplen. Count and clamp. */
            weird_bump(s->weirds, WEIRD_PCAP_CAPLEN_GT_WIRELEN);
            wirelen = caplen;
        }
        if (caplen < wirelen)
            weird_bump(s->weirds, WEIRD_PCAP_SNAPLEN_CUT);
        /* as Zeek computes packet time (microseconds in a double) */
        double ts = (double)h->ts.tv_sec + (double)h->ts.tv_usec / 1e6;
        s->packets++;
        fn(user, s->dlt, ts, data, caplen, wirelen);
    }
    if (stop && *stop)
        return true;
    if (rc == PCAP_ERROR) {
        weird_bump(s->weirds, WEIRD_PCAP_TRUNCATED_FILE);
        g_set_error(err, PCAPSRC_ERROR, PCAPSRC_ERROR_READ,
                    "input broke off after %" G_GUINT64_FORMAT " packets: %s", s->packets,
                    pcap_geterr(s->pcap));
        return false;
    }
    return true;
}

void
pcapsrc_progress(const pcapsrc_t *s, uint64_t *done, uint64_t *total)
{
    *total = s->size;
    long pos = s->size ? ftell(s->fp) : -1;
    *done = pos > 0 ? (uint64_t)pos : 0;
}

uint64_t
pcapsrc_packets(const pcapsrc_t *s)
{
    return s->packets;
}
