/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Bytes per second the data service's read path delivers into a rank's arena, against a
 * single-thread read() loop of the same file in the same run.
 *
 * Ours is the real thing: a zn_arena of slots (the data service's shared memory) and a
 * zn_reader over them, reading the file sequentially one slot-sized request per slot, a slot
 * read again as soon as its read completes (the consumer is left out: this is the reading
 * side alone). The baseline reads the same file with read() into a buffer as large as the
 * arena's slots, slot-sized chunks in turn, so both write the same amount of memory that no
 * cache holds.
 *
 * Warm (the file in the page cache): io_uring with fixed buffers on huge pages (plain buffers on
 * base pages, where fixed ones copy page by page: the data service's choice), completing inline
 * in the submitting thread, and the same with IOSQE_ASYNC, where io-wq workers on the other cores
 * do the copies; targets: ours >= 1.0 x read(), and async above one core's copy rate (> 1.0 x).
 * Cold (posix_fadvise DONTNEED before each run, the file fsync'ed when written): ours with
 * O_DIRECT against read() buffered and read() with O_DIRECT into the same arena's memory;
 * target >= 1.0 x each. O_DIRECT splits each request at every break in the destination's
 * physical contiguity, which depends on when the memory was allocated, not on the read path:
 * read() with O_DIRECT into a buffer of its own is shown too, without a target, with both
 * memories' counts of contiguous runs.
 * Every figure is the median of --repetitions runs; the modes alternate within a repetition so
 * drift hits them alike. Each completed chunk's first and last word are checked against the
 * offset pattern the file was written with, so a wrong or missing read cannot look fast. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "runtime/arena.h"
#include "runtime/parse.h"
#include "runtime/reader.h"

#define MB        (UINT64_C(1) << 20)
#define GIB       (1024.0 * 1024.0 * 1024.0)
#define MAX_REPS  101
#define WORD_SALT UINT64_C(0x5a454e4954482121)

struct config {
    const char *dir;
    uint64_t size;
    unsigned repetitions;
    uint32_t slots;
    uint64_t slot_bytes;
    uint32_t read_size;
    unsigned queue_depth;
    uint64_t hugepage_size;
    bool keep;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double median(double *v, unsigned n)
{
    for (unsigned i = 1; i < n; i++)
        for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint64_t word_at(uint64_t offset)
{
    return offset ^ WORD_SALT;
}

/* The first and last whole words of a chunk read from `offset`. */
static int check_chunk(const uint8_t *buf, uint64_t offset, uint64_t len, struct zn_error *err)
{
    uint64_t first, last, last_at;

    if (len < 16)
        return 0;
    last_at = (offset + len - 8) & ~UINT64_C(7);
    memcpy(&first, buf + ((8 - offset % 8) % 8), 8);
    memcpy(&last, buf + (last_at - offset), 8);
    if (first != word_at(offset + (8 - offset % 8) % 8) || last != word_at(last_at))
        return zn_fail(err,
                       "reader-bench: the chunk read at %" PRIu64 " does not hold the file's bytes",
                       offset);
    return 0;
}

static int write_file(const char *path, uint64_t size, struct zn_error *err)
{
    const uint64_t chunk = 4 * MB;
    uint64_t *buf = malloc(chunk);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc = -1;

    if (fd < 0 || !buf) {
        zn_fail(err, "reader-bench: cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    for (uint64_t at = 0; at < size; at += chunk) {
        uint64_t n = size - at < chunk ? size - at : chunk;
        for (uint64_t w = 0; w < chunk / 8; w++)
            buf[w] = word_at(at + w * 8);
        for (uint64_t done = 0; done < n;) {
            ssize_t put = write(fd, (uint8_t *)buf + done, n - done);
            if (put < 0 && errno == EINTR)
                continue;
            if (put < 0) {
                zn_fail(err, "reader-bench: writing %s: %s", path, strerror(errno));
                goto out;
            }
            done += (uint64_t)put;
        }
    }
    if (fsync(fd) < 0) {
        zn_fail(err, "reader-bench: fsync %s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}

/* Share of the file in the page cache, 0..1; -1 when it cannot be told. */
static double resident(int fd, uint64_t size)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t pages = (size_t)((size + (uint64_t)page - 1) / (uint64_t)page), in = 0;
    unsigned char *vec = malloc(pages ? pages : 1);
    void *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    double share = -1;

    if (vec && map != MAP_FAILED && mincore(map, size, vec) == 0) {
        for (size_t i = 0; i < pages; i++)
            in += vec[i] & 1;
        share = (double)in / (double)pages;
    }
    if (map != MAP_FAILED)
        munmap(map, size);
    free(vec);
    return share;
}

static int drop_cache(const char *path, uint64_t size, struct zn_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    double share;

    if (fd < 0)
        return zn_fail(err, "reader-bench: %s: %s", path, strerror(errno));
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    share = resident(fd, size);
    close(fd);
    if (share > 0.01)
        return zn_fail(err,
                       "reader-bench: %.0f%% of %s stayed in the page cache after "
                       "POSIX_FADV_DONTNEED; cold figures would be warm",
                       share * 100, path);
    return 0;
}

static int open_file(const char *path, bool direct, struct zn_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
    if (fd < 0)
        zn_fail(err, "reader-bench: cannot open %s%s: %s", path, direct ? " with O_DIRECT" : "",
                strerror(errno));
    return fd;
}

/* The baseline: one thread, read() of slot-sized chunks into the buffer in turn. */
static double run_read_loop(const struct config *c, const char *path, bool direct, uint8_t *buf,
                            struct zn_error *err)
{
    int fd = open_file(path, direct, err);
    uint64_t at = 0;
    uint32_t slot = 0;
    double t0, took = -1;

    if (fd < 0)
        return -1;
    t0 = now_s();
    while (at < c->size) {
        uint8_t *dst = buf + (uint64_t)slot * c->slot_bytes;
        uint64_t got = 0;
        while (got < c->slot_bytes) {
            ssize_t n = read(fd, dst + got, c->slot_bytes - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                zn_fail(err, "reader-bench: read %s: %s", path, strerror(errno));
                goto out;
            }
            if (n == 0)
                break;
            got += (uint64_t)n;
        }
        if (got == 0)
            break;
        if (check_chunk(dst, at, got, err) < 0)
            goto out;
        at += got;
        slot = (slot + 1) % c->slots;
    }
    took = now_s() - t0;
    if (at != c->size) {
        zn_fail(err, "reader-bench: read() got %" PRIu64 " of %" PRIu64 " bytes", at, c->size);
        took = -1;
    }
out:
    close(fd);
    return took;
}

/* Ours: one slot-sized request per slot, each slot read again as soon as its read is done. */
static double run_ours(const struct config *c, const char *path, const struct zn_arena *a,
                       struct zn_reader *r, bool direct, struct zn_error *err)
{
    int fd = open_file(path, direct, err);
    uint64_t *slot_offset = calloc(a->slots, sizeof(*slot_offset)), next = 0, delivered = 0;
    struct zn_read_done done[64];
    unsigned busy = 0;
    double t0, took = -1;

    if (fd < 0 || !slot_offset) {
        if (fd >= 0)
            zn_fail(err, "reader-bench: out of memory");
        goto out;
    }
    t0 = now_s();
    for (uint32_t s = 0; s < a->slots && next < c->size; s++, next += c->slot_bytes, busy++) {
        slot_offset[s] = next;
        if (zn_reader_submit(r, fd, next, c->slot_bytes, zn_arena_slot(a, s), s, err) < 0)
            goto out;
    }
    while (busy > 0) {
        int n = zn_reader_reap(r, done, 64, true, err);
        if (n < 0)
            goto out;
        for (int i = 0; i < n; i++) {
            uint32_t s = (uint32_t)done[i].tag;
            uint64_t at = slot_offset[s];
            uint64_t want = c->size - at < c->slot_bytes ? c->size - at : c->slot_bytes;

            if (done[i].result != (int64_t)want) {
                zn_fail(err,
                        "reader-bench: the read at %" PRIu64 " returned %" PRId64 ", not %" PRIu64,
                        at, done[i].result, want);
                goto out;
            }
            if (check_chunk(zn_arena_slot(a, s), at, want, err) < 0)
                goto out;
            delivered += want;
            busy--;
            if (next < c->size) {
                slot_offset[s] = next;
                if (zn_reader_submit(r, fd, next, c->slot_bytes, zn_arena_slot(a, s), s, err) < 0)
                    goto out;
                next += c->slot_bytes;
                busy++;
            }
        }
    }
    took = now_s() - t0;
    if (delivered != c->size) {
        zn_fail(err, "reader-bench: delivered %" PRIu64 " of %" PRIu64 " bytes", delivered,
                c->size);
        took = -1;
    }
out:
    if (fd >= 0)
        close(fd);
    free(slot_offset);
    return took;
}

/* One arena and its three readers: the arena the data service gets from the job's huge page
 * reservation, and the base-page one it falls back to without. */
struct side {
    const char *label;
    struct zn_arena arena;
    struct zn_reader *fixed, *async, *direct;
};

enum kind { READ_LOOP, OURS };

struct mode {
    char name[96];
    bool cold, direct;
    enum kind kind;
    struct side *side;
    struct zn_reader *reader;
    double secs[MAX_REPS], rate;
};

/* Runs of physically contiguous 4K pages in [p, p + len): what an O_DIRECT request into it is
 * split by. 0 when /proc/self/pagemap shows no frame numbers (not root). */
static unsigned long contiguous_runs(const void *p, size_t len)
{
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    unsigned long runs = 0;
    uint64_t prev = 0;

    if (fd < 0)
        return 0;
    for (size_t off = 0; off < len; off += 4096) {
        uint64_t entry = 0, frame;

        if (pread(fd, &entry, sizeof(entry), (off_t)(((uintptr_t)p + off) / 4096 * 8)) !=
                sizeof(entry) ||
            (frame = entry & ((UINT64_C(1) << 55) - 1)) == 0) {
            runs = 0;
            break;
        }
        runs += off == 0 || frame != prev + 1;
        prev = frame;
    }
    close(fd);
    return runs;
}

static int verdict(const char *what, double ours, double base, const char *base_name, double target,
                   bool strictly, bool has_target)
{
    double q = ours / base;
    bool pass = strictly ? q > target : q >= target;

    if (!has_target) {
        printf("%-58s ratio %.2f vs %s (no target)\n", what, q, base_name);
        return 0;
    }
    printf("%-58s ratio %.2f vs %s (target %s %.2f) %s\n", what, q, base_name,
           strictly ? ">" : ">=", target, pass ? "PASS" : "FAIL");
    return pass ? 0 : 1;
}

static int side_open(const struct config *c, struct side *sd, uint64_t hugepage_size,
                     struct zn_error *err)
{
    struct zn_arena_params p = {.slots = c->slots,
                                .slot_bytes = c->slot_bytes,
                                .ring_item_size = 8,
                                .hugepage_size = hugepage_size,
                                .numa_node = -1,
                                .name = "zenith-reader-bench"};
    struct zn_reader_options o = {
        .backend = ZN_READER_URING, .queue_depth = c->queue_depth, .read_size = c->read_size};
    size_t len = (size_t)c->slots * c->slot_bytes;

    if (zn_arena_create(&p, &sd->arena, err) < 0)
        return -1;
    if (sd->arena.note[0])
        printf("reader-bench: %s arena: %s\n", sd->label, sd->arena.note);
    /* As the data service does (runtime/engine.c): fixed buffers only on huge pages. */
    o.plain_buffers = sd->arena.backing == ZN_ARENA_BASE_PAGES;
    if (!(sd->fixed = zn_reader_create(&o, sd->arena.slot0, len, err)))
        return -1;
    o.async = true;
    if (!(sd->async = zn_reader_create(&o, sd->arena.slot0, len, err)))
        return -1;
    o.async = false;
    o.direct = true;
    if (!(sd->direct = zn_reader_create(&o, sd->arena.slot0, len, err)))
        return -1;
    if (zn_reader_notice(sd->fixed)[0])
        printf("reader-bench: %s\n", zn_reader_notice(sd->fixed));
    return 0;
}

static void side_close(struct side *sd)
{
    zn_reader_destroy(sd->fixed);
    zn_reader_destroy(sd->async);
    zn_reader_destroy(sd->direct);
    sd->fixed = sd->async = sd->direct = NULL;
    zn_arena_close(&sd->arena);
}

static struct mode *add_mode(struct mode *modes, unsigned *n, bool cold, enum kind kind,
                             struct side *sd, struct zn_reader *r, bool direct)
{
    struct mode *m = &modes[(*n)++];

    memset(m, 0, sizeof(*m));
    m->cold = cold;
    m->kind = kind;
    m->side = sd;
    m->reader = r;
    m->direct = direct;
    if (kind == READ_LOOP && sd)
        snprintf(m->name, sizeof(m->name), "%s  read() loop, %s, into the %s arena",
                 cold ? "cold" : "warm", direct ? "O_DIRECT" : "buffered", sd->label);
    else if (kind == READ_LOOP)
        snprintf(m->name, sizeof(m->name), "%s  read() loop, %s", cold ? "cold" : "warm",
                 direct ? "O_DIRECT" : "buffered");
    else
        snprintf(m->name, sizeof(m->name), "%s  ours, %s: %s", cold ? "cold" : "warm", sd->label,
                 zn_reader_describe(r));
    return m;
}

static double run_mode(const struct config *c, const char *path, struct mode *m, uint8_t *buf,
                       struct zn_error *err)
{
    if (m->cold && drop_cache(path, c->size, err) < 0)
        return -1;
    if (m->kind == READ_LOOP)
        return run_read_loop(c, path, m->direct, m->side ? m->side->arena.slot0 : buf, err);
    return run_ours(c, path, &m->side->arena, m->reader, m->direct, err);
}

static int run(const struct config *c, struct zn_error *err)
{
    struct side sides[2] = {{.label = "huge pages"}, {.label = "base pages"}};
    struct mode modes[16], *warm_read, *cold_read, *cold_read_direct;
    struct mode *warm_fixed[2] = {NULL, NULL}, *warm_async[2] = {NULL, NULL};
    struct mode *cold_direct[2] = {NULL, NULL}, *cold_read_same[2] = {NULL, NULL};
    unsigned nmodes = 0, first_side;
    char path[4096], size[32], slot[32];
    struct statvfs vfs;
    uint8_t *buf = MAP_FAILED;
    size_t buf_len = (size_t)c->slots * c->slot_bytes;
    bool file_made = false;
    int rc = -1, failures = 0;

    if (statvfs(c->dir, &vfs) < 0)
        return zn_fail(err, "reader-bench: %s: %s", c->dir, strerror(errno));
    if ((uint64_t)vfs.f_bavail * vfs.f_frsize < c->size + c->size / 10 + 64 * MB) {
        char have[32];
        zn_format_size((uint64_t)vfs.f_bavail * vfs.f_frsize / MB * MB, have, sizeof(have));
        zn_format_size(c->size, size, sizeof(size));
        return zn_fail(err,
                       "reader-bench: %s has %s free, the %s test file needs more; use "
                       "--size or --dir",
                       c->dir, have, size);
    }
    snprintf(path, sizeof(path), "%s/zenith-reader-bench.%ld", c->dir, (long)getpid());
    file_made = true;
    if (write_file(path, c->size, err) < 0)
        goto out;

    /* Without --hugepages, or when the pool cannot give them, only the base-page side runs and
     * the targets apply to it. */
    first_side = 1;
    if (c->hugepage_size) {
        if (side_open(c, &sides[0], c->hugepage_size, err) < 0)
            goto out;
        if (sides[0].arena.backing == ZN_ARENA_HUGETLB)
            first_side = 0;
        else
            side_close(&sides[0]);
    }
    if (side_open(c, &sides[1], 0, err) < 0)
        goto out;
    buf = mmap(NULL, buf_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
               -1, 0);
    if (buf == MAP_FAILED) {
        zn_fail(err, "reader-bench: cannot map the read() buffer: %s", strerror(errno));
        goto out;
    }
    {
        unsigned long own = contiguous_runs(buf, buf_len),
                      arena_runs = contiguous_runs(sides[1].arena.slot0, buf_len);
        if (own && arena_runs)
            printf("reader-bench: runs of physically contiguous pages: read() buffer %lu, "
                   "base pages arena %lu (of %zu 4K pages; fewer runs, fewer O_DIRECT "
                   "segments)\n",
                   own, arena_runs, buf_len / 4096);
    }
    warm_read = add_mode(modes, &nmodes, false, READ_LOOP, NULL, NULL, false);
    for (unsigned s = first_side; s < 2; s++) {
        warm_fixed[s] = add_mode(modes, &nmodes, false, OURS, &sides[s], sides[s].fixed, false);
        warm_async[s] = add_mode(modes, &nmodes, false, OURS, &sides[s], sides[s].async, false);
    }
    cold_read = add_mode(modes, &nmodes, true, READ_LOOP, NULL, NULL, false);
    cold_read_direct = add_mode(modes, &nmodes, true, READ_LOOP, NULL, NULL, true);
    for (unsigned s = first_side; s < 2; s++) {
        cold_direct[s] = add_mode(modes, &nmodes, true, OURS, &sides[s], sides[s].direct, true);
        cold_read_same[s] = add_mode(modes, &nmodes, true, READ_LOOP, &sides[s], NULL, true);
    }

    zn_format_size(c->size, size, sizeof(size));
    zn_format_size(c->slot_bytes, slot, sizeof(slot));
    printf("reader-bench: %s file %s, %u repetitions (medians), arenas of %u x %s slots on %s, "
           "read size %" PRIu32 ", queue depth %u\n",
           size, path, c->repetitions, c->slots, slot,
           first_side == 0 ? "huge pages and on base pages" : "base pages", c->read_size,
           c->queue_depth);

    /* Warm: read once into the page cache first. */
    if (run_read_loop(c, path, false, buf, err) < 0)
        goto out;
    {
        int fd = open_file(path, false, err);
        double share = fd >= 0 ? resident(fd, c->size) : -1;
        if (fd >= 0)
            close(fd);
        if (share < 0.99)
            printf("reader-bench: only %.0f%% of the file stays in the page cache: the warm "
                   "figures are partly cold (use a smaller --size)\n",
                   share * 100);
    }
    /* Modes alternate within a repetition, so that drift (other load on the machine) hits all. */
    for (unsigned rep = 0; rep < c->repetitions; rep++)
        for (unsigned m = 0; m < nmodes; m++)
            if (!modes[m].cold && (modes[m].secs[rep] = run_mode(c, path, &modes[m], buf, err)) < 0)
                goto out;
    for (unsigned rep = 0; rep < c->repetitions; rep++)
        for (unsigned m = 0; m < nmodes; m++)
            if (modes[m].cold && (modes[m].secs[rep] = run_mode(c, path, &modes[m], buf, err)) < 0)
                goto out;
    for (unsigned m = 0; m < nmodes; m++) {
        modes[m].rate = (double)c->size / median(modes[m].secs, c->repetitions) / GIB;
        printf("%-58s %7.2f GiB/s\n", modes[m].name, modes[m].rate);
    }
    for (unsigned s = first_side; s < 2; s++) {
        char what[96];
        bool target = s == first_side;

        snprintf(what, sizeof(what), "warm  ours, %s, inline", sides[s].label);
        failures +=
            verdict(what, warm_fixed[s]->rate, warm_read->rate, "read()", 1.0, false, target);
        snprintf(what, sizeof(what), "warm  ours, %s, IOSQE_ASYNC", sides[s].label);
        failures += verdict(what, warm_async[s]->rate, warm_read->rate, "read() (one core)", 1.0,
                            true, target);
        snprintf(what, sizeof(what), "cold  ours, %s, O_DIRECT", sides[s].label);
        failures += verdict(what, cold_direct[s]->rate, cold_read->rate, "buffered read()", 1.0,
                            false, target);
        /* O_DIRECT moves data straight into the destination pages, so how physically
         * contiguous they are (how many segments a request becomes) decides as much as the
         * read path: the target compares with read() into the same memory; read() into a
         * buffer of its own, allocated at another moment, is shown for what it is. */
        failures += verdict(what, cold_direct[s]->rate, cold_read_same[s]->rate,
                            "O_DIRECT read() into the same memory", 1.0, false, target);
        failures += verdict(what, cold_direct[s]->rate, cold_read_direct->rate,
                            "O_DIRECT read() into its own buffer", 1.0, false, false);
    }
    rc = failures ? 1 : 0;
out:
    side_close(&sides[0]);
    side_close(&sides[1]);
    if (buf != MAP_FAILED)
        munmap(buf, buf_len);
    if (file_made && !c->keep)
        unlink(path);
    else if (file_made)
        printf("reader-bench: kept %s\n", path);
    return rc;
}

static void usage(FILE *f)
{
    fputs("usage: reader-bench [--dir DIR] [--size SIZE] [--repetitions N] [--slots N]\n"
          "                    [--slot-size SIZE] [--read-size SIZE] [--queue-depth N]\n"
          "                    [--hugepages SIZE] [--keep]\n"
          "\n"
          "Writes a test file, then measures the bytes per second zn_reader delivers into a\n"
          "zn_arena against a single-thread read() loop of the same file: warm (page cache)\n"
          "with and without IOSQE_ASYNC, cold (POSIX_FADV_DONTNEED before each run) with\n"
          "O_DIRECT against buffered and O_DIRECT read(). Medians; ratios with PASS/FAIL.\n"
          "\n"
          "  --dir DIR          where the test file goes (default /var/tmp; not tmpfs: O_DIRECT)\n"
          "  --size SIZE        test file size (default 1G)\n"
          "  --repetitions N    runs of each mode (default 5)\n"
          "  --slots N          arena slots (default 16)\n"
          "  --slot-size SIZE   bytes per slot and per request (default 4M)\n"
          "  --read-size SIZE   the reader's read size (default 1M)\n"
          "  --queue-depth N    reads in flight (default 32)\n"
          "  --hugepages SIZE   also measure an arena on huge pages of SIZE, the data service's\n"
          "                     arena under a job's reservation (default: base pages only)\n"
          "  --keep             keep the test file\n",
          f);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"dir", required_argument, NULL, 'd'},
        {"size", required_argument, NULL, 's'},
        {"repetitions", required_argument, NULL, 'n'},
        {"slots", required_argument, NULL, 'S'},
        {"slot-size", required_argument, NULL, 'b'},
        {"read-size", required_argument, NULL, 'r'},
        {"queue-depth", required_argument, NULL, 'q'},
        {"hugepages", required_argument, NULL, 'H'},
        {"keep", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct config c = {.dir = "/var/tmp",
                       .size = 1024 * MB,
                       .repetitions = 5,
                       .slots = 16,
                       .slot_bytes = 4 * MB,
                       .read_size = 1 * MB,
                       .queue_depth = 32};
    struct zn_error err;
    uint64_t v;
    unsigned u;
    int opt;

    zn_error_clear(&err);
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        int parsed = 0;

        switch (opt) {
        case 'd':
            c.dir = optarg;
            break;
        case 's':
            parsed = zn_parse_size("--size", optarg, &c.size, &err);
            break;
        case 'n':
            parsed = zn_parse_count("--repetitions", optarg, MAX_REPS, &c.repetitions, &err);
            break;
        case 'S':
            parsed = zn_parse_count("--slots", optarg, 4096, &u, &err);
            c.slots = u;
            break;
        case 'b':
            parsed = zn_parse_size("--slot-size", optarg, &c.slot_bytes, &err);
            if (parsed == 0 && c.slot_bytes % 4096)
                parsed = zn_fail(&err, "--slot-size=%s: use a multiple of 4K (O_DIRECT)", optarg);
            break;
        case 'r':
            parsed = zn_parse_size("--read-size", optarg, &v, &err);
            if (parsed == 0 && (v % 4096 || v > (UINT64_C(1) << 30)))
                parsed = zn_fail(&err, "--read-size=%s: use a multiple of 4K up to 1G", optarg);
            c.read_size = (uint32_t)v;
            break;
        case 'q':
            parsed = zn_parse_count("--queue-depth", optarg, 4096, &c.queue_depth, &err);
            break;
        case 'H':
            parsed = zn_parse_size("--hugepages", optarg, &c.hugepage_size, &err);
            break;
        case 'k':
            c.keep = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            fprintf(stderr, "zenith: %s needs a value; see reader-bench --help\n",
                    argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "zenith: unknown option %s; see reader-bench --help\n",
                    argv[optind - 1]);
            return 2;
        }
        if (parsed < 0) {
            fprintf(stderr, "%s; see reader-bench --help\n", err.text);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "zenith: reader-bench takes no arguments (%s); see --help\n", argv[optind]);
        return 2;
    }
    if (c.size % 4096) {
        fprintf(stderr, "zenith: --size: use a multiple of 4K (O_DIRECT)\n");
        return 2;
    }
    switch (run(&c, &err)) {
    case 0:
        return 0;
    case 1:
        return 1;
    default:
        fprintf(stderr, "%s\n", err.text);
        return 2;
    }
}
