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

/* Every variable Zenith exports into a task, in one place. Requests (the environment forms of
 * --zenith-bind, --zenith-mem, zenith-run --bind, ...: ZENITH_BIND, ZENITH_MEM) are read by
 * the plugin and by zenith-run, so no export may share a request's name: a task placed by the
 * plugin would hand its resolved mode to zenith-run as a request. The resolved modes are
 * therefore ZENITH_<REQUEST>_MODE. */
#define ZN_ENV_BIND_MODE          "ZENITH_BIND_MODE" /* resolved bind mode: gpu, core, none, ... */
#define ZN_ENV_MEM_MODE           "ZENITH_MEM_MODE"  /* resolved memory policy: local, none, ... */
#define ZN_ENV_CPUS               "ZENITH_CPUS"      /* the task's CPUs (bound tasks only) */
#define ZN_ENV_MEMS               "ZENITH_MEMS"      /* the task's NUMA nodes */
#define ZN_ENV_GPU                "ZENITH_GPU"       /* the visible GPU position it drives */
#define ZN_ENV_GPUS               "ZENITH_GPUS"      /* the visible GPU positions it owns */
#define ZN_ENV_GPU_PCI            "ZENITH_GPU_PCI"   /* their PCI bus ids */
#define ZN_ENV_NIC                "ZENITH_NIC"
#define ZN_ENV_NIC_KIND           "ZENITH_NIC_KIND"
#define ZN_ENV_HUGEPAGE_SIZE      "ZENITH_HUGEPAGE_SIZE"
#define ZN_ENV_HUGEPAGES_RESERVED "ZENITH_HUGEPAGES_RESERVED" /* node:pages,... */
/* Marks a task as placed for Slurm step JOBID.STEPID, so zenith-run inside it leaves the
 * placement alone; a copy inherited by a later step names another step and is ignored. */
#define ZN_ENV_PLACED "ZENITH_PLACED"
/* zenith-run --data: the descriptor of the rank's data service arena (runtime/dataplane.h). */
#define ZN_ENV_DATAPLANE_FD "ZENITH_DATAPLANE_FD"

/* Value of `name` in env, or NULL. */
const char *zn_env_get(const struct zn_env *env, const char *name);

#endif
