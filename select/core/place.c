/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The placement policy: rules in place.h, as users meet them in zenith-select(8). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "select/core/place.h"

struct fit {
    size_t rank; /* leaf order for gangs above leaf level, else 0 */
    unsigned free;
    size_t node;
};

struct ranked {
    size_t domain;
    unsigned long left_free;
};

struct placer {
    const struct zn_cluster *c;
    const unsigned char *usable;
    const struct zn_job_request *r;
    size_t max;
    struct zn_placement *out;
    struct fit *fits; /* scratch, one per node */
    struct zn_error *err;
    int64_t wide_opens_at; /* the wait rule: when spine and anywhere candidates open, 0 now */
};

const char *zn_scope_name(enum zn_scope scope)
{
    switch (scope) {
    case ZN_SCOPE_NODE:
        return "node";
    case ZN_SCOPE_BLOCK:
        return "nvlink-block";
    case ZN_SCOPE_LEAF:
        return "leaf-switch";
    case ZN_SCOPE_SPINE:
        return "switch";
    case ZN_SCOPE_ANY:
        return "anywhere";
    }
    return "?";
}

bool zn_scope_is_wide(enum zn_scope scope)
{
    return scope == ZN_SCOPE_SPINE || scope == ZN_SCOPE_ANY;
}

static bool fits_node(const struct placer *p, size_t node)
{
    return (!p->usable || p->usable[node]) && p->c->nodes[node].gpus_free >= p->r->gpus_per_node;
}

/* Whether the domain can take the job, and the free GPUs it would have left. */
static bool domain_fits(const struct placer *p, const size_t *nodes, size_t count,
                        unsigned long *left_free)
{
    size_t eligible = 0;
    unsigned long free = 0;

    for (size_t i = 0; i < count; i++) {
        size_t n = nodes[i];
        if (p->usable && !p->usable[n])
            continue;
        free += p->c->nodes[n].gpus_free;
        if (p->c->nodes[n].gpus_free >= p->r->gpus_per_node)
            eligible++;
    }
    if (eligible < p->r->nodes)
        return false;
    *left_free = free - (unsigned long)p->r->nodes * p->r->gpus_per_node;
    return true;
}

static int compare_fit(const void *a, const void *b)
{
    const struct fit *x = a, *y = b;

    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if (x->free != y->free)
        return x->free < y->free ? -1 : 1;
    return (x->node > y->node) - (x->node < y->node);
}

/* Put the k best fits (in compare_fit order) first, sorted: O(n) on average rather than
 * sorting all n, which matters for one-node jobs on large clusters. */
static void select_best(struct fit *fits, size_t n, size_t k)
{
    size_t lo = 0, hi = n;

    if (k == 0 || n == 0)
        return;
    if (k > n)
        k = n;
    while (hi - lo > 16) {
        struct fit pivot = fits[lo + (hi - lo) / 2], t;
        size_t i = lo, j = hi - 1;

        /* Hoare partition; the order is total (node indices differ), so it always ends. */
        for (;;) {
            while (compare_fit(&fits[i], &pivot) < 0)
                i++;
            while (compare_fit(&fits[j], &pivot) > 0)
                j--;
            if (i >= j)
                break;
            t = fits[i];
            fits[i++] = fits[j];
            fits[j--] = t;
        }
        /* [0, lo) holds the smallest elements, [hi, n) the largest: the k best are in
         * [0, hi). */
        if (k <= j + 1)
            hi = j + 1;
        else
            lo = j + 1;
    }
    qsort(fits, hi, sizeof(*fits), compare_fit);
}

static int compare_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;

    if (x->left_free != y->left_free)
        return x->left_free < y->left_free ? -1 : 1;
    return (x->domain > y->domain) - (x->domain < y->domain);
}

static bool same_nodes(const struct zn_candidate *a, const size_t *nodes, size_t count)
{
    return a->count == count && memcmp(a->nodes, nodes, count * sizeof(*nodes)) == 0;
}

struct leaf_count {
    size_t eligible;
    size_t leaf;
};

static int compare_leaf_count(const void *a, const void *b)
{
    const struct leaf_count *x = a, *y = b;

    if (x->eligible != y->eligible)
        return x->eligible > y->eligible ? -1 : 1;
    return (x->leaf > y->leaf) - (x->leaf < y->leaf);
}

/* Above leaf level a gang still touches as few leaf switches as it can: leaves with the most
 * nodes that fit come first, best fit inside each. */
static int rank_by_leaf(struct placer *p, size_t eligible)
{
    size_t leaves = p->c->switch_count + 1; /* the last one: nodes under no switch */
    struct leaf_count *counts = calloc(leaves, sizeof(*counts));
    size_t *rank = calloc(leaves, sizeof(*rank));

    if (!counts || !rank) {
        free(counts);
        free(rank);
        return zn_fail(p->err, "out of memory placing a job");
    }
    for (size_t l = 0; l < leaves; l++)
        counts[l].leaf = l;
    for (size_t i = 0; i < eligible; i++) {
        int leaf = p->c->nodes[p->fits[i].node].leaf;
        counts[leaf >= 0 ? (size_t)leaf : leaves - 1].eligible++;
    }
    qsort(counts, leaves, sizeof(*counts), compare_leaf_count);
    for (size_t l = 0; l < leaves; l++)
        rank[counts[l].leaf] = l;
    for (size_t i = 0; i < eligible; i++) {
        int leaf = p->c->nodes[p->fits[i].node].leaf;
        p->fits[i].rank = rank[leaf >= 0 ? (size_t)leaf : leaves - 1];
    }
    free(counts);
    free(rank);
    return 0;
}

/* Best fit inside one domain: the nodes with the fewest free GPUs that still fit. Appends the
 * candidate unless an earlier one chose the same nodes. */
static int add_candidate(struct placer *p, enum zn_scope scope, unsigned level, const char *where,
                         const struct zn_domain *domain, const size_t *nodes, size_t count,
                         unsigned long left_free)
{
    size_t eligible = 0, want = p->r->nodes;
    struct zn_candidate *cand;
    size_t *chosen;

    for (size_t i = 0; i < count; i++)
        if (fits_node(p, nodes[i]))
            p->fits[eligible++] = (struct fit){0, p->c->nodes[nodes[i]].gpus_free, nodes[i]};
    if (eligible < want)
        return 0;
    if (p->r->gang && (scope == ZN_SCOPE_SPINE || scope == ZN_SCOPE_ANY) &&
        rank_by_leaf(p, eligible) < 0)
        return -1;
    select_best(p->fits, eligible, want);
    chosen = malloc(want * sizeof(*chosen));
    if (!chosen)
        return zn_fail(p->err, "out of memory placing a job");
    for (size_t i = 0; i < want; i++)
        chosen[i] = p->fits[i].node;
    qsort(chosen, want, sizeof(*chosen), zn_compare_node_index);
    /* Backfill tests whole domains: a spine whose best nodes are a leaf's is still a domain of
     * its own there. */
    for (size_t i = 0; i < p->out->count && !p->r->plan_ahead; i++) {
        if (same_nodes(&p->out->list[i], chosen, want)) {
            free(chosen);
            return 0;
        }
    }
    cand = &p->out->list[p->out->count++];
    *cand = (struct zn_candidate){
        scope,  level, where,     domain,
        chosen, want,  left_free, zn_scope_is_wide(scope) ? p->wide_opens_at : 0};
    return 0;
}

/* The d-th domain of a scope: a block, or a switch of the given level (NULL for a switch of
 * another level); d runs below scope_domains(). */
static size_t scope_domains(const struct zn_cluster *c, enum zn_scope scope)
{
    return scope == ZN_SCOPE_BLOCK ? c->block_count : c->switch_count;
}

static const struct zn_domain *scope_domain(const struct zn_cluster *c, enum zn_scope scope,
                                            unsigned level, size_t d)
{
    if (scope == ZN_SCOPE_BLOCK)
        return &c->blocks[d];
    return c->switches[d].level == level ? &c->switches[d].domain : NULL;
}

/* Rank the domains of one scope by best fit and add the best ones. */
static int add_scope(struct placer *p, enum zn_scope scope, unsigned level)
{
    size_t domains = scope_domains(p->c, scope);
    struct ranked *ranked;
    size_t fitting = 0;
    int rc = 0;

    if (domains == 0 || p->out->count >= p->max)
        return 0;
    ranked = malloc(domains * sizeof(*ranked));
    if (!ranked)
        return zn_fail(p->err, "out of memory placing a job");
    for (size_t d = 0; d < domains; d++) {
        const struct zn_domain *dom = scope_domain(p->c, scope, level, d);
        unsigned long left;

        if (dom && domain_fits(p, dom->nodes, dom->node_count, &left))
            ranked[fitting++] = (struct ranked){d, left};
    }
    qsort(ranked, fitting, sizeof(*ranked), compare_ranked);
    for (size_t i = 0; i < fitting && p->out->count < p->max && rc == 0; i++) {
        const struct zn_domain *dom = scope_domain(p->c, scope, level, ranked[i].domain);
        rc = add_candidate(p, scope, level, dom->name, dom, dom->nodes, dom->node_count,
                           ranked[i].left_free);
    }
    free(ranked);
    return rc;
}

/* One node jobs: every node that fits is a domain of its own, best fit first. */
static int add_single_nodes(struct placer *p)
{
    size_t eligible = 0;

    for (size_t n = 0; n < p->c->node_count; n++)
        if (fits_node(p, n))
            p->fits[eligible++] = (struct fit){0, p->c->nodes[n].gpus_free, n};
    select_best(p->fits, eligible, p->max);
    for (size_t i = 0; i < eligible && p->out->count < p->max; i++) {
        size_t *chosen = malloc(sizeof(*chosen));
        size_t node = p->fits[i].node;

        if (!chosen)
            return zn_fail(p->err, "out of memory placing a job");
        *chosen = node;
        p->out->list[p->out->count++] = (struct zn_candidate){
            .scope = ZN_SCOPE_NODE,
            .where = p->c->nodes[node].name,
            .nodes = chosen,
            .count = 1,
            .left_free = p->c->nodes[node].gpus_free - p->r->gpus_per_node,
        };
    }
    return 0;
}

static int add_anywhere(struct placer *p)
{
    size_t *all;
    unsigned long left;
    int rc = 0;

    if (p->out->count >= p->max)
        return 0;
    all = malloc((p->c->node_count ? p->c->node_count : 1) * sizeof(*all));
    if (!all)
        return zn_fail(p->err, "out of memory placing a job");
    for (size_t n = 0; n < p->c->node_count; n++)
        all[n] = n;
    if (domain_fits(p, all, p->c->node_count, &left))
        rc = add_candidate(p, ZN_SCOPE_ANY, 0, "cluster", NULL, all, p->c->node_count, left);
    free(all);
    return rc;
}

/* Whether some block or leaf switch has enough usable nodes with the GPUs, busy or not: else a
 * wait for one could never end in a tighter placement. */
static bool narrow_domain_could_hold(const struct placer *p)
{
    static const enum zn_scope narrow[] = {ZN_SCOPE_BLOCK, ZN_SCOPE_LEAF};

    for (size_t k = 0; k < sizeof(narrow) / sizeof(narrow[0]); k++) {
        for (size_t d = 0; d < scope_domains(p->c, narrow[k]); d++) {
            const struct zn_domain *dom = scope_domain(p->c, narrow[k], 0, d);
            size_t enough = 0;

            for (size_t i = 0; dom && i < dom->node_count && enough < p->r->nodes; i++) {
                size_t n = dom->nodes[i];
                if ((!p->usable || p->usable[n]) &&
                    p->c->nodes[n].gpus_total >= p->r->gpus_per_node)
                    enough++;
            }
            if (enough >= p->r->nodes)
                return true;
        }
    }
    return false;
}

/* The wait rule (place.h): when the wide candidates open, 0 when they are open now. */
static int64_t wide_opens_at(const struct placer *p)
{
    const struct zn_job_request *r = p->r;
    int64_t opens;

    if (!r->gang || r->leaf_wait == 0)
        return 0;
    opens = r->eligible_at > INT64_MAX - (int64_t)r->leaf_wait
                ? INT64_MAX
                : r->eligible_at + (int64_t)r->leaf_wait;
    if (r->now >= opens || !narrow_domain_could_hold(p))
        return 0;
    if (!zn_leaf_wait_pays(r->narrow_start, opens)) {
        p->out->wait_skipped_until = opens;
        return 0;
    }
    return opens;
}

bool zn_leaf_wait_pays(int64_t narrow_start, int64_t wide_opens_at)
{
    return wide_opens_at != 0 && (narrow_start == 0 || narrow_start < wide_opens_at);
}

int zn_place(const struct zn_cluster *c, const unsigned char *usable,
             const struct zn_job_request *r, size_t max_candidates, struct zn_placement *out,
             struct zn_error *err)
{
    struct placer p = {c, usable, r, max_candidates, out, NULL, err, 0};
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (r->nodes == 0)
        return zn_fail(err, "a placement request needs at least one node");
    if (max_candidates == 0)
        return zn_fail(err, "a placement needs room for one candidate");
    if (r->nodes > c->node_count)
        return 0;
    out->list = calloc(max_candidates, sizeof(*out->list));
    p.fits = malloc((c->node_count ? c->node_count : 1) * sizeof(*p.fits));
    if (!out->list || !p.fits) {
        zn_fail(err, "out of memory placing a job");
        goto out;
    }
    if (r->nodes == 1) {
        /* Every domain's best single node is one of these. */
        rc = add_single_nodes(&p);
        goto out;
    }
    /* Backfill always gets the whole cluster as its last domain: cons_tres's earliest start
     * anywhere, however many leaves fill the list before it. */
    if (r->plan_ahead && max_candidates > 1)
        p.max = max_candidates - 1;
    if (r->gang) {
        if (add_scope(&p, ZN_SCOPE_BLOCK, 0) < 0 || add_scope(&p, ZN_SCOPE_LEAF, 0) < 0)
            goto out;
        p.wide_opens_at = out->wide_opens_at = wide_opens_at(&p);
        if (p.wide_opens_at && !r->plan_ahead) {
            rc = 0;
            goto out;
        }
        for (unsigned level = 1; level <= c->top_level; level++)
            if (add_scope(&p, ZN_SCOPE_SPINE, level) < 0)
                goto out;
    }
    p.max = max_candidates;
    rc = add_anywhere(&p);
out:
    free(p.fits);
    if (rc < 0)
        zn_placement_free(out);
    return rc;
}

void zn_placement_free(struct zn_placement *p)
{
    for (size_t i = 0; i < p->count; i++)
        free(p->list[i].nodes);
    free(p->list);
    memset(p, 0, sizeof(*p));
}

unsigned long zn_cluster_stranded_gpus(const struct zn_cluster *c)
{
    unsigned long stranded = 0;

    for (size_t n = 0; n < c->node_count; n++) {
        const struct zn_cluster_node *node = &c->nodes[n];
        if (node->gpus_free > 0 && node->gpus_free < node->gpus_total)
            stranded += node->gpus_free;
    }
    return stranded;
}
