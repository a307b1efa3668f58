/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_SPANK_POLICY_H
#define ZENITH_SPANK_POLICY_H

#include <stdbool.h>

#include "runtime/plan.h"
#include "spank/settings.h"
#include "spank/options.h"

/* What Zenith does with one step on one node, decided from the site's settings, the user's
 * request and facts about the step. Plain C so every rule has a unit test. */
struct zn_step_facts {
    bool batch;         /* the batch script: its own steps get placed, the script is left alone */
    bool user_cpu_bind; /* srun got --cpu-bind (or SLURM_CPU_BIND) */
    bool user_mem_bind; /* srun got --mem-bind (or SLURM_MEM_BIND) */
    bool whole_node;    /* the job has every core of the node */
};

struct zn_decision {
    bool plan;    /* compute a plan at all */
    bool apply;   /* pin/set memory policy/export environment (false: report only) */
    bool reserve; /* reserve huge pages */
    bool verbose; /* print the binding report */
    bool strict;  /* the user asked: a failure fails the step instead of a logged notice */
    struct zn_policy policy;
    char why[256]; /* what was decided and why, for the report ("" when nothing special) */
};

void zn_spank_decide(const struct zn_spank_config *cfg, const struct zn_request_opts *opts,
                     const struct zn_step_facts *facts, struct zn_decision *out);

#endif
