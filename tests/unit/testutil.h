/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_TESTUTIL_H
#define ZENITH_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdbool.h>

#include "runtime/plan.h"
#include "runtime/topology.h"

/* Path of a file under the source tree (ZENITH_SRCDIR); static buffer. */
const char *test_src_path(const char *relative);

/* Path of a shared real-machine fixture, or NULL when ../shared/fixtures is absent. */
const char *test_shared_path(const char *relative);

/* Load a topology XML or fail the current test with hwloc's/zenith's message. */
struct zn_topology *test_load(const char *path);

/* Plan for a shape; fails the test if planning fails. gpus may be NULL ("" means none). */
struct zn_plan *test_plan(const struct zn_topology *topo, unsigned ntasks, const char *gpus,
                          const char *cpus, enum zn_bind bind, struct zn_step_gpus *keep);

/* The same with a whole policy (memory, cores per task, huge pages). */
struct zn_plan *test_plan_policy(const struct zn_topology *topo, unsigned ntasks, const char *gpus,
                                 const char *cpus, struct zn_policy policy,
                                 struct zn_step_gpus *keep);

/* The text report of a plan as a malloc'd string. */
char *test_report(const struct zn_plan *plan);

/* "0-3" for a bitmap (static buffer, overwritten by the next call). */
const char *test_list(hwloc_const_bitmap_t set);

/* Work that must not outlive the test (a seccomp filter, dropped capabilities, a machine
 * setting a parent restores) runs in a child that reports with a message, never with
 * ck_assert: a failed assertion in a grandchild of Check's runner would not reach it. */
extern char test_child_msg[1536];
#define CHILD_REQUIRE(cond, ...)                                                                   \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            snprintf(test_child_msg, sizeof(test_child_msg), __VA_ARGS__);                         \
            return test_child_msg;                                                                 \
        }                                                                                          \
    } while (0)
typedef const char *(*child_fn)(void *arg);

/* A /proc/meminfo value (kB, or pages for HugePages_*), -1 when absent. */
long long test_meminfo(const char *key);

/* Runs fn in a child; NULL when it returned NULL, else its message (static buffer). */
const char *in_child(child_fn fn, void *arg);

/* Run the test case in a suite of the same name; returns the process exit status. */
int test_run(const char *name, TCase *tc);

#endif
