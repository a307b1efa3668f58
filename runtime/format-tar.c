/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/dataset-impl.h"

/* WebDataset shards: tar archives indexed at open by walking their headers (one pread per
 * header's page, data skipped). Read the way GNU tar writes them (ustar, GNU, pax) and the way
 * WebDataset groups them:
 * - names: pax 'x' path= over GNU 'L' long names over the header's prefix/name; pax 'g' global
 *   path= and size= apply to every later member (as Python's tarfile applies them);
 * - only regular files ('0', NUL, '7') become fields; directories, links, devices, FIFOs and
 *   unknown types are skipped, as WebDataset skips what is not a regular file; so are names
 *   without a dot in the file name or starting with one, which have no key (WebDataset skips
 *   them too), and WebDataset's own metadata (a first path component such as __meta__); GNU
 *   sparse and multi-volume members are refused (their data is not the file);
 * - a sample is the run of consecutive members with one key; a field name twice in a run is an
 *   error (WebDataset raises too);
 * - the end: two zero blocks, or one (GNU tar accepts a lone zero block: every member before
 *   it is complete). A file that ends after a member without any zero block is refused: it
 *   cannot be told from an archive cut at a member boundary, which would be a short epoch. */

#define BLOCK 512
/* Headers are read a page at a time, so the small members of a sample (labels, JSON) usually
 * cost no extra read. */
#define PAGE 4096
/* Long names and pax headers are read whole; anything larger is not a name. */
#define EXTENDED_MAX (1u << 20)
#define SHARDS_MAX   (1u << 20)

struct header_reader {
    int fd;
    const char *path;
    uint64_t size;
    unsigned char page[PAGE];
    uint64_t page_at;
    size_t page_len;
};

/* Extended headers' effect on the next member (pax 'x', GNU 'L'), and pax globals ('g'). */
struct pending {
    char *pax_path, *long_name, *global_path;
    bool has_size, has_global_size;
    uint64_t size, global_size;
    uint64_t first_extension; /* offset of the first extended header, for messages */
    bool any;
};

struct builder {
    struct zn_tar *tar;
    uint64_t samples, cap_samples, cap_fields;
    uint32_t cap_names;
    uint32_t *slots; /* name hash: id+1, 0 = empty */
    uint32_t nslots;
    char *key; /* key of the sample being built in this shard, NULL at a shard's start */
    size_t key_cap;
    uint64_t sample_bytes, max_sample_bytes, total_bytes;
    uint64_t max_fields;
};

static int read_exact(struct header_reader *r, void *buf, size_t len, uint64_t offset,
                      struct zn_error *err)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = pread(r->fd, (char *)buf + got, len - got, (off_t)(offset + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return zn_fail(err, "cannot read %s at offset %" PRIu64 ": %s", r->path, offset + got,
                           strerror(errno));
        if (n == 0)
            return zn_fail(err, "%s shrank while being indexed (end at offset %" PRIu64 ")",
                           r->path, offset + got);
        got += (size_t)n;
    }
    return 0;
}

/* The 512-byte block at offset (which is inside the file). */
static const unsigned char *block_at(struct header_reader *r, uint64_t offset, struct zn_error *err)
{
    if (r->page_len == 0 || offset < r->page_at || offset + BLOCK > r->page_at + r->page_len) {
        uint64_t want = r->size - offset < PAGE ? r->size - offset : PAGE;
        if (read_exact(r, r->page, (size_t)want, offset, err) < 0)
            return NULL;
        r->page_at = offset;
        r->page_len = (size_t)want;
    }
    return r->page + (offset - r->page_at);
}

static bool all_zero(const unsigned char *b)
{
    for (unsigned i = 0; i < BLOCK; i++)
        if (b[i])
            return false;
    return true;
}

/* Octal with optional leading spaces and a space/NUL end, or GNU's base-256 (high bit of the
 * first byte set) for sizes of 8 GiB and more. */
static bool parse_numeric(const unsigned char *field, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;

    if (field[0] & 0x80) {
        if (field[0] & 0x40)
            return false; /* negative */
        v = field[0] & 0x3f;
        for (i = 1; i < len; i++) {
            if (v >> 56)
                return false;
            v = (v << 8) | field[i];
        }
        *out = v;
        return true;
    }
    while (i < len && field[i] == ' ')
        i++;
    if (i == len || field[i] < '0' || field[i] > '7')
        return false;
    for (; i < len && field[i] >= '0' && field[i] <= '7'; i++) {
        if (v >> 61)
            return false;
        v = (v << 3) | (uint64_t)(field[i] - '0');
    }
    for (; i < len; i++)
        if (field[i] != ' ' && field[i] != '\0')
            return false;
    *out = v;
    return true;
}

static int check_checksum(const struct header_reader *r, const unsigned char *h, uint64_t offset,
                          struct zn_error *err)
{
    uint64_t stored;
    unsigned long sum = 0;
    long signed_sum = 0;

    for (unsigned i = 0; i < BLOCK; i++) {
        unsigned char c = i >= 148 && i < 156 ? ' ' : h[i];
        sum += c;
        signed_sum += (signed char)c;
    }
    if (!parse_numeric(h + 148, 8, &stored))
        return zn_fail(err,
                       "%s: the header at offset %" PRIu64 " has no valid checksum; the file is "
                       "damaged or not a tar archive",
                       r->path, offset);
    /* Some old tars summed signed chars; POSIX says unsigned. Either is a checksum. */
    if (stored != sum && (long long)stored != signed_sum)
        return zn_fail(err,
                       "%s: bad header checksum at offset %" PRIu64 " (stored %" PRIu64
                       ", computed %lu); the file is damaged (a partial copy?)",
                       r->path, offset, stored, sum);
    return 0;
}

static char *read_extended(struct header_reader *r, uint64_t data_at, uint64_t size,
                           uint64_t header_at, struct zn_error *err)
{
    char *text;

    if (size > EXTENDED_MAX) {
        zn_fail(err,
                "%s: the extended header at offset %" PRIu64 " is %" PRIu64 " bytes, more "
                "than the %u a name needs; the file is damaged",
                r->path, header_at, size, EXTENDED_MAX);
        return NULL;
    }
    text = malloc(size + 1);
    if (!text) {
        zn_fail(err, "out of memory indexing %s", r->path);
        return NULL;
    }
    if (read_exact(r, text, (size_t)size, data_at, err) < 0) {
        free(text);
        return NULL;
    }
    text[size] = '\0';
    return text;
}

/* pax records: "LEN KEY=VALUE\n", LEN counting the whole record. */
static int parse_pax(struct header_reader *r, const char *text, uint64_t size, bool global,
                     struct pending *p, uint64_t header_at, struct zn_error *err)
{
    uint64_t at = 0;

    while (at < size) {
        const char *rec = text + at, *key, *eq, *value;
        uint64_t len = 0;
        size_t digits = 0;

        while (at + digits < size && rec[digits] >= '0' && rec[digits] <= '9' && len < size)
            len = len * 10 + (uint64_t)(rec[digits++] - '0');
        if (digits == 0 || len <= digits + 1 || len > size - at || rec[digits] != ' ' ||
            rec[len - 1] != '\n')
            return zn_fail(err,
                           "%s: malformed pax record at byte %" PRIu64 " of the extended "
                           "header at offset %" PRIu64 "; the file is damaged",
                           r->path, at, header_at);
        key = rec + digits + 1;
        eq = memchr(key, '=', (size_t)(rec + len - 1 - key));
        if (!eq)
            return zn_fail(err,
                           "%s: pax record without '=' at byte %" PRIu64 " of the extended "
                           "header at offset %" PRIu64,
                           r->path, at, header_at);
        value = eq + 1;
        size_t key_len = (size_t)(eq - key), value_len = (size_t)(rec + len - 1 - value);
        if (key_len == 4 && memcmp(key, "path", 4) == 0) {
            char **slot = global ? &p->global_path : &p->pax_path;
            free(*slot);
            *slot = strndup(value, value_len);
            if (!*slot)
                return zn_fail(err, "out of memory indexing %s", r->path);
        } else if (key_len == 4 && memcmp(key, "size", 4) == 0) {
            uint64_t v = 0;
            size_t i = 0;
            for (; i < value_len && value[i] >= '0' && value[i] <= '9' && v < (1ULL << 59); i++)
                v = v * 10 + (uint64_t)(value[i] - '0');
            if (i == 0 || i != value_len)
                return zn_fail(err,
                               "%s: pax size \"%.*s\" in the extended header at offset %" PRIu64
                               " is not a size",
                               r->path, (int)value_len, value, header_at);
            if (global) {
                p->has_global_size = true;
                p->global_size = v;
            } else {
                p->has_size = true;
                p->size = v;
            }
        } else if (key_len > 11 && memcmp(key, "GNU.sparse.", 11) == 0) {
            return zn_fail(err,
                           "%s: the member after offset %" PRIu64 " is a GNU sparse file, whose "
                           "data is not stored as is; rebuild the shard without --sparse",
                           r->path, header_at);
        }
        at += len;
    }
    return 0;
}

static void clear_member(struct pending *p)
{
    free(p->pax_path);
    free(p->long_name);
    p->pax_path = p->long_name = NULL;
    p->has_size = false;
    p->any = false;
}

/* prefix/name of a ustar header (GNU headers use the prefix field for times). */
static char *header_name(const unsigned char *h)
{
    size_t name_len = strnlen((const char *)h, 100);
    char *name;

    if (memcmp(h + 257, "ustar\0", 6) == 0 && h[345]) {
        size_t prefix_len = strnlen((const char *)h + 345, 155);
        if (asprintf(&name, "%.*s/%.*s", (int)prefix_len, h + 345, (int)name_len, h) < 0)
            return NULL;
        return name;
    }
    return strndup((const char *)h, name_len);
}

/* array with room for need elements (doubling), or NULL with array left as it was. */
static void *grow(void *array, uint64_t *cap, uint64_t need, size_t elem)
{
    uint64_t ncap = *cap ? *cap : 1024;
    void *grown;

    if (need <= *cap)
        return array;
    while (ncap < need)
        ncap *= 2;
    if (ncap > SIZE_MAX / elem)
        return NULL;
    grown = realloc(array, (size_t)ncap * elem);
    if (grown)
        *cap = ncap;
    return grown;
}

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The id of a field name, adding it the first time. */
static int intern(struct builder *b, const char *name, uint32_t *id)
{
    struct zn_tar *t = b->tar;
    uint32_t i;

    if ((uint64_t)(t->nnames + 1) * 2 > b->nslots) {
        uint32_t nslots = b->nslots ? b->nslots * 2 : 64;
        uint32_t *slots = calloc(nslots, sizeof(*slots));
        if (!slots)
            return -1;
        for (uint32_t n = 0; n < t->nnames; n++) {
            for (i = hash_name(t->names[n]) & (nslots - 1); slots[i]; i = (i + 1) & (nslots - 1))
                ;
            slots[i] = n + 1;
        }
        free(b->slots);
        b->slots = slots;
        b->nslots = nslots;
    }
    for (i = hash_name(name) & (b->nslots - 1); b->slots[i]; i = (i + 1) & (b->nslots - 1)) {
        if (strcmp(t->names[b->slots[i] - 1], name) == 0) {
            *id = b->slots[i] - 1;
            return 0;
        }
    }
    if (t->nnames == b->cap_names) {
        uint32_t ncap = b->cap_names ? b->cap_names * 2 : 16;
        char **names = realloc(t->names, ncap * sizeof(*names));
        if (!names)
            return -1;
        t->names = names;
        b->cap_names = ncap;
    }
    t->names[t->nnames] = strdup(name);
    if (!t->names[t->nnames])
        return -1;
    b->slots[i] = t->nnames + 1;
    *id = t->nnames++;
    return 0;
}

static void end_sample(struct builder *b)
{
    if (b->sample_bytes > b->max_sample_bytes)
        b->max_sample_bytes = b->sample_bytes;
    b->sample_bytes = 0;
}

/* WebDataset's metadata members (its skip_meta, "__[^/]*__($|/)"): a first path component
 * like __meta__. */
static bool is_meta(const char *name)
{
    size_t first = strcspn(name, "/");
    return first >= 4 && name[0] == '_' && name[1] == '_' && name[first - 1] == '_' &&
           name[first - 2] == '_';
}

/* A regular member: a field of the current sample or the first of a new one. */
static int add_member(struct builder *b, struct header_reader *r, const char *name,
                      uint64_t header_at, uint64_t data_at, uint64_t size, struct zn_error *err)
{
    struct zn_tar *t = b->tar;
    const char *slash = strrchr(name, '/'), *base = slash ? slash + 1 : name;
    const char *dot = strchr(base, '.');
    size_t key_len;
    uint32_t id;

    if (!dot || dot == base || is_meta(name))
        return 0;
    key_len = (size_t)(dot - name);
    if (!b->key || strlen(b->key) != key_len || memcmp(b->key, name, key_len) != 0) {
        if (key_len + 1 > b->key_cap) {
            char *key = realloc(b->key, key_len + 1);
            if (!key)
                return zn_fail(err, "out of memory indexing %s", r->path);
            b->key = key;
            b->key_cap = key_len + 1;
        }
        memcpy(b->key, name, key_len);
        b->key[key_len] = '\0';
        end_sample(b);
        uint64_t *first = grow(t->sample_first, &b->cap_samples, b->samples + 1, sizeof(*first));
        if (!first)
            return zn_fail(err, "out of memory indexing %s", r->path);
        t->sample_first = first;
        t->sample_first[b->samples++] = t->nfields;
    }
    if (intern(b, dot + 1, &id) < 0)
        return zn_fail(err, "out of memory indexing %s", r->path);
    for (uint64_t f = t->sample_first[b->samples - 1]; f < t->nfields; f++)
        if (t->fields[f].name == id)
            return zn_fail(err,
                           "%s: member %s at offset %" PRIu64 " repeats field \"%s\" of sample "
                           "\"%s\"; a sample's members must have different names",
                           r->path, name, header_at, dot + 1, b->key);
    if (data_at / BLOCK > UINT32_MAX)
        return zn_fail(err,
                       "%s: member %s at offset %" PRIu64 " lies beyond 2 TiB; split the shard "
                       "into smaller ones",
                       r->path, name, header_at);
    struct zn_tar_field *fields = grow(t->fields, &b->cap_fields, t->nfields + 1, sizeof(*fields));
    if (!fields)
        return zn_fail(err, "out of memory indexing %s", r->path);
    t->fields = fields;
    t->fields[t->nfields++] = (struct zn_tar_field){(uint32_t)(data_at / BLOCK), id, size};
    if (t->nfields - t->sample_first[b->samples - 1] > b->max_fields)
        b->max_fields = t->nfields - t->sample_first[b->samples - 1];
    b->sample_bytes += size;
    b->total_bytes += size;
    return 0;
}

/* After a first zero block at offset: the end, if what follows is a second zero block or
 * nothing. */
static int check_end(struct header_reader *r, uint64_t offset, const struct pending *p,
                     struct zn_error *err)
{
    const unsigned char *next;

    if (p->any)
        return zn_fail(err,
                       "%s: the extended header at offset %" PRIu64 " is followed by the end of "
                       "the archive (offset %" PRIu64 ") instead of a member; the file is damaged",
                       r->path, p->first_extension, offset);
    if (offset + BLOCK == r->size)
        return 0;
    if (offset + 2 * BLOCK > r->size)
        return zn_fail(err,
                       "%s is truncated: the end-of-archive marker at offset %" PRIu64
                       " is cut short (the file ends at offset %" PRIu64 ")",
                       r->path, offset, r->size);
    next = block_at(r, offset + BLOCK, err);
    if (!next)
        return -1;
    if (!all_zero(next))
        return zn_fail(err,
                       "%s: a lone zero block at offset %" PRIu64 " is followed by more data; "
                       "archives joined with cat are not supported (join them with tar -A, or "
                       "keep them as separate shards)",
                       r->path, offset);
    return 0;
}

static int index_shard(struct builder *b, struct header_reader *r, struct zn_error *err)
{
    struct pending p = {0};
    uint64_t offset = 0;
    int rc = -1;

    free(b->key);
    b->key = NULL;
    b->key_cap = 0;
    for (;;) {
        const unsigned char *h;
        uint64_t size, data_at, end;
        char type, *name = NULL;

        if (offset == r->size) {
            zn_fail(err,
                    "%s ends at offset %" PRIu64 " without the end-of-archive marker (two zero "
                    "blocks): it may have been cut at a member boundary; copy it again",
                    r->path, offset);
            goto out;
        }
        if (offset + BLOCK > r->size) {
            zn_fail(err,
                    "%s is truncated: a partial header at offset %" PRIu64 " (the file ends "
                    "at offset %" PRIu64 ")",
                    r->path, offset, r->size);
            goto out;
        }
        h = block_at(r, offset, err);
        if (!h)
            goto out;
        if (all_zero(h)) {
            rc = check_end(r, offset, &p, err);
            goto out;
        }
        if (check_checksum(r, h, offset, err) < 0)
            goto out;
        type = (char)h[156];
        if (!parse_numeric(h + 124, 12, &size)) {
            zn_fail(err,
                    "%s: the header at offset %" PRIu64 " has no valid size; the file is "
                    "damaged",
                    r->path, offset);
            goto out;
        }
        if (p.has_size && type != 'x' && type != 'g')
            size = p.size;
        else if (p.has_global_size && type != 'x' && type != 'g')
            size = p.global_size;
        data_at = offset + BLOCK;
        if (size > r->size - data_at) {
            char *shown = header_name(h);
            zn_fail(err,
                    "%s is truncated: member %s at offset %" PRIu64 " has %" PRIu64 " bytes of "
                    "data but the file ends at offset %" PRIu64 "; copy it again",
                    r->path,
                    p.pax_path    ? p.pax_path
                    : p.long_name ? p.long_name
                    : shown       ? shown
                                  : "?",
                    offset, size, r->size);
            free(shown);
            goto out;
        }
        end = data_at + (size + BLOCK - 1) / BLOCK * BLOCK;
        if (end > r->size)
            end = r->size; /* the last member's padding cut: its data is whole */
        switch (type) {
        case 'x':
        case 'g': {
            char *text = read_extended(r, data_at, size, offset, err);
            int parsed;
            if (!text)
                goto out;
            parsed = parse_pax(r, text, size, type == 'g', &p, offset, err);
            free(text);
            if (parsed < 0)
                goto out;
            if (type == 'x' && !p.any) {
                p.any = true;
                p.first_extension = offset;
            }
            break;
        }
        case 'L':
            free(p.long_name);
            p.long_name = read_extended(r, data_at, size, offset, err);
            if (!p.long_name)
                goto out;
            if (!p.any) {
                p.any = true;
                p.first_extension = offset;
            }
            break;
        case 'K':
            if (!p.any) {
                p.any = true;
                p.first_extension = offset;
            }
            break;
        case 'S':
        case 'M':
            zn_fail(err,
                    "%s: the member at offset %" PRIu64 " is a GNU %s member, whose data is "
                    "not stored as is; rebuild the shard without --%s",
                    r->path, offset, type == 'S' ? "sparse" : "multi-volume",
                    type == 'S' ? "sparse" : "multi-volume");
            goto out;
        case '0':
        case '\0':
        case '7':
            if (p.pax_path)
                name = strdup(p.pax_path);
            else if (p.long_name)
                name = strdup(p.long_name);
            else if (p.global_path)
                name = strdup(p.global_path);
            else
                name = header_name(h);
            if (!name) {
                zn_fail(err, "out of memory indexing %s", r->path);
                goto out;
            }
            if (name[0] && name[strlen(name) - 1] != '/' &&
                add_member(b, r, name, offset, data_at, size, err) < 0) {
                free(name);
                goto out;
            }
            free(name);
            clear_member(&p);
            break;
        default: /* directories, links, devices, FIFOs, volume labels: no field */
            clear_member(&p);
            break;
        }
        offset = end;
    }
out:
    clear_member(&p);
    free(p.global_path);
    return rc;
}

static int index_shards(struct zn_dataset *ds, const char *pattern, char **names, size_t count,
                        bool direct, struct zn_error *err)
{
    struct zn_tar *t = &ds->tar;
    struct builder b = {.tar = t};
    struct header_reader *r = malloc(sizeof(*r));
    int rc = -1;

    t->shard_first = calloc(count + 1, sizeof(*t->shard_first));
    if (!r || !t->shard_first) {
        zn_fail(err, "out of memory indexing %s", names[0]);
        goto out;
    }
    for (size_t s = 0; s < count; s++) {
        uint64_t size;
        int file = zn_dataset_add_file(ds, names[s], direct, &size, err);
        int meta = -1, indexed;

        if (file < 0) {
            if (count > 1)
                zn_error_append(err, " (shard %zu of the %zu named by %s)", s + 1, count, pattern);
            goto out;
        }
        if (direct) {
            meta = zn_dataset_open_meta(names[s], &size, err);
            if (meta < 0)
                goto out;
        }
        *r = (struct header_reader){
            .fd = direct ? meta : ds->fds[file], .path = names[s], .size = size};
        t->shard_first[s] = b.samples;
        end_sample(&b);
        indexed = index_shard(&b, r, err);
        if (meta >= 0)
            close(meta);
        if (indexed < 0)
            goto out;
    }
    end_sample(&b);
    t->shard_first[count] = b.samples;
    if (b.samples == 0) {
        zn_fail(err,
                "%s%s holds no samples: no regular member has a key.field name (e.g. "
                "000001.jpg)",
                names[0], count > 1 ? " and the other shards" : "");
        goto out;
    }
    uint64_t *first = grow(t->sample_first, &b.cap_samples, b.samples + 1, sizeof(*first));
    if (!first) {
        zn_fail(err, "out of memory indexing %s", names[0]);
        goto out;
    }
    t->sample_first = first;
    t->sample_first[b.samples] = t->nfields;
    ds->samples = ds->epoch_samples = b.samples;
    ds->max_sample_bytes = b.max_sample_bytes;
    ds->total_bytes = b.total_bytes;
    ds->max_extents = b.max_fields > UINT32_MAX ? UINT32_MAX : (unsigned)b.max_fields;
    rc = 0;
out:
    free(r);
    free(b.slots);
    free(b.key);
    return rc;
}

int zn_tar_open(struct zn_dataset *ds, const struct zn_dataset_options *o, struct zn_error *err)
{
    size_t count;
    char **names = zn_brace_expand(o->path, SHARDS_MAX, &count, err);
    int rc;

    if (!names)
        return -1;
    rc = index_shards(ds, o->path, names, count, o->direct, err);
    zn_brace_free(names, count);
    return rc;
}

void zn_tar_release(struct zn_dataset *ds)
{
    struct zn_tar *t = &ds->tar;

    for (uint32_t i = 0; i < t->nnames; i++)
        free(t->names[i]);
    free(t->names);
    free(t->fields);
    free(t->sample_first);
    free(t->shard_first);
    memset(t, 0, sizeof(*t));
}

/* The shard of a sample: the last s with shard_first[s] <= sample. */
static unsigned sample_shard(const struct zn_dataset *ds, uint64_t sample)
{
    const uint64_t *first = ds->tar.shard_first;
    unsigned lo = 0, hi = ds->nfiles;

    while (hi - lo > 1) {
        unsigned mid = lo + (hi - lo) / 2;
        if (first[mid] <= sample)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Where field i of a sample is; the samples' fields are its extents. */
static struct zn_extent field_extent(const struct zn_dataset *ds, unsigned shard, uint64_t field)
{
    const struct zn_tar_field *f = &ds->tar.fields[field];
    return (struct zn_extent){shard, (uint64_t)f->block * BLOCK, f->size};
}

int zn_tar_extents(const struct zn_dataset *ds, uint64_t sample, struct zn_extent *ext,
                   unsigned max)
{
    uint64_t first = ds->tar.sample_first[sample], n = ds->tar.sample_first[sample + 1] - first;
    unsigned shard = sample_shard(ds, sample);

    for (uint64_t i = 0; i < n && i < max; i++)
        ext[i] = field_extent(ds, shard, first + i);
    return (int)n;
}

int zn_tar_fields(const struct zn_dataset *ds, uint64_t sample, struct zn_field *fields,
                  unsigned max)
{
    const struct zn_tar *t = &ds->tar;
    uint64_t first = t->sample_first[sample], n = t->sample_first[sample + 1] - first;
    unsigned shard = sample_shard(ds, sample);

    for (uint64_t i = 0; i < n && i < max; i++)
        fields[i] = (struct zn_field){t->names[t->fields[first + i].name],
                                      field_extent(ds, shard, first + i)};
    return (int)n;
}
