/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/arena.h"
#include "runtime/pagecopy.h"
#include "runtime/reader.h"
#include "tests/unit/testutil.h"

#define KB (UINT64_C(1) << 10)
#define MB (UINT64_C(1) << 20)
/* Not a multiple of the block size: the last read of the file is short in O_DIRECT too. */
#define FILE_BYTES   (64 * MB + 1234)
#define REGION_BYTES (16 * MB)

#define ck_mentions(text, needle)                                                                  \
    ck_assert_msg(strstr(text, needle) != NULL, "'%s' does not mention '%s'", text, needle)

/* Made by the unchecked fixture in the parent process, removed by its teardown. */
static char data_dir[64], data_path[96];
static char direct_dir[64], direct_path[96]; /* "" when no filesystem here takes O_DIRECT */
static char direct_skip[200], uring_skip[200];
/* Whether a region of REGION_BYTES can be registered here (RLIMIT_MEMLOCK without
 * CAP_IPC_LOCK may forbid it): the cases that expect fixed buffers expect plain reads then. */
static bool fixed_ok;

/* ----------------------------------------------------------------- the file */

static uint64_t mix(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* Byte i of the file: no two 8-byte words alike, so a read from the wrong offset shows. */
static void expected(uint64_t offset, uint8_t *buf, uint64_t len)
{
    for (uint64_t i = 0; i < len; i++) {
        uint64_t at = offset + i;
        buf[i] = (uint8_t)(mix(at / 8) >> (8 * (at % 8)));
    }
}

static int write_file(const char *path)
{
    uint8_t *chunk = malloc(MB);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc = -1;

    if (fd < 0 || !chunk)
        goto out;
    for (uint64_t at = 0; at < FILE_BYTES; at += MB) {
        uint64_t n = FILE_BYTES - at < MB ? FILE_BYTES - at : MB;
        expected(at, chunk, n);
        if (write(fd, chunk, n) != (ssize_t)n)
            goto out;
    }
    rc = fsync(fd);
out:
    if (fd >= 0)
        close(fd);
    free(chunk);
    return rc;
}

/* tmpfs refuses O_DIRECT at open; some filesystems only at the first read. */
static bool takes_direct(const char *dir)
{
    char path[96];
    void *buf = NULL;
    bool ok = false;
    int fd;

    snprintf(path, sizeof(path), "%s/probe", dir);
    fd = open(path, O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
    if (fd >= 0 && posix_memalign(&buf, 4096, 4096) == 0) {
        memset(buf, 1, 4096);
        ok = pwrite(fd, buf, 4096, 0) == 4096 && pread(fd, buf, 4096, 0) == 4096;
    }
    free(buf);
    if (fd >= 0)
        close(fd);
    unlink(path);
    return ok;
}

static void fixture_setup(void)
{
    static const char *const direct_candidates[] = {"/tmp", "/var/tmp"};
    struct io_uring ring;
    int rc;

    snprintf(data_dir, sizeof(data_dir), "/tmp/zenith-reader-XXXXXX");
    if (!mkdtemp(data_dir)) {
        fprintf(stderr, "test_reader: mkdtemp %s: %s\n", data_dir, strerror(errno));
        exit(1);
    }
    snprintf(data_path, sizeof(data_path), "%s/data", data_dir);
    if (write_file(data_path) < 0) {
        fprintf(stderr, "test_reader: writing %s: %s\n", data_path, strerror(errno));
        exit(1);
    }
    direct_path[0] = '\0';
    snprintf(direct_skip, sizeof(direct_skip), "neither /tmp nor /var/tmp takes O_DIRECT");
    for (size_t i = 0; i < 2 && !direct_path[0]; i++) {
        if (i == 0) {
            if (takes_direct(data_dir))
                snprintf(direct_path, sizeof(direct_path), "%s", data_path);
            continue;
        }
        snprintf(direct_dir, sizeof(direct_dir), "%s/zenith-reader-XXXXXX", direct_candidates[i]);
        if (!mkdtemp(direct_dir)) {
            direct_dir[0] = '\0';
            continue;
        }
        snprintf(direct_path, sizeof(direct_path), "%s/data", direct_dir);
        if (!takes_direct(direct_dir) || write_file(direct_path) < 0) {
            unlink(direct_path);
            rmdir(direct_dir);
            direct_dir[0] = direct_path[0] = '\0';
        }
    }
    rc = io_uring_queue_init(4, &ring, 0);
    if (rc < 0) {
        snprintf(uring_skip, sizeof(uring_skip), "io_uring_setup: %s", strerror(-rc));
    } else {
        struct iovec iov = {.iov_len = REGION_BYTES};
        iov.iov_base =
            mmap(NULL, REGION_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        fixed_ok = iov.iov_base != MAP_FAILED && io_uring_register_buffers(&ring, &iov, 1) == 0;
        if (!fixed_ok)
            printf("test_reader: registering %" PRIu64 " bytes fails here (RLIMIT_MEMLOCK?): the "
                   "io_uring cases read without fixed buffers\n",
                   (uint64_t)REGION_BYTES);
        fflush(stdout);
        io_uring_queue_exit(&ring);
        if (iov.iov_base != MAP_FAILED)
            munmap(iov.iov_base, REGION_BYTES);
    }
}

static void fixture_teardown(void)
{
    unlink(data_path);
    rmdir(data_dir);
    if (direct_dir[0]) {
        unlink(direct_path);
        rmdir(direct_dir);
    }
}

static bool skipped(const char *test, const char *why)
{
    if (!why[0])
        return false;
    printf("test_reader: %s: skipped: %s\n", test, why);
    fflush(stdout);
    return true;
}

#define SKIP_WITHOUT_URING()                                                                       \
    do {                                                                                           \
        if (skipped(__func__, uring_skip))                                                         \
            return;                                                                                \
    } while (0)

/* ----------------------------------------------------------------- reading and checking */

static uint8_t *region_alloc(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    return p;
}

static char problem[1024];

/* NULL when buf holds the file's bytes at offset, else where it does not. */
static const char *content_problem(const uint8_t *buf, uint64_t offset, uint64_t len)
{
    static uint8_t want[64 * 1024];

    for (uint64_t done = 0; done < len; done += sizeof(want)) {
        uint64_t n = len - done < sizeof(want) ? len - done : sizeof(want);
        expected(offset + done, want, n);
        if (memcmp(buf + done, want, n) != 0) {
            for (uint64_t i = 0; i < n; i++)
                if (buf[done + i] != want[i]) {
                    snprintf(problem, sizeof(problem),
                             "byte %" PRIu64 " of the file reads %#x, not %#x", offset + done + i,
                             buf[done + i], want[i]);
                    break;
                }
            return problem;
        }
    }
    return NULL;
}

/* The whole file in requests of `request` bytes, as many in flight as the region has slots
 * for, each completion checked byte for byte; then one request at the end of the file.
 * Returns NULL or what went wrong (usable in a child that must not ck_assert). */
static const char *read_all(struct zn_reader *r, int fd, uint8_t *region, size_t region_len,
                            uint64_t request, uint64_t file_bytes, bool aligned_slots)
{
    uint64_t stride = aligned_slots ? (request + 4095) / 4096 * 4096 : request + 13;
    unsigned slots = (unsigned)(region_len / stride), busy = 0;
    uint64_t *slot_offset = calloc(slots, sizeof(*slot_offset)), next = 0, checked = 0;
    struct zn_read_done done[8];
    struct zn_error err;
    const char *why = NULL;

    if (slots == 0 || !slot_offset)
        return "region too small for one request";
    for (unsigned s = 0; s < slots && next < file_bytes; s++, next += request) {
        slot_offset[s] = next;
        if (zn_reader_submit(r, fd, next, request, region + s * stride, s, &err) < 0) {
            snprintf(problem, sizeof(problem), "submit: %s", err.text);
            why = problem;
            goto out;
        }
        busy++;
    }
    while (busy > 0) {
        int n = zn_reader_reap(r, done, 8, true, &err);
        if (n <= 0) {
            snprintf(problem, sizeof(problem), "reap returned %d with %u busy: %s", n, busy,
                     n < 0 ? err.text : "nothing");
            why = problem;
            goto out;
        }
        for (int i = 0; i < n; i++) {
            unsigned s = (unsigned)done[i].tag;
            uint64_t at = slot_offset[s];
            uint64_t want = file_bytes - at < request ? file_bytes - at : request;

            if (s >= slots || done[i].result != (int64_t)want) {
                snprintf(problem, sizeof(problem),
                         "read of %" PRIu64 " at %" PRIu64 " (tag %" PRIu64 ") returned %" PRId64
                         ", not %" PRIu64,
                         request, at, done[i].tag, done[i].result, want);
                why = problem;
                goto out;
            }
            why = content_problem(region + s * stride, at, want);
            if (why)
                goto out;
            checked += want;
            busy--;
            if (next < file_bytes) {
                slot_offset[s] = next;
                if (zn_reader_submit(r, fd, next, request, region + s * stride, s, &err) < 0) {
                    snprintf(problem, sizeof(problem), "submit: %s", err.text);
                    why = problem;
                    goto out;
                }
                next += request;
                busy++;
            }
        }
    }
    if (checked != file_bytes) {
        snprintf(problem, sizeof(problem), "checked %" PRIu64 " of %" PRIu64 " bytes", checked,
                 (uint64_t)file_bytes);
        why = problem;
        goto out;
    }
    if (zn_reader_in_flight(r) != 0) {
        snprintf(problem, sizeof(problem), "%u still in flight", zn_reader_in_flight(r));
        why = problem;
        goto out;
    }
    /* A read that starts at the end of the file reads nothing, and says so. */
    if (zn_reader_submit(r, fd, aligned_slots ? (file_bytes + 4095) / 4096 * 4096 : file_bytes,
                         request, region, 77, &err) < 0 ||
        zn_reader_reap(r, done, 8, true, &err) != 1 || done[0].tag != 77 || done[0].result != 0) {
        snprintf(problem, sizeof(problem), "read past the end: %s", err.text);
        why = problem;
    }
out:
    free(slot_offset);
    return why;
}

static struct zn_reader *reader_or_fail(const struct zn_reader_options *o, void *region, size_t len)
{
    struct zn_error err;
    struct zn_reader *r = zn_reader_create(o, region, len, &err);
    ck_assert_msg(r != NULL, "%s", err.text);
    return r;
}

static int open_data(int flags)
{
    int fd = open(flags & O_DIRECT ? direct_path : data_path, O_RDONLY | O_CLOEXEC | flags);
    ck_assert_msg(fd >= 0, "%s: %s", data_path, strerror(errno));
    return fd;
}

struct shape {
    unsigned queue_depth;
    uint32_t read_size;
    uint64_t request;
};

/* Queue depths from 1, reads from 4K, requests from below the read size to many times it,
 * and odd sizes that never meet a block boundary. */
static const struct shape shapes[] = {
    {1, 4096, 64 * KB},
    {4, 64 * KB, 1 * MB},
    {32, 1 * MB, 4 * MB},
    {8, 1 * MB, 3 * MB + 5},
    {0, 0, 4 * MB},
    {2, 128 * KB, 256 * KB},
    {16, 256 * KB, 100 * KB},
    {64, 64 * KB, 2 * MB - 4096},
    {3, 1 * MB + 4096, 7 * MB},
};

static void read_shapes(bool async, bool with_arena)
{
    struct zn_arena arena;
    struct zn_error err;
    uint8_t *region;
    size_t len;

    if (with_arena) {
        struct zn_arena_params p = {.slots = 4,
                                    .slot_bytes = 4 * MB,
                                    .ring_item_size = 8,
                                    .numa_node = -1,
                                    .name = "zenith-test-reader"};
        ck_assert_msg(zn_arena_create(&p, &arena, &err) == 0, "%s", err.text);
        region = arena.slot0;
        len = (size_t)(arena.slots * arena.slot_bytes);
    } else {
        region = region_alloc(REGION_BYTES);
        len = REGION_BYTES;
    }
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        struct zn_reader_options o = {.backend = ZN_READER_URING,
                                      .queue_depth = shapes[i].queue_depth,
                                      .read_size = shapes[i].read_size,
                                      .async = async};
        struct zn_reader *r = reader_or_fail(&o, region, len);
        int fd = open_data(0);
        const char *why;

        if (fixed_ok) {
            ck_assert_str_eq(zn_reader_describe(r),
                             async ? "io_uring, fixed buffers, async" : "io_uring, fixed buffers");
            ck_assert_str_eq(zn_reader_notice(r), "");
        } else {
            ck_assert_str_eq(zn_reader_describe(r), async ? "io_uring, async" : "io_uring");
            ck_mentions(zn_reader_notice(r), "RLIMIT_MEMLOCK");
        }
        why = read_all(r, fd, region, len, shapes[i].request, FILE_BYTES, false);
        ck_assert_msg(why == NULL, "depth %u, read size %" PRIu32 ", requests of %" PRIu64 ": %s",
                      shapes[i].queue_depth, shapes[i].read_size, shapes[i].request, why);
        zn_reader_destroy(r);
        close(fd);
    }
    if (with_arena)
        zn_arena_close(&arena);
    else
        munmap(region, len);
}

START_TEST(fixed_buffers_every_shape)
{
    SKIP_WITHOUT_URING();
    read_shapes(false, false);
}
END_TEST

START_TEST(fixed_buffers_into_an_arena)
{
    SKIP_WITHOUT_URING();
    read_shapes(false, true);
}
END_TEST

START_TEST(async_every_shape)
{
    SKIP_WITHOUT_URING();
    read_shapes(true, false);
}
END_TEST

/* The kernel registers at most 1 GiB per buffer: a larger region is several, and a read that
 * crosses from one into the next must become two SQEs with their own buffer index. */
START_TEST(fixed_buffers_past_one_gib)
{
    const size_t len = (size_t)(1024 * MB + 8 * MB);
    struct zn_reader_options o = {.backend = ZN_READER_URING, .read_size = 4 * MB};
    struct zn_read_done done;
    struct zn_error err;
    struct zn_reader *r;
    uint8_t *region;
    int fd;
    static const uint64_t at_region[] = {1024 * MB - 2 * MB - 4096 + 100, 1024 * MB + 1 * MB, 0,
                                         1024 * MB - 4 * MB};

    SKIP_WITHOUT_URING();
    if (test_meminfo("MemAvailable") < 4 * 1024 * 1024) {
        skipped(__func__, "less than 4G of memory available to register a region above 1G");
        return;
    }
    region =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    ck_assert_ptr_ne(region, MAP_FAILED);
    r = reader_or_fail(&o, region, len);
    if (strcmp(zn_reader_describe(r), "io_uring, fixed buffers") != 0) {
        skipped(__func__, zn_reader_notice(r));
        zn_reader_destroy(r);
        munmap(region, len);
        return;
    }
    fd = open_data(0);
    for (size_t i = 0; i < sizeof(at_region) / sizeof(at_region[0]); i++) {
        uint64_t file_at = 3 * MB + i * 4096 * 7;
        const char *why;

        ck_assert_int_eq(
            zn_reader_submit(r, fd, file_at, 4 * MB + 12345, region + at_region[i], i, &err), 0);
        ck_assert_int_eq(zn_reader_reap(r, &done, 1, true, &err), 1);
        ck_assert_int_eq(done.result, (int64_t)(4 * MB + 12345));
        why = content_problem(region + at_region[i], file_at, 4 * MB + 12345);
        ck_assert_msg(why == NULL, "into region + %" PRIu64 ": %s", at_region[i], why);
    }
    zn_reader_destroy(r);
    close(fd);
    munmap(region, len);
}
END_TEST

/* Ends of the file: parts past it read nothing, the part it falls in reads short, and the
 * request's result is what lies before it, whichever part completes first. */
START_TEST(short_read_at_end_of_file)
{
    static const struct {
        uint64_t from_end, len;
        uint32_t read_size;
    } cases[] = {
        {1000, MB, 64 * KB}, {300000, MB, 64 * KB},  {1, 4096, 0},
        {0, MB, 0},          {5 * MB, 5 * MB, 4096},
    };
    enum zn_reader_backend backends[] = {ZN_READER_URING, ZN_READER_PREAD};
    uint8_t *region = region_alloc(8 * MB);

    for (size_t b = 0; b < 2; b++) {
        if (backends[b] == ZN_READER_URING && skipped("short_read_at_end_of_file", uring_skip))
            continue;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            struct zn_reader_options o = {.backend = backends[b], .read_size = cases[i].read_size};
            struct zn_reader *r = reader_or_fail(&o, region, 8 * MB);
            struct zn_read_done done;
            struct zn_error err;
            uint64_t at = FILE_BYTES - cases[i].from_end;
            int fd = open_data(0);
            const char *why;

            memset(region, 0xee, 8 * MB);
            ck_assert_msg(zn_reader_submit(r, fd, at, cases[i].len, region, i, &err) == 0, "%s",
                          err.text);
            ck_assert_int_eq(zn_reader_reap(r, &done, 1, true, &err), 1);
            ck_assert_uint_eq(done.tag, i);
            ck_assert_int_eq(done.result, (int64_t)cases[i].from_end);
            why = content_problem(region, at, cases[i].from_end);
            ck_assert_msg(why == NULL, "%s: %s", zn_reader_describe(r), why ? why : "");
            ck_assert_uint_eq(region[cases[i].from_end], 0xee); /* nothing past it written */
            /* Past the end: nothing. */
            ck_assert_int_eq(zn_reader_submit(r, fd, FILE_BYTES + 12345, 4096, region, 9, &err), 0);
            ck_assert_int_eq(zn_reader_reap(r, &done, 1, true, &err), 1);
            ck_assert_int_eq(done.result, 0);
            zn_reader_destroy(r);
            close(fd);
        }
    }
    munmap(region, 8 * MB);
}
END_TEST

START_TEST(direct_reads_whole_blocks)
{
    static const struct shape direct_shapes[] = {
        {1, 4096, 64 * KB}, {32, 1 * MB, 4 * MB}, {8, 256 * KB, 3 * MB}, {4, 0, 1 * MB}};
    enum zn_reader_backend backends[] = {ZN_READER_URING, ZN_READER_PREAD};
    uint8_t *region;

    if (skipped("direct_reads_whole_blocks", direct_path[0] ? "" : direct_skip))
        return;
    region = region_alloc(REGION_BYTES);
    for (size_t b = 0; b < 2; b++) {
        if (backends[b] == ZN_READER_URING && skipped("direct_reads_whole_blocks", uring_skip))
            continue;
        for (size_t i = 0; i < sizeof(direct_shapes) / sizeof(direct_shapes[0]); i++) {
            for (int async = 0; async < 2; async++) {
                struct zn_reader_options o = {.backend = backends[b],
                                              .queue_depth = direct_shapes[i].queue_depth,
                                              .read_size = direct_shapes[i].read_size,
                                              .async = async,
                                              .direct = true};
                struct zn_reader *r = reader_or_fail(&o, region, REGION_BYTES);
                int fd = open_data(O_DIRECT);
                const char *why;

                ck_mentions(zn_reader_describe(r), "O_DIRECT");
                why = read_all(r, fd, region, REGION_BYTES, direct_shapes[i].request, FILE_BYTES,
                               true);
                ck_assert_msg(why == NULL, "%s, depth %u, read size %" PRIu32 ": %s",
                              zn_reader_describe(r), direct_shapes[i].queue_depth,
                              direct_shapes[i].read_size, why);
                zn_reader_destroy(r);
                close(fd);
            }
        }
    }
    printf("test_reader: O_DIRECT reads of %s checked\n", direct_path);
    munmap(region, REGION_BYTES);
}
END_TEST

START_TEST(direct_alignment_is_checked)
{
    struct zn_reader_options o = {.backend = ZN_READER_PREAD, .direct = true};
    uint8_t *region = region_alloc(4 * MB);
    struct zn_reader *r;
    struct zn_error err;

    if (!uring_skip[0])
        o.backend = ZN_READER_URING;
    r = reader_or_fail(&o, region, 4 * MB);
    ck_assert_int_eq(zn_reader_submit(r, 0, 512, 4096, region, 1, &err), -1);
    ck_mentions(err.text, "zenith: reader: O_DIRECT reads need");
    ck_mentions(err.text, "the offset is not");
    ck_assert_int_eq(zn_reader_submit(r, 0, 4096, 1000, region, 1, &err), -1);
    ck_mentions(err.text, "the length is not");
    ck_assert_int_eq(zn_reader_submit(r, 0, 4096, 4096, region + 512, 1, &err), -1);
    ck_mentions(err.text, "the address is not");
    ck_assert_uint_eq(zn_reader_in_flight(r), 0);
    zn_reader_destroy(r);
    o.read_size = 1000;
    ck_assert_ptr_null(zn_reader_create(&o, region, 4 * MB, &err));
    ck_mentions(err.text, "multiple of 4096 for O_DIRECT");
    munmap(region, 4 * MB);
}
END_TEST

START_TEST(pread_backend_reads_the_same)
{
    uint8_t *region = region_alloc(REGION_BYTES);
    uint64_t requests[] = {4 * MB, 1 * MB + 3, 100 * KB};

    for (size_t i = 0; i < 3; i++) {
        struct zn_reader_options o = {.backend = ZN_READER_PREAD, .read_size = 64 * KB};
        struct zn_reader *r = reader_or_fail(&o, region, REGION_BYTES);
        int fd = open_data(0);
        const char *why;

        ck_assert_str_eq(zn_reader_describe(r), "pread");
        ck_assert_str_eq(zn_reader_notice(r), ""); /* asked for: nothing to explain */
        why = read_all(r, fd, region, REGION_BYTES, requests[i], FILE_BYTES, false);
        ck_assert_msg(why == NULL, "requests of %" PRIu64 ": %s", requests[i], why);
        zn_reader_destroy(r);
        close(fd);
    }
    munmap(region, REGION_BYTES);
}
END_TEST

/* ----------------------------------------------------------------- page-cache copies */

/* Reads through a reader with page-cache copies give the file's bytes whatever the request's
 * size (large ones still go through the queue), and warm small reads are copies. */
START_TEST(page_copies_read_the_same)
{
    uint8_t *region = region_alloc(REGION_BYTES);
    uint64_t requests[] = {4 * KB, 1 * KB + 3, 100 * KB};

    for (size_t i = 0; i < 3; i++) {
        struct zn_reader_options o = {.read_size = 64 * KB, .page_copy_max = 64 * KB};
        struct zn_reader *r = reader_or_fail(&o, region, REGION_BYTES);
        int fd = open_data(0);
        const char *why;

        ck_assert_ptr_nonnull(strstr(zn_reader_describe(r), ", page-cache copies"));
        why = read_all(r, fd, region, REGION_BYTES, requests[i], FILE_BYTES, false);
        ck_assert_msg(why == NULL, "requests of %" PRIu64 ": %s", requests[i], why);
        if (requests[i] <= 64 * KB)
            ck_assert_uint_gt(zn_reader_page_copies(r), 0);
        else
            ck_assert_uint_eq(zn_reader_page_copies(r), 0);
        zn_reader_destroy(r);
        close(fd);
    }
    munmap(region, REGION_BYTES);
}
END_TEST

/* Only resident pages are copied; a file cut under the mapping (SIGBUS in the copy) leaves
 * the read to the normal path, and the process alive. */
START_TEST(page_copies_only_what_is_resident)
{
    char path[4200];
    uint8_t *buf = malloc(64 * KB), *want = malloc(64 * KB);
    struct zn_error err = {{0}};
    struct zn_pagecopy *p;
    int fd;

    ck_assert_ptr_nonnull(buf);
    ck_assert_ptr_nonnull(want);
    snprintf(path, sizeof(path), "%s/cut", data_dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    for (unsigned i = 0; i < 16; i++) {
        expected(i * 64 * KB, want, 64 * KB);
        ck_assert_int_eq(pwrite(fd, want, 64 * KB, (off_t)i * 64 * KB), 64 * KB);
    }
    ck_assert_int_eq(fdatasync(fd), 0);
    ck_assert_int_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    p = zn_pagecopy_create(64 * KB, &err);
    ck_assert_ptr_nonnull(p);
    /* Evicted: not copied (a fault would read it synchronously, one page at a time). */
    ck_assert_int_eq(zn_pagecopy_try(p, fd, 0, 4 * KB, buf), 0);
    /* Larger than asked for, or past the end: not copied. */
    ck_assert_int_eq(zn_pagecopy_try(p, fd, 0, 64 * KB + 1, buf), 0);
    ck_assert_int_eq(zn_pagecopy_try(p, fd, 1024 * KB - 100, 200, buf), 0);
    /* Read in, and once the residency map is refreshed (every few ms): copied. */
    ck_assert_int_eq(pread(fd, buf, 64 * KB, 128 * KB), 64 * KB);
    usleep(20 * 1000);
    ck_assert_int_eq(zn_pagecopy_try(p, fd, 128 * KB + 5, 4 * KB, buf), 1);
    expected(128 * KB + 5, want, 4 * KB);
    ck_assert_mem_eq(buf, want, 4 * KB);
    ck_assert_uint_eq(zn_pagecopy_count(p), 1);
    /* Cut under the mapping: the map still says resident, the copy faults, is abandoned. */
    ck_assert_int_eq(ftruncate(fd, 0), 0);
    ck_assert_int_eq(zn_pagecopy_try(p, fd, 128 * KB, 4 * KB, buf), 0);
    ck_assert_int_eq(zn_pagecopy_try(p, fd, 128 * KB, 4 * KB, buf), 0);
    ck_assert_uint_eq(zn_pagecopy_count(p), 1);
    zn_pagecopy_destroy(p);
    close(fd);
    unlink(path);
    free(buf);
    free(want);
}
END_TEST

/* ----------------------------------------------------------------- failures */

START_TEST(failed_reads_complete_with_errno)
{
    enum zn_reader_backend backends[] = {ZN_READER_URING, ZN_READER_PREAD};
    uint8_t *region = region_alloc(4 * MB);

    for (size_t b = 0; b < 2; b++) {
        struct zn_reader_options o = {.backend = backends[b], .read_size = 64 * KB};
        struct zn_read_done done[2];
        struct zn_error err;
        struct zn_reader *r;
        int dir;

        if (backends[b] == ZN_READER_URING &&
            skipped("failed_reads_complete_with_errno", uring_skip))
            continue;
        r = reader_or_fail(&o, region, 4 * MB);
        ck_assert_int_eq(zn_reader_submit(r, -1, 0, MB, region, 1, &err), 0);
        dir = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(dir, 0);
        ck_assert_int_eq(zn_reader_submit(r, dir, 0, MB, region + MB, 2, &err), 0);
        ck_assert_uint_eq(zn_reader_in_flight(r), 2);
        ck_assert_int_eq(zn_reader_reap(r, done, 1, true, &err), 1);
        ck_assert_int_eq(zn_reader_reap(r, done + 1, 1, true, &err), 1);
        for (int i = 0; i < 2; i++)
            ck_assert_int_eq(done[i].result, done[i].tag == 1 ? -EBADF : -EISDIR);
        ck_assert_uint_eq(zn_reader_in_flight(r), 0);
        /* Nothing in flight: a waiting reap returns at once. */
        ck_assert_int_eq(zn_reader_reap(r, done, 2, true, &err), 0);
        /* Outside the region: refused on submit, nothing queued. */
        ck_assert_int_eq(zn_reader_submit(r, dir, 0, 4096, region + 4 * MB - 100, 3, &err), -1);
        ck_mentions(err.text, "does not land inside the reader's region");
        ck_assert_int_eq(zn_reader_submit(r, dir, 0, 4096, region - 4096, 3, &err), -1);
        ck_assert_uint_eq(zn_reader_in_flight(r), 0);
        zn_reader_destroy(r);
        close(dir);
    }
    munmap(region, 4 * MB);
}
END_TEST

/* More requests than the queue holds, none reaped: submit makes room itself and keeps the
 * completions for reap. */
START_TEST(full_queue_keeps_completions)
{
    struct zn_reader_options o = {
        .backend = ZN_READER_URING, .queue_depth = 2, .read_size = 64 * KB};
    uint8_t *region;
    struct zn_read_done done[32];
    struct zn_error err;
    struct zn_reader *r;
    unsigned seen = 0;
    bool tag_seen[16] = {false};
    int fd;

    SKIP_WITHOUT_URING();
    region = region_alloc(16 * MB);
    fd = open_data(0);
    r = reader_or_fail(&o, region, 16 * MB);
    for (unsigned i = 0; i < 16; i++)
        ck_assert_msg(zn_reader_submit(r, fd, (uint64_t)i * MB, MB, region + i * MB, i, &err) == 0,
                      "%s", err.text);
    ck_assert_uint_eq(zn_reader_in_flight(r), 16);
    while (seen < 16) {
        int n = zn_reader_reap(r, done, 32, true, &err);
        ck_assert_int_gt(n, 0);
        for (int i = 0; i < n; i++) {
            ck_assert_uint_lt(done[i].tag, 16);
            ck_assert(!tag_seen[done[i].tag]);
            tag_seen[done[i].tag] = true;
            ck_assert_int_eq(done[i].result, (int64_t)MB);
            ck_assert_ptr_null(content_problem(region + done[i].tag * MB, done[i].tag * MB, MB));
        }
        seen += (unsigned)n;
    }
    ck_assert_uint_eq(zn_reader_in_flight(r), 0);
    /* Destroyed with reads in flight: it waits for them rather than leave the kernel writing. */
    for (unsigned i = 0; i < 4; i++)
        ck_assert_int_eq(zn_reader_submit(r, fd, 0, 4 * MB, region + i * 4 * MB, i, &err), 0);
    zn_reader_destroy(r);
    close(fd);
    munmap(region, 16 * MB);
}
END_TEST

/* ----------------------------------------------------------------- children */

#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef NATIVE_AUDIT_ARCH
/* What a container runtime's seccomp profile does: io_uring_setup fails with `error`. */
static int forbid_io_uring(int error)
{
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)error & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof(filter) / sizeof(filter[0]), .filter = filter};

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

static const char *fallback_under_seccomp(void *arg)
{
    int error = *(int *)arg;
    struct zn_reader_options o = {.backend = ZN_READER_AUTO, .async = true};
    uint8_t *region;
    struct zn_reader *r;
    struct zn_error err;
    struct io_uring ring;
    char want[200];
    const char *why;
    int fd, rc;

    CHILD_REQUIRE(forbid_io_uring(error) == 0, "seccomp: %s", strerror(errno));
    rc = io_uring_queue_init(4, &ring, 0);
    CHILD_REQUIRE(rc == -error, "the filter did not take: io_uring_setup returned %d", rc);
    region = mmap(NULL, REGION_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHILD_REQUIRE(region != MAP_FAILED, "mmap");
    r = zn_reader_create(&o, region, REGION_BYTES, &err);
    CHILD_REQUIRE(r != NULL, "auto under seccomp: %s", err.text);
    CHILD_REQUIRE(strcmp(zn_reader_describe(r), "pread") == 0, "auto under seccomp is '%s'",
                  zn_reader_describe(r));
    snprintf(want, sizeof(want),
             "zenith: io_uring is not available here (io_uring_setup: %s); reading with pread()",
             strerror(error));
    CHILD_REQUIRE(strcmp(zn_reader_notice(r), want) == 0, "notice '%s', not '%s'",
                  zn_reader_notice(r), want);
    printf("test_reader: under seccomp (%s): %s\n", strerror(error), zn_reader_notice(r));
    fd = open(data_path, O_RDONLY | O_CLOEXEC);
    CHILD_REQUIRE(fd >= 0, "open %s", data_path);
    why = read_all(r, fd, region, REGION_BYTES, 4 * MB, FILE_BYTES, false);
    CHILD_REQUIRE(why == NULL, "pread fallback: %s", why);
    zn_reader_destroy(r);

    o.backend = ZN_READER_URING;
    CHILD_REQUIRE(zn_reader_create(&o, region, REGION_BYTES, &err) == NULL,
                  "forced io_uring came up under seccomp");
    CHILD_REQUIRE(strstr(err.text, "io_uring is not available here") &&
                      strstr(err.text, "backend auto"),
                  "forced io_uring: %s", err.text);
    close(fd);
    return NULL;
}
#endif

START_TEST(seccomp_forbidding_io_uring_falls_back_to_pread)
{
#ifdef NATIVE_AUDIT_ARCH
    int errors[] = {EPERM, ENOSYS};

    for (int i = 0; i < 2; i++) {
        const char *why = in_child(fallback_under_seccomp, &errors[i]);
        ck_assert_msg(why == NULL, "%s", why ? why : "");
    }
#else
    skipped(__func__, "no seccomp architecture constant for this machine in the test");
#endif
}
END_TEST

/* Without CAP_IPC_LOCK and with a small RLIMIT_MEMLOCK, the region cannot be registered:
 * plain READ, and the notice says why. */
static const char *unregistered_region(void *arg)
{
    struct __user_cap_header_struct head = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct caps[2];
    struct rlimit small = {.rlim_cur = 1 * MB, .rlim_max = 1 * MB};
    struct zn_reader_options o = {.backend = ZN_READER_URING, .queue_depth = 8};
    struct zn_reader *r;
    struct zn_error err;
    uint8_t *region;
    const char *why;
    int fd;

    (void)arg;
    CHILD_REQUIRE(syscall(SYS_capget, &head, caps) == 0, "capget: %s", strerror(errno));
    caps[0].effective &= ~(1u << CAP_IPC_LOCK);
    caps[0].permitted &= ~(1u << CAP_IPC_LOCK);
    caps[0].inheritable &= ~(1u << CAP_IPC_LOCK);
    CHILD_REQUIRE(syscall(SYS_capset, &head, caps) == 0, "capset: %s", strerror(errno));
    CHILD_REQUIRE(setrlimit(RLIMIT_MEMLOCK, &small) == 0, "setrlimit: %s", strerror(errno));
    region = mmap(NULL, REGION_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHILD_REQUIRE(region != MAP_FAILED, "mmap");
    r = zn_reader_create(&o, region, REGION_BYTES, &err);
    CHILD_REQUIRE(r != NULL, "create: %s", err.text);
    CHILD_REQUIRE(strcmp(zn_reader_describe(r), "io_uring") == 0, "described as '%s' (%s)",
                  zn_reader_describe(r), zn_reader_notice(r));
    CHILD_REQUIRE(
        strstr(zn_reader_notice(r), "zenith: io_uring could not register the 16M read buffer") &&
            strstr(zn_reader_notice(r), "RLIMIT_MEMLOCK is 1M") &&
            strstr(zn_reader_notice(r), "reading without fixed buffers"),
        "notice '%s'", zn_reader_notice(r));
    printf("test_reader: %s\n", zn_reader_notice(r));
    fd = open(data_path, O_RDONLY | O_CLOEXEC);
    CHILD_REQUIRE(fd >= 0, "open");
    why = read_all(r, fd, region, REGION_BYTES, 2 * MB + 7, FILE_BYTES, false);
    CHILD_REQUIRE(why == NULL, "plain READ: %s", why);
    zn_reader_destroy(r);
    close(fd);
    return NULL;
}

START_TEST(plain_reads_when_registering_fails)
{
    const char *why;

    SKIP_WITHOUT_URING();
    why = in_child(unregistered_region, NULL);
    ck_assert_msg(why == NULL, "%s", why ? why : "");
}
END_TEST

/* ----------------------------------------------------------------- io-wq workers */

/* The io-wq workers of this process ("iou-wrk-PID" threads): how many, and whether all may
 * run only on CPU `cpu`. */
static unsigned io_workers(int cpu, bool *all_pinned)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    unsigned n = 0;
    char want[32];

    snprintf(want, sizeof(want), "%d", cpu);
    *all_pinned = true;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d))) {
        char path[300], comm[64] = "", line[256];
        FILE *f;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        f = fopen(path, "re");
        if (!f)
            continue;
        if (!fgets(comm, sizeof(comm), f))
            comm[0] = '\0';
        fclose(f);
        if (strncmp(comm, "iou-wrk-", 8) != 0)
            continue;
        n++;
        snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
        f = fopen(path, "re");
        if (!f)
            continue;
        while (fgets(line, sizeof(line), f))
            if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
                char *v = line + 18;
                v += strspn(v, " \t");
                v[strcspn(v, "\n")] = '\0';
                if (strcmp(v, want) != 0)
                    *all_pinned = false;
            }
        fclose(f);
    }
    closedir(d);
    return n;
}

START_TEST(workers_stay_on_the_given_cpus)
{
    cpu_set_t cpus;
    struct zn_reader_options o = {.backend = ZN_READER_URING,
                                  .queue_depth = 16,
                                  .read_size = 256 * KB,
                                  .async = true,
                                  .cpus = &cpus,
                                  .max_workers = 2};
    uint8_t *region;
    struct zn_read_done done[16];
    struct zn_error err;
    struct zn_reader *r;
    unsigned workers;
    bool pinned;
    int fd, cpu;

    SKIP_WITHOUT_URING();
    region = region_alloc(REGION_BYTES);
    /* The last CPU this process may use, so that "pinned" differs from "inherited". */
    ck_assert_int_eq(sched_getaffinity(0, sizeof(cpus), &cpus), 0);
    for (cpu = CPU_SETSIZE - 1; cpu >= 0 && !CPU_ISSET(cpu, &cpus); cpu--)
        ;
    CPU_ZERO(&cpus);
    CPU_SET(cpu, &cpus);
    r = reader_or_fail(&o, region, REGION_BYTES);
    ck_assert_msg(strstr(zn_reader_notice(r), "workers") == NULL, "%s", zn_reader_notice(r));
    fd = open_data(0);
    /* Many reads at once, so that io-wq starts as many workers as it may. */
    for (unsigned i = 0; i < 16; i++)
        ck_assert_int_eq(zn_reader_submit(r, fd, (uint64_t)i * MB, MB, region + i * MB, i, &err),
                         0);
    for (unsigned seen = 0; seen < 16;) {
        int n = zn_reader_reap(r, done, 16, true, &err);
        ck_assert_int_gt(n, 0);
        for (int i = 0; i < n; i++)
            ck_assert_int_eq(done[i].result, (int64_t)MB);
        seen += (unsigned)n;
    }
    /* Workers linger idle for seconds after their last job: they are still there to look at. */
    workers = io_workers(cpu, &pinned);
    printf("test_reader: %u io-wq workers after 16 async reads, limited to 2, %s to CPU %d\n",
           workers, pinned ? "all pinned" : "NOT all pinned", cpu);
    ck_assert_uint_ge(workers, 1);
    ck_assert_uint_le(workers, 2);
    ck_assert(pinned);
    ck_assert_ptr_null(read_all(r, fd, region, REGION_BYTES, 4 * MB, FILE_BYTES, false));
    zn_reader_destroy(r);
    close(fd);
    munmap(region, REGION_BYTES);
}
END_TEST

START_TEST(bad_options_are_refused)
{
    struct zn_reader_options o = {.backend = ZN_READER_PREAD};
    uint8_t region[4096];
    struct zn_error err;

    ck_assert_ptr_null(zn_reader_create(&o, NULL, 4096, &err));
    ck_mentions(err.text, "no region");
    o.queue_depth = 100000;
    ck_assert_ptr_null(zn_reader_create(&o, region, sizeof(region), &err));
    ck_mentions(err.text, "queue depth 100000");
    o.queue_depth = 0;
    o.backend = (enum zn_reader_backend)42;
    ck_assert_ptr_null(zn_reader_create(&o, region, sizeof(region), &err));
    ck_mentions(err.text, "unknown backend 42");
}
END_TEST

int main(void)
{
    TCase *tc = tcase_create("reader");

    tcase_add_unchecked_fixture(tc, fixture_setup, fixture_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, fixed_buffers_every_shape);
    tcase_add_test(tc, fixed_buffers_into_an_arena);
    tcase_add_test(tc, async_every_shape);
    tcase_add_test(tc, fixed_buffers_past_one_gib);
    tcase_add_test(tc, short_read_at_end_of_file);
    tcase_add_test(tc, direct_reads_whole_blocks);
    tcase_add_test(tc, direct_alignment_is_checked);
    tcase_add_test(tc, pread_backend_reads_the_same);
    tcase_add_test(tc, page_copies_read_the_same);
    tcase_add_test(tc, page_copies_only_what_is_resident);
    tcase_add_test(tc, failed_reads_complete_with_errno);
    tcase_add_test(tc, full_queue_keeps_completions);
    tcase_add_test(tc, seccomp_forbidding_io_uring_falls_back_to_pread);
    tcase_add_test(tc, plain_reads_when_registering_fails);
    tcase_add_test(tc, workers_stay_on_the_given_cpus);
    tcase_add_test(tc, bad_options_are_refused);
    return test_run("reader", tc);
}
