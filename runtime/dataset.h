/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_DATASET_H
#define ZENITH_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/error.h"

/* The training data as users already have it, read in place: what a sample is, and where its
 * bytes are (extents in files). Opening checks the whole index (sizes, pointers, headers), so a
 * damaged file fails at start-up with the file and the byte offset, never a crash or a silently
 * short epoch later.
 *
 * - tokens:   a flat little-endian file of uint16 or uint32 tokens, no header (nanoGPT's
 *             train.bin). Samples are windows of seq_len+1 tokens: packed (window i starts at
 *             token i*seq_len, so consecutive windows share one token, as nanoGPT's x/y split
 *             needs) or, with `random`, any start 0 .. ntokens-seq_len-1 (the engine draws them).
 * - megatron: Megatron-LM's indexed dataset, PATH.idx ("MMIDIDX\0\0" header, dtype, sequence
 *             lengths, byte pointers, document index) and PATH.bin: the sequences' tokens
 *             concatenated as one stream, then windowed as for tokens.
 * - tar:      WebDataset shards (ustar; pax 'x' and GNU 'L' long names), a brace list such as
 *             /data/train-{000..127}.tar. A sample is the run of consecutive members whose
 *             names share a key (the path up to the first dot of the file name); its fields
 *             are the members (name after the key: "jpg", "cls", "seg.png"). Only regular
 *             files are fields (directories, links and devices are skipped, as are names with
 *             no key, as WebDataset does); a field twice in a sample is an error. The archive
 *             must end with its zero blocks (one is enough, as for GNU tar): a file ending
 *             right after a member cannot be told from one cut at a member boundary.
 * - records:  fixed-size records in one file (record_bytes each; a trailing partial record is
 *             an error). */

enum zn_format { ZN_FORMAT_TOKENS, ZN_FORMAT_MEGATRON, ZN_FORMAT_TAR, ZN_FORMAT_RECORDS };

struct zn_dataset_options {
    enum zn_format format;
    const char *path;      /* file, brace list (tar), or Megatron prefix (PATH or PATH.bin/.idx) */
    unsigned token_bytes;  /* tokens: 2 or 4; megatron: from the .idx (must agree when given) */
    uint32_t seq_len;      /* tokens, megatron: tokens per sample, plus one */
    bool random_windows;   /* tokens, megatron: every start position is a sample */
    uint64_t record_bytes; /* records */
    bool direct;           /* open the files O_DIRECT */
};

struct zn_extent {
    uint32_t file;
    uint64_t offset;
    uint64_t length;
};

/* One field of a tar sample: its member's name after the key, and where its bytes are. */
struct zn_field {
    const char *name;
    struct zn_extent extent;
};

struct zn_dataset;

struct zn_dataset *zn_dataset_open(const struct zn_dataset_options *o, struct zn_error *err);
void zn_dataset_close(struct zn_dataset *ds);

enum zn_format zn_dataset_format(const struct zn_dataset *ds);
const char *zn_format_name(enum zn_format f); /* "tokens", "megatron", "tar", "records" */

/* Samples in the dataset (tokens/megatron: windows; random: start positions). */
uint64_t zn_dataset_samples(const struct zn_dataset *ds);

/* Samples one epoch delivers: the packed window count for tokens/megatron (also with random
 * windows, so an epoch reads about the data once), else zn_dataset_samples. */
uint64_t zn_dataset_epoch_samples(const struct zn_dataset *ds);

/* Largest sample in bytes (for slot sizing): (seq_len+1)*token bytes for tokens/megatron, the
 * largest sum of a sample's field sizes for tar, record_bytes for records. */
uint64_t zn_dataset_max_sample_bytes(const struct zn_dataset *ds);

/* Bytes of all the data samples are drawn from: the token stream (tokens/megatron), all fields
 * (tar), all records (records). What one pass over the data reads. */
uint64_t zn_dataset_total_bytes(const struct zn_dataset *ds);

/* At most this many extents for any sample (tokens/records: 1; megatron: 1 when the sequences
 * are adjacent in .bin, else a bound from the sequence lengths; tar: the most fields of a
 * sample), so a caller can size its extent array once. */
unsigned zn_dataset_max_extents(const struct zn_dataset *ds);

/* Element size of the samples' data: token bytes for tokens/megatron, 1 otherwise. */
unsigned zn_dataset_item_bytes(const struct zn_dataset *ds);

/* Files: descriptors (O_DIRECT when asked) and names, for messages. The data files only: tar's
 * shards in order, megatron's .bin (its .idx is mapped and read at open). */
unsigned zn_dataset_files(const struct zn_dataset *ds);
int zn_dataset_fd(const struct zn_dataset *ds, unsigned file);
const char *zn_dataset_file_name(const struct zn_dataset *ds, unsigned file);

/* Where sample `sample` is: its extents in order (tokens/records: 1; megatron: more when a
 * window spans sequences that are not adjacent in .bin; tar: one per field). Returns the
 * count, which may exceed max (only max are written); -1 when sample is out of range. */
int zn_dataset_extents(const struct zn_dataset *ds, uint64_t sample, struct zn_extent *ext,
                       unsigned max);

/* tar only: the fields (same order as the extents), written to fields like the extents (the
 * count is returned, which may exceed max; only max are written); the names stay valid while
 * the dataset is open. -1 for another format or an out-of-range sample. The index keeps 16
 * bytes per field, not a struct zn_field (32), hence the caller's array. */
int zn_dataset_fields(const struct zn_dataset *ds, uint64_t sample, struct zn_field *fields,
                      unsigned max);

/* Shards (tar: one per file; other formats: 1), and the first sample of each: samples of shard
 * s are shard_first(s) .. shard_first(s+1)-1, in file order; shard_first(shards) (and beyond)
 * is the sample count. A tar shard may hold no samples. */
unsigned zn_dataset_shards(const struct zn_dataset *ds);
uint64_t zn_dataset_shard_first(const struct zn_dataset *ds, unsigned shard);

/* "{000..127}" style brace expansion (one or more ranges or comma lists, zero padding kept):
 * malloc'd array of malloc'd names, NULL with a message on a malformed pattern or more than
 * `limit` names. */
char **zn_brace_expand(const char *pattern, size_t limit, size_t *count, struct zn_error *err);
void zn_brace_free(char **names, size_t count);

#endif
