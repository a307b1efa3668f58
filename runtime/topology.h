/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_TOPOLOGY_H
#define ZENITH_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hwloc.h>

#include "runtime/error.h"

/* The node's hardware as placement needs it, built once from hwloc and then read-only.
 * Every CPU set is in OS PU numbering (what sched_setaffinity takes) and every NUMA set in OS
 * node numbering (what set_mempolicy takes). Arrays are in hwloc's logical order, except GPUs,
 * which are sorted by PCI bus id: that is the order Slurm numbers GPUs in gres.conf, so GPU
 * index i in this model is Slurm's GPU index i. */

struct zn_page_pool {
    uint64_t size;  /* bytes per page */
    uint64_t count; /* pages configured on the node when the topology was read */
};

struct zn_numa {
    unsigned os_index;
    bool has_cpus;         /* false for memory-only nodes (HBM, CXL, GPU memory) */
    int package;           /* index into packages, -1 when not inside exactly one */
    uint64_t local_memory; /* bytes */
    hwloc_bitmap_t cpuset; /* the CPUs whose local node this is (empty when memory-only) */
    hwloc_bitmap_t near;   /* CPUs of the object the node is attached to: where a
                            * memory-only node (HBM next to its DDR node) is local */
    size_t npools;
    struct zn_page_pool *pools; /* huge page sizes only (bigger than the base page) */
    const char *subtype;        /* hwloc subtype ("HBM", "NVM", ...) or NULL */
};

struct zn_core {
    int package; /* index into packages, -1 when not inside one */
    int numa;    /* index into numa: the node the core allocates from by default */
    int cache;   /* logical index of the L3 cache above the core, -1 when none */
    hwloc_bitmap_t pus;
};

enum zn_gpu_vendor { ZN_GPU_NVIDIA, ZN_GPU_AMD };

struct zn_pci_addr {
    unsigned domain, bus, dev, func;
};

struct zn_gpu {
    enum zn_gpu_vendor vendor;
    char busid[16]; /* "0000:18:00.0" */
    struct zn_pci_addr pci;
    char model[64];          /* "Tesla T4", or "" when the XML does not say */
    char osdevs[96];         /* "cuda0 nvml0 opencl0d0": OS names, for the summary */
    hwloc_bitmap_t cpuset;   /* CPUs of the GPU's closest non-I/O ancestor */
    hwloc_bitmap_t numa_set; /* indices into numa[] of the nodes local to the GPU */
    hwloc_obj_t pcidev;      /* for PCI-tree distances; owned by the topology */
};

enum zn_nic_kind { ZN_NIC_IB, ZN_NIC_EFA, ZN_NIC_SLINGSHOT, ZN_NIC_ETHERNET };

struct zn_nic {
    enum zn_nic_kind kind;
    char name[32];   /* RDMA device name when there is one (mlx5_0), else the netdev */
    char netdev[32]; /* "ib0", "eth0", "" when none */
    unsigned port;   /* first active RDMA port, 1 when unknown */
    char busid[16];
    hwloc_bitmap_t cpuset;
    hwloc_bitmap_t numa_set;
    hwloc_obj_t pcidev;
};

struct zn_topology {
    hwloc_topology_t hw;
    char source[256]; /* "live" or the XML path */
    size_t npackages;
    size_t nnuma;
    struct zn_numa *numa;
    size_t ncores;
    struct zn_core *cores;
    size_t npus;
    hwloc_bitmap_t all_pus; /* the PUs placement may use: online and allowed */
    /* Every PU the machine (or the XML) has, including ones all_pus leaves out because they
     * are disallowed or offline: tells "not this machine" from "not allowed here". */
    hwloc_bitmap_t complete_pus;
    /* Where the allowed set comes from: this process's cpuset (cgroup, a job's allocation;
     * live discovery and the cache) or, for a plain XML, the file's allowed_cpuset. */
    bool allowed_by_process;
    size_t ngpus;
    struct zn_gpu *gpus;
    size_t nnics;
    struct zn_nic *nics;
};

/* Load from an hwloc XML file (any hwloc 1.x/2.x export), PCI and OS devices kept. */
struct zn_topology *zn_topology_load_xml(const char *path, struct zn_error *err);

/* A topology cache is hwloc XML followed by one seal line, an XML comment that hwloc and
 * lstopo skip:
 *     <!-- zenith-topology-cache v1 bytes=N fnv1a64=HASH -->
 * N is the length of the XML before the line and HASH (16 hex digits) its FNV-1a hash. Only
 * Zenith writes it, after loading that XML in a child process: a file hwloc cannot load (or
 * that crashes it) is never sealed, and a sealed file changed since is refused before hwloc
 * sees a byte of it. Caches larger than this are refused. */
#define ZN_TOPOLOGY_MAX_BYTES (64u << 20)

/* This machine's topology from its cache (written by zn_topology_write_cache), restricted to
 * the CPUs and NUMA nodes this process's cpuset allows, as discovery would be, without the
 * cost of discovering PCI devices (tens of milliseconds). Refused when the seal does not
 * match, when the file is not one root or this process's user wrote (a symbolic link, not a
 * regular file, writable by group or others, another user's), or when it does not describe
 * this machine's CPUs. */
struct zn_topology *zn_topology_load_cached(const char *path, struct zn_error *err);

/* A cache read whole, as a plain XML (slurmstepd, whose own cpuset is not its tasks'), by the
 * same rules of seal and ownership. */
struct zn_topology *zn_topology_load_sealed(const char *path, struct zn_error *err);

/* Where nodes keep their cache unless told otherwise (the plugin's topology=, ZENITH_TOPOLOGY). */
#define ZN_DEFAULT_TOPOLOGY "/var/lib/zenith/topology.xml"

/* A cache path for node `node` from a pattern: %n is the node name, %% a percent sign. */
int zn_topology_path(const char *pattern, const char *node, char *buf, size_t len,
                     struct zn_error *err);

/* hwloc plugins placement never needs (OpenCL and GL device names, libxml2 for XML: hwloc's
 * own parser reads the cache). hwloc loads every plugin at its first topology in a process;
 * these pull in large libraries and cost a short-lived process like zenith-run ~6 ms per
 * start. Set HWLOC_PLUGINS_BLACKLIST to this before that first topology, where the process is
 * still single-threaded and it is the process's own business (never in slurmstepd). */
#define ZN_HWLOC_UNUSED_PLUGINS "hwloc_gl,hwloc_opencl,hwloc_xml_libxml"

/* Discover this machine. I/O discovery can be slow or hang inside Slurm daemons: daemons load a
 * cached XML written by zn_topology_write_cache() instead. */
struct zn_topology *zn_topology_load_live(struct zn_error *err);

/* Write the live machine's topology (including CPUs this process may not use) to path as a
 * sealed cache, once a child process has loaded it, atomically (temporary file, fsync, rename)
 * so a reader never sees half a file. The file is mode 0644. */
int zn_topology_write_cache(const char *path, struct zn_error *err);

/* The same for the hwloc XML file `in` (an lstopo export, a test fixture; a sealed cache is
 * resealed): refused, with nothing written, when it does not load in the child. Both fork
 * that child: call them from a single-threaded process (zenith-plan). */
int zn_topology_seal_xml(const char *in, const char *path, struct zn_error *err);

void zn_topology_destroy(struct zn_topology *topo);

/* Index into topo->numa of the node with this OS index, or -1. */
int zn_topology_numa_by_os(const struct zn_topology *topo, unsigned os_index);

/* A memory-only node of on-package high-bandwidth memory in flat mode (hwloc's subtype HBM, or
 * MCDRAM on Knights Landing). */
bool zn_numa_is_hbm(const struct zn_numa *numa);

/* Short human-readable names. */
const char *zn_gpu_vendor_name(enum zn_gpu_vendor vendor);
const char *zn_nic_kind_name(enum zn_nic_kind kind);
bool zn_nic_is_rdma(const struct zn_nic *nic);

/* Number of PCI links between two devices through their deepest common ancestor; larger when
 * they only meet at the host bridge or above. Used to pick the NIC sharing a PCIe switch with
 * a GPU. */
unsigned zn_pci_distance(hwloc_obj_t a, hwloc_obj_t b);

#endif
