/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Slurm's topology.conf as the select plugin reads it (select/core/cluster.c), over a model of
 * nodes zn1-zn8 and gpu01-gpu04: the whole input is the file's text.
 * ZN_FUZZ_SOURCES: select/core/hostlist.c select/core/cluster.c
 * ZN_FUZZ_MAX_LEN: 2048 */
#include "config.h"

#include <stdio.h>

#include "runtime/error.h"
#include "select/core/cluster.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zf_fields f;
    struct zn_error err;
    struct zn_cluster *c = zn_cluster_new();
    char name[16];

    if (!c)
        return 0;
    for (unsigned i = 1; i <= 8; i++) {
        snprintf(name, sizeof(name), "zn%u", i);
        zn_cluster_add_node(c, name, 8, 8, &err);
    }
    for (unsigned i = 1; i <= 4; i++) {
        snprintf(name, sizeof(name), "gpu%02u", i);
        zn_cluster_add_node(c, name, 4, 2, &err);
    }
    if (zf_split(data, size, 1, &f) == 0 &&
        zn_cluster_load_topology(c, f.field[0], "topology.conf", &err) == 0)
        /* A second file on a model that has a tree is refused, not merged. */
        zn_cluster_load_topology(c, f.field[0], "topology.conf", &err);
    zf_free(&f);
    zn_cluster_free(c);
    return 0;
}
