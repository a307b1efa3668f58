/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A real multi-rank program for the local cluster: every rank publishes its host and placement
 * through PMIx (Put, Commit, Fence with data collection), reads every other rank's, checks
 * them, and prints one line: where it runs and how many ranks and nodes it heard from.
 * Run as `srun --mpi=pmix pmix_hello`; exits non-zero if any exchange fails. */
#include "config.h"

#include <pmix.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY "zenith.where"

/* "Cpus_allowed_list" or "Mems_allowed_list" of this process. */
static void status_field(const char *name, char *out, size_t len)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[512];
    size_t n = strlen(name);

    snprintf(out, len, "?");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, name, n) == 0 && line[n] == ':') {
            char *v = line + n + 1;
            v += strspn(v, " \t");
            v[strcspn(v, "\n")] = '\0';
            snprintf(out, len, "%s", v);
            break;
        }
    }
    fclose(f);
}

int main(void)
{
    pmix_proc_t me, peer;
    pmix_value_t value, *got = NULL;
    pmix_info_t collect;
    bool yes = true;
    char host[64], cpus[256], mems[64], mine[512], *nodes = NULL;
    const char *gpus = getenv("CUDA_VISIBLE_DEVICES");
    uint32_t size = 0;
    int rc, status = 1, heard = 0, distinct = 0;

    rc = PMIx_Init(&me, NULL, 0);
    if (rc != PMIX_SUCCESS) {
        fprintf(stderr, "pmix_hello: PMIx_Init failed (%s); run it with srun --mpi=pmix\n",
                PMIx_Error_string(rc));
        return 1;
    }
    PMIX_PROC_CONSTRUCT(&peer);
    PMIX_LOAD_PROCID(&peer, me.nspace, PMIX_RANK_WILDCARD);
    if (PMIx_Get(&peer, PMIX_JOB_SIZE, NULL, 0, &got) != PMIX_SUCCESS || !got) {
        fprintf(stderr, "pmix_hello: no PMIX_JOB_SIZE\n");
        goto out;
    }
    size = got->data.uint32;
    PMIX_VALUE_RELEASE(got);

    gethostname(host, sizeof(host));
    status_field("Cpus_allowed_list", cpus, sizeof(cpus));
    status_field("Mems_allowed_list", mems, sizeof(mems));
    snprintf(mine, sizeof(mine), "%s cpus %s numa %s gpus %s", host, cpus, mems,
             gpus && *gpus ? gpus : "-");
    PMIX_VALUE_LOAD(&value, mine, PMIX_STRING);
    if (PMIx_Put(PMIX_GLOBAL, KEY, &value) != PMIX_SUCCESS || PMIx_Commit() != PMIX_SUCCESS) {
        fprintf(stderr, "pmix_hello: rank %u could not publish its data\n", me.rank);
        goto out;
    }
    PMIX_VALUE_DESTRUCT(&value);
    PMIX_INFO_LOAD(&collect, PMIX_COLLECT_DATA, &yes, PMIX_BOOL);
    if (PMIx_Fence(NULL, 0, &collect, 1) != PMIX_SUCCESS) {
        fprintf(stderr, "pmix_hello: rank %u: fence failed\n", me.rank);
        goto out;
    }
    nodes = calloc(size, 64);
    for (uint32_t r = 0; r < size && nodes; r++) {
        PMIX_LOAD_PROCID(&peer, me.nspace, r);
        got = NULL;
        if (PMIx_Get(&peer, KEY, NULL, 0, &got) != PMIX_SUCCESS || !got ||
            got->type != PMIX_STRING) {
            fprintf(stderr, "pmix_hello: rank %u cannot read rank %u's data\n", me.rank, r);
            goto out;
        }
        char *node = nodes + (size_t)distinct * 64;
        snprintf(node, 64, "%.*s", (int)strcspn(got->data.string, " "), got->data.string);
        bool seen = false;
        for (int k = 0; k < distinct; k++)
            seen |= strcmp(nodes + (size_t)k * 64, node) == 0;
        distinct += !seen;
        heard++;
        PMIX_VALUE_RELEASE(got);
    }
    printf("rank %u of %u on %s; heard from %d ranks on %d nodes\n", me.rank, size, mine, heard,
           distinct);
    status = heard == (int)size ? 0 : 1;
out:
    free(nodes);
    PMIx_Finalize(NULL, 0);
    return status;
}
