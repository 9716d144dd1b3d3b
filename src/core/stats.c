/*
 * The /stats board: a single snapshot guarded by a mutex.  The main thread
 * publishes a fresh copy every stats interval; the HTTP thread copies it
 * out.  A few kilobytes copied once a second costs nothing and keeps the
 * threads' data apart.
 */
#include "core/stats.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

struct stats_board {
    GMutex lock;
    stats_snapshot_t snap;
};

stats_board_t *
stats_board_new(void)
{
    stats_board_t *b = g_new0(stats_board_t, 1);
    g_mutex_init(&b->lock);
    return b;
}

void
stats_board_free(stats_board_t *b)
{
    if (!b)
        return;
    g_mutex_clear(&b->lock);
    g_free(b);
}

void
stats_board_publish(stats_board_t *b, const stats_snapshot_t *s)
{
    g_mutex_lock(&b->lock);
    uint64_t seq = b->snap.seq;
    b->snap = *s;
    b->snap.seq = seq + 1;
    g_mutex_unlock(&b->lock);
}

void
stats_board_read(stats_board_t *b, stats_snapshot_t *out)
{
    g_mutex_lock(&b->lock);
    *out = b->snap;
    g_mutex_unlock(&b->lock);
}

uint64_t
stats_rss_bytes(void)
{
    /* /proc/self/statm: size resident shared ... in pages (proc(5)). */
    FILE *fp = fopen("/proc/self/statm", "re");
    unsigned long long size = 0, resident = 0;

    if (!fp)
        return 0;
    int n = fscanf(fp, "%llu %llu", &size, &resident);
    fclose(fp);
    long page = sysconf(_SC_PAGESIZE);
    if (n != 2 || page <= 0)
        return 0;
    return (uint64_t)resident * (uint64_t)page;
}
