/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_SPANK_ZENITH_H
#define ZENITH_SPANK_ZENITH_H

#include <stdint.h> /* spank.h needs it first */

#include <slurm/spank.h>

/* The callbacks of each context, one file each, each with its own state. zenith.c calls them
 * and nothing calls zenith.c. */

/* srun, sbatch, salloc (local.c) */
int zn_local_init_post_opt(spank_t sp);

/* slurmstepd (remote.c): one plan for the step, then each task's share */
int zn_remote_init_post_opt(spank_t sp);
int zn_remote_task_init(spank_t sp);
void zn_remote_exit(void);

/* the job epilog in slurmd (jobscript.c) */
int zn_jobscript_epilog(spank_t sp);

#endif
