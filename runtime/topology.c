/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/devices.h"
#include "runtime/topology.h"

#include <hwloc/export.h>

static hwloc_obj_t first_numa_below(hwloc_obj_t obj)
{
    /* Memory children may be memory-side caches whose own memory child is the NUMA node. */
    for (hwloc_obj_t child = obj->memory_first_child; child; child = child->next_sibling) {
        if (child->type == HWLOC_OBJ_NUMANODE)
            return child;
        hwloc_obj_t below = first_numa_below(child);
        if (below)
            return below;
    }
    return NULL;
}

/* The node a core allocates from by default: walk up to the first ancestor carrying memory and
 * prefer plain DRAM (no subtype) over HBM/NVM/GPU memory attached at the same level. */
static hwloc_obj_t local_numa_of(hwloc_obj_t obj)
{
    for (hwloc_obj_t anc = obj; anc; anc = anc->parent) {
        if (!anc->memory_arity)
            continue;
        hwloc_obj_t fallback = NULL;
        for (hwloc_obj_t numa = first_numa_below(anc); numa; numa = numa->next_sibling) {
            if (numa->type != HWLOC_OBJ_NUMANODE)
                continue;
            if (!numa->subtype)
                return numa;
            if (!fallback)
                fallback = numa;
        }
        if (fallback)
            return fallback;
    }
    return NULL;
}

static int package_index_of(hwloc_topology_t hw, hwloc_obj_t obj)
{
    hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(hw, HWLOC_OBJ_PACKAGE, obj);
    return pkg ? (int)pkg->logical_index : -1;
}

bool zn_numa_is_hbm(const struct zn_numa *numa)
{
    return !numa->has_cpus && numa->subtype &&
           (strcmp(numa->subtype, "HBM") == 0 || strcmp(numa->subtype, "MCDRAM") == 0);
}

int zn_topology_numa_by_os(const struct zn_topology *topo, unsigned os_index)
{
    for (size_t i = 0; i < topo->nnuma; i++)
        if (topo->numa[i].os_index == os_index)
            return (int)i;
    return -1;
}

static int build_numa(struct zn_topology *topo, struct zn_error *err)
{
    hwloc_topology_t hw = topo->hw;
    int n = hwloc_get_nbobjs_by_type(hw, HWLOC_OBJ_NUMANODE);

    if (n <= 0)
        return zn_fail(err, "topology %s has no NUMA node; the file may be damaged", topo->source);
    topo->numa = calloc((size_t)n, sizeof(*topo->numa));
    if (!topo->numa)
        return zn_fail(err, "out of memory");
    topo->nnuma = (size_t)n;
    for (int i = 0; i < n; i++) {
        hwloc_obj_t obj = hwloc_get_obj_by_type(hw, HWLOC_OBJ_NUMANODE, (unsigned)i);
        struct zn_numa *numa = &topo->numa[i];
        const struct hwloc_numanode_attr_s *attr = &obj->attr->numanode;

        numa->os_index = obj->os_index;
        numa->package = package_index_of(hw, obj);
        numa->local_memory = attr->local_memory;
        numa->subtype = obj->subtype;
        numa->cpuset = hwloc_bitmap_alloc();
        numa->near = hwloc_bitmap_dup(obj->cpuset ? obj->cpuset : hwloc_get_root_obj(hw)->cpuset);
        if (!numa->cpuset || !numa->near)
            return zn_fail(err, "out of memory");
        /* The smallest page size is the base page; every larger one is a huge page pool. */
        if (attr->page_types_len > 1) {
            numa->pools = calloc(attr->page_types_len - 1, sizeof(*numa->pools));
            if (!numa->pools)
                return zn_fail(err, "out of memory");
            for (unsigned p = 1; p < attr->page_types_len; p++) {
                numa->pools[numa->npools].size = attr->page_types[p].size;
                numa->pools[numa->npools].count = attr->page_types[p].count;
                numa->npools++;
            }
        }
    }
    return 0;
}

/* hwloc 1.x exports may put NUMA nodes above their Package (older POWER9 ones do); hwloc 2 then
 * attaches them where no Package is an ancestor. A node whose cores all sit in one package
 * belongs to that package, whatever the object order. */
static void numa_packages_from_cores(struct zn_topology *topo)
{
    for (size_t d = 0; d < topo->nnuma; d++) {
        int package = -2; /* -2: no core seen yet */
        if (topo->numa[d].package >= 0)
            continue;
        for (size_t c = 0; c < topo->ncores; c++) {
            if (topo->cores[c].numa != (int)d)
                continue;
            package =
                package == -2 || package == topo->cores[c].package ? topo->cores[c].package : -1;
        }
        topo->numa[d].package = package == -2 ? -1 : package;
    }
}

static int build_cores(struct zn_topology *topo, struct zn_error *err)
{
    hwloc_topology_t hw = topo->hw;
    /* Some exports have no Core level; each PU then stands for a core. */
    hwloc_obj_type_t type =
        hwloc_get_nbobjs_by_type(hw, HWLOC_OBJ_CORE) > 0 ? HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
    int n = hwloc_get_nbobjs_by_type(hw, type);

    topo->all_pus = hwloc_bitmap_alloc();
    topo->complete_pus = hwloc_bitmap_dup(hwloc_topology_get_complete_cpuset(hw));
    topo->cores = calloc(n > 0 ? (size_t)n : 1, sizeof(*topo->cores));
    if (!topo->all_pus || !topo->complete_pus || !topo->cores)
        return zn_fail(err, "out of memory");
    for (int i = 0; i < n; i++) {
        hwloc_obj_t obj = hwloc_get_obj_by_type(hw, type, (unsigned)i);
        hwloc_obj_t numa_obj;
        struct zn_core *core;

        if (!obj->cpuset || hwloc_bitmap_iszero(obj->cpuset))
            continue; /* a core whose PUs are all disallowed */
        core = &topo->cores[topo->ncores++];
        core->pus = hwloc_bitmap_dup(obj->cpuset);
        if (!core->pus)
            return zn_fail(err, "out of memory");
        core->package = package_index_of(hw, obj);
        hwloc_obj_t l3 = hwloc_get_ancestor_obj_by_type(hw, HWLOC_OBJ_L3CACHE, obj);
        core->cache = l3 ? (int)l3->logical_index : -1;
        numa_obj = local_numa_of(obj);
        core->numa = numa_obj ? (int)numa_obj->logical_index : 0;
        hwloc_bitmap_or(topo->numa[core->numa].cpuset, topo->numa[core->numa].cpuset, core->pus);
        hwloc_bitmap_or(topo->all_pus, topo->all_pus, core->pus);
    }
    if (topo->ncores == 0)
        return zn_fail(err, "topology %s has no usable CPU", topo->source);
    topo->npus = (size_t)hwloc_bitmap_weight(topo->all_pus);
    for (size_t i = 0; i < topo->nnuma; i++)
        topo->numa[i].has_cpus = !hwloc_bitmap_iszero(topo->numa[i].cpuset);
    numa_packages_from_cores(topo);
    topo->npackages = (size_t)hwloc_get_nbobjs_by_type(hw, HWLOC_OBJ_PACKAGE);
    return 0;
}

static struct zn_topology *finish_load(struct zn_topology *topo, struct zn_error *err)
{
    if (build_numa(topo, err) < 0 || build_cores(topo, err) < 0 || zn_devices_scan(topo, err) < 0) {
        zn_topology_destroy(topo);
        return NULL;
    }
    return topo;
}

static struct zn_topology *topology_new(const char *source, struct zn_error *err)
{
    struct zn_topology *topo = calloc(1, sizeof(*topo));

    if (!topo) {
        zn_fail(err, "out of memory");
        return NULL;
    }
    snprintf(topo->source, sizeof(topo->source), "%s", source);
    if (hwloc_topology_init(&topo->hw) < 0) {
        zn_fail(err, "hwloc could not initialise a topology: %s", strerror(errno));
        free(topo);
        return NULL;
    }
    /* GPUs and NICs are I/O objects, which hwloc drops unless asked to keep them. */
    hwloc_topology_set_io_types_filter(topo->hw, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
    return topo;
}

struct zn_topology *zn_topology_load_xml(const char *path, struct zn_error *err)
{
    struct zn_topology *topo;

    if (access(path, R_OK) < 0) {
        zn_fail(err, "cannot read topology XML %s: %s; write one with 'zenith-plan --write-xml'",
                path, strerror(errno));
        return NULL;
    }
    topo = topology_new(path, err);
    if (!topo)
        return NULL;
    if (hwloc_topology_set_xml(topo->hw, path) < 0 || hwloc_topology_load(topo->hw) < 0) {
        zn_fail(err,
                "%s is not a valid hwloc topology XML; regenerate it with 'zenith-plan "
                "--write-xml' or 'lstopo FILE.xml'",
                path);
        zn_topology_destroy(topo);
        return NULL;
    }
    return finish_load(topo, err);
}

/* FNV-1a, 64 bits: the seal detects damage and edits, not forgery (the file's owner and mode
 * keep a crafted cache out), so a fast unkeyed hash is enough. */
static uint64_t fnv1a64(const char *buf, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)buf[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

#define SEAL_PREFIX "<!-- zenith-topology-cache v1 bytes="

static int format_seal(char *out, size_t len, const char *xml, size_t xml_len)
{
    return snprintf(out, len, SEAL_PREFIX "%zu fnv1a64=%016" PRIx64 " -->\n", xml_len,
                    fnv1a64(xml, xml_len));
}

/* Where the XML ends in buf when its last line is a seal that matches it; else -1 with why
 * (a phrase to follow the file's name). */
static long seal_check(const char *buf, size_t len, const char **why)
{
    size_t start, prefix = strlen(SEAL_PREFIX);
    char expected[128];
    unsigned long long claimed;
    char *end;

    if (len == 0 || buf[len - 1] != '\n') {
        *why = "does not end with Zenith's seal line (it was not written by zenith-plan "
               "--write-xml, or was cut short)";
        return -1;
    }
    start = len - 1;
    while (start > 0 && buf[start - 1] != '\n')
        start--;
    if (len - start < prefix || memcmp(buf + start, SEAL_PREFIX, prefix) != 0) {
        *why = "has no Zenith seal on its last line (it was not written by zenith-plan "
               "--write-xml, or something was appended to it)";
        return -1;
    }
    errno = 0;
    claimed = strtoull(buf + start + prefix, &end, 10);
    if (errno || end == buf + start + prefix || claimed != start) {
        *why = "is not the length its seal records: it was cut short or changed after it was "
               "written";
        return -1;
    }
    format_seal(expected, sizeof(expected), buf, start);
    if (len - start != strlen(expected) || memcmp(buf + start, expected, len - start) != 0) {
        *why = "does not match its seal's checksum: it was changed after it was written";
        return -1;
    }
    return (long)start;
}

/* The whole file in one malloc'd, NUL-terminated buffer, read from a single descriptor so that
 * what is checked is what hwloc gets. `cache`: the rules for a file a root daemon trusts: no
 * symbolic link, a regular file, written only by root or the caller. */
static int read_file(const char *path, bool cache, char **out, size_t *out_len,
                     struct zn_error *err)
{
    int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (cache ? O_NOFOLLOW : 0);
    int fd = open(path, flags);
    char *buf = NULL, fix[4200] = "";
    size_t len = 0;
    struct stat st;
    int rc = -1;

    /* A fresh cache from zenith-plan is a regular file, root's, mode 0644: the one remedy. */
    if (cache)
        snprintf(fix, sizeof(fix), "; rewrite it on this node with 'zenith-plan --write-xml %s'",
                 path);
    if (fd < 0) {
        if (cache && errno == ELOOP)
            zn_fail(err, "topology cache %s is a symbolic link, which Zenith does not follow%s",
                    path, fix);
        else
            zn_fail(err, "cannot read %s: %s%s", path, strerror(errno), fix);
        goto out;
    }
    if (fstat(fd, &st) < 0) {
        zn_fail(err, "cannot read %s: %s%s", path, strerror(errno), fix);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        zn_fail(err, "%s is not a regular file%s", path, fix);
        goto out;
    }
    if (cache && (st.st_mode & (S_IWGRP | S_IWOTH))) {
        zn_fail(err,
                "topology cache %s is writable by users other than its owner (mode %04o), so "
                "anyone could plant a topology there%s",
                path, (unsigned)(st.st_mode & 07777), fix);
        goto out;
    }
    if (cache && st.st_uid != 0 && st.st_uid != geteuid()) {
        zn_fail(err,
                "topology cache %s belongs to uid %u, neither root nor this process's uid %u, "
                "so Zenith does not trust it%s",
                path, (unsigned)st.st_uid, (unsigned)geteuid(), fix);
        goto out;
    }
    if (st.st_size > (off_t)ZN_TOPOLOGY_MAX_BYTES) {
        zn_fail(err, "%s is %lld bytes, more than the %u (64 MiB) a topology may have%s", path,
                (long long)st.st_size, ZN_TOPOLOGY_MAX_BYTES, fix);
        goto out;
    }
    /* One byte more than allowed: a file that grows while it is read is still caught. */
    buf = malloc((size_t)st.st_size + 2);
    if (!buf) {
        zn_fail(err, "out of memory reading %s", path);
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, (size_t)st.st_size + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            zn_fail(err, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > (size_t)st.st_size) {
            zn_fail(err, "%s grew while it was read; try again once nothing writes it", path);
            goto out;
        }
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Loads xml (NUL-terminated at len) the way a cache is loaded. this_machine: restricted to
 * this process's cpuset, as discovery would be. `advice` (may be NULL) follows hwloc's
 * refusal in the message. */
static struct zn_topology *load_buffer(const char *source, const char *xml, size_t len,
                                       bool this_machine, const char *advice, struct zn_error *err)
{
    struct zn_topology *topo = topology_new(source, err);

    if (!topo)
        return NULL;
    topo->allowed_by_process = this_machine;
    if ((this_machine && hwloc_topology_set_flags(
                             topo->hw, HWLOC_TOPOLOGY_FLAG_IS_THISSYSTEM |
                                           HWLOC_TOPOLOGY_FLAG_THISSYSTEM_ALLOWED_RESOURCES) < 0) ||
        len >= INT32_MAX ||
        /* The size counts the terminating NUL, as hwloc_topology_export_xmlbuffer's does. */
        hwloc_topology_set_xmlbuffer(topo->hw, xml, (int)len + 1) < 0 ||
        hwloc_topology_load(topo->hw) < 0) {
        zn_fail(err, "%s is not a valid hwloc topology XML%s", source, advice ? advice : "");
        zn_topology_destroy(topo);
        return NULL;
    }
    if (this_machine) {
        long machine_cpus = sysconf(_SC_NPROCESSORS_CONF);
        int xml_cpus = hwloc_bitmap_weight(hwloc_topology_get_complete_cpuset(topo->hw));
        if (xml_cpus != machine_cpus) {
            zn_fail(err,
                    "%s describes %d CPUs but this machine has %ld: it was written on another "
                    "machine; rewrite it here with 'zenith-plan --write-xml %s'",
                    source, xml_cpus, machine_cpus, source);
            zn_topology_destroy(topo);
            return NULL;
        }
    }
    return finish_load(topo, err);
}

/* A cache: read once, its seal checked, and only the bytes the seal vouches for go to hwloc. */
static struct zn_topology *load_sealed(const char *path, bool this_machine, struct zn_error *err)
{
    struct zn_topology *topo = NULL;
    const char *why = NULL;
    char *buf = NULL, advice[4200];
    size_t len = 0;
    long xml_len;

    if (read_file(path, true, &buf, &len, err) < 0)
        goto out;
    xml_len = seal_check(buf, len, &why);
    if (xml_len < 0) {
        zn_fail(err,
                "topology cache %s %s; rewrite it on this node with 'zenith-plan --write-xml %s'",
                path, why, path);
        goto out;
    }
    buf[xml_len] = '\0';
    snprintf(advice, sizeof(advice), "; rewrite it with 'zenith-plan --write-xml %s'", path);
    topo = load_buffer(path, buf, (size_t)xml_len, this_machine, advice, err);
out:
    free(buf);
    return topo;
}

struct zn_topology *zn_topology_load_sealed(const char *path, struct zn_error *err)
{
    return load_sealed(path, false, err);
}

struct zn_topology *zn_topology_load_cached(const char *path, struct zn_error *err)
{
    if (access(path, R_OK) < 0) {
        zn_fail(err,
                "cannot read topology cache %s: %s; write it with 'zenith-plan --write-xml %s'",
                path, strerror(errno), path);
        return NULL;
    }
    return load_sealed(path, true, err);
}

int zn_topology_path(const char *pattern, const char *node, char *buf, size_t len,
                     struct zn_error *err)
{
    size_t used = 0;

    for (const char *p = pattern; *p; p++) {
        const char *piece = p;
        size_t n = 1;
        if (*p == '%' && p[1] == 'n') {
            piece = node;
            n = strlen(node);
            p++;
        } else if (*p == '%' && p[1] == '%') {
            p++;
        }

        if (used + n >= len)
            return zn_fail(err, "the topology path for node %s is too long", node);
        memcpy(buf + used, piece, n);
        used += n;
    }
    buf[used] = '\0';
    return 0;
}

struct zn_topology *zn_topology_load_live(struct zn_error *err)
{
    struct zn_topology *topo = topology_new("live", err);

    if (!topo)
        return NULL;
    topo->allowed_by_process = true; /* hwloc discovers what this process may use */
    if (hwloc_topology_load(topo->hw) < 0) {
        zn_fail(err, "hwloc could not discover this machine: %s", strerror(errno));
        zn_topology_destroy(topo);
        return NULL;
    }
    return finish_load(topo, err);
}

/* Loads xml in a child process, as the plugin will, so that a file which crashes (or hangs)
 * hwloc is refused here instead of inside slurmstepd. 0 when it loaded; else -1 with what
 * happened to `what`, and nothing is written to `dest`. */
static int verify_in_child(const char *what, const char *xml, size_t len, const char *dest,
                           struct zn_error *err)
{
    struct zn_error child_err = {{0}};
    int fds[2], status = 0;
    ssize_t got = 0;
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) < 0)
        return zn_fail(err, "cannot check %s: pipe: %s", what, strerror(errno));
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return zn_fail(err, "cannot check %s: fork: %s", what, strerror(errno));
    }
    if (pid == 0) {
        struct zn_topology *topo;
        close(fds[0]);
        /* A file that makes hwloc loop forever is as bad as one that crashes it. */
        signal(SIGALRM, SIG_DFL);
        alarm(60);
        topo = load_buffer(what, xml, len, false, NULL, &child_err);
        if (!topo) {
            ssize_t n = write(fds[1], child_err.text, strlen(child_err.text));
            (void)n;
            _exit(1);
        }
        zn_topology_destroy(topo);
        _exit(0);
    }
    close(fds[1]);
    for (;;) {
        ssize_t n = read(fds[0], child_err.text + got, sizeof(child_err.text) - 1 - (size_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || (size_t)(got += n) >= sizeof(child_err.text) - 1)
            break;
    }
    child_err.text[got > 0 ? got : 0] = '\0';
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return zn_fail(err, "cannot check %s: waitpid: %s", what, strerror(errno));
    }
    if (WIFSIGNALED(status))
        return zn_fail(err,
                       "hwloc crashed loading %s (%s): it is not a topology Zenith can use; "
                       "nothing was written to %s",
                       what, strsignal(WTERMSIG(status)), dest);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        /* The child's message has its own "zenith: ", which zn_fail adds again. */
        if (strncmp(child_err.text, "zenith: ", 8) == 0)
            return zn_fail(err, "%s; nothing was written to %s", child_err.text + 8, dest);
        return zn_fail(err,
                       "loading %s in a child process failed (status %d); nothing was "
                       "written to %s",
                       what, status, dest);
    }
    return 0;
}

/* xml (len bytes) and its seal to path, atomically: a temporary file beside it, flushed to
 * disk, renamed over it, so a reader sees the old cache or the new one, never half of one. */
static int write_sealed(const char *path, const char *xml, size_t len, struct zn_error *err)
{
    char tmp[4096], seal[128], dir[4096];
    int fd = -1, dfd, rc = -1;
    int seal_len = format_seal(seal, sizeof(seal), xml, len);
    bool created = false;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
        zn_fail(err, "topology cache path %s is too long", path);
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        zn_fail(err, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    created = true;
    /* Readable by every user's zenith-run, writable by its owner only, whatever the umask. */
    if (fchmod(fd, 0644) < 0) {
        zn_fail(err, "cannot set the mode of %s: %s", tmp, strerror(errno));
        goto out;
    }
    for (size_t done = 0; done < len + (size_t)seal_len;) {
        const char *from = done < len ? xml + done : seal + (done - len);
        size_t left = done < len ? len - done : (size_t)seal_len - (done - len);
        ssize_t n = write(fd, from, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            zn_fail(err, "cannot write %s: %s", tmp, n < 0 ? strerror(errno) : "short write");
            goto out;
        }
        done += (size_t)n;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        zn_fail(err, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        zn_fail(err, "cannot move %s to %s: %s", tmp, path, strerror(errno));
        goto out;
    }
    created = false;
    snprintf(dir, sizeof(dir), "%s", path);
    dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* the rename itself survives a crash; best effort */
        close(dfd);
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (created)
        unlink(tmp);
    return rc;
}

int zn_topology_write_cache(const char *path, struct zn_error *err)
{
    hwloc_topology_t hw = NULL;
    char *xml = NULL;
    int xml_len = 0, rc = -1;

    if (hwloc_topology_init(&hw) < 0) {
        zn_fail(err, "hwloc could not initialise a topology: %s", strerror(errno));
        hw = NULL;
        goto out;
    }
    hwloc_topology_set_io_types_filter(hw, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
    /* The cache describes the whole node, not just the CPUs of whoever wrote it. */
    hwloc_topology_set_flags(hw, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
    if (hwloc_topology_load(hw) < 0) {
        zn_fail(err, "hwloc could not discover this machine: %s", strerror(errno));
        goto out;
    }
    if (hwloc_topology_export_xmlbuffer(hw, &xml, &xml_len, 0) < 0 || xml_len < 1) {
        zn_fail(err, "hwloc could not export this machine's topology: %s", strerror(errno));
        xml = NULL;
        goto out;
    }
    /* xml_len counts the terminating NUL; the cache holds the text before it. */
    if (verify_in_child("this machine's topology", xml, (size_t)xml_len - 1, path, err) < 0 ||
        write_sealed(path, xml, (size_t)xml_len - 1, err) < 0)
        goto out;
    rc = 0;
out:
    if (xml)
        hwloc_free_xmlbuffer(hw, xml);
    if (hw)
        hwloc_topology_destroy(hw);
    return rc;
}

int zn_topology_seal_xml(const char *in, const char *path, struct zn_error *err)
{
    const char *why = NULL;
    char *buf = NULL;
    size_t len = 0;
    long sealed;
    int rc = -1;

    if (read_file(in, false, &buf, &len, err) < 0)
        goto out;
    /* Resealing a cache keeps its XML, not a second seal inside the first. */
    sealed = seal_check(buf, len, &why);
    if (sealed >= 0)
        len = (size_t)sealed;
    buf[len] = '\0';
    if (memchr(buf, '\0', len)) {
        zn_fail(err, "%s has a NUL byte, so it is not an XML file; nothing was written to %s", in,
                path);
        goto out;
    }
    if (verify_in_child(in, buf, len, path, err) < 0 || write_sealed(path, buf, len, err) < 0)
        goto out;
    rc = 0;
out:
    free(buf);
    return rc;
}

void zn_topology_destroy(struct zn_topology *topo)
{
    if (!topo)
        return;
    for (size_t i = 0; i < topo->nnuma; i++) {
        hwloc_bitmap_free(topo->numa[i].cpuset);
        hwloc_bitmap_free(topo->numa[i].near);
        free(topo->numa[i].pools);
    }
    for (size_t i = 0; i < topo->ncores; i++)
        hwloc_bitmap_free(topo->cores[i].pus);
    zn_devices_free(topo);
    free(topo->numa);
    free(topo->cores);
    hwloc_bitmap_free(topo->all_pus);
    hwloc_bitmap_free(topo->complete_pus);
    if (topo->hw)
        hwloc_topology_destroy(topo->hw);
    free(topo);
}
