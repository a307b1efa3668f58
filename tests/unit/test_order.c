/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/order.h"
#include "tests/unit/testutil.h"

#define LENGTH(a) (sizeof(a) / sizeof((a)[0]))

/* ck_assert records where it is with a write(2) even when it passes (18 million of them made
 * this test take a minute of system time), so the checks inside loops over positions go
 * through ck_abort_msg only when they fail. */
#define require(cond, ...)                                                                         \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg(__VA_ARGS__);                                                             \
    } while (0)
#define require_op(x, op, y)                                                                       \
    do {                                                                                           \
        uint64_t x_ = (x), y_ = (y);                                                               \
        if (!(x_ op y_))                                                                           \
            ck_abort_msg("line %d: %s " #op " %s failed: %llu vs %llu", __LINE__, #x, #y,          \
                         (unsigned long long)x_, (unsigned long long)y_);                          \
    } while (0)
#define require_eq(x, y) require_op(x, ==, y)
#define require_ne(x, y) require_op(x, !=, y)
#define require_lt(x, y) require_op(x, <, y)
#define require_ge(x, y) require_op(x, >=, y)
#define ck_error_mentions(err, needle)                                                             \
    require(strstr((err).text, needle) != NULL, "'%s' does not mention '%s'", (err).text, needle)

static const uint64_t sizes[] = {1, 7, 1000, 1003, 65537};
static const unsigned worlds[] = {1, 2, 3, 8};
static const uint64_t blocks[] = {1, 7, 1024};

/* Uneven shards, one of them empty, 1003 samples. */
static const uint64_t shard_first[] = {0, 5, 5, 17, 300, 301, 1003};
#define SHARDS (LENGTH(shard_first) - 1)

static struct zn_order shuffled(uint64_t samples, uint64_t seed)
{
    return (struct zn_order){.samples = samples, .seed = seed, .shuffle = true};
}

static struct zn_order sharded(uint64_t block, uint64_t seed)
{
    return (struct zn_order){.samples = shard_first[SHARDS],
                             .seed = seed,
                             .shuffle = true,
                             .shards = SHARDS,
                             .shard_first = shard_first,
                             .block = block};
}

static struct zn_order_epoch epoch_of(const struct zn_order *o, uint64_t epoch)
{
    struct zn_order_epoch e;
    struct zn_error err = {{0}};

    require(zn_order_epoch_init(&e, o, epoch, &err) == 0, "%s", err.text);
    return e;
}

/* Every position of an epoch from `start`, shared among `world` ranks: counts how often each
 * position and each sample is delivered, checks the ranks' counts agree and returns the total
 * (0 when zn_share_init rightly refuses: drop_last leaving nothing). */
static uint64_t deliver(const struct zn_order_epoch *e, uint64_t start, unsigned world,
                        bool drop_last, unsigned *position_seen, unsigned *sample_seen)
{
    uint64_t samples = e->order.samples, total = 0, count = 0;

    for (unsigned rank = 0; rank < world; rank++) {
        struct zn_share s;
        struct zn_error err = {{0}};

        if (zn_share_init(&s, samples, start, rank, world, drop_last, &err) < 0) {
            require(drop_last && samples - start < world, "%s", err.text);
            require_eq(rank, 0);
            return 0;
        }
        if (rank == 0)
            count = s.count;
        require_eq(s.count, count);
        for (uint64_t k = 0; k < s.count; k++) {
            uint64_t p = zn_share_position(&s, k);
            /* From start on; only the padding goes back to the epoch's first positions. */
            require(p >= start || start + k * world + rank >= samples,
                    "position %lu before start %lu", (unsigned long)p, (unsigned long)start);
            require_lt(p, samples);
            uint64_t sample = zn_order_epoch_sample(e, p);
            require_lt(sample, samples);
            position_seen[p]++;
            sample_seen[sample]++;
            total++;
        }
    }
    return total;
}

/* What deliver saw from `start` to the end of the epoch, whose positions before `start` were
 * already counted by the caller: with drop_last every sample at most once and exactly
 * N - (N-start)%W positions in all; with padding every sample at least once, the positions
 * once each plus a second time for the epoch's first positions (the padding, the same as in
 * an epoch run straight through). */
static void check_coverage(const struct zn_order_epoch *e, uint64_t start, unsigned world,
                           bool drop_last, uint64_t total, const unsigned *position_seen,
                           const unsigned *sample_seen)
{
    uint64_t n = e->order.samples, remaining = n - start;
    uint64_t padding = (world - remaining % world) % world, delivered = 0;

    if (drop_last) {
        require_eq(total, remaining - remaining % world);
        for (uint64_t i = 0; i < n; i++) {
            require(sample_seen[i] <= 1, "sample %lu delivered %u times", (unsigned long)i,
                    sample_seen[i]);
            require_eq(position_seen[i], i < n - remaining % world ? 1 : 0);
            delivered += sample_seen[i];
        }
        require_eq(delivered, n - remaining % world);
        return;
    }
    require_eq(total, remaining + padding);
    for (uint64_t i = 0; i < n; i++) {
        /* Padding may wrap more than once when fewer positions remain than ranks. */
        unsigned want = 1 + (unsigned)(padding / n + (i < padding % n));
        require(position_seen[i] == want, "position %lu delivered %u times, want %u",
                (unsigned long)i, position_seen[i], want);
        require(sample_seen[i] >= 1, "sample %lu never delivered", (unsigned long)i);
        delivered += sample_seen[i];
    }
    require_eq(delivered, n + padding);
}

static void check_epoch_shared(const struct zn_order *o, uint64_t epoch)
{
    struct zn_order_epoch e = epoch_of(o, epoch);
    uint64_t n = o->samples;
    unsigned *position_seen = malloc(n * sizeof(unsigned)),
             *sample_seen = malloc(n * sizeof(unsigned));

    ck_assert_ptr_nonnull(position_seen);
    ck_assert_ptr_nonnull(sample_seen);
    for (size_t w = 0; w < LENGTH(worlds); w++) {
        for (int drop_last = 0; drop_last <= 1; drop_last++) {
            memset(position_seen, 0, n * sizeof(unsigned));
            memset(sample_seen, 0, n * sizeof(unsigned));
            uint64_t total = deliver(&e, 0, worlds[w], drop_last, position_seen, sample_seen);
            check_coverage(&e, 0, worlds[w], drop_last, total, position_seen, sample_seen);
        }
    }
    free(position_seen);
    free(sample_seen);
    zn_order_epoch_fini(&e);
}

START_TEST(every_sample_once_over_all_ranks)
{
    for (size_t i = 0; i < LENGTH(sizes); i++) {
        struct zn_order o = shuffled(sizes[i], 1234);
        check_epoch_shared(&o, 3);
        o.shuffle = false;
        check_epoch_shared(&o, 3);
    }
}
END_TEST

START_TEST(every_sample_once_sharded)
{
    for (size_t b = 0; b < LENGTH(blocks); b++) {
        struct zn_order o = sharded(blocks[b], 99);
        check_epoch_shared(&o, 0);
        check_epoch_shared(&o, 5);
    }
}
END_TEST

START_TEST(drop_last_refuses_when_fewer_than_world)
{
    struct zn_share s;
    struct zn_error err = {{0}};

    ck_assert_int_eq(zn_share_init(&s, 7, 0, 0, 8, true, &err), -1);
    ck_error_mentions(err, "world size 8");
    ck_error_mentions(err, "7 positions left");
    /* Without drop_last the same epoch pads: each of the 8 ranks takes one position. */
    ck_assert_int_eq(zn_share_init(&s, 7, 0, 7, 8, false, &err), 0);
    require_eq(s.count, 1);
    require_eq(zn_share_position(&s, 0), 0);
}
END_TEST

/* Position p of an epoch is computed from (seed, epoch, p) alone. */
START_TEST(same_seed_same_order)
{
    struct zn_order a = shuffled(65537, 7), b = shuffled(65537, 7);
    struct zn_order sa = sharded(7, 7), sb = sharded(7, 7);
    struct zn_order_epoch ea = epoch_of(&sa, 2);

    for (uint64_t p = 0; p < a.samples; p++)
        require_eq(zn_order_sample(&a, 2, p), zn_order_sample(&b, 2, p));
    for (uint64_t p = 0; p < sa.samples; p++) {
        require_eq(zn_order_sample(&sa, 2, p), zn_order_sample(&sb, 2, p));
        require_eq(zn_order_epoch_sample(&ea, p), zn_order_sample(&sb, 2, p));
    }
    zn_order_epoch_fini(&ea);
}
END_TEST

/* Golden values. A job resumed after an upgrade must go on with the very order it started:
 * a checkpoint holds only (epoch, consumed positions). If this test fails, the permutation
 * changed and every user's resume would silently repeat and skip samples; that is a format
 * change to be made on purpose (and announced), never by accident. */
START_TEST(order_is_stable_across_releases)
{
    static const struct {
        uint64_t samples, seed, epoch, position, sample;
    } plain[] = {
        {1000000000, 42, 0, 0, 289800654},
        {1000000000, 42, 0, 1, 985463530},
        {1000000000, 42, 3, 999999999, 55035023},
        {1003, 7, 1, 500, 96},
        {UINT64_C(1) << 63, 3, 0, 12345, UINT64_C(7189470927653270359)},
        {2, 1, 0, 0, 0},
    };
    for (size_t i = 0; i < LENGTH(plain); i++) {
        struct zn_order o = shuffled(plain[i].samples, plain[i].seed);
        require_eq(zn_order_sample(&o, plain[i].epoch, plain[i].position), plain[i].sample);
    }

    static const struct {
        uint64_t block, position, sample;
    } shard[] = {{1, 400, 688}, {7, 100, 392}, {1024, 1002, 312}};
    for (size_t i = 0; i < LENGTH(shard); i++) {
        struct zn_order o = sharded(shard[i].block, 11);
        require_eq(zn_order_sample(&o, 4, shard[i].position), shard[i].sample);
    }

    struct zn_order windows = {.samples = 1000, .seed = 5, .shuffle = true, .draw_range = 999000};
    require_eq(zn_order_sample(&windows, 2, 17), 72852);
}
END_TEST

static unsigned positions_equal(const struct zn_order *a, uint64_t epoch_a,
                                const struct zn_order *b, uint64_t epoch_b)
{
    unsigned same = 0;

    for (uint64_t p = 0; p < a->samples; p++)
        same += zn_order_sample(a, epoch_a, p) == zn_order_sample(b, epoch_b, p);
    return same;
}

START_TEST(differs_across_epochs_and_seeds)
{
    struct zn_order a = shuffled(100000, 1), b = shuffled(100000, 2);
    struct zn_order sa = sharded(1024, 1), sb = sharded(1024, 2);

    /* Two independent permutations agree on about one position. */
    require_lt(positions_equal(&a, 0, &a, 1), 10);
    require_lt(positions_equal(&a, 0, &b, 0), 10);
    require_lt(positions_equal(&a, 5, &b, 6), 10);
    /* Sharded with one block over all 1003 samples: as independent as unsharded. */
    require_lt(positions_equal(&sa, 0, &sa, 1), 10);
    require_lt(positions_equal(&sa, 0, &sb, 0), 10);
    /* Blocks of 7: when the two shard sequences put the 702-sample shard at the same place,
     * its blocks agree on 1 position in 7 (~100); otherwise a few. */
    struct zn_order sc = sharded(7, 1), sd = sharded(7, 2);
    require_lt(positions_equal(&sc, 0, &sc, 1), 250);
    require_lt(positions_equal(&sc, 0, &sd, 0), 250);
}
END_TEST

/* For N = 10^5: a random permutation has one fixed point on average, half its steps go up,
 * and neither neighbouring samples nor sample and position are correlated. */
START_TEST(shuffle_looks_random)
{
    const uint64_t n = 100000;
    unsigned fixed = 0;

    for (uint64_t epoch = 0; epoch < 20; epoch++) {
        struct zn_order o = shuffled(n, 77);
        double sum_x = 0, sum_y = 0, sum_xy = 0, sum_xx = 0, sum_yy = 0, sum_py = 0;
        uint64_t rises = 0, previous = zn_order_sample(&o, epoch, 0);

        fixed += previous == 0;
        for (uint64_t p = 1; p < n; p++) {
            uint64_t s = zn_order_sample(&o, epoch, p);
            double x = (double)previous, y = (double)s;

            fixed += s == p;
            rises += s > previous;
            sum_x += x;
            sum_y += y;
            sum_xy += x * y;
            sum_xx += x * x;
            sum_yy += y * y;
            sum_py += (double)p * y;
            previous = s;
        }
        double m = (double)(n - 1);
        double neighbours =
            (sum_xy / m - sum_x / m * sum_y / m) /
            sqrt((sum_xx / m - sum_x / m * sum_x / m) * (sum_yy / m - sum_y / m * sum_y / m));
        /* positions 1..n-1 have mean n/2 and variance (n-1)^2/12 - ... ~ the samples' */
        double mean_p = (double)n / 2, var = (sum_yy / m - sum_y / m * sum_y / m);
        double with_position = (sum_py / m - mean_p * sum_y / m) / var;
        require(fabs(neighbours) < 0.015, "epoch %lu: neighbour correlation %f",
                (unsigned long)epoch, neighbours);
        require(fabs(with_position) < 0.015, "epoch %lu: position correlation %f",
                (unsigned long)epoch, with_position);
        require(rises > 0.49 * (double)n && rises < 0.51 * (double)n, "epoch %lu: %lu rises of %lu",
                (unsigned long)epoch, (unsigned long)rises, (unsigned long)n);
    }
    /* 20 epochs: Poisson(20), so 45 is far outside chance. */
    require(fixed < 45, "%u fixed points in 20 epochs", fixed);
}
END_TEST

/* The smallest domains, where a Feistel half is one or two bits: every permutation of N = 2,
 * 3, 4, 5 comes out about equally often over many epochs (chi-square far below the 0.1%
 * critical value). N = 1 has only the identity. */
START_TEST(small_domains_are_uniform)
{
    struct zn_order one = shuffled(1, 3);
    for (uint64_t epoch = 0; epoch < 100; epoch++)
        require_eq(zn_order_sample(&one, epoch, 0), 0);

    /* 99.9% quantiles of chi-square with 1, 5, 23 and 119 degrees of freedom. */
    static const double critical[] = {10.83, 20.52, 49.73, 168.5};
    for (uint64_t n = 2; n <= 5; n++) {
        unsigned factorial = 1, counts[120] = {0};
        const unsigned epochs = 60000;

        for (unsigned i = 2; i <= n; i++)
            factorial *= i;
        for (uint64_t epoch = 0; epoch < epochs; epoch++) {
            struct zn_order o = shuffled(n, 2024);
            unsigned used = 0, code = 0;

            /* Lehmer code of the permutation, a number below n!. */
            for (uint64_t p = 0; p < n; p++) {
                unsigned s = (unsigned)zn_order_sample(&o, epoch, p);
                require_lt(s, n);
                require(!(used & (1u << s)), "N=%lu: sample %u twice", (unsigned long)n, s);
                unsigned smaller_unused = (unsigned)__builtin_popcount(~used & ((1u << s) - 1));
                code = code * (unsigned)(n - p) + smaller_unused;
                used |= 1u << s;
            }
            counts[code]++;
        }
        double expected = (double)epochs / factorial, chi = 0;
        for (unsigned c = 0; c < factorial; c++)
            chi += (counts[c] - expected) * (counts[c] - expected) / expected;
        require(chi < critical[n - 2], "N=%lu: chi-square %.1f over %u permutations",
                (unsigned long)n, chi, factorial);
    }
}
END_TEST

/* 99.9% quantile of chi-square with k degrees of freedom (Wilson-Hilferty). */
static double chi_square_critical(double k)
{
    double c = 1 - 2 / (9 * k) + 3.09 * sqrt(2 / (9 * k));
    return k * c * c * c;
}

/* Where two-bit Feistel halves are weakest (N = 12 and 16, no or little cycle walking): the
 * pair (sample at position a, sample at position b) over 10^6 epochs is uniform over the
 * N(N-1) pairs. Eight rounds failed this (chi-square 7 standard deviations out at 10^6). */
START_TEST(small_domains_pairs_are_uniform)
{
    static const struct {
        uint64_t samples, a, b;
    } cases[] = {{12, 0, 1}, {16, 0, 1}, {16, 8, 15}, {33, 3, 4}};

    for (size_t i = 0; i < LENGTH(cases); i++) {
        uint64_t n = cases[i].samples;
        const unsigned epochs = 1000000;
        unsigned *pairs = calloc(n * n, sizeof(unsigned));
        struct zn_order o = shuffled(n, 3);

        ck_assert_ptr_nonnull(pairs);
        for (uint64_t epoch = 0; epoch < epochs; epoch++)
            pairs[zn_order_sample(&o, epoch, cases[i].a) * n +
                  zn_order_sample(&o, epoch, cases[i].b)]++;
        double expected = (double)epochs / (double)(n * (n - 1)), chi = 0;
        for (uint64_t x = 0; x < n; x++) {
            require_eq(pairs[x * n + x], 0);
            for (uint64_t y = 0; y < n; y++)
                if (x != y)
                    chi += (pairs[x * n + y] - expected) * (pairs[x * n + y] - expected) / expected;
        }
        double critical = chi_square_critical((double)(n * (n - 1) - 1));
        require(chi < critical, "N=%lu positions %lu,%lu: chi-square %.1f >= %.1f",
                (unsigned long)n, (unsigned long)cases[i].a, (unsigned long)cases[i].b, chi,
                critical);
        free(pairs);
    }
}
END_TEST

/* W1 ranks take k steps (k*W1 positions consumed), then the job resumes from that count on W2
 * ranks: together they deliver the epoch exactly once (with drop_last, at most once and all
 * but the tail that does not fill a round of W2). */
static void check_resume(const struct zn_order *o, unsigned w1, uint64_t steps, unsigned w2)
{
    struct zn_order_epoch e = epoch_of(o, 9);
    uint64_t n = o->samples;
    unsigned *position_seen = calloc(n, sizeof(unsigned)),
             *sample_seen = calloc(n, sizeof(unsigned));

    ck_assert_ptr_nonnull(position_seen);
    ck_assert_ptr_nonnull(sample_seen);
    for (int drop_last = 0; drop_last <= 1; drop_last++) {
        memset(position_seen, 0, n * sizeof(unsigned));
        memset(sample_seen, 0, n * sizeof(unsigned));
        for (unsigned rank = 0; rank < w1; rank++) {
            struct zn_share s;
            struct zn_error err = {{0}};

            require(zn_share_init(&s, n, 0, rank, w1, drop_last, &err) == 0, "%s", err.text);
            require_lt(steps, s.count);
            for (uint64_t k = 0; k < steps; k++) {
                uint64_t p = zn_share_position(&s, k);
                position_seen[p]++;
                sample_seen[zn_order_epoch_sample(&e, p)]++;
            }
        }
        uint64_t consumed = steps * w1;
        for (uint64_t p = 0; p < n; p++)
            require_eq(position_seen[p], p < consumed ? 1 : 0);
        uint64_t total = deliver(&e, consumed, w2, drop_last, position_seen, sample_seen);
        check_coverage(&e, consumed, w2, drop_last, total, position_seen, sample_seen);
    }
    free(position_seen);
    free(sample_seen);
    zn_order_epoch_fini(&e);
}

START_TEST(resume_delivers_exactly_the_rest)
{
    static const unsigned w1s[] = {1, 3, 8}, w2s[] = {1, 2, 3, 5, 8};
    struct zn_order orders[] = {shuffled(1003, 8), shuffled(65537, 8), sharded(7, 8),
                                sharded(1024, 8)};

    for (size_t i = 0; i < LENGTH(orders); i++) {
        for (size_t a = 0; a < LENGTH(w1s); a++) {
            uint64_t per_rank = orders[i].samples / w1s[a];
            for (size_t b = 0; b < LENGTH(w2s); b++) {
                check_resume(&orders[i], w1s[a], 1, w2s[b]);
                check_resume(&orders[i], w1s[a], per_rank / 2, w2s[b]);
                check_resume(&orders[i], w1s[a], per_rank - 1, w2s[b]);
            }
        }
    }
}
END_TEST

START_TEST(no_shuffle_is_identity)
{
    struct zn_order plain = shuffled(65537, 3), shards = sharded(7, 3);

    plain.shuffle = false;
    shards.shuffle = false;
    for (uint64_t p = 0; p < plain.samples; p++)
        require_eq(zn_order_sample(&plain, 4, p), p);
    struct zn_order_epoch e = epoch_of(&shards, 4);
    for (uint64_t p = 0; p < shards.samples; p++) {
        require_eq(zn_order_sample(&shards, 4, p), p);
        require_eq(zn_order_epoch_sample(&e, p), p);
    }
    zn_order_epoch_fini(&e);
}
END_TEST

static unsigned shard_of(uint64_t sample)
{
    unsigned s = 0;

    while (shard_first[s + 1] <= sample)
        s++;
    return s;
}

/* Block 1 shows the stream itself: each shard whole and front to back, the shards in a
 * permuted order. Larger blocks permute each block of that same stream within itself. */
START_TEST(sharded_shuffle_is_blockwise)
{
    const uint64_t n = shard_first[SHARDS];
    unsigned moved_blocks = 0, orders_seen_differ = 0, same_pattern = 0;
    unsigned first_order[SHARDS] = {0};

    for (uint64_t epoch = 0; epoch < 6; epoch++) {
        struct zn_order one = sharded(1, 31);
        uint64_t stream[1003], where[1003];
        unsigned order[SHARDS], placed = 0;
        bool shard_seen[SHARDS] = {false};

        require_eq(n, LENGTH(stream));
        for (uint64_t p = 0; p < n; p++) {
            stream[p] = zn_order_sample(&one, epoch, p);
            where[stream[p]] = p;
            unsigned s = shard_of(stream[p]);
            if (p == 0 || shard_of(stream[p - 1]) != s) {
                require(!shard_seen[s], "epoch %lu: shard %u comes twice", (unsigned long)epoch, s);
                require_eq(stream[p], shard_first[s]);
                shard_seen[s] = true;
                order[placed++] = s;
            } else {
                require_eq(stream[p], stream[p - 1] + 1);
            }
        }
        /* Every non-empty shard once: the sequence is a permutation of them. */
        for (unsigned s = 0; s < SHARDS; s++)
            require(shard_seen[s] == (shard_first[s + 1] > shard_first[s]), "shard %u", s);
        if (epoch == 0)
            memcpy(first_order, order, sizeof(order));
        else
            orders_seen_differ += memcmp(first_order, order, placed * sizeof(unsigned)) != 0;

        for (size_t b = 1; b < LENGTH(blocks); b++) {
            struct zn_order o = sharded(blocks[b], 31);
            struct zn_order_epoch e = epoch_of(&o, epoch);
            uint64_t first_pattern = 0;
            for (uint64_t first = 0; first < n; first += blocks[b]) {
                uint64_t end = first + blocks[b] < n ? first + blocks[b] : n, pattern = 0;
                bool in_block[1003] = {false}, moved = false;
                for (uint64_t p = first; p < end; p++)
                    in_block[stream[p]] = true;
                for (uint64_t p = first; p < end; p++) {
                    uint64_t s = zn_order_epoch_sample(&e, p);
                    require_eq(s, zn_order_sample(&o, epoch, p));
                    require(in_block[s], "block %lu of %lu: sample %lu is not its own",
                            (unsigned long)(first / blocks[b]), (unsigned long)blocks[b],
                            (unsigned long)s);
                    in_block[s] = false; /* a second time would fail above */
                    moved |= s != stream[p];
                    pattern = pattern * 8 + (where[s] - first);
                }
                moved_blocks += moved;
                /* Each block has its own permutation: full blocks of 7 rarely share one. */
                if (blocks[b] == 7 && end - first == 7) {
                    if (first == 0)
                        first_pattern = pattern;
                    else
                        same_pattern += pattern == first_pattern;
                }
            }
            zn_order_epoch_fini(&e);
        }
    }
    require_ge(orders_seen_differ, 4);
    /* 6 epochs of 144 blocks of 7 (the last one of 2) and 1 block of 1003: a block left as it
     * was is rare (1 in 7! for a full block of 7; the block of 2 half the time). */
    require_ge(moved_blocks, 6 * 145 - 6);
    /* 6 x 142 blocks, each like the first with probability 1/7! = 1/5040. */
    require_lt(same_pattern, 4);
}
END_TEST

START_TEST(random_windows_draw_with_replacement)
{
    const uint64_t range = 1000003;
    struct zn_order o = {.samples = 200000, .seed = 9, .shuffle = true, .draw_range = range};
    struct zn_order other_seed = o, unshuffled = o;
    unsigned buckets[10] = {0}, same_epoch = 0, same_seed = 0;

    other_seed.seed = 10;
    unshuffled.shuffle = false;
    for (uint64_t p = 0; p < o.samples; p++) {
        uint64_t start = zn_order_sample(&o, 1, p);
        require_lt(start, range);
        require_eq(zn_order_sample(&o, 1, p), start);
        require_eq(zn_order_sample(&unshuffled, 1, p), start);
        buckets[start * 10 / range]++;
        same_epoch += zn_order_sample(&o, 2, p) == start;
        same_seed += zn_order_sample(&other_seed, 1, p) == start;
    }
    /* 99.9% quantile of chi-square with 9 degrees of freedom: 27.88. */
    double expected = (double)o.samples / 10, chi = 0;
    for (unsigned b = 0; b < 10; b++)
        chi += (buckets[b] - expected) * (buckets[b] - expected) / expected;
    require(chi < 27.88, "chi-square %.1f", chi);
    require_lt(same_epoch, 10);
    require_lt(same_seed, 10);

    o.draw_range = 1;
    for (uint64_t p = 0; p < 100; p++)
        require_eq(zn_order_sample(&o, 0, p), 0);
}
END_TEST

START_TEST(check_refuses_bad_orders)
{
    struct zn_error err = {{0}};
    struct zn_order o = shuffled(0, 1);

    ck_assert_int_eq(zn_order_check(&o, &err), -1);
    require(strncmp(err.text, "zenith: ", 8) == 0 && !strstr(err.text + 8, "zenith: "), "%s",
            err.text);
    ck_error_mentions(err, "0 samples");

    uint64_t decreasing[] = {0, 10, 4, 20};
    o = (struct zn_order){.samples = 20, .shuffle = true, .shards = 3, .shard_first = decreasing};
    ck_assert_int_eq(zn_order_check(&o, &err), -1);
    ck_error_mentions(err, "decreases");
    ck_error_mentions(err, "shard 1 starts at sample 10 but shard 2 at 4");

    uint64_t short_table[] = {0, 10, 15, 19};
    o.shard_first = short_table;
    ck_assert_int_eq(zn_order_check(&o, &err), -1);
    ck_error_mentions(err, "ends at sample 19 (entry 3)");
    ck_error_mentions(err, "20 samples");

    uint64_t late_start[] = {2, 10, 15, 20};
    o.shard_first = late_start;
    ck_assert_int_eq(zn_order_check(&o, &err), -1);
    ck_error_mentions(err, "starts at sample 2");

    uint64_t good[] = {0, 10, 10, 20};
    o.shard_first = good;
    ck_assert_int_eq(zn_order_check(&o, &err), 0);
    o.draw_range = 5;
    ck_assert_int_eq(zn_order_check(&o, &err), -1);
    ck_error_mentions(err, "draw range 5");

    struct zn_order_epoch e;
    o.samples = 0;
    ck_assert_int_eq(zn_order_epoch_init(&e, &o, 0, &err), -1);
    ck_error_mentions(err, "0 samples");
    ck_assert_ptr_null(e.shard_at);
}
END_TEST

START_TEST(share_refuses_bad_ranks)
{
    struct zn_error err = {{0}};
    struct zn_share s;

    ck_assert_int_eq(zn_share_init(&s, 100, 0, 0, 0, false, &err), -1);
    require(strncmp(err.text, "zenith: ", 8) == 0 && !strstr(err.text + 8, "zenith: "), "%s",
            err.text);
    ck_error_mentions(err, "world size 0");
    ck_assert_int_eq(zn_share_init(&s, 100, 0, 4, 4, false, &err), -1);
    ck_error_mentions(err, "rank 4 is not below the world size 4");
    ck_assert_int_eq(zn_share_init(&s, 100, 101, 0, 4, false, &err), -1);
    ck_error_mentions(err, "start position 101");
    ck_error_mentions(err, "100 samples");
    ck_assert_int_eq(zn_share_init(&s, 100, 98, 0, 4, true, &err), -1);
    ck_error_mentions(err, "2 positions left from 98 of 100");
    /* The end of the epoch is not an error without drop_last: nothing is left to take. */
    ck_assert_int_eq(zn_share_init(&s, 100, 100, 3, 4, false, &err), 0);
    require_eq(s.count, 0);
}
END_TEST

/* Counts near 2^64 neither overflow the positions nor leave the range. */
START_TEST(huge_epochs)
{
    static const uint64_t huge[] = {UINT64_C(1) << 63, UINT64_MAX, (UINT64_C(1) << 62) + 1};

    for (size_t i = 0; i < LENGTH(huge); i++) {
        uint64_t n = huge[i];
        struct zn_order o = shuffled(n, 5);
        uint64_t a = zn_order_sample(&o, 0, n - 1), b = zn_order_sample(&o, 0, n - 2);
        require_lt(a, n);
        require_lt(b, n);
        require_ne(a, b);
        for (int drop_last = 0; drop_last <= 1; drop_last++) {
            for (unsigned rank = 0; rank < 7; rank++) {
                struct zn_share s;
                ck_assert_int_eq(zn_share_init(&s, n, 3, rank, 7, drop_last, NULL), 0);
                uint64_t remaining = n - 3;
                require_eq(s.count, remaining / 7 + (!drop_last && remaining % 7));
                uint64_t last = zn_share_position(&s, s.count - 1);
                require_lt(last, n);
                uint64_t linear = (s.count - 1) * 7 + rank; /* offset; may pass remaining */
                if (linear < remaining)
                    require_eq(last, 3 + linear);
                else /* the padding: the epoch's first positions */
                    require_eq(last, linear - remaining);
                require_eq(zn_share_position(&s, 0), 3 + rank);
            }
        }
    }
}
END_TEST

START_TEST(positions_past_the_end_wrap)
{
    struct zn_order o = sharded(7, 4);
    struct zn_order_epoch e = epoch_of(&o, 1);

    for (uint64_t p = 0; p < 20; p++) {
        require_eq(zn_order_sample(&o, 1, o.samples + p), zn_order_sample(&o, 1, p));
        require_eq(zn_order_epoch_sample(&e, o.samples + p), zn_order_sample(&o, 1, p));
    }
    zn_order_epoch_fini(&e);
}
END_TEST

int main(void)
{
    TCase *tc = tcase_create("order");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_sample_once_over_all_ranks);
    tcase_add_test(tc, every_sample_once_sharded);
    tcase_add_test(tc, drop_last_refuses_when_fewer_than_world);
    tcase_add_test(tc, same_seed_same_order);
    tcase_add_test(tc, order_is_stable_across_releases);
    tcase_add_test(tc, differs_across_epochs_and_seeds);
    tcase_add_test(tc, shuffle_looks_random);
    tcase_add_test(tc, small_domains_are_uniform);
    tcase_add_test(tc, small_domains_pairs_are_uniform);
    tcase_add_test(tc, resume_delivers_exactly_the_rest);
    tcase_add_test(tc, no_shuffle_is_identity);
    tcase_add_test(tc, sharded_shuffle_is_blockwise);
    tcase_add_test(tc, random_windows_draw_with_replacement);
    tcase_add_test(tc, check_refuses_bad_orders);
    tcase_add_test(tc, share_refuses_bad_ranks);
    tcase_add_test(tc, huge_epochs);
    tcase_add_test(tc, positions_past_the_end_wrap);
    return test_run("order", tc);
}
