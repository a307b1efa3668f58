/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/apply.h"
#include "launcher/placement.h"
#include "runtime/report.h"

static bool read_own_env(void *ctx, const char *name, char *buf, size_t len)
{
    const char *value = getenv(name);

    (void)ctx;
    if (!value || !*value)
        return false;
    snprintf(buf, len, "%s", value);
    return true;
}

static bool placed_by_plugin(const struct zr_world *w)
{
    const char *placed = getenv(ZN_ENV_PLACED);
    return placed && w->job_step[0] && strcmp(placed, w->job_step) == 0;
}

/* The node's topology cache when there is one (ZENITH_TOPOLOGY, %n = this host, else the
 * plugin's default place): a third of the time discovery takes in every rank. */
static struct zn_topology *load_topology(const struct zr_world *w, struct zn_error *err)
{
    const char *pattern = getenv("ZENITH_TOPOLOGY");
    struct zn_topology *topo;
    char path[PATH_MAX];

    if (pattern && *pattern) {
        if (zn_topology_path(pattern, w->host, path, sizeof(path), err) < 0)
            return NULL;
        return zn_topology_load_cached(path, err);
    }
    if (access(ZN_DEFAULT_TOPOLOGY, R_OK) == 0) {
        topo = zn_topology_load_cached(ZN_DEFAULT_TOPOLOGY, err);
        if (topo)
            return topo;
        if (w->local_rank == 0)
            fprintf(stderr, "%s; discovering %s instead\n", err->text, w->host);
    }
    return zn_topology_load_live(err);
}

static int plan_here(const struct zr_options *opts, const struct zr_world *w,
                     struct zr_placement *p, struct zn_error *err)
{
    struct zn_applied applied = {0};
    int rc = -1;

    p->topo = load_topology(w, err);
    if (!p->topo)
        return -1;
    p->gpus_present = p->gpus_present || p->topo->ngpus > 0;
    if (zn_step_gpus_from_slurm(p->topo, read_own_env, NULL, &p->gpus, p->note, sizeof(p->note),
                                err) < 0)
        return -1;

    struct zn_request req = {
        .topo = p->topo,
        .gpus = &p->gpus,
        .ntasks = w->local_size,
        .policy = {.bind = opts->bind, .mem = opts->mem},
    };
    p->plan = zn_plan_compute(&req, err);
    if (!p->plan)
        return -1;
    if (opts->report && w->local_rank == 0) {
        zn_report_plan_text(stderr, p->plan, w->host);
        if (p->note[0])
            fprintf(stderr, "zenith: %s: %s\n", w->host, p->note);
    }
    if (zn_apply_task(p->plan, w->local_rank, &applied, err) < 0 ||
        zn_env_for_task(p->plan, w->local_rank, &p->env, err) < 0)
        goto out;
    if (w->job_step[0] && zn_env_add(&p->env, false, ZN_ENV_PLACED, "%s", w->job_step) < 0) {
        zn_fail(err, "out of memory");
        goto out;
    }
    rc = 0;
out:
    hwloc_bitmap_free(applied.cpus);
    return rc;
}

int zr_place(const struct zr_options *opts, const struct zr_world *w, struct zr_placement *p,
             struct zn_error *err)
{
    memset(p, 0, sizeof(*p));
    if (zn_step_gpus_count_from_slurm(read_own_env, NULL, &p->slurm_gpus, err) < 0)
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
