/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_LAUNCHER_PLACEMENT_H
#define ZENITH_LAUNCHER_PLACEMENT_H

#include <stdbool.h>

#include "runtime/env.h"
#include "runtime/gpus.h"
#include "launcher/options.h"
#include "launcher/world.h"
#include "runtime/plan.h"

/* This rank's placement: the SPANK plugin's when it placed the task, else the same planner's
 * plan for this node's ranks, applied to zenith-run itself (the child inherits the CPU
 * affinity and memory policy). */
struct zr_placement {
    bool by_plugin;      /* the plugin placed the task for this step: nothing done here */
    unsigned slurm_gpus; /* GPUs Slurm gave the step on this node */
    bool gpus_present;   /* this node has GPUs for the step (Slurm's or the topology's) */
    struct zn_topology *topo;
    struct zn_step_gpus gpus;
    struct zn_plan *plan; /* NULL when by_plugin or --bind none */
    struct zn_env env;    /* the plan's variables for the child */
    char note[768];       /* report line about the step's GPUs (stand-ins the topology lacks) */
};

/* Checks the shape (ranks against GPUs on this node), then places. Returns -1 with a message
 * that says what to change. */
int zr_place(const struct zr_options *opts, const struct zr_world *w, struct zr_placement *p,
             struct zn_error *err);
void zr_placement_clear(struct zr_placement *p);

#endif
