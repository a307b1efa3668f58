/* SPDX-License-Identifier: GPL-2.0-or-later */
/* slurmstepd: one plan per step per node (init_post_opt, as root, before any task exists),
 * huge pages reserved for the job, then each task applies its own share (task_init, as the
 * user, right before exec). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/parse.h"
#include "runtime/report.h"
#include "runtime/step.h"
#include "spank/args.h"
#include "spank/ledger.h"
#include "spank/policy.h"
#include "spank/settings.h"
#include "spank/zenith.h"

/* Step ids Slurm reserves (slurm.h's SLURM_BATCH_SCRIPT, SLURM_EXTERN_CONT, ...). */
#define ZN_STEP_BATCH       0xfffffffbu
#define ZN_STEP_SPECIAL_MIN 0xfffffff0u

/* The plugin's state in this slurmstepd: one step on one node. slurmstepd forks each task
 * from the process that planned, so every task reads the plan computed once for the step. */
struct zn_spank {
    struct zn_request_opts opts; /* what the user asked, resolved in the step's environment */
    char node[256];
    struct zn_topology *topo;
    struct zn_step_gpus gpus;
    struct zn_plan *plan;
    struct zn_decision decision;
    char notes[1024];  /* reserved huge pages, cores ignored, ...: for the report */
    char failure[512]; /* why the step must not start; each task prints it and fails */
};

static struct zn_spank zn_spank;

static void add_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void add_note(const char *fmt, ...)
{
    size_t used = strlen(zn_spank.notes);
    va_list ap;

    if (used + 2 >= sizeof(zn_spank.notes))
        return;
    va_start(ap, fmt);
    vsnprintf(zn_spank.notes + used, sizeof(zn_spank.notes) - used, fmt, ap);
    va_end(ap);
    used = strlen(zn_spank.notes);
    if (used + 1 < sizeof(zn_spank.notes))
        strcat(zn_spank.notes, "\n");
}

/* A failure while planning. When the user asked for Zenith, the step must not start: every
 * task prints the message and fails. Otherwise the tasks run as Slurm placed them and the
 * reason goes to slurmd's log (and the report, if asked for). */
static int fail_step(const struct zn_error *err)
{
    if (zn_spank.decision.strict) {
        snprintf(zn_spank.failure, sizeof(zn_spank.failure), "%s", err->text);
    } else {
        slurm_info("%s (tasks run as Slurm placed them)", err->text);
        add_note("%s; tasks run as Slurm placed them", err->text);
    }
    zn_plan_destroy(zn_spank.plan);
    zn_spank.plan = NULL;
    return 0;
}

static void node_name(void)
{
    const char *name = getenv("SLURMD_NODENAME");

    if (name && *name) {
        snprintf(zn_spank.node, sizeof(zn_spank.node), "%s", name);
    } else if (gethostname(zn_spank.node, sizeof(zn_spank.node)) < 0) {
        snprintf(zn_spank.node, sizeof(zn_spank.node), "unknown");
    }
}

static bool env_set(spank_t sp, const char *name, char *buf, size_t len)
{
    return spank_getenv(sp, name, buf, (int)len) == ESPANK_SUCCESS && buf[0];
}

/* Slurm numbers a node's cores socket by socket, as hwloc's logical order does; when
 * slurm.conf matches the hardware, Slurm core c is the topology's core c. */
static int cores_to_cpus(const char *list, hwloc_bitmap_t cpus, unsigned *ignored,
                         struct zn_error *err)
{
    hwloc_bitmap_t cores = hwloc_bitmap_alloc();
    int core, rc = -1;

    *ignored = 0;
    hwloc_bitmap_zero(cpus);
    if (!cores || hwloc_bitmap_list_sscanf(cores, list) < 0) {
        zn_fail(err, "cannot read Slurm's core list '%s'", list);
        goto out;
    }
    hwloc_bitmap_foreach_begin(core, cores)
    {
        if ((size_t)core < zn_spank.topo->ncores)
            hwloc_bitmap_or(cpus, cpus, zn_spank.topo->cores[core].pus);
        else
            (*ignored)++;
    }
    hwloc_bitmap_foreach_end();
    if (hwloc_bitmap_iszero(cpus)) {
        zn_fail(err,
                "Slurm gave this step cores %s but %s has only %zu cores; slurm.conf's node "
                "definition and the topology file disagree (rewrite it with zenith-plan "
                "--write-xml on this node)",
                list, zn_spank.topo->source, zn_spank.topo->ncores);
        goto out;
    }
    rc = 0;
out:
    hwloc_bitmap_free(cores);
    return rc;
}

static bool job_has_whole_node(spank_t sp)
{
    char *list = NULL;
    hwloc_bitmap_t cores;
    bool whole = false;

    if (spank_get_item(sp, S_JOB_ALLOC_CORES, &list) != ESPANK_SUCCESS || !list)
        return false;
    cores = hwloc_bitmap_alloc();
    if (cores && hwloc_bitmap_list_sscanf(cores, list) == 0) {
        whole = true;
        for (size_t c = 0; c < zn_spank.topo->ncores; c++)
            whole = whole && hwloc_bitmap_isset(cores, (unsigned)c);
    }
    hwloc_bitmap_free(cores);
    return whole;
}

static bool read_step_env(void *sp, const char *name, char *buf, size_t len)
{
    return env_set(sp, name, buf, len);
}

/* The job's reservation is per node, not per step: a later step asking for more gets only the
 * difference, and its notes say which NUMA nodes an earlier step already covered. The site's
 * limit is on what the steps add up to, which only the ledger knows. */
static int reserve_hugepages(spank_t sp, struct zn_error *err)
{
    struct zn_hugepage_ledger ledger = zn_spank_ledger();
    const struct zn_plan *plan = zn_spank.plan;
    char key[300], size[32];
    uint64_t *added = NULL;
    uint32_t jobid = 0;
    int rc = -1;

    if (spank_get_item(sp, S_JOB_ID, &jobid) != ESPANK_SUCCESS)
        return zn_fail(err, "cannot read the job id to record its huge pages");
    ledger.max_bytes = zn_spank_settings()->hugepages_max;
    added = calloc(plan->nhugepages, sizeof(*added));
    if (!added)
        return zn_fail(err, "out of memory");
    zn_spank_hugepage_key(jobid, key, sizeof(key));
    if (zn_hugepages_reserve(&ledger, key, plan->hugepage_size, plan->hugepages, plan->nhugepages,
                             added, err) < 0)
        goto out;
    zn_format_size(plan->hugepage_size, size, sizeof(size));
    for (size_t i = 0; i < plan->nhugepages; i++) {
        unsigned long long pages = plan->hugepages[i].pages, more = added[i];

        if (more == pages)
            add_note("zenith: %s: huge pages: %llu x %s on NUMA node %u reserved until the job "
                     "ends",
                     zn_spank.node, pages, size, plan->hugepages[i].numa_os);
        else if (more == 0)
            add_note("zenith: %s: huge pages: %llu x %s on NUMA node %u (already reserved by an "
                     "earlier step of this job)",
                     zn_spank.node, pages, size, plan->hugepages[i].numa_os);
        else
            add_note("zenith: %s: huge pages: %llu x %s on NUMA node %u reserved until the job "
                     "ends (%llu added to the %llu an earlier step of this job reserved)",
                     zn_spank.node, pages, size, plan->hugepages[i].numa_os, more, pages - more);
    }
    rc = 0;
out:
    free(added);
    return rc;
}

int zn_remote_init_post_opt(spank_t sp)
{
    const struct zn_spank_config *cfg = zn_spank_settings();
    struct zn_step_facts facts = {0};
    struct zn_error err = {{0}};
    /* slurmstepd's own cpuset is not its tasks': the file is read whole, as a plain XML. */
    struct zn_step_options step = {
        .topology = cfg->topology,
        .node = zn_spank.node,
        .topology_setting = "topology= in zenith(8)",
    };
    hwloc_bitmap_t allowed = NULL;
    uint32_t stepid = 0, ntasks = 0;
    char *cores = NULL, buf[64], note[768];
    unsigned ignored = 0;

    if (spank_get_item(sp, S_JOB_STEPID, &stepid) != ESPANK_SUCCESS)
        return 0;
    if (stepid >= ZN_STEP_SPECIAL_MIN && stepid != ZN_STEP_BATCH)
        return 0; /* the extern and interactive steps run no user tasks to place */
    node_name();
    if (zn_spank_resolve_options(zn_args_cli(), read_step_env, sp, cfg, &zn_spank.opts, &err) < 0) {
        zn_spank.decision.strict = true;
        return fail_step(&err);
    }

    facts.batch = stepid == ZN_STEP_BATCH;
    /* srun sends these only when its user asked (--cpu-bind, SLURM_CPU_BIND); the task
     * plugin fills them in later for every task. */
    facts.user_cpu_bind = env_set(sp, "SLURM_CPU_BIND_TYPE", buf, sizeof(buf));
    facts.user_mem_bind = env_set(sp, "SLURM_MEM_BIND_TYPE", buf, sizeof(buf));

    /* Decide once without the node's facts to learn whether anything is asked at all, so a
     * node without a topology file costs nothing when Zenith has nothing to do. */
    zn_spank_decide(cfg, &zn_spank.opts, &facts, &zn_spank.decision);
    if (!zn_spank.decision.plan && !cfg->exclusive_only)
        return 0;
    zn_spank.topo = zn_step_topology(&step, NULL, 0, &err);
    if (!zn_spank.topo)
        return fail_step(&err);
    facts.whole_node = job_has_whole_node(sp);
    zn_spank_decide(cfg, &zn_spank.opts, &facts, &zn_spank.decision);
    if (zn_spank.decision.why[0])
        add_note("zenith: %s: %s", zn_spank.node, zn_spank.decision.why);
    if (!zn_spank.decision.plan)
        return 0;

    if (spank_get_item(sp, facts.batch ? S_JOB_ALLOC_CORES : S_STEP_ALLOC_CORES, &cores) !=
            ESPANK_SUCCESS ||
        !cores) {
        zn_fail(&err, "Slurm did not say which cores the step has on %s", zn_spank.node);
        return fail_step(&err);
    }
    allowed = hwloc_bitmap_alloc();
    if (!allowed || cores_to_cpus(cores, allowed, &ignored, &err) < 0) {
        hwloc_bitmap_free(allowed);
        return fail_step(&err);
    }
    {
        char *cpus = NULL;
        hwloc_bitmap_list_asprintf(&cpus, allowed);
        add_note("zenith: %s: the step has Slurm cores %s = CPUs %s", zn_spank.node, cores,
                 cpus ? cpus : "?");
        free(cpus);
    }
    if (ignored)
        add_note("zenith: %s: %u of Slurm's cores (%s) are not in %s: slurm.conf describes more "
                 "cores than this topology file has",
                 zn_spank.node, ignored, cores, zn_spank.topo->source);
    if (spank_get_item(sp, S_JOB_LOCAL_TASK_COUNT, &ntasks) != ESPANK_SUCCESS || ntasks == 0) {
        hwloc_bitmap_free(allowed);
        zn_fail(&err, "Slurm did not say how many tasks the step has on %s", zn_spank.node);
        return fail_step(&err);
    }
    step.allowed = allowed;
    step.ntasks = ntasks;
    step.policy = zn_spank.decision.policy;
    zn_spank.plan = zn_step_plan(zn_spank.topo, &step, read_step_env, sp, &zn_spank.gpus, note,
                                 sizeof(note), &err);
    hwloc_bitmap_free(allowed);
    if (note[0])
        add_note("%s", note);
    if (!zn_spank.plan)
        return fail_step(&err);
    if (zn_spank.decision.reserve && zn_spank.plan->nhugepages && reserve_hugepages(sp, &err) < 0) {
        /* Huge pages were asked for by name: never start a job that would SIGBUS later. */
        zn_spank.decision.strict = true;
        return fail_step(&err);
    }
    return 0;
}

/* One write, so the report of one node is not interleaved with another's in srun's output. */
static void print_report(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    if (!out)
        return;
    if (zn_spank.plan)
        zn_report_plan_text(out, zn_spank.plan, zn_spank.node);
    fputs(zn_spank.notes, out);
    if (fclose(out) == 0 && len && write(STDERR_FILENO, text, len) < 0)
        slurm_info("zenith: cannot write the binding report: %m");
    free(text);
}

/* Tells zenith-run in the task that the placement is done, and for which step. */
static int step_name(spank_t sp, char *name, size_t len, struct zn_error *err)
{
    uint32_t jobid = 0, stepid = 0;

    if (spank_get_item(sp, S_JOB_ID, &jobid) != ESPANK_SUCCESS ||
        spank_get_item(sp, S_JOB_STEPID, &stepid) != ESPANK_SUCCESS)
        return zn_fail(err, "cannot name the step the task was placed for");
    snprintf(name, len, "%u.%u", jobid, stepid);
    return 0;
}

static int export_env(spank_t sp, const struct zn_env *env, struct zn_error *err)
{
    for (size_t i = 0; i < env->count; i++)
        if (spank_setenv(sp, env->vars[i].name, env->vars[i].value, !env->vars[i].user_wins) !=
                ESPANK_SUCCESS &&
            !env->vars[i].user_wins)
            return zn_fail(err, "cannot set %s in the task's environment", env->vars[i].name);
    return 0;
}

int zn_remote_task_init(spank_t sp)
{
    struct zn_error err = {{0}};
    struct zn_applied applied = {0};
    struct zn_env env = {0};
    uint32_t task = 0;
    char job_step[32];
    int rc = 0;

    if (zn_spank.failure[0]) {
        fprintf(stderr, "%s\n", zn_spank.failure);
        return -1;
    }
    if (spank_get_item(sp, S_TASK_ID, &task) != ESPANK_SUCCESS)
        return 0;
    if (task == 0 && zn_spank.decision.verbose)
        print_report();
    if (!zn_spank.plan || !zn_spank.decision.apply)
        goto out;
    if (step_name(sp, job_step, sizeof(job_step), &err) < 0 ||
        zn_step_place_task(zn_spank.plan, task, job_step, &applied, &env, &err) < 0 ||
        export_env(sp, &env, &err) < 0) {
        fprintf(stderr, "%s (node %s, task %u)\n", err.text, zn_spank.node, task);
        rc = zn_spank.decision.strict ? -1 : 0;
        goto out;
    }
    if (zn_spank.plan->bind != ZN_BIND_NONE && applied.cpus &&
        !hwloc_bitmap_isequal(applied.cpus, zn_spank.plan->tasks[task].cpus)) {
        char *want = NULL, *got = NULL;
        hwloc_bitmap_list_asprintf(&want, zn_spank.plan->tasks[task].cpus);
        hwloc_bitmap_list_asprintf(&got, applied.cpus);
        fprintf(stderr,
                "zenith: %s task %u: planned CPUs %s, the kernel allowed %s (a cpuset narrower "
                "than the allocation?)\n",
                zn_spank.node, task, want ? want : "?", got ? got : "?");
        free(want);
        free(got);
    }
out:
    zn_env_clear(&env);
    hwloc_bitmap_free(applied.cpus);
    return rc;
}

void zn_remote_exit(void)
{
    zn_plan_destroy(zn_spank.plan);
    zn_spank.plan = NULL;
    zn_step_gpus_clear(&zn_spank.gpus);
    zn_topology_destroy(zn_spank.topo);
    zn_spank.topo = NULL;
}
