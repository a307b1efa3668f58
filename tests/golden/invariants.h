/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_INVARIANTS_H
#define ZENITH_INVARIANTS_H

#include "runtime/plan.h"

/* Properties every plan must have, whatever the topology and shape:
 *  - every task has CPUs, all inside the step's allowed set;
 *  - tasks share no core (no CPU when cores had to be split) unless the plan says it had to,
 *    or the mode (numa, socket, none) shares by design;
 *  - every task gets at least an equal share (allowed units / tasks) of cores, counts differ
 *    by one at most, and used plus idle units are the allowed ones; with more tasks than
 *    CPUs every allowed CPU runs floor(tasks/CPUs) or ceil(tasks/CPUs) of them;
 *  - no two tasks both span the same two NUMA nodes, or the same two L3 caches of one node;
 *  - with bind=gpu, the tasks homed on one NUMA node all sit on it whenever that node has
 *    enough allowed cores for them;
 *  - the GPU order is a permutation, every GPU is driven or owned by some task;
 *  - local/bind memory is exactly the NUMA nodes of the task's CPUs, never a memory-only node;
 *    hbm/prefer-hbm memory is HBM (memory-only) nodes only.
 * Returns NULL when all hold, else a description of the first violation (static buffer). */
const char *check_plan_invariants(const struct zn_plan *plan, hwloc_const_bitmap_t allowed);

#endif
