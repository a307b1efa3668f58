/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The model and planner on this machine's own topology, checked against what Linux reports. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/golden/invariants.h"
#include "runtime/report.h"
#include "tests/unit/testutil.h"

static size_t sysfs_numa_nodes(void)
{
    DIR *dir = opendir("/sys/devices/system/node");
    struct dirent *de;
    size_t n = 0;

    if (!dir)
        return 1; /* kernels without NUMA show none; hwloc then reports one node */
    while ((de = readdir(dir)))
        if (strncmp(de->d_name, "node", 4) == 0 && de->d_name[4] >= '0' && de->d_name[4] <= '9')
            n++;
    closedir(dir);
    return n;
}

START_TEST(live_model_matches_linux)
{
    struct zn_error err;
    struct zn_topology *topo = zn_topology_load_live(&err);
    cpu_set_t mask;

    ck_assert_msg(topo != NULL, "%s", err.text);
    ck_assert_int_eq(sched_getaffinity(0, sizeof(mask), &mask), 0);
    ck_assert_uint_eq(topo->npus, (size_t)CPU_COUNT(&mask));
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        ck_assert(CPU_ISSET(cpu, &mask) == hwloc_bitmap_isset(topo->all_pus, (unsigned)cpu));
    ck_assert_uint_eq(topo->nnuma, sysfs_numa_nodes());

    /* Huge page counts come from the same sysfs files the SPANK plugin will write. */
    FILE *f = fopen("/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages", "r");
    if (f) {
        unsigned long long count = 0;
        ck_assert_int_eq(fscanf(f, "%llu", &count), 1);
        fclose(f);
        int d = zn_topology_numa_by_os(topo, 0);
        ck_assert_int_ge(d, 0);
        bool found = false;
        for (size_t k = 0; k < topo->numa[d].npools; k++) {
            if (topo->numa[d].pools[k].size == 2097152) {
                ck_assert_uint_eq(topo->numa[d].pools[k].count, count);
                found = true;
            }
        }
        ck_assert_msg(found, "no 2M pool in the live model of node 0");
    }
    zn_topology_destroy(topo);
}
END_TEST

/* This machine's cache in a new directory (dir, path: buffers of 64), and its live model. */
static struct zn_topology *write_cache(char *dir, char *path)
{
    struct zn_topology *live;
    struct zn_error err;

    strcpy(dir, "/tmp/zenith-cache-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, 64, "%s/node.xml", dir);
    ck_assert_msg(zn_topology_write_cache(path, &err) == 0, "%s", err.text);
    live = zn_topology_load_live(&err);
    ck_assert_msg(live != NULL, "%s", err.text);
    return live;
}

START_TEST(cache_round_trip)
{
    struct zn_error err;
    char dir[64], path[64];
    struct zn_topology *live = write_cache(dir, path), *cached;

    /* Sealed, as slurmstepd reads it. */
    cached = zn_topology_load_sealed(path, &err);
    ck_assert_msg(cached != NULL, "%s", err.text);
    /* The cache may hold CPUs this process cannot use, never fewer. */
    ck_assert(hwloc_bitmap_isincluded(live->all_pus, cached->all_pus));
    ck_assert_uint_eq(cached->nnuma, live->nnuma);
    ck_assert_uint_eq(cached->ngpus, live->ngpus);
    ck_assert_uint_eq(cached->nnics, live->nnics);
    for (size_t k = 0; k < live->nnics; k++)
        ck_assert_str_eq(cached->nics[k].name, live->nics[k].name);
    zn_topology_destroy(live);
    zn_topology_destroy(cached);

    /* An unwritable place fails with a message, and leaves no temporary file behind. */
    ck_assert_int_eq(zn_topology_write_cache("/nonexistent-dir/node.xml", &err), -1);
    ck_assert_msg(strstr(err.text, "cannot write /nonexistent-dir/node.xml.tmp"), "%s", err.text);
    unlink(path);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(cache_as_this_machine)
{
    struct zn_error err;
    char dir[64], path[64];
    struct zn_topology *live = write_cache(dir, path), *cached;

    cached = zn_topology_load_cached(path, &err);
    ck_assert_msg(cached != NULL, "%s", err.text);
    /* The same machine as discovery shows it: allowed CPUs, cores, NUMA nodes, devices. */
    ck_assert(hwloc_bitmap_isequal(cached->all_pus, live->all_pus));
    ck_assert_uint_eq(cached->ncores, live->ncores);
    ck_assert_uint_eq(cached->nnuma, live->nnuma);
    ck_assert_uint_eq(cached->ngpus, live->ngpus);
    ck_assert_uint_eq(cached->nnics, live->nnics);
    struct zn_step_gpus none_a, none_b;
    struct zn_plan *a = test_plan(live, 2, NULL, NULL, ZN_BIND_AUTO, &none_a);
    struct zn_plan *b = test_plan(cached, 2, NULL, NULL, ZN_BIND_AUTO, &none_b);
    for (unsigned i = 0; i < 2; i++)
        ck_assert(hwloc_bitmap_isequal(a->tasks[i].cpus, b->tasks[i].cpus));
    zn_plan_destroy(a);
    zn_plan_destroy(b);
    zn_topology_destroy(live);
    zn_topology_destroy(cached);
    unlink(path);
    ck_assert_int_eq(rmdir(dir), 0);

    /* Another machine's cache, or none, is refused with what to do. */
    char other[64];
    strcpy(dir, "/tmp/zenith-cache-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(other, sizeof(other), "%s/other.xml", dir);
    ck_assert_msg(
        zn_topology_seal_xml(test_src_path("tests/fixtures/zenith-2s4n-8xH100-4xCX7-smt2.xml"),
                             other, &err) == 0,
        "%s", err.text);
    ck_assert_ptr_null(zn_topology_load_cached(other, &err));
    ck_assert_msg(strstr(err.text, "it was written on another machine; rewrite it here with "
                                   "'zenith-plan --write-xml"),
                  "%s", err.text);
    unlink(other);
    ck_assert_int_eq(rmdir(dir), 0);
    ck_assert_ptr_null(zn_topology_load_cached("/nonexistent/node.xml", &err));
    ck_assert_msg(strstr(err.text, "cannot read topology cache /nonexistent/node.xml"), "%s",
                  err.text);
}
END_TEST

START_TEST(live_plans)
{
    struct zn_error err;
    struct zn_topology *topo = zn_topology_load_live(&err);
    struct zn_step_gpus none = {0};
    unsigned shapes[] = {1, (unsigned)topo->ncores, (unsigned)topo->npus, 3 * (unsigned)topo->npus};

    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        struct zn_request req = {.topo = topo, .gpus = &none, .ntasks = shapes[s]};
        struct zn_plan *plan = zn_plan_compute(&req, &err);
        ck_assert_msg(plan != NULL, "%u tasks: %s", shapes[s], err.text);
        const char *bad = check_plan_invariants(plan, NULL);
        ck_assert_msg(bad == NULL, "%u tasks: %s", shapes[s], bad);
        ck_assert(plan->cores_shared == (shapes[s] > topo->npus));
        zn_plan_destroy(plan);
    }
    zn_topology_destroy(topo);
}
END_TEST

int main(void)
{
    TCase *tc = tcase_create("live");
    tcase_add_test(tc, live_model_matches_linux);
    tcase_add_test(tc, cache_round_trip);
    tcase_add_test(tc, cache_as_this_machine);
    tcase_add_test(tc, live_plans);
    return test_run("live", tc);
}
