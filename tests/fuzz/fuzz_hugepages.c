/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The huge page ledger's records (runtime/hugepages.c), which the epilog and the admin tool
 * read back from the state directory: the whole input is the record of job key "1.zn1". Each
 * run reserves on top of it, then releases it, against a sysfs copy with 2M and 1G pools on
 * NUMA nodes 0 and 1 (in a temporary directory, reset every run).
 * ZN_FUZZ_SOURCES:
 * ZN_FUZZ_MAX_LEN: 4096 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/error.h"
#include "runtime/hugepages.h"
#include "tests/fuzz/fuzz.h"

#define KEY "1.zn1"

static char root[64], sys_root[128], state[128], record[192];
static char pools[4][256];

static void put(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) < 0) {
        perror(path);
        abort();
    }
}

static void mkdirs(const char *path)
{
    char buf[256];

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0700);
            *p = '/';
        }
    }
    mkdir(buf, 0700);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    unsigned n = 0;

    snprintf(root, sizeof(root), "%s/zenith-fuzz-hp-XXXXXX", getenv("TMPDIR") ?: "/tmp");
    if (!mkdtemp(root))
        abort();
    snprintf(sys_root, sizeof(sys_root), "%s/sys", root);
    snprintf(state, sizeof(state), "%s/state", root);
    snprintf(record, sizeof(record), "%s/" KEY, state);
    mkdirs(state);
    for (unsigned node = 0; node < 2; node++) {
        for (unsigned kb = 2048; kb <= 1048576; kb *= 512) {
            char dir[256];

            snprintf(dir, sizeof(dir), "%s/devices/system/node/node%u/hugepages/hugepages-%ukB",
                     sys_root, node, kb);
            mkdirs(dir);
            snprintf(pools[n++], sizeof(pools[0]), "%s/nr_hugepages", dir);
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zn_hugepage_ledger ledger = {.sysfs_root = sys_root, .state_dir = state};
    struct zn_hugepage_share shares[2] = {{0, 3}, {1, 2}};
    struct zn_error err;
    uint64_t added[2];

    for (unsigned i = 0; i < 4; i++)
        put(pools[i], "100\n", 4);
    put(record, data, size);
    zn_hugepages_reserve(&ledger, KEY, 2u << 20, shares, 2, added, &err);
    zn_hugepages_release(&ledger, KEY, &err);
    unlink(record);
    return 0;
}
