/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/placement.h"
#include "runtime/report.h"
#include "runtime/step.h"

static bool placed_by_plugin(const struct zr_world *w)
{
    const char *placed = getenv(ZN_ENV_PLACED);
    return placed && w->job_step[0] && strcmp(placed, w->job_step) == 0;
}

/* The node's topology cache when there is one (ZENITH_TOPOLOGY, %n = this host, else the
 * plugin's default place): a third of the time discovery takes in every rank. Only a cache
 * the user named is required; the default one is used when it exists and fits. */
static int plan_here(const struct zr_options *opts, const struct zr_world *w,
                     struct zr_placement *p, struct zn_error *err)
{
    const char *pattern = getenv("ZENITH_TOPOLOGY");
    struct zn_step_options step = {
        .topology = pattern && *pattern ? pattern : NULL,
        .node = w->host,
        .discover = !(pattern && *pattern),
        .this_machine = true,
        .ntasks = w->local_size,
        .policy = {.bind = opts->bind, .mem = opts->mem},
    };
    struct zn_applied applied = {0};
    char note[768];
    int rc;

    p->topo = zn_step_topology(&step, note, sizeof(note), err);
    if (!p->topo)
        return -1;
    if (note[0] && w->local_rank == 0)
        fprintf(stderr, "%s\n", note);
    p->gpus_present = p->gpus_present || p->topo->ngpus > 0;
    p->plan = zn_step_plan(p->topo, &step, zn_env_read_getenv, NULL, &p->gpus, p->note,
                           sizeof(p->note), err);
    if (!p->plan)
        return -1;
    if (opts->report && w->local_rank == 0) {
        zn_report_plan_text(stderr, p->plan, w->host);
        if (p->note[0])
            fprintf(stderr, "%s\n", p->note);
    }
    rc = zn_step_place_task(p->plan, w->local_rank, w->job_step, &applied, &p->env, err);
    hwloc_bitmap_free(applied.cpus);
    return rc;
}

int zr_place(const struct zr_options *opts, const struct zr_world *w, struct zr_placement *p,
             struct zn_error *err)
{
    memset(p, 0, sizeof(*p));
    if (zn_step_gpus_count_from_slurm(zn_env_read_getenv, NULL, &p->slurm_gpus, err) < 0)
        return -1;
    p->gpus_present = p->slurm_gpus > 0;
    if (p->slurm_gpus && w->local_size > p->slurm_gpus && !opts->share_gpus)
        return zn_fail(err,
                       "%s runs %u ranks but the step has %u GPU%s there; give every rank a GPU "
                       "(srun --gpus-per-task=1, or --ntasks-per-node=%u), or pass --share-gpus "
                       "if sharing is intended",
                       w->host, w->local_size, p->slurm_gpus, p->slurm_gpus == 1 ? "" : "s",
                       p->slurm_gpus);
    p->by_plugin = placed_by_plugin(w) && !opts->placement_given;
    /* --bind none with no memory policy: nothing to plan, leave the task as Slurm placed it. */
    if (p->by_plugin || (opts->bind == ZN_BIND_NONE && !opts->report &&
                         (opts->mem == ZN_MEM_DEFAULT || opts->mem == ZN_MEM_NONE)))
        return 0;
    return plan_here(opts, w, p, err);
}

void zr_placement_clear(struct zr_placement *p)
{
    zn_env_clear(&p->env);
    zn_plan_destroy(p->plan);
    zn_step_gpus_clear(&p->gpus);
    zn_topology_destroy(p->topo);
    memset(p, 0, sizeof(*p));
}
