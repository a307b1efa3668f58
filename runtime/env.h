/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_ENV_H
#define ZENITH_ENV_H

#include <stdbool.h>

#include "runtime/plan.h"

/* A task's plan as environment variables: what the SPANK plugin sets in each task and what
 * zenith-run exports to its child. */
struct zn_env_var {
    char *name;
    char *value;
    bool user_wins; /* tuning hints (OMP_*, UCX_*, NCCL_*) never override a user's own value */
};

struct zn_env {
    size_t count;
    struct zn_env_var *vars;
};

/* The environment for local task `task`. Returns -1 on allocation failure. */
int zn_env_for_task(const struct zn_plan *plan, unsigned task, struct zn_env *env,
                    struct zn_error *err);
void zn_env_clear(struct zn_env *env);

/* Append one variable (value printf-style). Returns -1 on allocation failure. */
int zn_env_add(struct zn_env *env, bool user_wins, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Marks a task as placed for Slurm step JOBID.STEPID, so zenith-run inside it leaves the
 * placement alone; a copy inherited by a later step names another step and is ignored. */
#define ZN_ENV_PLACED "ZENITH_PLACED"

/* Value of `name` in env, or NULL. */
const char *zn_env_get(const struct zn_env *env, const char *name);

#endif
