/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_FUZZ_H
#define ZENITH_FUZZ_H

/* Shared by the libFuzzer harnesses (tests/fuzz/run.sh builds them). An input is split into
 * fields at NUL bytes: "a\0b\0c" is the three strings a, b and c, so a seed file is written
 * with printf 'a\0b\0c'. Every field is its own malloc'd copy, so ASan sees a read past the
 * end of any of them. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef ZF_SRCDIR
#error "ZF_SRCDIR (the source tree) must be defined: tests/fuzz/run.sh does it"
#endif

struct zf_fields {
    size_t count;
    char **field; /* count strings, then NULL (an argv) */
};

/* At most `max` fields; the rest of the input stays in the last one (NULs and all cut there). */
static inline int zf_split(const uint8_t *data, size_t size, size_t max, struct zf_fields *out)
{
    size_t start = 0;

    out->count = 0;
    out->field = calloc(max + 1, sizeof(*out->field));
    if (!out->field)
        return -1;
    while (out->count < max && start <= size) {
        const uint8_t *nul = out->count + 1 < max ? memchr(data + start, 0, size - start) : NULL;
        size_t end = nul ? (size_t)(nul - data) : size;
        char *s = malloc(end - start + 1);

        if (!s)
            return -1;
        memcpy(s, data + start, end - start);
        s[end - start] = '\0';
        out->field[out->count++] = s;
        if (!nul)
            break;
        start = end + 1;
    }
    return 0;
}

static inline void zf_free(struct zf_fields *f)
{
    for (size_t i = 0; i < f->count; i++)
        free(f->field[i]);
    free(f->field);
    f->field = NULL;
    f->count = 0;
}

/* Field i, or NULL when the input had fewer (an unset variable). */
static inline const char *zf_get(const struct zf_fields *f, size_t i)
{
    return i < f->count ? f->field[i] : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif
