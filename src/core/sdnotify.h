/**
 * @file sdnotify.h
 * systemd's readiness protocol (sd_notify(3)) without libsystemd: one
 * datagram of "KEY=VALUE" lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET.  Without that variable (not started by systemd with
 * Type=notify) every call is a no-op.
 */
#ifndef CONNLOGD_CORE_SDNOTIFY_H
#define CONNLOGD_CORE_SDNOTIFY_H

#include <stdbool.h>

/**
 * Send @p state (e.g. "READY=1\nSTATUS=capturing on eth0") to the service
 * manager.  Returns true if it was sent, false if there is no manager or the
 * send failed (which the daemon ignores: notification is advisory).
 */
bool sdnotify(const char *state);

/** printf-style convenience around sdnotify(). */
bool sdnotifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
