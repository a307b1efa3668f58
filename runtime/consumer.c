/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "runtime/arena.h"
#include "runtime/dataplane.h"
#include "runtime/env.h"
#include "runtime/parse.h"

#define SLICE_NS (50 * 1000 * 1000ll) /* how often a waiting consumer checks the producer */

struct zn_dp_consumer {
    struct zn_arena arena;
    struct zn_dp_shared *hdr;
    int pidfd; /* the producer, when it is another process; -1 otherwise */
};

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int fd_from_env(struct zn_error *err)
{
    const char *text = getenv(ZN_ENV_DATAPLANE_FD), *p = text;
    uint64_t v;

    if (!text)
        return zn_fail(err,
                       "%s is not set: no data service was started for this process; "
                       "run it as `zenith-run --data SPEC program`",
                       ZN_ENV_DATAPLANE_FD);
    if (zn_parse_digits(&p, &v) < 0 || *p || v > 1u << 20)
        return zn_fail(err, "%s=%s is not a descriptor number", ZN_ENV_DATAPLANE_FD, text);
    return (int)v;
}

/* The header is the producer's: a consumer checks what it relies on before using it. */
static int check_header(const struct zn_dp_consumer *c, struct zn_error *err)
{
    const struct zn_dp_shared *h = c->hdr;
    const struct zn_arena *a = &c->arena;

    if (a->header_bytes < sizeof(*h) || h->magic != ZN_DP_MAGIC)
        return zn_fail(err, "the shared memory behind %s is not a Zenith data service's",
                       ZN_ENV_DATAPLANE_FD);
    if (h->version != ZN_DP_VERSION || h->header_bytes != sizeof(*h))
        return zn_fail(err,
                       "the data service speaks version %u (header %u bytes), this "
                       "program's Zenith version %d (%zu bytes); use one Zenith for zenith-run "
                       "and the program",
                       h->version, h->header_bytes, ZN_DP_VERSION, sizeof(*h));
    if (h->slots != a->slots || h->slot_bytes != a->slot_bytes || h->batch == 0 ||
        h->payload_offset >= a->slot_bytes ||
        sizeof(struct zn_dp_batch) + (uint64_t)h->batch * sizeof(struct zn_dp_sample) +
                (uint64_t)h->max_fields_per_batch * sizeof(struct zn_dp_field) >
            h->payload_offset ||
        h->names > ZN_DP_MAX_NAMES)
        return zn_fail(err, "the data service's header disagrees with its shared memory");
    return 0;
}

struct zn_dp_consumer *zn_dp_attach(int fd, struct zn_error *err)
{
    struct zn_dp_consumer *c = calloc(1, sizeof(*c));

    if (!c) {
        zn_fail(err, "out of memory");
        return NULL;
    }
    c->arena.fd = -1;
    c->pidfd = -1;
    if (fd < 0 && (fd = fd_from_env(err)) < 0)
        goto fail;
    /* A copy: the caller's descriptor (the engine's own, in one process) stays theirs. */
    fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        zn_fail(err,
                "the data service's descriptor is not open here (%s); start the "
                "program with zenith-run --data and do not close its descriptors",
                strerror(errno));
        goto fail;
    }
    if (zn_arena_attach(fd, &c->arena, err) < 0) {
        if (c->arena.fd != fd)
            close(fd);
        goto fail;
    }
    c->hdr = c->arena.header;
    if (check_header(c, err) < 0)
        goto fail;
    if (c->hdr->producer_pid != (int32_t)getpid()) {
        c->pidfd = (int)syscall(SYS_pidfd_open, (pid_t)c->hdr->producer_pid, 0);
        if (c->pidfd < 0 && errno == ESRCH) {
            zn_fail(err, "the data service (pid %d) is not running any more",
                    (int)c->hdr->producer_pid);
            goto fail;
        }
    }
    return c;
fail:
    zn_dp_detach(c);
    return NULL;
}

static bool producer_gone(const struct zn_dp_consumer *c)
{
    struct pollfd p = {.fd = c->pidfd, .events = POLLIN};

    return c->pidfd >= 0 && poll(&p, 1, 0) == 1;
}

/* A slot number from the ring is checked, and so is what its batch says about itself: a
 * consumer indexes memory with these. */
static int view_of(struct zn_dp_consumer *c, uint64_t item, struct zn_dp_view *v,
                   struct zn_error *err)
{
    const struct zn_dp_shared *h = c->hdr;
    const uint8_t *slot;
    const struct zn_dp_batch *b;

    if (item >= c->arena.slots)
        return zn_fail(err, "the data service handed over slot %llu of %u",
                       (unsigned long long)item, c->arena.slots);
    slot = zn_arena_slot(&c->arena, (uint32_t)item);
    b = (const struct zn_dp_batch *)slot;
    if (b->samples > h->batch || b->fields > h->max_fields_per_batch ||
        b->bytes > c->arena.slot_bytes - h->payload_offset)
        return zn_fail(err, "batch %llu in the data service's slot %u is damaged",
                       (unsigned long long)b->seq, (unsigned)item);
    v->batch = b;
    v->samples = (const struct zn_dp_sample *)(b + 1);
    v->fields = (const struct zn_dp_field *)(v->samples + h->batch);
    /* Every sample and field inside the payload: a program may index with them blindly. */
    for (uint32_t i = 0; i < b->samples; i++) {
        const struct zn_dp_sample *s = &v->samples[i];
        if (s->offset > b->bytes || s->length > b->bytes - s->offset ||
            s->first_field > b->fields || s->fields > b->fields - s->first_field)
            return zn_fail(err, "sample %u of batch %llu in the data service's slot %u is damaged",
                           i, (unsigned long long)b->seq, (unsigned)item);
    }
    for (uint32_t i = 0; i < b->fields; i++) {
        const struct zn_dp_field *f = &v->fields[i];
        if (f->offset > b->bytes || f->length > b->bytes - f->offset || f->name >= h->names ||
            f->sample >= b->samples)
            return zn_fail(err, "field %u of batch %llu in the data service's slot %u is damaged",
                           i, (unsigned long long)b->seq, (unsigned)item);
    }
    v->data = slot + h->payload_offset;
    v->bytes = b->bytes;
    v->slot = (uint32_t)item;
    return 0;
}

int zn_dp_next(struct zn_dp_consumer *c, struct zn_dp_view *view, int64_t timeout_ns,
               struct zn_error *err)
{
    uint64_t item, t0 = 0, waited = 0;
    int rc = -1;

    memset(view, 0, sizeof(*view));
    if (!zn_ring_dequeue_u64(c->arena.filled, &item)) {
        t0 = now_ns();
        for (;;) {
            int64_t slice = SLICE_NS;
            int got;

            if (timeout_ns >= 0 && (int64_t)waited >= timeout_ns) {
                zn_fail(err, "no batch from the data service within %.3f s",
                        (double)timeout_ns / 1e9);
                rc = ZN_DP_TIMED_OUT;
                goto out;
            }
            if (timeout_ns >= 0 && timeout_ns - (int64_t)waited < slice)
                slice = timeout_ns - (int64_t)waited;
            got = zn_ring_dequeue_wait(c->arena.filled, &item, 1, slice);
            waited = now_ns() - t0;
            if (got == 1)
                break;
            if (got < 0) { /* closed and drained */
                if (atomic_load_explicit(&c->hdr->state, memory_order_acquire) == ZN_DP_DONE) {
                    rc = 0;
                    goto out;
                }
                if (err)
                    snprintf(err->text, sizeof(err->text), "%.*s", (int)sizeof(c->hdr->error),
                             c->hdr->error[0] ? c->hdr->error : "zenith: the data service failed");
                goto out;
            }
            if (producer_gone(c)) {
                zn_fail(err,
                        "the data service (zenith-run, pid %d) died without finishing "
                        "the data; see its messages above",
                        (int)c->hdr->producer_pid);
                goto out;
            }
        }
    }
    if (view_of(c, item, view, err) < 0)
        goto out;
    atomic_fetch_add_explicit(&c->hdr->batches_taken, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->hdr->samples_taken, view->batch->samples, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->hdr->held, 1, memory_order_relaxed);
    rc = 1;
out:
    if (t0)
        atomic_fetch_add_explicit(&c->hdr->stall_ns, waited, memory_order_relaxed);
    return rc;
}

int zn_dp_release(struct zn_dp_consumer *c, const struct zn_dp_view *view, struct zn_error *err)
{
    if (!view->batch || view->slot >= c->arena.slots)
        return zn_fail(err, "zn_dp_release: not a batch from zn_dp_next");
    atomic_fetch_sub_explicit(&c->hdr->held, 1, memory_order_relaxed);
    /* The free ring holds every slot; it is closed only once the producer stopped, and then
     * nobody needs the slot back. */
    if (!zn_ring_enqueue_u64(c->arena.free, view->slot) && !zn_ring_closed(c->arena.free))
        return zn_fail(err, "slot %u was given back twice", view->slot);
    return 0;
}

const struct zn_dp_shared *zn_dp_header(const struct zn_dp_consumer *c)
{
    return c->hdr;
}

const char *zn_dp_field_name(const struct zn_dp_consumer *c, uint32_t name)
{
    return name < c->hdr->names ? c->hdr->name[name] : "";
}

void zn_dp_stats(const struct zn_dp_consumer *c, struct zn_dp_stats *s)
{
    const struct zn_dp_shared *h = c->hdr;

    memset(s, 0, sizeof(*s));
    s->seconds = (double)(now_ns() - h->started_ns) / 1e9;
    s->batches = atomic_load(&h->batches_taken);
    s->samples = atomic_load(&h->samples_taken);
    s->bytes = atomic_load(&h->bytes_read);
    s->skipped = atomic_load(&h->skipped);
    if (s->seconds > 0) {
        s->samples_per_s = (double)s->samples / s->seconds;
        s->bytes_per_s = (double)s->bytes / s->seconds;
    }
    s->ready = zn_ring_count(c->arena.filled);
    s->slots = h->slots;
    s->stall_s = (double)atomic_load(&h->stall_ns) / 1e9;
    s->reader_wait_s = (double)atomic_load(&h->wait_free_ns) / 1e9;
    s->state = (enum zn_dp_state)atomic_load(&h->state);
}

void zn_dp_detach(struct zn_dp_consumer *c)
{
    if (!c)
        return;
    if (c->pidfd >= 0)
        close(c->pidfd);
    zn_arena_close(&c->arena);
    free(c);
}
