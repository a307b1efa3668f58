/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/dataset-impl.h"
#include "runtime/dataset.h"

const char *zn_format_name(enum zn_format f)
{
    switch (f) {
    case ZN_FORMAT_TOKENS:
        return "tokens";
    case ZN_FORMAT_MEGATRON:
        return "megatron";
    case ZN_FORMAT_TAR:
        return "tar";
    case ZN_FORMAT_RECORDS:
        return "records";
    }
    return "unknown";
}

/* Open failures are the most common user error (a typo in a path, a shard missing from a
 * copy), so each errno gets its own advice. */
static int fail_open(const char *path, bool direct, int saved_errno, struct zn_error *err)
{
    if (direct && saved_errno == EINVAL)
        return zn_fail(err,
                       "cannot open %s with O_DIRECT: %s; its filesystem does not support direct "
                       "I/O (tmpfs on older kernels, some FUSE and network filesystems): read it "
                       "without direct",
                       path, strerror(saved_errno));
    if (saved_errno == EMFILE) {
        struct rlimit rl = {0};
        getrlimit(RLIMIT_NOFILE, &rl);
        return zn_fail(err,
                       "cannot open %s: %s (the limit is %llu open files, each shard holds one): "
                       "raise it with ulimit -n (hard limit %llu) or use fewer, larger shards",
                       path, strerror(saved_errno), (unsigned long long)rl.rlim_cur,
                       (unsigned long long)rl.rlim_max);
    }
    return zn_fail(err, "cannot open %s: %s; check the dataset path", path, strerror(saved_errno));
}

static int open_checked(const char *path, bool direct, uint64_t *size, struct zn_error *err)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));

    if (fd < 0) {
        fail_open(path, direct, errno, err);
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        zn_fail(err, "cannot stat %s: %s", path, strerror(errno));
        goto bad;
    }
    if (S_ISDIR(st.st_mode)) {
        zn_fail(err,
                "%s is a directory, not a dataset file; give the file itself (tar: a shard "
                "or a brace list of shards such as DIR/train-{000..127}.tar)",
                path);
        goto bad;
    }
    if (!S_ISREG(st.st_mode)) {
        zn_fail(err, "%s is not a regular file; datasets are read from regular files", path);
        goto bad;
    }
    if (st.st_size == 0) {
        zn_fail(err, "%s is empty (0 bytes); was it written completely?", path);
        goto bad;
    }
    *size = (uint64_t)st.st_size;
    return fd;
bad:
    close(fd);
    return -1;
}

int zn_dataset_open_meta(const char *path, uint64_t *size, struct zn_error *err)
{
    return open_checked(path, false, size, err);
}

int zn_dataset_add_file(struct zn_dataset *ds, const char *path, bool direct, uint64_t *size,
                        struct zn_error *err)
{
    unsigned n = ds->nfiles;
    int *fds = realloc(ds->fds, (n + 1) * sizeof(*fds));
    char **paths;

    if (!fds)
        return zn_fail(err, "out of memory opening %s", path);
    ds->fds = fds;
    paths = realloc(ds->paths, (n + 1) * sizeof(*paths));
    if (!paths)
        return zn_fail(err, "out of memory opening %s", path);
    ds->paths = paths;
    paths[n] = strdup(path);
    if (!paths[n])
        return zn_fail(err, "out of memory opening %s", path);
    fds[n] = open_checked(path, direct, size, err);
    if (fds[n] < 0) {
        free(paths[n]);
        return -1;
    }
    ds->nfiles = n + 1;
    return (int)n;
}

static int check_options(const struct zn_dataset_options *o, struct zn_error *err)
{
    if (!o || !o->path || !*o->path)
        return zn_fail(err, "no dataset path given; name the file (or tar shards) to read");
    switch (o->format) {
    case ZN_FORMAT_TOKENS:
    case ZN_FORMAT_MEGATRON:
        if (o->seq_len == 0)
            return zn_fail(err,
                           "%s: the sequence length is 0; give the tokens per sample (a window "
                           "holds seq_len+1 tokens)",
                           o->path);
        if (o->format == ZN_FORMAT_TOKENS && o->token_bytes != 2 && o->token_bytes != 4)
            return zn_fail(err,
                           "%s: token size %u bytes is not supported; flat token files hold "
                           "uint16 (2) or uint32 (4) tokens",
                           o->path, o->token_bytes);
        if (o->format == ZN_FORMAT_MEGATRON && o->token_bytes != 0 && o->token_bytes != 2 &&
            o->token_bytes != 4)
            return zn_fail(err,
                           "%s: token size %u bytes is not supported; Megatron token data is "
                           "uint16 (2) or int32 (4), or give 0 to take it from the .idx",
                           o->path, o->token_bytes);
        return 0;
    case ZN_FORMAT_TAR:
        return 0;
    case ZN_FORMAT_RECORDS:
        if (o->record_bytes == 0)
            return zn_fail(err, "%s: the record size is 0; give the bytes per record", o->path);
        return 0;
    }
    return zn_fail(err, "%s: unknown dataset format %d (this is a bug in the caller)", o->path,
                   (int)o->format);
}

struct zn_dataset *zn_dataset_open(const struct zn_dataset_options *o, struct zn_error *err)
{
    struct zn_dataset *ds;
    int rc = -1;

    if (check_options(o, err) < 0)
        return NULL;
    ds = calloc(1, sizeof(*ds));
    if (!ds) {
        zn_fail(err, "out of memory opening %s", o->path);
        return NULL;
    }
    ds->format = o->format;
    ds->item_bytes = 1;
    ds->max_extents = 1;
    switch (o->format) {
    case ZN_FORMAT_TOKENS:
        rc = zn_tokens_open(ds, o, err);
        break;
    case ZN_FORMAT_MEGATRON:
        rc = zn_megatron_open(ds, o, err);
        break;
    case ZN_FORMAT_TAR:
        rc = zn_tar_open(ds, o, err);
        break;
    case ZN_FORMAT_RECORDS:
        rc = zn_records_open(ds, o, err);
        break;
    }
    if (rc < 0) {
        zn_dataset_close(ds);
        return NULL;
    }
    return ds;
}

void zn_dataset_close(struct zn_dataset *ds)
{
    int saved_errno = errno;

    if (!ds)
        return;
    zn_megatron_release(ds);
    zn_tar_release(ds);
    for (unsigned i = 0; i < ds->nfiles; i++) {
        close(ds->fds[i]);
        free(ds->paths[i]);
    }
    free(ds->fds);
    free(ds->paths);
    free(ds);
    errno = saved_errno;
}

enum zn_format zn_dataset_format(const struct zn_dataset *ds)
{
    return ds->format;
}

uint64_t zn_dataset_samples(const struct zn_dataset *ds)
{
    return ds->samples;
}

uint64_t zn_dataset_epoch_samples(const struct zn_dataset *ds)
{
    return ds->epoch_samples;
}

uint64_t zn_dataset_max_sample_bytes(const struct zn_dataset *ds)
{
    return ds->max_sample_bytes;
}

uint64_t zn_dataset_total_bytes(const struct zn_dataset *ds)
{
    return ds->total_bytes;
}

unsigned zn_dataset_max_extents(const struct zn_dataset *ds)
{
    return ds->max_extents;
}

unsigned zn_dataset_item_bytes(const struct zn_dataset *ds)
{
    return ds->item_bytes;
}

unsigned zn_dataset_files(const struct zn_dataset *ds)
{
    return ds->nfiles;
}

int zn_dataset_fd(const struct zn_dataset *ds, unsigned file)
{
    return file < ds->nfiles ? ds->fds[file] : -1;
}

const char *zn_dataset_file_name(const struct zn_dataset *ds, unsigned file)
{
    return file < ds->nfiles ? ds->paths[file] : NULL;
}

int zn_dataset_extents(const struct zn_dataset *ds, uint64_t sample, struct zn_extent *ext,
                       unsigned max)
{
    if (sample >= ds->samples)
        return -1;
    switch (ds->format) {
    case ZN_FORMAT_TOKENS:
    case ZN_FORMAT_MEGATRON:
        return zn_window_extents(ds, sample, ext, max);
    case ZN_FORMAT_TAR:
        return zn_tar_extents(ds, sample, ext, max);
    case ZN_FORMAT_RECORDS:
        return zn_records_extents(ds, sample, ext, max);
    }
    return -1;
}

int zn_dataset_fields(const struct zn_dataset *ds, uint64_t sample, struct zn_field *fields,
                      unsigned max)
{
    if (ds->format != ZN_FORMAT_TAR || sample >= ds->samples)
        return -1;
    return zn_tar_fields(ds, sample, fields, max);
}

unsigned zn_dataset_shards(const struct zn_dataset *ds)
{
    return ds->format == ZN_FORMAT_TAR ? ds->nfiles : 1;
}

uint64_t zn_dataset_shard_first(const struct zn_dataset *ds, unsigned shard)
{
    if (shard >= zn_dataset_shards(ds))
        return ds->samples;
    return ds->format == ZN_FORMAT_TAR ? ds->tar.shard_first[shard] : 0;
}
