/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_ESTIMATE_H
#define ZENITH_ESTIMATE_H

#include <stdint.h>

/* What backfill last planned for each held gang (its narrow_start, place.h), for the main
 * scheduler's next decision on it: backfill plans with every running job's time limit, the
 * main loop does not. Direct-mapped by job id in a fixed table, so it costs nothing to keep
 * and never grows; a job whose slot another job took reads as not planned yet, which keeps the
 * plain wait rule for it. Job ids 0 are never stored. */
#define ZN_ESTIMATE_SLOTS 4096

struct zn_estimates {
    struct {
        uint32_t job_id;
        int64_t narrow_start;
    } slot[ZN_ESTIMATE_SLOTS];
};

void zn_estimate_put(struct zn_estimates *e, uint32_t job_id, int64_t narrow_start);

/* The job's last narrow_start, 0 when it has none. */
int64_t zn_estimate_get(const struct zn_estimates *e, uint32_t job_id);

#endif
