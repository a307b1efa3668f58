/* SPDX-License-Identifier: GPL-2.0-or-later */
/* site_factor/zenith (Slurm 22.05): a priority factor for validated gang jobs that grows while
 * they wait, so a large gang is not starved by small jobs that backfill around it. */
#include "config.h" /* Slurm's (-iquote): slurm_xlator.h needs its USE_ALIAS */

#include <time.h>

#include "src/common/slurm_xlator.h" /* first, as in Slurm's own plugins */
#include "src/common/list.h"
#include "src/common/log.h"
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
    struct zn_error err;

    if (zn_gang_priority_parse(slurm_conf.site_factor_params, &params, &err) < 0) {
        error("%s; using gang_base=%u,gang_per_hour=%u,gang_max=%u", err.text, ZN_GANG_BASE_DEFAULT,
              ZN_GANG_PER_HOUR_DEFAULT, ZN_GANG_MAX_DEFAULT);
        zn_gang_priority_parse(NULL, &params, &err);
    }
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
