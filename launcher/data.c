/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/engine.h"
#include "launcher/data.h"
#include "launcher/supervise.h"

static struct zn_engine *engine;
static cpu_set_t cpus;
static unsigned rank, local_rank;
static bool talk; /* --verbose */

/* A variable of the task's placement: zenith-run's own plan, else what the plugin exported. */
static const char *placed(void *ctx, const char *name)
{
    const struct zr_placement *p = ctx;
    const char *v = p->by_plugin ? NULL : zn_env_get(&p->env, name);
    return v ? v : getenv(name);
}

int zr_data_prepare(const struct zn_dataspec *spec, const struct zr_world *w,
                    const struct zr_placement *p, bool verbose, struct zn_error *err)
{
    struct zn_engine_config cfg = {.spec = spec, .rank = w->rank, .world = w->size};
    static char name[64];

    /* The rank's CPUs are zenith-run's own now: the plugin or zr_place bound this process. */
    if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0)
        cfg.cpus = &cpus;
    zn_engine_place(&cfg, placed, (void *)p);
    snprintf(name, sizeof(name), "zenith-data.rank%u", w->rank);
    cfg.name = name;
    rank = w->rank;
    local_rank = w->local_rank;
    talk = verbose;
    engine = zn_engine_open(&cfg, err);
    return engine ? 0 : -1;
}

static int start(const struct zr_world *w, const struct zr_rendezvous *rv, struct zn_env *child_env,
                 struct zn_error *err)
{
    const char *notice;
    int fd;

    if (!engine)
        return 0;
    if (zn_engine_start(engine, err) < 0)
        return -1;
    fd = zn_engine_fd(engine);
    /* The program's copy of the arena: the only descriptor zenith-run hands on besides the
     * readiness pipe. */
    if (fcntl(fd, F_SETFD, 0) < 0)
        return zn_fail(err, "data: cannot hand the arena to the program: %m");
    zr_inherit_fd(fd);
    if (zn_env_add(child_env, false, ZN_ENV_DATAPLANE_FD, "%d", fd) < 0)
        return zn_fail(err, "out of memory");
    notice = zn_engine_notice(engine);
    /* Each node's first rank speaks for the node: the others would say the same. */
    if (*notice && local_rank == 0)
        fprintf(stderr, "%s", notice);
    if (talk)
        fprintf(stderr, "zenith: rank %u data: %s\n", rank, zn_engine_describe(engine));
    return 0;
}

static void stop(void)
{
    struct zn_error err = {{0}};

    if (!engine)
        return;
    if (zn_engine_stop(engine, &err) < 0)
        fprintf(stderr, "%s (rank %u)\n", err.text, rank);
    zn_engine_close(engine);
    engine = NULL;
}

void zr_data_release(void)
{
    stop();
}

const struct zr_service zr_data_service = {.name = "data", .start = start, .stop = stop};
