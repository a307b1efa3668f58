/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a job record asks of the placement core (Slurm 22.05). */
#include "config.h" /* Slurm's (-iquote): slurm_xlator.h needs its USE_ALIAS */

#include <string.h>
#include <time.h>

#include "src/common/slurm_xlator.h" /* first, as in Slurm's own plugins */

#include "select/core/gang.h"
#include "select/slurm-22.05/job.h"

int zn_job_request(const job_record_t *job, uint32_t min_nodes,
                   const struct zn_gang_wait_limits *limits, struct zn_job_request *out,
                   const char **why)
{
    uint64_t gpus = 0;
    struct zn_gang gang;
    int found;

    memset(out, 0, sizeof(*out));
    if (!job->details || min_nodes == 0) {
        *why = "no job details";
        return 0;
    }
    if (job->details->req_node_bitmap) {
        *why = "the job names its nodes";
        return 0;
    }
    if (job->het_job_id) {
        *why = "heterogeneous job";
        return 0;
    }
    found = zn_tres_gpus(job->tres_per_node, &gpus);
    if (found == 0) {
        found = zn_tres_gpus(job->tres_per_job, &gpus);
        if (found == 1 && gpus % min_nodes) {
            *why = "GPUs per job do not divide among the nodes";
            return 0;
        }
        if (found == 1)
            gpus /= min_nodes;
    }
    if (found < 0) {
        *why = "unreadable GPU request";
        return 0;
    }
    if (found == 0) {
        *why = "no GPUs per node or per job";
        return 0;
    }
    out->nodes = min_nodes;
    out->gpus_per_node = gpus > UINT16_MAX ? UINT16_MAX : (unsigned)gpus;
    /* Only job_submit's stamp makes a gang, and only for the shape it validated. */
    out->gang = zn_gang_stamp_find(job->admin_comment, &gang) == 1 && gang.nodes == min_nodes &&
                gang.gpus_per_node == out->gpus_per_node;
    if (out->gang && limits && job->req_switch == 0) {
        out->leaf_wait = zn_gang_leaf_wait(&gang, limits);
        out->eligible_at =
            job->details->begin_time ? job->details->begin_time : job->details->submit_time;
        out->now = time(NULL);
    }
    *why = NULL;
    return 1;
}
