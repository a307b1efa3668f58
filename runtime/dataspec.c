/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/dataspec.h"
#include "runtime/parse.h"

#define MAX_SLOTS 1024

const char zn_dataspec_help[] =
    "      path=FILE        file, Megatron prefix or tar brace list (required)\n"
    "      format=F         tokens, megatron, tar or records (default: from the path)\n"
    "      dtype=u16|u32    token width of a flat token file (default u16)\n"
    "      seq_len=N        samples of N+1 tokens (tokens, megatron)\n"
    "      windows=W        packed (default) or random window starts\n"
    "      record=SIZE      bytes per record (format=records, which it implies)\n"
    "      batch=N          samples per batch (default 8)\n"
    "      seed=N           the order's seed (default 0); shuffle=0 keeps file order\n"
    "      drop_last=1      drop the tail short of a full round of ranks (default: pad)\n"
    "      epoch=N,consumed=N  resume: the epoch, and samples the job consumed of it\n"
    "      epochs=N         epochs to deliver, 0 for no end (default 1)\n"
    "      block=N          tar: shuffle within blocks of N samples (default 1024)\n"
    "      slots=N          batches in shared memory (default 8)\n"
    "      queue_depth=N, read_size=SIZE, direct=0|1, io=auto|uring|pread\n"
    "      async=0|1        reads copied by io_uring's workers (default: 2+ CPUs, samples >= 64K)\n"
    "      on_error=skip,max_errors=N  leave unreadable samples out (default: fail)\n";

struct key {
    const char *name;
    int (*set)(struct zn_dataspec *s, const char *what, const char *key, const char *value,
               struct zn_error *err);
};

static int bad(struct zn_error *err, const char *what, const char *key, const char *value,
               const char *expected)
{
    return zn_fail(err, "%s: %s=%s is not valid; expected %s", what, key, value, expected);
}

static int number(const char *what, const char *key, const char *value, uint64_t *out,
                  struct zn_error *err)
{
    const char *p = value;

    if (zn_parse_digits(&p, out) < 0 || *p)
        return bad(err, what, key, value, "a whole number");
    return 0;
}

static int positive(const char *what, const char *key, const char *value, uint64_t max,
                    uint64_t *out, struct zn_error *err)
{
    if (number(what, key, value, out, err) < 0)
        return -1;
    if (*out == 0 || *out > max) {
        char range[64];
        snprintf(range, sizeof(range), "a number from 1 to %llu", (unsigned long long)max);
        return bad(err, what, key, value, range);
    }
    return 0;
}

static int boolean(const char *what, const char *key, const char *value, bool *out,
                   struct zn_error *err)
{
    if (!strcmp(value, "1") || !strcmp(value, "yes") || !strcmp(value, "true"))
        *out = true;
    else if (!strcmp(value, "0") || !strcmp(value, "no") || !strcmp(value, "false"))
        *out = false;
    else
        return bad(err, what, key, value, "0 or 1");
    return 0;
}

static int size_value(const char *what, const char *key, const char *value, uint64_t max,
                      uint64_t *out, struct zn_error *err)
{
    char label[96];

    snprintf(label, sizeof(label), "%s: %s", what, key);
    if (zn_parse_size(label, value, out, err) < 0)
        return -1;
    if (*out > max) {
        char limit[32], range[48];
        zn_format_size(max, limit, sizeof(limit));
        snprintf(range, sizeof(range), "at most %s", limit);
        return bad(err, what, key, value, range);
    }
    return 0;
}

static int set_path(struct zn_dataspec *s, const char *what, const char *key, const char *value,
                    struct zn_error *err)
{
    if (!*value)
        return bad(err, what, key, value, "a file name");
    s->dataset.path = strdup(value);
    return s->dataset.path ? 0 : zn_fail(err, "out of memory");
}

static int set_format(struct zn_dataspec *s, const char *what, const char *key, const char *value,
                      struct zn_error *err)
{
    static const enum zn_format all[] = {ZN_FORMAT_TOKENS, ZN_FORMAT_MEGATRON, ZN_FORMAT_TAR,
                                         ZN_FORMAT_RECORDS};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (!strcmp(value, zn_format_name(all[i]))) {
            s->dataset.format = all[i];
            return 0;
        }
    return bad(err, what, key, value, "tokens, megatron, tar or records");
}

static int set_dtype(struct zn_dataspec *s, const char *what, const char *key, const char *value,
                     struct zn_error *err)
{
    if (!strcmp(value, "u16") || !strcmp(value, "uint16"))
        s->dataset.token_bytes = 2;
    else if (!strcmp(value, "u32") || !strcmp(value, "uint32"))
        s->dataset.token_bytes = 4;
    else
        return bad(err, what, key, value, "u16 or u32");
    return 0;
}

static int set_seq_len(struct zn_dataspec *s, const char *what, const char *key, const char *value,
                       struct zn_error *err)
{
    uint64_t v;
    if (positive(what, key, value, 1u << 24, &v, err) < 0)
        return -1;
    s->dataset.seq_len = (uint32_t)v;
    return 0;
}

static int set_windows(struct zn_dataspec *s, const char *what, const char *key, const char *value,
                       struct zn_error *err)
{
    if (!strcmp(value, "packed"))
        s->dataset.random_windows = false;
    else if (!strcmp(value, "random"))
        s->dataset.random_windows = true;
    else
        return bad(err, what, key, value, "packed or random");
    return 0;
}

static int set_record(struct zn_dataspec *s, const char *what, const char *key, const char *value,
                      struct zn_error *err)
{
    return size_value(what, key, value, 1ull << 30, &s->dataset.record_bytes, err);
}

static int set_batch(struct zn_dataspec *s, const char *what, const char *key, const char *value,
                     struct zn_error *err)
{
    uint64_t v;
    if (positive(what, key, value, 1u << 16, &v, err) < 0)
        return -1;
    s->batch = (uint32_t)v;
    return 0;
}

static int set_seed(struct zn_dataspec *s, const char *what, const char *key, const char *value,
                    struct zn_error *err)
{
    return number(what, key, value, &s->seed, err);
}

static int set_shuffle(struct zn_dataspec *s, const char *what, const char *key, const char *value,
                       struct zn_error *err)
{
    return boolean(what, key, value, &s->shuffle, err);
}

static int set_drop_last(struct zn_dataspec *s, const char *what, const char *key,
                         const char *value, struct zn_error *err)
{
    return boolean(what, key, value, &s->drop_last, err);
}

static int set_epoch(struct zn_dataspec *s, const char *what, const char *key, const char *value,
                     struct zn_error *err)
{
    return number(what, key, value, &s->epoch, err);
}

static int set_consumed(struct zn_dataspec *s, const char *what, const char *key, const char *value,
                        struct zn_error *err)
{
    return number(what, key, value, &s->consumed, err);
}

static int set_epochs(struct zn_dataspec *s, const char *what, const char *key, const char *value,
                      struct zn_error *err)
{
    return number(what, key, value, &s->epochs, err);
}

static int set_block(struct zn_dataspec *s, const char *what, const char *key, const char *value,
                     struct zn_error *err)
{
    return positive(what, key, value, 1u << 24, &s->block, err);
}

static int set_slots(struct zn_dataspec *s, const char *what, const char *key, const char *value,
                     struct zn_error *err)
{
    uint64_t v;
    if (positive(what, key, value, MAX_SLOTS, &v, err) < 0)
        return -1;
    if (v < 2)
        return bad(err, what, key, value, "at least 2 (one filling while one is read)");
    s->slots = (uint32_t)v;
    return 0;
}

static int set_queue_depth(struct zn_dataspec *s, const char *what, const char *key,
                           const char *value, struct zn_error *err)
{
    uint64_t v;
    if (positive(what, key, value, 4096, &v, err) < 0)
        return -1;
    s->queue_depth = (uint32_t)v;
    return 0;
}

static int set_read_size(struct zn_dataspec *s, const char *what, const char *key,
                         const char *value, struct zn_error *err)
{
    uint64_t v;
    if (size_value(what, key, value, 64ull << 20, &v, err) < 0)
        return -1;
    if (v % 4096)
        return bad(err, what, key, value, "a multiple of 4K");
    s->read_size = (uint32_t)v;
    return 0;
}

static int set_async(struct zn_dataspec *s, const char *what, const char *key, const char *value,
                     struct zn_error *err)
{
    s->async_given = true;
    return boolean(what, key, value, &s->async, err);
}

static int set_direct(struct zn_dataspec *s, const char *what, const char *key, const char *value,
                      struct zn_error *err)
{
    return boolean(what, key, value, &s->dataset.direct, err);
}

static int set_io(struct zn_dataspec *s, const char *what, const char *key, const char *value,
                  struct zn_error *err)
{
    if (!strcmp(value, "auto"))
        s->io = ZN_READER_AUTO;
    else if (!strcmp(value, "uring") || !strcmp(value, "io_uring"))
        s->io = ZN_READER_URING;
    else if (!strcmp(value, "pread"))
        s->io = ZN_READER_PREAD;
    else
        return bad(err, what, key, value, "auto, uring or pread");
    return 0;
}

static int set_on_error(struct zn_dataspec *s, const char *what, const char *key, const char *value,
                        struct zn_error *err)
{
    if (!strcmp(value, "fail"))
        s->on_error = ZN_ON_ERROR_FAIL;
    else if (!strcmp(value, "skip"))
        s->on_error = ZN_ON_ERROR_SKIP;
    else
        return bad(err, what, key, value, "fail or skip");
    return 0;
}

static int set_max_errors(struct zn_dataspec *s, const char *what, const char *key,
                          const char *value, struct zn_error *err)
{
    return number(what, key, value, &s->max_errors, err);
}

static const struct key keys[] = {
    {"path", set_path},           {"format", set_format},
    {"dtype", set_dtype},         {"seq_len", set_seq_len},
    {"windows", set_windows},     {"record", set_record},
    {"batch", set_batch},         {"seed", set_seed},
    {"shuffle", set_shuffle},     {"drop_last", set_drop_last},
    {"epoch", set_epoch},         {"consumed", set_consumed},
    {"epochs", set_epochs},       {"block", set_block},
    {"slots", set_slots},         {"queue_depth", set_queue_depth},
    {"read_size", set_read_size}, {"async", set_async},
    {"direct", set_direct},       {"io", set_io},
    {"on_error", set_on_error},   {"max_errors", set_max_errors},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static bool given(const bool *seen, const char *name)
{
    for (size_t k = 0; k < NKEYS; k++)
        if (!strcmp(keys[k].name, name))
            return seen[k];
    return false;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && !strcmp(s + n - t, tail);
}

/* The format a path names, when the user did not say. */
static int infer_format(const char *what, struct zn_dataspec *s, struct zn_error *err)
{
    const char *path = s->dataset.path;
    char idx[4096];

    if (ends_with(path, ".tar") || ends_with(path, ".tar}"))
        s->dataset.format = ZN_FORMAT_TAR;
    else if (ends_with(path, ".idx"))
        s->dataset.format = ZN_FORMAT_MEGATRON;
    else if (ends_with(path, ".bin")) {
        /* Megatron's pair has an .idx beside the .bin; nanoGPT's train.bin stands alone. */
        snprintf(idx, sizeof(idx), "%.*s.idx", (int)(strlen(path) - 4), path);
        s->dataset.format = access(idx, F_OK) == 0 ? ZN_FORMAT_MEGATRON : ZN_FORMAT_TOKENS;
    } else
        return zn_fail(err,
                       "%s: cannot tell the format of path=%s from its name; add "
                       "format=tokens, megatron, tar or records",
                       what, path);
    return 0;
}

/* Splits at the next comma that is not inside braces. */
static char *next_item(char **cursor)
{
    char *start = *cursor, *p = start;
    int depth = 0;

    if (!start)
        return NULL;
    for (; *p; p++) {
        if (*p == '{')
            depth++;
        else if (*p == '}' && depth > 0)
            depth--;
        else if (*p == ',' && depth == 0)
            break;
    }
    *cursor = *p ? p + 1 : NULL;
    *p = '\0';
    return start;
}

/* Calls each(item, length, ctx) for every top-level item of text until it returns true. */
static bool any_item(const char *text, bool (*each)(const char *, size_t, const void *),
                     const void *ctx)
{
    char *copy = text ? strdup(text) : NULL, *cursor = copy, *item;
    bool found = false;

    while (!found && (item = next_item(&cursor)))
        found = *item && each(item, strlen(item), ctx);
    free(copy);
    return found;
}

static bool gives_key(const char *item, size_t length, const void *key)
{
    size_t k = strlen(key);
    return length > k && !strncmp(item, key, k) && item[k] == '=';
}

bool zn_dataspec_has_key(const char *text, const char *key)
{
    return any_item(text, gives_key, key);
}

static bool key_in(const char *item, size_t length, const void *text)
{
    const char *eq = memchr(item, '=', length);
    char key[64];

    if (!eq || (size_t)(eq - item) >= sizeof(key))
        return false;
    snprintf(key, sizeof(key), "%.*s", (int)(eq - item), item);
    return zn_dataspec_has_key(text, key);
}

char *zn_dataspec_merge(const char *base, const char *overrides, struct zn_error *err)
{
    size_t room = (base ? strlen(base) : 0) + (overrides ? strlen(overrides) : 0) + 2;
    char *out = malloc(room), *copy = base ? strdup(base) : NULL, *cursor = copy, *item;
    size_t used = 0;

    if (!out || (base && !copy)) {
        free(out);
        free(copy);
        zn_fail(err, "out of memory");
        return NULL;
    }
    out[0] = '\0';
    while ((item = next_item(&cursor))) {
        size_t n = strlen(item);
        if (!n || key_in(item, n, overrides))
            continue;
        used += (size_t)snprintf(out + used, room - used, "%s%s", used ? "," : "", item);
    }
    if (overrides && *overrides)
        snprintf(out + used, room - used, "%s%s", used ? "," : "", overrides);
    free(copy);
    return out;
}

int zn_dataspec_parse(const char *what, const char *text, struct zn_dataspec *s,
                      struct zn_error *err)
{
    bool seen[NKEYS] = {false};
    char *copy = NULL, *cursor, *item;
    int rc = -1;

    memset(s, 0, sizeof(*s));
    s->batch = 8;
    s->shuffle = true;
    s->epochs = 1;
    s->block = 1024;
    s->slots = 8;
    s->queue_depth = 32;
    s->read_size = 1u << 20;
    s->io = ZN_READER_AUTO;
    s->max_errors = 0;
    if (!text || !*text) {
        zn_fail(err, "%s is empty; give at least path=FILE (see zenith-run --help)", what);
        goto out;
    }
    copy = strdup(text);
    if (!copy) {
        zn_fail(err, "out of memory");
        goto out;
    }
    cursor = copy;
    while ((item = next_item(&cursor))) {
        char *eq = strchr(item, '=');
        size_t k;

        if (!eq) {
            zn_fail(err, "%s: '%s' is not key=value; the keys are listed by zenith-run --help",
                    what, item);
            goto out;
        }
        *eq = '\0';
        for (k = 0; k < NKEYS && strcmp(keys[k].name, item); k++)
            ;
        if (k == NKEYS) {
            zn_fail(err, "%s: unknown key '%s'; the keys are listed by zenith-run --help", what,
                    item);
            goto out;
        }
        if (seen[k]) {
            zn_fail(err, "%s: %s is given twice; give it once", what, item);
            goto out;
        }
        seen[k] = true;
        if (keys[k].set(s, what, item, eq + 1, err) < 0)
            goto out;
    }
    if (!s->dataset.path) {
        zn_fail(err, "%s: path= is missing; say where the data is (path=FILE)", what);
        goto out;
    }
    if (!given(seen, "format") && given(seen, "record"))
        s->dataset.format = ZN_FORMAT_RECORDS; /* fixed records say what they are */
    else if (!given(seen, "format") && infer_format(what, s, err) < 0)
        goto out;
    switch (s->dataset.format) {
    case ZN_FORMAT_TOKENS:
        if (!s->dataset.token_bytes)
            s->dataset.token_bytes = 2; /* nanoGPT's train.bin */
        /* fall through */
    case ZN_FORMAT_MEGATRON:
        if (!s->dataset.seq_len) {
            zn_fail(err, "%s: format=%s needs seq_len=N (tokens per sample)", what,
                    zn_format_name(s->dataset.format));
            goto out;
        }
        break;
    case ZN_FORMAT_RECORDS:
        if (!s->dataset.record_bytes) {
            zn_fail(err, "%s: format=records needs record=SIZE (bytes per record)", what);
            goto out;
        }
        break;
    case ZN_FORMAT_TAR:
        break;
    }
    if (s->dataset.format != ZN_FORMAT_TOKENS && s->dataset.format != ZN_FORMAT_MEGATRON &&
        (given(seen, "dtype") || given(seen, "seq_len") || given(seen, "windows"))) {
        zn_fail(err, "%s: dtype, seq_len and windows are for token data, not format=%s", what,
                zn_format_name(s->dataset.format));
        goto out;
    }
    if (s->dataset.format == ZN_FORMAT_MEGATRON && given(seen, "dtype")) {
        zn_fail(err, "%s: dtype comes from the Megatron .idx file; remove dtype=", what);
        goto out;
    }
    if (s->dataset.format != ZN_FORMAT_RECORDS && given(seen, "record")) {
        zn_fail(err, "%s: record= is for format=records", what);
        goto out;
    }
    if (s->dataset.format != ZN_FORMAT_TAR && given(seen, "block")) {
        zn_fail(err, "%s: block= is for format=tar", what);
        goto out;
    }
    if (given(seen, "max_errors") && s->on_error != ZN_ON_ERROR_SKIP) {
        zn_fail(err, "%s: max_errors= needs on_error=skip", what);
        goto out;
    }
    rc = 0;
out:
    free(copy);
    if (rc < 0)
        zn_dataspec_clear(s);
    return rc;
}

void zn_dataspec_clear(struct zn_dataspec *s)
{
    free((char *)s->dataset.path);
    s->dataset.path = NULL;
}
