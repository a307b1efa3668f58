/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_ENGINE_H
#define ZENITH_ENGINE_H

#include <sched.h>
#include <stdint.h>

#include "runtime/dataspec.h"
#include "runtime/error.h"

/* The producer side of the dataplane: one rank's share of each epoch, in the epoch's order,
 * read through the reader into the arena's slots and handed over in batches through the
 * "filled" ring; slots come back through the "free" ring. One thread, which submits reads for
 * every slot it holds (the queue depth is the batches in flight times their reads) and
 * publishes batches strictly in order, so the order is the same in every run whatever the I/O
 * timing. zenith-run runs it for its child; a program can run it in its own process too. */

struct zn_engine_config {
    const struct zn_dataspec *spec;
    unsigned rank, world;
    int numa_node;          /* where the arena lives; -1: no binding */
    uint64_t hugepage_size; /* the job's reserved huge pages on this node; 0: none */
    const cpu_set_t *cpus;  /* the rank's CPUs, for the engine thread and io-wq; NULL: inherit */
    const char *name;       /* memfd name */
};

struct zn_engine;

/* Where a rank's arena goes, from its placement variables (ZENITH_MEMS, the job's huge page
 * reservation): sets cfg->numa_node to the first node of the task's memory and
 * cfg->hugepage_size to the reserved page size when the job reserved pages there. `get` looks a
 * variable up (NULL: not set); zenith-run passes its own plan, the Python module the process's
 * environment, so both hosts place the arena alike. */
void zn_engine_place(struct zn_engine_config *cfg, const char *(*get)(void *ctx, const char *name),
                     void *ctx);

/* Open and check the data and the rank's share: everything the user's input can get wrong,
 * before any memory is set aside. */
struct zn_engine *zn_engine_open(const struct zn_engine_config *cfg, struct zn_error *err);

/* Create the arena and start the producer thread. */
int zn_engine_start(struct zn_engine *e, struct zn_error *err);

/* The arena's descriptor (close-on-exec; a launcher clears that on the copy it hands on). */
int zn_engine_fd(const struct zn_engine *e);

/* Lines worth telling the user (fallbacks of the backing or the reader), "" when none. */
const char *zn_engine_notice(const struct zn_engine *e);

/* A one-line description: data, share, backing, reader. */
const char *zn_engine_describe(const struct zn_engine *e);

/* Stop the thread (at once if the consumer is gone or done) and wait for it. 0, or -1 with the
 * producer's failure. */
int zn_engine_stop(struct zn_engine *e, struct zn_error *err);

/* Stop if running, release everything. NULL is fine. */
void zn_engine_close(struct zn_engine *e);

#endif
