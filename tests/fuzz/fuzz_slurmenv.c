/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The compressed lists Slurm writes into a step's environment (launcher/slurmenv.c), read by
 * zenith-run without PMIx: field 0 is SLURM_STEP_TASKS_PER_NODE ("2(x3),1"), asked for nodes
 * 0-7 and a far one; field 1 is SLURM_NODELIST ("zn[1-4]").
 * ZN_FUZZ_SOURCES: launcher/slurmenv.c
 * ZN_FUZZ_MAX_LEN: 512 */
#include "config.h"

#include <limits.h>

#include "launcher/slurmenv.h"
#include "runtime/error.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zf_fields f;
    struct zn_error err;
    unsigned tasks;
    char host[256], tiny[4];

    if (zf_split(data, size, 2, &f) == 0) {
        for (unsigned node = 0; node < 8; node++)
            zr_tasks_on_node("SLURM_STEP_TASKS_PER_NODE", f.field[0], node, &tasks, &err);
        zr_tasks_on_node("SLURM_STEP_TASKS_PER_NODE", f.field[0], UINT_MAX, &tasks, &err);
        if (zf_get(&f, 1)) {
            zr_first_host("SLURM_NODELIST", f.field[1], host, sizeof(host), &err);
            zr_first_host("SLURM_NODELIST", f.field[1], tiny, sizeof(tiny), &err);
        }
    }
    zf_free(&f);
    return 0;
}
