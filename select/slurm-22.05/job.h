/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_SLURM_JOB_H
#define ZENITH_SLURM_JOB_H

/* A slurmctld job record read as the placement core's request (Slurm 22.05 adapter). */

#include "src/slurmctld/slurmctld.h"

#include "select/core/gang.h"
#include "select/core/place.h"

/* 1 when the core should place the job, 0 when it is left to cons_tres (no GPUs, nodes named
 * with -w, GPUs per task...), with why set. out->gang only for job_submit's stamp, and only
 * while the job still has the shape the stamp validated. With limits (NULL: no wait rule) a
 * gang gets its leaf wait, counted from the time it became eligible to now; a job that gave
 * Slurm's own --switches keeps that rule instead (cons_tres applies it to every candidate). */
int zn_job_request(const job_record_t *job, uint32_t min_nodes,
                   const struct zn_gang_wait_limits *limits, struct zn_job_request *out,
                   const char **why);

#endif
