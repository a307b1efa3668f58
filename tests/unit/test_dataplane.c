/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The data service end to end in one process (and across two for a producer that dies): a
 * real token file, the real engine (dataset, order, reader, arena, rings) and the consumer
 * API, checked batch by batch against what the file holds. */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/dataplane.h"
#include "runtime/dataspec.h"
#include "runtime/engine.h"
#include "tests/unit/testutil.h"

#define SEQ_LEN 16u
#define MOD     65521u /* token t of the file is t % MOD */

static char dir[64];
static char path[128];

/* A flat uint16 token file of `tokens` tokens. */
static void write_tokens(const char *name, uint64_t tokens)
{
    FILE *f = fopen(name, "w");
    ck_assert_ptr_nonnull(f);
    for (uint64_t t = 0; t < tokens; t++) {
        uint16_t v = (uint16_t)(t % MOD);
        ck_assert_int_eq(fwrite(&v, 2, 1, f), 1);
    }
    ck_assert_int_eq(fclose(f), 0);
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/zn-dataplane-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/train.bin", dir);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void parse_ok(const char *text, struct zn_dataspec *spec)
{
    struct zn_error err = {{0}};
    int rc = zn_dataspec_parse("--data", text, spec, &err);
    ck_assert_msg(rc == 0, "%s: %s", text, err.text);
}

/* What one rank received. */
struct received {
    uint64_t *ids;
    size_t count, cap;
    uint64_t batches, last_consumed, skipped;
    bool error;
    char text[512];
};

static void keep(struct received *r, uint64_t id)
{
    if (r->count == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->ids = realloc(r->ids, r->cap * sizeof(*r->ids));
        ck_assert_ptr_nonnull(r->ids);
    }
    r->ids[r->count++] = id;
}

/* Every sample's bytes are the window its id names. */
static void check_tokens(const struct zn_dp_view *v, unsigned seq_len, bool random)
{
    for (uint32_t i = 0; i < v->batch->samples; i++) {
        const struct zn_dp_sample *s = &v->samples[i];
        const uint16_t *tok = (const uint16_t *)(v->data + s->offset);
        uint64_t first = random ? s->id : s->id * seq_len;

        ck_assert_uint_eq(s->length, (seq_len + 1) * 2);
        if (i)
            ck_assert_uint_eq(s->offset, v->samples[i - 1].offset + v->samples[i - 1].length);
        for (unsigned t = 0; t <= seq_len; t++)
            ck_assert_msg(tok[t] == (first + t) % MOD, "sample %llu token %u: %u, expected %llu",
                          (unsigned long long)s->id, t, tok[t],
                          (unsigned long long)((first + t) % MOD));
    }
}

/* Record i of the test's file is 100 bytes of i % 251, packed in the batch. */
static void check_records(const struct zn_dp_view *v, uint64_t record_bytes)
{
    for (uint32_t i = 0; i < v->batch->samples; i++) {
        const struct zn_dp_sample *s = &v->samples[i];
        ck_assert_uint_eq(s->length, record_bytes);
        ck_assert_uint_eq(s->offset, (uint64_t)i * record_bytes);
        for (uint64_t b = 0; b < record_bytes; b++)
            ck_assert_uint_eq(v->data[s->offset + b], s->id % 251);
    }
}

/* Run rank `rank` of `world` to the end (or `stop_after` batches) and collect its ids. */
static void run_rank(const char *spec_text, unsigned rank, unsigned world, uint64_t stop_after,
                     struct received *out)
{
    struct zn_dataspec spec;
    struct zn_engine_config cfg = {.rank = rank, .world = world, .numa_node = -1};
    struct zn_error err = {{0}};
    struct zn_engine *e;
    struct zn_dp_consumer *c;
    struct zn_dp_view v;
    int rc;

    memset(out, 0, sizeof(*out));
    parse_ok(spec_text, &spec);
    cfg.spec = &spec;
    e = zn_engine_open(&cfg, &err);
    ck_assert_msg(e != NULL, "%s", err.text);
    ck_assert_msg(zn_engine_start(e, &err) == 0, "%s", err.text);
    c = zn_dp_attach(zn_engine_fd(e), &err);
    ck_assert_msg(c != NULL, "%s", err.text);
    while ((rc = zn_dp_next(c, &v, 10ll * 1000000000, &err)) == 1) {
        if (zn_dp_header(c)->format == ZN_FORMAT_TOKENS)
            check_tokens(&v, spec.dataset.seq_len, spec.dataset.random_windows);
        if (zn_dp_header(c)->format == ZN_FORMAT_RECORDS)
            check_records(&v, spec.dataset.record_bytes);
        for (uint32_t i = 0; i < v.batch->samples; i++)
            keep(out, v.samples[i].id);
        ck_assert_uint_eq(v.batch->seq, out->batches);
        out->batches++;
        out->last_consumed = v.batch->consumed;
        out->skipped += v.batch->skipped;
        ck_assert_int_eq(zn_dp_release(c, &v, &err), 0);
        if (stop_after && out->batches == stop_after)
            break;
    }
    if (rc < 0) {
        out->error = true;
        snprintf(out->text, sizeof(out->text), "%s", err.text);
    }
    zn_dp_detach(c);
    zn_engine_close(e);
    zn_dataspec_clear(&spec);
}

START_TEST(spec_parsing)
{
    struct zn_dataspec s;
    struct zn_error err = {{0}};
    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"", "empty"},
        {"seq_len=8", "path= is missing"},
        {"path=/x.bin,seq_len=8,colour=red", "unknown key 'colour'"},
        {"path=/x.bin,seq_len=8,seq_len=9", "seq_len is given twice"},
        {"path=/x.bin,seq_len=0", "seq_len=0 is not valid"},
        {"path=/x.bin,seq_len=8,batch=many", "batch=many is not valid"},
        {"path=/x.bin", "needs seq_len"},
        {"path=/x.data,seq_len=8", "cannot tell the format"},
        {"path=/x.bin,seq_len=8,dtype=f32", "dtype=f32 is not valid"},
        {"path=/x.bin,seq_len=8,slots=1", "slots=1 is not valid"},
        {"path=/x.bin,seq_len=8,read_size=5000", "multiple of 4K"},
        {"path=/x.bin,seq_len=8,max_errors=3", "needs on_error=skip"},
        {"path=/r,format=records", "needs record=SIZE"},
        {"path=/t.tar,seq_len=8", "are for token data"},
        {"path=/x.bin,seq_len=8,io=fast", "io=fast is not valid"},
        {"path=/x.bin,seq_len=8,shuffle", "is not key=value"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(zn_dataspec_parse("--data", bad[i].text, &s, &err) < 0, "%s accepted",
                      bad[i].text);
        ck_assert_msg(strstr(err.text, bad[i].needle) && !strncmp(err.text, "zenith: --data", 14),
                      "%s: %s", bad[i].text, err.text);
        ck_assert_ptr_null(strstr(err.text + 8, "zenith: "));
    }
    /* Commas in braces are the path's; the format follows the name. */
    parse_ok("path=/d/train-{000..009,020}.tar,batch=4,seed=7", &s);
    ck_assert_str_eq(s.dataset.path, "/d/train-{000..009,020}.tar");
    ck_assert_int_eq(s.dataset.format, ZN_FORMAT_TAR);
    ck_assert_uint_eq(s.batch, 4);
    ck_assert_uint_eq(s.seed, 7);
    zn_dataspec_clear(&s);
    parse_ok("path=/x.bin,seq_len=1024,dtype=u32,windows=random,drop_last=1,epochs=0", &s);
    ck_assert_int_eq(s.dataset.format, ZN_FORMAT_TOKENS);
    ck_assert_uint_eq(s.dataset.token_bytes, 4);
    ck_assert(s.dataset.random_windows && s.drop_last && s.epochs == 0 && s.shuffle);
    zn_dataspec_clear(&s);
    parse_ok("path=/r.dat,record=4K", &s);
    ck_assert_int_eq(s.dataset.format, ZN_FORMAT_RECORDS);
    zn_dataspec_clear(&s);
    parse_ok("path=/r.dat,format=records,record=4K,on_error=skip,max_errors=5", &s);
    ck_assert_uint_eq(s.dataset.record_bytes, 4096);
    ck_assert(s.on_error == ZN_ON_ERROR_SKIP && s.max_errors == 5);
    zn_dataspec_clear(&s);
}
END_TEST

START_TEST(spec_merging)
{
    struct zn_error err = {{0}};
    char *m;

    /* The overrides win, key by key; braces keep their commas; the rest keeps its order. */
    m = zn_dataspec_merge("path=/d/t-{0..3,7}.tar,batch=4,seed=7", "batch=64,shuffle=0", &err);
    ck_assert_str_eq(m, "path=/d/t-{0..3,7}.tar,seed=7,batch=64,shuffle=0");
    free(m);
    m = zn_dataspec_merge(NULL, "path=/x.bin", &err);
    ck_assert_str_eq(m, "path=/x.bin");
    free(m);
    m = zn_dataspec_merge("path=/x.bin,seq_len=8", "", &err);
    ck_assert_str_eq(m, "path=/x.bin,seq_len=8");
    free(m);
    /* A key is a whole key: seq_len does not stand for seq. */
    m = zn_dataspec_merge("seed=1,seq_len=8", "seq=2", &err);
    ck_assert_str_eq(m, "seed=1,seq_len=8,seq=2");
    free(m);
    ck_assert(zn_dataspec_has_key("path=/x.bin,epochs=3", "epochs"));
    ck_assert(!zn_dataspec_has_key("path=/x.bin,epochs=3", "epoch"));
    ck_assert(!zn_dataspec_has_key("path=/d/{epochs=1,b}.tar", "epochs"));
    ck_assert(!zn_dataspec_has_key(NULL, "path"));
}
END_TEST

/* Every sample exactly once over the ranks (padding repeats the epoch's head), the same
 * number of batches on every rank, bytes as in the file. */
static void exactly_once(uint64_t tokens, unsigned world, bool drop_last, unsigned batch)
{
    uint64_t n = (tokens - 1) / SEQ_LEN, per_rank, total = 0;
    uint32_t *seen = calloc(n, sizeof(*seen));
    struct received r;
    char spec[256];
    uint64_t batches = 0;

    ck_assert_ptr_nonnull(seen);
    write_tokens(path, tokens);
    snprintf(spec, sizeof(spec), "path=%s,seq_len=%u,batch=%u,seed=3,drop_last=%d,slots=4", path,
             SEQ_LEN, batch, drop_last);
    per_rank = drop_last ? n / world : (n + world - 1) / world;
    for (unsigned rank = 0; rank < world; rank++) {
        run_rank(spec, rank, world, 0, &r);
        ck_assert_msg(!r.error, "%s", r.text);
        ck_assert_uint_eq(r.count, per_rank);
        if (rank == 0)
            batches = r.batches;
        ck_assert_uint_eq(r.batches, batches);
        ck_assert_uint_eq(r.batches, (per_rank + batch - 1) / batch);
        for (size_t i = 0; i < r.count; i++) {
            ck_assert_uint_lt(r.ids[i], n);
            seen[r.ids[i]]++;
        }
        total += r.count;
        free(r.ids);
    }
    ck_assert_uint_eq(total, per_rank * world);
    for (uint64_t i = 0; i < n; i++) {
        if (drop_last)
            ck_assert_uint_le(seen[i], 1);
        else
            ck_assert_msg(seen[i] >= 1 && seen[i] <= 2, "sample %llu seen %u times",
                          (unsigned long long)i, seen[i]);
    }
    free(seen);
}

START_TEST(every_sample_once_over_ranks)
{
    static const unsigned worlds[] = {1, 2, 3, 8};
    for (size_t w = 0; w < 4; w++) {
        exactly_once(SEQ_LEN * 1003 + 1, worlds[w], false, 7);
        exactly_once(SEQ_LEN * 1003 + 5, worlds[w], true, 4);
    }
}
END_TEST

static void same(const struct received *a, const struct received *b, bool want_same)
{
    bool equal = a->count == b->count && !memcmp(a->ids, b->ids, a->count * sizeof(uint64_t));
    ck_assert_msg(equal == want_same, "orders %s", want_same ? "differ" : "are the same");
}

START_TEST(order_is_reproducible_and_changes_per_epoch)
{
    struct received a, b, c, d;
    char spec[256];

    write_tokens(path, SEQ_LEN * 500 + 1);
    snprintf(spec, sizeof(spec), "path=%s,seq_len=%u,batch=8,seed=11", path, SEQ_LEN);
    run_rank(spec, 1, 3, 0, &a);
    run_rank(spec, 1, 3, 0, &b);
    same(&a, &b, true);
    snprintf(spec, sizeof(spec), "path=%s,seq_len=%u,batch=8,seed=11,epoch=1", path, SEQ_LEN);
    run_rank(spec, 1, 3, 0, &c);
    same(&a, &c, false);
    /* The pread path delivers the same batches. */
    snprintf(spec, sizeof(spec), "path=%s,seq_len=%u,batch=8,seed=11,io=pread", path, SEQ_LEN);
    run_rank(spec, 1, 3, 0, &d);
    same(&a, &d, true);
    /* Two epochs in one run: the second is epoch 1's order. */
    free(b.ids);
    snprintf(spec, sizeof(spec), "path=%s,seq_len=%u,batch=8,seed=11,epochs=2", path, SEQ_LEN);
    run_rank(spec, 1, 3, 0, &b);
    ck_assert_uint_eq(b.count, a.count + c.count);
    ck_assert(!memcmp(b.ids, a.ids, a.count * sizeof(uint64_t)));
    ck_assert(!memcmp(b.ids + a.count, c.ids, c.count * sizeof(uint64_t)));
    free(a.ids);
    free(b.ids);
    free(c.ids);
    free(d.ids);
}
END_TEST

/* Stop after some batches, resume from the consumed count the last batch reported, on the
 * same and on another number of ranks: together, exactly the epoch. */
static void resume(unsigned w1, unsigned w2)
{
    uint64_t n = 1000, consumed = 0;
    uint32_t *seen = calloc(n, sizeof(*seen));
    struct received r;
    char spec[256];

    write_tokens(path, SEQ_LEN * n + 1);
    snprintf(spec, sizeof(spec), "path=%s,seq_len=%u,batch=5,seed=5,drop_last=1", path, SEQ_LEN);
    for (unsigned rank = 0; rank < w1; rank++) {
        run_rank(spec, rank, w1, 9, &r);
        ck_assert_uint_eq(r.batches, 9);
        consumed = r.last_consumed;
        for (size_t i = 0; i < r.count; i++)
            seen[r.ids[i]]++;
        free(r.ids);
    }
    ck_assert_uint_eq(consumed, 9 * 5 * w1);
    snprintf(spec, sizeof(spec), "path=%s,seq_len=%u,batch=5,seed=5,drop_last=1,consumed=%llu",
             path, SEQ_LEN, (unsigned long long)consumed);
    for (unsigned rank = 0; rank < w2; rank++) {
        run_rank(spec, rank, w2, 0, &r);
        ck_assert_msg(!r.error, "%s", r.text);
        for (size_t i = 0; i < r.count; i++)
            seen[r.ids[i]]++;
        free(r.ids);
    }
    /* drop_last leaves out at most w2 - 1 samples of the rest. */
    {
        uint64_t missing = 0;
        for (uint64_t i = 0; i < n; i++) {
            ck_assert_uint_le(seen[i], 1);
            missing += !seen[i];
        }
        ck_assert_uint_eq(missing, (n - consumed) % w2);
    }
    free(seen);
}

START_TEST(resume_yields_exactly_the_rest)
{
    resume(2, 2);
    resume(2, 3);
    resume(3, 8);
}
END_TEST

START_TEST(random_windows)
{
    struct received r;
    char spec[256];

    write_tokens(path, SEQ_LEN * 300 + 1);
    snprintf(spec, sizeof(spec), "path=%s,seq_len=%u,batch=16,windows=random", path, SEQ_LEN);
    run_rank(spec, 0, 1, 0, &r); /* check_tokens verifies each window at its start */
    ck_assert_msg(!r.error, "%s", r.text);
    ck_assert_uint_eq(r.count, 300);
    free(r.ids);
}
END_TEST

/* The file shrinks after the index was built: fail names it; skip counts and keeps going
 * with the same number of batches; max_errors bounds it. */
START_TEST(damaged_while_reading)
{
    struct zn_dataspec spec;
    struct zn_engine_config cfg = {.rank = 0, .world = 1, .numa_node = -1};
    struct zn_error err = {{0}};
    static const char *const policies[] = {"", ",on_error=skip,max_errors=1000",
                                           ",on_error=skip,max_errors=3"};

    for (int k = 0; k < 3; k++) {
        struct zn_engine *e;
        struct zn_dp_consumer *c;
        struct zn_dp_view v;
        uint64_t batches = 0, samples = 0, skipped = 0;
        char text[256];
        int rc;

        write_tokens(path, SEQ_LEN * 100 + 1);
        snprintf(text, sizeof(text), "path=%s,seq_len=16,batch=4,shuffle=0%s", path, policies[k]);
        parse_ok(text, &spec);
        cfg.spec = &spec;
        e = zn_engine_open(&cfg, &err);
        ck_assert_msg(e != NULL, "%s", err.text);
        ck_assert_int_eq(truncate(path, SEQ_LEN * 2 * 60), 0); /* windows 60.. are gone */
        ck_assert_msg(zn_engine_start(e, &err) == 0, "%s", err.text);
        c = zn_dp_attach(zn_engine_fd(e), &err);
        ck_assert_ptr_nonnull(c);
        while ((rc = zn_dp_next(c, &v, 10ll * 1000000000, &err)) == 1) {
            batches++;
            samples += v.batch->samples;
            skipped += v.batch->skipped;
            check_tokens(&v, SEQ_LEN, false);
            zn_dp_release(c, &v, NULL);
        }
        if (k == 1) {
            struct zn_dp_stats st;
            ck_assert_msg(rc == 0, "%s", err.text);
            ck_assert_uint_eq(batches, 25);     /* the same batches, some shorter */
            ck_assert_uint_eq(samples, 60 - 1); /* window 59 ends past the cut too */
            ck_assert_uint_eq(skipped, 41);
            zn_dp_stats(c, &st);
            ck_assert_uint_eq(st.skipped, 41);
            ck_assert_uint_eq(st.samples, 59);
        } else {
            ck_assert_int_eq(rc, -1);
            ck_assert_msg(strstr(err.text, path) && strstr(err.text, "offset"), "%s", err.text);
            ck_assert_msg(strstr(err.text, k == 0 ? "on_error=skip" : "max_errors=3"), "%s",
                          err.text);
            ck_assert_uint_le(batches, 15);
        }
        zn_dp_detach(c);
        ck_assert_int_eq(zn_engine_stop(e, &err), k == 1 ? 0 : -1);
        zn_engine_close(e);
        zn_dataspec_clear(&spec);
    }
}
END_TEST

START_TEST(bad_input_at_open)
{
    struct zn_dataspec spec;
    struct zn_engine_config cfg = {.rank = 0, .world = 2, .numa_node = -1};
    struct zn_error err = {{0}};
    char text[256];

    snprintf(text, sizeof(text), "path=%s/missing.bin,seq_len=16", dir);
    parse_ok(text, &spec);
    cfg.spec = &spec;
    ck_assert_ptr_null(zn_engine_open(&cfg, &err));
    ck_assert_msg(strstr(err.text, "missing.bin"), "%s", err.text);
    zn_dataspec_clear(&spec);

    write_tokens(path, SEQ_LEN * 10 + 1);
    snprintf(text, sizeof(text), "path=%s,seq_len=16,consumed=11", path);
    parse_ok(text, &spec);
    cfg.spec = &spec;
    ck_assert_ptr_null(zn_engine_open(&cfg, &err));
    ck_assert_msg(strstr(err.text, "consumed=11"), "%s", err.text);
    zn_dataspec_clear(&spec);
}
END_TEST

/* WebDataset shards made by GNU tar, through the engine: each sample's fields arrive named,
 * with their members' bytes, and the ranks together cover every sample. */
START_TEST(tar_shards_through_the_engine)
{
    static const unsigned per_shard[] = {5, 7, 4};
    unsigned total = 0, seen[16] = {0};
    char cmd[1024], spec[256];

    for (unsigned shard = 0; shard < 3; shard++) {
        char members[512] = "";
        for (unsigned k = 0; k < per_shard[shard]; k++, total++) {
            char name[128];
            FILE *f;
            snprintf(name, sizeof(name), "%s/s%03u.txt", dir, total);
            f = fopen(name, "w");
            ck_assert_ptr_nonnull(f);
            fprintf(f, "the text of sample %u%*s", total, (int)(total * 37 % 900), "");
            fclose(f);
            snprintf(name, sizeof(name), "%s/s%03u.cls", dir, total);
            f = fopen(name, "w");
            ck_assert_ptr_nonnull(f);
            fprintf(f, "%u", total);
            fclose(f);
            snprintf(members + strlen(members), sizeof(members) - strlen(members),
                     " s%03u.cls s%03u.txt", total, total);
        }
        snprintf(cmd, sizeof(cmd), "cd '%s' && tar --format=gnu -cf shard-%u.tar%s", dir, shard,
                 members);
        ck_assert_int_eq(system(cmd), 0);
    }
    snprintf(spec, sizeof(spec), "path=%s/shard-{0..2}.tar,batch=3,seed=9,block=4", dir);
    for (unsigned rank = 0; rank < 2; rank++) {
        struct zn_dataspec ds;
        struct zn_engine_config cfg = {.rank = rank, .world = 2, .numa_node = -1};
        struct zn_error err = {{0}};
        struct zn_engine *e;
        struct zn_dp_consumer *c;
        struct zn_dp_view v;
        unsigned samples = 0;
        int rc;

        parse_ok(spec, &ds);
        cfg.spec = &ds;
        e = zn_engine_open(&cfg, &err);
        ck_assert_msg(e != NULL, "%s", err.text);
        ck_assert_msg(zn_engine_start(e, &err) == 0, "%s", err.text);
        c = zn_dp_attach(zn_engine_fd(e), &err);
        ck_assert_ptr_nonnull(c);
        while ((rc = zn_dp_next(c, &v, 10ll * 1000000000, &err)) == 1) {
            for (uint32_t i = 0; i < v.batch->samples; i++) {
                const struct zn_dp_sample *sm = &v.samples[i];
                char text[1024] = "", label[16] = "";
                ck_assert_uint_eq(sm->fields, 2);
                for (uint32_t f = sm->first_field; f < sm->first_field + sm->fields; f++) {
                    const struct zn_dp_field *fd = &v.fields[f];
                    const char *name = zn_dp_field_name(c, fd->name);
                    char *to = !strcmp(name, "txt") ? text : !strcmp(name, "cls") ? label : NULL;
                    ck_assert_msg(to != NULL, "field %s", name);
                    ck_assert_uint_lt(fd->length, to == text ? sizeof(text) : sizeof(label));
                    memcpy(to, v.data + fd->offset, fd->length);
                    to[fd->length] = '\0';
                    ck_assert_uint_eq(fd->sample, i);
                }
                {
                    unsigned n = (unsigned)atoi(label), got = 0;
                    ck_assert_uint_lt(n, total);
                    ck_assert_int_eq(sscanf(text, "the text of sample %u", &got), 1);
                    ck_assert_uint_eq(got, n);
                    ck_assert_uint_eq(strlen(text), strlen("the text of sample ") +
                                                        (unsigned)snprintf(NULL, 0, "%u", n) +
                                                        n * 37 % 900);
                    ck_assert_uint_eq(sm->id, n); /* samples are numbered shard by shard */
                    seen[n]++;
                }
                samples++;
            }
            zn_dp_release(c, &v, NULL);
        }
        ck_assert_msg(rc == 0, "%s", err.text);
        ck_assert_uint_eq(samples, (total + 1) / 2);
        zn_dp_detach(c);
        zn_engine_close(e);
        zn_dataspec_clear(&ds);
    }
    for (unsigned n = 0; n < total; n++)
        ck_assert_msg(seen[n] >= 1 && seen[n] <= 2, "sample %u seen %u times", n, seen[n]);
}
END_TEST

/* Fixed-size records, O_DIRECT: records are packed for the program all the same. */
START_TEST(records_direct)
{
    char file[160], spec[256];
    struct received r;
    FILE *f;

    snprintf(file, sizeof(file), "%s/records.dat", dir);
    f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    for (unsigned i = 0; i < 300 * 100; i++)
        fputc((int)((i / 100) % 251), f);
    fclose(f);
    snprintf(spec, sizeof(spec), "path=%s,format=records,record=100,batch=7,direct=1,seed=2", file);
    run_rank(spec, 0, 1, 0, &r);
    ck_assert_msg(!r.error, "%s", r.text);
    ck_assert_uint_eq(r.count, 300);
    free(r.ids);
}
END_TEST

static int send_fd(int sock, int fd)
{
    char byte = 'f';
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr m = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int receive_fd(int sock)
{
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr m = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *cm;
    int fd = -1;

    if (recvmsg(sock, &m, 0) != 1)
        return -1;
    cm = CMSG_FIRSTHDR(&m);
    if (cm && cm->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(cm), sizeof(int));
    return fd;
}

/* A producer in another process is killed: the consumer takes what was delivered, then gets
 * an error that says so, instead of waiting for ever. */
START_TEST(producer_death_is_an_error_not_a_hang)
{
    int sv[2], fd, rc, status;
    pid_t pid;
    struct zn_error err = {{0}};
    struct zn_dp_consumer *c;
    struct zn_dp_view v;
    unsigned got = 0;

    write_tokens(path, SEQ_LEN * 100000 + 1);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct zn_dataspec spec;
        struct zn_engine_config cfg = {.rank = 0, .world = 1, .numa_node = -1};
        char text[256];
        struct zn_engine *e;

        snprintf(text, sizeof(text), "path=%s,seq_len=16,batch=4,slots=3", path);
        if (zn_dataspec_parse("--data", text, &spec, &err) < 0)
            _exit(1);
        cfg.spec = &spec;
        e = zn_engine_open(&cfg, &err);
        if (!e || zn_engine_start(e, &err) < 0 || send_fd(sv[1], zn_engine_fd(e)) < 0)
            _exit(1);
        pause();
        _exit(0);
    }
    fd = receive_fd(sv[0]);
    ck_assert_int_ge(fd, 0);
    c = zn_dp_attach(fd, &err);
    ck_assert_msg(c != NULL, "%s", err.text);
    ck_assert_int_eq(zn_dp_next(c, &v, 5ll * 1000000000, &err), 1);
    zn_dp_release(c, &v, NULL);
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    while ((rc = zn_dp_next(c, &v, 5ll * 1000000000, &err)) == 1) {
        got++;
        zn_dp_release(c, &v, NULL);
    }
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(err.text, "died"), "%s", err.text);
    ck_assert_uint_le(got, 3);
    zn_dp_detach(c);
    close(fd);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

int main(void)
{
    TCase *tc = tcase_create("dataplane");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, spec_parsing);
    tcase_add_test(tc, spec_merging);
    tcase_add_test(tc, every_sample_once_over_ranks);
    tcase_add_test(tc, order_is_reproducible_and_changes_per_epoch);
    tcase_add_test(tc, resume_yields_exactly_the_rest);
    tcase_add_test(tc, random_windows);
    tcase_add_test(tc, tar_shards_through_the_engine);
    tcase_add_test(tc, records_direct);
    tcase_add_test(tc, damaged_while_reading);
    tcase_add_test(tc, bad_input_at_open);
    tcase_add_test(tc, producer_death_is_an_error_not_a_hang);
    return test_run("dataplane", tc);
}
