/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_BENCH_TRACE_H
#define ZENITH_BENCH_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/error.h"

/* The Philly trace as Chronus publishes it, and its machine list: read strictly (every column
 * checked, a bad line named with its number), shared by the placement simulator and the replay
 * in the real cluster so that both see the same jobs. */

#define TRACE_MAX_NODE_GPUS 1024
#define TRACE_MAX_JOB_GPUS  65536
#define TRACE_MAX_SECONDS   (UINT64_C(1) << 40) /* keeps sums of times far from overflow */

struct machine {
    char *name;
    unsigned gpus;
    unsigned line;
};

struct machines {
    const char *path; /* names the list in messages */
    struct machine *list;
    size_t count;
    unsigned max_gpus;
};

struct job {
    uint64_t id;
    unsigned gpus;  /* as the trace says */
    unsigned nodes; /* what is asked of the scheduler: nodes x gpus_per_node */
    unsigned gpus_per_node;
    uint64_t submit, duration;
    unsigned line;
};

struct trace {
    const char *path;
    struct job *jobs; /* GPU jobs, sorted by submit time then id */
    size_t count;
    size_t rows;     /* data rows read */
    size_t zero_gpu; /* rows skipped: no GPU */
    size_t uneven;   /* more GPUs than a node has and not a multiple of that */
    char uneven_shapes[256];
};

/* Room for one more item in a growing array (doubling from first); -1 when out of memory. */
int grow_for_one(void *array, size_t *cap, size_t count, size_t size, size_t first);

int read_machines(const char *path, struct machines *m, struct zn_error *err);
/* count machines called prefix1, prefix2, ... of gpus each; label names them in messages. */
int uniform_machines(const char *label, const char *prefix, size_t count, unsigned gpus,
                     struct machines *m, struct zn_error *err);
void machines_free(struct machines *m);

/* limit: read only that many rows (0: all); compress: divide submit times by it. */
int read_trace(const char *path, size_t limit, unsigned compress, struct trace *t,
               struct zn_error *err);
/* Give every job its nodes x GPUs per node on machines like m's; fails for a job m cannot run. */
int shape_jobs(struct trace *t, const struct machines *m, struct zn_error *err);

#endif
