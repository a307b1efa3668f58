/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_SPANK_ZENITH_H
#define ZENITH_SPANK_ZENITH_H

#include <stdint.h> /* spank.h needs it first */

#include <slurm/spank.h>

#include "runtime/gpus.h"
#include "runtime/hugepages.h"
#include "runtime/plan.h"
#include "spank/settings.h"
#include "spank/options.h"
#include "spank/policy.h"

/* The plugin's state in one process (srun/sbatch/salloc, one slurmstepd, or the epilog).
 * slurmstepd forks each task from the process that planned, so every task reads the plan
 * computed once for the step. */
struct zn_spank {
    struct zn_spank_config cfg;
    char *cli[ZN_OPT_COUNT]; /* values from the command line (NULL: not given) */
    bool cli_given[ZN_OPT_COUNT];
    struct zn_request_opts opts;

    /* slurmstepd only */
    char node[256];
    struct zn_topology *topo;
    struct zn_step_gpus gpus;
    struct zn_plan *plan;
    struct zn_decision decision;
    char notes[1024];  /* reserved huge pages, cores ignored, ...: for the report */
    char failure[512]; /* why the step must not start; each task prints it and fails */
};

extern struct zn_spank zn_spank;

/* Per context (one file each). Arguments are the plugstack.conf arguments. */
int zn_local_init_post_opt(spank_t sp);
int zn_remote_init_post_opt(spank_t sp);
int zn_remote_task_init(spank_t sp);
void zn_remote_exit(void);
int zn_jobscript_epilog(spank_t sp);

/* Fill zn_spank.opts from the command line, then the ZENITH_* environment for options not
 * given (read through `getenv_fn`, which differs between srun and slurmstepd). */
int zn_spank_resolve_options(spank_t sp, bool remote, struct zn_error *err);

/* Where and under which name a job's huge pages on this host are recorded: the reservation
 * (slurmstepd) and the release (job epilog) must agree on both. The key is JOBID.HOST: the
 * epilog knows the host name, not always Slurm's node name. */
struct zn_hugepage_ledger zn_spank_ledger(void);
void zn_spank_hugepage_key(uint32_t jobid, char *key, size_t len);

#endif
