/* SPDX-License-Identifier: GPL-2.0-or-later */
/* site_factor/zenith (Slurm 22.05): a priority factor for validated gang jobs that grows while
 * they wait, so a large gang is not starved by small jobs that backfill around it. */
#include "config.h" /* Slurm's (-iquote): slurm_xlator.h needs its USE_ALIAS */

#include <inttypes.h>
#include <time.h>

#include "src/common/slurm_xlator.h" /* first, as in Slurm's own plugins */
#include "src/common/list.h"
#include "src/common/log.h"
#include "src/common/slurm_protocol_api.h"
#include "src/slurmctld/slurmctld.h"

#include "select/core/gang.h"
#include "select/slurm-22.05/job.h"

const char plugin_name[] = "Zenith gang job priority";
const char plugin_type[] = "site_factor/zenith";
const uint32_t plugin_version = SLURM_VERSION_NUMBER;

/* slurmctld's own job list; weak so that loading this file never fails on a missing symbol. */
extern List job_list __attribute__((weak));

static struct zn_gang_priority params;

static void read_params(void)
{
    /* priority/multifactor drops PriorityWeightAge without slurmdbd; the defaults follow it. */
    uint32_t age_weight = slurm_with_slurmdbd() ? slurm_conf.priority_weight_age : 0;
    struct zn_error err;

    if (zn_gang_priority_parse(slurm_conf.site_factor_params, age_weight,
                               slurm_conf.priority_max_age, &params, &err) < 0) {
        zn_gang_priority_parse(NULL, age_weight, slurm_conf.priority_max_age, &params, &err);
        error("%s; using the defaults gang_base=%" PRIu64 ",gang_per_hour=%" PRIu64
              ",gang_max=%" PRIu64,
              err.text, params.base, params.per_hour, params.max);
    }
    if (!params.base && (!params.per_hour || !params.max))
        info("zenith: site_factor/zenith gives gang jobs nothing: gang_base=0, "
             "gang_per_hour=%" PRIu64 ", gang_max=%" PRIu64
             " (the defaults follow PriorityWeightAge=%u%s); give "
             "PrioritySiteFactorParameters to raise waiting gangs",
             params.per_hour, params.max, slurm_conf.priority_weight_age,
             slurm_with_slurmdbd() ? "" : ", which slurmctld ignores without slurmdbd");
}

extern int init(void)
{
    read_params();
    return SLURM_SUCCESS;
}

extern int fini(void)
{
    return SLURM_SUCCESS;
}

extern void site_factor_p_reconfig(void)
{
    read_params();
}

extern void site_factor_p_set(job_record_t *job_ptr)
{
    struct zn_job_request req;
    const char *why;
    time_t since;

    if (!job_ptr || !job_ptr->details || !IS_JOB_PENDING(job_ptr))
        return;
    if (zn_job_request(job_ptr, job_ptr->details->min_nodes, NULL, &req, &why) != 1 || !req.gang)
        return;
    since = job_ptr->details->begin_time > job_ptr->details->submit_time
                ? job_ptr->details->begin_time
                : job_ptr->details->submit_time;
    job_ptr->site_factor =
        NICE_OFFSET + (uint32_t)zn_gang_priority_value(&params, (int64_t)(time(NULL) - since));
}

static int update_one(void *job, void *unused)
{
    (void)unused;
    site_factor_p_set(job);
    return SLURM_SUCCESS;
}

/* From priority/multifactor's decay thread, every PriorityCalcPeriod; that thread runs only
 * with accounting through slurmdbd. */
extern void site_factor_p_update(void)
{
    if (&job_list && job_list)
        list_for_each(job_list, update_one, NULL);
}
