/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/step.h"

static void clear_note(char *note, size_t len)
{
    if (note && len)
        note[0] = '\0';
}

struct zn_topology *zn_step_topology(const struct zn_step_options *opts, char *note,
                                     size_t note_len, struct zn_error *err)
{
    struct zn_topology *topo = NULL;
    char path[PATH_MAX];

    clear_note(note, note_len);
    if (zn_topology_path(opts->topology ? opts->topology : ZN_DEFAULT_TOPOLOGY, opts->node, path,
                         sizeof(path), err) < 0)
        return NULL;
    if (access(path, R_OK) < 0) {
        if (opts->discover)
            return zn_topology_load_live(err);
        if (opts->topology_setting) {
            zn_fail(err,
                    "no topology file %s on node %s; write it as root with 'zenith-plan "
                    "--write-xml %s' (see %s)",
                    path, opts->node, path, opts->topology_setting);
            return NULL;
        }
    }
    /* Both paths check the file's seal and owner before hwloc parses it: slurmstepd runs as
     * root, and a damaged XML can crash hwloc inside it. */
    topo = opts->this_machine ? zn_topology_load_cached(path, err)
                              : zn_topology_load_sealed(path, err);
    if (topo || !opts->discover)
        return topo;
    /* A cache that does not fit this machine, or fails its seal, costs a discovery, not the
     * step. */
    if (note && note_len)
        snprintf(note, note_len, "%s; discovering %s instead", err->text, opts->node);
    return zn_topology_load_live(err);
}

struct zn_plan *zn_step_plan(const struct zn_topology *topo, const struct zn_step_options *opts,
                             zn_env_reader read, void *ctx, struct zn_step_gpus *gpus, char *note,
                             size_t note_len, struct zn_error *err)
{
    char gpu_note[512];

    clear_note(note, note_len);
    if (zn_step_gpus_from_slurm(topo, read, ctx, gpus, gpu_note, sizeof(gpu_note), err) < 0)
        return NULL;
    if (gpu_note[0] && note && note_len)
        snprintf(note, note_len, "zenith: %s: %s", opts->node, gpu_note);

    struct zn_request req = {
        .topo = topo,
        .allowed = opts->allowed,
        .gpus = gpus,
        .ntasks = opts->ntasks,
        .policy = opts->policy,
    };
    return zn_plan_compute(&req, err);
}

int zn_step_place_task(const struct zn_plan *plan, unsigned task, const char *job_step,
                       struct zn_applied *applied, struct zn_env *env, struct zn_error *err)
{
    memset(env, 0, sizeof(*env));
    if (zn_apply_task(plan, task, applied, err) < 0 || zn_env_for_task(plan, task, env, err) < 0)
        return -1;
    if (job_step && *job_step && zn_env_add(env, false, ZN_ENV_PLACED, "%s", job_step) < 0) {
        zn_env_clear(env);
        return zn_fail(err, "out of memory");
    }
    return 0;
}
