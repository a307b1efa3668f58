/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/ring-inline.h"
#include "runtime/ring.h"

/* Built twice: as test_ring against libzenith, and as test_ring_tsan from this file, ring.c and
 * error.c alone under ThreadSanitizer. So no testutil.c here: it would pull the planner and hwloc
 * into the sanitized program. */

/* Items through each stress test; the TSan build passes a smaller count (it runs ~10x slower). */
#ifndef ZN_RING_TEST_ITEMS
#define ZN_RING_TEST_ITEMS 10000000
#endif

#ifdef __SANITIZE_THREAD__
/* Any report fails the test that caused it (the Check child exits 66), not just the log. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
    return "halt_on_error=1:exitcode=66";
}
#endif

/* A wait that takes this long means a lost wake-up: fail rather than hang. */
#define STUCK_NS (INT64_C(20) * 1000000000)

#define ck_error_mentions(err, needle)                                                             \
    ck_assert_msg(strstr((err).text, needle) != NULL, "'%s' does not mention '%s'", (err).text,    \
                  needle)

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ns(long ns)
{
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Rings live in MAP_SHARED memory in every test: the same memory a fork child shares. */
static void *map_shared(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    ck_assert_msg(p != MAP_FAILED, "mmap %zu bytes: %s", len, strerror(errno));
    return p;
}

static struct zn_ring *new_ring(enum zn_ring_kind kind, uint32_t capacity, uint32_t item_size,
                                size_t *len)
{
    struct zn_error err = {{0}};
    size_t size = zn_ring_memsize(kind, capacity, item_size);
    struct zn_ring *ring;

    ck_assert_uint_gt(size, 0);
    ring = map_shared(size);
    ck_assert_msg(zn_ring_init(ring, kind, capacity, item_size, &err) == 0, "%s", err.text);
    ck_assert_msg(zn_ring_check(ring, size, &err) == 0, "%s", err.text);
    if (len)
        *len = size;
    return ring;
}

static void free_ring(struct zn_ring *ring)
{
    munmap(ring, ring->header.size);
}

/* Item `seq` of `size` bytes: every byte depends on seq, so a torn or misplaced copy shows. */
static void fill_item(unsigned char *item, uint32_t size, uint64_t seq)
{
    for (uint32_t i = 0; i < size; i++)
        item[i] = (unsigned char)(seq * 131 + i * 7 + (seq >> 8));
}

static bool item_is(const unsigned char *item, uint32_t size, uint64_t seq)
{
    for (uint32_t i = 0; i < size; i++)
        if (item[i] != (unsigned char)(seq * 131 + i * 7 + (seq >> 8)))
            return false;
    return true;
}

static pid_t fork_child(void)
{
    pid_t parent = getpid(), pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* A failed assertion in the parent must not leave children blocked on the ring. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(3);
    }
    return pid;
}

static void expect_child_ok(pid_t pid)
{
    int status;

    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
}

static const enum zn_ring_kind kinds[] = {ZN_RING_SPSC, ZN_RING_MPMC, ZN_RING_SPSC_STAMPED};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* ------------------------------------------------------------------ geometry */

START_TEST(memsize_accepts_only_valid_geometry)
{
    for (size_t k = 0; k < 2; k++) { /* the packed kinds */
        ck_assert_uint_eq(zn_ring_memsize(kinds[k], 16, 8), ZN_RING_DATA_OFFSET + 128);
        ck_assert_uint_eq(zn_ring_memsize(kinds[k], 2, 4), ZN_RING_DATA_OFFSET + 64); /* a line */
        ck_assert_uint_eq(zn_ring_memsize(kinds[k], 16, 1024), ZN_RING_DATA_OFFSET + 16384);
        ck_assert_uint_eq(zn_ring_memsize(kinds[k], UINT32_C(1) << 30, 4),
                          ZN_RING_DATA_OFFSET + (UINT64_C(4) << 30));
        ck_assert_uint_eq(zn_ring_memsize(kinds[k], 16, 1028), 0);
    }
    /* Stamped: a slot is the item plus a 4-byte stamp, rounded up to a power of two. */
    ck_assert_uint_eq(zn_ring_memsize(ZN_RING_SPSC_STAMPED, 16, 4), ZN_RING_DATA_OFFSET + 128);
    ck_assert_uint_eq(zn_ring_memsize(ZN_RING_SPSC_STAMPED, 16, 8), ZN_RING_DATA_OFFSET + 256);
    ck_assert_uint_eq(zn_ring_memsize(ZN_RING_SPSC_STAMPED, 16, 12), ZN_RING_DATA_OFFSET + 256);
    ck_assert_uint_eq(zn_ring_memsize(ZN_RING_SPSC_STAMPED, 16, 28), ZN_RING_DATA_OFFSET + 512);
    ck_assert_uint_eq(zn_ring_memsize(ZN_RING_SPSC_STAMPED, 16, 60), ZN_RING_DATA_OFFSET + 1024);
    ck_assert_uint_eq(zn_ring_memsize(ZN_RING_SPSC_STAMPED, 16, 64), 0);
    for (size_t k = 0; k < NKINDS; k++) {
        ck_assert_uint_eq(zn_ring_memsize(kinds[k], 0, 8), 0);
        ck_assert_uint_eq(zn_ring_memsize(kinds[k], 1, 8), 0);
        ck_assert_uint_eq(zn_ring_memsize(kinds[k], 12, 8), 0);
        ck_assert_uint_eq(zn_ring_memsize(kinds[k], UINT32_C(1) << 31, 4), 0);
        ck_assert_uint_eq(zn_ring_memsize(kinds[k], 16, 0), 0);
        ck_assert_uint_eq(zn_ring_memsize(kinds[k], 16, 6), 0);
    }
    ck_assert_uint_eq(zn_ring_memsize((enum zn_ring_kind)7, 16, 8), 0);
}
END_TEST

START_TEST(init_refuses_bad_arguments)
{
    struct zn_error err = {{0}};
    unsigned char *buf = map_shared(8192);

    ck_assert_int_eq(zn_ring_init((struct zn_ring *)(buf + 16), ZN_RING_SPSC, 16, 8, &err), -1);
    ck_assert_msg(strncmp(err.text, "zenith: ", 8) == 0, "%s", err.text);
    ck_error_mentions(err, "64-byte aligned");
    ck_assert_int_eq(zn_ring_init((struct zn_ring *)buf, ZN_RING_SPSC, 12, 8, &err), -1);
    ck_error_mentions(err, "capacity 12");
    ck_assert_int_eq(zn_ring_init((struct zn_ring *)buf, ZN_RING_MPMC, 16, 6, &err), -1);
    ck_error_mentions(err, "item size 6");
    ck_assert_int_eq(zn_ring_init((struct zn_ring *)buf, (enum zn_ring_kind)5, 16, 8, &err), -1);
    ck_error_mentions(err, "kind 5");
    ck_assert_int_eq(zn_ring_init((struct zn_ring *)buf, ZN_RING_SPSC_STAMPED, 16, 64, &err), -1);
    ck_error_mentions(err, "item size 64");
    ck_error_mentions(err, "ZN_RING_SPSC for larger items");
    ck_assert_int_eq(zn_ring_init(NULL, ZN_RING_SPSC, 16, 8, &err), -1);
    /* Nothing was written by the refusals: the memory is still not a ring. */
    ck_assert_int_eq(zn_ring_check((struct zn_ring *)buf, 8192, &err), -1);
    ck_error_mentions(err, "magic");
    munmap(buf, 8192);
}
END_TEST

/* Each field a consumer relies on, corrupted in turn, is refused with a message naming it. */
START_TEST(check_refuses_corrupt_rings)
{
    struct zn_error err = {{0}};
    size_t len;
    struct zn_ring *r = new_ring(ZN_RING_MPMC, 16, 8, &len);
    struct zn_ring *saved = malloc(len);
    static const struct {
        const char *needle;
        size_t offset; /* of a uint32_t field; SIZE_MAX: the size field */
        uint32_t value;
    } bad[] = {
        {"magic", offsetof(struct zn_ring, header.magic), 0x12345678},
        {"version 7", offsetof(struct zn_ring, header.version), 7},
        {"kind 9", offsetof(struct zn_ring, header.kind), 9},
        {"capacity 12", offsetof(struct zn_ring, header.capacity), 12},
        {"capacity 0", offsetof(struct zn_ring, header.capacity), 0},
        {"capacity 2147483648", offsetof(struct zn_ring, header.capacity), UINT32_C(1) << 31},
        {"item size 6", offsetof(struct zn_ring, header.item_size), 6},
        {"item size 0", offsetof(struct zn_ring, header.item_size), 0},
        {"item size 2048", offsetof(struct zn_ring, header.item_size), 2048},
        /* A consistent header for a larger ring than the mapping: the fast path would write
         * past the end. */
        {"corrupt", offsetof(struct zn_ring, header.capacity), 32},
        {"offset 0", offsetof(struct zn_ring, header.data_offset), 0},
        {"producer side", offsetof(struct zn_ring, prod.mask), 0xff},
        {"producer side", offsetof(struct zn_ring, prod.item_size), 64},
        {"consumer side", offsetof(struct zn_ring, cons.capacity), 32},
        {"consumer side", offsetof(struct zn_ring, cons.mode), ZN_RING_SPSC},
        /* An MPMC ring whose 8-byte calls would take it for an SPSC one. */
        {"for 8-byte calls", offsetof(struct zn_ring, prod.mode8), ZN_RING_SPSC},
        {"consumer side", offsetof(struct zn_ring, cons.stride), 16},
        {"indices are corrupt", offsetof(struct zn_ring, prod.tail), 17},
        {"a producer's claim", offsetof(struct zn_ring, prod.head), 40},
        {"a consumer's claim", offsetof(struct zn_ring, cons.head), 0x80000000u},
    };

    ck_assert_ptr_nonnull(saved);
    memcpy(saved, r, len);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memcpy(r, saved, len);
        memcpy((unsigned char *)r + bad[i].offset, &bad[i].value, sizeof(uint32_t));
        zn_error_clear(&err);
        ck_assert_msg(zn_ring_check(r, len, &err) == -1, "corruption %zu (%s) passed", i,
                      bad[i].needle);
        ck_assert_msg(strncmp(err.text, "zenith: shared ring", 19) == 0, "%s", err.text);
        ck_error_mentions(err, bad[i].needle);
    }
    memcpy(r, saved, len);
    r->header.size += 64;
    ck_assert_int_eq(zn_ring_check(r, len + 64, &err), -1);
    ck_error_mentions(err, "corrupt");

    memcpy(r, saved, len);
    ck_assert_msg(zn_ring_check(r, len, &err) == 0, "%s", err.text);
    ck_assert_int_eq(zn_ring_check(r, len - 1, &err), -1);
    ck_error_mentions(err, "truncated");
    ck_assert_int_eq(zn_ring_check(r, 100, &err), -1);
    ck_error_mentions(err, "100 bytes");
    ck_assert_int_eq(zn_ring_check(NULL, len, &err), -1);
    free(saved);
    free_ring(r);
}
END_TEST

/* A stamped ring's consumer takes an item by its slot's stamp, before the producer has published
 * its index (a producer between the two stores): a stale stamp is never taken, and every reader
 * of the indices takes "consumer ahead" for "none there", never for a ring full of garbage. */
START_TEST(stamped_consumer_runs_ahead_of_the_index)
{
    size_t len;
    struct zn_error err = {{0}};
    struct zn_ring *r = new_ring(ZN_RING_SPSC_STAMPED, 4, 8, &len), *packed;
    uint64_t v = 41, out[4] = {0};
    unsigned char *slot0 = r->data, *slot1 = r->data + 16;

    ck_assert_uint_eq(r->prod.stride, 16);
    /* An item written without its stamp (a stamp of the lap before) is not there. */
    memcpy(slot0, &v, 8);
    ck_assert(!zn_ring_dequeue(r, out));
    /* With its stamp it is, although the producer's index still says 0. */
    atomic_store(zn_ring__stamp(slot0, &r->prod), 1);
    v = 42;
    memcpy(slot1, &v, 8);
    atomic_store(zn_ring__stamp(slot1, &r->prod), 2);
    ck_assert(zn_ring_dequeue(r, out));
    ck_assert_uint_eq(out[0], 41);
    ck_assert_uint_eq(atomic_load(&r->cons.tail), 1);
    ck_assert_uint_eq(zn_ring_count(r), 0);
    ck_assert_msg(zn_ring_check(r, len, &err) == 0, "%s", err.text);
    /* Bursts go by the index: nothing published yet. A wait looks at the stamp too. */
    ck_assert_uint_eq(zn_ring_dequeue_burst(r, out, 4), 0);
    ck_assert_int_eq(zn_ring_dequeue_wait(r, out, 4, 1000000), 1);
    ck_assert_uint_eq(out[0], 42);
    ck_assert(!zn_ring_dequeue(r, out));
    ck_assert_int_eq(zn_ring_dequeue_wait(r, out, 4, 1000000), 0);
    /* The producer's index catches up: nothing is taken twice. */
    atomic_store(&r->prod.tail, 2);
    ck_assert_uint_eq(zn_ring_dequeue_burst(r, out, 4), 0);
    ck_assert(!zn_ring_dequeue(r, out));
    /* Ahead by more than the capacity is corruption; and a packed ring's consumer is never ahead.
     */
    atomic_store(&r->cons.tail, 7);
    ck_assert_int_eq(zn_ring_check(r, len, &err), -1);
    ck_error_mentions(err, "indices are corrupt");
    packed = new_ring(ZN_RING_SPSC, 4, 8, &len);
    atomic_store(&packed->cons.tail, 1);
    ck_assert_int_eq(zn_ring_check(packed, len, &err), -1);
    ck_error_mentions(err, "indices are corrupt");
    free_ring(packed);
    free_ring(r);
}
END_TEST

/* A stamped ring's own geometry, corrupted, is refused like any other field. */
START_TEST(check_refuses_corrupt_stamped_rings)
{
    size_t len;
    struct zn_error err = {{0}};
    struct zn_ring *r = new_ring(ZN_RING_SPSC_STAMPED, 16, 8, &len);

    r->cons.stride = 8;
    ck_assert_int_eq(zn_ring_check(r, len, &err), -1);
    ck_error_mentions(err, "stride 8");
    r->cons.stride = 16;
    r->header.item_size = r->prod.item_size = r->cons.item_size = 64;
    ck_assert_int_eq(zn_ring_check(r, len, &err), -1);
    ck_error_mentions(err, "item size 64");
    r->header.item_size = r->prod.item_size = r->cons.item_size = 8;
    /* A packed ring's size in the header of a stamped one: would put slots past the end. */
    r->header.size = zn_ring_memsize(ZN_RING_SPSC, 16, 8);
    ck_assert_int_eq(zn_ring_check(r, len, &err), -1);
    ck_error_mentions(err, "corrupt");
    r->header.size = len;
    ck_assert_msg(zn_ring_check(r, len, &err) == 0, "%s", err.text);
    free_ring(r);
}
END_TEST

/* ------------------------------------------------------------------ single-threaded semantics */

/* Many laps of a small ring with every move size and item sizes of the specialised and the
 * generic copies: each item comes out whole and in order. */
START_TEST(wrap_around_keeps_order_and_content)
{
    static const uint32_t sizes[] = {4, 8, 12, 60, 64, 1024};
    unsigned char in[8 * 1024], out[8 * 1024];

    for (size_t k = 0; k < NKINDS; k++) {
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            uint32_t size = sizes[s];
            struct zn_ring *r;
            uint64_t put = 0, got = 0;

            if (zn_ring_memsize(kinds[k], 8, size) == 0)
                continue; /* stamped rings carry items of up to 60 bytes */
            r = new_ring(kinds[k], 8, size, NULL);

            for (unsigned round = 0; round < 500; round++) {
                unsigned n = 1 + round % 8, m = 1 + (round * 5) % 8;

                for (unsigned i = 0; i < n; i++)
                    fill_item(in + (size_t)i * size, size, put + i);
                put += zn_ring_enqueue_burst(r, in, n);
                ck_assert_uint_le(put - got, 8);
                ck_assert_uint_eq(zn_ring_count(r), put - got);
                if (round % 3 == 0) {
                    /* single calls too */
                    while (zn_ring_dequeue(r, out)) {
                        ck_assert_msg(item_is(out, size, got), "size %u item %" PRIu64, size, got);
                        got++;
                    }
                    continue;
                }
                unsigned d = zn_ring_dequeue_burst(r, out, m);
                for (unsigned i = 0; i < d; i++, got++)
                    ck_assert_msg(item_is(out + (size_t)i * size, size, got),
                                  "size %u kind %d item %" PRIu64, size, (int)kinds[k], got);
            }
            ck_assert_uint_gt(put, 500);
            free_ring(r);
        }
    }
}
END_TEST

/* The indices are free-running 32-bit counters: crossing 2^32 changes nothing. */
START_TEST(counters_wrap_at_2_32)
{
    for (size_t k = 0; k < NKINDS; k++) {
        struct zn_ring *r = new_ring(kinds[k], 16, 8, NULL);
        uint32_t start = UINT32_MAX - 20;
        uint64_t v, seq = 0, expect = 0;

        atomic_store(&r->prod.tail, start);
        atomic_store(&r->prod.head, start);
        atomic_store(&r->cons.tail, start);
        atomic_store(&r->cons.head, start);
        r->prod.cached = start + 16;
        r->cons.cached = start;
        /* Stamped: the slots' stamps as the lap before `start` would have left them. */
        for (uint32_t j = start - 16; kinds[k] == ZN_RING_SPSC_STAMPED && j != start; j++)
            atomic_store(zn_ring__stamp(zn_ring__slot(r, &r->prod, j), &r->prod), j + 1);
        for (int round = 0; round < 20; round++) {
            uint64_t batch[11];
            for (int i = 0; i < 11; i++)
                batch[i] = seq++;
            ck_assert_uint_eq(zn_ring_enqueue_bulk(r, batch, 11), 11);
            ck_assert_uint_eq(zn_ring_count(r), 11);
            ck_assert_uint_eq(zn_ring_enqueue_bulk(r, batch, 6), 0);
            for (int i = 0; i < 11; i++) {
                ck_assert(zn_ring_dequeue(r, &v));
                ck_assert_uint_eq(v, expect++);
            }
            ck_assert(!zn_ring_dequeue(r, &v));
        }
        ck_assert_uint_lt(atomic_load(&r->prod.tail), start); /* it did wrap */
        free_ring(r);
    }
}
END_TEST

START_TEST(bulk_is_all_or_nothing_burst_takes_what_there_is)
{
    for (size_t k = 0; k < NKINDS; k++) {
        struct zn_ring *r = new_ring(kinds[k], 8, 8, NULL);
        uint64_t in[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, out[10];

        ck_assert_uint_eq(zn_ring_capacity(r), 8);
        ck_assert_uint_eq(zn_ring_item_size(r), 8);
        ck_assert_uint_eq(zn_ring_enqueue_bulk(r, in, 9), 0); /* more than it can ever hold */
        ck_assert_uint_eq(zn_ring_enqueue_bulk(r, in, 0), 0);
        ck_assert_uint_eq(zn_ring_enqueue_bulk(r, in, 5), 5);
        ck_assert_uint_eq(zn_ring_enqueue_bulk(r, in + 5, 4), 0); /* 3 free */
        ck_assert_uint_eq(zn_ring_count(r), 5);
        ck_assert_uint_eq(zn_ring_enqueue_burst(r, in + 5, 4), 3);
        ck_assert_uint_eq(zn_ring_count(r), 8);
        ck_assert(!zn_ring_enqueue(r, in + 9));
        ck_assert_uint_eq(zn_ring_enqueue_burst(r, in + 9, 1), 0);

        ck_assert_uint_eq(zn_ring_dequeue_bulk(r, out, 9), 0);
        ck_assert_uint_eq(zn_ring_dequeue_bulk(r, out, 3), 3);
        ck_assert_uint_eq(zn_ring_dequeue_bulk(r, out + 3, 6), 0); /* 5 there */
        ck_assert_uint_eq(zn_ring_count(r), 5);
        ck_assert_uint_eq(zn_ring_dequeue_burst(r, out + 3, 10), 5); /* capped, partial */
        for (int i = 0; i < 8; i++)
            ck_assert_uint_eq(out[i], i);
        ck_assert_uint_eq(zn_ring_count(r), 0);
        ck_assert_uint_eq(zn_ring_dequeue_burst(r, out, 4), 0);
        ck_assert(!zn_ring_dequeue(r, out));
        /* A burst larger than the ring moves a ring's worth. */
        ck_assert_uint_eq(zn_ring_enqueue_burst(r, in, 10), 8);
        ck_assert_uint_eq(zn_ring_count(r), 8);
        free_ring(r);
    }
}
END_TEST

/* The inline fast paths the data path calls, on 8-byte objects (which the compiler must not
 * warn about: the 64-byte copy branch never runs for such a ring), agree with ring.h's calls. */
START_TEST(inline_calls_behave_as_the_functions)
{
    for (size_t k = 0; k < NKINDS; k++) {
        struct zn_ring *r = new_ring(kinds[k], 4, 8, NULL);
        uint64_t v = 7, out = 0, many[5] = {1, 2, 3, 4, 5}, back[5] = {0};

        ck_assert(zn_ring_enqueue_inline(r, &v));
        ck_assert(zn_ring_dequeue_inline(r, &out));
        ck_assert_uint_eq(out, 7);
        ck_assert(!zn_ring_dequeue_inline(r, &out));
        ck_assert_uint_eq(zn_ring_enqueue_bulk_inline(r, many, 5), 0);
        ck_assert_uint_eq(zn_ring_enqueue_burst_inline(r, many, 5), 4);
        ck_assert_uint_eq(zn_ring_dequeue_bulk_inline(r, back, 5), 0);
        ck_assert_uint_eq(zn_ring_dequeue_burst_inline(r, back, 5), 4);
        for (int i = 0; i < 4; i++)
            ck_assert_uint_eq(back[i], i + 1);
        zn_ring_close(r);
        ck_assert(!zn_ring_enqueue_inline(r, &v));
        free_ring(r);
    }
}
END_TEST

/* The 8-byte calls carry the same items as the general ones, in either direction, on every
 * kind; they see a close; on a ring of other items they move nothing. */
START_TEST(u64_calls_behave_as_the_general_ones)
{
    for (size_t k = 0; k < NKINDS; k++) {
        struct zn_ring *r = new_ring(kinds[k], 8, 8, NULL), *wide;
        uint64_t v = 0, many[8];

        for (uint64_t round = 0; round < 40; round++) {
            uint64_t base = round * 1000 + UINT64_C(0xfedcba9800000000);

            /* Fill with the u64 call up to full, take back with the general calls... */
            for (uint64_t i = 0; i < 8; i++)
                ck_assert(zn_ring_enqueue_u64(r, base + i));
            ck_assert(!zn_ring_enqueue_u64(r, 1));
            ck_assert_uint_eq(zn_ring_count(r), 8);
            ck_assert(zn_ring_dequeue(r, &v));
            ck_assert_uint_eq(v, base);
            ck_assert_uint_eq(zn_ring_dequeue_burst(r, many, 3), 3);
            for (int i = 0; i < 3; i++)
                ck_assert_uint_eq(many[i], base + 1 + i);
            for (uint64_t i = 4; i < 8; i++) {
                ck_assert(zn_ring_dequeue_u64_inline(r, &v));
                ck_assert_uint_eq(v, base + i);
            }
            ck_assert(!zn_ring_dequeue_u64(r, &v));
            /* ...and the other way round, the ring's slots shifted by the round. */
            for (uint64_t i = 0; i < round % 8 + 1; i++)
                many[i] = base + 100 + i;
            ck_assert_uint_eq(zn_ring_enqueue_burst(r, many, (unsigned)(round % 8 + 1)),
                              round % 8 + 1);
            ck_assert(zn_ring_enqueue_u64_inline(r, base + 200) == (round % 8 + 1 < 8));
            for (uint64_t i = 0; i < round % 8 + 1; i++) {
                ck_assert(zn_ring_dequeue_u64(r, &v));
                ck_assert_uint_eq(v, base + 100 + i);
            }
            if (round % 8 + 1 < 8) {
                ck_assert(zn_ring_dequeue_u64(r, &v));
                ck_assert_uint_eq(v, base + 200);
            }
            ck_assert_uint_eq(zn_ring_count(r), 0);
        }
        ck_assert(zn_ring_enqueue_u64(r, 5));
        zn_ring_close(r);
        ck_assert(!zn_ring_enqueue_u64(r, 6));
        ck_assert(zn_ring_dequeue_u64(r, &v));
        ck_assert_uint_eq(v, 5);
        ck_assert(!zn_ring_dequeue_u64(r, &v));
        free_ring(r);

        wide = new_ring(kinds[k], 8, 16, NULL);
        ck_assert(!zn_ring_enqueue_u64(wide, 1));
        ck_assert_uint_eq(zn_ring_count(wide), 0);
        ck_assert_uint_eq(zn_ring_enqueue_burst(wide, many, 1), 1);
        ck_assert(!zn_ring_dequeue_u64(wide, &v));
        ck_assert_uint_eq(zn_ring_count(wide), 1);
        free_ring(wide);
    }
}
END_TEST

/* With nobody waiting, no call makes a wake-up: the event words a wake bumps stay 0. */
START_TEST(fast_path_never_wakes)
{
    for (size_t k = 0; k < NKINDS; k++) {
        struct zn_ring *r = new_ring(kinds[k], 64, 8, NULL);
        /* 17: the burst below takes 17 items (ASan found the 16 this held once). */
        uint64_t v[17] = {0};

        for (int i = 0; i < 10000; i++) {
            ck_assert(zn_ring_enqueue(r, v));
            ck_assert_uint_eq(zn_ring_enqueue_burst(r, v, 16), 16);
            ck_assert_uint_eq(zn_ring_dequeue_burst(r, v, 17), 17);
        }
        ck_assert_int_eq(zn_ring_dequeue_wait(r, v, 1, 0), 0);
        ck_assert_uint_eq(atomic_load(&r->prod.event), 0);
        ck_assert_uint_eq(atomic_load(&r->cons.event), 0);
        free_ring(r);
    }
}
END_TEST

START_TEST(close_drains_then_fails)
{
    for (size_t k = 0; k < NKINDS; k++) {
        struct zn_ring *r = new_ring(kinds[k], 8, 8, NULL);
        uint64_t in[5] = {10, 11, 12, 13, 14}, out[8];

        ck_assert_uint_eq(zn_ring_enqueue_bulk(r, in, 5), 5);
        ck_assert(!zn_ring_closed(r));
        zn_ring_close(r);
        ck_assert(zn_ring_closed(r));
        /* No more items go in... */
        ck_assert(!zn_ring_enqueue(r, in));
        ck_assert_uint_eq(zn_ring_enqueue_burst(r, in, 1), 0);
        ck_assert_int_eq(zn_ring_enqueue_wait(r, in, 1, -1), -1);
        /* ...what is there comes out, then -1 at once, even waiting for ever. */
        ck_assert_int_eq(zn_ring_dequeue_wait(r, out, 3, -1), 3);
        ck_assert_int_eq(zn_ring_dequeue_wait(r, out + 3, 8, -1), 2);
        for (int i = 0; i < 5; i++)
            ck_assert_uint_eq(out[i], 10 + i);
        ck_assert_int_eq(zn_ring_dequeue_wait(r, out, 8, -1), -1);
        ck_assert_int_eq(zn_ring_dequeue_wait(r, out, 8, 0), -1);
        ck_assert_uint_eq(zn_ring_dequeue_burst(r, out, 8), 0);
        free_ring(r);
    }
}
END_TEST

START_TEST(waits_time_out)
{
    for (size_t k = 0; k < NKINDS; k++) {
        struct zn_ring *r = new_ring(kinds[k], 4, 8, NULL);
        uint64_t v[4] = {1, 2, 3, 4};
        int64_t t0 = now_ns();

        ck_assert_int_eq(zn_ring_dequeue_wait(r, v, 4, 0), 0);
        ck_assert_int_eq(zn_ring_dequeue_wait(r, v, 4, 30000000), 0);
        int64_t waited = now_ns() - t0;
        ck_assert_msg(waited >= 30000000 && waited < 5000000000, "waited %" PRId64 " ns", waited);

        ck_assert_uint_eq(zn_ring_enqueue_bulk(r, v, 3), 3);
        t0 = now_ns();
        ck_assert_int_eq(zn_ring_enqueue_wait(r, v, 2, 0), 0);
        ck_assert_int_eq(zn_ring_enqueue_wait(r, v, 2, 30000000), 0); /* 1 free, all or none */
        waited = now_ns() - t0;
        ck_assert_msg(waited >= 30000000 && waited < 5000000000, "waited %" PRId64 " ns", waited);
        ck_assert_uint_eq(zn_ring_count(r), 3);
        ck_assert_int_eq(zn_ring_enqueue_wait(r, v, 1, 30000000), 1);
        errno = 0;
        ck_assert_int_eq(zn_ring_enqueue_wait(r, v, 5, 30000000), -1); /* never fits */
        ck_assert_int_eq(errno, EINVAL);
        ck_assert_int_eq(zn_ring_dequeue_wait(r, v, 4, 30000000), 4);
        free_ring(r);
    }
}
END_TEST

/* ------------------------------------------------------------------ waking across threads */

struct waiter {
    struct zn_ring *ring;
    bool produce;
    int result;
    uint64_t item;
};

static void *wait_once(void *arg)
{
    struct waiter *w = arg;

    if (w->produce)
        w->result = zn_ring_enqueue_wait(w->ring, &w->item, 1, STUCK_NS);
    else
        w->result = zn_ring_dequeue_wait(w->ring, &w->item, 1, STUCK_NS);
    return NULL;
}

/* Long enough for the waiter to be past spinning and yielding, asleep on the futex. */
#define ASLEEP_NS 100000000

START_TEST(dequeue_wait_wakes_on_enqueue)
{
    for (size_t k = 0; k < NKINDS; k++) {
        struct zn_ring *r = new_ring(kinds[k], 4, 8, NULL);
        struct waiter w = {.ring = r};
        uint64_t v = 42;
        pthread_t t;

        ck_assert_int_eq(pthread_create(&t, NULL, wait_once, &w), 0);
        sleep_ns(ASLEEP_NS);
        ck_assert_uint_eq(atomic_load(&r->prod.waiting), 1); /* it said it sleeps */
        ck_assert(zn_ring_enqueue(r, &v));
        pthread_join(t, NULL);
        ck_assert_int_eq(w.result, 1);
        ck_assert_uint_eq(w.item, 42);
        ck_assert_uint_eq(atomic_load(&r->prod.event), 1); /* exactly one wake */
        ck_assert_uint_eq(atomic_load(&r->prod.waiting), 0);
        free_ring(r);
    }
}
END_TEST

START_TEST(enqueue_wait_wakes_on_dequeue)
{
    for (size_t k = 0; k < NKINDS; k++) {
        struct zn_ring *r = new_ring(kinds[k], 4, 8, NULL);
        struct waiter w = {.ring = r, .produce = true, .item = 99};
        uint64_t v[4] = {1, 2, 3, 4};
        pthread_t t;

        ck_assert_uint_eq(zn_ring_enqueue_bulk(r, v, 4), 4);
        ck_assert_int_eq(pthread_create(&t, NULL, wait_once, &w), 0);
        sleep_ns(ASLEEP_NS);
        ck_assert_uint_eq(atomic_load(&r->cons.waiting), 1);
        ck_assert(zn_ring_dequeue(r, v));
        pthread_join(t, NULL);
        ck_assert_int_eq(w.result, 1);
        ck_assert_uint_eq(atomic_load(&r->cons.event), 1);
        ck_assert_uint_eq(zn_ring_dequeue_burst(r, v, 4), 4);
        ck_assert_uint_eq(v[3], 99);
        free_ring(r);
    }
}
END_TEST

START_TEST(close_wakes_both_sides)
{
    for (size_t k = 0; k < NKINDS; k++) {
        struct zn_ring *empty = new_ring(kinds[k], 4, 8, NULL),
                       *full = new_ring(kinds[k], 4, 8, NULL);
        struct waiter consumer = {.ring = empty}, producer = {.ring = full, .produce = true};
        uint64_t v[4] = {0};
        pthread_t tc, tp;

        ck_assert_uint_eq(zn_ring_enqueue_bulk(full, v, 4), 4);
        ck_assert_int_eq(pthread_create(&tc, NULL, wait_once, &consumer), 0);
        ck_assert_int_eq(pthread_create(&tp, NULL, wait_once, &producer), 0);
        sleep_ns(ASLEEP_NS);
        zn_ring_close(empty);
        zn_ring_close(full);
        pthread_join(tc, NULL);
        pthread_join(tp, NULL);
        ck_assert_int_eq(consumer.result, -1);
        ck_assert_int_eq(producer.result, -1);
        free_ring(empty);
        free_ring(full);
    }
}
END_TEST

/* Ping-pong where each side pauses before it answers, so that the other is asleep on the futex
 * every time: a lost wake-up hangs a round (and fails on STUCK_NS). */
struct pong {
    struct zn_ring *in, *out;
    unsigned rounds;
    bool ok;
};

static void *pong_side(void *arg)
{
    struct pong *p = arg;

    p->ok = true;
    for (uint64_t i = 0; i < p->rounds; i++) {
        uint64_t v;
        if (zn_ring_dequeue_wait(p->in, &v, 1, STUCK_NS) != 1 || v != i) {
            p->ok = false;
            break;
        }
        sleep_ns(150000);
        if (zn_ring_enqueue_wait(p->out, &v, 1, STUCK_NS) != 1) {
            p->ok = false;
            break;
        }
    }
    return NULL;
}

static void ping_pong_sleeping(bool across_processes)
{
    for (size_t k = 0; k < NKINDS; k++) {
        struct zn_ring *ab = new_ring(kinds[k], 2, 8, NULL), *ba = new_ring(kinds[k], 2, 8, NULL);
        struct pong b = {.in = ab, .out = ba, .rounds = 300};
        pthread_t t;
        pid_t pid = -1;

        if (across_processes) {
            pid = fork_child();
            if (pid == 0) {
                pong_side(&b);
                _exit(b.ok ? 0 : 1);
            }
        } else {
            ck_assert_int_eq(pthread_create(&t, NULL, pong_side, &b), 0);
        }
        for (uint64_t i = 0; i < b.rounds; i++) {
            uint64_t v = i;
            sleep_ns(150000);
            ck_assert_int_eq(zn_ring_enqueue_wait(ab, &v, 1, STUCK_NS), 1);
            ck_assert_int_eq(zn_ring_dequeue_wait(ba, &v, 1, STUCK_NS), 1);
            ck_assert_uint_eq(v, i);
        }
        if (across_processes) {
            expect_child_ok(pid);
        } else {
            pthread_join(t, NULL);
            ck_assert(b.ok);
        }
        /* The sleeping path was taken (each wake bumps the event), not just spinning. */
        ck_assert_uint_gt(atomic_load(&ab->prod.event), b.rounds / 2);
        ck_assert_uint_gt(atomic_load(&ba->prod.event), b.rounds / 2);
        free_ring(ab);
        free_ring(ba);
    }
}

START_TEST(no_lost_wakeups_when_sleeping_every_time)
{
    ping_pong_sleeping(false);
}
END_TEST

/* The same between processes: the futex is not private and each process registered for
 * membarrier on its own (the child in its fork handler). */
START_TEST(no_lost_wakeups_across_processes)
{
    ping_pong_sleeping(true);
}
END_TEST

/* ------------------------------------------------------------------ stress */

#define CHUNK 32

/* The producer mixes every way in: waits for a bulk, bursts that go in partly, single items. */
static int produce_sequence(struct zn_ring *r, uint64_t items)
{
    uint32_t size = zn_ring_item_size(r);
    unsigned char buf[CHUNK * 64];
    uint64_t seq = 0;

    while (seq < items) {
        unsigned n = 1 + (unsigned)(seq * 7 % CHUNK), mode = (unsigned)(seq / CHUNK % 4);
        unsigned done;

        if (n > items - seq)
            n = (unsigned)(items - seq);
        if (n > zn_ring_capacity(r))
            n = zn_ring_capacity(r);
        for (unsigned i = 0; i < n; i++)
            fill_item(buf + (size_t)i * size, size, seq + i);
        if (mode == 0) {
            done = zn_ring_enqueue_burst(r, buf, n);
        } else if (mode == 1 && size == 8 && seq / CHUNK % 8 == 1) {
            uint64_t value;
            memcpy(&value, buf, 8);
            done = zn_ring_enqueue_u64(r, value) ? 1 : 0;
        } else if (mode == 1) {
            done = zn_ring_enqueue(r, buf) ? 1 : 0;
        } else {
            done = zn_ring_enqueue_wait(r, buf, n, STUCK_NS) == (int)n ? n : 0;
            if (done == 0)
                return 1;
        }
        if (done == 0 && zn_ring_enqueue_wait(r, buf, 1, STUCK_NS) != 1)
            return 2;
        seq += done ? done : 1;
    }
    zn_ring_close(r);
    return 0;
}

/* Returns the number of items seen in order, stopping at the first one out of place. */
static uint64_t consume_sequence(struct zn_ring *r, uint64_t items)
{
    uint32_t size = zn_ring_item_size(r);
    unsigned char buf[CHUNK * 64];
    uint64_t seq = 0;

    for (;;) {
        unsigned mode = (unsigned)(seq / 50 % 3);
        int n;

        if (mode == 0)
            n = (int)zn_ring_dequeue_burst(r, buf, 1 + (unsigned)(seq % CHUNK));
        else if (mode == 1 && size == 8 && seq / 50 % 2) {
            uint64_t value;
            n = zn_ring_dequeue_u64(r, &value) ? 1 : 0;
            memcpy(buf, &value, 8);
        } else if (mode == 1)
            n = zn_ring_dequeue(r, buf) ? 1 : 0;
        else
            n = 0;
        if (n == 0)
            n = zn_ring_dequeue_wait(r, buf, CHUNK, STUCK_NS);
        if (n <= 0)
            return n < 0 ? seq : UINT64_MAX; /* closed, or stuck */
        for (int i = 0; i < n; i++, seq++)
            if (seq >= items || !item_is(buf + (size_t)i * size, size, seq))
                return seq;
    }
}

static void *produce_thread(void *arg)
{
    struct zn_ring *r = arg;

    return produce_sequence(r, ZN_RING_TEST_ITEMS) == 0 ? r : NULL;
}

START_TEST(spsc_threads_lose_and_repeat_nothing)
{
    static const enum zn_ring_kind spsc[] = {ZN_RING_SPSC, ZN_RING_SPSC_STAMPED};

    for (size_t k = 0; k < 2; k++) {
        struct zn_ring *r = new_ring(spsc[k], 256, 8, NULL);
        pthread_t t;
        void *ok;

        ck_assert_int_eq(pthread_create(&t, NULL, produce_thread, r), 0);
        uint64_t seen = consume_sequence(r, ZN_RING_TEST_ITEMS);
        pthread_join(t, &ok);
        ck_assert_ptr_nonnull(ok);
        ck_assert_msg(seen == ZN_RING_TEST_ITEMS, "kind %d: %" PRIu64 " items in order",
                      (int)spsc[k], seen);
        free_ring(r);
    }
}
END_TEST

static void spsc_across_processes(enum zn_ring_kind kind, uint32_t item_size, uint64_t items)
{
    size_t len;
    struct zn_ring *r = new_ring(kind, 1024, item_size, &len);
    struct zn_error err = {{0}};
    pid_t pid = fork_child();

    if (pid == 0) {
        /* What a real attaching process does first. */
        _exit(zn_ring_check(r, len, &err) == 0 ? produce_sequence(r, items) : 4);
    }
    uint64_t seen = consume_sequence(r, items);
    expect_child_ok(pid);
    ck_assert_uint_eq(seen, items);
    free_ring(r);
}

START_TEST(spsc_processes_8_byte_items)
{
    spsc_across_processes(ZN_RING_SPSC, 8, ZN_RING_TEST_ITEMS);
}
END_TEST

START_TEST(spsc_processes_64_byte_items)
{
    spsc_across_processes(ZN_RING_SPSC, 64, ZN_RING_TEST_ITEMS / 10);
}
END_TEST

START_TEST(stamped_processes_8_byte_items)
{
    spsc_across_processes(ZN_RING_SPSC_STAMPED, 8, ZN_RING_TEST_ITEMS);
}
END_TEST

START_TEST(stamped_processes_60_byte_items)
{
    spsc_across_processes(ZN_RING_SPSC_STAMPED, 60, ZN_RING_TEST_ITEMS / 10);
}
END_TEST

/* MPMC: 2 producers, 2 consumers. Item = producer << 56 | sequence. Each consumer checks that
 * each producer's items reach it in increasing order (the ring is FIFO, a consumer's claims
 * only move forward) and sets the item's bit in a shared bitmap: a bit already set is a
 * duplicate; a bit left clear at the end, a lost item. */
#define MPMC_SIDES 2

struct mpmc_shared {
    struct zn_ring *ring;
    uint64_t per_producer;
    _Atomic uint64_t *seen[MPMC_SIDES]; /* bitmaps, one per producer */
    _Atomic unsigned producers_left;
    _Atomic uint64_t consumed, duplicates, out_of_order, bad, stuck;
};

static int mpmc_produce(struct mpmc_shared *s, uint64_t id)
{
    uint64_t buf[16];
    uint64_t seq = 0;

    while (seq < s->per_producer) {
        unsigned n = 1 + (unsigned)(seq % 16);

        if (n > s->per_producer - seq)
            n = (unsigned)(s->per_producer - seq);
        for (unsigned i = 0; i < n; i++)
            buf[i] = id << 56 | (seq + i);
        if (seq % 3 == 0) {
            if (!zn_ring_enqueue(s->ring, buf) &&
                zn_ring_enqueue_wait(s->ring, buf, 1, STUCK_NS) != 1)
                return 1;
            seq++;
        } else {
            if (zn_ring_enqueue_wait(s->ring, buf, n, STUCK_NS) != (int)n)
                return 1;
            seq += n;
        }
    }
    /* The last producer to finish closes: no more items will come. */
    if (atomic_fetch_sub(&s->producers_left, 1) == 1)
        zn_ring_close(s->ring);
    return 0;
}

static void mpmc_consume(struct mpmc_shared *s)
{
    int64_t last[MPMC_SIDES] = {-1, -1};
    uint64_t buf[CHUNK], mine = 0;

    for (unsigned round = 0;; round++) {
        int n = round % 4 == 0 ? (int)zn_ring_dequeue_bulk(s->ring, buf, 4) : 0;

        if (n == 0)
            n = zn_ring_dequeue_wait(s->ring, buf, 1 + round % CHUNK, STUCK_NS);
        if (n < 0)
            break;
        if (n == 0) {
            atomic_fetch_add(&s->stuck, 1);
            break;
        }
        for (int i = 0; i < n; i++) {
            uint64_t id = buf[i] >> 56, seq = buf[i] & ((UINT64_C(1) << 56) - 1);
            if (id >= MPMC_SIDES || seq >= s->per_producer) {
                atomic_fetch_add(&s->bad, 1);
                continue;
            }
            if ((int64_t)seq <= last[id])
                atomic_fetch_add(&s->out_of_order, 1);
            last[id] = (int64_t)seq;
            uint64_t bit = UINT64_C(1) << (seq % 64);
            if (atomic_fetch_or(&s->seen[id][seq / 64], bit) & bit)
                atomic_fetch_add(&s->duplicates, 1);
        }
        mine += (uint64_t)n;
    }
    atomic_fetch_add(&s->consumed, mine);
}

static struct mpmc_shared *mpmc_setup(uint64_t items)
{
    struct mpmc_shared *s = map_shared(sizeof(*s));
    size_t words = (items / MPMC_SIDES + 63) / 64;

    s->ring = new_ring(ZN_RING_MPMC, 256, 8, NULL);
    s->per_producer = items / MPMC_SIDES;
    for (int i = 0; i < MPMC_SIDES; i++)
        s->seen[i] = map_shared(words * sizeof(uint64_t));
    atomic_store(&s->producers_left, MPMC_SIDES);
    return s;
}

static void mpmc_verify(struct mpmc_shared *s)
{
    uint64_t missing = 0;

    ck_assert_uint_eq(atomic_load(&s->stuck), 0);
    ck_assert_uint_eq(atomic_load(&s->bad), 0);
    ck_assert_uint_eq(atomic_load(&s->duplicates), 0);
    ck_assert_uint_eq(atomic_load(&s->out_of_order), 0);
    for (int p = 0; p < MPMC_SIDES; p++)
        for (uint64_t seq = 0; seq < s->per_producer; seq++)
            if (!(atomic_load_explicit(&s->seen[p][seq / 64], memory_order_relaxed) &
                  (UINT64_C(1) << (seq % 64))))
                missing++;
    ck_assert_uint_eq(missing, 0);
    ck_assert_uint_eq(atomic_load(&s->consumed), s->per_producer * MPMC_SIDES);
    ck_assert_uint_eq(zn_ring_count(s->ring), 0);
}

static void mpmc_teardown(struct mpmc_shared *s)
{
    size_t words = (s->per_producer + 63) / 64;

    for (int i = 0; i < MPMC_SIDES; i++)
        munmap(s->seen[i], words * sizeof(uint64_t));
    free_ring(s->ring);
    munmap(s, sizeof(*s));
}

struct mpmc_role {
    struct mpmc_shared *shared;
    uint64_t id;
    int result;
};

static void *mpmc_producer_thread(void *arg)
{
    struct mpmc_role *role = arg;

    role->result = mpmc_produce(role->shared, role->id);
    return NULL;
}

static void *mpmc_consumer_thread(void *arg)
{
    struct mpmc_role *role = arg;

    mpmc_consume(role->shared);
    return NULL;
}

START_TEST(mpmc_threads_deliver_each_item_once)
{
    struct mpmc_shared *s = mpmc_setup(ZN_RING_TEST_ITEMS);
    struct mpmc_role roles[2 * MPMC_SIDES];
    pthread_t threads[2 * MPMC_SIDES];

    for (int i = 0; i < 2 * MPMC_SIDES; i++) {
        roles[i] = (struct mpmc_role){.shared = s, .id = (uint64_t)(i % MPMC_SIDES)};
        ck_assert_int_eq(
            pthread_create(&threads[i], NULL,
                           i < MPMC_SIDES ? mpmc_producer_thread : mpmc_consumer_thread, &roles[i]),
            0);
    }
    for (int i = 0; i < 2 * MPMC_SIDES; i++) {
        pthread_join(threads[i], NULL);
        ck_assert_int_eq(roles[i].result, 0);
    }
    mpmc_verify(s);
    mpmc_teardown(s);
}
END_TEST

START_TEST(mpmc_processes_deliver_each_item_once)
{
    struct mpmc_shared *s = mpmc_setup(ZN_RING_TEST_ITEMS);
    pid_t pids[2 * MPMC_SIDES];

    for (int i = 0; i < 2 * MPMC_SIDES; i++) {
        pids[i] = fork_child();
        if (pids[i] == 0) {
            if (i < MPMC_SIDES)
                _exit(mpmc_produce(s, (uint64_t)i));
            mpmc_consume(s);
            _exit(0);
        }
    }
    for (int i = 0; i < 2 * MPMC_SIDES; i++)
        expect_child_ok(pids[i]);
    mpmc_verify(s);
    mpmc_teardown(s);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("ring");
    TCase *tc = tcase_create("ring");
    SRunner *runner;
    int failed;

    tcase_add_test(tc, memsize_accepts_only_valid_geometry);
    tcase_add_test(tc, init_refuses_bad_arguments);
    tcase_add_test(tc, check_refuses_corrupt_rings);
    tcase_add_test(tc, stamped_consumer_runs_ahead_of_the_index);
    tcase_add_test(tc, check_refuses_corrupt_stamped_rings);
    tcase_add_test(tc, wrap_around_keeps_order_and_content);
    tcase_add_test(tc, counters_wrap_at_2_32);
    tcase_add_test(tc, bulk_is_all_or_nothing_burst_takes_what_there_is);
    tcase_add_test(tc, inline_calls_behave_as_the_functions);
    tcase_add_test(tc, u64_calls_behave_as_the_general_ones);
    tcase_add_test(tc, fast_path_never_wakes);
    tcase_add_test(tc, close_drains_then_fails);
    tcase_add_test(tc, waits_time_out);
    tcase_add_test(tc, dequeue_wait_wakes_on_enqueue);
    tcase_add_test(tc, enqueue_wait_wakes_on_dequeue);
    tcase_add_test(tc, close_wakes_both_sides);
    tcase_add_test(tc, no_lost_wakeups_when_sleeping_every_time);
    tcase_add_test(tc, no_lost_wakeups_across_processes);
    tcase_add_test(tc, spsc_threads_lose_and_repeat_nothing);
    tcase_add_test(tc, spsc_processes_8_byte_items);
    tcase_add_test(tc, spsc_processes_64_byte_items);
    tcase_add_test(tc, stamped_processes_8_byte_items);
    tcase_add_test(tc, stamped_processes_60_byte_items);
    tcase_add_test(tc, mpmc_threads_deliver_each_item_once);
    tcase_add_test(tc, mpmc_processes_deliver_each_item_once);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(suite, tc);
    runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? 1 : 0;
}
