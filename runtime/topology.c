/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/devices.h"
#include "runtime/topology.h"

#include <hwloc/export.h>

static hwloc_obj_t first_numa_below(hwloc_obj_t obj)
{
    /* Memory children may be memory-side caches whose own memory child is the NUMA node. */
    for (hwloc_obj_t child = obj->memory_first_child; child; child = child->next_sibling) {
        if (child->type == HWLOC_OBJ_NUMANODE)
            return child;
        hwloc_obj_t below = first_numa_below(child);
        if (below)
            return below;
    }
    return NULL;
}

/* The node a core allocates from by default: walk up to the first ancestor carrying memory and
 * prefer plain DRAM (no subtype) over HBM/NVM/GPU memory attached at the same level. */
static hwloc_obj_t local_numa_of(hwloc_obj_t obj)
{
    for (hwloc_obj_t anc = obj; anc; anc = anc->parent) {
        if (!anc->memory_arity)
            continue;
        hwloc_obj_t fallback = NULL;
        for (hwloc_obj_t numa = first_numa_below(anc); numa; numa = numa->next_sibling) {
            if (numa->type != HWLOC_OBJ_NUMANODE)
                continue;
            if (!numa->subtype)
                return numa;
            if (!fallback)
                fallback = numa;
        }
        if (fallback)
            return fallback;
    }
    return NULL;
}

static int package_index_of(hwloc_topology_t hw, hwloc_obj_t obj)
{
    hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(hw, HWLOC_OBJ_PACKAGE, obj);
    return pkg ? (int)pkg->logical_index : -1;
}

bool zn_numa_is_hbm(const struct zn_numa *numa)
{
    return !numa->has_cpus && numa->subtype &&
           (strcmp(numa->subtype, "HBM") == 0 || strcmp(numa->subtype, "MCDRAM") == 0);
}

int zn_topology_numa_by_os(const struct zn_topology *topo, unsigned os_index)
{
    for (size_t i = 0; i < topo->nnuma; i++)
        if (topo->numa[i].os_index == os_index)
            return (int)i;
    return -1;
}

static int build_numa(struct zn_topology *topo, struct zn_error *err)
{
    hwloc_topology_t hw = topo->hw;
    int n = hwloc_get_nbobjs_by_type(hw, HWLOC_OBJ_NUMANODE);

    if (n <= 0)
        return zn_fail(err, "topology %s has no NUMA node; the file may be damaged", topo->source);
    topo->numa = calloc((size_t)n, sizeof(*topo->numa));
    if (!topo->numa)
        return zn_fail(err, "out of memory");
    topo->nnuma = (size_t)n;
    for (int i = 0; i < n; i++) {
        hwloc_obj_t obj = hwloc_get_obj_by_type(hw, HWLOC_OBJ_NUMANODE, (unsigned)i);
        struct zn_numa *numa = &topo->numa[i];
        const struct hwloc_numanode_attr_s *attr = &obj->attr->numanode;

        numa->os_index = obj->os_index;
        numa->package = package_index_of(hw, obj);
        numa->local_memory = attr->local_memory;
        numa->subtype = obj->subtype;
        numa->cpuset = hwloc_bitmap_alloc();
        numa->near = hwloc_bitmap_dup(obj->cpuset ? obj->cpuset : hwloc_get_root_obj(hw)->cpuset);
        if (!numa->cpuset || !numa->near)
            return zn_fail(err, "out of memory");
        /* The smallest page size is the base page; every larger one is a huge page pool. */
        if (attr->page_types_len > 1) {
            numa->pools = calloc(attr->page_types_len - 1, sizeof(*numa->pools));
            if (!numa->pools)
                return zn_fail(err, "out of memory");
            for (unsigned p = 1; p < attr->page_types_len; p++) {
                numa->pools[numa->npools].size = attr->page_types[p].size;
                numa->pools[numa->npools].count = attr->page_types[p].count;
                numa->npools++;
            }
        }
    }
    return 0;
}

/* hwloc 1.x exports may put NUMA nodes above their Package (older POWER9 ones do); hwloc 2 then
 * attaches them where no Package is an ancestor. A node whose cores all sit in one package
 * belongs to that package, whatever the object order. */
static void numa_packages_from_cores(struct zn_topology *topo)
{
    for (size_t d = 0; d < topo->nnuma; d++) {
        int package = -2; /* -2: no core seen yet */
        if (topo->numa[d].package >= 0)
            continue;
        for (size_t c = 0; c < topo->ncores; c++) {
            if (topo->cores[c].numa != (int)d)
                continue;
            package =
                package == -2 || package == topo->cores[c].package ? topo->cores[c].package : -1;
        }
        topo->numa[d].package = package == -2 ? -1 : package;
    }
}

static int build_cores(struct zn_topology *topo, struct zn_error *err)
{
    hwloc_topology_t hw = topo->hw;
    /* Some exports have no Core level; each PU then stands for a core. */
    hwloc_obj_type_t type =
        hwloc_get_nbobjs_by_type(hw, HWLOC_OBJ_CORE) > 0 ? HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
    int n = hwloc_get_nbobjs_by_type(hw, type);

    topo->all_pus = hwloc_bitmap_alloc();
    topo->complete_pus = hwloc_bitmap_dup(hwloc_topology_get_complete_cpuset(hw));
    topo->cores = calloc(n > 0 ? (size_t)n : 1, sizeof(*topo->cores));
    if (!topo->all_pus || !topo->complete_pus || !topo->cores)
        return zn_fail(err, "out of memory");
    for (int i = 0; i < n; i++) {
        hwloc_obj_t obj = hwloc_get_obj_by_type(hw, type, (unsigned)i);
        hwloc_obj_t numa_obj;
        struct zn_core *core;

        if (!obj->cpuset || hwloc_bitmap_iszero(obj->cpuset))
            continue; /* a core whose PUs are all disallowed */
        core = &topo->cores[topo->ncores++];
        core->pus = hwloc_bitmap_dup(obj->cpuset);
        if (!core->pus)
            return zn_fail(err, "out of memory");
        core->package = package_index_of(hw, obj);
        hwloc_obj_t l3 = hwloc_get_ancestor_obj_by_type(hw, HWLOC_OBJ_L3CACHE, obj);
        core->cache = l3 ? (int)l3->logical_index : -1;
        numa_obj = local_numa_of(obj);
        core->numa = numa_obj ? (int)numa_obj->logical_index : 0;
        hwloc_bitmap_or(topo->numa[core->numa].cpuset, topo->numa[core->numa].cpuset, core->pus);
        hwloc_bitmap_or(topo->all_pus, topo->all_pus, core->pus);
    }
    if (topo->ncores == 0)
        return zn_fail(err, "topology %s has no usable CPU", topo->source);
    topo->npus = (size_t)hwloc_bitmap_weight(topo->all_pus);
    for (size_t i = 0; i < topo->nnuma; i++)
        topo->numa[i].has_cpus = !hwloc_bitmap_iszero(topo->numa[i].cpuset);
    numa_packages_from_cores(topo);
    topo->npackages = (size_t)hwloc_get_nbobjs_by_type(hw, HWLOC_OBJ_PACKAGE);
    return 0;
}

static struct zn_topology *finish_load(struct zn_topology *topo, struct zn_error *err)
{
    if (build_numa(topo, err) < 0 || build_cores(topo, err) < 0 || zn_devices_scan(topo, err) < 0) {
        zn_topology_destroy(topo);
        return NULL;
    }
    return topo;
}

static struct zn_topology *topology_new(const char *source, struct zn_error *err)
{
    struct zn_topology *topo = calloc(1, sizeof(*topo));

    if (!topo) {
        zn_fail(err, "out of memory");
        return NULL;
    }
    snprintf(topo->source, sizeof(topo->source), "%s", source);
    if (hwloc_topology_init(&topo->hw) < 0) {
        zn_fail(err, "hwloc could not initialise a topology: %s", strerror(errno));
        free(topo);
        return NULL;
    }
    /* GPUs and NICs are I/O objects, which hwloc drops unless asked to keep them. */
    hwloc_topology_set_io_types_filter(topo->hw, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
    return topo;
}

struct zn_topology *zn_topology_load_xml(const char *path, struct zn_error *err)
{
    struct zn_topology *topo;

    if (access(path, R_OK) < 0) {
        zn_fail(err, "cannot read topology XML %s: %s; write one with 'zenith-plan --write-xml'",
                path, strerror(errno));
        return NULL;
    }
    topo = topology_new(path, err);
    if (!topo)
        return NULL;
    if (hwloc_topology_set_xml(topo->hw, path) < 0 || hwloc_topology_load(topo->hw) < 0) {
        zn_fail(err,
                "%s is not a valid hwloc topology XML; regenerate it with 'zenith-plan "
                "--write-xml' or 'lstopo FILE.xml'",
                path);
        zn_topology_destroy(topo);
        return NULL;
    }
    return finish_load(topo, err);
}

struct zn_topology *zn_topology_load_cached(const char *path, struct zn_error *err)
{
    struct zn_topology *topo;
    long machine_cpus = sysconf(_SC_NPROCESSORS_CONF);
    int xml_cpus;

    if (access(path, R_OK) < 0) {
        zn_fail(err,
                "cannot read topology cache %s: %s; write it with 'zenith-plan --write-xml %s'",
                path, strerror(errno), path);
        return NULL;
    }
    topo = topology_new(path, err);
    if (!topo)
        return NULL;
    /* The file is this machine: take the allowed CPUs and memory from the running system. */
    topo->allowed_by_process = true;
    if (hwloc_topology_set_flags(topo->hw, HWLOC_TOPOLOGY_FLAG_IS_THISSYSTEM |
                                               HWLOC_TOPOLOGY_FLAG_THISSYSTEM_ALLOWED_RESOURCES) <
            0 ||
        hwloc_topology_set_xml(topo->hw, path) < 0 || hwloc_topology_load(topo->hw) < 0) {
        zn_fail(
            err,
            "%s is not a valid hwloc topology XML; rewrite it with 'zenith-plan --write-xml %s'",
            path, path);
        zn_topology_destroy(topo);
        return NULL;
    }
    xml_cpus = hwloc_bitmap_weight(hwloc_topology_get_complete_cpuset(topo->hw));
    if (xml_cpus != machine_cpus) {
        zn_fail(err,
                "%s describes %d CPUs but this machine has %ld: it was written on another "
                "machine; rewrite it here with 'zenith-plan --write-xml %s'",
                path, xml_cpus, machine_cpus, path);
        zn_topology_destroy(topo);
        return NULL;
    }
    return finish_load(topo, err);
}

int zn_topology_path(const char *pattern, const char *node, char *buf, size_t len,
                     struct zn_error *err)
{
    size_t used = 0;

    for (const char *p = pattern; *p; p++) {
        const char *piece = p;
        size_t n = 1;
        if (*p == '%' && p[1] == 'n') {
            piece = node;
            n = strlen(node);
            p++;
        } else if (*p == '%' && p[1] == '%') {
            p++;
        }

        if (used + n >= len)
            return zn_fail(err, "the topology path for node %s is too long", node);
        memcpy(buf + used, piece, n);
        used += n;
    }
    buf[used] = '\0';
    return 0;
}

struct zn_topology *zn_topology_load_live(struct zn_error *err)
{
    struct zn_topology *topo = topology_new("live", err);

    if (!topo)
        return NULL;
    topo->allowed_by_process = true; /* hwloc discovers what this process may use */
    if (hwloc_topology_load(topo->hw) < 0) {
        zn_fail(err, "hwloc could not discover this machine: %s", strerror(errno));
        zn_topology_destroy(topo);
        return NULL;
    }
    return finish_load(topo, err);
}

int zn_topology_write_cache(const char *path, struct zn_error *err)
{
    hwloc_topology_t hw = NULL;
    char tmp[4096];
    int rc = -1;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
        zn_fail(err, "topology cache path %s is too long", path);
        goto out;
    }
    if (hwloc_topology_init(&hw) < 0) {
        zn_fail(err, "hwloc could not initialise a topology: %s", strerror(errno));
        hw = NULL;
        goto out;
    }
    hwloc_topology_set_io_types_filter(hw, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
    /* The cache describes the whole node, not just the CPUs of whoever wrote it. */
    hwloc_topology_set_flags(hw, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
    if (hwloc_topology_load(hw) < 0) {
        zn_fail(err, "hwloc could not discover this machine: %s", strerror(errno));
        goto out;
    }
    if (hwloc_topology_export_xml(hw, tmp, 0) < 0) {
        zn_fail(err, "cannot write %s: %s", tmp, strerror(errno));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) < 0) {
        zn_fail(err, "cannot move %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    if (hw)
        hwloc_topology_destroy(hw);
    return rc;
}

void zn_topology_destroy(struct zn_topology *topo)
{
    if (!topo)
        return;
    for (size_t i = 0; i < topo->nnuma; i++) {
        hwloc_bitmap_free(topo->numa[i].cpuset);
        hwloc_bitmap_free(topo->numa[i].near);
        free(topo->numa[i].pools);
    }
    for (size_t i = 0; i < topo->ncores; i++)
        hwloc_bitmap_free(topo->cores[i].pus);
    zn_devices_free(topo);
    free(topo->numa);
    free(topo->cores);
    hwloc_bitmap_free(topo->all_pus);
    hwloc_bitmap_free(topo->complete_pus);
    if (topo->hw)
        hwloc_topology_destroy(topo->hw);
    free(topo);
}
