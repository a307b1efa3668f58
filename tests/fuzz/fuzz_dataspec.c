/* SPDX-License-Identifier: GPL-2.0-or-later */
/* zenith-run --data SPEC and ZENITH_DATA (runtime/dataspec.c), and the brace lists of tar
 * paths (runtime/brace.c): field 0 is a spec (parsed, and asked for keys), field 1 a second
 * spec merged over it (as ZENITH_DATA under --data), field 2 a path pattern expanded with a
 * limit of 4096 names.
 * ZN_FUZZ_SOURCES:
 * ZN_FUZZ_MAX_LEN: 1024 */
#include "config.h"

#include "runtime/dataset.h"
#include "runtime/dataspec.h"
#include "runtime/error.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zf_fields f;
    struct zn_dataspec spec;
    struct zn_error err;
    char *merged;
    char **names;
    size_t count;

    if (zf_split(data, size, 3, &f) < 0)
        goto out;
    if (zn_dataspec_parse("--data", f.field[0], &spec, &err) == 0)
        zn_dataspec_clear(&spec);
    zn_dataspec_has_key(f.field[0], "path");
    zn_dataspec_has_key(f.field[0], "seed");
    merged = zn_dataspec_merge(f.field[0], zf_get(&f, 1), &err);
    if (merged && zn_dataspec_parse("ZENITH_DATA", merged, &spec, &err) == 0)
        zn_dataspec_clear(&spec);
    free(merged);
    if (zf_get(&f, 2)) {
        names = zn_brace_expand(zf_get(&f, 2), 4096, &count, &err);
        if (names)
            zn_brace_free(names, count);
    }
out:
    zf_free(&f);
    return 0;
}
