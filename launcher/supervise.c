/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launcher/supervise.h"

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2};
#define NFORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

static sigset_t watched; /* forwarded + SIGCHLD */

/* slurmstepd, when it started this process. It signals every process of the step itself (its
 * process tracking plugin signals the whole container), so a signal from it has reached the
 * child already: forwarding it too would deliver it twice, and a second SIGTERM arriving while
 * the program exits from its handler kills it. Signals from anyone else are forwarded. */
static pid_t slurmstepd;

static pid_t find_slurmstepd(void)
{
    char path[64], comm[32] = "";
    pid_t parent = getppid();
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/comm", (long)parent);
    f = fopen(path, "r");
    if (!f)
        return 0;
    if (!fgets(comm, sizeof(comm), f))
        comm[0] = '\0';
    fclose(f);
    return strcmp(comm, "slurmstepd\n") == 0 ? parent : 0;
}

/* The descriptors zenith-run was started with: the program inherits those, and none of the
 * ones zenith-run opened itself (PMIx's socket, NCCL's bootstrap listener, which libraries
 * open without close-on-exec). */
static fd_set inherited;

static void for_each_fd(void (*fn)(int fd))
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *d;

    if (!dir)
        return;
    while ((d = readdir(dir)))
        if (d->d_name[0] >= '0' && d->d_name[0] <= '9' && atoi(d->d_name) != dirfd(dir))
            fn(atoi(d->d_name));
    closedir(dir);
}

static void remember(int fd)
{
    if (fd < FD_SETSIZE)
        FD_SET(fd, &inherited);
}

static void close_on_exec_unless_inherited(int fd)
{
    if (fd >= FD_SETSIZE || !FD_ISSET(fd, &inherited))
        fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
}

int zr_signals_block(struct zn_error *err)
{
    sigemptyset(&watched);
    for (size_t i = 0; i < NFORWARDED; i++)
        sigaddset(&watched, forwarded[i]);
    sigaddset(&watched, SIGCHLD);
    slurmstepd = find_slurmstepd();
    FD_ZERO(&inherited);
    for_each_fd(remember);
    if (sigprocmask(SIG_BLOCK, &watched, NULL) < 0)
        return zn_fail(err, "cannot block signals: %s", strerror(errno));
    /* Orphans of the child are re-parented here, not to init, so none outlives the rank. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        return zn_fail(err, "cannot become a subreaper: %s", strerror(errno));
    return 0;
}

void zr_inherit_fd(int fd)
{
    remember(fd);
}

int zr_signal_pending(void)
{
    sigset_t pending;

    if (sigpending(&pending) < 0)
        return 0;
    for (size_t i = 0; i < NFORWARDED; i++)
        if (sigismember(&pending, forwarded[i]))
            return forwarded[i];
    return 0;
}

/* The child's side of zr_spawn, between vfork and exec: it shares zenith-run's memory, so it
 * only makes system calls and writes *exec_errno. */
static void exec_child(char *const argv[], char *const envp[], pid_t parent,
                       volatile int *exec_errno)
{
    sigset_t none;

    /* Killed with zenith-run, whatever kills zenith-run (kill -9 included): a program left
     * behind would keep running outside the step's tracking and keep its data service's
     * shared memory mapped. The parent may already be gone when this runs. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) {
        *exec_errno = ESRCH;
        _exit(127);
    }
    for (size_t i = 0; i < NFORWARDED; i++)
        signal(forwarded[i], SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execvpe(argv[0], argv, envp);
    *exec_errno = errno;
    _exit(127);
}

int zr_spawn(char *const argv[], char *const envp[], int ready_write_fd, struct zr_child *child,
             struct zn_error *err)
{
    volatile int exec_errno = 0;
    pid_t parent = getpid(), pid;

    child->pid = -1;
    for_each_fd(close_on_exec_unless_inherited);
    if (ready_write_fd >= 0) {
        /* Only the write end crosses exec; the read end stays close-on-exec. */
        int flags = fcntl(ready_write_fd, F_GETFD);
        fcntl(ready_write_fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
    /* vfork, as posix_spawn does inside: no copy of zenith-run's page tables, and the parent
     * resumes only once the child has exec'd or failed to, with the reason in exec_errno. */
    pid = vfork();
    if (pid == 0)
        exec_child(argv, envp, parent, &exec_errno);
    if (ready_write_fd >= 0)
        close(ready_write_fd);
    if (pid < 0)
        return zn_fail(err, "cannot start %s: %s", argv[0], strerror(errno));
    if (exec_errno) {
        int rc = exec_errno;
        waitpid(pid, NULL, 0);
        return zn_fail(err, "cannot start %s: %s%s", argv[0], strerror(rc),
                       rc == ENOENT ? " (not found in PATH)" : "");
    }
    child->pid = pid;
    return 0;
}

static long elapsed_ms(const struct timespec *since)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - since->tv_sec) * 1000 + (t.tv_nsec - since->tv_nsec) / 1000000;
}

/* Processes whose parent is this one (the child's orphans, re-parented here). */
static int signal_orphans(int sig)
{
    DIR *proc = opendir("/proc");
    struct dirent *d;
    pid_t self = getpid();
    int found = 0;

    if (!proc)
        return 0;
    while ((d = readdir(proc))) {
        char path[300], buf[512], *p;
        long ppid = 0;
        FILE *f;

        if (d->d_name[0] < '1' || d->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
        f = fopen(path, "r");
        if (!f)
            continue;
        p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
        fclose(f);
        if (p && sscanf(p + 2, "%*c %ld", &ppid) == 1 && ppid == self) {
            kill((pid_t)atol(d->d_name), sig);
            found++;
        }
    }
    closedir(proc);
    return found;
}

static void reap(pid_t child, int *status, bool *child_done)
{
    pid_t pid;
    int st;

    while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
        if (pid == child) {
            *status = st;
            *child_done = true;
        }
}

void zr_supervise(struct zr_child *child, void (*on_ready)(void *), void *ctx, int grace_ms,
                  struct zr_exit *out)
{
    int sfd = signalfd(-1, &watched, SFD_CLOEXEC), status = 0;
    bool done = false, killed = false;
    struct timespec grace_start;

    memset(out, 0, sizeof(*out));
    reap(child->pid, &status, &done); /* a child that died before signalfd existed */
    while (!done) {
        struct pollfd fds[2] = {{.fd = sfd, .events = POLLIN},
                                {.fd = child->ready_fd, .events = POLLIN}};
        struct signalfd_siginfo si;

        if (poll(fds, child->ready_fd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
            break;
        if (child->ready_fd >= 0 && fds[1].revents) {
            char byte;
            if (read(child->ready_fd, &byte, 1) == 1 && on_ready)
                on_ready(ctx);
            close(child->ready_fd); /* one byte says ready; EOF says it never will be */
            child->ready_fd = -1;
        }
        if (!(fds[0].revents & POLLIN) || read(sfd, &si, sizeof(si)) != sizeof(si))
            continue;
        if (si.ssi_signo == SIGCHLD)
            reap(child->pid, &status, &done);
        else if (!slurmstepd || (pid_t)si.ssi_pid != slurmstepd)
            kill(child->pid, (int)si.ssi_signo);
    }
    if (child->ready_fd >= 0) {
        close(child->ready_fd);
        child->ready_fd = -1;
    }

    /* The child is gone; end what it left behind: TERM, then KILL after the grace period. */
    clock_gettime(CLOCK_MONOTONIC, &grace_start);
    while (signal_orphans(killed ? SIGKILL : SIGTERM) > 0) {
        struct pollfd pfd = {.fd = sfd, .events = POLLIN};
        struct signalfd_siginfo si;
        bool unused = false;

        if (!killed && elapsed_ms(&grace_start) >= grace_ms)
            killed = true;
        if (poll(&pfd, 1, 100) > 0 && read(sfd, &si, sizeof(si)) < 0)
            break;
        reap(-1, &status, &unused);
    }
    reap(-1, &status, &done);
    if (sfd >= 0)
        close(sfd);

    if (WIFSIGNALED(status)) {
        out->signal = WTERMSIG(status);
        out->code = 128 + out->signal;
        out->core_dumped = WCOREDUMP(status);
    } else {
        out->code = WEXITSTATUS(status);
    }
}
