/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_READER_H
#define ZENITH_READER_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/error.h"

/* Reads of file ranges into one registered memory region (the arena's slots), asynchronously:
 * io_uring with the region registered (READ_FIXED: no page pinning per read), or pread() where
 * io_uring is unavailable (a container's seccomp profile, kernel.io_uring_disabled), with a
 * one-line notice saying so. One thread submits and reaps; it is not thread-safe.
 *
 * For data in the page cache io_uring completes a read inline, in the submitting thread: queue
 * depth alone buys nothing. IOSQE_ASYNC hands the copy to io-wq workers on other cores instead
 * (measured here: about 12 GiB/s against 7 GiB/s for one core). */

enum zn_reader_backend { ZN_READER_AUTO, ZN_READER_URING, ZN_READER_PREAD };

struct zn_reader_options {
    enum zn_reader_backend backend; /* AUTO: io_uring, else pread with a notice */
    unsigned queue_depth;           /* reads in flight; 0: 32 */
    uint32_t read_size;             /* larger requests are split; 0: 1 MiB */
    bool async;                     /* IOSQE_ASYNC on every read */
    bool plain_buffers;             /* do not register the region: on base pages the kernel
                                     * copies into fixed buffers page by page, slower than a
                                     * plain READ (0.75 against 0.95 of read() measured here) */
    bool direct;                    /* the caller opened its files O_DIRECT: offsets, lengths and
                                     * addresses must be multiples of 4096, checked on submit */
    const cpu_set_t *cpus;          /* io-wq workers' CPUs (the rank's); NULL: inherited */
    unsigned max_workers;           /* io-wq workers, bound and unbound each (IOSQE_ASYNC reads
                                     * count as unbound); 0: the kernel's default */
    uint64_t page_copy_max;         /* reads up to this size whose pages are in the page cache
                                     * are copied from a mapping of the file (runtime/pagecopy.h)
                                     * instead; 0: never. Not with direct. */
};

struct zn_reader;

struct zn_read_done {
    uint64_t tag;
    int64_t result; /* bytes read (less than asked only at end of file), or -errno */
};

/* `region`/`len`: where every read lands (registered for READ_FIXED when the backend allows;
 * if registering fails, e.g. RLIMIT_MEMLOCK, plain READ is used and the notice says so). */
struct zn_reader *zn_reader_create(const struct zn_reader_options *o, void *region, size_t len,
                                   struct zn_error *err);

/* Queue a read of len bytes at offset of fd into dst (inside the region). Short reads are
 * continued internally; one completion per submit. When the queue is full, submit first reaps
 * completions into an internal list that zn_reader_reap returns later. */
int zn_reader_submit(struct zn_reader *r, int fd, uint64_t offset, uint64_t len, void *dst,
                     uint64_t tag, struct zn_error *err);

/* Submit what is queued and return up to max completions (0 when none and !wait; with wait,
 * at least one unless nothing is in flight). -1 on a failure of the ring itself. */
int zn_reader_reap(struct zn_reader *r, struct zn_read_done *done, unsigned max, bool wait,
                   struct zn_error *err);

/* Reads done as page-cache copies so far. */
uint64_t zn_reader_page_copies(const struct zn_reader *r);

/* Requests submitted and not yet returned by zn_reader_reap (finished or not). */
unsigned zn_reader_in_flight(const struct zn_reader *r);

/* "io_uring, fixed buffers, async" or "pread", with ", page-cache copies" */
const char *zn_reader_describe(const struct zn_reader *r);

/* Why the preferred path was not taken, one line starting "zenith: ", or "" */
const char *zn_reader_notice(const struct zn_reader *r);

void zn_reader_destroy(struct zn_reader *r);

#endif
