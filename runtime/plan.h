/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_PLAN_H
#define ZENITH_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpus.h"
#include "topology.h"

/* The placement planner: a pure function from (topology, what the step may use, policy) to where
 * each local task runs. It allocates the result and touches nothing else; applying the plan and
 * exporting it are separate steps (apply, env). */

enum zn_bind {
    ZN_BIND_AUTO,   /* gpu when the step has GPUs, else core */
    ZN_BIND_GPU,    /* a share of the cores closest to the task's GPU(s) */
    ZN_BIND_NUMA,   /* all allowed CPUs of the task's NUMA node */
    ZN_BIND_SOCKET, /* all allowed CPUs of the task's package */
    ZN_BIND_CORE,   /* whole cores of its own, spread over NUMA nodes; never shared */
    ZN_BIND_NONE,   /* no binding: the task keeps the step's CPUs */
};

enum zn_mem {
    ZN_MEM_DEFAULT,    /* local when the task is bound, none otherwise */
    ZN_MEM_LOCAL,      /* prefer the task's own NUMA node(s) */
    ZN_MEM_INTERLEAVE, /* interleave over every NUMA node of the step */
    ZN_MEM_BIND,       /* only the task's own NUMA node(s) */
    ZN_MEM_NONE,       /* leave the kernel's default */
};

struct zn_policy {
    enum zn_bind bind;
    enum zn_mem mem;
    unsigned cores_per_task; /* 0: an equal share of the allowed cores */
    uint64_t hugepage_bytes; /* per node; 0 for none */
    uint64_t hugepage_size;  /* 0: the smallest huge page size the node has */
};

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

struct zn_hugepage_share {
    unsigned numa_os;
    uint64_t pages;
};

struct zn_plan {
    const struct zn_topology *topo;
    enum zn_bind bind;       /* resolved: never AUTO */
    enum zn_mem mem;         /* resolved: never DEFAULT */
    bool cores_shared;       /* more tasks than CPUs: some tasks share */
    bool cpus_split;         /* more tasks than cores: tasks got hyperthreads, not cores */
    unsigned cores_per_task; /* as requested; 0: an equal share */
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

/* Names as users write them in options, and back. */
const char *zn_bind_name(enum zn_bind bind);
const char *zn_mem_name(enum zn_mem mem);
int zn_bind_parse(const char *what, const char *text, enum zn_bind *out, struct zn_error *err);
/* "gpu,verbose" -> mode and flag; ",verbose" keeps auto. Shared by plugstack bind=,
 * --zenith-bind, ZENITH_BIND and zenith-run --bind. */
int zn_bind_option_parse(const char *what, const char *text, enum zn_bind *bind, bool *verbose,
                         struct zn_error *err);

int zn_mem_parse(const char *what, const char *text, enum zn_mem *out, struct zn_error *err);
/* "8G" or "4G:1G" -> bytes and page size (0 when not given). */
int zn_hugepages_parse(const char *what, const char *text, uint64_t *bytes, uint64_t *page_size,
                       struct zn_error *err);

#endif
