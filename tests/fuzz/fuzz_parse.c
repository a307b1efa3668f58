/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The value parsers behind every option, plugstack argument and variable users type
 * (runtime/parse.c): the whole input is one value, given to each parser.
 * ZN_FUZZ_SOURCES:
 * ZN_FUZZ_MAX_LEN: 256 */
#include "config.h"

#include "runtime/error.h"
#include "runtime/parse.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zf_fields f;
    struct zn_error err;
    unsigned *list = NULL, count32;
    size_t count;
    uint64_t beyond, bytes;
    char text[32];

    if (zf_split(data, size, 1, &f) == 0) {
        const char *v = f.field[0];

        if (zn_parse_size("--size", v, &bytes, &err) == 0)
            zn_format_size(bytes, text, sizeof(text));
        zn_parse_count("--count", v, 4096, &count32, &err);
        if (zn_parse_index_list("--gpus", v, 1023, &list, &count, &err) == 0)
            free(list);
        list = NULL;
        if (zn_parse_index_list_within("--cpus", v, 7, &beyond, &list, &count, &err) == 0)
            free(list);
        list = NULL;
    }
    zf_free(&f);
    return 0;
}
