/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/contract.h"

int zr_contract_env(const struct zr_world *w, const struct zr_rendezvous *rv, struct zn_env *env,
                    struct zn_error *err)
{
    const char *run_id = w->job_step[0] ? w->job_step : "none";

    if (zn_env_add(env, false, "RANK", "%u", w->rank) < 0 ||
        zn_env_add(env, false, "WORLD_SIZE", "%u", w->size) < 0 ||
        zn_env_add(env, false, "LOCAL_RANK", "%u", w->local_rank) < 0 ||
        zn_env_add(env, false, "LOCAL_WORLD_SIZE", "%u", w->local_size) < 0 ||
        zn_env_add(env, false, "NODE_RANK", "%u", w->node_rank) < 0 ||
        zn_env_add(env, false, "GROUP_RANK", "%u", w->node_rank) < 0 ||
        zn_env_add(env, false, "GROUP_WORLD_SIZE", "%u", w->nnodes) < 0 ||
        /* One role: every rank runs the same program. */
        zn_env_add(env, false, "ROLE_NAME", "default") < 0 ||
        zn_env_add(env, false, "ROLE_RANK", "%u", w->rank) < 0 ||
        zn_env_add(env, false, "ROLE_WORLD_SIZE", "%u", w->size) < 0 ||
        zn_env_add(env, false, "MASTER_ADDR", "%s", rv->master_addr) < 0 ||
        zn_env_add(env, false, "MASTER_PORT", "%u", rv->master_port) < 0 ||
        zn_env_add(env, false, "TORCHELASTIC_RUN_ID", "%s", run_id) < 0 ||
        zn_env_add(env, false, "TORCHELASTIC_RESTART_COUNT", "0") < 0 ||
        zn_env_add(env, false, "TORCHELASTIC_MAX_RESTARTS", "0") < 0 ||
        /* Rank 0's program creates the TCP store itself; no agent holds one for it. */
        zn_env_add(env, false, "TORCHELASTIC_USE_AGENT_STORE", "False") < 0 ||
        zn_env_add(env, false, "ZENITH_BOOTSTRAP", "%s",
                   w->via == ZR_BOOT_PMIX    ? "pmix"
                   : w->via == ZR_BOOT_SLURM ? "slurm"
                                             : "single") < 0 ||
        (rv->nccl_id[0] && zn_env_add(env, false, "ZENITH_NCCL_UNIQUE_ID", "%s", rv->nccl_id) < 0))
        return zn_fail(err, "out of memory");
    return 0;
}

static size_t name_len(const char *entry)
{
    const char *eq = strchr(entry, '=');
    return eq ? (size_t)(eq - entry) : strlen(entry);
}

void zr_child_env_free(char **envp)
{
    for (char **e = envp; e && *e; e++)
        free(*e);
    free(envp);
}

static bool dropped(const char *entry, const char *const *drop)
{
    for (; drop && *drop; drop++)
        if (name_len(entry) == strlen(*drop) && strncmp(entry, *drop, strlen(*drop)) == 0)
            return true;
    return false;
}

char **zr_child_env(char *const *base, const char *const *drop, const struct zn_env *const *sets,
                    size_t nsets)
{
    size_t nbase = 0, cap, n = 0;
    char **out;

    while (base && base[nbase])
        nbase++;
    cap = nbase + 1;
    for (size_t s = 0; s < nsets; s++)
        cap += sets[s]->count;
    out = calloc(cap, sizeof(*out));
    if (!out)
        return NULL;
    for (size_t i = 0; i < nbase; i++)
        if (!dropped(base[i], drop) && !(out[n++] = strdup(base[i])))
            goto oom;
    nbase = n;
    for (size_t s = 0; s < nsets; s++) {
        for (size_t v = 0; v < sets[s]->count; v++) {
            const struct zn_env_var *var = &sets[s]->vars[v];
            size_t len = strlen(var->name), at = n;
            char *entry;

            for (size_t i = 0; i < n && at == n; i++)
                if (name_len(out[i]) == len && strncmp(out[i], var->name, len) == 0)
                    at = i;
            if (at < nbase && var->user_wins)
                continue;
            if (asprintf(&entry, "%s=%s", var->name, var->value) < 0)
                goto oom;
            if (at < n)
                free(out[at]);
            out[at] = entry;
            if (at == n)
                n++;
        }
    }
    return out;
oom:
    zr_child_env_free(out);
    return NULL;
}
