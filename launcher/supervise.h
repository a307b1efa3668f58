/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_LAUNCHER_SUPERVISE_H
#define ZENITH_LAUNCHER_SUPERVISE_H

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/error.h"

/* The child: started with vfork and exec (a fork of a large parent copies its page tables) and
 * bound to die with zenith-run (PR_SET_PDEATHSIG), sent every signal Slurm and users use to
 * talk to a job (TERM before KILL, INT, HUP, USR1/USR2 for requeue and checkpoints) that did not
 * reach it already, waited for, and its exit status returned. zenith-run is the child's
 * subreaper: whatever the child leaves running when it exits is ended too. */

/* Block the forwarded signals and SIGCHLD in the calling thread, and note the descriptors
 * zenith-run was given (only those reach the program). Call first in main, before any thread
 * exists, so threads started later (PMIx's, NCCL's) leave the signals to the supervisor. */
int zr_signals_block(struct zn_error *err);

/* Hand fd to the program too (a service's descriptor, e.g. the data service's arena); the
 * caller clears its close-on-exec flag. */
void zr_inherit_fd(int fd);

/* A signal zenith-run received before the child existed (Slurm cancelled the step during
 * start-up): 0 when none. */
int zr_signal_pending(void);

struct zr_child {
    pid_t pid;
    int ready_fd; /* read end of the readiness pipe; -1 once read or closed */
};

/* Start argv[0] (searched in PATH) with envp. ready_write_fd (-1: none) is left open in the
 * child for it to write one byte once it is ready. */
int zr_spawn(char *const argv[], char *const envp[], int ready_write_fd, struct zr_child *child,
             struct zn_error *err);

struct zr_exit {
    int code;   /* what zenith-run exits with: the child's status, or 128 + signal */
    int signal; /* the signal that killed it, 0 if it exited */
    bool core_dumped;
};

/* Forward signals and wait for the child. on_ready (may be NULL) runs once when the child
 * writes to the readiness pipe. After the child exits, its leftover descendants get SIGTERM,
 * then SIGKILL after grace_ms. */
void zr_supervise(struct zr_child *child, void (*on_ready)(void *), void *ctx, int grace_ms,
                  struct zr_exit *out);

#endif
