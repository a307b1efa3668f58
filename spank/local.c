/* SPDX-License-Identifier: GPL-2.0-or-later */
/* srun, sbatch, salloc: check what the user asked before anything is submitted, and record a
 * gang request where slurmctld's plugins can see it. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "spank/args.h"
#include "spank/settings.h"
#include "spank/zenith.h"

int zn_local_init_post_opt(spank_t sp)
{
    struct zn_request_opts opts;
    struct zn_error err;
    char gang[16], wait[16];

    if (zn_spank_resolve_options(zn_args_cli(), zn_env_read_getenv, NULL, zn_spank_settings(),
                                 &opts, &err) < 0) {
        slurm_error("%s", err.text);
        return -1;
    }
    if (opts.given[ZN_OPT_GANG_WAIT] && !opts.given[ZN_OPT_GANG]) {
        slurm_error("zenith: %s is the wait of a --zenith-gang job for a leaf switch; add "
                    "--zenith-gang or drop %s",
                    opts.source[ZN_OPT_GANG_WAIT], opts.source[ZN_OPT_GANG_WAIT]);
        return -1;
    }
    if (!opts.given[ZN_OPT_GANG])
        return 0;
    if (spank_context() == S_CTX_LOCAL && getenv("SLURM_JOB_ID")) {
        slurm_info("zenith: --zenith-gang is a request for the job's placement, and this srun "
                   "runs inside job %s that is already placed; it is ignored here (give it to "
                   "sbatch or salloc)",
                   getenv("SLURM_JOB_ID"));
        return 0;
    }
    if (opts.gang)
        snprintf(gang, sizeof(gang), "%u", opts.gang);
    else
        snprintf(gang, sizeof(gang), "job");
    /* Lands in the job record's spank_job_env as ZENITH_GANG, where job_submit validates it
     * (users can forge that environment, so slurmctld trusts only the job_submit stamp). */
    if (spank_job_control_setenv(sp, "ZENITH_GANG", gang, 1) != ESPANK_SUCCESS) {
        slurm_error("zenith: cannot record --zenith-gang for the scheduler; the job was not "
                    "submitted");
        return -1;
    }
    if (!opts.given[ZN_OPT_GANG_WAIT])
        return 0;
    snprintf(wait, sizeof(wait), "%u", opts.gang_wait);
    if (spank_job_control_setenv(sp, "ZENITH_GANG_WAIT", wait, 1) != ESPANK_SUCCESS) {
        slurm_error("zenith: cannot record --zenith-gang-wait for the scheduler; the job was "
                    "not submitted");
        return -1;
    }
    return 0;
}
