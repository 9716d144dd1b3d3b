/*
 * The collector's thread.  It creates the collector and its listeners
 * itself, reports the outcome through a condition variable, then polls
 * until asked to stop; ipfix_collector_wakeup() cuts a wait short.  Every
 * record goes into the flow queue, which waits rather than drops when the
 * builder falls behind.  Records reach the queue in batches (one lock per
 * batch, not per record), and the queue is flushed once the sockets have
 * been empty for a millisecond, so a record waits at most that long after
 * the collector goes idle.
 */
#include "core/flowin.h"

#include <stdatomic.h>
#include <string.h>

/* Records handed to the queue at once: 64 of 168 bytes stay in L1/L2. */
#define FLOWIN_BATCH 64
/* Quiet time on the sockets before the builder is woken (see flowin_main). */
#define FLOWIN_LINGER_MS 1

struct flowin {
    GThread *thread;
    GMutex lock;
    GCond cond;
    int state;                  /* 0 starting, 1 running, -1 failed */
    GError *error;
    ipfix_collector_config_t cfg;
    char *templates_dir;
    char *allow;
    char **ipfix, **netflow;
    flowq_t *q;
    flow_obs_t batch[FLOWIN_BATCH];
    unsigned n_batch;
    ipfix_collector_t *collector;
    atomic_bool stop;
    atomic_bool done;
};

static void
report(flowin_t *f, int state, GError *e)
{
    g_mutex_lock(&f->lock);
    f->state = state;
    f->error = e;
    g_cond_broadcast(&f->cond);
    g_mutex_unlock(&f->lock);
}

static void
send_batch(flowin_t *f)
{
    if (f->n_batch > 0)
        flowq_push_n(f->q, f->batch, f->n_batch);
    f->n_batch = 0;
}

static void
on_flow(const flow_obs_t *obs, void *user)
{
    flowin_t *f = user;

    f->batch[f->n_batch++] = *obs;
    if (f->n_batch == FLOWIN_BATCH)
        send_batch(f);
}

static gboolean
add_all(ipfix_collector_t *c, char *const *specs, GError **err)
{
    for (char *const *it = specs; it && *it; it++) {
        uint16_t port = 0;
        GError *e = NULL;
        if (!ipfix_collector_add_listener(c, *it, &port, &e)) {
            g_propagate_prefixed_error(err, e, "%s: ", *it);
            return FALSE;
        }
    }
    return TRUE;
}

static gpointer
flowin_main(gpointer data)
{
    flowin_t *f = data;
    GError *e = NULL;

    ipfix_collector_t *c = ipfix_collector_new(&f->cfg, on_flow, f, &e);
    if (!c || !add_all(c, f->ipfix, &e) || !add_all(c, f->netflow, &e)) {
        ipfix_collector_free(c);
        atomic_store(&f->done, true);
        report(f, -1, e);
        return NULL;
    }
    g_mutex_lock(&f->lock);
    f->collector = c;
    g_mutex_unlock(&f->lock);
    report(f, 1, NULL);

    /* Poll without waiting while there is input.  When the sockets run
     * dry, give the exporters FLOWIN_LINGER_MS more before handing over
     * what is batched and waking the builder: at a few hundred thousand
     * records/s the sockets run dry thousands of times a second, and a
     * wake-up each time made the two threads trade one core so often that
     * a record cost a quarter more CPU than at 1 M/s.  The queue still
     * wakes the builder on its own once FLOWQ_WAKE_AT records wait. */
    int timeout = 0;
    while (!atomic_load(&f->stop)) {
        int n = ipfix_collector_poll(c, timeout);
        if (n < 0)
            break; /* nothing left to listen on */
        if (n > 0) {
            timeout = 0;
        } else if (timeout == 0) {
            timeout = FLOWIN_LINGER_MS;
        } else if (timeout == FLOWIN_LINGER_MS) {
            send_batch(f);
            flowq_flush(f->q);
            timeout = 1000;
        }
    }
    send_batch(f);
    flowq_flush(f->q);
    /* The collector is this thread's to free (collector.h).  Whoever read
     * its stats (the HTTP server) has been stopped before we were asked to
     * stop; flowin_collector() says so.  Unpublish it under the lock so a
     * late flowin_request_stop() cannot wake a freed collector. */
    g_mutex_lock(&f->lock);
    f->collector = NULL;
    g_mutex_unlock(&f->lock);
    ipfix_collector_free(c);
    atomic_store(&f->done, true);
    return NULL;
}

flowin_t *
flowin_start(const ipfix_collector_config_t *cfg, char *const *ipfix, char *const *netflow,
             flowq_t *q, GError **err)
{
    flowin_t *f = g_new0(flowin_t, 1);

    g_mutex_init(&f->lock);
    g_cond_init(&f->cond);
    f->cfg = *cfg;
    f->templates_dir = g_strdup(cfg->templates_dir);
    f->cfg.templates_dir = f->templates_dir;
    f->allow = g_strdup(cfg->allow);
    f->cfg.allow = f->allow;
    f->ipfix = g_strdupv((char **)ipfix);
    f->netflow = g_strdupv((char **)netflow);
    f->q = q;
    f->thread = g_thread_new("connlogd-flows", flowin_main, f);

    g_mutex_lock(&f->lock);
    while (f->state == 0)
        g_cond_wait(&f->cond, &f->lock);
    g_mutex_unlock(&f->lock);
    if (f->state < 0) {
        g_propagate_error(err, f->error);
        f->error = NULL;
        g_thread_join(f->thread);
        f->thread = NULL;
        flowin_stop(f);
        return NULL;
    }
    return f;
}

ipfix_collector_t *
flowin_collector(flowin_t *f)
{
    g_mutex_lock(&f->lock);
    ipfix_collector_t *c = f->collector;
    g_mutex_unlock(&f->lock);
    return c;
}

void
flowin_request_stop(flowin_t *f)
{
    atomic_store(&f->stop, true);
    g_mutex_lock(&f->lock);
    if (f->collector)
        ipfix_collector_wakeup(f->collector);
    g_mutex_unlock(&f->lock);
}

bool
flowin_done(flowin_t *f)
{
    return atomic_load(&f->done);
}

void
flowin_stop(flowin_t *f)
{
    if (!f)
        return;
    if (f->thread) {
        flowin_request_stop(f);
        g_thread_join(f->thread);
    }
    g_clear_error(&f->error);
    g_strfreev(f->ipfix);
    g_strfreev(f->netflow);
    g_free(f->templates_dir);
    g_free(f->allow);
    g_cond_clear(&f->cond);
    g_mutex_clear(&f->lock);
    g_free(f);
}
