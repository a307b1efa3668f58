/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/report.h"
#include "tests/unit/testutil.h"

#define EIGHT_GPU "tests/fixtures/zenith-2s4n-8xH100-4xCX7-smt2.xml"
#define AMD_GPU   "tests/fixtures/zenith-1s1n-4xMI250X-nosmt.xml"

START_TEST(eight_gpu_server_model)
{
    struct zn_topology *topo = test_load(test_src_path(EIGHT_GPU));

    ck_assert_uint_eq(topo->npackages, 2);
    ck_assert_uint_eq(topo->ncores, 32);
    ck_assert_uint_eq(topo->npus, 64);
    ck_assert_uint_eq(topo->nnuma, 5);
    /* Non-contiguous OS numbers, in hwloc's logical order; node 6 is CXL memory only. */
    unsigned os[] = {0, 1, 4, 5, 6};
    for (size_t d = 0; d < 5; d++) {
        ck_assert_uint_eq(topo->numa[d].os_index, os[d]);
        ck_assert(topo->numa[d].has_cpus == (os[d] != 6));
    }
    ck_assert_str_eq(topo->numa[4].subtype, "CXL-DRAM");
    ck_assert_str_eq(test_list(topo->numa[2].cpuset), "16-23,48-55");
    ck_assert_int_eq(topo->numa[2].package, 1);
    /* Core 16 (PUs 16 and 48) allocates from node 4 (index 2), not from the CXL node. */
    ck_assert_int_eq(topo->cores[16].numa, 2);
    ck_assert_str_eq(test_list(topo->cores[16].pus), "16,48");
    /* Huge page pools: base page dropped, 2M and 1G kept with their counts. */
    ck_assert_uint_eq(topo->numa[0].npools, 2);
    ck_assert_uint_eq(topo->numa[0].pools[0].size, 2097152);
    ck_assert_uint_eq(topo->numa[0].pools[0].count, 512);
    ck_assert_uint_eq(topo->numa[0].pools[1].size, 1ULL << 30);
    ck_assert_uint_eq(topo->numa[4].npools, 0);
    zn_topology_destroy(topo);
}
END_TEST

START_TEST(gpus_in_pci_order_bmc_is_not_a_gpu)
{
    struct zn_topology *topo = test_load(test_src_path(EIGHT_GPU));
    static const char *const busids[] = {"0000:0b:00.0", "0000:0c:00.0", "0000:1b:00.0",
                                         "0000:1c:00.0", "0000:3b:00.0", "0000:3c:00.0",
                                         "0000:9b:00.0", "0000:9c:00.0"};
    static const unsigned numa_os[] = {4, 4, 0, 0, 1, 1, 5, 5};

    ck_assert_uint_eq(topo->ngpus, 8); /* the ASPEED VGA with card0 is not counted */
    for (size_t g = 0; g < 8; g++) {
        const struct zn_gpu *gpu = &topo->gpus[g];
        ck_assert_str_eq(gpu->busid, busids[g]);
        ck_assert_int_eq(gpu->vendor, ZN_GPU_NVIDIA);
        ck_assert_str_eq(gpu->model, "NVIDIA H100 80GB HBM3");
        ck_assert_int_eq(hwloc_bitmap_weight(gpu->numa_set), 1);
        ck_assert_uint_eq(topo->numa[hwloc_bitmap_first(gpu->numa_set)].os_index, numa_os[g]);
    }
    ck_assert_str_eq(topo->gpus[2].osdevs, "cuda2 nvml2");
    zn_topology_destroy(topo);
}
END_TEST

START_TEST(nics_kinds_ports_and_locality)
{
    struct zn_topology *topo = test_load(test_src_path(EIGHT_GPU));

    ck_assert_uint_eq(topo->nnics, 5);
    ck_assert_str_eq(topo->nics[0].name, "eno1");
    ck_assert_int_eq(topo->nics[0].kind, ZN_NIC_ETHERNET);
    ck_assert(!zn_nic_is_rdma(&topo->nics[0]));
    ck_assert_str_eq(topo->nics[1].name, "mlx5_0");
    ck_assert_str_eq(topo->nics[1].netdev, "ibp13s0");
    ck_assert_int_eq(topo->nics[1].kind, ZN_NIC_IB);
    ck_assert_uint_eq(topo->nics[1].port, 2); /* port 1 is down, port 2 active */
    ck_assert_uint_eq(topo->numa[hwloc_bitmap_first(topo->nics[1].numa_set)].os_index, 4);
    /* The HCA behind the same PCIe switch as GPUs 0-1 is closer to them than any other. */
    unsigned same = zn_pci_distance(topo->gpus[0].pcidev, topo->nics[1].pcidev);
    for (size_t k = 2; k < 5; k++)
        ck_assert_uint_lt(same, zn_pci_distance(topo->gpus[0].pcidev, topo->nics[k].pcidev));
    zn_topology_destroy(topo);
}
END_TEST

/* The JSON object that starts with `start` (up to its closing brace; devices have no nested
 * objects), in a static buffer; "" when there is none. */
static const char *json_object(const char *json, const char *start)
{
    static char buf[1024];
    const char *p = strstr(json, start);
    size_t n = p ? strcspn(p, "}") : 0;

    snprintf(buf, sizeof(buf), "%.*s", (int)n, p ? p : "");
    return buf;
}

/* The JSON topology gives each GPU's and NIC's NUMA nodes as OS numbers, in a list: a device
 * behind an I/O hub shared by several nodes is local to all of them. */
START_TEST(json_topology_has_device_numa_nodes)
{
    struct zn_topology *topo = test_load(test_src_path(EIGHT_GPU));
    char *json = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&json, &len);

    /* Make GPU 7 (node 5) local to node 4 as well: model index 2 is OS node 4. */
    ck_assert_uint_eq(topo->numa[2].os_index, 4);
    hwloc_bitmap_set(topo->gpus[7].numa_set, 2);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(zn_report_topology_json(out, topo), 0);
    ck_assert_int_eq(fclose(out), 0);
    /* OS numbers, not the model's indices (GPU 0's node 4 is index 2). */
    ck_assert_str_eq(strstr(json_object(json, "{\"index\":0,"), ",\"numa\""),
                     ",\"numa\":[4],\"os_devices\":\"cuda0 nvml0\"");
    ck_assert_str_eq(strstr(json_object(json, "{\"index\":2,"), ",\"numa\""),
                     ",\"numa\":[0],\"os_devices\":\"cuda2 nvml2\"");
    ck_assert_str_eq(strstr(json_object(json, "{\"index\":7,"), ",\"numa\""),
                     ",\"numa\":[4,5],\"os_devices\":\"cuda7 nvml7\"");
    /* NICs: mlx5_0 behind GPUs 0-1 on node 4, mlx5_3 on node 5. */
    ck_assert_str_eq(json_object(json, "{\"name\":\"mlx5_0\""),
                     "{\"name\":\"mlx5_0\",\"kind\":\"ib\",\"netdev\":\"ibp13s0\",\"port\":2,"
                     "\"pci\":\"0000:0d:00.0\",\"numa\":[4]");
    ck_assert_str_eq(strstr(json_object(json, "{\"name\":\"mlx5_3\""), ",\"numa\""),
                     ",\"numa\":[5]");
    free(json);
    zn_topology_destroy(topo);
}
END_TEST

START_TEST(amd_without_smt)
{
    struct zn_topology *topo = test_load(test_src_path(AMD_GPU));

    ck_assert_uint_eq(topo->ncores, 16);
    ck_assert_uint_eq(topo->npus, 16);
    ck_assert_uint_eq(topo->ngpus, 4);
    ck_assert_int_eq(topo->gpus[0].vendor, ZN_GPU_AMD);
    ck_assert_str_eq(topo->gpus[0].osdevs, "rsmi0 card1");
    ck_assert_uint_eq(topo->nnics, 2);
    ck_assert_int_eq(topo->nics[0].kind, ZN_NIC_ETHERNET);
    /* HPE Cassini by its PCI vendor, though hwloc only shows the netdev. */
    ck_assert_str_eq(topo->nics[1].name, "hsn0");
    ck_assert_int_eq(topo->nics[1].kind, ZN_NIC_SLINGSHOT);
    ck_assert(zn_nic_is_rdma(&topo->nics[1]));
    zn_topology_destroy(topo);
}
END_TEST

/* Facts about the real machines, from the fixtures' README (skipped without ../shared). */
START_TEST(real_machines)
{
    struct {
        const char *file;
        size_t gpus, numa;
        const char *gpu_numa_os; /* os numbers of each GPU's node */
        const char *rdma;        /* first RDMA NIC, kind */
        enum zn_nic_kind kind;
    } facts[] = {
        {"topology/aws-g4dn.metal_2xXeon8259CL_8xT4_EFA_hwloc2.8.xml", 8, 2, "00001111",
         "rdmap197s0", ZN_NIC_EFA},
        {"topology/llnl-lassen28_2xPOWER9_4xV100-NVLink_hwloc2.2.xml", 4, 2, "0088", "mlx5_0",
         ZN_NIC_IB},
        {"topology/llnl-corona145_2xEPYC7401-8NUMA_4xAMD-MI50_hwloc2.2.xml", 4, 8, "1257", "mlx5_0",
         ZN_NIC_IB},
        {"topology/nvidia-dgx2h_2xXeon8174_16xV100-NVSwitch_trimmedCPUs_hwloc2.xml", 16, 2,
         "0000000011111111", NULL, ZN_NIC_IB},
        {"topology/supermicro-inti6000_2xEPYC7551-8NUMA_cpuonly_hwloc1.11.xml", 0, 8, "", "mlx5_0",
         ZN_NIC_IB},
    };
    int checked = 0;

    for (size_t f = 0; f < sizeof(facts) / sizeof(facts[0]); f++) {
        const char *path = test_shared_path(facts[f].file);
        if (!path) {
            printf("skipped: no ../shared fixtures (%s)\n", facts[f].file);
            continue;
        }
        struct zn_topology *topo = test_load(path);
        ck_assert_uint_eq(topo->ngpus, facts[f].gpus);
        ck_assert_uint_eq(topo->nnuma, facts[f].numa);
        for (size_t g = 0; g < topo->ngpus; g++) {
            unsigned os = topo->numa[hwloc_bitmap_first(topo->gpus[g].numa_set)].os_index;
            ck_assert_msg(os == (unsigned)(facts[f].gpu_numa_os[g] - '0'), "%s: GPU %zu on node %u",
                          facts[f].file, g, os);
        }
        const struct zn_nic *rdma = NULL;
        for (size_t k = 0; k < topo->nnics && !rdma; k++)
            if (zn_nic_is_rdma(&topo->nics[k]))
                rdma = &topo->nics[k];
        if (facts[f].rdma) {
            ck_assert_ptr_nonnull(rdma);
            ck_assert_str_eq(rdma->name, facts[f].rdma);
            ck_assert_int_eq(rdma->kind, facts[f].kind);
        } else {
            ck_assert_ptr_null(rdma);
        }
        zn_topology_destroy(topo);
        checked++;
    }
    printf("real machines checked: %d\n", checked);
}
END_TEST

START_TEST(lassen_disallowed_cpus_and_sparse_numa)
{
    const char *path =
        test_shared_path("topology/llnl-lassen28_2xPOWER9_4xV100-NVLink_hwloc2.2.xml");
    if (!path) {
        printf("skipped: no ../shared fixtures (lassen)\n");
        return;
    }
    struct zn_topology *topo = test_load(path);
    ck_assert_uint_eq(topo->numa[1].os_index, 8);
    ck_assert_int_eq(zn_topology_numa_by_os(topo, 8), 1);
    ck_assert_int_eq(zn_topology_numa_by_os(topo, 1), -1);
    /* PUs 0-7 are reserved for the system on Lassen and hidden from jobs. */
    ck_assert_str_eq(test_list(topo->all_pus), "8-87,96-175");
    ck_assert_str_eq(test_list(topo->complete_pus), "0-175"); /* still in the file */
    ck_assert(!topo->allowed_by_process);                     /* the XML's allowed_cpuset */
    ck_assert_uint_eq(topo->numa[0].pools[0].size, 2097152);  /* 64K base page dropped */
    zn_topology_destroy(topo);
}
END_TEST

START_TEST(missing_and_broken_files)
{
    struct zn_error err;
    char path[] = "/tmp/zenith-broken-XXXXXX";
    int fd;

    ck_assert_ptr_null(zn_topology_load_xml("/nonexistent/node.xml", &err));
    ck_assert_msg(strstr(err.text, "zenith: cannot read topology XML /nonexistent/node.xml"), "%s",
                  err.text);
    ck_assert_msg(strstr(err.text, "--write-xml"), "%s", err.text);

    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "<topology><object", 17), 17);
    close(fd);
    ck_assert_ptr_null(zn_topology_load_xml(path, &err));
    ck_assert_msg(strstr(err.text, "is not a valid hwloc topology XML"), "%s", err.text);
    unlink(path);
}
END_TEST

int main(void)
{
    TCase *tc = tcase_create("topology");
    tcase_add_test(tc, eight_gpu_server_model);
    tcase_add_test(tc, gpus_in_pci_order_bmc_is_not_a_gpu);
    tcase_add_test(tc, nics_kinds_ports_and_locality);
    tcase_add_test(tc, json_topology_has_device_numa_nodes);
    tcase_add_test(tc, amd_without_smt);
    tcase_add_test(tc, real_machines);
    tcase_add_test(tc, lassen_disallowed_cpus_and_sparse_numa);
    tcase_add_test(tc, missing_and_broken_files);
    return test_run("topology", tc);
}
