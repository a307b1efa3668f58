/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/testutil.h"

static struct zn_topology *topo;

static void setup(void)
{
    topo = test_load(test_src_path("tests/fixtures/zenith-2s4n-8xH100-4xCX7-smt2.xml"));
}

static void teardown(void)
{
    zn_topology_destroy(topo);
}

START_TEST(explicit_list)
{
    struct zn_step_gpus g;
    struct zn_error err;

    ck_assert_int_eq(zn_step_gpus_from_list(topo, "--gpus", "6,2-3", &g, &err), 0);
    ck_assert_uint_eq(g.count, 3);
    ck_assert_uint_eq(g.index[0], 6);
    ck_assert_str_eq(g.visible[0], "6");
    ck_assert_str_eq(g.visible[2], "3");
    zn_step_gpus_clear(&g);

    ck_assert_int_eq(zn_step_gpus_from_list(topo, "--gpus", "0-8", &g, &err), -1);
    ck_assert_msg(strstr(err.text, "--gpus=0-8: GPU 8 does not exist; the node has 8 GPUs (0-7)"),
                  "%s", err.text);
    ck_assert_uint_eq(g.count, 0);
    /* The node's 8 GPUs bound the work: the first range past them ends the parse. */
    ck_assert_int_eq(zn_step_gpus_from_list(topo, "--gpus", "0-65535", &g, &err), -1);
    ck_assert_msg(strstr(err.text, "--gpus=0-65535: GPU 8 does not exist"), "%s", err.text);
    ck_assert_int_eq(zn_step_gpus_from_list(topo, "--gpus", "9-12,1", &g, &err), -1);
    ck_assert_msg(strstr(err.text, "GPU 9 does not exist"), "%s", err.text);
}
END_TEST

START_TEST(slurm_environment_precedence)
{
    struct zn_step_gpus g;
    struct zn_error err;

    /* The step's list wins over the job's. */
    ck_assert_int_eq(
        zn_step_gpus_from_env(topo, "4,5", "0-7", "CUDA_VISIBLE_DEVICES", "4,5", &g, &err), 0);
    ck_assert_uint_eq(g.count, 2);
    ck_assert_uint_eq(g.index[0], 4);
    ck_assert_str_eq(g.source, "SLURM_STEP_GPUS");
    ck_assert_str_eq(g.visible[1], "5");
    zn_step_gpus_clear(&g);

    /* task/cgroup renumbers the visible GPUs from 0: keep the runtime's names. */
    ck_assert_int_eq(
        zn_step_gpus_from_env(topo, "4,5", NULL, "CUDA_VISIBLE_DEVICES", "0,1", &g, &err), 0);
    ck_assert_uint_eq(g.index[1], 5);
    ck_assert_str_eq(g.visible[0], "0");
    ck_assert_str_eq(g.visible[1], "1");
    zn_step_gpus_clear(&g);

    /* Lengths that disagree: the visible list cannot be trusted, use Slurm's indices. */
    ck_assert_int_eq(
        zn_step_gpus_from_env(topo, NULL, "1,2", "CUDA_VISIBLE_DEVICES", "0", &g, &err), 0);
    ck_assert_str_eq(g.source, "SLURM_JOB_GPUS");
    ck_assert_str_eq(g.visible[0], "1");
    zn_step_gpus_clear(&g);

    /* Outside Slurm, the numeric visible list is all there is. */
    ck_assert_int_eq(zn_step_gpus_from_env(topo, NULL, "", "CUDA_VISIBLE_DEVICES", "3,1", &g, &err),
                     0);
    ck_assert_uint_eq(g.index[0], 3);
    ck_assert_str_eq(g.source, "CUDA_VISIBLE_DEVICES");
    zn_step_gpus_clear(&g);
}
END_TEST

START_TEST(no_gpus_and_unmappable_names)
{
    struct zn_step_gpus g;
    struct zn_error err;

    ck_assert_int_eq(
        zn_step_gpus_from_env(topo, NULL, NULL, "CUDA_VISIBLE_DEVICES", NULL, &g, &err), 0);
    ck_assert_uint_eq(g.count, 0);
    ck_assert_int_eq(
        zn_step_gpus_from_env(topo, NULL, NULL, "CUDA_VISIBLE_DEVICES", "NoDevFiles", &g, &err), 0);
    ck_assert_uint_eq(g.count, 0);
    ck_assert_int_eq(zn_step_gpus_from_env(topo, NULL, NULL, "CUDA_VISIBLE_DEVICES",
                                           "GPU-029490c8-a116", &g, &err),
                     -1);
    ck_assert_msg(strstr(err.text, "UUIDs") && strstr(err.text, "CUDA_VISIBLE_DEVICES="), "%s",
                  err.text);
    ck_assert_int_eq(zn_step_gpus_from_env(topo, "12", NULL, NULL, NULL, &g, &err), -1);
    ck_assert_msg(strstr(err.text, "SLURM_STEP_GPUS=12"), "%s", err.text);
}
END_TEST

START_TEST(node_without_gpus)
{
    const char *path =
        test_shared_path("topology/supermicro-inti6000_2xEPYC7551-8NUMA_cpuonly_hwloc1.11.xml");
    struct zn_step_gpus g;
    struct zn_error err;

    if (!path) {
        printf("skipped: no ../shared fixtures (supermicro)\n");
        return;
    }
    struct zn_topology *cpu_only = test_load(path);
    ck_assert_int_eq(zn_step_gpus_from_env(cpu_only, "0", NULL, NULL, NULL, &g, &err), -1);
    ck_assert_msg(strstr(err.text, "SLURM_STEP_GPUS=0") && strstr(err.text, "has none"), "%s",
                  err.text);
    zn_topology_destroy(cpu_only);
}
END_TEST

/* A step environment as a table, read the way slurmstepd and zenith-run read theirs. */
static bool read_table(void *ctx, const char *name, char *buf, size_t len)
{
    for (const char *const *kv = ctx; kv[0]; kv += 2)
        if (strcmp(kv[0], name) == 0 && *kv[1]) {
            snprintf(buf, len, "%s", kv[1]);
            return true;
        }
    return false;
}

START_TEST(slurm_reader)
{
    const char *step[] = {"SLURM_STEP_GPUS", "4,5", "CUDA_VISIBLE_DEVICES", "0,1", NULL};
    const char *none[] = {NULL};
    struct zn_topology *cpu_only =
        test_load(test_src_path("tests/fixtures/zenith-1s1n-4xMI250X-nosmt.xml"));
    struct zn_step_gpus g;
    struct zn_error err;
    char note[256];

    ck_assert_int_eq(zn_step_gpus_from_slurm(topo, read_table, step, &g, note, sizeof(note), &err),
                     0);
    ck_assert_int_eq(g.count, 2);
    ck_assert_int_eq(g.index[0], 4);
    ck_assert_str_eq(g.visible[1], "1"); /* CUDA's own numbering under task/cgroup */
    ck_assert_str_eq(note, "");
    zn_step_gpus_clear(&g);

    ck_assert_int_eq(zn_step_gpus_from_slurm(topo, read_table, none, &g, note, sizeof(note), &err),
                     0);
    ck_assert_int_eq(g.count, 0);
    ck_assert_str_eq(note, "");

    /* AMD GPUs are listed in ROCR_VISIBLE_DEVICES, not CUDA's variable. */
    const char *amd[] = {"CUDA_VISIBLE_DEVICES", "0", "ROCR_VISIBLE_DEVICES", "2,3", NULL};
    ck_assert_int_eq(
        zn_step_gpus_from_slurm(cpu_only, read_table, amd, &g, note, sizeof(note), &err), 0);
    ck_assert_int_eq(g.count, 2);
    ck_assert_int_eq(g.index[1], 3);
    zn_step_gpus_clear(&g);
    zn_topology_destroy(cpu_only);
}
END_TEST

START_TEST(slurm_reader_stand_in_gpus)
{
    const char *step[] = {"SLURM_STEP_GPUS", "0,1", NULL};
    struct zn_topology *live = zn_topology_load_live(NULL);
    struct zn_step_gpus g;
    struct zn_error err;
    char note[256];

    ck_assert_ptr_nonnull(live);
    if (live->ngpus) {
        printf("skipped: this machine has GPUs\n");
        zn_topology_destroy(live);
        return;
    }
    /* Slurm handed out GPUs the topology does not show: no GPU locality, and a note says so. */
    ck_assert_int_eq(zn_step_gpus_from_slurm(live, read_table, step, &g, note, sizeof(note), &err),
                     0);
    ck_assert_int_eq(g.count, 0);
    ck_assert_msg(strstr(note, "has GPUs 0,1 but live shows none"), "%s", note);
    zn_topology_destroy(live);
}
END_TEST

/* The count needs no topology and picks its list as zn_step_gpus_from_slurm does. */
START_TEST(slurm_count_precedence)
{
    const char *step[] = {"SLURM_STEP_GPUS", "4,5", "SLURM_JOB_GPUS", "0-7", NULL};
    const char *job[] = {"SLURM_JOB_GPUS", "0-2", "CUDA_VISIBLE_DEVICES", "0", NULL};
    const char *uuids[] = {"CUDA_VISIBLE_DEVICES", "GPU-1a,GPU-2b,,GPU-3c", NULL};
    const char *amd[] = {"ROCR_VISIBLE_DEVICES", "2,3", NULL};
    const char *nodev[] = {"CUDA_VISIBLE_DEVICES", "NoDevFiles", NULL};
    const char *bad[] = {"SLURM_STEP_GPUS", "0-x", NULL};
    const char *none[] = {NULL};
    struct zn_error err;
    unsigned n = 99;

    ck_assert_int_eq(zn_step_gpus_count_from_slurm(read_table, step, &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(zn_step_gpus_count_from_slurm(read_table, job, &n, &err), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(zn_step_gpus_count_from_slurm(read_table, uuids, &n, &err), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(zn_step_gpus_count_from_slurm(read_table, amd, &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(zn_step_gpus_count_from_slurm(read_table, nodev, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(zn_step_gpus_count_from_slurm(read_table, none, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(zn_step_gpus_count_from_slurm(read_table, bad, &n, &err), -1);
    ck_assert_msg(strstr(err.text, "SLURM_STEP_GPUS"), "%s", err.text);
}
END_TEST

int main(void)
{
    TCase *tc = tcase_create("gpus");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, explicit_list);
    tcase_add_test(tc, slurm_environment_precedence);
    tcase_add_test(tc, no_gpus_and_unmappable_names);
    tcase_add_test(tc, node_without_gpus);
    tcase_add_test(tc, slurm_reader);
    tcase_add_test(tc, slurm_reader_stand_in_gpus);
    tcase_add_test(tc, slurm_count_precedence);
    return test_run("gpus", tc);
}
