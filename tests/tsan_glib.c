/*
 * For ThreadSanitizer builds only (configure --enable-tsan): GMutex and
 * GCond on top of pthreads.  GLib implements them with raw futexes, which
 * ThreadSanitizer cannot see, so every lock our code takes would look like
 * no synchronization at all and every access it guards like a race.  These
 * definitions sit in libconnlogd.a and win over GLib's for our own calls;
 * GLib's internal calls bind inside libglib (it is linked with direct
 * calls) and keep its own implementation, so the two never meet on one
 * object.  Locks are allocated on first use, as GLib's non-futex build
 * does, so that zero-initialized static GMutexes work.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <glib.h>

static void *
impl_get(gpointer *slot, void *(*make)(void), void (*destroy)(void *))
{
    void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    void *expected = NULL;

    if (p != NULL)
        return p;
    p = make();
    if (!__atomic_compare_exchange_n(slot, &expected, p, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        destroy(p);
        p = expected;
    }
    return p;
}

static void
fatal(const char *what, int rc)
{
    fprintf(stderr, "tsan_glib: %s: error %d\n", what, rc);
    abort();
}

static void *
mutex_make(void)
{
    pthread_mutex_t *m = malloc(sizeof(*m));
    int rc;

    if (m == NULL)
        fatal("malloc", ENOMEM);
    if ((rc = pthread_mutex_init(m, NULL)) != 0)
        fatal("pthread_mutex_init", rc);
    return m;
}

static void
mutex_destroy(void *p)
{
    pthread_mutex_destroy(p);
    free(p);
}

static pthread_mutex_t *
mutex_of(GMutex *mutex)
{
    return impl_get(&mutex->p, mutex_make, mutex_destroy);
}

/* GCond waits with deadlines on the monotonic clock (g_cond_wait_until). */
static void *
cond_make(void)
{
    pthread_cond_t *c = malloc(sizeof(*c));
    pthread_condattr_t a;
    int rc;

    if (c == NULL)
        fatal("malloc", ENOMEM);
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    if ((rc = pthread_cond_init(c, &a)) != 0)
        fatal("pthread_cond_init", rc);
    pthread_condattr_destroy(&a);
    return c;
}

static void
cond_destroy(void *p)
{
    pthread_cond_destroy(p);
    free(p);
}

static pthread_cond_t *
cond_of(GCond *cond)
{
    return impl_get(&cond->p, cond_make, cond_destroy);
}

/** GLib's g_mutex_init(), on a pthread mutex. */
void
g_mutex_init(GMutex *mutex)
{
    mutex->p = NULL;
}

/** GLib's g_mutex_clear(). */
void
g_mutex_clear(GMutex *mutex)
{
    if (mutex->p != NULL)
        mutex_destroy(mutex->p);
    mutex->p = NULL;
}

/** GLib's g_mutex_lock(). */
void
g_mutex_lock(GMutex *mutex)
{
    int rc = pthread_mutex_lock(mutex_of(mutex));

    if (rc != 0)
        fatal("pthread_mutex_lock", rc);
}

/** GLib's g_mutex_unlock(). */
void
g_mutex_unlock(GMutex *mutex)
{
    int rc = pthread_mutex_unlock(mutex_of(mutex));

    if (rc != 0)
        fatal("pthread_mutex_unlock", rc);
}

/** GLib's g_mutex_trylock(). */
gboolean
g_mutex_trylock(GMutex *mutex)
{
    return pthread_mutex_trylock(mutex_of(mutex)) == 0;
}

/** GLib's g_cond_init(). */
void
g_cond_init(GCond *cond)
{
    cond->p = NULL;
}

/** GLib's g_cond_clear(). */
void
g_cond_clear(GCond *cond)
{
    if (cond->p != NULL)
        cond_destroy(cond->p);
    cond->p = NULL;
}

/** GLib's g_cond_wait(). */
void
g_cond_wait(GCond *cond, GMutex *mutex)
{
    int rc = pthread_cond_wait(cond_of(cond), mutex_of(mutex));

    if (rc != 0)
        fatal("pthread_cond_wait", rc);
}

/** GLib's g_cond_wait_until(): @p end_time on g_get_monotonic_time()'s clock. */
gboolean
g_cond_wait_until(GCond *cond, GMutex *mutex, gint64 end_time)
{
    struct timespec ts = {.tv_sec = (time_t)(end_time / 1000000),
                          .tv_nsec = (long)(end_time % 1000000) * 1000};
    int rc = pthread_cond_timedwait(cond_of(cond), mutex_of(mutex), &ts);

    if (rc != 0 && rc != ETIMEDOUT)
        fatal("pthread_cond_timedwait", rc);
    return rc == 0;
}

/** GLib's g_cond_signal(). */
void
g_cond_signal(GCond *cond)
{
    pthread_cond_signal(cond_of(cond));
}

/** GLib's g_cond_broadcast(). */
void
g_cond_broadcast(GCond *cond)
{
    pthread_cond_broadcast(cond_of(cond));
}
