/*
 * Privilege drop, YAF/OpenBSD style: supplementary groups first (setgroups
 * needs root), then the group, then the user; afterwards verify that
 * setuid(0) fails and that the real, effective and saved ids all changed,
 * because a half-dropped daemon is worse than one that refuses to start.
 */
#include "core/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

G_DEFINE_QUARK(connlogd-privdrop-error-quark, privdrop_error)

gboolean
privdrop_lookup(const char *user, uid_t *uid, gid_t *gid, GError **err)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    char *end = NULL;

    errno = 0;
    unsigned long n = strtoul(user, &end, 10);
    int rc;
    if (*user && end && *end == '\0' && n < (unsigned long)(uid_t)-1)
        rc = getpwuid_r((uid_t)n, &pw, buf, sizeof(buf), &res);
    else
        rc = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
    if (rc != 0 || res == NULL) {
        g_set_error(err, PRIVDROP_ERROR, PRIVDROP_ERROR_NO_USER, "unknown user '%s'%s%s", user,
                    rc ? ": " : "", rc ? g_strerror(rc) : "");
        return FALSE;
    }
    *uid = pw.pw_uid;
    *gid = pw.pw_gid;
    return TRUE;
}

gboolean
privdrop_become(const char *user, GError **err)
{
    uid_t uid;
    gid_t gid;

    if (!privdrop_lookup(user, &uid, &gid, err))
        return FALSE;
    if (getuid() == uid && geteuid() == uid)
        return TRUE;
    if (geteuid() != 0) {
        g_set_error(err, PRIVDROP_ERROR, PRIVDROP_ERROR_NOT_ROOT,
                    "cannot become '%s': not running as root", user);
        return FALSE;
    }
    if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
        setresuid(uid, uid, uid) != 0) {
        int e = errno;
        g_set_error(err, PRIVDROP_ERROR, PRIVDROP_ERROR_FAILED, "cannot become '%s': %s", user,
                    g_strerror(e));
        return FALSE;
    }
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 || ru != uid ||
        eu != uid || su != uid || rg != gid || eg != gid || sg != gid ||
        (uid != 0 && setuid(0) == 0)) {
        g_set_error(err, PRIVDROP_ERROR, PRIVDROP_ERROR_FAILED,
                    "privilege drop to '%s' did not hold", user);
        return FALSE;
    }
    return TRUE;
}
