/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_PAGECOPY_H
#define ZENITH_PAGECOPY_H

#include <stdint.h>

#include "runtime/error.h"

/* Small reads of data already in the page cache, copied straight from a read-only mapping of
 * the file: no system call per read. For 4 KiB records a read through io_uring costs about
 * 1.2 us here, most of it the kernel's per-request work; the copy alone 0.4 us. Whether the
 * pages are resident comes from mincore() over each file, refreshed every few milliseconds
 * (a hint only: a page evicted since costs a fault, not a wrong byte), so data that is not in
 * memory still goes through the reader's queue (with a read-around, below). A file cut short under
 * the mapping raises SIGBUS in the copying thread; the copy is abandoned, that file is not mapped
 * again and the read goes the normal way, which reports the short file. One thread per zn_pagecopy.
 */

struct zn_pagecopy;

/* Reads up to max_read bytes qualify. NULL only when out of memory. */
struct zn_pagecopy *zn_pagecopy_create(uint64_t max_read, struct zn_error *err);

/* 1: len bytes at offset of fd copied to dst; 0: not done (too large, past the mapped end,
 * pages not resident, file not mappable): read it another way. A miss because the pages are
 * not in memory, in a file that fits in memory, notes a read-around: the kernel is to read the
 * 2 MiB around it, as a page fault reads around (numpy.memmap's advantage on cold small
 * samples), so the samples near it are in memory when the epoch comes to them; an epoch needs
 * every page of such a file, so nothing read around is waste. Files larger than memory are
 * read sample by sample: what is read around would be evicted before it is used. */
int zn_pagecopy_try(struct zn_pagecopy *p, int fd, uint64_t offset, uint64_t len, void *dst);

/* Asks for the read-arounds noted since the last call: the reader calls it once the batch's
 * own reads are submitted, so that they are not queued behind them. */
void zn_pagecopy_flush(struct zn_pagecopy *p);

/* Reads copied so far. */
uint64_t zn_pagecopy_count(const struct zn_pagecopy *p);

void zn_pagecopy_destroy(struct zn_pagecopy *p);

#endif
