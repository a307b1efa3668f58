/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/port.h"

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
 * the claimant. */
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

static int claim_is_live(const char *path)
{
    unsigned long long started = 0, now;
    long pid = 0;
    FILE *f = fopen(path, "r");
    int n;

    if (!f)
        return 0;
    n = fscanf(f, "%ld %llu", &pid, &started);
    fclose(f);
    if (n != 2 || pid <= 0)
        return 0;
    if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
        return 0;
    /* Unreadable (/proc mounted hidepid): the pid is alive, believe the claim. */
    now = start_time(pid);
    return now == 0 || now == started;
}

static int open_dir(const char *dir, struct zn_error *err)
{
    struct stat st;
    int fd;

    /* Shared by every user of the node, like /tmp: sticky, so nobody removes another's claim. */
    if (mkdir(dir, 01777) == 0)
        chmod(dir, 01777); /* mkdir's mode is cut by the umask */
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return zn_fail(err, "cannot use the port claim directory %s: %s", dir, strerror(errno));
    if (fstat(fd, &st) < 0 || ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))) {
        close(fd);
        return zn_fail(err,
                       "the port claim directory %s is writable by everyone but not sticky; "
                       "an administrator should 'chmod 1777 %s'",
                       dir, dir);
    }
    return fd;
}

int zr_port_claim(const char *dir, unsigned first, unsigned last, const char *seed,
                  struct zr_port_claim *claim, struct zn_error *err)
{
    unsigned n = last - first + 1, start = zr_port_guess(first, last, seed) - first;
    int dirfd, lockfd = -1, rc = -1;
    unsigned taken = 0;

    claim->port = 0;
    claim->path[0] = '\0';
    dirfd = open_dir(dir, err);
    if (dirfd < 0)
        return -1;
    lockfd = openat(dirfd, ".lock", O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0444);
    if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0) {
        zn_fail(err, "cannot lock %s/.lock: %s", dir, strerror(errno));
        goto out;
    }
    for (unsigned i = 0; i < n; i++) {
        unsigned port = first + (start + i) % n;
        char name[16], path[PATH_MAX], line[64];
        int fd;

        snprintf(name, sizeof(name), "%u", port);
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (claim_is_live(path) || !zr_port_is_free(port)) {
            taken++;
            continue;
        }
        unlinkat(dirfd, name, 0); /* a lapsed claim (its process is gone) */
        fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0) {
            zn_fail(err, "cannot claim port %u in %s: %s", port, dir, strerror(errno));
            goto out;
        }
        snprintf(line, sizeof(line), "%ld %llu\n", (long)getpid(), start_time(getpid()));
        if (write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
            close(fd);
            unlinkat(dirfd, name, 0);
            zn_fail(err, "cannot write the claim of port %u in %s", port, dir);
            goto out;
        }
        close(fd);
        claim->port = port;
        snprintf(claim->path, sizeof(claim->path), "%s", path);
        rc = 0;
        goto out;
    }
    zn_fail(err,
            "no free port in %u-%u on this node (%u in use or claimed by running jobs); give "
            "another range with --port-range",
            first, last, taken);
out:
    if (lockfd >= 0)
        close(lockfd);
    close(dirfd);
    return rc;
}

void zr_port_release(struct zr_port_claim *claim)
{
    if (claim->path[0])
        unlink(claim->path);
    claim->path[0] = '\0';
}
