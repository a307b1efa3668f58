/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/golden/invariants.h"
#include "tests/unit/testutil.h"

static struct zn_topology *topo; /* 2 sockets x 2 NUMA (0,1 | 4,5) x 8 cores x SMT2, 8 GPUs */

static void setup(void)
{
    topo = test_load(test_src_path("tests/fixtures/zenith-2s4n-8xH100-4xCX7-smt2.xml"));
}

static void teardown(void)
{
    zn_topology_destroy(topo);
}

/* Plans with a full policy and returns NULL + message on failure. */
static struct zn_plan *plan_with(unsigned ntasks, const char *gpus, const char *cpus,
                                 struct zn_policy policy, struct zn_step_gpus *keep,
                                 struct zn_error *err)
{
    hwloc_bitmap_t allowed = NULL;
    struct zn_plan *plan;

    memset(keep, 0, sizeof(*keep));
    if (gpus)
        ck_assert_int_eq(zn_step_gpus_from_list(topo, "--gpus", gpus, keep, err), 0);
    if (cpus) {
        allowed = hwloc_bitmap_alloc();
        hwloc_bitmap_list_sscanf(allowed, cpus);
    }
    struct zn_request req = {topo, allowed, keep, ntasks, policy};
    plan = zn_plan_compute(&req, err);
    hwloc_bitmap_free(allowed);
    return plan;
}

static void assert_invariants(const struct zn_plan *plan, const char *cpus)
{
    hwloc_bitmap_t allowed = NULL;
    if (cpus) {
        allowed = hwloc_bitmap_alloc();
        hwloc_bitmap_list_sscanf(allowed, cpus);
    }
    const char *bad = check_plan_invariants(plan, allowed);
    ck_assert_msg(bad == NULL, "%s", bad);
    hwloc_bitmap_free(allowed);
}

START_TEST(gpus_reordered_by_locality)
{
    struct zn_step_gpus g;
    struct zn_plan *plan = test_plan(topo, 8, "0-7", NULL, ZN_BIND_AUTO, &g);

    /* Slurm GPUs 0,1 sit on NUMA node 4 but come first in PCI order: the plan puts the GPUs
     * of node 0 first so task 0 (on node 0's cores) drives visible GPU 0 next to it. */
    unsigned want[] = {2, 3, 4, 5, 0, 1, 6, 7};
    for (unsigned v = 0; v < 8; v++)
        ck_assert_uint_eq(g.index[plan->gpu_order[v]], want[v]);
    ck_assert_int_eq(plan->bind, ZN_BIND_GPU);
    ck_assert_str_eq(test_list(plan->tasks[0].cpus), "0-3,32-35");
    ck_assert_str_eq(test_list(plan->tasks[4].cpus), "16-19,48-51");
    ck_assert_str_eq(test_list(plan->tasks[4].mems), "4");
    ck_assert_int_eq(plan->tasks[4].gpu, 4);
    /* Each task's NIC is the HCA behind its GPU's PCIe switch. */
    ck_assert_str_eq(topo->nics[plan->tasks[0].nic].name, "mlx5_1");
    ck_assert_str_eq(topo->nics[plan->tasks[4].nic].name, "mlx5_0");
    assert_invariants(plan, NULL);
    zn_plan_destroy(plan);
    zn_step_gpus_clear(&g);
}
END_TEST

START_TEST(more_and_fewer_tasks_than_gpus)
{
    struct zn_step_gpus g;
    struct zn_plan *plan = test_plan(topo, 16, "0-7", NULL, ZN_BIND_AUTO, &g);

    for (unsigned i = 0; i < 16; i++) {
        ck_assert_int_eq(plan->tasks[i].gpu, (int)i / 2);
        ck_assert_uint_eq(plan->tasks[i].ncores, 2);
    }
    assert_invariants(plan, NULL);
    zn_plan_destroy(plan);
    zn_step_gpus_clear(&g);

    plan = test_plan(topo, 3, "0-7", NULL, ZN_BIND_AUTO, &g);
    /* 8 GPUs over 3 tasks: 2, 3, 3 owned, every GPU owned once. */
    ck_assert_uint_eq(plan->tasks[0].ngpus_owned, 2);
    ck_assert_uint_eq(plan->tasks[1].first_gpu_owned, 2);
    ck_assert_uint_eq(plan->tasks[1].ngpus_owned, 3);
    ck_assert_uint_eq(plan->tasks[2].ngpus_owned, 3);
    assert_invariants(plan, NULL);
    zn_plan_destroy(plan);
    zn_step_gpus_clear(&g);
}
END_TEST

START_TEST(cpu_only_spreads_over_numa)
{
    struct zn_step_gpus g;
    struct zn_plan *plan = test_plan(topo, 4, NULL, NULL, ZN_BIND_AUTO, &g);

    ck_assert_int_eq(plan->bind, ZN_BIND_CORE);
    const char *want[] = {"0-7,32-39", "8-15,40-47", "16-23,48-55", "24-31,56-63"};
    for (unsigned i = 0; i < 4; i++) {
        ck_assert_str_eq(test_list(plan->tasks[i].cpus), want[i]);
        ck_assert_int_eq(plan->tasks[i].gpu, -1);
    }
    /* The CXL node (6) is never chosen as local memory. */
    ck_assert_str_eq(test_list(plan->tasks[3].mems), "5");
    assert_invariants(plan, NULL);
    zn_plan_destroy(plan);
}
END_TEST

/* The column header of a plan's text report, with single spaces (a static buffer). */
static const char *report_header(const struct zn_plan *plan)
{
    static char buf[256];
    char *text = test_report(plan), *line = strstr(text, "\ntask ");
    size_t n = 0;

    ck_assert_ptr_nonnull(line);
    for (const char *p = line + 1; *p && *p != '\n' && n + 1 < sizeof(buf); p++)
        if (*p != ' ' || (n && buf[n - 1] != ' '))
            buf[n++] = *p;
    buf[n] = '\0';
    free(text);
    return buf;
}

START_TEST(smt_split_and_shared)
{
    struct zn_step_gpus g;
    struct zn_plan *plan = test_plan(topo, 40, NULL, "0-15,32-47", ZN_BIND_AUTO, &g);

    /* 40 tasks, 16 cores, 32 CPUs: more tasks than CPUs, so they share. */
    ck_assert(plan->cores_shared);
    assert_invariants(plan, "0-15,32-47");
    /* Split or shared, the report counts hardware threads, and its header says so. */
    ck_assert_str_eq(report_header(plan), "task cpus threads numa gpu gpu-pci nic");
    zn_plan_destroy(plan);

    plan = test_plan(topo, 32, NULL, "0-15,32-47", ZN_BIND_AUTO, &g);
    ck_assert(plan->cpus_split);
    ck_assert(!plan->cores_shared);
    for (unsigned i = 0; i < 32; i++)
        ck_assert_int_eq(hwloc_bitmap_weight(plan->tasks[i].cpus), 1);
    assert_invariants(plan, "0-15,32-47");
    ck_assert_str_eq(report_header(plan), "task cpus threads numa gpu gpu-pci nic");
    zn_plan_destroy(plan);

    /* 16 tasks on 16 cores: whole cores, counted as cores. */
    plan = test_plan(topo, 16, NULL, "0-15,32-47", ZN_BIND_AUTO, &g);
    ck_assert(!plan->cpus_split);
    ck_assert_uint_eq(plan->tasks[0].ncores, 1);
    ck_assert_int_eq(hwloc_bitmap_weight(plan->tasks[0].cpus), 2);
    ck_assert_str_eq(report_header(plan), "task cpus cores numa gpu gpu-pci nic");
    zn_plan_destroy(plan);
}
END_TEST

START_TEST(gpu_on_the_other_socket_borrows_nearest)
{
    struct zn_step_gpus g;
    /* Package 0's CPUs only, GPUs 0,1 live on node 4 (package 1). */
    struct zn_plan *plan = test_plan(topo, 4, "0-3", "0-15,32-47", ZN_BIND_AUTO, &g);

    ck_assert_str_eq(test_list(plan->tasks[0].cpus), "0-3,32-35");
    ck_assert_str_eq(test_list(plan->tasks[1].cpus), "4-7,36-39");
    ck_assert_str_eq(test_list(plan->tasks[2].cpus), "8-11,40-43");
    ck_assert_str_eq(test_list(plan->tasks[3].cpus), "12-15,44-47");
    assert_invariants(plan, "0-15,32-47");
    zn_plan_destroy(plan);
    zn_step_gpus_clear(&g);
}
END_TEST

START_TEST(numa_socket_none_and_memory_policies)
{
    struct zn_step_gpus g;
    struct zn_error err;
    struct zn_plan *plan;

    plan = plan_with(4, "0-7", NULL, (struct zn_policy){.bind = ZN_BIND_NUMA}, &g, &err);
    ck_assert_ptr_nonnull(plan);
    ck_assert_str_eq(test_list(plan->tasks[2].cpus), "16-23,48-55"); /* GPUs 0,1: node 4 */
    ck_assert_str_eq(test_list(plan->tasks[2].mems), "4");
    assert_invariants(plan, NULL);
    zn_plan_destroy(plan);
    zn_step_gpus_clear(&g);

    plan =
        plan_with(2, NULL, NULL,
                  (struct zn_policy){.bind = ZN_BIND_SOCKET, .mem = ZN_MEM_INTERLEAVE}, &g, &err);
    ck_assert_str_eq(test_list(plan->tasks[1].cpus), "16-31,48-63");
    ck_assert_str_eq(test_list(plan->tasks[1].mems), "0-1,4-5");
    assert_invariants(plan, NULL);
    zn_plan_destroy(plan);

    plan = plan_with(2, NULL, "0-7", (struct zn_policy){.bind = ZN_BIND_NONE}, &g, &err);
    ck_assert_int_eq(plan->mem, ZN_MEM_NONE);
    ck_assert_str_eq(test_list(plan->tasks[0].cpus), "0-7");
    ck_assert(hwloc_bitmap_iszero(plan->tasks[0].mems));
    assert_invariants(plan, "0-7");
    zn_plan_destroy(plan);

    plan =
        plan_with(2, NULL, NULL,
                  (struct zn_policy){.bind = ZN_BIND_CORE, .mem = ZN_MEM_BIND, .cores_per_task = 3},
                  &g, &err);
    ck_assert_uint_eq(plan->tasks[0].ncores, 3);
    ck_assert_str_eq(test_list(plan->tasks[1].cpus), "16-18,48-50");
    ck_assert_int_eq(plan->mem, ZN_MEM_BIND);
    assert_invariants(plan, NULL);
    zn_plan_destroy(plan);
}
END_TEST

START_TEST(hugepages_split_by_tasks)
{
    struct zn_step_gpus g;
    struct zn_error err;
    struct zn_plan *plan;

    /* 3 tasks on nodes 0, 1, 4 (blocks of 10-11 cores starting at 0, 10, 21): 9G of 2M
     * pages is 4608 pages, 1536 per task's first node. */
    plan = plan_with(3, NULL, NULL, (struct zn_policy){.hugepage_bytes = 9ULL << 30}, &g, &err);
    ck_assert_msg(plan != NULL, "%s", err.text);
    ck_assert_uint_eq(plan->hugepage_size, 2097152);
    ck_assert_uint_eq(plan->nhugepages, 3);
    uint64_t total = 0;
    for (size_t k = 0; k < plan->nhugepages; k++)
        total += plan->hugepages[k].pages;
    ck_assert_uint_eq(total, 4608);
    ck_assert_uint_eq(plan->hugepages[0].numa_os, 0);
    ck_assert_uint_eq(plan->hugepages[0].pages, 1536);
    zn_plan_destroy(plan);

    /* Uneven: 5 pages of 1G over 4 nodes, remainders go one extra page each. */
    plan = plan_with(4, NULL, NULL,
                     (struct zn_policy){.hugepage_bytes = 5ULL << 30, .hugepage_size = 1ULL << 30},
                     &g, &err);
    ck_assert_msg(plan != NULL, "%s", err.text);
    ck_assert_uint_eq(plan->nhugepages, 4);
    ck_assert_uint_eq(plan->hugepages[0].pages, 2);
    ck_assert_uint_eq(plan->hugepages[3].pages, 1);
    zn_plan_destroy(plan);
}
END_TEST

START_TEST(bad_input_is_refused_clearly)
{
    static const struct {
        unsigned ntasks;
        const char *gpus, *cpus;
        struct zn_policy policy;
        const char *needle;
    } bad[] = {
        {0, NULL, NULL, {0}, "no task"},
        {4, NULL, "", {0}, "CPU set is empty"},
        {4, NULL, "0-3,200", {0}, "CPUs 200 of the step are not in the topology"},
        {33, NULL, NULL, {.bind = ZN_BIND_CORE}, "bind=core gives every task a core"},
        {4, NULL, NULL, {.cores_per_task = 9}, "4 tasks x 9 cores per task need 36 cores"},
        {4, NULL, NULL, {.bind = ZN_BIND_GPU}, "bind=gpu needs GPUs"},
        {4,
         NULL,
         NULL,
         {.hugepage_bytes = 1 << 30, .hugepage_size = 16 << 20},
         "huge page size 16M is not available on this node (it has 2M, 1G)"},
        {4, NULL, NULL, {.hugepage_bytes = 1ULL << 50}, "do not fit"},
        /* Once rounded up to whole pages by adding first, these wrapped to 0 pages. */
        {4, NULL, NULL, {.hugepage_bytes = UINT64_MAX}, "do not fit"},
        {4, NULL, NULL, {.hugepage_bytes = UINT64_MAX - (1 << 20)}, "do not fit"},
        {4, NULL, NULL, {.hugepage_bytes = UINT64_MAX, .hugepage_size = 1 << 30}, "do not fit"},
        {5000, NULL, NULL, {0}, "more than zenith places"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct zn_step_gpus g;
        struct zn_error err = {{0}};
        struct zn_plan *plan =
            plan_with(bad[i].ntasks, bad[i].gpus, bad[i].cpus, bad[i].policy, &g, &err);
        ck_assert_msg(plan == NULL, "case %zu was accepted", i);
        ck_assert_msg(strncmp(err.text, "zenith: ", 8) == 0 && strstr(err.text, bad[i].needle),
                      "case %zu: '%s' does not say '%s'", i, err.text, bad[i].needle);
        zn_step_gpus_clear(&g);
    }
}
END_TEST

/* The message of planning `cpus` on `t` (which must be refused). */
static const char *refusal(const struct zn_topology *t, const char *cpus)
{
    static struct zn_error err;
    struct zn_step_gpus none = {0};
    hwloc_bitmap_t allowed = hwloc_bitmap_alloc();
    struct zn_plan *plan;

    ck_assert_int_eq(hwloc_bitmap_list_sscanf(allowed, cpus), 0);
    struct zn_request req = {.topo = t, .allowed = allowed, .gpus = &none, .ntasks = 2};
    plan = zn_plan_compute(&req, &err);
    ck_assert_msg(plan == NULL, "--cpus %s was accepted", cpus);
    hwloc_bitmap_free(allowed);
    return err.text;
}

/* CPUs the topology has but does not allow are not "missing": the file is right, the allowed
 * set (the XML's allowed_cpuset, or this process's cgroup) is what leaves them out. */
START_TEST(cpus_outside_the_allowed_set_are_not_called_missing)
{
    char path[] = "/tmp/zenith-allowed-XXXXXX";
    hwloc_topology_t hw;
    hwloc_bitmap_t pkg0 = hwloc_bitmap_alloc();
    struct zn_topology *t;
    const char *msg;
    int fd = mkstemp(path);

    /* The 8-GPU fixture with only package 0's CPUs allowed, the way hwloc writes it when the
     * writer's cpuset is restricted. */
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(hwloc_bitmap_list_sscanf(pkg0, "0-15,32-47"), 0);
    ck_assert_int_eq(hwloc_topology_init(&hw), 0);
    ck_assert_int_eq(hwloc_topology_set_flags(hw, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED), 0);
    ck_assert_int_eq(hwloc_topology_set_xml(
                         hw, test_src_path("tests/fixtures/zenith-2s4n-8xH100-4xCX7-smt2.xml")),
                     0);
    ck_assert_int_eq(hwloc_topology_load(hw), 0);
    ck_assert_int_eq(hwloc_topology_allow(hw, pkg0, NULL, HWLOC_ALLOW_FLAG_CUSTOM), 0);
    ck_assert_int_eq(hwloc_topology_export_xml(hw, path, 0), 0);
    hwloc_topology_destroy(hw);
    t = test_load(path);
    unlink(path);
    ck_assert_str_eq(test_list(t->all_pus), "0-15,32-47");
    ck_assert_str_eq(test_list(t->complete_pus), "0-63");

    msg = refusal(t, "14-17");
    ck_assert_msg(strstr(msg, "zenith: CPUs 16-17 of the step are in the topology ") &&
                      strstr(msg, "(CPUs 0-63) but outside its allowed_cpuset, 0-15,32-47") &&
                      !strstr(msg, "another machine"),
                  "%s", msg);
    /* A CPU the file does not have at all is still the wrong-machine case, named alone. */
    msg = refusal(t, "14-17,70");
    ck_assert_msg(strstr(msg, "zenith: CPUs 70 of the step are not in the topology ") &&
                      strstr(msg, "may be from another machine"),
                  "%s", msg);
    /* Loaded as this machine, the allowed set is this process's cgroup or cpuset. */
    t->allowed_by_process = true;
    msg = refusal(t, "16");
    ck_assert_msg(strstr(msg, "CPUs 16 of the step are in the topology ") &&
                      strstr(msg, "outside the CPUs this process may use, 0-15,32-47, which its "
                                  "cgroup or cpuset sets"),
                  "%s", msg);
    hwloc_bitmap_free(pkg0);
    zn_topology_destroy(t);
}
END_TEST

START_TEST(deterministic)
{
    struct zn_step_gpus g1, g2;
    struct zn_plan *a = test_plan(topo, 6, "1-6", "0-27,32-59", ZN_BIND_AUTO, &g1);
    struct zn_plan *b = test_plan(topo, 6, "1-6", "0-27,32-59", ZN_BIND_AUTO, &g2);
    char *ra = test_report(a), *rb = test_report(b);

    ck_assert_str_eq(ra, rb);
    assert_invariants(a, "0-27,32-59");
    free(ra);
    free(rb);
    zn_plan_destroy(a);
    zn_plan_destroy(b);
    zn_step_gpus_clear(&g1);
    zn_step_gpus_clear(&g2);
}
END_TEST

int main(void)
{
    TCase *tc = tcase_create("plan");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, gpus_reordered_by_locality);
    tcase_add_test(tc, more_and_fewer_tasks_than_gpus);
    tcase_add_test(tc, cpu_only_spreads_over_numa);
    tcase_add_test(tc, smt_split_and_shared);
    tcase_add_test(tc, gpu_on_the_other_socket_borrows_nearest);
    tcase_add_test(tc, numa_socket_none_and_memory_policies);
    tcase_add_test(tc, hugepages_split_by_tasks);
    tcase_add_test(tc, bad_input_is_refused_clearly);
    tcase_add_test(tc, cpus_outside_the_allowed_set_are_not_called_missing);
    tcase_add_test(tc, deterministic);
    return test_run("plan", tc);
}
