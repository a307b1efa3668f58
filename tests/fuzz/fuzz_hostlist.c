/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Slurm host list expressions (select/core/hostlist.c) as slurm.conf and topology.conf write
 * them: the whole input is one expression. The walk stops after 10000 names, as a caller may:
 * "n[0-99999999]" is valid and would only measure time.
 * ZN_FUZZ_SOURCES: select/core/hostlist.c
 * ZN_FUZZ_MAX_LEN: 256 */
#include "config.h"

#include "runtime/error.h"
#include "select/core/hostlist.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

static int each(const char *name, void *arg)
{
    size_t *n = arg;

    /* Touch every byte: a name that is not terminated shows up here. */
    if (strlen(name) == 0)
        return 2;
    return ++*n >= 10000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zf_fields f;
    struct zn_error err;
    size_t n = 0;

    if (zf_split(data, size, 1, &f) == 0)
        zn_hostlist_each("Nodes", f.field[0], each, &n, &err);
    zf_free(&f);
    return 0;
}
