/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Readers of the Philly trace and machine list (trace.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/trace.h"
#include "runtime/parse.h"

static const char *const machine_header[] = {"machineId", "number of GPUs", "single GPU mem"};
static const char *const trace_header[] = {
    "job_id",   "user",     "num_gpu",          "submit_time",       "iterations",  "model_name",
    "duration", "interval", "expect_time_list", "expect_value_list", "best_effort", "job_type"};
#define MACHINE_FIELDS (sizeof(machine_header) / sizeof(machine_header[0]))
#define TRACE_FIELDS   (sizeof(trace_header) / sizeof(trace_header[0]))

int grow_for_one(void *array, size_t *cap, size_t count, size_t size, size_t first)
{
    void **items = array;
    size_t ncap;
    void *p;

    if (count < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : first;
    p = realloc(*items, ncap * size);
    if (!p)
        return -1;
    *items = p;
    *cap = ncap;
    return 0;
}

/* ------------------------------------------------------------------ CSV input */

struct csv {
    FILE *f;
    const char *path;
    unsigned line;
    char *buf;
    size_t cap;
};

static void csv_close(struct csv *c)
{
    if (c->f)
        fclose(c->f);
    free(c->buf);
    memset(c, 0, sizeof(*c));
}

static char *trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    return s;
}

/* The next line split at commas into exactly want trimmed fields: 1 for a line, 0 at the end. */
static int csv_next(struct csv *c, char **fields, size_t want, struct zn_error *err)
{
    ssize_t got;
    size_t count = 0;
    char *p;

    errno = 0;
    got = getline(&c->buf, &c->cap, c->f);
    if (got < 0) {
        if (ferror(c->f))
            return zn_fail(err, "cannot read %s: %s", c->path, strerror(errno));
        return 0;
    }
    c->line++;
    if ((size_t)got != strlen(c->buf))
        return zn_fail(err, "%s:%u: a NUL byte; is this a CSV file?", c->path, c->line);
    if (got > 0 && c->buf[got - 1] == '\n')
        c->buf[--got] = '\0';
    if (got > 0 && c->buf[got - 1] == '\r')
        c->buf[--got] = '\0';
    if (got == 0)
        return zn_fail(err, "%s:%u: empty line; remove it", c->path, c->line);
    if (strchr(c->buf, '"'))
        return zn_fail(err, "%s:%u: quoted fields are not supported; write plain values", c->path,
                       c->line);
    for (p = c->buf;;) {
        char *comma = strchr(p, ',');

        if (comma)
            *comma = '\0';
        if (count < want)
            fields[count] = trim(p);
        count++;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (count != want)
        return zn_fail(err, "%s:%u: %zu fields where %zu belong; fix the line", c->path, c->line,
                       count, want);
    return 1;
}

static int check_header(struct csv *c, const char *const *names, size_t count, struct zn_error *err)
{
    char *fields[TRACE_FIELDS];
    int rc = csv_next(c, fields, count, err);

    if (rc == 0)
        return zn_fail(err, "%s is empty; it needs a header and rows", c->path);
    if (rc < 0)
        return -1;
    for (size_t i = 0; i < count; i++)
        if (strcmp(fields[i], names[i]) != 0)
            return zn_fail(err,
                           "%s:1: column %zu is \"%s\", not \"%s\"; is this the right "
                           "file?",
                           c->path, i + 1, fields[i], names[i]);
    return 0;
}

/* Open a CSV file and check its header against names; c is safe to csv_close either way. */
static int csv_open(struct csv *c, const char *path, const char *const *names, size_t count,
                    struct zn_error *err)
{
    memset(c, 0, sizeof(*c));
    c->path = path;
    c->f = fopen(path, "r");
    if (!c->f)
        return zn_fail(err, "cannot read %s: %s; pass the machine list and the trace", path,
                       strerror(errno));
    return check_header(c, names, count, err);
}

/* A whole field of digits, at most max. */
static int field_number(struct csv *c, const char *name, const char *text, uint64_t max,
                        uint64_t *out, struct zn_error *err)
{
    const char *p = text;

    if (zn_parse_digits(&p, out) < 0 || *p || *out > max)
        return zn_fail(err,
                       "%s:%u: %s \"%s\" is not a whole number up to %" PRIu64 "; fix the line",
                       c->path, c->line, name, text, max);
    return 0;
}

static int field_present(struct csv *c, const char *name, const char *text, struct zn_error *err)
{
    if (!*text)
        return zn_fail(err, "%s:%u: %s is empty; fill it in", c->path, c->line, name);
    return 0;
}

/* ------------------------------------------------------------------ machine list */

void machines_free(struct machines *m)
{
    for (size_t i = 0; i < m->count; i++)
        free(m->list[i].name);
    free(m->list);
    memset(m, 0, sizeof(*m));
}

/* Names go into generated topology.conf host lists, where brackets and commas mean something. */
static bool plain_host_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return false;
    return true;
}

static bool memory_size(const char *s)
{
    const char *p = s;
    uint64_t v;

    if (zn_parse_digits(&p, &v) < 0)
        return false;
    return strcmp(p, "KB") == 0 || strcmp(p, "MB") == 0 || strcmp(p, "GB") == 0 ||
           strcmp(p, "TB") == 0;
}

int read_machines(const char *path, struct machines *m, struct zn_error *err)
{
    struct csv c;
    size_t cap = 0;
    int rc = -1, got;

    memset(m, 0, sizeof(*m));
    m->path = path;
    if (csv_open(&c, path, machine_header, MACHINE_FIELDS, err) < 0)
        goto out;
    for (;;) {
        char *f[MACHINE_FIELDS];
        uint64_t gpus;

        got = csv_next(&c, f, MACHINE_FIELDS, err);
        if (got < 0)
            goto out;
        if (got == 0)
            break;
        if (!plain_host_name(f[0])) {
            zn_fail(err,
                    "%s:%u: machine name \"%s\" is not a plain host name (letters, "
                    "digits, '-', '_', '.')",
                    path, c.line, f[0]);
            goto out;
        }
        if (field_number(&c, "number of GPUs", f[1], TRACE_MAX_NODE_GPUS, &gpus, err) < 0)
            goto out;
        if (gpus == 0) {
            zn_fail(err, "%s:%u: machine %s has no GPUs; leave it out of the list", path, c.line,
                    f[0]);
            goto out;
        }
        if (!memory_size(f[2])) {
            zn_fail(err, "%s:%u: GPU memory \"%s\" is not a size like 12GB", path, c.line, f[2]);
            goto out;
        }
        if (grow_for_one(&m->list, &cap, m->count, sizeof(*m->list), 256) < 0) {
            zn_fail(err, "out of memory reading %s", path);
            goto out;
        }
        m->list[m->count].name = strdup(f[0]);
        if (!m->list[m->count].name) {
            zn_fail(err, "out of memory reading %s", path);
            goto out;
        }
        m->list[m->count].gpus = (unsigned)gpus;
        m->list[m->count].line = c.line;
        m->count++;
        if (gpus > m->max_gpus)
            m->max_gpus = (unsigned)gpus;
    }
    if (m->count == 0) {
        zn_fail(err, "%s lists no machines; the simulation needs a cluster", path);
        goto out;
    }
    rc = 0;
out:
    csv_close(&c);
    if (rc < 0)
        machines_free(m);
    return rc;
}

int uniform_machines(const char *label, const char *prefix, size_t count, unsigned gpus,
                     struct machines *m, struct zn_error *err)
{
    memset(m, 0, sizeof(*m));
    m->path = label;
    if (count == 0 || gpus == 0 || gpus > TRACE_MAX_NODE_GPUS)
        return zn_fail(err, "%s needs at least one node with 1 to %u GPUs", label,
                       TRACE_MAX_NODE_GPUS);
    m->list = calloc(count, sizeof(*m->list));
    if (!m->list)
        return zn_fail(err, "out of memory describing %s", label);
    for (size_t i = 0; i < count; i++) {
        char name[64];

        snprintf(name, sizeof(name), "%s%zu", prefix, i + 1);
        m->list[i].name = strdup(name);
        if (!m->list[i].name) {
            m->count = i;
            machines_free(m);
            return zn_fail(err, "out of memory describing %s", label);
        }
        m->list[i].gpus = gpus;
    }
    m->count = count;
    m->max_gpus = gpus;
    return 0;
}

/* ------------------------------------------------------------------ trace */

static int compare_job_id(const void *a, const void *b)
{
    const struct job *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static int compare_job_submit(const void *a, const void *b)
{
    const struct job *x = a, *y = b;

    if (x->submit != y->submit)
        return x->submit < y->submit ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

int read_trace(const char *path, size_t limit, unsigned compress, struct trace *t,
               struct zn_error *err)
{
    struct csv c;
    size_t cap = 0;
    int rc = -1, got;

    memset(t, 0, sizeof(*t));
    t->path = path;
    if (csv_open(&c, path, trace_header, TRACE_FIELDS, err) < 0)
        goto out;
    while (!limit || t->rows < limit) {
        char *f[TRACE_FIELDS];
        uint64_t id, gpus, submit, duration, v;
        struct job *j;

        got = csv_next(&c, f, TRACE_FIELDS, err);
        if (got < 0)
            goto out;
        if (got == 0)
            break;
        t->rows++;
        if (field_number(&c, "job_id", f[0], UINT64_MAX, &id, err) < 0 ||
            field_present(&c, "user", f[1], err) < 0 ||
            field_number(&c, "num_gpu", f[2], TRACE_MAX_JOB_GPUS, &gpus, err) < 0 ||
            field_number(&c, "submit_time", f[3], TRACE_MAX_SECONDS, &submit, err) < 0 ||
            field_number(&c, "iterations", f[4], UINT64_MAX, &v, err) < 0 ||
            field_present(&c, "model_name", f[5], err) < 0 ||
            field_number(&c, "duration", f[6], TRACE_MAX_SECONDS, &duration, err) < 0 ||
            field_number(&c, "interval", f[7], UINT64_MAX, &v, err) < 0 ||
            field_present(&c, "expect_time_list", f[8], err) < 0 ||
            field_present(&c, "expect_value_list", f[9], err) < 0 ||
            field_number(&c, "best_effort", f[10], 1, &v, err) < 0 ||
            field_present(&c, "job_type", f[11], err) < 0)
            goto out;
        if (gpus == 0) {
            /* CPU-only jobs do not take part in GPU placement. */
            t->zero_gpu++;
            continue;
        }
        if (grow_for_one(&t->jobs, &cap, t->count, sizeof(*t->jobs), 4096) < 0) {
            zn_fail(err, "out of memory reading %s", path);
            goto out;
        }
        j = &t->jobs[t->count++];
        *j = (struct job){.id = id,
                          .gpus = (unsigned)gpus,
                          .submit = submit / compress,
                          .duration = duration,
                          .line = c.line};
    }
    if (t->count == 0) {
        zn_fail(err, "%s has no job with GPUs; nothing to simulate", path);
        goto out;
    }
    /* Job ids name jobs in messages and break ties in the queue: they must be unique. */
    qsort(t->jobs, t->count, sizeof(*t->jobs), compare_job_id);
    for (size_t i = 1; i < t->count; i++) {
        if (t->jobs[i].id == t->jobs[i - 1].id) {
            zn_fail(err, "%s:%u: job_id %" PRIu64 " is also on line %u; ids must be unique", path,
                    t->jobs[i].line > t->jobs[i - 1].line ? t->jobs[i].line : t->jobs[i - 1].line,
                    t->jobs[i].id,
                    t->jobs[i].line > t->jobs[i - 1].line ? t->jobs[i - 1].line : t->jobs[i].line);
            goto out;
        }
    }
    qsort(t->jobs, t->count, sizeof(*t->jobs), compare_job_submit);
    rc = 0;
out:
    csv_close(&c);
    if (rc < 0) {
        free(t->jobs);
        memset(t, 0, sizeof(*t));
    }
    return rc;
}

/* Jobs up to one node's GPUs run on one node; larger ones on whole nodes (Philly's 16 and 32 as
 * 2 and 4 nodes of 8). A size that is not a multiple of the largest node is spread evenly over
 * the fewest nodes that divide it (12 as 2x6, 20 as 4x5), as a user would ask with
 * --nodes and --gpus-per-node. Every job must fit the empty cluster. */
int shape_jobs(struct trace *t, const struct machines *m, struct zn_error *err)
{
    unsigned sizes[16];
    size_t size_count = 0, len = 0;

    for (size_t i = 0; i < t->count; i++) {
        struct job *j = &t->jobs[i];
        size_t fit = 0;

        j->nodes = 1;
        if (j->gpus > m->max_gpus) {
            j->nodes = (j->gpus + m->max_gpus - 1) / m->max_gpus;
            while (j->gpus % j->nodes)
                j->nodes++;
        }
        j->gpus_per_node = j->gpus / j->nodes;
        if (j->gpus > m->max_gpus && j->gpus % m->max_gpus) {
            size_t k = 0;

            t->uneven++;
            while (k < size_count && sizes[k] < j->gpus)
                k++;
            if ((k == size_count || sizes[k] != j->gpus) &&
                size_count < sizeof(sizes) / sizeof(sizes[0])) {
                memmove(&sizes[k + 1], &sizes[k], (size_count - k) * sizeof(*sizes));
                sizes[k] = j->gpus;
                size_count++;
            }
        }
        for (size_t n = 0; n < m->count; n++)
            if (m->list[n].gpus >= j->gpus_per_node)
                fit++;
        if (fit < j->nodes)
            return zn_fail(err,
                           "%s:%u: job %" PRIu64 " needs %u nodes with %u GPUs and %s "
                           "has %zu; use a machine list that can run the trace",
                           t->path, j->line, j->id, j->nodes, j->gpus_per_node, m->path, fit);
    }
    t->uneven_shapes[0] = '\0';
    for (size_t k = 0; k < size_count; k++) {
        unsigned nodes = (sizes[k] + m->max_gpus - 1) / m->max_gpus;
        int n;

        while (sizes[k] % nodes)
            nodes++;
        n = snprintf(t->uneven_shapes + len, sizeof(t->uneven_shapes) - len, "%s%u as %ux%u",
                     k ? ", " : "", sizes[k], nodes, sizes[k] / nodes);
        if (n < 0 || (size_t)n >= sizeof(t->uneven_shapes) - len)
            break;
        len += (size_t)n;
    }
    return 0;
}
