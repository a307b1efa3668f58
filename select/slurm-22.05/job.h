/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_SLURM_JOB_H
#define ZENITH_SLURM_JOB_H

/* A slurmctld job record read as the placement core's request (Slurm 22.05 adapter). */

#include "src/slurmctld/slurmctld.h"

#include "select/core/place.h"

/* 1 when the core should place the job, 0 when it is left to cons_tres (no GPUs, nodes named
 * with -w, GPUs per task...), with why set. out->gang only for job_submit's stamp, and only
 * while the job still has the shape the stamp validated. */
int zn_job_request(const job_record_t *job, uint32_t min_nodes, struct zn_job_request *out,
                   const char **why);

#endif
