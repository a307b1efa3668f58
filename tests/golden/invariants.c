/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/golden/invariants.h"

static char why[512];

static const char *fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return why;
}

static bool shares_by_design(const struct zn_plan *plan)
{
    return plan->bind == ZN_BIND_NUMA || plan->bind == ZN_BIND_SOCKET ||
           plan->bind == ZN_BIND_NONE || plan->cores_shared;
}

static const char *check_cpus(const struct zn_plan *plan, hwloc_const_bitmap_t allowed)
{
    const struct zn_topology *topo = plan->topo;

    for (unsigned i = 0; i < plan->ntasks; i++) {
        hwloc_const_bitmap_t cpus = plan->tasks[i].cpus;
        if (hwloc_bitmap_iszero(cpus))
            return fail("task %u has no CPU", i);
        if (!hwloc_bitmap_isincluded(cpus, allowed))
            return fail("task %u has CPUs outside the allowed set", i);
        if (shares_by_design(plan))
            continue;
        for (unsigned j = 0; j < i; j++) {
            if (hwloc_bitmap_intersects(cpus, plan->tasks[j].cpus))
                return fail("tasks %u and %u share a CPU without need", j, i);
            if (plan->cpus_split)
                continue;
            for (size_t c = 0; c < topo->ncores; c++)
                if (hwloc_bitmap_intersects(topo->cores[c].pus, cpus) &&
                    hwloc_bitmap_intersects(topo->cores[c].pus, plan->tasks[j].cpus))
                    return fail("tasks %u and %u share core %zu without need", j, i, c);
        }
    }
    return NULL;
}

static unsigned allowed_units(const struct zn_plan *plan, hwloc_const_bitmap_t allowed,
                              hwloc_const_bitmap_t within)
{
    const struct zn_topology *topo = plan->topo;
    unsigned n = 0;

    for (size_t c = 0; c < topo->ncores; c++) {
        hwloc_bitmap_t pus = hwloc_bitmap_alloc();
        hwloc_bitmap_and(pus, topo->cores[c].pus, allowed);
        if (within)
            hwloc_bitmap_and(pus, pus, within);
        if (!hwloc_bitmap_iszero(pus))
            n += plan->cpus_split ? (unsigned)hwloc_bitmap_weight(pus) : 1;
        hwloc_bitmap_free(pus);
    }
    return n;
}

/* More tasks than CPUs: every allowed CPU runs floor(n/P) or ceil(n/P) tasks. */
static const char *check_shared_load(const struct zn_plan *plan, hwloc_const_bitmap_t allowed)
{
    unsigned cpus = (unsigned)hwloc_bitmap_weight(allowed), n = plan->ntasks;
    unsigned low = n / cpus, high = (n + cpus - 1) / cpus;
    const char *bad = NULL;
    int cpu;

    if (n <= cpus)
        return fail("CPUs are shared although there are %u tasks for %u CPUs", n, cpus);
    hwloc_bitmap_foreach_begin(cpu, allowed)
    {
        unsigned load = 0;
        for (unsigned i = 0; i < n; i++)
            load += hwloc_bitmap_isset(plan->tasks[i].cpus, (unsigned)cpu) ? 1 : 0;
        if (!bad && (load < low || load > high))
            bad = fail("CPU %d runs %u tasks; %u tasks on %u CPUs means %u or %u each", cpu, load,
                       n, cpus, low, high);
    }
    hwloc_bitmap_foreach_end();
    return bad;
}

static const char *check_share(const struct zn_plan *plan, hwloc_const_bitmap_t allowed)
{
    if (plan->bind != ZN_BIND_GPU && plan->bind != ZN_BIND_CORE)
        return NULL;
    if (plan->cores_shared)
        return check_shared_load(plan, allowed);
    if (plan->ntasks > (unsigned)hwloc_bitmap_weight(allowed))
        return fail("%u tasks on %d CPUs, but the plan does not say CPUs are shared", plan->ntasks,
                    hwloc_bitmap_weight(allowed));
    unsigned units = allowed_units(plan, allowed, NULL), fair = units / plan->ntasks;
    unsigned least = UINT_MAX, most = 0, used = 0;
    for (unsigned i = 0; i < plan->ntasks; i++) {
        least = plan->tasks[i].ncores < least ? plan->tasks[i].ncores : least;
        most = plan->tasks[i].ncores > most ? plan->tasks[i].ncores : most;
        used += plan->tasks[i].ncores;
    }
    if (most > least + 1)
        return fail("tasks got between %u and %u cores; counts may differ by one at most", least,
                    most);
    if (used + plan->units_idle != units)
        return fail("tasks use %u units and the plan says %u stay idle, but %u are allowed", used,
                    plan->units_idle, units);
    for (unsigned i = 0; i < plan->ntasks; i++) {
        if (plan->cores_per_task && plan->tasks[i].ncores != plan->cores_per_task)
            return fail("task %u got %u cores, not the %u per task asked for", i,
                        plan->tasks[i].ncores, plan->cores_per_task);
        if (!plan->cores_per_task && (plan->tasks[i].ncores < fair || !plan->tasks[i].ncores))
            return fail("task %u got %u cores, less than an equal share (%u)", i,
                        plan->tasks[i].ncores, fair);
    }
    return NULL;
}

/* How a task spreads over domains (NUMA nodes, or L3 caches): no two tasks may both span the
 * same two domains. Two tasks sharing a GPU's two nodes half and half, where one node each
 * would do, break it; a run of tasks laid out node after node never does. */
static const char *check_spread(const struct zn_plan *plan, bool caches)
{
    const struct zn_topology *topo = plan->topo;
    size_t ndom = topo->nnuma;
    unsigned *spanner = NULL;
    int *node_of = NULL;
    const char *bad = NULL;

    if ((plan->bind != ZN_BIND_GPU && plan->bind != ZN_BIND_CORE) || plan->cores_shared)
        return NULL;
    for (size_t c = 0; caches && c < topo->ncores; c++)
        if (topo->cores[c].cache >= 0 && (size_t)topo->cores[c].cache >= ndom)
            ndom = (size_t)topo->cores[c].cache + 1;
    spanner = calloc(ndom * ndom, sizeof(*spanner));
    node_of = calloc(ndom, sizeof(*node_of));
    if (!spanner || !node_of) {
        free(spanner);
        free(node_of);
        return fail("out of memory");
    }
    for (size_t d = 0; d < ndom; d++)
        node_of[d] = -2; /* no core seen */
    for (size_t c = 0; caches && c < topo->ncores; c++) {
        int dom = topo->cores[c].cache;
        if (dom < 0)
            continue;
        node_of[dom] =
            node_of[dom] == -2 || node_of[dom] == topo->cores[c].numa ? topo->cores[c].numa : -1;
    }
    for (unsigned i = 0; i < plan->ntasks && !bad; i++) {
        bool *in = calloc(ndom, sizeof(*in));
        for (size_t c = 0; in && c < topo->ncores; c++) {
            int dom = caches ? topo->cores[c].cache : topo->cores[c].numa;
            if (dom >= 0 && (size_t)dom < ndom &&
                hwloc_bitmap_intersects(topo->cores[c].pus, plan->tasks[i].cpus))
                in[dom] = true;
        }
        for (size_t a = 0; in && a < ndom && !bad; a++)
            for (size_t b = a + 1; in[a] && b < ndom && !bad; b++) {
                /* L3 caches count within one NUMA node: where a cache spans nodes, the
                 * node rule decides. */
                if (!in[b] || (caches && (node_of[a] < 0 || node_of[a] != node_of[b])))
                    continue;
                if (spanner[a * ndom + b])
                    bad = fail("tasks %u and %u both span %s %zu and %zu; one of them could lie "
                               "in fewer",
                               spanner[a * ndom + b] - 1, i, caches ? "L3 caches" : "NUMA nodes", a,
                               b);
                spanner[a * ndom + b] = i + 1;
            }
        free(in);
    }
    free(spanner);
    free(node_of);
    return bad;
}

/* The one NUMA node index all of task i's GPUs are local to, or -1. */
static int gpu_home(const struct zn_plan *plan, unsigned i)
{
    const struct zn_task_plan *t = &plan->tasks[i];
    int home = -1;

    for (unsigned v = t->first_gpu_owned; v < t->first_gpu_owned + t->ngpus_owned; v++) {
        const struct zn_gpu *gpu = zn_plan_visible_gpu(plan, v);
        if (hwloc_bitmap_weight(gpu->numa_set) != 1)
            return -1;
        int d = hwloc_bitmap_first(gpu->numa_set);
        if (home >= 0 && d != home)
            return -1;
        home = d;
    }
    return home;
}

static const char *check_gpu_locality(const struct zn_plan *plan, hwloc_const_bitmap_t allowed)
{
    const struct zn_topology *topo = plan->topo;

    if (plan->bind != ZN_BIND_GPU || plan->cores_shared)
        return NULL;
    for (size_t d = 0; d < topo->nnuma; d++) {
        unsigned wanted = 0;
        for (unsigned i = 0; i < plan->ntasks; i++)
            if (gpu_home(plan, i) == (int)d)
                wanted += plan->tasks[i].ncores;
        if (!wanted || allowed_units(plan, allowed, topo->numa[d].cpuset) < wanted)
            continue;
        for (unsigned i = 0; i < plan->ntasks; i++)
            if (gpu_home(plan, i) == (int)d &&
                !hwloc_bitmap_isincluded(plan->tasks[i].cpus, topo->numa[d].cpuset))
                return fail("task %u drives a GPU on NUMA node %u, which has room for it, but "
                            "runs elsewhere",
                            i, topo->numa[d].os_index);
    }
    return NULL;
}

static const char *check_gpus(const struct zn_plan *plan)
{
    unsigned seen = 0;
    bool *used;

    if (!plan->ngpus) {
        for (unsigned i = 0; i < plan->ntasks; i++)
            if (plan->tasks[i].gpu != -1)
                return fail("task %u drives a GPU in a step without GPUs", i);
        return NULL;
    }
    used = calloc(plan->ngpus, sizeof(*used));
    for (size_t k = 0; k < plan->ngpus; k++) {
        if (plan->gpu_order[k] >= plan->ngpus || used[plan->gpu_order[k]]) {
            free(used);
            return fail("the GPU order is not a permutation of the step's GPUs");
        }
        used[plan->gpu_order[k]] = true;
    }
    for (size_t k = 0; k < plan->ngpus; k++)
        used[k] = false;
    for (unsigned i = 0; i < plan->ntasks; i++) {
        const struct zn_task_plan *t = &plan->tasks[i];
        if (t->gpu != (int)t->first_gpu_owned || t->ngpus_owned == 0 ||
            t->first_gpu_owned + t->ngpus_owned > plan->ngpus) {
            free(used);
            return fail("task %u has an invalid GPU assignment", i);
        }
        for (unsigned v = t->first_gpu_owned; v < t->first_gpu_owned + t->ngpus_owned; v++)
            if (!used[v]) {
                used[v] = true;
                seen++;
            }
    }
    free(used);
    if (seen != plan->ngpus)
        return fail("only %u of the step's %zu GPUs are used by a task", seen, plan->ngpus);
    return NULL;
}

static const char *check_memory(const struct zn_plan *plan)
{
    const struct zn_topology *topo = plan->topo;

    for (unsigned i = 0; i < plan->ntasks; i++) {
        hwloc_bitmap_t expect = hwloc_bitmap_alloc();
        const char *bad = NULL;
        for (size_t d = 0; d < topo->nnuma; d++)
            if (hwloc_bitmap_intersects(topo->numa[d].cpuset, plan->tasks[i].cpus))
                hwloc_bitmap_set(expect, topo->numa[d].os_index);
        bool hbm = plan->mem == ZN_MEM_HBM || plan->mem == ZN_MEM_PREFER_HBM;
        for (size_t d = 0; d < topo->nnuma; d++)
            if ((hbm ? !zn_numa_is_hbm(&topo->numa[d]) : !topo->numa[d].has_cpus) &&
                hwloc_bitmap_isset(plan->tasks[i].mems, topo->numa[d].os_index))
                bad =
                    fail(hbm ? "task %u asked for HBM but allocates from node %u, which is not HBM"
                             : "task %u allocates from memory-only node %u",
                         i, topo->numa[d].os_index);
        if (!bad && hbm && hwloc_bitmap_iszero(plan->tasks[i].mems))
            bad = fail("task %u asked for HBM but has no memory node", i);
        if (!bad && (plan->mem == ZN_MEM_LOCAL || plan->mem == ZN_MEM_BIND) &&
            !hwloc_bitmap_isequal(expect, plan->tasks[i].mems))
            bad = fail("task %u's memory nodes are not the nodes of its CPUs", i);
        if (!bad && plan->mem == ZN_MEM_NONE && !hwloc_bitmap_iszero(plan->tasks[i].mems))
            bad = fail("task %u has memory nodes with mem=none", i);
        hwloc_bitmap_free(expect);
        if (bad)
            return bad;
    }
    return NULL;
}

const char *check_plan_invariants(const struct zn_plan *plan, hwloc_const_bitmap_t allowed)
{
    const char *bad;

    if (!allowed)
        allowed = plan->topo->all_pus;
    if ((bad = check_cpus(plan, allowed)) || (bad = check_share(plan, allowed)) ||
        (bad = check_gpu_locality(plan, allowed)) || (bad = check_spread(plan, false)) ||
        (bad = check_spread(plan, true)) || (bad = check_gpus(plan)) || (bad = check_memory(plan)))
        return bad;
    return NULL;
}
