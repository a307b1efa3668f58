/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_SLURM_VIEW_H
#define ZENITH_SLURM_VIEW_H

/* slurmctld's cluster as the placement core sees it (Slurm 22.05 adapter): the node table with
 * each node's GPUs, NVLink blocks from node features, the switch tree from topology.conf. */

#include <stdbool.h>

#include "src/common/bitstring.h"
#include "src/slurmctld/slurmctld.h"

#include "select/core/cluster.h"
#include "select/core/place.h"

/* A node feature "nvlblock_NAME" puts the node into NVLink block NAME. */
#define ZN_BLOCK_FEATURE_PREFIX "nvlblock_"

struct zn_view;

/* Built from the node table and topology.conf; NULL (and the reason logged) when it cannot
 * be, in which case the plugin only forwards to cons_tres. */
struct zn_view *zn_view_build(void);
void zn_view_free(struct zn_view *view);

/* Bring free GPUs up to date and mark the nodes set in usable. With now false every GPU
 * counts as free: the shape of the cluster when jobs have ended (backfill's question). */
struct zn_cluster *zn_view_refresh(struct zn_view *view, bitstr_t *usable, bool now,
                                   const unsigned char **usable_mask);

/* Slurm's node index of a node of the model. */
int zn_view_slurm_index(const struct zn_view *view, size_t node);

#endif
