/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Time of zn_dataset_open (which validates and indexes the whole dataset) over several rounds;
 * bench/dataset-open.sh runs it against baselines on the same files. Prints one line:
 *   ms=MEDIAN min=MIN samples=N index_bytes=B
 * index_bytes: what the index keeps per dataset beyond the mapped .idx (tar: 8 bytes per sample
 * and 16 per field; megatron: the token prefix sum when sequences are scattered). --cold drops
 * the files from the page cache (POSIX_FADV_DONTNEED) before every round. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/dataset-impl.h" /* to report the prefix sum's size */
#include "runtime/dataset.h"

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void drop_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
}

static void drop_cache(const struct zn_dataset_options *o)
{
    struct zn_error err;
    size_t n;
    char **names;

    if (o->format == ZN_FORMAT_MEGATRON) {
        char path[4096];
        snprintf(path, sizeof(path), "%s.idx", o->path);
        drop_file(path);
        snprintf(path, sizeof(path), "%s.bin", o->path);
        drop_file(path);
        return;
    }
    names = zn_brace_expand(o->path, 1u << 20, &n, &err);
    for (size_t i = 0; names && i < n; i++)
        drop_file(names[i]);
    zn_brace_free(names, n);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    struct zn_dataset_options o = {.seq_len = 2048};
    unsigned rounds = 5;
    bool cold = false;
    double *times;
    uint64_t samples = 0, index_bytes = 0;
    int i = 1;

    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--cold") == 0)
            cold = true;
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--seq-len") == 0 && i + 1 < argc)
            o.seq_len = (uint32_t)atoi(argv[++i]);
        else
            break;
    }
    if (argc - i != 2 || rounds == 0 ||
        (strcmp(argv[i], "tar") != 0 && strcmp(argv[i], "megatron") != 0)) {
        fprintf(stderr, "usage: %s [--cold] [--rounds N] [--seq-len N] tar|megatron PATH\n",
                argv[0]);
        return 2;
    }
    o.format = strcmp(argv[i], "tar") == 0 ? ZN_FORMAT_TAR : ZN_FORMAT_MEGATRON;
    o.path = argv[i + 1];
    times = calloc(rounds, sizeof(*times));
    for (unsigned r = 0; r < rounds; r++) {
        struct zn_error err;
        struct zn_dataset *ds;
        double start;

        if (cold)
            drop_cache(&o);
        start = now_ms();
        ds = zn_dataset_open(&o, &err);
        times[r] = now_ms() - start;
        if (!ds) {
            fprintf(stderr, "%s\n", err.text);
            return 1;
        }
        samples = zn_dataset_samples(ds);
        if (o.format == ZN_FORMAT_TAR) {
            uint64_t fields = 0;
            for (uint64_t s = 0; s < samples; s++)
                fields += (uint64_t)zn_dataset_extents(ds, s, NULL, 0);
            index_bytes = 8 * (samples + 1) + 16 * fields;
        } else {
            index_bytes = ds->megatron.token_before ? 8 * (ds->megatron.sequences + 1) : 0;
        }
        zn_dataset_close(ds);
    }
    qsort(times, rounds, sizeof(*times), compare_double);
    printf("ms=%.2f min=%.2f samples=%llu index_bytes=%llu\n", times[rounds / 2], times[0],
           (unsigned long long)samples, (unsigned long long)index_bytes);
    free(times);
    return 0;
}
