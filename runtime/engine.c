/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/arena.h"
#include "runtime/dataplane.h"
#include "runtime/dataset.h"
#include "runtime/engine.h"
#include "runtime/env.h"
#include "runtime/order.h"
#include "runtime/parse.h"
#include "runtime/reader.h"

#define DIRECT_ALIGN 4096u
#define POLL_NS      (100 * 1000 * 1000ll) /* how often a waiting producer looks at stop */

/* One read of one extent into a slot. With direct I/O the read covers whole 4 KiB blocks
 * around the extent; `skip` is where the extent starts inside it. */
struct piece {
    uint64_t at;     /* payload offset the read lands at */
    uint64_t want;   /* bytes the read must return at least (to the extent's end) */
    uint64_t skip;   /* extent start within the read */
    uint64_t length; /* the extent's bytes */
    uint32_t sample; /* index in the batch */
    int32_t field;   /* index in the batch's field table, -1 for none */
};

/* A batch being filled in a slot. */
struct work {
    bool busy;
    uint64_t seq;
    unsigned outstanding;
    struct piece *pieces;
    size_t npieces, cap;
    bool *bad;  /* per sample: a read failed */
    bool moved; /* pieces are not packed back to back (direct I/O): compact before publishing */
    char why[320];
};

struct zn_engine {
    struct zn_engine_config cfg;
    struct zn_dataspec spec; /* the caller's, copied (path shared, not owned) */
    struct zn_dataset *ds;
    struct zn_order order;
    struct zn_order_epoch epoch_order; /* the order of the epoch being built */
    bool epoch_order_ready;
    uint64_t *shard_first;
    struct zn_share first_share;
    uint64_t samples; /* N */
    uint64_t max_sample, max_fields, max_extents;
    struct zn_arena arena;
    struct zn_dp_shared *hdr;
    struct zn_reader *reader;
    cpu_set_t cpus;
    bool have_cpus;
    struct work *work; /* per slot */
    uint32_t *by_seq;  /* seq % slots -> slot */
    struct zn_extent *ext;
    unsigned ext_cap;
    struct zn_field *fields; /* max_extents, for one sample */
    pthread_t thread;
    bool started;
    atomic_bool stop;
    char notice[768];
    char description[512];
    char failure[512];
    /* the cursor of the next batch to build */
    uint64_t epoch, epochs_done, batch_in_epoch;
    struct zn_share share;
    uint64_t next_build, next_publish;
    bool all_built;
};

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint64_t round_up(uint64_t v, uint64_t to)
{
    return (v + to - 1) / to * to;
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

/* The largest sample and the most extents and fields of one size the slots. */
static int survey(struct zn_engine *e, struct zn_error *err)
{
    e->max_sample = zn_dataset_max_sample_bytes(e->ds);
    e->max_extents = zn_dataset_max_extents(e->ds);
    if (e->max_extents == 0)
        e->max_extents = 1;
    e->max_fields = zn_dataset_format(e->ds) == ZN_FORMAT_TAR ? e->max_extents : 0;
    e->fields = calloc(e->max_extents, sizeof(*e->fields));
    if (!e->fields)
        return zn_fail(err, "out of memory");
    return 0;
}

static int intern(struct zn_dp_shared *h, const char *name, uint32_t *out)
{
    for (uint32_t i = 0; i < h->names; i++)
        if (!strcmp(h->name[i], name)) {
            *out = i;
            return 0;
        }
    if (h->names == ZN_DP_MAX_NAMES || strlen(name) >= ZN_DP_NAME_BYTES)
        return -1;
    snprintf(h->name[h->names], ZN_DP_NAME_BYTES, "%s", name);
    *out = h->names++;
    return 0;
}

/* Field names of tar samples are interned once, in the header, so a batch refers to them by
 * number. */
static int intern_all(struct zn_engine *e, struct zn_error *err)
{
    uint64_t n = zn_dataset_samples(e->ds);
    struct zn_field *f = e->fields;

    if (zn_dataset_format(e->ds) != ZN_FORMAT_TAR)
        return 0;
    for (uint64_t s = 0; s < n; s++) {
        int nf = zn_dataset_fields(e->ds, s, f, (unsigned)e->max_extents);
        if (nf > (int)e->max_extents)
            nf = (int)e->max_extents;
        for (int i = 0; i < nf; i++) {
            uint32_t id;
            if (intern(e->hdr, f[i].name, &id) < 0)
                return zn_fail(err,
                               "data: %s has more than %d different field names or a "
                               "field name of %d bytes or more ('%s' in sample %llu); the data "
                               "service takes WebDataset samples with a few short fields",
                               e->spec.dataset.path, ZN_DP_MAX_NAMES, ZN_DP_NAME_BYTES, f[i].name,
                               (unsigned long long)s);
        }
    }
    return 0;
}

struct zn_engine *zn_engine_open(const struct zn_engine_config *cfg, struct zn_error *err)
{
    struct zn_engine *e = calloc(1, sizeof(*e));
    unsigned shards;

    if (!e) {
        zn_fail(err, "out of memory");
        return NULL;
    }
    e->arena.fd = -1;
    e->cfg = *cfg;
    e->spec = *cfg->spec;
    if (cfg->cpus) {
        e->cpus = *cfg->cpus;
        e->have_cpus = true;
    }
    e->ds = zn_dataset_open(&e->spec.dataset, err);
    if (!e->ds)
        goto fail;
    e->samples = zn_dataset_epoch_samples(e->ds);
    e->order.samples = e->samples;
    e->order.seed = e->spec.seed;
    e->order.shuffle = e->spec.shuffle;
    e->order.block = e->spec.block;
    if (e->spec.dataset.random_windows)
        e->order.draw_range = zn_dataset_samples(e->ds);
    shards = zn_dataset_shards(e->ds);
    if (shards > 1) {
        e->shard_first = calloc((size_t)shards + 1, sizeof(uint64_t));
        if (!e->shard_first) {
            zn_fail(err, "out of memory");
            goto fail;
        }
        for (unsigned s = 0; s < shards; s++)
            e->shard_first[s] = zn_dataset_shard_first(e->ds, s);
        e->shard_first[shards] = e->samples;
        e->order.shards = shards;
        e->order.shard_first = e->shard_first;
    }
    if (zn_order_check(&e->order, err) < 0)
        goto fail;
    if (e->spec.consumed > e->samples) {
        zn_fail(err,
                "data: consumed=%llu is more than the %llu samples of an epoch of %s; "
                "resume with the consumed= value of the checkpoint of this dataset",
                (unsigned long long)e->spec.consumed, (unsigned long long)e->samples,
                e->spec.dataset.path);
        goto fail;
    }
    if (zn_share_init(&e->first_share, e->samples, e->spec.consumed, cfg->rank, cfg->world,
                      e->spec.drop_last, err) < 0)
        goto fail;
    if (survey(e, err) < 0)
        goto fail;
    return e;
fail:
    zn_engine_close(e);
    return NULL;
}

/* Slot size: the batch's tables, then its payload (every sample at its largest; with direct
 * I/O each extent may need a block before and after it). */
static void slot_layout(const struct zn_engine *e, uint32_t *payload_offset, uint64_t *slot_bytes)
{
    uint64_t b = e->spec.batch, tables, payload;

    tables = sizeof(struct zn_dp_batch) + b * sizeof(struct zn_dp_sample) +
             b * e->max_fields * sizeof(struct zn_dp_field);
    tables = round_up(tables, DIRECT_ALIGN);
    payload = b * e->max_sample;
    if (e->spec.dataset.direct)
        payload += b * e->max_extents * 2 * DIRECT_ALIGN;
    *payload_offset = (uint32_t)tables;
    *slot_bytes = tables + round_up(payload, DIRECT_ALIGN);
}

static void describe(struct zn_engine *e)
{
    char size[32];
    size_t used;

    zn_format_size(e->arena.slot_bytes, size, sizeof(size));
    used = (size_t)snprintf(e->hdr->backing, sizeof(e->hdr->backing), "%s",
                            zn_arena_backing_name(e->arena.backing));
    if (e->arena.numa_node >= 0 && used < sizeof(e->hdr->backing))
        snprintf(e->hdr->backing + used, sizeof(e->hdr->backing) - used, " on NUMA node %d",
                 e->arena.numa_node);
    snprintf(e->hdr->reader, sizeof(e->hdr->reader), "%s", zn_reader_describe(e->reader));
    snprintf(e->description, sizeof(e->description),
             "%s %s: %llu samples per epoch, rank %u of %u takes %llu in batches of %u; %u slots "
             "of %s (%s), %s",
             zn_format_name(zn_dataset_format(e->ds)), e->spec.dataset.path,
             (unsigned long long)e->samples, e->cfg.rank, e->cfg.world,
             (unsigned long long)e->first_share.count, e->spec.batch, e->arena.slots, size,
             e->hdr->backing, e->hdr->reader);
}

#define ASYNC_MIN_SAMPLE (64u << 10) /* samples at least this big go to io-wq by default */

static uint64_t batches_of(const struct zn_share *s, uint32_t batch)
{
    return div_up(s->count, batch);
}

static void fail_producer(struct zn_engine *e, const char *text)
{
    if (atomic_load(&e->hdr->state) == ZN_DP_FAILED)
        return;
    snprintf(e->hdr->error, sizeof(e->hdr->error), "%s", text);
    snprintf(e->failure, sizeof(e->failure), "%s", text);
    atomic_store_explicit(&e->hdr->state, ZN_DP_FAILED, memory_order_release);
    zn_ring_close(e->arena.filled);
}

static int add_piece(struct work *w, const struct piece *p)
{
    if (w->npieces == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        struct piece *n = realloc(w->pieces, cap * sizeof(*n));
        if (!n)
            return -1;
        w->pieces = n;
        w->cap = cap;
    }
    w->pieces[w->npieces++] = *p;
    return 0;
}

static int extents_of(struct zn_engine *e, uint64_t sample, unsigned *count)
{
    int n = zn_dataset_extents(e->ds, sample, e->ext, e->ext_cap);

    if (n > (int)e->ext_cap) {
        struct zn_extent *grown = realloc(e->ext, (size_t)n * sizeof(*grown));
        if (!grown)
            return -1;
        e->ext = grown;
        e->ext_cap = (unsigned)n;
        n = zn_dataset_extents(e->ds, sample, e->ext, e->ext_cap);
    }
    if (n < 0)
        return -1;
    *count = (unsigned)n;
    return 0;
}

/* A slot as zn_dp_view sees it (runtime/dataplane.h): the batch, its sample and field tables,
 * the payload. */
struct slot_tables {
    struct zn_dp_batch *batch;
    struct zn_dp_sample *samples;
    struct zn_dp_field *fields;
    uint8_t *payload;
};

static struct slot_tables tables_of(const struct zn_engine *e, uint32_t slot)
{
    uint8_t *base = zn_arena_slot(&e->arena, slot);
    struct slot_tables t = {.batch = (struct zn_dp_batch *)base};

    t.samples = (struct zn_dp_sample *)(t.batch + 1);
    t.fields = (struct zn_dp_field *)(t.samples + e->spec.batch);
    t.payload = base + e->hdr->payload_offset;
    return t;
}

/* Lay out and submit the next batch in `slot`. Returns 0, or -1 after fail_producer. */
static int build(struct zn_engine *e, uint32_t slot)
{
    struct work *w = &e->work[slot];
    struct slot_tables t = tables_of(e, slot);
    struct zn_dp_batch *b = t.batch;
    struct zn_dp_sample *samples = t.samples;
    struct zn_dp_field *fields = t.fields;
    uint8_t *payload = t.payload;
    uint64_t capacity = e->arena.slot_bytes - e->hdr->payload_offset, at = 0;
    uint64_t k0 = e->batch_in_epoch * e->spec.batch;
    uint32_t n =
        (uint32_t)(e->share.count - k0 < e->spec.batch ? e->share.count - k0 : e->spec.batch);
    uint32_t nfields = 0;
    bool direct = e->spec.dataset.direct;
    struct zn_error err = {{0}};
    char why[512];

    w->busy = true;
    w->seq = e->next_build;
    w->npieces = 0;
    w->outstanding = 0;
    w->moved = direct;
    w->why[0] = '\0';
    memset(w->bad, 0, e->spec.batch * sizeof(bool));
    memset(b, 0, sizeof(*b));
    b->seq = w->seq;
    b->epoch = e->epoch;
    b->position = k0;
    b->samples = n;
    {
        uint64_t done_positions = (k0 + n) * e->cfg.world;
        uint64_t left = e->samples - e->share.start;
        b->consumed = e->share.start + (done_positions < left ? done_positions : left);
    }
    b->last = (k0 + n == e->share.count);

    for (uint32_t i = 0; i < n; i++) {
        uint64_t g = zn_share_position(&e->share, k0 + i);
        uint64_t id = zn_order_epoch_sample(&e->epoch_order, g);
        const struct zn_field *f = e->fields;
        unsigned next = 0;
        int nf = 0;

        if (zn_dataset_format(e->ds) == ZN_FORMAT_TAR) {
            /* A tar sample's extents are its fields': one lookup gives both. */
            nf = zn_dataset_fields(e->ds, id, e->fields, (unsigned)e->max_extents);
            if (nf > (int)e->max_extents)
                nf = (int)e->max_extents;
            for (int x = 0; x < nf; x++)
                e->ext[x] = f[x].extent;
            next = nf > 0 ? (unsigned)nf : 0;
        } else if (extents_of(e, id, &next) < 0) {
            snprintf(why, sizeof(why), "zenith: data: cannot locate sample %llu of %s",
                     (unsigned long long)id, e->spec.dataset.path);
            fail_producer(e, why);
            return -1;
        }
        samples[i].id = id;
        samples[i].first_field = nfields;
        samples[i].fields = (uint32_t)(nf > 0 ? nf : 0);
        samples[i].offset = direct ? 0 : at;
        samples[i].length = 0;
        for (unsigned x = 0; x < next; x++) {
            struct piece p = {.sample = i, .field = -1, .length = e->ext[x].length};
            uint64_t from = e->ext[x].offset, len = e->ext[x].length;

            if (direct) {
                uint64_t aligned = from & ~(uint64_t)(DIRECT_ALIGN - 1);
                p.skip = from - aligned;
                at = round_up(at, DIRECT_ALIGN);
                from = aligned;
                len = round_up(p.skip + len, DIRECT_ALIGN);
            }
            p.at = at;
            p.want = p.skip + p.length;
            if (at + len > capacity) {
                snprintf(why, sizeof(why),
                         "zenith: data: batch %llu does not fit its %llu-byte slot (sample %llu "
                         "of %s); this is a bug, please report it with the SPEC",
                         (unsigned long long)w->seq, (unsigned long long)capacity,
                         (unsigned long long)id, e->spec.dataset.path);
                fail_producer(e, why);
                return -1;
            }
            if (x < (unsigned)nf) {
                uint32_t name = 0;
                intern(e->hdr, f[x].name, &name);
                fields[nfields] = (struct zn_dp_field){
                    .offset = at + p.skip, .length = p.length, .name = name, .sample = i};
                p.field = (int32_t)nfields++;
            }
            samples[i].length += p.length;
            if (add_piece(w, &p) < 0) {
                fail_producer(e, "zenith: data: out of memory");
                return -1;
            }
            if (len == 0)
                continue; /* an empty member: nothing to read */
            if (zn_reader_submit(e->reader, zn_dataset_fd(e->ds, e->ext[x].file), from, len,
                                 payload + at, ((uint64_t)slot << 32) | (w->npieces - 1),
                                 &err) < 0) {
                fail_producer(e, err.text[0] ? err.text : "zenith: data: out of memory");
                return -1;
            }
            w->outstanding++;
            at += len;
        }
    }
    b->fields = nfields;
    b->bytes = at;
    e->by_seq[w->seq % e->arena.slots] = slot;
    e->next_build++;

    /* Advance the cursor: next batch, next epoch, or the end. */
    if (++e->batch_in_epoch == batches_of(&e->share, e->spec.batch)) {
        e->epochs_done++;
        e->batch_in_epoch = 0;
        if (e->spec.epochs && e->epochs_done == e->spec.epochs) {
            e->all_built = true;
        } else {
            struct zn_error err2 = {{0}};
            e->epoch++;
            zn_share_init(&e->share, e->samples, 0, e->cfg.rank, e->cfg.world, e->spec.drop_last,
                          NULL);
            zn_order_epoch_fini(&e->epoch_order);
            e->epoch_order_ready = false;
            if (zn_order_epoch_init(&e->epoch_order, &e->order, e->epoch, &err2) < 0) {
                fail_producer(e, err2.text);
                return -1;
            }
            e->epoch_order_ready = true;
        }
    }
    return 0;
}

/* Pack a batch whose pieces sit on block boundaries (direct I/O) or that lost samples, in
 * place: every destination is at or before its source, so a forward memmove is safe. */
static void compact(struct zn_engine *e, uint32_t slot)
{
    struct work *w = &e->work[slot];
    struct slot_tables t = tables_of(e, slot);
    uint64_t at = 0;
    uint32_t out = 0, nfields = 0, last_sample = UINT32_MAX;

    for (size_t i = 0; i < w->npieces; i++) {
        const struct piece *p = &w->pieces[i];
        if (w->bad[p->sample])
            continue;
        if (p->sample != last_sample) {
            struct zn_dp_sample s = t.samples[p->sample];
            s.offset = at;
            s.first_field = nfields;
            t.samples[out++] = s;
            last_sample = p->sample;
        }
        memmove(t.payload + at, t.payload + p->at + p->skip, p->length);
        if (p->field >= 0) {
            struct zn_dp_field f = t.fields[p->field];
            f.offset = at;
            f.sample = out - 1;
            t.fields[nfields++] = f;
        }
        at += p->length;
    }
    /* Samples without any piece (empty) keep no bytes but still count. */
    t.batch->skipped = t.batch->samples - out;
    t.batch->samples = out;
    t.batch->fields = nfields;
    t.batch->bytes = at;
}

static int finish(struct zn_engine *e, uint32_t slot)
{
    struct work *w = &e->work[slot];
    struct zn_dp_batch *b = zn_arena_slot(&e->arena, slot);
    uint32_t bad = 0;
    uint64_t item = slot;

    for (uint32_t i = 0; i < b->samples; i++)
        bad += w->bad[i];
    if (bad) {
        uint64_t skipped = atomic_fetch_add(&e->hdr->skipped, bad) + bad;
        if (e->spec.on_error == ZN_ON_ERROR_FAIL || skipped > e->spec.max_errors) {
            char text[512];
            if (e->spec.on_error == ZN_ON_ERROR_FAIL)
                snprintf(text, sizeof(text), "%s; on_error=skip leaves such samples out", w->why);
            else
                snprintf(text, sizeof(text),
                         "%s; that is %llu damaged samples, more than "
                         "max_errors=%llu",
                         w->why, (unsigned long long)skipped,
                         (unsigned long long)e->spec.max_errors);
            fail_producer(e, text);
            return -1;
        }
    }
    if (w->moved || bad)
        compact(e, slot);
    w->busy = false;
    atomic_fetch_add(&e->hdr->batches_made, 1);
    atomic_fetch_add(&e->hdr->samples_made, b->samples);
    /* The filled ring holds every slot: this never waits. */
    if (zn_ring_enqueue_wait(e->arena.filled, &item, 1, -1) != 1)
        return -1;
    return 0;
}

static void complete(struct zn_engine *e, const struct zn_read_done *d)
{
    uint32_t slot = (uint32_t)(d->tag >> 32), index = (uint32_t)d->tag;
    struct work *w = &e->work[slot];
    const struct piece *p = &w->pieces[index];

    w->outstanding--;
    if (d->result >= 0)
        atomic_fetch_add(&e->hdr->bytes_read, (uint64_t)d->result);
    if (d->result >= 0 && (uint64_t)d->result >= p->want)
        return;
    if (!w->bad[p->sample] && !w->why[0]) {
        struct zn_dp_batch *b = zn_arena_slot(&e->arena, slot);
        struct zn_dp_sample *s = (struct zn_dp_sample *)(b + 1) + p->sample;
        unsigned file = 0;
        unsigned count = 0;
        uint64_t offset = 0;

        if (extents_of(e, s->id, &count) == 0 && count) {
            /* the piece's extent: pieces of a sample are in extent order */
            unsigned x = 0;
            for (size_t i = index; i > 0 && w->pieces[i - 1].sample == p->sample; i--)
                x++;
            if (x < count) {
                file = e->ext[x].file;
                offset = e->ext[x].offset;
            }
        }
        if (d->result < 0)
            snprintf(w->why, sizeof(w->why), "zenith: data: reading %s at offset %llu: %s",
                     zn_dataset_file_name(e->ds, file), (unsigned long long)offset,
                     strerror((int)-d->result));
        else
            snprintf(w->why, sizeof(w->why),
                     "zenith: data: %s ends before offset %llu (sample %llu needs %llu bytes "
                     "there, got %llu): the file changed after it was opened",
                     zn_dataset_file_name(e->ds, file), (unsigned long long)(offset + p->length),
                     (unsigned long long)s->id, (unsigned long long)p->length,
                     (unsigned long long)((uint64_t)d->result > p->skip
                                              ? (uint64_t)d->result - p->skip
                                              : 0));
    }
    w->bad[p->sample] = true;
}

static void *producer(void *arg)
{
    struct zn_engine *e = arg;
    struct zn_read_done done[64];
    struct zn_error err = {{0}};

    if (e->have_cpus)
        pthread_setaffinity_np(pthread_self(), sizeof(e->cpus), &e->cpus);
    while (!atomic_load(&e->stop)) {
        bool progressed = false;

        /* Build while there are batches to build and free slots. */
        while (!e->all_built && !atomic_load(&e->stop)) {
            uint64_t item;
            bool idle = zn_reader_in_flight(e->reader) == 0 && e->next_publish == e->next_build;
            if (!zn_ring_dequeue_u64(e->arena.free, &item)) {
                uint64_t t0;
                int got;
                if (!idle)
                    break;
                /* Nothing in flight: wait for the consumer to give a slot back. */
                t0 = now_ns();
                got = zn_ring_dequeue_wait(e->arena.free, &item, 1, POLL_NS);
                atomic_fetch_add(&e->hdr->wait_free_ns, now_ns() - t0);
                if (got <= 0) {
                    if (got < 0)
                        goto out; /* the consumer closed: stop */
                    continue;
                }
            }
            if (item >= e->arena.slots) {
                fail_producer(e, "zenith: data: the program gave back a slot that does not "
                                 "exist; it wrote into the data service's shared memory");
                goto out;
            }
            if (build(e, (uint32_t)item) < 0)
                goto out;
            progressed = true;
            /* The oldest batch not yet published: publish it before building more, since its
             * reads may all be done (page-cache copies); otherwise the first batch waited for
             * every slot to be built (25 ms on a 1.5 GiB file). */
            if (e->next_publish + 1 == e->next_build)
                break;
        }
        /* Reap, then publish in order. */
        if (zn_reader_in_flight(e->reader)) {
            uint64_t t0 = now_ns();
            int n = zn_reader_reap(e->reader, done, 64, !progressed, &err);
            atomic_fetch_add(&e->hdr->read_ns, now_ns() - t0);
            if (n < 0) {
                fail_producer(e, err.text);
                goto out;
            }
            for (int i = 0; i < n; i++)
                complete(e, &done[i]);
        }
        while (e->next_publish < e->next_build) {
            uint32_t slot = e->by_seq[e->next_publish % e->arena.slots];
            if (e->work[slot].outstanding)
                break;
            if (finish(e, slot) < 0)
                goto out;
            e->next_publish++;
        }
        if (e->all_built && e->next_publish == e->next_build) {
            atomic_store_explicit(&e->hdr->state, ZN_DP_DONE, memory_order_release);
            zn_ring_close(e->arena.filled);
            goto out;
        }
    }
out:
    /* Reads still in flight land in memory that stays mapped until the reader is gone. */
    while (zn_reader_in_flight(e->reader) && zn_reader_reap(e->reader, done, 64, true, &err) > 0)
        ;
    if (atomic_load(&e->hdr->state) == ZN_DP_RUNNING && !atomic_load(&e->stop))
        fail_producer(e, "zenith: data: the producer stopped early");
    return NULL;
}

int zn_engine_start(struct zn_engine *e, struct zn_error *err)
{
    struct zn_arena_params ap = {0};
    struct zn_reader_options ro = {0};
    uint32_t payload_offset;
    uint64_t slot_bytes;
    char line[300];
    bool small;
    int rc;

    slot_layout(e, &payload_offset, &slot_bytes);
    ap.slots = e->spec.slots;
    ap.slot_bytes = slot_bytes;
    ap.header_bytes = (uint32_t)round_up(sizeof(struct zn_dp_shared), 64);
    ap.ring_item_size = sizeof(uint64_t);
    ap.hugepage_size = e->cfg.hugepage_size;
    ap.numa_node = e->cfg.numa_node;
    ap.name = e->cfg.name ? e->cfg.name : "zenith-data";
    if (zn_arena_create(&ap, &e->arena, err) < 0)
        return -1;
    e->hdr = e->arena.header;
    /* Base pages are what a job that reserved no huge pages asked for: only a reservation the
     * arena could not use is worth a notice. */
    if (e->arena.note[0] && e->cfg.hugepage_size)
        snprintf(e->notice, sizeof(e->notice), "%s\n", e->arena.note);

    ro.backend = e->spec.io;
    ro.queue_depth = e->spec.queue_depth;
    ro.read_size = e->spec.read_size;
    /* Page-cache copies leave the engine's thread for io-wq where the rank has a CPU to spare
     * (1.5x one core's copy rate for large reads, measured here); with one CPU they would only
     * compete, and for small samples the hand-off to a worker costs more than the copy (4 KiB
     * records: 0.33 M samples/s async against 0.85 inline on this machine). */
    small = zn_dataset_max_sample_bytes(e->ds) < ASYNC_MIN_SAMPLE;
    ro.async =
        e->spec.async_given ? e->spec.async : (!e->have_cpus || CPU_COUNT(&e->cpus) >= 2) && !small;
    /* Small samples already in memory are copied from the page cache without a system call
     * (4 KiB records: 1.2 us a read through io_uring here, the copy alone 0.4); io=uring or
     * io=pread asks for every read to go that way. */
    if (e->spec.io == ZN_READER_AUTO && small)
        ro.page_copy_max = ASYNC_MIN_SAMPLE;
    ro.plain_buffers = e->arena.backing == ZN_ARENA_BASE_PAGES;
    ro.direct = e->spec.dataset.direct;
    ro.cpus = e->have_cpus ? &e->cpus : NULL;
    e->reader =
        zn_reader_create(&ro, e->arena.slot0, (size_t)e->arena.slots * e->arena.slot_bytes, err);
    if (!e->reader)
        return -1;
    if (zn_reader_notice(e->reader)[0]) {
        snprintf(line, sizeof(line), "%s\n", zn_reader_notice(e->reader));
        strncat(e->notice, line, sizeof(e->notice) - strlen(e->notice) - 1);
    }

    e->work = calloc(e->arena.slots, sizeof(*e->work));
    e->by_seq = calloc(e->arena.slots, sizeof(*e->by_seq));
    e->ext_cap = (unsigned)e->max_extents;
    e->ext = calloc(e->ext_cap, sizeof(*e->ext));
    if (!e->work || !e->by_seq || !e->ext)
        return zn_fail(err, "out of memory");
    for (uint32_t s = 0; s < e->arena.slots; s++) {
        e->work[s].bad = calloc(e->spec.batch, sizeof(bool));
        if (!e->work[s].bad)
            return zn_fail(err, "out of memory");
    }

    /* The header, complete before anyone can see the descriptor. */
    e->hdr->magic = ZN_DP_MAGIC;
    e->hdr->version = ZN_DP_VERSION;
    e->hdr->header_bytes = (uint32_t)sizeof(struct zn_dp_shared);
    e->hdr->format = (uint32_t)zn_dataset_format(e->ds);
    e->hdr->item_bytes = zn_dataset_item_bytes(e->ds);
    e->hdr->seq_len = (zn_dataset_format(e->ds) == ZN_FORMAT_TOKENS ||
                       zn_dataset_format(e->ds) == ZN_FORMAT_MEGATRON)
                          ? e->spec.dataset.seq_len + 1
                          : 0;
    e->hdr->batch = e->spec.batch;
    e->hdr->record_bytes = e->spec.dataset.record_bytes;
    e->hdr->slots = e->arena.slots;
    e->hdr->payload_offset = payload_offset;
    e->hdr->slot_bytes = e->arena.slot_bytes;
    e->hdr->max_fields_per_batch = (uint32_t)(e->spec.batch * e->max_fields);
    e->hdr->rank = e->cfg.rank;
    e->hdr->world = e->cfg.world;
    e->hdr->seed = e->spec.seed;
    e->hdr->samples_per_epoch = e->samples;
    e->hdr->first_epoch = e->spec.epoch;
    e->hdr->epochs = e->spec.epochs;
    e->hdr->first_consumed = e->spec.consumed;
    e->hdr->drop_last = e->spec.drop_last;
    e->hdr->batches_first_epoch = batches_of(&e->first_share, e->spec.batch);
    e->hdr->rank_samples_first_epoch = e->first_share.count;
    {
        struct zn_share later;
        if (zn_share_init(&later, e->samples, 0, e->cfg.rank, e->cfg.world, e->spec.drop_last,
                          NULL) == 0) {
            e->hdr->batches_per_epoch = batches_of(&later, e->spec.batch);
            e->hdr->rank_samples_per_epoch = later.count;
        }
    }
    e->hdr->producer_pid = (int32_t)getpid();
    e->hdr->started_ns = now_ns();
    if (intern_all(e, err) < 0)
        return -1;
    describe(e);
    atomic_store(&e->hdr->state, ZN_DP_RUNNING);

    for (uint32_t s = 0; s < e->arena.slots; s++) {
        if (!zn_ring_enqueue_u64(e->arena.free, s))
            return zn_fail(err, "data: the free ring is smaller than the slots (bug)");
    }
    e->epoch = e->spec.epoch;
    e->share = e->first_share;
    if (zn_order_epoch_init(&e->epoch_order, &e->order, e->epoch, err) < 0)
        return -1;
    e->epoch_order_ready = true;
    rc = pthread_create(&e->thread, NULL, producer, e);
    if (rc)
        return zn_fail(err, "data: cannot start the producer thread: %s", strerror(rc));
    e->started = true;
    return 0;
}

/* The first NUMA node of the task's memory (its home), -1 when the plan named none. */
static int home_node(const char *mems)
{
    const char *q = mems;
    uint64_t v;

    if (!mems || zn_parse_digits(&q, &v) < 0 || v > 4095)
        return -1;
    return (int)v;
}

/* The job's huge page size when it reserved pages on the rank's node (or, without a known node,
 * anywhere on this one). */
static uint64_t reserved_page_size(const char *size, const char *list, int node)
{
    const char *q = list;
    uint64_t bytes;

    if (!size || !list || zn_parse_size(ZN_ENV_HUGEPAGE_SIZE, size, &bytes, NULL) < 0)
        return 0;
    while (*q) {
        uint64_t numa, pages;
        if (zn_parse_digits(&q, &numa) < 0 || *q++ != ':' || zn_parse_digits(&q, &pages) < 0)
            return 0;
        if (pages && (node < 0 || numa == (uint64_t)node))
            return bytes;
        if (*q == ',')
            q++;
    }
    return 0;
}

void zn_engine_place(struct zn_engine_config *cfg, const char *(*get)(void *ctx, const char *name),
                     void *ctx)
{
    cfg->numa_node = home_node(get(ctx, ZN_ENV_MEMS));
    cfg->hugepage_size = reserved_page_size(get(ctx, ZN_ENV_HUGEPAGE_SIZE),
                                            get(ctx, ZN_ENV_HUGEPAGES_RESERVED), cfg->numa_node);
}

int zn_engine_fd(const struct zn_engine *e)
{
    return e->arena.fd;
}

const char *zn_engine_notice(const struct zn_engine *e)
{
    return e->notice;
}

const char *zn_engine_describe(const struct zn_engine *e)
{
    return e->description;
}

int zn_engine_stop(struct zn_engine *e, struct zn_error *err)
{
    if (!e || !e->started)
        return 0;
    atomic_store(&e->stop, true);
    zn_ring_close(e->arena.free); /* wakes a producer waiting for a slot */
    pthread_join(e->thread, NULL);
    e->started = false;
    /* A consumer still attached (a program running its own engine) must not wait for ever. */
    if (atomic_load(&e->hdr->state) == ZN_DP_RUNNING) {
        snprintf(e->hdr->error, sizeof(e->hdr->error),
                 "zenith: data: the data service was stopped before the last batch");
        atomic_store_explicit(&e->hdr->state, ZN_DP_FAILED, memory_order_release);
        zn_ring_close(e->arena.filled);
    }
    if (e->failure[0]) {
        if (err)
            snprintf(err->text, sizeof(err->text), "%s", e->failure);
        return -1;
    }
    return 0;
}

void zn_engine_close(struct zn_engine *e)
{
    if (!e)
        return;
    zn_engine_stop(e, NULL);
    if (e->reader)
        zn_reader_destroy(e->reader);
    if (e->work)
        for (uint32_t s = 0; s < e->arena.slots; s++) {
            free(e->work[s].pieces);
            free(e->work[s].bad);
        }
    free(e->work);
    free(e->by_seq);
    free(e->ext);
    free(e->fields);
    if (e->epoch_order_ready)
        zn_order_epoch_fini(&e->epoch_order);
    zn_arena_close(&e->arena);
    zn_dataset_close(e->ds);
    free(e->shard_first);
    free(e);
}
