/*
 * The connection builder: the table of live connections, their timers, and
 * the per-protocol bookkeeping Zeek does for UDP, ICMP and other IP
 * protocols (TCP's endpoint machinery lives in tcp.c).  Everything here runs
 * on input time; a finished connection is turned into a conn_record_t and
 * handed to the sink.
 *
 * Memory: connections come from a slab with a free list, the table is open
 * addressing with backward-shift deletion, and timers sit in a 4-ary heap
 * (connections from packets) or in sorted expiry queues (connections from
 * flow records), so the per-packet path does not allocate.
 */
#include "conn/conn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "conn/internal.h"
#include "decode/decode.h"

/* Connections per slab chunk (54 KiB at 216 B each; TCP states the same, 50
 * KiB).  Well under 128 KiB, the size above which glibc's malloc (at first)
 * and ASan's allocator map fresh pages for each allocation: a builder made
 * and freed often (the fuzz targets make one per input) then reuses heap
 * memory, and at most one chunk is allocated ahead of need. */
#define SLAB_CHUNK 256

/* The timer heap holds each connection at most once, keyed by its
 * earliest armed timer; conn_t.heap_pos tracks the entry so that re-arming
 * and removal update it in place and nothing stale accumulates. */
typedef struct {
    double t;
    conn_t *c;
} heap_ent_t;

/*
 * Expiry queues for connections built from flow records.  Such a
 * connection's one timer is due a fixed wait (flow_linger or
 * flow_active_timeout) after its newest record arrived, and arrival times
 * only grow: deadlines of one wait come in order, so a list sorted by
 * deadline takes a new one at its tail and gives the next due at its head,
 * each in O(1).  The heap's re-arm and removal walked ~10 levels of a
 * million entries and wrote each moved connection's heap_pos, a cache miss
 * per level (14% of the builder at 1M records/s).  A deadline that would
 * break a queue's order (a record whose own end time lies ahead of the
 * collector's clock, a clock stepped back, a third distinct wait) goes to
 * the heap instead; run_due() takes the earliest of the heap's top and the
 * queues' heads, so timers still run in deadline order.
 */
#define TQ_MAX 4
typedef struct {
    float wait;               /* conn_t.inact_timeout of every member */
    flow_state_t *head, *tail;
} expiry_q_t;

/* An IP-in-IP or GRE tunnel: no conn.log row of its own, but a uid that the
 * inner connections name in tunnel_parents (Zeek's EncapsulatingConn). */
typedef struct {
    uint8_t lo[16], hi[16];
    uint8_t kind;
    uint64_t uid[2];
    double last_seen;
} ip_tunnel_t;

/*
 * A table slot is a connection pointer with two bytes in the pointer's
 * unused top bits (user-space addresses fit in 48 bits on x86-64 and
 * AArch64 Linux): 8 bits of the hash, and how far the slot is from the
 * connection's home slot (255: that far or more; ask the connection).
 * A probe compares the hash bits before it touches a connection, and a
 * deletion's backward shift finds each follower's home without touching
 * it: at a load of 0.7 a miss walks about six slots, and each touch was a
 * cache miss (table_lookup was 19% of the builder at 1M flow records/s,
 * the backward shift 7% once connections expired as fast).
 * Elsewhere slots are plain pointers.
 */
typedef uintptr_t slot_t;
#if UINTPTR_MAX == UINT64_MAX && (defined(__x86_64__) || defined(__aarch64__))
#define SLOT_PTR_MASK ((((uintptr_t)1) << 48) - 1)
#define SLOT_DISP_FAR 255u
static inline slot_t
slot_make(const conn_t *c, uint32_t disp)
{
    return (uintptr_t)c | (uintptr_t)(c->hash >> 24) << 56
           | (uintptr_t)(disp < SLOT_DISP_FAR ? disp : SLOT_DISP_FAR) << 48;
}
static inline conn_t *
slot_conn(slot_t s)
{
    return (conn_t *)(s & SLOT_PTR_MASK);
}
static inline bool
slot_may_hold(slot_t s, uint32_t h)
{
    return (uint32_t)(s >> 56) == h >> 24;
}
/* The same slot @p disp from its home (keeps the hash bits: no touching). */
static inline slot_t
slot_moved(slot_t s, uint32_t disp)
{
    return (s & ~((uintptr_t)0xff << 48))
           | (uintptr_t)(disp < SLOT_DISP_FAR ? disp : SLOT_DISP_FAR) << 48;
}
static inline uint32_t
slot_home(slot_t s, uint32_t at, uint32_t mask)
{
    uint32_t disp = (uint32_t)(s >> 48) & 0xff;
    return disp < SLOT_DISP_FAR ? (at - disp) & mask : slot_conn(s)->hash & mask;
}
#else
static inline slot_t
slot_make(const conn_t *c, uint32_t disp)
{
    (void)disp;
    return (uintptr_t)c;
}
static inline conn_t *
slot_conn(slot_t s)
{
    return (conn_t *)s;
}
static inline bool
slot_may_hold(slot_t s, uint32_t h)
{
    return slot_conn(s)->hash == h;
}
static inline slot_t
slot_moved(slot_t s, uint32_t disp)
{
    (void)disp;
    return s;
}
static inline uint32_t
slot_home(slot_t s, uint32_t at, uint32_t mask)
{
    (void)at;
    return slot_conn(s)->hash & mask;
}
#endif

struct conn_builder {
    conn_config_t cfg;
    uid_gen_t *uids;
    weird_counters_t *weirds;
    conn_sink_fn sink;
    void *sink_user;

    slot_t *table;             /* open addressing, linear probing; 0 = empty */
    uint32_t mask;
    uint64_t count;
    uint64_t hash_seed;
    uint64_t evict_rng;        /* xorshift state of evict_one(), never 0 */

    conn_t **chunks;
    uint32_t n_chunks;
    conn_t *free_list;

    heap_ent_t *heap;
    size_t heap_len, heap_cap;
    expiry_q_t tq[TQ_MAX];
    int n_tq;

    GHashTable *ip_tunnels; /* key: ip_tunnel_t (lo, hi, kind) -> same struct */
    svc_engine_t *svc;

    seq_block_t *block_pool;   /* free TCP_MAX_BLOCKS arrays, linked through [0].seq */
    tcp_state_t *tcp_pool;     /* free TCP states, linked through their first bytes */
    void **tcp_chunks;
    uint32_t n_tcp_chunks;
    flow_state_t *flow_pool;   /* free flow states, linked the same way */
    void **flow_chunks;
    uint32_t n_flow_chunks;

    double now;
    bool have_now;
    conn_stats_t stats;
    conn_record_t rec;
};

/* ------------------------------------------------------------------ */
/* small helpers                                                        */

static inline bool
port_in(const uint8_t *bits, uint16_t p)
{
    return (bits[p >> 3] >> (p & 7)) & 1;
}

static inline const uint8_t *
orig_addr(const conn_t *c)
{
    return c->orig_is_a ? c->a : c->b;
}

static inline const uint8_t *
resp_addr(const conn_t *c)
{
    return c->orig_is_a ? c->b : c->a;
}

static inline uint16_t
orig_port(const conn_t *c)
{
    return c->orig_is_a ? c->pa : c->pb;
}

static inline uint16_t
resp_port(const conn_t *c)
{
    return c->orig_is_a ? c->pb : c->pa;
}

const conn_config_t *
conn_builder_config(const conn_builder_t *cb)
{
    return &cb->cfg;
}

weird_counters_t *
conn_builder_weirds(conn_builder_t *cb)
{
    return cb->weirds;
}

/* ------------------------------------------------------------------ */
/* history                                                              */

static conn_ext_t *
conn_ext(conn_t *c)
{
    if (!c->ext)
        c->ext = g_try_new0(conn_ext_t, 1);
    return c->ext;
}

void
conn_add_history(conn_builder_t *cb, conn_t *c, char code)
{
    if (c->hist_len >= CONN_HISTORY_MAX) {
        weird_bump(cb->weirds, WEIRD_HISTORY_TRUNCATED);
        return;
    }
    if (c->hist_len < CONN_HIST_INLINE) {
        c->hist[c->hist_len++] = code;
        c->hist[c->hist_len] = '\0';
        return;
    }
    conn_ext_t *x = conn_ext(c);
    if (!x) {
        weird_bump(cb->weirds, WEIRD_HISTORY_TRUNCATED);
        return;
    }
    x->hist_more[c->hist_len++ - CONN_HIST_INLINE] = code;
}

void
conn_history(const conn_t *c, char *buf)
{
    size_t n = c->hist_len < CONN_HIST_INLINE ? c->hist_len : CONN_HIST_INLINE;
    memcpy(buf, c->hist, n);
    if (c->hist_len > CONN_HIST_INLINE && c->ext)
        memcpy(buf + n, c->ext->hist_more, c->hist_len - n), n = c->hist_len;
    buf[n] = '\0';
}

bool
conn_check_history(conn_builder_t *cb, conn_t *c, uint32_t mask, char code)
{
    if ((c->hist_seen & mask) == 0) {
        c->hist_seen |= mask;
        conn_add_history(cb, c, code);
        return false;
    }
    return true;
}

void
conn_scaled_history(conn_builder_t *cb, conn_t *c, char code, uint32_t *counter)
{
    /* Session::ScaledHistoryEntry, base 10: the letter is added when the
     * counter reaches 1, 10, 100, ...  Counting up to 10^9 is exact. */
    uint32_t n = ++*counter;
    uint32_t p = 1;
    while (p < n && p <= 100000000u)
        p *= 10;
    if (p == n)
        conn_add_history(cb, c, code);
}

/* ------------------------------------------------------------------ */
/* timers                                                               */

/* A 4-ary min-heap: half the depth of a binary heap, and siblings share
 * cache lines; every TCP connection's expire timer fires every
 * tcp_session_timer seconds, so this is a hot structure. */
#define HEAP_D 4

static inline void
heap_set(conn_builder_t *cb, size_t i, heap_ent_t e)
{
    cb->heap[i] = e;
    e.c->heap_pos = (uint32_t)i;
}

static void
heap_sift_up(conn_builder_t *cb, size_t i)
{
    heap_ent_t e = cb->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / HEAP_D;
        if (cb->heap[parent].t <= e.t)
            break;
        heap_set(cb, i, cb->heap[parent]);
        i = parent;
    }
    heap_set(cb, i, e);
}

static void
heap_sift_down(conn_builder_t *cb, size_t i)
{
    heap_ent_t e = cb->heap[i];
    size_t n = cb->heap_len;
    for (;;) {
        size_t first = HEAP_D * i + 1;
        if (first >= n)
            break;
        size_t end = first + HEAP_D < n ? first + HEAP_D : n;
        size_t m = first;
        for (size_t k = first + 1; k < end; k++)
            if (cb->heap[k].t < cb->heap[m].t)
                m = k;
        if (cb->heap[m].t >= e.t)
            break;
        heap_set(cb, i, cb->heap[m]);
        i = m;
    }
    heap_set(cb, i, e);
}

static void
heap_remove(conn_builder_t *cb, conn_t *c)
{
    uint32_t i = c->heap_pos;
    if (i == HEAP_NONE)
        return;
    c->heap_pos = HEAP_NONE;
    heap_ent_t last = cb->heap[--cb->heap_len];
    if (i == cb->heap_len)
        return;
    double old = cb->heap[i].t;
    heap_set(cb, i, last);
    if (last.t < old)
        heap_sift_up(cb, i);
    else
        heap_sift_down(cb, i);
}

/* Put @p c in the heap at time @p t, or move it there. */
static void
heap_update(conn_builder_t *cb, conn_t *c, double t)
{
    if (c->heap_pos != HEAP_NONE) {
        size_t i = c->heap_pos;
        double old = cb->heap[i].t;
        if (t == old)
            return;
        cb->heap[i].t = t;
        if (t < old)
            heap_sift_up(cb, i);
        else
            heap_sift_down(cb, i);
        return;
    }
    if (cb->heap_len == cb->heap_cap) {
        cb->heap_cap = cb->heap_cap ? cb->heap_cap * 2 : 1024;
        cb->heap = g_renew(heap_ent_t, cb->heap, cb->heap_cap);
    }
    size_t i = cb->heap_len++;
    cb->heap[i] = (heap_ent_t){t, c};
    heap_sift_up(cb, i);
}

static void
tq_unlink(conn_builder_t *cb, flow_state_t *f)
{
    expiry_q_t *q = &cb->tq[f->tq - 1];

    f->tq = 0;
    /* conn_builder_flush() empties the queues at once; the members it then
     * removes one by one have no live neighbours left to fix */
    if (q->head == NULL)
        return;
    if (f->tq_prev)
        f->tq_prev->tq_next = f->tq_next;
    else
        q->head = f->tq_next;
    if (f->tq_next)
        f->tq_next->tq_prev = f->tq_prev;
    else
        q->tail = f->tq_prev;
    f->tq_prev = f->tq_next = NULL;
}

/* The queue for connections waiting @p wait seconds, -1 if all are taken. */
static int
tq_for(conn_builder_t *cb, float wait)
{
    for (int k = 0; k < cb->n_tq; k++)
        if (cb->tq[k].wait == wait)
            return k;
    if (cb->n_tq == TQ_MAX)
        return -1;
    cb->tq[cb->n_tq] = (expiry_q_t){.wait = wait, .head = NULL, .tail = NULL};
    return cb->n_tq++;
}

/* Arm the timer of flow connection @p c at @p t (0: disarm). */
static void
flow_schedule(conn_builder_t *cb, conn_t *c, double t)
{
    flow_state_t *f = c->u.flow;

    if (f->tq)
        tq_unlink(cb, f);
    if (t == 0) {
        heap_remove(cb, c);
        return;
    }
    int k = tq_for(cb, c->inact_timeout);
    if (k >= 0 && (cb->tq[k].tail == NULL || cb->tq[k].tail->tq_at <= t)) {
        expiry_q_t *q = &cb->tq[k];

        heap_remove(cb, c);
        f->owner = c;
        f->tq_at = t;
        f->tq = (uint8_t)(k + 1);
        f->tq_prev = q->tail;
        f->tq_next = NULL;
        if (q->tail)
            q->tail->tq_next = f;
        else
            q->head = f;
        q->tail = f;
        return;
    }
    heap_update(cb, c, t);
}

/* Take @p c off whichever timer structure holds it. */
static void
timer_remove(conn_builder_t *cb, conn_t *c)
{
    heap_remove(cb, c);
    if (c->is_flow && c->u.flow->tq)
        tq_unlink(cb, c->u.flow);
}

static inline bool
has_tcp_timers(const conn_t *c)
{
    return !c->is_flow && c->transport == CONN_PROTO_TCP && c->u.tcp;
}

static double
conn_next_timer(conn_t *c)
{
    double next = c->inact_at;
    if (has_tcp_timers(c))
        for (int k = 0; k < TMR_INACT; k++) {
            double t = c->u.tcp->tmr[k];
            if (t > 0 && (next == 0 || t < next))
                next = t;
        }
    return next;
}

static void
conn_schedule(conn_builder_t *cb, conn_t *c)
{
    double next = conn_next_timer(c);
    if (c->is_flow)
        flow_schedule(cb, c, next);
    else if (next == 0)
        heap_remove(cb, c);
    else
        heap_update(cb, c, next);
}

void
conn_reschedule(conn_builder_t *cb, conn_t *c)
{
    conn_schedule(cb, c);
}

svc_engine_t *
conn_builder_svc(conn_builder_t *cb)
{
    return cb->svc;
}

void
conn_set_timer(conn_builder_t *cb, conn_t *c, int kind, double t)
{
    if (c->removed)
        return;
    *conn_timer(c, kind) = t;
    conn_schedule(cb, c);
}

void
conn_cancel_timers(conn_t *c)
{
    c->inact_at = 0;
    if (has_tcp_timers(c))
        for (int k = 0; k < TMR_INACT; k++)
            c->u.tcp->tmr[k] = 0;
}

void
conn_set_inactivity_timeout(conn_builder_t *cb, conn_t *c, double timeout)
{
    if (timeout == c->inact_timeout)
        return;
    c->inact_at = 0;
    if (timeout > 0)
        conn_set_timer(cb, c, TMR_INACT, c->last_time + timeout);
    c->inact_timeout = timeout;
}

/* Run the timers of @p c that are due at @p now, earliest first. */
static void
conn_run_timers(conn_builder_t *cb, conn_t *c, double now)
{
    for (;;) {
        int kind = -1;
        double best = 0;
        for (int k = has_tcp_timers(c) ? 0 : TMR_INACT; k < TMR_COUNT; k++) {
            double tk = *conn_timer(c, k);
            if (tk > 0 && tk <= now && (kind < 0 || tk < best)) {
                kind = k;
                best = tk;
            }
        }
        if (kind < 0)
            break;
        *conn_timer(c, kind) = 0;
        switch (kind) {
        case TMR_AUX:
            if (c->u.tcp->aux_is_delete)
                conn_remove(cb, c); /* ConnDeleteTimer after tcp_close_delay */
            else
                tcp_attempt_timer(cb, c, now);
            break;
        case TMR_EXPIRE0:
        case TMR_EXPIRE1:
            tcp_expire_timer(cb, c, now, kind);
            break;
        case TMR_INACT: {
            /* Connection::InactivityTimer.  A flow connection waits from
             * when its last record arrived, not from the flow's own end:
             * replayed or late exports must still stitch. */
            double base = c->is_flow ? c->u.flow->touched : c->last_time;
            if (base + c->inact_timeout <= now)
                conn_remove(cb, c);
            else
                conn_set_timer(cb, c, TMR_INACT, base + c->inact_timeout);
            break;
        }
        }
        if (c->removed)
            return;
    }
}

static void slab_free(conn_builder_t *cb, conn_t *c);

/* Every cache line of an object: slab objects are not line-aligned. */
static inline void
prefetch_object(const void *p, size_t size)
{
    uintptr_t end = (uintptr_t)p + size;
    for (uintptr_t a = (uintptr_t)p & ~(uintptr_t)63; a < end; a += 64)
        __builtin_prefetch((const void *)a);
}

/* Expiring a queue's head touches its flow state, its connection and its
 * table slot, three cache misses in a row with nothing else to do (the
 * slot alone was 12% of the builder at 1M records/s).  While @p h expires,
 * fetch the slot of the next member, the connection of the one after and
 * the flow state of the third: each was fetched by an earlier call, so the
 * walk to them hits the cache. */
static void
tq_prefetch(const conn_builder_t *cb, const flow_state_t *h)
{
    const flow_state_t *f1 = h->tq_next;
    if (!f1)
        return;
    conn_table_prefetch(cb, f1->owner->hash);
    const flow_state_t *f2 = f1->tq_next;
    if (!f2)
        return;
    prefetch_object(f2->owner, sizeof(conn_t));
    if (f2->tq_next)
        prefetch_object(f2->tq_next, sizeof(flow_state_t));
}

/* Dispatch every timer due at or before @p now (RunState's timer_mgr->Advance). */
static void
run_due(conn_builder_t *cb, double now)
{
    for (;;) {
        conn_t *c = NULL;
        double t = now;

        if (cb->heap_len > 0 && cb->heap[0].t <= t) {
            c = cb->heap[0].c;
            t = cb->heap[0].t;
        }
        const flow_state_t *from_q = NULL;
        for (int k = 0; k < cb->n_tq; k++) {
            const flow_state_t *h = cb->tq[k].head;
            if (h && (c ? h->tq_at < t : h->tq_at <= t)) {
                c = h->owner;
                t = h->tq_at;
                from_q = h;
            }
        }
        if (!c)
            break;
        if (from_q)
            tq_prefetch(cb, from_q);
        timer_remove(cb, c);
        conn_run_timers(cb, c, now);
        if (c->removed)
            slab_free(cb, c);
        else
            conn_schedule(cb, c);
    }
}

void
conn_builder_advance(conn_builder_t *cb, double now)
{
    if (!cb->have_now || now > cb->now) {
        cb->now = now;
        cb->have_now = true;
    }
    run_due(cb, now);
}

#define TCP_CHUNK 256 /* see SLAB_CHUNK */
_Static_assert(SLAB_CHUNK * sizeof(conn_t) <= 96 * 1024 &&
                   TCP_CHUNK * sizeof(tcp_state_t) <= 96 * 1024,
               "slab chunks must stay well under malloc's 128 KiB mmap threshold");

tcp_state_t *
conn_tcp_alloc(conn_builder_t *cb)
{
    if (!cb->tcp_pool) {
        tcp_state_t *chunk = g_try_new(tcp_state_t, TCP_CHUNK);
        if (!chunk)
            return NULL;
        cb->tcp_chunks = g_renew(void *, cb->tcp_chunks, cb->n_tcp_chunks + 1);
        cb->tcp_chunks[cb->n_tcp_chunks++] = chunk;
        for (int i = 0; i < TCP_CHUNK; i++) {
            memcpy(&chunk[i], &cb->tcp_pool, sizeof(void *));
            cb->tcp_pool = &chunk[i];
        }
        cb->stats.bytes_in_use += sizeof(tcp_state_t) * TCP_CHUNK;
    }
    tcp_state_t *t = cb->tcp_pool;
    memcpy(&cb->tcp_pool, t, sizeof(void *));
    memset(t, 0, sizeof(*t));
    return t;
}

void
conn_tcp_free(conn_builder_t *cb, tcp_state_t *t)
{
    memcpy(t, &cb->tcp_pool, sizeof(void *));
    cb->tcp_pool = t;
}

seq_block_t *
conn_blocks_alloc(conn_builder_t *cb)
{
    seq_block_t *b = cb->block_pool;
    if (b) {
        memcpy(&cb->block_pool, &b[0].seq, sizeof(cb->block_pool));
        return b;
    }
    b = g_try_new(seq_block_t, TCP_MAX_BLOCKS);
    if (b)
        cb->stats.bytes_in_use += sizeof(seq_block_t) * TCP_MAX_BLOCKS;
    return b;
}

void
conn_blocks_free(conn_builder_t *cb, seq_block_t *b)
{
    if (!b)
        return;
    memcpy(&b[0].seq, &cb->block_pool, sizeof(cb->block_pool));
    cb->block_pool = b;
}

/* ------------------------------------------------------------------ */
/* slab and table                                                       */

static conn_t *
slab_alloc(conn_builder_t *cb)
{
    if (!cb->free_list) {
        conn_t *chunk = g_new0(conn_t, SLAB_CHUNK);
        cb->chunks = g_renew(conn_t *, cb->chunks, cb->n_chunks + 1);
        cb->chunks[cb->n_chunks++] = chunk;
        for (int i = SLAB_CHUNK - 1; i >= 0; i--) {
            chunk[i].next_free = cb->free_list;
            cb->free_list = &chunk[i];
        }
        cb->stats.bytes_in_use += sizeof(conn_t) * SLAB_CHUNK;
    }
    conn_t *c = cb->free_list;
    cb->free_list = c->next_free;
    uint32_t gen = c->gen;
    memset(c, 0, sizeof(*c));
    c->gen = gen + 1;
    c->heap_pos = HEAP_NONE;
    return c;
}

/* Flow connections' state comes from chunks like the TCP state: freeing a
 * million of them one by one through malloc (at a flush, or as fast as
 * they expire at 1M records/s) spent most of its time consolidating. */
#define FLOW_CHUNK 256
_Static_assert(FLOW_CHUNK * sizeof(flow_state_t) <= 96 * 1024,
               "flow state chunks must stay well under malloc's 128 KiB mmap threshold");

static flow_state_t *
flow_state_alloc(conn_builder_t *cb)
{
    if (!cb->flow_pool) {
        flow_state_t *chunk = g_try_new(flow_state_t, FLOW_CHUNK);
        if (!chunk)
            return NULL;
        cb->flow_chunks = g_renew(void *, cb->flow_chunks, cb->n_flow_chunks + 1);
        cb->flow_chunks[cb->n_flow_chunks++] = chunk;
        for (int i = 0; i < FLOW_CHUNK; i++) {
            memcpy(&chunk[i], &cb->flow_pool, sizeof(void *));
            cb->flow_pool = &chunk[i];
        }
        cb->stats.bytes_in_use += sizeof(flow_state_t) * FLOW_CHUNK;
    }
    flow_state_t *f = cb->flow_pool;
    memcpy(&cb->flow_pool, f, sizeof(void *));
    memset(f, 0, sizeof(*f));
    return f;
}

static void
flow_state_free(conn_builder_t *cb, flow_state_t *f)
{
    memcpy(f, &cb->flow_pool, sizeof(void *));
    cb->flow_pool = f;
}

static void
slab_free(conn_builder_t *cb, conn_t *c)
{
    if (c->is_flow)
        flow_state_free(cb, c->u.flow);
    else if (c->transport == CONN_PROTO_TCP)
        tcp_conn_free(cb, c);
    memset(&c->u, 0, sizeof(c->u));
    g_free(c->ext);
    c->ext = NULL;
    c->gen++;
    c->next_free = cb->free_list;
    cb->free_list = c;
}

static inline uint64_t
mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint64_t
load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

uint32_t
conn_key_hash(const conn_builder_t *cb, const conn_key_t *k)
{
    uint64_t h = cb->hash_seed;
    h = mix64(h ^ load64(k->a));
    h = mix64(h ^ load64(k->a + 8));
    h = mix64(h ^ load64(k->b));
    h = mix64(h ^ load64(k->b + 8));
    h = mix64(h ^ ((uint64_t)k->pa << 48 | (uint64_t)k->pb << 32 | (uint64_t)k->proto << 24 |
                   (uint64_t)k->one_way << 16) ^ ((uint64_t)k->src_id << 1));
    return (uint32_t)h;
}

static inline bool
key_eq(const conn_t *c, const conn_key_t *k)
{
    return c->pa == k->pa && c->pb == k->pb && c->ip_proto == k->proto &&
           c->one_way == k->one_way && (c->is_flow ? c->u.flow->src_id : 0) == k->src_id &&
           memcmp(c->a, k->a, 16) == 0 &&
           memcmp(c->b, k->b, 16) == 0;
}

static void table_insert_raw(conn_builder_t *cb, conn_t *c);

static void
table_grow(conn_builder_t *cb)
{
    slot_t *old = cb->table;
    uint32_t old_cap = cb->mask + 1;
    uint32_t cap = old_cap * 2;
    cb->table = g_new0(slot_t, cap);
    cb->mask = cap - 1;
    for (uint32_t i = 0; i < old_cap; i++)
        if (old[i])
            table_insert_raw(cb, slot_conn(old[i]));
    g_free(old);
    cb->stats.bytes_in_use += (uint64_t)(cap - old_cap) * sizeof(slot_t);
}

static void
table_insert_raw(conn_builder_t *cb, conn_t *c)
{
    uint32_t home = c->hash & cb->mask, i = home;
    while (cb->table[i])
        i = (i + 1) & cb->mask;
    cb->table[i] = slot_make(c, (i - home) & cb->mask);
}

static conn_t *
table_lookup(conn_builder_t *cb, const conn_key_t *k, uint32_t h)
{
    uint32_t i = h & cb->mask;
    slot_t s;
    while ((s = cb->table[i]) != 0) {
        if (slot_may_hold(s, h)) {
            conn_t *c = slot_conn(s);
            if (c->hash == h && key_eq(c, k))
                return c;
        }
        i = (i + 1) & cb->mask;
    }
    return NULL;
}

/* Linear-probing deletion with backward shift: no tombstones, so lookups
 * stay short however many connections come and go. */
static void
table_delete(conn_builder_t *cb, conn_t *c)
{
    uint32_t i = c->hash & cb->mask;
    while (slot_conn(cb->table[i]) != c) {
        if (!cb->table[i])
            return;
        i = (i + 1) & cb->mask;
    }
    uint32_t j = i, home;
    for (;;) {
        cb->table[i] = 0;
        for (;;) {
            j = (j + 1) & cb->mask;
            if (!cb->table[j])
                return;
            home = slot_home(cb->table[j], j, cb->mask);
            /* can the entry at j move to i? only if home is not in (i, j] */
            bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays)
                break;
        }
        /* it moves back to i: nearer its home */
        cb->table[i] = slot_moved(cb->table[j], (i - home) & cb->mask);
        i = j;
    }
}

/* ------------------------------------------------------------------ */
/* records                                                              */

static void
packet_fill_record(const conn_t *c, conn_record_t *r)
{
    conn_history(c, r->history);
    if (c->transport == CONN_PROTO_TCP)
        r->missed_bytes = c->u.tcp->missed_bytes;
    double duration = c->last_time - c->start_time;
    r->has_duration = duration > 0;
    r->duration = duration;
    switch (c->transport) {
    case CONN_PROTO_TCP:
        r->orig_bytes = tcp_endpoint_size(c, 0);
        r->resp_bytes = tcp_endpoint_size(c, 1);
        r->conn_state = tcp_conn_state(c, r->history);
        break;
    case CONN_PROTO_UDP:
        r->orig_bytes = c->u.size[0];
        r->resp_bytes = c->u.size[1];
        if (c->udp_active[0] && c->udp_active[1])
            r->conn_state = CONN_STATE_SF;
        else if (c->udp_active[0])
            r->conn_state = CONN_STATE_S0;
        else if (c->udp_active[1])
            r->conn_state = CONN_STATE_SHR;
        else
            r->conn_state = CONN_STATE_OTH;
        break;
    case CONN_PROTO_ICMP:
        r->orig_bytes = c->u.size[0];
        r->resp_bytes = c->u.size[1];
        r->conn_state = CONN_STATE_OTH;
        break;
    default:
        r->conn_state = CONN_STATE_OTH;
        break;
    }

    r->orig_pkts = c->pkts[0];
    r->orig_ip_bytes = c->ip_bytes[0];
    r->resp_pkts = c->pkts[1];
    r->resp_ip_bytes = c->ip_bytes[1];
}

static void
fill_record(conn_builder_t *cb, const conn_t *c, conn_record_t *r)
{
    memset(r, 0, sizeof(*r));
    r->ts = c->start_time;
    uint64_t w[2];
    uid_words(cb->uids, c->uid_base, w);
    uid_format(w, 'C', r->uid, sizeof(r->uid));
    memcpy(r->orig_h, orig_addr(c), 16);
    memcpy(r->resp_h, resp_addr(c), 16);
    r->orig_p = orig_port(c);
    r->resp_p = resp_port(c);
    r->proto = (conn_proto_t)c->transport;
    r->ip_proto = c->ip_proto;

    svc_format(&c->svc, r->service, sizeof(r->service));

    if (c->is_flow)
        flow_fill_record(cb, c, r);
    else
        packet_fill_record(c, r);

    /* Site::local_nets is consulted only when it is non-empty (main.zeek). */
    if (cb->cfg.local_nets && !netset_is_empty(cb->cfg.local_nets)) {
        r->local_orig = netset_contains(cb->cfg.local_nets, r->orig_h) ? TRI_T : TRI_F;
        r->local_resp = netset_contains(cb->cfg.local_nets, r->resp_h) ? TRI_T : TRI_F;
    } else {
        r->local_orig = r->local_resp = TRI_UNSET;
    }
    r->n_parents = c->n_parents;
    for (int i = 0; i < c->n_parents && c->ext; i++)
        uid_format(c->ext->parents[i], 'C', r->parents[i], sizeof(r->parents[i]));
}

void
conn_remove(conn_builder_t *cb, conn_t *c)
{
    if (c->removed)
        return;
    c->removed = true;
    conn_cancel_timers(c);
    timer_remove(cb, c);
    table_delete(cb, c);
    cb->count--;
    fill_record(cb, c, &cb->rec);
    cb->stats.logged++;
    cb->stats.by_state[cb->rec.conn_state]++;
    cb->stats.by_proto[c->transport]++;
    if (cb->sink)
        cb->sink(&cb->rec, cb->sink_user);
}

/* ------------------------------------------------------------------ */
/* flips                                                                */

static void
flip_roles(conn_builder_t *cb, conn_t *c, bool swap_counters)
{
    c->orig_is_a ^= 1;
    if (!c->is_flow && c->transport == CONN_PROTO_TCP)
        tcp_flip(c);
    if (swap_counters) {
        uint64_t t;
        t = c->pkts[0], c->pkts[0] = c->pkts[1], c->pkts[1] = t;
        t = c->ip_bytes[0], c->ip_bytes[0] = c->ip_bytes[1], c->ip_bytes[1] = t;
        if (!c->is_flow && c->transport != CONN_PROTO_TCP)
            t = c->u.size[0], c->u.size[0] = c->u.size[1], c->u.size[1] = t;
        bool b = c->udp_active[0];
        c->udp_active[0] = c->udp_active[1];
        c->udp_active[1] = b;
    }
    conn_add_history(cb, c, '^');
}

void
conn_flip_roles(conn_builder_t *cb, conn_t *c)
{
    flip_roles(cb, c, true);
}

/* ------------------------------------------------------------------ */
/* ICMP port pairing (spec section 5)                                   */

bool
conn_icmp_counterpart(bool v6, uint8_t type, uint8_t *other)
{
    static const uint8_t p4[][2] = {{8, 0}, {13, 14}, {15, 16}, {10, 9}, {17, 18}};
    static const uint8_t p6[][2] = {{128, 129}, {133, 134}, {135, 136},
                                    {130, 131}, {139, 140}, {144, 145}};
    const uint8_t(*p)[2] = v6 ? p6 : p4;
    size_t n = v6 ? G_N_ELEMENTS(p6) : G_N_ELEMENTS(p4);
    for (size_t i = 0; i < n; i++) {
        if (type == p[i][0]) {
            *other = p[i][1];
            return true;
        }
        if (type == p[i][1]) {
            *other = p[i][0];
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* IP tunnels                                                           */

static guint
ip_tunnel_hash(gconstpointer p)
{
    const ip_tunnel_t *t = p;
    return (guint)(mix64(load64(t->lo + 8) ^ load64(t->hi + 8) * 31 ^ load64(t->lo) ^
                         load64(t->hi) ^ t->kind));
}

static gboolean
ip_tunnel_equal(gconstpointer x, gconstpointer y)
{
    const ip_tunnel_t *a = x, *b = y;
    return a->kind == b->kind && memcmp(a->lo, b->lo, 16) == 0 && memcmp(a->hi, b->hi, 16) == 0;
}

/* The uid of the IP tunnel carrying @p l's inner packet: one per address
 * pair and kind, in either direction (Zeek's IPTunnel ip_tunnels map). */
static void
ip_tunnel_uid(conn_builder_t *cb, const pkt_layer_t *l, uint64_t uid[2])
{
    ip_tunnel_t key;
    memset(&key, 0, sizeof(key));
    bool src_lo = memcmp(l->src, l->dst, 16) <= 0;
    memcpy(key.lo, src_lo ? l->src : l->dst, 16);
    memcpy(key.hi, src_lo ? l->dst : l->src, 16);
    key.kind = (uint8_t)l->inner_encap;
    ip_tunnel_t *t = g_hash_table_lookup(cb->ip_tunnels, &key);
    if (!t) {
        if (g_hash_table_size(cb->ip_tunnels) >= 65536)
            g_hash_table_remove_all(cb->ip_tunnels); /* bounded; uids restart for old pairs */
        t = g_new(ip_tunnel_t, 1);
        *t = key;
        uid_next(cb->uids, t->uid);
        g_hash_table_add(cb->ip_tunnels, t);
    }
    t->last_seen = l->ts;
    uid[0] = t->uid[0];
    uid[1] = t->uid[1];
}

/* ------------------------------------------------------------------ */
/* application-level flips (spec section 3, trigger 4)                  */

static bool
addr_is_multicast(const uint8_t a[16])
{
    if (addr_is_v4(a))
        return (a[12] & 0xf0) == 0xe0;
    return a[0] == 0xff;
}

/* Zeek's DNS and NTP analyzers flip a UDP connection whose first message
 * shows the roles the wrong way round.  The letter already added stays
 * ("D^"), and unlike a TCP flip the UDP counters are not swapped: Zeek's
 * ConnSize has already counted the packet under the old roles
 * (scripts.base.protocols.ntp.misordered-ntp: D^, S0, 2 orig packets). */
static void
udp_app_flip(conn_builder_t *cb, conn_t *c, const pkt_layer_t *l, bool is_orig)
{
    if (c->app_seen)
        return;
    uint16_t rp = resp_port(c);
    bool dns = (rp == 53 || rp == 137 || rp == 5353 || rp == 5355) &&
               port_in(cb->cfg.likely_server_udp, rp);
    bool ntp = rp == 123 && port_in(cb->cfg.likely_server_udp, 123);
    if (!dns && !ntp)
        return;
    if (dns) {
        if (l->payload_caplen < 12 || l->payload_len < 12)
            return; /* no DNS message yet */
        c->app_seen = true;
        bool qr = (l->payload[2] & 0x80) != 0;
        if (qr && is_orig && !addr_is_multicast(resp_addr(c)))
            flip_roles(cb, c, false);
    } else {
        if (l->payload_caplen < 48 || l->payload_len < 48)
            return;
        c->app_seen = true;
        uint8_t mode = l->payload[0] & 0x07;
        if ((mode == 4 && is_orig) || (mode == 3 && !is_orig))
            flip_roles(cb, c, false);
    }
}

/* ------------------------------------------------------------------ */
/* packets                                                              */

static bool
checksum_wanted(const conn_builder_t *cb, const pkt_layer_t *l)
{
    if (cb->cfg.ignore_checksums || l->snaplen_cut)
        return false;
    if (cb->cfg.ignore_checksums_nets && netset_contains(cb->cfg.ignore_checksums_nets, l->src))
        return false;
    return true;
}

static void
note_parent(conn_builder_t *cb, conn_t *c, const conn_parent_t *parent, bool is_new)
{
    uint64_t p0 = parent && parent->valid ? parent->uid[0] : 0;
    uint64_t p1 = parent && parent->valid ? parent->uid[1] : 0;
    if (!c->ext && p0 == 0 && p1 == 0)
        return; /* never tunnelled: the usual case, nothing to record */
    conn_ext_t *x = conn_ext(c);
    if (!x)
        return;
    if (!is_new && p0 == x->cur_parent[0] && p1 == x->cur_parent[1])
        return;
    if (!is_new) {
        /* Connection::CheckEncapsulation: the tunnel changed. */
        if (c->tunnel_changes < 255)
            c->tunnel_changes++;
        if (cb->cfg.max_tunnel_changes && c->tunnel_changes > cb->cfg.max_tunnel_changes)
            conn_check_history(cb, c, HIST_UNKNOWN_PKT, 'X');
    }
    x->cur_parent[0] = p0;
    x->cur_parent[1] = p1;
    if (!(parent && parent->valid))
        return;
    for (int i = 0; i < c->n_parents; i++)
        if (x->parents[i][0] == p0 && x->parents[i][1] == p1)
            return;
    if (c->n_parents >= CONN_MAX_PARENTS)
        return;
    x->parents[c->n_parents][0] = p0;
    x->parents[c->n_parents][1] = p1;
    c->n_parents++;
}

/*
 * Evict one connection to stay under the cap, logging it.  The victim is
 * the least recently active of EVICT_SAMPLES connections picked at random
 * (an approximated LRU, as Redis evicts keys).  Under a SYN flood or a scan
 * the table is full of one-packet connections that went idle long ago, so
 * conversations still in progress survive.  (Taking the nearest timer
 * instead lets a UDP scan, whose 60 s inactivity timers outlast TCP's 5 s
 * attempt and close timers, pin the table and push out every live TCP
 * session.)  The draw is seeded from the hash seed: runs repeat exactly.
 */
#define EVICT_SAMPLES 8

static void
evict_one(conn_builder_t *cb)
{
    conn_t *victim = NULL;
    for (int n = 0; n < EVICT_SAMPLES && cb->count > 0; n++) {
        /* xorshift64 (Marsaglia 2003) */
        cb->evict_rng ^= cb->evict_rng << 13;
        cb->evict_rng ^= cb->evict_rng >> 7;
        cb->evict_rng ^= cb->evict_rng << 17;
        /* the first occupied slot at or after a random one (load <= 0.7) */
        for (uint32_t i = (uint32_t)cb->evict_rng & cb->mask;; i = (i + 1) & cb->mask) {
            conn_t *c = slot_conn(cb->table[i]);
            if (c) {
                if (!victim || c->last_time < victim->last_time)
                    victim = c;
                break;
            }
        }
    }
    if (!victim)
        return;
    cb->stats.evicted++;
    weird_bump(cb->weirds, WEIRD_CONN_TABLE_FULL);
    conn_remove(cb, victim);
    slab_free(cb, victim);
}

conn_t *
conn_create(conn_builder_t *cb, const conn_key_t *k, uint32_t h, const uint8_t orig_h[16],
            uint16_t orig_p, conn_proto_t transport, double t)
{
    if (cb->cfg.max_conns && cb->count >= cb->cfg.max_conns)
        evict_one(cb);
    conn_t *c = slab_alloc(cb);
    memcpy(c->a, k->a, 16);
    memcpy(c->b, k->b, 16);
    c->pa = k->pa;
    c->pb = k->pb;
    c->ip_proto = k->proto;
    c->one_way = k->one_way;
    c->transport = (uint8_t)transport;
    c->hash = h;
    c->orig_is_a = memcmp(c->a, orig_h, 16) == 0 && c->pa == orig_p;
    c->start_time = c->last_time = t;
    c->uid_base = uid_reserve(cb->uids);
    if (k->src_id) {
        c->is_flow = true;
        c->u.flow = flow_state_alloc(cb);
        if (!c->u.flow) {
            slab_free(cb, c);
            return NULL;
        }
        c->u.flow->src_id = k->src_id;
    } else if (transport == CONN_PROTO_TCP && !tcp_conn_init(cb, c)) {
        slab_free(cb, c);
        return NULL;
    }
    /* load factor at most 0.7: linear probing stays short, memory stays small */
    if ((cb->count + 1) * 10 > ((uint64_t)cb->mask + 1) * 7)
        table_grow(cb);
    table_insert_raw(cb, c);
    cb->count++;
    if (cb->count > cb->stats.peak_active)
        cb->stats.peak_active = cb->count;
    cb->stats.created++;
    return c;
}

conn_t *
conn_lookup_hashed(conn_builder_t *cb, const conn_key_t *k, uint32_t hash)
{
    return table_lookup(cb, k, hash);
}

void
conn_table_prefetch(const conn_builder_t *cb, uint32_t hash)
{
    __builtin_prefetch(&cb->table[hash & cb->mask]);
}

conn_t *
conn_lookup(conn_builder_t *cb, const conn_key_t *k, uint32_t *hash)
{
    *hash = conn_key_hash(cb, k);
    return table_lookup(cb, k, *hash);
}

void
conn_key_make(conn_key_t *k, const uint8_t src[16], uint16_t sport, const uint8_t dst[16],
              uint16_t dport, uint8_t proto, bool one_way, uint32_t src_id)
{
    memset(k, 0, sizeof(*k));
    int cmp = memcmp(src, dst, 16);
    bool src_first = one_way || cmp < 0 || (cmp == 0 && sport <= dport);
    memcpy(k->a, src_first ? src : dst, 16);
    memcpy(k->b, src_first ? dst : src, 16);
    k->pa = src_first ? sport : dport;
    k->pb = src_first ? dport : sport;
    k->proto = proto;
    k->one_way = one_way;
    k->src_id = src_id;
}

bool
conn_builder_packet(conn_builder_t *cb, const pkt_layer_t *l, const conn_parent_t *parent,
                    conn_parent_t *as_parent)
{
    double t = l->ts;
    if (cb->have_now && t < cb->now)
        weird_bump(cb->weirds, WEIRD_TIME_WENT_BACKWARDS);
    conn_builder_advance(cb, t);
    cb->stats.packets++;
    if (as_parent)
        memset(as_parent, 0, sizeof(*as_parent));

    /* IP-in-IP and GRE carry packets without being connections themselves. */
    if (l->proto == 4 || l->proto == 41 || l->proto == 47)
        return as_parent != NULL;

    conn_proto_t transport;
    uint16_t sport = 0, dport = 0;
    bool one_way = false;
    double timeout;
    switch (l->proto) {
    case 6:
        /* A TCP header with a bad data offset still has valid ports: Zeek
         * creates the connection, then drops the segment (ExtractTCP_Header). */
        transport = CONN_PROTO_TCP;
        sport = l->sport;
        dport = l->dport;
        timeout = cb->cfg.udp_inactivity_timeout; /* until the handshake is left (TCP.cc) */
        break;
    case 17:
        if (!l->l4_complete)
            return false;
        transport = CONN_PROTO_UDP;
        sport = l->sport;
        dport = l->dport;
        timeout = cb->cfg.udp_inactivity_timeout;
        break;
    case 1:
    case 58: {
        if (!l->l4_complete || (l->proto == 1) != (l->ip_version == 4))
            goto unknown;
        transport = CONN_PROTO_ICMP;
        uint8_t other;
        bool paired = conn_icmp_counterpart(l->proto == 58, l->icmp_type, &other);
        sport = l->icmp_type;
        dport = paired ? other : l->icmp_code;
        one_way = !paired;
        timeout = cb->cfg.icmp_inactivity_timeout;
        break;
    }
    default:
    unknown:
        transport = CONN_PROTO_UNKNOWN;
        timeout = cb->cfg.unknown_ip_inactivity_timeout;
        break;
    }

    conn_key_t k;
    conn_key_make(&k, l->src, sport, l->dst, dport, l->proto, one_way, 0);
    uint32_t h = conn_key_hash(cb, &k);

    conn_t *c = table_lookup(cb, &k, h);
    bool is_new = false;
    if (c && transport == CONN_PROTO_TCP && tcp_is_reuse(c, l, t)) {
        conn_remove(cb, c);
        slab_free(cb, c);
        c = NULL;
    }
    if (!c) {
        c = conn_create(cb, &k, h, l->src, sport, transport, t);
        if (!c)
            return false;
        is_new = true;
        c->inact_timeout = 0;
        conn_set_inactivity_timeout(cb, c, timeout);
        if (transport == CONN_PROTO_TCP)
            conn_set_timer(cb, c, TMR_EXPIRE0, t + cb->cfg.tcp_SYN_timeout);
        /* IPBasedAnalyzer::NewConn: flip by likely server ports, never
         * toward the limited broadcast address. */
        static const uint8_t bcast[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff};
        bool flip = false;
        if (transport == CONN_PROTO_TCP)
            flip = tcp_want_flip(&cb->cfg, sport, dport, l->tcp_flags);
        else if (transport == CONN_PROTO_UDP)
            flip = port_in(cb->cfg.likely_server_udp, sport) &&
                   !port_in(cb->cfg.likely_server_udp, dport);
        if (flip && memcmp(l->dst, bcast, 16) != 0)
            flip_roles(cb, c, true);
        svc_conn_new(cb->svc, &c->svc, orig_addr(c), orig_port(c), resp_addr(c), resp_port(c),
                     transport == CONN_PROTO_TCP, t);
    }
    note_parent(cb, c, parent, is_new);

    bool is_orig = memcmp(orig_addr(c), l->src, 16) == 0 && orig_port(c) == sport;
    int dir = is_orig ? 0 : 1;
    bool accepted = true;

    switch (transport) {
    case CONN_PROTO_TCP:
        if (!l->l4_complete) {
            /* The decoder has counted why (bad_TCP_header_len or
             * truncated_TCP_header): Zeek raises one weird per segment. */
            accepted = false;
            break;
        }
        if (checksum_wanted(cb, l) && !decode_l4_checksum_ok(l)) {
            weird_bump(cb->weirds, WEIRD_BAD_TCP_CHECKSUM);
            cb->stats.bad_checksums++;
            tcp_checksum_error(cb, c, is_orig);
            accepted = false;
            break;
        }
        tcp_process(cb, c, l, is_orig);
        if (c->removed)
            break;
        /* ConnSize counts after TCP processing, by the actual sender. */
        dir = (memcmp(orig_addr(c), l->src, 16) == 0 && orig_port(c) == sport) ? 0 : 1;
        c->pkts[dir]++;
        c->ip_bytes[dir] += l->ip_len;
        break;

    case CONN_PROTO_UDP: {
        bool validate = checksum_wanted(cb, l) && l->l4_caplen >= l->l4_len;
        /* VXLAN on its port: a zero checksum is fine (UDP.cc). */
        if (validate && l->dport == 4789 && l->payload_caplen > 8 + 14 &&
            (l->payload[0] & 0x08) == 0x08 && l->l4[6] == 0 && l->l4[7] == 0)
            validate = false;
        if (validate && !decode_l4_checksum_ok(l)) {
            weird_bump(cb->weirds, WEIRD_BAD_UDP_CHECKSUM);
            cb->stats.bad_checksums++;
            conn_ext_t *x = conn_ext(c); /* bad checksums are rare: counted outside */
            if (x && x->chk_cnt[dir] < UINT16_MAX) {
                uint32_t n = x->chk_cnt[dir];
                conn_scaled_history(cb, c, is_orig ? 'C' : 'c', &n);
                x->chk_cnt[dir] = (uint16_t)n;
            }
            accepted = false;
            break;
        }
        c->last_time = t;
        c->pkts[dir]++;
        c->ip_bytes[dir] += l->ip_len;
        conn_check_history(cb, c, is_orig ? HIST_UDP_ORIG_DATA : HIST_UDP_RESP_DATA,
                           is_orig ? 'D' : 'd');
        if (l->udp_len >= 8)
            c->u.size[dir] += l->udp_len - 8u;
        c->udp_active[dir] = true;
        udp_app_flip(cb, c, l, is_orig);
        break;
    }

    case CONN_PROTO_ICMP:
        if (checksum_wanted(cb, l) && !decode_l4_checksum_ok(l)) {
            weird_bump(cb->weirds, WEIRD_BAD_ICMP_CHECKSUM);
            cb->stats.bad_checksums++;
            accepted = false;
            break;
        }
        c->last_time = t;
        c->pkts[dir]++;
        c->ip_bytes[dir] += l->ip_len;
        /* IP payload minus the 8-byte ICMP header (ICMP.cc). */
        if (l->l4_len >= 8)
            c->u.size[dir] += l->l4_len - 8u;
        break;

    default:
        c->last_time = t;
        c->pkts[dir]++;
        c->ip_bytes[dir] += l->ip_len;
        break;
    }

    if (accepted && !c->removed && !c->svc.done && l->payload_len > 0 &&
        (transport == CONN_PROTO_TCP || transport == CONN_PROTO_UDP)) {
        svc_pkt_t sp = {
            .is_tcp = transport == CONN_PROTO_TCP,
            .is_orig = memcmp(orig_addr(c), l->src, 16) == 0 && orig_port(c) == sport,
            .orig_h = orig_addr(c),
            .resp_h = resp_addr(c),
            .orig_p = orig_port(c),
            .resp_p = resp_port(c),
            .tcp_flags = l->tcp_flags,
            .payload = l->payload,
            .len = l->payload_len,
            .caplen = l->payload_caplen,
            .ts = t,
            /* A connection picked up mid-stream: no SYN or SYN-ACK from either
             * side.  (One seen from its SYN-ACK on, flipped with "^h", is not:
             * core.tcp.flip-without-syn still logs http.) */
            .tcp_partial = transport == CONN_PROTO_TCP &&
                           !(c->hist_seen & (HIST_SYN_PKT | (HIST_SYN_PKT << 16))),
        };
        svc_inspect(cb->svc, &c->svc, &sp);
    }

    bool removed = c->removed;
    if (removed)
        slab_free(cb, c);
    else
        conn_schedule(cb, c);

    if (!accepted || removed || !as_parent || transport != CONN_PROTO_UDP)
        return false;
    as_parent->ref = c;
    as_parent->ref_gen = c->gen;
    as_parent->from_orig = is_orig;
    as_parent->resp_port = resp_port(c);
    return true;
}

bool
conn_builder_tunnel(conn_builder_t *cb, const pkt_layer_t *l, conn_parent_t *p)
{
    conn_t *c = p->ref;
    if (c && (c->gen != p->ref_gen || c->removed))
        c = NULL;
    p->valid = false;
    p->kind = l->inner_encap != ENCAP_NONE ? l->inner_encap : l->tunnel;

    if (c && l->tunnel != ENCAP_NONE) {
        const char *name = encap_name(l->tunnel);
        switch (l->tunnel_verdict) {
        case TUNNEL_VERDICT_CONFIRM:
            if (!(c->tunnel_violated & (1u << l->tunnel)))
                svc_add_name(&c->svc, name);
            break;
        case TUNNEL_VERDICT_VALID:
            /* Tunnel::delay_teredo_confirmation: both sides must speak Teredo. */
            c->teredo_dirs |= p->from_orig ? 1 : 2;
            if (c->teredo_dirs == 3 && !(c->tunnel_violated & (1u << l->tunnel)))
                svc_add_name(&c->svc, name);
            break;
        case TUNNEL_VERDICT_VIOLATION:
            /* a violation removes the analyzer, and its service (dpd.zeek) */
            c->tunnel_violated |= (uint8_t)(1u << l->tunnel);
            svc_remove_name(&c->svc, name);
            break;
        case TUNNEL_VERDICT_TOO_DEEP:
            if (tunnel_depth_marks_history(l->tunnel))
                conn_check_history(cb, c, HIST_UNKNOWN_PKT, 'X');
            break;
        default:
            break;
        }
    }
    if (l->inner_encap == ENCAP_NONE || l->tunnel_verdict == TUNNEL_VERDICT_TOO_DEEP ||
        l->tunnel_verdict == TUNNEL_VERDICT_VIOLATION)
        return false;

    /* IP tunnels, and GRE carried in UDP, name the tunnel (one uid per
     * address pair), not a connection (core.tunnels.gre-over-udp: four UDP
     * flows, one parent). */
    if (encap_is_ip_tunnel(l->inner_encap) || l->inner_encap == ENCAP_GRE_UDP)
        ip_tunnel_uid(cb, l, p->uid);
    else if (c)
        uid_words(cb->uids, c->uid_base, p->uid);
    else
        return false;
    p->valid = true;
    p->depth = l->depth + 1;
    return true;
}

/* ------------------------------------------------------------------ */
/* life cycle                                                           */

conn_builder_t *
conn_builder_new(const conn_config_t *cfg, uid_gen_t *uids, weird_counters_t *weirds,
                 conn_sink_fn sink, void *sink_user)
{
    conn_builder_t *cb = g_new0(conn_builder_t, 1);
    cb->cfg = *cfg;
    cb->uids = uids;
    cb->weirds = weirds;
    cb->sink = sink;
    cb->sink_user = sink_user;
    cb->mask = 1024 - 1;
    cb->table = g_new0(slot_t, cb->mask + 1);
    cb->hash_seed = cfg->hash_seed ? cfg->hash_seed
                                   : ((uint64_t)g_random_int() << 32 | g_random_int());
    cb->evict_rng = cb->hash_seed * UINT64_C(0x9e3779b97f4a7c15) | 1;
    cb->ip_tunnels = g_hash_table_new_full(ip_tunnel_hash, ip_tunnel_equal, g_free, NULL);
    cb->svc = svc_engine_new();
    cb->stats.bytes_in_use = sizeof(*cb) + (cb->mask + 1) * sizeof(slot_t);
    return cb;
}

void
conn_builder_free(conn_builder_t *cb)
{
    if (!cb)
        return;
    for (uint32_t i = 0; i <= cb->mask; i++)
        if (cb->table[i])
            slab_free(cb, slot_conn(cb->table[i]));
    for (uint32_t i = 0; i < cb->n_chunks; i++)
        g_free(cb->chunks[i]);
    g_free(cb->chunks);
    for (uint32_t i = 0; i < cb->n_tcp_chunks; i++)
        g_free(cb->tcp_chunks[i]);
    g_free(cb->tcp_chunks);
    for (uint32_t i = 0; i < cb->n_flow_chunks; i++)
        g_free(cb->flow_chunks[i]);
    g_free(cb->flow_chunks);
    g_free(cb->table);
    g_free(cb->heap);
    while (cb->block_pool) {
        seq_block_t *b = cb->block_pool;
        memcpy(&cb->block_pool, &b[0].seq, sizeof(cb->block_pool));
        g_free(b);
    }
    g_hash_table_destroy(cb->ip_tunnels);
    svc_engine_free(cb->svc);
    g_free(cb);
}

/* Zeek's flush order with a seed: raw session keys sorted (spec section 8). */
static int
flush_cmp(const void *x, const void *y)
{
    const conn_t *a = *(const conn_t *const *)x, *b = *(const conn_t *const *)y;
    int r = memcmp(a->a, b->a, 16);
    if (r)
        return r;
    if ((r = memcmp(a->b, b->b, 16)))
        return r;
    if (a->pa != b->pa)
        return a->pa < b->pa ? -1 : 1;
    if (a->pb != b->pb)
        return a->pb < b->pb ? -1 : 1;
    return (int)a->ip_proto - (int)b->ip_proto;
}

void
conn_builder_flush(conn_builder_t *cb)
{
    /* 1. Timers that run at shutdown: the TCP attempt timer turns trailing
     *    SYN-only connections into S0 (done_with_network). */
    GPtrArray *all = g_ptr_array_sized_new((guint)cb->count);
    for (uint32_t i = 0; i <= cb->mask; i++)
        if (cb->table[i])
            g_ptr_array_add(all, slot_conn(cb->table[i]));
    for (guint i = 0; i < all->len; i++) {
        conn_t *c = all->pdata[i];
        if (i + 16 < all->len)
            __builtin_prefetch(all->pdata[i + 16]);
        if (has_tcp_timers(c) && c->u.tcp->tmr[TMR_AUX] > 0 && !c->u.tcp->aux_is_delete) {
            c->u.tcp->tmr[TMR_AUX] = 0;
            tcp_attempt_timer(cb, c, cb->now);
        }
    }
    /* 2. Drain what is left: connections from packets in key order, as
     *    Zeek does; those from flow records (Zeek has no order for them) in
     *    table order, which the hash seed fixes.  Sorting a million lingering
     *    flow connections cost more than logging them, a cache miss per
     *    comparison.  Every connection leaves the timer heap here at once,
     *    not one sift at a time. */
    guint n_packet = 0;
    for (guint i = 0; i < all->len; i++) {
        conn_t *c = all->pdata[i];
        if (i + 16 < all->len)
            __builtin_prefetch(all->pdata[i + 16]);
        c->heap_pos = HEAP_NONE;
        if (!c->is_flow) {
            all->pdata[i] = all->pdata[n_packet];
            all->pdata[n_packet++] = c;
        }
    }
    cb->heap_len = 0;
    for (int k = 0; k < cb->n_tq; k++)
        cb->tq[k].head = cb->tq[k].tail = NULL;
    if (n_packet > 1)
        qsort(all->pdata, n_packet, sizeof(gpointer), flush_cmp);
    for (guint i = 0; i < all->len; i++) {
        /* connections sit in memory in no order we follow: fetch ahead */
        if (i + 16 < all->len)
            __builtin_prefetch(all->pdata[i + 16]);
        if (i + 8 < all->len) {
            const conn_t *ahead = all->pdata[i + 8];
            if (ahead->is_flow)
                __builtin_prefetch(ahead->u.flow);
        }
        conn_remove(cb, all->pdata[i]);
    }
    for (guint i = 0; i < all->len; i++)
        slab_free(cb, all->pdata[i]);
    g_ptr_array_free(all, TRUE);
    cb->heap_len = 0;
}

void
conn_builder_stats(const conn_builder_t *cb, conn_stats_t *out)
{
    *out = cb->stats;
    out->active = cb->count;
    out->bytes_in_use += cb->heap_cap * sizeof(heap_ent_t);
}
