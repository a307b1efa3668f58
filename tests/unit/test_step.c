/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Placing a node's tasks of a step: the topology rules of each caller, the plan from Slurm's
 * variables, and one task's share with its ZENITH_PLACED stamp. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/step.h"
#include "tests/unit/testutil.h"

static bool read_table(void *ctx, const char *name, char *buf, size_t len)
{
    for (const char *const *kv = ctx; kv[0]; kv += 2)
        if (strcmp(kv[0], name) == 0) {
            snprintf(buf, len, "%s", kv[1]);
            return true;
        }
    return false;
}

#define EIGHT_GPU "tests/fixtures/zenith-2s4n-8xH100-4xCX7-smt2.xml"

/* A file in a new directory (dir: a buffer of 64; path: of 128). */
static void temp_file(char *dir, char *path, const char *name)
{
    strcpy(dir, "/tmp/zenith-step-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, 128, "%s/%s", dir, name);
}

static void remove_dir(const char *dir)
{
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(topology_rules)
{
    struct zn_step_options o = {.topology = "/nonexistent/%n.xml", .node = "n1"};
    struct zn_topology *topo;
    struct zn_error err;
    char note[768], dir[64], other[128];

    /* Another machine's topology, as the cache writer seals it. */
    temp_file(dir, other, "other.xml");
    ck_assert_msg(zn_topology_seal_xml(test_src_path(EIGHT_GPU), other, &err) == 0, "%s", err.text);

    /* slurmstepd: a missing file is refused, naming the setting that points at it. */
    o.topology_setting = "topology= in zenith(8)";
    ck_assert_ptr_null(zn_step_topology(&o, note, sizeof(note), &err));
    ck_assert_str_eq(err.text, "zenith: no topology file /nonexistent/n1.xml on node n1; write it "
                               "as root with 'zenith-plan --write-xml /nonexistent/n1.xml' (see "
                               "topology= in zenith(8))");
    /* zenith-run with ZENITH_TOPOLOGY: the loader says what is wrong. */
    o.topology_setting = NULL;
    o.this_machine = true;
    ck_assert_ptr_null(zn_step_topology(&o, note, sizeof(note), &err));
    ck_assert_msg(strstr(err.text, "cannot read topology cache /nonexistent/n1.xml"), "%s",
                  err.text);
    /* zenith-run's default cache: none is no reason to say anything ... */
    o.discover = true;
    topo = zn_step_topology(&o, note, sizeof(note), &err);
    ck_assert_msg(topo != NULL, "%s", err.text);
    ck_assert_str_eq(topo->source, "live");
    ck_assert_str_eq(note, "");
    zn_topology_destroy(topo);
    /* ... one that is not this machine is, before discovering it. */
    o.topology = other;
    topo = zn_step_topology(&o, note, sizeof(note), &err);
    ck_assert_msg(topo != NULL, "%s", err.text);
    ck_assert_str_eq(topo->source, "live");
    ck_assert_msg(strstr(note, "written on another machine") &&
                      strstr(note, "; discovering n1 instead") && strncmp(note, "zenith: ", 8) == 0,
                  "%s", note);
    zn_topology_destroy(topo);
    /* slurmstepd reads the cache whole, whichever machine it describes. */
    o.this_machine = o.discover = false;
    topo = zn_step_topology(&o, NULL, 0, &err);
    ck_assert_msg(topo != NULL, "%s", err.text);
    ck_assert_str_eq(topo->source, other);
    ck_assert_uint_eq(topo->ngpus, 8);
    zn_topology_destroy(topo);
    remove_dir(dir);
}
END_TEST

/* A cache Zenith did not seal never reaches hwloc, on either path: this one (the fixture with
 * the Machine's complete_nodeset attribute renamed, one byte) crashes hwloc 2.9's loader, which
 * inside slurmstepd would take the step down with it. */
START_TEST(unsealed_cache_never_reaches_hwloc)
{
    struct zn_step_options o = {.node = "n1", .topology_setting = "topology= in zenith(8)"};
    struct zn_topology *topo;
    struct zn_error err;
    char note[768], dir[64], path[128], fix[256], *attr;
    FILE *in = fopen(test_src_path(EIGHT_GPU), "rb"), *out;
    static char xml[1 << 16];
    size_t len;

    ck_assert_ptr_nonnull(in);
    len = fread(xml, 1, sizeof(xml) - 1, in);
    fclose(in);
    xml[len] = '\0';
    attr = strstr(xml, "complete_nodeset=");
    ck_assert_ptr_nonnull(attr);
    attr[12] = 'Z';
    temp_file(dir, path, "n1.xml");
    out = fopen(path, "wb");
    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(fwrite(xml, 1, len, out), len);
    ck_assert_int_eq(fclose(out), 0);
    o.topology = path;
    snprintf(fix, sizeof(fix), "rewrite it on this node with 'zenith-plan --write-xml %s'", path);

    /* slurmstepd: refused with what to do, no crash. */
    ck_assert_ptr_null(zn_step_topology(&o, note, sizeof(note), &err));
    ck_assert_msg(strstr(err.text, "zenith: topology cache ") == err.text &&
                      strstr(err.text, "has no Zenith seal") && strstr(err.text, fix),
                  "%s", err.text);
    /* zenith-run with ZENITH_TOPOLOGY: the same. */
    o.this_machine = true;
    o.topology_setting = NULL;
    ck_assert_ptr_null(zn_step_topology(&o, note, sizeof(note), &err));
    ck_assert_msg(strstr(err.text, "has no Zenith seal") && strstr(err.text, fix), "%s", err.text);
    /* zenith-run's default cache: said, then this machine discovered. */
    o.discover = true;
    topo = zn_step_topology(&o, note, sizeof(note), &err);
    ck_assert_msg(topo != NULL, "%s", err.text);
    ck_assert_str_eq(topo->source, "live");
    ck_assert_msg(strstr(note, "has no Zenith seal") && strstr(note, "; discovering n1 instead"),
                  "%s", note);
    zn_topology_destroy(topo);
    remove_dir(dir);
}
END_TEST

START_TEST(plan_from_slurm_variables)
{
    struct zn_topology *topo = test_load(test_src_path(EIGHT_GPU));
    const char *env[] = {"SLURM_STEP_GPUS", "4,5", "CUDA_VISIBLE_DEVICES", "0,1", NULL};
    const char *bad[] = {"SLURM_STEP_GPUS", "9", NULL};
    struct zn_step_options o = {.node = "n1", .ntasks = 2, .policy = {.bind = ZN_BIND_GPU}};
    struct zn_step_gpus gpus;
    struct zn_plan *plan;
    struct zn_error err;
    char note[768];

    plan = zn_step_plan(topo, &o, read_table, env, &gpus, note, sizeof(note), &err);
    ck_assert_msg(plan != NULL, "%s", err.text);
    ck_assert_uint_eq(plan->ntasks, 2);
    ck_assert_uint_eq(plan->ngpus, 2);
    ck_assert_uint_eq(zn_plan_gpu_index(plan, (unsigned)plan->tasks[0].gpu), 4);
    ck_assert_str_eq(note, "");
    zn_plan_destroy(plan);
    zn_step_gpus_clear(&gpus);

    ck_assert_ptr_null(zn_step_plan(topo, &o, read_table, bad, &gpus, note, sizeof(note), &err));
    ck_assert_msg(strstr(err.text, "SLURM_STEP_GPUS=9: GPU 9 does not exist"), "%s", err.text);
    zn_topology_destroy(topo);
}
END_TEST

START_TEST(task_share_and_stamp)
{
    const char *env[] = {"SLURM_STEP_GPUS", "0,1", NULL};
    struct zn_step_options o = {.node = "n1", .ntasks = 1, .policy = {.bind = ZN_BIND_NONE}};
    struct zn_topology *topo = zn_topology_load_live(NULL);
    struct zn_applied applied = {0};
    struct zn_step_gpus gpus;
    struct zn_plan *plan;
    struct zn_error err;
    struct zn_env out;
    char note[768];

    ck_assert_ptr_nonnull(topo);
    plan = zn_step_plan(topo, &o, read_table, env, &gpus, note, sizeof(note), &err);
    ck_assert_msg(plan != NULL, "%s", err.text);
    /* GPUs Slurm handed out that the topology does not show: a report line, with the node. */
    if (topo->ngpus == 0)
        ck_assert_msg(strstr(note, "zenith: n1: the step has GPUs 0,1 but live shows none"), "%s",
                      note);
    ck_assert_int_eq(zn_step_place_task(plan, 0, "7.3", &applied, &out, &err), 0);
    ck_assert_str_eq(zn_env_get(&out, ZN_ENV_PLACED), "7.3");
    ck_assert_str_eq(zn_env_get(&out, ZN_ENV_BIND_MODE), "none");
    zn_env_clear(&out);
    hwloc_bitmap_free(applied.cpus);
    ck_assert_int_eq(zn_step_place_task(plan, 0, NULL, NULL, &out, &err), 0);
    ck_assert_ptr_null(zn_env_get(&out, ZN_ENV_PLACED));
    zn_env_clear(&out);
    ck_assert_int_eq(zn_step_place_task(plan, 1, "7.3", NULL, &out, &err), -1);
    ck_assert_uint_eq(out.count, 0);
    zn_plan_destroy(plan);
    zn_step_gpus_clear(&gpus);
    zn_topology_destroy(topo);
}
END_TEST

int main(void)
{
    TCase *tc = tcase_create("step");
    tcase_add_test(tc, topology_rules);
    tcase_add_test(tc, unsealed_cache_never_reaches_hwloc);
    tcase_add_test(tc, plan_from_slurm_variables);
    tcase_add_test(tc, task_share_and_stamp);
    return test_run("step", tc);
}
