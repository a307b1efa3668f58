/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spank/portdir.h"

/* Out of the way but kept: its owner or the admin may want to look at what was there. */
static int move_aside(const char *path, const struct stat *st, char *msg, size_t len)
{
    char aside[4096];

    for (int attempt = 0; attempt < 3; attempt++) {
        if (attempt == 0)
            snprintf(aside, sizeof(aside), "%s.untrusted.%u.%lld", path, (unsigned)st->st_uid,
                     (long long)time(NULL));
        else
            snprintf(aside, sizeof(aside), "%s.untrusted.%u.%lld.%d.%d", path, (unsigned)st->st_uid,
                     (long long)time(NULL), (int)getpid(), attempt);
        /* Never onto something already there: a planted empty directory would be replaced. */
        if (renameat2(AT_FDCWD, path, AT_FDCWD, aside, RENAME_NOREPLACE) == 0) {
            snprintf(msg, len, "moved %s (owned by uid %u, %s) aside to %s", path,
                     (unsigned)st->st_uid,
                     S_ISLNK(st->st_mode)   ? "a symlink"
                     : S_ISDIR(st->st_mode) ? "a directory"
                                            : "not a directory",
                     aside);
            return 0;
        }
        if (errno != EEXIST)
            break;
    }
    snprintf(msg, len, "cannot move the untrusted %s (owned by uid %u) aside to %s: %s", path,
             (unsigned)st->st_uid, aside, strerror(errno));
    return -1;
}

int zn_portdir_fix(const char *path, char *msg, size_t len)
{
    char moved[8192] = ""; /* room for two paths */
    struct stat st;
    int fd = -1, rc = -1;

    msg[0] = '\0';
    if (lstat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode) && st.st_uid == 0 && (st.st_mode & 07777) == 01777)
            return 0;
        if (!S_ISDIR(st.st_mode) || st.st_uid != 0) {
            if (move_aside(path, &st, moved, sizeof(moved)) < 0) {
                snprintf(msg, len, "%s", moved);
                return -1;
            }
        }
    } else if (errno != ENOENT) {
        snprintf(msg, len, "cannot look at %s: %s", path, strerror(errno));
        return -1;
    }
    if (mkdir(path, 01777) < 0 && errno != EEXIST) {
        snprintf(msg, len, "%s%scannot create %s: %s", moved, *moved ? "; " : "", path,
                 strerror(errno));
        return -1;
    }
    /* Whatever is there now (somebody may have been quicker) must be root's directory. */
    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(msg, len, "%s%scannot open %s: %s", moved, *moved ? "; " : "", path,
                 strerror(errno));
        goto out;
    }
    if (st.st_uid != 0) {
        snprintf(msg, len, "%s%s%s was created again by uid %u at once; left as it is", moved,
                 *moved ? "; " : "", path, (unsigned)st.st_uid);
        goto out;
    }
    if (fchmod(fd, 01777) < 0) { /* mkdir's mode is cut by the umask */
        snprintf(msg, len, "%s%scannot chmod 1777 %s: %s", moved, *moved ? "; " : "", path,
                 strerror(errno));
        goto out;
    }
    snprintf(msg, len, "%s%smade %s a root-owned 1777 directory for zenith-run's port claims",
             moved, *moved ? "; " : "", path);
    rc = 1;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}
