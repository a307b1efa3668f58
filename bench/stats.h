/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_BENCH_STATS_H
#define ZENITH_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/error.h"

/* Measurements of a bench run and the ratio each bench prints against its baseline. */

struct samples {
    uint64_t *v;
    size_t count, cap;
};

int samples_add(struct samples *s, uint64_t value, struct zn_error *err);
double samples_mean(const struct samples *s);
/* Nearest-rank percentile; sorts the samples. */
uint64_t samples_percentile(struct samples *s, unsigned percent);

double ratio(double zenith, double stock);
/* "1.234", or "n/a" where the stock value is 0 and no ratio exists. */
const char *ratio_text(char *buf, size_t len, double zenith, double stock);

#endif
