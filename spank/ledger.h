/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_SPANK_LEDGER_H
#define ZENITH_SPANK_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/hugepages.h"

/* Where and under which name a job's huge pages on this host are recorded: the reservation
 * (slurmstepd) and the release (job epilog) must agree on both. Plain C, no Slurm. */

/* The ledger under this process's state_dir= (zn_spank_settings). */
struct zn_hugepage_ledger zn_spank_ledger(void);

/* JOBID.HOST: the epilog knows the host name, not always Slurm's node name. */
void zn_spank_hugepage_key(uint32_t jobid, char *key, size_t len);

#endif
