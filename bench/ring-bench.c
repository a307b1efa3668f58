/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ring (runtime/ring-inline.h, the calls the data path makes) against two established
 * lock-free rings, measured in the same run with the producer and the consumer pinned on two
 * cores. Ours comes in two SPSC layouts (ring.h): packed, made for bursts, and stamped, made
 * for items one at a time; each target is taken by the layout made for that use, and the other
 * layout runs in the same rounds and is shown under it, without a target. 64-byte items leave
 * no room for a stamp in their line: they use the packed layout throughout.
 *   burst  SPSC bursts of 32 items: ours (packed) against DPDK's rte_ring (SP/SC, the _elem API
 *          so that 8 and 64 byte items are copied the same way), used without EAL on memory of
 *          our own (rte_ring_get_memsize_elem + rte_ring_init). Target: ratio >= 1.
 *   single one item per call: ours (stamped for 8 bytes) against Concurrency Kit's ck_ring SPSC.
 *          ck_ring stores pointers: for 8 bytes the item is the pointer value; for 64 bytes the
 *          producer copies the item into a buffer of a pool and enqueues the buffer's address,
 *          the consumer copies it out of there, which is what carrying 64 bytes through ck_ring
 *          takes. Target: ratio >= 2.
 *   rtt    round trip: one item over one ring and back over another, both sides polling with
 *          the non-blocking dequeue, ours (stamped for 8 bytes) against DPDK. Target: <= 250 ns.
 *          Next to it, the same round trip of one bare cache line that both sides write (not a
 *          hard floor: two rings' lines are each written by one side only, which can be
 *          cheaper), the measure of how far apart the two vCPUs are at the moment.
 * Every ring (ours, DPDK's, ck's with its pool) lives in MAP_SHARED anonymous memory, as ours does
 * in use, with 1024 slots (DPDK and ck hold one item fewer). The consumer checks each item's
 * sequence number in every case, so all do the same work.
 *
 * Noise. On a VM the cost of a cache-line transfer between the two vCPUs changes by 4x from one
 * second to the next (the host moves them between cores), far more than the rings differ. So the
 * two threads stay up for a whole figure and take the rings in turn, one short run (--items
 * items, a few ms) each, --reps times: every ring samples the same moments. A figure is each
 * ring's median run; "paired" is the median over rounds of the ratio between runs next to each
 * other, the figure least moved by the VM.
 * The ablation lines run ours with the fast path's compiler barrier replaced by a fence (what
 * it would cost without the membarrier hand-shake, see ring-inline.h); they have no target.
 *
 * A benchmark reports: it exits 0 whatever the ratios, 1 only when something broke (an item
 * lost or out of order, a CPU that cannot be pinned). */
#include "config.h"

#include <ck_ring.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "runtime/ring-inline.h"
#include "runtime/ring.h"

#define SLOTS    1024
#define BURST    32
#define MAX_ITEM 64
#define MAX_REPS 501

struct options {
    uint64_t items; /* per throughput run */
    uint64_t rtts;  /* round trips per latency run */
    int reps;
    int cpu[2];       /* producer (and ping side), consumer */
    const char *only; /* NULL: all; else a list of burst, single, rtt, extra */
};

static bool wanted(const struct options *o, const char *name)
{
    size_t len = strlen(name);

    for (const char *p = o->only; p && *p; p += strcspn(p, ","), p += *p == ',')
        if (strncmp(p, name, len) == 0 && (p[len] == ',' || p[len] == '\0'))
            return true;
    return !o->only;
}

/* FLOOR: no ring, one cache line bounced between the two threads (rtt only). */
enum peer { OURS, DPDK, CK, FLOOR };
enum test { BURST_TEST, SINGLE_TEST, RTT_TEST };

/* What runs in one of a figure's columns. */
struct variant {
    enum peer peer;
    bool stamped;  /* ours: the ZN_RING_SPSC_STAMPED layout, else ZN_RING_SPSC (packed) */
    bool fence;    /* ours: a fence on the fast path, as without membarrier */
    bool wait_api; /* ours, rtt: receive with zn_ring_dequeue_wait */
};

#define MAX_VARIANTS 4

/* A figure: its rings, made once, and the two threads' meeting point. */
struct figure_run {
    enum test test;
    uint32_t size;
    uint64_t items; /* per run */
    int reps, nv;
    struct variant v[MAX_VARIANTS];
    int light;                  /* zn_ring_light_fence as this process registered it */
    struct zn_ring *ours[2][2]; /* [stamped][direction] */
    struct rte_ring *dpdk[2];
    struct ck_ring *ck;
    ck_ring_buffer_t *ck_slots;
    unsigned char (*pool)[MAX_ITEM]; /* ck, 64 bytes: the buffers the pointers point at */
    _Atomic uint64_t *line;          /* FLOOR */
    _Atomic unsigned arrived, generation;
    int64_t start;                         /* of the current run, by the producer */
    double ns[MAX_VARIANTS][MAX_REPS + 1]; /* [reps]: the warm-up round's */
    _Atomic uint64_t errors;
    /* single: calls that found the ring full (producer, [k][0]) or empty (consumer, [k][1]),
     * over the measured rounds: which side waits for the other. */
    uint64_t missed[MAX_VARIANTS][2];
};

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *map_shared(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        fprintf(stderr, "ring-bench: mmap %zu bytes: %s\n", len, strerror(errno));
        exit(1);
    }
    memset(p, 0, len); /* fault it in before timing */
    return p;
}

/* Both threads, between runs (spinning: each has its own CPU). */
static void meet(struct figure_run *f)
{
    unsigned gen = atomic_load(&f->generation);

    if (atomic_fetch_add(&f->arrived, 1) == 1) {
        atomic_store(&f->arrived, 0);
        atomic_fetch_add(&f->generation, 1);
        return;
    }
    while (atomic_load(&f->generation) == gen)
        ;
}

static void set_seq(unsigned char *item, uint64_t seq)
{
    memcpy(item, &seq, sizeof(seq));
}

static uint64_t get_seq(const unsigned char *item)
{
    uint64_t seq;

    memcpy(&seq, item, sizeof(seq));
    return seq;
}

/* ------------------------------------------------------------------ the runs */

/* `size` is a constant at each call site (always_inline, instantiated below for 8 and 64):
 * DPDK's _elem calls are built to have the element size known at compile time, and get it.
 * Ours reads it from the ring. */
#define BENCH_INLINE static inline __attribute__((always_inline))

BENCH_INLINE void burst_produce(struct figure_run *f, struct variant v, uint32_t size)
{
    struct zn_ring *ours = f->ours[v.stamped][0];
    unsigned char buf[BURST * MAX_ITEM] = {0};
    uint64_t seq = 0;

    while (seq < f->items) {
        unsigned n = f->items - seq < BURST ? (unsigned)(f->items - seq) : BURST;

        for (unsigned i = 0; i < n; i++)
            set_seq(buf + (size_t)i * size, seq + i);
        if (v.peer == OURS)
            seq += zn_ring_enqueue_burst_inline(ours, buf, n);
        else
            seq += rte_ring_sp_enqueue_burst_elem(f->dpdk[0], buf, size, n, NULL);
    }
}

BENCH_INLINE uint64_t burst_consume(struct figure_run *f, struct variant v, uint32_t size)
{
    struct zn_ring *ours = f->ours[v.stamped][0];
    unsigned char buf[BURST * MAX_ITEM];
    uint64_t seq = 0, errors = 0;

    while (seq < f->items) {
        unsigned n;

        if (v.peer == OURS)
            n = zn_ring_dequeue_burst_inline(ours, buf, BURST);
        else
            n = rte_ring_sc_dequeue_burst_elem(f->dpdk[0], buf, size, BURST, NULL);
        for (unsigned i = 0; i < n; i++, seq++)
            errors += get_seq(buf + (size_t)i * size) != seq;
    }
    return errors;
}

BENCH_INLINE uint64_t single_produce(struct figure_run *f, struct variant v, uint32_t size)
{
    struct zn_ring *ours = f->ours[v.stamped][0];
    unsigned char item[MAX_ITEM] = {0};
    uint64_t full = 0;

    for (uint64_t seq = 0; seq < f->items; seq++) {
        set_seq(item, seq);
        if (v.peer == OURS && size == 8) {
            /* 8 bytes by value, as ck_ring gets its pointer by value. */
            while (!zn_ring_enqueue_u64_inline(ours, seq))
                full++;
        } else if (v.peer == OURS) {
            while (!zn_ring_enqueue_inline(ours, item))
                full++;
        } else if (size == 8) {
            while (!ck_ring_enqueue_spsc(f->ck, f->ck_slots, (void *)(uintptr_t)seq))
                full++;
        } else {
            /* The pool has 2 * SLOTS buffers: when item seq is written, the consumer has taken
             * item seq - SLOTS (the ring holds fewer) and so is done copying seq - 2 * SLOTS. */
            unsigned char *buffer = f->pool[seq % (2 * SLOTS)];
            memcpy(buffer, item, size);
            while (!ck_ring_enqueue_spsc(f->ck, f->ck_slots, buffer))
                full++;
        }
    }
    return full;
}

BENCH_INLINE uint64_t single_consume(struct figure_run *f, struct variant v, uint32_t size,
                                     uint64_t *empty_out)
{
    struct zn_ring *ours = f->ours[v.stamped][0];
    unsigned char item[MAX_ITEM];
    uint64_t errors = 0, empty = 0;

    for (uint64_t seq = 0; seq < f->items; seq++) {
        void *entry;

        if (v.peer == OURS && size == 8) {
            uint64_t value;
            while (!zn_ring_dequeue_u64_inline(ours, &value))
                empty++;
            memcpy(item, &value, 8);
        } else if (v.peer == OURS) {
            while (!zn_ring_dequeue_inline(ours, item))
                empty++;
        } else if (size == 8) {
            while (!ck_ring_dequeue_spsc(f->ck, f->ck_slots, &entry))
                empty++;
            uint64_t value = (uintptr_t)entry;
            memcpy(item, &value, 8);
        } else {
            while (!ck_ring_dequeue_spsc(f->ck, f->ck_slots, &entry))
                empty++;
            memcpy(item, entry, size);
        }
        errors += get_seq(item) != seq;
    }
    *empty_out = empty;
    return errors;
}

BENCH_INLINE void send(struct figure_run *f, struct variant v, int ring, const unsigned char *item,
                       uint32_t size)
{
    if (v.peer == OURS && size == 8) {
        uint64_t value;
        memcpy(&value, item, 8);
        while (!zn_ring_enqueue_u64_inline(f->ours[v.stamped][ring], value))
            ;
    } else if (v.peer == OURS) {
        while (!zn_ring_enqueue_inline(f->ours[v.stamped][ring], item))
            ;
    } else {
        while (rte_ring_sp_enqueue_elem(f->dpdk[ring], (void *)item, size) != 0)
            ;
    }
}

BENCH_INLINE void receive(struct figure_run *f, struct variant v, int ring, unsigned char *item,
                          uint32_t size)
{
    if (v.peer == OURS && v.wait_api) {
        while (zn_ring_dequeue_wait(f->ours[v.stamped][ring], item, 1, -1) != 1)
            ;
    } else if (v.peer == OURS && size == 8) {
        uint64_t value;
        while (!zn_ring_dequeue_u64_inline(f->ours[v.stamped][ring], &value))
            ;
        memcpy(item, &value, 8);
    } else if (v.peer == OURS) {
        while (!zn_ring_dequeue_inline(f->ours[v.stamped][ring], item))
            ;
    } else {
        while (rte_ring_sc_dequeue_elem(f->dpdk[ring], item, size) != 0)
            ;
    }
}

BENCH_INLINE uint64_t rtt_ping(struct figure_run *f, struct variant v, uint32_t size)
{
    unsigned char item[MAX_ITEM] = {0};
    uint64_t errors = 0;

    for (uint64_t seq = 0; seq < f->items; seq++) {
        if (v.peer == FLOOR) {
            atomic_store_explicit(f->line, 2 * seq + 1, memory_order_release);
            while (atomic_load_explicit(f->line, memory_order_acquire) != 2 * seq + 2)
                ;
            continue;
        }
        set_seq(item, seq);
        send(f, v, 0, item, size);
        receive(f, v, 1, item, size);
        errors += get_seq(item) != seq;
    }
    return errors;
}

BENCH_INLINE void rtt_pong(struct figure_run *f, struct variant v, uint32_t size)
{
    unsigned char item[MAX_ITEM];

    for (uint64_t seq = 0; seq < f->items; seq++) {
        if (v.peer == FLOOR) {
            while (atomic_load_explicit(f->line, memory_order_acquire) != 2 * seq + 1)
                ;
            atomic_store_explicit(f->line, 2 * seq + 2, memory_order_release);
            continue;
        }
        receive(f, v, 0, item, size);
        send(f, v, 1, item, size);
    }
}

/* One run of variant v on either side. The producer (ping) side starts the clock, the consumer
 * (ping, for a round trip: it sees the last reply) stops it. */
BENCH_INLINE void run_side(struct figure_run *f, int side, int rep, int k, uint32_t size)
{
    struct variant v = f->v[k];
    uint64_t errors = 0, missed = 0;
    int64_t end;

    if (side == 0) {
        /* Set before the meeting, so the other thread runs the same way. */
        atomic_store(&zn_ring_light_fence, v.fence ? 0 : f->light);
    }
    meet(f);
    if (side == 0)
        f->start = now_ns();
    switch (f->test) {
    case BURST_TEST:
        if (side == 0)
            burst_produce(f, v, size);
        else
            errors = burst_consume(f, v, size);
        break;
    case SINGLE_TEST:
        if (side == 0)
            missed = single_produce(f, v, size);
        else
            errors = single_consume(f, v, size, &missed);
        break;
    case RTT_TEST:
        if (side == 0)
            errors = rtt_ping(f, v, size);
        else
            rtt_pong(f, v, size);
        break;
    }
    end = now_ns();
    f->errors += errors;
    if (rep < f->reps) /* each side its own counter: no sharing */
        f->missed[k][side] += missed;
    meet(f);
    /* Both are done and f->start is visible: the side that saw the end records it. */
    if ((f->test == RTT_TEST) == (side == 0))
        f->ns[k][rep] = (double)(end - f->start);
}

BENCH_INLINE void run_figure_side(struct figure_run *f, int side, uint32_t size)
{
    /* A warm-up round first (caches, page tables, the branch predictors), kept apart. */
    for (int k = 0; k < f->nv; k++)
        run_side(f, side, f->reps, k, size);
    for (int rep = 0; rep < f->reps; rep++) {
        /* Alternate which ring goes first, so none always follows the same one. */
        for (int j = 0; j < f->nv; j++)
            run_side(f, side, rep, (j + rep) % f->nv, size);
    }
}

#define SIDE(name, side, size)                                                                     \
    static void *name(void *arg)                                                                   \
    {                                                                                              \
        run_figure_side(arg, side, size);                                                          \
        return NULL;                                                                               \
    }
SIDE(side0_8, 0, 8)
SIDE(side1_8, 1, 8)
SIDE(side0_64, 0, 64)
SIDE(side1_64, 1, 64)

/* ------------------------------------------------------------------ rings */

static bool failed;

static void new_rings(struct figure_run *f)
{
    struct zn_error err = {{0}};
    bool want[4] = {false}, want_ours[2] = {false};

    for (int k = 0; k < f->nv; k++) {
        want[f->v[k].peer] = true;
        if (f->v[k].peer == OURS)
            want_ours[f->v[k].stamped] = true;
    }
    for (int i = 0; i < 2; i++) {
        for (int stamped = 0; stamped < 2; stamped++) {
            enum zn_ring_kind kind = stamped ? ZN_RING_SPSC_STAMPED : ZN_RING_SPSC;

            if (!want_ours[stamped])
                continue;
            f->ours[stamped][i] = map_shared(zn_ring_memsize(kind, SLOTS, f->size));
            if (zn_ring_init(f->ours[stamped][i], kind, SLOTS, f->size, &err) < 0) {
                fprintf(stderr, "ring-bench: %s\n", err.text);
                exit(1);
            }
        }
        if (want[DPDK]) {
            ssize_t len = rte_ring_get_memsize_elem(f->size, SLOTS);
            int rc;

            if (len < 0) {
                fprintf(stderr, "ring-bench: rte_ring_get_memsize_elem: %s\n", strerror((int)-len));
                exit(1);
            }
            f->dpdk[i] = map_shared((size_t)len);
            rc = rte_ring_init(f->dpdk[i], i ? "bench-back" : "bench", SLOTS,
                               RING_F_SP_ENQ | RING_F_SC_DEQ);
            if (rc < 0) {
                fprintf(stderr, "ring-bench: rte_ring_init: %s\n", strerror(-rc));
                exit(1);
            }
        }
    }
    if (want[FLOOR])
        f->line = map_shared(64);
    if (want[CK]) {
        f->ck = map_shared(sizeof(*f->ck));
        f->ck_slots = map_shared(SLOTS * sizeof(*f->ck_slots));
        f->pool = map_shared(2 * SLOTS * MAX_ITEM);
        ck_ring_init(f->ck, SLOTS);
    }
}

static void free_rings(struct figure_run *f)
{
    for (int i = 0; i < 2; i++) {
        for (int stamped = 0; stamped < 2; stamped++)
            if (f->ours[stamped][i])
                munmap(
                    f->ours[stamped][i],
                    zn_ring_memsize(stamped ? ZN_RING_SPSC_STAMPED : ZN_RING_SPSC, SLOTS, f->size));
        if (f->dpdk[i])
            munmap(f->dpdk[i], (size_t)rte_ring_get_memsize_elem(f->size, SLOTS));
    }
    if (f->line)
        munmap((void *)f->line, 64);
    if (f->ck) {
        munmap(f->ck, sizeof(*f->ck));
        munmap(f->ck_slots, SLOTS * sizeof(*f->ck_slots));
        munmap(f->pool, 2 * SLOTS * MAX_ITEM);
    }
}

/* ------------------------------------------------------------------ figures */

/* CPU seconds the whole machine was busy (steal included: the hypervisor's other guests are
 * noise too), and this process's own: their difference over a figure is the other load that
 * shared the CPUs with it, printed with the figure. */
static double machine_busy_s(void)
{
    unsigned long long user, nice, sys, idle, iowait, irq, softirq, steal;
    FILE *f = fopen("/proc/stat", "r");
    int got = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys,
                         &idle, &iowait, &irq, &softirq, &steal)
                : 0;

    if (f)
        fclose(f);
    if (got != 8)
        return 0;
    return (double)(user + nice + sys + irq + softirq + steal) / (double)sysconf(_SC_CLK_TCK);
}

static double self_busy_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double sorted[MAX_REPS];

    memcpy(sorted, v, (size_t)n * sizeof(*v));
    qsort(sorted, (size_t)n, sizeof(*v), compare_doubles);
    return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/* Column 1 is the peer every other column is compared with. */
struct figure {
    double median[MAX_VARIANTS]; /* ns per run */
    /* Per round: the peer's time / column k's (k's speed-up); median, lowest, highest. */
    double paired[MAX_VARIANTS], ratio_lo[MAX_VARIANTS], ratio_hi[MAX_VARIANTS];
    double other_load; /* CPUs' worth of other work meanwhile */
    /* single: share of calls that found the ring full (producer) / empty (consumer) */
    double full_share[MAX_VARIANTS], empty_share[MAX_VARIANTS];
};

static struct figure measure(const struct options *o, enum test test, uint32_t size,
                             const struct variant *v, int nv)
{
    struct figure_run *f = calloc(1, sizeof(*f));
    struct figure fig;
    double wall = (double)now_ns() / 1e9, machine = machine_busy_s(), self = self_busy_s();
    double ratio[MAX_REPS];
    pthread_t t[2];

    memset(&fig, 0, sizeof(fig));
    if (!f) {
        fprintf(stderr, "ring-bench: out of memory\n");
        exit(1);
    }
    f->test = test;
    f->size = size;
    f->items = test == RTT_TEST ? o->rtts : o->items;
    f->reps = o->reps;
    f->nv = nv;
    memcpy(f->v, v, (size_t)nv * sizeof(*v));
    f->light = atomic_load(&zn_ring_light_fence);
    new_rings(f);
    for (int i = 0; i < 2; i++) {
        void *(*side)(void *) = size == 8 ? (i ? side1_8 : side0_8) : (i ? side1_64 : side0_64);
        pthread_attr_t attr;
        cpu_set_t set;

        CPU_ZERO(&set);
        CPU_SET(o->cpu[i], &set);
        pthread_attr_init(&attr);
        pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
        if (pthread_create(&t[i], &attr, side, f) != 0) {
            fprintf(stderr, "ring-bench: cannot start a thread on CPU %d\n", o->cpu[i]);
            exit(1);
        }
        pthread_attr_destroy(&attr);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    atomic_store(&zn_ring_light_fence, f->light);
    if (f->errors) {
        fprintf(stderr, "ring-bench: %" PRIu64 " items lost or out of order\n", f->errors);
        failed = true;
    }
    for (int k = 0; k < nv; k++) {
        double moved = (double)f->items * o->reps;

        fig.full_share[k] = (double)f->missed[k][0] / ((double)f->missed[k][0] + moved);
        fig.empty_share[k] = (double)f->missed[k][1] / ((double)f->missed[k][1] + moved);
        fig.median[k] = median(f->ns[k], o->reps);
        fig.ratio_lo[k] = 1e300;
        for (int i = 0; i < o->reps; i++) {
            ratio[i] = f->ns[1][i] / f->ns[k][i];
            if (ratio[i] < fig.ratio_lo[k])
                fig.ratio_lo[k] = ratio[i];
            if (ratio[i] > fig.ratio_hi[k])
                fig.ratio_hi[k] = ratio[i];
        }
        fig.paired[k] = median(ratio, o->reps);
    }
    wall = (double)now_ns() / 1e9 - wall;
    fig.other_load = (machine_busy_s() - machine - (self_busy_s() - self)) / wall;
    if (fig.other_load < 0)
        fig.other_load = 0;
    free_rings(f);
    free(f);
    return fig;
}

/* Throughput: column k and the peer in M items/s, ratio k / peer. */
static void report_rate(const char *what, uint32_t size, const char *peer_name, uint64_t items,
                        struct figure f, int k, double target)
{
    double ours = (double)items / f.median[k] * 1e3, theirs = (double)items / f.median[1] * 1e3;
    double ratio = ours / theirs;

    printf("%-30s %2u B  ours %7.1f M/s  %-8s %7.1f M/s  ratio %5.2f (paired %.2f, runs "
           "%.2f-%.2f)",
           what, size, ours, peer_name, theirs, ratio, f.paired[k], f.ratio_lo[k], f.ratio_hi[k]);
    if (target > 0)
        printf("  target >= %.1f %s", target, ratio >= target ? "PASS" : "FAIL");
    if (f.empty_share[k] + f.full_share[k] + f.empty_share[1] + f.full_share[1] > 0)
        printf("  [calls finding it empty/full: ours %.0f%%/%.0f%%, %s %.0f%%/%.0f%%]",
               100 * f.empty_share[k], 100 * f.full_share[k], peer_name, 100 * f.empty_share[1],
               100 * f.full_share[1]);
    printf("  [other load %.2f CPU]\n", f.other_load);
    fflush(stdout);
}

/* Latency: ns per round trip of column k, ratio k / peer (lower is better); the line floor
 * (column `floor`) if measured. */
static void report_rtt(const char *what, uint32_t size, const char *peer_name, uint64_t rtts,
                       struct figure f, int k, bool target, int floor)
{
    double ours = f.median[k] / (double)rtts, theirs = f.median[1] / (double)rtts;

    printf("%-30s %2u B  ours %7.1f ns   %-8s %7.1f ns   ratio %5.2f (paired %.2f, runs "
           "%.2f-%.2f)",
           what, size, ours, peer_name, theirs, ours / theirs, 1 / f.paired[k], 1 / f.ratio_hi[k],
           1 / f.ratio_lo[k]);
    if (target)
        printf("  target <= 250 ns %s", ours <= 250 ? "PASS" : "FAIL");
    if (floor > 0)
        printf("  [line floor %.1f ns]", f.median[floor] / (double)rtts);
    printf("  [other load %.2f CPU]\n", f.other_load);
    fflush(stdout);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ring-bench [--items N] [--rtts N] [--reps N] [--cpus P,C] [--only LIST]\n"
               "  --items N  items per throughput run (default 2000000)\n"
               "  --rtts N   round trips per latency run (default 20000)\n"
               "  --reps N   runs of each ring per figure, the medians are shown (default 51)\n"
               "  --cpus P,C producer and consumer CPUs (default 0,1)\n"
               "  --only L   only these of burst,single,rtt,extra (default all)\n");
}

int main(int argc, char **argv)
{
    struct options o = {.items = 2000000, .rtts = 20000, .reps = 51, .cpu = {0, 1}};
    static const struct option longopts[] = {
        {"items", required_argument, NULL, 'i'},
        {"rtts", required_argument, NULL, 'r'},
        {"reps", required_argument, NULL, 'n'},
        {"cpus", required_argument, NULL, 'c'},
        {"only", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cpu_set_t allowed;
    int c;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'i':
            o.items = strtoull(optarg, &end, 10);
            break;
        case 'r':
            o.rtts = strtoull(optarg, &end, 10);
            break;
        case 'n':
            o.reps = (int)strtol(optarg, &end, 10);
            break;
        case 'c':
            if (sscanf(optarg, "%d,%d", &o.cpu[0], &o.cpu[1]) != 2)
                end = optarg;
            else
                end = optarg + strlen(optarg);
            break;
        case 'o':
            o.only = optarg;
            end = optarg + strlen(optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
        if (!end || *end || o.items == 0 || o.rtts == 0 || o.reps < 1 || o.reps >= MAX_REPS) {
            fprintf(stderr, "ring-bench: bad value '%s' for --%s\n", optarg,
                    c == 'i'   ? "items"
                    : c == 'r' ? "rtts"
                    : c == 'n' ? "reps"
                    : c == 'o' ? "only"
                               : "cpus");
            return 1;
        }
    }
    if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0 || o.cpu[0] == o.cpu[1] ||
        o.cpu[0] < 0 || o.cpu[1] < 0 || o.cpu[0] >= CPU_SETSIZE || o.cpu[1] >= CPU_SETSIZE ||
        !CPU_ISSET(o.cpu[0], &allowed) || !CPU_ISSET(o.cpu[1], &allowed)) {
        fprintf(stderr,
                "ring-bench: CPUs %d and %d are not two CPUs this process may run on "
                "(see --cpus)\n",
                o.cpu[0], o.cpu[1]);
        return 1;
    }

    /* Registers this process for membarrier: the fast path then runs without a fence. */
    {
        struct zn_ring *probe = map_shared(zn_ring_memsize(ZN_RING_SPSC, SLOTS, 8));
        zn_ring_init(probe, ZN_RING_SPSC, SLOTS, 8, NULL);
        munmap(probe, zn_ring_memsize(ZN_RING_SPSC, SLOTS, 8));
    }
    printf("ring-bench: %d slots, producer on CPU %d, consumer on CPU %d; per figure each ring "
           "runs %d times, %" PRIu64 " items (throughput) or %" PRIu64
           " round trips (latency) a run, in turn with the others; medians of the runs\n"
           "ring-bench: our fast path uses %s\n",
           SLOTS, o.cpu[0], o.cpu[1], o.reps, o.items, o.rtts,
           atomic_load(&zn_ring_light_fence) ? "a compiler barrier (membarrier registered)"
                                             : "a fence (membarrier unavailable)");
    fflush(stdout);

    static const uint32_t sizes[] = {8, 64};
    static const struct variant packed = {.peer = OURS}, stamped = {.peer = OURS, .stamped = true},
                                dpdk = {.peer = DPDK}, ck = {.peer = CK}, line = {.peer = FLOOR};
    static const struct variant fenced = {.peer = OURS, .fence = true},
                                fenced_stamped = {.peer = OURS, .stamped = true, .fence = true},
                                waiting = {.peer = OURS, .stamped = true, .wait_api = true};
    struct figure g;

    /* Each figure's target is met by the layout made for that use (ring.h): bursts by the packed
     * ring, items one at a time by the stamped one; the other layout is measured in the same
     * rounds and shown under it, without a target. 64-byte items fill a cache line, which
     * leaves no room for a stamp: they go through the packed ring in every figure. */
    for (int s = 0; s < 2 && wanted(&o, "burst"); s++) {
        bool small = sizes[s] == 8;

        g = measure(&o, BURST_TEST, sizes[s],
                    small ? (struct variant[]){packed, dpdk, stamped}
                          : (struct variant[]){packed, dpdk},
                    small ? 3 : 2);
        report_rate("burst 32, SPSC packed", sizes[s], "rte_ring", o.items, g, 0, 1.0);
        if (small)
            report_rate("  (stamped layout)", sizes[s], "rte_ring", o.items, g, 2, 0);
    }
    for (int s = 0; s < 2 && wanted(&o, "single"); s++) {
        if (sizes[s] == 8) {
            g = measure(&o, SINGLE_TEST, 8, (struct variant[]){stamped, ck, packed}, 3);
            report_rate("single item, SPSC stamped", 8, "ck_ring", o.items, g, 0, 2.0);
            report_rate("  (packed layout)", 8, "ck_ring", o.items, g, 2, 0);
        } else {
            g = measure(&o, SINGLE_TEST, sizes[s], (struct variant[]){packed, ck}, 2);
            report_rate("single item, packed (pool)", sizes[s], "ck_ring", o.items, g, 0, 2.0);
        }
    }
    for (int s = 0; s < 2 && wanted(&o, "rtt"); s++) {
        if (sizes[s] == 8) {
            g = measure(&o, RTT_TEST, 8, (struct variant[]){stamped, dpdk, line, packed}, 4);
            report_rtt("round trip, stamped", 8, "rte_ring", o.rtts, g, 0, true, 2);
            report_rtt("  (packed layout)", 8, "rte_ring", o.rtts, g, 3, false, 0);
        } else {
            g = measure(&o, RTT_TEST, sizes[s], (struct variant[]){packed, dpdk, line}, 3);
            report_rtt("round trip, packed", sizes[s], "rte_ring", o.rtts, g, 0, true, 2);
        }
    }
    if (wanted(&o, "extra")) {
        /* Ablation: with a fence on the fast path, against each layout as built. */
        report_rate("single, fenced (ablation)", 8, "stamped", o.items,
                    measure(&o, SINGLE_TEST, 8, (struct variant[]){fenced_stamped, stamped}, 2), 0,
                    0);
        report_rate("single, fenced (ablation)", 8, "packed", o.items,
                    measure(&o, SINGLE_TEST, 8, (struct variant[]){fenced, packed}, 2), 0, 0);
        report_rtt("rtt, fenced (ablation)", 8, "stamped", o.rtts,
                   measure(&o, RTT_TEST, 8, (struct variant[]){fenced_stamped, stamped}, 2), 0,
                   false, 0);
        /* The blocking API (spin, then futex) on the same round trip, against polling. */
        report_rtt("rtt, dequeue_wait", 8, "polling", o.rtts,
                   measure(&o, RTT_TEST, 8, (struct variant[]){waiting, stamped}, 2), 0, false, 0);
    }
    return failed ? 1 : 0;
}
