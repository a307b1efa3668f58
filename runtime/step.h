/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_STEP_H
#define ZENITH_STEP_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/apply.h"
#include "runtime/env.h"
#include "runtime/gpus.h"
#include "runtime/plan.h"

/* Placing this node's tasks of one step: the sequence the SPANK plugin (slurmstepd) and
 * zenith-run (each rank) share. The node's topology, then the step's GPUs from Slurm's
 * variables and one plan for all the node's tasks, then per task: the plan applied to the
 * calling process and the task's environment, stamped with the step it was placed for.
 * slurmstepd plans once, as root, before the tasks exist, and each task applies its share;
 * zenith-run plans and applies its own rank. What differs between them is in the options. */
struct zn_step_options {
    const char *topology; /* the node's cache, %n = node name; NULL: ZN_DEFAULT_TOPOLOGY */
    const char *node;     /* this node's name: for %n and for messages */
    /* A missing cache: discover this machine instead (and a cache that cannot be loaded: say
     * why in the note, then discover). false: refuse. */
    bool discover;
    /* Where `topology` is set, named when a missing cache is refused ("topology= in
     * zenith(8)"); NULL: the loader's own message. */
    const char *topology_setting;
    /* The cache is this machine, seen through this process's cpuset (zn_topology_load_cached);
     * false: read whole, as a plain XML (zn_topology_load_sealed), as slurmstepd, whose own
     * cpuset is not its tasks', must read it. Either way only a sealed cache is accepted. */
    bool this_machine;
    hwloc_const_bitmap_t allowed; /* OS CPUs the step may use here; NULL: all */
    unsigned ntasks;              /* the step's tasks on this node */
    struct zn_policy policy;
};

/* The node's topology by the options' rules. When a cache had to be set aside for discovery,
 * `note` (may be NULL) gets the line that says why; else "". NULL with a message naming the
 * file and how to write it. */
struct zn_topology *zn_step_topology(const struct zn_step_options *opts, char *note,
                                     size_t note_len, struct zn_error *err);

/* The step's GPUs on this node from the variables Slurm gives it (SLURM_STEP_GPUS, ..., read
 * through `read`) into *gpus, which must outlive the plan, then the one plan for the node's
 * tasks. `note` gets the report line about the step's GPUs ("zenith: NODE: the step has GPUs
 * ... but ... shows none"), "" when there is nothing to say; it is filled even when planning
 * then fails. NULL with a message naming the bad input. */
struct zn_plan *zn_step_plan(const struct zn_topology *topo, const struct zn_step_options *opts,
                             zn_env_reader read, void *ctx, struct zn_step_gpus *gpus, char *note,
                             size_t note_len, struct zn_error *err);

/* Local task `task`: its plan applied to the calling process (CPU affinity and memory policy,
 * inherited across exec; applied->cpus, freed by the caller, is what the kernel granted) and
 * its environment in *env. `job_step` ("JOBID.STEPID"; NULL or "": none) is stamped as
 * ZENITH_PLACED, so zenith-run inside the task leaves it where it is. -1 with a message; *env
 * is then empty. */
int zn_step_place_task(const struct zn_plan *plan, unsigned task, const char *job_step,
                       struct zn_applied *applied, struct zn_env *env, struct zn_error *err);

#endif
