/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The placement planner. Where task i's CPUs come from, in order:
 *   1. GPUs: the step's GPUs are ordered by locality (NUMA node, then PCI bus id); task i drives
 *      visible GPU i (blocks of tasks share a GPU when there are more tasks than GPUs; a task owns
 *      a block of GPUs when there are fewer). The task's "home" is its GPUs' NUMA node(s). A
 *      CPU-only task's home is the NUMA node where its even share of the allowed cores starts.
 *   2. Units: whole allowed cores when there are enough for one per task, else single CPUs
 *      (hyperthreads), else CPUs shared so that every allowed CPU runs floor(n/P) or
 *      ceil(n/P) tasks, home CPUs first.
 *   3. Counts: every task is owed the same number of units (units / tasks, or
 *      --cores-per-task). Tasks with the same home take them there node after node, fewer-node
 *      homes first, a task skipping the rest of a node it does not fit into when the other home
 *      nodes still hold everyone; what home cannot give is borrowed from nodes the task already
 *      uses, then the nearest single node that holds it all, then the nearest nodes. Without a
 *      fixed count a task then takes one unit more where a node it uses has one free, so counts
 *      differ by one at most; units left after that stay idle and the plan counts them.
 *   4. Each node's units are handed out as one contiguous run per task, in task order, a run
 *      starting at the next L3 cache where the node has units to spare.
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
    int cache;          /* the core's L3 cache, -1: none */
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
        if (topo->numa[h].package >= 0 && topo->numa[h].package == topo->numa[numa].package)
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

static int add_unit(struct planner *p, hwloc_const_bitmap_t pus, const struct zn_core *core)
{
    struct unit *u = &p->units[p->nunits];
    u->pus = hwloc_bitmap_dup(pus);
    if (!u->pus)
        return zn_fail(p->err, "out of memory");
    u->numa = core->numa;
    u->cache = core->cache;
    p->nunits++;
    return 0;
}

/* Whole allowed cores, or single allowed CPUs when `split`; in topology order, so the units of
 * one NUMA node, and within it of one L3 cache, are consecutive. */
static int build_units(struct planner *p, bool split)
{
    const struct zn_topology *topo = p->topo;
    hwloc_bitmap_t pus = hwloc_bitmap_alloc(), one = hwloc_bitmap_alloc();
    int rc = -1;

    p->units = calloc(topo->npus ? topo->npus : 1, sizeof(*p->units));
    if (!pus || !one || !p->units) {
        zn_fail(p->err, "out of memory");
        goto out;
    }
    for (size_t c = 0; c < topo->ncores; c++) {
        int pu;
        hwloc_bitmap_and(pus, topo->cores[c].pus, p->allowed);
        if (hwloc_bitmap_iszero(pus))
            continue;
        if (!split) {
            if (add_unit(p, pus, &topo->cores[c]) < 0)
                goto out;
            continue;
        }
        hwloc_bitmap_foreach_begin(pu, pus)
        {
            hwloc_bitmap_only(one, (unsigned)pu);
            if (add_unit(p, one, &topo->cores[c]) < 0)
                goto out;
        }
        hwloc_bitmap_foreach_end();
    }
    rc = 0;
out:
    hwloc_bitmap_free(pus);
    hwloc_bitmap_free(one);
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

/* |a - b| between node indices: the order in which a task borrows from nodes at one level. */
static unsigned index_gap(int a, int b)
{
    return (unsigned)(a > b ? a - b : b - a);
}

/* Nodes in the order task i reaches for them: its home, then the same package, then the rest;
 * within a level by index distance from its home. Writes nnuma indices to order. */
static void nodes_by_nearness(const struct planner *p, unsigned i, unsigned *order)
{
    size_t nnuma = p->topo->nnuma, k = 0;
    int home = hwloc_bitmap_first(p->home[i]);

    for (unsigned level = 0; level <= 2; level++)
        for (unsigned gap = 0; gap < nnuma; gap++)
            for (size_t d = 0; d < nnuma; d++)
                if (index_gap((int)d, home < 0 ? 0 : home) == gap &&
                    distance_to_home(p, i, (int)d) == level)
                    order[k++] = (unsigned)d;
}

/* Tasks with the same home, consecutive in task order (the GPU order is sorted by NUMA node,
 * so the tasks of one node's GPUs are neighbours). */
struct group {
    unsigned first, count;
};

static size_t find_groups(const struct planner *p, struct group *groups)
{
    size_t n = 0;
    for (unsigned i = 0; i < p->plan->ntasks; i++) {
        if (n && hwloc_bitmap_isequal(p->home[i], p->home[groups[n - 1].first])) {
            groups[n - 1].count++;
            continue;
        }
        groups[n++] = (struct group){.first = i, .count = 1};
    }
    return n;
}

/* One group's tasks into its home nodes, `quota` units each, node after node, from what is still
 * free there (`avail`, updated). A task that does not fit whole into what is left of a node
 * skips that rest when the later home nodes still hold the whole group's remaining need and the
 * next one holds this task: that is what keeps two tasks of one GPU from both straddling its two
 * NUMA nodes. What cannot be placed at home is left in need[]. */
static void place_group_at_home(struct planner *p, const struct group *g, size_t *avail,
                                unsigned quota, unsigned *need, unsigned *bins)
{
    size_t nnuma = p->topo->nnuma, total = 0, demand = (size_t)g->count * quota;
    unsigned nbins = 0, b = 0;
    int d;

    hwloc_bitmap_foreach_begin(d, p->home[g->first])
    {
        if ((size_t)d < nnuma && avail[d]) {
            bins[nbins++] = (unsigned)d;
            total += avail[d];
        }
    }
    hwloc_bitmap_foreach_end();
    for (unsigned i = g->first; i < g->first + g->count; i++) {
        unsigned r = quota;
        while (r && b < nbins) {
            size_t *left = &avail[bins[b]];
            if (*left >= r) {
                *take_of(p, i, bins[b]) += r;
                *left -= r;
                total -= r;
                demand -= r;
                r = 0;
            } else if (b + 1 < nbins && total - *left >= demand && avail[bins[b + 1]] >= r) {
                total -= *left; /* skipped: stays free for borrowers and extras */
                b++;
                continue;
            } else {
                *take_of(p, i, bins[b]) += (unsigned)*left;
                r -= (unsigned)*left;
                total -= *left;
                demand -= *left;
                *left = 0;
            }
            if (!*left)
                b++;
        }
        need[i] = r;
    }
}

/* Task i takes what it still needs from node d, as far as d has units free. */
static void take_spare(struct planner *p, unsigned i, size_t d, unsigned *need, size_t *spare)
{
    unsigned give = spare[d] < need[i] ? (unsigned)spare[d] : need[i];
    *take_of(p, i, d) += give;
    spare[d] -= give;
    need[i] -= give;
}

/* Tasks still short borrow in three rounds, each over all of them, so that one task's borrowing
 * does not break up the room another needed: first from nodes they already use, then the
 * nearest single node that holds all they lack, then node after node by nearness. */
static void borrow(struct planner *p, unsigned *need, size_t *spare, unsigned *order)
{
    size_t nnuma = p->topo->nnuma;
    unsigned n = p->plan->ntasks;

    for (unsigned i = 0; i < n; i++)
        for (size_t d = 0; d < nnuma && need[i]; d++)
            if (*take_of(p, i, d))
                take_spare(p, i, d, need, spare);
    for (unsigned i = 0; i < n; i++) {
        if (!need[i])
            continue;
        nodes_by_nearness(p, i, order);
        for (size_t k = 0; k < nnuma; k++) {
            if (spare[order[k]] >= need[i]) {
                take_spare(p, i, order[k], need, spare);
                break;
            }
        }
    }
    for (unsigned i = 0; i < n; i++) {
        if (!need[i])
            continue;
        nodes_by_nearness(p, i, order);
        for (size_t k = 0; k < nnuma && need[i]; k++)
            take_spare(p, i, order[k], need, spare);
    }
}

/* Every task gets `quota` units: from its home first, then borrowed from the nearest nodes.
 * With `extras`, a task then takes one more unit where a node it already uses has one free, so
 * counts differ by at most one and no task grows onto another node for it; whatever is still
 * free stays idle (the plan counts it, the report says so). */
static int distribute(struct planner *p, unsigned quota, bool extras)
{
    const struct zn_topology *topo = p->topo;
    size_t nnuma = topo->nnuma, ngroups;
    unsigned n = p->plan->ntasks;
    size_t *avail = calloc(nnuma, sizeof(*avail));
    unsigned *need = calloc(n, sizeof(*need)), *order = calloc(nnuma, sizeof(*order));
    struct group *groups = calloc(n, sizeof(*groups));
    int rc = -1;

    if (!avail || !need || !order || !groups) {
        zn_fail(p->err, "out of memory");
        goto out;
    }
    for (size_t u = 0; u < p->nunits; u++)
        avail[p->units[u].numa]++;
    ngroups = find_groups(p, groups);
    /* Groups with fewer home nodes first: a task whose GPU has one node has nowhere else to be
     * local, while one whose GPUs span several can go to the others. */
    for (unsigned weight = 1; weight <= nnuma; weight++)
        for (size_t g = 0; g < ngroups; g++)
            if ((unsigned)hwloc_bitmap_weight(p->home[groups[g].first]) == weight)
                place_group_at_home(p, &groups[g], avail, quota, need, order);
    borrow(p, need, avail, order);
    for (unsigned i = 0; i < n && extras; i++) {
        for (size_t d = 0; d < nnuma; d++) {
            if (*take_of(p, i, d) && avail[d]) {
                (*take_of(p, i, d))++;
                avail[d]--;
                break;
            }
        }
    }
    for (size_t d = 0; d < nnuma; d++)
        p->plan->units_idle += (unsigned)avail[d];
    rc = 0;
out:
    free(avail);
    free(need);
    free(order);
    free(groups);
    return rc;
}

/* Units from position `from` of a node's unit list to the end of that L3 cache. */
static size_t cache_run(const struct planner *p, const size_t *of_node, size_t count, size_t from)
{
    size_t n = 0;
    while (from + n < count && p->units[of_node[from + n]].cache == p->units[of_node[from]].cache)
        n++;
    return n;
}

/* Hand out each node's units as one contiguous run per task, tasks in order. Where the node has
 * units to spare, a run that would cross into another L3 cache starts at that cache instead. */
static int assign_units(struct planner *p)
{
    const struct zn_topology *topo = p->topo;
    struct zn_plan *plan = p->plan;
    size_t *of_node = calloc(p->nunits ? p->nunits : 1, sizeof(*of_node));

    if (!of_node)
        return zn_fail(p->err, "out of memory");
    for (size_t d = 0; d < topo->nnuma; d++) {
        size_t count = 0, wanted = 0, u = 0;
        for (size_t k = 0; k < p->nunits; k++)
            if (p->units[k].numa == (int)d)
                of_node[count++] = k;
        for (unsigned i = 0; i < plan->ntasks; i++)
            wanted += *take_of(p, i, d);
        size_t slack = count - wanted;
        for (unsigned i = 0; i < plan->ntasks; i++) {
            unsigned left = *take_of(p, i, d);
            if (!left)
                continue;
            size_t in_cache = cache_run(p, of_node, count, u);
            if (in_cache < left && in_cache <= slack && u + in_cache < count &&
                cache_run(p, of_node, count, u + in_cache) >= left) {
                u += in_cache;
                slack -= in_cache;
            }
            for (; left > 0 && u < count; u++, left--) {
                hwloc_bitmap_or(plan->tasks[i].cpus, plan->tasks[i].cpus, p->units[of_node[u]].pus);
                plan->tasks[i].ncores++;
            }
        }
    }
    free(of_node);
    return 0;
}

/* More tasks than CPUs: one CPU each, every allowed CPU running floor(n/P) or ceil(n/P) tasks.
 * Tasks fill the least loaded CPUs of their home first, then of the nearest nodes, up to the
 * lower level; only then does a CPU take one more. */
static int assign_shared(struct planner *p)
{
    struct zn_plan *plan = p->plan;
    size_t nnuma = p->topo->nnuma;
    unsigned n = plan->ntasks, level_low = (unsigned)(n / p->nunits);
    unsigned *load = calloc(p->nunits, sizeof(*load)), *order = calloc(nnuma, sizeof(*order));
    bool *placed = calloc(n, sizeof(*placed));
    int rc = -1;

    if (!load || !order || !placed) {
        zn_fail(p->err, "out of memory");
        goto out;
    }
    for (unsigned level = level_low; level <= level_low + 1; level++) {
        /* Home nodes for every task first, so a borrower never takes a slot a local task
         * would have had. */
        for (unsigned pass = 0; pass < 2; pass++) {
            for (unsigned i = 0; i < n; i++) {
                if (placed[i])
                    continue;
                nodes_by_nearness(p, i, order);
                for (size_t k = 0; k < nnuma && !placed[i]; k++) {
                    if (pass == 0 && distance_to_home(p, i, (int)order[k]) != 0)
                        break;
                    size_t best = p->nunits;
                    for (size_t u = 0; u < p->nunits; u++)
                        if (p->units[u].numa == (int)order[k] && load[u] < level &&
                            (best == p->nunits || load[u] < load[best]))
                            best = u;
                    if (best == p->nunits)
                        continue;
                    load[best]++;
                    placed[i] = true;
                    hwloc_bitmap_copy(plan->tasks[i].cpus, p->units[best].pus);
                    plan->tasks[i].ncores = 1;
                }
            }
        }
    }
    rc = 0;
out:
    free(load);
    free(order);
    free(placed);
    return rc;
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
    if (plan->cores_shared)
        return assign_shared(p);
    p->take = calloc((size_t)n * p->topo->nnuma, sizeof(*p->take));
    if (!p->take)
        return zn_fail(p->err, "out of memory");
    if (distribute(p, quota, per_task == 0) < 0)
        return -1;
    return assign_units(p);
}

/* ------------------------------------------------------------------ numa / socket / none */

/* Allowed CPUs of the given NUMA nodes (by index), or of their packages when by_package. A
 * node's packages are those of its cores, so the answer does not depend on whether the export
 * put NUMA nodes inside or above packages. */
static void allowed_cpus_of(const struct planner *p, hwloc_const_bitmap_t nodes, bool by_package,
                            hwloc_bitmap_t out)
{
    const struct zn_topology *topo = p->topo;
    hwloc_bitmap_t packages = hwloc_bitmap_alloc();

    hwloc_bitmap_zero(out);
    for (size_t c = 0; c < topo->ncores; c++)
        if (packages && topo->cores[c].package >= 0 &&
            hwloc_bitmap_isset(nodes, (unsigned)topo->cores[c].numa))
            hwloc_bitmap_set(packages, (unsigned)topo->cores[c].package);
    for (size_t c = 0; c < topo->ncores; c++) {
        const struct zn_core *core = &topo->cores[c];
        bool in = hwloc_bitmap_isset(nodes, (unsigned)core->numa);
        if (by_package && packages && core->package >= 0)
            in = in || hwloc_bitmap_isset(packages, (unsigned)core->package);
        if (in)
            hwloc_bitmap_or(out, out, core->pus);
    }
    hwloc_bitmap_and(out, out, p->allowed);
    hwloc_bitmap_free(packages);
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

static bool topology_has_hbm(const struct zn_topology *topo)
{
    for (size_t d = 0; d < topo->nnuma; d++)
        if (zn_numa_is_hbm(&topo->numa[d]))
            return true;
    return false;
}

/* The HBM nodes next to the task's CPUs (attached where those CPUs are), else those of its
 * packages, else every HBM node. */
static void nearest_hbm(const struct planner *p, const struct zn_task_plan *t)
{
    const struct zn_topology *topo = p->topo;

    for (size_t d = 0; d < topo->nnuma; d++)
        if (zn_numa_is_hbm(&topo->numa[d]) && hwloc_bitmap_intersects(topo->numa[d].near, t->cpus))
            hwloc_bitmap_set(t->mems, topo->numa[d].os_index);
    for (size_t d = 0; d < topo->nnuma && hwloc_bitmap_iszero(t->mems); d++)
        for (size_t c = 0; c < topo->ncores; c++)
            if (zn_numa_is_hbm(&topo->numa[d]) && topo->numa[d].package >= 0 &&
                topo->cores[c].package == topo->numa[d].package &&
                hwloc_bitmap_intersects(topo->cores[c].pus, t->cpus))
                hwloc_bitmap_set(t->mems, topo->numa[d].os_index);
    for (size_t d = 0; d < topo->nnuma && hwloc_bitmap_iszero(t->mems); d++)
        if (zn_numa_is_hbm(&topo->numa[d]))
            hwloc_bitmap_set(t->mems, topo->numa[d].os_index);
}

static int plan_memory(struct planner *p)
{
    const struct zn_topology *topo = p->topo;
    struct zn_plan *plan = p->plan;
    bool hbm = plan->mem == ZN_MEM_HBM || plan->mem == ZN_MEM_PREFER_HBM;

    if (hbm && !topology_has_hbm(topo))
        return zn_fail(p->err,
                       "mem=%s asks for HBM, but the topology %s has no HBM NUMA node (no "
                       "memory-only node of subtype HBM: the node has no HBM, or it runs in "
                       "cache mode); use mem=local",
                       zn_mem_name(plan->mem), topo->source);
    for (unsigned i = 0; i < plan->ntasks; i++) {
        struct zn_task_plan *t = &plan->tasks[i];
        hwloc_const_bitmap_t span = plan->mem == ZN_MEM_INTERLEAVE ? p->allowed : t->cpus;
        hwloc_bitmap_zero(t->mems);
        if (plan->mem == ZN_MEM_NONE)
            continue;
        if (hbm) {
            nearest_hbm(p, t);
            continue;
        }
        for (size_t d = 0; d < topo->nnuma; d++)
            if (hwloc_bitmap_intersects(topo->numa[d].cpuset, span))
                hwloc_bitmap_set(t->mems, topo->numa[d].os_index);
    }
    return 0;
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

/* The NUMA node (index) whose huge pages task i uses: its GPU's node, where pinned host buffers
 * for that GPU belong, unless its memory policy forbids allocating there; else the first node it
 * allocates from; else the node of its first core. */
static int hugepage_node_of(const struct planner *p, unsigned i)
{
    const struct zn_topology *topo = p->topo;
    const struct zn_task_plan *t = &p->plan->tasks[i];
    const struct zn_gpu *gpu = zn_plan_task_gpu(p->plan, i);
    bool strict = p->plan->mem == ZN_MEM_BIND || p->plan->mem == ZN_MEM_HBM;
    int d, pick = -1;

    if (gpu) {
        /* Of a GPU's several local nodes, the one the task's CPUs are on. */
        hwloc_bitmap_foreach_begin(d, gpu->numa_set)
        {
            if (strict && !hwloc_bitmap_isset(t->mems, topo->numa[d].os_index))
                continue;
            if (pick < 0 || (!hwloc_bitmap_intersects(topo->numa[pick].cpuset, t->cpus) &&
                             hwloc_bitmap_intersects(topo->numa[d].cpuset, t->cpus)))
                pick = d;
        }
        hwloc_bitmap_foreach_end();
        if (pick >= 0)
            return pick;
    }
    if (!hwloc_bitmap_iszero(t->mems))
        return zn_topology_numa_by_os(topo, (unsigned)hwloc_bitmap_first(t->mems));
    for (size_t c = 0; c < topo->ncores; c++)
        if (hwloc_bitmap_intersects(topo->cores[c].pus, t->cpus))
            return topo->cores[c].numa;
    return 0;
}

/* Pages go where the tasks use them: each task counts for its huge page node, and the pages are
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
    /* Rounded up without adding first: a request near 2^64 bytes must not wrap to 0 pages. */
    pages = bytes / plan->hugepage_size + (bytes % plan->hugepage_size != 0);
    tasks_on = calloc(topo->nnuma, sizeof(*tasks_on));
    bumped = calloc(topo->nnuma, sizeof(*bumped));
    plan->hugepages = calloc(topo->nnuma, sizeof(*plan->hugepages));
    if (!tasks_on || !bumped || !plan->hugepages) {
        zn_fail(p->err, "out of memory");
        goto out;
    }
    for (unsigned i = 0; i < plan->ntasks; i++)
        tasks_on[hugepage_node_of(p, i)]++;
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

unsigned zn_plan_gpu_index(const struct zn_plan *plan, unsigned v)
{
    return plan->step_gpus->index[plan->gpu_order[v]];
}

const struct zn_gpu *zn_plan_visible_gpu(const struct zn_plan *plan, unsigned v)
{
    return &plan->topo->gpus[zn_plan_gpu_index(plan, v)];
}

const struct zn_gpu *zn_plan_task_gpu(const struct zn_plan *plan, unsigned task)
{
    if (task >= plan->ntasks || plan->tasks[task].gpu < 0)
        return NULL;
    return zn_plan_visible_gpu(plan, (unsigned)plan->tasks[task].gpu);
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
    if (plan_memory(&p) < 0 || plan_nics(&p) < 0 || plan_hugepages(&p) < 0)
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
