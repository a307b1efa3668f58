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
    uint64_t max_bytes;     /* 0, or the most one key may hold in all (see reserve) */
};

/* Make the reservation recorded under `key` (a job id plus node name, e.g. "1234.zn1"; only
 * [A-Za-z0-9._-], refused otherwise) hold at least shares[i].pages pages of page_size bytes on
 * each share's NUMA node. A job has one record per node, however many steps ask: each pool is
 * raised only by what the record lacks (the whole share without a record, the difference when
 * an earlier step recorded less, nothing when it recorded as much or more), the kernel's grant
 * is checked, and the record then holds, per NUMA node and page size, the larger of what it
 * held and what is asked, next to the pools of other page sizes and NUMA nodes it already held.
 * So the record is always the job's total, and zn_hugepages_release gives back exactly that.
 *
 * Returns 0 when pools were raised (added, nshares long unless NULL: how many pages this call
 * added for each share), 1 when the record already covers every share (nothing changed,
 * every added[i] is 0), -1 on failure with a message. All or nothing: on any shortfall every
 * pool this call raised is lowered back, the record is left as it was, and the message names
 * the NUMA node, pages asked and granted; a damaged record is refused and kept. Shares of 0
 * pages are skipped; with nothing to reserve it returns 0 and writes no record. A NUMA node
 * given twice is refused (a bug in the caller). With ledger->max_bytes set, a call that would
 * bring the record's total (all page sizes and NUMA nodes) above both max_bytes and what its own
 * shares come to is refused before any pool is raised: steps on other NUMA nodes or page sizes
 * must not add up to more than a site allows one job (one step's own request is checked when
 * it is submitted). Never waits more than about 10 s for the lock, because it runs inside
 * slurmstepd. */
int zn_hugepages_reserve(const struct zn_hugepage_ledger *ledger, const char *key,
                         uint64_t page_size, const struct zn_hugepage_share *shares, size_t nshares,
                         uint64_t *added, struct zn_error *err);

/* Give back what key's record says (each pool, of every page size it holds, lowered by its
 * recorded pages, never below 0) and delete the record; records written by earlier releases
 * (one page size) are read as they are. Returns 0 when released, 1 when there was no record
 * (nothing to do, not an error), -1 on failure (the record is kept so a later call can retry;
 * pools already lowered are dropped from it so a retry never gives back twice). */
int zn_hugepages_release(const struct zn_hugepage_ledger *ledger, const char *key,
                         struct zn_error *err);

/* Whether a file name in the state directory is a reservation record (not the lock or a
 * temporary file): the keys zn_hugepages_reserve accepts. */
bool zn_hugepages_is_record(const char *name);

/* Pages currently configured in one pool (nr_hugepages), for checks and reports. */
int zn_hugepages_pool(const struct zn_hugepage_ledger *ledger, unsigned numa_os, uint64_t page_size,
                      uint64_t *pages, struct zn_error *err);

#endif
