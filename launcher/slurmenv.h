/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_LAUNCHER_SLURMENV_H
#define ZENITH_LAUNCHER_SLURMENV_H

#include <stddef.h>

#include "runtime/error.h"

/* Readers of the compressed forms Slurm writes into a step's environment, for the fallback
 * bootstrap when PMIx is not there (srun --mpi=none). Plain C, unit tested. */

/* SLURM_STEP_TASKS_PER_NODE ("2(x3),1") -> the task count of node `node` (0-based). */
int zr_tasks_on_node(const char *what, const char *text, unsigned node, unsigned *out,
                     struct zn_error *err);

/* The first host of a Slurm host list: "zn[1-4]" -> "zn1", "gpu[07-09,12],cpu1" -> "gpu07",
 * "rack[2-3]-n[5-6]" -> "rack2-n5". */
int zr_first_host(const char *what, const char *list, char *buf, size_t len, struct zn_error *err);

#endif
