/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The step's GPU lists as Slurm and the GPU runtime hand them over (runtime/gpus.c), against
 * the 8xH100 fixture loaded once. Fields: an explicit list (zenith-plan --gpus),
 * SLURM_STEP_GPUS, SLURM_JOB_GPUS, CUDA_VISIBLE_DEVICES; a missing field is an unset variable.
 * ZN_FUZZ_SOURCES:
 * ZN_FUZZ_MAX_LEN: 512 */
#include "config.h"

#include <stdio.h>

#include "runtime/error.h"
#include "runtime/gpus.h"
#include "runtime/topology.h"
#include "tests/fuzz/fuzz.h"

static struct zn_topology *topo;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct zn_error err;

    topo =
        zn_topology_load_xml(ZF_SRCDIR "/tests/fixtures/zenith-2s4n-8xH100-4xCX7-smt2.xml", &err);
    if (!topo) {
        fprintf(stderr, "%s\n", err.text);
        abort();
    }
    return 0;
}

static const char *const names[] = {"SLURM_STEP_GPUS", "SLURM_JOB_GPUS", "CUDA_VISIBLE_DEVICES"};

static bool read_field(void *ctx, const char *name, char *buf, size_t len)
{
    const struct zf_fields *f = ctx;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = zf_get(f, i + 1);

        if (strcmp(name, names[i]) == 0 && v && *v) {
            snprintf(buf, len, "%s", v);
            return true;
        }
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zf_fields f;
    struct zn_step_gpus gpus = {0};
    struct zn_error err;
    char note[256];
    unsigned count;

    if (zf_split(data, size, 4, &f) == 0) {
        if (zn_step_gpus_from_list(topo, "--gpus", f.field[0], &gpus, &err) == 0)
            zn_step_gpus_clear(&gpus);
        if (zn_step_gpus_from_env(topo, zf_get(&f, 1), zf_get(&f, 2), "CUDA_VISIBLE_DEVICES",
                                  zf_get(&f, 3), &gpus, &err) == 0)
            zn_step_gpus_clear(&gpus);
        if (zn_step_gpus_from_slurm(topo, read_field, &f, &gpus, note, sizeof(note), &err) == 0)
            zn_step_gpus_clear(&gpus);
        zn_step_gpus_count_from_slurm(read_field, &f, &count, &err);
    }
    zf_free(&f);
    return 0;
}
