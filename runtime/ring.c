/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "runtime/ring-inline.h"
#include "runtime/ring.h"

/* Waiting: a hand-off between two awake cores takes well under a microsecond, a futex wake-up
 * 18-30 us. Spin with pause long enough to catch the first, then yield for a while (on a busy
 * machine the thread we wait for may need our CPU), and only then sleep: by then the sleep costs
 * about as much as the spinning already did. */
#define SPIN_NS  5000
#define YIELD_NS 50000
/* Without membarrier a sleeper cannot make sure a waker that uses only a compiler barrier sees
 * its flag: it wakes up this often to look for itself. */
#define BLIND_SLICE_NS 1000000
/* MPMC: spins on a predecessor's publication before yielding to it. */
#define TURN_SPINS 256

#define FOREVER INT64_MAX

_Atomic int zn_ring_light_fence;
static _Atomic int heavy_fence_usable;
static pthread_once_t register_once = PTHREAD_ONCE_INIT;

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Also run in every fork child: a registration belongs to one address space, and the child's
 * fast path must not keep using compiler barriers on the strength of its parent's. */
static void register_membarrier(void)
{
    int saved_errno = errno;
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    int heavy = cmds > 0 && (cmds & MEMBARRIER_CMD_GLOBAL_EXPEDITED);
    int light = heavy && (cmds & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) &&
                syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0;

    atomic_store(&heavy_fence_usable, heavy);
    atomic_store(&zn_ring_light_fence, light);
    errno = saved_errno;
}

static void register_first(void)
{
    register_membarrier();
    pthread_atfork(NULL, NULL, register_membarrier);
}

static void ring_register(void)
{
    pthread_once(&register_once, register_first);
}

/* The sleeper's half of the hand-shake described in ring-inline.h. False when the peers' fast
 * paths may not have seen our flag (no membarrier here): the caller then sleeps in slices. */
static bool heavy_fence(void)
{
    bool done = false;

    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load(&heavy_fence_usable)) {
        int saved_errno = errno;
        done = syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) == 0;
        errno = saved_errno;
    }
    atomic_thread_fence(memory_order_seq_cst);
    return done;
}

/* Not FUTEX_PRIVATE_FLAG: the word is in memory another process shares. FUTEX_WAIT_BITSET takes
 * an absolute CLOCK_MONOTONIC deadline, so a wait interrupted and resumed does not stretch. */
static void futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t deadline)
{
    struct timespec ts = {.tv_sec = deadline / 1000000000, .tv_nsec = deadline % 1000000000};
    int saved_errno = errno;

    if (syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected, deadline == FOREVER ? NULL : &ts,
                NULL, FUTEX_BITSET_MATCH_ANY) < 0 &&
        errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT) {
        /* No futex (a seccomp profile): poll gently rather than spin on a failing syscall. */
        struct timespec nap = {.tv_nsec = 100000};
        nanosleep(&nap, NULL);
    }
    errno = saved_errno;
}

static void futex_wake_all(_Atomic uint32_t *word)
{
    int saved_errno = errno;

    syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    errno = saved_errno;
}

void zn_ring_wake_side(struct zn_ring_side *side)
{
    /* Whoever lowers the flag wakes everyone sleeping: each sleeper that still has reason to
     * raises it again, so no sleeper is left behind and there is one syscall per sleep. */
    if (atomic_exchange(&side->waiting, 0)) {
        atomic_fetch_add(&side->event, 1);
        futex_wake_all(&side->event);
    }
}

void zn_ring_wait_turn(_Atomic uint32_t *tail, uint32_t pos)
{
    for (unsigned spins = 0; atomic_load_explicit(tail, memory_order_acquire) != pos; spins++) {
        if (spins < TURN_SPINS)
            zn_ring__relax();
        else
            sched_yield();
    }
}

/* ------------------------------------------------------------------ geometry and checks */

static bool capacity_ok(uint32_t capacity)
{
    return capacity >= 2 && capacity <= (UINT32_C(1) << 30) && (capacity & (capacity - 1)) == 0;
}

static bool kind_ok(uint32_t kind)
{
    return kind == ZN_RING_SPSC || kind == ZN_RING_MPMC || kind == ZN_RING_SPSC_STAMPED;
}

/* A stamped slot must hold the item and its stamp inside one cache line. */
#define STAMPED_ITEM_MAX 60u

static bool item_size_ok(uint32_t kind, uint32_t item_size)
{
    return item_size > 0 && item_size <= (kind == ZN_RING_SPSC_STAMPED ? STAMPED_ITEM_MAX : 1024) &&
           item_size % 4 == 0;
}

static uint32_t stride_for(uint32_t kind, uint32_t item_size)
{
    uint32_t stride = 8;

    if (kind != ZN_RING_SPSC_STAMPED)
        return item_size;
    while (stride < item_size + 4)
        stride *= 2;
    return stride;
}

static uint32_t mode8_for(uint32_t kind, uint32_t item_size)
{
    return item_size == 8 && kind != ZN_RING_MPMC ? kind : ZN_RING_NOT8;
}

size_t zn_ring_memsize(enum zn_ring_kind kind, uint32_t capacity, uint32_t item_size)
{
    uint64_t size;

    if (!kind_ok(kind) || !capacity_ok(capacity) || !item_size_ok(kind, item_size))
        return 0;
    size = ZN_RING_DATA_OFFSET + (uint64_t)capacity * stride_for(kind, item_size);
    size = (size + 63) & ~UINT64_C(63);
    return size > SIZE_MAX ? 0 : (size_t)size;
}

static int check_geometry(const char *what, uint32_t kind, uint32_t capacity, uint32_t item_size,
                          struct zn_error *err)
{
    if (kind == ZN_RING_SPSC_STAMPED && item_size > STAMPED_ITEM_MAX &&
        item_size_ok(ZN_RING_SPSC, item_size))
        return zn_fail(err,
                       "%s: item size %" PRIu32 " bytes is above the %u a stamped ring carries "
                       "(item and stamp share a cache line); use ZN_RING_SPSC for larger items",
                       what, item_size, STAMPED_ITEM_MAX);
    if (!capacity_ok(capacity))
        return zn_fail(err,
                       "%s: capacity %" PRIu32 " is not a power of two from 2 to 2^30; round the "
                       "number of items up to one",
                       what, capacity);
    if (!item_size_ok(kind, item_size))
        return zn_fail(err,
                       "%s: item size %" PRIu32 " bytes is not a multiple of 4 from 4 to 1024; "
                       "pad the item or pass an offset to a larger buffer instead",
                       what, item_size);
    if (zn_ring_memsize(kind, capacity, item_size) == 0)
        return zn_fail(err, "%s: %" PRIu32 " items of %" PRIu32 " bytes do not fit in memory", what,
                       capacity, item_size);
    return 0;
}

static void init_side(struct zn_ring_side *side, enum zn_ring_kind kind, uint32_t capacity,
                      uint32_t item_size)
{
    atomic_init(&side->mode, kind);
    side->mask = capacity - 1;
    side->capacity = capacity;
    side->item_size = item_size;
    side->stride = stride_for(kind, item_size);
    atomic_init(&side->mode8, mode8_for(kind, item_size));
}

int zn_ring_init(struct zn_ring *ring, enum zn_ring_kind kind, uint32_t capacity,
                 uint32_t item_size, struct zn_error *err)
{
    if (!ring)
        return zn_fail(err, "zn_ring_init: no memory given (this is a bug in the caller)");
    if ((uintptr_t)ring % 64 != 0)
        return zn_fail(err,
                       "zn_ring_init: ring memory at %p is not 64-byte aligned; place the ring at "
                       "a cache-line boundary of the mapping",
                       (void *)ring);
    if (!kind_ok(kind))
        return zn_fail(err,
                       "zn_ring_init: ring kind %d is none of SPSC, MPMC, SPSC_STAMPED (a bug in "
                       "the caller)",
                       (int)kind);
    if (check_geometry("zn_ring_init", kind, capacity, item_size, err) < 0)
        return -1;
    ring_register();
    memset(ring, 0, ZN_RING_DATA_OFFSET);
    ring->header.version = ZN_RING_VERSION;
    ring->header.kind = kind;
    ring->header.capacity = capacity;
    ring->header.item_size = item_size;
    ring->header.data_offset = ZN_RING_DATA_OFFSET;
    ring->header.size = zn_ring_memsize(kind, capacity, item_size);
    init_side(&ring->prod, kind, capacity, item_size);
    init_side(&ring->cons, kind, capacity, item_size);
    /* Every slot as if the lap before the first had filled it: index i - capacity's stamp. */
    for (uint32_t i = 0; kind == ZN_RING_SPSC_STAMPED && i < capacity; i++)
        atomic_store_explicit(zn_ring__stamp(zn_ring__slot(ring, &ring->prod, i), &ring->prod),
                              i + 1 - capacity, memory_order_relaxed);
    /* SPSC: the producer starts with the whole ring free. */
    ring->prod.cached = capacity;
    atomic_store_explicit(&ring->header.magic, ZN_RING_MAGIC, memory_order_release);
    return 0;
}

static int check_side(const char *name, const struct zn_ring_side *side,
                      const struct zn_ring_header *h, struct zn_error *err)
{
    uint32_t kind = atomic_load(&side->mode) & ~ZN_RING_CLOSED;
    uint32_t mode8 = atomic_load(&side->mode8) & ~ZN_RING_CLOSED;

    if (kind != h->kind || side->capacity != h->capacity || side->mask != h->capacity - 1 ||
        side->item_size != h->item_size || side->stride != stride_for(h->kind, h->item_size) ||
        mode8 != mode8_for(h->kind, h->item_size))
        return zn_fail(err,
                       "shared ring: the %s side says kind %" PRIu32 " (%" PRIu32 " for 8-byte "
                       "calls), capacity %" PRIu32 ", mask 0x%" PRIx32 ", item size %" PRIu32
                       ", stride %" PRIu32 " but the header says kind %" PRIu32
                       ", capacity %" PRIu32 ", item size %" PRIu32
                       ": the ring is corrupt; restart the producer to make a new one",
                       name, kind, mode8, side->capacity, side->mask, side->item_size, side->stride,
                       h->kind, h->capacity, h->item_size);
    return 0;
}

/* The distance between a side's index and the one behind it can never exceed the capacity (in
 * a stamped ring the consumer may also be up to a call's worth ahead: `either_way`). The peer
 * moves them while we look: only a distance seen with the index behind unchanged across the
 * reading is proof of corruption. */
static int check_distance(const char *what, _Atomic const uint32_t *ahead,
                          _Atomic const uint32_t *behind, uint32_t capacity, bool either_way,
                          struct zn_error *err)
{
    for (int tries = 0; tries < 8; tries++) {
        uint32_t before = atomic_load(behind), front = atomic_load(ahead);

        if (atomic_load(behind) != before)
            continue;
        if (front - before > capacity && !(either_way && before - front <= capacity))
            return zn_fail(err,
                           "shared ring: %s is %" PRIu32 " items ahead in a ring of %" PRIu32
                           ": the indices are corrupt; restart the producer to make a new ring",
                           what, front - before, capacity);
        return 0;
    }
    return 0;
}

int zn_ring_check(const struct zn_ring *ring, size_t len, struct zn_error *err)
{
    const struct zn_ring_header *h = ring ? &ring->header : NULL;
    uint32_t magic;

    if (!ring)
        return zn_fail(err, "zn_ring_check: no ring given (this is a bug in the caller)");
    if ((uintptr_t)ring % 64 != 0)
        return zn_fail(err,
                       "shared ring at %p is not 64-byte aligned: the offset it was mapped at "
                       "is wrong",
                       (const void *)ring);
    if (len < ZN_RING_DATA_OFFSET)
        return zn_fail(err,
                       "shared ring: the mapping holds %zu bytes, fewer than the %u of a ring's "
                       "header; the memory handed over is truncated or not a ring",
                       len, ZN_RING_DATA_OFFSET);
    magic = atomic_load_explicit(&h->magic, memory_order_acquire);
    if (magic != ZN_RING_MAGIC)
        return zn_fail(err,
                       "shared ring: magic 0x%08" PRIx32 " is not a zenith ring's (0x%08" PRIx32
                       "): the memory was never set up by zn_ring_init, or was overwritten; check "
                       "which descriptor and offset were handed over",
                       magic, ZN_RING_MAGIC);
    if (h->version != ZN_RING_VERSION)
        return zn_fail(err,
                       "shared ring: layout version %" PRIu32 ", this program reads version %u; "
                       "run the producer and the consumer from the same zenith release",
                       h->version, ZN_RING_VERSION);
    if (!kind_ok(h->kind))
        return zn_fail(err,
                       "shared ring: kind %" PRIu32 " is none of SPSC, MPMC, SPSC_STAMPED: the "
                       "ring is corrupt; restart the producer to make a new one",
                       h->kind);
    if (check_geometry("shared ring", h->kind, h->capacity, h->item_size, err) < 0)
        return -1;
    if (h->data_offset != ZN_RING_DATA_OFFSET ||
        h->size != zn_ring_memsize(h->kind, h->capacity, h->item_size))
        return zn_fail(err,
                       "shared ring: header says items at offset %" PRIu32 " and %" PRIu64
                       " bytes in all, but %" PRIu32 " items of %" PRIu32 " bytes need offset %u "
                       "and %zu bytes: the ring is corrupt; restart the producer",
                       h->data_offset, h->size, h->capacity, h->item_size, ZN_RING_DATA_OFFSET,
                       zn_ring_memsize(h->kind, h->capacity, h->item_size));
    if (len < h->size)
        return zn_fail(err,
                       "shared ring of %" PRIu32 " items of %" PRIu32 " bytes needs %" PRIu64
                       " bytes but the mapping holds %zu: the memory handed over is truncated; "
                       "map the whole ring",
                       h->capacity, h->item_size, h->size, len);
    if (check_side("producer", &ring->prod, h, err) < 0 ||
        check_side("consumer", &ring->cons, h, err) < 0)
        return -1;
    if (check_distance("the producer", &ring->prod.tail, &ring->cons.tail, h->capacity,
                       h->kind == ZN_RING_SPSC_STAMPED, err) < 0)
        return -1;
    if (h->kind == ZN_RING_MPMC && (check_distance("a producer's claim", &ring->prod.head,
                                                   &ring->cons.tail, h->capacity, false, err) < 0 ||
                                    check_distance("a consumer's claim", &ring->cons.head,
                                                   &ring->cons.tail, h->capacity, false, err) < 0))
        return -1;
    ring_register();
    return 0;
}

uint32_t zn_ring_capacity(const struct zn_ring *ring)
{
    return ring->header.capacity;
}

uint32_t zn_ring_item_size(const struct zn_ring *ring)
{
    return ring->header.item_size;
}

unsigned zn_ring_count(const struct zn_ring *ring)
{
    /* The consumer's index first: read later, the producer's can only be further ahead, so the
     * difference errs high; it is capped at the capacity. Negative (a stamped ring's consumer
     * ahead of the producer's published index) is none. */
    uint32_t cons = atomic_load_explicit(&ring->cons.tail, memory_order_acquire);
    uint32_t prod = atomic_load_explicit(&ring->prod.tail, memory_order_acquire);
    int32_t n = (int32_t)(prod - cons);

    if (n < 0)
        return 0;
    return (uint32_t)n > ring->header.capacity ? ring->header.capacity : (unsigned)n;
}

/* ------------------------------------------------------------------ non-blocking */

unsigned zn_ring_enqueue_burst(struct zn_ring *ring, const void *items, unsigned n)
{
    return zn_ring_enqueue_burst_inline(ring, items, n);
}

unsigned zn_ring_enqueue_bulk(struct zn_ring *ring, const void *items, unsigned n)
{
    return zn_ring_enqueue_bulk_inline(ring, items, n);
}

unsigned zn_ring_dequeue_burst(struct zn_ring *ring, void *items, unsigned n)
{
    return zn_ring_dequeue_burst_inline(ring, items, n);
}

unsigned zn_ring_dequeue_bulk(struct zn_ring *ring, void *items, unsigned n)
{
    return zn_ring_dequeue_bulk_inline(ring, items, n);
}

bool zn_ring_enqueue(struct zn_ring *ring, const void *item)
{
    return zn_ring_enqueue_inline(ring, item);
}

bool zn_ring_dequeue(struct zn_ring *ring, void *item)
{
    return zn_ring_dequeue_inline(ring, item);
}

bool zn_ring_enqueue_u64(struct zn_ring *ring, uint64_t item)
{
    return zn_ring_enqueue_u64_inline(ring, item);
}

bool zn_ring_dequeue_u64(struct zn_ring *ring, uint64_t *item)
{
    return zn_ring_dequeue_u64_inline(ring, item);
}

/* ------------------------------------------------------------------ waiting */

bool zn_ring_closed(const struct zn_ring *ring)
{
    return (atomic_load_explicit(&ring->prod.mode, memory_order_acquire) & ZN_RING_CLOSED) != 0;
}

enum wait_for { WAIT_ITEMS, WAIT_SPACE };

/* What a waiter waits for is there (a take or put may still lose it to another thread of its
 * side), or the ring was closed. Relaxed: the take or put that follows does the acquiring.
 * A stamped ring's consumer looks at the next slot's stamp first: it is written before the
 * producer's index, so the sleep hand-shake covers it as it covers the index, and it is in the
 * line the item comes in. Unless `full`, that is all it looks at: the producer's line (its index
 * and the closed mark) is read every few spins only, since each read takes that line away from
 * a producer about to write it. */
static bool ready(struct zn_ring *r, enum wait_for what, unsigned need, bool full)
{
    uint32_t mode;
    bool spsc;

    if (what == WAIT_ITEMS &&
        atomic_load_explicit(&r->cons.mode, memory_order_relaxed) == ZN_RING_SPSC_STAMPED) {
        uint32_t next = atomic_load_explicit(&r->cons.tail, memory_order_relaxed);

        if (atomic_load_explicit(zn_ring__stamp(zn_ring__slot(r, &r->cons, next), &r->cons),
                                 memory_order_relaxed) == next + 1)
            return true;
        if (!full)
            return false;
    }
    mode = atomic_load_explicit(&r->prod.mode, memory_order_relaxed);
    spsc = (mode & ~ZN_RING_CLOSED) != ZN_RING_MPMC;
    if (mode & ZN_RING_CLOSED)
        return true;
    /* Signed: a stamped ring's consumer may be ahead of the producer's published index. */
    if (what == WAIT_ITEMS)
        return (int32_t)(atomic_load_explicit(&r->prod.tail, memory_order_relaxed) -
                         atomic_load_explicit(spsc ? &r->cons.tail : &r->cons.head,
                                              memory_order_relaxed)) > 0;
    return atomic_load_explicit(&r->cons.tail, memory_order_relaxed) + r->prod.capacity -
               atomic_load_explicit(spsc ? &r->prod.tail : &r->prod.head, memory_order_relaxed) >=
           need;
}

/* Spin, yield, then sleep until ready(); false when the deadline passed first. */
static bool wait_ready(struct zn_ring *r, enum wait_for what, unsigned need, int64_t deadline)
{
    /* Consumers sleep on the producer side's event and producers on the consumer side's: each
     * side bumps its own event when it publishes. */
    struct zn_ring_side *watched = what == WAIT_ITEMS ? &r->prod : &r->cons;
    int64_t start = now_ns(), t = start;

    for (unsigned spins = 0;; spins++) {
        bool yielding = t - start >= SPIN_NS;

        if (ready(r, what, need, yielding || spins % 16 == 15))
            return true;
        if (yielding || spins % 16 == 15) {
            t = now_ns();
            if (t >= deadline)
                return false;
            if (t - start >= YIELD_NS)
                break;
        }
        if (yielding)
            sched_yield();
        else
            zn_ring__relax();
    }
    ring_register();
    for (;;) {
        uint32_t event = atomic_load_explicit(&watched->event, memory_order_acquire);
        int64_t until = deadline;

        atomic_store(&watched->waiting, 1);
        if (!heavy_fence()) {
            int64_t slice = now_ns() + BLIND_SLICE_NS;
            if (slice < until)
                until = slice;
        }
        if (ready(r, what, need, true))
            return true;
        futex_wait(&watched->event, event, until);
        if (ready(r, what, need, true))
            return true;
        if (deadline != FOREVER && now_ns() >= deadline)
            return false;
    }
}

/* A burst goes by the producer's index; the single-item take, which in a stamped ring goes by
 * the next slot's stamp, is tried where the burst found nothing (in a stamped ring an item can be
 * stamped before the index covers it) and alone for one item. */
static unsigned take_some(struct zn_ring *ring, void *items, unsigned max)
{
    unsigned got = max == 1 ? 0 : zn_ring_dequeue_burst_inline(ring, items, max);

    if (got == 0 && (max == 1 || atomic_load_explicit(&ring->cons.mode, memory_order_relaxed) ==
                                     ZN_RING_SPSC_STAMPED))
        got = zn_ring_dequeue_inline(ring, items);
    return got;
}

static int64_t deadline_after(int64_t timeout_ns)
{
    int64_t now = now_ns();

    if (timeout_ns < 0 || timeout_ns > FOREVER - now)
        return FOREVER;
    return now + timeout_ns;
}

int zn_ring_dequeue_wait(struct zn_ring *ring, void *items, unsigned max, int64_t timeout_ns)
{
    int64_t deadline = 0;
    unsigned got;

    if (max == 0)
        return 0;
    for (bool first = true;; first = false) {
        got = take_some(ring, items, max);
        if (got)
            return (int)got;
        /* Not on the way in to a wait: wait_ready looks at the closed mark itself, and reading
         * it here would fetch the producer's line on every call. */
        if ((!first || timeout_ns == 0) && zn_ring_closed(ring)) {
            /* Items published before the close are visible now that we saw it. */
            got = take_some(ring, items, max);
            return got ? (int)got : -1;
        }
        if (timeout_ns == 0)
            return 0;
        if (first)
            deadline = deadline_after(timeout_ns);
        if (!wait_ready(ring, WAIT_ITEMS, 1, deadline))
            return (int)take_some(ring, items, max);
    }
}

int zn_ring_enqueue_wait(struct zn_ring *ring, const void *items, unsigned n, int64_t timeout_ns)
{
    int64_t deadline = 0;

    if (n == 0)
        return 0;
    if (n > ring->prod.capacity) {
        errno = EINVAL;
        return -1;
    }
    for (bool first = true;; first = false) {
        if (zn_ring_enqueue_bulk_inline(ring, items, n))
            return (int)n;
        if (zn_ring_closed(ring))
            return -1;
        if (timeout_ns == 0)
            return 0;
        if (first)
            deadline = deadline_after(timeout_ns);
        if (!wait_ready(ring, WAIT_SPACE, n, deadline)) {
            if (zn_ring_enqueue_bulk_inline(ring, items, n))
                return (int)n;
            return zn_ring_closed(ring) ? -1 : 0;
        }
    }
}

void zn_ring_close(struct zn_ring *ring)
{
    struct zn_ring_side *sides[] = {&ring->prod, &ring->cons};

    atomic_fetch_or(&ring->prod.mode, ZN_RING_CLOSED);
    atomic_fetch_or(&ring->prod.mode8, ZN_RING_CLOSED);
    /* Unconditional bump and wake: a waiter that read the event before the bump either sees it
     * changed when it goes to sleep or is woken here. */
    for (size_t i = 0; i < 2; i++) {
        atomic_store(&sides[i]->waiting, 0);
        atomic_fetch_add(&sides[i]->event, 1);
        futex_wake_all(&sides[i]->event);
    }
}
