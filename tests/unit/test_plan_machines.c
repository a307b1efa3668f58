/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The planner on the machines where it was once wrong, one test per rule: real servers' exports
 * from ../shared/fixtures (their tests are left out, with a line saying so, when absent) and
 * Zenith's own small topologies in tests/fixtures for the shapes no shared export has. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/golden/invariants.h"
#include "tests/unit/testutil.h"

static struct zn_topology *load_own(const char *file)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "tests/fixtures/%s", file);
    return test_load(test_src_path(rel));
}

static struct zn_topology *load_shared(const char *file)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "topology/%s", file);
    const char *path = test_shared_path(rel);
    ck_assert_msg(path != NULL, "%s: the shared fixtures went away during the test", file);
    return test_load(path);
}

static unsigned nodes_of(const struct zn_topology *topo, hwloc_const_bitmap_t cpus)
{
    unsigned n = 0;
    for (size_t d = 0; d < topo->nnuma; d++)
        n += hwloc_bitmap_intersects(topo->numa[d].cpuset, cpus) ? 1 : 0;
    return n;
}

/* Rule: counts per task differ by one at most; cores an even share cannot hand out without
 * moving a task off its GPU's node stay idle, and the report says so. Lassen, 7 tasks on 4
 * GPUs, once gave 5,5,5,5,7,7,6. */
START_TEST(lassen_seven_tasks_get_even_shares)
{
    struct zn_topology *topo = load_shared("llnl-lassen28_2xPOWER9_4xV100-NVLink_hwloc2.2.xml");
    struct zn_step_gpus gpus;
    struct zn_plan *plan = test_plan(topo, 7, "0-3", NULL, ZN_BIND_AUTO, &gpus);
    static const unsigned want[] = {5, 5, 5, 5, 6, 6, 6};

    for (unsigned i = 0; i < 7; i++) {
        ck_assert_uint_eq(plan->tasks[i].ncores, want[i]);
        ck_assert_uint_eq(nodes_of(topo, plan->tasks[i].cpus), 1);
    }
    ck_assert_uint_eq(plan->units_idle, 2);
    char *report = test_report(plan);
    ck_assert_ptr_nonnull(strstr(report, "tasks got 5 or 6 cores"));
    ck_assert_ptr_nonnull(strstr(report, "2 allowed cores stay idle"));
    ck_assert_ptr_null(check_plan_invariants(plan, NULL));
    free(report);
    zn_plan_destroy(plan);
    zn_step_gpus_clear(&gpus);
    zn_topology_destroy(topo);
}
END_TEST

/* Rule: with more tasks than CPUs the load stays even over the whole allowed set. g4dn, GPUs
 * 0-3 all on node 0: 97 tasks once ran on node 0's 48 CPUs only, up to 3 per CPU. */
START_TEST(g4dn_oversubscription_stays_even)
{
    struct zn_topology *topo = load_shared("aws-g4dn.metal_2xXeon8259CL_8xT4_EFA_hwloc2.8.xml");
    struct zn_step_gpus gpus;

    for (unsigned ntasks = 96; ntasks <= 193; ntasks += 97) {
        struct zn_plan *plan = test_plan(topo, ntasks, "0-3", NULL, ZN_BIND_AUTO, &gpus);
        unsigned load[96] = {0}, most = 0, least = ~0u, on_home = 0;
        for (unsigned i = 0; i < ntasks; i++) {
            int cpu = hwloc_bitmap_first(plan->tasks[i].cpus);
            ck_assert_int_eq(hwloc_bitmap_weight(plan->tasks[i].cpus), 1);
            load[cpu]++;
            on_home += hwloc_bitmap_isincluded(plan->tasks[i].cpus, topo->numa[0].cpuset);
        }
        for (unsigned c = 0; c < 96; c++) {
            most = load[c] > most ? load[c] : most;
            least = load[c] < least ? load[c] : least;
        }
        /* 96 tasks: one per CPU; 193: two per CPU and one CPU of the GPUs' node runs three. */
        ck_assert_uint_eq(least, ntasks / 96);
        ck_assert_uint_eq(most, (ntasks + 95) / 96);
        ck_assert_uint_eq(on_home, ntasks == 96 ? 48 : 97);
        ck_assert_ptr_null(check_plan_invariants(plan, NULL));
        zn_plan_destroy(plan);
        zn_step_gpus_clear(&gpus);
    }
    struct zn_plan *plan = test_plan(topo, 97, "0-3", NULL, ZN_BIND_AUTO, &gpus);
    hwloc_bitmap_t used = hwloc_bitmap_alloc();
    for (unsigned i = 0; i < 97; i++)
        hwloc_bitmap_or(used, used, plan->tasks[i].cpus);
    ck_assert_int_eq(hwloc_bitmap_weight(used), 96);
    hwloc_bitmap_free(used);
    zn_plan_destroy(plan);
    zn_step_gpus_clear(&gpus);
    zn_topology_destroy(topo);
}
END_TEST

/* Rule: huge pages go to the node of the task's GPU. Corona's MI50s sit on nodes 1, 2, 5, 7,
 * while each task's first cores are on 0, 2, 4, 6. */
START_TEST(corona_hugepages_on_the_gpus_nodes)
{
    struct zn_topology *topo =
        load_shared("llnl-corona145_2xEPYC7401-8NUMA_4xAMD-MI50_hwloc2.2.xml");
    struct zn_step_gpus gpus;
    struct zn_plan *plan = test_plan_policy(
        topo, 4, "0-3", NULL, (struct zn_policy){.hugepage_bytes = 8ull << 30}, &gpus);
    static const unsigned nodes[] = {1, 2, 5, 7};

    ck_assert_uint_eq(plan->nhugepages, 4);
    for (unsigned k = 0; k < 4; k++) {
        ck_assert_uint_eq(plan->hugepages[k].numa_os, nodes[k]);
        ck_assert_uint_eq(plan->hugepages[k].pages, 1024);
    }
    zn_plan_destroy(plan);
    zn_step_gpus_clear(&gpus);
    /* mem=bind cannot allocate off the task's own nodes: the pages follow the task there. */
    plan = test_plan_policy(topo, 4, "0-3", "0-2,48-50",
                            (struct zn_policy){.mem = ZN_MEM_BIND, .hugepage_bytes = 8ull << 20},
                            &gpus);
    ck_assert_uint_eq(plan->nhugepages, 1);
    ck_assert_uint_eq(plan->hugepages[0].numa_os, 0);
    zn_plan_destroy(plan);
    zn_step_gpus_clear(&gpus);
    zn_topology_destroy(topo);
}
END_TEST

/* Rule: socket mode finds each task's package whatever the object order. An hwloc 1.x POWER9
 * export puts NUMA nodes above packages; both tasks once got both sockets. */
START_TEST(power9_hwloc1_socket_per_package)
{
    struct zn_topology *topo = load_own("zenith-2s2n-4xV100-power9-hwloc1.xml");
    struct zn_step_gpus gpus;

    ck_assert_int_eq(topo->numa[zn_topology_numa_by_os(topo, 0)].package, 0);
    ck_assert_int_eq(topo->numa[zn_topology_numa_by_os(topo, 8)].package, 1);
    struct zn_plan *plan = test_plan(topo, 4, "0-3", NULL, ZN_BIND_SOCKET, &gpus);
    for (unsigned i = 0; i < 4; i++)
        ck_assert_str_eq(test_list(plan->tasks[i].cpus), i < 2 ? "0-15" : "16-31");
    zn_plan_destroy(plan);
    zn_step_gpus_clear(&gpus);
    zn_topology_destroy(topo);
}
END_TEST

/* Rule: a task's cores lie in as few NUMA nodes, then L3 caches, as the shape allows. NPS4:
 * each GPU has two NUMA nodes; its two tasks once got half of each. */
START_TEST(nps4_tasks_keep_to_one_node_and_cache)
{
    struct zn_topology *topo = load_own("zenith-2s8n-4xGPU-nps4-l3.xml");
    struct zn_step_gpus gpus;

    struct zn_plan *plan = test_plan(topo, 8, "0-3", NULL, ZN_BIND_AUTO, &gpus);
    for (unsigned i = 0; i < 8; i++) {
        ck_assert_uint_eq(nodes_of(topo, plan->tasks[i].cpus), 1);
        ck_assert_uint_eq(plan->tasks[i].ncores, 8);
    }
    zn_plan_destroy(plan);
    zn_step_gpus_clear(&gpus);
    /* Three cores each, four tasks on GPU 0's two nodes (2 x 2 L3 caches of 4 cores): every
     * task inside one L3 cache, one core of each cache left over. */
    plan = test_plan_policy(topo, 4, "0", "0-15,64-79",
                            (struct zn_policy){.bind = ZN_BIND_GPU, .cores_per_task = 3}, &gpus);
    for (unsigned i = 0; i < 4; i++) {
        int cache = -1;
        for (size_t c = 0; c < topo->ncores; c++) {
            if (!hwloc_bitmap_intersects(topo->cores[c].pus, plan->tasks[i].cpus))
                continue;
            ck_assert_msg(cache < 0 || cache == topo->cores[c].cache,
                          "task %u spans two L3 caches: %s", i, test_list(plan->tasks[i].cpus));
            cache = topo->cores[c].cache;
        }
    }
    hwloc_bitmap_t allowed = hwloc_bitmap_alloc();
    hwloc_bitmap_list_sscanf(allowed, "0-15,64-79");
    ck_assert_ptr_null(check_plan_invariants(plan, allowed));
    hwloc_bitmap_free(allowed);
    zn_plan_destroy(plan);
    zn_step_gpus_clear(&gpus);
    /* Several tasks of one GPU never straddle sockets while their GPU's socket holds them. */
    plan = test_plan(topo, 12, "0-3", NULL, ZN_BIND_AUTO, &gpus);
    for (unsigned i = 0; i < 12; i++) {
        int package = -1;
        for (size_t c = 0; c < topo->ncores; c++)
            if (hwloc_bitmap_intersects(topo->cores[c].pus, plan->tasks[i].cpus)) {
                ck_assert(package < 0 || package == topo->cores[c].package);
                package = topo->cores[c].package;
            }
    }
    zn_plan_destroy(plan);
    zn_step_gpus_clear(&gpus);
    zn_topology_destroy(topo);
}
END_TEST

/* Rule: mem=hbm / prefer-hbm take the HBM node next to the task's cores (flat mode), and are
 * refused where a node has no HBM. */
START_TEST(xeon_max_hbm_modes)
{
    struct zn_topology *topo = load_own("zenith-2s4n-xeonmax-hbm-flat.xml");
    struct zn_step_gpus gpus;
    struct zn_error err = {{0}};

    for (int mode = 0; mode < 2; mode++) {
        enum zn_mem mem = mode ? ZN_MEM_PREFER_HBM : ZN_MEM_HBM;
        struct zn_plan *plan = test_plan_policy(
            topo, 4, NULL, NULL, (struct zn_policy){.mem = mem, .hugepage_bytes = 8 << 20}, &gpus);
        for (unsigned i = 0; i < 4; i++) {
            /* DDR node i (cores 8i..8i+7) has HBM node 4+i beside it. */
            char want[8];
            snprintf(want, sizeof(want), "%u", 4 + i);
            ck_assert_str_eq(test_list(plan->tasks[i].mems), want);
        }
        /* Huge pages where the task allocates first: its HBM node. */
        ck_assert_uint_eq(plan->hugepages[0].numa_os, 4);
        ck_assert_ptr_null(check_plan_invariants(plan, NULL));
        zn_plan_destroy(plan);
        zn_step_gpus_clear(&gpus);
    }
    zn_topology_destroy(topo);

    topo = load_own("zenith-2s4n-8xH100-4xCX7-smt2.xml"); /* CXL memory, but no HBM */
    struct zn_request req = {.topo = topo, .ntasks = 2, .policy = {.mem = ZN_MEM_HBM}};
    ck_assert_ptr_null(zn_plan_compute(&req, &err));
    ck_assert_ptr_nonnull(strstr(err.text, "mem=hbm"));
    ck_assert_ptr_nonnull(strstr(err.text, "no HBM NUMA node"));
    ck_assert_ptr_nonnull(strstr(err.text, "use mem=local"));
    zn_topology_destroy(topo);

    enum zn_mem parsed;
    ck_assert_int_eq(zn_mem_parse("--zenith-mem", "prefer-hbm", &parsed, &err), 0);
    ck_assert_int_eq(parsed, ZN_MEM_PREFER_HBM);
    ck_assert_int_eq(zn_mem_parse("--zenith-mem", "hbm2", &parsed, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.text, "--zenith-mem=hbm2 is not a memory policy"));
}
END_TEST

int main(void)
{
    TCase *tc = tcase_create("machines");
    tcase_add_test(tc, power9_hwloc1_socket_per_package);
    tcase_add_test(tc, nps4_tasks_keep_to_one_node_and_cache);
    tcase_add_test(tc, xeon_max_hbm_modes);
    if (test_shared_path("topology")) {
        tcase_add_test(tc, lassen_seven_tasks_get_even_shares);
        tcase_add_test(tc, g4dn_oversubscription_stays_even);
        tcase_add_test(tc, corona_hugepages_on_the_gpus_nodes);
    } else {
        printf("skipped: no ../shared fixtures: the Lassen, g4dn and Corona cases\n");
    }
    return test_run("machines", tc);
}
