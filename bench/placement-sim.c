/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Placement simulator. Replays a job trace (Philly, in the layout Chronus publishes it) on the
 * cluster of its machine list twice, under one scheduler, changing only how nodes are chosen:
 * once with Zenith's placement core (the code the select plugin runs) and once with a model of
 * stock select/cons_tres, and prints what each did to the jobs and to the cluster. With --scale
 * it times one decision on a large synthetic cluster instead. --leaf-wait gives Zenith's gangs
 * the wait rule (zenith_gang_leaf_wait) on the trace's clock: a held gang is tried again when
 * its wait ends, and being held says nothing of what fits for the jobs behind it.
 *
 * The stock model. Slurm 22.05 select/cons_tres with TopologyPlugin=topology/tree, equal node
 * weights and jobs asking for whole GPUs per node (--nodes=N --gpus-per-node=G): a node can take
 * the job when it has G GPUs free (_select_nodes drops the others), and _eval_nodes hands the
 * choice to _eval_nodes_topo, which this file follows step by step:
 * - the top switch: of the switches with at least N usable nodes, the last one in topology.conf
 *   order at the highest level (with one weight the weight test always passes);
 * - the candidates: the usable nodes under that switch (one weight group, all taken at once);
 * - leaves, one at a time until N nodes are taken: _topo_choose_best_switch over the leaves in
 *   table order, comparing with _topo_compare_switches (a leaf whose usable nodes alone cover
 *   what is still needed beats one that does not; of two that do, the one with fewer usable
 *   nodes; of two that do not, the comparison climbs to the parents while they differ, then the
 *   one with more usable nodes) and the distance sums of _topo_add_dist (hop counts between
 *   switches, as topology/tree computes them, added for every leaf already used);
 * - within the chosen leaf, nodes in index (bitmap) order, that is slurm.conf order, which here is
 *   the machine list's order.
 * The switch table is the one slurmctld would build from the same generated topology.conf
 * (read here by the core's reader): same order, levels, hop counts, and a top switch's parent
 * left at 0 as xcalloc leaves it.
 * Not modelled: CPUs, memory and other GRES (every node is assumed to have the CPUs and memory
 * for the job); node weights (all equal, so one weight group); required nodes (--nodelist) and
 * the "required leaf" pass they trigger; --switches and its wait timeout (no job asks for it);
 * gres_per_job (--gpus=N spread freely instead of per node); --exclusive, --spread-job, LLN,
 * pack_serial_at_end, preemption, partitions, reservations and the priority of jobs. slurmctld
 * also counts CPUs as it adds nodes (rem_cpus) and refuses a set with the nodes but not the
 * CPUs; here the node count alone decides.
 *
 * The scheduler is the same for both: event driven (no real time passes), jobs queued by submit
 * time then job id; at every time where jobs end or arrive (ends first) it walks the queue in
 * order and starts every job that fits now. That is greedy backfill without reservations, a
 * stated simplification: a blocked large job holds back nothing behind it, for both policies.
 * A job that is no smaller (nodes and GPUs per node) than one that failed earlier in the same
 * walk is skipped without asking the policy: nothing was freed in between, so it cannot fit. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/stats.h"
#include "bench/trace.h"
#include "runtime/parse.h"
#include "select/core/cluster.h"
#include "select/core/place.h"

#define SIM_LEAF_SIZE_DEFAULT  32
#define SIM_SPINE_LEAVES       16 /* --scale: leaves under one spine switch */
#define SIM_ITERATIONS_DEFAULT 2000
#define SIM_SEED_DEFAULT       1
#define SIM_WARMUP             20 /* untimed decisions before each timed series */
#define SIM_FAILED_SHAPES      32
#define STOCK_INFINITE         UINT32_MAX /* topology/tree's INFINITE */
#define NONE                   SIZE_MAX

enum policy { POLICY_ZENITH, POLICY_STOCK };

static const char *const policy_name[] = {"zenith", "stock"};

/* ------------------------------------------------------------------ small helpers */

struct text {
    char *s;
    size_t len, cap;
};

static int text_add(struct text *t, struct zn_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int text_add(struct text *t, struct zn_error *err, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return zn_fail(err, "cannot format the generated topology.conf");
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        char *s;

        while (t->len + (size_t)n + 1 > cap)
            cap *= 2;
        s = realloc(t->s, cap);
        if (!s)
            return zn_fail(err, "out of memory writing the topology.conf");
        t->s = s;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
    return 0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Deterministic synthetic occupancy (splitmix64): the same seed gives the same cluster anywhere. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* An error's text without its "zenith: " prefix (or prefixes), to put after file:line. */
static const char *bare_message(const struct zn_error *e)
{
    static const char prefix[] = "zenith: ";
    const char *s = e->text;

    while (strncmp(s, prefix, sizeof(prefix) - 1) == 0)
        s += sizeof(prefix) - 1;
    return s;
}

/* ------------------------------------------------------------------ clusters */

struct layout {
    size_t leaves, spines, blocks;
    char nodes[256]; /* "321x2 + 231x8" */
    unsigned long gpus;
};

static struct zn_cluster *load_cluster(struct zn_cluster *c, const struct text *topo,
                                       struct zn_error *err)
{
    if (zn_cluster_load_topology(c, topo->s, "generated topology.conf", err) < 0)
        return NULL;
    /* Every node under one leaf, or the comparison measures something else. */
    for (size_t n = 0; n < c->node_count; n++)
        if (c->nodes[n].leaf < 0) {
            zn_fail(err, "node %s is under no leaf switch in the generated topology",
                    c->nodes[n].name);
            return NULL;
        }
    if (c->unknown_nodes) {
        zn_fail(err, "the generated topology names %zu unknown nodes", c->unknown_nodes);
        return NULL;
    }
    return c;
}

/* The trace's cluster: each GPU size fills its own leaves of leaf_size nodes, in machine list
 * order, all leaves under one spine. */
static struct zn_cluster *trace_cluster(const struct machines *m, unsigned leaf_size,
                                        unsigned block_size, struct layout *lay,
                                        struct zn_error *err)
{
    struct zn_cluster *c = zn_cluster_new(), *done = NULL;
    struct text topo = {0};
    unsigned sizes[64];
    size_t size_count = 0, nodes_of[64] = {0};

    memset(lay, 0, sizeof(*lay));
    if (!c) {
        zn_fail(err, "out of memory for the cluster model");
        goto out;
    }
    for (size_t i = 0; i < m->count; i++) {
        size_t s;

        if (zn_cluster_add_node(c, m->list[i].name, m->list[i].gpus, m->list[i].gpus, err) < 0) {
            /* The core's message names the node; add where it came from. */
            struct zn_error why = *err;
            zn_fail(err, "%s:%u: %s; fix the machine list", m->path, m->list[i].line,
                    bare_message(&why));
            goto out;
        }
        lay->gpus += m->list[i].gpus;
        for (s = 0; s < size_count && sizes[s] != m->list[i].gpus; s++)
            ;
        if (s == size_count) {
            if (size_count == sizeof(sizes) / sizeof(sizes[0])) {
                zn_fail(err,
                        "%s has more than %zu node sizes; the model groups leaves by "
                        "size",
                        m->path, sizeof(sizes) / sizeof(sizes[0]));
                goto out;
            }
            sizes[size_count++] = m->list[i].gpus;
        }
        nodes_of[s]++;
    }
    for (size_t s = 0; s < size_count; s++) {
        size_t in_leaf = 0, len = strlen(lay->nodes);

        snprintf(lay->nodes + len, sizeof(lay->nodes) - len, "%s%zux%u", s ? " + " : "",
                 nodes_of[s], sizes[s]);
        for (size_t i = 0; i < m->count; i++) {
            if (m->list[i].gpus != sizes[s])
                continue;
            if (in_leaf == 0 && text_add(&topo, err, "SwitchName=leaf%zu Nodes=", lay->leaves) < 0)
                goto out;
            if (text_add(&topo, err, "%s%s", in_leaf ? "," : "", m->list[i].name) < 0)
                goto out;
            if (++in_leaf == leaf_size) {
                if (text_add(&topo, err, "\n") < 0)
                    goto out;
                in_leaf = 0;
                lay->leaves++;
            }
        }
        if (in_leaf) {
            if (text_add(&topo, err, "\n") < 0)
                goto out;
            lay->leaves++;
        }
    }
    if (text_add(&topo, err, "SwitchName=spine Switches=leaf[0-%zu]\n", lay->leaves - 1) < 0)
        goto out;
    lay->spines = 1;
    done = load_cluster(c, &topo, err);
    /* NVLink blocks (--block-size): consecutive nodes of the largest size, as racks of an
     * NVL72 system are, given to the model as the 22.05 adapter gives node features. */
    for (size_t i = 0, in_block = 0; done && block_size && i < m->count; i++) {
        char name[32];

        if (m->list[i].gpus != m->max_gpus)
            continue;
        snprintf(name, sizeof(name), "nvl%zu", c->block_count - (in_block ? 1 : 0));
        if (zn_cluster_set_block(c, i, name, err) < 0)
            done = NULL;
        in_block = (in_block + 1) % block_size;
    }
    lay->blocks = c ? c->block_count : 0;
out:
    free(topo.s);
    if (!done)
        zn_cluster_free(c);
    return done;
}

/* ------------------------------------------------------------------ stock cons_tres model */

struct stock_model {
    const struct zn_cluster *c;
    size_t switches;
    size_t *parent; /* slurmctld's switch_record_table[].parent */
    unsigned *level;
    uint32_t *dist; /* switches x switches hop counts, switches_dist */
};

static void stock_free(struct stock_model *m)
{
    free(m->parent);
    free(m->level);
    free(m->dist);
    memset(m, 0, sizeof(*m));
}

static int stock_init(struct stock_model *m, const struct zn_cluster *c, struct zn_error *err)
{
    size_t s = c->switch_count;

    memset(m, 0, sizeof(*m));
    m->c = c;
    m->switches = s;
    if (s == 0)
        return zn_fail(err, "the stock model needs a switch tree (topology/tree)");
    m->parent = calloc(s, sizeof(*m->parent));
    m->level = calloc(s, sizeof(*m->level));
    m->dist = calloc(s * s, sizeof(*m->dist));
    if (!m->parent || !m->level || !m->dist) {
        stock_free(m);
        return zn_fail(err, "out of memory for the stock model");
    }
    for (size_t i = 0; i < s; i++) {
        /* _find_child_switches sets parents; a top switch keeps xcalloc's 0. */
        m->parent[i] = c->switches[i].parent >= 0 ? (size_t)c->switches[i].parent : 0;
        m->level[i] = c->switches[i].level;
        for (size_t j = 0; j < s; j++)
            m->dist[i * s + j] = i == j ? 0 : STOCK_INFINITE;
    }
    for (size_t i = 0; i < s; i++) {
        if (c->switches[i].parent >= 0) {
            size_t p = (size_t)c->switches[i].parent;
            m->dist[i * s + p] = 1;
            m->dist[p * s + i] = 1;
        }
    }
    /* topology/tree's _check_better_path loop: shortest hop counts through any switch. */
    for (size_t i = 0; i < s; i++)
        for (size_t j = 0; j < s; j++)
            for (size_t k = 0; k < s; k++) {
                uint32_t ji = m->dist[j * s + i], ik = m->dist[i * s + k], tmp;

                tmp = ji == STOCK_INFINITE || ik == STOCK_INFINITE ? STOCK_INFINITE : ji + ik;
                if (m->dist[j * s + k] > tmp)
                    m->dist[j * s + k] = tmp;
            }
    return 0;
}

/* _topo_add_dist */
static void stock_add_dist(const struct stock_model *m, uint32_t *dist, size_t sw)
{
    const uint32_t *row = &m->dist[sw * m->switches];

    for (size_t i = 0; i < m->switches; i++) {
        if (row[i] == STOCK_INFINITE || dist[i] == STOCK_INFINITE)
            dist[i] = STOCK_INFINITE;
        else
            dist[i] += row[i];
    }
}

/* _topo_compare_switches: > 0 when switch i is the better choice. */
static int stock_compare_switches(const struct stock_model *m, size_t i, size_t j, long rem,
                                  const long *cnt)
{
    /* The climb stops when the parents agree; with leaves at different depths slurmctld could
     * circle through switch 0, so stop after as many steps as there are switches. */
    for (size_t steps = 0;; steps++) {
        bool i_fit = cnt[i] >= rem, j_fit = cnt[j] >= rem;

        if (i_fit && j_fit) {
            if (cnt[i] < cnt[j])
                return 1;
            if (cnt[i] > cnt[j])
                return -1;
            break;
        } else if (i_fit) {
            return 1;
        } else if (j_fit) {
            return -1;
        }
        if ((m->parent[i] != i || m->parent[j] != j) && m->parent[i] != m->parent[j] &&
            steps < m->switches) {
            i = m->parent[i];
            j = m->parent[j];
            continue;
        }
        break;
    }
    if (cnt[i] > cnt[j])
        return 1;
    if (cnt[i] < cnt[j])
        return -1;
    if (m->level[i] < m->level[j])
        return 1;
    if (m->level[i] > m->level[j])
        return -1;
    return 0;
}

/* _topo_choose_best_switch */
static void stock_choose_best_switch(const struct stock_model *m, const uint32_t *dist,
                                     const long *cnt, long rem, size_t i, size_t *best)
{
    int tcs;

    if (*best == NONE || dist[i] == STOCK_INFINITE || !cnt[i]) {
        if (cnt[i] && dist[i] < STOCK_INFINITE)
            *best = i;
        return;
    }
    tcs = stock_compare_switches(m, i, *best, rem, cnt);
    if ((dist[i] < dist[*best] && tcs >= 0) || (dist[i] == dist[*best] && tcs > 0))
        *best = i;
}

static long count_marked(const struct zn_domain *d, const unsigned char *mark)
{
    long n = 0;

    for (size_t i = 0; i < d->node_count; i++)
        n += mark[d->nodes[i]];
    return n;
}

/* The nodes _eval_nodes_topo gives a job of `nodes` nodes with gpus_per_node GPUs each on the
 * cluster as it is now: 1 with out[0..nodes) filled (ascending), 0 when nothing fits now. */
static int stock_choose(const struct stock_model *m, unsigned nodes, unsigned gpus_per_node,
                        size_t *out, struct zn_error *err)
{
    const struct zn_cluster *c = m->c;
    size_t s = m->switches, top = NONE, chosen = 0;
    unsigned char *best = calloc(c->node_count ? c->node_count : 1, 1);
    unsigned char *taken = calloc(c->node_count ? c->node_count : 1, 1);
    long *cnt = calloc(s, sizeof(*cnt));
    uint32_t *dist = calloc(s, sizeof(*dist));
    long usable = 0, rem, prev_rem;
    int rc = -1;

    if (!best || !taken || !cnt || !dist) {
        zn_fail(err, "out of memory in the stock model");
        goto out;
    }
    /* _select_nodes: a node without gpus_per_node free GPUs is out. */
    for (size_t n = 0; n < c->node_count; n++) {
        best[n] = c->nodes[n].gpus_free >= gpus_per_node;
        usable += best[n];
    }
    rc = 0;
    if (usable < (long)nodes)
        goto out;
    /* The top switch: highest level with enough usable nodes, the last such in table order. */
    for (size_t i = 0; i < s; i++) {
        cnt[i] = count_marked(&c->switches[i].domain, best);
        if (cnt[i] < (long)nodes)
            continue;
        if (top == NONE || m->level[i] >= m->level[top])
            top = i;
    }
    if (top == NONE)
        goto out;
    /* The one weight group: the usable nodes under the top switch. */
    for (size_t i = 0; i < c->switches[top].domain.node_count; i++)
        taken[c->switches[top].domain.nodes[i]] = 1;
    usable = 0;
    for (size_t n = 0; n < c->node_count; n++) {
        best[n] = best[n] && taken[n];
        usable += best[n];
        taken[n] = 0;
    }
    if (usable < (long)nodes)
        goto out;
    for (size_t i = 0; i < s; i++)
        cnt[i] = count_marked(&c->switches[i].domain, best);
    /* No required nodes: the distances start at 0 and grow with each leaf used. */
    rem = nodes;
    prev_rem = rem + 1;
    while (prev_rem != rem) {
        size_t sw = NONE;
        const struct zn_domain *d;

        prev_rem = rem;
        for (size_t i = 0; i < s; i++)
            if (m->level[i] == 0)
                stock_choose_best_switch(m, dist, cnt, rem, i, &sw);
        if (sw == NONE)
            break;
        stock_add_dist(m, dist, sw);
        d = &c->switches[sw].domain;
        for (size_t i = 0; i < d->node_count; i++) {
            size_t n = d->nodes[i];

            if (!best[n] || taken[n])
                continue;
            taken[n] = 1;
            out[chosen++] = n;
            if (--rem <= 0) {
                qsort(out, chosen, sizeof(*out), zn_compare_node_index);
                rc = 1;
                goto out;
            }
        }
        cnt[sw] = 0;
    }
out:
    free(best);
    free(taken);
    free(cnt);
    free(dist);
    return rc;
}

/* ------------------------------------------------------------------ the trace simulation */

struct finish {
    uint64_t time;
    size_t job;
};

/* Running jobs by end time (then job), so that equal times replay the same way every run. */
struct heap {
    struct finish *v;
    size_t count, cap;
};

static bool finish_before(const struct finish *a, const struct finish *b)
{
    return a->time != b->time ? a->time < b->time : a->job < b->job;
}

static int heap_push(struct heap *h, struct finish f, struct zn_error *err)
{
    size_t i;

    if (grow_for_one(&h->v, &h->cap, h->count, sizeof(*h->v), 1024) < 0)
        return zn_fail(err, "out of memory for running jobs");
    for (i = h->count++; i > 0; i = (i - 1) / 2) {
        if (!finish_before(&f, &h->v[(i - 1) / 2]))
            break;
        h->v[i] = h->v[(i - 1) / 2];
    }
    h->v[i] = f;
    return 0;
}

static struct finish heap_pop(struct heap *h)
{
    struct finish top = h->v[0], last = h->v[--h->count];
    size_t i = 0;

    while (2 * i + 1 < h->count) {
        size_t child = 2 * i + 1;

        if (child + 1 < h->count && finish_before(&h->v[child + 1], &h->v[child]))
            child++;
        if (!finish_before(&h->v[child], &last))
            break;
        h->v[i] = h->v[child];
        i = child;
    }
    if (h->count)
        h->v[i] = last;
    return top;
}

struct result {
    size_t jobs, multi, one_leaf, one_block;
    double wait_mean;
    uint64_t wait_p95;
    double stranded_gpu_hours;
    uint64_t makespan;
    size_t decisions;
    double decide_mean_us, decide_p99_us;
};

struct sim {
    enum policy policy;
    const struct trace *t;
    struct zn_cluster *c;
    struct stock_model stock;
    size_t **alloc; /* per job: its nodes while it runs */
    size_t *next;   /* the queue, linked in submit order */
    size_t head, tail;
    struct heap running;
    struct samples decide_ns, waits;
    size_t multi, one_leaf, one_block;
    unsigned leaf_wait; /* zenith: the gangs' wait for a leaf switch (--leaf-wait) */
    uint64_t now;
    struct heap wakes;    /* when a held gang's wait ends: the queue is walked again then */
    unsigned char *woken; /* per job: its wake is in wakes */
    bool held;            /* the last decision was a gang held back by the wait rule */
};

/* Ask the policy for the job's nodes: 1 with out filled, 0 when nothing fits now. Only the
 * policy's own call is timed. */
static int decide(struct sim *s, const struct job *j, size_t *out, struct zn_error *err)
{
    uint64_t t0, t1;
    int rc;

    s->held = false;
    if (s->policy == POLICY_ZENITH) {
        struct zn_job_request r = {.nodes = j->nodes,
                                   .gpus_per_node = j->gpus_per_node,
                                   .gang = j->nodes > 1,
                                   .leaf_wait = s->leaf_wait,
                                   .eligible_at = (int64_t)j->submit,
                                   .now = (int64_t)s->now};
        struct zn_placement p;

        t0 = now_ns();
        rc = zn_place(s->c, NULL, &r, 1, &p, err);
        t1 = now_ns();
        s->held = rc == 0 && p.count == 0 && p.wide_opens_at;
        if (s->held && !s->woken[j - s->t->jobs]) {
            s->woken[j - s->t->jobs] = 1;
            if (heap_push(&s->wakes,
                          (struct finish){(uint64_t)p.wide_opens_at, (size_t)(j - s->t->jobs)},
                          err) < 0)
                rc = -1;
        }
        if (rc == 0 && p.count > 0) {
            if (p.list[0].count != j->nodes) {
                zn_fail(err, "zn_place gave job %" PRIu64 " %zu nodes for %u; fix the core", j->id,
                        p.list[0].count, j->nodes);
                rc = -1;
            } else {
                memcpy(out, p.list[0].nodes, j->nodes * sizeof(*out));
                rc = 1;
            }
        }
        zn_placement_free(&p);
    } else {
        t0 = now_ns();
        rc = stock_choose(&s->stock, j->nodes, j->gpus_per_node, out, err);
        t1 = now_ns();
    }
    if (rc >= 0 && samples_add(&s->decide_ns, t1 - t0, err) < 0)
        return -1;
    return rc;
}

static int start_job(struct sim *s, size_t idx, uint64_t now, const size_t *nodes,
                     struct zn_error *err)
{
    const struct job *j = &s->t->jobs[idx];
    bool one_leaf = true, one_block = s->c->nodes[nodes[0]].block >= 0;
    size_t *copy;

    /* A policy that hands out a full node would make every number after it meaningless. */
    for (size_t k = 0; k < j->nodes; k++) {
        size_t n = nodes[k];

        if (n >= s->c->node_count || (k > 0 && nodes[k - 1] >= n) ||
            s->c->nodes[n].gpus_free < j->gpus_per_node)
            return zn_fail(err,
                           "the %s policy gave job %" PRIu64 " node %zu, not a distinct node "
                           "with %u free GPUs; fix the policy",
                           policy_name[s->policy], j->id, n, j->gpus_per_node);
        if (s->c->nodes[n].leaf != s->c->nodes[nodes[0]].leaf)
            one_leaf = false;
        if (s->c->nodes[n].block != s->c->nodes[nodes[0]].block)
            one_block = false;
    }
    copy = malloc(j->nodes * sizeof(*copy));
    if (!copy)
        return zn_fail(err, "out of memory starting a job");
    memcpy(copy, nodes, j->nodes * sizeof(*copy));
    s->alloc[idx] = copy;
    for (size_t k = 0; k < j->nodes; k++)
        if (zn_cluster_set_free(s->c, nodes[k], s->c->nodes[nodes[k]].gpus_free - j->gpus_per_node,
                                err) < 0)
            return -1;
    if (j->nodes > 1) {
        s->multi++;
        s->one_leaf += one_leaf;
        s->one_block += one_block;
    }
    if (samples_add(&s->waits, now - j->submit, err) < 0)
        return -1;
    return heap_push(&s->running, (struct finish){now + j->duration, idx}, err);
}

static int end_job(struct sim *s, size_t idx, struct zn_error *err)
{
    const struct job *j = &s->t->jobs[idx];

    for (size_t k = 0; k < j->nodes; k++) {
        size_t n = s->alloc[idx][k];

        if (zn_cluster_set_free(s->c, n, s->c->nodes[n].gpus_free + j->gpus_per_node, err) < 0)
            return -1;
    }
    free(s->alloc[idx]);
    s->alloc[idx] = NULL;
    return 0;
}

/* Start, in queue order, every job that fits now. */
static int walk_queue(struct sim *s, uint64_t now, size_t *scratch, struct zn_error *err)
{
    struct shape {
        unsigned nodes, gpus_per_node;
    } failed[SIM_FAILED_SHAPES];
    size_t failed_count = 0, prev = NONE, next;

    for (size_t idx = s->head; idx != NONE; idx = next) {
        const struct job *j = &s->t->jobs[idx];
        bool blocked = false;
        int rc;

        next = s->next[idx];
        for (size_t f = 0; f < failed_count && !blocked; f++)
            blocked = j->nodes >= failed[f].nodes && j->gpus_per_node >= failed[f].gpus_per_node;
        if (blocked) {
            prev = idx;
            continue;
        }
        rc = decide(s, j, scratch, err);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            if (j->nodes == 1 && j->gpus_per_node <= 1)
                break; /* no free GPU anywhere */
            /* A held gang says nothing of what fits: a later one may have waited long enough. */
            if (!s->held && failed_count < SIM_FAILED_SHAPES)
                failed[failed_count++] = (struct shape){j->nodes, j->gpus_per_node};
            prev = idx;
            continue;
        }
        if (prev == NONE)
            s->head = next;
        else
            s->next[prev] = next;
        if (s->tail == idx)
            s->tail = prev;
        if (start_job(s, idx, now, scratch, err) < 0)
            return -1;
    }
    return 0;
}

static int simulate(enum policy policy, const struct trace *t, const struct machines *m,
                    unsigned leaf_size, unsigned block_size, unsigned leaf_wait, struct result *res,
                    struct zn_error *err)
{
    struct sim s = {.policy = policy,
                    .t = t,
                    .head = NONE,
                    .tail = NONE,
                    .leaf_wait = policy == POLICY_ZENITH ? leaf_wait : 0};
    struct layout lay;
    size_t submitted = 0, ended = 0, max_nodes = 1, *scratch = NULL;
    uint64_t first = t->jobs[0].submit, last = first, prev = first;
    unsigned long stranded = 0;
    double stranded_seconds = 0;
    int rc = -1;

    memset(res, 0, sizeof(*res));
    s.c = trace_cluster(m, leaf_size, block_size, &lay, err);
    if (!s.c)
        goto out;
    if (policy == POLICY_STOCK && stock_init(&s.stock, s.c, err) < 0)
        goto out;
    for (size_t i = 0; i < t->count; i++)
        if (t->jobs[i].nodes > max_nodes)
            max_nodes = t->jobs[i].nodes;
    s.alloc = calloc(t->count, sizeof(*s.alloc));
    s.next = malloc(t->count * sizeof(*s.next));
    s.woken = calloc(t->count, 1);
    scratch = malloc(max_nodes * sizeof(*scratch));
    if (!s.alloc || !s.next || !s.woken || !scratch) {
        zn_fail(err, "out of memory for the simulation");
        goto out;
    }
    while (ended < t->count) {
        uint64_t now = UINT64_MAX;

        if (submitted < t->count)
            now = t->jobs[submitted].submit;
        if (s.running.count && s.running.v[0].time < now)
            now = s.running.v[0].time;
        if (s.wakes.count && s.wakes.v[0].time < now)
            now = s.wakes.v[0].time;
        if (now == UINT64_MAX) {
            zn_fail(err,
                    "%zu jobs wait with nothing running and can never start; this is a "
                    "bug in the simulator",
                    t->count - ended);
            goto out;
        }
        /* The cluster did not change since the last event: integrate what it stranded. */
        stranded_seconds += (double)stranded * (double)(now - prev);
        while (s.running.count && s.running.v[0].time == now) {
            if (end_job(&s, heap_pop(&s.running).job, err) < 0)
                goto out;
            ended++;
            last = now;
        }
        while (s.wakes.count && s.wakes.v[0].time == now)
            heap_pop(&s.wakes);
        while (submitted < t->count && t->jobs[submitted].submit == now) {
            s.next[submitted] = NONE;
            if (s.tail == NONE)
                s.head = submitted;
            else
                s.next[s.tail] = submitted;
            s.tail = submitted++;
        }
        s.now = now;
        if (walk_queue(&s, now, scratch, err) < 0)
            goto out;
        stranded = zn_cluster_stranded_gpus(s.c);
        prev = now;
    }
    res->jobs = s.waits.count;
    res->multi = s.multi;
    res->one_leaf = s.one_leaf;
    res->one_block = s.one_block;
    res->wait_mean = samples_mean(&s.waits);
    res->wait_p95 = samples_percentile(&s.waits, 95);
    res->stranded_gpu_hours = stranded_seconds / 3600;
    res->makespan = last - first;
    res->decisions = s.decide_ns.count;
    res->decide_mean_us = samples_mean(&s.decide_ns) / 1000;
    res->decide_p99_us = (double)samples_percentile(&s.decide_ns, 99) / 1000;
    rc = 0;
out:
    if (s.alloc)
        for (size_t i = 0; i < t->count; i++)
            free(s.alloc[i]);
    free(s.alloc);
    free(s.next);
    free(scratch);
    free(s.running.v);
    free(s.wakes.v);
    free(s.woken);
    free(s.decide_ns.v);
    free(s.waits.v);
    stock_free(&s.stock);
    zn_cluster_free(s.c);
    return rc;
}

static void print_result(enum policy policy, const struct result *r)
{
    printf("%-7s %zu jobs run; %zu multi-node, %zu (%.1f%%) inside one leaf switch; wait mean "
           "%.1f s, p95 %" PRIu64 " s; stranded %.1f GPU-h; makespan %" PRIu64
           " s; decision mean %.2f us, p99 %.2f us (%zu decisions)\n",
           policy == POLICY_ZENITH ? "zenith:" : "stock:", r->jobs, r->multi, r->one_leaf,
           r->multi ? 100.0 * (double)r->one_leaf / (double)r->multi : 0, r->wait_mean, r->wait_p95,
           r->stranded_gpu_hours, r->makespan, r->decide_mean_us, r->decide_p99_us, r->decisions);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int run_trace(const char *machines_path, const char *trace_path, unsigned leaf_size,
                     unsigned block_size, unsigned limit, unsigned compress, unsigned leaf_wait,
                     struct zn_error *err)
{
    struct machines m = {0};
    struct trace t = {0};
    struct result res[2];
    struct layout lay;
    struct zn_cluster *c = NULL;
    size_t multi = 0;
    double share[2];
    char b[8][32];
    int rc = -1;

    /* The cluster is built once here to check the machine list and describe it; each policy
     * then runs on a fresh copy. */
    if (read_machines(machines_path, &m, err) < 0)
        goto out;
    c = trace_cluster(&m, leaf_size, block_size, &lay, err);
    if (!c || read_trace(trace_path, limit, compress, &t, err) < 0 || shape_jobs(&t, &m, err) < 0)
        goto out;
    for (size_t i = 0; i < t.count; i++)
        multi += t.jobs[i].nodes > 1;
    printf("placement-sim: %s on %s\n", base_name(trace_path), base_name(machines_path));
    printf("jobs: %zu rows%s, %zu skipped (no GPU), %zu simulated: %zu on one node, %zu on "
           "several",
           t.rows, limit ? " (--limit)" : "", t.zero_gpu, t.count, t.count - multi, multi);
    if (compress > 1)
        printf("; submit times divided by %u (--compress)", compress);
    if (t.uneven)
        printf("; %zu not a multiple of %u GPUs, spread evenly: %s", t.uneven, m.max_gpus,
               t.uneven_shapes);
    printf("\n");
    printf("cluster: %zu nodes (%s GPUs, %lu GPUs in all), %zu leaf switches of <=%u nodes, %zu "
           "spine\n",
           c->node_count, lay.nodes, lay.gpus, lay.leaves, leaf_size, lay.spines);
    if (block_size)
        printf("blocks: %zu NVLink blocks of <=%u consecutive %u-GPU nodes (--block-size)\n",
               lay.blocks, block_size, m.max_gpus);
    printf("scheduler: event-driven, queue by submit time then job id, at every arrival or end "
           "start each job that fits now (greedy backfill, no reservations), the same for both\n");
    printf("policies: zenith = zn_place (gang for multi-node jobs, GPU best fit otherwise), first "
           "candidate, gangs wait up to %u s for a leaf switch (--leaf-wait); stock = model of "
           "22.05 cons_tres _eval_nodes_topo, equal weights, GPUs only\n",
           leaf_wait);
    fflush(stdout);
    for (int p = POLICY_ZENITH; p <= POLICY_STOCK; p++) {
        if (simulate((enum policy)p, &t, &m, leaf_size, block_size, leaf_wait, &res[p], err) < 0)
            goto out;
        if (res[p].jobs != t.count) {
            zn_fail(err, "the %s run started %zu of %zu jobs; this is a bug in the simulator",
                    policy_name[p], res[p].jobs, t.count);
            goto out;
        }
        print_result((enum policy)p, &res[p]);
        if (block_size)
            printf("%-7s %zu of %zu multi-node jobs (%.1f%%) inside one NVLink block of %u "
                   "nodes%s\n",
                   p == POLICY_ZENITH ? "zenith:" : "stock:", res[p].one_block, res[p].multi,
                   res[p].multi ? 100.0 * (double)res[p].one_block / (double)res[p].multi : 0,
                   block_size,
                   p == POLICY_STOCK ? " (the stock model knows no blocks, as 22.05)" : "");
        fflush(stdout);
        share[p] = res[p].multi ? (double)res[p].one_leaf / (double)res[p].multi : 0;
    }
    printf("zenith/stock: one-leaf share %s, wait mean %s, wait p95 %s, stranded GPU-h %s, "
           "makespan %s\n",
           ratio_text(b[0], sizeof(b[0]), share[0], share[1]),
           ratio_text(b[1], sizeof(b[1]), res[0].wait_mean, res[1].wait_mean),
           ratio_text(b[2], sizeof(b[2]), (double)res[0].wait_p95, (double)res[1].wait_p95),
           ratio_text(b[3], sizeof(b[3]), res[0].stranded_gpu_hours, res[1].stranded_gpu_hours),
           ratio_text(b[4], sizeof(b[4]), (double)res[0].makespan, (double)res[1].makespan));
    printf("zenith/stock: decision time mean %s, p99 %s\n",
           ratio_text(b[5], sizeof(b[5]), res[0].decide_mean_us, res[1].decide_mean_us),
           ratio_text(b[6], sizeof(b[6]), res[0].decide_p99_us, res[1].decide_p99_us));
    rc = 0;
out:
    zn_cluster_free(c);
    free(t.jobs);
    machines_free(&m);
    return rc;
}

/* ------------------------------------------------------------------ --scale */

struct scale_layout {
    size_t leaves, spines;
    unsigned long busy, gpus;
    size_t idle;
};

/* N nodes of 8 GPUs, leaves of leaf_size, spines of SIM_SPINE_LEAVES leaves, one top switch;
 * a fifth of the nodes full, the rest with 0 to 8 GPUs busy: about 60% of the GPUs in use. */
static struct zn_cluster *scale_cluster(size_t nodes, unsigned leaf_size, uint64_t seed,
                                        struct scale_layout *lay, struct zn_error *err)
{
    struct zn_cluster *c = zn_cluster_new(), *done = NULL;
    struct text topo = {0};
    uint64_t state = seed;

    memset(lay, 0, sizeof(*lay));
    if (!c) {
        zn_fail(err, "out of memory for the cluster model");
        goto out;
    }
    for (size_t n = 0; n < nodes; n++) {
        char name[32];
        unsigned busy = next_random(&state) % 5 == 0 ? 8 : (unsigned)(next_random(&state) % 9);

        snprintf(name, sizeof(name), "n%zu", n);
        if (zn_cluster_add_node(c, name, 8, 8 - busy, err) < 0)
            goto out;
        lay->busy += busy;
        lay->gpus += 8;
        lay->idle += busy == 0;
    }
    for (size_t first = 0; first < nodes; first += leaf_size) {
        size_t end = first + leaf_size < nodes ? first + leaf_size : nodes;

        if (text_add(&topo, err, "SwitchName=leaf%zu Nodes=n[%zu-%zu]\n", lay->leaves++, first,
                     end - 1) < 0)
            goto out;
    }
    for (size_t first = 0; first < lay->leaves; first += SIM_SPINE_LEAVES) {
        size_t end =
            first + SIM_SPINE_LEAVES < lay->leaves ? first + SIM_SPINE_LEAVES : lay->leaves;

        if (text_add(&topo, err, "SwitchName=spine%zu Switches=leaf[%zu-%zu]\n", lay->spines++,
                     first, end - 1) < 0)
            goto out;
    }
    if (text_add(&topo, err, "SwitchName=top Switches=spine[0-%zu]\n", lay->spines - 1) < 0)
        goto out;
    done = load_cluster(c, &topo, err);
out:
    free(topo.s);
    if (!done)
        zn_cluster_free(c);
    return done;
}

static size_t leaves_used(const struct zn_cluster *c, const size_t *nodes, size_t count)
{
    size_t distinct = 0;

    for (size_t i = 0; i < count; i++) {
        bool seen = false;

        for (size_t k = 0; k < i && !seen; k++)
            seen = c->nodes[nodes[k]].leaf == c->nodes[nodes[i]].leaf;
        distinct += !seen;
    }
    return distinct;
}

static const char *leaves_text(char *buf, size_t len, size_t leaves)
{
    if (leaves == 0)
        snprintf(buf, len, "nothing fits");
    else
        snprintf(buf, len, "%zu leaf switch%s", leaves, leaves == 1 ? "" : "es");
    return buf;
}

struct timing {
    struct samples ns;
    size_t leaves; /* leaf switches the last decision used, 0 when nothing fit */
};

/* The two policies alternate call by call, so drift in the machine hits both alike. */
static int time_request(const struct zn_cluster *c, const struct stock_model *m,
                        const struct zn_job_request *r, unsigned iterations, struct timing *z,
                        struct timing *s, size_t *scratch, struct zn_error *err)
{
    for (unsigned i = 0; i < SIM_WARMUP + iterations; i++) {
        struct zn_placement p;
        uint64_t t0, t1, t2;
        int zrc, src;

        t0 = now_ns();
        zrc = zn_place(c, NULL, r, 1, &p, err);
        t1 = now_ns();
        if (zrc < 0)
            return -1;
        z->leaves = p.count ? leaves_used(c, p.list[0].nodes, p.list[0].count) : 0;
        zn_placement_free(&p);
        t1 = t1 - t0;
        t0 = now_ns();
        src = stock_choose(m, r->nodes, r->gpus_per_node, scratch, err);
        t2 = now_ns();
        if (src < 0)
            return -1;
        s->leaves = src ? leaves_used(c, scratch, r->nodes) : 0;
        if (i < SIM_WARMUP)
            continue;
        if (samples_add(&z->ns, t1, err) < 0 || samples_add(&s->ns, t2 - t0, err) < 0)
            return -1;
    }
    return 0;
}

static int run_scale(size_t nodes, unsigned leaf_size, unsigned iterations, uint64_t seed,
                     struct zn_error *err)
{
    static const struct {
        const char *label;
        struct zn_job_request r;
    } requests[] = {
        {"1x2 GPUs", {.nodes = 1, .gpus_per_node = 2, .gang = false}},
        {"4x8 GPUs gang", {.nodes = 4, .gpus_per_node = 8, .gang = true}},
        {"16x8 GPUs gang", {.nodes = 16, .gpus_per_node = 8, .gang = true}},
    };
    struct scale_layout lay;
    struct stock_model m = {0};
    struct timing z = {{0}, 0}, s = {{0}, 0};
    size_t *scratch = NULL;
    struct zn_cluster *c = scale_cluster(nodes, leaf_size, seed, &lay, err);
    int rc = -1;

    if (!c || stock_init(&m, c, err) < 0)
        goto out;
    scratch = malloc(16 * sizeof(*scratch));
    if (!scratch) {
        zn_fail(err, "out of memory for the scaling run");
        goto out;
    }
    printf("scale: %zu nodes x 8 GPUs, %zu leaf switch%s of <=%u nodes, %zu spine switch%s of "
           "<=%u leaves, 1 top switch; seed %" PRIu64 ": %lu of %lu GPUs busy (%.1f%%), %zu idle "
           "nodes; %u timed decisions per policy and request\n",
           c->node_count, lay.leaves, lay.leaves == 1 ? "" : "es", leaf_size, lay.spines,
           lay.spines == 1 ? "" : "es", SIM_SPINE_LEAVES, seed, lay.busy, lay.gpus,
           100.0 * (double)lay.busy / (double)lay.gpus, lay.idle, iterations);
    for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
        double zm, zp, sm, sp;
        char b[4][48];

        z.ns.count = s.ns.count = 0;
        if (time_request(c, &m, &requests[i].r, iterations, &z, &s, scratch, err) < 0)
            goto out;
        zm = samples_mean(&z.ns) / 1000;
        sm = samples_mean(&s.ns) / 1000;
        zp = (double)samples_percentile(&z.ns, 99) / 1000;
        sp = (double)samples_percentile(&s.ns, 99) / 1000;
        printf("  %-15s zenith mean %8.2f us, p99 %8.2f us (%s); stock mean %8.2f us, p99 %8.2f "
               "us (%s); zenith/stock mean %s, p99 %s\n",
               requests[i].label, zm, zp, leaves_text(b[2], sizeof(b[2]), z.leaves), sm, sp,
               leaves_text(b[3], sizeof(b[3]), s.leaves), ratio_text(b[0], sizeof(b[0]), zm, sm),
               ratio_text(b[1], sizeof(b[1]), zp, sp));
        fflush(stdout);
    }
    rc = 0;
out:
    free(scratch);
    free(z.ns.v);
    free(s.ns.v);
    stock_free(&m);
    zn_cluster_free(c);
    return rc;
}

/* ------------------------------------------------------------------ main */

static void usage(FILE *f)
{
    fputs("usage: placement-sim [--leaf-size N] [--block-size N] [--limit N] [--compress N]\n"
          "                     [--leaf-wait S] MACHINES.csv TRACE.csv\n"
          "       placement-sim --scale NODES [--leaf-size N] [--iterations N] [--seed N]\n"
          "\n"
          "Replays a Philly job trace (Chronus CSV layout) on the cluster of its machine list,\n"
          "once with Zenith's placement core and once with a model of stock Slurm 22.05\n"
          "select/cons_tres with topology/tree, under the same scheduler, and prints per policy\n"
          "the multi-node jobs kept inside one leaf switch, queue wait (mean, p95), stranded\n"
          "GPU-hours, makespan and decision time, then Zenith/stock ratios.\n"
          "With --scale it times single decisions on a synthetic cluster instead.\n"
          "\n"
          "  --leaf-size N    nodes per leaf switch (default 32)\n"
          "  --limit N        replay only the first N rows of the trace (ignored with --scale)\n"
          "  --compress N     divide submit times by N: the same jobs arrive N times as fast\n"
          "                   (default 1; ignored with --scale)\n"
          "  --scale NODES    synthetic cluster of NODES 8-GPU nodes, spines of 16 leaves\n"
          "  --iterations N   timed decisions per request with --scale (default 2000)\n"
          "  --seed N         occupancy seed with --scale (default 1)\n"
          "  --block-size N   NVLink blocks of N consecutive nodes of the largest GPU size\n"
          "                   (the stock model has none, as Slurm 22.05; ignored with --scale)\n"
          "  --leaf-wait S    zenith: a gang waits up to S seconds of the trace for a leaf\n"
          "                   switch before the spine (default 0; ignored with --scale)\n"
          "  --help           this text\n",
          f);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"leaf-size", required_argument, NULL, 'L'},
        {"limit", required_argument, NULL, 'n'},
        {"compress", required_argument, NULL, 'c'},
        {"scale", required_argument, NULL, 's'},
        {"iterations", required_argument, NULL, 'i'},
        {"seed", required_argument, NULL, 'r'},
        {"leaf-wait", required_argument, NULL, 'w'},
        {"block-size", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned leaf_size = SIM_LEAF_SIZE_DEFAULT, limit = 0, compress = 1, scale = 0;
    unsigned iterations = SIM_ITERATIONS_DEFAULT, seed = SIM_SEED_DEFAULT, leaf_wait = 0;
    unsigned block_size = 0;
    struct zn_error err;
    int opt, rc;

    zn_error_clear(&err);
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        int parsed = 0;

        switch (opt) {
        case 'L':
            parsed = zn_parse_count("--leaf-size", optarg, 1u << 16, &leaf_size, &err);
            break;
        case 'n':
            parsed = zn_parse_count("--limit", optarg, UINT32_MAX, &limit, &err);
            break;
        case 'c':
            parsed = zn_parse_count("--compress", optarg, 1000000, &compress, &err);
            break;
        case 's':
            parsed = zn_parse_count("--scale", optarg, 1u << 20, &scale, &err);
            break;
        case 'i':
            parsed = zn_parse_count("--iterations", optarg, 10000000, &iterations, &err);
            break;
        case 'r':
            parsed = zn_parse_count("--seed", optarg, UINT32_MAX, &seed, &err);
            break;
        case 'b':
            parsed = zn_parse_count("--block-size", optarg, 1u << 16, &block_size, &err);
            break;
        case 'w':
            parsed = zn_parse_seconds("--leaf-wait", optarg, 100u * 24 * 3600, &leaf_wait, &err);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            fprintf(stderr, "zenith: %s needs a value; see placement-sim --help\n",
                    argv[optind - 1]);
            return 2;
        default:
            if (optopt)
                fprintf(stderr, "zenith: unknown option -%c; see placement-sim --help\n", optopt);
            else
                fprintf(stderr,
                        "zenith: unknown or ambiguous option %s; see placement-sim --help\n",
                        argv[optind - 1]);
            return 2;
        }
        if (parsed < 0) {
            fprintf(stderr, "%s; see placement-sim --help\n", err.text);
            return 2;
        }
    }
    if (scale) {
        if (optind != argc) {
            fprintf(stderr, "zenith: --scale builds its own cluster; leave out %s\n", argv[optind]);
            return 2;
        }
        rc = run_scale(scale, leaf_size, iterations, seed, &err);
    } else {
        if (argc - optind != 2) {
            fprintf(stderr, "zenith: give the machine list and the trace (or --scale NODES); "
                            "see placement-sim --help\n");
            return 2;
        }
        rc = run_trace(argv[optind], argv[optind + 1], leaf_size, block_size, limit, compress,
                       leaf_wait, &err);
    }
    if (rc < 0) {
        fflush(stdout);
        fprintf(stderr, "%s\n", err.text);
        return 1;
    }
    return 0;
}
