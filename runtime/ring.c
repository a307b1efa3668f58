/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

/* TEMPORARY STAND-IN for the ring of branch dp-ring, only so that the arena and reader of
 * branch dp-io link and their tests run: every operation takes a spin lock in the shared
 * memory, waits poll with short sleeps. Correct for SPSC and MPMC, not fast. Drop this file at
 * the merge in favour of dp-ring's runtime/ring.c. */

#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "runtime/ring.h"

#define RING_MAGIC   0x5a4e5247u /* "ZNRG" */
#define RING_VERSION 0xfffe0001u /* a stand-in's rings are never mistaken for the real ones */

struct zn_ring {
    uint32_t magic, version, kind, capacity, item_size;
    _Atomic uint32_t closed;
    _Atomic uint32_t lock;
    uint32_t pad;
    _Atomic uint64_t head, tail; /* items taken, items put */
    uint8_t pad2[16];
    uint8_t items[]; /* 64 bytes from the start */
};

_Static_assert(sizeof(struct zn_ring) == 64, "items start on a cache line");

size_t zn_ring_memsize(uint32_t capacity, uint32_t item_size)
{
    if (capacity < 2 || capacity > (1u << 30) || (capacity & (capacity - 1)) != 0 ||
        item_size == 0 || item_size > 1024 || item_size % 4 != 0)
        return 0;
    return sizeof(struct zn_ring) + (size_t)capacity * item_size;
}

int zn_ring_init(struct zn_ring *ring, enum zn_ring_kind kind, uint32_t capacity,
                 uint32_t item_size, struct zn_error *err)
{
    if (zn_ring_memsize(capacity, item_size) == 0)
        return zn_fail(err,
                       "ring of %u items of %u bytes: the capacity must be a power of two "
                       "from 2 to 2^30 and items 4-1024 bytes, a multiple of 4",
                       capacity, item_size);
    memset(ring, 0, sizeof(*ring));
    ring->kind = kind;
    ring->capacity = capacity;
    ring->item_size = item_size;
    ring->version = RING_VERSION;
    atomic_store_explicit((_Atomic uint32_t *)&ring->magic, RING_MAGIC, memory_order_release);
    return 0;
}

int zn_ring_check(const struct zn_ring *ring, size_t len, struct zn_error *err)
{
    size_t need;

    if (len < sizeof(*ring))
        return zn_fail(err, "ring: %zu bytes cannot hold a ring", len);
    if (ring->magic != RING_MAGIC || ring->version != RING_VERSION)
        return zn_fail(err, "ring: no ring here (magic %#x, version %#x)", ring->magic,
                       ring->version);
    if (ring->kind != ZN_RING_SPSC && ring->kind != ZN_RING_MPMC)
        return zn_fail(err, "ring: unknown kind %u", ring->kind);
    need = zn_ring_memsize(ring->capacity, ring->item_size);
    if (need == 0 || need > len)
        return zn_fail(err, "ring: %u items of %u bytes do not fit in %zu bytes", ring->capacity,
                       ring->item_size, len);
    return 0;
}

uint32_t zn_ring_capacity(const struct zn_ring *ring)
{
    return ring->capacity;
}

uint32_t zn_ring_item_size(const struct zn_ring *ring)
{
    return ring->item_size;
}

static void lock(struct zn_ring *ring)
{
    uint32_t expected = 0;
    while (!atomic_compare_exchange_weak_explicit(&ring->lock, &expected, 1, memory_order_acquire,
                                                  memory_order_relaxed))
        expected = 0;
}

static void unlock(struct zn_ring *ring)
{
    atomic_store_explicit(&ring->lock, 0, memory_order_release);
}

unsigned zn_ring_count(const struct zn_ring *ring)
{
    uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
    return (unsigned)(tail - head);
}

static unsigned put(struct zn_ring *ring, const void *items, unsigned n, bool all)
{
    const uint8_t *src = items;
    unsigned room, i;

    lock(ring);
    room = ring->capacity - (unsigned)(ring->tail - ring->head);
    if (n > room)
        n = all ? 0 : room;
    for (i = 0; i < n; i++)
        memcpy(ring->items + ((ring->tail + i) & (ring->capacity - 1)) * ring->item_size,
               src + (size_t)i * ring->item_size, ring->item_size);
    ring->tail += n;
    unlock(ring);
    return n;
}

static unsigned take(struct zn_ring *ring, void *items, unsigned n, bool all)
{
    uint8_t *dst = items;
    unsigned have, i;

    lock(ring);
    have = (unsigned)(ring->tail - ring->head);
    if (n > have)
        n = all ? 0 : have;
    for (i = 0; i < n; i++)
        memcpy(dst + (size_t)i * ring->item_size,
               ring->items + ((ring->head + i) & (ring->capacity - 1)) * ring->item_size,
               ring->item_size);
    ring->head += n;
    unlock(ring);
    return n;
}

unsigned zn_ring_enqueue_burst(struct zn_ring *ring, const void *items, unsigned n)
{
    return put(ring, items, n, false);
}

unsigned zn_ring_enqueue_bulk(struct zn_ring *ring, const void *items, unsigned n)
{
    return put(ring, items, n, true);
}

unsigned zn_ring_dequeue_burst(struct zn_ring *ring, void *items, unsigned n)
{
    return take(ring, items, n, false);
}

unsigned zn_ring_dequeue_bulk(struct zn_ring *ring, void *items, unsigned n)
{
    return take(ring, items, n, true);
}

bool zn_ring_enqueue(struct zn_ring *ring, const void *item)
{
    return put(ring, item, 1, true) == 1;
}

bool zn_ring_dequeue(struct zn_ring *ring, void *item)
{
    return take(ring, item, 1, true) == 1;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void nap(void)
{
    struct timespec ts = {0, 20000};
    nanosleep(&ts, NULL);
}

int zn_ring_dequeue_wait(struct zn_ring *ring, void *items, unsigned max, int64_t timeout_ns)
{
    int64_t deadline = timeout_ns < 0 ? -1 : now_ns() + timeout_ns;

    for (;;) {
        unsigned n = take(ring, items, max, false);
        if (n > 0)
            return (int)n;
        if (zn_ring_closed(ring)) {
            n = take(ring, items, max, false);
            return n > 0 ? (int)n : -1;
        }
        if (deadline >= 0 && now_ns() >= deadline)
            return 0;
        nap();
    }
}

int zn_ring_enqueue_wait(struct zn_ring *ring, const void *items, unsigned n, int64_t timeout_ns)
{
    int64_t deadline = timeout_ns < 0 ? -1 : now_ns() + timeout_ns;

    for (;;) {
        if (zn_ring_closed(ring))
            return -1;
        if (put(ring, items, n, true) == n)
            return (int)n;
        if (deadline >= 0 && now_ns() >= deadline)
            return 0;
        nap();
    }
}

void zn_ring_close(struct zn_ring *ring)
{
    atomic_store_explicit(&ring->closed, 1, memory_order_release);
}

bool zn_ring_closed(const struct zn_ring *ring)
{
    return atomic_load_explicit(&((struct zn_ring *)ring)->closed, memory_order_acquire) != 0;
}
