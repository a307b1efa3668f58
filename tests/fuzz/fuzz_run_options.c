/* SPDX-License-Identifier: GPL-2.0-or-later */
/* zenith-run's command line (launcher/options.c): each field is one argument after the
 * program name, so "--bind\0core,verbose\0python3" is zenith-run --bind core,verbose python3.
 * The ZENITH_* fallbacks are left unset (the environment of the fuzzer).
 * ZN_FUZZ_SOURCES: launcher/options.c
 * ZN_FUZZ_MAX_LEN: 1024 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "launcher/options.h"
#include "runtime/error.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* getopt's messages for a bad option would flood the log; ours are in err. */
    opterr = 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zf_fields f;
    struct zr_options opts;
    struct zn_error err;
    char **argv;

    if (zf_split(data, size, 63, &f) < 0) {
        zf_free(&f);
        return 0;
    }
    /* argv[0] is the launcher; getopt may permute the rest, so a copy of the pointers. */
    argv = calloc(f.count + 2, sizeof(*argv));
    if (argv) {
        argv[0] = "zenith-run";
        memcpy(argv + 1, f.field, f.count * sizeof(*argv));
        memset(&opts, 0, sizeof(opts));
        /* No reset of getopt here: each parse must start afresh by itself, whatever argv
         * (freed since) the last one stopped in (corpus/run_options/getopt-stale-cluster).
         * Cleared whatever the result: a --data parsed before a later bad option is owned
         * by opts (options.h). */
        zr_options_parse((int)f.count + 1, argv, &opts, &err);
        zr_options_clear(&opts);
    }
    free(argv);
    zf_free(&f);
    return 0;
}
