/*
 * The /recent ring.  Slots are allocated once; a push is one memcpy under
 * the mutex, so the packet path never waits long even while a reader
 * scans.  Readers filter under the lock and copy out only what matches,
 * bounded by the limit, which keeps the time the lock is held small.
 */
#include "core/recent.h"

#include <string.h>

struct recent {
    GMutex lock;
    conn_record_t *slots;
    unsigned capacity;
    unsigned next;    /* slot the next push writes */
    unsigned count;   /* slots filled, <= capacity */
    uint64_t total;
};

recent_t *
recent_new(unsigned capacity)
{
    g_return_val_if_fail(capacity >= 1, NULL);

    recent_t *r = g_new0(recent_t, 1);
    g_mutex_init(&r->lock);
    r->slots = g_new0(conn_record_t, capacity);
    r->capacity = capacity;
    return r;
}

void
recent_free(recent_t *r)
{
    if (!r)
        return;
    g_mutex_clear(&r->lock);
    g_free(r->slots);
    g_free(r);
}

void
recent_push(recent_t *r, const conn_record_t *rec)
{
    g_mutex_lock(&r->lock);
    r->slots[r->next] = *rec;
    r->next = (r->next + 1) % r->capacity;
    if (r->count < r->capacity)
        r->count++;
    r->total++;
    g_mutex_unlock(&r->lock);
}

void
recent_sink(const conn_record_t *rec, void *user)
{
    recent_push(user, rec);
}

void
recent_filter_init(recent_filter_t *f)
{
    memset(f, 0, sizeof(*f));
    f->proto = -1;
    f->conn_state = -1;
    f->port = -1;
}

static bool
matches(const conn_record_t *c, const recent_filter_t *f)
{
    if (f->proto >= 0 && (int)c->proto != f->proto)
        return false;
    if (f->conn_state >= 0 && (int)c->conn_state != f->conn_state)
        return false;
    if (f->port >= 0 && c->orig_p != f->port && c->resp_p != f->port)
        return false;
    if (f->has_host && memcmp(c->orig_h, f->host, 16) != 0 && memcmp(c->resp_h, f->host, 16) != 0)
        return false;
    if (f->since > 0 && c->ts < f->since)
        return false;
    return true;
}

unsigned
recent_query(recent_t *r, const recent_filter_t *f, GArray *out)
{
    unsigned limit = f->limit ? MIN(f->limit, r->capacity) : r->capacity;
    unsigned n = 0;

    g_mutex_lock(&r->lock);
    for (unsigned i = 0; i < r->count && n < limit; i++) {
        unsigned slot = (r->next + r->capacity - 1 - i) % r->capacity;
        if (matches(&r->slots[slot], f)) {
            g_array_append_val(out, r->slots[slot]);
            n++;
        }
    }
    g_mutex_unlock(&r->lock);
    return n;
}

unsigned
recent_capacity(const recent_t *r)
{
    return r->capacity;
}

uint64_t
recent_total(recent_t *r)
{
    g_mutex_lock(&r->lock);
    uint64_t t = r->total;
    g_mutex_unlock(&r->lock);
    return t;
}
