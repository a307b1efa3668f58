/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Bench measurements (stats.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "bench/stats.h"
#include "bench/trace.h"

int samples_add(struct samples *s, uint64_t value, struct zn_error *err)
{
    if (grow_for_one(&s->v, &s->cap, s->count, sizeof(*s->v), 4096) < 0)
        return zn_fail(err, "out of memory recording measurements");
    s->v[s->count++] = value;
    return 0;
}

double samples_mean(const struct samples *s)
{
    double sum = 0;

    for (size_t i = 0; i < s->count; i++)
        sum += (double)s->v[i];
    return s->count ? sum / (double)s->count : 0;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

uint64_t samples_percentile(struct samples *s, unsigned percent)
{
    size_t rank;

    if (!s->count)
        return 0;
    qsort(s->v, s->count, sizeof(*s->v), compare_u64);
    rank = (s->count * percent + 99) / 100;
    return s->v[rank ? rank - 1 : 0];
}
double ratio(double zenith, double stock)
{
    return stock > 0 ? zenith / stock : 0;
}

const char *ratio_text(char *buf, size_t len, double zenith, double stock)
{
    if (stock > 0)
        snprintf(buf, len, "%.3f", ratio(zenith, stock));
    else
        snprintf(buf, len, "n/a");
    return buf;
}
