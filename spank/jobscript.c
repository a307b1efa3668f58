/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The job epilog (slurmd, root, once per node when the job ends however it ended: normal
 * exit, scancel, time limit, a killed slurmstepd): give back the job's huge pages. */
#include "config.h"

#include "spank/ledger.h"
#include "spank/settings.h"
#include "spank/zenith.h"

int zn_jobscript_epilog(spank_t sp)
{
    const char *state_dir = zn_spank_settings()->state_dir;
    struct zn_hugepage_ledger ledger = zn_spank_ledger();
    struct zn_error err;
    char key[300];
    uint32_t jobid = 0;

    if (spank_get_item(sp, S_JOB_ID, &jobid) != ESPANK_SUCCESS) {
        slurm_error("zenith: epilog: cannot read the job id; huge pages of the job (if any) "
                    "stay recorded in %s",
                    state_dir);
        return 0;
    }
    zn_spank_hugepage_key(jobid, key, sizeof(key));
    if (zn_hugepages_release(&ledger, key, &err) < 0)
        /* Not fatal for the node: the record stays, and the admin sees why in slurmd's log. */
        slurm_error("%s (job %u; the record in %s is kept)", err.text, jobid, state_dir);
    return 0;
}
