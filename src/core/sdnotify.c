/*
 * sd_notify(3) as the protocol documents it: $NOTIFY_SOCKET is a path, or an
 * abstract socket name when it starts with '@'; the message is sent as one
 * datagram.  We keep the variable (children inherit nothing from us anyway)
 * so that RELOADING=1 and STOPPING=1 can follow READY=1.
 */
#include "core/sdnotify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>

bool
sdnotify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sun;

    if (!path || !*path || !state)
        return false;
    size_t len = strlen(path);
    if (len >= sizeof(sun.sun_path) || (path[0] != '/' && path[0] != '@'))
        return false;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, len);
    if (path[0] == '@')
        sun.sun_path[0] = '\0'; /* abstract namespace */
    socklen_t slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);

    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    ssize_t n;
    do {
        n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, slen);
    } while (n < 0 && errno == EINTR);
    close(fd);
    return n == (ssize_t)strlen(state);
}

bool
sdnotifyf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return sdnotify(s);
}
