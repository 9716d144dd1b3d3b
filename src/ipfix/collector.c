/*
 * The ingest loop.  We own every socket and file except the NetFlow port's
 * UDP socket (fixbuf's: only its collector runs the v9 translator); IPFIX
 * goes through fixbuf in connection-less mode after our own structural check.
 * The allow-list and the limits (collector.h) are applied before anything
 * reaches fixbuf.  Counters are relaxed atomics; the exporter table is
 * locked for snapshots.
 */
#define G_LOG_DOMAIN "connlogd-ipfix"

#include "config.h"

#include "ipfix/collector.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sock_diag.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fixbuf/public.h>

/* Under AddressSanitizer the unused part of a receive buffer is poisoned
 * while a message in it is processed: a read past the message (ours or
 * libfixbuf's) then fails at once instead of reading stale bytes, which
 * the fuzz targets could not see in a 64 KiB buffer. */
#if defined(__SANITIZE_ADDRESS__)
#define CONNLOGD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONNLOGD_ASAN 1
#endif
#endif
#ifdef CONNLOGD_ASAN
#include <sanitizer/asan_interface.h>
#define GUARD_TAIL(base, used, cap) ASAN_POISON_MEMORY_REGION((base) + (used), (cap) - (used))
#define UNGUARD(base, cap) ASAN_UNPOISON_MEMORY_REGION((base), (cap))
#else
#define GUARD_TAIL(base, used, cap) ((void)(base), (void)(used), (void)(cap))
#define UNGUARD(base, cap) ((void)(base), (void)(cap))
#endif

#include "core/netset.h"
#include "ipfix/infomodel.h"
#include "ipfix/v5.h"

G_DEFINE_QUARK(ipfix-collector-error-quark, ipfix_collector_error)

#define MSG_MAX 65535           /* IPFIX/v9 message length is a 16-bit field */
#define UDP_BATCH 64            /* datagrams per socket per poll */
#define FRAME_BATCH 256         /* stream messages per source per poll */
#define MAX_RECORDS_PER_MSG 65536 /* records of >= 1 octet in a 64 KiB message */
#define HOUSEKEEPING_US (5 * G_USEC_PER_SEC) /* or half the idle timeout if shorter */
/* libfixbuf drops a NetFlow v9 session only after this long without a
 * datagram (FB_UDP_TIMEOUT in its fbcollector.h), so we hold the session's
 * slot and template count at least as long. */
#define FIXBUF_V9_SESSION_US (1800 * G_USEC_PER_SEC)
#define REFUSAL_LOG_US (60 * G_USEC_PER_SEC)

#define CTR(e, k, v) __atomic_fetch_add(&(e)->st.n[(k)], (uint64_t)(v), __ATOMIC_RELAXED)
#define TOT(c, k, v) __atomic_fetch_add(&(c)->tot[(k)], (uint64_t)(v), __ATOMIC_RELAXED)

typedef enum {
    SRC_UDP = 0,     /* our IPFIX UDP socket */
    SRC_NETFLOW,     /* fixbuf's UDP socket, dispatched by version */
    SRC_TCP_LISTEN,
    SRC_TCP_CONN,
    SRC_FILE,
} src_kind_t;

/* Where the next IPFIX message of one observation domain must start:
 * RFC 7011 section 3.1 scopes sequence numbers to (transport session,
 * observation domain). */
typedef struct {
    bool used;
    uint32_t domain;
    uint32_t next_seq;
} seq_slot_t;

#define STREAM_DOMAINS 8

/* One template a session has defined: the key is (observation domain <<
 * 16 | template id).  The entry is its own hash key (key comes first), so
 * a redefinition updates it in place without allocating. */
typedef struct {
    guint64 key;
    unsigned fields;
} tmpl_entry_t;

/* The templates one transport session has defined, as libfixbuf keeps
 * them. */
typedef struct {
    GHashTable *ids; /* &tmpl_entry_t.key -> tmpl_entry_t; NULL until the first */
    unsigned fields; /* sum of their fields */
} tmpl_budget_t;

/* One change budget_set() made, so that a refused message can be undone. */
typedef struct {
    guint64 key;
    unsigned old_fields;
    bool existed;
} budget_undo_t;

/* Sessions and exporter entries held by one source address. */
typedef struct {
    unsigned sessions;
    unsigned exporters;
} addr_use_t;

/* Gauges for ipfix_collector_usage(), in its field order. */
enum { USE_SESSIONS, USE_EXPORTERS, USE_TEMPLATES, USE_FIELDS, USE_ALIENS, USE_COUNT };

/* One IPFIX transport session read through a connection-less fBuf. */
typedef struct {
    fBuf_t *fbuf; /* owns its fbSession_t */
    ipfix_collector_t *owner;
    bool limited;     /* a network session: holds a session slot, templates capped */
    uint8_t addr[16];
    uint16_t port;
    gint64 last_seen; /* monotonic us */
    seq_slot_t seq[STREAM_DOMAINS];
    unsigned seq_victim;
    tmpl_budget_t budget;
} stream_t;

typedef struct {
    uint8_t addr[16];
    uint16_t port;
    uint16_t pad;
} peer_key_t;

typedef struct {
    uint8_t proto;
    uint8_t pad[3];
    uint8_t addr[16];
    uint16_t port;
    uint16_t pad2;
    uint32_t domain;
    uint32_t file_no;
} exporter_key_t;

typedef struct {
    exporter_key_t key;
    ipfix_collector_t *owner;
    bool holds_session;        /* NetFlow v9: the exporter is libfixbuf's session */
    tmpl_budget_t budget;      /* NetFlow v9 only; IPFIX keeps it per stream */
    ipfix_exporter_stats_t st; /* n[] and last_seen_us updated atomically */
    gint64 last_seen_us;       /* wall clock */
    gint64 last_mono;          /* for expiry */
    ipfix_norm_meta_t meta;
    ipfix_v5_stream_t v5;
    bool have_seq;   /* NetFlow v9 only; IPFIX keeps it per stream */
    uint32_t next_seq;
    bool have_hash;
    uint64_t last_hash;
    size_t last_len;
} exporter_t;

typedef struct {
    src_kind_t kind;
    int fd;
    char *label;
    bool own_fd;
    bool regular; /* regular file: always readable */
    bool done;
    fbListener_t *listener; /* SRC_NETFLOW */
    fbSession_t *base_session; /* SRC_NETFLOW: template for fixbuf's clones */
    uint8_t *buf;           /* SRC_TCP_CONN, SRC_FILE: framing buffer */
    size_t len;
    stream_t *stream;       /* SRC_TCP_CONN, SRC_FILE */
    uint8_t peer_addr[16];
    uint16_t peer_port;
    uint32_t file_no;
    uint16_t bound_port;
    uint32_t drops_seen;    /* SRC_UDP, SRC_NETFLOW: the socket's drop count last read */
} source_t;

struct ipfix_collector {
    ipfix_collector_config_t cfg;
    char *templates_dir;
    flow_obs_fn cb;
    void *ud;
    fbInfoModel_t *model;
    ipfix_normalize_t *norm;

    GPtrArray *sources;      /* source_t* */
    GHashTable *udp_streams; /* peer_key_t* -> stream_t* (IPFIX over UDP) */
    GHashTable *exporters;   /* exporter_key_t* -> exporter_t* */
    GMutex lock;             /* exporters table structure */
    uint32_t next_id;
    uint32_t next_file_no;
    unsigned n_tcp_conns;
    netset_t *allow;         /* NULL: every address */
    GHashTable *addrs;       /* 16-octet address -> addr_use_t* (network peers only) */
    unsigned n_sessions;
    unsigned n_aliens;       /* elements templates added to the model (see collector.h) */
    GArray *undo;            /* budget_undo_t, scratch of the message being checked */
    GArray *walk_scratch;    /* vfield_t, for ipfix_records_ok() */
    uint64_t use[USE_COUNT]; /* written by this thread, read atomically by others */
    gint64 refusal_next[IPFIX_TOT_COUNT]; /* when a refusal of that kind may log again */
    uint64_t refusal_logged[IPFIX_TOT_COUNT];

    int wake[2];
    GArray *pfds;            /* struct pollfd, rebuilt each poll */
    GPtrArray *pfd_src;      /* source_t* per pfds entry (NULL: wake pipe) */
    gint64 next_housekeeping;

    exporter_t *cur;         /* exporter of the fixbuf call in progress */
    char last_fixbuf_msg[256]; /* last diagnostic libfixbuf logged to us */
    uint64_t tot[IPFIX_TOT_COUNT];
    int delivered;

    union {
        uint8_t dgram[MSG_MAX + 1];
        uint64_t align;
    } u;
    flow_obs_t v5_out[IPFIX_V5_MAX_COUNT];
};

/* ------------------------------------------------------------ log hook */

/* libfixbuf reports missing templates, template errors and sequence
 * trouble only through g_warning/g_message in the default domain.  While
 * this thread is inside a fixbuf call for us, the handler attributes them
 * to the exporter being read; otherwise it passes them on untouched. */
static __thread ipfix_collector_t *tls_capture;
static GMutex log_lock;
static guint log_handler_id;
static unsigned log_refs;

static void
fixbuf_log_handler(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
    ipfix_collector_t *c = tls_capture;
    exporter_t *e;

    (void)data;
    if (c == NULL) {
        g_log_default_handler(domain, level, msg, NULL);
        return;
    }
    e = c->cur;
    if (g_str_has_prefix(msg, "IPFIX Message out of sequence")
        || g_str_has_prefix(msg, "NetFlow V9 sequence number mismatch")) {
        /* we track sequence numbers ourselves */
    } else if (g_str_has_prefix(msg, "NetFlow V9 Record Count Discrepancy")) {
        /* RFC 3954 5.1 counts template and options records too; many
         * exporters (softflowd among them) count data records only */
        if (e != NULL)
            CTR(e, IPFIX_CTR_LENGTH_MISMATCH, 1);
    } else if (g_str_has_prefix(msg, "Skipping set") || g_str_has_prefix(msg, "Skipping STML")
               || g_str_has_prefix(msg, "Skipping SubTemplateList")) {
        if (e != NULL)
            CTR(e, IPFIX_CTR_MISSING_TEMPLATE, 1);
        else
            TOT(c, IPFIX_TOT_FIXBUF_WARNINGS, 1);
    } else if (e != NULL
               && (g_str_has_prefix(msg, "Ignoring template")
                   || g_str_has_prefix(msg, "End of set reading template")
                   || g_str_has_prefix(msg, "Invalid Length"))) {
        CTR(e, IPFIX_CTR_MALFORMED, 1);
    } else {
        /* e.g. "Template warning: Illegal length 4 for messageScope", which
         * fixbuf's own v9 translation of options scopes provokes */
        TOT(c, IPFIX_TOT_FIXBUF_WARNINGS, 1);
    }
    /* No logging from here: GLib aborts on a message logged from inside a
     * handler.  Keep the text for the caller's debug output instead. */
    g_strlcpy(c->last_fixbuf_msg, msg, sizeof(c->last_fixbuf_msg));
}

static void
log_hook_ref(void)
{
    g_mutex_lock(&log_lock);
    if (log_refs++ == 0)
        log_handler_id = g_log_set_handler(NULL, G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE,
                                           fixbuf_log_handler, NULL);
    g_mutex_unlock(&log_lock);
}

static void
log_hook_unref(void)
{
    g_mutex_lock(&log_lock);
    if (--log_refs == 0)
        g_log_remove_handler(NULL, log_handler_id);
    g_mutex_unlock(&log_lock);
}

/* ------------------------------------------------------------ helpers */

static inline uint16_t
be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t
be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static double
wall_now(void)
{
    return (double)g_get_real_time() / G_USEC_PER_SEC;
}

/* Peer address as 16 octets (IPv4 as ::ffff:a.b.c.d) and a port. */
static void
sockaddr_to_key(const struct sockaddr *sa, socklen_t len, uint8_t addr[16], uint16_t *port)
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    memset(addr, 0, 16);
    *port = 0;
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

        memcpy(addr, v4mapped, 12);
        memcpy(addr + 12, &in->sin_addr, 4);
        *port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

        memcpy(addr, &in6->sin6_addr, 16);
        *port = ntohs(in6->sin6_port);
    }
}

static void
addr_to_string(const uint8_t addr[16], char *out, size_t outlen)
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (memcmp(addr, v4mapped, 12) == 0)
        inet_ntop(AF_INET, addr + 12, out, (socklen_t)outlen);
    else
        inet_ntop(AF_INET6, addr, out, (socklen_t)outlen);
}

/* 64-bit FNV-1a over the small keys of the exporter tables. */
static uint64_t
hash_bytes(const uint8_t *p, size_t len)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* ----------------------------------------------------------- exporters */

static guint
exporter_key_hash(gconstpointer k)
{
    const exporter_key_t *key = k;

    return (guint)hash_bytes((const uint8_t *)key, sizeof(*key));
}

static gboolean
exporter_key_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(exporter_key_t)) == 0;
}

static guint
peer_key_hash(gconstpointer k)
{
    return (guint)hash_bytes(k, sizeof(peer_key_t));
}

static gboolean
peer_key_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(peer_key_t)) == 0;
}

static guint
addr_hash(gconstpointer k)
{
    return (guint)hash_bytes(k, 16);
}

static gboolean
addr_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, 16) == 0;
}

/* ------------------------------------------------------------- limits */

static void
use_add(ipfix_collector_t *c, int k, int64_t delta)
{
    __atomic_fetch_add(&c->use[k], (uint64_t)delta, __ATOMIC_RELAXED);
}

static bool
peer_allowed(const ipfix_collector_t *c, const uint8_t addr[16])
{
    return c->allow == NULL || netset_contains(c->allow, addr);
}

/*
 * Count a refusal of kind @p k and log it, at most once a minute per kind
 * with the number since the last report, so that a flood cannot flood the
 * log as well.
 */
static void
refusal(ipfix_collector_t *c, ipfix_total_t k, const uint8_t addr[16], const char *why)
{
    gint64 now = g_get_monotonic_time();
    uint64_t n;
    char astr[INET6_ADDRSTRLEN];

    TOT(c, k, 1);
    if (now < c->refusal_next[k])
        return;
    c->refusal_next[k] = now + REFUSAL_LOG_US;
    n = __atomic_load_n(&c->tot[k], __ATOMIC_RELAXED);
    addr_to_string(addr, astr, sizeof(astr));
    g_message("%s: %s (%" G_GUINT64_FORMAT " refused since the last report)", astr, why,
              n - c->refusal_logged[k]);
    c->refusal_logged[k] = n;
}

static addr_use_t *
addr_use(ipfix_collector_t *c, const uint8_t addr[16], bool create)
{
    addr_use_t *u = g_hash_table_lookup(c->addrs, addr);

    if (u == NULL && create) {
        u = g_new0(addr_use_t, 1);
        g_hash_table_insert(c->addrs, g_memdup2(addr, 16), u);
    }
    return u;
}

static void
addr_release(ipfix_collector_t *c, const uint8_t addr[16], unsigned sessions,
             unsigned exporters)
{
    addr_use_t *u = addr_use(c, addr, false);

    if (u == NULL)
        return;
    u->sessions -= MIN(u->sessions, sessions);
    u->exporters -= MIN(u->exporters, exporters);
    if (u->sessions == 0 && u->exporters == 0)
        g_hash_table_remove(c->addrs, addr);
}

/* Take a transport-session slot for @p addr: false (counted and logged)
 * when the collector or that address has none left. */
static bool
session_acquire(ipfix_collector_t *c, const uint8_t addr[16])
{
    addr_use_t *u = addr_use(c, addr, false);

    if (c->n_sessions >= c->cfg.max_sessions) {
        refusal(c, IPFIX_TOT_SESSION_LIMIT, addr, "new session refused: max_sessions reached");
        return false;
    }
    if (u != NULL && u->sessions >= c->cfg.max_sessions_per_address) {
        refusal(c, IPFIX_TOT_SESSION_LIMIT, addr,
                "new session refused: the address has max_sessions_per_address");
        return false;
    }
    addr_use(c, addr, true)->sessions++;
    c->n_sessions++;
    use_add(c, USE_SESSIONS, 1);
    return true;
}

static void
session_release(ipfix_collector_t *c, const uint8_t addr[16])
{
    c->n_sessions--;
    use_add(c, USE_SESSIONS, -1);
    addr_release(c, addr, 1, 0);
}

/* Forget every template of @p b (its session is going away). */
static void
budget_clear(ipfix_collector_t *c, tmpl_budget_t *b)
{
    if (b->ids == NULL)
        return;
    use_add(c, USE_TEMPLATES, -(int64_t)g_hash_table_size(b->ids));
    use_add(c, USE_FIELDS, -(int64_t)b->fields);
    g_hash_table_destroy(b->ids);
    b->ids = NULL;
    b->fields = 0;
}

/* Record template @p tid of @p domain with @p fields fields in @p b,
 * keeping what it replaces in c->undo. */
static void
budget_set(ipfix_collector_t *c, tmpl_budget_t *b, uint32_t domain, uint16_t tid,
           unsigned fields)
{
    guint64 key = (guint64)domain << 16 | tid;
    budget_undo_t u = {.key = key};
    tmpl_entry_t *t;

    if (b->ids == NULL)
        b->ids = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    t = g_hash_table_lookup(b->ids, &key);
    u.existed = t != NULL;
    if (t == NULL) {
        t = g_new0(tmpl_entry_t, 1);
        t->key = key;
        g_hash_table_insert(b->ids, &t->key, t);
    }
    u.old_fields = t->fields;
    g_array_append_val(c->undo, u);
    b->fields = b->fields - t->fields + fields;
    t->fields = fields;
}

/*
 * Keep the changes budget_set() made since c->undo was emptied if @p b is
 * still within the limits (true), or take them back in reverse order
 * (false).  Updates the usage gauges either way.
 */
static bool
budget_commit(ipfix_collector_t *c, tmpl_budget_t *b, unsigned n_before, unsigned f_before,
              unsigned aliens)
{
    unsigned n = b->ids ? g_hash_table_size(b->ids) : 0;

    if (n > c->cfg.max_templates || b->fields > c->cfg.max_template_fields
        || aliens > c->cfg.max_unknown_elements - c->n_aliens) {
        for (guint i = c->undo->len; i-- > 0;) {
            const budget_undo_t *u = &g_array_index(c->undo, budget_undo_t, i);
            tmpl_entry_t *t = g_hash_table_lookup(b->ids, &u->key);

            b->fields = b->fields - t->fields + u->old_fields;
            t->fields = u->old_fields;
            if (!u->existed)
                g_hash_table_remove(b->ids, &u->key); /* frees t */
        }
        g_array_set_size(c->undo, 0);
        return false;
    }
    g_array_set_size(c->undo, 0);
    use_add(c, USE_TEMPLATES, (int64_t)n - n_before);
    use_add(c, USE_FIELDS, (int64_t)b->fields - f_before);
    c->n_aliens += aliens;
    use_add(c, USE_ALIENS, aliens);
    return true;
}

/*
 * Apply the template records of an IPFIX message (already structurally
 * checked by ipfix_message_ok()) to @p b.  False, with nothing applied, if
 * they would take the session past max_templates or max_template_fields,
 * or the collector past max_unknown_elements.
 * A withdrawal (RFC 7011 section 8.1) counts as a template of no fields:
 * libfixbuf 2.4 stores it as such.  An all-templates withdrawal (id 2 or 3)
 * is refused by libfixbuf and not counted.  Elements the model does not
 * know count against max_unknown_elements (an element named twice in one
 * message counts twice: the cap errs on the safe side).
 */
static bool
budget_take_ipfix(ipfix_collector_t *c, tmpl_budget_t *b, uint32_t domain, const uint8_t *m,
                  size_t len)
{
    unsigned n_before = b->ids ? g_hash_table_size(b->ids) : 0, f_before = b->fields;
    unsigned aliens = 0;
    size_t off = 16;

    while (len - off >= 4) {
        uint16_t id = be16(m + off);
        size_t end = off + be16(m + off + 2), p = off + 4;

        if (id == 2 || id == 3) {
            while (end - p >= 4) {
                uint16_t tid = be16(m + p), fc = be16(m + p + 2);

                p += 4;
                if (fc == 0) {
                    if (tid >= 256)
                        budget_set(c, b, domain, tid, 0);
                    continue;
                }
                if (id == 3)
                    p += 2;
                for (unsigned f = 0; f < fc; f++) {
                    uint16_t ie = be16(m + p);
                    uint32_t pen = ie & 0x8000 ? be32(m + p + 4) : 0;

                    if (fbInfoModelGetElementByID(c->model, ie & 0x7fff, pen) == NULL)
                        aliens++;
                    p += ie & 0x8000 ? 8 : 4;
                }
                budget_set(c, b, domain, tid, fc);
            }
        }
        off = end;
    }
    return budget_commit(c, b, n_before, f_before, aliens);
}

/* The same for a NetFlow v9 datagram checked by v9_datagram_ok(): FlowSet
 * 0 holds templates, 1 options templates (RFC 3954 sections 5.2, 6.1). */
static bool
budget_take_v9(ipfix_collector_t *c, tmpl_budget_t *b, const uint8_t *m, size_t len)
{
    unsigned n_before = b->ids ? g_hash_table_size(b->ids) : 0, f_before = b->fields;
    size_t off = 20;

    while (len - off >= 4) {
        uint16_t id = be16(m + off);
        size_t end = off + be16(m + off + 2), p = off + 4;

        if (id == 0) {
            while (end - p >= 4) {
                uint16_t tid = be16(m + p), fc = be16(m + p + 2);

                budget_set(c, b, 0, tid, fc);
                p += 4 + (size_t)fc * 4;
            }
        } else if (id == 1) {
            while (end - p >= 6) {
                uint16_t tid = be16(m + p), sl = be16(m + p + 2), ol = be16(m + p + 4);

                budget_set(c, b, 0, tid, (unsigned)(sl + ol) / 4);
                p += 6 + (size_t)sl + ol;
            }
        }
        off = end;
    }
    return budget_commit(c, b, n_before, f_before, 0);
}

static void
exporter_free(gpointer p)
{
    exporter_t *e = p;
    ipfix_collector_t *c = e->owner;

    use_add(c, USE_EXPORTERS, -1);
    if (e->key.proto != IPFIX_PROTO_IPFIX_FILE)
        addr_release(c, e->key.addr, 0, 1);
    if (e->holds_session)
        session_release(c, e->key.addr);
    budget_clear(c, &e->budget);
    g_free(e);
}

/* Find or create the exporter; NULL (counted) if the table, the address's
 * share of it or, for NetFlow v9, the session slots are full. */
static exporter_t *
exporter_get(ipfix_collector_t *c, ipfix_proto_t proto, const uint8_t addr[16], uint16_t port,
             uint32_t domain, uint32_t file_no, const char *file_label)
{
    exporter_key_t key;
    exporter_t *e;
    gint64 now = g_get_real_time();

    memset(&key, 0, sizeof(key));
    key.proto = (uint8_t)proto;
    if (addr != NULL)
        memcpy(key.addr, addr, 16);
    key.port = port;
    key.domain = domain;
    key.file_no = file_no;
    e = g_hash_table_lookup(c->exporters, &key);
    if (e == NULL) {
        bool network = proto != IPFIX_PROTO_IPFIX_FILE;
        addr_use_t *u = network ? addr_use(c, key.addr, false) : NULL;

        if (g_hash_table_size(c->exporters) >= c->cfg.max_exporters) {
            refusal(c, IPFIX_TOT_EXPORTER_LIMIT, key.addr,
                    "new exporter refused: max_exporters reached");
            return NULL;
        }
        if (u != NULL && u->exporters >= c->cfg.max_exporters_per_address) {
            refusal(c, IPFIX_TOT_EXPORTER_LIMIT, key.addr,
                    "new exporter refused: the address has max_exporters_per_address");
            return NULL;
        }
        /* NetFlow v9: each (address, port, source id) is a libfixbuf session */
        if (proto == IPFIX_PROTO_NETFLOW_V9 && !session_acquire(c, key.addr))
            return NULL;
        e = g_new0(exporter_t, 1);
        e->key = key;
        e->owner = c;
        e->holds_session = proto == IPFIX_PROTO_NETFLOW_V9;
        if (network)
            addr_use(c, key.addr, true)->exporters++;
        use_add(c, USE_EXPORTERS, 1);
        e->st.id = ++c->next_id;
        e->st.proto = proto;
        e->st.port = port;
        e->st.obs_domain = domain;
        if (file_label != NULL)
            g_strlcpy(e->st.address, file_label, sizeof(e->st.address));
        else
            addr_to_string(key.addr, e->st.address, sizeof(e->st.address));
        e->st.first_seen = (double)now / G_USEC_PER_SEC;
        g_mutex_lock(&c->lock);
        g_hash_table_insert(c->exporters, &e->key, e);
        g_mutex_unlock(&c->lock);
    }
    __atomic_store_n(&e->last_seen_us, now, __ATOMIC_RELAXED);
    e->last_mono = g_get_monotonic_time();
    return e;
}

/* Sequence accounting for IPFIX (records) and v9 (packets): @p next is what
 * this message should carry; a forward jump below 2^31 is loss, anything
 * else reordering or a restart. */
static void
check_sequence(exporter_t *e, bool have, uint32_t next, uint32_t seq)
{
    if (have && seq != next) {
        uint32_t jump = seq - next;

        if (jump < 0x80000000u) {
            CTR(e, IPFIX_CTR_SEQ_GAPS, 1);
            CTR(e, IPFIX_CTR_MISSED, jump);
        } else {
            CTR(e, IPFIX_CTR_OUT_OF_ORDER, 1);
        }
    }
}

/* The sequence slot of @p domain in @p st, taking over the oldest slot when
 * a session carries more domains than we track (that domain then resyncs). */
static seq_slot_t *
stream_seq(stream_t *st, uint32_t domain)
{
    seq_slot_t *slot;

    for (unsigned i = 0; i < STREAM_DOMAINS; i++)
        if (st->seq[i].used && st->seq[i].domain == domain)
            return &st->seq[i];
    for (unsigned i = 0; i < STREAM_DOMAINS; i++) {
        if (!st->seq[i].used) {
            st->seq[i].domain = domain;
            return &st->seq[i];
        }
    }
    slot = &st->seq[st->seq_victim];
    st->seq_victim = (st->seq_victim + 1) % STREAM_DOMAINS;
    slot->used = false;
    slot->domain = domain;
    return slot;
}

/* A datagram's fingerprint for duplicate detection, eight bytes a step:
 * FNV-1a's byte at a time cost 5% of the collector's time at 1M records/s
 * on 1.4 KB datagrams. */
static uint64_t
hash_datagram(const uint8_t *p, size_t len)
{
    const uint64_t k = UINT64_C(0xff51afd7ed558ccd);
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ len, w;
    size_t i = 0;

    for (; i + 8 <= len; i += 8) {
        memcpy(&w, p + i, 8);
        h = (h ^ w) * k;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, p + i, len - i);
    h = (h ^ w) * k;
    return h ^ (h >> 29);
}

/* True when @p buf is the same datagram this exporter sent last. */
static bool
is_duplicate(exporter_t *e, const uint8_t *buf, size_t len)
{
    uint64_t h = hash_datagram(buf, len);
    bool dup = e->have_hash && e->last_len == len && e->last_hash == h;

    e->have_hash = true;
    e->last_hash = h;
    e->last_len = len;
    if (dup)
        CTR(e, IPFIX_CTR_DUPLICATES, 1);
    return dup;
}

static void
template_hook(void *ctx, uint16_t tid, ipfix_tmpl_kind_t kind)
{
    ipfix_collector_t *c = ctx;

    (void)tid;
    (void)kind;
    if (c->cur != NULL)
        CTR(c->cur, IPFIX_CTR_TEMPLATES, 1);
}

/* ------------------------------------------------------------ delivery */

static void
deliver(ipfix_collector_t *c, exporter_t *e, flow_obs_t *o, double reference, unsigned notes)
{
    o->exporter_id = e->st.id;
    if (notes & IPFIX_NOTE_TIME_MISSING)
        CTR(e, IPFIX_CTR_TIME_MISSING, 1);
    if (notes & IPFIX_NOTE_STML_SKIPPED)
        CTR(e, IPFIX_CTR_MISSING_TEMPLATE, 1);
    if (ipfix_normalize_sanitize_times(o, reference, c->cfg.max_time_skew) != 0)
        CTR(e, IPFIX_CTR_TIME_IMPLAUSIBLE, 1);
    if (o->sampling_interval > 1)
        CTR(e, IPFIX_CTR_SAMPLED, 1);
    CTR(e, IPFIX_CTR_FLOWS, 1);
    c->delivered++;
    c->cb(o, c->ud);
}

/* Read every record of the message now current in @p fbuf.  Returns the
 * number of data records fixbuf decoded (for IPFIX sequence accounting). */
static uint32_t
read_records(ipfix_collector_t *c, exporter_t *e, fBuf_t *fbuf, flow_source_kind_t source,
             double received)
{
    flow_obs_t obs;
    uint32_t n = 0;
    double reference = (double)fBufGetExportTime(fbuf);

    for (unsigned i = 0; i < MAX_RECORDS_PER_MSG; i++) {
        GError *err = NULL;
        unsigned notes = 0;
        ipfix_norm_result_t r;

        tls_capture = c;
        c->cur = e;
        r = ipfix_normalize_next(c->norm, fbuf, &e->meta, source, received, &obs, &notes, &err);
        tls_capture = NULL;
        switch (r) {
        case IPFIX_NORM_FLOW:
            n++;
            deliver(c, e, &obs, reference, notes);
            break;
        case IPFIX_NORM_OPTIONS:
            n++;
            CTR(e, IPFIX_CTR_OPTIONS, 1);
            break;
        case IPFIX_NORM_IGNORED:
            n++;
            CTR(e, IPFIX_CTR_IGNORED, 1);
            break;
        case IPFIX_NORM_EOM:
            c->cur = NULL;
            return n;
        case IPFIX_NORM_EMPTY_TEMPLATE:
            /* Data for a template withdrawn earlier (fixbuf keeps the
             * withdrawal as a template of no fields): RFC 7011 section 8.1
             * makes the id unknown again, so this is a missing template,
             * not a malformed message.  fixbuf cannot step over a set of
             * zero-length records, so the rest of the message is dropped;
             * its records show up as missed by sequence number. */
            CTR(e, IPFIX_CTR_MISSING_TEMPLATE, 1);
            c->cur = NULL;
            return n;
        case IPFIX_NORM_ERROR:
            CTR(e, IPFIX_CTR_MALFORMED, 1);
            g_debug("%s: record: %s", e->st.address, err ? err->message : "?");
            g_clear_error(&err);
            c->cur = NULL;
            return n;
        }
    }
    c->cur = NULL;
    return n;
}

/* ---------------------------------------------------- structure checks */

/*
 * RFC 7011 section 3: the sets must tile the message; template records
 * (section 3.4) must fit their set.  fixbuf checks much of this too, but
 * not all of it (a template whose fields all have length 0 makes it loop),
 * and reading the whole message first lets us drop it as one unit.
 */
static bool
ipfix_message_ok(const uint8_t *m, size_t len)
{
    size_t off = 16;

    if (len < 16 || be16(m) != 10 || be16(m + 2) != len)
        return false;
    while (off < len) {
        uint16_t id, slen;
        size_t end, p;

        if (len - off < 4)
            return false;
        id = be16(m + off);
        slen = be16(m + off + 2);
        if (slen < 4 || slen > len - off)
            return false;
        end = off + slen;
        if (id == 0 || id == 1 || (id > 3 && id < 256))
            return false;
        if (id == 2 || id == 3) {
            p = off + 4;
            while (end - p >= 4) {
                uint16_t tid = be16(m + p), fc = be16(m + p + 2);
                unsigned scope = 0, datalen = 0;

                p += 4;
                if (fc == 0) {
                    /* Withdrawal.  RFC 7011 section 8.1 lets ids 2 and 3
                     * withdraw all templates, but libfixbuf 2.4.1 refuses
                     * those ids and leaks the template it allocated for the
                     * record (found by fuzz/ipfix-fuzzer): the message would
                     * fail in fixbuf anyway, so it is refused here, before
                     * anything is allocated. */
                    if (tid < 256)
                        return false;
                    continue;
                }
                if (tid < 256)
                    return false;
                if (id == 3) {
                    if (end - p < 2)
                        return false;
                    scope = be16(m + p);
                    p += 2;
                    if (scope == 0 || scope > fc)
                        return false;
                }
                for (unsigned f = 0; f < fc; f++) {
                    uint16_t ie, flen;

                    if (end - p < 4)
                        return false;
                    ie = be16(m + p);
                    flen = be16(m + p + 2);
                    p += 4;
                    if (ie & 0x8000) {
                        if (end - p < 4)
                            return false;
                        p += 4;
                    }
                    datalen += flen == 0xffff ? 1 : flen;
                }
                /* records of zero octets would never advance */
                if (datalen == 0)
                    return false;
            }
        }
        off = end;
    }
    return true;
}

/*
 * Structured data (RFC 6313) must fit the field that holds it.  libfixbuf
 * 2.4.1 does not bound a subTemplateMultiList entry by its list: an entry
 * claiming 65535 octets makes it decode whatever follows the message, past
 * the end of our buffer on the TCP and file paths (found by
 * fuzz/ipfix-fuzzer).  So before fixbuf sees a message we walk every record
 * whose template we know, and every list inside, and refuse the message if
 * any length points outside its container.  Templates come from this
 * message's template sets first (they may redefine), then the session.
 */
#define LIST_DEPTH_MAX 8
#define IE_BASIC_LIST 291
#define IE_SUB_TMPL_LIST 292
#define IE_SUB_TMPL_MULTI_LIST 293

typedef struct {
    uint16_t len;  /* FB_IE_VARLEN for variable length */
    uint8_t list;  /* 0, or which RFC 6313 list type */
} vfield_t;

typedef struct {
    const uint8_t *m;   /* the message */
    size_t len;
    fbSession_t *session;
    GArray *scratch;    /* vfield_t, one template's fields at a time */
} walk_t;

static uint8_t
list_kind(uint32_t ent, uint16_t num)
{
    if (ent != 0)
        return 0;
    return num == IE_BASIC_LIST ? 1 : num == IE_SUB_TMPL_LIST ? 2
                                      : num == IE_SUB_TMPL_MULTI_LIST ? 3 : 0;
}

/* The fields of template @p tid: from the last definition of it in this
 * message before offset @p before, else the session's.  Appends them to
 * @p out (at index @p at); returns how many, or -1 if the template is
 * unknown (fixbuf then skips the data: nothing to check). */
static int
walk_template(walk_t *w, uint16_t tid, size_t before, GArray *out, guint at)
{
    size_t off = 16, found = 0;
    int found_set = 0;

    while (off + 4 <= w->len && off < before) {
        uint16_t id = be16(w->m + off), slen = be16(w->m + off + 2);
        size_t end = off + slen, p = off + 4;

        if (id == 2 || id == 3) {
            while (end - p >= 4) {
                uint16_t t = be16(w->m + p), fc = be16(w->m + p + 2);
                size_t rec = p;

                p += 4 + (id == 3 && fc ? 2 : 0);
                for (unsigned f = 0; f < fc; f++)
                    p += 4 + ((be16(w->m + p) & 0x8000) ? 4 : 0);
                if (t == tid || (fc == 0 && (t == 2 || t == 3))) {
                    found = rec;
                    found_set = id;
                }
            }
        }
        off = end;
    }
    g_array_set_size(out, at);
    if (found && be16(w->m + found + 2) == 0 && be16(w->m + found) == tid)
        return -1; /* withdrawn in this message */
    if (found && be16(w->m + found + 2) != 0) {
        uint16_t fc = be16(w->m + found + 2);
        size_t p = found + 4 + (found_set == 3 ? 2 : 0);

        for (unsigned f = 0; f < fc; f++) {
            uint16_t ie = be16(w->m + p), flen = be16(w->m + p + 2);
            uint32_t ent = (ie & 0x8000) ? be32(w->m + p + 4) : 0;
            vfield_t v = {flen, list_kind(ent, ie & 0x7fff)};

            g_array_append_val(out, v);
            p += 4 + ((ie & 0x8000) ? 4 : 0);
        }
        return (int)fc;
    }
    /* not defined here (or all withdrawn, where we stay careful): the session's */
    fbTemplate_t *t = fbSessionGetTemplate(w->session, FALSE, tid, NULL);
    if (t == NULL)
        return -1;
    uint32_t n = fbTemplateCountElements(t);
    for (uint32_t i = 0; i < n; i++) {
        const fbInfoElement_t *ie = fbTemplateGetIndexedIE(t, i);
        vfield_t v = {ie ? ie->len : 0, ie ? list_kind(ie->ent, ie->num) : 0};

        g_array_append_val(out, v);
    }
    return (int)n;
}

static bool walk_records(walk_t *w, uint16_t tid, size_t before, const uint8_t *p,
                         const uint8_t *end, int depth);

/* One list's content [p, end) of kind @p kind. */
static bool
walk_list(walk_t *w, uint8_t kind, size_t before, const uint8_t *p, const uint8_t *end,
          int depth)
{
    if (depth > LIST_DEPTH_MAX)
        return false;
    if (p == end)
        return true; /* an empty list */
    if (kind == 1) { /* basicList: semantic, element id [, PEN], element length */
        if (end - p < 5)
            return false;
        uint16_t ie = be16(p + 1);
        size_t hdr = 5 + ((ie & 0x8000) ? 4 : 0);
        if ((size_t)(end - p) < hdr)
            return false;
        uint32_t ent = (ie & 0x8000) ? be32(p + 3) : 0;
        uint16_t elen = be16(p + hdr - 2);
        uint8_t inner = list_kind(ent, ie & 0x7fff);
        p += hdr;
        while (p < end) {
            size_t l = elen;
            if (elen == 0xffff) {
                l = *p++;
                if (l == 255) {
                    if (end - p < 2)
                        return false;
                    l = be16(p);
                    p += 2;
                }
            } else if (elen == 0) {
                return false; /* would never advance */
            }
            if ((size_t)(end - p) < l)
                return false;
            if (inner && !walk_list(w, inner, before, p, p + l, depth + 1))
                return false;
            p += l;
        }
        return true;
    }
    if (kind == 2) { /* subTemplateList: semantic, template id, records */
        if (end - p < 3)
            return false;
        return walk_records(w, be16(p + 1), before, p + 3, end, depth + 1);
    }
    /* subTemplateMultiList: semantic, then entries of id, length, records */
    p++;
    while (p < end) {
        if (end - p < 4)
            return false;
        uint16_t tid = be16(p), elen = be16(p + 2);
        if (elen < 4 || elen > end - p)
            return false; /* the libfixbuf over-read */
        if (!walk_records(w, tid, before, p + 4, p + elen, depth + 1))
            return false;
        p += elen;
    }
    return true;
}

/* Records of template @p tid filling [p, end), as fixbuf will read them:
 * while a whole minimal record fits. */
static bool
walk_records(walk_t *w, uint16_t tid, size_t before, const uint8_t *p, const uint8_t *end,
             int depth)
{
    guint at = w->scratch->len;
    int n = walk_template(w, tid, before, w->scratch, at);
    size_t min = 0;
    bool ok = true;

    bool lists = false;

    for (int i = 0; i < n; i++) {
        const vfield_t *v = &g_array_index(w->scratch, vfield_t, at + i);
        min += v->len == FB_IE_VARLEN ? 1 : v->len;
        lists |= v->list != 0;
    }
    if (depth == 0 && n > 0 && (size_t)(end - p) < min) {
        g_array_set_size(w->scratch, at);
        return false; /* a data set without a record: see ipfix_records_ok() */
    }
    if (n <= 0 || !lists) {
        /* unknown (fixbuf skips it), or flat: fixbuf bounds their records */
        g_array_set_size(w->scratch, at);
        return true;
    }
    while (ok && min > 0 && (size_t)(end - p) >= min) {
        for (int i = 0; i < n && ok; i++) {
            /* re-read: a nested walk may have grown (moved) the array */
            vfield_t v = g_array_index(w->scratch, vfield_t, at + i);
            size_t l = v.len;
            if (v.len == FB_IE_VARLEN) {
                if (p >= end) {
                    ok = false;
                    break;
                }
                l = *p++;
                if (l == 255) {
                    if (end - p < 2) {
                        ok = false;
                        break;
                    }
                    l = be16(p);
                    p += 2;
                }
            }
            if ((size_t)(end - p) < l) {
                ok = false;
                break;
            }
            if (v.list && !walk_list(w, v.list, before, p, p + l, depth))
                ok = false;
            p += l;
        }
    }
    g_array_set_size(w->scratch, at);
    return ok;
}

/*
 * True if every data set of a known template holds at least one record, and
 * every structured-data length in them fits.
 *
 * A data set shorter than one record: libfixbuf 2.4.1 skips a set whose
 * rest is shorter than a record from inside fBufNext() and decodes a record
 * from the next set without checking that set's length (it bounds a fixed
 * template's fields only the first time, then caches their offsets), so a
 * short set behind a skipped one is read past its end, and past the
 * message's (found by fuzz/ipfix-fuzzer once the unused part of our
 * buffers was poisoned).  RFC 7011 section 3.3.1 allows padding only after
 * records, so such a set is malformed and the message is refused.
 *
 * A message of data sets only, for templates the session holds and we
 * classified as flat, needs no walk: that is the common case, and asking
 * the session is cheaper than collecting each template's fields (5% of the
 * collector at 1M records/s).  ipfix_message_ok() has checked set lengths.
 */
static bool
ipfix_records_ok(walk_t *w)
{
    size_t off = 16;
    bool walk = false;

    fbSessionSetDomain(w->session, be32(w->m + 12));
    while (!walk && off + 4 <= w->len) {
        uint16_t id = be16(w->m + off), slen = be16(w->m + off + 2);

        if (id < 256) {
            walk = true; /* a template set: it may define what follows */
        } else {
            fbTemplate_t *t = fbSessionGetTemplate(w->session, FALSE, id, NULL);
            bool lists;
            size_t min;

            if (t == NULL)
                ; /* fixbuf skips the set */
            else if (!ipfix_normalize_template_shape(t, &lists, &min))
                walk = true;
            else if ((size_t)slen - 4 < min)
                return false;
            else
                walk = lists;
        }
        off += slen;
    }
    if (!walk)
        return true;
    off = 16;
    while (off + 4 <= w->len) {
        uint16_t id = be16(w->m + off), slen = be16(w->m + off + 2);

        if (id >= 256 && !walk_records(w, id, off, w->m + off + 4, w->m + off + slen, 0))
            return false;
        off += slen;
    }
    return true;
}

/*
 * NetFlow v9 (RFC 3954 section 5): 20-octet header, then FlowSets: 0
 * templates, 1 options templates, 256+ data.  fixbuf's translator turns ids
 * 0/1 into IPFIX 2/3, so a v9 FlowSet with id 2..255 would be misread as an
 * IPFIX template set; such datagrams are rejected here.
 */
static bool
v9_datagram_ok(const uint8_t *m, size_t len)
{
    size_t off = 20;

    if (len < 20 || be16(m) != 9)
        return false;
    while (len - off >= 4) {
        uint16_t id = be16(m + off), slen = be16(m + off + 2);
        size_t end, p;

        if (slen < 4 || slen > len - off)
            return false;
        end = off + slen;
        if (id >= 2 && id < 256)
            return false;
        p = off + 4;
        if (id == 0) {
            while (end - p >= 4) {
                uint16_t tid = be16(m + p), fc = be16(m + p + 2);
                unsigned datalen = 0;

                p += 4;
                if (tid < 256 || fc == 0 || (size_t)fc * 4 > end - p)
                    return false;
                for (unsigned f = 0; f < fc; f++, p += 4) {
                    if (be16(m + p) == 0)
                        return false;
                    datalen += be16(m + p + 2);
                }
                if (datalen == 0)
                    return false;
            }
        } else if (id == 1) {
            while (end - p >= 6) {
                uint16_t tid = be16(m + p), sl = be16(m + p + 2), ol = be16(m + p + 4);
                unsigned datalen = 0;

                p += 6;
                if (tid < 256 || (sl == 0 && ol == 0) || sl % 4 || ol % 4
                    || (size_t)sl + ol > end - p)
                    return false;
                for (unsigned f = 0; f < (unsigned)(sl + ol) / 4; f++, p += 4)
                    datalen += be16(m + p + 2);
                if (datalen == 0)
                    return false;
            }
        }
        off = end;
    }
    return true;
}

/* ------------------------------------------------------------- streams */

/* A session for @p addr / @p port (NULL, 0: a file).  @p limited: a network
 * session whose slot the caller has taken with session_acquire(); freeing
 * the stream gives it back. */
static stream_t *
stream_new(ipfix_collector_t *c, const uint8_t addr[16], uint16_t port, bool limited)
{
    GError *err = NULL;
    fbSession_t *session = fbSessionAlloc(c->model);
    stream_t *st;

    if (!ipfix_normalize_session_setup(c->norm, session, &err)) {
        g_warning("fixbuf session setup: %s", err->message);
        g_error_free(err);
        fbSessionFree(session);
        return NULL;
    }
    st = g_new0(stream_t, 1);
    st->owner = c;
    st->limited = limited;
    st->fbuf = fBufAllocForCollection(session, NULL);
    fBufSetAutomaticMode(st->fbuf, FALSE);
    if (addr != NULL)
        memcpy(st->addr, addr, 16);
    st->port = port;
    st->last_seen = g_get_monotonic_time();
    return st;
}

static void
stream_free(gpointer p)
{
    stream_t *st = p;

    if (st == NULL)
        return;
    fBufFree(st->fbuf);
    budget_clear(st->owner, &st->budget);
    if (st->limited)
        session_release(st->owner, st->addr);
    g_free(st);
}

/*
 * One IPFIX message from any transport.  @p live: it arrived over the
 * network (clock-skew check, duplicate check for UDP).
 */
static void
process_ipfix_message(ipfix_collector_t *c, stream_t *st, ipfix_proto_t proto,
                      uint32_t file_no, const char *file_label, uint8_t *msg, size_t len,
                      double received)
{
    uint32_t domain, seq, n;
    exporter_t *e;
    seq_slot_t *slot;
    GError *err = NULL;
    bool ok;

    if (len < 16) {
        TOT(c, IPFIX_TOT_GARBAGE, 1);
        return;
    }
    domain = be32(msg + 12);
    seq = be32(msg + 8);
    e = exporter_get(c, proto, proto == IPFIX_PROTO_IPFIX_FILE ? NULL : st->addr,
                     proto == IPFIX_PROTO_IPFIX_UDP ? st->port : 0, domain, file_no, file_label);
    if (e == NULL)
        return;
    st->last_seen = g_get_monotonic_time();
    if (proto == IPFIX_PROTO_IPFIX_UDP && is_duplicate(e, msg, len))
        return;
    slot = stream_seq(st, domain);
    if (!ipfix_message_ok(msg, len)) {
        CTR(e, IPFIX_CTR_MALFORMED, 1);
        slot->used = false; /* its records are lost; resync on the next one */
        return;
    }
    if (st->limited && !budget_take_ipfix(c, &st->budget, domain, msg, len)) {
        CTR(e, IPFIX_CTR_TEMPLATE_LIMIT, 1);
        refusal(c, IPFIX_TOT_TEMPLATE_LIMIT, st->addr,
                "message dropped: its templates would pass max_templates, "
                "max_template_fields or max_unknown_elements");
        slot->used = false;
        return;
    }
    CTR(e, IPFIX_CTR_MESSAGES, 1);
    if (proto != IPFIX_PROTO_IPFIX_FILE
        && fabs((double)be32(msg + 4) - received) > c->cfg.max_time_skew)
        CTR(e, IPFIX_CTR_CLOCK_SKEW, 1);
    check_sequence(e, slot->used, slot->next_seq, seq);

    {
        walk_t w = {msg, len, fBufGetSession(st->fbuf), c->walk_scratch};
        if (!ipfix_records_ok(&w)) {
            CTR(e, IPFIX_CTR_MALFORMED, 1);
            slot->used = false;
            return;
        }
    }
    fBufSetBuffer(st->fbuf, msg, len);
    tls_capture = c;
    c->cur = e;
    ok = fBufNextMessage(st->fbuf, &err);
    tls_capture = NULL;
    c->cur = NULL;
    if (!ok) {
        CTR(e, IPFIX_CTR_MALFORMED, 1);
        g_debug("%s: message: %s", e->st.address, err->message);
        g_clear_error(&err);
        slot->used = false;
        return;
    }
    n = read_records(c, e, st->fbuf,
                     proto == IPFIX_PROTO_IPFIX_FILE ? FLOW_SRC_IPFIX_FILE : FLOW_SRC_IPFIX,
                     received);
    /* RFC 7011 section 3.1: the sequence number counts data records, so the
     * next message starts after the ones read here.  Records in sets fixbuf
     * skipped (no template) are not counted: they show up as missed. */
    slot->used = true;
    slot->next_seq = seq + n;
}

/* -------------------------------------------------------------- NetFlow */

static void
process_v5(ipfix_collector_t *c, const uint8_t addr[16], const uint8_t *buf, size_t len,
           double received)
{
    ipfix_v5_header_t hdr;
    ipfix_v5_status_t stt = ipfix_v5_parse_header(buf, len, &hdr);
    ipfix_v5_counters_t ctr;
    exporter_t *e;
    size_t n;
    double export_time;

    /* v5 streams are (exporter address, engine type, engine id) */
    e = exporter_get(c, IPFIX_PROTO_NETFLOW_V5, addr, 0,
                     len >= 22 ? (uint32_t)buf[20] << 8 | buf[21] : 0, 0, NULL);
    if (e == NULL)
        return;
    if (stt != IPFIX_V5_OK) {
        CTR(e, IPFIX_CTR_MALFORMED, 1);
        return;
    }
    memset(&ctr, 0, sizeof(ctr));
    n = ipfix_v5_decode(buf, len, &hdr, received, &e->v5, &ctr, c->v5_out);
    CTR(e, IPFIX_CTR_LENGTH_MISMATCH, ctr.length_mismatch);
    CTR(e, IPFIX_CTR_DUPLICATES, ctr.duplicates);
    CTR(e, IPFIX_CTR_SEQ_GAPS, ctr.seq_gaps);
    CTR(e, IPFIX_CTR_MISSED, ctr.missed_flows);
    CTR(e, IPFIX_CTR_OUT_OF_ORDER, ctr.out_of_order);
    if (ctr.datagrams == 0)
        return;
    CTR(e, IPFIX_CTR_MESSAGES, 1);
    export_time = ipfix_v5_export_time(&hdr);
    if (fabs(export_time - received) > c->cfg.max_time_skew)
        CTR(e, IPFIX_CTR_CLOCK_SKEW, 1);
    for (size_t i = 0; i < n; i++)
        deliver(c, e, &c->v5_out[i], export_time, 0);
}

/* IPFIX over UDP (our socket, or a version-10 datagram on the NetFlow port). */
static void
process_ipfix_datagram(ipfix_collector_t *c, const uint8_t addr[16], uint16_t port,
                       uint8_t *buf, size_t len, double received)
{
    peer_key_t pk;
    stream_t *st;

    memset(&pk, 0, sizeof(pk));
    memcpy(pk.addr, addr, 16);
    pk.port = port;
    st = g_hash_table_lookup(c->udp_streams, &pk);
    if (st == NULL) {
        peer_key_t *k;

        if (g_hash_table_size(c->udp_streams) >= c->cfg.max_exporters) {
            refusal(c, IPFIX_TOT_EXPORTER_LIMIT, addr, "new session refused: max_exporters reached");
            return;
        }
        if (!session_acquire(c, addr))
            return;
        st = stream_new(c, addr, port, true);
        if (st == NULL) {
            session_release(c, addr);
            return;
        }
        k = g_memdup2(&pk, sizeof(pk));
        g_hash_table_insert(c->udp_streams, k, st);
    }
    process_ipfix_message(c, st, IPFIX_PROTO_IPFIX_UDP, 0, NULL, buf, len, received);
}

/* A datagram we have consumed: dispatch on the version field. */
static void
dispatch_datagram(ipfix_collector_t *c, bool netflow_port, const uint8_t addr[16],
                  uint16_t port, uint8_t *buf, size_t len, double received)
{
    uint16_t version = len >= 2 ? be16(buf) : 0;

    TOT(c, IPFIX_TOT_DATAGRAMS, 1);
    if (version == 10) {
        process_ipfix_datagram(c, addr, port, buf, len, received);
    } else if (netflow_port && version == 5) {
        process_v5(c, addr, buf, len, received);
    } else {
        TOT(c, IPFIX_TOT_GARBAGE, 1);
    }
}

/* Drop the datagram waiting on a NetFlow socket without processing it. */
static void
consume_pending(ipfix_collector_t *c, source_t *src)
{
    if (recv(src->fd, c->u.dgram, sizeof(c->u.dgram), MSG_DONTWAIT) < 0)
        TOT(c, IPFIX_TOT_IO_ERRORS, 1);
}

/* NetFlow v9: checked here, read and translated by fixbuf. */
static void
process_v9(ipfix_collector_t *c, source_t *src, const uint8_t addr[16], uint16_t port,
           const uint8_t *peeked, size_t len, double received)
{
    exporter_t *e;
    fBuf_t *fbuf;
    GError *err = NULL;
    bool ok;
    uint32_t seq, export_secs;

    TOT(c, IPFIX_TOT_DATAGRAMS, 1);
    e = exporter_get(c, IPFIX_PROTO_NETFLOW_V9, addr, port, len >= 20 ? be32(peeked + 16) : 0,
                     0, NULL);
    if (e == NULL) {
        consume_pending(c, src);
        return;
    }
    if (is_duplicate(e, peeked, len)) {
        consume_pending(c, src);
        return;
    }
    if (!v9_datagram_ok(peeked, len)) {
        CTR(e, IPFIX_CTR_MALFORMED, 1);
        consume_pending(c, src);
        return;
    }
    if (!budget_take_v9(c, &e->budget, peeked, len)) {
        CTR(e, IPFIX_CTR_TEMPLATE_LIMIT, 1);
        refusal(c, IPFIX_TOT_TEMPLATE_LIMIT, addr,
                "NetFlow v9 datagram dropped: its templates would pass max_templates or "
                "max_template_fields");
        e->have_seq = false; /* resync rather than count our own drop as loss */
        consume_pending(c, src);
        return;
    }
    seq = be32(peeked + 12);
    export_secs = be32(peeked + 8);
    CTR(e, IPFIX_CTR_MESSAGES, 1);
    if (fabs((double)export_secs - received) > c->cfg.max_time_skew)
        CTR(e, IPFIX_CTR_CLOCK_SKEW, 1);
    /* RFC 3954 section 5.1: the v9 sequence number counts export packets */
    check_sequence(e, e->have_seq, e->next_seq, seq);
    e->have_seq = true;
    e->next_seq = seq + 1;

    /* The datagram is pending on fixbuf's socket, so this returns at once
     * with the listener's one UDP buffer. */
    tls_capture = c;
    c->cur = e;
    fbuf = fbListenerWait(src->listener, &err);
    if (fbuf != NULL) {
        fBufSetAutomaticMode(fbuf, FALSE);
        ok = fBufNextMessage(fbuf, &err);
    } else {
        ok = false;
    }
    tls_capture = NULL;
    c->cur = NULL;
    if (!ok) {
        /* An I/O error means fixbuf did not read the datagram; take it off
         * the socket so the next poll does not see it again. */
        if (fbuf == NULL || g_error_matches(err, FB_ERROR_DOMAIN, FB_ERROR_IO))
            consume_pending(c, src);
        CTR(e, IPFIX_CTR_MALFORMED, 1);
        g_debug("%s: v9: %s", e->st.address, err ? err->message : "?");
        g_clear_error(&err);
        return;
    }
    read_records(c, e, fbuf, FLOW_SRC_NETFLOW_V9, received);
}

static void
read_udp(ipfix_collector_t *c, source_t *src)
{
    for (int i = 0; i < UDP_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        uint8_t addr[16];
        uint16_t port;
        ssize_t r;
        double received;

        r = recvfrom(src->fd, c->u.dgram, sizeof(c->u.dgram),
                     MSG_DONTWAIT | (src->kind == SRC_NETFLOW ? MSG_PEEK : 0),
                     (struct sockaddr *)&ss, &sl);
        if (r < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                TOT(c, IPFIX_TOT_IO_ERRORS, 1);
            return;
        }
        received = wall_now();
        sockaddr_to_key((struct sockaddr *)&ss, sl, addr, &port);
        if (!peer_allowed(c, addr)) {
            /* a peeked datagram must still leave fixbuf's socket */
            if (src->kind == SRC_NETFLOW
                && recv(src->fd, c->u.dgram, sizeof(c->u.dgram), MSG_DONTWAIT) < 0) {
                TOT(c, IPFIX_TOT_IO_ERRORS, 1);
                return;
            }
            refusal(c, IPFIX_TOT_DENIED, addr, "datagram from outside the allow-list dropped");
            continue;
        }
        if (src->kind == SRC_NETFLOW) {
            if (r >= 2 && be16(c->u.dgram) == 9) {
                process_v9(c, src, addr, port, c->u.dgram, (size_t)r, received);
                continue;
            }
            /* not ours to leave for fixbuf: consume it */
            r = recv(src->fd, c->u.dgram, sizeof(c->u.dgram), MSG_DONTWAIT);
            if (r < 0) {
                TOT(c, IPFIX_TOT_IO_ERRORS, 1);
                return;
            }
        }
        GUARD_TAIL(c->u.dgram, (size_t)r, sizeof(c->u.dgram));
        dispatch_datagram(c, src->kind == SRC_NETFLOW, addr, port, c->u.dgram, (size_t)r,
                          received);
        UNGUARD(c->u.dgram, sizeof(c->u.dgram));
    }
}

/* -------------------------------------------------------- TCP and files */

/* Split buffered stream bytes into messages.  Returns false when the stream
 * is out of step (not an IPFIX message header): it must be closed. */
static bool
drain_frames(ipfix_collector_t *c, source_t *src, double received)
{
    size_t off = 0;
    bool ok = true;

    for (int i = 0; i < FRAME_BATCH && src->len - off >= 4; i++) {
        uint8_t *m = src->buf + off;
        uint16_t mlen = be16(m + 2);

        if (be16(m) != 10 || mlen < 16) {
            ok = false;
            break;
        }
        if (src->len - off < mlen)
            break;
        GUARD_TAIL(src->buf, off + mlen, (size_t)MSG_MAX + 4);
        process_ipfix_message(c, src->stream,
                              src->kind == SRC_FILE ? IPFIX_PROTO_IPFIX_FILE
                                                    : IPFIX_PROTO_IPFIX_TCP,
                              src->file_no, src->kind == SRC_FILE ? src->label : NULL, m, mlen,
                              received);
        UNGUARD(src->buf, (size_t)MSG_MAX + 4);
        off += mlen;
    }
    if (off > 0) {
        memmove(src->buf, src->buf + off, src->len - off);
        src->len -= off;
    }
    return ok;
}

static bool
frames_pending(const source_t *src)
{
    return src->len >= 4 && be16(src->buf + 2) >= 16 && src->len >= be16(src->buf + 2);
}

/* Count a broken or cut-off stream on its exporter (domain from the
 * partial header when there is one). */
static void
stream_broken(ipfix_collector_t *c, source_t *src)
{
    uint32_t domain = src->len >= 16 ? be32(src->buf + 12) : 0;
    exporter_t *e;

    e = exporter_get(c, src->kind == SRC_FILE ? IPFIX_PROTO_IPFIX_FILE : IPFIX_PROTO_IPFIX_TCP,
                     src->kind == SRC_FILE ? NULL : src->peer_addr, 0, domain, src->file_no,
                     src->kind == SRC_FILE ? src->label : NULL);
    if (e != NULL)
        CTR(e, IPFIX_CTR_MALFORMED, 1);
}

static void
read_stream(ipfix_collector_t *c, source_t *src)
{
    double received = wall_now();
    ssize_t r;

    if (frames_pending(src)) {
        /* finish what is buffered before reading more */
        if (!drain_frames(c, src, received))
            goto broken;
        return;
    }
    r = read(src->fd, src->buf + src->len, MSG_MAX + 4 - src->len);
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        TOT(c, IPFIX_TOT_IO_ERRORS, 1);
        src->done = true;
        return;
    }
    if (r == 0) {
        if (src->len > 0)
            stream_broken(c, src);
        src->done = true;
        return;
    }
    src->len += (size_t)r;
    if (!drain_frames(c, src, received))
        goto broken;
    return;
broken:
    stream_broken(c, src);
    if (src->kind == SRC_TCP_CONN)
        TOT(c, IPFIX_TOT_TCP_DESYNC, 1);
    src->done = true;
}

static source_t *
source_new(src_kind_t kind, int fd, const char *label)
{
    source_t *s = g_new0(source_t, 1);

    s->kind = kind;
    s->fd = fd;
    s->own_fd = true;
    s->label = g_strdup(label);
    return s;
}

static void
source_free(gpointer p)
{
    source_t *s = p;

    if (s == NULL)
        return;
    if (s->listener != NULL) {
        /* fixbuf closes its socket and frees its clones of the session */
        fbListenerFree(s->listener);
        s->fd = -1;
    }
    if (s->base_session != NULL)
        fbSessionFree(s->base_session);
    if (s->fd >= 0 && s->own_fd)
        close(s->fd);
    stream_free(s->stream);
    g_free(s->buf);
    g_free(s->label);
    g_free(s);
}

static void
accept_tcp(ipfix_collector_t *c, source_t *lsrc)
{
    for (int i = 0; i < 16; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(lsrc->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        source_t *s;
        char label[INET6_ADDRSTRLEN + 16];
        char astr[INET6_ADDRSTRLEN];
        uint8_t addr[16];
        uint16_t port;

        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR
                && errno != ECONNABORTED)
                TOT(c, IPFIX_TOT_IO_ERRORS, 1);
            return;
        }
        sockaddr_to_key((struct sockaddr *)&ss, sl, addr, &port);
        if (!peer_allowed(c, addr)) {
            close(fd);
            refusal(c, IPFIX_TOT_DENIED, addr, "TCP connection from outside the allow-list closed");
            continue;
        }
        if (c->n_tcp_conns >= c->cfg.max_tcp_connections) {
            close(fd);
            TOT(c, IPFIX_TOT_TCP_REJECTED, 1);
            continue;
        }
        if (!session_acquire(c, addr)) {
            close(fd);
            continue;
        }
        s = source_new(SRC_TCP_CONN, fd, NULL);
        memcpy(s->peer_addr, addr, 16);
        s->peer_port = port;
        addr_to_string(s->peer_addr, astr, sizeof(astr));
        g_snprintf(label, sizeof(label), "tcp:%s:%u", astr, s->peer_port);
        s->label = g_strdup(label);
        s->stream = stream_new(c, s->peer_addr, s->peer_port, true);
        if (s->stream == NULL) {
            session_release(c, addr);
            source_free(s);
            continue;
        }
        s->buf = g_malloc(MSG_MAX + 4);
        g_ptr_array_add(c->sources, s);
        c->n_tcp_conns++;
        TOT(c, IPFIX_TOT_TCP_ACCEPTED, 1);
    }
}

/* -------------------------------------------------------------- setup */

ipfix_collector_t *
ipfix_collector_new(const ipfix_collector_config_t *cfg, flow_obs_fn cb, void *user_data,
                    GError **err)
{
    ipfix_collector_t *c;
    GError *local = NULL;
    char *dir;
    char *missing;
    guint n = 0;

    g_return_val_if_fail(cb != NULL, NULL);
    c = g_new0(ipfix_collector_t, 1);
    if (cfg != NULL)
        c->cfg = *cfg;
    if (c->cfg.max_time_skew <= 0)
        c->cfg.max_time_skew = 86400;
    if (c->cfg.idle_timeout == 0)
        c->cfg.idle_timeout = 1800;
    if (c->cfg.max_exporters == 0)
        c->cfg.max_exporters = 4096;
    if (c->cfg.max_tcp_connections == 0)
        c->cfg.max_tcp_connections = 64;
    if (c->cfg.max_sessions == 0)
        c->cfg.max_sessions = 256;
    if (c->cfg.max_sessions_per_address == 0)
        c->cfg.max_sessions_per_address = 32;
    if (c->cfg.max_exporters_per_address == 0)
        c->cfg.max_exporters_per_address = 256;
    if (c->cfg.max_templates == 0)
        c->cfg.max_templates = 512;
    if (c->cfg.max_template_fields == 0)
        c->cfg.max_template_fields = 8192;
    if (c->cfg.max_unknown_elements == 0)
        c->cfg.max_unknown_elements = 4096;
    c->cfg.templates_dir = NULL;
    c->cfg.allow = NULL;
    c->cb = cb;
    c->ud = user_data;
    c->wake[0] = c->wake[1] = -1;
    g_mutex_init(&c->lock);
    c->sources = g_ptr_array_new_with_free_func(source_free);
    c->udp_streams = g_hash_table_new_full(peer_key_hash, peer_key_equal, g_free, stream_free);
    c->exporters = g_hash_table_new_full(exporter_key_hash, exporter_key_equal, NULL,
                                         exporter_free);
    c->addrs = g_hash_table_new_full(addr_hash, addr_equal, g_free, g_free);
    c->undo = g_array_new(FALSE, FALSE, sizeof(budget_undo_t));
    c->walk_scratch = g_array_new(FALSE, FALSE, sizeof(vfield_t));
    c->pfds = g_array_new(FALSE, TRUE, sizeof(struct pollfd));
    c->pfd_src = g_ptr_array_new();
    if (pipe2(c->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
        g_set_error(err, IPFIX_COLLECTOR_ERROR, IPFIX_COLLECTOR_ERROR_IO, "pipe: %s",
                    g_strerror(errno));
        c->wake[0] = c->wake[1] = -1;
        goto fail;
    }

    if (cfg != NULL && cfg->allow != NULL && cfg->allow[0] != '\0') {
        c->allow = netset_new();
        if (!netset_add_list(c->allow, cfg->allow, &local)) {
            g_set_error(err, IPFIX_COLLECTOR_ERROR, IPFIX_COLLECTOR_ERROR_SPEC, "allow: %s",
                        local->message);
            g_clear_error(&local);
            goto fail;
        }
        if (netset_is_empty(c->allow)) {
            g_set_error(err, IPFIX_COLLECTOR_ERROR, IPFIX_COLLECTOR_ERROR_SPEC,
                        "allow: no network given");
            goto fail;
        }
    }

    /* cfg.model: the caller's, already loaded; freed by the caller. */
    c->model = c->cfg.model != NULL ? c->cfg.model : fbInfoModelAlloc();
    if (c->cfg.model != NULL) {
        dir = NULL;
    } else if (cfg != NULL && cfg->templates_dir != NULL) {
        dir = g_strdup(cfg->templates_dir);
        if (!ipfix_infomodel_load_dir(c->model, dir, &n, &local)) {
            g_propagate_prefixed_error(err, local, "info model: ");
            g_free(dir);
            goto fail;
        }
    } else {
        dir = ipfix_infomodel_default_dir();
        if (dir == NULL) {
            g_warning("no templates directory found (looked for %s); "
                      "only IANA information elements are known", PKGDATADIR "/templates");
        } else if (!ipfix_infomodel_load_dir(c->model, dir, &n, &local)) {
            g_propagate_prefixed_error(err, local, "info model: ");
            g_free(dir);
            goto fail;
        }
    }
    c->templates_dir = dir;
    c->cfg.templates_dir = c->templates_dir;
    c->norm = ipfix_normalize_new(c->model, &local);
    if (c->norm == NULL) {
        g_propagate_prefixed_error(err, local, "flow template: ");
        goto fail;
    }
    missing = ipfix_normalize_missing_elements(c->norm);
    if (missing != NULL) {
        g_message("information elements unknown to the model, never read: %s "
                  "(templates dir: %s)", missing, dir ? dir : "none");
        g_free(missing);
    }
    ipfix_normalize_set_template_hook(c->norm, template_hook, c);
    log_hook_ref();
    c->next_housekeeping = g_get_monotonic_time();
    return c;
fail:
    ipfix_collector_free(c);
    return NULL;
}

void
ipfix_collector_free(ipfix_collector_t *c)
{
    if (c == NULL)
        return;
    if (c->norm != NULL)
        log_hook_unref();
    /* sessions reference the model and the normalizer: free them first;
     * they and the exporters give their slots back to c->addrs */
    g_ptr_array_free(c->sources, TRUE);
    g_hash_table_destroy(c->udp_streams);
    g_hash_table_destroy(c->exporters);
    g_hash_table_destroy(c->addrs);
    g_array_free(c->undo, TRUE);
    g_array_free(c->walk_scratch, TRUE);
    netset_free(c->allow);
    ipfix_normalize_free(c->norm);
    if (c->model != NULL && c->cfg.model == NULL)
        fbInfoModelFree(c->model);
    if (c->wake[0] >= 0)
        close(c->wake[0]);
    if (c->wake[1] >= 0)
        close(c->wake[1]);
    g_array_free(c->pfds, TRUE);
    g_ptr_array_free(c->pfd_src, TRUE);
    g_mutex_clear(&c->lock);
    g_free(c->templates_dir);
    g_free(c);
}

/* Parse "udp://ADDR[:PORT]" and friends into a socket address. */
static gboolean
parse_spec(const char *spec, src_kind_t *kind, struct sockaddr_storage *ss, socklen_t *sl,
           GError **err)
{
    const char *rest;
    char *host = NULL;
    const char *portstr = NULL;
    guint64 port;
    uint16_t def_port;
    gboolean ok = FALSE;

    if (g_str_has_prefix(spec, "udp://")) {
        *kind = SRC_UDP;
        rest = spec + 6;
        def_port = IPFIX_DEFAULT_PORT;
    } else if (g_str_has_prefix(spec, "tcp://")) {
        *kind = SRC_TCP_LISTEN;
        rest = spec + 6;
        def_port = IPFIX_DEFAULT_PORT;
    } else if (g_str_has_prefix(spec, "netflow://")) {
        *kind = SRC_NETFLOW;
        rest = spec + 10;
        def_port = IPFIX_NETFLOW_DEFAULT_PORT;
    } else if (g_str_has_prefix(spec, "sctp://")) {
        g_set_error(err, IPFIX_COLLECTOR_ERROR, IPFIX_COLLECTOR_ERROR_UNSUPPORTED,
                    "%s: SCTP is not supported (libfixbuf built without it)", spec);
        return FALSE;
    } else {
        g_set_error(err, IPFIX_COLLECTOR_ERROR, IPFIX_COLLECTOR_ERROR_SPEC,
                    "%s: expected udp://, tcp:// or netflow://ADDR[:PORT]", spec);
        return FALSE;
    }
    if (rest[0] == '[') {
        const char *close_br = strchr(rest, ']');

        if (close_br == NULL)
            goto bad;
        host = g_strndup(rest + 1, (gsize)(close_br - rest - 1));
        if (close_br[1] == ':')
            portstr = close_br + 2;
        else if (close_br[1] != '\0')
            goto bad;
    } else {
        const char *colon = strrchr(rest, ':');

        if (colon != NULL && strchr(rest, ':') != colon)
            goto bad; /* bare IPv6 needs brackets */
        host = colon ? g_strndup(rest, (gsize)(colon - rest)) : g_strdup(rest);
        portstr = colon ? colon + 1 : NULL;
    }
    port = def_port;
    if (portstr != NULL && (!g_ascii_string_to_unsigned(portstr, 10, 0, 65535, &port, NULL)))
        goto bad;
    memset(ss, 0, sizeof(*ss));
    if (host[0] == '\0' || strcmp(host, "*") == 0) {
        g_free(host);
        host = g_strdup("0.0.0.0");
    }
    {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

        if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
            in->sin_family = AF_INET;
            in->sin_port = htons((uint16_t)port);
            *sl = sizeof(*in);
        } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons((uint16_t)port);
            *sl = sizeof(*in6);
        } else {
            goto bad;
        }
    }
    ok = TRUE;
bad:
    if (!ok)
        g_set_error(err, IPFIX_COLLECTOR_ERROR, IPFIX_COLLECTOR_ERROR_SPEC,
                    "%s: bad address or port (numeric address, IPv6 in brackets)", spec);
    g_free(host);
    return ok;
}

static uint16_t
sockaddr_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void
sockaddr_set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* Ask for @p bytes of receive buffer: SO_RCVBUFFORCE passes
 * net.core.rmem_max when we may (CAP_NET_ADMIN, before privileges are
 * dropped); otherwise the kernel caps SO_RCVBUF there.  Says so when it
 * got less, since bursts beyond it are lost (and counted: socket_drops). */
static void
set_rcvbuf(int fd, int bytes)
{
    int got = 0;
    socklen_t gl = sizeof(got);

    if (bytes <= 0)
        return;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
    /* Linux reports twice what it books (bookkeeping overhead) */
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) == 0 && got / 2 < bytes)
        g_message("UDP receive buffer is %d bytes, %d asked (udp_rcvbuf): raise "
                  "net.core.rmem_max or run with CAP_NET_ADMIN",
                  got / 2, bytes);
}

static int
bind_socket(const struct sockaddr_storage *ss, socklen_t sl, int type, int rcvbuf,
            GError **err)
{
    int fd = socket(ss->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;

    if (fd < 0) {
        g_set_error(err, IPFIX_COLLECTOR_ERROR, IPFIX_COLLECTOR_ERROR_IO, "socket: %s",
                    g_strerror(errno));
        return -1;
    }
    if (type == SOCK_STREAM)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    set_rcvbuf(fd, rcvbuf);
    if (bind(fd, (const struct sockaddr *)ss, sl) < 0
        || (type == SOCK_STREAM && listen(fd, 16) < 0)) {
        g_set_error(err, IPFIX_COLLECTOR_ERROR, IPFIX_COLLECTOR_ERROR_IO, "bind: %s",
                    g_strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Set of open file descriptors (as GINT_TO_POINTER keys). */
static GHashTable *
open_fds(void)
{
    GHashTable *set = g_hash_table_new(g_direct_hash, g_direct_equal);
    GDir *d = g_dir_open("/proc/self/fd", 0, NULL);
    const char *name;

    if (d == NULL)
        return set;
    while ((name = g_dir_read_name(d)) != NULL) {
        guint64 v;

        if (g_ascii_string_to_unsigned(name, 10, 0, G_MAXINT, &v, NULL))
            g_hash_table_add(set, GINT_TO_POINTER((int)v + 1));
    }
    g_dir_close(d);
    return set;
}

/*
 * The UDP socket fbListenerAlloc() just bound: the one new descriptor that
 * is a datagram socket bound to @p want.  fixbuf has no call that returns
 * it, and we need it to peek at datagrams before fixbuf reads them.
 */
static int
find_listener_fd(GHashTable *before, const struct sockaddr_storage *want)
{
    GHashTable *after = open_fds();
    GHashTableIter it;
    gpointer key;
    int found = -1, matches = 0;

    g_hash_table_iter_init(&it, after);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        int fd = GPOINTER_TO_INT(key) - 1;
        struct sockaddr_storage got;
        socklen_t gl = sizeof(got);
        int type = 0;
        socklen_t tl = sizeof(type);

        if (g_hash_table_contains(before, key))
            continue;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_DGRAM)
            continue;
        if (getsockname(fd, (struct sockaddr *)&got, &gl) < 0 || got.ss_family != want->ss_family
            || sockaddr_port(&got) != sockaddr_port(want))
            continue;
        found = fd;
        matches++;
    }
    g_hash_table_destroy(after);
    return matches == 1 ? found : -1;
}

static gboolean
add_netflow_listener(ipfix_collector_t *c, source_t *s, struct sockaddr_storage *ss,
                     socklen_t sl, GError **err)
{
    char host[INET6_ADDRSTRLEN];
    char svc[8];
    fbConnSpec_t spec = FB_CONNSPEC_INIT;
    fbCollector_t *collector = NULL;
    GHashTable *before;
    GError *local = NULL;

    /* fixbuf binds by name: pick the ephemeral port ourselves so that we can
     * recognise the socket it creates */
    if (sockaddr_port(ss) == 0) {
        struct sockaddr_storage got;
        socklen_t gl = sizeof(got);
        int probe = bind_socket(ss, sl, SOCK_DGRAM, 0, err);

        if (probe < 0)
            return FALSE;
        getsockname(probe, (struct sockaddr *)&got, &gl);
        close(probe);
        sockaddr_set_port(ss, sockaddr_port(&got));
    }
    if (ss->ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)ss)->sin_addr, host, sizeof(host));
    else
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ss)->sin6_addr, host, sizeof(host));
    g_snprintf(svc, sizeof(svc), "%u", sockaddr_port(ss));
    spec.transport = FB_UDP;
    spec.host = host;
    spec.svc = svc;

    s->base_session = fbSessionAlloc(c->model);
    if (!ipfix_normalize_session_setup(c->norm, s->base_session, &local))
        goto fail;
    before = open_fds();
    s->listener = fbListenerAlloc(&spec, s->base_session, NULL, NULL, &local);
    if (s->listener == NULL) {
        g_hash_table_destroy(before);
        goto fail;
    }
    s->fd = find_listener_fd(before, ss);
    g_hash_table_destroy(before);
    if (s->fd < 0) {
        g_set_error(err, IPFIX_COLLECTOR_ERROR, IPFIX_COLLECTOR_ERROR_SETUP,
                    "cannot find the socket libfixbuf bound to %s:%s", host, svc);
        return FALSE;
    }
    s->own_fd = false;
    set_rcvbuf(s->fd, c->cfg.udp_rcvbuf);
    if (!fbListenerGetCollector(s->listener, &collector, &local)
        || !fbCollectorSetNetflowV9Translator(collector, &local))
        goto fail;
    s->bound_port = sockaddr_port(ss);
    return TRUE;
fail:
    g_set_error(err, IPFIX_COLLECTOR_ERROR, IPFIX_COLLECTOR_ERROR_SETUP, "libfixbuf: %s",
                local ? local->message : "listener setup failed");
    g_clear_error(&local);
    return FALSE;
}

gboolean
ipfix_collector_add_listener(ipfix_collector_t *c, const char *spec, uint16_t *bound_port,
                             GError **err)
{
    src_kind_t kind;
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    source_t *s;

    g_return_val_if_fail(c != NULL && spec != NULL, FALSE);
    if (!parse_spec(spec, &kind, &ss, &sl, err))
        return FALSE;
    s = source_new(kind, -1, spec);
    if (kind == SRC_NETFLOW) {
        if (!add_netflow_listener(c, s, &ss, sl, err)) {
            source_free(s);
            return FALSE;
        }
    } else {
        struct sockaddr_storage got;
        socklen_t gl = sizeof(got);

        s->fd = bind_socket(&ss, sl, kind == SRC_UDP ? SOCK_DGRAM : SOCK_STREAM,
                            kind == SRC_UDP ? c->cfg.udp_rcvbuf : 0, err);
        if (s->fd < 0) {
            g_prefix_error(err, "%s: ", spec);
            source_free(s);
            return FALSE;
        }
        if (getsockname(s->fd, (struct sockaddr *)&got, &gl) == 0)
            s->bound_port = sockaddr_port(&got);
    }
    if (bound_port != NULL)
        *bound_port = s->bound_port;
    g_ptr_array_add(c->sources, s);
    return TRUE;
}

gboolean
ipfix_collector_add_file(ipfix_collector_t *c, const char *path, GError **err)
{
    int fd;
    struct stat st;
    source_t *s;
    bool is_stdin = strcmp(path, "-") == 0;

    g_return_val_if_fail(c != NULL && path != NULL, FALSE);
    fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        g_set_error(err, IPFIX_COLLECTOR_ERROR, IPFIX_COLLECTOR_ERROR_IO, "%s: %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
        g_set_error(err, IPFIX_COLLECTOR_ERROR, IPFIX_COLLECTOR_ERROR_IO, "%s: %s", path,
                    S_ISDIR(st.st_mode) ? "is a directory" : g_strerror(errno));
        if (!is_stdin)
            close(fd);
        return FALSE;
    }
    s = source_new(SRC_FILE, fd, is_stdin ? "stdin" : path);
    s->own_fd = !is_stdin;
    s->regular = S_ISREG(st.st_mode);
    s->file_no = ++c->next_file_no;
    s->stream = stream_new(c, NULL, 0, false);
    if (s->stream == NULL) {
        g_set_error(err, IPFIX_COLLECTOR_ERROR, IPFIX_COLLECTOR_ERROR_SETUP,
                    "%s: fixbuf session setup failed", path);
        source_free(s);
        return FALSE;
    }
    s->buf = g_malloc(MSG_MAX + 4);
    g_ptr_array_add(c->sources, s);
    return TRUE;
}

/* ------------------------------------------------------------- polling */

/* Datagrams the kernel dropped on a UDP socket since we last looked.  A
 * burst that overflows the buffer at its end leaves no later sequence
 * number to reveal the gap; the socket's own count does. */
static void
account_socket_drops(ipfix_collector_t *c)
{
    for (guint i = 0; i < c->sources->len; i++) {
        source_t *s = g_ptr_array_index(c->sources, i);
        uint32_t mi[SK_MEMINFO_VARS];
        socklen_t len = sizeof(mi);

        if ((s->kind != SRC_UDP && s->kind != SRC_NETFLOW) || s->fd < 0
            || getsockopt(s->fd, SOL_SOCKET, SO_MEMINFO, mi, &len) < 0
            || len < (socklen_t)((SK_MEMINFO_DROPS + 1) * sizeof(uint32_t)))
            continue;
        TOT(c, IPFIX_TOT_SOCKET_DROPS, (uint32_t)(mi[SK_MEMINFO_DROPS] - s->drops_seen));
        s->drops_seen = mi[SK_MEMINFO_DROPS];
    }
}

static void
housekeeping(ipfix_collector_t *c)
{
    gint64 now = g_get_monotonic_time();
    gint64 limit = (gint64)c->cfg.idle_timeout * G_USEC_PER_SEC;
    GHashTableIter it;
    gpointer v;

    if (now < c->next_housekeeping)
        return;
    c->next_housekeeping = now + MIN(HOUSEKEEPING_US, limit / 2);
    account_socket_drops(c);
    g_hash_table_iter_init(&it, c->udp_streams);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        if (now - ((stream_t *)v)->last_seen > limit) {
            g_hash_table_iter_remove(&it);
            TOT(c, IPFIX_TOT_EXPIRED, 1);
        }
    }
    g_mutex_lock(&c->lock);
    g_hash_table_iter_init(&it, c->exporters);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        const exporter_t *e = v;

        if (now - e->last_mono > (e->holds_session ? MAX(limit, FIXBUF_V9_SESSION_US) : limit)) {
            g_hash_table_iter_remove(&it);
            TOT(c, IPFIX_TOT_EXPIRED, 1);
        }
    }
    g_mutex_unlock(&c->lock);
}

static void
remove_done_sources(ipfix_collector_t *c)
{
    for (guint i = 0; i < c->sources->len;) {
        source_t *s = g_ptr_array_index(c->sources, i);

        if (!s->done) {
            i++;
            continue;
        }
        if (s->kind == SRC_TCP_CONN)
            c->n_tcp_conns--;
        else if (s->kind == SRC_FILE)
            TOT(c, IPFIX_TOT_FILES_DONE, 1);
        g_ptr_array_remove_index(c->sources, i);
    }
}

int
ipfix_collector_poll(ipfix_collector_t *c, int timeout_ms)
{
    bool active = false, busy_file = false;
    struct pollfd wake = {.fd = c->wake[0], .events = POLLIN, .revents = 0};
    int rc;

    g_return_val_if_fail(c != NULL, -1);
    c->delivered = 0;
    g_array_set_size(c->pfds, 0);
    g_ptr_array_set_size(c->pfd_src, 0);
    g_array_append_val(c->pfds, wake);
    g_ptr_array_add(c->pfd_src, NULL);
    for (guint i = 0; i < c->sources->len; i++) {
        source_t *s = g_ptr_array_index(c->sources, i);
        struct pollfd p = {.fd = s->fd, .events = POLLIN, .revents = 0};

        if (s->kind != SRC_TCP_CONN)
            active = true;
        if (s->kind == SRC_FILE && s->regular) {
            busy_file = true;
            continue;
        }
        g_array_append_val(c->pfds, p);
        g_ptr_array_add(c->pfd_src, s);
    }
    if (!active)
        return -1;
    if (busy_file)
        timeout_ms = 0;
    rc = poll((struct pollfd *)(void *)c->pfds->data, c->pfds->len, timeout_ms);
    if (rc < 0 && errno != EINTR)
        TOT(c, IPFIX_TOT_IO_ERRORS, 1);
    for (guint i = 0; rc > 0 && i < c->pfds->len; i++) {
        struct pollfd *p = &g_array_index(c->pfds, struct pollfd, i);
        source_t *s = g_ptr_array_index(c->pfd_src, i);

        if (p->revents == 0)
            continue;
        if (s == NULL) {
            uint8_t drain[64];

            while (read(c->wake[0], drain, sizeof(drain)) > 0)
                ;
            continue;
        }
        switch (s->kind) {
        case SRC_UDP:
        case SRC_NETFLOW:
            read_udp(c, s);
            break;
        case SRC_TCP_LISTEN:
            accept_tcp(c, s);
            break;
        case SRC_TCP_CONN:
        case SRC_FILE:
            read_stream(c, s);
            break;
        }
    }
    for (guint i = 0; i < c->sources->len; i++) {
        source_t *s = g_ptr_array_index(c->sources, i);

        if (s->kind == SRC_FILE && s->regular && !s->done)
            read_stream(c, s);
    }
    remove_done_sources(c);
    housekeeping(c);
    return c->delivered;
}

void
ipfix_collector_wakeup(ipfix_collector_t *c)
{
    uint8_t b = 1;
    ssize_t r = write(c->wake[1], &b, 1);

    (void)r; /* a full pipe already wakes the poller */
}

gboolean
ipfix_collector_inject_datagram(ipfix_collector_t *c, bool netflow_port,
                                const struct sockaddr *peer, socklen_t peerlen,
                                const uint8_t *buf, size_t len, double received)
{
    uint8_t addr[16];
    uint16_t port;

    g_return_val_if_fail(c != NULL && (buf != NULL || len == 0), FALSE);
    sockaddr_to_key(peer, peerlen, addr, &port);
    if (!peer_allowed(c, addr)) {
        refusal(c, IPFIX_TOT_DENIED, addr, "datagram from outside the allow-list dropped");
        return FALSE;
    }
    if (len > MSG_MAX) {
        TOT(c, IPFIX_TOT_GARBAGE, 1);
        return FALSE;
    }
    if (len >= 2 && be16(buf) == 9) {
        TOT(c, IPFIX_TOT_DATAGRAMS, 1);
        TOT(c, IPFIX_TOT_GARBAGE, 1);
        return FALSE;
    }
    if (len > 0)
        memcpy(c->u.dgram, buf, len);
    c->delivered = 0;
    GUARD_TAIL(c->u.dgram, len, sizeof(c->u.dgram));
    dispatch_datagram(c, netflow_port, addr, port, c->u.dgram, len, received);
    UNGUARD(c->u.dgram, sizeof(c->u.dgram));
    return TRUE;
}

/* ---------------------------------------------------------------- stats */

static gint
cmp_stats_id(gconstpointer a, gconstpointer b)
{
    const ipfix_exporter_stats_t *x = a, *y = b;

    return x->id < y->id ? -1 : x->id > y->id;
}

GArray *
ipfix_collector_stats(ipfix_collector_t *c)
{
    GArray *out = g_array_new(FALSE, TRUE, sizeof(ipfix_exporter_stats_t));
    GHashTableIter it;
    gpointer v;

    g_mutex_lock(&c->lock);
    g_array_set_size(out, 0);
    g_hash_table_iter_init(&it, c->exporters);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        const exporter_t *e = v;
        ipfix_exporter_stats_t s;

        s.id = e->st.id;
        s.proto = e->st.proto;
        memcpy(s.address, e->st.address, sizeof(s.address));
        s.port = e->st.port;
        s.obs_domain = e->st.obs_domain;
        s.first_seen = e->st.first_seen;
        s.last_seen = (double)__atomic_load_n(&e->last_seen_us, __ATOMIC_RELAXED)
                      / G_USEC_PER_SEC;
        for (int k = 0; k < IPFIX_CTR_COUNT; k++)
            s.n[k] = __atomic_load_n(&e->st.n[k], __ATOMIC_RELAXED);
        g_array_append_val(out, s);
    }
    g_mutex_unlock(&c->lock);
    g_array_sort(out, cmp_stats_id);
    return out;
}

void
ipfix_collector_totals(ipfix_collector_t *c, uint64_t out[IPFIX_TOT_COUNT])
{
    for (int k = 0; k < IPFIX_TOT_COUNT; k++)
        out[k] = __atomic_load_n(&c->tot[k], __ATOMIC_RELAXED);
}

void
ipfix_collector_usage(ipfix_collector_t *c, ipfix_collector_usage_t *out)
{
    out->sessions = __atomic_load_n(&c->use[USE_SESSIONS], __ATOMIC_RELAXED);
    out->exporters = __atomic_load_n(&c->use[USE_EXPORTERS], __ATOMIC_RELAXED);
    out->templates = __atomic_load_n(&c->use[USE_TEMPLATES], __ATOMIC_RELAXED);
    out->template_fields = __atomic_load_n(&c->use[USE_FIELDS], __ATOMIC_RELAXED);
    out->unknown_elements = __atomic_load_n(&c->use[USE_ALIENS], __ATOMIC_RELAXED);
}

const char *
ipfix_counter_name(ipfix_counter_t k)
{
    static const char *const names[] = {
        "messages", "flows", "options_records", "ignored_records", "templates",
        "seq_gaps", "missed", "out_of_order", "duplicates", "malformed",
        "missing_template", "length_mismatch", "time_implausible", "time_missing",
        "sampled", "clock_skew", "template_limit",
    };
    G_STATIC_ASSERT(G_N_ELEMENTS(names) == IPFIX_CTR_COUNT);

    return (unsigned)k < IPFIX_CTR_COUNT ? names[k] : "unknown";
}

const char *
ipfix_total_name(ipfix_total_t k)
{
    static const char *const names[] = {
        "datagrams", "garbage", "tcp_accepted", "tcp_rejected", "tcp_desync",
        "files_done", "exporter_limit", "expired", "fixbuf_warnings", "io_errors",
        "denied", "session_limit", "template_limit", "socket_drops",
    };
    G_STATIC_ASSERT(G_N_ELEMENTS(names) == IPFIX_TOT_COUNT);

    return (unsigned)k < IPFIX_TOT_COUNT ? names[k] : "unknown";
}

const char *
ipfix_proto_name(ipfix_proto_t p)
{
    switch (p) {
    case IPFIX_PROTO_IPFIX_UDP:
        return "ipfix-udp";
    case IPFIX_PROTO_IPFIX_TCP:
        return "ipfix-tcp";
    case IPFIX_PROTO_IPFIX_FILE:
        return "ipfix-file";
    case IPFIX_PROTO_NETFLOW_V9:
        return "netflow-v9";
    case IPFIX_PROTO_NETFLOW_V5:
        return "netflow-v5";
    }
    return "unknown";
}
