/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_LAUNCHER_SERVICES_H
#define ZENITH_LAUNCHER_SERVICES_H

#include "runtime/env.h"
#include "launcher/world.h"

/* Per-rank services that live exactly as long as the program: started after the exchange (so
 * they know the whole job and rank 0's rendezvous), before the program (so they can hand it
 * variables, e.g. where to reach them), and stopped after it exited, in reverse order. The CPU
 * data service (data.c) is the first one listed in services.c; a service with nothing to do
 * for this run (no --data) starts as a no-op. */
struct zr_service {
    const char *name;
    int (*start)(const struct zr_world *w, const struct zr_rendezvous *rv, struct zn_env *child_env,
                 struct zn_error *err);
    void (*stop)(void);
};

/* Starts every service; on a failure, stops those already started and returns -1. */
int zr_services_start(const struct zr_world *w, const struct zr_rendezvous *rv,
                      struct zn_env *child_env, struct zn_error *err);
void zr_services_stop(void);

#endif
