/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Philly trace and machine list readers of the simulator and the replay (bench/trace.c):
 * field 0 is the machine list CSV, field 1 the trace CSV, each written to a file and read as
 * bench/placement-sim reads them, then the jobs shaped for those machines.
 * ZN_FUZZ_SOURCES: bench/trace.c
 * ZN_FUZZ_MAX_LEN: 4096 */
#include "config.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "bench/trace.h"
#include "runtime/error.h"
#include "tests/fuzz/fuzz.h"

static char machines_path[128], trace_path[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *tmp = getenv("TMPDIR") ?: "/tmp";

    snprintf(machines_path, sizeof(machines_path), "%s/zenith-fuzz-machines-%d.csv", tmp,
             (int)getpid());
    snprintf(trace_path, sizeof(trace_path), "%s/zenith-fuzz-trace-%d.csv", tmp, (int)getpid());
    return 0;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zf_fields f;
    struct machines m = {0};
    struct trace t = {0};
    struct zn_error err;
    bool have_machines = false;

    if (zf_split(data, size, 2, &f) < 0)
        goto out;
    put(machines_path, f.field[0]);
    put(trace_path, zf_get(&f, 1) ? zf_get(&f, 1) : "");
    if (read_machines(machines_path, &m, &err) == 0)
        have_machines = true;
    else if (uniform_machines("uniform", "philly-", 4, 8, &m, &err) == 0)
        have_machines = true;
    if (read_trace(trace_path, 0, 1, &t, &err) == 0) {
        if (have_machines)
            shape_jobs(&t, &m, &err);
        free(t.jobs);
    }
    if (have_machines)
        machines_free(&m);
out:
    unlink(machines_path);
    unlink(trace_path);
    zf_free(&f);
    return 0;
}
