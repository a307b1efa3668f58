/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The plugstack.conf arguments of the SPANK plugin (spank/settings.c): each field is one
 * argument after the plugin's path, as slurmstepd hands them over (argv).
 * ZN_FUZZ_SOURCES: spank/settings.c spank/options.c
 * ZN_FUZZ_MAX_LEN: 1024 */
#include "config.h"

#include "runtime/error.h"
#include "spank/settings.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zf_fields f;
    struct zn_spank_config cfg;
    struct zn_error err;

    if (zf_split(data, size, 32, &f) == 0)
        zn_spank_config_parse((int)f.count, f.field, &cfg, &err);
    zf_free(&f);
    return 0;
}
