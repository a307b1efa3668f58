/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/hugepages.h"
#include "runtime/parse.h"

/* A record is the job's total on one host: a magic line, then for each page size a "page_size
 * <bytes>" line followed by its "node <numa> <pages>" lines. Version 1 (all that earlier releases
 * wrote and read) has exactly one page size; version 2 is written only when a job holds pages of
 * several sizes, so that a record of one size is still released by an earlier plugin (a node
 * downgraded, or a mixed install), and one it could not release is refused as damaged (kept,
 * nothing lowered) rather than half given back. */
#define RECORD_MAGIC_V1 "zenith-hugepages 1"
#define RECORD_MAGIC_V2 "zenith-hugepages 2"
#define LOCK_NAME       "lock"
/* slurmstepd must never hang on us: give up on a stuck lock holder rather than wait forever. */
#define LOCK_WAIT_MS  10000
#define LOCK_RETRY_MS 10
/* Keys become file names next to the lock; a job id plus a node name fits easily. */
#define KEY_MAX 200
/* A record lists one line per pool; anything far larger than that is not ours. */
#define RECORD_MAX_BYTES 65536
#define RECORD_MAX_POOLS 4096

/* One pool a record holds pages in. */
struct held {
    uint64_t page_size;
    unsigned numa_os;
    uint64_t pages;
};

static int check_ledger(const struct zn_hugepage_ledger *ledger, struct zn_error *err)
{
    if (!ledger || !ledger->sysfs_root || !*ledger->sysfs_root || !ledger->state_dir ||
        !*ledger->state_dir)
        return zn_fail(err, "the huge page ledger needs a sysfs root and a state directory "
                            "(this is a bug in the caller)");
    return 0;
}

/* The key names a file in the state directory, so it must not be able to reach outside it
 * (slashes, "..") or collide with the lock and the temporary files (which start with a dot). */
static int check_key(const char *key, struct zn_error *err)
{
    size_t len = key ? strlen(key) : 0;

    if (len == 0 || len > KEY_MAX || key[0] == '.' || strcmp(key, LOCK_NAME) == 0 ||
        key[strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")])
        return zn_fail(err,
                       "huge page reservation key '%s' is not valid: use 1-%d of A-Z a-z 0-9 . "
                       "_ - not starting with a dot (e.g. <jobid>.<nodename>), and not \"%s\"",
                       key ? key : "(null)", KEY_MAX, LOCK_NAME);
    return 0;
}

bool zn_hugepages_is_record(const char *name)
{
    return check_key(name, NULL) == 0;
}

static int check_page_size(uint64_t page_size, struct zn_error *err)
{
    /* sysfs names pools in kB. */
    if (page_size < 1024 || page_size % 1024 != 0)
        return zn_fail(err, "huge page size %" PRIu64 " bytes is not a whole number of kB",
                       page_size);
    return 0;
}

static int join_path(char *buf, size_t len, struct zn_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int join_path(char *buf, size_t len, struct zn_error *err, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len)
        return zn_fail(err, "path under %.*s... is too long", 200, buf);
    return 0;
}

/* Reads a whole small file into buf (NUL-terminated). Returns the length or -1 with errno. */
static ssize_t read_small(const char *path, int extra_flags, char *buf, size_t len)
{
    size_t used = 0;
    ssize_t rc = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | extra_flags);

    if (fd < 0)
        return -1;
    for (;;) {
        ssize_t n = read(fd, buf + used, len - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto out;
        if (n == 0)
            break;
        used += (size_t)n;
        if (used == len - 1) {
            errno = EFBIG;
            goto out;
        }
    }
    buf[used] = '\0';
    rc = (ssize_t)used;
out:
    if (fd >= 0) {
        int saved_errno = errno;
        close(fd);
        errno = saved_errno;
    }
    return rc;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int pool_path(const struct zn_hugepage_ledger *ledger, unsigned node, uint64_t page_size,
                     char *buf, size_t len, struct zn_error *err)
{
    return join_path(buf, len, err,
                     "%s/devices/system/node/node%u/hugepages/hugepages-%" PRIu64 "kB/nr_hugepages",
                     ledger->sysfs_root, node, page_size / 1024);
}

static int pool_read(const struct zn_hugepage_ledger *ledger, unsigned node, uint64_t page_size,
                     uint64_t *pages, struct zn_error *err)
{
    char path[PATH_MAX], size[32], text[64];
    const char *p = text;

    zn_format_size(page_size, size, sizeof(size));
    if (pool_path(ledger, node, page_size, path, sizeof(path), err) < 0)
        return -1;
    if (read_small(path, 0, text, sizeof(text)) < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return zn_fail(err,
                           "this node has no %s huge page pool on NUMA node %u (%s is "
                           "missing); ask for a page size and NUMA nodes the node has, or have "
                           "the admin enable %s pages",
                           size, node, path, size);
        return zn_fail(err, "could not read the %s huge page pool of NUMA node %u (%s): %s", size,
                       node, path, strerror(errno));
    }
    if (zn_parse_digits(&p, pages) < 0 || (*p != '\0' && strcmp(p, "\n") != 0))
        return zn_fail(err, "%s does not hold a page count (\"%.32s\"); is %s a sysfs tree?", path,
                       text, ledger->sysfs_root);
    return 0;
}

/* One write of the whole number: the kernel acts on each write(2) to nr_hugepages separately. */
static int pool_write(const struct zn_hugepage_ledger *ledger, unsigned node, uint64_t page_size,
                      uint64_t pages, struct zn_error *err)
{
    char path[PATH_MAX], size[32], text[32];
    int len, fd, rc = -1;
    ssize_t n;

    zn_format_size(page_size, size, sizeof(size));
    if (pool_path(ledger, node, page_size, path, sizeof(path), err) < 0)
        return -1;
    len = snprintf(text, sizeof(text), "%" PRIu64 "\n", pages);
    /* O_TRUNC matters only for the regular files of a test tree; sysfs ignores it. */
    fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) {
        zn_fail(err, "could not open the %s huge page pool of NUMA node %u (%s) for writing: %s%s",
                size, node, path, strerror(errno),
                errno == EACCES || errno == EPERM || errno == EROFS
                    ? "; huge pages can only be reserved by root (the SPANK plugin in slurmstepd)"
                    : "");
        goto out;
    }
    do
        n = write(fd, text, (size_t)len);
    while (n < 0 && errno == EINTR);
    if (n != len) {
        zn_fail(err, "could not set the %s huge page pool of NUMA node %u (%s) to %" PRIu64 ": %s",
                size, node, path, pages, n < 0 ? strerror(errno) : "short write");
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0 && close(fd) < 0 && rc == 0)
        rc = zn_fail(err, "could not set the %s huge page pool of NUMA node %u (%s): %s", size,
                     node, path, strerror(errno));
    return rc;
}

/* Lowers by what we added, from a fresh read rather than a remembered value, so that whatever
 * other jobs or the admin did to the pool meanwhile is kept. */
static int pool_lower(const struct zn_hugepage_ledger *ledger, unsigned node, uint64_t page_size,
                      uint64_t pages, struct zn_error *err)
{
    uint64_t now;

    if (pool_read(ledger, node, page_size, &now, err) < 0)
        return -1;
    return pool_write(ledger, node, page_size, now > pages ? now - pages : 0, err);
}

static int make_dirs(const char *dir, struct zn_error *err)
{
    char path[PATH_MAX];
    struct stat st;

    if (join_path(path, sizeof(path), err, "%s", dir) < 0)
        return -1;
    for (char *slash = strchr(path + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
            return zn_fail(err, "could not create the huge page state directory %s: %s", path,
                           strerror(errno));
        *slash = '/';
    }
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return zn_fail(err, "could not create the huge page state directory %s: %s", path,
                       strerror(errno));
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return zn_fail(err, "huge page state directory %s is not a directory; remove it", path);
    return 0;
}

/* Best effort: the rename or unlink already happened and is visible to every later call; the
 * state directory normally lives on tmpfs (/run) where there is nothing to flush. */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static long elapsed_ms(const struct timespec *since)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* Polls instead of a blocking flock so that a stuck holder costs a bounded wait, never a hung
 * slurmstepd. Returns the locked descriptor; closing it releases the lock. */
static int lock_take(const char *dir, struct zn_error *err)
{
    char path[PATH_MAX];
    struct timespec start;
    int fd;

    if (make_dirs(dir, err) < 0)
        return -1;
    if (join_path(path, sizeof(path), err, "%s/%s", dir, LOCK_NAME) < 0)
        return -1;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return zn_fail(err, "could not open the huge page lock %s: %s", path, strerror(errno));
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            zn_fail(err, "could not lock %s: %s", path, strerror(errno));
            break;
        }
        if (elapsed_ms(&start) >= LOCK_WAIT_MS) {
            zn_fail(err,
                    "gave up after %d s waiting for the huge page lock %s (another zenith process "
                    "holds it); retry later, and if it persists find the holder with "
                    "`fuser -v %s`",
                    LOCK_WAIT_MS / 1000, path, path);
            break;
        }
        struct timespec nap = {0, LOCK_RETRY_MS * 1000000L};
        nanosleep(&nap, NULL);
    }
    close(fd);
    return -1;
}

static void lock_drop(int fd)
{
    if (fd >= 0)
        close(fd);
}

static struct held *held_find(struct held *pools, size_t n, uint64_t page_size, unsigned numa_os)
{
    for (size_t i = 0; i < n; i++)
        if (pools[i].page_size == page_size && pools[i].numa_os == numa_os)
            return &pools[i];
    return NULL;
}

static int held_add(struct held **pools, size_t *n, size_t *cap, struct held pool)
{
    if (*n == *cap) {
        size_t new_cap = *cap ? *cap * 2 : 8;
        struct held *grown = realloc(*pools, new_cap * sizeof(**pools));
        if (!grown)
            return -1;
        *pools = grown;
        *cap = new_cap;
    }
    (*pools)[(*n)++] = pool;
    return 0;
}

/* Atomic replace: a crash leaves either the old record or the new one, never half of one. Pools
 * are grouped by page size, in the order the sizes first appear. */
static int record_write(const char *dir, const char *key, const struct held *pools, size_t n,
                        struct zn_error *err)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    bool several = false;
    FILE *f = NULL;
    int fd = -1, rc = -1;

    if (n == 0)
        return zn_fail(err, "no huge pages to record for %s (this is a bug in zenith)", key);
    if (join_path(path, sizeof(path), err, "%s/%s", dir, key) < 0 ||
        join_path(tmp, sizeof(tmp), err, "%s/.%s.tmp", dir, key) < 0)
        return -1;
    for (size_t i = 1; i < n; i++)
        several = several || pools[i].page_size != pools[0].page_size;
    f = open_memstream(&text, &len);
    if (!f)
        return zn_fail(err, "out of memory");
    fprintf(f, "%s\n", several ? RECORD_MAGIC_V2 : RECORD_MAGIC_V1);
    for (size_t i = 0; i < n; i++) {
        bool first = true;
        for (size_t j = 0; j < i && first; j++)
            first = pools[j].page_size != pools[i].page_size;
        if (!first)
            continue;
        fprintf(f, "page_size %" PRIu64 "\n", pools[i].page_size);
        for (size_t j = i; j < n; j++)
            if (pools[j].page_size == pools[i].page_size)
                fprintf(f, "node %u %" PRIu64 "\n", pools[j].numa_os, pools[j].pages);
    }
    if (fclose(f) != 0) {
        zn_fail(err, "out of memory");
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        zn_fail(err, "could not create huge page record %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (write_all(fd, text, len) < 0 || fsync(fd) < 0) {
        zn_fail(err, "could not write huge page record %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        zn_fail(err, "could not write huge page record %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        zn_fail(err, "could not rename %s to %s: %s", tmp, path, strerror(errno));
        goto out;
    }
    sync_dir(dir);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc < 0)
        unlink(tmp);
    free(text);
    return rc;
}

/* Returns 0 with a malloc'd *pools (possibly none), 1 when there is no record, -1 when it cannot
 * be read or is not one of ours (a damaged record is kept for a person to look at). A pool listed
 * twice is damage too: which of the two counts would be a guess about pages the kernel holds. */
static int record_read(const char *path, struct held **pools, size_t *npools, struct zn_error *err)
{
    struct held *list = NULL;
    size_t n = 0, cap = 0;
    unsigned sections = 0, version;
    uint64_t page_size = 0, node;
    char *text = NULL;
    const char *p;
    int rc = -1;

    *pools = NULL;
    *npools = 0;
    text = malloc(RECORD_MAX_BYTES);
    if (!text)
        return zn_fail(err, "out of memory");
    if (read_small(path, O_NOFOLLOW, text, RECORD_MAX_BYTES) < 0) {
        if (errno == ENOENT)
            rc = 1;
        else
            zn_fail(err, "could not read huge page record %s: %s", path, strerror(errno));
        goto out;
    }
    p = text;
    if (strncmp(p, RECORD_MAGIC_V1 "\n", strlen(RECORD_MAGIC_V1 "\n")) == 0)
        version = 1;
    else if (strncmp(p, RECORD_MAGIC_V2 "\n", strlen(RECORD_MAGIC_V2 "\n")) == 0)
        version = 2;
    else
        goto bad;
    p += strlen(RECORD_MAGIC_V1 "\n");
    if (strncmp(p, "page_size ", 10) != 0)
        goto bad;
    while (*p) {
        struct held pool;

        if (strncmp(p, "page_size ", 10) == 0) {
            p += 10;
            if (zn_parse_digits(&p, &page_size) < 0 || *p++ != '\n' ||
                check_page_size(page_size, NULL) < 0)
                goto bad;
            if (++sections > 1 && version == 1)
                goto bad;
            continue;
        }
        if (strncmp(p, "node ", 5) != 0)
            goto bad;
        p += 5;
        if (zn_parse_digits(&p, &node) < 0 || node > UINT_MAX || *p++ != ' ' ||
            zn_parse_digits(&p, &pool.pages) < 0 || *p++ != '\n')
            goto bad;
        pool.page_size = page_size;
        pool.numa_os = (unsigned)node;
        if (held_find(list, n, pool.page_size, pool.numa_os) || n == RECORD_MAX_POOLS)
            goto bad;
        if (held_add(&list, &n, &cap, pool) < 0) {
            zn_fail(err, "out of memory");
            goto out;
        }
    }
    *pools = list;
    *npools = n;
    list = NULL;
    rc = 0;
    goto out;
bad:
    zn_fail(err,
            "huge page record %s is damaged (expected \"%s\" or \"%s\", then \"page_size "
            "<bytes>\" lines each followed by \"node <numa> <pages>\" lines, no pool twice); fix "
            "or remove it and give the pages back by hand",
            path, RECORD_MAGIC_V1, RECORD_MAGIC_V2);
out:
    free(list);
    free(text);
    return rc;
}

/* Lowers every pool by what this call added to it, newest first. When a pool cannot be lowered
 * the pages are stranded there; the message says how many so the admin can give them back. */
static void roll_back(const struct zn_hugepage_ledger *ledger, uint64_t page_size,
                      const struct zn_hugepage_share *shares, const uint64_t *added, size_t n,
                      struct zn_error *err)
{
    char size[32];

    zn_format_size(page_size, size, sizeof(size));
    for (size_t i = n; i-- > 0;) {
        struct zn_error why;

        if (!added[i] || pool_lower(ledger, shares[i].numa_os, page_size, added[i], &why) == 0)
            continue;
        zn_error_append(err,
                        "; could not give back %" PRIu64
                        " %s huge pages on NUMA node %u either (%s), "
                        "the admin must lower that pool by hand",
                        added[i], size, shares[i].numa_os, why.text + strlen("zenith: "));
    }
}

/* Raises one pool by `more` pages and checks the kernel's grant; *added says what this call must
 * take back, also when it fails half way. */
static int pool_raise(const struct zn_hugepage_ledger *ledger, unsigned node, uint64_t page_size,
                      uint64_t more, uint64_t *added, struct zn_error *err)
{
    uint64_t old, now, granted;
    char size[32];

    zn_format_size(page_size, size, sizeof(size));
    *added = 0;
    if (pool_read(ledger, node, page_size, &old, err) < 0)
        return -1;
    if (old > UINT64_MAX - more)
        return zn_fail(err, "NUMA node %u: %" PRIu64 " more %s huge pages is too many", node, more,
                       size);
    if (pool_write(ledger, node, page_size, old + more, err) < 0) {
        /* A failed write may still have allocated some pages; take back whatever shows. */
        struct zn_error ignored;
        if (pool_read(ledger, node, page_size, &now, &ignored) == 0 && now > old)
            *added = now - old < more ? now - old : more;
        return -1;
    }
    /* Until the readback says otherwise assume everything was granted, so a failed readback
     * still rolls the whole request back. */
    *added = more;
    if (pool_read(ledger, node, page_size, &now, err) < 0)
        return -1;
    granted = now > old ? now - old : 0;
    if (granted < more) {
        *added = granted;
        return zn_fail(err,
                       "NUMA node %u granted only %" PRIu64 " of %" PRIu64 " %s huge pages (not "
                       "enough free or unfragmented memory); ask for less with --zenith-hugepages "
                       "or have the admin reserve them at boot",
                       node, granted, more, size);
    }
    return 0;
}

static uint64_t bytes_of(uint64_t pages, uint64_t page_size)
{
    return pages > UINT64_MAX / page_size ? UINT64_MAX : pages * page_size;
}

static uint64_t add_capped(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Each pool keeps the larger of two steps' counts, so steps on different NUMA nodes or page
 * sizes add up; the site's limit is on what the job holds, not on one step. */
static int check_limit(const struct zn_hugepage_ledger *ledger, const char *key, uint64_t page_size,
                       const struct zn_hugepage_share *shares, size_t nshares, struct held *pools,
                       size_t npools, struct zn_error *err)
{
    uint64_t held = 0, adding = 0, own = 0;
    char total[32], before[32], max[32];

    if (!ledger->max_bytes)
        return 0;
    for (size_t i = 0; i < npools; i++)
        held = add_capped(held, bytes_of(pools[i].pages, pools[i].page_size));
    for (size_t i = 0; i < nshares; i++) {
        const struct held *had = held_find(pools, npools, page_size, shares[i].numa_os);
        uint64_t have = had ? had->pages : 0;

        own = add_capped(own, bytes_of(shares[i].pages, page_size));
        if (shares[i].pages > have)
            adding = add_capped(adding, bytes_of(shares[i].pages - have, page_size));
    }
    if (!adding || add_capped(held, adding) <= (own > ledger->max_bytes ? own : ledger->max_bytes))
        return 0;
    zn_format_size(add_capped(held, adding), total, sizeof(total));
    zn_format_size(held, before, sizeof(before));
    zn_format_size(ledger->max_bytes, max, sizeof(max));
    return zn_fail(err,
                   "this step would bring the huge pages reserved for %s to %s in all (earlier "
                   "steps of the job hold %s, on other NUMA nodes or of other page sizes), more "
                   "than this site allows per node (%s, hugepages_max in plugstack.conf); give "
                   "every step of the job the same page size and at most %s",
                   key, total, before, max, max);
}

int zn_hugepages_reserve(const struct zn_hugepage_ledger *ledger, const char *key,
                         uint64_t page_size, const struct zn_hugepage_share *shares, size_t nshares,
                         uint64_t *added_out, struct zn_error *err)
{
    struct held *pools = NULL;
    size_t npools = 0, cap;
    char path[PATH_MAX];
    uint64_t *added = NULL;
    bool any = false, raised = false;
    int lock = -1, rc = -1, found;

    if (added_out)
        for (size_t i = 0; i < nshares; i++)
            added_out[i] = 0;
    if (check_ledger(ledger, err) < 0 || check_key(key, err) < 0 ||
        check_page_size(page_size, err) < 0)
        return -1;
    if (nshares && !shares)
        return zn_fail(err, "no huge page shares given for %s (this is a bug in the caller)", key);
    for (size_t i = 0; i < nshares; i++) {
        any = any || shares[i].pages;
        /* The record keeps one count per pool, so two shares of one pool would be ambiguous. */
        for (size_t j = 0; j < i; j++)
            if (shares[i].pages && shares[j].pages && shares[i].numa_os == shares[j].numa_os)
                return zn_fail(err,
                               "NUMA node %u is given twice in the huge page shares for %s (this "
                               "is a bug in the caller)",
                               shares[i].numa_os, key);
    }
    if (!any)
        return 0;
    if (join_path(path, sizeof(path), err, "%s/%s", ledger->state_dir, key) < 0)
        return -1;
    added = calloc(nshares, sizeof(*added));
    if (!added)
        return zn_fail(err, "out of memory");

    lock = lock_take(ledger->state_dir, err);
    if (lock < 0)
        goto out;
    found = record_read(path, &pools, &npools, err);
    if (found < 0)
        goto out;
    cap = npools;
    if (check_limit(ledger, key, page_size, shares, nshares, pools, npools, err) < 0)
        goto out;

    /* An earlier step of the job may hold part of what this one needs: add only the rest. */
    for (size_t i = 0; i < nshares; i++) {
        const struct held *had = held_find(pools, npools, page_size, shares[i].numa_os);
        uint64_t have = had ? had->pages : 0;

        if (shares[i].pages <= have)
            continue;
        raised = true;
        if (pool_raise(ledger, shares[i].numa_os, page_size, shares[i].pages - have, &added[i],
                       err) < 0)
            goto undo;
    }
    if (!raised) {
        rc = 1;
        goto out;
    }
    for (size_t i = 0; i < nshares; i++) {
        struct held *had;

        if (!added[i])
            continue;
        had = held_find(pools, npools, page_size, shares[i].numa_os);
        if (had) {
            had->pages = shares[i].pages;
        } else if (held_add(&pools, &npools, &cap,
                            (struct held){page_size, shares[i].numa_os, shares[i].pages}) < 0) {
            zn_fail(err, "out of memory");
            goto undo;
        }
    }
    if (record_write(ledger->state_dir, key, pools, npools, err) < 0)
        goto undo;
    if (added_out)
        memcpy(added_out, added, nshares * sizeof(*added));
    rc = 0;
    goto out;
undo:
    roll_back(ledger, page_size, shares, added, nshares, err);
out:
    lock_drop(lock);
    free(pools);
    free(added);
    return rc;
}

int zn_hugepages_release(const struct zn_hugepage_ledger *ledger, const char *key,
                         struct zn_error *err)
{
    struct held *pools = NULL;
    char path[PATH_MAX];
    size_t npools = 0, done;
    struct stat st;
    int lock = -1, rc = -1, found;

    if (check_ledger(ledger, err) < 0 || check_key(key, err) < 0)
        return -1;
    if (join_path(path, sizeof(path), err, "%s/%s", ledger->state_dir, key) < 0)
        return -1;
    /* The epilog runs for every job; most reserved nothing, and then there is no need to create
     * the state directory just to find it empty. */
    if (stat(ledger->state_dir, &st) < 0 && errno == ENOENT)
        return 1;

    lock = lock_take(ledger->state_dir, err);
    if (lock < 0)
        goto out;
    found = record_read(path, &pools, &npools, err);
    if (found != 0) {
        rc = found;
        goto out;
    }
    for (done = 0; done < npools; done++)
        if (pools[done].pages && pool_lower(ledger, pools[done].numa_os, pools[done].page_size,
                                            pools[done].pages, err) < 0)
            break;
    if (done < npools) {
        /* Keep only what is still owed, so that the retry does not give back twice. */
        struct zn_error why;
        if (done > 0 && record_write(ledger->state_dir, key, pools + done, npools - done, &why) < 0)
            zn_error_append(err,
                            "; also could not update %s (%s), so a retry would give back the pools "
                            "already lowered a second time: edit it by hand",
                            path, why.text + strlen("zenith: "));
        else
            zn_error_append(err, "; the reservation is kept in %s, retry the release", path);
        goto out;
    }
    if (unlink(path) < 0) {
        zn_fail(err,
                "gave back the huge pages of %s but could not delete its record %s: %s; delete "
                "it by hand so they are not given back twice",
                key, path, strerror(errno));
        goto out;
    }
    sync_dir(ledger->state_dir);
    rc = 0;
out:
    lock_drop(lock);
    free(pools);
    return rc;
}

int zn_hugepages_pool(const struct zn_hugepage_ledger *ledger, unsigned numa_os, uint64_t page_size,
                      uint64_t *pages, struct zn_error *err)
{
    if (check_ledger(ledger, err) < 0 || check_page_size(page_size, err) < 0)
        return -1;
    return pool_read(ledger, numa_os, page_size, pages, err);
}
