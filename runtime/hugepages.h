/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_HUGEPAGES_H
#define ZENITH_HUGEPAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/error.h"

/* Huge page pools are machine-wide and shared by every job (and every emulated Slurm node) on
 * the machine, while reservations belong to one job: the SPANK plugin raises the pools when a
 * job starts and the epilog, a different process possibly much later, lowers them again. So
 * each reservation is written down in a small file that outlives the process, and every
 * read-modify-write of a pool happens under one lock so that each job gets back exactly what
 * it added, however the jobs interleave. */

/* Under /run: records vanish at reboot, exactly when the kernel's pools are reset. */
#define ZN_DEFAULT_HUGEPAGE_STATE_DIR "/run/zenith"

struct zn_hugepage_share {
    unsigned numa_os;
    uint64_t pages;
};

struct zn_hugepage_ledger {
    const char *sysfs_root; /* "/sys" normally; tests point it at a copy */
    const char *state_dir;  /* where records live, e.g. "/run/zenith/hugepages" */
};

/* Raise the per-NUMA-node pools by shares[i].pages pages of page_size bytes, check what the
 * kernel really granted, and record the reservation under `key` (a job id plus node name, e.g.
 * "1234.zn1"; only [A-Za-z0-9._-], refused otherwise). All or nothing: on any shortfall every
 * pool already raised is lowered back and -1 is returned with a message naming the NUMA node,
 * pages asked and granted. Returns 1 (and changes nothing) when a record for key already
 * exists: a job reserves once per node even when several steps ask. Shares of 0 pages are
 * skipped; with nothing to reserve it returns 0 and writes no record. Never waits more than
 * about 10 s for the lock, because it runs inside slurmstepd. */
int zn_hugepages_reserve(const struct zn_hugepage_ledger *ledger, const char *key,
                         uint64_t page_size, const struct zn_hugepage_share *shares, size_t nshares,
                         struct zn_error *err);

/* Give back what key's record says (each pool lowered by its recorded pages, never below 0)
 * and delete the record. Returns 0 when released, 1 when there was no record (nothing to do,
 * not an error), -1 on failure (the record is kept so a later call can retry; pools already
 * lowered are dropped from it so a retry never gives back twice). */
int zn_hugepages_release(const struct zn_hugepage_ledger *ledger, const char *key,
                         struct zn_error *err);

/* Whether a file name in the state directory is a reservation record (not the lock or a
 * temporary file): the keys zn_hugepages_reserve accepts. */
bool zn_hugepages_is_record(const char *name);

/* Pages currently configured in one pool (nr_hugepages), for checks and reports. */
int zn_hugepages_pool(const struct zn_hugepage_ledger *ledger, unsigned numa_os, uint64_t page_size,
                      uint64_t *pages, struct zn_error *err);

#endif
