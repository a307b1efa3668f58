/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/apply.h"

/* The memory policy syscalls are called directly: libnuma's wrappers would add a shared
 * library to every task and to slurmstepd for two system calls. Values from <linux/mempolicy.h>. */
enum {
    ZN_MPOL_DEFAULT = 0,
    ZN_MPOL_PREFERRED = 1,
    ZN_MPOL_BIND = 2,
    ZN_MPOL_INTERLEAVE = 3,
    ZN_MPOL_LOCAL = 4,
    ZN_MPOL_PREFERRED_MANY = 5,
};

#define ZN_MAX_NUMA 1024

static long set_mempolicy_raw(int mode, const unsigned long *mask, unsigned long maxnode)
{
    return syscall(SYS_set_mempolicy, mode, mask, maxnode);
}

static long get_mempolicy_raw(int *mode, unsigned long *mask, unsigned long maxnode)
{
    return syscall(SYS_get_mempolicy, mode, mask, maxnode, NULL, 0UL);
}

const char *zn_mempolicy_name(int mode)
{
    switch (mode) {
    case ZN_MPOL_DEFAULT:
        return "default";
    case ZN_MPOL_PREFERRED:
    case ZN_MPOL_PREFERRED_MANY:
        return "local";
    case ZN_MPOL_BIND:
        return "bind";
    case ZN_MPOL_INTERLEAVE:
        return "interleave";
    case ZN_MPOL_LOCAL:
        return "local-node";
    default:
        return "unknown";
    }
}

static int set_affinity(hwloc_const_bitmap_t cpus, struct zn_error *err)
{
    int last = hwloc_bitmap_last(cpus), cpu, rc = -1;
    size_t size;
    cpu_set_t *set;

    if (last < 0)
        return zn_fail(err, "the plan gives this task no CPU");
    set = CPU_ALLOC((size_t)last + 1);
    if (!set)
        return zn_fail(err, "out of memory");
    size = CPU_ALLOC_SIZE((size_t)last + 1);
    CPU_ZERO_S(size, set);
    hwloc_bitmap_foreach_begin(cpu, cpus) CPU_SET_S((size_t)cpu, size, set);
    hwloc_bitmap_foreach_end();
    if (sched_setaffinity(0, size, set) < 0) {
        char *list = NULL;
        hwloc_bitmap_list_asprintf(&list, cpus);
        zn_fail(err,
                "cannot pin the task to CPUs %s: %s (none of them is allowed here; is the "
                "topology file this node's own?)",
                list ? list : "?", strerror(errno));
        free(list);
        goto out;
    }
    rc = 0;
out:
    CPU_FREE(set);
    return rc;
}

static int read_affinity(hwloc_bitmap_t cpus, struct zn_error *err)
{
    size_t ncpus = 1024;

    for (;;) {
        cpu_set_t *set = CPU_ALLOC(ncpus);
        size_t size = CPU_ALLOC_SIZE(ncpus);
        if (!set)
            return zn_fail(err, "out of memory");
        if (sched_getaffinity(0, size, set) == 0) {
            hwloc_bitmap_zero(cpus);
            for (size_t c = 0; c < ncpus; c++)
                if (CPU_ISSET_S(c, size, set))
                    hwloc_bitmap_set(cpus, (unsigned)c);
            CPU_FREE(set);
            return 0;
        }
        CPU_FREE(set);
        if (errno != EINVAL || ncpus >= (1u << 20))
            return zn_fail(err, "cannot read the CPU affinity: %s", strerror(errno));
        ncpus *= 2;
    }
}

static int set_memory_policy(const struct zn_plan *plan, hwloc_const_bitmap_t mems, int *mode_out,
                             struct zn_error *err)
{
    unsigned long mask[ZN_MAX_NUMA / (8 * sizeof(unsigned long))] = {0};
    const unsigned long bits = 8 * sizeof(unsigned long);
    int node, mode, weight = hwloc_bitmap_weight(mems);

    *mode_out = -1;
    if (plan->mem == ZN_MEM_NONE || weight <= 0)
        return 0;
    if (hwloc_bitmap_last(mems) >= ZN_MAX_NUMA)
        return zn_fail(err, "NUMA node numbers above %d are not supported", ZN_MAX_NUMA - 1);
    hwloc_bitmap_foreach_begin(node, mems) mask[(unsigned)node / bits] |=
        1UL << ((unsigned)node % bits);
    hwloc_bitmap_foreach_end();

    switch (plan->mem) {
    case ZN_MEM_BIND:
    case ZN_MEM_HBM:
        mode = ZN_MPOL_BIND;
        break;
    case ZN_MEM_INTERLEAVE:
        mode = ZN_MPOL_INTERLEAVE;
        break;
    default:
        mode = weight > 1 ? ZN_MPOL_PREFERRED_MANY : ZN_MPOL_PREFERRED;
        break;
    }
    /* +1: the kernel reads maxnode - 1 bits. */
    if (set_mempolicy_raw(mode, mask, ZN_MAX_NUMA + 1) == 0)
        goto done;
    if (mode == ZN_MPOL_PREFERRED_MANY && errno == EINVAL) {
        /* Kernels before 5.15 have no preferred-many: prefer the first node, which is the one
         * the task's first cores sit on. */
        unsigned long first[ZN_MAX_NUMA / (8 * sizeof(unsigned long))] = {0};
        int f = hwloc_bitmap_first(mems);
        first[(unsigned)f / bits] = 1UL << ((unsigned)f % bits);
        mode = ZN_MPOL_PREFERRED;
        if (set_mempolicy_raw(mode, first, ZN_MAX_NUMA + 1) == 0)
            goto done;
    }
    {
        char *list = NULL;
        hwloc_bitmap_list_asprintf(&list, mems);
        zn_fail(err, "cannot set memory policy %s on NUMA nodes %s: %s", zn_mem_name(plan->mem),
                list ? list : "?", strerror(errno));
        free(list);
        return -1;
    }
done:
    *mode_out = mode;
    return 0;
}

int zn_apply_task(const struct zn_plan *plan, unsigned task, struct zn_applied *applied,
                  struct zn_error *err)
{
    const struct zn_task_plan *t;
    int mode = -1;

    if (applied) {
        applied->cpus = NULL;
        applied->mem_mode = -1;
    }
    if (task >= plan->ntasks)
        return zn_fail(err, "task %u is not in the plan (it has %u tasks)", task, plan->ntasks);
    t = &plan->tasks[task];
    if (plan->bind != ZN_BIND_NONE && set_affinity(t->cpus, err) < 0)
        return -1;
    if (set_memory_policy(plan, t->mems, &mode, err) < 0)
        return -1;
    if (applied) {
        applied->mem_mode = mode;
        applied->cpus = hwloc_bitmap_alloc();
        if (!applied->cpus)
            return zn_fail(err, "out of memory");
        if (read_affinity(applied->cpus, err) < 0) {
            hwloc_bitmap_free(applied->cpus);
            applied->cpus = NULL;
            return -1;
        }
    }
    return 0;
}

int zn_apply_current(hwloc_bitmap_t cpus, int *mem_mode, hwloc_bitmap_t mems, struct zn_error *err)
{
    unsigned long mask[ZN_MAX_NUMA / (8 * sizeof(unsigned long))] = {0};
    const unsigned long bits = 8 * sizeof(unsigned long);

    if (cpus && read_affinity(cpus, err) < 0)
        return -1;
    if (get_mempolicy_raw(mem_mode, mask, ZN_MAX_NUMA + 1) < 0)
        return zn_fail(err, "cannot read the memory policy: %s", strerror(errno));
    if (mems) {
        hwloc_bitmap_zero(mems);
        for (unsigned n = 0; n < ZN_MAX_NUMA; n++)
            if (mask[n / bits] & (1UL << (n % bits)))
                hwloc_bitmap_set(mems, n);
    }
    return 0;
}
