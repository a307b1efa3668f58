/* SPDX-License-Identifier: GPL-2.0-or-later */
/* zenith-run: one rank of a distributed job. Start-up in order: who am I (PMIx, else Slurm's
 * environment, else alone), placement, rank 0's rendezvous (address, verified port, NCCL id),
 * one collective exchange in which every rank also reports whether it is ready (so one bad
 * rank stops them all instead of leaving the others waiting), the optional NCCL preflight,
 * then the program, supervised until it exits. */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/parse.h"
#include "runtime/topology.h"
#include "launcher/address.h"
#include "launcher/contract.h"
#include "launcher/data.h"
#include "launcher/nccl.h"
#include "launcher/options.h"
#include "launcher/placement.h"
#include "launcher/port.h"
#include "launcher/services.h"
#include "launcher/supervise.h"
#include "launcher/world.h"

extern char **environ;

#define EXIT_STARTUP        1    /* zenith-run itself could not start the program */
#define EXIT_USAGE          2    /* a bad option or environment value */
#define GRACE_MS            3000 /* leftovers of the program: SIGTERM, then SIGKILL after this */
#define PREFLIGHT_TIMEOUT_S 120.0

/* Start-up phases for --timing; one a rank skips shows as "-". */
enum phase {
    PH_INIT,
    PH_PLAN,
    PH_RENDEZVOUS,
    PH_NCCL,
    PH_FENCE,
    PH_PREFLIGHT,
    PH_SPAWN,
    PH_READY,
    PH_COUNT
};
static const char *const phase_names[PH_COUNT] = {"init",  "plan",      "rendezvous", "nccl-id",
                                                  "fence", "preflight", "spawn",      "ready"};

struct run {
    struct zr_options opts;
    struct zr_world world;
    struct zr_placement place;
    struct zr_rendezvous rv;
    struct zr_port_claim port;
    double ms[PH_COUNT]; /* < 0: the phase did not happen */
    struct timespec mark, spawned;
    bool timing_printed;
    bool hwloc_tuned; /* zenith-run set HWLOC_PLUGINS_BLACKLIST for itself, not the program */
};

static double since_ms(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Close the phase that started at the last mark and start the next one. */
static void lap(struct run *r, enum phase ph)
{
    r->ms[ph] = since_ms(&r->mark);
    clock_gettime(CLOCK_MONOTONIC, &r->mark);
}

static void print_timing(struct run *r)
{
    char line[512];
    size_t used;

    if (!r->opts.timing || r->timing_printed)
        return;
    r->timing_printed = true;
    used = (size_t)snprintf(line, sizeof(line), "zenith: timing rank %u (%s):", r->world.rank,
                            r->world.host);
    for (int ph = 0; ph < PH_COUNT && used < sizeof(line); ph++) {
        if (r->ms[ph] < 0)
            used += (size_t)snprintf(line + used, sizeof(line) - used, " %s -%s", phase_names[ph],
                                     ph + 1 < PH_COUNT ? "," : "");
        else
            used += (size_t)snprintf(line + used, sizeof(line) - used, " %s %.1f ms%s",
                                     phase_names[ph], r->ms[ph], ph + 1 < PH_COUNT ? "," : "");
    }
    fprintf(stderr, "%s\n", line);
}

static void on_ready(void *ctx)
{
    struct run *r = ctx;
    r->ms[PH_READY] = since_ms(&r->spawned);
    print_timing(r);
}

/* An error text without its "zenith: " prefix, to quote inside another message. */
static const char *bare(const struct zn_error *err)
{
    return strncmp(err->text, "zenith: ", 8) == 0 ? err->text + 8 : err->text;
}

/* Rank 0 (or a process alone) decides where everybody meets; without PMIx every rank derives
 * it. */
static int make_rendezvous(struct run *r, struct zn_error *err)
{
    const struct zr_options *o = &r->opts;
    struct zr_world *w = &r->world;
    const char *how = "", *port_dir = getenv("ZENITH_PORT_DIR");

    if (w->via == ZR_BOOT_SLURM) {
        /* Nobody can tell the others a choice: every rank derives the same answer. */
        snprintf(r->rv.master_addr, sizeof(r->rv.master_addr), "%s",
                 o->master_addr ? o->master_addr : w->first_host);
        r->rv.master_port = zr_port_guess(o->port_first, o->port_last, w->job_step);
        return 0;
    }
    if (o->master_addr)
        snprintf(r->rv.master_addr, sizeof(r->rv.master_addr), "%s", o->master_addr);
    else if (w->via == ZR_BOOT_SINGLE && !o->iface)
        snprintf(r->rv.master_addr, sizeof(r->rv.master_addr), "127.0.0.1");
    else if (zr_master_addr(o->iface, w->nnodes > 1, r->rv.master_addr, sizeof(r->rv.master_addr),
                            &how, err) < 0)
        return -1;
    if (!port_dir)
        port_dir = ZR_DEFAULT_PORT_DIR;
    if (zr_port_claim(port_dir, o->port_first, o->port_last, w->job_step, &r->port, err) < 0)
        return -1;
    r->rv.master_port = r->port.port;
    if (o->verbose)
        fprintf(stderr,
                "zenith: rank 0 (%s): MASTER_ADDR %s (%s), MASTER_PORT %u (free, claimed)\n",
                w->host, r->rv.master_addr, *how ? how : "given", r->rv.master_port);
    return 0;
}

/* With GPUs on rank 0's node, NCCL ids for the program and the preflight. Never fatal: a
 * program can still build its communicator its own way. False when it was not rank 0's job. */
static bool make_nccl_ids(struct run *r)
{
    const struct zr_nccl_module *nccl;
    struct zn_error err = {{0}};
    char why[256] = "";

    if (r->world.rank != 0 || r->world.via == ZR_BOOT_SLURM || !r->place.gpus_present)
        return false;
    nccl = zr_nccl_load(&err);
    if (!nccl) {
        fprintf(stderr,
                "zenith: rank 0 (%s) has GPUs but NCCL is not usable: %s; "
                "ZENITH_NCCL_UNIQUE_ID is not set\n",
                r->world.host, bare(&err));
        return true;
    }
    if (nccl->unique_id(r->rv.nccl_id, why, sizeof(why)) < 0 ||
        (r->opts.preflight && nccl->unique_id(r->rv.preflight_id, why, sizeof(why)) < 0)) {
        fprintf(stderr, "zenith: rank 0 (%s): %s; ZENITH_NCCL_UNIQUE_ID is not set\n",
                r->world.host, why);
        r->rv.nccl_id[0] = r->rv.preflight_id[0] = '\0';
    }
    return true;
}

/* Round 1: every rank says whether it is ready; rank 0's rendezvous reaches everyone. */
static int exchange(struct run *r, unsigned round, const struct zn_error *mine)
{
    char failure[1024];
    struct zn_error err = {{0}};

    if (zr_world_exchange(&r->world, round, mine->text[0] ? bare(mine) : "", &r->rv, failure,
                          sizeof(failure), &err) < 0) {
        fprintf(stderr, "%s\n", err.text);
        return -1;
    }
    if (!failure[0])
        return 0;
    /* The failing rank says why itself; rank 0 also names it for whoever reads the output. */
    if (mine->text[0])
        fprintf(stderr, "%s (rank %u on %s)\n", mine->text, r->world.rank, r->world.host);
    else if (r->world.rank == 0)
        fprintf(stderr, "zenith: not starting the program: %s\n", failure);
    return -1;
}

/* The CUDA device this rank drives, of the `count` CUDA sees: the GPU of zenith-run's own plan;
 * when the plugin placed the task, the one it exported (that process's plan reaches this one
 * only as text); else one per local rank. */
static int device_for_rank(const struct run *r, int count, int *device, struct zn_error *err)
{
    const char *exported = r->place.by_plugin ? getenv(ZN_ENV_GPU) : NULL;
    const char *p = exported;
    uint64_t v;

    if (r->place.plan && r->place.plan->tasks[r->world.local_rank].gpu >= 0) {
        *device = r->place.plan->tasks[r->world.local_rank].gpu;
        return 0;
    }
    if (!exported) {
        *device = (int)(r->world.local_rank % (unsigned)count);
        return 0;
    }
    if (zn_parse_digits(&p, &v) < 0 || *p || v >= (uint64_t)count)
        return zn_fail(err,
                       "--preflight: %s=%s from the SPANK plugin is not one of the %d GPUs CUDA "
                       "sees on %s; install the plugin and zenith-run from the same Zenith, or "
                       "run without --preflight",
                       ZN_ENV_GPU, exported, count, r->world.host);
    *device = (int)v;
    return 0;
}

/* Rounds 2 and 3: every rank can drive its GPU, then the timed all-reduce. */
static int preflight(struct run *r)
{
    struct zr_preflight p = {.rank = r->world.rank,
                             .size = r->world.size,
                             .id_hex = r->rv.preflight_id,
                             .bytes = r->opts.preflight_bytes,
                             .iterations = 20,
                             .timeout_s = PREFLIGHT_TIMEOUT_S};
    const struct zr_nccl_module *nccl;
    const char *visible = zn_env_get(&r->place.env, "CUDA_VISIBLE_DEVICES");
    struct zn_error mine = {{0}};
    char why[512] = "";
    int count = 0;

    if (!r->rv.preflight_id[0]) {
        if (r->world.rank == 0)
            fprintf(stderr, "zenith: --preflight: %s, NCCL skipped\n",
                    r->world.via == ZR_BOOT_SLURM ? "no PMIx to share an NCCL id (srun --mpi=pmix)"
                                                  : "no GPU on rank 0's node");
        return 0;
    }
    /* CUDA must number the GPUs the way the program will see them. */
    if (visible)
        setenv("CUDA_VISIBLE_DEVICES", visible, 1);
    nccl = zr_nccl_load(&mine);
    if (nccl && (count = nccl->device_count(why, sizeof(why))) <= 0)
        zn_fail(&mine,
                "--preflight: CUDA sees no usable GPU on %s (%s) while rank 0's node has GPUs; "
                "check this node's GPUs and driver, or run without --preflight",
                r->world.host, why[0] ? why : "no device");
    if (exchange(r, 2, &mine) < 0)
        return -1;

    /* A failure here is this rank's; round 3 stops every rank. */
    if (device_for_rank(r, count, &p.device, &mine) == 0) {
        if (nccl->preflight(&p, why, sizeof(why)) < 0)
            zn_fail(&mine, "--preflight failed on %s (GPU %d): %s", r->world.host, p.device, why);
        else if (r->opts.preflight_min_busbw > 0 && p.busbw < r->opts.preflight_min_busbw)
            zn_fail(&mine,
                    "--preflight: bus bandwidth %.1f GB/s on %s is below "
                    "--preflight-min-busbw %.1f",
                    p.busbw, r->world.host, r->opts.preflight_min_busbw);
    }
    if (!mine.text[0])
        fprintf(stderr,
                "zenith: preflight rank %u (%s, GPU %d): all-reduce of %llu bytes in %.3f ms, "
                "bus bandwidth %.1f GB/s\n",
                p.rank, r->world.host, p.device, (unsigned long long)p.bytes, p.seconds * 1e3,
                p.busbw);
    return exchange(r, 3, &mine);
}

static void print_placement(const struct run *r)
{
    const struct zr_world *w = &r->world;
    const char *how = r->place.by_plugin ? "placed by the SPANK plugin"
                      : r->place.plan    ? "placed by zenith-run"
                                         : "not placed (--bind none)";
    const char *cpus = zn_env_get(&r->place.env, ZN_ENV_CPUS);

    fprintf(stderr,
            "zenith: rank %u/%u on %s (local %u/%u, node %u/%u) via %s; MASTER_ADDR=%s "
            "MASTER_PORT=%u; %s%s%s\n",
            w->rank, w->size, w->host, w->local_rank, w->local_size, w->node_rank, w->nnodes,
            zr_bootstrap_name(w->via), r->rv.master_addr, r->rv.master_port, how,
            cpus ? ", CPUs " : "", cpus ? cpus : "");
}

/* The child's environment: the contract, the placement, and where to say it is ready. */
static char **child_environment(struct run *r, struct zn_env *extra, int ready_fd,
                                struct zn_error *err)
{
    struct zn_env contract = {0};
    char iface[64];
    char **envp = NULL;

    if (zr_contract_env(&r->world, &r->rv, &contract, err) < 0)
        goto out;
    /* gloo binds to the address of the interface it is told; without it, to whatever the host
     * name resolves to (nothing, on many clusters: then loopback, and multi-node jobs fail). */
    if ((r->opts.iface && zn_env_add(extra, true, "GLOO_SOCKET_IFNAME", "%s", r->opts.iface) < 0) ||
        (!r->opts.iface && zr_iface_toward(r->rv.master_addr, iface, sizeof(iface)) == 0 &&
         zn_env_add(extra, true, "GLOO_SOCKET_IFNAME", "%s", iface) < 0) ||
        zn_env_add(extra, false, "ZENITH_READY_FD", "%d", ready_fd) < 0) {
        zn_fail(err, "out of memory");
        goto out;
    }
    {
        const struct zn_env *sets[] = {&r->place.env, &contract, extra};
        const char *const drop[] = {r->hwloc_tuned ? "HWLOC_PLUGINS_BLACKLIST" : NULL, NULL};
        envp = zr_child_env(environ, drop, sets, 3);
        if (!envp)
            zn_fail(err, "out of memory");
    }
out:
    zn_env_clear(&contract);
    return envp;
}

static int start_up(struct run *r)
{
    struct zn_error mine = {{0}};

    int rc = zr_place(&r->opts, &r->world, &r->place, &mine);

    /* The data is checked before the exchange: a rank that cannot read it stops them all. */
    if (rc == 0 && r->opts.data_given)
        rc = zr_data_prepare(&r->opts.data, &r->world, &r->place, r->opts.verbose, &mine);
    lap(r, PH_PLAN);
    if (rc == 0 && (r->world.rank == 0 || r->world.via == ZR_BOOT_SLURM)) {
        rc = make_rendezvous(r, &mine);
        lap(r, PH_RENDEZVOUS);
    }
    if (rc == 0 && make_nccl_ids(r))
        lap(r, PH_NCCL);
    if (exchange(r, 1, &mine) < 0)
        return -1;
    lap(r, PH_FENCE);
    if (r->opts.preflight) {
        if (preflight(r) < 0)
            return -1;
        lap(r, PH_PREFLIGHT);
    }
    return 0;
}

static int run_program(struct run *r)
{
    struct zn_env extra = {0};
    struct zn_error err = {{0}};
    struct zr_child child = {.pid = -1, .ready_fd = -1};
    struct zr_exit how;
    char **envp = NULL;
    int pipefd[2] = {-1, -1}, sig, code = EXIT_STARTUP;

    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        perror("zenith: cannot create the readiness pipe");
        return EXIT_STARTUP;
    }
    /* Services first: their variables (where to reach them) go into the program's environment. */
    if (zr_services_start(&r->world, &r->rv, &extra, &err) < 0 ||
        !(envp = child_environment(r, &extra, pipefd[1], &err))) {
        fprintf(stderr, "%s\n", err.text);
        close(pipefd[1]);
        goto stop;
    }
    if (r->opts.verbose)
        print_placement(r);
    /* Slurm cancelled the step while it was starting: do not start the program at all. */
    if ((sig = zr_signal_pending())) {
        fprintf(stderr, "zenith: rank %u: %s before the program started; not starting it\n",
                r->world.rank, strsignal(sig));
        close(pipefd[1]);
        code = 128 + sig;
        goto stop;
    }
    clock_gettime(CLOCK_MONOTONIC, &r->spawned);
    if (zr_spawn(r->opts.program, envp, pipefd[1], &child, &err) < 0) {
        fprintf(stderr, "%s (rank %u on %s)\n", err.text, r->world.rank, r->world.host);
        code = strstr(err.text, "not found") ? 127 : 126; /* as shells do */
        goto stop;
    }
    lap(r, PH_SPAWN);
    child.ready_fd = pipefd[0];
    pipefd[0] = -1;
    zr_supervise(&child, on_ready, r, GRACE_MS, &how);
    print_timing(r);
    if (how.signal)
        fprintf(stderr, "zenith: rank %u (%s): %s was killed by signal %d (%s)%s\n", r->world.rank,
                r->world.host, r->opts.program[0], how.signal, strsignal(how.signal),
                how.core_dumped ? ", core dumped" : "");
    code = how.code;
stop:
    zr_services_stop();
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    zr_child_env_free(envp);
    zn_env_clear(&extra);
    return code;
}

int main(int argc, char **argv)
{
    struct run r = {0};
    struct zn_error err = {{0}};
    int code = EXIT_STARTUP;

    for (int ph = 0; ph < PH_COUNT; ph++)
        r.ms[ph] = -1;
    if (!getenv("HWLOC_PLUGINS_BLACKLIST")) {
        setenv("HWLOC_PLUGINS_BLACKLIST", ZN_HWLOC_UNUSED_PLUGINS, 1);
        r.hwloc_tuned = true;
    }
    clock_gettime(CLOCK_MONOTONIC, &r.mark);
    if (zr_signals_block(&err) < 0) {
        fprintf(stderr, "%s\n", err.text);
        return EXIT_STARTUP;
    }
    switch (zr_options_parse(argc, argv, &r.opts, &err)) {
    case ZR_PARSE_HELP:
        zr_print_usage(stdout);
        return 0;
    case ZR_PARSE_VERSION:
        printf("zenith-run %s\n", PACKAGE_VERSION);
        return 0;
    case ZR_PARSE_ERROR:
        fprintf(stderr, "%s\n", err.text);
        return EXIT_USAGE;
    case ZR_PARSE_RUN:
        break;
    }

    if (zr_world_init(&r.world, &err) < 0) {
        fprintf(stderr, "%s\n", err.text);
        return EXIT_STARTUP;
    }
    lap(&r, PH_INIT);
    if (r.world.via == ZR_BOOT_SLURM && r.world.rank == 0)
        fprintf(stderr,
                "zenith: %s: ranks from Slurm's environment; MASTER_ADDR=%s (the first node's "
                "name) and MASTER_PORT=%u derived from the job, not checked free, and no NCCL "
                "id exchange; run srun --mpi=pmix for those\n",
                r.world.why, r.opts.master_addr ? r.opts.master_addr : r.world.first_host,
                zr_port_guess(r.opts.port_first, r.opts.port_last, r.world.job_step));

    if (start_up(&r) == 0)
        code = run_program(&r);
    zr_data_release();
    zr_world_finalize(&r.world);
    zr_port_release(&r.port);
    zr_placement_clear(&r.place);
    zr_options_clear(&r.opts);
    return code;
}
