/* SPDX-License-Identifier: GPL-2.0-or-later */
/* job_submit/zenith (Slurm 22.05): validates a gang request (ZENITH_GANG in the job's SPANK
 * environment, written by --zenith-gang) and stamps the accepted shape into admin_comment,
 * which users cannot write. The select and priority plugins trust only the stamp. */
#include "config.h" /* Slurm's (-iquote): slurm_xlator.h needs its USE_ALIAS */

#include <stdlib.h>
#include <string.h>

#include "src/common/slurm_xlator.h" /* first, as in Slurm's own plugins */
#include "src/common/log.h"
#include "src/common/xmalloc.h"
#include "src/common/xstring.h"
#include "src/slurmctld/slurmctld.h"

#include "select/core/gang.h"

const char plugin_name[] = "Zenith gang request validation";
const char plugin_type[] = "job_submit/zenith";
const uint32_t plugin_version = SLURM_VERSION_NUMBER;

static const char *spank_value(char **env, uint32_t size, const char *name)
{
    size_t len = strlen(name);

    for (uint32_t i = 0; env && i < size; i++)
        if (env[i] && strncmp(env[i], name, len) == 0 && env[i][len] == '=')
            return env[i] + len + 1;
    return NULL;
}

static uint64_t gpus_in(const char *tres, bool *unreadable)
{
    uint64_t count = 0;

    if (zn_tres_gpus(tres, &count) < 0)
        *unreadable = true;
    return count;
}

/* An admin's comment keeps its words; any stamp in it goes (only this plugin stamps). */
static char *without_stamp(const char *comment)
{
    char *out = NULL;
    char *copy, *word, *save = NULL;

    if (!comment)
        return NULL;
    copy = xstrdup(comment);
    for (word = strtok_r(copy, " ", &save); word; word = strtok_r(NULL, " ", &save)) {
        if (strncmp(word, ZN_GANG_STAMP, strlen(ZN_GANG_STAMP)) == 0)
            continue;
        xstrfmtcat(out, "%s%s", out ? " " : "", word);
    }
    xfree(copy);
    return out;
}

extern int job_submit(job_desc_msg_t *job_desc, uint32_t submit_uid, char **err_msg)
{
    struct zn_gang_job job = {0};
    struct zn_gang_wait_limits limits;
    struct zn_gang gang;
    struct zn_error err;
    char stamp[ZN_GANG_STAMP_SIZE];
    char *comment;
    bool set_nodes = false, unreadable = false;
    int rc;

    (void)submit_uid;
    comment = without_stamp(job_desc->admin_comment);
    xfree(job_desc->admin_comment);
    job_desc->admin_comment = comment;

    job.gang = spank_value(job_desc->spank_job_env, job_desc->spank_job_env_size, ZN_GANG_ENV);
    job.leaf_wait =
        spank_value(job_desc->spank_job_env, job_desc->spank_job_env_size, ZN_GANG_WAIT_ENV);
    if (!job.gang && !job.leaf_wait)
        return SLURM_SUCCESS;
    /* Read on every gang submission, so scontrol reconfigure applies at once. */
    if (zn_gang_wait_limits_parse(slurm_conf.sched_params, &limits, &err) < 0)
        error("%s; job_submit/zenith uses the defaults meanwhile", err.text);
    job.min_nodes = job_desc->min_nodes == NO_VAL ? 0 : job_desc->min_nodes;
    job.max_nodes = job_desc->max_nodes == NO_VAL ? 0 : job_desc->max_nodes;
    job.gpus_per_node = gpus_in(job_desc->tres_per_node, &unreadable);
    job.gpus_per_job = gpus_in(job_desc->tres_per_job, &unreadable);
    job.other_gpu_form = gpus_in(job_desc->tres_per_task, &unreadable) ||
                         gpus_in(job_desc->tres_per_socket, &unreadable) || unreadable;
    rc = zn_gang_validate(&job, &limits, &gang, &set_nodes, &err);
    if (rc < 0) {
        *err_msg = xstrdup(err.text);
        info("%s (job from uid %u rejected)", err.text, submit_uid);
        return ESLURM_INVALID_GRES;
    }
    if (set_nodes)
        job_desc->min_nodes = job_desc->max_nodes = gang.nodes;
    zn_gang_stamp_format(&gang, stamp, sizeof(stamp));
    xstrfmtcat(job_desc->admin_comment, "%s%s", job_desc->admin_comment ? " " : "", stamp);
    return SLURM_SUCCESS;
}

/* A stamped gang keeps the shape it was validated for. scontrol shows only the return code of
 * an update (22.05 drops a job_modify message), so the reason goes to slurmctld's log. */
extern int job_modify(job_desc_msg_t *job_desc, job_record_t *job_ptr, uint32_t modify_uid,
                      char **err_msg)
{
    struct zn_gang gang;
    bool nodes, gpus;

    (void)err_msg;
    if (!job_ptr || zn_gang_stamp_find(job_ptr->admin_comment, &gang) != 1)
        return SLURM_SUCCESS;
    nodes = (job_desc->min_nodes != NO_VAL && job_desc->min_nodes != gang.nodes) ||
            (job_desc->max_nodes != NO_VAL && job_desc->max_nodes != gang.nodes);
    gpus = job_desc->tres_per_node || job_desc->tres_per_job || job_desc->tres_per_task ||
           job_desc->tres_per_socket;
    if (!nodes && !gpus)
        return SLURM_SUCCESS;
    info("zenith: %pJ is a --zenith-gang job of %u nodes x %u GPUs; uid %u may not change its %s "
         "(cancel it and submit again)",
         job_ptr, gang.nodes, gang.gpus_per_node, modify_uid, nodes ? "node count" : "GPUs");
    return nodes ? ESLURM_INVALID_NODE_COUNT : ESLURM_INVALID_GRES;
}
