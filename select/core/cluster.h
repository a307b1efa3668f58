/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_CLUSTER_H
#define ZENITH_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/error.h"

/* The placement core's view of a cluster: nodes with their GPUs (total and free now), the
 * NVLink block each node belongs to (if any) and the switch tree of Slurm's topology.conf.
 * Plain C with no Slurm header: slurmctld's select plugin fills it from its node table, the
 * simulator in bench/ from a machine list, the unit tests by hand. */

struct zn_cluster_node {
    char *name;
    unsigned gpus_total;
    unsigned gpus_free;
    int block; /* index into blocks, -1 for none */
    int leaf;  /* the leaf switch listing this node, -1 for none */
};

/* A node group: an NVLink block, a leaf switch or a switch above leaves. */
struct zn_domain {
    char *name;
    size_t *nodes; /* indices into the node table, ascending */
    size_t node_count;
};

struct zn_switch {
    struct zn_domain domain; /* every node below the switch */
    int parent;              /* -1 for a top switch */
    unsigned level;          /* 0 for leaves (Nodes=), else 1 + the highest child level */
    char *children;          /* Switches= as written, NULL for a leaf */
};

struct zn_cluster {
    struct zn_cluster_node *nodes;
    size_t node_count;
    struct zn_domain *blocks;
    size_t block_count;
    struct zn_switch *switches;
    size_t switch_count;
    unsigned top_level; /* highest switch level, 0 without switches */
    /* topology/block (Slurm 23.11+): the base block size in nodes (BlockSizes' first value,
     * else the first block's node count; 0 without a block file) and the aggregation levels
     * Slurm may place a job on, bit L for 2^L consecutive base blocks (BlockSizes; default
     * levels 0-3). The core places in base blocks only. */
    unsigned block_base;
    unsigned block_levels;
    size_t unknown_nodes; /* topology.conf names not in the node table (Slurm ignores them) */
    size_t node_cap, block_cap, switch_cap;
    size_t *name_index; /* open-addressing hash of node names -> index + 1 */
    size_t name_index_cap;
};

struct zn_cluster *zn_cluster_new(void);
void zn_cluster_free(struct zn_cluster *c);

/* Append a node; returns its index or -1 (duplicate name, free > total, out of memory). */
long zn_cluster_add_node(struct zn_cluster *c, const char *name, unsigned gpus_total,
                         unsigned gpus_free, struct zn_error *err);

/* Index of the node with this name, or -1. */
long zn_cluster_find_node(const struct zn_cluster *c, const char *name);

/* Put a node into the NVLink block (or any node group) called name, created on first use. */
int zn_cluster_set_block(struct zn_cluster *c, size_t node, const char *name, struct zn_error *err);

/* Read Slurm's topology.conf syntax (SwitchName=, Nodes=, Switches=, LinkSpeed=, # comments,
 * keys in any case). source names the text in messages. Nodes must already be in the table;
 * names that are not are counted in unknown_nodes, as slurmctld ignores them too. Refuses what
 * slurmctld refuses: a switch defined twice, a switch with both or neither Nodes= and
 * Switches=, a child switch that does not exist, a switch with two parents, a loop, and a node
 * under two leaf switches.
 * Slurm 23.11's topology/block syntax is read too: BlockName=NAME Nodes=HOSTLIST lines become
 * NVLink blocks, and one BlockSizes=B[,2B,4B...] line gives the base block size and the
 * aggregation levels. Refused as slurmctld refuses them: BlockName and SwitchName in one file
 * (each is the file of one plugin), a block without Nodes=, a block defined twice, a block with
 * fewer nodes than the base size, a BlockSizes value that is not a positive multiple of the
 * first with a power-of-two quotient up to 2^15. Also refused, where slurmctld is silent: a
 * node in two blocks (an NVLink domain is one per node). */
int zn_cluster_load_topology(struct zn_cluster *c, const char *text, const char *source,
                             struct zn_error *err);
int zn_cluster_read_topology_file(struct zn_cluster *c, const char *path, struct zn_error *err);

/* qsort comparator for node indices (size_t), ascending. */
int zn_compare_node_index(const void *a, const void *b);

/* Change a node's free GPU count as jobs start and end (simulator, tests). */
int zn_cluster_set_free(struct zn_cluster *c, size_t node, unsigned gpus_free,
                        struct zn_error *err);

#endif
