/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_GANG_H
#define ZENITH_GANG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/error.h"

/* The gang request's life in slurmctld: the SPANK option puts ZENITH_GANG=job|N in the job's
 * spank_job_env (which users can also write by hand), job_submit validates it here and writes a
 * stamp into admin_comment (which users cannot write), and the select and priority plugins
 * trust only the stamp. */

#define ZN_GANG_ENV        "ZENITH_GANG"
#define ZN_GANG_WAIT_ENV   "ZENITH_GANG_WAIT"
#define ZN_GANG_STAMP      "zenith-gang:"
#define ZN_GANG_STAMP_SIZE 80

/* What job_submit knows of a job at submission; 0 means "not given". */
struct zn_gang_job {
    const char *gang;       /* ZENITH_GANG's value, NULL when absent */
    uint32_t min_nodes;     /* -N's lower bound */
    uint32_t max_nodes;     /* -N's upper bound */
    uint64_t gpus_per_node; /* --gpus-per-node, --gres=gpu:N */
    uint64_t gpus_per_job;  /* --gpus */
    bool other_gpu_form;    /* GPUs per task or per socket: no fixed count per node */
    const char *leaf_wait;  /* ZENITH_GANG_WAIT's value (--zenith-gang-wait), NULL when absent */
};

/* The accepted request. */
struct zn_gang {
    unsigned nodes;
    unsigned gpus_per_node;
    bool leaf_wait_given; /* the job asked for its own leaf wait (else the site's default) */
    unsigned leaf_wait;   /* seconds */
};

/* The site's wait rule (place.h), from SchedulerParameters: zenith_gang_leaf_wait=S is the
 * leaf wait of a gang that does not ask for its own, zenith_gang_leaf_wait_max=S the most a
 * gang may ask for (and the cap on every wait, so lowering it applies to queued jobs too). */
struct zn_gang_wait_limits {
    unsigned leaf_wait;
    unsigned leaf_wait_max;
};
#define ZN_GANG_LEAF_WAIT_DEFAULT     1800
#define ZN_GANG_LEAF_WAIT_MAX_DEFAULT 7200
#define ZN_GANG_LEAF_WAIT_LIMIT       (7 * 24 * 3600) /* a week: anything longer is a typo */

/* Reads the zenith_ keys of a SchedulerParameters string (NULL: the defaults); Slurm's own
 * keys are left alone. -1 naming the key and value on a bad number, an unknown zenith_ key or
 * a default above the maximum; *out then holds the defaults. */
int zn_gang_wait_limits_parse(const char *sched_params, struct zn_gang_wait_limits *out,
                              struct zn_error *err);

/* The leaf wait a stamped gang gets now: its own or the site's default, capped by the max. */
unsigned zn_gang_leaf_wait(const struct zn_gang *gang, const struct zn_gang_wait_limits *limits);

/* 1 and *out filled when the job asks for a gang that makes sense, 0 when it does not ask,
 * -1 with a message for the user naming --zenith-gang when it asks for nonsense: a bad value,
 * no GPUs, fewer than two nodes, a node range, a gang size other than the node count, GPUs
 * that do not divide evenly among the nodes; or naming --zenith-gang-wait for a wait that is
 * not a number of seconds, is above limits->leaf_wait_max, or comes without --zenith-gang.
 * When the job gives no node count the gang size becomes it; *set_nodes then says so. */
int zn_gang_validate(const struct zn_gang_job *job, const struct zn_gang_wait_limits *limits,
                     struct zn_gang *out, bool *set_nodes, struct zn_error *err);

/* "zenith-gang:nodes=4,gpus-per-node=8", with ",leaf-wait=S" when the job asked for one */
void zn_gang_stamp_format(const struct zn_gang *gang, char *buf, size_t len);

/* 1 and *out filled when admin_comment carries a well-formed stamp, else 0 (NULL is fine). */
int zn_gang_stamp_find(const char *admin_comment, struct zn_gang *out);

/* PrioritySiteFactorParameters: "gang_base=B,gang_per_hour=N,gang_max=M". A validated gang
 * job's factor is base from submission on, plus per_hour for each hour it has waited, the
 * growth capped at max. The defaults follow the age factor priority/multifactor gives every job,
 * so that a gang ages twice as fast as the rest and never jumps the queue at submission (a jump
 * let 100 queued gangs hold back 900 smaller jobs: bench/sdiag-scale.sh): base 0, per_hour what
 * one hour of age is worth (age_weight * 3600 / max_age, rounded), max age_weight. age_weight is
 * the PriorityWeightAge in effect, 0 where slurmctld ignores it (no slurmdbd); then the
 * defaults add nothing. */
struct zn_gang_priority {
    uint64_t base;
    uint64_t per_hour;
    uint64_t max;
};
int zn_gang_priority_parse(const char *params, uint32_t age_weight, uint32_t max_age,
                           struct zn_gang_priority *out, struct zn_error *err);
uint64_t zn_gang_priority_value(const struct zn_gang_priority *params, int64_t waited_seconds);

/* GPUs in one of Slurm's TRES request strings (tres_per_node, tres_per_job, ...): 1 and *count
 * when it names GPUs, 0 when it does not, -1 when the count cannot be read. */
int zn_tres_gpus(const char *tres, uint64_t *count);

#endif
