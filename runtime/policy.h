/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_POLICY_H
#define ZENITH_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/error.h"

/* What a step asks of the planner, and the words users write for it. */

enum zn_bind {
    ZN_BIND_AUTO,   /* gpu when the step has GPUs, else core */
    ZN_BIND_GPU,    /* a share of the cores closest to the task's GPU(s) */
    ZN_BIND_NUMA,   /* all allowed CPUs of the task's NUMA node */
    ZN_BIND_SOCKET, /* all allowed CPUs of the task's package */
    ZN_BIND_CORE,   /* whole cores of its own, spread over NUMA nodes; never shared */
    ZN_BIND_NONE,   /* no binding: the task keeps the step's CPUs */
};

enum zn_mem {
    ZN_MEM_DEFAULT,    /* local when the task is bound, none otherwise */
    ZN_MEM_LOCAL,      /* prefer the task's own NUMA node(s) */
    ZN_MEM_INTERLEAVE, /* interleave over every NUMA node of the step */
    ZN_MEM_BIND,       /* only the task's own NUMA node(s) */
    ZN_MEM_NONE,       /* leave the kernel's default */
    ZN_MEM_HBM,        /* only the HBM node(s) next to the task's CPUs (flat-mode HBM) */
    ZN_MEM_PREFER_HBM, /* those HBM node(s) first, the task's own nodes when they are full */
};

struct zn_policy {
    enum zn_bind bind;
    enum zn_mem mem;
    unsigned cores_per_task; /* 0: an equal share of the allowed cores */
    uint64_t hugepage_bytes; /* per node; 0 for none */
    uint64_t hugepage_size;  /* 0: the smallest huge page size the node has */
};

/* Names as users write them in options, and back. */
const char *zn_bind_name(enum zn_bind bind);
const char *zn_mem_name(enum zn_mem mem);
int zn_bind_parse(const char *what, const char *text, enum zn_bind *out, struct zn_error *err);
/* "gpu,verbose" -> mode and flag; ",verbose" keeps auto. Shared by plugstack bind=,
 * --zenith-bind, ZENITH_BIND and zenith-run --bind. */
int zn_bind_option_parse(const char *what, const char *text, enum zn_bind *bind, bool *verbose,
                         struct zn_error *err);

int zn_mem_parse(const char *what, const char *text, enum zn_mem *out, struct zn_error *err);
/* "8G" or "4G:1G" -> bytes and page size (0 when not given). */
int zn_hugepages_parse(const char *what, const char *text, uint64_t *bytes, uint64_t *page_size,
                       struct zn_error *err);

#endif
