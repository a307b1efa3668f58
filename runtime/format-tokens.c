/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "runtime/dataset-impl.h"

/* Token streams windowed into samples: flat token files (nanoGPT's train.bin) and Megatron-LM's
 * indexed datasets (.idx + .bin), whose sequences concatenated are the stream. */

/* Megatron's .idx: magic, u64 version, u8 dtype code, u64 sequence count, u64 document count
 * (megatron/core/datasets/indexed_dataset.py, _IndexWriter). */
#define IDX_MAGIC      "MMIDIDX\0\0"
#define IDX_MAGIC_LEN  9
#define IDX_VERSION_AT 9
#define IDX_DTYPE_AT   17
#define IDX_SEQS_AT    18
#define IDX_DOCS_AT    26
#define IDX_HEADER     34

/* Sets up the windows over a stream of ntokens tokens; name is the file named in messages. */
static int set_windows(struct zn_dataset *ds, const struct zn_dataset_options *o, uint64_t ntokens,
                       const char *name, struct zn_error *err)
{
    uint64_t window = (uint64_t)o->seq_len + 1;

    if (ntokens < window)
        return zn_fail(err,
                       "%s holds %" PRIu64 " tokens, fewer than one sample of seq_len+1 = "
                       "%" PRIu64 "; use a shorter sequence length or more data",
                       name, ntokens, window);
    ds->windows.seq_len = o->seq_len;
    ds->windows.random = o->random_windows;
    ds->windows.ntokens = ntokens;
    ds->epoch_samples = (ntokens - 1) / o->seq_len;
    ds->samples = o->random_windows ? ntokens - o->seq_len : ds->epoch_samples;
    ds->max_sample_bytes = window * ds->item_bytes;
    ds->total_bytes = ntokens * ds->item_bytes;
    return 0;
}

int zn_tokens_open(struct zn_dataset *ds, const struct zn_dataset_options *o, struct zn_error *err)
{
    uint64_t size;

    if (zn_dataset_add_file(ds, o->path, o->direct, &size, err) < 0)
        return -1;
    if (size % o->token_bytes != 0)
        return zn_fail(err,
                       "%s is %" PRIu64 " bytes, not a whole number of %u-byte tokens: a partial "
                       "token at offset %" PRIu64 "; is the file truncated, or are the tokens "
                       "%s?",
                       o->path, size, o->token_bytes, size - size % o->token_bytes,
                       o->token_bytes == 2 ? "uint32 (dtype=u32)" : "uint16 (dtype=u16)");
    ds->item_bytes = o->token_bytes;
    return set_windows(ds, o, size / o->token_bytes, o->path, err);
}

/* Where sequence k's length and pointer are in the mapped .idx. */
static int32_t seq_length(const struct zn_megatron *m, uint64_t k)
{
    return (int32_t)zn_le32(m->idx + m->lengths_at + 4 * k);
}

static int64_t seq_pointer(const struct zn_megatron *m, uint64_t k)
{
    return (int64_t)zn_le64(m->idx + m->pointers_at + 8 * k);
}

/* The first sequence holding token t of the stream (t < ntokens): the last k with
 * token_before[k] <= t, which is never an empty sequence. */
static uint64_t find_sequence(const struct zn_megatron *m, uint64_t t)
{
    uint64_t lo = 0, hi = m->sequences; /* token_before[lo] <= t < token_before[hi] */

    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (m->token_before[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

int zn_window_extents(const struct zn_dataset *ds, uint64_t sample, struct zn_extent *ext,
                      unsigned max)
{
    const struct zn_windows *w = &ds->windows;
    const struct zn_megatron *m = &ds->megatron;
    uint64_t start = w->random ? sample : sample * w->seq_len;
    uint64_t left = (uint64_t)w->seq_len + 1, base = 0;
    unsigned n = 0;
    struct zn_extent last = {0};

    if (ds->format == ZN_FORMAT_TOKENS || m->contiguous) {
        if (ds->format == ZN_FORMAT_MEGATRON)
            base = m->contiguous_base;
        if (max > 0)
            ext[0] = (struct zn_extent){0, base + start * ds->item_bytes, left * ds->item_bytes};
        return 1;
    }
    /* Windows are at most seq_len+1 tokens, so even a walk over one-token sequences is short. */
    for (uint64_t k = find_sequence(m, start); left > 0; k++) {
        uint64_t within = start - m->token_before[k];
        uint64_t in_seq = m->token_before[k + 1] - m->token_before[k] - within;
        uint64_t take = in_seq < left ? in_seq : left;
        uint64_t offset = (uint64_t)seq_pointer(m, k) + within * ds->item_bytes;

        if (take == 0)
            continue;
        if (n > 0 && last.offset + last.length == offset) {
            last.length += take * ds->item_bytes;
        } else {
            if (n > 0 && n <= max)
                ext[n - 1] = last;
            last = (struct zn_extent){0, offset, take * ds->item_bytes};
            n++;
        }
        start += take;
        left -= take;
    }
    if (n <= max)
        ext[n - 1] = last;
    return (int)n;
}

static const char *dtype_name(unsigned code)
{
    static const char *const names[] = {NULL,    "uint8",   "int8",    "int16", "int32",
                                        "int64", "float64", "float32", "uint16"};
    return code < sizeof(names) / sizeof(names[0]) ? names[code] : NULL;
}

/* Splits PATH, PATH.bin or PATH.idx into the two file names. */
static int megatron_paths(const char *path, char **idx, char **bin, struct zn_error *err)
{
    size_t len = strlen(path), prefix = len;

    if (len > 4 && (strcmp(path + len - 4, ".bin") == 0 || strcmp(path + len - 4, ".idx") == 0))
        prefix = len - 4;
    if (asprintf(idx, "%.*s.idx", (int)prefix, path) < 0) {
        *idx = NULL;
        return zn_fail(err, "out of memory opening %s", path);
    }
    if (asprintf(bin, "%.*s.bin", (int)prefix, path) < 0) {
        *bin = NULL;
        return zn_fail(err, "out of memory opening %s", path);
    }
    return 0;
}

/* The header, and the .idx size against its counts: exactly the arrays, or the arrays and the
 * per-sequence modes of multimodal data (which windows ignore). */
static int check_idx_layout(const char *idx_path, const unsigned char *h, uint64_t size,
                            const struct zn_dataset_options *o, struct zn_dataset *ds,
                            uint64_t *docs, struct zn_error *err)
{
    struct zn_megatron *m = &ds->megatron;
    unsigned code;
    uint64_t version, seqs, expected;
    const char *dtype;

    if (size < IDX_HEADER)
        return zn_fail(err,
                       "%s is truncated: it ends at offset %" PRIu64 " inside the %d-byte "
                       "header of a Megatron index",
                       idx_path, size, IDX_HEADER);
    if (memcmp(h, IDX_MAGIC, IDX_MAGIC_LEN) != 0)
        return zn_fail(err,
                       "%s is not a Megatron indexed dataset index: bad magic at offset 0 "
                       "(expected \"MMIDIDX\\0\\0\"; older Megatron \"lazy\"/\"cached\" indexes "
                       "are not supported, rebuild with preprocess_data.py)",
                       idx_path);
    version = zn_le64(h + IDX_VERSION_AT);
    if (version != 1)
        return zn_fail(err,
                       "%s: index version %" PRIu64 " at offset %d is not supported (only 1, "
                       "what Megatron-LM writes)",
                       idx_path, version, IDX_VERSION_AT);
    code = h[IDX_DTYPE_AT];
    dtype = dtype_name(code);
    if (!dtype)
        return zn_fail(err, "%s: unknown dtype code %u at offset %d (Megatron uses 1-8)", idx_path,
                       code, IDX_DTYPE_AT);
    if (code != 8 && code != 4)
        return zn_fail(err,
                       "%s: dtype code %u (%s) at offset %d is not a token type zenith trains on; "
                       "tokens must be uint16 (8) or int32 (4)",
                       idx_path, code, dtype, IDX_DTYPE_AT);
    ds->item_bytes = code == 8 ? 2 : 4;
    if (o->token_bytes && o->token_bytes != ds->item_bytes)
        return zn_fail(err,
                       "%s holds %s tokens (%u bytes) but token_bytes %u was asked for; drop the "
                       "setting or fix it",
                       idx_path, dtype, ds->item_bytes, o->token_bytes);
    seqs = zn_le64(h + IDX_SEQS_AT);
    *docs = zn_le64(h + IDX_DOCS_AT);
    /* 21 bytes per sequence at most, 8 per document: counts beyond these cannot fit a file. */
    if (seqs > (UINT64_MAX / 32) || *docs > (UINT64_MAX / 32))
        return zn_fail(err,
                       "%s: sequence count %" PRIu64 " (offset %d) or document count %" PRIu64
                       " (offset %d) is impossibly large; the index is damaged",
                       idx_path, seqs, IDX_SEQS_AT, *docs, IDX_DOCS_AT);
    m->sequences = seqs;
    m->lengths_at = IDX_HEADER;
    m->pointers_at = IDX_HEADER + 4 * seqs;
    expected = IDX_HEADER + 12 * seqs + 8 * *docs;
    if (size < expected)
        return zn_fail(err,
                       "%s is truncated: it ends at offset %" PRIu64 " but %" PRIu64
                       " sequences and %" PRIu64 " document boundaries need %" PRIu64 " bytes",
                       idx_path, size, seqs, *docs, expected);
    if (size != expected && size != expected + seqs) {
        if (size < expected + seqs)
            return zn_fail(err,
                           "%s is truncated: the sequence modes from offset %" PRIu64
                           " end at offset %" PRIu64 " instead of %" PRIu64,
                           idx_path, expected, size, expected + seqs);
        return zn_fail(err,
                       "%s has %" PRIu64 " unexpected bytes from offset %" PRIu64
                       " (after the document index%s); is the header's sequence or document "
                       "count wrong?",
                       idx_path, size - (expected + seqs), expected + seqs,
                       seqs ? " and the sequence modes" : "");
    }
    return 0;
}

/* Every sequence inside .bin, the document index in order; builds the window lookup. */
static int check_idx_arrays(const char *idx_path, const char *bin_path, uint64_t bin_size,
                            uint64_t docs, struct zn_dataset *ds, uint64_t *ntokens,
                            struct zn_error *err)
{
    struct zn_megatron *m = &ds->megatron;
    uint64_t seqs = m->sequences, tokens = 0, item = ds->item_bytes;
    size_t docs_at = m->pointers_at + 8 * seqs;
    int64_t prev_doc = 0;

    m->contiguous = true;
    m->contiguous_base = seqs ? (uint64_t)seq_pointer(m, 0) : 0;
    for (uint64_t k = 0; k < seqs; k++) {
        int32_t len = seq_length(m, k);
        int64_t ptr = seq_pointer(m, k);

        if (len < 0)
            return zn_fail(err, "%s: sequence %" PRIu64 " has length %" PRId32 " (at offset %zu)",
                           idx_path, k, len, m->lengths_at + 4 * (size_t)k);
        if (ptr < 0 || (uint64_t)ptr > bin_size || (uint64_t)len * item > bin_size - (uint64_t)ptr)
            return zn_fail(err,
                           "%s: sequence %" PRIu64 "'s pointer at offset %zu gives %" PRIu64
                           " bytes from byte %" PRId64 " of %s, which has %" PRIu64 " bytes; "
                           ".idx and .bin do not belong together (one rewritten or truncated?)",
                           idx_path, k, m->pointers_at + 8 * (size_t)k, (uint64_t)len * item, ptr,
                           bin_path, bin_size);
        if ((uint64_t)ptr != m->contiguous_base + tokens * item)
            m->contiguous = false;
        tokens += (uint64_t)len;
    }
    for (uint64_t d = 0; d < docs; d++) {
        int64_t doc = (int64_t)zn_le64(m->idx + docs_at + 8 * d);
        const char *why = NULL;

        if (d == 0 && doc != 0)
            why = "the document index must start at 0";
        else if (doc < prev_doc)
            why = "the document index goes backwards";
        else if ((uint64_t)doc > seqs)
            why = "it is beyond the sequence count";
        else if (d == docs - 1 && (uint64_t)doc != seqs)
            why = "the document index must end at the sequence count";
        if (why)
            return zn_fail(err,
                           "%s: document boundary %" PRIu64 " is %" PRId64 " (at offset %zu) "
                           "with %" PRIu64 " sequences: %s",
                           idx_path, d, doc, docs_at + 8 * (size_t)d, seqs, why);
        prev_doc = doc;
    }
    if (docs == 0)
        return zn_fail(err,
                       "%s: the document index is empty (count 0 at offset %d); Megatron always "
                       "writes at least the boundary 0",
                       idx_path, IDX_DOCS_AT);
    *ntokens = tokens;
    if (m->contiguous)
        return 0;
    m->token_before = malloc((seqs + 1) * sizeof(*m->token_before));
    if (!m->token_before)
        return zn_fail(err, "out of memory indexing the %" PRIu64 " sequences of %s", seqs,
                       idx_path);
    m->token_before[0] = 0;
    for (uint64_t k = 0; k < seqs; k++)
        m->token_before[k + 1] = m->token_before[k] + (uint64_t)seq_length(m, k);
    return 0;
}

/* Extents of a window: at most one per non-empty sequence it touches. A window [t, t+seq_len]
 * touches the sequence holding t and those starting in (t, t+seq_len]: at most 1 + the most
 * sequence starts within any seq_len consecutive tokens (two pointers over the prefix sums). */
static unsigned max_window_extents(const struct zn_megatron *m, uint64_t seq_len)
{
    uint64_t best = 0, inside = 0;

    for (uint64_t lo = 0, hi = 0; hi < m->sequences; hi++) {
        if (m->token_before[hi + 1] == m->token_before[hi])
            continue;
        inside++;
        for (; m->token_before[hi] - m->token_before[lo] >= seq_len; lo++)
            inside -= m->token_before[lo + 1] != m->token_before[lo];
        if (inside > best)
            best = inside;
    }
    best = best + 1 < seq_len + 1 ? best + 1 : seq_len + 1;
    return best > UINT_MAX ? UINT_MAX : (unsigned)best;
}

int zn_megatron_open(struct zn_dataset *ds, const struct zn_dataset_options *o,
                     struct zn_error *err)
{
    struct zn_megatron *m = &ds->megatron;
    char *idx_path = NULL, *bin_path = NULL;
    uint64_t idx_size, bin_size, docs = 0, ntokens = 0;
    void *map;
    int idx_fd = -1, rc = -1;

    if (megatron_paths(o->path, &idx_path, &bin_path, err) < 0)
        goto out;
    idx_fd = zn_dataset_open_meta(idx_path, &idx_size, err);
    if (idx_fd < 0)
        goto out;
    if (zn_dataset_add_file(ds, bin_path, o->direct, &bin_size, err) < 0)
        goto out;
    if (idx_size > SIZE_MAX) {
        zn_fail(err, "%s is too large to map", idx_path);
        goto out;
    }
    map = mmap(NULL, (size_t)idx_size, PROT_READ, MAP_PRIVATE, idx_fd, 0);
    if (map == MAP_FAILED) {
        zn_fail(err, "cannot map %s: %s", idx_path, strerror(errno));
        goto out;
    }
    m->idx = map;
    m->idx_size = (size_t)idx_size;
    if (check_idx_layout(idx_path, m->idx, idx_size, o, ds, &docs, err) < 0 ||
        check_idx_arrays(idx_path, bin_path, bin_size, docs, ds, &ntokens, err) < 0 ||
        set_windows(ds, o, ntokens, idx_path, err) < 0)
        goto out;
    if (!m->contiguous)
        ds->max_extents = max_window_extents(m, o->seq_len);
    rc = 0;
out:
    if (idx_fd >= 0)
        close(idx_fd);
    free(idx_path);
    free(bin_path);
    return rc;
}

void zn_megatron_release(struct zn_dataset *ds)
{
    struct zn_megatron *m = &ds->megatron;

    if (m->idx)
        munmap((void *)m->idx, m->idx_size);
    free(m->token_before);
    memset(m, 0, sizeof(*m));
}
