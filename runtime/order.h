/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_ORDER_H
#define ZENITH_ORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/error.h"

/* Which sample comes when, and which rank takes it.
 *
 * The global order of an epoch is a function of (seed, epoch) only, never of the number of
 * ranks, so a job resumed on another rank count goes on with the same order (as Mosaic
 * Streaming does): position p of epoch e holds sample zn_order_sample(o, e, p). Shuffled, it is a
 * keyed bijection on 0..N-1 (a Feistel network with cycle walking: nothing stored, any position
 * computed in O(1)); for sharded data (tar) the shards are permuted and samples are shuffled
 * only within blocks of `block` consecutive positions, a bounded shuffle buffer that still
 * reads every shard front to back.
 *
 * Sharing: from global position `start` (samples the job consumed before it stopped, 0 for a
 * fresh epoch), rank r of W takes positions start+r, start+r+W, ... Every rank gets the same
 * count: with drop_last the tail that does not fill a round of W is dropped, else ranks that
 * run out wrap to the epoch's first positions, as torch's DistributedSampler pads. After k
 * samples on every rank the job has consumed start + k*W positions: that number, with the
 * epoch, is all a checkpoint needs. */

struct zn_order {
    uint64_t samples; /* N: positions in an epoch */
    uint64_t seed;
    bool shuffle;
    /* Sharded data: shard s holds samples shard_first[s] .. shard_first[s+1]-1 (shards+1
     * entries, shard_first[shards] == samples). NULL or shards <= 1: not sharded. */
    unsigned shards;
    const uint64_t *shard_first;
    uint64_t block; /* shuffle block of sharded data; 0: 1024 */
    /* Random windows: samples is the epoch length and each position draws a start in
     * 0 .. draw_range-1 (with replacement, seeded by seed, epoch and position); 0: off. */
    uint64_t draw_range;
};

/* Checks the order (N > 0, shard table starting at 0, never decreasing and ending at N: an
 * empty shard is allowed and holds no position; random windows not on sharded data). */
int zn_order_check(const struct zn_order *o, struct zn_error *err);

/* The sample at a global position (< samples; a larger one is taken modulo samples) of an
 * epoch. draw_range applies whether or not shuffle is set. O(1) unless sharded and shuffled:
 * then it walks the epoch's shard sequence, O(shards) a call; zn_order_epoch is the fast way. */
uint64_t zn_order_sample(const struct zn_order *o, uint64_t epoch, uint64_t position);

/* Added to the contract: one epoch of an order, with the shard sequence of sharded data built
 * once (O(shards) time, 12 bytes a shard) so that each sample is found in O(log shards). It
 * gives exactly zn_order_sample's answers. The order's shard table must outlive it. */
struct zn_order_epoch {
    struct zn_order order;
    uint64_t epoch;
    unsigned *shard_at;     /* slot -> shard in this epoch's sequence; NULL when not needed */
    uint64_t *stream_first; /* slot -> its first stream position (shards+1 entries) */
};

/* -1 when the order fails zn_order_check or the table cannot be allocated. */
int zn_order_epoch_init(struct zn_order_epoch *e, const struct zn_order *o, uint64_t epoch,
                        struct zn_error *err);
uint64_t zn_order_epoch_sample(const struct zn_order_epoch *e, uint64_t position);
void zn_order_epoch_fini(struct zn_order_epoch *e);

struct zn_share {
    uint64_t samples; /* N */
    uint64_t start;   /* global positions consumed before */
    unsigned rank, world;
    bool drop_last;
    uint64_t count; /* positions this rank takes, the same on every rank */
};

/* Rank `rank` of `world` from `start`; -1 when start > N, rank >= world or world == 0, or when
 * drop_last leaves nothing. Without drop_last, start == N gives count 0 (the epoch is over). */
int zn_share_init(struct zn_share *s, uint64_t samples, uint64_t start, unsigned rank,
                  unsigned world, bool drop_last, struct zn_error *err);

/* The rank's k-th position (k < count), a global position of the epoch. */
uint64_t zn_share_position(const struct zn_share *s, uint64_t k);

#endif
