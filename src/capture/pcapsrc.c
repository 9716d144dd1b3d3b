/*
 * Packet sources over libpcap: pcap and pcapng files or stdin (offline),
 * and live interfaces (non-blocking, polled by the daemon).  Both validate
 * what libpcap hands over (caplen against wirelen) and count what they
 * cannot deliver, so a damaged file yields every packet before the damage
 * and a clear error after it, and a live source reports the kernel's drops.
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
    FILE *fp;            /* the file under libpcap, for progress; NULL when live */
    char *name;
    uint64_t size;
    uint64_t packets;
    uint64_t bytes;
    int dlt;
    int snaplen;
    int fd;              /* selectable fd of a live source, else -1 */
    weird_counters_t *weirds;
    /* pcap_stats() counters are 32-bit and wrap: keep the last raw values
     * and accumulate the differences modulo 2^32. */
    uint32_t raw_recv, raw_drop, raw_ifdrop;
    uint64_t recv, drop, ifdrop;
    /* the callback of the dispatch in progress */
    pcapsrc_packet_fn fn;
    void *user;
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
    s->name = g_strdup(path);
    s->fd = -1;
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
    g_free(s->name);
    g_free(s);
}

int
pcapsrc_dlt(const pcapsrc_t *s)
{
    return s->dlt;
}

/* Check one packet header, count what is odd, and hand it on. */
static void
deliver(pcapsrc_t *s, const struct pcap_pkthdr *h, const u_char *data, pcapsrc_packet_fn fn,
        void *user)
{
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
    s->bytes += wirelen;
    fn(user, s->dlt, ts, data, caplen, wirelen);
}

bool
pcapsrc_run(pcapsrc_t *s, pcapsrc_packet_fn fn, void *user, volatile int *stop, GError **err)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc = 0;

    while (!(stop && *stop) && (rc = pcap_next_ex(s->pcap, &h, &data)) >= 0) {
        if (rc == 0)
            continue; /* offline reads never time out, but be safe */
        deliver(s, h, data, fn, user);
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
    long pos = s->size && s->fp ? ftell(s->fp) : -1;
    *done = pos > 0 ? (uint64_t)pos : 0;
}

uint64_t
pcapsrc_packets(const pcapsrc_t *s)
{
    return s->packets;
}

const char *
pcapsrc_name(const pcapsrc_t *s)
{
    return s->name;
}

/* ---- live capture */

void
pcapsrc_live_opts_init(pcapsrc_live_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->snaplen = 262144;
    o->promiscuous = true;
    o->immediate = true;
}

/* pcap_activate() results worth a sentence of their own. */
static void
set_activate_error(GError **err, const char *iface, pcap_t *p, int rc)
{
    const char *detail = pcap_geterr(p);

    switch (rc) {
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
        g_set_error(err, PCAPSRC_ERROR, PCAPSRC_ERROR_PERM,
                    "%s: no permission to capture (needs root or CAP_NET_RAW): %s", iface,
                    detail);
        break;
    case PCAP_ERROR_NO_SUCH_DEVICE:
        g_set_error(err, PCAPSRC_ERROR, PCAPSRC_ERROR_OPEN, "%s: no such interface (%s)", iface,
                    detail);
        break;
    case PCAP_ERROR_IFACE_NOT_UP:
        g_set_error(err, PCAPSRC_ERROR, PCAPSRC_ERROR_OPEN, "%s: interface is down", iface);
        break;
    default:
        g_set_error(err, PCAPSRC_ERROR, PCAPSRC_ERROR_OPEN, "%s: cannot capture: %s (%s)",
                    iface, pcap_statustostr(rc), detail);
        break;
    }
}

pcapsrc_t *
pcapsrc_open_live(const char *iface, const pcapsrc_live_opts_t *o, weird_counters_t *weirds,
                  GError **err)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_create(iface, ebuf);

    if (!p) {
        g_set_error(err, PCAPSRC_ERROR, PCAPSRC_ERROR_OPEN, "%s: %s", iface, ebuf);
        return NULL;
    }
    /* Options must be set between create and activate (pcap(3PCAP)). */
    pcap_set_snaplen(p, o->snaplen > 0 ? o->snaplen : 262144);
    pcap_set_promisc(p, o->promiscuous ? 1 : 0);
    if (o->buffer_bytes > 0)
        pcap_set_buffer_size(p, o->buffer_bytes);
    pcap_set_immediate_mode(p, o->immediate ? 1 : 0);
    /* Without immediate mode, a short timeout bounds how long the kernel
     * holds a partly filled block before poll() reports it. */
    pcap_set_timeout(p, 100);
    /* Microsecond stamps, as Zeek reads them. */
    pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_MICRO);

    int rc = pcap_activate(p);
    if (rc < 0) {
        set_activate_error(err, iface, p, rc);
        pcap_close(p);
        return NULL;
    }
    if (rc > 0 && rc != PCAP_WARNING_TSTAMP_TYPE_NOTSUP)
        g_warning("%s: %s: %s", iface, pcap_statustostr(rc), pcap_geterr(p));

    if (o->bpf && *o->bpf) {
        struct bpf_program prog;
        if (pcap_compile(p, &prog, o->bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            g_set_error(err, PCAPSRC_ERROR, PCAPSRC_ERROR_FILTER, "%s: bad filter '%s': %s",
                        iface, o->bpf, pcap_geterr(p));
            pcap_close(p);
            return NULL;
        }
        rc = pcap_setfilter(p, &prog);
        pcap_freecode(&prog);
        if (rc != 0) {
            g_set_error(err, PCAPSRC_ERROR, PCAPSRC_ERROR_FILTER, "%s: cannot set filter: %s",
                        iface, pcap_geterr(p));
            pcap_close(p);
            return NULL;
        }
    }
    if (pcap_setnonblock(p, 1, ebuf) != 0) {
        g_set_error(err, PCAPSRC_ERROR, PCAPSRC_ERROR_OPEN, "%s: cannot set non-blocking: %s",
                    iface, ebuf);
        pcap_close(p);
        return NULL;
    }
    int fd = pcap_get_selectable_fd(p);
    if (fd < 0) {
        g_set_error(err, PCAPSRC_ERROR, PCAPSRC_ERROR_OPEN, "%s: no selectable descriptor",
                    iface);
        pcap_close(p);
        return NULL;
    }

    pcapsrc_t *s = g_new0(pcapsrc_t, 1);
    s->pcap = p;
    s->name = g_strdup(iface);
    s->dlt = pcap_datalink(p);
    s->snaplen = pcap_snapshot(p);
    s->fd = fd;
    s->weirds = weirds;
    return s;
}

int
pcapsrc_fd(const pcapsrc_t *s)
{
    return s->fd;
}

static void
dispatch_cb(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    pcapsrc_t *s = (pcapsrc_t *)user;
    deliver(s, h, data, s->fn, s->user);
}

int
pcapsrc_dispatch(pcapsrc_t *s, int max, pcapsrc_packet_fn fn, void *user, GError **err)
{
    s->fn = fn;
    s->user = user;
    int rc = pcap_dispatch(s->pcap, max > 0 ? max : -1, dispatch_cb, (u_char *)s);
    if (rc == PCAP_ERROR) {
        g_set_error(err, PCAPSRC_ERROR, PCAPSRC_ERROR_READ, "%s: capture failed: %s", s->name,
                    pcap_geterr(s->pcap));
        return -1;
    }
    return rc < 0 ? 0 : rc; /* PCAP_ERROR_BREAK: nothing more this round */
}

static uint64_t
widen(uint32_t now, uint32_t *last, uint64_t *acc)
{
    *acc += (uint32_t)(now - *last);
    *last = now;
    return *acc;
}

void
pcapsrc_counters(pcapsrc_t *s, pcapsrc_counters_t *out)
{
    struct pcap_stat st;

    memset(out, 0, sizeof(*out));
    out->packets = s->packets;
    out->bytes = s->bytes;
    if (s->fd >= 0 && pcap_stats(s->pcap, &st) == 0) {
        widen(st.ps_recv, &s->raw_recv, &s->recv);
        widen(st.ps_drop, &s->raw_drop, &s->drop);
        widen(st.ps_ifdrop, &s->raw_ifdrop, &s->ifdrop);
    }
    out->kernel_received = s->recv;
    out->kernel_dropped = s->drop;
    out->if_dropped = s->ifdrop;
}
