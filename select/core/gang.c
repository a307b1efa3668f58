/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Validation, stamp and priority of gang requests (policy in gang.h). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/parse.h"
#include "select/core/gang.h"

#define ZN_GANG_NODES_MAX 65536
#define ZN_GANG_GPUS_MAX  1024

/* Calls take(key, value) for each comma-separated item of list, value NULL where the item has no
 * '='; stops at the first item take refuses (-1). Both of Zenith's slurm.conf parameter lists
 * (SchedulerParameters, PrioritySiteFactorParameters) are read through it. */
typedef int (*param_take)(const char *key, const char *value, void *ctx, struct zn_error *err);

static int each_param(const char *list, const char *what, param_take take, void *ctx,
                      struct zn_error *err)
{
    char *copy, *item, *save = NULL;
    int rc = 0;

    if (!list || !*list)
        return 0;
    copy = strdup(list);
    if (!copy)
        return zn_fail(err, "out of memory reading %s", what);
    for (item = strtok_r(copy, ",", &save); item && rc == 0; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');

        if (eq)
            *eq = '\0';
        rc = take(item, eq ? eq + 1 : NULL, ctx, err);
    }
    free(copy);
    return rc;
}

struct wait_params {
    struct zn_gang_wait_limits limits;
    bool wait_given;
};

static int take_wait_param(const char *key, const char *value, void *ctx, struct zn_error *err)
{
    struct wait_params *w = ctx;

    if (strncmp(key, "zenith_", 7) != 0)
        return 0; /* Slurm's own */
    if (strcmp(key, "zenith_gang_leaf_wait") == 0 && value) {
        w->wait_given = true;
        return zn_parse_seconds("SchedulerParameters zenith_gang_leaf_wait", value,
                                ZN_GANG_LEAF_WAIT_LIMIT, &w->limits.leaf_wait, err);
    }
    if (strcmp(key, "zenith_gang_leaf_wait_max") == 0 && value)
        return zn_parse_seconds("SchedulerParameters zenith_gang_leaf_wait_max", value,
                                ZN_GANG_LEAF_WAIT_LIMIT, &w->limits.leaf_wait_max, err);
    return zn_fail(err,
                   "SchedulerParameters: unknown Zenith key %s%s; Zenith knows "
                   "zenith_gang_leaf_wait=S and zenith_gang_leaf_wait_max=S",
                   key, value ? "=..." : " (without a value)");
}

int zn_gang_wait_limits_parse(const char *sched_params, struct zn_gang_wait_limits *out,
                              struct zn_error *err)
{
    struct wait_params read = {{ZN_GANG_LEAF_WAIT_DEFAULT, ZN_GANG_LEAF_WAIT_MAX_DEFAULT}, false};

    *out = read.limits;
    if (each_param(sched_params, "SchedulerParameters", take_wait_param, &read, err) < 0)
        return -1;
    if (read.limits.leaf_wait > read.limits.leaf_wait_max) {
        if (read.wait_given)
            return zn_fail(err,
                           "SchedulerParameters: zenith_gang_leaf_wait=%u is above "
                           "zenith_gang_leaf_wait_max=%u; lower the wait or raise the maximum",
                           read.limits.leaf_wait, read.limits.leaf_wait_max);
        read.limits.leaf_wait = read.limits.leaf_wait_max; /* a lower max lowers the default */
    }
    *out = read.limits;
    return 0;
}

unsigned zn_gang_leaf_wait(const struct zn_gang *gang, const struct zn_gang_wait_limits *limits)
{
    unsigned wait = gang->leaf_wait_given ? gang->leaf_wait : limits->leaf_wait;

    return wait < limits->leaf_wait_max ? wait : limits->leaf_wait_max;
}

int zn_gang_validate(const struct zn_gang_job *job, const struct zn_gang_wait_limits *limits,
                     struct zn_gang *out, bool *set_nodes, struct zn_error *err)
{
    unsigned size = 0, nodes, leaf_wait = 0;
    uint64_t per_node;

    *set_nodes = false;
    if (!job->gang) {
        if (job->leaf_wait)
            return zn_fail(err, "--zenith-gang-wait is the wait of a --zenith-gang job for a "
                                "leaf switch; add --zenith-gang or drop --zenith-gang-wait");
        return 0;
    }
    if (job->leaf_wait) {
        if (zn_parse_seconds("--zenith-gang-wait", job->leaf_wait, ZN_GANG_LEAF_WAIT_LIMIT,
                             &leaf_wait, err) < 0)
            return -1;
        if (leaf_wait > limits->leaf_wait_max)
            return zn_fail(err,
                           "--zenith-gang-wait=%u is longer than this site allows (%u s, "
                           "zenith_gang_leaf_wait_max in SchedulerParameters); ask for %u or "
                           "less",
                           leaf_wait, limits->leaf_wait_max, limits->leaf_wait_max);
    }
    if (strcmp(job->gang, "job") != 0 &&
        zn_parse_count("--zenith-gang", job->gang, ZN_GANG_NODES_MAX, &size, err) < 0)
        return -1;
    if (job->min_nodes && job->max_nodes && job->max_nodes != job->min_nodes)
        return zn_fail(err,
                       "--zenith-gang needs a fixed node count, and this job asks for "
                       "%" PRIu32 "-%" PRIu32 " nodes; give -N with one number",
                       job->min_nodes, job->max_nodes);
    nodes = job->min_nodes ? job->min_nodes : job->max_nodes;
    if (size && nodes && size != nodes)
        return zn_fail(err,
                       "--zenith-gang=%u does not match the job's %u nodes; give the "
                       "same count to -N or leave one of them out",
                       size, nodes);
    if (!nodes) {
        if (!size)
            return zn_fail(err, "--zenith-gang needs to know the job's nodes; give -N "
                                "(or --zenith-gang=N)");
        nodes = size;
        *set_nodes = true;
    }
    if (nodes < 2)
        return zn_fail(err,
                       "--zenith-gang packs a job of 2 or more nodes, and this job has "
                       "%u; drop --zenith-gang or give -N 2 or more",
                       nodes);
    if (job->other_gpu_form && !job->gpus_per_node && !job->gpus_per_job)
        return zn_fail(err, "--zenith-gang needs the GPUs per node (--gpus-per-node=N "
                            "or --gres=gpu:N) or per job (--gpus=N), not per task or socket");
    per_node = job->gpus_per_node;
    if (!per_node && job->gpus_per_job) {
        if (job->gpus_per_job % nodes)
            return zn_fail(err,
                           "--zenith-gang: --gpus=%" PRIu64 " does not divide among %u "
                           "nodes; use --gpus-per-node",
                           job->gpus_per_job, nodes);
        per_node = job->gpus_per_job / nodes;
    }
    if (!per_node)
        return zn_fail(err, "--zenith-gang is for GPU jobs and this job asks for no GPU; "
                            "add --gpus-per-node=N or drop --zenith-gang");
    if (per_node > ZN_GANG_GPUS_MAX)
        return zn_fail(err,
                       "--zenith-gang: %" PRIu64 " GPUs per node is more than any "
                       "node has",
                       per_node);
    out->nodes = nodes;
    out->gpus_per_node = (unsigned)per_node;
    out->leaf_wait_given = job->leaf_wait != NULL;
    out->leaf_wait = leaf_wait;
    return 1;
}

void zn_gang_stamp_format(const struct zn_gang *gang, char *buf, size_t len)
{
    if (gang->leaf_wait_given)
        snprintf(buf, len, ZN_GANG_STAMP "nodes=%u,gpus-per-node=%u,leaf-wait=%u", gang->nodes,
                 gang->gpus_per_node, gang->leaf_wait);
    else
        snprintf(buf, len, ZN_GANG_STAMP "nodes=%u,gpus-per-node=%u", gang->nodes,
                 gang->gpus_per_node);
}

int zn_gang_stamp_find(const char *admin_comment, struct zn_gang *out)
{
    const char *p;
    unsigned nodes, gpus;
    int used = 0;

    if (!admin_comment)
        return 0;
    /* The stamp may follow an admin's own words, separated by a space. */
    for (p = strstr(admin_comment, ZN_GANG_STAMP); p; p = strstr(p + 1, ZN_GANG_STAMP)) {
        if (p != admin_comment && p[-1] != ' ')
            continue;
        if (sscanf(p, ZN_GANG_STAMP "nodes=%u,gpus-per-node=%u%n", &nodes, &gpus, &used) != 2 ||
            nodes < 2 || gpus < 1)
            continue;
        out->leaf_wait_given = false;
        out->leaf_wait = 0;
        if (strncmp(p + used, ",leaf-wait=", 11) == 0) {
            const char *q = p + used + 11;
            uint64_t wait;

            if (zn_parse_digits(&q, &wait) < 0 || wait > ZN_GANG_LEAF_WAIT_LIMIT)
                continue;
            out->leaf_wait_given = true;
            out->leaf_wait = (unsigned)wait;
            used = (int)(q - p);
        }
        if (p[used] == '\0' || p[used] == ' ') {
            out->nodes = nodes;
            out->gpus_per_node = gpus;
            return 1;
        }
    }
    return 0;
}

static int take_priority_param(const char *key, const char *value, void *ctx, struct zn_error *err)
{
    struct zn_gang_priority *out = ctx;
    const char *p = value;
    uint64_t number;

    if (!value)
        return zn_fail(err,
                       "PrioritySiteFactorParameters: \"%s\" is not KEY=VALUE; use "
                       "gang_base=N,gang_per_hour=N,gang_max=N",
                       key);
    if (zn_parse_digits(&p, &number) < 0 || *p || number > UINT32_MAX)
        return zn_fail(err,
                       "PrioritySiteFactorParameters: %s=%s is not a number from 0 to 4294967295",
                       key, value);
    if (strcmp(key, "gang_base") == 0)
        out->base = number;
    else if (strcmp(key, "gang_per_hour") == 0)
        out->per_hour = number;
    else if (strcmp(key, "gang_max") == 0)
        out->max = number;
    else
        return zn_fail(err,
                       "PrioritySiteFactorParameters: unknown key %s; zenith knows "
                       "gang_base, gang_per_hour and gang_max",
                       key);
    return 0;
}

int zn_gang_priority_parse(const char *params, uint32_t age_weight, uint32_t max_age,
                           struct zn_gang_priority *out, struct zn_error *err)
{
    /* A max_age of 0 makes every job's age factor full at once: nothing left to double. */
    out->base = 0;
    out->per_hour = max_age ? ((uint64_t)age_weight * 3600 + max_age / 2) / max_age : 0;
    if (out->per_hour > UINT32_MAX)
        out->per_hour = UINT32_MAX;
    out->max = age_weight;
    return each_param(params, "PrioritySiteFactorParameters", take_priority_param, out, err);
}

uint64_t zn_gang_priority_value(const struct zn_gang_priority *params, int64_t waited_seconds)
{
    uint64_t value;

    if (waited_seconds <= 0)
        return params->base;
    /* Every parameter is below 2^32 and the wait is held below 2^31 s (68 years): no overflow. */
    if (waited_seconds > INT32_MAX)
        waited_seconds = INT32_MAX;
    value = params->per_hour * (uint64_t)waited_seconds / 3600;
    value = params->base + (value < params->max ? value : params->max);
    /* slurmctld adds the factor to NICE_OFFSET (2^31) in a 32-bit field. */
    return value < INT32_MAX ? value : INT32_MAX;
}

int zn_tres_gpus(const char *tres, uint64_t *count)
{
    const char *p = tres;

    *count = 0;
    if (!tres)
        return 0;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        /* "gres:gpu:8", "gres:gpu:h100:8" (22.05) or "gres/gpu:8" (23.02 on). */
        if ((strncmp(p, "gres:gpu:", 9) == 0 || strncmp(p, "gres/gpu:", 9) == 0) && len > 9) {
            const char *num = p + len;
            const char *q;

            while (num[-1] != ':')
                num--;
            q = num;
            uint64_t value;

            if (zn_parse_digits(&q, &value) < 0 || q != p + len || value == 0)
                return -1;
            *count = value;
            return 1;
        }
        if (len == 8 && (strncmp(p, "gres:gpu", 8) == 0 || strncmp(p, "gres/gpu", 8) == 0)) {
            *count = 1;
            return 1;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}
