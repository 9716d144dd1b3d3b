/*
 * Fragment reassembly in a preallocated pool.  Each incomplete datagram is a
 * "set": a descriptor with a sorted list of the byte ranges received and a
 * map from 1 KiB payload chunks to slots of a shared chunk pool.  Sets sit
 * in a hash table for lookup and in a list ordered by creation, which is
 * both the expiry order (Zeek arms one timer per reassembler, at its first
 * fragment plus frag_timeout) and the eviction order when memory runs out.
 */
#include "decode/frag.h"

#include <glib.h>
#include <string.h>

#define CHUNK_SHIFT 10
#define CHUNK_SIZE (1u << CHUNK_SHIFT)
#define CHUNKS_PER_SET (65536u / CHUNK_SIZE)
#define MAX_RANGES 32
#define NIL (-1)
#define NO_CHUNK UINT32_MAX
#define MIN_BUDGET (128u * 1024u)
#define DEFAULT_BUDGET (4u * 1024u * 1024u)

typedef struct {
    uint32_t start, end; /* [start, end) of payload bytes held */
} frag_range_t;

typedef struct {
    int32_t hnext;              /* next set in the hash bucket */
    int32_t older, newer;       /* creation-order list */
    uint32_t hash;
    frag_key_t key;
    double created;
    uint32_t frag_size;         /* payload size; 0 = not known yet (Zeek's convention) */
    uint16_t hdr_len;
    int16_t nh_off;
    uint8_t next_proto;
    uint8_t nranges;
    frag_range_t ranges[MAX_RANGES];
    uint32_t chunk[CHUNKS_PER_SET];
    uint8_t hdr[FRAG_HDR_MAX];  /* header of the first fragment seen, as Zeek keeps it */
} frag_set_t;

struct frag_table {
    double timeout;
    uint32_t nsets, nchunks, count;
    frag_set_t *sets;
    uint8_t *pool;              /* nchunks * CHUNK_SIZE */
    uint32_t *chunk_free;       /* stack of free chunk indices */
    uint32_t chunk_free_n;
    int32_t *set_free;          /* stack of free set indices */
    uint32_t set_free_n;
    int32_t *buckets;
    uint32_t bucket_mask;
    int32_t oldest, newest;
};

frag_table_t *
frag_table_new(uint32_t budget, double timeout)
{
    if (budget == 0)
        budget = DEFAULT_BUDGET;
    if (budget < MIN_BUDGET)
        budget = MIN_BUDGET;

    frag_table_t *t = g_new0(frag_table_t, 1);
    t->timeout = timeout;
    t->nsets = budget / 16384u;
    if (t->nsets < 8)
        t->nsets = 8;
    uint32_t nb = 16;
    while (nb < t->nsets * 2)
        nb <<= 1;
    t->bucket_mask = nb - 1;

    size_t fixed = (size_t)t->nsets * (sizeof(frag_set_t) + sizeof(int32_t)) + nb * sizeof(int32_t);
    size_t rest = budget > fixed ? budget - fixed : 0;
    t->nchunks = (uint32_t)(rest / (CHUNK_SIZE + sizeof(uint32_t)));
    /* Always room for one datagram of the maximum size. */
    if (t->nchunks < CHUNKS_PER_SET)
        t->nchunks = CHUNKS_PER_SET;

    t->sets = g_new0(frag_set_t, t->nsets);
    t->pool = g_malloc((size_t)t->nchunks * CHUNK_SIZE);
    t->chunk_free = g_new(uint32_t, t->nchunks);
    t->set_free = g_new(int32_t, t->nsets);
    t->buckets = g_new(int32_t, nb);
    for (uint32_t i = 0; i < nb; i++)
        t->buckets[i] = NIL;
    for (uint32_t i = 0; i < t->nchunks; i++)
        t->chunk_free[i] = t->nchunks - 1 - i;
    t->chunk_free_n = t->nchunks;
    for (uint32_t i = 0; i < t->nsets; i++)
        t->set_free[i] = (int32_t)(t->nsets - 1 - i);
    t->set_free_n = t->nsets;
    t->oldest = t->newest = NIL;
    return t;
}

void
frag_table_free(frag_table_t *t)
{
    if (!t)
        return;
    g_free(t->sets);
    g_free(t->pool);
    g_free(t->chunk_free);
    g_free(t->set_free);
    g_free(t->buckets);
    g_free(t);
}

uint32_t
frag_table_count(const frag_table_t *t)
{
    return t ? t->count : 0;
}

static uint32_t
key_hash(const frag_key_t *k)
{
    /* FNV-1a over the key fields; the table is small and keys are few. */
    uint32_t h = 2166136261u;
    const uint8_t *parts[2] = {k->src, k->dst};
    for (int j = 0; j < 2; j++)
        for (int i = 0; i < 16; i++)
            h = (h ^ parts[j][i]) * 16777619u;
    for (int i = 0; i < 4; i++)
        h = (h ^ (uint8_t)(k->id >> (8 * i))) * 16777619u;
    return (h ^ k->version) * 16777619u;
}

static bool
key_eq(const frag_key_t *a, const frag_key_t *b)
{
    return a->version == b->version && a->id == b->id && memcmp(a->src, b->src, 16) == 0 &&
           memcmp(a->dst, b->dst, 16) == 0;
}

static int32_t
lookup(const frag_table_t *t, const frag_key_t *k, uint32_t h)
{
    for (int32_t i = t->buckets[h & t->bucket_mask]; i != NIL; i = t->sets[i].hnext)
        if (t->sets[i].hash == h && key_eq(&t->sets[i].key, k))
            return i;
    return NIL;
}

/* Return set @p i and its chunks to the free lists. */
static void
release(frag_table_t *t, int32_t i)
{
    frag_set_t *s = &t->sets[i];
    for (uint32_t c = 0; c < CHUNKS_PER_SET; c++)
        if (s->chunk[c] != NO_CHUNK) {
            t->chunk_free[t->chunk_free_n++] = s->chunk[c];
            s->chunk[c] = NO_CHUNK;
        }
    int32_t *pp = &t->buckets[s->hash & t->bucket_mask];
    while (*pp != i)
        pp = &t->sets[*pp].hnext;
    *pp = s->hnext;
    if (s->older != NIL)
        t->sets[s->older].newer = s->newer;
    else
        t->oldest = s->newer;
    if (s->newer != NIL)
        t->sets[s->newer].older = s->older;
    else
        t->newest = s->older;
    t->set_free[t->set_free_n++] = i;
    t->count--;
}

/* Drop sets whose time is up (Zeek's FragTimer fires at first + timeout). */
static void
expire(frag_table_t *t, weird_counters_t *w, double now)
{
    if (t->timeout <= 0)
        return;
    while (t->oldest != NIL && now >= t->sets[t->oldest].created + t->timeout) {
        weird_bump(w, WEIRD_FRAGMENT_TIMEOUT);
        release(t, t->oldest);
    }
}

/* Evict the oldest set other than @p keep; false if there is none. */
static bool
evict_oldest(frag_table_t *t, weird_counters_t *w, int32_t keep)
{
    int32_t i = t->oldest;
    if (i == keep && i != NIL)
        i = t->sets[i].newer;
    if (i == NIL)
        return false;
    weird_bump(w, WEIRD_FRAGMENT_TABLE_FULL);
    release(t, i);
    return true;
}

static int32_t
set_new(frag_table_t *t, weird_counters_t *w, const frag_key_t *k, uint32_t h, double now)
{
    if (t->set_free_n == 0 && !evict_oldest(t, w, NIL))
        return NIL;
    int32_t i = t->set_free[--t->set_free_n];
    frag_set_t *s = &t->sets[i];
    s->hash = h;
    s->key = *k;
    s->created = now;
    s->frag_size = 0;
    s->hdr_len = 0;
    s->nh_off = -1;
    s->next_proto = 0;
    s->nranges = 0;
    for (uint32_t c = 0; c < CHUNKS_PER_SET; c++)
        s->chunk[c] = NO_CHUNK;
    s->hnext = t->buckets[h & t->bucket_mask];
    t->buckets[h & t->bucket_mask] = i;
    s->older = t->newest;
    s->newer = NIL;
    if (t->newest != NIL)
        t->sets[t->newest].newer = i;
    else
        t->oldest = i;
    t->newest = i;
    t->count++;
    return i;
}

/* Copy payload bytes [from, to) of @p src (which starts at payload offset
 * @p base) into set @p i, taking chunks as needed.  False if no chunk can
 * be found even after evicting every other set. */
static bool
fill(frag_table_t *t, weird_counters_t *w, int32_t i, const uint8_t *src, uint32_t base,
     uint32_t from, uint32_t to)
{
    while (from < to) {
        uint32_t ci = from >> CHUNK_SHIFT;
        uint32_t off = from & (CHUNK_SIZE - 1);
        uint32_t n = CHUNK_SIZE - off;
        if (n > to - from)
            n = to - from;
        if (t->sets[i].chunk[ci] == NO_CHUNK) {
            while (t->chunk_free_n == 0)
                if (!evict_oldest(t, w, i))
                    return false;
            t->sets[i].chunk[ci] = t->chunk_free[--t->chunk_free_n];
        }
        memcpy(t->pool + (size_t)t->sets[i].chunk[ci] * CHUNK_SIZE + off, src + (from - base), n);
        from += n;
    }
    return true;
}

/* Whether payload bytes [from, to) of set @p s equal @p src there. */
static bool
same(const frag_table_t *t, const frag_set_t *s, const uint8_t *src, uint32_t base,
     uint32_t from, uint32_t to)
{
    while (from < to) {
        uint32_t ci = from >> CHUNK_SHIFT;
        uint32_t off = from & (CHUNK_SIZE - 1);
        uint32_t n = CHUNK_SIZE - off;
        if (n > to - from)
            n = to - from;
        if (memcmp(t->pool + (size_t)s->chunk[ci] * CHUNK_SIZE + off, src + (from - base), n))
            return false;
        from += n;
    }
    return true;
}

/* Record [start, end) in the sorted, coalesced range list of @p s. */
static bool
add_range(frag_set_t *s, uint32_t start, uint32_t end)
{
    uint32_t i = 0;
    while (i < s->nranges && s->ranges[i].end < start)
        i++;
    uint32_t j = i;
    while (j < s->nranges && s->ranges[j].start <= end) {
        if (s->ranges[j].start < start)
            start = s->ranges[j].start;
        if (s->ranges[j].end > end)
            end = s->ranges[j].end;
        j++;
    }
    /* ranges [i, j) merge into one */
    uint32_t n = s->nranges - (j - i) + 1;
    if (n > MAX_RANGES)
        return false;
    memmove(&s->ranges[i + 1], &s->ranges[j], (s->nranges - j) * sizeof(frag_range_t));
    s->ranges[i].start = start;
    s->ranges[i].end = end;
    s->nranges = (uint8_t)n;
    return true;
}

/* Write the finished datagram of set @p s (payload size @p size) to @p out. */
static uint32_t
emit(const frag_table_t *t, const frag_set_t *s, uint32_t size, uint8_t *out)
{
    memcpy(out, s->hdr, s->hdr_len);
    uint32_t total = s->hdr_len + size;
    if (s->key.version == 4) {
        out[2] = (uint8_t)(total >> 8);
        out[3] = (uint8_t)total;
    } else {
        uint32_t plen = total - 40;
        out[4] = (uint8_t)(plen >> 8);
        out[5] = (uint8_t)plen;
        /* The header that named the fragment header now names the payload,
         * as Zeek rebuilds the chain with the first fragment's next header. */
        if (s->nh_off >= 0)
            out[s->nh_off] = s->next_proto;
    }
    for (uint32_t pos = 0; pos < size;) {
        uint32_t ci = pos >> CHUNK_SHIFT;
        uint32_t n = CHUNK_SIZE;
        if (n > size - pos)
            n = size - pos;
        memcpy(out + s->hdr_len + pos, t->pool + (size_t)s->chunk[ci] * CHUNK_SIZE, n);
        pos += n;
    }
    return total;
}

frag_result_t
frag_add(frag_table_t *t, weird_counters_t *w, double now, const frag_key_t *k,
         const frag_in_t *in, uint8_t *out, uint32_t out_cap, uint32_t *out_len)
{
    expire(t, w, now);

    if (in->hdr_len > FRAG_HDR_MAX || in->hdr_len < (k->version == 4 ? 20u : 40u)) {
        weird_bump(w, WEIRD_FRAGMENT_TOO_BIG);
        return FRAG_DROPPED;
    }

    uint32_t h = key_hash(k);
    int32_t i = lookup(t, k, h);
    if (i == NIL) {
        i = set_new(t, w, k, h, now);
        if (i == NIL) {
            weird_bump(w, WEIRD_FRAGMENT_TABLE_FULL);
            return FRAG_DROPPED;
        }
        frag_set_t *s = &t->sets[i];
        memcpy(s->hdr, in->hdr, in->hdr_len);
        s->hdr_len = (uint16_t)in->hdr_len;
        s->nh_off = (int16_t)in->nh_off;
        s->next_proto = in->next_proto;
    }
    frag_set_t *s = &t->sets[i];

    /* The reassembled datagram must fit its 16-bit length field. */
    uint32_t upper = in->offset + in->len;
    uint32_t over = k->version == 4 ? s->hdr_len : s->hdr_len - 40;
    if (upper + over > 65535 || upper > CHUNKS_PER_SET * CHUNK_SIZE) {
        weird_bump(w, WEIRD_FRAGMENT_TOO_BIG);
        release(t, i);
        return FRAG_DROPPED;
    }

    if (in->offset == 0)
        s->next_proto = in->next_proto; /* the first fragment names the payload */

    if (!in->more) {
        if (s->frag_size == 0)
            s->frag_size = upper;
        else if (upper != s->frag_size)
            weird_bump(w, WEIRD_FRAGMENT_INCONSISTENT);
    }
    if (s->frag_size && upper > s->frag_size) {
        /* A fragment reaches past the size the last fragment gave. */
        if (in->more)
            weird_bump(w, WEIRD_FRAGMENT_INCONSISTENT);
        s->frag_size = upper;
    }

    /* Fill only the holes: data already held wins (Zeek's reassembler keeps
     * the first copy and reports overlaps, inconsistent if they differ). */
    bool added = false, overlap = false, differ = false;
    uint32_t pos = in->offset;
    for (uint32_t r = 0; r < s->nranges && pos < upper; r++) {
        frag_range_t rg = s->ranges[r];
        if (rg.end <= pos)
            continue;
        if (rg.start >= upper)
            break;
        if (rg.start > pos) {
            if (!fill(t, w, i, in->data, in->offset, pos, rg.start))
                goto no_room;
            added = true;
            pos = rg.start;
        }
        uint32_t e = rg.end < upper ? rg.end : upper;
        overlap = true;
        if (!same(t, s, in->data, in->offset, pos, e))
            differ = true;
        pos = e;
    }
    if (pos < upper) {
        if (!fill(t, w, i, in->data, in->offset, pos, upper))
            goto no_room;
        added = true;
    }
    if (overlap)
        weird_bump(w, differ ? WEIRD_FRAGMENT_INCONSISTENT : WEIRD_FRAGMENT_OVERLAP);
    if (in->len > 0 && !add_range(s, in->offset, upper)) {
        weird_bump(w, WEIRD_FRAGMENT_TABLE_FULL);
        release(t, i);
        return FRAG_DROPPED;
    }

    /* Complete once the bytes from 0 reach the known size; like Zeek, take
     * the whole contiguous run even when it extends past that size, and
     * only look when this fragment brought new data. */
    if (!added || s->frag_size == 0 || s->nranges == 0 || s->ranges[0].start != 0 ||
        s->ranges[0].end < s->frag_size)
        return FRAG_PENDING;
    uint32_t size = s->ranges[0].end;
    if (s->nranges > 1 || size > s->frag_size)
        weird_bump(w, WEIRD_FRAGMENT_INCONSISTENT);
    if ((uint32_t)s->hdr_len + size > out_cap) {
        weird_bump(w, WEIRD_FRAGMENT_TOO_BIG);
        release(t, i);
        return FRAG_DROPPED;
    }
    *out_len = emit(t, s, size, out);
    release(t, i);
    return FRAG_DONE;

no_room:
    weird_bump(w, WEIRD_FRAGMENT_TABLE_FULL);
    release(t, i);
    return FRAG_DROPPED;
}
