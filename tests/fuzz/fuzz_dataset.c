/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The dataset files the data service opens (runtime/dataset.c, format-tokens.c: flat tokens
 * and Megatron's .idx/.bin, format-tar.c: WebDataset shards, format-records.c). The input is an
 * 8-byte header, then the file: header byte 0 picks the format (mod 4: tokens, megatron, tar,
 * records), byte 1 the token bytes (mod 3: 0 unset, 2, 4), byte 2 seq_len (1-256), byte 3 bit 0
 * random windows, bytes 4-5 record_bytes (little-endian, 0 made 1), bytes 6-7 (megatron) how
 * many bytes of the rest are the .idx (the remainder is the .bin). Every sample's extents and
 * fields are then asked for (the first 256 and the last).
 * ZN_FUZZ_SOURCES:
 * ZN_FUZZ_MAX_LEN: 16384 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "runtime/dataset.h"
#include "runtime/error.h"
#include "tests/fuzz/fuzz.h"

static char dir[96], prefix[128], tokens[160], idx[160], bin[160], tar[160];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    snprintf(dir, sizeof(dir), "%s/zenith-fuzz-ds-XXXXXX", getenv("TMPDIR") ?: "/tmp");
    if (!mkdtemp(dir))
        abort();
    snprintf(prefix, sizeof(prefix), "%s/mm", dir);
    snprintf(tokens, sizeof(tokens), "%s/train.bin", dir);
    snprintf(idx, sizeof(idx), "%s/mm.idx", dir);
    snprintf(bin, sizeof(bin), "%s/mm.bin", dir);
    snprintf(tar, sizeof(tar), "%s/shard-000.tar", dir);
    return 0;
}

static void put(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len) || close(fd) < 0) {
        perror(path);
        abort();
    }
}

static void walk(const struct zn_dataset *ds)
{
    struct zn_extent ext[64];
    struct zn_field fields[64];
    uint64_t samples = zn_dataset_samples(ds);
    unsigned shards = zn_dataset_shards(ds);

    zn_dataset_epoch_samples(ds);
    zn_dataset_max_sample_bytes(ds);
    zn_dataset_total_bytes(ds);
    zn_dataset_max_extents(ds);
    zn_dataset_item_bytes(ds);
    for (unsigned i = 0; i < zn_dataset_files(ds); i++)
        zn_dataset_file_name(ds, i);
    for (unsigned s = 0; s <= shards; s++)
        zn_dataset_shard_first(ds, s);
    for (uint64_t s = 0; s < samples && s < 256; s++) {
        zn_dataset_extents(ds, s, ext, 64);
        zn_dataset_fields(ds, s, fields, 64);
    }
    if (samples) {
        zn_dataset_extents(ds, samples - 1, ext, 64);
        zn_dataset_fields(ds, samples - 1, fields, 64);
    }
    zn_dataset_extents(ds, samples, ext, 64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned token_bytes[] = {0, 2, 4};
    struct zn_dataset_options o = {0};
    struct zn_dataset *ds;
    struct zn_error err;
    size_t idx_len;

    if (size < 8)
        return 0;
    o.format = (enum zn_format)(data[0] % 4);
    o.token_bytes = token_bytes[data[1] % 3];
    o.seq_len = (uint32_t)data[2] + 1;
    o.random_windows = data[3] & 1;
    o.record_bytes = (uint64_t)data[4] | (uint64_t)data[5] << 8;
    if (!o.record_bytes)
        o.record_bytes = 1;
    idx_len = (size_t)data[6] | (size_t)data[7] << 8;
    data += 8;
    size -= 8;
    switch (o.format) {
    case ZN_FORMAT_TOKENS:
        put(tokens, data, size);
        o.path = tokens;
        break;
    case ZN_FORMAT_MEGATRON:
        if (idx_len > size)
            idx_len = size;
        put(idx, data, idx_len);
        put(bin, data + idx_len, size - idx_len);
        o.path = prefix;
        break;
    case ZN_FORMAT_TAR:
        put(tar, data, size);
        o.path = tar;
        break;
    case ZN_FORMAT_RECORDS:
        put(tokens, data, size);
        o.path = tokens;
        break;
    }
    ds = zn_dataset_open(&o, &err);
    if (ds) {
        walk(ds);
        zn_dataset_close(ds);
    }
    return 0;
}
