/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <pmix.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher/slurmenv.h"
#include "launcher/world.h"
#include "runtime/parse.h"

static pmix_proc_t self;

const char *zr_bootstrap_name(enum zr_bootstrap via)
{
    switch (via) {
    case ZR_BOOT_PMIX:
        return "PMIx";
    case ZR_BOOT_SLURM:
        return "Slurm's environment";
    case ZR_BOOT_SINGLE:
        break;
    }
    return "single process";
}

static int pmix_uint(const pmix_proc_t *proc, const char *key, unsigned *out)
{
    pmix_value_t *v = NULL;
    int rc = -1;

    if (PMIx_Get(proc, key, NULL, 0, &v) != PMIX_SUCCESS || !v)
        return -1;
    switch (v->type) {
    case PMIX_UINT32:
        *out = v->data.uint32;
        rc = 0;
        break;
    case PMIX_UINT16:
        *out = v->data.uint16;
        rc = 0;
        break;
    case PMIX_PROC_RANK:
        *out = v->data.rank;
        rc = 0;
        break;
    default:
        break;
    }
    PMIX_VALUE_RELEASE(v);
    return rc;
}

static int init_pmix(struct zr_world *w, struct zn_error *err)
{
    pmix_proc_t job;
    int rc = PMIx_Init(&self, NULL, 0);

    if (rc != PMIX_SUCCESS) {
        snprintf(w->why, sizeof(w->why), "PMIx_Init failed: %s", PMIx_Error_string(rc));
        return 1;
    }
    w->pmix_up = true;
    PMIX_LOAD_PROCID(&job, self.nspace, PMIX_RANK_WILDCARD);
    w->rank = self.rank;
    if (pmix_uint(&job, PMIX_JOB_SIZE, &w->size) < 0 ||
        pmix_uint(&job, PMIX_LOCAL_SIZE, &w->local_size) < 0 ||
        pmix_uint(&self, PMIX_LOCAL_RANK, &w->local_rank) < 0 ||
        pmix_uint(&self, PMIX_NODEID, &w->node_rank) < 0)
        return zn_fail(err,
                       "the PMIx server (namespace %s) does not say this rank's job size, local "
                       "rank and node; is srun's PMIx plugin older than PMIx 3?",
                       self.nspace);
    /* Not every server publishes the node count; Slurm's step environment has it too. */
    if (pmix_uint(&job, PMIX_NUM_NODES, &w->nnodes) < 0) {
        const char *n = getenv("SLURM_STEP_NUM_NODES");
        if (!n || zn_parse_count("SLURM_STEP_NUM_NODES", n, 1u << 24, &w->nnodes, err) < 0)
            return zn_fail(err, "neither PMIx nor Slurm says how many nodes the job has");
    }
    return 0;
}

static int slurm_count(const char *name, unsigned *out, bool zero_ok, struct zn_error *err)
{
    const char *text = getenv(name);
    const char *p = text;
    uint64_t v;

    if (!text)
        return zn_fail(err, "%s is not set in this Slurm step", name);
    if (zn_parse_digits(&p, &v) < 0 || *p || v > (1u << 24) || (!zero_ok && v == 0))
        return zn_fail(err, "%s=%s is not a number Slurm would write", name, text);
    *out = (unsigned)v;
    return 0;
}

static int init_slurm(struct zr_world *w, struct zn_error *err)
{
    const char *per_node = getenv("SLURM_STEP_TASKS_PER_NODE");

    w->via = ZR_BOOT_SLURM;
    if (slurm_count("SLURM_PROCID", &w->rank, true, err) < 0 ||
        slurm_count("SLURM_STEP_NUM_TASKS", &w->size, false, err) < 0 ||
        slurm_count("SLURM_LOCALID", &w->local_rank, true, err) < 0 ||
        slurm_count("SLURM_NODEID", &w->node_rank, true, err) < 0 ||
        slurm_count("SLURM_STEP_NUM_NODES", &w->nnodes, false, err) < 0 ||
        zr_tasks_on_node("SLURM_STEP_TASKS_PER_NODE", per_node, w->node_rank, &w->local_size, err) <
            0 ||
        zr_first_host("SLURM_STEP_NODELIST", getenv("SLURM_STEP_NODELIST"), w->first_host,
                      sizeof(w->first_host), err) < 0)
        return -1;
    return 0;
}

int zr_world_init(struct zr_world *w, struct zn_error *err)
{
    const char *job = getenv("SLURM_JOB_ID"), *step = getenv("SLURM_STEP_ID");
    int rc;

    memset(w, 0, sizeof(*w));
    w->via = ZR_BOOT_SINGLE;
    w->size = w->local_size = w->nnodes = 1;
    if (gethostname(w->host, sizeof(w->host)) < 0)
        snprintf(w->host, sizeof(w->host), "localhost");
    /* The batch script has a job id but no step: it is one process, not a rank. */
    if (job && step)
        snprintf(w->job_step, sizeof(w->job_step), "%s.%s", job, step);

    if (getenv("PMIX_RANK") && getenv("PMIX_NAMESPACE")) {
        w->via = ZR_BOOT_PMIX;
        rc = init_pmix(w, err);
        if (rc <= 0)
            return rc;
    } else {
        snprintf(w->why, sizeof(w->why), "no PMIx server in this step (srun --mpi=none?)");
    }
    if (w->job_step[0] && getenv("SLURM_PROCID"))
        return init_slurm(w, err);
    w->via = ZR_BOOT_SINGLE;
    w->rank = w->local_rank = w->node_rank = 0;
    return 0;
}

static int put_string(const char *key, const char *text)
{
    pmix_value_t value;
    int rc;

    PMIX_VALUE_LOAD(&value, text, PMIX_STRING);
    rc = PMIx_Put(PMIX_GLOBAL, key, &value);
    PMIX_VALUE_DESTRUCT(&value);
    return rc == PMIX_SUCCESS ? 0 : -1;
}

/* A string another rank published; NULL if it did not. Caller frees. */
static char *get_string(unsigned rank, const char *key)
{
    pmix_proc_t peer;
    pmix_value_t *v = NULL;
    char *out = NULL;

    PMIX_LOAD_PROCID(&peer, self.nspace, rank);
    if (PMIx_Get(&peer, key, NULL, 0, &v) == PMIX_SUCCESS && v && v->type == PMIX_STRING)
        out = strdup(v->data.string ? v->data.string : "");
    if (v)
        PMIX_VALUE_RELEASE(v);
    return out;
}

static int format_rendezvous(const struct zr_rendezvous *rv, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s %u %s %s", rv->master_addr[0] ? rv->master_addr : "-",
                     rv->master_port, rv->nccl_id[0] ? rv->nccl_id : "-",
                     rv->preflight_id[0] ? rv->preflight_id : "-");
    return n > 0 && (size_t)n < len ? 0 : -1;
}

static int parse_rendezvous(const char *text, struct zr_rendezvous *rv)
{
    char nccl[ZR_NCCL_ID_HEX + 1], preflight[ZR_NCCL_ID_HEX + 1];

    memset(rv, 0, sizeof(*rv));
    if (sscanf(text, "%255s %u %256s %256s", rv->master_addr, &rv->master_port, nccl, preflight) !=
        4)
        return -1;
    if (strcmp(nccl, "-") != 0)
        snprintf(rv->nccl_id, sizeof(rv->nccl_id), "%s", nccl);
    if (strcmp(preflight, "-") != 0)
        snprintf(rv->preflight_id, sizeof(rv->preflight_id), "%s", preflight);
    return 0;
}

int zr_world_exchange(struct zr_world *w, unsigned round, const char *status,
                      struct zr_rendezvous *rv, char *failure, size_t len, struct zn_error *err)
{
    char key[64], text[1024];
    pmix_info_t collect;
    bool yes = true;
    int rc = -1;

    failure[0] = '\0';
    if (!w->pmix_up) {
        if (*status)
            snprintf(failure, len, "%s", status);
        return 0;
    }
    snprintf(key, sizeof(key), "zenith.status.%u", round);
    if (put_string(key, status) < 0)
        return zn_fail(err, "rank %u could not publish its state through PMIx", w->rank);
    if (round == 1 && w->rank == 0 &&
        (format_rendezvous(rv, text, sizeof(text)) < 0 ||
         put_string("zenith.rendezvous", text) < 0))
        return zn_fail(err, "rank 0 could not publish MASTER_ADDR/MASTER_PORT through PMIx");
    if (PMIx_Commit() != PMIX_SUCCESS)
        return zn_fail(err, "rank %u: PMIx_Commit failed", w->rank);
    PMIX_INFO_LOAD(&collect, PMIX_COLLECT_DATA, &yes, PMIX_BOOL);
    rc = PMIx_Fence(NULL, 0, &collect, 1);
    PMIX_INFO_DESTRUCT(&collect);
    if (rc != PMIX_SUCCESS)
        return zn_fail(err, "rank %u: PMIx fence failed: %s", w->rank, PMIx_Error_string(rc));

    for (unsigned r = 0; r < w->size && !failure[0]; r++) {
        char *got = r == w->rank ? strdup(status) : get_string(r, key);
        if (!got)
            return zn_fail(err, "rank %u did not receive rank %u's state", w->rank, r);
        if (*got) {
            char *host = get_string(r, PMIX_HOSTNAME);
            snprintf(failure, len, "rank %u on %s: %s", r, host ? host : "?", got);
            free(host);
        }
        free(got);
    }
    if (round == 1 && w->rank != 0 && !failure[0]) {
        char *got = get_string(0, "zenith.rendezvous");
        rc = got ? parse_rendezvous(got, rv) : -1;
        free(got);
        if (rc < 0)
            return zn_fail(err, "rank %u did not receive MASTER_ADDR/MASTER_PORT from rank 0",
                           w->rank);
    }
    return 0;
}

void zr_world_finalize(struct zr_world *w)
{
    if (w->pmix_up)
        PMIx_Finalize(NULL, 0);
    w->pmix_up = false;
}
