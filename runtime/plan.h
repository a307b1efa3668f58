/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_PLAN_H
#define ZENITH_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/gpus.h"
#include "runtime/hugepages.h"
#include "runtime/policy.h"
#include "runtime/topology.h"

/* The placement planner: a pure function from (topology, what the step may use, policy) to where
 * each local task runs. It allocates the result and touches nothing else; applying the plan and
 * exporting it are separate steps (apply, env). */

struct zn_request {
    const struct zn_topology *topo;
    hwloc_const_bitmap_t allowed;    /* OS CPU numbers the step may use; NULL: all */
    const struct zn_step_gpus *gpus; /* NULL or count 0: a CPU-only step */
    unsigned ntasks;                 /* tasks of the step on this node */
    struct zn_policy policy;
};

struct zn_task_plan {
    hwloc_bitmap_t cpus;  /* OS CPU numbers */
    unsigned ncores;      /* cores (or CPUs when they had to be split) the task got */
    hwloc_bitmap_t mems;  /* OS NUMA node numbers; empty when the policy is none */
    int gpu;              /* position in the visible GPU order this task drives, -1: none */
    unsigned ngpus_owned; /* GPUs this task owns (fewer tasks than GPUs gives several) */
    unsigned first_gpu_owned;
    int nic; /* index into topo->nics of the closest NIC, -1: none */
};

struct zn_plan {
    const struct zn_topology *topo;
    enum zn_bind bind;       /* resolved: never AUTO */
    enum zn_mem mem;         /* resolved: never DEFAULT */
    bool cores_shared;       /* more tasks than CPUs: some tasks share */
    bool cpus_split;         /* more tasks than cores: tasks got hyperthreads, not cores */
    unsigned cores_per_task; /* as requested; 0: an equal share */
    unsigned units_idle;     /* allowed cores (CPUs when split) no task got: an even share that
                              * keeps tasks local left them over */
    unsigned ntasks;
    struct zn_task_plan *tasks;
    size_t ngpus;
    unsigned *gpu_order; /* gpu_order[k]: position in the step's list of visible GPU k */
    const struct zn_step_gpus *step_gpus;
    uint64_t hugepage_size;
    size_t nhugepages;
    struct zn_hugepage_share *hugepages; /* pages to reserve per NUMA node */
};

/* Returns NULL with a message naming the bad input (too many tasks for bind=core, an empty or
 * foreign CPU set, a GPU policy without GPUs, an unsupported huge page size, ...). */
struct zn_plan *zn_plan_compute(const struct zn_request *req, struct zn_error *err);
void zn_plan_destroy(struct zn_plan *plan);

/* The GPU at position v of the plan's visible order, and its Slurm index (index into
 * topo->gpus). v must be below plan->ngpus. */
unsigned zn_plan_gpu_index(const struct zn_plan *plan, unsigned v);
const struct zn_gpu *zn_plan_visible_gpu(const struct zn_plan *plan, unsigned v);
/* The (first) GPU local task `task` drives, or NULL when it drives none. */
const struct zn_gpu *zn_plan_task_gpu(const struct zn_plan *plan, unsigned task);

#endif
