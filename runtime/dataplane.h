/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_DATAPLANE_H
#define ZENITH_DATAPLANE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/error.h"

/* The data service's shared memory as its consumer sees it, and the consumer API: what the
 * Python module zenith.data and any C or C++ training program use to take batches from the
 * service zenith-run started for the rank (or from an engine in the same process).
 *
 *   struct zn_dp_consumer *c = zn_dp_attach(-1, &err);   // fd from ZENITH_DATAPLANE_FD
 *   struct zn_dp_view b;
 *   while (zn_dp_next(c, &b, -1, &err) == 1) {
 *       train_on(b.data, b.bytes, b.samples, b.batch->samples);
 *       zn_dp_release(c, &b);                             // the slot goes back to the reader
 *   }
 *   zn_dp_detach(c);
 *
 * A batch stays valid, in place in shared memory (no copy), until it is released; a program
 * may hold several at once (at most the slots the service was given, less one). One thread
 * at a time may call next/release on one consumer.
 *
 * Layout of one slot: struct zn_dp_batch, then `samples` struct zn_dp_sample, then `fields`
 * struct zn_dp_field (tar only), and the payload from the slot's payload offset: each sample's
 * bytes at its offset. Token and record samples are packed back to back in position order, so
 * a batch of token windows is one [samples][seq_len+1] array; with direct=1 each sample
 * starts on a 4 KiB boundary instead. */

#define ZN_DP_MAGIC      0x5a4e445041544131ull /* "ZNDPATA1" */
#define ZN_DP_VERSION    2
#define ZN_DP_MAX_NAMES  64
#define ZN_DP_NAME_BYTES 32

enum zn_dp_state { ZN_DP_RUNNING = 1, ZN_DP_DONE = 2, ZN_DP_FAILED = 3 };

struct zn_dp_sample {
    uint64_t id;     /* the dataset's sample number (token data: the window's first token) */
    uint64_t offset; /* from the start of the payload */
    uint64_t length; /* bytes */
    uint32_t first_field, fields; /* tar: its fields in the batch's field table */
};

struct zn_dp_field {
    uint64_t offset, length; /* from the start of the payload */
    uint32_t name;           /* index into the header's names ("jpg", "cls") */
    uint32_t sample;         /* index in the batch */
};

struct zn_dp_batch {
    uint64_t seq; /* this rank's batch number, counted over all epochs from 0 */
    uint64_t epoch;
    uint64_t position; /* the rank's index of its first sample in the epoch */
    uint64_t consumed; /* global samples of the epoch consumed once every rank has this batch:
                        * with epoch, what a checkpoint saves to resume (consumed= in SPEC) */
    uint64_t bytes;    /* payload bytes (the extent of the last sample) */
    uint32_t samples;  /* in this batch: the batch size, fewer in an epoch's last batch or
                        * where damaged samples were skipped */
    uint32_t fields;
    uint32_t skipped; /* damaged samples left out of this batch (on_error=skip) */
    uint32_t last;    /* 1: the epoch's last batch on this rank */
};

/* The header at the start of the arena's caller area. Written by the producer before the
 * descriptor is handed on, except the atomics. */
struct zn_dp_shared {
    uint64_t magic;
    uint32_t version;
    uint32_t header_bytes;
    /* what the data is */
    uint32_t format;     /* enum zn_format */
    uint32_t item_bytes; /* token width, or 1 */
    uint32_t seq_len;    /* tokens per sample, plus one; 0 for other formats */
    uint32_t batch;      /* samples per full batch: every slot's sample table has as many */
    uint64_t record_bytes;
    uint32_t slots;
    uint32_t payload_offset; /* from each slot's start */
    uint64_t slot_bytes;
    uint32_t max_fields_per_batch;
    /* who and what order */
    uint32_t rank, world;
    uint64_t seed;
    uint64_t samples_per_epoch;   /* N, the whole job's */
    uint64_t first_epoch, epochs; /* epochs 0: no end */
    uint64_t first_consumed;      /* samples of the first epoch the job had consumed (resume) */
    uint64_t batches_first_epoch; /* this rank's batches in the first (maybe resumed) epoch */
    uint64_t batches_per_epoch;   /* ... and in the following ones */
    uint64_t rank_samples_first_epoch; /* this rank's samples in the first epoch */
    uint64_t rank_samples_per_epoch;   /* ... and in the following ones */
    uint32_t names;
    char name[ZN_DP_MAX_NAMES][ZN_DP_NAME_BYTES];
    char backing[96]; /* "hugetlb 2M on NUMA node 1", "base pages" */
    char reader[96];  /* "io_uring, fixed buffers, async" */
    int32_t producer_pid;
    uint32_t drop_last; /* 1: the tail short of a round of ranks is dropped, 0: padded */
    uint64_t started_ns; /* CLOCK_MONOTONIC */
    /* the producer's */
    _Atomic uint32_t state;
    char error[512]; /* written before state becomes FAILED */
    _Atomic uint64_t batches_made, samples_made, bytes_read, skipped, read_ns, wait_free_ns;
    /* the consumer's */
    _Atomic uint64_t batches_taken, samples_taken, stall_ns, held;
};

struct zn_dp_view {
    const struct zn_dp_batch *batch;
    const struct zn_dp_sample *samples;
    const struct zn_dp_field *fields;
    const uint8_t *data; /* the payload */
    uint64_t bytes;
    uint32_t slot;
};

struct zn_dp_stats {
    double seconds; /* since the service started */
    uint64_t batches, samples, bytes, skipped;
    double samples_per_s, bytes_per_s;
    unsigned ready, slots; /* batches waiting in the ring now, of slots */
    double stall_s;        /* time the consumer waited in zn_dp_next for a batch */
    double reader_wait_s;  /* time the producer waited for a free slot (consumer is slower) */
    enum zn_dp_state state;
};

struct zn_dp_consumer;

/* fd -1: ZENITH_DATAPLANE_FD from the environment. The arena and its header are checked
 * before anything in them is used. */
struct zn_dp_consumer *zn_dp_attach(int fd, struct zn_error *err);

#define ZN_DP_TIMED_OUT (-2)

/* 1: a batch in *view; 0: the stream ended (every epoch delivered); -1: the producer failed
 * (its message) or died; ZN_DP_TIMED_OUT: no batch within timeout_ns (>= 0; says so in err,
 * and can be retried: a host that must look at signals waits in slices). Waiting time counts
 * as stall. */
int zn_dp_next(struct zn_dp_consumer *c, struct zn_dp_view *view, int64_t timeout_ns,
               struct zn_error *err);

/* Give a batch's slot back; each view once. */
int zn_dp_release(struct zn_dp_consumer *c, const struct zn_dp_view *view, struct zn_error *err);

const struct zn_dp_shared *zn_dp_header(const struct zn_dp_consumer *c);
void zn_dp_stats(const struct zn_dp_consumer *c, struct zn_dp_stats *stats);
const char *zn_dp_field_name(const struct zn_dp_consumer *c, uint32_t name);
void zn_dp_detach(struct zn_dp_consumer *c);

#endif
