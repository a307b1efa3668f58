/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_DATASET_IMPL_H
#define ZENITH_DATASET_IMPL_H

/* The dataset's private state, shared by dataset.c (dispatch, accessors, files) and the format
 * files (format-*.c), which fill it at open and answer the per-sample questions. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "runtime/dataset.h"
#include "runtime/error.h"

/* One field of a tar sample. Tar data always starts on a 512-byte block, so the block number
 * (32 bits: shards up to 2 TiB) stands for the offset; the shard is the sample's. 16 bytes, where
 * a struct zn_field would take 32. */
struct zn_tar_field {
    uint32_t block;
    uint32_t name;
    uint64_t size;
};

struct zn_windows {
    uint32_t seq_len;
    bool random;
    uint64_t ntokens; /* in the token stream (tokens: the file; megatron: all sequences) */
};

struct zn_megatron {
    const unsigned char *idx; /* the .idx, mapped read-only; validated at open */
    size_t idx_size;
    uint64_t sequences;
    size_t lengths_at, pointers_at; /* byte offsets of i32[S] and i64[S] in idx */
    /* When every sequence directly follows the one before it in .bin (what Megatron's builder
     * writes), token t is at contiguous_base + t*itemsize and a window is one extent; otherwise
     * token_before[k] (tokens in sequences before k, S+1 entries) finds a window's sequence. */
    bool contiguous;
    uint64_t contiguous_base;
    uint64_t *token_before;
};

struct zn_tar {
    uint64_t *shard_first;  /* nshards+1 */
    uint64_t *sample_first; /* first field of each sample, samples+1 */
    struct zn_tar_field *fields;
    uint64_t nfields;
    char **names; /* interned field names, by id */
    uint32_t nnames;
};

struct zn_dataset {
    enum zn_format format;
    unsigned nfiles;
    int *fds;
    char **paths;
    uint64_t samples, epoch_samples;
    uint64_t max_sample_bytes, total_bytes;
    unsigned max_extents;
    unsigned item_bytes;
    uint64_t record_bytes;
    struct zn_windows windows;
    struct zn_megatron megatron;
    struct zn_tar tar;
};

/* --- dataset.c: files */

/* Opens path read-only (O_DIRECT when direct) as the dataset's next file and returns its index,
 * with its size in *size; -1 with a message naming the file when it is missing, unreadable, not
 * a regular file, or empty. */
int zn_dataset_add_file(struct zn_dataset *ds, const char *path, bool direct, uint64_t *size,
                        struct zn_error *err);

/* Opens path for reading the format's own metadata (never O_DIRECT: headers are read at
 * unaligned offsets), checking the same things; the descriptor, or -1. */
int zn_dataset_open_meta(const char *path, uint64_t *size, struct zn_error *err);

/* Little-endian loads from the mapped .idx, whose arrays are not aligned (the header is 34
 * bytes). */
static inline uint64_t zn_le64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline uint32_t zn_le32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

/* --- the formats: fill ds from the options; on failure leave what they allocated in ds for
 * zn_dataset_close. */
int zn_tokens_open(struct zn_dataset *ds, const struct zn_dataset_options *o, struct zn_error *err);
int zn_megatron_open(struct zn_dataset *ds, const struct zn_dataset_options *o,
                     struct zn_error *err);
int zn_tar_open(struct zn_dataset *ds, const struct zn_dataset_options *o, struct zn_error *err);
int zn_records_open(struct zn_dataset *ds, const struct zn_dataset_options *o,
                    struct zn_error *err);

void zn_megatron_release(struct zn_dataset *ds);
void zn_tar_release(struct zn_dataset *ds);

/* Extents of an in-range sample (the contract of zn_dataset_extents). */
int zn_window_extents(const struct zn_dataset *ds, uint64_t sample, struct zn_extent *ext,
                      unsigned max);
int zn_tar_extents(const struct zn_dataset *ds, uint64_t sample, struct zn_extent *ext,
                   unsigned max);
int zn_records_extents(const struct zn_dataset *ds, uint64_t sample, struct zn_extent *ext,
                       unsigned max);
int zn_tar_fields(const struct zn_dataset *ds, uint64_t sample, struct zn_field *fields,
                  unsigned max);

#endif
