/**
 * @file privdrop.h
 * Giving up root after the capture handles and sockets are open:
 * setgroups, setgid, setuid, in that order, then a check that root cannot
 * be regained.  Applies to every thread (glibc broadcasts set*id calls).
 */
#ifndef CONNLOGD_CORE_PRIVDROP_H
#define CONNLOGD_CORE_PRIVDROP_H

#include <sys/types.h>

#include <glib.h>

GQuark privdrop_error_quark(void);
#define PRIVDROP_ERROR privdrop_error_quark()
enum {
    PRIVDROP_ERROR_NO_USER = 1, /* the user name is unknown */
    PRIVDROP_ERROR_NOT_ROOT,    /* asked to drop but not running as root */
    PRIVDROP_ERROR_FAILED,      /* a set*id call failed or the check did not hold */
};

/** Look up @p user: its uid and primary gid. */
gboolean privdrop_lookup(const char *user, uid_t *uid, gid_t *gid, GError **err);

/**
 * Become @p user (name or numeric uid) with only its primary group.  When
 * already running as that user it succeeds without doing anything; when
 * not root it fails with PRIVDROP_ERROR_NOT_ROOT.
 */
gboolean privdrop_become(const char *user, GError **err);

#endif
