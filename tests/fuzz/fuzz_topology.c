/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A node's topology cache as slurmstepd and zenith-run load it (runtime/topology.c,
 * zn_topology_load_sealed): the whole input is the file. Its seal is checked before hwloc sees
 * a byte, so mutated XML must be refused there (hwloc 2.9 itself crashes on some); the seeds are
 * sealed fixtures, so the fuzzer also reaches hwloc through inputs whose seal still matches.
 * ZN_FUZZ_SOURCES:
 * ZN_FUZZ_MAX_LEN: 65536 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "runtime/error.h"
#include "runtime/topology.h"
#include "tests/fuzz/fuzz.h"

static char path[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    snprintf(path, sizeof(path), "%s/zenith-fuzz-topology-%d.xml", getenv("TMPDIR") ?: "/tmp",
             (int)getpid());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zn_error err;
    struct zn_topology *topo;
    int fd;

    /* 0600 and ours: the loader refuses caches others could have written. */
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || close(fd) < 0) {
        perror(path);
        abort();
    }
    topo = zn_topology_load_sealed(path, &err);
    if (topo)
        zn_topology_destroy(topo);
    unlink(path);
    return 0;
}
