/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/parse.h"
#include "runtime/report.h"
#include "tests/unit/testutil.h"

const char *test_src_path(const char *relative)
{
    static char path[4096];
    const char *src = getenv("ZENITH_SRCDIR");
    snprintf(path, sizeof(path), "%s/%s", src ? src : ".", relative);
    return path;
}

const char *test_shared_path(const char *relative)
{
    static char path[4096];
    const char *dir = getenv("ZENITH_SHARED_FIXTURES");
    if (!dir)
        return NULL;
    snprintf(path, sizeof(path), "%s/%s", dir, relative);
    return access(path, R_OK) == 0 ? path : NULL;
}

struct zn_topology *test_load(const char *path)
{
    struct zn_error err = {{0}};
    struct zn_topology *topo = zn_topology_load_xml(path, &err);
    ck_assert_msg(topo != NULL, "loading %s: %s", path, err.text);
    return topo;
}

struct zn_plan *test_plan(const struct zn_topology *topo, unsigned ntasks, const char *gpus,
                          const char *cpus, enum zn_bind bind, struct zn_step_gpus *keep)
{
    return test_plan_policy(topo, ntasks, gpus, cpus, (struct zn_policy){.bind = bind}, keep);
}

struct zn_plan *test_plan_policy(const struct zn_topology *topo, unsigned ntasks, const char *gpus,
                                 const char *cpus, struct zn_policy policy,
                                 struct zn_step_gpus *keep)
{
    struct zn_error err = {{0}};
    hwloc_bitmap_t allowed = NULL;
    struct zn_plan *plan;

    memset(keep, 0, sizeof(*keep));
    if (gpus && *gpus)
        ck_assert_msg(zn_step_gpus_from_list(topo, "--gpus", gpus, keep, &err) == 0, "%s",
                      err.text);
    if (cpus) {
        allowed = hwloc_bitmap_alloc();
        ck_assert_int_eq(hwloc_bitmap_list_sscanf(allowed, cpus), 0);
    }
    struct zn_request req = {
        .topo = topo,
        .allowed = allowed,
        .gpus = keep,
        .ntasks = ntasks,
        .policy = policy,
    };
    plan = zn_plan_compute(&req, &err);
    hwloc_bitmap_free(allowed);
    ck_assert_msg(plan != NULL, "plan failed: %s", err.text);
    return plan;
}

char *test_report(const struct zn_plan *plan)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(zn_report_plan_text(f, plan, NULL), 0);
    fclose(f);
    return text;
}

const char *test_list(hwloc_const_bitmap_t set)
{
    static char buf[1024];
    hwloc_bitmap_list_snprintf(buf, sizeof(buf), set);
    return buf;
}

int test_run(const char *name, TCase *tc)
{
    Suite *suite = suite_create(name);
    SRunner *runner;
    int failed;

    suite_add_tcase(suite, tc);
    runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? 1 : 0;
}

char test_child_msg[1536];

const char *in_child(child_fn fn, void *arg)
{
    static char msg[1536];
    int pipefd[2], status;
    ssize_t n;
    pid_t pid;

    ck_assert_int_eq(pipe(pipefd), 0);
    fflush(stdout);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        const char *why;
        close(pipefd[0]);
        why = fn(arg);
        if (why) {
            ssize_t w = write(pipefd[1], why, strlen(why));
            (void)w;
        }
        fflush(stdout);
        _exit(why ? 1 : 0);
    }
    close(pipefd[1]);
    n = read(pipefd[0], msg, sizeof(msg) - 1);
    msg[n > 0 ? n : 0] = '\0';
    close(pipefd[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return NULL;
    if (!msg[0])
        snprintf(msg, sizeof(msg), "child died (status %#x)", status);
    return msg;
}

long long test_meminfo(const char *key)
{
    char line[256];
    size_t n = strlen(key);
    long long v = -1;
    FILE *f = fopen("/proc/meminfo", "re");

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, n) == 0 && line[n] == ':')
            v = strtoll(line + n + 1, NULL, 10);
    fclose(f);
    return v;
}
