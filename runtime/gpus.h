/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_GPUS_H
#define ZENITH_GPUS_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/topology.h"

/* The GPUs a step has on this node, in the order Slurm lists them, mapped to topology GPUs.
 * Slurm's GPU index i (SLURM_STEP_GPUS, SLURM_JOB_GPUS, gres.conf order) is the i-th GPU in
 * PCI bus id order, which is how zn_topology numbers them. */
struct zn_step_gpus {
    size_t count;
    unsigned *index; /* topology GPU index of each */
    char **visible;  /* the token the GPU runtime knows it by (a CUDA_VISIBLE_DEVICES entry) */
    char source[32]; /* where the list came from, for messages */
};

/* From an explicit list such as "0-3" (zenith-plan --gpus): visible tokens are the indices. */
int zn_step_gpus_from_list(const struct zn_topology *topo, const char *what, const char *list,
                           struct zn_step_gpus *out, struct zn_error *err);

/* From the environment Slurm gives a step. SLURM_STEP_GPUS wins over SLURM_JOB_GPUS, which wins
 * over CUDA_VISIBLE_DEVICES/ROCR_VISIBLE_DEVICES (pass whichever the vendor uses as `visible`,
 * named `visible_name`). When Slurm's list and the visible list have the same length, the
 * visible tokens are kept as they are: under task/cgroup they are renumbered from 0, and the
 * GPU runtime must be told the GPUs in those terms. Any argument may be NULL (unset); no GPU
 * at all gives count 0. */
int zn_step_gpus_from_env(const struct zn_topology *topo, const char *step_gpus,
                          const char *job_gpus, const char *visible_name, const char *visible,
                          struct zn_step_gpus *out, struct zn_error *err);

/* Reads one variable of the step's environment into buf; false when it is unset or empty. */
typedef bool (*zn_env_reader)(void *ctx, const char *name, char *buf, size_t len);

/* The reader of this process's own environment (getenv; ctx is unused): srun, a task. */
bool zn_env_read_getenv(void *ctx, const char *name, char *buf, size_t len);

/* The step's GPUs on this node from the variables Slurm gives it (SLURM_STEP_GPUS,
 * SLURM_JOB_GPUS and CUDA_VISIBLE_DEVICES or ROCR_VISIBLE_DEVICES by the topology's vendor),
 * read through `read`: getenv in a task, the step's environment in slurmstepd. A topology
 * without GPUs (stand-in devices, GPUs hwloc cannot see) takes the no-GPU path: count 0, and
 * when Slurm did hand out GPUs `note` says they are placed without GPU locality. */
int zn_step_gpus_from_slurm(const struct zn_topology *topo, zn_env_reader read, void *ctx,
                            struct zn_step_gpus *out, char *note, size_t note_len,
                            struct zn_error *err);

/* How many GPUs Slurm gave the step on this node, decided as zn_step_gpus_from_slurm decides
 * which list names them, but without a topology: zenith-run checks a step's shape before it
 * loads one, and without loading one when the plugin placed it. The visible-devices variable
 * is CUDA_VISIBLE_DEVICES, else ROCR_VISIBLE_DEVICES. -1 when Slurm's list is not a list. */
int zn_step_gpus_count_from_slurm(zn_env_reader read, void *ctx, unsigned *count,
                                  struct zn_error *err);

void zn_step_gpus_clear(struct zn_step_gpus *gpus);

#endif
