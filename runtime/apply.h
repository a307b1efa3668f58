/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_APPLY_H
#define ZENITH_APPLY_H

#include "runtime/plan.h"

/* Applies one task's plan to the calling thread, right before it execs the task: CPU affinity
 * and NUMA memory policy, both inherited across exec. Shared by the SPANK plugin (inside the
 * task, after Slurm's own task plugin ran) and zenith-run (before spawning the child). */

struct zn_applied {
    hwloc_bitmap_t cpus; /* what the kernel granted (narrower than asked under a cpuset) */
    int mem_mode;        /* MPOL_* in effect, -1 when the policy was left alone */
};

/* Pins and sets the memory policy for task `task`. Returns -1 with a message when the kernel
 * refuses (no CPU of the plan is allowed here, a NUMA node outside the cpuset's mems).
 * `applied` (may be NULL) receives what the kernel actually granted; the caller frees
 * applied->cpus with hwloc_bitmap_free. */
int zn_apply_task(const struct zn_plan *plan, unsigned task, struct zn_applied *applied,
                  struct zn_error *err);

/* The calling thread's CPU affinity and memory policy (MPOL_* and its nodes), for reports and
 * tests. Returns -1 with a message on failure. */
int zn_apply_current(hwloc_bitmap_t cpus, int *mem_mode, hwloc_bitmap_t mems, struct zn_error *err);

/* "local" (MPOL_PREFERRED / PREFERRED_MANY), "bind", "interleave", "default", ... */
const char *zn_mempolicy_name(int mode);

#endif
