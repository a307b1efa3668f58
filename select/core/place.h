/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_PLACE_H
#define ZENITH_PLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/error.h"
#include "select/core/cluster.h"

/* The placement policy. Given the cluster now and a request, it ranks candidate node sets:
 * - a gang job gets the tightest domain that fits, in this fixed order, each tried before the
 *   next: one node, one NVLink block, one leaf switch, one switch of each level above, then
 *   anywhere. Within a level the domain left with the fewest free GPUs wins (best fit), and
 *   within the domain the nodes with the fewest free GPUs that still fit.
 *   A gang may be held to one leaf switch or tighter for a while (the wait rule below): the
 *   wider candidates then open only once it has waited leaf_wait seconds, so a gang waits a
 *   bounded time for a tight domain and never forever.
 * - any other GPU job gets best-fit GPU packing: the nodes with the fewest free GPUs that
 *   still fit, wherever they are, so that whole nodes and whole switches stay free for gangs.
 * Ties go to the lower index, so the same cluster and request always give the same answer. */

enum zn_scope {
    ZN_SCOPE_NODE,
    ZN_SCOPE_BLOCK,
    ZN_SCOPE_LEAF,
    ZN_SCOPE_SPINE, /* a switch above leaves; the candidate says which level */
    ZN_SCOPE_ANY,
};

struct zn_job_request {
    unsigned nodes;         /* exactly this many nodes, at least 1 */
    unsigned gpus_per_node; /* GPUs the job takes on each node */
    bool gang;
    /* The wait rule, for gangs. Times in seconds on one clock (slurmctld: time(NULL); the
     * simulator: its own). A gang that became eligible at eligible_at is offered only node,
     * block and leaf candidates while now < eligible_at + leaf_wait; leaf_wait 0 means no
     * wait. The wait is skipped when no block or leaf among the usable nodes could ever hold
     * the job (by total GPUs): waiting could not help it. */
    unsigned leaf_wait;
    int64_t eligible_at;
    int64_t now;
    /* The earliest the job could start in one leaf switch or tighter when backfill last
     * planned it, by the running jobs' time limits (ZN_NARROW_NEVER: no such domain would take
     * it; 0: not planned yet). A wait that cannot end in a leaf before it expires is not made
     * (zn_leaf_wait_pays): a held gang stops slurmctld's main loop for the rest of its
     * partition, so holding it in vain costs every smaller job behind it. */
    int64_t narrow_start;
    /* Backfill: list the wider candidates even while the wait holds them back, each marked
     * with the time it opens (a spine start after the wait can beat a leaf that frees later),
     * and list every domain that fits, even where its best nodes are an earlier candidate's
     * (backfill offers cons_tres the whole domain); the last of max_candidates is kept for
     * anywhere, the whole cluster. */
    bool plan_ahead;
};

struct zn_candidate {
    enum zn_scope scope;
    unsigned level;    /* switch level for ZN_SCOPE_SPINE */
    const char *where; /* the domain's name (node, block or switch); "cluster" for ANY */
    const struct zn_domain *domain; /* the block or switch; NULL for NODE and ANY */
    size_t *nodes;                  /* the chosen nodes, ascending */
    size_t count;
    unsigned long left_free; /* free GPUs left in the domain after this job */
    int64_t opens_at;        /* the wait rule lets the job start here from then on; 0: now */
};

struct zn_placement {
    struct zn_candidate *list; /* best first */
    size_t count;
    /* The wait rule held spine and anywhere candidates back (left out, or with plan_ahead
     * listed with opens_at): until wide_opens_at the job starts in a leaf or tighter, or
     * waits. 0 when nothing was held back. */
    int64_t wide_opens_at;
    /* The wait rule would have held the job until then, but its narrow_start says no leaf
     * takes it before (zn_leaf_wait_pays): nothing was held back. 0 otherwise. */
    int64_t wait_skipped_until;
};

/* Rank up to max_candidates node sets for r. usable[i] (NULL: every node) says whether node i
 * may be used at all (up, in the job's partition, features, not excluded); GPUs are checked
 * here. A placement with count 0 means nothing fits now. -1 only on a bad request or no
 * memory. */
int zn_place(const struct zn_cluster *c, const unsigned char *usable,
             const struct zn_job_request *r, size_t max_candidates, struct zn_placement *out,
             struct zn_error *err);
void zn_placement_free(struct zn_placement *p);

const char *zn_scope_name(enum zn_scope scope);

#define ZN_NARROW_NEVER INT64_MAX

/* Whether holding a gang back from the wider domains until wide_opens_at can end in a tighter
 * placement: nothing is held back (wide_opens_at 0) or backfill has not planned the job yet
 * (narrow_start 0: the wait stands), or its plan starts the job in a leaf or tighter before the
 * wait ends. */
bool zn_leaf_wait_pays(int64_t narrow_start, int64_t wide_opens_at);

/* Whether a scope is wider than one leaf switch (held back by the wait rule). */
bool zn_scope_is_wide(enum zn_scope scope);

/* Free GPUs on nodes that are neither idle nor full: what small jobs strand. */
unsigned long zn_cluster_stranded_gpus(const struct zn_cluster *c);

#endif
