/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Golden binding tests: for real GPU servers (../shared/fixtures, skipped when absent) and
 * Zenith's own topologies, the plans for common shapes must match the committed, hand-checked
 * outputs in tests/golden/expected/, and every plan must satisfy the invariants.
 * ZENITH_GOLDEN_UPDATE=1 rewrites the expected files instead (review the diff by hand). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/env.h"
#include "tests/golden/invariants.h"
#include "tests/golden/topologies.h"
#include "runtime/report.h"
#include "tests/unit/testutil.h"

enum shape {
    ONE_TASK_PER_NODE,
    ONE_TASK_PER_GPU,
    TWO_TASKS_PER_GPU,
    CPU_ONLY_16,
    HALF_NODE,
    HALF_GPUS_WHOLE_NODE,
    SOCKET_PER_PACKAGE,
    PREFER_HBM,
    NSHAPES
};
static const char *const shape_names[] = {
    "1-task-per-node", "1-task-per-gpu",       "2-tasks-per-gpu",    "cpu-only-16-tasks",
    "half-node",       "half-gpus-whole-node", "socket-per-package", "prefer-hbm-per-numa"};

struct golden_case {
    char path[4096];
    char name[128]; /* topology file without .xml */
    enum shape shape;
};

static struct golden_case cases[128];
static int ncases;

/* Half a node: the CPUs of package 0 (or the first half of the cores when there is one
 * package) and the first half of the GPUs in Slurm order, one task per GPU (4 without GPUs). */
static void half_node(const struct zn_topology *topo, hwloc_bitmap_t allowed, char *gpus,
                      size_t len, unsigned *ntasks)
{
    hwloc_bitmap_zero(allowed);
    for (size_t c = 0; c < topo->ncores; c++) {
        bool take = topo->npackages > 1 ? topo->cores[c].package == 0 : c < topo->ncores / 2;
        if (take)
            hwloc_bitmap_or(allowed, allowed, topo->cores[c].pus);
    }
    gpus[0] = '\0';
    *ntasks = 4;
    if (topo->ngpus >= 2) {
        snprintf(gpus, len, "0-%zu", topo->ngpus / 2 - 1);
        *ntasks = (unsigned)(topo->ngpus / 2);
    }
}

/* The text the golden file holds: the report, then task 0's and the last task's environment. */
static char *render(const struct golden_case *gc, const struct zn_topology *topo, bool *skip)
{
    hwloc_bitmap_t allowed = NULL;
    struct zn_step_gpus gpus;
    char gpu_list[32] = "", *text = NULL;
    size_t len = 0;
    unsigned ntasks = 1;
    struct zn_policy policy = {.bind = ZN_BIND_AUTO};
    bool hbm = false;
    struct zn_plan *plan;
    FILE *out;

    *skip = false;
    switch (gc->shape) {
    case ONE_TASK_PER_NODE:
    case ONE_TASK_PER_GPU:
    case TWO_TASKS_PER_GPU:
        if (gc->shape != ONE_TASK_PER_NODE && !topo->ngpus) {
            *skip = true;
            return NULL;
        }
        if (topo->ngpus)
            snprintf(gpu_list, sizeof(gpu_list), "0-%zu", topo->ngpus - 1);
        ntasks = gc->shape == ONE_TASK_PER_NODE  ? 1
                 : gc->shape == ONE_TASK_PER_GPU ? (unsigned)topo->ngpus
                                                 : 2 * (unsigned)topo->ngpus;
        break;
    case CPU_ONLY_16:
        ntasks = 16;
        break;
    case HALF_NODE:
        allowed = hwloc_bitmap_alloc();
        half_node(topo, allowed, gpu_list, sizeof(gpu_list), &ntasks);
        break;
    case HALF_GPUS_WHOLE_NODE:
        /* srun --ntasks-per-node=4 --gres=gpu:4 on a whole 8-GPU node: the shape the SPANK
         * plugin's report is checked against in the real cluster (t-spank-report.sh). */
        if (topo->ngpus < 2) {
            *skip = true;
            return NULL;
        }
        snprintf(gpu_list, sizeof(gpu_list), "0-%zu", topo->ngpus / 2 - 1);
        ntasks = (unsigned)(topo->ngpus / 2);
        break;
    case SOCKET_PER_PACKAGE:
        policy.bind = ZN_BIND_SOCKET;
        ntasks = topo->npackages ? (unsigned)topo->npackages : 1;
        break;
    case PREFER_HBM:
        /* One task per NUMA node with cores, its memory on the HBM next to it. */
        ntasks = 0;
        for (size_t d = 0; d < topo->nnuma; d++) {
            ntasks += topo->numa[d].has_cpus ? 1 : 0;
            hbm |= zn_numa_is_hbm(&topo->numa[d]);
        }
        if (!hbm) {
            *skip = true;
            return NULL;
        }
        policy.mem = ZN_MEM_PREFER_HBM;
        break;
    case NSHAPES:
        break;
    }
    char *cpus = NULL;
    if (allowed)
        hwloc_bitmap_list_asprintf(&cpus, allowed);
    plan = test_plan_policy(topo, ntasks, gpu_list, cpus, policy, &gpus);
    const char *bad = check_plan_invariants(plan, allowed);
    ck_assert_msg(bad == NULL, "%s/%s: invariant broken: %s", gc->name, shape_names[gc->shape],
                  bad);

    out = open_memstream(&text, &len);
    fprintf(out, "# zenith-plan --xml %s.xml --tasks %u%s%s%s%s%s%s%s%s\n", gc->name, ntasks,
            gpu_list[0] ? " --gpus " : "", gpu_list, cpus ? " --cpus " : "", cpus ? cpus : "",
            policy.bind != ZN_BIND_AUTO ? " --bind " : "",
            policy.bind != ZN_BIND_AUTO ? zn_bind_name(policy.bind) : "",
            policy.mem != ZN_MEM_DEFAULT ? " --mem " : "",
            policy.mem != ZN_MEM_DEFAULT ? zn_mem_name(policy.mem) : "");
    ck_assert_int_eq(zn_report_plan_text(out, plan, NULL), 0);
    unsigned shown[2] = {0, plan->ntasks - 1};
    for (int k = 0; k < (plan->ntasks > 1 ? 2 : 1); k++) {
        struct zn_env env;
        struct zn_error err;
        ck_assert_msg(zn_env_for_task(plan, shown[k], &env, &err) == 0, "%s", err.text);
        fprintf(out, "# environment of task %u\n", shown[k]);
        for (size_t v = 0; v < env.count; v++)
            fprintf(out, "%s=%s\n", env.vars[v].name, env.vars[v].value);
        zn_env_clear(&env);
    }
    fclose(out);
    free(cpus);
    zn_plan_destroy(plan);
    zn_step_gpus_clear(&gpus);
    hwloc_bitmap_free(allowed);
    return text;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = calloc(1, (size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_golden_case)
{
    const struct golden_case *gc = &cases[_i];
    struct zn_topology *topo = test_load(gc->path);
    char expected_path[8192], dir[4096];
    bool skip;
    char *actual = render(gc, topo, &skip);

    zn_topology_destroy(topo);
    if (skip)
        return; /* shape needs GPUs; the topology has none */
    snprintf(dir, sizeof(dir), "%s", test_src_path("tests/golden/expected"));
    snprintf(expected_path, sizeof(expected_path), "%s/%s/%s.txt", dir, gc->name,
             shape_names[gc->shape]);
    if (getenv("ZENITH_GOLDEN_UPDATE")) {
        char sub[8192];
        snprintf(sub, sizeof(sub), "%s/%s", dir, gc->name);
        mkdir(sub, 0755);
        spit(expected_path, actual);
        free(actual);
        return;
    }
    char *expected = slurp(expected_path);
    ck_assert_msg(expected != NULL, "no golden file %s; run 'make update-golden' and review it",
                  expected_path);
    if (strcmp(expected, actual) != 0) {
        char actual_path[4096];
        const char *build = getenv("ZENITH_BUILDDIR");
        snprintf(actual_path, sizeof(actual_path), "%s/%s__%s.actual", build ? build : ".",
                 gc->name, shape_names[gc->shape]);
        spit(actual_path, actual);
        ck_abort_msg("plan for %s/%s differs from the golden file; see diff -u %s %s", gc->name,
                     shape_names[gc->shape], expected_path, actual_path);
    }
    free(expected);
    free(actual);
}
END_TEST

int main(void)
{
    int skipped = 0;

    for (size_t t = 0; t < golden_ntopologies; t++) {
        const struct topology_case *tc = &golden_topologies[t];
        const char *path = golden_topology_path(tc);
        if (!path) {
            printf("skipped: no ../shared fixtures (%s)\n", tc->file);
            skipped++;
            continue;
        }
        for (int s = 0; s < NSHAPES; s++) {
            struct golden_case *gc = &cases[ncases++];
            snprintf(gc->path, sizeof(gc->path), "%s", path);
            snprintf(gc->name, sizeof(gc->name), "%.*s", (int)(strlen(tc->file) - 4), tc->file);
            gc->shape = (enum shape)s;
        }
    }
    TCase *tc = tcase_create("golden");
    tcase_add_loop_test(tc, test_golden_case, 0, ncases);
    if (skipped)
        printf("golden: %d topologies skipped (shared fixtures absent)\n", skipped);
    return test_run("golden", tc);
}
