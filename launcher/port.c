/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "launcher/port.h"

/* Junk files must not make a search unbounded: past this many entries the directory is
 * refused. */
#define MAX_ENTRIES 100000

static uint32_t fnv1a(const char *text)
{
    uint32_t h = 2166136261u;

    for (; *text; text++)
        h = (h ^ (unsigned char)*text) * 16777619u;
    return h;
}

unsigned zr_port_guess(unsigned first, unsigned last, const char *seed)
{
    return first + fnv1a(seed) % (last - first + 1);
}

static int try_bind(int family, unsigned port)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

    if (fd < 0)
        return errno == EAFNOSUPPORT ? 1 : -1; /* no IPv6 here: nothing can hold it there */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
    if (family == AF_INET6) {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
        int v6only = 0;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
        rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
    } else {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
    }
    close(fd);
    return rc == 0 ? 1 : 0;
}

int zr_port_is_free(unsigned port)
{
    /* With SO_REUSEADDR, as PyTorch's TCP store binds: a port whose last connections are still
     * in TIME_WAIT (the previous job's) is free for it, one something listens on is not. */
    return try_bind(AF_INET, port) == 1 && try_bind(AF_INET6, port) == 1;
}

/* /proc/PID/stat field 22: when the process started, so a recycled pid is not mistaken for
 * the claimant. 0 when unreadable. */
static unsigned long long start_time(long pid)
{
    char path[64], buf[1024];
    unsigned long long t = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    if (fgets(buf, sizeof(buf), f)) {
        const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
        if (p && sscanf(p + 2,
                        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
                        "%*d %*d %*d %llu",
                        &t) != 1)
            t = 0;
    }
    fclose(f);
    return t;
}

/* Whether the process runs as `uid` (real or effective). A claim naming somebody else's
 * process (pid 1, another user's job) proves nothing about its owner's use of the port.
 * Unreadable (/proc mounted hidepid): believed. */
static bool runs_as(long pid, uid_t uid)
{
    char path[64], line[256];
    unsigned long real, eff;
    bool yes = true;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    f = fopen(path, "r");
    if (!f)
        return true;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "Uid: %lu %lu", &real, &eff) == 2) {
            yes = real == uid || eff == uid;
            break;
        }
    fclose(f);
    return yes;
}

/* A decimal field of a claim's name ending at `end`; false unless all digits. */
static bool parse_field(const char **p, char end, unsigned long max, unsigned long *out)
{
    const char *s = *p;
    unsigned long v = 0;

    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > max)
            return false;
    }
    if (*s != end)
        return false;
    *out = v;
    *p = s + (end ? 1 : 0);
    return true;
}

/* PORT.UID.PID */
static bool parse_name(const char *name, unsigned *port, uid_t *uid, long *pid)
{
    unsigned long p, u, pi;

    if (!parse_field(&name, '.', 65535, &p) || !parse_field(&name, '.', UINT32_MAX - 1, &u) ||
        !parse_field(&name, '\0', INT32_MAX, &pi) || pi == 0)
        return false;
    *port = (unsigned)p;
    *uid = (uid_t)u;
    *pid = (long)pi;
    return true;
}

enum liveness { CLAIM_LIVE, CLAIM_DEAD, CLAIM_FAKE };

/* A claim counts only when its file, owned by the uid its name gives, names a process of that
 * user that is still the one that wrote it. */
static enum liveness claim_state(int dirfd, const char *name, uid_t uid, long pid)
{
    unsigned long long started = 0, now;
    long recorded = 0;
    struct stat st;
    char buf[64];
    ssize_t len;
    int fd;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
        st.st_uid != uid)
        return CLAIM_FAKE;
    /* Non-blocking: the file may have been swapped for a FIFO since. */
    fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return CLAIM_FAKE;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != uid) {
        close(fd);
        return CLAIM_FAKE;
    }
    len = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    /* Empty: being written right now (its writer is alive), or its writer died first. */
    buf[len > 0 ? len : 0] = '\0';
    if (len > 0 && (sscanf(buf, "%ld %llu", &recorded, &started) != 2 || recorded != pid))
        return CLAIM_FAKE;
    if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
        return CLAIM_DEAD;
    now = start_time(pid);
    if (len > 0 && now != 0 && now != started)
        return CLAIM_DEAD; /* the pid was recycled */
    return runs_as(pid, uid) ? CLAIM_LIVE : CLAIM_FAKE;
}

/* One pass over the directory: the ports of [first, last] with a live claim other than
 * `mine` (a bitmap), or with `only` set just whether that port has one. The caller's own
 * claims that are not live any more are removed on the way; other users' are ignored. */
static int scan(int dirfd, const char *dir, unsigned first, unsigned last, unsigned only,
                const char *mine, unsigned char *bitmap, bool *found, struct zn_error *err)
{
    uid_t me = geteuid();
    unsigned long entries = 0;
    struct dirent *de;
    int fd, rc = -1;
    DIR *d;

    if (found)
        *found = false;
    fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        if (fd >= 0)
            close(fd);
        return zn_fail(err, "cannot read the port claim directory %s: %s", dir, strerror(errno));
    }
    while ((de = readdir(d))) {
        enum liveness state;
        unsigned port;
        uid_t uid;
        long pid;

        if (++entries > MAX_ENTRIES) {
            zn_fail(err,
                    "the port claim directory %s holds more than %d entries; an administrator "
                    "should remove what is not PORT.UID.PID claims of running jobs",
                    dir, MAX_ENTRIES);
            goto out;
        }
        if (!parse_name(de->d_name, &port, &uid, &pid) || port < first || port > last ||
            (only && port != only) || (mine && strcmp(de->d_name, mine) == 0))
            continue;
        if (bitmap && (bitmap[(port - first) / 8] & (1u << ((port - first) % 8))))
            continue; /* already known to be held */
        state = claim_state(dirfd, de->d_name, uid, pid);
        if (state == CLAIM_LIVE) {
            if (bitmap)
                bitmap[(port - first) / 8] |= (unsigned char)(1u << ((port - first) % 8));
            if (found)
                *found = true;
        } else if (uid == me && state == CLAIM_DEAD) {
            unlinkat(dirfd, de->d_name, 0);
        }
    }
    rc = 0;
out:
    closedir(d);
    return rc;
}

/* The directory is shared by every user of the node, like /tmp. It is trusted only when
 * nobody but root or the caller can remove claims from it: owned by one of them, and sticky
 * when others may write to it. */
static int open_dir(const char *dir, struct zn_error *err)
{
    bool made = mkdir(dir, 01777) == 0;
    struct stat st;
    int fd;

    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return zn_fail(err, "cannot use the port claim directory %s: %s", dir, strerror(errno));
    if (fstat(fd, &st) < 0) {
        zn_fail(err, "cannot use the port claim directory %s: %s", dir, strerror(errno));
        goto refused;
    }
    if (made && st.st_uid == geteuid() && fchmod(fd, 01777) == 0)
        st.st_mode |= 01777; /* mkdir's mode is cut by the umask */
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        zn_fail(err,
                "the port claim directory %s belongs to uid %u, not to root or to you (uid %u), "
                "so its owner could remove every job's claims; an administrator should remove "
                "it (Zenith's SPANK plugin recreates it owned by root at the next step on this "
                "node), or set ZENITH_PORT_DIR to a directory of your own",
                dir, (unsigned)st.st_uid, (unsigned)geteuid());
        goto refused;
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
        zn_fail(err,
                "the port claim directory %s is writable by group or others but not sticky, "
                "so anyone could remove claims; an administrator should 'chmod 1777 %s'",
                dir, dir);
        goto refused;
    }
    return fd;
refused:
    close(fd);
    return -1;
}

#define CLAIM_PASSES 8 /* passes over the range while ports are yielded to other claimers */

/* Simultaneous claimers of one port may all yield it; a pause of its own for each keeps
 * processes started from the same seed from meeting again on every following port. */
static void pause_after_yield(void)
{
    struct timespec t = {0, (long)(((unsigned)getpid() * 2654435761u) % 1000u + 1u) * 1000L};

    nanosleep(&t, NULL);
}

enum port_try { PORT_CLAIMED, PORT_TAKEN, PORT_YIELDED, PORT_ERROR };

/* Claim one port that looked free: a file under my name, kept unless another live claim of
 * the port appeared beside it. */
static enum port_try try_port(int dirfd, const char *dir, unsigned first, unsigned last,
                              unsigned port, struct zr_port_claim *claim, struct zn_error *err)
{
    char name[64], line[64];
    bool other;
    int fd;

    snprintf(name, sizeof(name), "%u.%u.%ld", port, (unsigned)geteuid(), (long)getpid());
    fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST)
        return PORT_TAKEN; /* planted under my name by somebody else: that port is spoilt for me */
    if (fd < 0) {
        zn_fail(err, "cannot claim port %u in %s (%s/%s): %s", port, dir, dir, name,
                strerror(errno));
        return PORT_ERROR;
    }
    snprintf(line, sizeof(line), "%ld %llu\n", (long)getpid(), start_time(getpid()));
    if (write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
        close(fd);
        unlinkat(dirfd, name, 0);
        zn_fail(err, "cannot write the claim of port %u in %s", port, dir);
        return PORT_ERROR;
    }
    close(fd);
    /* Whoever claimed it at the same moment: both may yield, never both keep it, since each
     * looks only after its own file is there. */
    if (scan(dirfd, dir, first, last, port, name, NULL, &other, err) < 0) {
        unlinkat(dirfd, name, 0);
        return PORT_ERROR;
    }
    if (other) {
        unlinkat(dirfd, name, 0);
        pause_after_yield();
        return PORT_YIELDED;
    }
    claim->port = port;
    snprintf(claim->path, sizeof(claim->path), "%s/%s", dir, name);
    return PORT_CLAIMED;
}

int zr_port_claim(const char *dir, unsigned first, unsigned last, const char *seed,
                  struct zr_port_claim *claim, struct zn_error *err)
{
    unsigned n = last - first + 1, start = zr_port_guess(first, last, seed) - first;
    unsigned char *held = NULL;
    unsigned taken = 0;
    int dirfd, rc = -1;

    claim->port = 0;
    claim->path[0] = '\0';
    dirfd = open_dir(dir, err);
    if (dirfd < 0)
        return -1;
    held = calloc(n / 8 + 1, 1);
    if (!held) {
        zn_fail(err, "out of memory for the port search");
        goto out;
    }
    /* A port yielded to a simultaneous claimer may be free again (both may yield), so passes
     * repeat while the last one yielded any: else claimers of one job that met on several
     * ports could run out of the range with ports still free. */
    for (unsigned pass = 0, yielded = 1; yielded && pass < CLAIM_PASSES; pass++) {
        yielded = 0;
        taken = 0;
        memset(held, 0, n / 8 + 1);
        if (scan(dirfd, dir, first, last, 0, NULL, held, NULL, err) < 0)
            goto out;
        for (unsigned i = 0; i < n; i++) {
            unsigned port = first + (start + i) % n;
            enum port_try got = PORT_TAKEN;

            if (!(held[(port - first) / 8] & (1u << ((port - first) % 8))) && zr_port_is_free(port))
                got = try_port(dirfd, dir, first, last, port, claim, err);
            if (got == PORT_ERROR)
                goto out;
            if (got == PORT_CLAIMED) {
                rc = 0;
                goto out;
            }
            taken++;
            yielded += got == PORT_YIELDED;
        }
    }
    zn_fail(err,
            "no free port in %u-%u on this node (%u in use or claimed by running jobs); give "
            "another range with --port-range",
            first, last, taken);
out:
    free(held);
    close(dirfd);
    return rc;
}

void zr_port_release(struct zr_port_claim *claim)
{
    if (claim->path[0])
        unlink(claim->path);
    claim->path[0] = '\0';
}
