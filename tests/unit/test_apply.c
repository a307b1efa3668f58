/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Applying plans on this machine: the kernel's view of the task afterwards must be the plan. */
#include "config.h"

#include <check.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "runtime/apply.h"
#include "tests/unit/testutil.h"

static struct zn_plan *live_plan(struct zn_topology **topo, unsigned ntasks, enum zn_bind bind,
                                 enum zn_mem mem, struct zn_step_gpus *gpus)
{
    struct zn_error err;
    struct zn_plan *plan;

    *topo = zn_topology_load_live(&err);
    ck_assert_msg(*topo != NULL, "%s", err.text);
    memset(gpus, 0, sizeof(*gpus));
    if (ntasks == 0) /* one task per core: each task gets a set narrower than the machine */
        ntasks = (unsigned)(*topo)->ncores;
    struct zn_request req = {.topo = *topo, .ntasks = ntasks, .policy = {.bind = bind, .mem = mem}};
    plan = zn_plan_compute(&req, &err);
    ck_assert_msg(plan != NULL, "%s", err.text);
    return plan;
}

/* Check runs each test in its own process, so pinning here leaves the others alone. */
START_TEST(pins_and_prefers_local_memory)
{
    struct zn_topology *topo;
    struct zn_step_gpus gpus;
    struct zn_plan *plan = live_plan(&topo, 0, ZN_BIND_CORE, ZN_MEM_DEFAULT, &gpus);
    unsigned last = plan->ntasks - 1;
    struct zn_applied applied;
    struct zn_error err;
    hwloc_bitmap_t cpus = hwloc_bitmap_alloc(), mems = hwloc_bitmap_alloc();
    int mode;

    ck_assert_msg(zn_apply_task(plan, last, &applied, &err) == 0, "%s", err.text);
    ck_assert_msg(hwloc_bitmap_isequal(applied.cpus, plan->tasks[last].cpus), "granted %s",
                  test_list(applied.cpus));
    ck_assert_int_eq(zn_apply_current(cpus, &mode, mems, &err), 0);
    ck_assert(hwloc_bitmap_isequal(cpus, plan->tasks[last].cpus));
    ck_assert_str_eq(zn_mempolicy_name(mode), "local");
    ck_assert_int_eq(applied.mem_mode, mode);
    ck_assert_msg(hwloc_bitmap_isequal(mems, plan->tasks[last].mems), "policy nodes %s",
                  test_list(mems));
    hwloc_bitmap_free(applied.cpus);
    hwloc_bitmap_free(cpus);
    hwloc_bitmap_free(mems);
    zn_plan_destroy(plan);
    zn_topology_destroy(topo);
}
END_TEST

START_TEST(interleave_and_bind_policies)
{
    static const enum zn_mem policies[] = {ZN_MEM_INTERLEAVE, ZN_MEM_BIND};
    static const char *names[] = {"interleave", "bind"};

    for (size_t i = 0; i < 2; i++) {
        struct zn_topology *topo;
        struct zn_step_gpus gpus;
        struct zn_plan *plan = live_plan(&topo, 1, ZN_BIND_NUMA, policies[i], &gpus);
        struct zn_error err;
        int mode;

        ck_assert_msg(zn_apply_task(plan, 0, NULL, &err) == 0, "%s", err.text);
        ck_assert_int_eq(zn_apply_current(NULL, &mode, NULL, &err), 0);
        ck_assert_str_eq(zn_mempolicy_name(mode), names[i]);
        zn_plan_destroy(plan);
        zn_topology_destroy(topo);
    }
}
END_TEST

START_TEST(bind_none_leaves_the_task_alone)
{
    struct zn_topology *topo;
    struct zn_step_gpus gpus;
    struct zn_plan *plan = live_plan(&topo, 2, ZN_BIND_NONE, ZN_MEM_DEFAULT, &gpus);
    hwloc_bitmap_t before = hwloc_bitmap_alloc(), after = hwloc_bitmap_alloc();
    struct zn_error err;
    int mode;

    ck_assert_int_eq(zn_apply_current(before, &mode, NULL, &err), 0);
    ck_assert_int_eq(zn_apply_task(plan, 1, NULL, &err), 0);
    ck_assert_int_eq(zn_apply_current(after, &mode, NULL, &err), 0);
    ck_assert(hwloc_bitmap_isequal(before, after));
    ck_assert_str_eq(zn_mempolicy_name(mode), "default");
    hwloc_bitmap_free(before);
    hwloc_bitmap_free(after);
    zn_plan_destroy(plan);
    zn_topology_destroy(topo);
}
END_TEST

/* A plan for CPUs this machine does not have (another host's topology file) must be a clear
 * error, not a silently unpinned task. */
START_TEST(refuses_cpus_the_machine_lacks)
{
    struct zn_topology *topo =
        test_load(test_src_path("tests/fixtures/zenith-2s4n-8xH100-4xCX7-smt2.xml"));
    struct zn_step_gpus gpus;
    struct zn_plan *plan = test_plan(topo, 8, "0-7", NULL, ZN_BIND_GPU, &gpus);
    struct zn_topology *live;
    struct zn_error err;

    live = zn_topology_load_live(&err);
    ck_assert_msg(live != NULL, "%s", err.text);
    if (hwloc_bitmap_intersects(live->all_pus, plan->tasks[7].cpus)) {
        fprintf(stderr,
                "skipped: refuses_cpus_the_machine_lacks needs a machine without CPUs "
                "%s\n",
                test_list(plan->tasks[7].cpus));
    } else {
        ck_assert_int_eq(zn_apply_task(plan, 7, NULL, &err), -1);
        ck_assert_msg(strstr(err.text, "zenith: cannot pin the task to CPUs 28-31,60-63"), "%s",
                      err.text);
    }
    zn_topology_destroy(live);
    zn_plan_destroy(plan);
    zn_step_gpus_clear(&gpus);
    zn_topology_destroy(topo);
}
END_TEST

int main(void)
{
    TCase *tc = tcase_create("apply");
    tcase_add_test(tc, pins_and_prefers_local_memory);
    tcase_add_test(tc, interleave_and_bind_policies);
    tcase_add_test(tc, bind_none_leaves_the_task_alone);
    tcase_add_test(tc, refuses_cpus_the_machine_lacks);
    return test_run("apply", tc);
}
