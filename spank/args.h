/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_SPANK_ARGS_H
#define ZENITH_SPANK_ARGS_H

#include <stdint.h> /* spank.h needs it first */

#include <slurm/spank.h>

#include "spank/options.h"

/* What the site and the user hand the plugin in this process: the plugstack arguments (into
 * zn_spank_settings) and the options SPANK parsed from the command line. */

/* Reads this process's plugstack arguments; logs what to fix. */
int zn_args_load_settings(int ac, char **av);

/* Registers every option of the table with SPANK, whose callbacks keep the values given. */
int zn_args_register(spank_t sp);

/* The options given on the command line (srun/sbatch/salloc, and again in slurmstepd). */
const struct zn_option_values *zn_args_cli(void);

void zn_args_free(void);

#endif
