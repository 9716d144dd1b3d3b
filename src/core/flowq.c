/*
 * Flow record queue between the collector thread and the builder's thread.
 * The eventfd is written at most once between two drains that empty the
 * queue (when FLOWQ_WAKE_AT records wait, on a flush, or before the
 * producer waits for room) and read when a drain empties it, both under
 * the lock, so it never costs one syscall per record.
 */
#include "core/flowq.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct flowq {
    GMutex lock;
    GCond not_full;
    flow_obs_t *ring;
    unsigned capacity, head, len;
    bool closed;
    bool signaled; /* eventfd written since the queue was last empty */
    int efd;
    flowq_stats_t st;
};

flowq_t *
flowq_new(unsigned capacity, GError **err)
{
    g_return_val_if_fail(capacity >= 1, NULL);

    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd < 0) {
        int e = errno;
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "eventfd: %s", g_strerror(e));
        return NULL;
    }
    flowq_t *q = g_new0(flowq_t, 1);
    g_mutex_init(&q->lock);
    g_cond_init(&q->not_full);
    q->ring = g_new(flow_obs_t, capacity);
    q->capacity = capacity;
    q->efd = efd;
    return q;
}

void
flowq_free(flowq_t *q)
{
    if (!q)
        return;
    close(q->efd);
    g_cond_clear(&q->not_full);
    g_mutex_clear(&q->lock);
    g_free(q->ring);
    g_free(q);
}

int
flowq_fd(const flowq_t *q)
{
    return q->efd;
}

static void
signal_fd(int fd)
{
    uint64_t one = 1;
    /* EAGAIN only if the counter would overflow: it is readable anyway. */
    while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

static void
clear_fd(int fd)
{
    uint64_t v;
    while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
        ;
}

/* Under the lock. */
static void
wake_consumer(flowq_t *q)
{
    if (!q->signaled && q->len > 0) {
        q->signaled = true;
        signal_fd(q->efd);
    }
}

unsigned
flowq_push_n(flowq_t *q, const flow_obs_t *obs, unsigned n)
{
    unsigned done = 0;

    g_mutex_lock(&q->lock);
    while (done < n) {
        if (q->len == q->capacity && !q->closed) {
            q->st.waits++;
            wake_consumer(q); /* it must make room, however few wait */
            while (q->len == q->capacity && !q->closed)
                g_cond_wait(&q->not_full, &q->lock);
        }
        if (q->closed) {
            q->st.dropped += n - done;
            break;
        }
        /* one contiguous stretch of free ring */
        unsigned tail = (q->head + q->len) % q->capacity;
        unsigned room = MIN(q->capacity - q->len, q->capacity - tail);
        unsigned k = MIN(room, n - done);
        memcpy(&q->ring[tail], &obs[done], k * sizeof(*obs));
        q->len += k;
        q->st.pushed += k;
        done += k;
        if (q->len > q->st.peak)
            q->st.peak = q->len;
        if (q->len >= FLOWQ_WAKE_AT)
            wake_consumer(q);
    }
    g_mutex_unlock(&q->lock);
    return done;
}

bool
flowq_push(flowq_t *q, const flow_obs_t *obs)
{
    return flowq_push_n(q, obs, 1) == 1;
}

void
flowq_flush(flowq_t *q)
{
    g_mutex_lock(&q->lock);
    wake_consumer(q);
    g_mutex_unlock(&q->lock);
}

const flow_obs_t *
flowq_peek(flowq_t *q, unsigned max, unsigned *n)
{
    g_mutex_lock(&q->lock);
    *n = MIN(max, MIN(q->len, q->capacity - q->head));
    const flow_obs_t *first = &q->ring[q->head];
    g_mutex_unlock(&q->lock);
    return first;
}

void
flowq_release(flowq_t *q, unsigned n)
{
    g_mutex_lock(&q->lock);
    g_warn_if_fail(n <= q->len);
    n = MIN(n, q->len);
    bool was_full = q->len == q->capacity;
    q->head = (q->head + n) % q->capacity;
    q->len -= n;
    if (q->len == 0 && q->signaled) {
        clear_fd(q->efd);
        q->signaled = false;
    }
    if (was_full && n > 0)
        g_cond_broadcast(&q->not_full);
    g_mutex_unlock(&q->lock);
}

unsigned
flowq_drain(flowq_t *q, flow_obs_t *out, unsigned max)
{
    unsigned total = 0;

    while (total < max) {
        unsigned n;
        const flow_obs_t *f = flowq_peek(q, max - total, &n);
        if (n == 0)
            break;
        memcpy(out + total, f, n * sizeof(*f));
        flowq_release(q, n);
        total += n;
    }
    return total;
}

void
flowq_close(flowq_t *q)
{
    g_mutex_lock(&q->lock);
    q->closed = true;
    g_cond_broadcast(&q->not_full);
    g_mutex_unlock(&q->lock);
}

void
flowq_stats(flowq_t *q, flowq_stats_t *out)
{
    g_mutex_lock(&q->lock);
    *out = q->st;
    out->depth = q->len;
    g_mutex_unlock(&q->lock);
}
