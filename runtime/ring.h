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
 * Two SPSC layouts, one API; pick by how the ring is used:
 *   ZN_RING_SPSC          items packed side by side. Best for bursts: a burst of 32 8-byte
 *                         items is 4 cache lines. A consumer learns that items are there from
 *                         the producer's index, a second line the producer writes on every call.
 *   ZN_RING_SPSC_STAMPED  each slot carries, next to its item, the index of the item last put in
 *                         it, so a consumer learns that the next item is there from the item's
 *                         own cache line: one line moves per item hand-off instead of two. Best
 *                         when items go one at a time (single calls, request/reply round trips):
 *                         in bench/ring-bench, 1.1-1.8x the packed ring's single-item rate and
 *                         0.55-0.6x its round-trip time, while bursts move at about half its
 *                         rate (small items take up to twice the room: a slot is the item plus
 *                         4 bytes, rounded up to a power of two). For items of up to 60 bytes
 *                         (a slot within one cache line).
 * zn_ring_init and zn_ring_memsize take the kind; everything else is the same for all kinds.
 *
 * Non-blocking calls return at once. The _wait calls spin a bounded while (a cross-core hand-off
 * costs well under a microsecond while the other side is awake) and then sleep on a futex in
 * the shared memory (a wake-up costs 18-30 us across cores on the VMs we measured: too slow to
 * use for every item, cheap enough once the other side has fallen behind).
 *
 * Using a ring across processes:
 *   creator:   mem = mmap(MAP_SHARED, zn_ring_memsize(capacity, item_size)) or a part of a
 *              memfd mapping at a 64-byte aligned offset; zn_ring_init(mem, ...)
 *   attacher:  map the same memory; zn_ring_check(mem, bytes mapped, &err) before any other
 *              call, and give up with err.text if it fails.
 * Each process that uses a ring should have called zn_ring_init or zn_ring_check once (on any
 * ring): that registers it for membarrier(2), which lets the non-blocking calls run without a
 * fence (runtime/ring-inline.h says why). A process that has not is still correct, only slower.
 * zn_ring_check protects the checking process from a ring that is corrupt when it looks (every
 * size and copy of a size in it, the indices); a peer that scribbles over the header later can
 * at worst garble items: every copy stays inside the ring's own memory whatever the indices say.
 *
 * Items: capacity slots of item_size bytes; a ring holds up to `capacity` items (all slots).
 * Items come out in the order they went in; with several producers, each producer's items keep
 * their order. Item sizes of 8 and 64 bytes have their own copy loops.
 *
 * Threads: calls on one ring may come from any threads and processes as long as an SPSC ring
 * has at most one producing and one consuming call running at a time. The MPMC calls may block
 * briefly (spin, then yield) on another thread of the same side that claimed slots before them
 * and was preempted before publishing them: items become visible in order.
 *
 * The fast paths, for hot loops: runtime/ring-inline.h has each non-blocking call as a static
 * inline function (zn_ring_enqueue_inline() and so on), with the same meaning as here. */

enum zn_ring_kind { ZN_RING_SPSC, ZN_RING_MPMC, ZN_RING_SPSC_STAMPED };

struct zn_ring; /* layout in ring-inline.h */

/* Bytes a ring of `kind` with `capacity` items of `item_size` bytes needs, or 0 when capacity is
 * not a power of two >= 2 (at most 2^30), item_size is 0, above 1024 (60 for a stamped ring) or
 * not a multiple of 4, or the kind is unknown. A multiple of 64. */
size_t zn_ring_memsize(enum zn_ring_kind kind, uint32_t capacity, uint32_t item_size);

/* Initialise a ring in `mem` (zn_ring_memsize bytes, 64-byte aligned). Only the header is
 * written (the item slots are not touched), except in a stamped ring, where every slot's stamp
 * is set to say "empty". Not safe against a concurrent user of the same memory: initialise
 * before handing the memory over. Fails (-1, err) on a misaligned `mem`, a bad kind, capacity or
 * item size, without writing anything. */
int zn_ring_init(struct zn_ring *ring, enum zn_ring_kind kind, uint32_t capacity,
                 uint32_t item_size, struct zn_error *err);

/* Check a ring mapped from another process: magic, kind, sizes, and that it fits in `len`
 * bytes. A consumer calls this before trusting anything it reads from the ring. Also refuses a
 * ring whose header disagrees with the copies the fast paths use, or whose indices are further
 * apart than the capacity. Safe while the other side is using the ring. */
int zn_ring_check(const struct zn_ring *ring, size_t len, struct zn_error *err);

uint32_t zn_ring_capacity(const struct zn_ring *ring);
uint32_t zn_ring_item_size(const struct zn_ring *ring);
unsigned zn_ring_count(const struct zn_ring *ring); /* items in it now (a snapshot) */

/* Burst: as many of the n items as fit / are there. Bulk: all n or none. Return the count.
 * `items` is n * item_size bytes, packed. A burst of more than the capacity moves at most the
 * capacity; a bulk of more than the capacity always returns 0. Enqueues return 0 once the ring
 * is closed. None of them sleeps or makes a system call, except that when the other side sleeps
 * waiting, the call that gives it what it waits for makes the futex wake (one per sleep). A call
 * that finds nothing to do pauses the CPU once (~25 ns) before returning 0: a caller polling in
 * a loop then disturbs the other side less (ring-inline.h, zn_ring__idle). */
unsigned zn_ring_enqueue_burst(struct zn_ring *ring, const void *items, unsigned n);
unsigned zn_ring_enqueue_bulk(struct zn_ring *ring, const void *items, unsigned n);
unsigned zn_ring_dequeue_burst(struct zn_ring *ring, void *items, unsigned n);
unsigned zn_ring_dequeue_bulk(struct zn_ring *ring, void *items, unsigned n);
bool zn_ring_enqueue(struct zn_ring *ring, const void *item);
bool zn_ring_dequeue(struct zn_ring *ring, void *item);

/* The same for rings of 8-byte items, the item by value: what a ring of indices or offsets moves
 * (the data service's slots). On an SPSC ring of either layout nothing is left to decide at run
 * time but one compare, which matters at a few ns per item (bench/ring-bench). On any other ring
 * of 8-byte items they are zn_ring_enqueue/dequeue; on a ring whose items are not 8 bytes they
 * move nothing and return false (a bug in the caller, which the ring cannot report). */
bool zn_ring_enqueue_u64(struct zn_ring *ring, uint64_t item);
bool zn_ring_dequeue_u64(struct zn_ring *ring, uint64_t *item);

/* Blocking forms. timeout_ns < 0 waits for ever. dequeue_wait returns 1..max items, 0 on
 * timeout, -1 when the ring is closed and empty. enqueue_wait puts all n (n <= capacity) and
 * returns n, 0 on timeout, -1 when the ring is closed.
 * Details: timeout_ns 0 tries once and does not wait. Deadlines are on CLOCK_MONOTONIC. A wait
 * spins (pause) for ~5 us, then yields the CPU until ~50 us, then sleeps on the futex (going to
 * sleep costs one membarrier(2), see ring-inline.h); signals do not cut it short. enqueue_wait is
 * all or nothing: it waits until n slots are free at once, and on a timeout nothing was put. It
 * returns -1 with errno EINVAL for n > capacity (it could never succeed); n == 0 and max == 0
 * return 0 at once. The item count is returned as an int: capacities are at most 2^30. */
int zn_ring_dequeue_wait(struct zn_ring *ring, void *items, unsigned max, int64_t timeout_ns);
int zn_ring_enqueue_wait(struct zn_ring *ring, const void *items, unsigned n, int64_t timeout_ns);

/* No more items will come: every waiter wakes; dequeues drain what is left, then fail.
 * Called by the producer after its last enqueue (with several producers, by the last one to
 * finish), or by either side to give up: an enqueue racing with the close may or may not get
 * in, and one that does may be left behind by a consumer that already saw the ring closed and
 * empty. Closing is for good: a closed ring is not reopened (make a new one). */
void zn_ring_close(struct zn_ring *ring);
bool zn_ring_closed(const struct zn_ring *ring);

#endif
