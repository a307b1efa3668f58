/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The placement planner. Where task i's CPUs come from, in order:
 *   1. GPUs: the step's GPUs are ordered by locality (NUMA node, then PCI bus id); task i drives
 *      visible GPU i (blocks of tasks share a GPU when there are more tasks than GPUs; a task owns
 *      a block of GPUs when there are fewer). The task's "home" is its GPUs' NUMA node(s). A
 *      CPU-only task's home is the NUMA node where its even share of the allowed cores starts.
 *   2. Units: whole allowed cores when there are enough for one per task, else single CPUs
 *      (hyperthreads), else CPUs shared round-robin.
 *   3. Counts: every task is owed the same number of units (an equal share, or
 *      --cores-per-task). It takes them from its home node first (a contested node is split
 *      evenly), then borrows from the nearest nodes: same package first. Units nobody was owed
 *      go to the tasks whose home they are in, unless cores per task was fixed. CPU-only tasks
 *      without a fixed count simply get contiguous blocks of the allowed cores.
 *   4. Units are handed out as contiguous runs per node, in task order.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/parse.h"
#include "runtime/plan.h"

#define MAX_TASKS 4096

struct unit {
    hwloc_bitmap_t pus; /* owned */
    int numa;           /* index into topo->numa */
};

struct planner {
    const struct zn_request *req;
    const struct zn_topology *topo;
    struct zn_plan *plan;
    hwloc_bitmap_t allowed;
    hwloc_bitmap_t *home; /* per task: indices into topo->numa */
    size_t nunits;
    struct unit *units;
    unsigned *take; /* ntasks x nnuma: units task i takes from node d */
    struct zn_error *err;
};

/* ------------------------------------------------------------------ helpers */

static unsigned *take_of(struct planner *p, unsigned task, size_t numa)
{
    return &p->take[(size_t)task * p->topo->nnuma + numa];
}

/* 0: the node is home; 1: it shares a package with home; 2: anywhere else. */
static unsigned distance_to_home(const struct planner *p, unsigned task, int numa)
{
    const struct zn_topology *topo = p->topo;
    unsigned best = 2;
    int h;

    hwloc_bitmap_foreach_begin(h, p->home[task])
    {
        if (h == numa)
            return 0;
        if (topo->numa[h].package == topo->numa[numa].package)
            best = 1;
    }
    hwloc_bitmap_foreach_end();
    return best;
}

static int validate(struct planner *p)
{
    const struct zn_request *req = p->req;
    const struct zn_topology *topo = p->topo;
    hwloc_bitmap_t foreign = NULL, absent = NULL;
    char *list = NULL, *usable = NULL, *complete = NULL;
    int rc = -1;

    if (req->ntasks == 0)
        return zn_fail(p->err, "the step has no task on this node; nothing to place");
    if (req->ntasks > MAX_TASKS)
        return zn_fail(p->err, "%u tasks on one node is more than zenith places (%d)", req->ntasks,
                       MAX_TASKS);
    if (req->allowed) {
        if (hwloc_bitmap_iszero(req->allowed))
            return zn_fail(p->err, "the step's CPU set is empty; check the job's allocation "
                                   "(--cpus-per-task, --ntasks-per-node)");
        foreign = hwloc_bitmap_alloc();
        absent = hwloc_bitmap_alloc();
        if (!foreign || !absent) {
            zn_fail(p->err, "out of memory");
            goto out;
        }
        hwloc_bitmap_andnot(foreign, req->allowed, topo->all_pus);
        /* A CPU the topology does not have at all points at the wrong machine or file; one it
         * has but does not allow (a cgroup, the XML's allowed_cpuset, offline) does not, and
         * calling it missing sends the admin after a cache that is right. */
        hwloc_bitmap_andnot(absent, foreign, topo->complete_pus);
        if (!hwloc_bitmap_iszero(absent)) {
            hwloc_bitmap_list_asprintf(&list, absent);
            zn_fail(p->err,
                    "CPUs %s of the step are not in the topology %s; the cached topology "
                    "XML may be from another machine",
                    list ? list : "?", topo->source);
            goto out;
        }
        if (!hwloc_bitmap_iszero(foreign)) {
            hwloc_bitmap_list_asprintf(&list, foreign);
            hwloc_bitmap_list_asprintf(&usable, topo->all_pus);
            hwloc_bitmap_list_asprintf(&complete, topo->complete_pus);
            if (topo->allowed_by_process)
                zn_fail(p->err,
                        "CPUs %s of the step are in the topology %s (CPUs %s) but outside the "
                        "CPUs this process may use, %s, which its cgroup or cpuset sets (in a "
                        "job, the job's allocation); ask for CPUs from %s, or for an "
                        "allocation that has these",
                        list ? list : "?", topo->source, complete ? complete : "?",
                        usable ? usable : "?", usable ? usable : "?");
            else
                zn_fail(p->err,
                        "CPUs %s of the step are in the topology %s (CPUs %s) but outside its "
                        "allowed_cpuset, %s (the CPUs allowed where it was written); ask for "
                        "CPUs from %s, or write the XML where all CPUs are allowed",
                        list ? list : "?", topo->source, complete ? complete : "?",
                        usable ? usable : "?", usable ? usable : "?");
            goto out;
        }
    }
    if (req->policy.bind == ZN_BIND_GPU && (!req->gpus || req->gpus->count == 0)) {
        zn_fail(p->err, "bind=gpu needs GPUs, but the step has none on this node; request GPUs "
                        "(--gres=gpu:N) or use bind=auto");
        goto out;
    }
    rc = 0;
out:
    free(list);
    free(usable);
    free(complete);
    hwloc_bitmap_free(absent);
    hwloc_bitmap_free(foreign);
    return rc;
}

/* ------------------------------------------------------------------ GPUs */

static int gpu_home_key(const struct zn_topology *topo, unsigned gpu)
{
    int first = hwloc_bitmap_first(topo->gpus[gpu].numa_set);
    return first < 0 ? INT_MAX : first;
}

static int order_gpus(struct planner *p)
{
    const struct zn_step_gpus *gpus = p->req->gpus;
    struct zn_plan *plan = p->plan;

    plan->ngpus = gpus ? gpus->count : 0;
    plan->step_gpus = gpus;
    if (!plan->ngpus)
        return 0;
    plan->gpu_order = calloc(plan->ngpus, sizeof(*plan->gpu_order));
    if (!plan->gpu_order)
        return zn_fail(p->err, "out of memory");
    for (size_t k = 0; k < plan->ngpus; k++)
        plan->gpu_order[k] = (unsigned)k;
    /* Insertion sort: a handful of GPUs, and it is stable. */
    for (size_t i = 1; i < plan->ngpus; i++) {
        unsigned pos = plan->gpu_order[i];
        unsigned gi = gpus->index[pos];
        size_t j = i;
        while (j > 0) {
            unsigned gj = gpus->index[plan->gpu_order[j - 1]];
            int ki = gpu_home_key(p->topo, gi), kj = gpu_home_key(p->topo, gj);
            if (kj < ki || (kj == ki && gj <= gi))
                break;
            plan->gpu_order[j] = plan->gpu_order[j - 1];
            j--;
        }
        plan->gpu_order[j] = pos;
    }
    return 0;
}

/* The GPU(s) of each task and its home nodes. */
static void assign_gpus(struct planner *p)
{
    struct zn_plan *plan = p->plan;
    unsigned n = plan->ntasks, g = (unsigned)plan->ngpus;

    for (unsigned i = 0; i < n; i++) {
        struct zn_task_plan *t = &plan->tasks[i];
        if (!g) {
            t->gpu = -1;
            continue;
        }
        if (n >= g) {
            t->first_gpu_owned = (unsigned)((unsigned long)i * g / n);
            t->ngpus_owned = 1;
        } else {
            t->first_gpu_owned = (unsigned)((unsigned long)i * g / n);
            t->ngpus_owned = (unsigned)((unsigned long)(i + 1) * g / n) - t->first_gpu_owned;
        }
        t->gpu = (int)t->first_gpu_owned;
        for (unsigned v = t->first_gpu_owned; v < t->first_gpu_owned + t->ngpus_owned; v++) {
            unsigned gpu = p->req->gpus->index[plan->gpu_order[v]];
            hwloc_bitmap_or(p->home[i], p->home[i], p->topo->gpus[gpu].numa_set);
        }
    }
}

/* ------------------------------------------------------------------ units */

static int add_unit(struct planner *p, hwloc_const_bitmap_t pus, int numa)
{
    struct unit *u = &p->units[p->nunits];
    u->pus = hwloc_bitmap_dup(pus);
    if (!u->pus)
        return zn_fail(p->err, "out of memory");
    u->numa = numa;
    p->nunits++;
    return 0;
}

/* Whole allowed cores, or single allowed CPUs when `split`; in topology order. */
static int build_units(struct planner *p, bool split)
{
    const struct zn_topology *topo = p->topo;
    hwloc_bitmap_t pus = hwloc_bitmap_alloc();
    int rc = -1;

    p->units = calloc(topo->npus ? topo->npus : 1, sizeof(*p->units));
    if (!pus || !p->units) {
        zn_fail(p->err, "out of memory");
        goto out;
    }
    for (size_t c = 0; c < topo->ncores; c++) {
        int pu;
        hwloc_bitmap_and(pus, topo->cores[c].pus, p->allowed);
        if (hwloc_bitmap_iszero(pus))
            continue;
        if (!split) {
            if (add_unit(p, pus, topo->cores[c].numa) < 0)
                goto out;
            continue;
        }
        hwloc_bitmap_foreach_begin(pu, pus)
        {
            hwloc_bitmap_t one = hwloc_bitmap_alloc();
            int r = one ? 0 : -1;
            if (one) {
                hwloc_bitmap_only(one, (unsigned)pu);
                r = add_unit(p, one, topo->cores[c].numa);
                hwloc_bitmap_free(one);
            }
            if (r < 0) {
                zn_fail(p->err, "out of memory");
                goto out;
            }
        }
        hwloc_bitmap_foreach_end();
    }
    rc = 0;
out:
    hwloc_bitmap_free(pus);
    return rc;
}

static size_t count_allowed_cores(const struct planner *p)
{
    size_t n = 0;
    for (size_t c = 0; c < p->topo->ncores; c++)
        if (hwloc_bitmap_intersects(p->topo->cores[c].pus, p->allowed))
            n++;
    return n;
}

/* CPU-only tasks: task i's home is the node of the first unit of its even share, which spreads
 * tasks over NUMA nodes in proportion to the allowed cores each node has. */
static void assign_cpu_homes(struct planner *p)
{
    unsigned n = p->plan->ntasks;
    for (unsigned i = 0; i < n; i++) {
        if (!hwloc_bitmap_iszero(p->home[i]))
            continue;
        size_t first = (size_t)((unsigned long long)i * p->nunits / n);
        hwloc_bitmap_only(p->home[i], (unsigned)p->units[first].numa);
    }
}

/* Give each claimant of node `numa` at most `need[i]` units from `*avail`, evenly. */
static void share_node(struct planner *p, int numa, size_t *avail, unsigned *need,
                       const unsigned *claimants, size_t nclaim)
{
    while (*avail > 0) {
        size_t hungry = 0;
        for (size_t k = 0; k < nclaim; k++)
            if (need[claimants[k]] > 0)
                hungry++;
        if (!hungry)
            return;
        size_t share = *avail / hungry;
        for (size_t k = 0; k<nclaim && * avail> 0; k++) {
            unsigned i = claimants[k];
            size_t give = share ? share : 1; /* fewer units than claimants: first come */
            if (!need[i])
                continue;
            if (give > need[i])
                give = need[i];
            if (give > *avail)
                give = *avail;
            *take_of(p, i, (size_t)numa) += (unsigned)give;
            need[i] -= (unsigned)give;
            *avail -= give;
        }
    }
}

/* |a - b| between node indices: the order in which a task borrows from nodes at one level. */
static unsigned index_gap(int a, int b)
{
    return (unsigned)(a > b ? a - b : b - a);
}

/* Tasks with a home (their GPUs' nodes, or where a CPU-only task's even share starts): home nodes
 * are split evenly among the tasks whose home they are; a task still short borrows, in task order,
 * whole runs from the nearest nodes (same package first, then by node index) so that a borrower
 * spans as few nodes as possible. */
static int distribute_by_home(struct planner *p, unsigned quota, bool fill_leftovers)
{
    const struct zn_topology *topo = p->topo;
    unsigned n = p->plan->ntasks;
    size_t *avail = calloc(topo->nnuma, sizeof(*avail));
    unsigned *need = calloc(n, sizeof(*need));
    unsigned *claimants = calloc(n, sizeof(*claimants));
    int rc = -1;

    if (!avail || !need || !claimants) {
        zn_fail(p->err, "out of memory");
        goto out;
    }
    for (size_t u = 0; u < p->nunits; u++)
        avail[p->units[u].numa]++;
    for (unsigned i = 0; i < n; i++)
        need[i] = quota;
    for (size_t d = 0; d < topo->nnuma; d++) {
        size_t nclaim = 0;
        for (unsigned i = 0; i < n; i++)
            if (distance_to_home(p, i, (int)d) == 0)
                claimants[nclaim++] = i;
        share_node(p, (int)d, &avail[d], need, claimants, nclaim);
    }
    for (unsigned i = 0; i < n; i++) {
        int home = hwloc_bitmap_first(p->home[i]);
        for (unsigned level = 1; level <= 2 && need[i]; level++) {
            for (unsigned gap = 1; gap < topo->nnuma && need[i]; gap++) {
                for (size_t d = 0; d < topo->nnuma && need[i]; d++) {
                    if (index_gap((int)d, home < 0 ? 0 : home) != gap ||
                        distance_to_home(p, i, (int)d) != level)
                        continue;
                    size_t give = avail[d] < need[i] ? avail[d] : need[i];
                    *take_of(p, i, d) += (unsigned)give;
                    avail[d] -= give;
                    need[i] -= (unsigned)give;
                }
            }
        }
    }
    if (fill_leftovers) {
        for (size_t d = 0; d < topo->nnuma; d++) {
            size_t nclaim = 0;
            for (unsigned i = 0; i < n; i++) {
                if (distance_to_home(p, i, (int)d) == 0) {
                    need[i] = UINT_MAX;
                    claimants[nclaim++] = i;
                }
            }
            share_node(p, (int)d, &avail[d], need, claimants, nclaim);
        }
    }
    rc = 0;
out:
    free(avail);
    free(need);
    free(claimants);
    return rc;
}

/* CPU-only tasks with no fixed core count: contiguous blocks of the allowed units in topology
 * order (task i gets units i*U/n up to (i+1)*U/n), which spreads tasks over NUMA nodes and
 * packages in proportion to their cores and uses every allowed core. */
static void distribute_blocks(struct planner *p)
{
    unsigned n = p->plan->ntasks;

    for (unsigned i = 0; i < n; i++) {
        size_t start = (size_t)((unsigned long long)i * p->nunits / n);
        size_t end = (size_t)((unsigned long long)(i + 1) * p->nunits / n);
        for (size_t u = start; u < end; u++)
            (*take_of(p, i, (size_t)p->units[u].numa))++;
    }
}

/* Hand out each node's units as contiguous runs, tasks in order. */
static void assign_units(struct planner *p)
{
    const struct zn_topology *topo = p->topo;
    struct zn_plan *plan = p->plan;

    for (size_t d = 0; d < topo->nnuma; d++) {
        size_t u = 0;
        for (unsigned i = 0; i < plan->ntasks; i++) {
            unsigned left = *take_of(p, i, d);
            for (; left > 0 && u < p->nunits; u++) {
                if (p->units[u].numa != (int)d)
                    continue;
                hwloc_bitmap_or(plan->tasks[i].cpus, plan->tasks[i].cpus, p->units[u].pus);
                plan->tasks[i].ncores++;
                left--;
            }
        }
    }
}

/* More tasks than CPUs: one CPU each, round-robin over the CPUs of the task's home node. */
static void assign_shared(struct planner *p)
{
    struct zn_plan *plan = p->plan;
    size_t *seen = calloc(p->topo->nnuma, sizeof(*seen));

    for (unsigned i = 0; i < plan->ntasks; i++) {
        int home = hwloc_bitmap_first(p->home[i]);
        size_t in_home = 0, pick = i % p->nunits;
        for (size_t u = 0; u < p->nunits; u++)
            if (p->units[u].numa == home)
                in_home++;
        if (seen && home >= 0 && in_home) {
            size_t k = seen[home]++ % in_home;
            for (size_t u = 0; u < p->nunits; u++) {
                if (p->units[u].numa == home && k-- == 0) {
                    pick = u;
                    break;
                }
            }
        }
        hwloc_bitmap_copy(plan->tasks[i].cpus, p->units[pick].pus);
        plan->tasks[i].ncores = 1;
    }
    free(seen);
}

static int plan_units(struct planner *p)
{
    struct zn_plan *plan = p->plan;
    unsigned n = plan->ntasks, per_task = p->req->policy.cores_per_task;
    size_t ncores = count_allowed_cores(p);
    size_t npus = (size_t)hwloc_bitmap_weight(p->allowed);
    unsigned quota;

    if (per_task) {
        if ((size_t)n * per_task > ncores)
            return zn_fail(p->err,
                           "%u tasks x %u cores per task need %zu cores, but the step "
                           "has %zu allowed cores on this node; ask for fewer tasks or cores per "
                           "task",
                           n, per_task, (size_t)n * per_task, ncores);
        quota = per_task;
    } else if (n <= ncores) {
        quota = (unsigned)(ncores / n);
    } else if (p->req->policy.bind == ZN_BIND_CORE) {
        /* Only an explicit bind=core refuses; auto lets tasks split cores or share CPUs. */
        return zn_fail(p->err,
                       "bind=core gives every task a core of its own, but %u tasks "
                       "share %zu allowed cores on this node; use bind=auto to let them share "
                       "or run fewer tasks per node",
                       n, ncores);
    } else {
        plan->cpus_split = true;
        plan->cores_shared = n > npus;
        quota = plan->cores_shared ? 1 : (unsigned)(npus / n);
    }
    if (build_units(p, plan->cpus_split) < 0)
        return -1;
    assign_cpu_homes(p);
    if (plan->cores_shared) {
        assign_shared(p);
        return 0;
    }
    p->take = calloc((size_t)n * p->topo->nnuma, sizeof(*p->take));
    if (!p->take)
        return zn_fail(p->err, "out of memory");
    if (!plan->ngpus && !per_task)
        distribute_blocks(p);
    else if (distribute_by_home(p, quota, per_task == 0) < 0)
        return -1;
    assign_units(p);
    return 0;
}

/* ------------------------------------------------------------------ numa / socket / none */

/* Allowed CPUs of the given NUMA nodes (by index), or of their packages when by_package. */
static void allowed_cpus_of(const struct planner *p, hwloc_const_bitmap_t nodes, bool by_package,
                            hwloc_bitmap_t out)
{
    const struct zn_topology *topo = p->topo;
    hwloc_bitmap_zero(out);
    for (size_t d = 0; d < topo->nnuma; d++) {
        bool in = hwloc_bitmap_isset(nodes, (unsigned)d);
        if (!in && by_package) {
            int h;
            hwloc_bitmap_foreach_begin(h, nodes)
            {
                if (topo->numa[h].package == topo->numa[d].package)
                    in = true;
            }
            hwloc_bitmap_foreach_end();
        }
        if (in)
            hwloc_bitmap_or(out, out, topo->numa[d].cpuset);
    }
    hwloc_bitmap_and(out, out, p->allowed);
}

static int plan_domains(struct planner *p, bool by_package)
{
    struct zn_plan *plan = p->plan;
    hwloc_bitmap_t nearest = hwloc_bitmap_alloc();

    if (!nearest)
        return zn_fail(p->err, "out of memory");
    if (build_units(p, false) < 0) {
        hwloc_bitmap_free(nearest);
        return -1;
    }
    assign_cpu_homes(p);
    for (unsigned i = 0; i < plan->ntasks; i++) {
        struct zn_task_plan *t = &plan->tasks[i];
        allowed_cpus_of(p, p->home[i], by_package, t->cpus);
        /* Home has no allowed CPU (a GPU on the other socket of a half-node allocation): the
         * nearest nodes that do. */
        for (unsigned level = 1; level <= 2 && hwloc_bitmap_iszero(t->cpus); level++) {
            hwloc_bitmap_zero(nearest);
            for (size_t d = 0; d < p->topo->nnuma; d++)
                if (distance_to_home(p, i, (int)d) == level)
                    hwloc_bitmap_set(nearest, (unsigned)d);
            allowed_cpus_of(p, nearest, by_package, t->cpus);
        }
        t->ncores = 0;
        for (size_t c = 0; c < p->topo->ncores; c++)
            if (hwloc_bitmap_intersects(p->topo->cores[c].pus, t->cpus))
                t->ncores++;
    }
    hwloc_bitmap_free(nearest);
    return 0;
}

/* ------------------------------------------------------------------ memory, NICs, huge pages */

static void plan_memory(struct planner *p)
{
    const struct zn_topology *topo = p->topo;
    struct zn_plan *plan = p->plan;

    for (unsigned i = 0; i < plan->ntasks; i++) {
        struct zn_task_plan *t = &plan->tasks[i];
        hwloc_const_bitmap_t span = plan->mem == ZN_MEM_INTERLEAVE ? p->allowed : t->cpus;
        hwloc_bitmap_zero(t->mems);
        if (plan->mem == ZN_MEM_NONE)
            continue;
        for (size_t d = 0; d < topo->nnuma; d++)
            if (hwloc_bitmap_intersects(topo->numa[d].cpuset, span))
                hwloc_bitmap_set(t->mems, topo->numa[d].os_index);
    }
}

/* How far a NIC is from a task: PCI hops to the task's GPU when it drives one; else 0 when the
 * NIC is on a NUMA node of the task's CPUs, 1 in the same package, 2 anywhere else. */
static unsigned nic_distance(const struct planner *p, const struct zn_task_plan *t,
                             const struct zn_nic *nic)
{
    const struct zn_topology *topo = p->topo;
    unsigned best = 2;
    int d;

    if (t->gpu >= 0) {
        unsigned gpu = p->req->gpus->index[p->plan->gpu_order[t->gpu]];
        return zn_pci_distance(topo->gpus[gpu].pcidev, nic->pcidev);
    }
    hwloc_bitmap_foreach_begin(d, nic->numa_set)
    {
        if (hwloc_bitmap_intersects(topo->numa[d].cpuset, t->cpus)) {
            best = 0;
        } else {
            for (size_t c = 0; c < topo->ncores && best > 1; c++)
                if (topo->cores[c].package == topo->numa[d].package &&
                    hwloc_bitmap_intersects(topo->cores[c].pus, t->cpus))
                    best = 1;
        }
    }
    hwloc_bitmap_foreach_end();
    return best;
}

/* The closest NIC, RDMA before Ethernet; tasks tied between several equally close NICs take
 * them in turn so that, e.g., two GPUs of a socket with two HCAs use one each. */
static int plan_nics(struct planner *p)
{
    const struct zn_topology *topo = p->topo;
    struct zn_plan *plan = p->plan;
    size_t n = topo->nnics ? topo->nnics : 1;
    unsigned *turns = calloc(n, sizeof(*turns)), *dist = calloc(n, sizeof(*dist));
    bool any_rdma = false;

    if (!turns || !dist) {
        free(turns);
        free(dist);
        return zn_fail(p->err, "out of memory");
    }
    for (size_t k = 0; k < topo->nnics; k++)
        any_rdma |= zn_nic_is_rdma(&topo->nics[k]);
    for (unsigned i = 0; i < plan->ntasks; i++) {
        unsigned best = UINT_MAX;
        size_t first = 0, ties = 0;

        for (size_t k = 0; k < topo->nnics; k++) {
            dist[k] = UINT_MAX;
            if (any_rdma && !zn_nic_is_rdma(&topo->nics[k]))
                continue;
            dist[k] = nic_distance(p, &plan->tasks[i], &topo->nics[k]);
            if (dist[k] < best) {
                best = dist[k];
                first = k;
                ties = 0;
            }
            ties += dist[k] == best;
        }
        if (!ties)
            continue;
        /* A tie set is named by its first member; its members are handed out in turn. */
        size_t pick = turns[first]++ % ties;
        for (size_t k = first; k < topo->nnics; k++) {
            if (dist[k] == best && pick-- == 0) {
                plan->tasks[i].nic = (int)k;
                break;
            }
        }
    }
    free(turns);
    free(dist);
    return 0;
}

/* The requested huge page size, or the smallest the node has when none was requested. */
static int choose_page_size(struct planner *p, uint64_t *size)
{
    const struct zn_topology *topo = p->topo;
    uint64_t requested = p->req->policy.hugepage_size, smallest = 0;
    char supported[128] = "", buf[32];
    bool found = false;

    for (size_t d = 0; d < topo->nnuma; d++) {
        for (size_t k = 0; k < topo->numa[d].npools; k++) {
            uint64_t s = topo->numa[d].pools[k].size;
            found |= s == requested;
            if (!smallest || s < smallest)
                smallest = s;
            zn_format_size(s, buf, sizeof(buf));
            size_t used = strlen(supported);
            if (!strstr(supported, buf) && used + strlen(buf) + 3 < sizeof(supported))
                snprintf(supported + used, sizeof(supported) - used, "%s%s", used ? ", " : "", buf);
        }
    }
    if (!smallest)
        return zn_fail(p->err,
                       "huge pages were requested, but the topology %s reports no huge "
                       "page size on this node",
                       topo->source);
    if (requested && !found) {
        zn_format_size(requested, buf, sizeof(buf));
        return zn_fail(p->err, "huge page size %s is not available on this node (it has %s)", buf,
                       supported);
    }
    *size = requested ? requested : smallest;
    return 0;
}

/* The NUMA node (index) a task allocates from first. */
static int first_node_of(const struct zn_topology *topo, const struct zn_task_plan *t)
{
    if (!hwloc_bitmap_iszero(t->mems))
        return zn_topology_numa_by_os(topo, (unsigned)hwloc_bitmap_first(t->mems));
    for (size_t c = 0; c < topo->ncores; c++)
        if (hwloc_bitmap_intersects(topo->cores[c].pus, t->cpus))
            return topo->cores[c].numa;
    return 0;
}

/* Pages go where the tasks allocate: each task counts for its first node, and the pages are
 * split in proportion to those counts, leftover pages to the largest remainders. */
static int plan_hugepages(struct planner *p)
{
    const struct zn_topology *topo = p->topo;
    struct zn_plan *plan = p->plan;
    uint64_t bytes = p->req->policy.hugepage_bytes, pages, given = 0;
    unsigned *tasks_on = NULL;
    bool *bumped = NULL;
    int rc = -1;

    if (!bytes)
        return 0;
    if (choose_page_size(p, &plan->hugepage_size) < 0)
        return -1;
    pages = (bytes + plan->hugepage_size - 1) / plan->hugepage_size;
    tasks_on = calloc(topo->nnuma, sizeof(*tasks_on));
    bumped = calloc(topo->nnuma, sizeof(*bumped));
    plan->hugepages = calloc(topo->nnuma, sizeof(*plan->hugepages));
    if (!tasks_on || !bumped || !plan->hugepages) {
        zn_fail(p->err, "out of memory");
        goto out;
    }
    for (unsigned i = 0; i < plan->ntasks; i++)
        tasks_on[first_node_of(topo, &plan->tasks[i])]++;
    uint64_t total_memory = 0;
    for (size_t d = 0; d < topo->nnuma; d++)
        total_memory += topo->numa[d].local_memory;
    if (pages > total_memory / plan->hugepage_size) /* also keeps pages * tasks from overflowing */
        goto too_big;
    for (size_t d = 0; d < topo->nnuma; d++) {
        plan->hugepages[d].numa_os = topo->numa[d].os_index;
        plan->hugepages[d].pages = pages * tasks_on[d] / plan->ntasks;
        given += plan->hugepages[d].pages;
    }
    for (; given < pages; given++) {
        size_t best = topo->nnuma;
        uint64_t best_rem = 0;
        for (size_t d = 0; d < topo->nnuma; d++) {
            uint64_t rem = pages * tasks_on[d] % plan->ntasks;
            if (!bumped[d] && rem > best_rem) {
                best = d;
                best_rem = rem;
            }
        }
        bumped[best] = true; /* remainders add up to exactly the pages left */
        plan->hugepages[best].pages++;
    }
    for (size_t d = 0; d < topo->nnuma; d++) {
        if (plan->hugepages[d].pages > topo->numa[d].local_memory / plan->hugepage_size)
            goto too_big;
        if (plan->hugepages[d].pages)
            plan->hugepages[plan->nhugepages++] = plan->hugepages[d];
    }
    rc = 0;
    goto out;
too_big : {
    char want[32];
    zn_format_size(bytes, want, sizeof(want));
    zn_fail(p->err,
            "huge pages %s per node do not fit in the memory of the NUMA nodes this "
            "step's tasks use; ask for less",
            want);
}
out:
    free(tasks_on);
    free(bumped);
    return rc;
}

/* ------------------------------------------------------------------ entry point */

void zn_plan_destroy(struct zn_plan *plan)
{
    if (!plan)
        return;
    for (unsigned i = 0; plan->tasks && i < plan->ntasks; i++) {
        hwloc_bitmap_free(plan->tasks[i].cpus);
        hwloc_bitmap_free(plan->tasks[i].mems);
    }
    free(plan->tasks);
    free(plan->gpu_order);
    free(plan->hugepages);
    free(plan);
}

static void planner_release(struct planner *p)
{
    for (unsigned i = 0; p->home && i < p->req->ntasks; i++)
        hwloc_bitmap_free(p->home[i]);
    free(p->home);
    for (size_t u = 0; u < p->nunits; u++)
        hwloc_bitmap_free(p->units[u].pus);
    free(p->units);
    free(p->take);
    hwloc_bitmap_free(p->allowed);
}

struct zn_plan *zn_plan_compute(const struct zn_request *req, struct zn_error *err)
{
    struct planner p = {.req = req, .topo = req->topo, .err = err};
    struct zn_plan *plan = NULL;
    int rc = -1;

    if (validate(&p) < 0)
        return NULL;
    plan = calloc(1, sizeof(*plan));
    p.plan = plan;
    p.allowed = hwloc_bitmap_dup(req->allowed ? req->allowed : req->topo->all_pus);
    p.home = calloc(req->ntasks, sizeof(*p.home));
    if (!plan || !p.allowed || !p.home ||
        !(plan->tasks = calloc(req->ntasks, sizeof(*plan->tasks)))) {
        zn_fail(err, "out of memory");
        goto out;
    }
    plan->topo = req->topo;
    plan->ntasks = req->ntasks;
    plan->cores_per_task = req->policy.cores_per_task;
    for (unsigned i = 0; i < req->ntasks; i++) {
        plan->tasks[i].cpus = hwloc_bitmap_alloc();
        plan->tasks[i].mems = hwloc_bitmap_alloc();
        p.home[i] = hwloc_bitmap_alloc();
        plan->tasks[i].nic = -1;
        if (!plan->tasks[i].cpus || !plan->tasks[i].mems || !p.home[i]) {
            zn_fail(err, "out of memory");
            goto out;
        }
    }
    plan->bind = req->policy.bind;
    if (plan->bind == ZN_BIND_AUTO)
        plan->bind = req->gpus && req->gpus->count ? ZN_BIND_GPU : ZN_BIND_CORE;
    plan->mem = req->policy.mem;
    if (plan->mem == ZN_MEM_DEFAULT)
        plan->mem = plan->bind == ZN_BIND_NONE ? ZN_MEM_NONE : ZN_MEM_LOCAL;

    if (order_gpus(&p) < 0)
        goto out;
    assign_gpus(&p);
    switch (plan->bind) {
    case ZN_BIND_GPU:
    case ZN_BIND_CORE:
    case ZN_BIND_AUTO:
        if (plan_units(&p) < 0)
            goto out;
        break;
    case ZN_BIND_NUMA:
    case ZN_BIND_SOCKET:
        if (plan_domains(&p, plan->bind == ZN_BIND_SOCKET) < 0)
            goto out;
        break;
    case ZN_BIND_NONE:
        for (unsigned i = 0; i < plan->ntasks; i++) {
            hwloc_bitmap_copy(plan->tasks[i].cpus, p.allowed);
            plan->tasks[i].ncores = (unsigned)count_allowed_cores(&p);
        }
        break;
    }
    plan_memory(&p);
    if (plan_nics(&p) < 0 || plan_hugepages(&p) < 0)
        goto out;
    rc = 0;
out:
    planner_release(&p);
    if (rc < 0) {
        zn_plan_destroy(plan);
        return NULL;
    }
    return plan;
}
