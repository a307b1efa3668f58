/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "select/core/estimate.h"

void zn_estimate_put(struct zn_estimates *e, uint32_t job_id, int64_t narrow_start)
{
    if (job_id == 0)
        return;
    e->slot[job_id % ZN_ESTIMATE_SLOTS].job_id = job_id;
    e->slot[job_id % ZN_ESTIMATE_SLOTS].narrow_start = narrow_start;
}

int64_t zn_estimate_get(const struct zn_estimates *e, uint32_t job_id)
{
    if (job_id == 0 || e->slot[job_id % ZN_ESTIMATE_SLOTS].job_id != job_id)
        return 0;
    return e->slot[job_id % ZN_ESTIMATE_SLOTS].narrow_start;
}
