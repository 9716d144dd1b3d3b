/**
 * @file daemon.h
 * connlogd as a long-running service: live capture on any number of
 * interfaces and the IPFIX/NetFlow collector feeding one connection
 * builder, conn.log with Zeek-style rotation, HTTP /stats and /recent, and
 * the lifecycle systemd expects (Type=notify, SIGHUP reload + rotate,
 * SIGTERM flush and exit 0).
 *
 * Threads: the builder, decoder, writer and capture handles live on the
 * calling (main) thread, which poll()s capture descriptors, the flow
 * queue's eventfd, a timerfd and a signalfd.  The collector and HTTP run
 * in their own threads and only exchange copies with it.
 */
#ifndef CONNLOGD_CORE_DAEMON_H
#define CONNLOGD_CORE_DAEMON_H

#include "core/config.h"

/** Exit statuses, the same as the offline mode's. */
enum {
    DAEMON_EXIT_OK = 0,
    DAEMON_EXIT_CONFIG = 1, /* usage or configuration error */
    DAEMON_EXIT_IO = 2,     /* an input or the log could not be opened */
};

/** Where the daemon's settings come from; kept for SIGHUP reloads. */
typedef struct {
    const char *config_path;        /* NULL: defaults + command line only */
    const config_overrides_t *overrides; /* borrowed; may be NULL */
    const char *templates_dir;      /* --templates-dir, overrides ipfix.templates_dir */
    const char *seed_file;          /* Zeek seed file for uids, or NULL */
} daemon_args_t;

/**
 * Load and check the configuration as daemon_run() would, without opening
 * anything.  Prints "configuration OK" or the "file:group.key: reason"
 * error; returns DAEMON_EXIT_OK or DAEMON_EXIT_CONFIG.
 */
int daemon_check_config(const daemon_args_t *args);

/** Run until SIGTERM/SIGINT.  Returns one of the DAEMON_EXIT_* codes. */
int daemon_run(const daemon_args_t *args);

#endif
