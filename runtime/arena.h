/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_ARENA_H
#define ZENITH_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/error.h"
#include "runtime/ring.h"

/* One rank's shared memory for its data service: a memfd (no name in /dev/shm, nothing to
 * clean up after a crash: the kernel frees it with the last descriptor or mapping), laid out as
 *   [arena meta][caller's header][ring "filled"][ring "free"][slot 0][slot 1]...
 * Slots are page aligned (huge page aligned on huge pages) and `slot_bytes` apart. The
 * producer creates it, the program that inherits the descriptor attaches to it.
 *
 * Backing, best first: huge pages from the job's reservation (MFD_HUGETLB of the page size the
 * SPANK plugin reserved on this node), transparent huge pages (madvise; effective only when
 * /sys/kernel/mm/transparent_hugepage/shmem_enabled allows it), else base pages. The memory is
 * bound (mbind MPOL_BIND) to the rank's NUMA node when one is given, and faulted in up front so
 * a missing huge page fails here, not as SIGBUS in the middle of an epoch. */

struct zn_arena_params {
    uint32_t slots;          /* >= 1 */
    uint64_t slot_bytes;     /* rounded up to the page size */
    uint32_t header_bytes;   /* caller's header (e.g. the data service's descriptors) */
    uint32_t ring_item_size; /* both rings: SPSC stamped (so 4-60 bytes), capacity = slots
                              * rounded up to a power of 2 */
    uint64_t hugepage_size;  /* 0: the job reserved none; else try MFD_HUGETLB of that size */
    int numa_node;           /* OS index; -1: no binding. A node that cannot be bound (none such,
                              * mbind refused) costs locality, not the arena: a note, unbound */
    const char *name;        /* memfd name, shown in /proc/PID/maps ("zenith-data.rank3") */
};

enum zn_arena_backing { ZN_ARENA_HUGETLB, ZN_ARENA_THP, ZN_ARENA_BASE_PAGES };

struct zn_arena {
    int fd;
    void *base;
    size_t size;
    void *header; /* header_bytes of the caller's */
    uint32_t header_bytes;
    struct zn_ring *filled, *free; /* producer -> consumer, consumer -> producer */
    uint8_t *slot0;
    uint64_t slot_bytes; /* stride between slots */
    uint32_t slots;
    size_t page_size; /* of the backing */
    enum zn_arena_backing backing;
    int numa_node;  /* bound node, -1 when not bound */
    char note[256]; /* why a better backing or the binding was not had; "" when all went well */
    bool owner;     /* created (not attached) */
};

/* Create, map, bind and fault in. The fd is close-on-exec: the caller clears FD_CLOEXEC on the
 * one it hands to a child. Falls back along the backings above and says why in a->note. */
int zn_arena_create(const struct zn_arena_params *p, struct zn_arena *a, struct zn_error *err);

/* Map an arena created by another process from its descriptor and check its layout (sizes,
 * rings) against the descriptor's size before anything in it is trusted. Only a memfd sealed
 * against resizing is taken (zn_arena_create seals it), so the checked size cannot shrink
 * under the mapping. On success the arena owns fd (zn_arena_close closes it); on failure fd
 * stays the caller's, open. */
int zn_arena_attach(int fd, struct zn_arena *a, struct zn_error *err);

/* Unmap and close (either side). Safe on a zeroed or already closed arena. */
void zn_arena_close(struct zn_arena *a);

static inline void *zn_arena_slot(const struct zn_arena *a, uint32_t slot)
{
    return a->slot0 + (uint64_t)slot * a->slot_bytes;
}

const char *zn_arena_backing_name(enum zn_arena_backing b);

#endif
