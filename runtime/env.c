/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/env.h"
#include "runtime/parse.h"

void zn_env_clear(struct zn_env *env)
{
    for (size_t i = 0; i < env->count; i++) {
        free(env->vars[i].name);
        free(env->vars[i].value);
    }
    free(env->vars);
    env->vars = NULL;
    env->count = 0;
}

const char *zn_env_get(const struct zn_env *env, const char *name)
{
    for (size_t i = 0; i < env->count; i++)
        if (strcmp(env->vars[i].name, name) == 0)
            return env->vars[i].value;
    return NULL;
}

int zn_env_add(struct zn_env *env, bool user_wins, const char *name, const char *fmt, ...)
{
    struct zn_env_var *grown = realloc(env->vars, (env->count + 1) * sizeof(*env->vars));
    char *value = NULL;
    va_list ap;
    int n;

    if (!grown)
        return -1;
    env->vars = grown;
    va_start(ap, fmt);
    n = vasprintf(&value, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    env->vars[env->count].name = strdup(name);
    env->vars[env->count].value = value;
    env->vars[env->count].user_wins = user_wins;
    if (!env->vars[env->count].name) {
        free(value);
        return -1;
    }
    env->count++;
    return 0;
}

static int add_bitmap(struct zn_env *env, const char *name, hwloc_const_bitmap_t set)
{
    char *list = NULL;
    int rc;

    if (hwloc_bitmap_list_asprintf(&list, set) < 0)
        return -1;
    rc = zn_env_add(env, false, name, "%s", list);
    free(list);
    return rc;
}

/* Joined list of strings produced by item(i) for i in [first, first+count). */
static char *join(const struct zn_plan *plan, unsigned first, unsigned count,
                  const char *(*item)(const struct zn_plan *, unsigned, char *, size_t))
{
    size_t len = 0, cap = 64;
    char *out = malloc(cap), buf[64];

    if (!out)
        return NULL;
    out[0] = '\0';
    for (unsigned i = first; i < first + count; i++) {
        const char *s = item(plan, i, buf, sizeof(buf));
        size_t need = len + strlen(s) + 2;
        if (need > cap) {
            char *grown = realloc(out, need * 2);
            if (!grown) {
                free(out);
                return NULL;
            }
            out = grown;
            cap = need * 2;
        }
        len += (size_t)sprintf(out + len, "%s%s", i > first ? "," : "", s);
    }
    return out;
}

static const char *visible_token(const struct zn_plan *plan, unsigned v, char *buf, size_t len)
{
    (void)buf;
    (void)len;
    return plan->step_gpus->visible[plan->gpu_order[v]];
}

static const char *ordinal(const struct zn_plan *plan, unsigned v, char *buf, size_t len)
{
    (void)plan;
    snprintf(buf, len, "%u", v);
    return buf;
}

static const char *gpu_busid(const struct zn_plan *plan, unsigned v, char *buf, size_t len)
{
    snprintf(buf, len, "%s", zn_plan_visible_gpu(plan, v)->busid);
    return buf;
}

static int add_joined(struct zn_env *env, const char *name, const struct zn_plan *plan,
                      unsigned first, unsigned count,
                      const char *(*item)(const struct zn_plan *, unsigned, char *, size_t))
{
    char *list = join(plan, first, count, item);
    int rc;

    if (!list)
        return -1;
    rc = zn_env_add(env, false, name, "%s", list);
    free(list);
    return rc;
}

static int add_gpus(struct zn_env *env, const struct zn_plan *plan, const struct zn_task_plan *t)
{
    const struct zn_gpu *first = zn_plan_visible_gpu(plan, 0);

    /* Every task sees all of the step's GPUs, in the plan's order: hiding GPUs per task breaks
     * CUDA IPC and NCCL peer-to-peer. CUDA must number them in PCI order for that to hold. */
    if (first->vendor == ZN_GPU_NVIDIA) {
        if (add_joined(env, "CUDA_VISIBLE_DEVICES", plan, 0, (unsigned)plan->ngpus, visible_token) <
                0 ||
            zn_env_add(env, false, "CUDA_DEVICE_ORDER", "PCI_BUS_ID") < 0)
            return -1;
    } else if (add_joined(env, "ROCR_VISIBLE_DEVICES", plan, 0, (unsigned)plan->ngpus,
                          visible_token) < 0) {
        return -1;
    }
    if (zn_env_add(env, false, ZN_ENV_GPU, "%d", t->gpu) < 0 ||
        add_joined(env, ZN_ENV_GPUS, plan, t->first_gpu_owned, t->ngpus_owned, ordinal) < 0 ||
        add_joined(env, ZN_ENV_GPU_PCI, plan, t->first_gpu_owned, t->ngpus_owned, gpu_busid) < 0)
        return -1;
    return 0;
}

static int add_hugepages(struct zn_env *env, const struct zn_plan *plan)
{
    char size[32], *list = NULL;
    size_t len = 0;
    FILE *f;
    int rc;

    zn_format_size(plan->hugepage_size, size, sizeof(size));
    f = open_memstream(&list, &len);
    if (!f)
        return -1;
    for (size_t i = 0; i < plan->nhugepages; i++)
        fprintf(f, "%s%u:%llu", i ? "," : "", plan->hugepages[i].numa_os,
                (unsigned long long)plan->hugepages[i].pages);
    if (fclose(f) != 0) {
        free(list);
        return -1;
    }
    rc = zn_env_add(env, false, ZN_ENV_HUGEPAGE_SIZE, "%s", size) < 0 ||
                 zn_env_add(env, false, ZN_ENV_HUGEPAGES_RESERVED, "%s", list) < 0
             ? -1
             : 0;
    free(list);
    return rc;
}

static int build(const struct zn_plan *plan, const struct zn_task_plan *t, struct zn_env *env)
{
    bool bound = plan->bind != ZN_BIND_NONE;

    if (zn_env_add(env, false, ZN_ENV_BIND_MODE, "%s", zn_bind_name(plan->bind)) < 0 ||
        zn_env_add(env, false, ZN_ENV_MEM_MODE, "%s", zn_mem_name(plan->mem)) < 0)
        return -1;
    if (bound) {
        if (add_bitmap(env, ZN_ENV_CPUS, t->cpus) < 0 ||
            zn_env_add(env, true, "OMP_NUM_THREADS", "%u", t->ncores) < 0 ||
            zn_env_add(env, true, "OMP_PLACES", "%s", plan->cpus_split ? "threads" : "cores") < 0 ||
            zn_env_add(env, true, "OMP_PROC_BIND", "close") < 0)
            return -1;
        /* No NCCL_IGNORE_CPU_AFFINITY: by default NCCL (ncclTopoGetCpuAffinity) pins its
         * threads to the task's affinity intersected with the GPU's CPUs, which keeps them
         * inside this binding; set to 1 it takes the GPU's whole CPU set instead and its
         * threads would run on other tasks' cores. */
    }
    if (!hwloc_bitmap_iszero(t->mems) && add_bitmap(env, ZN_ENV_MEMS, t->mems) < 0)
        return -1;
    if (plan->ngpus && t->gpu >= 0 && add_gpus(env, plan, t) < 0)
        return -1;
    if (t->nic >= 0) {
        const struct zn_nic *nic = &plan->topo->nics[t->nic];
        if (zn_env_add(env, false, ZN_ENV_NIC, "%s", nic->name) < 0 ||
            zn_env_add(env, false, ZN_ENV_NIC_KIND, "%s", zn_nic_kind_name(nic->kind)) < 0)
            return -1;
        /* UCX (MPI, and NCCL's UCX plugin) takes verbs devices as name:port. NCCL itself
         * already picks the HCA closest to each GPU, so it gets no hint that could narrow it. */
        if (nic->kind == ZN_NIC_IB &&
            zn_env_add(env, true, "UCX_NET_DEVICES", "%s:%u", nic->name, nic->port) < 0)
            return -1;
    }
    if (plan->nhugepages && add_hugepages(env, plan) < 0)
        return -1;
    return 0;
}

int zn_env_for_task(const struct zn_plan *plan, unsigned task, struct zn_env *env,
                    struct zn_error *err)
{
    memset(env, 0, sizeof(*env));
    if (task >= plan->ntasks)
        return zn_fail(err, "task %u is not in the plan (it has %u tasks)", task, plan->ntasks);
    if (build(plan, &plan->tasks[task], env) < 0) {
        zn_env_clear(env);
        return zn_fail(err, "out of memory");
    }
    return 0;
}
