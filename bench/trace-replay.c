/* SPDX-License-Identifier: GPL-2.0-or-later */
/* trace-replay: the C half of bench/trace-replay.sh, which replays a slice of the Philly trace in
 * the real local Slurm cluster twice, once with stock select/cons_tres and once with Zenith's
 * slurmctld plugins, and compares what each did.
 *
 *   trace-replay plan [options] TRACE.csv
 *     The slice as the jobs to submit, one line each: name, submit offset (ms), nodes, GPUs per
 *     node, duration (s), time limit (min), trace job id. The slice is the jobs submitted in
 *     [--from, --from + --span) of the trace, every multi-node job and every K-th one-node job
 *     (--one-node-every K, in submit order) so that a cluster of a few dozen nodes gets the load
 *     it can take while keeping every gang of the window. Submit offsets and durations are
 *     divided by --time-scale.
 *   trace-replay score [options] PLAN STOCK.log ZENITH.log
 *     Reads slurmctld's job completion logs (jobcomp/filetxt) of the two runs, checks that each
 *     ran every job of the plan exactly once, with its shape, to completion, and prints for each
 *     run the share of multi-node jobs inside one leaf switch, queue wait (mean, p95), GPU-hours
 *     stranded on partly used nodes (over the whole run, and while jobs still arrive: in the
 *     drain after the last arrival, stranding only tells where the last long jobs happened to
 *     land) and the makespan, then Zenith/stock ratios. The stranded
 *     GPUs are counted by the placement core's own zn_cluster_stranded_gpus, as in
 *     placement-sim, over the allocations the logs record. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/stats.h"
#include "bench/trace.h"
#include "runtime/parse.h"
#include "select/core/cluster.h"
#include "select/core/hostlist.h"
#include "select/core/place.h"

#define REPLAY_FROM_DEFAULT     15000
#define REPLAY_SPAN_DEFAULT     2000
#define REPLAY_ONE_NODE_DEFAULT 8
#define REPLAY_SCALE_DEFAULT    10
#define REPLAY_NODES_DEFAULT    32
#define REPLAY_GPUS_DEFAULT     8
#define REPLAY_START_SLACK      30 /* seconds a job may take to start and end beyond its run */
#define REPLAY_NAME_MAX         32

/* ------------------------------------------------------------------ the plan */

struct planned {
    char name[REPLAY_NAME_MAX];
    uint64_t submit_ms;
    unsigned nodes, gpus_per_node;
    uint64_t duration, limit_min, trace_id;
};

struct plan {
    struct planned *jobs;
    size_t count, cap;
};

static void job_name(char *buf, size_t len, uint64_t trace_id)
{
    snprintf(buf, len, "philly-%" PRIu64, trace_id);
}

static int parse_whole(const char *what, const char *text, uint64_t max, uint64_t *out,
                       struct zn_error *err)
{
    const char *p = text;

    if (zn_parse_digits(&p, out) < 0 || *p || *out > max)
        return zn_fail(err, "%s takes a whole number up to %" PRIu64 ", not \"%s\"", what, max,
                       text);
    return 0;
}

struct slice {
    uint64_t from, span;
    unsigned one_node_every, time_scale, nodes, node_gpus;
};

static int make_plan(const char *trace_path, const struct slice *sl)
{
    struct trace t = {0};
    struct machines m = {0};
    struct zn_error err;
    size_t one_node_seen = 0, kept = 0, multi = 0, one_node = 0;
    uint64_t gpu_seconds = 0, last_offset = 0;
    int rc = 1;

    if (read_trace(trace_path, 0, 1, &t, &err) < 0 ||
        uniform_machines("the replay cluster", "node", sl->nodes, sl->node_gpus, &m, &err) < 0 ||
        shape_jobs(&t, &m, &err) < 0)
        goto out;
    for (int pass = 0; pass < 2; pass++) {
        one_node_seen = kept = multi = one_node = 0;
        gpu_seconds = 0;
        for (size_t i = 0; i < t.count; i++) {
            const struct job *j = &t.jobs[i];
            uint64_t offset_ms, duration;
            char name[REPLAY_NAME_MAX];

            if (j->submit < sl->from || j->submit >= sl->from + sl->span)
                continue;
            if (j->nodes == 1 && one_node_seen++ % sl->one_node_every != 0)
                continue;
            offset_ms = (j->submit - sl->from) * 1000 / sl->time_scale;
            duration = (j->duration + sl->time_scale / 2) / sl->time_scale;
            if (duration == 0)
                duration = 1;
            kept++;
            if (j->nodes > 1)
                multi++;
            else
                one_node++;
            gpu_seconds += (uint64_t)j->gpus * duration;
            last_offset = offset_ms;
            if (pass == 1) {
                job_name(name, sizeof(name), j->id);
                printf("%s %" PRIu64 " %u %u %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", name,
                       offset_ms, j->nodes, j->gpus_per_node, duration,
                       (duration + REPLAY_START_SLACK + 59) / 60, j->id);
            }
        }
        if (pass == 0) {
            double window = (double)sl->span / sl->time_scale;

            if (kept == 0) {
                zn_fail(&err,
                        "no GPU job of %s was submitted in [%" PRIu64 ", %" PRIu64
                        ") s; choose --from and --span inside the trace",
                        trace_path, sl->from, sl->from + sl->span);
                goto out;
            }
            printf("# trace-replay plan: %s, jobs submitted in [%" PRIu64 ", %" PRIu64
                   ") s: %zu jobs, %zu multi-node (all of the window's), %zu one-node (1 in %u); "
                   "times divided by %u; %u nodes x %u GPUs\n",
                   trace_path, sl->from, sl->from + sl->span, kept, multi, one_node,
                   sl->one_node_every, sl->time_scale, sl->nodes, sl->node_gpus);
            printf("# offered load %.0f%% of the cluster's GPUs over the %.0f s of arrivals; "
                   "last arrival at %.1f s\n",
                   100.0 * (double)gpu_seconds / (window * sl->nodes * sl->node_gpus), window,
                   (double)last_offset / 1000);
            printf("# name submit_ms nodes gpus_per_node duration_s time_limit_min trace_job_id\n");
        }
    }
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "%s\n", err.text);
    free(t.jobs);
    machines_free(&m);
    return rc;
}

static int read_plan(const char *path, struct plan *p, struct zn_error *err)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    int rc = -1;

    memset(p, 0, sizeof(*p));
    if (!f)
        return zn_fail(err, "cannot read the plan %s: %s; make it with trace-replay plan", path,
                       strerror(errno));
    while (getline(&line, &cap, f) >= 0) {
        struct planned j = {0};
        char extra;

        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "%31s %" SCNu64 " %u %u %" SCNu64 " %" SCNu64 " %" SCNu64 " %c", j.name,
                   &j.submit_ms, &j.nodes, &j.gpus_per_node, &j.duration, &j.limit_min, &j.trace_id,
                   &extra) != 7 ||
            j.nodes == 0 || j.gpus_per_node == 0) {
            zn_fail(err,
                    "%s:%u: not a plan line (name submit_ms nodes gpus_per_node "
                    "duration_s time_limit_min trace_job_id); remake it with trace-replay plan",
                    path, lineno);
            goto out;
        }
        for (size_t i = 0; i < p->count; i++)
            if (strcmp(p->jobs[i].name, j.name) == 0) {
                zn_fail(err, "%s:%u: job %s is planned twice", path, lineno, j.name);
                goto out;
            }
        if (grow_for_one(&p->jobs, &p->cap, p->count, sizeof(*p->jobs), 256) < 0) {
            zn_fail(err, "out of memory reading %s", path);
            goto out;
        }
        p->jobs[p->count++] = j;
    }
    if (ferror(f)) {
        zn_fail(err, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    if (p->count == 0) {
        zn_fail(err, "%s plans no job", path);
        goto out;
    }
    rc = 0;
out:
    free(line);
    fclose(f);
    return rc;
}

/* ------------------------------------------------------------------ job completion logs */

/* One finished job as jobcomp/filetxt wrote it, matched to the plan. */
struct ran {
    size_t planned;
    time_t submit, start, end;
    size_t *nodes; /* model indices */
    unsigned line;
};

struct run {
    const char *label, *path;
    struct ran *jobs;
    size_t count, cap;
};

/* The value of key= in a jobcomp line (space separated key=value words), or NULL. */
static const char *word(const char *line, const char *key, char *buf, size_t len)
{
    size_t klen = strlen(key);

    for (const char *p = line; (p = strstr(p, key)); p += klen) {
        if ((p == line || p[-1] == ' ') && p[klen] == '=') {
            size_t n = strcspn(p + klen + 1, " \n");
            if (n >= len)
                n = len - 1;
            memcpy(buf, p + klen + 1, n);
            buf[n] = '\0';
            return buf;
        }
    }
    return NULL;
}

/* slurmctld writes times as 2026-12-01T18:36:29 in its own zone; only differences are used. */
static int parse_time(const char *text, time_t *out)
{
    struct tm tm = {0};
    const char *end = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);

    if (!end || *end)
        return -1;
    *out = timegm(&tm);
    return 0;
}

struct node_walk {
    const struct zn_cluster *c;
    size_t *nodes;
    size_t count, want;
    const char *missing;
};

static int add_run_node(const char *name, void *arg)
{
    struct node_walk *w = arg;
    long n = zn_cluster_find_node(w->c, name);

    if (n < 0) {
        w->missing = name;
        return 1;
    }
    if (w->count < w->want)
        w->nodes[w->count] = (size_t)n;
    w->count++;
    return 0;
}

static int read_run(struct run *r, const struct plan *p, const struct zn_cluster *c,
                    struct zn_error *err)
{
    FILE *f = fopen(r->path, "r");
    unsigned char *seen = calloc(p->count ? p->count : 1, 1);
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    int rc = -1;

    if (!f || !seen) {
        zn_fail(err, "cannot read the %s run's job completion log %s: %s", r->label, r->path,
                f ? "out of memory" : strerror(errno));
        goto out;
    }
    while (getline(&line, &cap, f) >= 0) {
        char id[32], name[256], state[64], submit[64], start[64], end[64], list[4096], count[32];
        char tres[1024], gpus_text[32];
        struct ran j = {.line = ++lineno};
        struct node_walk walk = {c, NULL, 0, 0, NULL};
        const struct planned *pj = NULL;
        uint64_t node_count, job_id;
        struct zn_error hl;

        if (!word(line, "JobId", id, sizeof(id)) || !word(line, "Name", name, sizeof(name)) ||
            !word(line, "JobState", state, sizeof(state)) ||
            !word(line, "SubmitTime", submit, sizeof(submit)) ||
            !word(line, "StartTime", start, sizeof(start)) ||
            !word(line, "EndTime", end, sizeof(end)) ||
            !word(line, "NodeList", list, sizeof(list)) ||
            !word(line, "NodeCnt", count, sizeof(count))) {
            zn_fail(err,
                    "%s:%u: not a jobcomp/filetxt record (JobId=, Name=, JobState=, "
                    "SubmitTime=, StartTime=, EndTime=, NodeList=, NodeCnt=); is this the "
                    "JobCompLoc file?",
                    r->path, lineno);
            goto out;
        }
        for (size_t i = 0; i < p->count && !pj; i++)
            if (strcmp(p->jobs[i].name, name) == 0) {
                pj = &p->jobs[i];
                j.planned = i;
            }
        if (!pj) {
            zn_fail(err,
                    "%s:%u: JobId=%s Name=%s is not in the plan; the replay cluster "
                    "must run the plan's jobs only",
                    r->path, lineno, id, name);
            goto out;
        }
        if (seen[j.planned]++) {
            zn_fail(err, "%s:%u: job %s finished twice (requeued?); the replay is void", r->path,
                    lineno, name);
            goto out;
        }
        if (strcmp(state, "COMPLETED") != 0) {
            zn_fail(err,
                    "%s:%u: job %s (JobId=%s) ended %s, not COMPLETED; see the "
                    "cluster's logs: a replay with failed jobs compares nothing",
                    r->path, lineno, name, id, state);
            goto out;
        }
        if (parse_whole("JobId", id, UINT32_MAX, &job_id, NULL) < 0 ||
            parse_whole("NodeCnt", count, 1u << 20, &node_count, NULL) < 0) {
            zn_fail(err, "%s:%u: JobId=%s NodeCnt=%s are not numbers", r->path, lineno, id, count);
            goto out;
        }
        if (parse_time(submit, &j.submit) < 0 || parse_time(start, &j.start) < 0 ||
            parse_time(end, &j.end) < 0 || j.start < j.submit || j.end < j.start) {
            zn_fail(err,
                    "%s:%u: job %s has times SubmitTime=%s StartTime=%s EndTime=%s, "
                    "not YYYY-MM-DDTHH:MM:SS in order; unset SLURM_TIME_FORMAT for slurmctld",
                    r->path, lineno, name, submit, start, end);
            goto out;
        }
        if (node_count != pj->nodes) {
            zn_fail(err, "%s:%u: job %s ran on %s nodes; the plan has %u", r->path, lineno, name,
                    count, pj->nodes);
            goto out;
        }
        /* With AccountingStorageTRES=gres/gpu the record also says how many GPUs it had. */
        if (word(line, "Tres", tres, sizeof(tres))) {
            char *g = strstr(tres, "gres/gpu=");
            uint64_t gpus;

            if (g) {
                size_t n = strcspn(g + 9, ",");
                snprintf(gpus_text, sizeof(gpus_text), "%.*s", (int)(n < 31 ? n : 31), g + 9);
                if (parse_whole("gres/gpu", gpus_text, UINT32_MAX, &gpus, NULL) < 0 ||
                    gpus != (uint64_t)pj->nodes * pj->gpus_per_node) {
                    zn_fail(err, "%s:%u: job %s had gres/gpu=%s; the plan has %u x %u", r->path,
                            lineno, name, gpus_text, pj->nodes, pj->gpus_per_node);
                    goto out;
                }
            }
        }
        j.nodes = calloc(pj->nodes, sizeof(*j.nodes));
        if (!j.nodes) {
            zn_fail(err, "out of memory reading %s", r->path);
            goto out;
        }
        walk.nodes = j.nodes;
        walk.want = pj->nodes;
        if (zn_hostlist_each("NodeList", list, add_run_node, &walk, &hl) != 0 ||
            walk.count != pj->nodes) {
            zn_fail(err, "%s:%u: job %s ran on NodeList=%s: %s", r->path, lineno, name, list,
                    walk.missing ? "a node the replay cluster does not have"
                                 : "not its planned node count");
            free(j.nodes);
            goto out;
        }
        if (grow_for_one(&r->jobs, &r->cap, r->count, sizeof(*r->jobs), 256) < 0) {
            free(j.nodes);
            zn_fail(err, "out of memory reading %s", r->path);
            goto out;
        }
        r->jobs[r->count++] = j;
    }
    for (size_t i = 0; i < p->count; i++)
        if (!seen[i]) {
            zn_fail(err,
                    "%s: job %s of the plan has no record; the %s run did not finish "
                    "it",
                    r->path, p->jobs[i].name, r->label);
            goto out;
        }
    rc = 0;
out:
    free(line);
    free(seen);
    if (f)
        fclose(f);
    return rc;
}

/* ------------------------------------------------------------------ metrics */

struct event {
    time_t time;
    int starts; /* 0: an end, 1: a start; ends first at the same second */
    size_t job;
};

static int compare_event(const void *a, const void *b)
{
    const struct event *x = a, *y = b;

    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    if (x->starts != y->starts)
        return x->starts - y->starts;
    return (x->job > y->job) - (x->job < y->job);
}

#define REPLAY_SHAPES_MAX 16 /* request shapes (nodes x GPUs per node) given their own wait */

struct shape_wait {
    unsigned nodes, gpus_per_node;
    size_t jobs;
    double wait_sum;
};

struct result {
    size_t jobs, multi, one_leaf;
    struct shape_wait shapes[REPLAY_SHAPES_MAX]; /* ascending by nodes, then GPUs */
    size_t shape_count;
    double wait_mean;
    uint64_t wait_p95;
    double stranded_gpu_hours, busy_share;
    double arriving_stranded_gpu_hours; /* from the first submission to the last */
    uint64_t makespan;
};

/* Mean waits per request shape show who pays for a policy: one mean hides small jobs that wait
 * longer behind gangs that wait less. Shapes past the table's size are left out of it only. */
static void add_shape_wait(struct result *res, unsigned nodes, unsigned gpus_per_node, double wait)
{
    size_t i = 0;

    while (i < res->shape_count &&
           (res->shapes[i].nodes < nodes ||
            (res->shapes[i].nodes == nodes && res->shapes[i].gpus_per_node < gpus_per_node)))
        i++;
    if (i == res->shape_count || res->shapes[i].nodes != nodes ||
        res->shapes[i].gpus_per_node != gpus_per_node) {
        if (res->shape_count == REPLAY_SHAPES_MAX)
            return;
        memmove(&res->shapes[i + 1], &res->shapes[i],
                (res->shape_count - i) * sizeof(res->shapes[0]));
        res->shapes[i] = (struct shape_wait){nodes, gpus_per_node, 0, 0};
        res->shape_count++;
    }
    res->shapes[i].jobs++;
    res->shapes[i].wait_sum += wait;
}

static int measure(const struct run *r, const struct plan *p, struct zn_cluster *c,
                   struct result *res, struct zn_error *err)
{
    struct event *ev = calloc(2 * r->count, sizeof(*ev));
    struct samples waits = {0};
    time_t first = 0, last = 0, prev;
    double stranded_seconds = 0, arriving_seconds = 0, busy_seconds = 0;
    time_t last_submit = 0;
    unsigned long total_gpus = 0;
    int rc = -1;

    memset(res, 0, sizeof(*res));
    if (!ev) {
        zn_fail(err, "out of memory measuring the %s run", r->label);
        goto out;
    }
    for (size_t n = 0; n < c->node_count; n++) {
        zn_cluster_set_free(c, n, c->nodes[n].gpus_total, NULL);
        total_gpus += c->nodes[n].gpus_total;
    }
    for (size_t i = 0; i < r->count; i++) {
        const struct ran *j = &r->jobs[i];
        const struct planned *pj = &p->jobs[j->planned];
        bool one_leaf = true;

        ev[2 * i] = (struct event){j->start, 1, i};
        ev[2 * i + 1] = (struct event){j->end, 0, i};
        if (i == 0 || j->submit < first)
            first = j->submit;
        if (j->submit > last_submit)
            last_submit = j->submit;
        if (j->end > last)
            last = j->end;
        if (samples_add(&waits, (uint64_t)(j->start - j->submit), err) < 0)
            goto out;
        add_shape_wait(res, pj->nodes, pj->gpus_per_node, (double)(j->start - j->submit));
        for (size_t k = 1; k < pj->nodes; k++)
            if (c->nodes[j->nodes[k]].leaf != c->nodes[j->nodes[0]].leaf)
                one_leaf = false;
        if (pj->nodes > 1) {
            res->multi++;
            res->one_leaf += one_leaf && c->nodes[j->nodes[0]].leaf >= 0;
        }
    }
    qsort(ev, 2 * r->count, sizeof(*ev), compare_event);
    prev = first;
    for (size_t e = 0; e < 2 * r->count; e++) {
        const struct ran *j = &r->jobs[ev[e].job];
        const struct planned *pj = &p->jobs[j->planned];
        unsigned long busy = 0, stranded = zn_cluster_stranded_gpus(c);
        time_t from = prev > first ? prev : first,
               to = ev[e].time < last_submit ? ev[e].time : last_submit;

        for (size_t n = 0; n < c->node_count; n++)
            busy += c->nodes[n].gpus_total - c->nodes[n].gpus_free;
        stranded_seconds += (double)stranded * (double)(ev[e].time - prev);
        if (to > from)
            arriving_seconds += (double)stranded * (double)(to - from);
        busy_seconds += (double)busy * (double)(ev[e].time - prev);
        prev = ev[e].time;
        for (size_t k = 0; k < pj->nodes; k++) {
            struct zn_cluster_node *node = &c->nodes[j->nodes[k]];
            unsigned free_now = node->gpus_free;

            if (ev[e].starts && free_now < pj->gpus_per_node) {
                zn_fail(err,
                        "%s:%u: job %s starts on %s with %u of its %u GPUs free by "
                        "the records before it; the log does not describe one cluster",
                        r->path, j->line, pj->name, node->name, free_now, pj->gpus_per_node);
                goto out;
            }
            free_now = ev[e].starts ? free_now - pj->gpus_per_node : free_now + pj->gpus_per_node;
            if (zn_cluster_set_free(c, j->nodes[k], free_now, err) < 0)
                goto out;
        }
    }
    res->jobs = r->count;
    res->wait_mean = samples_mean(&waits);
    res->wait_p95 = samples_percentile(&waits, 95);
    res->stranded_gpu_hours = stranded_seconds / 3600;
    res->arriving_stranded_gpu_hours = arriving_seconds / 3600;
    res->makespan = (uint64_t)(last - first);
    res->busy_share =
        res->makespan ? busy_seconds / ((double)res->makespan * (double)total_gpus) : 0;
    rc = 0;
out:
    free(ev);
    free(waits.v);
    return rc;
}

static void print_result(const char *label, const struct result *r)
{
    printf("%-7s %zu jobs; %zu multi-node, %zu (%.1f%%) inside one leaf switch; wait mean %.1f s, "
           "p95 %" PRIu64 " s; stranded %.2f GPU-h, %.2f while jobs arrive; makespan %" PRIu64
           " s; GPUs busy %.1f%%\n",
           label, r->jobs, r->multi, r->one_leaf,
           r->multi ? 100.0 * (double)r->one_leaf / (double)r->multi : 0, r->wait_mean, r->wait_p95,
           r->stranded_gpu_hours, r->arriving_stranded_gpu_hours, r->makespan,
           100.0 * r->busy_share);
    printf("%-7s wait mean by request (nodes x GPUs: s, jobs):", "");
    for (size_t i = 0; i < r->shape_count; i++)
        printf("%s %ux%u: %.1f (%zu)", i ? "," : "", r->shapes[i].nodes, r->shapes[i].gpus_per_node,
               r->shapes[i].wait_sum / (double)r->shapes[i].jobs, r->shapes[i].jobs);
    printf("\n");
}

struct score_options {
    const char *nodes, *topology;
    char names[2][REPLAY_NAME_MAX]; /* the two runs, as the output labels them */
    unsigned node_gpus, time_scale;
};

struct model_nodes {
    struct zn_cluster *c;
    unsigned gpus;
    struct zn_error *err;
};

static int add_model_node(const char *name, void *arg)
{
    struct model_nodes *m = arg;

    return zn_cluster_add_node(m->c, name, m->gpus, m->gpus, m->err) < 0 ? -1 : 0;
}

static int score(const struct score_options *o, const char *plan_path, const char *stock_path,
                 const char *zenith_path)
{
    struct run runs[2] = {{o->names[0], stock_path, NULL, 0, 0},
                          {o->names[1], zenith_path, NULL, 0, 0}};
    char labels[2][REPLAY_NAME_MAX + 1];
    struct zn_cluster *c = zn_cluster_new();
    struct plan p = {0};
    struct result res[2];
    struct zn_error err;
    double share[2];
    char b[6][32];
    int rc = 1;

    zn_error_clear(&err);
    if (!c) {
        zn_fail(&err, "out of memory");
        goto out;
    }
    struct model_nodes model = {c, o->node_gpus, &err};
    if (zn_hostlist_each("--nodes", o->nodes, add_model_node, &model, &err) != 0 ||
        zn_cluster_read_topology_file(c, o->topology, &err) < 0 ||
        read_plan(plan_path, &p, &err) < 0)
        goto out;
    for (size_t n = 0; n < c->node_count; n++)
        if (c->nodes[n].leaf < 0) {
            zn_fail(&err,
                    "node %s is under no leaf switch in %s; is it the replay "
                    "cluster's topology.conf?",
                    c->nodes[n].name, o->topology);
            goto out;
        }
    for (int i = 0; i < 2; i++)
        if (read_run(&runs[i], &p, c, &err) < 0 || measure(&runs[i], &p, c, &res[i], &err) < 0)
            goto out;
    printf("trace-replay: %zu jobs on %zu nodes x %u GPUs (%s); times are the replay's, the "
           "trace's divided by %u (so are GPU-hours)\n",
           p.count, c->node_count, o->node_gpus, o->nodes, o->time_scale);
    for (int i = 0; i < 2; i++) {
        snprintf(labels[i], sizeof(labels[i]), "%s:", o->names[i]);
        print_result(labels[i], &res[i]);
        share[i] = res[i].multi ? (double)res[i].one_leaf / (double)res[i].multi : 0;
    }
    printf("%s/%s: one-leaf share %s, wait mean %s, wait p95 %s, stranded GPU-h %s "
           "(%s while jobs arrive), makespan %s\n",
           o->names[1], o->names[0], ratio_text(b[0], sizeof(b[0]), share[1], share[0]),
           ratio_text(b[1], sizeof(b[1]), res[1].wait_mean, res[0].wait_mean),
           ratio_text(b[2], sizeof(b[2]), (double)res[1].wait_p95, (double)res[0].wait_p95),
           ratio_text(b[3], sizeof(b[3]), res[1].stranded_gpu_hours, res[0].stranded_gpu_hours),
           ratio_text(b[5], sizeof(b[5]), res[1].arriving_stranded_gpu_hours,
                      res[0].arriving_stranded_gpu_hours),
           ratio_text(b[4], sizeof(b[4]), (double)res[1].makespan, (double)res[0].makespan));
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "%s\n", err.text);
    for (int i = 0; i < 2; i++) {
        for (size_t k = 0; k < runs[i].count; k++)
            free(runs[i].jobs[k].nodes);
        free(runs[i].jobs);
    }
    free(p.jobs);
    zn_cluster_free(c);
    return rc;
}

/* ------------------------------------------------------------------ command line */

static int parse_names(const char *text, char names[2][REPLAY_NAME_MAX], struct zn_error *err)
{
    const char *comma = strchr(text, ',');
    size_t first = comma ? (size_t)(comma - text) : 0;

    if (!comma || first == 0 || first >= REPLAY_NAME_MAX || !comma[1] || strchr(comma + 1, ',') ||
        strlen(comma + 1) >= REPLAY_NAME_MAX)
        return zn_fail(err,
                       "--names takes two names of 1 to %d characters joined by a comma "
                       "(stock-1,stock-2), not \"%s\"",
                       REPLAY_NAME_MAX - 1, text);
    memcpy(names[0], text, first);
    names[0][first] = '\0';
    strcpy(names[1], comma + 1);
    return 0;
}

static void usage(FILE *f)
{
    fputs("usage: trace-replay plan [--from S] [--span S] [--one-node-every K] [--time-scale X]\n"
          "                         [--nodes N] [--node-gpus G] TRACE.csv\n"
          "       trace-replay score --nodes HOSTLIST --topology FILE [--node-gpus G]\n"
          "                          [--time-scale X] [--names A,B] PLAN STOCK.log ZENITH.log\n"
          "\n"
          "The C half of bench/trace-replay.sh. plan prints the slice of a Philly trace (Chronus\n"
          "CSV layout) to submit: the jobs submitted in [S, S+span) of the trace, every\n"
          "multi-node one and every K-th one-node one, times divided by X. score reads the job\n"
          "completion logs (jobcomp/filetxt) of a stock and a Zenith run of that plan and prints\n"
          "one-leaf share, queue wait, stranded GPU-hours and makespan of each, and the ratios.\n"
          "\n"
          "  --from S            first trace second of the slice (default 15000)\n"
          "  --span S            trace seconds in the slice (default 2000)\n"
          "  --one-node-every K  keep every K-th one-node job (default 8)\n"
          "  --time-scale X      divide submit offsets and durations by X (default 10)\n"
          "  --nodes N|HOSTLIST  plan: the cluster's node count (default 32); score: its nodes,\n"
          "                      as Slurm writes them (zr[1-32])\n"
          "  --node-gpus G       GPUs per node (default 8)\n"
          "  --topology FILE     score: the cluster's topology.conf\n"
          "  --names A,B         score: what to call the two runs (default stock,zenith; e.g.\n"
          "                      stock-1,stock-2 to score two stock runs: the noise of a repeat)\n"
          "  --help              this text\n",
          f);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"from", required_argument, NULL, 'f'},
        {"span", required_argument, NULL, 's'},
        {"one-node-every", required_argument, NULL, 'k'},
        {"time-scale", required_argument, NULL, 'x'},
        {"nodes", required_argument, NULL, 'n'},
        {"node-gpus", required_argument, NULL, 'g'},
        {"topology", required_argument, NULL, 't'},
        {"names", required_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct slice sl = {REPLAY_FROM_DEFAULT,  REPLAY_SPAN_DEFAULT,  REPLAY_ONE_NODE_DEFAULT,
                       REPLAY_SCALE_DEFAULT, REPLAY_NODES_DEFAULT, REPLAY_GPUS_DEFAULT};
    struct score_options so = {
        NULL, NULL, {"stock", "zenith"}, REPLAY_GPUS_DEFAULT, REPLAY_SCALE_DEFAULT};
    const char *verb = argc > 1 ? argv[1] : "";
    bool planning = strcmp(verb, "plan") == 0;
    struct zn_error err;
    int opt;

    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (!planning && strcmp(verb, "score") != 0) {
        fprintf(stderr,
                "zenith: trace-replay takes plan or score first, not \"%s\"; see "
                "trace-replay --help\n",
                verb);
        return 2;
    }
    zn_error_clear(&err);
    opterr = 0;
    optind = 2;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        int parsed = 0;

        switch (opt) {
        case 'f':
            parsed = parse_whole("--from", optarg, TRACE_MAX_SECONDS, &sl.from, &err);
            break;
        case 's': {
            uint64_t span;
            parsed = parse_whole("--span", optarg, TRACE_MAX_SECONDS, &span, &err);
            if (parsed == 0 && span == 0)
                parsed = zn_fail(&err, "--span takes 1 second or more, not 0");
            sl.span = span;
            break;
        }
        case 'k':
            parsed = zn_parse_count("--one-node-every", optarg, 1000000, &sl.one_node_every, &err);
            break;
        case 'x':
            parsed = zn_parse_count("--time-scale", optarg, 100000, &sl.time_scale, &err);
            so.time_scale = sl.time_scale;
            break;
        case 'n':
            if (planning)
                parsed = zn_parse_count("--nodes", optarg, 1u << 20, &sl.nodes, &err);
            else
                so.nodes = optarg;
            break;
        case 'g':
            parsed =
                zn_parse_count("--node-gpus", optarg, TRACE_MAX_NODE_GPUS, &sl.node_gpus, &err);
            so.node_gpus = sl.node_gpus;
            break;
        case 't':
            so.topology = optarg;
            break;
        case 'N':
            parsed = parse_names(optarg, so.names, &err);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            fprintf(stderr, "zenith: %s needs a value; see trace-replay --help\n",
                    argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "zenith: unknown option %s; see trace-replay --help\n",
                    argv[optind - 1]);
            return 2;
        }
        if (parsed < 0) {
            fprintf(stderr, "%s; see trace-replay --help\n", err.text);
            return 2;
        }
    }
    if (planning) {
        if (argc - optind != 1) {
            fprintf(stderr, "zenith: trace-replay plan takes one trace file; see trace-replay "
                            "--help\n");
            return 2;
        }
        return make_plan(argv[optind], &sl);
    }
    if (!so.nodes || !so.topology || argc - optind != 3) {
        fprintf(stderr, "zenith: trace-replay score needs --nodes, --topology, the plan and the "
                        "stock and Zenith job completion logs; see trace-replay --help\n");
        return 2;
    }
    return score(&so, argv[optind], argv[optind + 1], argv[optind + 2]);
}
