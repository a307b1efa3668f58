/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/gpus.h"
#include "runtime/parse.h"

void zn_step_gpus_clear(struct zn_step_gpus *gpus)
{
    if (!gpus)
        return;
    for (size_t i = 0; gpus->visible && i < gpus->count; i++)
        free(gpus->visible[i]);
    free(gpus->visible);
    free(gpus->index);
    memset(gpus, 0, sizeof(*gpus));
}

static int parse_indices(const struct zn_topology *topo, const char *what, const char *list,
                         struct zn_step_gpus *out, struct zn_error *err)
{
    uint64_t beyond;

    if (topo->ngpus == 0)
        return zn_fail(err,
                       "%s=%s names GPUs, but the topology %s has none; check the node's "
                       "gres.conf and its cached topology XML",
                       what, list, topo->source);
    /* The node's GPU count bounds the work: a list naming more GPUs fails at its first range. */
    if (zn_parse_index_list_within(what, list, (unsigned)topo->ngpus - 1, &beyond, &out->index,
                                   &out->count, err) < 0) {
        if (beyond)
            zn_fail(err,
                    "%s=%s: GPU %" PRIu64 " does not exist; the node has %zu GPUs (0-%zu) in "
                    "%s",
                    what, list, beyond, topo->ngpus, topo->ngpus - 1, topo->source);
        return -1;
    }
    snprintf(out->source, sizeof(out->source), "%s", what);
    return 0;
}

/* Split a comma-separated list into its tokens; NULL on error. */
static char **split_tokens(const char *text, size_t *count)
{
    char *copy = strdup(text), *save = NULL;
    char **tokens = calloc(strlen(text) + 1, sizeof(*tokens));
    size_t n = 0;

    if (!copy || !tokens)
        goto fail;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!(tokens[n] = strdup(tok)))
            goto fail;
        n++;
    }
    free(copy);
    *count = n;
    return tokens;
fail:
    for (size_t i = 0; tokens && i < n; i++)
        free(tokens[i]);
    free(tokens);
    free(copy);
    return NULL;
}

static int default_tokens(struct zn_step_gpus *out, struct zn_error *err)
{
    out->visible = calloc(out->count ? out->count : 1, sizeof(*out->visible));
    if (!out->visible)
        return zn_fail(err, "out of memory");
    for (size_t i = 0; i < out->count; i++) {
        char buf[16];
        snprintf(buf, sizeof(buf), "%u", out->index[i]);
        if (!(out->visible[i] = strdup(buf)))
            return zn_fail(err, "out of memory");
    }
    return 0;
}

int zn_step_gpus_from_list(const struct zn_topology *topo, const char *what, const char *list,
                           struct zn_step_gpus *out, struct zn_error *err)
{
    memset(out, 0, sizeof(*out));
    if (parse_indices(topo, what, list, out, err) < 0 || default_tokens(out, err) < 0) {
        zn_step_gpus_clear(out);
        return -1;
    }
    return 0;
}

static bool is_set(const char *value)
{
    return value && *value;
}

/* The one list that names the step's GPUs, and its variable's name in *what: Slurm's step list,
 * else its job list, else the visible-devices variable ("NoDevFiles" is Slurm's word for none).
 * NULL: a CPU-only step. Every reader of the step's GPUs decides through here. */
static const char *choose_list(const char *step_gpus, const char *job_gpus,
                               const char *visible_name, const char *visible, const char **what)
{
    if (is_set(step_gpus)) {
        *what = "SLURM_STEP_GPUS";
        return step_gpus;
    }
    if (is_set(job_gpus)) {
        *what = "SLURM_JOB_GPUS";
        return job_gpus;
    }
    if (is_set(visible) && strcmp(visible, "NoDevFiles") != 0) {
        *what = visible_name;
        return visible;
    }
    return NULL;
}

int zn_step_gpus_from_env(const struct zn_topology *topo, const char *step_gpus,
                          const char *job_gpus, const char *visible_name, const char *visible,
                          struct zn_step_gpus *out, struct zn_error *err)
{
    const char *what = NULL, *list = choose_list(step_gpus, job_gpus, visible_name, visible, &what);
    char **tokens = NULL;
    size_t ntokens = 0;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (!list)
        return 0; /* a CPU-only step */
    if (parse_indices(topo, what, list, out, err) < 0) {
        if (list == visible && visible[strspn(visible, "0123456789,-")] != '\0')
            zn_fail(err,
                    "%s=%s is not a list of GPU indices (UUIDs and MIG names cannot be "
                    "mapped to the topology); run under Slurm so SLURM_STEP_GPUS is set",
                    visible_name, visible);
        goto out;
    }
    if (is_set(visible) && list != visible) {
        tokens = split_tokens(visible, &ntokens);
        if (!tokens) {
            zn_fail(err, "out of memory");
            goto out;
        }
    }
    if (tokens && ntokens == out->count) {
        out->visible = tokens;
        tokens = NULL;
    } else if (default_tokens(out, err) < 0) {
        goto out;
    }
    rc = 0;
out:
    for (size_t i = 0; tokens && i < ntokens; i++)
        free(tokens[i]);
    free(tokens);
    if (rc < 0)
        zn_step_gpus_clear(out);
    return rc;
}

bool zn_env_read_getenv(void *ctx, const char *name, char *buf, size_t len)
{
    const char *value = getenv(name);

    (void)ctx;
    if (!value || !*value)
        return false;
    snprintf(buf, len, "%s", value);
    return true;
}

int zn_step_gpus_from_slurm(const struct zn_topology *topo, zn_env_reader read, void *ctx,
                            struct zn_step_gpus *out, char *note, size_t note_len,
                            struct zn_error *err)
{
    char step[256], job[256], visible[256];
    const char *visible_name = "CUDA_VISIBLE_DEVICES";
    bool have_step = read(ctx, "SLURM_STEP_GPUS", step, sizeof(step)),
         have_job = read(ctx, "SLURM_JOB_GPUS", job, sizeof(job));

    memset(out, 0, sizeof(*out));
    note[0] = '\0';
    if (topo->ngpus == 0) {
        if (have_step || have_job)
            snprintf(note, note_len,
                     "the step has GPUs %s but %s shows none: tasks are placed without GPU "
                     "locality",
                     have_step ? step : job, topo->source);
        return 0;
    }
    if (topo->gpus[0].vendor == ZN_GPU_AMD)
        visible_name = "ROCR_VISIBLE_DEVICES";
    return zn_step_gpus_from_env(topo, have_step ? step : NULL, have_job ? job : NULL, visible_name,
                                 read(ctx, visible_name, visible, sizeof(visible)) ? visible : NULL,
                                 out, err);
}

/* Non-empty comma-separated tokens, as split_tokens() would make of `list`. */
static size_t count_tokens(const char *list)
{
    size_t n = 0;

    for (const char *p = list; *p; p++)
        if (*p != ',' && (p == list || p[-1] == ','))
            n++;
    return n;
}

int zn_step_gpus_count_from_slurm(zn_env_reader read, void *ctx, unsigned *count,
                                  struct zn_error *err)
{
    char step[256], job[256], visible[256];
    const char *what = NULL, *list, *visible_name = "CUDA_VISIBLE_DEVICES";
    bool have_step = read(ctx, "SLURM_STEP_GPUS", step, sizeof(step)),
         have_job = read(ctx, "SLURM_JOB_GPUS", job, sizeof(job)),
         have_visible = read(ctx, visible_name, visible, sizeof(visible));
    unsigned *indices = NULL;
    size_t n = 0;

    *count = 0;
    /* Without a topology the vendor is unknown: CUDA's variable first, then ROCm's. */
    if (!have_visible) {
        visible_name = "ROCR_VISIBLE_DEVICES";
        have_visible = read(ctx, visible_name, visible, sizeof(visible));
    }
    list = choose_list(have_step ? step : NULL, have_job ? job : NULL, visible_name,
                       have_visible ? visible : NULL, &what);
    if (!list)
        return 0;
    if (list == visible) {
        /* The runtime's own tokens: indices, UUIDs or MIG names, one per GPU all the same. */
        n = count_tokens(visible);
    } else if (zn_parse_index_list(what, list, 65535, &indices, &n, err) < 0) {
        return -1;
    }
    free(indices);
    *count = (unsigned)n;
    return 0;
}
