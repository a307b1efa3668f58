/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/pagecopy.h"

#define PAGE           4096u
#define MAX_FD         65536            /* descriptors above are read the normal way */
#define MAX_PAGES      (1ull << 24)     /* 64 GiB of mapped files: a 16 MiB residency map */
#define MIN_REFRESH_NS (5 * 1000000ull) /* residency maps are at most this fresh... */
#define REFRESH_FACTOR 50               /* ...and refreshed at most 1/50 of the time */
#define AROUND         (2u << 20) /* read-around of a miss (2 MiB: 0.20 M/s cold, 512 KiB 0.13-0.17) */
#define CHUNK_PAGES    512u       /* residency is refreshed 2 MiB at a time */
#define ADVISED        0x2u       /* in the residency map: read-around asked for */

struct mapping {
    uint8_t *base;
    uint64_t size;
    uint8_t *resident; /* mincore's vector: a byte per page */
    uint64_t pages;
    uint64_t *refreshed_ns; /* a chunk's last refresh (0: never) */
    uint64_t refresh_cost_ns;
    bool tried, usable;
    bool read_around; /* the file fits in memory twice over */
};

#define MAX_PENDING 256 /* read-arounds waiting for the reads to be submitted */

struct zn_pagecopy {
    uint64_t max_read;
    struct {
        int fd;
        uint64_t start;
    } pending[MAX_PENDING];
    unsigned npending;
    struct mapping *by_fd; /* indexed by descriptor */
    int fds;
    uint64_t pages_mapped;
    uint64_t copied;
};

/* The copying thread's way out of a SIGBUS (the file shrank under the mapping). volatile: the
 * compiler sees no reader of it around memcpy and would drop the store. Initial-exec TLS: the
 * handler must not make glibc allocate the variable. */
static __thread sigjmp_buf *volatile copy_escape __attribute__((tls_model("initial-exec")));
static struct sigaction previous_sigbus;
static pthread_once_t sigbus_once = PTHREAD_ONCE_INIT;
static bool sigbus_ours;

static void on_sigbus(int sig, siginfo_t *info, void *context)
{
    sigjmp_buf *escape = copy_escape;

    if (escape) {
        copy_escape = NULL;
        siglongjmp(*escape, 1);
    }
    /* Not a copy of ours: whoever had SIGBUS before, else the default, which the faulting
     * access raises again once this returns. */
    if (previous_sigbus.sa_flags & SA_SIGINFO) {
        if (previous_sigbus.sa_sigaction) {
            previous_sigbus.sa_sigaction(sig, info, context);
            return;
        }
    } else if (previous_sigbus.sa_handler != SIG_DFL && previous_sigbus.sa_handler != SIG_IGN) {
        previous_sigbus.sa_handler(sig);
        return;
    }
    signal(SIGBUS, SIG_DFL);
}

static void take_sigbus(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigbus;
    /* NODEFER: siglongjmp leaves the handler without restoring the mask. */
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigbus_ours = sigaction(SIGBUS, &sa, &previous_sigbus) == 0;
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

struct zn_pagecopy *zn_pagecopy_create(uint64_t max_read, struct zn_error *err)
{
    struct zn_pagecopy *p = calloc(1, sizeof(*p));

    if (!p) {
        zn_fail(err, "reader: out of memory");
        return NULL;
    }
    p->max_read = max_read;
    pthread_once(&sigbus_once, take_sigbus);
    return p;
}

static struct mapping *mapping_of(struct zn_pagecopy *p, int fd)
{
    struct mapping *m;
    struct stat st;

    if (fd < 0 || fd >= MAX_FD || !sigbus_ours)
        return NULL;
    if (fd >= p->fds) {
        int n = p->fds ? p->fds : 64;
        struct mapping *bigger;
        while (n <= fd)
            n *= 2;
        bigger = realloc(p->by_fd, (size_t)n * sizeof(*bigger));
        if (!bigger)
            return NULL;
        memset(bigger + p->fds, 0, (size_t)(n - p->fds) * sizeof(*bigger));
        p->by_fd = bigger;
        p->fds = n;
    }
    m = &p->by_fd[fd];
    if (m->tried)
        return m->usable ? m : NULL;
    m->tried = true;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
        return NULL;
    m->size = (uint64_t)st.st_size;
    m->pages = (m->size + PAGE - 1) / PAGE;
    if (p->pages_mapped + m->pages > MAX_PAGES)
        return NULL;
    m->base = mmap(NULL, m->size, PROT_READ, MAP_SHARED, fd, 0);
    if (m->base == MAP_FAILED) {
        m->base = NULL;
        return NULL;
    }
    m->resident = calloc(m->pages, 1);
    m->refreshed_ns = calloc(m->pages / CHUNK_PAGES + 1, sizeof(*m->refreshed_ns));
    if (!m->resident || !m->refreshed_ns) {
        free(m->resident);
        free(m->refreshed_ns);
        munmap(m->base, m->size);
        m->base = NULL;
        return NULL;
    }
    p->pages_mapped += m->pages;
    m->usable = true;
    {
        long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
        m->read_around = pages > 0 && size > 0 && m->size <= (uint64_t)pages * (uint64_t)size / 2;
    }
    return m;
}

/* The chunk holding `page`, refreshed when it is stale: a chunk at a time, so a batch waits for
 * 2 MiB of mincore() a sample at most rather than the whole file's (32 ms for 1.5 GiB,
 * measured as a slow first batch). */
static void refresh(struct mapping *m, uint64_t page)
{
    uint64_t chunk = page / CHUNK_PAGES, first = chunk * CHUNK_PAGES, t0 = now_ns();
    uint64_t pages = m->pages - first < CHUNK_PAGES ? m->pages - first : CHUNK_PAGES;
    uint64_t last = m->refreshed_ns[chunk];

    /* Each chunk as often as keeps the whole file's refreshes under 1/REFRESH_FACTOR of the
     * time: reads at random touch every chunk (per chunk alone, a 1.5 GiB file spent a third
     * of the engine's time in mincore). */
    if (last && (t0 - last < MIN_REFRESH_NS ||
                 t0 - last < REFRESH_FACTOR * m->refresh_cost_ns * (m->pages / CHUNK_PAGES + 1)))
        return;
    if (mincore(m->base + first * PAGE, pages * PAGE, (unsigned char *)m->resident + first) < 0)
        memset(m->resident + first, 0, pages);
    m->refreshed_ns[chunk] = now_ns();
    m->refresh_cost_ns = m->refreshed_ns[chunk] - t0;
}

static bool resident(const struct mapping *m, uint64_t offset, uint64_t len)
{
    for (uint64_t page = offset / PAGE; page <= (offset + len - 1) / PAGE; page++)
        if (!(m->resident[page] & 1))
            return false;
    return true;
}

/* A miss: note the read-around of its window, asked for by zn_pagecopy_flush. */
static void note_read_around(struct zn_pagecopy *p, int fd, struct mapping *m, uint64_t offset)
{
    uint64_t start = offset / AROUND * AROUND, first = start / PAGE;

    if (!m->read_around || (m->resident[first] & (ADVISED | 1)) || p->npending == MAX_PENDING)
        return;
    p->pending[p->npending].fd = fd;
    p->pending[p->npending++].start = start;
    m->resident[first] |= ADVISED;
}

void zn_pagecopy_flush(struct zn_pagecopy *p)
{
    for (unsigned i = 0; i < p->npending; i++)
        posix_fadvise(p->pending[i].fd, (off_t)p->pending[i].start, AROUND, POSIX_FADV_WILLNEED);
    p->npending = 0;
}

static void forget(struct zn_pagecopy *p, struct mapping *m)
{
    munmap(m->base, m->size);
    free(m->resident);
    free(m->refreshed_ns);
    p->pages_mapped -= m->pages;
    m->base = NULL;
    m->resident = NULL;
    m->refreshed_ns = NULL;
    m->usable = false;
}

/* false: the copy met a SIGBUS and was abandoned. Not inlined: the caller's variables must
 * not live in registers the jump back restores to older values. */
static __attribute__((noinline)) bool copy_guarded(void *dst, const void *src, uint64_t len)
{
    sigjmp_buf escape;

    if (sigsetjmp(escape, 0))
        return false;
    copy_escape = &escape;
    memcpy(dst, src, len);
    copy_escape = NULL;
    return true;
}

int zn_pagecopy_try(struct zn_pagecopy *p, int fd, uint64_t offset, uint64_t len, void *dst)
{
    struct mapping *m;

    if (len == 0 || len > p->max_read || !(m = mapping_of(p, fd)))
        return 0;
    if (offset >= m->size || len > m->size - offset)
        return 0;
    refresh(m, offset / PAGE);
    refresh(m, (offset + len - 1) / PAGE);
    if (!resident(m, offset, len)) {
        note_read_around(p, fd, m, offset);
        return 0;
    }
    if (!copy_guarded(dst, m->base + offset, len)) {
        /* SIGBUS: the file is shorter than it was; the normal read will say so. */
        forget(p, m);
        return 0;
    }
    p->copied++;
    return 1;
}

uint64_t zn_pagecopy_count(const struct zn_pagecopy *p)
{
    return p->copied;
}

void zn_pagecopy_destroy(struct zn_pagecopy *p)
{
    if (!p)
        return;
    for (int fd = 0; fd < p->fds; fd++)
        if (p->by_fd[fd].usable)
            forget(p, &p->by_fd[fd]);
    free(p->by_fd);
    free(p);
}
