/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_LAUNCHER_DATA_H
#define ZENITH_LAUNCHER_DATA_H

#include "runtime/dataspec.h"
#include "launcher/placement.h"
#include "launcher/services.h"
#include "launcher/world.h"

/* The CPU data service (zenith-run --data SPEC): the engine of runtime/engine.c for this rank,
 * in zenith-run's process, its arena handed to the program as an inherited descriptor
 * (ZENITH_DATAPLANE_FD). Prepared before the ranks' exchange, so a missing or damaged file on
 * one rank stops every rank with its message; started as a service once the program's
 * environment is being made. */

/* Open and check the data for rank w->rank of w->size, on this rank's CPUs (its affinity now,
 * which the placement set), NUMA node and huge pages (the plan's, or the plugin's). */
int zr_data_prepare(const struct zn_dataspec *spec, const struct zr_world *w,
                    const struct zr_placement *p, bool verbose, struct zn_error *err);

extern const struct zr_service zr_data_service;

/* Close a prepared engine that never started (the exchange failed); safe to call always. */
void zr_data_release(void);

#endif
