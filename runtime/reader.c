/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <liburing.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "runtime/pagecopy.h"
#include "runtime/parse.h"
#include "runtime/reader.h"

/* A request is cut into parts of at most read_size bytes, each one SQE; a part that reads
 * short is resubmitted for its rest, so the caller sees one completion per request. With fixed
 * buffers a part also never crosses a registered buffer (the kernel takes at most 1 GiB per
 * buffer). The pread backend reads in zn_reader_submit itself: there is nothing to overlap
 * without a kernel queue, and the caller's loop stays the same. */

#define DEFAULT_QUEUE_DEPTH 32u
#define MAX_QUEUE_DEPTH     4096u
#define DEFAULT_READ_SIZE   (1u << 20)
#define MAX_READ_SIZE       (1u << 30)
#define FIXED_BUF_BYTES     (UINT64_C(1) << 30)
#define DIRECT_ALIGN        4096u

struct request;

struct part {
    struct request *req;
    uint64_t start; /* in the request */
    uint64_t len;
    uint64_t done;
    struct part *next_free;
};

struct request {
    uint64_t tag;
    int fd;
    uint64_t offset, len;
    uint8_t *dst;
    unsigned parts_in_flight;
    bool all_queued;
    uint64_t end; /* the first byte a part found past the end of the file; len when none did */
    int error;    /* the first part's -errno */
    struct request *next_free;
};

struct zn_reader {
    bool uring, fixed, async, direct;
    unsigned queue_depth;
    uint32_t read_size;
    uint8_t *region;
    size_t region_len;
    struct io_uring ring;
    struct part *parts, *free_parts;
    unsigned busy_parts;
    struct request *requests, *free_requests;
    /* Submitted, not yet returned by zn_reader_reap (done or not). */
    unsigned open;
    /* Completions not yet returned: a queue with room for every open request, so completing
     * one never needs memory. */
    struct zn_read_done *done;
    size_t done_head, done_count, done_cap;
    struct zn_pagecopy *pagecopy; /* NULL: every read through the queue */
    char describe[64];
    char notice[256];
};

static void notice_add(struct zn_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void notice_add(struct zn_reader *r, const char *fmt, ...)
{
    size_t used = strlen(r->notice);
    va_list ap;

    if (used == 0) {
        snprintf(r->notice, sizeof(r->notice), "zenith: ");
        used = strlen(r->notice);
    } else if (used + 2 < sizeof(r->notice)) {
        memcpy(r->notice + used, "; ", 3);
        used += 2;
    }
    if (used + 1 >= sizeof(r->notice))
        return;
    va_start(ap, fmt);
    vsnprintf(r->notice + used, sizeof(r->notice) - used, fmt, ap);
    va_end(ap);
}

static int grow_done(struct zn_reader *r, size_t need)
{
    struct zn_read_done *bigger;
    size_t cap = r->done_cap ? r->done_cap : 64;

    if (need <= r->done_cap)
        return 0;
    while (cap < need)
        cap *= 2;
    bigger = malloc(cap * sizeof(*bigger));
    if (!bigger)
        return -1;
    for (size_t i = 0; i < r->done_count; i++)
        bigger[i] = r->done[(r->done_head + i) % r->done_cap];
    free(r->done);
    r->done = bigger;
    r->done_cap = cap;
    r->done_head = 0;
    return 0;
}

static void push_done(struct zn_reader *r, uint64_t tag, int64_t result)
{
    /* Room was made in zn_reader_submit. */
    r->done[(r->done_head + r->done_count) % r->done_cap] =
        (struct zn_read_done){.tag = tag, .result = result};
    r->done_count++;
}

static void complete(struct zn_reader *r, struct request *q)
{
    push_done(r, q->tag, q->error ? (int64_t)q->error : (int64_t)q->end);
    q->next_free = r->free_requests;
    r->free_requests = q;
}

static int queue_part(struct zn_reader *r, struct part *pt)
{
    struct request *q = pt->req;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    uint8_t *buf = q->dst + pt->start + pt->done;
    unsigned n = (unsigned)(pt->len - pt->done);
    uint64_t offset = q->offset + pt->start + pt->done;

    if (!sqe) {
        /* Not reached while SQEs prepared <= parts in flight <= queue depth; kept so that a
         * miscount costs a syscall and not a lost read. */
        int rc = io_uring_submit(&r->ring);
        if (rc < 0)
            return rc;
        sqe = io_uring_get_sqe(&r->ring);
        if (!sqe)
            return -EBUSY;
    }
    if (r->fixed)
        io_uring_prep_read_fixed(sqe, q->fd, buf, n, offset,
                                 (int)((uint64_t)(buf - r->region) / FIXED_BUF_BYTES));
    else
        io_uring_prep_read(sqe, q->fd, buf, n, offset);
    if (r->async)
        sqe->flags |= IOSQE_ASYNC;
    io_uring_sqe_set_data(sqe, pt);
    return 0;
}

static void part_finished(struct zn_reader *r, struct part *pt)
{
    struct request *q = pt->req;

    pt->next_free = r->free_parts;
    r->free_parts = pt;
    r->busy_parts--;
    q->parts_in_flight--;
    if (q->all_queued && q->parts_in_flight == 0)
        complete(r, q);
}

/* One CQE: the part is done, failed, met the end of the file, or is queued again for its rest. */
static int handle(struct zn_reader *r, const struct io_uring_cqe *cqe)
{
    struct part *pt = io_uring_cqe_get_data(cqe);
    struct request *q = pt->req;
    int res = cqe->res;

    if (res == -EINTR || res == -EAGAIN)
        return queue_part(r, pt);
    if (res < 0) {
        if (!q->error)
            q->error = res;
    } else if (res == 0) {
        if (pt->start + pt->done < q->end)
            q->end = pt->start + pt->done;
    } else {
        pt->done += (unsigned)res;
        if (pt->done < pt->len) {
            /* O_DIRECT reads whole blocks: a short one off a block boundary hit the end of
             * the file, and reading on from there would only fail on the alignment. */
            if (!r->direct || (q->offset + pt->start + pt->done) % DIRECT_ALIGN == 0)
                return queue_part(r, pt);
            if (pt->start + pt->done < q->end)
                q->end = pt->start + pt->done;
        }
    }
    part_finished(r, pt);
    return 0;
}

static int ring_failed(int rc, const char *what, struct zn_error *err)
{
    return zn_fail(err, "io_uring %s failed (%s)", what, strerror(-rc));
}

static int handle_ready(struct zn_reader *r, struct zn_error *err)
{
    struct io_uring_cqe *cqe;

    /* peek enters the kernel when completions wait there (task work, overflow). */
    while (io_uring_peek_cqe(&r->ring, &cqe) == 0) {
        int rc = handle(r, cqe);
        io_uring_cqe_seen(&r->ring, cqe);
        if (rc < 0)
            return ring_failed(rc, "resubmitting a short read", err);
    }
    return 0;
}

static int submit_ready(struct zn_reader *r, unsigned wait_nr, struct zn_error *err)
{
    for (;;) {
        int rc = wait_nr ? io_uring_submit_and_wait(&r->ring, wait_nr) : io_uring_submit(&r->ring);
        if (rc >= 0)
            return 0;
        if (rc != -EINTR && rc != -EAGAIN)
            return ring_failed(rc, "submit", err);
        if (rc == -EAGAIN && handle_ready(r, err) < 0)
            return -1;
    }
}

/* Submit what is prepared, wait for one completion, handle all that are there. */
static int wait_some(struct zn_reader *r, struct zn_error *err)
{
    if (submit_ready(r, 1, err) < 0)
        return -1;
    return handle_ready(r, err);
}

static bool in_region(const struct zn_reader *r, const void *dst, uint64_t len)
{
    uintptr_t start = (uintptr_t)r->region, at = (uintptr_t)dst;
    return at >= start && at - start <= r->region_len && len <= r->region_len - (at - start);
}

static int64_t pread_all(int fd, uint8_t *dst, uint64_t len, uint64_t offset, bool direct)
{
    uint64_t done = 0;

    while (done < len) {
        uint64_t n = len - done < MAX_READ_SIZE ? len - done : MAX_READ_SIZE;
        ssize_t got = pread(fd, dst + done, n, (off_t)(offset + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -(int64_t)errno;
        if (got == 0)
            break;
        done += (uint64_t)got;
        if (direct && done % DIRECT_ALIGN != 0)
            break;
    }
    return (int64_t)done;
}

int zn_reader_submit(struct zn_reader *r, int fd, uint64_t offset, uint64_t len, void *dst,
                     uint64_t tag, struct zn_error *err)
{
    struct request *q;

    if (!in_region(r, dst, len))
        return zn_fail(err,
                       "reader: a read of %" PRIu64 " bytes to %p does not land inside the "
                       "reader's region (%p, %zu bytes; this is a bug in the caller)",
                       len, dst, (void *)r->region, r->region_len);
    if (r->direct && (offset % DIRECT_ALIGN || len % DIRECT_ALIGN || (uintptr_t)dst % DIRECT_ALIGN))
        return zn_fail(err,
                       "reader: O_DIRECT reads need offsets, lengths and addresses that are "
                       "multiples of %u: offset %" PRIu64 ", length %" PRIu64
                       ", address %p (%s is not); align the dataset's extents and slots, or "
                       "open without O_DIRECT",
                       DIRECT_ALIGN, offset, len, dst,
                       offset % DIRECT_ALIGN ? "the offset"
                       : len % DIRECT_ALIGN  ? "the length"
                                             : "the address");
    if (offset > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - offset)
        return zn_fail(err,
                       "reader: a read of %" PRIu64 " bytes at offset %" PRIu64
                       " goes past the largest file offset",
                       len, offset);
    if (grow_done(r, r->open + 1) < 0)
        return zn_fail(err, "reader: out of memory for %u completions", r->open + 1);

    if (r->pagecopy && zn_pagecopy_try(r->pagecopy, fd, offset, len, dst)) {
        push_done(r, tag, (int64_t)len);
        r->open++;
        return 0;
    }
    if (!r->uring) {
        push_done(r, tag, pread_all(fd, dst, len, offset, r->direct));
        r->open++;
        return 0;
    }
    /* Free: each open request that is not done holds a part, and there are queue_depth + 1. */
    q = r->free_requests;
    if (!q)
        return zn_fail(err, "reader: no request left: an earlier io_uring failure left reads "
                            "half queued; destroy this reader and make a new one");
    r->free_requests = q->next_free;
    *q = (struct request){
        .tag = tag, .fd = fd, .offset = offset, .len = len, .dst = dst, .end = len};
    r->open++;
    for (uint64_t start = 0; start < len;) {
        struct part *pt;
        uint64_t n = len - start < r->read_size ? len - start : r->read_size;
        int rc;

        if (r->fixed) {
            uint64_t in_buf = (uint64_t)(q->dst + start - r->region) % FIXED_BUF_BYTES;
            if (n > FIXED_BUF_BYTES - in_buf)
                n = FIXED_BUF_BYTES - in_buf;
        }
        while (!r->free_parts)
            if (wait_some(r, err) < 0)
                return -1;
        pt = r->free_parts;
        r->free_parts = pt->next_free;
        *pt = (struct part){.req = q, .start = start, .len = n};
        r->busy_parts++;
        q->parts_in_flight++;
        rc = queue_part(r, pt);
        if (rc < 0)
            return ring_failed(rc, "queueing a read", err);
        start += n;
    }
    q->all_queued = true;
    if (q->parts_in_flight == 0)
        complete(r, q);
    return 0;
}

int zn_reader_reap(struct zn_reader *r, struct zn_read_done *done, unsigned max, bool wait,
                   struct zn_error *err)
{
    unsigned n = 0;

    if (r->uring && (submit_ready(r, 0, err) < 0 || handle_ready(r, err) < 0))
        return -1;
    if (r->pagecopy) /* after the reads themselves */
        zn_pagecopy_flush(r->pagecopy);
    if (r->uring) {
        while (wait && r->done_count == 0 && r->busy_parts > 0)
            if (wait_some(r, err) < 0)
                return -1;
    }
    while (n < max && r->done_count > 0) {
        done[n++] = r->done[r->done_head];
        r->done_head = (r->done_head + 1) % r->done_cap;
        r->done_count--;
        r->open--;
    }
    return (int)n;
}

uint64_t zn_reader_page_copies(const struct zn_reader *r)
{
    return r->pagecopy ? zn_pagecopy_count(r->pagecopy) : 0;
}

unsigned zn_reader_in_flight(const struct zn_reader *r)
{
    return r->open;
}

const char *zn_reader_describe(const struct zn_reader *r)
{
    return r->describe;
}

const char *zn_reader_notice(const struct zn_reader *r)
{
    return r->notice;
}

/* Why io_uring_setup failed, for the notice or the error: the sysctl says more than EPERM. */
static void uring_unavailable(int rc, char *buf, size_t len)
{
    char disabled[16] = "";
    FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "re");

    if (f) {
        if (!fgets(disabled, sizeof(disabled), f))
            disabled[0] = '\0';
        fclose(f);
        disabled[strcspn(disabled, "\n")] = '\0';
    }
    if (disabled[0] && strcmp(disabled, "0") != 0)
        snprintf(buf, len,
                 "io_uring is not available here (io_uring_setup: %s; "
                 "kernel.io_uring_disabled=%s)",
                 strerror(-rc), disabled);
    else
        snprintf(buf, len, "io_uring is not available here (io_uring_setup: %s)", strerror(-rc));
}

static void register_region(struct zn_reader *r)
{
    size_t nbufs = (r->region_len + FIXED_BUF_BYTES - 1) / FIXED_BUF_BYTES;
    struct iovec *iov = calloc(nbufs, sizeof(*iov));
    char size[32];
    int rc;

    if (!iov) {
        notice_add(r, "out of memory registering the read buffers; reading without fixed buffers");
        return;
    }
    for (size_t i = 0; i < nbufs; i++) {
        uint64_t at = (uint64_t)i * FIXED_BUF_BYTES;
        iov[i].iov_base = r->region + at;
        iov[i].iov_len =
            r->region_len - at < FIXED_BUF_BYTES ? r->region_len - at : FIXED_BUF_BYTES;
    }
    rc = io_uring_register_buffers(&r->ring, iov, (unsigned)nbufs);
    free(iov);
    if (rc == 0) {
        r->fixed = true;
        return;
    }
    zn_format_size(r->region_len, size, sizeof(size));
    if (rc == -ENOMEM) {
        struct rlimit lim;
        char limit[32] = "unlimited";
        if (getrlimit(RLIMIT_MEMLOCK, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
            zn_format_size(lim.rlim_cur, limit, sizeof(limit));
        notice_add(r,
                   "io_uring could not register the %s read buffer (%s; RLIMIT_MEMLOCK is %s: "
                   "raise it, e.g. LimitMEMLOCK=infinity for slurmd); reading without fixed "
                   "buffers",
                   size, strerror(-rc), limit);
    } else {
        notice_add(r,
                   "io_uring could not register the %s read buffer (%s); reading without fixed "
                   "buffers",
                   size, strerror(-rc));
    }
}

struct zn_reader *zn_reader_create(const struct zn_reader_options *o, void *region, size_t len,
                                   struct zn_error *err)
{
    struct zn_reader *r = NULL, *result = NULL;
    char why[200];
    int rc;

    if (!o || !region || len == 0) {
        zn_fail(err, "reader: no options or no region to read into (this is a bug in the caller)");
        goto out;
    }
    if (o->backend != ZN_READER_AUTO && o->backend != ZN_READER_URING &&
        o->backend != ZN_READER_PREAD) {
        zn_fail(err, "reader: unknown backend %d (this is a bug in the caller)", (int)o->backend);
        goto out;
    }
    if (o->queue_depth > MAX_QUEUE_DEPTH || o->read_size > MAX_READ_SIZE ||
        (o->direct && o->read_size % DIRECT_ALIGN)) {
        zn_fail(err,
                "reader: queue depth %u and read size %" PRIu32
                " are not possible: at most %u reads in flight, reads of at most 1G%s",
                o->queue_depth, o->read_size, MAX_QUEUE_DEPTH,
                o->direct ? " and a multiple of 4096 for O_DIRECT" : "");
        goto out;
    }
    /* Parts are cut at the registered buffers' 1 GiB edges, counted from the region's start. */
    if (o->direct && (uintptr_t)region % DIRECT_ALIGN) {
        zn_fail(err,
                "reader: O_DIRECT needs a region aligned to %u bytes, not %p (this is a bug "
                "in the caller)",
                DIRECT_ALIGN, region);
        goto out;
    }
    r = calloc(1, sizeof(*r));
    if (!r) {
        zn_fail(err, "reader: out of memory");
        goto out;
    }
    r->queue_depth = o->queue_depth ? o->queue_depth : DEFAULT_QUEUE_DEPTH;
    r->read_size = o->read_size ? o->read_size : DEFAULT_READ_SIZE;
    r->async = o->async;
    r->direct = o->direct;
    r->region = region;
    r->region_len = len;
    if (grow_done(r, r->queue_depth + 1) < 0) {
        zn_fail(err, "reader: out of memory");
        goto out;
    }

    if (o->backend != ZN_READER_PREAD) {
        rc = io_uring_queue_init(r->queue_depth, &r->ring, 0);
        if (rc < 0) {
            uring_unavailable(rc, why, sizeof(why));
            if (o->backend == ZN_READER_URING) {
                zn_fail(err, "reader: %s; let the reader fall back to pread() (backend auto)", why);
                goto out;
            }
            notice_add(r, "%s; reading with pread()", why);
        } else {
            r->uring = true;
        }
    }
    if (r->uring) {
        r->parts = calloc(r->queue_depth, sizeof(*r->parts));
        r->requests = calloc(r->queue_depth + 1, sizeof(*r->requests));
        if (!r->parts || !r->requests) {
            zn_fail(err, "reader: out of memory");
            goto out;
        }
        for (unsigned i = 0; i < r->queue_depth; i++) {
            r->parts[i].next_free = r->free_parts;
            r->free_parts = &r->parts[i];
        }
        for (unsigned i = 0; i <= r->queue_depth; i++) {
            r->requests[i].next_free = r->free_requests;
            r->free_requests = &r->requests[i];
        }
        if (!o->plain_buffers)
            register_region(r);
        if (o->cpus) {
            rc = io_uring_register_iowq_aff(&r->ring, sizeof(*o->cpus), o->cpus);
            if (rc < 0)
                notice_add(r, "io_uring workers not kept on the rank's CPUs (%s)", strerror(-rc));
        }
        if (o->max_workers) {
            /* Both kinds: a read with IOSQE_ASYNC gets its file only when a worker issues
             * it, so io-wq counts it as unbound work (seen on 6.18: five workers under a
             * bound limit of two). */
            unsigned values[2] = {o->max_workers, o->max_workers};
            rc = io_uring_register_iowq_max_workers(&r->ring, values);
            if (rc < 0)
                notice_add(r, "io_uring workers not limited to %u (%s)", o->max_workers,
                           strerror(-rc));
        }
    }
    if (o->page_copy_max && !o->direct &&
        !(r->pagecopy = zn_pagecopy_create(o->page_copy_max, err)))
        goto out;
    snprintf(r->describe, sizeof(r->describe), "%s%s%s%s%s", r->uring ? "io_uring" : "pread",
             r->fixed ? ", fixed buffers" : "", r->uring && r->async ? ", async" : "",
             r->direct ? ", O_DIRECT" : "", r->pagecopy ? ", page-cache copies" : "");
    result = r;
out:
    if (!result)
        zn_reader_destroy(r);
    return result;
}

void zn_reader_destroy(struct zn_reader *r)
{
    int saved_errno = errno;

    if (!r)
        return;
    if (r->uring) {
        /* The kernel may still be writing into the region: let every read finish first. */
        struct zn_error ignored;
        while (r->busy_parts > 0 && wait_some(r, &ignored) == 0)
            ;
        io_uring_queue_exit(&r->ring);
    }
    zn_pagecopy_destroy(r->pagecopy);
    free(r->parts);
    free(r->requests);
    free(r->done);
    free(r);
    errno = saved_errno;
}
