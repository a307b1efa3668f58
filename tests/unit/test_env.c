/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <check.h>
#include <string.h>

#include "runtime/env.h"
#include "tests/unit/testutil.h"

static const struct zn_env_var *find(const struct zn_env *env, const char *name)
{
    for (size_t i = 0; i < env->count; i++)
        if (strcmp(env->vars[i].name, name) == 0)
            return &env->vars[i];
    return NULL;
}

START_TEST(nvidia_task_environment)
{
    struct zn_topology *topo =
        test_load(test_src_path("tests/fixtures/zenith-2s4n-8xH100-4xCX7-smt2.xml"));
    struct zn_step_gpus g;
    struct zn_error err;
    struct zn_env env;
    struct zn_plan *plan;

    /* Under task/cgroup Slurm renumbers the step's GPUs 4-7 as 0-3 for CUDA. */
    ck_assert_int_eq(
        zn_step_gpus_from_env(topo, "0,1,4,5", NULL, "CUDA_VISIBLE_DEVICES", "0,1,2,3", &g, &err),
        0);
    struct zn_request req = {.topo = topo, .gpus = &g, .ntasks = 4};
    plan = zn_plan_compute(&req, &err);
    ck_assert_msg(plan != NULL, "%s", err.text);
    ck_assert_int_eq(zn_env_for_task(plan, 1, &env, &err), 0);
    /* Locality order: Slurm GPUs 4,5 (node 1) before 0,1 (node 4), in CUDA's own numbering. */
    ck_assert_str_eq(zn_env_get(&env, "CUDA_VISIBLE_DEVICES"), "2,3,0,1");
    ck_assert_str_eq(zn_env_get(&env, "CUDA_DEVICE_ORDER"), "PCI_BUS_ID");
    ck_assert_str_eq(zn_env_get(&env, "ZENITH_GPU"), "1");
    ck_assert_str_eq(zn_env_get(&env, "ZENITH_GPU_PCI"), "0000:3c:00.0");
    /* The resolved modes never take a request's name (ZENITH_BIND is --zenith-bind's). */
    ck_assert_str_eq(zn_env_get(&env, "ZENITH_BIND_MODE"), "gpu");
    ck_assert_str_eq(zn_env_get(&env, "ZENITH_MEM_MODE"), "local");
    ck_assert_ptr_null(zn_env_get(&env, "ZENITH_BIND"));
    ck_assert_ptr_null(zn_env_get(&env, "ZENITH_MEM"));
    ck_assert_str_eq(zn_env_get(&env, "OMP_PLACES"), "cores");
    ck_assert(find(&env, "OMP_NUM_THREADS")->user_wins);
    ck_assert(!find(&env, "CUDA_VISIBLE_DEVICES")->user_wins);
    ck_assert_str_eq(zn_env_get(&env, "ZENITH_NIC"), "mlx5_2");
    ck_assert_str_eq(zn_env_get(&env, "UCX_NET_DEVICES"), "mlx5_2:2");
    ck_assert_ptr_null(zn_env_get(&env, "ROCR_VISIBLE_DEVICES"));
    ck_assert_ptr_null(zn_env_get(&env, "ZENITH_HUGEPAGES_RESERVED"));
    zn_env_clear(&env);

    ck_assert_int_eq(zn_env_for_task(plan, 4, &env, &err), -1);
    ck_assert_msg(strstr(err.text, "task 4 is not in the plan"), "%s", err.text);
    zn_plan_destroy(plan);
    zn_step_gpus_clear(&g);
    zn_topology_destroy(topo);
}
END_TEST

START_TEST(amd_unbound_and_hugepages)
{
    struct zn_topology *topo =
        test_load(test_src_path("tests/fixtures/zenith-1s1n-4xMI250X-nosmt.xml"));
    struct zn_step_gpus g;
    struct zn_error err;
    struct zn_env env;

    ck_assert_int_eq(zn_step_gpus_from_list(topo, "--gpus", "0-3", &g, &err), 0);
    struct zn_request req = {
        .topo = topo,
        .gpus = &g,
        .ntasks = 2,
        .policy = {.bind = ZN_BIND_NONE, .hugepage_bytes = 3 << 20},
    };
    struct zn_plan *plan = zn_plan_compute(&req, &err);
    ck_assert_msg(plan != NULL, "%s", err.text);
    ck_assert_int_eq(zn_env_for_task(plan, 1, &env, &err), 0);
    ck_assert_str_eq(zn_env_get(&env, "ROCR_VISIBLE_DEVICES"), "0,1,2,3");
    ck_assert_ptr_null(zn_env_get(&env, "CUDA_VISIBLE_DEVICES"));
    ck_assert_str_eq(zn_env_get(&env, "ZENITH_GPUS"), "2,3");
    ck_assert_str_eq(zn_env_get(&env, "ZENITH_BIND_MODE"), "none");
    /* Unbound: no CPU list, no OpenMP affinity hints, no memory policy. */
    ck_assert_ptr_null(zn_env_get(&env, "ZENITH_CPUS"));
    ck_assert_ptr_null(zn_env_get(&env, "OMP_NUM_THREADS"));
    ck_assert_ptr_null(zn_env_get(&env, "NCCL_IGNORE_CPU_AFFINITY"));
    ck_assert_ptr_null(zn_env_get(&env, "ZENITH_MEMS"));
    /* Slingshot before Ethernet, and no UCX verbs hint for it. */
    ck_assert_str_eq(zn_env_get(&env, "ZENITH_NIC"), "hsn0");
    ck_assert_str_eq(zn_env_get(&env, "ZENITH_NIC_KIND"), "slingshot");
    ck_assert_ptr_null(zn_env_get(&env, "UCX_NET_DEVICES"));
    /* 3M of 2M pages rounds up to 2 pages, all on node 0. */
    ck_assert_str_eq(zn_env_get(&env, "ZENITH_HUGEPAGE_SIZE"), "2M");
    ck_assert_str_eq(zn_env_get(&env, "ZENITH_HUGEPAGES_RESERVED"), "0:2");
    zn_env_clear(&env);
    zn_plan_destroy(plan);
    zn_step_gpus_clear(&g);
    zn_topology_destroy(topo);
}
END_TEST

/* NCCL_IGNORE_CPU_AFFINITY=1 makes NCCL (ncclTopoGetCpuAffinity in src/graph/topo.cc) pin its
 * threads to the GPU's whole CPU set instead of the task's affinity intersected with it: NCCL's
 * threads would leave the task's cores for its neighbours'. So no bound task may carry it, in
 * any bind mode, on any task. */
START_TEST(bound_tasks_leave_nccl_affinity_alone)
{
    static const enum zn_bind modes[] = {ZN_BIND_GPU, ZN_BIND_CORE, ZN_BIND_NUMA, ZN_BIND_SOCKET};
    struct zn_topology *topo =
        test_load(test_src_path("tests/fixtures/zenith-2s4n-8xH100-4xCX7-smt2.xml"));

    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        struct zn_step_gpus g;
        struct zn_plan *plan = test_plan(topo, 8, "0-7", NULL, modes[m], &g);

        for (unsigned i = 0; i < plan->ntasks; i++) {
            struct zn_error err;
            struct zn_env env;

            ck_assert_int_eq(zn_env_for_task(plan, i, &env, &err), 0);
            /* The task is bound (so the rule applies) ... */
            ck_assert_ptr_nonnull(zn_env_get(&env, "ZENITH_CPUS"));
            /* ... and NCCL is left to keep its threads inside that binding. */
            ck_assert_msg(zn_env_get(&env, "NCCL_IGNORE_CPU_AFFINITY") == NULL,
                          "bind=%s task %u exports NCCL_IGNORE_CPU_AFFINITY=%s",
                          zn_bind_name(modes[m]), i, zn_env_get(&env, "NCCL_IGNORE_CPU_AFFINITY"));
            zn_env_clear(&env);
        }
        zn_plan_destroy(plan);
        zn_step_gpus_clear(&g);
    }
    zn_topology_destroy(topo);
}
END_TEST

int main(void)
{
    TCase *tc = tcase_create("env");
    tcase_add_test(tc, nvidia_task_environment);
    tcase_add_test(tc, amd_unbound_and_hugepages);
    tcase_add_test(tc, bound_tasks_leave_nccl_affinity_alone);
    return test_run("env", tc);
}
