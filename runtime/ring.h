/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_RING_H
#define ZENITH_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/error.h"

/* Lock-free rings of fixed-size items, built to live in memory two processes share (the data
 * service in zenith-run fills batches, the training program consumes them): the ring holds no
 * pointer, only offsets from its own start, so each process may map it at another address.
 *
 * SPSC: one producer and one consumer (thread or process) at a time. MPMC: any number of each.
 * Capacity is a power of two. Items are copied in and out (item_size a multiple of 4 bytes).
 *
 * Non-blocking calls return at once. The _wait calls spin a bounded while (a cross-core hand-off
 * costs well under a microsecond while the other side is awake) and then sleep on a futex in
 * the shared memory (a wake-up costs 18-30 us across cores on the VMs we measured: too slow to
 * use for every item, cheap enough once the other side has fallen behind). */

enum zn_ring_kind { ZN_RING_SPSC, ZN_RING_MPMC };

struct zn_ring; /* layout in ring.c (or in ring-inline.h for the fast paths) */

/* Bytes a ring of `capacity` items of `item_size` bytes needs, or 0 when capacity is not a
 * power of two >= 2 (at most 2^30) or item_size is 0, above 1024 or not a multiple of 4. */
size_t zn_ring_memsize(uint32_t capacity, uint32_t item_size);

/* Initialise a ring in `mem` (zn_ring_memsize bytes, 64-byte aligned). */
int zn_ring_init(struct zn_ring *ring, enum zn_ring_kind kind, uint32_t capacity,
                 uint32_t item_size, struct zn_error *err);

/* Check a ring mapped from another process: magic, kind, sizes, and that it fits in `len`
 * bytes. A consumer calls this before trusting anything it reads from the ring. */
int zn_ring_check(const struct zn_ring *ring, size_t len, struct zn_error *err);

uint32_t zn_ring_capacity(const struct zn_ring *ring);
uint32_t zn_ring_item_size(const struct zn_ring *ring);
unsigned zn_ring_count(const struct zn_ring *ring); /* items in it now (a snapshot) */

/* Burst: as many of the n items as fit / are there. Bulk: all n or none. Return the count. */
unsigned zn_ring_enqueue_burst(struct zn_ring *ring, const void *items, unsigned n);
unsigned zn_ring_enqueue_bulk(struct zn_ring *ring, const void *items, unsigned n);
unsigned zn_ring_dequeue_burst(struct zn_ring *ring, void *items, unsigned n);
unsigned zn_ring_dequeue_bulk(struct zn_ring *ring, void *items, unsigned n);
bool zn_ring_enqueue(struct zn_ring *ring, const void *item);
bool zn_ring_dequeue(struct zn_ring *ring, void *item);

/* Blocking forms. timeout_ns < 0 waits for ever. dequeue_wait returns 1..max items, 0 on
 * timeout, -1 when the ring is closed and empty. enqueue_wait puts all n (n <= capacity) and
 * returns n, 0 on timeout, -1 when the ring is closed. */
int zn_ring_dequeue_wait(struct zn_ring *ring, void *items, unsigned max, int64_t timeout_ns);
int zn_ring_enqueue_wait(struct zn_ring *ring, const void *items, unsigned n, int64_t timeout_ns);

/* No more items will come: every waiter wakes; dequeues drain what is left, then fail. */
void zn_ring_close(struct zn_ring *ring);
bool zn_ring_closed(const struct zn_ring *ring);

#endif
