/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <numaif.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/arena.h"
#include "tests/unit/testutil.h"

#define MB              (UINT64_C(1) << 20)
#define PAGE_2M         (2 * MB)
#define NR_HUGEPAGES    "/proc/sys/vm/nr_hugepages"
#define SHMEM_ENABLED   "/sys/kernel/mm/transparent_hugepage/shmem_enabled"
#define NODE_MASK_LONGS (1024 / (8 * sizeof(unsigned long)))

#define ck_mentions(text, needle)                                                                  \
    ck_assert_msg(strstr(text, needle) != NULL, "'%s' does not mention '%s'", text, needle)

/* Read in the parent process by the unchecked fixture: whatever a test child did to the
 * machine's settings (failed an assertion, timed out, was killed), the teardown puts back. */
static char saved_nr_hugepages[32], saved_shmem_mode[32];

/* ----------------------------------------------------------------- helpers */

static void read_first_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "re");

    buf[0] = '\0';
    if (f) {
        if (!fgets(buf, (int)len, f))
            buf[0] = '\0';
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = '\0';
}

static int write_setting(const char *path, const char *value)
{
    FILE *f = fopen(path, "we");
    int rc;

    if (!f)
        return -1;
    rc = fputs(value, f) < 0 ? -1 : 0;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

/* "[advise]" out of "always within_size [advise] never deny force" */
static void shmem_mode(char *buf, size_t len)
{
    char line[160], *open, *close;

    read_first_line(SHMEM_ENABLED, line, sizeof(line));
    open = strchr(line, '[');
    close = open ? strchr(open, ']') : NULL;
    if (open && close)
        snprintf(buf, len, "%.*s", (int)(close - open - 1), open + 1);
    else
        buf[0] = '\0';
}

static bool thp_mode_allowed(const char *mode)
{
    return strcmp(mode, "always") == 0 || strcmp(mode, "within_size") == 0 ||
           strcmp(mode, "advise") == 0 || strcmp(mode, "force") == 0;
}

static void settings_setup(void)
{
    read_first_line(NR_HUGEPAGES, saved_nr_hugepages, sizeof(saved_nr_hugepages));
    shmem_mode(saved_shmem_mode, sizeof(saved_shmem_mode));
}

static void settings_teardown(void)
{
    char now[32];

    read_first_line(NR_HUGEPAGES, now, sizeof(now));
    if (saved_nr_hugepages[0] && strcmp(now, saved_nr_hugepages) != 0)
        write_setting(NR_HUGEPAGES, saved_nr_hugepages);
    shmem_mode(now, sizeof(now));
    if (saved_shmem_mode[0] && strcmp(now, saved_shmem_mode) != 0)
        write_setting(SHMEM_ENABLED, saved_shmem_mode);
}

static long long meminfo(const char *key)
{
    char line[256];
    size_t klen = strlen(key);
    long long v = -1;
    FILE *f = fopen("/proc/meminfo", "re");

    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            v = strtoll(line + klen + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static struct zn_arena_params small_params(void)
{
    return (struct zn_arena_params){
        .slots = 8,
        .slot_bytes = 64 * 1024 + 1,
        .header_bytes = 100,
        .ring_item_size = 8,
        .hugepage_size = 0,
        .numa_node = -1,
        .name = "zenith-test-arena",
    };
}

static uint8_t pattern(uint32_t slot, uint64_t i, uint8_t salt)
{
    return (uint8_t)(slot * 131 + i * 7 + (i >> 12) + salt);
}

static void fill_slot(const struct zn_arena *a, uint32_t slot, uint64_t len, uint8_t salt)
{
    uint8_t *p = zn_arena_slot(a, slot);
    for (uint64_t i = 0; i < len; i++)
        p[i] = pattern(slot, i, salt);
}

static bool slot_holds(const struct zn_arena *a, uint32_t slot, uint64_t len, uint8_t salt)
{
    const uint8_t *p = zn_arena_slot(a, slot);
    for (uint64_t i = 0; i < len; i++)
        if (p[i] != pattern(slot, i, salt))
            return false;
    return true;
}

/* Checks the layout invariants an attaching process relies on; returns a message or NULL. */
static const char *layout_problem(const struct zn_arena *a, uint64_t asked_slot_bytes)
{
    static char why[256];
    uint8_t *base = a->base, *end = base + a->size;
    uint8_t *header = a->header, *filled = (uint8_t *)a->filled, *free_ = (uint8_t *)a->free;
    size_t ring_bytes = zn_ring_memsize(ZN_RING_SPSC_STAMPED, zn_ring_capacity(a->filled),
                                        zn_ring_item_size(a->filled));

#define PROBLEM(cond, ...)                                                                         \
    do {                                                                                           \
        if (cond) {                                                                                \
            snprintf(why, sizeof(why), __VA_ARGS__);                                               \
            return why;                                                                            \
        }                                                                                          \
    } while (0)
    PROBLEM(a->page_size == 0 || (a->page_size & (a->page_size - 1)), "page size %zu",
            a->page_size);
    PROBLEM((uintptr_t)a->slot0 % a->page_size, "slot 0 at %p not aligned to %zu", a->slot0,
            a->page_size);
    PROBLEM(a->slot_bytes < asked_slot_bytes || a->slot_bytes % a->page_size,
            "slot stride %" PRIu64 " for %" PRIu64 " asked", a->slot_bytes, asked_slot_bytes);
    PROBLEM(header < base || (uintptr_t)header % 64 || header + a->header_bytes > filled,
            "header at +%td (%" PRIu32 " bytes) overlaps the ring at +%td", header - base,
            a->header_bytes, filled - base);
    PROBLEM((uintptr_t)filled % 64 || (uintptr_t)free_ % 64 || filled + ring_bytes > free_ ||
                free_ + ring_bytes > a->slot0,
            "rings at +%td and +%td (%zu bytes each) overlap or reach slot 0 at +%td",
            filled - base, free_ - base, ring_bytes, a->slot0 - base);
    PROBLEM(zn_ring_capacity(a->filled) < a->slots || zn_ring_capacity(a->free) < a->slots,
            "rings of %u cannot carry %u slots", zn_ring_capacity(a->filled), a->slots);
    PROBLEM(a->slot0 + (uint64_t)a->slots * a->slot_bytes > end,
            "%u slots of %" PRIu64 " from +%td pass the end (%zu)", a->slots, a->slot_bytes,
            a->slot0 - base, a->size);
#undef PROBLEM
    return NULL;
}

/* ----------------------------------------------------------------- create and attach */

struct round_trip {
    struct zn_arena *owner;
    uint64_t len; /* bytes of each slot the test writes */
};

/* The consumer's side: only what attach maps, at another address than the owner's. */
static const char *consumer(void *arg)
{
    struct round_trip *rt = arg;
    struct zn_arena a;
    struct zn_error err;
    uint64_t slot;

    munmap(rt->owner->base, rt->owner->size);
    CHILD_REQUIRE(zn_arena_attach(rt->owner->fd, &a, &err) == 0, "attach: %s", err.text);
    CHILD_REQUIRE(!a.owner && a.slots == rt->owner->slots &&
                      a.slot_bytes == rt->owner->slot_bytes &&
                      a.header_bytes == rt->owner->header_bytes &&
                      a.backing == rt->owner->backing && a.page_size == rt->owner->page_size,
                  "attached layout differs from the owner's");
    CHILD_REQUIRE(strcmp(a.header, "written by the owner") == 0, "header reads '%.40s'",
                  (char *)a.header);
    for (unsigned i = 0; i < a.slots; i++) {
        CHILD_REQUIRE(zn_ring_dequeue(a.filled, &slot), "ring 'filled' ran dry after %u", i);
        CHILD_REQUIRE(slot < a.slots, "slot %" PRIu64 " out of range", slot);
        CHILD_REQUIRE(slot_holds(&a, (uint32_t)slot, rt->len, 1),
                      "slot %" PRIu64 " does not hold the owner's bytes", slot);
        fill_slot(&a, (uint32_t)slot, rt->len, 2);
        CHILD_REQUIRE(zn_ring_enqueue(a.free, &slot), "ring 'free' full");
    }
    snprintf(a.header, a.header_bytes, "answered by the consumer");
    zn_arena_close(&a);
    return NULL;
}

START_TEST(round_trip_through_inherited_fd)
{
    struct zn_arena_params p = small_params();
    struct zn_arena a;
    struct zn_error err;
    struct round_trip rt = {.owner = &a, .len = p.slot_bytes};
    const char *why;
    uint64_t slot;

    ck_assert_msg(zn_arena_create(&p, &a, &err) == 0, "%s", err.text);
    ck_assert(a.owner);
    ck_assert_int_eq(fcntl(a.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    snprintf(a.header, a.header_bytes, "written by the owner");
    for (uint32_t s = 0; s < a.slots; s++) {
        fill_slot(&a, s, rt.len, 1);
        slot = (a.slots - 1 - s); /* out of order */
        ck_assert(zn_ring_enqueue(a.filled, &slot));
    }
    why = in_child(consumer, &rt);
    ck_assert_msg(why == NULL, "consumer: %s", why ? why : "");
    ck_assert_str_eq(a.header, "answered by the consumer");
    for (unsigned i = 0; i < a.slots; i++) {
        ck_assert(zn_ring_dequeue(a.free, &slot));
        ck_assert_uint_eq(slot, a.slots - 1 - i);
        ck_assert_msg(slot_holds(&a, (uint32_t)slot, rt.len, 2), "slot %" PRIu64, slot);
    }
    ck_assert(!zn_ring_dequeue(a.free, &slot));
    zn_arena_close(&a);
    ck_assert_ptr_null(a.base);
    ck_assert_int_eq(a.fd, -1);
    zn_arena_close(&a); /* twice is harmless */
}
END_TEST

static unsigned count_dir(const char *path)
{
    DIR *d = opendir(path);
    unsigned n = 0;

    if (!d)
        return 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

START_TEST(slots_are_aligned_and_distinct)
{
    static const struct {
        uint32_t slots, header_bytes;
        uint64_t slot_bytes;
    } shapes[] = {{1, 0, 2}, {3, 0, 4096}, {5, 5000, 10000}, {32, 64, 4 * MB}, {9, 1, 12345}};
    unsigned shm_before = count_dir("/dev/shm");

    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        struct zn_arena_params p = small_params();
        struct zn_arena a;
        struct zn_error err;
        const char *why;
        char link[256], path[64];
        ssize_t n;

        p.slots = shapes[i].slots;
        p.slot_bytes = shapes[i].slot_bytes;
        p.header_bytes = shapes[i].header_bytes;
        ck_assert_msg(zn_arena_create(&p, &a, &err) == 0, "%s", err.text);
        why = layout_problem(&a, p.slot_bytes);
        ck_assert_msg(why == NULL, "shape %zu: %s", i, why ? why : "");
        ck_assert_uint_eq(a.slots, p.slots);
        /* Each slot's first and last byte are its own. */
        for (uint32_t s = 0; s < a.slots; s++) {
            uint8_t *slot = zn_arena_slot(&a, s);
            slot[0] = (uint8_t)s;
            slot[p.slot_bytes - 1] = (uint8_t)(s + 100);
        }
        for (uint32_t s = 0; s < a.slots; s++) {
            uint8_t *slot = zn_arena_slot(&a, s);
            ck_assert_uint_eq(slot[0], (uint8_t)s);
            ck_assert_uint_eq(slot[p.slot_bytes - 1], (uint8_t)(s + 100));
        }
        /* A memfd: shown under its name, sealed, nothing in /dev/shm. */
        snprintf(path, sizeof(path), "/proc/self/fd/%d", a.fd);
        n = readlink(path, link, sizeof(link) - 1);
        ck_assert_int_gt(n, 0);
        link[n] = '\0';
        ck_mentions(link, "memfd:zenith-test-arena");
        ck_assert_int_eq(fcntl(a.fd, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW),
                         F_SEAL_SHRINK | F_SEAL_GROW);
        ck_assert_uint_eq(count_dir("/dev/shm"), shm_before);
        zn_arena_close(&a);
    }
}
END_TEST

START_TEST(bad_parameters_are_refused)
{
    struct zn_arena_params p;
    struct zn_arena a;
    struct zn_error err;

    p = small_params();
    p.slots = 0;
    ck_assert_int_eq(zn_arena_create(&p, &a, &err), -1);
    ck_mentions(err.text, "at least one slot");
    ck_assert_ptr_null(a.base);
    p = small_params();
    p.ring_item_size = 6;
    ck_assert_int_eq(zn_arena_create(&p, &a, &err), -1);
    ck_mentions(err.text, "multiple of 4");
    p = small_params();
    p.hugepage_size = 3 * MB;
    ck_assert_int_eq(zn_arena_create(&p, &a, &err), -1);
    ck_mentions(err.text, "power of two");
    p = small_params();
    p.slot_bytes = UINT64_MAX / 2;
    ck_assert_int_eq(zn_arena_create(&p, &a, &err), -1);
    ck_mentions(err.text, "do not fit");
    ck_assert(strncmp(err.text, "zenith: ", 8) == 0);
}
END_TEST

START_TEST(close_of_zeroed_arena_leaves_fd_0)
{
    struct zn_arena a;
    int before = fcntl(0, F_GETFD);

    memset(&a, 0, sizeof(a));
    zn_arena_close(&a);
    zn_arena_close(NULL);
    ck_assert_int_eq(fcntl(0, F_GETFD), before);
}
END_TEST

/* ----------------------------------------------------------------- attach never trusts */

static void expect_refused(int fd, const char *needle)
{
    struct zn_arena b;
    struct zn_error err;

    ck_assert_msg(zn_arena_attach(fd, &b, &err) == -1, "attached although '%s' was expected",
                  needle);
    ck_assert_ptr_null(b.base);
    ck_assert(strncmp(err.text, "zenith: ", 8) == 0);
    ck_mentions(err.text, needle);
}

START_TEST(attach_refuses_damage)
{
    struct zn_arena_params p = small_params();
    struct zn_arena a, b;
    struct zn_error err;
    uint8_t meta[4096], ring[64];
    size_t meta_len;
    unsigned refused = 0, accepted = 0;

    ck_assert_msg(zn_arena_create(&p, &a, &err) == 0, "%s", err.text);
    meta_len = (size_t)((uint8_t *)a.header - (uint8_t *)a.base);
    ck_assert_uint_le(meta_len, sizeof(meta));
    memcpy(meta, a.base, meta_len);

    memset(a.base, 0x5a, 8);
    expect_refused(a.fd, "no arena at its start");
    memcpy(a.base, meta, meta_len);
    ((uint32_t *)a.base)[2] = 99; /* the version after the magic */
    expect_refused(a.fd, "another version");
    memcpy(a.base, meta, meta_len);

    /* Garbage in a ring. */
    memcpy(ring, a.filled, sizeof(ring));
    memset(a.filled, 0xa5, sizeof(ring));
    expect_refused(a.fd, "ring 'filled'");
    memcpy(a.filled, ring, sizeof(ring));
    memcpy(ring, a.free, sizeof(ring));
    memset(a.free, 0x00, sizeof(ring));
    expect_refused(a.fd, "ring 'free'");
    memcpy(a.free, ring, sizeof(ring));

    /* Every byte of the meta past the magic and version, damaged three ways: refused, or what
     * attach hands out still lies inside the mapping without overlaps. */
    for (size_t off = 12; off < meta_len; off++)
        for (unsigned k = 0; k < 3; k++) {
            static const uint8_t masks[] = {0x01, 0x80, 0xff};
            /* attach takes the descriptor it is given over when it succeeds */
            int fd = dup(a.fd);

            ((uint8_t *)a.base)[off] = meta[off] ^ masks[k];
            if (zn_arena_attach(fd, &b, &err) < 0) {
                refused++;
                close(fd);
            } else {
                const char *why = layout_problem(&b, b.slot_bytes);
                ck_assert_msg(why == NULL, "byte %zu ^ %#x accepted with %s", off, masks[k], why);
                accepted++;
                zn_arena_close(&b);
            }
            ((uint8_t *)a.base)[off] = meta[off];
        }
    printf("test_arena: %u single-byte damages of the meta refused, %u accepted\n", refused,
           accepted);
    ck_assert_uint_gt(refused, 0);
    /* And undamaged it attaches. */
    ck_assert_msg(zn_arena_attach(dup(a.fd), &b, &err) == 0, "%s", err.text);
    zn_arena_close(&b);
    zn_arena_close(&a);
}
END_TEST

START_TEST(attach_refuses_what_is_not_an_arena)
{
    char path[] = "/tmp/zenith-arena-XXXXXX";
    int file, memfd, sealed;
    int pipefd[2];
    struct zn_arena b;
    struct zn_error err;

    expect_refused(-1, "cannot be read");
    ck_assert_int_eq(pipe(pipefd), 0);
    expect_refused(pipefd[0], "not a file");
    close(pipefd[0]);
    close(pipefd[1]);
    file = mkstemp(path);
    ck_assert_int_ge(file, 0);
    unlink(path);
    ck_assert_int_eq(ftruncate(file, 1 << 20), 0);
    expect_refused(file, "not sealed");
    close(file);
    memfd = memfd_create("not-sealed", MFD_CLOEXEC);
    ck_assert_int_eq(ftruncate(memfd, 1 << 20), 0);
    expect_refused(memfd, "not sealed");
    close(memfd);
    sealed = memfd_create("sealed-garbage", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    ck_assert_int_eq(ftruncate(sealed, 1 << 20), 0);
    ck_assert_int_eq(fcntl(sealed, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
    expect_refused(sealed, "no arena at its start");
    ck_assert_int_eq(zn_arena_attach(sealed, &b, &err), -1);
    /* A failed attach leaves the caller's descriptor open. */
    ck_assert_int_ge(fcntl(sealed, F_GETFD), 0);
    close(sealed);
}
END_TEST

/* ----------------------------------------------------------------- backings */

/* The common case on a node without a reservation: asked for 2M pages, the pool has none
 * (or too few), and the arena still comes up, saying why. */
START_TEST(empty_pool_falls_back_with_a_note)
{
    struct zn_arena_params p = small_params();
    struct zn_arena a;
    struct zn_error err;
    char mode[32];
    long long free_before = meminfo("HugePages_Free"), pages;

    shmem_mode(mode, sizeof(mode));
    p.hugepage_size = PAGE_2M;
    /* More than the pool has free, whatever it holds. */
    pages = (free_before > 0 ? free_before : 0) + 2;
    p.slots = (uint32_t)pages;
    p.slot_bytes = PAGE_2M;
    ck_assert_msg(zn_arena_create(&p, &a, &err) == 0, "%s", err.text);
    printf("test_arena: empty pool: %s: %s\n", zn_arena_backing_name(a.backing), a.note);
    ck_assert_int_ne(a.backing, ZN_ARENA_HUGETLB);
    ck_assert_int_eq(a.backing, thp_mode_allowed(mode) ? ZN_ARENA_THP : ZN_ARENA_BASE_PAGES);
    ck_mentions(a.note, "zenith: huge pages of 2M: the pool had ");
    ck_assert(strncmp(a.note, "zenith: ", 8) == 0);
    ck_mentions(a.note, "free pages, the arena needs");
    ck_mentions(a.note,
                thp_mode_allowed(mode) ? "using transparent huge pages" : "using base pages");
    if (!thp_mode_allowed(mode))
        ck_mentions(a.note, "shmem_enabled: ");
    ck_assert_ptr_null(layout_problem(&a, p.slot_bytes));
    ck_assert_int_eq(meminfo("HugePages_Free"), free_before);
    fill_slot(&a, a.slots - 1, p.slot_bytes, 3);
    ck_assert(slot_holds(&a, a.slots - 1, p.slot_bytes, 3));
    zn_arena_close(&a);

    /* Bound to a node: the note names that node's pool. */
    p.numa_node = 0;
    ck_assert_msg(zn_arena_create(&p, &a, &err) == 0, "%s", err.text);
    ck_assert_int_ne(a.backing, ZN_ARENA_HUGETLB);
    ck_mentions(a.note, "huge pages of 2M: the pool on NUMA node 0 had ");
    ck_assert_int_eq(a.numa_node, 0);
    zn_arena_close(&a);

    /* A size the kernel may have no pool of at all, or an empty one: either way a note. */
    p.hugepage_size = UINT64_C(1) << 30;
    p.numa_node = -1;
    p.slots = 1;
    p.slot_bytes = 4096;
    ck_assert_msg(zn_arena_create(&p, &a, &err) == 0, "%s", err.text);
    if (a.backing != ZN_ARENA_HUGETLB)
        ck_mentions(a.note, "huge pages of 1G: ");
    zn_arena_close(&a);
}
END_TEST

/* No reservation asked for: base pages (or THP), with the note saying why not better. */
START_TEST(no_hugepages_asked)
{
    struct zn_arena_params p = small_params();
    struct zn_arena a;
    struct zn_error err;
    char mode[32];

    shmem_mode(mode, sizeof(mode));
    ck_assert_msg(zn_arena_create(&p, &a, &err) == 0, "%s", err.text);
    if (thp_mode_allowed(mode)) {
        ck_assert_int_eq(a.backing, ZN_ARENA_THP);
        ck_assert_str_eq(a.note, "");
        ck_assert_uint_eq(a.page_size, PAGE_2M);
    } else {
        ck_assert_int_eq(a.backing, ZN_ARENA_BASE_PAGES);
        ck_assert_uint_eq(a.page_size, (size_t)sysconf(_SC_PAGESIZE));
        ck_mentions(a.note, "no huge pages reserved; THP off for shared memory");
        ck_mentions(a.note, mode);
    }
    zn_arena_close(&a);
}
END_TEST

static int policy_of(void *addr, unsigned long *mask, int *node)
{
    int mode;

    memset(mask, 0, NODE_MASK_LONGS * sizeof(*mask));
    if (get_mempolicy(&mode, mask, NODE_MASK_LONGS * 8 * sizeof(*mask), addr, MPOL_F_ADDR) < 0)
        return -1;
    if (get_mempolicy(node, NULL, 0, addr, MPOL_F_ADDR | MPOL_F_NODE) < 0)
        return -1;
    return mode;
}

/* The line of /proc/self/numa_maps for the mapping at base. */
static bool numa_maps_line(const void *base, char *line, size_t len)
{
    char want[32];
    FILE *f = fopen("/proc/self/numa_maps", "re");
    bool found = false;

    snprintf(want, sizeof(want), "%lx ", (unsigned long)(uintptr_t)base);
    if (!f)
        return false;
    while (!found && fgets(line, (int)len, f))
        found = strncmp(line, want, strlen(want)) == 0;
    fclose(f);
    return found;
}

static const char *bound_problem(const struct zn_arena *a, int node)
{
    static char why[256];
    unsigned long mask[NODE_MASK_LONGS];
    char line[1024];
    int page_node = -1, mode;

    for (uint32_t s = 0; s < a->slots; s++) {
        uint8_t *slot = zn_arena_slot(a, s);
        mode = policy_of(slot, mask, &page_node);
        if (mode != MPOL_BIND || mask[0] != 1UL << node || page_node != node) {
            snprintf(why, sizeof(why), "slot %u: policy %d mask %#lx, page on node %d", s, mode,
                     mask[0], page_node);
            return why;
        }
    }
    if (!numa_maps_line(a->base, line, sizeof(line))) {
        snprintf(why, sizeof(why), "no line for %p in /proc/self/numa_maps", a->base);
        return why;
    }
    snprintf(why, sizeof(why), "bind:%d ", node);
    if (!strstr(line, why)) {
        snprintf(why, sizeof(why), "numa_maps: %.200s", line);
        return why;
    }
    return NULL;
}

START_TEST(numa_binding_is_real)
{
    struct zn_arena_params p = small_params();
    struct zn_arena a, b;
    struct zn_error err;
    unsigned long mask[NODE_MASK_LONGS];
    int node, dup_fd;
    const char *why;

    /* Unbound: the default policy. */
    ck_assert_msg(zn_arena_create(&p, &a, &err) == 0, "%s", err.text);
    ck_assert_int_eq(a.numa_node, -1);
    ck_assert_int_eq(policy_of(a.slot0, mask, &node), MPOL_DEFAULT);
    zn_arena_close(&a);

    p.numa_node = 0;
    ck_assert_msg(zn_arena_create(&p, &a, &err) == 0, "%s", err.text);
    ck_assert_int_eq(a.numa_node, 0);
    ck_assert_msg(strstr(a.note, "NUMA") == NULL, "%s", a.note);
    why = bound_problem(&a, 0);
    ck_assert_msg(why == NULL, "%s", why ? why : "");
    /* The consumer learns the node from the meta. */
    dup_fd = dup(a.fd);
    ck_assert_msg(zn_arena_attach(dup_fd, &b, &err) == 0, "%s", err.text);
    ck_assert_int_eq(b.numa_node, 0);
    zn_arena_close(&b);
    zn_arena_close(&a);

    /* A node this machine lacks costs locality, not the arena: a note, and unbound. */
    p.numa_node = 7;
    ck_assert_int_ne(access("/sys/devices/system/node/node7", F_OK), 0);
    ck_assert_msg(zn_arena_create(&p, &a, &err) == 0, "%s", err.text);
    printf("test_arena: NUMA node 7: %s\n", a.note);
    ck_assert_int_eq(a.numa_node, -1);
    ck_mentions(a.note, "not bound to NUMA node 7: no such node");
    ck_assert_int_eq(policy_of(a.slot0, mask, &node), MPOL_DEFAULT);
    zn_arena_close(&a);
    p.numa_node = 5000;
    ck_assert_msg(zn_arena_create(&p, &a, &err) == 0, "%s", err.text);
    ck_mentions(a.note, "not bound to NUMA node 5000");
    zn_arena_close(&a);
    p.numa_node = -2;
    ck_assert_int_eq(zn_arena_create(&p, &a, &err), -1);
    ck_mentions(err.text, "NUMA node -2");
}
END_TEST

/* ----------------------------------------------------------------- real huge pages */

struct hugetlb_case {
    long long pages_needed;
};

static bool wait_free_pages(long long want)
{
    for (int i = 0; i < 200; i++) {
        if (test_meminfo("HugePages_Free") == want)
            return true;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static struct zn_arena_params hugetlb_params(void)
{
    struct zn_arena_params p = small_params();
    p.slots = 4;
    p.slot_bytes = 3 * MB / 2; /* rounded up to one 2M page */
    p.hugepage_size = PAGE_2M;
    return p;
}

/* Slots: 4 pages; meta, header and rings: 1 page. */
#define HUGETLB_ARENA_PAGES 5

static const char *hugetlb_checks(void *arg)
{
    struct zn_arena_params p = hugetlb_params();
    struct zn_arena a, b;
    struct zn_error err;
    long long before = test_meminfo("HugePages_Free");
    int pipefd[2], status;
    const char *why;
    char c;
    pid_t pid;

    (void)arg;
    CHILD_REQUIRE(zn_arena_create(&p, &a, &err) == 0, "create: %s", err.text);
    CHILD_REQUIRE(a.backing == ZN_ARENA_HUGETLB, "backing %s: %s", zn_arena_backing_name(a.backing),
                  a.note);
    CHILD_REQUIRE(a.note[0] == '\0', "note '%s'", a.note);
    CHILD_REQUIRE(a.page_size == PAGE_2M && a.slot_bytes == PAGE_2M, "page %zu, slot %" PRIu64,
                  a.page_size, a.slot_bytes);
    why = layout_problem(&a, p.slot_bytes);
    CHILD_REQUIRE(why == NULL, "%s", why);
    CHILD_REQUIRE(test_meminfo("HugePages_Free") == before - HUGETLB_ARENA_PAGES,
                  "HugePages_Free %lld while mapped, %lld before: the arena should hold %d",
                  test_meminfo("HugePages_Free"), before, HUGETLB_ARENA_PAGES);
    fill_slot(&a, 3, p.slot_bytes, 4);
    CHILD_REQUIRE(zn_arena_attach(dup(a.fd), &b, &err) == 0, "attach: %s", err.text);
    CHILD_REQUIRE(b.backing == ZN_ARENA_HUGETLB && b.page_size == PAGE_2M, "attached as %s",
                  zn_arena_backing_name(b.backing));
    CHILD_REQUIRE(slot_holds(&b, 3, p.slot_bytes, 4), "attached slot 3 differs");
    zn_arena_close(&b);
    CHILD_REQUIRE(test_meminfo("HugePages_Free") == before - HUGETLB_ARENA_PAGES,
                  "attach took pages");
    zn_arena_close(&a);
    CHILD_REQUIRE(wait_free_pages(before), "HugePages_Free %lld after close, %lld before",
                  test_meminfo("HugePages_Free"), before);

    /* Bound to node 0 on huge pages. */
    p.numa_node = 0;
    CHILD_REQUIRE(zn_arena_create(&p, &a, &err) == 0, "create on node 0: %s", err.text);
    CHILD_REQUIRE(a.backing == ZN_ARENA_HUGETLB && a.numa_node == 0, "node 0: %s, node %d: %s",
                  zn_arena_backing_name(a.backing), a.numa_node, a.note);
    why = bound_problem(&a, 0);
    CHILD_REQUIRE(why == NULL, "node 0 on huge pages: %s", why);
    zn_arena_close(&a);
    CHILD_REQUIRE(wait_free_pages(before), "HugePages_Free %lld after close on node 0",
                  test_meminfo("HugePages_Free"));

    /* A producer killed with its arena mapped gives the pages back too. */
    CHILD_REQUIRE(pipe(pipefd) == 0, "pipe");
    pid = fork();
    CHILD_REQUIRE(pid >= 0, "fork");
    if (pid == 0) {
        struct zn_arena k;
        p.numa_node = -1;
        if (zn_arena_create(&p, &k, &err) < 0 || k.backing != ZN_ARENA_HUGETLB)
            _exit(3);
        c = 'r';
        if (write(pipefd[1], &c, 1) != 1)
            _exit(4);
        for (;;)
            pause();
    }
    close(pipefd[1]);
    CHILD_REQUIRE(read(pipefd[0], &c, 1) == 1, "the producer did not come up on huge pages");
    close(pipefd[0]);
    CHILD_REQUIRE(test_meminfo("HugePages_Free") == before - HUGETLB_ARENA_PAGES,
                  "HugePages_Free %lld while the producer holds its arena, %lld before",
                  test_meminfo("HugePages_Free"), before);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    CHILD_REQUIRE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "producer status %#x",
                  status);
    CHILD_REQUIRE(wait_free_pages(before), "HugePages_Free %lld after SIGKILL, %lld before",
                  test_meminfo("HugePages_Free"), before);
    return NULL;
}

START_TEST(hugetlb_pages_come_and_go)
{
    char old[32], now[32], want[32];
    long long old_pages, free_before;
    const char *why;

    if (geteuid() != 0 || access(NR_HUGEPAGES, W_OK) != 0) {
        printf("test_arena: hugetlb_pages_come_and_go: skipped: %s is not writable here "
               "(not root, or a container); the fallback tests still ran\n",
               NR_HUGEPAGES);
        return;
    }
    read_first_line(NR_HUGEPAGES, old, sizeof(old));
    old_pages = strtoll(old, NULL, 10);
    snprintf(want, sizeof(want), "%lld", old_pages + HUGETLB_ARENA_PAGES + 1);
    if (write_setting(NR_HUGEPAGES, want) < 0 ||
        test_meminfo("HugePages_Free") < HUGETLB_ARENA_PAGES + 1) {
        read_first_line(NR_HUGEPAGES, now, sizeof(now));
        write_setting(NR_HUGEPAGES, old);
        printf("test_arena: hugetlb_pages_come_and_go: skipped: raising %s from %s to %s "
               "gave %s (%lld free): memory too fragmented or not allowed\n",
               NR_HUGEPAGES, old, want, now, test_meminfo("HugePages_Free"));
        return;
    }
    free_before = test_meminfo("HugePages_Free");
    why = in_child(hugetlb_checks, NULL);
    /* Back before any assertion, so that a failure leaves the machine as it was. */
    ck_assert_int_eq(write_setting(NR_HUGEPAGES, old), 0);
    read_first_line(NR_HUGEPAGES, now, sizeof(now));
    ck_assert_msg(why == NULL, "%s", why ? why : "");
    ck_assert_str_eq(now, old);
    printf("test_arena: hugetlb: %lld free pages before, %d held while mapped and back after "
           "close and after SIGKILL; nr_hugepages back to %s\n",
           free_before, HUGETLB_ARENA_PAGES, now);
}
END_TEST

/* ----------------------------------------------------------------- transparent huge pages */

static long long smaps_field(const void *base, const char *field)
{
    char line[512], want[32];
    bool in = false;
    long long v = -1;
    size_t flen = strlen(field);
    FILE *f = fopen("/proc/self/smaps", "re");

    if (!f)
        return -1;
    snprintf(want, sizeof(want), "%lx-", (unsigned long)(uintptr_t)base);
    while (fgets(line, sizeof(line), f)) {
        if (strchr(line, '-') && strchr(line, ' ') && line[0] != ' ' &&
            strncmp(line, want, strlen(want)) == 0) {
            in = true;
            continue;
        }
        if (in && strncmp(line, field, flen) == 0 && line[flen] == ':') {
            v = strtoll(line + flen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static const char *thp_checks(void *arg)
{
    struct zn_arena_params p = small_params();
    struct zn_arena a;
    struct zn_error err;
    long long pmd;

    (void)arg;
    p.slots = 4;
    p.slot_bytes = 4 * MB;
    CHILD_REQUIRE(zn_arena_create(&p, &a, &err) == 0, "create: %s", err.text);
    CHILD_REQUIRE(a.backing == ZN_ARENA_THP && a.note[0] == '\0', "backing %s: '%s'",
                  zn_arena_backing_name(a.backing), a.note);
    CHILD_REQUIRE(a.page_size == PAGE_2M && (uintptr_t)a.slot0 % PAGE_2M == 0,
                  "THP page %zu, slot 0 at %p", a.page_size, a.slot0);
    pmd = smaps_field(a.base, "ShmemPmdMapped");
    CHILD_REQUIRE(pmd >= (long long)(p.slots * p.slot_bytes / 1024),
                  "ShmemPmdMapped %lld kB: the slots are not on huge pages", pmd);
    zn_arena_close(&a);

    /* Asked for hugetlb pages that are not there: THP is next best. */
    p.hugepage_size = PAGE_2M;
    p.slots = (uint32_t)(test_meminfo("HugePages_Free") + 2);
    p.slot_bytes = PAGE_2M;
    CHILD_REQUIRE(zn_arena_create(&p, &a, &err) == 0, "create: %s", err.text);
    CHILD_REQUIRE(a.backing == ZN_ARENA_THP, "fallback went to %s: %s",
                  zn_arena_backing_name(a.backing), a.note);
    CHILD_REQUIRE(strstr(a.note, "huge pages of 2M") &&
                      strstr(a.note, "using transparent huge pages"),
                  "note: %s", a.note);
    zn_arena_close(&a);
    return NULL;
}

START_TEST(thp_when_shared_memory_allows_it)
{
    char mode[32], now[32];
    const char *why;

    shmem_mode(mode, sizeof(mode));
    if (!thp_mode_allowed(mode) && (geteuid() != 0 || write_setting(SHMEM_ENABLED, "advise") < 0)) {
        printf("test_arena: thp_when_shared_memory_allows_it: skipped: %s is '%s' and cannot be "
               "set to advise here\n",
               SHMEM_ENABLED, mode);
        return;
    }
    why = in_child(thp_checks, NULL);
    if (!thp_mode_allowed(mode))
        ck_assert_int_eq(write_setting(SHMEM_ENABLED, mode), 0);
    shmem_mode(now, sizeof(now));
    ck_assert_msg(why == NULL, "%s", why ? why : "");
    ck_assert_str_eq(now, mode);
    printf("test_arena: THP: shmem_enabled %s%s: the slots were mapped by huge pages\n", mode,
           thp_mode_allowed(mode) ? "" : " (set to advise for the test, then back)");
}
END_TEST

int main(void)
{
    TCase *tc = tcase_create("arena");

    tcase_add_unchecked_fixture(tc, settings_setup, settings_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, round_trip_through_inherited_fd);
    tcase_add_test(tc, slots_are_aligned_and_distinct);
    tcase_add_test(tc, bad_parameters_are_refused);
    tcase_add_test(tc, close_of_zeroed_arena_leaves_fd_0);
    tcase_add_test(tc, attach_refuses_damage);
    tcase_add_test(tc, attach_refuses_what_is_not_an_arena);
    tcase_add_test(tc, empty_pool_falls_back_with_a_note);
    tcase_add_test(tc, no_hugepages_asked);
    tcase_add_test(tc, numa_binding_is_real);
    tcase_add_test(tc, hugetlb_pages_come_and_go);
    tcase_add_test(tc, thp_when_shared_memory_allows_it);
    return test_run("arena", tc);
}
