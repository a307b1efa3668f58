/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ZENITH_SPANK_OPTIONS_H
#define ZENITH_SPANK_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/error.h"
#include "runtime/plan.h"
#include "spank/settings.h"

/* Every user-facing Zenith option, in one table: its sbatch/srun/salloc name, its ZENITH_*
 * environment form (the command line wins), and how its value is parsed. Plain C, no Slurm. */
enum zn_option_id {
    ZN_OPT_GANG,
    ZN_OPT_BIND,
    ZN_OPT_MEM,
    ZN_OPT_HUGEPAGES,
    ZN_OPT_GANG_WAIT,
    ZN_OPT_COUNT
};

struct zn_option_spec {
    const char *name;    /* without the leading "--" */
    const char *arginfo; /* NULL: the value is optional (--zenith-gang) */
    const char *usage;
    const char *env;
    bool optional_value;
};

extern const struct zn_option_spec zn_options[ZN_OPT_COUNT];

/* What the user asked for, from options and environment. */
struct zn_request_opts {
    bool given[ZN_OPT_COUNT];
    char source[ZN_OPT_COUNT][32]; /* where each given value came from, for messages */
    unsigned gang;                 /* 0: the whole job is the gang */
    unsigned gang_wait;            /* seconds a gang waits for a leaf switch */
    enum zn_bind bind;
    bool bind_mode_given; /* false for ",verbose" alone: report, keep the site's mode */
    bool verbose;
    enum zn_mem mem;
    uint64_t hugepage_bytes, hugepage_size;
};

/* Parse one value into opts. `what` names where it came from ("--zenith-bind", "ZENITH_BIND")
 * for the message. value may be NULL or "" only for options with an optional value. */
int zn_option_set(struct zn_request_opts *opts, enum zn_option_id id, const char *what,
                  const char *value, struct zn_error *err);

/* Site limits that apply to what the user asked (hugepages_max). */
int zn_option_check_limits(const struct zn_request_opts *opts, const struct zn_spank_config *cfg,
                           struct zn_error *err);

/* Whether the user asked for anything that acts on nodes (gang alone does not). */
bool zn_option_node_request(const struct zn_request_opts *opts);

/* The options as given on the command line, kept by SPANK's option callbacks. */
struct zn_option_values {
    char *value[ZN_OPT_COUNT]; /* "" for an option given without a value */
    bool given[ZN_OPT_COUNT];
};

/* What the user asked for: each option from the command line (`cli`), else its ZENITH_*
 * environment form read through `read` (getenv in srun/sbatch/salloc, the step's environment
 * in slurmstepd); unset or empty variables are not given. Then the site's limits (`cfg`). -1
 * with a message naming the option or variable and its value. */
int zn_spank_resolve_options(const struct zn_option_values *cli, zn_env_reader read, void *ctx,
                             const struct zn_spank_config *cfg, struct zn_request_opts *out,
                             struct zn_error *err);

#endif
