/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What computing a sample's place in the order costs, against what torch's samplers do: store
 * a shuffled index (randperm, a Fisher-Yates shuffle) once per epoch and read it. The stored
 * index is measured at a size this machine holds (--baseline N, default 10^8 uint32 entries,
 * 400 MB); for the N = 10^9 of the computed order it would need 4 GB per epoch (8 GB past
 * 2^32 samples) and its shuffle time grows with N, so the per-sample figures are compared.
 *
 * Usage: order-bench [--calls M] [--baseline N]. Prints ns per sample for each, and the
 * ratios computed / stored (with its shuffle amortised over the epoch, and the read alone). */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "runtime/order.h"
#include "runtime/parse.h"

#define SAMPLES       UINT64_C(1000000000)
#define SHARDS        10000u /* tar-like: 10^4 shards of 10^5 samples */
#define CALLS_DEFAULT UINT64_C(20000000)
#define BASELINE_N    UINT64_C(100000000)
/* zn_order_sample on sharded data walks the shards: few calls, spread over the epoch. */
#define WALK_CALLS 2000

static volatile uint64_t sink;

static double now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ns per zn_order_sample at positions 0, stride, 2*stride, ... (stride 1: what one rank of
 * W = 1 asks for). */
static double time_sample(const struct zn_order *o, uint64_t calls, uint64_t stride)
{
    uint64_t sum = 0;
    double t0 = now();

    for (uint64_t p = 0; p < calls; p++)
        sum += zn_order_sample(o, 1, p * stride % o->samples);
    sink = sum;
    return (now() - t0) * 1e9 / (double)calls;
}

static double time_epoch_sample(const struct zn_order_epoch *e, uint64_t calls)
{
    uint64_t sum = 0;
    double t0 = now();

    for (uint64_t p = 0; p < calls; p++)
        sum += zn_order_epoch_sample(e, p);
    sink = sum;
    return (now() - t0) * 1e9 / (double)calls;
}

static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {{"calls", required_argument, NULL, 'c'},
                                            {"baseline", required_argument, NULL, 'b'},
                                            {NULL, 0, NULL, 0}};
    uint64_t calls = CALLS_DEFAULT, baseline_n = BASELINE_N;
    struct zn_error err = {{0}};
    int opt, rc = 1;
    uint64_t *shard_first = NULL;
    uint32_t *index = NULL;
    struct zn_order_epoch epoch = {0};

    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        const char *arg = optarg;
        uint64_t *target = opt == 'c' ? &calls : opt == 'b' ? &baseline_n : NULL;

        if (!target || zn_parse_digits(&arg, target) < 0 || *arg || *target == 0 ||
            *target > UINT32_MAX) {
            fprintf(stderr, "usage: order-bench [--calls M] [--baseline N] (1 .. 2^32-1)\n");
            return 2;
        }
    }

    struct zn_order plain = {.samples = SAMPLES, .seed = 1, .shuffle = true};
    double plain_ns = time_sample(&plain, calls, 1);

    shard_first = malloc(((size_t)SHARDS + 1) * sizeof(*shard_first));
    if (!shard_first) {
        fprintf(stderr, "zenith: order-bench: out of memory for the shard table\n");
        goto out;
    }
    for (unsigned s = 0; s <= SHARDS; s++)
        shard_first[s] = SAMPLES / SHARDS * s;
    struct zn_order sharded = {.samples = SAMPLES,
                               .seed = 1,
                               .shuffle = true,
                               .shards = SHARDS,
                               .shard_first = shard_first};
    double t0 = now();
    if (zn_order_epoch_init(&epoch, &sharded, 1, &err) < 0) {
        fprintf(stderr, "%s\n", err.text);
        goto out;
    }
    double epoch_init_ms = (now() - t0) * 1e3;
    double sharded_ns = time_epoch_sample(&epoch, calls);
    double walk_ns = time_sample(&sharded, WALK_CALLS, SAMPLES / WALK_CALLS + 1);

    struct zn_order windows = {.samples = SAMPLES, .seed = 1, .draw_range = 4 * SAMPLES};
    double draw_ns = time_sample(&windows, calls, 1);

    /* The baseline: torch.randperm's work, a Fisher-Yates shuffle, then reading the index in
     * order as a sampler does. */
    index = malloc(baseline_n * sizeof(*index));
    if (!index) {
        fprintf(stderr, "zenith: order-bench: out of memory for a %" PRIu64 "-entry index\n",
                baseline_n);
        goto out;
    }
    uint64_t state = 1;
    t0 = now();
    for (uint64_t i = 0; i < baseline_n; i++)
        index[i] = (uint32_t)i;
    for (uint64_t i = baseline_n - 1; i > 0; i--) {
        uint64_t j = (uint64_t)(((unsigned __int128)splitmix(&state) * (i + 1)) >> 64);
        uint32_t swap = index[i];
        index[i] = index[j];
        index[j] = swap;
    }
    double shuffle_ns = (now() - t0) * 1e9 / (double)baseline_n;
    uint64_t sum = 0, reads = calls < baseline_n ? calls : baseline_n;
    t0 = now();
    for (uint64_t i = 0; i < reads; i++)
        sum += index[i];
    sink = sum;
    double read_ns = (now() - t0) * 1e9 / (double)reads;
    double stored_ns = shuffle_ns + read_ns;

    printf("order-bench: N = %" PRIu64 ", %" PRIu64 " calls at consecutive positions\n", SAMPLES,
           calls);
    printf("  shuffled, not sharded       %7.1f ns/sample (zn_order_sample)\n", plain_ns);
    printf("  sharded, %u shards, block 1024: %7.1f ns/sample (zn_order_epoch_sample; "
           "table %.1f ms per epoch)\n",
           SHARDS, sharded_ns, epoch_init_ms);
    printf("  sharded, walking the shards %7.0f ns/sample (zn_order_sample, %d calls over the "
           "epoch)\n",
           walk_ns, WALK_CALLS);
    printf("  random windows              %7.1f ns/sample\n", draw_ns);
    printf("baseline: stored index of %" PRIu64 " uint32 (%.0f MB): shuffle %.1f ns/sample + "
           "read %.2f ns/sample = %.1f ns/sample; at N = 10^9 it would hold %.1f GB and its "
           "shuffle take ~%.0f s at every epoch start (linear extrapolation)\n",
           baseline_n, (double)baseline_n * 4 / 1e6, shuffle_ns, read_ns, stored_ns,
           (double)SAMPLES * 4 / 1e9, shuffle_ns * (double)SAMPLES / 1e9);
    printf("ratio computed/stored (shuffle amortised): not sharded %.2f, sharded %.2f\n",
           plain_ns / stored_ns, sharded_ns / stored_ns);
    printf("ratio computed/stored read alone: not sharded %.1f, sharded %.1f\n", plain_ns / read_ns,
           sharded_ns / read_ns);
    rc = 0;
out:
    zn_order_epoch_fini(&epoch);
    free(index);
    free(shard_first);
    return rc;
}
