/* SPDX-License-Identifier: GPL-2.0-or-later */
/* select/zenith_cons_tres (Slurm 22.05): select/cons_tres with Zenith's node choice. Every
 * select call goes to cons_tres; job_test first offers cons_tres the core's candidate node sets,
 * narrowest first, and falls back to the whole set, so a job never waits because of Zenith. */
#include "config.h" /* Slurm's (-iquote): slurm_xlator.h needs its USE_ALIAS */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "src/common/slurm_xlator.h" /* first, as in Slurm's own plugins */
#include "src/common/bitstring.h"
#include "src/common/log.h"
#include "src/common/plugin.h"
#include "src/common/select.h"
#include "src/slurmctld/slurmctld.h"

#include "select/core/estimate.h"
#include "select/core/place.h"
#include "select/slurm-22.05/job.h"
#include "select/slurm-22.05/view.h"

/* The name keeps "cons_tres" in it: slurmctld tests SelectType for that string before it
 * allows dynamic nodes and reservation core counts. */
const char plugin_name[] = "Zenith gang and GPU packing placement over cons_tres";
const char plugin_type[] = "select/zenith_cons_tres";
const uint32_t plugin_id = 209; /* cons_tres is 109; every select plugin needs its own id */
const uint32_t plugin_version = SLURM_VERSION_NUMBER;

/* Candidate node sets offered to cons_tres per decision: each costs one cons_tres job_test. */
#define ZN_RUN_NOW_CANDIDATES  8
#define ZN_WILL_RUN_CANDIDATES 4

/* Same order as slurm_select_ops_t (src/common/select.h). */
static const char *syms[] = {
    "plugin_id",
    "select_p_state_save",
    "select_p_state_restore",
    "select_p_job_init",
    "select_p_node_init",
    "select_p_job_test",
    "select_p_job_begin",
    "select_p_job_ready",
    "select_p_job_expand",
    "select_p_job_resized",
    "select_p_job_signal",
    "select_p_job_fini",
    "select_p_job_suspend",
    "select_p_job_resume",
    "select_p_step_pick_nodes",
    "select_p_step_start",
    "select_p_step_finish",
    "select_p_select_nodeinfo_pack",
    "select_p_select_nodeinfo_unpack",
    "select_p_select_nodeinfo_alloc",
    "select_p_select_nodeinfo_free",
    "select_p_select_nodeinfo_set_all",
    "select_p_select_nodeinfo_set",
    "select_p_select_nodeinfo_get",
    "select_p_select_jobinfo_alloc",
    "select_p_select_jobinfo_free",
    "select_p_select_jobinfo_set",
    "select_p_select_jobinfo_get",
    "select_p_select_jobinfo_copy",
    "select_p_select_jobinfo_pack",
    "select_p_select_jobinfo_unpack",
    "select_p_select_jobinfo_sprint",
    "select_p_select_jobinfo_xstrdup",
    "select_p_get_info_from_plugin",
    "select_p_update_node_config",
    "select_p_reconfigure",
    "select_p_resv_test",
};

static slurm_select_ops_t inner;
static plugin_context_t *inner_context;
static pthread_mutex_t view_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zn_view *view;
static struct zn_gang_wait_limits wait_limits; /* under view_lock */
static struct zn_estimates estimates;          /* under view_lock */

/* SchedulerParameters' zenith_ keys; a bad one is logged and the defaults stand. */
static void read_wait_limits(void)
{
    struct zn_error err;

    if (zn_gang_wait_limits_parse(slurm_conf.sched_params, &wait_limits, &err) < 0)
        error("%s; select/zenith_cons_tres uses the defaults (zenith_gang_leaf_wait=%u, "
              "zenith_gang_leaf_wait_max=%u) until it is fixed (scontrol reconfigure)",
              err.text, wait_limits.leaf_wait, wait_limits.leaf_wait_max);
}

extern int init(void)
{
    if (sizeof(syms) != sizeof(inner)) {
        error("zenith: select/zenith_cons_tres was built for another select API; rebuild it "
              "against this Slurm's source");
        return SLURM_ERROR;
    }
    inner_context =
        plugin_context_create("select", "select/cons_tres", (void **)&inner, syms, sizeof(syms));
    if (!inner_context) {
        error("zenith: cannot load select/cons_tres, which select/zenith_cons_tres runs on; is "
              "select_cons_tres.so in PluginDir?");
        return SLURM_ERROR;
    }
    slurm_mutex_lock(&view_lock);
    read_wait_limits();
    slurm_mutex_unlock(&view_lock);
    return SLURM_SUCCESS;
}

extern int fini(void)
{
    int rc = SLURM_SUCCESS;

    slurm_mutex_lock(&view_lock);
    zn_view_free(view);
    view = NULL;
    slurm_mutex_unlock(&view_lock);
    if (inner_context)
        rc = plugin_context_destroy(inner_context);
    inner_context = NULL;
    return rc;
}

/* The model follows the node table: built when slurmctld (re)reads its nodes. */
static void rebuild_view(void)
{
    slurm_mutex_lock(&view_lock);
    zn_view_free(view);
    view = zn_view_build();
    read_wait_limits();
    slurm_mutex_unlock(&view_lock);
}

extern int select_p_node_init(void)
{
    int rc = (*inner.node_init)();

    if (rc == SLURM_SUCCESS)
        rebuild_view();
    return rc;
}

extern int select_p_reconfigure(void)
{
    int rc = (*inner.reconfigure)();

    rebuild_view();
    return rc;
}

static void list_nodes(const struct zn_candidate *cand, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < cand->count && used + 1 < len; i++) {
        node_record_t *node = node_record_table_ptr[zn_view_slurm_index(view, cand->nodes[i])];
        int n = snprintf(buf + used, len - used, "%s%s", i ? "," : "", node ? node->name : "?");
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* The nodes of a candidate (RUN_NOW) or of its whole domain (WILL_RUN), within allowed. */
static bitstr_t *candidate_bitmap(const struct zn_candidate *cand, bitstr_t *allowed, bool domain)
{
    bitstr_t *set = bit_alloc(bit_size(allowed));
    const size_t *nodes = cand->nodes;
    size_t count = cand->count;

    if (domain && cand->domain) {
        nodes = cand->domain->nodes;
        count = cand->domain->node_count;
    }
    for (size_t i = 0; i < count; i++) {
        int index = zn_view_slurm_index(view, nodes[i]);
        if (index < bit_size(allowed) && bit_test(allowed, index))
            bit_set(set, index);
    }
    return set;
}

static int inner_test(job_record_t *job, bitstr_t *bitmap, uint32_t min_nodes, uint32_t max_nodes,
                      uint32_t req_nodes, uint16_t mode, List candidates, List *preemptees,
                      bitstr_t *exc_cores)
{
    return (*inner.job_test)(job, bitmap, min_nodes, max_nodes, req_nodes, mode, candidates,
                             preemptees, exc_cores);
}

/* RUN_NOW: the first candidate cons_tres accepts. */
static int run_now(job_record_t *job, const struct zn_job_request *req,
                   const struct zn_placement *p, bitstr_t *bitmap, uint32_t min_nodes,
                   uint32_t max_nodes, uint32_t req_nodes, uint16_t mode, bitstr_t *exc_cores)
{
    for (size_t i = 0; i < p->count; i++) {
        bitstr_t *trial = candidate_bitmap(&p->list[i], bitmap, false);
        char nodes[512];

        if (inner_test(job, trial, min_nodes, max_nodes, req_nodes, mode, NULL, NULL, exc_cores) ==
            SLURM_SUCCESS) {
            list_nodes(&p->list[i], nodes, sizeof(nodes));
            log_flag(SELECT_TYPE,
                     "zenith: %pJ %s %ux%u GPUs: %s %s (%s), %lu GPUs left free there, "
                     "candidate %zu of %zu",
                     job, req->gang ? "gang" : "packing", req->nodes, req->gpus_per_node,
                     zn_scope_name(p->list[i].scope), p->list[i].where, nodes, p->list[i].left_free,
                     i + 1, p->count);
            bit_copybits(bitmap, trial);
            FREE_NULL_BITMAP(trial);
            return SLURM_SUCCESS;
        }
        FREE_NULL_BITMAP(trial);
    }
    return SLURM_ERROR;
}

/* WILL_RUN (backfill): the domain where the job starts first; ties to the narrower. While the
 * wait rule holds a gang, its earliest start in a leaf or tighter is kept for the main
 * scheduler (estimates), and a wider domain counts as starting no sooner than it opens, so
 * backfill reserves the leaf the job will really get when that leaf frees before the wait
 * ends; when no leaf does, the wait cannot pay and the wider domains count as open now, as
 * they are for the main scheduler once it reads that estimate. */
static int will_run(job_record_t *job, const struct zn_job_request *req,
                    const struct zn_placement *p, bitstr_t *bitmap, uint32_t min_nodes,
                    uint32_t max_nodes, uint32_t req_nodes, uint16_t mode, bitstr_t *exc_cores)
{
    time_t starts[ZN_WILL_RUN_CANDIDATES], best_start = 0;
    bool fits[ZN_WILL_RUN_CANDIDATES];
    int64_t narrow_start = ZN_NARROW_NEVER;
    size_t best = p->count, count = p->count;
    bool hold;
    int rc;

    if (count > ZN_WILL_RUN_CANDIDATES)
        count = ZN_WILL_RUN_CANDIDATES;
    for (size_t i = 0; i < count; i++) {
        bitstr_t *trial = candidate_bitmap(&p->list[i], bitmap, true);

        fits[i] = inner_test(job, trial, min_nodes, max_nodes, req_nodes, mode, NULL, NULL,
                             exc_cores) == SLURM_SUCCESS;
        starts[i] = job->start_time;
        if (fits[i] && !zn_scope_is_wide(p->list[i].scope) && starts[i] < narrow_start)
            narrow_start = starts[i];
        FREE_NULL_BITMAP(trial);
    }
    if (p->wide_opens_at)
        zn_estimate_put(&estimates, job->job_id, narrow_start);
    hold = zn_leaf_wait_pays(narrow_start, p->wide_opens_at);
    for (size_t i = 0; i < count; i++) {
        time_t start = starts[i];

        if (!fits[i])
            continue;
        if (hold && p->list[i].opens_at > start)
            start = (time_t)p->list[i].opens_at;
        if (best == p->count || start < best_start) {
            best = i;
            best_start = start;
        }
    }
    if (best == p->count)
        return SLURM_ERROR;
    /* Once more on the winner, so the job's start time and the bitmap are its answer. */
    bitstr_t *trial = candidate_bitmap(&p->list[best], bitmap, true);
    rc = inner_test(job, trial, min_nodes, max_nodes, req_nodes, mode, NULL, NULL, exc_cores);
    if (rc == SLURM_SUCCESS) {
        if (job->start_time < best_start)
            job->start_time = best_start;
        log_flag(SELECT_TYPE, "zenith: %pJ gang %ux%u GPUs would start in %s %s at %ld%s", job,
                 req->nodes, req->gpus_per_node, zn_scope_name(p->list[best].scope),
                 p->list[best].where, (long)job->start_time,
                 !p->list[best].opens_at ? ""
                 : hold                  ? " (when its leaf wait ends)"
                                         : " (no leaf frees for it before its leaf wait ends)");
        bit_copybits(bitmap, trial);
    }
    FREE_NULL_BITMAP(trial);
    return rc;
}

extern int select_p_job_test(job_record_t *job_ptr, bitstr_t *bitmap, uint32_t min_nodes,
                             uint32_t max_nodes, uint32_t req_nodes, uint16_t mode,
                             List preemptee_candidates, List *preemptee_job_list,
                             bitstr_t *exc_core_bitmap)
{
    struct zn_gang_wait_limits limits;
    struct zn_job_request req;
    struct zn_placement placement = {0};
    const unsigned char *usable;
    struct zn_cluster *cluster;
    struct zn_error place_err;
    const char *why = NULL;
    int rc = SLURM_ERROR;
    bool now = mode == SELECT_MODE_RUN_NOW;

    /* Zenith steers only placement questions it can answer; preemption stays cons_tres's. */
    if (!job_ptr || !bitmap || mode == SELECT_MODE_TEST_ONLY ||
        (preemptee_candidates && list_count(preemptee_candidates)))
        goto plain;
    slurm_mutex_lock(&view_lock);
    limits = wait_limits;
    slurm_mutex_unlock(&view_lock);
    if (zn_job_request(job_ptr, min_nodes, &limits, &req, &why) != 1)
        goto plain;
    if (!now && !req.gang) {
        why = "backfill keeps cons_tres's choice for jobs that are not gangs";
        goto plain;
    }
    req.plan_ahead = !now;
    slurm_mutex_lock(&view_lock);
    if (now && req.gang)
        req.narrow_start = zn_estimate_get(&estimates, job_ptr->job_id);
    if (!view || !(cluster = zn_view_refresh(view, bitmap, now, &usable))) {
        slurm_mutex_unlock(&view_lock);
        why = "no cluster model (see the log above)";
        goto plain;
    }
    if (zn_place(cluster, usable, &req, now ? ZN_RUN_NOW_CANDIDATES : ZN_WILL_RUN_CANDIDATES,
                 &placement, &place_err) < 0) {
        slurm_mutex_unlock(&view_lock);
        error("%s; %pJ is placed by plain cons_tres", place_err.text, job_ptr);
        goto plain;
    }
    if (now && placement.wait_skipped_until)
        log_flag(SELECT_TYPE,
                 "zenith: %pJ gang %ux%u GPUs does not wait for a leaf switch: backfill's plan "
                 "starts it in none before its leaf wait ends at %ld",
                 job_ptr, req.nodes, req.gpus_per_node, (long)placement.wait_skipped_until);
    if (now)
        rc = run_now(job_ptr, &req, &placement, bitmap, min_nodes, max_nodes, req_nodes, mode,
                     exc_core_bitmap);
    else
        rc = will_run(job_ptr, &req, &placement, bitmap, min_nodes, max_nodes, req_nodes, mode,
                      exc_core_bitmap);
    slurm_mutex_unlock(&view_lock);
    if (rc != SLURM_SUCCESS && now && placement.wide_opens_at) {
        /* The wait rule holds: no leaf now, and cons_tres alone would span leaves. */
        log_flag(SELECT_TYPE,
                 "zenith: %pJ gang %ux%u GPUs waits for a leaf switch: none fits now, and "
                 "wider domains open to it at %ld, in %ld s (leaf wait %u s)",
                 job_ptr, req.nodes, req.gpus_per_node, (long)placement.wide_opens_at,
                 (long)(placement.wide_opens_at - req.now), req.leaf_wait);
        zn_placement_free(&placement);
        return SLURM_ERROR;
    }
    why = placement.count ? "cons_tres accepted none of Zenith's candidates"
                          : "no candidate fits now";
    zn_placement_free(&placement);
    if (rc == SLURM_SUCCESS)
        return rc;
plain:
    if (why && job_ptr)
        log_flag(SELECT_TYPE, "zenith: %pJ left to cons_tres: %s", job_ptr, why);
    return inner_test(job_ptr, bitmap, min_nodes, max_nodes, req_nodes, mode, preemptee_candidates,
                      preemptee_job_list, exc_core_bitmap);
}

/* ------------------------------------------------------------------ forwarded as they are */

extern int select_p_state_save(char *dir_name)
{
    return (*inner.state_save)(dir_name);
}

extern int select_p_state_restore(char *dir_name)
{
    return (*inner.state_restore)(dir_name);
}

extern int select_p_job_init(List jobs)
{
    return (*inner.job_init)(jobs);
}

extern int select_p_job_begin(job_record_t *job_ptr)
{
    return (*inner.job_begin)(job_ptr);
}

extern int select_p_job_ready(job_record_t *job_ptr)
{
    return (*inner.job_ready)(job_ptr);
}

extern int select_p_job_expand(job_record_t *from_job_ptr, job_record_t *to_job_ptr)
{
    return (*inner.job_expand)(from_job_ptr, to_job_ptr);
}

extern int select_p_job_resized(job_record_t *job_ptr, node_record_t *node_ptr)
{
    return (*inner.job_resized)(job_ptr, node_ptr);
}

extern int select_p_job_signal(job_record_t *job_ptr, int signal)
{
    return (*inner.job_signal)(job_ptr, signal);
}

extern int select_p_job_fini(job_record_t *job_ptr)
{
    return (*inner.job_fini)(job_ptr);
}

extern int select_p_job_suspend(job_record_t *job_ptr, bool indf_susp)
{
    return (*inner.job_suspend)(job_ptr, indf_susp);
}

extern int select_p_job_resume(job_record_t *job_ptr, bool indf_susp)
{
    return (*inner.job_resume)(job_ptr, indf_susp);
}

extern bitstr_t *select_p_step_pick_nodes(job_record_t *job_ptr, select_jobinfo_t *jobinfo,
                                          uint32_t node_count, bitstr_t **avail_nodes)
{
    return (*inner.step_pick_nodes)(job_ptr, jobinfo, node_count, avail_nodes);
}

extern int select_p_step_start(step_record_t *step_ptr)
{
    return (*inner.step_start)(step_ptr);
}

extern int select_p_step_finish(step_record_t *step_ptr, bool killing_step)
{
    return (*inner.step_finish)(step_ptr, killing_step);
}

extern int select_p_select_nodeinfo_pack(select_nodeinfo_t *nodeinfo, buf_t *buffer,
                                         uint16_t protocol_version)
{
    return (*inner.nodeinfo_pack)(nodeinfo, buffer, protocol_version);
}

extern int select_p_select_nodeinfo_unpack(select_nodeinfo_t **nodeinfo, buf_t *buffer,
                                           uint16_t protocol_version)
{
    return (*inner.nodeinfo_unpack)(nodeinfo, buffer, protocol_version);
}

extern select_nodeinfo_t *select_p_select_nodeinfo_alloc(void)
{
    return (*inner.nodeinfo_alloc)();
}

extern int select_p_select_nodeinfo_free(select_nodeinfo_t *nodeinfo)
{
    return (*inner.nodeinfo_free)(nodeinfo);
}

extern int select_p_select_nodeinfo_set_all(void)
{
    return (*inner.nodeinfo_set_all)();
}

extern int select_p_select_nodeinfo_set(job_record_t *job_ptr)
{
    return (*inner.nodeinfo_set)(job_ptr);
}

extern int select_p_select_nodeinfo_get(select_nodeinfo_t *nodeinfo,
                                        enum select_nodedata_type dinfo, enum node_states state,
                                        void *data)
{
    return (*inner.nodeinfo_get)(nodeinfo, dinfo, state, data);
}

extern select_jobinfo_t *select_p_select_jobinfo_alloc(void)
{
    return (*inner.jobinfo_alloc)();
}

extern int select_p_select_jobinfo_free(select_jobinfo_t *jobinfo)
{
    return (*inner.jobinfo_free)(jobinfo);
}

extern int select_p_select_jobinfo_set(select_jobinfo_t *jobinfo,
                                       enum select_jobdata_type data_type, void *data)
{
    return (*inner.jobinfo_set)(jobinfo, data_type, data);
}

extern int select_p_select_jobinfo_get(select_jobinfo_t *jobinfo,
                                       enum select_jobdata_type data_type, void *data)
{
    return (*inner.jobinfo_get)(jobinfo, data_type, data);
}

extern select_jobinfo_t *select_p_select_jobinfo_copy(select_jobinfo_t *jobinfo)
{
    return (*inner.jobinfo_copy)(jobinfo);
}

extern int select_p_select_jobinfo_pack(select_jobinfo_t *jobinfo, buf_t *buffer,
                                        uint16_t protocol_version)
{
    return (*inner.jobinfo_pack)(jobinfo, buffer, protocol_version);
}

extern int select_p_select_jobinfo_unpack(select_jobinfo_t **jobinfo, buf_t *buffer,
                                          uint16_t protocol_version)
{
    return (*inner.jobinfo_unpack)(jobinfo, buffer, protocol_version);
}

extern char *select_p_select_jobinfo_sprint(select_jobinfo_t *jobinfo, char *buf, size_t size,
                                            int mode)
{
    return (*inner.jobinfo_sprint)(jobinfo, buf, size, mode);
}

extern char *select_p_select_jobinfo_xstrdup(select_jobinfo_t *jobinfo, int mode)
{
    return (*inner.jobinfo_xstrdup)(jobinfo, mode);
}

extern int select_p_get_info_from_plugin(enum select_plugindata_info dinfo, job_record_t *job_ptr,
                                         void *data)
{
    return (*inner.get_info_from_plugin)(dinfo, job_ptr, data);
}

extern int select_p_update_node_config(int index)
{
    return (*inner.update_node_config)(index);
}

extern bitstr_t *select_p_resv_test(resv_desc_msg_t *resv_desc_ptr, uint32_t node_cnt,
                                    bitstr_t *avail_bitmap, bitstr_t **core_bitmap)
{
    return (*inner.resv_test)(resv_desc_ptr, node_cnt, avail_bitmap, core_bitmap);
}
