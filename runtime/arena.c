/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <numaif.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "runtime/arena.h"
#include "runtime/parse.h"

/* The first bytes of every arena: what an attaching process checks before it trusts anything
 * else in the mapping. Only fixed-size fields, no pointers (each side maps it elsewhere). */
#define ARENA_MAGIC   UINT64_C(0x21414e4552414e5a) /* "ZNARENA!" little-endian */
#define ARENA_VERSION 2u
/* Both rings move one slot index per call: the layout made for single items. */
#define ARENA_RING_KIND ZN_RING_SPSC_STAMPED

struct arena_meta {
    uint64_t magic;
    uint32_t version;
    uint32_t meta_bytes; /* sizeof(struct arena_meta) of the writer */
    uint64_t total_bytes;
    uint64_t page_size;
    uint64_t header_offset;
    uint64_t filled_offset;
    uint64_t free_offset;
    uint64_t ring_bytes; /* room for each ring */
    uint64_t slot0_offset;
    uint64_t slot_bytes;
    uint32_t header_bytes;
    uint32_t slots;
    uint32_t ring_capacity;
    uint32_t ring_item_size;
    uint32_t backing;
    int32_t numa_node;
};

/* Rings and the caller's header start on cache lines: the two rings' indices must not share
 * one with each other or with the header the other process writes. */
#define LINE 64u
/* MFD_HUGE_SHIFT from <linux/memfd.h>, which clashes with glibc's <sys/mman.h>. */
#define HUGE_SHIFT 26
/* NUMA node indices the binding accepts (the kernel's CONFIG_NODES_SHIFT is at most 10). */
#define MAX_NODES  1024u
#define NODE_LONGS (MAX_NODES / (8 * sizeof(unsigned long)))

struct layout {
    uint64_t page_size, header_offset, filled_offset, free_offset, ring_bytes, slot0_offset;
    uint64_t slot_bytes, total_bytes;
    uint32_t ring_capacity;
};

/* One attempt at a backing: everything to undo if it fails. */
struct attempt {
    int fd;
    void *base;
    size_t size;
};

const char *zn_arena_backing_name(enum zn_arena_backing b)
{
    switch (b) {
    case ZN_ARENA_HUGETLB:
        return "huge pages";
    case ZN_ARENA_THP:
        return "transparent huge pages";
    case ZN_ARENA_BASE_PAGES:
        return "base pages";
    }
    return "unknown";
}

static void note_add(char *note, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note_add(char *note, size_t len, const char *fmt, ...)
{
    size_t used = strnlen(note, len);
    va_list ap;

    if (used == 0) {
        snprintf(note, len, "zenith: ");
        used = strnlen(note, len);
    } else if (used + 2 < len) {
        memcpy(note + used, "; ", 3);
        used += 2;
    }
    if (used + 1 >= len)
        return;
    va_start(ap, fmt);
    vsnprintf(note + used, len - used, fmt, ap);
    va_end(ap);
}

static bool add_overflows(uint64_t a, uint64_t b, uint64_t *sum)
{
    return __builtin_add_overflow(a, b, sum);
}

static bool align_up(uint64_t v, uint64_t align, uint64_t *out)
{
    uint64_t sum;
    if (add_overflows(v, align - 1, &sum))
        return false;
    *out = sum & ~(align - 1);
    return true;
}

static uint32_t ring_capacity_for(uint32_t slots)
{
    uint32_t cap = 2;
    while (cap < slots && cap < (1u << 30))
        cap <<= 1;
    return cap;
}

static int compute_layout(const struct zn_arena_params *p, uint64_t page_size, struct layout *l,
                          struct zn_error *err)
{
    uint64_t end, slots_bytes;
    size_t ring_bytes;

    memset(l, 0, sizeof(*l));
    l->page_size = page_size;
    l->ring_capacity = ring_capacity_for(p->slots);
    ring_bytes = zn_ring_memsize(ARENA_RING_KIND, l->ring_capacity, p->ring_item_size);
    if (ring_bytes == 0)
        return zn_fail(err,
                       "arena: rings of %" PRIu32 " items of %" PRIu32
                       " bytes are not possible (items of 4-60 bytes, a multiple of 4; at "
                       "most 2^30 slots)",
                       l->ring_capacity, p->ring_item_size);
    if (!align_up(ring_bytes, LINE, &l->ring_bytes) ||
        !align_up(sizeof(struct arena_meta), LINE, &l->header_offset) ||
        !align_up(l->header_offset + p->header_bytes, LINE, &l->filled_offset) ||
        add_overflows(l->filled_offset, l->ring_bytes, &l->free_offset) ||
        add_overflows(l->free_offset, l->ring_bytes, &end) ||
        !align_up(end, page_size, &l->slot0_offset) ||
        !align_up(p->slot_bytes, page_size, &l->slot_bytes) ||
        __builtin_mul_overflow(l->slot_bytes, (uint64_t)p->slots, &slots_bytes) ||
        add_overflows(l->slot0_offset, slots_bytes, &l->total_bytes) ||
        l->total_bytes > (uint64_t)(SIZE_MAX / 2) || l->total_bytes > (uint64_t)INT64_MAX)
        goto too_big;
    return 0;
too_big:;
    char slot[32];
    zn_format_size(p->slot_bytes, slot, sizeof(slot));
    return zn_fail(err,
                   "arena: %" PRIu32 " slots of %s do not fit in this address space; use "
                   "fewer or smaller slots",
                   p->slots, slot);
}

static int check_params(const struct zn_arena_params *p, struct zn_error *err)
{
    if (!p)
        return zn_fail(err, "arena: no parameters (this is a bug in the caller)");
    if (p->slots == 0 || p->slot_bytes == 0)
        return zn_fail(err,
                       "arena: %" PRIu32 " slots of %" PRIu64
                       " bytes: an arena needs at least one slot of at least one byte",
                       p->slots, p->slot_bytes);
    if (p->slots > (1u << 30))
        return zn_fail(err, "arena: %" PRIu32 " slots: at most 2^30 are possible", p->slots);
    if (p->hugepage_size != 0 &&
        (p->hugepage_size < 4096 || (p->hugepage_size & (p->hugepage_size - 1)) != 0))
        return zn_fail(err,
                       "arena: huge page size %" PRIu64
                       " bytes is not a power of two of at least 4096 (this is a bug in the "
                       "caller: pass the size the job reserved, or 0)",
                       p->hugepage_size);
    if (p->numa_node < -1)
        return zn_fail(err, "arena: NUMA node %d: pass an OS node index, or -1 for no binding",
                       p->numa_node);
    return 0;
}

static void attempt_undo(struct attempt *t)
{
    int saved_errno = errno;

    if (t->base && t->base != MAP_FAILED)
        munmap(t->base, t->size);
    if (t->fd >= 0)
        close(t->fd);
    t->base = NULL;
    t->fd = -1;
    errno = saved_errno;
}

/* A small kernel file's first line into buf; "" when it cannot be read. */
static void read_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "re");

    buf[0] = '\0';
    if (!f)
        return;
    if (!fgets(buf, (int)len, f))
        buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
}

/* Free pages of a huge page pool, -1 when unknown. */
static long long free_huge_pages(uint64_t page_size, int node)
{
    char path[160], text[32];
    const char *p = text;
    uint64_t v;

    if (node >= 0)
        snprintf(path, sizeof(path),
                 "/sys/devices/system/node/node%d/hugepages/hugepages-%" PRIu64 "kB/free_hugepages",
                 node, page_size / 1024);
    else
        snprintf(path, sizeof(path),
                 "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/free_hugepages",
                 page_size / 1024);
    read_line(path, text, sizeof(text));
    if (zn_parse_digits(&p, &v) < 0 || *p != '\0')
        return -1;
    return (long long)v;
}

/* Why huge pages of this size could not be had, for the note. */
static void note_no_hugepages(char *note, size_t len, uint64_t page_size, uint64_t bytes, int node,
                              const char *call, int error)
{
    char size[32];
    long long have = node >= 0 ? free_huge_pages(page_size, node) : -1;
    uint64_t need = bytes / page_size;

    if (have < 0) {
        node = -1;
        have = free_huge_pages(page_size, -1);
    }
    zn_format_size(page_size, size, sizeof(size));
    if ((error == ENOMEM || error == EFAULT) && have >= 0) {
        if (node >= 0)
            note_add(note, len,
                     "huge pages of %s: the pool on NUMA node %d had %lld free pages, the arena "
                     "needs %" PRIu64,
                     size, node, have, need);
        else
            note_add(note, len,
                     "huge pages of %s: the pool had %lld free pages, the arena needs %" PRIu64,
                     size, have, need);
    } else if (error == EINVAL && strcmp(call, "memfd_create") == 0) {
        note_add(note, len, "huge pages of %s: this kernel has no pool of that size (%s: %s)", size,
                 call, strerror(error));
    } else {
        note_add(note, len, "huge pages of %s: %s failed (%s)", size, call, strerror(error));
    }
}

/* MPOL_BIND before the first touch, so every page comes from the rank's node. A failure only
 * costs locality: say so and go on unbound. */
static int bind_node(void *base, size_t size, int node, char *note, size_t len)
{
    unsigned long mask[NODE_LONGS];
    char dir[64];

    if (node < 0)
        return -1;
    if ((unsigned)node >= MAX_NODES) {
        note_add(note, len, "not bound to NUMA node %d: node numbers stop at %u", node,
                 MAX_NODES - 1);
        return -1;
    }
    memset(mask, 0, sizeof(mask));
    mask[(unsigned)node / (8 * sizeof(unsigned long))] |=
        1UL << ((unsigned)node % (8 * sizeof(unsigned long)));
    /* The kernel reads one bit fewer than maxnode says. */
    if (mbind(base, size, MPOL_BIND, mask, MAX_NODES + 1, 0) == 0)
        return 0;
    snprintf(dir, sizeof(dir), "/sys/devices/system/node/node%d", node);
    if (errno == EINVAL && access(dir, F_OK) != 0)
        note_add(note, len, "not bound to NUMA node %d: no such node (no %s)", node, dir);
    else
        note_add(note, len, "not bound to NUMA node %d (mbind: %s)", node, strerror(errno));
    return -1;
}

/* Every page now, so that a page the pool or the node cannot give fails here and not as a
 * SIGBUS later; MADV_POPULATE_WRITE reports that as an error instead of raising it. */
static int fault_in(void *base, size_t size, size_t page_size, bool hugetlb)
{
    if (madvise(base, size, MADV_POPULATE_WRITE) == 0)
        return 0;
    if (errno != EINVAL || hugetlb)
        return -1;
    /* Before Linux 5.14: shared memory pages can be touched safely (a shortage is an OOM kill,
     * never a SIGBUS); huge pages cannot, and fall back instead (see above). */
    for (size_t off = 0; off < size; off += page_size)
        ((volatile uint8_t *)base)[off] = 0;
    return 0;
}

/* Shrinking would SIGBUS the other side; growing could not be checked by it. */
static int seal(int fd)
{
    return fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
}

static int try_hugetlb(const struct zn_arena_params *p, const char *name, struct layout *l,
                       struct attempt *t, char *note, size_t len, char *bind_note, size_t bind_len,
                       int *bound, struct zn_error *err)
{
    unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB |
                     ((unsigned)__builtin_ctzll(p->hugepage_size) << HUGE_SHIFT);
    const char *call;

    if (compute_layout(p, p->hugepage_size, l, err) < 0)
        return -1;
    t->size = (size_t)l->total_bytes;
    call = "memfd_create";
    t->fd = memfd_create(name, flags);
    if (t->fd < 0)
        goto fall_back;
    call = "ftruncate";
    if (ftruncate(t->fd, (off_t)t->size) < 0)
        goto fall_back;
    call = "sealing";
    if (seal(t->fd) < 0)
        goto fall_back;
    /* A shared hugetlb mapping reserves its pages here: an empty pool fails now (ENOMEM). */
    call = "mmap";
    t->base = mmap(NULL, t->size, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
    if (t->base == MAP_FAILED) {
        t->base = NULL;
        goto fall_back;
    }
    *bound =
        bind_node(t->base, t->size, p->numa_node, bind_note, bind_len) == 0 ? p->numa_node : -1;
    /* The reservation is not per node: the bound node's pool can still run short. */
    call = "faulting in";
    if (fault_in(t->base, t->size, (size_t)p->hugepage_size, true) < 0) {
        if (errno == EINVAL) {
            note_add(note, len,
                     "huge pages: this kernel cannot fault them in safely "
                     "(MADV_POPULATE_WRITE needs Linux 5.14)");
            goto undo;
        }
        goto fall_back;
    }
    return 0;
fall_back:
    note_no_hugepages(note, len, p->hugepage_size, l->total_bytes, p->numa_node, call, errno);
undo:
    attempt_undo(t);
    bind_note[0] = '\0';
    *bound = -1;
    return 1;
}

/* Transparent huge pages for shared memory: shmem_enabled lists the modes with the active one
 * in brackets. advise needs our madvise, always/within_size/force do it themselves. */
static bool thp_shmem(char *mode, size_t len)
{
    char line[160], *open, *close;

    read_line("/sys/kernel/mm/transparent_hugepage/shmem_enabled", line, sizeof(line));
    open = strchr(line, '[');
    close = open ? strchr(open, ']') : NULL;
    if (!open || !close) {
        snprintf(mode, len, "%.40s", line[0] ? line : "unknown");
        return false;
    }
    snprintf(mode, len, "%.*s", (int)(close - open - 1), open + 1);
    return strcmp(mode, "always") == 0 || strcmp(mode, "within_size") == 0 ||
           strcmp(mode, "advise") == 0 || strcmp(mode, "force") == 0;
}

static uint64_t thp_size(void)
{
    char text[32];
    const char *p = text;
    uint64_t v;

    read_line("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", text, sizeof(text));
    if (zn_parse_digits(&p, &v) < 0 || *p != '\0' || v < 4096 || (v & (v - 1)) != 0)
        return 2u << 20;
    return v;
}

static int create_shmem(const struct zn_arena_params *p, const char *name, bool thp,
                        struct layout *l, struct attempt *t, char *note, size_t len,
                        char *bind_note, size_t bind_len, int *bound, struct zn_error *err)
{
    uint64_t base_page = (uint64_t)sysconf(_SC_PAGESIZE);

    /* Slots on huge page boundaries even under THP, so no slot straddles a small page
     * run at a huge page edge. */
    if (compute_layout(p, thp ? thp_size() : base_page, l, err) < 0)
        return -1;
    t->size = (size_t)l->total_bytes;
    t->fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (t->fd < 0) {
        zn_fail(err, "arena: could not create shared memory '%s' (memfd_create: %s)", name,
                strerror(errno));
        goto fail;
    }
    if (ftruncate(t->fd, (off_t)t->size) < 0 || seal(t->fd) < 0) {
        char size[32];
        zn_format_size(t->size, size, sizeof(size));
        zn_fail(err, "arena: could not size shared memory '%s' to %s (%s)", name, size,
                strerror(errno));
        goto fail;
    }
    t->base = mmap(NULL, t->size, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
    if (t->base == MAP_FAILED) {
        t->base = NULL;
        zn_fail(err, "arena: could not map %zu bytes of shared memory (mmap: %s)", t->size,
                strerror(errno));
        goto fail;
    }
    if (thp && madvise(t->base, t->size, MADV_HUGEPAGE) < 0) {
        note_add(note, len, "transparent huge pages refused (madvise: %s)", strerror(errno));
        l->page_size = base_page;
        thp = false;
    }
    *bound =
        bind_node(t->base, t->size, p->numa_node, bind_note, bind_len) == 0 ? p->numa_node : -1;
    if (fault_in(t->base, t->size, (size_t)base_page, false) < 0) {
        char size[32];
        zn_format_size(t->size, size, sizeof(size));
        if (*bound >= 0)
            zn_fail(err,
                    "arena: NUMA node %d could not give %s for the arena (%s); use fewer or "
                    "smaller slots, or free memory on that node",
                    *bound, size, strerror(errno));
        else
            zn_fail(err,
                    "arena: could not fault in %s of shared memory (%s); use fewer or "
                    "smaller slots",
                    size, strerror(errno));
        goto fail;
    }
    /* Under THP the kernel still chooses page by page; the slots are aligned for huge pages. */
    return thp ? 1 : 0;
fail:
    attempt_undo(t);
    return -1;
}

static void fill(struct zn_arena *a, const struct attempt *t, const struct layout *l,
                 const struct arena_meta *m)
{
    uint8_t *base = t->base;

    a->fd = t->fd;
    a->base = t->base;
    a->size = t->size;
    a->header = base + m->header_offset;
    a->header_bytes = m->header_bytes;
    a->filled = (struct zn_ring *)(base + m->filled_offset);
    a->free = (struct zn_ring *)(base + m->free_offset);
    a->slot0 = base + m->slot0_offset;
    a->slot_bytes = m->slot_bytes;
    a->slots = m->slots;
    a->page_size = (size_t)l->page_size;
    a->backing = (enum zn_arena_backing)m->backing;
    a->numa_node = m->numa_node;
}

int zn_arena_create(const struct zn_arena_params *p, struct zn_arena *a, struct zn_error *err)
{
    struct attempt t = {.fd = -1};
    struct layout l;
    struct arena_meta m;
    char note[sizeof(a->note)] = "", bind_note[sizeof(a->note)] = "", mode[64];
    enum zn_arena_backing backing = ZN_ARENA_BASE_PAGES;
    const char *name;
    int bound = -1, rc = -1;

    memset(a, 0, sizeof(*a));
    a->fd = -1;
    a->numa_node = -1;
    if (check_params(p, err) < 0)
        goto out;
    name = p->name && *p->name ? p->name : "zenith-arena";

    if (p->hugepage_size != 0) {
        int got = try_hugetlb(p, name, &l, &t, note, sizeof(note), bind_note, sizeof(bind_note),
                              &bound, err);
        if (got < 0)
            goto out;
        if (got == 0)
            backing = ZN_ARENA_HUGETLB;
    }
    if (!t.base) {
        bool thp = thp_shmem(mode, sizeof(mode));
        int got;

        if (!thp)
            note_add(note, sizeof(note),
                     "%sTHP off for shared memory "
                     "(/sys/kernel/mm/transparent_hugepage/shmem_enabled: %s)",
                     p->hugepage_size ? "" : "no huge pages reserved; ", mode);
        got = create_shmem(p, name, thp, &l, &t, note, sizeof(note), bind_note, sizeof(bind_note),
                           &bound, err);
        if (got < 0)
            goto out;
        backing = got == 1 ? ZN_ARENA_THP : ZN_ARENA_BASE_PAGES;
        if (note[0])
            note_add(note, sizeof(note), "using %s", zn_arena_backing_name(backing));
    }
    if (bind_note[0])
        note_add(note, sizeof(note), "%s", bind_note + strlen("zenith: "));

    memset(&m, 0, sizeof(m));
    m.version = ARENA_VERSION;
    m.meta_bytes = sizeof(m);
    m.total_bytes = l.total_bytes;
    m.page_size = l.page_size;
    m.header_offset = l.header_offset;
    m.filled_offset = l.filled_offset;
    m.free_offset = l.free_offset;
    m.ring_bytes = l.ring_bytes;
    m.slot0_offset = l.slot0_offset;
    m.slot_bytes = l.slot_bytes;
    m.header_bytes = p->header_bytes;
    m.slots = p->slots;
    m.ring_capacity = l.ring_capacity;
    m.ring_item_size = p->ring_item_size;
    m.backing = backing;
    m.numa_node = bound;
    if (zn_ring_init((struct zn_ring *)((uint8_t *)t.base + l.filled_offset), ARENA_RING_KIND,
                     l.ring_capacity, p->ring_item_size, err) < 0 ||
        zn_ring_init((struct zn_ring *)((uint8_t *)t.base + l.free_offset), ARENA_RING_KIND,
                     l.ring_capacity, p->ring_item_size, err) < 0) {
        attempt_undo(&t);
        goto out;
    }
    memcpy(t.base, &m, sizeof(m));
    /* The magic last: a reader that sees it sees a complete layout. */
    __atomic_store_n((uint64_t *)t.base, ARENA_MAGIC, __ATOMIC_RELEASE);
    fill(a, &t, &l, &m);
    memcpy(a->note, note, sizeof(a->note));
    a->owner = true;
    rc = 0;
out:
    return rc;
}

static int check_meta(const struct arena_meta *m, int fd, size_t size, const struct statfs *fs,
                      struct zn_error *err)
{
    uint64_t end, slots_bytes, base_page = (uint64_t)sysconf(_SC_PAGESIZE);
    bool hugetlbfs = (unsigned long)fs->f_type == HUGETLBFS_MAGIC;

#define BAD(...) zn_fail(err, "arena (descriptor %d, %zu bytes): " __VA_ARGS__)
    if (m->magic != ARENA_MAGIC)
        return BAD("no arena at its start (magic %#" PRIx64 "); is this descriptor the data "
                   "service's arena?",
                   fd, size, m->magic);
    if (m->version != ARENA_VERSION || m->meta_bytes != sizeof(*m))
        return BAD("laid out by another version of Zenith (layout %" PRIu32 ", %" PRIu32
                   " bytes of meta; this one reads %u, %zu); use zenith-run and the library of "
                   "the same release",
                   fd, size, m->version, m->meta_bytes, ARENA_VERSION, sizeof(*m));
    if (m->total_bytes != size)
        return BAD("its meta says %" PRIu64 " bytes: damaged, or not the whole arena", fd, size,
                   m->total_bytes);
    if (m->page_size < base_page || (m->page_size & (m->page_size - 1)) != 0)
        return BAD("page size %" PRIu64 " in its meta is not a power of two of at least %" PRIu64,
                   fd, size, m->page_size, base_page);
    if (m->backing > ZN_ARENA_BASE_PAGES || (m->backing == ZN_ARENA_HUGETLB) != hugetlbfs ||
        (hugetlbfs && (uint64_t)fs->f_bsize != m->page_size))
        return BAD("its meta says %s of %" PRIu64 " bytes, the descriptor is %s", fd, size,
                   m->backing <= ZN_ARENA_BASE_PAGES
                       ? zn_arena_backing_name((enum zn_arena_backing)m->backing)
                       : "an unknown backing",
                   m->page_size, hugetlbfs ? "on huge pages" : "shared memory of base pages");
    if (m->header_offset < sizeof(*m) || m->header_offset % LINE || m->filled_offset % LINE ||
        m->free_offset % LINE || m->ring_bytes % LINE ||
        add_overflows(m->header_offset, m->header_bytes, &end) || end > m->filled_offset ||
        add_overflows(m->filled_offset, m->ring_bytes, &end) || end > m->free_offset ||
        add_overflows(m->free_offset, m->ring_bytes, &end) || end > m->slot0_offset)
        return BAD("its header and rings overlap or are out of order in its meta (header at "
                   "%" PRIu64 ", rings at %" PRIu64 " and %" PRIu64 ", slots at %" PRIu64 ")",
                   fd, size, m->header_offset, m->filled_offset, m->free_offset, m->slot0_offset);
    if (m->slots == 0 || m->slot_bytes == 0 || m->slot0_offset % m->page_size ||
        m->slot_bytes % m->page_size ||
        __builtin_mul_overflow(m->slot_bytes, (uint64_t)m->slots, &slots_bytes) ||
        add_overflows(m->slot0_offset, slots_bytes, &end) || end > size)
        return BAD("%" PRIu32 " slots of %" PRIu64 " bytes from offset %" PRIu64
                   " do not fit in it at page boundaries",
                   fd, size, m->slots, m->slot_bytes, m->slot0_offset);
    if (m->ring_capacity < m->slots || m->ring_capacity < 2 ||
        (m->ring_capacity & (m->ring_capacity - 1)) != 0 ||
        zn_ring_memsize(ARENA_RING_KIND, m->ring_capacity, m->ring_item_size) == 0 ||
        zn_ring_memsize(ARENA_RING_KIND, m->ring_capacity, m->ring_item_size) > m->ring_bytes)
        return BAD("rings of %" PRIu32 " items of %" PRIu32 " bytes in %" PRIu64
                   " bytes cannot carry %" PRIu32 " slots",
                   fd, size, m->ring_capacity, m->ring_item_size, m->ring_bytes, m->slots);
    if (m->numa_node < -1 || m->numa_node >= (int32_t)MAX_NODES)
        return BAD("NUMA node %" PRId32 " in its meta is not a node", fd, size, m->numa_node);
#undef BAD
    return 0;
}

static int check_ring(const struct zn_ring *ring, const char *which, const struct arena_meta *m,
                      int fd, size_t size, struct zn_error *err)
{
    struct zn_error ring_err;

    if (zn_ring_check(ring, (size_t)m->ring_bytes, &ring_err) < 0)
        return zn_fail(err, "arena (descriptor %d, %zu bytes): its ring '%s' is damaged: %s", fd,
                       size, which, ring_err.text + strlen("zenith: "));
    if (zn_ring_capacity(ring) != m->ring_capacity || zn_ring_item_size(ring) != m->ring_item_size)
        return zn_fail(err,
                       "arena (descriptor %d, %zu bytes): its ring '%s' holds %" PRIu32
                       " items of %" PRIu32 " bytes, its meta says %" PRIu32 " of %" PRIu32,
                       fd, size, which, zn_ring_capacity(ring), zn_ring_item_size(ring),
                       m->ring_capacity, m->ring_item_size);
    return 0;
}

int zn_arena_attach(int fd, struct zn_arena *a, struct zn_error *err)
{
    struct attempt t = {.fd = -1};
    struct arena_meta m;
    struct layout l;
    struct statfs fs;
    struct stat st;
    int seals, rc = -1;

    memset(a, 0, sizeof(*a));
    a->fd = -1;
    a->numa_node = -1;
    if (fstat(fd, &st) < 0 || fstatfs(fd, &fs) < 0) {
        zn_fail(err, "arena: descriptor %d cannot be read (%s); was it inherited from zenith-run?",
                fd, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(m)) {
        zn_fail(err, "arena: descriptor %d is not an arena (%s of %jd bytes)", fd,
                S_ISREG(st.st_mode) ? "a file" : "not a file", (intmax_t)st.st_size);
        goto out;
    }
    /* The size checked here must stay: a shrink would turn the other side's accesses into
     * SIGBUS. Only a memfd sealed against it is taken. */
    seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK) || !(seals & F_SEAL_GROW)) {
        zn_fail(err,
                "arena: descriptor %d is not sealed against resizing (%s); only an arena made "
                "by zn_arena_create can be attached",
                fd, seals < 0 ? strerror(errno) : "seals missing");
        goto out;
    }
    t.size = (size_t)st.st_size;
    t.base = mmap(NULL, t.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (t.base == MAP_FAILED) {
        t.base = NULL;
        zn_fail(err, "arena: could not map descriptor %d (%zu bytes): %s", fd, t.size,
                strerror(errno));
        goto out;
    }
    /* One copy, checked and then used: the other side can change the mapping at any time. */
    m.magic = __atomic_load_n((uint64_t *)t.base, __ATOMIC_ACQUIRE);
    memcpy((uint8_t *)&m + sizeof(m.magic), (uint8_t *)t.base + sizeof(m.magic),
           sizeof(m) - sizeof(m.magic));
    if (check_meta(&m, fd, t.size, &fs, err) < 0 ||
        check_ring((struct zn_ring *)((uint8_t *)t.base + m.filled_offset), "filled", &m, fd,
                   t.size, err) < 0 ||
        check_ring((struct zn_ring *)((uint8_t *)t.base + m.free_offset), "free", &m, fd, t.size,
                   err) < 0) {
        munmap(t.base, t.size);
        goto out;
    }
    t.fd = fd;
    l.page_size = m.page_size;
    fill(a, &t, &l, &m);
    a->owner = false;
    rc = 0;
out:
    return rc;
}

void zn_arena_close(struct zn_arena *a)
{
    int saved_errno = errno;

    if (!a)
        return;
    /* base says whether there is anything: a zeroed arena's fd 0 is not ours. */
    if (a->base) {
        munmap(a->base, a->size);
        if (a->fd >= 0)
            close(a->fd);
    }
    memset(a, 0, sizeof(*a));
    a->fd = -1;
    a->numa_node = -1;
    errno = saved_errno;
}
