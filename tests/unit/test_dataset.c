/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/dataset.h"
#include "tests/unit/testutil.h"

/* Every input is made here, in a fresh temporary directory per test: token files and Megatron
 * indexes written byte by byte from the documented layouts, tar shards by the real GNU tar and
 * Python's tarfile. Every extent is read back and compared with what was written. */

#define ck_error_mentions(err, needle)                                                             \
    ck_assert_msg(strstr((err).text, needle) != NULL, "'%s' does not mention '%s'", (err).text,    \
                  needle)

/* Each test's directory is made under one base that main() removes after all tests: Check
 * runs no teardown after a failed assertion, which would leave the test's files behind. */
static char base[64], dir[128];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "%s/test-XXXXXX", base);
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_base(void)
{
    nftw(base, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* dir/name in one of a few rotating buffers, so a call can use several. */
static const char *in_dir(const char *name)
{
    static char paths[8][1024];
    static unsigned next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
    return p;
}

static const char *fmt(const char *format, ...) __attribute__((format(printf, 1, 2)));
static const char *fmt(const char *format, ...)
{
    static char texts[8][1024];
    static unsigned next;
    char *t = texts[next++ % 8];
    va_list ap;
    va_start(ap, format);
    vsnprintf(t, sizeof(texts[0]), format, ap);
    va_end(ap);
    return t;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "creating %s", path);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data;
    long n;

    ck_assert_msg(f != NULL, "reading %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    data = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return data;
}

static void run(const char *command)
{
    int rc = system(command);
    ck_assert_msg(rc == 0, "'%s' failed (%d)", command, rc);
}

/* The bytes of all extents of a sample, concatenated (malloc'd). */
static unsigned char *sample_bytes(const struct zn_dataset *ds, uint64_t sample, size_t *len)
{
    struct zn_extent ext[4096];
    int n = zn_dataset_extents(ds, sample, ext, 4096);
    unsigned char *data = NULL;
    size_t used = 0;

    ck_assert_int_gt(n, 0);
    ck_assert_int_le(n, 4096);
    ck_assert_uint_le((unsigned)n, zn_dataset_max_extents(ds));
    for (int i = 0; i < n; i++) {
        data = realloc(data, used + ext[i].length + 1);
        ck_assert_int_eq(
            pread(zn_dataset_fd(ds, ext[i].file), data + used, ext[i].length, (off_t)ext[i].offset),
            (ssize_t)ext[i].length);
        used += ext[i].length;
    }
    *len = used;
    return data;
}

static struct zn_dataset *open_ok(struct zn_dataset_options o)
{
    struct zn_error err = {{0}};
    struct zn_dataset *ds = zn_dataset_open(&o, &err);
    ck_assert_msg(ds != NULL, "opening %s: %s", o.path, err.text);
    return ds;
}

/* Opening fails, with a message naming what to fix. */
static struct zn_error open_fails(struct zn_dataset_options o)
{
    struct zn_error err = {{0}};
    struct zn_dataset *ds = zn_dataset_open(&o, &err);
    ck_assert_msg(ds == NULL, "%s opened but should not", o.path);
    ck_assert_msg(strncmp(err.text, "zenith: ", 8) == 0, "'%s'", err.text);
    return err;
}

/* ------------------------------------------------------------------ tokens */

static void write_tokens(const char *path, unsigned token_bytes, size_t n, uint32_t *values)
{
    unsigned char *data = malloc(n * token_bytes);
    for (size_t i = 0; i < n; i++) {
        values[i] = (uint32_t)(i * 2654435761u) & (token_bytes == 2 ? 0xffffu : 0xffffffffu);
        for (unsigned b = 0; b < token_bytes; b++)
            data[i * token_bytes + b] = (unsigned char)(values[i] >> (8 * b));
    }
    write_file(path, data, n * token_bytes);
    free(data);
}

static uint32_t token_at(const unsigned char *p, unsigned token_bytes)
{
    uint32_t v = 0;
    for (unsigned b = 0; b < token_bytes; b++)
        v |= (uint32_t)p[b] << (8 * b);
    return v;
}

/* Every window's tokens against the file's. */
static void check_windows(const struct zn_dataset *ds, const uint32_t *values, uint32_t seq_len,
                          bool random)
{
    unsigned tb = zn_dataset_item_bytes(ds);
    for (uint64_t s = 0; s < zn_dataset_samples(ds); s++) {
        size_t len;
        unsigned char *data = sample_bytes(ds, s, &len);
        uint64_t start = random ? s : s * seq_len;
        ck_assert_uint_eq(len, (seq_len + 1) * tb);
        for (uint32_t i = 0; i <= seq_len; i++)
            ck_assert_msg(token_at(data + i * tb, tb) == values[start + i],
                          "sample %" PRIu64 " token %u", s, i);
        free(data);
    }
}

START_TEST(tokens_u16_packed_and_random)
{
    uint32_t values[1000];
    struct zn_extent ext[2];
    struct zn_dataset *ds;
    const char *path = in_dir("train.bin");

    write_tokens(path, 2, 1000, values);
    ds = open_ok((struct zn_dataset_options){
        .format = ZN_FORMAT_TOKENS, .path = path, .token_bytes = 2, .seq_len = 64});
    ck_assert_int_eq(zn_dataset_format(ds), ZN_FORMAT_TOKENS);
    ck_assert_str_eq(zn_format_name(zn_dataset_format(ds)), "tokens");
    ck_assert_uint_eq(zn_dataset_samples(ds), 999 / 64);
    ck_assert_uint_eq(zn_dataset_epoch_samples(ds), 15);
    ck_assert_uint_eq(zn_dataset_max_sample_bytes(ds), 65 * 2);
    ck_assert_uint_eq(zn_dataset_total_bytes(ds), 2000);
    ck_assert_uint_eq(zn_dataset_item_bytes(ds), 2);
    ck_assert_uint_eq(zn_dataset_files(ds), 1);
    ck_assert_str_eq(zn_dataset_file_name(ds, 0), path);
    ck_assert_uint_eq(zn_dataset_shards(ds), 1);
    ck_assert_uint_eq(zn_dataset_shard_first(ds, 0), 0);
    ck_assert_uint_eq(zn_dataset_shard_first(ds, 1), 15);
    ck_assert_int_eq(zn_dataset_fields(ds, 0, NULL, 0), -1);
    ck_assert_int_eq(zn_dataset_extents(ds, 14, ext, 2), 1);
    ck_assert_uint_eq(ext[0].offset, 14 * 64 * 2);
    ck_assert_uint_eq(ext[0].length, 130);
    ck_assert_int_eq(zn_dataset_extents(ds, 15, ext, 2), -1);
    check_windows(ds, values, 64, false);
    zn_dataset_close(ds);

    ds = open_ok((struct zn_dataset_options){.format = ZN_FORMAT_TOKENS,
                                             .path = path,
                                             .token_bytes = 2,
                                             .seq_len = 64,
                                             .random_windows = true});
    ck_assert_uint_eq(zn_dataset_samples(ds), 1000 - 64);
    ck_assert_uint_eq(zn_dataset_epoch_samples(ds), 15);
    ck_assert_int_eq(zn_dataset_extents(ds, 935, ext, 2), 1);
    ck_assert_uint_eq(ext[0].offset + ext[0].length, 2000);
    ck_assert_int_eq(zn_dataset_extents(ds, 936, ext, 2), -1);
    check_windows(ds, values, 64, true);
    zn_dataset_close(ds);
}
END_TEST

START_TEST(tokens_u32_and_edges)
{
    uint32_t values[333];
    struct zn_dataset *ds;
    struct zn_error err;
    const char *path = in_dir("u32.bin");

    write_tokens(path, 4, 333, values);
    ds = open_ok((struct zn_dataset_options){
        .format = ZN_FORMAT_TOKENS, .path = path, .token_bytes = 4, .seq_len = 10});
    ck_assert_uint_eq(zn_dataset_samples(ds), 332 / 10);
    ck_assert_uint_eq(zn_dataset_item_bytes(ds), 4);
    check_windows(ds, values, 10, false);
    zn_dataset_close(ds);

    /* Exactly one window, then one token short of it. */
    ds = open_ok((struct zn_dataset_options){
        .format = ZN_FORMAT_TOKENS, .path = path, .token_bytes = 4, .seq_len = 332});
    ck_assert_uint_eq(zn_dataset_samples(ds), 1);
    zn_dataset_close(ds);
    err = open_fails((struct zn_dataset_options){
        .format = ZN_FORMAT_TOKENS, .path = path, .token_bytes = 4, .seq_len = 333});
    ck_error_mentions(err, path);
    ck_error_mentions(err, "333 tokens, fewer than one sample");

    err = open_fails((struct zn_dataset_options){
        .format = ZN_FORMAT_TOKENS, .path = path, .token_bytes = 3, .seq_len = 8});
    ck_error_mentions(err, "token size 3");
    err = open_fails(
        (struct zn_dataset_options){.format = ZN_FORMAT_TOKENS, .path = path, .token_bytes = 2});
    ck_error_mentions(err, "sequence length is 0");
}
END_TEST

START_TEST(tokens_partial_token)
{
    unsigned char data[4003] = {0};
    struct zn_error err;
    const char *path = in_dir("odd.bin");

    write_file(path, data, 2001);
    err = open_fails((struct zn_dataset_options){
        .format = ZN_FORMAT_TOKENS, .path = path, .token_bytes = 2, .seq_len = 8});
    ck_error_mentions(err, path);
    ck_error_mentions(err, "partial token at offset 2000");
    write_file(path, data, 4003);
    err = open_fails((struct zn_dataset_options){
        .format = ZN_FORMAT_TOKENS, .path = path, .token_bytes = 4, .seq_len = 8});
    ck_error_mentions(err, "partial token at offset 4000");
}
END_TEST

/* ------------------------------------------------------------------ files */

START_TEST(missing_directory_empty)
{
    static const enum zn_format formats[] = {ZN_FORMAT_TOKENS, ZN_FORMAT_MEGATRON, ZN_FORMAT_TAR,
                                             ZN_FORMAT_RECORDS};
    char empty[1024];

    strcpy(empty, in_dir("empty.bin"));
    write_file(empty, "", 0);
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        struct zn_dataset_options o = {
            .format = formats[i], .token_bytes = 2, .seq_len = 4, .record_bytes = 8};
        struct zn_error err;

        o.path = in_dir("nothing-here.bin");
        err = open_fails(o);
        ck_error_mentions(err, "nothing-here.");
        ck_error_mentions(err, "No such file or directory");

        o.path = formats[i] == ZN_FORMAT_MEGATRON ? in_dir("empty") : empty;
        if (formats[i] == ZN_FORMAT_MEGATRON) {
            write_file(in_dir("empty.idx"), "", 0);
            write_file(in_dir("empty.bin"), "x", 1);
        }
        err = open_fails(o);
        ck_error_mentions(err, "is empty");
        if (formats[i] == ZN_FORMAT_MEGATRON)
            write_file(in_dir("empty.bin"), "", 0);

        if (formats[i] != ZN_FORMAT_MEGATRON) {
            o.path = dir;
            err = open_fails(o);
            ck_error_mentions(err, dir);
            ck_error_mentions(err, "is a directory");
        }
    }
    ck_error_mentions(open_fails((struct zn_dataset_options){.format = ZN_FORMAT_TOKENS}),
                      "no dataset path");
}
END_TEST

START_TEST(direct_descriptors)
{
    uint32_t values[100];
    struct zn_dataset_options o = {.format = ZN_FORMAT_TOKENS,
                                   .path = in_dir("direct.bin"),
                                   .token_bytes = 2,
                                   .seq_len = 8,
                                   .direct = true};
    struct zn_error err = {{0}};
    struct zn_dataset *ds;

    write_tokens(o.path, 2, 100, values);
    ds = zn_dataset_open(&o, &err);
    if (!ds) {
        /* A filesystem without O_DIRECT must say so, naming the file. */
        ck_error_mentions(err, "O_DIRECT");
        ck_error_mentions(err, o.path);
        return;
    }
    ck_assert_int_ne(fcntl(zn_dataset_fd(ds, 0), F_GETFL) & O_DIRECT, 0);
    zn_dataset_close(ds);
    o.direct = false;
    ds = open_ok(o);
    ck_assert_int_eq(fcntl(zn_dataset_fd(ds, 0), F_GETFL) & O_DIRECT, 0);
    ck_assert_int_eq(zn_dataset_fd(ds, 1), -1);
    ck_assert_ptr_null(zn_dataset_file_name(ds, 1));
    zn_dataset_close(ds);
}
END_TEST

/* ------------------------------------------------------------------ records */

START_TEST(records_whole_and_partial)
{
    unsigned char data[245];
    struct zn_dataset *ds;
    struct zn_error err;
    const char *path = in_dir("records.dat");

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 7 + 3);
    write_file(path, data, 240);
    ds = open_ok(
        (struct zn_dataset_options){.format = ZN_FORMAT_RECORDS, .path = path, .record_bytes = 24});
    ck_assert_uint_eq(zn_dataset_samples(ds), 10);
    ck_assert_uint_eq(zn_dataset_epoch_samples(ds), 10);
    ck_assert_uint_eq(zn_dataset_max_sample_bytes(ds), 24);
    ck_assert_uint_eq(zn_dataset_total_bytes(ds), 240);
    ck_assert_uint_eq(zn_dataset_item_bytes(ds), 1);
    for (uint64_t s = 0; s < 10; s++) {
        size_t len;
        unsigned char *got = sample_bytes(ds, s, &len);
        ck_assert_uint_eq(len, 24);
        ck_assert_mem_eq(got, data + s * 24, 24);
        free(got);
    }
    ck_assert_int_eq(zn_dataset_extents(ds, 10, NULL, 0), -1);
    ck_assert_int_eq(zn_dataset_extents(ds, 9, NULL, 0), 1);
    zn_dataset_close(ds);

    write_file(path, data, 245);
    err = open_fails(
        (struct zn_dataset_options){.format = ZN_FORMAT_RECORDS, .path = path, .record_bytes = 24});
    ck_error_mentions(err, path);
    ck_error_mentions(err, "partial record of 5 bytes at offset 240");
    err = open_fails((struct zn_dataset_options){.format = ZN_FORMAT_RECORDS, .path = path});
    ck_error_mentions(err, "record size is 0");
}
END_TEST

/* ------------------------------------------------------------------ megatron */

struct bytes {
    unsigned char *p;
    size_t n;
};

static void put(struct bytes *b, uint64_t v, unsigned len)
{
    b->p = realloc(b->p, b->n + len);
    for (unsigned i = 0; i < len; i++)
        b->p[b->n++] = (unsigned char)(v >> (8 * i));
}

static void poke(struct bytes *b, size_t at, uint64_t v, unsigned len)
{
    for (unsigned i = 0; i < len; i++)
        b->p[at + i] = (unsigned char)(v >> (8 * i));
}

/* Nine sequences (one empty, three of one token), four documents. */
static const int32_t seq_lengths[] = {5, 0, 17, 3, 40, 1, 1, 1, 30};
#define NSEQ  9
#define NTOK  98
#define NDOCS 4
static const int64_t doc_index[NDOCS] = {0, 2, 5, 9};
#define LENGTHS_AT  34
#define POINTERS_AT (34 + 4 * NSEQ)
#define DOCS_AT     (POINTERS_AT + 8 * NSEQ)
#define IDX_BYTES   (DOCS_AT + 8 * NDOCS)

static struct bytes make_idx(unsigned code, const int64_t *pointers, bool modes)
{
    struct bytes b = {0};

    b.p = malloc(9);
    memcpy(b.p, "MMIDIDX\0\0", 9);
    b.n = 9;
    put(&b, 1, 8);
    put(&b, code, 1);
    put(&b, NSEQ, 8);
    put(&b, NDOCS, 8);
    for (int i = 0; i < NSEQ; i++)
        put(&b, (uint32_t)seq_lengths[i], 4);
    for (int i = 0; i < NSEQ; i++)
        put(&b, (uint64_t)pointers[i], 8);
    for (int i = 0; i < NDOCS; i++)
        put(&b, (uint64_t)doc_index[i], 8);
    for (int i = 0; modes && i < NSEQ; i++)
        put(&b, 0, 1);
    return b;
}

/* The stream's token t is 1000+t. order: the sequences in .bin order, with a gap of 6 bytes
 * before each that gap[] marks; NULL lays them out contiguously. Returns the .bin size. */
static size_t write_megatron(const char *prefix, unsigned code, const int *order, const bool *gap,
                             bool modes)
{
    unsigned item = code == 8 ? 2 : 4;
    int64_t pointers[NSEQ], first_token[NSEQ];
    unsigned char bin[4096];
    size_t used = 0;
    int64_t t = 0;
    struct bytes idx;

    for (int k = 0; k < NSEQ; k++) {
        first_token[k] = t;
        t += seq_lengths[k];
    }
    for (int i = 0; i < NSEQ; i++) {
        int k = order ? order[i] : i;
        if (gap && gap[i]) {
            memset(bin + used, 0xee, 6);
            used += 6;
        }
        pointers[k] = (int64_t)used;
        for (int j = 0; j < seq_lengths[k]; j++) {
            uint32_t token = (uint32_t)(1000 + first_token[k] + j);
            for (unsigned b = 0; b < item; b++)
                bin[used++] = (unsigned char)(token >> (8 * b));
        }
    }
    idx = make_idx(code, pointers, modes);
    write_file(fmt("%s.idx", prefix), idx.p, idx.n);
    write_file(fmt("%s.bin", prefix), bin, used);
    free(idx.p);
    return used;
}

static void check_megatron_windows(const struct zn_dataset *ds, uint32_t seq_len, bool random)
{
    unsigned tb = zn_dataset_item_bytes(ds);
    for (uint64_t s = 0; s < zn_dataset_samples(ds); s++) {
        size_t len;
        unsigned char *data = sample_bytes(ds, s, &len);
        uint64_t start = random ? s : s * seq_len;
        ck_assert_uint_eq(len, (seq_len + 1) * tb);
        for (uint32_t i = 0; i <= seq_len; i++)
            ck_assert_msg(token_at(data + i * tb, tb) == 1000 + start + i,
                          "sample %" PRIu64 " token %u is %u", s, i, token_at(data + i * tb, tb));
        free(data);
    }
}

START_TEST(megatron_contiguous)
{
    const char *prefix = in_dir("corpus_text_document");
    const char *spellings[] = {prefix, fmt("%s.bin", prefix), fmt("%s.idx", prefix)};
    struct zn_extent ext[4];
    struct zn_dataset *ds;

    write_megatron(prefix, 8, NULL, NULL, false);
    for (int i = 0; i < 3; i++) {
        ds = open_ok((struct zn_dataset_options){
            .format = ZN_FORMAT_MEGATRON, .path = spellings[i], .seq_len = 8});
        ck_assert_str_eq(zn_dataset_file_name(ds, 0), fmt("%s.bin", prefix));
        ck_assert_uint_eq(zn_dataset_files(ds), 1);
        zn_dataset_close(ds);
    }
    ds = open_ok((struct zn_dataset_options){
        .format = ZN_FORMAT_MEGATRON, .path = prefix, .seq_len = 8, .token_bytes = 2});
    ck_assert_uint_eq(zn_dataset_item_bytes(ds), 2);
    ck_assert_uint_eq(zn_dataset_samples(ds), (NTOK - 1) / 8);
    ck_assert_uint_eq(zn_dataset_max_sample_bytes(ds), 18);
    ck_assert_uint_eq(zn_dataset_total_bytes(ds), NTOK * 2);
    ck_assert_uint_eq(zn_dataset_max_extents(ds), 1);
    /* Window 0 spans sequences 0 and 2 (1 is empty): adjacent in .bin, one extent. */
    ck_assert_int_eq(zn_dataset_extents(ds, 0, ext, 4), 1);
    ck_assert_uint_eq(ext[0].offset, 0);
    ck_assert_uint_eq(ext[0].length, 18);
    check_megatron_windows(ds, 8, false);
    zn_dataset_close(ds);

    ds = open_ok((struct zn_dataset_options){
        .format = ZN_FORMAT_MEGATRON, .path = prefix, .seq_len = 8, .random_windows = true});
    ck_assert_uint_eq(zn_dataset_samples(ds), NTOK - 8);
    ck_assert_uint_eq(zn_dataset_epoch_samples(ds), (NTOK - 1) / 8);
    check_megatron_windows(ds, 8, true);
    zn_dataset_close(ds);

    /* int32 tokens, and the multimodal modes after the document index. */
    write_megatron(prefix, 4, NULL, NULL, true);
    ds = open_ok((struct zn_dataset_options){
        .format = ZN_FORMAT_MEGATRON, .path = prefix, .seq_len = 12, .random_windows = true});
    ck_assert_uint_eq(zn_dataset_item_bytes(ds), 4);
    check_megatron_windows(ds, 12, true);
    zn_dataset_close(ds);
    ck_error_mentions(
        open_fails((struct zn_dataset_options){
            .format = ZN_FORMAT_MEGATRON, .path = prefix, .seq_len = 8, .token_bytes = 2}),
        "int32 tokens (4 bytes) but token_bytes 2");
}
END_TEST

START_TEST(megatron_scattered_sequences)
{
    /* .bin order 8 | 0 1 2 | 5 6 7 | 4 | 3, a gap before each group: windows over 0-2 and 5-7
     * are one extent, windows across groups several. */
    static const int order[NSEQ] = {8, 0, 1, 2, 5, 6, 7, 4, 3};
    static const bool gap[NSEQ] = {false, true, false, false, true, false, false, true, true};
    const char *prefix = in_dir("scattered");
    struct zn_extent ext[8];
    struct zn_dataset *ds;
    size_t bin_size = write_megatron(prefix, 8, order, gap, false);
    bool saw_several = false;

    ds = open_ok((struct zn_dataset_options){
        .format = ZN_FORMAT_MEGATRON, .path = prefix, .seq_len = 8, .random_windows = true});
    check_megatron_windows(ds, 8, true);
    for (uint64_t s = 0; s < zn_dataset_samples(ds); s++) {
        int n = zn_dataset_extents(ds, s, ext, 8);
        ck_assert_int_ge(n, 1);
        for (int i = 0; i < n; i++)
            ck_assert_uint_le(ext[i].offset + ext[i].length, bin_size);
        saw_several |= n > 1;
    }
    ck_assert(saw_several);
    /* Tokens 0-8: sequence 0 (5) and 4 of sequence 2, adjacent in .bin: one extent. */
    ck_assert_int_eq(zn_dataset_extents(ds, 0, ext, 8), 1);
    /* Tokens 20-28: the end of sequence 2, sequence 3 (3) and the start of 4: three places. */
    ck_assert_int_eq(zn_dataset_extents(ds, 20, ext, 8), 3);
    ck_assert_uint_eq(ext[0].length, 2 * 2);
    ck_assert_uint_eq(ext[1].length, 3 * 2);
    ck_assert_uint_eq(ext[2].length, 4 * 2);
    /* Tokens 62-70: the end of 4, then 5 6 7 (adjacent), then 8: three extents. */
    ck_assert_int_eq(zn_dataset_extents(ds, 62, ext, 8), 3);
    ck_assert_uint_eq(ext[1].length, 3 * 2);
    /* Only max are written; the count says how many there are. */
    memset(ext, 0xab, sizeof(ext));
    ck_assert_int_eq(zn_dataset_extents(ds, 62, ext, 1), 3);
    ck_assert_uint_eq(ext[1].file, 0xabababab);
    ck_assert_int_eq(zn_dataset_extents(ds, 62, NULL, 0), 3);
    ck_assert_uint_ge(zn_dataset_max_extents(ds), 3);
    ck_assert_uint_le(zn_dataset_max_extents(ds), 9);
    zn_dataset_close(ds);

    ds = open_ok(
        (struct zn_dataset_options){.format = ZN_FORMAT_MEGATRON, .path = prefix, .seq_len = 8});
    check_megatron_windows(ds, 8, false);
    zn_dataset_close(ds);
}
END_TEST

/* Writes a damaged copy of a valid index next to a valid .bin and checks the message. */
static void check_bad_idx(const struct bytes *idx, const char *needle, const char *needle2)
{
    const char *prefix = in_dir("bad");
    struct zn_error err;

    write_file(fmt("%s.idx", prefix), idx->p, idx->n);
    err = open_fails(
        (struct zn_dataset_options){.format = ZN_FORMAT_MEGATRON, .path = prefix, .seq_len = 4});
    ck_error_mentions(err, fmt("%s.idx", prefix));
    ck_error_mentions(err, needle);
    if (needle2)
        ck_error_mentions(err, needle2);
}

START_TEST(megatron_damaged)
{
    const char *prefix = in_dir("bad");
    int64_t pointers[NSEQ];
    size_t bin_size = write_megatron(prefix, 8, NULL, NULL, false);
    struct bytes good, b;
    struct zn_error err;

    for (int k = 0, at = 0; k < NSEQ; k++) {
        pointers[k] = at;
        at += 2 * seq_lengths[k];
    }
    good = make_idx(8, pointers, false);
    ck_assert_uint_eq(good.n, IDX_BYTES);
    b = (struct bytes){malloc(good.n + 64), good.n};
#define RESET() (memcpy(b.p, good.p, good.n), b.n = good.n)

    RESET();
    b.p[3] = 'X';
    check_bad_idx(&b, "bad magic at offset 0", NULL);
    RESET();
    poke(&b, 9, 2, 8);
    check_bad_idx(&b, "version 2 at offset 9", NULL);
    RESET();
    b.p[17] = 9;
    check_bad_idx(&b, "unknown dtype code 9 at offset 17", NULL);
    RESET();
    b.p[17] = 3;
    check_bad_idx(&b, "dtype code 3 (int16) at offset 17", NULL);
    RESET();
    b.p[17] = 7;
    check_bad_idx(&b, "(float32)", NULL);

    RESET();
    b.n = 20;
    check_bad_idx(&b, "truncated", "offset 20");
    RESET();
    b.n = IDX_BYTES - 5;
    check_bad_idx(&b, "truncated", fmt("offset %d", IDX_BYTES - 5));
    RESET();
    memset(b.p + b.n, 0, 3);
    b.n += 3; /* fewer than the 9 modes */
    check_bad_idx(&b, "truncated", fmt("offset %d", IDX_BYTES));
    RESET();
    memset(b.p + b.n, 0, NSEQ + 2);
    b.n += NSEQ + 2;
    check_bad_idx(&b, fmt("2 unexpected bytes from offset %d", IDX_BYTES + NSEQ), NULL);

    RESET();
    poke(&b, LENGTHS_AT + 4 * 2, (uint32_t)-1, 4);
    check_bad_idx(&b, "sequence 2 has length -1", fmt("offset %d", LENGTHS_AT + 8));
    RESET();
    poke(&b, POINTERS_AT + 8 * 4, bin_size - 2, 8); /* sequence 4 has 40 tokens */
    check_bad_idx(&b, "sequence 4's pointer", fmt("offset %d", POINTERS_AT + 32));
    ck_error_mentions(open_fails((struct zn_dataset_options){
                          .format = ZN_FORMAT_MEGATRON, .path = prefix, .seq_len = 4}),
                      fmt("%s.bin, which has %zu bytes", prefix, bin_size));
    RESET();
    poke(&b, POINTERS_AT, (uint64_t)-8, 8);
    check_bad_idx(&b, "sequence 0's pointer", fmt("offset %d", POINTERS_AT));

    RESET();
    poke(&b, DOCS_AT + 16, 1, 8); /* 0 2 1 9 */
    check_bad_idx(&b, "goes backwards", fmt("offset %d", DOCS_AT + 16));
    RESET();
    poke(&b, DOCS_AT, 1, 8);
    check_bad_idx(&b, "must start at 0", fmt("offset %d", DOCS_AT));
    RESET();
    poke(&b, DOCS_AT + 24, 8, 8);
    check_bad_idx(&b, "must end at the sequence count", fmt("offset %d", DOCS_AT + 24));
    RESET();
    poke(&b, DOCS_AT + 16, 10, 8);
    check_bad_idx(&b, "beyond the sequence count", fmt("offset %d", DOCS_AT + 16));
    RESET();
    poke(&b, 26, 0, 8);
    b.n -= 8 * NDOCS;
    check_bad_idx(&b, "document index is empty", NULL);
    RESET();
    poke(&b, 18, UINT64_MAX / 2, 8);
    check_bad_idx(&b, "impossibly large", NULL);

    /* Too few tokens for one window. */
    write_file(fmt("%s.idx", prefix), good.p, good.n);
    err = open_fails(
        (struct zn_dataset_options){.format = ZN_FORMAT_MEGATRON, .path = prefix, .seq_len = 98});
    ck_error_mentions(err, "98 tokens, fewer than one sample");

    /* A .idx without its .bin, and the reverse. */
    unlink(fmt("%s.bin", prefix));
    err = open_fails(
        (struct zn_dataset_options){.format = ZN_FORMAT_MEGATRON, .path = prefix, .seq_len = 4});
    ck_error_mentions(err, fmt("%s.bin: No such file or directory", prefix));
    write_file(fmt("%s.bin", prefix), "xx", 2);
    unlink(fmt("%s.idx", prefix));
    err = open_fails(
        (struct zn_dataset_options){.format = ZN_FORMAT_MEGATRON, .path = prefix, .seq_len = 4});
    ck_error_mentions(err, fmt("%s.idx: No such file or directory", prefix));
#undef RESET
    free(good.p);
    free(b.p);
}
END_TEST

/* ------------------------------------------------------------------ tar */

/* The members: name, size, field name. 5-6 share a key under a 125-character directory (ustar
 * splits it into prefix/name, GNU writes 'L', pax 'x'); 7's path is over 256 characters, which
 * only GNU and pax can store. */
#define NMEMBERS 9
static char member_names[NMEMBERS][512];
static const size_t member_sizes[NMEMBERS] = {1000, 1, 512, 0, 2, 70000, 1536, 3, 5000};
static const char *const member_fields[NMEMBERS] = {"jpg", "cls", "seg.png", "jpg", "cls",
                                                    "jpg", "txt", "jpg",     "json"};
static char long_dir[128];

static unsigned char member_byte(int member, size_t i)
{
    return (unsigned char)(member * 37 + i * 13 + (i >> 8));
}

static void make_members(void)
{
    char vlong[256];

    memset(long_dir, 'd', 125);
    memcpy(long_dir, "long_directory_", 15);
    long_dir[125] = '\0';
    memset(vlong, 'v', 200);
    vlong[200] = '\0';
    static const char *const short_names[] = {"s000.jpg", "s000.cls", "s000.seg.png", "s001.jpg",
                                              "s001.cls"};
    for (int i = 0; i < 5; i++)
        strcpy(member_names[i], short_names[i]);
    snprintf(member_names[5], 512, "%s/sample_with_a_long_key_0002.jpg", long_dir);
    snprintf(member_names[6], 512, "%s/sample_with_a_long_key_0002.txt", long_dir);
    snprintf(member_names[7], 512, "%s/%s.jpg", long_dir, vlong);
    strcpy(member_names[8], "s003.json");

    ck_assert_int_eq(mkdir(in_dir("src"), 0755), 0);
    ck_assert_int_eq(mkdir(in_dir(fmt("src/%s", long_dir)), 0755), 0);
    for (int m = 0; m < NMEMBERS; m++) {
        unsigned char *data = malloc(member_sizes[m] + 1);
        for (size_t i = 0; i < member_sizes[m]; i++)
            data[i] = member_byte(m, i);
        write_file(in_dir(fmt("src/%s", member_names[m])), data, member_sizes[m]);
        free(data);
    }
    ck_assert_int_eq(symlink("s000.jpg", in_dir("src/s000.lnk")), 0);
}

/* "tar ARGS -cf OUT members...", run in src/. */
static void gnu_tar(const char *args, const char *out, const int *members, int n, const char *extra)
{
    char command[8192];
    int used = snprintf(command, sizeof(command), "cd '%s' && tar %s -cf '%s' %s", in_dir("src"),
                        args, out, extra ? extra : "");
    for (int i = 0; i < n; i++)
        used += snprintf(command + used, sizeof(command) - (size_t)used, " '%s'",
                         member_names[members[i]]);
    run(command);
}

static void python_tar(const char *format, const char *out, const int *members, int n)
{
    char command[8192];
    int used = snprintf(
        command, sizeof(command),
        "cd '%s' && /usr/bin/python3 -c 'import sys, tarfile\n"
        "t = tarfile.open(sys.argv[1], \"w\", format=tarfile.%s, pax_headers={\"comment\": "
        "\"zenith\"})\n"
        "for n in sys.argv[2:]: t.add(n, recursive=False)\n"
        "t.close()' '%s'",
        in_dir("src"), format, out);
    for (int i = 0; i < n; i++)
        used += snprintf(command + used, sizeof(command) - (size_t)used, " '%s'",
                         member_names[members[i]]);
    run(command);
}

/* Each shard's samples as member lists, -1 ending a sample, -2 the shard. */
static const int shard_samples[][16] = {
    {0, 1, 2, -1, 3, 4, -1, 5, 6, -1, 7, -1, 8, -1, -2},
    {0, 1, 2, -1, 5, 6, -1, 7, -1, -2},
    {0, 1, -1, 5, -1, 8, -1, -2},
    {8, -1, 3, 4, -1, 7, -1, -2},
    {6, 5, -1, -2},
    {-2},
};
#define NSHARDS 6

static void make_shards(void)
{
    static const int all[] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    static const int pax_members[] = {0, 1, 2, 5, 6, 7};
    static const int ustar_members[] = {0, 1, 5, 8};
    static const int py_pax[] = {8, 3, 4, 7};
    static const int py_gnu[] = {6, 5};
    char extra[512];

    make_members();
    gnu_tar("--format=gnu", in_dir("shard-0.tar"), all, 9, NULL);
    /* A directory entry, then s000.jpg and a symlink (through extra) before the other members
     * of s000: neither the directory nor the link is a field. */
    snprintf(extra, sizeof(extra), "--no-recursion '%s' s000.jpg s000.lnk", long_dir);
    gnu_tar("--format=pax", in_dir("shard-1.tar"), pax_members + 1, 5, extra);
    gnu_tar("--format=ustar", in_dir("shard-2.tar"), ustar_members, 4, NULL);
    python_tar("PAX_FORMAT", in_dir("shard-3.tar"), py_pax, 4);
    python_tar("GNU_FORMAT", in_dir("shard-4.tar"), py_gnu, 2);
    snprintf(extra, sizeof(extra), "--no-recursion '%s'", long_dir);
    gnu_tar("--format=gnu", in_dir("shard-5.tar"), NULL, 0, extra);
}

static void check_shards(const struct zn_dataset *ds, unsigned first_shard, unsigned nshards)
{
    uint64_t sample = 0, max_bytes = 0, total = 0;
    unsigned max_fields = 0;

    ck_assert_uint_eq(zn_dataset_shards(ds), nshards);
    ck_assert_uint_eq(zn_dataset_files(ds), nshards);
    for (unsigned s = 0; s < nshards; s++) {
        const int *list = shard_samples[first_shard + s];
        /* Read back through a descriptor of our own: the dataset's may be O_DIRECT. */
        int fd = open(zn_dataset_file_name(ds, s), O_RDONLY);
        ck_assert_int_ge(fd, 0);
        ck_assert_str_eq(zn_dataset_file_name(ds, s), in_dir(fmt("shard-%u.tar", first_shard + s)));
        ck_assert_uint_eq(zn_dataset_shard_first(ds, s), sample);
        for (int i = 0; list[i] != -2; sample++) {
            struct zn_field fields[8];
            struct zn_extent ext[8];
            int n = zn_dataset_fields(ds, sample, fields, 8);
            uint64_t bytes = 0;
            int f = 0;

            ck_assert_int_eq(zn_dataset_extents(ds, sample, ext, 8), n);
            for (; list[i] >= 0; i++, f++) {
                int m = list[i];
                ck_assert_int_lt(f, n);
                ck_assert_str_eq(fields[f].name, member_fields[m]);
                ck_assert_uint_eq(fields[f].extent.file, s);
                ck_assert_uint_eq(ext[f].file, s);
                ck_assert_uint_eq(ext[f].offset, fields[f].extent.offset);
                ck_assert_uint_eq(fields[f].extent.length, member_sizes[m]);
                unsigned char *got = malloc(member_sizes[m] + 1);
                ck_assert_int_eq(pread(fd, got, member_sizes[m], (off_t)fields[f].extent.offset),
                                 (ssize_t)member_sizes[m]);
                for (size_t b = 0; b < member_sizes[m]; b++)
                    ck_assert_msg(got[b] == member_byte(m, b), "shard %u member %d byte %zu", s, m,
                                  b);
                free(got);
                bytes += member_sizes[m];
            }
            ck_assert_int_eq(f, n);
            i++;
            if (bytes > max_bytes)
                max_bytes = bytes;
            if ((unsigned)n > max_fields)
                max_fields = (unsigned)n;
            total += bytes;
        }
        close(fd);
    }
    ck_assert_uint_eq(zn_dataset_samples(ds), sample);
    ck_assert_uint_eq(zn_dataset_epoch_samples(ds), sample);
    ck_assert_uint_eq(zn_dataset_shard_first(ds, nshards), sample);
    ck_assert_uint_eq(zn_dataset_max_sample_bytes(ds), max_bytes);
    ck_assert_uint_eq(zn_dataset_total_bytes(ds), total);
    ck_assert_uint_eq(zn_dataset_max_extents(ds), max_fields);
    ck_assert_int_eq(zn_dataset_fields(ds, sample, NULL, 0), -1);
    ck_assert_int_eq(zn_dataset_extents(ds, sample, NULL, 0), -1);
}

START_TEST(tar_gnu_pax_ustar_python)
{
    struct zn_dataset *ds;

    make_shards();
    ds = open_ok(
        (struct zn_dataset_options){.format = ZN_FORMAT_TAR, .path = in_dir("shard-{0..5}.tar")});
    ck_assert_str_eq(zn_format_name(zn_dataset_format(ds)), "tar");
    check_shards(ds, 0, NSHARDS);
    ck_assert_uint_eq(zn_dataset_samples(ds), 15);
    ck_assert_uint_eq(zn_dataset_shard_first(ds, 5), 15);
    zn_dataset_close(ds);

    /* One shard without braces; a list; direct descriptors with the index read buffered. */
    ds = open_ok((struct zn_dataset_options){
        .format = ZN_FORMAT_TAR, .path = in_dir("shard-2.tar"), .direct = true});
    check_shards(ds, 2, 1);
    ck_assert_int_ne(fcntl(zn_dataset_fd(ds, 0), F_GETFL) & O_DIRECT, 0);
    zn_dataset_close(ds);
    ds = open_ok(
        (struct zn_dataset_options){.format = ZN_FORMAT_TAR, .path = in_dir("shard-{3,4}.tar")});
    check_shards(ds, 3, 2);
    zn_dataset_close(ds);
}
END_TEST

static void copy_prefix(const char *from, const char *to, size_t len)
{
    size_t n;
    unsigned char *data = read_file(from, &n);
    ck_assert_uint_le(len, n);
    write_file(to, data, len);
    free(data);
}

static void check_bad_tar(const char *path, const char *needle, const char *needle2)
{
    struct zn_error err =
        open_fails((struct zn_dataset_options){.format = ZN_FORMAT_TAR, .path = path});
    ck_error_mentions(err, path);
    ck_error_mentions(err, needle);
    if (needle2)
        ck_error_mentions(err, needle2);
}

START_TEST(tar_damaged)
{
    char good[1024], bad[1024];
    struct zn_extent ext[4];
    struct zn_dataset *ds;
    uint64_t last_data, end;
    size_t n;
    unsigned char *data;

    make_shards();
    strcpy(good, in_dir("shard-0.tar"));
    strcpy(bad, in_dir("bad.tar"));
    ds = open_ok((struct zn_dataset_options){.format = ZN_FORMAT_TAR, .path = good});
    /* s000: jpg (1000 bytes) at 512, cls at 2048, seg.png at 3072 (headers 512 before). */
    ck_assert_int_eq(zn_dataset_extents(ds, 0, ext, 4), 3);
    ck_assert_uint_eq(ext[0].offset, 512);
    ck_assert_uint_eq(ext[1].offset, 2048);
    ck_assert_uint_eq(ext[2].offset, 3072);
    ck_assert_int_eq(zn_dataset_extents(ds, 4, ext, 4), 1); /* s003.json, the last member */
    last_data = ext[0].offset;
    end = last_data + (5000 + 511) / 512 * 512;
    zn_dataset_close(ds);

    copy_prefix(good, bad, 3072 + 100);
    check_bad_tar(bad, "truncated: member s000.seg.png at offset 2560", "ends at offset 3172");
    copy_prefix(good, bad, last_data + 10);
    check_bad_tar(bad, fmt("member s003.json at offset %" PRIu64, last_data - 512), "truncated");
    copy_prefix(good, bad, end);
    check_bad_tar(bad, fmt("ends at offset %" PRIu64 " without the end-of-archive", end), NULL);
    copy_prefix(good, bad, end + 700);
    check_bad_tar(bad, fmt("marker at offset %" PRIu64 " is cut short", end), NULL);
    copy_prefix(good, bad, 1000);
    check_bad_tar(bad, "member s000.jpg at offset 0", NULL);
    copy_prefix(good, bad, 300);
    check_bad_tar(bad, "partial header at offset 0", NULL);

    /* A lone zero block is an end (GNU tar accepts it too). */
    copy_prefix(good, bad, end + 512);
    ds = open_ok((struct zn_dataset_options){.format = ZN_FORMAT_TAR, .path = bad});
    ck_assert_uint_eq(zn_dataset_samples(ds), 5);
    zn_dataset_close(ds);

    /* ... but not when another archive follows it (cat a.tar b.tar). */
    data = read_file(good, &n);
    {
        size_t n2;
        unsigned char *second = read_file(in_dir("shard-2.tar"), &n2);
        unsigned char *joined = malloc(end + 512 + n2);
        memcpy(joined, data, end + 512);
        memcpy(joined + end + 512, second, n2);
        write_file(bad, joined, end + 512 + n2);
        free(joined);
        free(second);
    }
    check_bad_tar(bad, fmt("lone zero block at offset %" PRIu64, end), NULL);

    /* A flipped byte in the second header. */
    data[1536 + 10] ^= 0x20;
    write_file(bad, data, n);
    check_bad_tar(bad, "bad header checksum at offset 1536", NULL);
    free(data);

    /* Not a tar at all. */
    data = malloc(4096);
    memset(data, 'a', 4096);
    write_file(bad, data, 4096);
    free(data);
    check_bad_tar(bad, "header at offset 0 has no valid checksum", NULL);

    /* The same field twice in one sample: an error. The same file twice: GNU tar stores the
     * second as a hard link, which is no field (WebDataset skips it too). */
    static const int jpg_cls[] = {0, 1}, twice[] = {0, 0};
    gnu_tar("--format=gnu --transform=s/cls$/jpg/", in_dir("dup.tar"), jpg_cls, 2, NULL);
    check_bad_tar(in_dir("dup.tar"), "member s000.jpg at offset 1536 repeats field \"jpg\"", NULL);
    gnu_tar("--format=gnu", in_dir("link.tar"), twice, 2, NULL);
    ds = open_ok((struct zn_dataset_options){.format = ZN_FORMAT_TAR, .path = in_dir("link.tar")});
    ck_assert_uint_eq(zn_dataset_samples(ds), 1);
    ck_assert_int_eq(zn_dataset_extents(ds, 0, ext, 4), 1);
    zn_dataset_close(ds);

    /* A shard of the list missing; a malformed list. */
    check_bad_tar(in_dir("shard-{0..6}.tar"), "shard-6.tar", "No such file or directory");
    check_bad_tar(in_dir("shard-{0..}.tar"), "neither a range", NULL);
    /* Only the member-less shard. */
    check_bad_tar(in_dir("shard-5.tar"), "holds no samples", NULL);
}
END_TEST

START_TEST(tar_names_without_a_key)
{
    struct zn_field fields[4];
    struct zn_dataset *ds;
    const char *path = in_dir("names.tar");

    /* WebDataset's metadata, a hidden file and a file without a dot have no key; "__x" is an
     * ordinary key; "a.b/c.d.e" is key "a.b/c", field "d.e". */
    run(fmt("/usr/bin/python3 -c 'import io, sys, tarfile\n"
            "t = tarfile.open(sys.argv[1], \"w\", format=tarfile.USTAR_FORMAT)\n"
            "for n in sys.argv[2:]:\n"
            "    i = tarfile.TarInfo(n); i.size = len(n); t.addfile(i, io.BytesIO(n.encode()))\n"
            "t.close()' '%s' __meta__/info.json .hidden.jpg README __x.jpg a.b/c.d.e",
            path));
    ds = open_ok((struct zn_dataset_options){.format = ZN_FORMAT_TAR, .path = path});
    ck_assert_uint_eq(zn_dataset_samples(ds), 2);
    ck_assert_int_eq(zn_dataset_fields(ds, 0, fields, 4), 1);
    ck_assert_str_eq(fields[0].name, "jpg");
    ck_assert_uint_eq(fields[0].extent.length, strlen("__x.jpg"));
    ck_assert_int_eq(zn_dataset_fields(ds, 1, fields, 4), 1);
    ck_assert_str_eq(fields[0].name, "d.e");
    ck_assert_uint_eq(fields[0].extent.length, strlen("a.b/c.d.e"));
    zn_dataset_close(ds);
}
END_TEST

/* ------------------------------------------------------------------ brace lists */

static void check_expansion(const char *pattern, const char *const *want, size_t nwant)
{
    struct zn_error err = {{0}};
    size_t n;
    char **names = zn_brace_expand(pattern, 1000, &n, &err);

    ck_assert_msg(names != NULL, "%s: %s", pattern, err.text);
    ck_assert_uint_eq(n, nwant);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(names[i], want[i]);
    zn_brace_free(names, n);
}

START_TEST(brace_expansion)
{
    static const char *const plain[] = {"/d/train.tar"};
    static const char *const range[] = {"a0b", "a1b", "a2b", "a3b"};
    static const char *const padded[] = {"08", "09", "10", "11"};
    static const char *const wide[] = {"x-008.tar", "x-009.tar", "x-010.tar"};
    static const char *const down[] = {"3", "2", "1"};
    static const char *const product[] = {"train-a1", "train-a2", "train-b1", "train-b2",
                                          "val-a1",   "val-a2",   "val-b1",   "val-b2"};
    static const char *const empty_item[] = {"x.tar", "x1.tar"};
    static const char *const webdataset[] = {"/d/train-000000.tar", "/d/train-000001.tar",
                                             "/d/train-000002.tar"};
    static const struct {
        const char *pattern, *needle;
    } bad[] = {
        {"a{0..3", "never closed"},
        {"a}b", "closes no '{'"},
        {"{1..}", "neither a range"},
        {"{..2}", "neither a range"},
        {"{abc}", "neither a range"},
        {"{}", "neither a range"},
        {"{1..a}", "neither a range"},
        {"{a,{b,c}}", "nested braces"},
        {"{-1..3}", "neither a range"},
        {"{1..2..3}", "neither a range"},
        {"{0..9999999999999999999}", "neither a range"},
    };
    struct zn_error err;
    size_t n = 7;

    check_expansion("/d/train.tar", plain, 1);
    check_expansion("a{0..3}b", range, 4);
    check_expansion("{08..11}", padded, 4);
    check_expansion("x-{8..010}.tar", wide, 3);
    check_expansion("{3..1}", down, 3);
    check_expansion("{train,val}-{a,b}{1..2}", product, 8);
    check_expansion("x{,1}.tar", empty_item, 2);
    check_expansion("/d/train-{000000..000002}.tar", webdataset, 3);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_ptr_null(zn_brace_expand(bad[i].pattern, 1000, &n, &err));
        ck_assert_uint_eq(n, 0);
        ck_error_mentions(err, bad[i].pattern);
        ck_error_mentions(err, bad[i].needle);
    }
    ck_assert_ptr_null(zn_brace_expand("s-{0..99}.tar", 10, &n, &err));
    ck_error_mentions(err, "more than 10 files");
    ck_assert_ptr_null(zn_brace_expand("{0..9}{0..9}{0..9}", 999, &n, &err));
    ck_error_mentions(err, "more than 999 files");
    char **names = zn_brace_expand("{0..9}{0..9}{0..9}", 1000, &n, &err);
    ck_assert_ptr_nonnull(names);
    ck_assert_uint_eq(n, 1000);
    ck_assert_str_eq(names[999], "999");
    ck_assert_str_eq(names[42], "042");
    zn_brace_free(names, n);
    ck_assert_ptr_null(zn_brace_expand("", 10, &n, &err));
    ck_error_mentions(err, "empty");
}
END_TEST

int main(void)
{
    TCase *tc = tcase_create("dataset");
    int rc;

    strcpy(base, "/tmp/zn-dataset-XXXXXX");
    if (!mkdtemp(base)) {
        perror("mkdtemp /tmp/zn-dataset-XXXXXX");
        return 1;
    }
    tcase_add_checked_fixture(tc, make_dir, remove_dir);
    tcase_add_test(tc, tokens_u16_packed_and_random);
    tcase_add_test(tc, tokens_u32_and_edges);
    tcase_add_test(tc, tokens_partial_token);
    tcase_add_test(tc, missing_directory_empty);
    tcase_add_test(tc, direct_descriptors);
    tcase_add_test(tc, records_whole_and_partial);
    tcase_add_test(tc, megatron_contiguous);
    tcase_add_test(tc, megatron_scattered_sequences);
    tcase_add_test(tc, megatron_damaged);
    tcase_add_test(tc, tar_gnu_pax_ustar_python);
    tcase_add_test(tc, tar_damaged);
    tcase_add_test(tc, tar_names_without_a_key);
    tcase_add_test(tc, brace_expansion);
    rc = test_run("dataset", tc);
    remove_base();
    return rc;
}
