/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/devices.h"

#define PCI_VENDOR_NVIDIA     0x10de
#define PCI_VENDOR_AMD        0x1002
#define PCI_VENDOR_AMAZON     0x1d0f
#define PCI_VENDOR_HPE_CRAY   0x17db
#define PCI_CLASS_DISPLAY     0x03
#define PCI_CLASS_NETWORK     0x02
#define PCI_CLASS_ACCELERATOR 0x12

const char *zn_gpu_vendor_name(enum zn_gpu_vendor vendor)
{
    return vendor == ZN_GPU_NVIDIA ? "nvidia" : "amd";
}

const char *zn_nic_kind_name(enum zn_nic_kind kind)
{
    switch (kind) {
    case ZN_NIC_IB:
        return "ib";
    case ZN_NIC_EFA:
        return "efa";
    case ZN_NIC_SLINGSHOT:
        return "slingshot";
    case ZN_NIC_ETHERNET:
        break;
    }
    return "eth";
}

bool zn_nic_is_rdma(const struct zn_nic *nic)
{
    return nic->kind != ZN_NIC_ETHERNET;
}

unsigned zn_pci_distance(hwloc_obj_t a, hwloc_obj_t b)
{
    unsigned up_a = 0;

    for (hwloc_obj_t x = a; x; x = x->parent, up_a++) {
        unsigned up_b = 0;
        for (hwloc_obj_t y = b; y; y = y->parent, up_b++)
            if (x == y)
                return up_a + up_b;
    }
    return ~0u;
}

static struct zn_pci_addr pci_addr_of(hwloc_obj_t pcidev)
{
    const struct hwloc_pcidev_attr_s *pci = &pcidev->attr->pcidev;
    return (struct zn_pci_addr){pci->domain, pci->bus, pci->dev, pci->func};
}

static int pci_compare(const struct zn_pci_addr *a, const struct zn_pci_addr *b)
{
    if (a->domain != b->domain)
        return a->domain < b->domain ? -1 : 1;
    if (a->bus != b->bus)
        return a->bus < b->bus ? -1 : 1;
    if (a->dev != b->dev)
        return a->dev < b->dev ? -1 : 1;
    if (a->func != b->func)
        return a->func < b->func ? -1 : 1;
    return 0;
}

static int gpu_compare(const void *a, const void *b)
{
    return pci_compare(&((const struct zn_gpu *)a)->pci, &((const struct zn_gpu *)b)->pci);
}

static int nic_compare(const void *a, const void *b)
{
    const struct zn_nic *x = a, *y = b;
    int c;

    if (x->pcidev && y->pcidev) {
        struct zn_pci_addr pa = pci_addr_of(x->pcidev), pb = pci_addr_of(y->pcidev);
        c = pci_compare(&pa, &pb);
        if (c)
            return c;
    }
    return strcmp(x->name, y->name);
}

/* Locality of an I/O object: the CPUs of its closest non-I/O ancestor and the model's NUMA nodes
 * (with CPUs) that those CPUs belong to. */
static int locate(struct zn_topology *topo, hwloc_obj_t obj, hwloc_bitmap_t *cpuset,
                  hwloc_bitmap_t *numa_set)
{
    hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(topo->hw, obj);

    *cpuset = hwloc_bitmap_dup(anc && anc->cpuset ? anc->cpuset : topo->all_pus);
    *numa_set = hwloc_bitmap_alloc();
    if (!*cpuset || !*numa_set)
        return -1;
    for (size_t i = 0; i < topo->nnuma; i++)
        if (topo->numa[i].has_cpus && hwloc_bitmap_intersects(topo->numa[i].cpuset, *cpuset))
            hwloc_bitmap_set(*numa_set, (unsigned)i);
    return 0;
}

static void format_busid(hwloc_obj_t pcidev, char *buf, size_t len)
{
    const struct hwloc_pcidev_attr_s *pci = &pcidev->attr->pcidev;
    snprintf(buf, len, "%04x:%02x:%02x.%x", (unsigned)pci->domain, pci->bus, pci->dev, pci->func);
}

static bool is_gpu(hwloc_obj_t pcidev, enum zn_gpu_vendor *vendor)
{
    const struct hwloc_pcidev_attr_s *pci = &pcidev->attr->pcidev;
    unsigned base_class = pci->class_id >> 8;

    /* Display or accelerator class from a GPU vendor: this excludes BMC VGA chips, NVSwitches
     * (bridge class) and GPU audio functions. */
    if (base_class != PCI_CLASS_DISPLAY && base_class != PCI_CLASS_ACCELERATOR)
        return false;
    if (pci->vendor_id == PCI_VENDOR_NVIDIA)
        *vendor = ZN_GPU_NVIDIA;
    else if (pci->vendor_id == PCI_VENDOR_AMD)
        *vendor = ZN_GPU_AMD;
    else
        return false;
    return true;
}

static void append_name(char *buf, size_t len, const char *name)
{
    size_t used = strlen(buf);
    if (used + strlen(name) + 2 > len)
        return;
    snprintf(buf + used, len - used, "%s%s", used ? " " : "", name);
}

static int add_gpu(struct zn_topology *topo, hwloc_obj_t pcidev, enum zn_gpu_vendor vendor)
{
    struct zn_gpu *gpu = &topo->gpus[topo->ngpus];

    memset(gpu, 0, sizeof(*gpu));
    gpu->vendor = vendor;
    gpu->pcidev = pcidev;
    gpu->pci = pci_addr_of(pcidev);
    format_busid(pcidev, gpu->busid, sizeof(gpu->busid));
    for (hwloc_obj_t os = pcidev->io_first_child; os; os = os->next_sibling) {
        const char *model;
        if (os->type != HWLOC_OBJ_OS_DEVICE || !os->name)
            continue;
        append_name(gpu->osdevs, sizeof(gpu->osdevs), os->name);
        model = hwloc_obj_get_info_by_name(os, "GPUModel");
        if (model && !gpu->model[0])
            snprintf(gpu->model, sizeof(gpu->model), "%s", model);
    }
    if (!gpu->model[0]) {
        const char *name = hwloc_obj_get_info_by_name(pcidev, "PCIDevice");
        if (name)
            snprintf(gpu->model, sizeof(gpu->model), "%s", name);
    }
    if (locate(topo, pcidev, &gpu->cpuset, &gpu->numa_set) < 0)
        return -1;
    topo->ngpus++;
    return 0;
}

static unsigned active_port(hwloc_obj_t osdev)
{
    for (unsigned port = 1; port <= 8; port++) {
        char key[32];
        const char *state;
        snprintf(key, sizeof(key), "Port%uState", port);
        state = hwloc_obj_get_info_by_name(osdev, key);
        if (!state)
            break;
        if (strcmp(state, "4") == 0) /* IB_PORT_ACTIVE */
            return port;
    }
    return 1;
}

static int add_nic(struct zn_topology *topo, hwloc_obj_t pcidev)
{
    struct zn_nic *nic = &topo->nics[topo->nnics];
    const struct hwloc_pcidev_attr_s *pci = &pcidev->attr->pcidev;
    hwloc_obj_t rdma = NULL, net = NULL;

    for (hwloc_obj_t os = pcidev->io_first_child; os; os = os->next_sibling) {
        if (os->type != HWLOC_OBJ_OS_DEVICE || !os->name)
            continue;
        if (os->attr->osdev.type == HWLOC_OBJ_OSDEV_OPENFABRICS && !rdma)
            rdma = os;
        else if (os->attr->osdev.type == HWLOC_OBJ_OSDEV_NETWORK && !net)
            net = os;
    }
    if (!rdma && !net)
        return 0; /* no driver bound: nothing a task could use */
    memset(nic, 0, sizeof(*nic));
    nic->pcidev = pcidev;
    nic->port = 1;
    format_busid(pcidev, nic->busid, sizeof(nic->busid));
    snprintf(nic->name, sizeof(nic->name), "%s", rdma ? rdma->name : net->name);
    if (net)
        snprintf(nic->netdev, sizeof(nic->netdev), "%s", net->name);
    if (pci->vendor_id == PCI_VENDOR_HPE_CRAY || strncmp(nic->name, "cxi", 3) == 0 ||
        strncmp(nic->netdev, "hsn", 3) == 0)
        nic->kind = ZN_NIC_SLINGSHOT;
    else if (rdma && (pci->vendor_id == PCI_VENDOR_AMAZON || strncmp(rdma->name, "efa", 3) == 0))
        nic->kind = ZN_NIC_EFA;
    else if (rdma)
        nic->kind = ZN_NIC_IB;
    else
        nic->kind = ZN_NIC_ETHERNET;
    if (rdma)
        nic->port = active_port(rdma);
    if (locate(topo, pcidev, &nic->cpuset, &nic->numa_set) < 0)
        return -1;
    topo->nnics++;
    return 0;
}

int zn_devices_scan(struct zn_topology *topo, struct zn_error *err)
{
    int npci = hwloc_get_nbobjs_by_type(topo->hw, HWLOC_OBJ_PCI_DEVICE);
    size_t cap = npci > 0 ? (size_t)npci : 1;

    topo->gpus = calloc(cap, sizeof(*topo->gpus));
    topo->nics = calloc(cap, sizeof(*topo->nics));
    if (!topo->gpus || !topo->nics)
        return zn_fail(err, "out of memory");
    for (hwloc_obj_t pcidev = hwloc_get_next_pcidev(topo->hw, NULL); pcidev;
         pcidev = hwloc_get_next_pcidev(topo->hw, pcidev)) {
        enum zn_gpu_vendor vendor;
        int rc = 0;

        if (is_gpu(pcidev, &vendor))
            rc = add_gpu(topo, pcidev, vendor);
        else
            rc = add_nic(topo, pcidev);
        if (rc < 0)
            return zn_fail(err, "out of memory");
    }
    /* Slurm numbers GPUs in PCI bus order, and so do we. */
    qsort(topo->gpus, topo->ngpus, sizeof(*topo->gpus), gpu_compare);
    qsort(topo->nics, topo->nnics, sizeof(*topo->nics), nic_compare);
    return 0;
}

void zn_devices_free(struct zn_topology *topo)
{
    for (size_t i = 0; i < topo->ngpus; i++) {
        hwloc_bitmap_free(topo->gpus[i].cpuset);
        hwloc_bitmap_free(topo->gpus[i].numa_set);
    }
    for (size_t i = 0; i < topo->nnics; i++) {
        hwloc_bitmap_free(topo->nics[i].cpuset);
        hwloc_bitmap_free(topo->nics[i].numa_set);
    }
    free(topo->gpus);
    free(topo->nics);
}
