/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* A directory of its own for each sealing test, with the 8-GPU fixture sealed in it. */
struct sealed {
    char dir[64];
    char path[128];
    char *bytes; /* the sealed file */
    size_t len;
};

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static void write_all(const char *path, const char *buf, size_t len, mode_t mode)
{
    int fd;

    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fchmod(fd, mode), 0);
    ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
    close(fd);
}

static void seal_fixture(struct sealed *s)
{
    struct zn_error err = {{0}};

    strcpy(s->dir, "/tmp/zenith-seal-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s->dir));
    snprintf(s->path, sizeof(s->path), "%s/topology.xml", s->dir);
    ck_assert_msg(zn_topology_seal_xml(test_src_path(EIGHT_GPU), s->path, &err) == 0, "%s",
                  err.text);
    s->bytes = read_all(s->path, &s->len);
}

static void sealed_done(struct sealed *s)
{
    char cmd[128];

    free(s->bytes);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", s->dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* The cache at s->path is refused with a message that names it, says `why` and tells the
 * admin how to write a good one. */
static void assert_refused(const struct sealed *s, const char *why, const char *what)
{
    struct zn_error err = {{0}};
    char fix[256];

    snprintf(fix, sizeof(fix), "rewrite it on this node with 'zenith-plan --write-xml %s'",
             s->path);
    ck_assert_msg(zn_topology_load_sealed(s->path, &err) == NULL, "%s: loaded", what);
    ck_assert_msg(strncmp(err.text, "zenith: ", 8) == 0 && strstr(err.text, s->path) &&
                      strstr(err.text, why) && strstr(err.text, fix),
                  "%s: %s", what, err.text);
    /* zenith-run's loader applies the same rules. */
    ck_assert_msg(zn_topology_load_cached(s->path, &err) == NULL, "%s: loaded as cached", what);
    ck_assert_msg(strstr(err.text, why), "%s (cached): %s", what, err.text);
}

START_TEST(sealed_cache_loads)
{
    struct sealed s;
    struct zn_error err = {{0}};
    struct zn_topology *topo;
    struct stat st;
    char seal[128];
    const char *last;

    seal_fixture(&s);
    /* The XML exactly as given, then one seal line. */
    size_t xml_len = 0;
    char *xml = read_all(test_src_path(EIGHT_GPU), &xml_len);
    ck_assert_uint_gt(s.len, xml_len);
    ck_assert_int_eq(memcmp(s.bytes, xml, xml_len), 0);
    last = s.bytes + xml_len;
    snprintf(seal, sizeof(seal), "<!-- zenith-topology-cache v1 bytes=%zu fnv1a64=", xml_len);
    ck_assert_msg(strncmp(last, seal, strlen(seal)) == 0, "%s", last);
    ck_assert_uint_eq(strlen(last), strlen(seal) + 16 + strlen(" -->\n"));
    ck_assert_str_eq(last + strlen(seal) + 16, " -->\n");
    free(xml);
    ck_assert_int_eq(stat(s.path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0644);

    topo = zn_topology_load_sealed(s.path, &err);
    ck_assert_msg(topo != NULL, "%s", err.text);
    ck_assert_str_eq(topo->source, s.path);
    ck_assert_uint_eq(topo->ngpus, 8);
    ck_assert_uint_eq(topo->npus, 64);
    zn_topology_destroy(topo);
    /* hwloc's own reader (zenith-plan --xml, lstopo) takes the seal as the comment it is. */
    topo = test_load(s.path);
    ck_assert_uint_eq(topo->ngpus, 8);
    zn_topology_destroy(topo);

    /* Resealing a sealed file gives the same file, not a seal inside a seal. */
    char again[160];
    size_t again_len;
    snprintf(again, sizeof(again), "%s/again.xml", s.dir);
    ck_assert_msg(zn_topology_seal_xml(s.path, again, &err) == 0, "%s", err.text);
    char *bytes = read_all(again, &again_len);
    ck_assert_uint_eq(again_len, s.len);
    ck_assert_int_eq(memcmp(bytes, s.bytes, s.len), 0);
    free(bytes);
    sealed_done(&s);
}
END_TEST

START_TEST(sealed_cache_any_flipped_byte_refused)
{
    struct sealed s;
    size_t xml_len;
    int tried = 0, fd;

    seal_fixture(&s);
    fd = open(s.path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    xml_len = (size_t)(strstr(s.bytes, "<!-- zenith-topology-cache") - s.bytes);
    /* Bytes all over the XML (every 23rd: the hash mixes each byte alike, so more would only
     * cost time), and every byte of the seal line. */
    for (size_t i = 0; i < s.len; i += i + 23 < xml_len ? 23 : 1) {
        /* The XML's last newline joins its last line to the seal's. */
        const char *why = i + 1 == xml_len ? "has no Zenith seal"
                          : i < xml_len    ? "changed after it was written"
                          : i == s.len - 1 ? "does not end with Zenith's seal line"
                          : i < xml_len + strlen("<!-- zenith-topology-cache v1 bytes=")
                              ? "has no Zenith seal"
                              : "";
        char what[64];

        char flipped = (char)(s.bytes[i] ^ 0x20);

        ck_assert_int_eq(pwrite(fd, &flipped, 1, (off_t)i), 1);
        snprintf(what, sizeof(what), "byte %zu of %zu flipped", i, s.len);
        assert_refused(&s, why, what);
        ck_assert_int_eq(pwrite(fd, &s.bytes[i], 1, (off_t)i), 1);
        tried++;
    }
    close(fd);
    ck_assert_int_gt(tried, 1200);
    /* Restored, it loads again: the refusals were the flips'. */
    struct zn_error err = {{0}};
    struct zn_topology *topo = zn_topology_load_sealed(s.path, &err);
    ck_assert_msg(topo != NULL, "%s", err.text);
    zn_topology_destroy(topo);
    sealed_done(&s);
}
END_TEST

START_TEST(sealed_cache_truncated_extended_or_unsealed_refused)
{
    struct sealed s;
    size_t xml_len;
    char *edited;

    seal_fixture(&s);
    xml_len = (size_t)(strstr(s.bytes, "<!-- zenith-topology-cache") - s.bytes);
    size_t cuts[] = {s.len - 1, s.len - 5, xml_len, xml_len - 1, xml_len / 2, 1, 0};
    for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
        char what[64];
        write_all(s.path, s.bytes, cuts[c], 0644);
        snprintf(what, sizeof(what), "cut to %zu of %zu bytes", cuts[c], s.len);
        assert_refused(&s, "", what);
    }
    /* The plain XML, as lstopo or a copy of a fixture would leave it. */
    write_all(s.path, s.bytes, xml_len, 0644);
    assert_refused(&s, "has no Zenith seal on its last line", "no seal");
    /* A line after the seal. */
    edited = malloc(s.len + 32);
    ck_assert_ptr_nonnull(edited);
    memcpy(edited, s.bytes, s.len);
    memcpy(edited + s.len, "<!-- more -->\n", 14);
    write_all(s.path, edited, s.len + 14, 0644);
    assert_refused(&s, "has no Zenith seal on its last line", "appended line");
    /* XML cut short, the seal's length edited to match: the checksum still tells. */
    size_t cut = xml_len - 100;
    while (s.bytes[cut - 1] != '\n')
        cut--; /* whole lines, so the seal starts its own */
    char seal[128];
    const char *hash = strstr(s.bytes + xml_len, "fnv1a64=");
    int n = snprintf(seal, sizeof(seal), "<!-- zenith-topology-cache v1 bytes=%zu %s", cut, hash);
    memcpy(edited, s.bytes, cut);
    memcpy(edited + cut, seal, (size_t)n);
    write_all(s.path, edited, cut + (size_t)n, 0644);
    assert_refused(&s, "does not match its seal's checksum", "cut, length edited");
    /* The seal's length one off the XML's. */
    n = snprintf(seal, sizeof(seal), "<!-- zenith-topology-cache v1 bytes=%zu %s", xml_len + 1,
                 hash);
    memcpy(edited, s.bytes, xml_len);
    memcpy(edited + xml_len, seal, (size_t)n);
    write_all(s.path, edited, xml_len + (size_t)n, 0644);
    assert_refused(&s, "is not the length its seal records", "wrong length in the seal");
    free(edited);
    sealed_done(&s);
}
END_TEST

START_TEST(sealed_cache_files_root_must_not_trust)
{
    struct sealed s;
    char link[160];
    int fd;

    seal_fixture(&s);
    /* Too big, before a byte is read (a sparse file costs no disk). */
    fd = open(s.path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)ZN_TOPOLOGY_MAX_BYTES + 1), 0);
    close(fd);
    assert_refused(&s, "is 67108865 bytes, more than the 67108864 (64 MiB) a topology may have",
                   "too big");

    write_all(s.path, s.bytes, s.len, 0664);
    assert_refused(&s, "is writable by users other than its owner (mode 0664)", "group-writable");
    write_all(s.path, s.bytes, s.len, 0646);
    assert_refused(&s, "is writable by users other than its owner (mode 0646)", "world-writable");

    /* A link to a good cache: whoever can make links where the cache lives chooses the file. */
    write_all(s.path, s.bytes, s.len, 0644);
    snprintf(link, sizeof(link), "%s/good.xml", s.dir);
    ck_assert_int_eq(rename(s.path, link), 0);
    ck_assert_int_eq(symlink(link, s.path), 0);
    assert_refused(&s, "is a symbolic link, which Zenith does not follow", "symbolic link");
    ck_assert_int_eq(unlink(s.path), 0);

    ck_assert_int_eq(mkfifo(s.path, 0644), 0);
    assert_refused(&s, "is not a regular file", "a FIFO");
    ck_assert_int_eq(unlink(s.path), 0);

    if (geteuid() == 0) {
        write_all(s.path, s.bytes, s.len, 0644);
        ck_assert_int_eq(chown(s.path, 65534, 65534), 0);
        assert_refused(&s, "belongs to uid 65534, neither root nor this process's uid 0",
                       "another user's file");
    } else {
        printf("skipped: another user's cache (needs root to make one)\n");
    }
    sealed_done(&s);
}
END_TEST

/* hwloc 2.9 dereferences a missing complete_nodeset on the Machine object: renaming that one
 * attribute (one byte) gives an XML that crashes hwloc_topology_load, as found by mutating
 * this fixture. */
static void break_for_hwloc(char *xml)
{
    char *attr = strstr(xml, "complete_nodeset=");

    ck_assert_ptr_nonnull(attr);
    attr[12] = 'Z'; /* complete_noZeset */
}

/* Bytes that crash hwloc never reach it from a cache: the seal refuses them first. */
START_TEST(damaged_xml_never_reaches_hwloc)
{
    struct sealed s;
    const char *object;
    size_t at;

    seal_fixture(&s);
    break_for_hwloc(s.bytes);
    write_all(s.path, s.bytes, s.len, 0644);
    assert_refused(&s, "does not match its seal's checksum: it was changed after it was written",
                   "crashing attribute");
    /* A whole object garbled. */
    free(s.bytes);
    s.bytes = NULL;
    ck_assert_int_eq(unlink(s.path), 0);
    sealed_done(&s);
    seal_fixture(&s);
    object = strstr(s.bytes, "<object type=\"NUMANode\"");
    ck_assert_ptr_nonnull(object);
    at = (size_t)(object - s.bytes);
    memcpy(s.bytes + at, "<object type=\"NUMANode\" os_index=\"-9\" <<<<", 43);
    write_all(s.path, s.bytes, s.len, 0644);
    assert_refused(&s, "does not match its seal's checksum: it was changed after it was written",
                   "damaged NUMA object");
    sealed_done(&s);
}
END_TEST

/* The writer loads the XML in a child first: hwloc crashing there refuses the file, and this
 * process goes on. */
START_TEST(seal_refuses_what_crashes_hwloc)
{
    struct sealed s;
    struct zn_error err = {{0}};
    char in[160], cmd[192];
    size_t len;
    char *xml = read_all(test_src_path(EIGHT_GPU), &len);

    seal_fixture(&s);
    ck_assert_int_eq(unlink(s.path), 0);
    snprintf(in, sizeof(in), "%s/crash.xml", s.dir);
    break_for_hwloc(xml);
    write_all(in, xml, len, 0644);
    ck_assert_int_eq(zn_topology_seal_xml(in, s.path, &err), -1);
    ck_assert_msg(strstr(err.text, "zenith: hwloc crashed loading ") == err.text &&
                      strstr(err.text, in) && strstr(err.text, "Segmentation fault") &&
                      strstr(err.text, "nothing was written to") && strstr(err.text, s.path),
                  "%s", err.text);
    ck_assert_int_eq(access(s.path, F_OK), -1);
    snprintf(cmd, sizeof(cmd), "ls %s | grep -q tmp", s.dir);
    ck_assert_int_ne(system(cmd), 0);
    free(xml);
    sealed_done(&s);
}
END_TEST

START_TEST(seal_refuses_what_does_not_load)
{
    struct sealed s;
    struct zn_error err = {{0}};
    char in[160], garbage[] = "<topology><object type=\"Machine\"";

    seal_fixture(&s);
    ck_assert_int_eq(unlink(s.path), 0);
    snprintf(in, sizeof(in), "%s/garbage.xml", s.dir);
    write_all(in, garbage, strlen(garbage), 0644);
    ck_assert_int_eq(zn_topology_seal_xml(in, s.path, &err), -1);
    ck_assert_msg(strstr(err.text, "zenith: ") == err.text &&
                      strstr(err.text, "is not a valid hwloc topology XML; nothing was "
                                       "written to") &&
                      strstr(err.text, in) && strstr(err.text, s.path) &&
                      !strstr(err.text + 8, "zenith: "),
                  "%s", err.text);
    ck_assert_int_eq(access(s.path, F_OK), -1);
    /* Nor is a temporary file left beside it. */
    char cmd[192];
    snprintf(cmd, sizeof(cmd), "ls %s | grep -q tmp", s.dir);
    ck_assert_int_ne(system(cmd), 0);
    /* An input that is not there. */
    ck_assert_int_eq(zn_topology_seal_xml("/nonexistent/in.xml", s.path, &err), -1);
    ck_assert_msg(strstr(err.text, "cannot read /nonexistent/in.xml"), "%s", err.text);
    sealed_done(&s);
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
    tcase_add_test(tc, sealed_cache_loads);
    tcase_add_test(tc, sealed_cache_any_flipped_byte_refused);
    tcase_add_test(tc, sealed_cache_truncated_extended_or_unsealed_refused);
    tcase_add_test(tc, sealed_cache_files_root_must_not_trust);
    tcase_add_test(tc, damaged_xml_never_reaches_hwloc);
    tcase_add_test(tc, seal_refuses_what_crashes_hwloc);
    tcase_add_test(tc, seal_refuses_what_does_not_load);
    return test_run("topology", tc);
}
